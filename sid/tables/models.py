"""A ``model:`` table of a table book: crude and adjusted numbers per group, and the model.

"Niet correct behandeld op het werk naar herkomst, ruw en gecorrigeerd voor
opleiding, leeftijd, geslacht en gewest": :func:`build_model_table` fits the
table's model with :func:`sid.model.glm` (outcome ~ covariates + the table's
``by`` variable, on the table's base and wave, by zero-weighting), and returns a
:class:`ModelTableResult`:

* ``frame`` (:data:`sid.tables.book.TABLE_COLUMNS`): per group of ``by`` the
  crude value (panel ``crude``) and the adjusted predictive margin (panel
  ``adjusted``), both from :func:`sid.model.crude_and_adjusted` on the model's
  rows, with p-values against the reference group, and the adjusted difference
  with the reference group (panel ``diff``); the book's suppression rule on the
  group's unweighted n;
* ``coefficients`` (:data:`COEFFICIENT_COLUMNS`): every coefficient with its
  Dutch label ("Opleidingsniveau: hoog (ref. laag)"), estimate, CI, p, odds or
  rate ratio and the unweighted n behind it (a level's rows), suppressed below
  the rule;
* ``terms``: the Wald F test of every term (:func:`sid.model.term_tests`).

:func:`check_model_table` cross-checks a model table against the codebook.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from sid.design import Design
from sid.errors import show_values
from sid.tables.book import TABLE_COLUMNS, TableResult
from sid.tables.spec import TableSpec
from sid.tables.suppression import Suppression

if TYPE_CHECKING:
    from sid.codebook import Codebook
    from sid.model import ModelFit

COEFFICIENT_COLUMNS = (
    "term", "label", "variable", "level", "estimate", "se", "ci_low", "ci_high", "df",
    "p_value", "exp_estimate", "exp_ci_low", "exp_ci_high", "n", "suppressed", "flagged",
)
"""Columns of :attr:`ModelTableResult.coefficients`: ``term`` is R's name, ``label``
the Dutch (or English) label, ``variable``/``level`` what the coefficient is of
(level empty for a numeric variable or the intercept), ``estimate`` to ``p_value``
as :func:`sid.model.coefficient_table` (CI on the coefficient scale), ``exp_*`` the
odds or rate ratio and its CI (NaN for gaussian), ``n`` the unweighted rows
behind the coefficient (a level's rows; all rows for a numeric term)."""

TERM_TEST_COLUMNS = ("term", "label", "statistic", "df_num", "df_den", "p_value")

# the model family in the model note ({family})
_FAMILY: Mapping[str, Mapping[str, str]] = {
    "nl": {"binomial": "logistische regressie (logit)", "gaussian": "lineaire regressie",
           "poisson": "log-lineaire regressie (poisson)"},
    "en": {"binomial": "logistic regression (logit)", "gaussian": "linear regression",
           "poisson": "log-linear regression (poisson)"},
}

_TEXT: Mapping[str, Mapping[str, str]] = {
    "nl": {"crude": "ruw", "adjusted": "gecorrigeerd", "diff": "verschil met {ref}, gecorrigeerd",
           "intercept": "Constante", "per": "{label} (per eenheid)", "ref": "{var}: {level} (ref. {ref})",
           "model": "Model: {family} van {outcome} op {terms}; {n} respondenten in de basis, "
                    "{missing} weggelaten wegens een ontbrekende waarde op een modelvariabele.",
           "margins": "Gecorrigeerd: voorspelde marge per {by} (Korn en Graubard, zoals R's "
                      "svypredmeans): het gemiddelde van de voorspelling van het model met "
                      "iedereen in die groep, bij de eigen samenstelling van de basis naar {terms}. "
                      "Ruw: het gewogen {what} per groep op dezelfde respondenten.",
           "se": "Standaardfouten design-gebaseerd (Taylor-linearisatie: strata en clusters "
                 "van de steekproef; voor de marges ook de onzekerheid van het model); "
                 "{level}%-betrouwbaarheidsintervallen en p-waarden met de t-verdeling op {df} "
                 "vrijheidsgraden (de residuele vrijheidsgraden van het model).",
           "wald": "Standaardfouten design-gebaseerd (Taylor-linearisatie: strata en clusters "
                   "van de steekproef); {level}%-betrouwbaarheidsintervallen en p-waarden met de "
                   "normale benadering.",
           "or": "Odds ratio's: > 1 betekent een grotere kans, < 1 een kleinere, ten opzichte van "
                 "de referentiecategorie (ref.), bij gelijke waarden van de andere variabelen.",
           "rr": "Rate ratio's: de verhouding van de verwachte aantallen ten opzichte van de "
                 "referentiecategorie (ref.), bij gelijke waarden van de andere variabelen.",
           "b": "Coëfficiënten: het verschil in het gemiddelde ten opzichte van de "
                "referentiecategorie (ref.), of per eenheid, bij gelijke waarden van de andere "
                "variabelen.",
           "share": "percentage", "mean": "gemiddelde"},
    "en": {"crude": "crude", "adjusted": "adjusted", "diff": "difference with {ref}, adjusted",
           "intercept": "Intercept", "per": "{label} (per unit)", "ref": "{var}: {level} (ref. {ref})",
           "model": "Model: {family} of {outcome} on {terms}; {n} respondents in the base, "
                    "{missing} left out for a missing value on a model variable.",
           "margins": "Adjusted: predictive margin per {by} (Korn and Graubard, as R's "
                      "svypredmeans): the mean of the model's prediction with everyone in that "
                      "group, at the base's own mix of {terms}. Crude: the weighted {what} per "
                      "group on the same respondents.",
           "se": "Design-based standard errors (Taylor linearisation: sample strata and "
                 "clusters; for the margins including the model's uncertainty); {level}% "
                 "confidence intervals and p-values from the t distribution on {df} degrees of "
                 "freedom (the model's residual df).",
           "wald": "Design-based standard errors (Taylor linearisation: sample strata and "
                   "clusters); {level}% confidence intervals and p-values from the normal "
                   "approximation.",
           "or": "Odds ratios: > 1 means higher odds, < 1 lower odds, than the reference "
                 "category (ref.), other variables held equal.",
           "rr": "Rate ratios: the ratio of expected counts to the reference category (ref.), "
                 "other variables held equal.",
           "b": "Coefficients: the difference in the mean from the reference category (ref.), "
                "or per unit, other variables held equal.",
           "share": "percentage", "mean": "mean"},
}

_FUNCTIONS = {"C", "I", "factor", "log", "exp", "sqrt", "abs", "center", "scale", "poly", "np",
              "True", "False", "in", "and", "or", "not"}


@dataclass(frozen=True)
class ModelTableResult(TableResult):
    """A computed model table: a :class:`TableResult` (the crude and adjusted numbers per
    group, so CSV/JSON exports and the contents sheet work unchanged) plus the model.

    ``coefficients`` has :data:`COEFFICIENT_COLUMNS`, ``terms`` :data:`TERM_TEST_COLUMNS`;
    ``family`` the model family; ``model_n``/``model_missing``/``model_df`` the model's
    rows, rows left out for a missing model variable, and residual df; ``coef_note``
    explains the coefficient scale (odds ratios, rate ratios or coefficients).
    """

    coefficients: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(
        columns=list(COEFFICIENT_COLUMNS)))
    terms: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(
        columns=list(TERM_TEST_COLUMNS)))
    family: str = "binomial"
    model_n: int = 0
    model_missing: int = 0
    model_df: float = float("nan")
    coef_note: str = ""


def formula_variables(covariates: str) -> list[str]:
    """The variable names of a formula's right-hand side (functions and quoted text left out)."""
    text = re.sub(r"'[^']*'|\"[^\"]*\"", "", covariates)
    out: list[str] = []
    for m in re.finditer(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*", text):
        name = m.group(0)
        if (name in _FUNCTIONS or text[m.end():].lstrip().startswith("(")
                or (m.start() > 0 and text[m.start() - 1].isdigit())):
            continue
        if name not in out:
            out.append(name)
    return out


def check_model_table(t: TableSpec, codebook: Codebook, at: Callable[..., str]) -> list[str]:
    """Problems of a model table against the codebook, one line each (file:line: ...)."""
    from sid.tables.spec import _unknown

    m = t.model
    if m is None:
        return []
    names = set(codebook.names)
    out = []
    var = m.outcome.variable
    if var not in names:
        out.append(f"{at('model', 'outcome', 'variable')}: {_unknown(var, names, 'in the codebook')}")
    elif m.outcome.codes is not None:
        labels = codebook.value_labels(var)
        bad = [c for c in m.outcome.codes if labels and c not in labels]
        if bad:
            out.append(f"{at('model', 'outcome', 'codes')}: {show_values(bad)} are not codes of "
                       f"{var!r} (codes: {show_values(sorted(labels))})")
    covariates = formula_variables(m.covariates)
    for name in covariates:
        if name not in names:
            out.append(f"{at('model', 'covariates')}: {_unknown(name, names, 'in the codebook')}")
    for name in m.labels:
        if name not in (*covariates, *t.by):
            out.append(f"{at('model', 'labels')}: {name!r} is not a covariate or the 'by' "
                       f"variable of this model ({show_values([*covariates, *t.by])})")
    return out


def _value_label(cb: Codebook, var: str, level: str, lang: str) -> str:
    labels = cb.value_labels(var, lang) if var in set(cb.names) else {}
    try:
        key: Any = float(level)
    except ValueError:
        key = level
    return str(labels.get(key, level))


def _variable_label(t: TableSpec, cb: Codebook, var: str, lang: str) -> str:
    assert t.model is not None
    if var in t.model.labels:
        return t.model.labels[var].get(lang)
    return cb.label(var, lang) if var in set(cb.names) else var


def _split_term(piece: str, model: ModelFit) -> tuple[str, str | None]:
    """(variable, level) of one part of a coefficient name; level None when numeric."""
    frame = model.frame
    assert frame is not None
    for var, levels in frame.levels.items():
        for prefix in (f"C({var})", f"factor({var})", var):
            if piece.startswith(prefix) and piece[len(prefix):] in levels:
                return var, piece[len(prefix):]
    return piece, None


def coefficient_label(term: str, model: ModelFit, t: TableSpec, cb: Codebook, lang: str) -> str:
    """A coefficient's label: "Opleidingsniveau: hoog (ref. laag)", "Leeftijd (per eenheid)"."""
    tx = _TEXT[lang]
    if term == "(Intercept)":
        return str(tx["intercept"])
    frame = model.frame
    assert frame is not None
    parts = []
    for piece in term.split(":"):
        var, level = _split_term(piece, model)
        name = _variable_label(t, cb, var, lang)
        if level is None:
            own = t.model is not None and var in t.model.labels
            parts.append(name if own or var not in frame.variables
                         else str(tx["per"]).format(label=name))
        else:
            ref = frame.levels[var][0]
            parts.append(str(tx["ref"]).format(var=name, level=_value_label(cb, var, level, lang),
                                               ref=_value_label(cb, var, ref, lang)))
    return " × ".join(parts)


def _outcome_column(data: pd.DataFrame, t: TableSpec) -> pd.Series:
    assert t.model is not None
    values = data[t.model.outcome.variable].astype(float)
    codes = t.model.outcome.codes
    if codes is None:
        return values
    return values.isin(codes).astype(float).where(values.notna())


def model_column(t: TableSpec) -> str:
    """The name of the outcome column a model table adds to the design's data."""
    return f"_m_{t.id}"


def add_model_columns(data: pd.DataFrame, tables: Any) -> dict[str, pd.Series]:
    """The outcome columns (0/1 for a binomial model, NaN when missing) of the model tables."""
    return {model_column(t): _outcome_column(data, t) for t in tables if t.model is not None}


def fit_table_model(design: Design, t: TableSpec, cb: Codebook) -> ModelFit:
    """The table's model: ``outcome ~ covariates + by`` on the base and wave (zero-weighting)."""
    from sid.model import fit

    assert t.model is not None
    by = t.by[0]
    wave_where = f"wave == {t.waves[0]!r}"
    where = wave_where if not t.base.where else f"({t.base.where}) and {wave_where}"
    formula = f"{model_column(t)} ~ {t.model.covariates} + {by}"
    ci = t.ci.method if t.ci.method in ("t", "wald") else "t"
    reference = {by: t.reference} if t.reference is not None else None
    return fit(design, formula, t.model.family, where, ci=ci, conf_level=t.ci.level,
               reference=reference, categorical=(by,), codebook=cb)


def build_model_table(t: TableSpec, design: Design, cb: Codebook, lang: str, weight_name: str,
                      source: str) -> ModelTableResult:
    """Compute a model table (see the module docstring); ``design`` holds the outcome column."""
    from sid.model import term_tests
    from sid.model.predictive import crude_and_adjusted_margins

    assert t.model is not None
    tx = _TEXT[lang]
    by = t.by[0]
    model = fit_table_model(design, t, cb)  # ``by`` is a term: margins need no refit
    assert model.frame is not None
    # the crude model is ``outcome ~ by`` on the model's rows, fitted once for both
    table, adjusted, crude = crude_and_adjusted_margins(model, by, t.reference)
    contrasts = adjusted.contrasts().set_index(by)
    crude_p = crude.contrasts().set_index(by)["p_value"]
    adjusted_p = table.set_index(by)["adjusted_diff_p"]
    pct = 100.0 if model.family == "binomial" else 1.0
    rule = Suppression(t.suppression.below, t.suppression.flag_below)
    ref_level = str(model.frame.levels[by][0])
    ref_label = _value_label(cb, by, ref_level, lang)
    rows = []
    for _, r in table.iterrows():
        level = str(r[by])
        code = float(level)
        common = {"section": "", "section_label": "", "group": f"{code:g}",
                  "group_label": _value_label(cb, by, level, lang), "is_reference": level == ref_level,
                  "ci_method": model.ci, "conf_level": model.conf_level, "df": model.df_residual,
                  "n": int(r["n"]), "n_weighted": np.nan}
        for panel, key, p in (("crude", "crude", crude_p), ("adjusted", "adjusted", adjusted_p)):
            rows.append({**common, "panel": panel, "panel_label": tx[panel], "kind": "estimate",
                         "estimate": pct * r[key], "se": pct * r[f"{key}_se"],
                         "ci_low": pct * r[f"{key}_ci_low"], "ci_high": pct * r[f"{key}_ci_high"],
                         "p_value": float(p.get(level, np.nan))})
        if level == ref_level:
            continue  # no difference of the reference group with itself (as compare())
        diff_se = float(contrasts.loc[level, "se"]) if level in contrasts.index else np.nan
        rows.append({**common, "panel": "diff", "kind": "difference",
                     "panel_label": str(tx["diff"]).format(ref=ref_label),
                     "estimate": pct * r["adjusted_diff"], "se": pct * diff_se,
                     "ci_low": pct * r["adjusted_diff_ci_low"],
                     "ci_high": pct * r["adjusted_diff_ci_high"],
                     "p_value": float(adjusted_p.get(level, np.nan))})
    f = pd.DataFrame(rows)
    sup, flag = rule.apply(f["n"].to_numpy(dtype=float))
    f["suppressed"] = sup
    f["flagged"] = flag & (f["kind"] == "estimate").to_numpy()
    f["significant"] = (f["p_value"] < t.alpha).where(f["p_value"].notna())
    frame = f[list(TABLE_COLUMNS)].reset_index(drop=True)

    coefs = _coefficients(model, t, cb, lang, rule)
    tests = term_tests(model)
    tests.insert(1, "label", [_term_label(label, model, t, cb, lang) for label in tests["term"]])
    tests = tests[list(TERM_TEST_COLUMNS)]
    notes, coef_note, subtitle = _notes(t, model, cb, lang, weight_name, source)
    return ModelTableResult(id=t.id, title=t.title.get(lang), frame=frame,
                            unit="percent" if model.family == "binomial" else "mean",
                            decimals=t.decimals, group_title=_variable_label(t, cb, by, lang),
                            reference_label=ref_label, subtitle=subtitle, footnotes=tuple(notes),
                            suppression=rule, alpha=t.alpha, coefficients=coefs, terms=tests,
                            family=model.family, model_n=model.n, model_missing=model.n_missing,
                            model_df=float(model.df_residual), coef_note=coef_note)


def _term_label(label: str, model: ModelFit, t: TableSpec, cb: Codebook, lang: str) -> str:
    """A term's label (the variable's label; parts of an interaction joined by ×)."""
    return " × ".join(_variable_label(t, cb, re.sub(r"^(C|factor)\((.*)\)$", r"\2", part), lang)
                      for part in label.split(":"))


def _coefficients(model: ModelFit, t: TableSpec, cb: Codebook, lang: str,
                  rule: Suppression) -> pd.DataFrame:
    """The coefficient table with labels, n per coefficient and the suppression rule."""
    frame = model.frame
    assert frame is not None
    coef = model.coefficients
    w = model.design.w[frame.rows] if model.design is not None else np.ones(len(frame.rows))
    used = frame.X[w > 0]
    n = (used != 0).sum(axis=0)
    variables, levels = [], []
    for term in coef["term"]:
        if term == "(Intercept)":
            variables.append("")
            levels.append("")
            continue
        split = [_split_term(piece, model) for piece in term.split(":")]
        variables.append(":".join(v for v, _ in split))
        levels.append(":".join(lev or "" for _, lev in split))
    out = pd.DataFrame({
        "term": coef["term"],
        "label": [coefficient_label(term, model, t, cb, lang) for term in coef["term"]],
        "variable": variables, "level": levels,
    })
    for c in ("estimate", "se", "ci_low", "ci_high", "df", "p_value"):
        out[c] = coef[c].to_numpy()
    for c in ("exp_estimate", "exp_ci_low", "exp_ci_high"):
        out[c] = coef[c].to_numpy() if c in coef else np.nan
    out["n"] = np.where(out["level"] == "", model.n, n).astype(np.int64)
    sup, flag = rule.apply(out["n"].to_numpy(dtype=float))
    out["suppressed"] = sup
    out["flagged"] = flag
    return out[list(COEFFICIENT_COLUMNS)]


def _notes(t: TableSpec, model: ModelFit, cb: Codebook, lang: str, weight_name: str,
           source: str) -> tuple[list[str], str, str]:
    """Footnotes, the coefficient-scale note and the subtitle of a model table."""
    assert t.model is not None
    tx = _TEXT[lang]
    by = t.by[0]
    covariates = formula_variables(t.model.covariates)
    and_ = " en " if lang == "nl" else " and "

    def short(var: str) -> str:  # "Leeftijd (per jaar)" -> "leeftijd" in running text
        return re.sub(r"\s*\(.*\)$", "", _variable_label(t, cb, var, lang)).lower()

    def listed(names: list[str]) -> str:
        return names[0] if len(names) == 1 else ", ".join(names[:-1]) + and_ + names[-1]

    terms_text = listed([short(v) for v in covariates])
    outcome = t.model.outcome.label.get(lang) if t.model.outcome.label else \
        cb.label(t.model.outcome.variable, lang)
    if t.model.outcome.codes is not None:
        vl = cb.value_labels(t.model.outcome.variable, lang)
        counted = ", ".join(vl.get(c, f"{c:g}") for c in t.model.outcome.codes)
        outcome = f"{outcome} ({counted})"
    family = _FAMILY[lang][model.family]
    level = f"{model.conf_level * 100:g}"
    df = f"{model.df_residual:g}"
    base = t.base.label.get(lang) if t.base.label else ("alle respondenten" if lang == "nl"
                                                        else "all respondents")
    what = tx["share"] if model.family == "binomial" else tx["mean"]
    notes = [
        str(tx["model"]).format(family=family, outcome=outcome,
                                terms=listed([short(v) for v in (*covariates, by)]),
                                n=model.n, missing=model.n_missing),
        str(tx["margins"]).format(by=short(by), terms=terms_text,
                                  what=what),
        str(tx["se" if model.ci == "t" else "wald"]).format(level=level, df=df),
        ("Basis" if lang == "nl" else "Base") + f": {base}. " +
        ("Gewicht" if lang == "nl" else "Weight") + f": {weight_name}. " +
        ("Golf" if lang == "nl" else "Wave") + f": {t.waves[0]}.",
    ]
    notes.extend(n.get(lang) for n in t.notes)
    notes.append(("Bron" if lang == "nl" else "Source") + f": {source} {t.waves[0]}.")
    coef_note = str(tx[{"binomial": "or", "poisson": "rr"}.get(model.family, "b")])
    unit = "gewogen percentage" if lang == "nl" else "weighted percentage"
    if model.family != "binomial":
        unit = f"{tx['mean']} {cb.label(t.model.outcome.variable, lang)}"
    subtitle = (f"{unit}; {'basis' if lang == 'nl' else 'base'}: {base}; "
                f"{'golf' if lang == 'nl' else 'wave'} {t.waves[0]}")
    return notes, coef_note, subtitle
