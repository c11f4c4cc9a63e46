"""`sid codebook init` on unusual value codes (issue 10): a skeleton, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyreadstat
import yaml
from click.testing import CliRunner

from sid.cli import main


def test_codebook_init_on_codes_with_decimals(tmp_path: Path) -> None:
    path = tmp_path / "half2022.sav"
    frame = pd.DataFrame({"respid": [1.0, 2, 3, 4], "q1": [1.5, 2.0, 1.5, 2.5],
                          "q2": [1.0, 2.0, -9.0, 1.0], "q3": [1.0, 3.0, 1.0, 3.0]})
    pyreadstat.write_sav(frame, str(path), variable_value_labels={
        "q1": {1.5: "half", 2.0: "two", 2.5: "two and a half"},
        "q2": {1.0: "a", 2.0: "b", -9.0: "weet niet"},
        "q3": {1.0: "a", 3.0: "c"}}, missing_ranges={"q2": [-9.0]})
    res = CliRunner().invoke(main, ["codebook", "init", str(path)])
    assert res.exit_code == 0, res.output
    doc = yaml.safe_load(res.output)
    q1 = doc["variables"]["q1"]
    assert q1["type"] == "categorical" and list(q1["values"]) == [1.5, 2, 2.5]
    assert q1["valid_range"] == [1.5, 2.5]
    assert "valid_range" not in doc["variables"]["q2"]  # codes 1..2: no range needed
    assert doc["variables"]["q3"]["valid_range"] == [1, 3]  # a gap
