"""The standing fuzzer, bounded: a fixed seed and a fixed number of inputs per family.

Every family (see tests/fuzzing/ and ``scripts/fuzz.py`` for the long mode)
runs its inputs in forked children with a timeout and a memory cap, and the
test fails on any traceback, crash, hang, memory blow-up, modified input,
leftover file, wrong weight or bad interval, printing the findings grouped by
root cause. About two minutes in total on a 2-core machine.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from fuzzing.core import all_families, make_context, run_campaign, summary

pytestmark = [pytest.mark.fuzz,
              pytest.mark.skipif(not hasattr(os, "fork"), reason="the fuzzer forks (POSIX only)")]

SEED = 20261127
#: inputs per family: about 2 minutes in total (measured on the 2-core CI machine)
INPUTS = {"waves": 60, "yaml": 30, "margins": 25, "expr": 200, "cli": 40, "outputs": 12}
TIMEOUT = 15.0  # seconds per input
MEMORY = 1024**3  # bytes an input may add to the address space


@pytest.fixture(scope="module")
def fuzz_context(synthetic_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    os.environ.setdefault("MPLBACKEND", "Agg")
    work = tmp_path_factory.mktemp("fuzz")
    ctx = make_context(work, synthetic_dir, timeout=TIMEOUT, memory=MEMORY)
    ctx.findings = work / "findings" / "inputs"
    return ctx


@pytest.mark.parametrize("family", [f.name for f in all_families()])
def test_fuzz_family(family: str, fuzz_context) -> None:
    fam = next(f for f in all_families() if f.name == family)
    (report,) = run_campaign(SEED, [fam], fuzz_context, inputs=INPUTS,
                             findings_dir=fuzz_context.work / "findings")
    assert report.tried == INPUTS[family]
    assert not report.findings, (
        f"{len(report.findings)} finding(s) in {report.tried} inputs (seed {SEED}; replay files "
        f"in {fuzz_context.work / 'findings'}):\n" + summary([report]))


# --------------------------------------------------------------------------- the oracle itself


def _crash() -> None:
    import ctypes

    ctypes.string_at(0)  # a read of address 0: SIGSEGV, as a broken C reader would


def _hang() -> None:
    import time

    time.sleep(60)


def _blow_up() -> bytes:
    return bytes(4 * 1024**3)


def _bug() -> None:
    raise KeyError("resp_id")


def _user_error() -> None:
    from sid.errors import InputError

    raise InputError("the file is damaged", where="w.sav", fix="re-export it")


@pytest.mark.parametrize("func, kind", [(_crash, "crash"), (_hang, "hang"),
                                        (_blow_up, "memory"), (_bug, "traceback")])
def test_oracle_sees_every_failure(func, kind: str) -> None:
    from fuzzing.oracle import api_findings
    from fuzzing.runner import run_in_child

    res = run_in_child(func, timeout=2.0, memory=512 * 1024**2)
    found = api_findings("self-test", {}, func.__name__, res)
    assert [f.kind for f in found] == [kind]


def test_oracle_passes_a_clean_error_and_flags_a_bad_one(tmp_path: Path) -> None:
    from fuzzing.oracle import api_findings, cli_findings, snapshot_dirs, snapshot_files
    from fuzzing.runner import run_cli, run_in_child

    assert api_findings("self-test", {}, "", run_in_child(_user_error)) == []
    data = tmp_path / "w.sav"
    data.write_bytes(b"$FL2 not really a wave")
    before, dirs = snapshot_files([data]), snapshot_dirs([tmp_path])
    res = run_cli(["info", str(data)], timeout=30)
    assert res.exit_code == 2 and res.stderr.startswith("error:")
    assert cli_findings("self-test", {}, "", res, inputs_before=before, dirs_before=dirs) == []
    data.write_bytes(b"changed")
    (tmp_path / ".w.sav.abc123.tmp.sav").write_bytes(b"")
    kinds = {f.kind for f in cli_findings("self-test", {}, "", res, inputs_before=before,
                                          dirs_before=dirs)}
    assert kinds == {"modified-input", "leftover"}


def test_margins_check_catches_weights_off_target() -> None:
    import numpy as np
    import pandas as pd
    from fuzzing.margins import margin_gaps, targets_of, weighted_margins

    header = ["ref_date", "herkomst", "geslacht", "leeftijdsgroep", "gewest", "count"]
    rows = [["2022-01-01", "1", "1", "1", "1", "10"], ["2022-01-01", "1", "2", "1", "2", "30"],
            ["2017-01-01", "1", "1", "1", "1", "999"]]
    resp = pd.DataFrame({"herkomst": [1, 1, 1], "geslacht": [1, 2, 2], "leeftijdsgroep": [1, 1, 1],
                         "gewest": [1, 2, 2]})
    target = targets_of(header, rows)
    assert margin_gaps(target, weighted_margins(resp, pd.Series([10.0, 15.0, 15.0]))) == []
    gaps = margin_gaps(target, weighted_margins(resp, pd.Series([10.0, 15.0, 15.0 + 1e-3])))
    assert len(gaps) == 2 and all("target 30" in g for g in gaps)
    assert margin_gaps(target, weighted_margins(resp, pd.Series([np.nan, 15.0, 15.0])))
