"""Errors that tell the user what went wrong, where, and how to fix it.

Every error raised for bad input is a :class:`SidError`. Its message is one
line: where (file, variable, YAML path...), what is wrong, the offending
values, and the fix. The CLI prints that line and exits with code 2, never a
traceback. Modelled on svy's structured errors (where/param/got/expected/hint).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sid.formatting import format_number

__all__ = [
    "CodebookError",
    "DesignError",
    "EstimationError",
    "InputError",
    "LossError",
    "SidError",
    "WeightingError",
    "format_number",
    "show_values",
]


def show_values(values: Iterable[Any], limit: int = 8) -> str:
    """Render offending values compactly: ``1, 2, 3 (+5 more)``."""
    values = list(values)
    shown = ", ".join(repr(v) if isinstance(v, str) else format_number(v) for v in values[:limit])
    if len(values) > limit:
        shown += f" (+{len(values) - limit} more)"
    return shown


class SidError(Exception):
    """Base class: a problem the user can fix, stated in one line.

    ``problems`` (a file's every problem, reported at once) follow that line, one per
    line after ``  - ``.
    """

    def __init__(self, what: str, *, where: str = "", got: str = "", fix: str = "",
                 problems: Iterable[str] = ()) -> None:
        self.what = what
        self.where = where
        self.got = got
        self.fix = fix
        self.problems = tuple(problems)
        super().__init__(self.line())

    def line(self) -> str:
        parts = []
        if self.where:
            parts.append(f"{self.where}: ")
        parts.append(self.what)
        if self.got:
            parts.append(f" (got {self.got})")
        if self.fix:
            parts.append(f". Fix: {self.fix}")
        head = "".join(parts)
        if not self.problems:
            return head
        return head + "\n" + "\n".join(f"  - {p}" for p in self.problems)


class InputError(SidError):
    """An input file cannot be read as asked (missing, corrupt, wrong encoding...)."""


class LossError(SidError):
    """Writing would lose data or metadata; nothing was written."""


class CodebookError(SidError):
    """A codebook or rule file is invalid. May carry many problems at once."""


class DesignError(SidError):
    """A survey design cannot be built from the data as given."""


class EstimationError(SidError):
    """An estimate was asked for that cannot be computed."""


class WeightingError(SidError):
    """Weighting input is inconsistent, infeasible, or did not converge."""


class PlanError(SidError):
    """A sample-size or precision plan was asked for with impossible inputs."""
