"""Shared fixtures: the synthetic SID files, the real-file corpus and golden-file helpers.

The corpus is real SPSS/Stata files written by other tools (pyreadstat's test
data), kept outside the repository at ``../shared/corpus`` beside the checkout.
Tests that need it take the ``corpus`` (or ``corpus_file``) fixture: without the
corpus they skip with a reason saying so, and with ``SID_REQUIRE_CORPUS=1`` (set
by ``.ci/run``) its absence is a failure.

Golden files (R's numbers in ``tests/reference/``) are never optional: a missing
one fails its tests (see :func:`golden_params`), so no golden test can vanish.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT / "tests" / "reference"
CORPUS = Path(os.environ.get("SID_CORPUS") or ROOT.parent / "shared" / "corpus") / "pyreadstat"
# Read golden CSVs to the bit: pandas < 3 parses floats up to one ulp off unless asked for
# round-trip parsing (as sid.io.read_table does); pandas 3 is exact and deprecates the option.
EXACT_CSV: dict[str, str] = (
    {"float_precision": "round_trip"} if int(pd.__version__.split(".")[0]) < 3 else {})
CORPUS_SUFFIXES = {".sav", ".zsav", ".por", ".dta"}
REQUIRE_CORPUS = os.environ.get("SID_REQUIRE_CORPUS", "") not in ("", "0")
CORPUS_REASON = (
    f"needs the corpus of real SPSS/Stata files written by other tools (pyreadstat's test "
    f"data), expected at {CORPUS} (../shared/corpus beside the checkout; CI has it)"
)


def corpus_names() -> list[str]:
    """File names in the corpus (empty when it is absent)."""
    if not CORPUS.is_dir():
        return []
    return sorted(p.name for p in CORPUS.iterdir() if p.suffix in CORPUS_SUFFIXES)


@pytest.fixture(scope="session")
def corpus() -> Path:
    """The corpus folder; skips (or fails under SID_REQUIRE_CORPUS=1) when it is absent."""
    if not corpus_names():
        if REQUIRE_CORPUS:
            pytest.fail(f"SID_REQUIRE_CORPUS is set but the corpus is missing: {CORPUS_REASON}")
        pytest.skip(CORPUS_REASON)
    return CORPUS


@pytest.fixture
def corpus_file(request: pytest.FixtureRequest, corpus: Path) -> Path:
    """One corpus file; tests taking it are run once per file (see pytest_generate_tests)."""
    return corpus / request.param


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "corpus_file" in metafunc.fixturenames:
        # Without the corpus, one placeholder case that the corpus fixture skips or fails.
        names = corpus_names() or ["corpus-missing"]
        metafunc.parametrize("corpus_file", names, ids=names, indirect=True)


def golden_params(
    name: str,
    load: Callable[[Path], Sequence[Any]],
    ids: Callable[[Any], str],
) -> list[Any]:
    """Parameters for a golden test from ``tests/reference/<name>``.

    A missing (or empty) file gives one case that fails with the file's name, so
    the golden tests fail loudly instead of vanishing from the run.
    """
    path = REFERENCE / name
    rows = list(load(path)) if path.is_file() else []
    if rows:
        return [pytest.param(row, id=ids(row)) for row in rows]
    why = "is missing" if not path.is_file() else "has no cases"
    return [pytest.param(None, id=f"{name}-missing", marks=pytest.mark.golden_missing(
        f"golden file {path} {why}; regenerate it with its R script (tests/reference/README.md)"))]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "golden_missing(why): a golden file is missing; fails")


def pytest_runtest_setup(item: pytest.Item) -> None:
    mark = item.get_closest_marker("golden_missing")
    if mark is not None:
        pytest.fail(mark.args[0], pytrace=False)


@pytest.fixture(scope="session")
def synthetic_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with the synthetic SID files (``sid synth`` output, default seed)."""
    from sid.synthetic import synthesise

    out = tmp_path_factory.mktemp("synthetic")
    synthesise(out)
    return out
