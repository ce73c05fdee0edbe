"""Benchmarks: ``python -m bench.NAME`` prints readable lines, then one line of JSON figures."""
