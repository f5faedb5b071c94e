"""Energy (docs/model.md step 4) through the Python API: spike cost and metabolism, flow on
small networks by hand, the flow interval, the clamp, dead nodes, the spiking floor,
gated edges, the conservation ledger, determinism across thread counts, and what
``energy.enabled = false`` leaves out."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
import spikegraph as sg

M = math.exp(-1.0 / 1000.0)  # metabolism per step at the defaults (dt 1 ms, tau_decay 1000 ms)
LEDGER_COLUMNS = {
    "step",
    "total_before",
    "inflow",
    "spike_cost",
    "metabolism",
    "flow_out",
    "flow_in",
    "overflow",
    "transfers",
    "birth_cost",
    "total_after",
    "error",
}


def energy_config(precision: str = "float64", **energy: Any) -> dict[str, Any]:
    """CPU, one thread, energy on, no energy coupling of the membrane."""
    return {
        "sim": {"precision": precision, "threads": 1, "backend": "cpu"},
        "energy": {"enabled": True, **energy},
        "node": {
            t: {"energy_coupling": 0.0} for t in ("dynamic", "highway", "relay", "workspace", "integrator")
        },
    }


def chain(n: int, edges: list[tuple[int, int, float, str]], node_types: Any = None) -> sg.Network:
    src, tgt, w, kinds = zip(*edges)
    return sg.Network.from_arrays(n, list(src), list(tgt), list(w), kinds=list(kinds), node_types=node_types)


def random_network(n: int, out_degree: int, seed: int) -> sg.Network:
    """Every node type but sensory and oscillator, all edge kinds, delays 1..5, half plastic."""
    rng = np.random.default_rng(seed)
    types = np.where(np.arange(n) % 10 < 6, 1, rng.choice([3, 4, 5, 6], n))
    m = n * out_degree
    return sg.Network.from_arrays(
        n,
        np.repeat(np.arange(n), out_degree),
        rng.integers(0, n, m),
        rng.uniform(0.1, 1.0, m),
        delays=rng.integers(1, 6, m),
        kinds=rng.choice(4, m, p=[0.6, 0.25, 0.1, 0.05]),
        node_types=types,
        plastic=rng.random(m) < 0.5,
    )


def all_features(precision: str, threads: int, **extra: Any) -> dict[str, Any]:
    node = {
        t: {"poisson_rate": 200.0, "poisson_weight": 0.4}
        for t in ("dynamic", "integrator", "relay", "highway", "workspace")
    }
    cfg: dict[str, Any] = {
        "sim": {"precision": precision, "threads": threads, "seed": 7, "backend": "cpu"},
        "energy": {"enabled": True, "conductance": 0.05},
        "learning": {"enabled": True},
        "homeostasis": {"enabled": True, "interval": 10, "eta": 0.05},
        "edge": {"gate_energy": 2.5},
        "node": node,
        "init": {"v_min": 0.0, "v_max": 0.95},
    }
    for section, values in extra.items():
        cfg.setdefault(section, {}).update(values)
    return cfg


def test_spike_cost_and_metabolism_follow_the_kernel_formula(isolated: Any) -> None:
    dt, tau = 0.5, 40.0
    cfg = energy_config(tau_decay=tau)
    cfg["sim"]["dt"] = dt
    sim = sg.Simulation(isolated(4), cfg)
    e0 = np.array([0.5, 4.0, 3.0, 1.0])
    sim.set_state("energy", e0)
    sim.set_state("v", [10.0, 10.0, 0.0, 10.0])
    sim.run_steps(1)
    assert sim.spikes.nodes.tolist() == [0, 1, 3]
    cost = np.array([0.05, 0.1, 0.0, 0.1])  # min(0.1 E, 0.1)
    m = math.exp(-dt / tau)
    np.testing.assert_allclose(sim.energy, (e0 - cost) * m, rtol=1e-14)
    ledger = sim.ledger
    assert set(ledger) == LEDGER_COLUMNS
    assert ledger["step"].tolist() == [0]
    assert ledger["spike_cost"][0] == pytest.approx(cost.sum(), rel=1e-14)
    assert ledger["metabolism"][0] == pytest.approx(((e0 - cost) * (1 - m)).sum(), rel=1e-12)
    assert abs(ledger["error"][0]) <= 1e-12
    # and metabolism alone afterwards (the nodes are refractory, then below threshold)
    before = sim.energy.copy()
    sim.run_steps(40)
    assert sim.spikes.num_spikes == 3
    np.testing.assert_allclose(sim.energy, before * m**40, rtol=1e-13)


@pytest.mark.parametrize("precision", ["float32", "float64"])
def test_two_node_flow_by_hand(precision: str) -> None:
    cond = 0.1
    # a parallel inhibitory edge neither carries energy nor counts in W_0
    net = chain(2, [(0, 1, 0.7, "excitatory"), (0, 1, 5.0, "inhibitory")])
    sim = sg.Simulation(net, energy_config(precision, conductance=cond))
    sim.set_state("energy", [4.0, 1.0])
    e = np.array([4.0, 1.0])
    for _ in range(6):
        sim.run_steps(1)
        e = e * M
        f = cond * max(e[0] - e[1], 0.0)
        e = np.array([e[0] - f, e[1] + f])
        np.testing.assert_allclose(sim.energy, e, rtol=1e-12 if precision == "float64" else 2e-6)
        assert sim.ledger["flow_out"][-1] == pytest.approx(f, rel=1e-5)
        assert sim.ledger["flow_in"][-1] == pytest.approx(f, rel=1e-5)
    assert sim.ledger["step"].tolist() == list(range(6))


def test_three_node_flow_with_a_highway_by_hand() -> None:
    cond = 0.2
    net = chain(
        3,
        [
            (0, 1, 1.0, "excitatory"),
            (0, 2, 3.0, "modulatory"),
            (0, 1, 2.0, "inhibitory"),
            (1, 2, 2.0, "gated"),
            (2, 0, 1.0, "excitatory"),
        ],
        node_types=["highway", "dynamic", "dynamic"],
    )
    sim = sg.Simulation(net, energy_config(conductance=cond))
    sim.set_state("energy", [4.0, 2.0, 1.0])
    sim.run_steps(1)
    # W_0 = 4 (inhibitory excluded), c_0 = 2: scale 0.1; F01 = 0.2, F02 = 0.9; F12 = 0.1 * 2 * 1 = 0.2;
    # all from the energies before the flow (node 1's inflow does not feed its outflow).
    np.testing.assert_allclose(sim.energy, np.array([2.9, 2.0, 2.1]) * M, rtol=1e-12)
    assert sim.ledger["flow_out"][0] == pytest.approx(1.3 * M, rel=1e-12)


def test_permuted_edge_order_gives_identical_energies() -> None:
    edges = [
        (0, 1, 1.0, "excitatory"),
        (0, 1, 0.5, "excitatory"),
        (0, 2, 3.0, "modulatory"),
        (0, 1, 2.0, "inhibitory"),
        (1, 2, 2.0, "gated"),
        (2, 0, 1.0, "excitatory"),
    ]
    results = []
    for order in (range(6), reversed(range(6)), [3, 5, 1, 0, 4, 2]):
        net = chain(3, [edges[i] for i in order], node_types=["highway", "dynamic", "relay"])
        sim = sg.Simulation(net, energy_config("float32", conductance=0.2))
        sim.set_state("energy", [4.0, 2.0, 1.0])
        sim.run_steps(10)
        results.append(sim.energy.copy())
    assert results[1].tobytes() == results[0].tobytes()
    assert results[2].tobytes() == results[0].tobytes()


def test_flow_interval() -> None:
    sim = sg.Simulation(
        chain(2, [(0, 1, 1.0, "excitatory")]), energy_config(conductance=0.1, flow_interval=4)
    )
    sim.set_state("energy", [4.0, 1.0])
    sim.run_steps(12)
    flows = sim.ledger["flow_out"]
    assert [s for s in range(12) if flows[s] > 0] == [0, 4, 8]
    assert np.array_equal(sim.ledger["flow_in"] > 0, flows > 0)


def test_clamp_at_the_cap_counts_overflow() -> None:
    # Two highways at the cap push node 2 past it (conductance 0.5: each sends E_s - E_j).
    net = chain(
        3, [(0, 2, 0.3, "excitatory"), (1, 2, 1.7, "gated")], node_types=["highway", "highway", "dynamic"]
    )
    sim = sg.Simulation(net, energy_config(conductance=0.5))
    sim.set_state("energy", [5.0, 5.0, 1.0])
    sim.run_steps(1)
    np.testing.assert_allclose(sim.energy, [M, M, 5.0], rtol=1e-12)
    assert sim.ledger["overflow"][0] == pytest.approx(9 * M - 5.0, rel=1e-12)
    assert abs(sim.ledger["error"][0]) <= 1e-12


def test_dead_nodes_neither_send_nor_receive() -> None:
    net = chain(3, [(0, 1, 1.0, "excitatory"), (1, 2, 1.0, "excitatory"), (0, 2, 1.0, "excitatory")])
    sim = sg.Simulation(net, energy_config(conductance=0.2))
    sim.set_state("energy", [4.0, 3.0, 1.0])
    sim.set_state("alive", [1, 0, 1])
    sim.run_steps(5)
    assert sim.energy[1] == 3.0
    e0, e2 = 4.0, 1.0
    for _ in range(5):  # only 0 -> 2 is left: W_0 = 1
        e0, e2 = e0 * M, e2 * M
        f = 0.2 * (e0 - e2)
        e0, e2 = e0 - f, e2 + f
    np.testing.assert_allclose(sim.energy[[0, 2]], [e0, e2], rtol=1e-12)
    assert sim.ledger["total_after"][-1] == pytest.approx(e0 + e2, rel=1e-12)


def test_energy_below_spike_cost_min_blocks_spikes(isolated: Any) -> None:
    cfg = energy_config(spike_cost_min=0.05, spike_cost_frac=0.3, spike_cost_max=10.0, tau_decay=1e9)
    cfg["node"]["dynamic"].update(drive=50.0, t_ref=1.0)
    sim = sg.Simulation(isolated(2), cfg)
    sim.set_state("energy", [1.0, 0.049])
    sim.run_steps(100)
    counts = sim.spike_counts()
    assert counts.tolist() == [9, 0]  # 1, 0.7, ..., 0.7^8 = 0.058 >= 0.05 > 0.7^9
    assert sim.energy[0] < 0.05
    assert sim.v[0] > 1.0


def test_gated_edge_follows_the_source_energy() -> None:
    # Node 0 fires every 7 steps and pays 20% per spike; node 1 (threshold out of reach)
    # integrates what the gated edge lets through: 2 per spike while E_0 >= 0.5.
    net = chain(2, [(0, 1, 2.0, "gated")])
    cfg = energy_config(spike_cost_frac=0.2, spike_cost_max=10.0, conductance=0.0)
    cfg["edge"] = {"gate_energy": 0.5}
    sim = sg.Simulation(net, cfg)
    sim.set_state("drive", [3.0, 0.0])
    sim.set_state("threshold", [1.0, 1e9])
    a = math.exp(-1.0 / 10.0)
    v1, arrivals, energies = 0.0, [], []
    for _ in range(120):
        n_before = sim.spikes.num_spikes
        sim.run_steps(1)
        arrivals.append(float(sim.v[1]) - v1 * a)
        v1 = float(sim.v[1])
        energies.append(float(sim.energy[0]) if sim.spikes.num_spikes > n_before else None)
    spike_steps = [t for t, e in enumerate(energies) if e is not None and t < 119]
    assert len(spike_steps) >= 8
    for t in spike_steps:
        e_after = energies[t]
        assert e_after is not None
        if abs(e_after - 0.5) > 0.05:
            assert arrivals[t + 1] == pytest.approx(2.0 if e_after >= 0.5 else 0.0, abs=1e-9), t
    quiet = set(range(120)) - {t + 1 for t in spike_steps}
    assert all(abs(arrivals[t]) < 1e-9 for t in quiet)
    opened = sum(1 for t in spike_steps if arrivals[t + 1] > 1.0)
    assert 2 <= opened < len(spike_steps)


@pytest.mark.parametrize("precision", ["float32", "float64"])
def test_ledger_closes_on_a_random_network_with_everything_on(precision: str) -> None:
    n = 3000
    sim = sg.Simulation(random_network(n, 8, 1), all_features(precision, 1))
    sim.set_state("energy", np.random.default_rng(2).uniform(0.0, 5.0, n))
    sim.run_steps(200)
    led = sim.ledger
    assert all(led[c].shape == (200,) for c in LEDGER_COLUMNS)
    assert led["step"].tolist() == list(range(200))
    assert np.all(np.abs(led["error"]) <= 1e-4 * led["total_after"])
    assert np.all(np.abs(led["flow_in"] - led["flow_out"]) <= 1e-5 * led["flow_out"] + 1e-9)
    np.testing.assert_allclose(led["total_before"][1:], led["total_after"][:-1], rtol=1e-12)
    assert led["spike_cost"].sum() > 0 and led["flow_out"].sum() > 0
    assert sim.spikes.num_spikes > 5000
    assert float(sim.energy.astype(np.float64).sum()) == pytest.approx(led["total_after"][-1], rel=1e-9)
    assert sim.energy.min() >= 0.0 and sim.energy.max() <= 5.0
    assert np.any(sim.weights != sim.network.weights)  # learning ran


@pytest.mark.parametrize("precision", ["float32", "float64"])
def test_flow_conserves_energy_without_cost_and_metabolism(precision: str) -> None:
    n = 3000
    cfg = all_features(precision, 1, energy={"spike_cost_frac": 0.0, "tau_decay": 1e15})
    sim = sg.Simulation(random_network(n, 8, 3), cfg)
    sim.set_state("energy", np.random.default_rng(4).uniform(0.0, 2.5, n))
    total0 = float(sim.energy.astype(np.float64).sum())
    sim.run_steps(200)
    led = sim.ledger
    rel = 1e-12 if precision == "float64" else 1e-5
    assert np.all(led["spike_cost"] == 0.0)
    np.testing.assert_allclose(led["total_after"], led["total_before"], rtol=rel)
    assert np.all(np.abs(led["overflow"]) <= rel * led["total_before"])
    assert led["flow_out"].sum() > 1.0
    assert sim.spikes.num_spikes > 5000
    assert float(sim.energy.astype(np.float64).sum()) == pytest.approx(total0, rel=100 * rel)


@pytest.mark.parametrize(("precision", "rule"), [("float32", "eligibility"), ("float64", "stdp")])
def test_bit_identical_for_one_and_two_threads(precision: str, rule: str) -> None:
    # Large enough that every phase uses both threads (the engine keeps small loops on
    # one): more than 2 x 8192 nodes for the neuron update, several ledger blocks of 4096.
    n = 16500
    net = random_network(n, 3, 5)
    energies = np.random.default_rng(6).uniform(0.0, 5.0, n)
    out = []
    for threads in (1, 2):
        sim = sg.Simulation(net, all_features(precision, threads, learning={"rule": rule}))
        assert sim.threads == threads
        sim.set_state("energy", energies)
        sim.run_steps(15)
        sim.set_neuromodulator(0.5)
        sim.run_steps(15)
        state = {
            name: sim.state(name).tobytes() for name in ("v", "energy", "threshold", "rate", "trace_pre")
        }
        out.append(
            (
                sim.spikes.steps.tobytes(),
                sim.spikes.nodes.tobytes(),
                state,
                sim.weights.tobytes(),
                {k: v.tobytes() for k, v in sim.ledger.items()},
                sim.homeostasis["gains"].tobytes(),
                sim.spikes.num_spikes,
            )
        )
    assert out[0][6] > 10000
    assert out[0][:6] == out[1][:6]


def test_record_ledger_false_keeps_no_history() -> None:
    sim = sg.Simulation(chain(2, [(0, 1, 1.0, "excitatory")]), energy_config(record_ledger=False))
    sim.set_state("energy", [4.0, 1.0])
    sim.run_steps(10)
    led = sim.ledger
    assert set(led) == LEDGER_COLUMNS
    assert all(led[c].size == 0 for c in led)
    assert sim.energy[1] > 1.0  # the energy phase ran all the same
    rec = sg.Simulation(chain(2, [(0, 1, 1.0, "excitatory")]), energy_config())
    rec.run_steps(10)
    assert rec.ledger["step"].size == 10
    rec.clear_ledger()
    assert rec.ledger["step"].size == 0


def test_energy_phase_only_when_enabled(isolated: Any) -> None:
    off = sg.Simulation(isolated(3), {"sim": {"threads": 1}, "node": {"dynamic": {"drive": 50.0}}})
    off.set_state("energy", [4.0, 1.0, 0.5])
    off.run_steps(20)
    assert off.spikes.num_spikes > 0
    assert "energy" not in off.perf()["phase_seconds"]
    assert "energy" not in off.service_names()
    assert off.energy.tolist() == [4.0, 1.0, 0.5]  # no cost, no metabolism
    assert off.ledger["step"].size == 0
    on = sg.Simulation(isolated(3), energy_config())
    on.run_steps(2)
    assert "energy" in on.perf()["phase_seconds"]
    assert "energy" in on.service_names()


def test_energy_view_stays_live_across_flow_steps() -> None:
    sim = sg.Simulation(chain(2, [(0, 1, 1.0, "excitatory")]), energy_config(conductance=0.1))
    sim.set_state("energy", [4.0, 1.0])
    view = sim.energy
    sim.run_steps(1)
    assert np.shares_memory(view, sim.energy)
    assert view.tolist() == sim.energy.tolist()
    view[0] = 2.0  # writes through an old view reach the engine
    sim.run_steps(1)
    assert 1.5 < sim.energy[0] < 2.0


@pytest.mark.parametrize("plastic", [True, False])
def test_weights_written_through_the_view_are_used_by_the_flow(plastic: bool) -> None:
    net = sg.Network.from_arrays(3, [0, 0], [1, 2], [1.0, 1.0], plastic=[plastic, plastic])
    sim = sg.Simulation(net, energy_config(conductance=0.1))
    sim.set_state("energy", [4.0, 1.0, 1.0])
    sim.set_weights([3.0, 1.0])  # 0 -> 1 now carries 3/4 of node 0's outflow
    sim.run_steps(1)
    f = 0.1 * 3.0 * M
    led = sim.ledger
    assert led["flow_in"][0] == pytest.approx(led["flow_out"][0], rel=1e-12)
    assert abs(led["error"][0]) <= 1e-12
    np.testing.assert_allclose(sim.energy, [4 * M - f, M + 0.75 * f, M + 0.25 * f], rtol=1e-12)
