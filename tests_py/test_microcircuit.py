"""The Potjans & Diesmann microcircuit (spikegraph.microcircuit): its structure from the
paper's numbers, and (validation) the same spikes as NEST's iaf_psc_exp on the same
network, spike for spike."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import numpy as np
import pytest
import spikegraph as sg
from spikegraph import microcircuit as mcm

HERE = Path(__file__).resolve().parent
REF_PYTHON = Path(os.environ.get("SPIKEGRAPH_REF_PYTHON", HERE.parent / ".venv-ref" / "bin" / "python"))


def test_psc_per_psp_matches_the_reference_amplitude() -> None:
    # 0.15 mV with C_m 250 pF, tau_m 10 ms, tau_syn 0.5 ms is the published 87.81 pA.
    assert mcm.psc_per_psp(250.0, 10.0, 0.5) * 0.15 == pytest.approx(87.81, abs=0.01)


def test_structure_follows_the_paper() -> None:
    mc = mcm.microcircuit(scale=0.02, k_scale=0.5, seed=3)
    sizes = [len(r) for r in mc.populations.values()]
    assert sizes == [max(1, round(n * 0.02)) for n in mcm.SIZES]
    net = mc.network
    src, tgt = net.sources(), np.asarray(net.targets)
    starts = np.array([r.start for r in mc.populations.values()])
    pre, post = np.searchsorted(starts, src, "right") - 1, np.searchsorted(starts, tgt, "right") - 1
    counts = np.zeros((8, 8), np.int64)
    np.add.at(counts, (post, pre), 1)
    np.testing.assert_array_equal(counts, mcm.synapse_counts(0.02, 0.5))
    assert not np.any(src == tgt)  # no autapses
    w = np.asarray(net.weights, dtype=np.float64)
    psc = 0.15 * mcm.psc_per_psp(250.0, 10.0, 0.5) / np.sqrt(0.5)
    ee = (pre == 0) & (post == 0)
    assert w[ee].mean() == pytest.approx(psc, rel=0.01)
    assert w[ee].std() == pytest.approx(0.1 * psc, rel=0.1)
    assert w[(pre == 2) & (post == 0)].mean() == pytest.approx(2 * psc, rel=0.02)  # L4E -> L2/3E doubled
    assert w[(pre == 1) & (post == 0)].mean() == pytest.approx(4 * psc, rel=0.02)  # g = -4
    assert np.all(np.asarray(net.kinds)[pre % 2 == 1] == sg.EDGE_KINDS.index("inhibitory"))
    delays = np.asarray(net.delays)
    assert delays.min() >= 1 and delays[pre % 2 == 0].mean() == pytest.approx(15.0, rel=0.05)
    assert mc.drive[0] > 0 and np.all(np.isfinite(mc.v0))
    # Poisson background: K_ext x k_scale x 8 Hz per neuron, each spike 0.15 mV / sqrt(k_scale).
    rates = mc.network.initial_state["poisson_rate"]
    k_ext = [1600, 1500, 2100, 1900, 2000, 1900, 2900, 2100]
    for k, ids in enumerate(mc.populations.values()):
        assert np.all(rates[ids.start:ids.stop] == k_ext[k] * 0.5 * 8.0)
    assert mc.config["node.dynamic.poisson_weight"] == pytest.approx(psc)
    sim = mc.simulation()
    np.testing.assert_array_equal(sim.state("poisson_rate"), rates)
    np.testing.assert_allclose(sim.state("v"), mc.v0)
    with pytest.raises(ValueError, match="scale and k_scale"):
        mcm.microcircuit(scale=0.0)


def test_it_runs_with_every_population_active() -> None:
    mc = mcm.microcircuit(scale=0.02, seed=1)
    sim = mc.simulation(**{"sim.threads": 2})
    sim.run(300.0)
    s = sim.spikes
    late = s.steps >= 1000
    rates = [np.count_nonzero(late & (s.nodes >= r.start) & (s.nodes < r.stop)) / len(r) / 0.2
             for r in mc.populations.values()]
    assert all(0.2 < r < 60.0 for r in rates), rates


@pytest.mark.validation
def test_the_same_spikes_as_nest_on_the_same_circuit(tmp_path: Path) -> None:
    if not REF_PYTHON.exists():
        pytest.skip(f"needs the reference venv ({REF_PYTHON}; make it with .ci/setup_reference.sh)")
    mc = mcm.microcircuit(scale=0.02, seed=5, background="dc")  # deterministic input
    net = mc.network
    np.savez(tmp_path / "net.npz", src=net.sources(), tgt=np.asarray(net.targets),
             w=np.asarray(net.weights), d=np.asarray(net.delays), kinds=np.asarray(net.kinds), v0=mc.v0,
             drive=mc.drive)
    script = HERE / "reference" / "microcircuit_reference.py"
    args = [str(REF_PYTHON), str(script), str(tmp_path / "net.npz"), "300", str(tmp_path / "nest.npz")]
    subprocess.run(args, check=True, timeout=600)
    sim = mc.simulation(**{"sim.precision": "float64", "sim.threads": 2})
    sim.run(300.0)
    nest = np.load(tmp_path / "nest.npz")
    ours = sorted(zip(sim.spikes.steps.tolist(), sim.spikes.nodes.tolist()))
    # NEST stamps a spike of step t at (t + 1) dt.
    steps = np.rint(nest["times"] / 0.1).astype(np.int64) - 1
    theirs = sorted(zip(steps.tolist(), nest["senders"].tolist()))
    assert len(ours) > 1000
    assert ours == theirs


def test_the_toml_example_is_the_python_circuit(tmp_path: Path) -> None:
    """examples/configs/microcircuit.toml builds the circuit spikegraph.networks.microcircuit
    builds (one engine function behind both), and the engine refuses other neurons."""
    cfg = sg.Config.from_toml(HERE.parent / "examples" / "configs" / "microcircuit.toml")
    cfg.update({"network.scale": 0.02})
    from_file = sg.networks.from_config(cfg)
    mc = mcm.microcircuit(scale=0.02, seed=1)
    assert from_file.num_edges == mc.network.num_edges
    np.testing.assert_array_equal(from_file.targets, mc.network.targets)
    for name in ("v", "drive", "poisson_rate"):
        np.testing.assert_array_equal(from_file.initial_state[name], mc.network.initial_state[name])
    for key, value in mcm.design(0.02)["config"].items():
        assert cfg[key] == pytest.approx(value) if isinstance(value, float) else cfg[key] == value, key
    cfg.update({"node.dynamic.t_ref": 1.0})
    with pytest.raises(sg.ConfigError, match=r"node.dynamic.t_ref = 2.0 \(is 1.0\)"):
        sg.networks.from_config(cfg)


def test_the_docs_example_runs(capsys: pytest.CaptureFixture[str]) -> None:
    import re

    doc = (HERE.parent / "docs" / "python.md").read_text(encoding="utf-8")
    pattern = r"```python\n(import spikegraph as sg\nmc = sg.networks.microcircuit.*?)```"
    block = re.search(pattern, doc, flags=re.S)
    assert block is not None
    exec(compile(block.group(1), "docs/python.md microcircuit example", "exec"), {})
    assert "'L23E': 414" in capsys.readouterr().out


@pytest.mark.validation
def test_statistics_agree_with_circuits_nest_builds_itself() -> None:
    """NEST draws its own instances of the circuit (its connect, its generator, its Poisson
    background); over five seeds each, the rates, CVs of inter-spike intervals and pairwise
    correlations of every population agree with spikegraph's: Welch's z below 3.5 for all 24."""
    if not REF_PYTHON.exists():
        pytest.skip("needs the reference venv (bash .ci/setup_reference.sh)")
    import sys

    sys.path.insert(0, str(HERE.parent))
    from benchmarks.microcircuit import compare_native

    c = compare_native(0.05, [1, 2, 3, 4, 5], 1200.0, ref_python=REF_PYTHON)
    worst = max((v["z"], pop, stat) for pop, stats in c["table"].items() for stat, v in stats.items())
    assert worst[0] < 3.5, f"{worst[1]} {worst[2]}: {c['table'][worst[1]][worst[2]]}"
    for pop, stats in c["table"].items():  # the circuit is active in every population
        assert stats["rate"]["spikegraph"] > 0.5, pop
