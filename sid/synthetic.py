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
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

from sid.errors import InputError
from sid.io import (
    MissingSpec,
    Wave,
    make_wave,
    read_wave,
    to_stata_missing,
    write_text_atomic,
    write_wave,
)

DEFAULT_SEED = 20260101
WAVES = (2017, 2022)
REF_DATES = MappingProxyType({2017: "2017-01-01", 2022: "2022-01-01"})
TARGET_COMPLETES = 750
GROSS_PER_PSU = 20  # aimed gross persons per sampled municipality
_CHUNK = 1 << 20  # persons simulated per random stream (bounds memory)

# --------------------------------------------------------------------------- groups

GROUP_LABELS = MappingProxyType({
    1: "Belgisch", 2: "Marokkaans", 3: "Turks", 4: "Pools",
    5: "Roemeens", 6: "Congolees", 7: "Afghaans",
})
GROUP_COUNTRY = MappingProxyType({1: "BE", 2: "MA", 3: "TR", 4: "PL", 5: "RO", 6: "CD", 7: "AF"})


def wave_groups(wave: int) -> tuple[int, ...]:
    """Origin group codes sampled in a wave (Afghan only from 2022)."""
    _check_wave(wave)
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
_CIDX = {c: i for i, c in enumerate(COUNTRIES)}

# Item model parameters per group (see docs/synthetic.md).
WORK_INCORRECT = MappingProxyType({  # aimed P(soms or vaak) among workers
    2017: MappingProxyType({1: 0.12, 2: 0.30, 3: 0.27, 4: 0.22, 5: 0.25, 6: 0.40}),
    2022: MappingProxyType({1: 0.11, 2: 0.29, 3: 0.27, 4: 0.21, 5: 0.26, 6: 0.39, 7: 0.31}),
})
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

# --------------------------------------------------------------------------- municipalities

_BRUSSELS = (  # NIS, relative size (15-85), diversity score (-1 .. 1)
    (21001, 95, 0.6), (21002, 27, -0.8), (21003, 20, -0.2), (21004, 150, 0.6),
    (21005, 38, 0.1), (21006, 33, 0.0), (21007, 45, 0.3), (21008, 20, -0.3),
    (21009, 70, 0.4), (21010, 41, 0.0), (21011, 17, 0.7), (21012, 77, 1.0),
    (21013, 40, 0.7), (21014, 21, 1.0), (21015, 105, 0.8), (21016, 66, -0.9),
    (21017, 20, -1.0), (21018, 45, -0.6), (21019, 33, -0.9),
)
_BIG_CITIES = (  # NIS, provincie, verstedelijking, relative size
    (11002, 1, 1, 420), (44021, 3, 1, 215), (41002, 3, 2, 70), (31005, 5, 2, 95),
    (71016, 2, 2, 55), (71022, 2, 2, 65), (34022, 5, 2, 63), (24062, 4, 2, 85),
    (12025, 1, 2, 70), (35013, 5, 2, 60), (36015, 5, 2, 52), (46021, 3, 2, 65),
    (13040, 1, 2, 38),
)
_PROVINCE_PREFIXES = {1: (11, 12, 13), 2: (71, 72, 73), 3: (41, 42, 43, 44, 45, 46),
                      4: (23, 24), 5: (31, 32, 33, 34, 35, 36, 37, 38)}
_PROVINCE_COUNT = {1: 69, 2: 42, 3: 60, 4: 65, 5: 64}  # municipalities per province
_URBAN_SCORE = np.array([0.0, 2.0, 1.2, 0.6, 0.3, 0.0, -0.5])  # by verstedelijking code
# Concentration of each group in urban (Flanders) / diverse (Brussels) municipalities.
_URBAN_BETA = (-0.3, 1.3, 1.0, 0.3, 0.8, 1.0, 0.5)
_DIVERSE_BETA = (-1.2, 1.5, 1.2, 0.2, 0.6, 0.8, 0.5)
_PROVINCE_FACTOR = {3: {2: 3.0, 3: 1.8}, 2: {1: 1.3}, 6: {4: 1.5}}  # group -> provincie -> factor


def municipalities() -> pd.DataFrame:
    """The municipality frame: NIS code, region, province, urbanisation class, relative size.

    Brussels has its 19 real NIS codes; Flanders has its real big and central
    cities plus synthetic codes for the other municipalities (300 in all, as
    after the 2019 mergers). Fixed, not random: the same list in both waves.
    """
    rng = np.random.default_rng(8_300)
    rows: list[tuple[int, int, int, int, float, float]] = [
        (nis, 2, 6, 1, float(size), float(div)) for nis, size, div in _BRUSSELS
    ]
    taken = {c[0] for c in _BIG_CITIES}
    for prov, count in _PROVINCE_COUNT.items():
        cities = [c for c in _BIG_CITIES if c[1] == prov]
        rows += [(nis, 1, prov, urb, float(size), 0.0) for nis, prov, urb, size in cities]
        n_other = count - len(cities)
        urb = rng.choice([3, 4, 5, 6], size=n_other, p=[0.15, 0.20, 0.30, 0.35])
        base = {3: 22.0, 4: 16.0, 5: 11.0, 6: 8.0}
        sizes = np.array([base[u] for u in urb]) * rng.lognormal(0.0, 0.35, n_other)
        prefixes = _PROVINCE_PREFIXES[prov]
        seq = 0
        for k in range(n_other):
            while True:
                seq += 1
                pre = prefixes[seq % len(prefixes)]
                nis = pre * 1000 + seq
                if nis not in taken:
                    break
            taken.add(nis)
            rows.append((nis, 1, prov, int(urb[k]), float(round(sizes[k], 3)), 0.0))
    frame = pd.DataFrame(rows, columns=["gemeente", "gewest", "provincie", "verstedelijking",
                                        "size", "diversity"])
    return frame.sort_values("gemeente", ignore_index=True)


def _municipality_probs(munis: pd.DataFrame, group: int, region: int) -> np.ndarray:
    in_region = (munis["gewest"] == region).to_numpy()
    size = munis["size"].to_numpy()
    if region == 2:
        weight = size * np.exp(_DIVERSE_BETA[group - 1] * munis["diversity"].to_numpy())
    else:
        weight = size * np.exp(_URBAN_BETA[group - 1] * _URBAN_SCORE[munis["verstedelijking"].to_numpy()])
        for prov, factor in _PROVINCE_FACTOR.get(group, {}).items():
            weight = np.where(munis["provincie"].to_numpy() == prov, weight * factor, weight)
    weight = np.where(in_region, weight, 0.0)
    return weight / weight.sum()


# --------------------------------------------------------------------------- helpers


def _check_wave(wave: int) -> None:
    if wave not in WAVES:
        raise InputError(f"unknown wave {wave!r}", where="sid.synthetic", got=str(wave),
                         fix=f"use one of {', '.join(map(str, WAVES))}")


def _by_group(values: Any, herkomst: np.ndarray) -> np.ndarray:
    """Look up a per-group parameter (tuple indexed by group-1, or mapping by group)."""
    if isinstance(values, Mapping):
        table = np.zeros(8)
        for g, v in values.items():
            table[g] = v
    else:
        table = np.concatenate([[0.0], np.asarray(values, dtype=float)])
    return table[herkomst]


def _logit(p: Any) -> np.ndarray:
    p = np.asarray(p, dtype=float)
    return np.log(p / (1.0 - p))


def _expit(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _nominal(rng: np.random.Generator, logits: list[np.ndarray]) -> np.ndarray:
    """Draw category codes 1..k from per-person logits (one array per category)."""
    n = len(logits[0])
    top = np.array(logits[0], dtype=np.float32, copy=True)
    for lg in logits[1:]:
        np.maximum(top, lg, out=top)
    weights = [np.exp(np.asarray(lg, dtype=np.float32) - top) for lg in logits]
    total = weights[0].copy()
    for w in weights[1:]:
        total += w
    u = rng.random(n, dtype=np.float32) * total
    out = np.full(n, len(logits), dtype=np.int8)
    cum = np.zeros(n, dtype=np.float32)
    for k, w in enumerate(weights[:-1], start=1):
        cum += w
        out[(u < cum) & (out == len(logits))] = k
    return out


def _ordered(latent: np.ndarray, cuts: tuple[float, ...]) -> np.ndarray:
    """Codes 1..len(cuts)+1 from a latent score and increasing cut points."""
    return (np.searchsorted(np.asarray(cuts), latent) + 1).astype(np.int8)


def _probit(p: np.ndarray) -> np.ndarray:
    from scipy.special import ndtri

    return ndtri(p)


# --------------------------------------------------------------------------- persons


def _simulate_persons(
    herkomst: np.ndarray, gewest: np.ndarray, wave: int, rng: np.random.Generator,
    munis: pd.DataFrame,
) -> dict[str, np.ndarray]:
    """Register variables, nationality history and true answers for given persons."""
    n = len(herkomst)
    g0 = herkomst.astype(np.int64) - 1
    out: dict[str, np.ndarray] = {"herkomst": herkomst.astype(np.int8), "gewest": gewest.astype(np.int8)}

    # Municipality within region, by group.
    gemeente = np.zeros(n, dtype=np.int32)
    nis = munis["gemeente"].to_numpy()
    for g in np.unique(herkomst):
        for r in (1, 2):
            sel = np.flatnonzero((herkomst == g) & (gewest == r))
            if len(sel):
                gemeente[sel] = rng.choice(nis, size=len(sel), p=_municipality_probs(munis, int(g), r))
    at = np.searchsorted(nis, gemeente)  # munis is sorted by NIS code
    out["gemeente"] = gemeente
    out["provincie"] = munis["provincie"].to_numpy().astype(np.int8)[at]
    out["verstedelijking"] = munis["verstedelijking"].to_numpy().astype(np.int8)[at]

    # Generation: 0 = Belgian origin, 1 = first, 2 = second generation.
    first_share = _by_group(FIRST_GEN_SHARE[wave], herkomst)
    generation = np.where(herkomst == 1, 0, np.where(rng.random(n) < first_share, 1, 2)).astype(np.int8)
    out["generatie"] = generation

    # Age: band by group and generation, then age within band (65-85 declining).
    combo = herkomst.astype(np.int64) * 3 + generation
    u = rng.random(n)
    band = np.zeros(n, dtype=np.int64)
    for c in np.unique(combo):  # at most 14 group x generation combinations
        probs = (AGE_SECOND_GEN if c % 3 == 2 else AGE_FIRST_GEN)[int(c) // 3]
        cum = np.cumsum(probs) / np.sum(probs)
        idx = np.flatnonzero(combo == c)
        band[idx] = np.searchsorted(cum[:-1], u[idx], side="right")
    lo = np.array([b[0] for b in AGE_BANDS])[band]
    u = rng.random(n)
    age = np.where(band == 5, np.minimum(85, 65 + np.floor(21 * (1 - np.sqrt(u)))), lo + np.floor(10 * u))
    out["leeftijd"] = age.astype(np.int8)
    out["geslacht"] = np.where(rng.random(n) < _by_group(MALE_SHARE, herkomst), 1, 2).astype(np.int8)

    _nationalities(out, rng)
    _items(out, g0, rng, wave)
    return out


def _nationalities(p: dict[str, np.ndarray], rng: np.random.Generator) -> None:
    """ISO codes (as indexes into COUNTRIES) for the four nationality fields and birth country."""
    herkomst, gen, age = p["herkomst"], p["generatie"], p["leeftijd"]
    n = len(herkomst)
    be, unknown = _CIDX["BE"], _CIDX[""]
    own = np.array([0] + [_CIDX[GROUP_COUNTRY[g]] for g in range(1, 8)], dtype=np.int8)[herkomst]
    other = np.array([_CIDX[c] for c in OTHER_COUNTRIES], dtype=np.int8)
    u = rng.random((n, 6))
    pick_other = other[rng.integers(0, len(other), n)]

    first = np.full(n, be, dtype=np.int8)
    father = np.full(n, be, dtype=np.int8)
    mother = np.full(n, be, dtype=np.int8)
    birth = np.full(n, be, dtype=np.int8)

    # Belgian frame group: a few foreign-born Belgians (older ones in Congo), a few with
    # a parent (and sometimes themselves) of another nationality, some unknown parents.
    bel = herkomst == 1
    abroad = bel & (u[:, 0] < 0.015)
    birth[abroad] = np.where(age[abroad] >= 60, _CIDX["CD"], pick_other[abroad])
    mixed = bel & (u[:, 1] < 0.03)
    via_father = u[:, 2] < 0.5
    father[mixed & via_father] = pick_other[mixed & via_father]
    mother[mixed & ~via_father] = pick_other[mixed & ~via_father]
    naturalised_other = mixed & (u[:, 3] < 0.3)
    first[naturalised_other] = pick_other[naturalised_other]
    birth[naturalised_other] = pick_other[naturalised_other]
    father[bel & ~mixed & (u[:, 4] < 0.02)] = unknown
    mother[bel & ~mixed & (u[:, 5] < 0.01)] = unknown

    # First generation: born abroad (a few in a neighbouring country), foreign first nationality.
    g1 = gen == 1
    birth[g1] = np.where(u[g1, 0] < 0.95, own[g1], pick_other[g1] % 3 + _CIDX["NL"])
    first[g1] = own[g1]
    father[g1] = np.where(u[g1, 1] < 0.95, own[g1], unknown)
    mother[g1] = np.where(u[g1, 2] < 0.94, own[g1], unknown)

    # Second generation: born in Belgium, Belgian at birth more often when young;
    # parents both foreign, or mixed (Belgian father + foreign mother and vice versa), or one unknown.
    g2 = gen == 2
    first[g2] = np.where(u[g2, 0] < np.where(age[g2] < 30, 0.8, 0.4), be, own[g2])
    pattern = u[:, 1]
    f2 = np.select([pattern < 0.70, pattern < 0.80, pattern < 0.93, pattern < 0.97],
                   [own, own, be, own], unknown)
    m2 = np.select([pattern < 0.70, pattern < 0.80, pattern < 0.93, pattern < 0.97],
                   [own, be, own, unknown], own)
    father[g2] = f2[g2]
    mother[g2] = m2[g2]

    # Current nationality: naturalisation (first generation, more often when older).
    nat_p = _by_group(NATURALISED, herkomst) * np.where(age > 30, 1.1, 0.6)
    naturalised = np.where(g1, u[:, 3] < np.minimum(nat_p, 0.95), u[:, 3] < 0.85)
    current = np.where(first == be, be, np.where(naturalised, be, first)).astype(np.int8)
    current = np.where(bel, be, current).astype(np.int8)

    p["nat_huidig"], p["nat_eerste"] = current, first
    p["nat_vader"], p["nat_moeder"], p["geboorteland"] = father, mother, birth


def _table(values: Any) -> np.ndarray:
    """A per-group parameter as a float32 lookup table indexed by group code - 1."""
    return np.asarray(values, dtype=np.float32)


def _by_age(age: np.ndarray, steps: tuple[tuple[int, float], ...], last: float) -> np.ndarray:
    """A step function of age: value v for ages below each (limit, v), else ``last``."""
    table = np.full(128, last, dtype=np.float32)
    lo = 0
    for limit, value in steps:
        table[lo:limit] = value
        lo = limit
    return table[age]


def _items(p: dict[str, np.ndarray], g0: np.ndarray, rng: np.random.Generator, wave: int) -> None:
    """The answers each person would give (no item nonresponse; filters as not-asked codes)."""
    f32 = np.float32
    n = len(g0)
    g = np.asarray(g0)
    herkomst = p["herkomst"]
    age_int = p["leeftijd"]
    age = age_int.astype(f32)
    female = (p["geslacht"] == 2).astype(f32)
    gen2 = (p["generatie"] == 2).astype(f32)
    brussels = (p["gewest"] == 2).astype(f32)
    young = age < 25

    def normal() -> np.ndarray:
        return rng.standard_normal(n, dtype=f32)

    def uniform() -> np.ndarray:
        return rng.random(n, dtype=f32)

    # Education 1 laag, 2 midden, 3 hoog.
    edu_latent = _table(EDU_MEAN)[g] + f32(0.3) * gen2 - f32(0.02) * (age - 40) - f32(1.2) * (age < 20)
    edu = _ordered(edu_latent + normal(), (-0.4, 0.6))
    p["opleiding"] = edu
    e = edu.astype(f32) - 2

    # Employment (werksituatie 1-6), nominal logits.
    muslim_groups = np.isin(herkomst, (2, 3, 7)).astype(f32)
    logits = [
        f32(0.4) * e - f32(0.6) * female,
        f32(-1.0) + f32(0.9) * female,
        _table(UNEMPLOYED)[g] - f32(0.5) * e,
        _by_age(age_int, ((20, 5.0), (25, 2.0), (30, -1.5)), -5.0),
        _by_age(age_int, ((60, -6.0), (65, 1.0)), 6.0),
        f32(-2.0) + f32(0.8) * female * muslim_groups + f32(0.02) * (age - 40),
    ]
    work = _nominal(rng, logits)
    work[age < 18] = 4
    p["werksituatie"] = work
    worker = (work == 1) | (work == 2)

    # Workplace treatment (1 nooit, 2 soms, 3 vaak; 0 = not asked), ordered probit with
    # the group intercept set so that P(soms or vaak) is about WORK_INCORRECT.
    target = np.array([WORK_INCORRECT[wave].get(k, 0.5) for k in range(1, 8)])
    latent = (_table(_probit(target))[g] + f32(0.10) * e + f32(0.08) * female
              - f32(0.10) * (age > 55) + f32(0.05) * gen2 * (herkomst == 6) + f32(0.97) * normal())
    treated = _ordered(latent, (0.0, 1.0))
    treated[~worker] = 0
    p["werk_behandeld"] = treated

    # Religion 1 geen, 2 christelijk, 3 islamitisch, 4 ander (geloof as a reason depends on it).
    rel_log = np.log(_table(RELIGION))[g]
    rel_logits = [rel_log[:, k] for k in range(4)]
    rel_logits[0] = rel_logits[0] + f32(0.02) * (40 - age) * (herkomst == 1)
    religion = _nominal(rng, rel_logits)
    p["religie"] = religion

    # Reasons (multiple response), only for those treated incorrectly (-1 = not asked).
    asked = np.flatnonzero(treated >= 2)
    ga, aa = g[asked], age[asked]
    vaak, muslim = treated[asked] == 3, religion[asked] == 3
    fem, g2 = female[asked] == 1, gen2[asked] == 1
    modifier = {
        "herkomst": np.where(vaak, 1.15, 0.95),
        "geloof": np.where(muslim, 1.3, 0.2),
        "geslacht": np.where(fem, 1.6, 0.4),
        "leeftijd": np.where((aa < 25) | (aa >= 55), 2.5, 0.6),
        "taal": np.where(g2, 0.4, 1.1),
    }
    u = rng.random((len(asked), len(REASONS)), dtype=f32)
    ticks = {}
    for k, reason in enumerate(REASONS):
        prob = _table(REASON_BASE[reason])[ga] * modifier.get(reason, 1.0)
        ticks[reason] = u[:, k] < np.clip(prob, 0, 0.98)
    ticks["andere"] |= ~np.logical_or.reduce([ticks[r] for r in REASONS])
    for reason in REASONS:
        col = np.full(n, -1, dtype=np.int8)
        col[asked] = ticks[reason]
        p[f"reden_{reason}"] = col

    # Rental housing: searched (1 ja, 2 nee) and refused (asked if searched; 0 = not asked).
    age_rent = _by_age(age_int, ((20, -1.2), (35, 0.8), (55, 0.0)), -1.2)
    searched = uniform() < _expit(_table(_logit(RENT_SEARCHED))[g] + age_rent + f32(0.3) * brussels)
    refused = uniform() < _expit(_table(_logit(RENT_REFUSED))[g] - f32(0.2) * e
                                 + f32(0.2) * (herkomst == 6) * brussels)
    p["huur_gezocht"] = np.where(searched, 1, 2).astype(np.int8)
    p["huur_geweigerd"] = np.where(searched, np.where(refused, 1, 2), 0).astype(np.int8)

    # Trust 0-10.
    trust = _table(TRUST_MEAN)[g] + f32(0.4) * e - f32(0.5) * (treated == 3) + f32(2.0) * normal()
    p["vertrouwen"] = np.clip(np.rint(trust), 0, 10).astype(np.int8)

    # Home language 1 NL, 2 FR, 3 origin language, 4 EN, 5 other.
    lang = _table(LANG_LOGITS)[g]
    lang_logits = [lang[:, k] for k in range(5)]
    lang_logits[0] = lang_logits[0] - f32(1.8) * brussels + f32(1.3) * gen2
    lang_logits[1] = lang_logits[1] + f32(2.8) * brussels + f32(0.3) * gen2
    lang_logits[2] = lang_logits[2] - f32(1.0) * gen2
    p["taal_thuis"] = _nominal(rng, lang_logits)

    # Feeling at home in Belgium 1-5 (ordered).
    home = (_table(HOME_MEAN)[g] + f32(0.3) * gen2 - f32(0.3) * (treated == 3) + f32(0.05) * e
            + normal())
    p["thuis_belgie"] = _ordered(home, (-1.8, -1.0, -0.2, 0.8))

    # Negative experience in public space (1 ja, 2 nee).
    neg = _expit(_table(_logit(PUBLIC_NEG))[g] + f32(0.4) * young + f32(0.2) * female
                 - f32(0.3) * (age >= 65))
    p["negatief_publiek"] = np.where(uniform() < neg, 1, 2).astype(np.int8)

    # Contact with people of Belgian origin: 1 dagelijks .. 5 nooit (high latent = often).
    contact = (_table(CONTACT_MEAN)[g] + f32(0.5) * worker + f32(0.4) * gen2 + f32(0.2) * e
               - f32(0.4) * brussels + normal())
    p["contact_belgen"] = (6 - _ordered(contact, (-1.2, -0.3, 0.4, 1.2))).astype(np.int8)


def make_population(wave: int = 2022, seed: int = DEFAULT_SEED, scale: float = 1.0) -> pd.DataFrame:
    """The synthetic population of one reference date, one row per record.

    A record stands for ``persons`` identical persons: ``EXPANSION`` per group
    (10 for Belgian origin, 1 otherwise), which keeps the simulation fast while
    the population counts stay at full size. Sums and means over persons are
    ``persons``-weighted sums and means over records.

    Columns: ``record`` (0..R-1), ``persons``, the register variables (``herkomst``,
    ``gewest``, ``provincie``, ``verstedelijking``, ``gemeente``,
    ``geslacht``, ``leeftijd``, ``generatie``), the nationality fields as
    categoricals of ISO codes (``""`` = unknown), ``stratum`` (10 x herkomst +
    gewest), and the true answers in concept coding (2017 codes): not-asked
    is 0 for ``werk_behandeld`` / ``huur_geweigerd`` and -1 for the reasons.
    ``scale`` < 1 builds a proportionally smaller population (for tests).
    """
    _check_wave(wave)
    if not 0 < scale <= 1:
        raise InputError("scale must be in (0, 1]", where="make_population", got=str(scale),
                         fix="use 1 for the full population or e.g. 0.01 for a small one")
    groups = wave_groups(wave)
    herkomst_parts, gewest_parts = [], []
    for g in groups:
        n_g = max(1, round(POP_SIZE[wave][g] * scale / EXPANSION[g]))
        n_bru = round(n_g * BRUSSELS_SHARE[g])
        herkomst_parts.append(np.full(n_g, g, dtype=np.int8))
        gewest_parts.append(np.concatenate([np.full(n_g - n_bru, 1, np.int8), np.full(n_bru, 2, np.int8)]))
    herkomst = np.concatenate(herkomst_parts)
    gewest = np.concatenate(gewest_parts)
    frame = _persons_frame(herkomst, gewest, wave, np.random.SeedSequence([seed, wave, 1]))
    frame["persons"] = _by_group(EXPANSION, frame["herkomst"].to_numpy()).astype(np.int32)
    return frame


def _persons_frame(herkomst: np.ndarray, gewest: np.ndarray, wave: int,
                   seq: np.random.SeedSequence) -> pd.DataFrame:
    munis = municipalities()
    n = len(herkomst)
    n_chunks = max(1, -(-n // _CHUNK))
    parts = []
    for k, child in enumerate(seq.spawn(n_chunks)):
        sl = slice(k * _CHUNK, min(n, (k + 1) * _CHUNK))
        parts.append(_simulate_persons(herkomst[sl], gewest[sl], wave, np.random.default_rng(child), munis))
    cols = {name: np.concatenate([p[name] for p in parts]) for name in parts[0]}
    frame = pd.DataFrame({"record": np.arange(n, dtype=np.int64), "persons": np.ones(n, np.int32)})
    for name in ("herkomst", "gewest", "provincie", "verstedelijking", "gemeente", "geslacht",
                 "leeftijd", "generatie"):
        frame[name] = cols[name]
    frame["stratum"] = (10 * cols["herkomst"].astype(np.int16) + cols["gewest"]).astype(np.int16)
    for name in ("nat_huidig", "nat_eerste", "nat_vader", "nat_moeder", "geboorteland"):
        frame[name] = pd.Categorical.from_codes(cols[name], categories=list(COUNTRIES))
    for name in _ITEM_COLUMNS:
        frame[name] = cols[name]
    return frame


_ITEM_COLUMNS = ("opleiding", "werksituatie", "werk_behandeld",
                 *(f"reden_{r}" for r in REASONS), "huur_gezocht", "huur_geweigerd",
                 "vertrouwen", "taal_thuis", "thuis_belgie", "negatief_publiek", "religie",
                 "contact_belgen")


def population_margins(pop: pd.DataFrame, ref_date: str) -> pd.DataFrame:
    """Statbel-like long margins: ref_date, herkomst, geslacht, leeftijdsgroep, gewest, count."""
    h = pop["herkomst"].to_numpy().astype(np.int64)
    s = pop["geslacht"].to_numpy().astype(np.int64)
    b = age_band(pop["leeftijd"].to_numpy())
    r = pop["gewest"].to_numpy().astype(np.int64)
    counts = np.bincount((((h - 1) * 2 + s - 1) * 6 + b - 1) * 2 + r - 1,
                         weights=pop["persons"].to_numpy(), minlength=7 * 24)
    out = pd.MultiIndex.from_product(
        [range(1, 8), [1, 2], range(1, 7), [1, 2]],
        names=["herkomst", "geslacht", "leeftijdsgroep", "gewest"],
    ).to_frame(index=False).astype(np.int64)
    out["count"] = np.rint(counts).astype(np.int64)
    out = out[out["herkomst"].isin(np.unique(h))].reset_index(drop=True)
    out.insert(0, "ref_date", ref_date)
    return out


def age_band(age: np.ndarray) -> np.ndarray:
    """Age band codes 1-6 (15-24, 25-34, 35-44, 45-54, 55-64, 65-85)."""
    return (np.searchsorted(np.array([25, 35, 45, 55, 65]), np.asarray(age), side="right") + 1).astype(
        np.int64)


# --------------------------------------------------------------------------- truth


def truth(pop: pd.DataFrame) -> dict[str, Any]:
    """Population values of the key indicators per origin group and for all groups together.

    Computed over persons (records weighted by ``persons``) on the true answers,
    so there is no item nonresponse; the bases are the filters of the
    questionnaire (workers, those treated incorrectly, those who searched).
    """
    def share(hit: pd.Series, base: pd.Series, w: np.ndarray) -> float:
        wb = w[base.to_numpy()]
        return float(np.sum(wb * hit.to_numpy()[base.to_numpy()]) / np.sum(wb))

    def indicators(d: pd.DataFrame) -> dict[str, float | int]:
        w = d["persons"].to_numpy().astype(float)
        everyone = pd.Series(np.ones(len(d), dtype=bool), index=d.index)
        worker = d["werksituatie"].isin([1, 2])
        incorrect = d["werk_behandeld"].isin([2, 3])
        searched = d["huur_gezocht"] == 1
        out: dict[str, float | int] = {
            "population": int(w.sum()),
            "workers": int(w[worker.to_numpy()].sum()),
            "werk_niet_correct": share(incorrect, worker, w),
            "werk_vaak": share(d["werk_behandeld"] == 3, worker, w),
        }
        for reason in REASONS:
            out[f"reden_{reason}"] = share(d[f"reden_{reason}"] == 1, incorrect, w)
        out.update({
            "huur_gezocht": share(searched, everyone, w),
            "huur_geweigerd": share(d["huur_geweigerd"] == 1, searched, w),
            "vertrouwen_gemiddeld": float(np.sum(w * d["vertrouwen"].to_numpy()) / w.sum()),
            "thuis_belgie_wel": share(d["thuis_belgie"].isin([4, 5]), everyone, w),
            "taal_thuis_nederlands": share(d["taal_thuis"] == 1, everyone, w),
            "negatief_publiek": share(d["negatief_publiek"] == 1, everyone, w),
        })
        return out

    groups = {str(int(g)): {"label": GROUP_LABELS[int(g)], **indicators(d)}
              for g, d in pop.groupby("herkomst", sort=True)}
    return {"groups": groups, "totaal": {"label": "Totaal", **indicators(pop)}}


# --------------------------------------------------------------------------- gross sample


def _response_scores(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """P(web response) and P(face-to-face response | no web response) per person.

    Response depends on origin group, age, region and mode only: variables the
    design and the weighting see (strata, nonresponse classes, raking margins).
    So weighting can remove the nonresponse bias, and confidence intervals of
    weighted estimates are expected to cover the truth at their nominal rate.
    """
    f32 = np.float32
    g = frame["herkomst"].to_numpy().astype(np.int64) - 1
    age = frame["leeftijd"].to_numpy().astype(f32)
    brussels = (frame["gewest"].to_numpy() == 2).astype(f32)
    web = _expit(_table(_logit(WEB_RESPONSE))[g] - f32(0.02) * np.maximum(age - 45, 0)
                 + f32(0.3) * (age < 25) - f32(0.2) * brussels)
    f2f = _expit(_table(_logit(F2F_RESPONSE))[g] + f32(0.015) * (age - 45) - f32(0.15) * brussels)
    return web.astype(float), f2f.astype(float)


def _pps_systematic(size: np.ndarray, m: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """First-stage probabilities (PPS, certainty units capped at 1) and a systematic sample."""
    pi = np.zeros(len(size))
    certain = np.zeros(len(size), dtype=bool)
    while True:
        rest = ~certain
        pi[rest] = (m - certain.sum()) * size[rest] / size[rest].sum()
        pi[certain] = 1.0
        new = rest & (pi >= 1.0)
        if not new.any():
            break
        certain |= new
    order = rng.permutation(len(size))
    cum = np.cumsum(pi[order])
    u = rng.random()
    hit = np.floor(cum - u + 1e-9) > np.floor(np.concatenate([[0.0], cum[:-1]]) - u + 1e-9)
    chosen = np.zeros(len(size), dtype=bool)
    chosen[order[hit]] = True
    chosen |= certain
    return pi, chosen


def draw_gross_sample(pop: pd.DataFrame, wave: int, seed: int = DEFAULT_SEED) -> pd.DataFrame:
    """Two-stage stratified sample of one wave, with the response outcome of every person.

    Strata: origin group x region. Sample size per stratum: 750 expected
    completes per group (equal allocation), split over regions in proportion
    to population, divided by the stratum's expected response rate. Stage 1:
    municipalities (PSUs) by systematic PPS on the stratum population
    (certainty PSUs capped at 1). Stage 2: simple random sample of records in
    each sampled municipality and one of each record's ``persons``, so every
    person there has probability take / N_i. Everyone is invited on the web; web
    nonrespondents get a face-to-face visit. Returns the sampled persons' rows
    of ``pop`` plus ``psu``, ``pi_psu``, ``incl_prob``, ``base_wt``,
    ``respons`` (1/0) and ``mode`` (1 web, 2 face-to-face, 0 nonrespondent),
    sorted by stratum, psu and a random key, with ``id`` 1..n in that order.
    """
    _check_wave(wave)
    rng = np.random.default_rng(np.random.SeedSequence([seed, wave, 2]))
    web, f2f = _response_scores(pop)
    rr = web + (1 - web) * f2f
    stratum = pop["stratum"].to_numpy().astype(np.int64)
    gemeente = pop["gemeente"].to_numpy().astype(np.int64)
    persons = pop["persons"].to_numpy().astype(np.int64)
    strata = np.unique(stratum)
    N_h = np.bincount(stratum, weights=persons, minlength=100)[strata]
    rr_h = np.bincount(stratum, weights=rr * persons, minlength=100)[strata] / N_h
    group_h = strata // 10
    N_g = np.bincount(group_h, weights=N_h, minlength=10)[group_h]
    n_h = np.rint(TARGET_COMPLETES * N_h / N_g / rr_h).astype(np.int64)
    cell_id = stratum * 100_000 + gemeente
    cells, first, R_i = np.unique(cell_id, return_index=True, return_counts=True)
    N_i = R_i * persons[first]  # persons per cell (expansion is constant within a group)

    psu_parts = []
    for h, N, n in zip(strata, N_h, n_h, strict=True):  # loop over strata (at most 14), not rows
        in_h = cells // 100_000 == h
        size = N_i[in_h].astype(float)
        m = int(np.clip(round(n / GROSS_PER_PSU), 2, max(2, int(np.ceil(0.5 * len(size))))))
        pi1, chosen = _pps_systematic(size, m, rng)
        take = np.clip(np.rint(n / N * size / pi1), 1, R_i[in_h]).astype(np.int64)
        psu_parts.append((cells[in_h][chosen], pi1[chosen], take[chosen], N_i[in_h][chosen]))
    psu_cell = np.concatenate([p[0] for p in psu_parts])
    psu_pi = np.concatenate([p[1] for p in psu_parts])
    psu_take = np.concatenate([p[2] for p in psu_parts])
    psu_size = np.concatenate([p[3] for p in psu_parts])
    order = np.argsort(psu_cell)
    psu_cell, psu_pi, psu_take, psu_size = psu_cell[order], psu_pi[order], psu_take[order], psu_size[order]

    # Stage 2: the `take` records with the smallest random keys in each sampled cell (SRS),
    # and one of the record's identical persons: P(person) = take / N_i.
    rows = np.flatnonzero(np.isin(cell_id, psu_cell))
    which = np.searchsorted(psu_cell, cell_id[rows])
    key = which + rng.random(len(rows))
    order = np.argsort(key, kind="stable")
    rows, which = rows[order], which[order]
    pos = np.arange(len(rows)) - np.searchsorted(which, which, side="left")
    keep = pos < psu_take[which]
    rows, which = rows[keep], which[keep]
    sample = pop.iloc[rows].reset_index(drop=True)
    sample["psu"] = sample["gemeente"].to_numpy()
    sample["pi_psu"] = psu_pi[which]
    sample["incl_prob"] = psu_pi[which] * psu_take[which] / psu_size[which]
    sample["base_wt"] = 1.0 / sample["incl_prob"].to_numpy()
    w, f = _response_scores(sample)
    web_resp = rng.random(len(sample)) < w
    f2f_resp = ~web_resp & (rng.random(len(sample)) < f)
    sample["respons"] = (web_resp | f2f_resp).astype(np.int8)
    sample["mode"] = np.where(web_resp, 1, np.where(f2f_resp, 2, 0)).astype(np.int8)
    sample["id"] = np.arange(1, len(sample) + 1, dtype=np.int64)
    return sample


# --------------------------------------------------------------------------- wave files

MISSING_CODES = MappingProxyType({
    2017: MappingProxyType({"NVT": 7, "WN": 8, "GA": 9}),
    2022: MappingProxyType({"NVT": -1, "WN": -8, "GA": -9}),
})
TRUST_MISSING_2017 = MappingProxyType({"NVT": 97, "WN": 98, "GA": 99})
MISSING_LABELS = MappingProxyType({"NVT": "niet van toepassing", "WN": "weet niet", "GA": "geen antwoord"})

RENAMED = MappingProxyType({"resp_id": "respid", "herkomst": "herkomst_frame", "leeftijd": "lft",
                            "werk_behandeld": "werkbeh"})

_YES_NO = {1: "ja", 2: "nee"}
_VALUE_LABELS: dict[str, dict[int, str]] = {
    "mode": {1: "web (CAWI)", 2: "face-to-face (CAPI)"},
    "herkomst": dict(GROUP_LABELS),
    "geslacht": {1: "man", 2: "vrouw"},
    "gewest": {1: "Vlaams Gewest", 2: "Brussels Hoofdstedelijk Gewest"},
    "provincie": {1: "Antwerpen", 2: "Limburg", 3: "Oost-Vlaanderen", 4: "Vlaams-Brabant",
                  5: "West-Vlaanderen", 6: "Brussel"},
    "verstedelijking": {1: "grootsteden", 2: "centrumsteden", 3: "stedelijke rand",
                        4: "kleinere steden", 5: "overgangsgebied", 6: "platteland"},
    "opleiding": {1: "laag", 2: "midden", 3: "hoog"},
    "werksituatie": {1: "werkt voltijds", 2: "werkt deeltijds", 3: "werkloos", 4: "student",
                     5: "gepensioneerd", 6: "ander"},
    "werk_behandeld": {1: "nooit", 2: "soms", 3: "vaak"},
    **{f"reden_{r}": {0: "niet aangeduid", 1: "aangeduid"} for r in REASONS},
    "huur_gezocht": _YES_NO,
    "huur_geweigerd": _YES_NO,
    "vertrouwen": {0: "helemaal geen vertrouwen", 10: "volledig vertrouwen"},
    "taal_thuis": {1: "Nederlands", 2: "Frans", 3: "herkomsttaal", 4: "Engels", 5: "andere"},
    "thuis_belgie": {1: "helemaal niet", 2: "niet", 3: "neutraal", 4: "wel", 5: "helemaal wel"},
    "negatief_publiek": _YES_NO,
    "religie": {1: "geen", 2: "christelijk", 3: "islamitisch", 4: "ander"},
    "contact_belgen": {1: "dagelijks", 2: "wekelijks", 3: "maandelijks", 4: "minder",
                       5: "nooit"},
    "respons": {1: "respondent", 0: "non-respondent"},
}
_LABELS = {
    "resp_id": "Respondentnummer",
    "stratum": "Steekproefstratum (10 x herkomstgroep + gewest)",
    "psu": "Primaire steekproefeenheid (gemeente, NIS-code)",
    "incl_prob": "Insluitingskans",
    "base_wt": "Designgewicht (1 / insluitingskans)",
    "mode": "Bevragingsmodus",
    "herkomst": "Herkomstgroep (steekproefkader)",
    "geslacht": "Geslacht",
    "leeftijd": "Leeftijd (jaren)",
    "gewest": "Gewest",
    "provincie": "Provincie",
    "verstedelijking": "Verstedelijkingsklasse van de gemeente",
    "gemeente": "Gemeente (NIS-code)",
    "opleiding": "Hoogst behaalde diploma",
    "nat_huidig": "Huidige nationaliteit (ISO-code)",
    "nat_eerste": "Eerste geregistreerde nationaliteit (ISO-code)",
    "nat_vader": "Eerste nationaliteit van de vader (ISO-code)",
    "nat_moeder": "Eerste nationaliteit van de moeder (ISO-code)",
    "geboorteland": "Geboorteland (ISO-code)",
    "werksituatie": "Huidige werksituatie",
    "werk_behandeld": "Op het werk niet correct behandeld (afgelopen 12 maanden)",
    "reden_herkomst": "Reden niet correct behandeld: herkomst",
    "reden_huidskleur": "Reden niet correct behandeld: huidskleur",
    "reden_geloof": "Reden niet correct behandeld: geloof",
    "reden_taal": "Reden niet correct behandeld: taal",
    "reden_geslacht": "Reden niet correct behandeld: geslacht",
    "reden_leeftijd": "Reden niet correct behandeld: leeftijd",
    "reden_andere": "Reden niet correct behandeld: andere reden",
    "huur_gezocht": "Huurwoning gezocht (afgelopen 5 jaar)",
    "huur_geweigerd": "Geweigerd door een verhuurder",
    "vertrouwen": "Vertrouwen in de meeste mensen (0-10)",
    "taal_thuis": "Taal die thuis het meest gesproken wordt",
    "thuis_belgie": "Voelt zich thuis in België",
    "negatief_publiek": "Negatieve ervaring in de openbare ruimte (afgelopen 12 maanden)",
    "religie": "Religieuze overtuiging",
    "contact_belgen": "Contact met mensen van Belgische herkomst",
    "respons": "Respons",
}
# Declared missing kinds per variable (docs/synthetic_schema.md).
_MISSING_KINDS: dict[str, tuple[str, ...]] = {
    "opleiding": ("WN", "GA"),
    "werksituatie": ("GA",),
    "werk_behandeld": ("NVT", "WN", "GA"),
    **{f"reden_{r}": ("NVT",) for r in REASONS},
    "huur_gezocht": ("WN", "GA"),
    "huur_geweigerd": ("NVT", "WN", "GA"),
    "vertrouwen": ("WN", "GA"),
    "taal_thuis": ("WN", "GA"),
    "thuis_belgie": ("WN", "GA"),
    "negatief_publiek": ("WN", "GA"),
    "religie": ("GA",),
    "contact_belgen": ("WN", "GA"),
}
_MEASURE = {
    "resp_id": "scale", "stratum": "nominal", "psu": "nominal", "incl_prob": "scale",
    "base_wt": "scale", "leeftijd": "scale", "gemeente": "nominal", "vertrouwen": "scale",
    "opleiding": "ordinal", "werk_behandeld": "ordinal", "thuis_belgie": "ordinal",
    "contact_belgen": "ordinal",
}
_FORMATS = {"incl_prob": "F12.10", "base_wt": "F12.4"}
DESIGN_COLUMNS = ("resp_id", "stratum", "psu", "incl_prob", "base_wt", "mode")
REGISTER_COLUMNS = ("herkomst", "geslacht", "leeftijd", "gewest", "provincie", "verstedelijking",
                    "gemeente")
NATIONALITY_COLUMNS = ("nat_huidig", "nat_eerste", "nat_vader", "nat_moeder", "geboorteland")
RESPONDENT_COLUMNS = (*DESIGN_COLUMNS, *REGISTER_COLUMNS, "opleiding", *NATIONALITY_COLUMNS,
                      *_ITEM_COLUMNS[1:])
GROSS_COLUMNS = ("resp_id", "stratum", "psu", "incl_prob", "base_wt", *REGISTER_COLUMNS, "respons",
                 "mode")


def wave_name(name: str, wave: int) -> str:
    """The variable's name in a wave file (2017 names are the reference)."""
    return RENAMED.get(name, name) if wave == 2022 else name


def werk_behandeld_codes(codes: Any, wave: int) -> np.ndarray:
    """``werk_behandeld`` answer codes of a wave from the 2017 codes (1 nooit, 2 soms, 3 vaak).

    2022 reorders them (1 vaak, 2 soms, 3 nooit); other values (missing codes) pass through.
    """
    codes = np.asarray(codes, dtype=float)
    if wave == 2017:
        return codes
    return np.where(np.isin(codes, (1, 2, 3)), 4 - codes, codes)


def _code(kind: str, name: str, wave: int) -> int:
    if wave == 2017 and name == "vertrouwen":
        return TRUST_MISSING_2017[kind]
    return MISSING_CODES[wave][kind]


def _metadata(columns: tuple[str, ...], wave: int, *, mode_missing: bool = False) -> dict[str, Any]:
    kinds = dict(_MISSING_KINDS)
    if mode_missing:
        kinds["mode"] = ("NVT",)
    labels, value_labels, missing, measure, formats = {}, {}, {}, {}, {}
    for name in columns:
        out = wave_name(name, wave)
        labels[out] = _LABELS[name]
        vl = dict(_VALUE_LABELS.get(name, {}))
        if name == "herkomst":
            vl = {g: vl[g] for g in wave_groups(wave)}
        if name == "werk_behandeld" and wave == 2022:
            vl = dict(zip(werk_behandeld_codes(list(vl), wave).astype(int).tolist(),
                          vl.values(), strict=True))
        if name in kinds:
            codes = [_code(k, name, wave) for k in kinds[name]]
            missing[out] = MissingSpec(values=tuple(float(c) for c in codes))
            for k, c in zip(kinds[name], codes, strict=True):
                vl[c] = "wil niet zeggen" if (name == "religie" and k == "GA") else MISSING_LABELS[k]
        if vl:
            value_labels[out] = dict(sorted(vl.items()))
        measure[out] = _MEASURE.get(name, "nominal")
        if name not in NATIONALITY_COLUMNS:
            formats[out] = _FORMATS.get(name, "F8.0")
    return {"labels": labels, "value_labels": value_labels, "missing": missing,
            "measure": measure, "formats": formats}


def _apply_item_nonresponse(frame: pd.DataFrame, wave: int, rng: np.random.Generator) -> pd.DataFrame:
    """Recorded answers: WN/GA added, filters applied on the recorded answers, NVT codes."""
    n = len(frame)
    out = {}
    nvt = float(MISSING_CODES[wave]["NVT"])

    def with_nonresponse(name: str, values: np.ndarray) -> np.ndarray:
        p_wn, p_ga = ITEM_NONRESPONSE[name]
        u = rng.random(n)
        values = values.astype(float)
        values = np.where(u < p_wn, _code("WN", name, wave), values)
        return np.where((u >= p_wn) & (u < p_wn + p_ga), _code("GA", name, wave), values)

    for name in ("opleiding", "werksituatie"):
        out[name] = with_nonresponse(name, frame[name].to_numpy())
    in_work = np.isin(out["werksituatie"], (1, 2))
    treated = frame["werk_behandeld"].to_numpy().astype(float)
    treated = np.where(in_work, with_nonresponse("werk_behandeld", treated), nvt)
    asked_reason = np.isin(treated, (2, 3))
    out["werk_behandeld"] = werk_behandeld_codes(treated, wave)
    for r in REASONS:
        name = f"reden_{r}"
        # Item nonresponse only replaces answers, so a recorded soms/vaak is the true answer
        # and the person's reasons exist.
        out[name] = np.where(asked_reason, frame[name].to_numpy().astype(float), nvt)
    out["huur_gezocht"] = with_nonresponse("huur_gezocht", frame["huur_gezocht"].to_numpy())
    searched = out["huur_gezocht"] == 1
    out["huur_geweigerd"] = np.where(
        searched, with_nonresponse("huur_geweigerd", frame["huur_geweigerd"].to_numpy()), nvt)
    for name in ("vertrouwen", "taal_thuis", "thuis_belgie", "negatief_publiek", "religie",
                 "contact_belgen"):
        out[name] = with_nonresponse(name, frame[name].to_numpy())
    return pd.DataFrame(out, index=frame.index)


def _strings(values: pd.Series) -> np.ndarray:
    return np.asarray(values.astype(str).to_numpy(), dtype=object)


def respondent_wave(sample: pd.DataFrame, wave: int, seed: int = DEFAULT_SEED) -> Wave:
    """The respondent file of a wave (from :func:`draw_gross_sample` output): codes, labels, missing."""
    _check_wave(wave)
    resp = sample[sample["respons"] == 1].reset_index(drop=True)
    rng = np.random.default_rng(np.random.SeedSequence([seed, wave, 3]))
    return _wave_from_persons(resp, wave, rng)


def _file_wave(columns: tuple[str, ...], values: Mapping[str, Any], wave: int, *,
               file_label: str, mode_missing: bool = False) -> Wave:
    """A wave file's Wave: ``columns`` (2017 names) in that order, named and labelled for ``wave``."""
    frame = pd.DataFrame({wave_name(k, wave): values[k] for k in columns})
    return make_wave(frame, file_label=file_label,
                     **_metadata(columns, wave, mode_missing=mode_missing))


def _sample_values(sample: pd.DataFrame, wave: int) -> dict[str, Any]:
    """Id, design and register columns of sampled persons (shared by respondent and gross files)."""
    prefix = 170_000 if wave == 2017 else 220_000
    values: dict[str, Any] = {"resp_id": prefix + sample["id"].to_numpy()}
    for name in ("stratum", "psu", "incl_prob", "base_wt", *REGISTER_COLUMNS):
        values[name] = sample[name].to_numpy()
    return values


def _wave_from_persons(resp: pd.DataFrame, wave: int, rng: np.random.Generator) -> Wave:
    recorded = _apply_item_nonresponse(resp, wave, rng)
    values = _sample_values(resp, wave)
    values["mode"] = resp["mode"].to_numpy()
    for name in NATIONALITY_COLUMNS:
        values[name] = _strings(resp[name])
    for name in recorded.columns:
        values[name] = recorded[name].to_numpy()
    return _file_wave(RESPONDENT_COLUMNS, values, wave,
                      file_label=f"SID {wave} respondenten (synthetisch)")


def gross_wave(sample: pd.DataFrame, wave: int) -> Wave:
    """The gross sample file of a wave: every sampled person with design and response."""
    _check_wave(wave)
    nvt = float(MISSING_CODES[wave]["NVT"])
    values = _sample_values(sample, wave)
    values["respons"] = sample["respons"].to_numpy()
    values["mode"] = np.where(sample["respons"].to_numpy() == 1, sample["mode"].to_numpy(), nvt)
    return _file_wave(GROSS_COLUMNS, values, wave, mode_missing=True,
                      file_label=f"SID {wave} bruto steekproef (synthetisch)")


def make_wave_frame(n: int, seed: int = DEFAULT_SEED, wave: int = 2022) -> Wave:
    """A respondent-like wave of ``n`` rows with the wave's schema, built fast in memory.

    For benchmarks and large tests (e.g. 1e6 rows): equal numbers per origin
    group, regions as in the population, items from the same model, item
    nonresponse, filters and codes exactly as in the wave files. Design: strata
    as in the waves, PSU = municipality, inclusion probability = n_h / N_h of
    the full population (so base weights sum to the stratum populations).
    Not a probability sample of the synthetic population.
    """
    _check_wave(wave)
    if n < 1:
        raise InputError("n must be at least 1", where="make_wave_frame", got=str(n), fix="use n >= 1")
    groups = np.array(wave_groups(wave), dtype=np.int8)
    rng = np.random.default_rng(np.random.SeedSequence([seed, wave, 4]))
    herkomst = groups[rng.integers(0, len(groups), n)]
    gewest = np.where(rng.random(n) < _by_group(BRUSSELS_SHARE, herkomst), 2, 1).astype(np.int8)
    frame = _persons_frame(herkomst, gewest, wave, np.random.SeedSequence([seed, wave, 5]))
    counts = frame["stratum"].value_counts()
    pop_n = {10 * g + r: POP_SIZE[wave][g] * (BRUSSELS_SHARE[g] if r == 2 else 1 - BRUSSELS_SHARE[g])
             for g in wave_groups(wave) for r in (1, 2)}
    stratum = frame["stratum"].to_numpy()
    frame["incl_prob"] = np.minimum(1.0, _stratum_map(counts.to_dict(), stratum)
                                    / _stratum_map(pop_n, stratum))
    frame["base_wt"] = 1.0 / frame["incl_prob"]
    frame["psu"] = frame["gemeente"]
    web, _ = _response_scores(frame)
    frame["mode"] = np.where(rng.random(n) < web / (web + 0.3), 1, 2).astype(np.int8)
    frame["id"] = np.arange(1, n + 1)
    return _wave_from_persons(frame, wave, rng)


def _stratum_map(values: Mapping[int, float], stratum: np.ndarray) -> np.ndarray:
    """Map per-stratum values onto a stratum code array."""
    table = np.zeros(100)
    for h, v in values.items():
        table[int(h)] = v
    return table[stratum]


# --------------------------------------------------------------------------- files


@dataclass(frozen=True)
class SynthResult:
    """What :func:`synthesise` wrote: paths, rows, sizes and timings."""

    out_dir: str
    seed: int
    paths: Mapping[str, str]
    rows: Mapping[str, int]
    bytes: Mapping[str, int]
    seconds: Mapping[str, float]


def synthesise(out_dir: str | os.PathLike[str], seed: int = DEFAULT_SEED) -> SynthResult:
    """Write the synthetic SID files into ``out_dir`` (created if absent).

    Files: ``sid2017.sav/.dta``, ``sid2022.sav/.dta`` (respondents),
    ``sid2017_gross.sav``, ``sid2022_gross.sav``, ``population_margins.csv``
    and ``truth.json``. Every wave file is verified by read-back
    (:func:`sid.io.write_wave`). Deterministic for a seed.
    """
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise InputError("output path is a file, not a folder", where=str(out),
                         fix="give a folder name for --out")
    out.mkdir(parents=True, exist_ok=True)
    t_all = time.perf_counter()
    paths: dict[str, str] = {}
    rows: dict[str, int] = {}
    seconds: dict[str, float] = {}
    margins, truths = [], {}
    for wave in WAVES:
        t0 = time.perf_counter()
        pop = make_population(wave, seed)
        seconds[f"population_{wave}"] = time.perf_counter() - t0
        margins.append(population_margins(pop, REF_DATES[wave]))
        truths[str(wave)] = {"ref_date": REF_DATES[wave], **truth(pop)}
        t0 = time.perf_counter()
        sample = draw_gross_sample(pop, wave, seed)
        del pop
        files = {
            f"sid{wave}_gross.sav": gross_wave(sample, wave),
            f"sid{wave}.sav": respondent_wave(sample, wave, seed),
        }
        files[f"sid{wave}.dta"] = to_stata_missing(files[f"sid{wave}.sav"])
        seconds[f"sample_{wave}"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        for name, wave_obj in files.items():
            write_wave(wave_obj, out / name)
            paths[name] = str(out / name)
            rows[name] = len(wave_obj.data)
        seconds[f"write_{wave}"] = time.perf_counter() - t0
    margins_frame = pd.concat(margins, ignore_index=True)
    write_text_atomic(out / "population_margins.csv", margins_frame.to_csv(index=False, lineterminator="\n"))
    paths["population_margins.csv"] = str(out / "population_margins.csv")
    rows["population_margins.csv"] = len(margins_frame)
    doc = {
        "description": "Populatiewaarden van de synthetische SID-populatie (sid.synthetic), "
                       "berekend op alle personen van de populatie zonder item-nonrespons.",
        "seed": seed,
        "waves": truths,
    }
    write_text_atomic(out / "truth.json", json.dumps(doc, ensure_ascii=False, indent=2) + "\n")
    paths["truth.json"] = str(out / "truth.json")
    seconds["total"] = time.perf_counter() - t_all
    sizes = {name: os.path.getsize(p) for name, p in paths.items()}
    return SynthResult(out_dir=str(out), seed=seed, paths=MappingProxyType(paths),
                       rows=MappingProxyType(rows), bytes=MappingProxyType(sizes),
                       seconds=MappingProxyType(seconds))


def summarise_waves(out_dir: str | os.PathLike[str]) -> str:
    """A short text summary of the synthetic respondent files in ``out_dir``.

    Per wave: rows, respondents per origin group and the unweighted share of
    workers (werksituatie 1-2) treated incorrectly at work (soms or vaak),
    among workers with a valid answer.
    """
    out = Path(out_dir)
    lines = []
    for wave in WAVES:
        path = out / f"sid{wave}.sav"
        w = read_wave(path)
        group = w.data[wave_name("herkomst", wave)]
        item = w.data[wave_name("werk_behandeld", wave)]
        incorrect_codes = werk_behandeld_codes([2, 3], wave)  # soms, vaak
        valid = ~w.missing_mask(wave_name("werk_behandeld", wave))
        lines.append(f"{path.name}: {len(w.data)} respondenten")
        lines.append(f"  {'herkomst':<12} {'n':>5} {'werkenden':>9} {'niet correct':>12}")
        for g in sorted(group.unique()):
            in_g = (group == g).to_numpy()
            base = in_g & valid
            share = float(item[base].isin(incorrect_codes).mean()) if base.any() else float("nan")
            lines.append(f"  {GROUP_LABELS[int(g)]:<12} {int(in_g.sum()):>5} {int(base.sum()):>9} "
                         f"{share:>11.1%}")
    return "\n".join(lines)
