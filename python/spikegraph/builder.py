"""Networks from populations and projections, as NEST, Brian2 and PyNN describe them.

>>> import spikegraph as sg
>>> b = sg.NetworkBuilder(seed=1, dt=0.1)
>>> exc = b.population("E", 800)
>>> inh = b.population("I", 200)
>>> b.connect("E", ["E", "I"], "fixed_indegree", n=80, weight=sg.builder.normal(0.1, 0.02, low=0.0),
...           delay=1.5)
>>> b.connect("I", ["E", "I"], "pairwise_bernoulli", p=0.1, weight=0.5, kind="inhibitory")
>>> net = b.build()

The pairs, weights and delays come from the engine's counter-based generator keyed by
the seed and the projection's place in the order of ``connect`` calls: the same
description gives the same network on every machine and thread count. Weights are
magnitudes (>= 0; ``kind`` gives the sign); delays are in ms, rounded to whole steps of
``dt`` (at least one step).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Union

import numpy as np
import numpy.typing as npt

from . import _core
from .errors import GraphError
from .network import Network

#: The connection rules (NEST's names).
RULES = ("all_to_all", "one_to_one", "fixed_indegree", "fixed_outdegree", "fixed_total_number",
         "pairwise_bernoulli", "from_list")

Value = Union[float, int, dict[str, Any]]


def _dist(kind: str, a: float, b: float = 0.0, low: float | None = None,
          high: float | None = None) -> dict[str, Any]:
    return {"dist": kind, "a": float(a), "b": float(b), "low": -1e300 if low is None else float(low),
            "high": 1e300 if high is None else float(high)}


def uniform(low: float, high: float) -> dict[str, Any]:
    """Uniform on [low, high)."""
    return _dist("uniform", low, high)


def normal(mean: float, sd: float, *, low: float | None = None, high: float | None = None,
           redraw: bool = False) -> dict[str, Any]:
    """Normal with bounds: values outside [low, high] are clipped to them, or with
    ``redraw=True`` drawn again (NEST's ``normal_clipped`` / redrawn normal)."""
    return _dist("normal_redrawn" if redraw else "normal", mean, sd, low, high)


def lognormal(mu: float, sigma: float) -> dict[str, Any]:
    """exp(normal(mu, sigma)): ``mu`` and ``sigma`` of the logarithm."""
    return _dist("lognormal", mu, sigma)


def _value(v: Value, what: str) -> dict[str, Any]:
    if isinstance(v, dict):
        return v
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        raise GraphError(f"connect: {what} must be a finite number or a distribution "
                         f"(spikegraph.builder.uniform/normal/lognormal), got {v!r}")
    return _dist("constant", v)


def _indices(values: npt.ArrayLike, what: str) -> np.ndarray:
    arr = np.asarray(values)
    if arr.ndim != 1 or (arr.size and (not np.issubdtype(arr.dtype, np.integer) or arr.min() < 0
                                       or arr.max() > 0xFFFFFFFE)):
        raise GraphError(f"connect: {what} must be 1-D arrays of indices >= 0")
    return np.ascontiguousarray(arr, dtype=np.uint32)


class NetworkBuilder:
    """Named populations of a node type and projections between them (see the module)."""

    def __init__(self, seed: int = 1, dt: float = 0.1) -> None:
        self._b = _core.NetworkBuilder(int(seed), float(dt))

    def population(self, name: str, size: int, type: str = "dynamic",
                   **initial: Value | npt.ArrayLike) -> range:
        """Add ``size`` nodes of ``type`` after the previous population; returns their ids.

        Keyword arguments give the nodes' initial state (any variable of
        :func:`spikegraph.state_info` but ``alive``): a number, a distribution (one draw
        per node from the counter-based generator) or an array of one value per node,
        e.g. ``v=normal(-58.0, 10.0)``, ``poisson_rate=12800.0``, ``drive=array``."""
        first, n = self._b.add_population(name, type, int(size))
        for variable, value in initial.items():
            self.initial(name, variable, value)
        return range(int(first), int(first) + int(n))

    def initial(self, population: str, variable: str, value: Value | npt.ArrayLike) -> None:
        """Set (or replace) the initial value of ``variable`` for the nodes of
        ``population``: a number, a distribution or one value per node."""
        if isinstance(value, dict):
            self._b.set_initial(population, variable, value)
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            self._b.set_initial(population, variable, _value(value, f"initial value of {variable}"))
        else:
            arr = np.asarray(value, dtype=np.float64)
            if arr.ndim != 1:
                raise GraphError(f"set_initial('{population}', '{variable}'): values must be a number, a "
                                 "distribution or a 1-D array")
            self._b.set_initial_values(population, variable, np.ascontiguousarray(arr))

    def connect(self, pre: str | Sequence[str], post: str | Sequence[str], rule: str = "all_to_all", *,
                n: int | None = None, p: float | None = None, weight: Value = 1.0, delay: Value = 1.0,
                kind: str = "excitatory", plastic: bool = False, autapses: bool = True,
                multapses: bool = True, pairs: tuple[npt.ArrayLike, npt.ArrayLike] | None = None) -> None:
        """Project from ``pre`` to ``post`` (a name or a list of names: one projection per
        pair) by ``rule``: ``n`` for fixed_indegree (sources per target), fixed_outdegree
        (targets per source) and fixed_total_number; ``p`` for pairwise_bernoulli;
        ``pairs=(pre_indices, post_indices)`` for from_list (indices within the two
        populations, one edge per pair, in order). Everything is checked now; an error
        names the projection and adds nothing."""
        if rule not in RULES:
            raise GraphError(f"connect: unknown rule {rule!r} (one of {', '.join(RULES)})")
        needs_n = rule in ("fixed_indegree", "fixed_outdegree", "fixed_total_number")
        if needs_n and n is None:
            raise GraphError(f"connect: rule {rule!r} needs n")
        if rule == "pairwise_bernoulli" and p is None:
            raise GraphError("connect: rule 'pairwise_bernoulli' needs p")
        if (rule == "from_list") != (pairs is not None):
            raise GraphError("connect: rule 'from_list' takes pairs=(pre_indices, post_indices), "
                             "other rules none")
        pre_index, post_index = np.zeros(0, np.uint32), np.zeros(0, np.uint32)
        if pairs is not None:
            pre_index, post_index = (_indices(x, "pairs") for x in pairs)
        w, d = _value(weight, "weight"), _value(delay, "delay")
        for a in [pre] if isinstance(pre, str) else list(pre):
            for b in [post] if isinstance(post, str) else list(post):
                self._b.connect(a, b, rule, int(n or 0), float(p or 0.0), bool(autapses), bool(multapses),
                                w, d, kind, bool(plastic), pre_index, post_index)

    @property
    def populations(self) -> dict[str, dict[str, Any]]:
        """``{name: {"type", "first", "size", "ids"}}`` in order."""
        return {name: {"type": t, "first": int(first), "size": int(size), "ids": range(first, first + size)}
                for name, t, first, size in self._b.populations}

    def build(self, threads: int = 0) -> Network:
        """Draw every projection and build the network (in C++, without the GIL) on
        ``threads`` threads (0: all cores); the network is the same on any count."""
        if isinstance(threads, bool) or not isinstance(threads, int) or threads < 0:
            raise GraphError(f"build: threads must be an integer >= 0, got {threads!r}")
        return Network(self._b.build(threads), dict(self._b.initial_state()))
