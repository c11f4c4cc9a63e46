"""Seed sweep: does the shipped weighting chain weight every synthetic sample?

Usage: .venv/bin/python scripts/seed_sweep.py [--from 1] [--to 300] [--seeds 84 180 ...]
                                             [--jobs 2] [--files]

For every seed: synthesise the SID population and both waves (as ``sid synth --seed N``),
then run the shipped weighting spec of each wave (``sid/data/weighting/sid2017.yaml`` and
``sid2022.yaml``: design weights, nonresponse, raking within origin groups, collapsing,
trimming) exactly as ``sid weight`` / ``sid demo`` do, and check the result: final weights
finite and positive, summing to the population. Seeds run in parallel (``--jobs``
processes). By default the waves are built in memory (what ``sid synth`` writes, without
writing it); ``--files`` writes them with ``sid.synthetic.synthesise`` into a temporary
folder and reads them back, as ``sid demo`` does (slower).

Prints one line per failing seed and wave (the error's first line), then a summary: seeds
that passed, margin cells collapsed, trimming-bound widenings and the time taken. Exit
code 1 when any seed failed.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

SPECS = Path(__file__).resolve().parents[1] / "sid" / "data" / "weighting"


@dataclass
class Outcome:
    seed: int
    failures: list[str] = field(default_factory=list)
    collapsed: Counter = field(default_factory=Counter)  # wave -> margin cells merged
    widened: Counter = field(default_factory=Counter)  # wave -> fallback rounds of trimming
    untrimmed: Counter = field(default_factory=Counter)
    seconds: float = 0.0


def _waves_in_memory(seed: int, folder: Path) -> dict[int, tuple]:
    """(respondent Wave, gross Wave) per wave, and the margins CSV written into ``folder``."""
    from sid.synthetic import draw_gross_sample, make_population, population_margins
    from sid.synthetic.params import REF_DATES, WAVES
    from sid.synthetic.waves import gross_wave, respondent_wave

    out, margins = {}, []
    for wave in WAVES:
        pop = make_population(wave, seed)
        margins.append(population_margins(pop, REF_DATES[wave]))
        sample = draw_gross_sample(pop, wave, seed)
        del pop
        out[wave] = (respondent_wave(sample, wave, seed), gross_wave(sample, wave))
    pd.concat(margins, ignore_index=True).to_csv(folder / "population_margins.csv", index=False,
                                                 lineterminator="\n")
    return out


def _waves_from_files(seed: int, folder: Path) -> dict[int, tuple]:
    from sid.io import read_wave
    from sid.synthetic import synthesise
    from sid.synthetic.params import WAVES

    synthesise(folder, seed=seed)
    return {wave: (read_wave(folder / f"sid{wave}.sav"), read_wave(folder / f"sid{wave}_gross.sav"))
            for wave in WAVES}


def run_seed(args: tuple[int, bool]) -> Outcome:
    """Synthesise one seed and weight both waves with the shipped specs."""
    seed, files = args
    from sid.errors import SidError
    from sid.weighting import load_spec, run_spec
    from sid.weighting.apply import missing_masks
    from sid.weighting.population import read_population_csv

    result = Outcome(seed)
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix=f"sweep{seed}_") as tmp:
        folder = Path(tmp)
        try:
            waves = (_waves_from_files if files else _waves_in_memory)(seed, folder)
            table = read_population_csv(folder / "population_margins.csv")
        except Exception as exc:  # noqa: BLE001 - a sweep reports whatever breaks
            result.failures.append(f"seed {seed} synth: {type(exc).__name__}: {exc}")
            return result
        for wave, (resp, gross) in waves.items():
            try:
                spec = load_spec(SPECS / f"sid{wave}.yaml")
                chain = run_spec(spec, resp.data, gross=gross.data, margins_table=table,
                                 missing=missing_masks(resp))
                w = chain.weights.to_numpy()
                keep = np.ones(len(table), dtype=bool)
                for col, value in (spec.margins.filter or {}).items():
                    keep &= (table[col].astype(str) == str(value)).to_numpy()
                total = float(table.loc[keep, "count"].astype(float).sum())
                if not (np.all(np.isfinite(w)) and np.all(w > 0)):
                    raise AssertionError("final weights not finite and positive")
                if abs(w.sum() - total) > 1e-8 * total:
                    raise AssertionError(f"weights sum to {w.sum():.10g}, population {total:.10g}")
                result.collapsed[wave] += len(chain.collapsed)
                for _, rec in chain.steps:
                    if rec.method == "bounded_rake":
                        result.widened[wave] += max(int(rec.params.get("widened", 0)), 0)
                        result.untrimmed[wave] += bool(rec.params.get("untrimmed"))
            except (SidError, AssertionError) as exc:
                text = exc.line() if isinstance(exc, SidError) else str(exc)
                result.failures.append(f"seed {seed} wave {wave}: {text.splitlines()[0]}")
            except Exception as exc:  # noqa: BLE001
                result.failures.append(f"seed {seed} wave {wave}: TRACEBACK {type(exc).__name__}: "
                                       f"{exc}")
    result.seconds = time.perf_counter() - start
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--from", dest="first", type=int, default=1)
    parser.add_argument("--to", dest="last", type=int, default=300)
    parser.add_argument("--seeds", type=int, nargs="+", default=None,
                        help="these seeds instead of --from..--to")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--files", action="store_true",
                        help="write and read back the synthetic files (as sid demo does)")
    opts = parser.parse_args(argv)
    seeds = opts.seeds or list(range(opts.first, opts.last + 1))
    start = time.perf_counter()
    outcomes: list[Outcome] = []
    with mp.get_context("spawn").Pool(opts.jobs) as pool:
        for k, out in enumerate(pool.imap_unordered(run_seed, [(s, opts.files) for s in seeds]), 1):
            outcomes.append(out)
            for line in out.failures:
                print("FAIL " + line, flush=True)
            if k % 25 == 0:
                print(f"... {k}/{len(seeds)} seeds, {time.perf_counter() - start:.0f} s",
                      flush=True)
    failed = sorted(o.seed for o in outcomes if o.failures)
    total = time.perf_counter() - start
    shown = (f"{opts.first}..{opts.last}" if opts.seeds is None
             else ", ".join(map(str, seeds)))
    print(f"\nseeds {shown}: {len(seeds) - len(failed)}/{len(seeds)} passed "
          f"(both waves weighted), {len(failed)} failed" + (f": {failed}" if failed else ""))
    for wave in (2017, 2022):
        col = [o.collapsed[wave] for o in outcomes]
        wid = [o.widened[wave] for o in outcomes]
        print(f"  {wave}: margin cells collapsed in {sum(c > 0 for c in col)} seeds "
              f"({sum(col)} merges); trimming bounds widened in {sum(w > 0 for w in wid)} seeds; "
              f"untrimmed in {sum(o.untrimmed[wave] for o in outcomes)}")
    print(f"time {total:.0f} s with {opts.jobs} processes "
          f"({np.mean([o.seconds for o in outcomes]):.1f} s per seed)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
