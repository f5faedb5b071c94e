"""Benchmark ``graph``: the graph-analysis service (docs/model.md "Graph management and
analysis") on the B3-size default network (sensory side 100, out-degree 100: about
51,664 nodes and 5 M edges) with 1 and 2 threads -- ms per analysis, median of the
repeats after a warm-up -- and, back to back on a smaller default network, networkx
doing the same analyses, for a time ratio.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import spikegraph as sg
from spikegraph import analysis

from .b3 import b3_config

PARTS = ("degrees", "weights", "weak_components", "strong_components", "clustering", "paths", "spectral")


def default_network(side: int, out_degree: float, seed: int) -> sg.Network:
    return sg.networks.from_config(b3_config(side, out_degree, 1, seed))


def time_spikegraph(
    net: sg.Network, threads: int, samples: int, iterations: int, repeats: int
) -> dict[str, float]:
    """Median ms of each part of graph_metrics and of validate (after one warm-up)."""
    runs: dict[str, list[float]] = {p: [] for p in (*PARTS, "validate")}
    for rep in range(repeats + 1):
        m = analysis.graph_metrics(net, samples=samples, power_iterations=iterations, threads=threads)
        t0 = time.perf_counter()
        report = analysis.validate(net, threads=threads)
        validate_ms = (time.perf_counter() - t0) * 1e3
        assert report["ok"], report["problems"]
        if rep == 0:
            continue  # warm-up (builds the by-target index once)
        for p in PARTS:
            runs[p].append(m["seconds"][p] * 1e3)
        runs["validate"].append(validate_ms)
    return {p: statistics.median(v) for p, v in runs.items()}


def time_networkx(net: sg.Network, samples: int, repeats: int) -> dict[str, float] | None:
    """Median ms of networkx (and numpy/scipy for the weights and the spectral radius),
    with as many sampled clustering nodes and BFS sources as spikegraph."""
    try:
        import networkx as nx
    except ImportError:
        return None
    src, tgt = net.sources(), net.targets
    g = nx.MultiDiGraph()
    g.add_nodes_from(range(net.num_nodes))
    g.add_edges_from(zip(src.tolist(), tgt.tolist()))
    simple = nx.Graph(g.to_undirected())
    simple.remove_edges_from(nx.selfloop_edges(simple))
    rng = np.random.default_rng(1)
    sources = rng.choice(net.num_nodes, size=min(samples, net.num_nodes), replace=False).tolist()
    w = net.weights.astype(np.float64)
    kinds = net.kinds

    def spectral() -> float:
        import scipy.sparse as sp
        import scipy.sparse.linalg as sla

        factor = np.array([1.0, -1.0, 0.5, 1.0])[kinds]
        m = sp.csr_matrix((factor * w, (tgt, src)), shape=(net.num_nodes, net.num_nodes))
        return float(np.abs(sla.eigs(m, k=1, which="LM", return_eigenvectors=False)).max())

    jobs: dict[str, Callable[[], Any]] = {
        "degrees": lambda: (np.bincount([d for _, d in g.in_degree()]),
                            np.bincount([d for _, d in g.out_degree()])),
        "weights": lambda: [(w[kinds == k].mean(), w[kinds == k].std()) for k in range(4)],
        "weak_components": lambda: max(len(c) for c in nx.weakly_connected_components(g)),
        "strong_components": lambda: max(len(c) for c in nx.strongly_connected_components(g)),
        "clustering": lambda: nx.average_clustering(simple, nodes=sources),
        "paths": lambda: [nx.single_source_shortest_path_length(g, s) for s in sources],
    }
    try:
        import scipy.sparse.linalg  # noqa: F401

        jobs["spectral"] = spectral
    except ImportError:
        pass
    out: dict[str, float] = {}
    for name, job in jobs.items():
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            job()
            times.append((time.perf_counter() - t0) * 1e3)
        out[name] = statistics.median(times)
    return out


def run(args: argparse.Namespace) -> int:
    t0 = time.perf_counter()
    net = default_network(args.side, args.out_degree, args.seed)
    build_s = time.perf_counter() - t0
    print(f"graph analysis: default network, sensory side {args.side}, out-degree {args.out_degree}: "
          f"{net.num_nodes} nodes, {net.num_edges} edges (built in {build_s:.1f} s); "
          f"{args.samples} sampled sources/nodes, {args.iterations} power iterations", flush=True)
    result: dict[str, Any] = {"nodes": net.num_nodes, "edges": net.num_edges, "samples": args.samples,
                              "power_iterations": args.iterations, "threads": {}}
    thread_counts = [int(t) for t in args.threads.split(",")]
    for threads in thread_counts:
        result["threads"][threads] = time_spikegraph(net, threads, args.samples, args.iterations,
                                                     args.repeats)
    print(f"{'analysis':<18}" + "".join(f"{f'{t} thr ms':>12}" for t in thread_counts))
    for p in (*PARTS, "validate"):
        print(f"{p:<18}" + "".join(f"{result['threads'][t][p]:>12.1f}" for t in thread_counts))
    exact = analysis.graph_metrics(net, samples=0, power_iterations=1, threads=thread_counts[-1])
    print(f"exact clustering over all {net.num_nodes} nodes ({thread_counts[-1]} thr): "
          f"{exact['seconds']['clustering'] * 1e3:.1f} ms", flush=True)
    result["exact_clustering_ms"] = exact["seconds"]["clustering"] * 1e3

    small = default_network(args.nx_side, args.nx_out_degree, args.seed)
    nx_ms = time_networkx(small, args.samples, args.nx_repeats)
    if nx_ms is None:
        print("networkx is not installed: no comparison")
    else:
        ours = time_spikegraph(small, 1, args.samples, args.iterations, args.repeats)
        print(f"\nnetworkx (scipy eigs for the spectral radius) on {small.num_nodes} nodes, "
              f"{small.num_edges} edges, back to back with spikegraph on 1 thread:")
        print(f"{'analysis':<18}{'networkx ms':>12}{'spikegraph ms':>15}{'ratio':>9}")
        for p, ms in nx_ms.items():
            print(f"{p:<18}{ms:>12.1f}{ours[p]:>15.2f}{ms / max(ours[p], 1e-6):>9.0f}")
        result["networkx"] = {"nodes": small.num_nodes, "edges": small.num_edges,
                              "networkx_ms": nx_ms, "spikegraph_1thr_ms": ours}
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    return 0


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--side", type=int, default=100, help="sensory grid side (100: about 51,664 nodes)")
    p.add_argument("--out-degree", type=float, default=100.0, help="mean out-degree (100: about 5 M edges)")
    p.add_argument("--threads", default=f"1,{min(2, os.cpu_count() or 1)}")
    p.add_argument("--samples", type=int, default=100, help="sampled BFS sources and clustering nodes")
    p.add_argument("--iterations", type=int, default=100, help="power iterations of the spectral radius")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--nx-side", type=int, default=20, help="sensory side of the networkx comparison network")
    p.add_argument("--nx-out-degree", type=float, default=20.0)
    p.add_argument("--nx-repeats", type=int, default=3)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--json")
    p.set_defaults(func=run)
