"""The live view (spikegraph.live; docs/live.md): the server's protocol and safety, and
the page in a real browser (Debian's chromium and chromedriver, driven by Selenium)."""

from __future__ import annotations

import asyncio
import importlib.util
import io
import json
import os
import shutil
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import spikegraph as sg

IN_CI = bool(os.environ.get("SPIKEGRAPH_CI"))
HAVE_AIOHTTP = importlib.util.find_spec("aiohttp") is not None
if not HAVE_AIOHTTP:
    assert not IN_CI, "CI installs spikegraph[live]: the live view tests must run there"
    pytest.skip("needs the live extra (pip install 'spikegraph[live]')", allow_module_level=True)


def small_sim(**changes: Any) -> sg.Simulation:
    cfg = sg.default_run_config()
    cfg.update({"graph.sensory_side": 16, "graph.workspace_side": 8, "sim.threads": 1, **changes})
    return sg.Simulation(sg.networks.from_config(cfg), cfg)


@pytest.fixture()
def view(tmp_path: Path) -> Iterator[Any]:
    v = small_sim().serve(out_dir=tmp_path)
    yield v
    v.stop()


def wait_for(condition: Any, timeout: float = 20.0) -> None:
    end = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > end:
            raise AssertionError("timed out")
        time.sleep(0.05)


class Client:
    """A websocket client of the view (aiohttp), driven from synchronous test code."""

    def __init__(self, view: Any) -> None:
        import aiohttp

        self.loop = asyncio.new_event_loop()
        self.url = view.url.replace("http://", "ws://").replace("/?token=", "/ws?token=")
        self.frames: list[dict[str, Any]] = []
        self.loop.run_until_complete(self._open(aiohttp))

    async def _open(self, aiohttp: Any) -> None:
        self.session = aiohttp.ClientSession()
        self.ws = await self.session.ws_connect(self.url)
        self.hello = await self.ws.receive_json()

    def command(self, payload: Any, raw: bool = False) -> dict[str, Any]:
        async def go() -> dict[str, Any]:
            await (self.ws.send_str(payload) if raw else self.ws.send_json(payload))
            while True:
                msg = json.loads((await self.ws.receive(timeout=30)).data)
                if msg["type"] == "reply":
                    return msg
                self.frames.append(msg)
        return self.loop.run_until_complete(go())

    def frame(self) -> dict[str, Any]:
        async def go() -> dict[str, Any]:
            while True:
                msg = json.loads((await self.ws.receive(timeout=30)).data)
                if msg["type"] == "frame":
                    return msg
        return self.loop.run_until_complete(go())

    def close(self) -> None:
        self.loop.run_until_complete(self.ws.close())
        self.loop.run_until_complete(self.session.close())
        self.loop.close()


def test_the_token_guards_every_door(view: Any) -> None:
    base = view.url.split("?")[0]
    for path in ("", "ws", "spikes.npz"):
        with pytest.raises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(base + path + "?token=wrong")
        assert e.value.code == 403
    assert b"spikegraph" in urllib.request.urlopen(view.url).read()
    assert view.url.startswith("http://127.0.0.1:")


def test_commands_and_hostile_messages(view: Any, tmp_path: Path) -> None:
    c = Client(view)
    try:
        assert c.hello["type"] == "hello" and c.hello["nodes"] == view.sim.current_network.num_nodes
        assert "learning.a_plus" in c.hello["live_keys"]
        # The raster's rows are the nodes sorted by type: one band per type present.
        types = np.asarray(view.sim.current_network.node_types)
        bands = c.hello["bands"]
        assert [b[0] for b in bands] == [sg.NODE_TYPES[t] for t in np.unique(types)]
        assert [b[2] - b[1] + 1 for b in bands] == [int((types == t).sum()) for t in np.unique(types)]
        assert bands[0][1] == 0 and bands[-1][2] == types.size - 1
        first = c.frame()
        assert all(0 <= r < types.size for r in first["raster"]["rows"])
        wait_for(lambda: c.frame()["step"] > first["step"])
        # Bad input: an error reply each, nothing changes, the run goes on.
        assert "not JSON" in c.command("{nope", raw=True)["error"]
        assert "object with a 'cmd'" in c.command([1, 2])["error"]
        assert "unknown command 'explode'" in c.command({"cmd": "explode"})["error"]
        bad_range = c.command({"cmd": "stimulus", "first": 0, "last": 10**9})
        assert not bad_range["ok"] and "not a range" in bad_range["error"]
        bad_cfg = c.command({"cmd": "config", "changes": {"sim.dt": 0.5}})
        assert not bad_cfg["ok"] and "sim.dt is fixed for a run" in bad_cfg["error"]
        assert not c.command({"cmd": "config", "changes": {"learning.a_plus": -1}})["ok"]
        assert view.sim.config["learning.a_plus"] == sg.default_run_config()["learning.a_plus"]
        assert not c.command({"cmd": "step", "steps": "many"})["ok"]
        assert not c.command({"cmd": "speed", "rtf": -1})["ok"]
        # Commands that work.
        ok = c.command({"cmd": "config", "changes": {"learning.a_plus": 0.007}})
        assert ok["ok"] and ok["result"] == {"learning.a_plus": 0.007}
        assert view.sim.config["learning.a_plus"] == 0.007
        assert c.command({"cmd": "pause"})["ok"]
        time.sleep(0.3)
        paused_at = c.frame()["step"]
        time.sleep(0.5)
        assert c.frame()["step"] == paused_at
        assert c.command({"cmd": "step", "steps": 7})["ok"]
        wait_for(lambda: c.frame()["step"] == paused_at + 7)
        assert c.command({"cmd": "stimulus", "first": 300, "last": 310, "value": 50.0})["ok"]
        saved = c.command({"cmd": "checkpoint"})
        assert saved["ok"] and Path(saved["result"]).is_file()
        assert sg.Simulation.load(saved["result"]).step == paused_at + 7
        assert c.command({"cmd": "speed", "rtf": 1.0})["ok"] and c.command({"cmd": "resume"})["ok"]
        spikes = np.load(io.BytesIO(urllib.request.urlopen(view.url.replace("/?", "/spikes.npz?")).read()))
        assert spikes["steps"].size == spikes["nodes"].size > 0
    finally:
        c.close()
    # A huge message closes that connection only; the run goes on.
    c = Client(view)
    try:
        async def huge() -> Any:
            await c.ws.send_str("x" * (200 * 1024))
            while True:
                msg = await c.ws.receive(timeout=30)
                if msg.type.name in ("CLOSE", "CLOSED", "CLOSING", "ERROR"):
                    return msg
        c.loop.run_until_complete(huge())
    finally:
        c.close()
    step = view.sim.step
    wait_for(lambda: view.sim.step > step)


def test_switching_the_input(view: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sim = view.sim
    h, w = sim.sensory_grid
    sensory = np.flatnonzero(np.asarray(sim.current_network.node_types) == sg.NODE_TYPES.index("sensory"))

    def drive() -> np.ndarray:  # as the page shows it (read while the run goes on)
        return np.asarray(sim.state("drive"), dtype=np.float64)[sensory[: h * w]].reshape(h, w).copy()

    c = Client(view)
    try:
        assert "source must be grating" in c.command({"cmd": "input", "source": "radio"})["error"]
        missing = c.command({"cmd": "input", "source": "image", "path": str(tmp_path / "none.png")})
        assert not missing["ok"] and "no such file" in missing["error"]
        assert c.command({"cmd": "input", "source": "blank"})["ok"]
        assert sim.config["sensory.source"] == "none"
        assert c.command({"cmd": "input", "source": "grating"})["ok"]
        assert sim.config["sensory.source"] == "grating"
        # An input that cannot be opened (here: no screen-capture package) is refused
        # and leaves the grating on; the run goes on.
        def no_screen(*_: Any, **__: Any) -> Any:
            raise ImportError("the screen source needs the optional package mss")

        monkeypatch.setattr(sg.sources, "ScreenSource", no_screen)
        refused = c.command({"cmd": "input", "source": "screen"})
        assert not refused["ok"] and "needs the optional package mss" in refused["error"]
        assert sim.config["sensory.source"] == "grating"
        step = sim.step
        wait_for(lambda: sim.step > step)
        if importlib.util.find_spec("imageio") is not None:
            import imageio.v3 as iio

            frame = np.zeros((h, w), dtype=np.uint8)
            frame[:, : w // 2] = 255  # bright left half
            iio.imwrite(tmp_path / "half.png", frame)
            assert c.command({"cmd": "input", "source": "image", "path": str(tmp_path / "half.png")})["ok"]
            assert sim.config["sensory.source"] == "none"
            wait_for(lambda: drive()[:, : w // 2].min() > 0 and drive()[:, w // 2:].max() == 0)
    finally:
        c.close()


def test_attach_mode_takes_commands_between_the_scripts_runs() -> None:
    sim = small_sim()
    with sim.serve(run=False) as view:
        c = Client(view)
        try:
            async def ask() -> None:
                await c.ws.send_json({"cmd": "config", "changes": {"homeostasis.gain_step": 0.02}})
            c.loop.run_until_complete(ask())
            for _ in range(20):
                sim.run(5.0)
                view.update()
            assert sim.config["homeostasis.gain_step"] == 0.02
        finally:
            c.close()


# ---------------------------------------------------------------- in a real browser

def chromium() -> Any:
    if importlib.util.find_spec("selenium") is None or not shutil.which("chromedriver"):
        assert not IN_CI, "CI installs selenium, chromium and chromium-driver"
        pytest.skip("needs selenium and Debian's chromium + chromium-driver")
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from benchmarks.live import open_browser  # one place for the headless browser's options

    return open_browser()


def test_the_page_in_a_browser(tmp_path: Path) -> None:
    browser = chromium()
    sim = small_sim()
    view = sim.serve(out_dir=tmp_path)
    try:
        browser.get(view.url)
        js = browser.execute_script

        def state() -> Any:
            return js("return window.live")

        wait_for(lambda: (state() or {}).get("frames", 0) > 3)
        wait_for(lambda: state()["drawn"] > 0)  # the raster fills
        step = int(browser.find_element("id", "step").text)
        wait_for(lambda: int(browser.find_element("id", "step").text) > step)  # the counter advances
        time.sleep(1.5)
        browser.save_screenshot(str(tmp_path / "running.png"))
        # Pause stops it.
        browser.find_element("id", "pause").click()
        wait_for(lambda: browser.find_element("id", "state").text == "paused")
        paused = int(browser.find_element("id", "step").text)
        time.sleep(0.6)
        assert int(browser.find_element("id", "step").text) == paused
        # A configuration change made in the page reaches the simulation.
        browser.find_element("id", "cfgkey").send_keys("homeostasis.gain_step")
        browser.find_element("id", "cfgvalue").send_keys("0.03")
        browser.find_element("id", "cfgapply").click()
        wait_for(lambda: sim.config["homeostasis.gain_step"] == 0.03)
        # An invalid one shows the engine's error and changes nothing.
        browser.find_element("id", "cfgkey").clear()
        browser.find_element("id", "cfgkey").send_keys("sim.dt")
        browser.find_element("id", "cfgvalue").clear()
        browser.find_element("id", "cfgvalue").send_keys("0.5")
        browser.find_element("id", "cfgapply").click()
        wait_for(lambda: "fixed for a run" in browser.find_element("id", "message").text)
        assert "error" in browser.find_element("id", "message").get_attribute("class")
        assert sim.config["sim.dt"] == 1.0
        # A stimulus to the (quiet) relay nodes shows up in the raster.
        bands = {b[0]: b for b in state()["hello"]["bands"]}
        relays = np.flatnonzero(np.asarray(sim.current_network.node_types) == sg.NODE_TYPES.index("relay"))
        first, last = int(relays[0]), int(relays[-1])
        assert last - first + 1 == relays.size == bands["relay"][2] - bands["relay"][1] + 1
        row0, row1 = bands["relay"][1], bands["relay"][2]  # where the raster draws them
        # At real time, so that the 2-s raster still shows the stimulus in the screenshot.
        from selenium.webdriver.support.ui import Select

        Select(browser.find_element("id", "speed")).select_by_value("1")
        wait_for(lambda: state()["last"]["target_rtf"] == 1)
        browser.find_element("id", "resume").click()
        for field, value in (("stimfirst", first), ("stimlast", last), ("stimvalue", 50)):
            browser.find_element("id", field).clear()
            browser.find_element("id", field).send_keys(str(value))
        before = js(f"return window.live.spikes.filter(s => s[1] >= {row0} && s[1] <= {row1}).length")
        browser.find_element("id", "stimapply").click()
        wait_for(lambda: js(f"return window.live.spikes.filter(s => s[1] >= {row0} && s[1] <= {row1})"
                            ".length") > before + (last - first) // 2)
        time.sleep(0.5)
        browser.save_screenshot(str(tmp_path / "stimulus.png"))
        # Several tabs can watch at once.
        browser.switch_to.new_window("tab")
        browser.get(view.url)
        wait_for(lambda: (js("return window.live") or {}).get("frames", 0) > 2)
        out = os.environ.get("SPIKEGRAPH_LIVE_SCREENSHOTS")
        if out:
            Path(out).mkdir(parents=True, exist_ok=True)
            for name in ("running.png", "stimulus.png"):
                shutil.copy(tmp_path / name, Path(out) / name)
    finally:
        browser.quit()
        view.stop()


# ---------------------------------------------------------------- the command line

def test_cli_live_serves_until_stopped(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
                                       tmp_path: Path) -> None:
    from spikegraph import cli
    from spikegraph.live import LiveView

    seen: dict[str, Any] = {}

    def wait(self: LiveView) -> None:  # stands in for the user: look at the page, then Ctrl-C
        seen["page"] = urllib.request.urlopen(self.url).read()
        wait_for(lambda: self.sim.step > 0)
        seen["source"] = self.sim.config["sensory.source"]
        self.stop()

    monkeypatch.setattr(LiveView, "wait", wait)
    small = ["--set", "graph.sensory_side=8", "--set", "graph.workspace_side=4", "--no-progress"]
    assert cli.main(["run", "--live", "--grating", "--out", str(tmp_path), *small]) == 0
    out = capsys.readouterr().out
    assert "live view     http://127.0.0.1:" in out and "token=" in out and b"spikegraph" in seen["page"]
    assert seen["source"] == "grating" and "spikes" in out  # the summary at the end


def test_ctrl_c_stops_the_live_run_cleanly(tmp_path: Path) -> None:
    import signal
    import subprocess

    proc = subprocess.Popen(
        [sys.executable, "-m", "spikegraph", "run", "--live", "--set", "graph.sensory_side=8",
         "--set", "graph.workspace_side=4", "--no-progress"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path)
    try:
        assert proc.stdout is not None
        url = ""
        for line in proc.stdout:
            if line.startswith("live view"):
                url = line.split()[-1]
                break
        assert url.startswith("http://127.0.0.1:")
        assert b"spikegraph" in urllib.request.urlopen(url).read()
        time.sleep(0.5)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    assert "spikes" in out and "Traceback" not in err
