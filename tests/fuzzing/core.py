"""The campaign: families of inputs, a seeded loop with a budget, findings saved for replay."""

from __future__ import annotations

import contextlib
import json
import os
import random
import shutil
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fuzzing.oracle import Finding
from fuzzing.runner import DEFAULT_MEMORY

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "sid" / "data"
# as tests/conftest.py: ../shared/corpus beside the checkout (SID_CORPUS elsewhere); without
# it the waves family mutates the synthetic waves only
CORPUS = Path(os.environ.get("SID_CORPUS") or REPO.parent / "shared" / "corpus") / "pyreadstat"


@dataclass
class Context:
    """What every family shares: a scratch folder, the synthetic files, the limits."""

    work: Path
    synth: Path
    timeout: float = 60.0
    memory: int = DEFAULT_MEMORY
    findings: Path | None = None  # where inputs that broke the oracle are kept
    cache: dict[str, Any] = field(default_factory=dict)

    def case_dir(self, family: str, i: int) -> Path:
        """A fresh, empty folder for one input (removed by :meth:`done`)."""
        d = self.work / "cases" / f"{family}-{i}"
        if d.exists():
            shutil.rmtree(d, ignore_errors=True)
        d.mkdir(parents=True)
        return d

    def done(self, d: Path) -> None:
        _make_writable(d)
        shutil.rmtree(d, ignore_errors=True)


def _make_writable(d: Path) -> None:
    for root, dirs, _files in os.walk(d):
        for name in dirs:
            with contextlib.suppress(OSError):
                os.chmod(os.path.join(root, name), 0o755)
    with contextlib.suppress(OSError):
        os.chmod(d, 0o755)


class Family:
    """A family of fuzz inputs. ``one`` builds, runs and checks one input."""

    name: str = "?"
    #: rough seconds per input, to share a time budget
    cost: float = 1.0

    def setup(self, ctx: Context) -> None:  # noqa: B027 - optional hook
        """Prepare fixtures once per campaign."""

    def one(self, rng: random.Random, i: int, ctx: Context) -> list[Finding]:
        raise NotImplementedError

    def run(self, rng: random.Random, ctx: Context, *, inputs: int | None,
            seconds: float | None) -> tuple[int, list[Finding]]:
        """Run inputs until the count or the time is used up; (inputs tried, findings)."""
        start = time.perf_counter()
        tried = 0
        found: list[Finding] = []
        while (inputs is None or tried < inputs) and (
                seconds is None or time.perf_counter() - start < seconds):
            found += self.one(rng, tried, ctx)
            tried += 1
        return tried, found


@dataclass
class FamilyReport:
    name: str
    tried: int
    findings: list[Finding]
    seconds: float


def all_families() -> list[Family]:
    from fuzzing.cliargs import CliArgsFamily
    from fuzzing.exprs import ExprFamily
    from fuzzing.margins import MarginsFamily
    from fuzzing.outputs import OutputsFamily
    from fuzzing.waves import WaveFamily
    from fuzzing.yamls import YamlFamily

    return [WaveFamily(), YamlFamily(), MarginsFamily(), ExprFamily(), CliArgsFamily(),
            OutputsFamily()]


def make_context(work: Path | None = None, synth: Path | None = None, *,
                 timeout: float = 60.0, memory: int = DEFAULT_MEMORY) -> Context:
    """A context with the synthetic SID files (made with ``sid synth`` when not given)."""
    from fuzzing.runner import preload

    preload()
    work = Path(work or tempfile.mkdtemp(prefix="sid-fuzz-"))
    work.mkdir(parents=True, exist_ok=True)
    if synth is None:
        from sid.synthetic import synthesise

        synth = work / "synth"
        if not (synth / "sid2022.sav").is_file():
            synthesise(synth, seed=20260101)
    return Context(work=work, synth=Path(synth), timeout=timeout, memory=memory)


def run_campaign(seed: int, families: Sequence[Family], ctx: Context, *,
                 inputs: dict[str, int] | None = None, seconds: dict[str, float] | None = None,
                 findings_dir: Path | None = None, echo: Any = None) -> list[FamilyReport]:
    """Run each family with its own seeded generator; save findings for replay."""
    reports = []
    for fam in families:
        rng = random.Random(f"{seed}:{fam.name}")
        t0 = time.perf_counter()
        fam.setup(ctx)
        tried, found = fam.run(rng, ctx, inputs=(inputs or {}).get(fam.name),
                               seconds=(seconds or {}).get(fam.name))
        rep = FamilyReport(fam.name, tried, found, time.perf_counter() - t0)
        reports.append(rep)
        if findings_dir is not None:
            save_findings(findings_dir, seed, rep)
        if echo is not None:
            echo(f"{fam.name:<8} inputs {tried:>6}  findings {len(found):>5}  "
                 f"root causes {len(group(found)):>3}  ({rep.seconds:.0f} s)")
    return reports


def save_findings(folder: Path, seed: int, rep: FamilyReport) -> None:
    """One JSON per finding (recipe, command, what went wrong, traceback head)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for k, f in enumerate(rep.findings):
        record = {"seed": seed, "family": f.family, "kind": f.kind, "detail": f.detail,
                  "command": f.command, "recipe": f.recipe, "saved": f.saved,
                  "traceback_head": f.traceback.strip().splitlines()[:3]
                  + ["..."] + f.traceback.strip().splitlines()[-8:] if f.traceback else [],
                  "signature": list(f.signature())}
        (folder / f"{rep.name}-{k:05d}.json").write_text(
            json.dumps(record, indent=1, ensure_ascii=False, default=str), encoding="utf-8")


def save_bytes(ctx_findings: Path | None, name: str, data: bytes) -> str:
    """Keep the bytes of an input that broke the oracle (outside the repository)."""
    if ctx_findings is None:
        return ""
    ctx_findings.mkdir(parents=True, exist_ok=True)
    path = ctx_findings / name
    path.write_bytes(data)
    return str(path)


def group(findings: Iterable[Finding]) -> dict[tuple[str, str, str], list[Finding]]:
    """Findings grouped by root-cause signature."""
    out: dict[tuple[str, str, str], list[Finding]] = defaultdict(list)
    for f in findings:
        out[f.signature()].append(f)
    return dict(out)


def summary(reports: Sequence[FamilyReport], limit: int = 200) -> str:
    """A readable report: per family the inputs tried, then findings by root cause."""
    lines = []
    for rep in reports:
        groups = group(rep.findings)
        lines.append(f"## {rep.name}: {rep.tried} inputs, {len(rep.findings)} findings, "
                     f"{len(groups)} root causes ({rep.seconds:.0f} s)")
        for (kind, frame, exc), items in sorted(groups.items(), key=lambda kv: -len(kv[1])):
            ex = items[0]
            last = ex.traceback.strip().splitlines()[-1] if ex.traceback.strip() else ex.detail
            lines.append(f"- [{kind}] x{len(items)} {frame or '-'} {exc}")
            lines.append(f"    last line: {last[:limit]}")
            lines.append(f"    example:   {ex.command[:limit]}")
            lines.append(f"    recipe:    {json.dumps(ex.recipe, default=str)[:limit]}")
    return "\n".join(lines)
