"""Graph management and analysis (docs/model.md "Graph management and analysis"), and
the criticality measures of a spike record: the branching ratio by multistep
regression, neuronal avalanches and their power-law exponent.

The computations are C++ (multithreaded, deterministic for any thread count); these
functions check their arguments and return dicts of numbers and numpy arrays.
:class:`~spikegraph.Simulation` has the same analyses of a running simulation
(``sim.validate()``, ``sim.graph_metrics()``, ``sim.activity_metrics()``,
``sim.metrics_history()``). Definitions: docs/python.md, "Graph analysis".
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from . import _core
from .errors import GraphError, InputError
from .network import Network

__all__ = [
    "activity",
    "avalanches",
    "branching_ratio",
    "branching_ratio_of_activity",
    "check_report",
    "graph_metrics",
    "power_law_fit",
    "validate",
]


def _int_arg(op: str, name: str, value: Any, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise InputError(f"{op}: {name} must be an integer, got {value!r}")
    if not low <= int(value) <= high:
        raise InputError(f"{op}: {name} must be in [{low}, {high}], got {value}")
    return int(value)


def _float_arg(op: str, name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
        raise InputError(f"{op}: {name} must be a number, got {value!r}")
    x = float(value)
    if not np.isfinite(x) or x < 0:
        raise InputError(f"{op}: {name} must be finite and >= 0, got {value}")
    return x


def _network(op: str, network: Any) -> Network:
    if not isinstance(network, Network):
        raise InputError(f"{op}: expected a spikegraph.Network, got {type(network).__name__}")
    return network


def _optional_array(
    op: str, name: str, values: npt.ArrayLike | None, dtype: type, size: int
) -> np.ndarray | None:
    if values is None:
        return None
    arr = np.asarray(values)
    if arr.ndim != 1 or arr.size != size:
        raise InputError(f"{op}: {name} must be a 1-D array of {size} values, got shape {arr.shape}")
    if arr.size and arr.dtype.kind not in "biuf":
        raise InputError(f"{op}: {name} must be numeric, got dtype {arr.dtype}")
    return np.ascontiguousarray(arr, dtype=dtype)


def check_report(report: dict[str, Any], op: str = "validate") -> dict[str, Any]:
    """Raise :class:`~spikegraph.GraphError` listing the problems of a validation
    report that is not ok; return the report otherwise."""
    if not report["ok"]:
        lines = "; ".join(report["problems"])
        raise GraphError(f"{op}: {report['problem_count']} problem(s): {lines}")
    return report


def validate(
    network: Network,
    *,
    alive: npt.ArrayLike | None = None,
    weights: npt.ArrayLike | None = None,
    threads: int = 0,
    raise_on_error: bool = False,
) -> dict[str, Any]:
    """Check a network: index ranges, row order, the by-target index, weights finite and
    >= 0, delays >= 1, and (with ``alive`` flags, one per node) no edge touching a dead
    node. Returns ``{"ok": bool, "problems": [str, ...], "problem_count": int}``: one line
    per kind of problem naming the array and the first position; with
    ``raise_on_error=True`` a failed check raises :class:`~spikegraph.GraphError`."""
    op = "validate"
    net = _network(op, network)
    report = dict(_core.validate_graph(
        net._graph,
        threads=_int_arg(op, "threads", threads, 0, 4096),
        alive=_optional_array(op, "alive", alive, np.uint8, net.num_nodes),
        weights=_optional_array(op, "weights", weights, np.float32, net.num_edges),
    ))
    return check_report(report, op) if raise_on_error else report


def graph_metrics(
    network: Network,
    *,
    samples: int = 0,
    power_iterations: int = 100,
    seed: int = 1,
    threads: int = 0,
    modulatory_gain: float = 0.5,
    relay_gain: float = 1.5,
    alive: npt.ArrayLike | None = None,
    weights: npt.ArrayLike | None = None,
) -> dict[str, Any]:
    """Structure metrics of a network (of its nodes flagged in ``alive``, default all,
    and the edges between them; ``weights`` replaces the stored weights).

    ``samples`` > 0 draws that many clustering nodes and shortest-path sources (0: all,
    exact); the spectral radius takes ``power_iterations`` steps; ``modulatory_gain`` and
    ``relay_gain`` enter the effective weights as ``edge.modulatory_gain`` and
    ``node.relay.gain`` do. Keys: ``nodes``, ``edges``, ``in_degree_histogram``,
    ``out_degree_histogram``, ``mean_degree``, ``max_in_degree``, ``max_out_degree``,
    ``weights`` (per kind: ``count``, ``mean``, ``std``, ``min``, ``max``),
    ``weak_components``, ``largest_weak_component``, ``weak_component_sizes``,
    ``weak_component`` (label per node), the same for ``strong``, ``clustering``,
    ``clustering_nodes``, ``clustering_exact``, ``triangles``, ``mean_path_length``,
    ``reachable_fraction``, ``path_sources``, ``reachable_pairs``, ``max_path_length``,
    ``paths_exact``, ``spectral_radius``, ``perron_root``, ``power_iterations``,
    ``spectral_spread`` and ``seconds`` (wall time of each part).
    """
    op = "graph_metrics"
    net = _network(op, network)
    return dict(_core.graph_metrics(
        net._graph,
        samples=_int_arg(op, "samples", samples, 0, 2**32 - 2),
        power_iterations=_int_arg(op, "power_iterations", power_iterations, 1, 1_000_000),
        seed=_int_arg(op, "seed", seed, 0, 2**63 - 1),
        threads=_int_arg(op, "threads", threads, 0, 4096),
        modulatory_gain=_float_arg(op, "modulatory_gain", modulatory_gain),
        relay_gain=_float_arg(op, "relay_gain", relay_gain),
        alive=_optional_array(op, "alive", alive, np.uint8, net.num_nodes),
        weights=_optional_array(op, "weights", weights, np.float32, net.num_edges),
    ))


# --------------------------------------------------------------------------- criticality


def _spike_arrays(op: str, steps: npt.ArrayLike, nodes: npt.ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    st = np.asarray(steps)
    nd = np.asarray(nodes)
    if st.ndim != 1 or nd.ndim != 1 or st.shape != nd.shape:
        raise InputError(f"{op}: steps and nodes must be 1-D arrays of one length, got shapes {st.shape} and "
                         f"{nd.shape}")
    for name, arr in (("steps", st), ("nodes", nd)):
        if arr.size and arr.dtype.kind not in "iu":
            raise InputError(f"{op}: {name} must be integers, got dtype {arr.dtype}")
        if arr.size and int(arr.min()) < 0:
            raise InputError(f"{op}: {name} must be >= 0, got {int(arr.min())}")
    return st.astype(np.int64, copy=False), nd.astype(np.int64, copy=False)


def activity(
    steps: npt.ArrayLike,
    nodes: npt.ArrayLike,
    *,
    bin_steps: int = 1,
    first_step: int | None = None,
    end_step: int | None = None,
    include: npt.ArrayLike | None = None,
) -> np.ndarray:
    """Spikes per bin of ``bin_steps`` steps over [first_step, end_step) (default: the
    record's first to last step), counting the nodes whose id is in ``include`` (default
    all). An incomplete last bin is dropped."""
    op = "activity"
    st, nd = _spike_arrays(op, steps, nodes)
    b = _int_arg(op, "bin_steps", bin_steps, 1, 2**62)
    lo = int(st.min()) if first_step is None and st.size else int(first_step or 0)
    hi = int(st.max()) + 1 if end_step is None and st.size else int(end_step or 0)
    if hi < lo:
        raise InputError(f"{op}: end_step {hi} is before first_step {lo}")
    keep = (st >= lo) & (st < hi)
    if include is not None:
        keep &= np.isin(nd, np.asarray(include, dtype=np.int64))
    bins = (hi - lo) // b
    idx = (st[keep] - lo) // b
    return np.bincount(idx[idx < bins], minlength=bins).astype(np.float64)


def branching_ratio(
    steps: npt.ArrayLike,
    nodes: npt.ArrayLike,
    *,
    dt_ms: float = 1.0,
    bin_ms: float = 4.0,
    max_lag: int = 10,
    include: npt.ArrayLike | None = None,
    first_step: int | None = None,
    end_step: int | None = None,
) -> dict[str, Any]:
    """The branching ratio m of a spike record by multistep regression (Wilting &
    Priesemann 2018): the activity in bins of ``bin_ms`` (rounded to whole steps of
    ``dt_ms``), the least-squares slopes r_k of A(t+k) on A(t) for k = 1..``max_lag``,
    and the fit r_k = b m^k. Unbiased when only some nodes are observed (``include``)
    and under external drive, unlike the ratio of consecutive window counts. The
    engine's estimator (the one homeostasis uses). Returns ``m`` (per bin),
    ``amplitude`` (b), ``quality`` (R^2 of the fit; near 0 when the slopes are noise,
    e.g. for unconnected nodes), ``slopes`` and ``bins``."""
    op = "branching_ratio"
    dt = _float_arg(op, "dt_ms", dt_ms)
    width = _float_arg(op, "bin_ms", bin_ms)
    if dt <= 0:
        raise InputError(f"{op}: dt_ms must be > 0, got {dt_ms}")
    bin_steps = max(1, round(width / dt))
    lag = _int_arg(op, "max_lag", max_lag, 1, 100_000)
    a = activity(steps, nodes, bin_steps=bin_steps, first_step=first_step, end_step=end_step, include=include)
    return branching_ratio_of_activity(a, max_lag=lag)


def branching_ratio_of_activity(activity: npt.ArrayLike, *, max_lag: int = 10) -> dict[str, Any]:
    """:func:`branching_ratio` of an activity series (events per bin) given directly."""
    op = "branching_ratio"
    a = np.ascontiguousarray(activity, dtype=np.float64)
    if a.ndim != 1:
        raise InputError(f"{op}: activity must be 1-D, got shape {a.shape}")
    if a.size and not np.all(np.isfinite(a)):
        raise InputError(f"{op}: activity must be finite")
    return dict(_core.estimate_branching(a, _int_arg(op, "max_lag", max_lag, 1, 100_000)))


def avalanches(activity: npt.ArrayLike) -> dict[str, np.ndarray]:
    """Neuronal avalanches of an activity series (events per bin): maximal runs of
    non-empty bins between empty ones. ``sizes`` (events in the run) and ``durations``
    (bins), in order; runs that touch either end of the series are left out (they may
    be cut)."""
    a = np.asarray(activity)
    if a.ndim != 1:
        raise InputError(f"avalanches: activity must be 1-D, got shape {a.shape}")
    active = a > 0
    edges = np.diff(np.concatenate(([0], active.astype(np.int8), [0])))
    starts = np.flatnonzero(edges == 1)
    ends = np.flatnonzero(edges == -1)  # one past the run
    whole = (starts > 0) & (ends < a.size)
    starts, ends = starts[whole], ends[whole]
    csum = np.concatenate(([0.0], np.cumsum(a, dtype=np.float64)))
    sizes = (csum[ends] - csum[starts]).astype(np.int64)
    return {"sizes": sizes, "durations": (ends - starts).astype(np.int64)}


def _hurwitz_zeta(alpha: float, q: np.ndarray) -> np.ndarray:
    """sum_{n >= 0} (n + q)^-alpha for alpha > 1 (direct sum of 16 terms, then the
    Euler-Maclaurin tail; relative error below 1e-12 for q >= 1)."""
    n = 16
    k = np.arange(n, dtype=np.float64)
    head = np.sum((q[:, None] + k[None, :]) ** -alpha, axis=1)
    x = q + n
    tail = (x ** (1 - alpha) / (alpha - 1) + 0.5 * x ** -alpha + alpha / 12 * x ** (-alpha - 1)
            - alpha * (alpha + 1) * (alpha + 2) / 720 * x ** (-alpha - 3))
    return np.asarray(head + tail)


def _fit_alpha(tail: np.ndarray, s_min: int) -> float:
    """The maximum-likelihood exponent of a discrete power law above s_min."""
    mean_log = float(np.mean(np.log(tail)))
    q = np.array([float(s_min)])

    def nll(alpha: float) -> float:
        return float(np.log(_hurwitz_zeta(alpha, q)[0])) + alpha * mean_log

    lo, hi = 1.0001, 8.0
    g = (np.sqrt(5.0) - 1) / 2
    x1, x2 = hi - g * (hi - lo), lo + g * (hi - lo)
    f1, f2 = nll(x1), nll(x2)
    for _ in range(80):
        if f1 <= f2:
            hi, x2, f2 = x2, x1, f1
            x1 = hi - g * (hi - lo)
            f1 = nll(x1)
        else:
            lo, x1, f1 = x1, x2, f2
            x2 = lo + g * (hi - lo)
            f2 = nll(x2)
    return 0.5 * (lo + hi)


def power_law_fit(values: npt.ArrayLike, *, s_min: int | None = None, min_tail: int = 50) -> dict[str, Any]:
    """Fit a discrete power law P(s) ~ s^-alpha to integer samples >= 1 (avalanche sizes
    or durations), after Clauset, Shalizi & Newman (2009): for each candidate s_min
    (every distinct value that leaves at least ``min_tail`` samples above it, or the
    given ``s_min``) the maximum-likelihood alpha, and the s_min whose fit has the
    smallest Kolmogorov-Smirnov distance between the samples' and the fitted
    distribution above it. Returns ``alpha``, ``s_min``, ``ks`` (that distance),
    ``n_tail`` (samples >= s_min) and ``n`` (all samples); NaN fields when there are
    too few samples."""
    op = "power_law_fit"
    x = np.asarray(values)
    if x.ndim != 1:
        raise InputError(f"{op}: values must be 1-D, got shape {x.shape}")
    if x.size and (x.dtype.kind not in "iu" or int(x.min()) < 1):
        raise InputError(f"{op}: values must be integers >= 1")
    x = np.sort(x.astype(np.int64))
    tail_min = _int_arg(op, "min_tail", min_tail, 2, 2**62)
    nan = float("nan")
    result: dict[str, Any] = {"alpha": nan, "s_min": None, "ks": nan, "n_tail": 0, "n": int(x.size)}
    if s_min is not None:
        candidates = np.array([_int_arg(op, "s_min", s_min, 1, 2**62)])
    else:
        uniq = np.unique(x)
        counts_above = x.size - np.searchsorted(x, uniq, side="left")
        candidates = uniq[counts_above >= tail_min]
    best_ks = np.inf
    for s0 in candidates:
        tail = x[x >= s0]
        if tail.size < 2 or tail[-1] == tail[0]:
            continue
        alpha = _fit_alpha(tail.astype(np.float64), int(s0))
        # KS distance of the complementary CDFs at the observed values.
        uniq, first = np.unique(tail, return_index=True)
        emp = 1.0 - first / tail.size  # P(S >= s) of the samples
        model = _hurwitz_zeta(alpha, uniq.astype(np.float64)) / _hurwitz_zeta(alpha, np.array([float(s0)]))[0]
        ks = float(np.max(np.abs(emp - model)))
        if ks < best_ks:
            best_ks = ks
            result = {"alpha": alpha, "s_min": int(s0), "ks": ks, "n_tail": int(tail.size), "n": int(x.size)}
    return result
