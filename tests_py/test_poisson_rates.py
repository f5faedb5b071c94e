"""Per-node Poisson input rates (state variable poisson_rate): the counts they give, the
type's configured rate as every node's default, and how rates change (set_state,
update_config, network initial values, checkpoints), on any thread count."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import spikegraph as sg

N = 4000
# Unconnected nodes that spike at a step exactly when Poisson input arrives: one input
# spike (weight 1) crosses the threshold 0.5 from rest, and there is no refractory time.
CONFIG = {"sim": {"dt": 0.1, "threads": 1},
          "node": {"dynamic": {"v_rest": 0.0, "v_reset": 0.0, "threshold": 0.5, "tau_m": 0.1, "t_ref": 0.0,
                               "energy_coupling": 0.0, "poisson_weight": 1.0}},
          "init": {"v_min": 0.0, "v_max": 0.0}}


def isolated() -> sg.Network:
    return sg.Network.from_arrays(N, [], [], [])


def with_threads(threads: int) -> dict:
    return {**CONFIG, "sim": {**CONFIG["sim"], "threads": threads}}


def test_each_node_fires_with_its_own_rate() -> None:
    # Four rates, interleaved node by node and then in one run: both code paths.
    rates = np.where(np.arange(N) < 2000, np.array([0.0, 500.0, 2000.0, 8000.0])[np.arange(N) % 4], 4000.0)
    sim = sg.Simulation(isolated(), CONFIG)
    sim.set_state("poisson_rate", rates)
    np.testing.assert_array_equal(sim.state("poisson_rate"), rates)
    steps = 2000
    sim.run_steps(steps)
    counts = sim.spike_counts()
    for rate in np.unique(rates):
        p = 1.0 - np.exp(-rate * 1e-4)  # P(at least one input spike in a step)
        mine = counts[rates == rate]
        trials = mine.size * steps
        assert abs(mine.sum() / trials - p) <= 4 * np.sqrt(p * (1 - p) / trials) + 1e-12, rate


def test_the_types_rate_is_every_nodes_default() -> None:
    by_type = sg.Simulation(isolated(), {**CONFIG, "node": {"dynamic": {**CONFIG["node"]["dynamic"],
                                                                         "poisson_rate": 3000.0}}})
    per_node = sg.Simulation(isolated(), CONFIG)
    assert np.all(by_type.state("poisson_rate") == 3000.0) and np.all(per_node.state("poisson_rate") == 0.0)
    per_node.set_state("poisson_rate", np.full(N, 3000.0))
    for sim in (by_type, per_node):
        sim.run_steps(200)
    np.testing.assert_array_equal(by_type.spikes.nodes, per_node.spikes.nodes)
    # Changing the type's rate sets every node of the type to it.
    per_node.set_state("poisson_rate", np.linspace(0.0, 5000.0, N))
    per_node.update_config({"node.dynamic.poisson_rate": 100.0})
    assert np.all(per_node.state("poisson_rate") == 100.0)


def test_mixed_rates_are_the_same_on_any_thread_count_and_resume_from_a_checkpoint(tmp_path: Path) -> None:
    rates = (np.arange(N) % 7) * 900.0
    runs = []
    for threads in (1, 2, 3):
        sim = sg.Simulation(isolated(), with_threads(threads))
        sim.set_state("poisson_rate", rates)
        sim.run_steps(300)
        runs.append(sim.spikes)
    for s in runs[1:]:
        np.testing.assert_array_equal(s.steps, runs[0].steps)
        np.testing.assert_array_equal(s.nodes, runs[0].nodes)
    half = sg.Simulation(isolated(), CONFIG)
    half.set_state("poisson_rate", rates)
    half.run_steps(150)
    half.save(tmp_path / "half.sgckpt")
    resumed = sg.Simulation.load(tmp_path / "half.sgckpt")
    np.testing.assert_array_equal(resumed.state("poisson_rate"), rates)
    resumed.run_steps(150)
    np.testing.assert_array_equal(resumed.spikes.nodes, runs[0].nodes)


def test_network_initial_values_set_the_rates() -> None:
    b = sg.NetworkBuilder(seed=2, dt=0.1)
    b.population("slow", 100, poisson_rate=100.0, v=sg.builder.uniform(0.0, 0.4))
    b.population("fast", 50, poisson_rate=9000.0)
    b.population("given", 3, drive=[0.1, 0.2, 0.3])
    net = b.build()
    assert set(net.initial_state) == {"poisson_rate", "v", "drive"}
    sim = sg.Simulation(net, CONFIG)
    r = sim.state("poisson_rate")
    assert np.all(r[:100] == 100.0) and np.all(r[100:150] == 9000.0) and np.all(r[150:] == 0.0)
    v = sim.state("v")
    assert np.all((v[:100] >= 0.0) & (v[:100] < 0.4)) and np.all(v[100:] == 0.0)
    np.testing.assert_allclose(sim.state("drive")[150:], [0.1, 0.2, 0.3])
    with pytest.raises(sg.GraphError, match="1-D array"):
        b.population("bad", 2, v=[[1.0, 2.0]])
    with pytest.raises(sg.GraphError, match="unknown variable 'voltage'"):
        b.initial("slow", "voltage", 1.0)


def test_bad_rates_are_refused_and_change_nothing() -> None:
    sim = sg.Simulation(isolated(), CONFIG)
    with pytest.raises(sg.InputError, match="is negative"):
        sim.set_state("poisson_rate", np.full(N, -1.0))
    with pytest.raises(sg.InputError, match="too large"):
        sim.set_state("poisson_rate", np.full(N, 1e8))
    with pytest.raises(sg.InputError, match="distinct rates"):
        big = sg.Simulation(sg.Network.from_arrays(70000, [], [], []), CONFIG)
        big.set_state("poisson_rate", np.arange(70000, dtype=np.float64))
    assert np.all(sim.state("poisson_rate") == 0.0)
    with pytest.raises(ValueError, match="read-only"):
        sim.state("poisson_rate")[0] = 5.0
