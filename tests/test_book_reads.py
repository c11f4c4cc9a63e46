"""`sid tables` reads each data file once (issue 14), with the same numbers as reading per use."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from sid.cli import main
from sid.codebook import load_codebook
from sid.io import VariableMeta, read_wave, write_wave
from sid.tables import load_book_data

ROOT = Path(__file__).parent.parent
SPEC = ROOT / "sid" / "data" / "tables" / "sid_kerntabellen.yaml"
CODEBOOK = ROOT / "sid" / "data" / "sid.yaml"


def _same(a, b) -> None:
    pd.testing.assert_frame_equal(a.data, b.data, check_exact=True)
    pd.testing.assert_frame_equal(a.missing_kind, b.missing_kind, check_exact=True)
    pd.testing.assert_frame_equal(a.report, b.report, check_exact=True)


@pytest.mark.parametrize("ext", ["sav", "dta"])
def test_harmonised_from_whole_files_as_from_the_codebook_columns(synthetic_dir: Path,
                                                                  ext: str) -> None:
    cb = load_codebook(CODEBOOK)
    pairs = [(y, synthetic_dir / f"sid{y}.{ext}") for y in ("2017", "2022")]
    calls: list[Path] = []

    def read(path: Path):
        calls.append(path)
        return read_wave(path)

    _same(load_book_data(pairs, cb), load_book_data(pairs, cb, read=read))
    assert calls == [p for _, p in pairs]


def test_a_file_in_another_encoding_is_read_again_in_the_codebooks(synthetic_dir: Path) -> None:
    cb = load_codebook(CODEBOOK)
    pairs = [("2022", synthetic_dir / "sid2022.sav")]
    assert cb.wave("2022").encoding  # the shipped codebook names one (UTF-8)

    def read(path: Path):  # as if the file declared another encoding than the codebook's
        wave = read_wave(path)
        return replace(wave, data=wave.data.iloc[:0], meta=replace(wave.meta,
                                                                   encoding="windows-1252"))

    _same(load_book_data(pairs, cb), load_book_data(pairs, cb, read=read))


def test_sid_tables_reads_each_data_file_once(synthetic_dir: Path, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    import sid.io

    wave = read_wave(synthetic_dir / "sid2022.sav")
    data = wave.data.assign(final_wt=wave.data["base_wt"].to_numpy() * 1.1)
    meta = replace(wave.meta, n_rows=len(data), sha256=None, path=None,
                   variables=wave.meta.variables + (VariableMeta(name="final_wt"),))
    weighted = tmp_path / "weighted2022.sav"
    write_wave(replace(wave, data=data, meta=meta), weighted)
    reads: Counter[str] = Counter()
    collected: Counter[str] = Counter()
    real, real_start = sid.io.read_wave, sid.io.start_wave_read

    def counting(path, **kwargs):
        reads[Path(path).name] += 1
        return real(path, **kwargs)

    def counting_start(path, **kwargs):  # started early, in their reader children
        reads[Path(path).name] += 1
        finish = real_start(path, **kwargs)

        def collect():
            collected[Path(path).name] += 1
            return finish()

        return collect

    monkeypatch.setattr(sid.io, "read_wave", counting)
    monkeypatch.setattr(sid.io, "start_wave_read", counting_start)
    out = tmp_path / "book.xlsx"
    res = CliRunner().invoke(main, [
        "tables", str(SPEC), "--data", f"2022={synthetic_dir / 'sid2022.sav'}",
        "--weights", f"2022={weighted}", "--weight-var", "final_wt", "--codebook", str(CODEBOOK),
        "--out", str(out), "--skip-missing-waves", "--no-chart"])
    assert res.exit_code == 0, res.output
    assert reads == {"sid2022.sav": 1, "weighted2022.sav": 1}
    assert collected == reads  # both were started before they were needed, then used
    # and the provenance has both content hashes, as read_wave per use gives them
    import openpyxl

    from sid.export.provenance import data_content_sha256

    sheet = openpyxl.load_workbook(out)["Herkomst van de cijfers"]
    text = " ".join(str(c.value) for row in sheet.iter_rows() for c in row if c.value)
    for f in (synthetic_dir / "sid2022.sav", weighted):
        assert data_content_sha256(f)[0] in text


def test_sid_tables_imports_neither_scipy_stats_nor_matplotlib(synthetic_dir: Path,
                                                               tmp_path: Path) -> None:
    """Start-up cost (issue 14): importing scipy.stats costs ~0.3 s, matplotlib more; the
    book needs neither (quantiles and tails come from scipy.special; matplotlib only
    with --plots)."""
    import json
    import subprocess
    import sys

    code = ("import json, sys\nfrom sid.cli import main\n"
            "main(sys.argv[1:], standalone_mode=False)\n"
            "print(json.dumps(sorted(m for m in sys.modules if m.startswith("
            "('scipy.stats', 'matplotlib')))))")
    res = subprocess.run([sys.executable, "-c", code, "tables", str(SPEC), "--data",
                          f"2022={synthetic_dir / 'sid2022.sav'}", "--codebook", str(CODEBOOK),
                          "--weight-var", "base_wt", "--out", str(tmp_path / "book.xlsx"),
                          "--skip-missing-waves"], capture_output=True, text=True, check=True)
    assert (tmp_path / "book.xlsx").is_file()
    assert json.loads(res.stdout.strip().splitlines()[-1]) == []


def test_a_failed_sid_tables_ends_the_reads_it_started(synthetic_dir: Path,
                                                       tmp_path: Path) -> None:
    """`sid tables` starts its reads first (issue 14); a run that stops before it needs
    them (no codebook) ends those reader children when it ends, in process too (found by
    review: they waited, blocked, for as long as the error's traceback was kept)."""
    import multiprocessing

    res = CliRunner().invoke(main, [
        "tables", str(SPEC), "--data", f"2022={synthetic_dir / 'sid2022.sav'}",
        "--weights", f"2022={synthetic_dir / 'sid2022_gross.sav'}",
        "--codebook", str(tmp_path / "nope.yaml"), "--out", str(tmp_path / "b.xlsx")])
    assert res.exit_code == 2 and "codebook not found" in res.output
    assert res.exception is not None  # its traceback (and the reads) are still referenced
    assert [p for p in multiprocessing.active_children() if p.daemon] == []

