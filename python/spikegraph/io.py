"""Result files: spikes (spikegraph's binary format and .npz), monitors, ledger, metrics,
and a run directory holding all of them (what ``spikegraph run --out DIR`` writes).

Every writer replaces its file atomically (a temporary file renamed into place) and
raises :class:`~spikegraph.IoError` naming the file; every reader raises
:class:`~spikegraph.IoError` for a missing, truncated or malformed file.
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
import re
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Union

import numpy as np

from . import _core
from .errors import IoError

if TYPE_CHECKING:
    from .simulation import Simulation

PathLike = Union[str, "os.PathLike[str]"]

#: Files of a run directory (``spikegraph run --out DIR``), by role.
RUN_FILES: dict[str, str] = {
    "spikes": "spikes.npz",
    "sonata_spikes": "spikes.h5",
    "monitor": "monitor.npz",
    "ledger": "ledger.npz",
    "homeostasis": "homeostasis.npz",
    "state": "state.npz",
    "metrics": "metrics.json",
    "config": "config.toml",
    "network": "network",
}


def read_spike_file(path: PathLike) -> dict[str, Any]:
    """Read a binary spike file: ``{"num_nodes", "dt_ms", "steps", "nodes"}``.

    A missing, truncated, corrupt or wrong-version file raises :class:`IoError`.
    """
    return dict(_core.read_spike_file(os.fspath(path)))


def _atomic_savez(path: PathLike, what: str, arrays: Mapping[str, Any]) -> None:
    final = os.fspath(path)
    tmp = final + ".tmp.npz"
    try:
        np.savez(tmp, **{k: np.asarray(v) for k, v in arrays.items()})  # type: ignore[arg-type]
        os.replace(tmp, final)
    except OSError as e:
        raise IoError(f"write {what} '{final}': {e}") from e


def _load_npz(path: PathLike, what: str) -> dict[str, np.ndarray]:
    try:
        # The file is opened here so that it is closed when numpy fails to parse it.
        with open(os.fspath(path), "rb") as f, np.load(f, allow_pickle=False) as data:
            return {k: data[k] for k in data.files}
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as e:
        raise IoError(f"read {what} '{os.fspath(path)}': {e}") from e


def spikes_npz_arrays(steps: np.ndarray, nodes: np.ndarray, dt_ms: float, num_nodes: int) -> dict[str, Any]:
    """The arrays of a spikes .npz: steps, nodes, dt_ms (float64), num_nodes (int64)."""
    return {"steps": steps, "nodes": nodes, "dt_ms": np.float64(dt_ms), "num_nodes": np.int64(num_nodes)}


def save_spikes_npz(path: PathLike, steps: np.ndarray, nodes: np.ndarray,
                    dt_ms: float, num_nodes: int) -> None:
    """Write the spike record as .npz (arrays steps, nodes, dt_ms, num_nodes), atomically."""
    _atomic_savez(path, "spikes", spikes_npz_arrays(steps, nodes, dt_ms, num_nodes))


def load_spikes_npz(path: PathLike) -> dict[str, Any]:
    """Read a .npz written by :func:`save_spikes_npz`."""
    data = _load_npz(path, "spikes")
    try:
        return {
            "steps": data["steps"],
            "nodes": data["nodes"],
            "dt_ms": float(data["dt_ms"]),
            "num_nodes": int(data["num_nodes"]),
        }
    except KeyError as e:
        raise IoError(f"read spikes '{os.fspath(path)}': missing array {e}") from e


def save_arrays_npz(path: PathLike, arrays: Mapping[str, Any], what: str = "arrays") -> None:
    """Write a flat ``{name: array or number}`` dict (e.g. ``sim.ledger``) as .npz, atomically."""
    _atomic_savez(path, what, arrays)


def load_arrays_npz(path: PathLike, what: str = "arrays") -> dict[str, Any]:
    """Read a .npz written by :func:`save_arrays_npz`; 0-d arrays come back as Python numbers."""
    return {k: (v.item() if v.ndim == 0 else v) for k, v in _load_npz(path, what).items()}


def save_monitor_npz(path: PathLike, monitor: Mapping[str, Any]) -> None:
    """Write ``sim.monitor`` (``steps``, ``nodes``, ``values[var]``) as .npz: arrays
    ``steps``, ``nodes`` and ``value_<var>`` per variable."""
    arrays = {"steps": monitor["steps"], "nodes": monitor["nodes"]}
    arrays.update({f"value_{k}": v for k, v in dict(monitor.get("values") or {}).items()})
    _atomic_savez(path, "monitor", arrays)


def load_monitor_npz(path: PathLike) -> dict[str, Any]:
    """Read a .npz written by :func:`save_monitor_npz` in the shape of ``sim.monitor``."""
    data = _load_npz(path, "monitor")
    if "steps" not in data or "nodes" not in data:
        raise IoError(f"read monitor '{os.fspath(path)}': not a monitor file (no steps/nodes arrays)")
    values = {k[len("value_"):]: v for k, v in data.items() if k.startswith("value_")}
    return {"steps": data["steps"], "nodes": data["nodes"], "values": values}


def _plain(value: Any) -> Any:
    """JSON-ready: numpy scalars and arrays to Python, non-finite floats to None."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return _plain(value.tolist())
    if isinstance(value, np.generic):
        return _plain(value.item())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def save_metrics_json(path: PathLike, metrics: Mapping[str, Any]) -> None:
    """Write a (nested) dict of numbers, strings and arrays as JSON (non-finite -> null), atomically."""
    final = os.fspath(path)
    tmp = final + ".tmp"
    try:
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(_plain(metrics), f, indent=2, allow_nan=False)
            f.write("\n")
        os.replace(tmp, final)
    except (OSError, TypeError, ValueError) as e:
        raise IoError(f"write metrics '{final}': {e}") from e


def load_metrics_json(path: PathLike) -> dict[str, Any]:
    try:
        with open(os.fspath(path), encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, ValueError) as e:
        raise IoError(f"read metrics '{os.fspath(path)}': {e}") from e
    if not isinstance(data, dict):
        raise IoError(f"read metrics '{os.fspath(path)}': expected a JSON object")
    return data


def run_metrics(sim: Simulation) -> dict[str, Any]:
    """Summary, performance, energy ledger totals and homeostasis of a simulation."""
    metrics: dict[str, Any] = {"summary": sim.summary(), "perf": sim.perf(),
                               "step": sim.step, "frames_applied": sim.frames_applied()}
    ledger = sim.ledger
    if ledger["step"].size:
        flows = ("inflow", "spike_cost", "metabolism", "flow_out", "flow_in", "overflow", "transfers",
                 "birth_cost")
        metrics["energy"] = {
            "total_first": float(ledger["total_before"][0]),
            "total_last": float(ledger["total_after"][-1]),
            "max_abs_error": float(np.abs(ledger["error"]).max()),
            "totals": {k: float(ledger[k].sum()) for k in flows},
        }
    home = sim.homeostasis
    keys = ("synaptic_gain", "branching_ratio", "branching_amplitude", "branching_quality", "updates")
    metrics["homeostasis"] = {k: home[k] for k in keys if k in home}
    return metrics


def save_run(sim: Simulation, directory: PathLike, *, weights_before: np.ndarray | None = None,
             extra_metrics: Mapping[str, Any] | None = None, sonata: bool | None = None) -> dict[str, Path]:
    """Write a simulation's results into ``directory`` (see :data:`RUN_FILES`): spikes
    (.npz, and SONATA when h5py is installed), monitor, ledger, homeostasis, final state
    (energy, rate, spike counts, node types, weights before/after), metrics JSON, the
    configuration, and the final network as SONATA (h5py). ``sonata=False`` skips the
    SONATA files, ``True`` requires h5py. Returns the paths written by role."""
    out = Path(os.fspath(directory))
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise IoError(f"write run directory '{out}': {e}") from e
    files = {role: out / name for role, name in RUN_FILES.items()}
    written: dict[str, Path] = {}
    spikes = sim.spikes
    num_nodes = sim.current_network.num_nodes
    save_spikes_npz(files["spikes"], spikes.steps, spikes.nodes, sim.dt, num_nodes)
    written["spikes"] = files["spikes"]
    save_monitor_npz(files["monitor"], sim.monitor)
    written["monitor"] = files["monitor"]
    save_arrays_npz(files["ledger"], sim.ledger, "ledger")
    written["ledger"] = files["ledger"]
    save_arrays_npz(files["homeostasis"], sim.homeostasis, "homeostasis")
    written["homeostasis"] = files["homeostasis"]
    state = {
        "step": np.int64(sim.step), "dt_ms": np.float64(sim.dt),
        "node_types": sim.current_network.node_types, "energy": sim.state("energy"),
        "rate": sim.state("rate"), "spike_counts": sim.spike_counts(),
        "sensory_grid": np.asarray(sim.sensory_grid, dtype=np.int64),
        "weights_after": sim.weights,
    }
    if weights_before is not None:
        state["weights_before"] = np.asarray(weights_before)
    save_arrays_npz(files["state"], state, "state")
    written["state"] = files["state"]
    metrics = run_metrics(sim)
    if extra_metrics:
        metrics.update(extra_metrics)
    try:
        files["config"].write_text(sim.config.to_toml(), encoding="utf-8")
    except OSError as e:
        raise IoError(f"write configuration '{files['config']}': {e}") from e
    written["config"] = files["config"]
    if sonata is None:
        sonata = importlib.util.find_spec("h5py") is not None
    if sonata:
        from .interchange import to_sonata, to_sonata_spikes

        to_sonata_spikes(sim, files["sonata_spikes"])
        written["sonata_spikes"] = files["sonata_spikes"]
        to_sonata(sim, files["network"])
        written["network"] = files["network"]
    metrics["files"] = [*sorted(p.name for p in written.values()), RUN_FILES["metrics"]]
    save_metrics_json(files["metrics"], metrics)
    written["metrics"] = files["metrics"]
    return written


def load_run(directory: PathLike) -> dict[str, Any]:
    """Read what :func:`save_run` wrote: ``spikes``, ``monitor``, ``ledger``,
    ``homeostasis``, ``state``, ``metrics`` (each present when its file is)."""
    base = Path(os.fspath(directory))
    if not base.is_dir():
        raise IoError(f"read run directory '{base}': not a directory")
    if not (base / RUN_FILES["spikes"]).is_file() and not (base / RUN_FILES["metrics"]).is_file():
        raise IoError(f"read run directory '{base}': no {RUN_FILES['spikes']} or {RUN_FILES['metrics']} "
                      "(is it the --out directory of spikegraph run?)")
    readers: dict[str, Any] = {
        "spikes": load_spikes_npz, "monitor": load_monitor_npz,
        "ledger": lambda p: load_arrays_npz(p, "ledger"),
        "homeostasis": lambda p: load_arrays_npz(p, "homeostasis"),
        "state": lambda p: load_arrays_npz(p, "state"), "metrics": load_metrics_json,
    }
    return {role: read(base / RUN_FILES[role]) for role, read in readers.items()
            if (base / RUN_FILES[role]).is_file()}


__all__ = [
    "RUN_FILES",
    "load_arrays_npz",
    "load_metrics_json",
    "load_monitor_npz",
    "load_run",
    "load_spikes_npz",
    "read_spike_file",
    "run_metrics",
    "save_arrays_npz",
    "save_metrics_json",
    "save_monitor_npz",
    "save_run",
    "save_spikes_npz",
]


#: The columns of a per-step ledger in a ledger chunk, after its step.
_LEDGER_COLUMNS = ("total_before", "inflow", "spike_cost", "metabolism", "flow_out", "flow_in",
                   "overflow", "transfers", "total_after", "birth_cost")


def _text(array: np.ndarray) -> str:
    return bytes(np.asarray(array, dtype=np.uint8)).decode("utf-8")


def _read_chunks(directory: str, kind: str) -> tuple[list[dict[str, np.ndarray]], int, int]:
    """The chunks of ``kind`` in step order, checked to follow each other without a gap."""
    chunks = [dict(_core.read_snapshot(p)) for p in _core.record_chunks(directory, kind)]
    first = end = -1
    for c in chunks:
        start, stop = int(c["chunk/first_step"][0]), int(c["chunk/end_step"][0])
        if end >= 0 and start != end:
            raise IoError(f"read record stream '{directory}': {kind} chunks skip from step {end} to {start}")
        first = start if first < 0 else first
        end = stop
    return chunks, first, end


def read_record_stream(directory: PathLike) -> dict[str, Any]:
    """Read the records a run streamed to ``directory`` (``record.stream``): every complete
    chunk, concatenated in step order.

    Returns ``{"spikes": {"steps", "nodes", "dt_ms", "first_step", "end_step"},
    "monitor": {"steps", "nodes", "values": {<variable>: samples x nodes}}`` (the shape of
    ``sim.monitor``), ``"ledger": {"step", <column>...}`` (the columns of ``sim.ledger``
    without ``error``; empty without energy) and ``"recorders": {name: ...}`` (the shape
    of ``sim.recorder(name)``, plus ``end_step``). A chunk that
    fails its checksum, or a gap between chunks, raises :class:`IoError`; a chunk still
    being written when the run stopped is not part of the stream (it was never renamed
    into place).
    """
    d = os.fspath(directory)
    if not os.path.isdir(d):
        raise IoError(f"read record stream '{d}': not a directory")
    spikes, first, end = _read_chunks(d, "spikes")
    out: dict[str, Any] = {}
    dt = float(spikes[0]["chunk/dt_ms"][0]) if spikes else math.nan
    out["spikes"] = {
        "steps": np.concatenate([c["spike_steps"] for c in spikes]) if spikes else np.zeros(0, np.int64),
        "nodes": np.concatenate([c["spike_nodes"] for c in spikes]) if spikes else np.zeros(0, np.uint32),
        "dt_ms": dt, "first_step": first, "end_step": end,
    }
    monitor: dict[str, Any] = {"steps": np.zeros(0, np.int64), "nodes": np.zeros(0, np.uint32), "values": {}}
    if spikes:
        variables = [v for v in _text(spikes[0]["monitor_variables"]).split("\n") if v]
        nodes = spikes[0]["monitor_nodes"]
        steps = np.concatenate([c["monitor_steps"] for c in spikes])
        monitor = {"steps": steps, "nodes": nodes, "values": {}}
        for k, name in enumerate(variables):
            parts = []
            for c in spikes:
                samples = c["monitor_steps"].size
                block = c["monitor_values"].reshape(len(variables), samples * nodes.size)[k]
                parts.append(block.reshape(samples, nodes.size))
            monitor["values"][name] = np.concatenate(parts)
    out["monitor"] = monitor
    ledgers, _, _ = _read_chunks(d, "ledger")
    ledger: dict[str, np.ndarray] = {}
    if ledgers:
        width = 1 + int(ledgers[0]["ledger_doubles"][0])
        rows = np.concatenate([c["ledgers"] for c in ledgers]).reshape(-1, width)
        ledger["step"] = rows[:, 0].astype(np.int64)
        for k, name in enumerate(_LEDGER_COLUMNS[: width - 1]):
            ledger[name] = rows[:, 1 + k]
    out["ledger"] = ledger
    out["recorders"] = {name: _read_recorder(d, name) for name in _recorder_names(d)}
    return out


_RECORDER_CHUNK = re.compile(r"^recorder\.([A-Za-z0-9_]+)-[0-9]{12}\.sgrec$")


def _recorder_names(directory: str) -> list[str]:
    """The recorders with chunks in ``directory``, sorted."""
    return sorted({m.group(1) for f in os.listdir(directory) if (m := _RECORDER_CHUNK.match(f))})


def _read_recorder(directory: str, name: str) -> dict[str, Any]:
    """One recorder's chunks joined, in the shape of ``Simulation.recorder``."""
    chunks, first, end = _read_chunks(directory, "recorder." + name)
    c0 = chunks[0]
    kind = _text(c0["recorder/kind"])
    nodes = c0["recorder/nodes"]
    interval = int(c0["recorder/interval"][0])
    dt = float(c0["chunk/dt_ms"][0])
    steps = np.concatenate([c["steps"] for c in chunks])
    r: dict[str, Any] = {"kind": kind, "nodes": nodes, "interval_steps": interval, "start_step": first,
                         "end_step": end, "steps": steps, "times_ms": steps * dt}
    if kind == "spikes":
        r["spike_nodes"] = np.concatenate([c["spike_nodes"] for c in chunks])
    elif kind == "rate":
        r["counts"] = np.concatenate([c["counts"] for c in chunks])
        r["rate_hz"] = r["counts"] / (nodes.size * interval * dt / 1000.0)
    else:
        variables = [v for v in _text(c0["recorder/variables"]).split("\n") if v]
        per = [c["values"].reshape(len(variables), c["steps"].size, nodes.size) for c in chunks]
        r["values"] = {v: np.concatenate([b[k] for b in per]) for k, v in enumerate(variables)}
    return r
