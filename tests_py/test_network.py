"""Networks: building from arrays (validated in C++), zero-copy views, the Brunel generator."""

from __future__ import annotations

import gc
from typing import Any

import numpy as np
import pytest
import spikegraph as sg


def edges(**overrides: Any) -> dict[str, Any]:
    """A valid 2-edge network on 3 nodes, with some arguments replaced."""
    args: dict[str, Any] = {
        "num_nodes": 3,
        "sources": [0, 1],
        "targets": [1, 2],
        "weights": [0.5, 1.5],
        "delays": None,
        "kinds": None,
        "node_types": None,
        "plastic": None,
    }
    args.update(overrides)
    return args


# ---------------------------------------------------------------- building


def test_kinds_and_node_types_by_int_or_name() -> None:
    by_name = sg.Network.from_arrays(
        4,
        [0, 1, 2, 3],
        [1, 2, 3, 0],
        [1.0, 2.0, 3.0, 4.0],
        kinds=["excitatory", "inhibitory", "modulatory", "gated"],
        node_types=np.array(["sensory", "relay", "highway", "workspace"]),
    )
    by_int = sg.Network.from_arrays(
        4,
        np.array([0, 1, 2, 3], dtype=np.uint16),
        np.array([1, 2, 3, 0], dtype=np.int32),
        np.array([1, 2, 3, 4], dtype=np.int64),  # integer weights are fine
        kinds=np.array([0, 1, 2, 3], dtype=np.uint8),
        node_types=[0, 4, 5, 6],
    )
    for net in (by_name, by_int):
        assert net.kinds.tolist() == [0, 1, 2, 3]
        assert net.node_types.tolist() == [0, 4, 5, 6]
        assert [sg.EDGE_KINDS[k] for k in net.kinds] == ["excitatory", "inhibitory", "modulatory", "gated"]
        assert [sg.NODE_TYPES[t] for t in net.node_types] == ["sensory", "relay", "highway", "workspace"]
        net.validate()
    assert np.array_equal(by_name.weights, by_int.weights)


def test_defaults_delay_1_excitatory_dynamic() -> None:
    net = sg.Network.from_arrays(3, [0, 2], [1, 1], [0.1, 0.2])
    assert net.delays.tolist() == [1, 1]
    assert net.kinds.tolist() == [0, 0]
    assert net.node_types.tolist() == [sg.NODE_TYPES.index("dynamic")] * 3
    assert net.max_delay == 1
    assert net.num_nodes == 3 and net.num_edges == 2
    assert repr(net) == "Network(num_nodes=3, num_edges=2)"


def test_network_without_edges() -> None:
    net = sg.Network.from_arrays(5, [], [], [])
    assert net.num_edges == 0 and net.max_delay == 0
    assert net.out_offsets.tolist() == [0] * 6
    assert net.targets.size == 0 and net.sources().size == 0
    in_offsets, ids, srcs = net.in_edges()
    assert in_offsets.tolist() == [0] * 6 and ids.size == 0 and srcs.size == 0
    net.validate()


def test_edges_sorted_by_source_then_target_stably() -> None:
    rng = np.random.default_rng(11)
    m, n = 600, 12
    src = rng.integers(0, n, m)
    tgt = rng.integers(0, n, m)
    weights = np.arange(m, dtype=np.float64)  # identifies each input edge (exact in float32)
    delays = rng.integers(1, 9, m)
    kinds = rng.integers(0, 4, m)
    net = sg.Network.from_arrays(n, src, tgt, weights, delays=delays, kinds=kinds)
    order = sorted(range(m), key=lambda e: (src[e], tgt[e]))  # Python's sort is stable
    assert net.weights.tolist() == [float(e) for e in order]
    assert net.targets.tolist() == tgt[order].tolist()
    assert net.sources().tolist() == src[order].tolist()
    assert net.delays.tolist() == delays[order].tolist()
    assert net.kinds.tolist() == kinds[order].tolist()
    assert net.max_delay == delays.max()
    # CSR row pointers agree with the sources.
    assert np.array_equal(np.diff(net.out_offsets.astype(np.int64)), np.bincount(src, minlength=n))
    net.validate()


def test_small_example_order() -> None:
    net = sg.Network.from_arrays(4, [2, 0, 2, 0, 1], [1, 3, 0, 3, 2], [1, 2, 3, 4, 5], delays=[1, 2, 3, 4, 5])
    assert net.sources().tolist() == [0, 0, 1, 2, 2]
    assert net.targets.tolist() == [3, 3, 2, 0, 1]
    assert net.weights.tolist() == [2, 4, 5, 3, 1]  # the two (0, 3) multapses keep their input order
    assert net.delays.tolist() == [2, 4, 5, 3, 1]
    assert net.out_offsets.tolist() == [0, 2, 3, 5, 5]


def test_views_are_read_only_with_engine_dtypes() -> None:
    net = sg.Network.from_arrays(
        3, [0, 1, 2], [1, 2, 0], [0.25, 0.5, 0.75], delays=[1, 2, 3], kinds=[0, 1, 0]
    )
    expected = {
        "targets": np.uint32,
        "weights": np.float32,
        "delays": np.uint16,
        "kinds": np.uint8,
        "node_types": np.uint8,
        "out_offsets": np.uint64,
    }
    for name, dtype in expected.items():
        view = getattr(net, name)
        assert isinstance(view, np.ndarray), name
        assert view.dtype == dtype, name
        assert view.ndim == 1, name
        assert not view.flags.writeable, name
        with pytest.raises(ValueError, match="read-only"):
            view[0] = 1
    # Two reads of a view share memory (zero-copy, no conversion each time).
    assert np.shares_memory(net.weights, net.weights)
    sources = net.sources()
    assert sources.dtype == np.uint32 and sources.flags.writeable  # a new array
    in_offsets, ids, srcs = net.in_edges()
    assert in_offsets.dtype == np.uint64 and ids.dtype == np.uint32 and srcs.dtype == np.uint32
    assert not in_offsets.flags.writeable


def test_views_outlive_the_network_object() -> None:
    net = sg.Network.from_arrays(
        50, np.arange(49), np.arange(1, 50), np.linspace(0.0, 4.9, 49), delays=[3] * 49
    )
    weights = net.weights
    delays = net.delays
    in_offsets, ids, srcs = net.in_edges()
    expected_weights = np.linspace(0.0, 4.9, 49).astype(np.float32)
    del net
    gc.collect()
    # Churn the allocator so that freed memory would be reused and overwritten.
    junk = [np.full(4096, 7.0) for _ in range(64)]
    assert np.array_equal(weights, expected_weights)
    assert delays.tolist() == [3] * 49
    assert in_offsets.tolist() == [0, 0, *range(1, 50)]
    assert srcs.tolist() == list(range(49)) and ids.tolist() == list(range(49))
    del junk


def test_in_edges_index() -> None:
    rng = np.random.default_rng(5)
    n, m = 40, 400
    src, tgt = rng.integers(0, n, m), rng.integers(0, n, m)
    net = sg.Network.from_arrays(n, src, tgt, rng.random(m))
    before = net.memory_bytes()
    in_offsets, ids, in_sources = net.in_edges()
    assert net.memory_bytes() > before  # the index is built on first use and counted
    sources, targets = net.sources(), net.targets
    assert np.array_equal(np.diff(in_offsets.astype(np.int64)), np.bincount(tgt, minlength=n))
    for j in range(n):
        row = ids[in_offsets[j] : in_offsets[j + 1]]
        assert np.all(targets[row] == j)
        assert np.all(np.diff(row.astype(np.int64)) > 0)  # ascending edge ids
        assert np.array_equal(in_sources[in_offsets[j] : in_offsets[j + 1]], sources[row])
    net.validate()


def test_stats_and_memory() -> None:
    net = sg.Network.from_arrays(
        5,
        [0, 0, 1, 3],
        [1, 2, 2, 2],
        [1.0, 2.0, 3.0, 6.0],
        delays=[1, 4, 2, 2],
        kinds=["excitatory", "inhibitory", "gated", "excitatory"],
        node_types=["dynamic", "relay", "dynamic", "oscillator", "dynamic"],
    )
    s = net.stats()
    assert s["num_nodes"] == 5 and s["num_edges"] == 4
    assert s["edges_by_kind"] == {"excitatory": 2, "inhibitory": 1, "modulatory": 0, "gated": 1}
    assert s["nodes_by_type"]["dynamic"] == 3 and s["nodes_by_type"]["relay"] == 1
    assert s["nodes_by_type"]["oscillator"] == 1 and sum(s["nodes_by_type"].values()) == 5
    assert s["max_delay"] == 4 and s["max_out_degree"] == 2 and s["max_in_degree"] == 3
    assert s["mean_weight"] == pytest.approx(3.0)
    assert net.memory_bytes() >= 4 * (4 + 4 + 2 + 1) + 6 * 8 + 5


def test_num_nodes_as_numpy_integer() -> None:
    net = sg.Network.from_arrays(np.int64(3), [0], [2], [1.0])  # type: ignore[arg-type]
    assert net.num_nodes == 3


def test_plastic_flags_accepted() -> None:
    for plastic in ([True, False], np.array([1, 0], dtype=np.uint8), [0, 1]):
        net = sg.Network.from_arrays(**edges(plastic=plastic))
        net.validate()


def test_network_wraps_only_core_graphs() -> None:
    with pytest.raises(TypeError, match="from_arrays"):
        sg.Network(5)  # type: ignore[arg-type]


# ---------------------------------------------------------------- bad input

BAD_INPUTS: list[tuple[str, dict[str, Any], str]] = [
    ("targets length", edges(targets=[1, 2, 0]), "targets has 3 elements, expected 2"),
    ("weights length", edges(weights=[1.0]), "weights has 1 elements, expected 2"),
    ("delays length", edges(delays=[1, 1, 1]), "delays has 3 elements, expected 2"),
    ("kinds length", edges(kinds=[0]), "kinds has 1 elements, expected 2"),
    ("plastic length", edges(plastic=[0, 1, 0]), "plastic has 3 elements, expected 2"),
    ("node_types length", edges(node_types=[1, 1]), "node_types has 2 elements, expected 3"),
    ("2-D sources", edges(sources=[[0, 1]], targets=[[1, 2]]), "sources must be 1-D, got shape (1, 2)"),
    ("2-D weights", edges(weights=np.ones((2, 1))), "weights must be 1-D"),
    ("float sources", edges(sources=[0.0, 1.0]), "sources must be an integer array, got dtype float64"),
    ("float targets", edges(targets=np.array([1, 2], dtype=np.float32)), "targets must be an integer array"),
    ("float delays", edges(delays=[1.0, 2.0]), "delays must be an integer array"),
    ("string weights", edges(weights=["a", "b"]), "weights must be a numeric array"),
    ("NaN weight", edges(weights=[0.5, np.nan]), "weights[1] = nan is not finite"),
    ("inf weight", edges(weights=[np.inf, 0.5]), "weights[0] = inf is not finite"),
    ("-inf weight", edges(weights=[0.5, -np.inf]), "weights[1] = -inf is not finite"),
    ("negative weight", edges(weights=[0.5, -0.25]), "weights[1] = -0.25 is negative"),
    ("float32 overflow", edges(weights=[1e39, 0.5]), "weights[0] overflows float32"),
    ("target too large", edges(targets=[1, 3]), "targets[1] = 3 is out of range [0, 3)"),
    ("negative target", edges(targets=[-2, 1]), "targets[0] = -2 is out of range [0, 3)"),
    ("source too large", edges(sources=[0, 7]), "sources[1] = 7 is out of range [0, 3)"),
    ("negative source", edges(sources=[-1, 0]), "sources[0] = -1 is out of range [0, 3)"),
    ("delay 0", edges(delays=[1, 0]), "delays[1] = 0 steps is out of range [1, 65535]"),
    ("negative delay", edges(delays=[-3, 1]), "delays[0] = -3 steps is out of range"),
    ("delay too large", edges(delays=[65536, 1]), "delays[0] = 65536 steps is out of range"),
    (
        "unknown kind name",
        edges(kinds=["excitatory", "exhilarating"]),
        "kinds[1] = 'exhilarating' is not a known name",
    ),
    ("kind out of range", edges(kinds=[0, 4]), "kinds[1] = 4 is not an edge kind"),
    ("negative kind", edges(kinds=[-1, 0]), "kinds[0] = -1 is not an edge kind"),
    (
        "unknown node type",
        edges(node_types=["dynamic", "neuron", "relay"]),
        "is not a known name",
    ),
    ("node type out of range", edges(node_types=[1, 1, 7]), "node_types[2] = 7 is not a node type"),
    ("plastic 2", edges(plastic=[0, 2]), "plastic[1] = 2 must be 0 or 1"),
    ("plastic -1", edges(plastic=[-1, 0]), "plastic[0] = -1 must be 0 or 1"),
    ("plastic float", edges(plastic=[0.5, 1.0]), "plastic must be boolean or 0/1, got dtype float64"),
    ("zero nodes", edges(num_nodes=0, sources=[], targets=[], weights=[]), "a graph needs at least one node"),
    ("negative nodes", edges(num_nodes=-1, sources=[], targets=[], weights=[]), "num_nodes must be >= 0"),
    ("float nodes", edges(num_nodes=3.0), "num_nodes must be an integer, got 3.0"),
    ("bool nodes", edges(num_nodes=True), "num_nodes must be an integer, got True"),
    ("string nodes", edges(num_nodes="3"), "num_nodes must be an integer, got '3'"),
]


@pytest.mark.parametrize(("args", "fragment"), [b[1:] for b in BAD_INPUTS], ids=[b[0] for b in BAD_INPUTS])
def test_bad_input_raises_graph_error_naming_array(args: dict[str, Any], fragment: str) -> None:
    with pytest.raises(sg.GraphError) as info:
        sg.Network.from_arrays(**args)
    assert isinstance(info.value, ValueError)
    msg = str(info.value)
    assert msg.startswith("build graph: ")
    assert fragment in msg


def test_unknown_kind_name_error_names_the_index() -> None:
    with pytest.raises(sg.GraphError, match=r"kinds\[1\]"):
        sg.Network.from_arrays(**edges(kinds=["excitatory", "exhilarating"]))


def test_bad_plastic_value_error_names_the_index() -> None:
    with pytest.raises(sg.GraphError, match=r"plastic\[1\]"):
        sg.Network.from_arrays(**edges(plastic=[0, 2]))


# ---------------------------------------------------------------- Brunel


@pytest.mark.parametrize(("n", "k_in", "exc_fraction"), [(400, 40, 0.8), (101, 7, 0.8), (50, 10, 0.5)])
def test_brunel_exact_in_degree_and_populations(n: int, k_in: int, exc_fraction: float) -> None:
    j, g = 0.2, 4.0
    net = sg.networks.brunel(
        n, k_in=k_in, exc_fraction=exc_fraction, j=j, g=g, delay_ms=1.5, dt_ms=0.1, seed=9
    )
    n_exc = round(exc_fraction * n)
    k_exc = round(exc_fraction * k_in)
    assert net.num_nodes == n and net.num_edges == n * k_in
    in_offsets, ids, in_sources = net.in_edges()
    assert np.all(np.diff(in_offsets.astype(np.int64)) == k_in)
    kinds, weights = net.kinds, net.weights
    for t in range(n):
        row = ids[in_offsets[t] : in_offsets[t + 1]]
        srcs = in_sources[in_offsets[t] : in_offsets[t + 1]]
        exc = kinds[row] == 0
        assert exc.sum() == k_exc
        assert np.all(srcs[exc] < n_exc) and np.all(srcs[~exc] >= n_exc)
        assert np.all(kinds[row][~exc] == 1)
    sources = net.sources()
    assert np.all((sources < n_exc) == (kinds == 0))
    assert np.all(weights[kinds == 0] == np.float32(j))
    assert np.all(weights[kinds == 1] == np.float32(g * j))
    assert np.all(net.delays == 15)
    assert np.all(net.node_types == sg.NODE_TYPES.index("dynamic"))
    s = net.stats()
    assert s["max_in_degree"] == k_in
    assert s["edges_by_kind"]["excitatory"] == n * k_exc
    assert s["edges_by_kind"]["inhibitory"] == n * (k_in - k_exc)
    assert s["nodes_by_type"]["dynamic"] == n
    assert s["mean_weight"] == pytest.approx((k_exc * j + (k_in - k_exc) * g * j) / k_in, rel=1e-6)
    net.validate()


def test_brunel_deterministic_per_seed() -> None:
    a = sg.networks.brunel(500, k_in=20, seed=4)
    b = sg.networks.brunel(500, k_in=20, seed=4)
    c = sg.networks.brunel(500, k_in=20, seed=5)
    for name in ("targets", "weights", "delays", "kinds", "out_offsets"):
        assert np.array_equal(getattr(a, name), getattr(b, name)), name
    assert np.array_equal(a.sources(), b.sources())
    assert not np.array_equal(a.sources(), c.sources())


def test_brunel_sources_are_spread_uniformly() -> None:
    n, k_in = 2000, 50
    net = sg.networks.brunel(n, k_in=k_in, seed=2)
    out_degree = np.diff(net.out_offsets.astype(np.int64))
    exc = out_degree[:1600]
    # Excitatory sources are drawn uniformly from 1600 nodes: out-degree ~ Binomial(2000 * 40, 1/1600).
    assert exc.mean() == pytest.approx(n * 40 / 1600)
    assert exc.var() == pytest.approx(n * 40 / 1600, rel=0.2)


def test_brunel_delay_in_steps() -> None:
    assert sg.networks.brunel(20, k_in=2, delay_ms=1.5, dt_ms=0.1).max_delay == 15
    assert sg.networks.brunel(20, k_in=2, delay_ms=0.01, dt_ms=0.1).max_delay == 1  # at least one step
    assert sg.networks.brunel(20, k_in=2, delay_ms=3.0, dt_ms=1.0).max_delay == 3


def test_brunel_from_config_matches_brunel() -> None:
    cfg = sg.Config(
        {"network": {"n": 300, "k_in": 12, "j": 0.3, "g": 3.0, "delay": 2.0}, "sim": {"dt": 0.5, "seed": 8}}
    )
    a = sg.networks.from_config(cfg)
    b = sg.networks.brunel(300, k_in=12, j=0.3, g=3.0, delay_ms=2.0, dt_ms=0.5, seed=8)
    for name in ("targets", "weights", "delays", "kinds", "out_offsets"):
        assert np.array_equal(getattr(a, name), getattr(b, name)), name
    assert sg.networks.from_config({"network.n": 50, "network.k_in": 5}).num_edges == 250


def test_brunel_delay_rounding_matches_from_config() -> None:
    direct = sg.networks.brunel(20, k_in=2, delay_ms=2.5, dt_ms=1.0)
    via_config = sg.networks.from_config({"network": {"n": 20, "k_in": 2, "delay": 2.5}, "sim": {"dt": 1.0}})
    assert direct.max_delay == via_config.max_delay


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"n": 0}, "n = 0 must be in"),
        ({"n": 10, "k_in": -1}, "k_in = -1 must be >= 0"),
        ({"n": 10, "exc_fraction": 1.5}, "exc_fraction must be in [0, 1]"),
        ({"n": 10, "j": -0.1}, "j must be finite and >= 0"),
        ({"n": 10, "g": float("nan")}, "g must be finite and >= 0"),
        ({"n": 10, "dt_ms": 0.0}, "dt_ms must be > 0"),
        ({"n": 10, "exc_fraction": 1.0, "k_in": 5}, None),  # no inhibitory edges requested: fine
        ({"n": 4, "exc_fraction": 0.1, "k_in": 10}, "excitatory edges requested but no excitatory nodes"),
    ],
)
def test_brunel_bad_parameters(kwargs: dict[str, Any], fragment: str | None) -> None:
    if fragment is None:
        sg.networks.brunel(**kwargs).validate()
        return
    with pytest.raises(sg.GraphError) as info:
        sg.networks.brunel(**kwargs)
    assert fragment in str(info.value)


def test_node_types_and_edge_kinds_come_from_the_engine() -> None:
    types = ("sensory", "dynamic", "oscillator", "integrator", "relay", "highway", "workspace")
    assert sg.NODE_TYPES == types
    assert sg.EDGE_KINDS == ("excitatory", "inhibitory", "modulatory", "gated")
    traits = {t["name"]: t for t in sg.NODE_TYPE_TRAITS}
    assert traits["integrator"]["leaky"] is False and traits["dynamic"]["leaky"] is True
    assert traits["highway"]["flow_factor"] == 2 and traits["relay"]["scales_outgoing"]
    assert [name for name, t in traits.items() if t["oscillates"]] == ["oscillator"]
    keys = {p["key"] for p in sg.schema()}
    for name, t in traits.items():
        assert (f"node.{name}.gain" in keys) == t["scales_outgoing"]
        assert (f"node.{name}.period" in keys) == t["oscillates"]
