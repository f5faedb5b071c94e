"""Plots (spikegraph.plot): each returns a Figure with the data drawn and saves a PNG."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import spikegraph as sg
from spikegraph import plot
from spikegraph.io import load_spikes_npz, save_run

pytest.importorskip("matplotlib")
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def sim() -> sg.Simulation:
    cfg = sg.default_run_config()
    cfg.update({"graph.sensory_side": 8, "graph.workspace_side": 4, "sim.threads": 1})
    s = sg.Simulation(sg.networks.from_config(cfg), cfg)
    s.run(120.0)
    assert s.spikes.num_spikes > 0
    return s


def is_png(path: Path) -> bool:
    return path.is_file() and path.read_bytes()[:8] == PNG_MAGIC and path.stat().st_size > 2000


def test_raster(sim: sg.Simulation, tmp_path: Path) -> None:
    fig = plot.raster(sim, path=tmp_path / "r.png")
    assert is_png(tmp_path / "r.png")
    offsets = fig.axes[0].collections[0].get_offsets()
    assert len(offsets) == sim.spikes.num_spikes
    np.testing.assert_allclose(np.asarray(offsets)[:, 0], sim.spikes.times_ms)
    few = plot.raster(sim.spikes, max_points=10)
    assert len(few.axes[0].collections[0].get_offsets()) == 10
    assert "10 of the spikes" in few.axes[0].get_title()
    with pytest.raises(sg.InputError, match="expected spikes"):
        plot.raster(42)


def test_raster_names_the_type_bands(sim: sg.Simulation, tmp_path: Path) -> None:
    types = sim.network.node_types
    fig = plot.raster(sim, node_types=types, path=tmp_path / "typed.png")
    assert is_png(tmp_path / "typed.png")
    labels = [t.get_text() for t in fig.axes[1].get_yticklabels()]
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    # Every type in the legend, in node order (the default network lays types out in
    # blocks); the bands of at least 3% of the nodes named on the right.
    runs = [sg.NODE_TYPES[t] for i, t in enumerate(types) if i == 0 or t != types[i - 1]]
    assert legend == list(dict.fromkeys(runs))
    assert "sensory" in labels and "dynamic" in labels and set(labels) <= set(runs)
    with pytest.raises(sg.InputError, match="node_types"):
        plot.raster(sim, node_types=types[:3])


def test_avalanche_distribution(tmp_path: Path) -> None:
    # A branching process near criticality, written as a spike record (bins of 4 steps).
    rng = np.random.default_rng(2)
    a, x = np.zeros(60_000, np.int64), 0
    for t in range(a.size):
        x = rng.poisson(0.95 * x + (0.05 if x == 0 else 0.0))
        a[t] = x
    steps = np.repeat(np.arange(a.size) * 4, a)
    spikes = {"steps": steps, "nodes": np.zeros_like(steps), "dt_ms": 1.0}
    fig = plot.avalanche_distribution(spikes, bin_ms=4.0, path=tmp_path / "av.png")
    assert is_png(tmp_path / "av.png")
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert any("avalanches" in t for t in legend) and any("alpha" in t for t in legend)
    empty = plot.avalanche_distribution({"steps": np.zeros(0, np.int64), "nodes": np.zeros(0, np.int64),
                                         "dt_ms": 1.0})
    assert "no complete avalanche" in empty.axes[0].texts[0].get_text()


def test_population_rate(sim: sg.Simulation, tmp_path: Path) -> None:
    fig = plot.population_rate(sim, sim.network.num_nodes, bin_ms=10.0, path=tmp_path / "p.png")
    assert is_png(tmp_path / "p.png")
    x, y = fig.axes[0].lines[0].get_data()
    assert len(x) == 12  # 120 ms in 10 ms bins
    # Mean over the bins equals the run's mean rate per node.
    assert np.mean(y) == pytest.approx(sim.summary()["mean_rate_hz"], rel=1e-9)
    with pytest.raises(sg.InputError, match="bin_ms"):
        plot.population_rate(sim, 10, bin_ms=0.0)


def test_energy_plots(sim: sg.Simulation, tmp_path: Path) -> None:
    fig = plot.energy_histogram(sim.energy, sim.network.node_types, path=tmp_path / "h.png")
    assert is_png(tmp_path / "h.png")
    counts = [p.get_height() for p in fig.axes[0].patches[:50]]
    assert sum(counts) == sim.network.num_nodes
    fig = plot.energy_map(sim.energy, sim.network.node_types, sensory_grid=sim.sensory_grid,
                          path=tmp_path / "m.png")
    assert is_png(tmp_path / "m.png")
    sensory, workspace = (ax.images[0].get_array() for ax in fig.axes if ax.images)
    assert sensory.shape == (8, 8) and workspace.shape == (4, 4)
    types = sim.network.node_types
    np.testing.assert_array_equal(np.asarray(sensory).ravel(), sim.energy[types == 0])
    np.testing.assert_array_equal(np.asarray(workspace).ravel(), sim.energy[types == 6])
    with pytest.raises(sg.InputError, match="no sensory or workspace"):
        plot.energy_map(np.ones(3), np.ones(3, np.uint8))


def test_branching_and_ledger(sim: sg.Simulation, tmp_path: Path) -> None:
    fig = plot.branching_and_ledger(sim.homeostasis, sim.ledger, dt_ms=sim.dt, path=tmp_path / "b.png")
    assert is_png(tmp_path / "b.png")
    branching = fig.axes[0].lines[0].get_ydata()
    np.testing.assert_array_equal(branching, sim.homeostasis["branching"])
    total = fig.axes[1].lines[0].get_ydata()
    np.testing.assert_array_equal(total, sim.ledger["total_after"])
    flows = {line.get_label(): line.get_ydata() for line in fig.axes[2].lines}
    assert flows.keys() == {"inflow", "spike_cost", "metabolism", "overflow"}
    np.testing.assert_array_equal(flows["inflow"], sim.ledger["inflow"])
    empty = plot.branching_and_ledger({}, {})  # nothing recorded: still a figure
    assert len(empty.axes) == 3


def test_weight_distribution(sim: sg.Simulation, tmp_path: Path) -> None:
    fig = plot.weight_distribution(sim.weights, sim.network.weights, path=tmp_path / "w.png")
    assert is_png(tmp_path / "w.png")
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert labels == ["before", "after"]
    assert sum(p.get_height() for p in fig.axes[0].patches[:60]) == sim.network.num_edges


def test_plot_run_directory(sim: sg.Simulation, tmp_path: Path) -> None:
    save_run(sim, tmp_path / "run", weights_before=sim.network.weights, sonata=False)
    written = plot.plot_run(tmp_path / "run", tmp_path / "png")
    assert set(written) == set(plot.RUN_PLOTS)
    assert all(is_png(p) for p in written.values())
    assert load_spikes_npz(tmp_path / "run" / "spikes.npz")["steps"].size == sim.spikes.num_spikes
    with pytest.raises(sg.IoError, match="not a directory"):
        plot.plot_run(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(sg.IoError, match="is it the --out directory"):
        plot.plot_run(tmp_path / "empty")
