"""The gross sample: two-stage stratified sampling and the response outcome.

Strata are origin group x region; municipalities are drawn with probability
proportional to size (systematic PPS), then persons by simple random
sampling; everyone is invited on the web and web nonrespondents get a
face-to-face visit.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sid.synthetic.params import (
    DEFAULT_SEED,
    F2F_RESPONSE,
    GROSS_PER_PSU,
    TARGET_COMPLETES,
    WEB_RESPONSE,
    check_wave,
)
from sid.synthetic.population import expit, group_table, logit

# --------------------------------------------------------------------------- gross sample


def response_scores(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
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
    web = expit(group_table(logit(WEB_RESPONSE))[g] - f32(0.02) * np.maximum(age - 45, 0)
                 + f32(0.3) * (age < 25) - f32(0.2) * brussels)
    f2f = expit(group_table(logit(F2F_RESPONSE))[g] + f32(0.015) * (age - 45) - f32(0.15) * brussels)
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


def _stable_argsort(key: np.ndarray) -> np.ndarray:
    """``np.argsort(key, kind="stable")``, through the faster unstable sort when no two keys
    are equal (then both orders are the same)."""
    order = np.argsort(key)
    ranked = key[order]
    if np.any(ranked[1:] == ranked[:-1]):
        return np.argsort(key, kind="stable")
    return order


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
    check_wave(wave)
    rng = np.random.default_rng(np.random.SeedSequence([seed, wave, 2]))
    web, f2f = response_scores(pop)
    rr = web + (1 - web) * f2f
    stratum = pop["stratum"].to_numpy().astype(np.int64)
    gemeente = pop["gemeente"].to_numpy().astype(np.int64)
    persons = pop["persons"].to_numpy().astype(np.int64)
    strata = np.flatnonzero(np.bincount(stratum, minlength=100))
    N_h = np.bincount(stratum, weights=persons, minlength=100)[strata]
    rr_h = np.bincount(stratum, weights=rr * persons, minlength=100)[strata] / N_h
    group_h = strata // 10
    N_g = np.bincount(group_h, weights=N_h, minlength=10)[group_h]
    n_h = np.rint(TARGET_COMPLETES * N_h / N_g / rr_h).astype(np.int64)
    # Cells (stratum x municipality) as dense keys that sort like (stratum, gemeente):
    # ranks of the strata and municipalities present, so bincount replaces a sort.
    muni_rank = np.cumsum(np.bincount(gemeente) > 0) - 1
    stratum_rank = np.cumsum(np.bincount(stratum) > 0) - 1
    n_muni = int(muni_rank[-1]) + 1
    cell_id = stratum_rank[stratum] * n_muni + muni_rank[gemeente]
    R_all = np.bincount(cell_id)
    cells = np.flatnonzero(R_all)
    R_i = R_all[cells]
    first_at = np.full(len(R_all), len(cell_id), dtype=np.int64)
    np.minimum.at(first_at, cell_id, np.arange(len(cell_id)))  # each cell's first record
    first = first_at[cells]
    cell_stratum = stratum[first]
    N_i = R_i * persons[first]  # persons per cell (expansion is constant within a group)

    psu_parts = []
    for h, N, n in zip(strata, N_h, n_h, strict=True):  # loop over strata (at most 14), not rows
        in_h = cell_stratum == h
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
    psu_of_cell = np.full(len(R_all), -1, dtype=np.int64)
    psu_of_cell[psu_cell] = np.arange(len(psu_cell))
    which = psu_of_cell[cell_id]
    rows = np.flatnonzero(which >= 0)
    which = which[rows]
    key = which + rng.random(len(rows))
    order = _stable_argsort(key)
    rows, which = rows[order], which[order]
    if np.all(which[1:] >= which[:-1]):  # always, unless a key rounded up to the next cell
        starts = np.concatenate([[0], np.cumsum(np.bincount(which))])[which]
    else:
        starts = np.searchsorted(which, which, side="left")
    pos = np.arange(len(rows)) - starts
    keep = pos < psu_take[which]
    rows, which = rows[keep], which[keep]
    sample = pop.iloc[rows].reset_index(drop=True)
    sample["psu"] = sample["gemeente"].to_numpy()
    sample["pi_psu"] = psu_pi[which]
    sample["incl_prob"] = psu_pi[which] * psu_take[which] / psu_size[which]
    sample["base_wt"] = 1.0 / sample["incl_prob"].to_numpy()
    w, f = response_scores(sample)
    web_resp = rng.random(len(sample)) < w
    f2f_resp = ~web_resp & (rng.random(len(sample)) < f)
    sample["respons"] = (web_resp | f2f_resp).astype(np.int8)
    sample["mode"] = np.where(web_resp, 1, np.where(f2f_resp, 2, 0)).astype(np.int8)
    sample["id"] = np.arange(1, len(sample) + 1, dtype=np.int64)
    return sample
