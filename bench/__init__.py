"""Benchmarks: `python -m bench` (or `make bench`) prints tables of ratios measured in one run."""
