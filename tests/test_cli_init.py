"""`sid init DIR`: the shipped specs copied out for editing, and the commands taking the copies."""

from __future__ import annotations

from pathlib import Path

import click
import pandas as pd
from click.testing import CliRunner

from sid.cli import main
from sid.cli.init_cmd import shipped_files
from sid.origin import classify, load_rules
from sid.resources import DATA_DIR

CLI = main


def _init(folder: Path) -> click.testing.Result:
    return CliRunner().invoke(CLI, ["init", str(folder)])


def test_copies_every_shipped_spec(tmp_path: Path) -> None:
    res = _init(tmp_path / "specs")
    assert res.exit_code == 0, res.output
    rels = {str(p) for p in shipped_files()}
    # the codebook, rule sets, groupings, country lookups, weighting and table specs
    assert {"sid.yaml", "origin/vl2013.yaml", "origin/groupings.yaml", "countries/countries_v1.csv",
            "countries/sid_groups_v1.csv", "weighting/sid2022.yaml",
            "tables/sid_kerntabellen.yaml"} <= rels
    written = {str(p.relative_to(tmp_path / "specs")) for p in (tmp_path / "specs").rglob("*")
               if p.is_file()}
    assert written == rels  # and no temporary files left behind
    for rel in rels:
        assert (tmp_path / "specs" / rel).read_bytes() == (DATA_DIR / rel).read_bytes(), rel
    assert f"wrote {len(rels)} file(s)" in res.output


def test_refuses_to_overwrite_and_writes_nothing(tmp_path: Path) -> None:
    folder = tmp_path / "specs"
    folder.mkdir()
    (folder / "sid.yaml").write_text("# my edits\n", encoding="utf-8")
    res = _init(folder)
    assert res.exit_code == 2
    assert res.output.count("\n") == 1 and "Traceback" not in res.output
    assert "already exist" in res.output and "'sid.yaml'" in res.output
    assert (folder / "sid.yaml").read_text(encoding="utf-8") == "# my edits\n"
    assert [p.name for p in folder.iterdir()] == ["sid.yaml"]


def test_second_init_into_the_same_folder_is_refused(tmp_path: Path) -> None:
    assert _init(tmp_path / "s").exit_code == 0
    res = _init(tmp_path / "s")
    assert res.exit_code == 2 and f"{len(shipped_files())} file(s) already exist" in res.output


def test_folder_that_is_a_file(tmp_path: Path) -> None:
    target = tmp_path / "specs"
    target.write_text("x", encoding="utf-8")
    res = _init(target)
    assert res.exit_code == 2 and "not a folder" in res.output


def test_copied_rule_set_uses_the_copied_country_tables(tmp_path: Path) -> None:
    """An edited copy is a second source only for whoever passes its path: the copied rule set
    finds the copied (edited) country and group tables beside it, not the shipped ones."""
    folder = tmp_path / "specs"
    assert _init(folder).exit_code == 0
    groups = folder / "countries" / "sid_groups_v1.csv"
    groups.write_text(groups.read_text(encoding="utf-8").replace("TR,Turks", "TR,Overig"),
                      encoding="utf-8")
    rules = load_rules(folder / "origin" / "vl2013.yaml")
    assert Path(rules.countries.path).parent == folder / "countries"
    person = pd.DataFrame({"current": ["BE"], "first": ["BE"], "father": ["TR"], "mother": ["BE"]})
    fields = {"current": "current", "first": "first", "father": "father", "mother": "mother"}
    shipped = classify(person, "vl2013", ref_date="2022-01-01", fields=fields)
    edited = classify(person, folder / "origin" / "vl2013.yaml", ref_date="2022-01-01",
                      fields=fields)
    assert str(shipped["origin_group"].iloc[0]) == "Turks"
    assert str(edited["origin_group"].iloc[0]) == "Overig"


def test_commands_take_the_copies(tmp_path: Path, synthetic_dir: Path) -> None:
    """`sid validate` and `sid origin` run on the copied codebook and rule set."""
    folder = tmp_path / "specs"
    assert _init(folder).exit_code == 0
    wave = synthetic_dir / "sid2022.sav"
    runner = CliRunner()
    res = runner.invoke(main, ["origin", str(wave), "--rule", str(folder / "origin" / "vl2013.yaml"),
                               "--ref-date", "2022-01-01"])
    assert res.exit_code == 0, res.output
    shipped = runner.invoke(main, ["origin", str(wave), "--rule", "vl2013",
                                   "--ref-date", "2022-01-01"])
    assert res.output.replace(str(folder / "origin" / "vl2013.yaml"), "vl2013") == \
        shipped.output.replace(str(DATA_DIR / "origin" / "vl2013.yaml"), "vl2013")
    res = runner.invoke(main, ["validate", f"2022={wave}", "-c", str(folder / "sid.yaml")])
    assert res.exit_code == 0, res.output


def test_weight_and_tables_take_the_copies(tmp_path: Path, synthetic_dir: Path) -> None:
    """`sid weight` on the copied weighting spec, then `sid tables` on the copied table spec
    and codebook: the demo's steps 3 and 4 from the edited folder."""
    folder = tmp_path / "specs"
    assert _init(folder).exit_code == 0
    runner = CliRunner()
    weighted = tmp_path / "sid2022_gewogen.sav"
    res = runner.invoke(main, ["weight", str(synthetic_dir / "sid2022.sav"),
                               "--spec", str(folder / "weighting" / "sid2022.yaml"),
                               "--gross", str(synthetic_dir / "sid2022_gross.sav"),
                               "--margins", str(synthetic_dir / "population_margins.csv"),
                               "--out", str(weighted)])
    assert res.exit_code == 0, res.output
    book = tmp_path / "boek.xlsx"
    res = runner.invoke(main, ["tables", str(folder / "tables" / "sid_kerntabellen.yaml"),
                               "--data", f"2022={synthetic_dir / 'sid2022.sav'}",
                               "--codebook", str(folder / "sid.yaml"),
                               "--weights", f"2022={weighted}", "--out", str(book),
                               "--skip-missing-waves", "--no-chart"])
    assert res.exit_code == 0, res.output
    assert book.is_file()
