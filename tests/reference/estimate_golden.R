# Golden numbers for sid.estimate (issue 4): R's `survey` package is the reference.
#
# Run from the repository root:   Rscript tests/reference/estimate_golden.R
#
# Regenerates every file it owns (nothing else):
#   tests/reference/data/estimate_*.csv      analysis data sets (built from data(api))
#   tests/reference/estimate_cases.yaml      catalogue of estimate() cases
#   tests/reference/estimate_golden.csv      one row per result of every case
#   tests/reference/estimate_contrasts.yaml  catalogue of compare() cases
#   tests/reference/estimate_contrasts.csv   one row per contrast
#   tests/reference/estimate_versions.txt    R and survey versions used
#
# Every number is computed from the data *as read back from the CSV files*, so the
# Python side sees exactly the inputs R used. Numbers are written with the shortest
# of 15 or 17 significant digits that reproduces the double exactly.
#
# Conventions (see tests/reference/README.md):
#   * domain = by-group AND where AND (analysis variable(s) not missing); rows outside
#     the domain are zero-weighted (R: design[mask, ] / subset()), never dropped.
#   * df = degf() of the domain design, whatever the CI method (R's svyciprop and
#     svyquantile use exactly this df; wald ignores it and uses qnorm).
#   * t CI = estimate +/- qt(1 - alpha/2, df) * se;  wald CI = estimate +/- qnorm() * se.
#   * proportion CIs logit/xlogit/asin/beta come from svyciprop(method = ...).
#   * quantile: svyquantile(qrule = "math", interval.type = "mean") (Woodruff), its CI
#     and its se; df = degf(domain design).

suppressPackageStartupMessages({
  library(survey)
})

options(
  survey.lonely.psu = "fail",
  survey.adjust.domain.lonely = FALSE,
  survey.ultimate.cluster = FALSE,
  survey.replicates.mse = FALSE,
  warn = 1
)

REF <- "tests/reference"
DATA <- file.path(REF, "data")
if (!dir.exists(REF)) stop("run from the repository root: Rscript tests/reference/estimate_golden.R")
dir.create(DATA, showWarnings = FALSE)

# ----------------------------------------------------------------------------- helpers

# Shortest of %.15g / %.17g that reproduces the double exactly.
fmt_num <- function(x, na = "NA") {
  x <- as.numeric(x)
  s15 <- sprintf("%.15g", x)
  ok <- !is.na(x) & suppressWarnings(as.numeric(s15)) == x
  out <- ifelse(ok, s15, sprintf("%.17g", x))
  out[is.infinite(x) & x > 0] <- "inf"
  out[is.infinite(x) & x < 0] <- "-inf"
  out[is.na(x)] <- na
  out
}

# Write a data frame as CSV: numbers exact, NA as empty field, no quoting (checked).
write_plain_csv <- function(df, path, na = "") {
  cols <- lapply(df, function(v) {
    if (is.numeric(v)) fmt_num(v, na = na) else ifelse(is.na(v), na, as.character(v))
  })
  txt <- do.call(cbind, cols)
  if (any(grepl("[,\"\n]", txt))) stop("value with comma/quote/newline in ", path)
  lines <- c(paste(names(df), collapse = ","), apply(txt, 1, paste, collapse = ","))
  tmp <- paste0(path, ".tmp")
  writeLines(lines, tmp)
  invisible(file.rename(tmp, path))
  invisible(path)
}

read_ref <- function(file) {
  read.csv(file.path(DATA, file), stringsAsFactors = FALSE, na.strings = "")
}

# ----------------------------------------------------------------------------- data sets

data(api)

base_cols <- function(d) {
  out <- data.frame(
    snum = d$snum, stype = as.character(d$stype), dnum = d$dnum, cnum = d$cnum,
    pw = d$pw, api00 = d$api00, api99 = d$api99, enroll = d$enroll, meals = d$meals,
    awards = as.character(d$awards), sch_wide = as.character(d$sch.wide),
    yr_rnd = as.character(d$yr.rnd), stringsAsFactors = FALSE
  )
  # integer-coded categorical (1/2/3) and a 0/1 indicator, as in SID's numeric codes
  out$mealcat <- as.integer(cut(d$meals, c(-1, 33, 66, 100)))
  out$hiapi <- as.integer(d$api00 >= 700)
  out
}

strat <- base_cols(apistrat); strat$fpc <- apistrat$fpc
write_plain_csv(strat, file.path(DATA, "estimate_apistrat.csv"))

clus1 <- base_cols(apiclus1); clus1$fpc <- apiclus1$fpc
# pseudo-strata over the 15 sampled districts (sorted by dnum): sizes 2, 3, 4, 6
dn <- sort(unique(clus1$dnum))
clus1$pstrat <- c(rep(1, 2), rep(2, 3), rep(3, 4), rep(4, 6))[match(clus1$dnum, dn)]
write_plain_csv(clus1, file.path(DATA, "estimate_apiclus1.csv"))

clus2 <- base_cols(apiclus2)
clus2$fpc1 <- as.numeric(apiclus2$fpc1); clus2$fpc2 <- as.numeric(apiclus2$fpc2)
write_plain_csv(clus2, file.path(DATA, "estimate_apiclus2.csv"))

# missing values injected deterministically (row numbers 1..200)
sna <- strat
i <- seq_len(nrow(sna))
sna$api00[i %% 7 == 0] <- NA
sna$hiapi[i %% 7 == 0] <- NA
sna$mealcat[i %% 5 == 0] <- NA
sna$awards[i %% 11 == 0] <- NA
write_plain_csv(sna, file.path(DATA, "estimate_apistrat_na.csv"))

# zero weights: every 10th row starting at row 3 (20 rows) gets pw = 0
sz <- strat
sz$pw[i %% 10 == 3] <- 0
write_plain_csv(sz, file.path(DATA, "estimate_apistrat_zero.csv"))

# one-stage singleton: stratum H cut down to its first school (one PSU)
sl <- strat[strat$stype != "H" | seq_len(nrow(strat)) == which(strat$stype == "H")[1], ]
write_plain_csv(sl, file.path(DATA, "estimate_apistrat_lonely.csv"))

# two-stage singleton: the first district with 5 sampled schools keeps only its first
# school, so that PSU has one SSU at stage 2 while fpc2 > 1
cnt <- table(clus2$dnum)
d5 <- as.numeric(names(cnt)[cnt == 5])[1]
keep <- clus2$dnum != d5 | seq_len(nrow(clus2)) == which(clus2$dnum == d5)[1]
cl2 <- clus2[keep, ]
write_plain_csv(cl2, file.path(DATA, "estimate_apiclus2_lonely.csv"))

# ----------------------------------------------------------------------------- designs

# Each design: data file, the Python Design(...) keys, and the R constructor (a string
# that is evaluated here and quoted in each case's `r` field).
designs <- list()
add_design <- function(name, data, keys, r, singleton = NULL) {
  designs[[name]] <<- list(data = data, keys = keys, r = r, singleton = singleton)
}
add_design("strat", "estimate_apistrat.csv",
  list(weight = "pw", strata = "stype", fpc = "fpc"),
  'svydesign(ids = ~1, strata = ~stype, weights = ~pw, fpc = ~fpc, data = read_ref("estimate_apistrat.csv"))')
add_design("strat_nofpc", "estimate_apistrat.csv",
  list(weight = "pw", strata = "stype"),
  'svydesign(ids = ~1, strata = ~stype, weights = ~pw, data = read_ref("estimate_apistrat.csv"))')
add_design("wonly", "estimate_apistrat.csv",
  list(weight = "pw"),
  'svydesign(ids = ~1, weights = ~pw, data = read_ref("estimate_apistrat.csv"))')
add_design("clus1", "estimate_apiclus1.csv",
  list(weight = "pw", psu = "dnum", fpc = "fpc"),
  'svydesign(ids = ~dnum, weights = ~pw, fpc = ~fpc, data = read_ref("estimate_apiclus1.csv"))')
add_design("clus2", "estimate_apiclus2.csv",
  list(weight = "pw", psu = "dnum", fpc = "fpc1", psu2 = "snum", fpc2 = "fpc2"),
  'svydesign(ids = ~dnum + snum, fpc = ~fpc1 + fpc2, weights = ~pw, data = read_ref("estimate_apiclus2.csv"))')
add_design("strat_na", "estimate_apistrat_na.csv",
  list(weight = "pw", strata = "stype", fpc = "fpc"),
  'svydesign(ids = ~1, strata = ~stype, weights = ~pw, fpc = ~fpc, data = read_ref("estimate_apistrat_na.csv"))')
add_design("strat_zero", "estimate_apistrat_zero.csv",
  list(weight = "pw", strata = "stype", fpc = "fpc"),
  'svydesign(ids = ~1, strata = ~stype, weights = ~pw, fpc = ~fpc, data = read_ref("estimate_apistrat_zero.csv"))')
for (rule in c("adjust", "average", "remove", "certainty")) {
  add_design(paste0("lonely_", rule), "estimate_apistrat_lonely.csv",
    list(weight = "pw", strata = "stype", fpc = "fpc", singleton = rule),
    'svydesign(ids = ~1, strata = ~stype, weights = ~pw, fpc = ~fpc, data = read_ref("estimate_apistrat_lonely.csv"))',
    singleton = rule)
  add_design(paste0("lonely2_", rule), "estimate_apiclus2_lonely.csv",
    list(weight = "pw", psu = "dnum", fpc = "fpc1", psu2 = "snum", fpc2 = "fpc2", singleton = rule),
    'svydesign(ids = ~dnum + snum, fpc = ~fpc1 + fpc2, weights = ~pw, data = read_ref("estimate_apiclus2_lonely.csv"))',
    singleton = rule)
}

# --- replicate designs: made with as.svrepdesign, exported (full-sample weight pw plus
# analysis replicate weights repw1..repwK), then rebuilt from the CSV with svrepdesign.
export_rep <- function(src, type, file, seed = NULL, ...) {
  if (!is.null(seed)) set.seed(seed)
  rd <- as.svrepdesign(src, type = type, ...)
  aw <- weights(rd, "analysis")
  colnames(aw) <- paste0("repw", seq_len(ncol(aw)))
  out <- cbind(src$variables, as.data.frame(aw))
  out$pw <- weights(rd, "sampling")
  write_plain_csv(out, file.path(DATA, file))
  rd
}
d_strat <- eval(parse(text = designs$strat$r))
d_clus1 <- eval(parse(text = designs$clus1$r))
cl1 <- read_ref("estimate_apiclus1.csv")
# BRR/Fay need exactly 2 PSUs per stratum: first 14 districts (sorted by dnum) in 7 pairs
pairs <- cl1[cl1$dnum %in% dn[1:14], ]
pairs$pair <- ceiling(match(pairs$dnum, dn) / 2)
d_pairs <- svydesign(ids = ~dnum, strata = ~pair, weights = ~pw, data = pairs)
d_pstrat <- svydesign(ids = ~dnum, strata = ~pstrat, weights = ~pw, data = cl1)

rep_jk1 <- export_rep(d_clus1, "JK1", "estimate_rep_jk1.csv")
rep_jkn <- export_rep(d_pstrat, "JKn", "estimate_rep_jkn.csv")
write_plain_csv(data.frame(rscales = rep_jkn$rscales), file.path(DATA, "estimate_rep_jkn_rscales.csv"))
rep_brr <- export_rep(d_pairs, "BRR", "estimate_rep_brr.csv")
rep_fay <- export_rep(d_pairs, "Fay", "estimate_rep_fay.csv", fay.rho = 0.3)
rep_boot <- export_rep(d_strat, "bootstrap", "estimate_rep_boot.csv", seed = 20240601, replicates = 50)

rep_r <- function(file, type, extra) {
  sprintf('svrepdesign(data = read_ref("%s"), repweights = "^repw[0-9]+$", weights = ~pw, type = "%s", combined.weights = TRUE%s)',
          file, type, extra)
}
add_design("rep_jk1", "estimate_rep_jk1.csv",
  list(weight = "pw", repweights = "^repw", repmethod = "jk1", scale = rep_jk1$scale),
  rep_r("estimate_rep_jk1.csv", "JK1", sprintf(", scale = %s", fmt_num(rep_jk1$scale))))
add_design("rep_jk1_mse", "estimate_rep_jk1.csv",
  list(weight = "pw", repweights = "^repw", repmethod = "jk1", scale = rep_jk1$scale, mse = TRUE),
  rep_r("estimate_rep_jk1.csv", "JK1", sprintf(", scale = %s, mse = TRUE", fmt_num(rep_jk1$scale))))
add_design("rep_jkn", "estimate_rep_jkn.csv",
  list(weight = "pw", repweights = "^repw", repmethod = "jkn", rscales = "estimate_rep_jkn_rscales.csv"),
  rep_r("estimate_rep_jkn.csv", "JKn", ', rscales = read_ref("estimate_rep_jkn_rscales.csv")$rscales'))
add_design("rep_brr", "estimate_rep_brr.csv",
  list(weight = "pw", repweights = "^repw", repmethod = "brr"),
  rep_r("estimate_rep_brr.csv", "BRR", ""))
add_design("rep_fay", "estimate_rep_fay.csv",
  list(weight = "pw", repweights = "^repw", repmethod = "fay", rho = 0.3),
  rep_r("estimate_rep_fay.csv", "Fay", ", rho = 0.3"))
add_design("rep_boot", "estimate_rep_boot.csv",
  list(weight = "pw", repweights = "^repw", repmethod = "bootstrap", scale = rep_boot$scale),
  rep_r("estimate_rep_boot.csv", "bootstrap", sprintf(", scale = %s", fmt_num(rep_boot$scale))))
add_design("rep_boot_mse", "estimate_rep_boot.csv",
  list(weight = "pw", repweights = "^repw", repmethod = "bootstrap", scale = rep_boot$scale, mse = TRUE),
  rep_r("estimate_rep_boot.csv", "bootstrap", sprintf(", scale = %s, mse = TRUE", fmt_num(rep_boot$scale))))

# build every design object from the CSVs
for (nm in names(designs)) {
  designs[[nm]]$obj <- suppressWarnings(eval(parse(text = designs[[nm]]$r)))
}

# sanity: the rebuilt replicate designs reproduce the as.svrepdesign originals
chk_rep <- function(a, b, what) {
  ma <- svymean(~api00, a); mb <- svymean(~api00, designs[[b]]$obj)
  if (abs(SE(ma) - SE(mb)) > 1e-10 * SE(ma)) stop("rebuilt replicate design differs: ", what)
}
chk_rep(rep_jk1, "rep_jk1", "JK1"); chk_rep(rep_jkn, "rep_jkn", "JKn")
chk_rep(rep_brr, "rep_brr", "BRR"); chk_rep(rep_fay, "rep_fay", "Fay")
chk_rep(rep_boot, "rep_boot", "bootstrap")
for (nm in c("rep_jk1", "rep_brr", "rep_fay", "rep_boot")) {
  if (any(designs[[nm]]$obj$rscales != 1)) stop(nm, ": rscales not all 1")
}

# ----------------------------------------------------------------------------- cases

cases <- list()
# where: Python-like syntax for the catalogue; where_r: the same condition in R.
add_case <- function(id, why, design, stat, var, by = NULL, where = NULL, where_r = NULL,
                     ci = NULL, conf_level = NULL, deff = FALSE, q = NULL) {
  if (!is.null(cases[[id]])) stop("duplicate case id ", id)
  if (is.null(where) != is.null(where_r)) stop(id, ": where and where_r go together")
  if (!design %in% names(designs)) stop(id, ": unknown design ", design)
  cases[[id]] <<- list(id = id, why = why, design = design, stat = stat, var = var, by = by,
                       where = where, where_r = where_r, ci = ci, conf_level = conf_level,
                       deff = deff, q = q)
}
source(file.path(REF, "estimate_cases.R"), local = TRUE)

# ----------------------------------------------------------------------------- engine

LOGIT_DIFF <- 0  # largest relative gap between svyciprop(logit)'s CI and the converged refit
EST_DIFF <- 0  # largest relative gap between svyciprop(logit)'s estimate and svymean's

ci_default <- function(stat) if (stat == "proportion") "logit" else "t"

# The R call quoted in the catalogue (what svyby / the direct call would be).
r_call <- function(cs, dz) {
  cl <- if (is.null(cs$ci)) ci_default(cs$stat) else cs$ci
  lvl <- if (is.null(cs$conf_level)) 0.95 else cs$conf_level
  dsg <- if (is.null(cs$where_r)) "des" else sprintf("subset(des, %s)", cs$where_r)
  dflag <- if (isTRUE(cs$deff)) ", deff = TRUE" else ""
  v <- strsplit(cs$var, "/")[[1]]
  qargs <- sprintf("quantiles = %s, alpha = %s, ci = TRUE", fmt_num(cs$q), fmt_num(1 - lvl))
  if (is.null(cs$by)) {
    est <- switch(cs$stat,
      mean = sprintf("svymean(~%s, %s, na.rm = TRUE%s)", v, dsg, dflag),
      total = sprintf("svytotal(~%s, %s, na.rm = TRUE%s)", v, dsg, dflag),
      ratio = sprintf("svyratio(~%s, ~%s, %s, na.rm = TRUE%s)", v[1], v[2], dsg, dflag),
      proportion = sprintf("svymean(~factor(%s), %s, na.rm = TRUE%s)", v, dsg, dflag),
      quantile = sprintf("svyquantile(~%s, %s, %s, na.rm = TRUE)", v, dsg, qargs))
  } else {
    byf <- paste0("~", paste(cs$by, collapse = " + "))
    est <- switch(cs$stat,
      mean = sprintf("svyby(~%s, %s, %s, svymean, na.rm = TRUE%s)", v, byf, dsg, dflag),
      total = sprintf("svyby(~%s, %s, %s, svytotal, na.rm = TRUE%s)", v, byf, dsg, dflag),
      ratio = sprintf("svyby(~%s, %s, %s, svyratio, denominator = ~%s, na.rm = TRUE%s)",
                      v[1], byf, dsg, v[2], dflag),
      proportion = sprintf("svyby(~factor(%s), %s, %s, svymean, na.rm = TRUE%s)", v, byf, dsg, dflag),
      quantile = sprintf("svyby(~%s, %s, %s, svyquantile, %s, na.rm = TRUE)", v, byf, dsg, qargs))
  }
  dom <- sprintf("per domain d = subset(des, <by group>%s & %s)",
                 if (is.null(cs$where_r)) "" else sprintf(" & (%s)", cs$where_r),
                 paste(sprintf("!is.na(%s)", v), collapse = " & "))
  a2 <- fmt_num(1 - (1 - lvl) / 2)
  ci_txt <- switch(cl,
    t = sprintf("CI: coef +/- qt(%s, degf(d)) * SE", a2),
    wald = sprintf("CI: coef +/- qnorm(%s) * SE", a2),
    sprintf("CI: svyciprop(~I(%s == <category>), d, method = \"%s\", level = %s)", v, cl, fmt_num(lvl)))
  if (cs$stat == "quantile") ci_txt <- "CI and SE: svyquantile's (Woodruff, qrule math) on d"
  pre <- if (is.null(dz$singleton)) "" else sprintf("options(survey.lonely.psu = \"%s\"); ", dz$singleton)
  paste0(pre, "des <- ", dz$r, "; ", est, "; ", ci_txt, "; df = degf(d); ", dom)
}

# Numbers for one domain design `d`.
domain_rows <- function(cs, d, lvl, cl, allv = d$variables[[cs$var]]) {
  a2 <- 1 - (1 - lvl) / 2
  wantdeff <- isTRUE(cs$deff)
  df <- degf(d)
  tci <- function(est, se) {
    crit <- if (cl == "wald") qnorm(a2) else if (cl == "t") qt(a2, df) else stop("ci ", cl, " not for ", cs$stat)
    c(est - crit * se, est + crit * se)
  }
  if (cs$stat %in% c("mean", "total", "ratio")) {
    if (cs$stat == "ratio") {
      v <- strsplit(cs$var, "/")[[1]]
      m <- svyratio(make.formula(v[1]), make.formula(v[2]), d, deff = wantdeff)
      est <- as.numeric(coef(m)); se <- as.numeric(SE(m))
      dd <- if (wantdeff) as.numeric(deff(m)) else NA_real_
    } else {
      f <- if (cs$stat == "mean") svymean else svytotal
      m <- f(make.formula(cs$var), d, deff = wantdeff)
      est <- as.numeric(coef(m)); se <- as.numeric(SE(m))
      dd <- if (wantdeff) as.numeric(deff(m)) else NA_real_
    }
    ci <- tci(est, se)
    return(data.frame(category = "", estimate = est, se = se, ci_low = ci[1], ci_high = ci[2],
                      df = df, deff = dd, stringsAsFactors = FALSE))
  }
  if (cs$stat == "quantile") {
    m <- svyquantile(make.formula(cs$var), d, quantiles = cs$q, alpha = 1 - lvl, ci = TRUE)
    r <- m[[1]]
    est <- r[1, 1]; lo <- r[1, 2]; hi <- r[1, 3]; se <- r[1, 4]
    # svyquantile's se is the CI half-width over the critical value with degf(d)
    crit <- if (is.finite(df)) qt(a2, df) else qnorm(a2)
    if (abs((hi - lo) / (2 * crit) - se) > 1e-12 * max(1, abs(se))) stop(cs$id, ": quantile df is not degf(d)")
    return(data.frame(category = "", estimate = est, se = se, ci_low = lo, ci_high = hi,
                      df = df, deff = NA_real_, stringsAsFactors = FALSE))
  }
  # proportion: every category of the variable (categories of the whole data set, `allv`)
  cats <- sort(unique(allv[!is.na(allv)]))
  rows <- lapply(cats, function(k) {
    dk <- eval(substitute(update(d, .ind = as.numeric(!is.na(V) & V == k)), list(V = as.name(cs$var))))
    m <- svymean(~.ind, dk, deff = wantdeff)
    est <- as.numeric(coef(m)); se <- as.numeric(SE(m))
    # a proportion of 0 or 1 is allowed only for the logit CI on a Taylor design, where it is
    # R's own output (glm runs to a large |logit|); the closed forms are undefined there
    edge <- est <= 0 || est >= 1
    if (edge && !(cl == "logit" && !inherits(dk, "svyrep.design"))) {
      stop(cs$id, ": category ", k, " has proportion ", est, " in a domain")
    }
    dd <- if (wantdeff) as.numeric(deff(m)) else NA_real_
    if (cl %in% c("t", "wald")) {
      ci <- tci(est, se)
    } else {
      p <- suppressWarnings(svyciprop(~.ind, dk, method = cl, level = lvl))
      ci <- as.numeric(attr(p, "ci"))
      if (cl == "logit" && edge) {
        est <- as.numeric(p)
      } else if (cl == "logit") {
        # The golden numbers are R's DEFAULT svyciprop(method = "logit") output, as a user
        # of R gets it: estimate expit(coef(svyglm)) and its CI. svyglm's IRLS stops at
        # glm.control()'s epsilon = 1e-8, so these carry a convergence error (up to ~4e-8
        # relative here) against the exact fixed point; sid reproduces R's iterations
        # (same start, same stopping rule per domain, same replicate refits) instead of
        # converging further. An earlier version of this script refitted with
        # epsilon = 1e-15; that refit is kept below as a cross-check only: within 1e-7 of
        # R's default, and equal (1e-11) to the closed form (xlogit for Taylor designs,
        # the replicate variance of logit(p_r) for replicate designs).
        g <- suppressWarnings(svyglm(.ind ~ 1, dk, family = quasibinomial,
                                     control = glm.control(epsilon = 1e-15, maxit = 100)))
        ci_exact <- as.numeric(plogis(suppressMessages(confint(g, 1, level = lvl, method = "Wald", ddf = df))))
        if (inherits(dk, "svyrep.design")) {
          rr <- svymean(~.ind, dk, return.replicates = TRUE)
          th <- qlogis(as.numeric(rr$replicates))
          if (any(!is.finite(th))) stop(cs$id, ": a replicate proportion is 0 or 1 (logit undefined)")
          ctr <- if (isTRUE(dk$mse)) qlogis(est) else mean(th)
          sel <- sqrt(dk$scale * sum(dk$rscales * (th - ctr)^2))
          crit <- if (is.finite(df)) qt(1 - (1 - lvl) / 2, df) else qnorm(1 - (1 - lvl) / 2)
          xl <- plogis(qlogis(est) + c(-1, 1) * crit * sel)
        } else {
          xl <- as.numeric(attr(svyciprop(~.ind, dk, method = "xlogit", level = lvl), "ci"))
        }
        if (any(abs(ci_exact - ci) > 1e-7 * ci)) stop(cs$id, ": svyciprop far from the converged refit")
        if (any(abs(ci_exact - xl) > 1e-11 * xl)) stop(cs$id, ": converged refit differs from closed form")
        LOGIT_DIFF <<- max(LOGIT_DIFF, abs(ci - ci_exact) / ci_exact)
        EST_DIFF <<- max(EST_DIFF, abs(as.numeric(p) - est) / est)
        if (abs(as.numeric(p) - est) > 1e-7 * est) stop(cs$id, ": svyciprop estimate differs")
        est <- as.numeric(p)  # svyciprop's own estimate, expit(coef)
      }
      if (cl != "logit" && abs(as.numeric(p) - est) > 1e-14 * est) stop(cs$id, ": svyciprop estimate differs")
      if (abs(sqrt(as.numeric(attr(p, "var"))) - se) > 1e-12 * se) stop(cs$id, ": svyciprop se differs")
    }
    data.frame(category = as.character(k), estimate = est, se = se, ci_low = ci[1], ci_high = ci[2],
               df = df, deff = dd, stringsAsFactors = FALSE)
  })
  do.call(rbind, rows)
}

# Rows in the case's `where` subpopulation (a missing condition is outside it).
where_rows <- function(cs, dat) {
  if (is.null(cs$where_r)) return(rep(TRUE, nrow(dat)))
  w <- eval(parse(text = cs$where_r), dat)
  !is.na(w) & w
}

run_case <- function(cs) {
  dz <- designs[[cs$design]]
  if (!is.null(dz$singleton)) {
    old <- options(survey.lonely.psu = dz$singleton)
    on.exit(options(old))
  }
  des <- dz$obj
  dat <- des$variables
  lvl <- if (is.null(cs$conf_level)) 0.95 else cs$conf_level
  cl <- if (is.null(cs$ci)) ci_default(cs$stat) else cs$ci
  vars <- if (cs$stat == "ratio") strsplit(cs$var, "/")[[1]] else cs$var
  base <- where_rows(cs, dat)
  nonmiss <- stats::complete.cases(dat[vars])
  if (is.null(cs$by)) {
    keys <- rep("", nrow(dat))
  } else {
    if (any(is.na(dat[cs$by]))) stop(cs$id, ": NA in a by variable")
    keys <- do.call(paste, c(lapply(cs$by, function(b) as.character(dat[[b]])), sep = "|"))
  }
  groups <- sort(unique(keys[base]))
  out <- lapply(groups, function(g) {
    mask <- base & nonmiss & keys == g
    if (!any(mask)) stop(cs$id, ": empty domain ", g)
    rows <- domain_rows(cs, des[mask, ], lvl, cl, allv = dat[[cs$var[1]]])
    cbind(data.frame(case = cs$id, by_key = g, stringsAsFactors = FALSE), rows)
  })
  out <- do.call(rbind, out)
  # cross-check against R's svyby for by-cases (estimate and SE must agree)
  if (!is.null(cs$by) && cs$stat %in% c("mean", "total", "ratio")) {
    dsub <- des[base & nonmiss, ]
    byf <- make.formula(cs$by)
    b <- if (cs$stat == "ratio") {
      svyby(make.formula(vars[1]), byf, dsub, svyratio, denominator = make.formula(vars[2]))
    } else {
      svyby(make.formula(cs$var), byf, dsub, if (cs$stat == "mean") svymean else svytotal)
    }
    bk <- do.call(paste, c(lapply(cs$by, function(x) as.character(b[[x]])), sep = "|"))
    j <- match(out$by_key, bk)
    if (any(is.na(j))) stop(cs$id, ": svyby groups differ")
    eb <- as.numeric(coef(b))[j]; sb <- as.numeric(SE(b))[j]
    if (any(abs(eb - out$estimate) > 1e-10 * abs(eb)) || any(abs(sb - out$se) > 1e-10 * sb)) {
      stop(cs$id, ": svyby disagrees with per-domain computation")
    }
  }
  out
}

# ----------------------------------------------------------------------------- contrasts

contrasts <- list()
add_contrast <- function(id, why, design, stat, var, by, reference, where = NULL, where_r = NULL) {
  if (!is.null(contrasts[[id]])) stop("duplicate contrast id ", id)
  contrasts[[id]] <<- list(id = id, why = why, design = design, stat = stat, var = var, by = by,
                           reference = reference, where = where, where_r = where_r)
}
source(file.path(REF, "estimate_contrasts.R"), local = TRUE)

run_contrast <- function(cs) {
  dz <- designs[[cs$design]]
  des <- dz$obj
  dat <- des$variables
  vars <- if (cs$stat == "ratio") strsplit(cs$var, "/")[[1]] else cs$var
  base <- where_rows(cs, dat)
  nonmiss <- stats::complete.cases(dat[vars])
  dsub <- des[base & nonmiss, ]
  byf <- make.formula(cs$by)
  b <- switch(cs$stat,
    mean = svyby(make.formula(cs$var), byf, dsub, svymean, covmat = TRUE),
    total = svyby(make.formula(cs$var), byf, dsub, svytotal, covmat = TRUE),
    ratio = svyby(make.formula(vars[1]), byf, dsub, svyratio, denominator = make.formula(vars[2]),
                  covmat = TRUE)
  )
  groups <- as.character(b[[cs$by]])
  ref <- match(cs$reference, groups)
  if (is.na(ref)) stop(cs$id, ": reference group not found")
  df <- degf(dsub)
  rows <- lapply(setdiff(seq_along(groups), ref), function(g) {
    w <- rep(0, length(groups)); w[g] <- 1; w[ref] <- -1
    k <- svycontrast(b, w)
    est <- as.numeric(coef(k)); se <- as.numeric(SE(k))
    crit <- qt(0.975, df)
    data.frame(case = cs$id, group = groups[g], estimate = est, se = se,
               ci_low = est - crit * se, ci_high = est + crit * se, df = df,
               p_value = 2 * pt(-abs(est / se), df), stringsAsFactors = FALSE)
  })
  do.call(rbind, rows)
}

contrast_r <- function(cs) {
  dz <- designs[[cs$design]]
  dsg <- if (is.null(cs$where_r)) "des" else sprintf("subset(des, %s)", cs$where_r)
  vars <- if (cs$stat == "ratio") strsplit(cs$var, "/")[[1]] else cs$var
  dsg <- sprintf("subset(%s, %s)", dsg, paste(sprintf("!is.na(%s)", vars), collapse = " & "))
  call <- switch(cs$stat,
    mean = sprintf("svyby(~%s, ~%s, d, svymean, covmat = TRUE)", cs$var, cs$by),
    total = sprintf("svyby(~%s, ~%s, d, svytotal, covmat = TRUE)", cs$var, cs$by),
    ratio = sprintf("svyby(~%s, ~%s, d, svyratio, denominator = ~%s, covmat = TRUE)", vars[1], cs$by, vars[2]))
  sprintf("des <- %s; d <- %s; b <- %s; svycontrast(b, <+1 group, -1 '%s'>); CI: coef +/- qt(0.975, degf(d)) * SE; p = 2 * pt(-|coef/SE|, degf(d))",
          dz$r, dsg, call, cs$reference)
}

# ----------------------------------------------------------------------------- YAML writer

yq <- function(s) paste0("'", gsub("'", "''", s, fixed = TRUE), "'")
yscalar <- function(x) {
  if (is.logical(x)) return(if (x) "true" else "false")
  if (is.numeric(x)) return(fmt_num(x))
  yq(x)
}
# one case as YAML lines; `fields` is a named list in output order (NULLs skipped)
yaml_item <- function(fields) {
  lines <- character()
  first <- TRUE
  for (k in names(fields)) {
    x <- fields[[k]]
    if (is.null(x)) next
    lead <- if (first) "- " else "  "
    first <- FALSE
    if (is.list(x)) {
      lines <- c(lines, paste0(lead, k, ":"))
      for (kk in names(x)) lines <- c(lines, paste0("    ", kk, ": ", yscalar(x[[kk]])))
    } else if (k == "by" && !isTRUE(attr(fields, "by_scalar"))) {
      lines <- c(lines, paste0(lead, k, ": [", paste(vapply(x, yq, ""), collapse = ", "), "]"))
    } else {
      lines <- c(lines, paste0(lead, k, ": ", yscalar(x)))
    }
  }
  lines
}

write_lines_atomic <- function(lines, path) {
  tmp <- paste0(path, ".tmp")
  writeLines(lines, tmp)
  invisible(file.rename(tmp, path))
}

header <- c(
  "# GENERATED by tests/reference/estimate_golden.R -- do not edit; rerun:",
  "#   Rscript tests/reference/estimate_golden.R",
  sprintf("# %s, survey %s", R.version.string, as.character(packageVersion("survey")))
)

# ----------------------------------------------------------------------------- run

golden <- list()
yaml_lines <- c(header, "# estimate(design, stat, var, by, where, ci, conf_level, deff, q) cases; numbers in estimate_golden.csv")
for (cs in cases) {
  dz <- designs[[cs$design]]
  res <- run_case(cs)
  golden[[cs$id]] <- res
  yaml_lines <- c(yaml_lines, yaml_item(list(
    id = cs$id, why = cs$why, data = dz$data, design = dz$keys, stat = cs$stat, var = cs$var,
    by = cs$by, where = cs$where, ci = cs$ci, conf_level = cs$conf_level, deff = isTRUE(cs$deff),
    q = cs$q, singleton = dz$singleton, r = r_call(cs, dz)
  )))
}
golden <- do.call(rbind, golden)
rownames(golden) <- NULL
write_lines_atomic(yaml_lines, file.path(REF, "estimate_cases.yaml"))
write_plain_csv(golden, file.path(REF, "estimate_golden.csv"), na = "NA")

con_rows <- list()
con_yaml <- c(header, "# compare(design, stat, var, by, reference, where) cases; numbers in estimate_contrasts.csv")
for (cs in contrasts) {
  dz <- designs[[cs$design]]
  con_rows[[cs$id]] <- run_contrast(cs)
  fields <- list(
    id = cs$id, why = cs$why, data = dz$data, design = dz$keys, stat = cs$stat, var = cs$var,
    by = cs$by, reference = cs$reference, where = cs$where, r = contrast_r(cs)
  )
  attr(fields, "by_scalar") <- TRUE  # compare() takes one by variable (a string)
  con_yaml <- c(con_yaml, yaml_item(fields))
}
con_rows <- do.call(rbind, con_rows)
rownames(con_rows) <- NULL
write_lines_atomic(con_yaml, file.path(REF, "estimate_contrasts.yaml"))
write_plain_csv(con_rows, file.path(REF, "estimate_contrasts.csv"), na = "NA")

write_lines_atomic(c(
  R.version.string,
  sprintf("survey %s", as.character(packageVersion("survey"))),
  sprintf("cases %d, golden rows %d, contrast cases %d, contrast rows %d",
          length(cases), nrow(golden), length(contrasts), nrow(con_rows)),
  "logit golden numbers are R's default svyciprop(method = 'logit') output (IRLS epsilon 1e-8)",
  sprintf("largest relative difference of that CI vs a converged refit (epsilon 1e-15): %.3g", LOGIT_DIFF),
  sprintf("largest relative difference of its estimate expit(coef) vs svymean: %.3g", EST_DIFF),
  sprintf("replicate scales: jk1 %s, jkn 1 (rscales file), brr %s, fay %s, bootstrap %s",
          fmt_num(designs$rep_jk1$obj$scale), fmt_num(designs$rep_brr$obj$scale),
          fmt_num(designs$rep_fay$obj$scale), fmt_num(designs$rep_boot$obj$scale)),
  sprintf("replicate degf: jk1 %d, jkn %d, brr %d, fay %d, bootstrap %d",
          degf(designs$rep_jk1$obj), degf(designs$rep_jkn$obj), degf(designs$rep_brr$obj),
          degf(designs$rep_fay$obj), degf(designs$rep_boot$obj))
), file.path(REF, "estimate_versions.txt"))

# round-trip check: the data files read back to exactly the doubles written
same_df <- function(a, b, f) {
  rownames(a) <- NULL; rownames(b) <- NULL
  for (nm in names(a)) {
    x <- a[[nm]]; y <- b[[nm]]
    if (is.numeric(x)) ok <- identical(is.na(x), is.na(y)) && all(x[!is.na(x)] == y[!is.na(y)])
    else ok <- identical(as.character(x), as.character(y))
    if (!ok) stop("round trip failed: ", f, " column ", nm)
  }
}
same_df(strat, read_ref("estimate_apistrat.csv"), "apistrat")
same_df(clus1, read_ref("estimate_apiclus1.csv"), "apiclus1")
same_df(clus2, read_ref("estimate_apiclus2.csv"), "apiclus2")
same_df(sna, read_ref("estimate_apistrat_na.csv"), "apistrat_na")
same_df(sz, read_ref("estimate_apistrat_zero.csv"), "apistrat_zero")
same_df(sl, read_ref("estimate_apistrat_lonely.csv"), "apistrat_lonely")
same_df(cl2, read_ref("estimate_apiclus2_lonely.csv"), "apiclus2_lonely")
for (x in list(list(rep_jk1, "jk1"), list(rep_jkn, "jkn"), list(rep_brr, "brr"), list(rep_fay, "fay"),
               list(rep_boot, "boot"))) {
  w <- unname(as.matrix(weights(x[[1]], "analysis")))
  r <- unname(as.matrix(read_ref(sprintf("estimate_rep_%s.csv", x[[2]]))[, paste0("repw", seq_len(ncol(w)))]))
  if (!all(w == r)) stop("round trip failed: replicate weights ", x[[2]])
}
cat(sprintf("%d cases, %d golden rows, %d contrast cases, %d contrast rows\n",
            length(cases), nrow(golden), length(contrasts), nrow(con_rows)))
