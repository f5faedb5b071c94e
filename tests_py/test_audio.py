"""Audio input (docs/model.md step 1): WAV files and sample blocks become mel-band values
driving the audio sensory nodes, one vector per step; the command line's .wav input,
checkpoints and ``spikegraph resume``/``info``."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import pytest
import spikegraph as sg
from spikegraph import cli
from spikegraph.audio import read_wav, to_mono, write_wav

RATE = 16000


def tone(hz: float, seconds: float, amplitude: float = 0.5, rate: int = RATE) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (amplitude * np.sin(2 * np.pi * hz * t)).astype(np.float32)


def audio_sim(bands: int = 16, **changes: object) -> sg.Simulation:
    cfg = sg.default_run_config()
    cfg.update({"graph.sensory_side": 6, "graph.workspace_side": 2, "sim.threads": 1,
                "sensory.audio_bands": bands, "sensory.source": "none", **changes})
    return sg.Simulation(sg.networks.from_config(cfg), cfg)


def audio_nodes(sim: sg.Simulation) -> np.ndarray:
    sensory = np.flatnonzero(sim.network.node_types == sg.NODE_TYPES.index("sensory"))
    return sensory[-int(sim.config["sensory.audio_bands"]):]


def test_wav_round_trip_mono_stereo_and_8_bit(tmp_path: Path) -> None:
    x = tone(440.0, 0.1)
    write_wav(tmp_path / "m.wav", x, RATE)
    a = read_wav(tmp_path / "m.wav")
    assert a.sample_rate == RATE and a.samples.dtype == np.float32 and a.samples.shape == x.shape
    np.testing.assert_allclose(a.samples, x, atol=1.0 / 32767)
    assert a.duration_ms == pytest.approx(100.0)
    stereo = np.stack([x, -x], axis=1)
    write_wav(tmp_path / "s.wav", stereo, RATE)
    s = read_wav(tmp_path / "s.wav")
    assert s.samples.shape == (x.size, 2)
    np.testing.assert_allclose(to_mono(s.samples), 0.0, atol=1e-4)
    with wave.open(str(tmp_path / "u8.wav"), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(1)
        w.setframerate(8000)
        w.writeframes(bytes([128, 255, 0, 192]))
    u8 = read_wav(tmp_path / "u8.wav")
    np.testing.assert_allclose(u8.samples, [0.0, 127 / 128, -1.0, 0.5])
    np.testing.assert_allclose(to_mono(np.array([16384, -32768], dtype=np.int16)), [0.5, -1.0])


def test_wav_errors_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(sg.IoError, match="no such file"):
        read_wav(tmp_path / "missing.wav")
    (tmp_path / "junk.wav").write_bytes(b"RIFF0000WAVEjunk")
    with pytest.raises(sg.IoError, match=r"junk\.wav"):
        read_wav(tmp_path / "junk.wav")
    write_wav(tmp_path / "t.wav", tone(440.0, 0.1), RATE)
    data = (tmp_path / "t.wav").read_bytes()
    (tmp_path / "cut.wav").write_bytes(data[: len(data) // 2])
    with pytest.raises(sg.IoError, match="truncated"):
        read_wav(tmp_path / "cut.wav")
    with pytest.raises(sg.InputError, match="finite"):
        write_wav(tmp_path / "nan.wav", np.array([np.nan]), RATE)


def test_a_tone_drives_its_band_and_block_sizes_do_not_matter() -> None:
    x = tone(1000.0, 0.5, amplitude=0.8)
    whole, pieces = audio_sim(), audio_sim()
    assert whole.feed_audio(x, RATE) == (x.size - 400) // 16 + 1
    for block in np.array_split(x, 37):
        pieces.feed_audio(block, RATE)
    assert pieces.audio_frames_pending == whole.audio_frames_pending
    whole.run(100.0)
    pieces.run(100.0)
    assert whole.audio_frames_applied == 100
    np.testing.assert_array_equal(whole.spikes.nodes, pieces.spikes.nodes)
    np.testing.assert_array_equal(whole.drive, pieces.drive)
    # The loudest audio node is the band around 1 kHz: its drive is gain x value.
    nodes = audio_nodes(whole)
    values = whole.drive[nodes] / whole.config["sensory.gain"]
    assert values.max() > 0.7
    edges = sg._core.mel_filter_bank(16, 512, RATE, 30.0, 8000.0).reshape(16, 257)
    peak_hz = edges.argmax(axis=1) * RATE / 512
    assert abs(peak_hz[int(values.argmax())] - 1000.0) < 400.0
    assert np.all(np.abs(whole.ledger["error"]) <= 1e-4 * whole.ledger["total_after"])


def test_feed_audio_errors_leave_nothing_queued() -> None:
    sim = audio_sim()
    bad = tone(440.0, 0.1)
    bad[50] = np.nan
    with pytest.raises(sg.InputError, match="sample 50 is not finite"):
        sim.feed_audio(bad, RATE)
    assert sim.audio_frames_pending == 0
    with pytest.raises(sg.InputError, match="sample rate"):
        sim.feed_audio(tone(440.0, 0.1))
    sim.feed_audio(tone(440.0, 0.1), RATE)
    with pytest.raises(sg.InputError, match="reset_audio"):
        sim.feed_audio(tone(440.0, 0.1, rate=8000), 8000)
    sim.reset_audio()
    assert sim.audio_frames_pending == 0
    sim.feed_audio(tone(440.0, 0.1, rate=8000), 8000)
    with pytest.raises(sg.InputError, match="no audio sensory nodes"):
        audio_sim(bands=0).feed_audio(tone(440.0, 0.1), RATE)
    with pytest.raises(sg.ConfigError, match="audio_bands"):
        audio_sim(bands=0, **{"sensory.audio_bands": 5000})


def test_cli_wav_input_and_resume_and_info(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    wav = tmp_path / "tone.wav"
    write_wav(wav, tone(800.0, 0.2), RATE)
    small = ["--set", "graph.sensory_side=6", "--set", "sim.threads=1", "--no-progress"]
    assert cli.main(["run", "--duration", "30", "--input", str(wav), *small]) == 0
    out = capsys.readouterr().out
    assert "steps of audio" in out
    # 60 ms straight against 30 + save + resume 30: the same spikes.
    straight, resumed = tmp_path / "a.npz", tmp_path / "b.npz"
    ckpt = tmp_path / "half.sgckpt"
    assert cli.main(["run", "--duration", "60", "--spikes", str(straight), *small]) == 0
    assert cli.main(["run", "--duration", "30", "--save", str(ckpt), *small]) == 0
    assert cli.main(["resume", str(ckpt), "--duration", "30", "--spikes", str(resumed), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert f"resumed       {ckpt} at step 30" in out
    a, b = np.load(straight), np.load(resumed)
    assert a["nodes"].size > 0
    np.testing.assert_array_equal(a["steps"], b["steps"])
    np.testing.assert_array_equal(a["nodes"], b["nodes"])
    assert cli.main(["info", str(ckpt), "-v"]) == 0
    out = capsys.readouterr().out
    assert "step          30" in out and "checksums ok" in out and "backend/energy" in out
    spikes_bin = tmp_path / "s.bin"
    assert cli.main(["run", "--duration", "10", "--spikes", str(spikes_bin), *small]) == 0
    capsys.readouterr()
    assert cli.main(["info", str(spikes_bin)]) == 0
    assert "spike file" in capsys.readouterr().out
    assert cli.main(["info", str(tmp_path / "nope")]) == 1
    assert "no such file" in capsys.readouterr().err
    assert cli.main(["info", str(wav)]) == 1
    assert "is not a file spikegraph writes" in capsys.readouterr().err
    assert cli.main(["resume", str(wav)]) == 1
    assert "not a spikegraph checkpoint" in capsys.readouterr().err
