"""The CUDA backend (docs/cuda.md): what is reported where it cannot run, and, where it
can (``requires_cuda``), the whole step on the GPU against the CPU backend bit for bit.

The backend-parametrised tests of the other files (the ``backend`` fixture) run on CUDA
too where it is available; these add the full model, threads, views and checkpoints.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import spikegraph as sg

NetFactory = Callable[..., sg.Network]
requires_cuda = pytest.mark.requires_cuda


def cuda_info() -> dict[str, Any]:
    return next(b for b in sg.available_backends() if b["name"] == "cuda")


CUDA_AVAILABLE = bool(cuda_info()["available"])


def test_build_info_says_what_was_compiled_and_found() -> None:
    cuda = cuda_info()
    line = sg.build_info()["backend.cuda"]
    detail = str(cuda["detail"])
    if not cuda["compiled"]:
        assert not cuda["available"]
        assert "not compiled in" in detail and "SPIKEGRAPH_CUDA" in detail
        assert line.startswith("unavailable")
    elif not cuda["available"]:
        # Compiled, but no device or driver here: importing worked and says why.
        assert detail.startswith("compiled, no device: ")
        assert "90-real" in detail and "SPIKEGRAPH_CUDA" in detail
        assert line.startswith("compiled, unavailable")
    else:
        assert "sm_" in detail and "GB/s" in detail and "runtime (static)" in detail
        assert line.startswith("available")


def test_auto_picks_cuda_exactly_where_it_is_available(small_net: sg.Network) -> None:
    sim = sg.Simulation(small_net, {"sim": {"backend": "auto"}})
    assert sim.backend == ("cuda" if CUDA_AVAILABLE else "cpu")


def full_model(backend: str, threads: int = 1, precision: str = "float32") -> sg.Simulation:
    cfg = sg.default_run_config()
    cfg.update({
        "sim": {"backend": backend, "threads": threads, "precision": precision},
        "graph": {"sensory_side": 16, "workspace_side": 8, "oscillators": 16, "relays": 16, "highways": 8},
        "structure": {"enabled": True, "interval": 50, "spare_nodes": 32, "death_energy": 1.0},
    })
    return sg.Simulation(sg.networks.from_config(cfg), cfg)


def assert_same_run(a: sg.Simulation, b: sg.Simulation) -> None:
    assert np.array_equal(a.spikes.steps, b.spikes.steps)
    assert np.array_equal(a.spikes.nodes, b.spikes.nodes)
    for name in a.state_names():
        assert np.array_equal(a.state(name), b.state(name)), name
    assert np.array_equal(a.weights, b.weights)
    la, lb = a.ledger, b.ledger
    for column in la:
        assert np.array_equal(la[column], lb[column], equal_nan=True), column


@requires_cuda
@pytest.mark.parametrize("precision", ["float32", "float64"])
def test_full_model_on_cuda_equals_cpu_on_one_and_two_threads(precision: str) -> None:
    one, two, gpu = (full_model("cpu", 1, precision), full_model("cpu", 2, precision),
                     full_model("cuda", 1, precision))
    assert gpu.backend == "cuda" and gpu.threads == 1
    frame = np.linspace(0.0, 1.0, 40 * 30 * 3).reshape(30, 40, 3)
    for sim in (one, two, gpu):
        sim.run(100.0)
        sim.set_frame(frame)
        sim.run(200.0)
    assert gpu.spikes.num_spikes > 500
    assert_same_run(one, two)
    assert_same_run(one, gpu)
    ledger = gpu.ledger
    assert np.all(np.abs(ledger["error"]) <= 1e-5 * np.maximum(1.0, ledger["total_before"]))


@requires_cuda
def test_cuda_state_views_are_live_and_writeable(isolated: NetFactory) -> None:
    cfg = {"sim": {"backend": "cuda"}, "node": {"dynamic": {"threshold": 20.0, "v_reset": 10.0}}}
    sim = sg.Simulation(isolated(4), cfg)
    v = sim.v
    assert np.shares_memory(v, sim.state("v"))
    v[2] = 30.0
    sim.run_steps(1)
    assert sim.spikes.nodes.tolist() == [2]
    assert v[2] == 10.0  # the same memory, updated by the device


@requires_cuda
def test_cuda_checkpoint_continues_bit_for_bit(tmp_path: Path) -> None:
    sim = full_model("cuda")
    sim.run(120.0)
    path = sim.save(tmp_path / "run.sgckpt")
    sim.run(100.0)
    resumed = sg.Simulation.load(path)
    assert resumed.backend == "cuda"
    resumed.run(100.0)
    assert_same_run(sim, resumed)
