# Golden numbers for sid.weighting (tests/test_weighting.py).
#
# Run from the repository root:  Rscript tests/reference/weighting_golden.R
# Needs R with the `survey` package (4.1-1 was used). Writes:
#   tests/reference/data/weighting_apiclus1.csv, weighting_apistrat.csv  (inputs)
#   tests/reference/weighting_targets.csv  (population totals per case and margin)
#   tests/reference/weighting_weights.csv  (final weights per case and row)
#   tests/reference/weighting_se.csv       (mean and total with SE after each case)
# All numbers are written with 17 significant digits.
suppressMessages(library(survey))
data(api)
out <- "tests/reference"
g17 <- function(x) sprintf("%.17g", x)

keep <- c("snum", "dnum", "stype", "sch.wide", "awards", "comp.imp", "api00", "api99",
          "enroll", "meals", "fpc", "pw")
clus1 <- apiclus1[, keep]
clus1$row <- seq_len(nrow(clus1))
strat <- apistrat[, keep]
strat$row <- seq_len(nrow(strat))
write_num <- function(df, path) {
  df[] <- lapply(df, function(x) if (is.numeric(x)) g17(x) else as.character(x))
  write.csv(df, path, row.names = FALSE, quote = TRUE)
}
write_num(clus1, file.path(out, "data", "weighting_apiclus1.csv"))
write_num(strat, file.path(out, "data", "weighting_apistrat.csv"))

dclus1 <- svydesign(id = ~dnum, weights = ~pw, data = clus1, fpc = ~fpc)
dstrat <- svydesign(id = ~1, strata = ~stype, weights = ~pw, data = strat, fpc = ~fpc)

# population tables from apipop (the census the samples were drawn from)
pop_table <- function(vars) {
  t <- as.data.frame(table(apipop[, vars, drop = FALSE]))
  names(t) <- c(vars, "Freq")
  t
}
targets <- list()
add_target <- function(case, margin, category, total) {
  targets[[length(targets) + 1]] <<- data.frame(case = case, margin = margin,
                                                category = category, total = g17(total))
}
add_table <- function(case, tab) {
  vars <- setdiff(names(tab), "Freq")
  cat <- do.call(paste, c(lapply(tab[vars], as.character), sep = "|"))
  add_target(case, paste(vars, collapse = "+"), cat, tab$Freq)
}
weights_out <- list()
se_out <- list()
record <- function(case, des) {
  w <- weights(des)
  weights_out[[length(weights_out) + 1]] <<- data.frame(case = case, row = des$variables$row,
                                                       weight = g17(w))
  for (stat in c("mean", "total")) {
    f <- if (stat == "mean") svymean else svytotal
    est <- f(~api00 + enroll, des)
    se_out[[length(se_out) + 1]] <<- data.frame(case = case, statistic = stat,
                                               variable = names(coef(est)),
                                               estimate = g17(coef(est)), se = g17(SE(est)))
  }
}
tight <- list(maxit = 1000, epsilon = 1e-13, verbose = FALSE)
N <- nrow(apipop)

# --- post-stratification
p_stype <- pop_table("stype")
add_table("ps_clus1_stype", p_stype)
record("ps_clus1_stype", postStratify(dclus1, ~stype, p_stype))

p_cross <- pop_table(c("stype", "sch.wide"))
add_table("ps_strat_cross", p_cross)
record("ps_strat_cross", postStratify(dstrat, ~stype + sch.wide, p_cross))

# --- raking (iterative proportional fitting), run to full convergence
m1 <- pop_table("stype"); m2 <- pop_table("sch.wide"); m3 <- pop_table("awards")
for (m in list(m1, m2, m3)) add_table("rake_clus1", m)
record("rake_clus1", rake(dclus1, list(~stype, ~sch.wide, ~awards), list(m1, m2, m3),
                          control = tight))

m1 <- pop_table(c("stype", "awards")); m2 <- pop_table("comp.imp")
for (m in list(m1, m2)) add_table("rake_strat_cross", m)
record("rake_strat_cross", rake(dstrat, list(~stype + awards, ~comp.imp), list(m1, m2),
                                control = tight))

# raking within each stype group to awards and sch.wide margins
m1 <- pop_table(c("stype", "awards")); m2 <- pop_table(c("stype", "sch.wide"))
for (m in list(m1, m2)) add_table("rake_within", m)
record("rake_within", rake(dstrat, list(~stype + awards, ~stype + sch.wide), list(m1, m2),
                           control = tight))

# --- calibration: linear (GREG), raking and logit, with and without bounds
cont_pop <- function(case) {
  add_table(case, pop_table("stype"))
  add_target(case, "api99", "", sum(apipop$api99))
  c(`(Intercept)` = N, stypeH = sum(apipop$stype == "H"), stypeM = sum(apipop$stype == "M"),
    api99 = sum(apipop$api99))
}
pop <- cont_pop("cal_linear")
dcal <- calibrate(dclus1, ~stype + api99, pop)
record("cal_linear", dcal)

pop <- cont_pop("cal_linear_bounded")
record("cal_linear_bounded", calibrate(dclus1, ~stype + api99, pop, calfun = "linear",
                                       bounds = c(0.5, 1.6), epsilon = 1e-13, maxit = 100))

pop <- cont_pop("cal_raking_cont")
record("cal_raking_cont", calibrate(dclus1, ~stype + api99, pop, calfun = "raking",
                                    epsilon = 1e-13, maxit = 100))

pop <- cont_pop("cal_logit")
record("cal_logit", calibrate(dclus1, ~stype + api99, pop, calfun = "logit",
                              bounds = c(0.5, 1.6), epsilon = 1e-13, maxit = 100))

pop <- cont_pop("cal_raking_bounded")
record("cal_raking_bounded", calibrate(dclus1, ~stype + api99, pop, calfun = "raking",
                                       bounds = c(0.5, 1.6), epsilon = 1e-13, maxit = 100))

m1 <- pop_table("stype"); m2 <- pop_table("sch.wide"); m3 <- pop_table("awards")
for (m in list(m1, m2, m3)) add_table("cal_raking_cat", m)
popcat <- c(`(Intercept)` = N, stypeH = sum(apipop$stype == "H"),
            stypeM = sum(apipop$stype == "M"), sch.wideYes = sum(apipop$sch.wide == "Yes"),
            awardsYes = sum(apipop$awards == "Yes"))
record("cal_raking_cat", calibrate(dclus1, ~stype + sch.wide + awards, popcat,
                                   calfun = "raking", epsilon = 1e-13, maxit = 100))

# stratified design, GREG on a crossed margin and a continuous variable
p_cross <- pop_table(c("stype", "sch.wide"))
add_table("cal_strat_linear", p_cross)
add_target("cal_strat_linear", "meals", "", sum(apipop$meals))
dstrat <- update(dstrat, cell = interaction(stype, sch.wide))
popsx <- colSums(model.matrix(~cell + meals,
                              transform(apipop, cell = interaction(stype, sch.wide))))
record("cal_strat_linear", calibrate(dstrat, ~cell + meals, popsx))

# --- trimming (trimWeights: additive redistribution), on varying weights
clus1$wcal <- weights(dcal)
dvar <- svydesign(id = ~dnum, weights = ~wcal, data = clus1, fpc = ~fpc)
record("trim_base", dvar)
record("trim_upper", trimWeights(dvar, upper = 36))
record("trim_both", trimWeights(dvar, upper = 36, lower = 31))
record("trim_strict", trimWeights(dvar, upper = 36, lower = 31, strict = TRUE))

write_num(do.call(rbind, targets), file.path(out, "weighting_targets.csv"))
write.csv(do.call(rbind, weights_out), file.path(out, "weighting_weights.csv"),
          row.names = FALSE)
write.csv(do.call(rbind, se_out), file.path(out, "weighting_se.csv"), row.names = FALSE)
