"""``sid synth`` and ``sid demo``: synthetic data and the whole pipeline on it."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import click

from sid.cli.app import main, progress_printer
from sid.cli.tables_cmd import tables
from sid.cli.weight_cmd import weight
from sid.resources import DATA_DIR as CODEBOOKS

# --- synthetic data (sid/synthetic/)


@contextlib.contextmanager
def _heap_kept(release: bool) -> Iterator[None]:
    """While building the population, let glibc's allocator keep and reuse freed memory.

    The population is built from many short-lived arrays of 1-8 MB; by default glibc
    maps the larger ones fresh and trims the heap, so every new array costs page faults
    (~40,000 per ``sid synth``, ~0.15 s of CPU). Inside the block a 64 MiB mmap threshold
    and no trimming below 512 MiB serve them from, and return them to, the heap. With
    ``release`` the trim threshold is back at glibc's default after the block and the
    free heap is released, so that what runs next (``sid demo``'s reads fork child
    processes) does not carry it; ``sid synth`` ends right after, so it skips that.
    Process-wide, so only around :func:`sid.synthetic.synthesise` in these commands.
    A no-op without glibc's ``mallopt``.
    """
    import ctypes
    import sys

    try:
        if not sys.platform.startswith("linux"):
            raise OSError("glibc only")
        libc = ctypes.CDLL(None)
        mallopt, malloc_trim = libc.mallopt, libc.malloc_trim
    except (OSError, AttributeError, TypeError):  # not glibc (musl, macOS, Windows)
        yield
        return
    m_trim_threshold, m_mmap_threshold = -1, -3  # <malloc.h>
    mallopt(m_mmap_threshold, 64 << 20)
    mallopt(m_trim_threshold, 512 << 20)
    try:
        yield
    finally:
        if release:
            mallopt(m_trim_threshold, 128 << 10)  # glibc's default
            malloc_trim(0)


@main.command()
@click.option("--out", "out", required=True, type=click.Path(path_type=Path),
              help="Folder to write the synthetic files into (created if absent).")
@click.option("--seed", default=20260101, show_default=True, type=int, help="Random seed.")
def synth(out: Path, seed: int) -> None:
    """Write the synthetic SID population margins, gross samples, waves and truth."""

    from sid.synthetic import synthesise

    with _heap_kept(release=False):
        result = synthesise(out, seed=seed, progress=progress_printer())
    for name, path in result.paths.items():
        rows = result.rows.get(name)
        size = result.bytes[name] / 1e6
        click.echo(f"{path}  {'' if rows is None else f'{rows} rows, '}{size:.2f} MB")
    click.echo(f"seed {seed}; duurde {result.seconds['total']:.1f} s")


#: What `sid weight` imports beyond what synthesising and validating did (~0.5 s of CPU):
#: imported before the demo forks its second weighting, so that only one process pays it.
_WEIGHT_IMPORTS = ("sid.weighting", "sid.weighting.apply", "sid.weighting.lineage",
                   "sid.weighting.report", "openpyxl", "matplotlib.figure",
                   "matplotlib.backends.backend_agg")


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
    from functools import partial

    from sid.errors import CodebookError
    from sid.parallel import run_pair
    from sid.synthetic import summarise_waves, synthesise
    from sid.validation import format_table
    from sid.validation import validate as run_validate

    ctx = click.get_current_context()
    start = time.perf_counter()
    out = Path(out)
    data_dir = out / "data"

    began = [start]

    def step(number: int, text: str) -> None:
        if number > 1:
            click.echo(f"    stap {number - 1} duurde {time.perf_counter() - began[0]:.1f} s")
        began[0] = time.perf_counter()
        click.echo(f"\n[{number}/4] {text}")

    def progress(text: str) -> None:
        click.echo(f"    {text} (na {time.perf_counter() - began[0]:.1f} s)")

    step(1, f"synthetic SID population and waves -> {data_dir}")
    with _heap_kept(release=True):  # the 2022 wave in a forked child (sid.parallel)
        synthesise(data_dir, seed=seed, progress=progress,
                   pair=partial(run_pair, what="synthesising the 2022 wave"))
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
    weighted = {year: out / f"sid{year}_gewogen.sav" for year in waves}

    def weigh(year: int) -> None:
        ctx.invoke(weight, wave_file=waves[year], spec_file=CODEBOOKS / "weighting" / f"sid{year}.yaml",
                   gross_file=data_dir / f"sid{year}_gross.sav",
                   margins_file=data_dir / "population_margins.csv", out_file=weighted[year],
                   report_file=out / f"weegrapport_{year}.xlsx")

    # the waves are weighted independently (each its own `sid weight`, all its files or
    # none): 2022 in a forked child while 2017 is weighted here, its output printed after
    # 2017's; one after the other where there is no fork (sid.parallel)
    here, there = waves
    run_pair(partial(weigh, here), partial(weigh, there), what=f"weighting the {there} wave",
             preload=_WEIGHT_IMPORTS)

    book = out / "sid_kerntabellen.xlsx"
    step(4, f"table book (nl) with forest plots -> {book}")
    ctx.invoke(tables, spec_file=CODEBOOKS / "tables" / "sid_kerntabellen.yaml",
               data_files=tuple(f"{y}={p}" for y, p in waves.items()),
               codebook_file=codebook_file,
               weight_files=tuple(f"{y}={p}" for y, p in weighted.items()),
               weight_var="final_wt", out=book, lang="nl", plots_dir=out / "figuren",
               fmt="xlsx", no_chart=False, skip_missing_waves=False)

    click.echo(f"    stap 4 duurde {time.perf_counter() - began[0]:.1f} s")
    click.echo(f"\ndone: the whole demo took {time.perf_counter() - start:.1f} s. "
               f"Outputs in {out}/:")
    click.echo(f"  {book.name:<28} the table book for policy answers (open in Excel/LibreOffice)")
    click.echo(f"  {'figuren/':<28} a forest plot per table (PNG)")
    for year in waves:
        click.echo(f"  {weighted[year].name:<28} weighted {year} wave (final_wt, lineage in "
                   f"{weighted[year].name}.lineage.json), annex weegrapport_{year}.xlsx/.md")
    click.echo(f"  {'data/':<28} synthetic waves, gross samples, margins, truth.json")
