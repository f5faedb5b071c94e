"""Simulation: exact LIF integration, delivery, determinism, runs, state, monitors, I/O."""

from __future__ import annotations

import gc
import math
import os
import signal
import struct
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import spikegraph as sg

SimFactory = Callable[..., sg.Simulation]
ConfigFactory = Callable[..., dict[str, Any]]
NetFactory = Callable[..., sg.Network]

TAU_STEPS = 200.0  # tau_m 20 ms / dt 0.1 ms
DECAY = math.exp(-1.0 / TAU_STEPS)
T_REF_STEPS = 20  # 2 ms / 0.1 ms
STATE_DTYPES = {
    "threshold": None,  # the precision's float type
    "v": None,
    "drive": None,
    "energy": None,
    "refractory": np.uint16,
    "last_spike": np.int32,
    "alive": np.uint8,
    "poisson_rate": None,
    "phase": np.int32,
    "trace_pre": None,
    "trace_post": None,
    "rate": None,
}


def with_backend(cfg: dict[str, Any], backend: str) -> dict[str, Any]:
    cfg["sim"]["backend"] = backend
    return cfg


def monitor_all(cfg: dict[str, Any], nodes: list[int], variables: tuple[str, ...] = ("v",)) -> dict[str, Any]:
    cfg["monitor"] = {"variables": list(variables), "nodes": nodes, "interval": cfg["sim"]["dt"]}
    return cfg


def snapshot(sim: sg.Simulation) -> dict[str, np.ndarray]:
    return {name: sim.state(name).copy() for name in sim.state_names()}


def chain(delays: list[int], weight: float = 5.0) -> sg.Network:
    """Node 0 projects to node i + 1 with delays[i]."""
    m = len(delays)
    return sg.Network.from_arrays(m + 1, [0] * m, list(range(1, m + 1)), [weight] * m, delays=delays)


# ---------------------------------------------------------------- exact integration


@pytest.mark.parametrize(("precision", "atol"), [("float64", 1e-12), ("float32", 2e-4)])
def test_free_membrane_matches_closed_form(
    backend: str, lif: ConfigFactory, isolated: NetFactory, precision: str, atol: float
) -> None:
    v_rest, v0, resistance, drive = -2.0, 3.0, 1.5, 10.0  # R * drive = 15: settles at 13 < threshold
    cfg = monitor_all(
        with_backend(lif(precision, v_rest=v_rest, resistance=resistance, drive=drive), backend), [0]
    )
    sim = sg.Simulation(isolated(1), cfg)
    assert sim.drive[0] == drive
    sim.set_state("v", v0)
    steps = 600
    sim.run_steps(steps)
    assert sim.spikes.num_spikes == 0
    k = np.arange(1, steps + 1, dtype=np.float64)
    expected = v_rest + (v0 - v_rest) * DECAY**k + resistance * drive * (1.0 - DECAY**k)
    got = sim.monitor["values"]["v"][:, 0]
    assert sim.monitor["steps"].tolist() == list(range(steps))
    np.testing.assert_allclose(got, expected, rtol=0, atol=atol)
    assert abs(float(sim.v[0]) - expected[-1]) <= atol


def test_spike_times_match_analytic_prediction(
    backend: str, lif: ConfigFactory, isolated: NetFactory
) -> None:
    drive, threshold, v_reset = 25.0, 20.0, 10.0
    sim = sg.Simulation(isolated(1), with_backend(lif("float64", drive=drive), backend))
    # Steps of integration from v to the threshold: a^k <= (RI - theta) / (RI - v).
    first = TAU_STEPS * math.log(drive / (drive - threshold))  # from v = 0
    again = TAU_STEPS * math.log((drive - v_reset) / (drive - threshold))  # from v_reset
    for x in (first, again):
        assert abs(x - round(x)) > 1e-3  # not at the edge of a step: the prediction is robust
    first_step = math.ceil(first) - 1  # step index of the k-th integration step is k - 1
    isi = T_REF_STEPS + math.ceil(again)
    expected = [first_step + i * isi for i in range(5)]
    assert expected[:2] == [321, 561]
    sim.run_steps(expected[-1] + 10)
    spikes = sim.spikes
    assert spikes.steps.tolist() == expected
    assert spikes.nodes.tolist() == [0] * 5
    assert sim.state("last_spike")[0] == expected[-1]


def test_energy_coupling_shortens_tau(lif: ConfigFactory, isolated: NetFactory) -> None:
    # tau_eff = tau_m (1 - c + c E / cap): c = 0.5, E = 2.5, cap = 5 -> 0.75 tau_m.
    sim = sg.Simulation(isolated(1), lif("float64", energy_coupling=0.5, drive=0.5))
    sim.set_state("energy", 2.5)
    sim.set_state("v", 3.0)
    sim.run_steps(50)
    a = math.exp(-1.0 / (0.75 * TAU_STEPS))
    assert float(sim.v[0]) == pytest.approx(3.0 * a**50 + 0.5 * (1 - a**50), abs=1e-12)


def test_integrator_has_no_leak_and_integrates_its_drive(lif: ConfigFactory, isolated: NetFactory) -> None:
    cfg = lif("float64")
    cfg["node"]["integrator"] = {"threshold": 100.0, "drive": 0.0}
    sim = sg.Simulation(isolated(1, node_types=["integrator"]), cfg)
    sim.set_state("v", 7.0)
    sim.run_steps(100)
    assert float(sim.v[0]) == 7.0  # a = 1: no leak
    sim.set_state("drive", 3.0)
    sim.run_steps(10)  # R drive dt / tau_m per step
    r, tau, dt = cfg["node"]["integrator"].get("resistance", 1.0), 10.0, sim.dt
    assert float(sim.v[0]) == pytest.approx(7.0 + 10 * r * 3.0 * dt / tau, rel=1e-12)


# ---------------------------------------------------------------- delivery


@pytest.mark.parametrize("delay", [1, 2, 7, 12])
def test_delivery_delay_is_exact(backend: str, lif: ConfigFactory, delay: int) -> None:
    delays = [1, delay, 12]
    net = chain(delays)
    cfg = monitor_all(with_backend(lif("float64"), backend), [1, 2, 3])
    sim = sg.Simulation(net, cfg)
    sim.set_state("v", [30.0, 0.0, 0.0, 0.0])  # above threshold: node 0 spikes at step 0
    sim.run_steps(30)
    assert sim.spikes.steps.tolist() == [0] and sim.spikes.nodes.tolist() == [0]
    v = sim.monitor["values"]["v"]
    for column, d in enumerate(delays):
        assert np.all(v[:d, column] == 0.0), d
        assert v[d, column] == 5.0, d  # exactly the weight, at step t + d
        expected_after = 5.0 * DECAY ** np.arange(30 - d)
        np.testing.assert_allclose(v[d:, column], expected_after, rtol=1e-14)


def test_ring_buffer_over_many_wraps(backend: str) -> None:
    # An oscillator (period 3 steps) drives an integrator through three edges with different
    # delays; the integrator (no leak) counts every arrival exactly.
    delays, weights = [1, 4, 7], [1.0, 2.0, 4.0]
    net = sg.Network.from_arrays(
        2, [0, 0, 0], [1, 1, 1], weights, delays=delays, node_types=["oscillator", "integrator"]
    )
    cfg = {
        "sim": {"dt": 0.1, "backend": backend, "threads": 1},
        "node": {"oscillator": {"period": 0.3}, "integrator": {"threshold": 1e9}},
        "monitor": {"variables": ["v"], "nodes": [1], "interval": 0.1},
    }
    sim = sg.Simulation(net, cfg)
    steps = 200
    sim.run_steps(steps)
    emitted = sim.spikes.steps[sim.spikes.nodes == 0]
    assert np.all(np.diff(emitted) == 3) and emitted[0] < 3
    k = np.arange(steps)
    expected = sum(w * np.searchsorted(emitted + d, k, side="right") for w, d in zip(weights, delays))
    assert np.array_equal(sim.monitor["values"]["v"][:, 0], expected)
    assert 1 not in sim.spikes.nodes


def test_refractory_discards_input(backend: str, lif: ConfigFactory) -> None:
    # 0 -> 1 and 0 -> 2, delay 5, weight 100; node 2 spikes at step 0 too, so it is refractory
    # (steps 1..20) when the input arrives at step 5, and node 1 is not.
    net = sg.Network.from_arrays(3, [0, 0], [1, 2], [100.0, 100.0], delays=[5, 5])
    cfg = monitor_all(with_backend(lif("float64"), backend), [1, 2], ("v", "refractory", "last_spike"))
    sim = sg.Simulation(net, cfg)
    sim.set_state("v", [30.0, 0.0, 30.0])
    sim.run_steps(40)
    spikes = list(zip(sim.spikes.steps.tolist(), sim.spikes.nodes.tolist()))
    assert spikes == [(0, 0), (0, 2), (5, 1)]
    values = sim.monitor["values"]
    v2, refractory2 = values["v"][:, 1], values["refractory"][:, 1]
    assert refractory2[: T_REF_STEPS + 1].tolist() == list(range(T_REF_STEPS, -1, -1))
    assert np.all(v2[: T_REF_STEPS + 1] == 10.0)  # held at v_reset, the input of step 5 is lost
    assert v2[T_REF_STEPS + 1] == pytest.approx(10.0 * DECAY, abs=1e-12)  # integrates again
    assert values["last_spike"][:, 1][0] == 0
    assert values["last_spike"][:, 0][5] == 5 and values["last_spike"][:, 0][4] == -1


def test_edge_kinds_and_relay_gain(lif: ConfigFactory) -> None:
    def arrivals(source_type: str, source_energy: float) -> list[float]:
        net = sg.Network.from_arrays(
            5,
            [0, 0, 0, 0],
            [1, 2, 3, 4],
            [2.0] * 4,
            kinds=["excitatory", "inhibitory", "modulatory", "gated"],
            node_types=[source_type, "dynamic", "dynamic", "dynamic", "dynamic"],
        )
        cfg = monitor_all(lif("float64"), [1, 2, 3, 4])
        cfg["node"]["relay"] = {"threshold": 20.0, "energy_coupling": 0.0}
        sim = sg.Simulation(net, cfg)
        sim.set_state("v", [30.0, 0, 0, 0, 0])
        sim.set_state("energy", [source_energy, 5, 5, 5, 5])
        sim.run_steps(2)
        return sim.monitor["values"]["v"][1].tolist()

    # Effective weight: +w, -w, +modulatory_gain w, +w only if the source energy >= gate_energy.
    assert arrivals("dynamic", 5.0) == [2.0, -2.0, 1.0, 2.0]
    assert arrivals("dynamic", 0.3) == [2.0, -2.0, 1.0, 0.0]
    assert arrivals("relay", 5.0) == [3.0, -3.0, 1.5, 3.0]  # relay gain 1.5 on every kind


def test_spike_needs_energy_and_life(lif: ConfigFactory, isolated: NetFactory) -> None:
    sim = sg.Simulation(isolated(3), lif("float64"))
    sim.set_state("v", 30.0)
    sim.set_state("energy", [5.0, 0.005, 5.0])  # below energy.spike_cost_min = 0.01
    sim.set_state("alive", [1, 1, 0])
    sim.run_steps(1)
    assert sim.spikes.nodes.tolist() == [0]
    assert float(sim.v[1]) == pytest.approx(30.0 * DECAY, abs=1e-12)  # integrates, cannot spike
    assert sim.state("last_spike").tolist() == [0, -1, -1]


def test_dead_node_state_is_not_updated(lif: ConfigFactory, isolated: NetFactory) -> None:
    sim = sg.Simulation(isolated(2), lif("float64", drive=1.0))
    sim.set_state("v", [30.0, 5.0])
    sim.set_state("alive", [0, 0])
    sim.run_steps(3)
    assert sim.spikes.num_spikes == 0
    assert sim.v.tolist() == [30.0, 5.0]
    assert sim.state("refractory").tolist() == [0, 0]


def test_oscillators_spike_every_period(isolated: NetFactory) -> None:
    n = 40
    sim = sg.Simulation(
        isolated(n, node_types=["oscillator"] * n),
        {"sim": {"dt": 0.1, "threads": 1}, "node": {"oscillator": {"period": 1.0}}},
    )
    sim.run_steps(100)
    spikes = sim.spikes
    assert np.all(sim.spike_counts() == 10)
    for i in range(n):
        steps = spikes.steps[spikes.nodes == i]
        assert np.all(np.diff(steps) == 10) and 0 <= steps[0] < 10
    assert len(set(spikes.steps[:n].tolist())) > 1  # phases are drawn per node


def test_sensory_and_oscillator_ignore_input(lif: ConfigFactory) -> None:
    net = sg.Network.from_arrays(
        3, [0, 0], [1, 2], [5.0, 5.0], node_types=["dynamic", "sensory", "oscillator"]
    )
    cfg = monitor_all(lif("float64"), [1])
    cfg["node"]["oscillator"] = {"period": 1000.0}
    sim = sg.Simulation(net, cfg)
    sim.set_state("v", [30.0, 0.0, 0.0])
    sim.run_steps(3)
    assert np.all(sim.monitor["values"]["v"][:, 0] == 0.0)


def test_poisson_input_statistics(isolated: NetFactory) -> None:
    # Integrators (no leak, no reset) add up their Poisson input: counts ~ Poisson(rate dt steps).
    n, steps, rate = 2000, 100, 5000.0
    cfg = {
        "sim": {"dt": 0.1, "precision": "float64", "threads": 1},
        "node": {"integrator": {"threshold": 1e12, "poisson_rate": rate, "poisson_weight": 1.0}},
        "monitor": {"variables": ["v"], "nodes": list(range(100)), "interval": 0.1},
    }
    sim = sg.Simulation(isolated(n, node_types=["integrator"] * n), cfg)
    sim.run_steps(steps)
    totals = sim.v.copy()
    mean = rate * 0.1e-3 * steps  # 50 per node
    assert np.all(totals == np.round(totals))
    assert totals.mean() == pytest.approx(mean, abs=5 * math.sqrt(mean / n))
    assert totals.var() == pytest.approx(mean, rel=0.15)
    per_step = np.diff(sim.monitor["values"]["v"], axis=0, prepend=0.0).ravel()
    freq = np.bincount(per_step.astype(np.int64), minlength=4)[:4] / per_step.size
    lam = rate * 0.1e-3
    pmf = [math.exp(-lam) * lam**k / math.factorial(k) for k in range(4)]
    np.testing.assert_allclose(freq, pmf, atol=0.01)


# ---------------------------------------------------------------- determinism


@pytest.mark.parametrize("precision", ["float32", "float64"])
def test_thread_count_does_not_change_results(make_b1: SimFactory, precision: str) -> None:
    runs = []
    for threads in (1, 2):
        sim = make_b1(threads=threads, precision=precision)
        assert sim.threads == threads and sim.precision == precision
        sim.run(200.0)
        runs.append((sim.spikes, snapshot(sim)))
    (a, state_a), (b, state_b) = runs
    assert a.num_spikes > 1000
    assert np.array_equal(a.steps, b.steps) and np.array_equal(a.nodes, b.nodes)
    for name in state_a:
        assert np.array_equal(state_a[name], state_b[name]), name


@pytest.mark.parametrize("precision", ["float32", "float64"])
def test_thread_count_does_not_change_results_in_a_burst(make_b1: SimFactory, precision: str) -> None:
    # 2000 simultaneous spikes x 50 edges: enough synaptic events in one step that delivery
    # is split over threads by target range.
    results = []
    for threads in (1, 2, 3):
        sim = make_b1(threads=threads, precision=precision)
        sim.v[:2000] = 25.0
        sim.run_steps(300)
        results.append((sim.spikes.steps, sim.spikes.nodes, sim.v.copy()))
        assert sim.perf()["synaptic_events"] >= 100_000
    for other in results[1:]:
        for x, y in zip(results[0], other):
            assert np.array_equal(x, y)


# The determinism contract: the digest of the spike raster of this fixed configuration.
# Changing the RNG (streams, mixing), the kernels' float arithmetic, the Brunel generator or
# the order of the step pipeline legitimately changes it; then record the new value here and
# say why in the change. Every backend must reproduce it (CPU/CUDA parity).
DIGEST_B1_SMALL = "32ad9e260e85d65fd75ea96a17a8a5bb97604e01e9dbf5b27f875a261dfed6fd"
DIGEST_B1_SMALL_SPIKES = 1204


@pytest.mark.parametrize("precision", ["float32", "float64"])
def test_committed_spike_digest(
    backend: str, make_b1: SimFactory, digest: Callable[[sg.Simulation], str], precision: str
) -> None:
    sim = make_b1(n=1000, k_in=50, net_seed=7, seed=7, threads=2, precision=precision, backend=backend)
    sim.run(100.0)
    assert sim.spikes.num_spikes == DIGEST_B1_SMALL_SPIKES
    assert digest(sim) == DIGEST_B1_SMALL


def test_same_seed_same_run_other_seed_differs(
    make_b1: SimFactory, digest: Callable[[sg.Simulation], str]
) -> None:
    def run(**kwargs: Any) -> str:
        sim = make_b1(n=800, k_in=40, **kwargs)
        sim.run(50.0)
        assert sim.spikes.num_spikes > 100
        return digest(sim)

    base = run(seed=1)
    assert run(seed=1) == base
    assert run(seed=2) != base  # initial v and Poisson input
    assert run(seed=1, net_seed=2) != base  # the graph


def test_initial_v_is_uniform_in_range(make_b1: SimFactory) -> None:
    sim = make_b1()
    v = sim.v
    assert v.min() >= 0.0 and v.max() < 20.0
    assert v.mean() == pytest.approx(10.0, abs=0.5)
    assert not np.array_equal(v, make_b1(seed=2).v)


def test_b1_is_asynchronous_irregular(make_b1: SimFactory) -> None:
    sim = make_b1(threads=2)
    sim.run(300.0)
    spikes = sim.spikes
    rate = spikes.num_spikes / 3000 / 0.3
    assert 5.0 < rate < 30.0
    assert sim.summary()["mean_rate_hz"] == pytest.approx(rate)
    per_step = np.bincount(spikes.steps, minlength=sim.step)
    assert per_step[200:].max() < 0.02 * 3000  # no population bursts
    assert np.count_nonzero(sim.spike_counts()) > 0.9 * 3000  # almost every node takes part


# ---------------------------------------------------------------- running


@pytest.mark.parametrize(
    ("duration", "steps"),
    [(1.0, 10), (0.04, 0), (0.06, 1), (0.0, 0), (3, 30), (np.float32(0.5), 5), (12.34, 123)],
)
def test_run_duration_rounds_to_steps(isolated: NetFactory, duration: Any, steps: int) -> None:
    sim = sg.Simulation(isolated(2), {"sim": {"dt": 0.1, "threads": 1}})
    sim.run(duration)
    assert sim.step == steps
    assert sim.time_ms == pytest.approx(steps * 0.1)
    sim.run(duration)
    assert sim.step == 2 * steps


@pytest.mark.parametrize(("dt", "duration"), [(1.0, 2.5), (1.0, 0.5), (0.5, 1.25)])
def test_run_rounding_matches_the_engine(isolated: NetFactory, dt: float, duration: float) -> None:
    cfg = sg.Config({"sim.dt": dt, "run.duration": duration})
    sim = sg.Simulation(isolated(1), cfg)
    sim.run(duration)
    assert sim.step == cfg.steps("run.duration")


def test_callback_every_k_steps(small_net: sg.Network) -> None:
    sim = sg.Simulation(small_net, {"sim": {"dt": 0.1, "threads": 1}})
    seen: list[int] = []
    sim.run_steps(10, callback=lambda s: seen.append(s.step), callback_every=3)
    assert seen == [3, 6, 9, 10]  # every 3 steps and at the end
    seen.clear()
    sim.run(2.0, callback=lambda s: seen.append(s.step), callback_every=5)
    assert seen == [15, 20, 25, 30]
    seen.clear()
    sim.run_steps(7, callback=lambda s: seen.append(s.step))
    assert seen == [37]  # without a period: once, at the end


def test_callback_false_stops_early(small_net: sg.Network) -> None:
    sim = sg.Simulation(small_net, {"sim": {"dt": 0.1, "threads": 1}})
    calls: list[int] = []

    def stop_at_6(s: sg.Simulation) -> bool | None:
        calls.append(s.step)
        return False if s.step >= 6 else None

    sim.run_steps(100, callback=stop_at_6, callback_every=2)
    assert calls == [2, 4, 6]
    assert sim.step == 6
    # Only False stops: other falsy values do not.
    sim.run_steps(4, callback=lambda s: 0, callback_every=1)
    assert sim.step == 10


def test_callback_exception_propagates_after_completed_chunks(small_net: sg.Network) -> None:
    sim = sg.Simulation(small_net, {"sim": {"dt": 0.1, "threads": 1}})

    def boom(s: sg.Simulation) -> None:
        if s.step == 4:
            raise KeyError("stop here")

    with pytest.raises(KeyError, match="stop here"):
        sim.run_steps(10, callback=boom, callback_every=2)
    assert sim.step == 4


def test_callback_sees_consistent_state(small_net: sg.Network) -> None:
    sim = sg.Simulation(small_net, {"sim": {"dt": 0.1, "threads": 1}, "node": {"dynamic": {"drive": 5.0}}})
    counts: list[int] = []
    sim.run_steps(60, callback=lambda s: counts.append(s.spikes.num_spikes), callback_every=20)
    assert counts == sorted(counts) and counts[-1] == sim.spikes.num_spikes > 0


def test_progress_bar_on_stderr(small_net: sg.Network, capsys: pytest.CaptureFixture[str]) -> None:
    sim = sg.Simulation(small_net, {"sim": {"dt": 0.1, "threads": 1}})
    sim.run_steps(50, progress=True)
    out, err = capsys.readouterr()
    assert out == ""
    assert "100%" in err and "50/50 steps" in err and "#" * 30 in err
    assert err.endswith("\n") and err.count("\r") >= 2  # redrawn in place, ~1% at a time
    assert sim.step == 50
    sim.run_steps(50)  # short runs show no bar by default
    sim.run_steps(20, progress=False)
    assert capsys.readouterr().err == ""


BAD_RUNS: list[tuple[str, Callable[[sg.Simulation], None], str]] = [
    ("negative", lambda s: s.run(-1), "duration must be finite and >= 0"),
    ("nan", lambda s: s.run(math.nan), "duration must be finite and >= 0"),
    ("inf", lambda s: s.run(math.inf), "duration must be finite and >= 0"),
    ("string", lambda s: s.run("x"), "duration_ms must be a number"),  # type: ignore[arg-type]
    ("bool", lambda s: s.run(True), "duration_ms must be a number"),
    ("none", lambda s: s.run(None), "duration_ms must be a number"),  # type: ignore[arg-type]
    ("negative steps", lambda s: s.run_steps(-1), "number of steps must be >= 0"),
    ("float steps", lambda s: s.run_steps(1.5), "steps must be an integer"),  # type: ignore[arg-type]
    ("every 0", lambda s: s.run_steps(5, callback_every=0), "callback_every must be a positive"),
    ("every -2", lambda s: s.run(1.0, callback_every=-2), "callback_every must be a positive"),
    ("every True", lambda s: s.run_steps(5, callback_every=True), "callback_every must be a positive"),
    ("callback", lambda s: s.run_steps(5, callback=5), "callback must be callable"),  # type: ignore[arg-type]
]


@pytest.mark.parametrize(("call", "fragment"), [b[1:] for b in BAD_RUNS], ids=[b[0] for b in BAD_RUNS])
def test_bad_run_arguments(
    small_net: sg.Network, call: Callable[[sg.Simulation], None], fragment: str
) -> None:
    sim = sg.Simulation(small_net, {"sim": {"dt": 0.1, "threads": 1}})
    sim.run_steps(3)
    before = snapshot(sim)
    with pytest.raises(sg.InputError) as info:
        call(sim)
    assert isinstance(info.value, ValueError)
    assert str(info.value).startswith("run: ") and fragment in str(info.value)
    assert sim.step == 3
    after = snapshot(sim)
    for name in before:
        assert np.array_equal(before[name], after[name]), name


@pytest.mark.parametrize("every", ["x", "3", 2.5])
def test_callback_every_must_be_an_integer(small_net: sg.Network, every: Any) -> None:
    sim = sg.Simulation(small_net, {"sim": {"dt": 0.1, "threads": 1}})
    with pytest.raises(sg.InputError, match="callback_every"):
        sim.run_steps(6, callback_every=every)
    assert sim.step == 0


def test_huge_step_count_is_an_input_error(small_net: sg.Network) -> None:
    sim = sg.Simulation(small_net, {"sim": {"dt": 0.1, "threads": 1}})
    with pytest.raises(sg.InputError):
        sim.run_steps(2**63)


def test_gil_is_released_during_run(make_b1: SimFactory) -> None:
    sim = make_b1(threads=1)
    sim.run_steps(200)  # warm up
    start = time.perf_counter()
    sim.run_steps(1000)
    per_step = (time.perf_counter() - start) / 1000
    steps = max(2000, min(200_000, int(0.4 / max(per_step, 1e-7))))  # about 0.4 s of engine time
    ticks = 0
    stop = threading.Event()

    def count() -> None:
        nonlocal ticks
        while not stop.is_set():
            ticks += 1

    counter = threading.Thread(target=count)
    counter.start()
    try:
        time.sleep(0.02)
        before = ticks
        sim.run_steps(steps)
        during = ticks - before
    finally:
        stop.set()
        counter.join()
    # With the GIL held for the whole call the counter could not run at all meanwhile.
    assert during > 1000


def test_run_from_another_thread(make_b1: SimFactory) -> None:
    sim = make_b1(threads=1)
    worker = threading.Thread(target=sim.run_steps, args=(5000,))
    main_ticks = 0
    worker.start()
    while worker.is_alive():
        main_ticks += 1
        time.sleep(0.001)
    worker.join()
    assert sim.step == 5000
    assert main_ticks >= 5  # this thread kept running while the worker was inside the engine


def steps_for(sim: sg.Simulation, seconds: float) -> int:
    """About how many steps of `sim` take `seconds` of wall time here (measured)."""
    sim.run_steps(100)
    start = time.perf_counter()
    sim.run_steps(500)
    per_step = max((time.perf_counter() - start) / 500, 1e-7)
    return max(1000, min(500_000, int(seconds / per_step)))


class Interrupted(Exception):
    pass


def run_with_ctrl_c(sim: sg.Simulation, steps: int, after_s: float, **kwargs: Any) -> tuple[int, bool]:
    """Runs `steps` steps and sends SIGINT to this process `after_s` into the run.

    Returns the steps done when the interrupt surfaced and whether it did. The handler
    only raises while the run is armed, so a late signal cannot escape into pytest.
    """
    armed = threading.Event()
    armed.set()

    def handler(signum: int, frame: Any) -> None:
        if armed.is_set():
            raise Interrupted

    previous = signal.signal(signal.SIGINT, handler)
    timer = threading.Timer(after_s, os.kill, args=(os.getpid(), signal.SIGINT))
    start = sim.step
    interrupted = False
    try:
        timer.start()
        try:
            sim.run_steps(steps, **kwargs)
        except Interrupted:
            interrupted = True
    finally:
        armed.clear()
        timer.cancel()
        timer.join()
        signal.signal(signal.SIGINT, previous)
    return sim.step - start, interrupted


@pytest.mark.skipif(not hasattr(signal, "SIGINT") or sys.platform == "win32", reason="POSIX signals")
def test_ctrl_c_stops_a_chunked_run_early(make_b1: SimFactory) -> None:
    sim = make_b1(threads=1)
    total = steps_for(sim, 1.5)
    done, interrupted = run_with_ctrl_c(sim, total, 0.1, progress=True)
    assert interrupted
    assert done < total // 2  # stopped at the next chunk boundary, not at the end


@pytest.mark.skipif(not hasattr(signal, "SIGINT") or sys.platform == "win32", reason="POSIX signals")
def test_ctrl_c_stops_a_plain_run_early(make_b1: SimFactory) -> None:
    sim = make_b1(threads=1)
    total = steps_for(sim, 0.6)
    done, interrupted = run_with_ctrl_c(sim, total, 0.05)
    assert interrupted
    assert done < total // 2


# ---------------------------------------------------------------- state


def test_state_views_dtypes_and_names(small_net: sg.Network) -> None:
    for precision, real in (("float32", np.float32), ("float64", np.float64)):
        sim = sg.Simulation(small_net, {"sim": {"precision": precision, "threads": 1}})
        assert sim.precision == precision
        assert sorted(sim.state_names()) == sorted(STATE_DTYPES)
        for name, dtype in STATE_DTYPES.items():
            view = sim.state(name)
            assert view.dtype == (real if dtype is None else dtype), name
            assert view.shape == (small_net.num_nodes,)
            # 'alive' and 'poisson_rate' are read-only (set_state tells the backend); the
            # rest are writeable.
            assert view.flags.writeable == (name not in ("alive", "poisson_rate")), name
        assert sim.v.dtype == real and sim.threshold.dtype == real
        assert np.all(sim.threshold == 1.0) and np.all(sim.energy == 2.5) and np.all(sim.drive == 0.0)
        assert np.all(sim.state("last_spike") == -1) and np.all(sim.state("alive") == 1)
    with pytest.raises(sg.InputError, match=r"unknown variable 'voltage' \(known: v, threshold"):
        sim.state("voltage")


def test_state_info_is_the_engines_table(small_net: sg.Network) -> None:
    rows = sg.state_info()
    sim = sg.Simulation(small_net, {"sim": {"precision": "float64", "threads": 1}})
    always = [r["name"] for r in rows if r["allocated"] == "always"]
    assert always == sim.state_names()
    # Rows of the other neuron models exist when a node type runs them.
    with_models = sg.Simulation(small_net, {"sim": {"precision": "float64", "threads": 1},
                                            "node": {"relay": {"model": "lif_exp"},
                                                     "workspace": {"model": "izhikevich"}}})
    assert [r["name"] for r in rows] == with_models.state_names()
    assert set(with_models.state_names()) - set(always) == {"i_syn_ex", "i_syn_in", "u"}
    with pytest.raises(sg.InputError, match="'u' is not allocated"):
        sim.state("u")
    sim = with_models
    fixed = {"uint8": np.uint8, "uint16": np.uint16, "int32": np.int32}
    for r in rows:
        assert sim.state(r["name"]).dtype == fixed.get(r["type"], np.float64), r
        assert r["meaning"] and r["written_by"] and r["newborn"]
    monitor = next(p for p in sg.schema() if p["key"] == "monitor.variables")
    assert monitor["choices"] == [r["name"] for r in rows if r["monitorable"]]
    units = {r["name"]: r["unit"] for r in rows}
    assert units["v"] == "mV" and units["rate"] == "Hz" and units["refractory"] == "steps"


def test_state_views_are_zero_copy(lif: ConfigFactory, isolated: NetFactory) -> None:
    sim = sg.Simulation(isolated(4), lif("float32"))
    v = sim.v
    assert np.shares_memory(v, sim.state("v"))
    v[2] = 30.0  # write through the view ...
    sim.run_steps(1)
    assert sim.spikes.nodes.tolist() == [2]  # ... and the engine sees it
    assert v[2] == 10.0  # ... and the view sees the engine's reset
    drive = sim.drive
    drive[:] = 25.0
    sim.run_steps(400)
    assert np.all(sim.spike_counts() >= 1)


def test_state_view_outlives_the_simulation_object(small_net: sg.Network) -> None:
    sim = sg.Simulation(small_net, {"sim": {"dt": 0.1, "threads": 1}, "node": {"dynamic": {"drive": 3.0}}})
    sim.run_steps(20)
    v = sim.v
    expected = v.copy()
    del sim
    gc.collect()
    junk = [np.full(4096, -1.0) for _ in range(64)]
    assert np.array_equal(v, expected)
    v[0] = 1.0  # still writable memory that belongs to the (kept-alive) engine object
    del junk


def test_set_state(lif: ConfigFactory, isolated: NetFactory) -> None:
    sim = sg.Simulation(isolated(3), lif("float32"))
    sim.set_state("v", [1.5, 2.5, 3.5])
    assert sim.v.tolist() == [1.5, 2.5, 3.5]
    sim.set_state("threshold", 7)  # a scalar fills every node
    assert sim.threshold.tolist() == [7.0, 7.0, 7.0]
    sim.set_state("refractory", np.array([0, 3, 65535]))
    assert sim.state("refractory").tolist() == [0, 3, 65535]
    sim.set_state("alive", np.array([True, False, True]))
    assert sim.state("alive").tolist() == [1, 0, 1]
    sim.set_state("last_spike", [-1.0, 5.0, 2**31 - 1])
    assert sim.state("last_spike").tolist() == [-1, 5, 2**31 - 1]


SET_STATE_ERRORS: list[tuple[str, str, Any, str]] = [
    ("too long", "v", np.zeros(6), "set_state('v'): expected 5 values, got 6"),
    ("too short", "energy", [1.0], "set_state('energy'): expected 5 values, got 1"),
    ("nan", "v", [0, 1, math.nan, 3, 4], "value[2] = nan is not finite"),
    ("inf", "drive", [0, 1, 2, 3, -math.inf], "value[4] = -inf is not finite"),
    ("fractional refractory", "refractory", [0, 0, 1.5, 0, 0], "value[2] = 1.5 does not fit uint16"),
    ("negative refractory", "refractory", -1, "does not fit uint16"),
    ("huge refractory", "refractory", 70000, "does not fit uint16"),
    ("alive 2", "alive", [1, 1, 1, 1, 256], "value[4] = 256 does not fit uint8"),
    ("float32 overflow", "v", [0, 0, 0, 1e39, 0], "value[3] = 1e+39 does not fit float32"),
    ("2-D", "v", np.zeros((5, 1)), "expected a 1-D array, got shape (5, 1)"),
    ("strings", "v", ["a"] * 5, "expected numbers"),
    (
        "unknown name",
        "voltage",
        np.zeros(5),
        "unknown variable 'voltage' (known: v, threshold, drive, energy",
    ),
]


@pytest.mark.parametrize(
    ("name", "values", "fragment"), [e[1:] for e in SET_STATE_ERRORS], ids=[e[0] for e in SET_STATE_ERRORS]
)
def test_set_state_validation_leaves_state_unchanged(
    small_net: sg.Network, name: str, values: Any, fragment: str
) -> None:
    net = sg.Network.from_arrays(5, [0], [1], [1.0])
    sim = sg.Simulation(net, {"sim": {"dt": 0.1, "threads": 1}, "init": {"v_max": 0.5}})
    before = snapshot(sim)
    with pytest.raises(sg.InputError) as info:
        sim.set_state(name, values)
    assert isinstance(info.value, ValueError)
    assert fragment in str(info.value)
    after = snapshot(sim)
    for key in before:
        assert np.array_equal(before[key], after[key]), key


# ---------------------------------------------------------------- monitors


def test_monitor_samples_match_state(small_net: sg.Network) -> None:
    nodes = [3, 0, 7, 299]
    variables = ["v", "refractory", "last_spike", "energy"]
    cfg = {
        "sim": {"dt": 0.1},
        "node": {"dynamic": {"drive": 2.0, "t_ref": 0.5}},
        "init": {"v_max": 1.0},
        "monitor": {"variables": variables, "nodes": nodes, "interval": 0.5},
    }
    sim = sg.Simulation(small_net, cfg)
    seen: dict[int, dict[str, np.ndarray]] = {}

    def record(s: sg.Simulation) -> None:
        seen[s.step - 1] = {name: s.state(name)[nodes].astype(np.float64) for name in variables}

    sim.run_steps(100, callback=record, callback_every=1)
    m = sim.monitor
    assert m["steps"].tolist() == list(range(0, 100, 5))  # after steps 0, 5, 10, ...
    assert m["nodes"].tolist() == nodes and m["nodes"].dtype == np.uint32
    assert sorted(m["values"]) == sorted(variables)
    for name in variables:
        values = m["values"][name]
        assert values.shape == (20, len(nodes)) and values.dtype == np.float64
        for row, step in enumerate(m["steps"]):
            assert np.array_equal(values[row], seen[int(step)][name]), (name, step)
    assert sim.spikes.num_spikes > 0 and np.any(m["values"]["last_spike"] >= 0)


def test_monitor_off_by_default(small_net: sg.Network) -> None:
    sim = sg.Simulation(small_net, {"sim": {"threads": 1}})
    sim.run_steps(5)
    m = sim.monitor
    assert m["steps"].size == 0 and m["nodes"].size == 0 and m["values"] == {}


def test_monitor_node_out_of_range(small_net: sg.Network) -> None:
    with pytest.raises(sg.InputError, match=r"monitor: node 300 is out of range \[0, 300\)"):
        sg.Simulation(small_net, {"monitor": {"variables": ["v"], "nodes": [0, 300]}})
    with pytest.raises(sg.ConfigError, match=r"monitor\.nodes"):
        sg.Simulation(small_net, {"monitor": {"variables": ["v"], "nodes": [-1]}})


# ---------------------------------------------------------------- backends


def test_backend_fixture_runs_on_that_backend(backend: str, small_net: sg.Network) -> None:
    sim = sg.Simulation(small_net, {"sim": {"backend": backend, "threads": 1}})
    assert sim.backend == backend
    sim.run_steps(10)
    assert sim.step == 10


def test_cuda_unavailable_is_a_backend_error(small_net: sg.Network) -> None:
    info = next(b for b in sg.available_backends() if b["name"] == "cuda")
    if info["available"]:
        pytest.skip("the CUDA backend is available here")
    with pytest.raises(sg.BackendError) as err:
        sg.Simulation(small_net, {"sim": {"backend": "cuda"}})
    assert isinstance(err.value, RuntimeError) and isinstance(err.value, sg.SpikegraphError)
    assert "cuda" in str(err.value) and "SPIKEGRAPH_CUDA" in str(err.value)
    # auto never fails: it falls back to the CPU when CUDA is not usable.
    assert sg.Simulation(small_net, {"sim": {"backend": "auto"}}).backend == "cpu"


@pytest.mark.requires_cuda
def test_cuda_matches_cpu(make_b1: SimFactory) -> None:
    cpu = make_b1(n=1000, backend="cpu")
    gpu = make_b1(n=1000, backend="cuda")
    assert gpu.backend == "cuda"
    cpu.run(50.0)
    gpu.run(50.0)
    assert np.array_equal(cpu.spikes.steps, gpu.spikes.steps)
    assert np.array_equal(cpu.spikes.nodes, gpu.spikes.nodes)


def test_threads_setting(small_net: sg.Network) -> None:
    assert sg.Simulation(small_net, {"sim": {"threads": 3, "backend": "cpu"}}).threads == 3
    cpu = next(b for b in sg.available_backends() if b["name"] == "cpu")
    hardware = int(cpu["detail"].split()[0])
    assert sg.Simulation(small_net, {"sim": {"threads": 0, "backend": "cpu"}}).threads == hardware


def test_build_info_and_backends() -> None:
    info = sg.build_info()
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in info.items())
    assert info["version"] == sg.__version__
    for key in ("compiler", "build_type", "threads", "simd", "native_arch", "fp_contract"):
        assert info[key], key
    assert info["fp_contract"] == "off"
    backends = sg.available_backends()
    names = [b["name"] for b in backends]
    assert len(names) == len(set(names)) and {"cpu", "cuda"} <= set(names)
    for b in backends:
        assert set(b) == {"name", "compiled", "available", "detail"}
        assert isinstance(b["compiled"], bool) and isinstance(b["available"], bool)
        assert isinstance(b["detail"], str) and b["detail"]
        assert not (b["available"] and not b["compiled"])
        assert info[f"backend.{b['name']}"].startswith(
            "available" if b["available"] else ("compiled" if b["compiled"] else "unavailable")
        )
    cpu = backends[names.index("cpu")]
    assert cpu["compiled"] and cpu["available"]
    cuda = backends[names.index("cuda")]
    if not cuda["compiled"]:
        assert "SPIKEGRAPH_CUDA" in cuda["detail"]


# ---------------------------------------------------------------- results


def test_spikes_record(small_net: sg.Network) -> None:
    sim = sg.Simulation(
        small_net,
        {"sim": {"dt": 0.1, "threads": 1}, "node": {"dynamic": {"drive": 3.0}}, "init": {"v_max": 1.0}},
    )
    sim.run_steps(200)
    spikes = sim.spikes
    assert spikes.steps.dtype == np.int64 and spikes.nodes.dtype == np.uint32
    assert spikes.num_spikes == spikes.nodes.size > 0
    order = np.lexsort((spikes.nodes, spikes.steps))
    assert np.array_equal(order, np.arange(spikes.num_spikes))  # ascending step, node within a step
    assert spikes.dt_ms == 0.1
    np.testing.assert_allclose(spikes.times_ms, spikes.steps * 0.1)
    counts = sim.spike_counts()
    assert counts.dtype == np.uint64
    assert np.array_equal(counts, np.bincount(spikes.nodes, minlength=small_net.num_nodes))
    spikes.steps[:] = -5  # a copy: the record is not affected
    assert sim.spikes.steps.min() >= 0
    sim.clear_spikes()
    assert sim.spikes.num_spikes == 0 and not sim.spike_counts().any()
    sim.run_steps(100)
    assert sim.spikes.steps.min() >= 200


def test_spikes_is_a_plain_named_tuple(small_net: sg.Network) -> None:
    sim = sg.Simulation(small_net, {"sim": {"threads": 1}, "node": {"dynamic": {"drive": 3.0}}})
    sim.run_steps(20)
    spikes = sim.spikes
    assert spikes.num_spikes > 3
    assert len(spikes) == 3  # the tuple's fields: steps, nodes, dt_ms
    steps, nodes, dt_ms = spikes
    assert steps is spikes.steps and nodes is spikes.nodes and dt_ms == 1.0
    assert spikes._replace(dt_ms=0.5).dt_ms == 0.5
    assert spikes._asdict()["nodes"] is spikes.nodes


def test_record_spikes_off(small_net: sg.Network) -> None:
    cfg = {"sim": {"dt": 0.1, "threads": 1}, "node": {"dynamic": {"drive": 3.0}}, "record": {"spikes": False}}
    sim = sg.Simulation(small_net, cfg)
    sim.run_steps(200)
    assert sim.spikes.num_spikes == 0 and not sim.spike_counts().any()
    assert sim.perf()["spikes"] > 0  # still counted
    assert sim.summary()["spikes"] == sim.perf()["spikes"]
    on = sg.Simulation(small_net, {**cfg, "record": {"spikes": True}})
    on.run_steps(200)
    assert on.spikes.num_spikes == sim.perf()["spikes"]  # recording does not change the dynamics


def test_perf_counters(make_b1: SimFactory) -> None:
    sim = make_b1(n=1000, k_in=50)
    sim.run_steps(500)
    p = sim.perf()
    assert p["steps"] == 500
    assert set(p["phase_seconds"]) == {"delivery", "neuron_update", "recording"}
    assert all(t >= 0 for t in p["phase_seconds"].values())
    assert p["seconds_total"] >= sum(p["phase_seconds"].values()) * 0.99 > 0
    spikes = sim.spikes
    assert p["spikes"] == spikes.num_spikes > 0
    out_degree = np.diff(sim.network.out_offsets.astype(np.int64))
    delivered = spikes.steps < sim.step - 1  # spikes of the last step are delivered by the next one
    assert p["synaptic_events"] == out_degree[spikes.nodes[delivered]].sum()
    assert p["graph_bytes"] == sim.network.memory_bytes()
    assert p["state_bytes"] > 0 and p["record_bytes"] >= 12 * spikes.num_spikes
    assert p["memory_bytes"] == p["graph_bytes"] + p["state_bytes"] + p["record_bytes"]
    assert p["ms_per_step"] == pytest.approx(1e3 * p["seconds_total"] / 500)
    assert p["phase_ms_per_step"]["delivery"] == pytest.approx(1e3 * p["phase_seconds"]["delivery"] / 500)
    assert p["spikes_per_second"] == pytest.approx(p["spikes"] / p["seconds_total"])
    assert p["synaptic_events_per_second"] == pytest.approx(p["synaptic_events"] / p["seconds_total"])
    sim.reset_perf()
    p = sim.perf()
    assert p["steps"] == 0 and p["spikes"] == 0 and p["synaptic_events"] == 0 and p["seconds_total"] == 0
    assert p["ms_per_step"] == 0.0 and p["spikes_per_second"] == 0.0
    sim.run_steps(10)
    assert sim.perf()["steps"] == 10


def test_summary(make_b1: SimFactory) -> None:
    sim = make_b1(n=1000, k_in=50, threads=2)
    sim.run(100.0)
    s = sim.summary()
    assert s["nodes"] == 1000 and s["edges"] == 50_000 and s["steps"] == 1000
    assert s["model_ms"] == pytest.approx(100.0)
    assert s["spikes"] == sim.spikes.num_spikes
    assert s["mean_rate_hz"] == pytest.approx(sim.spikes.num_spikes / 1000 / 0.1)
    assert s["ms_per_step"] > 0
    assert s["backend"] == "cpu" and s["threads"] == 2 and s["precision"] == "float32"
    assert s["bytes_per_edge"] > 0
    text = sim.summary_text()
    for fragment in (
        "nodes         1000",
        "edges         50000",
        "(1000 steps)",
        f"spikes        {sim.spikes.num_spikes}",
        "mean rate",
        "ms per step",
        "cpu backend, 2 threads, float32",
        "bytes/edge",
    ):
        assert fragment in text, fragment


def test_simulation_misc(small_net: sg.Network, tmp_path: Path) -> None:
    with pytest.raises(TypeError, match=r"spikegraph\.Network"):
        sg.Simulation(small_net._graph)  # type: ignore[arg-type]
    path = tmp_path / "cfg.toml"
    path.write_text("[sim]\ndt = 0.25\nseed = 5\nthreads = 1\n", encoding="utf-8")
    sim = sg.Simulation(small_net, path)
    assert sim.dt == 0.25 and sim.config["sim.seed"] == 5
    cfg = sim.config
    cfg.update({"sim.seed": 6})
    assert sim.config["sim.seed"] == 5  # a copy
    assert sim.service_names() == ["neural", "events", "recording", "graph", "performance", "configuration"]
    assert (
        repr(sim)
        == f"Simulation(nodes=300, edges=9000, step=0, backend='{sim.backend}', threads={sim.threads})"
    )
    config = sg.Config({"sim.seed": 3})
    sg.Simulation(small_net, config)
    assert config == sg.Config({"sim.seed": 3})


# ---------------------------------------------------------------- spike files


def fnv1a(data: bytes) -> int:
    h = 0xCBF29CE484222325
    for byte in data:
        h = ((h ^ byte) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def spike_file_bytes(
    steps: list[int], nodes: list[int], num_nodes: int, dt: float, version: int = 1
) -> bytes:
    body = b"SGSPIKE1" + struct.pack("<IIdQ", version, num_nodes, dt, len(steps))
    body += struct.pack(f"<{len(steps)}q", *steps) + struct.pack(f"<{len(nodes)}I", *nodes)
    return body + struct.pack("<Q", fnv1a(body))


@pytest.fixture
def spike_file(small_net: sg.Network, tmp_path: Path) -> tuple[Path, sg.Simulation]:
    sim = sg.Simulation(
        small_net,
        {"sim": {"dt": 0.1, "threads": 1}, "node": {"dynamic": {"drive": 3.0}}, "init": {"v_max": 1.0}},
    )
    sim.run_steps(100)
    path = tmp_path / "spikes.bin"
    sim.write_spike_file(path)
    return path, sim


def test_spike_file_round_trip(spike_file: tuple[Path, sg.Simulation]) -> None:
    path, sim = spike_file
    data = sg.read_spike_file(path)
    assert data["num_nodes"] == 300 and data["dt_ms"] == 0.1
    assert data["steps"].dtype == np.int64 and data["nodes"].dtype == np.uint32
    assert np.array_equal(data["steps"], sim.spikes.steps) and np.array_equal(data["nodes"], sim.spikes.nodes)
    assert sim.spikes.num_spikes > 0
    raw = path.read_bytes()
    assert raw == spike_file_bytes(sim.spikes.steps.tolist(), sim.spikes.nodes.tolist(), 300, 0.1)
    assert not path.with_name("spikes.bin.tmp").exists()


def test_spike_file_without_spikes(tmp_path: Path, isolated: NetFactory) -> None:
    sim = sg.Simulation(isolated(3))
    sim.run_steps(5)
    path = tmp_path / "empty.bin"
    sim.write_spike_file(str(path))
    data = sg.read_spike_file(str(path))
    assert data["steps"].size == 0 and data["nodes"].size == 0 and data["num_nodes"] == 3


def test_spike_file_written_by_hand_is_read(tmp_path: Path) -> None:
    path = tmp_path / "hand.bin"
    path.write_bytes(spike_file_bytes([0, 0, 7], [1, 4, 2], 5, 0.25))
    data = sg.read_spike_file(path)
    assert (
        data["steps"].tolist() == [0, 0, 7] and data["nodes"].tolist() == [1, 4, 2] and data["dt_ms"] == 0.25
    )


def corrupt(raw: bytes, how: str) -> bytes:
    if how == "truncated":
        return raw[:-5]
    if how == "header only":
        return raw[:20]
    if how == "empty":
        return b""
    if how == "extra byte":
        return raw + b"\0"
    if how == "flipped byte":
        b = bytearray(raw)
        b[40] ^= 0x10
        return bytes(b)
    if how == "bad magic":
        return b"NOTSPIKE" + raw[8:]
    if how == "bad checksum":
        return raw[:-1] + bytes([raw[-1] ^ 0xFF])
    raise AssertionError(how)


@pytest.mark.parametrize(
    ("how", "fragment"),
    [
        ("truncated", "does not match"),
        ("header only", "truncated (20 bytes)"),
        ("empty", "truncated (0 bytes)"),
        ("extra byte", "does not match"),
        ("flipped byte", "checksum mismatch"),
        ("bad magic", "bad magic"),
        ("bad checksum", "checksum mismatch"),
    ],
)
def test_corrupt_spike_file_is_io_error(
    spike_file: tuple[Path, sg.Simulation], how: str, fragment: str
) -> None:
    path, _ = spike_file
    bad = path.with_name(f"bad-{how.replace(' ', '-')}.bin")
    bad.write_bytes(corrupt(path.read_bytes(), how))
    with pytest.raises(sg.IoError) as info:
        sg.read_spike_file(bad)
    assert isinstance(info.value, OSError)
    assert str(bad) in str(info.value) and fragment in str(info.value)


def test_spike_file_semantic_errors(tmp_path: Path) -> None:
    path = tmp_path / "v2.bin"
    path.write_bytes(spike_file_bytes([1], [0], 5, 0.1, version=2))
    with pytest.raises(sg.IoError, match="unsupported format version 2"):
        sg.read_spike_file(path)
    path.write_bytes(spike_file_bytes([1, 2], [0, 5], 5, 0.1))  # valid checksum, node 5 of 5
    with pytest.raises(sg.IoError, match="spike 1 names node out of range"):
        sg.read_spike_file(path)
    with pytest.raises(sg.IoError, match="cannot open"):
        sg.read_spike_file(tmp_path / "missing.bin")


def test_spike_file_write_error(spike_file: tuple[Path, sg.Simulation], tmp_path: Path) -> None:
    _, sim = spike_file
    with pytest.raises(sg.IoError) as info:
        sim.write_spike_file(tmp_path / "no" / "such" / "dir.bin")
    assert isinstance(info.value, OSError) and "write spike file" in str(info.value)


def test_update_config_changes_live_keys_and_refuses_the_rest_whole() -> None:
    cfg = sg.default_run_config()
    cfg.update({"graph.sensory_side": 6, "graph.workspace_side": 3})
    net = sg.networks.from_config(cfg)
    live = sg.live_keys()
    assert "learning.a_plus" in live and "node.dynamic.tau_m" in live and "sim.dt" not in live
    assert {row["key"] for row in sg.schema() if row["live"]} == set(live)
    assert sg.Simulation.live_config_keys() == live
    a, b = sg.Simulation(net, cfg), sg.Simulation(net, cfg)
    a.run(20.0)
    b.run(20.0)
    with pytest.raises(sg.ConfigError, match=r"sim\.dt is fixed for a run"):
        a.update_config({"sim": {"dt": 0.5}, "learning": {"a_plus": 0.01}})
    with pytest.raises(sg.ConfigError, match=r"learning\.a_plus"):
        a.update_config({"learning.a_plus": -1.0})
    with pytest.raises(sg.ConfigError, match="expected a mapping"):
        a.update_config([("learning.a_plus", 0.01)])  # type: ignore[arg-type]
    assert a.config["learning.a_plus"] == cfg["learning.a_plus"]  # nothing changed
    a.update_config({"node": {"dynamic": {"tau_m": 4.0}}, "sim.dt": cfg["sim.dt"]})
    assert a.config["node.dynamic.tau_m"] == 4.0
    a.run(300.0)
    b.run(300.0)
    assert a.spikes.nodes.tolist() != b.spikes.nodes.tolist()


def test_spikes_and_ledger_since_a_step_are_the_tail_of_the_record() -> None:
    cfg = sg.default_run_config()
    cfg.update({"graph.sensory_side": 8, "graph.workspace_side": 4, "sim.threads": 1})
    sim = sg.Simulation(sg.networks.from_config(cfg), cfg)
    sim.run(300.0)
    whole, ledger = sim.spikes, sim.ledger
    for since in (-5, 0, 1, 150, 299, 300, 10**6):
        part = sim.spikes_since(since)
        keep = whole.steps >= since
        assert np.array_equal(part.steps, whole.steps[keep]) and np.array_equal(part.nodes, whole.nodes[keep])
        tail = sim.ledger_since(since)
        rows = ledger["step"] >= since
        assert all(np.array_equal(tail[k], ledger[k][rows]) for k in ledger)
    assert sim.spikes_since(250).steps.size > 0 and sim.ledger_since(299)["step"].tolist() == [299]
    for bad in (1.5, "3", True):
        with pytest.raises(sg.InputError, match="step must be an integer"):
            sim.spikes_since(bad)  # type: ignore[arg-type]
