"""Population (census) regression truths of the synthetic SID population.

Why: a design-based model (:mod:`sid.model`) estimates the *finite-population*
coefficients, the ones the model would have if it were fitted on every person
of the population, and Korn-Graubard predictive margins estimate the
population mean of the model's predictions with the origin group set to each
level. This module computes exactly those numbers on the simulated population
(records weighted by ``persons``, true answers, no item nonresponse), so that
the table book's "ruw en gecorrigeerd" table can be checked against them.

What: :data:`TRUTH_MODELS` lists the models (outcome, base, family,
covariates); :func:`model_truth` fits each one by weighted IRLS (plain numpy:
this package sits below :mod:`sid.model` in the layers) and returns, per model,
the coefficients under R's names (``(Intercept)``, ``opleiding2``,
``leeftijd``, ``herkomst6``, ...), the crude value per origin group and the
adjusted margins per origin group. The block is written to ``truth.json`` as
``models`` (see ``docs/synthetic.md``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from sid.synthetic.params import GROUP_LABELS

Outcome = Callable[[pd.DataFrame], np.ndarray]


@dataclass(frozen=True)
class TruthModel:
    """A model whose population truth is written: what it is and how it is coded.

    ``covariates`` in formula order; ``categorical`` ones are treatment-coded
    against their lowest code (as :mod:`sid.model` does with the codebook's
    reference), the others enter linearly. The origin group ``herkomst`` is
    the last, categorical term (reference 1, Belgisch) and the margins variable.
    """

    key: str
    label: str
    family: str  # "binomial" (logit) or "gaussian" (identity)
    outcome: str  # in the harmonised names and 2017 codes, as a table spec writes it
    base: str | None
    covariates: tuple[str, ...]
    categorical: frozenset[str]
    y: Outcome
    in_base: Outcome


def _in(d: pd.DataFrame, name: str, codes: tuple[int, ...]) -> np.ndarray:
    """Whether column ``name`` is one of ``codes`` (as ``isin``, one comparison per code)."""
    values = d[name].to_numpy()
    return np.logical_or.reduce([values == code for code in codes])


def _workers(d: pd.DataFrame) -> np.ndarray:
    return _in(d, "werksituatie", (1, 2))


def _everyone(d: pd.DataFrame) -> np.ndarray:
    return np.ones(len(d), dtype=bool)


_COVARIATES = ("opleiding", "leeftijd", "geslacht", "gewest")
_CATEGORICAL = frozenset({"opleiding", "geslacht", "gewest", "herkomst"})

TRUTH_MODELS: tuple[TruthModel, ...] = (
    TruthModel("werk_niet_correct", "Niet correct behandeld op het werk (soms of vaak)",
               "binomial", "werkbeh in [2, 3]", "werksituatie in [1, 2]", _COVARIATES,
               _CATEGORICAL, lambda d: _in(d, "werk_behandeld", (2, 3)).astype(float),
               _workers),
    TruthModel("vertrouwen", "Algemeen vertrouwen (0-10)", "gaussian", "vertrouwen", None,
               _COVARIATES, _CATEGORICAL, lambda d: d["vertrouwen"].to_numpy(float), _everyone),
    TruthModel("thuis_belgie_wel", "Voelt zich (helemaal) thuis in België", "binomial",
               "thuis_belgie in [4, 5]", None, _COVARIATES, _CATEGORICAL,
               lambda d: _in(d, "thuis_belgie", (4, 5)).astype(float), _everyone),
)


def _design_matrix(d: pd.DataFrame, spec: TruthModel,
                   levels: dict[str, list[int]]) -> tuple[np.ndarray, list[str]]:
    """The model matrix in R's column order and R's coefficient names."""
    cols = [np.ones(len(d))]
    names = ["(Intercept)"]
    for var in (*spec.covariates, "herkomst"):
        x = d[var].to_numpy()
        if var in spec.categorical:
            for level in levels[var][1:]:
                cols.append((x == level).astype(float))
                names.append(f"{var}{level}")
        else:
            cols.append(x.astype(float))
            names.append(var)
    return np.column_stack(cols), names


def _irls(x: np.ndarray, y: np.ndarray, w: np.ndarray, family: str) -> np.ndarray:
    """Weighted least squares (gaussian) or logistic IRLS to full convergence.

    The products are ``np.einsum`` loops, not BLAS: the same bits whatever the number of
    BLAS threads (a threaded BLAS splits the sums differently per machine), and no BLAS
    worker thread left spinning on a second core after these small (cells x terms) products.
    """
    if family == "gaussian":
        xw = x * w[:, None]
        return np.linalg.solve(_crossprod(xw, x), np.einsum("ij,i->j", xw, y))
    beta = np.zeros(x.shape[1])
    mean = float(np.sum(w * y) / np.sum(w))
    beta[0] = np.log(mean / (1 - mean))
    for _ in range(50):
        eta = np.einsum("ij,j->i", x, beta)
        mu = 1.0 / (1.0 + np.exp(-eta))
        v = mu * (1 - mu)
        xw = x * (w * v)[:, None]
        step = np.linalg.solve(_crossprod(xw, x), np.einsum("ij,i->j", x, w * (y - mu)))
        beta = beta + step
        if np.max(np.abs(step) / (np.abs(beta) + 0.1)) < 1e-12:
            break
    return beta


def _crossprod(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a.T @ b`` as a plain loop over the rows (see :func:`_irls`)."""
    return np.einsum("ij,ik->jk", a, b)


def _linkinv(eta: np.ndarray, family: str) -> np.ndarray:
    return eta if family == "gaussian" else 1.0 / (1.0 + np.exp(-eta))


@dataclass(frozen=True)
class _Patterns:
    """Covariate patterns of every record as one mixed-radix integer key: digit j is the
    rank of column j's value among its sorted distinct values, so the sorted order of the
    key is the lexicographic order of the columns (as a sorted ``groupby``)."""

    columns: tuple[str, ...]
    key: np.ndarray
    levels: tuple[np.ndarray, ...]  # sorted distinct values per column

    @property
    def size(self) -> int:
        return int(np.prod([len(v) for v in self.levels]))

    def decode(self, keys: np.ndarray) -> pd.DataFrame:
        """The column values of pattern ``keys`` (in the order of ``columns``)."""
        values: dict[str, np.ndarray] = {}
        rest = keys
        for name, levels in reversed(list(zip(self.columns, self.levels, strict=True))):
            values[name] = levels[rest % len(levels)]
            rest = rest // len(levels)
        return pd.DataFrame({name: values[name] for name in self.columns})


def _patterns(d: pd.DataFrame, columns: tuple[str, ...]) -> _Patterns:
    """:class:`_Patterns` of ``columns`` over all records of ``d`` (codes without missing
    values). Integer codes are offset by their minimum (no sort); other values are ranked."""
    key = np.zeros(len(d), dtype=np.int64)
    all_levels = []
    for name in columns:
        values = d[name].to_numpy()
        if np.issubdtype(values.dtype, np.integer) and len(values):
            lo, hi = int(values.min()), int(values.max())
            levels, digit = np.arange(lo, hi + 1), values.astype(np.int64) - lo
        else:
            levels, digit = np.unique(values, return_inverse=True)
        key *= max(len(levels), 1)
        key += digit
        all_levels.append(levels)
    return _Patterns(columns, key, tuple(all_levels))


def _cells(d: pd.DataFrame, spec: TruthModel,
           patterns: _Patterns) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """The base collapsed to its covariate patterns: (patterns, sum of persons, sum of
    persons x outcome). Exact for these models (the score equations only need the sums).

    The sums are ``np.bincount`` over the pattern key (records outside the base are moved
    to a second block of keys): the patterns come out in the same sorted order as a
    sorted ``groupby``, and sums of whole numbers of persons are exact in any order.
    """
    size = patterns.size
    key = patterns.key + np.where(spec.in_base(d), 0, size)
    w = d["persons"].to_numpy(float)
    seen = np.flatnonzero(np.bincount(key, minlength=2 * size)[:size])
    sum_w = np.bincount(key, weights=w, minlength=2 * size)[seen]
    sum_wy = np.bincount(key, weights=w * spec.y(d), minlength=2 * size)[seen]
    return patterns.decode(seen), sum_w, sum_wy


def model_truth(pop: pd.DataFrame,
                models: tuple[TruthModel, ...] = TRUTH_MODELS) -> dict[str, Any]:
    """Census fit of every model in ``models`` (:data:`TRUTH_MODELS`) on the population ``pop``.

    Per model: ``label``, ``family``, ``outcome``, ``base``, ``formula`` (the
    right-hand side, origin group last), ``coefficients`` (R's names ->
    population value) and ``groups``: per origin code (as a string) ``label``,
    ``crude`` (the base's mean of the outcome in the group) and ``adjusted``
    (the population predictive margin: the mean over the whole base of the
    prediction with ``herkomst`` set to the group). The fit runs on the
    covariate patterns (sums of persons and of the outcome), which gives the
    same solution as the fit on persons.
    """
    out: dict[str, Any] = {}
    patterns: dict[tuple[str, ...], _Patterns] = {}  # one key per covariate list
    for spec in models:
        columns = (*spec.covariates, "herkomst")
        if columns not in patterns:
            patterns[columns] = _patterns(pop, columns)
        cells, w, wy = _cells(pop, spec, patterns[columns])
        y = wy / w
        levels = {v: sorted(int(c) for c in np.unique(cells[v].to_numpy()))
                  for v in (*spec.covariates, "herkomst") if v in spec.categorical}
        x, names = _design_matrix(cells, spec, levels)
        beta = _irls(x, y, w, spec.family)
        herkomst = cells["herkomst"].to_numpy()
        origin = levels["herkomst"]
        first = names.index(f"herkomst{origin[1]}")
        groups: dict[str, dict[str, Any]] = {}
        for level in origin:
            xg = x.copy()
            xg[:, first:first + len(origin) - 1] = 0.0
            if level != origin[0]:
                xg[:, names.index(f"herkomst{level}")] = 1.0
            adjusted = float(np.sum(w * _linkinv(np.einsum("ij,j->i", xg, beta), spec.family))
                             / np.sum(w))
            in_g = herkomst == level
            groups[str(level)] = {"label": GROUP_LABELS[level],
                                  "crude": float(np.sum(wy[in_g]) / np.sum(w[in_g])),
                                  "adjusted": adjusted}
        out[spec.key] = {
            "label": spec.label, "family": spec.family, "outcome": spec.outcome,
            "base": spec.base, "formula": " + ".join((*spec.covariates, "herkomst")),
            "coefficients": dict(zip(names, map(float, beta), strict=True)),
            "groups": groups,
        }
    return out
