"""Plots of a run (matplotlib, optional): spike raster, population rate, energy
distribution and maps, branching ratio and energy ledger over time, weight distribution.

Every function returns a ``matplotlib.figure.Figure`` drawn with the Agg canvas (no
pyplot state, no display needed) and, given ``path``, also saves it as PNG. Inputs are
plain arrays or a :class:`~spikegraph.Simulation`; :func:`plot_run` draws everything from
a directory written by ``spikegraph run --out DIR`` (:func:`spikegraph.io.save_run`).
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Union

import numpy as np
import numpy.typing as npt

from .errors import InputError, IoError
from .network import NODE_TYPES

PathLike = Union[str, "os.PathLike[str]"]
Figure = Any  # matplotlib.figure.Figure (matplotlib is optional)

#: The PNG files :func:`plot_run` writes, by plot.
RUN_PLOTS: dict[str, str] = {
    "raster": "raster.png",
    "rate": "population_rate.png",
    "energy_histogram": "energy_histogram.png",
    "energy_map": "energy_map.png",
    "homeostasis": "branching_ledger.png",
    "avalanches": "avalanches.png",
    "weights": "weights.png",
}


def _figure(rows: int = 1, cols: int = 1, size: tuple[float, float] = (7.0, 4.0)) -> tuple[Figure, Any]:
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure as MplFigure
    except ImportError as e:
        raise ImportError("plots need matplotlib: pip install matplotlib "
                          "(or pip install 'spikegraph[plot]')") from e
    fig = MplFigure(figsize=size, layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(rows, cols, squeeze=False)
    return fig, axes


def _finish(fig: Figure, path: PathLike | None) -> Figure:
    if path is not None:
        target = os.fspath(path)
        try:
            fig.savefig(target, dpi=100, format="png")
        except OSError as e:
            raise IoError(f"save plot '{target}': {e}") from e
    return fig


def _spike_arrays(spikes: Any) -> tuple[np.ndarray, np.ndarray, float]:
    """(steps, nodes, dt_ms) of a Simulation, a Spikes record or a dict from load_spikes_npz."""
    if isinstance(spikes, Mapping):
        return np.asarray(spikes["steps"]), np.asarray(spikes["nodes"]), float(spikes["dt_ms"])
    record = spikes.spikes if not hasattr(spikes, "steps") and hasattr(spikes, "spikes") else spikes
    try:
        return np.asarray(record.steps), np.asarray(record.nodes), float(record.dt_ms)
    except AttributeError as e:
        raise InputError("plot: expected spikes (a Simulation, Spikes or dict), "
                         f"got {type(spikes).__name__}") from e


def _type_bands(node_types: np.ndarray) -> list[tuple[int, int, int]]:
    """Runs of consecutive nodes of one type: (first, end, type)."""
    change = np.flatnonzero(np.diff(node_types)) + 1
    starts = np.concatenate(([0], change))
    ends = np.concatenate((change, [node_types.size]))
    return [(int(a), int(b), int(node_types[a])) for a, b in zip(starts, ends)]


def raster(spikes: Any, *, node_types: npt.ArrayLike | None = None, path: PathLike | None = None,
           max_points: int = 200_000, title: str = "Spike raster") -> Figure:
    """Spike times (ms) against node ids. With ``node_types`` (one per node) each type's
    spikes have their own colour and its band of node ids is named on the right. Above
    ``max_points`` spikes an evenly spaced subset is drawn (the title says so)."""
    steps, nodes, dt = _spike_arrays(spikes)
    if steps.size > max_points:
        keep = np.linspace(0, steps.size - 1, max_points).astype(np.int64)
        steps, nodes = steps[keep], nodes[keep]
        title += f" ({max_points:,} of the spikes shown)"
    fig, axes = _figure(size=(8.0, 4.5))
    ax = axes[0, 0]
    if node_types is None:
        ax.scatter(steps * dt, nodes, s=0.5, c="black", marker=".", linewidths=0, rasterized=True)
    else:
        types = np.asarray(node_types, dtype=np.int64)
        if nodes.size and int(nodes.max()) >= types.size:
            raise InputError(f"raster: node_types has {types.size} entries, "
                             f"spikes name node {int(nodes.max())}")
        colors = [f"C{t % 10}" for t in types[nodes]] if nodes.size else "black"
        ax.scatter(steps * dt, nodes, s=0.5, c=colors, marker=".", linewidths=0, rasterized=True)
        def name(t: int) -> str:
            return NODE_TYPES[t] if 0 <= t < len(NODE_TYPES) else str(t)

        bands = _type_bands(types)
        # Bands wide enough for a label are named on the right; every type is in the legend.
        wide = [(a, b, t) for a, b, t in bands if b - a >= 0.03 * types.size]
        right = ax.twinx()
        right.set_ylim(-0.5, types.size - 0.5)
        right.set_yticks([(a + b - 1) / 2 for a, b, _ in wide])
        right.set_yticklabels([name(t) for _, _, t in wide], fontsize="small")
        for a, _, _ in bands[1:]:
            ax.axhline(a - 0.5, color="gray", linewidth=0.5, alpha=0.5)
        ax.set_ylim(-0.5, types.size - 0.5)
        seen = list(dict.fromkeys(t for _, _, t in bands))
        handles = [ax.scatter([], [], s=12, color=f"C{t % 10}", label=name(t)) for t in seen]
        ax.legend(handles=handles, fontsize="x-small", loc="upper left", markerscale=1.5, framealpha=0.8,
                  ncol=min(4, len(handles)))
    ax.set_xlabel("time (ms)")
    ax.set_ylabel("node")
    ax.set_title(title)
    return _finish(fig, path)


def avalanche_distribution(spikes: Any, *, node_types: npt.ArrayLike | None = None,
                           bin_ms: float | None = None, max_mean: float = 0.5, seed: int = 0,
                           path: PathLike | None = None) -> Figure:
    """Neuronal avalanches of a spike record (runs of non-empty bins of ``bin_ms``, default
    one step): the complementary distribution of their sizes on log-log axes, with the
    maximum-likelihood power law above its s_min (:func:`spikegraph.analysis.power_law_fit`)
    and its exponent. With ``node_types`` only input-driven nodes count (not sensory or
    oscillator). A large network is seldom silent for a whole bin, so when the activity
    averages more than ``max_mean`` spikes per bin a random subset of the nodes is
    observed, as an electrode array would (the title says how many)."""
    from . import analysis

    steps, nodes, dt = _spike_arrays(spikes)
    width = dt if bin_ms is None else bin_ms
    if not (math.isfinite(width) and width > 0):
        raise InputError(f"avalanche_distribution: bin_ms must be > 0, got {bin_ms}")
    bin_steps = max(1, round(width / dt))
    candidates = np.unique(nodes)
    if node_types is not None:
        types = np.asarray(node_types, dtype=np.int64)
        driven = ~np.isin(types, [NODE_TYPES.index("sensory"), NODE_TYPES.index("oscillator")])
        candidates = candidates[driven[candidates]]
    a = analysis.activity(steps, nodes, bin_steps=bin_steps, include=candidates)
    observed = candidates.size
    if a.size and a.mean() > max_mean and candidates.size > 1:
        observed = max(1, int(candidates.size * max_mean / a.mean()))
        chosen = np.sort(np.random.default_rng(seed).choice(candidates, observed, replace=False))
        a = analysis.activity(steps, nodes, bin_steps=bin_steps, include=chosen)
    sizes = analysis.avalanches(a)["sizes"]
    fig, axes = _figure()
    ax = axes[0, 0]
    if sizes.size:
        s = np.sort(sizes)
        ccdf = 1.0 - np.arange(s.size) / s.size
        ax.loglog(s, ccdf, ".", color="tab:blue", markersize=3, label=f"{s.size:,} avalanches")
        fit = analysis.power_law_fit(sizes, min_tail=min(50, max(2, sizes.size // 10)))
        if np.isfinite(fit["alpha"]):
            s0 = fit["s_min"]
            x = np.unique(s[s >= s0]).astype(np.float64)
            share = fit["n_tail"] / s.size
            ax.loglog(x, share * (x / s0) ** (1.0 - fit["alpha"]), color="tab:red",
                      label=f"power law: alpha {fit['alpha']:.2f}, s_min {s0}, KS {fit['ks']:.3f}")
        ax.legend(fontsize="small")
    else:
        ax.text(0.5, 0.5, "no complete avalanche", ha="center", va="center", transform=ax.transAxes)
    ax.set_xlabel(f"avalanche size (spikes; bins of {bin_steps * dt:g} ms)")
    ax.set_ylabel("P(size >= s)")
    ax.set_title(f"Avalanche sizes ({observed:,} nodes observed)")
    return _finish(fig, path)


def population_rate(spikes: Any, num_nodes: int, *, bin_ms: float = 10.0, duration_ms: float | None = None,
                    path: PathLike | None = None) -> Figure:
    """Mean firing rate per node (Hz) in bins of ``bin_ms`` over the run."""
    steps, _, dt = _spike_arrays(spikes)
    if not (math.isfinite(bin_ms) and bin_ms > 0):
        raise InputError(f"population_rate: bin_ms must be > 0, got {bin_ms}")
    if num_nodes < 1:
        raise InputError(f"population_rate: num_nodes must be >= 1, got {num_nodes}")
    times = steps * dt
    end = duration_ms if duration_ms is not None else (float(times.max()) + dt if times.size else bin_ms)
    edges = np.arange(0.0, end + bin_ms, bin_ms)
    counts, _ = np.histogram(times, bins=edges)
    fig, axes = _figure()
    ax = axes[0, 0]
    ax.plot(edges[:-1] + bin_ms / 2, counts / num_nodes / (bin_ms / 1000.0), color="tab:blue")
    ax.set_xlabel("time (ms)")
    ax.set_ylabel("rate per node (Hz)")
    ax.set_title(f"Population rate ({bin_ms:g} ms bins)")
    return _finish(fig, path)


def energy_histogram(energy: npt.ArrayLike, node_types: npt.ArrayLike | None = None, *, bins: int = 50,
                     path: PathLike | None = None) -> Figure:
    """Distribution of node energy, one outline per node type present."""
    e = np.asarray(energy, dtype=np.float64)
    fig, axes = _figure()
    ax = axes[0, 0]
    edges = np.histogram_bin_edges(e, bins=bins) if e.size else np.linspace(0, 1, bins + 1)
    ax.hist(e, bins=edges, color="lightgray", label="all nodes")
    if node_types is not None:
        types = np.asarray(node_types)
        for t in np.unique(types).tolist():
            ax.hist(e[types == t], bins=edges, histtype="step", label=NODE_TYPES[int(t)])
    ax.set_xlabel("energy")
    ax.set_ylabel("nodes")
    ax.set_title("Energy distribution")
    ax.legend(fontsize="small")
    return _finish(fig, path)


def _grid(values: np.ndarray, shape: tuple[int, int] | None = None) -> np.ndarray:
    if shape is not None and shape[0] * shape[1] == values.size:
        return values.reshape(shape)
    side = math.isqrt(values.size)
    return values.reshape((side, side) if side * side == values.size else (1, values.size))


def energy_map(energy: npt.ArrayLike, node_types: npt.ArrayLike, *,
               sensory_grid: tuple[int, int] | None = None, path: PathLike | None = None) -> Figure:
    """Energy over the sensory grid and the workspace grid (nodes of each type in id
    order, row-major), side by side; a missing grid is left out."""
    e = np.asarray(energy, dtype=np.float64)
    types = np.asarray(node_types)
    panels = []
    for name, shape in (("sensory", sensory_grid), ("workspace", None)):
        ids = np.flatnonzero(types == NODE_TYPES.index(name))
        if ids.size:
            panels.append((name, _grid(e[ids], shape)))
    if not panels:
        raise InputError("energy_map: the network has no sensory or workspace nodes")
    fig, axes = _figure(1, len(panels), (4.5 * len(panels), 4.0))
    for ax, (name, image) in zip(axes[0], panels):
        im = ax.imshow(image, cmap="viridis", interpolation="nearest")
        ax.set_title(f"{name} energy ({image.shape[0]}x{image.shape[1]})")
        ax.set_xticks([])
        ax.set_yticks([])
        fig.colorbar(im, ax=ax, shrink=0.8)
    return _finish(fig, path)


def branching_and_ledger(homeostasis: Mapping[str, Any], ledger: Mapping[str, Any], *, dt_ms: float = 1.0,
                         target_branching: float = 0.98, path: PathLike | None = None) -> Figure:
    """Three panels over time: the branching ratio estimate (multistep regression) per
    homeostasis update with the synaptic gain; the total energy; the ledger's per-step
    flows (inflow, spike cost, metabolism, overflow; symmetric log scale, so the first
    frame's large inflow does not flatten the rest)."""
    fig, axes = _figure(3, 1, (7.0, 8.0))
    top, middle, bottom = axes[0, 0], axes[1, 0], axes[2, 0]
    h_steps = np.asarray(homeostasis.get("steps", []), dtype=np.float64) * dt_ms
    handles = []
    if h_steps.size:
        handles += top.plot(h_steps, np.asarray(homeostasis["branching"], dtype=np.float64), ".-",
                            markersize=2, color="tab:purple", label="branching ratio m (MR estimate)")
        if "gains" in homeostasis:
            # The gain on its own (log) axis: it spans 0.1-10 while m stays near 1.
            gain_ax = top.twinx()
            handles += gain_ax.plot(h_steps, np.asarray(homeostasis["gains"], dtype=np.float64),
                                    color="tab:green", label="synaptic gain (right)")
            gain_ax.set_yscale("log")
            gain_ax.set_ylabel("gain")
    handles.append(top.axhline(target_branching, color="gray", linestyle="--", linewidth=1, label="target m"))
    top.set_ylabel("m per bin")
    top.set_title("Criticality control")
    top.legend(handles=handles, fontsize="small")
    l_steps = np.asarray(ledger.get("step", []), dtype=np.float64) * dt_ms
    if l_steps.size:
        middle.plot(l_steps, np.asarray(ledger["total_after"]), color="black")
        # Flows averaged over windows of about 1/200 of the run (the inflow of frames that
        # arrive every few steps would otherwise draw as a comb).
        width = max(1, l_steps.size // 200)
        usable = (l_steps.size // width) * width
        centers = l_steps[:usable].reshape(-1, width).mean(axis=1)
        for key, color in (("inflow", "tab:blue"), ("spike_cost", "tab:red"),
                           ("metabolism", "tab:orange"), ("overflow", "tab:brown")):
            if key in ledger and usable:
                mean = np.asarray(ledger[key], dtype=np.float64)[:usable].reshape(-1, width).mean(axis=1)
                bottom.plot(centers, mean, color=color, linewidth=1.0, label=key)
        bottom.set_yscale("symlog", linthresh=1.0)
        bottom.legend(fontsize="small", ncol=4)
        if width > 1:
            bottom.set_title(f"Energy ledger flows (means over {width * dt_ms:g} ms)")
    middle.set_ylabel("total energy")
    middle.set_title("Energy")
    bottom.set_xlabel("time (ms)")
    bottom.set_ylabel("per step")
    if not bottom.get_title():
        bottom.set_title("Energy ledger flows")
    return _finish(fig, path)


def weight_distribution(after: npt.ArrayLike, before: npt.ArrayLike | None = None, *, bins: int = 60,
                        path: PathLike | None = None) -> Figure:
    """Histogram of edge weights after learning (and before, when given), log counts."""
    a = np.asarray(after, dtype=np.float64)
    fig, axes = _figure()
    ax = axes[0, 0]
    both = a if before is None else np.concatenate([a, np.asarray(before, dtype=np.float64)])
    edges = np.histogram_bin_edges(both, bins=bins) if both.size else np.linspace(0, 1, bins + 1)
    if before is not None:
        ax.hist(np.asarray(before, dtype=np.float64), bins=edges, color="lightgray", label="before")
    ax.hist(a, bins=edges, histtype="step", color="tab:red", linewidth=1.5, label="after")
    ax.set_yscale("log")
    ax.set_xlabel("weight")
    ax.set_ylabel("edges")
    ax.set_title("Weight distribution")
    ax.legend(fontsize="small")
    return _finish(fig, path)


def plot_run(run_dir: PathLike, out_dir: PathLike | None = None) -> dict[str, Path]:
    """Draw every plot (:data:`RUN_PLOTS`) from a run directory that
    :func:`spikegraph.io.save_run` wrote; PNGs go to ``out_dir`` (default: ``run_dir``).
    Plots whose data is missing are skipped. Returns the files written by plot."""
    from .io import load_run

    run = load_run(run_dir)
    out = Path(os.fspath(out_dir if out_dir is not None else run_dir))
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise IoError(f"plot: cannot create '{out}': {e}") from e
    files = {name: out / file for name, file in RUN_PLOTS.items()}
    written: dict[str, Path] = {}
    state = run.get("state", {})
    spikes = run.get("spikes")
    dt = float(state.get("dt_ms", spikes["dt_ms"] if spikes else 1.0))
    if spikes is not None:
        raster(spikes, node_types=state.get("node_types"), path=files["raster"])
        avalanche_distribution(spikes, node_types=state.get("node_types"), path=files["avalanches"])
        written["avalanches"] = files["avalanches"]
        duration = float(state["step"]) * dt if "step" in state else None
        population_rate(spikes, max(1, int(spikes["num_nodes"])), duration_ms=duration, path=files["rate"])
        written.update(raster=files["raster"], rate=files["rate"])
    if "energy" in state and "node_types" in state:
        energy_histogram(state["energy"], state["node_types"], path=files["energy_histogram"])
        written["energy_histogram"] = files["energy_histogram"]
        grid = tuple(int(x) for x in np.asarray(state.get("sensory_grid", [0, 0])).tolist())
        types = np.asarray(state["node_types"])
        if np.isin(types, [NODE_TYPES.index("sensory"), NODE_TYPES.index("workspace")]).any():
            energy_map(state["energy"], types, sensory_grid=(grid[0], grid[1]), path=files["energy_map"])
            written["energy_map"] = files["energy_map"]
    if "homeostasis" in run or "ledger" in run:
        target = 0.98
        config_file = Path(os.fspath(run_dir)) / "config.toml"
        if config_file.is_file():
            from .config import Config

            target = float(Config.from_toml(config_file)["homeostasis.target_branching"])
        branching_and_ledger(run.get("homeostasis", {}), run.get("ledger", {}), dt_ms=dt,
                             target_branching=target, path=files["homeostasis"])
        written["homeostasis"] = files["homeostasis"]
    if "weights_after" in state:
        weight_distribution(state["weights_after"], state.get("weights_before"), path=files["weights"])
        written["weights"] = files["weights"]
    return written


__all__ = [
    "RUN_PLOTS",
    "avalanche_distribution",
    "branching_and_ledger",
    "energy_histogram",
    "energy_map",
    "plot_run",
    "population_rate",
    "raster",
    "weight_distribution",
]
