"""Shared fixtures of the Python test suite.

* ``backend``: every backend that spikegraph knows about, skipped cleanly where it is not
  usable (so the CUDA variants run on machines with a GPU build and skip elsewhere).
* ``requires_cuda``: ``@pytest.mark.requires_cuda`` (declared in pyproject.toml) skips a
  test unless the CUDA backend is available; :data:`requires_cuda` is the same marker.
* ``small_net`` / ``b1_config`` / ``make_b1``: small networks and the B1-like balanced
  network (Brunel, Poisson-driven LIF) used by the simulation tests.
* ``cli_env``: an environment for subprocesses that import the same spikegraph as the tests.

The tests must pass against the pip-installed wheel: they use no path of the repository
other than tests_py itself, write files only under ``tmp_path`` and find executables on PATH.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import spikegraph as sg

BACKENDS: list[dict[str, Any]] = sg.available_backends()
CUDA_AVAILABLE: bool = any(b["name"] == "cuda" and b["available"] for b in BACKENDS)
CUDA_SKIP_REASON = "needs the CUDA backend (a build with SPIKEGRAPH_CUDA and a CUDA device)"

#: ``@requires_cuda`` on a test: it runs only where the CUDA backend is available.
requires_cuda = pytest.mark.requires_cuda

#: The node parameters of the B1-like network (docs/performance.md B1, docs/model.md "Other networks").
B1_DYNAMIC: dict[str, float] = {
    "tau_m": 20.0,
    "threshold": 20.0,
    "v_reset": 10.0,
    "t_ref": 2.0,
    "energy_coupling": 0.0,
    "poisson_rate": 10000.0,
    "poisson_weight": 0.1,
}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if CUDA_AVAILABLE:
        return
    skip = pytest.mark.skip(reason=CUDA_SKIP_REASON)
    for item in items:
        if "requires_cuda" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(params=[b["name"] for b in BACKENDS])
def backend(request: pytest.FixtureRequest) -> str:
    """Name of a backend usable here (``cpu`` always; ``cuda`` where it is available)."""
    name: str = request.param
    info = next(b for b in BACKENDS if b["name"] == name)
    if not info["available"]:
        pytest.skip(f"backend {name!r} is not available here: {info['detail']}")
    return name


def spike_digest(sim: sg.Simulation) -> str:
    """sha256 of the spike raster (steps then nodes, native little-endian bytes)."""
    spikes = sim.spikes
    return hashlib.sha256(spikes.steps.tobytes() + spikes.nodes.tobytes()).hexdigest()


def b1_config_dict(
    *, threads: int = 1, precision: str = "float32", seed: int = 1, backend: str = "cpu"
) -> dict[str, Any]:
    return {
        "sim": {"dt": 0.1, "threads": threads, "precision": precision, "seed": seed, "backend": backend},
        "node": {"dynamic": dict(B1_DYNAMIC)},
        "init": {"v_min": 0.0, "v_max": 20.0},
    }


@pytest.fixture
def b1_config() -> Callable[..., dict[str, Any]]:
    """``b1_config(threads=, precision=, seed=, backend=)``: the B1-like configuration."""
    return b1_config_dict


@pytest.fixture
def make_b1() -> Callable[..., sg.Simulation]:
    """``make_b1(n=3000, k_in=50, net_seed=1, **b1_config)``: a B1-like simulation."""

    def make(n: int = 3000, k_in: int = 50, net_seed: int = 1, **kwargs: Any) -> sg.Simulation:
        net = sg.networks.brunel(n, k_in=k_in, dt_ms=0.1, seed=net_seed)
        return sg.Simulation(net, b1_config_dict(**kwargs))

    return make


@pytest.fixture(scope="session")
def small_net() -> sg.Network:
    """A 300-node Brunel network with in-degree 30 (delay 15 steps at dt 0.1)."""
    return sg.networks.brunel(300, k_in=30, dt_ms=0.1, seed=3)


@pytest.fixture
def cli_env() -> dict[str, str]:
    """Environment for ``python -m spikegraph`` subprocesses: they import this spikegraph."""
    env = dict(os.environ)
    package_parent = str(Path(sg.__file__).resolve().parent.parent)
    rest = [os.path.abspath(p) for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    env["PYTHONPATH"] = os.pathsep.join([package_parent, *rest])
    return env


def lif_config(precision: str = "float64", dt: float = 0.1, **dynamic: Any) -> dict[str, Any]:
    """One-thread configuration with B1's membrane parameters, no Poisson input, overrides."""
    node = {k: v for k, v in B1_DYNAMIC.items() if not k.startswith("poisson")}
    node.update(dynamic)
    return {"sim": {"dt": dt, "precision": precision, "threads": 1}, "node": {"dynamic": node}}


@pytest.fixture
def lif() -> Callable[..., dict[str, Any]]:
    """``lif(precision="float64", dt=0.1, **node.dynamic overrides)``: a LIF configuration."""
    return lif_config


def empty_network(n: int, node_types: Any = None) -> sg.Network:
    return sg.Network.from_arrays(
        n, np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0), node_types=node_types
    )


@pytest.fixture
def digest() -> Callable[[sg.Simulation], str]:
    return spike_digest


@pytest.fixture
def isolated() -> Callable[..., sg.Network]:
    """``isolated(n, node_types=None)``: a network of n nodes without edges."""
    return empty_network
