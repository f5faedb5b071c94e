"""The ``spikegraph`` command line.

``spikegraph run [CONFIG.toml]`` runs a network (the built-in default run when no file
is given) and prints a summary; ``spikegraph info`` prints build information;
``spikegraph config [CONFIG.toml]`` prints the full configuration; ``spikegraph schema``
lists every configuration key.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

from . import _core
from .config import Config, default_run_config
from .errors import ConfigError, SpikegraphError
from .io import save_spikes_npz
from .networks import from_config
from .simulation import Simulation


def _parse_set(item: str) -> dict[str, Any]:
    """``KEY=VALUE`` with a TOML value; a bare word is taken as a string."""
    key, sep, value = item.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"--set expects KEY=VALUE, got '{item}'")
    try:
        return dict(_core.parse_toml(f"{key.strip()} = {value.strip()}", f"--set {item}"))
    except ConfigError:
        if value.strip() and '"' not in value:
            return dict(_core.parse_toml(f'{key.strip()} = "{value.strip()}"', f"--set {item}"))
        raise


def _load_config(args: argparse.Namespace) -> Config:
    cfg = Config.from_toml(args.config) if args.config else default_run_config()
    changes: dict[str, Any] = {}
    for item in args.set or []:
        changes.update(_parse_set(item))
    if getattr(args, "duration", None) is not None:
        changes["run.duration"] = args.duration
    if getattr(args, "threads", None) is not None:
        changes["sim.threads"] = args.threads
    if getattr(args, "seed", None) is not None:
        changes["sim.seed"] = args.seed
    if changes:
        cfg.update(changes)
    return cfg


def _cmd_run(args: argparse.Namespace) -> int:
    cfg = _load_config(args)
    network = from_config(cfg)
    sim = Simulation(network, cfg)
    sim.run(cfg["run.duration"], progress=args.progress)
    print(sim.summary_text(), end="")
    out = args.spikes or cfg["run.spikes_file"]
    if out:
        spikes = sim.spikes
        if str(out).endswith(".npz"):
            save_spikes_npz(out, spikes.steps, spikes.nodes, sim.dt, network.num_nodes)
        else:
            sim.write_spike_file(out)
        print(f"spikes file   {out}")
    return 0


def _cmd_info(_: argparse.Namespace) -> int:
    for key, value in _core.build_info().items():
        print(f"{key}: {value}")
    return 0


def _cmd_config(args: argparse.Namespace) -> int:
    print(_load_config(args).to_toml(), end="")
    return 0


def _cmd_schema(_: argparse.Namespace) -> int:
    print(_core.schema_markdown(), end="")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="spikegraph", description="spikegraph: energy-based spiking graphs")
    sub = parser.add_subparsers(dest="command", required=True)

    def add_config_args(p: argparse.ArgumentParser) -> None:
        p.add_argument("config", nargs="?", help="TOML configuration (default: the built-in default run)")
        p.add_argument("--set", action="append", metavar="KEY=VALUE", help="override a key (repeatable)")

    run = sub.add_parser("run", help="run a network and print a summary")
    add_config_args(run)
    run.add_argument("--duration", type=float, metavar="MS", help="model time to simulate (run.duration)")
    run.add_argument("--threads", type=int, metavar="N", help="CPU threads, 0 = all (sim.threads)")
    run.add_argument("--seed", type=int, metavar="N", help="random seed (sim.seed)")
    run.add_argument("--spikes", metavar="FILE", help="write spikes: .npz, else spikegraph's binary format")
    run.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                     help="progress bar on stderr (default: on a terminal for long runs)")
    run.set_defaults(func=_cmd_run)

    info = sub.add_parser("info", help="build information and backends")
    info.set_defaults(func=_cmd_info)

    config = sub.add_parser("config", help="print the full configuration as TOML")
    add_config_args(config)
    config.set_defaults(func=_cmd_config)

    schema = sub.add_parser("schema", help="print every configuration key (Markdown)")
    schema.set_defaults(func=_cmd_schema)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except ConfigError as e:
        print(f"spikegraph: error: {e}", file=sys.stderr)
        return 2
    except (SpikegraphError, OSError) as e:
        print(f"spikegraph: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("spikegraph: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
