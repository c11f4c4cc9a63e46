"""Provenance of a table book: every input with its sha256, the weight, version, command.

Paths are shown relative to the folder the command ran in (a file shipped with sid
as ``sid:data/...``), never as an absolute path of the machine that made the book.
Data files (SPSS/Stata) also get a *content* hash (:func:`data_content_sha256`): the
sha256 of their data and metadata, not of the file bytes. An SPSS header holds the
time the file was written, so two runs of ``sid synth`` with the same seed give the
same data but different file bytes; the content hash is then identical, the file
hash is not. Both are listed, so a file can be checked with ``sha256sum`` and two
runs can be compared by content.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sid.errors import InputError, SidError
from sid.io import file_sha256
from sid.io.meta import WRITABLE_SUFFIXES

if TYPE_CHECKING:
    import pandas as pd

    from sid.io import Wave

DATA_SUFFIXES = WRITABLE_SUFFIXES  # .sav, .zsav, .dta
"""Files that get a content hash next to their file hash."""

SYNTHETIC_MARK = "synthet"
"""A data file whose SPSS/Stata file label contains this is synthetic (``sid synth``)."""


@dataclass(frozen=True)
class Provenance:
    """Where the figures come from: inputs (role, path, sha256), weight, version, command.

    ``content`` maps a data file's shown path to its content hash; ``weight`` is the
    weight variable and ``weight_text`` the weight in words; ``synthetic`` is true when
    a data file says it holds synthetic data (then :attr:`source` says so)."""

    inputs: tuple[tuple[str, str, str], ...]
    weight: str
    version: str
    created: str
    command: str
    source: str = "Samenleven in Diversiteit (Vlaamse overheid, Agentschap Binnenlands Bestuur)"
    extra: tuple[tuple[str, str], ...] = field(default=())
    content: tuple[tuple[str, str], ...] = field(default=())
    weight_text: str = ""
    synthetic: bool = False

    @classmethod
    def from_files(cls, files: Sequence[tuple[str, str | os.PathLike[str]]], *, weight: str,
                   command: str, version: str | None = None,
                   created: str | None = None, source: str | None = None,
                   weight_text: str = "", base: str | os.PathLike[str] | None = None,
                   extra: Sequence[tuple[str, str]] = (),
                   read: Callable[[Path], Wave] | None = None) -> Provenance:
        """Hash every ``(role, path)`` (roles: data, weights, codebook, origin_rules,
        weighting_spec, margins, gross, spec). Paths are shown relative to ``base``
        (default: the current folder); data files also get a content hash, from the wave
        ``read`` returns (default: :func:`sid.io.read_wave`; a command that has read the
        file already passes its reader, so the file is not read twice)."""
        if version is None:
            from sid import __version__ as version
        missing = [str(p) for _, p in files if not Path(p).is_file()]
        if missing:
            raise InputError("input files not found", where="provenance of the table book",
                             got=", ".join(missing), fix="pass existing files")
        seen: set[str] = set()
        inputs = []
        content = []
        synthetic = False
        for role, p in files:
            shown = display_path(p, base)
            if shown in seen:  # a file listed once, under its first role
                continue
            seen.add(shown)
            inputs.append((role, shown, file_sha256(p)))
            if Path(p).suffix.lower() in DATA_SUFFIXES:
                try:
                    digest, label = data_content_sha256(p, read=read)
                except SidError:  # not a readable data file: its file hash only
                    continue
                content.append((shown, digest))
                synthetic = synthetic or SYNTHETIC_MARK in (label or "").lower()
        created = created or _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        src = source or cls.source
        if synthetic and SYNTHETIC_MARK not in src.lower():
            src = f"{src} - synthetische gegevens"
        return cls(inputs=tuple(inputs), weight=weight, version=str(version), created=created,
                   command=command, source=src, content=tuple(content),
                   weight_text=weight_text, synthetic=synthetic, extra=tuple(extra))


def display_path(path: str | os.PathLike[str], base: str | os.PathLike[str] | None = None) -> str:
    """``path`` as the provenance shows it: relative to ``base`` (default: the current
    folder) with ``/``; a file shipped with sid as ``sid:<path in the package>``; never an
    absolute path (a file on another drive is shown by its name)."""
    import sid

    p = Path(path).resolve()
    package = Path(sid.__file__).resolve().parent
    if p.is_relative_to(package):
        return "sid:" + p.relative_to(package).as_posix()
    root = Path(base).resolve() if base is not None else Path.cwd().resolve()
    try:
        return Path(os.path.relpath(p, root)).as_posix()
    except ValueError:  # another drive (Windows): no relative path exists
        return p.name


CONTENT_SCHEME = 2
"""The layout of :func:`data_content_sha256`. 1 (until late 2026) hashed the data as CSV
text, 30 ms per 5,000-row wave; 2 hashes every column's values as binary. The same data
give different hashes under the two, so the sheet names the scheme beside the hash."""


def data_content_sha256(path: str | os.PathLike[str],
                        read: Callable[[Path], Wave] | None = None) -> tuple[str, str | None]:
    """The sha256 of a data file's content (column names, labels, value labels, missing
    codes, file label and every value), independent of when the file was written; and
    the file label. ``read`` reads the whole file (default :func:`sid.io.read_wave`).

    Layout (:data:`CONTENT_SCHEME` 2): the metadata as sorted JSON; then per column its
    name and kind as JSON and its values: a float column as little-endian float64 bytes
    with one NaN for every missing value, any other column as the JSON list of its values
    as text (``null`` where missing); then each column's Stata ``.a``-``.z`` letters, row
    by row (``null`` where a row has none), the same way."""
    from sid.io import read_wave

    wave = (read or read_wave)(Path(path))
    meta = wave.meta
    head = {
        "file_label": meta.file_label,
        "variables": [[v.name, v.label, sorted((repr(k), str(x)) for k, x in
                                             dict(v.value_labels or {}).items()),
                       repr(v.missing)] for v in meta.variables],
    }
    h = hashlib.sha256(json.dumps(head, ensure_ascii=False, sort_keys=True).encode("utf-8"))
    h.update(f"rows {len(wave.data)}".encode())
    for name, column in wave.data.items():
        _hash_column(h, str(name), column)
    for name in sorted(wave.extended_missing):  # the letters in their rows (none elsewhere)
        letters = wave.extended_missing[name].reindex(wave.data.index)
        _hash_column(h, f"extended {name}", letters.astype(object))
    return h.hexdigest(), meta.file_label


def _hash_column(h: Any, name: str, column: pd.Series) -> None:
    """Feed one column to ``h`` as :func:`data_content_sha256` lays it out."""
    import numpy as np
    import pandas as pd

    values = column.to_numpy()
    if values.dtype == np.float64:
        h.update(json.dumps([name, "float64"], ensure_ascii=False).encode("utf-8"))
        # one bit pattern for every missing value: NaN payloads are not data
        h.update(np.where(np.isnan(values), np.nan, values).astype("<f8").tobytes())
        return
    texts = [None if pd.isna(x) else str(x) for x in values.tolist()]
    h.update(json.dumps([name, "text"], ensure_ascii=False).encode("utf-8"))
    h.update(json.dumps(texts, ensure_ascii=False).encode("utf-8"))


def book_inputs(data: Sequence[str | os.PathLike[str]], codebook: str | os.PathLike[str],
                spec: str | os.PathLike[str],
                weights: Sequence[str | os.PathLike[str]] = (),
                lineage: Sequence[tuple[str, str | os.PathLike[str]]] = (),
                origin_rules: str | os.PathLike[str] | None = None) -> list[tuple[str, Path]]:
    """The (role, path) inputs of a table book, in the order the provenance sheet lists
    them: data, weighted files and what made them (``lineage``: weighting spec, margins,
    gross sample), codebook, origin rule set, table spec."""
    files = [("data", Path(p)) for p in data]
    files += [("weights", Path(p)) for p in weights]
    files += [(role, Path(p)) for role, p in lineage]
    files += [("codebook", Path(codebook))]
    if origin_rules is not None:
        files.append(("origin_rules", Path(origin_rules)))
    files += [("spec", Path(spec))]
    return files


def command_line(argv: Sequence[str], base: str | os.PathLike[str] | None = None) -> str:
    """The command as the user could type it again: ``sid`` and the quoted arguments,
    absolute paths (also in ``WAVE=PATH``) made relative as :func:`display_path` does."""
    import shlex

    def shown(arg: str) -> str:
        head, sep, tail = arg.rpartition("=")
        value = tail if sep else arg
        if not os.path.isabs(value):
            return arg
        rel = display_path(value, base)
        return f"{head}={rel}" if sep else rel

    return "sid " + " ".join(shlex.quote(shown(a)) for a in argv)
