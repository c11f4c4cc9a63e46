"""The wave files: respondent and gross-sample waves with the real files' quirks.

Variables renamed in 2022, ``werk_behandeld`` codes reordered, different
missing codes per wave, filtered items with NVT codes, labels and formats as
described in ``docs/synthetic_schema.md``; :func:`make_wave_frame` builds a
large respondent-like wave fast for benchmarks.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

from sid.errors import InputError
from sid.io import (
    MissingSpec,
    Wave,
    make_wave,
)
from sid.synthetic.params import (
    BRUSSELS_SHARE,
    DEFAULT_SEED,
    GROUP_LABELS,
    ITEM_NONRESPONSE,
    POP_SIZE,
    REASONS,
    check_wave,
    wave_groups,
)
from sid.synthetic.population import ITEM_COLUMNS, by_group, persons_frame
from sid.synthetic.samples import response_scores

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
                      *ITEM_COLUMNS[1:])
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
    check_wave(wave)
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
    check_wave(wave)
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
    check_wave(wave)
    if n < 1:
        raise InputError("n must be at least 1", where="make_wave_frame", got=str(n), fix="use n >= 1")
    groups = np.array(wave_groups(wave), dtype=np.int8)
    rng = np.random.default_rng(np.random.SeedSequence([seed, wave, 4]))
    herkomst = groups[rng.integers(0, len(groups), n)]
    gewest = np.where(rng.random(n) < by_group(BRUSSELS_SHARE, herkomst), 2, 1).astype(np.int8)
    frame = persons_frame(herkomst, gewest, wave, np.random.SeedSequence([seed, wave, 5]))
    counts = frame["stratum"].value_counts()
    pop_n = {10 * g + r: POP_SIZE[wave][g] * (BRUSSELS_SHARE[g] if r == 2 else 1 - BRUSSELS_SHARE[g])
             for g in wave_groups(wave) for r in (1, 2)}
    stratum = frame["stratum"].to_numpy()
    frame["incl_prob"] = np.minimum(1.0, _stratum_map(counts.to_dict(), stratum)
                                    / _stratum_map(pop_n, stratum))
    frame["base_wt"] = 1.0 / frame["incl_prob"]
    frame["psu"] = frame["gemeente"]
    web, _ = response_scores(frame)
    frame["mode"] = np.where(rng.random(n) < web / (web + 0.3), 1, 2).astype(np.int8)
    frame["id"] = np.arange(1, n + 1)
    return _wave_from_persons(frame, wave, rng)


def _stratum_map(values: Mapping[int, float], stratum: np.ndarray) -> np.ndarray:
    """Map per-stratum values onto a stratum code array."""
    table = np.zeros(100)
    for h, v in values.items():
        table[int(h)] = v
    return table[stratum]
