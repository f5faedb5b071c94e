"""Configuration: the one schema (C++) seen from Python (ARCHITECTURE.md convention 7)."""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import spikegraph as sg
from spikegraph.config import flatten

# Defaults stated in docs/model.md (parameter names are the configuration keys).
MODEL_DEFAULTS: dict[str, Any] = {
    "sim.dt": 1.0,
    "energy.cap": 5.0,
    "energy.spike_cost_min": 0.01,
    "edge.modulatory_gain": 0.5,
    "edge.gate_energy": 0.5,
    "node.relay.gain": 1.5,
    "node.oscillator.period": 100.0,
}
MODEL_NODE_DEFAULTS: dict[str, float] = {
    "v_rest": 0.0,
    "v_reset": 0.0,
    "threshold": 1.0,
    "tau_m": 10.0,
    "t_ref": 2.0,
    "resistance": 1.0,
    "energy_coupling": 0.5,
}


def keys_of_schema() -> list[str]:
    return [p["key"] for p in sg.schema()]


# ---------------------------------------------------------------- defaults


def test_defaults_match_model() -> None:
    cfg = sg.Config()
    for key, value in MODEL_DEFAULTS.items():
        assert cfg[key] == value, key
        assert type(cfg[key]) is type(value), key
    for node_type in sg.NODE_TYPES:
        for name, value in MODEL_NODE_DEFAULTS.items():
            key = f"node.{node_type}.{name}"
            assert cfg[key] == value, key
            assert isinstance(cfg[key], float), key


def test_other_defaults() -> None:
    cfg = sg.Config()
    assert cfg["sim.backend"] == "auto"
    assert cfg["sim.precision"] == "float32"
    assert cfg["sim.threads"] == 0
    assert cfg["sim.seed"] == 1 and isinstance(cfg["sim.seed"], int)
    assert cfg["record.spikes"] is True
    assert cfg["monitor.variables"] == [] and cfg["monitor.nodes"] == []
    assert cfg["energy.initial"] <= cfg["energy.cap"]
    assert cfg["run.spikes_file"] == ""


def test_config_holds_every_schema_key_with_its_default() -> None:
    cfg = sg.Config()
    keys = keys_of_schema()
    assert len(keys) == len(set(keys))
    assert sorted(cfg) == sorted(keys)
    assert len(cfg) == len(keys)
    for p in sg.schema():
        assert cfg[p["key"]] == p["default"], p["key"]


# ---------------------------------------------------------------- building and updating


def test_nested_flat_and_keyword_forms_agree() -> None:
    nested = sg.Config({"sim": {"dt": 0.1, "seed": 7}, "node": {"dynamic": {"tau_m": 20.0}}})
    flat = sg.Config({"sim.dt": 0.1, "sim.seed": 7, "node.dynamic.tau_m": 20.0})
    keywords = sg.Config(sim={"dt": 0.1, "seed": 7}, node={"dynamic": {"tau_m": 20.0}})
    mixed = sg.Config({"sim": {"dt": 0.1}, "node": {"dynamic.tau_m": 20.0}}, sim={"seed": 7})
    assert nested == flat == keywords == mixed
    assert nested["sim.dt"] == 0.1 and nested["sim.seed"] == 7 and nested["node.dynamic.tau_m"] == 20.0
    assert nested != sg.Config()


def test_update_nested_and_flat() -> None:
    cfg = sg.Config()
    cfg.update({"sim": {"dt": 0.5}})
    cfg.update({"node.relay.gain": 2.0}, energy={"cap": 7.0})
    assert cfg["sim.dt"] == 0.5 and cfg["node.relay.gain"] == 2.0 and cfg["energy.cap"] == 7.0
    cfg.update()
    assert cfg["sim.dt"] == 0.5


def test_integer_accepted_where_float_expected() -> None:
    cfg = sg.Config({"sim.dt": 1, "node.dynamic.tau_m": 20})
    assert cfg["sim.dt"] == 1.0 and isinstance(cfg["sim.dt"], float)
    assert isinstance(cfg["node.dynamic.tau_m"], float)


def test_numpy_scalars_and_arrays_accepted() -> None:
    cfg = sg.Config(
        {
            "sim.dt": np.float32(0.25),
            "node.dynamic.tau_m": np.float64(12.5),
            "sim.seed": np.int64(123),
            "sim.threads": np.uint8(2),
            "record.spikes": np.bool_(False),
            "monitor.nodes": np.array([4, 1], dtype=np.int32),
            "monitor.variables": np.array(["v", "energy"]),
            "sim.backend": np.str_("cpu"),
        }
    )
    assert cfg["sim.dt"] == 0.25 and isinstance(cfg["sim.dt"], float)
    assert cfg["node.dynamic.tau_m"] == 12.5
    assert cfg["sim.seed"] == 123 and isinstance(cfg["sim.seed"], int)
    assert cfg["sim.threads"] == 2
    assert cfg["record.spikes"] is False
    assert cfg["monitor.nodes"] == [4, 1]
    assert cfg["monitor.variables"] == ["v", "energy"]
    assert cfg["sim.backend"] == "cpu"


def test_unknown_key_suggests_the_nearest() -> None:
    with pytest.raises(sg.ConfigError, match=r"unknown key 'sim\.dtt' \(did you mean 'sim\.dt'\?\)") as info:
        sg.Config({"sim.dtt": 0.1})
    assert isinstance(info.value, ValueError)
    assert isinstance(info.value, sg.SpikegraphError)
    with pytest.raises(ValueError, match=r"did you mean 'node\.dynamic\.tau_m'"):
        sg.Config({"node": {"dynamic": {"tau_n": 3.0}}})
    # A whole section given as a value is an unknown key, too.
    with pytest.raises(sg.ConfigError, match="unknown key 'sim'"):
        sg.Config({"sim": 5})


def test_unknown_key_far_from_every_key_has_no_suggestion() -> None:
    with pytest.raises(sg.ConfigError) as info:
        sg.Config({"completely.unrelated_thing": 1})
    assert "unknown key 'completely.unrelated_thing'" in str(info.value)
    assert "did you mean" not in str(info.value)


@pytest.mark.parametrize(
    ("key", "value", "fragment"),
    [
        ("sim.dt", "fast", 'sim.dt: expected float, got string "fast"'),
        ("sim.seed", 1.5, "sim.seed: expected integer, got float"),
        ("sim.seed", True, "sim.seed: expected integer, got boolean"),
        ("record.spikes", 1, "record.spikes: expected boolean, got integer"),
        ("sim.backend", 3, "sim.backend: expected string"),
        ("monitor.nodes", 3, "monitor.nodes: expected array of integer"),
        ("monitor.nodes", [1, 2.5], "monitor.nodes[1]: expected integer, got float"),
        ("monitor.variables", "v", "monitor.variables: expected array of string"),
        ("sim.dt", None, "unsupported Python type 'NoneType'"),
        ("sim.dt", {1, 2}, "unsupported Python type 'set'"),
    ],
)
def test_wrong_type(key: str, value: Any, fragment: str) -> None:
    with pytest.raises(sg.ConfigError) as info:
        sg.Config({key: value})
    assert fragment in str(info.value)


@pytest.mark.parametrize(
    ("key", "value", "fragment"),
    [
        ("sim.dt", 0.0, "sim.dt = 0 is out of range (0, 1000]"),
        ("sim.dt", -1, "sim.dt = -1 is out of range (0, 1000]"),
        ("sim.dt", 1001.0, "sim.dt = 1001 is out of range (0, 1000]"),
        ("sim.threads", -1, "sim.threads = -1 is out of range [0, 4096]"),
        ("node.dynamic.energy_coupling", 1.5, "node.dynamic.energy_coupling = 1.5 is out of range [0, 1]"),
        ("node.dynamic.tau_m", 0.0, "node.dynamic.tau_m = 0 is out of range (0, inf]"),
        ("energy.cap", -2.0, "energy.cap = -2 is out of range (0, inf]"),
        ("network.n", 0, "network.n = 0 is out of range [1,"),
        ("monitor.nodes", [0, -1], "monitor.nodes[1] = -1 is out of range [0,"),
        ("sim.dt", math.nan, "sim.dt is NaN"),
        ("sim.dt", math.inf, "sim.dt is infinite"),
        ("sim.seed", 2**70, "does not fit a 64-bit integer"),
    ],
)
def test_out_of_range(key: str, value: Any, fragment: str) -> None:
    with pytest.raises(sg.ConfigError) as info:
        sg.Config({key: value})
    assert fragment in str(info.value)


@pytest.mark.parametrize(
    ("key", "value", "fragment"),
    [
        ("sim.backend", "gpu", "sim.backend = 'gpu' is not one of 'auto', 'cpu', 'cuda'"),
        ("sim.precision", "float16", "sim.precision = 'float16' is not one of 'float32', 'float64'"),
        ("network.kind", "small_world", "network.kind = 'small_world' is not one of 'brunel'"),
        ("monitor.variables", ["v", "voltage"], "monitor.variables[1] = 'voltage' is not one of"),
    ],
)
def test_bad_choice(key: str, value: Any, fragment: str) -> None:
    with pytest.raises(sg.ConfigError) as info:
        sg.Config({key: value})
    assert fragment in str(info.value)


@pytest.mark.parametrize(
    ("changes", "fragment"),
    [
        ({"node.dynamic.v_reset": 1.0}, "node.dynamic.v_reset = 1 must be below node.dynamic.threshold = 1"),
        ({"node.relay.threshold": -1.0}, "node.relay.v_reset = 0 must be below node.relay.threshold = -1"),
        ({"energy.initial": 6.0}, "energy.initial = 6 exceeds energy.cap = 5"),
        ({"energy.cap": 1.0}, "energy.initial = 2.5 exceeds energy.cap = 1"),
        ({"init.v_min": 1.0}, "init.v_min = 1 exceeds init.v_max = 0"),
        (
            {"sim.dt": 0.01, "node.integrator.t_ref": 700.0},
            "node.integrator.t_ref exceeds 65535 steps of sim.dt",
        ),
        ({"sim.dt": 0.001, "network.delay": 70.0}, "network.delay exceeds 65535 steps of sim.dt"),
    ],
)
def test_cross_key_checks(changes: dict[str, Any], fragment: str) -> None:
    with pytest.raises(sg.ConfigError) as info:
        sg.Config(changes)
    assert fragment in str(info.value)


def test_cross_key_checks_see_the_whole_update() -> None:
    # Each change alone breaks v_reset < threshold from the defaults (0 < 1); together they are valid.
    cfg = sg.Config()
    cfg.update({"node.dynamic.v_reset": 10.0, "node.dynamic.threshold": 20.0})
    assert cfg["node.dynamic.v_reset"] == 10.0 and cfg["node.dynamic.threshold"] == 20.0
    cfg.update({"energy.cap": 2.0, "energy.initial": 1.5})
    assert cfg["energy.cap"] == 2.0


def test_failing_update_changes_nothing() -> None:
    cfg = sg.Config({"sim.dt": 0.1, "sim.seed": 3})
    before = cfg.to_dict()
    bad = {"sim.seed": 9, "node.dynamic.tau_m": 30.0, "monitor.nodes": [1, 2], "sim.dt": -1.0}
    with pytest.raises(sg.ConfigError):
        cfg.update(bad)
    assert cfg.to_dict() == before
    # Every change valid on its own, but the result breaks a cross-key rule.
    with pytest.raises(sg.ConfigError, match="must be below"):
        cfg.update({"sim.seed": 9, "node.dynamic.v_reset": 5.0})
    assert cfg.to_dict() == before
    # A conversion error on the Python side (before C++ sees anything) changes nothing either.
    with pytest.raises(sg.ConfigError):
        cfg.update({"sim.seed": 10, "sim.dt": object()})
    assert cfg.to_dict() == before


def test_error_lists_every_problem() -> None:
    with pytest.raises(sg.ConfigError) as info:
        sg.Config({"sim.dtt": 1.0, "sim.seed": "x", "sim.dt": -1})
    msg = str(info.value)
    assert msg.startswith("configure")
    for fragment in ("unknown key 'sim.dtt'", "sim.seed: expected integer", "sim.dt = -1 is out of range"):
        assert fragment in msg


def test_non_mapping_and_non_string_keys_are_config_errors() -> None:
    with pytest.raises(sg.ConfigError, match="expected a mapping"):
        sg.Config([("sim.dt", 0.1)])  # type: ignore[arg-type]
    with pytest.raises(sg.ConfigError, match="keys must be strings"):
        sg.Config({"sim": {1: 2}})
    with pytest.raises(sg.ConfigError, match="expected a Config, a dict or a TOML path"):
        sg.Config.coerce(42)  # type: ignore[arg-type]


# ---------------------------------------------------------------- access helpers


def test_mapping_protocol_copy_and_equality() -> None:
    cfg = sg.Config({"sim.dt": 0.2})
    assert "sim.dt" in cfg and "sim.nope" not in cfg and 3 not in cfg
    assert cfg.get("sim.dt") == 0.2
    assert cfg.get("sim.nope") is None and cfg.get("sim.nope", 5) == 5
    with pytest.raises(sg.ConfigError, match=r"unknown key 'sim\.nope'"):
        cfg["sim.nope"]
    other = cfg.copy()
    assert other == cfg and other is not cfg
    other.update({"sim.dt": 0.3})
    assert cfg["sim.dt"] == 0.2 and other != cfg
    assert cfg != {"sim.dt": 0.2}
    with pytest.raises(TypeError):
        hash(cfg)
    assert repr(cfg) == "Config({'sim.dt': 0.2})"
    assert repr(sg.Config()) == "Config({})"


def test_coerce() -> None:
    cfg = sg.Config({"sim.seed": 4})
    copy = sg.Config.coerce(cfg)
    assert copy == cfg and copy is not cfg
    assert sg.Config.coerce(None) == sg.Config()
    assert sg.Config.coerce({"sim": {"seed": 4}}) == cfg


@pytest.mark.parametrize(
    ("key", "dt", "min_steps", "expected"),
    [
        ("node.dynamic.t_ref", 0.1, 0, 20),
        ("node.dynamic.t_ref", 0.3, 0, 7),  # 6.67 rounds to 7
        ("node.dynamic.t_ref", 0.8, 0, 3),  # 2.5 rounds half away from zero
        ("run.duration", 1.0, 0, 1000),
        ("monitor.interval", 4.0, 1, 1),  # 0.25 -> 0, raised to the minimum
    ],
)
def test_steps(key: str, dt: float, min_steps: int, expected: int) -> None:
    cfg = sg.Config({"sim.dt": dt})
    assert cfg.steps(key, min_steps) == expected


# ---------------------------------------------------------------- TOML


def test_from_toml_file(tmp_path: Path) -> None:
    path = tmp_path / "run.toml"
    path.write_text(
        "# a comment\n"
        "[sim]\n"
        "dt = 0.1\n"
        "seed = 0x2A\n"
        'backend = "cpu"\n'
        "\n"
        "[node.dynamic]\n"
        "tau_m = 20   # ms\n"
        "threshold = 2_0.0\n"
        "\n"
        "[monitor]\n"
        "variables = [\n  'v',\n  \"energy\",  # trailing comma\n]\n"
        "nodes = [1, 2, 3]\n",
        encoding="utf-8",
    )
    for source in (path, str(path)):
        cfg = sg.Config.from_toml(source)
        assert cfg["sim.dt"] == 0.1
        assert cfg["sim.seed"] == 42
        assert cfg["sim.backend"] == "cpu"
        assert cfg["node.dynamic.tau_m"] == 20.0 and isinstance(cfg["node.dynamic.tau_m"], float)
        assert cfg["node.dynamic.threshold"] == 20.0
        assert cfg["monitor.variables"] == ["v", "energy"]
        assert cfg["monitor.nodes"] == [1, 2, 3]
        assert cfg["sim.precision"] == "float32"  # untouched keys keep their defaults
    assert sg.Config.coerce(path) == sg.Config.from_toml(path)


def test_from_toml_file_with_byte_order_mark(tmp_path: Path) -> None:
    path = tmp_path / "bom.toml"
    path.write_bytes(b"\xef\xbb\xbf[sim]\ndt = 0.5\n")
    assert sg.Config.from_toml(path)["sim.dt"] == 0.5


def test_toml_file_with_unknown_key_names_file_and_key(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("[sim]\ndt = 0.1\ntreads = 2\n", encoding="utf-8")
    with pytest.raises(sg.ConfigError) as info:
        sg.Config.from_toml(path)
    msg = str(info.value)
    assert str(path) in msg
    assert "unknown key 'sim.treads' (did you mean 'sim.threads'?)" in msg


def test_toml_value_out_of_range_in_file(tmp_path: Path) -> None:
    path = tmp_path / "range.toml"
    path.write_text("[node.dynamic]\nenergy_coupling = 2.0\n", encoding="utf-8")
    with pytest.raises(sg.ConfigError, match=r"node\.dynamic\.energy_coupling = 2 is out of range \[0, 1\]"):
        sg.Config.from_toml(path)


@pytest.mark.parametrize(
    ("text", "line", "column", "fragment"),
    [
        ("[sim]\ndt = = 1\n", 2, 6, "expected a value"),
        ("[sim]\ndt = 0.1\nseed = 1 2\n", 3, 10, "unexpected '2' after value"),
        ("[sim\n", 1, 5, "expected ']'"),
        ('x = "\u00e9" 1', 1, 9, "unexpected '1'"),  # columns count characters, not bytes
        ("a = 1\na = 2\n", 2, 1, "duplicate key 'a'"),
        ("[sim]\ndt = {x = 1}\n", 2, 6, "inline tables are not supported"),
        ("[sim]\nbackend = cpu\n", 2, 11, "strings must be quoted"),
        ('[run]\nspikes_file = "abc\n', 2, 15, "unterminated string"),
        ("[[sim]]\n", 1, 1, "arrays of tables"),
    ],
)
def test_malformed_toml_reports_line_and_column(
    tmp_path: Path, text: str, line: int, column: int, fragment: str
) -> None:
    path = tmp_path / "malformed.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(sg.ConfigError) as info:
        sg.Config.from_toml(path)
    assert str(info.value).startswith(f"{path}:{line}:{column}: ")
    assert fragment in str(info.value)
    with pytest.raises(sg.ConfigError) as info:
        sg.Config.from_toml_string(text, "inline")
    assert str(info.value).startswith(f"inline:{line}:{column}: ")


def test_missing_file_is_io_error(tmp_path: Path) -> None:
    path = tmp_path / "does-not-exist.toml"
    with pytest.raises(sg.IoError) as info:
        sg.Config.from_toml(path)
    assert isinstance(info.value, OSError)
    assert isinstance(info.value, sg.SpikegraphError)
    assert not isinstance(info.value, ValueError)
    assert str(path) in str(info.value) and "cannot open" in str(info.value)
    with pytest.raises(OSError, match="cannot read"):
        sg.Config.from_toml(tmp_path)  # a directory


def test_to_toml_round_trip(tmp_path: Path) -> None:
    cfg = sg.Config(
        {
            "sim": {"dt": 0.1, "seed": 2**40 + 3, "backend": "cpu", "precision": "float64"},
            "node": {"relay": {"gain": 2.25, "tau_m": 1e-7}, "dynamic": {"v_rest": -65.0, "threshold": 1e30}},
            "monitor": {"variables": ["v", "last_spike"], "nodes": [5, 0, 7], "interval": 1 / 3},
            "record": {"spikes": False},
            "run": {"spikes_file": 'odd "name"\\with\ttab.bin'},
            "energy": {"initial": 0.3},
        }
    )
    text = cfg.to_toml()
    assert "[sim]" in text and "[node.relay]" in text
    back = sg.Config.from_toml_string(text)
    assert back == cfg
    assert back["monitor.interval"] == 1 / 3  # shortest repr that reads back exactly
    assert back["run.spikes_file"] == 'odd "name"\\with\ttab.bin'
    path = tmp_path / "written.toml"
    cfg.write_toml(path)
    assert sg.Config.from_toml(path) == cfg
    assert sg.Config.from_toml_string(sg.Config().to_toml()) == sg.Config()


def test_to_dict_flat_and_nested() -> None:
    cfg = sg.Config({"sim.dt": 0.1, "node.dynamic.tau_m": 20.0})
    flat = cfg.to_dict()
    assert flat["sim.dt"] == 0.1 and all(isinstance(k, str) and "." in k for k in flat)
    nested = cfg.to_dict(nested=True)
    assert nested["sim"]["dt"] == 0.1
    assert nested["node"]["dynamic"]["tau_m"] == 20.0
    assert nested["node"]["relay"]["gain"] == 1.5
    assert set(nested["node"]) == set(sg.NODE_TYPES)
    assert flatten(nested) == flat
    assert sg.Config(nested) == cfg
    # The result is a copy: changing it does not change the configuration.
    nested["sim"]["dt"] = 5.0
    flat["sim.dt"] = 5.0
    assert cfg["sim.dt"] == 0.1


def test_schema_lists_every_key_with_docs() -> None:
    entries = sg.schema()
    assert len(entries) == len(sg.Config())
    by_key = {e["key"]: e for e in entries}
    for e in entries:
        assert re.fullmatch(r"[a-z_]+(\.[a-z_]+)+", e["key"]), e["key"]
        assert isinstance(e["doc"], str) and len(e["doc"]) > 5, e["key"]
        assert e["type"] in {"boolean", "integer", "float", "string", "array"}, e["key"]
        assert "unit" in e and "default" in e
        if e["type"] in {"integer", "float"}:
            assert e["min"] <= e["max"]
            if not isinstance(e["default"], bool):
                assert e["min"] <= e["default"] <= e["max"], e["key"]
    assert by_key["sim.dt"]["type"] == "float" and by_key["sim.dt"]["unit"] == "ms"
    assert by_key["sim.dt"]["min_exclusive"] is True and by_key["sim.dt"]["min"] == 0.0
    assert by_key["sim.backend"]["choices"] == ["auto", "cpu", "cuda"]
    assert by_key["sim.seed"]["type"] == "integer"
    assert by_key["record.spikes"]["type"] == "boolean"
    assert by_key["monitor.nodes"]["type"] == "array"
    assert set(by_key["monitor.variables"]["choices"]) >= {"v", "energy", "refractory"}
    for node_type in sg.NODE_TYPES:
        for name in MODEL_NODE_DEFAULTS:
            assert f"node.{node_type}.{name}" in by_key


def test_default_run_config() -> None:
    cfg = sg.default_run_config()
    expected = {
        "network.kind": "default",
        "graph.weight_scale": 0.3,
        "record.horizon": 60000.0,
        "sensory.source": "grating",
        "energy.enabled": True,
        "learning.enabled": True,
        "learning.a_plus": 0.005,
        "learning.a_minus": 0.006,
        "learning.w_max": 1.0,
        "energy.initial": 1.5,
        "homeostasis.enabled": True,
        "homeostasis.eta": 0.002,
        "homeostasis.gain_step": 0.002,
        "homeostasis.branching_tolerance": 0.02,
        "homeostasis.gain_min": 0.5,
        "homeostasis.gain_max": 3.0,
        "node.dynamic.threshold": 1.5,
        "node.relay.threshold": 0.5,
        "node.highway.threshold": 0.5,
        "node.workspace.threshold": 1.5,
        "node.workspace.target_rate": 20.0,
        "structure.enabled": False,
        "structure.spare_nodes": 400,
        "structure.birth_energy": 2.35,
        "structure.death_energy": 0.45,
        "structure.child_weight": 0.15,
        "structure.child_energy_frac": 0.3,
        "run.duration": 1000.0,
    }
    for key, value in expected.items():
        assert cfg[key] == value, key
    defaults = sg.Config()
    for key in cfg:
        if key not in expected:
            assert cfg[key] == defaults[key], key
    assert sg.default_run_config() == cfg  # a fresh object each time
    assert sg.default_run_config() is not cfg
