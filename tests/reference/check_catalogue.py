"""Check that the estimate golden catalogue is well-formed (no R needed).

Run from the repository root: ``.venv/bin/python tests/reference/check_catalogue.py``.
Exits 1 and lists every problem at once when the catalogue, the golden CSVs and the
data files under ``tests/reference/data/`` disagree; it checks form, not numbers.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import pandas as pd
import yaml

REF = Path(__file__).resolve().parent
DATA = REF / "data"

DESIGN_KEYS = {
    "weight", "strata", "psu", "fpc", "psu2", "fpc2", "repweights", "repmethod",
    "rho", "scale", "rscales", "mse", "singleton",
}
CASE_KEYS = {
    "id", "why", "data", "design", "stat", "var", "by", "where", "ci", "conf_level",
    "deff", "q", "singleton", "r",
}
CONTRAST_KEYS = {"id", "why", "data", "design", "stat", "var", "by", "reference", "where", "r"}
STATS = {"mean", "total", "proportion", "ratio", "quantile"}
CIS = {
    "mean": {"t", "wald"}, "total": {"t", "wald"}, "ratio": {"t", "wald"},
    "proportion": {"logit", "xlogit", "asin", "beta", "t", "wald"}, "quantile": set(),
}
GOLDEN_COLS = ["case", "by_key", "category", "estimate", "se", "ci_low", "ci_high", "df", "deff"]
CONTRAST_COLS = ["case", "group", "estimate", "se", "ci_low", "ci_high", "df", "p_value"]


def read_golden(path: Path) -> pd.DataFrame:
    """Read a golden CSV the way the tests should: keys as strings, 'NA' as missing."""
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def check_design(where: str, case: dict, problems: list[str]) -> None:
    design = case.get("design")
    if not isinstance(design, dict):
        problems.append(f"{where}: design is not a mapping")
        return
    extra = set(design) - DESIGN_KEYS
    if extra:
        problems.append(f"{where}: unknown design keys {sorted(extra)}")
    if "weight" not in design:
        problems.append(f"{where}: design has no weight")
    data = DATA / str(case.get("data"))
    if not data.is_file():
        problems.append(f"{where}: data file {data.name} missing")
        return
    columns = set(pd.read_csv(data, nrows=0).columns)
    for key in ("weight", "strata", "psu", "fpc", "psu2", "fpc2"):
        if key in design and design[key] not in columns:
            problems.append(f"{where}: design {key}={design[key]!r} not a column of {data.name}")
    if "rscales" in design and not (DATA / design["rscales"]).is_file():
        problems.append(f"{where}: rscales file {design['rscales']} missing")
    if "repweights" in design and not any(c.startswith("repw") for c in columns):
        problems.append(f"{where}: no repw columns in {data.name}")
    variables = str(case.get("var", "")).split("/")
    by = case.get("by") or []
    for v in variables + ([by] if isinstance(by, str) else list(by)):
        if v not in columns:
            problems.append(f"{where}: variable {v!r} not a column of {data.name}")


def check_numbers(name: str, frame: pd.DataFrame, cols: list[str], problems: list[str]) -> None:
    for col in cols:
        bad = [v for v in frame[col] if not _is_number(v)]
        if bad:
            problems.append(f"{name}: column {col} has non-numbers {sorted(set(bad))[:5]}")


def _is_number(text: str) -> bool:
    if text == "NA":
        return True
    try:
        return not math.isnan(float(text))
    except ValueError:
        return False


def main() -> int:
    problems: list[str] = []
    cases = yaml.safe_load((REF / "estimate_cases.yaml").read_text(encoding="utf-8"))
    golden = read_golden(REF / "estimate_golden.csv")
    if list(golden.columns) != GOLDEN_COLS:
        problems.append(f"estimate_golden.csv: columns {list(golden.columns)} != {GOLDEN_COLS}")
    ids = [c.get("id") for c in cases]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        problems.append(f"estimate_cases.yaml: duplicate ids {dupes}")
    for case in cases:
        where = f"estimate_cases.yaml case {case.get('id')!r}"
        extra = set(case) - CASE_KEYS
        if extra:
            problems.append(f"{where}: unknown keys {sorted(extra)}")
        for key in ("id", "why", "data", "design", "stat", "var", "deff", "r"):
            if key not in case:
                problems.append(f"{where}: missing {key}")
        stat = case.get("stat")
        if stat not in STATS:
            problems.append(f"{where}: unknown stat {stat!r}")
            continue
        if "ci" in case and case["ci"] not in CIS[stat]:
            problems.append(f"{where}: ci {case['ci']!r} not allowed for {stat}")
        if (stat == "quantile") != ("q" in case):
            problems.append(f"{where}: q must be given exactly for quantiles")
        if stat == "ratio" and "/" not in case.get("var", ""):
            problems.append(f"{where}: ratio var must be 'num/den'")
        if "by" in case and not isinstance(case["by"], list):
            problems.append(f"{where}: by must be a list")
        if case.get("singleton") != case.get("design", {}).get("singleton"):
            problems.append(f"{where}: singleton differs from design.singleton")
        check_design(where, case, problems)
        rows = golden[golden["case"] == case.get("id")]
        if rows.empty:
            problems.append(f"{where}: no golden rows")
        elif "by" not in case and (rows["by_key"] != "").any():
            problems.append(f"{where}: by_key set without by")
        elif "by" in case and (rows["by_key"] == "").any():
            problems.append(f"{where}: empty by_key with by")
        if not rows.empty and (stat == "proportion") == (rows["category"] == "").any():
            problems.append(f"{where}: category column does not fit stat {stat}")
    orphans = sorted(set(golden["case"]) - set(ids))
    if orphans:
        problems.append(f"estimate_golden.csv: rows for unknown cases {orphans[:10]}")
    check_numbers("estimate_golden.csv", golden, GOLDEN_COLS[3:], problems)

    contrasts = yaml.safe_load((REF / "estimate_contrasts.yaml").read_text(encoding="utf-8"))
    crows = read_golden(REF / "estimate_contrasts.csv")
    if list(crows.columns) != CONTRAST_COLS:
        problems.append(f"estimate_contrasts.csv: columns {list(crows.columns)} != {CONTRAST_COLS}")
    for case in contrasts:
        where = f"estimate_contrasts.yaml case {case.get('id')!r}"
        extra = set(case) - CONTRAST_KEYS
        if extra:
            problems.append(f"{where}: unknown keys {sorted(extra)}")
        check_design(where, case, problems)
        if not isinstance(case.get("by"), str) or "reference" not in case:
            problems.append(f"{where}: by must be one variable name and reference given")
        if case.get("stat") not in {"mean", "total", "ratio"}:
            problems.append(f"{where}: unknown stat {case.get('stat')!r}")
        if crows[crows["case"] == case.get("id")].empty:
            problems.append(f"{where}: no golden rows")
    orphans = sorted(set(crows["case"]) - {c.get("id") for c in contrasts})
    if orphans:
        problems.append(f"estimate_contrasts.csv: rows for unknown cases {orphans[:10]}")
    check_numbers("estimate_contrasts.csv", crows, CONTRAST_COLS[2:], problems)

    for problem in problems:
        print(problem)
    print(f"{len(cases)} cases, {len(golden)} golden rows, {len(contrasts)} contrasts, "
          f"{len(crows)} contrast rows: {'OK' if not problems else f'{len(problems)} problems'}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
