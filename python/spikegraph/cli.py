"""The ``spikegraph`` command line.

``spikegraph run [CONFIG.toml]`` runs a network (the built-in default run when no file
is given) and prints a summary; with ``--input FILE`` an image, images or a video drive
the sensory grid (a .wav file the audio sensory nodes), ``--out DIR`` writes the results
(see :func:`spikegraph.io.save_run`), a checkpoint and their plots, ``--save FILE`` a
checkpoint; ``spikegraph resume CHECKPOINT`` continues a run; ``spikegraph plot RUN_DIR``
draws the plots of such a directory; ``spikegraph info [FILE]`` prints build information
or describes a checkpoint, spike file or SONATA file; ``spikegraph config [CONFIG.toml]`` prints
the full configuration; ``spikegraph schema`` lists every configuration key.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
import time
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from . import _core
from .audio import read_wav
from .checkpoint import checkpoint_info
from .config import Config, default_run_config
from .errors import ConfigError, InputError, IoError, SpikegraphError
from .io import read_record_stream, save_run, save_spikes_npz
from .networks import from_config
from .simulation import Simulation
from .sources import AUDIO_SUFFIXES, VIDEO_SUFFIXES, ImageFiles, VideoFile

#: Audio sensory nodes a run with a .wav input gets when the configuration has none.
DEFAULT_AUDIO_BANDS = 32


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


def _is_audio(spec: str | None) -> bool:
    return spec is not None and Path(spec).suffix.lower() in AUDIO_SUFFIXES


def _attach_input(sim: Simulation, spec: str, args: argparse.Namespace) -> Any:
    """Attach ``--input``: an image, a glob of images or a video (returns the source),
    or feed a WAV file to the audio sensory nodes (returns None)."""
    suffix = Path(spec).suffix.lower()
    if suffix in AUDIO_SUFFIXES:
        if suffix != ".wav":
            raise InputError(f"--input '{spec}': {suffix} files are not read; convert to a PCM .wav file")
        queued = sim.feed_audio(read_wav(spec))
        print(f"input         {spec} ({queued} steps of audio)")
        return None
    is_video = suffix in VIDEO_SUFFIXES
    source: Any = VideoFile(spec) if is_video else ImageFiles(spec)
    on_end = args.input_end or ("stop" if is_video else "loop")
    try:
        sim.attach_source(source, every_ms=args.frame_ms, on_end=on_end)
    except BaseException:
        source.close()
        raise
    return source


def _cmd_run(args: argparse.Namespace) -> int:
    cfg = _load_config(args)
    if _is_audio(args.input) and cfg["sensory.audio_bands"] == 0:
        cfg.update({"sensory": {"audio_bands": DEFAULT_AUDIO_BANDS}})  # the network needs ears
    sim = Simulation(from_config(cfg), cfg)
    if args.live:
        return _serve_live(sim, args)
    return _run_and_report(sim, args, cfg["run.duration"])


def _serve_live(sim: Simulation, args: argparse.Namespace) -> int:
    """Run in the browser's live view until Ctrl-C (docs/live.md)."""
    source = None
    if args.screen:
        from .sources import ScreenSource

        sim.update_config({"sensory.source": "none"})
        source = ScreenSource()
        sim.attach_source(source, on_end="loop")
    elif args.input:
        args.input_end = args.input_end or "loop"  # a live run has no end for a video to mark
        source = _attach_input(sim, args.input, args)
    elif args.grating:
        sim.update_config({"sensory.source": "grating"})
    view = sim.serve(host=args.host, port=args.port, out_dir=args.out or ".")
    print(_network_line(sim.config))
    print(f"live view     {view.url}")
    print("              open it in a browser; Ctrl-C stops the simulation and the server", flush=True)
    try:
        view.wait()
    finally:
        if source is not None:
            source.close()
    print(sim.summary_text(), end="")
    return 0


def _cmd_resume(args: argparse.Namespace) -> int:
    sim = Simulation.load(args.checkpoint)
    print(f"resumed       {args.checkpoint} at step {sim.step} ({sim.time_ms:g} ms)")
    duration = args.duration if args.duration is not None else sim.config["run.duration"]
    return _run_and_report(sim, args, duration)


def _run_and_report(sim: Simulation, args: argparse.Namespace, duration_ms: float) -> int:
    """Run, print the summary, write what the options ask for (shared by run and resume)."""
    source = _attach_input(sim, args.input, args) if args.input else None
    weights_before = sim.weights if args.out else None
    started = time.perf_counter()
    try:
        sim.run(duration_ms, progress=args.progress)
    finally:
        if source is not None:
            source.close()
    wall = time.perf_counter() - started
    print(_network_line(sim.config))
    print(sim.summary_text(), end="")
    if source is not None:
        print(f"input         {args.input} ({sim.frames_applied()} frames)")
    out = args.spikes or sim.config["run.spikes_file"]
    if out:
        spikes = sim.spikes
        if str(out).endswith(".npz"):
            save_spikes_npz(out, spikes.steps, spikes.nodes, sim.dt, sim.current_network.num_nodes)
        else:
            sim.write_spike_file(out)
        print(f"spikes file   {out}")
    if args.save:
        print(f"checkpoint    {sim.save(args.save)} (step {sim.step})")
    if args.out:
        extra = {"run": {"wall_seconds": wall, "input": args.input or "", "duration_ms": duration_ms}}
        written = save_run(sim, args.out, weights_before=weights_before, extra_metrics=extra)
        checkpoint = sim.save(Path(args.out) / "checkpoint.sgckpt")
        print(f"output dir    {args.out} ({len(written) + 1} files, checkpoint {checkpoint.name})")
        if importlib.util.find_spec("h5py") is None:
            print("SONATA files  skipped (h5py is not installed: pip install h5py)")
        if importlib.util.find_spec("matplotlib") is not None:
            from .plot import plot_run

            plots = plot_run(args.out)
            print(f"plots         {len(plots)} PNG files in {args.out}")
        else:
            print("plots         skipped (matplotlib is not installed: pip install matplotlib)")
    else:
        print("next          spikegraph run --out DIR (results and plots), spikegraph plot DIR, "
              "--input FILE (an image, video or .wav), spikegraph schema (every setting)")
    return 0


def _network_line(cfg: Config) -> str:
    """What ran: the network and which of the model's optional parts were on."""
    if cfg["network.kind"] == "default":
        side, ws = int(cfg["graph.sensory_side"]), int(cfg["graph.workspace_side"])
        network = f"default network ({side} x {side} sensory grid, {ws} x {ws} workspace)"
    else:
        n, k = int(cfg["network.n"]), int(cfg["network.k_in"])
        network = f"{cfg['network.kind']} network ({n} nodes, in-degree {k})"
    parts = [name for name in ("energy", "learning", "homeostasis", "structure") if cfg[f"{name}.enabled"]]
    models = sorted({str(v) for k, v in cfg.to_dict().items() if k.endswith(".model") and v != "lif"})
    extras = ", ".join(parts + [f"{m} neurons" for m in models]) or "plain LIF dynamics"
    return f"network       {network}; {extras}"


def _cmd_plot(args: argparse.Namespace) -> int:
    from .plot import plot_run

    written = plot_run(args.run_dir, args.to)
    for path in written.values():
        print(os.fspath(path))
    return 0


def _cmd_info(args: argparse.Namespace) -> int:
    if args.file is None:
        for key, value in _core.build_info().items():
            print(f"{key}: {value}")
        return 0
    path = Path(args.file)
    if path.is_dir() and any(path.glob("*.sgrec")):
        stream = read_record_stream(path)
        s = stream["spikes"]
        print(f"record stream {path}: steps {s['first_step']}..{s['end_step']} in "
              f"{len(list(path.glob('spikes-*.sgrec')))} spike chunks ({s['steps'].size} spikes), "
              f"{stream['ledger'].get('step', np.zeros(0)).size} ledgers, "
              f"{stream['monitor']['steps'].size} monitor samples")
        for name, r in stream["recorders"].items():
            print(f"  recorder {name}: {r['kind']} of {r['nodes'].size} nodes, steps "
                  f"{r['start_step']}..{r['end_step']}, {r['steps'].size} entries")
        return 0
    if not path.is_file():
        raise IoError(f"info: '{path}': no such file")
    with path.open("rb") as f:
        magic = f.read(8)
    if magic == b"SGSNAP\r\n" and path.suffix == ".sgrec":
        chunk = _core.read_snapshot(os.fspath(path))
        kind = bytes(chunk["chunk/kind"]).decode("utf-8")
        print(f"record chunk  {path}: {kind}, steps {int(chunk['chunk/first_step'][0])}.."
              f"{int(chunk['chunk/end_step'][0])} of {int(chunk['chunk/num_nodes'][0])} nodes "
              f"(checksums ok)")
    elif magic == b"SGSNAP\r\n":
        info = checkpoint_info(path)
        print(f"checkpoint    {path} (format {info['format_version']}, written by spikegraph "
              f"{info['engine_version']})")
        print(f"step          {info['step']}")
        print(f"nodes         {info['num_nodes']}")
        print(f"edges         {info['num_edges']}")
        print(f"spikes        {info['spikes']} recorded")
        print(f"sections      {len(info['sections'])} ({info['data_bytes']} bytes of data, checksums ok)")
        if args.verbose:
            for name, dtype, count in info["sections"]:
                print(f"  {name:36s} {dtype:8s} {count}")
            print(info["config"], end="")
    elif magic == b"SGSPIKE1":
        spikes = _core.read_spike_file(os.fspath(path))
        steps = spikes["steps"]
        span = f", steps {int(steps[0])}..{int(steps[-1])}" if steps.size else ""
        print(f"spike file    {path}: {steps.size} spikes of {spikes['num_nodes']} nodes, "
              f"dt {spikes['dt_ms']} ms{span}")
    elif magic.startswith(b"\x89HDF"):
        for line in _describe_h5(path):
            print(line)
    elif magic.startswith(b"PK\x03\x04"):
        for line in _describe_npz(path):
            print(line)
    elif magic.startswith(b"\x89PNG"):
        with path.open("rb") as f:
            header = f.read(24)
        width, height = int.from_bytes(header[16:20], "big"), int.from_bytes(header[20:24], "big")
        print(f"PNG image     {path}: {width} x {height} pixels")
    elif path.suffix == ".json":
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            raise IoError(f"info: '{path}': not valid JSON ({e})") from None
        keys = ", ".join(data) if isinstance(data, dict) else f"a {type(data).__name__}"
        print(f"JSON file     {path}: {keys}")
    elif path.suffix == ".csv":  # SONATA node and edge type tables (space separated)
        rows = path.read_text(encoding="utf-8").splitlines()
        columns = rows[0].split() if rows else []
        print(f"type table    {path}: {max(0, len(rows) - 1)} rows; columns {', '.join(columns)}")
    elif path.suffix == ".toml":
        cfg = Config.from_toml(path)
        print(f"configuration {path}: {len(cfg.to_dict())} keys (valid)")
    else:
        raise IoError(f"info: '{path}' is not a file spikegraph writes (checkpoint, spike file, record chunk "
                      "or stream directory, SONATA/HDF5 or type table, .npz, .json, .toml configuration "
                      "or PNG plot)")
    return 0


def _describe_npz(path: Path) -> list[str]:
    """The arrays of a .npz file (spikes, monitors, ledger, state of a run directory)."""
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {name: data[name] for name in data.files}
    except (OSError, ValueError, zipfile.BadZipFile) as e:
        raise IoError(f"info: '{path}': not a readable .npz file ({e})") from None
    if {"steps", "nodes", "dt_ms"} <= arrays.keys():
        steps = arrays["steps"]
        span = f", steps {int(steps[0])}..{int(steps[-1])}" if steps.size else ""
        nodes = f" of {int(arrays['num_nodes'])} nodes" if "num_nodes" in arrays else ""
        return [f"spikes (npz)  {path}: {steps.size} spikes{nodes}, dt {float(arrays['dt_ms'])} ms{span}"]
    lines = [f"npz file      {path}: {len(arrays)} arrays"]
    lines += [f"  {name:30s} {a.dtype} {a.shape}" for name, a in arrays.items()]
    return lines


def _describe_h5(path: Path) -> list[str]:
    """SONATA populations (nodes, edges, spikes) of an HDF5 file and their sizes."""
    try:
        import h5py
    except ImportError as e:
        raise ImportError("info: reading HDF5 files needs h5py (pip install h5py)") from e
    lines = [f"HDF5 file     {path}"]
    with h5py.File(path, "r") as f:
        columns = (("nodes", "node_type_id"), ("edges", "source_node_id"), ("spikes", "node_ids"))
        for kind, count_of in columns:
            if kind not in f:
                continue
            for name, pop in f[kind].items():
                size = pop[count_of].shape[0] if count_of in pop else 0
                lines.append(f"{kind:13s} population '{name}': {size}")
    if len(lines) == 1:
        lines.append("no SONATA nodes, edges or spikes groups")
    return lines


def _cmd_config(args: argparse.Namespace) -> int:
    print(_load_config(args).to_toml(), end="")
    return 0


def _cmd_schema(_: argparse.Namespace) -> int:
    print(_core.schema_markdown(), end="")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="spikegraph", description="spikegraph: energy-based spiking graphs")
    parser.add_argument("--version", action="version", version=f"spikegraph {_core.build_info()['version']}")
    sub = parser.add_subparsers(dest="command", required=True)

    def add_config_args(p: argparse.ArgumentParser) -> None:
        p.add_argument("config", nargs="?", help="TOML configuration (default: the built-in default run)")
        p.add_argument("--set", action="append", metavar="KEY=VALUE", help="override a key (repeatable)")

    run = sub.add_parser("run", help="run a network and print a summary")
    add_config_args(run)
    run.add_argument("--duration", type=float, metavar="MS", help="model time to simulate (run.duration)")
    run.add_argument("--threads", type=int, metavar="N", help="CPU threads, 0 = all (sim.threads)")
    run.add_argument("--seed", type=int, metavar="N", help="random seed (sim.seed)")
    def add_output_args(p: argparse.ArgumentParser) -> None:
        p.add_argument("--spikes", metavar="FILE", help="write spikes: .npz, else spikegraph's binary format")
        p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                       help="progress bar on stderr (default: on a terminal for long runs)")
        p.add_argument("--input", metavar="FILE",
                       help="input: an image, a glob of images ('frames/*.png') or a video for the "
                            "sensory grid, or a .wav file for the audio sensory nodes")
        p.add_argument("--input-end", choices=("stop", "loop", "raise"), default=None,
                       help="when frames run out: stop feeding, loop, or fail "
                            "(default: loop an image, stop a video)")
        p.add_argument("--frame-ms", type=float, metavar="MS",
                       help="model time between input frames (default: sensory.interval steps)")
        p.add_argument("--out", metavar="DIR",
                       help="write spikes, monitors, ledger, metrics JSON, the network (SONATA), "
                            "a checkpoint and plots to DIR")
        p.add_argument("--save", metavar="FILE", help="write a checkpoint of the final state to FILE")

    add_output_args(run)
    run.add_argument("--live", action="store_true",
                     help="run until Ctrl-C, watched and steered in the browser (needs spikegraph[live])")
    run.add_argument("--host", default="127.0.0.1", help="live view: address to listen on (127.0.0.1)")
    run.add_argument("--port", type=int, default=0, help="live view: port (default: a free one)")
    run.add_argument("--screen", action="store_true", help="live view: the screen as input (needs a display)")
    run.add_argument("--grating", action="store_true", help="live view: the built-in moving grating as input")
    run.set_defaults(func=_cmd_run)

    resume = sub.add_parser("resume", help="continue a run from a checkpoint")
    resume.add_argument("checkpoint", metavar="CHECKPOINT",
                        help="a file written by --save, --out or Simulation.save")
    resume.add_argument("--duration", type=float, metavar="MS",
                        help="model time to simulate (default: the checkpoint's run.duration)")
    add_output_args(resume)
    resume.set_defaults(func=_cmd_resume)

    plot = sub.add_parser("plot", help="draw the plots of a 'spikegraph run --out' directory")
    plot.add_argument("run_dir", metavar="RUN_DIR", help="directory written by spikegraph run --out")
    plot.add_argument("--to", metavar="DIR", help="write the PNG files here (default: RUN_DIR)")
    plot.set_defaults(func=_cmd_plot)

    info = sub.add_parser("info", help="build information, or describe a file spikegraph wrote (checkpoint, "
                                       "spikes, SONATA, npz, JSON, TOML, PNG)")
    info.add_argument("file", nargs="?", metavar="FILE", help="a checkpoint, spike file or SONATA .h5 file")
    info.add_argument("-v", "--verbose", action="store_true", help="list a checkpoint's sections and config")
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
    except (SpikegraphError, OSError, ImportError) as e:
        print(f"spikegraph: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("spikegraph: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
