"""What the live view costs the simulation: ms per step of the same simulation run
plainly, served with no page open, and served with a page open in headless Chromium
(when selenium and Debian's chromium-driver are installed), in rounds that alternate
the three so a shared machine's drift hits them alike. Goal (docs/live.md): served,
at most 5% slower than plain. With the page open the browser's drawing competes for
the same cores; that share is the browser's, and the report shows it separately."""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import time
from pathlib import Path
from typing import Any

import spikegraph as sg

from .b3 import b3_config


def make_sim(workload: str, threads: int) -> sg.Simulation:
    if workload == "b3":
        cfg = b3_config(100, 100.0, threads, 1)
    else:
        cfg = sg.default_run_config()
        cfg.update({"sim.threads": threads})
    return sg.Simulation(sg.networks.from_config(cfg), cfg)


def open_browser() -> Any:
    if not shutil.which("chromedriver"):
        return None
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        return None
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,900"):
        options.add_argument(arg)
    return webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)


def served_ms_per_step(sim: sg.Simulation, steps: int, browser: Any) -> float:
    """Time the view's simulation thread takes for `steps` steps (polled every 10 ms)."""
    view = sim.serve()
    try:
        if browser is not None:
            browser.get(view.url)
            end = time.monotonic() + 30
            while not (browser.execute_script("return window.live") or {}).get("frames", 0) and \
                    time.monotonic() < end:
                time.sleep(0.05)
        start_step, t0 = sim.step, time.perf_counter()
        while sim.step - start_step < steps:
            time.sleep(0.01)
        return 1e3 * (time.perf_counter() - t0) / (sim.step - start_step)
    finally:
        view.stop()
        if browser is not None:
            browser.get("about:blank")


def run(args: argparse.Namespace) -> int:
    browser = None if args.no_browser else open_browser()
    modes = ["plain", "served"] + (["served + page"] if browser is not None else [])
    if browser is None and not args.no_browser:
        print("(no selenium/chromium-driver: the mode with a page open is left out)")
    out: dict[str, Any] = {}
    try:
        for workload in args.workloads.split(","):
            sim = make_sim(workload, args.threads)
            duration = args.duration_ms or (1000.0 if workload == "b3" else 5000.0)
            steps = max(1, round(duration / sim.dt))
            sim.run_steps(round(args.warmup_ms / sim.dt), progress=False)  # past the start's transient
            times: dict[str, list[float]] = {m: [] for m in modes}
            for r in range(args.rounds):
                # Each round starts with another mode: the run's own drift (homeostasis,
                # learning) then falls on every mode alike.
                for mode in modes[r % len(modes):] + modes[:r % len(modes)]:
                    if mode == "plain":
                        t0 = time.perf_counter()
                        sim.run_steps(steps, progress=False)
                        times[mode].append(1e3 * (time.perf_counter() - t0) / steps)
                    else:
                        page = browser if "page" in mode else None
                        times[mode].append(served_ms_per_step(sim, steps, page))
            if args.verbose:
                print({m: [round(x, 3) for x in v] for m, v in times.items()})
            base = statistics.median(times["plain"])
            row = {m: {"ms_per_step": statistics.median(v), "ratio": statistics.median(v) / base}
                   for m, v in times.items()}
            out[workload] = row
            text = ", ".join(f"{m} {r['ms_per_step']:.3f} ms/step ({r['ratio']:.3f}x)"
                             for m, r in row.items())
            print(f"{workload} ({sim.current_network.num_nodes} nodes, {sim.threads} thr): {text}",
                  flush=True)
    finally:
        if browser is not None:
            browser.quit()
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2) + "\n")
    return 0


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--workloads", default="default,b3", help="default (the default network) and/or b3")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--duration-ms", type=float, default=0.0,
                   help="model time per measurement (default: 5000 ms, 1000 ms for b3)")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--warmup-ms", type=float, default=3000.0, help="model time run before measuring")
    p.add_argument("--no-browser", action="store_true", help="leave out the mode with a page open")
    p.add_argument("--verbose", action="store_true", help="print every measurement")
    p.add_argument("--json")
    p.set_defaults(func=run)
