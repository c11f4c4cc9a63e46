"""Writing the synthetic SID files and summarising them.

:func:`synthesise` writes the respondent waves (.sav and .dta), the gross
samples, the population margins and the truth file into one folder;
:func:`summarise_waves` reports respondents per origin group.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pandas as pd

from sid.errors import InputError
from sid.io import (
    atomic_outputs,
    read_wave,
    to_stata_missing,
    write_wave,
)
from sid.synthetic.params import DEFAULT_SEED, GROUP_LABELS, REF_DATES, WAVES
from sid.synthetic.population import make_population, population_margins, truth
from sid.synthetic.samples import draw_gross_sample
from sid.synthetic.truth_models import model_truth
from sid.synthetic.waves import gross_wave, respondent_wave, wave_name, werk_behandeld_codes

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


@dataclass(frozen=True)
class _WaveFiles:
    """What one wave of :func:`synthesise` wrote, and its margins and truth."""

    margins: pd.DataFrame
    truth: dict[str, Any]
    paths: dict[str, str]
    rows: dict[str, int]
    seconds: dict[str, float]


#: Runs two calls, perhaps at once, and returns both results in order
#: (``sid demo`` passes sid.parallel.run_pair; `sid synth` none: one after the other).
Pair = Callable[[Callable[[], _WaveFiles], Callable[[], _WaveFiles]],
                tuple[_WaveFiles, _WaveFiles]]


def synthesise(out_dir: str | os.PathLike[str], seed: int = DEFAULT_SEED,
               progress: Callable[[str], None] | None = None, *,
               pair: Pair | None = None) -> SynthResult:
    """Write the synthetic SID files into ``out_dir`` (created if absent).

    Files: ``sid2017.sav/.dta``, ``sid2022.sav/.dta`` (respondents),
    ``sid2017_gross.sav``, ``sid2022_gross.sav``, ``population_margins.csv``
    and ``truth.json``. Every wave file is verified by read-back
    (:func:`sid.io.write_wave`). Deterministic for a seed (the data; an SPSS header also
    holds the time of writing, so compare runs by content: sid.export.provenance).
    ``progress`` is told what is being done, step by step. The two waves are independent:
    ``pair(first, second)`` runs their two calls and returns both results (``sid demo``
    passes :func:`sid.parallel.run_pair`, the second wave in a forked child);
    without it they run one after the other.
    """
    say = progress or (lambda _text: None)
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise InputError("output path is a file, not a folder", where=str(out),
                         fix="give a folder name for --out")
    out.mkdir(parents=True, exist_ok=True)
    t_all = time.perf_counter()
    first, second = (partial(_synthesise_wave, out, wave, seed, say) for wave in WAVES)
    done = pair(first, second) if pair is not None else (first(), second())
    paths: dict[str, str] = {}
    rows: dict[str, int] = {}
    seconds: dict[str, float] = {}
    for part in done:
        paths.update(part.paths)
        rows.update(part.rows)
        seconds.update(part.seconds)
    margins = [part.margins for part in done]
    truths = {str(wave): part.truth for wave, part in zip(WAVES, done, strict=True)}
    margins_frame = pd.concat(margins, ignore_index=True)
    doc = {
        "description": "Populatiewaarden van de synthetische SID-populatie (sid.synthetic), "
                       "berekend op alle personen van de populatie zonder item-nonrespons.",
        "seed": seed,
        "waves": truths,
    }
    texts = {"population_margins.csv": margins_frame.to_csv(index=False, lineterminator="\n"),
             "truth.json": json.dumps(doc, ensure_ascii=False, indent=2) + "\n"}
    # the margins and the truth belong together: both files change, or neither
    with atomic_outputs([out / name for name in texts]) as temps:
        for tmp, text in zip(temps, texts.values(), strict=True):
            tmp.write_text(text, encoding="utf-8", newline="")
    paths.update({name: str(out / name) for name in texts})
    rows["population_margins.csv"] = len(margins_frame)
    seconds["total"] = time.perf_counter() - t_all
    sizes = {name: os.path.getsize(p) for name, p in paths.items()}
    return SynthResult(out_dir=str(out), seed=seed, paths=MappingProxyType(paths),
                       rows=MappingProxyType(rows), bytes=MappingProxyType(sizes),
                       seconds=MappingProxyType(seconds))


def _synthesise_wave(out: Path, wave: int, seed: int, say: Callable[[str], None]) -> _WaveFiles:
    """One wave of :func:`synthesise`: its population, samples and files."""
    seconds: dict[str, float] = {}
    t0 = time.perf_counter()
    say(f"{wave}: populatie maken")
    pop = make_population(wave, seed)
    seconds[f"population_{wave}"] = time.perf_counter() - t0
    margins = population_margins(pop, REF_DATES[wave])
    truth_doc = {"ref_date": REF_DATES[wave], **truth(pop), "models": model_truth(pop)}
    t0 = time.perf_counter()
    say(f"{wave}: steekproef trekken en antwoorden maken")
    sample = draw_gross_sample(pop, wave, seed)
    del pop
    files = {
        f"sid{wave}_gross.sav": gross_wave(sample, wave),
        f"sid{wave}.sav": respondent_wave(sample, wave, seed),
    }
    files[f"sid{wave}.dta"] = to_stata_missing(files[f"sid{wave}.sav"])
    seconds[f"sample_{wave}"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    say(f"{wave}: bestanden schrijven ({', '.join(files)})")
    paths, rows = {}, {}
    for name, wave_obj in files.items():
        write_wave(wave_obj, out / name)
        paths[name] = str(out / name)
        rows[name] = len(wave_obj.data)
    seconds[f"write_{wave}"] = time.perf_counter() - t0
    return _WaveFiles(margins=margins, truth=truth_doc, paths=paths, rows=rows, seconds=seconds)


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
        lines.append(f"{path.name}: {len(w.data)} respondenten (ongewogen: controle van de "
                     "steekproef, geen schatting; de gewogen cijfers staan in het tabellenboek)")
        lines.append(f"  {'herkomst':<12} {'n':>5} {'werkenden':>9} "
                     f"{'niet correct (ongewogen)':>25}")
        for g in sorted(group.unique()):
            in_g = (group == g).to_numpy()
            base = in_g & valid
            share = float(item[base].isin(incorrect_codes).mean()) if base.any() else float("nan")
            lines.append(f"  {GROUP_LABELS[int(g)]:<12} {int(in_g.sum()):>5} {int(base.sum()):>9} "
                         f"{share:>24.1%}")
    return "\n".join(lines)
