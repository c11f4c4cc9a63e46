"""sid.tables.disclosure: no table publishes microdata, whatever its spec says (issue 10)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sid.errors import CodebookError, SidError
from sid.tables.disclosure import (
    FLOOR,
    SINGLETON_SHARE,
    DisclosureError,
    breakdown_problems,
    cell_problems,
    check_table,
    group_sizes,
    refuse,
    spec_problems,
)


@pytest.fixture
def data() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    n = 400
    return pd.DataFrame({
        "respid": np.arange(1, n + 1),
        "herkomst": rng.integers(1, 8, n).astype(float),
        "geslacht": rng.integers(1, 3, n).astype(float),
        "postcode": rng.integers(1000, 9999, n).astype(float),  # nearly unique
        "leeftijd": rng.integers(18, 86, n).astype(float),
        "w": np.where(np.arange(n) < 390, 1.5, 0.0),
    })


def test_floor_is_documented_and_sane() -> None:
    assert FLOOR >= 10 and 0 < SINGLETON_SHARE <= 1


def test_by_the_id_variable_is_refused_whatever_the_suppression() -> None:
    problems = spec_problems(["respid"], 30, {"RespID"}, where="spec.yaml:4: tables.0")
    assert len(problems) == 1 and "respondent id" in problems[0]
    assert problems[0].startswith("spec.yaml:4: tables.0: by 'respid'")


@pytest.mark.parametrize("below", [0, 1, FLOOR - 1])
def test_suppression_under_the_floor_is_refused(below: int) -> None:
    problems = spec_problems(["herkomst"], below, {"respid"})
    assert len(problems) == 1 and f"floor of {FLOOR}" in problems[0]


def test_the_issue_spec_gives_two_problems_at_once() -> None:
    """`by: [respid]` with `suppression.below: 0` (the outside campaign's microdata export)."""
    problems = spec_problems(["respid"], 0, {"respid"})
    assert len(problems) == 2
    with pytest.raises(DisclosureError) as info:
        refuse(problems)
    assert isinstance(info.value, CodebookError) and isinstance(info.value, SidError)
    assert info.value.problems == tuple(problems)


def test_a_good_spec_passes() -> None:
    assert spec_problems(["herkomst", "geslacht"], FLOOR, {"respid"}) == []
    refuse([])  # no problems: nothing raised


def test_identifying_breakdowns_found_on_the_data(data: pd.DataFrame) -> None:
    # an id under another name, a near-unique code: refused
    for by in (["respid"], ["postcode"], ["herkomst", "postcode"]):
        problems = breakdown_problems(data, by, weight=data["w"].to_numpy())
        assert len(problems) == 1 and "identifies respondents" in problems[0], by
    # grouping variables: fine, alone and together
    for by in (["herkomst"], ["herkomst", "geslacht"], ["leeftijd"]):
        assert breakdown_problems(data, by, weight=data["w"].to_numpy()) == [], by


def test_combination_identifying_within_a_small_base(data: pd.DataFrame) -> None:
    """Sex x origin is fine on the whole sample but identifying in a base of 12; age x
    origin (476 cells for 400 respondents) is identifying everywhere."""
    base = np.arange(len(data)) < 12
    assert breakdown_problems(data, ["geslacht", "herkomst"]) == []
    problems = breakdown_problems(data, ["geslacht", "herkomst"], base=base)
    assert len(problems) == 1 and "'geslacht x herkomst'" in problems[0]
    assert "'leeftijd x herkomst'" in breakdown_problems(data, ["leeftijd", "herkomst"])[0]


def test_group_sizes_count_positive_weights_only(data: pd.DataFrame) -> None:
    sizes = group_sizes(data, ["geslacht"], weight=data["w"].to_numpy())
    assert int(sizes.sum()) == 390


def test_unknown_by_variable_is_a_problem_not_a_keyerror(data: pd.DataFrame) -> None:
    assert "not in the data" in breakdown_problems(data, ["nope"])[0]


def test_published_cell_below_the_floor_is_refused() -> None:
    n = np.array([250, 9, 0, 3, 40])
    published = np.array([True, True, True, False, True])
    problems = cell_problems(n, published, ["Belgisch", "Afghaans", "Pools", "Turks", "Rest"])
    assert len(problems) == 1
    assert "Afghaans (n=9)" in problems[0] and "Turks" not in problems[0]  # suppressed
    assert "Pools" not in problems[0]  # n = 0: an empty cell publishes nothing
    assert cell_problems(n, n >= FLOOR) == []


def test_check_table_reports_every_rule_at_once(data: pd.DataFrame) -> None:
    with pytest.raises(DisclosureError) as info:
        check_table(data, ["respid"], 0, {"respid"}, n=np.array([1, 1, 5]),
                    weight=data["w"].to_numpy(), where="t1")
    text = str(info.value)
    assert len(info.value.problems) == 4
    assert "respondent id" in text and "floor" in text and "identifies" in text
    assert "fewer than 10" in text
    check_table(data, ["herkomst"], 30, {"respid"}, n=np.array([50, 60]))  # fine: no raise


def _spec(tmp_path, by: str, below: int):  # noqa: ANN202
    spec = tmp_path / "spec.yaml"
    spec.write_text(f"""title: {{nl: Proef}}
defaults: {{waves: [2022], by: [{by}], ci: {{method: logit, level: 0.95}},
           suppression: {{below: {below}, flag_below: 50}}}}
tables:
  - id: werk
    title: {{nl: Werk}}
    indicator: {{variable: werkbeh, codes: [2, 3]}}
    base: {{where: "werksituatie in [1, 2]", label: {{nl: werkenden}}}}
""", encoding="utf-8")
    return spec


@pytest.mark.parametrize(("by", "below", "expected"), [
    ("respid", 0, ["respid", "below"]),      # the issue's spec: both problems at once
    ("respid", 30, ["respid"]),
    ("herkomst", 5, ["below"]),
])
def test_sid_tables_refuses_a_microdata_spec_and_writes_nothing(
        tmp_path, synthetic_dir, by: str, below: int, expected: list[str]) -> None:
    """End to end: `sid tables` with a spec that would publish single respondents, or
    cells under the floor, exits 2 with one error and writes no book."""
    from click.testing import CliRunner

    from sid.cli import main
    from sid.resources import shipped

    out = tmp_path / "boek.xlsx"
    res = CliRunner().invoke(main, [
        "tables", str(_spec(tmp_path, by, below)), "--data",
        f"2022={synthetic_dir / 'sid2022.sav'}", "--codebook", str(shipped("sid.yaml")),
        "--weight-var", "base_wt", "--out", str(out)])
    assert res.exit_code == 2, res.output
    assert "Traceback" not in res.output and res.stderr.count("error:") == 1
    for word in expected:
        assert word in res.stderr
    assert not out.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["spec.yaml"]
