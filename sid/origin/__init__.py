"""Origin (herkomst) from nationalities: one engine, rule sets written as data.

A rule set (``sid/data/origin/<name>.yaml``) says, in a small rule language,
who is of foreign origin, which field's country is the origin country, and the
generation. The engine interprets it, vectorised: a new definition needs a new
YAML file, not new code. Shipped rule sets:

* ``vl2013``: the Flemish definition (any of current, own first, father's
  first, mother's first nationality non-Belgian; country father -> mother ->
  own first -> current; unknown parents count as Belgian);
* ``statbel2021``: niet-Belg / Belg met buitenlandse achtergrond / Belg met
  Belgische achtergrond, groups Belgium / neighbours incl. UK / rest of EU27 /
  non-EU27, with the self/father/mother priority as parameter ``priority``;
* ``vesoc2014``: migration background (nationality outside the EU15, own or a
  parent's).

Modules: :mod:`~sid.origin.countries` (the dated country table and aliases),
:mod:`~sid.origin.conditions` (the condition language),
:mod:`~sid.origin.groupings` (country groupings), :mod:`~sid.origin.rules`
(the rule-set schema and loader), :mod:`~sid.origin.classification` (the engine,
the frame check and the country table view), :mod:`~sid.origin.inputs`
(reading the nationality columns). See ``docs/origin.md`` for the rule language.
"""

from __future__ import annotations

from sid.io.files import write_csv_atomic
from sid.origin.classification import (
    DEFAULT_FIELDS,
    MISMATCH_COLUMNS,
    ON_UNKNOWN,
    RESULT_COLUMNS,
    OriginWarning,
    classify,
    country_table,
    origin_mismatches,
)
from sid.origin.conditions import CountryCondition, FieldCondition
from sid.origin.countries import (
    BELGIUM,
    COUNTRIES_DIR,
    PREDICATES,
    REGIONS,
    CountryTable,
    load_countries,
)
from sid.origin.groupings import Grouping, GroupingsFile, GroupingSpec
from sid.origin.inputs import read_origin_input
from sid.origin.rules import (
    ROLES,
    RULES_DIR,
    OriginClass,
    RuleSet,
    RuleSetSpec,
    available_rules,
    load_rules,
)

__all__ = [
    "BELGIUM",
    "COUNTRIES_DIR",
    "DEFAULT_FIELDS",
    "MISMATCH_COLUMNS",
    "ON_UNKNOWN",
    "PREDICATES",
    "REGIONS",
    "RESULT_COLUMNS",
    "ROLES",
    "RULES_DIR",
    "CountryCondition",
    "CountryTable",
    "FieldCondition",
    "Grouping",
    "GroupingSpec",
    "GroupingsFile",
    "OriginClass",
    "OriginWarning",
    "RuleSet",
    "RuleSetSpec",
    "available_rules",
    "classify",
    "country_table",
    "load_countries",
    "load_rules",
    "origin_mismatches",
    "read_origin_input",
    "write_csv_atomic",
]
