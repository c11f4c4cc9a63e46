"""Classifying persons: origin, origin group, country group, generation, per row.

The engine interprets a :class:`~sid.origin.rules.RuleSet`, vectorised: each
nationality field is factorised once, conditions are evaluated on the ~250
country rows and gathered per person. Every classification returns one row per
input row (same index, nothing dropped) with the fixed columns of
:data:`RESULT_COLUMNS`. :func:`origin_mismatches` compares the derived origin
group with the sampling frame's; :func:`country_table` shows a rule set's
country table and groupings on a date.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

from sid.errors import InputError, show_values
from sid.origin.conditions import evaluate
from sid.origin.countries import parse_date
from sid.origin.rules import ROLES, RuleSet, load_rules

__all__ = ["DEFAULT_FIELDS", "MISMATCH_COLUMNS", "ON_UNKNOWN", "RESULT_COLUMNS", "OriginWarning",
           "classify", "country_table", "origin_mismatches"]

#: Column names of the SID files for each role (birth is opt-in: pass it in ``fields``).
DEFAULT_FIELDS: Mapping[str, str] = MappingProxyType(
    {"current": "nat_huidig", "first": "nat_eerste", "father": "nat_vader", "mother": "nat_moeder"}
)
#: Columns of :func:`classify`'s result, in this order.
RESULT_COLUMNS = (
    "origin_country", "origin_group", "country_group", "category",
    "foreign_origin", "generation", "decided_by",
)
#: Columns of :func:`origin_mismatches`' result, in this order.
MISMATCH_COLUMNS = (
    "id", "frame_code", "frame_group", "derived_group", "origin_country", "decided_by", "category",
)
ON_UNKNOWN = ("error", "fallback", "missing")


class OriginWarning(UserWarning):
    """Unknown country codes were mapped to a fallback or treated as missing."""


def _normalise(value: Any) -> str:
    """Upper case, no surrounding spaces; '' means unknown."""
    return str(value).strip().upper()


def _factorize(series: pd.Series) -> tuple[np.ndarray, list[str], np.ndarray]:
    """Integer codes (-1 = missing), normalised uniques, and their counts."""
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    norm = [_normalise(u) for u in uniques]  # loop over distinct values only
    counts = np.bincount(codes[codes >= 0], minlength=len(norm))
    return np.asarray(codes, dtype=np.int64), norm, counts


# --------------------------------------------------------------------------- classify


def _frame_of(df: Any) -> pd.DataFrame:
    data = getattr(df, "data", df)  # a sid.io.Wave or a DataFrame
    if not isinstance(data, pd.DataFrame):
        raise InputError("classify needs a pandas DataFrame or a Wave", where="df",
                         got=type(df).__name__, fix="pass wave.data or a DataFrame")
    return data


def _resolve_fields(
    rules: RuleSet, data: pd.DataFrame, fields: Mapping[str, str | None] | None
) -> dict[str, str | None]:
    given = dict(fields or {})
    unknown = sorted(set(given) - set(ROLES))
    if unknown:
        raise InputError(f"unknown field role(s) {show_values(unknown)}", where="fields",
                         fix=f"use roles {', '.join(ROLES)}")
    mapping: dict[str, str | None] = {}
    for role in rules.fields:
        mapping[role] = given[role] if role in given else DEFAULT_FIELDS.get(role)
    for role in rules.optional_fields:
        mapping[role] = given.get(role)  # optional roles are used only when given
    absent = [f"{role}={col}" for role, col in mapping.items()
              if col is not None and col not in data.columns]
    if absent:
        raise InputError(f"nationality column(s) not in the data: {', '.join(absent)}",
                         where="fields", got=f"columns {show_values(list(data.columns), 12)}",
                         fix="map the roles to your columns, e.g. fields={'current': 'nat_huidig'}, "
                             "or None for a role with no data (counted as unknown)")
    return mapping


def _encode_fields(
    rules: RuleSet, data: pd.DataFrame, mapping: Mapping[str, str | None], on_unknown: str
) -> tuple[dict[str, tuple], list[str]]:
    """Factorise each field and find the codes that are neither in the table nor aliases."""
    table = rules.countries
    known = set(table.codes)
    encoded: dict[str, tuple] = {}
    bad: dict[str, dict[str, int]] = {}
    for role, col in mapping.items():
        if col is None:
            continue
        codes, norm, counts = _factorize(data[col])
        norm = [table.aliases.get(n, n) for n in norm]
        encoded[role] = (codes, norm)
        for n, k in zip(norm, counts, strict=True):
            if n and n not in known:
                bad.setdefault(col, {})[n] = bad.get(col, {}).get(n, 0) + int(k)
    extra: list[str] = []
    if bad:
        listing = "; ".join(
            f"{col}: " + ", ".join(f"{c!r} x{k}" for c, k in sorted(codes.items()))
            for col, codes in bad.items()
        )
        total = sum(sum(c.values()) for c in bad.values())
        if on_unknown == "error":
            raise InputError(
                f"{total} value(s) are not country codes of {Path(table.path).name}",
                where=", ".join(bad), got=listing,
                fix="use ISO 3166-1 alpha-2 codes, add an alias to the alias table, or pass "
                    "on_unknown='fallback' (a foreign country in the catch-all group) or 'missing'",
            )
        treat = ("foreign countries in each grouping's catch-all group" if on_unknown == "fallback"
                 else "unknown (missing)")
        warnings.warn(f"origin: {total} value(s) with unknown country codes treated as {treat}: "
                      f"{listing}", OriginWarning, stacklevel=3)
        if on_unknown == "fallback":
            extra = sorted({c for codes in bad.values() for c in codes})
    return encoded, extra


def classify(
    df: Any,
    rule: str | os.PathLike[str] = "vl2013",
    ref_date: Any = "2022-01-01",
    fields: Mapping[str, str | None] | None = None,
    *,
    params: Mapping[str, Any] | None = None,
    grouping: str | None = None,
    country_grouping: str | None = None,
    on_unknown: str = "error",
) -> pd.DataFrame:
    """Derive origin for every row of ``df`` under a rule set, on a reference date.

    ``fields`` maps roles (current, first, father, mother, birth) to columns;
    missing roles default to the SID names (nat_huidig, nat_eerste, nat_vader,
    nat_moeder); ``birth`` is used only when given; a role mapped to None
    counts as unknown. Codes are ISO alpha-2, any case, spaces ignored; "",
    None and NaN are unknown. Unknown codes raise :class:`InputError` listing
    them all, or with ``on_unknown="fallback"`` count as foreign countries in
    each grouping's catch-all group, or with ``"missing"`` as unknown (both
    with an :class:`OriginWarning`).

    Returns a DataFrame with ``df``'s index and the columns of
    :data:`RESULT_COLUMNS`: origin_country (ISO code), origin_group
    (``grouping``, default the rule set's: the SID groups), country_group
    (``country_grouping``, e.g. the Flemish country groups or Statbel's),
    category (the rule set's class), foreign_origin (bool), generation
    (Int64: 1, 2 or <NA>) and decided_by (the field whose country was taken,
    or "default").
    """
    if on_unknown not in ON_UNKNOWN:
        raise InputError("on_unknown must be one of " + ", ".join(ON_UNKNOWN), where="on_unknown",
                         got=repr(on_unknown))
    rules = load_rules(rule)
    data = _frame_of(df)
    day = parse_date(ref_date)
    chosen = rules.resolve_params(params)
    group_names = {"grouping": grouping or rules.grouping,
                   "country_grouping": country_grouping or rules.country_grouping}
    for arg, name in group_names.items():
        if name not in rules.groupings:
            raise InputError(f"unknown grouping {name!r}", where=arg,
                             fix=f"choose from {', '.join(rules.groupings)}")
    mapping = _resolve_fields(rules, data, fields)
    encoded, extra = _encode_fields(rules, data, mapping, on_unknown)
    tab = rules.countries.tab(day, extra)
    row_of = {c: i for i, c in enumerate(tab.codes) if c is not None}
    n = len(data)
    idx: dict[str, np.ndarray] = {}
    for role in (*rules.fields, *rules.optional_fields):
        if role not in encoded:
            idx[role] = np.full(n, tab.unknown_row, dtype=np.int64)
            continue
        codes, norm = encoded[role]
        lut = np.array([row_of.get(c, tab.unknown_row) for c in norm] + [tab.unknown_row],
                       dtype=np.int64)
        idx[role] = lut[codes]  # code -1 (missing) picks the last entry: unknown

    # classes: first match wins
    cls = np.full(n, len(rules.classes) - 1, dtype=np.int64)
    for i in range(len(rules.classes) - 2, -1, -1):
        cls = np.where(evaluate(rules.classes[i].when, tab, idx), i, cls)
    foreign = np.array([c.foreign_origin for c in rules.classes], dtype=bool)[cls]

    # origin country: first matching take entry
    entries = rules.take_entries(chosen)
    decided_labels = [*dict.fromkeys(f for f, _ in entries), "default"]
    decided = np.full(n, len(decided_labels) - 1, dtype=np.int64)
    country = np.full(n, row_of[rules.default_country], dtype=np.int64)
    for role, cond in reversed(entries):
        mask = evaluate(cond, tab, idx)
        country = np.where(mask, idx[role], country)
        decided = np.where(mask, decided_labels.index(role), decided)

    # generation: only for persons of foreign origin
    gen = np.zeros(n, dtype=np.int64)
    for gen_rule in reversed(rules.generation):
        gen = np.where(evaluate(gen_rule.when, tab, idx), gen_rule.value, gen)
    gen[~foreign] = 0

    cat_codes = np.where(country == tab.unknown_row, -1, country)
    present = np.unique(cat_codes[cat_codes >= 0])
    remap = np.full(len(tab.codes), -1, dtype=np.int64)
    remap[present] = np.arange(len(present))
    out = {
        "origin_country": pd.Categorical.from_codes(
            np.where(cat_codes >= 0, remap[np.maximum(cat_codes, 0)], -1),
            categories=[str(c) for c in tab.codes[present]]),
    }
    for column, arg in (("origin_group", "grouping"), ("country_group", "country_grouping")):
        g = rules.groupings[group_names[arg]]
        out[column] = pd.Categorical.from_codes(g.assign(tab)[country], categories=list(g.order))
    out["category"] = pd.Categorical.from_codes(cls, categories=[c.category for c in rules.classes])
    out["foreign_origin"] = foreign
    out["generation"] = pd.arrays.IntegerArray(gen, gen == 0)
    out["decided_by"] = pd.Categorical.from_codes(decided, categories=decided_labels)
    result = pd.DataFrame(out, index=data.index)
    return result.loc[:, list(RESULT_COLUMNS)]


# --------------------------------------------------------------------------- frame check


def origin_mismatches(
    df: Any,
    frame_col: str,
    frame_labels: Mapping[Any, str] | None = None,
    *,
    id_col: str | None = None,
    rule: str | os.PathLike[str] = "vl2013",
    ref_date: Any = "2022-01-01",
    fields: Mapping[str, str | None] | None = None,
    params: Mapping[str, Any] | None = None,
    grouping: str | None = None,
    on_unknown: str = "error",
) -> pd.DataFrame:
    """Respondents whose derived origin group differs from their frame origin group.

    ``frame_col`` holds the sampling frame's group (codes such as 1..7, or
    labels); ``frame_labels`` maps codes to group labels of the grouping
    (default: the grouping's ``frame_codes``, for SID 1 Belgisch ... 7
    Afghaans). A missing frame value is reported as a mismatch with
    frame_group <NA>. Returns the columns of :data:`MISMATCH_COLUMNS`, one row
    per mismatching respondent (``id`` from ``id_col``, else the index), in
    data order.
    """
    rules = load_rules(rule)
    data = _frame_of(df)
    g = rules.groupings.get(grouping or rules.grouping)
    if g is None:
        raise InputError(f"unknown grouping {grouping!r}", where="grouping",
                         fix=f"choose from {', '.join(rules.groupings)}")
    for col in (frame_col, id_col):
        if col is not None and col not in data.columns:
            raise InputError(f"column {col!r} not in the data", where="origin_mismatches",
                             fix=f"choose from {show_values(list(data.columns), 12)}")
    labels = dict(frame_labels) if frame_labels is not None else \
        {code: label for label, code in g.frame_codes.items()}
    bad_labels = sorted({v for v in labels.values() if v not in g.order})
    if bad_labels:
        raise InputError(f"frame labels not in grouping {g.name}: {show_values(bad_labels)}",
                         where="frame_labels", fix=f"use {', '.join(g.order)}")
    lookup: dict[Any, str] = {label: label for label in g.order}
    for code, label in labels.items():
        lookup[code] = label
        if isinstance(code, int | float) and not isinstance(code, bool):
            lookup[float(code)] = label
    frame = data[frame_col]
    codes, uniques = pd.factorize(frame, use_na_sentinel=True)
    uniq_labels: list[str | None] = []
    unmapped: dict[Any, int] = {}
    counts = np.bincount(codes[codes >= 0], minlength=len(uniques))
    for u, k in zip(uniques, counts, strict=True):
        key = float(u) if isinstance(u, int | float | np.number) and not isinstance(u, bool) else u
        if key in lookup:
            uniq_labels.append(lookup[key])
        else:
            unmapped[u] = int(k)
            uniq_labels.append(None)
    if unmapped:
        raise InputError(f"frame origin codes without a label in {frame_col}",
                         where=frame_col,
                         got=", ".join(f"{show_values([u])} x{k}" for u, k in unmapped.items()),
                         fix="pass frame_labels={code: group, ...} covering every code")
    res = classify(data, rule=rule, ref_date=ref_date, fields=fields, params=params,
                   grouping=g.name, on_unknown=on_unknown)
    frame_lab = np.array([*uniq_labels, None], dtype=object)[codes]
    derived = res["origin_group"].astype(object).to_numpy()
    mismatch = frame_lab != derived  # None (missing frame) never equals a group
    ids = data[id_col].to_numpy() if id_col else data.index.to_numpy()
    out = pd.DataFrame({
        "id": ids[mismatch],
        "frame_code": frame.to_numpy()[mismatch],
        "frame_group": pd.Categorical(frame_lab[mismatch], categories=list(g.order)),
        "derived_group": res["origin_group"].to_numpy()[mismatch],
        "origin_country": res["origin_country"].to_numpy()[mismatch],
        "decided_by": res["decided_by"].to_numpy()[mismatch],
        "category": res["category"].to_numpy()[mismatch],
    })
    return out.loc[:, list(MISMATCH_COLUMNS)]


# --------------------------------------------------------------------------- lookup


def country_table(
    ref_date: Any = "2022-01-01",
    rule: str | os.PathLike[str] = "vl2013",
) -> pd.DataFrame:
    """The rule set's country table on ``ref_date``: attributes plus every grouping's group.

    Columns: code, name_nl, name_en, region, eu15, eu_from, eu_to, in_eu, then
    ``group_<name>`` for each grouping (sid, vlaams, statbel).
    """
    rules = load_rules(rule)
    table = rules.countries
    tab = table.tab(ref_date)
    out = table.frame.copy()
    out["in_eu"] = table.in_eu(ref_date)
    n = len(out)
    for name, g in rules.groupings.items():
        out[f"group_{name}"] = pd.Categorical.from_codes(g.assign(tab)[:n], categories=list(g.order))
    return out
