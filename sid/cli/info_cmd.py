"""``sid info``: describe a wave file."""

from __future__ import annotations

import json
from pathlib import Path

import click

from sid.cli.app import main

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
    width = max((len(str(r["name"])) for r in rows), default=4)
    click.echo(f"{'name':<{width}}  {'type':<8} {'labels':>6}  {'missing':<18} label")
    for r in rows:
        # a damaged file can leave a name or type unknown (None): show it, never crash
        click.echo(f"{str(r['name']):<{width}}  {str(r['type'] or '?'):<8} "
                   f"{r['n_value_labels']:>6}  {r['missing_codes'] or '-':<18} {r['label'] or ''}")
    for name, spec in meta.mr_sets.items():
        click.echo(f"multiple-response set {name}: {', '.join(spec.get('variable_list', []))}")
