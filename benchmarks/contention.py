"""``python -m benchmarks contention``: ms per step on an idle machine and beside one busy
process, for 1 thread, 2 threads and the default thread count (``sim.threads = 0``: all
hardware threads), for the default run (``spikegraph run``'s network and configuration) and
B1. Each measurement runs in a fresh process; with ``--builds NAME=DIR,...`` the same
measurements run against other builds of the Python package too (each DIR is put first on
PYTHONPATH), interleaved so that a change of machine load hits every build alike, and the
table gives each build's ratio to the first.

Goal (docs/performance.md): beside one busy process, the default's ms per step is at most
1.3 x the best of its 1- and 2-thread times; idle, it is as fast as before.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
WORKLOADS = ("default", "b1", "b2", "b3")


def measure(workload: str, threads: int, steps: int, warmup: int) -> dict[str, Any]:
    """Build the workload in this process and time `steps` steps after `warmup`."""
    import spikegraph as sg

    from . import b3, lif

    if workload == "default":
        cfg = sg.default_run_config()
        cfg.update({"sim": {"threads": threads}})
    elif workload in ("b1", "b2"):
        cfg = lif.b1_config(50_000, 100, threads, 12345, workload)
    elif workload == "b3":
        cfg = b3.b3_config(100, 100.0, threads, 1)
    else:
        raise ValueError(f"unknown workload {workload!r} (known: {', '.join(WORKLOADS)})")
    net = sg.networks.from_config(cfg)
    sim = sg.Simulation(net, cfg)
    sim.run_steps(warmup)
    sim.reset_perf()
    t0 = time.perf_counter()
    sim.run_steps(steps)
    wall = time.perf_counter() - t0
    return {"ms_per_step": wall * 1e3 / steps, "threads": sim.threads, "spikes": sim.perf()["spikes"]}


def busy_process() -> subprocess.Popen[bytes]:
    """One competing process that keeps one core busy."""
    return subprocess.Popen([sys.executable, "-c", "while True: pass"])


def run_one(build: Path | None, workload: str, threads: int, steps: int, warmup: int) -> dict[str, Any]:
    env = dict(os.environ)
    paths = [str(build)] if build else []
    paths.append(str(ROOT))
    env["PYTHONPATH"] = os.pathsep.join([*paths, env.get("PYTHONPATH", "")])
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.contention", "--measure", workload, "--threads", str(threads),
         "--steps", str(steps), "--warmup", str(warmup)],
        env=env, capture_output=True, text=True, check=True, cwd=ROOT)
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


STEPS = {"default": (3000, 300), "b1": (2000, 200), "b2": (2000, 200), "b3": (150, 20)}


def run(args: argparse.Namespace) -> int:
    builds: list[tuple[str, Path | None]] = [("this", None)]
    for item in filter(None, (args.builds or "").split(",")):
        name, _, path = item.partition("=")
        builds.append((name, Path(path).resolve()))
    threads_list = [int(t) for t in args.thread_counts.split(",")]
    rows: list[dict[str, Any]] = []
    for workload in args.workloads.split(","):
        steps, warmup = STEPS[workload]
        steps = int(steps * args.scale)
        for load in args.loads.split(","):
            busy = busy_process() if load == "busy" else None
            try:
                time.sleep(0.3 if busy else 0.0)
                times: dict[tuple[str, int], list[float]] = {}
                for _ in range(args.repeats):
                    for threads in threads_list:
                        for name, path in builds:
                            r = run_one(path, workload, threads, steps, warmup)
                            times.setdefault((name, threads), []).append(r["ms_per_step"])
            finally:
                if busy:
                    busy.kill()
                    busy.wait()
            for (name, threads), ms in times.items():
                row = {"workload": workload, "load": load, "build": name, "threads": threads,
                       "ms_per_step": statistics.median(ms), "ms_per_step_all": ms}
                rows.append(row)
            for threads in threads_list:
                base = statistics.median(times[(builds[0][0], threads)])
                cells = []
                for name, _ in builds:
                    ms = statistics.median(times[(name, threads)])
                    ratio = f" (x{base / ms:.2f})" if name != builds[0][0] else ""
                    cells.append(f"{name} {ms:7.3f}{ratio}")
                print(f"{workload:8s} {load:5s} threads={threads}: {', '.join(cells)} ms/step", flush=True)
            for name, _ in builds:
                if 0 in threads_list and {1, 2} <= set(threads_list):
                    best = min(statistics.median(times[(name, 1)]), statistics.median(times[(name, 2)]))
                    ratio = statistics.median(times[(name, 0)]) / best
                    print(f"{workload:8s} {load:5s} {name}: default / best of 1 and 2 threads = {ratio:.2f}",
                          flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps({"rows": rows}, indent=2) + "\n")
    return 0


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--workloads", default="default,b1", help=f"comma list of {', '.join(WORKLOADS)}")
    p.add_argument("--loads", default="idle,busy", help="idle, busy (one competing busy process), or both")
    p.add_argument("--thread-counts", default="1,2,0", help="sim.threads values (0 = the default: all)")
    p.add_argument("--repeats", type=int, default=3, help="fresh processes per cell (median)")
    p.add_argument("--scale", type=float, default=1.0, help="scale the timed steps")
    p.add_argument("--builds", help="NAME=DIR,...: other builds of the package to compare against")
    p.add_argument("--json", help="write all rows here")
    p.set_defaults(func=run)


def main() -> int:  # the per-measurement child process
    p = argparse.ArgumentParser()
    p.add_argument("--measure", required=True)
    p.add_argument("--threads", type=int, required=True)
    p.add_argument("--steps", type=int, required=True)
    p.add_argument("--warmup", type=int, required=True)
    a = p.parse_args()
    print(json.dumps(measure(a.measure, a.threads, a.steps, a.warmup)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
