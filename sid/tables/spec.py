"""Table-book specs (YAML, see ``docs/tables.md``): models, reading, cross-check, selection.

The spec's shape is a set of pydantic models (``extra="forbid"`` at every
level). :func:`read_spec` reads the file with the one YAML loader
(:mod:`sid.yamlio`) and reports every problem at once, each as
``file:line: path: message`` with a did-you-mean for unknown keys.
``defaults`` are merged into every table before a table is validated; a
problem in a default value is reported once, at its line under ``defaults``.
:func:`check_spec` then cross-checks a valid spec against a codebook.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator

from sid.codebook import Codebook, Text
from sid.errors import CodebookError, show_values
from sid.tables.disclosure import spec_problems
from sid.yamlio import YamlDocument, parse_yaml, read_yaml, schema_problems

__all__ = [
    "CI",
    "DEFAULT_KEYS",
    "Base",
    "BookSpec",
    "BookSpecFile",
    "Indicator",
    "ModelOutcome",
    "ModelSpec",
    "Rule",
    "TableDefaults",
    "TableSpec",
    "check_spec",
    "parse_spec",
    "read_spec",
    "select_tables",
]

_FIX = "see docs/tables.md"


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def _wave_text(value: Any) -> Any:
    """Waves are ids: ``2022`` (a YAML number) reads as ``"2022"``."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return value


WaveId = Annotated[str, BeforeValidator(_wave_text)]
Waves = Annotated[list[WaveId], Field(min_length=1)]
By = Annotated[list[str], Field(min_length=1)]
Alpha = Annotated[float, Field(gt=0, lt=1)]
Decimals = Annotated[int, Field(ge=0, le=4)]


class Indicator(_Model):
    """What is counted: a variable with the codes that count, a mean, or an MR set."""

    variable: str | None = None
    mr_set: str | None = None
    stat: Literal["proportion", "mean"] = "proportion"
    codes: list[float] | None = None
    label: Text | None = None

    @model_validator(mode="after")
    def _one_source(self) -> Indicator:
        if (self.variable is None) == (self.mr_set is None):
            raise ValueError("give exactly one of 'variable' or 'mr_set'")
        if self.stat == "mean" and (self.codes is not None or self.mr_set is not None):
            raise ValueError("a mean takes a 'variable' and no 'codes'")
        if self.mr_set is not None and self.codes is not None:
            raise ValueError("a multiple-response set counts its own code: give no 'codes'")
        return self

    @property
    def name(self) -> str:
        """The variable, or the multiple-response set (exactly one is given)."""
        return self.variable if self.variable is not None else str(self.mr_set)


class Base(_Model):
    """Who is in the denominator: a filter and which missing kinds stay in."""

    where: str | None = None
    label: Text | None = None
    keep_missing: list[Literal["WN", "GA", "WZ"]] = Field(default_factory=list)


class CI(_Model):
    """How confidence intervals are made: the method and the level."""

    method: Literal["logit", "xlogit", "asin", "beta", "t", "wald"] = "logit"
    level: float = Field(default=0.95, gt=0, lt=1)


class Rule(_Model):
    """Suppression: below ``below`` not shown, below ``flag_below`` flagged."""

    below: int = Field(default=30, ge=0)
    flag_below: int = Field(default=50, ge=0)

    @model_validator(mode="after")
    def _order(self) -> Rule:
        if self.flag_below < self.below:
            raise ValueError("flag_below must be >= below")
        return self


class ModelOutcome(_Model):
    """A model table's outcome: a variable, and for a binomial model the codes that count as 1."""

    variable: str
    codes: list[float] | None = None
    label: Text | None = None


class ModelSpec(_Model):
    """A ``model:`` table (``docs/tables.md``): outcome ~ covariates + the table's ``by``.

    The table's ``by`` (one variable) is the margins variable and its ``reference``
    the reference group; ``base``, ``waves`` (one) and ``suppression`` as for any table.
    ``labels`` name the covariates in the sheet (default: the codebook's labels).
    """

    outcome: ModelOutcome
    family: Literal["binomial", "gaussian", "poisson"] = "binomial"
    covariates: str = Field(min_length=1)
    labels: dict[str, Text] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _codes(self) -> ModelSpec:
        if self.family == "binomial" and self.outcome.codes is None:
            raise ValueError("a binomial model needs outcome 'codes' (the answers counted as 1)")
        if self.family != "binomial" and self.outcome.codes is not None:
            raise ValueError(f"a {self.family} model takes the outcome as it is: give no 'codes'")
        return self


class TableSpec(_Model):
    """One table of the book (after ``defaults`` are merged in)."""

    id: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9_]*$")
    title: Text
    indicator: Indicator | None = None
    model: ModelSpec | None = None
    base: Base = Field(default_factory=Base)
    by: By = Field(default_factory=lambda: ["herkomst"])
    waves: Waves
    compare_waves: bool = False
    ci: CI = Field(default_factory=CI)
    reference: float | None = 1
    alpha: Alpha = 0.05
    decimals: Decimals = 1
    suppression: Rule = Field(default_factory=Rule)
    question: Text | None = None
    notes: list[Text] = Field(default_factory=list)

    @model_validator(mode="after")
    def _waves(self) -> TableSpec:
        if self.compare_waves and len(self.waves) != 2:
            raise ValueError("compare_waves needs exactly two waves")
        if len(set(self.waves)) != len(self.waves):
            raise ValueError("a wave is listed twice")
        if (self.indicator is None) == (self.model is None):
            raise ValueError("give exactly one of 'indicator' or 'model'")
        if self.model is not None and (len(self.by) != 1 or len(self.waves) != 1
                                       or self.compare_waves):
            raise ValueError("a model table takes one 'by' variable (the margins), one wave "
                             "and no compare_waves")
        return self


class TableDefaults(_Model):
    """Keys merged into every table; a table's own keys win. Same types as :class:`TableSpec`."""

    by: By | None = None
    waves: Waves | None = None
    compare_waves: bool | None = None
    ci: CI | None = None
    reference: float | None = None
    alpha: Alpha | None = None
    decimals: Decimals | None = None
    suppression: Rule | None = None
    base: Base | None = None


DEFAULT_KEYS: tuple[str, ...] = tuple(TableDefaults.model_fields)


class BookSpec(_Model):
    """A table book: its title, source, defaults and tables (defaults merged in)."""

    title: Text
    source: Text | None = None
    defaults: TableDefaults = Field(default_factory=TableDefaults)
    tables: list[TableSpec] = Field(min_length=1)


@dataclass(frozen=True)
class BookSpecFile:
    """A validated table-book spec and the file it came from."""

    spec: BookSpec
    path: str | None
    doc: YamlDocument | None = field(default=None, repr=False, compare=False)

    @property
    def tables(self) -> tuple[TableSpec, ...]:
        return tuple(self.spec.tables)

    def where(self, index: int, table: TableSpec, *path: str) -> str:
        """Where a key of a table is written, for messages: ``file:line: tables.<i>.<path>``
        (or ``defaults.<path>`` when the table took the value from there) when the spec
        was read from YAML; else ``tables[<index>] (<id>).<path>``."""
        if self.doc is None:
            return f"tables[{index}] ({table.id})" + "".join(f".{p}" for p in path)
        raw = _raw_tables(self.doc)
        i = next((j for j, t in enumerate(raw)
                  if isinstance(t, Mapping) and t.get("id") == table.id), index)
        own = raw[i] if i < len(raw) and isinstance(raw[i], Mapping) else {}
        defaults = _as_mapping(_as_mapping(self.doc.data).get("defaults"))
        if path and path[0] not in own and path[0] in defaults:
            return self.doc.where("defaults", *path)
        return self.doc.where("tables", i, *path)


def _merged(raw: Any) -> Any:
    """The document with the (known) keys of ``defaults`` merged into each table."""
    if not isinstance(raw, Mapping):
        return raw
    defaults = raw.get("defaults")
    defaults = {k: v for k, v in defaults.items() if k in DEFAULT_KEYS} \
        if isinstance(defaults, Mapping) else {}
    tables = raw.get("tables")
    if not defaults or not isinstance(tables, list):
        return raw
    merged = [{**defaults, **t} if isinstance(t, Mapping) else t for t in tables]
    return {**raw, "tables": merged}


def _as_mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _raw_tables(doc: YamlDocument) -> list[Any]:
    """The document's ``tables`` as written (``[]`` when it is not a list)."""
    tables = _as_mapping(doc.data).get("tables")
    return tables if isinstance(tables, list) else []


def _problems(doc: YamlDocument, errors: Sequence[Mapping[str, Any]]) -> list[str]:
    """One line per problem. An error inside table ``i`` is placed in that table (with the
    table's keys for a did-you-mean), or under ``defaults`` when the value came from there.
    A key missing from a table because ``defaults`` misspells it is left to that key's
    did-you-mean line."""
    tables = _raw_tables(doc)
    defaults = _as_mapping(_as_mapping(doc.data).get("defaults"))
    misspelt = {close for key in defaults if key not in DEFAULT_KEYS
                for close in difflib.get_close_matches(str(key), DEFAULT_KEYS, n=1)}
    out: list[str] = []
    for err in errors:
        loc = tuple(err["loc"])
        if len(loc) >= 2 and loc[0] == "tables" and isinstance(loc[1], int):
            own = tables[loc[1]] if loc[1] < len(tables) else None
            field = loc[2] if len(loc) >= 3 else None
            if err["type"] == "missing" and field in misspelt and len(loc) == 3:
                continue
            if isinstance(own, Mapping) and field in defaults and field not in own:
                # the value came from defaults: report it there (once, however many tables)
                out += schema_problems(doc, [{**err, "loc": ("defaults", *loc[2:])}], BookSpec)
            else:
                out += schema_problems(doc, [{**err, "loc": loc[2:]}], TableSpec,
                                       prefix=("tables", str(loc[1])))
        else:
            out += schema_problems(doc, [err], BookSpec)
    return out


def _duplicate_ids(doc: YamlDocument) -> list[str]:
    """A table id given twice (checked on the raw tables, so it is found with other problems)."""
    tables = _raw_tables(doc)
    seen: set[str] = set()
    out = []
    for i, t in enumerate(tables):
        tid = t.get("id") if isinstance(t, Mapping) else None
        if isinstance(tid, str) and tid in seen:
            out.append(f"{doc.where('tables', i, 'id')}: duplicate table id {tid!r}")
        if isinstance(tid, str):
            seen.add(tid)
    return out


def _by_line(problems: Iterable[str], source: str) -> list[str]:
    """Problems without repeats, in file order (``source:line: ...`` sorts by its line)."""
    def line(p: str) -> int:
        head = p[len(source) + 1:].split(":", 1)[0] if p.startswith(source + ":") else ""
        return int(head) if head.isdigit() else 0

    return sorted(dict.fromkeys(problems), key=line)


def _validated(doc: YamlDocument, path: str | None) -> BookSpecFile:
    """Validate a parsed spec; every problem (schema, duplicate keys and ids) at once."""
    problems = doc.duplicate_problems() + _duplicate_ids(doc)
    spec: BookSpec | None = None
    try:
        spec = BookSpec.model_validate(_merged(doc.data))
    except ValidationError as exc:
        problems += _problems(doc, exc.errors())
    if problems or spec is None:
        problems = _by_line(problems, doc.source)
        raise CodebookError(f"the table spec has {len(problems)} problem(s)", where=doc.source,
                            problems=tuple(problems), fix=_FIX)
    return BookSpecFile(spec=spec, path=path, doc=doc)


def parse_spec(text: str, source: str | None = None) -> BookSpecFile:
    """Parse and validate a table-book spec (YAML text); every problem at once.

    ``defaults`` (any of by, waves, compare_waves, ci, reference, alpha,
    decimals, suppression, base) are merged into each table; a table's own keys win.
    ``source`` names the text in messages (and becomes :attr:`BookSpecFile.path`).
    """
    doc = parse_yaml(text, source=source or "table spec", what="table spec")
    return _validated(doc, source)


def read_spec(path: str | os.PathLike[str]) -> BookSpecFile:
    """Read and validate a table-book spec file (see :func:`parse_spec`)."""
    return _validated(read_yaml(path, what="table spec"), str(path))


def _unknown(name: str, known: Iterable[str], what: str) -> str:
    close = difflib.get_close_matches(name, sorted(known), n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return f"{name!r} is not {what}{hint}"


def check_spec(book: BookSpecFile, codebook: Codebook,
               waves: Iterable[object] | None = None) -> list[str]:
    """Cross-check a spec against a codebook (and the loaded waves): all problems, each
    with the file and line of the key (:meth:`BookSpecFile.where`) and a did-you-mean
    for an unknown name."""
    from sid.expr import parse, variables

    problems: list[str] = []
    names = set(codebook.names)
    mr = dict(codebook.mr_sets)
    known_waves = set(str(w) for w in codebook.waves)
    loaded = None if waves is None else {str(w) for w in waves}
    for i, t in enumerate(book.tables):
        def at(*path: str, t: TableSpec = t, i: int = i) -> str:
            return book.where(i, t, *path)

        ind = t.indicator
        if t.model is not None:
            from sid.tables.models import check_model_table

            problems += check_model_table(t, codebook, at)
        if ind is not None and ind.variable is not None and ind.variable not in names:
            problems.append(f"{at('indicator', 'variable')}: "
                            f"{_unknown(ind.variable, names, 'in the codebook')}")
        if ind is not None and ind.mr_set is not None and ind.mr_set not in mr:
            problems.append(f"{at('indicator', 'mr_set')}: "
                            f"{_unknown(ind.mr_set, mr, 'a multiple-response set of the codebook')}"
                            f" (sets: {show_values(sorted(mr))})")
        if ind is not None and ind.variable in names and ind.codes is not None:
            labels = codebook.value_labels(ind.variable)
            bad = [c for c in ind.codes if labels and c not in labels]
            if bad:
                problems.append(f"{at('indicator', 'codes')}: {show_values(bad)} are not codes "
                                f"of {ind.variable!r} (codes: {show_values(sorted(labels))})")
        for b in t.by:
            if b not in names:
                problems.append(f"{at('by')}: {_unknown(b, names, 'in the codebook')}")
        problems += spec_problems(t.by, t.suppression.below,
                                  {codebook.wave(w).id for w in t.waves if w in known_waves},
                                  where=at("by"))
        if t.base.where:
            try:
                unknown = sorted(variables(parse(t.base.where)) - names)
                if unknown:
                    close = [c for u in unknown
                             for c in difflib.get_close_matches(u, sorted(names), n=1)]
                    hint = f"; did you mean {show_values(close)}?" if close else ""
                    problems.append(f"{at('base', 'where')}: unknown variable(s) "
                                    f"{show_values(unknown)}{hint}")
            except Exception as exc:  # a CodebookError with the parse problem
                problems.append(f"{at('base', 'where')}: {exc}")
        for w in t.waves:
            if w not in known_waves:
                problems.append(f"{at('waves')}: {w!r} is not a wave of the codebook "
                                f"({show_values(sorted(known_waves))})")
            elif loaded is not None and w not in loaded:
                problems.append(f"{at('waves')}: wave {w} was not loaded "
                                "(give its file with --data)")
        if t.reference is not None and t.by and t.by[0] in names:
            labels = codebook.value_labels(t.by[0])
            if labels and t.reference not in labels:
                problems.append(f"{at('reference')}: {t.reference:g} is not a code of "
                                f"{t.by[0]!r}")
    return list(dict.fromkeys(problems))  # a default's problem once, not once per table


def select_tables(book: BookSpecFile,
                  waves: Iterable[object]) -> tuple[BookSpecFile, tuple[str, ...]]:
    """The book restricted to tables whose waves are all in ``waves``, and the skipped ids."""
    loaded = {str(w) for w in waves}
    keep = [t for t in book.tables if set(t.waves) <= loaded]
    skipped = tuple(t.id for t in book.tables if not set(t.waves) <= loaded)
    if not keep:
        raise CodebookError("no table of the spec can be made from the loaded waves",
                            where=book.path or "table spec", got=show_values(sorted(loaded)),
                            fix="give the wave files the tables need with --data")
    spec = book.spec.model_copy(update={"tables": keep})
    return BookSpecFile(spec=spec, path=book.path, doc=book.doc), skipped
