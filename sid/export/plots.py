"""PNG forest plots of the tables of a book (matplotlib, Agg backend)."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from sid.export.files import ordered_unique, sheet_names
from sid.export.texts import localised
from sid.tables import TableResult

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure


@contextmanager
def _measured_once(fig: Figure, ax: Axes) -> Iterator[None]:
    """Within the block, ``ax``'s tight box is measured once per renderer, figure size and
    axes place. ``tight_layout(rect=...)`` measures it twice with nothing moved in between
    (the second pass fits the first's result into ``rect``); the tick labels' text
    extents are then the costliest part of a plot. The same numbers, half the work."""
    measure = ax.get_tightbbox
    seen: dict[tuple[Any, ...], Any] = {}

    def once(renderer: Any = None, *args: Any, **kwargs: Any) -> Any:
        key = (id(renderer), tuple(fig.get_size_inches()), fig.dpi, ax.get_position().bounds,
               args, tuple(sorted(kwargs.items())))
        try:
            hash(key)
        except TypeError:  # e.g. a list of extra artists: measure as matplotlib would
            return measure(renderer, *args, **kwargs)
        if key not in seen:
            seen[key] = measure(renderer, *args, **kwargs)
        return seen[key]

    ax.get_tightbbox = once  # type: ignore[method-assign]
    try:
        yield
    finally:
        del ax.get_tightbbox


def _save_png(fig: Figure, path: str) -> None:
    # zlib level 3 instead of PIL's 6: the same pixels, a third less time, ~5% larger files
    fig.savefig(path, dpi=120, format="png", pil_kwargs={"compress_level": 3})


def plot_caption(t: TableResult, lang: str = "nl", source: str | None = None) -> str:
    """The caption under a plot: base and wave (the subtitle), weight, CI method, n range,
    reference group and source, from the table's own texts."""
    f = t.frame[(t.frame["kind"] == "estimate") & ~t.frame["suppressed"].astype(bool)]
    nl = lang != "en"
    parts = [t.subtitle] if t.subtitle else []
    weight = next((n for n in t.footnotes if n.startswith(("Gewicht:", "Weight:"))), None)
    if weight:
        parts.append(weight.split(". ")[0].rstrip("."))
    methods = sorted(set(f["ci_method"]))
    level = f"{float(f['conf_level'].iloc[0]) * 100:g}" if len(f) else "95"
    names = {"logit": "logit", "beta": "Korn-Graubard (b)", "t": "t", "wald": "normaal" if nl
             else "normal"}
    parts.append(f"{level}%-{'BI' if nl else 'CI'}: "
                 + ", ".join(names.get(m, m) for m in methods))
    if len(f):
        parts.append(f"n = {int(f['n'].min())}-{int(f['n'].max())} "
                     f"({'ongewogen' if nl else 'unweighted'})")
    if t.reference_label:
        parts.append(f"{'referentiegroep' if nl else 'reference group'}: {t.reference_label}"
                     " (ref.)")
    if t.frame["suppressed"].astype(bool).any():
        parts.append(f"(x) {'niet getoond, n <' if nl else 'not shown, n <'} "
                     f"{t.suppression.below}")
    if source:
        parts.append(f"{'Bron' if nl else 'Source'}: {source}")
    return "; ".join(parts)


def write_forest_plots(tables: Sequence[TableResult], out_dir: str | os.PathLike[str], *,
                       lang: str = "nl", source: str | None = None,
                       parallel: bool = True) -> list[Path]:
    """A PNG forest plot per table (estimate and CI per group; suppressed groups left out),
    the reference group marked (bold label, dotted line at its value) and a caption
    (:func:`plot_caption`) under it.

    All plots or none (:func:`sid.io.atomic_outputs`). With ``parallel`` and more than
    one plot, a forked child draws about half of them into their temporary files while
    this process draws the rest (:func:`sid.parallel.run_pair`; one after the
    other where there is no ``fork``): the same files either way.
    """
    from sid.io import atomic_outputs
    from sid.io.files import output_folder
    from sid.parallel import run_pair

    out_dir = output_folder(out_dir)  # created when absent (its parent must exist)
    paths = [out_dir / f"{name}.png" for name in sheet_names(tables)]
    with atomic_outputs(paths) as temps:
        jobs = list(zip(tables, temps, strict=True))
        here, there = _halves(jobs)
        run_pair(partial(_draw_all, here, lang, source), partial(_draw_all, there, lang, source),
                 what="drawing the forest plots", parallel=parallel and len(jobs) > 1)
    return paths


def _halves(jobs: list[tuple[TableResult, Path]]
            ) -> tuple[list[tuple[TableResult, Path]], list[tuple[TableResult, Path]]]:
    """Split the plots in two of about equal drawing time (a plot's time grows with its
    rows: the tick labels are the costliest part), the largest first to the lighter half."""
    halves: tuple[list[tuple[TableResult, Path]], list[tuple[TableResult, Path]]] = ([], [])
    load = [0, 0]
    for job in sorted(jobs, key=lambda j: -len(j[0].frame)):
        side = 0 if load[0] <= load[1] else 1
        halves[side].append(job)
        load[side] += len(job[0].frame) + 10  # + the title, axes and caption
    return halves


def _draw_all(jobs: Sequence[tuple[TableResult, Path]], lang: str, source: str | None) -> None:
    for t, path in jobs:
        _draw(t, str(path), lang, source)


def _draw(t: TableResult, path: str, lang: str, source: str | None) -> None:
    """Draw the forest plot of ``t`` into the PNG file ``path``."""
    import textwrap

    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    f = t.frame[(t.frame["kind"] == "estimate")]
    labels, est, lo, hi, colors, is_ref = [], [], [], [], [], []
    panels = ordered_unique(f["panel"])
    palette = ["#1f4e79", "#c55a11", "#548235", "#7030a0"]
    first: dict[tuple[Any, Any, Any], dict[str, Any]] = {}
    for row in f.to_dict("records"):  # the first row of each (section, group, panel)
        first.setdefault((row["section"], row["group"], row["panel"]), row)
    for s in ordered_unique(f["section"]):
        for g in ordered_unique(f["group"]):
            for pi, p in enumerate(panels):
                rec = first.get((s, g, p))
                if rec is None:
                    continue
                parts = [str(rec["section_label"])] if str(s) != "" else []
                parts.append(str(rec["group_label"]))
                if len(panels) > 1:
                    parts.append(str(rec["panel_label"]))
                ref = bool(rec["is_reference"])
                labels.append(" - ".join(parts) + (" (ref.)" if ref else "")
                              + (" (x)" if rec["suppressed"] else ""))
                is_ref.append(ref)
                ok = not rec["suppressed"]
                est.append(rec["estimate"] if ok else np.nan)
                lo.append(rec["ci_low"] if ok else np.nan)
                hi.append(rec["ci_high"] if ok else np.nan)
                colors.append(palette[pi % len(palette)])
    y = np.arange(len(labels))[::-1]
    caption = textwrap.fill(plot_caption(t, lang, source), 120)
    n_lines = caption.count("\n") + 1
    # a bare Agg figure: no pyplot figure manager to create and close per plot
    fig = Figure(figsize=(8, 0.35 * len(labels) + 1.5 + 0.16 * n_lines))
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    est_a, lo_a, hi_a = (np.asarray(v, dtype=float) for v in (est, lo, hi))
    ax.hlines(y, lo_a, hi_a, colors=colors, lw=2)
    ax.scatter(est_a, y, color=colors, zorder=3)
    ax.set_yticks(y, labels, fontsize=8)
    for tick, ref in zip(ax.get_yticklabels(), is_ref, strict=True):
        if ref:
            tick.set_fontweight("bold")
    single = len(panels) == 1 and len(ordered_unique(f["section"])) == 1
    for e, ref in zip(est_a, is_ref, strict=True):
        if ref and single and np.isfinite(e):
            ax.axvline(e, color="#7f7f7f", ls=":", lw=1, zorder=1)
    ax.set_xlabel("%" if t.unit == "percent" else localised(lang, "mean"))
    ax.set_title(t.title, fontsize=10)
    ax.grid(axis="x", alpha=0.3)
    fig.text(0.01, 0.005, caption, fontsize=6.5, va="bottom", ha="left")
    with _measured_once(fig, ax):
        fig.tight_layout(rect=(0, 0.02 + 0.035 * n_lines * 3
                               / max(3, len(labels) * 0.35 + 1.5), 1, 1))
    # tight_layout leaves a placeholder layout engine behind, which makes savefig
    # lay the figure out (draw it) once more before drawing it: drop it
    fig.set_layout_engine(None)
    _save_png(fig, path)
