"""Services written in Python, run by the engine in place of its own
(:meth:`spikegraph.Simulation.replace_service`).

:class:`PairSTDP` is the engine's pair STDP rule written with numpy on whole arrays: a
template for rules of your own, and the reference the tests compare the engine's
learning service against. A service is any object with ``run(sim, phase, step,
spikes)`` (and optionally ``phases``); see ``docs/python.md``.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from .simulation import Simulation


class PairSTDP:
    """Pair STDP of the learning phase, once per step on whole arrays: the traces
    decay; the plastic out-edges of the nodes that spiked are depressed
    (-A_minus * trace_post of the target), then their plastic in-edges potentiated
    (+A_plus * trace_pre of the source), each clamped to [w_min, w_max] and stored as
    float32 as the engine stores weights; then the spikes are added to both traces.
    Edges into or out of dead nodes do not change. Without energy modulation
    (``learning.energy_modulation = false``); parameters from the simulation's
    ``learning.*`` keys. Replace the engine's ``"learning"`` service with it:
    ``sim.replace_service("learning", PairSTDP(sim))``."""

    phases = ("learning",)

    def __init__(self, sim: Simulation) -> None:
        cfg = sim.config.to_dict()
        if cfg["learning.energy_modulation"]:
            raise ValueError("PairSTDP: set learning.energy_modulation = false (this rule has no modulation)")
        self.decay_plus = math.exp(-sim.dt / cfg["learning.tau_plus"])
        self.decay_minus = math.exp(-sim.dt / cfg["learning.tau_minus"])
        self.a_plus, self.a_minus = float(cfg["learning.a_plus"]), float(cfg["learning.a_minus"])
        self.w_min, self.w_max = float(cfg["learning.w_min"]), float(cfg["learning.w_max"])
        net = sim.current_network
        self.sources = net.sources().astype(np.int64)
        self.targets = net.targets.astype(np.int64)
        self.plastic = net.plastic.astype(bool) if net.plastic.size else np.zeros(net.num_edges, bool)
        self.steps = 0

    def run(self, sim: Simulation, phase: str, step: int, spikes: np.ndarray) -> None:
        self.steps += 1
        pre, post = sim.state("trace_pre"), sim.state("trace_post")  # zero-copy views
        pre *= self.decay_plus
        post *= self.decay_minus
        if spikes.size == 0:
            return
        spiked = np.zeros(pre.shape[0], dtype=bool)
        spiked[spikes] = True
        alive = sim.state("alive").astype(bool)
        w = sim.weights.astype(np.float64)
        dep = self.plastic & spiked[self.sources] & alive[self.targets]
        w[dep] = np.clip(w[dep] - self.a_minus * post[self.targets[dep]], self.w_min, self.w_max)
        w = w.astype(np.float32).astype(np.float64)  # stored between the two passes
        pot = self.plastic & spiked[self.targets] & alive[self.sources]
        w[pot] = np.clip(w[pot] + self.a_plus * pre[self.sources[pot]], self.w_min, self.w_max)
        sim.set_weights(w.astype(np.float32))
        pre[spikes] += 1.0
        post[spikes] += 1.0
