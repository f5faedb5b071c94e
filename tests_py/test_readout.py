"""The default network sees (docs/model.md): its workspace readout tells four oriented
gratings apart (>= 90% on held-out showings) and stays at chance on blank frames."""

from __future__ import annotations

import numpy as np
import pytest
import spikegraph as sg
from spikegraph.readout import bar_grating, nearest_class_mean, readout_test


def default_simulation() -> sg.Simulation:
    cfg = sg.default_run_config()
    cfg.update({"sensory.source": "none", "sim.threads": 2})
    sim = sg.Simulation(sg.networks.from_config(cfg), cfg)
    sim.run(2000.0)  # settle: homeostasis, learning
    return sim


def test_the_default_network_tells_the_orientations_apart() -> None:
    result = readout_test(default_simulation())
    assert result.accuracy >= 0.9, result.as_dict()
    assert result.chance == 0.25 and result.labels.size == 40 and result.test.sum() == 16
    for name in ("relay", "highway", "workspace"):
        assert 0.5 <= result.rates_hz[name] <= 50.0 and result.silent_fraction[name] <= 0.2, result.as_dict()


def test_on_blank_frames_the_readout_is_at_chance() -> None:
    result = readout_test(default_simulation(), blank=True)
    assert result.accuracy <= 0.5, result.as_dict()


def test_protocol_pieces() -> None:
    g = bar_grating(8, 8, 0.0, wavelength_px=4)
    assert np.array_equal(g[0], [1, 1, 0, 0, 1, 1, 0, 0]) and np.array_equal(g[:, 0], np.ones(8))
    assert np.array_equal(bar_grating(8, 8, 90.0, wavelength_px=4)[:, 0], [1, 1, 0, 0, 1, 1, 0, 0])
    x = np.array([[0.0, 0.0], [0.1, 0.0], [5.0, 5.0], [5.1, 5.0], [0.05, 0.1], [4.9, 5.2]])
    labels = np.array([0, 0, 1, 1, 0, 1])
    train = np.array([True, True, True, True, False, False])
    assert nearest_class_mean(x, labels, train, 2).tolist() == [0, 1]
    sim = default_simulation()
    with pytest.raises(ValueError, match="train"):
        readout_test(sim, train=10)
    with pytest.raises(ValueError, match="window_ms"):
        readout_test(sim, window_ms=600.0)
