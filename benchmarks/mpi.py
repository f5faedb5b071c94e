"""``python -m benchmarks mpi``: B1 and B3 on 1, 2 and 4 MPI ranks (one thread each),
strong scaling (the same network) and weak scaling (nodes in proportion to the ranks),
with each step's share of time in collectives and the bytes a rank sends per step; then
a model of the step time and traffic at 10^7 and 10^8 nodes on 16-1,024 ranks from the
measured costs (docs/performance.md, "Several ranks"); and the spike exchange alone at
B1's spike counts (benchmarks/exchange_bench.cpp, built with -DSPIKEGRAPH_BENCHMARKS=ON):
all-gather per step (counts, then ids), one all-gather of fixed blocks per step (what
spikegraph does), all-to-all by target rank per step, and one all-gather per minimum
delay.

Each run is ``mpirun -n R python -m benchmarks.mpi --worker ...``; the worker measures
on every rank and rank 0 reports the slowest rank's time (a step ends when every rank
has its spikes). On a machine with fewer cores than ranks the ranks share cores: read
the 4-rank rows here as the cost of the exchange, not as a speed-up.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import spikegraph as sg

from .b3 import b3_config
from .lif import b1_config

ROOT = Path(__file__).resolve().parent.parent


def workload_config(workload: str, scale: float, seed: int) -> sg.Config:
    """B1 at 50,000 x scale nodes (K = 100), or B3 at about 50,000 x scale nodes (out-degree 100)."""
    if workload == "b1":
        return b1_config(max(1, round(50_000 * scale)), 100, 1, seed)
    side = max(2, round(100 * math.sqrt(scale)))
    return b3_config(side, 100.0, 1, seed)


# ---------------------------------------------------------------- one run, under mpirun
def worker(args: argparse.Namespace) -> int:
    from mpi4py import MPI

    world = MPI.COMM_WORLD
    comm = sg.communicator(world)
    cfg = workload_config(args.workload, args.scale, args.seed)
    t0 = time.perf_counter()
    net = sg.networks.from_config(cfg)
    sim = sg.Simulation(net, cfg, comm=comm)
    build_s = time.perf_counter() - t0
    sim.run(args.warmup_ms)
    per_step: list[float] = []
    phases: dict[str, list[float]] = {}
    comm_share: list[float] = []
    bytes_per_step: list[float] = []
    spikes = steps = 0
    for _ in range(args.repeats):
        sim.clear_spikes()
        sim.reset_perf()
        comm.reset_counters()
        world.Barrier()
        sim.run(args.duration_ms)
        p = sim.perf()
        seconds = float(p["seconds_total"])
        per_step.append(seconds * 1e3 / p["steps"])
        for name, ms in p["phase_ms_per_step"].items():
            phases.setdefault(name, []).append(ms)
        comm_share.append(comm.seconds / seconds if seconds > 0 else 0.0)
        bytes_per_step.append(comm.bytes_sent / p["steps"])
        spikes += int(p["spikes"])
        steps += int(p["steps"])
    mine = {
        "ms_per_step": statistics.median(per_step),
        "comm_share": statistics.median(comm_share),
        "bytes_sent_per_step": statistics.median(bytes_per_step),
        "phase_ms_per_step": {k: statistics.median(v) for k, v in phases.items()},
        "local_edges": int(sim._sim.graph.num_edges),
        "memory_bytes": int(sim.perf()["memory_bytes"]),
    }
    # Bytes of node state per node: every rank holds all of it (read outside the timing;
    # membrane variables are gathered from their owners).
    node_bytes = sum(sim.state(name).nbytes for name in sim.state_names()) / net.num_nodes
    everyone = world.gather(mine, root=0)
    if world.rank == 0:
        assert everyone is not None
        slowest = max(everyone, key=lambda r: r["ms_per_step"])
        row = {
            "workload": args.workload, "ranks": world.size, "scale": args.scale,
            "nodes": net.num_nodes, "edges": net.num_edges, "build_s": build_s,
            "ms_per_step": slowest["ms_per_step"],
            "phase_ms_per_step": slowest["phase_ms_per_step"],
            "comm_share": statistics.mean(r["comm_share"] for r in everyone),
            "bytes_sent_per_step": statistics.mean(r["bytes_sent_per_step"] for r in everyone),
            "spikes_per_step": spikes / steps,
            "mean_rate_hz": spikes / net.num_nodes / (steps * sim.dt * 1e-3),
            "max_local_edges": max(r["local_edges"] for r in everyone),
            "max_memory_bytes": max(r["memory_bytes"] for r in everyone),
            "dt_ms": sim.dt,
            "node_state_bytes_per_node": node_bytes,
        }
        Path(args.json).write_text(json.dumps(row) + "\n")
    return 0


# ---------------------------------------------------------------- the driver
def mpirun_command(ranks: int) -> list[str]:
    launcher = shutil.which("mpirun") or shutil.which("mpiexec")
    if launcher is None:
        raise SystemExit("python -m benchmarks mpi: no mpirun on PATH (Debian: apt install openmpi-bin)")
    return [launcher, "-n", str(ranks), "--oversubscribe"]


def mpirun_env() -> dict[str, str]:
    """This environment, with Open MPI allowed to start as root (CI machines run as root)."""
    return dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")


def run_one(workload: str, ranks: int, scale: float, args: argparse.Namespace, out: Path) -> dict[str, Any]:
    env = mpirun_env()
    env["PYTHONPATH"] = os.pathsep.join(p for p in [str(ROOT), env.get("PYTHONPATH", "")] if p)
    cmd = [*mpirun_command(ranks), sys.executable, "-m", "benchmarks.mpi", "--worker", "--workload", workload,
           "--scale", str(scale), "--duration-ms", str(args.duration_ms), "--warmup-ms", str(args.warmup_ms),
           "--repeats", str(args.repeats), "--seed", str(args.seed), "--json", str(out)]
    r = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{r.stdout}\n{r.stderr}")
    row: dict[str, Any] = json.loads(out.read_text())
    return row


def cost_model(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Per-step compute of one workload as replicated + owned / R, fitted to the strong
    runs at 1 and 2 ranks (one thread each): `replicated` is what every rank does for
    every node (the spike-driven per-node phases, merging spikes), `owned` what is split
    (the neuron update, delivery, STDP and the flow on a rank's edges). The weak run at
    2 ranks checks the fit: its predicted compute is reported beside the measured one.
    The exchange is what the 2-rank run spent in collectives."""
    one = next(r for r in rows if r["ranks"] == 1 and r["mode"] == "strong")
    two = next(r for r in rows if r["ranks"] == 2 and r["mode"] == "strong")
    weak = next((r for r in rows if r["ranks"] == 2 and r["mode"] == "weak"), None)

    def compute(r: dict[str, Any]) -> float:
        return float(r["ms_per_step"]) * (1 - float(r["comm_share"]))

    owned = max(0.0, 2 * (compute(one) - compute(two)))
    replicated = max(0.0, compute(one) - owned)
    model = {
        "nodes": one["nodes"], "edges": one["edges"], "spikes_per_step": one["spikes_per_step"],
        "replicated_ms_per_node": replicated / one["nodes"],
        "owned_ms_per_edge": owned / one["edges"],
        "exchange_ms_per_step_2_ranks": two["ms_per_step"] * two["comm_share"],
        "bytes_per_step_2_ranks": two["bytes_sent_per_step"],
        "node_state_bytes_per_node": one["node_state_bytes_per_node"],
    }
    # Memory: engine bytes (graph + state, records) of a rank = per node x N + per edge x
    # its edges, from strong runs at 1 rank and the most ranks measured.
    most = max((r for r in rows if r["mode"] == "strong"), key=lambda r: r["ranks"])
    per_edge = ((one["max_memory_bytes"] - most["max_memory_bytes"])
                / max(1, one["max_local_edges"] - most["max_local_edges"]))
    model["bytes_per_local_edge"] = max(0.0, per_edge)
    node_bytes = max(0.0, one["max_memory_bytes"] - per_edge * one["max_local_edges"])
    model["bytes_per_node"] = node_bytes / one["nodes"]
    if weak is not None:
        model["weak_2_ranks_compute_ms"] = compute(weak)
        model["weak_2_ranks_predicted_ms"] = (replicated * weak["nodes"] / one["nodes"]
                                              + owned * weak["edges"] / one["edges"] / 2)
    return model


# ---------------------------------------------------------------- the exchange itself
# B1's minimum delay (1.5 ms) in steps of 0.1 ms: the window of an exchange per minimum delay.
B1_WINDOW_STEPS = 15


def exchange_bench_path(given: str | None) -> Path | None:
    """The spikegraph_bench_exchange program: `given`, or the first under build/."""
    if given:
        return Path(given)
    found = sorted(ROOT.glob("build/*/spikegraph_bench_exchange"))
    return found[0] if found else None


def exchange_rows(program: Path, ranks_list: list[int], spikes_per_step: float, args: argparse.Namespace
                  ) -> list[dict[str, Any]]:
    """The exchange strategies of benchmarks/exchange_bench.cpp at B1's spike count: every
    id to every rank (`hit` 1, as B1's K = 100 targets on a few ranks are), and each id to
    the 9.3% of ranks that K = 100 random targets reach among 1,024."""
    out = []
    env = mpirun_env()
    for ranks in (r for r in ranks_list if r > 1):
        per_rank = max(1, round(spikes_per_step / ranks))
        for hit in (1.0, 1 - (1 - 1 / 1024) ** 100):
            cmd = [*mpirun_command(ranks), str(program), str(per_rank), f"{hit:.4f}", str(B1_WINDOW_STEPS),
                   str(args.exchange_steps), str(args.repeats)]
            r = subprocess.run(cmd, env=env, capture_output=True, text=True)
            if r.returncode != 0:
                raise SystemExit(f"{' '.join(cmd)} failed:\n{r.stdout}\n{r.stderr}")
            out += [json.loads(line) for line in r.stdout.splitlines() if line.startswith("{")]
    return out


def print_exchange(rows: list[dict[str, Any]]) -> None:
    print("\nSpike exchange alone (B1's spikes per step; us per step, slowest rank; bytes sent per rank):")
    for key in sorted({(r["ranks"], r["hit"]) for r in rows}):
        mine = [r for r in rows if (r["ranks"], r["hit"]) == key]
        base = next(r for r in mine if r["strategy"] == "allgather")["us_per_step"]
        print(f"  {key[0]} ranks, {mine[0]['spikes_per_rank_step']} ids/rank/step, each to "
              f"{100 * key[1]:.0f}% of the other ranks: "
              + ", ".join(f"{r['strategy']} {r['us_per_step']:.2f} us ({r['us_per_step'] / base:.2f}x) "
                          f"{r['bytes_sent_per_step']:.0f} B" for r in mine))


# A cluster interconnect for the projection (stated, not measured here): per-collective
# latency and the bandwidth each rank receives with.
LATENCY_US = 5.0
BANDWIDTH_GB_S = 10.0


def project(model: dict[str, Any], workload: str) -> list[dict[str, Any]]:
    """Step time and traffic of this design at 10^7 / 10^8 nodes, K = 100 / 1,000, 16-1,024 ranks."""
    out = []
    rate_per_node = model["spikes_per_step"] / model["nodes"]
    for n in (10**7, 10**8):
        for k in (100, 1000):
            for ranks in (16, 64, 256, 1024):
                spikes = rate_per_node * n
                # Every rank receives every spike id (4 bytes); with the energy flow (B3)
                # also 24 bytes of every node per step (scale and energy, outflow, new
                # energy, inflow, overflow). Collectives: the spike exchange and the
                # agreement on errors, and the flow's five.
                received = 4 * spikes + (24 * n if workload == "b3" else 0)
                # B1 exchanges once per window of 15 steps (its smallest delay); B3 every step.
                collectives = 2 / B1_WINDOW_STEPS if workload == "b1" else 2 + 5
                latency_ms = collectives * LATENCY_US * 1e-3 * math.log2(ranks)
                comm_ms = latency_ms + received / (BANDWIDTH_GB_S * 1e6)
                compute_ms = model["replicated_ms_per_node"] * n + model["owned_ms_per_edge"] * n * k / ranks
                # A rank stores the edges into its nodes, and with the flow (B3) also the
                # rows out of them: E (2R - 1) / R^2 for random targets.
                local_edges = n * k * ((2 * ranks - 1) / ranks**2 if workload == "b3" else 1 / ranks)
                out.append({"workload": workload, "nodes": n, "k": k, "ranks": ranks,
                            "compute_ms": compute_ms, "comm_ms": comm_ms, "ms_per_step": compute_ms + comm_ms,
                            "received_mb_per_step": received / 1e6,
                            "memory_gb_per_rank": (model["bytes_per_node"] * n
                                                   + model["bytes_per_local_edge"] * local_edges) / 1e9})
    return out


def run(args: argparse.Namespace) -> int:
    if args.worker:
        return worker(args)
    rows: list[dict[str, Any]] = []
    tmp = Path(args.out_dir)
    tmp.mkdir(parents=True, exist_ok=True)
    ranks_list = [int(r) for r in args.ranks.split(",")]
    if args.rows:  # the model again from the rows of an earlier --json
        rows = json.loads(Path(args.rows).read_text())["rows"]
    for workload in [] if args.rows else args.workloads.split(","):
        for mode in ("strong", "weak"):
            for ranks in ranks_list:
                if mode == "weak" and ranks == 1:
                    continue  # the same run as strong at 1 rank
                scale = args.scale * (ranks if mode == "weak" else 1)
                row = run_one(workload, ranks, scale, args, tmp / f"{workload}_{mode}_{ranks}.json")
                row["mode"] = mode
                rows.append(row)
                plural = "s" if ranks > 1 else " "
                print(f"{workload.upper()} {mode:6} {ranks} rank{plural}: {row['nodes']:>8} nodes "
                      f"{row['edges']:>10} edges  {row['ms_per_step']:8.3f} ms/step  "
                      f"exchange {100 * row['comm_share']:5.1f}%  "
                      f"{row['bytes_sent_per_step']:10.0f} B sent/step/rank  "
                      f"rate {row['mean_rate_hz']:.1f} Hz  edges/rank {row['max_local_edges']}\n"
                      "    per phase (ms/step, slowest rank): "
                      + ", ".join(f"{k} {v:.3f}" for k, v in row["phase_ms_per_step"].items() if v >= 0.0005),
                      flush=True)
    exchange: list[dict[str, Any]] = []
    b1_one = next((r for r in rows if (r["workload"], r["ranks"], r["mode"]) == ("b1", 1, "strong")), None)
    program = exchange_bench_path(args.exchange_bench)
    if b1_one is not None and not args.rows:
        if program is None or not program.exists():
            print("\n(no spikegraph_bench_exchange under build/: to time the exchange strategies, configure "
                  "with -DSPIKEGRAPH_BENCHMARKS=ON and MPI, or pass --exchange-bench)")
        else:
            exchange = exchange_rows(program, ranks_list, float(b1_one["spikes_per_step"]), args)
            print_exchange(exchange)
    models = {}
    projections: list[dict[str, Any]] = []
    for workload in args.workloads.split(","):
        mine = [r for r in rows if r["workload"] == workload]
        if not {(1, "strong"), (2, "strong")} <= {(r["ranks"], r["mode"]) for r in mine}:
            continue
        models[workload] = cost_model(mine)
        projections += project(models[workload], workload)
        m = models[workload]
        check = ""
        if "weak_2_ranks_compute_ms" in m:
            check = (f"; weak 2 ranks: compute {m['weak_2_ranks_compute_ms']:.3f} ms measured, "
                     f"{m['weak_2_ranks_predicted_ms']:.3f} predicted")
        print(f"\n{workload.upper()} model: replicated {1e6 * m['replicated_ms_per_node']:.3f} ns/node, "
              f"owned {1e6 * m['owned_ms_per_edge']:.3f} ns/edge per step; exchange at 2 ranks "
              f"{m['exchange_ms_per_step_2_ranks']:.3f} ms/step{check}")
        print(f"  memory: {m['bytes_per_node']:.0f} B per node on every rank, "
              f"{m['bytes_per_local_edge']:.1f} B per edge a rank stores")
        print(f"  projection (interconnect {LATENCY_US} us per collective x log2 R, {BANDWIDTH_GB_S} GB/s):")
        for p in (p for p in projections if p["workload"] == workload):
            print(f"  N={p['nodes']:.0e} K={p['k']:>4} R={p['ranks']:>4}: {p['ms_per_step']:9.2f} ms/step "
                  f"(compute {p['compute_ms']:8.2f}, exchange {p['comm_ms']:7.2f}), "
                  f"{p['received_mb_per_step']:8.2f} MB in/rank/step, "
                  f"{p['memory_gb_per_rank']:.1f} GB/rank")
    if args.json:
        Path(args.json).write_text(json.dumps({"rows": rows, "models": models, "projections": projections,
                                               "exchange": exchange}, indent=2) + "\n")
    return 0


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--workloads", default="b1,b3", help="comma-separated: b1, b3")
    p.add_argument("--ranks", default="1,2,4", help="comma-separated rank counts")
    p.add_argument("--scale", type=float, default=1.0,
                   help="network size relative to 50,000 nodes (per rank when weak)")
    p.add_argument("--duration-ms", type=float, default=200.0, help="per timed run")
    p.add_argument("--warmup-ms", type=float, default=50.0)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--out-dir", default="build/benchmarks-mpi", help="per-run JSON files")
    p.add_argument("--json", help="write every row, the cost models and the projection here")
    p.add_argument("--rows", help="skip the runs: the model from the rows of an earlier --json")
    p.add_argument("--exchange-bench",
                   help="the spikegraph_bench_exchange program (default: the first under build/)")
    p.add_argument("--exchange-steps", type=int, default=20000, help="steps per timed exchange run")
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--workload", default="b1", help=argparse.SUPPRESS)
    p.set_defaults(func=run)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m benchmarks.mpi", description=__doc__)
    add_arguments(parser)
    sys.exit(int(run(parser.parse_args())))
