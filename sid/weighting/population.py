"""Population tables (the margins CSV, frame counts) read and checked as data.

Why: a population table decides every weight. One text cell in the count column
(even in a row the ``ref_date`` filter drops) used to turn the column into
strings, so the targets became concatenated digits and the weights summed to
2.6e71; a blank count became 0. Here the table is checked before anything is
summed: every cell of the count column, in every row, must be a number that is
finite and >= 0; the columns the spec needs must be there, complete and
unique; no cell may be given twice. Every problem of the file is reported at
once, one line each (:class:`PopulationTableError`).

:func:`read_population_csv` reads the CSV itself (UTF-8, ``,`` or ``;``
separated): a file saved by Dutch Excel (``;`` separator, decimal comma) is read
with the decimal comma; an empty, ragged or non-UTF-8 (Latin-1/ANSI) file is one
line saying so. :func:`check_population_table` checks a table however it was
made (also a DataFrame passed to :func:`~sid.weighting.run_spec`).
"""

from __future__ import annotations

import csv
import io
import os
import re
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sid.errors import InputError, WeightingError, format_number, show_values

__all__ = [
    "MAX_BYTES",
    "MAX_COUNT",
    "PopulationTableError",
    "check_population_table",
    "read_population_csv",
]

# a population count above this is no count of persons (and sums of such lose precision)
MAX_COUNT = 1e15
MAX_BYTES = 256 * 2**20  # a population table is small; a bigger file is the wrong file
_MAX_SHOWN = 12  # problems listed per kind before "(+k more)"
_FIX = ("give one row per population cell with a plain number >= 0 in the count column "
        "(no thousands separators), saved as CSV UTF-8; see docs/weighting.md")
_DOT_THOUSANDS = re.compile(r"^\d{1,3}(\.\d{3})+$")
_THOUSANDS_WHY = "thousands separator (write 1234567, not 1.234.567 or 1,234,567)"
_THOUSANDS = re.compile(r"^[+-]?\d{1,3}([ .,\u00a0\u202f']\d{3})+([.,]\d+)?$")
_NA_TEXT = {"nan", "na", "n/a", "null", "none", "-", "."}


class PopulationTableError(WeightingError):
    """A population table that cannot be used as it is, with every problem, one line each."""


# --------------------------------------------------------------------------- reading


def read_population_csv(path: str | os.PathLike[str], *, what: str = "population margins"
                        ) -> pd.DataFrame:
    """Read a population CSV as text cells; the index holds each row's line number in the file.

    Every cell is kept as text (``dtype=str``, blanks as ``""``), so that
    :func:`check_population_table` sees exactly what the file says. The
    separator is ``,`` or, when the header has ``;`` and no ``,``, ``;`` (Dutch
    Excel); then a decimal comma in the count column is read as a decimal point.
    """
    where = str(path)
    p = Path(path)
    if p.is_dir():
        raise InputError(f"the {what} file is a folder", where=where, fix="give the CSV file")
    try:
        size = p.stat().st_size
        if size > MAX_BYTES:
            raise InputError(f"the {what} file is {size / 2**20:.0f} MiB: too large for a "
                             "population table", where=where,
                             fix=f"give a table of population cells (at most "
                                 f"{MAX_BYTES // 2**20} MiB)")
        raw = p.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read the {what} file", where=where, got=exc.strerror or str(exc),
                         fix="check the path and its permissions") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        byte = raw[exc.start]
        line = raw[: exc.start].count(b"\n") + 1
        raise InputError(f"the {what} file is not UTF-8 text", where=f"{where}:{line}",
                         got=f"byte 0x{byte:02x} at offset {exc.start}; probably saved as "
                             "Latin-1/ANSI (e.g. by Excel as 'CSV')",
                         fix="save it as 'CSV UTF-8', or convert it (iconv -f latin1 -t utf-8)"
                         ) from None
    if "\x00" in text:
        raise InputError(f"the {what} file holds NUL bytes: not a text CSV", where=where,
                         fix="export the table as CSV UTF-8")
    lines = text.splitlines()
    if not any(s.strip() for s in lines):
        raise InputError(f"the {what} file is empty", where=where,
                         fix="give a CSV with a header row and one row per population cell")
    header = next(s for s in lines if s.strip())
    sep = ";" if ";" in header and "," not in header else ","
    numbered: list[tuple[int, list[str]]] = []  # (line the record starts on, fields)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep, strict=True)
    try:
        start = 1
        for fields in reader:
            if any(f.strip() for f in fields):
                numbered.append((start, fields))
            start = reader.line_num + 1
    except csv.Error as exc:
        raise InputError(f"the {what} file is not valid CSV", where=f"{where}:{reader.line_num}",
                         got=str(exc), fix="check the quotes in the file, or export it again "
                         "as CSV UTF-8") from None
    head_line, names = numbered[0]
    names = [n.strip() for n in names]
    body = numbered[1:]
    problems = _header_problems(names)
    ragged = [(ln, len(f)) for ln, f in body if len(f) != len(names)]
    if ragged:
        shown = ", ".join(f"line {ln} has {k}" for ln, k in ragged[:_MAX_SHOWN])
        more = f" (+{len(ragged) - _MAX_SHOWN} more)" if len(ragged) > _MAX_SHOWN else ""
        problems.append(f"rows with a different number of fields than the header's "
                        f"{len(names)} ({'separator ' + repr(sep)}): {shown}{more}")
    if problems:
        raise PopulationTableError(f"the {what} file cannot be read as a table", where=where,
                                   problems=problems, fix=_FIX)
    frame = pd.DataFrame([f for _, f in body], columns=names, dtype=str,
                         index=pd.Index([ln for ln, _ in body], name="line"))
    frame.attrs["source"] = where
    frame.attrs["separator"] = sep
    frame.attrs["header_line"] = head_line
    return frame


def _header_problems(names: list[str]) -> list[str]:
    problems = []
    blank = [k + 1 for k, n in enumerate(names) if not n]
    if blank:
        problems.append(f"header: column(s) {show_values(blank)} have no name")
    twice = sorted(n for n, k in Counter(names).items() if n and k > 1)
    if twice:
        problems.append(f"header: column name(s) {show_values(twice)} given twice")
    if names and all(_number(n) is not None for n in names if n):
        problems.append("header: every column name is a number: the file has no header row "
                        "(the first line must name the columns, e.g. ref_date,herkomst,...,count)")
    return problems


# --------------------------------------------------------------------------- checking


def check_population_table(table: pd.DataFrame, *, count: str, columns: Iterable[str],
                           where: str = "margins table", what: str = "population margins",
                           decimal_comma: bool | None = None) -> pd.DataFrame:
    """The table checked as data, with a float count column and numeric category columns.

    ``columns`` are the other columns the spec needs (margin variables, ``within``
    and filter columns). Every row counts, also rows a filter will drop: the
    count must be a number, finite, >= 0 and below :data:`MAX_COUNT` (a blank,
    ``NaN``, text, thousands separators or an overflow are each named with row,
    column and value); the needed columns must exist (with a did-you-mean) and
    have no blank cells; no combination of the other columns may be given twice.
    Category columns whose every cell is a number become numeric (as
    ``pd.read_csv`` would read them). Raises :class:`PopulationTableError`
    with every problem at once.
    """
    import difflib

    where = str(table.attrs.get("source", where))
    from_file = "source" in table.attrs
    if decimal_comma is None:
        decimal_comma = table.attrs.get("separator") == ";"
    cols = [str(c) for c in table.columns]
    needed = list(dict.fromkeys([*columns, count]))
    problems: list[str] = []
    absent = [c for c in needed if c not in cols]
    for c in absent:
        close = difflib.get_close_matches(c, cols, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        problems.append(f"header: column {c!r} is not in the table{hint}; its columns are "
                        f"{show_values(cols)}")
    if table.empty:
        problems.append("the table has a header but no rows")
    if problems:
        raise PopulationTableError(f"the {what} table cannot be used: {len(problems)} problem(s)",
                                   where=where, problems=problems, fix=_FIX)

    def row(k: int) -> str:
        label = table.index[k]
        if from_file:
            return f"line {label}"
        return f"row {label!r}" if isinstance(label, str) else f"row {format_number(label)}"

    # the count column: every row
    counts = np.full(len(table), np.nan)
    bad: dict[str, list[str]] = {}
    for k, value in enumerate(table[count].tolist()):
        number, why = _count(value, decimal_comma)
        if why:
            bad.setdefault(why, []).append(f"{row(k)}: {_show(value)}")
        else:
            counts[k] = number
    # A file whose every count with a point reads like 4.042 or 1.234.567 uses the point as a
    # thousands separator (Dutch style): 4.042 would be taken as four, so refuse all of them.
    texts = [str(v).strip() for v in table[count].tolist() if isinstance(v, str)]
    dotted = [t for t in texts if "." in t]
    if dotted and all(_DOT_THOUSANDS.match(t) for t in dotted):
        for k, value in enumerate(table[count].tolist()):
            if isinstance(value, str) and _DOT_THOUSANDS.match(value.strip()) \
                    and np.isfinite(counts[k]):
                counts[k] = np.nan
                bad.setdefault(_THOUSANDS_WHY, []).append(f"{row(k)}: {_show(value)}")
    for why, cells in bad.items():
        more = f" (+{len(cells) - _MAX_SHOWN} more)" if len(cells) > _MAX_SHOWN else ""
        problems.append(f"column {count!r}: {why} in {len(cells)} row(s): "
                        f"{'; '.join(cells[:_MAX_SHOWN])}{more}")
    # the category columns: complete
    keys = [c for c in needed if c != count]
    for c in keys:
        values = table[c]
        blank = values.isna().to_numpy() | values.astype(str).str.strip().isin(["", "nan", "NaN"]
                                                                               ).to_numpy()
        if blank.any():
            rows = [row(int(k)) for k in np.flatnonzero(blank)]
            more = f" (+{len(rows) - _MAX_SHOWN} more)" if len(rows) > _MAX_SHOWN else ""
            problems.append(f"column {c!r}: blank or missing category in {len(rows)} row(s): "
                            f"{', '.join(rows[:_MAX_SHOWN])}{more}")
    # every cell once: the columns other than the count identify a row
    ident = [c for c in cols if c != count]
    if ident and not problems:
        norm = table[ident].astype(str).apply(lambda s: s.str.strip())
        norm.index = pd.RangeIndex(len(norm))  # positions, whatever the table's index
        dup = norm.duplicated(keep=False).to_numpy()
        if dup.any():
            groups = norm[dup].groupby(ident, sort=False).groups
            pairs = [" and ".join(row(int(k)) for k in idx)
                     for idx in list(groups.values())[:_MAX_SHOWN]]
            more = f" (+{len(groups) - _MAX_SHOWN} more)" if len(groups) > _MAX_SHOWN else ""
            problems.append(f"the same cell ({', '.join(ident)}) is given twice: "
                            f"{'; '.join(pairs)}{more}; keep one row per cell")
    if problems:
        raise PopulationTableError(f"the {what} table cannot be used: {len(problems)} problem(s)",
                                   where=where, problems=problems, fix=_FIX)
    out = table.copy()
    out[count] = counts
    for c in cols:
        if c != count and not pd.api.types.is_numeric_dtype(out[c]):
            out[c] = _numeric_if_all(out[c])
    out.attrs = dict(table.attrs)
    return out


def _count(value: Any, decimal_comma: bool) -> tuple[float, str]:
    """A count cell as a float, or why it is not a count ("" when it is)."""
    if isinstance(value, bool | np.bool_):
        return np.nan, "not a number"
    if isinstance(value, int | float | np.integer | np.floating):
        number = float(value)
    else:
        if value is None or (isinstance(value, float) and np.isnan(value)):
            return np.nan, "blank (a missing count is not 0)"
        text = str(value).strip()
        if text == "":
            return np.nan, "blank (a missing count is not 0)"
        if text.lower() in _NA_TEXT:
            return np.nan, "missing (NaN/NA; a missing count is not 0)"
        if decimal_comma and text.count(",") == 1 and "." not in text:
            text = text.replace(",", ".")
        if _THOUSANDS.match(text) and _number(text) is None:
            return np.nan, "thousands separator (write 1234567, not 1.234.567 or 1,234,567)"
        if decimal_comma and _THOUSANDS.match(text) and "." in text:
            return np.nan, "thousands separator (write 1234567, not 1.234.567 or 1,234,567)"
        parsed = _number(text)
        if parsed is None:
            if _THOUSANDS.match(text):
                return np.nan, "thousands separator (write 1234567, not 1.234.567 or 1,234,567)"
            if "," in text and not decimal_comma:
                return np.nan, "decimal comma in a ','-separated file (write 1234.5)"
            return np.nan, "not a number"
        number = parsed
    if np.isnan(number):
        return np.nan, "missing (NaN/NA; a missing count is not 0)"
    if not np.isfinite(number) or abs(number) > MAX_COUNT:
        return np.nan, f"too large (infinite or above {MAX_COUNT:.0e}: an overflow, not a count)"
    if number < 0:
        return np.nan, "negative"
    return number, ""


def _number(text: str) -> float | None:
    """A plain decimal number (no separators); None otherwise."""
    t = text.strip()
    if not re.fullmatch(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?|[+-]?(inf|infinity|nan)", t,
                        flags=re.IGNORECASE):
        return None
    return float(t)


def _show(value: Any) -> str:
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _numeric_if_all(values: pd.Series) -> pd.Series:
    """A text column as numbers when every cell is a plain number (integers as int64)."""
    texts = values.astype(str).str.strip()
    numbers = [_number(t) for t in texts]
    if any(v is None or not np.isfinite(v) for v in numbers):
        return texts
    arr = np.asarray(numbers, dtype=float)
    if np.all(arr == np.round(arr)) and np.all(np.abs(arr) < 2**53):
        return pd.Series(arr.astype(np.int64), index=values.index, name=values.name)
    return pd.Series(arr, index=values.index, name=values.name)
