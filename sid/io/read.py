"""Reading SPSS/Stata waves (and CSV tables) with labels and missing codes intact.

pyreadstat reads the file; this module turns its metadata into a
:class:`~sid.io.meta.WaveMeta`, keeps user-missing codes as codes, moves
Stata ``.a``-``.z`` out of numeric columns, and turns every reader failure
into one :class:`~sid.errors.InputError` that says what to do. Files are only
read, never changed.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

from sid.errors import InputError, show_values
from sid.io.child import check_header, start_reader
from sid.io.files import file_sha256, note_input
from sid.io.meta import (
    FORMATS,
    MissingSpec,
    VariableMeta,
    Wave,
    WaveMeta,
    kind_of,
    make_wave,
    normalise_numeric,
)

__all__ = ["StartedRead", "format_of", "read_table", "read_wave", "scan_wave", "start_wave_read"]

_NUMERIC_READSTAT = {"double", "float", "int8", "int16", "int32", "int64"}


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


_READERS = {"sav": "read_sav", "zsav": "read_sav", "por": "read_por", "dta": "read_dta"}


def _call_reader(path: Path, fmt: str, *, own_output: bool = False,
                 **kwargs: Any) -> tuple[pd.DataFrame, Any]:
    """pyreadstat's reader for ``fmt``, run safely (:mod:`sid.io.child`: header check in
    process, the read in a memory-capped child); its errors become one InputError.
    ``own_output``: the file was just written by this process (see :func:`read_wave`),
    so it is read in this process."""
    if own_output:
        import pyreadstat

        _before_read(path, fmt, kwargs)
        with _reader_errors(path, fmt):
            result: tuple[pd.DataFrame, Any] = getattr(pyreadstat, _READERS[fmt])(str(path), **kwargs)
        return result
    return _start_reader(path, fmt, kwargs)[0]()


def _before_read(path: Path, fmt: str, kwargs: dict[str, Any]) -> None:
    if fmt == "por":
        kwargs.pop("user_missing", None)
    check_header(path, fmt)
    note_input(path, "input")  # no output of the running command may replace a file it read


def _start_reader(path: Path, fmt: str, kwargs: dict[str, Any]
                  ) -> tuple[Callable[[], tuple[pd.DataFrame, Any]], Callable[[], None]]:
    """Start the reader child for ``path``; return the call that collects it (raising
    then, as one InputError, whatever went wrong, also in the checks made here first) and
    the call that cancels it."""
    import pyreadstat  # noqa: F401  (loaded before the fork: the child inherits it)

    try:
        _before_read(path, fmt, kwargs)
        with _reader_errors(path, fmt):
            pending = start_reader(_READERS[fmt], path, kwargs)
    except Exception as exc:  # raised when collected, so errors come in the caller's order
        return _raising(exc), lambda: None

    def collect() -> tuple[pd.DataFrame, Any]:
        with _reader_errors(path, fmt):
            result: tuple[pd.DataFrame, Any] = pending.result()
        return result

    return collect, pending.cancel


def _raising(error: Exception) -> Callable[[], Any]:
    """A call that raises ``error``: a started read that failed before it started."""

    def raise_it() -> Any:
        raise error

    return raise_it


@contextlib.contextmanager
def _reader_errors(path: Path, fmt: str) -> Iterator[None]:
    """A reader's failure inside the block, as one InputError that says what to do."""
    import pyreadstat

    try:
        yield
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


_TYPE_OF = np.frompyfunc(type, 1, 1)


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
        values = col.to_numpy(dtype=object)
        types = _TYPE_OF(values)  # the class of every value, in one C loop
        kinds = set(types.tolist())
        is_letter = np.zeros(len(values), dtype=bool)
        for kind in kinds:
            if issubclass(kind, str):
                is_letter |= types == kind
        if not is_letter.any():
            continue
        extended[name] = col[is_letter].astype(object).str.lower().astype(object)
        rest = col.astype(object).where(~is_letter, None)
        valid = ~is_letter & pd.notna(values)
        if all(issubclass(kind, (int, float, np.number)) for kind in set(types[valid].tolist())):
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
            kind = kind_of(data[name], formats.get(name))
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
    if encoding and fmt != "por":  # a portable file has its own character set; no option
        kwargs["encoding"] = encoding
    _, meta = _call_reader(path, fmt, **kwargs)
    return _build_meta(path, fmt, meta, file_sha256(path), None)


def read_wave(
    path: str | os.PathLike[str],
    *,
    columns: Sequence[str] | None = None,
    encoding: str | None = None,
    own_output: bool = False,
) -> Wave:
    """Read a ``.sav``, ``.zsav``, ``.por`` or ``.dta`` file with labels and missing codes intact.

    User-missing codes stay in the data and are declared in
    ``wave.meta.variable(name).missing``; Stata ``.a``-``.z`` are in
    ``wave.extended_missing``. The file is only read, never changed.
    ``own_output=True`` is for :func:`sid.io.write_wave`'s read-back of the file it has
    just written from its own data: not untrusted input, so it is read in this process
    rather than in the memory-capped child (which costs a fork per read; see
    docs/decisions.md). Every other read goes through the child.
    """
    path = Path(path)
    fmt = format_of(path)
    _check_readable(path)
    kwargs = _wave_kwargs(fmt, encoding)
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
    data, meta = _call_reader(path, fmt, own_output=own_output, **kwargs)
    wave = _make_read_wave(path, fmt, data, meta)
    if columns is not None:
        keep = set(columns)
        wave = replace(wave, meta=replace(
            wave.meta, variables=tuple(v for v in wave.meta.variables if v.name in keep)))
    return wave


class StartedRead:
    """A wave being read (:func:`start_wave_read`): call it for the :class:`Wave` (it waits,
    and raises what :func:`read_wave` would), or :meth:`cancel` it unread."""

    def __init__(self, collect: Callable[[], Wave], cancel: Callable[[], None]) -> None:
        self._collect, self._cancel = collect, cancel

    def __call__(self) -> Wave:
        return self._collect()

    def cancel(self) -> None:
        """End the read without its wave (nothing to do once collected)."""
        self._cancel()


def start_wave_read(path: str | os.PathLike[str], *, encoding: str | None = None
                    ) -> StartedRead:
    """Start reading a whole wave in its reader child and return at once; calling the result
    waits for it and gives what :func:`read_wave` gives (the same checks, the same one-line
    errors, raised then rather than now). Several files read concurrently so, also while the
    caller goes on with other work; each child holds its file until it is collected or
    cancelled (or the result is garbage-collected)."""
    path = Path(path)
    try:
        fmt = format_of(path)
        _check_readable(path)
    except InputError as exc:
        return StartedRead(_raising(exc), lambda: None)
    collect, cancel = _start_reader(path, fmt, _wave_kwargs(fmt, encoding))

    def wave() -> Wave:
        data, meta = collect()
        return _make_read_wave(path, fmt, data, meta)

    return StartedRead(wave, cancel)


def _wave_kwargs(fmt: str, encoding: str | None) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"user_missing": True}
    if encoding and fmt != "por":  # a portable file has its own character set; no option
        kwargs["encoding"] = encoding
    return kwargs


def _make_read_wave(path: Path, fmt: str, data: pd.DataFrame, meta: Any) -> Wave:
    """The :class:`Wave` of what pyreadstat read from ``path``."""
    extended = _split_extended(data, meta) if fmt == "dta" else {}
    data = normalise_numeric(data)
    wave_meta = _build_meta(path, fmt, meta, file_sha256(path), data)
    return Wave(data=data, meta=wave_meta, extended_missing=MappingProxyType(extended))


# pandas < 3 parses CSV floats up to one ulp off unless asked for round-trip parsing;
# pandas 3 parses them exactly and deprecates the option.
_EXACT_FLOATS: dict[str, Any] = (
    {"float_precision": "round_trip"} if int(pd.__version__.split(".")[0]) < 3 else {})


def read_table(path: str | os.PathLike[str], *, encoding: str | None = None) -> Wave:
    """Read a wave file, or a ``.csv`` as a wave without labels (for ``sid estimate``)."""
    path = Path(path)
    if path.suffix.lower() == ".csv":
        _check_readable(path)
        note_input(path, "input")
        try:
            data = pd.read_csv(path, encoding=encoding or "utf-8", **_EXACT_FLOATS)
        except (UnicodeDecodeError, pd.errors.ParserError) as exc:
            raise InputError(f"cannot read the CSV: {exc}", where=str(path),
                             fix="save it as UTF-8 CSV with a header row, or pass --encoding") from None
        wave = make_wave(data)
        meta = replace(wave.meta, path=str(path), file_format="csv", sha256=file_sha256(path))
        return Wave(data=wave.data, meta=meta)
    return read_wave(path, encoding=encoding)
