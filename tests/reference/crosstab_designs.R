# Golden numbers for sid.tables.crosstab on calibrated, replicate and lonely-PSU designs.
#
# Run from the repository root:   Rscript tests/reference/crosstab_designs.R
#
# Regenerates the files it owns (nothing else):
#   tests/reference/data/crosstab_ps_apiclus1.csv     apiclus1 post-stratified on stype: final
#                                                     weight w_final and what R stores in
#                                                     design$postStrata (ps_cell, ps_w, ps_oldw)
#   tests/reference/data/crosstab_rep_jkn.csv         apiclus1 in 4 pseudo-strata, JKn replicates
#   tests/reference/data/crosstab_rep_jkn_rscales.csv its rscales
#   tests/reference/data/crosstab_rep_boot.csv        apistrat, 50 bootstrap replicates
#   tests/reference/data/crosstab_lonely.csv          apistrat with stratum 2 (H) cut to one school
#   tests/reference/crosstab_designs_cases.csv        case, data, design (sid Design keys), row,
#                                                     col, where, singleton, convention
#   tests/reference/crosstab_designs_golden.csv       case, quantity, row, col, value
#   tests/reference/crosstab_designs_versions.txt     R and survey versions used
#
# Quantities are those of crosstab_golden.R (F, F_ndf, F_ddf, F_p, X2, X2_df, X2_p from
# svychisq; total, cell, rowpct, colpct with SEs from svytotal / svymean / svyby on the
# domain). The replicate designs are made with as.svrepdesign, written out (full-sample
# weight pw plus analysis replicate weights repw1..repwK) and rebuilt from the CSV with
# svrepdesign(combined.weights = TRUE), as sid builds them; the lonely-PSU cases set
# options(survey.lonely.psu = <rule>) for each rule sid supports. In the bootstrap domain case
# R warns "2 replicates gave NA results and were discarded": a replicate with no weight in a
# row of the domain has no share there, and R (as sid) leaves it out of that row's variance.
#
# Convention "svychisq": the test numbers are svychisq's own.
# Convention "domain": a calibrated design restricted to a domain. R 4.1.1's subset() of a
# calibrated design keeps every row (prob = Inf outside), so svychisq takes N = all rows of
# the sample and nu = the whole sample's PSUs minus strata (ddf = d0 * 14 on apiclus1).
# sid uses the domain's N (rows in the domain) and the domain's PSUs minus strata (d0 * 9).
# The numbers are recomputed here with rao_scott() below, the lines of
# survey:::svychisq.survey.design with N and nu as arguments: N = rows in the domain, nu =
# degf() of the *uncalibrated* design restricted to the domain (its subset zero-weights
# the rows outside, so degf counts the domain's PSUs and strata). rao_scott() is first
# checked to reproduce svychisq exactly with svychisq's own N and nu. F and its numerator
# df do not depend on N (X2 and tr(Delta) both scale with N); X2 scales with N; F_ddf and
# F_p change with nu. Cells and SEs are R's own in every case.
# Numbers are written with the shortest of 15 or 17 significant digits that reproduces the double.

suppressPackageStartupMessages(library(survey))
options(survey.lonely.psu = "fail", survey.adjust.domain.lonely = FALSE,
        survey.replicates.mse = FALSE, warn = 1)

REF <- "tests/reference"
DATA <- file.path(REF, "data")
if (!dir.exists(REF)) stop("run from the repository root: Rscript tests/reference/crosstab_designs.R")
dir.create(DATA, showWarnings = FALSE)

fmt_num <- function(x, na = "") {
  x <- as.numeric(x)
  s15 <- sprintf("%.15g", x)
  ok <- !is.na(x) & suppressWarnings(as.numeric(s15)) == x
  out <- ifelse(ok, s15, sprintf("%.17g", x))
  out[is.na(x)] <- na
  out
}

write_plain_csv <- function(df, path) {
  cols <- lapply(df, function(v) if (is.numeric(v)) fmt_num(v) else ifelse(is.na(v), "", as.character(v)))
  txt <- do.call(cbind, cols)
  if (any(grepl("[,\"\n]", txt))) stop("value with comma/quote/newline in ", path)
  lines <- c(paste(names(df), collapse = ","), apply(txt, 1, paste, collapse = ","))
  tmp <- paste0(path, ".tmp")
  writeLines(lines, tmp)
  invisible(file.rename(tmp, path))
}
rd <- function(f) read.csv(file.path(DATA, f))

data(api)
codes <- function(d) {
  data.frame(
    snum = d$snum, dnum = d$dnum, pw = d$pw,
    stype = as.integer(d$stype),                      # 1 E, 2 H, 3 M
    sch_wide = as.integer(d$sch.wide),                # 1 No, 2 Yes
    awards = as.integer(d$awards),
    comp_imp = as.integer(d$comp.imp),
    mealcat = as.integer(cut(d$meals, c(-1, 33, 66, 100))),
    ellcat = as.integer(cut(d$ell, c(-1, 5, 15, 35, 100)))
  )
}

# --- calibrated: apiclus1 post-stratified on stype
clus1 <- codes(apiclus1); clus1$fpc <- apiclus1$fpc
d_clus1 <- svydesign(ids = ~dnum, weights = ~pw, fpc = ~fpc, data = clus1)
d_ps <- postStratify(d_clus1, ~stype, data.frame(stype = 1:3, Freq = c(4421, 755, 1018)))
ps <- d_ps$postStrata[[1]]
ps_out <- clus1
ps_out$w_final <- weights(d_ps)
ps_out$ps_cell <- as.integer(ps)
ps_out$ps_w <- attr(ps, "weights")
ps_out$ps_oldw <- attr(ps, "oldweights")
write_plain_csv(ps_out, file.path(DATA, "crosstab_ps_apiclus1.csv"))

# --- replicate designs, rebuilt from the CSV
export_rep <- function(src, type, file, seed = NULL, ...) {
  if (!is.null(seed)) set.seed(seed)
  r <- as.svrepdesign(src, type = type, ...)
  aw <- weights(r, "analysis")
  colnames(aw) <- paste0("repw", seq_len(ncol(aw)))
  out <- cbind(src$variables, as.data.frame(aw))
  out$pw <- weights(r, "sampling")
  write_plain_csv(out, file.path(DATA, file))
  r
}
dn <- sort(unique(clus1$dnum))
clus1_ps <- clus1
clus1_ps$pstrat <- c(rep(1, 2), rep(2, 3), rep(3, 4), rep(4, 6))[match(clus1_ps$dnum, dn)]
rep_jkn <- export_rep(svydesign(ids = ~dnum, strata = ~pstrat, weights = ~pw, data = clus1_ps),
                      "JKn", "crosstab_rep_jkn.csv")
write_plain_csv(data.frame(rscales = rep_jkn$rscales), file.path(DATA, "crosstab_rep_jkn_rscales.csv"))
strat <- codes(apistrat); strat$fpc <- apistrat$fpc
rep_boot <- export_rep(svydesign(ids = ~1, strata = ~stype, weights = ~pw, fpc = ~fpc, data = strat),
                       "bootstrap", "crosstab_rep_boot.csv", seed = 20261127, replicates = 50)
d_jkn <- svrepdesign(data = rd("crosstab_rep_jkn.csv"), repweights = "^repw[0-9]+$", weights = ~pw,
                     type = "JKn", rscales = rd("crosstab_rep_jkn_rscales.csv")$rscales,
                     combined.weights = TRUE)
d_boot <- svrepdesign(data = rd("crosstab_rep_boot.csv"), repweights = "^repw[0-9]+$", weights = ~pw,
                      type = "bootstrap", scale = rep_boot$scale, combined.weights = TRUE)
stopifnot(isTRUE(all.equal(SE(svymean(~mealcat, d_jkn)), SE(svymean(~mealcat, rep_jkn)), tolerance = 1e-12)),
          isTRUE(all.equal(SE(svymean(~mealcat, d_boot)), SE(svymean(~mealcat, rep_boot)), tolerance = 1e-12)))

# --- lonely PSU: stratum 2 (H) of apistrat cut down to its first school
lonely <- strat[strat$stype != 2 | seq_len(nrow(strat)) == which(strat$stype == 2)[1], ]
write_plain_csv(lonely, file.path(DATA, "crosstab_lonely.csv"))
d_lonely <- svydesign(ids = ~1, strata = ~stype, weights = ~pw, fpc = ~fpc, data = rd("crosstab_lonely.csv"))

designs <- list(ps = d_ps, jkn = d_jkn, boot = d_boot, lonely = d_lonely)
design_args <- c(
  ps = "weight=w_final;psu=dnum;fpc=fpc;calibration=ps",
  jkn = "weight=pw;repweights=^repw[0-9]+$;repmethod=jkn;rscales=crosstab_rep_jkn_rscales.csv",
  boot = sprintf("weight=pw;repweights=^repw[0-9]+$;repmethod=bootstrap;scale=%s", fmt_num(rep_boot$scale)),
  lonely = "weight=pw;strata=stype;fpc=fpc"
)
data_files <- c(ps = "crosstab_ps_apiclus1.csv", jkn = "crosstab_rep_jkn.csv",
                boot = "crosstab_rep_boot.csv", lonely = "crosstab_lonely.csv")

cases <- data.frame(
  case = c("ps_mealcat_awards", "ps_schwide_ellcat", "ps_mealcat_awards_dnum400",
           "jkn_stype_awards", "jkn_mealcat_ellcat_compimp2",
           "boot_stype_schwide", "boot_mealcat_awards_compimp2",
           "lonely_adjust", "lonely_average", "lonely_remove", "lonely_certainty"),
  data = c("ps", "ps", "ps", "jkn", "jkn", "boot", "boot", "lonely", "lonely", "lonely", "lonely"),
  row = c("mealcat", "sch_wide", "mealcat", "stype", "mealcat", "stype", "mealcat",
          "mealcat", "mealcat", "mealcat", "mealcat"),
  col = c("awards", "ellcat", "awards", "awards", "ellcat", "sch_wide", "awards",
          "awards", "awards", "awards", "awards"),
  where = c("", "", "dnum > 400", "", "comp_imp == 2", "", "comp_imp == 2", "", "", "", ""),
  singleton = c("", "", "", "", "", "", "", "adjust", "average", "remove", "certainty"),
  convention = c("svychisq", "svychisq", "domain", rep("svychisq", 8)),
  stringsAsFactors = FALSE
)
cases$design <- design_args[cases$data]
cases$data <- data_files[cases$data]

# survey:::svychisq.survey.design (survey 4.1.1), statistic "F" and "Chisq", with N (R: the
# rows of the model matrix, i.e. every row of the design) and nu (R: the PSUs minus the strata
# of every row of the design) as arguments.
rao_scott <- function(formula, design, N, nu) {
  rows <- formula[[2]][[2]]; cols <- formula[[2]][[3]]
  rowvar <- na.omit(unique(design$variables[, as.character(rows)]))
  colvar <- na.omit(unique(design$variables[, as.character(cols)]))
  nr <- length(rowvar); nc <- length(colvar)
  fsat <- eval(bquote(~interaction(factor(.(rows)), factor(.(cols))) - 1))
  mm <- model.matrix(fsat, model.frame(fsat, design$variables, na.action = na.pass))
  mf1 <- expand.grid(rows = 1:nr, cols = 1:nc)
  X1 <- model.matrix(~factor(rows) + factor(cols), mf1)
  X12 <- model.matrix(~factor(rows) * factor(cols), mf1)
  mean2 <- svymean(mm, design, na.rm = TRUE)
  Cmat <- qr.resid(qr(X1), X12[, -(1:(nr + nc - 1)), drop = FALSE])
  iDmat <- diag(ifelse(mean2 == 0, 0, 1 / mean2))
  V <- attr(mean2, "var")
  denom <- t(Cmat) %*% (iDmat / N) %*% Cmat
  numr <- t(Cmat) %*% iDmat %*% V %*% iDmat %*% Cmat
  Delta <- solve(denom, numr)
  d0 <- sum(diag(Delta))^2 / (sum(diag(Delta %*% Delta)))
  x2 <- suppressWarnings(chisq.test(svytable(formula, design, Ntotal = N), correct = FALSE))$statistic
  f <- x2 / sum(diag(Delta))
  dfc <- ncol(Delta)
  list(F = unname(f), F_ndf = d0, F_ddf = d0 * nu, F_p = pf(f, d0, d0 * nu, lower.tail = FALSE),
       X2 = unname(x2), X2_df = dfc,
       X2_p = unname(pchisq(x2 / mean(diag(Delta)), dfc, lower.tail = FALSE)))
}

out <- list()
add <- function(case, quantity, row, col, value) {
  out[[length(out) + 1]] <<- data.frame(case = case, quantity = quantity, row = row, col = col,
                                        value = as.numeric(value), stringsAsFactors = FALSE)
}
for (k in seq_len(nrow(cases))) {
  cs <- cases[k, ]
  options(survey.lonely.psu = if (nzchar(cs$singleton)) cs$singleton else "fail")
  d <- designs[[names(data_files)[data_files == cs$data]]]
  if (nzchar(cs$where)) d <- eval(parse(text = sprintf("subset(d, %s)", cs$where)))
  f <- as.formula(sprintf("~%s+%s", cs$row, cs$col))
  tf <- svychisq(f, d, statistic = "F")
  tc <- svychisq(f, d, statistic = "Chisq")
  if (cs$convention == "svychisq") {
    t <- list(F = tf$statistic, F_ndf = tf$parameter[["ndf"]], F_ddf = tf$parameter[["ddf"]],
              F_p = tf$p.value, X2 = tc$statistic, X2_df = tc$parameter[["df"]], X2_p = tc$p.value)
  } else {
    # rao_scott() with svychisq's own N and nu reproduces svychisq ...
    own <- rao_scott(f, d, N = nrow(d$variables),
                     nu = length(unique(d$cluster[, 1])) - length(unique(d$strata[, 1])))
    stopifnot(isTRUE(all.equal(own$F, unname(tf$statistic), tolerance = 1e-13)),
              isTRUE(all.equal(own$F_ddf, tf$parameter[["ddf"]], tolerance = 1e-13)),
              isTRUE(all.equal(own$X2, unname(tc$statistic), tolerance = 1e-13)),
              isTRUE(all.equal(unname(own$X2_p), unname(tc$p.value), tolerance = 1e-13)))
    # ... and is then run with the domain's N and the domain's design df
    uncal <- eval(parse(text = sprintf("subset(d_clus1, %s)", cs$where)))
    dom <- with(d$variables, eval(parse(text = cs$where)))
    t <- rao_scott(f, d, N = sum(dom), nu = degf(uncal))
    cat(sprintf("%s: R svychisq N = %d, ddf = %.6g (nu %g); domain N = %d, ddf = %.6g (nu %g)\n",
                cs$case, nrow(d$variables), tf$parameter[["ddf"]], tf$parameter[["ddf"]] / t$F_ndf, sum(dom), t$F_ddf,
                degf(uncal)))
  }
  for (q in c("F", "F_ndf", "F_ddf", "F_p", "X2", "X2_df", "X2_p")) add(cs$case, q, NA, NA, t[[q]])

  rv <- d$variables[[cs$row]]; cv <- d$variables[[cs$col]]
  dd <- d[!is.na(rv) & !is.na(cv), ]
  dd <- update(dd, .r = factor(dd$variables[[cs$row]]), .c = factor(dd$variables[[cs$col]]))
  inset <- if (inherits(dd, "svyrep.design")) rep(TRUE, nrow(dd)) else is.finite(dd$prob)
  rl <- levels(droplevels(dd$variables$.r[inset])); cl <- levels(droplevels(dd$variables$.c[inset]))
  for (r in rl) for (c in cl) {
    dd2 <- update(dd, .cell = as.numeric(.r == r & .c == c))
    tt <- svytotal(~.cell, dd2)
    mm <- svymean(~.cell, dd2)
    add(cs$case, "total", r, c, coef(tt)); add(cs$case, "total_se", r, c, SE(tt))
    add(cs$case, "cell", r, c, coef(mm)); add(cs$case, "cell_se", r, c, SE(mm))
  }
  # svyby's SE columns are named se..c1 (Taylor) or se1 (replicate): take SE() by position
  by_table <- function(b, groups, levels) {
    k <- length(levels)
    list(est = matrix(as.numeric(coef(b)), ncol = k, dimnames = list(as.character(groups), levels)),
         se = matrix(as.numeric(as.matrix(SE(b))), ncol = k, dimnames = list(as.character(groups), levels)))
  }
  rp <- svyby(~.c, ~.r, dd, svymean); rp <- by_table(rp, rp$.r, levels(dd$variables$.c))
  cp <- svyby(~.r, ~.c, dd, svymean); cp <- by_table(cp, cp$.c, levels(dd$variables$.r))
  for (r in rl) for (c in cl) {
    add(cs$case, "rowpct", r, c, rp$est[r, c])
    add(cs$case, "rowpct_se", r, c, rp$se[r, c])
    add(cs$case, "colpct", r, c, cp$est[c, r])
    add(cs$case, "colpct_se", r, c, cp$se[c, r])
  }
}
gold <- do.call(rbind, out)
gold$row[is.na(gold$row)] <- ""
gold$col[is.na(gold$col)] <- ""
write_plain_csv(cases, file.path(REF, "crosstab_designs_cases.csv"))
write_plain_csv(gold, file.path(REF, "crosstab_designs_golden.csv"))
writeLines(c(R.version.string, paste("survey", as.character(packageVersion("survey")))),
           file.path(REF, "crosstab_designs_versions.txt"))
cat("wrote", nrow(gold), "golden numbers for", nrow(cases), "cases\n")
