"""The sid fuzzer: input families, mutators, the oracle and a fork-based runner.

Used by ``tests/test_fuzz.py`` (bounded, seeded) and ``scripts/fuzz.py``
(long mode, before releases). See ``docs/fuzz_findings.md`` for what it found.
"""
