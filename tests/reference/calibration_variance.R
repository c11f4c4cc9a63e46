# Golden numbers for the calibrated-design variance in sid/variance.py (issue 4).
#
# Run from the repository root:   Rscript tests/reference/calibration_variance.R
#
# For postStratify, rake and calibrate(linear) designs on apiclus1/apistrat, writes
# what R stores in design$postStrata (per-row cells and weight attributes, the
# greg matrix and w) plus the final weights, one CSV per design:
#   tests/reference/data/calibration_<design>.csv
# and R's estimates and SEs (svymean, svytotal, svyby means) in
#   tests/reference/calibration_variance.csv   (design, stat, var, by_key, estimate, se)
# sid rebuilds each Design from the CSV (weight = w_final, calibration = the
# exported pieces) and must reproduce the SEs at rel 1e-9.

suppressPackageStartupMessages(library(survey))
options(survey.lonely.psu = "fail")
REF <- "tests/reference"
DATA <- file.path(REF, "data")
if (!dir.exists(REF)) stop("run from the repository root")
dir.create(DATA, showWarnings = FALSE)

fmt_num <- function(x) {
  s15 <- sprintf("%.15g", x)
  ok <- !is.na(x) & suppressWarnings(as.numeric(s15)) == x
  out <- ifelse(ok, s15, sprintf("%.17g", x))
  out[is.na(x)] <- ""
  out
}
write_plain <- function(df, path) {
  cols <- lapply(df, function(v) if (is.numeric(v)) fmt_num(v) else as.character(v))
  txt <- do.call(cbind, cols)
  lines <- c(paste(names(df), collapse = ","), apply(txt, 1, paste, collapse = ","))
  tmp <- paste0(path, ".tmp"); writeLines(lines, tmp); invisible(file.rename(tmp, path))
}

data(api)
vars <- function(d) data.frame(dnum = d$dnum, stype = as.character(d$stype),
                               sch_wide = as.character(d$sch.wide), api00 = d$api00,
                               api99 = d$api99, enroll = d$enroll, fpc = d$fpc, pw = d$pw,
                               stringsAsFactors = FALSE)

dclus1 <- svydesign(ids = ~dnum, weights = ~pw, fpc = ~fpc, data = apiclus1)
dstrat <- svydesign(ids = ~1, strata = ~stype, weights = ~pw, fpc = ~fpc, data = apistrat)

# postStratify on stype
pop_stype <- data.frame(stype = c("E", "H", "M"), Freq = c(4421, 755, 1018))
d_ps <- postStratify(dclus1, ~stype, pop_stype)
# rake on stype and sch.wide
pop_sw <- data.frame(sch.wide = c("No", "Yes"), Freq = c(1072, 5122))
d_rk <- rake(dclus1, list(~stype, ~sch.wide), list(pop_stype, pop_sw))
# linear calibration (GREG) on stype + api99, stratified design
pop_tot <- c(`(Intercept)` = 6194, stypeH = 755, stypeM = 1018, api99 = 3914069)
d_gr <- calibrate(dstrat, ~stype + api99, pop_tot)
# two steps: postStratify on stype, then linear calibration on api99 (cluster design)
d_two <- calibrate(postStratify(dclus1, ~stype, pop_stype), ~api99,
                   c(`(Intercept)` = 6194, api99 = 3914069))

export <- function(des, src, name) {
  out <- vars(src)
  out$w_final <- weights(des)
  j <- 0
  for (ps in des$postStrata) {
    j <- j + 1
    if (inherits(ps, "greg_calibration")) {
      X <- qr.X(ps$qr)
      for (k in seq_len(ncol(X))) out[[sprintf("s%d_greg_aux%d", j, k)]] <- X[, k]
      out[[sprintf("s%d_greg_w", j)]] <- ps$w
    } else if (inherits(ps, "raking")) {
      m <- 0
      for (margin in ps) {
        m <- m + 1
        out[[sprintf("s%d_rake%d_cell", j, m)]] <- as.integer(margin)
        out[[sprintf("s%d_rake%d_w", j, m)]] <- attr(margin, "weights")
      }
    } else {
      out[[sprintf("s%d_ps_cell", j)]] <- as.integer(ps)
      out[[sprintf("s%d_ps_w", j)]] <- attr(ps, "weights")
      out[[sprintf("s%d_ps_oldw", j)]] <- attr(ps, "oldweights")
    }
  }
  write_plain(out, file.path(DATA, sprintf("calibration_%s.csv", name)))
}
export(d_ps, apiclus1, "poststrat")
export(d_rk, apiclus1, "rake")
export(d_gr, apistrat, "greg")
export(d_two, apiclus1, "two_steps")

res <- list()
add <- function(dname, des) {
  for (v in c("api00", "enroll")) {
    m <- svymean(make.formula(v), des)
    t <- svytotal(make.formula(v), des)
    res[[length(res) + 1]] <<- data.frame(design = dname, stat = c("mean", "total"), var = v,
      by_key = "", estimate = c(coef(m), coef(t)), se = c(SE(m), SE(t)), stringsAsFactors = FALSE)
  }
  b <- svyby(~api00, ~sch_wide, update(des, sch_wide = as.character(sch.wide)), svymean)
  res[[length(res) + 1]] <<- data.frame(design = dname, stat = "mean", var = "api00",
    by_key = as.character(b$sch_wide), estimate = coef(b), se = SE(b), stringsAsFactors = FALSE)
  r <- svyratio(~api00, ~api99, des)
  res[[length(res) + 1]] <<- data.frame(design = dname, stat = "ratio", var = "api00/api99",
    by_key = "", estimate = as.numeric(coef(r)), se = as.numeric(SE(r)), stringsAsFactors = FALSE)
}
add("poststrat", d_ps); add("rake", d_rk); add("greg", d_gr); add("two_steps", d_two)
res <- do.call(rbind, res); rownames(res) <- NULL
write_plain(res, file.path(REF, "calibration_variance.csv"))
cat(nrow(res), "rows;", R.version.string, "survey", as.character(packageVersion("survey")), "\n")
