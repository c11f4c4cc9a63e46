"""Two pieces of work at once: one in a forked child process, one here (POSIX ``fork``).

``sid demo``, the forest plots and the table book have two independent halves of CPU-bound
Python work (synthesising and weighting two waves; drawing two halves of the plots; the
first and the last tables of a book). The GIL keeps threads from
overlapping them; a forked child starts in a few milliseconds with everything loaded and
runs its half on the other core. :func:`run_pair` is the one place that does this:

* The child runs ``second`` with its stdout and stderr captured; the parent prints that
  text after ``first`` is done, so the console reads as if the two ran one after the other.
* Its return value comes back pickled through a pipe; an exception it raises is re-raised
  in the parent (the original type when it can be pickled, a :class:`ChildProcessError`
  with its text when not). A child that dies without a result (a signal, ``os._exit``)
  is a :class:`ChildProcessError` naming ``what`` and how it ended: never a silent gap.
* When ``first`` fails here, the parent still waits for the child (reading its message,
  so the child never blocks on a full pipe) before re-raising: no child outlives the call
  and none writes into files the parent is about to remove.
* Where ``fork`` is not a start method (Windows), on macOS (see :func:`can_fork`), or where
  other Python threads run (a fork would copy locks they hold), or when
  ``parallel`` is false, the two run here one after the other: the same results and files.

The child leaves through ``os._exit`` (multiprocessing's fork start): the parent's
``with`` blocks and ``finally`` clauses never run twice.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import multiprocessing
import signal
import sys
import threading
import traceback
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

__all__ = ["can_fork", "run_pair"]

A = TypeVar("A")
B = TypeVar("B")


def can_fork() -> bool:
    """Can :func:`run_pair` fork: ``fork`` is a start method here, this is not macOS, and no
    other Python thread runs? On macOS a forked child that uses system frameworks (numpy's
    Accelerate BLAS in the weighting) can crash, which is why Python no longer forks there
    by default; it runs the two halves one after the other."""
    return (sys.platform != "darwin" and "fork" in multiprocessing.get_all_start_methods()
            and threading.active_count() == 1)


def run_pair(first: Callable[[], A], second: Callable[[], B], *, what: str,
             parallel: bool = True, preload: Sequence[str] = ()) -> tuple[A, B]:
    """``(first(), second())``, ``second`` in a forked child while ``first`` runs here.

    ``what`` names the child's work in errors ("the 2022 weighting"). Sequential (first,
    then second, both here) when ``parallel`` is false or :func:`can_fork` says no.
    ``preload`` names modules both halves import: imported here before the fork, once,
    instead of in both processes at the same time (the same wall time, less CPU).
    """
    if not (parallel and can_fork()):
        a = first()
        return a, second()
    for name in preload:
        importlib.import_module(name)
    ctx = multiprocessing.get_context("fork")
    receive, send = ctx.Pipe(duplex=False)
    # not a daemon: the child may start processes of its own (sid.io.child's readers)
    child = ctx.Process(target=_child, args=(send, second), daemon=False)
    child.start()
    send.close()
    try:
        try:
            a = first()
        except BaseException:
            _collect(receive, child)  # wait for the child, then report first's error
            raise
        status, payload, out, err = _collect(receive, child)
    finally:
        receive.close()
    import click

    if out:
        click.echo(out, nl=False)
    if err:
        click.echo(err, nl=False, err=True)
    if status == "ok":
        return a, payload
    if status == "raise":
        raise payload
    if status == "text":
        raise ChildProcessError(f"{what} failed in its child process: {payload}")
    code = child.exitcode
    how = (f"signal {signal.Signals(-code).name}" if code is not None and code < 0
           and -code in signal.Signals._value2member_map_ else f"exit code {code}")
    raise ChildProcessError(f"{what}: its child process ended without a result ({how})")


def _collect(receive: Any, child: Any) -> tuple[str, Any, str, str]:
    """The child's message (``("died", ...)`` when it sent none), then its end."""
    try:
        message: tuple[str, Any, str, str] = receive.recv()
    except (EOFError, OSError):
        message = ("died", None, "", "")
    except Exception as exc:  # a result that does not unpickle here
        message = ("text", f"{type(exc).__name__}: {exc}", "", "")
    child.join()
    return message


def _child(send: Any, work: Callable[[], Any]) -> None:
    """In the child: run ``work`` with stdout and stderr captured, send what came of it."""
    out, err = io.StringIO(), io.StringIO()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            result: tuple[str, Any] = ("ok", work())
    except BaseException as exc:  # everything goes back to the parent, KeyboardInterrupt too
        result = ("raise", exc)
        err.write("".join(traceback.format_exception(exc)) if not _expected(exc) else "")
    try:
        send.send((*result, out.getvalue(), err.getvalue()))
    except Exception as exc:  # e.g. an exception or a result that does not pickle
        text = f"{type(result[1]).__name__}: {result[1]}" if result[0] == "raise" else \
            f"its result could not be sent back ({type(exc).__name__}: {exc})"
        send.send(("text", text, out.getvalue(), err.getvalue()))
    finally:
        send.close()
        sys.stdout.flush()


def _expected(exc: BaseException) -> bool:
    """Errors the parent reports in its own words (a SidError's one line, a click exit):
    no traceback for them in the child's captured stderr."""
    import click

    from sid.errors import SidError

    return isinstance(exc, SidError | click.exceptions.ClickException | click.exceptions.Exit
                      | SystemExit | KeyboardInterrupt)
