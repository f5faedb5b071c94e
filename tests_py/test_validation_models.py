"""Validation of the ``lif_exp`` and ``izhikevich`` neuron models against NEST 3.10, bit for bit.

Random networks of a few thousand neurons with delays and constant drive are simulated by
spikegraph (float64), by a numpy oracle that follows NEST's arithmetic operation by operation,
and by NEST's ``iaf_psc_exp`` and ``izhikevich`` (one thread), run from the reference venv
(``.venv-ref``, made by ``.ci/setup_reference.sh``) by ``reference/models_reference.py``, which
also holds the cases.  Weights are multiples of 1/64 so every input sum is exact in any order.
The three must give the same spike trains on the step grid and the same state after the last
step, bit for bit: spike trains alone stay identical under one-ulp differences of a propagator
or another order of a sum, the final potentials do not.  Deselect with ``-m "not validation"``.

Conventions (the ``dynamic`` node type of ``Network.from_arrays``): ``v_rest`` = E_L = 0, so v is
NEST's V_m; ``drive`` is NEST's I_e; an inhibitory edge (kind 1) carries NEST's negative weight.
``lif_exp``: ``resistance`` R = tau_m / C_m, edge weights in pA, ``t_ref`` a multiple of dt.
``izhikevich``: c is ``v_reset``, V_th is ``threshold``, the weight is added to v, dt in ms.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import spikegraph as sg

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "reference"))
import models_reference as mref  # noqa: E402  (found through the path above)

REF_PYTHON = Path(os.environ.get("SPIKEGRAPH_REF_PYTHON", HERE.parent / ".venv-ref" / "bin" / "python"))

pytestmark = pytest.mark.validation

CASES = sorted(mref.CASES)  # two iaf_psc_exp (lif_exp) and two izhikevich networks

Case = tuple[mref.ModelNetwork, Path]  # the network and its file


def node_config(net: mref.ModelNetwork) -> dict[str, Any]:
    """spikegraph's ``node.dynamic`` keys for the network's NEST model."""
    b = net.base
    node: dict[str, Any] = {"v_rest": 0.0, "v_reset": b.v_reset, "threshold": b.threshold,
                            "energy_coupling": 0.0}
    if net.model == "iaf_psc_exp":
        node.update({"model": "lif_exp", "tau_m": b.tau_m_ms, "resistance": b.R,
                     "t_ref": b.t_ref_steps * b.dt_ms, "tau_syn_ex": net.tau_syn_ex_ms,
                     "tau_syn_in": net.tau_syn_in_ms})
    else:
        node.update({"model": "izhikevich", "t_ref": 0.0, "izhikevich_a": net.a,
                     "izhikevich_b": net.b, "izhikevich_d": net.d})
    return node


def simulate_spikegraph(net: mref.ModelNetwork, threads: int = 0) -> mref.Result:
    b = net.base
    kinds = np.where(b.weights < 0, 1, 0)  # inhibitory edges carry the sign
    network = sg.Network.from_arrays(b.n, b.sources, b.targets, np.abs(b.weights),
                                     delays=b.delays, kinds=kinds)
    cfg = sg.Config({
        "sim": {"dt": b.dt_ms, "precision": "float64", "threads": threads},
        "node": {"dynamic": node_config(net)},
    })
    sim = sg.Simulation(network, cfg)
    sim.set_state("v", b.v0)
    sim.set_state("drive", b.drive)
    if net.model == "izhikevich":
        assert net.u0 is not None
        sim.set_state("u", net.u0)
        names = ["v", "u"]
    else:
        names = ["v", "i_syn_ex", "i_syn_in"]
        for name in ("i_syn_ex", "i_syn_in"):
            assert not np.any(sim.state(name)), f"{name} must start at 0"
    sim.run_steps(b.steps)
    spikes = sim.spikes
    state = {name: np.array(sim.state(name), dtype=np.float64) for name in names}  # copies
    return mref.Result(spikes.steps.astype(np.int64), spikes.nodes.astype(np.int64), state)


def run_nest(net: mref.ModelNetwork, net_path: Path, out_path: Path) -> mref.Result:
    if not REF_PYTHON.exists():
        pytest.skip(f"reference venv missing ({REF_PYTHON}); run `bash .ci/setup_reference.sh`")
    proc = subprocess.run(
        [str(REF_PYTHON), str(HERE / "reference" / "models_reference.py"), "--model", net.model,
         "--network", str(net_path), "--out", str(out_path)],
        capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, f"NEST failed:\n{proc.stdout}\n{proc.stderr}"
    return mref.load_result(out_path)


@pytest.fixture(scope="module", params=CASES)
def case(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Case:
    net = mref.case_network(request.param)
    path = tmp_path_factory.mktemp("validation_models") / "net.npz"
    mref.save_network(path, net)
    return net, path


@pytest.fixture(scope="module")
def ours(case: Case) -> mref.Result:
    return simulate_spikegraph(case[0])


@pytest.fixture(scope="module")
def oracle(case: Case) -> mref.Result:
    return mref.simulate_numpy(case[0])


@pytest.fixture(scope="module")
def nest_result(case: Case, tmp_path_factory: pytest.TempPathFactory) -> mref.Result:
    net, path = case
    return run_nest(net, path, tmp_path_factory.mktemp("validation_models_nest") / "nest.npz")


def assert_same(ours: mref.Result, theirs: mref.Result, what: str) -> None:
    problems = mref.compare(ours, theirs)
    assert not problems, f"{what}: " + "; ".join(problems)


def test_network_is_active(case: Case, oracle: mref.Result) -> None:
    net = case[0]
    assert oracle.steps.size > 3000, "the validation network must be active"
    assert np.unique(oracle.nodes).size > net.base.n // 5, "activity must involve many neurons"
    per_step = np.bincount(oracle.steps, minlength=net.base.steps)
    assert per_step.max() < net.base.n // 10, "activity must not be synchronous"


def test_spikes_match_numpy_oracle(ours: mref.Result, oracle: mref.Result) -> None:
    assert_same(mref.Result(ours.steps, ours.nodes, {}), oracle, "spikegraph vs numpy oracle")


def test_final_state_matches_numpy_oracle(ours: mref.Result, oracle: mref.Result) -> None:
    assert set(ours.state) == set(oracle.state)
    assert_same(ours, oracle, "spikegraph vs numpy oracle")


def test_oracle_identical_to_nest(oracle: mref.Result, nest_result: mref.Result) -> None:
    assert set(nest_result.state) <= set(oracle.state) and "v" in nest_result.state
    assert_same(oracle, nest_result, "numpy oracle vs NEST")


def test_identical_to_nest(ours: mref.Result, nest_result: mref.Result) -> None:
    assert_same(ours, nest_result, "spikegraph vs NEST")


def test_thread_count_does_not_change_validation_run(case: Case, ours: mref.Result) -> None:
    assert_same(simulate_spikegraph(case[0], threads=1), ours, "1 thread vs default threads")
