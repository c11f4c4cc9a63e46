"""``sid weight``: weight a wave by a spec."""

from __future__ import annotations

from pathlib import Path

import click

from sid.cli.app import main

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
