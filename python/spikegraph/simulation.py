"""The Simulation: run loops, callbacks and progress around the C++ coordinator."""

from __future__ import annotations

import math
import os
import sys
import time
import weakref
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple, cast

import numpy as np
import numpy.typing as npt

from . import _core, analysis, networks
from .audio import Audio, to_mono
from .builder import NetworkBuilder
from .checkpoint import SUFFIX as CHECKPOINT_SUFFIX
from .config import Config, ConfigLike, flatten, live_keys, to_steps
from .errors import ConfigError, InputError
from .network import NODE_TYPES, Network
from .progress import ProgressBar
from .sources import FrameSource, SourceFeeder

Callback = Callable[["Simulation"], Any]
EventCallback = Callable[[dict[str, Any]], Any]
STIMULUS_KINDS = ("input", "add_drive", "set_drive")

# Runs of at least this many steps show a progress bar by default (on a terminal).
PROGRESS_MIN_STEPS = 20_000
# Without a callback, runs go to the engine in chunks of about this many seconds, so
# Ctrl-C is noticed promptly (chunking never changes results).
CHUNK_SECONDS = 0.1
MAX_STEPS = 2**62


NodeSelection = range | Sequence[int] | npt.NDArray[np.integer] | None


def _node_ids(nodes: NodeSelection, num_nodes: int, who: str) -> np.ndarray:
    """Node ids as int64 (``None``: all ``num_nodes`` nodes); integers only, one dimension."""
    if nodes is None:
        return np.arange(num_nodes, dtype=np.int64)
    if isinstance(nodes, range):
        return np.arange(nodes.start, nodes.stop, nodes.step, dtype=np.int64)
    arr = np.asarray(nodes)
    if arr.ndim != 1 or (arr.size and not np.issubdtype(arr.dtype, np.integer)):
        raise InputError(f"recorder '{who}': nodes must be a range or a 1-D array of node ids")
    return np.ascontiguousarray(arr, dtype=np.int64)


class Spikes(NamedTuple):
    """The spike record: ``steps[i]`` is when node ``nodes[i]`` spiked."""

    steps: np.ndarray  # int64
    nodes: np.ndarray  # uint32
    dt_ms: float

    @property
    def times_ms(self) -> np.ndarray:
        return self.steps.astype(np.float64) * self.dt_ms

    @property
    def num_spikes(self) -> int:
        return int(self.nodes.size)


class Simulation:
    """A network and a configuration, simulated step by step.

    >>> import spikegraph as sg
    >>> net = sg.networks.brunel(1000, k_in=50)
    >>> sim = sg.Simulation(net, {"sim": {"dt": 0.1}})
    >>> sim.run(10.0)
    """

    def __init__(self, network: Network, config: ConfigLike = None, *, comm: Any = None) -> None:
        """``comm``: run on several processes (MPI ranks), e.g. ``comm=MPI.COMM_WORLD``
        of mpi4py, or a :class:`spikegraph.Communicator`: every rank makes the same
        calls with the same network and configuration, and the results are those of
        one process, bit for bit (docs/distributed.md)."""
        if not isinstance(network, Network):
            raise TypeError(f"Simulation: network must be a spikegraph.Network, got {type(network).__name__}")
        self.network = network
        self._config = Config.coerce(config)
        if comm is None:
            self._sim = _core.Simulation(network._graph, self._config._core)
        else:
            self._sim = _core.distributed_simulation(network._graph, self._config._core, communicator(comm))
        if network.initial_state:
            self._sim.set_initial_state({k: np.ascontiguousarray(v, dtype=np.float64)
                                         for k, v in network.initial_state.items()})
        self._init_python_state()

    @classmethod
    def from_config(cls, config: ConfigLike = None, *, comm: Any = None) -> Simulation:
        """The network of the configuration's ``[network]`` section, simulated. With
        ``comm`` on several ranks, a Brunel network or the microcircuit (``network.kind``
        ``"brunel"`` or ``"microcircuit"``) is drawn by each rank for its own nodes only,
        so no process ever holds the whole graph (networks larger than one process's
        memory); the default network is built whole on every rank and cut."""
        cfg = Config.coerce(config)
        if comm is None:
            return cls(networks.from_config(cfg), cfg)
        core = _core.distributed_simulation_from_config(cfg._core, communicator(comm))
        sim = cls.__new__(cls)
        sim._adopt(core)
        return sim

    @classmethod
    def from_builder(
        cls, builder: NetworkBuilder, config: ConfigLike = None, *, comm: Any = None
    ) -> Simulation:
        """The network ``builder`` describes, simulated. Without ``comm`` this is
        ``Simulation(builder.build(), config)``. With ``comm`` on several ranks each rank
        draws only its own part (the edges into its nodes, and with energy on out of them),
        one projection at a time, so no process ever holds the whole graph; ``network`` is
        then this rank's part. Every rank passes the same builder and configuration."""
        if not isinstance(builder, NetworkBuilder):
            raise TypeError(
                f"from_builder: builder must be a spikegraph.NetworkBuilder, got {type(builder).__name__}"
            )
        cfg = Config.coerce(config)
        if comm is None:
            return cls(builder.build(), cfg)
        core = _core.distributed_simulation_from_builder(builder._b, cfg._core, communicator(comm))
        sim = cls.__new__(cls)
        sim._adopt(core)
        return sim

    def _init_python_state(self) -> None:
        """Python-side state of a fresh simulation (also after load and restore): add
        new Python-side attributes here."""
        self._subscribers: dict[int, EventCallback] = {}
        self._next_subscription = 1
        self._feeder: SourceFeeder | None = None
        # Services written in Python, by name (the engine holds them weakly).
        self._python_services: dict[str, Callable[[str, int, np.ndarray], None]] = {}

    # ------------------------------------------------------------ running
    def run(
        self,
        duration_ms: float,
        *,
        callback: Callback | None = None,
        callback_every: int | None = None,
        progress: bool | None = None,
    ) -> None:
        """Advance ``duration_ms / dt`` steps (rounded half away from zero, as the engine does).

        ``callback(sim)`` runs on this thread every ``callback_every`` steps (and at the
        end); returning ``False`` stops the run early. The GIL is released while the
        engine runs. ``progress`` shows a bar on stderr (default: on a terminal, for
        runs of at least 20,000 steps).
        """
        if isinstance(duration_ms, bool) or not isinstance(duration_ms, (int, float, np.number)):
            raise InputError(f"run: duration_ms must be a number, got {type(duration_ms).__name__}")
        if not math.isfinite(duration_ms) or duration_ms < 0:
            raise InputError(f"run: duration must be finite and >= 0 ms, got {duration_ms}")
        steps = duration_ms / self.dt
        if steps > MAX_STEPS:
            raise InputError(f"run: duration {duration_ms} ms is more than {MAX_STEPS} steps")
        self.run_steps(to_steps(duration_ms, self.dt), callback=callback,
                       callback_every=callback_every, progress=progress)

    def run_steps(
        self,
        steps: int,
        *,
        callback: Callback | None = None,
        callback_every: int | None = None,
        progress: bool | None = None,
    ) -> None:
        """Advance a number of steps; see :meth:`run`."""
        if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)):
            raise InputError(f"run: steps must be an integer, got {type(steps).__name__}")
        steps = int(steps)
        if steps < 0 or steps > MAX_STEPS:
            raise InputError(f"run: number of steps must be >= 0 and at most {MAX_STEPS}, got {steps}")
        if callback_every is not None and (
            isinstance(callback_every, bool)
            or not isinstance(callback_every, (int, np.integer))
            or callback_every < 1
        ):
            raise InputError(f"run: callback_every must be a positive integer number of steps, "
                             f"got {callback_every!r}")
        if callback is not None and not callable(callback):
            raise InputError("run: callback must be callable")
        # On several ranks every rank must run the same chunks (a chunk ends an exchange
        # window): no chunk may depend on a rank's own clock or terminal.
        one_process = self.ranks == 1
        if progress is None:
            progress = one_process and steps >= PROGRESS_MIN_STEPS and sys.stderr.isatty()
        bar = ProgressBar(steps) if progress else None
        # Chunks: the callback period; else ~1% of the run for the bar; else, in one
        # process, sized so that a chunk takes about CHUNK_SECONDS (Ctrl-C between
        # chunks), and on several ranks the whole run.
        adaptive = callback_every is None and bar is None and one_process
        if callback_every is not None:
            chunk = int(callback_every)
        elif bar is not None:
            chunk = max(1, steps // 100)
        else:
            chunk = 100 if one_process else max(1, steps)
        done = 0
        try:
            while done < steps:
                n = min(chunk, steps - done)
                started = time.perf_counter()
                if self._feeder is None:
                    self._sim.run_steps(n)
                else:  # split at the attached source's frame steps
                    self._feeder.advance(self._sim.run_steps, self.step, n)
                done += n
                if adaptive:
                    took = time.perf_counter() - started
                    scale = CHUNK_SECONDS / took if took > 0 else 4.0
                    chunk = max(1, min(int(n * min(scale, 4.0)), MAX_STEPS))
                if bar is not None:
                    bar.update(done)
                if self._subscribers:
                    self._publish()
                if callback is not None and callback(self) is False:
                    break
        finally:
            if bar is not None:
                bar.close()

    # ------------------------------------------------------------ events
    def schedule_stimulus(
        self,
        nodes: npt.ArrayLike,
        value: float,
        *,
        at_ms: float | None = None,
        step: int | None = None,
        kind: str = "input",
    ) -> None:
        """Queue a stimulus for one step (``at_ms`` or ``step``, not in the past).

        ``kind``: ``"input"`` adds ``value`` to the nodes' synaptic input of that step
        (like a spike of that weight arriving), ``"add_drive"`` adds it to their drive
        and ``"set_drive"`` sets their drive, from that step on.
        """
        if (at_ms is None) == (step is None):
            raise InputError("schedule_stimulus: give exactly one of at_ms and step")
        if kind not in STIMULUS_KINDS:
            raise InputError(f"schedule_stimulus: unknown kind {kind!r} (known: {', '.join(STIMULUS_KINDS)})")
        if at_ms is not None:
            if not math.isfinite(at_ms):
                raise InputError(f"schedule_stimulus: at_ms must be finite, got {at_ms}")
            step = to_steps(at_ms, self.dt)
        if step is None:  # unreachable: one of the two was given
            raise InputError("schedule_stimulus: no step")
        ids = np.atleast_1d(np.asarray(nodes))
        if ids.ndim != 1 or (ids.size and ids.dtype.kind not in "iu"):
            raise InputError(
                f"schedule_stimulus: nodes must be a 1-D integer array, got {ids.dtype} {ids.shape}"
            )
        if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
            raise InputError(f"schedule_stimulus: value must be a number, got {type(value).__name__}")
        self._sim.schedule_stimulus(int(step), kind, float(value), np.ascontiguousarray(ids, dtype=np.int64))

    def pending_stimuli(self) -> int:
        return int(self._sim.pending_stimuli())

    def subscribe(self, callback: EventCallback) -> int:
        """Call ``callback(events)`` at every chunk boundary of a run with what happened
        since the last call: ``spike_steps``/``spike_nodes`` (the spike batch),
        ``homeostasis`` (windows that ended), ``stimuli`` (applied), ``structure``
        (births, deaths, pruning per structure step), ``first_step`` and ``end_step``.
        Returns an id for :meth:`unsubscribe`."""
        if not callable(callback):
            raise InputError("subscribe: callback must be callable")
        sid = self._next_subscription
        self._next_subscription += 1
        self._subscribers[sid] = callback
        self._sim.collect_spike_events(True)
        self._sim.take_events()  # a subscription starts with an empty batch
        return sid

    def unsubscribe(self, subscription: int) -> None:
        if subscription not in self._subscribers:
            raise InputError(f"unsubscribe: no subscription with id {subscription}")
        del self._subscribers[subscription]
        if not self._subscribers:
            self._sim.collect_spike_events(False)

    def _publish(self) -> None:
        events = dict(self._sim.take_events())
        for callback in list(self._subscribers.values()):
            callback(events)

    # ------------------------------------------------------------ sensory input
    def set_frame(self, frame: npt.ArrayLike) -> None:
        """Give a frame: (H, W) gray or (H, W, 3|4) RGB[A], uint8 (0..255) or float (0..1).

        It is mapped at once to the sensory grid (luminance, area-averaging resample;
        errors for a bad shape, dtype or NaN leave everything unchanged) and applied at
        the next step: drive = sensory.gain * gray, energy = gray * energy.cap. The first
        frame switches the built-in grating off.
        """
        arr = np.asarray(frame)
        if arr.dtype == np.bool_ or arr.dtype.kind not in "uif":
            raise InputError(f"set_frame: expected numeric pixels, got dtype {arr.dtype}")
        if arr.dtype not in (np.uint8, np.float32, np.float64):
            raise InputError(f"set_frame: expected uint8, float32 or float64 pixels, got {arr.dtype} "
                             "(convert explicitly, e.g. frame.astype(np.float32) / 255)")
        self._sim.set_frame(np.ascontiguousarray(arr))

    @property
    def sensory_grid(self) -> tuple[int, int]:
        """(rows, columns) of the sensory grid; (0, 0) without sensory nodes."""
        rows, cols = self._sim.sensory_grid
        return int(rows), int(cols)

    def frames_applied(self) -> int:
        return int(self._sim.frames_applied())

    def attach_source(self, source: FrameSource, *, every_ms: float | None = None,
                      on_end: str = "stop") -> None:
        """Feed frames from ``source`` (see :mod:`spikegraph.sources`) during runs.

        The first frame is given before the next step runs, then one every
        ``sensory.interval`` steps (or every ``every_ms``): exactly as calling
        :meth:`set_frame` by hand at those steps. When the source runs out, ``on_end``
        decides: ``"stop"`` (stop feeding; the last frame's drive stays), ``"loop"``
        (``source.rewind()`` and go on) or ``"raise"`` (:class:`InputError`). A bad frame
        raises :class:`InputError` naming the source and the frame index. Replaces any
        source attached before; the caller keeps ownership (close it when done).
        """
        if not callable(getattr(source, "next_frame", None)):
            raise InputError(f"attach_source: expected a frame source with next_frame(), "
                             f"got {type(source).__name__}")
        if every_ms is None:
            period = int(self._config["sensory.interval"])
        else:
            if isinstance(every_ms, bool) or not isinstance(every_ms, (int, float, np.number)) or not (
                math.isfinite(every_ms) and every_ms > 0
            ):
                raise InputError(f"attach_source: every_ms must be a finite number > 0, got {every_ms!r}")
            period = max(1, to_steps(every_ms, self.dt))
        self._feeder = SourceFeeder(source, period, self.step, on_end, self.set_frame)

    def detach_source(self) -> FrameSource | None:
        """Stop feeding frames; returns the source that was attached (not closed)."""
        feeder, self._feeder = self._feeder, None
        return None if feeder is None else feeder.source

    @property
    def source(self) -> FrameSource | None:
        """The attached frame source, if any."""
        return None if self._feeder is None else self._feeder.source

    def workspace_nodes(self) -> np.ndarray:
        """Ids of the workspace nodes (ascending, int64)."""
        return np.flatnonzero(self.network.node_types == NODE_TYPES.index("workspace"))

    def workspace_image(self, window_ms: float | None = None) -> np.ndarray:
        """The network's readout: the workspace nodes' firing rates in Hz as a 2-D grid
        (side x side when their number is a square, else one row), float64.

        Without ``window_ms``: the running rate estimate (state ``rate``, time constant
        ``homeostasis.tau_rate``). With it: spikes per node in the last ``window_ms``
        of the spike record (or since step 0 when less time has passed) / that time.
        """
        ids = self.workspace_nodes()
        if ids.size == 0:
            raise InputError("workspace_image: the network has no workspace nodes")
        side = math.isqrt(ids.size)
        shape = (side, side) if side * side == ids.size else (1, int(ids.size))
        if window_ms is None:
            return np.asarray(self.state("rate"), dtype=np.float64)[ids].reshape(shape)
        if isinstance(window_ms, bool) or not isinstance(window_ms, (int, float, np.number)) or not (
            math.isfinite(window_ms) and window_ms > 0
        ):
            raise InputError(f"workspace_image: window_ms must be a finite number > 0, got {window_ms!r}")
        if not self._config["record.spikes"]:
            raise InputError("workspace_image: a window needs the spike record (record.spikes = true)")
        start = max(0, self.step - max(1, to_steps(window_ms, self.dt)))
        counts = np.zeros(ids.size, dtype=np.float64)
        if self.step > start:
            _, recent = self._sim.spikes(start)
            slot = np.full(self.network.num_nodes, -1, dtype=np.int64)
            slot[ids] = np.arange(ids.size)
            hit = slot[recent[recent < slot.size]]
            counts = np.bincount(hit[hit >= 0], minlength=ids.size).astype(np.float64)
            counts /= (self.step - start) * self.dt / 1000.0
        return counts.reshape(shape)

    # ------------------------------------------------------------ results
    @property
    def spikes(self) -> Spikes:
        """The spike record (copies): steps (int64), nodes (uint32)."""
        steps, nodes = self._sim.spikes()
        return Spikes(steps, nodes, self.dt)

    def spikes_since(self, step: int) -> Spikes:
        """The part of the spike record from ``step`` on (copies; cheap for a recent step
        of a long record)."""
        steps, nodes = self._sim.spikes(_step_arg("spikes_since", step))
        return Spikes(steps, nodes, self.dt)

    def spike_counts(self) -> np.ndarray:
        """Spikes per node over the whole record (uint64)."""
        return cast(np.ndarray, self._sim.spike_counts())

    def clear_spikes(self) -> None:
        self._sim.clear_spikes()

    @property
    def monitor(self) -> dict[str, Any]:
        """Monitor samples: ``steps``, ``nodes`` and ``values[var]`` of shape (samples, nodes)."""
        return dict(self._sim.monitor())

    # ------------------------------------------------------------ recorders
    def add_recorder(self, name: str, kind: str = "spikes", nodes: NodeSelection = None, *,
                     variables: Sequence[str] = (), interval_ms: float | None = None) -> None:
        """Record from now on, for ``nodes`` (a range such as a population of
        :class:`~spikegraph.NetworkBuilder`, an array of node ids, or None for every node):

        - ``kind="spikes"``: their spikes;
        - ``"state"``: ``variables`` (see :func:`spikegraph.state_info`) every
          ``interval_ms`` (default: every step);
        - ``"rate"``: their spike count per bin of ``interval_ms`` (default 1 ms), i.e.
          the population rate.

        ``name`` (letters, digits, ``_``) reads it back with :meth:`recorder`. Recorders
        keep what ``record.horizon`` allows or stream to ``record.stream`` like the spike
        record, and are part of checkpoints. Bad input raises :class:`InputError` and adds
        nothing."""
        ids = _node_ids(nodes, self._sim.graph.num_nodes, name)
        if interval_ms is None:
            steps = to_steps(1.0, self.dt) if kind == "rate" else 1
            steps = max(1, steps)
        else:
            if not (math.isfinite(interval_ms) and interval_ms > 0):
                raise InputError(f"recorder '{name}': interval_ms must be a positive number of ms, "
                                 f"got {interval_ms}")
            steps = to_steps(interval_ms, self.dt)
            if steps < 1:
                raise InputError(f"recorder '{name}': interval_ms {interval_ms} is shorter than a step "
                                 f"({self.dt} ms)")
        self._sim.add_recorder(name, kind, ids, list(variables), steps)

    def recorder(self, name: str) -> dict[str, Any]:
        """What recorder ``name`` holds (copies): ``kind``, ``nodes`` (watched, ascending),
        ``steps`` and ``times_ms``, and by kind ``spike_nodes`` (spikes: the node of each
        spike), ``values[var]`` of shape (samples, nodes) (state), ``counts`` and
        ``rate_hz`` per bin starting at ``steps`` (rate: spikes per node per second)."""
        r = dict(self._sim.recorder(name))
        r["times_ms"] = r["steps"] * self.dt
        if r["kind"] == "rate":
            bin_s = r["interval_steps"] * self.dt / 1000.0
            r["rate_hz"] = r["counts"] / (r["nodes"].size * bin_s)
        return r

    def recorder_names(self) -> list[str]:
        """The recorders, in the order they were added."""
        return list(self._sim.recorder_names())

    def remove_recorder(self, name: str) -> None:
        """Drop recorder ``name`` and what it holds."""
        self._sim.remove_recorder(name)

    def perf(self) -> dict[str, Any]:
        """Performance monitoring since construction or :meth:`reset_perf`: ``steps``,
        ``seconds_total`` and ``phase_seconds`` (wall time inside the engine, per phase),
        ``ms_per_step`` and ``phase_ms_per_step``, ``spikes`` and ``synaptic_events``
        (spikes x out-degree delivered) with their rates per wall second, and memory:
        ``graph_bytes``, ``state_bytes``, ``record_bytes`` and their sum ``memory_bytes``;
        host/device traffic of a GPU backend's explicit copies: ``bytes_to_host``,
        ``bytes_to_device`` and their per-step means (zeros on the CPU backend)."""
        p: dict[str, Any] = dict(self._sim.perf())
        steps, seconds = int(p["steps"]), float(p["seconds_total"])
        p["ms_per_step"] = 1e3 * seconds / steps if steps else 0.0
        p["phase_ms_per_step"] = {k: 1e3 * v / steps if steps else 0.0 for k, v in p["phase_seconds"].items()}
        p["spikes_per_second"] = p["spikes"] / seconds if seconds > 0 else 0.0
        p["synaptic_events_per_second"] = p["synaptic_events"] / seconds if seconds > 0 else 0.0
        p["memory_bytes"] = int(p["graph_bytes"]) + int(p["state_bytes"]) + int(p["record_bytes"])
        p["bytes_to_host_per_step"] = p["bytes_to_host"] / steps if steps else 0.0
        p["bytes_to_device_per_step"] = p["bytes_to_device"] / steps if steps else 0.0
        return p

    def reset_perf(self) -> None:
        self._sim.reset_perf()

    def summary(self) -> dict[str, Any]:
        """Nodes, edges, spikes, mean rate, ms per step... of the counted steps."""
        return dict(self._sim.summary())

    def summary_text(self) -> str:
        return str(self._sim.summary_text())

    # ------------------------------------------------------------ state
    def state_names(self) -> list[str]:
        return list(self._sim.state_names())

    def state(self, name: str) -> np.ndarray:
        """A writeable zero-copy view of a state variable (valid while ``self`` lives)."""
        return cast(np.ndarray, self._sim.state(name))

    def set_state(self, name: str, values: npt.ArrayLike) -> None:
        """Overwrite a state variable; checks length, finiteness and range first."""
        arr = np.asarray(values)
        if arr.ndim == 0:
            arr = np.full(self.network.num_nodes, arr)
        if arr.ndim != 1:
            raise InputError(f"set_state('{name}'): expected a 1-D array, got shape {arr.shape}")
        if arr.dtype.kind not in "fiub":
            raise InputError(f"set_state('{name}'): expected numbers, got dtype {arr.dtype}")
        self._sim.set_state(name, np.ascontiguousarray(arr, dtype=np.float64))

    def edge_state_names(self) -> list[str]:
        return list(self._sim.edge_state_names())

    def edge_state(self, name: str) -> np.ndarray:
        """A copy of per-edge state (``"weight"``, ``"eligibility"``) in the order of
        :attr:`current_network`'s edges."""
        arr = np.asarray(self._sim.edge_state(name))
        arr.flags.writeable = False
        return arr

    @property
    def weights(self) -> np.ndarray:
        """The live edge weights (a read-only float32 copy; plastic edges change as the
        network learns). Change them with :meth:`set_weights`."""
        return self.edge_state("weight")

    def set_weights(self, weights: npt.ArrayLike) -> None:
        """Overwrite every edge weight (edge order of :attr:`current_network`): finite,
        >= 0; checked before anything changes. The Network object is not changed."""
        arr = np.asarray(weights)
        if arr.ndim != 1 or arr.dtype.kind not in "fiu":
            raise InputError(f"set_weights: expected a 1-D numeric array, got {arr.dtype} {arr.shape}")
        self._sim.set_weights(np.ascontiguousarray(arr, dtype=np.float64))

    @property
    def ledger(self) -> dict[str, np.ndarray]:
        """The per-step energy ledger: ``step``, ``total_before``, ``inflow``, ``spike_cost``,
        ``metabolism``, ``flow_out``, ``flow_in``, ``overflow``, ``transfers`` (energy of nodes
        that died), ``birth_cost`` (birth costs the children did not get), ``total_after``
        and ``error`` (the conservation residual), one entry per step with energy enabled."""
        return dict(self._sim.ledger())

    def ledger_since(self, step: int) -> dict[str, np.ndarray]:
        """:attr:`ledger` from ``step`` on (cheap for a recent step of a long run)."""
        return dict(self._sim.ledger(_step_arg("ledger_since", step)))

    def clear_ledger(self) -> None:
        self._sim.clear_ledger()

    @property
    def homeostasis(self) -> dict[str, Any]:
        """Synaptic gain, last branching ratio, and their history per homeostasis window."""
        return dict(self._sim.homeostasis())

    @property
    def neuromodulator(self) -> float:
        return float(self._sim.neuromodulator)

    def set_neuromodulator(self, signal: float) -> None:
        """The global signal of the three-factor rule: every step, w += rate * signal * eligibility."""
        if isinstance(signal, bool) or not isinstance(signal, (int, float, np.number)):
            raise InputError(f"set_neuromodulator: expected a number, got {type(signal).__name__}")
        self._sim.set_neuromodulator(float(signal))

    @property
    def v(self) -> np.ndarray:
        return self.state("v")

    @property
    def threshold(self) -> np.ndarray:
        return self.state("threshold")

    @property
    def drive(self) -> np.ndarray:
        return self.state("drive")

    @property
    def energy(self) -> np.ndarray:
        return self.state("energy")

    # ------------------------------------------------------------ analysis
    def validate(self, *, raise_on_error: bool = False) -> dict[str, Any]:
        """Check the current graph with the live state: index ranges, CSR and by-target
        index, weights, delays, no edge touching a dead node (a node killed with
        ``set_state("alive", ...)`` keeps its edges until the next structure step), no
        NaN/inf in any state array. Returns ``{"ok", "problems", "problem_count"}``; with
        ``raise_on_error=True`` a failed check raises :class:`~spikegraph.GraphError`."""
        report = dict(_core.simulation_validate(self._sim))
        return analysis.check_report(report, "validate") if raise_on_error else report

    def graph_metrics(
        self,
        *,
        samples: int | None = None,
        power_iterations: int | None = None,
        seed: int | None = None,
    ) -> dict[str, Any]:
        """Structure metrics of the current graph (alive nodes, learned weights); see
        :func:`spikegraph.analysis.graph_metrics` for the keys. On several ranks they
        are the whole network's, gathered (collective: call it on every rank). ``None`` takes
        ``metrics.samples``, ``metrics.power_iterations`` and ``sim.seed``."""
        op = "graph_metrics"
        return dict(_core.simulation_graph_metrics(
            self._sim,
            samples=None if samples is None else analysis._int_arg(op, "samples", samples, 0, 2**32 - 2),
            power_iterations=None if power_iterations is None
            else analysis._int_arg(op, "power_iterations", power_iterations, 1, 1_000_000),
            seed=None if seed is None else analysis._int_arg(op, "seed", seed, 0, 2**63 - 1),
        ))

    def activity_metrics(self) -> dict[str, Any]:
        """Activity and energy now: rate distribution (``rate_source``: the homeostasis
        estimate ``"rate"``, else ``"spike_record"`` over the recorded window, else
        ``"none"``), branching ratio, energy mean/variance/entropy, ledger totals."""
        return dict(_core.simulation_activity_metrics(self._sim))

    def metrics_history(self) -> list[dict[str, Any]]:
        """Samples of the metrics service (``metrics.interval`` > 0): ``{"step",
        "activity", "validation", "graph"}`` (the last two with ``metrics.structure``,
        else None)."""
        return [dict(s) for s in _core.simulation_metrics_history(self._sim)]

    def clear_metrics_history(self) -> None:
        _core.simulation_clear_metrics_history(self._sim)

    @property
    def ledger_totals(self) -> dict[str, float]:
        """The energy ledger summed over every step since the start (``steps``,
        ``initial_total``, ``inflow``, ``spike_cost``, ``metabolism``, ``flow_out``,
        ``flow_in``, ``overflow``, ``transfers``, ``birth_cost``, ``final_total``, ``error``)."""
        return dict(_core.simulation_ledger_totals(self._sim))

    # ------------------------------------------------------------ facts
    @property
    def step(self) -> int:
        return int(self._sim.current_step)

    @property
    def time_ms(self) -> float:
        return float(self._sim.time_ms)

    @property
    def dt(self) -> float:
        return float(self._sim.dt)

    @property
    def backend(self) -> str:
        return str(self._sim.backend)

    @property
    def threads(self) -> int:
        return int(self._sim.threads)

    @property
    def precision(self) -> str:
        return str(self._sim.precision)

    @property
    def config(self) -> Config:
        """A copy of the configuration in use."""
        return self._config.copy()

    def update_config(self, changes: Mapping[str, Any]) -> None:
        """Change configuration keys between runs, e.g. ``{"learning.a_plus": 0.01}`` or
        ``{"homeostasis": {"gain_step": 0.02}}``: validated by the engine and applied whole,
        or refused whole with a :class:`ConfigError` that names the keys (unknown, invalid,
        or fixed for a run: :func:`live_keys` lists those that may change). Keys set to
        their current value are no change. From the next step on, the backend and every
        service use the new values; the state is kept."""
        if not isinstance(changes, Mapping):
            raise ConfigError(f"update_config: expected a mapping, got {type(changes).__name__}")
        flat = flatten(changes)
        self._sim.update_config(flat)
        self._config._core.update(flat, "update_config")  # the same, already validated change

    def serve(self, *, host: str = "127.0.0.1", port: int = 0, run: bool = True, fps: float = 5.0,
              chunk_ms: float | None = None, out_dir: str | os.PathLike[str] | None = None) -> Any:
        """Serve this simulation to the browser (docs/live.md; needs ``pip install
        'spikegraph[live]'``): returns a :class:`spikegraph.live.LiveView` whose ``url``
        (with its access token) opens the page. ``run=True``: a thread runs the simulation
        from now on (only that thread may call it); ``run=False``: keep running it yourself
        and call ``view.update()`` between runs. Listens on 127.0.0.1 unless ``host`` says
        otherwise; ``port`` 0 picks a free one; checkpoints saved from the page go to
        ``out_dir`` (default: the working directory)."""
        from .live import LiveView

        return LiveView(self, host=host, port=port, run=run, fps=fps, chunk_ms=chunk_ms,
                        out_dir=None if out_dir is None else Path(out_dir))

    @staticmethod
    def live_config_keys() -> list[str]:
        """The keys :meth:`update_config` may change (:func:`spikegraph.live_keys`)."""
        return live_keys()

    @property
    def current_network(self) -> Network:
        """The network as the simulation has it now: with the spare node slots of
        structural plasticity and after its births, deaths and pruning."""
        return Network(self._sim.graph)

    def whole_network(self) -> Network:
        """The whole network now, with its learned weights as the edge weights: on several
        ranks every rank's edges, gathered to every rank (collective: call it on every
        rank); in one process :attr:`current_network` with the current weights."""
        return Network(self._sim.whole_graph())

    def service_names(self) -> list[str]:
        return list(self._sim.service_names())

    def service_phases(self, name: str) -> list[str]:
        """The phases the service ``name`` runs in, in step order."""
        return list(_core.service_phases(self._sim, name))

    def replace_service(self, name: str, service: Any, *, phases: Sequence[str] | None = None) -> None:
        """Run a Python object in place of the engine's service ``name`` (``"learning"``,
        ``"homeostasis"``, ``"neural"``, ...), or beside them under a new name.

        ``service.run(sim, phase, step, spikes)`` is called once per step for each of its
        phases (``phases``, else ``service.phases``, else those of the service it
        replaces), in the step's phase order, with this simulation, the phase's name, the
        step, and the ids of the nodes that spiked at this step (uint32, ascending; empty
        before ``"neuron_update"``). It should work on whole arrays: ``sim.state(name)``
        views are zero-copy and writeable, ``sim.weights`` and ``sim.set_weights`` read and
        write the weights. An exception it raises ends the run after the current step
        completes (without it) and reaches the caller unchanged; the simulation is then
        between two steps and can be continued, saved or repaired. A Python service is
        not part of a checkpoint: replace it again after loading. The cost is a Python
        call per phase per step plus the service's own numpy work (docs/python.md).
        """
        run = getattr(service, "run", None)
        if not callable(run):
            raise InputError("replace_service: the service needs a method run(sim, phase, step, spikes)")
        if phases is None:
            phases = getattr(service, "phases", None)
        if phases is None:
            if name not in self.service_names():
                known = ", ".join(self.service_names())
                raise InputError(f"replace_service: '{name}' is not one of the engine's services ({known}); "
                                 "give the phases a new service runs in")
            phases = self.service_phases(name)
        if isinstance(phases, str):
            phases = [phases]
        # The callable lives here, in Python (the engine holds it weakly), so that cycles
        # through it stay visible to Python's garbage collector.
        owner = weakref.ref(self)

        def call(phase: str, step: int, spikes: np.ndarray) -> None:
            sim = owner()
            if sim is not None:
                run(sim, phase, step, spikes)

        _core.replace_service_python(self._sim, name, [str(p) for p in phases], call)
        self._python_services[name] = call

    def write_spike_file(self, path: str | os.PathLike[str]) -> None:
        """Write the spike record in spikegraph's binary spike format (docs/file-formats.md)."""
        self._sim.write_spike_file(os.fspath(path))

    # ------------------------------------------------------------ audio
    def feed_audio(self, samples: npt.ArrayLike | Audio, sample_rate: float | None = None) -> int:
        """Queue audio for the audio sensory nodes (``sensory.audio_bands`` of them):
        one STFT window per step, its mel-band values drive the nodes at that step
        (docs/model.md step 1). ``samples``: an :class:`spikegraph.audio.Audio` (from
        :func:`spikegraph.audio.read_wav`) or an array of shape (n,) or (n, channels)
        (float in -1..1 or integer PCM) with ``sample_rate`` in Hz. Blocks may be fed
        in any sizes; the result is the same. Returns the band vectors now queued."""
        data: npt.ArrayLike
        rate: float | None
        if isinstance(samples, Audio):
            audio = cast(Audio, samples)
            if sample_rate is not None and sample_rate != audio.sample_rate:
                raise InputError("feed_audio: sample_rate differs from the Audio's own rate")
            data, rate = audio.samples, audio.sample_rate
        else:
            data, rate = cast("npt.ArrayLike", samples), sample_rate
        if rate is None:
            raise InputError("feed_audio: give the sample rate (Hz) of the samples")
        _core.push_audio(self._sim, to_mono(data), float(rate))
        return self.audio_frames_pending

    @property
    def audio_frames_pending(self) -> int:
        """Steps' worth of audio queued (one band vector per step)."""
        return int(_core.audio_frames_pending(self._sim))

    @property
    def audio_frames_applied(self) -> int:
        """Steps at which audio drove the audio nodes so far."""
        return int(_core.audio_frames_applied(self._sim))

    def reset_audio(self) -> None:
        """Drop queued audio (the next block may have another sample rate)."""
        _core.reset_audio(self._sim)

    # ------------------------------------------------------------ checkpoints
    def save(
        self,
        path: str | os.PathLike[str] | None = None,
        *,
        slot: str | None = None,
        directory: str | os.PathLike[str] = "checkpoints",
    ) -> Path:
        """Write the complete state to one file and return its path.

        The file (docs/file-formats.md) holds the configuration, the current graph,
        every state variable, delay rings, traces, weights, homeostasis and
        structure state, the step counter, the spike/monitor/ledger records and
        pending stimuli; it is versioned, checksummed and written atomically
        (temporary file, flush, rename). Give a ``path``, or a named ``slot``
        (stored as ``<directory>/<slot>.sgckpt``). Attached frame sources, event
        subscribers and perf counters are not saved.
        """
        target = _checkpoint_path(path, slot, directory, "save")
        if slot is not None:
            target.parent.mkdir(parents=True, exist_ok=True)
        _core.save_checkpoint(self._sim, os.fspath(target))
        return target

    @classmethod
    def load(
        cls,
        path: str | os.PathLike[str] | None = None,
        *,
        slot: str | None = None,
        directory: str | os.PathLike[str] = "checkpoints",
        comm: Any = None,
    ) -> Simulation:
        """A new Simulation continuing from a checkpoint written by :meth:`save` (or
        ``spikegraph-sim --save``): running it gives the spikes the saved run would
        have produced, bit for bit. A missing, truncated, corrupt or wrong-version
        file raises :class:`spikegraph.IoError` naming the problem. ``comm``: continue
        on these ranks (any number; the checkpoint may come from any other)."""
        source = _checkpoint_path(path, slot, directory, "load")
        if comm is None:
            core = _core.load_checkpoint(os.fspath(source))
        else:
            core = _core.load_checkpoint_distributed(os.fspath(source), communicator(comm))
        sim = cls.__new__(cls)
        sim._adopt(core)
        return sim

    def restore(
        self,
        path: str | os.PathLike[str] | None = None,
        *,
        slot: str | None = None,
        directory: str | os.PathLike[str] = "checkpoints",
    ) -> None:
        """Replace this simulation's state (and network) by a checkpoint's. The file
        is read and checked completely first: on any error this simulation is left
        exactly as it was. Subscriptions stay; an attached frame source is detached."""
        source = _checkpoint_path(path, slot, directory, "restore")
        core = _core.load_checkpoint(os.fspath(source))
        subscribers, next_id = self._subscribers, self._next_subscription
        self._adopt(core)
        self._subscribers, self._next_subscription = subscribers, next_id

    def _adopt(self, core: _core.Simulation) -> None:
        """Take over an engine simulation (from a checkpoint, or made on several ranks) with
        fresh Python-side state."""
        self._sim = core
        self.network = Network(core.graph)
        self._config = Config.__new__(Config)
        self._config._core = core.config
        self._init_python_state()

    # ------------------------------------------------------------ ranks
    @property
    def rank(self) -> int:
        """This process's rank (0 in one process)."""
        return int(self._sim.rank)

    @property
    def ranks(self) -> int:
        """The number of processes the simulation runs on (1 without ``comm``)."""
        return int(self._sim.ranks)

    @property
    def owned_nodes(self) -> range:
        """The node ids this rank updates (every node in one process). Its edges are
        those into these nodes and, with energy on, out of them."""
        first, end = self._sim.owned_nodes
        return range(int(first), int(end))

    @property
    def exchange_window(self) -> int:
        """Steps per spike exchange between ranks: the network's smallest delay in steps
        when no phase needs every step's spikes from other ranks (no energy, learning,
        homeostasis, structure or sensory input, and only the built-in services), else 1.
        Always 1 in one process (docs/distributed.md)."""
        return int(self._sim.exchange_window)

    @property
    def total_edges(self) -> int:
        """Edges of the whole network (``network`` and ``current_network`` hold this
        rank's part on several ranks)."""
        return int(self._sim.total_edges)

    def __repr__(self) -> str:
        return (
            f"Simulation(nodes={self.network.num_nodes}, edges={self._sim.total_edges}, "
            f"step={self.step}, backend={self.backend!r}, threads={self.threads})"
        )


_abort_hook_installed = False


def communicator(comm: Any) -> _core.Communicator:
    """A :class:`spikegraph.Communicator` from an mpi4py communicator (``MPI.COMM_WORLD``)
    or one already made (``spikegraph.mpi_world()``, ``spikegraph.local_communicator()``).

    On more than one rank, an uncaught Python exception on any rank ends every rank
    (``MPI_Abort``) instead of leaving the others waiting in a collective call."""
    global _abort_hook_installed
    if isinstance(comm, _core.Communicator):
        made = comm
    elif callable(getattr(comm, "py2f", None)):
        made = _core.mpi_communicator(int(comm.py2f()))
    else:
        raise InputError("comm must be an mpi4py communicator (MPI.COMM_WORLD) or a spikegraph.Communicator, "
                         f"got {type(comm).__name__}")
    if made.size > 1 and not _abort_hook_installed:
        previous = sys.excepthook

        def abort_all(kind: type[BaseException], value: BaseException, tb: Any) -> None:
            previous(kind, value, tb)
            sys.stderr.flush()
            made.abort(1)

        sys.excepthook = abort_all
        _abort_hook_installed = True
    return made


_SLOT_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")


def _step_arg(where: str, step: object) -> int:
    if isinstance(step, bool) or not isinstance(step, (int, np.integer)):
        raise InputError(f"{where}: step must be an integer, got {type(step).__name__}")
    return max(-(2**62), min(int(step), 2**62))


def _checkpoint_path(
    path: str | os.PathLike[str] | None, slot: str | None, directory: str | os.PathLike[str], op: str
) -> Path:
    if (path is None) == (slot is None):
        raise InputError(f"{op}: give exactly one of a path or a slot name")
    if slot is not None:
        if not slot or not set(slot) <= _SLOT_CHARS or slot.startswith("."):
            raise InputError(f"{op}: slot name {slot!r} must use letters, digits, '_', '-' or '.' only")
        return Path(directory) / f"{slot}{CHECKPOINT_SUFFIX}"
    return Path(os.fspath(cast("str | os.PathLike[str]", path)))
