"""Simulation check of sid.plan: plan the sample for +/-3 points, draw it, measure.

Usage: .venv/bin/python scripts/plan_simulation.py [--draws 40] [--moe 0.03]
       [--indicator negatief_publiek] [--seed 20260101]

1. Pilot: the shipped synthetic 2022 wave (sid.synthetic, default seed, 750
   completes per group), weighted with the shipped spec
   (sid/data/weighting/sid2022.yaml: design weights, nonresponse classes, raking
   within origin groups, trimming) and assessed with sid.plan: per group the
   indicator's share p and the group's median deff over the proportion
   indicators of the shipped table spec (one indicator's deff from one wave is
   too noisy to plan on; the median over the spec is the planning deff).
2. Plan: net n per group for a 95% half-width of ``--moe``
   (sid.plan.formulas.n_for_moe with the group population from the margins).
3. Draw ``--draws`` new gross samples from the synthetic population with the
   shipped two-stage design, each group with its planned number of completes
   (sid.synthetic.draw_gross_sample; its TARGET_COMPLETES is set per group for
   the call: the synthetic module has no per-group argument), simulate
   response, build the respondent file, weight with the same spec, estimate the
   indicator per group (sid.estimation via sid.plan.precision) and record the
   half-width z x SE.
4. Report per group: planned n, mean completes, the mean estimated half-width
   and the empirical half-width (z x the SD of the estimates over the draws)
   against the target; exit code 1 if a mean half-width is more than 10% off.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from dataclasses import replace
from unittest import mock

import numpy as np
import pandas as pd

from sid.harmonise import harmonise
from sid.plan.formulas import n_for_moe, z_value
from sid.plan.indicators import indicators_from_spec
from sid.plan.precision import achieved_precision
from sid.plan.targets import group_deff
from sid.resources import DATA_DIR
from sid.synthetic import (
    DEFAULT_SEED,
    REF_DATES,
    draw_gross_sample,
    gross_wave,
    make_population,
    population_margins,
    respondent_wave,
)
from sid.tables import read_spec, stacked_design
from sid.weighting import load_spec, run_spec

WAVE = 2022


def weigh_and_assess(sample: pd.DataFrame, spec: dict, margins: pd.DataFrame, tables: list,
                     seed: int) -> pd.DataFrame:
    """Respondent file of a drawn gross sample, weighted as sid weight does, then sid.plan."""
    wave = respondent_wave(sample, WAVE, seed)
    gross = gross_wave(sample, WAVE).data
    missing = {v.name: wave.user_missing_mask(v.name) for v in wave.meta.variables if v.missing}
    chain = run_spec(spec, wave.data, gross=gross, margins_table=margins, missing=missing)
    data = harmonise({str(WAVE): wave}, DATA_DIR / "sid.yaml")
    frame, inds = indicators_from_spec(tables, data)
    data = replace(data, data=frame.assign(_w=chain.weights.to_numpy()))
    return achieved_precision(stacked_design(data, weight="_w"), inds, "herkomst")


def draw(pop_by_group: dict[int, pd.DataFrame], completes: dict[int, int], seed: int) -> pd.DataFrame:
    """One gross sample: every group drawn with the shipped design and its own completes."""
    parts = []
    for g, pop_g in pop_by_group.items():
        with mock.patch.dict(draw_gross_sample.__globals__, {"TARGET_COMPLETES": completes[g]}):
            parts.append(draw_gross_sample(pop_g, WAVE, seed=seed * 100 + g))
    sample = pd.concat(parts, ignore_index=True)
    sample["id"] = np.arange(1, len(sample) + 1, dtype=np.int64)
    return sample


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--draws", type=int, default=40)
    ap.add_argument("--moe", type=float, default=0.03)
    ap.add_argument("--indicator", default="negatief_publiek",
                    help="a table id of the shipped spec whose base is every respondent")
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED)
    args = ap.parse_args()
    t0 = time.perf_counter()
    spec = load_spec(DATA_DIR / "weighting" / f"sid{WAVE}.yaml")
    book = read_spec(DATA_DIR / "tables" / "sid_kerntabellen.yaml")
    pop = make_population(WAVE, args.seed)
    margins = population_margins(pop, REF_DATES[WAVE])
    populations = margins.groupby("herkomst")["count"].sum()

    # 1. pilot: the shipped wave
    pilot = weigh_and_assess(draw_gross_sample(pop, WAVE, args.seed), spec, margins,
                             list(book.tables), args.seed)
    deff = group_deff(pilot)
    row = pilot[pilot["indicator"] == args.indicator].set_index("group")
    target_tables = [t for t in book.tables if t.id == args.indicator]
    if row.empty or target_tables[0].base.where:
        print(f"{args.indicator!r} is not an indicator on all respondents", file=sys.stderr)
        return 2

    # 2. plan
    # net n among valid answers, then interviews: / the share that answers (item nonresponse)
    plan = {}
    for g in row.index:
        r = row.loc[g]
        n_base = n_for_moe(float(r["estimate"]), args.moe, float(deff.loc[g]),
                           float(populations.loc[g]) * float(r["weighted_base_share"])).n_net
        plan[int(g)] = math.ceil(n_base / float(r["base_share"]))
    print(f"pilot ({time.perf_counter() - t0:.1f} s): planning '{args.indicator}' for "
          f"+/-{args.moe * 100:g} points (95%), p and median deff from the shipped 2022 wave")

    # 3. draws
    pop_by_group = {int(g): pop[pop["herkomst"] == g].reset_index(drop=True)
                    for g in sorted(pop["herkomst"].unique())}
    del pop
    results = []
    for r in range(args.draws):
        sample = draw(pop_by_group, plan, args.seed + 1 + r)
        prec = weigh_and_assess(sample, spec, margins, target_tables, args.seed + 1 + r)
        results.append(prec.assign(draw=r))
    res = pd.concat(results, ignore_index=True)
    z = z_value(0.95)

    # 4. report
    print(f"{args.draws} draws in {time.perf_counter() - t0:.1f} s\n")
    head = (f"{'group':>5} {'p pilot':>8} {'deff':>6} {'planned n':>9} {'mean n':>8} "
            f"{'mean half-width':>15} {'empirical':>9} {'target':>7} {'ratio':>6}")
    print(head)
    worst = 0.0
    for g, sub in res.groupby("group"):
        hw = sub["half_width"].mean()
        emp = z * sub["estimate"].std(ddof=1)
        ratio = hw / args.moe
        worst = max(worst, abs(ratio - 1))
        print(f"{int(g):>5} {row.loc[g, 'estimate']:>8.3f} {deff.loc[g]:>6.3f} {plan[int(g)]:>9} "
              f"{sub['n_group'].mean():>8.1f} {hw * 100:>14.2f}pp {emp * 100:>7.2f}pp "
              f"{args.moe * 100:>6.2f}p {ratio:>6.3f}")
    print(f"\nlargest relative gap of the mean half-width from the target: {worst:.1%} "
          f"({'within' if worst <= 0.10 else 'OUTSIDE'} 10%)")
    return 0 if worst <= 0.10 else 1


if __name__ == "__main__":
    sys.exit(main())
