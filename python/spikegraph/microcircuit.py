"""The cortical microcircuit of Potjans & Diesmann (2014, Cerebral Cortex 24:785), the
field's yardstick: four layers (2/3, 4, 5, 6) of an excitatory and an inhibitory
population each, 77,169 current-based LIF neurons with exponential synaptic currents
(spikegraph's ``lif_exp``, NEST's ``iaf_psc_exp``) and about 0.3 billion synapses at full
scale, dt = 0.1 ms.

Built by the engine (graph/microcircuit.hpp; ``network.kind = "microcircuit"`` in a
configuration) from the paper's numbers: population sizes, the connection probabilities between
populations (turned into total synapse counts so that, with multapses, the expected
number of distinct pairs matches them), mean PSPs of 0.15 mV (twice that from L4E to
L2/3E, g = -4 for inhibition), 10% relative weight spread, normal delays (1.5 ms
excitatory, 0.75 ms inhibitory, 50% spread, at least one step). The external input of
each population (its K_ext synapses at 8 Hz) is Poisson input of K_ext x 8 Hz per neuron,
each spike a 0.15 mV PSP (``background="poisson"``, the published model), or the
equivalent constant current (``background="dc"``, the reference implementation's option
without Poisson generators; deterministic input, so two simulators agree spike for spike).

``scale`` shrinks the populations and ``k_scale`` the in-degrees (the external ones too);
with ``k_scale < 1`` weights grow by 1/sqrt(k_scale) and a constant current restores each
population's mean input at the published full-scale rates (van Albada et al. 2015), which
keeps the activity close to the full model's.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import _core
from .config import Config
from .network import Network
from .simulation import Simulation

BACKGROUNDS = ("poisson", "dc")


def design(scale: float = 0.1, k_scale: float = 1.0, background: str = "poisson") -> dict[str, Any]:
    """The circuit's numbers at a scale (the engine's, graph/microcircuit.hpp), as plain
    lists (JSON), for building the same model natively in another simulator:
    ``populations``, ``sizes``, ``counts`` [post][pre] (total synapses), ``psc`` [post][pre]
    (mean current amplitudes in pA, signed), ``delays`` [pre] (mean ms), the relative
    spreads, ``drive`` per population (pA), ``poisson_rate`` per population (Hz per
    neuron; 0 with ``background="dc"``), ``poisson_weight`` (pA per external spike), the
    ``neuron`` parameters and the ``config`` keys (flat) a simulation of it needs."""
    if background not in BACKGROUNDS:
        raise ValueError(f"microcircuit: background must be one of {BACKGROUNDS}, got {background!r}")
    if not (0.0 < scale <= 1.0 and 0.0 < k_scale <= 1.0):
        raise ValueError(f"microcircuit: scale and k_scale must be in (0, 1], got {scale}, {k_scale}")
    return dict(_core.microcircuit_design(float(scale), float(k_scale), background == "poisson"))


_FULL = design(1.0)
POPULATIONS: tuple[str, ...] = tuple(_FULL["populations"])
SIZES = np.array(_FULL["sizes"])


def psc_per_psp(c_m: float, tau_m: float, tau_syn: float) -> float:
    """The current amplitude (pA) of an exponential PSC whose PSP peaks at 1 mV."""
    return float(_core.psc_per_psp(c_m, tau_m, tau_syn))


def synapse_counts(scale: float, k_scale: float) -> np.ndarray:
    """Total synapses from population j to i (``design(...)["counts"]`` as an array)."""
    return np.array(design(scale, k_scale)["counts"], dtype=np.int64)


@dataclass
class Microcircuit:
    """A built microcircuit: the network (its populations' initial potentials, constant
    currents and Poisson rates are its ``initial_state``) and its configuration."""

    network: Network
    config: Config
    populations: dict[str, range]

    @property
    def v0(self) -> np.ndarray:
        """Initial membrane potentials (mV)."""
        return self.network.initial_state["v"]

    @property
    def drive(self) -> np.ndarray:
        """Constant input currents (pA)."""
        return self.network.initial_state["drive"]

    def simulation(self, **config: Any) -> Simulation:
        """A Simulation of the circuit (``config``: further flat keys, e.g. sim.threads)."""
        cfg = self.config.copy()
        if config:
            cfg.update(config)
        return Simulation(self.network, cfg)


def config(scale: float = 0.1, k_scale: float = 1.0, seed: int = 1, dt: float = 0.1,
           background: str = "poisson") -> Config:
    """The configuration of a microcircuit run (``network.kind = "microcircuit"`` and the
    circuit's neurons): what ``examples/configs/microcircuit.toml`` spells out."""
    return _config(design(scale, k_scale, background), seed, dt)


def _config(d: dict[str, Any], seed: int, dt: float) -> Config:
    cfg = Config({"sim": {"dt": dt, "seed": seed}})
    cfg.update(d["config"])
    return cfg


def microcircuit(scale: float = 0.1, k_scale: float = 1.0, seed: int = 1, dt: float = 0.1,
                 background: str = "poisson") -> Microcircuit:
    """Build the microcircuit with populations of round(scale x N) neurons and in-degrees
    scaled by ``k_scale`` (both in (0, 1]) and ``background`` "poisson" or "dc" (in C++,
    on all cores; the same network on any count); see the module for the model."""
    from .networks import from_config

    d = design(scale, k_scale, background)
    cfg = _config(d, seed, dt)
    network = from_config(cfg)
    starts = np.concatenate([[0], np.cumsum(d["sizes"])])
    ids = {name: range(int(starts[i]), int(starts[i + 1])) for i, name in enumerate(POPULATIONS)}
    return Microcircuit(network, cfg, ids)


def statistics(steps: np.ndarray, nodes: np.ndarray, populations: dict[str, range], dt: float,
               start_ms: float, stop_ms: float, *, sample: int = 200, bin_ms: float = 5.0,
               seed: int = 0) -> dict[str, dict[str, float]]:
    """Per population, over spikes in [start_ms, stop_ms): ``rate`` (Hz, mean over its
    neurons), ``cv`` (mean coefficient of variation of the inter-spike intervals of
    neurons with at least 3 spikes) and ``corr`` (mean pairwise Pearson correlation of
    ``bin_ms`` spike counts over ``sample`` neurons drawn with ``seed``; pairs with a
    silent neuron left out), the statistics Potjans & Diesmann and NEST's example report."""
    steps, nodes = np.asarray(steps), np.asarray(nodes)
    t = steps * dt
    keep = (t >= start_ms) & (t < stop_ms)
    t, nodes = t[keep], nodes[keep].astype(np.int64)
    seconds = (stop_ms - start_ms) / 1000.0
    bins = np.arange(start_ms, stop_ms + bin_ms / 2, bin_ms)
    rng = np.random.default_rng(seed)
    out: dict[str, dict[str, float]] = {}
    for name, ids in populations.items():
        mine = (nodes >= ids.start) & (nodes < ids.stop)
        pn, pt = nodes[mine] - ids.start, t[mine]
        counts = np.bincount(pn, minlength=len(ids))
        order = np.lexsort((pt, pn))
        pn, pt = pn[order], pt[order]
        cvs = []
        for k in np.flatnonzero(counts >= 3):
            isi = np.diff(pt[np.searchsorted(pn, k):np.searchsorted(pn, k, side="right")])
            if isi.mean() > 0:
                cvs.append(isi.std() / isi.mean())
        chosen = rng.choice(len(ids), size=min(sample, len(ids)), replace=False)
        binned = np.stack([np.histogram(pt[pn == k], bins)[0] for k in chosen]).astype(np.float64)
        active = binned[binned.std(axis=1) > 0]
        corr = math.nan
        if active.shape[0] >= 2:
            c = np.corrcoef(active)
            corr = float(c[np.triu_indices_from(c, 1)].mean())
        out[name] = {"rate": float(counts.mean() / seconds), "cv": float(np.mean(cvs)) if cvs else math.nan,
                     "corr": corr}
    return out
