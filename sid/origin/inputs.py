"""Reading the nationality columns that :func:`~sid.origin.classification.classify` needs.

A wave file is read with :func:`sid.io.read_wave`; a CSV with every value as
text and no NA guessing, so Namibia's code ``NA`` stays a country.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from sid.errors import InputError, show_values

__all__ = ["read_origin_input"]


def read_origin_input(
    path: str | os.PathLike[str],
    columns: Sequence[str],
    *,
    encoding: str | None = None,
) -> pd.DataFrame:
    """Read the columns needed for :func:`classify` from a wave file or a CSV.

    A CSV is read with every value as text and no NA guessing, so Namibia's
    code ``NA`` stays a country (pandas would read it as missing). The file is
    only read.
    """
    from sid.io import read_wave

    path = Path(path)
    columns = list(dict.fromkeys(columns))
    if path.suffix.lower() != ".csv":
        return read_wave(path, columns=columns, encoding=encoding).data
    if not path.is_file():
        raise InputError("file not found", where=str(path), fix="check the path")
    try:
        header = pd.read_csv(path, nrows=0, encoding=encoding or "utf-8").columns
        absent = [c for c in columns if c not in header]
        if absent:
            raise InputError("columns not in the file", where=str(path), got=show_values(absent),
                             fix=f"choose from: {show_values(list(header), 12)}")
        return pd.read_csv(path, usecols=columns, dtype=str, keep_default_na=False,
                           encoding=encoding or "utf-8")
    except (UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise InputError(f"cannot read the CSV: {exc}", where=str(path),
                         fix="save it as UTF-8 CSV with a header row, or pass --encoding") from None
