"""Run one fuzz input in a forked child: bounded in time and memory, crashes seen as crashes.

The parent has already imported sid, pandas and numpy, so a fork costs a few
milliseconds instead of the ~1.5 s of a fresh ``sid`` process. The child caps
its address space (RLIMIT_AS), sends its stdout/stderr to files and reports
back through a pickle file; the parent waits with a timeout and kills the
child on a hang. A segfault in C code (ReadStat inside pyreadstat) shows up as
a signal, exactly as it would for a user running ``sid`` (exit 139).
"""

from __future__ import annotations

import contextlib
import io
import os
import pickle
import resource
import signal
import sys
import tempfile
import time
import traceback
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

GIB = 1024**3
DEFAULT_TIMEOUT = 60.0
DEFAULT_MEMORY = 2 * GIB


@dataclass(frozen=True)
class ChildResult:
    """What one child did: how it ended, what it printed, what it returned or raised."""

    status: str  # "ok" | "sid_error" | "exception" | "exit" | "signal" | "timeout" | "lost"
    exit_code: int | None = None  # as a shell would see it (128 + signal for a signal)
    signal: int | None = None
    stdout: str = ""
    stderr: str = ""
    value: Any = None  # the function's return value (status "ok"), pickled back
    error_line: str = ""  # SidError.line() or the exception's last line
    traceback: str = ""
    warnings: tuple[str, ...] = ()
    seconds: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)


def _vm_size() -> int:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    except OSError:  # pragma: no cover - not Linux
        pass
    return 0


def run_in_child(func: Callable[..., Any], *args: Any, timeout: float = DEFAULT_TIMEOUT,
                 memory: int = DEFAULT_MEMORY, cwd: str | os.PathLike[str] | None = None,
                 **kwargs: Any) -> ChildResult:
    """Call ``func(*args, **kwargs)`` in a forked child with a memory cap and a timeout.

    ``memory`` is added to the parent's current address-space size (the child
    inherits the parent's mappings), so the child may allocate ``memory`` more
    bytes before a MemoryError. A SidError is reported as status ``sid_error``;
    any other exception as ``exception`` with its traceback; SystemExit as
    ``exit`` with its code.
    """
    with tempfile.TemporaryDirectory(prefix="sid-fuzz-child-") as tmp:
        out_path, err_path, res_path = (os.path.join(tmp, n) for n in ("out", "err", "res"))
        limit = _vm_size() + memory
        sys.stdout.flush()
        sys.stderr.flush()
        start = time.perf_counter()
        pid = os.fork()
        if pid == 0:  # child
            _child(func, args, kwargs, limit, cwd, out_path, err_path, res_path)
        deadline = start + timeout
        status_word = None
        while True:
            done, status_word = os.waitpid(pid, os.WNOHANG)
            if done:
                break
            if time.perf_counter() > deadline:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                status_word = None
                break
            time.sleep(0.002 if time.perf_counter() - start < 0.2 else 0.02)
        seconds = time.perf_counter() - start
        stdout = _read(out_path)
        stderr = _read(err_path)
        if status_word is None:
            return ChildResult("timeout", stdout=stdout, stderr=stderr, seconds=seconds)
        if os.WIFSIGNALED(status_word):
            sig = os.WTERMSIG(status_word)
            return ChildResult("signal", exit_code=128 + sig, signal=sig, stdout=stdout,
                               stderr=stderr, seconds=seconds)
        code = os.WEXITSTATUS(status_word)
        try:
            with open(res_path, "rb") as fh:
                payload = pickle.load(fh)
        except (OSError, EOFError, pickle.UnpicklingError):
            # died without reporting (os._exit elsewhere, or killed by the kernel's OOM killer)
            return ChildResult("lost", exit_code=code, stdout=stdout, stderr=stderr,
                               seconds=seconds)
        return ChildResult(payload["status"], exit_code=code, stdout=stdout, stderr=stderr,
                           value=payload.get("value"), error_line=payload.get("error_line", ""),
                           traceback=payload.get("traceback", ""),
                           warnings=tuple(payload.get("warnings", ())), seconds=seconds)


def _read(path: str) -> str:
    try:
        with open(path, "rb") as fh:
            return fh.read(200_000).decode("utf-8", "replace")
    except OSError:
        return ""


def _child(func: Callable[..., Any], args: Sequence[Any], kwargs: dict[str, Any], limit: int,
           cwd: Any, out_path: str, err_path: str, res_path: str) -> None:
    """The forked child: never returns."""
    code = 70
    try:
        import faulthandler

        faulthandler.disable()  # a crash is the parent's to report, not pytest's to dump
        for fd, path in ((1, out_path), (2, err_path)):
            f = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            os.dup2(f, fd)
            os.close(f)
        sys.stdout = io.TextIOWrapper(os.fdopen(1, "wb", closefd=False), encoding="utf-8",
                                      line_buffering=True)
        sys.stderr = io.TextIOWrapper(os.fdopen(2, "wb", closefd=False), encoding="utf-8",
                                      line_buffering=True)
        # opened now: the function may drop privileges (the read-only folder case)
        res_fd = os.open(res_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        if cwd is not None:
            os.chdir(cwd)
        payload: dict[str, Any]
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                value = func(*args, **kwargs)
                payload = {"status": "ok", "value": value}
                code = 0
            except SystemExit as exc:
                c = exc.code
                code = c if isinstance(c, int) else (0 if c is None else 1)
                if c is not None and not isinstance(c, int):
                    print(c, file=sys.stderr)
                payload = {"status": "exit", "value": code}
            except BaseException as exc:  # noqa: BLE001 - the point is to see everything
                from sid.errors import SidError

                if isinstance(exc, SidError):
                    payload = {"status": "sid_error", "error_line": exc.line().splitlines()[0]}
                    code = 2
                else:
                    tb = traceback.format_exc()
                    payload = {"status": "exception", "traceback": tb,
                               "error_line": tb.strip().splitlines()[-1] if tb.strip() else ""}
                    code = 1
        payload["warnings"] = [f"{w.category.__name__}: {w.message} ({w.filename}:{w.lineno})"
                               for w in caught][:20]
        sys.stdout.flush()
        sys.stderr.flush()
        try:
            blob = pickle.dumps(payload)
        except Exception:  # noqa: BLE001 - an unpicklable value
            blob = pickle.dumps({"status": payload["status"],
                                 "value": repr(payload.get("value"))[:500],
                                 "error_line": payload.get("error_line", ""),
                                 "traceback": payload.get("traceback", ""),
                                 "warnings": payload["warnings"]})
        with os.fdopen(res_fd, "wb") as fh:
            fh.write(blob)
    except BaseException:  # noqa: BLE001
        with contextlib.suppress(OSError):
            os.write(2, traceback.format_exc().encode("utf-8", "replace"))
        code = 70
    finally:
        os._exit(code)


def _cli_main(args: Sequence[str]) -> int:
    """What ``sid ARGS`` does in a fresh process: click's standalone mode, traceback on a bug."""
    from sid.cli import main

    try:
        main.main(args=list(args), prog_name="sid", standalone_mode=True)
    except SystemExit:
        raise
    except BaseException:
        traceback.print_exc()  # as the Python interpreter would print it
        raise SystemExit(1) from None
    return 0


def preload() -> None:
    """Import what the commands import lazily, once, before forking.

    Every child then starts with it loaded (a fork is cheap, a fresh import of pandas,
    openpyxl and matplotlib is not), and a child that drops root (the read-only folder
    case) does not need to read the interpreter's own files, which may be root-only.
    """
    import importlib

    os.environ.setdefault("MPLBACKEND", "Agg")
    for name in ("importlib.readers", "importlib.resources", "encodings.cp1252",
                 "encodings.latin_1", "encodings.utf_16", "encodings.utf_8_sig", "sid.cli",
                 "sid.io", "sid.codebook", "sid.harmonise", "sid.validation", "sid.origin",
                 "sid.design", "sid.variance", "sid.estimation", "sid.weighting", "sid.tables",
                 "sid.export", "sid.synthetic", "sid.expr", "sid.resources", "openpyxl",
                 "matplotlib", "matplotlib.pyplot", "pyreadstat", "scipy.stats"):
        with contextlib.suppress(ImportError):
            importlib.import_module(name)


def run_cli(args: Sequence[str], *, timeout: float = DEFAULT_TIMEOUT, memory: int = DEFAULT_MEMORY,
            cwd: str | os.PathLike[str] | None = None) -> ChildResult:
    """Run ``sid ARGS`` in a forked child (click standalone mode, as the installed command)."""
    return run_in_child(_cli_main, list(args), timeout=timeout, memory=memory, cwd=cwd)
