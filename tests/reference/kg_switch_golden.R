# Golden numbers for the table book's interval rule (issue 11, sid/tables/intervals.py):
# logit unless a group has fewer than 10 unweighted "yes" or "no" answers (or the logit
# interval has no width), then Korn-Graubard: R's svyciprop(method = "beta"), and for an
# estimate of exactly 0 or 1 (where R's beta is NaN) the NCHS rule n_eff = n with R's
# degrees-of-freedom factor.
#
# Run from the repository root:   Rscript tests/reference/kg_switch_golden.R
# Writes: tests/reference/data/kg_switch_data.csv   synthetic-like data (SID shape: origin
#           groups, strata per group x region, municipalities as PSUs, unequal weights,
#           missing answers), groups with 0, 2, 6, 9, 10, many, all-but-3 and all "yes"
#         tests/reference/kg_switch_golden.csv       one row per (wave, group)
#         tests/reference/kg_switch_versions.txt     R and survey versions

suppressPackageStartupMessages(library(survey))
options(survey.lonely.psu = "fail", warn = 1)
REF <- "tests/reference"
if (!dir.exists(REF)) stop("run from the repository root")

fmt_num <- function(x, na = "NA") {
  x <- as.numeric(x)
  s15 <- sprintf("%.15g", x)
  ok <- !is.na(x) & suppressWarnings(as.numeric(s15)) == x
  out <- ifelse(ok, s15, sprintf("%.17g", x))
  out[is.na(x)] <- na
  out
}
write_plain_csv <- function(df, path, na = "") {
  cols <- lapply(df, function(v) if (is.numeric(v)) fmt_num(v, na = na) else
    ifelse(is.na(v), na, as.character(v)))
  txt <- do.call(cbind, cols)
  lines <- c(paste(names(df), collapse = ","), apply(txt, 1, paste, collapse = ","))
  writeLines(lines, path)
}

set.seed(20261127)
yes_by_group <- c(`1` = 0, `2` = 2, `3` = 6, `4` = 9, `5` = 10, `6` = 45, `7` = -3, `8` = -0)
rows <- list()
for (wave in c(2017, 2022)) for (g in names(yes_by_group)) {
  n <- 120
  region <- rep(1:2, length.out = n)
  psu <- 1000 * as.integer(g) + 10 * region + sample(1:6, n, replace = TRUE) + 100 * (wave == 2022)
  w <- round(runif(n, 20, 400) * ifelse(region == 1, 1, 1.7), 3)
  k <- yes_by_group[[g]]
  nvalid <- n - 8
  nyes <- if (k < 0 || (k == 0 && g == "8")) nvalid + k else k
  y <- c(sample(c(rep(1, nyes), rep(0, nvalid - nyes))), rep(NA, 8))
  rows[[length(rows) + 1]] <- data.frame(wave = wave, group = as.integer(g),
    stratum = 100 * (wave == 2022) + 10 * as.integer(g) + region, psu = psu, w = w, y = y)
}
d <- do.call(rbind, rows)
write_plain_csv(d, file.path(REF, "data", "kg_switch_data.csv"))
d <- read.csv(file.path(REF, "data", "kg_switch_data.csv"), na.strings = "")

des <- svydesign(ids = ~psu, strata = ~stratum, weights = ~w, data = d, nest = TRUE)
FEW <- 10
out <- list()
for (level in c(0.95, 0.9)) for (wv in c(2017, 2022)) for (g in sort(unique(d$group))) {
  dom <- subset(des, wave == wv & group == g & !is.na(y))
  dd <- d[d$wave == wv & d$group == g & !is.na(d$y), ]
  n <- nrow(dd); n_yes <- sum(dd$y == 1); n_no <- sum(dd$y == 0)
  lg <- svyciprop(~I(y == 1), dom, method = "logit", level = level)
  bt <- svyciprop(~I(y == 1), dom, method = "beta", level = level)
  p <- as.numeric(coef(svymean(~I(y == 1), dom)))[2]
  p <- if (is.na(p)) as.numeric(coef(svymean(~y, dom))) else p
  df <- degf(dom)
  a <- (1 - level) / 2
  ndf <- n * (qt(a, n - 1) / qt(a, df))^2
  ext <- if (p == 0) c(0, qbeta(1 - a, 1, ndf)) else if (p == 1) c(qbeta(a, ndf, 1), 1) else c(NA, NA)
  lci <- as.numeric(attr(lg, "ci")); bci <- as.numeric(attr(bt, "ci"))
  kg <- min(n_yes, n_no) < FEW || !is.finite(lci[1]) || !is.finite(lci[2]) || !(lci[2] > lci[1])
  chosen <- if (!kg) lci else if (!is.na(ext[1])) ext else bci
  out[[length(out) + 1]] <- data.frame(level = level, wave = wv, group = g, n = n,
    n_yes = n_yes, n_no = n_no, estimate = p, df = df,
    logit_low = lci[1], logit_high = lci[2], beta_low = bci[1], beta_high = bci[2],
    extreme_low = ext[1], extreme_high = ext[2],
    method = if (kg) "beta" else "logit", low = chosen[1], high = chosen[2])
}
g <- do.call(rbind, out)
write_plain_csv(g, file.path(REF, "kg_switch_golden.csv"), na = "NA")
writeLines(c(R.version.string, paste("survey", packageVersion("survey")),
             "svydesign(ids = ~psu, strata = ~stratum, weights = ~w, nest = TRUE); domain = subset(wave & group & !is.na(y))"),
           file.path(REF, "kg_switch_versions.txt"))
