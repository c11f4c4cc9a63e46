"""Two halves of the work at once (sid.parallel.run_pair): the same results and console
output as one after the other, every failure of the child reported in the parent."""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
import threading
import time
from pathlib import Path

import click
import pytest

from sid.errors import InputError
from sid.parallel import can_fork, run_pair

needs_fork = pytest.mark.skipif(not can_fork(), reason="no fork here (Windows, macOS): only the "
                                                      "sequential path runs")


def _pid() -> int:
    return os.getpid()


@pytest.mark.parametrize("parallel", [True, False])
def test_results_and_output_in_order(parallel: bool, capsys: pytest.CaptureFixture[str]) -> None:
    def first() -> str:
        click.echo("first says")
        return "a"

    def second() -> tuple[str, int]:
        click.echo("second says")
        click.echo("second notes", err=True)
        return "b", os.getpid()

    a, (b, pid) = run_pair(first, second, what="the test", parallel=parallel)
    assert (a, b) == ("a", "b")
    forked = parallel and can_fork()
    assert (pid != os.getpid()) == forked
    captured = capsys.readouterr()
    assert captured.out == "first says\nsecond says\n"
    assert captured.err == "second notes\n"


@needs_fork
def test_no_fork_means_one_after_the_other(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(multiprocessing, "get_all_start_methods", lambda: ["spawn"])
    assert not can_fork()
    order: list[str] = []
    _, pid = run_pair(lambda: order.append("first"), lambda: (order.append("second"), _pid())[1],
                      what="the test")
    assert pid == os.getpid() and order == ["first", "second"]


@needs_fork
def test_no_fork_on_macos(monkeypatch: pytest.MonkeyPatch) -> None:
    assert can_fork()
    monkeypatch.setattr(sys, "platform", "darwin")
    assert not can_fork()
    assert run_pair(_pid, _pid, what="the test") == (os.getpid(), os.getpid())


@needs_fork
def test_no_fork_while_another_thread_runs() -> None:
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait)
    thread.start()
    try:
        assert not can_fork()
        assert run_pair(_pid, _pid, what="the test") == (os.getpid(), os.getpid())
    finally:
        stop.set()
        thread.join()
    assert can_fork()


@needs_fork
def test_an_error_in_the_child_is_raised_here() -> None:
    def second() -> None:
        raise InputError("kapot", where="x.sav", fix="opnieuw")

    with pytest.raises(InputError, match=r"^x\.sav: kapot\. Fix: opnieuw$") as info:
        run_pair(lambda: None, second, what="the test")
    assert info.value.line() == "x.sav: kapot. Fix: opnieuw"


class _Unpicklable(Exception):
    def __reduce__(self) -> str | tuple[object, ...]:
        raise TypeError("not today")


@needs_fork
def test_an_unpicklable_error_or_result_becomes_a_clear_error() -> None:
    def fails() -> None:
        raise _Unpicklable("odd failure")

    with pytest.raises(ChildProcessError, match="the test failed in its child process: "
                                                "_Unpicklable: odd failure"):
        run_pair(lambda: None, fails, what="the test")
    with pytest.raises(ChildProcessError, match="its result could not be sent back"):
        run_pair(lambda: None, lambda: threading.Lock(), what="the test")


@needs_fork
@pytest.mark.parametrize(("die", "how"), [(lambda: os._exit(3), "exit code 3"),
                                          (lambda: os.kill(os.getpid(), signal.SIGKILL),
                                           "signal SIGKILL")])
def test_a_child_that_dies_is_an_error_naming_how(die: object, how: str) -> None:
    with pytest.raises(ChildProcessError,
                       match=f"drawing: its child process ended without a result \\({how}\\)"):
        run_pair(lambda: "fine", die, what="drawing")  # type: ignore[arg-type]


@needs_fork
def test_an_error_here_waits_for_the_child_first(tmp_path: Path) -> None:
    done = tmp_path / "child_done"

    def second() -> None:
        time.sleep(0.3)
        done.write_text("yes")

    def first() -> None:
        raise InputError("hier mis")

    with pytest.raises(InputError, match="hier mis"):
        run_pair(first, second, what="the test")
    assert done.read_text() == "yes"  # the child had ended before the error came out
    assert not multiprocessing.active_children()


@needs_fork
def test_preloaded_modules_are_imported_before_the_fork(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(sys.modules, "colorsys", raising=False)
    _, loaded = run_pair(lambda: None, lambda: "colorsys" in sys.modules, what="the test",
                         preload=("colorsys",))
    assert loaded  # the child found it imported: it came with the fork
