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


def _stamped(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each indicator table notes the process that computed it in its last footnote."""
    import dataclasses
    import os

    import sid.tables.book as book_module

    inner = book_module._build_one

    def stamped(*a, **k):
        result = inner(*a, **k)
        return dataclasses.replace(result, footnotes=(*result.footnotes, f"pid {os.getpid()}"))

    monkeypatch.setattr(book_module, "_build_one", stamped)


def test_parallel_book_is_the_sequential_book(harmonised, monkeypatch: pytest.MonkeyPatch) -> None:
    """build_tables(parallel=True) (`sid tables`): the later tables in a forked child, the
    same tables and the same progress, in order, as one process gives."""
    import os

    from sid.parallel import can_fork

    _stamped(monkeypatch)
    seen: dict[bool, list[tuple[int, int, str]]] = {True: [], False: []}
    books = {p: build_tables(read_spec(SPEC), harmonised, weight="base_wt", parallel=p,
                             progress=lambda *a, _p=p: seen[_p].append(a))
             for p in (False, True)}
    assert seen[True] == seen[False]
    assert [i for i, _, _ in seen[True]] == list(range(1, len(books[True]) + 1))
    def stamp(t) -> str | None:  # a model table is not stamped
        return t.footnotes[-1] if t.footnotes and t.footnotes[-1].startswith("pid ") else None

    for a, b in zip(books[True], books[False], strict=True):
        assert a.id == b.id and a.footnotes[:-1] == b.footnotes[:-1]
        pd.testing.assert_frame_equal(a.frame, b.frame)
    assert {stamp(b) for b in books[False]} - {None} == {f"pid {os.getpid()}"}
    assert len({stamp(a) for a in books[True]} - {None}) == (2 if can_fork() else 1)


def test_a_table_failing_in_the_child_fails_as_in_one_process(
        harmonised, monkeypatch: pytest.MonkeyPatch) -> None:
    import sid.tables.book as book_module
    from sid.errors import SidError

    inner = book_module._build_one
    last = read_spec(SPEC).spec.tables[-1].id

    def failing(t, *a, **k):
        if t.id == last:
            raise SidError(f"table {t.id} cannot be made", where="test", fix="none")
        return inner(t, *a, **k)

    monkeypatch.setattr(book_module, "_build_one", failing)
    lines = []
    for parallel in (False, True):
        with pytest.raises(SidError) as info:
            build_tables(read_spec(SPEC), harmonised, weight="base_wt", parallel=parallel)
        lines.append(info.value.line())
    assert lines[0] == lines[1] and last in lines[0]


def test_halfway_cuts_the_work_in_two_near_equal_runs() -> None:
    from sid.tables.book import _halfway

    assert _halfway([1, 1, 1, 1]) == 2
    assert _halfway([4, 1, 1, 1, 1]) == 1
    assert _halfway([1, 1, 1, 1, 8]) == 4
    assert _halfway([1, 10]) == 1
    assert _halfway([3]) == 1 and _halfway([]) == 0


@pytest.mark.parametrize("reference", ["reference: 1", "reference: null"])
def test_an_empty_group_is_an_empty_cell_with_or_without_a_reference(harmonised,
                                                                      reference: str) -> None:
    """A group with no valid answer in the base: an empty cell of a logit table, whether the
    section is estimated once (a reference group) or by separate calls (none); the separate
    Korn-Graubard call raised here before (found by review)."""
    import dataclasses

    from sid.tables import parse_spec

    data = harmonised.data.copy()
    gone = (data["wave"].astype(str) == "2022") & (data["herkomst"] == 3)
    data.loc[gone, "werkbeh"] = np.nan
    text = f"""
title: {{nl: t, en: t}}
defaults:
  waves: [2022]
  by: [herkomst]
  {reference}
  ci: {{method: logit, level: 0.95}}
  suppression: {{below: 10, flag_below: 10}}
tables:
  - id: t1
    title: {{nl: t, en: t}}
    indicator: {{variable: werkbeh, codes: [2, 3]}}
"""
    frame = build_tables(parse_spec(text, "b.yaml"), dataclasses.replace(harmonised, data=data),
                         weight="base_wt")[0].frame
    rows = frame[(frame["kind"] == "estimate")]
    assert len(rows) > 3
    assert "3" not in set(rows["group"].astype(str)) or \
        rows.loc[rows["group"].astype(str) == "3", "estimate"].isna().all()
