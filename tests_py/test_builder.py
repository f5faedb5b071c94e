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


def test_explicit_pairs() -> None:
    b = sg.NetworkBuilder(seed=1, dt=0.1)
    b.population("A", 3)
    b.population("B", 4, "relay")
    b.connect("A", "B", "from_list", pairs=([0, 2, 2], [3, 0, 0]), weight=0.5, delay=0.2)
    net = b.build()
    assert list(zip(net.sources().tolist(), np.asarray(net.targets).tolist())) == [(0, 6), (2, 3), (2, 3)]
    assert np.all(np.asarray(net.delays) == 2)
    with pytest.raises(sg.GraphError, match="outside the populations"):
        b.connect("A", "B", "from_list", pairs=([3], [0]))
    with pytest.raises(sg.GraphError, match="is an autapse"):
        b.connect("A", "A", "from_list", pairs=([1], [1]), autapses=False)
    with pytest.raises(sg.GraphError, match="2 pre indices but 1 post"):
        b.connect("A", "B", "from_list", pairs=([0, 1], [0]))
    with pytest.raises(sg.GraphError, match="takes pairs"):
        b.connect("A", "B", "all_to_all", pairs=([0], [0]))
    with pytest.raises(sg.GraphError, match="indices >= 0"):
        b.connect("A", "B", "from_list", pairs=([-1], [0]))


def test_the_default_network_in_the_builders_terms() -> None:
    """The default network (engine/src/graph/generators.cpp) as populations of its node types
    and projections: its random edges as pairwise Bernoulli projections per edge kind (the
    generator's Poisson out-degree over the same targets), its retinotopic pathway as
    explicit pairs. Same node types, the same pathway edge for edge, and random edge counts
    per (source type, target type, kind) within the spread of the draws."""
    cfg = sg.default_run_config()
    cfg.update({"graph.sensory_side": 8, "graph.dynamic_per_sensory": 4, "graph.workspace_side": 4,
                "graph.oscillators": 40, "graph.relays": 40, "graph.highways": 20})
    net = sg.networks.from_config(cfg)
    side, per, ws = 8, 4, 4
    sizes = {"sensory": side * side, "dynamic": side * side * per, "workspace": ws * ws, "oscillator": 40,
             "relay": 40, "highway": 20}
    b = sg.NetworkBuilder(seed=3, dt=cfg["sim.dt"])
    for t, size in sizes.items():
        b.population(t, size, t)
    kinds = ("excitatory", "inhibitory", "modulatory", "gated")
    scale, degree, steps = cfg["graph.weight_scale"], cfg["graph.out_degree"], round(cfg["graph.max_delay"])
    weight = sg.builder.uniform(0.1 * scale, scale)
    delay = sg.builder.uniform(0.5 * cfg["sim.dt"], (steps + 0.499) * cfg["sim.dt"])
    receivers = [t for t in sizes if t != "sensory"]
    non_sensory = sum(sizes[t] for t in receivers)
    for t in sizes:
        if t == "workspace":
            continue  # the workspace only receives
        for kind, fraction in zip(kinds, cfg["graph.kind_fractions"]):
            for target in ["dynamic"] if t == "sensory" else receivers:
                n_targets = sizes["dynamic"] if t == "sensory" else non_sensory - 1
                b.connect(t, target, "pairwise_bernoulli", p=degree * fraction / n_targets, weight=weight,
                          delay=delay, kind=kind, plastic=kind == "excitatory", autapses=False)
    pixels = np.arange(side * side)
    dyn = np.arange(side * side * per)
    cell = (pixels // side * ws // side) * ws + pixels % side * ws // side
    b.connect("sensory", "dynamic", "from_list", pairs=(np.repeat(pixels, per), dyn),
              weight=cfg["graph.column_weight"], delay=cfg["sim.dt"])
    b.connect("dynamic", "workspace", "from_list", pairs=(dyn, np.repeat(cell, per)),
              weight=cfg["graph.readout_weight"], delay=cfg["sim.dt"])
    built = b.build()
    np.testing.assert_array_equal(built.node_types, net.node_types)

    def split(n: sg.Network) -> tuple[set[tuple[int, int, float]], np.ndarray]:
        src, tgt = n.sources(), np.asarray(n.targets)
        w, d = np.asarray(n.weights), np.asarray(n.delays)
        fixed = (np.isin(w, np.float32([cfg["graph.column_weight"], cfg["graph.readout_weight"]])) & (d == 1)
                 & ~np.asarray(n.plastic, dtype=bool))
        pathway = {(int(s), int(t), float(x)) for s, t, x in zip(src[fixed], tgt[fixed], w[fixed])}
        types = np.asarray(n.node_types)
        counts = np.zeros((8, 8, 4))
        np.add.at(counts, (types[src[~fixed]], types[tgt[~fixed]], np.asarray(n.kinds)[~fixed]), 1)
        return pathway, counts

    pathway_a, counts_a = split(net)
    pathway_b, counts_b = split(built)
    assert pathway_a == pathway_b and len(pathway_a) == 2 * side * side * per
    both = counts_a + counts_b
    assert np.all(np.abs(counts_a - counts_b) <= 5 * np.sqrt(both) + 2), (counts_a - counts_b)[both > 0]
    assert counts_a.sum() == pytest.approx(counts_b.sum(), rel=0.05)
