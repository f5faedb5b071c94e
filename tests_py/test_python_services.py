"""Services written in Python (Simulation.replace_service): the numpy pair STDP of
spikegraph.services in place of the engine's learning service, errors raised by a
Python service, and the bookkeeping of services around them."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import spikegraph as sg


def stdp_simulation() -> sg.Simulation:
    rng = np.random.default_rng(4)
    n, m = 200, 4000
    src, tgt = rng.integers(0, n, m), rng.integers(0, n, m)
    net = sg.Network.from_arrays(n, src, tgt, rng.uniform(0.5, 2.0, m), delays=rng.integers(1, 5, m),
                                 plastic=rng.random(m) < 0.7)
    cfg = {"sim": {"precision": "float64", "threads": 1, "seed": 2},
           "node": {"dynamic": {"poisson_rate": 800.0, "poisson_weight": 0.3}},
           "learning": {"enabled": True, "energy_modulation": False, "a_plus": 0.05, "a_minus": 0.04,
                        "w_max": 3.0}}
    return sg.Simulation(net, cfg)


def test_numpy_stdp_service_gives_the_engines_weights() -> None:
    engine, python = stdp_simulation(), stdp_simulation()
    rule = sg.services.PairSTDP(python)
    python.replace_service("learning", rule)
    assert python.service_names() == engine.service_names()  # replaced in place
    engine.run(200.0)
    python.run(200.0)
    assert rule.steps == engine.step
    assert np.array_equal(engine.spikes.nodes, python.spikes.nodes)
    w0 = stdp_simulation().weights
    assert not np.allclose(engine.weights, w0)  # learning happened
    # Float tolerance: float64 traces, float32 weights; here they agree to the last bit.
    assert np.allclose(python.weights, engine.weights, rtol=1e-6, atol=1e-7)
    assert np.max(np.abs(python.weights - engine.weights)) <= 1e-6
    for name in ("trace_pre", "trace_post", "v"):
        assert np.allclose(python.state(name), engine.state(name), rtol=1e-12), name


class FailAt:
    def __init__(self, step: int) -> None:
        self.step = step
        self.calls = 0

    def run(self, sim: sg.Simulation, phase: str, step: int, spikes: np.ndarray) -> None:
        self.calls += 1
        if step == self.step:
            raise ValueError(f"rule failed at step {step}")


def test_a_python_service_that_raises_stops_the_run_and_leaves_it_resumable(tmp_path: Any) -> None:
    sim, same = stdp_simulation(), stdp_simulation()
    sim.replace_service("homeostasis_probe", FailAt(30), phases=["homeostasis"])
    with pytest.raises(ValueError, match="rule failed at step 30"):
        sim.run_steps(100)
    # The step the error happened in completed; the run stopped there.
    assert sim.step == 31
    same.run_steps(31)
    assert np.array_equal(sim.spikes.nodes, same.spikes.nodes)
    assert np.array_equal(sim.weights, same.weights)
    # Resumable: continued, and saved and loaded, it runs on like the one that never failed.
    sim.replace_service("homeostasis_probe", FailAt(-1), phases=["homeostasis"])
    path = sim.save(tmp_path / "after_error.sgckpt")
    sim.run_steps(50)
    same.run_steps(50)
    assert np.array_equal(sim.spikes.steps, same.spikes.steps)
    assert np.array_equal(sim.spikes.nodes, same.spikes.nodes)
    loaded = sg.Simulation.load(path)
    loaded.run_steps(50)
    assert np.array_equal(loaded.weights, same.weights)


def test_replace_service_checks_its_arguments() -> None:
    sim = stdp_simulation()
    assert sim.service_phases("learning") == ["learning"]
    with pytest.raises(sg.InputError, match="needs a method run"):
        sim.replace_service("learning", object())
    with pytest.raises(sg.InputError, match="not one of the engine's services"):
        sim.replace_service("my_rule", FailAt(-1))
    with pytest.raises(sg.InputError, match="unknown phase 'lerning'"):
        sim.replace_service("learning", FailAt(-1), phases=["lerning"])
    with pytest.raises(sg.InputError, match="no service named"):
        sim.service_phases("nothing")
    assert sim.service_names()[-1] != "my_rule"  # nothing changed
    probe = FailAt(-1)
    sim.replace_service("probe", probe, phases=("sensory", "recording"))
    sim.run_steps(5)
    assert probe.calls == 10 and "probe" in sim.service_names()


class HoldsSimulation:
    """A service that keeps a reference to its simulation (a cycle through the engine)."""

    def __init__(self, sim: sg.Simulation) -> None:
        self.sim = sim

    def run(self, sim: sg.Simulation, phase: str, step: int, spikes: np.ndarray) -> None:
        assert sim is self.sim


def test_a_simulation_with_a_python_service_is_garbage_collected() -> None:
    import gc
    import weakref

    sim = stdp_simulation()
    sim.replace_service("holder", HoldsSimulation(sim), phases=["recording"])
    sim.run_steps(3)
    ref = weakref.ref(sim)
    del sim
    gc.collect()
    assert ref() is None  # the cycle runs through Python objects only, so it is collected


def test_the_docs_example_runs(capsys: pytest.CaptureFixture[str]) -> None:
    import re
    from pathlib import Path

    doc = (Path(__file__).resolve().parent.parent / "docs" / "python.md").read_text(encoding="utf-8")
    section = doc[doc.index("## Services in Python"):]
    block = re.search(r"```python\n(.*?)```", section, flags=re.S)
    assert block is not None
    exec(compile(block.group(1), "docs/python.md services example", "exec"), {})
    out = capsys.readouterr().out
    assert "threshold_bump" in out and "learning" in out


def test_the_extending_guide_python_example_runs(capsys: pytest.CaptureFixture[str]) -> None:
    import re
    from pathlib import Path

    doc = (Path(__file__).resolve().parent.parent / "docs" / "extending.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", doc, flags=re.S)
    assert len(blocks) == 1
    exec(compile(blocks[0], "docs/extending.md python example", "exec"), {})
    assert "mean weight" in capsys.readouterr().out
