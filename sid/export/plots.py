"""PNG forest plots of the tables of a book (matplotlib, Agg backend)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from sid.export.files import ordered_unique, sheet_names, write_atomically
from sid.export.texts import localised
from sid.tables import TableResult

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def _save_png(fig: Figure, path: str) -> None:
    fig.savefig(path, dpi=120, format="png")


def write_forest_plots(tables: Sequence[TableResult], out_dir: str | os.PathLike[str], *,
                       lang: str = "nl") -> list[Path]:
    """A PNG forest plot per table (estimate and CI per group; suppressed groups left out)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from sid.io.files import output_folder

    out_dir = output_folder(out_dir)  # created when absent (its parent must exist)
    paths = []
    for t, name in zip(tables, sheet_names(tables), strict=True):
        f = t.frame[(t.frame["kind"] == "estimate")]
        labels, est, lo, hi, colors = [], [], [], [], []
        panels = ordered_unique(f["panel"])
        palette = ["#1f4e79", "#c55a11", "#548235", "#7030a0"]
        for s in ordered_unique(f["section"]):
            for g in ordered_unique(f["group"]):
                for pi, p in enumerate(panels):
                    rec = f[(f["section"] == s) & (f["group"] == g) & (f["panel"] == p)]
                    if rec.empty:
                        continue
                    rec = rec.iloc[0]
                    parts = [str(rec["section_label"])] if str(s) != "" else []
                    parts.append(str(rec["group_label"]))
                    if len(panels) > 1:
                        parts.append(str(rec["panel_label"]))
                    labels.append(" - ".join(parts) + (" (x)" if rec["suppressed"] else ""))
                    ok = not rec["suppressed"]
                    est.append(rec["estimate"] if ok else np.nan)
                    lo.append(rec["ci_low"] if ok else np.nan)
                    hi.append(rec["ci_high"] if ok else np.nan)
                    colors.append(palette[pi % len(palette)])
        y = np.arange(len(labels))[::-1]
        fig, ax = plt.subplots(figsize=(8, 0.35 * len(labels) + 1.5))
        est_a, lo_a, hi_a = (np.asarray(v, dtype=float) for v in (est, lo, hi))
        ax.hlines(y, lo_a, hi_a, colors=colors, lw=2)
        ax.scatter(est_a, y, color=colors, zorder=3)
        ax.set_yticks(y, labels, fontsize=8)
        ax.set_xlabel("%" if t.unit == "percent" else localised(lang, "mean"))
        ax.set_title(t.title, fontsize=10)
        ax.grid(axis="x", alpha=0.3)
        fig.tight_layout()
        target = out_dir / f"{name}.png"
        paths.append(write_atomically(target, partial(_save_png, fig)))
        plt.close(fig)
    return paths
