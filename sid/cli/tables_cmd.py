"""``sid crosstab`` and ``sid tables``: crosstabs and the table book."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from sid import __version__
from sid.cli.app import _atomic_text, design_from_options, design_options, main

# --- tables and crosstabs (sid/tables.py, sid/export.py)



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
    from sid.weighting.apply import merge_weight_files

    return merge_weight_files(data, cb, data_pairs, weight_pairs, weight_var)
