"""secure-auth benchmarks (issue 7): ``python -m benchmarks [--quick] [--only NAME...]``.

Every goal is a ratio against a reference measured in the same run; see
BENCHMARKS.md for the method, the latest table and the profiles.
"""
