# Golden numbers for sid.model (issue 12): svyglm, regTermTest(method = "Wald"), svypredmeans.
#
# Run from the repository root:   Rscript tests/reference/model_golden.R
#
# Reads only existing data files (written by estimate_golden.R and calibration_variance.R):
#   tests/reference/data/estimate_apistrat.csv, estimate_apiclus1.csv, estimate_apiclus2.csv,
#   estimate_apistrat_na.csv, estimate_apistrat_lonely.csv, estimate_rep_jkn.csv (+ rscales),
#   estimate_rep_boot.csv, calibration_poststrat.csv, calibration_greg.csv
# and writes (nothing else):
#   tests/reference/model_cases.csv     one row per case: id, design, family, formula (sid),
#                                       where (sid), margins, r_formula, r_subset
#   tests/reference/model_designs.csv   one row per design: id, data file, Design(...) keys
#   tests/reference/model_coef.csv      case, term (R's name), estimate, se, ci_low, ci_high
#                                       (confint), df (df.residual), statistic, p_value (summary)
#   tests/reference/model_terms.csv     case, term, statistic, df_num, df_den, p_value
#   tests/reference/model_margins.csv   case, level, estimate, se
#   tests/reference/model_versions.txt  R and survey versions
#
# Every fit uses control = glm.control(epsilon = 1e-15, maxit = 200), so R's IRLS (and its
# replicate refits, which reuse the control) stop at the fixed point, not at glm's default
# 1e-8 deviance criterion; sid iterates to full convergence. Coefficient tables and term tests
# come from a second fit started at the converged coefficients (see below); svypredmeans
# refits internally, so its numbers carry glm's last-iteration lag (about 1e-8 relative).

suppressPackageStartupMessages(library(survey))
options(survey.lonely.psu = "fail", survey.adjust.domain.lonely = FALSE,
        survey.ultimate.cluster = FALSE, survey.replicates.mse = FALSE, warn = 1)
REF <- "tests/reference"
DATA <- file.path(REF, "data")
if (!dir.exists(REF)) stop("run from the repository root: Rscript tests/reference/model_golden.R")

fmt_num <- function(x, na = "NA") {
  x <- as.numeric(x)
  s15 <- sprintf("%.15g", x)
  ok <- !is.na(x) & suppressWarnings(as.numeric(s15)) == x
  out <- ifelse(ok, s15, sprintf("%.17g", x))
  out[is.infinite(x) & x > 0] <- "inf"
  out[is.na(x)] <- na
  out
}
write_plain <- function(df, path) {
  cols <- lapply(df, function(v) if (is.numeric(v)) fmt_num(v) else ifelse(is.na(v), "", as.character(v)))
  txt <- do.call(cbind, cols)
  if (any(grepl("[,\"\n]", txt))) {  # quote fields with commas (formulas)
    txt[] <- ifelse(grepl("[,\"]", txt), paste0('"', gsub('"', '""', txt), '"'), txt)
  }
  lines <- c(paste(names(df), collapse = ","), apply(txt, 1, paste, collapse = ","))
  tmp <- paste0(path, ".tmp"); writeLines(lines, tmp); invisible(file.rename(tmp, path))
}
read_ref <- function(file) read.csv(file.path(DATA, file), stringsAsFactors = FALSE, na.strings = "")
CTRL <- glm.control(epsilon = 1e-15, maxit = 200)

# ----------------------------------------------------------------------------- designs

designs <- list()
spec <- list()
add <- function(id, file, keys, obj) {
  designs[[id]] <<- obj
  spec[[id]] <<- data.frame(id = id, data = file, keys = keys, stringsAsFactors = FALSE)
}
strat <- read_ref("estimate_apistrat.csv")
add("strat", "estimate_apistrat.csv", "weight=pw;strata=stype;fpc=fpc",
    svydesign(ids = ~1, strata = ~stype, weights = ~pw, fpc = ~fpc, data = strat))
add("clus1", "estimate_apiclus1.csv", "weight=pw;psu=dnum;fpc=fpc",
    svydesign(ids = ~dnum, weights = ~pw, fpc = ~fpc, data = read_ref("estimate_apiclus1.csv")))
add("clus2", "estimate_apiclus2.csv", "weight=pw;psu=dnum;fpc=fpc1;psu2=snum;fpc2=fpc2",
    svydesign(ids = ~dnum + snum, fpc = ~fpc1 + fpc2, weights = ~pw,
              data = read_ref("estimate_apiclus2.csv")))
add("strat_na", "estimate_apistrat_na.csv", "weight=pw;strata=stype;fpc=fpc",
    svydesign(ids = ~1, strata = ~stype, weights = ~pw, fpc = ~fpc,
              data = read_ref("estimate_apistrat_na.csv")))
for (rule in c("adjust", "average")) {
  add(paste0("lonely_", rule), "estimate_apistrat_lonely.csv",
      paste0("weight=pw;strata=stype;fpc=fpc;singleton=", rule),
      svydesign(ids = ~1, strata = ~stype, weights = ~pw, fpc = ~fpc,
                data = read_ref("estimate_apistrat_lonely.csv")))
}
add("jkn", "estimate_rep_jkn.csv",
    "weight=pw;repweights=^repw;repmethod=jkn;rscales=estimate_rep_jkn_rscales.csv",
    svrepdesign(data = read_ref("estimate_rep_jkn.csv"), repweights = "^repw[0-9]+$",
                weights = ~pw, type = "JKn", combined.weights = TRUE,
                rscales = read_ref("estimate_rep_jkn_rscales.csv")$rscales))
# the bootstrap scale: as.svrepdesign folds the fpc into it; recompute it from the same
# draws and check that they are the replicate weights in the CSV
set.seed(20240601)
boot_src <- as.svrepdesign(designs$strat, type = "bootstrap", replicates = 50)
boot_csv <- read_ref("estimate_rep_boot.csv")
aw <- weights(boot_src, "analysis")
if (max(abs(as.matrix(boot_csv[, paste0("repw", 1:50)]) - aw)) > 1e-9 * max(aw))
  stop("bootstrap replicate weights differ from estimate_rep_boot.csv")
add("boot", "estimate_rep_boot.csv",
    paste0("weight=pw;repweights=^repw;repmethod=bootstrap;scale=", fmt_num(boot_src$scale)),
    svrepdesign(data = boot_csv, repweights = "^repw[0-9]+$", weights = ~pw, type = "bootstrap",
                combined.weights = TRUE, scale = boot_src$scale))
# JK1 (fpc folded into the scale by as.svrepdesign: recomputed and checked as for bootstrap),
# and Fay (rho 0.3) on the 7 district pairs of apiclus1
jk1_src <- as.svrepdesign(svydesign(ids = ~dnum, weights = ~pw, fpc = ~fpc,
                                    data = read_ref("estimate_apiclus1.csv")), type = "JK1")
jk1_csv <- read_ref("estimate_rep_jk1.csv")
if (max(abs(as.matrix(jk1_csv[, grep("^repw", names(jk1_csv))]) - weights(jk1_src, "analysis"))) >
    1e-9 * max(weights(jk1_src, "analysis"))) stop("JK1 replicate weights differ from estimate_rep_jk1.csv")
add("jk1_mse", "estimate_rep_jk1.csv",
    paste0("weight=pw;repweights=^repw;repmethod=jk1;mse=True;scale=", fmt_num(jk1_src$scale)),
    svrepdesign(data = jk1_csv, repweights = "^repw[0-9]+$", weights = ~pw, type = "JK1",
                combined.weights = TRUE, scale = jk1_src$scale, mse = TRUE))
add("fay", "estimate_rep_fay.csv", "weight=pw;repweights=^repw;repmethod=fay;rho=0.3",
    svrepdesign(data = read_ref("estimate_rep_fay.csv"), repweights = "^repw[0-9]+$",
                weights = ~pw, type = "Fay", combined.weights = TRUE, rho = 0.3))
# calibrated designs, as calibration_variance.R makes them (its CSVs carry postStrata)
data(api)
dclus1 <- svydesign(ids = ~dnum, weights = ~pw, fpc = ~fpc, data = apiclus1)
dstrat <- svydesign(ids = ~1, strata = ~stype, weights = ~pw, fpc = ~fpc, data = apistrat)
pop_stype <- data.frame(stype = c("E", "H", "M"), Freq = c(4421, 755, 1018))
d_ps <- postStratify(dclus1, ~stype, pop_stype)
d_gr <- calibrate(dstrat, ~stype + api99,
                  c(`(Intercept)` = 6194, stypeH = 755, stypeM = 1018, api99 = 3914069))
for (nm in c("poststrat", "greg")) {
  des <- if (nm == "poststrat") d_ps else d_gr
  csv <- read_ref(paste0("calibration_", nm, ".csv"))
  if (max(abs(csv$w_final - weights(des))) > 1e-9 * max(weights(des)) ||
      any(csv$api00 != des$variables$api00))
    stop("calibration_", nm, ".csv does not match the calibrated design")
  des$variables$sch_wide <- as.character(des$variables$sch.wide)
  des$variables$stype <- as.character(des$variables$stype)
  add(nm, paste0("calibration_", nm, ".csv"), paste0("calibration=", nm), des)
}

# ----------------------------------------------------------------------------- cases
# svypredmeans gets ~factor(var): with a character variable its model.matrix() of a
# one-value column fails.
# id, design, family, sid formula, R formula, sid where, R subset, margins variable
cases <- read.table(header = TRUE, stringsAsFactors = FALSE, sep = "|", strip.white = TRUE,
                    na.strings = "", quote = "", text = "
id                    | design       | family   | formula                                   | r_formula                                      | where                      | r_subset                    | margins
strat_gauss           | strat        | gaussian | api00 ~ enroll + stype + meals            | api00 ~ enroll + stype + meals                 |                            |                             | awards
strat_gauss_int       | strat        | gaussian | api00 ~ meals * yr_rnd + C(mealcat) + I(meals^2) | api00 ~ meals * yr_rnd + factor(mealcat) + I(meals^2) |                            |                             |
strat_gauss_logical   | strat        | gaussian | api00 ~ I(meals > 50) + stype:meals       | api00 ~ I(meals > 50) + stype:meals            |                            |                             |
strat_gauss_icept     | strat        | gaussian | api00 ~ 1                                 | api00 ~ 1                                      |                            |                             |
strat_logit           | strat        | binomial | hiapi ~ meals + stype + yr_rnd            | hiapi ~ meals + stype + yr_rnd                 |                            |                             | awards
strat_logit_int       | strat        | binomial | hiapi ~ meals * awards + stype            | hiapi ~ meals * awards + stype                 |                            |                             | sch_wide
strat_pois            | strat        | poisson  | enroll ~ meals + stype                    | enroll ~ meals + stype                         |                            |                             | yr_rnd
strat_logit_domain    | strat        | binomial | hiapi ~ meals + yr_rnd                    | hiapi ~ meals + yr_rnd                         | stype in ['E', 'M']        | stype %in% c('E', 'M')      | awards
clus1_gauss           | clus1        | gaussian | api00 ~ api99 + stype                     | api00 ~ api99 + stype                          |                            |                             | sch_wide
clus1_logit           | clus1        | binomial | hiapi ~ enroll + sch_wide                 | hiapi ~ enroll + sch_wide                      |                            |                             | stype
clus1_pois            | clus1        | poisson  | enroll ~ stype + meals                    | enroll ~ stype + meals                         |                            |                             | awards
clus1_gauss_domain    | clus1        | gaussian | api00 ~ meals + stype                     | api00 ~ meals + stype                          | sch_wide == 'Yes'          | sch_wide == 'Yes'           | awards
clus2_gauss           | clus2        | gaussian | api00 ~ enroll + stype                    | api00 ~ enroll + stype                         |                            |                             | awards
clus2_logit           | clus2        | binomial | hiapi ~ meals + stype                     | hiapi ~ meals + stype                          |                            |                             | awards
clus2_pois            | clus2        | poisson  | api00 ~ meals + yr_rnd                    | api00 ~ meals + yr_rnd                         |                            |                             |
clus2_pois_domain     | clus2        | poisson  | enroll ~ meals                            | enroll ~ meals                                 | api00 >= 600               | api00 >= 600                | stype
na_gauss              | strat_na     | gaussian | api00 ~ meals + C(mealcat) + awards       | api00 ~ meals + factor(mealcat) + awards       |                            |                             | sch_wide
na_logit              | strat_na     | binomial | hiapi ~ meals + awards                    | hiapi ~ meals + awards                         |                            |                             | sch_wide
na_pois_domain        | strat_na     | poisson  | enroll ~ api00 + awards                   | enroll ~ api00 + awards                        | stype != 'H'               | stype != 'H'                | sch_wide
lonely_adjust_gauss   | lonely_adjust| gaussian | api00 ~ meals + sch_wide                  | api00 ~ meals + sch_wide                       |                            |                             |
lonely_average_logit  | lonely_average| binomial| hiapi ~ meals + sch_wide                  | hiapi ~ meals + sch_wide                       |                            |                             |
jkn_gauss             | jkn          | gaussian | api00 ~ api99 + stype                     | api00 ~ api99 + stype                          |                            |                             | sch_wide
jkn_logit             | jkn          | binomial | hiapi ~ meals + sch_wide                  | hiapi ~ meals + sch_wide                       |                            |                             | awards
jkn_pois              | jkn          | poisson  | enroll ~ meals + stype                    | enroll ~ meals + stype                         |                            |                             |
jkn_gauss_domain      | jkn          | gaussian | api00 ~ meals                             | api00 ~ meals                                  | stype == 'E'               | stype == 'E'                | awards
boot_gauss            | boot         | gaussian | api00 ~ meals + stype                     | api00 ~ meals + stype                          |                            |                             | awards
boot_logit            | boot         | binomial | hiapi ~ meals + stype + sch_wide          | hiapi ~ meals + stype + sch_wide               |                            |                             | awards
boot_pois             | boot         | poisson  | enroll ~ meals + sch_wide                 | enroll ~ meals + sch_wide                      |                            |                             |
jk1_mse_gauss         | jk1_mse      | gaussian | api00 ~ meals + stype                     | api00 ~ meals + stype                          |                            |                             | awards
jk1_mse_logit         | jk1_mse      | binomial | hiapi ~ meals + sch_wide                  | hiapi ~ meals + sch_wide                       |                            |                             |
fay_gauss             | fay          | gaussian | api00 ~ meals + api99                     | api00 ~ meals + api99                          |                            |                             | sch_wide
fay_logit             | fay          | binomial | hiapi ~ meals                             | hiapi ~ meals                                  |                            |                             |
fay_pois              | fay          | poisson  | enroll ~ meals                            | enroll ~ meals                                 |                            |                             |
ps_gauss              | poststrat    | gaussian | api00 ~ api99 + sch_wide                  | api00 ~ api99 + sch_wide                       |                            |                             | stype
ps_logit              | poststrat    | binomial | I(api00 > 700) ~ api99 + stype            | I(api00 > 700) ~ api99 + stype                 |                            |                             | sch_wide
ps_pois               | poststrat    | poisson  | enroll ~ api99 + stype                    | enroll ~ api99 + stype                         |                            |                             |
ps_gauss_domain       | poststrat    | gaussian | api00 ~ api99                             | api00 ~ api99                                  | sch_wide == 'Yes'          | sch_wide == 'Yes'           |
greg_gauss            | greg         | gaussian | api00 ~ api99 + sch_wide                  | api00 ~ api99 + sch_wide                       |                            |                             | stype
greg_logit            | greg         | binomial | I(api00 > 700) ~ enroll + stype           | I(api00 > 700) ~ enroll + stype                |                            |                             |
")
FAM <- list(gaussian = gaussian(), binomial = quasibinomial(), poisson = quasipoisson())

coef_rows <- list(); term_rows <- list(); marg_rows <- list()
for (i in seq_len(nrow(cases))) {
  cs <- cases[i, ]; message(cs$id)
  des <- designs[[cs$design]]
  old <- options(survey.lonely.psu = if (startsWith(cs$design, "lonely_"))
    sub("lonely_", "", cs$design) else "fail")
  if (!is.na(cs$r_subset)) des <- eval(parse(text = sprintf("subset(des, %s)", cs$r_subset)))
  m0 <- eval(bquote(svyglm(.(as.formula(cs$r_formula)), design = des, family = FAM[[cs$family]],
                           control = CTRL)))
  # glm.fit returns the covariance and working weights of its second-to-last iteration;
  # restarting at the converged coefficients makes them those of the fixed point
  m <- eval(bquote(svyglm(.(as.formula(cs$r_formula)), design = des, family = FAM[[cs$family]],
                          control = CTRL, start = .(unname(coef(m0))))))
  if (max(abs(coef(m) - coef(m0)) / (abs(coef(m0)) + 1)) > 1e-12) stop(cs$id, ": restart moved")
  if (any(is.na(coef(m)))) stop(cs$id, ": aliased coefficients")
  s <- coef(summary(m))
  if (max(abs(s[, 2] - sqrt(diag(vcov(m))))) > 1e-12 * max(s[, 2])) stop(cs$id, ": se")
  ci <- confint(m)  # Wald with qt(df.residual)
  coef_rows[[i]] <- data.frame(case = cs$id, term = rownames(s), estimate = s[, 1],
                               se = s[, 2], ci_low = ci[, 1], ci_high = ci[, 2],
                               df = m$df.residual, statistic = s[, 3], p_value = s[, 4],
                               stringsAsFactors = FALSE)
  for (tl in attr(terms(m), "term.labels")) {
    tt <- regTermTest(m, as.formula(paste("~", tl)), method = "Wald")
    term_rows[[length(term_rows) + 1]] <- data.frame(
      case = cs$id, term = tl, statistic = as.numeric(tt$Ftest), df_num = tt$df,
      df_den = tt$ddf, p_value = as.numeric(tt$p), stringsAsFactors = FALSE)
  }
  if (!is.na(cs$margins)) {
    pm <- eval(bquote(svypredmeans(m0, ~factor(.(as.name(cs$margins))))))
    lev <- names(coef(pm))
    marg_rows[[length(marg_rows) + 1]] <- data.frame(
      case = cs$id, level = lev, estimate = as.numeric(coef(pm)), se = as.numeric(SE(pm)),
      stringsAsFactors = FALSE)
  }
  options(old)
}

cat_rows <- do.call(rbind, lapply(spec, identity))
write_plain(cat_rows, file.path(REF, "model_designs.csv"))
write_plain(cases, file.path(REF, "model_cases.csv"))
coef_all <- do.call(rbind, coef_rows)
write_plain(coef_all, file.path(REF, "model_coef.csv"))
write_plain(do.call(rbind, term_rows), file.path(REF, "model_terms.csv"))
write_plain(do.call(rbind, marg_rows), file.path(REF, "model_margins.csv"))
writeLines(c(R.version.string, paste("survey", packageVersion("survey")),
             sprintf("cases %d, coefficient rows %d, term tests %d, margin rows %d",
                     nrow(cases), nrow(coef_all), length(term_rows),
                     sum(sapply(marg_rows, nrow))),
             "glm.control(epsilon = 1e-15, maxit = 200) for every fit and replicate refit"),
           file.path(REF, "model_versions.txt"))
cat("wrote model_*.csv\n")
