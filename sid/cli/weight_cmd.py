"""``sid weight``: weight a wave by a spec."""

from __future__ import annotations

from pathlib import Path

import click

from sid.cli.app import main, progress_printer

# --- weighting (sid/weighting/)


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
              help="Excel weighting report, a methodology annex (Markdown and a PNG of the "
                   "weight distribution are written beside it).")
@click.option("--lang", type=click.Choice(["nl", "en"]), default="nl", show_default=True,
              help="Language of the weighting report.")
def weight(wave_file: Path, spec_file: Path, gross_file: Path | None,
           margins_file: Path | None, out_file: Path, report_file: Path | None,
           lang: str = "nl") -> None:
    """Weight WAVE_FILE as the spec says and write it with the final weight added.

    Beside OUT a lineage file (OUT.lineage.json) names the spec, margins, gross sample
    and input wave with their sha256, and the weight in words (sid.weighting.lineage).
    """

    from sid.io import read_wave, write_wave
    from sid.weighting import load_spec, run_spec, write_report
    from sid.weighting.apply import (
        margins_path,
        missing_masks,
        read_margins,
        replicate_prefix,
        report_labels,
        weighted_wave,
    )

    say = progress_printer()

    spec = load_spec(spec_file)
    wave = read_wave(wave_file)
    say(f"weging van {wave_file}: {len(wave.data)} respondenten gelezen")
    gross = read_wave(gross_file).data if gross_file is not None else None
    table = read_margins(spec, spec_file, margins_file)
    reported: list[int] = []

    def progress(done: int, total: int) -> None:
        tenth = done * 10 // total  # one line per 10% done
        if tenth > (reported[-1] if reported else 0):
            reported.append(tenth)
            click.echo(f"replicaatgewichten: {done}/{total} ({100 * done // total}%)")

    chain = run_spec(spec, wave.data, gross=gross, margins_table=table,
                     missing=missing_masks(wave), progress=progress)
    say("gewichten berekend")
    out_wave = weighted_wave(wave, chain, where=str(wave_file))
    # one transaction (sid.cli.app.guard_outputs): the wave and the report, or nothing
    write_wave(out_wave, out_file)
    from sid.weighting.lineage import write_lineage

    used = [("wave", wave_file), ("weighting_spec", spec_file),
            ("margins", margins_path(spec, spec_file, margins_file))]
    if gross_file is not None:
        used.append(("gross", gross_file))
    write_lineage(out_file, spec, used)
    for label, rec in chain.steps:
        click.echo(f"{label:<15} {rec.method:<12} iterations {rec.iterations:>3}  "
                   f"max gap {rec.max_gap:.2g}  ESS {rec.after.ess:.1f}  deff_w {rec.after.deff_w:.3f}")
    click.echo(f"wrote {out_file} ({len(out_wave.data)} rows, weight {chain.weights.name}, "
               f"sum {chain.weights.sum():,.0f})")
    if chain.replicates is not None:
        reps = chain.replicates
        click.echo(f"replicate weights: {reps.replicates} x {reps.method} (scale {reps.scale:.6g}, "
                   f"mse {reps.mse}); use Design(repweights='^{replicate_prefix(spec)}[0-9]+$', "
                   f"repmethod='{reps.method}', scale=..., rscales=...)")
        for note in reps.notes:
            click.echo(f"note: {note}", err=True)
    if report_file is not None:
        from sid.export.provenance import display_path
        from sid.io import file_sha256
        from sid.weighting.lineage import describe_weight
        from sid.weighting.report import category_labels

        say("wegingsrapport schrijven")
        files = [*used, ("weighted", out_file)]
        prov = [(role, display_path(p), file_sha256(p)) for role, p in files]
        cats = category_labels(spec, wave.meta.value_labels, lang)
        xlsx, md = write_report(chain, report_file, report_labels(wave, spec),
                                categories=cats, lang=lang, provenance=prov,
                                weight_text=describe_weight(spec, lang))
        click.echo(f"wrote {xlsx} and {md}")
    say("klaar")
