"""Read and write SPSS/Stata survey waves without losing a label or a missing code.

Wraps pyreadstat (the ecosystem's reader/writer for ``.sav``, ``.zsav``,
``.por`` and ``.dta``) and adds what it lacks for survey work:

* an immutable :class:`Wave` whose metadata (labels, value labels,
  user-missing codes, formats, measure, file hash) travels with the data;
* user-missing codes kept as their codes and marked missing: SPSS discrete
  values and ranges in :class:`MissingSpec`, Stata ``.a``-``.z`` kept as letters
  in :attr:`Wave.extended_missing` (the numeric column holds NaN there);
* :func:`write_wave` takes the metadata back in one call (pyreadstat's writers
  do not take its own metadata object), writes atomically, reads the file back
  and refuses, naming variables, if anything was lost.

Numeric columns are always float64 (SPSS stores doubles; Stata integers are
widened), so a write/read round trip reproduces the data exactly.

Modules: :mod:`sid.io.meta` (Wave and its metadata), :mod:`sid.io.read`,
:mod:`sid.io.write`, :mod:`sid.io.files` (the one atomic writer of the toolkit
and file hashes). This is the bottom layer: it imports only :mod:`sid.errors`.
"""

from __future__ import annotations

from sid.io.files import (
    atomic_output,
    atomic_outputs,
    file_sha256,
    write_csv_atomic,
    write_text_atomic,
)
from sid.io.meta import (
    FORMATS,
    STATA_LETTERS,
    WRITABLE,
    MissingSpec,
    VariableMeta,
    Wave,
    WaveMeta,
    make_wave,
)
from sid.io.read import format_of, read_table, read_wave, scan_wave, start_wave_read
from sid.io.write import compare_waves, to_stata_missing, write_wave

__all__ = [
    "FORMATS",
    "STATA_LETTERS",
    "WRITABLE",
    "MissingSpec",
    "VariableMeta",
    "Wave",
    "WaveMeta",
    "atomic_output",
    "atomic_outputs",
    "compare_waves",
    "file_sha256",
    "format_of",
    "make_wave",
    "read_table",
    "read_wave",
    "scan_wave",
    "start_wave_read",
    "to_stata_missing",
    "write_csv_atomic",
    "write_text_atomic",
    "write_wave",
]
