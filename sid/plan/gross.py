"""Response and eligibility rates per group from the gross sample, and group
populations from the population margins.

The gross sample file (``sid synth`` writes ``sid2022_gross.sav``) has one row
per drawn person: the origin group of the frame, the outcome ``respons``
(1 respondent, 0 nonrespondent) and, when fieldwork records it, whether the
person belonged to the target population (an eligibility column, 1 eligible,
0 not: moved abroad, deceased, wrong address). Rates are unweighted: they
turn interviews into addresses to draw, which is an operational count.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from sid.errors import PlanError, show_values

RATE_COLUMNS = ("group", "n_drawn", "n_eligible", "n_respondents", "eligibility_rate",
                "response_rate")


def _codes(frame: pd.DataFrame, column: str, where: str, allowed: Sequence[float],
           problems: list[str]) -> np.ndarray:
    if column not in frame.columns:
        problems.append(f"column {column!r} is not in the file")
        return np.zeros(len(frame))
    values = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=float)
    bad = ~np.isin(values, allowed)
    if bad.any():
        rows = np.flatnonzero(bad)
        problems.append(f"{column!r} must be {' or '.join(f'{a:g}' for a in allowed)} in every row "
                        f"(rows {show_values((rows + 1).tolist())}: "
                        f"{show_values(pd.unique(values[bad]).tolist())})")
    return values


def response_rates(gross: pd.DataFrame, group: str, respondent: str = "respons",
                   eligible: str | None = None, where: str = "gross sample") -> pd.DataFrame:
    """Per group: persons drawn, eligible, respondents, eligibility and response rate.

    ``response_rate = respondents / eligible`` (every drawn person is eligible
    when there is no ``eligible`` column, and ``eligibility_rate`` is then 1).
    Returns a frame with :data:`RATE_COLUMNS`, one row per group, sorted. All
    problems of the file are reported at once.
    """
    problems: list[str] = []
    if group not in gross.columns:
        problems.append(f"group column {group!r} is not in the file")
    resp = _codes(gross, respondent, where, (0.0, 1.0), problems)
    elig = (np.ones(len(gross)) if eligible is None
            else _codes(gross, eligible, where, (0.0, 1.0), problems))
    if not problems:
        g = pd.to_numeric(gross[group], errors="coerce")
        if g.isna().any():
            rows = np.flatnonzero(g.isna().to_numpy())
            problems.append(f"group column {group!r} is missing in rows "
                            f"{show_values((rows + 1).tolist())}")
        if ((resp == 1) & (elig == 0)).any():
            rows = np.flatnonzero((resp == 1) & (elig == 0))
            problems.append(f"respondents marked not eligible in rows {show_values((rows + 1).tolist())}")
    if problems:
        raise PlanError("the gross sample cannot give response rates: " + "; ".join(problems),
                        where=where, fix="give the gross sample file of the wave "
                        "(one row per drawn person, respons 1/0)")
    frame = pd.DataFrame({"group": g.to_numpy(dtype=float), "drawn": 1.0, "eligible": elig,
                          "resp": resp})
    agg = frame.groupby("group", sort=True).sum()
    out = pd.DataFrame({
        "group": agg.index.to_numpy(dtype=float),
        "n_drawn": agg["drawn"].to_numpy(dtype=np.int64),
        "n_eligible": agg["eligible"].to_numpy(dtype=np.int64),
        "n_respondents": agg["resp"].to_numpy(dtype=np.int64),
    })
    out["eligibility_rate"] = out["n_eligible"] / out["n_drawn"]
    with np.errstate(divide="ignore", invalid="ignore"):
        out["response_rate"] = out["n_respondents"] / out["n_eligible"]
    return out[list(RATE_COLUMNS)]


def group_populations(margins: pd.DataFrame, group: str = "herkomst", count: str = "count",
                      ref_date: str | None = None, where: str = "margins") -> pd.Series:
    """Population per group: the sum of ``count`` over the margins rows of each group.

    A long margins table (``population_margins.csv``: ``ref_date, herkomst,
    geslacht, leeftijdsgroep, gewest, count``) holds several reference dates; the
    latest is used unless ``ref_date`` is given.
    """
    missing = [c for c in (group, count) if c not in margins.columns]
    if missing:
        raise PlanError(f"column(s) {show_values(missing)} not in the margins table", where=where,
                        got=show_values(list(margins.columns)),
                        fix="give a long margins table with a group and a count column")
    table = margins
    if "ref_date" in margins.columns:
        dates = sorted(margins["ref_date"].astype(str).unique())
        chosen = dates[-1] if ref_date is None else str(ref_date)
        if chosen not in dates:
            raise PlanError(f"reference date {chosen!r} not in the margins table", where=where,
                            got=show_values(dates), fix="pick one of the dates in the file")
        table = margins[margins["ref_date"].astype(str) == chosen]
    counts = pd.to_numeric(table[count], errors="coerce")
    if counts.isna().any() or (counts < 0).any():
        raise PlanError(f"column {count!r} must hold counts >= 0", where=where,
                        fix="correct the margins table")
    keys = pd.to_numeric(table[group], errors="coerce")
    pops = counts.groupby(keys.to_numpy(dtype=float)).sum()
    pops.index.name = "group"
    return pops.rename("population")


def check_groups(groups: Iterable[float], rates: pd.DataFrame | None, populations: pd.Series | None,
                 labels: dict[float, str] | None = None) -> None:
    """Every group must be in the gross sample (with a response rate above 0) and in the
    margins; all problems at once."""
    labels = labels or {}

    def show(gs: list[float]) -> str:
        return ", ".join(labels.get(g, f"{g:g}") for g in gs)

    groups = [float(g) for g in groups]
    problems = []
    if rates is not None:
        absent = [g for g in groups if g not in set(rates["group"].astype(float))]
        if absent:
            problems.append(f"not in the gross sample: {show(absent)}")
        rr = rates.set_index(rates["group"].astype(float))["response_rate"]
        zero = [g for g in groups if g in rr.index and not rr.loc[g] > 0]
        if zero:
            problems.append(f"without respondents in the gross sample (response rate 0): {show(zero)}")
    if populations is not None:
        absent = [g for g in groups if g not in set(populations.index.astype(float))]
        if absent:
            problems.append(f"not in the margins: {show(absent)}")
    if problems:
        raise PlanError("origin group(s) of the wave " + "; ".join(problems), where="groups",
                        fix="give the gross sample and margins of the same groups as the wave")
