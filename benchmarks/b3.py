"""Benchmark B3 (full-model): the complete model of docs/model.md -- the default network's
layout scaled to about 50,000 nodes and 5 M edges, energy with flow every step, STDP,
homeostasis, the moving grating every 5 steps -- at dt = 1 ms, with the time per phase.
Goal (docs/performance.md): under 5 ms per step on 2 threads.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import time
from pathlib import Path
from typing import Any

import spikegraph as sg


def b3_config(side: int, out_degree: float, threads: int, seed: int) -> sg.Config:
    cfg = sg.default_run_config()
    cfg.update({
        "sim": {"threads": threads, "seed": seed},
        "graph": {"sensory_side": side, "out_degree": out_degree, "workspace_side": 32,
                  "oscillators": 256, "relays": 256, "highways": 128},
        "energy": {"flow_interval": 1, "record_ledger": False},
    })
    return cfg


def run(args: argparse.Namespace) -> int:
    rows: list[dict[str, Any]] = []
    for threads in [int(t) for t in args.threads.split(",")]:
        cfg = b3_config(args.side, args.out_degree, threads, args.seed)
        t0 = time.perf_counter()
        net = sg.networks.from_config(cfg)
        sim = sg.Simulation(net, cfg)
        build_s = time.perf_counter() - t0
        sim.run(args.warmup_ms)
        per_step: list[float] = []
        phases: dict[str, list[float]] = {}
        for _ in range(args.repeats):
            sim.reset_perf()
            sim.run(args.duration_ms)
            p = sim.perf()
            per_step.append(p["seconds_total"] * 1e3 / p["steps"])
            for name, sec in p["phase_seconds"].items():
                phases.setdefault(name, []).append(sec * 1e3 / p["steps"])
        p = sim.perf()
        row = {
            "threads": sim.threads, "nodes": net.num_nodes, "edges": net.num_edges, "build_s": build_s,
            "ms_per_step": statistics.median(per_step), "ms_per_step_min": min(per_step),
            "phase_ms_per_step": {k: statistics.median(v) for k, v in phases.items()},
            "mean_rate_hz": p["spikes"] / net.num_nodes / (p["steps"] * sim.dt * 1e-3),
            "bytes_per_edge": (p["graph_bytes"] + p["state_bytes"]) / net.num_edges,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        }
        rows.append(row)
        phase_text = ", ".join(f"{k} {v:.3f}" for k, v in row["phase_ms_per_step"].items())
        print(f"B3 full-model: {row['nodes']} nodes, {row['edges']} edges, {row['threads']} thr: "
              f"{row['ms_per_step']:.3f} ms/step (min {row['ms_per_step_min']:.3f}), "
              f"rate {row['mean_rate_hz']:.2f} Hz, {row['bytes_per_edge']:.1f} B/edge, "
              f"build {build_s:.1f} s\n"
              f"  per phase (ms/step): {phase_text}", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps({"rows": rows}, indent=2) + "\n")
    return 0


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--side", type=int, default=100, help="sensory grid side (100: about 50,000 nodes)")
    p.add_argument("--out-degree", type=float, default=100.0, help="mean out-degree (100: about 5 M edges)")
    p.add_argument("--threads", default=f"1,{os.cpu_count() or 1}")
    p.add_argument("--duration-ms", type=float, default=200.0)
    p.add_argument("--warmup-ms", type=float, default=50.0)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--json")
    p.set_defaults(func=run)
