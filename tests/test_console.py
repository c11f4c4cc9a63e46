"""The installed ``sid`` console script (``sid.cli:console``): click's standalone exit codes
and messages, every output complete, stdout flushed, although it leaves by ``os._exit``
(no interpreter teardown, issue 14)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tomllib
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

from sid.cli import main
from sid.cli.app import _exit_status

ROOT = Path(__file__).parent.parent
SPEC = ROOT / "sid" / "data" / "tables" / "sid_kerntabellen.yaml"
CODEBOOK = ROOT / "sid" / "data" / "sid.yaml"


def _script() -> list[str]:
    """The installed console script, else the entry point it runs."""
    exe = Path(sys.executable).parent / "sid"
    if exe.is_file():
        assert "console" in exe.read_text(errors="replace"), "reinstall: pip install -e ."
        return [str(exe)]
    return [sys.executable, "-c", "from sid.cli import console; console()"]


def _run(args: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    # block-buffered stdout (no PYTHONUNBUFFERED), as in a pipe: click.echo flushes each line,
    # console() flushes what print or a library left in the buffers
    clean = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"} | env
    return subprocess.run([*_script(), *args], capture_output=True, text=True, env=clean,
                          timeout=300)


def _cells(path: Path) -> dict[str, list[tuple[object, ...]]]:
    book = openpyxl.load_workbook(path)
    return {ws.title: list(ws.iter_rows(values_only=True)) for ws in book.worksheets}


def test_console_script_is_the_entry_point() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert project["project"]["scripts"]["sid"] == "sid.cli:console"


def test_exit_0_with_the_whole_workbook_and_stdout(synthetic_dir: Path, tmp_path: Path) -> None:
    args = ["tables", str(SPEC), "--data", f"2022={synthetic_dir / 'sid2022.sav'}",
            "--codebook", str(CODEBOOK), "--weight-var", "base_wt", "--skip-missing-waves"]
    res = _run([*args, "--out", str(tmp_path / "script.xlsx")])
    assert res.returncode == 0, res.stderr
    assert res.stdout.rstrip().splitlines()[-1].startswith("klaar (na ")  # stdout flushed
    assert "wrote " in res.stdout
    inproc = CliRunner().invoke(main, [*args, "--out", str(tmp_path / "inproc.xlsx")])
    assert inproc.exit_code == 0, inproc.output
    script, inproc_cells = _cells(tmp_path / "script.xlsx"), _cells(tmp_path / "inproc.xlsx")
    prov = "Herkomst van de cijfers"  # its time stamp and command line differ; its rows not
    assert [r[0] for r in script.pop(prov)] == [r[0] for r in inproc_cells.pop(prov)]
    assert script == inproc_cells and len(script) > 12
    assert sorted(p.name for p in tmp_path.iterdir()) == ["inproc.xlsx", "script.xlsx"]


def test_version_and_help_reach_a_pipe() -> None:
    res = _run(["--version"])
    assert (res.returncode, res.stdout, res.stderr) == (0, "sid, version 0.1.0\n", "")
    res = _run(["--help"])
    assert res.returncode == 0 and "Samenleven in Diversiteit" in res.stdout


def test_exit_2_with_one_error_line_and_no_output(tmp_path: Path) -> None:
    out = tmp_path / "book.xlsx"
    res = _run(["tables", str(SPEC), "--data", f"2022={tmp_path / 'nope.sav'}",
                "--codebook", str(tmp_path / "nope.yaml"), "--out", str(out)])
    assert res.returncode == 2
    assert res.stderr.count("\n") == 1 and res.stderr.startswith("error: ")
    assert "codebook not found" in res.stderr
    assert not out.exists() and list(tmp_path.iterdir()) == []


def _readers_left(marker: str) -> list[str]:
    """Processes (Linux /proc) whose command line holds ``marker``: reader children of a
    run that has ended."""
    left = []
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and marker in (proc / "cmdline").read_bytes().decode(
                    errors="replace"):
                left.append(proc.name)
        except OSError:
            continue
    return left


@pytest.mark.skipif(not Path("/proc/self/cmdline").exists(), reason="/proc is Linux")
def test_started_reads_end_with_a_command_that_fails(synthetic_dir: Path, tmp_path: Path) -> None:
    """`sid tables` starts reading its data files at once (issue 14). A run that stops
    before it needs them (here: no codebook) leaves no reader child behind; a damaged
    weights file is one line naming it when the book gets to it, and no book."""
    import time

    out = tmp_path / "book-started-reads.xlsx"
    args = ["tables", str(SPEC), "--data", f"2022={synthetic_dir / 'sid2022.sav'}",
            "--weights", f"2022={synthetic_dir / 'sid2022_gross.sav'}",
            "--codebook", str(tmp_path / "nope.yaml"), "--out", str(out)]
    res = _run(args)
    assert res.returncode == 2 and "codebook not found" in res.stderr
    deadline = time.monotonic() + 10
    while _readers_left(out.name) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _readers_left(out.name) == []
    damaged = tmp_path / "w.sav"
    damaged.write_bytes((synthetic_dir / "sid2022.sav").read_bytes()[:3000])
    res = _run(["tables", str(SPEC), "--data", f"2022={synthetic_dir / 'sid2022.sav'}",
                "--weights", f"2022={damaged}", "--codebook", str(CODEBOOK),
                "--skip-missing-waves", "--out", str(out)])
    assert res.returncode == 2, res.stderr
    assert res.stderr.count("\n") == 1 and f"{damaged}: " in res.stderr, res.stderr
    assert not out.exists()


def test_usage_error_is_exit_2_as_click_says_it() -> None:
    res = _run(["tables"])
    assert res.returncode == 2
    assert "Error: Missing argument 'SPEC_FILE'." in res.stderr
    res = _run(["nosuch"])
    assert res.returncode == 2 and "No such command 'nosuch'" in res.stderr


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT")
def test_ctrl_c_is_aborted_exit_1_and_writes_nothing(synthetic_dir: Path, tmp_path: Path) -> None:
    """Ctrl-C as a terminal sends it: to the whole process group, here while the weights
    file's reader child still waits to be collected. One "Aborted!", no traceback of a
    reader child, no file, no reader left."""
    out = tmp_path / "book.xlsx"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([*_script(), "tables", str(SPEC), "--data",
                             f"2022={synthetic_dir / 'sid2022.sav'}", "--codebook",
                             str(CODEBOOK), "--weights", f"2022={synthetic_dir / 'sid2022_gross.sav'}",
                             "--weight-var", "base_wt", "--skip-missing-waves",
                             "--out", str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env, start_new_session=True)
    assert proc.stdout is not None
    for line in proc.stdout:  # inside the command: the waves are read
        if "gelezen" in line:
            break
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 1
    assert err.rstrip().splitlines()[-1] == "Aborted!"
    # a reader child stopped by the signal would print "Process ForkProcess-N:" and its
    # traceback (found by review)
    assert "Traceback" not in err and "ForkProcess" not in err, err
    assert list(tmp_path.iterdir()) == []


def test_exit_status_as_python_makes_it(capsys: pytest.CaptureFixture[str]) -> None:
    assert [_exit_status(c) for c in (None, 0, 2, 1, True, 256 + 3, -1)] == [0, 0, 2, 1, 1, 3, 255]
    assert _exit_status("boom") == 1
    assert capsys.readouterr().err == "boom\n"


def test_what_print_left_in_the_buffer_is_flushed() -> None:
    """click.echo flushes each line; text from print (or a library) waits in stdout's
    buffer until console() flushes it before ``os._exit``."""
    code = "from sid.cli import console; print('buffered', end=''); console(['tables'])"
    clean = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=clean,
                         timeout=300)
    assert (res.returncode, res.stdout) == (2, "buffered")


def test_blas_on_one_thread_unless_the_user_says_otherwise() -> None:
    """console() sets OPENBLAS_NUM_THREADS=1 by default, which only works if nothing
    before it loaded numpy: importing sid.cli must not."""
    code = ("import sys, os; import sid.cli; assert 'numpy' not in sys.modules, 'numpy loaded'; "
            "os.environ.pop('OPENBLAS_NUM_THREADS', None); "
            "import sid.cli.app as app; app.main.main = lambda **k: print("
            "os.environ.get('OPENBLAS_NUM_THREADS')) or sys.exit(0); app.console([])")
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         timeout=60)
    assert (res.returncode, res.stdout.strip()) == (0, "1"), res.stderr
    code_user = code.replace("os.environ.pop('OPENBLAS_NUM_THREADS', None); ", "")
    res = subprocess.run([sys.executable, "-c", code_user], capture_output=True, text=True,
                         env=env | {"OPENBLAS_NUM_THREADS": "4"}, timeout=60)
    assert (res.returncode, res.stdout.strip()) == (0, "4"), res.stderr
