"""Built-in network generators (deterministic for a given seed)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import _core
from .config import Config, ConfigLike, to_steps
from .errors import GraphError
from .network import Network

if TYPE_CHECKING:
    from .microcircuit import Microcircuit


def brunel(
    n: int = 10_000,
    *,
    k_in: int = 100,
    exc_fraction: float = 0.8,
    j: float = 0.1,
    g: float = 5.0,
    delay_ms: float = 1.5,
    dt_ms: float = 0.1,
    seed: int = 1,
    plastic_exc_exc: bool = False,
) -> Network:
    """A Brunel-style balanced network of ``n`` dynamic nodes.

    The first ``round(exc_fraction * n)`` nodes are excitatory. Every node receives
    exactly ``k_in`` edges, ``round(exc_fraction * k_in)`` of them from excitatory
    sources (weight ``j``) and the rest from inhibitory sources (weight ``g * j``),
    drawn uniformly with replacement. Every edge has a delay of ``delay_ms / dt_ms`` steps
    (rounded half away from zero, at least 1), so pass the ``sim.dt`` you will simulate with.
    ``plastic_exc_exc`` marks the edges between excitatory nodes plastic (benchmark B2).
    """
    if not dt_ms > 0:
        raise GraphError(f"make_brunel: dt_ms must be > 0, got {dt_ms}")
    delay_steps = max(1, to_steps(delay_ms, dt_ms))
    return Network(_core.Graph.brunel(n, exc_fraction, k_in, j, g, delay_steps, seed, plastic_exc_exc))


def from_config(config: ConfigLike = None) -> Network:
    """The network described by the ``[network]`` section of a configuration (with its
    initial values: the microcircuit's)."""
    graph, initial = _core.Graph.from_config(Config.coerce(config)._core)
    return Network(graph, dict(initial))


def microcircuit(scale: float = 1.0, k_scale: float = 1.0, seed: int = 1, dt: float = 0.1,
                 background: str = "poisson") -> Microcircuit:
    """The cortical microcircuit of Potjans & Diesmann (2014): see
    :mod:`spikegraph.microcircuit`. Returns the network (with its initial potentials,
    currents and Poisson rates) and its configuration; ``.simulation()`` makes a
    Simulation of it."""
    from .microcircuit import microcircuit as build

    return build(scale=scale, k_scale=k_scale, seed=seed, dt=dt, background=background)
