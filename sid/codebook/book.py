"""The :class:`Codebook`: a validated codebook and the questions asked of it.

Which waves and variables there are, a variable's source name, missing codes
and recode rules in a wave, design variables, labels; and ``file:line`` of any
YAML path for messages (lines from :mod:`sid.yamlio`).
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from sid.codebook.schema import (
    CODED_TYPES,
    CodebookSpec,
    Derived,
    MRSet,
    OriginSpec,
    Variable,
    WaveSpec,
)
from sid.errors import CodebookError, InputError, show_values
from sid.yamlio import YamlDocument

__all__ = ["Codebook"]


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
        """The spec of a wave (CodebookError naming the waves if absent)."""
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
                codes = rule.from_ if isinstance(rule.from_, list) else [] if rule.from_ is None else [rule.from_]
                rules += [((float(c), float(c)), rule.to) for c in codes]
        return rules

    def line(self, *path: Any) -> int | None:
        """Line of a YAML path in the file (or of its closest parent)."""
        return self._doc().line(*path)

    def where(self, *path: Any) -> str:
        """``file:line: yaml.path`` for messages."""
        return self._doc().where(*path)

    def _doc(self) -> YamlDocument:
        return YamlDocument(data=None, source=self.path or "codebook", lines=self.lines)
