"""Benchmark: a soak run. The default run's network with every feature on (energy,
learning, homeostasis, structure, the grating, periodic metrics) for 10^6 steps in one
process, in segments: resident memory (RSS), ms per step and the energy ledger's
conservation residual after each. The default run keeps a minute of records
(record.horizon), so once that minute has filled, memory must stay flat: the report
compares RSS after the first segment past twice the horizon with RSS at the end.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import spikegraph as sg


def rss_mib() -> float:
    """Resident set size of this process (Linux /proc), MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024.0
    raise RuntimeError("soak: /proc/self/status has no VmRSS (Linux only)")


def soak_config(threads: int, horizon_ms: float) -> sg.Config:
    cfg = sg.default_run_config()
    cfg.update({"sim.threads": threads, "structure.enabled": True, "metrics.interval": 1000.0,
                "record.horizon": horizon_ms, "energy.record_ledger": True})
    return cfg


def run(args: argparse.Namespace) -> int:
    cfg = soak_config(args.threads, args.horizon_ms)
    sim = sg.Simulation(sg.networks.from_config(cfg), cfg)
    dt = float(cfg["sim.dt"])
    segment = max(1, args.steps // args.segments)
    settled = int(2 * args.horizon_ms / dt)  # records at their steady size from here
    rows: list[dict[str, Any]] = []
    print(f"soak: {sim.current_network.num_nodes} nodes, {args.steps} steps in segments of {segment}, "
          f"record.horizon {args.horizon_ms:g} ms, {args.threads} thread(s)", flush=True)
    print(f"{'step':>9} {'RSS MiB':>8} {'records MiB':>11} {'ms/step':>8} {'spikes/step':>11} {'alive':>6} "
          f"{'ledger err':>10}")
    while sim.step < args.steps:
        n = min(segment, args.steps - sim.step)
        sim.reset_perf()
        t0 = time.perf_counter()
        sim.run_steps(n)
        wall = time.perf_counter() - t0
        totals = sim.ledger_totals
        # The residual against the energy that went through the ledger (the flows add up
        # over the run; the residual is their float rounding).
        through = abs(totals["initial_total"]) + sum(abs(totals[k]) for k in (
            "inflow", "spike_cost", "metabolism", "overflow", "transfers", "birth_cost"))
        err = abs(totals["error"]) / max(1.0, through)
        perf = sim.perf()
        row = {"step": sim.step, "rss_mib": rss_mib(), "ms_per_step": 1000.0 * wall / n,
               "spikes_per_step": perf["spikes"] / max(1, perf["steps"]),
               "alive": int(sim.state("alive").sum()), "ledger_relative_error": err,
               "record_mib": int(perf["record_bytes"]) / 2**20}
        rows.append(row)
        print(f"{row['step']:>9} {row['rss_mib']:>8.1f} {row['record_mib']:>11.2f} "
              f"{row['ms_per_step']:>8.3f} {row['spikes_per_step']:>11.1f} {row['alive']:>6} "
              f"{err:>10.2e}", flush=True)
    start = next((r for r in rows if r["step"] >= settled), rows[-1])
    end = rows[-1]
    growth = end["rss_mib"] / start["rss_mib"] - 1.0
    print(f"RSS {start['rss_mib']:.1f} MiB at step {start['step']} -> {end['rss_mib']:.1f} MiB at step "
          f"{end['step']} ({100 * growth:+.1f}%); ms/step {rows[0]['ms_per_step']:.3f} (first segment) -> "
          f"{end['ms_per_step']:.3f} (last); ledger relative error {end['ledger_relative_error']:.1e}")
    if args.json:
        Path(args.json).write_text(json.dumps({"rows": rows, "rss_growth": growth}, indent=2) + "\n")
    return 0


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--steps", type=int, default=1_000_000)
    p.add_argument("--segments", type=int, default=20)
    p.add_argument("--horizon-ms", type=float, default=60000.0, help="record.horizon (the default run's)")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--json")
    p.set_defaults(func=run)
