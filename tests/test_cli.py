"""The `sid demo` pipeline end to end: synthesise, validate, weight, table book."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import numpy as np
import openpyxl
import pandas as pd
import pytest
from click.testing import CliRunner

from sid.cli import main
from sid.io import file_sha256, read_wave


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    out = tmp_path_factory.mktemp("demo")
    result = CliRunner().invoke(main, ["demo", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "[4/4] table book" in result.output
    assert "0 error(s)" in result.output
    return out, result.output


@pytest.fixture(scope="module")
def demo_dir(demo_run: tuple[Path, str]) -> Path:
    return demo_run[0]


def test_demo_writes_every_output(demo_dir: Path) -> None:
    for name in ["sid_kerntabellen.xlsx", "sid2017_gewogen.sav", "sid2022_gewogen.sav",
                 "weegrapport_2017.xlsx", "weegrapport_2022.md", "data/truth.json"]:
        assert (demo_dir / name).is_file(), name
    assert len(list((demo_dir / "figuren").glob("*.png"))) >= 12


@pytest.mark.parametrize("year", [2017, 2022])
def test_demo_weights_reproduce_the_population_margins(demo_dir: Path, year: int) -> None:
    wave = read_wave(demo_dir / f"sid{year}_gewogen.sav")
    margins = pd.read_csv(demo_dir / "data" / "population_margins.csv")
    margins = margins[margins["ref_date"] == f"{year}-01-01"]
    data = wave.data
    group = "herkomst" if year == 2017 else "herkomst_frame"
    age = "leeftijd" if year == 2017 else "lft"
    band = np.searchsorted([25, 35, 45, 55, 65], data[age].to_numpy(), side="right") + 1
    achieved = data.assign(band=band).groupby([group, "geslacht", "band"])["final_wt"].sum()
    target = margins.groupby(["herkomst", "geslacht", "leeftijdsgroep"])["count"].sum()
    target = target[target.index.get_level_values(0).isin(data[group].unique())]
    np.testing.assert_allclose(achieved.to_numpy(), target.to_numpy(), rtol=1e-8)
    # labels and missing codes of the input wave survive in the weighted file
    source = read_wave(demo_dir / "data" / f"sid{year}.sav")
    werk = "werk_behandeld" if year == 2017 else "werkbeh"
    assert wave.meta.variable(werk).missing == source.meta.variable(werk).missing
    assert wave.meta.variable(werk).value_labels == source.meta.variable(werk).value_labels


def test_demo_book_provenance_names_the_inputs(demo_dir: Path) -> None:
    book = openpyxl.load_workbook(demo_dir / "sid_kerntabellen.xlsx")
    visible = [ws.title for ws in book.worksheets if ws.sheet_state == "visible"]
    assert visible[-2:] == ["Toelichting", "Herkomst van de cijfers"]
    text = "\n".join(str(c.value) for row in book["Herkomst van de cijfers"].iter_rows()
                     for c in row if c.value is not None)
    for name in ["data/sid2017.sav", "data/sid2022.sav", "sid2022_gewogen.sav"]:
        assert file_sha256(demo_dir / name) in text, name
    table = book["werk_niet_correct"]
    notes = [c.value for row in table.iter_rows() for c in row if isinstance(c.value, str)]
    # the weight in words (from the weighting spec, via the weighted file's lineage) and by name
    assert any(v.startswith("Gewicht: ontwerpgewicht, non-respons per klasse")
               and "(variabele final_wt)" in v for v in notes)
    for name in ["sid:data/weighting/sid2022.yaml", "data/population_margins.csv",
                 "data/sid2022_gross.sav"]:
        assert name in text, name
    # relative to the folder the command ran in, never absolute
    assert not any(line.startswith("/") or " /" in line for line in text.splitlines())


def test_demo_model_sheet_covers_the_synthetic_truth(demo_dir: Path) -> None:
    """The demo book's 'ruw en gecorrigeerd' sheet (final weights): the adjusted margins'
    95% intervals cover the census predictive margins of truth.json (at most one miss)."""
    import json

    truth = json.loads((demo_dir / "data" / "truth.json").read_text(encoding="utf-8"))
    groups = truth["waves"]["2022"]["models"]["werk_niet_correct"]["groups"]
    ws = openpyxl.load_workbook(demo_dir / "sid_kerntabellen.xlsx")["werk_model"]
    rows = {str(r[0]).replace(" (referentiegroep)", ""): r
            for r in ws.iter_rows(min_row=6, max_row=12, values_only=True)}
    assert set(rows) == {g["label"] for g in groups.values()}
    missed = [g["label"] for g in groups.values()
              if not rows[g["label"]][7] <= 100 * g["adjusted"] <= rows[g["label"]][8]]
    assert len(missed) <= 1, missed


def _same_text(value: object, folder: Path) -> object:
    """A cell or console line without what differs between two runs into two folders: the
    folder, the clock, the durations and the sha256 of the .sav files (SPSS stamps them)."""
    if not isinstance(value, str):
        return value
    value = value.replace(str(folder), "OUT").replace(os.path.relpath(folder), "OUT")
    value = re.sub(r"[0-9a-f]{64}", "SHA256", value)
    value = re.sub(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC", "TIME", value)
    return re.sub(r"\d+\.\d s\b", "T s", value)


def _cells(sheet: Any, folder: Path) -> list[list[object]]:
    return [[_same_text(v, folder) for v in row] for row in sheet.iter_rows(values_only=True)]


def test_demo_without_fork_writes_the_same_files(demo_run: tuple[Path, str], tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """Where there is no fork (Windows) the demo synthesises and weights the waves and draws
    the plots one after the other (sid.parallel): the same data, cells, weights,
    pixels and console text."""
    import sid.parallel

    forked, forked_output = demo_run
    monkeypatch.setattr(sid.parallel, "can_fork", lambda: False)
    out = tmp_path / "demo"
    result = CliRunner().invoke(main, ["demo", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert [_same_text(line, out) for line in result.output.splitlines()] == \
        [_same_text(line, forked) for line in forked_output.splitlines()]
    books = sorted(p.name for p in forked.glob("*.xlsx"))
    assert books == ["sid_kerntabellen.xlsx", "weegrapport_2017.xlsx", "weegrapport_2022.xlsx"]
    for name in books:
        a, b = openpyxl.load_workbook(forked / name), openpyxl.load_workbook(out / name)
        assert a.sheetnames == b.sheetnames
        for sheet in a.sheetnames:
            assert _cells(b[sheet], out) == _cells(a[sheet], forked), (name, sheet)
    for name in ["sid2017_gewogen.sav", "sid2022_gewogen.sav", "data/sid2017.sav",
                 "data/sid2022_gross.sav", "data/sid2022.dta"]:
        pd.testing.assert_frame_equal(read_wave(out / name).data, read_wave(forked / name).data)
    for name in ["data/truth.json", "data/population_margins.csv"]:
        assert (out / name).read_bytes() == (forked / name).read_bytes(), name
    pngs = sorted(p.relative_to(forked) for p in [*forked.glob("*.png"), *forked.glob("figuren/*.png")])
    assert len(pngs) >= 14
    for png in pngs:
        assert (out / png).read_bytes() == (forked / png).read_bytes(), png
