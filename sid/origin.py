"""Origin (herkomst) from nationalities: one engine, rule sets written as data.

A rule set (``sid/data/origin/<name>.yaml``) says, in a small rule language,
who is of foreign origin, which field's country is the origin country, and the
generation. The engine interprets it, vectorised: a new definition needs a new
YAML file, not new code. Shipped rule sets:

* ``vl2013``: the Flemish definition (any of current, own first, father's
  first, mother's first nationality non-Belgian; country father -> mother ->
  own first -> current; unknown parents count as Belgian);
* ``statbel2021``: niet-Belg / Belg met buitenlandse achtergrond / Belg met
  Belgische achtergrond, groups Belgium / neighbours incl. UK / rest of EU27 /
  non-EU27, with the self/father/mother priority as parameter ``priority``;
* ``vesoc2014``: migration background (nationality outside the EU15, own or a
  parent's).

Countries are ISO 3166-1 alpha-2 codes, looked up in a versioned CSV
(``sid/data/countries/countries_v1.csv``) that carries each country's region,
EU15 membership and EU membership dates, so groupings such as EU13 or
"Overige EU27" are keyed on a reference date (UK out from 2020-02-01, Croatia in
from 2013-07-01). Groupings (``sid/data/origin/groupings.yaml``) are tables
or ordered rules too. See ``docs/origin.md`` for the rule language.

Every classification returns one row per input row (same index, nothing
dropped) with the fixed columns of :data:`RESULT_COLUMNS`.
"""

from __future__ import annotations

import datetime as _dt
import os
import re
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd
import yaml

from sid.errors import CodebookError, InputError, show_values
from sid.resources import DATA_DIR as CODEBOOKS

RULES_DIR = CODEBOOKS / "origin"
COUNTRIES_DIR = CODEBOOKS / "countries"

#: Field roles a rule set can refer to.
ROLES = ("current", "first", "father", "mother", "birth")
#: Column names of the SID files for each role (birth is opt-in: pass it in ``fields``).
DEFAULT_FIELDS: Mapping[str, str] = MappingProxyType(
    {"current": "nat_huidig", "first": "nat_eerste", "father": "nat_vader", "mother": "nat_moeder"}
)
#: Predicates on a country; every predicate but ``unknown`` is False for an unknown country.
PREDICATES = (
    "known", "unknown", "belgian", "foreign", "in_eu", "outside_eu", "in_eu15", "outside_eu15",
)
REGIONS = ("europe", "north_africa", "africa", "asia", "americas", "oceania", "antarctica")
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
BELGIUM = "BE"
_CODE_RE = re.compile(r"^[A-Z]{2}$")


class OriginWarning(UserWarning):
    """Unknown country codes were mapped to a fallback or treated as missing."""


# --------------------------------------------------------------------------- conditions
#
# A condition is a tuple tree:
#   ("leaf", field | None, preds, codes | None, regions | None)   all parts must hold
#   ("any", (cond, ...)), ("all", (cond, ...)), ("not", cond)


def _names(
    obj: Mapping, key: str, allowed: tuple[str, ...], what: str, path: str, problems: list[str]
) -> tuple[str, ...] | None:
    """The names under ``obj[key]`` (one or a list); None, with a problem noted, if any is not
    one of ``allowed`` (non-strings included: they are reported, not hashed)."""
    raw = obj[key] if isinstance(obj[key], list) else [obj[key]]
    bad = [v for v in raw if not isinstance(v, str) or v not in allowed]
    if bad or not raw:
        problems.append(f"{path}.{key}: unknown {what}(s) {bad or raw!r} "
                        f"(choose from {', '.join(allowed)})")
        return None
    return tuple(raw)


def _parse_cond(
    obj: Any,
    path: str,
    problems: list[str],
    *,
    fields: frozenset[str] | None,
    codes: frozenset[str],
) -> tuple | None:
    """Parse a YAML condition; ``fields`` None means a country-level condition (no ``field``)."""
    if not isinstance(obj, Mapping) or not obj:
        problems.append(f"{path}: a condition must be a mapping, got {obj!r}")
        return None
    keys = set(obj)
    if keys & {"any", "all", "not"}:
        if len(keys) != 1:
            problems.append(f"{path}: 'any', 'all' and 'not' stand alone, got keys {sorted(keys)}")
            return None
        (op,) = keys
        if op == "not":
            inner = _parse_cond(obj["not"], f"{path}.not", problems, fields=fields, codes=codes)
            return None if inner is None else ("not", inner)
        items = obj[op]
        if not isinstance(items, list) or not items:
            problems.append(f"{path}.{op}: must be a non-empty list of conditions")
            return None
        parts = [
            _parse_cond(item, f"{path}.{op}[{i}]", problems, fields=fields, codes=codes)
            for i, item in enumerate(items)
        ]
        return None if any(p is None for p in parts) else (op, tuple(parts))
    allowed = {"is", "in", "region"} | ({"field"} if fields is not None else set())
    extra = keys - allowed
    ok = True
    if extra:
        problems.append(f"{path}: unknown key(s) {sorted(extra)} (allowed: {sorted(allowed)})")
        ok = False
    if not keys & {"is", "in", "region"}:
        problems.append(f"{path}: a condition needs 'is', 'in' or 'region'")
        ok = False
    role = None
    if fields is not None:
        role = obj.get("field")
        if role not in fields:
            problems.append(f"{path}.field: {role!r} is not a field of this rule set "
                            f"(choose from {sorted(fields)})")
            ok = False
    preds = _names(obj, "is", PREDICATES, "predicate", path, problems) if "is" in obj else ()
    regions = _names(obj, "region", REGIONS, "region", path, problems) if "region" in obj else None
    if preds is None or ("region" in obj and regions is None):
        ok = False
    code_set = None
    if "in" in obj:
        raw = obj["in"]
        if not isinstance(raw, list) or not raw:
            problems.append(f"{path}.in: must be a non-empty list of country codes")
            ok = False
        else:
            bad = [c for c in raw if not isinstance(c, str) or c not in codes]
            if bad:
                problems.append(f"{path}.in: not in the country table: {show_values(bad, 20)}")
                ok = False
            else:
                code_set = frozenset(raw)
    region_set = None if regions is None else frozenset(regions)
    return ("leaf", role, preds, code_set, region_set) if ok else None


def _cond_fields(cond: tuple) -> set[str]:
    """Fields a condition refers to."""
    if cond[0] == "leaf":
        return {cond[1]} if cond[1] else set()
    if cond[0] == "not":
        return _cond_fields(cond[1])
    return set().union(*(_cond_fields(c) for c in cond[1]))


@dataclass(frozen=True, eq=False)
class _Tab:
    """Country attributes at one reference date over an extended table.

    Rows ``0..n-1`` are the table's countries, row ``n`` is "unknown", rows
    after it are unknown codes mapped by ``on_unknown="fallback"``.
    """

    codes: np.ndarray  # object: code per row, None for the unknown row
    region: np.ndarray  # object
    attrs: Mapping[str, np.ndarray]  # predicate -> bool per row
    unknown_row: int

    def leaf(self, cond: tuple) -> np.ndarray:
        _, _, preds, code_set, region_set = cond
        mask = np.ones(len(self.codes), dtype=bool)
        for p in preds:
            mask &= self.attrs[p]
        if code_set is not None:
            mask &= np.isin(self.codes, list(code_set))
        if region_set is not None:
            mask &= np.isin(self.region, list(region_set))
        return mask


def _eval(cond: tuple, tab: _Tab, idx: Mapping[str, np.ndarray] | None) -> np.ndarray:
    """Evaluate a condition: per country row (``idx`` None) or per data row."""
    op = cond[0]
    if op == "leaf":
        country_mask = tab.leaf(cond)
        return country_mask if idx is None else country_mask[idx[cond[1]]]
    if op == "not":
        return ~_eval(cond[1], tab, idx)
    parts = [_eval(c, tab, idx) for c in cond[1]]
    return np.logical_or.reduce(parts) if op == "any" else np.logical_and.reduce(parts)


# --------------------------------------------------------------------------- country table


@dataclass(frozen=True, eq=False)
class CountryTable:
    """The country lookup: one row per code with region, EU15 flag and EU dates."""

    path: str
    version: str
    frame: pd.DataFrame  # code, name_nl, name_en, region, eu15 (bool), eu_from, eu_to (datetime64)
    aliases: Mapping[str, str]
    alias_path: str | None

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(self.frame["code"])

    def in_eu(self, ref_date: Any) -> np.ndarray:
        """EU membership of each country on ``ref_date`` (eu_from <= date < eu_to)."""
        day = _parse_date(ref_date)
        start = self.frame["eu_from"].to_numpy(dtype="datetime64[D]")
        end = self.frame["eu_to"].to_numpy(dtype="datetime64[D]")
        return ~np.isnat(start) & (start <= day) & (np.isnat(end) | (day < end))

    def tab(self, ref_date: Any, extra_codes: Sequence[str] = ()) -> _Tab:
        codes = np.array([*self.frame["code"], None, *extra_codes], dtype=object)
        n = len(self.frame)
        m = len(codes)
        known = np.ones(m, dtype=bool)
        known[n] = False
        in_eu = np.zeros(m, dtype=bool)
        in_eu[:n] = self.in_eu(ref_date)
        eu15 = np.zeros(m, dtype=bool)
        eu15[:n] = self.frame["eu15"].to_numpy(dtype=bool)
        belgian = codes == BELGIUM
        attrs = {
            "known": known,
            "unknown": ~known,
            "belgian": belgian,
            "foreign": known & ~belgian,
            "in_eu": in_eu,
            "outside_eu": known & ~in_eu,
            "in_eu15": eu15,
            "outside_eu15": known & ~eu15,
        }
        region = np.array([*self.frame["region"], None, *([None] * len(extra_codes))], dtype=object)
        return _Tab(codes=codes, region=region, attrs=MappingProxyType(attrs), unknown_row=n)


def _version_of(path: Path) -> str:
    match = re.search(r"_v(\d+)$", path.stem)
    return match.group(1) if match else ""


def _read_csv(path: Path, where: str) -> pd.DataFrame:
    if not path.is_file():
        raise CodebookError("file not found", where=where, got=str(path),
                            fix="check the file name in the rule set")
    # keep_default_na=False: "NA" is Namibia, not a missing value
    return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")


_COUNTRY_COLUMNS = ("code", "name_nl", "name_en", "region", "eu15", "eu_from", "eu_to")
_TABLE_CACHE: dict[tuple, CountryTable] = {}


def load_countries(
    table: str | os.PathLike[str] = "countries_v1.csv",
    aliases: str | os.PathLike[str] | None = "aliases_v1.csv",
) -> CountryTable:
    """Read and validate a country lookup table (and its alias table); all problems at once.

    Bare file names are looked up in ``sid/data/countries/``.
    """
    path = _resolve(table, COUNTRIES_DIR)
    alias_path = None if aliases is None else _resolve(aliases, COUNTRIES_DIR)
    key = (str(path), _mtime(path), str(alias_path), _mtime(alias_path))
    if key in _TABLE_CACHE:
        return _TABLE_CACHE[key]
    raw = _read_csv(path, str(path))
    problems: list[str] = []
    missing = [c for c in _COUNTRY_COLUMNS if c not in raw.columns]
    if missing:
        raise CodebookError("country table lacks columns", where=str(path), got=show_values(missing),
                            fix=f"the header must have {', '.join(_COUNTRY_COLUMNS)}")
    raw = raw.apply(lambda s: s.str.strip())
    for i, row in enumerate(raw.itertuples(index=False), start=2):  # small table: 250 rows
        where = f"line {i} ({row.code!r})"
        if not _CODE_RE.match(row.code):
            problems.append(f"{where}: code must be two capital letters")
        if row.region not in REGIONS:
            problems.append(f"{where}: region {row.region!r} not one of {', '.join(REGIONS)}")
        if row.eu15 not in ("0", "1"):
            problems.append(f"{where}: eu15 must be 0 or 1, got {row.eu15!r}")
        dates = {}
        for col in ("eu_from", "eu_to"):
            value = getattr(row, col)
            try:
                dates[col] = _dt.date.fromisoformat(value) if value else None
            except ValueError:
                problems.append(f"{where}: {col} {value!r} is not a date YYYY-MM-DD")
                dates[col] = None
        if dates["eu_to"] and not dates["eu_from"]:
            problems.append(f"{where}: eu_to without eu_from")
        if dates["eu_to"] and dates["eu_from"] and dates["eu_to"] <= dates["eu_from"]:
            problems.append(f"{where}: eu_to must be after eu_from")
        if row.eu15 == "1" and not (dates["eu_from"] and dates["eu_from"] < _dt.date(2004, 5, 1)):
            problems.append(f"{where}: an EU15 country must have joined before 2004-05-01")
    dupes = raw["code"][raw["code"].duplicated()].tolist()
    if dupes:
        problems.append(f"duplicate codes: {show_values(dupes, 20)}")
    if BELGIUM not in set(raw["code"]):
        problems.append(f"the table must contain {BELGIUM}")
    alias_map: dict[str, str] = {}
    if alias_path is not None:
        al = _read_csv(alias_path, str(alias_path))
        if not {"alias", "code"} <= set(al.columns):
            problems.append(f"{alias_path.name}: header must have alias,code")
        else:
            codes = set(raw["code"])
            for i, (a, c) in enumerate(zip(al["alias"].str.strip().str.upper(),
                                           al["code"].str.strip(), strict=True), start=2):
                if c not in codes:
                    problems.append(f"{alias_path.name} line {i}: alias {a!r} points to {c!r}, "
                                    "which is not in the country table")
                elif a in codes:
                    problems.append(f"{alias_path.name} line {i}: alias {a!r} is itself a country code")
                else:
                    alias_map[a] = c
    if problems:
        raise CodebookError(f"invalid country table ({len(problems)} problem(s))", where=str(path),
                            problems=tuple(problems), fix="correct the listed lines")
    frame = pd.DataFrame({
        "code": raw["code"].astype(object),
        "name_nl": raw["name_nl"].astype(object),
        "name_en": raw["name_en"].astype(object),
        "region": raw["region"].astype(object),
        "eu15": raw["eu15"] == "1",
        "eu_from": pd.to_datetime(raw["eu_from"].replace("", None)),
        "eu_to": pd.to_datetime(raw["eu_to"].replace("", None)),
    })
    result = CountryTable(path=str(path), version=_version_of(path), frame=frame,
                          aliases=MappingProxyType(alias_map),
                          alias_path=None if alias_path is None else str(alias_path))
    _TABLE_CACHE[key] = result
    return result


# --------------------------------------------------------------------------- groupings


@dataclass(frozen=True, eq=False)
class Grouping:
    """Country -> group, from a lookup table (plus default) or ordered rules (first match)."""

    name: str
    title: str
    order: tuple[str, ...]
    default: str | None = None
    table: Mapping[str, str] | None = None
    rules: tuple[tuple[str, tuple | None], ...] | None = None
    frame_codes: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))

    def assign(self, tab: _Tab) -> np.ndarray:
        """Index into :attr:`order` for every row of the extended country table."""
        pos = {g: i for i, g in enumerate(self.order)}
        if self.table is not None:
            default = pos[self.default]  # type: ignore[index]
            return np.array([pos[self.table[c]] if c in self.table else default for c in tab.codes],
                            dtype=np.int64)
        assert self.rules is not None
        out = np.full(len(tab.codes), pos[self.rules[-1][0]], dtype=np.int64)
        for group, cond in reversed(self.rules[:-1]):
            out = np.where(_eval(cond, tab, None), pos[group], out)  # type: ignore[arg-type]
        return out


def _load_groupings(path: Path, countries: CountryTable, problems: list[str]) -> dict[str, Grouping]:
    where = path.name
    doc = _read_yaml(path)
    if not isinstance(doc, Mapping) or not isinstance(doc.get("groupings"), Mapping):
        problems.append(f"{where}: must be a mapping with key 'groupings'")
        return {}
    codes = frozenset(countries.codes)
    out: dict[str, Grouping] = {}
    for name, spec in doc["groupings"].items():
        at = f"{where}: groupings.{name}"
        if not isinstance(spec, Mapping):
            problems.append(f"{at}: must be a mapping")
            continue
        extra = set(spec) - {"title", "table", "default", "order", "rules", "frame_codes"}
        if extra:
            problems.append(f"{at}: unknown key(s) {sorted(extra)}")
        frame_codes = spec.get("frame_codes") or {}
        if ("table" in spec) == ("rules" in spec):
            problems.append(f"{at}: give either 'table' (with 'default' and 'order') or 'rules'")
            continue
        if "table" in spec:
            order = spec.get("order")
            default = spec.get("default")
            if not isinstance(order, list) or not order or len(set(order)) != len(order):
                problems.append(f"{at}.order: a list of distinct group labels is required")
                continue
            if default not in order:
                problems.append(f"{at}.default: {default!r} is not in order")
            tpath = _resolve(spec["table"], COUNTRIES_DIR, path.parent)
            try:
                tab = _read_csv(tpath, f"{at}.table")
            except CodebookError as exc:
                problems.append(f"{at}.table: {exc.what} ({tpath})")
                continue
            if not {"code", "group"} <= set(tab.columns):
                problems.append(f"{at}.table: {tpath.name} needs columns code,group")
                continue
            mapping = dict(zip(tab["code"].str.strip(), tab["group"].str.strip(), strict=True))
            bad_codes = sorted(set(mapping) - codes)
            bad_groups = sorted(set(mapping.values()) - set(order))
            if bad_codes:
                problems.append(f"{at}.table: codes not in the country table: {show_values(bad_codes)}")
            if bad_groups:
                problems.append(f"{at}.table: groups not in order: {show_values(bad_groups)}")
            grouping = Grouping(name=name, title=spec.get("title", name), order=tuple(order),
                                default=default, table=MappingProxyType(mapping))
        else:
            rules = spec["rules"]
            if not isinstance(rules, list) or not rules:
                problems.append(f"{at}.rules: a non-empty list is required")
                continue
            parsed: list[tuple[str, tuple | None]] = []
            for i, rule in enumerate(rules):
                rat = f"{at}.rules[{i}]"
                if not isinstance(rule, Mapping) or not isinstance(rule.get("group"), str):
                    problems.append(f"{rat}: needs 'group' (a label) and 'when'")
                    continue
                last = i == len(rules) - 1
                if last and "when" in rule:
                    problems.append(f"{rat}: the last rule is the catch-all and has no 'when'")
                if not last and "when" not in rule:
                    problems.append(f"{rat}: only the last rule may lack 'when'")
                    continue
                cond = None
                if "when" in rule:
                    cond = _parse_cond(rule["when"], f"{rat}.when", problems, fields=None, codes=codes)
                parsed.append((rule["group"], cond))
            order = tuple(dict.fromkeys(g for g, _ in parsed))
            grouping = Grouping(name=name, title=spec.get("title", name), order=order,
                                rules=tuple(parsed))
        bad_frame = [g for g in frame_codes if g not in grouping.order]
        if bad_frame:
            problems.append(f"{at}.frame_codes: labels not in the grouping: {show_values(bad_frame)}")
        out[name] = Grouping(**{**grouping.__dict__,
                                "frame_codes": MappingProxyType(dict(frame_codes))})
    return out


# --------------------------------------------------------------------------- rule sets


@dataclass(frozen=True, eq=False)
class OriginClass:
    category: str
    foreign_origin: bool
    when: tuple | None


@dataclass(frozen=True, eq=False)
class RuleSet:
    """A parsed, validated origin rule set."""

    name: str
    version: str
    title: str
    source: str
    path: str
    countries: CountryTable
    groupings: Mapping[str, Grouping]
    grouping: str
    country_grouping: str
    fields: tuple[str, ...]
    optional_fields: tuple[str, ...]
    classes: tuple[OriginClass, ...]
    params: Mapping[str, tuple[tuple[str, ...], Mapping[str, tuple[tuple[str, tuple], ...]]]]
    take: tuple[tuple[str, Any], ...]  # ("field", (field, cond)) or ("param", name)
    default_country: str
    generation: tuple[tuple[int, tuple], ...]

    def resolve_params(self, params: Mapping[str, Any] | None) -> dict[str, tuple[str, ...]]:
        """Defaults overridden by ``params``; a priority must be a permutation of the choices."""
        params = dict(params or {})
        unknown = sorted(set(params) - set(self.params))
        if unknown:
            raise InputError(f"rule set {self.name} has no parameter(s) {show_values(unknown)}",
                             where="params", fix=f"choose from: {', '.join(self.params) or 'none'}")
        out = {}
        for name, (default, choices) in self.params.items():
            value = params.get(name, default)
            if isinstance(value, str):
                value = [v.strip() for v in value.split(",") if v.strip()]
            value = tuple(value)
            if sorted(value) != sorted(choices):
                raise InputError(f"parameter {name!r} of rule set {self.name} must be a permutation "
                                 f"of {', '.join(choices)}", where=f"params.{name}",
                                 got=show_values(value), fix=f"e.g. {', '.join(default)}")
            out[name] = value
        return out

    def take_entries(self, params: Mapping[str, tuple[str, ...]]) -> list[tuple[str, tuple]]:
        entries: list[tuple[str, tuple]] = []
        for kind, value in self.take:
            if kind == "field":
                entries.append(value)
            else:
                choices = self.params[value][1]
                for choice in params[value]:
                    entries.extend(choices[choice])
        return entries


_TOP_KEYS = {
    "name": True, "version": False, "title": False, "source": False, "countries": True,
    "aliases": False, "groupings": True, "grouping": True, "country_grouping": True,
    "fields": True, "optional_fields": False, "classes": True, "params": False,
    "take_country_from": True, "default_country": True, "generation": False,
}
_RULE_CACHE: dict[tuple, RuleSet] = {}


def available_rules() -> list[str]:
    """Names of the shipped rule sets."""
    return sorted(p.stem for p in RULES_DIR.glob("*.yaml") if p.stem != "groupings")


def load_rules(rule: str | os.PathLike[str] = "vl2013") -> RuleSet:
    """Load and validate a rule set by name (``vl2013``) or path; all problems at once."""
    path = _rule_path(rule)
    key = (str(path), _mtime(path))
    if key in _RULE_CACHE:
        return _RULE_CACHE[key]
    doc = _read_yaml(path)
    where = str(path)
    problems: list[str] = []
    if not isinstance(doc, Mapping):
        raise CodebookError("a rule set must be a YAML mapping", where=where)
    for k, required in _TOP_KEYS.items():
        if required and k not in doc:
            problems.append(f"{k}: required key missing")
    if problems:
        raise CodebookError(f"invalid origin rule set ({len(problems)} problem(s))", where=where,
                            problems=tuple(problems), fix="see docs/origin.md")
    extra = sorted(set(doc) - set(_TOP_KEYS))
    if extra:
        problems.append(f"unknown top-level key(s) {extra} (allowed: {sorted(_TOP_KEYS)})")
    base = path.parent
    try:
        countries = load_countries(_resolve(doc["countries"], COUNTRIES_DIR, base),
                                   None if doc.get("aliases") is None
                                   else _resolve(doc["aliases"], COUNTRIES_DIR, base))
    except CodebookError as exc:
        raise CodebookError(f"countries: {exc.what}", where=where, problems=exc.problems,
                            fix=exc.fix) from None
    codes = frozenset(countries.codes)
    groupings = _load_groupings(_resolve(doc["groupings"], RULES_DIR, base), countries, problems)
    for key_ in ("grouping", "country_grouping"):
        if groupings and doc[key_] not in groupings:
            problems.append(f"{key_}: {doc[key_]!r} is not a grouping (choose from {sorted(groupings)})")

    fields = doc["fields"] if isinstance(doc["fields"], list) else None
    optional = doc.get("optional_fields") or []
    if fields is None or not isinstance(optional, list):
        problems.append("fields / optional_fields: must be lists of roles")
        fields, optional = [], []
    bad = [f for f in [*fields, *optional] if f not in ROLES]
    if bad:
        problems.append(f"fields: unknown role(s) {show_values(bad)} (choose from {', '.join(ROLES)})")
    all_fields = frozenset(f for f in [*fields, *optional] if f in ROLES)

    def cond(obj: Any, at: str) -> tuple | None:
        return _parse_cond(obj, at, problems, fields=all_fields, codes=codes)

    classes: list[OriginClass] = []
    raw_classes = doc["classes"]
    if not isinstance(raw_classes, list) or not raw_classes:
        problems.append("classes: a non-empty list is required")
        raw_classes = []
    for i, item in enumerate(raw_classes):
        at = f"classes[{i}]"
        if not isinstance(item, Mapping) or not isinstance(item.get("category"), str) \
                or not isinstance(item.get("foreign_origin"), bool):
            problems.append(f"{at}: needs 'category' (text) and 'foreign_origin' (true/false)")
            continue
        extra = set(item) - {"category", "foreign_origin", "when"}
        if extra:
            problems.append(f"{at}: unknown key(s) {sorted(extra)}")
        last = i == len(raw_classes) - 1
        if last and "when" in item:
            problems.append(f"{at}: the last class is the catch-all and has no 'when'")
        if not last and "when" not in item:
            problems.append(f"{at}: only the last class may lack 'when'")
        when = cond(item["when"], f"{at}.when") if "when" in item else None
        classes.append(OriginClass(item["category"], item["foreign_origin"], when))
    cats = [c.category for c in classes]
    if len(set(cats)) != len(cats):
        problems.append(f"classes: categories must be distinct, got {show_values(cats)}")

    def take_entry(item: Any, at: str) -> tuple[str, tuple] | None:
        if not isinstance(item, Mapping) or "field" not in item:
            problems.append(f"{at}: needs 'field' and a condition on it ('is', 'in', 'region')")
            return None
        parsed = cond(dict(item), at)
        return None if parsed is None else (item["field"], parsed)

    params: dict[str, tuple] = {}
    for pname, spec in (doc.get("params") or {}).items():
        at = f"params.{pname}"
        if not isinstance(spec, Mapping) or not isinstance(spec.get("choices"), Mapping) \
                or not isinstance(spec.get("default"), list):
            problems.append(f"{at}: needs 'default' (a list) and 'choices' (a mapping)")
            continue
        choices = {}
        for cname, items in spec["choices"].items():
            if not isinstance(items, list) or not items:
                problems.append(f"{at}.choices.{cname}: a non-empty list of take entries is required")
                continue
            entries = [take_entry(it, f"{at}.choices.{cname}[{j}]") for j, it in enumerate(items)]
            choices[cname] = tuple(e for e in entries if e is not None)
        if sorted(spec["default"]) != sorted(spec["choices"]):
            problems.append(f"{at}.default: must be a permutation of the choices "
                            f"{sorted(spec['choices'])}, got {spec['default']}")
        params[pname] = (tuple(spec["default"]), MappingProxyType(choices))

    take: list[tuple[str, Any]] = []
    raw_take = doc["take_country_from"]
    if not isinstance(raw_take, list) or not raw_take:
        problems.append("take_country_from: a non-empty list is required")
        raw_take = []
    for i, item in enumerate(raw_take):
        at = f"take_country_from[{i}]"
        if isinstance(item, Mapping) and set(item) == {"param"}:
            if item["param"] not in params:
                problems.append(f"{at}.param: {item['param']!r} is not declared under params")
            else:
                take.append(("param", item["param"]))
            continue
        entry = take_entry(item, at)
        if entry is not None:
            take.append(("field", entry))

    default_country = doc["default_country"]
    if default_country not in codes:
        problems.append(f"default_country: {default_country!r} is not in the country table")

    generation: list[tuple[int, tuple]] = []
    for i, item in enumerate(doc.get("generation") or []):
        at = f"generation[{i}]"
        if not isinstance(item, Mapping) or not isinstance(item.get("value"), int) \
                or isinstance(item.get("value"), bool) or item["value"] < 1 or "when" not in item:
            problems.append(f"{at}: needs 'value' (an integer >= 1) and 'when'")
            continue
        parsed = cond(item["when"], f"{at}.when")
        if parsed is not None:
            generation.append((item["value"], parsed))

    if problems:
        raise CodebookError(f"invalid origin rule set ({len(problems)} problem(s))", where=where,
                            problems=tuple(problems), fix="see docs/origin.md")
    rules = RuleSet(
        name=str(doc["name"]), version=str(doc.get("version", "")), title=str(doc.get("title", "")),
        source=str(doc.get("source", "")), path=where, countries=countries,
        groupings=MappingProxyType(groupings), grouping=doc["grouping"],
        country_grouping=doc["country_grouping"], fields=tuple(fields),
        optional_fields=tuple(optional), classes=tuple(classes),
        params=MappingProxyType(params), take=tuple(take), default_country=default_country,
        generation=tuple(generation),
    )
    _RULE_CACHE[key] = rules
    return rules


# --------------------------------------------------------------------------- helpers


def _mtime(path: Path | None) -> int | None:
    try:
        return None if path is None else path.stat().st_mtime_ns
    except OSError:
        return None


def _resolve(name: str | os.PathLike[str], default_dir: Path, base: Path | None = None) -> Path:
    """A bare file name is looked up beside ``base``, then in the folder beside ``base`` named
    like ``default_dir`` (the ``sid/data`` layout that ``sid init`` copies out, so an edited
    copy finds its edited country tables), and else in ``default_dir`` (the shipped one)."""
    path = Path(name)
    if path.is_absolute() or len(path.parts) > 1:
        return path
    if base is not None:
        for folder in (base, base.parent / default_dir.name):
            if (folder / path).exists():
                return folder / path
    return default_dir / path


def _rule_path(rule: str | os.PathLike[str]) -> Path:
    text = os.fspath(rule)
    if text.endswith((".yaml", ".yml")) or os.sep in text:
        path = Path(text)
    else:
        path = RULES_DIR / f"{text}.yaml"
        if not path.is_file() or text == "groupings":
            raise CodebookError(f"unknown origin rule set {text!r}", where="rule",
                                fix=f"choose from {', '.join(available_rules())} or give a YAML path")
    if not path.is_file():
        raise CodebookError("rule set file not found", where=str(path), fix="check the path")
    return path


def _read_yaml(path: Path) -> Any:
    if not path.is_file():
        raise CodebookError("file not found", where=str(path), fix="check the path")
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" line {mark.line + 1}" if mark is not None else ""
        raise CodebookError(f"not valid YAML{line}: {getattr(exc, 'problem', exc)}",
                            where=str(path), fix="correct the YAML syntax") from None


def _parse_date(value: Any) -> np.datetime64:
    """A reference date from 'YYYY-MM-DD', a date, a datetime or a Timestamp."""
    try:
        if isinstance(value, str):
            day = _dt.date.fromisoformat(value.strip())
        elif isinstance(value, _dt.datetime | pd.Timestamp):
            day = value.date()
        elif isinstance(value, _dt.date):
            day = value
        elif isinstance(value, np.datetime64):
            return value.astype("datetime64[D]")
        else:
            raise TypeError
    except (ValueError, TypeError):
        raise InputError("the reference date is not a date", where="ref_date", got=repr(value),
                         fix="give it as YYYY-MM-DD, e.g. 2022-01-01") from None
    return np.datetime64(day, "D")


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
    day = _parse_date(ref_date)
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
        cls = np.where(_eval(rules.classes[i].when, tab, idx), i, cls)  # type: ignore[arg-type]
    foreign = np.array([c.foreign_origin for c in rules.classes], dtype=bool)[cls]

    # origin country: first matching take entry
    entries = rules.take_entries(chosen)
    decided_labels = [*dict.fromkeys(f for f, _ in entries), "default"]
    decided = np.full(n, len(decided_labels) - 1, dtype=np.int64)
    country = np.full(n, row_of[rules.default_country], dtype=np.int64)
    for role, cond in reversed(entries):
        mask = _eval(cond, tab, idx)
        country = np.where(mask, idx[role], country)
        decided = np.where(mask, decided_labels.index(role), decided)

    # generation: only for persons of foreign origin
    gen = np.zeros(n, dtype=np.int64)
    for value, cond in reversed(rules.generation):
        gen = np.where(_eval(cond, tab, idx), value, gen)
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
    uniq_labels = []
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


# --------------------------------------------------------------------------- files


def read_origin_input(
    path: str | os.PathLike[str],
    columns: Sequence[str],
    *,
    encoding: str | None = None,
) -> pd.DataFrame:
    """Read the columns needed for :func:`classify` from a wave file or a CSV.

    A CSV is read with every value as text and no NA guessing, so Namibia's
    code ``NA`` stays a country (pandas would read it as missing). The file is
    only read.
    """
    from sid.io import read_wave

    path = Path(path)
    columns = list(dict.fromkeys(columns))
    if path.suffix.lower() != ".csv":
        return read_wave(path, columns=columns, encoding=encoding).data
    if not path.is_file():
        raise InputError("file not found", where=str(path), fix="check the path")
    try:
        header = pd.read_csv(path, nrows=0, encoding=encoding or "utf-8").columns
        absent = [c for c in columns if c not in header]
        if absent:
            raise InputError("columns not in the file", where=str(path), got=show_values(absent),
                             fix=f"choose from: {show_values(list(header), 12)}")
        return pd.read_csv(path, usecols=columns, dtype=str, keep_default_na=False,
                           encoding=encoding or "utf-8")
    except (UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise InputError(f"cannot read the CSV: {exc}", where=str(path),
                         fix="save it as UTF-8 CSV with a header row, or pass --encoding") from None


def write_csv_atomic(frame: pd.DataFrame, path: str | os.PathLike[str]) -> None:
    """Write a CSV via a temporary file and ``os.replace``: never a half-written file."""
    from sid.io import atomic_output

    with atomic_output(path) as tmp, open(tmp, "w", encoding="utf-8", newline="") as handle:
        frame.to_csv(handle, index=False, lineterminator="\n")
