"""Learning (docs/model.md step 5) through the Python API: pair STDP at chosen lags, energy
modulation, simultaneous spikes, plastic edges only, weight bounds, the eligibility rule
with ``sim.set_neuromodulator``, ``sim.edge_state`` / ``sim.weights``, and the traces."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
import spikegraph as sg

DT, TAU_PLUS, TAU_MINUS, A_PLUS, A_MINUS = 0.5, 20.0, 30.0, 0.02, 0.015
W0 = 0.5


def learning_config(**learning: Any) -> dict[str, Any]:
    """float64, dt 0.5 ms, distinct constants for the two sides, refractory 1 ms."""
    return {
        "sim": {"precision": "float64", "dt": DT, "threads": 1, "backend": "cpu"},
        "learning": {
            "enabled": True,
            "tau_plus": TAU_PLUS,
            "tau_minus": TAU_MINUS,
            "a_plus": A_PLUS,
            "a_minus": A_MINUS,
            "energy_modulation": False,
            **learning,
        },
        "node": {"dynamic": {"energy_coupling": 0.0, "t_ref": 1.0}},
    }


def pair_network(delay: int = 5, plastic: bool = True) -> sg.Network:
    # weight below threshold: the pair is driven by set_state only
    return sg.Network.from_arrays(2, [0], [1], [W0], delays=[delay], plastic=[plastic])


def force(sim: sg.Simulation, *nodes: int) -> None:
    v = sim.v.copy()
    v[list(nodes)] = 10.0
    sim.set_state("v", v)


def pair_change(lag: int, energies: Any = None, **learning: Any) -> float:
    """Weight change of 0 -> 1 when node 1 fires `lag` steps after node 0 (before, if < 0)."""
    sim = sg.Simulation(pair_network(), learning_config(**learning))
    if energies is not None:
        sim.set_state("energy", energies)
    first, second = (0, 1) if lag > 0 else (1, 0)
    sim.run_steps(7)
    force(sim, first)
    sim.run_steps(abs(lag))
    force(sim, second)
    sim.run_steps(4)
    assert sim.spikes.steps.tolist() == [7, 7 + abs(lag)]
    assert sim.spikes.nodes.tolist() == [first, second]
    return float(sim.weights[0]) - float(np.float32(W0))


@pytest.mark.parametrize("d", [1, 3, 10, 30])
def test_pre_before_post_potentiates(d: int) -> None:
    assert pair_change(d) == pytest.approx(A_PLUS * math.exp(-d * DT / TAU_PLUS), abs=2e-7)


@pytest.mark.parametrize("d", [1, 3, 10, 30])
def test_post_before_pre_depresses(d: int) -> None:
    assert pair_change(-d) == pytest.approx(-A_MINUS * math.exp(-d * DT / TAU_MINUS), abs=2e-7)


@pytest.mark.parametrize("energies", [(1.0, 2.0), (5.0, 5.0), (4.5, 5.0), (0.2, 0.3)])
def test_energy_modulation(energies: tuple[float, float]) -> None:
    m = 0.3 + 1.2 * min(sum(energies) / (2 * 5.0), 1.0)
    assert pair_change(3, energies, energy_modulation=True) == pytest.approx(
        A_PLUS * math.exp(-3 * DT / TAU_PLUS) * m, abs=2e-7
    )
    assert pair_change(-10, energies, energy_modulation=True) == pytest.approx(
        -A_MINUS * math.exp(-10 * DT / TAU_MINUS) * m, abs=2e-7
    )
    # off: the energies do not matter
    assert pair_change(3, energies) == pytest.approx(A_PLUS * math.exp(-3 * DT / TAU_PLUS), abs=2e-7)


def test_simultaneous_spikes_change_nothing() -> None:
    net = sg.Network.from_arrays(2, [0, 1], [1, 0], [W0, W0], plastic=[1, 1])
    sim = sg.Simulation(net, learning_config())
    sim.run_steps(3)
    force(sim, 0, 1)
    sim.run_steps(1)
    assert sim.spikes.num_spikes == 2
    assert sim.weights.tolist() == [W0, W0]
    assert sim.state("trace_pre").tolist() == [1.0, 1.0]
    assert sim.state("trace_post").tolist() == [1.0, 1.0]


def test_only_plastic_edges_change() -> None:
    net = sg.networks.brunel(2000, k_in=40, j=0.1, g=5.0, dt_ms=0.1, seed=2, plastic_exc_exc=True)
    plastic = net.plastic.astype(bool)
    assert plastic.any() and not plastic.all()
    cfg = {
        "sim": {"dt": 0.1, "threads": 1, "backend": "cpu"},
        "learning": {"enabled": True, "a_plus": 0.05, "a_minus": 0.05, "w_min": 0.05, "w_max": 0.15},
        "node": {
            "dynamic": {
                "tau_m": 20.0,
                "threshold": 20.0,
                "v_reset": 10.0,
                "t_ref": 2.0,
                "energy_coupling": 0.0,
                "poisson_rate": 10000.0,
                "poisson_weight": 0.1,
            }
        },
        "init": {"v_min": 0.0, "v_max": 20.0},
    }
    sim = sg.Simulation(net, cfg)
    before = sim.weights  # a copy
    assert not before.flags.writeable
    sim.run_steps(1000)
    assert sim.spikes.num_spikes > 1000
    after = sim.weights
    assert np.array_equal(after[~plastic], before[~plastic])
    assert np.array_equal(sim.network.weights, before)  # the network itself is untouched
    changed = after[plastic] != before[plastic]
    assert changed.mean() > 0.5
    assert after[plastic].min() >= np.float32(0.05) and after[plastic].max() <= np.float32(0.15)
    assert np.any(after[plastic] == np.float32(0.15)) and np.any(after[plastic] == np.float32(0.05))


def test_weight_bounds_on_a_single_pair() -> None:
    assert pair_change(1, w_max=0.51) + W0 == pytest.approx(0.51, abs=1e-7)
    assert pair_change(-1, w_min=0.495) + W0 == pytest.approx(0.495, abs=1e-7)


def test_eligibility_rule_and_neuromodulator() -> None:
    tau_e, rate, decay = 50.0, 0.5, math.exp(-DT / 50.0)
    net = sg.Network.from_arrays(3, [0, 0], [1, 2], [W0, W0], plastic=[1, 0])
    sim = sg.Simulation(net, learning_config(rule="eligibility", tau_eligibility=tau_e, rate=rate))
    assert "eligibility" in sim.edge_state_names()
    elig = sim.edge_state("eligibility")
    assert elig.dtype == np.float32 and sim.edge_state("eligibility").shape == (2,)
    assert sim.neuromodulator == 0.0
    sim.run_steps(2)
    force(sim, 0)
    sim.run_steps(3)
    force(sim, 1)
    sim.run_steps(1)
    delta = A_PLUS * math.exp(-3 * DT / TAU_PLUS)
    assert sim.edge_state("eligibility")[0] == pytest.approx(delta, rel=1e-6)
    assert sim.edge_state("eligibility")[1] == 0.0
    assert sim.weights.tolist() == [W0, W0]
    sim.run_steps(10)  # decays, the weight stays while the signal is 0
    assert sim.edge_state("eligibility")[0] == pytest.approx(delta * decay**10, rel=1e-5)
    assert sim.weights.tolist() == [W0, W0]
    sim.set_neuromodulator(2.0)
    assert sim.neuromodulator == 2.0
    w = W0
    for k in range(11, 15):
        sim.run_steps(1)
        w += rate * 2.0 * delta * decay**k
        assert sim.weights[0] == pytest.approx(w, rel=1e-6)
    assert sim.weights[1] == W0
    sim.set_neuromodulator(0)
    held = float(sim.weights[0])
    sim.run_steps(5)
    assert sim.weights[0] == held
    sim.set_neuromodulator(np.float64(1e6))
    sim.run_steps(1)
    assert sim.weights[0] == 1.0  # learning.w_max


def test_eligibility_needs_plastic_edges() -> None:
    net = sg.Network.from_arrays(2, [0], [1], [W0])
    sim = sg.Simulation(net, learning_config(rule="eligibility"))
    assert sim.edge_state_names() == ["weight"]
    with pytest.raises(sg.InputError, match="eligibility"):
        sim.edge_state("eligibility")


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_set_neuromodulator_rejects_non_finite(bad: float) -> None:
    sim = sg.Simulation(pair_network(), learning_config(rule="eligibility"))
    sim.set_neuromodulator(0.25)
    with pytest.raises(sg.InputError, match="finite"):
        sim.set_neuromodulator(bad)
    assert sim.neuromodulator == 0.25


@pytest.mark.parametrize("bad", ["1", None, True, [1.0]])
def test_set_neuromodulator_rejects_non_numbers(bad: Any) -> None:
    sim = sg.Simulation(pair_network(), learning_config(rule="eligibility"))
    with pytest.raises(sg.InputError):
        sim.set_neuromodulator(bad)
    assert sim.neuromodulator == 0.0


def test_traces_decay_and_jump(isolated: Any) -> None:
    sim = sg.Simulation(isolated(2), learning_config())
    sim.run_steps(2)
    force(sim, 0)
    sim.run_steps(1)
    assert sim.state("trace_pre").tolist() == [1.0, 0.0]
    assert sim.state("trace_post").tolist() == [1.0, 0.0]
    sim.run_steps(9)
    assert sim.state("trace_pre")[0] == pytest.approx(math.exp(-9 * DT / TAU_PLUS), rel=1e-13)
    assert sim.state("trace_post")[0] == pytest.approx(math.exp(-9 * DT / TAU_MINUS), rel=1e-13)
    force(sim, 0)
    sim.run_steps(1)
    assert sim.state("trace_pre")[0] == pytest.approx(math.exp(-10 * DT / TAU_PLUS) + 1, rel=1e-13)
    assert sim.state("trace_post")[0] == pytest.approx(math.exp(-10 * DT / TAU_MINUS) + 1, rel=1e-13)


def test_learning_disabled_keeps_weights_and_traces() -> None:
    cfg = learning_config()
    cfg["learning"]["enabled"] = False
    sim = sg.Simulation(pair_network(delay=1), cfg)
    force(sim, 0)
    sim.run_steps(2)
    force(sim, 1)
    sim.run_steps(3)
    assert sim.spikes.num_spikes == 2
    assert sim.weights.tolist() == [W0]
    assert sim.state("trace_pre").tolist() == [0.0, 0.0]
    assert "learning" not in sim.perf()["phase_seconds"]
    assert "learning" not in sim.service_names()


def test_weights_view_of_a_non_plastic_network_is_private() -> None:
    net = sg.Network.from_arrays(2, [0], [1], [W0])
    a = sg.Simulation(net, learning_config())
    b = sg.Simulation(net, learning_config())
    try:
        a.weights[0] = 7.0
    except ValueError:  # a read-only view would be fine too
        pass
    assert net.weights.tolist() == [W0]
    assert b.weights.tolist() == [W0]
