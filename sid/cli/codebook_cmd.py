"""``sid validate`` and ``sid codebook init|export``."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from sid.cli.app import SidGroup, main

# --- codebook and validation (sid/codebook/, sid/harmonise.py, sid/validation.py)


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
    from sid.validation import format_table
    from sid.validation import validate as run_validate

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
    from sid.validation import codebook_skeleton

    click.echo(codebook_skeleton(scan_wave(file, encoding=encoding), wave_id), nl=False)


@codebook.command("export")
@click.argument("codebook_file", type=click.Path(path_type=Path))
@click.option("--out", "out", required=True, type=click.Path(path_type=Path),
              help="Output file: .xlsx or .md.")
def codebook_export(codebook_file: Path, out: Path) -> None:
    """Write CODEBOOK_FILE as a readable .xlsx or .md codebook."""
    from sid.validation import export_codebook

    path = export_codebook(codebook_file, out)
    click.echo(f"wrote {path}")
