"""Coverage of a design-based model's 95% intervals against the synthetic census truth.

For each seed: a new synthetic population, its census model truth
(:func:`sid.synthetic.truth_models.model_truth`: coefficients and predictive
margins of the model fitted on every person), a gross sample and its
respondents' true answers (no item nonresponse), the Taylor design (strata x
PSU, base weights), and the book's model (``sid.model.glm``, binomial,
workers only): outcome ~ opleiding + leeftijd + geslacht + gewest + herkomst.
Prints, for the adjusted margins per origin group and for the coefficients,
the share of intervals that cover the truth and the mean and SD of
(estimate - truth) / se, which should be near 0.95, 0 and 1; and the same
for the crude shares on the model's rows.

    python scripts/coverage_model.py --seeds 20
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from sid import synthetic  # noqa: E402
from sid.design import Design  # noqa: E402
from sid.model import crude_and_adjusted, fit  # noqa: E402
from sid.synthetic.truth_models import model_truth  # noqa: E402

CATEGORICAL = ("opleiding", "geslacht", "gewest", "herkomst")


def _summary(name: str, covered: list[bool], z: list[float]) -> str:
    return (f"{name:<22} {len(covered):>4} intervals: coverage {np.mean(covered):.3f}, "
            f"z mean {np.mean(z):+.3f}, z sd {np.std(z):.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--first", type=int, default=101)
    parser.add_argument("--wave", type=int, default=2022)
    args = parser.parse_args()
    start = time.perf_counter()
    cov: dict[str, list[bool]] = {"adjusted margins": [], "crude shares": [], "coefficients": []}
    zs: dict[str, list[float]] = {k: [] for k in cov}
    for seed in range(args.first, args.first + args.seeds):
        pop = synthetic.make_population(args.wave, seed)
        truth = model_truth(pop)["werk_niet_correct"]
        sample = synthetic.draw_gross_sample(pop, args.wave, seed)
        del pop
        resp = sample[sample["respons"] == 1].reset_index(drop=True)
        frame = resp[["herkomst", "opleiding", "leeftijd", "geslacht", "gewest", "base_wt",
                      "stratum", "psu"]].copy()
        frame["y"] = resp["werk_behandeld"].isin([2, 3]).astype(float)
        works = resp["werksituatie"].isin([1, 2]).to_numpy()
        design = Design(frame, "base_wt", strata="stratum", psu="psu")
        model = fit(design, "y ~ opleiding + leeftijd + geslacht + gewest + herkomst", "binomial",
                    works, categorical=CATEGORICAL)
        table = crude_and_adjusted(model, "herkomst")
        for row in table.itertuples():
            true = truth["groups"][str(row.herkomst)]
            for key, est, se, lo, hi, value in (
                    ("adjusted margins", row.adjusted, row.adjusted_se, row.adjusted_ci_low,
                     row.adjusted_ci_high, true["adjusted"]),
                    ("crude shares", row.crude, row.crude_se, row.crude_ci_low, row.crude_ci_high,
                     true["crude"])):
                cov[key].append(lo <= value <= hi)
                zs[key].append((est - value) / se)
        coefs = model.coefficients.set_index("term")
        for term, value in truth["coefficients"].items():
            r = coefs.loc[term]
            cov["coefficients"].append(r["ci_low"] <= value <= r["ci_high"])
            zs["coefficients"].append((r["estimate"] - value) / r["se"])
    print(f"wave {args.wave}, {args.seeds} seeds from {args.first} "
          f"({time.perf_counter() - start:.1f} s)")
    for key in cov:
        print(_summary(key, cov[key], zs[key]))


if __name__ == "__main__":
    main()
