"""The fuzz oracle: what every input must end in, and the findings when it does not.

For every input: exit 0, or exit 2 with one line on stderr starting with
``error:`` (a CodebookError may list its problems on following ``  - `` lines);
never a traceback, a crash signal, a hang or a memory blow-up; every input file
byte-identical afterwards; no leftover files in the output folders after a
failure. Library calls must return or raise a SidError.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fuzzing.runner import ChildResult

# stderr lines that are progress or notes, not errors
_INFO_LINES = re.compile(r"^(replicaatgewichten: |note: |skipped \d+ table|warning: )")
_RAW_WARNING = re.compile(r"\b\w*(Warning|Error)\b: ")
_QUIET_WARNINGS = ("DeprecationWarning", "PendingDeprecationWarning", "ImportWarning",
                   "ResourceWarning")


@dataclass
class Finding:
    """One input that broke the oracle, with what is needed to replay it."""

    family: str
    kind: str  # traceback | crash | hang | memory | modified-input | leftover | bad-exit | ...
    detail: str
    recipe: dict[str, Any]
    command: str = ""
    traceback: str = ""
    saved: list[str] = field(default_factory=list)  # files saved under the findings folder
    cause: str = ""  # the family's name for the trigger, when there is no traceback to group by

    def signature(self) -> tuple[str, str, str]:
        """(kind, innermost sid frame, exception type): inputs with one root cause share it."""
        if self.traceback:
            return (self.kind, innermost_sid_frame(self.traceback),
                    exception_type(self.traceback))
        return (self.kind, "", self.cause or _normalise(self.detail))


def innermost_sid_frame(tb: str) -> str:
    """``sid/weighting.py:run_spec`` for the deepest frame inside the sid package."""
    frames = re.findall(r'File "([^"]+)", line (\d+), in (\S+)', tb)
    for path, _line, func in reversed(frames):
        norm = path.replace("\\", "/")
        if "/sid/" in norm and "/tests/" not in norm:
            return f"sid/{norm.rsplit('/sid/', 1)[1]}:{func}"
    return ""


def exception_type(tb: str) -> str:
    last = tb.strip().splitlines()[-1] if tb.strip() else ""
    m = re.match(r"^([\w.]+(Error|Exception|Warning|Interrupt|Exit)|[\w.]+):", last)
    return m.group(1) if m else ""


def _normalise(text: str) -> str:
    text = re.sub(r"/tmp/\S+", "PATH", text)
    text = re.sub(r"\d+", "N", text)
    return text[:80]


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def snapshot_files(paths: Iterable[Path]) -> dict[str, str]:
    """sha256 of every existing input file (links followed, as the command reads them)."""
    out = {}
    for p in paths:
        p = Path(p)
        if p.is_file():
            out[str(p)] = sha256(p)
    return out


def snapshot_dirs(dirs: Iterable[Path]) -> dict[str, set[str]]:
    """Every entry below each folder (recursively), to find leftovers afterwards."""
    out: dict[str, set[str]] = {}
    for d in dirs:
        d = Path(d)
        names: set[str] = set()
        if d.is_dir():
            for root, subdirs, files in os.walk(d):
                rel = os.path.relpath(root, d)
                names.update(os.path.normpath(os.path.join(rel, n)) for n in [*subdirs, *files])
        out[str(d)] = names
    return out


def check_files(before: Mapping[str, str]) -> list[str]:
    """Inputs whose bytes changed (or that vanished)."""
    bad = []
    for path, digest in before.items():
        p = Path(path)
        if not p.is_file():
            bad.append(f"{path} vanished")
        elif sha256(p) != digest:
            bad.append(f"{path} changed")
    return bad


def new_entries(before: Mapping[str, set[str]]) -> list[str]:
    after = snapshot_dirs(Path(d) for d in before)
    return sorted(os.path.join(d, n) for d, names in after.items()
                  for n in names - before.get(d, set()))


def cli_findings(family: str, recipe: dict[str, Any], command: str, res: ChildResult, *,
                 inputs_before: Mapping[str, str] | None = None,
                 dirs_before: Mapping[str, set[str]] | None = None,
                 allowed_exit: tuple[int, ...] = (0, 2)) -> list[Finding]:
    """Check a CLI run against the oracle; every broken rule is one finding."""
    found: list[Finding] = []

    def add(kind: str, detail: str, tb: str = "") -> None:
        found.append(Finding(family, kind, detail, recipe, command, tb))

    err = res.stderr
    if res.status == "timeout":
        add("hang", f"no answer within the timeout ({res.seconds:.0f} s)")
    elif res.status == "signal":
        add("crash", f"killed by signal {res.signal} (exit {res.exit_code}); stderr: "
                     f"{err.strip()[-200:]!r}")
    elif res.status == "lost":
        add("memory" if "MemoryError" in err else "crash",
            f"child died without reporting (exit {res.exit_code})", err)
    elif "Traceback (most recent call last)" in err or res.status == "exception":
        tb = err[err.find("Traceback"):] if "Traceback" in err else res.traceback
        last = tb.strip().splitlines()[-1] if tb.strip() else ""
        kind = "memory" if "MemoryError" in last.split(":")[0] else "traceback"
        add(kind, last[:300], tb)
    elif res.exit_code not in allowed_exit:
        add("bad-exit", f"exit {res.exit_code}; stderr: {err.strip()[:300]!r}")
    elif res.exit_code == 2:
        lines = [ln for ln in err.splitlines() if ln.strip()]
        errors = [ln for ln in lines if ln.startswith("error:")]
        other = [ln for ln in lines if not ln.startswith(("error:", "  - ", "  "))
                 and not _INFO_LINES.match(ln)]
        if len(errors) != 1 or other:
            add("bad-message", f"exit 2 but stderr is not one 'error:' line: {err.strip()[:300]!r}")
    if res.status not in ("timeout", "signal", "lost"):
        raw = [w for w in res.warnings if not w.startswith(_QUIET_WARNINGS)]
        if raw:
            add("raw-warning", raw[0][:300])
    if inputs_before:
        changed = check_files(inputs_before)
        if changed:
            add("modified-input", "; ".join(changed))
    if dirs_before is not None:
        new = new_entries(dirs_before)
        if res.exit_code != 0 or res.status != "exit":
            if new:
                add("leftover", "after a failure: " + ", ".join(new[:5]))
        else:
            tmp = [n for n in new if ".tmp" in os.path.basename(n)]
            if tmp:
                add("leftover", "temp files after success: " + ", ".join(tmp[:5]))
    return found


def api_findings(family: str, recipe: dict[str, Any], command: str, res: ChildResult
                 ) -> list[Finding]:
    """Check a library call: it returns or raises a SidError; nothing else."""
    found: list[Finding] = []
    if res.status == "timeout":
        found.append(Finding(family, "hang", f"no answer within {res.seconds:.0f} s", recipe,
                             command))
    elif res.status == "signal":
        found.append(Finding(family, "crash", f"killed by signal {res.signal}", recipe, command,
                             res.stderr))
    elif res.status == "lost":
        kind = "memory" if "MemoryError" in res.stderr else "crash"
        found.append(Finding(family, kind, f"child died (exit {res.exit_code}): "
                             f"{res.stderr.strip().splitlines()[-1:] or ''}", recipe, command,
                             res.stderr))
    elif res.status == "exception":
        kind = "memory" if "MemoryError" in res.error_line.split(":")[0] else "traceback"
        found.append(Finding(family, kind, res.error_line[:300], recipe, command, res.traceback))
    elif res.status == "exit":
        found.append(Finding(family, "bad-exit", f"SystemExit {res.value} from a library call",
                             recipe, command))
    return found
