"""Watch a simulation live in the browser and steer it while it runs
(``spikegraph run --live``, :meth:`spikegraph.Simulation.serve`; docs/live.md).

The optional extra ``pip install 'spikegraph[live]'`` brings the web server (aiohttp).
"""

from __future__ import annotations

from .session import LiveView

__all__ = ["LiveView"]
