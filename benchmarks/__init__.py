"""spikegraph's benchmarks (BENCHMARKS.md). Run ``python -m benchmarks --help``."""
