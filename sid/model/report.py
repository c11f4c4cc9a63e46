"""A model as readable text (Dutch): coefficients or odds/rate ratios, term tests, margins.

Used by ``sid model --format table``. Category levels get their value labels
from the wave's metadata or the codebook when there are any
(``herkomst2`` -> ``herkomst2 (Marokkaans)``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from sid.model.glm import ModelFit
from sid.model.predictive import Margins

FAMILY_NL = {"gaussian": "lineair (gaussian)", "binomial": "logistisch (binomial, logit)",
             "poisson": "log-lineair (poisson, log)"}


def value_labels(name: str, wave: Any = None, codebook: Any = None) -> dict[str, str]:
    """Value labels of ``name`` keyed by the R label of the code ("1", "2", "E")."""
    from sid.estimation.domains import label as r_label

    labels: Mapping[Any, str] = {}
    if codebook is not None:
        try:
            labels = codebook.value_labels(name)
        except Exception:  # noqa: BLE001 - not in the codebook
            labels = {}
    if not labels and wave is not None:
        try:
            labels = dict(wave.meta.variable(name).value_labels)
        except (KeyError, AttributeError):
            labels = {}
    return {r_label(k): str(v) for k, v in labels.items()}


def term_label(term: str, model: ModelFit, wave: Any = None, codebook: Any = None) -> str:
    """``herkomst2`` -> ``herkomst2 (Marokkaans)`` when the level has a value label."""
    frame = model.frame
    if frame is None:
        return term
    parts = []
    for piece in term.split(":"):
        shown = piece
        for var, levels in frame.levels.items():
            for prefix in (var, f"C({var})"):
                level = piece[len(prefix):] if piece.startswith(prefix) else None
                if level is not None and level in levels:
                    text = value_labels(var, wave, codebook).get(level)
                    if text:
                        shown = f"{piece} ({text})"
        parts.append(shown)
    return ":".join(parts)


def _table(head: Sequence[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h)
              for i, h in enumerate(head)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(head, widths, strict=True)).rstrip()]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    return lines


def _p(p: float) -> str:
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def model_text(model: ModelFit, *, wave: Any = None, codebook: Any = None,
               tests: pd.DataFrame | None = None, margins: Margins | None = None) -> str:
    """The model as terminal text: header, coefficient table, optional tests and margins."""
    level = f"{100 * model.conf_level:g}%-BI"
    ci = "t, residuele df" if model.ci == "t" else "wald, normaal"
    lines = [f"Model {model.formula}: {FAMILY_NL[model.family]}",
             f"n = {model.n} (ontbrekend op een modelvariabele: {model.n_missing}), "
             f"residuele df = {model.df_residual:g}, {level} ({ci})"
             + (f", domein: {model.where}" if model.where else "")]
    table = model.coefficients
    ratio = {"binomial": "OR", "poisson": "RR"}.get(model.family)
    rows = []
    for _, r in table.iterrows():
        cells = [term_label(r["term"], model, wave, codebook), f"{r['estimate']:.4g}",
                 f"{r['se']:.3g}"]
        if ratio:
            cells += [f"{r['exp_estimate']:.3g}",
                      f"[{r['exp_ci_low']:.3g}, {r['exp_ci_high']:.3g}]"]
        else:
            cells += [f"[{r['ci_low']:.4g}, {r['ci_high']:.4g}]"]
        cells.append(_p(r["p_value"]))
        rows.append(cells)
    head = ["term", "B", "se", *([ratio, level] if ratio else [level]), "p"]
    lines += [""] + _table(head, rows)
    if tests is not None:
        rows = [[str(r["term"]), f"{r['statistic']:.4g}", str(int(r["df_num"])),
                 f"{r['df_den']:g}", _p(r["p_value"])] for _, r in tests.iterrows()]
        lines += ["", "Wald-toetsen per term"] + _table(["term", "F", "df1", "df2", "p"], rows)
    if margins is not None:
        pct = model.family == "binomial"

        def f(x: float) -> str:
            return f"{100 * x:.1f}%" if pct else f"{x:.4g}"

        labels = value_labels(margins.variable, wave, codebook)
        tab = margins.table()
        rows = [[f"{lev} {labels.get(lev, '')}".strip(), f(r["estimate"]), f(r["se"]),
                 f"[{f(r['ci_low'])}, {f(r['ci_high'])}]"]
                for lev, (_, r) in zip(margins.levels, tab.iterrows(), strict=True)]
        lines += ["", f"Voorspelde marges naar {margins.variable} (gecorrigeerd voor de andere "
                      "termen, bij de eigen samenstelling van de steekproef)"]
        lines += _table([margins.variable, "marge", "se", level], rows)
        con = margins.contrasts()
        ref = f"{margins.reference} {labels.get(margins.reference, '')}".strip()
        rows = [[f"{lev} {labels.get(lev, '')}".strip(), f(r["estimate"]), f(r["se"]),
                 f"[{f(r['ci_low'])}, {f(r['ci_high'])}]", _p(r["p_value"])]
                for lev, (_, r) in zip(con[margins.variable], con.iterrows(), strict=True)]
        lines += ["", f"Verschil met {ref}"] + _table(
            [margins.variable, "verschil", "se", level, "p"], rows)
    if not np.all(np.isfinite(model.se)):
        lines += ["", "let op: niet alle standaardfouten zijn berekenbaar"]
    return "\n".join(lines) + "\n"
