"""Benchmarks for chatops-bridge; run them as modules, e.g. ``python -m benchmarks.pipeline``."""
