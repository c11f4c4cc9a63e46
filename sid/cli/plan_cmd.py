"""``sid plan``: sample sizes for the next wave.

Two forms:

* the planning book: ``sid plan WAVE --spec TABLESPEC --gross GROSS --margins
  MARGINS [--moe 0.03] [--power 0.8 --delta 0.05] [--budget N] --out plan.xlsx``;
* the calculator: ``sid plan --p P --moe E [--deff D] [--population N]
  [--response-rate R] [--conf-level L] [--format table|csv]`` (csv columns
  ``n_net,n_gross``) and ``sid plan --p P --p2 P2 [--power 0.8] [--alpha 0.05]
  [--deff D] [--format table|csv]`` (csv column ``n_net``, per group).

Bad input is one line on stderr and exit code 2.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, overload

import click

from sid.cli.app import main
from sid.errors import SidError


@overload
def _number(text: str, name: str, *, integer: bool = False) -> float: ...
@overload
def _number(text: None, name: str, *, integer: bool = False) -> None: ...
@overload
def _number(text: str | None, name: str, *, integer: bool = False) -> float | None: ...


def _number(text: str | None, name: str, *, integer: bool = False) -> float | None:
    """Parse an option ourselves, so a typo is one SidError line, not click's usage text."""
    from sid.errors import PlanError

    if text is None:
        return None
    try:
        value = float(text.replace(",", ".")) if isinstance(text, str) else float(text)
    except ValueError:
        raise PlanError(f"{name} must be a number", where=name, got=repr(text),
                        fix="e.g. 0.5 (use a point or comma as decimal separator)") from None
    if integer and not value.is_integer():
        raise PlanError(f"{name} must be a whole number", where=name, got=repr(text),
                        fix="e.g. 5250")
    return value


def _what_if_arg(text: str) -> dict[str, Any]:
    """``NAME:p=0.5,deff=1.5,rr=0.3[,N=30000][,elig=0.9][,n=750]`` -> keyword arguments."""
    from sid.errors import PlanError

    name, sep, rest = text.partition(":")
    keys = {"p": "p", "deff": "deff", "rr": "response_rate", "n": "n_planned", "N": "population",
            "elig": "eligibility_rate"}
    out: dict[str, Any] = {"name": name.strip()}
    for part in filter(None, (p.strip() for p in rest.split(","))):
        key, eq, value = part.partition("=")
        if not eq or key.strip() not in keys:
            raise PlanError(f"cannot read {part!r}", where="--what-if", got=repr(text),
                            fix="write NAME:p=0.5,deff=1.5,rr=0.3[,N=30000][,elig=0.9][,n=750]")
        num = _number(value.strip(), f"--what-if {key.strip()}")
        out[keys[key.strip()]] = int(num) if key.strip() == "n" else num
    if not sep or not out["name"] or "response_rate" not in out:
        raise PlanError("a what-if group needs a name and rr (its assumed response rate)",
                        where="--what-if", got=repr(text), fix="e.g. --what-if 'Syrisch:p=0.5,deff=1.5,rr=0.3'")
    return out


@main.command("plan")
@click.argument("wave", required=False, type=click.Path(path_type=Path))
@click.option("--spec", "spec_file", type=click.Path(path_type=Path), default=None,
              help="Table spec (YAML) whose indicators the plan must serve.")
@click.option("--gross", "gross_file", type=click.Path(path_type=Path), default=None,
              help="Gross sample file of the wave (response per drawn person).")
@click.option("--margins", "margins_file", type=click.Path(path_type=Path), default=None,
              help="Long population margins CSV (group populations).")
@click.option("--codebook", "codebook_file", type=click.Path(path_type=Path), default=None,
              help="Codebook (default: the shipped sid/data/sid.yaml).")
@click.option("--wave-id", default=None, help="Codebook wave of WAVE (default: from its name).")
@click.option("--weight-var", default="final_wt", show_default=True,
              help="Weight column of WAVE (the output of sid weight).")
@click.option("--group", default="herkomst", show_default=True,
              help="Harmonised origin variable the plan is made for.")
@click.option("--gross-group", default=None,
              help="Group column in the gross file (default: the codebook's source of --group).")
@click.option("--respondent", default="respons", show_default=True,
              help="Response column of the gross file (1 respondent, 0 not).")
@click.option("--eligible", default=None, help="Eligibility column of the gross file (1/0), if any.")
@click.option("--margins-group", default=None,
              help="Group column of the margins (default: --group).")
@click.option("--ref-date", default=None, help="Reference date in the margins (default: latest).")
@click.option("--reference", default="1", show_default=True,
              help="Code of the reference group for --power/--delta.")
@click.option("--budget", default=None, help="Total net interviews to allocate (default: as now).")
@click.option("--what-if", "what_ifs", multiple=True,
              help="A group not yet surveyed: NAME:p=0.5,deff=1.5,rr=0.3[,N=..][,elig=..][,n=..].")
@click.option("--out", "out_file", type=click.Path(path_type=Path), default=None,
              help="The planning book (.xlsx).")
@click.option("--p", "p_text", default=None, help="Calculator: the expected proportion.")
@click.option("--p2", "p2_text", default=None, help="Calculator: the proportion in the other group.")
@click.option("--moe", "moe_text", default=None, help="Margin of error, e.g. 0.03 (book default 0.03).")
@click.option("--deff", "deff_text", default=None, help="Calculator: design effect (default 1).")
@click.option("--population", "population_text", default=None,
              help="Calculator: population of the group (finite-population correction).")
@click.option("--response-rate", "rr_text", default=None, help="Calculator: response rate.")
@click.option("--conf-level", "conf_text", default="0.95", show_default=True)
@click.option("--power", "power_text", default=None, help="Power (default 0.8).")
@click.option("--delta", "delta_text", default=None,
              help="Book: difference to detect from the reference group (default 0.05).")
@click.option("--alpha", "alpha_text", default="0.05", show_default=True,
              help="Two-sided significance level of the test.")
@click.option("--format", "fmt", type=click.Choice(["table", "csv"]), default="table",
              show_default=True, help="Calculator output.")
def plan(wave: Path | None, spec_file: Path | None, gross_file: Path | None,
         margins_file: Path | None, codebook_file: Path | None, wave_id: str | None,
         weight_var: str, group: str, gross_group: str | None, respondent: str,
         eligible: str | None, margins_group: str | None, ref_date: str | None, reference: str,
         budget: str | None, what_ifs: tuple[str, ...], out_file: Path | None, p_text: str | None,
         p2_text: str | None, moe_text: str | None, deff_text: str | None,
         population_text: str | None, rr_text: str | None, conf_text: str,
         power_text: str | None, delta_text: str | None, alpha_text: str, fmt: str) -> None:
    """Plan the next wave: interviews per origin group for the precision the tables need.

    With WAVE (a weighted wave): write the Dutch planning book. Without: the
    calculator for one proportion (--p --moe) or one difference (--p --p2).
    """
    from sid.errors import PlanError

    conf = _number(conf_text, "conf-level")
    alpha = _number(alpha_text, "alpha")
    if wave is None:
        if p_text is None:
            raise PlanError("give a weighted WAVE for the planning book, or --p for the calculator",
                            where="sid plan", fix="e.g. sid plan --p 0.5 --moe 0.03")
        book_only = {"--spec": spec_file, "--gross": gross_file, "--margins": margins_file,
                     "--out": out_file, "--budget": budget, "--delta": delta_text}
        given = [k for k, v in book_only.items() if v is not None] + (["--what-if"] if what_ifs else [])
        if given:
            raise PlanError(f"{', '.join(given)} belong to the planning book, which needs a WAVE",
                            where="sid plan", fix="give the weighted wave, or drop these options")
        _calculator(p_text, p2_text, moe_text, deff_text, population_text, rr_text, conf,
                    power_text, alpha, fmt)
        return
    if p_text is not None or p2_text is not None:
        raise PlanError("--p and --p2 are for the calculator, not with a WAVE", where="sid plan",
                        fix="drop WAVE for the calculator, or drop --p/--p2 for the planning book")
    run_book(wave=wave, spec_file=spec_file, gross_file=gross_file, margins_file=margins_file,
             codebook_file=codebook_file, wave_id=wave_id, weight_var=weight_var, group=group,
             gross_group=gross_group, respondent=respondent, eligible=eligible,
             margins_group=margins_group, ref_date=ref_date,
             reference=_number(reference, "reference"),
             budget=_number(budget, "budget", integer=True),
             what_ifs=[_what_if_arg(t) for t in what_ifs], out_file=out_file,
             moe=_number(moe_text, "moe") if moe_text is not None else 0.03, conf=conf,
             power=_number(power_text, "power"), delta=_number(delta_text, "delta"), alpha=alpha)


def _calculator(p_text: str, p2_text: str | None, moe_text: str | None, deff_text: str | None,
                population_text: str | None, rr_text: str | None, conf: float,
                power_text: str | None, alpha: float, fmt: str) -> None:
    from sid.errors import PlanError
    from sid.plan.formulas import n_for_difference, n_for_moe

    p = _number(p_text, "p")
    deff = _number(deff_text, "deff") if deff_text is not None else 1.0
    if p2_text is not None:
        extra = [k for k, v in (("--moe", moe_text), ("--population", population_text),
                                ("--response-rate", rr_text)) if v is not None]
        if extra:
            raise PlanError(f"{', '.join(extra)} do not apply to a difference (--p2)",
                            where="sid plan", fix="drop them, or drop --p2 for a margin of error")
        power = _number(power_text, "power") if power_text is not None else 0.8
        res = n_for_difference(p, _number(p2_text, "p2"), power, alpha, deff)
        if fmt == "csv":
            click.echo(f"n_net\n{res.n_net}")
            return
        click.echo(f"p = {res.p1:g} tegenover p2 = {res.p2:g}, power {res.power:g}, "
                   f"alpha {res.alpha:g} (tweezijdig), deff {res.deff:g}")
        click.echo(f"  n per groep (power.prop.test)   {res.n_ppt:.4f}")
        click.echo(f"  netto n per groep (x deff, naar boven afgerond)   {res.n_net}")
        return
    if moe_text is None:
        raise PlanError("give --moe (the margin of error) or --p2 (a second proportion)",
                        where="sid plan", fix="e.g. sid plan --p 0.5 --moe 0.03")
    if power_text is not None:
        raise PlanError("--power applies to a difference: give --p2 too", where="--power",
                        fix="e.g. sid plan --p 0.3 --p2 0.35 --power 0.8")
    res_moe = n_for_moe(p, _number(moe_text, "moe"), deff,
                    _number(population_text, "population"),
                    _number(rr_text, "response-rate"), conf)
    if fmt == "csv":
        click.echo(f"n_net,n_gross\n{res_moe.n_net},{'' if res_moe.n_gross is None else res_moe.n_gross}")
        return
    pop = f", populatie {res_moe.population:g}" if res_moe.population is not None else ""
    click.echo(f"p = {res_moe.p:g}, foutenmarge ±{res_moe.moe * 100:g} procentpunt, "
               f"{res_moe.conf_level * 100:g}%-betrouwbaarheid, deff {res_moe.deff:g}{pop}")
    click.echo(f"  n0 = deff z² p(1-p) / e²   {res_moe.n0:.4f}")
    if res_moe.population is not None:
        click.echo(f"  n met eindigepopulatiecorrectie   {res_moe.n:.4f}")
    click.echo(f"  netto n (interviews)   {res_moe.n_net}")
    if res_moe.n_gross is not None:
        click.echo(f"  bruto n (responsgraad {res_moe.response_rate:g})   {res_moe.n_gross}")


def _wave_id(cb: Any, wave: Path, wave_id: str | None) -> str:
    """The codebook wave of WAVE: --wave-id, the codebook's file pattern, or a wave id in the name."""
    from sid.errors import InputError

    if wave_id is not None:
        cb.wave(wave_id)
        return str(wave_id)
    try:
        return str(cb.wave_for_file(wave))
    except SidError:
        hits = [str(w) for w in cb.waves if str(w) in wave.stem]
        if len(hits) == 1:
            return hits[0]
        raise InputError("cannot tell which codebook wave the file is", where=str(wave),
                         got=", ".join(hits) or "no wave id in the name",
                         fix="give --wave-id, e.g. --wave-id 2022") from None


def run_book(*, wave: Path, spec_file: Path | None, gross_file: Path | None,
             margins_file: Path | None, codebook_file: Path | None, wave_id: str | None,
             weight_var: str, group: str, gross_group: str | None, respondent: str,
             eligible: str | None, margins_group: str | None, ref_date: str | None,
             reference: float | None, budget: float | None, what_ifs: list[dict[str, Any]],
             out_file: Path | None, moe: float, conf: float | None, power: float | None,
             delta: float | None, alpha: float | None) -> Path:
    """Read the inputs, compute the plan (:mod:`sid.plan`) and write the planning book."""
    import shlex
    from dataclasses import replace

    import numpy as np
    import pandas as pd

    from sid import __version__
    from sid.codebook import load_codebook
    from sid.errors import CodebookError, InputError, PlanError
    from sid.export.plan_book import PlanBook, write_plan_book
    from sid.harmonise import load
    from sid.io import read_wave
    from sid.plan.allocation import allocate, half_width_curve
    from sid.plan.formulas import check_moe, check_unit, z_value
    from sid.plan.gross import check_groups, group_populations, response_rates
    from sid.plan.indicators import indicators_from_spec
    from sid.plan.precision import achieved_precision
    from sid.plan.targets import group_deff, requirements, summary
    from sid.plan.whatif import what_if
    from sid.resources import DATA_DIR
    from sid.tables import check_spec, read_spec, stacked_design

    needed = {"--spec": spec_file, "--gross": gross_file, "--margins": margins_file,
              "--out": out_file}
    absent = [k for k, v in needed.items() if v is None]
    if absent:
        raise PlanError(f"the planning book needs {', '.join(absent)}", where="sid plan",
                        fix="sid plan WAVE --spec TABLESPEC --gross GROSS --margins MARGINS "
                            "--out plan.xlsx")
    assert spec_file and gross_file and margins_file and out_file
    moe = check_moe(moe)
    conf = check_unit(conf if conf is not None else 0.95, "conf-level")
    z_value(conf)
    if power is not None or delta is not None:
        power = check_unit(power if power is not None else 0.8, "power")
        delta = delta if delta is not None else 0.05
        if not 0 < delta < 1:
            raise PlanError("the difference to detect must lie between 0 and 1 (a proportion)",
                            where="delta", got=f"{delta:g}", fix="e.g. --delta 0.05 for 5 points")
        alpha = check_unit(alpha if alpha is not None else 0.05, "alpha")
    codebook_file = codebook_file or DATA_DIR / "sid.yaml"
    inputs = [("gewogen golf", wave), ("tabellenset", spec_file), ("bruto steekproef", gross_file),
              ("populatiemarges", margins_file), ("codeboek", codebook_file)]
    missing = [str(p) for _, p in inputs if not Path(p).is_file()]
    if missing:
        raise InputError("input file(s) not found", got=", ".join(missing),
                         fix="give existing files")
    # --out over an input is refused by the output guard (sid.cli.app.guard_outputs)
    if out_file.suffix.lower() != ".xlsx":
        raise InputError("the planning book is an Excel file", where=str(out_file),
                         fix="give --out plan.xlsx")

    cb = load_codebook(codebook_file)
    wid = _wave_id(cb, wave, wave_id)
    data = load({wid: wave}, cb)
    raw = read_wave(wave)
    if weight_var not in raw.data.columns:
        raise InputError(f"weight column {weight_var!r} is not in the wave", where=str(wave),
                         fix="give the output of sid weight, or --weight-var NAME")
    book = read_spec(spec_file)
    problems = [p for p in check_spec(book, cb) if ".waves" not in p]
    if problems:
        raise CodebookError(f"{len(problems)} problem(s) in the table spec against the codebook",
                            where=str(spec_file), problems=tuple(problems),
                            fix="use the codebook's harmonised names and codes")
    frame, indicators = indicators_from_spec(book.tables, data)
    frame = frame.assign(_plan_weight=raw.data[weight_var].to_numpy(dtype=float))
    data = replace(data, data=frame)
    design = stacked_design(data, weight="_plan_weight")
    precision = achieved_precision(design, indicators, group, conf_level=conf)

    gross = read_wave(gross_file).data
    gcol = gross_group or cb.source(group, wid) or group
    rates = response_rates(gross, gcol, respondent, eligible, where=str(gross_file))
    margins = pd.read_csv(margins_file)
    pops = group_populations(margins, margins_group or group, ref_date=ref_date,
                             where=str(margins_file))
    labels = {float(k): v for k, v in cb.value_labels(group).items()}
    groups = sorted(precision["group"].unique())
    check_groups(groups, rates, pops, labels)
    if power is not None and reference is not None and float(reference) not in groups:
        raise PlanError(f"reference group {reference:g} is not in the wave", where="--reference",
                        got=", ".join(f"{g:g}" for g in groups), fix="give the code of a group")
    req = requirements(precision, pops, rates, moe=moe, conf_level=conf, power=power, delta=delta,
                       alpha=alpha if alpha is not None else 0.05, reference=reference)
    summ = summary(req, precision, pops, rates)
    deffs = group_deff(precision)
    rr = rates.set_index("group")["response_rate"]
    gtable = pd.DataFrame({"group": groups, "p": 0.5,
                           "deff": [float(deffs.get(g, 1.0)) for g in groups],
                           "population": [float(pops.loc[g]) for g in groups],
                           "response_rate": [float(rr.loc[g]) for g in groups]})
    n_now = int(precision.groupby("group")["n_group"].first().sum())
    total = int(budget) if budget is not None else n_now
    alloc = allocate(gtable, total, moe=moe, conf_level=conf)
    top = max(3000, int(alloc["n_net"].max()) if len(alloc) else 3000)
    sizes = sorted(set(np.unique(np.geomspace(50, top, 40).round(-1).astype(int)).tolist()))
    curve = half_width_curve(gtable, sizes, conf_level=conf)
    wis = tuple(what_if(moe=moe, conf_level=conf, **w) for w in what_ifs)
    settings = [("golf", wid), ("herkomstvariabele", group), ("gewicht", weight_var),
                ("foutenmarge", f"±{moe * 100:g} procentpunt"),
                ("betrouwbaarheid", f"{conf * 100:g}%"),
                ("budget (netto interviews)", f"{total}" + (" (zoals nu)" if budget is None else ""))]
    if power is not None and delta is not None and reference is not None:
        settings += [("power", f"{power:g}"), ("alpha (tweezijdig)", f"{alpha:g}"),
                     ("verschil", f"{delta * 100:g} procentpunt"),
                     ("referentiegroep", labels.get(float(reference), f"{reference:g}"))]
    ref_label = labels.get(float(reference)) if reference is not None else None
    plan_book = PlanBook(
        title=f"Steekproefplanning na golf {wid}: interviews per herkomstgroep",
        precision=precision, requirements=req, summary=summ, allocation=alloc, curve=curve,
        group_labels=labels, settings=tuple(settings),
        inputs=tuple((role, str(p)) for role, p in inputs),
        command="sid " + " ".join(shlex.quote(a) for a in sys.argv[1:]),
        version=__version__, moe=moe, conf_level=conf, what_ifs=wis, reference_label=ref_label)
    path = write_plan_book(plan_book, out_file)
    moe_rows = summ[summ["target"] == "moe"]
    click.echo(f"{len(indicators)} indicatoren, {len(groups)} herkomstgroepen, "
               f"{n_now} interviews in golf {wid}")
    for r in moe_rows.itertuples():
        click.echo(f"  {labels.get(r.group, f'{r.group:g}'):<12} nu {r.n_now:>5}  "
                   f"netto (p = 50%) {r.n_net_p50:>6}  bruto {r.n_gross_p50:>6}  "
                   f"strengste indicator {r.n_net_max:>6} ({r.binding_indicator})")
    click.echo(f"wrote {path}")
    return path
