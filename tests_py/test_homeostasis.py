"""Homeostasis (docs/model.md step 6) through the Python API: the rate estimate, threshold
adaptation of dynamic nodes, the criticality control of the synaptic gain on the
multistep-regression branching ratio of super- and sub-critical networks, and
``sim.homeostasis``."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import spikegraph as sg

HOMEOSTASIS_KEYS = {"synaptic_gain", "branching_ratio", "branching_amplitude", "branching_quality", "updates",
                    "steps", "branching", "amplitudes", "qualities", "gains", "activity"}


def config(**homeostasis: Any) -> dict[str, Any]:
    return {
        "sim": {"precision": "float64", "threads": 1, "backend": "cpu"},
        "homeostasis": {"enabled": True, **homeostasis},
    }


def branching_sim(
    n: int, k: int, delay: int, interval: int, gain_step: float, seeds: int, net_seed: int = 1
) -> sg.Simulation:
    """Integrators (no leak) with k out-edges of weight 0.1 each: each spike hands k * 0.1
    * gain of potential on and costs a threshold of 1, so the network branches with ratio
    about 0.1 k g. Potentials start uniform in [0, 1); `seeds` nodes are kicked at step 0."""
    rng = np.random.default_rng(net_seed)
    net = sg.Network.from_arrays(
        n,
        np.repeat(np.arange(n), k),
        rng.integers(0, n, n * k),
        np.full(n * k, 0.1),
        delays=np.full(n * k, delay),
        node_types=np.full(n, "integrator"),
    )
    cfg = config(interval=interval, gain_step=gain_step, bin=float(delay), max_lag=4, eta=0.0)
    cfg["sim"]["precision"] = "float32"
    cfg["node"] = {"integrator": {"t_ref": 1.0, "energy_coupling": 0.0}}
    cfg["init"] = {"v_min": 0.0, "v_max": 1.0}
    sim = sg.Simulation(net, cfg)
    v = sim.v.copy()
    v[:seeds] = 1.5
    sim.set_state("v", v)
    return sim


def check_history(h: dict[str, Any], steps: int, interval: int, gain_step: float,
                  target: float = 0.98) -> np.ndarray:
    """History lengths, update steps, the gain rule (one step toward the target at each
    update with a finite estimate, a fit of quality >= 0.5 and a positive amplitude) and
    its bounds; returns the finite estimates."""
    updates = steps // interval
    assert set(h) >= HOMEOSTASIS_KEYS
    assert h["updates"] == updates
    assert h["steps"].tolist() == [interval * (w + 1) - 1 for w in range(updates)]
    assert h["branching"].shape == h["gains"].shape == h["qualities"].shape == (updates,)
    g = 1.0
    for m, b, q, gain in zip(h["branching"], h["amplitudes"], h["qualities"], h["gains"]):
        if np.isfinite(m) and q >= 0.5 and b > 0:
            factor = 1 - gain_step if m > target else 1 + gain_step if m < target else 1.0
            g = min(10.0, max(0.1, g * factor))
        assert gain == pytest.approx(g, rel=1e-12)
    assert np.all((h["gains"] >= 0.1) & (h["gains"] <= 10.0))
    assert h["synaptic_gain"] == h["gains"][-1]
    valid = h["branching"][np.isfinite(h["branching"])]
    if valid.size:
        assert h["branching_ratio"] == h["branching"][-1]
    return np.asarray(valid)


def test_rate_estimate_converges_to_the_firing_rate(isolated: Any) -> None:
    cfg = config(tau_rate=50.0, eta=0.0)
    cfg["sim"]["dt"] = 0.5
    cfg["node"] = {"oscillator": {"period": 10.0}, "dynamic": {"energy_coupling": 0.0}}
    sim = sg.Simulation(isolated(3, ["oscillator", "dynamic", "dynamic"]), cfg)
    sim.set_state("drive", [0.0, 3.0, 0.0])
    sim.run_steps(1900)
    node1 = sim.spikes.steps[sim.spikes.nodes == 1]
    period = int(node1[-1] - node1[-2])
    assert np.all(np.diff(node1[-10:]) == period)
    periods = {0: 20, 1: period}
    samples: dict[int, list[float]] = {0: [], 1: []}
    for _ in range(max(periods.values()) * 2):
        sim.run_steps(1)
        rate = sim.state("rate")
        for node in (0, 1):
            samples[node].append(float(rate[node]))
    for node, p in periods.items():
        assert np.mean(samples[node][-p:]) == pytest.approx(1000.0 / (p * 0.5), rel=1e-6)
    assert sim.state("rate")[2] == 0.0


def test_thresholds_of_input_driven_nodes_adapt_within_bounds(isolated: Any) -> None:
    cfg = config(eta=0.05, interval=10, tau_rate=100.0)
    cfg["node"] = {
        "dynamic": {"threshold": 2.0, "target_rate": 5.0},
        "workspace": {"target_rate": 1e5},  # far above what it reaches: its threshold falls
        "oscillator": {"period": 5.0},
        "integrator": {"poisson_rate": 500.0, "poisson_weight": 0.5},
    }
    types = ["dynamic", "dynamic", "workspace", "relay", "highway", "integrator", "oscillator"]
    sim = sg.Simulation(isolated(len(types), types), cfg)
    sim.set_state("drive", [1e4, 0.0, 1e4, 1e4, 1e4, 0.0, 0.0])
    initial = [2.0, 2.0, 1.0, 1.0, 1.0, 1.0, 1.0]
    assert sim.threshold.tolist() == initial
    sim.run_steps(10)
    rate0 = float(sim.state("rate")[0])
    assert sim.threshold[0] == pytest.approx(2.0 + 0.05 * (rate0 - 5.0) / 5.0, rel=1e-12)
    assert sim.threshold[1] == pytest.approx(2.0 - 0.05, rel=1e-12)
    history = [sim.threshold.copy()]
    for _ in range(50):
        sim.run_steps(10)
        history.append(sim.threshold.copy())
    th = np.array(history)
    assert np.all(np.diff(th[:, 0]) >= 0) and np.all(np.diff(th[:, 1]) <= 0)
    assert th[-1, 0] == 20.0 and th[-1, 1] == pytest.approx(0.2, rel=1e-15)
    # Every input-driven type adapts toward its own target; the oscillator does not.
    assert np.all(np.diff(th[:, 2]) <= 0) and th[-1, 2] < 1.0  # workspace, below its target
    assert np.all(th[-1, 3:5] > 1.0)  # relay and highway, above theirs
    assert np.all(th[:, 6] == 1.0)
    assert sim.state("rate")[6] > 50.0  # the oscillator fired well above the target


def test_super_critical_network_turns_its_gain_down() -> None:
    # About 1.1 spikes per spike at gain 1, one generation per bin (delay 5 = bin 5 ms).
    steps, interval = 1500, 5
    sim = branching_sim(20000, 11, 5, interval, 0.02, 50)
    sim.run_steps(steps)
    assert sim.spikes.steps[-1] >= steps - 10  # still active
    valid = check_history(sim.homeostasis, steps, interval, 0.02)
    assert valid.size >= 50
    assert valid[0] > 1.03
    h = sim.homeostasis
    assert h["gains"][:60].min() < 0.95
    assert abs(valid[-50:].mean() - 0.98) < 0.03


def test_sub_critical_network_turns_its_gain_up() -> None:
    steps, interval = 600, 6
    sim = branching_sim(8000, 9, 3, interval, 0.05, 800, net_seed=2)
    sim.run_steps(steps)
    valid = check_history(sim.homeostasis, steps, interval, 0.05)
    assert valid.size >= 20
    assert valid[0] < 0.98
    assert sim.homeostasis["synaptic_gain"] > 1.1


def test_homeostasis_history_and_disabled(isolated: Any) -> None:
    sim = sg.Simulation(isolated(2), config(interval=7))
    sim.run_steps(50)  # no spikes at all: no estimate, the gain stays
    h = sim.homeostasis
    assert set(h) >= HOMEOSTASIS_KEYS
    assert h["updates"] == 7 and h["steps"].tolist() == [6, 13, 20, 27, 34, 41, 48]
    assert np.all(np.isnan(h["branching"])) and np.all(h["gains"] == 1.0)
    assert np.isnan(h["branching_ratio"]) and h["synaptic_gain"] == 1.0
    assert h["activity"].tolist() == [0.0] * 12  # 4-ms bins of the input-driven nodes' spikes
    assert "homeostasis" in sim.perf()["phase_seconds"]
    off = sg.Simulation(isolated(2), {"sim": {"threads": 1}, "node": {"dynamic": {"drive": 50.0}}})
    off.run_steps(50)
    assert off.spikes.num_spikes > 0
    h = off.homeostasis
    assert h["updates"] == 0 and h["gains"].size == 0 and h["synaptic_gain"] == 1.0
    assert "homeostasis" not in off.perf()["phase_seconds"]
    assert off.threshold.tolist() == [1.0, 1.0]
