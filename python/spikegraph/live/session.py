"""The live view: a simulation thread that runs, takes commands and publishes snapshots,
and a local web server (aiohttp, in its own thread) that hands the newest snapshot to each
browser tab and passes commands back.

The simulation thread never waits for a browser: it replaces one "latest snapshot" a few
times a second, and each connection sends whatever is latest when it is ready, so a slow
client skips frames instead of queueing them. Only the simulation thread calls the
Simulation (commands are queued to it and answered through futures).
"""

from __future__ import annotations

import asyncio
import base64
import concurrent.futures
import io
import json
import math
import queue
import secrets
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError
from ..io import spikes_npz_arrays
from ..network import NODE_TYPES

STATIC = Path(__file__).resolve().parent / "static"
#: Largest command a client may send (bytes); larger ones close the connection.
MAX_MESSAGE = 64 * 1024
#: The page's raster shows the last RASTER_WINDOW_MS of model time and keeps at most
#: about RASTER_WINDOW_SPIKES spikes in it: each snapshot sends its share of that budget
#: (at most MAX_RASTER_SPIKES), evenly subsampled, so the browser's drawing stays cheap
#: however fast the run goes.
RASTER_WINDOW_MS = 2000.0
RASTER_WINDOW_SPIKES = 20000
MAX_RASTER_SPIKES = 6000


def _require_aiohttp() -> Any:
    try:
        from aiohttp import web
    except ImportError as e:
        raise ImportError("the live view needs the optional package aiohttp: "
                          "pip install 'spikegraph[live]'") from e
    return web


def _grid_bytes(values: np.ndarray, lo: float, hi: float) -> str:
    """A grid scaled to 0..255 as base64 of its bytes (row-major)."""
    span = hi - lo if hi > lo else 1.0
    scaled = np.clip((np.asarray(values, dtype=np.float64) - lo) / span, 0.0, 1.0) * 255.0
    return base64.b64encode(np.rint(scaled).astype(np.uint8).tobytes()).decode("ascii")


class LiveView:
    """A simulation served to the browser. ``run=True``: a thread runs the simulation
    until :meth:`stop` (paused and resumed from the page). ``run=False`` (attach): the
    script keeps running the simulation and calls :meth:`update` between its runs, which
    takes the page's commands and publishes a snapshot (and waits while the page has
    paused the run)."""

    def __init__(self, sim: Any, *, host: str = "127.0.0.1", port: int = 0, run: bool = True,
                 fps: float = 5.0, chunk_ms: float | None = None, out_dir: str | Path | None = None) -> None:
        web = _require_aiohttp()
        if not (fps > 0 and math.isfinite(fps)):
            raise InputError(f"serve: fps must be > 0, got {fps}")
        self.sim = sim
        self.token = secrets.token_urlsafe(16)
        self._fps = float(fps)
        self._chunk_steps = max(1, round((chunk_ms if chunk_ms else 10.0) / sim.dt))
        self._out_dir = Path(out_dir) if out_dir else Path.cwd()
        self._commands: queue.Queue[tuple[dict[str, Any], concurrent.futures.Future[Any]]] = queue.Queue()
        self._latest: dict[str, Any] = {}
        self._version = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._running = True  # paused only from the page
        self._pending_steps = 0
        self._target_rtf: float | None = None
        self._last_publish = 0.0
        self._last_step = sim.step
        self._last_wall = time.perf_counter()
        self._ms_per_step = math.nan
        self._rtf = math.nan
        self._errors: list[str] = []
        self._hello = self._describe()
        self._publish(force=True)
        # The web server, in its own thread and event loop.
        self._loop = asyncio.new_event_loop()
        started = threading.Event()
        self._server_error: BaseException | None = None
        self._server = threading.Thread(target=self._serve, args=(web, host, port, started), daemon=True,
                                        name="spikegraph-live-server")
        self._server.start()
        started.wait(30)
        if self._server_error is not None:
            raise self._server_error
        self._thread: threading.Thread | None = None
        if run:
            self._thread = threading.Thread(target=self._run_loop, daemon=True, name="spikegraph-live-sim")
            self._thread.start()

    # ------------------------------------------------------------------ public
    @property
    def url(self) -> str:
        """The page's address, with its access token."""
        host = "127.0.0.1" if self.host in ("0.0.0.0", "") else self.host
        return f"http://{host}:{self.port}/?token={self.token}"

    def update(self) -> None:
        """Attach mode: take the page's commands and publish a snapshot (call between runs).
        While the page has paused the run, wait here (still taking commands)."""
        self._take_commands()
        self._publish()
        while not self._running and not self._stop.is_set() and self._pending_steps == 0:
            self._take_commands(timeout=0.05)
            self._publish()

    def wait(self) -> None:
        """Block until stopped (Ctrl-C stops the view and the simulation thread cleanly)."""
        try:
            while not self._stop.wait(0.2):
                pass
        except KeyboardInterrupt:
            pass
        finally:
            self.stop()

    def stop(self) -> None:
        """Stop the simulation thread (between two chunks) and the server."""
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=60)
        if self._loop.is_running():
            self._loop.call_soon_threadsafe(self._loop.stop)
        self._server.join(timeout=10)

    def __enter__(self) -> LiveView:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ simulation thread
    def _run_loop(self) -> None:
        while not self._stop.is_set():
            self._take_commands(timeout=0.0 if (self._running or self._pending_steps) else 0.05)
            if self._running or self._pending_steps:
                n = self._pending_steps or self._chunk_steps
                self._pending_steps = 0
                t0 = time.perf_counter()
                try:
                    self.sim.run_steps(n, progress=False)
                except Exception as e:  # e.g. a source that failed: pause and tell the page
                    self._running = False
                    self._errors.append(f"the run paused: {e or type(e).__name__}")
                if self._target_rtf:
                    model_s = n * self.sim.dt / 1000.0
                    behind = model_s * self._target_rtf - (time.perf_counter() - t0)
                    if behind > 0:
                        self._stop.wait(behind)
            self._publish()

    def _take_commands(self, timeout: float = 0.0) -> None:
        while True:
            try:
                if timeout:
                    message, future = self._commands.get(timeout=timeout)
                else:
                    message, future = self._commands.get_nowait()
            except queue.Empty:
                return
            timeout = 0.0
            try:
                future.set_result(self._execute(message))
            except Exception as e:  # any failure is the command's reply; the run goes on
                future.set_exception(e)

    def _execute(self, m: dict[str, Any]) -> Any:
        cmd = m["cmd"]
        sim = self.sim
        if cmd == "pause":
            self._running = False
        elif cmd == "resume":
            self._running = True
        elif cmd == "step":
            steps = m.get("steps", 1)
            if not isinstance(steps, int) or isinstance(steps, bool) or not 1 <= steps <= 10**6:
                raise InputError("step: steps must be an integer in 1..1000000")
            self._pending_steps = steps
        elif cmd == "speed":
            rtf = m.get("rtf")
            if rtf is not None and (isinstance(rtf, bool) or not isinstance(rtf, (int, float))
                                    or not (0 < rtf <= 1e6)):
                raise InputError("speed: rtf must be a number > 0 (wall seconds per model second) or null")
            self._target_rtf = None if rtf is None else float(rtf)
        elif cmd == "config":
            changes = m.get("changes")
            if not isinstance(changes, dict):
                raise InputError("config: 'changes' must be an object of keys and values")
            sim.update_config(changes)
            return {k: sim.config[k] for k in changes if isinstance(k, str) and "." in k}
        elif cmd == "stimulus":
            first, last, value = m.get("first"), m.get("last"), m.get("value", 1.0)
            n = int(self._types.size)
            if not (isinstance(first, int) and isinstance(last, int)) or isinstance(first, bool) \
                    or isinstance(last, bool):
                raise InputError("stimulus: first and last must be integer node ids")
            if not (0 <= first <= last < n) or last - first >= 100_000:
                raise InputError(f"stimulus: nodes {first}..{last} are not a range of at most 100000 "
                                 f"in [0, {n})")
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise InputError("stimulus: value must be a finite number")
            kind = m.get("kind", "input")
            if kind not in ("input", "add_drive", "set_drive"):
                raise InputError("stimulus: kind must be input, add_drive or set_drive")
            sim.schedule_stimulus(np.arange(first, last + 1), float(value), step=sim.step, kind=kind)
        elif cmd == "input":
            return self._switch_input(m)
        elif cmd == "checkpoint":
            self._out_dir.mkdir(parents=True, exist_ok=True)
            path = sim.save(self._out_dir / f"live-{sim.step}.sgckpt")
            return str(path)
        elif cmd == "spikes":  # the .npz format of spikegraph.io.save_spikes_npz, in memory
            s = sim.spikes
            buf = io.BytesIO()
            np.savez(buf, **spikes_npz_arrays(s.steps, s.nodes, s.dt_ms, int(self._types.size)))
            return buf.getvalue()
        else:
            raise InputError(f"unknown command {cmd!r}")
        return None

    def _switch_input(self, m: dict[str, Any]) -> str:
        """Open the new input first, so that one that cannot be opened (a missing file, no
        display, a missing optional package) leaves the current input as it was."""
        from .. import sources

        sim = self.sim
        kind = m.get("source")
        if sim.sensory_grid == (0, 0):
            raise InputError("input: the network has no sensory grid")
        new: Any = None
        if kind in ("image", "video"):
            path = m.get("path")
            if not isinstance(path, str) or not Path(path).is_file():
                raise InputError(f"input: no such file {path!r}")
            new = sources.ImageFiles(path) if kind == "image" else sources.VideoFile(path)
        elif kind == "screen":
            new = sources.ScreenSource()
        elif kind not in ("grating", "blank"):
            raise InputError("input: source must be grating, blank, image, video or screen")
        old = sim.detach_source()
        if old is not None and hasattr(old, "close"):
            old.close()
        sim.update_config({"sensory.source": "grating" if kind == "grating" else "none"})
        if kind == "blank":
            sim.set_frame(np.zeros(sim.sensory_grid))
        if new is not None:
            sim.attach_source(new, on_end="loop")
        return str(kind)

    # ------------------------------------------------------------------ snapshots
    def _describe(self) -> dict[str, Any]:
        """The page's fixed facts. The raster draws node ids sorted by type (stable), so
        each type is one band whatever order the network numbers its nodes in: ``bands``
        are [type, first row, last row] and frames send rows, not node ids."""
        types = np.asarray(self.sim.current_network.node_types)
        # Node types never change during a run (births fill slots of a mortal type), so
        # the layout the snapshots need is computed once here.
        self._types = types
        h, w = self.sim.sensory_grid
        self._sensory = np.flatnonzero(types == NODE_TYPES.index("sensory"))[: h * w]
        self._workspace = np.flatnonzero(types == NODE_TYPES.index("workspace"))
        order = np.argsort(types, kind="stable")
        self._row = np.empty(types.size, dtype=np.int64)
        self._row[order] = np.arange(types.size)
        sorted_types = types[order]
        starts = [int(a) for a in np.flatnonzero(np.r_[True, sorted_types[1:] != sorted_types[:-1]])]
        bands = [[NODE_TYPES[int(sorted_types[a])], a, b - 1]
                 for a, b in zip(starts, [*starts[1:], types.size])] if types.size else []
        return {"type": "hello", "nodes": int(types.size), "bands": bands, "dt_ms": self.sim.dt,
                "sensory_grid": [h, w], "workspace": int(self._workspace.size),
                "raster_window_ms": RASTER_WINDOW_MS,
                "live_keys": self.sim.live_config_keys()}

    def _publish(self, force: bool = False) -> None:
        now = time.perf_counter()
        if not force and now - self._last_publish < 1.0 / self._fps:
            return
        sim = self.sim
        steps_done = sim.step - self._last_step
        if steps_done > 0:
            self._ms_per_step = 1000.0 * (now - self._last_wall) / steps_done
            self._rtf = (now - self._last_wall) / (steps_done * sim.dt / 1000.0)
        snap = self._snapshot(self._last_step)
        self._last_publish = now
        self._last_step = sim.step
        self._last_wall = now
        with self._lock:
            self._latest = snap
            self._version += 1

    def _snapshot(self, since_step: int) -> dict[str, Any]:
        sim = self.sim
        recent = sim.spikes_since(since_step)
        steps, nodes = recent.steps, recent.nodes
        model_s = max(1, sim.step - since_step) * sim.dt / 1000.0
        types = self._types
        counts = np.bincount(types[nodes], minlength=len(NODE_TYPES))
        members = np.bincount(types, minlength=len(NODE_TYPES))
        rates = {NODE_TYPES[t]: float(counts[t] / members[t] / model_s)
                 for t in range(len(NODE_TYPES)) if members[t] and sim.step > since_step}
        budget = min(MAX_RASTER_SPIKES, max(200, round(RASTER_WINDOW_SPIKES * 1000.0 * model_s
                                                        / RASTER_WINDOW_MS)))
        if nodes.size > budget:
            keep = np.linspace(0, nodes.size - 1, budget).astype(np.int64)
            steps, nodes = steps[keep], nodes[keep]
        snap: dict[str, Any] = {
            "type": "frame", "step": sim.step, "time_ms": sim.time_ms, "running": self._running,
            "ms_per_step": _finite(self._ms_per_step), "rtf": _finite(self._rtf),
            "target_rtf": self._target_rtf,
            "raster": {"from": since_step, "to": sim.step, "steps": steps.tolist(),
                       "rows": self._row[nodes].tolist()},
            "rates": rates,
        }
        h, w = sim.sensory_grid
        energy = np.asarray(sim.state("energy"), dtype=np.float64)
        cap = float(sim.config["energy.cap"])
        if h * w:
            sensory = self._sensory
            drive = np.asarray(sim.state("drive"), dtype=np.float64)[sensory]
            snap["sensory"] = {"h": h, "w": w, "data": _grid_bytes(drive, 0.0, max(1e-9, float(drive.max())))}
            snap["energy_sensory"] = {"h": h, "w": w, "data": _grid_bytes(energy[sensory], 0.0, cap)}
        if self._workspace.size:
            image = sim.workspace_image(window_ms=max(sim.dt, min(1000.0, sim.time_ms or sim.dt)))
            ws = self._workspace
            snap["workspace"] = {"h": image.shape[0], "w": image.shape[1], "max_hz": float(image.max()),
                                 "data": _grid_bytes(image, 0.0, max(1.0, float(image.max())))}
            snap["energy_workspace"] = {"h": image.shape[0], "w": image.shape[1],
                                        "data": _grid_bytes(energy[ws], 0.0, cap)}
        home = sim.homeostasis
        if len(home.get("steps", [])):
            snap["branching"] = _finite(home["branching"][-1])
            snap["gain"] = _finite(home["gains"][-1])
        ledger = sim.ledger_since(sim.step - 1)
        if ledger["step"].size:
            snap["ledger"] = {k: _finite(v[-1]) for k, v in ledger.items() if k != "step"}
        if self._errors:
            snap["errors"] = self._errors[-3:]
        return snap

    # ------------------------------------------------------------------ web server
    def _serve(self, web: Any, host: str, port: int, started: threading.Event) -> None:
        asyncio.set_event_loop(self._loop)
        app = web.Application(client_max_size=MAX_MESSAGE)
        app.router.add_get("/", self._page)
        app.router.add_get("/ws", self._socket)
        app.router.add_get("/spikes.npz", self._download)
        app.router.add_static("/static/", STATIC)
        runner = web.AppRunner(app, access_log=None)
        try:
            self._loop.run_until_complete(runner.setup())
            site = web.TCPSite(runner, host, port)
            self._loop.run_until_complete(site.start())
            sockets = site._server.sockets  # the bound address (port 0 picks a free one)
            self.host, self.port = host, int(sockets[0].getsockname()[1])
        except BaseException as e:  # e.g. the port is taken: raised in the constructor
            self._server_error = e
            started.set()
            return
        started.set()
        try:
            self._loop.run_forever()
        finally:
            self._loop.run_until_complete(runner.cleanup())
            self._loop.close()

    def _authorised(self, request: Any) -> bool:
        return secrets.compare_digest(request.query.get("token", ""), self.token)

    async def _page(self, request: Any) -> Any:
        web = _require_aiohttp()
        if not self._authorised(request):
            return web.Response(status=403, text="spikegraph live view: the URL needs its token")
        return web.FileResponse(STATIC / "index.html")

    async def _download(self, request: Any) -> Any:
        web = _require_aiohttp()
        if not self._authorised(request):
            return web.Response(status=403, text="forbidden")
        data = await self._command({"cmd": "spikes"})
        return web.Response(body=data, content_type="application/octet-stream",
                            headers={"Content-Disposition": "attachment; filename=spikes.npz"})

    async def _command(self, message: dict[str, Any]) -> Any:
        """Run a command on the simulation thread (or in update()) and await its result."""
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()
        self._commands.put((message, future))
        return await asyncio.wrap_future(future)

    async def _socket(self, request: Any) -> Any:
        web = _require_aiohttp()
        if not self._authorised(request):
            return web.Response(status=403, text="forbidden")
        ws = web.WebSocketResponse(max_msg_size=MAX_MESSAGE, heartbeat=20.0)
        await ws.prepare(request)
        await ws.send_json(self._hello)
        sender = asyncio.ensure_future(self._send_frames(ws))
        try:
            async for msg in ws:
                if msg.type != web.WSMsgType.TEXT:
                    break
                await ws.send_json(await self._reply(msg.data))
        finally:
            sender.cancel()
        return ws

    async def _reply(self, text: str) -> dict[str, Any]:
        try:
            message = json.loads(text)
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            return {"type": "reply", "ok": False, "error": f"not JSON: {e}"}
        if not isinstance(message, dict) or not isinstance(message.get("cmd"), str):
            return {"type": "reply", "ok": False, "error": "a command is an object with a 'cmd' string"}
        ident = message.get("id")
        if message["cmd"] == "spikes":
            return {"type": "reply", "id": ident, "ok": False,
                    "error": "download the spikes from /spikes.npz"}
        try:
            result = await self._command(message)
        except Exception as e:
            return {"type": "reply", "id": ident, "cmd": message["cmd"], "ok": False,
                    "error": str(e) or type(e).__name__}
        return {"type": "reply", "id": ident, "cmd": message["cmd"], "ok": True, "result": result}

    async def _send_frames(self, ws: Any) -> None:
        """Send the newest snapshot whenever there is a newer one than the last sent."""
        sent = -1
        while not ws.closed:
            with self._lock:
                version, snap = self._version, self._latest
            if version != sent:
                try:
                    await ws.send_str(json.dumps(snap, allow_nan=False))
                except (ConnectionResetError, RuntimeError):
                    return
                sent = version
            await asyncio.sleep(0.05)


def _finite(x: Any) -> float | None:
    v = float(x)
    return v if math.isfinite(v) else None

