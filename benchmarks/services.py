"""Benchmark: a Python service in the step (Simulation.replace_service). The engine's
learning service against spikegraph.services.PairSTDP (the same pair STDP in numpy) on
the same plastic network, in one invocation: ms per step of each, the learning phase's
share, and the weights' largest difference (they should agree).

The Python service's cost is one Python call per step plus its numpy work, which for
PairSTDP is a few passes over every edge (boolean masks), however few spikes a step has;
the engine's rule touches only the rows of the nodes that spiked.
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path
from typing import Any

import numpy as np
import spikegraph as sg


def plastic_network(n: int, out_degree: int, seed: int) -> sg.Network:
    rng = np.random.default_rng(seed)
    m = n * out_degree
    return sg.Network.from_arrays(n, rng.integers(0, n, m), rng.integers(0, n, m),
                                  rng.uniform(0.0005, 0.002, m), delays=rng.integers(1, 5, m),
                                  plastic=rng.random(m) < 0.8)


def config(threads: int, seed: int) -> dict[str, Any]:
    return {"sim": {"threads": threads, "seed": seed},
            "node": {"dynamic": {"poisson_rate": 200.0, "poisson_weight": 0.3}},
            "learning": {"enabled": True, "energy_modulation": False, "a_plus": 0.02, "a_minus": 0.02,
                         "w_max": 3.0}}


def time_runs(sim: sg.Simulation, warmup_ms: float, duration_ms: float, repeats: int) -> dict[str, float]:
    sim.run(warmup_ms)
    per_step, learning = [], []
    for _ in range(repeats):
        sim.reset_perf()
        sim.run(duration_ms)
        p = sim.perf()
        per_step.append(p["ms_per_step"])
        learning.append(p["phase_ms_per_step"].get("learning", 0.0))
    return {"ms_per_step": statistics.median(per_step), "learning_ms_per_step": statistics.median(learning)}


def run(args: argparse.Namespace) -> int:
    net = plastic_network(args.n, args.out_degree, args.seed)
    rows: list[dict[str, Any]] = []
    sims = {}
    for kind in ("engine", "python"):
        sim = sg.Simulation(net, config(args.threads, args.seed))
        if kind == "python":
            sim.replace_service("learning", sg.services.PairSTDP(sim))
        row = {"learning": kind, "nodes": net.num_nodes, "edges": net.num_edges,
               **time_runs(sim, args.warmup_ms, args.duration_ms, args.repeats)}
        row["spikes_per_step"] = sim.perf()["spikes"] / max(1, sim.perf()["steps"])
        rows.append(row)
        sims[kind] = sim
        print(f"{kind:>6} learning: {row['ms_per_step']:.3f} ms/step (learning phase "
              f"{row['learning_ms_per_step']:.3f}), {row['spikes_per_step']:.1f} spikes/step", flush=True)
    diff = float(np.max(np.abs(sims["engine"].weights - sims["python"].weights)))
    ratio = rows[1]["ms_per_step"] / rows[0]["ms_per_step"]
    print(f"{net.num_nodes} nodes, {net.num_edges} edges: the Python service's step costs {ratio:.1f}x the "
          f"engine's; largest weight difference {diff:.3g}")
    if args.json:
        Path(args.json).write_text(json.dumps({"rows": rows, "max_weight_difference": diff}, indent=2) + "\n")
    return 0


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--n", type=int, default=5000, help="nodes")
    p.add_argument("--out-degree", type=int, default=100)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--duration-ms", type=float, default=100.0)
    p.add_argument("--warmup-ms", type=float, default=20.0)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--json")
    p.set_defaults(func=run)
