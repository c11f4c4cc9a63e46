"""Reading a codebook: YAML through :mod:`sid.yamlio`, then schema and cross-references.

The codebook is validated in two passes, both reporting *every* problem at
once in one :class:`~sid.errors.CodebookError`: the pydantic schema of
:mod:`sid.codebook.schema` (shape and types), then the cross-references of
:mod:`sid.codebook.checks`. Each problem names the file, the line and the
YAML path (``sid.yaml:42: variables.werkbeh.waves.2022.source``). When some
entries fail the schema, the others are still cross-checked (and references
to the broken ones are not reported again).
"""

from __future__ import annotations

import os
from typing import Any

from pydantic import ValidationError

from sid.codebook.book import Codebook
from sid.codebook.checks import semantic_problems
from sid.codebook.schema import CodebookSpec, Derived, MRSet, OriginSpec, Variable, WaveSpec
from sid.errors import CodebookError, InputError
from sid.yamlio import YamlDocument, parse_yaml, read_yaml, validate_model

__all__ = ["load_codebook", "parse_codebook", "read_codebook"]


FIX = "correct each line listed (format: docs/codebook.md)"


def read_codebook(path: str | os.PathLike[str]) -> Codebook:
    """Read and validate a codebook file; all problems are reported in one CodebookError."""
    try:
        doc = read_yaml(path, what="codebook")
    except InputError as exc:  # not found, a folder, not UTF-8: point at the shipped example too
        raise InputError(exc.what, where=exc.where, got=exc.got,
                         fix=f"{exc.fix} (shipped: sid/data/sid.yaml)") from None
    return _validated(doc, str(path))


def parse_codebook(text: str, source: str | None = None) -> Codebook:
    """Validate codebook YAML text (``source`` names it in messages)."""
    return _validated(parse_yaml(text, source=source or "codebook", what="codebook"), source)


def _validated(doc: YamlDocument, source: str | None) -> Codebook:
    """The codebook of a parsed document, or one CodebookError with every problem."""
    raw = doc.data
    if not isinstance(raw, dict):
        raise CodebookError("a codebook must be a YAML mapping", where=doc.source,
                            fix="start from `sid codebook init FILE` or sid/data/sid.yaml")
    try:
        spec: CodebookSpec | None = CodebookSpec.model_validate(raw)
    except ValidationError:
        spec = None
    if spec is not None:
        codebook = Codebook(spec=spec, path=source, lines=doc.lines)
        problems = semantic_problems(codebook)
        if not problems and not doc.duplicates:
            return codebook
    else:
        partial, broken = _partial_spec(raw)
        problems = ([] if partial is None else
                    semantic_problems(Codebook(spec=partial, path=source, lines=doc.lines), broken))
    # raises here: the schema failed, or there are cross-reference or duplicate-key problems
    spec = validate_model(doc, CodebookSpec, what="codebook", fix=FIX, extra_problems=problems)
    return Codebook(spec=spec, path=source, lines=doc.lines)


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


def load_codebook(codebook: Codebook | str | os.PathLike[str]) -> Codebook:
    """A Codebook as given, or read from a path."""
    return codebook if isinstance(codebook, Codebook) else read_codebook(codebook)
