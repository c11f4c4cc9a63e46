"""Post-stratification to population counts on the full cross of one or more variables."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from sid.design import PostStratification
from sid.errors import WeightingError
from sid.weighting.checks import WeightArg, check_base_weights
from sid.weighting.margins import margin_gaps, resolve_margins
from sid.weighting.records import WeightingResult, make_result

__all__ = ["poststratify"]


def poststratify(
    data: pd.DataFrame,
    weight: WeightArg,
    cells: Mapping[Any, Any] | pd.DataFrame,
    *,
    name: str = "ps_wt",
) -> WeightingResult:
    """Post-stratify to population counts on the full cross of one or more variables.

    ``cells`` is ``{var or (var1, var2): {category or (c1, c2): count}}`` with
    one entry, or an R-style population table (stratum columns plus a count
    column). As R's ``postStratify(partial = FALSE)``: every sample cell needs
    a count and every cell with a positive count needs respondents. Within a
    cell final/base weight is constant: count / weighted sample count.
    """
    where = "poststratify"
    w = check_base_weights(data, weight, where)
    ms = resolve_margins(data, cells, where, 1e-9)
    if len(ms) != 1:
        raise WeightingError(f"post-stratification takes one cross of variables, got {len(ms)}",
                             where=where, fix="use rake() or calibrate() for several margins")
    m = ms[0]
    sample = np.bincount(m.code, weights=w, minlength=len(m.keys))
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(sample > 0, m.targets / sample, 0.0)
    out = w * ratio[m.code]
    info = PostStratification(cells=m.code.copy(), weights=out.copy(), oldweights=w.copy())
    gaps = margin_gaps([m], out)
    return make_result(out, data.index, "poststratify", w, name=name, gaps=gaps,
                   params={"cells": m.name}, calibration=(info,), tol=1e-9)

