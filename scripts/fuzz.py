"""Long-mode fuzzer for sid (before releases): seeded, time-bounded, findings saved for replay.

    python scripts/fuzz.py --seed 1 --minutes 20                 # all families
    python scripts/fuzz.py --seed 7 --minutes 5 --family waves   # one family

Families: waves (byte-mutated SPSS/Stata files through sid info/validate/codebook
init), yaml (structure-aware mutation of every shipped YAML through the public
loaders), margins (broken population margins through sid weight; returned
weights must meet the targets), expr (Hypothesis expressions through sid.expr),
cli (estimate/crosstab argument combinations), outputs (output paths: an input,
links to it, a folder, a read-only folder, a missing parent).

Every input runs in a forked child with a timeout and an address-space cap. The
oracle: exit 0, or exit 2 with one ``error:`` line; no traceback, crash, hang or
memory blow-up; inputs byte-identical; no leftover files. Each finding is a
JSON file (family, recipe, command, what went wrong, traceback head) under
--findings (default /tmp/sid-fuzz-findings/seed-N), with the input bytes where
they cannot be rebuilt from the recipe. Exit code 1 when there are findings.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MPLBACKEND", "Agg")
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from fuzzing.core import all_families, make_context, run_campaign, summary  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--minutes", type=float, default=20.0,
                        help="Total time, shared by the families by their weight.")
    parser.add_argument("--family", action="append", default=None,
                        help="Only this family (repeat for several).")
    parser.add_argument("--findings", type=Path, default=None,
                        help="Folder for the findings (outside the repository).")
    parser.add_argument("--work", type=Path, default=None, help="Scratch folder.")
    parser.add_argument("--synth", type=Path, default=None,
                        help="Existing `sid synth` output (else made in the scratch folder).")
    parser.add_argument("--timeout", type=float, default=60.0, help="Seconds per input.")
    parser.add_argument("--memory-gib", type=float, default=2.0,
                        help="Address space an input may add (RLIMIT_AS in the child).")
    parser.add_argument("--report", type=Path, default=None,
                        help="Also write the summary (Markdown) to this file.")
    args = parser.parse_args(argv)

    families = all_families()
    if args.family:
        names = {f.name for f in families}
        unknown = set(args.family) - names
        if unknown:
            parser.error(f"unknown family {sorted(unknown)}; choose from {sorted(names)}")
        families = [f for f in families if f.name in args.family]
    findings = args.findings or Path(f"/tmp/sid-fuzz-findings/seed-{args.seed}")
    repo = Path(__file__).resolve().parents[1]
    if findings.resolve().is_relative_to(repo):
        parser.error("--findings must be outside the repository")
    t0 = time.perf_counter()
    ctx = make_context(args.work, args.synth, timeout=args.timeout,
                       memory=int(args.memory_gib * 1024**3))
    ctx.findings = findings / "inputs"
    budget = max(args.minutes * 60 - (time.perf_counter() - t0), 1.0)
    total_weight = sum(WEIGHTS.get(f.name, 1.0) for f in families)
    seconds = {f.name: budget * WEIGHTS.get(f.name, 1.0) / total_weight for f in families}
    print(f"seed {args.seed}, {args.minutes:g} min, findings -> {findings}", flush=True)
    reports = run_campaign(args.seed, families, ctx, seconds=seconds, findings_dir=findings,
                           echo=lambda line: print(line, flush=True))
    text = summary(reports)
    print(text)
    if args.report is not None:
        args.report.write_text(text + "\n", encoding="utf-8")
    total = sum(len(r.findings) for r in reports)
    print(f"total: {sum(r.tried for r in reports)} inputs, {total} findings "
          f"({time.perf_counter() - t0:.0f} s)")
    return 1 if total else 0


#: share of the time budget per family (the slow ones get more)
WEIGHTS = {"waves": 1.0, "yaml": 1.0, "margins": 1.2, "expr": 0.5, "cli": 1.0, "outputs": 1.0}

if __name__ == "__main__":
    sys.exit(main())
