"""Spike files: spikegraph's binary format (also written by spikegraph-sim) and .npz."""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from . import _core
from .errors import IoError


def read_spike_file(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a binary spike file: ``{"num_nodes", "dt_ms", "steps", "nodes"}``.

    A missing, truncated, corrupt or wrong-version file raises :class:`IoError`.
    """
    return dict(_core.read_spike_file(os.fspath(path)))


def save_spikes_npz(path: str | os.PathLike[str], steps: np.ndarray, nodes: np.ndarray,
                    dt_ms: float, num_nodes: int) -> None:
    """Write the spike record as .npz (arrays steps, nodes, dt_ms, num_nodes), atomically."""
    final = os.fspath(path)
    tmp = final + ".tmp.npz"
    try:
        np.savez(tmp, steps=steps, nodes=nodes, dt_ms=np.float64(dt_ms), num_nodes=np.int64(num_nodes))
        os.replace(tmp, final)
    except OSError as e:
        raise IoError(f"write spikes '{final}': {e}") from e


def load_spikes_npz(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a .npz written by :func:`save_spikes_npz`."""
    try:
        with np.load(os.fspath(path)) as data:
            return {
                "steps": data["steps"],
                "nodes": data["nodes"],
                "dt_ms": float(data["dt_ms"]),
                "num_nodes": int(data["num_nodes"]),
            }
    except (OSError, KeyError, ValueError) as e:
        raise IoError(f"read spikes '{os.fspath(path)}': {e}") from e
