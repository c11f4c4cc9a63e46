"""``sid estimate``: design-based estimates."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from sid.cli.app import design_from_options, design_options, main

if TYPE_CHECKING:
    import pandas as pd

# --- estimation (sid/design.py, sid/variance.py, sid/estimate.py)


@main.command()
@click.argument("data", type=click.Path(path_type=Path))
@design_options
@click.option("--mean", "mean_var", default=None, help="Mean of this variable.")
@click.option("--total", "total_var", default=None, help="Total of this variable.")
@click.option("--prop", "prop_var", default=None, help="Proportions of every category.")
@click.option("--ratio", "ratio_var", default=None, help="Ratio NUM/DEN.")
@click.option("--quantile", "quantile_var", default=None, help="Quantile of this variable (with --q).")
@click.option("--q", "q_values", type=float, multiple=True, help="Quantile(s), e.g. --q 0.5.")
@click.option("--by", "by_vars", multiple=True, help="Domain variable(s); repeat or comma-separate.")
@click.option("--where", "where_expr", default=None, help="Subpopulation, e.g. \"werksituatie in [1, 2]\".")
@click.option("--ci", "ci_method",
              type=click.Choice(["wald", "t", "auto", "logit", "xlogit", "asin", "beta"]),
              default=None, help="CI method (default t; for proportions auto: logit, or "
                                 "Korn-Graubard (beta) in a group with fewer than 10 yes or no "
                                 "answers; the ci_method column says which).")
@click.option("--conf-level", type=float, default=0.95, show_default=True)
@click.option("--deff", is_flag=True, help="Add design effects (R's deff=TRUE).")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table",
              show_default=True)
@click.option("--out", "out_file", type=click.Path(path_type=Path), default=None,
              help="Write the result to this file (atomically) instead of stdout.")
@click.option("--encoding", default=None, help="Text encoding of DATA.")
def estimate(data: Path, mean_var: str | None, total_var: str | None,
             prop_var: str | None, ratio_var: str | None, quantile_var: str | None,
             q_values: tuple[float, ...], by_vars: tuple[str, ...], where_expr: str | None,
             ci_method: str | None, conf_level: float, deff: bool, fmt: str,
             out_file: Path | None, encoding: str | None, **design_args: Any) -> None:
    """Design-based estimate (mean, total, proportions, ratio, quantile) of DATA with SE and CI."""
    import pandas as pd

    from sid.errors import EstimationError
    from sid.estimation import estimate as run
    from sid.io import read_table

    chosen = [(k, v) for k, v in (("mean", mean_var), ("total", total_var),
                                  ("proportion", prop_var), ("ratio", ratio_var),
                                  ("quantile", quantile_var)) if v]
    if len(chosen) != 1:
        raise EstimationError(
            "give exactly one statistic", where="sid estimate",
            got=", ".join(f"--{k}" for k, _ in chosen) or "none",
            fix="use one of --mean V, --total V, --prop V, --ratio NUM/DEN, --quantile V --q Q")
    stat, var = chosen[0]
    if stat == "quantile" and not q_values:
        raise EstimationError("--quantile needs --q", where="sid estimate", fix="e.g. --q 0.5")
    wave = read_table(data, encoding=encoding)
    if design_args.get("codebook_file") is not None and design_args.get("weight") is None:
        design_args["weight"] = _analysis_weight(data, wave, design_args["codebook_file"])
    design = design_from_options(wave, "sid estimate", **design_args)
    by = [b.strip() for item in by_vars for b in item.split(",") if b.strip()]
    q = (list(q_values) if len(q_values) > 1 else q_values[0]) if q_values else None
    if stat == "mean":
        _warn_labelled(wave, design, var)
    if ci_method is None and stat == "proportion":
        ci_method = "auto"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = run(design, stat, var, by=by or None, where=where_expr, ci=ci_method,
                     conf_level=conf_level, deff=deff, q=q)
    for message in dict.fromkeys(str(w.message).replace("\n", " ") for w in caught):
        click.echo(f"warning: {message}", err=True)
    for b in by:  # codes as R prints them (1, not 1.0)
        col = result[b]
        if pd.api.types.is_float_dtype(col) and col.notna().all() and (col % 1 == 0).all():
            result[b] = col.astype("int64")
    if fmt == "csv":
        text = result.to_csv(index=False, na_rep="NA", lineterminator="\n")
    elif fmt == "json":
        text = result.to_json(orient="records", force_ascii=False, indent=2) + "\n"
    else:  # the weight used, always said
        weight = f"gewicht: {design.weight}\n" if design.weight is not None else ""
        text = weight + _estimate_table(result, wave, by)
    if out_file is None:
        click.echo(text, nl=False)
        return
    from sid.io import write_text_atomic

    write_text_atomic(out_file, text)
    click.echo(f"wrote {out_file} ({len(result)} rows)")


def _value_labels(wave: Any, name: str) -> dict:
    try:
        return dict(wave.meta.variable(name).value_labels)
    except (KeyError, AttributeError, ValueError, TypeError):
        return {}


def _warn_labelled(wave: Any, design: Any, var: str) -> None:
    """One line on stderr when ``--mean`` is asked of a labelled categorical variable
    (every valid value has a value label): the mean of its codes rarely means anything."""
    import numpy as np
    import pandas as pd

    labels = _value_labels(wave, var)
    if not labels or var not in design.data.columns:
        return
    col = pd.to_numeric(design.data[var], errors="coerce")
    values = np.unique(col[col.notna()].to_numpy(dtype=float))
    keys = set()
    for k in labels:
        try:
            keys.add(float(k))
        except (TypeError, ValueError):
            continue
    if len(values) < 2 or not set(values.tolist()) <= keys:
        return
    from sid.estimation import label

    shown = ", ".join(f"{label(v)} = {labels.get(v, labels.get(int(v), ''))}"
                      for v in values[:4]) + (", ..." if len(values) > 4 else "")
    click.echo(f"warning: --mean of {var!r}, a labelled categorical variable ({shown}): the "
               f"mean of its codes is rarely meaningful; use --prop {var} for the share of "
               "each category", err=True)


def _estimate_table(result: pd.DataFrame, wave: Any, by: list[str]) -> str:
    """A readable table with Dutch headers and value labels (for the terminal)."""
    def labels_of(name: str) -> dict:
        try:
            return dict(wave.meta.variable(name).value_labels)
        except (KeyError, AttributeError, ValueError):
            return {}

    from sid.estimation import label

    rows = []
    var = result["variable"].iloc[0] if len(result) else ""
    var_labels = labels_of(var)
    for _, r in result.iterrows():
        cells = [str(labels_of(b).get(r[b], label(r[b]))) for b in by]
        cat = r["category"]
        if cat != "" and r["statistic"] == "proportion":
            code = next((k for k in var_labels if label(k) == cat), None)
            cat = f"{cat} {var_labels[code]}" if code is not None else cat
        pct = r["statistic"] == "proportion"
        def f(x: float, pct: bool = pct) -> str:
            if x != x:  # NaN: not computable (e.g. an asin interval at exactly 0 or 1, as R)
                return "NA"
            return f"{100 * x:.1f}%" if pct else f"{x:.4g}"

        mixed = result["ci_method"].nunique() > 1
        rows.append([*cells, cat, f(r["estimate"]), f(r["se"]),
                     f"[{f(r['ci_low'])}, {f(r['ci_high'])}]"
                     + (f" {r['ci_method']}" if mixed else ""), str(int(r["n"])),
                     str(int(r["n_missing"]))])
    level = f"{100 * result['conf_level'].iloc[0]:g}%" if len(result) else ""
    methods = list(dict.fromkeys(result["ci_method"])) if len(result) else [""]
    method = methods[0] if len(methods) == 1 else "/".join(methods) + " per rij"
    head = [*by, "categorie", "schatting", "se", f"{level}-BI ({method})", "n", "ontbrekend"]
    widths = [max(len(h), *(len(row[i]) for row in rows)) if rows else len(h)
              for i, h in enumerate(head)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(head, widths, strict=True))]
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in rows]
    stat = result["statistic"].iloc[0] if len(result) else ""
    return f"{stat} van {var}\n" + "\n".join(lines) + "\n"


def _analysis_weight(path: Path, wave: Any, codebook_file: Path) -> str:
    """With --codebook and no --weight: the analysis weight, never silently the design
    weight. The weight ``sid weight`` put in the file (its lineage sidecar names it), else
    a codebook weight variable other than the design weight that the data have; without
    either, stop and list the weights in the data."""
    from sid.codebook import load_codebook
    from sid.errors import InputError
    from sid.weighting.lineage import read_lineage

    columns = set(wave.data.columns)
    lineage = read_lineage(path)
    if lineage is not None and lineage.get("weight") in columns:
        return str(lineage["weight"])
    cb = load_codebook(codebook_file)
    design = {cb.design_variables(str(w)).get("weight") for w in cb.waves} - {None}
    declared = [n for n in cb.names if getattr(cb.definition(n), "type", None) == "weight"]
    analysis = [n for n in declared if n not in design and n in columns]
    if len(analysis) == 1:
        return analysis[0]
    present = sorted(n for n in columns if n in declared or n in design or n.endswith("_wt"))
    raise InputError("no analysis weight: the estimate would use the design weight only",
                     where="sid estimate --codebook", got="weights in the data: "
                     + (", ".join(present) or "none"),
                     fix="give --weight NAME (e.g. the final weight of `sid weight`), or "
                         "estimate on the output of `sid weight`")
