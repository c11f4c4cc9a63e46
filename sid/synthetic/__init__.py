"""Synthetic SID population, gross samples and survey waves (2017 and 2022).

Why: the real SID files are not public, yet every layer of the toolkit needs
waves that look and misbehave like the real ones (renamed variables, reordered
codes, different missing codes, filtered items, a clustered design with
nonresponse) and a known truth to check estimates against.

What: a full-size person-level population of the Flemish Region and Brussels
(ages 15-85, seven SID origin groups, about 5 million persons per reference
date) with register variables, nationality history and the answers every
person *would* give; a two-stage sample per origin x region stratum
(municipalities with probability proportional to size, then persons by simple
random sampling), a web-then-face-to-face response model, and the files
described in ``docs/synthetic_schema.md``. The model and its parameters are
documented in ``docs/synthetic.md``. Everything is deterministic for a seed.

Modules: :mod:`~sid.synthetic.params` (the model's parameters),
:mod:`~sid.synthetic.population` (municipalities, persons, margins, truth),
:mod:`~sid.synthetic.samples` (the two-stage gross sample and response),
:mod:`~sid.synthetic.waves` (respondent and gross wave files),
:mod:`~sid.synthetic.files` (writing and summarising the files).
"""

from __future__ import annotations

from sid.synthetic.files import (
    SynthResult,
    summarise_waves,
    synthesise,
)
from sid.synthetic.params import (
    AGE_BANDS,
    AGE_FIRST_GEN,
    AGE_SECOND_GEN,
    BRUSSELS_SHARE,
    CONTACT_MEAN,
    COUNTRIES,
    DEFAULT_SEED,
    EDU_MEAN,
    EXPANSION,
    F2F_RESPONSE,
    FIRST_GEN_SHARE,
    GROSS_PER_PSU,
    GROUP_COUNTRY,
    GROUP_LABELS,
    HOME_MEAN,
    ITEM_NONRESPONSE,
    LANG_LOGITS,
    MALE_SHARE,
    NATURALISED,
    OTHER_COUNTRIES,
    POP_SIZE,
    PUBLIC_NEG,
    REASON_BASE,
    REASONS,
    REF_DATES,
    RELIGION,
    RENT_REFUSED,
    RENT_SEARCHED,
    TARGET_COMPLETES,
    TRUST_MEAN,
    UNEMPLOYED,
    WAVES,
    WEB_RESPONSE,
    WORK_EFFECTS,
    WORK_LOGIT,
    WORK_VAAK_CUT,
    wave_groups,
)
from sid.synthetic.population import (
    age_band,
    make_population,
    municipalities,
    population_margins,
    truth,
)
from sid.synthetic.samples import (
    draw_gross_sample,
)
from sid.synthetic.waves import (
    DESIGN_COLUMNS,
    GROSS_COLUMNS,
    MISSING_CODES,
    MISSING_LABELS,
    NATIONALITY_COLUMNS,
    REGISTER_COLUMNS,
    RENAMED,
    RESPONDENT_COLUMNS,
    TRUST_MISSING_2017,
    gross_wave,
    make_wave_frame,
    respondent_wave,
    wave_name,
    werk_behandeld_codes,
)

__all__ = [
    "AGE_BANDS",
    "AGE_FIRST_GEN",
    "AGE_SECOND_GEN",
    "BRUSSELS_SHARE",
    "CONTACT_MEAN",
    "COUNTRIES",
    "DEFAULT_SEED",
    "DESIGN_COLUMNS",
    "EDU_MEAN",
    "EXPANSION",
    "F2F_RESPONSE",
    "FIRST_GEN_SHARE",
    "GROSS_COLUMNS",
    "GROSS_PER_PSU",
    "GROUP_COUNTRY",
    "GROUP_LABELS",
    "HOME_MEAN",
    "ITEM_NONRESPONSE",
    "LANG_LOGITS",
    "MALE_SHARE",
    "MISSING_CODES",
    "MISSING_LABELS",
    "NATIONALITY_COLUMNS",
    "NATURALISED",
    "OTHER_COUNTRIES",
    "POP_SIZE",
    "PUBLIC_NEG",
    "REASONS",
    "REASON_BASE",
    "REF_DATES",
    "REGISTER_COLUMNS",
    "RELIGION",
    "RENAMED",
    "RENT_REFUSED",
    "RENT_SEARCHED",
    "RESPONDENT_COLUMNS",
    "SynthResult",
    "TARGET_COMPLETES",
    "TRUST_MEAN",
    "TRUST_MISSING_2017",
    "UNEMPLOYED",
    "WAVES",
    "WEB_RESPONSE",
    "WORK_EFFECTS",
    "WORK_LOGIT",
    "WORK_VAAK_CUT",
    "age_band",
    "draw_gross_sample",
    "gross_wave",
    "make_population",
    "make_wave_frame",
    "municipalities",
    "population_margins",
    "respondent_wave",
    "summarise_waves",
    "synthesise",
    "truth",
    "wave_groups",
    "wave_name",
    "werk_behandeld_codes",
]
