"""Records streamed to crash-safe chunk files (record.stream), and crash safety shown:
runs killed with SIGKILL at random moments while streaming or checkpointing."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import spikegraph as sg


def small_config(**changes: Any) -> sg.Config:
    cfg = sg.default_run_config()
    cfg.update({"graph.sensory_side": 6, "graph.workspace_side": 3, "energy.record_ledger": True,
                "monitor.variables": ["v", "energy"], "monitor.nodes": [0, 3, 7], **changes})
    return cfg


def test_a_streamed_run_reads_back_as_the_in_memory_record(tmp_path: Path) -> None:
    stream = tmp_path / "stream"
    cfg = small_config(**{"record.stream": str(stream), "record.stream_every": 100.0})
    net = sg.networks.from_config(cfg)
    streamed = sg.Simulation(net, cfg)
    streamed.run(1000.0)
    memory = sg.Simulation(net, small_config())
    memory.run(1000.0)
    # In memory only the chunk in progress (none: 1000 ms is 10 whole chunks).
    assert streamed.spikes.num_spikes == 0 and streamed.ledger["step"].size == 0
    r = sg.io.read_record_stream(stream)
    assert r["spikes"]["first_step"] == 0 and r["spikes"]["end_step"] == 1000
    np.testing.assert_array_equal(r["spikes"]["steps"], memory.spikes.steps)
    np.testing.assert_array_equal(r["spikes"]["nodes"], memory.spikes.nodes)
    for name in ("v", "energy"):
        np.testing.assert_array_equal(r["monitor"]["values"][name], memory.monitor["values"][name])
    np.testing.assert_array_equal(r["monitor"]["steps"], memory.monitor["steps"])
    for column, values in r["ledger"].items():
        np.testing.assert_array_equal(values, memory.ledger[column])
    assert len(list(stream.glob("spikes-*.sgrec"))) == 10 and len(list(stream.glob("ledger-*.sgrec"))) == 10


def test_a_stream_continues_across_a_checkpoint_and_damage_is_reported(tmp_path: Path) -> None:
    stream = tmp_path / "stream"
    cfg = small_config(**{"record.stream": str(stream), "record.stream_every": 50.0})
    net = sg.networks.from_config(cfg)
    first = sg.Simulation(net, cfg)
    first.run(230.0)  # 4 chunks written, 30 steps in memory
    first.save(tmp_path / "c.sgckpt")
    resumed = sg.Simulation.load(tmp_path / "c.sgckpt")
    resumed.run(170.0)
    straight = sg.Simulation(net, small_config())
    straight.run(400.0)
    r = sg.io.read_record_stream(stream)
    assert r["spikes"]["end_step"] == 400
    np.testing.assert_array_equal(r["spikes"]["nodes"], straight.spikes.nodes)
    np.testing.assert_array_equal(r["ledger"]["total_after"], straight.ledger["total_after"])
    # A missing chunk is a gap; a damaged one fails its checksum.
    chunks = sorted(stream.glob("spikes-*.sgrec"))
    data = bytearray(chunks[2].read_bytes())
    data[-20] ^= 0xFF
    chunks[2].write_bytes(bytes(data))
    with pytest.raises(sg.IoError, match=r"checksum|corrupt"):
        sg.io.read_record_stream(stream)
    chunks[2].unlink()
    with pytest.raises(sg.IoError, match="skip from step 100 to 150"):
        sg.io.read_record_stream(stream)
    with pytest.raises(sg.IoError, match="not a directory"):
        sg.io.read_record_stream(tmp_path / "nothing")


# A child process that writes continually: chunk files, or checkpoints to one path.
CHILD = textwrap.dedent("""
    import sys
    import spikegraph as sg
    mode, target = sys.argv[1], sys.argv[2]
    cfg = sg.default_run_config()
    cfg.update({"graph.sensory_side": 6, "graph.workspace_side": 3, "energy.record_ledger": True,
                "structure.enabled": True, "structure.spare_nodes": 20})
    if mode == "stream":
        cfg.update({"record.stream": target, "record.stream_every": 5.0})
    sim = sg.Simulation(sg.networks.from_config(cfg), cfg)
    if mode == "checkpoint":
        sim.save(target)
    print("ready", flush=True)
    while True:
        sim.run(10.0)
        if mode == "checkpoint":
            sim.save(target)
""")


def kill_at_random(args: list[str], rng: random.Random) -> None:
    child = subprocess.Popen([sys.executable, "-c", CHILD, *args], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "ready"
        time.sleep(rng.uniform(0.05, 0.6))
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
        if child.stdout is not None:
            child.stdout.close()
    assert child.returncode == -signal.SIGKILL


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX signals")
def test_killed_while_streaming_every_completed_chunk_reads_back(tmp_path: Path) -> None:
    rng = random.Random(7)
    for k in range(6):
        stream = tmp_path / f"stream{k}"
        kill_at_random(["stream", os.fspath(stream)], rng)
        r = sg.io.read_record_stream(stream)  # every chunk named in place is complete
        end = r["spikes"]["end_step"]
        # Each kind is complete on its own: the kill may fall between the ledger chunk
        # and the spike chunk of the same steps.
        assert end > 0 and end % 5 == 0 and r["ledger"]["step"].size in (end, end + 5)
        np.testing.assert_array_equal(r["ledger"]["step"], np.arange(r["ledger"]["step"].size))
        assert not np.any(np.abs(r["ledger"]["total_after"] - r["ledger"]["total_before"]) > 1e9)


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX signals")
def test_killed_while_checkpointing_the_last_checkpoint_always_loads(tmp_path: Path) -> None:
    rng = random.Random(11)
    path = tmp_path / "run.sgckpt"
    for _ in range(6):
        kill_at_random(["checkpoint", os.fspath(path)], rng)
        sim = sg.Simulation.load(path)
        assert sim.step % 10 == 0
        sim.run(5.0)  # and it continues


def test_info_describes_a_stream_and_its_chunks(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from spikegraph.cli import main

    stream = tmp_path / "stream"
    cfg = small_config(**{"record.stream": str(stream), "record.stream_every": 100.0})
    sim = sg.Simulation(sg.networks.from_config(cfg), cfg)
    sim.add_recorder("pop", "rate", range(40, 80), interval_ms=10.0)
    sim.run(300.0)
    assert main(["info", str(stream)]) == 0
    out = capsys.readouterr().out
    assert "record stream" in out and "steps 0..300 in 3 spike chunks" in out and "300 ledgers" in out
    assert "recorder pop: rate of 40 nodes, steps 0..300, 30 entries" in out
    assert main(["info", str(stream / "ledger-000000000100.sgrec")]) == 0
    assert "record chunk" in capsys.readouterr().out
