"""A whole table book in the chosen format: one workbook, or a CSV/JSON file per table."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from sid.errors import InputError
from sid.export.excel import write_table_book
from sid.export.files import write_table_files
from sid.export.provenance import Provenance
from sid.tables import TableResult

BOOK_FORMATS = ("xlsx", "csv", "json")


def write_book(tables: Sequence[TableResult], out: str | os.PathLike[str], *,
               provenance: Provenance, fmt: str = "xlsx", lang: str = "nl",
               title: str | None = None, chart: bool = True) -> list[Path]:
    """Write the book: ``xlsx`` to the workbook ``out`` (:func:`write_table_book`), or
    ``csv``/``json`` into the folder ``out`` (:func:`write_table_files`). Returns the paths."""
    if fmt == "xlsx":
        return [write_table_book(tables, out, provenance=provenance, lang=lang,
                                 book_title=title, chart=chart)]
    if fmt in ("csv", "json"):
        return write_table_files(tables, out, fmt=fmt, provenance=provenance)
    raise InputError(f"unknown format {fmt!r}", where="--format",
                     fix=f"use one of {', '.join(BOOK_FORMATS)}")
