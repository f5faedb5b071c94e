"""A dependency-free text progress bar for long runs (written to stderr)."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class ProgressBar:
    """Shows ``[#####     ] 50%  5000/10000 steps  1.0 s elapsed, ~1.0 s left``."""

    def __init__(self, total: int, label: str = "run", stream: TextIO | None = None, width: int = 30) -> None:
        self.total = max(0, int(total))
        self.label = label
        self.stream = stream if stream is not None else sys.stderr
        self.width = width
        self.start = time.perf_counter()
        self.done = 0

    def update(self, done: int) -> None:
        self.done = min(int(done), self.total)
        frac = self.done / self.total if self.total else 1.0
        filled = round(frac * self.width)
        elapsed = time.perf_counter() - self.start
        left = elapsed / frac - elapsed if frac > 0 else float("nan")
        bar = "#" * filled + " " * (self.width - filled)
        self.stream.write(
            f"\r{self.label} [{bar}] {frac * 100:3.0f}%  {self.done}/{self.total} steps  "
            f"{elapsed:.1f} s elapsed, ~{left:.1f} s left"
        )
        self.stream.flush()

    def close(self) -> None:
        self.stream.write("\n")
        self.stream.flush()
