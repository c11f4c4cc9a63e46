"""Country groupings: every country, on a reference date, in exactly one group.

A grouping (``sid/data/origin/groupings.yaml``) is either a lookup table (a
CSV with columns ``code,group``) plus a default group, or an ordered list of
rules over the country's attributes whose first match decides (the last rule,
without ``when``, is the catch-all). ``frame_codes`` gives the sampling
frame's numeric codes of the groups (SID: 1 Belgisch ... 7 Afghaans).

The file's shape is :class:`GroupingsFile` (pydantic, module level), checked
with :func:`sid.yamlio.validate_model`; cross-references (table files, codes,
group labels) are checked in the same run, so one error lists every problem.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Annotated, Any

import numpy as np
from pydantic import Field, ValidationError

from sid.errors import CodebookError, show_values
from sid.origin.conditions import CountryCondition, Shape, condition_problems, evaluate
from sid.origin.countries import (
    COUNTRIES_DIR,
    CountryRows,
    CountryTable,
    read_csv_table,
    resolve_file,
)
from sid.yamlio import YamlDocument, read_yaml, validate_model

__all__ = ["GroupRule", "Grouping", "GroupingSpec", "GroupingsFile", "load_groupings"]


class GroupRule(Shape):
    """One rule of a rule-based grouping: the ``group`` of countries for which ``when`` holds."""

    group: str
    when: CountryCondition | None = None


class GroupingSpec(Shape):
    """One grouping as written: ``table`` + ``default`` + ``order``, or ``rules``."""

    title: str | None = None
    table: str | None = None
    default: str | None = None
    order: Annotated[list[str], Field(min_length=1)] | None = None
    rules: Annotated[list[GroupRule], Field(min_length=1)] | None = None
    frame_codes: dict[str, int | float] = Field(default_factory=dict)


class GroupingsFile(Shape):
    """The groupings file: a version and the groupings by name."""

    version: int | None = None
    groupings: dict[str, GroupingSpec]


@dataclass(frozen=True, eq=False)
class Grouping:
    """Country -> group, from a lookup table (plus default) or ordered rules (first match)."""

    name: str
    title: str
    order: tuple[str, ...]
    default: str | None = None
    table: Mapping[str, str] | None = None
    rules: tuple[GroupRule, ...] | None = None
    frame_codes: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))

    def assign(self, rows: CountryRows) -> np.ndarray:
        """Index into :attr:`order` for every row of the extended country table."""
        pos = {g: i for i, g in enumerate(self.order)}
        if self.table is not None:
            default = pos[self.default]  # type: ignore[index]
            return np.array([pos[self.table[c]] if c in self.table else default for c in rows.codes],
                            dtype=np.int64)
        assert self.rules is not None
        out = np.full(len(rows.codes), pos[self.rules[-1].group], dtype=np.int64)
        for rule in reversed(self.rules[:-1]):
            out = np.where(evaluate(rule.when, rows, None), pos[rule.group], out)
        return out


def load_groupings(path: Path, countries: CountryTable) -> tuple[dict[str, Grouping], list[str]]:
    """The groupings of a file, or no groupings and every problem of the file.

    Cross-references are checked on each part that passes the schema (a rule,
    a table), so one run reports them together with the schema problems.
    """
    doc = read_yaml(path, what="groupings file")
    raw = doc.data.get("groupings") if isinstance(doc.data, Mapping) else None
    problems: list[str] = []
    tables: dict[str, Mapping[str, str]] = {}
    for name, entry in (raw.items() if isinstance(raw, Mapping) else []):
        if isinstance(entry, Mapping):
            found, table = _check(doc, str(name), entry, countries)
            problems += found
            if table is not None:
                tables[str(name)] = table
    try:
        spec = validate_model(doc, GroupingsFile, what="groupings file", fix="see docs/origin.md",
                              extra_problems=problems)
    except CodebookError as exc:
        return {}, list(exc.problems)
    return {name: _build(name, g, tables.get(name)) for name, g in spec.groupings.items()}, []


def _build(name: str, spec: GroupingSpec, table: Mapping[str, str] | None) -> Grouping:
    frame_codes = MappingProxyType(dict(spec.frame_codes))
    if spec.rules is None:
        return Grouping(name=name, title=spec.title or name, order=tuple(spec.order or ()),
                        default=spec.default, table=MappingProxyType(dict(table or {})),
                        frame_codes=frame_codes)
    order = tuple(dict.fromkeys(r.group for r in spec.rules))
    return Grouping(name=name, title=spec.title or name, order=order, rules=tuple(spec.rules),
                    frame_codes=frame_codes)


def _strings(value: Any) -> list[str] | None:
    """A list of text values, or None when ``value`` is not one (the schema reports it)."""
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return value
    return None


def _check(doc: YamlDocument, name: str, entry: Mapping[str, Any],
           countries: CountryTable) -> tuple[list[str], Mapping[str, str] | None]:
    """Cross-reference problems of one grouping as written, and its lookup table if it has one."""
    at: tuple[Any, ...] = ("groupings", name)
    if ("table" in entry) == ("rules" in entry):
        return [f"{doc.where(*at)}: give either 'table' (with 'default' and 'order') or 'rules'"], None
    codes = frozenset(countries.codes)
    problems: list[str] = []
    mapping: Mapping[str, str] | None = None
    if "table" in entry:
        order = _strings(entry.get("order"))
        if not order or len(set(order)) != len(order):
            problems.append(f"{doc.where(*at, 'order')}: a list of distinct group labels is required")
            order = []
        elif entry.get("default") not in order:
            problems.append(f"{doc.where(*at, 'default')}: {entry.get('default')!r} is not in order")
        if isinstance(entry["table"], str):
            found, mapping = _table(doc, at, entry["table"], codes, order)
            problems += found
    else:
        rules = entry["rules"] if isinstance(entry["rules"], list) else []
        order = []
        for i, item in enumerate(rules):
            has_when = isinstance(item, Mapping) and "when" in item
            if i == len(rules) - 1 and has_when:
                problems.append(f"{doc.where(*at, 'rules', i)}: the last rule is the catch-all "
                                "and has no 'when'")
            if i < len(rules) - 1 and not has_when:
                problems.append(f"{doc.where(*at, 'rules', i)}: only the last rule may lack 'when'")
            if isinstance(item, Mapping) and isinstance(item.get("group"), str):
                order.append(item["group"])
            try:
                rule = GroupRule.model_validate(item)
            except ValidationError:
                continue  # reported by validate_model
            if rule.when is not None:
                problems += condition_problems(doc, (*at, "rules", i, "when"), rule.when,
                                               fields=None, codes=codes)
    frame_codes = entry.get("frame_codes")
    if isinstance(frame_codes, Mapping):
        bad_frame = [g for g in frame_codes if g not in order]
        if bad_frame:
            problems.append(f"{doc.where(*at, 'frame_codes')}: labels not in the grouping: "
                            f"{show_values(bad_frame)}")
    return problems, mapping


def _table(doc: YamlDocument, at: tuple[Any, ...], name: str, codes: frozenset[str],
           order: list[str]) -> tuple[list[str], Mapping[str, str] | None]:
    """Read a grouping's lookup table (code,group) and check its codes and groups."""
    tpath = resolve_file(name, COUNTRIES_DIR, Path(doc.source).parent)
    try:
        tab = read_csv_table(tpath, doc.where(*at, "table"))
    except CodebookError as exc:
        return [f"{doc.where(*at, 'table')}: {exc.what} ({tpath})"], None
    if not {"code", "group"} <= set(tab.columns):
        return [f"{doc.where(*at, 'table')}: {tpath.name} needs columns code,group"], None
    mapping = dict(zip(tab["code"].str.strip(), tab["group"].str.strip(), strict=True))
    problems = []
    bad_codes = sorted(set(mapping) - codes)
    bad_groups = sorted(set(mapping.values()) - set(order))
    if bad_codes:
        problems.append(f"{doc.where(*at, 'table')}: codes not in the country table: "
                        f"{show_values(bad_codes)}")
    if bad_groups and order:
        problems.append(f"{doc.where(*at, 'table')}: groups not in order: {show_values(bad_groups)}")
    return problems, mapping
