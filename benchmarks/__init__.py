"""Benchmarks run by `make bench` (`python -m benchmarks [names...]`).

Every module here with a `run(args)` function is a benchmark; `benchmarks.common` holds the
shared helpers (timing, tables, results under benchmarks/results/, generated data).
"""
