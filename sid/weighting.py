"""Survey weighting as pure functions: design weights, nonresponse, post-stratification,
raking, calibration (GREG / raking / logit with bounds) and trimming.

Every method returns a :class:`WeightingResult` holding the new weights (a
``pd.Series`` aligned with the input rows) and a :class:`WeightingRecord`:
method, iterations, convergence, the achieved-versus-target gap of every
margin category, weight summaries before and after, and the calibration
information a variance engine needs to reproduce R's ``survey`` standard errors
after ``postStratify`` / ``rake`` / ``calibrate``.

The numbers follow R's ``survey`` package (Lumley): ``postStratify``,
``rake`` (run to convergence), ``calibrate(calfun = "linear" | "raking" |
"logit", bounds = c(L, U))`` (Newton-Raphson on the calibration equations with
a generalised inverse, including R's rescaling of the weights when all
population/sample ratios exceed 20) and ``trimWeights``. Golden tests in
``tests/test_weighting.py`` compare with numbers written by
``tests/reference/weighting_golden.R``.

Convergence is judged on the largest relative gap between achieved weighted
margins and their targets, never on step size, and no function returns weights
that miss their targets: it raises :class:`~sid.errors.WeightingError` instead,
naming the margin, category and gap.

Speed: raking, post-stratification and calibration on categorical margins work
on the cells of the cross of the margin variables (integer codes, ``bincount``)
and map back to rows, so the cost per iteration is the number of cells, not of
respondents.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

from sid.errors import WeightingError, format_number, show_values
from sid.linalg import R_QR_TOL, qr_rank

__all__ = [
    "WeightSummary",
    "MarginGap",
    "PostStratInfo",
    "RakingInfo",
    "GregInfo",
    "WeightingRecord",
    "WeightingResult",
    "weight_summary",
    "summary_table",
    "design_weights",
    "frame_weights",
    "nonresponse_adjust",
    "poststratify",
    "rake",
    "calibrate",
    "trim",
    "trim_rake",
    "margins_from_long",
    "design_calibration",
    "ReplicateWeights",
    "replicate_weights",
    "apply_chain_to_replicates",
]

INTERCEPT = "(Intercept)"
_EPS_GINV = 256 * np.finfo(float).eps


# --------------------------------------------------------------------------- records


@dataclass(frozen=True)
class WeightSummary:
    """Distribution of a weight variable (positive weights only for the shape).

    ``ess`` is Kish's effective sample size ``(sum w)^2 / sum w^2`` and
    ``deff_w`` the design effect due to weighting ``n * sum w^2 / (sum w)^2``
    (= 1 + CV^2), both over the rows with a positive weight.
    """

    n: int
    n_positive: int
    min: float
    p01: float
    median: float
    p99: float
    max: float
    sum: float
    mean: float
    cv: float
    ess: float
    deff_w: float

    def as_dict(self) -> dict[str, float | int]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


@dataclass(frozen=True)
class MarginGap:
    """Achieved versus target total of one margin category."""

    margin: str
    category: str
    target: float
    achieved: float
    rel_gap: float


@dataclass(frozen=True)
class PostStratInfo:
    """One post-stratification step, as R keeps it in ``design$postStrata``.

    ``index`` gives each row's cell (0..k-1), ``old_weights`` the weights before
    the step and ``weights`` after it (R's ``attr(index, "oldweights")`` and
    ``attr(index, "weights")``).
    """

    margin: str
    index: np.ndarray
    old_weights: np.ndarray
    weights: np.ndarray


@dataclass(frozen=True)
class RakingInfo:
    """A raking: one :class:`PostStratInfo` per margin (R's class ``"raking"``)."""

    margins: tuple[PostStratInfo, ...]


@dataclass(frozen=True)
class GregInfo:
    """A calibration, as R's ``greg_calibration``: residuals of x/w on ``X * sqrt(d)``.

    The model matrix is ``unit_x[unit]`` (rows of ``X`` are stored once per
    cell when all auxiliaries are categorical). ``base_weights`` are the input
    weights d and ``g`` the ratios final/input, so R's ``qr`` is the QR of
    ``X * sqrt(d)`` and its ``w`` is ``g * sqrt(d)``.
    """

    columns: tuple[str, ...]
    unit: np.ndarray
    unit_x: np.ndarray
    base_weights: np.ndarray
    g: np.ndarray

    def model_matrix(self) -> np.ndarray:
        """The n x p matrix of auxiliary variables (full column rank)."""
        return self.unit_x[self.unit]

    def residuals(self, scores: np.ndarray) -> np.ndarray:
        """Calibration residuals of the score columns (R: ``qr.resid(qr, x/w) * w``)."""
        scores = np.asarray(scores, dtype=float)
        one = scores.ndim == 1
        x = scores.reshape(len(scores), -1)
        whalf = np.sqrt(self.base_weights)
        w = self.g * whalf
        q, _ = np.linalg.qr(self.model_matrix() * whalf[:, None])
        y = x / w[:, None]
        res = (y - q @ (q.T @ y)) * w[:, None]
        return res[:, 0] if one else res


CalibrationInfo = PostStratInfo | RakingInfo | GregInfo


@dataclass(frozen=True)
class WeightingRecord:
    """What a weighting step did: the fit record for the report and the variance engine."""

    method: str
    iterations: int
    converged: bool
    max_gap: float
    gaps: tuple[MarginGap, ...]
    before: WeightSummary
    after: WeightSummary
    params: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    calibration: tuple[CalibrationInfo, ...] = ()
    notes: tuple[str, ...] = ()

    def gaps_frame(self) -> pd.DataFrame:
        """Achieved versus target margins as a tidy frame."""
        return pd.DataFrame(
            [g.__dict__ for g in self.gaps],
            columns=["margin", "category", "target", "achieved", "rel_gap"],
        )


@dataclass(frozen=True)
class WeightingResult:
    """New weights (aligned with the input rows) and the record of how they were made."""

    weights: pd.Series
    record: WeightingRecord


# --------------------------------------------------------------------------- summaries


def weight_summary(weights: Any) -> WeightSummary:
    """Summary of a weight vector: min, 1st percentile, median, 99th, max, sum, ESS, deff_w.

    Percentiles are numpy's default (linear interpolation), found with one
    ``np.partition`` rather than a sort.
    """
    w = np.asarray(weights, dtype=float)
    positive = w > 0
    pos = w if positive.all() else w[positive]
    n = int(w.size)
    if pos.size == 0:
        nan = float("nan")
        return WeightSummary(n, 0, nan, nan, nan, nan, nan, float(np.nansum(w)), nan, nan, 0.0, nan)
    s1 = float(pos.sum())
    s2 = float(np.dot(pos, pos))
    mean = s1 / pos.size
    (p01, med, p99), lo, hi = _percentiles(pos, (0.01, 0.5, 0.99))
    # sd from the power sums (no n-sized temporary); exact 0 for constant weights.
    # Relative error about 1e-16 / cv^2: negligible for a report (cv >= 1e-4 gives < 1e-8).
    if pos.size > 1 and hi > lo:
        sd = float(np.sqrt(max(s2 - s1 * mean, 0.0) / (pos.size - 1)))
    else:
        sd = 0.0
    return WeightSummary(
        n=n,
        n_positive=int(pos.size),
        min=lo,
        p01=p01,
        median=med,
        p99=p99,
        max=hi,
        sum=float(w.sum()),
        mean=mean,
        cv=sd / mean,
        ess=s1 * s1 / s2,
        deff_w=pos.size * s2 / (s1 * s1),
    )


def _percentiles(x: np.ndarray, qs: Sequence[float]) -> tuple[list[float], float, float]:
    """Percentiles (numpy's linear rule), minimum and maximum from one partition."""
    n = x.size
    at = [q * (n - 1) for q in qs]
    below = [int(np.floor(a)) for a in at]
    kth = np.unique(below)
    y = np.partition(x, kth)
    out = []
    for a, k in zip(at, below, strict=True):
        frac = a - k
        lo = float(y[k])
        if frac == 0.0 or k + 1 >= n:
            out.append(lo)
            continue
        later = kth[kth > k]
        # the next order statistic is the smallest value right of position k
        nxt = float(y[k + 1]) if later.size and later[0] == k + 1 else float(
            y[k + 1 : (later[0] + 1 if later.size else n)].min())
        diff = nxt - lo
        out.append(nxt - diff * (1.0 - frac) if frac >= 0.5 else lo + diff * frac)
    return out, float(y[: kth[0] + 1].min()), float(y[kth[-1] :].max())


def summary_table(weights: Any, groups: Any = None, *, label: str = "totaal",
                  labels: Mapping[Any, str] | None = None) -> pd.DataFrame:
    """Weight summaries overall and per group (e.g. origin group) as a tidy frame.

    Columns: ``group`` then the fields of :class:`WeightSummary`. ``labels``
    maps group codes to names, shown as ``"1 Belgisch"``.
    """
    names = {_norm_key(k): v for k, v in (labels or {}).items()}
    w = np.asarray(weights, dtype=float)
    rows = [{"group": label, **weight_summary(w).as_dict()}]
    if groups is not None:
        g = pd.Series(np.asarray(groups))
        codes, uniques = pd.factorize(g, sort=True)
        order = np.argsort(codes, kind="stable")
        bounds = np.searchsorted(codes[order], np.arange(len(uniques) + 1))
        for k, value in enumerate(uniques):
            idx = order[bounds[k] : bounds[k + 1]]
            name = names.get(_norm_key(value))
            shown = format_number(value) + (f" {name}" if name else "")
            rows.append({"group": shown, **weight_summary(w[idx]).as_dict()})
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- input checks


def _norm_key(value: Any) -> Any:
    """Normalise a category value so that 1, 1.0, np.int64(1) and '1' compare equal."""
    if isinstance(value, str):
        s = value.strip()
        try:
            f = float(s)
        except ValueError:
            return s
        return int(f) if f.is_integer() else f
    if isinstance(value, bool | np.bool_):
        return int(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        f = float(value)
        return int(f) if f.is_integer() else f
    return value


def _show_key(key: tuple[Any, ...]) -> str:
    parts = [format_number(k) if not isinstance(k, str) else k for k in key]
    return parts[0] if len(parts) == 1 else " x ".join(str(p) for p in parts)


def _row_labels(index: pd.Index, mask: np.ndarray, limit: int = 8) -> str:
    return show_values(list(index[np.flatnonzero(mask)]), limit)


def _base_weights(data: pd.DataFrame, weight: Any, where: str) -> np.ndarray:
    """The input weights as float64, refusing zero, negative, NaN or infinite values."""
    if isinstance(weight, str):
        if weight not in data.columns:
            raise WeightingError(
                f"weight variable {weight!r} is not in the data",
                where=where,
                got=show_values(list(data.columns)),
                fix="name an existing weight column",
            )
        w = pd.to_numeric(data[weight], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        name = weight
    else:
        w = np.asarray(weight, dtype=float).reshape(-1)
        name = "weights"
        if w.size != len(data):
            raise WeightingError(
                f"{w.size} weights for {len(data)} rows",
                where=where,
                fix="pass one weight per row of the data",
            )
    bad = ~np.isfinite(w) | (w <= 0)
    if bad.any():
        nonfinite = int((~np.isfinite(w)).sum())
        raise WeightingError(
            f"base weight {name!r} has {int(bad.sum())} zero, negative or missing value(s)"
            f" ({nonfinite} missing/infinite)",
            where=where,
            got=f"rows {_row_labels(data.index, bad)}",
            fix="base weights must be positive; drop out-of-scope rows before weighting "
            "or fix the design weights",
        )
    return w


@dataclass(frozen=True)
class _Margin:
    """A categorical margin resolved against the data: row codes and aligned targets."""

    name: str
    variables: tuple[str, ...]
    keys: tuple[tuple[Any, ...], ...]  # target categories (as given)
    targets: np.ndarray
    code: np.ndarray  # row -> index into keys

    def label(self, k: int) -> str:
        return _show_key(self.keys[k])


def _targets_from_frame(frame: pd.DataFrame) -> tuple[tuple[str, ...], dict[tuple, float]]:
    """R-style population table: the stratifying columns plus one count column (last)."""
    count = "Freq" if "Freq" in frame.columns else frame.columns[-1]
    variables = tuple(c for c in frame.columns if c != count)
    keys = list(zip(*(frame[v].tolist() for v in variables), strict=True))
    return variables, dict(zip(keys, frame[count].astype(float).tolist(), strict=True))


def _normalise_margins(margins: Any, where: str) -> list[tuple[tuple[str, ...], Any]]:
    """Margins as a list of (variables, targets) with targets a mapping or a number."""
    out: list[tuple[tuple[str, ...], Any]] = []
    if isinstance(margins, pd.DataFrame):
        margins = [margins]
    if isinstance(margins, Mapping):
        for key, targets in margins.items():
            variables = (key,) if isinstance(key, str) else tuple(key)
            if isinstance(targets, pd.DataFrame):
                variables, targets = _targets_from_frame(targets)
            elif isinstance(targets, pd.Series):
                targets = targets.to_dict()
            out.append((variables, targets))
    elif isinstance(margins, Sequence) and not isinstance(margins, str):
        for frame in margins:
            if not isinstance(frame, pd.DataFrame):
                raise WeightingError(
                    "margins must be a mapping or a list of population tables",
                    where=where,
                    got=type(frame).__name__,
                    fix="pass {variable: {category: total}} or R-style data frames",
                )
            out.append(_targets_from_frame(frame))
    else:
        raise WeightingError(
            "margins must be a mapping {variable or (variables): {category: total}}",
            where=where,
            got=type(margins).__name__,
            fix="pass a dict of margins",
        )
    if not out:
        raise WeightingError("no margins given", where=where, fix="give at least one margin")
    return out


def _resolve_margin(
    data: pd.DataFrame,
    variables: tuple[str, ...],
    targets: Mapping[Any, Any],
    where: str,
    problems: list[str],
    live: np.ndarray | None = None,
) -> _Margin | None:
    """Match one margin's targets to the data, collecting every problem found."""
    name = " x ".join(variables)
    absent = [v for v in variables if v not in data.columns]
    if absent:
        problems.append(f"margin {name}: variable(s) {show_values(absent)} not in the data")
        return None
    keys: list[tuple[Any, ...]] = []
    values: list[float] = []
    lookup: dict[tuple[Any, ...], int] = {}
    for raw_key, raw_total in targets.items():
        key = raw_key if isinstance(raw_key, tuple) else (raw_key,)
        if len(key) != len(variables):
            problems.append(
                f"margin {name}: category {raw_key!r} does not have {len(variables)} part(s)"
            )
            continue
        try:
            total = float(raw_total)
        except (TypeError, ValueError):
            problems.append(f"margin {name}, category {_show_key(key)}: total {raw_total!r} is not a number")
            continue
        if not np.isfinite(total) or total < 0:
            problems.append(f"margin {name}, category {_show_key(key)}: total {raw_total!r} is negative or missing")
            continue
        nkey = tuple(_norm_key(k) for k in key)
        if nkey in lookup:
            problems.append(f"margin {name}: category {_show_key(key)} is given twice")
            continue
        lookup[nkey] = len(keys)
        keys.append(key)
        values.append(total)
    # row codes of the cross of the margin variables
    n = len(data)
    per_var_codes = []
    per_var_uniques = []
    missing = np.zeros(n, dtype=bool)
    for v in variables:
        codes, uniques = _column_codes(data[v])
        if codes.size and codes.min() < 0:
            missing |= codes < 0
        per_var_codes.append(codes)
        per_var_uniques.append(uniques)
    if missing.any():
        problems.append(
            f"margin {name}: {int(missing.sum())} row(s) with a missing value in "
            f"{show_values(list(variables))} (rows {_row_labels(data.index, missing)}); "
            "a margin variable must be complete: impute, or recode missing into a category "
            "with its own target"
        )
        return None
    sizes = [len(u) for u in per_var_uniques]
    if len(per_var_codes) == 1:
        combined = per_var_codes[0]
    else:
        combined = per_var_codes[0].astype(np.int64)  # a fresh array, updated in place
        for codes, size in zip(per_var_codes[1:], sizes[1:], strict=True):
            combined *= size
            combined += codes
    cells, inverse = _dense_codes(combined)
    cell_to_target = np.full(len(cells), -1, dtype=np.int64)
    unmatched = []
    per_cell = _decode(cells, sizes)
    for j in range(len(cells)):
        key = tuple(_norm_key(u[c[j]]) for u, c in zip(per_var_uniques, per_cell, strict=True))
        k = lookup.get(key, -1)
        if k < 0:
            unmatched.append((key, int((inverse == j).sum())))
        cell_to_target[j] = k
    if unmatched:
        shown = ", ".join(f"{_show_key(k)} ({c} rows)" for k, c in unmatched[:8])
        more = f" (+{len(unmatched) - 8} more)" if len(unmatched) > 8 else ""
        problems.append(
            f"margin {name}: sample categories without a target: {shown}{more}; "
            "add their population totals or recode them"
        )
        return None
    code = cell_to_target[inverse.reshape(-1)]
    tarr = np.asarray(values, dtype=float)
    counts = np.bincount(code if live is None else code[live], minlength=len(keys))
    empty = [k for k in range(len(keys)) if counts[k] == 0 and tarr[k] > 0]
    if empty:
        problems.append(
            f"margin {name}: target categories with no respondents: "
            + ", ".join(f"{_show_key(keys[k])} (target {format_number(tarr[k])})" for k in empty[:8])
            + "; collapse them with a neighbouring category"
        )
    zero_with_rows = [k for k in range(len(keys)) if counts[k] > 0 and tarr[k] == 0]
    if zero_with_rows:
        problems.append(
            f"margin {name}: target 0 for categories that have respondents: "
            + ", ".join(f"{_show_key(keys[k])} ({counts[k]} rows)" for k in zero_with_rows[:8])
            + "; drop those respondents or correct the target"
        )
    return _Margin(name, tuple(variables), tuple(keys), tarr, code)


def _column_codes(values: pd.Series) -> tuple[np.ndarray, Any]:
    """Integer codes of a column and the value of each code (-1: missing).

    Fast path: a numeric column of small non-negative whole numbers (the usual
    SPSS category codes) is its own code, with ``uniques = 0..max``; anything
    else goes through ``pd.factorize``.
    """
    if values.dtype.kind in "iuf" and len(values):
        v = values.to_numpy()
        if v.dtype.kind in "iu":
            lo, hi = int(v.min()), int(v.max())
            if lo >= 0 and hi <= 4 * len(v) + 1024:
                return v.astype(np.int64), np.arange(hi + 1, dtype=float)
        else:
            with np.errstate(invalid="ignore"):
                lo, hi = float(np.min(v)), float(np.max(v))  # NaN propagates: slow path
            if lo >= 0 and hi <= 4 * len(v) + 1024:
                iv = v.astype(np.int64)
                if np.array_equal(iv, v):
                    return iv, np.arange(int(hi) + 1, dtype=float)
    codes, uniques = pd.factorize(values, sort=False)
    return codes.astype(np.int64, copy=False), uniques


def _dense_codes(combined: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct values of non-negative int codes (sorted) and each row's index into them."""
    n = len(combined)
    top = int(combined.max()) + 1 if n else 0
    if top > 4 * n + 1024:
        cells, inverse = np.unique(combined, return_inverse=True)
        return cells, inverse.reshape(-1)
    present = np.bincount(combined, minlength=top) > 0
    cells = np.flatnonzero(present)
    if len(cells) == top:
        return cells, combined
    remap = np.full(top, -1, dtype=np.int64)
    remap[cells] = np.arange(len(cells))
    return cells, remap[combined]


def _decode(cells: np.ndarray, sizes: Sequence[int]) -> list[np.ndarray]:
    """Mixed-radix digits of combined codes: per variable, each cell's code."""
    out = []
    rest = np.asarray(cells, dtype=np.int64)
    for size in reversed(list(sizes)):
        out.append(rest % size)
        rest = rest // size
    return out[::-1]


def _check_consistency(margins: list[_Margin], rel_tol: float, problems: list[str]) -> None:
    """Margins must agree where they overlap: collapsed to their shared variables
    (or to the grand total when they share none), their totals must match."""
    for i in range(len(margins)):
        for j in range(i + 1, len(margins)):
            a, b = margins[i], margins[j]
            shared = [v for v in a.variables if v in b.variables]
            ta = _collapse(a, shared)
            tb = _collapse(b, shared)
            for key in sorted(set(ta) | set(tb), key=repr):
                x, y = ta.get(key, 0.0), tb.get(key, 0.0)
                if abs(x - y) > rel_tol * max(abs(x), abs(y), 1.0):
                    at = f" at {' x '.join(shared)} = {_show_key(key)}" if shared else ""
                    problems.append(
                        f"target totals disagree between margins {a.name} ({format_number(x)}) "
                        f"and {b.name} ({format_number(y)}){at}; every margin must sum to the "
                        "same population"
                    )
                    break


def _collapse(m: _Margin, shared: list[str]) -> dict[tuple, float]:
    pos = [m.variables.index(v) for v in shared]
    out: dict[tuple, float] = {}
    for key, t in zip(m.keys, m.targets, strict=True):
        k = tuple(_norm_key(key[p]) for p in pos)
        out[k] = out.get(k, 0.0) + float(t)
    return out


def _raise_problems(what: str, problems: list[str], where: str, fix: str) -> None:
    if problems:
        got = problems[0] if len(problems) == 1 else " | ".join(
            f"{i + 1}) {p}" for i, p in enumerate(problems)
        )
        raise WeightingError(f"{what}: {len(problems)} problem(s)", where=where, got=got, fix=fix)


def _apply_within(margins: Any, within: str | Sequence[str] | None, where: str) -> Any:
    """``within=g``: margins per group {group: {var: {cat: total}}} -> crossed margins."""
    if within is None:
        return margins
    gvars = (within,) if isinstance(within, str) else tuple(within)
    if not isinstance(margins, Mapping) or not margins:
        raise WeightingError(
            "with within=, margins must map each group to its own margins",
            where=where,
            fix="pass {group: {variable: {category: total}}}",
        )
    crossed: dict[tuple[str, ...], dict[tuple, float]] = {}
    keysets = {}
    for group, group_margins in margins.items():
        gkey = group if isinstance(group, tuple) else (group,)
        if len(gkey) != len(gvars):
            raise WeightingError(
                f"group {group!r} does not match within={show_values(list(gvars))}",
                where=where,
                fix="key the margins by one value per within variable",
            )
        norm = _normalise_margins(group_margins, where)
        keysets[group] = {v for v, _ in norm}
        for variables, targets in norm:
            if not isinstance(targets, Mapping):
                raise WeightingError(
                    f"margin {' x '.join(variables)} of group {group!r} is not categorical",
                    where=where,
                    fix="raking needs {category: total} targets",
                )
            out = crossed.setdefault(gvars + variables, {})
            for cat, total in targets.items():
                ckey = cat if isinstance(cat, tuple) else (cat,)
                out[gkey + ckey] = total
    first = next(iter(keysets.values()))
    differ = [g for g, ks in keysets.items() if ks != first]
    if differ:
        raise WeightingError(
            "groups must be raked to the same margins",
            where=where,
            got=f"groups {show_values(differ)} differ from the first group",
            fix="give every group the same margin variables",
        )
    return crossed


# --------------------------------------------------------------------------- design weights


def _result(
    weights: np.ndarray,
    index: pd.Index,
    method: str,
    before: np.ndarray,
    *,
    name: str = "weight",
    iterations: int = 0,
    converged: bool = True,
    gaps: tuple[MarginGap, ...] = (),
    params: Mapping[str, Any] | None = None,
    calibration: tuple[CalibrationInfo, ...] = (),
    notes: tuple[str, ...] = (),
) -> WeightingResult:
    max_gap = max((abs(g.rel_gap) for g in gaps), default=0.0)
    record = WeightingRecord(
        method=method,
        iterations=iterations,
        converged=converged,
        max_gap=float(max_gap),
        gaps=gaps,
        before=weight_summary(before),
        after=weight_summary(weights),
        params=MappingProxyType(dict(params or {})),
        calibration=calibration,
        notes=notes,
    )
    return WeightingResult(pd.Series(weights, index=index, name=name), record)


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
            got=f"rows {_row_labels(data.index, bad)}: {show_values(np.unique(p[bad]).tolist())}",
            fix="inclusion probabilities must be in (0, 1]",
        )
    w = 1.0 / p
    return _result(w, data.index, "design", np.ones_like(w), name=name,
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
        fv, targets = _targets_from_frame(frame_counts)
        if set(fv) != set(svars):
            raise WeightingError("frame counts are not by the stratum variables", where=where,
                                 got=show_values(list(fv)), fix=f"give counts by {show_values(list(svars))}")
        svars = fv
    else:
        targets = dict(frame_counts)
    problems: list[str] = []
    m = _resolve_margin(data, svars, targets, where, problems)
    if m is not None:
        n_h = np.bincount(m.code, minlength=len(m.keys)).astype(float)
        small = [k for k in range(len(m.keys)) if 0 < m.targets[k] < n_h[k]]
        if small:
            problems.append(
                "strata with more sampled units than in the frame: "
                + ", ".join(f"{m.label(k)} (N={format_number(m.targets[k])}, n={int(n_h[k])})" for k in small)
            )
    _raise_problems("frame counts do not fit the sample", problems, where,
                    "give N_h for every sampled stratum, from the same frame")
    assert m is not None
    w = (m.targets / n_h)[m.code]
    return _result(w, data.index, "frame", np.ones_like(w), name=name,
                   params={"strata": list(svars)},
                   gaps=_gaps([m], w))


def nonresponse_adjust(
    gross: pd.DataFrame,
    weight: str | Any,
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
    w = _base_weights(gross, weight, where)
    if respondent not in gross.columns:
        raise WeightingError(f"response indicator {respondent!r} is not in the gross sample",
                             where=where, fix="name the 0/1 respondent column")
    r = pd.to_numeric(gross[respondent], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    bad = ~np.isin(r, [0.0, 1.0])
    if bad.any():
        raise WeightingError(
            f"response indicator {respondent!r} must be 0 or 1",
            where=where,
            got=f"rows {_row_labels(gross.index, bad)}: {show_values(pd.unique(r[bad]).tolist())}",
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
        problems.append(f"{int(miss.sum())} row(s) with a missing class value (rows {_row_labels(gross.index, miss)})")
        _raise_problems("nonresponse classes", problems, where, "give every sampled unit a class")
    code = key.groupby(list(cvars), sort=True).ngroup().to_numpy()
    labels = key.drop_duplicates().sort_values(list(cvars)).itertuples(index=False, name=None)
    labels = [_show_key(t) for t in labels]
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
    _raise_problems("nonresponse classes cannot be adjusted", problems, where,
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
    return _result(out, gross.index, "nonresponse", w, name=name, gaps=gaps,
                   params={"classes": list(cvars), "response_rate": rates,
                           "adjustment": dict(zip(labels, factor.tolist(), strict=True))})


# --------------------------------------------------------------------------- post-stratification


def _gaps(margins: list[_Margin], w: np.ndarray) -> tuple[MarginGap, ...]:
    out = []
    for m in margins:
        ach = np.bincount(m.code, weights=w, minlength=len(m.keys))
        for k in range(len(m.keys)):
            t = float(m.targets[k])
            out.append(MarginGap(m.name, m.label(k), t, float(ach[k]),
                                 float((ach[k] - t) / (abs(t) if t != 0 else 1.0))))
    return tuple(out)


def _resolve_all(
    data: pd.DataFrame, margins: Any, where: str, total_tol: float, categorical_only: bool = True
) -> list[_Margin]:
    problems: list[str] = []
    out = []
    for variables, targets in _normalise_margins(margins, where):
        if not isinstance(targets, Mapping):
            problems.append(f"margin {' x '.join(variables)}: targets must map category -> total")
            continue
        m = _resolve_margin(data, variables, targets, where, problems)
        if m is not None:
            out.append(m)
    if not problems:
        _check_consistency(out, total_tol, problems)
    _raise_problems("margins do not fit the data", problems, where,
                    "correct the targets or recode the data so every sample category has a "
                    "target and the margins agree")
    return out


def poststratify(
    data: pd.DataFrame,
    weight: str | Any,
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
    w = _base_weights(data, weight, where)
    ms = _resolve_all(data, cells, where, 1e-9)
    if len(ms) != 1:
        raise WeightingError(f"post-stratification takes one cross of variables, got {len(ms)}",
                             where=where, fix="use rake() or calibrate() for several margins")
    m = ms[0]
    sample = np.bincount(m.code, weights=w, minlength=len(m.keys))
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(sample > 0, m.targets / sample, 0.0)
    out = w * ratio[m.code]
    info = PostStratInfo(m.name, m.code.copy(), w.copy(), out.copy())
    gaps = _gaps([m], out)
    return _result(out, data.index, "poststratify", w, name=name, gaps=gaps,
                   params={"cells": m.name}, calibration=(info,))


# --------------------------------------------------------------------------- raking


def _cells(margins: list[_Margin]) -> tuple[np.ndarray, np.ndarray]:
    """Cells of the cross of all margins: row -> cell, and cell -> category per margin."""
    sizes = [len(m.keys) for m in margins]
    if float(np.prod(np.asarray(sizes, dtype=float))) < 2.0**62:
        combined = margins[0].code.astype(np.int64)  # a fresh array, updated in place
        for m in margins[1:]:
            combined *= len(m.keys)
            combined += m.code
        cells, cell = _dense_codes(combined)
        cell_codes = np.stack(_decode(cells, sizes), axis=0)
    else:  # pragma: no cover - astronomically many categories
        stacked = np.stack([m.code for m in margins], axis=1)
        _, first, cell = np.unique(stacked, axis=0, return_index=True, return_inverse=True)
        cell = cell.reshape(-1)
        cell_codes = np.stack([m.code[first] for m in margins], axis=0)
    return cell, cell_codes


def rake(
    data: pd.DataFrame,
    weight: str | Any,
    margins: Any,
    *,
    within: str | Sequence[str] | None = None,
    tol: float = 1e-10,
    max_iter: int = 1000,
    total_tol: float = 1e-6,
    name: str = "rake_wt",
) -> WeightingResult:
    """Iterative proportional fitting to any number of categorical margins.

    ``margins`` maps a variable name, or a tuple of names for a crossed margin
    (e.g. ``("herkomst", "geslacht")``), to ``{category: population total}``
    (tuples of categories for crossed margins); a list of R-style population
    tables also works. With ``within="herkomst"``, ``margins`` maps each group
    to its own margins and the groups are raked separately (identical to raking
    on the margins crossed with the group, which is what is done).

    Converges when the largest relative gap |achieved - target| / target over
    all margin categories is at most ``tol``; otherwise raises
    :class:`~sid.errors.WeightingError` naming the worst margin. Same solution
    as R's ``rake()`` run to convergence.
    """
    where = "rake" + (f"(within={within!r})" if within is not None else "")
    w = _base_weights(data, weight, where)
    ms = _resolve_all(data, _apply_within(margins, within, where), where, total_tol)
    cell, cell_codes = _cells(ms)
    cw = np.bincount(cell, weights=w)
    f = np.ones_like(cw)
    iterations = 0
    gap = np.inf
    while iterations < max_iter:
        iterations += 1
        for j, m in enumerate(ms):
            tot = np.bincount(cell_codes[j], weights=cw * f, minlength=len(m.keys))
            with np.errstate(divide="ignore", invalid="ignore"):
                adj = np.where(tot > 0, m.targets / tot, 0.0)
            f *= adj[cell_codes[j]]
        gap = _max_cell_gap(ms, cell_codes, cw * f)
        if gap <= tol:
            break
    out = w * f[cell]
    gaps = _cell_gaps(ms, cell_codes, cw * f)
    worst = max(gaps, key=lambda g: abs(g.rel_gap))
    if not abs(worst.rel_gap) <= tol:
        raise WeightingError(
            f"raking did not converge in {iterations} iterations",
            where=where,
            got=f"worst margin {worst.margin}, category {worst.category}: achieved "
            f"{worst.achieved:.6g} vs target {worst.target:.6g} (relative gap {worst.rel_gap:.3g})",
            fix="raise max_iter, collapse sparse categories, or check that the margins are "
            "compatible with the sample (structural zeros)",
        )
    info = RakingInfo(tuple(PostStratInfo(m.name, m.code, out, out) for m in ms))
    params = {"margins": [m.name for m in ms], "tol": tol, "max_iter": max_iter,
              "within": within, "cells": int(len(cw))}
    return _result(out, data.index, "rake", w, name=name, iterations=iterations, gaps=gaps,
                   params=params, calibration=(info,))


def _cell_gaps(ms: list[_Margin], cell_codes: np.ndarray, cw: np.ndarray) -> tuple[MarginGap, ...]:
    """Achieved versus target per margin category, summed over cells (same totals as rows)."""
    out = []
    for j, m in enumerate(ms):
        ach = np.bincount(cell_codes[j], weights=cw, minlength=len(m.keys))
        for k in range(len(m.keys)):
            t = float(m.targets[k])
            out.append(MarginGap(m.name, m.label(k), t, float(ach[k]),
                                 float((ach[k] - t) / (abs(t) if t != 0 else 1.0))))
    return tuple(out)


def _max_cell_gap(ms: list[_Margin], cell_codes: np.ndarray, cw: np.ndarray) -> float:
    gap = 0.0
    for j, m in enumerate(ms):
        tot = np.bincount(cell_codes[j], weights=cw, minlength=len(m.keys))
        denom = np.where(m.targets != 0, np.abs(m.targets), 1.0)
        gap = max(gap, float(np.max(np.abs(tot - m.targets) / denom)))
    return gap


# --------------------------------------------------------------------------- calibration


def _fm1(method: str, u: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """g - 1 as a function of u = x'eta (R's calfun$Fm1)."""
    if method == "linear":
        return np.minimum(np.maximum(u + 1.0, lo), hi) - 1.0
    if method == "raking":
        with np.errstate(over="ignore"):
            return np.minimum(np.maximum(np.exp(u), lo), hi) - 1.0
    a = (hi - lo) / ((hi - 1.0) * (1.0 - lo))
    with np.errstate(over="ignore", invalid="ignore"):
        e = np.exp(a * u)
        return (lo * (hi - 1.0) + hi * (1.0 - lo) * e) / (hi - 1.0 + (1.0 - lo) * e) - 1.0


def _dfm1(method: str, u: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """Derivative of Fm1 (R's calfun$dF)."""
    inside = (u < hi - 1.0) & (u > lo - 1.0)
    if method == "linear":
        return inside.astype(float)
    if method == "raking":
        with np.errstate(over="ignore"):
            return np.where(inside, np.exp(u), 0.0)
    a = (hi - lo) / ((hi - 1.0) * (1.0 - lo))
    with np.errstate(over="ignore", invalid="ignore"):
        e = np.exp(a * u)
        den = hi - 1.0 + (1.0 - lo) * e
        num = lo * (hi - 1.0) + hi * (1.0 - lo) * e
        return hi * (1.0 - lo) * e * a / den - num * ((1.0 - lo) * e * a) / den**2


def _independent_columns(x: np.ndarray, d: np.ndarray) -> np.ndarray:
    """Indices of the columns of sqrt(d) X that R's ``qr()`` keeps (in column order)."""
    return qr_rank(x * np.sqrt(d)[:, None], R_QR_TOL).independent


def calibrate(
    data: pd.DataFrame,
    weight: str | Any,
    margins: Any,
    *,
    method: str = "linear",
    bounds: tuple[float, float] | None = None,
    within: str | Sequence[str] | None = None,
    tol: float = 1e-10,
    max_iter: int = 100,
    total_tol: float = 1e-6,
    name: str = "cal_wt",
) -> WeightingResult:
    """Calibrate weights to population totals: GREG (``"linear"``), ``"raking"`` or ``"logit"``.

    ``margins`` maps a variable (or tuple of variables) to ``{category: total}``
    for categorical auxiliaries, or to a single number for a continuous
    auxiliary (its population total); ``"(Intercept)"`` gives the population
    size when no categorical margin carries it. ``bounds=(L, U)`` bound the
    ratios final/input weight (required for ``"logit"``). Solves the
    calibration equations by Newton-Raphson with a generalised inverse, as R's
    ``calibrate()``; like R, when every population/sample ratio exceeds 20 the
    input weights are first rescaled by their mean and the bounds apply to the
    rescaled weights. ``within`` works as in :func:`rake`.
    """
    where = f"calibrate(method={method!r})"
    if method not in ("linear", "raking", "logit"):
        raise WeightingError(f"unknown calibration method {method!r}", where=where,
                             fix="use 'linear', 'raking' or 'logit'")
    lo, hi = (-np.inf, np.inf) if bounds is None else (float(bounds[0]), float(bounds[1]))
    strict_inside = lo < 1.0 < hi
    if bounds is not None and not (strict_inside or (method != "logit" and lo <= 1.0 <= hi)):
        raise WeightingError(
            f"bounds {bounds!r} must satisfy lower < 1 < upper",
            where=where, fix="give bounds as ratios to the input weights, e.g. (0.5, 2)",
        )
    if method == "logit" and not (np.isfinite(lo) and np.isfinite(hi)):
        raise WeightingError("logit calibration needs finite bounds", where=where,
                             fix="pass bounds=(L, U) with L < 1 < U")
    w = _base_weights(data, weight, where)
    margins = _apply_within(margins, within, where)
    n = len(w)
    problems: list[str] = []
    cat: list[_Margin] = []
    cont: list[tuple[str, float]] = []
    intercept: float | None = None
    for variables, targets in _normalise_margins(margins, where):
        vname = " x ".join(variables)
        if isinstance(targets, Mapping):
            m = _resolve_margin(data, variables, targets, where, problems)
            if m is not None:
                cat.append(m)
            continue
        try:
            total = float(targets)
        except (TypeError, ValueError):
            problems.append(f"margin {vname}: target {targets!r} is neither a number nor a mapping")
            continue
        if vname == INTERCEPT:
            intercept = total
            continue
        if len(variables) != 1 or variables[0] not in data.columns:
            problems.append(f"continuous auxiliary {vname!r} is not a column of the data")
            continue
        col = pd.to_numeric(data[variables[0]], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        bad = ~np.isfinite(col)
        if bad.any():
            problems.append(f"continuous auxiliary {vname}: {int(bad.sum())} missing value(s) "
                            f"(rows {_row_labels(data.index, bad)})")
            continue
        cont.append((vname, total))
    if not problems:
        _check_consistency(cat, total_tol, problems)
        if intercept is not None and cat:
            s = float(cat[0].targets.sum())
            if abs(s - intercept) > total_tol * max(abs(s), 1.0):
                problems.append(f"target totals disagree: {INTERCEPT} {format_number(intercept)} vs "
                                f"margin {cat[0].name} {format_number(s)}")
    _raise_problems("calibration targets do not fit the data", problems, where,
                    "correct the targets or recode the data")
    # units: cells of the categorical cross when there is no continuous auxiliary
    columns: list[str] = []
    if cont:
        unit = np.arange(n)
        unit_parts = []
        if intercept is not None and not cat:
            unit_parts.append(np.ones((n, 1)))
            columns.append(INTERCEPT)
        for m in cat:
            unit_parts.append(np.eye(len(m.keys))[m.code])
            columns += [f"{m.name}={m.label(k)}" for k in range(len(m.keys))]
        for vname, _ in cont:
            unit_parts.append(pd.to_numeric(data[vname]).to_numpy(dtype=float)[:, None])
            columns.append(vname)
        unit_x = np.hstack(unit_parts)
        d = w.copy()
    else:
        if not cat:
            raise WeightingError("calibration needs at least one margin besides the intercept",
                                 where=where, fix="add categorical or continuous margins")
        unit, cell_codes = _cells(cat)
        parts = []
        for j, m in enumerate(cat):
            parts.append(np.eye(len(m.keys))[cell_codes[j]])
            columns += [f"{m.name}={m.label(k)}" for k in range(len(m.keys))]
        unit_x = np.hstack(parts)
        d = np.bincount(unit, weights=w)
    targets = np.concatenate(
        ([intercept] if (cont and intercept is not None and not cat) else [])
        + [m.targets for m in cat]
        + [[t for _, t in cont]]
    ).astype(float)
    keep = _independent_columns(unit_x, d)
    x = unit_x[:, keep]
    t = targets[keep]
    cont_sample = [float(unit_x[:, columns.index(v)] @ w) for v, _ in cont]  # cont: a unit per row
    scale = _r_rescale(cat, w, intercept, [total for _, total in cont], cont_sample)
    if cat:
        _check_bounds(cat, w if scale is None else w * scale, lo, hi, where)
    g_unit, iterations = _newton(x, d, t, method, lo, hi, tol, max_iter, scale)
    out = w * g_unit[unit]
    gaps = _gaps(cat, out) + tuple(
        MarginGap(vname, "", float(total), float(ach), float((ach - total) / (abs(total) or 1.0)))
        for (vname, total), ach in zip(
            cont, [float(np.dot(pd.to_numeric(data[v]).to_numpy(dtype=float), out)) for v, _ in cont],
            strict=True)
    )
    worst = max(gaps, key=lambda g: abs(g.rel_gap)) if gaps else None
    if g_unit is None or not np.all(np.isfinite(out)) or (worst is not None and not abs(worst.rel_gap) <= max(tol, 1e-12)):
        detail = (f"worst margin {worst.margin}, category {worst.category or '-'}: achieved "
                  f"{worst.achieved:.6g} vs target {worst.target:.6g} (relative gap {worst.rel_gap:.3g})"
                  if worst is not None and np.isfinite(worst.achieved) else "no finite solution")
        raise WeightingError(
            f"{method} calibration did not converge in {iterations} iterations",
            where=where,
            got=detail,
            fix="widen the bounds, raise max_iter, or collapse sparse categories",
        )
    g = out / w
    info = GregInfo(tuple(columns[k] for k in keep), unit, x, w.copy(), g)
    params = {"method": method, "bounds": None if bounds is None else [lo, hi], "tol": tol,
              "max_iter": max_iter, "columns": list(info.columns), "units": int(len(d)),
              "rescaled_by": scale}
    notes = ()
    if scale is not None:
        notes = (f"input weights rescaled by {scale:.6g} before calibration (as R does when "
                 "every population/sample ratio exceeds 20); bounds apply after rescaling",)
    return _result(out, data.index, f"calibrate-{method}", w, name=name, iterations=iterations,
                   gaps=gaps, params=params, calibration=(info,), notes=notes)


def _check_bounds(cat: list[_Margin], w: np.ndarray, lo: float, hi: float, where: str) -> None:
    """A category total can only reach its target if L <= target / sample total <= U."""
    if not (np.isfinite(lo) or np.isfinite(hi)):
        return
    problems = []
    for m in cat:
        sample = np.bincount(m.code, weights=w, minlength=len(m.keys))
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = m.targets / sample
        for k in np.flatnonzero((ratio < lo * (1 - 1e-12)) | (ratio > hi * (1 + 1e-12))):
            problems.append(
                f"margin {m.name}, category {m.label(k)}: target {format_number(m.targets[k])} is "
                f"{ratio[k]:.4g} times the weighted sample total {sample[k]:.6g}, outside the "
                f"bounds ({format_number(lo)}, {format_number(hi)})"
            )
    _raise_problems("bounds are infeasible", problems, where,
                    "widen the bounds or collapse the category with a neighbour")


def _r_rescale(cat: list[_Margin], w: np.ndarray, intercept: float | None,
               cont_targets: list[float], cont_sample: list[float]) -> float | None:
    """R's grake rescaling factor: ``mean(population / sample.total)`` when every ratio
    exceeds 20, else None.

    The ratios are those of R's model matrix for ``~ m1 + m2 + ... + x``: the
    intercept (when a categorical margin or ``(Intercept)`` carries it), every
    category of each margin but its first level (R's treatment contrasts) and
    each continuous auxiliary. The factor changes the solution only through
    the bounds, which R applies to the rescaled weights.
    """
    pop: list[float] = []
    sample: list[float] = []
    if cat or intercept is not None:
        pop.append(float(cat[0].targets.sum()) if cat else float(intercept))
        sample.append(float(w.sum()))
    for m in cat:
        totals = np.bincount(m.code, weights=w, minlength=len(m.keys))
        order = sorted(range(len(m.keys)), key=lambda k: _level_order(m.keys[k]))
        pop += [float(m.targets[k]) for k in order[1:]]
        sample += [float(totals[k]) for k in order[1:]]
    pop += cont_targets
    sample += cont_sample
    with np.errstate(divide="ignore", invalid="ignore"):
        scales = np.asarray(pop, dtype=float) / np.asarray(sample, dtype=float)
    if scales.size and np.all(np.isfinite(scales)) and scales.min() > 20:
        return float(scales.mean())
    return None


def _level_order(key: tuple[Any, ...]) -> tuple[tuple[int, Any], ...]:
    """Sort key of a category as R orders factor levels: numbers before text, then by
    value; in a crossed margin the first variable varies fastest (R's ``interaction``)."""
    return tuple((0, k) if isinstance(k, int | float) else (1, str(k))
                 for k in reversed([_norm_key(v) for v in key]))


def _newton(
    x: np.ndarray, d: np.ndarray, t: np.ndarray, method: str, lo: float, hi: float,
    tol: float, max_iter: int, scale: float | None = None,
) -> tuple[np.ndarray, int]:
    """R's grake: Newton-Raphson with a generalised inverse and step halving, on the
    input weights times ``scale`` (R's rescaling, see :func:`_r_rescale`)."""
    sample = x.T @ d
    if scale is not None:
        d = d * scale
        sample = sample * scale
    denom = np.where(t != 0, np.abs(t), 1.0)
    eta = np.zeros(x.shape[1])
    u = x @ eta
    fm1 = _fm1(method, u, lo, hi)
    deriv = _dfm1(method, u, lo, hi)
    iterations = 0
    while True:
        iterations += 1
        tmat = (x * (d * deriv)[:, None]).T @ x
        misfit = t - sample - x.T @ (d * fm1)
        deta = np.linalg.pinv(tmat, rcond=_EPS_GINV) @ misfit
        eta = eta + deta
        u = x @ eta
        fm1 = _fm1(method, u, lo, hi)
        deriv = _dfm1(method, u, lo, hi)
        while iterations < max_iter and not (np.all(np.isfinite(fm1)) and np.all(np.isfinite(deriv))):
            iterations += 1
            deta = deta / 2
            eta = eta - deta
            u = x @ eta
            fm1 = _fm1(method, u, lo, hi)
            deriv = _dfm1(method, u, lo, hi)
        misfit = t - sample - x.T @ (d * fm1)
        if np.all(np.abs(misfit) / denom <= tol):
            break
        if iterations >= max_iter or not np.all(np.isfinite(misfit)):
            break
    g = 1.0 + fm1
    if scale is not None:
        g = g * scale
    return g, iterations


# --------------------------------------------------------------------------- trimming


def trim(
    weights: Any,
    lower: float | None = None,
    upper: float | None = None,
    strict: bool = False,
    redistribute: str = "additive",
    *,
    max_iter: int = 1000,
    name: str = "trim_wt",
) -> WeightingResult:
    """Trim weights to [lower, upper] and hand the trimmed amount to the other units.

    ``"additive"`` is R's ``trimWeights``: the total trimmed is added in equal
    parts to every weight that was inside the bounds; ``"proportional"`` adds it
    in proportion to those weights. The sum of the weights is kept. With
    ``strict=True`` this is repeated until no weight is outside the bounds (R's
    ``strict = TRUE``). ``weights`` is a Series (its index is kept) or array.
    """
    where = "trim"
    index = weights.index if isinstance(weights, pd.Series) else pd.RangeIndex(len(np.asarray(weights)))
    w0 = _base_weights(pd.DataFrame(index=index), np.asarray(weights, dtype=float), where)
    if redistribute not in ("additive", "proportional"):
        raise WeightingError(f"unknown redistribution {redistribute!r}", where=where,
                             fix="use 'additive' (R's trimWeights) or 'proportional'")
    n, total = len(w0), float(w0.sum())
    lo = np.broadcast_to(-np.inf if lower is None else np.asarray(lower, dtype=float), (n,))
    hi = np.broadcast_to(np.inf if upper is None else np.asarray(upper, dtype=float), (n,))
    if np.any(lo > hi):
        raise WeightingError("lower bound above upper bound", where=where,
                             got=f"rows {show_values(np.flatnonzero(lo > hi).tolist())}",
                             fix="swap or correct the bounds")
    if lo.sum() > total or hi.sum() < total:
        raise WeightingError(
            f"bounds ({_show_bound(lower)}, {_show_bound(upper)}) cannot hold the weight total "
            f"{total:.6g} over {n} units (mean {total / n:.6g})",
            where=where, fix="the mean weight must lie between the bounds",
        )
    w = w0.copy()
    passes = 0
    n_trimmed = 0
    while True:
        outside = (w < lo) | (w > hi)
        if not outside.any():
            break
        if outside.all():
            raise WeightingError("every weight is outside the bounds", where=where,
                                 fix="widen the bounds")
        passes += 1
        n_trimmed += int(outside.sum())
        new = np.clip(w, lo, hi)
        trimmed = float((w - new).sum())
        inside = ~outside
        if redistribute == "additive":
            new[inside] += trimmed / inside.sum()
        else:
            new[inside] *= 1.0 + trimmed / new[inside].sum()
        w = new
        if not strict:
            break
        if passes >= max_iter:
            raise WeightingError(f"strict trimming did not settle in {max_iter} passes", where=where,
                                 got=f"{int(((w < lo) | (w > hi)).sum())} weights still outside",
                                 fix="widen the bounds")
    left = int(((w < lo) | (w > hi)).sum())
    params = {"lower": _show_bound(lower), "upper": _show_bound(upper), "strict": strict,
              "redistribute": redistribute, "passes": passes, "trimmed_units": n_trimmed,
              "outside_after": left}
    return _result(w, index, "trim", w0, name=name, iterations=passes, params=params)


def _show_bound(b: Any) -> str:
    if b is None:
        return "-"
    arr = np.asarray(b, dtype=float)
    if arr.ndim == 0:
        return format_number(float(arr))
    return f"per unit {arr.min():.6g}..{arr.max():.6g}"


def trim_rake(
    data: pd.DataFrame,
    weight: str | Any,
    margins: Any,
    *,
    lower: float | None = None,
    upper: float | None = None,
    within: str | Sequence[str] | None = None,
    redistribute: str = "additive",
    tol: float = 1e-10,
    max_rounds: int = 200,
    trim_tol: float = 1e-6,
    name: str = "final_wt",
) -> WeightingResult:
    """Rake, trim, re-rake, ... until the margins hold and the weights are within the bounds.

    The bounds may be exceeded by at most ``trim_tol`` (relative) after the last
    raking; otherwise :class:`~sid.errors.WeightingError` says how far they are
    apart. The record's calibration is that of the last raking.
    """
    where = "trim_rake"
    w0 = _base_weights(data, weight, where)
    res = rake(data, w0, margins, within=within, tol=tol, name=name)
    rounds = 0
    n = len(w0)
    lo = np.broadcast_to(-np.inf if lower is None else np.asarray(lower, dtype=float), (n,))
    hi = np.broadcast_to(np.inf if upper is None else np.asarray(upper, dtype=float), (n,))
    trimmed_units = 0
    while True:
        w = res.weights.to_numpy()
        with np.errstate(invalid="ignore", divide="ignore"):
            over = np.where(np.isfinite(hi), np.maximum(w - hi, 0) / hi, 0.0)
            under = np.where(np.isfinite(lo) & (lo > 0), np.maximum(lo - w, 0) / lo, 0.0)
        worst = float(max(over.max(), under.max()))
        if worst <= trim_tol:
            break
        rounds += 1
        if rounds > max_rounds:
            raise WeightingError(
                f"trimming and raking do not agree after {max_rounds} rounds",
                where=where,
                got=f"weights still {worst:.3g} (relative) outside ({_show_bound(lower)}, "
                f"{_show_bound(upper)})",
                fix="widen the trimming bounds or collapse margin categories",
            )
        t = trim(w, lower, upper, strict=True, redistribute=redistribute)
        trimmed_units += int(t.record.params["trimmed_units"])
        res = rake(data, t.weights.to_numpy(), margins, within=within, tol=tol, name=name)
    rec = res.record
    params = dict(rec.params) | {"lower": _show_bound(lower), "upper": _show_bound(upper),
                                 "rounds": rounds, "redistribute": redistribute,
                                 "trimmed_units": trimmed_units}
    return _result(res.weights.to_numpy(), data.index, "trim_rake", w0, name=name,
                   iterations=rounds, gaps=rec.gaps, params=params, calibration=rec.calibration)


# --------------------------------------------------------------------------- variance link


def design_calibration(*results: WeightingResult) -> tuple[Any, ...]:
    """Calibration entries for :class:`sid.design.Design` (R's ``design$postStrata``).

    Pass the weighting steps in the order they were applied (a step without
    calibration information, such as nonresponse or trimming, adds nothing,
    exactly as R keeps ``postStrata`` unchanged through ``trimWeights``). Build
    the design on the final weights with ``calibration=design_calibration(...)``
    and its Taylor variance uses the calibration residuals, as R does.
    """
    from sid.design import GregCalibration, PostStratification, Raking

    out: list[Any] = []
    for res in results:
        for info in res.record.calibration:
            if isinstance(info, PostStratInfo):
                out.append(PostStratification(cells=info.index, weights=info.weights,
                                              oldweights=info.old_weights))
            elif isinstance(info, RakingInfo):
                out.append(Raking(tuple((m.index, m.weights) for m in info.margins)))
            else:
                whalf = np.sqrt(info.base_weights)
                out.append(GregCalibration(aux=info.model_matrix() * whalf[:, None],
                                           w=info.g * whalf))
    return tuple(out)


# --------------------------------------------------------------------------- margins tables


def margins_from_long(
    table: pd.DataFrame,
    margins: Sequence[str | Sequence[str]],
    *,
    count: str = "count",
    within: str | Sequence[str] | None = None,
    filters: Mapping[str, Any] | None = None,
) -> dict[Hashable, Any]:
    """Margins from a long population table (one row per cell, a count column).

    ``margins`` lists variables or crosses to sum the counts over, e.g.
    ``[("geslacht", "leeftijdsgroep"), "gewest"]``. ``filters`` keeps rows with
    given values (e.g. ``{"ref_date": "2022-01-01"}``). With ``within``, returns
    ``{group: {margin: {category: total}}}`` ready for ``rake(within=...)``.
    """
    where = "margins table"
    t = table
    for col, value in (filters or {}).items():
        if col not in t.columns:
            raise WeightingError(f"filter column {col!r} is not in the margins table", where=where,
                                 got=show_values(list(t.columns)), fix="name an existing column")
        t = t[t[col].astype(str) == str(value)]
    if t.empty:
        raise WeightingError("no rows left in the margins table after filtering", where=where,
                             got=str(dict(filters or {})), fix="check the filter values (e.g. ref_date)")
    specs = [(m,) if isinstance(m, str) else tuple(m) for m in margins]
    gvars = () if within is None else ((within,) if isinstance(within, str) else tuple(within))
    needed = {count, *gvars, *(v for s in specs for v in s)}
    absent = sorted(c for c in needed if c not in t.columns)
    if absent:
        raise WeightingError(f"column(s) {show_values(absent)} not in the margins table", where=where,
                             got=show_values(list(t.columns)), fix="use the table's column names")

    def sums(frame: pd.DataFrame, spec: tuple[str, ...]) -> dict[Any, float]:
        s = frame.groupby(list(spec), sort=True)[count].sum()
        return {(k if len(spec) > 1 else (k[0] if isinstance(k, tuple) else k)): float(v)
                for k, v in s.items()}

    def key(spec: tuple[str, ...]) -> str | tuple[str, ...]:
        return spec[0] if len(spec) == 1 else spec

    if not gvars:
        return {key(s): sums(t, s) for s in specs}
    out: dict[Hashable, Any] = {}
    for gkey, frame in t.groupby(list(gvars), sort=True):
        g = gkey if len(gvars) > 1 else (gkey[0] if isinstance(gkey, tuple) else gkey)
        out[g] = {key(s): sums(frame, s) for s in specs}
    return out


# --------------------------------------------------------------------------- replicate weights

REP_METHODS = ("jk1", "jkn", "bootstrap")


@dataclass(frozen=True)
class ReplicateWeights:
    """Replicate weights (n x R, aligned with ``index``) and how to turn them into variances.

    ``weights`` are full replicate weights (R's ``combined.weights = TRUE``): a
    dropped PSU has weight 0. ``scale`` and ``rscales`` are R's; variances are
    ``scale * sum_r rscales_r (theta_r - centre)^2`` with the centre the mean of
    the replicates (``mse=False``) or the full-sample estimate (``mse=True``).
    """

    weights: np.ndarray
    method: str
    scale: float
    rscales: np.ndarray
    index: pd.Index
    mse: bool = False
    notes: tuple[str, ...] = ()

    @property
    def replicates(self) -> int:
        return int(self.weights.shape[1])

    def names(self, prefix: str = "repw_") -> list[str]:
        """Column names ``repw_001``, ``repw_002``, ... (at least three digits)."""
        width = max(3, len(str(self.replicates)))
        return [f"{prefix}{r + 1:0{width}d}" for r in range(self.replicates)]

    def frame(self, prefix: str = "repw_") -> pd.DataFrame:
        """The replicate weights as columns of a DataFrame on ``index``."""
        return pd.DataFrame(self.weights, index=self.index, columns=self.names(prefix))

    def design_kwargs(self, prefix: str = "repw_") -> dict[str, Any]:
        """Keyword arguments for :class:`sid.design.Design` on a frame holding :meth:`frame`."""
        return {"repweights": f"^{prefix}[0-9]+$", "repmethod": self.method,
                "scale": self.scale, "rscales": self.rscales.copy(), "mse": self.mse}


def _rep_result(weights: np.ndarray, method: str, scale: float, rscales: np.ndarray,
                index: pd.Index, mse: bool = False, notes: tuple[str, ...] = ()) -> ReplicateWeights:
    weights = np.ascontiguousarray(weights, dtype=float)
    rscales = np.asarray(rscales, dtype=float).copy()
    weights.setflags(write=False)
    rscales.setflags(write=False)
    return ReplicateWeights(weights, method, float(scale), rscales, index, mse, notes)


def replicate_weights(
    design_or_data: Any,
    method: str = "bootstrap",
    *,
    weight: str | Any = None,
    strata: str | None = None,
    psu: str | None = None,
    replicates: int = 200,
    seed: int | None = None,
    mse: bool = False,
) -> ReplicateWeights:
    """Replicate base weights from a sample design, as R's ``as.svrepdesign``.

    ``design_or_data`` is a :class:`sid.design.Design` (its weight, strata and
    psu are used) or a DataFrame with ``weight`` (a column or an array; None
    means 1), ``strata`` and ``psu`` columns (None: one stratum, every row its
    own PSU). PSUs are taken within strata, in order of first appearance, as R.

    * ``"jk1"``: unstratified; replicate g drops PSU g and multiplies the others
      by G/(G-1); ``scale = (G-1)/G`` (R's ``jk1weights``).
    * ``"jkn"``: one replicate per PSU, dropping it and multiplying the other
      PSUs of its stratum by n_h/(n_h-1); ``rscales = (n_h-1)/n_h`` (``jknweights``).
    * ``"bootstrap"``: Rao-Wu rescaling bootstrap as R's ``bootweights``: in every
      stratum draw n_h PSUs with replacement; a PSU's weight is multiplied by the
      number of times it was drawn; ``scale = m / ((m-1)(R-1))`` with m the
      harmonic mean of n_h. Reproducible with ``seed`` (numpy's generator, not R's).

    No finite population correction is applied (as R without ``fpc``).
    """
    where = f"replicate_weights(method={method!r})"
    if method not in REP_METHODS:
        raise WeightingError(f"unknown replicate method {method!r}", where=where,
                             fix=f"use one of {', '.join(REP_METHODS)}")
    if getattr(design_or_data, "is_replicate", False):
        raise WeightingError("the design already has replicate weights", where=where,
                             fix="pass the design with strata/psu (a Taylor design)")
    if hasattr(design_or_data, "psu") and hasattr(design_or_data, "data") and not isinstance(
            design_or_data, pd.DataFrame):
        des = design_or_data
        if getattr(des, "psu2", None) is not None:
            raise WeightingError("replicate weights use the first stage only", where=where,
                                 fix="build the design without psu2", got=f"psu2={des.psu2!r}")
        data, weight, strata, psu = des.data, des.weight, des.strata, des.psu
    else:
        data = design_or_data
    n = len(data)
    w = np.ones(n) if weight is None else _base_weights(data, weight, where)
    for role, col in (("strata", strata), ("psu", psu)):
        if col is not None and col not in data.columns:
            raise WeightingError(f"{role} variable {col!r} is not in the data", where=where,
                                 got=show_values(list(data.columns)), fix="name an existing column")
        if col is not None and data[col].isna().any():
            bad = data[col].isna().to_numpy()
            raise WeightingError(f"{role} variable {col!r} has {int(bad.sum())} missing value(s)",
                                 where=where, got=f"rows {_row_labels(data.index, bad)}",
                                 fix=f"give every row a {role} value")
    s_code = (np.zeros(n, dtype=np.int64) if strata is None
              else pd.factorize(data[strata], sort=False)[0].astype(np.int64))
    s_levels = ([None] if strata is None else list(pd.unique(data[strata])))
    if psu is None:
        p_key = np.arange(n, dtype=np.int64)
    else:
        p_key = pd.factorize(data[psu], sort=False)[0].astype(np.int64)
    # PSU = (stratum, psu) in order of first appearance
    psu_code, first = pd.factorize(s_code * (int(p_key.max()) + 1 if n else 1) + p_key, sort=False)
    psu_code = psu_code.astype(np.int64)
    n_psu_total = len(first)
    psu_first = np.full(n_psu_total, n, dtype=np.int64)
    np.minimum.at(psu_first, psu_code, np.arange(n))
    psu_stratum = s_code[psu_first]
    n_h = np.bincount(psu_stratum, minlength=len(s_levels))
    if method == "jk1" and len(s_levels) > 1:
        raise WeightingError("JK1 is for unstratified designs", where=where,
                             got=f"{len(s_levels)} strata in {strata!r}",
                             fix="use method 'jkn' (or 'bootstrap') for a stratified design")
    lonely = np.flatnonzero(n_h < 2)
    if lonely.size:
        shown = show_values([s_levels[k] for k in lonely])
        raise WeightingError(
            f"{lonely.size} stratum/strata with a single PSU: replicate weights are undefined",
            where=where, got=f"strata {shown}",
            fix="collapse single-PSU strata with a neighbouring stratum")
    if method in ("jk1", "jkn"):
        # replicate j drops PSU j (PSUs ordered by stratum, then first appearance: R's order)
        order = np.lexsort((np.arange(n_psu_total), psu_stratum))
        rep_of_psu = np.empty(n_psu_total, dtype=np.int64)
        rep_of_psu[order] = np.arange(n_psu_total)
        factor_h = n_h / (n_h - 1.0)
        rep_stratum = psu_stratum[order]
        row_rep = rep_of_psu[psu_code]
        same = s_code[:, None] == rep_stratum[None, :]
        mult = np.where(same, factor_h[s_code][:, None], 1.0)
        mult[np.arange(n), row_rep] = 0.0
        out = w[:, None] * mult
        if method == "jk1":
            g = n_psu_total
            return _rep_result(out, "jk1", (g - 1.0) / g, np.ones(g), data.index, mse)
        rscales = ((n_h - 1.0) / n_h)[rep_stratum]
        return _rep_result(out, "jkn", 1.0, rscales, data.index, mse)
    if replicates < 2:
        raise WeightingError(f"{replicates} bootstrap replicate(s)", where=where,
                             fix="ask for at least 2 replicates (R's default is 50; 200+ is usual)")
    rng = np.random.default_rng(seed)
    # PSU slots grouped by stratum: each stratum draws n_h of its own PSUs per replicate
    order = np.lexsort((np.arange(n_psu_total), psu_stratum))
    start = np.concatenate(([0], np.cumsum(n_h)[:-1]))
    slot_stratum = psu_stratum[order]
    u = rng.random((n_psu_total, replicates))
    pick = start[slot_stratum][:, None] + np.floor(u * n_h[slot_stratum][:, None]).astype(np.int64)
    counts = np.bincount((pick + n_psu_total * np.arange(replicates)[None, :]).ravel(),
                         minlength=n_psu_total * replicates).reshape(replicates, n_psu_total).T
    mult_psu = np.empty_like(counts, dtype=float)
    mult_psu[order] = counts
    m = 1.0 / np.mean(1.0 / n_h)
    scale = m / ((m - 1.0) * (replicates - 1.0))
    out = w[:, None] * mult_psu[psu_code]
    return _rep_result(out, "bootstrap", scale, np.ones(replicates), data.index, mse)


def apply_chain_to_replicates(
    data: pd.DataFrame,
    replicates: ReplicateWeights,
    chain: Any,
    *,
    out_index: pd.Index | None = None,
    progress: Any = None,
) -> ReplicateWeights:
    """Run a weighting chain on every replicate's base weights (R: ``rake()`` etc. on a
    replicate design), giving final replicate weights.

    ``chain(frame, weights)`` is the chain for one set of base weights: it gets
    the rows of ``data`` whose replicate weight is positive (a dropped PSU keeps
    weight 0 and takes no part, exactly as its zero weight does in R) and their
    weights, and returns the final weights as a Series (or a
    :class:`WeightingResult`) indexed by rows of ``out_index`` (default
    ``data.index``); rows it does not return get 0. ``progress(done, total)``
    is called after each replicate. A replicate whose chain fails raises
    :class:`~sid.errors.WeightingError` naming the replicate.
    """
    if replicates.weights.shape[0] != len(data) or not replicates.index.equals(data.index):
        raise WeightingError(
            f"replicate weights are for {replicates.weights.shape[0]} rows, the data has {len(data)}",
            where="apply_chain_to_replicates",
            fix="make the replicate weights on the same rows (the gross sample when the chain "
                "starts with a nonresponse adjustment)")
    target = data.index if out_index is None else out_index
    if not target.is_unique:
        raise WeightingError("the output rows have a duplicated index", where="apply_chain_to_replicates",
                             fix="reset the index of the data")
    k = replicates.replicates
    out = np.zeros((len(target), k))
    for r in range(k):
        wr = replicates.weights[:, r]
        pos = wr > 0
        try:
            res = chain(data.loc[pos] if not pos.all() else data, wr[pos])
        except WeightingError as exc:
            raise WeightingError(
                f"the weighting chain fails on replicate {r + 1} of {k} ({replicates.method})",
                where="apply_chain_to_replicates", got=str(exc).splitlines()[0],
                fix="collapse small categories or classes so that every replicate keeps "
                    "respondents in each (a JK replicate drops a whole PSU)") from None
        series = res.weights if isinstance(res, WeightingResult) else res
        rows = target.get_indexer(series.index)
        if (rows < 0).any():
            raise WeightingError("the chain returned rows that are not output rows",
                                 where="apply_chain_to_replicates",
                                 fix="return weights indexed by the output rows")
        out[rows, r] = series.to_numpy(dtype=float)
        if progress is not None:
            progress(r + 1, k)
    return _rep_result(out, replicates.method, replicates.scale, replicates.rscales, target,
                       replicates.mse, replicates.notes)


# --------------------------------------------------------------------------- weighting spec

_SPEC_KEYS = {"name", "wave", "id", "design", "nonresponse", "margins", "method", "bounds",
              "trim", "output", "group", "replicates"}


@dataclass(frozen=True)
class ChainResult:
    """The weighting chain of a spec: the final weights on the wave and every step's record."""

    weights: pd.Series
    steps: tuple[tuple[str, WeightingRecord], ...]
    group: pd.Series | None
    spec: Mapping[str, Any]
    replicates: ReplicateWeights | None = None


def load_spec(path: str | Any) -> dict[str, Any]:
    """Read and check a YAML weighting spec (see docs/weighting.md); all problems at once."""
    import yaml

    from sid.errors import CodebookError, InputError

    p = str(path)
    try:
        with open(p, encoding="utf-8") as fh:
            spec = yaml.safe_load(fh)
    except OSError as exc:
        raise InputError(f"cannot read the weighting spec: {exc.strerror}", where=p,
                         fix="give an existing YAML file") from None
    except yaml.YAMLError as exc:
        raise CodebookError(f"the weighting spec is not valid YAML: {exc}".splitlines()[0],
                            where=p, fix="correct the YAML syntax") from None
    problems = []
    if not isinstance(spec, dict):
        raise CodebookError("the weighting spec must be a mapping", where=p,
                            fix="see docs/weighting.md")
    unknown = sorted(set(spec) - _SPEC_KEYS)
    if unknown:
        problems.append(f"unknown key(s) {show_values(unknown)} (allowed: {', '.join(sorted(_SPEC_KEYS))})")
    design = spec.get("design") or {}
    if not any(k in design for k in ("base_weight", "incl_prob", "frame_counts")):
        problems.append("design: give base_weight, incl_prob or frame_counts")
    m = spec.get("margins")
    if not isinstance(m, dict) or "variables" not in m or "margins" not in m:
        problems.append("margins: give source, variables and margins (see docs/weighting.md)")
    method = spec.get("method", "rake")
    if method not in ("rake", "linear", "raking", "logit"):
        problems.append(f"method: {method!r} is not one of rake, linear, raking, logit")
    if method == "logit" and not spec.get("bounds"):
        problems.append("bounds: logit calibration needs bounds [L, U]")
    nr = spec.get("nonresponse")
    if nr is not None and (not isinstance(nr, dict) or "classes" not in nr):
        problems.append("nonresponse: give classes (and respondent, default 'respons')")
    tr = spec.get("trim")
    if tr is not None and (not isinstance(tr, dict) or not ({"upper", "lower"} & set(tr))):
        problems.append("trim: give upper and/or lower")
    rp = spec.get("replicates")
    if rp is not None:
        if not isinstance(rp, dict):
            problems.append("replicates: give {method: jk1|jkn|bootstrap, replicates: 200, seed: 1}")
        else:
            if rp.get("method", "bootstrap") not in REP_METHODS:
                problems.append(f"replicates.method: {rp.get('method')!r} is not one of "
                                f"{', '.join(REP_METHODS)}")
            if not isinstance(rp.get("replicates", 200), int) or rp.get("replicates", 200) < 2:
                problems.append("replicates.replicates: give a whole number >= 2")
            bad_keys = sorted(set(rp) - {"method", "replicates", "seed", "strata", "psu", "mse",
                                         "prefix"})
            if bad_keys:
                problems.append(f"replicates: unknown key(s) {show_values(bad_keys)}")
    if problems:
        raise CodebookError("the weighting spec is invalid", where=p, problems=tuple(problems),
                            fix="see docs/weighting.md")
    spec["_path"] = p
    return spec


def _derive(frame: pd.DataFrame, variables: Mapping[str, Any], where: str) -> pd.DataFrame:
    """Columns named as in the margins table, taken or derived (age bands) from the wave."""
    out = pd.DataFrame(index=frame.index)
    for target, src in variables.items():
        if isinstance(src, str):
            col = src
            breaks = None
        else:
            col = src.get("from")
            breaks = src.get("breaks")
        if col not in frame.columns:
            raise WeightingError(f"variable {col!r} (for margin variable {target!r}) is not in the data",
                                 where=where, fix="correct margins.variables in the spec")
        values = pd.to_numeric(frame[col], errors="coerce").to_numpy(dtype=float)
        if breaks is not None:
            band = (np.searchsorted(np.asarray(breaks, dtype=float), values, side="right") + 1).astype(float)
            band[~np.isfinite(values)] = np.nan
            values = band
        out[target] = values
    return out


def run_spec(
    spec: Mapping[str, Any],
    data: pd.DataFrame,
    *,
    gross: pd.DataFrame | None = None,
    margins_table: pd.DataFrame | None = None,
    missing: Mapping[str, np.ndarray] | None = None,
    progress: Any = None,
) -> ChainResult:
    """Apply a weighting spec to the respondents in ``data``: design weights, nonresponse
    adjustment on the gross sample, raking/calibration (within groups), trimming.

    ``missing`` marks user-missing codes per column (set to NaN before weighting,
    so a margin variable with missing codes is reported as missing). With a
    ``replicates`` key, replicate base weights are made from the design (on the
    gross sample when there is a nonresponse step) and the whole chain is run on
    every replicate (:func:`apply_chain_to_replicates`); ``progress(done, total)``
    reports on them.
    """
    where = f"weighting spec {spec.get('_path', '')}".strip()
    data = data.copy()
    for col, mask in (missing or {}).items():
        if col in data.columns and mask.any():
            data.loc[mask, col] = np.nan
    steps: list[tuple[str, WeightingRecord]] = []
    design = spec["design"]
    idcol = spec.get("id")
    nr = spec.get("nonresponse")
    source = gross if (nr is not None or gross is not None) else data
    if nr is not None and gross is None:
        raise WeightingError("the spec asks for a nonresponse adjustment but no gross sample was given",
                             where=where, fix="pass --gross with the gross sample file")

    def base(frame: pd.DataFrame) -> WeightingResult:
        if "base_weight" in design:
            w = _base_weights(frame, design["base_weight"], where + " design.base_weight")
            return _result(w, frame.index, "design", w, name="design_wt",
                           params={"base_weight": design["base_weight"]})
        if "incl_prob" in design:
            return design_weights(frame, design["incl_prob"])
        fc = design["frame_counts"]
        table = pd.read_csv(fc["file"]) if isinstance(fc.get("file"), str) else pd.DataFrame(fc["table"])
        return frame_weights(frame, fc["strata"], table[[*([fc["strata"]] if isinstance(fc["strata"], str) else fc["strata"]), fc.get("count", "count")]])

    assert source is not None
    b = base(source)
    steps.append(("ontwerpgewicht", b.record))
    mspec = spec["margins"]
    work = _derive(data, mspec["variables"], where)
    table = margins_table
    if table is None:
        src = mspec.get("source")
        if src is None:
            raise WeightingError("no margins table given", where=where,
                                 fix="set margins.source in the spec or pass --margins")
        table = pd.read_csv(src)
    within = mspec.get("within")
    margins = margins_from_long(table, [tuple(m) if isinstance(m, list) else m for m in mspec["margins"]],
                                count=mspec.get("count", "count"), within=within,
                                filters=mspec.get("filter"))
    method = spec.get("method", "rake")
    bounds = tuple(spec["bounds"]) if spec.get("bounds") else None
    tr = spec.get("trim")
    if source is not data:
        if idcol is None or idcol not in data.columns or idcol not in source.columns:
            raise WeightingError(f"id variable {idcol!r} must be in the wave and the gross sample",
                                 where=where, fix="set id: in the spec")
        if not source[idcol].is_unique:
            raise WeightingError(f"id {idcol!r} is not unique in the gross sample", where=where,
                                 fix="give a unique respondent id")
        # position in the gross sample of every respondent of the wave (-1: not there)
        gross_pos = pd.Index(source[idcol].to_numpy()).get_indexer(data[idcol].to_numpy())

    base_src = b.weights.to_numpy()
    state: dict[str, Any] = {}

    def to_data(src: pd.DataFrame, values: np.ndarray) -> np.ndarray:
        """Values on rows of ``src`` (source rows) as values on the wave's rows (NaN: absent)."""
        if source is data:
            out = np.full(len(data), np.nan)
            out[data.index.get_indexer(src.index)] = values
            return out
        full = np.full(len(source), np.nan)
        full[source.index.get_indexer(src.index)] = values
        return np.where(gross_pos >= 0, full[np.maximum(gross_pos, 0)], np.nan)

    def chain(src: pd.DataFrame, w_src: np.ndarray, record: bool) -> pd.Series:
        """Nonresponse, calibration and trimming for one set of base weights on ``src``."""
        # replicate multiplier of each unit (1 for the full sample): scales its trim bounds
        mult = to_data(src, w_src / base_src[source.index.get_indexer(src.index)])
        if nr is not None:
            n_res = nonresponse_adjust(src, w_src, nr.get("respondent", "respons"), nr["classes"])
            if record:
                steps.append(("nonrespons", n_res.record))
            w_src = n_res.weights.to_numpy()
        w = to_data(src, w_src)
        bad = ~np.isfinite(w) | (w <= 0)
        if record and bad.any() and source is not data:
            raise WeightingError(
                f"{int(bad.sum())} respondent(s) of the wave are not respondents in the gross sample",
                where=where, got=f"ids {show_values(data[idcol].to_numpy()[bad].tolist())}",
                fix="use the gross sample that belongs to this wave",
            )
        keep = ~bad
        sub = work if keep.all() else work.loc[keep]
        wk = w[keep]
        if method == "rake":
            res = rake(sub, wk, margins, within=within)
        else:
            res = calibrate(sub, wk, margins, method=method, bounds=bounds, within=within)
        if record:
            steps.append((method, res.record))
        if tr is not None:
            wr = res.weights.to_numpy()
            rel = tr.get("relative_to", "absolute")
            if record:
                if rel == "absolute":
                    ref = np.ones_like(wr)
                else:
                    grp = sub[within] if isinstance(within, str) else pd.Series(0, index=sub.index)
                    ref = pd.Series(wr, index=sub.index).groupby(grp).transform(rel).to_numpy()
                state["ref"] = ref
            else:
                # a replicate trims at the full sample's bounds times its own multiplier, so a
                # PSU drawn twice in a bootstrap replicate may carry twice the weight
                ref = state["ref"][keep] * mult[keep]
            lower = None if tr.get("lower") is None else float(tr["lower"]) * ref
            upper = None if tr.get("upper") is None else float(tr["upper"]) * ref
            if method == "rake":
                try:
                    res = trim_rake(sub, wr, margins, lower=lower, upper=upper, within=within,
                                    redistribute=tr.get("redistribute", "additive"))
                except WeightingError as exc:
                    # margins are hard, trimming bounds a variance device: a replicate whose
                    # bounds cannot hold together with the margins keeps its raked weights
                    if record or "do not agree" not in str(exc):
                        raise
                    state["untrimmed"] = state.get("untrimmed", 0) + 1
            else:
                t = trim(wr, lower, upper, strict=True, redistribute=tr.get("redistribute", "additive"))
                res = calibrate(sub, t.weights.to_numpy(), margins, method=method, bounds=bounds,
                                within=within)
            if record:
                steps.append(("trimmen", res.record))
        return res.weights

    final = chain(source, b.weights.to_numpy(), True)
    group = work[within] if isinstance(within, str) else None
    name = (spec.get("output") or {}).get("weight", "final_wt")
    reps = None
    rspec = spec.get("replicates")
    if rspec:
        start = replicate_weights(source, rspec.get("method", "bootstrap"),
                                  weight=b.weights.to_numpy(), strata=rspec.get("strata"),
                                  psu=rspec.get("psu"), replicates=int(rspec.get("replicates", 200)),
                                  seed=rspec.get("seed"), mse=bool(rspec.get("mse", False)))
        reps = apply_chain_to_replicates(source, start, lambda f, w: chain(f, w, False),
                                         out_index=data.index, progress=progress)
        untrimmed = int(state.get("untrimmed", 0))
        if untrimmed:
            reps = replace(reps, notes=reps.notes + (
                f"{untrimmed} of {reps.replicates} replicates cannot hold the trimming bounds "
                "together with the margins; they keep their raked (untrimmed) weights",))
    return ChainResult(pd.Series(final.reindex(data.index).to_numpy(), index=data.index, name=name),
                       tuple(steps), group, MappingProxyType(dict(spec)), reps)


# --------------------------------------------------------------------------- report


def report_tables(chain: ChainResult,
                  labels: Mapping[Any, str] | None = None) -> dict[str, pd.DataFrame]:
    """The weighting report as tidy frames, one per sheet (Dutch sheet names).

    ``labels`` names the groups (e.g. the value labels of the origin variable).
    """
    steps = []
    for label, rec in chain.steps:
        steps.append({"stap": label, "methode": rec.method, "iteraties": rec.iterations,
                      "geconvergeerd": rec.converged, "max_relatieve_afwijking": rec.max_gap,
                      **{f"voor_{k}": v for k, v in rec.before.as_dict().items()},
                      **{f"na_{k}": v for k, v in rec.after.as_dict().items()}})
    w = chain.weights.to_numpy()
    groups = summary_table(w, None if chain.group is None else chain.group.to_numpy(),
                           labels=labels)
    margins = pd.concat([rec.gaps_frame().assign(stap=label) for label, rec in chain.steps
                         if rec.gaps], ignore_index=True)
    trims = pd.DataFrame([{"stap": label, **{k: (v if np.isscalar(v) or v is None else str(v))
                                            for k, v in rec.params.items()}}
                          for label, rec in chain.steps if label == "trimmen"])
    import yaml

    spec_text = yaml.safe_dump({k: v for k, v in chain.spec.items() if not k.startswith("_")},
                               allow_unicode=True, sort_keys=False)
    reps = chain.replicates
    if reps is None:
        rep_table = pd.DataFrame({"methode": ["geen replicaatgewichten"]})
    else:
        rspec = dict(chain.spec.get("replicates") or {})
        sums = reps.weights.sum(axis=0)
        rep_table = pd.DataFrame([{
            "methode": reps.method, "replicaten": reps.replicates, "scale": reps.scale,
            "rscales_min": float(reps.rscales.min()), "rscales_max": float(reps.rscales.max()),
            "mse": reps.mse, "seed": rspec.get("seed"), "strata": rspec.get("strata"),
            "psu": rspec.get("psu"), "som_min": float(sums.min()), "som_max": float(sums.max()),
            "opmerking": "; ".join(("volledige wegingsketen (nonrespons, kalibratie, trimmen) "
                                    "per replicaat", *reps.notes)),
        }])
    return {
        "Stappen": pd.DataFrame(steps),
        "Per herkomst": groups,
        "Marges": margins,
        "Trimmen": trims if not trims.empty else pd.DataFrame({"stap": [], "opmerking": []}),
        "Replicaten": rep_table,
        "Spec": pd.DataFrame({"spec": spec_text.splitlines()}),
    }


def report_markdown(chain: ChainResult, labels: Mapping[Any, str] | None = None) -> str:
    """A short Markdown summary of the weighting report."""
    t = report_tables(chain, labels)
    lines = ["# Wegingsrapport", ""]
    for _, row in t["Stappen"].iterrows():
        lines.append(f"- **{row['stap']}** ({row['methode']}): {row['iteraties']} iteraties, "
                     f"max. relatieve afwijking {row['max_relatieve_afwijking']:.2g}, "
                     f"som gewichten {row['na_sum']:.6g}, ESS {row['na_ess']:.1f}, "
                     f"deff_w {row['na_deff_w']:.3f}")
    if chain.replicates is not None:
        r = chain.replicates
        lines.append(f"- **replicaatgewichten**: {r.replicates} x {r.method} (scale {r.scale:.6g}), "
                     "volledige wegingsketen per replicaat")
    lines += ["", "| groep | n | ESS | deff_w | min | mediaan | max | som |", "|---|---|---|---|---|---|---|---|"]
    for _, r in t["Per herkomst"].iterrows():
        lines.append(f"| {r['group']} | {r['n']} | {r['ess']:.1f} | {r['deff_w']:.3f} | {r['min']:.4g} | "
                     f"{r['median']:.4g} | {r['max']:.4g} | {r['sum']:.6g} |")
    lines.append("")
    return "\n".join(lines)


def write_report(chain: ChainResult, path: str | Any,
                 labels: Mapping[Any, str] | None = None) -> tuple[str, str]:
    """Write the Excel report (one sheet per part) and a Markdown summary beside it, atomically."""
    from pathlib import Path

    from sid.io import atomic_output, write_text_atomic

    out = Path(path)
    tables = report_tables(chain, labels)
    with atomic_output(out) as tmp, pd.ExcelWriter(tmp, engine="openpyxl") as xl:
        for sheet, frame in tables.items():
            frame.to_excel(xl, sheet_name=sheet[:31], index=False)
    md = out.with_suffix(".md")
    write_text_atomic(md, report_markdown(chain, labels))
    return str(out), str(md)
