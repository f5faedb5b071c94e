"""Checkpoints (docs/file-formats.md): save + load continues a run bit for bit, slots,
in-place restore, and damaged files refused with a clear IoError that leaves the
running simulation untouched."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import spikegraph as sg


def full_config(rule: str = "eligibility") -> sg.Config:
    """The default run, small, with every phase on (energy, learning, homeostasis,
    structure with spare slots, the grating, a monitor, the ledger)."""
    cfg = sg.default_run_config()
    cfg.update({
        "sim": {"threads": 2},
        "graph": {"sensory_side": 8, "workspace_side": 4, "oscillators": 8, "relays": 8, "highways": 4},
        "learning": {"rule": rule},
        "structure": {"enabled": True, "spare_nodes": 40, "interval": 25, "birth_energy": 1.0,
                      "birth_cost": 0.5},
        "monitor": {"variables": ["v", "energy"], "nodes": [0, 5, 300], "interval": 3.0},
        "energy": {"record_ledger": True},
    })
    return cfg


def prepared(cfg: sg.Config) -> sg.Simulation:
    sim = sg.Simulation(sg.networks.from_config(cfg), cfg)
    sim.set_neuromodulator(0.3)
    sim.schedule_stimulus([10, 11, 12], 0.2, step=1500, kind="add_drive")
    return sim


def snapshot(sim: sg.Simulation) -> dict[str, Any]:
    out: dict[str, Any] = {name: sim.state(name).copy() for name in sim.state_names()}
    out["weights"] = sim.weights.copy()
    out["spike_steps"], out["spike_nodes"], _ = sim.spikes
    out["targets"] = sim.current_network.targets.copy()
    return out


def assert_same(a: dict[str, Any], b: dict[str, Any]) -> None:
    assert a.keys() == b.keys()
    for key in a:
        assert a[key].dtype == b[key].dtype, key
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)


@pytest.mark.parametrize("rule", ["eligibility", "stdp"])
def test_1000_steps_save_load_1000_steps_equals_2000_steps(tmp_path: Path, rule: str) -> None:
    cfg = full_config(rule)
    straight = prepared(cfg)
    straight.run_steps(2000)
    first = prepared(cfg)
    first.run_steps(1000)
    path = first.save(tmp_path / "half.sgckpt")
    assert path == tmp_path / "half.sgckpt" and path.exists()
    assert not Path(str(path) + ".tmp").exists()
    resumed = sg.Simulation.load(path)
    assert resumed.step == 1000
    assert resumed.pending_stimuli() == 1
    assert resumed.config == cfg
    resumed.run_steps(1000)
    assert straight.spikes.num_spikes > 1000
    assert_same(snapshot(resumed), snapshot(straight))
    np.testing.assert_array_equal(resumed.ledger["total_after"], straight.ledger["total_after"])
    np.testing.assert_array_equal(resumed.monitor["values"]["energy"], straight.monitor["values"]["energy"])
    gains = [np.asarray(s.homeostasis["gains"]).tolist() for s in (resumed, straight)]
    assert gains[0] == gains[1]


def test_named_slots_and_restore_in_place(tmp_path: Path) -> None:
    cfg = full_config()
    sim = prepared(cfg)
    sim.run_steps(100)
    saved = snapshot(sim)
    path = sim.save(slot="before", directory=tmp_path / "slots")
    assert path == tmp_path / "slots" / "before.sgckpt"
    events: list[dict[str, Any]] = []
    sim.subscribe(events.append)
    sim.run_steps(50)
    sim.restore(slot="before", directory=tmp_path / "slots")
    assert sim.step == 100
    assert_same(snapshot(sim), saved)
    sim.run_steps(10)
    assert events and events[-1]["end_step"] == 110  # subscriptions survive a restore
    again = sg.Simulation.load(slot="before", directory=tmp_path / "slots")
    assert again.step == 100
    with pytest.raises(sg.InputError, match="slot name"):
        sim.save(slot="../escape", directory=tmp_path)
    with pytest.raises(sg.InputError, match="exactly one of a path or a slot"):
        sim.save()
    with pytest.raises(sg.InputError, match="exactly one of a path or a slot"):
        sg.Simulation.load(tmp_path / "x", slot="x")


def test_checkpoint_info_describes_a_file(tmp_path: Path) -> None:
    cfg = full_config()
    sim = prepared(cfg)
    sim.run_steps(30)
    path = sim.save(tmp_path / "c.sgckpt")
    info = sg.checkpoint_info(path)
    assert info["step"] == 30
    assert info["num_nodes"] == sim.current_network.num_nodes
    assert info["num_edges"] == sim.current_network.num_edges
    assert info["spikes"] == sim.spikes.num_spikes
    assert info["format_version"] == 1
    assert info["engine_version"] == sg.__version__
    names = [s[0] for s in info["sections"]]
    assert "backend/v" in names and "graph/edge_target" in names
    assert sg.Config.from_toml_string(info["config"]) == cfg


@pytest.fixture(scope="module")
def saved_file(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, bytes]:
    cfg = full_config()
    sim = prepared(cfg)
    sim.run_steps(60)
    path = sim.save(tmp_path_factory.mktemp("ckpt") / "good.sgckpt")
    return path, path.read_bytes()


def damaged_variants(data: bytes) -> list[tuple[str, bytes, str]]:
    n = len(data)
    cuts = (0, 5, 31, 300, n // 2, n - 1)
    out = [(f"truncated at {cut}", data[:cut], "too short|truncated") for cut in cuts]
    for at in (8, 13, 20, 27, 40, 100, n // 3, n // 2, n - 9):
        b = bytearray(data)
        b[at] ^= 0x41
        out.append((f"byte {at} flipped", bytes(b), "corrupt|version|sections|size|bytes"))
    out.append(("wrong magic", b"NOTSNAP!" + data[8:], "not a spikegraph checkpoint"))
    version7 = data[:8] + (7).to_bytes(4, "little") + data[12:]
    out.append(("wrong version", version7, "format version 7 is not supported"))
    out.append(("trailing data", data + b"\0", "trailing data"))
    out.append(("wrong declared size", data[:16] + (n + 8).to_bytes(8, "little") + data[24:], "truncated"))
    return out


def test_every_damaged_variant_is_refused_and_leaves_the_simulation_untouched(
    saved_file: tuple[Path, bytes], tmp_path: Path
) -> None:
    path, data = saved_file
    sim = prepared(full_config())
    sim.run_steps(20)
    before = snapshot(sim)
    bad = tmp_path / "bad.sgckpt"
    for label, content, pattern in damaged_variants(data):
        bad.write_bytes(content)
        with pytest.raises(sg.IoError, match=pattern) as info:
            sim.restore(bad)
        assert str(bad) in str(info.value), label
        assert isinstance(info.value, OSError)
        with pytest.raises(sg.IoError):
            sg.Simulation.load(bad)
        with pytest.raises(sg.IoError):
            sg.checkpoint_info(bad)
    assert sim.step == 20
    assert_same(snapshot(sim), before)
    with pytest.raises(sg.IoError, match="cannot open"):
        sg.Simulation.load(tmp_path / "missing.sgckpt")
    assert sg.Simulation.load(path).step == 60  # the good file still loads


def test_a_failed_save_keeps_the_previous_file(saved_file: tuple[Path, bytes], tmp_path: Path) -> None:
    _, data = saved_file
    target = tmp_path / "keep.sgckpt"
    target.write_bytes(data)
    Path(str(target) + ".tmp").mkdir()  # the temporary file cannot be created
    sim = prepared(full_config())
    with pytest.raises(sg.IoError, match="cannot open"):
        sim.save(target)
    assert target.read_bytes() == data
