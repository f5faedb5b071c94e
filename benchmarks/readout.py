"""Report: the default network's readout test (docs/model.md, "The default network must
see"; spikegraph.readout): accuracy on held-out showings of four oriented gratings, the
same protocol on blank frames, and the rates and silent fractions per node type."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import spikegraph as sg
from spikegraph.readout import readout_test


def run(args: argparse.Namespace) -> int:
    out = {}
    for blank in (False, True):
        cfg = sg.default_run_config()
        cfg.update({"sensory.source": "none", "sim.threads": args.threads, "sim.seed": args.seed})
        sim = sg.Simulation(sg.networks.from_config(cfg), cfg)
        sim.run(args.settle_ms)
        t0 = time.perf_counter()
        r = readout_test(sim, blank=blank, seed=args.seed)
        label = "blank frames" if blank else "gratings"
        print(f"{label:>12}: accuracy {r.accuracy:.3f} (chance {r.chance:.2f}), {r.labels.size} showings in "
              f"{time.perf_counter() - t0:.1f} s", flush=True)
        for name, rate in r.rates_hz.items():
            print(f"{'':>14}{name:>10}: {rate:6.2f} Hz, {100 * r.silent_fraction[name]:5.1f}% silent")
        out["blank" if blank else "input"] = r.as_dict()
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2) + "\n")
    return 0


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--settle-ms", type=float, default=2000.0)
    p.add_argument("--json")
    p.set_defaults(func=run)
