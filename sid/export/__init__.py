"""Table books: Excel (openpyxl), CSV/JSON for analysts, PNG forest plots.

* :mod:`sid.export.book`: :func:`write_book`, a whole book in the chosen format.
* :mod:`sid.export.excel`: :func:`write_table_book`, the Dutch (or English) workbook.
* :mod:`sid.export.files`: :func:`write_table_files`, CSV or JSON per table, and
  :func:`format_crosstab`, a crosstab as a terminal table, CSV or JSON.
* :mod:`sid.export.plots`: :func:`write_forest_plots`, a PNG per table.
* :mod:`sid.export.texts`: every user-facing text and symbol, Dutch and English.
* :mod:`sid.export.provenance`: :class:`Provenance`, the inputs with their sha256.

Exports hold aggregates only, never a respondent-level row, and every file is
written atomically (temporary file, then rename).
"""

from __future__ import annotations

from sid.export.book import BOOK_FORMATS, write_book
from sid.export.excel import table_footnotes, write_table_book
from sid.export.files import (
    ANALYST_COLUMNS,
    CROSSTAB_FORMATS,
    analyst_frame,
    format_crosstab,
    sheet_names,
    write_table_files,
)
from sid.export.plots import write_forest_plots
from sid.export.provenance import Provenance, book_inputs, command_line
from sid.export.texts import (
    CROSSTAB_TEXT,
    FLAG,
    KORN_GRAUBARD,
    METHOD_TEXT,
    NO_CI,
    NOT_ASKED,
    SIGNIFICANT,
    SUPPRESSED,
    TEXTS,
)

__all__ = [
    "ANALYST_COLUMNS",
    "BOOK_FORMATS",
    "CROSSTAB_FORMATS",
    "CROSSTAB_TEXT",
    "FLAG",
    "KORN_GRAUBARD",
    "NOT_ASKED",
    "METHOD_TEXT",
    "NO_CI",
    "SIGNIFICANT",
    "SUPPRESSED",
    "TEXTS",
    "Provenance",
    "analyst_frame",
    "book_inputs",
    "command_line",
    "format_crosstab",
    "sheet_names",
    "table_footnotes",
    "write_book",
    "write_forest_plots",
    "write_table_book",
    "write_table_files",
]
