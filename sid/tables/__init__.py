"""Crosstabs, table-book specs and the tables of a table book.

* :mod:`sid.tables.crosstabs`: :func:`crosstab`, the design-based two-way table
  with Rao-Scott tests (R's ``svychisq``).
* :mod:`sid.tables.spec`: the table-book spec (YAML), validated with pydantic
  models, and its cross-check against a codebook.
* :mod:`sid.tables.book`: :func:`build_tables`, every table of a spec with its
  estimates, comparisons and suppression.
* :mod:`sid.tables.suppression`: the suppression rule and complementary suppression.
"""

from __future__ import annotations

from sid.tables.book import (
    TABLE_COLUMNS,
    TableResult,
    book_weight_label,
    build_tables,
    load_book_data,
    stacked_design,
)
from sid.tables.crosstabs import (
    CROSSTAB_CI,
    CROSSTAB_COLUMNS,
    PERCENT_BASES,
    TEST_COLUMNS,
    Crosstab,
    crosstab,
    rao_scott,
    wave_value_labels,
)
from sid.tables.spec import BookSpecFile, check_spec, parse_spec, read_spec, select_tables
from sid.tables.suppression import Suppression, complementary_suppression

__all__ = [
    "CROSSTAB_CI",
    "CROSSTAB_COLUMNS",
    "PERCENT_BASES",
    "TABLE_COLUMNS",
    "TEST_COLUMNS",
    "BookSpecFile",
    "Crosstab",
    "Suppression",
    "TableResult",
    "book_weight_label",
    "build_tables",
    "check_spec",
    "complementary_suppression",
    "crosstab",
    "load_book_data",
    "parse_spec",
    "rao_scott",
    "read_spec",
    "select_tables",
    "stacked_design",
    "wave_value_labels",
]
