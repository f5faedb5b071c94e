"""Recorders: spikes, state samples and population rates of chosen nodes, bounded by
record.horizon or streamed, in checkpoints, on every backend."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import spikegraph as sg


def add_all(sim: sg.Simulation) -> None:
    sim.add_recorder("exc", "spikes", range(100, 900))
    sim.add_recorder("some", "spikes", [2999, 5, 1234])
    sim.add_recorder("pop", "rate", range(100, 900), interval_ms=2.0)
    sim.add_recorder("v", "state", np.array([7, 3]), variables=["v", "refractory"], interval_ms=0.5)


def test_recorders_hold_what_the_spike_record_and_state_say(make_b1: Callable[..., sg.Simulation],
                                                            backend: str) -> None:
    sim = make_b1(backend=backend)
    sim.run(3.0)
    add_all(sim)
    v_expected: list[np.ndarray] = []
    for _ in range(40):
        sim.run_steps(1)
        if (sim.step - 1 - 30) % 5 == 0:
            v_expected.append(np.stack([sim.state("v")[[3, 7]], sim.state("refractory")[[3, 7]]]))
    assert sim.recorder_names() == ["exc", "some", "pop", "v"]
    s = sim.spikes
    late = s.steps >= 30
    for name, ids in (("exc", np.arange(100, 900)), ("some", np.array([5, 1234, 2999]))):
        r = sim.recorder(name)
        np.testing.assert_array_equal(r["nodes"], ids)
        keep = late & np.isin(s.nodes, ids)
        assert keep.sum() > 0 or name == "some"
        np.testing.assert_array_equal(r["steps"], s.steps[keep])
        np.testing.assert_array_equal(r["spike_nodes"], s.nodes[keep])
        np.testing.assert_allclose(r["times_ms"], r["steps"] * 0.1)
    pop = sim.recorder("pop")
    assert pop["steps"].tolist() == [30, 50]
    exc = sim.recorder("exc")["steps"]
    assert pop["counts"].tolist() == [int(((exc >= b) & (exc < b + 20)).sum()) for b in (30, 50)]
    np.testing.assert_allclose(pop["rate_hz"], pop["counts"] / (800 * 0.002))
    v = sim.recorder("v")
    assert v["steps"].tolist() == list(range(30, 70, 5))
    np.testing.assert_allclose(v["values"]["v"], np.array([e[0] for e in v_expected]))
    np.testing.assert_array_equal(v["values"]["refractory"], np.array([e[1] for e in v_expected]))


def test_recorders_stream_bound_and_resume(tmp_path: Path, make_b1: Callable[..., sg.Simulation],
                                           b1_config: Callable[..., dict[str, Any]]) -> None:
    whole = make_b1()
    add_all(whole)
    whole.run(20.0)
    bounded = sg.Simulation(whole.network, {**b1_config(), "record": {"horizon": 4.0}})
    add_all(bounded)
    bounded.run(20.0)
    for name in whole.recorder_names():
        a, b = whole.recorder(name), bounded.recorder(name)
        n = b["steps"].size
        if name != "some":  # a handful of spikes: too few to be trimmed yet
            assert b["start_step"] > 0 and 0 < n < a["steps"].size
        np.testing.assert_array_equal(b["steps"], a["steps"][a["steps"].size - n:])
    # Streamed: the chunks read back as the in-memory records.
    stream = {"stream": str(tmp_path / "s"), "stream_every": 5.0}
    s = sg.Simulation(whole.network, {**b1_config(), "record": stream})
    add_all(s)
    s.run(20.0)
    back = sg.io.read_record_stream(tmp_path / "s")["recorders"]
    assert sorted(back) == sorted(whole.recorder_names())
    for name in whole.recorder_names():
        a, b = whole.recorder(name), back[name]
        assert b["kind"] == a["kind"] and b["end_step"] == 200
        np.testing.assert_array_equal(b["steps"], a["steps"])
        for key in ("spike_nodes", "counts", "rate_hz"):
            if key in a:
                np.testing.assert_array_equal(b[key], a[key])
        for var, values in a.get("values", {}).items():
            np.testing.assert_array_equal(b["values"][var], values)
    # A checkpoint keeps them; the resumed run records exactly what the whole run does.
    half = sg.Simulation(whole.network, b1_config())
    add_all(half)
    half.run(10.0)
    path = tmp_path / "half.sgckpt"
    half.save(path)
    resumed = sg.Simulation.load(path)
    assert resumed.recorder_names() == whole.recorder_names()
    resumed.run(10.0)
    for name in whole.recorder_names():
        a, b = whole.recorder(name), resumed.recorder(name)
        np.testing.assert_array_equal(a["steps"], b["steps"])


def test_bad_recorders_are_refused(make_b1: Callable[..., sg.Simulation]) -> None:
    sim = make_b1()
    sim.add_recorder("a", nodes=[1])
    with pytest.raises(sg.InputError, match="in use"):
        sim.add_recorder("a", nodes=[2])
    with pytest.raises(sg.InputError, match="unknown kind"):
        sim.add_recorder("b", "voltage", [1])
    with pytest.raises(sg.InputError, match="out of range"):
        sim.add_recorder("b", nodes=[-1])
    with pytest.raises(sg.InputError, match="1-D array of node ids"):
        sim.add_recorder("b", nodes=np.array([0.5]))
    with pytest.raises(sg.InputError, match="shorter than a step"):
        sim.add_recorder("b", "rate", [1], interval_ms=0.01)
    with pytest.raises(sg.InputError, match="positive number"):
        sim.add_recorder("b", "rate", [1], interval_ms=-1.0)
    with pytest.raises(sg.InputError, match="not allocated"):
        sim.add_recorder("b", "state", [1], variables=["i_syn_ex"])
    with pytest.raises(sg.InputError, match="no recorder named"):
        sim.recorder("b")
    assert sim.recorder_names() == ["a"]
    sim.add_recorder("all")  # every node's spikes
    sim.run(5.0)
    np.testing.assert_array_equal(sim.recorder("all")["spike_nodes"], sim.spikes.nodes)
    sim.remove_recorder("all")
    assert sim.recorder_names() == ["a"]
