"""Probe for cuda/device_check.sh: does an error raised inside the engine reach Python
as an exception in this interpreter? Prints the shared libraries that unwind C++
exceptions in this process, then triggers a C++ exception the engine throws and catches
itself (schema text) and one it lets through (a bad configuration value), after
importing PyTorch where it is installed."""

from __future__ import annotations

import importlib.util
import sys

# PyTorch loads its C++ runtime into the process globally (RTLD_GLOBAL): import it first
# where it is installed, as a user mixing the two would.
if importlib.util.find_spec("torch") is not None:
    import torch  # noqa: F401

import spikegraph as sg
from spikegraph import _core

libs = sorted({line.split()[-1] for line in open("/proc/self/maps") if ".so" in line})
runtime = [p for p in libs if any(k in p for k in ("stdc++", "gcc_s", "unwind", "_core"))]
print("loaded:", *runtime, sep="\n  ")
print("schema text:", len(_core.schema_markdown()), "characters", flush=True)
try:
    sg.Config({"sim": {"dt": -1.0}})
except sg.ConfigError as e:
    print("ConfigError reached Python:", e)
    sys.exit(0)
print("no error was raised")
sys.exit(1)
