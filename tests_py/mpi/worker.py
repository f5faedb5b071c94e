"""Run under mpirun by tests_py/test_mpi.py: a simulation on the ranks of
MPI.COMM_WORLD (mpi4py) against one process, and checkpoints across rank counts.

    python worker.py identity
    python worker.py generated      (each rank draws its part of a Brunel network)
    python worker.py builder        (each rank draws its part of a NetworkBuilder network)
    python worker.py window         (a static network: spikes exchanged once per 10 steps)
    python worker.py save FILE
    python worker.py resume FILE
    python worker.py raise          (rank 1 raises: every rank must end)

Prints one line per rank: "rank R of N: ok ..." when everything matched.
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np
import spikegraph as sg
from mpi4py import MPI

CONFIG: dict[str, Any] = {
    "sim": {"seed": 5, "threads": 1},
    "learning": {"enabled": True},
    "homeostasis": {"enabled": True, "interval": 10},
    "energy": {"enabled": True, "conductance": 0.0},
    "node": {"dynamic": {"poisson_rate": 9000.0, "poisson_weight": 0.12}},
    # Births, deaths and pruning every 5 steps (1 ms), rebirths into freed slots included.
    "structure": {
        "enabled": True,
        "interval": 5,
        "spare_nodes": 8,
        "death_energy": 1.2,
        "birth_energy": 1.32,
        "birth_cost": 0.5,
    },
}


def network() -> sg.Network:
    # Plastic excitatory-to-excitatory edges; nodes 420-599 are inhibitory, so on 4
    # ranks the last rank (450-599) stores no plastic edge while the others do.
    return sg.networks.brunel(600, k_in=25, seed=2, exc_fraction=0.7, plastic_exc_exc=True)


def builder() -> sg.NetworkBuilder:
    b = sg.NetworkBuilder(seed=4, dt=0.1)
    b.population("E", 400)
    b.population("I", 100)
    b.initial("E", "v", sg.builder.uniform(0.0, 0.9))
    b.connect("E", ["E", "I"], "fixed_indegree", n=20, weight=sg.builder.normal(0.12, 0.02, low=0.0),
              delay=sg.builder.uniform(0.5, 2.5), plastic=True)
    b.connect("I", ["E", "I"], "pairwise_bernoulli", p=0.05, weight=0.4, kind="inhibitory")
    b.connect("E", "I", "fixed_total_number", n=800, weight=0.1, delay=1.0)
    return b


def static_window(comm: Any) -> int:
    """A network without energy, learning, homeostasis or structure, delays 1.0-2.0 ms:
    on several ranks the spikes travel once per 10 steps, and the records and the
    subscribers' spikes still match one process."""
    b = sg.NetworkBuilder(seed=6, dt=0.1)
    b.population("E", 400)
    b.population("I", 100)
    b.initial("E", "v", sg.builder.uniform(0.0, 0.9))
    b.connect("E", ["E", "I"], "fixed_indegree", n=25, weight=0.12, delay=sg.builder.uniform(1.0, 2.0))
    b.connect("I", ["E", "I"], "fixed_indegree", n=6, weight=0.5, delay=1.0, kind="inhibitory")
    cfg = {"sim": {"seed": 3, "threads": 1},
           "node": {"dynamic": {"poisson_rate": 9000.0, "poisson_weight": 0.12}}}
    sims = [sg.Simulation.from_builder(b, cfg, comm=comm), sg.Simulation.from_builder(b, cfg)]
    events: list[list[Any]] = [[], []]
    for sim, got in zip(sims, events):
        sim.add_recorder("probe", "state", nodes=[0, 250, 499], variables=["v"], interval_ms=3.0)
        sim.subscribe(got.append)
        sim.run(13.7)
        sim.run(20.0)
    sim, ref = sims
    bad = []
    if sim.exchange_window != (10 if comm.size > 1 else 1) or ref.exchange_window != 1:
        bad.append(f"exchange window {sim.exchange_window}")
    a, b_ = sim.spikes, ref.spikes
    if not (np.array_equal(a.steps, b_.steps) and np.array_equal(a.nodes, b_.nodes)):
        bad.append("spikes")
    for name in ("v", "last_spike"):
        if not np.array_equal(sim.state(name), ref.state(name)):
            bad.append(name)
    if not np.array_equal(sim.recorder("probe")["values"]["v"], ref.recorder("probe")["values"]["v"]):
        bad.append("probe")
    mine = np.concatenate([e["spike_nodes"] for e in events[0]])
    theirs = np.concatenate([e["spike_nodes"] for e in events[1]])
    if not np.array_equal(mine, theirs) or len(theirs) < 200:
        bad.append(f"subscribers' spikes ({len(mine)} vs {len(theirs)})")
    print(f"rank {sim.rank} of {sim.ranks}: {'ok' if not bad else 'differs: ' + ', '.join(bad)} "
          f"(window {sim.exchange_window}, {ref.spikes.num_spikes} spikes)", flush=True)
    return 0 if not bad else 1


def same(a: sg.Simulation, b: sg.Simulation) -> list[str]:
    """The records and states that differ."""
    bad = []
    sa, sb = a.spikes, b.spikes
    if not (np.array_equal(sa.steps, sb.steps) and np.array_equal(sa.nodes, sb.nodes)):
        bad.append("spikes")
    for name in ("v", "energy", "threshold", "rate", "trace_pre", "alive"):
        if not np.array_equal(a.state(name), b.state(name)):
            bad.append(name)
    if not np.array_equal(a.weights, b.weights) or a.total_edges != b.total_edges:
        bad.append("weights")
    ga, gb = a.graph_metrics(), b.graph_metrics()  # the whole graph's, gathered on ranks
    ga.pop("seconds")
    gb.pop("seconds")
    if repr(ga) != repr(gb):
        bad.append("graph_metrics")
    wa, wb = a.whole_network(), b.whole_network()
    fields = ("out_offsets", "targets", "weights", "delays", "kinds")
    if not all(np.array_equal(getattr(wa, f), getattr(wb, f)) for f in fields):
        bad.append("whole_network")
    return bad


def main() -> int:
    comm = MPI.COMM_WORLD
    mode = sys.argv[1]
    if mode == "raise":
        sim = sg.Simulation(network(), CONFIG, comm=comm)
        sim.run(5.0)
        if comm.rank == 1:
            raise RuntimeError("an error on rank 1 only")
        sim.run(5.0)  # the other ranks wait here until the abort ends them
        print(f"rank {comm.rank}: was not ended", flush=True)
        return 0
    if mode == "window":
        return static_window(comm)
    ref = sg.Simulation(network(), CONFIG)
    if mode == "identity":
        sim = sg.Simulation(network(), CONFIG, comm=comm)
        sim.run(40.0)
        ref.run(40.0)
    elif mode == "generated":
        # Each rank draws its part of the configured Brunel network.
        cfg = dict(CONFIG, network={"kind": "brunel", "n": 600, "k_in": 25})
        sim = sg.Simulation.from_config(cfg, comm=comm)
        ref = sg.Simulation.from_config(cfg)
        assert sim.network.num_edges < ref.network.num_edges or comm.size == 1
        sim.run(40.0)
        ref.run(40.0)
    elif mode == "builder":
        # Each rank draws its part of a builder network (several rules, plastic edges,
        # initial values), one projection at a time.
        b = builder()
        sim = sg.Simulation.from_builder(b, CONFIG, comm=comm)
        ref = sg.Simulation.from_builder(b, CONFIG)
        assert sim.network.num_edges < ref.network.num_edges or comm.size == 1
        sim.run(40.0)
        ref.run(40.0)
    elif mode == "save":
        sim = sg.Simulation(network(), CONFIG, comm=comm)
        sim.run(25.0)
        sim.save(sys.argv[2])
        ref.run(25.0)
    elif mode == "resume":
        sim = sg.Simulation.load(sys.argv[2], comm=comm)
        sim.run(15.0)
        ref.run(25.0)
        ref.run(15.0)
    else:
        raise SystemExit(f"unknown mode {mode}")
    bad = same(sim, ref)
    status = "ok" if not bad else "differs: " + ", ".join(bad)
    own = sim.owned_nodes
    print(
        f"rank {sim.rank} of {sim.ranks}: {status} ({sim.spikes.num_spikes} spikes, nodes "
        f"{own.start}-{own.stop - 1}, {sim.total_edges} edges, {int(sim.state('alive').sum())} alive)",
        flush=True,
    )
    return 0 if not bad else 1


if __name__ == "__main__":
    sys.exit(main())
