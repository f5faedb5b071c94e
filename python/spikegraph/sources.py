"""Frame sources: where the sensory frames of a run come from.

A frame source is any object with ``next_frame() -> ndarray | None`` (``None`` when it
has no more frames) and ``close()``. :meth:`spikegraph.Simulation.attach_source` pulls
one frame every ``sensory.interval`` steps (or every ``every_ms``) and hands it to
:meth:`~spikegraph.Simulation.set_frame`. The sources here:

* :class:`ArraySource`: frames from a numpy stack ``(N, H, W[, C])`` or any iterable;
* :class:`ImageFiles`: one image file, a list of files or a glob pattern (imageio);
* :class:`VideoFile`: the frames of a video file (imageio with its ffmpeg or pyav plugin);
* :class:`GratingSource`: the moving grating of the built-in input, computed in numpy at
  any resolution (the engine's own grating needs no source: ``sensory.source = "grating"``);
* :class:`ScreenSource`: live screen capture (``mss`` or Pillow); needs a display.

:func:`open_source` picks the right one for a path, pattern or array. Reading errors are
:class:`~spikegraph.IoError` and bad frames :class:`~spikegraph.InputError`; both name
the source (file) and the frame index.
"""

from __future__ import annotations

import glob as globlib
import math
import os
import sys
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol, Union, runtime_checkable

import numpy as np
import numpy.typing as npt

from .errors import InputError, IoError

PathLike = Union[str, "os.PathLike[str]"]

#: File name suffixes read as videos (everything else is read as an image).
VIDEO_SUFFIXES: frozenset[str] = frozenset(
    {".mp4", ".m4v", ".mov", ".avi", ".mkv", ".webm", ".mpg", ".mpeg", ".wmv", ".flv", ".gif"}
)
#: Audio file suffixes: not frame sources (audio input goes to the audio sensory nodes).
AUDIO_SUFFIXES: frozenset[str] = frozenset({".wav", ".flac", ".ogg", ".mp3"})
#: What to do when an attached source runs out of frames.
END_ACTIONS: tuple[str, ...] = ("stop", "loop", "raise")


@runtime_checkable
class FrameSource(Protocol):
    """What :meth:`spikegraph.Simulation.attach_source` needs from a source."""

    def next_frame(self) -> np.ndarray | None:
        """The next frame ((H, W) gray or (H, W, 3|4) RGB[A]; uint8, float32 or float64),
        or ``None`` when there are no more."""

    def close(self) -> None:
        """Release files, decoders or devices."""


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def _require_imageio() -> Any:
    try:
        import imageio.v3 as iio
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError(
            "reading image and video files needs imageio: pip install imageio imageio-ffmpeg "
            "(or pip install 'spikegraph[io]')"
        ) from e
    return iio


def as_frame(frame: npt.ArrayLike, where: str) -> np.ndarray:
    """``frame`` as an array :meth:`~spikegraph.Simulation.set_frame` accepts.

    (H, W, 1) becomes (H, W); gray + alpha (H, W, 2) keeps the gray channel; uint16 is
    scaled to float32 in [0, 1]; bool becomes uint8 0/255. Raises :class:`InputError`
    (message starting with ``where``) for other shapes, other dtypes and non-finite
    float values.
    """
    arr = np.asarray(frame)
    if arr.ndim == 3 and arr.shape[2] in (1, 2):
        arr = arr[:, :, 0]
    if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[2] not in (3, 4)) or 0 in arr.shape:
        raise InputError(f"{where}: expected an (H, W) gray or (H, W, 3|4) RGB[A] frame, "
                         f"got shape {arr.shape}")
    if arr.dtype == np.bool_:
        return arr.astype(np.uint8) * np.uint8(255)
    if arr.dtype == np.uint16:
        return arr.astype(np.float32) * np.float32(1.0 / 65535.0)
    if arr.dtype not in (np.uint8, np.float32, np.float64):
        raise InputError(f"{where}: expected uint8, uint16, float32 or float64 pixels, got {arr.dtype}")
    if arr.dtype.kind == "f" and not np.isfinite(arr).all():
        bad = np.argwhere(~np.isfinite(arr))[0]
        raise InputError(f"{where}: pixel {tuple(int(i) for i in bad)} = {arr[tuple(bad)]} is not finite")
    return arr


class _Source:
    """Shared behaviour: a label for messages, a frame counter, context manager, iteration."""

    label: str = "source"

    def __init__(self) -> None:
        self.frames_read = 0

    def next_frame(self) -> np.ndarray | None:
        frame = self._read()
        if frame is None:
            return None
        where = f"{self.label} frame {self.frames_read}"
        self.frames_read += 1
        return as_frame(frame, where)

    def _read(self) -> Any:
        raise NotImplementedError

    def rewind(self) -> None:
        """Start again at the first frame (``on_end="loop"``)."""
        self.frames_read = 0

    def close(self) -> None:
        return None

    def __enter__(self) -> _Source:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def __iter__(self) -> Iterator[np.ndarray]:
        while True:
            frame = self.next_frame()
            if frame is None:
                return
            yield frame

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.label}, frames_read={self.frames_read})"


class ArraySource(_Source):
    """Frames from a numpy stack ``(N, H, W)`` / ``(N, H, W, C)`` or from an iterable of
    frames (a list, a generator...). A one-shot iterator cannot be rewound."""

    def __init__(self, frames: npt.ArrayLike | Iterable[npt.ArrayLike], label: str = "array") -> None:
        super().__init__()
        self.label = label
        self._frames: Sequence[Any] | np.ndarray | None = None
        self._iter: Iterator[Any] | None = None
        if isinstance(frames, np.ndarray):
            if frames.ndim not in (3, 4):
                raise InputError(f"{label}: a frame stack must have shape (N, H, W) or (N, H, W, C), "
                                 f"got {frames.shape} (wrap a single frame as frames[None])")
            self._frames = frames
        elif isinstance(frames, Sequence) and not isinstance(frames, (str, bytes)):
            self._frames = frames
        elif isinstance(frames, Iterable):
            self._iter = iter(frames)
        else:
            raise InputError(f"{label}: expected an array stack or an iterable of frames, "
                             f"got {type(frames).__name__}")

    def _read(self) -> Any:
        if self._frames is not None:
            return self._frames[self.frames_read] if self.frames_read < len(self._frames) else None
        assert self._iter is not None
        return next(self._iter, None)

    def rewind(self) -> None:
        if self._frames is None:
            raise InputError(f"{self.label}: a one-shot iterator cannot be rewound "
                             "(pass a list or an array to loop)")
        super().rewind()


def _expand_paths(paths: PathLike | Sequence[PathLike]) -> list[str]:
    if isinstance(paths, (str, os.PathLike)):
        text = os.fspath(paths)
        if any(c in text for c in "*?["):
            found = sorted(globlib.glob(text))
            if not found:
                raise IoError(f"image files: no file matches the pattern '{text}'")
            return found
        return [text]
    out = [os.fspath(p) for p in paths]
    if not out:
        raise InputError("image files: the list of files is empty")
    return out


class ImageFiles(_Source):
    """Still images, one frame per file, in the given order (a glob pattern is sorted).

    Every file must exist when the source is made (:class:`IoError` naming the first
    missing one); a file that cannot be decoded raises :class:`IoError` naming it and
    its frame index when it is read.
    """

    def __init__(self, paths: PathLike | Sequence[PathLike], *, cache: bool | None = None) -> None:
        super().__init__()
        self.paths = _expand_paths(paths)
        # Decoded frames kept for rewinds (default: only for a single image).
        keep = cache if cache is not None else len(self.paths) == 1
        self._cache: dict[int, np.ndarray] | None = {} if keep else None
        missing = [p for p in self.paths if not os.path.isfile(p)]
        if missing:
            raise IoError(f"image files: file not found: '{missing[0]}'")
        self.label = f"image '{self.paths[0]}'" if len(self.paths) == 1 else f"images '{self.paths[0]}'..."
        self._iio = _require_imageio()

    def next_frame(self) -> np.ndarray | None:
        if self.frames_read >= len(self.paths):
            return None
        index = self.frames_read
        cached = None if self._cache is None else self._cache.get(index)
        if cached is not None:
            self.frames_read += 1
            return cached
        path = self.paths[index]
        where = f"image '{path}' (frame {index})"
        try:
            with warnings.catch_warnings():  # imageio's notes on its deprecated fallback plugins
                warnings.simplefilter("ignore", DeprecationWarning)
                pixels = self._iio.imread(path, index=0)
        except Exception as e:  # imageio raises many types for undecodable files
            raise IoError(f"read {where}: {_first_line(e)}") from e
        frame = as_frame(pixels, where)
        self.frames_read += 1
        if self._cache is not None:
            self._cache[index] = frame
        return frame


class VideoFile(_Source):
    """The frames of a video file, decoded one at a time (imageio: pyav where installed,
    else its ffmpeg plugin with the ffmpeg binary of ``imageio-ffmpeg``). The file's
    frame rate is not used: each pulled frame is the next one in the file."""

    def __init__(self, path: PathLike) -> None:
        super().__init__()
        self.path = os.fspath(path)
        self.label = f"video '{self.path}'"
        if not os.path.isfile(self.path):
            raise IoError(f"open {self.label}: file not found")
        self._iio = _require_imageio()
        try:
            self._iio.improps(self.path)
        except Exception as e:
            raise IoError(f"open {self.label}: not a readable video: {_first_line(e)}") from e
        self._frames: Iterator[Any] | None = None

    def _read(self) -> Any:
        if self._frames is None:
            self._frames = iter(self._iio.imiter(self.path))
        try:
            return next(self._frames, None)
        except Exception as e:
            raise IoError(f"read {self.label} frame {self.frames_read}: {_first_line(e)}") from e

    def rewind(self) -> None:
        self.close()
        super().rewind()

    def close(self) -> None:
        frames, self._frames = self._frames, None
        close = getattr(frames, "close", None)
        if close is not None:
            close()


class GratingSource(_Source):
    """A sinusoidal grating drifting along its wave vector (the built-in input's pattern):

    ``gray(y, x) = 0.5 + 0.5 contrast sin(2 pi (x cos a + y sin a) / wavelength - 2 pi speed t)``

    for pixel row y, column x, orientation a, at model time ``t = step * dt_ms / 1000`` s
    of frame k, ``step = start_step + k * every_steps``. Frames are float32 of ``shape``;
    it never runs out. :meth:`for_simulation` matches a simulation's sensory grid and its
    ``sensory.*`` grating keys, so the frames equal the engine's own grating (to float
    rounding).
    """

    def __init__(self, shape: tuple[int, int], *, dt_ms: float = 1.0, every_steps: int = 5,
                 start_step: int = 0, wavelength: float = 8.0, orientation_deg: float = 30.0,
                 speed_hz: float = 2.0, contrast: float = 1.0) -> None:
        super().__init__()
        h, w = (int(s) for s in shape)
        if h < 1 or w < 1:
            raise InputError(f"grating: shape must be positive, got {shape}")
        for name, value in (("dt_ms", dt_ms), ("wavelength", wavelength)):
            if not (math.isfinite(value) and value > 0):
                raise InputError(f"grating: {name} must be finite and > 0, got {value}")
        if not (math.isfinite(orientation_deg) and math.isfinite(speed_hz)):
            raise InputError("grating: orientation_deg and speed_hz must be finite")
        if not 0.0 <= contrast <= 1.0:
            raise InputError(f"grating: contrast must be in [0, 1], got {contrast}")
        if every_steps < 1:
            raise InputError(f"grating: every_steps must be >= 1, got {every_steps}")
        self.label = f"grating {h}x{w}"
        self.shape = (h, w)
        self.dt_ms, self.every_steps, self.start_step = float(dt_ms), int(every_steps), int(start_step)
        self.speed_hz, self.contrast = float(speed_hz), float(contrast)
        # The engine's separable form:
        # sin(kx x + ky y - p) = sin(kx x) cos(ky y - p) + cos(kx x) sin(ky y - p).
        two_pi = 2.0 * math.pi
        theta = orientation_deg * (two_pi / 360.0)
        ax = (two_pi * math.cos(theta) / wavelength) * np.arange(w, dtype=np.float64)
        self._sx, self._cx = np.sin(ax)[None, :], np.cos(ax)[None, :]
        self._ky_y = (two_pi * math.sin(theta) / wavelength) * np.arange(h, dtype=np.float64)

    @classmethod
    def for_simulation(cls, sim: Any, every_steps: int | None = None) -> GratingSource:
        """The grating of ``sim``'s configuration on its sensory grid, starting at its current step."""
        cfg = sim.config
        return cls(sim.sensory_grid, dt_ms=sim.dt,
                   every_steps=int(cfg["sensory.interval"]) if every_steps is None else every_steps,
                   start_step=sim.step, wavelength=cfg["sensory.grating_wavelength"],
                   orientation_deg=cfg["sensory.grating_orientation"],
                   speed_hz=cfg["sensory.grating_speed"], contrast=cfg["sensory.grating_contrast"])

    def _read(self) -> np.ndarray:
        step = self.start_step + self.frames_read * self.every_steps
        cycles = math.fmod(self.speed_hz * (step * self.dt_ms / 1000.0), 1.0)  # phase within one cycle
        b = (self._ky_y - 2.0 * math.pi * cycles)[:, None]
        gray = 0.5 + (0.5 * self.contrast) * (self._sx * np.cos(b) + self._cx * np.sin(b))
        return np.clip(gray, 0.0, 1.0).astype(np.float32)


class ScreenSource(_Source):
    """Live screen capture: every frame is a new screenshot (RGB uint8).

    Uses ``mss`` where installed, else Pillow's ``ImageGrab``. Needs a display: on Linux
    without ``DISPLAY``/``WAYLAND_DISPLAY`` it raises :class:`IoError` at once.
    ``region`` is ``(left, top, width, height)`` in screen pixels (default: the whole
    first monitor).
    """

    def __init__(self, region: tuple[int, int, int, int] | None = None) -> None:
        super().__init__()
        self.label = "screen" if region is None else f"screen region {region}"
        if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or
                                                      os.environ.get("WAYLAND_DISPLAY")):
            raise IoError("screen capture: no display (DISPLAY and WAYLAND_DISPLAY are unset); "
                          "screen capture needs a graphical session")
        if region is not None and (len(region) != 4 or region[2] < 1 or region[3] < 1):
            raise InputError(f"screen capture: region must be (left, top, width, height), got {region}")
        self.region = region
        self._closer: Callable[[], None] | None = None
        try:
            self._grab, self._closer = self._mss_grabber(region)
        except ImportError:
            self._grab = self._pillow_grabber(region)
        except Exception as e:  # mss's own error type for a display it cannot open
            raise IoError(f"{self.label}: cannot open the display: {_first_line(e)}") from e

    @staticmethod
    def _mss_grabber(region: tuple[int, int, int, int] | None
                     ) -> tuple[Callable[[], np.ndarray], Callable[[], None]]:
        import mss

        shot = mss.mss()
        area = shot.monitors[1] if region is None else {
            "left": region[0], "top": region[1], "width": region[2], "height": region[3]}
        return (lambda: np.asarray(shot.grab(area))[:, :, [2, 1, 0]]), shot.close  # BGRA -> RGB

    @staticmethod
    def _pillow_grabber(region: tuple[int, int, int, int] | None) -> Callable[[], np.ndarray]:
        try:
            from PIL import ImageGrab
        except ImportError as e:
            raise ImportError("screen capture needs mss or Pillow: pip install mss") from e
        box = None if region is None else (region[0], region[1], region[0] + region[2], region[1] + region[3])
        return lambda: np.asarray(ImageGrab.grab(bbox=box).convert("RGB"))

    def _read(self) -> np.ndarray:
        try:
            return self._grab()
        except Exception as e:
            raise IoError(f"{self.label} frame {self.frames_read}: capture failed: {_first_line(e)}") from e

    def close(self) -> None:
        closer, self._closer = self._closer, None
        if closer is not None:
            closer()


def open_source(spec: PathLike | Sequence[PathLike] | npt.ArrayLike) -> _Source:
    """A frame source for a video file, an image file, a list or glob of images, or an
    array stack / list of frames."""
    if isinstance(spec, np.ndarray):
        return ArraySource(spec)
    if isinstance(spec, (str, os.PathLike)):
        suffix = Path(os.fspath(spec)).suffix.lower()
        if suffix in AUDIO_SUFFIXES:
            raise InputError(f"open frame source '{os.fspath(spec)}': {suffix} is an audio file, "
                             "not images or video")
        if suffix in VIDEO_SUFFIXES:
            return VideoFile(spec)
        return ImageFiles(spec)
    if isinstance(spec, Sequence) and spec and all(isinstance(p, (str, os.PathLike)) for p in spec):
        return ImageFiles(spec)  # type: ignore[arg-type]
    return ArraySource(spec)  # type: ignore[arg-type]


class SourceFeeder:
    """Feeds an attached source's frames to a simulation at frame steps.

    Frame k is given at step ``start_step + k * period`` (before that step runs), so a run
    with a source attached equals calling ``set_frame`` by hand at those steps.
    """

    def __init__(self, source: FrameSource, period: int, start_step: int, on_end: str,
                 set_frame: Callable[[np.ndarray], None]) -> None:
        if on_end not in END_ACTIONS:
            raise InputError(f"attach_source: on_end must be one of {', '.join(END_ACTIONS)}, got {on_end!r}")
        if on_end == "loop" and not callable(getattr(source, "rewind", None)):
            raise InputError("attach_source: on_end='loop' needs a source with a rewind() method")
        self.source = source
        self.period = int(period)
        self.next_step = int(start_step)
        self.on_end = on_end
        self.frames_given = 0
        self.active = True
        self._set_frame = set_frame

    @property
    def label(self) -> str:
        return str(getattr(self.source, "label", type(self.source).__name__))

    def _pull(self) -> np.ndarray | None:
        frame = self.source.next_frame()
        if frame is None and self.on_end == "loop":
            self.source.rewind()  # type: ignore[attr-defined]
            frame = self.source.next_frame()
            if frame is None:
                raise InputError(f"{self.label}: cannot loop a source without frames")
        if frame is None and self.on_end == "raise":
            raise InputError(f"{self.label}: ran out of frames after {self.frames_given} "
                             f"(at step {self.next_step})")
        return frame

    def feed(self, step: int) -> None:
        """Give the frame due at ``step`` (when one is due)."""
        if not self.active or step < self.next_step:
            return
        frame = self._pull()
        if frame is None:
            self.active = False
            return
        try:
            self._set_frame(frame)
        except InputError as e:
            index = getattr(self.source, "frames_read", self.frames_given + 1) - 1
            raise InputError(f"{self.label} frame {index}: {e}") from e
        self.frames_given += 1
        self.next_step = step + self.period

    def advance(self, run_steps: Callable[[int], None], current_step: int, steps: int) -> None:
        """Run ``steps`` steps through ``run_steps``, split at frame steps."""
        end = current_step + steps
        step = current_step
        while step < end:
            self.feed(step)
            n = end - step
            if self.active:
                n = min(n, self.next_step - step)
            run_steps(n)
            step += n


__all__ = [
    "AUDIO_SUFFIXES",
    "END_ACTIONS",
    "VIDEO_SUFFIXES",
    "ArraySource",
    "FrameSource",
    "GratingSource",
    "ImageFiles",
    "ScreenSource",
    "SourceFeeder",
    "VideoFile",
    "as_frame",
    "open_source",
]
