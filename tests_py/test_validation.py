"""Validation against independent simulators: identical spike trains on the step grid.

Networks of a few thousand LIF neurons with fixed random connectivity, delays and
constant drive are simulated by spikegraph (float64 state, as NEST and Brian2 compute
in double) and by NEST 3.10 (``iaf_psc_delta``) and Brian2 2.9, run from their own venv
(``.venv-ref``, made by ``.ci/setup_reference.sh``) by ``reference/lif_reference.py``.
Weights are multiples of 1/64 so every sum is exact in any order; everything else
(exponentials, drive terms) goes through each simulator's own arithmetic. Deselect with
``-m "not validation"``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import spikegraph as sg

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "reference"))
import lif_reference as ref  # noqa: E402  (found through the path above)

REF_PYTHON = Path(os.environ.get("SPIKEGRAPH_REF_PYTHON", HERE.parent / ".venv-ref" / "bin" / "python"))

pytestmark = pytest.mark.validation

CASES = {
    # name: (seed, network parameters)
    "3000 neurons, K=50, delays 1..5, t_ref 2 ms": (11, {"n": 3000, "in_degree": 50, "steps": 2000}),
    "2000 neurons, t_ref 0, delays 1..2": (
        12, {"n": 2000, "in_degree": 40, "max_delay": 2, "steps": 1500, "t_ref_steps": 0}),
    "2000 neurons, v_rest -5, R 2, tau 10 ms, dt 0.25 ms": (
        13, {"n": 2000, "in_degree": 30, "max_delay": 8, "steps": 1200, "t_ref_steps": 3,
             "v_rest": -5.0, "R": 2.0, "tau_m_ms": 10.0, "dt_ms": 0.25}),
}


def simulate_spikegraph(net: ref.Network, precision: str = "float64", threads: int = 0
                        ) -> tuple[np.ndarray, np.ndarray]:
    kinds = np.where(net.weights < 0, 1, 0)  # inhibitory edges carry the sign
    network = sg.Network.from_arrays(net.n, net.sources, net.targets, np.abs(net.weights),
                                     delays=net.delays, kinds=kinds)
    cfg = sg.Config({
        "sim": {"dt": net.dt_ms, "precision": precision, "threads": threads},
        "node": {"dynamic": {"tau_m": net.tau_m_ms, "v_rest": net.v_rest, "v_reset": net.v_reset,
                             "threshold": net.threshold, "t_ref": net.t_ref_steps * net.dt_ms,
                             "resistance": net.R, "energy_coupling": 0.0}},
    })
    sim = sg.Simulation(network, cfg)
    sim.set_state("v", net.v0)
    sim.set_state("drive", net.drive)
    sim.run_steps(net.steps)
    spikes = sim.spikes
    return spikes.steps.astype(np.int64), spikes.nodes.astype(np.int64)


def run_reference(simulator: str, net_path: Path, out_path: Path) -> tuple[np.ndarray, np.ndarray]:
    if not REF_PYTHON.exists():
        pytest.skip(f"reference venv missing ({REF_PYTHON}); run `bash .ci/setup_reference.sh`")
    proc = subprocess.run(
        [str(REF_PYTHON), str(HERE / "reference" / "lif_reference.py"), "--simulator", simulator,
         "--network", str(net_path), "--out", str(out_path)],
        capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, f"{simulator} failed:\n{proc.stdout}\n{proc.stderr}"
    with np.load(out_path) as z:
        return z["steps"].astype(np.int64), z["nodes"].astype(np.int64)


def first_difference(a: tuple[np.ndarray, np.ndarray], b: tuple[np.ndarray, np.ndarray]) -> str:
    n = min(a[0].size, b[0].size)
    diff = np.nonzero((a[0][:n] != b[0][:n]) | (a[1][:n] != b[1][:n]))[0]
    if diff.size:
        k = int(diff[0])
        return f"first difference at spike {k}: step/node {a[0][k]}/{a[1][k]} vs {b[0][k]}/{b[1][k]}"
    return f"spike counts {a[0].size} vs {b[0].size}"


@pytest.fixture(scope="module", params=sorted(CASES))
def case(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
         ) -> tuple[ref.Network, Path, tuple[np.ndarray, np.ndarray]]:
    seed, params = CASES[request.param]
    net = ref.random_network(seed=seed, **params)
    path = tmp_path_factory.mktemp("validation") / "net.npz"
    ref.save_network(path, net)
    ours = simulate_spikegraph(net)
    assert ours[0].size > 1000, "the validation network must be active"
    assert np.unique(ours[1]).size > net.n // 10, "activity must involve many neurons"
    return net, path, ours


def test_matches_numpy_oracle(case: tuple[ref.Network, Path, tuple[np.ndarray, np.ndarray]]) -> None:
    net, _, ours = case
    oracle = ref.simulate_numpy(net)
    assert np.array_equal(ours[0], oracle[0]) and np.array_equal(ours[1], oracle[1]), \
        first_difference(ours, oracle)


@pytest.mark.parametrize("simulator", ["nest", "brian2"])
def test_identical_to_reference(case: tuple[ref.Network, Path, tuple[np.ndarray, np.ndarray]],
                                simulator: str, tmp_path: Path) -> None:
    _, path, ours = case
    theirs = run_reference(simulator, path, tmp_path / f"{simulator}.npz")
    assert np.array_equal(ours[0], theirs[0]) and np.array_equal(ours[1], theirs[1]), \
        f"{simulator}: {first_difference(ours, theirs)} ({ours[0].size} vs {theirs[0].size} spikes)"


def test_thread_count_does_not_change_validation_spikes(
        case: tuple[ref.Network, Path, tuple[np.ndarray, np.ndarray]]) -> None:
    net, _, ours = case
    one = simulate_spikegraph(net, threads=1)
    assert np.array_equal(one[0], ours[0]) and np.array_equal(one[1], ours[1])
