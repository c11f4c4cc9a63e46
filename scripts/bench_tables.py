"""Benchmark: `sid tables` for the whole shipped table book on one wave, whole process.

Workload C (issue 14): wall time of the complete command (Python start-up,
imports, reading and harmonising the wave, every estimate, writing the
workbook), median of ``--runs``, interleaved with a reference process timed in
the same run: ``python -c "import numpy, pandas"``, the floor every pandas
program pays on this machine. Prints median, min-max spread, the ratio to the
floor, the in-process split (import of the modules the command loads, then the
command itself) and the peak memory of the process (``ru_maxrss`` of the child).
Target (issue 14): under 1.0 s.

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
TARGET = 1.0
IMPORTS = ("sid.cli", "sid.codebook", "sid.harmonise", "sid.tables", "sid.export",
           "sid.estimation", "sid.design", "sid.io")


def sid_command() -> list[str]:
    exe = Path(sys.executable).parent / "sid"
    if exe.exists():
        return [str(exe)]
    found = shutil.which("sid")
    if found:
        return [found]
    return [sys.executable, "-c", "from sid.cli import main; main()"]


def timed(cmd: list[str]) -> float:
    """Wall seconds of one child process."""
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t0


def peak_rss(cmd: list[str]) -> float:
    """Peak resident memory (MB) of ``cmd``, run as the only child of a fresh process."""
    code = ("import resource, subprocess, sys; subprocess.run(sys.argv[1:], check=True, "
            "stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL); "
            "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    res = subprocess.run([sys.executable, "-c", code, *cmd], capture_output=True, text=True,
                         check=True)
    return float(res.stdout.strip()) / 1024


def import_split() -> str:
    """Seconds to import each module the command loads, in a fresh process (cumulative)."""
    code = ("import time\nt0 = time.perf_counter()\nout = []\n"
            f"for m in {IMPORTS!r}:\n    __import__(m)\n"
            "    out.append(f'{m} {time.perf_counter() - t0:.3f}')\nprint('; '.join(out))")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return res.stdout.strip()


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
        cmds = {
            "sid tables": [*sid_command(), "tables", str(SPEC), "--data", str(wave),
                           "--codebook", str(CODEBOOK), "--out", str(out),
                           "--skip-missing-waves"],
            "floor (import numpy, pandas)": [sys.executable, "-c", "import numpy, pandas"],
        }
        for cmd in cmds.values():  # warm the file cache
            timed(cmd)
        times: dict[str, list[float]] = {k: [] for k in cmds}
        for _ in range(args.runs):
            for name, cmd in cmds.items():
                times[name].append(timed(cmd))
        rss = peak_rss(cmds["sid tables"])
    floor = statistics.median(times["floor (import numpy, pandas)"])
    for name, ts in times.items():
        med = statistics.median(ts)
        print(f"{name:<30} median {med:6.3f} s [{min(ts):.3f}-{max(ts):.3f}] over {args.runs} "
              f"interleaved runs; ratio to floor {med / floor:5.2f}")
    print(f"imports (cumulative s): {import_split()}")
    med = statistics.median(times["sid tables"])
    print(f"sid tables peak RSS {rss:.0f} MB; target < {TARGET:.1f} s: "
          f"{'OK' if med < TARGET else 'TOO SLOW'}")
    return 0 if med < TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
