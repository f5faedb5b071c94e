"""The cortical microcircuit of Potjans & Diesmann (2014, Cerebral Cortex 24:785), the
field's yardstick: four layers (2/3, 4, 5, 6) of an excitatory and an inhibitory
population each, 77,169 current-based LIF neurons with exponential synaptic currents
(spikegraph's ``lif_exp``, NEST's ``iaf_psc_exp``) and about 0.3 billion synapses at full
scale, dt = 0.1 ms.

Built from the paper's numbers: population sizes, the connection probabilities between
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

from .builder import NetworkBuilder, normal
from .config import Config
from .network import Network
from .simulation import Simulation

POPULATIONS = ("L23E", "L23I", "L4E", "L4I", "L5E", "L5I", "L6E", "L6I")
SIZES = np.array([20683, 5834, 21915, 5479, 4850, 1065, 14395, 2948])
#: Connection probability from population j (column) to population i (row).
PROBABILITIES = np.array([
    [0.1009, 0.1689, 0.0437, 0.0818, 0.0323, 0.0, 0.0076, 0.0],
    [0.1346, 0.1371, 0.0316, 0.0515, 0.0755, 0.0, 0.0042, 0.0],
    [0.0077, 0.0059, 0.0497, 0.1350, 0.0067, 0.0003, 0.0453, 0.0],
    [0.0691, 0.0029, 0.0794, 0.1597, 0.0033, 0.0, 0.1057, 0.0],
    [0.1004, 0.0622, 0.0505, 0.0057, 0.0831, 0.3726, 0.0204, 0.0],
    [0.0548, 0.0269, 0.0257, 0.0022, 0.0600, 0.3158, 0.0086, 0.0],
    [0.0156, 0.0066, 0.0211, 0.0166, 0.0572, 0.0197, 0.0396, 0.2252],
    [0.0364, 0.0010, 0.0034, 0.0005, 0.0277, 0.0080, 0.0658, 0.1443],
])
K_EXT = np.array([1600, 1500, 2100, 1900, 2000, 1900, 2900, 2100])
#: Published full-scale rates (Hz), used only to compensate scaled-down in-degrees.
FULL_SCALE_RATES = np.array([0.903, 2.965, 4.414, 5.876, 7.569, 8.633, 1.105, 7.829])
BACKGROUND_HZ = 8.0
PSP_MV, PSP_REL_SD, G = 0.15, 0.1, -4.0
DELAY_EXC_MS, DELAY_INH_MS, DELAY_REL_SD = 1.5, 0.75, 0.5
NEURON = {"E_L": -65.0, "V_th": -50.0, "V_reset": -65.0, "C_m": 250.0, "tau_m": 10.0, "tau_syn": 0.5,
          "t_ref": 2.0, "V0_mean": -58.0, "V0_sd": 10.0}


def psc_per_psp(c_m: float, tau_m: float, tau_syn: float) -> float:
    """The current amplitude (pA) of an exponential PSC whose PSP peaks at 1 mV: the
    peak of J/C tau_m tau_s/(tau_m - tau_s) (exp(-t/tau_m) - exp(-t/tau_s)), at
    t* = tau_m tau_s/(tau_m - tau_s) ln(tau_m/tau_s)."""
    t_peak = tau_m * tau_syn / (tau_m - tau_syn) * math.log(tau_m / tau_syn)
    shape = math.exp(-t_peak / tau_m) - math.exp(-t_peak / tau_syn)
    peak = tau_m * tau_syn / (tau_m - tau_syn) / c_m * shape
    return 1.0 / peak


def synapse_counts(scale: float, k_scale: float) -> np.ndarray:
    """Total synapses from population j to i: at full scale the count whose expected
    distinct pairs (drawn with replacement) give the connection probability, then the
    in-degree K = count / N_post scaled by k_scale, times the scaled N_post."""
    n = SIZES.astype(np.float64)
    pairs = np.outer(n, n)
    with np.errstate(divide="ignore"):
        full = np.log(1.0 - PROBABILITIES) / np.log((pairs - 1.0) / pairs)
    k_full = full / n[:, None]
    n_scaled = np.round(n * scale)
    return np.round(k_full * k_scale * n_scaled[:, None]).astype(np.int64)


BACKGROUNDS = ("poisson", "dc")


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


def design(scale: float = 0.1, k_scale: float = 1.0, background: str = "poisson") -> dict[str, Any]:
    """The circuit's numbers at a scale, as plain lists (JSON), for spikegraph's builder
    and for building the same model natively in another simulator: ``sizes``, ``counts``
    [post][pre] (total synapses), ``psc`` [post][pre] (mean current amplitudes in pA,
    signed), ``delays`` [pre] (mean ms), the relative spreads, ``drive`` per population
    (pA), ``poisson_rate`` per population (Hz per neuron; 0 with ``background="dc"``),
    ``poisson_weight`` (pA per external spike) and the ``neuron`` parameters."""
    if not (0.0 < scale <= 1.0 and 0.0 < k_scale <= 1.0):
        raise ValueError(f"microcircuit: scale and k_scale must be in (0, 1], got {scale}, {k_scale}")
    if background not in BACKGROUNDS:
        raise ValueError(f"microcircuit: background must be one of {BACKGROUNDS}, got {background!r}")
    p = NEURON
    to_psc = psc_per_psp(p["C_m"], p["tau_m"], p["tau_syn"])
    psp = np.full((8, 8), PSP_MV)
    psp[:, 1::2] *= G
    psp[0, 2] *= 2.0  # L4E -> L2/3E
    # Constant input: (k_scale < 1) what the missing recurrent and external synapses
    # would bring at the full-scale rates, plus with background="dc" the mean current of
    # the K_ext external synapses at 8 Hz in place of their Poisson input.
    tau_s = p["tau_syn"] * 1e-3
    external = BACKGROUND_HZ * K_EXT * PSP_MV * to_psc * tau_s
    k_full = synapse_counts(1.0, 1.0) / SIZES[:, None]
    missing = (1.0 - math.sqrt(k_scale)) * tau_s * (psp * to_psc * k_full) @ FULL_SCALE_RATES
    poisson = background == "poisson"
    drive = missing + ((1.0 - math.sqrt(k_scale)) * external if poisson else external)
    rate = BACKGROUND_HZ * K_EXT * k_scale if poisson else np.zeros(8)
    return {
        "populations": list(POPULATIONS),
        "sizes": [max(1, round(int(n) * scale)) for n in SIZES],
        "counts": synapse_counts(scale, k_scale).tolist(),
        "psc": (psp * to_psc / math.sqrt(k_scale)).tolist(),
        "psc_rel_sd": PSP_REL_SD,
        "delays": [DELAY_EXC_MS if j % 2 == 0 else DELAY_INH_MS for j in range(8)],
        "delay_rel_sd": DELAY_REL_SD,
        "drive": drive.tolist(),
        "background": background,
        "poisson_rate": rate.tolist(),
        "poisson_weight": PSP_MV * to_psc / math.sqrt(k_scale),
        "neuron": dict(p),
    }


def microcircuit(scale: float = 0.1, k_scale: float = 1.0, seed: int = 1, dt: float = 0.1,
                 background: str = "poisson") -> Microcircuit:
    """Build the microcircuit with populations of round(scale x N) neurons and in-degrees
    scaled by ``k_scale`` (both in (0, 1]) and ``background`` "poisson" or "dc"; see the
    module for the model."""
    d = design(scale, k_scale, background)
    p = d["neuron"]
    b = NetworkBuilder(seed=seed, dt=dt)
    ids: dict[str, range] = {}
    for i, (name, size) in enumerate(zip(POPULATIONS, d["sizes"])):
        ids[name] = b.population(name, size, v=normal(p["V0_mean"], p["V0_sd"]), drive=d["drive"][i],
                                 poisson_rate=d["poisson_rate"][i])
    for i, post in enumerate(POPULATIONS):
        for j, pre in enumerate(POPULATIONS):
            if d["counts"][i][j] == 0:
                continue
            w = abs(d["psc"][i][j])
            delay = d["delays"][j]
            b.connect(pre, post, "fixed_total_number", n=int(d["counts"][i][j]),
                      weight=normal(w, d["psc_rel_sd"] * w, low=0.0),
                      delay=normal(delay, d["delay_rel_sd"] * delay, low=dt),
                      kind="excitatory" if j % 2 == 0 else "inhibitory", autapses=False)
    network = b.build()
    config = Config({
        "sim": {"dt": dt, "seed": seed},
        "node": {"dynamic": {"model": "lif_exp", "v_rest": p["E_L"], "v_reset": p["V_reset"],
                             "threshold": p["V_th"], "tau_m": p["tau_m"], "t_ref": p["t_ref"],
                             "resistance": p["tau_m"] / p["C_m"], "tau_syn_ex": p["tau_syn"],
                             "tau_syn_in": p["tau_syn"], "drive": 0.0, "poisson_rate": 0.0,
                             "poisson_weight": d["poisson_weight"]}},
        "init": {"v_min": p["E_L"], "v_max": p["E_L"]},
    })
    return Microcircuit(network, config, ids)


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
