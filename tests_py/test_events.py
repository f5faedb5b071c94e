"""Event coordination: scheduled stimuli and subscribers at chunk boundaries."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import spikegraph as sg


def chain(delay: int = 2) -> sg.Simulation:
    net = sg.Network.from_arrays(3, [0], [1], [0.5], delays=[delay])
    return sg.Simulation(net, {"sim": {"precision": "float64", "threads": 1},
                               "node": {"dynamic": {"t_ref": 0.0}}})


def test_input_stimulus_fires_a_node_at_its_step_and_reaches_the_target_after_the_delay() -> None:
    sim = chain(delay=2)
    sim.schedule_stimulus([0], 2.0, step=3)
    assert sim.pending_stimuli() == 1
    sim.run_steps(6)
    assert sim.spikes.steps.tolist() == [3] and sim.spikes.nodes.tolist() == [0]
    assert sim.pending_stimuli() == 0
    assert sim.v[1] == 0.5  # arrived at step 5 (3 + delay 2), after that step's leak
    sim.run_steps(1)  # one more step of leak: tau 10 ms scaled by the energy coupling
    tau_eff = 10.0 * (1 - 0.5 + 0.5 * 2.5 / 5.0)  # energy_coupling 0.5, energy.initial 2.5 of cap 5
    assert sim.v[1] == pytest.approx(0.5 * np.exp(-1.0 / tau_eff), rel=1e-12)


def test_stimulus_below_threshold_only_moves_v() -> None:
    sim = chain()
    sim.schedule_stimulus([0, 2], 0.25, at_ms=2.0)
    sim.run_steps(3)
    assert sim.spikes.num_spikes == 0
    assert sim.v[0] == pytest.approx(0.25) and sim.v[2] == pytest.approx(0.25)


def test_drive_stimuli_add_and_set() -> None:
    sim = chain()
    sim.schedule_stimulus([1], 0.3, step=0, kind="add_drive")
    sim.schedule_stimulus([1], 0.2, step=1, kind="add_drive")
    sim.schedule_stimulus([2], 0.7, step=1, kind="set_drive")
    sim.run_steps(1)
    assert sim.drive.tolist() == pytest.approx([0.0, 0.3, 0.0])
    sim.run_steps(1)
    assert sim.drive.tolist() == pytest.approx([0.0, 0.5, 0.7])


def test_several_stimuli_at_one_step_apply_in_scheduling_order() -> None:
    sim = chain()
    sim.schedule_stimulus([2], 0.7, step=0, kind="set_drive")
    sim.schedule_stimulus([2], 0.1, step=0, kind="add_drive")
    sim.run_steps(1)
    assert sim.drive[2] == pytest.approx(0.8)


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"nodes": [5], "value": 1.0, "step": 1}, "nodes[0] = 5 is out of range [0, 3)"),
        ({"nodes": [-1], "value": 1.0, "step": 1}, "out of range"),
        ({"nodes": [0], "value": float("nan"), "step": 1}, "value must be finite"),
        ({"nodes": [0], "value": 1.0}, "exactly one of at_ms and step"),
        ({"nodes": [0], "value": 1.0, "step": 1, "at_ms": 1.0}, "exactly one of at_ms and step"),
        ({"nodes": [0], "value": 1.0, "step": 1, "kind": "fire"}, "unknown kind 'fire'"),
        ({"nodes": [0.5], "value": 1.0, "step": 1}, "1-D integer array"),
        ({"nodes": [0], "value": "x", "step": 1}, "value must be a number"),
        ({"nodes": [0], "value": 1.0, "at_ms": float("inf")}, "at_ms must be finite"),
    ],
)
def test_bad_stimuli_are_rejected_and_nothing_is_queued(kwargs: dict[str, Any], fragment: str) -> None:
    sim = chain()
    with pytest.raises(sg.InputError, match="schedule_stimulus") as info:
        sim.schedule_stimulus(**kwargs)
    assert fragment in str(info.value)
    assert sim.pending_stimuli() == 0


def test_stimulus_in_the_past_is_rejected() -> None:
    sim = chain()
    sim.run_steps(5)
    with pytest.raises(sg.InputError, match="step 4 is in the past"):
        sim.schedule_stimulus([0], 1.0, step=4)


def test_subscribers_get_every_spike_once_per_chunk_with_homeostasis_and_stimuli() -> None:
    net = sg.networks.brunel(1000, k_in=50, dt_ms=0.1, seed=3)
    cfg = {"sim": {"dt": 0.1, "threads": 1},
           "node": {"dynamic": {"tau_m": 20.0, "threshold": 20.0, "v_reset": 10.0, "energy_coupling": 0.0,
                                "poisson_rate": 10000.0, "poisson_weight": 0.1}},
           "init": {"v_min": 0.0, "v_max": 20.0}, "homeostasis": {"enabled": True, "interval": 100}}
    sim = sg.Simulation(net, cfg)
    batches: list[dict[str, Any]] = []
    sid = sim.subscribe(batches.append)
    sim.schedule_stimulus(np.arange(10), 5.0, step=250)
    sim.run_steps(1000, callback_every=300)
    chunks = [(b["first_step"], b["end_step"]) for b in batches]
    assert chunks == [(0, 300), (300, 600), (600, 900), (900, 1000)]
    steps = np.concatenate([b["spike_steps"] for b in batches])
    nodes = np.concatenate([b["spike_nodes"] for b in batches])
    record = sim.spikes
    assert np.array_equal(steps, record.steps) and np.array_equal(nodes, record.nodes)
    windows = [h["step"] for b in batches for h in b["homeostasis"]]
    assert windows == list(range(99, 1000, 100))
    stimuli = [s for b in batches for s in b["stimuli"]]
    assert len(stimuli) == 1 and stimuli[0]["step"] == 250 and stimuli[0]["nodes"].tolist() == list(range(10))
    assert all(s["step"] < 600 for s in batches[0]["stimuli"] + batches[1]["stimuli"])
    sim.unsubscribe(sid)
    sim.run_steps(100)
    assert len(batches) == 4
    with pytest.raises(sg.InputError, match="no subscription"):
        sim.unsubscribe(sid)
    with pytest.raises(sg.InputError, match="callable"):
        sim.subscribe(42)  # type: ignore[arg-type]


def test_stimuli_do_not_break_thread_determinism() -> None:
    digests = []
    for threads in (1, 2):
        net = sg.networks.brunel(2000, k_in=50, dt_ms=0.1, seed=5)
        sim = sg.Simulation(net, {"sim": {"dt": 0.1, "threads": threads},
                                  "node": {"dynamic": {"tau_m": 20.0, "threshold": 20.0, "v_reset": 10.0,
                                                       "energy_coupling": 0.0, "poisson_rate": 9000.0,
                                                       "poisson_weight": 0.1}}})
        sim.schedule_stimulus(np.arange(0, 2000, 7), 15.0, step=100)
        sim.schedule_stimulus(np.arange(5), 2.0, step=150, kind="add_drive")
        sim.run_steps(400)
        digests.append((sim.spikes.steps.tobytes(), sim.spikes.nodes.tobytes()))
    assert digests[0] == digests[1]
