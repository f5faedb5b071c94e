"""spikegraph's benchmarks (docs/performance.md). Run ``python -m benchmarks --help``."""
