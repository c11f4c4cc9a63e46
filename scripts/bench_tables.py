"""Benchmark: `sid tables` for the whole shipped table book on one wave, whole process.

Measures wall time of the complete command (Python start-up, imports, reading and
harmonising the wave, every estimate, writing the workbook) over several runs and
prints the median. Target (issue 6): under 3 s.

    .venv/bin/python scripts/bench_tables.py [--data DIR] [--runs 5] [--wave 2022]

Without --data the synthetic waves are written to a temporary folder first
(`sid synth`, not timed).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "sid" / "data" / "tables" / "sid_kerntabellen.yaml"
CODEBOOK = ROOT / "sid" / "data" / "sid.yaml"
TARGET = 3.0


def sid_command() -> list[str]:
    exe = Path(sys.executable).parent / "sid"
    if exe.exists():
        return [str(exe)]
    found = shutil.which("sid")
    if found:
        return [found]
    return [sys.executable, "-c", "from sid.cli import main; main()"]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=None, help="folder with sid2022.sav (synthetic)")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--wave", default="2022")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="sid-bench-") as tmp:
        data_dir = args.data
        if data_dir is None:
            data_dir = Path(tmp) / "synth"
            subprocess.run([*sid_command(), "synth", "--out", str(data_dir)], check=True,
                           stdout=subprocess.DEVNULL)
        wave = data_dir / f"sid{args.wave}.sav"
        out = Path(tmp) / "book.xlsx"
        cmd = [*sid_command(), "tables", str(SPEC), "--data", str(wave), "--codebook",
               str(CODEBOOK), "--out", str(out), "--skip-missing-waves"]
        times = []
        for _ in range(args.runs):
            t0 = time.perf_counter()
            subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            times.append(time.perf_counter() - t0)
        med = statistics.median(times)
        print(f"sid tables, whole book on wave {args.wave}: median {med:.2f} s over "
              f"{args.runs} runs (min {min(times):.2f}, max {max(times):.2f}); "
              f"target < {TARGET:.0f} s: {'OK' if med < TARGET else 'TOO SLOW'}")
        return 0 if med < TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
