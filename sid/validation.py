"""``sid validate`` and the codebook tools (``sid codebook init|export``).

:func:`validate` checks wave files against a codebook and returns every
problem at once in one tidy table (severity, wave, variable, check, count,
examples, fix), like pandera's lazy validation: the first problem is never
the only one.

Layering: validation sits at the **origin layer**, not the codebook layer. It
checks waves against the codebook (io, codebook, harmonise: all below it) *and*
against origin (:func:`origin_check` compares the sampling frame's origin group
with the one :mod:`sid.origin` derives), so it imports :mod:`sid.origin`
directly. Nothing below the origin layer imports this module; the CLI
(``sid validate``, ``sid codebook``) is above it.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from sid.codebook import (
    CODED_TYPES,
    Codebook,
    Derived,
    Variable,
    apply_recode,
    format_rule,
    kind_of_label,
    load_codebook,
)
from sid.errors import InputError, SidError, format_number, show_values
from sid.formatting import plain_number
from sid.harmonise import (
    apply_filters,
    derive,
    harmonise_wave,
    label_differences,
    split_wave_arg,
)
from sid.io import atomic_output
from sid.origin import classify

COLUMNS = ("severity", "wave", "variable", "check", "count", "examples", "fix")
SEVERITIES = ("error", "warning", "info")


@dataclass(frozen=True)
class ValidationResult:
    """All problems found, one row each; ``ok`` when there is no error."""

    table: pd.DataFrame
    files: Mapping[str, str]

    @property
    def n_errors(self) -> int:
        return int((self.table["severity"] == "error").sum())

    @property
    def n_warnings(self) -> int:
        return int((self.table["severity"] == "warning").sum())

    @property
    def ok(self) -> bool:
        return self.n_errors == 0

    def to_records(self) -> list[dict[str, Any]]:
        return [{k: (int(v) if k == "count" else v) for k, v in row.items()}
                for row in self.table.to_dict(orient="records")]


class _Rows:
    def __init__(self) -> None:
        self.rows: list[tuple] = []

    def add(self, severity: str, wave: str, variable: str, check: str, count: int,
            examples: Any = (), fix: str = "") -> None:
        if not isinstance(examples, str):
            examples = show_values(list(examples), 5)
        self.rows.append((severity, wave, variable, check, int(count), examples, fix))

    def frame(self) -> pd.DataFrame:
        table = pd.DataFrame(self.rows, columns=list(COLUMNS))
        order = {s: i for i, s in enumerate(SEVERITIES)}
        table = table.sort_values(["severity", "wave", "variable"],
                                  key=lambda c: c.map(order) if c.name == "severity" else c,
                                  kind="stable")
        return table.reset_index(drop=True)


def _examples(values: pd.Series | np.ndarray, limit: int = 5) -> list[Any]:
    uniq = pd.unique(pd.Series(values).dropna())
    return sorted(uniq.tolist(), key=lambda v: (isinstance(v, str), v))[:limit]


def validate(paths: Sequence[str | os.PathLike[str]] | Mapping[str, Any],
             codebook: Codebook | str | os.PathLike[str], *, origin: bool = True) -> ValidationResult:
    """Check wave files against ``codebook``; every problem is a row of the result table."""
    from sid.io import read_wave

    cb = load_codebook(codebook)
    rows = _Rows()
    files: dict[str, Path] = {}
    items = ([(str(k), Path(v)) for k, v in paths.items()] if isinstance(paths, Mapping)
             else [split_wave_arg(p) for p in paths])
    for wave_id, path in items:
        text = str(path)
        try:
            wid = wave_id if wave_id is not None else cb.wave_for_file(path)
            cb.wave(wid)
        except SidError as exc:
            rows.add("error", "?", "", "file matches a wave", 1, [Path(text).name],
                     exc.fix or exc.line())
            continue
        if wid in files:
            rows.add("error", wid, "", "one file per wave", 1, [str(files[wid]), text],
                     "give one file per wave")
            continue
        try:
            wave = read_wave(path, encoding=cb.wave(wid).encoding)
        except SidError as exc:
            rows.add("error", wid, "", "file readable", 1, [text], exc.line())
            continue
        files[wid] = Path(path)
        check_wave(wave, wid, cb, rows, origin=origin)
    return ValidationResult(table=rows.frame(), files={k: str(v) for k, v in files.items()})


def check_wave(wave: Any, wid: str, cb: Codebook, rows: _Rows, *, origin: bool = True) -> None:
    """All checks of one wave; appends rows."""
    data = wave.data
    present = set(data.columns)
    design_roles = {v: k for k, v in cb.design_variables(wid).items()}
    absent: list[str] = []
    for name, var in cb.variables.items():
        source = cb.source(name, wid)
        if source is None:
            continue
        if source not in present:
            close = difflib.get_close_matches(source, sorted(present), n=3)
            hint = f"; the file has {', '.join(close)}" if close else ""
            role = f" ({design_roles[name]} variable)" if name in design_roles else ""
            rows.add("error", wid, name, f"variable present{role}", 1, [source],
                     f"set variables.{name}.waves.{wid}.source to the file's name{hint}")
            absent.append(name)
            continue
        col = data[source]
        is_text = not pd.api.types.is_numeric_dtype(col)
        if (var.type == "text") != is_text:
            rows.add("error", wid, name, "type", 1, [f"{source} is {'text' if is_text else 'numeric'}"],
                     f"the codebook says {var.type}; correct variables.{name}.type or the file")
            absent.append(name)
            continue
        if var.type == "text":
            continue
        _check_codes(wave, wid, cb, name, source, rows)
    _check_harmonised(wave, wid, cb, rows, skip=set(absent), origin=origin)
    unmapped = sorted(present - {cb.source(n, wid) for n in cb.variables})
    if unmapped:
        rows.add("info", wid, "", "file variables not in the codebook", len(unmapped), unmapped,
                 "add them to the codebook if they are needed (sid codebook init)")


def _check_codes(wave: Any, wid: str, cb: Codebook, name: str, source: str, rows: _Rows) -> None:
    var = cb.variables[name]
    values = wave.data[source].to_numpy(dtype=float, na_value=np.nan)
    missing = cb.missing_codes(name, wid)
    codes = {c for cs in missing.values() for c in cs}
    file_missing = wave.meta.variable(source).missing
    file_codes = set(file_missing.values)
    extra = sorted(c for c in file_codes if c not in codes and not isinstance(c, str))
    if extra or file_missing.ranges:
        expected = ", ".join(f"{k} {show_values(v)}" for k, v in missing.items()) or "none"
        rows.add("warning", wid, name, "file declares user-missing codes the codebook does not", 1,
                 f"file: {file_missing.describe()}; codebook: {expected}",
                 f"the codebook is used (these count as values); add them to "
                 f"variables.{name}.waves.{wid}.missing if they are missing codes")
    used = sorted(c for c in codes if c not in file_codes)
    if used:
        hits = np.isin(values, np.asarray(used, dtype=float))
        if hits.any():
            rows.add("warning", wid, name, "missing codes in the data not declared in the file",
                     int(hits.sum()), _examples(values[hits]),
                     "the codebook is used (they are missing); declare them as user-missing in the file")
    is_missing = np.isin(values, np.asarray(sorted(codes), dtype=float)) | np.isnan(values)
    valid = values[~is_missing]
    rules = cb.recode_rules(name, wid)
    target = apply_recode(valid, rules) if rules else valid
    bad = np.zeros(len(target), dtype=bool)
    if var.type in CODED_TYPES or var.valid_range is not None:
        allowed = np.asarray(sorted(var.values), dtype=float)
        in_labels = np.isin(target, allowed)
        if var.valid_range is not None:
            lo, hi = var.valid_range
            in_range = (target >= lo) & (target <= hi)
            if var.type in CODED_TYPES:
                in_range &= target == np.round(target)
            ok = in_labels | in_range
        else:
            ok = in_labels
        bad = ~ok
    if bad.any():
        src_bad = valid[bad]
        expected = (f"{format_number(var.valid_range[0])}-{format_number(var.valid_range[1])}" if var.valid_range is not None
                    else show_values(sorted(var.values)))
        rows.add("error", wid, name, "codes outside value labels and missing codes", int(bad.sum()),
                 _examples(src_bad),
                 f"expected {expected} or missing codes; add a value label, a recode or a "
                 f"missing code under variables.{name}")
    if var.type == "weight":
        nonpos = np.count_nonzero(values <= 0)
        nan = np.count_nonzero(np.isnan(values))
        if nonpos or nan:
            rows.add("error", wid, name, "weights positive and present", int(nonpos + nan),
                     _examples(values[(values <= 0) | np.isnan(values)]) or ["empty"],
                     "weights must be > 0; fix the weighting or drop these cases from the frame")
    if var.type in ("id", "design"):
        nan = np.count_nonzero(np.isnan(values))
        if nan:
            rows.add("error", wid, name, f"{var.type} variable complete", int(nan), ["empty"],
                     f"every respondent needs a value of {source}")


def _check_harmonised(wave: Any, wid: str, cb: Codebook, rows: _Rows, *, skip: set[str],
                      origin: bool) -> None:
    spec = cb.wave(wid)
    id_var = spec.id
    if id_var in skip:  # reported as absent; examples then name rows (1-based)
        ids, id_word = pd.Series(np.arange(1, len(wave.data) + 1)), "row"
    else:
        ids, id_word = wave.data[cb.source(id_var, wid)], "id"
        dup = ids[ids.duplicated(keep=False) & ids.notna()]
        if len(dup):
            rows.add("error", wid, id_var, "unique ids", int(dup.nunique()), _examples(dup),
                     f"ids must be unique within a wave; check {cb.source(id_var, wid)}")
    for item in label_differences(wave, wid, cb):
        rows.add("warning", wid, item["variable"], "value labels differ from codebook (codebook used)",
                 item["count"], item["detail"], f"update variables.{item['variable']}.values or the file")
    _check_missing_labels(wave, wid, cb, rows, skip)
    if skip:
        rows.add("info", wid, "", "checks on absent variables skipped", len(skip), sorted(skip),
                 "filters using them are not checked; fix the missing variables first")
    columns, kinds, _ = harmonise_wave(wave, wid, cb, skip=skip)
    index = pd.RangeIndex(len(wave.data))
    before = {n: k.copy() for n, k in kinds.items()}
    filter_rows = apply_filters(columns, kinds, wid, cb, index)
    for _, name, action, count, detail in filter_rows:
        not_asked = "not asked" in action
        changed = np.flatnonzero(before[name] != kinds[name]) if not_asked else np.array([], int)
        if not_asked and action.startswith("answered"):
            changed = changed[before[name][changed] == 0]
        elif not_asked:
            changed = changed[before[name][changed] > 0]
        check = {"answered though not asked -> NVT": "filter: answered though not asked",
                 "WN/GA/WZ though not asked -> NVT": "filter: WN/GA/WZ though not asked",
                 "NVT though asked": "filter: not answered (NVT) though asked"}[action]
        # format_number: id 10300001, not 1.03e+07
        example_ids = [f"{id_word} {format_number(v)}" for v in ids.to_numpy()[changed[:5]]]
        rows.add("warning", wid, name, check, count, example_ids or detail,
                 f"{detail}; loading sets these to NVT" if not_asked else f"{detail}; check the routing")
    if origin and cb.origin is not None:
        derive(columns, kinds, cb, index)
        origin_check(columns, wid, cb, rows, ids)


def _check_missing_labels(wave: Any, wid: str, cb: Codebook, rows: _Rows, skip: set[str]) -> None:
    """Warn where the file labels a missing code as another kind than the codebook (e.g. WZ vs GA)."""
    for name in cb.variables:
        source = cb.source(name, wid)
        if source is None or name in skip:
            continue
        labels = wave.meta.variable(source).value_labels
        for kind, codes in cb.missing_codes(name, wid).items():
            for code in codes:
                text = labels.get(code)
                file_kind = kind_of_label(text)
                if file_kind and file_kind != kind:
                    rows.add("warning", wid, name, "missing code kind differs from file label", 1,
                             f"{format_number(code)} is {kind} in the codebook, labelled {text!r} in the file",
                             f"check variables.{name}.waves.{wid}.missing")


def origin_check(columns: Mapping[str, Any], wid: str, cb: Codebook, rows: _Rows, ids: pd.Series) -> None:
    """Warn about respondents whose derived origin group differs from their frame group.

    The rule set, field roles and reference date come from the codebook's
    ``origin`` section; a classification error becomes an error row.
    """
    spec = cb.origin
    assert spec is not None
    ref_date = spec.ref_date.get(wid) or cb.wave(wid).ref_date or _dt_from_year(cb.wave(wid).year)
    frame = pd.DataFrame({v: columns[v] for v in spec.fields.values()})
    try:
        result = classify(frame, rule=spec.rule, ref_date=str(ref_date), fields=dict(spec.fields))
    except SidError as exc:
        rows.add("error", wid, spec.frame, "origin classification", 1, [exc.what], exc.line())
        return
    labels = cb.value_labels(spec.frame)
    frame_group = pd.Series(columns[spec.frame]).map(labels)
    derived = pd.Series(result["origin_group"].to_numpy(dtype=object))
    differ = frame_group.notna().to_numpy() & (derived.to_numpy() != frame_group.to_numpy())
    if differ.any():
        pairs = pd.Series([f"{a}->{b}" for a, b in zip(frame_group[differ], derived[differ], strict=True)])
        top = ", ".join(f"{k} ({v})" for k, v in pairs.value_counts().head(4).items())
        ex = ids.to_numpy()[np.flatnonzero(differ)[:5]]
        rows.add("warning", wid, spec.frame, f"frame group differs from origin ({spec.rule})",
                 int(differ.sum()), f"{top}; e.g. ids {show_values(list(ex))}",
                 "expected for some (naturalisation, mixed parents); check the frame if many")


def _dt_from_year(year: int) -> str:
    return f"{year}-01-01"


# --------------------------------------------------------------------------- printing


def format_table(result: ValidationResult) -> str:
    """A plain-text table of the result plus a summary line."""
    table = result.table
    lines = []
    if len(table):
        shown = table.astype(str)
        widths = {c: min(max(len(c), shown[c].str.len().max()), 60 if c in ("examples", "fix") else 40)
                  for c in COLUMNS}
        lines.append("  ".join(f"{c:<{widths[c]}}" for c in COLUMNS).rstrip())
        for _, row in shown.iterrows():
            lines.append("  ".join(f"{_clip(row[c], widths[c]):<{widths[c]}}" for c in COLUMNS).rstrip())
    waves = ", ".join(f"{w}: {p}" for w, p in result.files.items()) or "no file read"
    lines.append(f"{result.n_errors} error(s), {result.n_warnings} warning(s) ({waves})")
    return "\n".join(lines)


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


# --------------------------------------------------------------------------- codebook tools


def codebook_skeleton(meta: Any, wave_id: str | None = None) -> str:
    """YAML codebook skeleton from a file's metadata (``sid codebook init``): edit, then validate."""
    wid = wave_id or _guess_wave(meta)
    counts: dict[tuple[float, ...], int] = {}
    for v in meta.variables:
        if v.missing.values:
            key = tuple(sorted(float(c) for c in v.missing.values if not isinstance(c, str)))
            counts[key] = counts.get(key, 0) + 1
    default = max(counts, key=lambda k: counts[k]) if counts else ()
    default_kinds = _guess_kinds(default, meta)
    id_guess = next((v.name for v in meta.variables if "id" in v.name.lower()), meta.variables[0].name)
    weight_guess = next((v.name for v in meta.variables if "wt" in v.name.lower() or "gewicht" in
                         v.name.lower()), "TODO")
    variables: dict[str, Any] = {}
    for v in meta.variables:
        name = _identifier(v.name)
        entry: dict[str, Any] = {"label": {"nl": v.label or v.name, "en": None}}
        missing_codes = tuple(sorted(float(c) for c in v.missing.values if not isinstance(c, str)))
        valid_labels = {plain_number(k): t for k, t in v.value_labels.items()
                        if not isinstance(k, str) and float(k) not in missing_codes}
        if v.kind == "string":
            entry["type"] = "text"
        elif valid_labels:
            entry["type"] = "ordinal" if v.measure == "ordinal" else "categorical"
            entry["values"] = {k: {"nl": t, "en": None} for k, t in sorted(valid_labels.items())}
        else:
            entry["type"] = "continuous"
        if v.name == id_guess:
            entry["type"] = "id"
        elif v.name == weight_guess:
            entry["type"] = "weight"
        elif v.name.lower() in ("stratum", "strata", "psu", "cluster", "incl_prob", "fpc"):
            entry["type"] = "design"
        codes = sorted(valid_labels)
        # codes 1..k need no range; gaps or codes with decimals (1.5) get [lowest, highest]
        whole = all(isinstance(c, int) for c in codes)
        if entry["type"] in ("categorical", "ordinal") and codes and (
                not whole or codes != list(range(int(codes[0]), int(codes[-1]) + 1))):
            entry["valid_range"] = [codes[0], codes[-1]]
        wave_entry: dict[str, Any] = {"source": v.name}
        if missing_codes and (missing_codes != default
                              or entry["type"] not in ("categorical", "ordinal", "count")):
                wave_entry["missing"] = _guess_kinds(missing_codes, meta, v)
        entry["waves"] = {wid: wave_entry}
        variables[name] = entry
    doc = {
        "name": Path(meta.path).stem if meta.path else "codebook",
        "waves": {wid: {
            "year": int(wid) if wid.isdigit() else 0,
            "file": Path(meta.path).name if meta.path else "TODO",
            "encoding": meta.encoding,
            "id": _identifier(id_guess),
            "design": {"weight": _identifier(weight_guess)},
            "missing": default_kinds,
        }},
        "variables": variables,
    }
    header = ("# Codebook skeleton made by `sid codebook init` from "
              f"{meta.path or 'a wave'}.\n# Fill in English labels (en: null), check types, "
              "missing kinds and design variables, then run `sid validate`.\n")
    return header + yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=100)


def _identifier(name: str) -> str:
    out = "".join(c if c.isalnum() or c == "_" else "_" for c in name.lower())
    return out if out and not out[0].isdigit() else f"v_{out}"


def _guess_wave(meta: Any) -> str:
    match = re.search(r"(19|20)\d\d", Path(meta.path or "").name)
    return match.group(0) if match else "1"


def _guess_kinds(codes: Sequence[float], meta: Any, var: Any = None) -> dict[str, list[Any]]:
    """Missing kinds from value labels (weet niet -> WN ...), else by order NVT, WN, GA."""
    labels: dict[float, str] = {}
    sources = [var] if var is not None else list(meta.variables)
    for v in sources:
        for k, t in v.value_labels.items():
            kind = kind_of_label(t) if not isinstance(k, str) and float(k) in codes else None
            if kind is not None:
                labels.setdefault(float(k), kind)
    out: dict[str, list[Any]] = {}
    fallback = iter(("NVT", "WN", "GA", "WZ"))
    ordered = sorted(codes, key=lambda c: abs(c))
    for code in ordered:
        kind = labels.get(code) or next(fallback, "GA")
        out.setdefault(kind, []).append(plain_number(code))
    return out


def export_codebook(codebook: Codebook | str | os.PathLike[str], out: str | os.PathLike[str]) -> Path:
    """Write a readable codebook (.xlsx or .md): variables, labels, sources per wave, codes,
    missing kinds and filters. Written atomically."""
    cb = load_codebook(codebook)
    out = Path(out)
    suffix = out.suffix.lower()
    if suffix not in (".xlsx", ".md"):
        raise InputError("unknown output type", where=str(out), fix="use --out codebook.xlsx or codebook.md")
    variables, values = codebook_tables(cb)
    with atomic_output(out) as tmp:
        if suffix == ".xlsx":
            with pd.ExcelWriter(tmp, engine="openpyxl") as writer:
                variables.to_excel(writer, sheet_name="variabelen", index=False)
                values.to_excel(writer, sheet_name="codes", index=False)
                _mr_table(cb).to_excel(writer, sheet_name="meerkeuzesets", index=False)
        else:
            tmp.write_text(_markdown(cb, variables, values), encoding="utf-8")
    return out


def codebook_tables(cb: Codebook) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Two tidy tables: one row per variable, one row per (variable, code)."""
    var_rows, code_rows = [], []
    waves = list(cb.waves)
    for name in cb.names:
        d = cb.definition(name)
        row: dict[str, Any] = {"naam": name, "label": d.label.nl, "label_en": d.label.en or "",
                               "type": d.type}
        is_var = name in cb.variables
        row["gevraagd_aan"] = (d.asked_if or "") if isinstance(d, Variable) else ""
        row["afgeleid"] = d.expr if isinstance(d, Derived) else ""
        for w in waves:
            if not is_var:
                row[f"bron_{w}"] = ""
                row[f"missing_{w}"] = ""
                row[f"hercodering_{w}"] = ""
                continue
            row[f"bron_{w}"] = cb.source(name, w) or ""
            row[f"missing_{w}"] = "; ".join(f"{k} {show_values(v)}" for k, v in cb.missing_codes(name, w).items())
            row[f"hercodering_{w}"] = "; ".join(format_rule(r) for r in cb.recode_rules(name, w))
        var_rows.append(row)
        for code, text in d.values.items():
            code_rows.append({"naam": name, "code": plain_number(code), "label": text.nl, "label_en": text.en or ""})
    return pd.DataFrame(var_rows), pd.DataFrame(code_rows, columns=["naam", "code", "label", "label_en"])


def _mr_table(cb: Codebook) -> pd.DataFrame:
    return pd.DataFrame([{"naam": n, "label": m.label.nl, "label_en": m.label.en or "",
                          "items": ", ".join(m.items), "geteld": plain_number(m.counted)}
                         for n, m in cb.mr_sets.items()], columns=["naam", "label", "label_en", "items", "geteld"])


def _markdown(cb: Codebook, variables: pd.DataFrame, values: pd.DataFrame) -> str:
    def md(frame: pd.DataFrame) -> str:
        head = "| " + " | ".join(frame.columns) + " |"
        sep = "|" + "---|" * len(frame.columns)
        body = ["| " + " | ".join(str(v).replace("|", "\\|") for v in row) + " |"
                for row in frame.itertuples(index=False)]
        return "\n".join([head, sep, *body])

    parts = [f"# Codeboek {cb.spec.name}", ""]
    if cb.spec.description:
        parts += [cb.spec.description, ""]
    parts += ["## Golven", ""]
    parts.append(md(pd.DataFrame([{"golf": w, "jaar": s.year, "bestand": s.file, "id": s.id,
                                   "design": ", ".join(f"{k}={v}" for k, v in s.design.model_dump().items() if v),
                                   "missing": "; ".join(f"{k} {show_values(v)}" for k, v in s.missing.items())}
                                  for w, s in cb.waves.items()])))
    parts += ["", "## Variabelen", "", md(variables), "", "## Codes", "", md(values), ""]
    if cb.mr_sets:
        parts += ["## Meerkeuzesets", "", md(_mr_table(cb)), ""]
    return "\n".join(parts)
