"""Benchmarks for conveyor, run by hand: ``python benchmarks/run.py`` (see README.md)."""
