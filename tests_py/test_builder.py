"""NetworkBuilder from Python: rules, distributions, errors, determinism, the docs example."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import spikegraph as sg


def ei_network(seed: int) -> sg.Network:
    b = sg.NetworkBuilder(seed=seed, dt=0.1)
    assert b.population("E", 400) == range(0, 400)
    assert b.population("I", 100, type="relay") == range(400, 500)
    b.connect("E", ["E", "I"], "fixed_indegree", n=40,
              weight=sg.builder.normal(0.1, 0.05, low=0.02, high=0.2),
              delay=sg.builder.uniform(0.5, 3.0), plastic=True, autapses=False, multapses=False)
    b.connect("I", "E", "fixed_total_number", n=3000, weight=sg.builder.lognormal(-1.0, 0.3),
              kind="inhibitory")
    return b.build()


def test_populations_projections_and_the_seed() -> None:
    net = ei_network(1)
    src, tgt = net.sources(), np.asarray(net.targets)
    exc_in = np.bincount(tgt[src < 400], minlength=500)
    assert np.all(exc_in == 40)  # fixed in-degree from E, for E and I targets alike
    assert not np.any((src == tgt) & (src < 400))  # no autapses
    assert np.count_nonzero((src >= 400) & (tgt < 400)) == 3000
    w, kinds = np.asarray(net.weights), np.asarray(net.kinds)
    exc = kinds == sg.EDGE_KINDS.index("excitatory")
    assert w[exc].min() >= 0.02 - 1e-7 and w[exc].max() <= 0.2 + 1e-7
    assert np.all(np.asarray(net.delays)[exc] >= 5) and np.all(np.asarray(net.delays)[exc] <= 30)
    assert np.asarray(net.node_types)[450] == sg.NODE_TYPES.index("relay")
    again = ei_network(1)
    np.testing.assert_array_equal(again.targets, net.targets)
    np.testing.assert_array_equal(again.weights, net.weights)
    assert not np.array_equal(ei_network(2).targets, net.targets)
    sim = sg.Simulation(net, {"node": {"dynamic": {"drive": 1.2}}})
    sim.run(20.0)
    assert sim.spikes.num_spikes > 0


def test_bad_descriptions_name_the_problem() -> None:
    b = sg.NetworkBuilder(seed=1, dt=0.1)
    b.population("A", 10)
    with pytest.raises(sg.GraphError, match="unknown rule 'fixed_in'"):
        b.connect("A", "A", "fixed_in", n=3)
    with pytest.raises(sg.GraphError, match="needs n"):
        b.connect("A", "A", "fixed_indegree")
    with pytest.raises(sg.GraphError, match="needs p"):
        b.connect("A", "A", "pairwise_bernoulli")
    with pytest.raises(sg.GraphError, match="weight must be a finite number"):
        b.connect("A", "A", weight=float("nan"))
    with pytest.raises(sg.GraphError, match="lower bound >= 0"):
        b.connect("A", "A", weight=sg.builder.normal(0.1, 0.1))
    with pytest.raises(sg.GraphError, match="unknown node type 'neuron'"):
        b.population("B", 3, type="neuron")
    with pytest.raises(sg.GraphError, match="unknown edge kind"):
        b.connect("A", "A", kind="excitatory!")
    with pytest.raises(sg.GraphError, match="no population named 'C'"):
        b.connect("A", "C")
    assert b.build().num_edges == 0  # nothing was added


def test_the_docs_example_runs(capsys: pytest.CaptureFixture[str]) -> None:
    doc = (Path(__file__).resolve().parent.parent / "docs" / "python.md").read_text(encoding="utf-8")
    block = re.search(r"```python\n(import spikegraph as sg\nb = sg.NetworkBuilder.*?)```", doc, flags=re.S)
    assert block is not None
    exec(compile(block.group(1), "docs/python.md builder example", "exec"), {})
    assert "range(800, 1000)" in capsys.readouterr().out


def test_the_same_network_on_any_thread_count() -> None:
    def make() -> sg.NetworkBuilder:
        b = sg.NetworkBuilder(seed=3, dt=0.1)
        b.population("E", 2000)
        b.connect("E", "E", "fixed_total_number", n=300_000, weight=sg.builder.normal(0.5, 0.1, low=0.0),
                  delay=sg.builder.normal(1.5, 0.75, low=0.1))
        b.connect("E", "E", "fixed_indegree", n=70, weight=0.2, delay=1.0, kind="inhibitory")
        return b

    one, two = make().build(threads=1), make().build(threads=2)
    assert one.num_edges == two.num_edges == 440_000
    for column in ("targets", "weights", "delays", "kinds"):
        assert np.array_equal(np.asarray(getattr(one, column)), np.asarray(getattr(two, column)))
    assert np.array_equal(one.sources(), two.sources())
    for bad in (-1, 1.5, True):
        with pytest.raises(sg.GraphError, match="threads must be an integer"):
            make().build(threads=bad)  # type: ignore[arg-type]
