"""Output files written all-or-nothing, and file hashes.

The one atomic writer of the toolkit. :func:`atomic_output` yields a temporary
path in the target's folder; the caller writes there; when the block ends
without an exception the file is flushed to disk (``os.fsync``) and renamed
over the target with ``os.replace`` (atomic on POSIX and Windows), then the
folder entry is synced. A failure leaves no output, no temporary file, and an
existing file at the target untouched. :func:`atomic_outputs` does the same
for several files that belong together: everything is written to temporary
files first and renamed only when all are complete.

Rules, the same for every output of ``sid``:

* **Folders.** Missing parent folders are created (like ``mkdir -p``) before
  anything is written; they stay if the write then fails. A parent that is a
  file, or cannot be created, is an :class:`~sid.errors.InputError`.
* **Permissions.** A new file gets the usual permissions, ``0666`` less the
  process umask: the temporary file is created with ``os.open(..., 0o666)`` and
  the kernel applies the umask. The process-wide umask is never changed (it
  would race with other threads creating files).
* **Temporary names** are ``.<name>.<random>.tmp<suffix>`` beside the target,
  keeping the suffix for writers that choose a format by it (Excel, pyreadstat).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from sid.errors import InputError

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["atomic_output", "atomic_outputs", "file_sha256", "write_csv_atomic", "write_text_atomic"]


def file_sha256(path: str | os.PathLike[str]) -> str:
    """The sha256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success sync it and rename it into place.

    See the module docstring for the folder and permission rules.
    """
    with atomic_outputs([path]) as (tmp,):
        yield tmp


@contextlib.contextmanager
def atomic_outputs(paths: Sequence[str | os.PathLike[str]]) -> Iterator[tuple[Path, ...]]:
    """Yield one temporary path per target; rename them all only when the block succeeds.

    For outputs that belong together (a table book and its notes, a wave and
    its metadata): until every file is complete none of the targets changes.
    The renames at the end are one ``os.replace`` each, done after all files
    are synced, so only a crash between two renames could leave a mix.
    """
    targets = [Path(p) for p in paths]
    if len({t.resolve() for t in targets}) != len(targets):
        raise InputError("the same output file is named twice", where=", ".join(map(str, targets)),
                         fix="give each output its own file name")
    for folder in dict.fromkeys(t.parent for t in targets):
        _make_folder(folder)
    temps: list[Path] = []
    try:
        for target in targets:
            temps.append(_new_temp(target))
        yield tuple(temps)
        for tmp in temps:
            _fsync_path(tmp)
        for tmp, target in zip(temps, targets, strict=True):
            os.replace(tmp, target)
        for folder in dict.fromkeys(t.parent for t in targets):
            _fsync_folder(folder)
    finally:
        for tmp in temps:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()


def write_text_atomic(path: str | os.PathLike[str], text: str) -> None:
    """Write a UTF-8 text file atomically (line ends as given)."""
    with atomic_output(path) as tmp:
        tmp.write_text(text, encoding="utf-8", newline="")


def write_csv_atomic(frame: pd.DataFrame, path: str | os.PathLike[str]) -> None:
    """Write a frame as UTF-8 CSV (no index, ``\\n`` line ends) atomically."""
    with atomic_output(path) as tmp, open(tmp, "w", encoding="utf-8", newline="") as handle:
        frame.to_csv(handle, index=False, lineterminator="\n")


def _make_folder(folder: Path) -> None:
    if folder.is_dir():
        return
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise InputError("the output folder is a file", where=str(folder),
                         fix="choose another output folder") from None
    except OSError as exc:
        raise InputError(f"cannot create the output folder: {exc.strerror}", where=str(folder),
                         fix="check the path and its permissions") from None


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
