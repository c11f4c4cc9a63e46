"""Output files written all-or-nothing, never over an input; file hashes.

The one writer of the toolkit. :func:`atomic_outputs` yields one temporary
path per target, in the target's folder; the caller writes there; when the
block ends without an exception the files are synced (``os.fsync``) and
renamed over their targets with ``os.replace`` (atomic on POSIX and Windows).
A failure leaves no output, no temporary file, and every existing file at a
target untouched. :func:`atomic_output` is the same for one file.

:func:`output_transaction` makes a whole command all-or-nothing and guards
its inputs: inside it, every :func:`atomic_outputs` block (whatever module
calls it) writes its temporary files but the renames wait until the
transaction ends without an error; a failure anywhere removes every temporary
file and every folder the transaction created. Every target is checked
against the transaction's inputs (the files the command was given, and every
wave it read through :mod:`sid.io`): an output that resolves to an input, or
is the same file (``os.path.samefile``: symlinks and hard links), is refused
before anything is written. The transaction is a value held in a
:class:`contextvars.ContextVar` for the duration of the ``with`` block only.

Rules, the same for every output of ``sid``:

* **Folders.** ``sid`` creates the file or folder you name, never the folders
  above it: a target whose parent folder does not exist is an
  :class:`~sid.errors.InputError` with the fix (``mkdir -p``), so a typo in a
  path never scatters files. An output *folder* (``--plots``, ``sid synth
  --out``, ``sid tables --format csv --out``) is created when absent
  (:func:`output_folder`), one level only; folders inside it that belong to
  the output (``sid demo``'s ``data/``) are part of it.
* **Targets.** A target that is an existing folder, lies in a read-only
  folder, or is one of the command's inputs is refused in one line.
* **Permissions.** A new file gets the usual permissions, ``0666`` less the
  process umask: the temporary file is created with ``os.open(..., 0o666)`` and
  the kernel applies the umask. The process-wide umask is never changed.
* **Temporary names** are ``.<name>.<random>.tmp<suffix>`` beside the target,
  keeping the suffix for writers that choose a format by it (Excel, pyreadstat).
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import os
import secrets
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from sid.errors import InputError

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "OutputTransaction",
    "atomic_output",
    "atomic_outputs",
    "check_outputs",
    "file_sha256",
    "note_input",
    "output_folder",
    "output_transaction",
    "pending_path",
    "same_file",
    "write_csv_atomic",
    "write_text_atomic",
]

PathLike = str | os.PathLike[str]


def file_sha256(path: PathLike) -> str:
    """The sha256 of a file, read in 1 MiB blocks.

    Inside an :func:`output_transaction`, an output written earlier in the same command is
    hashed as written (its pending temporary file), not as the file it will replace.
    """
    digest = hashlib.sha256()
    with open(pending_path(path), "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def same_file(a: PathLike, b: PathLike) -> bool:
    """Do ``a`` and ``b`` name the same file: the same resolved path (symlinks followed,
    ``..`` removed, also when neither exists yet) or the same inode (hard links)?"""
    pa, pb = Path(a), Path(b)
    try:
        if pa.resolve() == pb.resolve():
            return True
        return pa.exists() and pb.exists() and os.path.samefile(pa, pb)
    except (OSError, RuntimeError, ValueError):  # loops, broken links, NUL bytes
        return False


# --------------------------------------------------------------------------- the transaction


def pending_path(path: PathLike) -> Path:
    """Where ``path``'s content is now: the temporary file of an output the running command
    has written but not yet renamed into place, else ``path`` itself."""
    tx = _ACTIVE.get()
    if tx is not None:
        for tmp, target in reversed(tx.pending):
            if same_file(target, path):
                return tmp
    return Path(path)


@dataclass
class OutputTransaction:
    """What a command writes and reads: inputs to protect, renames that wait, folders made.

    Made by :func:`output_transaction`, one per command run; never shared.
    """

    inputs: list[tuple[str, Path]] = field(default_factory=list)
    pending: list[tuple[Path, Path]] = field(default_factory=list)
    created: list[Path] = field(default_factory=list)

    def protect(self, role: str, path: PathLike) -> None:
        """Add an input (``role`` names it in messages: ``--gross``, ``wave``...)."""
        self.inputs.append((role, Path(path)))

    def _commit(self) -> None:
        for _, target in self.pending:
            _refuse_inputs(target, self.inputs)
        for tmp, target in self.pending:
            os.replace(tmp, target)
        for folder in dict.fromkeys(t.parent for _, t in self.pending):
            _fsync_folder(folder)
        self.pending.clear()

    def _rollback(self) -> None:
        for tmp, _ in self.pending:
            with contextlib.suppress(OSError):
                tmp.unlink()
        self.pending.clear()
        for folder in reversed(self.created):
            with contextlib.suppress(OSError):
                folder.rmdir()  # only when empty: never a file of someone else


_ACTIVE: contextvars.ContextVar[OutputTransaction | None] = contextvars.ContextVar(
    "sid_output_transaction", default=None)


@contextlib.contextmanager
def output_transaction(inputs: Iterable[tuple[str, PathLike]] = (),
                       outputs: Iterable[tuple[str, PathLike, str]] = ()) -> Iterator[OutputTransaction]:
    """Run a command's writes all-or-nothing, refusing any output that is one of ``inputs``.

    ``inputs`` are ``(role, path)``; ``outputs`` are ``(role, path, kind)`` with kind
    ``file``, ``folder`` or ``any``, checked up front by :func:`check_outputs`. A
    transaction inside another is its own (its renames happen when it ends) and
    protects the outer one's inputs too. ``SystemExit(0)`` counts as success.
    """
    outer = _ACTIVE.get()
    tx = OutputTransaction(inputs=[(r, Path(p)) for r, p in inputs])
    if outer is not None:
        tx.inputs.extend(outer.inputs)
    check_outputs(outputs, tx.inputs)
    token = _ACTIVE.set(tx)
    try:
        yield tx
    except BaseException as exc:
        _ACTIVE.reset(token)
        _end(tx, ok=_normal_exit(exc))
        raise
    _ACTIVE.reset(token)
    _end(tx, ok=True)


def _normal_exit(exc: BaseException) -> bool:
    """``sys.exit(0)`` and click's ``Exit(0)`` end a command normally."""
    if isinstance(exc, SystemExit):
        return exc.code in (0, None)
    return type(exc).__name__ == "Exit" and getattr(exc, "exit_code", 1) == 0


def _end(tx: OutputTransaction, *, ok: bool) -> None:
    if not ok:
        tx._rollback()
        return
    try:
        tx._commit()
    except BaseException:
        tx._rollback()
        raise


def note_input(path: PathLike, role: str = "input") -> None:
    """Record a file a command reads, so that no output of the running command replaces it."""
    tx = _ACTIVE.get()
    if tx is not None:
        tx.protect(role, path)


def check_outputs(outputs: Iterable[tuple[str, PathLike, str]],
                  inputs: Sequence[tuple[str, PathLike]]) -> None:
    """Refuse, all problems in one line, outputs that are inputs, existing folders where a
    file is meant, in a missing or read-only folder. ``outputs``: ``(role, path, kind)``
    with kind ``file``, ``folder`` or ``any``; ``inputs``: ``(role, path)``."""
    problems: list[str] = []
    fixes: list[str] = []
    for role, raw, kind in outputs:
        path = Path(raw)
        try:
            _check_output(role, path, kind, inputs, problems, fixes)
        except OSError as exc:  # e.g. a folder on the way that we may not even look into
            problems.append(f"{role} {path}: cannot be reached ({exc.strerror})")
            fixes.append("write to a folder you can read and write")
    if problems:
        raise InputError("; ".join(problems), fix="; ".join(dict.fromkeys(fixes)))


def _check_output(role: str, path: Path, kind: str, inputs: Sequence[tuple[str, PathLike]],
                  problems: list[str], fixes: list[str]) -> None:
    """The checks of :func:`check_outputs` for one output (appends to the two lists)."""
    clash = [r for r, p in inputs if same_file(path, p)]
    if clash:
        problems.append(f"{role} {path} would overwrite an input ({clash[0]})")
        fixes.append("write to a new file name (inputs are never changed)")
        return
    if kind == "file" and path.is_dir():
        problems.append(f"{role} {path} is a folder")
        fixes.append("name a file (inside that folder, if you like)")
        return
    if kind == "folder" and path.exists() and not path.is_dir():
        problems.append(f"{role} {path} is a file, not a folder")
        fixes.append("name a folder")
        return
    problem = _folder_problem(path.parent)
    if problem and not any(problem[0] in p for p in problems):  # one line per folder
        problems.append(f"{role} {path}: {problem[0]}")
        fixes.append(problem[1])


def _folder_problem(folder: Path) -> tuple[str, str] | None:
    """Why files cannot be created in ``folder`` (what, fix), or None."""
    if not folder.exists():
        return (f"the folder {folder} does not exist",
                f"create it first (mkdir -p {folder}) or correct the path")
    if not folder.is_dir():
        return f"{folder} is a file, not a folder", "choose another output folder"
    if not os.access(folder, os.W_OK | os.X_OK):
        return f"the folder {folder} is read-only", "write to a folder you can write in"
    return None


def _refuse_inputs(target: Path, inputs: Sequence[tuple[str, Path]]) -> None:
    for role, path in inputs:
        if same_file(target, path):
            raise InputError(f"refusing to overwrite the input {role} ({path})", where=str(target),
                             fix="write to a new file name; input files are never changed")


# --------------------------------------------------------------------------- writing


def output_folder(path: PathLike) -> Path:
    """Create the output folder ``path`` if absent (its parent must exist) and return it.

    Inside an :func:`output_transaction` a folder created here is removed again
    (when empty) if the command fails.
    """
    folder = Path(path)
    if folder.is_dir():
        return folder
    if folder.exists():
        raise InputError("the output folder is a file", where=str(folder), fix="name a folder")
    problem = _folder_problem(folder.parent)
    if problem:
        raise InputError(problem[0], where=str(folder), fix=problem[1])
    try:
        folder.mkdir()
    except OSError as exc:
        raise InputError(f"cannot create the output folder: {exc.strerror}", where=str(folder),
                         fix="check the path and its permissions") from None
    tx = _ACTIVE.get()
    if tx is not None:
        tx.created.append(folder)
    return folder


@contextlib.contextmanager
def atomic_output(path: PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success sync it and rename it into place.

    See the module docstring for the folder and permission rules.
    """
    with atomic_outputs([path]) as (tmp,):
        yield tmp


@contextlib.contextmanager
def atomic_outputs(paths: Sequence[PathLike], *,
                   inputs: Iterable[tuple[str, PathLike]] = ()) -> Iterator[tuple[Path, ...]]:
    """Yield one temporary path per target; rename them all only when the block succeeds.

    For outputs that belong together (a wave and its report, a table book and
    its plots): until every file is complete none of the targets changes. The
    renames at the end are one ``os.replace`` each, done after all files are
    synced, so only a crash between two renames could leave a mix. Inside an
    :func:`output_transaction` the renames wait for the transaction's end.
    Targets that are one of ``inputs`` or of the transaction's inputs, existing
    folders, or in a missing or read-only folder are refused before any write.
    """
    tx = _ACTIVE.get()
    guarded = [(r, Path(p)) for r, p in inputs] + (tx.inputs if tx is not None else [])
    targets = [Path(p) for p in paths]
    taken = [t for _, t in tx.pending] if tx is not None else []
    seen: list[Path] = []
    for target in targets:
        if any(same_file(target, s) for s in seen + taken):
            raise InputError("the same output file is named twice", where=str(target),
                             fix="give each output its own file name")
        seen.append(target)
        _refuse_inputs(target, guarded)
        if target.is_dir():
            raise InputError("the output is a folder, not a file", where=str(target),
                             fix="name a file inside the folder")
        problem = _folder_problem(target.parent)
        if problem:
            raise InputError(problem[0], where=str(target), fix=problem[1])
    temps: list[Path] = []
    handed_over = False
    try:
        for target in targets:
            temps.append(_new_temp(target))
        yield tuple(temps)
        for tmp in temps:
            _fsync_path(tmp)
        if tx is not None:
            tx.pending.extend(zip(temps, targets, strict=True))
            handed_over = True
        else:
            for tmp, target in zip(temps, targets, strict=True):
                os.replace(tmp, target)
            for folder in dict.fromkeys(t.parent for t in targets):
                _fsync_folder(folder)
    finally:
        if not handed_over:
            for tmp in temps:
                with contextlib.suppress(FileNotFoundError):
                    tmp.unlink()


def write_text_atomic(path: PathLike, text: str) -> None:
    """Write a UTF-8 text file atomically (line ends as given)."""
    with atomic_output(path) as tmp:
        tmp.write_text(text, encoding="utf-8", newline="")


def write_csv_atomic(frame: pd.DataFrame, path: PathLike) -> None:
    """Write a frame as UTF-8 CSV (no index, ``\\n`` line ends) atomically."""
    with atomic_output(path) as tmp, open(tmp, "w", encoding="utf-8", newline="") as handle:
        frame.to_csv(handle, index=False, lineterminator="\n")


def _new_temp(target: Path) -> Path:
    """Create an empty temporary file beside ``target`` with mode 0666 less the umask."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    for _ in range(100):
        tmp = target.parent / f".{target.name}.{secrets.token_hex(4)}.tmp{target.suffix}"
        try:
            fd = os.open(tmp, flags, 0o666)
        except FileExistsError:
            continue
        except OSError as exc:
            raise InputError(f"cannot write in the output folder: {exc.strerror}",
                             where=str(target.parent), fix="check the folder's permissions") from None
        os.close(fd)
        return tmp
    raise InputError("cannot find a free temporary file name", where=str(target.parent),
                     fix="remove stale .*.tmp* files from the folder")


def _fsync_path(path: Path) -> None:
    fd = os.open(path, os.O_RDWR if os.name == "nt" else os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_folder(folder: Path) -> None:
    """Make the rename durable (POSIX); folders cannot be opened for syncing on Windows."""
    if os.name != "posix":
        return
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def split_wave_arg(item: str | os.PathLike[str]) -> tuple[str | None, Path]:
    """``"2017=path"`` -> ``("2017", path)``; a plain path (or an existing file with '=') -> ``(None, path)``.

    The ``WAVE=PATH`` form of the commands' file arguments (also
    :func:`sid.harmonise.split_wave_arg`); here, so that a command can find its input
    files before it loads anything else."""
    text = str(item)
    if "=" in text and not Path(text).exists():
        wave, _, file = text.partition("=")
        return wave.strip(), Path(file.strip())
    return None, Path(item)

