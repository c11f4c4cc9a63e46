"""Predictive margins per level of a grouping variable: R's ``svypredmeans``.

"Adjusted % treated incorrectly at work per origin group, at the sample's own
education, age and sex mix": for every level ``g`` of the grouping variable,
every analysis row gets the model's prediction with the group set to ``g``
(its other covariates as observed), and the margin is the weighted mean of
those predictions (Korn & Graubard). Its covariance is, as in R,
``D' V_beta D + V_mean``: the model's covariance through the derivative of the
margins in the coefficients, plus the design covariance of the weighted mean
of the (fixed) predictions, from :mod:`sid.variance`. A grouping variable
absent from the formula is added as a categorical term first, as
``svypredmeans`` does. Contrasts compare each margin with a reference level.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from sid.estimation.domains import label as r_label
from sid.model.formula import ModelError
from sid.model.glm import ModelFit, fit, two_sided_p
from sid.model.irls import family
from sid.variance import LinearForm, domain_presence, vcov

CONTRAST_COLUMNS = ("reference", "estimate", "se", "ci_low", "ci_high", "df", "statistic",
                    "p_value")


@dataclass(frozen=True, eq=False)
class Margins:
    """Predictive margins of ``variable`` (levels in sorted order) and their covariance."""

    variable: str
    levels: tuple[str, ...]
    estimate: np.ndarray
    vcov: np.ndarray
    model_part: np.ndarray  # D' V_beta D
    mean_part: np.ndarray  # design covariance of the mean predictions
    df: float
    reference: str
    model: ModelFit

    @property
    def se(self) -> np.ndarray:
        return np.sqrt(np.diag(self.vcov))

    def critical(self, ci: str | None = None, conf_level: float | None = None) -> float:
        return self.model.critical(ci, conf_level)

    def table(self, ci: str | None = None, conf_level: float | None = None) -> pd.DataFrame:
        """``variable`` (the levels), estimate, se, ci_low, ci_high."""
        crit = self.critical(ci, conf_level)
        se = self.se
        return pd.DataFrame({self.variable: list(self.levels), "estimate": self.estimate,
                             "se": se, "ci_low": self.estimate - crit * se,
                             "ci_high": self.estimate + crit * se})

    def contrasts(self, reference: Any = None, ci: str | None = None,
                  conf_level: float | None = None) -> pd.DataFrame:
        """Each margin minus the reference level's, with SE, CI, t (or z) and p."""
        ref = self.reference if reference is None else r_label(reference)
        if ref not in self.levels:
            raise ModelError(f"reference level {ref!r} is not a level of {self.variable!r}",
                             where="margins reference", got=", ".join(self.levels),
                             fix="pick one of the levels")
        r = self.levels.index(ref)
        others = [j for j in range(len(self.levels)) if j != r]
        v = self.vcov
        diff = self.estimate[others] - self.estimate[r]
        se = np.sqrt(np.array([v[j, j] + v[r, r] - 2 * v[j, r] for j in others]))
        crit = self.critical(ci, conf_level)
        with np.errstate(divide="ignore", invalid="ignore"):
            stat = diff / se
        wald = (ci or self.model.ci) == "wald"
        p = two_sided_p(stat, self.df, wald=wald)
        out = pd.DataFrame({self.variable: [self.levels[j] for j in others]})
        cols = {"reference": ref, "estimate": diff, "se": se, "ci_low": diff - crit * se,
                "ci_high": diff + crit * se, "df": float(self.df), "statistic": stat,
                "p_value": p}
        for name in CONTRAST_COLUMNS:
            out[name] = cols[name]
        return out


def with_group(model: ModelFit, variable: str) -> ModelFit:
    """The model with ``variable`` as a categorical term (refitted when it is absent)."""
    frame = model.frame
    if frame is None or model.design is None:
        raise ModelError("this model has no data attached", where="margins",
                         fix="use a ModelFit returned by sid.model.glm")
    if variable in frame.levels:
        return model
    if variable in frame.variables:
        raise ModelError(f"margins need a categorical variable; {variable!r} is numeric in "
                         "the model", where="margins",
                         fix=f"write C({variable}) in the formula, or use another variable")
    opts = dict(model.options)
    return fit(model.design, f"{model.formula} + {variable}", model.family, opts.get("where"),
               ci=model.ci, conf_level=model.conf_level, reference=opts.get("reference"),
               categorical=(*opts.get("categorical", ()), variable),
               codebook=opts.get("codebook"))


def margins(model: ModelFit, variable: str, reference: Any = None) -> Margins:
    """Predictive margins of ``variable`` as R's ``svypredmeans(model, ~variable)``."""
    m = with_group(model, variable)
    frame = m.frame
    design = m.design
    if frame is None or design is None:  # pragma: no cover - with_group guarantees both
        raise ModelError("the model has no data attached", where="margins",
                         fix="use a ModelFit returned by sid.model.glm")
    fam = family(m.family)
    categories = frame.levels[variable]
    levels = frame.sorted_levels[variable]
    rows = frame.rows
    w = design.w[rows]
    sw = float(np.sum(w))
    g = len(levels)
    fits = np.empty((len(rows), g))
    deriv = np.empty((len(m.coef), g))
    for j, level in enumerate(levels):
        data = frame.frame.copy()
        data[variable] = pd.Categorical([level] * len(data), categories=list(categories))
        x = frame.matrix(data)
        eta = x @ m.coef
        mu = fam.linkinv(eta)
        fits[:, j] = mu
        deriv[:, j] = (w * fam.mu_eta(eta, mu)) @ x / sw
    form = LinearForm(np.repeat(rows, g), np.tile(np.arange(g), len(rows)), fits.ravel(),
                      np.ones(len(rows) * g), g)
    est = form.estimate(design.w)
    mean_part = vcov(design, form, est, present=domain_presence(design, form))
    model_part = deriv.T @ m.vcov @ deriv
    ref = categories[0] if reference is None else r_label(reference)
    if ref not in levels:
        raise ModelError(f"reference level {ref!r} is not a level of {variable!r}",
                         where="margins reference", got=", ".join(levels),
                         fix="pick one of the levels")
    return Margins(variable, tuple(levels), est, model_part + mean_part, model_part, mean_part,
                   m.df_residual, ref, m)


ADJUSTED_COLUMNS = (
    "n", "crude", "crude_se", "crude_ci_low", "crude_ci_high", "adjusted", "adjusted_se",
    "adjusted_ci_low", "adjusted_ci_high", "adjusted_diff", "adjusted_diff_ci_low",
    "adjusted_diff_ci_high", "adjusted_diff_p",
)


def crude_and_adjusted(model: ModelFit, variable: str, reference: Any = None) -> pd.DataFrame:
    """Per level of ``variable``: the crude (unadjusted) mean and the adjusted margin.

    For a table "ruw en gecorrigeerd": both on the same rows (the model's analysis
    rows, so the comparison is not blurred by different missing values). The crude
    number is the margin of ``response ~ variable``, which is the domain mean (or
    share) itself; the adjusted one is :func:`margins` of ``model``, with its
    difference from the reference level. Columns: ``variable`` then
    :data:`ADJUSTED_COLUMNS`; levels sorted; CIs as the model's ``ci``.
    """
    return crude_and_adjusted_margins(model, variable, reference)[0]


def crude_and_adjusted_margins(model: ModelFit, variable: str, reference: Any = None
                               ) -> tuple[pd.DataFrame, Margins, Margins]:
    """:func:`crude_and_adjusted` and the adjusted and crude :class:`Margins` it was made
    from, for a caller that needs more of them (their contrasts) without refitting."""
    adjusted = margins(model, variable, reference)
    m = adjusted.model
    if m.frame is None or m.design is None:  # pragma: no cover - margins guarantees both
        raise ModelError("the model has no data attached", where="margins",
                         fix="use a ModelFit returned by sid.model.glm")
    member = np.zeros(m.design.n, dtype=bool)
    member[m.frame.rows] = True
    lhs = m.formula.split("~", 1)[0].strip()
    opts = dict(m.options)
    crude_fit = fit(m.design, f"{lhs} ~ {variable}", m.family, member, ci=m.ci,
                    conf_level=m.conf_level, reference=opts.get("reference"),
                    categorical=(*opts.get("categorical", ()), variable),
                    codebook=opts.get("codebook"))
    crude = margins(crude_fit, variable, adjusted.reference)
    a = adjusted.table()
    c = crude.table().set_index(variable).loc[list(adjusted.levels)]
    con = adjusted.contrasts().set_index(variable)
    codes = m.frame.frame[variable].astype(str)
    w = m.design.w[m.frame.rows]
    counts = pd.Series(w > 0).groupby(codes.to_numpy()).sum()
    out = pd.DataFrame({variable: list(adjusted.levels)})
    values = {
        "n": [int(counts.get(lev, 0)) for lev in adjusted.levels],
        "crude": c["estimate"].to_numpy(), "crude_se": c["se"].to_numpy(),
        "crude_ci_low": c["ci_low"].to_numpy(), "crude_ci_high": c["ci_high"].to_numpy(),
        "adjusted": a["estimate"].to_numpy(), "adjusted_se": a["se"].to_numpy(),
        "adjusted_ci_low": a["ci_low"].to_numpy(), "adjusted_ci_high": a["ci_high"].to_numpy(),
    }
    for key, col in (("adjusted_diff", "estimate"), ("adjusted_diff_ci_low", "ci_low"),
                     ("adjusted_diff_ci_high", "ci_high"), ("adjusted_diff_p", "p_value")):
        values[key] = [0.0 if lev == adjusted.reference and col != "p_value" else
                       float(con.loc[lev, col]) if lev in con.index else np.nan
                       for lev in adjusted.levels]
    for name in ADJUSTED_COLUMNS:
        out[name] = values[name]
    return out, adjusted, crude
