"""The dated country table: ISO codes with region, EU15 flag and EU membership dates.

Countries are ISO 3166-1 alpha-2 codes, looked up in a versioned CSV
(``sid/data/countries/countries_v1.csv``) that carries each country's region,
EU15 membership and EU membership dates, so groupings such as EU13 or
"Overige EU27" are keyed on a reference date (UK out from 2020-02-01, Croatia
in from 2013-07-01). An alias table maps other codes in use (``UK``, ``EL``,
``ZR``) onto the table's. :class:`CountryRows` holds every country's
attributes on one reference date, the rows the rule conditions are evaluated on.
"""

from __future__ import annotations

import datetime as _dt
import functools
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

from sid.errors import CodebookError, InputError, show_values
from sid.resources import DATA_DIR

__all__ = ["BELGIUM", "COUNTRIES_DIR", "PREDICATES", "REGIONS", "CountryRows", "CountryTable",
           "load_countries", "parse_date"]

COUNTRIES_DIR = DATA_DIR / "countries"
#: Predicates on a country; every predicate but ``unknown`` is False for an unknown country.
PREDICATES = (
    "known", "unknown", "belgian", "foreign", "in_eu", "outside_eu", "in_eu15", "outside_eu15",
)
REGIONS = ("europe", "north_africa", "africa", "asia", "americas", "oceania", "antarctica")
BELGIUM = "BE"
_CODE_RE = re.compile(r"^[A-Z]{2}$")


@dataclass(frozen=True, eq=False)
class CountryRows:
    """Country attributes at one reference date over an extended table.

    Rows ``0..n-1`` are the table's countries, row ``n`` is "unknown", rows
    after it are unknown codes mapped by ``on_unknown="fallback"``.
    """

    codes: np.ndarray  # object: code per row, None for the unknown row
    region: np.ndarray  # object
    attrs: Mapping[str, np.ndarray]  # predicate -> bool per row
    unknown_row: int

    def leaf(self, predicates: Sequence[str] = (), codes: Sequence[str] | None = None,
             regions: Sequence[str] | None = None) -> np.ndarray:
        """True per row where every predicate holds, the code is in ``codes`` and the
        region in ``regions`` (None: no restriction)."""
        mask = np.ones(len(self.codes), dtype=bool)
        for p in predicates:
            mask &= self.attrs[p]
        if codes is not None:
            mask &= np.isin(self.codes, list(codes))
        if regions is not None:
            mask &= np.isin(self.region, list(regions))
        return mask


@dataclass(frozen=True, eq=False)
class CountryTable:
    """The country lookup: one row per code with region, EU15 flag and EU dates."""

    path: str
    version: str
    frame: pd.DataFrame  # code, name_nl, name_en, region, eu15 (bool), eu_from, eu_to (datetime64)
    aliases: Mapping[str, str]
    alias_path: str | None

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(self.frame["code"])

    def in_eu(self, ref_date: Any) -> np.ndarray:
        """EU membership of each country on ``ref_date`` (eu_from <= date < eu_to)."""
        day = parse_date(ref_date)
        start = self.frame["eu_from"].to_numpy(dtype="datetime64[D]")
        end = self.frame["eu_to"].to_numpy(dtype="datetime64[D]")
        return ~np.isnat(start) & (start <= day) & (np.isnat(end) | (day < end))

    def tab(self, ref_date: Any, extra_codes: Sequence[str] = ()) -> CountryRows:
        """The rows conditions are evaluated on, at ``ref_date``: the countries, then
        "unknown", then ``extra_codes`` (unknown codes kept as foreign countries)."""
        codes = np.array([*self.frame["code"], None, *extra_codes], dtype=object)
        n = len(self.frame)
        m = len(codes)
        known = np.ones(m, dtype=bool)
        known[n] = False
        in_eu = np.zeros(m, dtype=bool)
        in_eu[:n] = self.in_eu(ref_date)
        eu15 = np.zeros(m, dtype=bool)
        eu15[:n] = self.frame["eu15"].to_numpy(dtype=bool)
        belgian = codes == BELGIUM
        attrs = {
            "known": known,
            "unknown": ~known,
            "belgian": belgian,
            "foreign": known & ~belgian,
            "in_eu": in_eu,
            "outside_eu": known & ~in_eu,
            "in_eu15": eu15,
            "outside_eu15": known & ~eu15,
        }
        region = np.array([*self.frame["region"], None, *([None] * len(extra_codes))], dtype=object)
        return CountryRows(codes=codes, region=region, attrs=MappingProxyType(attrs), unknown_row=n)


def _version_of(path: Path) -> str:
    match = re.search(r"_v(\d+)$", path.stem)
    return match.group(1) if match else ""


def read_csv_table(path: Path, where: str) -> pd.DataFrame:
    """A lookup CSV with every value as text (``NA`` stays Namibia); ``where`` names it."""
    if not path.is_file():
        raise CodebookError("file not found", where=where, got=str(path),
                            fix="check the file name in the rule set")
    # keep_default_na=False: "NA" is Namibia, not a missing value
    return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")


_COUNTRY_COLUMNS = ("code", "name_nl", "name_en", "region", "eu15", "eu_from", "eu_to")


def load_countries(
    table: str | os.PathLike[str] = "countries_v1.csv",
    aliases: str | os.PathLike[str] | None = "aliases_v1.csv",
) -> CountryTable:
    """Read and validate a country lookup table (and its alias table); all problems at once.

    Bare file names are looked up in ``sid/data/countries/``.
    """
    path = resolve_file(table, COUNTRIES_DIR)
    alias_path = None if aliases is None else resolve_file(aliases, COUNTRIES_DIR)
    return _load_countries(str(path), file_mtime(path), None if alias_path is None else str(alias_path),
                           file_mtime(alias_path))


@functools.lru_cache(maxsize=16)
def _load_countries(table: str, table_mtime: int | None, aliases: str | None,
                    aliases_mtime: int | None) -> CountryTable:
    """Read and validate the tables (cached per path and modification time)."""
    path = Path(table)
    alias_path = None if aliases is None else Path(aliases)
    raw = read_csv_table(path, str(path))
    problems: list[str] = []
    missing = [c for c in _COUNTRY_COLUMNS if c not in raw.columns]
    if missing:
        raise CodebookError("country table lacks columns", where=str(path), got=show_values(missing),
                            fix=f"the header must have {', '.join(_COUNTRY_COLUMNS)}")
    raw = raw.apply(lambda s: s.str.strip())
    for i, row in enumerate(raw.itertuples(index=False), start=2):  # small table: 250 rows
        where = f"line {i} ({row.code!r})"
        if not _CODE_RE.match(row.code):
            problems.append(f"{where}: code must be two capital letters")
        if row.region not in REGIONS:
            problems.append(f"{where}: region {row.region!r} not one of {', '.join(REGIONS)}")
        if row.eu15 not in ("0", "1"):
            problems.append(f"{where}: eu15 must be 0 or 1, got {row.eu15!r}")
        dates = {}
        for col in ("eu_from", "eu_to"):
            value = getattr(row, col)
            try:
                dates[col] = _dt.date.fromisoformat(value) if value else None
            except ValueError:
                problems.append(f"{where}: {col} {value!r} is not a date YYYY-MM-DD")
                dates[col] = None
        if dates["eu_to"] and not dates["eu_from"]:
            problems.append(f"{where}: eu_to without eu_from")
        if dates["eu_to"] and dates["eu_from"] and dates["eu_to"] <= dates["eu_from"]:
            problems.append(f"{where}: eu_to must be after eu_from")
        if row.eu15 == "1" and not (dates["eu_from"] and dates["eu_from"] < _dt.date(2004, 5, 1)):
            problems.append(f"{where}: an EU15 country must have joined before 2004-05-01")
    dupes = raw["code"][raw["code"].duplicated()].tolist()
    if dupes:
        problems.append(f"duplicate codes: {show_values(dupes, 20)}")
    if BELGIUM not in set(raw["code"]):
        problems.append(f"the table must contain {BELGIUM}")
    alias_map: dict[str, str] = {}
    if alias_path is not None:
        al = read_csv_table(alias_path, str(alias_path))
        if not {"alias", "code"} <= set(al.columns):
            problems.append(f"{alias_path.name}: header must have alias,code")
        else:
            codes = set(raw["code"])
            for i, (a, c) in enumerate(zip(al["alias"].str.strip().str.upper(),
                                           al["code"].str.strip(), strict=True), start=2):
                if c not in codes:
                    problems.append(f"{alias_path.name} line {i}: alias {a!r} points to {c!r}, "
                                    "which is not in the country table")
                elif a in codes:
                    problems.append(f"{alias_path.name} line {i}: alias {a!r} is itself a country code")
                else:
                    alias_map[a] = c
    if problems:
        raise CodebookError(f"invalid country table ({len(problems)} problem(s))", where=str(path),
                            problems=tuple(problems), fix="correct the listed lines")
    frame = pd.DataFrame({
        "code": raw["code"].astype(object),
        "name_nl": raw["name_nl"].astype(object),
        "name_en": raw["name_en"].astype(object),
        "region": raw["region"].astype(object),
        "eu15": raw["eu15"] == "1",
        "eu_from": pd.to_datetime(raw["eu_from"].replace("", None)),
        "eu_to": pd.to_datetime(raw["eu_to"].replace("", None)),
    })
    result = CountryTable(path=str(path), version=_version_of(path), frame=frame,
                          aliases=MappingProxyType(alias_map),
                          alias_path=None if alias_path is None else str(alias_path))
    return result


def file_mtime(path: Path | None) -> int | None:
    """Modification time in ns (part of cache keys), None when absent."""
    try:
        return None if path is None else path.stat().st_mtime_ns
    except OSError:
        return None


def resolve_file(name: str | os.PathLike[str], default_dir: Path, base: Path | None = None) -> Path:
    """A bare file name is looked up beside ``base``, then in the folder beside ``base`` named
    like ``default_dir`` (the ``sid/data`` layout that ``sid init`` copies out, so an edited
    copy finds its edited country tables), and else in ``default_dir`` (the shipped one)."""
    path = Path(name)
    if path.is_absolute() or len(path.parts) > 1:
        return path
    if base is not None:
        for folder in (base, base.parent / default_dir.name):
            if (folder / path).exists():
                return folder / path
    return default_dir / path


def parse_date(value: Any) -> np.datetime64:
    """A reference date from 'YYYY-MM-DD', a date, a datetime or a Timestamp."""
    try:
        if isinstance(value, str):
            day = _dt.date.fromisoformat(value.strip())
        elif isinstance(value, _dt.datetime | pd.Timestamp):
            day = value.date()
        elif isinstance(value, _dt.date):
            day = value
        elif isinstance(value, np.datetime64):
            return value.astype("datetime64[D]")
        else:
            raise TypeError
    except (ValueError, TypeError):
        raise InputError("the reference date is not a date", where="ref_date", got=repr(value),
                         fix="give it as YYYY-MM-DD, e.g. 2022-01-01") from None
    return np.datetime64(day, "D")
