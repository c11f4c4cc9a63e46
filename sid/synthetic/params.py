"""Parameters of the synthetic SID population, sample and response model.

Population sizes, origin-group shares, age and generation distributions, item
model coefficients, response rates and item nonresponse rates, all documented
in ``docs/synthetic.md``. Frozen mappings and tuples: nothing here changes at
run time.
"""

from __future__ import annotations

from types import MappingProxyType

from sid.errors import InputError

DEFAULT_SEED = 20260101
WAVES = (2017, 2022)
REF_DATES = MappingProxyType({2017: "2017-01-01", 2022: "2022-01-01"})
TARGET_COMPLETES = 750
GROSS_PER_PSU = 20  # aimed gross persons per sampled municipality
CHUNK = 1 << 20  # persons simulated per random stream (bounds memory)

# --------------------------------------------------------------------------- groups

GROUP_LABELS = MappingProxyType({
    1: "Belgisch", 2: "Marokkaans", 3: "Turks", 4: "Pools",
    5: "Roemeens", 6: "Congolees", 7: "Afghaans",
})
GROUP_COUNTRY = MappingProxyType({1: "BE", 2: "MA", 3: "TR", 4: "PL", 5: "RO", 6: "CD", 7: "AF"})


def wave_groups(wave: int) -> tuple[int, ...]:
    """Origin group codes sampled in a wave (Afghan only from 2022)."""
    check_wave(wave)
    return (1, 2, 3, 4, 5, 6) if wave == 2017 else (1, 2, 3, 4, 5, 6, 7)


# Population sizes, ages 15-85, Flemish Region + Brussels (persons).
POP_SIZE = MappingProxyType({
    2017: MappingProxyType({1: 4_350_000, 2: 280_000, 3: 160_000, 4: 80_000, 5: 70_000, 6: 45_000}),
    2022: MappingProxyType({1: 4_300_000, 2: 300_000, 3: 170_000, 4: 90_000, 5: 120_000,
                            6: 50_000, 7: 40_000}),
})
BRUSSELS_SHARE = MappingProxyType({1: 0.06, 2: 0.45, 3: 0.25, 4: 0.30, 5: 0.40, 6: 0.55, 7: 0.25})
FIRST_GEN_SHARE = MappingProxyType({
    2017: MappingProxyType({2: 0.55, 3: 0.55, 4: 0.85, 5: 0.92, 6: 0.65}),
    2022: MappingProxyType({2: 0.52, 3: 0.52, 4: 0.82, 5: 0.93, 6: 0.63, 7: 0.92}),
})
# Persons per simulated record (identical persons): keeps the 4.3 M Belgian-origin
# persons fast to simulate while every count stays at full population size.
EXPANSION = MappingProxyType({1: 10, 2: 1, 3: 1, 4: 1, 5: 1, 6: 1, 7: 1})
MALE_SHARE = MappingProxyType({1: 0.49, 2: 0.50, 3: 0.50, 4: 0.45, 5: 0.53, 6: 0.46, 7: 0.62})
# Age band probabilities (15-24, 25-34, 35-44, 45-54, 55-64, 65-85).
AGE_BANDS = ((15, 24), (25, 34), (35, 44), (45, 54), (55, 64), (65, 85))
AGE_FIRST_GEN = MappingProxyType({
    1: (0.13, 0.14, 0.14, 0.16, 0.17, 0.26),
    2: (0.06, 0.18, 0.24, 0.20, 0.16, 0.16),
    3: (0.05, 0.17, 0.22, 0.20, 0.18, 0.18),
    4: (0.08, 0.28, 0.30, 0.18, 0.10, 0.06),
    5: (0.10, 0.32, 0.30, 0.17, 0.08, 0.03),
    6: (0.08, 0.18, 0.24, 0.22, 0.16, 0.12),
    7: (0.32, 0.34, 0.18, 0.09, 0.05, 0.02),
})
AGE_SECOND_GEN = MappingProxyType({
    2: (0.38, 0.32, 0.20, 0.08, 0.02, 0.00),
    3: (0.36, 0.32, 0.22, 0.08, 0.02, 0.00),
    4: (0.70, 0.25, 0.05, 0.00, 0.00, 0.00),
    5: (0.80, 0.20, 0.00, 0.00, 0.00, 0.00),
    6: (0.45, 0.35, 0.15, 0.05, 0.00, 0.00),
    7: (0.95, 0.05, 0.00, 0.00, 0.00, 0.00),
})
NATURALISED = MappingProxyType({2: 0.70, 3: 0.65, 4: 0.12, 5: 0.06, 6: 0.60, 7: 0.35})
OTHER_COUNTRIES = ("NL", "FR", "DE", "GB", "IT", "ES", "HR", "SY")
COUNTRIES = ("", "BE", "MA", "TR", "PL", "RO", "CD", "AF", *OTHER_COUNTRIES)
COUNTRY_INDEX = {c: i for i, c in enumerate(COUNTRIES)}

# Item model parameters per group (see docs/synthetic.md).
# Workplace treatment: an ordered logit (logistic noise), so P(soms or vaak) among workers
# is exactly expit(WORK_LOGIT[group] + sum of WORK_EFFECTS) and P(vaak) the same with
# WORK_VAAK_CUT subtracted. The group intercepts hold for the reference profile: education
# laag, age 40, man, Vlaams Gewest, Dutch at home. The crude shares per group follow from
# the groups' mix (about 0.12 Belgian ... 0.40 Congolese; truth.json has them).
WORK_LOGIT = MappingProxyType({
    2017: MappingProxyType({1: -1.79, 2: -1.18, 3: -1.21, 4: -1.51, 5: -1.50, 6: -0.72}),
    2022: MappingProxyType({1: -1.90, 2: -1.23, 3: -1.20, 4: -1.60, 5: -1.42, 6: -0.78,
                            7: -1.18}),
})
WORK_EFFECTS = MappingProxyType({
    "opleiding_midden": -0.30,  # vs laag
    "opleiding_hoog": -0.65,  # vs laag
    "leeftijd_per_jaar": -0.012,  # per year of age (centred at 40)
    "vrouw": 0.15,
    "brussel": 0.55,  # Brussels-Capital Region vs Flemish Region
    "geen_nederlands_thuis": 0.30,  # home language not Dutch (a Dutch-proficiency proxy)
})
WORK_VAAK_CUT = 2.0
REASONS = ("herkomst", "huidskleur", "geloof", "taal", "geslacht", "leeftijd", "andere")
REASON_BASE = MappingProxyType({  # P(reason ticked | treated incorrectly), before modifiers
    "herkomst": (0.05, 0.45, 0.40, 0.30, 0.35, 0.50, 0.45),
    "huidskleur": (0.01, 0.10, 0.06, 0.01, 0.02, 0.35, 0.12),
    "geloof": (0.02, 0.25, 0.20, 0.02, 0.02, 0.05, 0.20),
    "taal": (0.05, 0.10, 0.12, 0.35, 0.35, 0.10, 0.30),
    "geslacht": (0.12, 0.10, 0.10, 0.10, 0.10, 0.10, 0.08),
    "leeftijd": (0.15, 0.06, 0.06, 0.06, 0.06, 0.06, 0.06),
    "andere": (0.55, 0.15, 0.15, 0.20, 0.18, 0.12, 0.15),
})
RENT_SEARCHED = (0.18, 0.40, 0.30, 0.50, 0.55, 0.50, 0.55)
RENT_REFUSED = (0.08, 0.35, 0.30, 0.20, 0.28, 0.41, 0.35)
TRUST_MEAN = (5.4, 4.6, 4.4, 5.6, 5.8, 4.5, 6.0)
HOME_MEAN = (1.3, 0.5, 0.3, 0.2, 0.3, 0.4, 0.6)
PUBLIC_NEG = (0.12, 0.35, 0.28, 0.18, 0.25, 0.40, 0.32)
CONTACT_MEAN = (2.5, 0.6, 0.3, 0.4, 0.2, 0.5, 0.1)
EDU_MEAN = (0.2, -0.5, -0.6, 0.0, -0.3, 0.1, -0.8)
UNEMPLOYED = (-2.4, -1.6, -1.8, -2.3, -2.1, -1.6, -1.3)
# Home language logits (NL, FR, origin language, EN, other) per group.
LANG_LOGITS = (
    (4.0, 0.5, -20.0, -2.0, -3.0),
    (0.0, -0.8, 0.9, -4.0, -3.0),
    (0.0, -2.5, 1.0, -4.0, -3.0),
    (-0.5, -3.0, 1.8, -2.0, -3.0),
    (-0.8, -2.2, 1.8, -2.5, -3.0),
    (-0.5, 1.2, -0.3, -3.0, -3.0),
    (-1.2, -3.5, 2.2, -1.0, -2.5),
)
# Religion probabilities (geen, christelijk, islamitisch, ander) per group.
RELIGION = (
    (0.45, 0.52, 0.01, 0.02), (0.05, 0.01, 0.93, 0.01), (0.05, 0.01, 0.92, 0.02),
    (0.12, 0.86, 0.01, 0.01), (0.10, 0.88, 0.01, 0.01), (0.06, 0.90, 0.03, 0.01),
    (0.04, 0.01, 0.94, 0.01),
)
# Response: web (CAWI) and face-to-face (CAPI, among web nonrespondents) base rates.
WEB_RESPONSE = (0.38, 0.14, 0.13, 0.16, 0.12, 0.17, 0.14)
F2F_RESPONSE = (0.35, 0.45, 0.45, 0.40, 0.40, 0.45, 0.50)
# Item nonresponse (WN, GA) rates in the respondent files.
ITEM_NONRESPONSE = MappingProxyType({
    "opleiding": (0.005, 0.005), "werksituatie": (0.0, 0.005), "werk_behandeld": (0.02, 0.01),
    "huur_gezocht": (0.01, 0.01), "huur_geweigerd": (0.02, 0.01), "vertrouwen": (0.03, 0.01),
    "taal_thuis": (0.005, 0.01), "thuis_belgie": (0.03, 0.01), "negatief_publiek": (0.02, 0.01),
    "religie": (0.0, 0.04), "contact_belgen": (0.01, 0.01),
})


def check_wave(wave: int) -> None:
    """A clear InputError for a wave other than 2017 or 2022."""
    if wave not in WAVES:
        raise InputError(f"unknown wave {wave!r}", where="sid.synthetic", got=str(wave),
                         fix=f"use one of {', '.join(map(str, WAVES))}")
