# Golden ranks and pivots of R's qr() (LINPACK dqrdc2 with limited column pivoting) for
# sid.linalg.qr_rank, and R's degf() of replicate designs (qr(weights, tol = 1e-5)$rank - 1)
# for sid.design.design_df (tests/test_design.py::test_qr_rank_matches_r and friends).
#
# Run from the repository root:  Rscript tests/reference/rank_golden.R
# Needs R with the `survey` package. Writes tests/reference/rank_golden.csv, one row per
# case: case, tol, nrow, ncol, values (the matrix, column-major, space-separated, 17
# significant digits), rank, pivot (1-based, space-separated), degf (R's degf() for the
# replicate-design cases, NA otherwise), and tests/reference/rank_versions.txt.
suppressMessages(library(survey))
data(api)
set.seed(20261127)
g17 <- function(x) paste(sprintf("%.17g", as.vector(x)), collapse = " ")
rows <- list()
add <- function(case, x, tol, degf = NA) {
  q <- qr(x, tol = tol)
  rows[[length(rows) + 1]] <<- data.frame(
    case = case, tol = tol, nrow = nrow(x), ncol = ncol(x), values = g17(x),
    rank = q$rank, pivot = paste(q$pivot, collapse = " "), degf = degf)
}
r8 <- function() rnorm(8)
a <- r8(); b <- r8(); c3 <- r8(); e <- r8(); x4 <- r8()
add("full_rank", cbind(a, b, c3), 1e-7)
# column scales 1e8, 1, 1e-3: the rule is relative to each column's own norm (rank 3);
# a rule relative to the largest diagonal of R finds rank 1 here
add("column_scaled", cbind(1e8 * a, b, 1e-3 * c3), 1e-5)
add("column_scaled_qr_default", cbind(1e8 * a, b, 1e-3 * c3), 1e-7)
add("collinear", cbind(a, b, a + b, x4), 1e-7)
add("near_collinear_below_tol", cbind(a, b, a + b + 1e-10 * e, x4), 1e-7)
add("near_collinear_tight_tol", cbind(a, b, a + b + 1e-10 * e, x4), 1e-12)
add("near_collinear_above_tol", cbind(a, b, a + b + 1e-4 * e, x4), 1e-5)
add("zero_column", cbind(a, 0, b), 1e-7)
add("first_column_zero", cbind(0, a, b, a - b), 1e-7)
add("wide", matrix(rnorm(15), 3, 5), 1e-7)
add("wide_collinear", cbind(a[1:3], 2 * a[1:3], b[1:3], c3[1:3], e[1:3]), 1e-7)
add("single_column", cbind(a), 1e-7)
# calibration-style model matrix: every category of two margins (one dependency), times
# sqrt(weights), as sid.weighting.calibration builds it; and with one column scaled by 1e6
f1 <- factor(rep(1:3, length.out = 20)); f2 <- factor(rep(1:4, each = 5))
w <- runif(20, 1, 5)
mm <- cbind(model.matrix(~ f1 - 1), model.matrix(~ f2 - 1)) * sqrt(w)
add("indicators", mm, 1e-7)
mm2 <- mm; mm2[, 2] <- mm2[, 2] * 1e6
add("indicators_column_scaled", mm2, 1e-7)
# replicate designs: R's degf() is qr(weights(design, "analysis"), tol = 1e-5)$rank - 1
jk <- as.svrepdesign(svydesign(ids = ~dnum, weights = ~pw, data = apiclus1), type = "JK1")
wj <- weights(jk, "analysis")
add("jk1_apiclus1", wj, 1e-5, degf(jk))
sub <- subset(jk, stype == "H")
add("jk1_apiclus1_high_schools", weights(sub, "analysis"), 1e-5, degf(sub))
bs <- as.svrepdesign(svydesign(ids = ~dnum, weights = ~pw, data = apiclus1),
                     type = "bootstrap", replicates = 12)
wb <- weights(bs, "analysis")
wdup <- cbind(wb, wb[, 1:3])
dup <- svrepdesign(data = apiclus1, repweights = wdup, weights = ~pw, type = "bootstrap",
                   combined.weights = TRUE)
add("bootstrap_duplicated_replicates", wdup, 1e-5, degf(dup))
wsc <- sweep(wj, 2, c(1e6, rep(1, ncol(wj) - 1)), `*`)
scd <- svrepdesign(data = apiclus1, repweights = wsc, weights = ~pw, type = "JK1",
                   combined.weights = TRUE)
add("jk1_one_replicate_scaled", wsc, 1e-5, degf(scd))
out <- do.call(rbind, rows)
tmp <- tempfile(tmpdir = "tests/reference")
write.csv(out, tmp, row.names = FALSE)
file.rename(tmp, "tests/reference/rank_golden.csv")
writeLines(c(R.version.string, paste("survey", as.character(packageVersion("survey")))),
           "tests/reference/rank_versions.txt")
