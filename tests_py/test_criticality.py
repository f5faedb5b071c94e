"""Criticality measures: the branching ratio by multistep regression on branching
processes with a known m (fully observed and subsampled), neuronal avalanches, the
power-law fit on samples with a known exponent, and the criticality control of
homeostasis on a simulation."""

from __future__ import annotations

import numpy as np
import pytest
import spikegraph as sg
from spikegraph import analysis


def branching_process(m: float, rate: float, bins: int, seed: int) -> np.ndarray:
    """A_{t+1} ~ Poisson(m A_t + rate): each event causes Poisson(m) events in the next
    bin, plus Poisson(rate) immigrants (the external drive); stationary mean rate/(1-m)."""
    rng = np.random.default_rng(seed)
    a = np.empty(bins)
    x = rate / (1.0 - m)
    for _ in range(2000):  # settle into the stationary state
        x = rng.poisson(m * x + rate)
    for t in range(bins):
        x = rng.poisson(m * x + rate)
        a[t] = x
    return a


@pytest.mark.parametrize("m", [0.5, 0.9, 0.98])
@pytest.mark.parametrize("observed", [1.0, 0.05])
def test_multistep_regression_recovers_m(m: float, observed: float) -> None:
    a = branching_process(m, rate=20.0, bins=200_000, seed=int(m * 100) + int(observed * 1000))
    if observed < 1.0:  # each event seen with this probability (a few of many neurons recorded)
        a = np.random.default_rng(7).binomial(a.astype(np.int64), observed).astype(np.float64)
    est = analysis.branching_ratio_of_activity(a, max_lag=10)
    assert abs(est["m"] - m) <= 0.02, est
    assert est["quality"] > 0.9
    if observed < 1.0:
        # The naive estimate (the lag-1 slope) is biased under subsampling; b absorbs it.
        assert est["slopes"][0] < m - 0.1
        assert est["amplitude"] < 0.9


def test_branching_ratio_from_a_spike_record_and_its_errors() -> None:
    a = branching_process(0.9, rate=10.0, bins=50_000, seed=3)
    # As a spike record: bins of 4 steps, every event one spike of node (event % 1000).
    steps = np.repeat(np.arange(a.size) * 4, a.astype(np.int64))
    nodes = np.arange(steps.size) % 1000
    est = analysis.branching_ratio(steps, nodes, dt_ms=1.0, bin_ms=4.0, max_lag=8, first_step=0,
                                   end_step=4 * a.size)
    assert est["bins"] == a.size
    assert abs(est["m"] - 0.9) <= 0.02
    direct = analysis.branching_ratio_of_activity(a, max_lag=8)
    assert est["m"] == direct["m"]
    # Too short or constant: NaN, not an error.
    assert np.isnan(analysis.branching_ratio_of_activity(np.ones(100))["m"])
    assert np.isnan(analysis.branching_ratio_of_activity(np.arange(5.0))["m"])
    with pytest.raises(sg.InputError, match="max_lag"):
        analysis.branching_ratio_of_activity(a, max_lag=0)
    with pytest.raises(sg.InputError, match="one length"):
        analysis.branching_ratio(steps, nodes[:-1])
    with pytest.raises(sg.InputError, match="integers"):
        analysis.branching_ratio(steps.astype(float), nodes)


def test_avalanches_are_runs_between_empty_bins() -> None:
    a = np.array([3, 0, 1, 2, 0, 0, 5, 0, 4, 4, 4, 0, 1])
    av = analysis.avalanches(a)
    # The runs touching either end (3 and 1) may be cut: left out.
    assert av["sizes"].tolist() == [3, 5, 12]
    assert av["durations"].tolist() == [2, 1, 3]
    assert analysis.avalanches(np.zeros(10))["sizes"].size == 0


def discrete_power_law(alpha: float, s_min: int, n: int, seed: int, cutoff: int = 2_000_000) -> np.ndarray:
    s = np.arange(s_min, cutoff, dtype=np.float64)
    p = s ** -alpha
    cdf = np.cumsum(p / p.sum())
    return (np.searchsorted(cdf, np.random.default_rng(seed).random(n)) + s_min).astype(np.int64)


@pytest.mark.parametrize("alpha", [2.0, 2.5])
def test_power_law_fit_recovers_the_exponent_and_its_start(alpha: float) -> None:
    tail = discrete_power_law(alpha, 8, 20_000, seed=int(alpha * 10))
    head = np.random.default_rng(1).integers(1, 8, 8_000)  # not a power law below 8
    fit = analysis.power_law_fit(np.concatenate([head, tail]))
    assert abs(fit["alpha"] - alpha) <= 0.05, fit
    assert 6 <= fit["s_min"] <= 12
    assert fit["ks"] < 0.02
    fixed = analysis.power_law_fit(tail, s_min=8)
    assert abs(fixed["alpha"] - alpha) <= 0.05 and fixed["n_tail"] == tail.size
    assert np.isnan(analysis.power_law_fit(np.array([1, 2, 3]))["alpha"])
    with pytest.raises(sg.InputError, match=">= 1"):
        analysis.power_law_fit(np.array([0, 1, 2]))


def poisson_config(**homeostasis: object) -> sg.Config:
    return sg.Config({
        "sim": {"dt": 1.0, "threads": 1},
        "node": {"dynamic": {"poisson_rate": 20.0, "poisson_weight": 2.0, "energy_coupling": 0.0,
                             "t_ref": 0.0}},
        "homeostasis": {"enabled": True, "eta": 0.0, **homeostasis},
    })


def test_unconnected_nodes_have_no_branching_and_the_gain_stays() -> None:
    # 2000 unconnected nodes driven by independent Poisson input: nothing propagates.
    # (The old ratio of consecutive window counts read 1.00 here and random-walked the gain.)
    n = 2000
    net = sg.Network.from_arrays(n, np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0))
    sim = sg.Simulation(net, poisson_config())
    sim.run(6000.0)
    h = sim.homeostasis
    slopes = analysis.branching_ratio(sim.spikes.steps, sim.spikes.nodes, bin_ms=4.0)["slopes"]
    assert np.nanmax(np.abs(slopes)) < 0.05
    assert h["branching_quality"] < 0.5
    assert np.all(h["gains"] == 1.0)
    metrics = sim.activity_metrics()
    assert metrics["branching_source"] == "homeostasis"
    assert metrics["branching_ratio"] == h["branching_ratio"]


def test_criticality_control_follows_the_estimate() -> None:
    # A balanced network below the target (m about 0.55 per 4-ms bin): each update with a
    # good fit raises the gain by one step, and the history holds what the rule used.
    cfg = sg.Config({
        "sim": {"dt": 1.0, "threads": 1, "seed": 5},
        "network": {"kind": "brunel", "n": 2000, "k_in": 50, "j": 1.2, "g": 3.0, "delay": 2.0},
        "node": {"dynamic": {"poisson_rate": 400.0, "poisson_weight": 2.0, "energy_coupling": 0.0,
                             "tau_m": 20.0, "threshold": 20.0, "v_reset": 10.0, "t_ref": 2.0}},
        "homeostasis": {"enabled": True, "eta": 0.0, "gain_step": 0.02, "window": 1000.0},
    })
    sim = sg.Simulation(sg.networks.from_config(cfg), cfg)
    sim.run(600.0)
    h = sim.homeostasis
    assert h["amplitudes"].shape == h["qualities"].shape == h["gains"].shape == h["steps"].shape
    acts = np.isfinite(h["branching"]) & (h["qualities"] >= 0.5) & (h["amplitudes"] > 0)
    assert acts.sum() > 20
    assert np.all(h["branching"][acts] < 0.98)
    expected = 1.02 ** np.cumsum(acts)
    np.testing.assert_allclose(h["gains"], np.minimum(expected, 10.0), rtol=1e-12)
    assert h["activity"].size == 150  # the window's 4-ms bins so far
