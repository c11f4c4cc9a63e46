"""Shared fixtures: the synthetic SID files, generated once per test session."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def synthetic_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with the synthetic SID files (``sid synth`` output, default seed)."""
    from sid.synthetic import synthesise

    out = tmp_path_factory.mktemp("synthetic")
    synthesise(out)
    return out
