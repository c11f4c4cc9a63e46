"""Tests of sid.export: the workbook read back with openpyxl, CSV/JSON, plots, provenance."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from openpyxl import load_workbook

from sid.export import (
    NO_CI,
    SUPPRESSED,
    Provenance,
    sheet_names,
    write_forest_plots,
    write_table_book,
    write_table_files,
)
from sid.export import plots as plots_module
from sid.export.plots import _halves
from sid.export.provenance import display_path
from sid.parallel import can_fork
from sid.tables import TABLE_COLUMNS, Suppression, TableResult

needs_fork = pytest.mark.skipif(not can_fork(), reason="no fork here (Windows, macOS): only the "
                                                      "sequential path runs")

GROUPS = {1: "Belgisch", 2: "Marokkaans", 3: "Turks", 4: "Pools", 5: "Roemeens",
          6: "Congolees", 7: "Afghaans"}


def _frame(n, est, *, section="", section_label="", panel="2022", panel_label="2022",
           kind="estimate", rule=None, seed=0):
    rule = rule or Suppression()
    rng = np.random.default_rng(seed)
    k = len(n)
    est = np.asarray(est, dtype=float)
    se = rng.uniform(0.5, 3, k)
    sup, flag = rule.apply(np.asarray(n))
    p = rng.uniform(0, 0.2, k)
    return pd.DataFrame({
        "section": section, "section_label": section_label, "panel": panel,
        "panel_label": panel_label, "kind": kind, "group": list(GROUPS)[:k],
        "group_label": list(GROUPS.values())[:k], "is_reference": [True] + [False] * (k - 1),
        "estimate": est, "se": se, "ci_low": est - 1.96 * se, "ci_high": est + 1.96 * se,
        "ci_method": "logit", "conf_level": 0.95, "df": 100.0, "n": np.asarray(n, dtype=np.int64),
        "n_weighted": np.asarray(n) * 10.5, "p_value": p, "significant": p < 0.05,
        "suppressed": sup, "flagged": flag,
    }, columns=list(TABLE_COLUMNS))


def _tables():
    t1 = TableResult(id="werk", title="Niet correct behandeld op het werk, naar herkomst",
                     frame=_frame([500, 420, 29, 45, 300, 60, 10], [12.3, 25.1, 40.0, 18.2,
                                                                    22.2, 38.9, 50.0]),
                     reference_label="Belgisch", subtitle="Basis: personen aan het werk",
                     footnotes=("Vraag: Bent u ... ?",))
    a = _frame([200, 150, 90], [40.0, 55.5, 61.2], section="reden_herkomst",
               section_label="herkomst")
    b = _frame([200, 150, 90], [10.0, 20.5, 30.25], section="reden_taal",
               section_label="taal", seed=1)
    t2 = TableResult(id="redenen", title="Redenen", frame=pd.concat([a, b], ignore_index=True),
                     reference_label="Belgisch", decimals=2)
    p17 = _frame([400, 300, 40], [10.0, 20.0, 30.0], panel="2017", panel_label="2017")
    p22 = _frame([410, 310, 20], [12.0, 24.0, 33.0], panel="2022", panel_label="2022", seed=3)
    d = _frame([400, 300, 20], [2.0, 4.0, 3.0], panel="diff", panel_label="verschil",
               kind="difference", seed=4)
    d["suppressed"] = [False, False, True]
    d["flagged"] = False
    t3 = TableResult(id="werk_golven", title="Werk 2017 en 2022",
                     frame=pd.concat([p17, p22, d], ignore_index=True),
                     reference_label="Belgisch")
    mean = _frame([500, 400], [6.1, 5.4])
    mean.loc[1, ["ci_low", "ci_high"]] = np.nan  # no CI computable
    t4 = TableResult(id="vertrouwen", title="Vertrouwen (gemiddelde 0-10)", frame=mean,
                     unit="mean", decimals=2, reference_label="Belgisch")
    return [t1, t2, t3, t4]


@pytest.fixture()
def inputs(tmp_path):
    files = []
    for role, name, text in (("data", "sid2022.sav", "data"), ("codebook", "sid.yaml", "cb"),
                             ("spec", "spec.yaml", "spec")):
        p = tmp_path / name
        p.write_text(text)
        files.append((role, p))
    return files


@pytest.fixture()
def book(tmp_path, inputs):
    prov = Provenance.from_files(inputs, weight="base_wt", command="sid tables spec.yaml")
    path = write_table_book(_tables(), tmp_path / "book.xlsx", provenance=prov)
    return path, prov


def _sheet_rows(ws):
    return [[c.value for c in row] for row in ws.iter_rows()]


def test_every_value_equals_its_estimate(book):
    path, _ = book
    wb = load_workbook(path)
    tables = _tables()
    for t, name in zip(tables, sheet_names(tables), strict=True):
        ws = wb[name]
        panels = list(dict.fromkeys(t.frame["panel"]))
        # locate rows: group labels in column A, sections as bold headers
        section = ""
        sections = set(t.frame["section"])
        label_to_section = dict(zip(t.frame["section_label"], t.frame["section"], strict=False))
        checked = 0
        for r in range(6, ws.max_row + 1):
            a = ws.cell(row=r, column=1).value
            if a is None:
                break
            if a in label_to_section and sections != {""}:
                section = label_to_section[a]
                continue
            group_label = a.replace(" (referentiegroep)", "")
            for pi, p in enumerate(panels):
                rec = t.frame[(t.frame["section"] == section) & (t.frame["panel"] == p)
                              & (t.frame["group_label"] == group_label)]
                assert len(rec) == 1, (name, r, a)
                rec = rec.iloc[0]
                c0 = 2 + 5 * pi
                # value, marks beside it, CI lower, CI upper, n (or p for a change)
                vals = [ws.cell(row=r, column=c0 + j).value for j in range(5)]
                marks = (vals[1] or "").split()
                if rec["suppressed"]:
                    assert [vals[0], vals[2], vals[3]] == [SUPPRESSED] * 3
                elif np.isnan(rec["ci_low"]):
                    assert vals[0] == pytest.approx(rec["estimate"], rel=1e-14)
                    assert vals[2:4] == [NO_CI, NO_CI]
                else:
                    # openpyxl writes 16 significant digits: equal to the last ulp or so
                    assert vals[0] == pytest.approx(rec["estimate"], rel=1e-14)
                    assert vals[2] == pytest.approx(rec["ci_low"], rel=1e-14)
                    assert vals[3] == pytest.approx(rec["ci_high"], rel=1e-14)
                    fmt = ws.cell(row=r, column=c0).number_format
                    if rec["kind"] == "estimate":
                        assert fmt == ("0." + "0" * t.decimals)
                    else:  # a change: signed, at least the table's decimals
                        assert fmt.startswith('"+"0.' + "0" * t.decimals)
                if rec["kind"] == "estimate":
                    assert vals[4] == rec["n"]
                    assert ("(!)" in marks) == bool(rec["flagged"] and not rec["suppressed"])
                elif not rec["suppressed"]:
                    assert vals[4] == pytest.approx(rec["p_value"], rel=1e-14)
                assert ("*" in marks) == bool(rec["significant"] and not rec["suppressed"])
                checked += 1
        assert checked == len(t.frame), name


def test_suppression_rule_and_footnotes(book):
    path, _ = book
    wb = load_workbook(path)
    ws = wb["werk"]
    rows = _sheet_rows(ws)
    table_rows = rows[: [r[0] for r in rows].index("Noten")]
    by_label = {r[0]: r for r in table_rows if r and r[0] in GROUPS.values()}
    turks = by_label["Turks"]
    assert [turks[1], turks[3], turks[4]] == [SUPPRESSED] * 3  # n = 29
    assert turks[5] == 29
    assert "(!)" in by_label["Pools"][2].split()  # n = 45: marked right beside the value
    assert "(!)" not in (by_label["Congolees"][2] or "")  # n = 60: neither
    assert by_label["Afghaans"][1] == SUPPRESSED  # n = 10
    text = "\n".join(str(r[0]) for r in rows if r and r[0])
    assert "kleiner dan 30" in text
    assert "30 tot 49" in text
    assert "Vraag: Bent u ... ?" in text
    assert ws.freeze_panes == "B6"
    assert ws["A1"].value == "Niet correct behandeld op het werk, naar herkomst"
    assert ws["B5"].value == "%"
    assert ws["C5"].value == "opm."
    assert ws["D5"].value == "95%-BI onder"
    assert ws["E5"].value == "95%-BI boven"
    assert ws["F5"].value == "n"  # "n: ongewogen aantal" in the notes
    assert len(ws._charts) == 1


def test_no_ci_is_explained(book):
    path, _ = book
    ws = load_workbook(path)["vertrouwen"]
    text = [str(r[0]) for r in _sheet_rows(ws) if r and r[0]]
    assert any(t.startswith("n.b.: geen betrouwbaarheidsinterval") for t in text)
    assert not any(t.startswith("n.b.: geen") for t in
                   (str(r[0]) for r in _sheet_rows(load_workbook(path)["werk"]) if r and r[0]))


def test_suppression_rule_boundaries():
    rule = Suppression(below=30, flag_below=50)
    sup, flag = rule.apply(np.array([0, 29, 30, 49, 50, 1000]))
    assert sup.tolist() == [True, True, False, False, False, False]
    assert flag.tolist() == [False, False, True, True, False, False]


def test_provenance_sheet_names_inputs_with_sha256(book, inputs):
    path, prov = book
    wb = load_workbook(path)
    ws = wb["Herkomst van de cijfers"]
    cells = {str(c.value) for row in ws.iter_rows() for c in row if c.value is not None}
    for _, p in inputs:
        # relative to the folder the command ran in, never an absolute path
        assert display_path(p) in cells
        assert str(p) not in cells and not any(c.startswith("/") for c in cells)
        assert hashlib.sha256(Path(p).read_bytes()).hexdigest() in cells
    assert "base_wt" in cells
    assert "sid tables spec.yaml" in cells
    assert "Toelichting" in wb.sheetnames
    assert wb.sheetnames[0] == "Inhoud"


def test_no_respondent_level_rows(book):
    """Every sheet is small: aggregates only (rows <= tables' rows + headers and notes)."""
    path, _ = book
    wb = load_workbook(path)
    for ws in wb.worksheets:
        assert ws.max_row < 60, ws.title


def test_english_book(tmp_path, inputs):
    prov = Provenance.from_files(inputs, weight="w", command="c")
    path = write_table_book(_tables(), tmp_path / "en.xlsx", provenance=prov, lang="en")
    wb = load_workbook(path)
    assert {"Contents", "Method", "Provenance"} <= set(wb.sheetnames)
    assert wb["werk"]["D5"].value == "95% CI lower"
    assert wb["werk"]["F5"].value == "n"


def test_atomic_write_leaves_no_temp_files(tmp_path, inputs):
    prov = Provenance.from_files(inputs, weight="w", command="c")
    (tmp_path / "out").mkdir()  # sid never creates the folders above an output
    write_table_book(_tables(), tmp_path / "out" / "b.xlsx", provenance=prov)
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["b.xlsx"]


def test_csv_and_json(tmp_path, inputs):
    tables = _tables()
    paths = write_table_files(tables, tmp_path / "csv", fmt="csv")
    assert len(paths) == len(tables)
    back = pd.read_csv(paths[0])
    t = tables[0].frame
    ok = ~t["suppressed"].to_numpy()
    np.testing.assert_array_equal(back["estimate"].to_numpy()[ok], t["estimate"].to_numpy()[ok])
    assert back["estimate"].isna().to_numpy()[~ok].all()
    prov = Provenance.from_files(inputs, weight="w", command="c")
    jpaths = write_table_files(tables, tmp_path / "json", fmt="json", provenance=prov)
    payload = json.loads(jpaths[1].read_text())
    assert payload["id"] == "redenen"
    assert len(payload["rows"]) == len(tables[1].frame)
    assert payload["provenance"]["inputs"][0]["sha256"] == hashlib.sha256(b"data").hexdigest()


def test_forest_plots(tmp_path):
    paths = write_forest_plots(_tables(), tmp_path / "png")
    assert len(paths) == 4
    for p in paths:
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_halves_are_balanced_and_complete(tmp_path: Path) -> None:
    tables = _tables()
    jobs = [(t, tmp_path / f"{i}.png") for i, t in enumerate(tables)]
    here, there = _halves(jobs)
    assert here and there
    assert sorted(str(p) for _, p in here + there) == sorted(str(p) for _, p in jobs)
    rows = [sum(len(t.frame) + 10 for t, _ in half) for half in (here, there)]
    assert abs(rows[0] - rows[1]) <= max(len(t.frame) + 10 for t in tables)


def test_parallel_and_sequential_plots_are_the_same_files(tmp_path: Path) -> None:
    tables = _tables()
    one = write_forest_plots(tables, tmp_path / "one", parallel=False)
    two = write_forest_plots(tables, tmp_path / "two", parallel=True)
    assert [p.name for p in one] == [p.name for p in two]
    assert len(one) == 4
    for a, b in zip(one, two, strict=True):
        assert a.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert a.read_bytes() == b.read_bytes(), a.name
    assert sorted(os.listdir(tmp_path / "two")) == sorted(p.name for p in two)  # no temp files


@needs_fork
def test_a_plot_failing_in_the_child_leaves_no_plot(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    parent, draw = os.getpid(), plots_module._draw

    def draw_here_only(*args: object) -> None:
        if os.getpid() != parent:
            raise RuntimeError("the child cannot draw")
        draw(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(plots_module, "_draw", draw_here_only)
    (tmp_path / "png").mkdir()
    (tmp_path / "png" / "werk.png").write_bytes(b"old")
    with pytest.raises(RuntimeError, match="the child cannot draw"):
        write_forest_plots(_tables(), tmp_path / "png")
    # all or nothing: no new plot, the old file untouched, no temporary file left
    assert os.listdir(tmp_path / "png") == ["werk.png"]
    assert (tmp_path / "png" / "werk.png").read_bytes() == b"old"


@needs_fork
def test_a_plot_child_that_dies_leaves_no_plot(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    parent = os.getpid()

    def die_in_child(*args: object) -> None:
        if os.getpid() != parent:
            os._exit(9)

    monkeypatch.setattr(plots_module, "_draw", die_in_child)
    with pytest.raises(ChildProcessError, match=r"drawing the forest plots: its child process "
                                                r"ended without a result \(exit code 9\)"):
        write_forest_plots(_tables(), tmp_path / "png")
    assert os.listdir(tmp_path / "png") == []


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice (soffice) not installed")
def test_libreoffice_converts_the_book(book, tmp_path):
    path, _ = book
    out = tmp_path / "pdf"
    res = subprocess.run(["soffice", "--headless", "--convert-to", "pdf", "--outdir", str(out),
                          str(path)], capture_output=True, text=True, timeout=180)
    assert res.returncode == 0, res.stderr
    assert (out / "book.pdf").stat().st_size > 1000


def test_format_crosstab_and_book_helpers(tmp_path):
    from sid.design import Design
    from sid.errors import InputError
    from sid.export import book_inputs, command_line, format_crosstab, write_book
    from sid.tables import crosstab

    ref = Path(__file__).parent / "reference" / "data" / "crosstab_apistrat.csv"
    res = crosstab(Design(pd.read_csv(ref), strata="stype", weight="pw", fpc="fpc"),
                   "stype", "awards", where="sch_wide == 2", percent="col", ci="t")
    table = format_crosstab(res, "table").splitlines()
    assert table[0] == ("stype x awards (basis: sch_wide == 2): verdeling van stype binnen "
                        "elke categorie van awards (kolompercentages: elke kolom telt op tot "
                        "100%); 95%-BI (t)")
    assert table[1].split() == ["rij", "kolom", "%", "BI", "gewogen", "aantal", "n"]
    # weighted counts as counts: whole numbers with thousands separators, no 1.2e+06
    counts = [line.split()[-2] for line in table[2:2 + len(res.cells)]]
    assert counts == [f"{c:,.0f}".replace(",", ".") for c in res.cells["count"]]
    assert not any("e+" in line for line in table)
    assert len(table) == 2 + len(res.cells) + 2
    first = res.cells.iloc[0]
    assert f"{100 * first.estimate:.1f}" in table[2]
    payload = json.loads(format_crosstab(res, "json"))
    assert payload["where"] == "sch_wide == 2" and payload["n_total"] == res.n_total
    assert len(payload["cells"]) == len(res.cells)
    cells_csv, tests_csv = format_crosstab(res, "csv").split("\n\n")
    assert cells_csv.splitlines()[0].startswith("row,col,row_label")
    assert tests_csv.splitlines()[0] == "test,statistic,df_num,df_den,p_value,method"
    with pytest.raises(InputError, match="unknown format"):
        format_crosstab(res, "xml")
    with pytest.raises(InputError, match="unknown format"):
        write_book([], tmp_path / "x", provenance=None, fmt="pdf")  # type: ignore[arg-type]
    assert book_inputs(["a.sav"], "cb.yaml", "s.yaml", ["w.sav"],
                       lineage=[("weighting_spec", "ws.yaml")], origin_rules="o.yaml") == [
        ("data", Path("a.sav")), ("weights", Path("w.sav")),
        ("weighting_spec", Path("ws.yaml")), ("codebook", Path("cb.yaml")),
        ("origin_rules", Path("o.yaml")), ("spec", Path("s.yaml"))]
    assert command_line(["tables", "my spec.yaml", "--out", "b.xlsx"]) == \
        "sid tables 'my spec.yaml' --out b.xlsx"
    # absolute paths (also WAVE=PATH) are shown relative to the folder the command ran in
    here = Path.cwd()
    assert command_line(["tables", str(here / "s.yaml"), "--data", f"2022={here / 'a.sav'}"]) \
        == "sid tables s.yaml --data 2022=a.sav"


def test_same_seed_gives_the_same_content_hash(synthetic_dir, tmp_path):
    """Issue 11 item 6: two runs of `sid synth` with the same seed hold the same data; the
    SPSS header records when a file was written, so the provenance compares content hashes
    (sid.export.provenance.data_content_sha256), which must be identical, while a changed
    value changes it."""
    import time
    from dataclasses import replace

    from sid.export.provenance import data_content_sha256
    from sid.io import read_wave, write_wave
    from sid.synthetic import synthesise

    time.sleep(1.1)  # a later second in the header than the session's files
    again = tmp_path / "again"
    synthesise(again)  # the default seed, as the session's synthetic files
    for name in ("sid2017.sav", "sid2022.sav", "sid2022_gross.sav", "sid2022.dta"):
        first, label = data_content_sha256(synthetic_dir / name)
        second, _ = data_content_sha256(again / name)
        assert first == second, name
        assert "synthetisch" in (label or "")
    assert (synthetic_dir / "population_margins.csv").read_bytes() == \
        (again / "population_margins.csv").read_bytes()
    wave = read_wave(again / "sid2022.sav")
    data = wave.data.copy()
    data.loc[0, "lft"] = data.loc[0, "lft"] + 1
    changed = tmp_path / "changed.sav"
    write_wave(replace(wave, data=data, meta=replace(wave.meta, sha256=None, path=None)), changed)
    assert data_content_sha256(changed)[0] != data_content_sha256(again / "sid2022.sav")[0]


def test_content_hash_sees_every_value_and_nothing_else(tmp_path) -> None:
    """The content hash (scheme 2: binary columns) changes when any value, missing place,
    text, column name or order changes, and not for another NaN bit pattern or the file's
    write time; the sheet and the JSON export name the scheme."""
    from dataclasses import replace

    import numpy as np
    import pandas as pd

    from sid.export.provenance import CONTENT_SCHEME, data_content_sha256
    from sid.export.texts import TEXTS
    from sid.io import Wave, make_wave

    rng = np.random.default_rng(11)
    n = 200
    base = pd.DataFrame({
        "codes": rng.choice([1.0, 2.0, 3.0, 97.0, np.nan], n),
        "weights": rng.lognormal(size=n),
        "text": pd.array(rng.choice(["a", "b,c", "", "é"], n), dtype="string"),
    })
    wave = make_wave(base, file_label="t")

    def digest(frame: pd.DataFrame, w: Wave = wave) -> str:
        return data_content_sha256(tmp_path / "x.sav", read=lambda _: replace(w, data=frame))[0]

    (tmp_path / "x.sav").write_bytes(b"")
    first = digest(base)
    assert digest(base.copy()) == first
    payload = base.copy()
    bits = np.full(n, np.nan)
    bits.view(np.uint64)[:] |= 1  # another NaN payload, the same missing values
    payload["codes"] = np.where(np.isnan(base["codes"]), bits, base["codes"])
    assert digest(payload) == first
    changes = []
    one = base.copy()
    one.loc[5, "weights"] = np.nextafter(one.loc[5, "weights"], 10)  # one ulp
    changes.append(one)
    moved = base.copy()
    moved["codes"] = base["codes"].fillna(-1).where(base["codes"].notna().shift(1, fill_value=True))
    changes.append(moved)
    text = base.copy()
    text.loc[3, "text"] = "b, c"
    changes.append(text)
    missing_text = base.copy()
    missing_text.loc[3, "text"] = pd.NA
    changes.append(missing_text)
    changes.append(base.rename(columns={"codes": "kodes"}))
    changes.append(base[["weights", "codes", "text"]])
    changes.append(base.iloc[:-1])
    negzero = base.copy()
    negzero.loc[0, "weights"] = 0.0
    other = negzero.copy()
    other.loc[0, "weights"] = -0.0
    assert digest(negzero) != digest(other)
    digests = [digest(frame) for frame in changes]
    assert len(set(digests + [first])) == len(changes) + 1
    for lang in ("nl", "en"):
        assert f" {CONTENT_SCHEME})" in TEXTS[lang]["content_sha256"]


def test_tight_layout_measured_once_is_the_same_layout() -> None:
    """plots._measured_once (the axes measured once per tight_layout) gives the subplot
    parameters of a plain tight_layout, and leaves the axes as they were."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from sid.export.plots import _measured_once

    params = []
    for memo in (False, True):
        fig = Figure(figsize=(8, 6))
        FigureCanvasAgg(fig)
        ax = fig.subplots()
        labels = [f"groep {i} met een lange naam" * (1 + i % 3) for i in range(25)]
        ax.set_yticks(range(25), labels, fontsize=8)
        ax.set_title("titel")
        fig.text(0.01, 0.005, "bijschrift\n" * 3, fontsize=6.5)
        rect = (0, 0.1, 1, 1)
        if memo:
            with _measured_once(fig, ax):
                fig.tight_layout(rect=rect)
            assert "get_tightbbox" not in vars(ax)
        else:
            fig.tight_layout(rect=rect)
        sp = fig.subplotpars
        params.append((sp.left, sp.right, sp.bottom, sp.top))
    assert params[0] == params[1]


def test_content_hash_sees_where_a_stata_letter_is(tmp_path: Path) -> None:
    """A Stata .a-.z letter moved to another row (the data column is NaN in both rows) is
    other content: the letters are hashed in their rows (found by review)."""
    import dataclasses

    from sid.export.provenance import data_content_sha256
    from sid.io import make_wave, read_wave, to_stata_missing, write_wave
    from sid.io.meta import MissingSpec

    def written(name: str, row: int) -> Path:
        values = [1.0, np.nan, 2.0, np.nan, 3.0]
        values[row] = 99.0  # user-missing 99: written as Stata's .a
        wave = make_wave(pd.DataFrame({"x": values}))
        var = dataclasses.replace(wave.meta.variables[0], missing=MissingSpec(values=(99.0,)))
        wave = dataclasses.replace(wave, meta=dataclasses.replace(wave.meta, variables=(var,)))
        path = tmp_path / name
        write_wave(to_stata_missing(wave), path)
        return path

    first, moved, again = written("a.dta", 1), written("b.dta", 3), written("c.dta", 1)
    assert {k: s.to_dict() for k, s in read_wave(first).extended_missing.items()} == \
        {"x": {1: "a"}}
    assert data_content_sha256(first)[0] != data_content_sha256(moved)[0]
    assert data_content_sha256(first)[0] == data_content_sha256(again)[0]
