"""Fuzzing where input enters from Python (hypothesis): arrays, the networkx and PyG
importers, SONATA files, spike files and .npz results, frames and audio. Every input
must give a result or a spikegraph error (a subclass of ``SpikegraphError``) that
changes nothing, never a crash, a hang or another exception. The number of examples
per entry point is set by SPIKEGRAPH_FUZZ_EXAMPLES (default 150)."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import numpy as np
import pytest
import spikegraph as sg

if importlib.util.find_spec("hypothesis") is None:
    assert not os.environ.get("SPIKEGRAPH_CI"), "CI installs hypothesis: the fuzz tests must run there"
    pytest.skip("needs hypothesis (pip install hypothesis)", allow_module_level=True)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

FUZZ = settings(max_examples=int(os.environ.get("SPIKEGRAPH_FUZZ_EXAMPLES", "150")), deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])

# Numbers as they arrive from users: ordinary, huge, negative, NaN, infinite.
ints = st.integers(min_value=-(2**63), max_value=2**63 - 1) | st.integers(-3, 70)
floats = st.floats(allow_nan=True, allow_infinity=True) | st.floats(0.0, 2.0)
dtypes = st.sampled_from([np.int64, np.int32, np.uint8, np.float64, np.float32, np.bool_])


def arrays(size: st.SearchStrategy[int]) -> st.SearchStrategy[np.ndarray]:
    return dtypes.flatmap(lambda dt: hnp.arrays(dt, size, elements=hnp.from_dtype(np.dtype(dt))))


def accepted_or_refused(call, *args, **kwargs):  # type: ignore[no-untyped-def]
    try:
        return call(*args, **kwargs)
    except sg.SpikegraphError:
        return None


@FUZZ
@given(n=st.integers(-2, 40), m=st.integers(0, 60), data=st.data())
def test_from_arrays(n: int, m: int, data: st.DataObject) -> None:
    src, tgt, w = (data.draw(arrays(st.just(m))) for _ in range(3))
    extras = {k: data.draw(st.none() | arrays(st.just(m))) for k in ("delays", "kinds", "plastic")}
    types = data.draw(st.none() | arrays(st.just(max(n, 0))))
    net = accepted_or_refused(sg.Network.from_arrays, n, src, tgt, w, node_types=types, **extras)
    if net is not None:
        assert net.num_nodes == n and net.num_edges == m
        sim = sg.Simulation(net, {"sim": {"threads": 1}})
        sim.run(3.0)


@FUZZ
@given(edge_index=hnp.arrays(np.int64, st.tuples(st.integers(1, 3), st.integers(0, 30)),
                             elements=st.integers(-2, 40)),
       attr_cols=st.integers(0, 5), data=st.data())
def test_from_pyg_arrays(edge_index: np.ndarray, attr_cols: int, data: st.DataObject) -> None:
    m = edge_index.shape[1]
    attr = data.draw(st.none() | hnp.arrays(np.float64, (m, attr_cols), elements=floats))
    num_nodes = data.draw(st.none() | st.integers(-1, 50))
    net = accepted_or_refused(sg.interchange.from_pyg_arrays, edge_index, attr, num_nodes=num_nodes)
    if net is not None:
        assert net.num_edges == m


@pytest.mark.skipif(importlib.util.find_spec("networkx") is None, reason="needs networkx")
@FUZZ
@given(edges=st.lists(st.tuples(st.integers(0, 12), st.integers(0, 12),
                                st.dictionaries(st.sampled_from(["weight", "delay", "kind", "plastic", "x"]),
                                                floats | ints | st.text(max_size=12) | st.none(),
                                                max_size=4)), max_size=25),
       types=st.dictionaries(st.integers(0, 12), st.text(max_size=10) | ints, max_size=5))
def test_from_networkx(edges: list, types: dict) -> None:  # type: ignore[type-arg]
    import networkx as nx

    g = nx.MultiDiGraph()
    g.add_nodes_from(range(13))
    for node, t in types.items():
        g.nodes[node]["type"] = t
    for u, v, attrs in edges:
        g.add_edge(u, v, **attrs)
    net = accepted_or_refused(sg.interchange.from_networkx, g, default_weight=0.5)
    if net is not None:
        assert net.num_nodes == 13 and net.num_edges == len(edges)


def valid_spike_file(tmp: Path) -> bytes:
    cfg = sg.Config({"sim": {"threads": 1}, "node": {"dynamic": {"drive": 2.0}}})
    sim = sg.Simulation(sg.networks.brunel(50, k_in=5), cfg)
    sim.run(20.0)
    sim.write_spike_file(tmp / "valid.bin")
    return (tmp / "valid.bin").read_bytes()


@FUZZ
@given(edits=st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), max_size=6),
       cut=st.none() | st.integers(0, 10**6), noise=st.binary(max_size=64))
def test_result_files(tmp_path_factory: pytest.TempPathFactory, edits: list, cut: int | None,  # type: ignore[type-arg]
                      noise: bytes) -> None:
    tmp = tmp_path_factory.mktemp("files")
    base = bytearray(valid_spike_file(tmp))
    for pos, value in edits:
        base[pos % len(base)] = value
    if cut is not None:
        base = base[: cut % (len(base) + 1)]
    for name, content in (("s.bin", bytes(base)), ("n.bin", noise), ("n.npz", b"PK\x03\x04" + noise)):
        path = tmp / name
        path.write_bytes(content)
        for reader in (sg.io.read_spike_file, sg.io.load_spikes_npz, sg.io.load_monitor_npz):
            result = accepted_or_refused(reader, path)
            if result is not None and reader is sg.io.read_spike_file:
                assert np.all(np.diff(result["steps"]) >= 0) and np.all(result["nodes"] < result["num_nodes"])
        if importlib.util.find_spec("h5py") is not None:
            accepted_or_refused(sg.interchange.from_sonata_spikes, path)


@pytest.fixture(scope="module")
def sensory_sim() -> sg.Simulation:
    cfg = sg.default_run_config()
    cfg.update({"graph.sensory_side": 6, "graph.workspace_side": 3, "sensory.audio_bands": 4})
    return sg.Simulation(sg.networks.from_config(cfg), cfg)


@FUZZ
@given(frame=dtypes.flatmap(lambda dt: hnp.arrays(
    dt, hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=9),
    elements=hnp.from_dtype(np.dtype(dt)))))
def test_frames(sensory_sim: sg.Simulation, frame: np.ndarray) -> None:
    before = sensory_sim.frames_applied()
    accepted_or_refused(sensory_sim.set_frame, frame)
    sensory_sim.run(1.0)
    assert sensory_sim.frames_applied() in (before, before + 1)


@FUZZ
@given(samples=hnp.arrays(np.float64, st.integers(0, 3000), elements=floats),
       rate=floats | st.integers(-5, 96000))
def test_audio(sensory_sim: sg.Simulation, samples: np.ndarray, rate: float) -> None:
    sensory_sim.reset_audio()
    before = sensory_sim.audio_frames_pending
    if accepted_or_refused(sensory_sim.feed_audio, samples, rate) is None:
        assert sensory_sim.audio_frames_pending == before  # a refusal queues nothing
    sensory_sim.run(1.0)


# Regression tests: what the fuzzers found, each fixed.

@pytest.mark.skipif(importlib.util.find_spec("networkx") is None, reason="needs networkx")
def test_found_networkx_attributes_that_are_not_numbers_are_named() -> None:
    import networkx as nx

    for attrs, message in (({"weight": 1.0, "delay": None}, "delay = None"), ({"weight": ""}, "weight = ''"),
                           ({"weight": 1.0, "delay": 1.5}, "delay = 1.5")):
        g = nx.MultiDiGraph()
        g.add_edge(0, 1, **attrs)
        with pytest.raises(sg.GraphError, match=r"edge 0 \(0 -> 1\) has " + message.replace("(", r"\(")):
            sg.interchange.from_networkx(g, default_weight=0.5)


def test_found_pyg_integers_out_of_range_are_refused() -> None:
    for delay in (9.22e18, np.inf):
        with pytest.raises(sg.GraphError, match=r"delay\[0\] = .* is not an integer"):
            sg.interchange.from_pyg_arrays(np.array([[0], [1]]), np.array([[1.0, delay]]))


def test_found_audio_beyond_float32_is_refused_by_name(sensory_sim: sg.Simulation) -> None:
    with pytest.raises(sg.InputError, match=r"sample 1 = 1e\+300 is beyond float32"):
        sensory_sim.feed_audio(np.array([0.0, 1e300]), 16000.0)


def test_found_a_corrupt_npz_is_closed_after_the_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.npz"
    path.write_bytes(b"PK\x03\x04" + b"\x00" * 40)
    import gc
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(sg.IoError, match=r"bad\.npz"):
            sg.io.load_spikes_npz(path)
        gc.collect()
    assert not [w for w in caught if issubclass(w.category, ResourceWarning)]
