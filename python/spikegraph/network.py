"""Networks: immutable sparse graphs held by the C++ engine."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

import numpy as np
import numpy.typing as npt

from . import _core
from .errors import GraphError

#: The node types' traits, from the engine (index = the type byte stored per node):
#: name, role, leaky, ignores_input, oscillates, scales_outgoing, flow_factor,
#: adapts_threshold, mortal.
NODE_TYPE_TRAITS: tuple[dict[str, Any], ...] = tuple(dict(t) for t in _core.node_types())
#: The node types' names, in type order.
NODE_TYPES: tuple[str, ...] = tuple(str(t["name"]) for t in NODE_TYPE_TRAITS)
#: The edge kinds' names, in kind order (from the engine).
EDGE_KINDS: tuple[str, ...] = tuple(_core.edge_kinds())


def _vector(name: str, values: Any) -> np.ndarray:
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise GraphError(f"build graph: {name} must be 1-D, got shape {arr.shape}")
    return arr


def _index_array(name: str, values: Any, names: Sequence[str] | None = None) -> np.ndarray:
    """An int64 array from integers (or names, for kinds and types); floats are refused."""
    arr = _vector(name, values)
    if names is not None and arr.dtype.kind in "USO" and arr.size:
        lookup = {n: i for i, n in enumerate(names)}
        out = np.empty(arr.size, dtype=np.int64)
        for pos, x in enumerate(arr.tolist()):
            if isinstance(x, (int, np.integer)) and not isinstance(x, bool):
                out[pos] = int(x)  # mixed lists: the engine checks the range
            elif str(x) in lookup:
                out[pos] = lookup[str(x)]
            else:
                raise GraphError(
                    f"build graph: {name}[{pos}] = {x!r} is not a known name (known: {', '.join(names)})"
                )
        return out
    if arr.size == 0:
        return np.zeros(0, dtype=np.int64)
    if arr.dtype.kind not in "iu":
        raise GraphError(f"build graph: {name} must be an integer array, got dtype {arr.dtype}")
    return np.ascontiguousarray(arr, dtype=np.int64)


def _weight_array(values: Any) -> np.ndarray:
    arr = _vector("weights", values)
    if arr.size == 0:
        return np.zeros(0, dtype=np.float64)
    if arr.dtype.kind not in "fiu":
        raise GraphError(f"build graph: weights must be a numeric array, got dtype {arr.dtype}")
    return np.ascontiguousarray(arr, dtype=np.float64)


class Network:
    """A graph of typed nodes and typed, weighted, delayed edges.

    Edges are stored in compressed sparse rows by source, each row sorted by target
    (stable), so the arrays read back in that order, not in the order given.
    """

    def __init__(self, graph: _core.Graph, initial_state: dict[str, np.ndarray] | None = None) -> None:
        if not isinstance(graph, _core.Graph):
            raise TypeError("Network wraps a spikegraph._core.Graph; use Network.from_arrays()")
        self._graph = graph
        #: Initial values of node state variables (NetworkBuilder populations): per
        #: variable one value per node, NaN where the variable keeps the configuration's
        #: value. A Simulation of this network starts from them.
        self.initial_state: dict[str, np.ndarray] = dict(initial_state or {})

    @classmethod
    def from_arrays(
        cls,
        num_nodes: int,
        sources: npt.ArrayLike,
        targets: npt.ArrayLike,
        weights: npt.ArrayLike,
        delays: npt.ArrayLike | None = None,
        kinds: npt.ArrayLike | None = None,
        node_types: npt.ArrayLike | None = None,
        plastic: npt.ArrayLike | None = None,
    ) -> Network:
        """Build a network from edge arrays.

        ``delays`` are in steps (integers >= 1, default 1); ``kinds`` and ``node_types``
        are integers or names (``"inhibitory"``, ``"relay"``, ...); weights are
        magnitudes >= 0 (the kind gives the sign). Input arrays are copied into the
        engine's own layout; every value is checked and errors name the position.
        """
        if isinstance(num_nodes, bool) or not isinstance(num_nodes, (int, np.integer)):
            raise GraphError(f"build graph: num_nodes must be an integer, got {num_nodes!r}")
        src = _index_array("sources", sources)
        tgt = _index_array("targets", targets)
        w = _weight_array(weights)
        d = None if delays is None else _index_array("delays", delays)
        k = None if kinds is None else _index_array("kinds", kinds, EDGE_KINDS)
        t = None if node_types is None else _index_array("node_types", node_types, NODE_TYPES)
        p = None
        if plastic is not None:
            p_arr = _vector("plastic", plastic)
            if p_arr.size and p_arr.dtype.kind not in "biu":
                raise GraphError(f"build graph: plastic must be boolean or 0/1, got dtype {p_arr.dtype}")
            bad = np.nonzero((p_arr != 0) & (p_arr != 1))[0]
            if bad.size:
                raise GraphError(f"build graph: plastic[{bad[0]}] = {p_arr[bad[0]]} must be 0 or 1")
            p = np.ascontiguousarray(p_arr, dtype=np.uint8)
        return cls(_core.Graph.from_arrays(int(num_nodes), src, tgt, w, d, k, t, p))

    @property
    def num_nodes(self) -> int:
        return int(self._graph.num_nodes)

    @property
    def num_edges(self) -> int:
        return int(self._graph.num_edges)

    @property
    def max_delay(self) -> int:
        """Largest delay in steps."""
        return int(self._graph.max_delay)

    @property
    def node_types(self) -> np.ndarray:
        """uint8 type of each node (index into NODE_TYPES); read-only view."""
        return cast(np.ndarray, self._graph.node_types)

    @property
    def out_offsets(self) -> np.ndarray:
        """CSR row pointers (uint64, num_nodes + 1); read-only view."""
        return cast(np.ndarray, self._graph.out_offsets)

    @property
    def targets(self) -> np.ndarray:
        return cast(np.ndarray, self._graph.targets)

    @property
    def weights(self) -> np.ndarray:
        """float32 weight magnitudes; read-only view."""
        return cast(np.ndarray, self._graph.weights)

    @property
    def delays(self) -> np.ndarray:
        """uint16 delays in steps; read-only view."""
        return cast(np.ndarray, self._graph.delays)

    @property
    def kinds(self) -> np.ndarray:
        """uint8 edge kind (index into EDGE_KINDS); read-only view."""
        return cast(np.ndarray, self._graph.kinds)

    @property
    def plastic(self) -> np.ndarray:
        """uint8 plastic flag per edge (empty when no edge is plastic); read-only view."""
        return cast(np.ndarray, self._graph.plastic)

    def sources(self) -> np.ndarray:
        """Source of each edge (uint32, a new array)."""
        return cast(np.ndarray, self._graph.sources())

    def in_edges(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The by-target index: (in_offsets, edge ids, edge sources)."""
        return tuple(self._graph.in_edges())  # type: ignore[return-value]

    def stats(self) -> dict[str, Any]:
        return dict(self._graph.stats())

    def memory_bytes(self) -> int:
        return int(self._graph.memory_bytes())

    def validate(self) -> None:
        """Check every invariant of the graph; raises GraphError."""
        self._graph.validate()

    def __repr__(self) -> str:
        return f"Network(num_nodes={self.num_nodes}, num_edges={self.num_edges})"
