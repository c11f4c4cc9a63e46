"""Read and write SPSS/Stata survey waves without losing a label or a missing code.

Wraps pyreadstat (the ecosystem's reader/writer for ``.sav``, ``.zsav``,
``.por`` and ``.dta``) and adds what it lacks for survey work:

* an immutable :class:`Wave` whose metadata (labels, value labels,
  user-missing codes, formats, measure, file hash) travels with the data;
* user-missing codes kept as their codes and marked missing: SPSS discrete
  values and ranges in :class:`MissingSpec`, Stata ``.a``-``.z`` kept as letters
  in :attr:`Wave.extended_missing` (the numeric column holds NaN there);
* :func:`write_wave` takes the metadata back in one call (pyreadstat's writers
  do not take its own metadata object), writes atomically, reads the file back
  and refuses, naming variables, if anything was lost.

Numeric columns are always float64 (SPSS stores doubles; Stata integers are
widened), so a write/read round trip reproduces the data exactly.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import hashlib
import os
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

from sid.errors import InputError, LossError, show_values

FORMATS = {".sav": "sav", ".zsav": "zsav", ".por": "por", ".dta": "dta"}
WRITABLE = ("sav", "zsav", "dta")
STATA_LETTERS = tuple("abcdefghijklmnopqrstuvwxyz")
_NUMERIC_READSTAT = {"double", "float", "int8", "int16", "int32", "int64"}


# --------------------------------------------------------------------------- metadata


@dataclass(frozen=True)
class MissingSpec:
    """User-missing codes of one variable.

    ``values`` are discrete codes (numbers or strings), ``ranges`` closed
    intervals ``(lo, hi)`` (SPSS), ``extended`` the Stata letters declared
    missing (``"a"`` for ``.a``).
    """

    values: tuple[Any, ...] = ()
    ranges: tuple[tuple[float, float], ...] = ()
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
                    mask |= np.array([isinstance(v, str) and lo <= v <= hi for v in arr], dtype=bool)
        return mask

    def describe(self) -> str:
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
        meta = replace(self.meta, n_rows=len(data), sha256=None, path=None)
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
    data = _normalise_numeric(data.copy())
    variables = []
    for name in data.columns:
        spec = missing.get(name, MissingSpec())
        if not isinstance(spec, MissingSpec):
            spec = MissingSpec(values=tuple(spec))
        kind = _kind_of(data[name])
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


# --------------------------------------------------------------------------- reading


def file_sha256(path: str | os.PathLike[str]) -> str:
    """The sha256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def format_of(path: str | os.PathLike[str]) -> str:
    """The wave format (sav, zsav, por, dta) from a file name, or a clear error."""
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        raise InputError(
            f"unknown file type {suffix or '(no extension)'!r}",
            where=str(path),
            fix="give an SPSS (.sav, .zsav, .por) or Stata (.dta) file",
        )
    return FORMATS[suffix]


def _check_readable(path: Path) -> None:
    if not path.exists():
        raise InputError("file not found", where=str(path), fix="check the path and the working directory")
    if path.is_dir():
        raise InputError("is a folder, not a file", where=str(path), fix="name a .sav, .zsav, .por or .dta file")
    if path.stat().st_size == 0:
        raise InputError("file is empty", where=str(path), fix="re-export the file from the program that made it")


def _call_reader(path: Path, fmt: str, **kwargs: Any) -> tuple[pd.DataFrame, Any]:
    import pyreadstat

    readers = {"sav": pyreadstat.read_sav, "zsav": pyreadstat.read_sav,
               "por": pyreadstat.read_por, "dta": pyreadstat.read_dta}
    if fmt == "por":
        kwargs.pop("user_missing", None)
    try:
        return readers[fmt](str(path), **kwargs)
    except UnicodeDecodeError as exc:
        raise InputError(
            f"text is not in the expected encoding ({exc.reason})",
            where=str(path),
            fix="pass the file's encoding, e.g. --encoding windows-1252 (or encoding='latin1')",
        ) from None
    except pyreadstat.ReadstatError as exc:
        msg = str(exc)
        if any(w in msg.lower() for w in ("encoding", "iconv", "convert", "character set")):
            fix = "pass the file's encoding, e.g. --encoding windows-1252"
        else:
            fix = f"re-export the file as {fmt} from the program that made it; it may be truncated or not a {fmt} file"
        raise InputError(f"cannot read the file: {msg}", where=str(path), fix=fix) from None
    except (ValueError, LookupError) as exc:
        if "encoding" in str(exc).lower():
            raise InputError(
                f"unknown or wrong encoding: {exc}",
                where=str(path),
                fix="use an encoding name Python knows, e.g. utf-8, windows-1252, latin1",
            ) from None
        raise InputError(f"cannot read the file: {exc}", where=str(path),
                         fix="check that the file is a valid survey file") from None
    except (OverflowError, OSError, RuntimeError) as exc:
        raise InputError(
            f"cannot read the file: {type(exc).__name__}: {exc}",
            where=str(path),
            fix="re-export the file from the program that made it; it may be damaged",
        ) from None


def _missing_from_pyreadstat(name: str, meta: Any) -> MissingSpec:
    values: list[Any] = []
    ranges: list[tuple[Any, Any]] = []
    for item in (meta.missing_ranges or {}).get(name, []):
        lo, hi = item["lo"], item["hi"]
        if lo == hi:
            values.append(lo)
        else:
            ranges.append((lo, hi))
    extended = tuple(sorted((meta.missing_user_values or {}).get(name, [])))
    if extended and not all(isinstance(c, str) for c in extended):
        # SPSS lists discrete user-missing values here in some pyreadstat versions.
        values += [c for c in extended if c not in values]
        extended = ()
    return MissingSpec(values=tuple(values), ranges=tuple(ranges), extended=extended)


def _kind_of(series: pd.Series, fmt: str | None = None) -> str:
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


def _normalise_numeric(data: pd.DataFrame) -> pd.DataFrame:
    for name in data.columns:
        col = data[name]
        numeric = pd.api.types.is_bool_dtype(col) or pd.api.types.is_numeric_dtype(col)
        if numeric and col.dtype != np.float64:
            data[name] = col.astype("float64")
    return data


def _split_extended(data: pd.DataFrame, meta: Any) -> dict[str, pd.Series]:
    """Move Stata .a-.z letters out of numeric columns into their own Series."""
    extended: dict[str, pd.Series] = {}
    storage = meta.readstat_variable_types or {}
    for name in data.columns:
        if storage.get(name) not in _NUMERIC_READSTAT:
            continue
        col = data[name]
        if pd.api.types.is_numeric_dtype(col) or pd.api.types.is_datetime64_any_dtype(col):
            continue
        is_letter = col.map(lambda v: isinstance(v, str)).to_numpy(dtype=bool)
        if not is_letter.any():
            continue
        extended[name] = col[is_letter].astype(object).str.lower().astype(object)
        rest = col.astype(object).where(~is_letter, None)
        valid = rest.dropna()
        if valid.map(lambda v: isinstance(v, (int, float, np.number))).all():
            data[name] = pd.to_numeric(rest, errors="coerce").astype("float64")
        else:  # dates or times with extended missing values: keep the objects
            data[name] = rest
    return extended


def _build_meta(path: Path, fmt: str, meta: Any, digest: str | None, data: pd.DataFrame | None) -> WaveMeta:
    names = list(meta.column_names)
    labels = dict(zip(names, meta.column_labels or [None] * len(names), strict=False))
    vvl = meta.variable_value_labels or {}
    formats = meta.original_variable_types or {}
    storage = meta.readstat_variable_types or {}
    measure = meta.variable_measure or {}
    widths = meta.variable_display_width or {}
    variables = []
    for name in names:
        if data is not None and name in data.columns:
            kind = _kind_of(data[name], formats.get(name))
        else:
            kind = "string" if storage.get(name) == "string" else "numeric"
        if storage.get(name) in _NUMERIC_READSTAT and kind == "string":
            kind = "numeric"  # an all-missing numeric column
        value_labels = {}
        for code, label in vvl.get(name, {}).items():
            if kind == "numeric" and not isinstance(code, str):
                code = float(code)
            value_labels[code] = label
        variables.append(
            VariableMeta(
                name=name,
                label=labels.get(name) or None,
                value_labels=MappingProxyType(value_labels),
                missing=_missing_from_pyreadstat(name, meta),
                kind=kind,
                format=formats.get(name),
                measure=None if measure.get(name) in (None, "unknown") else measure.get(name),
                display_width=widths.get(name) or None,
                storage=storage.get(name),
            )
        )
    n_rows = meta.number_rows if meta.number_rows is not None and meta.number_rows >= 0 else None
    if data is not None:
        n_rows = len(data)
    mr_sets = {k: MappingProxyType(dict(v)) for k, v in (getattr(meta, "mr_sets", None) or {}).items()}
    notes = meta.notes if isinstance(getattr(meta, "notes", None), list) else []
    return WaveMeta(
        path=str(path),
        file_format=fmt,
        encoding=meta.file_encoding,
        n_rows=n_rows,
        variables=tuple(variables),
        file_label=meta.file_label or None,
        sha256=digest,
        mr_sets=MappingProxyType(mr_sets),
        notes=tuple(notes),
    )


def scan_wave(path: str | os.PathLike[str], *, encoding: str | None = None) -> WaveMeta:
    """Metadata of a wave file without loading its data."""
    path = Path(path)
    fmt = format_of(path)
    _check_readable(path)
    kwargs: dict[str, Any] = {"metadataonly": True, "user_missing": True}
    if encoding:
        kwargs["encoding"] = encoding
    _, meta = _call_reader(path, fmt, **kwargs)
    return _build_meta(path, fmt, meta, file_sha256(path), None)


def read_wave(
    path: str | os.PathLike[str],
    *,
    columns: Sequence[str] | None = None,
    encoding: str | None = None,
) -> Wave:
    """Read a ``.sav``, ``.zsav``, ``.por`` or ``.dta`` file with labels and missing codes intact.

    User-missing codes stay in the data and are declared in
    ``wave.meta.variable(name).missing``; Stata ``.a``-``.z`` are in
    ``wave.extended_missing``. The file is only read, never changed.
    """
    path = Path(path)
    fmt = format_of(path)
    _check_readable(path)
    kwargs: dict[str, Any] = {"user_missing": True}
    if encoding:
        kwargs["encoding"] = encoding
    if columns is not None:
        columns = list(columns)
        _, header = _call_reader(path, fmt, **kwargs, metadataonly=True)  # names only: no hash
        absent = [c for c in columns if c not in header.column_names]
        if absent:
            raise InputError(
                "columns not in the file",
                where=str(path),
                got=show_values(absent),
                fix=f"choose from: {show_values(header.column_names, 12)}",
            )
        kwargs["usecols"] = columns
    data, meta = _call_reader(path, fmt, **kwargs)
    extended = _split_extended(data, meta) if fmt == "dta" else {}
    data = _normalise_numeric(data)
    wave_meta = _build_meta(path, fmt, meta, file_sha256(path), data)
    if columns is not None:
        keep = set(columns)
        wave_meta = replace(wave_meta, variables=tuple(v for v in wave_meta.variables if v.name in keep))
    return Wave(data=data, meta=wave_meta, extended_missing=MappingProxyType(extended))


# --------------------------------------------------------------------------- writing


def to_stata_missing(wave: Wave) -> Wave:
    """Turn SPSS-style user-missing codes into Stata extended missing values.

    Stata has no user-missing numeric codes, so codes are mapped in ascending
    order to ``.a``, ``.b``, ... per variable; their value labels move with
    them. The mapping is deterministic, so a reader can undo it from labels.
    """
    data = wave.data.copy()
    extended = dict(wave.extended_missing)
    variables = []
    for var in wave.meta.variables:
        spec = var.missing
        if var.kind != "numeric" or not (spec.values or spec.ranges):
            variables.append(var)
            continue
        col = data[var.name]
        mask = spec.codes_mask(col)
        codes = sorted(set(col[mask].tolist()) | {v for v in spec.values if not isinstance(v, str)})
        used = set(extended.get(var.name, pd.Series(dtype=object)).tolist()) | set(spec.extended)
        free = [c for c in STATA_LETTERS if c not in used]
        if len(codes) > len(free):
            raise LossError(
                "too many distinct missing codes for Stata's .a-.z",
                where=var.name,
                got=show_values(codes),
                fix="collapse missing codes in the codebook before writing .dta",
            )
        letter_of = dict(zip(codes, free, strict=False))
        letters = col[mask].map(letter_of).astype(object)
        merged = pd.concat([extended.get(var.name, pd.Series(dtype=object)), letters])
        if len(merged):
            extended[var.name] = merged
        data[var.name] = col.where(~mask, np.nan)
        labels = {}
        for code, label in var.value_labels.items():
            labels[letter_of.get(code, code)] = label
        # Every .a-.z is missing in Stata; a file records only the letters in use.
        variables.append(
            replace(
                var,
                value_labels=MappingProxyType(labels),
                missing=MissingSpec(extended=tuple(sorted(set(merged.tolist())))),
            )
        )
    meta = replace(wave.meta, variables=tuple(variables))
    return Wave(data=data, meta=meta, extended_missing=MappingProxyType(extended))


def _check_writable(wave: Wave, fmt: str, path: Path) -> None:
    problems: list[str] = []
    if set(wave.meta.columns) != set(wave.data.columns):
        raise LossError(
            "metadata and data name different variables",
            where=str(path),
            got=show_values(sorted(set(wave.meta.columns) ^ set(wave.data.columns))),
            fix="build the wave with make_wave() or replace_data() so metadata matches the columns",
        )
    for var in wave.meta.variables:
        spec = var.missing
        if fmt in ("sav", "zsav"):
            if spec.extended or var.name in wave.extended_missing:
                problems.append(f"{var.name}: Stata extended missing values have no SPSS equivalent")
            n_values, n_ranges = len(spec.values), len(spec.ranges)
            if var.kind == "string" and n_ranges:
                problems.append(f"{var.name}: SPSS string variables take discrete missing values only")
            if n_ranges > 1 or n_values > 3 or (n_ranges == 1 and n_values > 1):
                problems.append(
                    f"{var.name}: SPSS allows 3 discrete missing codes or 1 range plus 1 code, "
                    f"got {spec.describe()}"
                )
        else:
            if spec.values or spec.ranges:
                problems.append(
                    f"{var.name}: user-missing codes {spec.describe()} cannot be stored in Stata "
                    "(call sid.io.to_stata_missing(wave) to map them to .a-.z)"
                )
            if var.kind == "numeric":
                odd = [c for c in var.value_labels if not isinstance(c, str)
                       and (not float(c).is_integer() or abs(c) > 2_147_483_620)]
                if odd:
                    problems.append(f"{var.name}: Stata labels integer codes only, not {show_values(odd)}")
            elif var.value_labels:
                problems.append(f"{var.name}: Stata cannot label values of a string variable")
            if len(var.name) > 32:
                problems.append(f"{var.name}: Stata names are at most 32 characters")
    if problems:
        raise LossError(
            f"writing {fmt} would lose information in {len(problems)} variable(s): " + "; ".join(problems),
            where=str(path),
            fix="adapt the wave as said, or write .sav",
        )


def _frame_for_writer(wave: Wave, fmt: str) -> pd.DataFrame:
    data = wave.data.copy()
    for name in data.columns:
        col = data[name]
        if pd.api.types.is_string_dtype(col) and not pd.api.types.is_object_dtype(col):
            data[name] = col.astype(object).where(col.notna(), None)
    if fmt == "dta":
        for var in wave.meta.variables:
            # pyreadstat takes letter labels (.a-.z) only on an object column
            if var.kind == "numeric" and any(isinstance(k, str) for k in var.value_labels):
                data[var.name] = data[var.name].astype(object)
        for name, letters in wave.extended_missing.items():
            col = data[name].astype(object)
            col.loc[letters.index] = letters.to_numpy()
            data[name] = col
    return data


def _writer_kwargs(wave: Wave, fmt: str) -> dict[str, Any]:
    meta = wave.meta
    kwargs: dict[str, Any] = {
        "file_label": meta.file_label or "",
        "column_labels": {v.name: v.label for v in meta.variables},
        "variable_value_labels": {v.name: dict(v.value_labels) for v in meta.variables if v.value_labels},
    }
    if fmt in ("sav", "zsav"):
        missing = {}
        for v in meta.variables:
            if v.missing.values or v.missing.ranges:
                missing[v.name] = list(v.missing.values) + [
                    {"lo": lo, "hi": hi} for lo, hi in v.missing.ranges
                ]
        kwargs["missing_ranges"] = missing
        kwargs["variable_measure"] = {v.name: v.measure for v in meta.variables if v.measure}
        kwargs["variable_display_width"] = {
            v.name: v.display_width for v in meta.variables if v.display_width
        }
        formats = {v.name: v.format for v in meta.variables
                   if v.format and v.kind == "numeric" and v.format[:1].upper() in ("F", "N")}
        kwargs["variable_format"] = formats
        kwargs["compress"] = fmt == "zsav"
    else:
        declared = {}
        for v in meta.variables:
            letters = set(wave.extended_missing.get(v.name, pd.Series(dtype=object)).tolist())
            if v.kind == "numeric":
                letters |= {k for k in v.value_labels if isinstance(k, str)}
            if letters:
                declared[v.name] = sorted(letters)
        kwargs["missing_user_values"] = declared
        kwargs["variable_format"] = {v.name: v.format for v in meta.variables
                                     if v.format and v.format.startswith("%") and v.kind == "numeric"}
    return kwargs


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success rename it into place.

    A failure (an exception in the block) leaves no output and no temporary
    file behind, and an existing file at ``path`` untouched. The file gets
    the usual permissions (0666 less the umask), not mkstemp's 0600.
    """
    path = Path(path)
    if not path.parent.exists():
        raise InputError("output folder does not exist", where=str(path.parent), fix="create it first")
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=f".tmp{path.suffix}", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_text_atomic(path: str | os.PathLike[str], text: str) -> None:
    """Write a UTF-8 text file atomically."""
    with atomic_output(path) as tmp:
        tmp.write_text(text, encoding="utf-8", newline="")


def _comparable_objects(series: pd.Series, trailing_blanks: bool) -> pd.Series:
    """Strings (and dates) as comparable objects: missing as "", optionally right-stripped."""
    values = series.astype(object).where(series.notna(), "")
    if not trailing_blanks:
        is_text = values.map(type).eq(str)
        if is_text.any():
            values = values.where(~is_text, values[is_text].str.rstrip(" "))
    return values.reset_index(drop=True)


def compare_waves(expected: Wave, actual: Wave, *, trailing_blanks: bool = True) -> list[str]:
    """Differences between two waves in data and metadata, one line each (empty when equal).

    With ``trailing_blanks=False`` trailing spaces in strings are not
    significant (SPSS pads strings with blanks and cannot keep them).
    """
    diffs: list[str] = []
    exp_cols, act_cols = list(expected.data.columns), list(actual.data.columns)
    if exp_cols != act_cols:
        diffs.append(f"columns differ: {show_values(exp_cols)} vs {show_values(act_cols)}")
        return diffs
    if len(expected.data) != len(actual.data):
        diffs.append(f"row count {len(expected.data)} vs {len(actual.data)}")
        return diffs
    for name in exp_cols:
        e, a = expected.data[name], actual.data[name]
        if pd.api.types.is_numeric_dtype(e) and pd.api.types.is_numeric_dtype(a):
            ev, av = e.to_numpy(dtype=float), a.to_numpy(dtype=float)
            bad = ~((ev == av) | (np.isnan(ev) & np.isnan(av)))
        else:
            ev, av = _comparable_objects(e, trailing_blanks), _comparable_objects(a, trailing_blanks)
            bad = ~(ev == av).to_numpy(dtype=bool)
        if bad.any():
            rows = np.flatnonzero(bad)[:3]
            diffs.append(
                f"{name}: {int(bad.sum())} value(s) changed, e.g. row {rows[0]}: "
                f"{e.iloc[rows[0]]!r} -> {a.iloc[rows[0]]!r}"
            )
    for ev_meta, av_meta in zip(expected.meta.variables, actual.meta.variables, strict=True):
        name = ev_meta.name
        if (ev_meta.label or None) != (av_meta.label or None):
            diffs.append(f"{name}: label {ev_meta.label!r} -> {av_meta.label!r}")
        if dict(ev_meta.value_labels) != dict(av_meta.value_labels):
            lost = {k: v for k, v in ev_meta.value_labels.items() if av_meta.value_labels.get(k) != v}
            diffs.append(f"{name}: value labels changed or lost: {lost or dict(av_meta.value_labels)}")
        if ev_meta.missing != av_meta.missing:
            diffs.append(
                f"{name}: missing codes {ev_meta.missing.describe() or 'none'} -> "
                f"{av_meta.missing.describe() or 'none'}"
            )
        e_ext = expected.extended_missing.get(name, pd.Series(dtype=object))
        a_ext = actual.extended_missing.get(name, pd.Series(dtype=object))
        if sorted(zip(e_ext.index, e_ext.tolist(), strict=True)) != sorted(
            zip(a_ext.index, a_ext.tolist(), strict=True)
        ):
            diffs.append(f"{name}: Stata extended missing values changed")
    if (expected.meta.file_label or None) != (actual.meta.file_label or None):
        diffs.append(f"file label {expected.meta.file_label!r} -> {actual.meta.file_label!r}")
    if expected.meta.mr_sets and dict(expected.meta.mr_sets) != dict(actual.meta.mr_sets):
        diffs.append(
            f"multiple-response sets {show_values(sorted(expected.meta.mr_sets))} are not stored by the writer"
        )
    return diffs


def write_wave(
    wave: Wave,
    path: str | os.PathLike[str],
    *,
    allow_loss: Iterable[str] = (),
) -> WaveMeta:
    """Write ``wave`` to ``.sav``, ``.zsav`` or ``.dta`` with all labels and missing codes.

    The file is written to a temporary name in the target folder, read back,
    and compared with ``wave``; only when nothing was lost is it renamed into
    place. Otherwise :class:`~sid.errors.LossError` names the variables and
    what was lost, and no output file is left. ``allow_loss`` may contain
    ``"mr_sets"`` to accept that multiple-response set definitions (which
    pyreadstat cannot write) are dropped. Trailing blanks in strings are not
    significant in SPSS files (SPSS pads strings). Returns the metadata of the
    file as written (with its sha256).
    """
    path = Path(path)
    fmt = format_of(path)
    if fmt not in WRITABLE:
        raise InputError(f"cannot write {fmt} files", where=str(path), fix="write .sav, .zsav or .dta")
    if wave.meta.path and path.exists() and os.path.samefile(path, wave.meta.path):
        raise InputError(
            "refusing to overwrite the file this wave was read from",
            where=str(path),
            fix="write to a new file name; input files are never modified",
        )
    allow = set(allow_loss)
    _check_writable(wave, fmt, path)
    import pyreadstat

    writer = pyreadstat.write_dta if fmt == "dta" else pyreadstat.write_sav
    frame = _frame_for_writer(wave, fmt)
    kwargs = _writer_kwargs(wave, fmt)
    with atomic_output(path) as tmp:
        try:
            writer(frame, str(tmp), **kwargs)
        except Exception as exc:  # pyreadstat raises several types
            raise LossError(
                f"the {fmt} writer refused the data: {exc}",
                where=str(path),
                fix="check variable names, string lengths and label codes",
            ) from None
        back = read_wave(tmp)
        expected = wave
        if "mr_sets" in allow:
            expected = Wave(wave.data, replace(wave.meta, mr_sets=MappingProxyType({})), wave.extended_missing)
        diffs = compare_waves(expected, back, trailing_blanks=fmt == "dta")
        if diffs:
            raise LossError(
                f"read-back after writing differs in {len(diffs)} place(s): " + "; ".join(diffs[:10]),
                where=str(path),
                fix="adapt the wave (or write .sav, which keeps most); nothing was written",
            )
    return replace(back.meta, path=str(path), sha256=file_sha256(path))


def read_table(path: str | os.PathLike[str], *, encoding: str | None = None) -> Wave:
    """Read a wave file, or a ``.csv`` as a wave without labels (for ``sid estimate``)."""
    path = Path(path)
    if path.suffix.lower() == ".csv":
        _check_readable(path)
        try:
            data = pd.read_csv(path, encoding=encoding or "utf-8")
        except (UnicodeDecodeError, pd.errors.ParserError) as exc:
            raise InputError(f"cannot read the CSV: {exc}", where=str(path),
                             fix="save it as UTF-8 CSV with a header row, or pass --encoding") from None
        wave = make_wave(data)
        meta = replace(wave.meta, path=str(path), file_format="csv", sha256=file_sha256(path))
        return Wave(data=wave.data, meta=meta)
    return read_wave(path, encoding=encoding)
