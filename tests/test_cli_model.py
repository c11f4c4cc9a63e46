"""``sid model``: formats, options, design options shared with ``sid estimate``, errors.

The command is registered by the CLI with ``main.add_command``; here it is mounted on
a SidGroup of its own so the tests do not depend on that registration.
"""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from conftest import EXACT_CSV

from sid.cli import main
from sid.design import Design
from sid.model import COEF_COLUMNS, EXP_COLUMNS, TERM_COLUMNS, fit, margins, term_tests

REF = Path(__file__).parent / "reference"
EXACT = EXACT_CSV
DATA = REF / "data"
CLI = main
STRAT = ["--weight", "pw", "--strata", "stype", "--fpc", "fpc"]


@pytest.fixture()
def apistrat(tmp_path: Path) -> Path:
    path = tmp_path / "apistrat.csv"
    shutil.copy(DATA / "estimate_apistrat.csv", path)
    return path


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(CLI, ["model", *args])
    return result.exit_code, result.stdout, result.stderr


def _design() -> Design:
    return Design(pd.read_csv(DATA / "estimate_apistrat.csv", **EXACT),
                  weight="pw", strata="stype", fpc="fpc")


def test_csv_is_the_coefficient_table_in_r_order(apistrat: Path) -> None:
    code, out, err = run(str(apistrat), "hiapi ~ meals + stype", "--family", "binomial",
                         *STRAT, "--format", "csv")
    assert code == 0, err
    got = pd.read_csv(io.StringIO(out), **EXACT)
    assert tuple(got.columns) == COEF_COLUMNS + EXP_COLUMNS
    want = fit(_design(), "hiapi ~ meals + stype", "binomial").coefficients
    assert got["term"].tolist() == ["(Intercept)", "meals", "stypeH", "stypeM"]
    np.testing.assert_allclose(got[list(COEF_COLUMNS[1:])], want[list(COEF_COLUMNS[1:])],
                               rtol=1e-15)


def test_golden_case_through_the_cli_matches_r(tmp_path: Path) -> None:
    """A replicate design with rscales, a domain and a margins variable, as hidden cases run."""
    data = tmp_path / "jkn.csv"
    shutil.copy(DATA / "estimate_rep_jkn.csv", data)
    rscales = tmp_path / "rscales.csv"
    shutil.copy(DATA / "estimate_rep_jkn_rscales.csv", rscales)
    design = ["--weight", "pw", "--repweights", "^repw", "--repmethod", "jkn",
              "--rscales", str(rscales)]
    want = pd.read_csv(REF / "model_coef.csv")
    want = want[want["case"] == "jkn_gauss_domain"]
    code, out, err = run(str(data), "api00 ~ meals", *design, "--where", "stype == 'E'",
                         "--format", "csv")
    assert code == 0, err
    got = pd.read_csv(io.StringIO(out))
    np.testing.assert_allclose(got["estimate"], want["estimate"], rtol=1e-9)
    np.testing.assert_allclose(got["se"], want["se"], rtol=1e-9)
    assert (got["df"] == want["df"].to_numpy()).all()
    marg = pd.read_csv(REF / "model_margins.csv")
    marg = marg[marg["case"] == "jkn_gauss_domain"]
    code, out, err = run(str(data), "api00 ~ meals", *design, "--where", "stype == 'E'",
                         "--margins", "awards", "--format", "csv")
    assert code == 0, err
    got = pd.read_csv(io.StringIO(out))
    assert list(got.columns) == ["awards", "estimate", "se", "ci_low", "ci_high"]
    assert got["awards"].tolist() == ["No", "Yes"]  # sorted (R: order of appearance)
    got = got.set_index("awards").loc[marg["level"]]
    np.testing.assert_allclose(got["estimate"], marg["estimate"], rtol=1e-9)
    np.testing.assert_allclose(got["se"], marg["se"], rtol=1e-9)


def test_terms_and_margins_csv(apistrat: Path) -> None:
    code, out, err = run(str(apistrat), "api00 ~ meals + stype", *STRAT, "--terms",
                         "--format", "csv")
    assert code == 0, err
    got = pd.read_csv(io.StringIO(out))
    assert tuple(got.columns) == TERM_COLUMNS and got["term"].tolist() == ["meals", "stype"]
    want = term_tests(fit(_design(), "api00 ~ meals + stype"))
    np.testing.assert_allclose(got["statistic"], want["statistic"], rtol=1e-14)
    code, out, err = run(str(apistrat), "api00 ~ meals", *STRAT, "--margins", "awards",
                         "--ci", "wald", "--format", "csv")
    assert code == 0, err
    got = pd.read_csv(io.StringIO(out))
    want = margins(fit(_design(), "api00 ~ meals", ci="wald"), "awards").table()
    np.testing.assert_allclose(got[["estimate", "se", "ci_low", "ci_high"]],
                               want[["estimate", "se", "ci_low", "ci_high"]], rtol=1e-14)
    code, _, err = run(str(apistrat), "api00 ~ meals", *STRAT, "--margins", "awards",
                       "--terms", "--format", "csv")
    assert code == 2 and "not both" in err


def test_json_and_table(apistrat: Path) -> None:
    code, out, err = run(str(apistrat), "hiapi ~ meals + awards", "--family", "binomial",
                         *STRAT, "--terms", "--margins", "stype", "--format", "json",
                         "--reference", "stype=M")
    assert code == 0, err
    payload = json.loads(out)
    assert payload["model"]["df_residual"] == 200 - 3 + 1 - 3
    assert {r["reference"] for r in payload["contrasts"]} == {"M"}
    assert [r["term"] for r in payload["terms"]] == ["meals", "awards"]  # the model as given
    assert [r["stype"] for r in payload["contrasts"]] == ["E", "H"]
    code, out, err = run(str(apistrat), "hiapi ~ meals + awards", "--family", "binomial",
                         *STRAT, "--terms", "--margins", "stype")
    assert code == 0, err
    assert "OR" in out and "95%-BI" in out and "Voorspelde marges naar stype" in out
    assert "Verschil met E" in out and "Wald-toetsen per term" in out


def test_out_file_is_atomic_and_never_an_input(apistrat: Path, tmp_path: Path) -> None:
    target = tmp_path / "coef.csv"
    code, out, err = run(str(apistrat), "api00 ~ meals", *STRAT, "--format", "csv",
                         "--out", str(target))
    assert code == 0, err
    assert pd.read_csv(target)["term"].tolist() == ["(Intercept)", "meals"]
    before = apistrat.read_bytes()
    code, _, err = run(str(apistrat), "api00 ~ meals", *STRAT, "--out", str(apistrat))
    assert code == 2 and "would overwrite an input (DATA)" in err
    assert apistrat.read_bytes() == before


@pytest.mark.parametrize("args,message", [
    (["api00 ~ meels"], "did you mean meals"),
    (["api00 ~ meals +"], "column 15"),
    (["mealcat ~ meals", "--family", "binomial"], "outside {0, 1}"),
    (["api00 ~ meals + stype", "--where", "stype == 'H'"], "single level"),
    (["hiapi ~ meals * yr_rnd + stype", "--family", "binomial"], "perfect separation"),
    (["api00 ~ meals", "--reference", "meals"], "VAR=LEVEL"),
])
def test_bad_input_is_one_line_and_exit_2(apistrat: Path, args: list[str], message: str) -> None:
    code, out, err = run(str(apistrat), *args[:1], *STRAT, *args[1:])
    assert code == 2, out
    assert err.startswith("error: ") and message in err and err.count("\n") == 1
    assert "Traceback" not in err
