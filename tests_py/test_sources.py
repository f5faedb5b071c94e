"""Frame sources (spikegraph.sources), Simulation.attach_source and the workspace readout."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest
import spikegraph as sg
from spikegraph.sources import (
    ArraySource,
    FrameSource,
    GratingSource,
    ImageFiles,
    ScreenSource,
    VideoFile,
    as_frame,
    open_source,
)

iio = pytest.importorskip("imageio.v3")


def small_config(**changes: Any) -> sg.Config:
    """The default run on an 8 x 8 sensory grid (736 nodes), without the built-in grating."""
    cfg = sg.default_run_config()
    cfg.update({"graph.sensory_side": 8, "sim.threads": 1, "sensory.source": "none", **changes})
    return cfg


@pytest.fixture(scope="module")
def net() -> sg.Network:
    return sg.networks.from_config(small_config())


def frames(n: int = 6, h: int = 24, w: int = 32, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (n, h, w, 3), dtype=np.uint8)


def same_run(a: sg.Simulation, b: sg.Simulation) -> None:
    assert a.step == b.step
    assert a.frames_applied() == b.frames_applied()
    np.testing.assert_array_equal(a.spikes.steps, b.spikes.steps)
    np.testing.assert_array_equal(a.spikes.nodes, b.spikes.nodes)
    for name in ("v", "energy", "drive", "threshold"):
        np.testing.assert_array_equal(a.state(name), b.state(name), err_msg=name)


# ---------------------------------------------------------------- frames and array sources


def test_as_frame_normalises_and_rejects() -> None:
    gray = np.zeros((4, 5, 1), np.uint8)
    assert as_frame(gray, "x").shape == (4, 5)
    assert as_frame(np.zeros((4, 5, 2), np.uint8), "x").shape == (4, 5)  # gray + alpha
    wide = as_frame(np.full((2, 2), 65535, np.uint16), "x")
    assert wide.dtype == np.float32 and np.all(wide == 1.0)
    assert as_frame(np.ones((2, 2), bool), "x").max() == 255
    with pytest.raises(sg.InputError, match=r"clip frame 3: expected an \(H, W\).*got shape \(4, 5, 7\)"):
        as_frame(np.zeros((4, 5, 7)), "clip frame 3")
    with pytest.raises(sg.InputError, match="got shape"):
        as_frame(np.zeros(5), "x")
    with pytest.raises(sg.InputError, match="int64"):
        as_frame(np.zeros((2, 2), np.int64), "x")
    bad = np.zeros((3, 3), np.float32)
    bad[1, 2] = np.nan
    with pytest.raises(sg.InputError, match=r"f frame 0: pixel \(1, 2\) = nan is not finite"):
        as_frame(bad, "f frame 0")


def test_array_source_stack_list_and_iterator() -> None:
    stack = frames(3)
    src = ArraySource(stack)
    assert isinstance(src, FrameSource)
    got = list(src)
    assert len(got) == 3 and all(np.array_equal(g, s) for g, s in zip(got, stack))
    assert src.next_frame() is None
    src.rewind()
    first = src.next_frame()
    assert first is not None and np.array_equal(first, stack[0])
    assert len(list(ArraySource([stack[0], stack[1]]))) == 2
    once = ArraySource(f for f in stack)
    assert len(list(once)) == 3
    with pytest.raises(sg.InputError, match="one-shot iterator cannot be rewound"):
        once.rewind()
    with pytest.raises(sg.InputError, match=r"frames\[None\]"):
        ArraySource(np.zeros((4, 4)))
    with pytest.raises(sg.InputError, match="expected an array stack"):
        ArraySource(3)  # type: ignore[arg-type]


# ---------------------------------------------------------------- image files


def test_image_files_single_list_glob(tmp_path: Path) -> None:
    stack = frames(3)
    paths = []
    for i, f in enumerate(stack):
        paths.append(tmp_path / f"frame_{i:02d}.png")
        iio.imwrite(paths[-1], f)
    with ImageFiles(paths[0]) as one:
        a = one.next_frame()
        assert a is not None and np.array_equal(a, stack[0])  # PNG is lossless
        assert one.next_frame() is None
        one.rewind()
        assert np.array_equal(one.next_frame(), stack[0])  # type: ignore[arg-type]
    by_glob = ImageFiles(str(tmp_path / "frame_*.png"))
    assert [p.rsplit("/", 1)[-1] for p in by_glob.paths] == ["frame_00.png", "frame_01.png", "frame_02.png"]
    assert all(np.array_equal(g, s) for g, s in zip(by_glob, stack))
    gray = tmp_path / "gray16.png"
    iio.imwrite(gray, np.full((5, 6), 65535, np.uint16))
    g = ImageFiles([gray]).next_frame()
    assert g is not None and g.dtype == np.float32 and g.shape == (5, 6) and float(g.max()) == 1.0
    assert isinstance(open_source(str(paths[1])), ImageFiles)
    assert isinstance(open_source([paths[0], paths[1]]), ImageFiles)


def test_image_file_errors_name_the_file(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.png"
    with pytest.raises(sg.IoError, match=f"file not found: '{missing}'"):
        ImageFiles(missing)
    with pytest.raises(sg.IoError, match="no file matches the pattern"):
        ImageFiles(str(tmp_path / "*.png"))
    with pytest.raises(sg.InputError, match="empty"):
        ImageFiles([])
    corrupt = tmp_path / "corrupt.png"
    corrupt.write_bytes(b"\x89PNG\r\n\x1a\nthis is not an image")
    src = ImageFiles(corrupt)
    with pytest.raises(sg.IoError, match=rf"read image '{corrupt}' \(frame 0\)"):
        src.next_frame()


# ---------------------------------------------------------------- video


@pytest.fixture(scope="module")
def video(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, np.ndarray]:
    pytest.importorskip("imageio_ffmpeg")
    path = tmp_path_factory.mktemp("video") / "clip.mp4"
    # Smooth frames (lossy codec): a bright square moving right over a dark background.
    clip = np.full((5, 48, 64, 3), 20, np.uint8)
    for k in range(5):
        clip[k, 16:32, 8 * k:8 * k + 16] = 230
    iio.imwrite(path, clip, fps=10)
    return path, clip


def test_video_frames_in_order(video: tuple[Path, np.ndarray]) -> None:
    path, clip = video
    with VideoFile(path) as src:
        got = list(src)
        assert len(got) == 5 and src.frames_read == 5
        for g, c in zip(got, clip):
            assert g.shape == c.shape and g.dtype == np.uint8
            assert np.abs(g.astype(int) - c.astype(int)).mean() < 6  # lossy, but the same picture
        src.rewind()
        again = src.next_frame()
        assert again is not None and np.array_equal(again, got[0])
    assert isinstance(open_source(str(path)), VideoFile)


def test_video_errors_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(sg.IoError, match=r"clip\.mp4': file not found"):
        VideoFile(tmp_path / "clip.mp4")
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"\x00\x00\x00\x18ftypmp42 but then nothing useful" * 3)
    with pytest.raises(sg.IoError, match=rf"open video '{broken}': not a readable video"):
        VideoFile(broken)


# ---------------------------------------------------------------- grating, screen, dispatch


def test_grating_source_matches_the_engine_grating(net: sg.Network) -> None:
    engine = sg.Simulation(net, small_config(**{"sensory.source": "grating"}))
    engine.run(53.0)
    python = sg.Simulation(net, small_config())
    python.attach_source(GratingSource.for_simulation(python))
    python.run(53.0)
    assert python.frames_applied() == engine.frames_applied() == 11
    sensory = net.node_types == sg.NODE_TYPES.index("sensory")
    np.testing.assert_allclose(python.drive[sensory], engine.drive[sensory], rtol=0, atol=1e-6)
    assert engine.drive[sensory].std() > 0.3  # a real pattern, not a uniform field


def test_grating_source_values() -> None:
    g = GratingSource((6, 10), wavelength=4.0, orientation_deg=0.0, speed_hz=0.0, contrast=1.0)
    frame = g.next_frame()
    assert frame is not None and frame.shape == (6, 10) and frame.dtype == np.float32
    np.testing.assert_allclose(frame[0], 0.5 + 0.5 * np.sin(2 * np.pi * np.arange(10) / 4.0), atol=1e-6)
    assert np.array_equal(frame[0], frame[5])  # orientation 0: constant along columns
    moving = GratingSource((4, 4), speed_hz=100.0, dt_ms=1.0, every_steps=5)
    assert not np.array_equal(moving.next_frame(), moving.next_frame())  # type: ignore[arg-type]
    with pytest.raises(sg.InputError, match="contrast"):
        GratingSource((4, 4), contrast=2.0)
    with pytest.raises(sg.InputError, match="wavelength"):
        GratingSource((4, 4), wavelength=0.0)
    with pytest.raises(sg.InputError, match="shape"):
        GratingSource((0, 4))


def test_screen_capture_without_display_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.setattr("sys.platform", "linux")
    with pytest.raises(sg.IoError, match=r"no display .*needs a graphical session"):
        ScreenSource()


class FakeShot:
    """Stands in for mss.mss(): a 3 x 4 BGRA screen whose blue channel counts grabs."""

    monitors: ClassVar[list[dict[str, int]]] = [{}, {"left": 0, "top": 0, "width": 4, "height": 3}]

    def __init__(self) -> None:
        self.grabs: list[dict[str, int]] = []
        self.closed = False

    def grab(self, area: dict[str, int]) -> np.ndarray:
        self.grabs.append(area)
        shot = np.zeros((area["height"], area["width"], 4), np.uint8)
        shot[..., 0], shot[..., 1], shot[..., 2] = len(self.grabs), 20, 30  # B, G, R
        return shot

    def close(self) -> None:
        self.closed = True


def test_screen_capture_with_mss(monkeypatch: pytest.MonkeyPatch) -> None:
    import types

    shot = FakeShot()
    monkeypatch.setitem(sys.modules, "mss", types.SimpleNamespace(mss=lambda: shot))
    monkeypatch.setenv("DISPLAY", ":0")
    with ScreenSource() as screen:
        first, second = screen.next_frame(), screen.next_frame()
    assert first is not None and second is not None and first.shape == (3, 4, 3)
    assert first[0, 0].tolist() == [30, 20, 1] and second[0, 0].tolist() == [30, 20, 2]  # RGB
    assert shot.grabs[0] == FakeShot.monitors[1] and shot.closed
    region = ScreenSource(region=(5, 6, 2, 1))
    assert np.asarray(region.next_frame()).shape == (1, 2, 3)
    assert shot.grabs[-1] == {"left": 5, "top": 6, "width": 2, "height": 1}
    with pytest.raises(sg.InputError, match="region must be"):
        ScreenSource(region=(0, 0, 0, 5))

    def broken_grab(area: dict[str, int]) -> np.ndarray:
        raise RuntimeError("XGetImage() failed")

    shot.grab = broken_grab  # type: ignore[method-assign]
    with pytest.raises(sg.IoError, match="screen frame 0: capture failed: XGetImage"):
        ScreenSource().next_frame()

    def no_display() -> FakeShot:
        raise RuntimeError("$DISPLAY not set")

    monkeypatch.setitem(sys.modules, "mss", types.SimpleNamespace(mss=no_display))
    with pytest.raises(sg.IoError, match="screen: cannot open the display"):
        ScreenSource()


def test_screen_capture_falls_back_to_pillow(monkeypatch: pytest.MonkeyPatch) -> None:
    image_grab = pytest.importorskip("PIL.ImageGrab")
    from PIL import Image

    boxes: list[Any] = []

    def grab(bbox: Any = None) -> Any:
        boxes.append(bbox)
        return Image.new("RGBA", (4, 2), (10, 20, 30, 255))

    monkeypatch.setitem(sys.modules, "mss", None)  # "import mss" fails
    monkeypatch.setattr(image_grab, "grab", grab)
    monkeypatch.setenv("DISPLAY", ":0")
    frame = ScreenSource(region=(1, 2, 4, 2)).next_frame()
    assert frame is not None and frame.shape == (2, 4, 3) and frame[0, 0].tolist() == [10, 20, 30]
    assert boxes == [(1, 2, 5, 4)]


def test_open_source_dispatch_and_audio(tmp_path: Path) -> None:
    assert isinstance(open_source(frames(2)), ArraySource)
    assert isinstance(open_source([frames(1)[0]]), ArraySource)
    with pytest.raises(sg.InputError, match=r"\.wav is an audio file"):
        open_source(str(tmp_path / "sound.wav"))


# ---------------------------------------------------------------- attach_source


class Minimal:
    """Only the FrameSource protocol: next_frame() and close()."""

    def __init__(self, stack: np.ndarray) -> None:
        self.left = list(stack)
        self.closed = False

    def next_frame(self) -> np.ndarray | None:
        return self.left.pop(0) if self.left else None

    def close(self) -> None:
        self.closed = True


def test_any_object_with_the_protocol_is_a_source(net: sg.Network) -> None:
    stack = frames(3, seed=7)
    src = Minimal(stack)
    assert isinstance(src, FrameSource)
    fed = sg.Simulation(net, small_config())
    fed.attach_source(src, every_ms=4.0)
    fed.run(20.0)
    assert fed.frames_applied() == 3 and not src.left
    manual = sg.Simulation(net, small_config())
    for k in range(3):
        manual.set_frame(stack[k])
        manual.run_steps(4)
    manual.run_steps(8)
    same_run(fed, manual)


@pytest.mark.parametrize(("every_ms", "callback_every"), [(None, None), (7.0, 4), (3.0, 50)])
def test_attached_source_equals_set_frame_by_hand(net: sg.Network, every_ms: float | None,
                                                  callback_every: int | None) -> None:
    stack = frames(40, seed=3)
    fed = sg.Simulation(net, small_config())
    fed.attach_source(ArraySource(stack), every_ms=every_ms)
    seen: list[int] = []
    fed.run(60.0, callback=lambda s: seen.append(s.step), callback_every=callback_every)
    if callback_every is not None:  # callbacks keep their period; frames split chunks inside
        assert seen == [min(k * callback_every, 60) for k in range(1, -(-60 // callback_every) + 1)]
    period = 5 if every_ms is None else int(every_ms)
    manual = sg.Simulation(net, small_config())
    for step in range(0, 60, period):
        manual.set_frame(stack[step // period])
        manual.run_steps(min(period, 60 - step))
    same_run(fed, manual)
    assert fed.frames_applied() == -(-60 // period)
    assert fed.spikes.num_spikes > 0


def test_attached_source_across_runs_and_detach(net: sg.Network) -> None:
    stack = frames(20, seed=4)
    fed = sg.Simulation(net, small_config())
    src = ArraySource(stack)
    fed.attach_source(src)
    assert fed.source is src
    fed.run(12.0)
    fed.run_steps(9)  # frames at 0, 5, 10, 15, 20 across the two runs
    assert fed.detach_source() is src and fed.source is None
    fed.run(5.0)
    manual = sg.Simulation(net, small_config())
    for k, n in enumerate((5, 5, 5, 5, 1)):
        manual.set_frame(stack[k])
        manual.run_steps(n)
    manual.run(5.0)
    same_run(fed, manual)


def test_end_of_source_stop_loop_raise(net: sg.Network) -> None:
    stack = frames(2, seed=5)
    stop = sg.Simulation(net, small_config())
    stop.attach_source(ArraySource(stack), on_end="stop")
    stop.run(30.0)
    assert stop.frames_applied() == 2
    loop = sg.Simulation(net, small_config())
    loop.attach_source(ArraySource(stack), on_end="loop")
    loop.run(30.0)
    assert loop.frames_applied() == 6
    manual = sg.Simulation(net, small_config())
    for k in range(6):
        manual.set_frame(stack[k % 2])
        manual.run_steps(5)
    same_run(loop, manual)
    fail = sg.Simulation(net, small_config())
    fail.attach_source(ArraySource(stack, label="two frames"), on_end="raise")
    with pytest.raises(sg.InputError, match=r"two frames: ran out of frames after 2 \(at step 10\)"):
        fail.run(30.0)
    assert fail.step == 10
    with pytest.raises(sg.InputError, match="on_end must be one of stop, loop, raise"):
        fail.attach_source(ArraySource(stack), on_end="again")
    with pytest.raises(sg.InputError, match="needs a source with a rewind"):
        fail.attach_source(Minimal(stack), on_end="loop")
    with pytest.raises(sg.InputError, match="cannot loop a source without frames"):
        empty = sg.Simulation(net, small_config())
        empty.attach_source(ArraySource([]), on_end="loop")
        empty.run(5.0)


def test_bad_frame_names_source_and_index(net: sg.Network) -> None:
    stack = frames(4, seed=6).astype(np.float32) / 255
    stack[2, 3, 4, 1] = 1.5  # out of [0, 1]: the engine refuses it
    sim = sg.Simulation(net, small_config())
    sim.attach_source(ArraySource(stack, label="clip"))
    with pytest.raises(sg.InputError, match=r"clip frame 2: .*1\.5"):
        sim.run(20.0)
    assert sim.step == 10 and sim.frames_applied() == 2  # stopped before the bad frame's step
    shaped = sg.Simulation(net, small_config())
    shaped.attach_source(ArraySource([frames(1)[0], np.zeros((4, 4, 5), np.uint8)], label="mixed"))
    with pytest.raises(sg.InputError, match=r"mixed frame 1: expected .*got shape \(4, 4, 5\)"):
        shaped.run(10.0)
    nan = np.zeros((2, 4, 4), np.float64)
    nan[1, 0, 0] = np.nan
    with pytest.raises(sg.InputError, match=r"nan frame 1: pixel \(0, 0\) = nan"):
        s = sg.Simulation(net, small_config())
        s.attach_source(ArraySource(nan, label="nan"))
        s.run(10.0)


def test_attach_source_argument_errors(net: sg.Network) -> None:
    sim = sg.Simulation(net, small_config())
    with pytest.raises(sg.InputError, match="expected a frame source"):
        sim.attach_source(np.zeros((2, 2)))  # type: ignore[arg-type]
    for bad in (0.0, -1.0, float("nan"), True, "5"):
        with pytest.raises(sg.InputError, match="every_ms"):
            sim.attach_source(ArraySource(frames(1)), every_ms=bad)  # type: ignore[arg-type]


def test_video_drives_the_run(net: sg.Network, video: tuple[Path, np.ndarray]) -> None:
    path, _ = video
    fed = sg.Simulation(net, small_config())
    with VideoFile(path) as src:
        fed.attach_source(src)
        fed.run(40.0)
    assert fed.frames_applied() == 5
    manual = sg.Simulation(net, small_config())
    for frame in VideoFile(path):
        manual.set_frame(frame)
        manual.run_steps(5)
    manual.run_steps(15)
    same_run(fed, manual)


# ---------------------------------------------------------------- workspace readout


def test_workspace_image_default_network() -> None:
    cfg = small_config(**{"graph.workspace_side": 4})
    sim = sg.Simulation(sg.networks.from_config(cfg), cfg)
    ids = sim.workspace_nodes()
    assert ids.size == 16 and np.all(sim.network.node_types[ids] == sg.NODE_TYPES.index("workspace"))
    rates = np.zeros(sim.network.num_nodes, np.float32)
    rates[ids] = np.arange(16)
    sim.set_state("rate", rates)
    image = sim.workspace_image()
    assert image.shape == (4, 4) and image.dtype == np.float64
    np.testing.assert_array_equal(image.ravel(), np.arange(16))


def test_workspace_image_from_a_spike_window(isolated: Any) -> None:
    # Nodes 0-1 dynamic, 2-10 workspace (3 x 3), node 11 dynamic.
    types = ["dynamic", "dynamic", *["workspace"] * 9, "dynamic"]
    sim = sg.Simulation(isolated(12, types), {"sim": {"threads": 1}})
    sim.schedule_stimulus([2, 6], 5.0, step=3)       # one spike each at step 3
    sim.schedule_stimulus([6, 10, 11], 5.0, step=30)  # at step 30
    sim.run(50.0)
    assert sim.spikes.num_spikes == 5
    image = sim.workspace_image(window_ms=25.0)  # steps 25..49: node 6 and 10 once
    expected = np.zeros(9)
    expected[[4, 8]] = 1 / 0.025
    np.testing.assert_allclose(image.ravel(), expected)
    whole = sim.workspace_image(window_ms=1000.0)  # longer than the run: steps 0..49
    assert whole.ravel()[0] == pytest.approx(1 / 0.05) and whole.ravel()[4] == pytest.approx(2 / 0.05)
    with pytest.raises(sg.InputError, match="window_ms"):
        sim.workspace_image(window_ms=0.0)
    off = sg.Simulation(isolated(12, types), {"record": {"spikes": False}})
    with pytest.raises(sg.InputError, match=r"record\.spikes"):
        off.workspace_image(window_ms=10.0)
    with pytest.raises(sg.InputError, match="no workspace nodes"):
        sg.Simulation(isolated(3), {}).workspace_image()
    row = sg.Simulation(isolated(3, ["workspace"] * 3), {})
    assert row.workspace_image().shape == (1, 3)
