# Golden numbers for sid estimate's default CI for proportions, ci = "auto" (issue 10):
# R's svyciprop(method = "logit"), switched to svyciprop(method = "beta") (Korn-Graubard)
# in a group with fewer than 10 unweighted "yes" or "no" answers, or a logit interval
# without width; an estimate of exactly 0 or 1 (R's beta is NaN there: n.eff = 0/0)
# gets the NCHS rule: n_df = n * (qt(a/2, n - 1) / qt(a/2, df))^2 and
# [0, qbeta(1 - a/2, 1, n_df)] (0) or [qbeta(a/2, n_df, 1), 1] (1).
#
# Run from the repository root:   Rscript tests/reference/ciprop_rare.R
# Reads tests/reference/data/estimate_apistrat.csv and estimate_apiclus1.csv (written by
# estimate_golden.R); writes tests/reference/ciprop_rare_golden.csv and
# tests/reference/ciprop_rare_versions.txt. Rare outcomes: api00 > 850 (1-9 per stratum),
# api00 > 950 (none) and, in apiclus1, api00 > 850 (1 school in E, none in H and M).

suppressPackageStartupMessages(library(survey))
options(survey.lonely.psu = "fail", warn = 1)
REF <- "tests/reference"
if (!dir.exists(REF)) stop("run from the repository root")
FEW <- 10
LEVEL <- 0.95

fmt <- function(x) {
  x <- as.numeric(x)
  s15 <- sprintf("%.15g", x)
  ok <- !is.na(x) & suppressWarnings(as.numeric(s15)) == x
  out <- ifelse(ok, s15, sprintf("%.17g", x))
  out[is.na(x)] <- "NA"
  out
}

strat <- read.csv(file.path(REF, "data", "estimate_apistrat.csv"))
clus1 <- read.csv(file.path(REF, "data", "estimate_apiclus1.csv"))
strat$rare <- as.numeric(strat$api00 > 850)
strat$none <- as.numeric(strat$api00 > 950)
clus1$rare <- as.numeric(clus1$api00 > 850)
designs <- list(
  strat = svydesign(ids = ~1, strata = ~stype, weights = ~pw, fpc = ~fpc, data = strat),
  clus1 = svydesign(ids = ~dnum, weights = ~pw, fpc = ~fpc, data = clus1)
)
cases <- list(
  list(id = "strat_rare_by_stype", design = "strat", var = "rare", by = TRUE),
  list(id = "strat_rare", design = "strat", var = "rare", by = FALSE),
  list(id = "strat_none_by_stype", design = "strat", var = "none", by = TRUE),
  list(id = "clus1_rare_by_stype", design = "clus1", var = "rare", by = TRUE),
  list(id = "clus1_rare", design = "clus1", var = "rare", by = FALSE)
)

rows <- list()
for (case in cases) {
  des <- designs[[case$design]]
  groups <- if (case$by) sort(unique(des$variables$stype)) else ""
  for (g in groups) {
    sub <- if (case$by) subset(des, stype == g) else des
    y <- sub$variables[[case$var]]
    w <- weights(sub)
    cats <- sort(unique(y[w > 0]))
    if (length(cats) == 1) cats <- c(0, 1)  # a 0/1 variable seen with one value only
    cats <- cats[cats %in% unique(des$variables[[case$var]])]
    for (k in cats) {
      sub$variables$ind <- as.numeric(y == k)
      m <- svymean(~ind, sub)
      est <- unname(coef(m)); se <- unname(sqrt(diag(vcov(m))))
      lg <- svyciprop(~ind, sub, method = "logit", level = LEVEL)
      bt <- suppressWarnings(svyciprop(~ind, sub, method = "beta", level = LEVEL))
      l_ci <- as.numeric(confint(lg)); b_ci <- as.numeric(confint(bt))
      n <- sum(w > 0); n_yes <- sum(w > 0 & y == k); df <- degf(sub)
      few <- min(n_yes, n - n_yes) < FEW
      degenerate <- any(!is.finite(l_ci)) || !(l_ci[2] > l_ci[1])
      if (few || degenerate) {
        method <- "beta"; e <- est; ci <- b_ci
        a <- (1 - LEVEL) / 2
        n_df <- n * (qt(a, n - 1) / qt(a, df))^2
        if (est == 0) ci <- c(0, qbeta(1 - a, 1, n_df))
        if (est == 1) ci <- c(qbeta(a, n_df, 1), 1)
      } else {
        method <- "logit"; e <- unname(as.numeric(lg)); ci <- l_ci
      }
      rows[[length(rows) + 1]] <- data.frame(
        case = case$id, stype = g, category = as.character(k), estimate = fmt(e),
        se = fmt(se), ci_low = fmt(ci[1]), ci_high = fmt(ci[2]), ci_method = method,
        df = fmt(df), n = n, n_yes = n_yes, r_beta_low = fmt(b_ci[1]),
        r_beta_high = fmt(b_ci[2]), stringsAsFactors = FALSE)
    }
  }
}
out <- do.call(rbind, rows)
write.csv(out, file.path(REF, "ciprop_rare_golden.csv"), row.names = FALSE, quote = FALSE)
writeLines(c(R.version.string, paste("survey", as.character(packageVersion("survey"))),
             paste("rows", nrow(out), "beta rows", sum(out$ci_method == "beta"))),
           file.path(REF, "ciprop_rare_versions.txt"))
