"""spikegraph: a fast engine for energy-based spiking neural graphs.

The engine is C++ (``spikegraph._core``); this package adds configuration,
orchestration (run loops, callbacks, progress) and I/O.
"""

from __future__ import annotations

from typing import Any

from . import _core, analysis, audio, builder, interchange, io, networks, plot, services, sources
from .builder import NetworkBuilder
from .checkpoint import checkpoint_info
from .config import Config, default_run_config, live_keys, schema, state_info
from .errors import (
    BackendError,
    ConfigError,
    GraphError,
    InputError,
    IoError,
    SpikegraphError,
)
from .io import read_spike_file
from .network import EDGE_KINDS, NODE_TYPE_TRAITS, NODE_TYPES, Network
from .simulation import Simulation, Spikes, communicator

Communicator = _core.Communicator

__version__: str = _core.build_info()["version"]


def build_info() -> dict[str, str]:
    """What was compiled in (version, compiler, SIMD, threads) and each backend's status."""
    return dict(_core.build_info())


def mpi_compiled() -> bool:
    """Whether this build can run on several processes (MPI)."""
    return bool(_core.mpi_compiled())


def mpi_world() -> Communicator:
    """MPI_COMM_WORLD (MPI is initialised when nobody has). Raises :class:`BackendError`
    when spikegraph was built without MPI."""
    return _core.mpi_world()


def local_communicator() -> Communicator:
    """A communicator of one rank: a ``comm=`` that needs no MPI."""
    return _core.local_communicator()


def available_backends() -> list[dict[str, Any]]:
    """Every backend: name, compiled, available, detail."""
    return [dict(b) for b in _core.available_backends()]


__all__ = [
    "EDGE_KINDS",
    "NODE_TYPES",
    "NODE_TYPE_TRAITS",
    "BackendError",
    "Communicator",
    "Config",
    "ConfigError",
    "GraphError",
    "InputError",
    "IoError",
    "Network",
    "NetworkBuilder",
    "Simulation",
    "SpikegraphError",
    "Spikes",
    "analysis",
    "audio",
    "available_backends",
    "build_info",
    "builder",
    "checkpoint_info",
    "communicator",
    "default_run_config",
    "interchange",
    "io",
    "live_keys",
    "local_communicator",
    "mpi_compiled",
    "mpi_world",
    "networks",
    "plot",
    "read_spike_file",
    "schema",
    "services",
    "sources",
    "state_info",
]
