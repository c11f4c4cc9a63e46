"""``sid crosstab`` and ``sid tables``: crosstabs and the table book."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from sid import __version__
from sid.cli.app import _atomic_text, design_from_options, design_options, main, progress_printer

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    from sid.io import Wave
    from sid.io.read import StartedRead


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
                   "file does not have); without --weights, a weight variable of the data "
                   "(e.g. base_wt to weigh with the design weight only: the book says so).")
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
    """Compute the table book SPEC_FILE on the waves and write Excel (or CSV/JSON).

    The weight: the final weight of the --weights files (from `sid weight`), else
    --weight-var, else the codebook's analysis weight when the data have it; otherwise
    the command stops and lists the weights there are. The weight used is printed and
    named in every table's footnotes, in words and as a variable.
    """

    from sid.io.files import split_wave_arg
    from sid.weighting.lineage import read_lineage

    pairs = [split_wave_arg(f) for f in data_files]
    weight_pairs = [split_wave_arg(f) for f in weight_files]
    records = {p: read_lineage(p) for _, p in weight_pairs}
    lineage = _lineage_inputs(records)  # what made the weighted files, for the provenance
    # each data file read once (harmonising, weights, provenance), all of them started now:
    # their reader children read while this process loads the codebook, the spec and the
    # code of the tables (on two cores ~0.15 s of a ~1.1 s book)
    read = _wave_reader([p for _, p in pairs] + [p for _, p in weight_pairs]
                        + [p for _, p in lineage if _is_data_file(p)])

    from sid.codebook import load_codebook
    from sid.export import Provenance, book_inputs, command_line, write_book, write_forest_plots
    from sid.tables import (
        book_weight_label,
        build_tables,
        load_book_data,
        read_spec,
        select_tables,
    )

    say = progress_printer()

    book = read_spec(spec_file)
    cb = load_codebook(codebook_file)
    data = load_book_data(pairs, cb, read=read)
    say(f"{len(pairs)} golf/golven gelezen: {len(data.data)} respondenten")
    words = None
    if weight_pairs:
        from sid.weighting.apply import merge_weight_files

        data, column = merge_weight_files(data, cb, pairs, weight_pairs, weight_var, read)
        # merge_weights names the merged column "_w_<name>"; footnotes and provenance show <name>
        weight_name = column.removeprefix("_w_")
        words = _weight_words(records, lang)
    else:
        column = weight_name = _data_weight(data, cb, weight_var)
    if words is None:
        words = cb.label(weight_name, lang) if weight_name in cb.names else weight_name
    weight_text = f"{words} ({'variable' if lang == 'en' else 'variabele'} {weight_name})"
    waves = [str(w) for w in data.data["wave"].astype(str).unique()]
    if not weight_pairs and weight_name == cb.design_variables(waves[0]).get("weight"):
        weight_text = book_weight_label(data, None, lang)  # says: the design weight only
    click.echo(f"gewicht: {weight_text}")
    if skip_missing_waves:
        book, skipped = select_tables(book, data.data["wave"].astype(str).unique())
        if skipped:
            click.echo(f"skipped {len(skipped)} table(s) that need a wave not loaded: "
                       f"{', '.join(skipped)}", err=True)

    def progress(done: int, total: int, table_id: str) -> None:
        say(f"tabel {done}/{total} berekend: {table_id}")

    results = build_tables(book, data, lang=lang, weight=column, weight_label=weight_text,
                           parallel=True,
                           progress=progress)
    say("herkomst van de cijfers: invoerbestanden controleren (sha256)")
    origin_rules = _origin_rules(cb)
    prov = Provenance.from_files(
        book_inputs([p for _, p in pairs], codebook_file, spec_file,
                    [p for _, p in weight_pairs], lineage=lineage, origin_rules=origin_rules),
        weight=weight_name, weight_text=weight_text, version=__version__,
        command=command_line(_argv(spec_file, data_files, codebook_file, weight_files,
                                   weight_var, out, lang, plots_dir, fmt, no_chart,
                                   skip_missing_waves)),
        source=book.spec.source.get(lang) if book.spec.source else None, read=read)
    say(f"{'werkboek' if fmt == 'xlsx' else fmt + '-bestanden'} schrijven")
    written = write_book(results, out, provenance=prov, fmt=fmt, lang=lang,
                         title=book.spec.title.get(lang), chart=not no_chart)
    if fmt == "xlsx":
        click.echo(f"wrote {written[0]} ({len(results)} tables)")
    else:
        click.echo(f"wrote {len(written)} {fmt} files to {out}")
    if plots_dir is not None:
        say("figuren tekenen")
        pngs = write_forest_plots(results, plots_dir, lang=lang, source=prov.source)
        click.echo(f"wrote {len(pngs)} plots to {plots_dir}")
    say("klaar")


def _argv(spec_file: Path, data_files: tuple[str, ...], codebook_file: Path,
          weight_files: tuple[str, ...], weight_var: str | None, out: Path, lang: str,
          plots_dir: Path | None, fmt: str, no_chart: bool, skip: bool) -> list[str]:
    """The arguments of this run as `sid tables` takes them (also when `sid demo` runs it)."""
    args = ["tables", str(spec_file)]
    args += [a for f in data_files for a in ("--data", str(f))]
    args += ["--codebook", str(codebook_file)]
    args += [a for f in weight_files for a in ("--weights", str(f))]
    args += ["--weight-var", weight_var] if weight_var else []
    args += ["--out", str(out), "--lang", lang]
    args += ["--plots", str(plots_dir)] if plots_dir is not None else []
    args += ["--format", fmt] if fmt != "xlsx" else []
    args += ["--no-chart"] if no_chart else []
    args += ["--skip-missing-waves"] if skip else []
    return args


def _data_weight(data: Any, cb: Any, weight_var: str | None) -> str:
    """The weight of a book made without --weights: ``weight_var``, or the codebook's
    analysis weight (a weight variable other than the design weight) when the data have
    it. Never silently the design weight: without either, stop and list the weights."""
    from sid.errors import InputError

    columns = set(data.data.columns)
    waves = [str(w) for w in data.data["wave"].astype(str).unique()]
    design = {cb.design_variables(w).get("weight") for w in waves} - {None}
    declared = [n for n in cb.names if getattr(cb.definition(n), "type", None) == "weight"]
    if weight_var is not None:
        if weight_var not in columns:
            raise InputError(f"weight {weight_var!r} is not in the data", where="--weight-var",
                             got=", ".join(sorted(n for n in declared if n in columns)) or "-",
                             fix="give a weight variable of the codebook, or --weights FILE "
                                 "from `sid weight`")
        return weight_var
    analysis = [n for n in declared if n not in design and n in columns]
    if len(analysis) == 1:
        return analysis[0]
    present = [f"{n} ({cb.label(n)})" for n in declared if n in columns]
    raise InputError("no analysis weight: the book would be weighted with the design weight "
                     "only", where="sid tables",
                     got="weights in the data: " + (", ".join(present) or "none"),
                     fix="give --weights FILE from `sid weight` (the final weight), or "
                         "--weight-var NAME to choose a weight of the data explicitly")


def _weight_words(records: Mapping[Path, Mapping[str, Any] | None], lang: str) -> str | None:
    """The weight in words from the weighted files' lineage sidecars (``records``, None
    where absent or stale); a note for each file without one."""
    words: str | None = None
    for f, rec in records.items():
        if rec is None:
            click.echo(f"note: {f} has no (matching) lineage file; the provenance cannot name "
                       "the weighting spec, margins and gross sample behind its weight", err=True)
            continue
        desc = rec.get("description") or {}
        words = words or desc.get(lang) or desc.get("nl")
    return words


def _lineage_inputs(records: Mapping[Path, Mapping[str, Any] | None]) -> list[tuple[str, Path]]:
    """The (role, path) inputs the lineage records name that exist (the unweighted wave as
    ``unweighted``)."""
    return [(row["role"] if row["role"] != "wave" else "unweighted", Path(row["path"]))
            for rec in records.values() if rec is not None for row in rec["inputs"]
            if Path(row["path"]).is_file()]


def _is_data_file(path: Path) -> bool:
    """Is ``path`` a data file the provenance reads for its content hash
    (``sid.export.provenance.DATA_SUFFIXES``: ``.sav``, ``.zsav``, ``.dta``)?"""
    from sid.io.meta import WRITABLE_SUFFIXES

    return path.suffix.lower() in WRITABLE_SUFFIXES


def _origin_rules(cb: Any) -> Path | None:
    """The origin rule set the codebook names (shipped with sid), if any."""
    from sid.resources import DATA_DIR

    if cb.origin is None:
        return None
    path = DATA_DIR / "origin" / f"{cb.origin.rule}.yaml"
    return path if path.is_file() else None


def _wave_reader(start: Sequence[Path] = ()) -> Callable[[Path], Wave]:
    """``sid.io.read_wave(path)`` that reads each file once (by its resolved path) for the
    run of one command: harmonising, the weights and the content hashes share the read.
    The files in ``start`` are started at once, each in its reader child
    (:func:`sid.io.start_wave_read`), and collected when first asked for; a file that
    cannot be read says so then, as :func:`read_wave` would; those never asked for are
    cancelled when the command ends (its click context closes, also on an error)."""
    from sid.io import read_wave, start_wave_read

    pending: dict[Path, StartedRead] = {}
    for path in start:
        key = Path(path).resolve()
        if key not in pending:
            pending[key] = start_wave_read(path)
    waves: dict[Path, Wave] = {}

    def cancel_unread() -> None:  # a command that stops early ends the reads it started
        for started in pending.values():
            started.cancel()

    click.get_current_context().call_on_close(cancel_unread)

    def read(path: Path) -> Wave:
        key = Path(path).resolve()
        if key not in waves:
            started = pending.pop(key, None)
            waves[key] = started() if started is not None else read_wave(path)
        return waves[key]

    return read
