"""Reading a survey file so that a damaged or hostile file cannot take the process down.

ReadStat (the C library inside pyreadstat) trusts the file: some one-byte
flips of a ``.sav``/``.zsav`` make it crash (SIGSEGV), and a header that
declares 10⁹ rows makes it allocate gigabytes per column. Two defences:

* :func:`check_header`, in this process: the row count a ``.sav``, ``.zsav``
  or ``.dta`` header declares must fit in the file's size, else the file is
  refused before anything is allocated (a few hundred bytes read).
* :func:`start_reader`: the reader runs in a child process (``fork``, or
  ``forkserver`` when other threads run; see :func:`_context`) whose address
  space is capped (``RLIMIT_AS``). A crash
  or an exhausted memory cap in the child becomes one
  :class:`~sid.errors.InputError` naming the file; any exception the reader
  raises is re-raised here unchanged, so callers map it as before. The data
  come back pickled through a pipe (measured cost in docs/decisions.md).
"""

from __future__ import annotations

import contextlib
import importlib
import multiprocessing
import os
import pickle
import signal
import struct
import sys
import threading
import weakref
from pathlib import Path
from typing import Any

from sid.errors import InputError

__all__ = ["PendingRead", "check_header", "memory_cap", "start_reader"]

_GIB = 1 << 30
_DAMAGED_FIX = "re-export it from SPSS/Stata (File > Save As); the file is damaged or not what its name says"


def check_header(path: Path, fmt: str) -> None:
    """Refuse a file whose header declares more rows than its size can hold (``sav``,
    ``zsav``, ``dta``): a row takes at least 1 byte per Stata variable, 1/8 byte per
    8-byte SPSS element (bytecode compression), 1/1100 of that under zlib (``zsav``)."""
    size = path.stat().st_size
    with open(path, "rb") as fh:
        head = fh.read(512)
    declared = _sav_rows(head) if fmt in ("sav", "zsav") else _dta_rows(head) if fmt == "dta" else None
    if declared is None:
        return
    rows, min_row_bytes = declared
    if rows > 0 and rows * min_row_bytes > size:
        raise InputError(
            f"the file is damaged: its header declares {rows:,} rows, which cannot fit in "
            f"{size:,} bytes", where=str(path), fix=_DAMAGED_FIX)


def _sav_rows(head: bytes) -> tuple[int, float] | None:
    if len(head) < 84 or head[:4] not in (b"$FL2", b"$FL3"):
        return None
    for order in ("<", ">"):
        layout, case_size, compression, _, ncases = struct.unpack(order + "5i", head[64:84])
        if layout in (2, 3):
            break
    else:
        return None
    if ncases < 0 or case_size <= 0:
        return None  # unknown row count: ReadStat counts rows as it reads
    per_row = {0: 8.0 * case_size, 1: case_size / 8, 2: case_size / 8 / 1100}.get(compression)
    return (ncases, per_row) if per_row is not None else None


def _dta_rows(head: bytes) -> tuple[int, float] | None:
    if head.startswith(b"<stata_dta><header><release>"):
        try:
            release = int(head[28:31])
        except ValueError:
            return None
        bpos = head.find(b"<byteorder>") + len(b"<byteorder>")
        order = "<" if head[bpos:bpos + 3] == b"LSF" else ">"
        pos = head.find(b"<K>")
        if pos < 0:
            return None
        k_fmt = "I" if release >= 119 else "H"
        k_len = struct.calcsize(k_fmt)
        nvar = struct.unpack(order + k_fmt, head[pos + 3:pos + 3 + k_len])[0]
        npos = head.find(b"<N>", pos)
        if npos < 0:
            return None
        n_fmt = "I" if release == 117 else "Q"
        nobs = struct.unpack(order + n_fmt, head[npos + 3:npos + 3 + struct.calcsize(n_fmt)])[0]
        return nobs, float(max(nvar, 1))
    if len(head) >= 10 and 104 <= head[0] <= 115 and head[1] in (1, 2):
        order = ">" if head[1] == 1 else "<"
        nvar, nobs = struct.unpack(order + "HI", head[4:10])
        return nobs, float(max(nvar, 1))
    return None


def memory_cap(path: Path) -> int:
    """Address space the reader child may use: 4 GiB plus 64 times the file (a zsav
    expands ~10-20x into float64 columns), at most the machine's memory."""
    want = 4 * _GIB + 64 * path.stat().st_size
    try:
        physical = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return want
    return int(min(want, max(physical, 4 * _GIB)))


def _child(conn: Any, reader_name: str, path: str, kwargs: dict[str, Any], cap: int,
           own_read_fd: int | None = None) -> None:
    """In the child: cap the address space, read, send the result or the exception back.

    ``own_read_fd``: a forked child's copy of its pipe's read end, closed first. Were it
    kept, a child whose result is never collected (its command stopped first) would wait
    to write forever: its pipe would always have a reader, itself."""
    import faulthandler

    if own_read_fd is not None:
        os.close(own_read_fd)
    # Ctrl-C in a terminal reaches the whole process group: the parent stops the command
    # and ends its readers; a reader of its own would print a KeyboardInterrupt traceback
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    faulthandler.disable()  # a crash is reported by the parent, in one line
    try:
        import resource

        _, hard = resource.getrlimit(resource.RLIMIT_AS)
        limit = cap if hard == resource.RLIM_INFINITY else min(cap, hard)
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    except (ImportError, ValueError, OSError):
        pass
    import pyreadstat

    try:
        try:
            result = getattr(pyreadstat, reader_name)(path, **kwargs)
            buffers: list[pickle.PickleBuffer] = []  # numpy columns go out of band: no copy
            head = pickle.dumps(result, protocol=5, buffer_callback=buffers.append)
            conn.send(("ok", [buffer.raw().nbytes for buffer in buffers]))
            conn.send_bytes(head)
            for buffer in buffers:
                conn.send_bytes(buffer.raw())
        except MemoryError:
            conn.send(("memory", None))
        except Exception as exc:  # re-raised in the parent, mapped there
            try:
                conn.send(("raise", exc))
            except Exception:
                conn.send(("raise", RuntimeError(f"{type(exc).__name__}: {exc}")))
    except (BrokenPipeError, ConnectionResetError):
        pass  # nobody collects the result (the command stopped first): end quietly
    finally:
        conn.close()


def _context() -> (multiprocessing.context.ForkContext | multiprocessing.context.ForkServerContext
                    | multiprocessing.context.SpawnContext):
    """``fork`` when this process runs no other Python thread (the CLI, scripts, notebooks):
    the child starts in ~10-50 ms with everything imported, and does not re-run the user's
    script as ``spawn``/``forkserver`` children do. With other threads running (a fork
    would copy locks they hold) ``forkserver``, pyreadstat and pandas preloaded; there,
    as with any ``spawn``-style multiprocessing, a script needs its
    ``if __name__ == "__main__":`` guard."""
    methods = multiprocessing.get_all_start_methods()
    if "fork" in methods and threading.active_count() == 1:
        return multiprocessing.get_context("fork")
    if "forkserver" in methods:
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(["pyreadstat", "pandas", "sid.io.child"])
        return ctx
    return multiprocessing.get_context("spawn")


#: What a reader child imports on its first read: the child's own modules and narwhals'
#: pandas backend, through which pyreadstat builds the DataFrame. Imported once in the
#: parent, a forked child finds them loaded instead of importing them again (~10 ms CPU
#: per child, ~30 ms for the three reads of one weighted wave in `sid tables`).
_CHILD_IMPORTS = ("faulthandler", "resource", "narwhals._namespace",
                  "narwhals._pandas_like.namespace", "narwhals._pandas_like.dataframe",
                  "narwhals._pandas_like.series")


def _preload_for_fork() -> None:
    """Import :data:`_CHILD_IMPORTS` here when this process has pyreadstat and pandas
    loaded (it is about to read with them), so forked children inherit them."""
    if "pyreadstat" not in sys.modules or "pandas" not in sys.modules:
        return
    for name in _CHILD_IMPORTS:
        # another narwhals layout: the child imports what it needs, as before
        if name not in sys.modules:
            with contextlib.suppress(ImportError):
                importlib.import_module(name)


class PendingRead:
    """A reader child started by :func:`start_reader`; :meth:`result` waits for it,
    :meth:`cancel` ends it unread.

    Several reads can run at once (each in its own child), also while this process goes
    on with other work (``sid tables`` imports and loads its codebook meanwhile). A read
    neither collected nor cancelled is cancelled when the object is garbage-collected or
    at the interpreter's exit, so no reader outlives its use."""

    def __init__(self, child: Any, receive: Any, path: Path, cap: int) -> None:
        self._child, self._receive, self._path, self._cap = child, receive, path, cap
        self._end = weakref.finalize(self, _end_reader, child, receive, os.getpid())

    def cancel(self) -> None:
        """End the child without its result (nothing to do once collected)."""
        self._end()

    def result(self) -> tuple[Any, Any]:
        """What the reader returned; re-raises what it raised; a crash or the memory cap
        becomes an :class:`~sid.errors.InputError`. Call it once, not after :meth:`cancel`."""
        child, receive, path, cap = self._child, self._receive, self._path, self._cap
        self._end.detach()  # collected here, whatever happens
        try:
            status, payload = receive.recv()
            if status == "ok":
                head = receive.recv_bytes()
                buffers = []
                for size in payload:  # writable buffers: the columns must not be read-only
                    buffer = bytearray(size)
                    receive.recv_bytes_into(buffer)
                    buffers.append(buffer)
                payload = pickle.loads(head, buffers=buffers)
        except EOFError:
            status, payload = "died", None
        finally:
            receive.close()
            child.join()
        if status == "ok":
            return payload
        if status == "raise":
            raise payload
        if status == "memory":
            raise InputError(f"the file is damaged or too large: reading it needs more than "
                             f"{cap / _GIB:.1f} GiB of memory", where=str(path),
                             fix="if the file is intact, read fewer columns or use a machine with "
                                 "more memory; else re-export it from SPSS/Stata")
        code = child.exitcode
        how = (f"signal {signal.Signals(-code).name}" if code is not None and code < 0
               and -code in signal.Signals._value2member_map_ else f"exit code {code}")
        raise InputError(f"the file is damaged: the SPSS/Stata reader crashed on it ({how})",
                         where=str(path), fix=_DAMAGED_FIX)


def _end_reader(child: Any, receive: Any, owner: int) -> None:
    """Close this end of the pipe and end the child now (it may be blocked writing); only in
    the process that started it (not in a forked copy of that process, e.g. run_pair's)."""
    if os.getpid() != owner:
        return
    receive.close()
    if child.is_alive():
        child.terminate()
    child.join()


def start_reader(reader_name: str, path: Path, kwargs: dict[str, Any]) -> PendingRead:
    """Start ``pyreadstat.<reader_name>(path, **kwargs)`` in a memory-capped child process
    and return at once; :meth:`PendingRead.result` collects it."""
    ctx = _context()
    fork = ctx.get_start_method() == "fork"
    if fork:
        _preload_for_fork()
    receive, send = ctx.Pipe(duplex=False)
    cap = memory_cap(path)
    own_read_fd = receive.fileno() if fork else None
    child = ctx.Process(target=_child, args=(send, reader_name, str(path), kwargs, cap, own_read_fd),
                        daemon=True)
    child.start()
    send.close()
    return PendingRead(child, receive, path, cap)
