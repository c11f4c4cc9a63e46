"""The ``sid`` command line.

Each command imports what it needs inside its body, so ``sid --help`` starts
fast. Every :class:`sid.errors.SidError` becomes one line on stderr and exit
code 2, never a traceback.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from sid import __version__
from sid.resources import DATA_DIR as CODEBOOKS


class SidGroup(click.Group):
    """A click group that turns SidError into one clear line and exit code 2."""

    def invoke(self, ctx: click.Context):  # type: ignore[override]
        from sid.errors import SidError

        try:
            return super().invoke(ctx)
        except SidError as exc:
            click.echo(f"error: {exc.line()}", err=True)
            sys.exit(2)


@click.group(cls=SidGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="sid")
def main() -> None:
    """Samenleven in Diversiteit toolkit: waves, codebooks, weighting, estimates, tables."""


# --------------------------------------------------------------------------- io


@main.command()
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
@click.option("--encoding", default=None, help="Text encoding of the file (e.g. windows-1252).")
def info(file: Path, as_json: bool, encoding: str | None) -> None:
    """Describe a wave file: rows, columns, labels, value labels and missing codes."""
    from sid.io import scan_wave

    meta = scan_wave(file, encoding=encoding)
    rows = [
        {
            "name": v.name,
            "label": v.label,
            "type": v.kind,
            "format": v.format,
            "n_value_labels": len(v.value_labels),
            "missing_codes": v.missing.describe(),
        }
        for v in meta.variables
    ]
    if as_json:
        payload = {
            "file": str(file),
            "format": meta.file_format,
            "encoding": meta.encoding,
            "rows": meta.n_rows,
            "columns": len(meta.variables),
            "file_label": meta.file_label,
            "sha256": meta.sha256,
            "mr_sets": {k: dict(v) for k, v in meta.mr_sets.items()},
            "variables": rows,
        }
        click.echo(json.dumps(payload, ensure_ascii=False, indent=2))
        return
    click.echo(f"{file}: {meta.file_format}, {meta.n_rows} rows, {len(rows)} columns, "
               f"encoding {meta.encoding or 'unknown'}")
    if meta.file_label:
        click.echo(f"label: {meta.file_label}")
    width = max((len(r["name"]) for r in rows), default=4)
    click.echo(f"{'name':<{width}}  {'type':<8} {'labels':>6}  {'missing':<18} label")
    for r in rows:
        click.echo(f"{r['name']:<{width}}  {r['type']:<8} {r['n_value_labels']:>6}  "
                   f"{r['missing_codes'] or '-':<18} {r['label'] or ''}")
    for name, spec in meta.mr_sets.items():
        click.echo(f"multiple-response set {name}: {', '.join(spec.get('variable_list', []))}")


# --- codebook and validation (sid/codebook.py, sid/harmonise.py, sid/validate.py)


@main.command()
@click.argument("files", nargs=-1, required=True)
@click.option("--codebook", "-c", "codebook", required=True, type=click.Path(path_type=Path),
              help="Codebook YAML (e.g. sid/data/sid.yaml).")
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
@click.option("--no-origin", is_flag=True, help="Skip the frame-versus-origin check.")
def validate(files: tuple[str, ...], codebook: Path, as_json: bool, no_origin: bool) -> None:
    """Check wave FILES against a codebook; all problems in one table.

    FILES are matched to waves by the codebook's file patterns, or given as
    WAVE=FILE. Exit code 1 when there is any error, 0 otherwise.
    """
    from sid.validate import format_table
    from sid.validate import validate as run_validate

    result = run_validate(list(files), codebook, origin=not no_origin)
    if as_json:
        payload = {"ok": result.ok, "errors": result.n_errors, "warnings": result.n_warnings,
                   "files": dict(result.files), "problems": result.to_records()}
        click.echo(json.dumps(payload, ensure_ascii=False, indent=2))
    else:
        click.echo(format_table(result))
    sys.exit(0 if result.ok else 1)


@main.group(cls=SidGroup)
def codebook() -> None:
    """Codebook tools: a skeleton from a file, a readable export."""


@codebook.command("init")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--wave", "wave_id", default=None, help="Wave id (default: the year in the file name).")
@click.option("--encoding", default=None, help="Text encoding of the file.")
def codebook_init(file: Path, wave_id: str | None, encoding: str | None) -> None:
    """Print a codebook skeleton (YAML) made from FILE's metadata."""
    from sid.io import scan_wave
    from sid.validate import codebook_skeleton

    click.echo(codebook_skeleton(scan_wave(file, encoding=encoding), wave_id), nl=False)


@codebook.command("export")
@click.argument("codebook_file", type=click.Path(path_type=Path))
@click.option("--out", "out", required=True, type=click.Path(path_type=Path),
              help="Output file: .xlsx or .md.")
def codebook_export(codebook_file: Path, out: Path) -> None:
    """Write CODEBOOK_FILE as a readable .xlsx or .md codebook."""
    from sid.validate import export_codebook

    path = export_codebook(codebook_file, out)
    click.echo(f"wrote {path}")


# --- weighting (sid/weighting.py)


@main.command()
@click.argument("wave_file", type=click.Path(path_type=Path))
@click.option("--spec", "spec_file", required=True, type=click.Path(path_type=Path),
              help="YAML weighting spec (docs/weighting.md).")
@click.option("--gross", "gross_file", type=click.Path(path_type=Path), default=None,
              help="Gross sample (respondents and nonrespondents) for the nonresponse step.")
@click.option("--margins", "margins_file", type=click.Path(path_type=Path), default=None,
              help="Long population margins CSV (overrides margins.source in the spec).")
@click.option("--out", "out_file", required=True, type=click.Path(path_type=Path),
              help="Output wave (.sav/.zsav/.dta) with the final weight added.")
@click.option("--report", "report_file", type=click.Path(path_type=Path), default=None,
              help="Excel weighting report (a Markdown summary is written beside it).")
def weight(wave_file: Path, spec_file: Path, gross_file: Path | None, margins_file: Path | None,
           out_file: Path, report_file: Path | None) -> None:
    """Weight WAVE_FILE as the spec says and write it with the final weight added."""
    from dataclasses import replace as _replace

    import pandas as pd

    from sid.errors import InputError
    from sid.io import VariableMeta, read_wave, write_wave
    from sid.weighting import load_spec, run_spec, write_report

    spec = load_spec(spec_file)
    wave = read_wave(wave_file)
    gross = read_wave(gross_file).data if gross_file is not None else None
    if margins_file is None:
        src = (spec.get("margins") or {}).get("source")
        margins_file = (spec_file.parent / src) if src else None
    if margins_file is None or not Path(margins_file).exists():
        raise InputError("population margins file not found", where=str(margins_file),
                         fix="pass --margins population_margins.csv")
    table = pd.read_csv(margins_file)
    missing = {v.name: wave.user_missing_mask(v.name) for v in wave.meta.variables if v.missing}
    reported: list[int] = []

    def progress(done: int, total: int) -> None:
        tenth = done * 10 // total  # one line per 10% done
        if tenth > (reported[-1] if reported else 0):
            reported.append(tenth)
            click.echo(f"replicaatgewichten: {done}/{total} ({100 * done // total}%)", err=True)

    chain = run_spec(spec, wave.data, gross=gross, margins_table=table, missing=missing,
                     progress=progress)
    name = chain.weights.name
    new_cols = {name: chain.weights.to_numpy()}
    label = f"Eindgewicht ({spec.get('name', 'weging')})"
    new_meta = [VariableMeta(name=name, label=label, kind="numeric", format="F12.4",
                             measure="scale")]
    if chain.replicates is not None:
        reps = chain.replicates
        prefix = str((spec.get("replicates") or {}).get("prefix", "repw_"))
        for k, col in enumerate(reps.names(prefix)):
            new_cols[col] = reps.weights[:, k]
            new_meta.append(VariableMeta(
                name=col, label=f"Replicaatgewicht {k + 1} ({reps.method}, scale {reps.scale:.6g})",
                kind="numeric", format="F12.4", measure="scale"))
    clash = [c for c in new_cols if c in wave.data.columns]
    if clash:
        raise InputError(f"the wave already has column(s) {', '.join(map(repr, clash))}",
                         where=str(wave_file),
                         fix="set output.weight (or replicates.prefix) in the spec to a new name")
    data = wave.data.assign(**new_cols)
    meta = _replace(wave.meta, n_rows=len(data), sha256=None, path=None,
                    variables=wave.meta.variables + tuple(new_meta))
    out_wave = _replace(wave, data=data, meta=meta)
    write_wave(out_wave, out_file)
    for label, rec in chain.steps:
        click.echo(f"{label:<15} {rec.method:<12} iterations {rec.iterations:>3}  "
                   f"max gap {rec.max_gap:.2g}  ESS {rec.after.ess:.1f}  deff_w {rec.after.deff_w:.3f}")
    click.echo(f"wrote {out_file} ({len(data)} rows, weight {name}, sum {chain.weights.sum():.6g})")
    if chain.replicates is not None:
        reps = chain.replicates
        click.echo(f"replicate weights: {reps.replicates} x {reps.method} (scale {reps.scale:.6g}, "
                   f"mse {reps.mse}); use Design(repweights='^{prefix}[0-9]+$', "
                   f"repmethod='{reps.method}', scale=..., rscales=...)")
        for note in reps.notes:
            click.echo(f"note: {note}", err=True)
    if report_file is not None:
        mspec = spec.get("margins") or {}
        within = mspec.get("within")
        column = (mspec.get("variables") or {}).get(within, within) if isinstance(within, str) else None
        labels = (dict(wave.meta.variable(column).value_labels)
                  if isinstance(column, str) and column in wave.meta.columns else None)
        xlsx, md = write_report(chain, report_file, labels)
        click.echo(f"wrote {xlsx} and {md}")


# --- origin (sid/origin.py)


@main.command()
@click.argument("data", type=click.Path(path_type=Path))
@click.option("--rule", "-r", default="vl2013", show_default=True,
              help="Rule set name (vl2013, statbel2021, vesoc2014) or a YAML path.")
@click.option("--ref-date", default="2022-01-01", show_default=True,
              help="Reference date for EU membership (YYYY-MM-DD).")
@click.option("--fields", "fields_text", default=None,
              help="Role=column pairs, e.g. current=nat_huidig,first=nat_eerste,father=nat_vader,"
                   "mother=nat_moeder[,birth=geboorteland]. Default: the SID names.")
@click.option("--param", "param_texts", multiple=True,
              help="Rule-set parameter NAME=VALUE, e.g. priority=self,father,mother.")
@click.option("--on-unknown", type=click.Choice(["error", "fallback", "missing"]), default="error",
              show_default=True, help="What to do with codes not in the country table.")
@click.option("--id", "id_col", default=None, help="Identifier column copied to the output.")
@click.option("--out", "-o", "out", type=click.Path(path_type=Path), default=None,
              help="Write one row per respondent to this CSV; else print a summary.")
@click.option("--encoding", default=None, help="Text encoding of DATA.")
def origin(data: Path, rule: str, ref_date: str, fields_text: str | None,
           param_texts: tuple[str, ...], on_unknown: str, id_col: str | None, out: Path | None,
           encoding: str | None) -> None:
    """Derive origin (herkomst) for every row of DATA (.sav, .dta or .csv) under a rule set."""
    from sid.errors import InputError
    from sid.origin import DEFAULT_FIELDS, classify, read_origin_input, write_csv_atomic

    def pairs(text: str, where: str) -> dict[str, str]:
        out_: dict[str, str] = {}
        for part in filter(None, (p.strip() for p in text.split(","))):
            key, sep, value = part.partition("=")
            if not sep or not key.strip() or not value.strip():
                raise InputError(f"expected NAME=VALUE, got {part!r}", where=where,
                                 fix="e.g. --fields current=nat_huidig,father=nat_vader")
            out_[key.strip()] = value.strip()
        return out_

    fields = {**DEFAULT_FIELDS, **pairs(fields_text or "", "--fields")}
    params: dict[str, str] = {}
    for text in param_texts:
        key, sep, value = text.partition("=")
        if not sep or not key.strip():
            raise InputError(f"expected NAME=VALUE, got {text!r}", where="--param",
                             fix="e.g. --param priority=self,father,mother")
        params[key.strip()] = value
    columns = [*fields.values(), *([id_col] if id_col else [])]
    frame = read_origin_input(data, columns, encoding=encoding)
    result = classify(frame, rule=rule, ref_date=ref_date, fields=fields, params=params,
                      on_unknown=on_unknown)
    if out is not None:
        table = result.reset_index(drop=True)
        if id_col:
            table.insert(0, id_col, frame[id_col].to_numpy())
        write_csv_atomic(table, out)
        click.echo(f"wrote {out} ({len(table)} rows, rule {rule}, ref date {ref_date})")
        return
    click.echo(f"{data}: {len(result)} rows, rule {rule}, ref date {ref_date}")
    counts = result.groupby(["category", "origin_group"], observed=True).size()
    for (category, group), n in counts.items():
        click.echo(f"  {category:<34} {group:<12} {n:>8}")
    decided = result["decided_by"].value_counts(sort=False)
    click.echo("decided by: " + ", ".join(f"{k} {v}" for k, v in decided.items() if v))


# --- synthetic data (sid/synthetic.py)


@main.command()
@click.option("--out", "out", required=True, type=click.Path(path_type=Path),
              help="Folder to write the synthetic files into (created if absent).")
@click.option("--seed", default=20260101, show_default=True, type=int, help="Random seed.")
def synth(out: Path, seed: int) -> None:
    """Write the synthetic SID population margins, gross samples, waves and truth."""
    from sid.synthetic import synthesise

    result = synthesise(out, seed=seed)
    for name, path in result.paths.items():
        rows = result.rows.get(name)
        size = result.bytes[name] / 1e6
        click.echo(f"{path}  {'' if rows is None else f'{rows} rows, '}{size:.2f} MB")
    click.echo(f"seed {seed}, {result.seconds['total']:.1f} s")


@main.command()
@click.option("--out", "out", required=True, type=click.Path(path_type=Path),
              help="Folder for the demo files (created if absent).")
@click.option("--seed", default=20260101, show_default=True, type=int, help="Random seed.")
def demo(out: Path, seed: int) -> None:
    """Run the whole pipeline on synthetic SID data into OUT.

    Synthesise the population and the 2017 and 2022 waves, validate them
    against the shipped codebook, weight both waves (with weighting reports),
    and write the Dutch table book with a forest plot per table.
    """
    import time

    from sid.errors import CodebookError
    from sid.synthetic import summarise_waves, synthesise
    from sid.validate import format_table
    from sid.validate import validate as run_validate

    ctx = click.get_current_context()
    start = time.perf_counter()
    out = Path(out)
    data_dir = out / "data"

    def step(number: int, text: str) -> None:
        click.echo(f"\n[{number}/4] {text} ({time.perf_counter() - start:.1f} s)")

    step(1, f"synthetic SID population and waves -> {data_dir}")
    synthesise(data_dir, seed=seed)
    click.echo(summarise_waves(data_dir))

    codebook_file = CODEBOOKS / "sid.yaml"
    waves = {year: data_dir / f"sid{year}.sav" for year in (2017, 2022)}
    step(2, "validate the waves against the shipped codebook (sid/data/sid.yaml)")
    checked = run_validate([str(p) for p in waves.values()], codebook_file, origin=True)
    click.echo(format_table(checked))
    if not checked.ok:
        raise CodebookError(f"validation found {checked.n_errors} error(s); the demo stops here",
                            where=str(codebook_file), fix="see the table above")

    step(3, "weight both waves: design weights, nonresponse, raking within origin groups, trimming")
    weighted = {}
    for year, wave_file in waves.items():
        weighted[year] = out / f"sid{year}_gewogen.sav"
        ctx.invoke(weight, wave_file=wave_file, spec_file=CODEBOOKS / "weighting" / f"sid{year}.yaml",
                   gross_file=data_dir / f"sid{year}_gross.sav",
                   margins_file=data_dir / "population_margins.csv", out_file=weighted[year],
                   report_file=out / f"weegrapport_{year}.xlsx")

    book = out / "sid_kerntabellen.xlsx"
    step(4, f"table book (nl) with forest plots -> {book}")
    ctx.invoke(tables, spec_file=CODEBOOKS / "tables" / "sid_kerntabellen.yaml",
               data_files=tuple(f"{y}={p}" for y, p in waves.items()),
               codebook_file=codebook_file,
               weight_files=tuple(f"{y}={p}" for y, p in weighted.items()),
               weight_var="final_wt", out=book, lang="nl", plots_dir=out / "figuren",
               fmt="xlsx", no_chart=False, skip_missing_waves=False)

    click.echo(f"\ndone in {time.perf_counter() - start:.1f} s. Outputs in {out}/:")
    click.echo(f"  {book.name:<28} the table book for policy answers (open in Excel/LibreOffice)")
    click.echo(f"  {'figuren/':<28} a forest plot per table (PNG)")
    for year in waves:
        click.echo(f"  {weighted[year].name:<28} weighted {year} wave (final_wt), "
                   f"report weegrapport_{year}.xlsx/.md")
    click.echo(f"  {'data/':<28} synthetic waves, gross samples, margins, truth.json")


# --- survey design options shared by estimate and crosstab


_DESIGN_OPTIONS = (
    click.option("--codebook", "codebook_file", type=click.Path(path_type=Path), default=None,
                 help="Take the design variables from this codebook."),
    click.option("--wave", "wave_id", default=None, help="Codebook wave whose design to use."),
    click.option("--design", "design_file", type=click.Path(path_type=Path), default=None,
                 help="Design YAML with the keys of Design(...): weight, strata, psu, fpc, ..."),
    click.option("--weight", default=None, help="Weight column."),
    click.option("--strata", default=None, help="Strata column."),
    click.option("--psu", default=None, help="Primary sampling unit (cluster) column."),
    click.option("--fpc", default=None,
                 help="First-stage fpc column (population count or fraction)."),
    click.option("--psu2", default=None, help="Second-stage unit column."),
    click.option("--fpc2", default=None, help="Second-stage fpc column."),
    click.option("--repweights", default=None, help="Regular expression selecting replicate weights."),
    click.option("--repmethod", type=click.Choice(["brr", "fay", "jk1", "jkn", "bootstrap"]),
                 default=None, help="Replicate method."),
    click.option("--rho", type=float, default=None, help="Fay's rho."),
    click.option("--scale", type=float, default=None, help="Replicate variance scale."),
    click.option("--rscales", "rscales_file", type=click.Path(path_type=Path), default=None,
                 help="CSV with one column: the rscale of each replicate."),
    click.option("--mse", is_flag=True, default=None,
                 help="Centre replicates on the full estimate."),
    click.option("--singleton", type=click.Choice(["fail", "adjust", "average", "remove",
                                                   "certainty"]),
                 default=None, help="Strata with one PSU (R's survey.lonely.psu). Default fail."),
)


def design_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Add the survey design options (the keys of ``Design(...)``) to a command."""
    for option in reversed(_DESIGN_OPTIONS):
        command = option(command)
    return command


def design_from_options(wave: Any, command: str, *, codebook_file: Path | None,
                        wave_id: str | None, design_file: Path | None,
                        rscales_file: Path | None, **flags: Any) -> Any:
    """The Design that --codebook / --design FILE / --weight, --strata, ... describe.

    Flags override the design file; with --codebook the codebook's design
    variables are the base.
    """
    import pandas as pd
    import yaml

    from sid.design import Design
    from sid.errors import DesignError, InputError

    def read_rscales(path: Path) -> list[float]:
        if not path.exists():
            raise InputError("rscales file not found", where=str(path),
                             fix="give a CSV with one column of numbers")
        return pd.read_csv(path).iloc[:, 0].astype(float).tolist()

    spec: dict = {}
    if design_file is not None:
        design_file = Path(design_file)
        if not design_file.exists():
            raise InputError("design file not found", where=str(design_file),
                             fix="give a YAML file with weight:, strata:, psu:, ...")
        try:
            loaded = yaml.safe_load(design_file.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            raise DesignError(f"design file is not valid YAML: {exc}".replace("\n", " "),
                              where=str(design_file), fix="fix the YAML syntax") from None
        if not isinstance(loaded, dict):
            raise DesignError("design file must be a mapping", where=str(design_file),
                              fix="write keys such as weight: base_wt")
        spec.update(loaded.get("design", loaded))
        if isinstance(spec.get("rscales"), str):
            spec["rscales"] = read_rscales(design_file.parent / spec["rscales"])
    flags["mse"] = flags.get("mse") or None
    spec.update({k: v for k, v in flags.items() if v is not None})
    if rscales_file is not None:
        spec["rscales"] = read_rscales(Path(rscales_file))
    if codebook_file is not None:
        from sid.codebook import load_codebook

        return Design.from_codebook(wave, load_codebook(codebook_file), wave=wave_id, **spec)
    if not spec:
        raise DesignError("no design given", where=command,
                          fix="give --weight (and --strata/--psu/...), --design FILE or "
                              "--codebook FILE")
    return Design.from_mapping(wave, spec)


# --- estimation (sid/design.py, sid/variance.py, sid/estimate.py)


@main.command()
@click.argument("data", type=click.Path(path_type=Path))
@design_options
@click.option("--mean", "mean_var", default=None, help="Mean of this variable.")
@click.option("--total", "total_var", default=None, help="Total of this variable.")
@click.option("--prop", "prop_var", default=None, help="Proportions of every category.")
@click.option("--ratio", "ratio_var", default=None, help="Ratio NUM/DEN.")
@click.option("--quantile", "quantile_var", default=None, help="Quantile of this variable (with --q).")
@click.option("--q", "q_values", type=float, multiple=True, help="Quantile(s), e.g. --q 0.5.")
@click.option("--by", "by_vars", multiple=True, help="Domain variable(s); repeat or comma-separate.")
@click.option("--where", "where_expr", default=None, help="Subpopulation, e.g. \"werksituatie in [1, 2]\".")
@click.option("--ci", "ci_method", type=click.Choice(["wald", "t", "logit", "xlogit", "asin", "beta"]),
              default=None, help="CI method (default t; logit for proportions).")
@click.option("--conf-level", type=float, default=0.95, show_default=True)
@click.option("--deff", is_flag=True, help="Add design effects (R's deff=TRUE).")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table",
              show_default=True)
@click.option("--out", "out_file", type=click.Path(path_type=Path), default=None,
              help="Write the result to this file (atomically) instead of stdout.")
@click.option("--encoding", default=None, help="Text encoding of DATA.")
def estimate(data: Path, mean_var: str | None, total_var: str | None,
             prop_var: str | None, ratio_var: str | None, quantile_var: str | None,
             q_values: tuple[float, ...], by_vars: tuple[str, ...], where_expr: str | None,
             ci_method: str | None, conf_level: float, deff: bool, fmt: str,
             out_file: Path | None, encoding: str | None, **design_args: Any) -> None:
    """Design-based estimate (mean, total, proportions, ratio, quantile) of DATA with SE and CI."""
    import pandas as pd

    from sid.errors import EstimationError
    from sid.estimate import estimate as run
    from sid.io import read_table

    chosen = [(k, v) for k, v in (("mean", mean_var), ("total", total_var),
                                  ("proportion", prop_var), ("ratio", ratio_var),
                                  ("quantile", quantile_var)) if v]
    if len(chosen) != 1:
        raise EstimationError(
            "give exactly one statistic", where="sid estimate",
            got=", ".join(f"--{k}" for k, _ in chosen) or "none",
            fix="use one of --mean V, --total V, --prop V, --ratio NUM/DEN, --quantile V --q Q")
    stat, var = chosen[0]
    if stat == "quantile" and not q_values:
        raise EstimationError("--quantile needs --q", where="sid estimate", fix="e.g. --q 0.5")
    wave = read_table(data, encoding=encoding)
    design = design_from_options(wave, "sid estimate", **design_args)
    by = [b.strip() for item in by_vars for b in item.split(",") if b.strip()]
    q = (list(q_values) if len(q_values) > 1 else q_values[0]) if q_values else None
    result = run(design, stat, var, by=by or None, where=where_expr, ci=ci_method,
                 conf_level=conf_level, deff=deff, q=q)
    for b in by:  # codes as R prints them (1, not 1.0)
        col = result[b]
        if pd.api.types.is_float_dtype(col) and col.notna().all() and (col % 1 == 0).all():
            result[b] = col.astype("int64")
    if fmt == "csv":
        text = result.to_csv(index=False, na_rep="NA", lineterminator="\n")
    elif fmt == "json":
        text = result.to_json(orient="records", force_ascii=False, indent=2) + "\n"
    else:
        text = _estimate_table(result, wave, by)
    if out_file is None:
        click.echo(text, nl=False)
        return
    from sid.io import write_text_atomic

    write_text_atomic(out_file, text)
    click.echo(f"wrote {out_file} ({len(result)} rows)")


def _estimate_table(result, wave, by: list[str]) -> str:  # type: ignore[no-untyped-def]
    """A readable table with Dutch headers and value labels (for the terminal)."""
    def labels_of(name: str) -> dict:
        try:
            return dict(wave.meta.variable(name).value_labels)
        except (KeyError, AttributeError, ValueError):
            return {}

    from sid.estimate import label

    rows = []
    var = result["variable"].iloc[0] if len(result) else ""
    var_labels = labels_of(var)
    for _, r in result.iterrows():
        cells = [str(labels_of(b).get(r[b], label(r[b]))) for b in by]
        cat = r["category"]
        if cat != "" and r["statistic"] == "proportion":
            code = next((k for k in var_labels if label(k) == cat), None)
            cat = f"{cat} {var_labels[code]}" if code is not None else cat
        pct = r["statistic"] == "proportion"
        f = (lambda x: f"{100 * x:.1f}%") if pct else (lambda x: f"{x:.4g}")
        rows.append([*cells, cat, f(r["estimate"]), f(r["se"]),
                     f"[{f(r['ci_low'])}, {f(r['ci_high'])}]", str(int(r["n"])),
                     str(int(r["n_missing"]))])
    level = f"{100 * result['conf_level'].iloc[0]:g}%" if len(result) else ""
    method = result["ci_method"].iloc[0] if len(result) else ""
    head = [*by, "categorie", "schatting", "se", f"{level}-BI ({method})", "n", "ontbrekend"]
    widths = [max(len(h), *(len(row[i]) for row in rows)) if rows else len(h)
              for i, h in enumerate(head)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(head, widths, strict=True))]
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in rows]
    stat = result["statistic"].iloc[0] if len(result) else ""
    return f"{stat} van {var}\n" + "\n".join(lines) + "\n"


# --- tables and crosstabs (sid/tables.py, sid/export.py)


def _atomic_text(path: Path, text: str) -> None:
    from sid.io import write_text_atomic

    Path(path).parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(path, text)


@main.command()
@click.argument("data", type=click.Path(path_type=Path))
@click.argument("row")
@click.argument("col")
@click.option("--where", "where_expr", default=None, help="Base (domain), e.g. \"werksituatie in [1, 2]\".")
@click.option("--percent", type=click.Choice(["row", "col", "cell"]), default="row",
              show_default=True, help="Base of the percentages.")
@click.option("--ci", "ci_method", type=click.Choice(["logit", "t", "wald"]), default="logit",
              show_default=True)
@click.option("--conf-level", type=float, default=0.95, show_default=True)
@design_options
@click.option("--suppress-below", type=int, default=0, show_default=True,
              help="Hide cells with an unweighted n below this (with complementary suppression).")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table",
              show_default=True)
@click.option("--out", "out_file", type=click.Path(path_type=Path), default=None,
              help="Write the result to this file (atomically) instead of stdout.")
@click.option("--encoding", default=None, help="Text encoding of DATA.")
def crosstab(data: Path, row: str, col: str, where_expr: str | None, percent: str,
             ci_method: str, conf_level: float, suppress_below: int, fmt: str,
             out_file: Path | None, encoding: str | None, **design_args: Any) -> None:
    """Weighted crosstab of ROW by COL in DATA with CIs and Rao-Scott tests (R's svychisq)."""
    from sid.io import read_table
    from sid.tables import crosstab as run

    wave = read_table(data, encoding=encoding)
    design = design_from_options(wave, "sid crosstab", **design_args)
    labels = {}
    for name in (row, col):
        try:
            labels[name] = dict(wave.meta.variable(name).value_labels)
        except (KeyError, AttributeError):
            labels[name] = {}
    res = run(design, row, col, where=where_expr, percent=percent, ci=ci_method,
              conf_level=conf_level, labels=labels)
    if suppress_below > 0:
        from dataclasses import replace as _replace

        res = _replace(res, cells=res.suppressed(suppress_below))
    if fmt == "csv":
        text = res.cells.to_csv(index=False, lineterminator="\n") + "\n" + \
            res.tests.to_csv(index=False, lineterminator="\n")
    elif fmt == "json":
        import json

        text = json.dumps({"row": row, "col": col, "where": where_expr, "n_total": res.n_total,
                           "design_effects": list(res.design_effects),
                           "cells": json.loads(res.cells.to_json(orient="records")),
                           "tests": json.loads(res.tests.to_json(orient="records"))},
                          ensure_ascii=False, indent=2) + "\n"
    else:
        base = {"row": "rij", "col": "kolom", "cell": "totaal"}[percent]
        lines = [f"{row} x {col}" + (f" (basis: {where_expr})" if where_expr else "")
                 + f", percentages per {base}, {conf_level * 100:g}%-BI ({ci_method})"]
        head = ["rij", "kolom", "%", "BI", "gewogen aantal", "n"]
        rows_txt = [[str(r.row_label), str(r.col_label), f"{100 * r.estimate:.1f}",
                     f"[{100 * r.ci_low:.1f}, {100 * r.ci_high:.1f}]", f"{r.count:.6g}",
                     f"{r.n:.0f}"] if r.n == r.n else [str(r.row_label), str(r.col_label),
                                                       "x", "x", "x", "x"]
                    for r in res.cells.itertuples()]
        widths = [max(len(h), *(len(x[i]) for x in rows_txt)) for i, h in enumerate(head)]
        lines.append("  ".join(h.ljust(w) for h, w in zip(head, widths, strict=True)))
        lines += ["  ".join(c.ljust(w) for c, w in zip(x, widths, strict=True)) for x in rows_txt]
        for t in res.tests.itertuples():
            dfs = f"df = {t.df_num:.4g}" + (f", {t.df_den:.4g}" if t.test == "F" else "")
            lines.append(f"{t.method}: {t.test} = {t.statistic:.6g}, {dfs}, p = {t.p_value:.4g}")
        text = "\n".join(lines) + "\n"
    if out_file is None:
        click.echo(text, nl=False)
        return
    _atomic_text(out_file, text)
    click.echo(f"wrote {out_file}")


@main.command()
@click.argument("spec_file", type=click.Path(path_type=Path))
@click.option("--data", "data_files", multiple=True, required=True,
              help="Wave file(s); repeat. WAVE=PATH to name the wave.")
@click.option("--codebook", "codebook_file", required=True, type=click.Path(path_type=Path))
@click.option("--weights", "weight_files", multiple=True,
              help="Weighted wave(s) from `sid weight` (WAVE=PATH when several waves).")
@click.option("--weight-var", default=None,
              help="Weight column in the --weights file(s) (default: the one column the data "
                   "file does not have).")
@click.option("--out", "out", required=True, type=click.Path(path_type=Path),
              help="book.xlsx, or a folder with --format csv|json.")
@click.option("--lang", type=click.Choice(["nl", "en"]), default="nl", show_default=True)
@click.option("--plots", "plots_dir", type=click.Path(path_type=Path), default=None,
              help="Also write a PNG forest plot per table into this folder.")
@click.option("--format", "fmt", type=click.Choice(["xlsx", "csv", "json"]), default="xlsx",
              show_default=True)
@click.option("--no-chart", is_flag=True, help="Leave the native Excel charts out.")
@click.option("--skip-missing-waves", is_flag=True,
              help="Leave out (and list) the tables that need a wave that was not loaded.")
def tables(spec_file: Path, data_files: tuple[str, ...], codebook_file: Path,
           weight_files: tuple[str, ...], weight_var: str | None, out: Path, lang: str,
           plots_dir: Path | None, fmt: str, no_chart: bool, skip_missing_waves: bool) -> None:
    """Compute the table book SPEC_FILE on the waves and write Excel (or CSV/JSON)."""
    import shlex

    from sid.codebook import load_codebook
    from sid.errors import InputError
    from sid.export import Provenance, write_forest_plots, write_table_book, write_table_files
    from sid.harmonise import load, split_wave_arg
    from sid.tables import read_spec

    book = read_spec(spec_file)
    cb = load_codebook(codebook_file)
    pairs = [split_wave_arg(f) for f in data_files]
    missing = [str(p) for _, p in pairs if not p.is_file()]
    if missing:
        raise InputError("data file(s) not found", got=", ".join(missing),
                         fix="give existing wave files with --data")
    paths = [f"{w}={p}" if w else str(p) for w, p in pairs]
    data = load(paths, cb)
    weight_name = None
    files: list[tuple[str, Path]] = [("data", p) for _, p in pairs]
    files += [("codebook", Path(codebook_file)), ("spec", Path(spec_file))]
    if weight_files:
        weight_pairs = [split_wave_arg(f) for f in weight_files]
        data, weight_name = _merge_weights(data, cb, pairs, weight_pairs, weight_var)
        files += [("weights", p) for _, p in weight_pairs]
    from sid.tables import build_tables, select_tables

    if skip_missing_waves:
        book, skipped = select_tables(book, data.data["wave"].astype(str).unique())
        if skipped:
            click.echo(f"skipped {len(skipped)} table(s) that need a wave not loaded: "
                       f"{', '.join(skipped)}", err=True)
    shown_weight = weight_name.removeprefix("_w_") if weight_name else None
    results = build_tables(book, data, lang=lang, weight=weight_name, weight_label=shown_weight)
    used_weight = shown_weight or cb.design_variables(
        str(data.data["wave"].astype(str).iloc[0])).get("weight", "-")
    prov = Provenance.from_files(files, weight=used_weight, version=__version__,
                                 command="sid " + " ".join(shlex.quote(a) for a in sys.argv[1:]))
    if fmt == "xlsx":
        path = write_table_book(results, out, provenance=prov, lang=lang,
                                book_title=book.spec.title.get(lang), chart=not no_chart)
        click.echo(f"wrote {path} ({len(results)} tables)")
    else:
        written = write_table_files(results, out, fmt=fmt, provenance=prov)
        click.echo(f"wrote {len(written)} {fmt} files to {out}")
    if plots_dir is not None:
        pngs = write_forest_plots(results, plots_dir, lang=lang)
        click.echo(f"wrote {len(pngs)} plots to {plots_dir}")


def _merge_weights(data, cb, data_pairs, weight_pairs, weight_var):  # type: ignore[no-untyped-def]
    """Add the final weight of `sid weight` output files to harmonised data (by wave and id)."""
    from dataclasses import replace as _replace

    import numpy as np
    import pandas as pd

    from sid.errors import InputError, WeightingError, show_values
    from sid.io import read_wave, scan_wave

    loaded = [str(w) for w in data.data["wave"].cat.categories]
    col = pd.Series(np.nan, index=data.data.index)
    name = None
    for w, p in weight_pairs:
        if not p.is_file():
            raise InputError("weights file not found", where=str(p), fix="give the output of sid weight")
        wave_id = w or (loaded[0] if len(loaded) == 1 else None)
        if wave_id is None:
            raise InputError("several waves loaded: say which wave the weights belong to",
                             where=str(p), fix=f"write --weights WAVE={p}")
        wf = read_wave(p)
        source_file = next((dp for dw, dp in data_pairs if (dw or cb.wave_for_file(dp)) == wave_id),
                           None)
        base_cols = set(scan_wave(source_file).columns) if source_file else set()
        if weight_var is None:
            new = [c for c in wf.data.columns if c not in base_cols
                   and pd.api.types.is_numeric_dtype(wf.data[c])]
            if len(new) != 1:
                raise InputError("cannot tell which column of the weights file is the weight",
                                 where=str(p), got=", ".join(new) or "no new column",
                                 fix="give --weight-var NAME")
            wname = new[0]
        else:
            wname = weight_var
        if wname not in wf.data.columns:
            raise InputError(f"weight column {wname!r} is not in the weights file", where=str(p),
                             fix="check --weight-var")
        id_source = cb.source(cb.wave(wave_id).id, wave_id)
        dupes = wf.data[id_source][wf.data[id_source].duplicated()]
        if len(dupes):
            raise WeightingError(f"respondent id {id_source!r} is not unique in the weights file",
                                 where=str(p), got=show_values(pd.unique(dupes).tolist()),
                                 fix="give the output of sid weight for this wave (one row each)")
        ids = wf.data.set_index(id_source)[wname]
        rows = data.data["wave"].astype(str) == wave_id
        mapped = data.data.loc[rows, cb.wave(wave_id).id].map(ids)
        if mapped.isna().any():
            raise WeightingError(f"{int(mapped.isna().sum())} respondent(s) of wave {wave_id} have "
                                 "no weight in the weights file", where=str(p),
                                 fix="use the weights file made from the same wave")
        col[rows] = mapped.to_numpy()
        name = wname
    if col.isna().any():
        raise InputError("not every loaded wave has a --weights file",
                         fix="give one --weights WAVE=PATH per --data wave")
    frame = data.data.assign(**{f"_w_{name}": col.to_numpy()})
    return _replace(data, data=frame), f"_w_{name}"
