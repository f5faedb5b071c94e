"""Checkpoint files: describe one without loading it (``spikegraph info FILE``).

Saving and loading are :meth:`spikegraph.Simulation.save`, :meth:`~spikegraph.Simulation.load`
and :meth:`~spikegraph.Simulation.restore`; the format is in docs/file-formats.md.
"""

from __future__ import annotations

import os
from typing import Any

from . import _core

#: File name suffix used for named slots (``Simulation.save(slot=...)``).
SUFFIX = ".sgckpt"


def checkpoint_info(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Check every checksum of a checkpoint file and describe it: format and engine
    version, step, nodes, edges, recorded spikes, the configuration (TOML text) and
    the sections as (name, dtype, count). Raises :class:`spikegraph.IoError` for a
    missing, truncated, corrupt or wrong-version file."""
    info: dict[str, Any] = dict(_core.checkpoint_info(os.fspath(path)))
    info["sections"] = [tuple(s) for s in info["sections"]]
    return info
