"""Wald tests of model terms: R's ``regTermTest(model, ~term, method = "Wald")``.

For a term with columns ``j`` the statistic is
``F = b_j' V_jj^-1 b_j / q`` on ``q`` (the term's columns) and the model's
residual df (R's ``df.residual``), ``p = P(F(q, df) > F)``. All terms of the
formula are tested at once (the intercept is not a term).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import special

from sid.model.formula import ModelError
from sid.model.glm import ModelFit

TERM_COLUMNS = ("term", "statistic", "df_num", "df_den", "p_value")


def wald_test(model: ModelFit, columns: Sequence[int], df: float | None = None
              ) -> tuple[float, int, float, float]:
    """F statistic, numerator df, denominator df and p-value for coefficients ``columns``."""
    idx = np.asarray(columns, dtype=np.int64)
    b = model.coef[idx]
    v = model.vcov[np.ix_(idx, idx)]
    chisq = float(b @ np.linalg.solve(v, b))
    q = len(idx)
    ddf = model.df_residual if df is None else df
    f = chisq / q
    # scipy.stats' f.sf and chi2.sf (fdtrc, chdtrc), without importing scipy.stats
    p = float(special.fdtrc(q, ddf, f)) if np.isfinite(ddf) else float(special.chdtrc(q, chisq))
    return f, q, float(ddf), p


def term_tests(model: ModelFit, terms: Sequence[str] | None = None) -> pd.DataFrame:
    """Wald F test per term (formula order, as R's term labels), :data:`TERM_COLUMNS`."""
    known = {t.label: t for t in model.terms if t.label != "(Intercept)"}
    wanted = list(known) if terms is None else list(terms)
    unknown = [t for t in wanted if t not in known]
    if unknown:
        from sid.expr import with_close_matches

        raise ModelError(f"unknown term(s): {with_close_matches(unknown, list(known))}",
                         where="terms", fix=f"use one of {', '.join(known)}")
    rows = []
    for label in wanted:
        f, q, ddf, p = wald_test(model, known[label].columns)
        rows.append({"term": label, "statistic": f, "df_num": q, "df_den": ddf, "p_value": p})
    return pd.DataFrame(rows, columns=list(TERM_COLUMNS))
