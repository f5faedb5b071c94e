"""Several processes (MPI ranks) from Python: ``Simulation(net, cfg, comm=MPI.COMM_WORLD)``
gives the results of one process, checkpoints move between rank counts, and an
uncaught exception on one rank ends every rank. Runs tests_py/mpi/worker.py under
mpirun (CI installs Open MPI and mpi4py; elsewhere these tests skip when either is
missing). The errors of a build or a call without MPI are tested here too."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import spikegraph as sg

WORKER = Path(__file__).parent / "mpi" / "worker.py"
IN_CI = bool(os.environ.get("SPIKEGRAPH_CI"))


def _mpi_ready() -> str | None:
    """Why MPI runs cannot be tested here, or None."""
    if not sg.mpi_compiled():
        return "spikegraph was built without MPI"
    if shutil.which("mpirun") is None:
        return "no mpirun on PATH"
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        return "mpi4py is not installed"
    return None


def mpirun(ranks: int, *args: str, env: dict[str, str],
           timeout: float = 240) -> subprocess.CompletedProcess[str]:
    """The worker on `ranks` ranks (as root too, more ranks than cores allowed)."""
    env = dict(env, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
               OMPI_MCA_rmaps_base_oversubscribe="1")
    return subprocess.run(["mpirun", "-n", str(ranks), sys.executable, str(WORKER), *args],
                          env=env, capture_output=True, text=True, timeout=timeout)


@pytest.fixture
def mpi_env(cli_env: dict[str, str]) -> dict[str, str]:
    reason = _mpi_ready()
    if reason is not None:
        if IN_CI:
            pytest.fail(f"CI must run the MPI tests: {reason}")
        pytest.skip(reason)
    return cli_env


@pytest.mark.parametrize("ranks", [1, 2, 3, 4])
def test_ranks_give_one_process_results(mpi_env: dict[str, str], ranks: int) -> None:
    r = mpirun(ranks, "identity", env=mpi_env)
    assert r.returncode == 0, r.stdout + r.stderr
    # Lines of different ranks may arrive interleaved: count the verdicts.
    assert sorted(re.findall(r"rank (\d+) of \d+: ok", r.stdout)) == [str(k) for k in range(ranks)], r.stdout
    assert "differs" not in r.stdout


@pytest.mark.parametrize("ranks", [1, 3])
def test_networks_drawn_per_rank_give_one_process_results(mpi_env: dict[str, str], ranks: int) -> None:
    r = mpirun(ranks, "generated", env=mpi_env)
    assert r.returncode == 0, r.stdout + r.stderr
    assert sorted(re.findall(r"rank (\d+) of \d+: ok", r.stdout)) == [str(k) for k in range(ranks)], r.stdout


@pytest.mark.parametrize("ranks", [1, 3])
def test_builder_networks_drawn_per_rank_match_one_process(mpi_env: dict[str, str], ranks: int) -> None:
    r = mpirun(ranks, "builder", env=mpi_env)
    assert r.returncode == 0, r.stdout + r.stderr
    assert sorted(re.findall(r"rank (\d+) of \d+: ok", r.stdout)) == [str(k) for k in range(ranks)], r.stdout


@pytest.mark.parametrize("ranks", [1, 2, 4])
def test_static_networks_exchange_once_per_window_with_one_process_results(mpi_env: dict[str, str],
                                                                          ranks: int) -> None:
    r = mpirun(ranks, "window", env=mpi_env)
    assert r.returncode == 0, r.stdout + r.stderr
    assert sorted(re.findall(r"rank (\d+) of \d+: ok", r.stdout)) == [str(k) for k in range(ranks)], r.stdout


def test_from_builder_in_one_process() -> None:
    b = sg.NetworkBuilder(seed=2)
    b.population("E", 50)
    b.connect("E", "E", "fixed_indegree", n=5, weight=0.2)
    sim = sg.Simulation.from_builder(b, {"sim": {"seed": 1}})
    assert sim.network.num_edges == 250 and sim.ranks == 1
    with pytest.raises(TypeError, match="NetworkBuilder"):
        sg.Simulation.from_builder(sim.network, {})  # type: ignore[arg-type]


def test_from_config_in_one_process() -> None:
    cfg = {"sim": {"seed": 2, "threads": 1}, "network": {"kind": "brunel", "n": 200, "k_in": 10}}
    a = sg.Simulation.from_config(cfg)
    b = sg.Simulation.from_config(cfg, comm=sg.local_communicator())
    a.run(10.0)
    b.run(10.0)
    assert a.network.num_edges == b.network.num_edges == 2000
    assert a.spikes.nodes.tolist() == b.spikes.nodes.tolist()


def test_checkpoint_moves_between_rank_counts(mpi_env: dict[str, str], tmp_path: Path) -> None:
    path = str(tmp_path / "four.sgckpt")
    saved = mpirun(4, "save", path, env=mpi_env)
    assert saved.returncode == 0, saved.stdout + saved.stderr
    step = sg.checkpoint_info(path)["step"]
    assert step > 0
    resumed = mpirun(2, "resume", path, env=mpi_env)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert resumed.stdout.count(": ok (") == 2
    # And in this one process.
    sim = sg.Simulation.load(path)
    assert sim.ranks == 1 and sim.step == step


def test_the_guide_example_runs(mpi_env: dict[str, str], tmp_path: Path) -> None:
    guide = (Path(__file__).resolve().parent.parent / "docs" / "distributed.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", guide, flags=re.S)
    assert len(blocks) == 1
    script = tmp_path / "guide.py"
    script.write_text(blocks[0], encoding="utf-8")
    env = dict(mpi_env, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
               OMPI_MCA_rmaps_base_oversubscribe="1")
    r = subprocess.run(["mpirun", "-n", "2", sys.executable, str(script)], env=env, capture_output=True,
                       text=True, timeout=240)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "spikes on 2 ranks" in r.stdout


def test_an_uncaught_error_on_one_rank_ends_all(mpi_env: dict[str, str]) -> None:
    r = mpirun(3, "raise", env=mpi_env, timeout=120)
    assert r.returncode != 0
    assert "an error on rank 1 only" in r.stderr
    assert "was not ended" not in r.stdout


def test_local_communicator_is_one_process(small_net: sg.Network) -> None:
    comm = sg.local_communicator()
    assert (comm.rank, comm.size, comm.kind) == (0, 1, "local")
    cfg = {"sim": {"seed": 1, "threads": 1}}
    a = sg.Simulation(small_net, cfg, comm=comm)
    b = sg.Simulation(small_net, cfg)
    a.run(20.0)
    b.run(20.0)
    assert (a.rank, a.ranks) == (0, 1)
    assert a.spikes.nodes.tolist() == b.spikes.nodes.tolist()
    assert "edges=" in repr(a)


def test_one_process_owns_every_node_and_its_whole_network_has_learned_weights() -> None:
    net = sg.networks.brunel(300, k_in=20, seed=4, plastic_exc_exc=True)
    cfg = {"sim": {"seed": 2, "threads": 1}, "learning": {"enabled": True},
           "node": {"dynamic": {"poisson_rate": 9000.0, "poisson_weight": 0.12}}}
    sim = sg.Simulation(net, cfg)
    sim.run(30.0)
    assert sim.owned_nodes == range(0, 300)
    assert sim.total_edges == net.num_edges
    whole = sim.whole_network()
    assert np.array_equal(whole.targets, net.targets)
    assert np.array_equal(whole.weights, sim.weights)
    assert not np.array_equal(whole.weights, net.weights)  # learning moved them


def test_bad_comm_is_a_clear_error(small_net: sg.Network) -> None:
    with pytest.raises(sg.InputError, match="mpi4py communicator"):
        sg.Simulation(small_net, None, comm="world")


def test_mpi_support_is_reported() -> None:
    info = sg.build_info()
    if sg.mpi_compiled():
        assert info["mpi"]
    else:
        assert info["mpi"].startswith("not built in")
        with pytest.raises(sg.BackendError, match="built without MPI"):
            sg.mpi_world()
