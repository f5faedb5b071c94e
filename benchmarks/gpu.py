"""Benchmark B5 (gpu): the CUDA backend against the CPU backend in one invocation --
B1 (lif-static) at 10^5 nodes and B3 (full model) at 10^6 nodes / 10^8 edges -- with
ms/step, time per phase, synaptic events/s and the achieved memory bandwidth against the
card's peak. Without a usable CUDA backend it says why and exits 0.

Protocol (docs/performance.md): build time is separate; each configuration runs a warm-up, then
``--repeats`` timed runs continuing the same network; ms/step is the median. Both backends
run the same network and seed, so their spike records must be identical: the table says
whether they were.

Achieved bandwidth is *modelled* traffic / time: the bytes a step must move at least (each
state array read and written once per node, each edge's data read once per pass that
walks the edges, the sparse delivery's records through expansion, radix sort and segment
sums), counted from the step's actual work (nodes, synaptic events, edges walked), divided
by the measured time. It shows how far each workload is from being memory-bound; launch
latency and the per-step host round trips (spike list, ledger) are not traffic.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import math
import os
import re
import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np
import spikegraph as sg

from .b3 import b3_config
from .lif import b1_config

# Modelled bytes (float32 state) -- see the module docstring.
NODE_UPDATE_BYTES = 35  # v r/w, refractory r/w, threshold, drive, energy, ring slot r/w, alive, type, spiked
EVENT_EXPAND_BYTES = 27  # target, delay, kind, weight read; key, order, contribution written
EVENT_SORT_PASS_BYTES = 24  # one radix pass reads and writes a 64-bit key and a 32-bit value
EVENT_SUM_BYTES = 24  # sorted key and order, the contribution gathered, the ring element r/w
ENERGY_NODE_BYTES = 60  # cost/metabolism, flow scale and sums, clamp, block sums, energy copy
ENERGY_EDGE_BYTES = 29  # outflow pass: target, weight, carries, target energy; inflow: source, weight, source
LEARNING_NODE_BYTES = 16  # both traces read and written
RATE_NODE_BYTES = 10  # rate r/w, alive, spiked


def cuda_status() -> tuple[bool, str, float]:
    """(available, detail, peak GB/s or nan) of the CUDA backend."""
    info = next(b for b in sg.available_backends() if b["name"] == "cuda")
    detail = str(info["detail"])
    match = re.search(r"peak ([0-9.]+) GB/s", detail)
    return bool(info["available"]), detail, float(match.group(1)) if match else float("nan")


def key_bits(slots: int, nodes: int) -> int:
    return max(1, (slots * nodes - 1).bit_length())


def modelled_bytes(kind: str, nodes: int, edges: int, events_per_step: float, slots: int) -> float:
    """Modelled traffic of one step (see the module docstring)."""
    passes = math.ceil(key_bits(slots, nodes) / 8)
    delivery = events_per_step * (EVENT_EXPAND_BYTES + passes * EVENT_SORT_PASS_BYTES + EVENT_SUM_BYTES)
    total = nodes * NODE_UPDATE_BYTES + delivery
    if kind == "b3":
        total += nodes * (ENERGY_NODE_BYTES + LEARNING_NODE_BYTES + RATE_NODE_BYTES)
        total += edges * ENERGY_EDGE_BYTES
    return total


def profiled_steps(sim: sg.Simulation, steps: int) -> None:
    """Runs `steps` steps between cuProfilerStart and cuProfilerStop, so that a profiler
    started with ``--profile-from-start off`` (ncu, nsys) records just those kernels."""
    cuda = ctypes.CDLL("libcuda.so.1")
    if cuda.cuProfilerStart() != 0:
        raise RuntimeError("cuProfilerStart failed")
    sim.run(steps * sim.dt)
    cuda.cuProfilerStop()


def time_run(sim: sg.Simulation, warmup_ms: float, duration_ms: float, repeats: int,
             profile_steps: int = 0) -> dict[str, Any]:
    sim.run(warmup_ms)
    if profile_steps > 0 and sim.backend == "cuda":
        profiled_steps(sim, profile_steps)
    sim.clear_spikes()
    per_step: list[float] = []
    phases: dict[str, list[float]] = {}
    events = 0
    steps = 0
    spikes = 0
    to_host = 0
    to_device = 0
    for _ in range(repeats):
        sim.reset_perf()
        sim.run(duration_ms)
        p = sim.perf()
        per_step.append(p["seconds_total"] * 1e3 / p["steps"])
        for name, sec in p["phase_seconds"].items():
            phases.setdefault(name, []).append(sec * 1e3 / p["steps"])
        events += p["synaptic_events"]
        spikes += p["spikes"]
        steps += p["steps"]
        to_host += p["bytes_to_host"]
        to_device += p["bytes_to_device"]
    return {
        "ms_per_step": statistics.median(per_step),
        "ms_per_step_min": min(per_step),
        "phase_ms_per_step": {k: statistics.median(v) for k, v in phases.items()},
        "events_per_step": events / steps,
        "spikes_per_step": spikes / steps,
        "bytes_to_host_per_step": to_host / steps,
        "bytes_to_device_per_step": to_device / steps,
        "mean_rate_hz": spikes / sim.current_network.num_nodes / (steps * sim.dt * 1e-3),
        "state_bytes": sim.perf()["state_bytes"],
    }


def run_pair(
    kind: str, cfg: sg.Config, backends: list[tuple[str, int]], args: argparse.Namespace, peak: float
) -> list[dict[str, Any]]:
    t0 = time.perf_counter()
    net = sg.networks.from_config(cfg)
    net_s = time.perf_counter() - t0
    print(f"{kind.upper()}: {net.num_nodes} nodes, {net.num_edges} edges (network built in {net_s:.1f} s)",
          flush=True)
    rows: list[dict[str, Any]] = []
    records: list[tuple[np.ndarray, np.ndarray]] = []
    for backend, threads in backends:
        c = cfg.copy()
        c.update({"sim": {"backend": backend, "threads": threads}})
        t0 = time.perf_counter()
        sim = sg.Simulation(net, c)
        build_s = time.perf_counter() - t0
        duration = args.duration_ms if backend == "cuda" or kind == "b1" else args.cpu_b3_duration_ms
        repeats = args.repeats if backend == "cuda" or kind == "b1" else args.cpu_b3_repeats
        row = time_run(sim, args.warmup_ms, duration, repeats, args.profile_steps)
        slots = int(np.max(net.delays)) + 1 if net.num_edges else 1  # delays in steps
        traffic = modelled_bytes(kind, net.num_nodes, net.num_edges, row["events_per_step"], slots)
        row.update({
            "workload": kind, "backend": backend, "threads": sim.threads, "nodes": net.num_nodes,
            "edges": net.num_edges, "build_s": build_s, "modelled_bytes_per_step": traffic,
            "achieved_gbps": traffic / (row["ms_per_step"] * 1e-3) / 1e9,
            "syn_events_per_s": row["events_per_step"] / (row["ms_per_step"] * 1e-3),
        })
        row["fraction_of_peak"] = row["achieved_gbps"] / peak if backend == "cuda" and peak == peak else None
        energy_ms = row["phase_ms_per_step"].get("energy", 0.0)
        if kind == "b3" and energy_ms > 0:  # the flow's two edge sweeps, modelled bytes / phase time
            row["energy_edge_gbps"] = net.num_edges * ENERGY_EDGE_BYTES / (energy_ms * 1e-3) / 1e9
        rows.append(row)
        records.append((sim.spikes.steps.copy(), sim.spikes.nodes.copy(), sim.step))
        sweep_gbps = row.get("energy_edge_gbps")
        sweep_text = f"; energy edge sweeps {sweep_gbps:.0f} GB/s" if sweep_gbps else ""
        phases = ", ".join(f"{k} {v:.3f}" for k, v in row["phase_ms_per_step"].items())
        peak_text = f" = {100 * row['fraction_of_peak']:.1f}% of peak" if row["fraction_of_peak"] else ""
        print(f"  {backend:<5}{sim.threads:>3} thr: {row['ms_per_step']:.3f} ms/step "
              f"(min {row['ms_per_step_min']:.3f}), {row['mean_rate_hz']:.1f} Hz, "
              f"{row['syn_events_per_s'] / 1e9:.3f} G events/s, modelled {row['achieved_gbps']:.1f} GB/s"
              f"{peak_text}, setup {build_s:.1f} s\n    per phase (ms/step): {phases}\n"
              f"    per step: {row['spikes_per_step']:.0f} spikes, {row['bytes_to_host_per_step']:.0f} B "
              f"to the host, {row['bytes_to_device_per_step']:.0f} B to the device{sweep_text}", flush=True)
        del sim
    if len(rows) == 2 and rows[1]["ms_per_step"] > 0:
        # Both ran from the same state; the shorter run's steps are compared spike for spike.
        end = min(records[0][2], records[1][2])
        (s0, n0, _), (s1, n1, _) = records
        agree = np.array_equal(s0[s0 < end], s1[s1 < end]) and np.array_equal(n0[s0 < end], n1[s1 < end])
        print(f"  cuda vs cpu: {rows[0]['ms_per_step'] / rows[1]['ms_per_step']:.1f}x faster on cuda; "
              + (f"identical spikes over {end} steps" if agree else "spikes differ!"), flush=True)
        for r in rows:
            r["spikes_identical"] = agree
            r["steps_compared"] = end
    return rows


def b3_side(nodes: int) -> int:
    # b3_config's layout: side^2 sensory, 4 side^2 dynamic, 32^2 workspace, 256 + 256 + 128 others.
    return max(1, round(math.sqrt(max(nodes - 1024 - 640, 5) / 5)))


def run(args: argparse.Namespace) -> int:
    available, detail, peak = cuda_status()
    if not available:
        print(f"gpu benchmark skipped: the CUDA backend is not usable here ({detail})")
        return 0
    print(f"CUDA device: {detail}", flush=True)
    threads = args.cpu_threads or (os.cpu_count() or 1)
    rows: list[dict[str, Any]] = []
    if args.b1_n > 0:
        cfg = b1_config(args.b1_n, args.b1_k, threads, args.seed)
        rows += run_pair("b1", cfg, [("cpu", threads), ("cuda", 1)], args, peak)
    if args.b3_nodes > 0:
        cfg = b3_config(b3_side(args.b3_nodes), args.b3_out_degree, threads, args.seed)
        backends = [("cpu", threads), ("cuda", 1)] if args.cpu_b3_duration_ms > 0 else [("cuda", 1)]
        rows += run_pair("b3", cfg, backends, args, peak)
    if args.json:
        result = {"device": detail, "peak_gbps": peak, "rows": rows}
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    return 0


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--b1-n", type=int, default=100_000, help="B1 nodes (0: skip B1)")
    p.add_argument("--b1-k", type=int, default=100, help="B1 in-degree")
    p.add_argument("--b3-nodes", type=int, default=1_000_000, help="B3 nodes, about (0: skip B3)")
    p.add_argument("--b3-out-degree", type=float, default=100.0, help="B3 mean out-degree (100: 10^8 edges)")
    p.add_argument("--duration-ms", type=float, default=50.0, help="timed model time per repeat")
    p.add_argument("--warmup-ms", type=float, default=20.0)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--cpu-b3-duration-ms", type=float, default=20.0,
                   help="model time per repeat of B3 on the CPU (slow at 10^8 edges; 0: skip)")
    p.add_argument("--cpu-b3-repeats", type=int, default=2,
                   help="repeats of B3 on the CPU (spikes are compared with the GPU over the same steps)")
    p.add_argument("--cpu-threads", type=int, default=0, help="CPU backend threads (0: all)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--profile-steps", type=int, default=0,
                   help="after the warm-up, run this many GPU steps between cuProfilerStart/Stop "
                        "(for ncu/nsys --profile-from-start off)")
    p.add_argument("--json")
    p.set_defaults(func=run)
