"""Benchmark: `sid tables` for the whole shipped table book, whole process (issue 14).

Two workloads, each timed as a whole process (Python start-up, imports, reading
and harmonising the waves, every estimate, provenance, writing), median of
``--runs`` with the min-max spread and the CPU time (user+sys) of the child,
interleaved with a reference process timed in the same run:
``python -c "import numpy, pandas"``, the floor every pandas program pays on
this machine.

* ``C``: workload C, the whole book on the weighted 2022 synthetic wave (5,000
  rows, ``--weights`` from ``sid weight``, ``--weight-var final_wt``,
  ``--skip-missing-waves``). Target (issue 14): <= 1.0 s.
* ``demo``: step 4 of ``sid demo``: both weighted waves, the whole book and a
  forest plot per table (``--plots``), as ``sid demo`` invokes it.

Then the in-process split of one run of each (imports of every module the
command loads / read / tables / provenance / xlsx writing / plots / rest) and
the peak memory of the process (``ru_maxrss`` of the child).

    .venv/bin/python scripts/bench_tables.py [--data DIR] [--runs 5] [--workload C|demo|both]
        [--baseline SRC] [--no-compile]

``--baseline SRC`` also times the same commands with the ``sid`` package of the source
tree SRC first on ``PYTHONPATH`` (e.g. ``git archive <commit> | tar -x -C SRC``),
interleaved with the others: before/after in one run, on one machine state.

Setup, not timed: without --data the synthetic waves are written to a temporary
folder (`sid synth`); both waves are weighted with the shipped specs
(`sid weight`, as `sid demo` does); the bytecode of each timed sid tree is written
(``compileall``, as ``pip install`` does; ``--no-compile`` skips it: with no
``__pycache__`` folders in the tree that times sid compiled from source on every run, as
under ``PYTHONDONTWRITEBYTECODE=1``). The split gives wall and CPU
seconds per phase; whole process minus the split's sum is start-up and exit.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_launch import sid_command, tree_command

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "sid" / "data"
SPEC = DATA / "tables" / "sid_kerntabellen.yaml"
CODEBOOK = DATA / "sid.yaml"
TARGET = 1.0
FLOOR = "floor (import numpy, pandas)"

# The split: run the command in-process with its phases timed. The modules the command
# loads (listed by a first run) are imported first, so "imports" is the whole import cost
# and the phases are computation only.
_SPLIT = r'''
import json, subprocess, sys, time
t_start, c_start = time.perf_counter(), time.process_time()
argv, modules_file, mode = sys.argv[1], sys.argv[2], sys.argv[3]
args = json.loads(argv)
if mode == "list":
    before = set(sys.modules)
    from sid.cli import main
    main(args, standalone_mode=False)
    json.dump([m for m in sys.modules if m not in before], open(modules_file, "w"))
    raise SystemExit(0)
import importlib
for m in json.load(open(modules_file)):
    try:
        importlib.import_module(m)
    except Exception:
        pass
t_imports, c_imports = time.perf_counter() - t_start, time.process_time() - c_start
import sid.tables, sid.export, sid.cli.tables_cmd as tc
from sid.cli import main
spent, cpu = {}, {}
def timed(module, name, phase):
    inner = getattr(module, name)
    def wrapper(*a, **k):
        t0, c0 = time.perf_counter(), time.process_time()
        try:
            return inner(*a, **k)
        finally:
            spent[phase] = spent.get(phase, 0.0) + time.perf_counter() - t0
            cpu[phase] = cpu.get(phase, 0.0) + time.process_time() - c0
    setattr(module, name, wrapper)
import sid.weighting.apply as wa
# each phase names the functions that make it; where a function moved between versions (the
# weight merge left tables_cmd), the first one the timed tree has is wrapped, and a tree with
# none of them fails here rather than folding the phase into "rest"
for candidates, phase in [
        ([(sid.tables, "read_spec")], "read"), ([(sid.tables, "load_book_data")], "read"),
        ([(wa, "merge_weight_files"), (tc, "_merge_weights")], "read"),
        ([(tc, "_weight_words"), (tc, "_weight_lineage")], "read"),
        ([(sid.tables, "build_tables")], "tables"),
        ([(sid.export.Provenance, "from_files")], "provenance"),
        ([(sid.export, "write_book")], "xlsx"), ([(sid.export, "write_forest_plots")], "plots")]:
    found = [(m, n) for m, n in candidates if hasattr(m, n)]
    if not found:
        raise SystemExit(f"none of {[n for _, n in candidates]} in this sid: update bench_tables")
    timed(*found[0], phase)
import sid.codebook
timed(sid.codebook, "load_codebook", "read")
t0, c0 = time.perf_counter(), time.process_time()
main(args, standalone_mode=False)
spent["rest"] = time.perf_counter() - t0 - sum(spent.values())
cpu["rest"] = time.process_time() - c0 - sum(cpu.values())
print(json.dumps({"wall": {"imports": t_imports, **spent}, "cpu": {"imports": c_imports, **cpu}}))
'''


def timed(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, float, float]:
    """Wall seconds, CPU seconds (user+sys) and peak RSS (MB) of one child process."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode() if proc.stderr else ""
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed (exit {proc.returncode}):\n{err}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def split(args: list[str], tmp: Path, env: dict[str, str] | None = None
          ) -> dict[str, dict[str, float]]:
    """Wall and CPU seconds per phase of one in-process run of ``sid`` with ``args``."""
    modules = tmp / "modules.json"
    base = [sys.executable, "-c", _SPLIT, json.dumps(args), str(modules)]
    # run in ``tmp``: ``python -c`` puts the current folder first on sys.path, which would
    # shadow a --baseline tree when the benchmark runs from a checkout
    subprocess.run([*base, "list"], check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, env=env, cwd=tmp)
    res = subprocess.run([*base, "time"], check=True, capture_output=True, text=True, env=env,
                         cwd=tmp)
    return json.loads(res.stdout.strip().splitlines()[-1])


def setup(data_dir: Path | None, tmp: Path) -> tuple[dict[str, Path], dict[str, Path]]:
    """The synthetic waves and their weighted versions (`sid synth`, `sid weight`)."""
    sid = sid_command()
    if data_dir is None:
        data_dir = tmp / "synth"
        subprocess.run([*sid, "synth", "--out", str(data_dir)], check=True,
                       stdout=subprocess.DEVNULL)
    waves = {y: data_dir / f"sid{y}.sav" for y in ("2017", "2022")}
    weighted = {y: tmp / f"sid{y}_gewogen.sav" for y in waves}
    for y, wave in waves.items():
        subprocess.run([*sid, "weight", str(wave), "--spec", str(DATA / "weighting" / f"sid{y}.yaml"),
                        "--gross", str(data_dir / f"sid{y}_gross.sav"),
                        "--margins", str(data_dir / "population_margins.csv"),
                        "--out", str(weighted[y])], check=True, stdout=subprocess.DEVNULL)
    return waves, weighted


def workloads(which: str, waves: dict[str, Path], weighted: dict[str, Path],
              tmp: Path) -> dict[str, list[str]]:
    """The `sid` arguments of each workload."""
    out: dict[str, list[str]] = {}
    if which in ("C", "both"):
        out["sid tables (C: 2022)"] = [
            "tables", str(SPEC), "--data", f"2022={waves['2022']}", "--codebook", str(CODEBOOK),
            "--weights", f"2022={weighted['2022']}", "--weight-var", "final_wt",
            "--out", str(tmp / "book_c.xlsx"), "--skip-missing-waves"]
    if which in ("demo", "both"):
        out["sid tables (demo step 4)"] = [
            "tables", str(SPEC), *[a for y in waves for a in ("--data", f"{y}={waves[y]}")],
            "--codebook", str(CODEBOOK),
            *[a for y in weighted for a in ("--weights", f"{y}={weighted[y]}")],
            "--weight-var", "final_wt", "--out", str(tmp / "book_demo.xlsx"), "--lang", "nl",
            "--plots", str(tmp / "figuren")]
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=None,
                    help="folder with the synthetic files of `sid synth`")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--workload", choices=("C", "demo", "both"), default="both")
    ap.add_argument("--baseline", type=Path, default=None,
                    help="source tree of another sid version to time alongside")
    ap.add_argument("--no-compile", action="store_true",
                    help="do not write the sid packages' bytecode first (bytecode already "
                         "written is still used)")
    args = ap.parse_args()
    base_env = None
    if args.baseline is not None:
        if not (args.baseline / "sid" / "__init__.py").is_file():
            raise SystemExit(f"--baseline {args.baseline}: no sid package there")
        base_env = {**os.environ, "PYTHONPATH": str(args.baseline.resolve())}
    if not args.no_compile:
        # as an installed package has it: with PYTHONDONTWRITEBYTECODE=1 (set in some
        # environments) every run would compile sid's ~90 modules again (~0.1 s CPU)
        trees = [ROOT] + ([args.baseline] if args.baseline is not None else [])
        for tree in trees:
            subprocess.run([sys.executable, "-m", "compileall", "-q", str(tree / "sid")],
                           check=True, stdout=subprocess.DEVNULL)
    load = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="sid-bench-") as name:
        tmp = Path(name)
        waves, weighted = setup(args.data, tmp)
        sid = sid_command()
        loads = workloads(args.workload, waves, weighted, tmp)
        # with --baseline, both trees start the same way (bench_launch.tree_command, each
        # its own entry point); without, the installed script
        here = tree_command() if base_env is not None else sid
        cmds: dict[str, tuple[list[str], dict[str, str] | None]] = {
            k: ([*here, *v], None) for k, v in loads.items()}
        if base_env is not None:
            cmds |= {f"{k} baseline": ([*tree_command(), *v], base_env) for k, v in loads.items()}
        cmds[FLOOR] = ([sys.executable, "-c", "import numpy, pandas"], None)
        for cmd, env in cmds.values():  # warm the file cache
            timed(cmd, env)
        runs: dict[str, list[tuple[float, float, float]]] = {k: [] for k in cmds}
        for _ in range(args.runs):
            for key, (cmd, env) in cmds.items():
                runs[key].append(timed(cmd, env))
        splits = {k: split(v, tmp) for k, v in loads.items()}
        if base_env is not None:
            splits |= {f"{k} baseline": split(v, tmp, base_env) for k, v in loads.items()}
    floor = statistics.median(w for w, _, _ in runs[FLOOR])
    end = os.getloadavg()
    print(f"load average at start {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}, at the end "
          f"{end[0]:.2f} {end[1]:.2f} {end[2]:.2f}; {args.runs} interleaved runs each; sid "
          f"{'from source (no bytecode written)' if args.no_compile else 'bytecode compiled'}")
    for key, rs in runs.items():
        walls = [w for w, _, _ in rs]
        cpus = [c for _, c, _ in rs]
        med = statistics.median(walls)
        print(f"{key:<33} median {med:6.3f} s [{min(walls):.3f}-{max(walls):.3f}], "
              f"CPU {statistics.median(cpus):6.3f} s, peak RSS {max(r for _, _, r in rs):4.0f} MB;"
              f" ratio to floor {med / floor:5.2f}")
    for key, parts in splits.items():
        text = ", ".join(f"{k} {v:.3f}/{parts['cpu'][k]:.3f}" for k, v in parts["wall"].items())
        print(f"  split of {key} (s wall/CPU, in process): {text}")
    ok = True
    key = "sid tables (C: 2022)"
    if key in runs:
        med = statistics.median(w for w, _, _ in runs[key])
        ok = med <= TARGET
        print(f"workload C target <= {TARGET:.1f} s: {'OK' if ok else 'TOO SLOW'} ({med:.3f} s)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
