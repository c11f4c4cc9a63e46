"""Starting weights: design weights from inclusion probabilities or frame counts, and the
weighting-class nonresponse adjustment on the gross sample."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from sid.errors import WeightingError, format_number, show_values
from sid.weighting.checks import WeightArg, check_base_weights, raise_problems, row_labels, show_key
from sid.weighting.margins import margin_gaps, resolve_margin, targets_from_frame
from sid.weighting.records import MarginGap, WeightingResult, make_result

__all__ = ["design_weights", "frame_weights", "nonresponse_adjust"]


def design_weights(data: pd.DataFrame, incl_prob: str, *, name: str = "design_wt") -> WeightingResult:
    """Design weights 1/pi from inclusion probabilities in (0, 1]."""
    where = f"design_weights({incl_prob!r})"
    if incl_prob not in data.columns:
        raise WeightingError(f"inclusion probability {incl_prob!r} is not in the data", where=where,
                             fix="name the column holding the inclusion probabilities")
    p = pd.to_numeric(data[incl_prob], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    bad = ~np.isfinite(p) | (p <= 0) | (p > 1)
    if bad.any():
        raise WeightingError(
            f"{int(bad.sum())} inclusion probabilities outside (0, 1] or missing",
            where=where,
            got=f"rows {row_labels(data.index, bad)}: {show_values(np.unique(p[bad]).tolist())}",
            fix="inclusion probabilities must be in (0, 1]",
        )
    w = 1.0 / p
    return make_result(w, data.index, "design", np.ones_like(w), name=name,
                   params={"incl_prob": incl_prob})


def frame_weights(
    data: pd.DataFrame,
    strata: str | Sequence[str],
    frame_counts: Mapping[Any, float] | pd.DataFrame,
    *,
    name: str = "design_wt",
) -> WeightingResult:
    """Design weights N_h / n_h per stratum from frame counts (equal probability within strata).

    ``frame_counts`` maps a stratum value (a tuple for several stratum
    variables) to its frame size N_h, or is a table of the stratum columns and
    a count column. Every sampled stratum needs N_h >= n_h, and every frame
    stratum needs sampled units.
    """
    svars = (strata,) if isinstance(strata, str) else tuple(strata)
    where = f"frame_weights({' x '.join(svars)})"
    if isinstance(frame_counts, pd.DataFrame):
        fv, targets = targets_from_frame(frame_counts)
        if set(fv) != set(svars):
            raise WeightingError("frame counts are not by the stratum variables", where=where,
                                 got=show_values(list(fv)), fix=f"give counts by {show_values(list(svars))}")
        svars = fv
    else:
        targets = dict(frame_counts)
    problems: list[str] = []
    m = resolve_margin(data, svars, targets, where, problems)
    if m is not None:
        n_h = np.bincount(m.code, minlength=len(m.keys)).astype(float)
        small = [k for k in range(len(m.keys)) if 0 < m.targets[k] < n_h[k]]
        if small:
            problems.append(
                "strata with more sampled units than in the frame: "
                + ", ".join(f"{m.label(k)} (N={format_number(m.targets[k])}, n={int(n_h[k])})" for k in small)
            )
    raise_problems("frame counts do not fit the sample", problems, where,
                    "give N_h for every sampled stratum, from the same frame")
    assert m is not None
    w = (m.targets / n_h)[m.code]
    return make_result(w, data.index, "frame", np.ones_like(w), name=name,
                   params={"strata": list(svars)},
                   gaps=margin_gaps([m], w), tol=1e-9)


def nonresponse_adjust(
    gross: pd.DataFrame,
    weight: WeightArg,
    respondent: str,
    classes: str | Sequence[str],
    *,
    name: str = "nr_wt",
    min_respondents: int = 1,
) -> WeightingResult:
    """Weighting-class nonresponse adjustment on the gross sample.

    Within each class the respondents' weights are multiplied by (sum of
    weights of all sampled units) / (sum of weights of respondents), so the
    class totals of the gross sample are kept; nonrespondents get weight 0
    (the result stays aligned with ``gross``). ``respondent`` is a 0/1 column.
    """
    cvars = (classes,) if isinstance(classes, str) else tuple(classes)
    where = f"nonresponse_adjust({' x '.join(cvars)})"
    w = check_base_weights(gross, weight, where)
    if respondent not in gross.columns:
        raise WeightingError(f"response indicator {respondent!r} is not in the gross sample",
                             where=where, fix="name the 0/1 respondent column")
    r = pd.to_numeric(gross[respondent], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    bad = ~np.isin(r, [0.0, 1.0])
    if bad.any():
        raise WeightingError(
            f"response indicator {respondent!r} must be 0 or 1",
            where=where,
            got=f"rows {row_labels(gross.index, bad)}: {show_values(pd.unique(r[bad]).tolist())}",
            fix="code respondents 1 and nonrespondents 0",
        )
    problems: list[str] = []
    missing_cols = [c for c in cvars if c not in gross.columns]
    if missing_cols:
        raise WeightingError(f"class variable(s) {show_values(missing_cols)} not in the gross sample",
                             where=where, fix="name existing columns")
    key = gross[list(cvars)]
    miss = key.isna().any(axis=1).to_numpy()
    if miss.any():
        problems.append(f"{int(miss.sum())} row(s) with a missing class value (rows {row_labels(gross.index, miss)})")
        raise_problems("nonresponse classes", problems, where, "give every sampled unit a class")
    code = key.groupby(list(cvars), sort=True).ngroup().to_numpy()
    labels = [show_key(t) for t in
              key.drop_duplicates().sort_values(list(cvars)).itertuples(index=False, name=None)]
    resp = r == 1.0
    tot = np.bincount(code, weights=w)
    rtot = np.bincount(code, weights=w * resp, minlength=len(tot))
    nresp = np.bincount(code, weights=resp.astype(float), minlength=len(tot))
    empty = np.flatnonzero(nresp < min_respondents)
    if empty.size:
        problems.append(
            f"classes with fewer than {min_respondents} respondent(s): "
            + ", ".join(f"{labels[k]} ({int(nresp[k])} of {int(np.bincount(code)[k])})" for k in empty[:8])
        )
    raise_problems("nonresponse classes cannot be adjusted", problems, where,
                    "collapse small classes with a neighbouring class")
    factor = tot / rtot
    out = np.where(resp, w * factor[code], 0.0)
    gaps = tuple(
        MarginGap(" x ".join(cvars), labels[k], float(tot[k]),
                  float(np.bincount(code, weights=out, minlength=len(tot))[k]),
                  float(np.bincount(code, weights=out, minlength=len(tot))[k] / tot[k] - 1.0))
        for k in range(len(tot))
    )
    rates = {labels[k]: float(nresp[k] / np.bincount(code)[k]) for k in range(len(tot))}
    return make_result(out, gross.index, "nonresponse", w, name=name, gaps=gaps,
                   params={"classes": list(cvars), "response_rate": rates,
                           "adjustment": dict(zip(labels, factor.tolist(), strict=True))}, tol=1e-9)

