"""Benchmarks of the service against its own baselines: `python -m bench [--quick]`."""
