"""Wave metadata and the immutable Wave: labels, value labels, missing codes, formats.

:class:`MissingSpec` holds a variable's user-missing codes (SPSS discrete
values and ranges, Stata ``.a``-``.z`` letters), :class:`VariableMeta` what a
file says about one variable, :class:`WaveMeta` a file's variables and facts
(format, encoding, hash), :class:`Wave` the codes plus that metadata.
:func:`make_wave` builds a wave from a frame and plain dicts.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

from sid.errors import InputError, show_values

__all__ = ["FORMATS", "STATA_LETTERS", "WRITABLE", "WRITABLE_SUFFIXES", "MissingSpec", "VariableMeta", "Wave", "WaveMeta",
           "make_wave"]

FORMATS = {".sav": "sav", ".zsav": "zsav", ".por": "por", ".dta": "dta"}
WRITABLE = ("sav", "zsav", "dta")
WRITABLE_SUFFIXES = tuple(s for s, f in FORMATS.items() if f in WRITABLE)
"""The suffixes of the formats sid writes (``.sav``, ``.zsav``, ``.dta``)."""
STATA_LETTERS = tuple("abcdefghijklmnopqrstuvwxyz")


# --------------------------------------------------------------------------- metadata


@dataclass(frozen=True)
class MissingSpec:
    """User-missing codes of one variable.

    ``values`` are discrete codes (numbers or strings), ``ranges`` closed
    intervals ``(lo, hi)`` (SPSS), ``extended`` the Stata letters declared
    missing (``"a"`` for ``.a``).
    """

    values: tuple[Any, ...] = ()
    ranges: tuple[tuple[Any, Any], ...] = ()
    extended: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.values or self.ranges or self.extended)

    def codes_mask(self, series: pd.Series) -> np.ndarray:
        """True where the series holds a declared user-missing code."""
        mask = np.zeros(len(series), dtype=bool)
        if self.values:
            mask |= series.isin(list(self.values)).to_numpy()
        if self.ranges:
            if pd.api.types.is_numeric_dtype(series):
                arr = series.to_numpy(dtype=float, na_value=np.nan)
                for lo, hi in self.ranges:
                    mask |= (arr >= lo) & (arr <= hi)
            else:
                arr = series.astype(object)
                for lo, hi in self.ranges:
                    mask |= np.array([isinstance(v, str) and lo <= v <= hi for v in arr], dtype=np.bool_)
        return mask

    def describe(self) -> str:
        """The codes as one line, e.g. ``7, 8; 97 thru 99; .a``."""
        parts = [show_values(self.values)] if self.values else []
        parts += [f"{show_values([lo])} thru {show_values([hi])}" for lo, hi in self.ranges]
        parts += [f".{c}" for c in self.extended]
        return "; ".join(parts)


@dataclass(frozen=True)
class VariableMeta:
    """Everything the file says about one variable."""

    name: str
    label: str | None = None
    value_labels: Mapping[Any, str] = field(default_factory=lambda: MappingProxyType({}))
    missing: MissingSpec = field(default_factory=MissingSpec)
    kind: str = "numeric"  # numeric | string | date | datetime | time
    format: str | None = None
    measure: str | None = None
    display_width: int | None = None
    storage: str | None = None  # readstat storage type (double, int8, string...)


@dataclass(frozen=True)
class WaveMeta:
    """Metadata of a wave file: per-variable metadata plus file-level facts."""

    path: str | None
    file_format: str
    encoding: str | None
    n_rows: int | None
    variables: tuple[VariableMeta, ...]
    file_label: str | None = None
    sha256: str | None = None
    mr_sets: Mapping[str, Mapping[str, Any]] = field(default_factory=lambda: MappingProxyType({}))
    notes: tuple[str, ...] = ()

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(v.name for v in self.variables)

    def variable(self, name: str) -> VariableMeta:
        """The metadata of one variable (KeyError naming the file if absent)."""
        for v in self.variables:
            if v.name == name:
                return v
        raise KeyError(f"variable {name!r} is not in {self.path or 'this wave'}")

    @property
    def labels(self) -> dict[str, str | None]:
        return {v.name: v.label for v in self.variables}

    @property
    def value_labels(self) -> dict[str, Mapping[Any, str]]:
        return {v.name: v.value_labels for v in self.variables if v.value_labels}

    @property
    def missing(self) -> dict[str, MissingSpec]:
        return {v.name: v.missing for v in self.variables if v.missing}


@dataclass(frozen=True)
class Wave:
    """A survey wave: codes in ``data``, everything else in ``meta``.

    ``data`` holds the numeric codes (never label strings). User-missing codes
    stay in ``data`` and are marked by ``meta``; Stata extended missing values
    are NaN in ``data`` and their letters are in ``extended_missing``
    (variable -> Series of letters, indexed like ``data``, only the rows that
    have one). Treat the object as immutable: derive new waves with
    :meth:`replace_data` or :func:`dataclasses.replace`.
    """

    data: pd.DataFrame
    meta: WaveMeta
    extended_missing: Mapping[str, pd.Series] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(self.data.columns)

    def user_missing_mask(self, name: str) -> np.ndarray:
        """True where ``name`` holds a user-missing code (SPSS code or Stata letter)."""
        col = self.data[name]
        mask = self.meta.variable(name).missing.codes_mask(col)
        ext = self.extended_missing.get(name)
        if ext is not None and len(ext):
            mask |= self.data.index.isin(ext.index)
        return mask

    def system_missing_mask(self, name: str) -> np.ndarray:
        """True where ``name`` is system-missing (empty, not a declared code)."""
        return self.data[name].isna().to_numpy() & ~self.user_missing_mask(name)

    def missing_mask(self, name: str) -> np.ndarray:
        """True where ``name`` is missing of any kind."""
        return self.data[name].isna().to_numpy() | self.user_missing_mask(name)

    def labelled(self, name: str) -> pd.Series:
        """The variable with value labels applied (for display only)."""
        labels = dict(self.meta.variable(name).value_labels)
        return self.data[name].map(lambda v: labels.get(v, v))

    def replace_data(self, data: pd.DataFrame) -> Wave:
        """A new wave with other data (same columns) and this wave's metadata."""
        # the path stays: write_wave refuses to write a derived wave over its source file
        meta = replace(self.meta, n_rows=len(data), sha256=None)
        return Wave(data=data, meta=meta, extended_missing=self.extended_missing)


def make_wave(
    data: pd.DataFrame,
    *,
    labels: Mapping[str, str | None] | None = None,
    value_labels: Mapping[str, Mapping[Any, str]] | None = None,
    missing: Mapping[str, MissingSpec | Sequence[Any]] | None = None,
    measure: Mapping[str, str] | None = None,
    formats: Mapping[str, str] | None = None,
    extended_missing: Mapping[str, pd.Series] | None = None,
    file_label: str | None = None,
    file_format: str = "sav",
) -> Wave:
    """Build a :class:`Wave` from a frame and plain dicts (e.g. for synthetic data).

    ``missing`` maps a variable to a :class:`MissingSpec` or to a list of
    discrete codes. Integer and boolean columns are stored as float64.
    """
    labels = labels or {}
    value_labels = value_labels or {}
    missing = missing or {}
    measure = measure or {}
    formats = formats or {}
    unknown = sorted(
        (set(labels) | set(value_labels) | set(missing) | set(measure) | set(formats))
        - set(data.columns)
    )
    if unknown:
        raise InputError(
            "metadata names variables that are not in the data",
            got=show_values(unknown),
            fix="name only columns of the frame",
        )
    data = normalise_numeric(data.copy())
    variables = []
    for name in data.columns:
        spec = missing.get(name, MissingSpec())
        if not isinstance(spec, MissingSpec):
            spec = MissingSpec(values=tuple(spec))
        kind = kind_of(data[name])
        variables.append(
            VariableMeta(
                name=name,
                label=labels.get(name),
                value_labels=MappingProxyType(dict(value_labels.get(name, {}))),
                missing=spec,
                kind=kind,
                format=formats.get(name),
                measure=measure.get(name),
                storage="string" if kind == "string" else "double",
            )
        )
    meta = WaveMeta(
        path=None,
        file_format=file_format,
        encoding="UTF-8",
        n_rows=len(data),
        variables=tuple(variables),
        file_label=file_label,
    )
    ext = MappingProxyType({k: v for k, v in (extended_missing or {}).items() if len(v)})
    return Wave(data=data, meta=meta, extended_missing=ext)


def kind_of(series: pd.Series, fmt: str | None = None) -> str:
    """The kind of a column: numeric, string, date, datetime or time (``fmt``: its file format)."""
    if pd.api.types.is_datetime64_any_dtype(series):
        return "datetime"
    if pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series):
        return "numeric"
    sample = series.dropna()
    if len(sample):
        first = sample.iloc[0]
        if isinstance(first, _dt.datetime):
            return "datetime"
        if isinstance(first, _dt.date):
            return "date"
        if isinstance(first, _dt.time):
            return "time"
        if isinstance(first, (int, float, np.number)) and not isinstance(first, bool):
            return "numeric"
    elif fmt and fmt.upper().startswith(("F", "N", "E", "%9", "%1", "%8")):
        return "numeric"
    return "string"


def normalise_numeric(data: pd.DataFrame) -> pd.DataFrame:
    """Integer and boolean columns as float64, in place (SPSS stores doubles)."""
    for name in data.columns:
        col = data[name]
        numeric = pd.api.types.is_bool_dtype(col) or pd.api.types.is_numeric_dtype(col)
        if numeric and col.dtype != np.float64:
            data[name] = col.astype("float64")
    return data
