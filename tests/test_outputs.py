"""Outputs never overwrite inputs, and a command writes all its files or none.

The guard is one piece of the io layer (:func:`sid.io.files.output_transaction`);
the CLI runs every registered command through it (:func:`sid.cli.app.guard_outputs`)
with the inputs and outputs its parameters name. These tests walk every command,
so a new command or option that is not classified fails here.
"""

from __future__ import annotations

import os
from pathlib import Path

import click
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from sid.cli import main
from sid.cli.app import INPUT_PARAMS, NOT_PATHS, OUTPUT_PARAMS, path_params
from sid.errors import InputError
from sid.io import make_wave, read_wave, write_wave
from sid.io.files import (
    atomic_outputs,
    check_outputs,
    note_input,
    output_folder,
    output_transaction,
    write_text_atomic,
)


def _commands(group: click.Group = main, prefix: tuple[str, ...] = ()):
    for name, cmd in sorted(group.commands.items()):
        if isinstance(cmd, click.Group):
            yield from _commands(cmd, (*prefix, name))
        else:
            yield (*prefix, name), cmd


ALL_COMMANDS = list(_commands())


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


# --------------------------------------------------------------------------- classification


def test_every_parameter_of_every_command_is_classified() -> None:
    """Each parameter is an input path, an output path or not a path: exactly one."""
    assert len(ALL_COMMANDS) >= 13
    unclassified, twice = [], []
    for path, cmd in ALL_COMMANDS:
        for param in cmd.params:
            roles = [param.name in INPUT_PARAMS, param.name in OUTPUT_PARAMS, param.name in NOT_PATHS]
            if sum(roles) == 0:
                unclassified.append(f"{' '.join(path)} {param.name}")
            elif sum(roles) > 1:
                twice.append(f"{' '.join(path)} {param.name}")
            if isinstance(param.type, click.Path):
                assert param.name not in NOT_PATHS, f"{' '.join(path)} {param.name} is a click.Path"
    assert not unclassified, f"classify these in sid/cli/app.py: {unclassified}"
    assert not twice, f"classified twice: {twice}"


def test_every_command_runs_through_the_guard() -> None:
    for path, cmd in ALL_COMMANDS:
        assert getattr(cmd.callback, "__sid_guarded__", False), " ".join(path)


def test_wave_equals_path_items_and_rule_files_are_inputs(tmp_path: Path) -> None:
    tables = main.commands["tables"]
    inputs, outputs = path_params(tables, {"data_files": ("2022=a.sav", "b.sav"),
                                           "weight_files": ("2022=w.sav",), "out": "book.xlsx",
                                           "spec_file": Path("s.yaml"), "codebook_file": None})
    assert [p for _, p in inputs] == [Path("s.yaml"), Path("a.sav"), Path("b.sav"), Path("w.sav")]
    assert outputs == [("--out", Path("book.xlsx"), "any")]
    origin = main.commands["origin"]
    assert path_params(origin, {"rule": "vl2013"})[0] == []
    assert path_params(origin, {"rule": "my_rules.yaml"})[0] == [("--rule", Path("my_rules.yaml"))]
    assert path_params(main.commands["synth"], {"out": "d"})[1] == [("--out", Path("d"), "folder")]


def _argv(cmd: click.Command, values: dict[str, str], dummy: Path) -> list[str]:
    """Command-line arguments: ``values`` for the named parameters, a dummy for the other
    required ones."""
    args: list[str] = []
    for param in cmd.params:
        value = values.get(param.name or "")
        if value is None and not param.required:
            continue
        if value is None:
            value = str(dummy) if isinstance(param.type, click.Path) else (
                param.type.choices[0] if isinstance(param.type, click.Choice) else "x")
        if isinstance(param, click.Argument):
            args.append(value)
        else:
            args += [max(param.opts, key=len), value]
    return args


CASES = [(path, cmd, out.name, inp.name) for path, cmd in ALL_COMMANDS
         for out in cmd.params if out.name in OUTPUT_PARAMS
         for inp in cmd.params if inp.name in INPUT_PARAMS]


@pytest.mark.parametrize(("path", "cmd", "out_name", "in_name"), CASES,
                         ids=[f"{' '.join(c[0])}:{c[2]}={c[3]}" for c in CASES])
def test_no_command_writes_over_any_of_its_inputs(tmp_path: Path, path, cmd, out_name: str,
                                                  in_name: str) -> None:
    """For every command, every output option naming any input option's file: exit 2, one
    line, the input byte-identical, nothing new in the folder."""
    target = tmp_path / "input.yaml"  # .yaml so that --rule takes it as a file
    target.write_bytes(b"precious: input\n")
    dummy = tmp_path / "dummy.sav"
    dummy.write_bytes(b"dummy")
    before = _files(tmp_path)
    argv = [*path, *_argv(cmd, {out_name: str(target), in_name: str(target)}, dummy)]
    result = CliRunner().invoke(main, argv)
    assert result.exit_code == 2, (argv, result.output)
    assert "would overwrite an input" in result.output and "Traceback" not in result.output, result.output
    assert result.output.count("\n") == 1, result.output
    assert _files(tmp_path) == before


@pytest.mark.parametrize("link", ["symlink", "hardlink", "dotdot"])
def test_links_to_an_input_are_the_input(tmp_path: Path, link: str) -> None:
    source = tmp_path / "data.csv"
    source.write_text("x,w\n1,1\n", encoding="utf-8")
    sub = tmp_path / "sub"
    sub.mkdir()
    out = sub / "alias.csv"
    if link == "symlink":
        out.symlink_to(source)
    elif link == "hardlink":
        os.link(source, out)
    else:
        out = sub / ".." / "data.csv"
    result = CliRunner().invoke(main, ["estimate", str(source), "--weight", "w", "--mean", "x",
                                       "--format", "csv", "--out", str(out)])
    assert result.exit_code == 2 and "would overwrite an input (DATA)" in result.output, result.output
    assert source.read_text(encoding="utf-8") == "x,w\n1,1\n"


# --------------------------------------------------------------------------- sid weight


@pytest.fixture
def weighting_case(tmp_path: Path) -> dict[str, Path]:
    """A small wave, gross sample, margins and spec that `sid weight` weights in a second."""
    rng = np.random.default_rng(3)
    n = 300
    gross = pd.DataFrame({
        "respid": np.arange(n, dtype=float),
        "stratum": rng.integers(1, 3, n).astype(float) * 10 + 1,
        "geslacht": rng.integers(1, 3, n).astype(float),
        "respons": (rng.random(n) < 0.6).astype(float),
    })
    gross["herkomst_frame"] = gross["stratum"] // 10
    gross["base_wt"] = np.where(gross["herkomst_frame"] == 1, 100.0, 10.0)
    write_wave(make_wave(gross), tmp_path / "gross.sav")
    resp = gross[gross["respons"] == 1].drop(columns="respons").reset_index(drop=True)
    write_wave(make_wave(resp), tmp_path / "w.sav")
    rows = [{"ref_date": "2022-01-01", "herkomst": h, "geslacht": s, "count": 1000 * h + 10 * s}
            for h in (1, 2) for s in (1, 2)]
    pd.DataFrame(rows).to_csv(tmp_path / "m.csv", index=False)
    (tmp_path / "spec.yaml").write_text(
        "id: respid\ndesign: {base_weight: base_wt}\n"
        "nonresponse: {respondent: respons, classes: [stratum]}\n"
        "margins:\n  filter: {ref_date: '2022-01-01'}\n  within: herkomst\n"
        "  variables: {herkomst: herkomst_frame, geslacht: geslacht}\n"
        "  margins: [[geslacht]]\nmethod: rake\n", encoding="utf-8")
    return {"wave": tmp_path / "w.sav", "gross": tmp_path / "gross.sav",
            "margins": tmp_path / "m.csv", "spec": tmp_path / "spec.yaml", "dir": tmp_path}


def _weight(case: dict[str, Path], out: Path | str, *extra: str) -> object:
    return CliRunner().invoke(main, [
        "weight", str(case["wave"]), "--spec", str(case["spec"]), "--gross", str(case["gross"]),
        "--margins", str(case["margins"]), "--out", str(out), *extra])


def test_weight_over_its_own_wave_is_refused(weighting_case: dict[str, Path]) -> None:
    """The outside campaign's case: `sid weight w.sav ... --out w.sav` replaced the raw wave."""
    before = _files(weighting_case["dir"])
    result = _weight(weighting_case, weighting_case["wave"])
    assert result.exit_code == 2, result.output
    assert "--out" in result.output and "would overwrite an input (WAVE_FILE)" in result.output
    assert _files(weighting_case["dir"]) == before


@pytest.mark.parametrize("clash", ["margins", "spec"])
def test_weight_report_markdown_over_an_input_is_refused(weighting_case: dict[str, Path],
                                                         clash: str) -> None:
    """--report r.xlsx also writes r.md: an input named r.md is protected too, and the
    weighted wave is not left behind."""
    case = dict(weighting_case)
    md = case["dir"] / "report.md"
    case[clash].rename(md)
    case[clash] = md
    before = _files(case["dir"])
    result = _weight(case, case["dir"] / "out.sav", "--report", str(case["dir"] / "report.xlsx"))
    assert result.exit_code == 2, result.output
    assert "refusing to overwrite the input" in result.output or "would overwrite an input" in result.output
    assert _files(case["dir"]) == before


def test_weight_failing_report_leaves_nothing_new(weighting_case: dict[str, Path]) -> None:
    folder = weighting_case["dir"]
    (folder / "r.md").mkdir()  # the report's .md cannot be written: it is a folder
    before = _files(folder)
    result = _weight(weighting_case, folder / "out.sav", "--report", str(folder / "r.xlsx"))
    assert result.exit_code == 2 and "folder" in result.output, result.output
    assert _files(folder) == before
    assert sorted(p.name for p in folder.iterdir() if p.name.startswith(".")) == []


def test_weight_writes_wave_and_report_together(weighting_case: dict[str, Path]) -> None:
    folder = weighting_case["dir"]
    result = _weight(weighting_case, folder / "out.sav", "--report", str(folder / "r.xlsx"))
    assert result.exit_code == 0, result.output
    assert {"out.sav", "r.xlsx", "r.md"} <= set(_files(folder))
    assert read_wave(folder / "out.sav").meta.path == str(folder / "out.sav")


@pytest.mark.parametrize("problem", ["missing_parent", "is_folder", "parent_is_file"])
def test_output_path_problems_are_one_line_before_any_work(weighting_case: dict[str, Path],
                                                           problem: str) -> None:
    folder = weighting_case["dir"]
    out = {"missing_parent": folder / "nope" / "out.sav", "is_folder": folder / "adir",
           "parent_is_file": folder / "m.csv" / "out.sav"}[problem]
    (folder / "adir").mkdir()
    before = _files(folder)
    result = _weight(weighting_case, out)
    assert result.exit_code == 2, result.output
    assert result.output.count("\n") == 1 and "Fix:" in result.output, result.output
    expected = {"missing_parent": "mkdir -p", "is_folder": "is a folder",
                "parent_is_file": "is a file, not a folder"}[problem]
    assert expected in result.output
    assert _files(folder) == before and not (folder / "nope").exists()


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root writes in read-only folders")
def test_read_only_output_folder_is_one_line(weighting_case: dict[str, Path]) -> None:
    folder = weighting_case["dir"] / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        result = _weight(weighting_case, folder / "out.sav")
    finally:
        folder.chmod(0o755)
    assert result.exit_code == 2 and "read-only" in result.output, result.output


# --------------------------------------------------------------------------- the transaction


def test_transaction_defers_every_write_and_rolls_back_folders(tmp_path: Path) -> None:
    old = tmp_path / "old.txt"
    old.write_text("old", encoding="utf-8")
    with pytest.raises(RuntimeError), output_transaction():
        write_text_atomic(old, "new")
        folder = output_folder(tmp_path / "plots")
        write_text_atomic(folder / "a.png", "png")
        assert old.read_text(encoding="utf-8") == "old" and not (folder / "a.png").exists()
        raise RuntimeError("the plots failed")
    assert _files(tmp_path) == {"old.txt": b"old"} and not (tmp_path / "plots").exists()
    with output_transaction():
        write_text_atomic(old, "new")
        write_text_atomic(output_folder(tmp_path / "plots") / "a.png", "png")
    assert _files(tmp_path) == {"old.txt": b"new", "plots/a.png": b"png"}


def test_transaction_protects_files_read_inside_it(tmp_path: Path) -> None:
    from sid.io import read_table

    data = tmp_path / "d.csv"
    data.write_text("x\n1\n", encoding="utf-8")
    with pytest.raises(InputError, match="refusing to overwrite the input"), output_transaction():
        read_table(data)
        write_text_atomic(tmp_path / "." / "d.csv", "x\n2\n")
    assert data.read_text(encoding="utf-8") == "x\n1\n"
    with pytest.raises(InputError, match="refusing to overwrite the input margins"), output_transaction():
        note_input(tmp_path / "m.csv", "margins")
        write_text_atomic(tmp_path / "m.csv", "x")
    with pytest.raises(InputError, match="named twice"), output_transaction():
        write_text_atomic(tmp_path / "a.txt", "1")
        write_text_atomic(tmp_path / "a.txt", "2")
    assert not (tmp_path / "a.txt").exists()


def test_derived_wave_keeps_its_source_so_write_wave_refuses_it(tmp_path: Path) -> None:
    wave_file = tmp_path / "w.sav"
    write_wave(make_wave(pd.DataFrame({"x": [1.0]})), wave_file)
    wave = read_wave(wave_file)
    with pytest.raises(InputError, match="read from"):
        write_wave(wave.replace_data(wave.data.assign(x=3.0)), wave_file)


def test_check_outputs_reports_every_problem_at_once(tmp_path: Path) -> None:
    (tmp_path / "in.csv").write_text("a\n", encoding="utf-8")
    with pytest.raises(InputError) as err:
        check_outputs([("--out", tmp_path / "in.csv", "file"),
                       ("--report", tmp_path / "x" / "r.xlsx", "file")],
                      [("DATA", tmp_path / "in.csv")])
    assert "would overwrite an input (DATA)" in str(err.value) and "does not exist" in str(err.value)


def test_atomic_outputs_refuses_an_explicit_input(tmp_path: Path) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text("a: 1\n", encoding="utf-8")
    with pytest.raises(InputError, match="input spec"), atomic_outputs([spec], inputs=[("spec", spec)]):
        pass
    assert spec.read_text(encoding="utf-8") == "a: 1\n"


def test_tables_plots_that_is_a_file_is_refused_before_the_book(tmp_path: Path) -> None:
    """Before: the book was written, then --plots crashed. Now one line and nothing written."""
    for name in ("spec.yaml", "cb.yaml", "w.sav", "plots"):
        (tmp_path / name).write_text("x\n", encoding="utf-8")
    before = _files(tmp_path)
    result = CliRunner().invoke(main, [
        "tables", str(tmp_path / "spec.yaml"), "--data", f"2022={tmp_path / 'w.sav'}",
        "--codebook", str(tmp_path / "cb.yaml"), "--out", str(tmp_path / "book.xlsx"),
        "--plots", str(tmp_path / "plots")])
    assert result.exit_code == 2, result.output
    assert "--plots" in result.output and "is a file, not a folder" in result.output
    assert _files(tmp_path) == before


def test_tables_over_its_weights_file_is_refused(tmp_path: Path) -> None:
    for name in ("spec.yaml", "cb.yaml", "w.sav", "wt.sav"):
        (tmp_path / name).write_text("x\n", encoding="utf-8")
    before = _files(tmp_path)
    result = CliRunner().invoke(main, [
        "tables", str(tmp_path / "spec.yaml"), "--data", f"2022={tmp_path / 'w.sav'}",
        "--codebook", str(tmp_path / "cb.yaml"), "--weights", f"2022={tmp_path / 'wt.sav'}",
        "--out", str(tmp_path / "wt.sav")])
    assert result.exit_code == 2 and "would overwrite an input (--weights)" in result.output
    assert _files(tmp_path) == before


def test_weight_report_md_over_an_input_is_refused_before_weighting(
        weighting_case: dict[str, Path]) -> None:
    """The .md beside --report is an output too: checked before any work is done."""
    case = dict(weighting_case)
    case["spec"].rename(case["dir"] / "r.md")
    case["spec"] = case["dir"] / "r.md"
    result = _weight(case, case["dir"] / "out.sav", "--report", str(case["dir"] / "r.xlsx"))
    assert result.exit_code == 2
    assert "--report (.md)" in result.output and "would overwrite an input (--spec)" in result.output


@pytest.mark.parametrize(("exit_code", "committed"), [(0, True), (1, False)])
def test_a_command_that_exits_commits_only_on_zero(tmp_path: Path, exit_code: int,
                                                   committed: bool) -> None:
    with pytest.raises(SystemExit), output_transaction():
        write_text_atomic(tmp_path / "a.txt", "x")
        raise SystemExit(exit_code)
    assert (tmp_path / "a.txt").exists() is committed
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_read_only_folder_message(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The read-only branch, also where the tests run as root (who may write anywhere)."""
    monkeypatch.setattr(os, "access", lambda path, mode: Path(path) != tmp_path)
    with pytest.raises(InputError, match=r"is read-only\. Fix: write to a folder you can write in"):
        check_outputs([("--out", tmp_path / "out.csv", "file")], [])
    with pytest.raises(InputError, match="is read-only"):
        write_text_atomic(tmp_path / "out.csv", "x")
    assert list(tmp_path.iterdir()) == []
