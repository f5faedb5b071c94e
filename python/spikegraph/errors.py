"""spikegraph's exceptions.

Each mirrors a C++ class of ``spikegraph::Error`` one-to-one (the bindings translate
them) and also derives from the matching builtin, so ``except ValueError`` catches
configuration, graph and input errors.
"""

from __future__ import annotations


class SpikegraphError(Exception):
    """Base of every spikegraph error."""


class ConfigError(SpikegraphError, ValueError):
    """Unknown configuration key, bad value or malformed TOML."""


class GraphError(SpikegraphError, ValueError):
    """Invalid graph data (index range, weights, delays, lengths)."""


class InputError(SpikegraphError, ValueError):
    """Invalid runtime input (array shape, dtype, NaN, names)."""


class IoError(SpikegraphError, OSError):
    """A file could not be read or written, or is corrupt."""


class BackendError(SpikegraphError, RuntimeError):
    """A backend is unavailable or failed."""


__all__ = ["BackendError", "ConfigError", "GraphError", "InputError", "IoError", "SpikegraphError"]
