"""``sid origin``: origin groups by a rule set."""

from __future__ import annotations

from pathlib import Path

import click

from sid.cli.app import main

# --- origin (sid/origin/)


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
    from sid.io import write_csv_atomic
    from sid.origin import DEFAULT_FIELDS, classify, read_origin_input

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
