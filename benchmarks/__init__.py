"""Benchmarks run by `make bench`: each prints a table of measured figures."""
