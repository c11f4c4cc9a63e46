"""``sid model``: design-based regression from the command line (R's svyglm).

It takes the same design options as ``sid estimate`` and prints the coefficient
table, the Wald tests per term (``--terms``) or the predictive margins
(``--margins VAR``) as a terminal table (Dutch), CSV or JSON.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

import click

from sid.cli.app import design_from_options, design_options, main

FAMILIES = ("gaussian", "binomial", "poisson")


def _parse_references(items: tuple[str, ...]) -> dict[str, str]:
    from sid.model import ModelError

    out = {}
    for item in items:
        for part in item.split(","):
            if not part.strip():
                continue
            if "=" not in part:
                raise ModelError("--reference needs VAR=LEVEL", where="sid model --reference",
                                 got=repr(part), fix="e.g. --reference herkomst=1")
            var, level = (s.strip() for s in part.split("=", 1))
            out[var] = level
    return out


def _uses(formula: str, name: str) -> bool:
    """Does the formula name this variable (as a whole word)?"""
    return re.search(rf"(?<![\w.]){re.escape(name)}(?!\w)", formula) is not None


def _measured_categorical(wave: Any, formula: str) -> list[str]:
    """Variables the file's metadata declares nominal or ordinal (SPSS measure)."""
    meta = getattr(wave, "meta", None)
    return [v.name for v in getattr(meta, "variables", ())
            if v.measure in ("nominal", "ordinal") and _uses(formula, v.name)]


@main.command("model")
@click.argument("data", type=click.Path(path_type=Path))
@click.argument("formula")
@design_options
@click.option("--family", type=click.Choice(FAMILIES), default="gaussian", show_default=True,
              help="gaussian (linear), binomial (logistic, 0/1 outcome), poisson (log-linear).")
@click.option("--where", "where_expr", default=None,
              help="Subpopulation (domain), e.g. \"werksituatie in [1, 2]\".")
@click.option("--ci", "ci_method", type=click.Choice(["t", "wald"]), default="t",
              show_default=True, help="t with the residual df, or wald (normal).")
@click.option("--conf-level", type=float, default=0.95, show_default=True)
@click.option("--reference", "references", multiple=True,
              help="Reference level of a categorical variable, VAR=LEVEL (repeatable).")
@click.option("--categorical", "categoricals", multiple=True,
              help="Treat these numeric variables as categorical (repeat or comma-separate).")
@click.option("--terms", "show_terms", is_flag=True, help="Wald F test per term.")
@click.option("--margins", "margins_var", default=None,
              help="Predictive margins per level of VAR (added to the model if absent).")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table",
              show_default=True)
@click.option("--out", "out_file", type=click.Path(path_type=Path), default=None,
              help="Write the result to this file (atomically) instead of stdout.")
@click.option("--encoding", default=None, help="Text encoding of DATA.")
def model(data: Path, formula: str, family: str, where_expr: str | None, ci_method: str,
          conf_level: float, references: tuple[str, ...], categoricals: tuple[str, ...],
          show_terms: bool, margins_var: str | None, fmt: str, out_file: Path | None,
          encoding: str | None, **design_args: Any) -> None:
    """Design-based regression of FORMULA (R style, e.g. "y ~ x + C(g)") on DATA."""
    from sid.errors import SidError

    try:
        _run(data, formula, family, where_expr, ci_method, conf_level, references, categoricals,
             show_terms, margins_var, fmt, out_file, encoding, design_args)
    except SidError as exc:
        click.echo(f"error: {exc.line()}", err=True)
        sys.exit(2)


def _run(data: Path, formula: str, family: str, where_expr: str | None, ci_method: str,
         conf_level: float, references: tuple[str, ...], categoricals: tuple[str, ...],
         show_terms: bool, margins_var: str | None, fmt: str, out_file: Path | None,
         encoding: str | None, design_args: dict[str, Any]) -> None:
    from sid.io import read_table, write_text_atomic
    from sid.model import ModelError, fit, margins, term_tests

    if fmt == "csv" and show_terms and margins_var:
        raise ModelError("--format csv prints one table: give --terms or --margins, not both",
                         where="sid model", fix="run twice, or use --format json")
    wave = read_table(data, encoding=encoding)
    design = design_from_options(wave, "sid model", **design_args)
    codebook = None
    if design_args.get("codebook_file") is not None:
        from sid.codebook import load_codebook

        codebook = load_codebook(design_args["codebook_file"])
    cats = [c.strip() for item in categoricals for c in item.split(",") if c.strip()]
    cats += _measured_categorical(wave, formula)
    refs = _parse_references(references)
    # a reference for a margins variable that the formula lacks is the contrasts' reference
    margins_ref = refs.pop(margins_var, None) if margins_var and not _uses(
        formula, margins_var) else refs.get(margins_var or "")
    result = fit(design, formula, family, where=where_expr, ci=ci_method, conf_level=conf_level,
                 reference=refs, categorical=cats, codebook=codebook)
    coefs = result.coefficients
    tests = term_tests(result) if show_terms else None
    marg = margins(result, margins_var, reference=margins_ref) if margins_var else None
    if fmt == "csv":
        frame = tests if tests is not None else marg.table() if marg is not None else coefs
        text = frame.to_csv(index=False, na_rep="NA", lineterminator="\n")
    elif fmt == "json":
        payload: dict[str, Any] = {"model": _info(result), "coefficients": _records(coefs)}
        if tests is not None:
            payload["terms"] = _records(tests)
        if marg is not None:
            payload["margins"] = _records(marg.table())
            payload["contrasts"] = _records(marg.contrasts())
        text = json.dumps(payload, ensure_ascii=False, indent=2) + "\n"
    else:
        from sid.model.report import model_text

        text = model_text(result, wave=wave, codebook=codebook, tests=tests, margins=marg)
    if out_file is None:
        click.echo(text, nl=False)
        return
    write_text_atomic(out_file, text)
    click.echo(f"wrote {out_file}")


def _records(frame: Any) -> list[dict[str, Any]]:
    return json.loads(frame.to_json(orient="records", force_ascii=False))


def _info(result: Any) -> dict[str, Any]:
    return {
        "formula": result.formula, "family": result.family, "where": result.where,
        "n": result.n, "n_missing": result.n_missing, "n_weighted": result.n_weighted,
        "df_residual": result.df_residual, "design_df": result.design_df,
        "iterations": result.iterations, "converged": result.converged, "ci": result.ci,
        "conf_level": result.conf_level,
    }
