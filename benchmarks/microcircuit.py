"""Benchmark: the Potjans & Diesmann microcircuit (spikegraph.microcircuit). For each
scale: build time, real-time factor (wall time / model time) on 1 and 2 threads, bytes
per synapse (graph and state), peak RSS; with the reference venv (.venv-ref), NEST 3.10's
iaf_psc_exp on the very same network in the same invocation (build and simulate), and
whether the spike trains agree (float64 on both sides).

``--scale`` shrinks populations, ``--k-scale`` in-degrees (``--scale 0.1 --k-scale 1``:
7.7k neurons, 30 M synapses; ``--scale 1``: the full 77k neurons, 0.3 billion synapses).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from spikegraph import microcircuit as mcm

ROOT = Path(__file__).resolve().parent.parent
REF_PYTHON = Path(os.environ.get("SPIKEGRAPH_REF_PYTHON", ROOT / ".venv-ref" / "bin" / "python"))


def nest_steps(times_ms: np.ndarray) -> np.ndarray:
    """NEST's spike times on spikegraph's step grid (NEST stamps a spike of step t at (t + 1) dt)."""
    return np.rint(np.asarray(times_ms) / 0.1).astype(np.int64) - 1


def same_spikes(ours: Any, nest: Any) -> bool:
    """Spike trains on the step grid."""
    steps = nest_steps(nest["times"])
    return sorted(zip(ours.steps.tolist(), ours.nodes.tolist())) == sorted(zip(steps.tolist(),
                                                                               nest["senders"].tolist()))


def run_nest(mc: mcm.Microcircuit, duration_ms: float, threads: int, tmp: Path) -> Any:
    net = mc.network
    np.savez(tmp / "net.npz", src=net.sources(), tgt=np.asarray(net.targets), w=np.asarray(net.weights),
             d=np.asarray(net.delays), kinds=np.asarray(net.kinds), v0=mc.v0, drive=mc.drive,
             poisson_rate=net.initial_state["poisson_rate"],
             poisson_weight=mc.config["node.dynamic.poisson_weight"])
    script = ROOT / "tests_py" / "reference" / "microcircuit_reference.py"
    subprocess.run([str(REF_PYTHON), str(script), str(tmp / "net.npz"), str(duration_ms),
                    str(tmp / "nest.npz"), str(threads)], check=True)
    return np.load(tmp / "nest.npz")


STATS = ("rate", "cv", "corr")


def compare_native(scale: float, seeds: list[int], duration_ms: float, threads: int = 1,
                   ref_python: Path = REF_PYTHON, background: str = "poisson") -> dict[str, Any]:
    """spikegraph and NEST each build their own instances of the circuit (NEST with its
    own generator: tests_py/reference/microcircuit_nest_native.py) for each seed and
    simulate them; per population and statistic (``spikegraph.microcircuit.statistics``
    after the first 200 ms) the mean and SD over seeds of each, and Welch's
    z = |difference of means| / its standard error. Also both build times."""
    per: dict[str, list[dict[str, dict[str, float]]]] = {"spikegraph": [], "nest": []}
    build: dict[str, list[float]] = {"spikegraph": [], "nest": []}
    script = ROOT / "tests_py" / "reference" / "microcircuit_nest_native.py"
    with tempfile.TemporaryDirectory() as tmp:
        design = Path(tmp) / "design.json"
        design.write_text(json.dumps(mcm.design(scale, 1.0, background)))
        for seed in seeds:
            t0 = time.perf_counter()
            mc = mcm.microcircuit(scale, seed=seed, background=background)
            build["spikegraph"].append(time.perf_counter() - t0)
            sim = mc.simulation(**{"sim.threads": threads})
            sim.run(duration_ms)
            s = sim.spikes
            stats = mcm.statistics(s.steps, s.nodes, mc.populations, 0.1, 200.0, duration_ms)
            per["spikegraph"].append(stats)
            out = Path(tmp) / "nest.npz"
            subprocess.run([str(ref_python), str(script), str(design), str(seed), str(duration_ms), str(out),
                            str(threads)], check=True, capture_output=True)
            z = np.load(out)
            build["nest"].append(float(z["build_s"]))
            starts = np.r_[0, np.cumsum(z["sizes"])]
            pops = {n: range(int(starts[i]), int(starts[i + 1])) for i, n in enumerate(mcm.POPULATIONS)}
            stats = mcm.statistics(nest_steps(z["times"]), z["senders"], pops, 0.1, 200.0, duration_ms)
            per["nest"].append(stats)
    table: dict[str, dict[str, dict[str, float]]] = {}
    for pop in mcm.POPULATIONS:
        table[pop] = {}
        for stat in STATS:
            a = np.array([r[pop][stat] for r in per["spikegraph"]])
            b = np.array([r[pop][stat] for r in per["nest"]])
            se = math.sqrt(a.var(ddof=1) / a.size + b.var(ddof=1) / b.size)
            table[pop][stat] = {"spikegraph": float(a.mean()), "spikegraph_sd": float(a.std(ddof=1)),
                                "nest": float(b.mean()), "nest_sd": float(b.std(ddof=1)),
                                "z": float(abs(a.mean() - b.mean()) / se) if se > 0 else math.inf}
    return {"scale": scale, "seeds": seeds, "background": background, "build_s": build, "table": table}


def print_comparison(c: dict[str, Any]) -> None:
    b = c["build_s"]
    print(f"scale {c['scale']}, {c['background']} background, seeds {c['seeds']}: build "
          f"{np.mean(b['spikegraph']):.2f} s (spikegraph) vs {np.mean(b['nest']):.2f} s "
          "(NEST, its own connect); mean +- SD over seeds, Welch z:")
    for pop, stats in c["table"].items():
        cells = [f"{k} {v['spikegraph']:.3f}+-{v['spikegraph_sd']:.3f} / {v['nest']:.3f}+-{v['nest_sd']:.3f} "
                 f"(z {v['z']:.1f})" for k, v in stats.items()]
        print(f"  {pop:>5}: " + " | ".join(cells), flush=True)


def run(args: argparse.Namespace) -> int:
    if args.nest_native:
        seeds = [int(x) for x in args.nest_native.split(",")]
        results = [compare_native(scale, seeds, args.duration_ms, args.threads[0], background=args.background)
                   for scale in args.scale]
        for c in results:
            print_comparison(c)
        if args.json:
            Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
        return 0
    rows: list[dict[str, Any]] = []
    seconds = args.duration_ms / 1000.0
    for scale in args.scale:
        t0 = time.perf_counter()
        mc = mcm.microcircuit(scale=scale, k_scale=args.k_scale, seed=args.seed, background=args.background)
        build_s = time.perf_counter() - t0
        net = mc.network
        row: dict[str, Any] = {"scale": scale, "k_scale": args.k_scale, "background": args.background,
                               "neurons": net.num_nodes,
                               "synapses": net.num_edges, "build_s": build_s}
        spikes: dict[int, Any] = {}
        for threads in args.threads:
            sim = mc.simulation(**{"sim.threads": threads, "sim.precision": args.precision})
            t0 = time.perf_counter()
            sim.run(args.duration_ms)
            row[f"rtf_{threads}t"] = (time.perf_counter() - t0) / seconds
            perf = sim.perf()
            row["bytes_per_synapse"] = (perf["graph_bytes"] + perf["state_bytes"]) / max(1, net.num_edges)
            spikes[threads] = sim.spikes
        # Rates per population after the first 200 ms (the same on every thread count).
        first = spikes[args.threads[0]]
        late = first.nodes[first.steps >= round(200.0 / mc.config["sim.dt"])]
        counts = np.bincount(late, minlength=net.num_nodes)
        late_s = max(1e-9, (args.duration_ms - 200.0) / 1000.0)
        row["rates_hz"] = {name: float(counts[r.start:r.stop].mean() / late_s)
                           for name, r in mc.populations.items()}
        row["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
        rtfs = ", ".join(f"RTF {row[f'rtf_{t}t']:.3f} on {t} thread(s)" for t in args.threads)
        print(f"scale {scale} (k {args.k_scale}): {net.num_nodes} neurons, {net.num_edges} synapses, "
              f"built in {build_s:.2f} s; {rtfs}; {row['bytes_per_synapse']:.1f} B/synapse; "
              f"peak RSS {row['peak_rss_mib']:.0f} MiB", flush=True)
        if args.duration_ms > 200.0:
            rates = ", ".join(f"{k} {v:.2f}" for k, v in row["rates_hz"].items())
            print(f"  rates after 200 ms (Hz): {rates}", flush=True)
        if args.nest and REF_PYTHON.exists():
            with tempfile.TemporaryDirectory() as tmp:
                for threads in args.threads:
                    nest = run_nest(mc, args.duration_ms, threads, Path(tmp))
                    rtf = float(nest["simulate_s"]) / seconds
                    row[f"nest_rtf_{threads}t"] = rtf
                    row[f"nest_build_s_{threads}t"] = float(nest["build_s"])
                    # Spike for spike only with deterministic input: Poisson trains differ.
                    if args.background == "dc":
                        same = same_spikes(spikes[threads], nest)
                        row[f"same_spikes_{threads}t"] = same
                        trains = "identical" if same else "differ"
                    else:
                        trains = "not compared (each draws its own Poisson input)"
                    print(f"  NEST on {threads} thread(s): RTF {rtf:.3f} (spikegraph "
                          f"{rtf / row[f'rtf_{threads}t']:.1f}x faster); NEST built from the arrays in "
                          f"{float(nest['build_s']):.2f} s; spike trains {trains}", flush=True)
        rows.append(row)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2) + "\n")
    return 0


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--scale", type=float, nargs="+", default=[0.1])
    p.add_argument("--k-scale", type=float, default=1.0)
    p.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    p.add_argument("--duration-ms", type=float, default=1000.0)
    p.add_argument("--precision", default="float64", choices=["float32", "float64"])
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--background", choices=mcm.BACKGROUNDS, default="poisson",
                   help="external input: Poisson spikes (the published model) or the equivalent constant "
                        "current (deterministic: NEST's spike trains must be identical)")
    p.add_argument("--no-nest", dest="nest", action="store_false", help="skip NEST (run where .venv-ref is)")
    p.add_argument("--nest-native", metavar="SEEDS",
                   help="instead: NEST builds its own instances; compare statistics over these seeds (1,2,3)")
    p.add_argument("--json")
    p.set_defaults(func=run)


