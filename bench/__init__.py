"""Benchmark harness: `bash bench/run.sh` (see docs/bench.md). Not part of the served app."""
