"""Run-time data shipped inside the package (``sid/data/``).

The SID codebook, origin rule sets and groupings, country lookups, weighting
specs and the table-book spec live in the package so that an installed ``sid``
finds them without a checkout. They are located with :mod:`importlib.resources`;
wheels install unzipped, so every resource is a real file on disk.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

__all__ = ["DATA_DIR", "shipped"]

DATA_DIR = Path(str(files("sid") / "data"))


def shipped(*parts: str) -> Path:
    """The path of a shipped data file, e.g. ``shipped("origin", "vl2013.yaml")``."""
    return DATA_DIR.joinpath(*parts)
