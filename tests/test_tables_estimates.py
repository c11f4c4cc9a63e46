"""A section's estimates and contrasts from one estimation (sid.tables.estimates, issue 14)
give the book of the separate estimate() and compare() calls."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import sid.estimation
import sid.tables.estimates as estimates
from sid.tables import build_tables, read_spec

ROOT = Path(__file__).parent.parent
SPEC = ROOT / "sid" / "data" / "tables" / "sid_kerntabellen.yaml"
CODEBOOK = ROOT / "sid" / "data" / "sid.yaml"


@pytest.fixture(scope="module")
def harmonised(synthetic_dir: Path):
    from sid.harmonise import load

    return load([synthetic_dir / "sid2017.sav", synthetic_dir / "sid2022.sav"], CODEBOOK)


def _books(harmonised, monkeypatch: pytest.MonkeyPatch):
    calls = {"compare": 0, "estimate_set": 0}
    for module, name in ((sid.estimation, "compare"), (estimates, "estimate_set")):
        inner = getattr(module, name)

        def counted(*a, _inner=inner, _name=name, **k):
            calls[_name] += 1
            return _inner(*a, **k)

        monkeypatch.setattr(module, name, counted)
    shared = build_tables(read_spec(SPEC), harmonised, weight="base_wt")
    shared_calls = dict(calls)
    monkeypatch.setattr(estimates, "section_estimates", lambda *a, **k: None)
    separate = build_tables(read_spec(SPEC), harmonised, weight="base_wt")
    return shared, separate, shared_calls, calls


def test_shared_estimates_give_the_book_of_separate_calls(harmonised,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    shared, separate, shared_calls, calls = _books(harmonised, monkeypatch)
    assert shared_calls["compare"] == 0 and shared_calls["estimate_set"] > 10
    assert calls["compare"] > shared_calls["estimate_set"]  # the separate path compared
    assert [t.id for t in shared] == [t.id for t in separate]
    changes = 0
    for a, b in zip(shared, separate, strict=True):
        assert a.footnotes == b.footnotes
        fa, fb = a.frame, b.frame
        changes += int((fa["kind"] == "difference").sum())
        numeric = [c for c in fa.columns if pd.api.types.is_float_dtype(fb[c])]
        pd.testing.assert_frame_equal(fa.drop(columns=numeric), fb.drop(columns=numeric))
        for c in numeric:
            np.testing.assert_allclose(fa[c].to_numpy(dtype=float), fb[c].to_numpy(dtype=float),
                                       rtol=1e-12, atol=0, equal_nan=True, err_msg=f"{a.id}.{c}")
    assert changes > 0  # compare_waves tables were among them


def test_where_the_separate_calls_raise_they_are_made(harmonised,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """A reference group absent from a wave: no shared estimate set, compare()'s error."""
    from sid.errors import SidError
    from sid.tables import parse_spec

    # Afghaans (7): not in the 2017 sample, so no reference group in that wave
    text = SPEC.read_text(encoding="utf-8").replace("reference: 1 ", "reference: 7 ", 1)
    assert text != SPEC.read_text(encoding="utf-8")
    given: list[object] = []
    inner = estimates.section_estimates

    def spy(*a, **k):
        given.append(inner(*a, **k))
        return given[-1]

    monkeypatch.setattr(estimates, "section_estimates", spy)
    with pytest.raises(SidError, match="reference group '7' not found"):
        build_tables(parse_spec(text, "book.yaml"), harmonised, weight="base_wt")
    assert given and given[-1] is None
