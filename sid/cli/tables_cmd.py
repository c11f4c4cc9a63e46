"""``sid crosstab`` and ``sid tables``: crosstabs and the table book."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from sid import __version__
from sid.cli.app import _atomic_text, design_from_options, design_options, main


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
    from sid.export import format_crosstab
    from sid.io import read_table
    from sid.tables import crosstab as run
    from sid.tables import wave_value_labels

    wave = read_table(data, encoding=encoding)
    design = design_from_options(wave, "sid crosstab", **design_args)
    res = run(design, row, col, where=where_expr, percent=percent, ci=ci_method,
              conf_level=conf_level, labels=wave_value_labels(wave, (row, col)))
    text = format_crosstab(res.with_suppression(suppress_below), fmt)
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
    from sid.codebook import load_codebook
    from sid.export import Provenance, book_inputs, command_line, write_book, write_forest_plots
    from sid.harmonise import split_wave_arg
    from sid.tables import (
        book_weight_label,
        build_tables,
        load_book_data,
        read_spec,
        select_tables,
    )

    book = read_spec(spec_file)
    cb = load_codebook(codebook_file)
    pairs = [split_wave_arg(f) for f in data_files]
    data = load_book_data(pairs, cb)
    weight_pairs = [split_wave_arg(f) for f in weight_files]
    weight_name = None
    if weight_pairs:
        data, weight_name = _merge_weights(data, cb, pairs, weight_pairs, weight_var)
    if skip_missing_waves:
        book, skipped = select_tables(book, data.data["wave"].astype(str).unique())
        if skipped:
            click.echo(f"skipped {len(skipped)} table(s) that need a wave not loaded: "
                       f"{', '.join(skipped)}", err=True)
    # _merge_weights names the merged column "_w_<name>"; footnotes and provenance show <name>
    shown_weight = weight_name.removeprefix("_w_") if weight_name else None
    results = build_tables(book, data, lang=lang, weight=weight_name, weight_label=shown_weight)
    prov = Provenance.from_files(
        book_inputs([p for _, p in pairs], codebook_file, spec_file, [p for _, p in weight_pairs]),
        weight=book_weight_label(data, shown_weight), version=__version__,
        command=command_line(sys.argv[1:]))
    written = write_book(results, out, provenance=prov, fmt=fmt, lang=lang,
                         title=book.spec.title.get(lang), chart=not no_chart)
    if fmt == "xlsx":
        click.echo(f"wrote {written[0]} ({len(results)} tables)")
    else:
        click.echo(f"wrote {len(written)} {fmt} files to {out}")
    if plots_dir is not None:
        pngs = write_forest_plots(results, plots_dir, lang=lang)
        click.echo(f"wrote {len(pngs)} plots to {plots_dir}")


def _merge_weights(data, cb, data_pairs, weight_pairs, weight_var):  # type: ignore[no-untyped-def]
    """Add the final weight of `sid weight` output files to harmonised data (by wave and id)."""
    from sid.weighting.apply import merge_weight_files

    return merge_weight_files(data, cb, data_pairs, weight_pairs, weight_var)
