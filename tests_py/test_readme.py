"""The Python examples of README.md run as written."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)


def test_readme_has_python_examples() -> None:
    assert len(BLOCKS) >= 2


# Packages of the optional extras (spikegraph[io,plot,graph]) some examples use.
OPTIONAL = {"imageio", "imageio_ffmpeg", "h5py", "matplotlib", "networkx"}


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_readme_example_runs(index: int, capsys: pytest.CaptureFixture[str]) -> None:
    if ".mp4" in BLOCKS[index] and importlib.util.find_spec("imageio_ffmpeg") is None:
        pytest.skip("needs the optional package imageio_ffmpeg (video files)")
    try:
        exec(compile(BLOCKS[index], f"README.md python block {index}", "exec"), {})
    except ImportError as e:  # skipped where an optional package is missing, directly or via spikegraph
        names = {(getattr(x, "name", None) or "").split(".")[0] for x in (e, e.__cause__)}
        if not names & OPTIONAL:
            raise
        pytest.skip(f"needs the optional package(s) {', '.join(sorted(names & OPTIONAL))}")
    assert capsys.readouterr().out  # every example prints something
