"""Configuration: a thin Python face on the C++ schema (one schema, defined in C++).

A :class:`Config` always holds every key of the schema. Values come from the defaults
(docs/model.md), dicts (nested ``{"sim": {"dt": 0.1}}`` or flat ``{"sim.dt": 0.1}``) and TOML
files; every change is validated in C++ and applied all-or-nothing.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator, Mapping
from typing import Any, Union

from . import _core
from .errors import ConfigError

ConfigLike = Union["Config", Mapping[str, Any], str, "os.PathLike[str]", None]


def to_steps(duration_ms: float, dt_ms: float) -> int:
    """Whole steps in a duration, rounded half away from zero like the engine (llround)."""
    x = float(duration_ms) / float(dt_ms)
    return math.floor(x + 0.5) if x >= 0 else -math.floor(-x + 0.5)


def _plain(value: Any) -> Any:
    """numpy scalars and arrays become plain Python values."""
    if hasattr(value, "tolist") and not isinstance(value, (str, bytes)):
        return value.tolist()
    return value


def flatten(values: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"sim": {"dt": 0.1}}`` -> ``{"sim.dt": 0.1}`` (flat keys pass through)."""
    flat: dict[str, Any] = {}
    for key, value in values.items():
        if not isinstance(key, str):
            raise ConfigError(f"configure: keys must be strings, got {key!r}")
        full = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(flatten(value, full + "."))
        else:
            flat[full] = _plain(value)
    return flat


class Config:
    """A complete, validated configuration.

    >>> cfg = Config({"sim": {"dt": 0.1, "seed": 7}})
    >>> cfg["sim.dt"]
    0.1
    """

    def __init__(self, values: Mapping[str, Any] | None = None, /, **sections: Any) -> None:
        self._core = _core.Config()
        changes: dict[str, Any] = {}
        if values is not None:
            if not isinstance(values, Mapping):
                raise ConfigError(f"Config: expected a mapping, got {type(values).__name__}")
            changes.update(flatten(values))
        changes.update(flatten(sections))
        if changes:
            self._core.update(changes, "dict")

    @classmethod
    def from_toml(cls, path: str | os.PathLike[str]) -> Config:
        """Read a TOML file (parsed and validated in C++)."""
        cfg = cls()
        cfg._core = _core.Config.from_toml_file(os.fspath(path))
        return cfg

    @classmethod
    def from_toml_string(cls, text: str, source_name: str = "<string>") -> Config:
        cfg = cls()
        cfg._core = _core.Config.from_toml(text, source_name)
        return cfg

    @classmethod
    def coerce(cls, value: ConfigLike) -> Config:
        """A Config from a Config (copied), a mapping, a TOML path, or None (defaults)."""
        if value is None:
            return cls()
        if isinstance(value, Config):
            return value.copy()
        if isinstance(value, Mapping):
            return cls(value)
        if isinstance(value, (str, os.PathLike)):
            return cls.from_toml(value)
        raise ConfigError(
            f"configure: expected a Config, a dict or a TOML path, got {type(value).__name__}"
        )

    def update(self, values: Mapping[str, Any] | None = None, /, **sections: Any) -> None:
        """Validate and apply changes; on error nothing changes."""
        changes = flatten(values or {})
        changes.update(flatten(sections))
        self._core.update(changes, "update")

    def copy(self) -> Config:
        out = Config()
        out._core = self._core.__copy__()
        return out

    def __getitem__(self, key: str) -> Any:
        return self._core.get(key)

    def get(self, key: str, default: Any = None) -> Any:
        try:
            return self._core.get(key)
        except ConfigError:
            return default

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and key in self._core.to_dict()

    def __iter__(self) -> Iterator[str]:
        return iter(self._core.to_dict())

    def __len__(self) -> int:
        return len(self._core.to_dict())

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Config) and self.to_dict() == other.to_dict()

    __hash__ = None  # type: ignore[assignment]

    def to_dict(self, nested: bool = False) -> dict[str, Any]:
        """Every key and value, flat (``"sim.dt"``) or nested (``{"sim": {"dt": ...}}``)."""
        flat: dict[str, Any] = self._core.to_dict()
        if not nested:
            return flat
        tree: dict[str, Any] = {}
        for key, value in flat.items():
            *path, leaf = key.split(".")
            node = tree
            for part in path:
                node = node.setdefault(part, {})
            node[leaf] = value
        return tree

    def to_toml(self) -> str:
        return str(self._core.to_toml())

    def write_toml(self, path: str | os.PathLike[str]) -> None:
        with open(path, "w", encoding="utf-8") as f:
            f.write(self.to_toml())

    def steps(self, key: str, min_steps: int = 0) -> int:
        """A duration key (ms) in whole steps of ``sim.dt``."""
        return int(self._core.steps(key, min_steps))

    def __repr__(self) -> str:
        changed = {k: v for k, v in self.to_dict().items() if v != DEFAULTS.get(k)}
        return f"Config({changed!r})"


def schema() -> list[dict[str, Any]]:
    """Every configuration key with type, default, unit, range and documentation."""
    return list(_core.schema())


def live_keys() -> list[str]:
    """The keys a running simulation may change with ``Simulation.update_config``: the
    parameters the engine re-reads between steps (rates, costs, learning and homeostasis
    constants, sensory input...). Keys that size or allocate state, set initial values or
    choose which services run are fixed for a run."""
    return list(_core.live_keys())


def state_info() -> list[dict[str, Any]]:
    """The node state variables ``Simulation.state(name)`` gives, from the engine's
    table: ``name``, ``type`` ("real" follows ``sim.precision``), ``unit``,
    ``meaning``, ``written_by`` (the phase that changes it), ``newborn`` (a node born
    by structural plasticity starts with it), ``monitorable`` and ``allocated``
    ("always", or only when a node type runs the neuron model that needs it)."""
    return [dict(row) for row in _core.node_state_info()]


def default_run_config() -> Config:
    """The configuration of the built-in default run (``spikegraph run``)."""
    return Config.from_toml_string(_core.default_run_toml(), "<default run>")


DEFAULTS: dict[str, Any] = _core.Config().to_dict()
