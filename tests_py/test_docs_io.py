"""The Python examples of docs/io.md run as written (skipped where an optional package
they import is not installed)."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parent.parent / "docs" / "io.md"
BLOCKS = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S)
OPTIONAL = {"imageio", "imageio_ffmpeg", "h5py", "matplotlib", "networkx", "libsonata"}


def missing_optional(error: ImportError) -> str | None:
    """The optional package whose absence caused ``error`` (directly, or through
    spikegraph's own ImportError that names it), else None."""
    for e in (error, error.__cause__):
        name = (getattr(e, "name", None) or "").split(".")[0]
        if name in OPTIONAL:
            return name
    return None


def test_every_path_has_an_example() -> None:
    assert len(BLOCKS) >= 7
    assert all(len(block.strip().splitlines()) <= 6 for block in BLOCKS)


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_io_example_runs(index: int, capsys: pytest.CaptureFixture[str]) -> None:
    if ".mp4" in BLOCKS[index] and importlib.util.find_spec("imageio_ffmpeg") is None:
        pytest.skip("needs the optional package imageio_ffmpeg (video files)")
    try:
        exec(compile(BLOCKS[index], f"docs/io.md python block {index}", "exec"), {})
    except ImportError as e:
        missing = missing_optional(e)
        if missing is None:
            raise
        pytest.skip(f"needs the optional package {missing}")
    assert capsys.readouterr().out
