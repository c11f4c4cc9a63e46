"""Coverage of 95% confidence intervals against the synthetic truth, over many seeds.

For each seed: a new synthetic population and gross sample, the respondents'
answers (no item nonresponse), the Taylor design (strata x PSU, base weights)
and the share of workers treated incorrectly at work per origin group. Prints
the share of intervals that cover the population value and the mean and SD of
(estimate - truth) / se, which should be near 0.95, 0 and 1.

    python scripts/coverage_check.py --seeds 20
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from sid import synthetic
from sid.design import Design
from sid.estimation import estimate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--first", type=int, default=101)
    parser.add_argument("--wave", type=int, default=2022)
    args = parser.parse_args()
    start = time.perf_counter()
    covered, z = [], []
    for seed in range(args.first, args.first + args.seeds):
        pop = synthetic.make_population(args.wave, seed)
        truth = synthetic.truth(pop)["groups"]
        sample = synthetic.draw_gross_sample(pop, args.wave, seed)
        resp = sample[sample["respons"] == 1].reset_index(drop=True)
        frame = resp[["herkomst", "base_wt", "stratum", "psu"]].copy()
        frame["y"] = resp["werk_behandeld"].isin([2, 3]).astype(float)
        works = resp["werksituatie"].isin([1, 2]).to_numpy()
        design = Design(frame, "base_wt", strata="stratum", psu="psu")
        result = estimate(design, "mean", "y", by=["herkomst"], where=works, ci="wald")
        for row in result.itertuples():
            value = truth[str(int(row.herkomst))]["werk_niet_correct"]
            covered.append(row.ci_low <= value <= row.ci_high)
            z.append((row.estimate - value) / row.se)
    print(f"{len(covered)} intervals over {args.seeds} seeds: coverage {np.mean(covered):.3f}, "
          f"z mean {np.mean(z):+.3f}, z sd {np.std(z):.3f} ({time.perf_counter() - start:.1f} s)")


if __name__ == "__main__":
    main()
