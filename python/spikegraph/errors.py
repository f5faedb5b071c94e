"""spikegraph's exceptions.

Each mirrors a C++ class of ``spikegraph::Error`` and also derives from the matching
builtin, so ``except ValueError`` catches configuration, graph and input errors.
"""

from ._core import (
    BackendError,
    ConfigError,
    GraphError,
    InputError,
    IoError,
    SpikegraphError,
)

__all__ = [
    "BackendError",
    "ConfigError",
    "GraphError",
    "InputError",
    "IoError",
    "SpikegraphError",
]
