"""Networks and spikes in other formats: SONATA (HDF5 + CSV), networkx, PyTorch Geometric.

Every function takes a :class:`~spikegraph.Network` or a :class:`~spikegraph.Simulation`
(whose current network is used, with its live, possibly learned, weights). Round trips
are exact: ``from_sonata(to_sonata(net, d))`` has the same arrays, bit for bit, as
``net``; the same holds for networkx and the PyG arrays. Optional packages (h5py,
networkx, torch_geometric) are imported only when a function needs them; a missing one
raises ImportError naming the pip package.

SONATA layout written by :func:`to_sonata` (one node population, one edge population):

* ``nodes.h5``: ``/nodes/<pop>/node_type_id`` (the spikegraph node type index),
  ``node_id``, ``node_group_id`` (0), ``node_group_index``, empty group ``0``;
* ``node_types.csv``: ``node_type_id model_type model_template spikegraph_type``;
* ``edges.h5``: ``/edges/<pop>_edges/source_node_id``, ``target_node_id`` (attribute
  ``node_population``), ``edge_type_id`` (the edge kind index), ``edge_group_id`` (0),
  ``edge_group_index``; group ``0`` with ``syn_weight`` (float32 magnitude; the kind
  gives the sign), ``delay`` (ms), ``delay_steps``, ``kind``, ``plastic``; and the
  ``indices/source_to_target`` and ``indices/target_to_source`` lookup tables;
* ``edge_types.csv``: ``edge_type_id model_template spikegraph_kind``;
* ``circuit_config.json``: the SONATA circuit configuration naming these files.

:func:`to_sonata_spikes` writes ``/spikes/<pop>/timestamps`` (ms) and ``node_ids`` with
the ``sorting`` attribute (``by_time``).
"""

from __future__ import annotations

import csv
import json
import math
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Union

import numpy as np
import numpy.typing as npt

from .errors import GraphError, InputError, IoError
from .network import EDGE_KINDS, NODE_TYPES, Network

if TYPE_CHECKING:
    from .simulation import Simulation, Spikes

PathLike = Union[str, "os.PathLike[str]"]
NetworkLike = Union[Network, "Simulation"]

SONATA_MAGIC = 0x0A7A
SONATA_VERSION = (0, 1)
NODES_FILE, NODE_TYPES_FILE = "nodes.h5", "node_types.csv"
EDGES_FILE, EDGE_TYPES_FILE = "edges.h5", "edge_types.csv"
CIRCUIT_CONFIG_FILE = "circuit_config.json"
#: Values of the SONATA spike file's ``sorting`` attribute (an HDF5 enum).
SPIKE_SORTING = {"none": 0, "by_id": 1, "by_time": 2}


def _require(module: str, package: str) -> Any:
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as e:
        raise ImportError(f"this needs the optional package {package}: pip install {package}") from e


def _h5py() -> Any:
    return _require("h5py", "h5py")


def network_arrays(obj: NetworkLike) -> dict[str, Any]:
    """The arrays that define a network, in its stored edge order: ``num_nodes``,
    ``sources`` (uint32), ``targets``, ``weights`` (float32; a Simulation's live weights),
    ``delays`` (uint16 steps), ``kinds``, ``node_types`` (uint8), ``plastic`` (uint8, one
    per edge)."""
    if isinstance(obj, Network):
        net, weights = obj, np.asarray(obj.weights)
    elif hasattr(obj, "current_network") and hasattr(obj, "weights"):
        net, weights = obj.current_network, np.asarray(obj.weights)
    else:
        raise InputError(f"expected a spikegraph Network or Simulation, got {type(obj).__name__}")
    plastic = np.asarray(net.plastic)
    if plastic.size == 0:
        plastic = np.zeros(net.num_edges, dtype=np.uint8)
    return {
        "num_nodes": net.num_nodes,
        "sources": np.asarray(net.sources()),
        "targets": np.asarray(net.targets),
        "weights": weights.astype(np.float32, copy=False),
        "delays": np.asarray(net.delays),
        "kinds": np.asarray(net.kinds),
        "node_types": np.asarray(net.node_types),
        "plastic": plastic,
    }


def _build(num_nodes: int, sources: np.ndarray, targets: np.ndarray, weights: np.ndarray,
           delays: np.ndarray, kinds: np.ndarray, node_types: np.ndarray, plastic: np.ndarray) -> Network:
    return Network.from_arrays(
        int(num_nodes), sources.astype(np.int64), targets.astype(np.int64),
        np.asarray(weights, dtype=np.float32).astype(np.float64), delays.astype(np.int64),
        kinds.astype(np.int64), node_types.astype(np.int64), plastic.astype(np.uint8),
    )


# ---------------------------------------------------------------------------- SONATA


def _ranges(node_of_edge: np.ndarray, edge_ids: np.ndarray, num_nodes: int) -> tuple[np.ndarray, np.ndarray]:
    """SONATA index tables: ``edge_ids`` listed node by node (``node_of_edge`` ascending);
    runs of consecutive edge ids of one node become one range."""
    if edge_ids.size == 0:
        return np.zeros((num_nodes, 2), np.uint64), np.zeros((0, 2), np.uint64)
    starts = np.ones(edge_ids.size, dtype=bool)
    starts[1:] = (node_of_edge[1:] != node_of_edge[:-1]) | (edge_ids[1:] != edge_ids[:-1] + 1)
    first = np.flatnonzero(starts)
    last = np.append(first[1:], edge_ids.size) - 1
    range_to_edge = np.stack([edge_ids[first], edge_ids[last] + 1], axis=1).astype(np.uint64)
    owner = node_of_edge[first]
    counts = np.bincount(owner, minlength=num_nodes)
    begin = np.concatenate([[0], np.cumsum(counts)[:-1]])
    node_to_range = np.stack([begin, begin + counts], axis=1).astype(np.uint64)
    node_to_range[counts == 0] = 0
    return node_to_range, range_to_edge


def _write_h5(path: Path, fill: Any) -> None:
    h5py = _h5py()
    tmp = path.with_name(path.name + ".tmp")
    try:
        with h5py.File(tmp, "w") as f:
            f.attrs["magic"] = np.uint32(SONATA_MAGIC)
            f.attrs["version"] = np.array(SONATA_VERSION, dtype=np.uint32)
            fill(f)
        os.replace(tmp, path)
    except OSError as e:
        raise IoError(f"write SONATA file '{path}': {e}") from e


def _write_csv(path: Path, header: list[str], rows: list[list[Any]]) -> None:
    try:
        with open(path, "w", encoding="utf-8", newline="") as f:
            writer = csv.writer(f, delimiter=" ", lineterminator="\n")
            writer.writerow(header)
            writer.writerows(rows)
    except OSError as e:
        raise IoError(f"write '{path}': {e}") from e


def to_sonata(obj: NetworkLike, directory: PathLike, *, population: str = "spikegraph",
              dt_ms: float | None = None) -> dict[str, Path]:
    """Write a network as SONATA files into ``directory`` (created if needed).

    ``dt_ms`` converts delays to the SONATA ``delay`` column in ms (default: the
    simulation's dt, else 1.0); ``delay_steps`` keeps the exact steps. Returns the
    paths written by role (``nodes``, ``node_types``, ``edges``, ``edge_types``,
    ``circuit_config``).
    """
    if not population or "/" in population:
        raise InputError(f"to_sonata: population must be a non-empty name without '/', got {population!r}")
    arrays = network_arrays(obj)
    if dt_ms is None:
        dt_ms = float(getattr(obj, "dt", 1.0))
    if not (math.isfinite(dt_ms) and dt_ms > 0):
        raise InputError(f"to_sonata: dt_ms must be finite and > 0, got {dt_ms}")
    out = Path(os.fspath(directory))
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise IoError(f"to_sonata: cannot create directory '{out}': {e}") from e
    n, e_count = arrays["num_nodes"], arrays["targets"].size
    edge_pop = f"{population}_edges"

    def nodes(f: Any) -> None:
        g = f.create_group(f"nodes/{population}")
        g["node_type_id"] = arrays["node_types"].astype(np.int64)
        g["node_id"] = np.arange(n, dtype=np.uint64)
        g["node_group_id"] = np.zeros(n, dtype=np.uint32)
        g["node_group_index"] = np.arange(n, dtype=np.uint64)
        g.create_group("0")

    def edges(f: Any) -> None:
        g = f.create_group(f"edges/{edge_pop}")
        for name, ids in (("source_node_id", arrays["sources"]), ("target_node_id", arrays["targets"])):
            g[name] = ids.astype(np.uint64)
            g[name].attrs["node_population"] = population
        g["edge_type_id"] = arrays["kinds"].astype(np.int64)
        g["edge_group_id"] = np.zeros(e_count, dtype=np.uint32)
        g["edge_group_index"] = np.arange(e_count, dtype=np.uint64)
        g.attrs["spikegraph_dt_ms"] = np.float64(dt_ms)
        grp = g.create_group("0")
        grp["syn_weight"] = arrays["weights"]
        grp["delay"] = arrays["delays"].astype(np.float64) * dt_ms
        grp["delay_steps"] = arrays["delays"]
        grp["kind"] = arrays["kinds"]
        grp["plastic"] = arrays["plastic"]
        by_source = np.arange(e_count, dtype=np.int64)
        n2r, r2e = _ranges(arrays["sources"].astype(np.int64), by_source, n)
        idx = g.create_group("indices/source_to_target")
        idx["node_id_to_ranges"], idx["range_to_edge_id"] = n2r, r2e
        order = np.argsort(arrays["targets"], kind="stable")
        n2r, r2e = _ranges(arrays["targets"][order].astype(np.int64), order, n)
        idx = g.create_group("indices/target_to_source")
        idx["node_id_to_ranges"], idx["range_to_edge_id"] = n2r, r2e

    paths = {"nodes": out / NODES_FILE, "node_types": out / NODE_TYPES_FILE,
             "edges": out / EDGES_FILE, "edge_types": out / EDGE_TYPES_FILE,
             "circuit_config": out / CIRCUIT_CONFIG_FILE}
    _write_h5(paths["nodes"], nodes)
    _write_h5(paths["edges"], edges)
    _write_csv(paths["node_types"], ["node_type_id", "model_type", "model_template", "spikegraph_type"],
               [[i, "point_process", f"spikegraph:{t}", t] for i, t in enumerate(NODE_TYPES)])
    _write_csv(paths["edge_types"], ["edge_type_id", "model_template", "spikegraph_kind"],
               [[i, "spikegraph:delta_synapse", k] for i, k in enumerate(EDGE_KINDS)])
    config = {
        "manifest": {"$BASE_DIR": "."},
        "networks": {
            "nodes": [{"nodes_file": f"$BASE_DIR/{NODES_FILE}",
                       "node_types_file": f"$BASE_DIR/{NODE_TYPES_FILE}",
                       "populations": {population: {"type": "point_neuron"}}}],
            "edges": [{"edges_file": f"$BASE_DIR/{EDGES_FILE}",
                       "edge_types_file": f"$BASE_DIR/{EDGE_TYPES_FILE}",
                       "populations": {edge_pop: {"type": "chemical"}}}],
        },
    }
    try:
        paths["circuit_config"].write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    except OSError as e:
        raise IoError(f"write '{paths['circuit_config']}': {e}") from e
    return paths


def _read_types_csv(path: Path) -> dict[int, dict[str, str]]:
    """A SONATA types table (space-delimited, header row) by type id; {} when absent."""
    if not path.is_file():
        return {}
    try:
        with open(path, encoding="utf-8", newline="") as f:
            rows = list(csv.DictReader(f, delimiter=" ", skipinitialspace=True))
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise IoError(f"read '{path}': {e}") from e
    table: dict[int, dict[str, str]] = {}
    for line, row in enumerate(rows, start=2):
        key = next((k for k in row if k in ("node_type_id", "edge_type_id")), None)
        try:
            table[int(row[key] if key else "")] = {k: v for k, v in row.items() if k}
        except (TypeError, ValueError) as e:
            raise IoError(f"read '{path}': line {line} has no integer type id") from e
    return table


def _type_column(table: dict[int, dict[str, str]], ids: np.ndarray, column: str,
                 names: tuple[str, ...], path: Path) -> np.ndarray | None:
    """Map type ids through a csv column of names (None if the column is absent)."""
    if not table or not any(column in row for row in table.values()):
        return None
    uniq, inverse = np.unique(ids, return_inverse=True)
    values = np.empty(uniq.size, dtype=np.int64)
    for pos, type_id in enumerate(uniq.tolist()):  # one entry per distinct type id
        name = table.get(int(type_id), {}).get(column)
        if name not in names:
            raise IoError(f"read '{path}': type id {type_id} has {column} = {name!r} "
                          f"(known: {', '.join(names)})")
        values[pos] = names.index(name)
    return values[inverse.reshape(-1)]


def _population(f: Any, kind: str, name: str | None, path: Path) -> tuple[str, Any]:
    root = f.get(kind)
    if root is None or not len(root):
        raise IoError(f"read SONATA '{path}': no /{kind} group")
    names = sorted(root.keys())
    if name is None:
        if len(names) != 1:
            raise IoError(f"read SONATA '{path}': several {kind} populations ({', '.join(names)}); "
                          "name the one to read")
        name = names[0]
    if name not in root:
        raise IoError(f"read SONATA '{path}': no {kind} population '{name}' (found: {', '.join(names)})")
    return name, root[name]


def _dataset(group: Any, name: str, path: Path) -> np.ndarray:
    if name not in group:
        raise IoError(f"read SONATA '{path}': missing dataset {group.name}/{name}")
    return np.asarray(group[name][()])


def _group_attribute(pop: Any, name: str, path: Path) -> np.ndarray | None:
    """An edge attribute gathered over the edge groups (None if no group has it)."""
    group_id = _dataset(pop, "edge_group_id", path).astype(np.int64)
    index = _dataset(pop, "edge_group_index", path).astype(np.int64)
    if group_id.shape != index.shape:
        raise IoError(f"read SONATA '{path}': edge_group_id and edge_group_index differ in length")
    gids = np.unique(group_id).tolist() if group_id.size else [0]
    present = [str(g) in pop and name in pop[str(g)] for g in gids]
    if not any(present):
        return None
    if not all(present):
        missing = gids[present.index(False)]
        raise IoError(f"read SONATA '{path}': attribute '{name}' is missing in edge group {missing}")
    out: np.ndarray | None = None
    for gid in gids:  # one pass per edge group (usually one)
        values = np.asarray(pop[str(gid)][name][()])
        if out is None:
            out = np.empty(group_id.size, dtype=values.dtype)
        sel = group_id == gid
        chosen = index[sel]
        if chosen.size and (chosen.min() < 0 or chosen.max() >= values.size):
            raise IoError(f"read SONATA '{path}': edge_group_index out of range in edge group {gid}")
        out[sel] = values[chosen]
    return out


def from_sonata(directory: PathLike, *, population: str | None = None, edge_population: str | None = None,
                dt_ms: float | None = None) -> Network:
    """Read a network written by :func:`to_sonata` (exact), or another SONATA circuit.

    Files: ``nodes.h5``, ``edges.h5`` and the optional ``node_types.csv``,
    ``edge_types.csv`` in ``directory``. For files from elsewhere: node types come from
    a ``spikegraph_type`` column of node_types.csv (else every node is ``dynamic``);
    edge kinds from a ``kind`` attribute, else a ``spikegraph_kind`` column, else the
    sign of ``syn_weight`` (negative: inhibitory); weights are the magnitudes of
    ``syn_weight`` (edge group or edge_types.csv); delays from ``delay_steps``, else
    ``delay`` in ms / ``dt_ms`` (rounded, at least 1; the file's own step when it records
    one; 1 step when there is no delay). Missing or malformed files raise :class:`IoError`.
    """
    h5py = _h5py()
    base = Path(os.fspath(directory))
    nodes_path, edges_path = base / NODES_FILE, base / EDGES_FILE
    for p in (nodes_path, edges_path):
        if not p.is_file():
            raise IoError(f"read SONATA: file not found: '{p}'")
    try:
        with h5py.File(nodes_path, "r") as f:
            pop_name, pop = _population(f, "nodes", population, nodes_path)
            node_type_id = _dataset(pop, "node_type_id", nodes_path).astype(np.int64)
        with h5py.File(edges_path, "r") as f:
            edge_name, epop = _population(f, "edges", edge_population, edges_path)
            src = _dataset(epop, "source_node_id", edges_path)
            tgt = _dataset(epop, "target_node_id", edges_path)
            for ds in ("source_node_id", "target_node_id"):
                ref = epop[ds].attrs.get("node_population")
                ref = ref.decode() if isinstance(ref, bytes) else ref
                if ref is not None and str(ref) != pop_name:
                    raise IoError(f"read SONATA '{edges_path}': edges/{edge_name}/{ds} refers to node "
                                  f"population '{ref}', not '{pop_name}'")
            edge_type_id = _dataset(epop, "edge_type_id", edges_path).astype(np.int64)
            file_dt = epop.attrs.get("spikegraph_dt_ms")
            weight = _group_attribute(epop, "syn_weight", edges_path)
            kind = _group_attribute(epop, "kind", edges_path)
            plastic = _group_attribute(epop, "plastic", edges_path)
            delay_steps = _group_attribute(epop, "delay_steps", edges_path)
            delay_ms = None if delay_steps is not None else _group_attribute(epop, "delay", edges_path)
    except OSError as e:
        if isinstance(e, IoError):
            raise
        raise IoError(f"read SONATA '{base}': {e}") from e

    n = int(node_type_id.size)
    node_table = _read_types_csv(base / NODE_TYPES_FILE)
    types = _type_column(node_table, node_type_id, "spikegraph_type", NODE_TYPES, base / NODE_TYPES_FILE)
    if types is None:
        types = np.full(n, NODE_TYPES.index("dynamic"), dtype=np.int64)
    edge_table = _read_types_csv(base / EDGE_TYPES_FILE)
    if weight is None and edge_table and all("syn_weight" in r for r in edge_table.values()):
        lookup = {k: float(r["syn_weight"]) for k, r in edge_table.items()}
        uniq, inverse = np.unique(edge_type_id, return_inverse=True)
        weight = np.array([lookup.get(int(t), math.nan) for t in uniq.tolist()])[inverse.reshape(-1)]
    if weight is None:
        raise IoError(f"read SONATA '{edges_path}': no syn_weight (edge group or {EDGE_TYPES_FILE})")
    if kind is None:
        kind = _type_column(edge_table, edge_type_id, "spikegraph_kind", EDGE_KINDS, base / EDGE_TYPES_FILE)
    if kind is None:
        kind = np.where(weight < 0, EDGE_KINDS.index("inhibitory"), EDGE_KINDS.index("excitatory"))
    weight = np.abs(weight)  # signed SONATA weights: the magnitude (the kind gives the sign)
    if delay_steps is None:
        if delay_ms is None:
            delay_steps = np.ones(src.size, dtype=np.int64)
        else:
            step = dt_ms if dt_ms is not None else (float(file_dt) if file_dt is not None else None)
            if step is None:
                raise InputError(f"read SONATA '{edges_path}': delays are in ms; give dt_ms to convert them")
            ratio = np.asarray(delay_ms, np.float64) / step
            delay_steps = np.maximum(1, np.floor(ratio + 0.5)).astype(np.int64)
    if plastic is None:
        plastic = np.zeros(src.size, dtype=np.uint8)
    try:
        return _build(n, src, tgt, np.asarray(weight), np.asarray(delay_steps), np.asarray(kind), types,
                      np.asarray(plastic))
    except GraphError as e:
        raise IoError(f"read SONATA '{base}': {e}") from e


def _spike_data(spikes: Any) -> tuple[np.ndarray, np.ndarray, float]:
    """(steps, nodes, dt_ms) from a Simulation or a Spikes record."""
    record = spikes.spikes if hasattr(spikes, "spikes") and not hasattr(spikes, "steps") else spikes
    try:
        return np.asarray(record.steps), np.asarray(record.nodes), float(record.dt_ms)
    except AttributeError as e:
        raise InputError(f"expected a Simulation or a Spikes record, got {type(spikes).__name__}") from e


def to_sonata_spikes(spikes: Spikes | Simulation, path: PathLike, *, population: str = "spikegraph") -> Path:
    """Write a spike record as a SONATA spike file (``/spikes/<population>/timestamps``
    in ms, ``node_ids``; ``sorting = by_time``; the step length is kept as the attribute
    ``spikegraph_dt_ms`` so :func:`from_sonata_spikes` restores the steps exactly)."""
    h5py = _h5py()
    steps, nodes, dt = _spike_data(spikes)
    target = Path(os.fspath(path))

    def fill(f: Any) -> None:
        g = f.create_group(f"spikes/{population}")
        g.attrs.create("sorting", SPIKE_SORTING["by_time"],
                       dtype=h5py.enum_dtype(SPIKE_SORTING, basetype="u1"))
        g.attrs["spikegraph_dt_ms"] = np.float64(dt)
        g["timestamps"] = steps.astype(np.float64) * dt
        g["timestamps"].attrs["units"] = "ms"
        g["node_ids"] = nodes.astype(np.uint64)

    _write_h5(target, fill)
    return target


def from_sonata_spikes(path: PathLike, *, population: str | None = None) -> dict[str, Any]:
    """Read a SONATA spike file: ``{"population", "times_ms", "nodes", "sorting"}`` plus
    ``"steps"`` and ``"dt_ms"`` when the file records the step length (files written by
    :func:`to_sonata_spikes`) or ``dt_ms`` can be found otherwise."""
    h5py = _h5py()
    p = Path(os.fspath(path))
    if not p.is_file():
        raise IoError(f"read SONATA spikes: file not found: '{p}'")
    try:
        with h5py.File(p, "r") as f:
            name, g = _population(f, "spikes", population, p)
            times = _dataset(g, "timestamps", p).astype(np.float64)
            nodes = _dataset(g, "node_ids", p).astype(np.uint64)
            sorting = g.attrs.get("sorting")
            dt = g.attrs.get("spikegraph_dt_ms")
    except OSError as e:
        if isinstance(e, IoError):
            raise
        raise IoError(f"read SONATA spikes '{p}': {e}") from e
    if times.shape != nodes.shape:
        raise IoError(f"read SONATA spikes '{p}': timestamps and node_ids differ in length")
    names = {v: k for k, v in SPIKE_SORTING.items()}
    out: dict[str, Any] = {
        "population": name, "times_ms": times, "nodes": nodes,
        "sorting": names.get(int(sorting), "none") if sorting is not None else "none",
    }
    if dt is not None:
        out["dt_ms"] = float(dt)
        out["steps"] = np.floor(times / float(dt) + 0.5).astype(np.int64)
    return out


# ---------------------------------------------------------------------------- networkx


def to_networkx(obj: NetworkLike, *, multigraph: bool = True) -> Any:
    """A ``networkx.MultiDiGraph`` (or ``DiGraph`` with ``multigraph=False``, which
    refuses networks with parallel edges): node attribute ``type`` (name), edge
    attributes ``weight`` (float, exact float32 value), ``delay`` (steps), ``kind``
    (name), ``plastic`` (bool). MultiDiGraph edge keys follow the stored edge order."""
    nx = _require("networkx", "networkx")
    a = network_arrays(obj)
    src, tgt = a["sources"].astype(np.int64), a["targets"].astype(np.int64)
    if not multigraph and src.size > 1:
        pair = src * max(1, a["num_nodes"]) + tgt
        if np.unique(pair).size != pair.size:
            raise GraphError("to_networkx: the network has parallel edges; use multigraph=True")
    graph = nx.MultiDiGraph() if multigraph else nx.DiGraph()
    type_names = np.asarray(NODE_TYPES, dtype=object)[a["node_types"]]
    graph.add_nodes_from(zip(range(a["num_nodes"]), ({"type": t} for t in type_names.tolist())))
    kinds = np.asarray(EDGE_KINDS, dtype=object)[a["kinds"]].tolist()
    attrs = ({"weight": w, "delay": d, "kind": k, "plastic": p}
             for w, d, k, p in zip(a["weights"].tolist(), a["delays"].tolist(), kinds,
                                   a["plastic"].astype(bool).tolist()))
    graph.add_edges_from(zip(src.tolist(), tgt.tolist(), attrs))
    return graph


def _edge_column(edges: list[Any], name: str, default: Any, dtype: Any) -> np.ndarray:
    """The attribute ``name`` of every edge as one array; a value that is not a number
    of that kind is a GraphError naming the edge."""
    out = np.empty(len(edges), dtype=dtype)
    for k, (u, v, d) in enumerate(edges):
        value = d.get(name, default)
        try:
            if isinstance(value, (str, bytes)) or value is None:
                raise TypeError(type(value).__name__)
            if np.dtype(dtype).kind == "i" and float(value) != int(value):
                raise ValueError("not a whole number")
            out[k] = value
        except (TypeError, ValueError, OverflowError) as e:
            raise GraphError(f"from_networkx: edge {k} ({u!r} -> {v!r}) has {name} = {value!r}, "
                             f"not a number ({e})") from None
    return out


def from_networkx(graph: Any, *, default_type: str = "dynamic", default_kind: str = "excitatory",
                  default_weight: float | None = None, default_delay: int = 1) -> Network:
    """A Network from a networkx (Multi)DiGraph. Nodes are numbered in the graph's node
    order; ``type``, ``weight``, ``delay`` (steps), ``kind`` and ``plastic`` attributes are
    used where present, else the defaults (a missing weight is an error unless
    ``default_weight`` is given)."""
    nodes = list(graph.nodes)
    index = {node: i for i, node in enumerate(nodes)}
    types = [d.get("type", default_type) for _, d in graph.nodes(data=True)]
    edges = list(graph.edges(data=True))
    if default_weight is None and any("weight" not in d for _, _, d in edges):
        raise GraphError("from_networkx: an edge has no 'weight' attribute (give default_weight)")
    src = np.fromiter((index[u] for u, _, _ in edges), dtype=np.int64, count=len(edges))
    tgt = np.fromiter((index[v] for _, v, _ in edges), dtype=np.int64, count=len(edges))
    weights = _edge_column(edges, "weight", default_weight, np.float64)
    delays = _edge_column(edges, "delay", default_delay, np.int64)
    kinds = [d.get("kind", default_kind) for _, _, d in edges]
    plastic = np.array([bool(d.get("plastic", False)) for _, _, d in edges], dtype=np.uint8)
    return Network.from_arrays(len(nodes), src, tgt, weights, delays=delays,
                               kinds=np.asarray(kinds, dtype=object) if kinds else None,
                               node_types=np.asarray(types, dtype=object) if types else None,
                               plastic=plastic)


# ---------------------------------------------------------------------------- PyTorch Geometric

#: Columns of ``edge_attr`` in :func:`to_pyg_arrays`.
PYG_EDGE_COLUMNS: tuple[str, ...] = ("weight", "delay", "kind", "plastic")


def to_pyg_arrays(obj: NetworkLike) -> dict[str, Any]:
    """The arrays of a PyTorch Geometric ``Data``: ``edge_index`` (2, E) int64,
    ``edge_attr`` (E, 4) float32 with columns weight, delay (steps), kind, plastic (all
    exact in float32), ``node_type`` (N,) int64, ``num_nodes``."""
    a = network_arrays(obj)
    edge_attr = np.empty((a["targets"].size, 4), dtype=np.float32)
    edge_attr[:, 0] = a["weights"]
    edge_attr[:, 1] = a["delays"]
    edge_attr[:, 2] = a["kinds"]
    edge_attr[:, 3] = a["plastic"]
    return {
        "edge_index": np.stack([a["sources"], a["targets"]]).astype(np.int64),
        "edge_attr": edge_attr,
        "node_type": a["node_types"].astype(np.int64),
        "num_nodes": int(a["num_nodes"]),
    }


def from_pyg_arrays(edge_index: npt.ArrayLike, edge_attr: npt.ArrayLike | None = None,
                    node_type: npt.ArrayLike | None = None, num_nodes: int | None = None) -> Network:
    """A Network from PyG-style arrays (see :func:`to_pyg_arrays`). ``edge_attr`` may have
    1 to 4 columns (weight, delay, kind, plastic; missing ones: delay 1, excitatory, not
    plastic); without it every weight is 1."""
    ei = np.asarray(edge_index)
    if ei.ndim != 2 or ei.shape[0] != 2:
        raise GraphError(f"from_pyg_arrays: edge_index must have shape (2, E), got {ei.shape}")
    if ei.size and ei.dtype.kind not in "iu":
        raise GraphError(f"from_pyg_arrays: edge_index must be integers, got {ei.dtype}")
    e = ei.shape[1]
    attr = np.ones((e, 1), dtype=np.float32) if edge_attr is None else np.asarray(edge_attr)
    if attr.ndim == 1:
        attr = attr[:, None]
    if attr.ndim != 2 or attr.shape[0] != e or not 1 <= attr.shape[1] <= 4:
        raise GraphError(f"from_pyg_arrays: edge_attr must have shape (E, 1..4) with E = {e}, "
                         f"got {attr.shape}")

    def column(i: int, default: float) -> np.ndarray:
        return attr[:, i] if attr.shape[1] > i else np.full(e, default)

    def integral(name: str, values: np.ndarray) -> np.ndarray:
        wrong = ~((values == np.round(values)) & (np.abs(values) <= 2.0**62))
        if wrong.any():
            bad = int(np.flatnonzero(wrong)[0])
            raise GraphError(f"from_pyg_arrays: edge_attr {name}[{bad}] = {values[bad]} is not an integer")
        return values.astype(np.int64)

    if num_nodes is None:
        if node_type is not None:
            num_nodes = int(np.asarray(node_type).size)
        else:
            num_nodes = int(ei.max()) + 1 if ei.size else 0
    return Network.from_arrays(
        int(num_nodes), ei[0].astype(np.int64), ei[1].astype(np.int64),
        column(0, 1.0).astype(np.float64), delays=integral("delay", column(1, 1.0)),
        kinds=integral("kind", column(2, 0.0)),
        node_types=None if node_type is None else np.asarray(node_type),
        plastic=integral("plastic", column(3, 0.0)).astype(np.uint8),
    )


def to_pyg(obj: NetworkLike) -> Any:
    """A ``torch_geometric.data.Data`` (needs torch_geometric) with ``edge_index``,
    ``edge_attr``, ``node_type`` and ``num_nodes`` from :func:`to_pyg_arrays`."""
    torch = _require("torch", "torch")
    data_mod = _require("torch_geometric.data", "torch_geometric")
    a = to_pyg_arrays(obj)
    return data_mod.Data(edge_index=torch.from_numpy(a["edge_index"]),
                         edge_attr=torch.from_numpy(a["edge_attr"]),
                         node_type=torch.from_numpy(a["node_type"]), num_nodes=a["num_nodes"])


def from_pyg(data: Any) -> Network:
    """A Network from a ``torch_geometric.data.Data`` (see :func:`from_pyg_arrays`)."""
    def host(x: Any) -> np.ndarray | None:
        return None if x is None else np.asarray(x.detach().cpu().numpy())

    edge_index = host(getattr(data, "edge_index", None))
    if edge_index is None:
        raise GraphError("from_pyg: the Data object has no edge_index")
    return from_pyg_arrays(edge_index, host(getattr(data, "edge_attr", None)),
                           host(getattr(data, "node_type", None)), getattr(data, "num_nodes", None))


__all__ = [
    "PYG_EDGE_COLUMNS",
    "SPIKE_SORTING",
    "from_networkx",
    "from_pyg",
    "from_pyg_arrays",
    "from_sonata",
    "from_sonata_spikes",
    "network_arrays",
    "to_networkx",
    "to_pyg",
    "to_pyg_arrays",
    "to_sonata",
    "to_sonata_spikes",
]
