"""The weighting report: tidy frames per sheet (Dutch), an Excel workbook and a Markdown
summary, from a :class:`~sid.weighting.chain.ChainResult`."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from sid.io import atomic_outputs
from sid.weighting.chain import ChainResult
from sid.weighting.records import summary_table
from sid.weighting.spec import ReplicatesSpec

__all__ = ["report_markdown", "report_tables", "write_report"]


def report_tables(chain: ChainResult,
                  labels: Mapping[Any, str] | None = None) -> dict[str, pd.DataFrame]:
    """The weighting report as tidy frames, one per sheet (Dutch sheet names).

    ``labels`` names the groups (e.g. the value labels of the origin variable).
    """
    steps = []
    for label, rec in chain.steps:
        steps.append({"stap": label, "methode": rec.method, "iteraties": rec.iterations,
                      "geconvergeerd": rec.converged, "max_relatieve_afwijking": rec.max_gap,
                      **{f"voor_{k}": v for k, v in rec.before.as_dict().items()},
                      **{f"na_{k}": v for k, v in rec.after.as_dict().items()}})
    w = chain.weights.to_numpy()
    groups = summary_table(w, None if chain.group is None else chain.group.to_numpy(),
                           labels=labels)
    margins = pd.concat([rec.gaps_frame().assign(stap=label) for label, rec in chain.steps
                         if rec.gaps], ignore_index=True)
    trims = pd.DataFrame([{"stap": label, **{k: (v if np.isscalar(v) or v is None else str(v))
                                            for k, v in rec.params.items()}}
                          for label, rec in chain.steps if label == "trimmen"])
    spec_text = yaml.safe_dump(chain.spec.as_dict(), allow_unicode=True, sort_keys=False)
    reps = chain.replicates
    if reps is None:
        rep_table = pd.DataFrame({"methode": ["geen replicaatgewichten"]})
    else:
        rspec = chain.spec.replicates or ReplicatesSpec()
        sums = reps.weights.sum(axis=0)
        rep_table = pd.DataFrame([{
            "methode": reps.method, "replicaten": reps.replicates, "scale": reps.scale,
            "rscales_min": float(reps.rscales.min()), "rscales_max": float(reps.rscales.max()),
            "mse": reps.mse, "seed": rspec.seed, "strata": rspec.strata,
            "psu": rspec.psu, "som_min": float(sums.min()), "som_max": float(sums.max()),
            "opmerking": "; ".join(("volledige wegingsketen (nonrespons, kalibratie, trimmen) "
                                    "per replicaat", *reps.notes)),
        }])
    return {
        "Stappen": pd.DataFrame(steps),
        "Per herkomst": groups,
        "Marges": margins,
        "Trimmen": trims if not trims.empty else pd.DataFrame({"stap": [], "opmerking": []}),
        "Replicaten": rep_table,
        "Spec": pd.DataFrame({"spec": spec_text.splitlines()}),
    }


def report_markdown(chain: ChainResult, labels: Mapping[Any, str] | None = None) -> str:
    """A short Markdown summary of the weighting report."""
    t = report_tables(chain, labels)
    lines = ["# Wegingsrapport", ""]
    for _, row in t["Stappen"].iterrows():
        lines.append(f"- **{row['stap']}** ({row['methode']}): {row['iteraties']} iteraties, "
                     f"max. relatieve afwijking {row['max_relatieve_afwijking']:.2g}, "
                     f"som gewichten {row['na_sum']:.6g}, ESS {row['na_ess']:.1f}, "
                     f"deff_w {row['na_deff_w']:.3f}")
    if chain.replicates is not None:
        reps = chain.replicates
        lines.append(f"- **replicaatgewichten**: {reps.replicates} x {reps.method} "
                     f"(scale {reps.scale:.6g}), volledige wegingsketen per replicaat")
    lines += ["", "| groep | n | ESS | deff_w | min | mediaan | max | som |", "|---|---|---|---|---|---|---|---|"]
    for _, r in t["Per herkomst"].iterrows():
        lines.append(f"| {r['group']} | {r['n']} | {r['ess']:.1f} | {r['deff_w']:.3f} | {r['min']:.4g} | "
                     f"{r['median']:.4g} | {r['max']:.4g} | {r['sum']:.6g} |")
    lines.append("")
    return "\n".join(lines)


def write_report(chain: ChainResult, path: str | os.PathLike[str],
                 labels: Mapping[Any, str] | None = None) -> tuple[str, str]:
    """Write the Excel report (one sheet per part) and a Markdown summary beside it (same
    name, ``.md``): both files or neither (:func:`sid.io.atomic_outputs`)."""
    out = Path(path)
    tables = report_tables(chain, labels)
    md = out.with_suffix(".md")
    text = report_markdown(chain, labels)
    with atomic_outputs([out, md]) as (tmp_xlsx, tmp_md):
        with pd.ExcelWriter(tmp_xlsx, engine="openpyxl") as xl:
            for sheet, frame in tables.items():
                frame.to_excel(xl, sheet_name=sheet[:31], index=False)
        tmp_md.write_text(text, encoding="utf-8", newline="")
    return str(out), str(md)

