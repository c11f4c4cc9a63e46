"""Codebooks: the YAML that says how each wave maps onto harmonised variables.

A codebook (format in ``docs/codebook.md``) names the waves (year, file
pattern, encoding, id and design variables, default missing codes) and per
harmonised variable: labels (nl/en), type, value labels, the source name and
recodes in each wave, missing codes by kind (NVT, WN, GA, WZ), and the filter
that says who was asked. Derived variables and multiple-response sets are
defined over harmonised names with the expression language of :mod:`sid.expr`.

The codebook is validated in two passes, both reporting *every* problem at
once in one :class:`~sid.errors.CodebookError`: a pydantic schema (shape and
types), then cross-references (waves, codes, expressions, names). Each problem
names the file, the YAML path (``variables.werkbeh.waves.2022.source``) and
its line.
"""

from __future__ import annotations

import datetime as _dt
import fnmatch
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

import numpy as np
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from sid.errors import CodebookError, InputError, show_values
from sid.expr import FUNCTIONS, parse, with_close_matches

MISSING_KINDS: tuple[str, ...] = ("NVT", "WN", "GA", "WZ")
"""Missing kinds a codebook can assign codes to (NVT niet van toepassing, WN weet niet,
GA geen antwoord, WZ wil niet zeggen)."""
ALL_KINDS: tuple[str, ...] = (*MISSING_KINDS, "SYS")
"""Plus SYS: system-missing (an empty cell, or a concept not measured in that wave)."""
KIND_LABELS: Mapping[str, Mapping[str, str]] = MappingProxyType({
    "NVT": {"nl": "niet van toepassing", "en": "not applicable"},
    "WN": {"nl": "weet niet", "en": "don't know"},
    "GA": {"nl": "geen antwoord", "en": "no answer"},
    "WZ": {"nl": "wil niet zeggen", "en": "prefer not to say"},
    "SYS": {"nl": "ontbrekend", "en": "missing"},
})
KIND_CODES: Mapping[str, float] = MappingProxyType(
    {"NVT": -1.0, "WN": -8.0, "GA": -9.0, "WZ": -7.0, "SYS": -99.0}
)
"""Codes used when a table keeps a missing kind as a category (see HarmonisedData.column)."""
_KIND_BY_LABEL = MappingProxyType({v["nl"]: k for k, v in KIND_LABELS.items()})
VARIABLE_TYPES = ("categorical", "ordinal", "continuous", "count", "id", "weight", "design", "text")
CODED_TYPES = ("categorical", "ordinal")
DESIGN_ROLES = ("weight", "strata", "psu", "fpc", "incl_prob")

Kind = Literal["NVT", "WN", "GA", "WZ"]
VarType = Literal["categorical", "ordinal", "continuous", "count", "id", "weight", "design", "text"]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


def _str_keys(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): v for k, v in value.items()}
    return value


class Text(_Model):
    """A label in Dutch (required) and English (optional)."""

    nl: str
    en: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _from_string(cls, value: Any) -> Any:
        if isinstance(value, str):
            return {"nl": value}
        return value

    def get(self, lang: str = "nl") -> str:
        """The label in ``lang``, falling back to Dutch."""
        return (self.en if lang == "en" else None) or self.nl


class RecodeRule(_Model):
    """One recode rule: ``from`` a code (or list of codes, to collapse) or a ``range`` [lo, hi] ``to`` a code."""

    from_: float | list[float] | None = Field(default=None, alias="from")
    range: tuple[float, float] | None = None
    to: float

    @model_validator(mode="after")
    def _one_source(self) -> RecodeRule:
        if (self.from_ is None) == (self.range is None):
            raise ValueError("give exactly one of 'from' (code or list of codes) or 'range' ([lo, hi])")
        if self.range is not None and self.range[0] > self.range[1]:
            raise ValueError(f"range lower bound {self.range[0]} is above upper bound {self.range[1]}")
        return self


class VariableWave(_Model):
    """How one wave measures a harmonised variable."""

    source: str
    recode: dict[float, float] | list[RecodeRule] | None = None
    missing: dict[Kind, list[float]] | None = None
    note: str | None = None


class Variable(_Model):
    """A harmonised variable (concept) and its source in each wave."""

    label: Text
    type: VarType
    question: Text | None = None
    values: dict[float, Text] = Field(default_factory=dict)
    valid_range: tuple[float, float] | None = None
    asked_if: str | None = None
    waves: dict[str, VariableWave]

    @field_validator("waves", mode="before")
    @classmethod
    def _keys_as_text(cls, value: Any) -> Any:
        return _str_keys(value)


class Derived(_Model):
    """A variable computed from others with an expression (see sid.expr)."""

    expr: str
    label: Text
    type: VarType = "categorical"
    values: dict[float, Text] = Field(default_factory=dict)
    missing: Literal["propagate", "none"] = "propagate"


class MRSet(_Model):
    """A multiple-response set: 0/1 items counted as one question."""

    label: Text
    items: list[str]
    counted: float = 1.0


class DesignSpec(_Model):
    """Design variables (harmonised names) of a wave."""

    weight: str
    strata: str | None = None
    psu: str | None = None
    fpc: str | None = None
    incl_prob: str | None = None


class WaveSpec(_Model):
    """A wave: year, file name pattern, encoding, id and design variables, default missing codes."""

    year: int
    file: str
    encoding: str | None = None
    id: str
    design: DesignSpec
    missing: dict[Kind, list[float]] = Field(default_factory=dict)
    ref_date: _dt.date | None = None


class OriginSpec(_Model):
    """How ``sid validate`` checks the frame origin group against the derived origin."""

    rule: str = "vl2013"
    frame: str
    fields: dict[str, str]
    ref_date: dict[str, _dt.date] = Field(default_factory=dict)

    @field_validator("ref_date", mode="before")
    @classmethod
    def _keys_as_text(cls, value: Any) -> Any:
        return _str_keys(value)


class CodebookSpec(_Model):
    """The whole codebook as validated by the schema."""

    name: str
    description: str | None = None
    version: int = 1
    waves: dict[str, WaveSpec]
    variables: dict[str, Variable]
    derived: dict[str, Derived] = Field(default_factory=dict)
    mr_sets: dict[str, MRSet] = Field(default_factory=dict)
    origin: OriginSpec | None = None

    @field_validator("waves", mode="before")
    @classmethod
    def _keys_as_text(cls, value: Any) -> Any:
        return _str_keys(value)


# --------------------------------------------------------------------------- the Codebook


@dataclass(frozen=True)
class Codebook:
    """A validated codebook plus where it came from (for messages)."""

    spec: CodebookSpec
    path: str | None = None
    lines: Mapping[tuple[str, ...], int] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def waves(self) -> Mapping[str, WaveSpec]:
        return self.spec.waves

    @property
    def variables(self) -> Mapping[str, Variable]:
        return self.spec.variables

    @property
    def derived(self) -> Mapping[str, Derived]:
        return self.spec.derived

    @property
    def mr_sets(self) -> Mapping[str, MRSet]:
        return self.spec.mr_sets

    @property
    def origin(self) -> OriginSpec | None:
        return self.spec.origin

    @property
    def names(self) -> tuple[str, ...]:
        """Harmonised names: variables then derived, in codebook order."""
        return (*self.spec.variables, *self.spec.derived)

    def definition(self, name: str) -> Variable | Derived:
        """The definition of a variable or derived variable."""
        if name in self.spec.variables:
            return self.spec.variables[name]
        if name in self.spec.derived:
            return self.spec.derived[name]
        raise CodebookError(
            f"no variable {name!r} in the codebook",
            where=self.path or "codebook",
            fix=f"use one of: {show_values(self.names, 15)}",
        )

    def label(self, name: str, lang: str = "nl") -> str:
        """Variable label in ``lang`` (nl or en)."""
        return self.definition(name).label.get(lang)

    def value_labels(self, name: str, lang: str = "nl") -> dict[float, str]:
        """Value labels (common codes) in ``lang``."""
        return {code: text.get(lang) for code, text in self.definition(name).values.items()}

    def design_variables(self, wave_id: str | int) -> dict[str, str]:
        """Design roles to harmonised names for a wave: weight, strata, psu, fpc, incl_prob, id."""
        wave = self.wave(wave_id)
        roles = {k: v for k, v in wave.design.model_dump().items() if v is not None}
        roles["id"] = wave.id
        return roles

    def wave(self, wave_id: str | int) -> WaveSpec:
        key = str(wave_id)
        if key not in self.spec.waves:
            raise CodebookError(
                f"no wave {key!r} in the codebook",
                where=self.path or "codebook",
                fix=f"use one of: {show_values(list(self.spec.waves))}",
            )
        return self.spec.waves[key]

    def wave_for_file(self, path: str | os.PathLike[str]) -> str:
        """The wave whose ``file`` pattern matches the file name."""
        name = Path(path).name
        hits = [w for w, spec in self.spec.waves.items() if fnmatch.fnmatch(name, spec.file)]
        if len(hits) != 1:
            patterns = ", ".join(f"{w}: {s.file}" for w, s in self.spec.waves.items())
            what = "matches no wave of the codebook" if not hits else f"matches several waves ({', '.join(hits)})"
            raise InputError(
                f"file name {what}",
                where=str(path),
                fix=f"rename the file or pass it as WAVE=FILE; patterns are {patterns}",
            )
        return hits[0]

    def source(self, name: str, wave_id: str) -> str | None:
        """Source variable name of ``name`` in a wave (None when not measured)."""
        var = self.spec.variables.get(name)
        if var is None or wave_id not in var.waves:
            return None
        return var.waves[wave_id].source

    def missing_codes(self, name: str, wave_id: str) -> dict[str, tuple[float, ...]]:
        """Missing kind to source codes for a variable in a wave (wave default for coded types)."""
        var = self.spec.variables[name]
        vw = var.waves.get(wave_id)
        if vw is None:
            return {}
        if vw.missing is not None:
            return {k: tuple(v) for k, v in vw.missing.items()}
        if var.type in (*CODED_TYPES, "count"):
            return {k: tuple(v) for k, v in self.spec.waves[wave_id].missing.items()}
        return {}

    def recode_rules(self, name: str, wave_id: str) -> list[tuple[tuple[float, float], float]]:
        """Recode rules as closed intervals ``((lo, hi), to)``; single codes have lo == hi."""
        vw = self.spec.variables[name].waves.get(wave_id)
        if vw is None or vw.recode is None:
            return []
        if isinstance(vw.recode, dict):
            return [((float(k), float(k)), float(v)) for k, v in vw.recode.items()]
        rules = []
        for rule in vw.recode:
            if rule.range is not None:
                rules.append(((rule.range[0], rule.range[1]), rule.to))
            else:
                codes = rule.from_ if isinstance(rule.from_, list) else [rule.from_]
                rules += [((float(c), float(c)), rule.to) for c in codes]
        return rules

    def line(self, *path: Any) -> int | None:
        """Line of a YAML path in the file (or of its closest parent)."""
        return _line_of(self.lines, tuple(str(p) for p in path))

    def where(self, *path: Any) -> str:
        """``file:line: yaml.path`` for messages."""
        return _where(self.path, self.lines, tuple(str(p) for p in path))


def kind_of_label(text: Any) -> str | None:
    """The missing kind a file's value label names ("Weet niet " -> WN), or None."""
    return _KIND_BY_LABEL.get(str(text).strip().lower()) if text is not None else None


def format_rule(rule: tuple[tuple[float, float], float]) -> str:
    """A recode rule as ``3->1`` or ``1-5->1`` (for reports and exported codebooks)."""
    (lo, hi), to = rule
    src = f"{lo:g}" if lo == hi else f"{lo:g}-{hi:g}"
    return f"{src}->{to:g}"


def apply_recode(values: np.ndarray, rules: Sequence[tuple[tuple[float, float], float]]) -> np.ndarray:
    """Recode a float array; every rule reads the original codes (so swaps work). Vectorised."""
    out = values.copy()
    for (lo, hi), to in rules:
        hit = values == lo if lo == hi else (values >= lo) & (values <= hi)
        out[hit] = to
    return out


# --------------------------------------------------------------------------- reading YAML


def _line_map(node: yaml.Node, path: tuple[str, ...], out: dict[tuple[str, ...], int],
              dups: list[tuple[tuple[str, ...], int]]) -> None:
    out[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key, value in node.value:
            name = _key_text(key)
            if name in seen:
                dups.append(((*path, name), key.start_mark.line + 1))
            seen.add(name)
            _line_map(value, (*path, name), out, dups)
            out[(*path, name)] = key.start_mark.line + 1  # the key's line, not its value's
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _line_map(item, (*path, str(i)), out, dups)


def _key_text(key: yaml.Node) -> str:
    value = key.value if isinstance(key, yaml.ScalarNode) else str(key.value)
    if isinstance(key, yaml.ScalarNode) and key.tag.endswith((":int", ":float")):
        try:
            number = float(value)
            return str(int(number)) if number.is_integer() else str(number)
        except ValueError:
            return value
    return value


def _norm(part: Any) -> str:
    if isinstance(part, float) and part.is_integer():
        return str(int(part))
    text = str(part)
    try:
        number = float(text)
        if number.is_integer() and text.replace(".0", "").lstrip("-").isdigit():
            return str(int(number))
    except ValueError:
        pass
    return text


def _line_of(lines: Mapping[tuple[str, ...], int], path: tuple[str, ...]) -> int | None:
    path = tuple(_norm(p) for p in path)
    for cut in range(len(path), -1, -1):
        if path[:cut] in lines:
            return lines[path[:cut]]
    return None


def _where(file: str | None, lines: Mapping[tuple[str, ...], int], path: tuple[str, ...]) -> str:
    line = _line_of(lines, path)
    dotted = ".".join(_norm(p) for p in path) or "(top)"
    head = file or "codebook"
    return f"{head}:{line}: {dotted}" if line else f"{head}: {dotted}"


def read_codebook(path: str | os.PathLike[str]) -> Codebook:
    """Read and validate a codebook file; all problems are reported in one CodebookError."""
    path = Path(path)
    if not path.is_file():
        what = "is a folder, not a codebook file" if path.is_dir() else "codebook not found"
        raise InputError(what, where=str(path), fix="check the path (shipped: sid/data/sid.yaml)")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"codebook is not UTF-8 text (byte {exc.start})", where=str(path),
                         fix="save the YAML file as UTF-8") from None
    return parse_codebook(text, source=str(path))


def parse_codebook(text: str, source: str | None = None) -> Codebook:
    """Validate codebook YAML text (``source`` names it in messages)."""
    name = source or "codebook"
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{name}:{mark.line + 1}" if mark else name
        raise CodebookError(
            f"not valid YAML: {getattr(exc, 'problem', None) or exc}",
            where=where,
            fix="check indentation and quotes around the line shown",
        ) from None
    if not isinstance(raw, dict) or node is None:
        raise CodebookError("a codebook must be a YAML mapping", where=name,
                            fix="start from `sid codebook init FILE` or sid/data/sid.yaml")
    lines: dict[tuple[str, ...], int] = {}
    dups: list[tuple[tuple[str, ...], int]] = []
    _line_map(node, (), lines, dups)
    lines_ro = MappingProxyType(lines)
    problems = [
        f"{name}:{line}: {'.'.join(p)}: key given twice (YAML keeps only the last). Expected: each key once"
        for p, line in dups
    ]
    try:
        spec = CodebookSpec.model_validate(raw)
    except ValidationError as exc:
        for err in exc.errors():
            loc = tuple(_norm(p) for p in err["loc"] if not str(p).startswith(("function-", "list[", "dict[")))
            loc = tuple(p for p in loc if p not in ("str", "float", "int", "constrained-str"))
            got = err.get("input")
            got_text = "" if isinstance(got, (dict, list)) or err["type"] == "missing" else f" (got {got!r})"
            problems.append(f"{_where(name, lines_ro, loc)}: {err['msg']}{got_text}")
        partial, broken = _partial_spec(raw)
        if partial is not None:
            problems += semantic_problems(Codebook(spec=partial, path=source, lines=lines_ro), broken)
        raise CodebookError(
            f"codebook has {len(problems)} problem(s)", where=name, problems=tuple(_dedupe(problems)),
            fix="correct each line listed (format: docs/codebook.md)",
        ) from None
    codebook = Codebook(spec=spec, path=source, lines=lines_ro)
    problems += semantic_problems(codebook)
    if problems:
        raise CodebookError(
            f"codebook has {len(problems)} problem(s)", where=name, problems=tuple(problems),
            fix="correct each line listed (format: docs/codebook.md)",
        )
    return codebook


def _partial_spec(raw: dict[str, Any]) -> tuple[CodebookSpec | None, set[str]]:
    """The entries that pass the schema (so cross-references can be checked in the same run)
    and the names of those that do not (treated as existing, to avoid follow-on errors)."""
    broken: set[str] = set()
    parts: dict[str, dict[str, Any]] = {}
    for section, model in (("waves", WaveSpec), ("variables", Variable), ("derived", Derived),
                           ("mr_sets", MRSet)):
        good: dict[str, Any] = {}
        entries = raw.get(section) or {}
        if not isinstance(entries, dict):
            return None, broken
        for key, value in entries.items():
            try:
                good[str(key)] = model.model_validate(value)
            except ValidationError:
                broken.add(f"{section}:{key}")
        parts[section] = good
    origin = None
    if raw.get("origin") is not None:
        try:
            origin = OriginSpec.model_validate(raw["origin"])
        except ValidationError:
            origin = None
    spec = CodebookSpec.model_construct(name=str(raw.get("name", "")), waves=parts["waves"],
                                        variables=parts["variables"], derived=parts["derived"],
                                        mr_sets=parts["mr_sets"], origin=origin)
    return spec, broken


def _dedupe(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


def semantic_problems(cb: Codebook, broken: set[str] = frozenset()) -> list[str]:  # type: ignore[assignment]
    """Cross-reference checks the schema cannot express (one message per problem).

    ``broken`` holds ``section:name`` of entries that failed the schema; references to
    them are not reported again.
    """
    problems: list[str] = []
    spec = cb.spec
    broken_waves = {b.split(":", 1)[1] for b in broken if b.startswith("waves:")}
    broken_names = {b.split(":", 1)[1] for b in broken if not b.startswith("waves:")}

    def add(path: tuple[Any, ...], what: str) -> None:
        problems.append(f"{cb.where(*path)}: {what}")

    wave_ids = list(spec.waves)
    base = set(spec.variables) | broken_names
    for name in (*spec.variables, *spec.derived, *spec.mr_sets):
        if not name.isidentifier() or name in FUNCTIONS or name == "wave":
            section = "variables" if name in spec.variables else "derived" if name in spec.derived else "mr_sets"
            add((section, name), f"name {name!r} must be an identifier (letters, digits, _) and not "
                                 f"'wave' or a function name. Expected: e.g. werkbeh")
    for name in set(spec.derived) & base:
        add(("derived", name), f"{name!r} is both a variable and a derived variable. Expected: one name per concept")
    for wid, wave in spec.waves.items():
        for role, var in [("id", wave.id), *wave.design.model_dump().items()]:
            if var is None:
                continue
            path = ("waves", wid, "id") if role == "id" else ("waves", wid, "design", role)
            if var not in base:
                add(path, f"{role} variable {var!r} is not a codebook variable. Expected one of: "
                          f"{show_values(sorted(base), 10)}")
            elif var in spec.variables and wid not in spec.variables[var].waves:
                add(path, f"{role} variable {var!r} has no source in wave {wid}. "
                          f"Expected: variables.{var}.waves.{wid}.source")
    for name, var in spec.variables.items():
        for wid, vw in var.waves.items():
            if wid in broken_waves:
                continue
            if wid not in spec.waves:
                add(("variables", name, "waves", wid), f"wave {wid!r} is not defined under waves. "
                                                      f"Expected one of: {show_values(wave_ids)}")
                continue
            missing = cb.missing_codes(name, wid)
            seen: dict[float, str] = {}
            for kind, codes in missing.items():
                for code in codes:
                    if code in seen and seen[code] != kind:
                        add(("variables", name, "waves", wid, "missing", kind),
                            f"code {code:g} is both {seen[code]} and {kind}. Expected: one kind per code")
                    seen[code] = kind
            if var.type in CODED_TYPES:
                targets = {to for _, to in cb.recode_rules(name, wid)}
                bad = sorted(t for t in targets if t not in var.values and not _in_range(t, var.valid_range))
                if bad:
                    add(("variables", name, "waves", wid, "recode"),
                        f"recodes to code(s) {show_values(bad)} that have no value label. "
                        f"Expected codes of variables.{name}.values: {show_values(sorted(var.values))}")
            if var.type == "text" and vw.recode:
                add(("variables", name, "waves", wid, "recode"), "text variables cannot be recoded. "
                                                                "Expected: no recode")
        if var.type in CODED_TYPES and not var.values and var.valid_range is None:
            add(("variables", name), f"{var.type} variable needs value labels. Expected: values: "
                                     "{1: {nl: ..., en: ...}, ...} or valid_range: [lo, hi]")
        if var.asked_if is not None:
            _check_expression(cb, ("variables", name, "asked_if"), var.asked_if, base - {name}, problems)
    # derived: may use variables and earlier derived variables
    known = set(base)
    for name, der in spec.derived.items():
        _check_expression(cb, ("derived", name, "expr"), der.expr, known, problems)
        known.add(name)
    for name, mr in spec.mr_sets.items():
        absent = [i for i in mr.items if i not in known]
        if absent:
            add(("mr_sets", name, "items"), f"item(s) {show_values(absent)} are not variables. "
                                            "Expected harmonised names of 0/1 variables")
        if len(mr.items) < 2:
            add(("mr_sets", name, "items"), "a multiple-response set needs at least two items")
    if spec.origin is not None:
        origin = spec.origin
        for role, var in [("frame", origin.frame), *[(f"fields.{k}", v) for k, v in origin.fields.items()]]:
            if var not in base:
                add(("origin", *role.split(".")), f"{var!r} is not a codebook variable")
        for wid in origin.ref_date:
            if wid not in spec.waves and wid not in broken_waves:
                add(("origin", "ref_date", wid), f"wave {wid!r} is not defined under waves")
    return problems


def _in_range(value: float, valid: tuple[float, float] | None) -> bool:
    return valid is not None and valid[0] <= value <= valid[1]


def _check_expression(cb: Codebook, path: tuple[str, ...], text: str, known: set[str],
                      problems: list[str]) -> None:
    try:
        expr = parse(text)
    except CodebookError as exc:
        problems.append(f"{cb.where(*path)}: {exc.line()}")
        return
    unknown = sorted(expr.variables - known)
    if unknown:
        problems.append(f"{cb.where(*path)}: expression {text!r} uses unknown variable(s) "
                        f"{with_close_matches(unknown, sorted(known), n=2)}. "
                        "Expected harmonised names defined above")


def load_codebook(codebook: Codebook | str | os.PathLike[str]) -> Codebook:
    """A Codebook as given, or read from a path."""
    return codebook if isinstance(codebook, Codebook) else read_codebook(codebook)
