"""The cell path of sid.estimation (sums per PSU x domain x category) against the
row-level engine, and contrasts taken from one estimate set against compare().

The R goldens in test_estimate.py run through the cell path for Taylor designs;
these tests cover what the goldens do not: random designs with zero weights,
missing values, every lonely-PSU rule, two stages, many domains, designs
without PSUs and the full covariance.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from sid.design import Design
from sid.estimation import compare, estimate

# --------------------------------------------------------------------------- cell path


def _random_design(seed: int, *, n: int = 600, n_dom: int = 6, singleton: str = "adjust",
                   two_stage: bool = False, psu: bool = True) -> Design:
    """A stratified cluster sample with zero weights, missing values, lonely strata."""
    rng = np.random.default_rng(seed)
    h = rng.integers(0, 8, n)
    h[:3] = 8  # stratum 8: one PSU (lonely)
    cl = rng.integers(0, 5, n)
    cl[:3] = 0
    w = rng.uniform(1, 9, n)
    w[rng.random(n) < 0.05] = 0.0
    y = rng.integers(1, 5, n).astype(float)
    y[rng.random(n) < 0.08] = np.nan
    y[(rng.integers(0, n_dom, n) == 0) & (y == 4)] = 3  # a category absent from some domains
    frame = pd.DataFrame({
        "h": h, "psu": cl, "ssu": rng.integers(0, 3, n), "w": w, "y": y,
        "x": rng.uniform(1, 5, n), "g": rng.integers(0, n_dom, n),
        "g2": np.where(rng.random(n) < 0.05, np.nan, rng.integers(0, 3, n)),
        "pop1": 40.0, "pop2": 20.0,
    })
    frame.loc[frame["h"] == 8, "pop1"] = 3.0
    spec: dict = {"weight": "w", "strata": "h", "singleton": singleton}
    if psu:
        spec["psu"] = "psu"
    if two_stage:
        spec.update(psu2="ssu", fpc="pop1", fpc2="pop2")
    return Design(frame, **spec)


def _both_paths(design: Design, stat: str, var: str, full: bool = False, **kw: object
                ) -> tuple[pd.DataFrame, pd.DataFrame]:
    from sid.estimation.core import _core, _table
    from sid.estimation.intervals import _check_ci

    method = _check_ci(stat, kw.get("ci"), 0.95)
    out = []
    for rows in (False, True):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            core = _core(design, stat, var, kw.get("by"), kw.get("where"), False, ci=method,
                         full_cov=full, rows=rows)
        out.append((_table(core, method, 0.95), core.cov))
    return out[0], out[1]


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("singleton", ["adjust", "average", "remove", "certainty"])
@pytest.mark.parametrize("two_stage", [False, True])
def test_cell_path_equals_row_path(seed: int, singleton: str, two_stage: bool) -> None:
    """The cell path (bincount sums per PSU x domain) gives the row-level engine's numbers:
    every statistic, zero weights, missing values, where, two by variables, lonely PSUs."""
    design = _random_design(seed, singleton=singleton, two_stage=two_stage)
    cases = [("proportion", "y", {"by": "g"}), ("proportion", "y", {"by": ["g", "g2"], "ci": "t"}),
             ("proportion", "y", {"by": "g", "where": "x > 2", "ci": "beta"}),
             ("mean", "y", {"by": "g2"}), ("total", "y", {"by": "g", "where": "x < 4"}),
             ("ratio", "y/x", {"by": "g"}), ("mean", "x", {})]
    for stat, var, kw in cases:
        (fast, _), (slow, _) = _both_paths(design, stat, var, **kw)
        assert list(fast.columns) == list(slow.columns)
        for col in ("estimate", "se", "ci_low", "ci_high", "df", "n", "n_weighted", "n_missing"):
            np.testing.assert_allclose(fast[col].to_numpy(float), slow[col].to_numpy(float),
                                       rtol=1e-10, atol=1e-13, err_msg=f"{stat} {var} {kw} {col}")


@pytest.mark.parametrize("seed", range(3))
def test_cell_path_full_covariance(seed: int) -> None:
    """With the full covariance asked for (compare, estimate_vcov) the cells give the
    row-level engine's k x k matrix, signs included."""
    design = _random_design(seed, singleton="average", two_stage=seed == 1)
    (fast, cov_f), (slow, cov_s) = _both_paths(design, "proportion", "y", full=True, by="g",
                                               ci="t")
    np.testing.assert_allclose(cov_f, cov_s, rtol=1e-9, atol=1e-15)


@pytest.mark.parametrize("psu", [True, False])
def test_cell_path_many_domains(psu: bool) -> None:
    """More domains than the dense cell table allows: only the (PSU, domain) pairs present
    are kept (and without PSUs, each row is its own PSU); same numbers as the rows."""
    design = _random_design(7, n=3000, n_dom=400, psu=psu)
    for ci in ("t", "logit"):
        (fast, _), (slow, _) = _both_paths(design, "proportion", "y", by="g", ci=ci)
        for col in ("estimate", "se", "ci_low", "ci_high", "df", "n"):
            np.testing.assert_allclose(fast[col].to_numpy(float), slow[col].to_numpy(float),
                                       rtol=1e-9, atol=1e-13, err_msg=f"{ci} {col}")


@pytest.mark.parametrize("stat", ["proportion", "mean"])
def test_contrasts_from_one_estimate_set_equal_compare(stat: str) -> None:
    """The table book's pattern: estimates by (wave, group) once, then each wave's groups
    against the reference and the change between waves, equal compare() run per wave."""
    from sid.estimation import compare_df, contrast, estimate_set

    design = _random_design(3, n=1500, singleton="adjust")
    var = "y"
    es = estimate_set(design, stat, var, by=["g2", "g"], where="x > 1.5", ci="t")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pd.testing.assert_frame_equal(
            es.table, estimate(design, stat, var, by=["g2", "g"], where="x > 1.5", ci="t"))
        for wave in (0.0, 1.0, 2.0):
            where_w = f"x > 1.5 and g2 == {wave}"
            want = compare(design, stat, var, by="g", reference=1, within="g2", where=where_w)
            got = contrast(es, by="g", reference=1, within="g2",
                           df=compare_df(design, stat, var, where_w))
            got = got[got["g2"] == wave].reset_index(drop=True)
            want = want[want["g2"] == wave].reset_index(drop=True)
            cols = ["g", "category", "estimate", "se", "ci_low", "ci_high", "df", "p_value"]
            pd.testing.assert_frame_equal(got[cols], want[cols], rtol=1e-10)
        want = compare(design, stat, var, by="g2", reference=0, within="g", where="x > 1.5")
        got = contrast(es, by="g2", reference=0, within="g",
                       df=compare_df(design, stat, var, "x > 1.5"))
        key = ["g", "g2", "category"]
        merged = got.merge(want, on=key, suffixes=("", "_want"))
        assert len(merged) == len(want) == len(got)
        for col in ("estimate", "se", "p_value"):
            np.testing.assert_allclose(merged[col], merged[f"{col}_want"], rtol=1e-10)


def test_psu_codes_are_in_stratum_order() -> None:
    """The cell path takes each PSU's stratum (and each SSU's PSU) from the Design's
    numbering without a pass over the rows (sid.variance.psu_strata / ssu_psus): this
    holds for labels in any order and of any type."""
    from sid.variance_cells import psu_strata, ssu_psus

    rng = np.random.default_rng(5)
    n = 400
    frame = pd.DataFrame({
        "h": rng.choice(["zuid", "noord", "oost", "west"], n),
        "psu": rng.choice([17, 3, 99, 42, 8], n), "ssu": rng.choice(["b", "a", "c"], n),
        "w": rng.uniform(1, 3, n), "pop1": 50.0, "pop2": 30.0,
    })
    design = Design(frame, weight="w", strata="h", psu="psu", psu2="ssu", fpc="pop1",
                    fpc2="pop2")
    np.testing.assert_array_equal(psu_strata(design)[design.cluster], design.stratum)
    np.testing.assert_array_equal(ssu_psus(design)[design.stage2.unit], design.stage2.group)


@pytest.mark.parametrize("stat,var", [("proportion", "y"), ("mean", "x"), ("ratio", "x/x2"),
                                      ("total", "x")])
def test_cell_path_complete_data(stat: str, var: str) -> None:
    """No weight 0, no missing value, every row in a domain: the row counts come from the
    domain coding (no count pass); same numbers as the rows."""
    rng = np.random.default_rng(11)
    n = 2000
    frame = pd.DataFrame({"h": rng.integers(0, 6, n), "psu": rng.integers(0, 4, n),
                          "g": rng.integers(2, 7, n), "y": rng.integers(1, 4, n).astype(float),
                          "x": rng.uniform(1, 5, n), "x2": rng.uniform(1, 2, n),
                          "w": rng.uniform(1, 9, n)})
    design = Design(frame, weight="w", strata="h", psu="psu")
    for by in ("g", None):
        (fast, _), (slow, _) = _both_paths(design, stat, var, by=by)
        for col in ("estimate", "se", "ci_low", "ci_high", "df", "n", "n_weighted", "n_missing"):
            np.testing.assert_allclose(fast[col].to_numpy(float), slow[col].to_numpy(float),
                                       rtol=1e-10, atol=1e-13, err_msg=f"{stat} {by} {col}")


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("singleton", ["adjust", "average", "remove", "certainty"])
@pytest.mark.parametrize("two_stage", [False, True])
def test_sparse_cells_equal_row_path(seed: int, singleton: str, two_stage: bool) -> None:
    """Proportions on sparse cells (only the categories present in each PSU x domain,
    the absent ones added in closed form; sid.variance.taylor_sparse_var), forced on
    designs the automatic choice keeps dense: the row-level engine's numbers with zero
    weights, missing values, where, lonely PSUs, two stages, shares and logit."""
    from sid.estimation.cells import cells_core
    from sid.estimation.core import _core, _table
    from sid.estimation.domains import _domains, where_mask

    design = _random_design(seed, singleton=singleton, two_stage=two_stage)
    for by, where, ci in (("g", None, "t"), ("g", "x > 2", "logit"), (["g", "g2"], None, "logit"),
                          (None, None, "t")):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            mask = None if where is None else where_mask(design, where)
            from sid.design import ensure_sequence

            domains = _domains(design, ensure_sequence(by), mask)
            core = cells_core(design, "proportion", "y", domains, full_cov=False, ci=ci,
                              sparse=True)
            assert core is not None and core.cov is None
            fast = _table(core, ci, 0.95)
            slow = _table(_core(design, "proportion", "y", by, where, False, ci=ci,
                                full_cov=False, rows=True), ci, 0.95)
        for col in ("estimate", "se", "ci_low", "ci_high", "df", "n", "n_weighted", "n_missing"):
            np.testing.assert_allclose(fast[col].to_numpy(float), slow[col].to_numpy(float),
                                       rtol=1e-10, atol=1e-13, err_msg=f"{by} {where} {ci} {col}")


def test_sparse_cells_single_category_domain_is_exactly_zero() -> None:
    """A domain whose rows are all in one category: share 1 and SE exactly 0 on sparse
    cells (no rounding residue from the closed-form terms), as on the dense cells."""
    from sid.estimation.cells import cells_core
    from sid.estimation.domains import _domains

    rng = np.random.default_rng(2)
    n = 500
    g = rng.integers(0, 4, n)
    y = rng.integers(1, 4, n).astype(float)
    y[g == 2] = 3.0
    frame = pd.DataFrame({"h": rng.integers(0, 5, n), "psu": rng.integers(0, 6, n), "g": g,
                          "y": y, "w": rng.uniform(1, 50, n)})
    design = Design(frame, weight="w", strata="h", psu="psu")
    for sparse in (True, False):
        core = cells_core(design, "proportion", "y", _domains(design, ("g",), None),
                          full_cov=False, ci="t", sparse=sparse)
        est = core.est.reshape(4, 3)
        var = core.variances.reshape(4, 3)
        assert est[2, 2] == 1.0 and est[2, 0] == 0.0
        assert (var[2] == 0.0).all(), (sparse, var[2])


def test_cell_path_df_counts_only_psus_with_members() -> None:
    """Complete data (no count pass) where some PSUs have no row in a domain: the df of
    each domain counts only the PSUs with members, on dense and on sparse cells."""
    from sid.estimation.cells import cells_core
    from sid.estimation.domains import _domains

    rng = np.random.default_rng(4)
    n = 400
    h = rng.integers(0, 4, n)
    psu = rng.integers(0, 6, n)
    g = rng.integers(0, 3, n)
    g[(psu == 0) & (g == 1)] = 2  # domain 1 has no row in PSU 0 of any stratum
    frame = pd.DataFrame({"h": h, "psu": psu, "g": g, "y": rng.integers(1, 4, n).astype(float),
                          "w": rng.uniform(1, 5, n)})
    design = Design(frame, weight="w", strata="h", psu="psu")
    slow = _both_paths(design, "proportion", "y", by="g", ci="t")[1][0]
    for sparse in (False, True):
        core = cells_core(design, "proportion", "y", _domains(design, ("g",), None),
                          full_cov=False, ci="t", sparse=sparse)
        np.testing.assert_array_equal(core.df, slow["df"].to_numpy(float))
        assert core.df[3] == core.df[0] - 4  # domain 1: four PSUs fewer


def test_dominant_category_logit_sparse_equals_dense() -> None:
    """A category holding every row of a domain, or all but a few: glm's centre is
    1 - 1e-11 there, and the logit variance must not lose digits to ``num - centre den``
    (R computes ``1 - mu`` per row): sparse cells take those columns from the other
    categories' side as dense cells do, and both equal the rows' shares."""
    from sid.estimation.cells import cells_core
    from sid.estimation.core import _core, _table
    from sid.estimation.domains import _domains

    rng = np.random.default_rng(9)
    n = 900
    g = rng.integers(0, 3, n)
    y = rng.integers(1, 4, n).astype(float)
    y[g == 1] = 2.0  # every row
    y[(g == 2) & (rng.random(n) < 0.97)] = 3.0  # nearly every row
    frame = pd.DataFrame({"h": rng.integers(0, 5, n), "psu": rng.integers(0, 6, n), "g": g,
                          "y": y, "w": rng.uniform(1, 50, n)})
    design = Design(frame, weight="w", strata="h", psu="psu")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cores = [cells_core(design, "proportion", "y", _domains(design, ("g",), None),
                            full_cov=False, ci="logit", sparse=sparse) for sparse in (True, False)]
        slow = _core(design, "proportion", "y", "g", None, False, ci="logit", full_cov=False,
                     rows=True)
    sparse, dense = cores
    np.testing.assert_allclose(sparse.logit.coef, dense.logit.coef, rtol=1e-14)
    np.testing.assert_allclose(sparse.logit.var, dense.logit.var, rtol=1e-13)
    np.testing.assert_allclose(sparse.variances, dense.variances, rtol=1e-13, atol=1e-300)
    fast, want = _table(sparse, "t", 0.95), _table(slow, "t", 0.95)
    for col in ("estimate", "se"):
        np.testing.assert_allclose(fast[col].to_numpy(float), want[col].to_numpy(float),
                                   rtol=1e-10, atol=1e-300, err_msg=col)


@pytest.mark.parametrize("values", [
    [3.0, 1.0, np.nan, 7.0, 3.0, -2.0, np.nan, 1.0],  # missing values, gaps, negative
    [5, 2, 2, 9, 5, 2, 3, 4],  # integers with a gap
    [0, 1, 2, 1, 0, 2, 2, 1],  # already 0..L-1
    [1.0, 2.0, 3.0, 2.0, 1.0, 3.0, 1.0, 2.0],
])
def test_kept_int8_codes_equal_converted_codes(values: list) -> None:
    """int_coder(keep=True) keeps int8 codes of every row; they equal the codes converted
    from the column, per row slice and with any code for missing values."""
    from sid.estimation.codes import int_coder

    x = np.tile(np.asarray(values), 20000)  # more than one chunk
    kept, plain = int_coder(x, keep=True), int_coder(x)
    assert kept.small is not None and plain.small is None
    np.testing.assert_array_equal(kept.levels, plain.levels)
    for rows in (slice(0, len(x)), slice(5, 70001), slice(70000, len(x))):
        for missing in (-1, len(plain.levels)):
            np.testing.assert_array_equal(kept.codes(rows, missing), plain.codes(rows, missing))


def test_sparse_cells_text_categories_with_missing() -> None:
    """Text categories (pandas' codes, a bin for missing values) on sparse cells: the
    row-level engine's shares, SEs and logit intervals."""
    from sid.estimation.cells import cells_core
    from sid.estimation.core import _core, _table
    from sid.estimation.domains import _domains

    rng = np.random.default_rng(12)
    n = 700
    y = rng.choice(np.array(["laag", "midden", "hoog"], dtype=object), n)
    y[rng.random(n) < 0.1] = None
    frame = pd.DataFrame({"h": rng.integers(0, 4, n), "psu": rng.integers(0, 5, n),
                          "g": rng.integers(0, 30, n), "y": y, "w": rng.uniform(1, 9, n)})
    design = Design(frame, weight="w", strata="h", psu="psu")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        core = cells_core(design, "proportion", "y", _domains(design, ("g",), None),
                          full_cov=False, ci="logit", sparse=True)
        slow = _table(_core(design, "proportion", "y", "g", None, False, ci="logit",
                            full_cov=False, rows=True), "logit", 0.95)
    assert core is not None
    fast = _table(core, "logit", 0.95)
    assert list(fast["category"][:3]) == ["hoog", "laag", "midden"]
    for col in ("estimate", "se", "ci_low", "ci_high", "df", "n", "n_missing"):
        np.testing.assert_allclose(fast[col].to_numpy(float), slow[col].to_numpy(float),
                                   rtol=1e-10, atol=1e-13, err_msg=col)
