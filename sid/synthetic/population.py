"""The synthetic population: municipalities, persons, their answers, margins and truth.

:func:`make_population` simulates a full-size population of the Flemish
Region and Brussels (ages 15-85, seven SID origin groups) with register
variables, nationality history and the answers every person *would* give;
:func:`population_margins` gives Statbel-like counts and :func:`truth` the
population values of the key indicators.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from sid.errors import InputError
from sid.synthetic.draws import choice_index, nominal, ordered
from sid.synthetic.params import (
    AGE_BANDS,
    AGE_FIRST_GEN,
    AGE_SECOND_GEN,
    BRUSSELS_SHARE,
    CHUNK,
    CONTACT_MEAN,
    COUNTRIES,
    COUNTRY_INDEX,
    DEFAULT_SEED,
    EDU_MEAN,
    EXPANSION,
    FIRST_GEN_SHARE,
    GROUP_COUNTRY,
    GROUP_LABELS,
    HOME_MEAN,
    LANG_LOGITS,
    MALE_SHARE,
    NATURALISED,
    OTHER_COUNTRIES,
    POP_SIZE,
    PUBLIC_NEG,
    REASON_BASE,
    REASONS,
    RELIGION,
    RENT_REFUSED,
    RENT_SEARCHED,
    TRUST_MEAN,
    UNEMPLOYED,
    WORK_EFFECTS,
    WORK_LOGIT,
    WORK_VAAK_CUT,
    check_wave,
    wave_groups,
)

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


def by_group(values: Any, herkomst: np.ndarray) -> np.ndarray:
    """Look up a per-group parameter (tuple indexed by group-1, or mapping by group)."""
    if isinstance(values, Mapping):
        table = np.zeros(8)
        for g, v in values.items():
            table[g] = v
    else:
        table = np.concatenate([[0.0], np.asarray(values, dtype=float)])
    return table[herkomst]


def logit(p: Any) -> np.ndarray:
    """log(p / (1 - p)), elementwise."""
    p = np.asarray(p, dtype=float)
    return np.log(p / (1.0 - p))


def expit(x: np.ndarray) -> np.ndarray:
    """The inverse of :func:`logit`, elementwise: ``1 / (1 + exp(-x))`` in one buffer."""
    x = np.asarray(x)
    if not np.issubdtype(x.dtype, np.floating):
        return 1.0 / (1.0 + np.exp(-x))
    out = np.negative(x)
    np.exp(out, out=out)
    out += 1.0
    return np.divide(1.0, out, out=out)


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
    at = np.zeros(n, dtype=np.intp)  # row of the municipality in munis
    cell = herkomst.astype(np.intp) * 3 + gewest
    present = np.flatnonzero(np.bincount(cell, minlength=3))
    for c in present:  # in the order of (group, region), as rng.choice was called
        g, r = divmod(int(c), 3)
        sel = np.flatnonzero(cell == c)
        at[sel] = choice_index(rng, _municipality_probs(munis, g, r), len(sel))
    out["gemeente"] = munis["gemeente"].to_numpy().astype(np.int32)[at]
    out["provincie"] = munis["provincie"].to_numpy().astype(np.int8)[at]
    out["verstedelijking"] = munis["verstedelijking"].to_numpy().astype(np.int8)[at]

    # Generation: 0 = Belgian origin, 1 = first, 2 = second generation.
    first_share = by_group(FIRST_GEN_SHARE[wave], herkomst)
    generation = 2 - (rng.random(n) < first_share).astype(np.int8)
    generation[herkomst == 1] = 0
    out["generatie"] = generation

    # Age: band by group and generation, then age within band (65-85 declining).
    # The band is the number of cumulative band probabilities (of the person's group x
    # generation) at or below a uniform draw: one pass per band limit over a lookup table.
    combo = herkomst.astype(np.intp) * 3 + generation
    present = np.flatnonzero(np.bincount(combo))  # at most 14 group x generation combinations
    limits = np.full((int(present[-1]) + 1 if n else 1, len(AGE_BANDS) - 1), np.inf)
    for c in present:
        probs = (AGE_SECOND_GEN if c % 3 == 2 else AGE_FIRST_GEN)[int(c) // 3]
        limits[c] = (np.cumsum(probs) / np.sum(probs))[:-1]
    u = rng.random(n)
    band = np.zeros(n, dtype=np.int8)
    for k in range(limits.shape[1]):
        band += u >= limits[:, k][combo]
    u = rng.random(n)
    age = np.array([b[0] for b in AGE_BANDS], dtype=np.int8)[band]
    age += (10 * u).astype(np.int8)  # floor(10 u): 0-9 years into the band
    old = np.flatnonzero(band == 5)
    age[old] = np.minimum(85, 65 + np.floor(21 * (1 - np.sqrt(u[old]))))
    out["leeftijd"] = age
    male = rng.random(n) < by_group(MALE_SHARE, herkomst)
    out["geslacht"] = 2 - male.astype(np.int8)

    _nationalities(out, rng)
    _items(out, g0, rng, wave)
    return out


_PICK, _PICK_NEAR = -1, -2  # placeholders: "another country" and "a neighbouring country"
_BLOCK = 1 << 15  # rows per block of the nationality draws (fits in the CPU cache)


def _nationalities(p: dict[str, np.ndarray], rng: np.random.Generator) -> None:
    """ISO codes (as indexes into COUNTRIES) for the four nationality fields and birth country.

    Six uniforms per person (``rng.random((n, 6))``, drawn block by block: the same
    stream), then one pick among the other countries per person; the rules are applied
    per block with placeholders for the picks, which are filled in at the end.
    """
    herkomst, gen, age = p["herkomst"], p["generatie"], p["leeftijd"]
    n = len(herkomst)
    be, unknown, congo = COUNTRY_INDEX["BE"], COUNTRY_INDEX[""], COUNTRY_INDEX["CD"]
    own = np.array([0] + [COUNTRY_INDEX[GROUP_COUNTRY[g]] for g in range(1, 8)], dtype=np.int8)[herkomst]
    other = np.array([COUNTRY_INDEX[c] for c in OTHER_COUNTRIES], dtype=np.int8)
    # P(naturalised) of the first generation by group and age > 30, as min(rate x factor, 0.95)
    nat_rate = by_group(NATURALISED, np.arange(8))
    nat_p = np.minimum(np.stack([nat_rate * 0.6, nat_rate * 1.1], axis=1), 0.95).ravel()
    fields = {name: np.empty(n, dtype=np.int8) for name in ("first", "father", "mother", "birth",
                                                            "current")}
    u = np.empty((min(n, _BLOCK), 6))
    for lo in range(0, n, _BLOCK):
        sl = slice(lo, min(n, lo + _BLOCK))
        ub = rng.random((sl.stop - lo, 6), out=u[:sl.stop - lo])
        u0, u1, u2, u3, u4, u5 = (ub[:, k] for k in range(6))
        h, g, a, ow = herkomst[sl], gen[sl], age[sl], own[sl]
        bel, g1, g2 = h == 1, g == 1, g == 2
        # Each rule only where its group is in the block (the population is sorted by group,
        # so most blocks hold one): Belgian frame group, then first, then second generation.
        first, father, mother, birth = (np.full(len(h), be, dtype=np.int8) for _ in range(4))
        if bel.any():
            # A few foreign-born Belgians (older ones in Congo), a few with a parent (and
            # sometimes themselves) of another nationality, some unknown parents.
            mixed = bel & (u1 < 0.03)
            via_father = u2 < 0.5
            naturalised_other = mixed & (u3 < 0.3)
            abroad = bel & (u0 < 0.015)
            birth = np.where(naturalised_other, _PICK,
                             np.where(abroad, np.where(a >= 60, congo, _PICK), be))
            first = np.where(naturalised_other, _PICK, be)
            father = np.where(bel, np.where(mixed & via_father, _PICK,
                                            np.where(~mixed & (u4 < 0.02), unknown, be)), be)
            mother = np.where(bel, np.where(mixed & ~via_father, _PICK,
                                            np.where(~mixed & (u5 < 0.01), unknown, be)), be)
        if g1.any():  # born abroad (a few in a neighbouring country), foreign first nationality
            birth = np.where(g1, np.where(u0 < 0.95, ow, _PICK_NEAR), birth)
            first = np.where(g1, ow, first)
            father = np.where(g1, np.where(u1 < 0.95, ow, unknown), father)
            mother = np.where(g1, np.where(u2 < 0.94, ow, unknown), mother)
        if g2.any():  # born in Belgium, Belgian at birth more often when young; parents both
            # foreign, or mixed, or one unknown
            first = np.where(g2, np.where(u0 < np.where(a < 30, 0.8, 0.4), be, ow), first)
            f2 = np.where((u1 >= 0.80) & (u1 < 0.93), be, np.where(u1 < 0.97, ow, unknown))
            m2 = np.where((u1 >= 0.70) & (u1 < 0.80), be,
                          np.where((u1 >= 0.93) & (u1 < 0.97), unknown, ow))
            father = np.where(g2, f2, father)
            mother = np.where(g2, m2, mother)
        # Current nationality: naturalisation (first generation, more often when older).
        threshold = np.where(g1, nat_p[h.astype(np.intp) * 2 + (a > 30)], 0.85)
        naturalised = u3 < threshold
        current = np.where(bel | (first == be) | naturalised, be, first)
        for name, values in (("first", first), ("father", father), ("mother", mother),
                             ("birth", birth), ("current", current)):
            fields[name][sl] = values
    pick_other = other[rng.integers(0, len(other), n)]
    for values in fields.values():
        at = np.flatnonzero(values < 0)
        near = values[at] == _PICK_NEAR
        values[at] = np.where(near, pick_other[at] % 3 + COUNTRY_INDEX["NL"], pick_other[at])
    p["nat_huidig"], p["nat_eerste"] = fields["current"], fields["first"]
    p["nat_vader"], p["nat_moeder"], p["geboorteland"] = fields["father"], fields["mother"], fields["birth"]


def group_table(values: Any) -> np.ndarray:
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
    age40 = age - 40  # exact in float32; shared by the items below

    def normal() -> np.ndarray:
        return rng.standard_normal(n, dtype=f32)

    def uniform() -> np.ndarray:
        return rng.random(n, dtype=f32)

    # Education 1 laag, 2 midden, 3 hoog.
    edu_latent = group_table(EDU_MEAN)[g] + f32(0.3) * gen2 - f32(0.02) * age40 - f32(1.2) * (age < 20)
    edu = ordered(edu_latent + normal(), (-0.4, 0.6))
    p["opleiding"] = edu
    e = edu.astype(f32) - 2

    # Employment (werksituatie 1-6), nominal logits.
    muslim_groups = ((herkomst == 2) | (herkomst == 3) | (herkomst == 7)).astype(f32)
    logits = [
        f32(0.4) * e - f32(0.6) * female,
        f32(-1.0) + f32(0.9) * female,
        group_table(UNEMPLOYED)[g] - f32(0.5) * e,
        _by_age(age_int, ((20, 5.0), (25, 2.0), (30, -1.5)), -5.0),
        _by_age(age_int, ((60, -6.0), (65, 1.0)), 6.0),
        f32(-2.0) + f32(0.8) * female * muslim_groups + f32(0.02) * age40,
    ]
    work = nominal(rng, logits)
    work[age < 18] = 4
    p["werksituatie"] = work
    worker = (work == 1) | (work == 2)

    # Home language 1 NL, 2 FR, 3 origin language, 4 EN, 5 other (before the workplace item,
    # which depends on it: not speaking Dutch at home stands in for Dutch proficiency).
    lang = group_table(LANG_LOGITS)
    lang_logits = [lang[:, k][g] for k in range(5)]  # contiguous, one per category
    lang_logits[0] = lang_logits[0] - f32(1.8) * brussels + f32(1.3) * gen2
    lang_logits[1] = lang_logits[1] + f32(2.8) * brussels + f32(0.3) * gen2
    lang_logits[2] = lang_logits[2] - f32(1.0) * gen2
    taal = nominal(rng, lang_logits)
    p["taal_thuis"] = taal
    not_dutch = (taal != 1).astype(f32)

    # Workplace treatment (1 nooit, 2 soms, 3 vaak; 0 = not asked): ordered logit, so that
    # P(soms or vaak) = expit(WORK_LOGIT[group] + effects) exactly (see params.py).
    fx = WORK_EFFECTS
    latent = (group_table([WORK_LOGIT[wave].get(k, 0.0) for k in range(1, 8)])[g]
              + f32(fx["opleiding_midden"]) * (edu == 2) + f32(fx["opleiding_hoog"]) * (edu == 3)
              + f32(fx["leeftijd_per_jaar"]) * age40 + f32(fx["vrouw"]) * female
              + f32(fx["brussel"]) * brussels + f32(fx["geen_nederlands_thuis"]) * not_dutch
              + rng.logistic(size=n).astype(f32))
    treated = ordered(latent, (0.0, WORK_VAAK_CUT))
    treated[~worker] = 0
    p["werk_behandeld"] = treated

    # Religion 1 geen, 2 christelijk, 3 islamitisch, 4 ander (geloof as a reason depends on it).
    rel_log = np.log(group_table(RELIGION))
    rel_logits = [rel_log[:, k][g] for k in range(4)]
    rel_logits[0] = rel_logits[0] + f32(0.02) * (40 - age) * (herkomst == 1)
    religion = nominal(rng, rel_logits)
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
        prob = group_table(REASON_BASE[reason])[ga] * modifier.get(reason, 1.0)
        ticks[reason] = u[:, k] < np.clip(prob, 0, 0.98)
    ticks["andere"] |= ~np.logical_or.reduce([ticks[r] for r in REASONS])
    for reason in REASONS:
        col = np.full(n, -1, dtype=np.int8)
        col[asked] = ticks[reason]
        p[f"reden_{reason}"] = col

    # Rental housing: searched (1 ja, 2 nee) and refused (asked if searched; 0 = not asked).
    age_rent = _by_age(age_int, ((20, -1.2), (35, 0.8), (55, 0.0)), -1.2)
    searched = uniform() < expit(group_table(logit(RENT_SEARCHED))[g] + age_rent + f32(0.3) * brussels)
    refused = uniform() < expit(group_table(logit(RENT_REFUSED))[g] - f32(0.2) * e
                                 + f32(0.2) * (herkomst == 6) * brussels)
    p["huur_gezocht"] = 2 - searched.astype(np.int8)
    refused_code = 2 - refused.astype(np.int8)  # 1 ja, 2 nee; 0 where not searched
    refused_code *= searched
    p["huur_geweigerd"] = refused_code

    # Trust 0-10.
    trust = (group_table(TRUST_MEAN)[g] + f32(0.5) * e - f32(0.5) * (treated == 3)
             - f32(0.4) * brussels + f32(0.01) * age40 + f32(2.0) * normal())
    p["vertrouwen"] = np.clip(np.rint(trust), 0, 10).astype(np.int8)

    # Feeling at home in Belgium 1-5 (ordered).
    home = (group_table(HOME_MEAN)[g] + f32(0.3) * gen2 - f32(0.3) * (treated == 3) + f32(0.15) * e
            - f32(0.3) * brussels + f32(0.3) * (1 - not_dutch) * (herkomst != 1) + normal())
    p["thuis_belgie"] = ordered(home, (-1.8, -1.0, -0.2, 0.8))

    # Negative experience in public space (1 ja, 2 nee).
    neg = expit(group_table(logit(PUBLIC_NEG))[g] + f32(0.4) * young + f32(0.2) * female
                 - f32(0.3) * (age >= 65))
    p["negatief_publiek"] = 2 - (uniform() < neg).astype(np.int8)

    # Contact with people of Belgian origin: 1 dagelijks .. 5 nooit (high latent = often).
    contact = (group_table(CONTACT_MEAN)[g] + f32(0.5) * worker + f32(0.4) * gen2 + f32(0.2) * e
               - f32(0.4) * brussels + normal())
    p["contact_belgen"] = (6 - ordered(contact, (-1.2, -0.3, 0.4, 1.2))).astype(np.int8)


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
    check_wave(wave)
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
    frame = persons_frame(herkomst, gewest, wave, np.random.SeedSequence([seed, wave, 1]))
    frame["persons"] = by_group(EXPANSION, frame["herkomst"].to_numpy()).astype(np.int32)
    return frame


def persons_frame(herkomst: np.ndarray, gewest: np.ndarray, wave: int,
                   seq: np.random.SeedSequence) -> pd.DataFrame:
    """Simulate persons in chunks with independent random streams and build their frame."""
    munis = municipalities()
    n = len(herkomst)
    n_chunks = max(1, -(-n // CHUNK))
    cols: dict[str, np.ndarray] = {}
    for k, child in enumerate(seq.spawn(n_chunks)):
        sl = slice(k * CHUNK, min(n, (k + 1) * CHUNK))
        part = _simulate_persons(herkomst[sl], gewest[sl], wave, np.random.default_rng(child), munis)
        for name, values in part.items():  # into the full columns: no second copy at the end
            if name not in cols:
                cols[name] = values if n_chunks == 1 else np.empty(n, dtype=values.dtype)
            if n_chunks > 1:
                cols[name][sl] = values
        del part
    frame = pd.DataFrame({"record": np.arange(n, dtype=np.int64), "persons": np.ones(n, np.int32)})
    for name in ("herkomst", "gewest", "provincie", "verstedelijking", "gemeente", "geslacht",
                 "leeftijd", "generatie"):
        frame[name] = cols[name]
    frame["stratum"] = (10 * cols["herkomst"].astype(np.int16) + cols["gewest"]).astype(np.int16)
    for name in ("nat_huidig", "nat_eerste", "nat_vader", "nat_moeder", "geboorteland"):
        frame[name] = pd.Categorical.from_codes(cols[name], categories=list(COUNTRIES))
    for name in ITEM_COLUMNS:
        frame[name] = cols[name]
    return frame


ITEM_COLUMNS = ("opleiding", "werksituatie", "werk_behandeld",
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
    out = out[out["herkomst"].isin(np.flatnonzero(np.bincount(h)))].reset_index(drop=True)
    out.insert(0, "ref_date", ref_date)
    return out


def age_band(age: np.ndarray) -> np.ndarray:
    """Age band codes 1-6 (15-24, 25-34, 35-44, 45-54, 55-64, 65-85)."""
    age = np.asarray(age)
    limits = np.array([25, 35, 45, 55, 65])
    if age.dtype in (np.int8, np.uint8):  # a table of every possible age: no search
        table = np.searchsorted(limits, np.arange(-128, 256), side="right") + 1
        return table[age.astype(np.intp) + 128]
    return (np.searchsorted(limits, age, side="right") + 1).astype(np.int64)


# --------------------------------------------------------------------------- truth


def truth(pop: pd.DataFrame) -> dict[str, Any]:
    """Population values of the key indicators per origin group and for all groups together.

    Computed over persons (records weighted by ``persons``) on the true answers,
    so there is no item nonresponse; the bases are the filters of the
    questionnaire (workers, those treated incorrectly, those who searched).
    Every sum is a per-group ``np.bincount`` of whole numbers of persons, so it
    is exact whatever the order of addition (one pass per indicator, not per group).
    """
    h = pop["herkomst"].to_numpy().astype(np.intp)
    w = pop["persons"].to_numpy().astype(float)
    size = int(h.max()) + 1 if len(h) else 1
    groups_present = np.flatnonzero(np.bincount(h, minlength=size))

    def sums(values: np.ndarray | None = None, rows: np.ndarray | None = None) -> np.ndarray:
        """Per-group persons-weighted sums of ``values`` (bool or numbers; None: persons),
        over ``rows`` (indexes; None: all records), then the total."""
        hh, ww = (h, w) if rows is None else (h[rows], w[rows])
        if values is not None:
            ww = ww * values
        per_group = np.bincount(hh, weights=ww, minlength=size)[groups_present]
        return np.append(per_group, per_group.sum())

    def column(name: str, rows: np.ndarray | None = None) -> np.ndarray:
        values = pop[name].to_numpy()
        return values if rows is None else values[rows]

    work = column("werksituatie")
    workers = np.flatnonzero((work == 1) | (work == 2))
    treated = column("werk_behandeld")
    treated_workers = treated[workers]
    incorrect = np.flatnonzero((treated == 2) | (treated == 3))
    searched = np.flatnonzero(column("huur_gezocht") == 1)
    everyone = sums()
    base_worker, base_incorrect, base_searched = sums(rows=workers), sums(rows=incorrect), sums(
        rows=searched)
    table: dict[str, np.ndarray] = {
        "werk_niet_correct": sums((treated_workers == 2) | (treated_workers == 3), workers)
        / base_worker,
        "werk_vaak": sums(treated_workers == 3, workers) / base_worker,
    }
    for reason in REASONS:
        table[f"reden_{reason}"] = sums(column(f"reden_{reason}", incorrect) == 1,
                                        incorrect) / base_incorrect
    thuis = column("thuis_belgie")
    table.update({
        "huur_gezocht": base_searched / everyone,
        "huur_geweigerd": sums(column("huur_geweigerd", searched) == 1, searched) / base_searched,
        "vertrouwen_gemiddeld": sums(column("vertrouwen")) / everyone,
        "thuis_belgie_wel": sums((thuis == 4) | (thuis == 5)) / everyone,
        "taal_thuis_nederlands": sums(column("taal_thuis") == 1) / everyone,
        "negatief_publiek": sums(column("negatief_publiek") == 1) / everyone,
    })

    def indicators(k: int) -> dict[str, float | int]:
        out: dict[str, float | int] = {"population": int(everyone[k]), "workers": int(base_worker[k])}
        out.update({name: float(values[k]) for name, values in table.items()})
        return out

    groups = {str(int(g)): {"label": GROUP_LABELS[int(g)], **indicators(k)}
              for k, g in enumerate(groups_present)}
    return {"groups": groups, "totaal": {"label": "Totaal", **indicators(len(groups_present))}}
