"""Table-book specs (YAML, see ``docs/tables.md``): validated, cross-checked, selected."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sid.errors import show_values


def _spec_models():
    """The pydantic models of a table spec (built lazily: pydantic is slow to import)."""
    global _MODELS
    if _MODELS is not None:
        return _MODELS
    from typing import Literal

    from pydantic import BaseModel, ConfigDict, Field, model_validator

    from sid.codebook import Text

    class _M(BaseModel):
        model_config = ConfigDict(frozen=True, extra="forbid")

    class Indicator(_M):
        """What is counted: a variable with the codes that count, a mean, or an MR set."""

        variable: str | None = None
        mr_set: str | None = None
        stat: Literal["proportion", "mean"] = "proportion"
        codes: list[float] | None = None
        label: Text | None = None

        @model_validator(mode="after")
        def _one_source(self):
            if (self.variable is None) == (self.mr_set is None):
                raise ValueError("give exactly one of 'variable' or 'mr_set'")
            if self.stat == "mean" and (self.codes is not None or self.mr_set is not None):
                raise ValueError("a mean takes a 'variable' and no 'codes'")
            return self

    class Base(_M):
        """Who is in the denominator: a filter and which missing kinds stay in."""

        where: str | None = None
        label: Text | None = None
        keep_missing: list[Literal["WN", "GA", "WZ"]] = Field(default_factory=list)

    class CI(_M):
        method: Literal["logit", "xlogit", "asin", "beta", "t", "wald"] = "logit"
        level: float = Field(default=0.95, gt=0, lt=1)

    class Rule(_M):
        below: int = Field(default=30, ge=0)
        flag_below: int = Field(default=50, ge=0)

        @model_validator(mode="after")
        def _order(self):
            if self.flag_below < self.below:
                raise ValueError("flag_below must be >= below")
            return self

    class TableSpec(_M):
        id: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9_]*$")
        title: Text
        indicator: Indicator
        base: Base = Field(default_factory=Base)
        by: list[str] = Field(default_factory=lambda: ["herkomst"], min_length=1)
        waves: list[str] = Field(min_length=1)
        compare_waves: bool = False
        ci: CI = Field(default_factory=CI)
        reference: float | None = 1
        alpha: float = Field(default=0.05, gt=0, lt=1)
        decimals: int = Field(default=1, ge=0, le=4)
        suppression: Rule = Field(default_factory=Rule)
        question: Text | None = None
        notes: list[Text] = Field(default_factory=list)

        @model_validator(mode="after")
        def _waves(self):
            if self.compare_waves and len(self.waves) != 2:
                raise ValueError("compare_waves needs exactly two waves")
            if len(set(self.waves)) != len(self.waves):
                raise ValueError("a wave is listed twice")
            return self

    class BookSpec(_M):
        title: Text
        source: Text | None = None
        defaults: dict[str, Any] = Field(default_factory=dict)
        tables: list[TableSpec] = Field(min_length=1)

    _MODELS = {"TableSpec": TableSpec, "BookSpec": BookSpec, "Indicator": Indicator}
    return _MODELS


_MODELS: dict[str, Any] | None = None
_DEFAULT_KEYS = ("by", "waves", "compare_waves", "ci", "reference", "alpha", "decimals",
                 "suppression", "base")


@dataclass(frozen=True)
class BookSpecFile:
    """A validated table-book spec and the file it came from."""

    spec: Any  # BookSpec (pydantic)
    path: str | None

    @property
    def tables(self) -> tuple[Any, ...]:
        return tuple(self.spec.tables)


def parse_spec(text: str, source: str | None = None) -> BookSpecFile:
    """Parse and validate a table-book spec (YAML text); every problem at once.

    ``defaults`` (any of by, waves, compare_waves, ci, reference, alpha,
    decimals, suppression, base) are merged into each table; a table's own keys win.
    """
    import yaml
    from pydantic import ValidationError

    from sid.errors import CodebookError

    where = source or "table spec"
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise CodebookError(f"not valid YAML: {exc}".replace("\n", " "), where=where,
                            fix="check indentation and quotes") from None
    if not isinstance(raw, dict):
        raise CodebookError("a table spec must be a mapping with 'title' and 'tables'",
                            where=where, fix="see docs/tables.md")
    problems: list[str] = []
    defaults = raw.get("defaults") or {}
    if not isinstance(defaults, dict):
        problems.append("defaults: must be a mapping")
        defaults = {}
    unknown = sorted(set(defaults) - set(_DEFAULT_KEYS))
    if unknown:
        problems.append(f"defaults: unknown key(s) {show_values(unknown)} "
                        f"(allowed: {', '.join(_DEFAULT_KEYS)})")
    tables = raw.get("tables")
    if isinstance(tables, list):
        merged = []
        for t in tables:
            merged.append({**{k: v for k, v in defaults.items() if k in _DEFAULT_KEYS},
                           **t} if isinstance(t, dict) else t)
        for t in merged:
            if isinstance(t, dict) and "waves" in t:
                t["waves"] = [str(w) for w in t["waves"]] if isinstance(t["waves"], list) \
                    else t["waves"]
        raw = {**raw, "tables": merged}
    models = _spec_models()
    spec = None
    try:
        spec = models["BookSpec"].model_validate(raw)
    except ValidationError as exc:
        for err in exc.errors():
            loc = ".".join(f"[{p}]" if isinstance(p, int) else str(p) for p in err["loc"])
            loc = loc.replace(".[", "[")
            if isinstance(raw.get("tables"), list) and err["loc"][:1] == ("tables",) \
                    and len(err["loc"]) > 1 and isinstance(err["loc"][1], int):
                tid = raw["tables"][err["loc"][1]]
                if isinstance(tid, dict) and "id" in tid:
                    loc += f" (table {tid['id']!r})"
            got = err.get("input")
            got_text = "" if isinstance(got, (dict, list)) else f" (got {got!r})"
            problems.append(f"{loc}: {err['msg']}{got_text}")
    if spec is not None:
        seen: set[str] = set()
        for i, t in enumerate(spec.tables):
            if t.id in seen:
                problems.append(f"tables[{i}].id: duplicate table id {t.id!r}")
            seen.add(t.id)
    if problems:
        raise CodebookError(f"{len(problems)} problem(s) in the table spec", where=where,
                            problems=tuple(problems), fix="see docs/tables.md")
    return BookSpecFile(spec=spec, path=source)


def read_spec(path: Any) -> BookSpecFile:
    """Read and validate a table-book spec file (see :func:`parse_spec`)."""
    from pathlib import Path

    from sid.errors import InputError

    p = Path(path)
    if not p.is_file():
        raise InputError("table spec not found", where=str(p), fix="give the path of a YAML spec")
    return parse_spec(p.read_text(encoding="utf-8"), source=str(p))


def check_spec(book: BookSpecFile, codebook: Any, waves: Any = None) -> list[str]:
    """Cross-check a spec against a codebook (and the loaded waves): all problems."""
    from sid.expr import parse, variables

    problems: list[str] = []
    names = set(codebook.names)
    mr = dict(codebook.mr_sets)
    known_waves = set(str(w) for w in codebook.waves)
    loaded = None if waves is None else {str(w) for w in waves}
    for i, t in enumerate(book.tables):
        at = f"tables[{i}] ({t.id})"
        ind = t.indicator
        if ind.variable is not None and ind.variable not in names:
            problems.append(f"{at}.indicator.variable: {ind.variable!r} is not in the codebook")
        if ind.mr_set is not None and ind.mr_set not in mr:
            problems.append(f"{at}.indicator.mr_set: {ind.mr_set!r} is not a multiple-response "
                            f"set of the codebook (sets: {show_values(sorted(mr))})")
        if ind.variable in names and ind.codes is not None:
            labels = codebook.value_labels(ind.variable)
            bad = [c for c in ind.codes if labels and c not in labels]
            if bad:
                problems.append(f"{at}.indicator.codes: {show_values(bad)} are not codes of "
                                f"{ind.variable!r} (codes: {show_values(sorted(labels))})")
        for b in t.by:
            if b not in names:
                problems.append(f"{at}.by: {b!r} is not in the codebook")
        if t.base.where:
            try:
                unknown = sorted(variables(parse(t.base.where)) - names)
                if unknown:
                    problems.append(f"{at}.base.where: unknown variable(s) {show_values(unknown)}")
            except Exception as exc:  # a CodebookError with the parse problem
                problems.append(f"{at}.base.where: {exc}")
        for w in t.waves:
            if w not in known_waves:
                problems.append(f"{at}.waves: {w!r} is not a wave of the codebook "
                                f"({show_values(sorted(known_waves))})")
            elif loaded is not None and w not in loaded:
                problems.append(f"{at}.waves: wave {w} was not loaded (give its file with --data)")
        if t.reference is not None and t.by and t.by[0] in names:
            labels = codebook.value_labels(t.by[0])
            if labels and t.reference not in labels:
                problems.append(f"{at}.reference: {t.reference:g} is not a code of {t.by[0]!r}")
    return problems



def select_tables(book: BookSpecFile, waves: Any) -> tuple[BookSpecFile, tuple[str, ...]]:
    """The book restricted to tables whose waves are all in ``waves``, and the skipped ids."""
    loaded = {str(w) for w in waves}
    keep = [t for t in book.tables if set(t.waves) <= loaded]
    skipped = tuple(t.id for t in book.tables if not set(t.waves) <= loaded)
    if not keep:
        from sid.errors import CodebookError

        raise CodebookError("no table of the spec can be made from the loaded waves",
                            where=book.path or "table spec", got=show_values(sorted(loaded)),
                            fix="give the wave files the tables need with --data")
    spec = book.spec.model_copy(update={"tables": keep})
    return BookSpecFile(spec=spec, path=book.path), skipped
