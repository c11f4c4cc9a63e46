"""Survey designs: which columns carry weights, strata, clusters, fpc or replicate weights.

A :class:`Design` is an immutable description of how the sample was drawn,
built once and shared by every estimate. It validates its inputs (listing all
offending rows or values at once), and precomputes the integer codes the
variance engine (:mod:`sid.variance`) needs:

* **Taylor designs** (R's ``svydesign(ids=~psu+psu2, strata=~strata,
  fpc=~fpc+fpc2, weights=~w, nest=TRUE)``): strata, PSUs nested in strata,
  optionally a second stage that is used only when fpc is given for both
  stages (as R does); fpc as population counts, or as sampling fractions when
  all values are <= 1.
* **Replicate designs** (R's ``svrepdesign(type=..., combined.weights=TRUE)``):
  replicate-weight columns chosen by a regular expression, with R's ``scale``,
  ``rscales`` and ``mse`` defaults per method, and R's ``degf`` (:func:`design_df`, :func:`domain_df`).
* **Calibration information** (:class:`PostStratification`, :class:`Raking`,
  :class:`GregCalibration`) mirroring what R stores in ``design$postStrata``,
  so that calibrated weights get R's calibrated (residual) variances.

Domains are never made by deleting rows: estimates zero-weight the rows
outside a domain, so the design keeps its PSU structure.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from sid.codes import combine_codes, dense_codes
from sid.design_args import SINGLETON_RULES, check_arguments, check_spec, rscales_array
from sid.errors import DesignError, show_values
from sid.linalg import R_DEGF_TOL, qr_rank

REP_METHODS = ("brr", "fay", "jk1", "jkn", "bootstrap")
_DESIGN_KEYS = (
    "weight", "strata", "psu", "fpc", "psu2", "fpc2", "repweights", "repmethod",
    "rho", "scale", "rscales", "mse", "singleton",
)
DESIGN_KEYS = _DESIGN_KEYS
"""The keys of ``Design(...)`` a design mapping or file may hold."""


# --------------------------------------------------------------------------- calibration


@dataclass(frozen=True)
class PostStratification:
    """One ordinary ``postStratify`` entry of R's ``design$postStrata``.

    R stores a per-row factor (the post-stratum index) with two attributes;
    ``svyrecvar`` then replaces each score column ``x`` by
    ``x - psmeans[cell] * weights`` with
    ``psmeans = rowsum(x * oldweights / weights, cell) / rowsum(oldweights, cell)``.

    * ``cells``: integer post-stratum code per row (R: the factor itself).
    * ``weights``: the weights *after* post-stratification (R: ``attr(, "weights")``,
      i.e. ``1/design$prob`` after the call).
    * ``oldweights``: the weights *before* post-stratification (R:
      ``attr(, "oldweights")``); ``None`` means 1 for every row, as in R when the
      attribute is absent. Rows with both weights 0 get weight 1 (as R does).
    """

    cells: np.ndarray
    weights: np.ndarray
    oldweights: np.ndarray | None = None


@dataclass(frozen=True)
class Raking:
    """R's class ``"raking"`` entry of ``design$postStrata`` (made by ``rake()``).

    ``margins`` holds, per raking margin in R's order, ``(cells, weights)``: the
    per-row integer cell code of that margin and R's ``attr(margin, "weights")``
    (the weights after that margin's last post-stratification step).
    ``svyrecvar`` makes 10 passes of
    ``x <- x - weights * ave(x / weights, cells)`` over the margins.
    """

    margins: tuple[tuple[np.ndarray, np.ndarray], ...]


@dataclass(frozen=True)
class GregCalibration:
    """R's class ``"greg_calibration"`` entry of ``design$postStrata`` (``calibrate()``).

    R stores ``qr = qr(mm * sqrt(ww))`` and ``w = g * sqrt(ww)``, where ``mm`` is
    the calibration model matrix, ``ww`` the weights before calibration and
    ``g`` the calibration factors. ``svyrecvar`` replaces the scores by
    ``qr.resid(qr, x / w) * w``.

    * ``aux``: the matrix R decomposed, ``mm * sqrt(ww)`` (n x p).
    * ``w``: R's ``w`` (n,), ``g * sqrt(ww)``.
    * ``stage``: R's ``stage``; only 0 (calibration of the whole sample) is
      supported.
    """

    aux: np.ndarray
    w: np.ndarray
    stage: int = 0


Calibration = PostStratification | Raking | GregCalibration


# --------------------------------------------------------------------------- helpers


def _codes(values: pd.Series | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Integer codes 0..k-1 (sorted levels) and the levels themselves."""
    codes, levels = pd.factorize(pd.Series(values), sort=True)
    return codes.astype(np.int64), np.asarray(levels)


def _pair_codes(outer: np.ndarray, inner: pd.Series | np.ndarray) -> np.ndarray:
    """Codes of (outer, inner) pairs: inner units nested within outer codes."""
    inner_codes, _ = _codes(inner)
    return dense_codes(combine_codes([outer, inner_codes]))[1]


def _per_group(codes: np.ndarray, values: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The smallest and largest value of each group (equal when the group is constant)."""
    lo = np.full(k, np.inf)
    hi = np.full(k, -np.inf)
    np.minimum.at(lo, codes, values)
    np.maximum.at(hi, codes, values)
    return lo, hi


def _count_unique_within(group: np.ndarray, unit: np.ndarray, n_groups: int) -> np.ndarray:
    """Number of distinct ``unit`` codes within each group."""
    pairs = np.unique(np.stack([group, unit]), axis=1)
    return np.bincount(pairs[0], minlength=n_groups)


def _column(data: pd.DataFrame, name: str, role: str) -> pd.Series:
    if name not in data.columns:
        close = [c for c in data.columns if str(c).lower() == str(name).lower()]
        raise DesignError(
            f"{role} variable {name!r} is not in the data",
            where=f"design {role}",
            got=f"columns {show_values(list(data.columns))}",
            fix=f"use one of {show_values(close)}" if close else "name an existing column",
        )
    return data[name]


def _missing_rows(series: pd.Series) -> np.ndarray:
    miss = series.isna().to_numpy().copy()
    if series.dtype == object or pd.api.types.is_string_dtype(series):
        miss |= series.astype(str).str.strip().eq("").to_numpy() & ~series.isna().to_numpy()
    return np.flatnonzero(miss)


def _rows(idx: np.ndarray) -> str:
    return show_values([int(i) + 1 for i in idx])


def _as_float(series: pd.Series, role: str, name: str) -> np.ndarray:
    try:
        return pd.to_numeric(series, errors="raise").to_numpy(dtype=float)
    except (ValueError, TypeError):
        bad = series[pd.to_numeric(series, errors="coerce").isna() & series.notna()]
        raise DesignError(
            f"{role} variable {name!r} must be numeric",
            where=f"design {role}",
            got=show_values(bad.unique().tolist()),
            fix=f"recode {name!r} to numbers",
        ) from None


def _data_frame(data: Any) -> pd.DataFrame:
    """A DataFrame from a frame or a :class:`sid.io.Wave` (user-missing codes -> NaN)."""
    if isinstance(data, pd.DataFrame):
        return data
    if hasattr(data, "data") and hasattr(data, "missing_mask"):
        frame = data.data.copy()
        for name in frame.columns:
            mask = data.missing_mask(name)
            if mask.any() and pd.api.types.is_numeric_dtype(frame[name]):
                frame.loc[mask, name] = np.nan
        return frame
    raise DesignError("data must be a pandas DataFrame or a sid Wave",
                      got=type(data).__name__, fix="pass wave.data or the Wave")


# --------------------------------------------------------------------------- Design


@dataclass(frozen=True, eq=False)
class Design:
    """How the sample was drawn; immutable, validated, with cached integer codes.

    Arguments mirror R: ``weight`` (sampling or final weight column; ``None``
    means 1), ``strata``, ``psu`` and ``psu2`` (cluster ids; PSUs are nested in
    strata and SSUs in PSUs), ``fpc`` and ``fpc2`` (population counts, or
    sampling fractions when all values are <= 1), ``repweights`` (a regular
    expression selecting replicate-weight columns, R's ``svrepdesign(repweights=
    "regex")``), ``repmethod`` (``brr``, ``fay``, ``jk1``, ``jkn``,
    ``bootstrap``), ``rho`` (Fay), ``scale``, ``rscales`` (number or one per
    replicate), ``mse`` (centre replicates on the full-sample estimate),
    ``singleton`` (what to do with single-PSU strata, R's
    ``survey.lonely.psu``) and ``calibration`` (R's ``design$postStrata``).
    """

    data: pd.DataFrame = field(repr=False)
    weight: str | None = None
    strata: str | None = None
    psu: str | None = None
    fpc: str | None = None
    psu2: str | None = None
    fpc2: str | None = None
    repweights: str | None = None
    repmethod: str | None = None
    rho: float | None = None
    scale: float | None = None
    rscales: Any = None
    mse: bool = False
    singleton: str = "fail"
    calibration: tuple[Calibration, ...] = ()

    # cached (computed once in __post_init__)
    n: int = field(init=False, repr=False)
    w: np.ndarray = field(init=False, repr=False)
    is_replicate: bool = field(init=False, repr=False)
    stratum: np.ndarray = field(init=False, repr=False)
    stratum_levels: np.ndarray = field(init=False, repr=False)
    cluster: np.ndarray = field(init=False, repr=False)
    n_psu: np.ndarray = field(init=False, repr=False)
    f1: np.ndarray = field(init=False, repr=False)
    stage2: Any = field(init=False, repr=False)
    rep_w: np.ndarray | None = field(init=False, repr=False)
    rep_scale: float = field(init=False, repr=False)
    rep_rscales: np.ndarray | None = field(init=False, repr=False)
    rep_columns: tuple[str, ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        check_arguments(self)
        data = _data_frame(self.data)
        object.__setattr__(self, "data", data)
        object.__setattr__(self, "calibration", tuple(self.calibration or ()))
        n = len(data)
        object.__setattr__(self, "n", n)
        if self.singleton not in SINGLETON_RULES:
            raise DesignError(
                f"unknown singleton rule {self.singleton!r}", where="design singleton",
                fix=f"use one of {', '.join(SINGLETON_RULES)}")
        if n == 0:
            raise DesignError("the data have no rows", where="design", fix="pass a non-empty sample")

        # ---- weights
        if self.weight is None:
            w = np.ones(n)
        else:
            w = _as_float(_column(data, self.weight, "weight"), "weight", self.weight)
            bad = np.flatnonzero(~np.isfinite(w) | (w < 0))
            if len(bad):
                raise DesignError(
                    f"weight variable {self.weight!r} has missing, negative or infinite values "
                    f"on {len(bad)} row(s)",
                    where="design weight",
                    got=f"rows {_rows(bad)}: values {show_values(w[bad].tolist())}",
                    fix="weights must be finite and >= 0 (0 keeps a row out of every estimate)",
                )
        w.setflags(write=False)
        object.__setattr__(self, "w", w)

        is_rep = self.repweights is not None
        object.__setattr__(self, "is_replicate", is_rep)
        if is_rep and self.calibration:
            raise DesignError(
                f"a replicate design cannot take calibration= ({len(self.calibration)} "
                "calibration step(s) given); its variance comes from the replicate weights only",
                where="design calibration",
                fix="calibrate every replicate instead (sid.weighting.apply_chain_to_replicates, "
                    "or replicates: in a weighting spec), or use a Taylor design (strata/psu) "
                    "with calibration=")
        if is_rep:
            if any(v is not None for v in (self.strata, self.psu, self.fpc, self.psu2, self.fpc2)):
                raise DesignError(
                    "a replicate design cannot also have strata, psu or fpc",
                    where="design", fix="give either repweights or strata/psu/fpc, not both")
            self._init_replicate(data)
            for name in ("stratum", "stratum_levels", "cluster", "n_psu", "f1"):
                object.__setattr__(self, name, np.zeros(0))
            object.__setattr__(self, "stage2", None)
        else:
            if self.repmethod is not None:
                raise DesignError("repmethod given without repweights", where="design repmethod",
                                  fix="give repweights (a regular expression) too, or drop repmethod")
            self._init_taylor(data)
            object.__setattr__(self, "rep_w", None)
            object.__setattr__(self, "rep_scale", 1.0)
            object.__setattr__(self, "rep_rscales", None)
            object.__setattr__(self, "rep_columns", ())
        for cal in self.calibration:
            if isinstance(cal, GregCalibration) and cal.stage != 0:
                raise DesignError("calibration within clusters (stage > 0) is not supported",
                                  where="design calibration", got=f"stage {cal.stage}",
                                  fix="calibrate the whole sample (stage 0)")

    # ---------------------------------------------------------------- Taylor
    def _init_taylor(self, data: pd.DataFrame) -> None:
        n = self.n
        problems = []
        for role in ("strata", "psu", "fpc", "psu2", "fpc2"):
            name = getattr(self, role)
            if name is None:
                continue
            col = _column(data, name, role)
            miss = _missing_rows(col)
            if len(miss):
                problems.append(f"{role} {name!r} missing on rows {_rows(miss)}")
        if problems:
            raise DesignError("design variables have missing values: " + "; ".join(problems),
                              where="design", fix="fill in the design variables for every row")
        if self.psu2 is not None and self.psu is None:
            raise DesignError("psu2 given without psu", where="design psu2",
                              fix="give the first-stage clusters as psu")
        if self.psu2 is not None and self.fpc is not None and self.fpc2 is None:
            raise DesignError(
                "a two-stage design with fpc for the first stage only is ambiguous (R's "
                "svydesign refuses it)", where="design fpc2",
                fix="give fpc2 for the second stage, or drop psu2 (ultimate-cluster variance)")
        if self.fpc2 is not None and (self.fpc is None or self.psu2 is None):
            raise DesignError("fpc2 needs both fpc and psu2", where="design fpc2",
                              fix="give fpc for the first stage and psu2 for the second")

        if self.strata is None:
            stratum = np.zeros(n, dtype=np.int64)
            levels = np.array([1])
        else:
            stratum, levels = _codes(data[self.strata])
        if self.psu is None:
            cluster = np.arange(n, dtype=np.int64)  # each row its own PSU (R: ids=~1)
            cluster = _pair_codes(stratum, cluster)
        else:
            cluster = _pair_codes(stratum, data[self.psu])
        n_strata = len(levels)
        n_clusters = int(cluster.max()) + 1
        cl_stratum = np.empty(n_clusters, dtype=np.int64)
        cl_stratum[cluster] = stratum
        n_psu = np.bincount(cl_stratum, minlength=n_strata).astype(float)

        # fpc (R's as.fpc: all columns together are counts, or all fractions)
        fpcs = {}
        for role in ("fpc", "fpc2"):
            name = getattr(self, role)
            if name is not None:
                fpcs[role] = _as_float(data[name], role, name)
        if fpcs:
            allv = np.concatenate(list(fpcs.values()))
            is_count = bool(np.any(allv > 1))
            if is_count != bool(np.all(allv >= 1)):
                raise DesignError(
                    "fpc values mix population counts (> 1) and sampling fractions (< 1)",
                    where="design fpc", got=show_values(np.unique(allv)[:8].tolist()),
                    fix="give all fpc as population counts (>= 1) or all as fractions (<= 1)")
            if np.any(allv < 0):
                raise DesignError("fpc has negative values", where="design fpc",
                                  got=show_values(np.unique(allv[allv < 0]).tolist()),
                                  fix="fpc must be population counts or fractions in (0, 1]")
        else:
            is_count = True

        def popsize(values: np.ndarray, group: np.ndarray, k: int, sampsize: np.ndarray,
                    role: str, names: np.ndarray, unit: str) -> np.ndarray:
            per, top = _per_group(group, values, k)
            varies = np.flatnonzero(per != top)
            if len(varies):  # R warns ("fpc varies within strata"); a count is per stratum
                raise DesignError(
                    f"{role} {getattr(self, role)!r} is not constant within {len(varies)} "
                    f"{unit}(s)", where=f"design {role}",
                    got=f"{unit} {show_values(names[varies].tolist())}: from "
                        f"{show_values(per[varies].tolist())} to {show_values(top[varies].tolist())}",
                    fix=f"give every row of a {unit} the same population count (or fraction)")
            big_n = per if is_count else sampsize / per
            if np.any(big_n < sampsize):
                bad = np.flatnonzero(big_n < sampsize)
                raise DesignError(
                    f"{role} implies sampling more than 100% in {len(bad)} group(s)",
                    where=f"design {role}",
                    got=f"population {show_values(big_n[bad].tolist())} < sample "
                        f"{show_values(sampsize[bad].tolist())}",
                    fix=f"{role} must be the population count of units (or the sampling fraction)")
            return big_n

        if "fpc" in fpcs:
            pop1 = popsize(fpcs["fpc"], stratum, n_strata, n_psu, "fpc", levels, "stratum")
            with np.errstate(divide="ignore", invalid="ignore"):
                f1 = np.where(np.isinf(pop1), 1.0, (pop1 - n_psu) / pop1)
        else:
            pop1 = np.full(n_strata, np.inf)
            f1 = np.ones(n_strata)

        stage2 = None
        if self.psu2 is not None and "fpc2" in fpcs:
            ssu = _pair_codes(cluster, data[self.psu2])
            n_ssu = _count_unique_within(cluster, ssu, n_clusters).astype(float)
            pop2 = popsize(fpcs["fpc2"], cluster, n_clusters, n_ssu, "fpc2",
                           np.arange(1, n_clusters + 1), "PSU")
            with np.errstate(divide="ignore", invalid="ignore"):
                f2 = np.where(np.isinf(pop2), 1.0, (pop2 - n_ssu) / pop2)
            # R multiplies the stage-2 variance of PSU i by nPSU_h / popsize_h
            frac1 = (n_psu / pop1)[cl_stratum]
            stage2 = _Stage(unit=ssu, group=cluster, n_units=n_ssu, f=f2, mult=frac1)

        for name, value in (("stratum", stratum), ("stratum_levels", levels),
                            ("cluster", cluster), ("n_psu", n_psu), ("f1", f1)):
            if isinstance(value, np.ndarray):
                value.setflags(write=False)
            object.__setattr__(self, name, value)
        object.__setattr__(self, "stage2", stage2)

        lonely = np.flatnonzero((n_psu == 1) & (f1 >= 1e-7))
        if self.singleton == "fail" and len(lonely):
            raise DesignError(
                f"{len(lonely)} stratum/strata have only one PSU, so their variance cannot be "
                "estimated",
                where=f"design strata {self.strata!r}" if self.strata else "design",
                got=f"strata {show_values(levels[lonely].tolist())}",
                fix="choose singleton (--singleton) 'adjust' (centre at the grand mean), 'average' (average "
                    "of the other strata), 'remove' or 'certainty' (contribute 0), or merge strata; "
                    "'fail' is the default",
            )
        if stage2 is not None and self.singleton == "fail":
            lonely2 = np.flatnonzero((stage2.n_units == 1) & (stage2.f >= 1e-7))
            if len(lonely2):
                raise DesignError(
                    f"{len(lonely2)} PSU(s) have only one second-stage unit while the fpc2 says "
                    "there are more",
                    where=f"design psu2 {self.psu2!r}",
                    got=f"PSU codes (1-based) {show_values((lonely2 + 1).tolist())}",
                    fix="choose singleton= 'adjust', 'average', 'remove' or 'certainty', or "
                        "check fpc2",
                )

    # ---------------------------------------------------------------- replicate
    def _init_replicate(self, data: pd.DataFrame) -> None:
        assert self.repweights is not None  # only called for replicate designs
        try:
            pattern = re.compile(self.repweights)
        except re.error as exc:
            raise DesignError(f"repweights is not a valid regular expression: {exc}",
                              where="design repweights", got=repr(self.repweights),
                              fix="e.g. '^repw[0-9]+$'") from None
        cols = tuple(c for c in data.columns if pattern.search(str(c)))
        if not cols:
            raise DesignError("repweights matches no column", where="design repweights",
                              got=repr(self.repweights), fix="check the regular expression")
        method = (self.repmethod or "").lower()
        if method not in REP_METHODS:
            raise DesignError(f"unknown or missing repmethod {self.repmethod!r}",
                              where="design repmethod", fix=f"use one of {', '.join(REP_METHODS)}")
        rep = np.column_stack([_as_float(data[c], "repweights", c) for c in cols])
        bad = ~np.isfinite(rep)
        if bad.any():
            rows, cc = np.nonzero(bad)
            raise DesignError(
                "replicate weights have missing or infinite values",
                where="design repweights",
                got=f"rows {_rows(rows)} in {show_values(sorted({cols[i] for i in cc}))}",
                fix="replicate weights must be finite")
        k = rep.shape[1]
        if k < 2:
            raise DesignError(
                f"a replicate design needs at least 2 replicate weight columns; one column "
                f"gives no variance ({method}: scale {'1/(k-1)' if method == 'bootstrap' else 'of 0'})",
                where="design repweights", got=f"{repr(self.repweights)} matches {cols[0]!r} only",
                fix="select every replicate column with the regular expression, e.g. '^repw[0-9]+$'")
        rscales = rscales_array(self.rscales, k)
        scale = self.scale
        if method == "brr":
            scale = 1.0 / k
        elif method == "fay":
            if self.rho is None:
                raise DesignError("repmethod 'fay' needs rho", where="design rho",
                                  fix="give Fay's rho, e.g. 0.5")
            scale = 1.0 / (k * (1.0 - self.rho) ** 2)
        elif method == "bootstrap":
            if scale is None:
                scale = 1.0 / (k - 1)
        elif method == "jk1":
            if scale is None:
                scale = (k - 1) / k
        elif method == "jkn" and rscales is None:
            raise DesignError("repmethod 'jkn' needs rscales", where="design rscales",
                              fix="give rscales ((n_h - 1)/n_h per replicate), as R requires")
        if rscales is None:
            rscales = np.ones(k)
        if scale is None:
            scale = 1.0
        rep.setflags(write=False)
        rscales.setflags(write=False)
        object.__setattr__(self, "rep_w", rep)
        object.__setattr__(self, "rep_scale", float(scale))
        object.__setattr__(self, "rep_rscales", rscales)
        object.__setattr__(self, "rep_columns", cols)

    # ---------------------------------------------------------------- API
    @classmethod
    def from_mapping(cls, data: Any, spec: Mapping[str, Any]) -> Design:
        """Build a design from a plain mapping with the keys of ``Design(...)``."""
        check_spec(spec, _DESIGN_KEYS)
        return cls(data, **{str(k): v for k, v in spec.items()})

    @classmethod
    def from_codebook(cls, data: Any, codebook: Any, wave: str | int | None = None,
                      **overrides: Any) -> Design:
        """Take the design variables from a codebook, then apply ``overrides``.

        ``codebook`` is a :class:`sid.codebook.Codebook` (its waves' ``design``
        sections; ``wave`` picks one, else the first wave whose design columns
        are all in the data) or a plain mapping ``{"weight": ..., "strata": ...}``
        (optionally under a ``design`` key).
        """
        frame = _data_frame(data)
        spec: Any = None
        waves = getattr(codebook, "waves", None)
        if isinstance(codebook, Mapping):
            spec = codebook.get("design", codebook)
        elif isinstance(waves, Mapping):
            keys = [str(wave)] if wave is not None else list(waves)
            candidates = []
            for key in keys:
                if key not in waves:
                    raise DesignError(f"wave {key!r} is not in the codebook", where="codebook",
                                      got=show_values(list(waves)), fix="name a wave of the codebook")
                d = waves[key].design
                d = d.model_dump() if hasattr(d, "model_dump") else dict(d)
                d = {k: v for k, v in d.items() if k in _DESIGN_KEYS and v is not None}
                candidates.append(d)
                if all(v in frame.columns for v in d.values()):
                    spec = d
                    break
            if spec is None:
                raise DesignError(
                    "no wave of the codebook has its design variables in the data",
                    where="codebook design",
                    got=show_values([", ".join(c.values()) for c in candidates]),
                    fix="harmonise the wave first, or give --weight/--strata/--psu")
        if not isinstance(spec, Mapping) or not spec:
            raise DesignError("the codebook has no design section", where="codebook design",
                              fix="add design: {weight: ..., strata: ..., psu: ...}")
        merged = {k: v for k, v in dict(spec).items() if v is not None}
        merged.update({k: v for k, v in overrides.items() if v is not None})
        return cls.from_mapping(data, merged)

    def degf(self, member: np.ndarray | None = None) -> float:
        """R's ``degf``, within ``member`` rows when given: see :func:`design_df`."""
        return design_df(self, member)

    @property
    def n_strata(self) -> int:
        return len(self.stratum_levels)

    def describe(self) -> str:
        """One line saying what kind of design this is."""
        if self.is_replicate:
            return (f"replicate design ({self.repmethod}, {len(self.rep_columns)} replicates, "
                    f"scale {self.rep_scale:g}), n = {self.n}")
        parts = [f"{self.n_strata} strata" if self.strata else "no strata",
                 f"{int(self.cluster.max()) + 1} PSUs" if self.psu else "no clusters"]
        if self.stage2 is not None:
            parts.append("two-stage with fpc")
        elif self.fpc:
            parts.append("fpc")
        if self.calibration:
            parts.append(f"{len(self.calibration)} calibration step(s)")
        return "Taylor design: " + ", ".join(parts) + f", n = {self.n}"


@dataclass(frozen=True)
class _Stage:
    """Second-stage structure: SSU code per row, PSU (group) per row, per-PSU counts."""

    unit: np.ndarray
    group: np.ndarray
    n_units: np.ndarray
    f: np.ndarray
    mult: np.ndarray


def design_df(design: Design, member: np.ndarray | None = None) -> float:
    """The design degrees of freedom, as R's ``degf``: the one df rule.

    * Taylor designs: the number of PSUs minus the number of strata, counting
      only rows with a nonzero weight (R's ``degf(subset(design, ...))`` keeps
      the zero-weighted rows out).
    * Replicate designs: the rank of the replicate-weight matrix minus 1, with
      R's rank rule ``qr(weights(design, "analysis"), tol = 1e-5)$rank``
      (:func:`sid.linalg.qr_rank`).

    ``member`` (a boolean mask over the rows) restricts the count to a domain;
    NaN when a replicate domain has no rows. :func:`domain_df` gives the same
    for many domains at once.
    """
    keep = np.ones(design.n, dtype=bool) if member is None else np.asarray(member, dtype=bool)
    return float(domain_df(design, np.where(keep, 0, -1), 1)[0])


def domain_df(design: Design, dom: np.ndarray, d: int) -> np.ndarray:
    """:func:`design_df` of each of ``d`` domains: ``dom`` gives each row's domain
    (0..d-1, -1 for rows in none). Taylor designs count PSUs and strata of all
    domains in one pass (a presence table, no sort)."""
    dom = np.asarray(dom, dtype=np.int64)
    if design.is_replicate:
        assert design.rep_w is not None
        out = np.full(d, np.nan)
        for j in range(d):
            rep = design.rep_w[dom == j]
            if rep.shape[0]:
                out[j] = qr_rank(rep, R_DEGF_TOL).rank - 1
        return out
    inset = (dom >= 0) & (design.w != 0)
    dd = dom[inset]

    def distinct(codes: np.ndarray, k: int) -> np.ndarray:
        key = dd * k + codes
        if d * k <= 50_000_000:
            seen = np.flatnonzero(np.bincount(key, minlength=d * k)) // k
        else:
            seen = np.unique(key) // k
        return np.bincount(seen, minlength=d)

    n_cl = int(design.cluster.max()) + 1
    return (distinct(design.cluster[inset], n_cl)
            - distinct(design.stratum[inset], design.n_strata)).astype(float)


def design_spec(design: Design) -> dict[str, Any]:
    """The ``Design(...)`` keys of a design as a plain dict (for YAML or reports)."""
    return {k: getattr(design, k) for k in _DESIGN_KEYS if getattr(design, k) is not None}


def ensure_sequence(value: Any) -> list[Any]:
    """``None`` -> [], a string -> [string], a sequence -> list."""
    if value is None:
        return []
    if isinstance(value, str) or not isinstance(value, Sequence):
        return [value]
    return list(value)
