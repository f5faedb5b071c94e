"""Graph management and analysis (docs/model.md "Graph management and analysis").

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

__all__ = ["check_report", "graph_metrics", "validate"]


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
