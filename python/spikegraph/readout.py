"""The readout test of the default network (docs/model.md, "The default network must
see"): does the workspace, the network's output, carry what the sensory grid is shown?

K = 4 static inputs, bar gratings at 0, 45, 90 and 135 degrees at full contrast, are each
shown ``repeats`` (10) times for ``show_ms`` (500 ms) in a seeded random order, with
``blank_ms`` (200 ms) of blank frames between showings. The features of a showing are
the workspace nodes' spike counts over its last ``window_ms`` (400 ms). A nearest
class-mean classifier (on square-root counts, which evens out Poisson-like variance) is
trained on the first ``train`` (6) showings of each input and tested on the others. With
``blank=True`` the same protocol runs with blank frames in place of every input: the
labels then carry no information and the accuracy must stay near chance (1/K).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .network import NODE_TYPES
from .simulation import Simulation


def bar_grating(height: int, width: int, orientation_deg: float, wavelength_px: float = 8.0,
                contrast: float = 1.0) -> np.ndarray:
    """A static square-wave grating: bars of 1 and 0 (times ``contrast``) ``wavelength_px``
    apart, oriented at ``orientation_deg`` (0: vertical bars), as a float array."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    theta = math.radians(orientation_deg)
    phase = (x * math.cos(theta) + y * math.sin(theta)) / wavelength_px
    return contrast * (np.mod(phase, 1.0) < 0.5).astype(np.float64)


@dataclass
class ReadoutResult:
    """Accuracy on the held-out showings, the chance level, and what went into it."""

    accuracy: float
    chance: float
    labels: np.ndarray            # input index of every showing, in showing order
    features: np.ndarray          # showings x workspace nodes: spike counts in the window
    test: np.ndarray              # bool per showing: held out
    predictions: np.ndarray       # per held-out showing
    rates_hz: dict[str, float] = field(default_factory=dict)  # mean rate per node type over the run
    silent_fraction: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"accuracy": self.accuracy, "chance": self.chance, "rates_hz": self.rates_hz,
                "silent_fraction": self.silent_fraction, "showings": int(self.labels.size)}


def nearest_class_mean(features: np.ndarray, labels: np.ndarray, train: np.ndarray,
                       classes: int) -> np.ndarray:
    """Predicted class of every showing not in ``train``: the class whose mean training
    feature vector is nearest (Euclidean)."""
    means = np.stack([features[train & (labels == k)].mean(axis=0) for k in range(classes)])
    test = features[~train]
    distances = ((test[:, None, :] - means[None, :, :]) ** 2).sum(axis=2)
    return np.argmin(distances, axis=1)


def readout_test(sim: Simulation, *, orientations: tuple[float, ...] = (0.0, 45.0, 90.0, 135.0),
                 repeats: int = 10, show_ms: float = 500.0, blank_ms: float = 200.0,
                 window_ms: float = 400.0, train: int = 6, wavelength_px: float = 8.0, blank: bool = False,
                 seed: int = 0) -> ReadoutResult:
    """Run the protocol on ``sim`` (a network with sensory and workspace nodes, at its
    current state) and score the workspace readout (see the module)."""
    if not 0 < train < repeats:
        raise ValueError(f"readout_test: train must be in 1..repeats-1, got {train}")
    if not 0 < window_ms <= show_ms:
        raise ValueError("readout_test: window_ms must be in (0, show_ms]")
    height, width = sim.sensory_grid
    workspace = sim.workspace_nodes()
    classes = len(orientations)
    frames = [bar_grating(height, width, o, wavelength_px) for o in orientations]
    empty = np.zeros((height, width))
    order = np.random.default_rng(seed).permutation(np.repeat(np.arange(classes), repeats))
    first_step = sim.step
    n = sim.current_network.num_nodes
    counts = np.zeros(n, dtype=np.int64)

    def run_and_count(ms: float) -> np.ndarray:
        """Run ``ms`` and return the spikes per node in it (read from the record's tail,
        which any record.horizon keeps)."""
        start = sim.step
        sim.run(ms)
        spikes = sim.spikes
        recent = spikes.nodes[np.searchsorted(spikes.steps, start, side="left"):]
        window = np.bincount(recent, minlength=n).astype(np.int64)
        counts[:] += window
        return window

    features = np.zeros((order.size, workspace.size))
    for s, k in enumerate(order):
        sim.set_frame(empty if blank else frames[k])
        run_and_count(show_ms - window_ms)
        features[s] = run_and_count(window_ms)[workspace]
        sim.set_frame(empty)
        run_and_count(blank_ms)
    seen = np.zeros(classes, dtype=np.int64)
    is_train = np.zeros(order.size, dtype=bool)
    for s, k in enumerate(order):
        is_train[s] = seen[k] < train
        seen[k] += 1
    x = np.sqrt(features)
    predictions = nearest_class_mean(x, order, is_train, classes)
    accuracy = float(np.mean(predictions == order[~is_train]))
    # Rates per node type over the protocol.
    seconds = (sim.step - first_step) * sim.dt / 1000.0
    types = np.asarray(sim.current_network.node_types)
    alive = np.asarray(sim.state("alive")).astype(bool)
    rates, silent = {}, {}
    for t, name in enumerate(NODE_TYPES):
        members = (types == t) & alive
        if members.any():
            rates[name] = float(counts[members].mean() / seconds)
            silent[name] = float(np.mean(counts[members] == 0))
    return ReadoutResult(accuracy, 1.0 / classes, order, features, ~is_train, predictions, rates, silent)
