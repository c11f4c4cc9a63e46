"""``sid init DIR``: copy the shipped specs out of the package for editing.

The SID codebook, origin rule sets and groupings, country lookups, weighting
specs and the table-book spec ship inside the package (``sid/data/``, found by
:mod:`sid.resources`); that copy is the one source of truth and is never edited
in place. ``sid init DIR`` writes them into DIR with the same layout
(``sid.yaml``, ``origin/``, ``countries/``, ``weighting/``, ``tables/``), so every
command that takes a spec or codebook path takes the edited copy, and a copied
rule set finds the copied country tables beside it.

Existing files are never overwritten: if any target exists, nothing is written.
Each file is written atomically (temp file + rename).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import click

from sid.cli.app import main

__all__ = ["copy_shipped", "init", "shipped_files"]


def shipped_files() -> list[Path]:
    """The shipped spec files, relative to ``sid/data/``, sorted."""
    from sid.resources import DATA_DIR

    return sorted(
        p.relative_to(DATA_DIR) for p in DATA_DIR.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and p.suffix not in {".py", ".pyc"}
    )


def copy_shipped(folder: Path) -> list[Path]:
    """Copy every shipped spec into ``folder``; returns the written paths.

    Raises :class:`sid.errors.LossError` (nothing written) when any target
    already exists, and :class:`sid.errors.InputError` when ``folder`` is a file.
    """
    from sid.errors import InputError, LossError, show_values
    from sid.io import atomic_output
    from sid.resources import DATA_DIR

    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise InputError("not a folder", where=str(folder), fix="give a folder (it is created if absent)")
    files = shipped_files()
    clash = [str(rel) for rel in files if (folder / rel).exists()]
    if clash:
        raise LossError(f"{len(clash)} file(s) already exist and would be overwritten; nothing was written",
                        where=str(folder), got=show_values(clash, limit=4),
                        fix="choose a new or empty folder, or move those files away first")
    written = []
    for rel in files:
        target = folder / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        with atomic_output(target) as tmp:
            shutil.copyfile(DATA_DIR / rel, tmp)
        written.append(target)
    return written


@main.command("init")
@click.argument("folder", type=click.Path(path_type=Path))
def init(folder: Path) -> None:
    """Copy the shipped specs into FOLDER for editing.

    Writes the SID codebook (sid.yaml), the origin rule sets and groupings
    (origin/), the country lookups (countries/), the weighting specs
    (weighting/) and the table-book spec (tables/). Refuses to overwrite an
    existing file. Pass the copies to the commands by path, e.g.
    ``sid origin W.sav --rule FOLDER/origin/vl2013.yaml``.
    """
    written = copy_shipped(folder)
    click.echo(f"wrote {len(written)} file(s) to {folder}/:")
    for path in written:
        click.echo(f"  {path.relative_to(folder)}")
    click.echo(f"edit them and pass their paths, e.g. --codebook {folder / 'sid.yaml'}, "
               f"--rule {folder / 'origin' / 'vl2013.yaml'}")
