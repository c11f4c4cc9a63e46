"""The ``sid`` command line.

Each command imports what it needs inside its body, so ``sid --help`` starts
fast. Every :class:`sid.errors.SidError` becomes one line on stderr and exit
code 2, never a traceback.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from sid import __version__


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
              help="Codebook YAML (e.g. codebooks/sid.yaml).")
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
    chain = run_spec(spec, wave.data, gross=gross, margins_table=table, missing=missing)
    name = chain.weights.name
    if name in wave.data.columns:
        raise InputError(f"the wave already has a column {name!r}", where=str(wave_file),
                         fix="set output.weight in the spec to a new name")
    data = wave.data.assign(**{name: chain.weights.to_numpy()})
    meta = _replace(wave.meta, n_rows=len(data), sha256=None, path=None,
                    variables=wave.meta.variables + (VariableMeta(
                        name=name, label=f"Eindgewicht ({spec.get('name', 'weging')})",
                        kind="numeric", format="F12.4", measure="scale"),))
    out_wave = _replace(wave, data=data, meta=meta)
    write_wave(out_wave, out_file)
    for label, rec in chain.steps:
        click.echo(f"{label:<15} {rec.method:<12} iterations {rec.iterations:>3}  "
                   f"max gap {rec.max_gap:.2g}  ESS {rec.after.ess:.1f}  deff_w {rec.after.deff_w:.3f}")
    click.echo(f"wrote {out_file} ({len(data)} rows, weight {name}, sum {chain.weights.sum():.6g})")
    if report_file is not None:
        xlsx, md = write_report(chain, report_file)
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
    """Synthesise the SID waves into OUT and summarise them."""
    from sid.synthetic import summarise_waves, synthesise

    result = synthesise(out, seed=seed)
    click.echo(f"synthetic files in {result.out_dir} ({result.seconds['total']:.1f} s)")
    click.echo(summarise_waves(out))
