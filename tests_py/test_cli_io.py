"""Result files (spikegraph.io) and the command line's input/output paths:
``spikegraph run --input FILE --out DIR`` and ``spikegraph plot RUN_DIR``."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
import spikegraph as sg
from spikegraph import cli
from spikegraph import io as sgio
from spikegraph.sources import ArraySource

SMALL = ["--duration", "40", "--set", "graph.sensory_side=8", "--threads", "1", "--no-progress"]
HAVE_H5PY = importlib.util.find_spec("h5py") is not None
HAVE_MPL = importlib.util.find_spec("matplotlib") is not None


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = cli.main(args)
    out, err = capsys.readouterr()
    return code, out, err


def small_sim(**changes: object) -> sg.Simulation:
    cfg = sg.default_run_config()
    cfg.update({"graph.sensory_side": 8, "sim.threads": 1, **changes})
    return sg.Simulation(sg.networks.from_config(cfg), cfg)


# ---------------------------------------------------------------- io round trips


def test_monitor_ledger_metrics_round_trip(tmp_path: Path) -> None:
    sim = small_sim(**{"monitor.variables": ["v", "energy"], "monitor.nodes": [0, 5, 700],
                       "monitor.interval": 2.0})
    sim.run(30.0)
    monitor = sim.monitor
    sgio.save_monitor_npz(tmp_path / "m.npz", monitor)
    back = sgio.load_monitor_npz(tmp_path / "m.npz")
    assert back["steps"].tobytes() == monitor["steps"].tobytes()
    assert back["nodes"].tobytes() == monitor["nodes"].tobytes()
    assert back["values"].keys() == monitor["values"].keys() == {"v", "energy"}
    for k in monitor["values"]:
        assert back["values"][k].tobytes() == monitor["values"][k].tobytes()
        assert back["values"][k].shape == (15, 3)
    ledger = sim.ledger
    sgio.save_arrays_npz(tmp_path / "l.npz", ledger)
    loaded = sgio.load_arrays_npz(tmp_path / "l.npz")
    assert loaded.keys() == ledger.keys()
    assert all(loaded[k].tobytes() == ledger[k].tobytes() for k in ledger)
    home = sim.homeostasis
    sgio.save_arrays_npz(tmp_path / "h.npz", home)
    h = sgio.load_arrays_npz(tmp_path / "h.npz")
    assert h["synaptic_gain"] == home["synaptic_gain"] and isinstance(h["updates"], int)
    metrics = sgio.run_metrics(sim)
    metrics["nan"] = float("nan")
    metrics["array"] = np.arange(3, dtype=np.uint32)
    sgio.save_metrics_json(tmp_path / "x.json", metrics)
    again = sgio.load_metrics_json(tmp_path / "x.json")
    assert again["summary"] == json.loads(json.dumps(sim.summary()))
    assert again["nan"] is None and again["array"] == [0, 1, 2]
    assert again["energy"]["max_abs_error"] < 1e-3
    assert again["energy"]["total_last"] == pytest.approx(float(ledger["total_after"][-1]))


def test_io_errors_name_the_file(tmp_path: Path) -> None:
    for loader in (sgio.load_monitor_npz, sgio.load_arrays_npz, sgio.load_spikes_npz, sgio.load_metrics_json):
        with pytest.raises(sg.IoError, match="nowhere"):
            loader(tmp_path / "nowhere")
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"PK\x03\x04 truncated zip")
    with pytest.raises(sg.IoError, match=f"read monitor '{bad}'"):
        sgio.load_monitor_npz(bad)
    np.savez(tmp_path / "other.npz", a=np.zeros(2))
    with pytest.raises(sg.IoError, match="not a monitor file"):
        sgio.load_monitor_npz(tmp_path / "other.npz")
    with pytest.raises(sg.IoError, match="missing array"):
        sgio.load_spikes_npz(tmp_path / "other.npz")
    (tmp_path / "list.json").write_text("[1, 2]", encoding="utf-8")
    with pytest.raises(sg.IoError, match="expected a JSON object"):
        sgio.load_metrics_json(tmp_path / "list.json")
    (tmp_path / "broken.json").write_text("{", encoding="utf-8")
    with pytest.raises(sg.IoError, match=r"broken\.json"):
        sgio.load_metrics_json(tmp_path / "broken.json")
    with pytest.raises(sg.IoError, match="write ledger"):
        sgio.save_arrays_npz(tmp_path / "no" / "dir" / "l.npz", {"a": np.zeros(1)}, "ledger")


def test_save_run_and_load_run(tmp_path: Path) -> None:
    sim = small_sim()
    before = sim.weights
    sim.attach_source(ArraySource(np.random.default_rng(2).random((3, 16, 16)), label="noise"))
    sim.run(40.0)
    written = sgio.save_run(sim, tmp_path / "run", weights_before=before, sonata=HAVE_H5PY)
    run = sgio.load_run(tmp_path / "run")
    assert run.keys() == {"spikes", "monitor", "ledger", "homeostasis", "state", "metrics"}
    assert run["spikes"]["steps"].tobytes() == sim.spikes.steps.tobytes()
    state = run["state"]
    assert state["energy"].tobytes() == sim.energy.tobytes()
    assert state["weights_before"].tobytes() == before.tobytes()
    assert state["weights_after"].tobytes() == sim.weights.tobytes()
    assert tuple(state["sensory_grid"]) == (8, 8) and state["step"] == 40
    assert run["metrics"]["frames_applied"] == 3
    assert sorted(run["metrics"]["files"]) == sorted(p.name for p in written.values())
    assert sg.Config.from_toml(written["config"]).to_dict() == sim.config.to_dict()
    if HAVE_H5PY:
        from spikegraph.interchange import from_sonata, from_sonata_spikes

        assert from_sonata(written["network"]).weights.tobytes() == sim.weights.tobytes()
        assert from_sonata_spikes(written["sonata_spikes"])["steps"].tobytes() == sim.spikes.steps.tobytes()


# ---------------------------------------------------------------- command line


@pytest.fixture
def png(tmp_path: Path) -> Path:
    iio = pytest.importorskip("imageio.v3")
    path = tmp_path / "input.png"
    image = np.zeros((60, 80, 3), np.uint8)
    image[:, 40:] = 255  # right half white
    iio.imwrite(path, image)
    return path


def test_run_with_image_input(png: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(["run", *SMALL, "--input", str(png)], capsys)
    assert code == 0, err
    assert f"input         {png} (8 frames)" in out  # looped every 5 steps over 40 steps
    # The same through the API: the image given every sensory.interval steps.
    sim = small_sim()
    import imageio.v3 as iio

    frame = iio.imread(png)
    for _ in range(8):
        sim.set_frame(frame)
        sim.run_steps(5)
    assert f"spikes        {sim.spikes.num_spikes}\n" in out
    code, out, _ = run_cli(["run", *SMALL, "--input", str(png), "--input-end", "stop", "--frame-ms", "10"],
                           capsys)
    assert code == 0 and "(1 frames)" in out


def test_run_with_video_input_and_out_dir(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    iio = pytest.importorskip("imageio.v3")
    pytest.importorskip("imageio_ffmpeg")
    video = tmp_path / "clip.mp4"
    iio.imwrite(video, np.random.default_rng(0).integers(0, 256, (4, 32, 48, 3), dtype=np.uint8), fps=10)
    out_dir = tmp_path / "run"
    code, out, err = run_cli(["run", *SMALL, "--input", str(video), "--out", str(out_dir)], capsys)
    assert code == 0, err
    assert "(4 frames)" in out and f"output dir    {out_dir}" in out
    names = {p.name for p in out_dir.iterdir()}
    assert {"spikes.npz", "monitor.npz", "ledger.npz", "homeostasis.npz", "state.npz", "metrics.json",
            "config.toml"} <= names
    assert ("spikes.h5" in names and "network" in names) == HAVE_H5PY
    metrics = json.loads((out_dir / "metrics.json").read_text(encoding="utf-8"))
    assert metrics["run"]["input"] == str(video) and metrics["frames_applied"] == 4
    assert metrics["summary"]["steps"] == 40 and metrics["perf"]["steps"] == 40
    spikes = sgio.load_spikes_npz(out_dir / "spikes.npz")
    assert spikes["steps"].size == metrics["summary"]["spikes"]
    if HAVE_MPL:
        from spikegraph.plot import RUN_PLOTS

        assert f"plots         {len(RUN_PLOTS)} PNG files" in out
        assert {"raster.png", "population_rate.png", "weights.png"} <= names
        code, out, _ = run_cli(["plot", str(out_dir), "--to", str(tmp_path / "again")], capsys)
        assert code == 0 and len(out.splitlines()) == len(RUN_PLOTS)
        assert (tmp_path / "again" / "energy_map.png").is_file()


def test_run_input_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(["run", *SMALL, "--input", str(tmp_path / "missing.png")], capsys)
    assert code == 1 and out == ""
    assert f"file not found: '{tmp_path / 'missing.png'}'" in err
    code, _, err = run_cli(["run", *SMALL, "--input", str(tmp_path / "missing.mp4")], capsys)
    assert code == 1 and "missing.mp4': file not found" in err
    code, _, err = run_cli(["run", *SMALL, "--input", str(tmp_path / "voice.wav")], capsys)
    assert code == 1 and f"read_wav: '{tmp_path / 'voice.wav'}': no such file" in err
    code, _, err = run_cli(["run", *SMALL, "--input", str(tmp_path / "voice.mp3")], capsys)
    assert code == 1 and ".mp3 files are not read; convert to a PCM .wav file" in err
    corrupt = tmp_path / "corrupt.png"
    corrupt.write_bytes(b"not a png")
    code, _, err = run_cli(["run", *SMALL, "--input", str(corrupt)], capsys)
    assert code == 1 and f"read image '{corrupt}' (frame 0)" in err
    code, _, err = run_cli(["plot", str(tmp_path / "nothing")], capsys)
    assert code == 1 and "not a directory" in err


def test_info_describes_every_file_a_run_writes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out_dir = tmp_path / "run"
    checkpoint = tmp_path / "run.sgckpt"
    code, _, err = run_cli(["run", *SMALL, "--out", str(out_dir), "--save", str(checkpoint)], capsys)
    assert code == 0, err
    files = [p for p in out_dir.rglob("*") if p.is_file()] + [checkpoint]
    assert len(files) >= 7
    for path in files:
        code, out, err = run_cli(["info", str(path)], capsys)
        assert code == 0, (path, err)
        assert str(path) in out, path
    code, out, _ = run_cli(["info", str(out_dir / "spikes.npz")], capsys)
    spikes = sgio.load_spikes_npz(out_dir / "spikes.npz")
    assert out.startswith(f"spikes (npz)  {out_dir / 'spikes.npz'}: {spikes['steps'].size} spikes of")
    code, out, _ = run_cli(["info", str(out_dir / "ledger.npz")], capsys)
    assert "arrays" in out and "total_after" in out
    code, out, _ = run_cli(["info", str(out_dir / "config.toml")], capsys)
    assert "keys (valid)" in out
    (tmp_path / "notes.txt").write_text("hello", encoding="utf-8")
    code, _, err = run_cli(["info", str(tmp_path / "notes.txt")], capsys)
    assert code == 1 and "is not a file spikegraph writes" in err
    (tmp_path / "broken.npz").write_bytes(b"PK\x03\x04 not really a zip")
    code, _, err = run_cli(["info", str(tmp_path / "broken.npz")], capsys)
    assert code == 1 and "not a readable .npz file" in err


def test_version_flag(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        cli.main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out.strip() == f"spikegraph {sg.__version__}"
