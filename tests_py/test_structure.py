"""Structural plasticity (docs/model.md step 7): deaths, births, pruning, compaction."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import spikegraph as sg


def base_config(**structure: Any) -> dict[str, Any]:
    return {
        "sim": {"threads": 1, "precision": "float64"},
        "energy": {"enabled": True, "tau_decay": 1e9, "conductance": 0.0, "spike_cost_frac": 0.0},
        "structure": {"enabled": True, "interval": 10, **structure},
    }


def run_with_events(sim: sg.Simulation, steps: int) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    sim.subscribe(events.append)
    sim.run_steps(steps)
    return [s for e in events for s in e["structure"]]


def test_a_starving_dynamic_node_dies_at_the_structure_step_and_the_ledger_counts_it() -> None:
    net = sg.Network.from_arrays(4, [0, 1, 2], [1, 2, 3], [0.1, 0.1, 0.1], node_types=[1, 1, 1, 3])
    sim = sg.Simulation(net, base_config())
    sim.set_state("energy", [0.01, 2.0, 0.01, 0.01])  # nodes 0 and 2 starve; 3 is an integrator
    sim.run_steps(9)
    assert sim.state("alive").tolist() == [1, 1, 1, 1]  # the interval is not over yet
    structure = run_with_events(sim, 1)
    assert structure[0]["deaths"].tolist() == [0, 2]
    assert sim.state("alive").tolist() == [0, 1, 0, 1]
    assert sim.energy[0] == 0.0 and sim.energy[2] == 0.0
    ledger = sim.ledger
    assert ledger["transfers"][-1] == pytest.approx(0.02)
    assert np.all(np.abs(ledger["error"]) <= 1e-9)
    cur = sim.current_network
    assert cur.num_edges == 0 and structure[0]["removed_edges"] == 3  # every edge touched a dead node
    cur.validate()


def test_a_node_that_recovers_within_the_interval_survives() -> None:
    net = sg.Network.from_arrays(2, [0], [1], [0.1])
    sim = sg.Simulation(net, base_config())
    sim.set_state("energy", [0.01, 0.01])
    sim.run_steps(5)
    energy = sim.energy
    energy[1] = 1.0  # node 1 is fed in the middle of the interval
    sim.run_steps(5)
    assert sim.state("alive").tolist() == [0, 1]


def test_births_fill_free_slots_in_order_and_pay_the_cost() -> None:
    net = sg.Network.from_arrays(3, [0, 1], [1, 2], [0.1, 0.1], plastic=[0, 0])
    cfg = base_config(spare_nodes=2, birth_energy=3.0, birth_cost=1.5, child_energy_frac=0.5,
                      child_out_degree=2, death_energy=0.0)
    sim = sg.Simulation(net, cfg)
    assert sim.current_network.num_nodes == 5 and sim.state("alive").tolist() == [1, 1, 1, 0, 0]
    sim.set_state("energy", [4.0, 3.5, 1.0, 0.0, 0.0])
    structure = run_with_events(sim, 10)
    s = structure[0]
    assert s["parents"].tolist() == [0, 1] and s["children"].tolist() == [3, 4]
    assert sim.state("alive").tolist() == [1, 1, 1, 1, 1]
    assert sim.energy.tolist() == pytest.approx([2.5, 2.0, 1.0, 0.75, 0.75])
    ledger = sim.ledger
    assert ledger["birth_cost"][-1] == pytest.approx(1.5)  # the halves the children did not get
    assert np.all(np.abs(ledger["error"]) <= 1e-9)
    cur = sim.current_network
    cur.validate()
    src = cur.sources()
    pairs = set(zip(src.tolist(), cur.targets.tolist()))
    assert (0, 3) in pairs and (1, 4) in pairs
    assert s["added_edges"] == 2 + 2 * 2
    assert int(np.sum(src == 3)) == 2 and int(np.sum(src == 4)) == 2
    # no slot left: the next birth is refused
    sim.set_state("energy", [4.0, 0.5, 0.5, 0.5, 0.5])
    again = run_with_events(sim, 10)
    assert again[0]["births_refused"] == 1 and again[0]["children"].size == 0


def test_a_dead_nodes_slot_is_free_for_a_later_birth_lowest_first() -> None:
    # Step 10: nodes 1 and 3 starve and die while node 0 gives birth: its child takes the
    # spare slot 5 (a node that dies now is not reborn in the same step). Step 20: node 4's
    # and node 0's children take the lowest free slots, the dead nodes' 1 and 3.
    net = sg.Network.from_arrays(5, [0, 2], [2, 4], [0.1, 0.1], plastic=[0, 0])
    cfg = base_config(spare_nodes=1, birth_energy=3.0, birth_cost=1.0, child_energy_frac=0.5,
                      child_out_degree=0, death_energy=0.05)
    sim = sg.Simulation(net, cfg)
    sim.set_state("energy", [4.0, 0.01, 2.0, 0.01, 2.0, 0.0])
    first = run_with_events(sim, 10)[0]
    assert first["deaths"].tolist() == [1, 3]
    assert first["parents"].tolist() == [0] and first["children"].tolist() == [5]
    sim.set_state("energy", [4.0, 0.0, 2.0, 0.0, 4.0, 0.5])
    second = run_with_events(sim, 10)[0]
    assert second["parents"].tolist() == [0, 4] and second["children"].tolist() == [1, 3]
    assert sim.state("alive").tolist() == [1, 1, 1, 1, 1, 1]
    assert np.all(np.abs(sim.ledger["error"]) <= 1e-9)
    pairs = set(zip(sim.current_network.sources().tolist(), sim.current_network.targets.tolist()))
    assert {(0, 5), (0, 1), (4, 3)} <= pairs
    sim.current_network.validate()


def test_pruning_removes_weak_plastic_edges_only() -> None:
    net = sg.Network.from_arrays(3, [0, 0, 1], [1, 2, 2], [0.01, 0.01, 0.5], plastic=[1, 0, 1])
    sim = sg.Simulation(net, base_config(death_energy=0.0, prune_weight=0.05))
    structure = run_with_events(sim, 10)
    assert structure[0]["pruned_edges"] == 1
    cur = sim.current_network
    assert list(zip(cur.sources().tolist(), cur.targets.tolist())) == [(0, 2), (1, 2)]
    assert sim.weights.tolist() == pytest.approx([0.01, 0.5])


def test_structure_with_every_feature_is_deterministic_across_threads_and_keeps_the_ledger() -> None:
    rng = np.random.default_rng(0)
    n, m = 1500, 20000
    kinds = rng.choice(4, m, p=[0.6, 0.25, 0.1, 0.05])
    net = sg.Network.from_arrays(n, rng.integers(0, n, m), rng.integers(0, n, m), rng.uniform(0.02, 1.0, m),
                                 delays=rng.integers(1, 6, m), kinds=kinds,
                                 plastic=(kinds == 0).astype(np.uint8))
    cfg = {"energy": {"enabled": True}, "learning": {"enabled": True}, "homeostasis": {"enabled": True},
           "structure": {"enabled": True, "spare_nodes": 100, "interval": 20, "birth_energy": 3.0},
           "node": {"dynamic": {"poisson_rate": 300.0, "poisson_weight": 0.6}}}
    results = []
    for threads in (1, 2):
        sim = sg.Simulation(net, {**cfg, "sim": {"threads": threads}})
        energy = np.random.default_rng(1).uniform(0, 5, sim.current_network.num_nodes)
        energy[n:] = 0.0
        sim.set_state("energy", energy)
        structure = run_with_events(sim, 200)
        assert sum(len(s["deaths"]) for s in structure) > 0 and sum(len(s["children"]) for s in structure) > 0
        sim.current_network.validate()
        ledger = sim.ledger
        assert np.max(np.abs(ledger["error"])) <= 1e-4 * np.max(ledger["total_after"])
        results.append((sim.spikes.nodes.tobytes(), sim.energy.tobytes(), sim.weights.tobytes()))
    assert results[0] == results[1]
