"""Family ``margins``: broken population margins CSVs through ``sid weight`` on a synthetic wave.

Each mutant says what a correct program may do with it: ``refuse`` (exit 2
only), ``either`` (refuse, or weights that meet the ORIGINAL targets: the file
means the same numbers, e.g. Dutch Excel's ``;`` and decimal comma), or
``targets`` (a valid table with other numbers: refuse, or weights that meet
THOSE targets). When ``sid weight`` exits 0 the fuzzer reads the weights back
and computes the weighted margins itself (sex x age band and region, within
origin group, as the shipped 2022 spec rakes), against the targets it parsed
itself from the rows the ``ref_date`` filter keeps.
"""

from __future__ import annotations

import csv
import io
import random
from typing import Any

import numpy as np
import pandas as pd

from fuzzing.core import DATA, Context, Family, save_bytes
from fuzzing.oracle import Finding, cli_findings, snapshot_dirs, snapshot_files
from fuzzing.runner import run_cli

REF_DATE = "2022-01-01"
BREAKS = [25, 35, 45, 55, 65]  # leeftijdsgroep in the shipped 2022 spec
RTOL = 1e-6

Rows = list[list[str]]


def _rows_to_bytes(header: list[str], rows: Rows, *, sep: str = ",", newline: str = "\n",
                   encoding: str = "utf-8") -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=sep, lineterminator=newline)
    w.writerow(header)
    w.writerows(rows)
    return buf.getvalue().encode(encoding)


def targets_of(header: list[str], rows: Rows) -> dict[tuple, float]:
    """{(margin, herkomst, cell...): total} over the rows of the reference date."""
    frame = pd.DataFrame(rows, columns=header)
    frame = frame[frame["ref_date"] == REF_DATE].copy()
    for c in ("herkomst", "geslacht", "leeftijdsgroep", "gewest"):
        frame[c] = frame[c].astype(int)
    frame["count"] = frame["count"].astype(float)
    out: dict[tuple, float] = {}
    for (h, g, a), v in frame.groupby(["herkomst", "geslacht", "leeftijdsgroep"])["count"].sum().items():
        out[("sex_age", h, g, a)] = float(v)
    for (h, r), v in frame.groupby(["herkomst", "gewest"])["count"].sum().items():
        out[("region", h, r)] = float(v)
    return out


def weighted_margins(resp: pd.DataFrame, weights: pd.Series) -> dict[tuple, float]:
    """The same cells, summed over the weighted respondents."""
    frame = resp.assign(w=weights.to_numpy())
    out: dict[tuple, float] = {}
    for (h, g, a), v in frame.groupby(["herkomst", "geslacht", "leeftijdsgroep"])["w"].sum().items():
        out[("sex_age", int(h), int(g), int(a))] = float(v)
    for (h, r), v in frame.groupby(["herkomst", "gewest"])["w"].sum().items():
        out[("region", int(h), int(r))] = float(v)
    return out


def margin_gaps(target: dict[tuple, float], got: dict[tuple, float]) -> list[str]:
    gaps = []
    for key in sorted(set(target) | set(got), key=str):
        t, g = target.get(key, 0.0), got.get(key, 0.0)
        if not np.isfinite(g) or abs(g - t) > RTOL * max(abs(t), 1.0):
            gaps.append(f"{key}: weighted {g:.8g} vs target {t:.8g}")
    return gaps


def mutate(header: list[str], rows: Rows, rng: random.Random
           ) -> tuple[bytes, str, str, Rows | None]:
    """(bytes, what, expectation, rows of a valid table with other numbers or None)."""
    rows = [list(r) for r in rows]
    kept = [i for i, r in enumerate(rows) if r[0] == REF_DATE]
    dropped = [i for i, r in enumerate(rows) if r[0] != REF_DATE]
    ci = header.index("count")
    op = rng.choice(["text_kept", "text_dropped", "blank_kept", "blank_dropped", "nan_kept",
                     "nan_dropped", "negative", "overflow", "inf", "thousands_comma",
                     "thousands_dot", "dutch_excel", "latin1", "empty", "header_only",
                     "ragged_long", "ragged_short", "dup_kept", "dup_dropped", "wrong_count_header",
                     "wrong_var_header", "shuffle", "crlf", "bom", "change", "drop_kept_row",
                     "zero_kept", "extra_column", "huge_finite", "spaces", "float_text"])

    def pick(pool: list[int]) -> int:
        return rng.choice(pool)

    if op in ("text_kept", "text_dropped"):
        i = pick(kept if op == "text_kept" else dropped)
        rows[i][ci] = rng.choice(["abc", "12a", "n.v.t.", "?", "1 000", "-", "x"])
        return _rows_to_bytes(header, rows), f"{op}@row{i + 2}={rows[i][ci]!r}", "refuse", None
    if op in ("blank_kept", "blank_dropped", "nan_kept", "nan_dropped"):
        i = pick(kept if op.endswith("kept") else dropped)
        rows[i][ci] = "" if op.startswith("blank") else rng.choice(["NaN", "NA", "nan", "null"])
        return _rows_to_bytes(header, rows), f"{op}@row{i + 2}={rows[i][ci]!r}", "refuse", None
    if op in ("negative", "overflow", "inf"):
        i = pick(kept if rng.random() < 0.7 else dropped)
        rows[i][ci] = {"negative": "-" + rows[i][ci], "overflow": rng.choice(["1e400", "9" * 400]),
                       "inf": rng.choice(["inf", "-inf", "Infinity"])}[op]
        return _rows_to_bytes(header, rows), f"{op}@row{i + 2}={rows[i][ci][:20]!r}", "refuse", None
    if op == "thousands_comma":
        for i in kept:
            rows[i][ci] = f"{int(rows[i][ci]):,}"
        return _rows_to_bytes(header, rows), op, "either", None
    if op == "thousands_dot":
        for i in kept:
            rows[i][ci] = f"{int(rows[i][ci]):,}".replace(",", ".")
        return _rows_to_bytes(header, rows), op, "either", None
    if op == "dutch_excel":
        for r in rows:
            r[ci] = f"{int(r[ci])},0" if rng.random() < 0.5 else r[ci]
        return _rows_to_bytes(header, rows, sep=";", newline="\r\n"), op, "either", None
    if op == "latin1":
        header2 = [*header, "opmerking"]
        rows2 = [[*r, "België" if k % 7 == 0 else ""] for k, r in enumerate(rows)]
        return _rows_to_bytes(header2, rows2, encoding="latin-1"), op, "either", None
    if op == "empty":
        return b"", op, "refuse", None
    if op == "header_only":
        return _rows_to_bytes(header, []), op, "refuse", None
    if op in ("ragged_long", "ragged_short"):
        i = pick(kept if rng.random() < 0.7 else dropped)
        rows[i] = [*rows[i], "5"] if op == "ragged_long" else rows[i][:-2]
        return _rows_to_bytes(header, rows), f"{op}@row{i + 2}", "refuse", None
    if op in ("dup_kept", "dup_dropped"):
        i = pick(kept if op == "dup_kept" else dropped)
        rows.insert(i, list(rows[i]))
        return _rows_to_bytes(header, rows), f"{op}@row{i + 2}", "refuse", None
    if op == "wrong_count_header":
        h = list(header)
        h[ci] = rng.choice(["aantal", "Count", "count ", ""])
        # "count " differs from "count" only by a trailing space, which the reader strips
        expect = "either" if h[ci].strip() == header[ci] else "refuse"
        return _rows_to_bytes(h, rows), f"{op}={h[ci]!r}", expect, None
    if op == "wrong_var_header":
        h = list(header)
        j = rng.choice([k for k in range(len(h)) if k != ci])
        h[j] = h[j].upper()
        return _rows_to_bytes(h, rows), f"{op}={h[j]!r}", "refuse", None
    if op == "shuffle":
        rng.shuffle(rows)
        return _rows_to_bytes(header, rows), op, "either", None
    if op == "crlf":
        return _rows_to_bytes(header, rows, newline="\r\n"), op, "either", None
    if op == "bom":
        return b"\xef\xbb\xbf" + _rows_to_bytes(header, rows), op, "either", None
    if op == "spaces":
        for i in kept:
            rows[i][ci] = f" {rows[i][ci]} "
        return _rows_to_bytes(header, rows), op, "either", None
    if op == "float_text":
        for i in kept:
            rows[i][ci] = f"{float(rows[i][ci]):.1f}"
        return _rows_to_bytes(header, rows), op, "either", None
    if op == "extra_column":
        return _rows_to_bytes([*header, "bron"], [[*r, "Statbel"] for r in rows]), op, "either", None
    if op == "change":
        for i in rng.sample(kept, k=min(len(kept), rng.randint(1, 10))):
            rows[i][ci] = str(max(1, int(int(rows[i][ci]) * rng.uniform(0.5, 2.0))))
        return _rows_to_bytes(header, rows), op, "targets", rows
    if op == "drop_kept_row":
        i = pick(kept)
        del rows[i]
        return _rows_to_bytes(header, rows), f"{op}@row{i + 2}", "targets", rows
    if op == "zero_kept":
        i = pick(kept)
        rows[i][ci] = "0"
        return _rows_to_bytes(header, rows), f"{op}@row{i + 2}", "targets", rows
    # huge_finite
    i = pick(kept)
    rows[i][ci] = str(10**15)
    return _rows_to_bytes(header, rows), f"{op}@row{i + 2}", "targets", rows


class MarginsFamily(Family):
    name = "margins"
    cost = 2.0

    def setup(self, ctx: Context) -> None:
        if "margins_base" in ctx.cache:
            return
        text = (ctx.synth / "population_margins.csv").read_text(encoding="utf-8")
        reader = list(csv.reader(io.StringIO(text)))
        header, rows = reader[0], [r for r in reader[1:] if r]
        import pyreadstat

        resp, _ = pyreadstat.read_sav(str(ctx.synth / "sid2022.sav"),
                                      usecols=["respid", "herkomst_frame", "geslacht", "lft",
                                               "gewest"])
        resp = resp.rename(columns={"herkomst_frame": "herkomst"})
        resp["leeftijdsgroep"] = np.searchsorted(BREAKS, resp["lft"].to_numpy(), side="right") + 1
        ctx.cache["margins_base"] = (header, rows, resp.set_index("respid"),
                                     targets_of(header, rows))

    def one(self, rng: random.Random, i: int, ctx: Context) -> list[Finding]:
        header, rows, resp, original = ctx.cache["margins_base"]
        data, what, expect, new_rows = mutate(header, rows, rng)
        case = ctx.case_dir(self.name, i)
        margins = case / "margins.csv"
        margins.write_bytes(data)
        out = case / "gewogen.sav"
        wave, gross = ctx.synth / "sid2022.sav", ctx.synth / "sid2022_gross.sav"
        spec = DATA / "weighting" / "sid2022.yaml"
        args = ["weight", str(wave), "--spec", str(spec), "--gross", str(gross), "--margins",
                str(margins), "--out", str(out)]
        inputs = snapshot_files([wave, gross, spec, margins])
        dirs = snapshot_dirs([case])
        recipe: dict[str, Any] = {"mutation": what, "expect": expect}
        command = "sid " + " ".join(args)
        res = run_cli(args, timeout=ctx.timeout, memory=ctx.memory)
        found = cli_findings(self.name, recipe, command, res, inputs_before=inputs,
                             dirs_before=dirs)
        if res.status == "exit" and res.exit_code == 0 and out.is_file():
            import pyreadstat

            got, _ = pyreadstat.read_sav(str(out), usecols=["respid", "final_wt"])
            w = got.set_index("respid")["final_wt"].reindex(resp.index)
            gaps_orig = margin_gaps(original, weighted_margins(resp, w))
            if expect == "refuse":
                kind = "accepted-bad-margins" if not gaps_orig else "wrong-weights"
                detail = ("exit 0 on margins that must be refused"
                          + ("" if not gaps_orig else f"; weights off the targets: {gaps_orig[0]}"
                             f" (+{len(gaps_orig) - 1} more); weights sum {w.sum():.6g}"))
                found.append(Finding(self.name, kind, detail, recipe, command))
            elif expect == "either" and gaps_orig:
                found.append(Finding(self.name, "wrong-weights",
                                     f"exit 0 but weights miss the targets: {gaps_orig[0]} "
                                     f"(+{len(gaps_orig) - 1} more); sum {w.sum():.6g}",
                                     recipe, command))
            elif expect == "targets":
                gaps = margin_gaps(targets_of(header, new_rows or rows),
                                   weighted_margins(resp, w))
                if gaps:
                    found.append(Finding(self.name, "wrong-weights",
                                         f"exit 0 but weights miss the file's targets: {gaps[0]} "
                                         f"(+{len(gaps) - 1} more)", recipe, command))
        if found:
            saved = save_bytes(ctx.findings, f"margins-{i}.csv", data)
            for f in found:
                f.saved = [saved] if saved else []
                f.cause = what.split("@")[0].split("=")[0]
        ctx.done(case)
        return found
