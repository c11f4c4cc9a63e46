"""`sid tables --weights` with the weights file of the other wave (issue 10): one line."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from click.testing import CliRunner

from sid.cli import main
from sid.io import VariableMeta, read_wave, write_wave

ROOT = Path(__file__).parent.parent
SPEC = ROOT / "sid" / "data" / "tables" / "sid_kerntabellen.yaml"
CODEBOOK = ROOT / "sid" / "data" / "sid.yaml"


def test_weights_file_of_the_other_wave(synthetic_dir: Path, tmp_path: Path) -> None:
    wave = read_wave(synthetic_dir / "sid2017.sav")  # 2017 ids are resp_id, 2022's respid
    data = wave.data.assign(final_wt=wave.data["base_wt"].to_numpy() * 1.1)
    meta = replace(wave.meta, n_rows=len(data), sha256=None, path=None,
                   variables=wave.meta.variables + (VariableMeta(name="final_wt"),))
    weighted = tmp_path / "weighted2017.sav"
    write_wave(replace(wave, data=data, meta=meta), weighted)
    for extra in ([], ["--weight-var", "final_wt"]):
        res = CliRunner().invoke(main, [
            "tables", str(SPEC), "--data", f"2022={synthetic_dir / 'sid2022.sav'}",
            "--weights", f"2022={weighted}", "--codebook", str(CODEBOOK),
            "--out", str(tmp_path / "out"), "--format", "csv", "--skip-missing-waves", *extra])
        assert res.exit_code == 2, res.output
        assert "no column 'respid'" in res.output and "another wave" in res.output
        errors = res.stderr.strip().splitlines()  # progress goes to stdout
        assert len(errors) == 1 and errors[0].startswith("error: "), res.stderr
    assert not (tmp_path / "out").exists()


def test_weights_path_that_is_a_folder_with_a_lineage_beside_it(synthetic_dir: Path,
                                                                tmp_path: Path) -> None:
    """`sid tables` reads the --weights lineage first (its reads start early, issue 14): a
    sidecar beside a path that is no readable file is no lineage, and the path gets the
    one line it always got (a traceback before this was fixed)."""
    folder = tmp_path / "w.sav"
    folder.mkdir()
    (tmp_path / "w.sav.lineage.json").write_text('{"sha256": "x", "inputs": []}')
    res = CliRunner().invoke(main, [
        "tables", str(SPEC), "--data", f"2022={synthetic_dir / 'sid2022.sav'}",
        "--weights", f"2022={folder}", "--codebook", str(CODEBOOK), "--weight-var", "final_wt",
        "--out", str(tmp_path / "b.xlsx"), "--skip-missing-waves"])
    assert res.exit_code == 2, res.output
    errors = res.stderr.strip().splitlines()
    assert len(errors) == 1, res.stderr
    assert errors[0].startswith(f"error: {folder}: weights file not found"), res.stderr
    assert not (tmp_path / "b.xlsx").exists()
