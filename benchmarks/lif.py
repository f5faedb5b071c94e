"""Benchmarks B1 (lif-static) and B2 (lif-stdp): spikegraph at 1 and all threads, and, when
the reference venv exists (``bash .ci/setup_reference.sh``), NEST and Brian2 in the same
invocation, with the time ratios against spikegraph.

Protocol (docs/performance.md): build time is separate; each configuration runs a warm-up, then
``--repeats`` timed runs of ``--duration-ms`` continuing the same network; ms/step is the
median. A comparison is reported only when all simulators agree on the regime (mean rates
within 10%).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import spikegraph as sg

ROOT = Path(__file__).resolve().parent.parent
REF_PYTHON = ROOT / ".venv-ref" / "bin" / "python"
REF_SCRIPT = ROOT / "benchmarks" / "reference_b1.py"  # B1 and B2 (--workload)


# B2: pair-based additive STDP on excitatory-to-excitatory edges, relative to w_max = 2 J.
B2_W_MAX = 0.2


def b1_config(n: int, k: int, threads: int, seed: int, workload: str = "b1") -> sg.Config:
    """B1 (or B2, with STDP) as docs/performance.md specifies it, in spikegraph's configuration keys."""
    cfg = sg.Config(
        {
            "sim": {"dt": 0.1, "threads": threads, "seed": seed, "backend": "cpu"},
            "network": {"kind": "brunel", "n": n, "k_in": k, "j": 0.1, "g": 5.0, "delay": 1.5},
            "node": {
                "dynamic": {
                    "tau_m": 20.0,
                    "threshold": 20.0,
                    "v_reset": 10.0,
                    "v_rest": 0.0,
                    "t_ref": 2.0,
                    "energy_coupling": 0.0,
                    "poisson_rate": 10_000.0,
                    "poisson_weight": 0.1,
                }
            },
            "init": {"v_min": 0.0, "v_max": 20.0},
        }
    )
    if workload == "b2":
        cfg.update({
            "network": {"plastic": "exc_exc"},
            "learning": {"enabled": True, "rule": "stdp", "tau_plus": 20.0, "tau_minus": 20.0,
                         "a_plus": 0.01 * B2_W_MAX, "a_minus": 0.0105 * B2_W_MAX, "w_min": 0.0,
                         "w_max": B2_W_MAX, "energy_modulation": False},
        })
    return cfg


def run_spikegraph(
    n: int, k: int, threads: int, duration_ms: float, warmup_ms: float, repeats: int, seed: int,
    workload: str = "b1",
) -> dict[str, Any]:
    cfg = b1_config(n, k, threads, seed, workload)
    t0 = time.perf_counter()
    net = sg.networks.from_config(cfg)
    sim = sg.Simulation(net, cfg)
    build_s = time.perf_counter() - t0
    sim.run(warmup_ms)
    per_step: list[float] = []
    spikes = 0
    events = 0
    steps = 0
    phase_ms: dict[str, list[float]] = {}
    for _ in range(repeats):
        sim.reset_perf()
        sim.clear_spikes()
        sim.run(duration_ms)
        p = sim.perf()
        per_step.append(p["seconds_total"] * 1e3 / p["steps"])
        for name, sec in p["phase_seconds"].items():
            phase_ms.setdefault(name, []).append(sec * 1e3 / p["steps"])
        spikes += p["spikes"]
        events += p["synaptic_events"]
        steps += p["steps"]
    p = sim.perf()
    engine_bytes = p["graph_bytes"] + p["state_bytes"]
    plastic = net.plastic.astype(bool)
    mean_plastic = float(sim.weights[plastic].mean()) if plastic.size and plastic.any() else None
    sim_s = sum(per_step) * (steps / repeats) / 1e3
    return {
        "simulator": "spikegraph",
        "version": sg.__version__,
        "threads": sim.threads,
        "n": n,
        "n_synapses": net.num_edges,
        "build_s": build_s,
        "ms_per_step": statistics.median(per_step),
        "ms_per_step_min": min(per_step),
        "phase_ms_per_step": {k2: statistics.median(v) for k2, v in phase_ms.items()},
        "mean_rate_hz": spikes / n / (steps * sim.dt * 1e-3),
        "node_updates_per_s": n * steps / sim_s if sim_s else 0.0,
        "syn_events_per_s": events / sim_s if sim_s else 0.0,
        "engine_bytes": engine_bytes,
        "bytes_per_synapse": engine_bytes / net.num_edges,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "workload": workload,
        "mean_plastic_weight": mean_plastic,
    }


def run_reference(
    simulator: str,
    n: int,
    k: int,
    threads: int,
    duration_ms: float,
    warmup_ms: float,
    repeats: int,
    seed: int,
    workload: str = "b1",
) -> dict[str, Any] | None:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "result.json"
        cmd = [
            str(REF_PYTHON),
            str(REF_SCRIPT),
            "--simulator",
            simulator,
            "--threads",
            str(threads),
            "--n",
            str(n),
            "--k",
            str(k),
            "--duration-ms",
            str(duration_ms),
            "--warmup-ms",
            str(warmup_ms),
            "--repeats",
            str(repeats),
            "--seed",
            str(seed),
            "--json",
            str(out),
        ]
        if workload != "b1":
            cmd += ["--workload", workload]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0 or not out.exists():
            print(f"  {simulator} ({threads} thr) failed:\n{proc.stderr[-2000:]}", file=sys.stderr)
            return None
        result: dict[str, Any] = json.loads(out.read_text())
        return result


def print_table(rows: list[dict[str, Any]]) -> None:
    sg_best = min((r["ms_per_step"] for r in rows if r["simulator"] == "spikegraph"), default=None)
    print(
        f"{'simulator':<20}{'thr':>4}{'ms/step':>10}{'min':>9}{'rate Hz':>9}{'build s':>9}"
        f"{'B/syn':>8}{'x vs sg best':>14}{'mean w_EE':>11}"
    )
    for r in rows:
        bps = r.get("bytes_per_synapse") or r.get("rss_bytes_per_synapse") or 0.0
        ratio = r["ms_per_step"] / sg_best if sg_best else float("nan")
        print(
            f"{r['simulator']:<20}{r['threads']:>4}{r['ms_per_step']:>10.4f}{r['ms_per_step_min']:>9.4f}"
            f"{r['mean_rate_hz']:>9.2f}{r['build_s']:>9.2f}{bps:>8.1f}{ratio:>14.2f}"
            + (f"{r['mean_plastic_weight']:>11.4f}" if r.get("mean_plastic_weight") is not None else "")
        )


def main(args: argparse.Namespace) -> int:
    threads_list = [int(t) for t in args.threads.split(",")]
    rows: list[dict[str, Any]] = []
    title = "B1 lif-static" if args.workload == "b1" else "B2 lif-stdp"
    print(
        f"{title}: N={args.n}, K={args.k}, {args.duration_ms} ms x {args.repeats} repeats "
        f"(warm-up {args.warmup_ms} ms), dt 0.1 ms",
        flush=True,
    )
    for t in threads_list:
        rows.append(
            run_spikegraph(
                args.n, args.k, t, args.duration_ms, args.warmup_ms, args.repeats, args.seed,
                args.workload,
            )
        )
        print(
            f"  spikegraph {t} thr: {rows[-1]['ms_per_step']:.4f} ms/step "
            f"(phases {rows[-1]['phase_ms_per_step']})",
            flush=True,
        )
    refs = [s for s in args.reference.split(",") if s]
    if refs and not REF_PYTHON.exists():
        print(
            f"  no reference venv at {REF_PYTHON}: run `bash .ci/setup_reference.sh` to add NEST/Brian2",
            file=sys.stderr,
        )
        refs = []
    for sim_name in refs:
        for t in threads_list if sim_name != "brian2-runtime" else [1]:
            r = run_reference(
                sim_name,
                args.n,
                args.k,
                t,
                args.duration_ms,
                args.warmup_ms,
                args.repeats,
                args.seed,
                args.workload,
            )
            if r is not None:
                rows.append(r)
                print(f"  {sim_name} {t} thr: {r['ms_per_step']:.4f} ms/step", flush=True)
    print()
    print_table(rows)
    rates = [r["mean_rate_hz"] for r in rows]
    same_regime = max(rates) <= 1.1 * min(rates) if rates else True
    if not same_regime:
        print(
            "\nWARNING: mean rates differ by more than 10%: the simulators are not in the same regime; "
            "ratios are not comparable."
        )
    else:
        ref_rows = [r for r in rows if r["simulator"] != "spikegraph"]
        if ref_rows:
            best_ref = min(ref_rows, key=lambda r: r["ms_per_step"])
            sg_best = min(r["ms_per_step"] for r in rows if r["simulator"] == "spikegraph")
            print(
                f"\nspikegraph best is {best_ref['ms_per_step'] / sg_best:.2f}x faster than the best "
                f"reference ({best_ref['simulator']}, {best_ref['threads']} thr)"
            )
    if args.json:
        Path(args.json).write_text(
            json.dumps({"rows": rows, "same_regime": same_regime}, indent=2) + "\n"
        )
    return 0


def add_arguments(p: argparse.ArgumentParser, workload: str = "b1") -> None:
    p.add_argument("--n", type=int, default=50_000)
    p.add_argument("--k", type=int, default=100)
    p.add_argument(
        "--threads", default=f"1,{os.cpu_count() or 1}", help="comma-separated thread counts"
    )
    p.add_argument("--duration-ms", type=float, default=1000.0, help="per timed run")
    p.add_argument("--warmup-ms", type=float, default=100.0)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--seed", type=int, default=12345)
    p.add_argument(
        "--reference",
        default="nest,brian2-runtime,brian2-standalone",
        help="reference simulators to run side by side ('' for none)",
    )
    p.add_argument("--json", help="write all rows here")
    p.set_defaults(func=main, workload=workload)
