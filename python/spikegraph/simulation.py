"""The Simulation: run loops, callbacks and progress around the C++ coordinator."""

from __future__ import annotations

import math
import os
import sys
import time
from collections.abc import Callable
from typing import Any, NamedTuple, cast

import numpy as np
import numpy.typing as npt

from . import _core
from .config import Config, ConfigLike, to_steps
from .errors import InputError
from .network import Network
from .progress import ProgressBar

Callback = Callable[["Simulation"], Any]
EventCallback = Callable[[dict[str, Any]], Any]
STIMULUS_KINDS = ("input", "add_drive", "set_drive")

# Runs of at least this many steps show a progress bar by default (on a terminal).
PROGRESS_MIN_STEPS = 20_000
# Without a callback, runs go to the engine in chunks of about this many seconds, so
# Ctrl-C is noticed promptly (chunking never changes results).
CHUNK_SECONDS = 0.1
MAX_STEPS = 2**62


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

    def __init__(self, network: Network, config: ConfigLike = None) -> None:
        if not isinstance(network, Network):
            raise TypeError(f"Simulation: network must be a spikegraph.Network, got {type(network).__name__}")
        self.network = network
        self._config = Config.coerce(config)
        self._sim = _core.Simulation(network._graph, self._config._core)
        self._subscribers: dict[int, EventCallback] = {}
        self._next_subscription = 1

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
        if progress is None:
            progress = steps >= PROGRESS_MIN_STEPS and sys.stderr.isatty()
        bar = ProgressBar(steps) if progress else None
        # Chunks: the callback period; else ~1% of the run for the bar; else sized so that a
        # chunk takes about CHUNK_SECONDS (Ctrl-C between chunks).
        adaptive = callback_every is None and bar is None
        if callback_every is not None:
            chunk = int(callback_every)
        elif bar is not None:
            chunk = max(1, steps // 100)
        else:
            chunk = 100
        done = 0
        try:
            while done < steps:
                n = min(chunk, steps - done)
                started = time.perf_counter()
                self._sim.run_steps(n)
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

    # ------------------------------------------------------------ results
    @property
    def spikes(self) -> Spikes:
        """The spike record (copies): steps (int64), nodes (uint32)."""
        steps, nodes = self._sim.spikes()
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

    def perf(self) -> dict[str, Any]:
        """Wall time per phase, spikes, synaptic events, memory."""
        return dict(self._sim.perf())

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
        ``metabolism``, ``flow_out``, ``flow_in``, ``overflow``, ``transfers``, ``total_after``
        and ``error`` (the conservation residual), one entry per step with energy enabled."""
        return dict(self._sim.ledger())

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

    @property
    def current_network(self) -> Network:
        """The network as the simulation has it now: with the spare node slots of
        structural plasticity and after its births, deaths and pruning."""
        return Network(self._sim.graph)

    def service_names(self) -> list[str]:
        return list(self._sim.service_names())

    def write_spike_file(self, path: str | os.PathLike[str]) -> None:
        """Write the spike record in spikegraph's binary spike format (docs/file-formats.md)."""
        self._sim.write_spike_file(os.fspath(path))

    def __repr__(self) -> str:
        return (
            f"Simulation(nodes={self.network.num_nodes}, edges={self.network.num_edges}, "
            f"step={self.step}, backend={self.backend!r}, threads={self.threads})"
        )
