"""The ``spikegraph`` command line (in-process through cli.main, and once as a subprocess)."""

from __future__ import annotations

import os
import re
import runpy
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import spikegraph as sg
from spikegraph import cli
from spikegraph.io import load_spikes_npz, save_spikes_npz

SMALL = ["--duration", "50", "--set", "graph.sensory_side=8", "--threads", "1"]  # 736 nodes
# The command of the brief, run as a separate process exactly as a user would type it.
SMALL_AS_TYPED = ["--duration", "50", "--set", "graph.sensory_side=8"]
CUDA_AVAILABLE = any(b["name"] == "cuda" and b["available"] for b in sg.available_backends())


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = cli.main(args)
    out, err = capsys.readouterr()
    return code, out, err


def summary_values(text: str) -> dict[str, str]:
    """``name   value`` lines of the run summary."""
    values: dict[str, str] = {}
    for line in text.splitlines():
        match = re.match(r"^([a-z/ ]+?)\s{2,}(\S.*)$", line)
        if match:
            values[match.group(1)] = match.group(2)
    return values


def small_toml(tmp_path: Path, extra: str = "") -> Path:
    path = tmp_path / "small.toml"
    path.write_text(
        "[sim]\ndt = 0.1\nseed = 3\nbackend = \"cpu\"\nthreads = 2\n\n"
        "[network]\nn = 600\nk_in = 40\n\n"
        "[node.dynamic]\ntau_m = 20.0\nthreshold = 20.0\nv_reset = 10.0\nenergy_coupling = 0.0\n"
        "poisson_rate = 10000.0\npoisson_weight = 0.1\n\n"
        "[init]\nv_max = 20.0\n\n"
        "[run]\nduration = 30.0\n" + extra,
        encoding="utf-8",
    )
    return path


# ---------------------------------------------------------------- run


def test_run_prints_summary_and_writes_npz(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out_file = tmp_path / "out.npz"
    code, out, err = run_cli(["run", *SMALL, "--spikes", str(out_file)], capsys)
    assert code == 0, err
    values = summary_values(out)
    assert values["nodes"] == "736"
    # Which network ran, with what on, and (without --out) what to try next.
    assert values["network"].startswith("default network (")
    assert "energy, learning, homeostasis" in values["network"]
    assert "--out DIR" in values["next"] and "spikegraph plot" in values["next"]
    assert int(values["edges"]) > 4000  # Poisson(10) out-degrees of the non-workspace nodes
    assert values["model time"] == "50.0 ms (50 steps)"
    assert re.fullmatch(r"\d+\.\d{3} Hz", values["mean rate"])
    assert re.match(r"\d+\.\d+ \((cpu|cuda) backend, \d+ threads?, float32\)", values["ms per step"])
    assert values["spikes file"] == str(out_file)
    count = int(values["spikes"])
    rate = float(values["mean rate"].split()[0])
    assert count > 0 and rate == pytest.approx(count / 736 / 0.05, abs=1e-3)
    with np.load(out_file) as data:
        assert data["steps"].shape == data["nodes"].shape == (count,)
        assert float(data["dt_ms"]) == 1.0 and int(data["num_nodes"]) == 736
    loaded = load_spikes_npz(out_file)
    assert loaded["steps"].dtype == np.int64 and loaded["nodes"].dtype == np.uint32
    # The same run through the Python API gives the same spikes (same engine, same seed).
    cfg = sg.default_run_config()
    cfg.update({"graph.sensory_side": 8, "sim.threads": 1})
    sim = sg.Simulation(sg.networks.from_config(cfg), cfg)
    sim.run(50.0)
    assert np.array_equal(sim.spikes.steps, loaded["steps"]) and np.array_equal(
        sim.spikes.nodes, loaded["nodes"]
    )
    assert not list(tmp_path.glob("*.tmp*"))


def test_run_writes_binary_spike_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    npz, binary = tmp_path / "a.npz", tmp_path / "a.bin"
    assert run_cli(["run", *SMALL, "--spikes", str(npz)], capsys)[0] == 0
    code, out, _ = run_cli(["run", *SMALL, "--spikes", str(binary)], capsys)
    assert code == 0
    data = sg.read_spike_file(binary)
    assert data["num_nodes"] == 736 and data["dt_ms"] == 1.0
    assert data["steps"].size == int(summary_values(out)["spikes"])
    with np.load(npz) as ref:
        assert np.array_equal(data["steps"], ref["steps"]) and np.array_equal(data["nodes"], ref["nodes"])


def test_run_toml_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spikes = tmp_path / "from_config.bin"
    path = small_toml(tmp_path, f'spikes_file = "{spikes.as_posix()}"\n')
    code, out, err = run_cli(["run", str(path)], capsys)
    assert code == 0, err
    values = summary_values(out)
    assert values["nodes"] == "600" and values["edges"] == "24000"
    assert values["model time"] == "30.0 ms (300 steps)"
    assert "2 threads" in values["ms per step"]
    assert values["spikes file"] == spikes.as_posix()
    assert sg.read_spike_file(spikes)["steps"].size == int(values["spikes"])
    # Options override the file.
    code, out, _ = run_cli(
        [
            "run",
            str(path),
            "--duration",
            "10",
            "--threads",
            "1",
            "--seed",
            "4",
            "--set",
            'run.spikes_file=""',
        ],
        capsys,
    )
    assert code == 0
    values = summary_values(out)
    assert values["model time"] == "10.0 ms (100 steps)"
    assert "1 thread," in values["ms per step"]
    assert "spikes file" not in values


def test_run_with_progress(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(["run", str(small_toml(tmp_path)), "--duration", "5", "--progress"], capsys)
    assert code == 0 and "100%" in err and "50/50 steps" in err
    code, _, err = run_cli(["run", str(small_toml(tmp_path)), "--duration", "5", "--no-progress"], capsys)
    assert code == 0 and err == ""


def test_run_duration_steps_match_the_schema(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(
        ["run", str(small_toml(tmp_path)), "--set", "sim.dt=1.0", "--duration", "2.5"], capsys
    )
    assert code == 0
    assert summary_values(out)["model time"] == "3.0 ms (3 steps)"


# ---------------------------------------------------------------- errors


def test_unknown_key_in_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "typo.toml"
    path.write_text("[network]\nnn = 100\n", encoding="utf-8")
    code, out, err = run_cli(["run", str(path)], capsys)
    assert code == 2 and out == ""
    assert err.startswith("spikegraph: error: ")
    assert "unknown key 'network.nn'" in err and "did you mean 'network.n'" in err and str(path) in err


def test_malformed_toml_exits_2_with_position(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "broken.toml"
    path.write_text("[sim]\ndt = 0.1\nseed = \n", encoding="utf-8")
    code, _, err = run_cli(["run", str(path)], capsys)
    assert code == 2
    assert f"{path}:3:8: missing value for key 'sim.seed'" in err


def test_missing_file_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "nowhere.toml"
    code, _, err = run_cli(["run", str(path)], capsys)
    assert code == 1
    assert "cannot open" in err and str(path) in err


@pytest.mark.skipif(CUDA_AVAILABLE, reason="the CUDA backend is available here")
def test_cuda_backend_unavailable_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(["run", *SMALL, "--set", "sim.backend=cuda"], capsys)
    assert code == 1 and out == ""
    assert "backend 'cuda' is unavailable" in err and "SPIKEGRAPH_CUDA" in err


@pytest.mark.parametrize(
    ("setting", "fragment"),
    [
        ("nokey", "--set expects KEY=VALUE, got 'nokey'"),
        ("=3", "--set expects KEY=VALUE"),
        ("sim.dt=abc", 'sim.dt: expected float, got string "abc"'),
        ("sim.dt=-1", "sim.dt = -1 is out of range"),
        ("sim.dtt=0.1", "did you mean 'sim.dt'"),
        ('sim.backend="gpu', "unterminated string"),
    ],
)
def test_bad_set_exits_2(setting: str, fragment: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(["run", "--set", setting], capsys)
    assert code == 2
    assert fragment in err


def test_set_values_are_toml(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(
        [
            "config",
            "--set",
            "sim.backend=cpu",
            "--set",
            "monitor.nodes=[1, 2]",
            "--set",
            "record.spikes=false",
            "--set",
            "sim.seed=0x10",
            "--set",
            "run.spikes_file=out/spikes.bin",
        ],
        capsys,
    )
    assert code == 0
    cfg = sg.Config.from_toml_string(out)
    assert cfg["sim.backend"] == "cpu" and cfg["monitor.nodes"] == [1, 2]
    assert cfg["record.spikes"] is False and cfg["sim.seed"] == 16
    assert cfg["run.spikes_file"] == "out/spikes.bin"


def test_unwritable_spike_file_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for name in ("x.npz", "x.bin"):
        target = tmp_path / "missing-dir" / name
        code, _, err = run_cli(
            ["run", str(small_toml(tmp_path)), "--duration", "1", "--spikes", str(target)], capsys
        )
        assert code == 1, name
        assert "spikegraph: error:" in err and str(target) in err


def test_interrupt_exits_130(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    def interrupted(*_: Any) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "from_config", interrupted)
    code, _, err = run_cli(["run"], capsys)
    assert code == 130 and "interrupted" in err


def test_no_subcommand_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        cli.main([])
    assert info.value.code == 2
    assert "usage: spikegraph" in capsys.readouterr().err


# ---------------------------------------------------------------- other subcommands


def test_info(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(["info"], capsys)
    assert code == 0
    lines = dict(line.split(": ", 1) for line in out.splitlines())
    assert lines == sg.build_info()
    assert lines["version"] == sg.__version__ and lines["backend.cpu"].startswith("available")


def test_config(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(["config"], capsys)
    assert code == 0
    assert sg.Config.from_toml_string(out) == sg.default_run_config()
    path = small_toml(tmp_path)
    code, out, _ = run_cli(["config", str(path), "--set", "sim.seed=9"], capsys)
    assert code == 0
    expected = sg.Config.from_toml(path)
    expected.update({"sim.seed": 9})
    assert sg.Config.from_toml_string(out) == expected


def test_schema(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(["schema"], capsys)
    assert code == 0
    lines = out.splitlines()
    assert lines[0].startswith("| key | type | default |")
    rows = [line for line in lines[2:] if line.startswith("| `")]
    assert [re.match(r"\| `([^`]+)`", row).group(1) for row in rows] == [p["key"] for p in sg.schema()]  # type: ignore[union-attr]
    assert any("`sim.dt` | float | `1.0` | (0, 1000] | ms |" in row for row in rows)


def test_save_and_load_npz(tmp_path: Path) -> None:
    path = tmp_path / "s.npz"
    save_spikes_npz(path, np.array([1, 2], dtype=np.int64), np.array([0, 3], dtype=np.uint32), 0.25, 4)
    data = load_spikes_npz(path)
    assert data["steps"].tolist() == [1, 2] and data["nodes"].tolist() == [0, 3]
    assert data["dt_ms"] == 0.25 and data["num_nodes"] == 4
    (tmp_path / "bad.npz").write_bytes(b"not a zip")
    with pytest.raises(sg.IoError, match="read spikes"):
        load_spikes_npz(tmp_path / "bad.npz")
    np.savez(tmp_path / "partial.npz", steps=np.zeros(1))
    with pytest.raises(sg.IoError):
        load_spikes_npz(tmp_path / "partial.npz")
    with pytest.raises(sg.IoError, match="write spikes"):
        save_spikes_npz(tmp_path / "no" / "dir.npz", np.zeros(0, np.int64), np.zeros(0, np.uint32), 0.1, 1)


# ---------------------------------------------------------------- as a separate process


def test_python_m_spikegraph_subprocess(tmp_path: Path, cli_env: dict[str, str]) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "spikegraph", "run", *SMALL_AS_TYPED, "--spikes", "out.npz"],
        cwd=tmp_path,
        env=cli_env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    values = summary_values(result.stdout)
    for key in ("nodes", "edges", "spikes", "mean rate", "ms per step"):
        assert key in values, key
    assert values["nodes"] == "736"
    with np.load(tmp_path / "out.npz") as data:
        assert data["steps"].size == int(values["spikes"])
    bad = subprocess.run(
        [sys.executable, "-m", "spikegraph", "run", "missing.toml"],
        cwd=tmp_path,
        env=cli_env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert bad.returncode == 1 and "cannot open" in bad.stderr


def test_module_entry_point_in_process(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "argv", ["spikegraph", "info"])
    with pytest.raises(SystemExit) as info:
        runpy.run_module("spikegraph", run_name="__main__", alter_sys=False)
    assert info.value.code == 0
    assert f"version: {sg.__version__}" in capsys.readouterr().out


def test_console_script(tmp_path: Path, cli_env: dict[str, str]) -> None:
    exe = shutil.which("spikegraph", path=cli_env.get("PATH"))
    if exe is None:
        assert not os.environ.get("SPIKEGRAPH_CI"), "CI must have the console script on PATH"
        pytest.skip("the spikegraph console script is not on PATH (package not installed)")
    result = subprocess.run(
        [exe, "info"], cwd=tmp_path, env=cli_env, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0 and f"version: {sg.__version__}" in result.stdout


def test_spikegraph_sim_agrees_with_python_cli(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], cli_env: dict[str, str]
) -> None:
    exe = shutil.which("spikegraph-sim", path=cli_env.get("PATH"))
    if exe is None:
        assert not os.environ.get("SPIKEGRAPH_CI"), "CI must have spikegraph-sim on PATH"
        pytest.skip("spikegraph-sim is not on PATH")
    path = small_toml(tmp_path)
    py_spikes, cpp_spikes = tmp_path / "py.bin", tmp_path / "cpp.bin"
    code, out, _ = run_cli(["run", str(path), "--spikes", str(py_spikes)], capsys)
    assert code == 0
    result = subprocess.run(
        [exe, str(path), "--spikes", str(cpp_spikes)],
        cwd=tmp_path,
        env=cli_env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    py_values, cpp_values = summary_values(out), summary_values(result.stdout)
    for key in ("nodes", "edges", "model time", "spikes", "mean rate"):
        assert py_values[key] == cpp_values[key], key
    assert py_spikes.read_bytes() == cpp_spikes.read_bytes()  # same file format, same spikes
    # Both tools refuse the same bad input with the same exit code.
    bad = tmp_path / "bad.toml"
    bad.write_text("[sim]\ndtt = 1\n", encoding="utf-8")
    result = subprocess.run(
        [exe, str(bad)], env=cli_env, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 2 == cli.main(["run", str(bad)])
    assert "unknown key 'sim.dtt'" in result.stderr
