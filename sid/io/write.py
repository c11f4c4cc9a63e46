"""Writing waves to .sav, .zsav and .dta without losing a label or a missing code.

pyreadstat's writers do not take its own metadata object back, so
:func:`write_wave` passes labels, value labels, missing codes, measures and
formats itself, writes to a temporary file, reads it back, compares it with
the wave (:func:`compare_waves`) and only then renames it into place; a loss
is a :class:`~sid.errors.LossError` naming the variables. Stata cannot store
SPSS user-missing codes: :func:`to_stata_missing` maps them to ``.a``-``.z``.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

from sid.errors import InputError, LossError, show_values
from sid.io.files import atomic_output, file_sha256, same_file
from sid.io.meta import STATA_LETTERS, WRITABLE, MissingSpec, Wave, WaveMeta
from sid.io.read import format_of, read_wave

__all__ = ["compare_waves", "to_stata_missing", "write_wave"]


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


def _comparable_objects(series: pd.Series, trailing_blanks: bool) -> pd.Series:
    """Strings (and dates) as comparable objects: missing as "", optionally right-stripped."""
    values = series.astype(object).where(series.notna(), "")
    if not trailing_blanks:
        is_text = values.map(type).eq(str)
        if is_text.any():
            values = values.where(~is_text, values[is_text].str.rstrip(" "))
    return values.reset_index(drop=True)


def _same_objects(e: pd.Series, a: pd.Series) -> bool:
    """Whether two columns hold equal values row by row (missing only where both are None)."""
    ev, av = e.to_numpy(dtype=object), a.to_numpy(dtype=object)
    return len(ev) == len(av) and bool(np.all(ev == av))


def _same_extended(e: pd.Series | None, a: pd.Series | None) -> bool:
    """Whether two sets of Stata extended missing values (row -> letter) are the same.

    Quick when both list the same rows in the same order (a read-back does); else the
    (row, letter) pairs are compared as sorted lists.
    """
    e = pd.Series(dtype=object) if e is None else e
    a = pd.Series(dtype=object) if a is None else a
    if len(e) == len(a) and np.array_equal(e.index.to_numpy(), a.index.to_numpy()) and bool(
            np.all(e.to_numpy(dtype=object) == a.to_numpy(dtype=object))):
        return True
    return sorted(zip(e.index, e.tolist(), strict=True)) == sorted(zip(a.index, a.tolist(), strict=True))


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
        elif _same_objects(e, a):
            continue  # equal value by value: equal after normalising too
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
        if not _same_extended(expected.extended_missing.get(name),
                              actual.extended_missing.get(name)):
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
    if wave.meta.path and same_file(path, wave.meta.path):
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
        back = read_wave(tmp, own_output=True)  # our own file: no child process
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
        digest = file_sha256(tmp)  # inside a transaction the rename comes later
    return replace(back.meta, path=str(path), sha256=digest)
