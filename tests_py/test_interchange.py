"""Interchange formats (spikegraph.interchange): SONATA, networkx, PyTorch Geometric."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import spikegraph as sg
from spikegraph import interchange as ic


def small_config() -> sg.Config:
    cfg = sg.default_run_config()
    cfg.update({"graph.sensory_side": 8, "sim.threads": 1})
    return cfg


@pytest.fixture(scope="module")
def default_net() -> sg.Network:
    return sg.networks.from_config(small_config())


@pytest.fixture(scope="module")
def learned() -> sg.Simulation:
    """A simulation whose plastic weights have changed."""
    cfg = small_config()
    sim = sg.Simulation(sg.networks.from_config(cfg), cfg)
    sim.run(100.0)
    assert not np.array_equal(sim.weights, sim.network.weights)
    return sim


def mixed_net() -> sg.Network:
    """Every node type and edge kind, multapses, some plastic edges, long delays."""
    rng = np.random.default_rng(11)
    n, e = 40, 300
    return sg.Network.from_arrays(
        n, rng.integers(0, n, e), rng.integers(0, n, e), rng.random(e) * 3,
        delays=rng.integers(1, 400, e), kinds=rng.integers(0, 4, e),
        node_types=rng.integers(0, 7, n), plastic=rng.integers(0, 2, e),
    )


def assert_same(a: Any, b: Any) -> None:
    """Equal arrays, bit for bit and dtype for dtype (and the same CSR layout)."""
    x, y = ic.network_arrays(a), ic.network_arrays(b)
    assert x.keys() == y.keys()
    for key in x:
        if key == "num_nodes":
            assert x[key] == y[key]
        else:
            assert x[key].dtype == y[key].dtype, key
            assert x[key].tobytes() == y[key].tobytes(), key
    if isinstance(a, sg.Network) and isinstance(b, sg.Network):
        np.testing.assert_array_equal(a.out_offsets, b.out_offsets)
        np.testing.assert_array_equal(a.plastic, b.plastic)


NETWORKS = {
    "default": lambda: sg.networks.from_config(small_config()),
    "mixed": mixed_net,
    "brunel_plastic": lambda: sg.networks.brunel(200, k_in=20, plastic_exc_exc=True),
    "no_edges": lambda: sg.Network.from_arrays(5, [], [], [], node_types=["workspace"] * 5),
}


# ---------------------------------------------------------------- SONATA


@pytest.mark.parametrize("name", sorted(NETWORKS))
def test_sonata_round_trip_is_exact(name: str, tmp_path: Path) -> None:
    pytest.importorskip("h5py")
    net = NETWORKS[name]()
    paths = ic.to_sonata(net, tmp_path / "net")
    assert {p.name for p in paths.values()} == {"nodes.h5", "edges.h5", "node_types.csv", "edge_types.csv",
                                                "circuit_config.json"}
    assert_same(ic.from_sonata(tmp_path / "net"), net)
    assert not list((tmp_path / "net").glob("*.tmp"))


def test_sonata_keeps_learned_weights(learned: sg.Simulation, tmp_path: Path) -> None:
    pytest.importorskip("h5py")
    ic.to_sonata(learned, tmp_path)
    back = ic.from_sonata(tmp_path)
    assert back.weights.tobytes() == learned.weights.tobytes()
    assert_same(back, learned)


def test_sonata_layout(tmp_path: Path) -> None:
    h5py = pytest.importorskip("h5py")
    net = mixed_net()
    ic.to_sonata(net, tmp_path, population="cortex", dt_ms=0.1)
    with h5py.File(tmp_path / "nodes.h5", "r") as f:
        assert f.attrs["magic"] == 0x0A7A and list(f.attrs["version"]) == [0, 1]
        pop = f["nodes/cortex"]
        np.testing.assert_array_equal(pop["node_type_id"][()], net.node_types)
        np.testing.assert_array_equal(pop["node_group_index"][()], np.arange(40))
    with h5py.File(tmp_path / "edges.h5", "r") as f:
        pop = f["edges/cortex_edges"]
        assert pop["source_node_id"].attrs["node_population"] == "cortex"
        assert pop["target_node_id"].attrs["node_population"] == "cortex"
        np.testing.assert_array_equal(pop["source_node_id"][()], net.sources())
        np.testing.assert_allclose(pop["0/delay"][()], net.delays * 0.1)
        np.testing.assert_array_equal(pop["edge_type_id"][()], net.kinds)
    with open(tmp_path / "node_types.csv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f, delimiter=" "))
    assert [r["spikegraph_type"] for r in rows] == list(sg.NODE_TYPES)
    config = json.loads((tmp_path / "circuit_config.json").read_text(encoding="utf-8"))
    assert config["networks"]["nodes"][0]["populations"] == {"cortex": {"type": "point_neuron"}}


def test_libsonata_reads_our_network(default_net: sg.Network, tmp_path: Path) -> None:
    """An independent SONATA reader (BlueBrain's libsonata) sees the same graph."""
    libsonata = pytest.importorskip("libsonata")
    ic.to_sonata(default_net, tmp_path)
    nodes = libsonata.NodeStorage(str(tmp_path / "nodes.h5"))
    assert nodes.population_names == {"spikegraph"}
    assert nodes.open_population("spikegraph").size == default_net.num_nodes
    edges = libsonata.EdgeStorage(str(tmp_path / "edges.h5")).open_population("spikegraph_edges")
    assert edges.size == default_net.num_edges
    assert edges.source == edges.target == "spikegraph"
    everything = edges.select_all()
    np.testing.assert_array_equal(edges.source_nodes(everything), default_net.sources())
    np.testing.assert_array_equal(edges.target_nodes(everything), default_net.targets)
    np.testing.assert_array_equal(edges.get_attribute("syn_weight", everything), default_net.weights)
    np.testing.assert_array_equal(edges.get_attribute("kind", everything), default_net.kinds)
    np.testing.assert_array_equal(edges.get_attribute("delay_steps", everything), default_net.delays)
    # Its index lookups (our indices/ tables) agree with the engine's CSR and by-target index.
    in_offsets, in_ids, _ = default_net.in_edges()
    out_offsets = default_net.out_offsets
    for node in range(default_net.num_nodes):
        np.testing.assert_array_equal(edges.efferent_edges(node).flatten(),
                                      np.arange(out_offsets[node], out_offsets[node + 1]))
        np.testing.assert_array_equal(np.sort(edges.afferent_edges(node).flatten()),
                                      np.sort(in_ids[in_offsets[node]:in_offsets[node + 1]]))
    circuit = libsonata.CircuitConfig.from_file(str(tmp_path / "circuit_config.json"))
    assert circuit.node_populations == {"spikegraph"}
    assert circuit.edge_populations == {"spikegraph_edges"}


def test_foreign_sonata_files(tmp_path: Path) -> None:
    """Files written by another tool: no spikegraph columns, signed weights, delays in ms,
    two edge groups, a weight given per edge type."""
    h5py = pytest.importorskip("h5py")
    with h5py.File(tmp_path / "nodes.h5", "w") as f:
        pop = f.create_group("nodes/v1")
        pop["node_type_id"] = np.array([100, 100, 101, 101])
        pop["node_group_id"] = np.zeros(4, np.uint32)
        pop["node_group_index"] = np.arange(4)
        pop.create_group("0")
    with h5py.File(tmp_path / "edges.h5", "w") as f:
        pop = f.create_group("edges/v1_to_v1")
        pop["source_node_id"] = np.array([0, 1, 2, 3], np.uint64)
        pop["target_node_id"] = np.array([1, 2, 3, 0], np.uint64)
        pop["source_node_id"].attrs["node_population"] = "v1"
        pop["target_node_id"].attrs["node_population"] = "v1"
        pop["edge_type_id"] = np.array([7, 7, 8, 8])
        pop["edge_group_id"] = np.array([0, 1, 0, 1], np.uint32)
        pop["edge_group_index"] = np.array([0, 0, 1, 1])
        pop["0/syn_weight"] = np.array([0.5, -2.0])
        pop["0/delay"] = np.array([1.5, 0.2])
        pop["1/syn_weight"] = np.array([0.25, 1.0])
        pop["1/delay"] = np.array([3.0, 2.0])
    (tmp_path / "node_types.csv").write_text(
        "node_type_id model_type\n100 point_process\n101 point_process\n", encoding="utf-8")
    with pytest.raises(sg.InputError, match="give dt_ms"):
        ic.from_sonata(tmp_path)
    net = ic.from_sonata(tmp_path, dt_ms=0.5)
    assert net.num_nodes == 4 and set(net.node_types.tolist()) == {sg.NODE_TYPES.index("dynamic")}
    np.testing.assert_array_equal(net.sources(), [0, 1, 2, 3])
    np.testing.assert_array_equal(net.weights, np.float32([0.5, 0.25, 2.0, 1.0]))
    np.testing.assert_array_equal(net.kinds, [0, 0, 1, 0])  # negative weight: inhibitory
    np.testing.assert_array_equal(net.delays, [3, 6, 1, 4])  # ms / 0.5, at least 1
    (tmp_path / "node_types.csv").write_text(
        "node_type_id spikegraph_type\n100 relay\n101 workspace\n", encoding="utf-8")
    (tmp_path / "edge_types.csv").write_text(
        "edge_type_id spikegraph_kind\n7 modulatory\n8 gated\n", encoding="utf-8")
    typed = ic.from_sonata(tmp_path, dt_ms=0.5)
    np.testing.assert_array_equal(typed.node_types, [4, 4, 6, 6])
    np.testing.assert_array_equal(typed.kinds, [2, 2, 3, 3])
    (tmp_path / "edge_types.csv").write_text(
        "edge_type_id spikegraph_kind\n7 modulatory\n8 sideways\n", encoding="utf-8")
    with pytest.raises(sg.IoError, match="type id 8 has spikegraph_kind = 'sideways'"):
        ic.from_sonata(tmp_path, dt_ms=0.5)


def test_sonata_weights_from_edge_types(tmp_path: Path) -> None:
    h5py = pytest.importorskip("h5py")
    with h5py.File(tmp_path / "nodes.h5", "w") as f:
        f["nodes/p/node_type_id"] = np.zeros(3, np.int64)
    with h5py.File(tmp_path / "edges.h5", "w") as f:
        pop = f.create_group("edges/p_p")
        pop["source_node_id"] = np.array([0, 1], np.uint64)
        pop["target_node_id"] = np.array([1, 2], np.uint64)
        pop["edge_type_id"] = np.array([1, 2])
        pop["edge_group_id"] = np.zeros(2, np.uint32)
        pop["edge_group_index"] = np.arange(2)
        pop.create_group("0")
    with pytest.raises(sg.IoError, match="no syn_weight"):
        ic.from_sonata(tmp_path)
    (tmp_path / "edge_types.csv").write_text("edge_type_id syn_weight\n1 0.75\n2 -0.5\n", encoding="utf-8")
    net = ic.from_sonata(tmp_path)
    np.testing.assert_array_equal(net.weights, np.float32([0.75, 0.5]))
    np.testing.assert_array_equal(net.kinds, [0, 1])
    np.testing.assert_array_equal(net.delays, [1, 1])


def test_sonata_errors(default_net: sg.Network, tmp_path: Path) -> None:
    h5py = pytest.importorskip("h5py")
    with pytest.raises(sg.IoError, match=f"file not found: '{tmp_path / 'nodes.h5'}'"):
        ic.from_sonata(tmp_path)
    ic.to_sonata(default_net, tmp_path / "ok")
    (tmp_path / "ok" / "edges.h5").write_bytes(b"not hdf5 at all")
    with pytest.raises(sg.IoError, match="read SONATA"):
        ic.from_sonata(tmp_path / "ok")
    ic.to_sonata(default_net, tmp_path / "two")
    with h5py.File(tmp_path / "two" / "nodes.h5", "a") as f:
        f["nodes/other/node_type_id"] = np.zeros(2, np.int64)
    with pytest.raises(sg.IoError, match=r"several nodes populations \(other, spikegraph\)"):
        ic.from_sonata(tmp_path / "two")
    with pytest.raises(sg.IoError, match=r"edges/spikegraph_edges/source_node_id refers to node population "
                                         r"'spikegraph', not 'other'"):
        ic.from_sonata(tmp_path / "two", population="other")
    with pytest.raises(sg.IoError, match="no nodes population 'v2'"):
        ic.from_sonata(tmp_path / "two", population="v2")
    assert_same(ic.from_sonata(tmp_path / "two", population="spikegraph"), default_net)
    with h5py.File(tmp_path / "two" / "edges.h5", "a") as f:
        del f["edges/spikegraph_edges/0/syn_weight"]
        f["edges/spikegraph_edges/0/syn_weight"] = np.float32([1.0])  # too short for the index
    with pytest.raises(sg.IoError, match="edge_group_index out of range"):
        ic.from_sonata(tmp_path / "two", population="spikegraph")
    with h5py.File(tmp_path / "two" / "edges.h5", "a") as f:
        del f["edges/spikegraph_edges/target_node_id"]
    with pytest.raises(sg.IoError, match="missing dataset /edges/spikegraph_edges/target_node_id"):
        ic.from_sonata(tmp_path / "two", population="spikegraph")
    with pytest.raises(sg.InputError, match="population"):
        ic.to_sonata(default_net, tmp_path / "bad", population="a/b")
    with pytest.raises(sg.InputError, match="dt_ms"):
        ic.to_sonata(default_net, tmp_path / "bad", dt_ms=0.0)
    with pytest.raises(sg.InputError, match="expected a spikegraph Network or Simulation"):
        ic.to_sonata("network", tmp_path / "bad")  # type: ignore[arg-type]


def test_sonata_out_of_range_ids_are_io_errors(tmp_path: Path) -> None:
    h5py = pytest.importorskip("h5py")
    ic.to_sonata(mixed_net(), tmp_path)
    with h5py.File(tmp_path / "edges.h5", "a") as f:
        ids = f["edges/spikegraph_edges/target_node_id"]
        ids[0] = 999
    with pytest.raises(sg.IoError, match=r"targets\[0\] = 999 is out of range"):
        ic.from_sonata(tmp_path)


def test_sonata_spikes_round_trip_and_libsonata(learned: sg.Simulation, tmp_path: Path) -> None:
    pytest.importorskip("h5py")
    path = ic.to_sonata_spikes(learned, tmp_path / "spikes.h5")
    back = ic.from_sonata_spikes(path)
    spikes = learned.spikes
    assert back["population"] == "spikegraph" and back["sorting"] == "by_time" and back["dt_ms"] == 1.0
    assert back["steps"].tobytes() == spikes.steps.tobytes()
    np.testing.assert_array_equal(back["nodes"], spikes.nodes)
    np.testing.assert_array_equal(back["times_ms"], spikes.times_ms)
    libsonata = pytest.importorskip("libsonata")
    reader = libsonata.SpikeReader(str(path))
    assert reader.get_population_names() == ["spikegraph"]
    pop = reader["spikegraph"]
    assert pop.sorting == "by_time" and pop.time_units == "ms"
    pairs = np.array(pop.get(), dtype=np.float64).reshape(-1, 2)
    np.testing.assert_array_equal(pairs[:, 0], spikes.nodes)
    np.testing.assert_array_equal(pairs[:, 1], spikes.times_ms)


def test_sonata_spike_errors(tmp_path: Path) -> None:
    h5py = pytest.importorskip("h5py")
    with pytest.raises(sg.IoError, match="file not found"):
        ic.from_sonata_spikes(tmp_path / "none.h5")
    with h5py.File(tmp_path / "s.h5", "w") as f:
        f["spikes/a/timestamps"] = np.array([1.0, 2.0])
        f["spikes/a/node_ids"] = np.array([1], np.uint64)
    with pytest.raises(sg.IoError, match="differ in length"):
        ic.from_sonata_spikes(tmp_path / "s.h5")
    with h5py.File(tmp_path / "t.h5", "w") as f:
        f["spikes/a/timestamps"] = np.array([0.5])
        f["spikes/a/node_ids"] = np.array([3], np.uint64)
    foreign = ic.from_sonata_spikes(tmp_path / "t.h5")
    assert foreign["sorting"] == "none" and "steps" not in foreign
    (tmp_path / "junk.h5").write_bytes(b"junk")
    with pytest.raises(sg.IoError, match=r"junk\.h5"):
        ic.from_sonata_spikes(tmp_path / "junk.h5")
    with pytest.raises(sg.InputError, match="expected a Simulation or a Spikes record"):
        ic.to_sonata_spikes(42, tmp_path / "x.h5")  # type: ignore[arg-type]


# ---------------------------------------------------------------- networkx


@pytest.mark.parametrize("name", sorted(NETWORKS))
def test_networkx_round_trip_is_exact(name: str) -> None:
    nx = pytest.importorskip("networkx")
    net = NETWORKS[name]()
    graph = ic.to_networkx(net)
    assert isinstance(graph, nx.MultiDiGraph)
    assert graph.number_of_nodes() == net.num_nodes and graph.number_of_edges() == net.num_edges
    assert_same(ic.from_networkx(graph), net)


def test_networkx_attributes_and_digraph(learned: sg.Simulation) -> None:
    nx = pytest.importorskip("networkx")
    graph = ic.to_networkx(learned)
    current = learned.current_network
    sources, targets, weights = current.sources(), current.targets, learned.weights
    u, v, key = int(sources[7]), int(targets[7]), 0
    data = graph.get_edge_data(u, v)[key]
    assert data["weight"] == float(weights[np.flatnonzero((sources == u) & (targets == v))[0]])
    assert data["kind"] in sg.EDGE_KINDS and isinstance(data["plastic"], bool)
    assert graph.nodes[0]["type"] == "sensory"
    assert_same(ic.from_networkx(graph), learned)
    simple = sg.Network.from_arrays(3, [0, 1], [1, 2], [0.5, 1.5], kinds=["excitatory", "gated"])
    dig = ic.to_networkx(simple, multigraph=False)
    assert type(dig) is nx.DiGraph and dig.edges[1, 2]["kind"] == "gated"
    assert_same(ic.from_networkx(dig), simple)
    with pytest.raises(sg.GraphError, match="parallel edges"):
        ic.to_networkx(sg.Network.from_arrays(2, [0, 0], [1, 1], [1.0, 2.0]), multigraph=False)


def test_from_networkx_defaults_and_labels() -> None:
    nx = pytest.importorskip("networkx")
    g = nx.DiGraph()
    g.add_node("a", type="relay")
    g.add_node("b")
    g.add_edge("a", "b", weight=0.5)
    g.add_edge("b", "a", weight=0.25, kind="inhibitory", delay=3, plastic=True)
    net = ic.from_networkx(g)
    np.testing.assert_array_equal(net.node_types,
                                  [sg.NODE_TYPES.index("relay"), sg.NODE_TYPES.index("dynamic")])
    np.testing.assert_array_equal(net.kinds, [0, 1])
    np.testing.assert_array_equal(net.delays, [1, 3])
    np.testing.assert_array_equal(net.plastic, [0, 1])
    g.add_edge("a", "a")
    with pytest.raises(sg.GraphError, match="no 'weight' attribute"):
        ic.from_networkx(g)
    assert ic.from_networkx(g, default_weight=2.0).num_edges == 3
    g.nodes["b"]["type"] = "bogus"
    with pytest.raises(sg.GraphError, match="'bogus' is not a known name"):
        ic.from_networkx(g, default_weight=2.0)


# ---------------------------------------------------------------- PyTorch Geometric


@pytest.mark.parametrize("name", sorted(NETWORKS))
def test_pyg_arrays_round_trip_is_exact(name: str) -> None:
    net = NETWORKS[name]()
    arrays = ic.to_pyg_arrays(net)
    assert arrays["edge_index"].shape == (2, net.num_edges) and arrays["edge_index"].dtype == np.int64
    assert arrays["edge_attr"].shape == (net.num_edges, 4) and arrays["edge_attr"].dtype == np.float32
    assert arrays["node_type"].shape == (net.num_nodes,)
    assert_same(ic.from_pyg_arrays(**arrays), net)


def test_pyg_arrays_partial_and_errors() -> None:
    net = ic.from_pyg_arrays(np.array([[0, 1], [1, 2]]))
    assert net.num_nodes == 3 and net.weights.tolist() == [1.0, 1.0] and net.delays.tolist() == [1, 1]
    net = ic.from_pyg_arrays(np.array([[0], [1]]), np.array([0.5], np.float32), num_nodes=4)
    assert net.num_nodes == 4 and net.weights.tolist() == [0.5]
    with pytest.raises(sg.GraphError, match=r"shape \(2, E\)"):
        ic.from_pyg_arrays(np.zeros((3, 2), np.int64))
    with pytest.raises(sg.GraphError, match="integers"):
        ic.from_pyg_arrays(np.zeros((2, 2)))
    with pytest.raises(sg.GraphError, match=r"edge_attr must have shape \(E, 1..4\)"):
        ic.from_pyg_arrays(np.zeros((2, 2), np.int64), np.zeros((2, 5)))
    with pytest.raises(sg.GraphError, match=r"delay\[1\] = 2.5 is not an integer"):
        ic.from_pyg_arrays(np.zeros((2, 2), np.int64), np.array([[1.0, 1.0], [1.0, 2.5]]))
    with pytest.raises(sg.GraphError, match="out of range"):
        ic.from_pyg_arrays(np.array([[0], [5]]), num_nodes=2)


def test_pyg_data_round_trip() -> None:
    pytest.importorskip("torch_geometric")
    net = mixed_net()
    data = ic.to_pyg(net)
    assert data.num_nodes == net.num_nodes and tuple(data.edge_index.shape) == (2, net.num_edges)
    assert_same(ic.from_pyg(data), net)


def test_missing_optional_package_names_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "torch", None)  # makes "import torch" fail here
    monkeypatch.setitem(sys.modules, "h5py", None)
    with pytest.raises(ImportError, match="pip install torch"):
        ic.to_pyg(mixed_net())
    with pytest.raises(ImportError, match="pip install h5py"):
        ic.to_sonata(mixed_net(), "unused")
