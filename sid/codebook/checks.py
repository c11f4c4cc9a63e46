"""Cross-reference checks of a codebook: what its schema cannot express.

Waves named by variables exist, design and id variables are codebook
variables measured in the wave, a code is not two missing kinds, recodes land
on labelled codes, expressions parse and use known names, multiple-response
items exist, the origin check names variables. One ``file:line: path: what``
line per problem, so :func:`~sid.codebook.read.parse_codebook` reports them
with the schema problems in one error.
"""

from __future__ import annotations

from typing import Any

from sid.codebook.book import Codebook
from sid.codebook.schema import CODED_TYPES
from sid.errors import CodebookError, show_values
from sid.expr import FUNCTIONS, parse, with_close_matches
from sid.formatting import format_number

__all__ = ["semantic_problems"]


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
    for section, entries in (("variables", spec.variables), ("derived", spec.derived)):
        for name, entry in entries.items():
            if entry.reference is not None and entry.values and entry.reference not in entry.values:
                add((section, name, "reference"),
                    f"reference category {format_number(entry.reference)} has no value label. "
                    f"Expected one of: {show_values(sorted(entry.values))}")
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
                            f"code {format_number(code)} is both {seen[code]} and {kind}. Expected: one kind per code")
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
