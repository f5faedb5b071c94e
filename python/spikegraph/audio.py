"""Audio input: WAV files and numpy sample blocks for the audio sensory nodes.

The engine cuts the samples into one STFT window per simulation step and turns each
window into mel-band values in [0, 1] (docs/model.md step 1; ``sensory.audio_*`` keys);
:meth:`spikegraph.Simulation.feed_audio` queues samples, ``run()`` applies one band
vector per step.
"""

from __future__ import annotations

import os
import wave
from pathlib import Path
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from .errors import InputError, IoError


class Audio(NamedTuple):
    """Samples (float32, full scale -1..1; shape (n,) or (n, channels)) and their rate."""

    samples: np.ndarray
    sample_rate: float

    @property
    def duration_ms(self) -> float:
        return 1000.0 * self.samples.shape[0] / self.sample_rate


def read_wav(path: str | os.PathLike[str]) -> Audio:
    """Read a PCM WAV file (8-, 16-, 24- or 32-bit integer samples, any channel count)
    into float32 samples in [-1, 1]. Raises :class:`spikegraph.IoError` naming the file
    for a missing, unreadable or unsupported file."""
    p = Path(path)
    try:
        with wave.open(os.fspath(p), "rb") as w:
            channels, width = w.getnchannels(), w.getsampwidth()
            rate, frames = w.getframerate(), w.getnframes()
            raw = w.readframes(frames)
    except FileNotFoundError as e:
        raise IoError(f"read_wav: '{p}': no such file") from e
    except (wave.Error, EOFError) as e:
        raise IoError(f"read_wav: '{p}' is not a PCM WAV file this reader supports: {e}") from e
    if width not in (1, 2, 3, 4) or channels < 1 or rate <= 0:
        raise IoError(f"read_wav: '{p}': unsupported sample width {width} bytes")
    count = len(raw) // (width * channels)
    if count < frames:
        raise IoError(f"read_wav: '{p}' is truncated ({count} of {frames} frames)")
    data = np.frombuffer(raw[: count * width * channels], dtype=np.uint8).reshape(count * channels, width)
    if width == 1:  # unsigned 8-bit
        values = (data[:, 0].astype(np.float32) - 128.0) / 128.0
    else:
        # Little-endian signed integers of 2-4 bytes, sign-extended through int32.
        padded = np.zeros((data.shape[0], 4), dtype=np.uint8)
        padded[:, 4 - width :] = data
        values = padded.view("<i4").reshape(-1).astype(np.float32) / np.float32(2.0**31)
    samples = values.reshape(count, channels)
    return Audio(samples[:, 0].copy() if channels == 1 else samples, float(rate))


def write_wav(path: str | os.PathLike[str], samples: npt.ArrayLike, sample_rate: int) -> None:
    """Write float samples in [-1, 1] (shape (n,) or (n, channels)) as 16-bit PCM."""
    x = np.asarray(samples, dtype=np.float64)
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2 or not np.all(np.isfinite(x)):
        raise InputError("write_wav: samples must be a finite (n,) or (n, channels) array")
    pcm = np.round(np.clip(x, -1.0, 1.0) * 32767.0).astype("<i2")
    with wave.open(os.fspath(path), "wb") as w:
        w.setnchannels(pcm.shape[1])
        w.setsampwidth(2)
        w.setframerate(int(sample_rate))
        w.writeframes(pcm.tobytes())


def to_mono(samples: npt.ArrayLike) -> np.ndarray:
    """float32 mono samples: 1-D input as is, (n, channels) averaged over channels;
    integer arrays are scaled to full scale (int16 by 1/32768, ...)."""
    x = np.asarray(samples)
    if x.ndim not in (1, 2):
        raise InputError(f"audio: samples must have shape (n,) or (n, channels), got {x.shape}")
    if np.issubdtype(x.dtype, np.integer):
        info = np.iinfo(x.dtype)
        x = x.astype(np.float64) / float(max(abs(info.min), info.max))
    elif not np.issubdtype(x.dtype, np.floating):
        raise InputError(f"audio: samples must be numbers, got dtype {x.dtype}")
    mono = x.mean(axis=1) if x.ndim == 2 else x
    # NaN and infinity are refused by the engine; a finite value float32 cannot hold is not.
    bad = np.flatnonzero(np.isfinite(mono) & (np.abs(mono) > np.finfo(np.float32).max))
    if bad.size:
        i = int(bad[0])
        raise InputError(f"audio: sample {i} = {float(mono[i])!r} is beyond float32 "
                         "(full scale is -1..1)")
    return np.ascontiguousarray(mono, dtype=np.float32)
