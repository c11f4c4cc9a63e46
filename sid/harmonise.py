"""Load waves onto the codebook's harmonised variables and stack them.

:func:`load` reads each wave with :func:`sid.io.read_wave`, renames source
variables to harmonised names, classifies missing codes by kind (NVT, WN, GA,
WZ; SYS for empty cells), recodes valid codes onto the common coding, applies
the ``asked_if`` filters, builds derived variables and stacks the waves with a
``wave`` column.

Representation of missing values (one choice, used everywhere):

* ``HarmonisedData.data`` holds numeric codes (float64) with **NaN for every
  missing cell**, text variables as text; categorical variables keep their
  codes (never label strings);
* ``HarmonisedData.missing_kind`` is a frame with the same index and the same
  variable columns, dtype ``category`` with categories NVT, WN, GA, WZ, SYS,
  and NaN where the value is valid;
* :meth:`HarmonisedData.column` returns a variable with chosen kinds kept as
  codes (``KIND_CODES``: NVT -1, WN -8, GA -9, WZ -7, SYS -99) so that a table
  can count "weet niet" in its base; :meth:`value_labels` labels those codes.

Filters: a respondent is *not asked* when the ``asked_if`` condition is False
and all variables it uses are valid or NVT. A valid answer or WN/GA/WZ given
where not asked becomes NVT (counted in ``report``); NVT where asked is
reported and kept. Rows whose filter variables are WN/GA/WZ/SYS are left as is.
Filters refer to base variables (not derived ones) and are applied in
dependency order, so a chain (reasons asked of the mistreated, mistreatment
asked of workers) works.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sid.codebook import (
    ALL_KINDS,
    KIND_CODES,
    KIND_LABELS,
    Codebook,
    apply_recode,
    format_rule,
    kind_of_label,
    load_codebook,
)
from sid.errors import CodebookError, InputError, show_values
from sid.expr import evaluate, parse
from sid.formatting import format_number
from sid.io.files import split_wave_arg

REPORT_COLUMNS = ("wave", "variable", "action", "count", "detail")
_KIND_INDEX = {k: i + 1 for i, k in enumerate(ALL_KINDS)}  # 0 = valid
_SYS = _KIND_INDEX["SYS"]
_NVT = _KIND_INDEX["NVT"]


@dataclass(frozen=True)
class HarmonisedData:
    """Stacked harmonised waves: codes in ``data``, missing kinds in ``missing_kind``."""

    data: pd.DataFrame
    missing_kind: pd.DataFrame
    codebook: Codebook
    report: pd.DataFrame

    def label(self, var: str, lang: str = "nl") -> str:
        """Variable label in ``lang`` (the codebook's, which wins over the file's)."""
        if var == "wave":
            return {"nl": "Golf", "en": "Wave"}.get(lang, "Golf")
        return self.codebook.label(var, lang)

    def value_labels(self, var: str, lang: str = "nl", keep: Iterable[str] = ()) -> dict[Any, str]:
        """Value labels of the common codes; kept missing kinds get their ``KIND_CODES``."""
        if var == "wave":
            return {w: w for w in self.codebook.waves}
        labels: dict[Any, str] = self.codebook.value_labels(var, lang)
        for kind in keep:
            labels[KIND_CODES[kind]] = KIND_LABELS[kind].get(lang, KIND_LABELS[kind]["nl"])
        return labels

    def column(self, var: str, keep: Iterable[str] = ()) -> pd.Series:
        """``var`` with the missing kinds in ``keep`` (e.g. ``("WN",)``) as codes, others NaN."""
        keep = tuple(keep)
        unknown = [k for k in keep if k not in ALL_KINDS]
        if unknown:
            raise CodebookError(f"unknown missing kind(s) {show_values(unknown)}", where=var,
                                fix=f"use {', '.join(ALL_KINDS)}")
        col = self.data[var]
        if not keep or var not in self.missing_kind:
            return col
        kinds = self.missing_kind[var]
        out = col.copy()
        for kind in keep:
            out = out.mask(kinds == kind, KIND_CODES[kind])
        return out

    def design_variables(self, wave_id: str | int) -> dict[str, str]:
        """Design roles to column names for a wave (see Codebook.design_variables)."""
        return self.codebook.design_variables(wave_id)

    def mr_set(self, name: str) -> list[str]:
        """Item names of a multiple-response set."""
        return list(self.codebook.mr_sets[name].items)


def _empty_report() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="int64" if c == "count" else object) for c in REPORT_COLUMNS})


def resolve_files(paths: Sequence[str | os.PathLike[str]] | Mapping[str, Any], cb: Codebook) -> dict[str, Path]:
    """Map wave id to file: from ``{wave: path}``, ``"2017=path"`` items, or the file name patterns."""
    if isinstance(paths, Mapping):
        items = [(str(k), Path(v)) for k, v in paths.items()]
    else:
        items = []
        for p in paths:
            wave, path = split_wave_arg(p)
            items.append((wave if wave is not None else cb.wave_for_file(path), path))
    out: dict[str, Path] = {}
    for wave, path in items:
        cb.wave(wave)
        if wave in out:
            raise InputError(f"two files for wave {wave}", where=f"{out[wave]}, {path}",
                             fix="give one file per wave")
        out[wave] = path
    return out


def classify_missing(values: np.ndarray, missing: Mapping[str, Sequence[float]]) -> np.ndarray:
    """Kind index per cell (0 valid, 1.. in ALL_KINDS order; SYS for NaN). Vectorised."""
    kinds = np.zeros(len(values), dtype=np.int8)
    for kind, codes in missing.items():
        if codes:
            kinds[np.isin(values, np.asarray(codes, dtype=float))] = _KIND_INDEX[kind]
    kinds[np.isnan(values)] = _SYS
    return kinds


def _source_codes(wave: Any, source: str) -> np.ndarray:
    col = wave.data[source]
    if not pd.api.types.is_numeric_dtype(col):
        return pd.to_numeric(col, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    return col.to_numpy(dtype=float, na_value=np.nan)


def _extended_kinds(wave: Any, var_meta: Any, source: str, n: int,
                    missing: Mapping[str, Sequence[float]]) -> np.ndarray | None:
    """Kinds of Stata .a-.z cells: from the letter's value label (weet niet -> WN, ...), else
    by position (.a = the smallest codebook missing code, as sid.io.to_stata_missing maps them)."""
    ext = wave.extended_missing.get(source)
    if ext is None or not len(ext):
        return None
    by_code = sorted((c, k) for k, codes in missing.items() for c in codes)
    letters = {chr(ord("a") + i): kind for i, (_, kind) in enumerate(by_code)}
    for letter, lab in var_meta.value_labels.items():
        kind = kind_of_label(lab) if isinstance(letter, str) else None
        if kind is not None:
            letters[letter] = kind
    kinds = np.zeros(n, dtype=np.int8)
    pos = wave.data.index.get_indexer(ext.index)
    kinds[pos] = ext.map(lambda c: _KIND_INDEX[letters.get(c, "SYS")]).to_numpy(dtype=np.int8)
    return kinds


def harmonise_wave(wave: Any, wave_id: str, cb: Codebook, skip: Iterable[str] = ()
                   ) -> tuple[dict[str, Any], dict[str, np.ndarray], list[tuple]]:
    """One wave's harmonised columns, kind codes and report rows (before filters and derived).

    Variables in ``skip`` are treated as not measured (all SYS), e.g. when validating a file
    that lacks them.
    """
    skip = set(skip)
    n = len(wave.data)
    columns: dict[str, Any] = {}
    kinds: dict[str, np.ndarray] = {}
    report: list[tuple] = []
    sources = {name: cb.source(name, wave_id) for name in cb.variables if name not in skip}
    absent = [(name, src) for name, src in sources.items()
              if src is not None and src not in wave.data.columns]
    if absent:
        raise InputError(
            f"{len(absent)} codebook variable(s) are not in the file",
            where=str(wave.meta.path or f"wave {wave_id}"),
            got=show_values([f"{src} ({name})" for name, src in absent], 12),
            fix="run `sid validate` with this codebook, or correct variables.<name>.waves."
                f"{wave_id}.source",
        )
    for name, var in cb.variables.items():
        source = cb.source(name, wave_id)
        if source is None or name in skip:
            columns[name] = (np.full(n, np.nan) if var.type != "text"
                             else pd.Series([pd.NA] * n, dtype="string").to_numpy(dtype=object))
            kinds[name] = np.full(n, _SYS, dtype=np.int8)
            continue
        if var.type == "text":
            col = wave.data[source]
            text = col.astype(object).where(col.notna(), None).to_numpy(dtype=object)
            columns[name] = text
            kinds[name] = pd.isna(text).astype(np.int8) * _SYS
            continue
        values = _source_codes(wave, source)
        missing = cb.missing_codes(name, wave_id)
        k = classify_missing(values, missing)
        ext = _extended_kinds(wave, wave.meta.variable(source), source, n, missing)
        if ext is not None:
            k = np.where(ext > 0, ext, k).astype(np.int8)
        rules = cb.recode_rules(name, wave_id)
        out = apply_recode(values, rules) if rules else values.copy()
        out[k > 0] = np.nan
        if rules:
            changed = int(np.count_nonzero((out != values) & (k == 0)))
            if changed:
                report.append((wave_id, name, "recoded", changed,
                               "; ".join(format_rule(r) for r in rules)))
        if source != name:
            report.append((wave_id, name, "renamed", n, f"{source} -> {name}"))
        columns[name] = out
        kinds[name] = k
    return columns, kinds, report


def _filter_order(cb: Codebook) -> list[str]:
    """Variables with a filter, those whose filter uses other filtered variables last."""
    deps = {name: parse(var.asked_if).variables for name, var in cb.variables.items() if var.asked_if}
    order: list[str] = []
    pending = dict(deps)
    while pending:
        ready = [n for n, d in pending.items() if not (d & set(pending) - {n})]
        if not ready:
            raise CodebookError("asked_if filters refer to each other in a cycle",
                                where=cb.path or "codebook", got=show_values(sorted(pending)),
                                fix="break the cycle in the asked_if expressions")
        for n in ready:
            order.append(n)
            del pending[n]
    return order


def apply_filters(columns: dict[str, Any], kinds: dict[str, np.ndarray], wave_id: str,
                  cb: Codebook, index: pd.Index) -> list[tuple]:
    """Apply ``asked_if`` filters in place on the wave's arrays; returns report rows."""
    report: list[tuple] = []
    for name in _filter_order(cb):
        var = cb.variables[name]
        if cb.source(name, wave_id) is None:
            continue
        assert var.asked_if is not None  # _filter_order lists filtered variables only
        expr = parse(var.asked_if)
        frame = pd.DataFrame({v: columns[v] for v in expr.variables}, index=index)
        asked = evaluate(expr, frame).to_numpy(dtype=bool)
        unknown = np.zeros(len(index), dtype=bool)
        for v in expr.variables:
            unknown |= (kinds[v] > 0) & (kinds[v] != _NVT)
        k = kinds[name]
        not_asked = ~asked & ~unknown
        answered = not_asked & (k == 0)
        other = not_asked & (k > 0) & (k != _NVT)
        if answered.any():
            columns[name] = np.where(answered, np.nan, columns[name])
            report.append((wave_id, name, "answered though not asked -> NVT", int(answered.sum()),
                           f"asked_if: {var.asked_if}"))
        if other.any():
            report.append((wave_id, name, "WN/GA/WZ though not asked -> NVT", int(other.sum()),
                           f"asked_if: {var.asked_if}"))
        if answered.any() or other.any():
            k = k.copy()
            k[answered | other] = _NVT
            kinds[name] = k
        asked_nvt = asked & (k == _NVT)
        if asked_nvt.any():
            report.append((wave_id, name, "NVT though asked", int(asked_nvt.sum()),
                           f"asked_if: {var.asked_if}"))
    return report


def derive(columns: dict[str, Any], kinds: dict[str, np.ndarray], cb: Codebook, index: pd.Index) -> None:
    """Add derived variables in codebook order (in place). Booleans become 0/1 codes.

    With ``missing: propagate`` (default) a derived value is missing where any
    variable it uses is missing, with the kind of the first such variable.
    """
    for name, der in cb.derived.items():
        expr = parse(der.expr)
        frame = pd.DataFrame({v: columns[v] for v in expr.variables}, index=index)
        result = evaluate(expr, frame)
        values = result.to_numpy(dtype=float) if result.dtype != object else result.to_numpy()
        k = np.zeros(len(index), dtype=np.int8)
        if der.missing == "propagate":
            for v in sorted(expr.variables, key=lambda x: list(cb.names).index(x)):
                k = np.where((k == 0) & (kinds[v] > 0), kinds[v], k).astype(np.int8)
        if values.dtype != object:
            k = np.where((k == 0) & np.isnan(values), _SYS, k).astype(np.int8)
            values = np.where(k > 0, np.nan, values)
        columns[name] = values
        kinds[name] = k


def _kinds_frame(kinds: Mapping[str, np.ndarray], index: pd.Index) -> pd.DataFrame:
    data = {name: pd.Categorical.from_codes(k.astype(np.int8) - 1, categories=list(ALL_KINDS))
            for name, k in kinds.items()}
    return pd.DataFrame(data, index=index)


def harmonise(waves: Mapping[str, Any], codebook: Codebook | str | os.PathLike[str]) -> HarmonisedData:
    """Harmonise already-read waves (``{wave_id: Wave}``) and stack them; see :func:`load`."""
    cb = load_codebook(codebook)
    frames, kind_frames, report = [], [], []
    for wave_id, wave in waves.items():
        cb.wave(wave_id)
        index = pd.RangeIndex(len(wave.data))
        columns, kinds, rows = harmonise_wave(wave, wave_id, cb)
        rows += apply_filters(columns, kinds, wave_id, cb, index)
        derive(columns, kinds, cb, index)
        rows += _label_differences(wave, wave_id, cb)
        frame = pd.DataFrame(columns, index=index)
        for name, var in cb.variables.items():
            if var.type == "text":
                frame[name] = frame[name].astype(object)
        frame.insert(0, "wave", wave_id)
        frames.append(frame)
        kind_frames.append(_kinds_frame(kinds, index))
        report += rows
    if not frames:
        raise InputError("no waves to load", fix="give at least one wave file")
    data = pd.concat(frames, ignore_index=True)
    data["wave"] = pd.Categorical(data["wave"], categories=[w for w in cb.waves if w in waves])
    missing_kind = pd.concat(kind_frames, ignore_index=True)
    rep = pd.DataFrame(report, columns=list(REPORT_COLUMNS)) if report else _empty_report()
    return HarmonisedData(data=data, missing_kind=missing_kind, codebook=cb, report=rep)


def load(paths: Sequence[str | os.PathLike[str]] | Mapping[str, Any],
         codebook: Codebook | str | os.PathLike[str]) -> HarmonisedData:
    """Read one or more wave files and harmonise them with ``codebook``.

    ``paths`` are file names matched to waves by the codebook's ``file``
    patterns, ``"2017=path"`` strings, or a mapping ``{wave_id: path}``.
    Only the columns the codebook uses are read.
    """
    from sid.io import read_wave, scan_wave

    cb = load_codebook(codebook)
    files = resolve_files(paths, cb)
    waves = {}
    for wave_id, path in files.items():
        encoding = cb.wave(wave_id).encoding
        header = scan_wave(path, encoding=encoding)
        wanted = [cb.source(n, wave_id) for n in cb.variables]
        present = [c for c in header.columns if c in set(wanted)]
        waves[wave_id] = read_wave(path, columns=present, encoding=encoding)
    return harmonise(waves, cb)


def _label_differences(wave: Any, wave_id: str, cb: Codebook) -> list[tuple]:
    """Report where the file's labels differ from the codebook's (the codebook wins)."""
    rows = []
    for item in label_differences(wave, wave_id, cb):
        rows.append((wave_id, item["variable"], "label differs from file (codebook used)", item["count"],
                     item["detail"]))
    return rows


def label_differences(wave: Any, wave_id: str, cb: Codebook) -> list[dict[str, Any]]:
    """Value labels in the file that differ from the codebook's after recoding (nl, case-insensitive)."""
    out = []
    for name, var in cb.variables.items():
        source = cb.source(name, wave_id)
        if source is None or source not in wave.meta.columns or not var.values:
            continue
        meta = wave.meta.variable(source)
        missing = {c for codes in cb.missing_codes(name, wave_id).values() for c in codes}
        rules = cb.recode_rules(name, wave_id)
        diffs = []
        for code, text in meta.value_labels.items():
            if isinstance(code, str) or code in missing:
                continue
            target = float(apply_recode(np.array([float(code)]), rules)[0]) if rules else float(code)
            expected = var.values.get(target)
            if expected is None:
                continue
            if _simplify(expected.nl) != _simplify(text):
                diffs.append(f"{format_number(code)} {text!r} vs {format_number(target)} {expected.nl!r}")
        if diffs:
            out.append({"variable": name, "count": len(diffs), "detail": "; ".join(diffs[:4])})
    return out


def _simplify(text: str) -> str:
    return " ".join(str(text).lower().split())
