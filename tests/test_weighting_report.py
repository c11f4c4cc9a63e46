"""The weighting report as a methodology annex (issue 11 item 8) and the weighted file's
lineage sidecar (item 6), from `sid weight` on the synthetic SID 2022 wave."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook

from sid.cli import main
from sid.io import file_sha256
from sid.resources import DATA_DIR


@pytest.fixture(scope="module")
def weighted(synthetic_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("weighted")
    for lang in ("nl", "en"):
        res = CliRunner().invoke(main, [
            "weight", str(synthetic_dir / "sid2022.sav"),
            "--spec", str(DATA_DIR / "weighting" / "sid2022.yaml"),
            "--gross", str(synthetic_dir / "sid2022_gross.sav"),
            "--margins", str(synthetic_dir / "population_margins.csv"),
            "--out", str(out / "w.sav"), "--report", str(out / f"rapport_{lang}.xlsx"),
            "--lang", lang])
        assert res.exit_code == 0, res.output
    return out


def test_annex_workbook_is_readable(weighted: Path) -> None:
    wb = load_workbook(weighted / "rapport_nl.xlsx")
    assert wb.sheetnames[:6] == ["Wegingsrapport", "Stappen", "Per herkomst", "Marges",
                                 "Trimmen", "Verdeling"]
    cover = [str(c.value) for row in wb["Wegingsrapport"].iter_rows() for c in row if c.value]
    assert cover[0] == "Wegingsrapport sid2022: methodologische bijlage"
    assert any(v.startswith("ontwerpgewicht, non-respons per klasse") for v in cover)
    assert "wegingsspecificatie" in cover and "populatiemarges" in cover
    assert file_sha256(DATA_DIR / "weighting" / "sid2022.yaml") in cover
    assert not any(v.startswith("/") for v in cover)
    steps = wb["Stappen"]
    heads = [c.value for c in steps[1]]
    assert heads[:6] == ["stap", "methode", "n (gewicht > 0)", "som gewichten",
                         "effectieve n (ESS)", "deff_w (1 + CV²)"]
    assert "grootste resterende marge-afwijking" in heads
    assert steps["D2"].number_format == "#,##0" and steps["E2"].number_format == "#,##0.0"
    margins = wb["Marges"]
    cats = {c.value for c in margins["C"][1:]}
    assert any("vrouw" in str(c) for c in cats)  # labels, not codes like "11 x 2"
    assert any("65+" in str(c) for c in cats)  # age bands written out
    for ws in wb.worksheets:
        assert ws.page_setup.orientation == "landscape" and ws.page_setup.fitToHeight == 0
        assert "&P/&N" in ws.oddFooter.right.text
    assert wb["Stappen"].print_title_rows is not None
    assert len(wb["Verdeling"]._images) == 1


def test_annex_markdown_and_english(weighted: Path) -> None:
    md = (weighted / "rapport_nl.md").read_text(encoding="utf-8")
    assert md.startswith("# Wegingsrapport sid2022: methodologische bijlage")
    assert "5.070.000" in md and "e+06" not in md  # Dutch thousands, no float dump
    assert "![" in md and (weighted / "rapport_nl_gewichten.png").is_file()
    en = load_workbook(weighted / "rapport_en.xlsx")
    assert en.sheetnames[:2] == ["Weighting report", "Steps"]
    assert (weighted / "rapport_en.md").read_text(encoding="utf-8").startswith(
        "# Weighting report sid2022")


def test_lineage_sidecar_matches_the_weighted_file(weighted: Path) -> None:
    from sid.weighting.lineage import lineage_path, read_lineage

    side = json.loads(lineage_path(weighted / "w.sav").read_text(encoding="utf-8"))
    assert side["sha256"] == file_sha256(weighted / "w.sav")
    assert {r["role"] for r in side["inputs"]} == {"wave", "weighting_spec", "margins", "gross"}
    assert not any(r["path"].startswith("/") for r in side["inputs"])
    rec = read_lineage(weighted / "w.sav")
    assert rec is not None and all(Path(r["path"]).is_file() for r in rec["inputs"])
    # a weighted file replaced later is not described by an old sidecar
    copy = weighted / "other.sav"
    shutil.copy(weighted / "w.sav", copy)
    shutil.copy(lineage_path(weighted / "w.sav"), lineage_path(copy))
    with copy.open("ab") as fh:
        fh.write(b"\0")
    assert read_lineage(copy) is None


@pytest.mark.skipif(shutil.which("soffice") is None or shutil.which("pdftotext") is None,
                    reason="LibreOffice (soffice) or poppler (pdftotext) not installed")
def test_annex_prints_readable(weighted: Path, tmp_path: Path) -> None:
    import re

    res = subprocess.run(["soffice", "--headless", "--convert-to", "pdf", "--outdir",
                          str(tmp_path), str(weighted / "rapport_nl.xlsx")],
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    bbox = subprocess.run(["pdftotext", "-bbox", str(tmp_path / "rapport_nl.pdf"), "-"],
                          capture_output=True, text=True, check=True).stdout
    pages = bbox.split("<page ")[1:]
    assert 4 <= len(pages) <= 30
    for i, page in enumerate(pages, start=1):
        heights = [float(b) - float(a) for a, b in
                   re.findall(r'yMin="([\d.]+)" xMax="[\d.]+" yMax="([\d.]+)"', page)]
        assert min(heights) / 1.3 >= 8.0, f"page {i}: text at {min(heights) / 1.3:.1f} pt"


@pytest.mark.parametrize("lo, hi", [(4800, 7200), (280, 550), (176, 283), (60, 140),
                                    (25, 76), (0.3, 12.0), (1.0, 1000.0), (95, 150),
                                    (101, 104), (2.0, 2.05)])
def test_weight_plot_axis_has_at_least_two_labels(lo: float, hi: float) -> None:
    """Each panel of the weight plot shows weights: at least two labelled ticks inside its
    range (at powers of ten alone, a panel spanning less than a decade had none)."""
    from sid.weighting.report import log_axis_ticks

    ticks = log_axis_ticks(lo, hi)
    assert len(ticks) >= 2, ticks
    assert all(lo <= t <= hi for t in ticks)
    assert ticks == sorted(ticks)
