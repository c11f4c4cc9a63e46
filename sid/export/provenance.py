"""Provenance of a table book: every input with its sha256, weight, version, command."""

from __future__ import annotations

import datetime as _dt
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sid.errors import InputError
from sid.io import file_sha256


@dataclass(frozen=True)
class Provenance:
    """Where the figures come from: inputs (role, path, sha256), weight, version, command."""

    inputs: tuple[tuple[str, str, str], ...]
    weight: str
    version: str
    created: str
    command: str
    source: str = "Samenleven in Diversiteit (Vlaamse overheid, Agentschap Binnenlands Bestuur)"
    extra: tuple[tuple[str, str], ...] = field(default=())

    @classmethod
    def from_files(cls, files: Sequence[tuple[str, str | os.PathLike[str]]], *, weight: str,
                   command: str, version: str | None = None,
                   created: str | None = None) -> Provenance:
        """Hash every ``(role, path)`` (role: data, codebook, spec, weights)."""
        if version is None:
            from sid import __version__ as version
        missing = [str(p) for _, p in files if not Path(p).is_file()]
        if missing:
            raise InputError("input files not found", where="provenance of the table book",
                             got=", ".join(missing), fix="pass existing files")
        inputs = tuple((role, str(p), file_sha256(p)) for role, p in files)
        created = created or _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        return cls(inputs=inputs, weight=weight, version=str(version), created=created,
                   command=command)



def book_inputs(data: Sequence[str | os.PathLike[str]], codebook: str | os.PathLike[str],
                spec: str | os.PathLike[str],
                weights: Sequence[str | os.PathLike[str]] = ()) -> list[tuple[str, Path]]:
    """The (role, path) inputs of a table book, in the order the provenance sheet lists them."""
    files = [("data", Path(p)) for p in data]
    files += [("codebook", Path(codebook)), ("spec", Path(spec))]
    files += [("weights", Path(p)) for p in weights]
    return files


def command_line(argv: Sequence[str]) -> str:
    """The command as the user could type it again: ``sid`` and the quoted arguments."""
    import shlex

    return "sid " + " ".join(shlex.quote(a) for a in argv)
