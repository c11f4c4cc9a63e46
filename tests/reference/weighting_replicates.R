# Golden numbers for replicate weights through the weighting chain (tests/test_weighting_replicates.py).
#
# Run from the repository root:  Rscript tests/reference/weighting_replicates.R
# Needs R with the `survey` package (4.1.1 was used) and the inputs written by
# weighting_golden.R (tests/reference/data/weighting_apiclus1.csv, weighting_apistrat.csv).
# Replicate designs (mse = FALSE, no fpc):
#   jk1   as.svrepdesign(svydesign(id = ~dnum, weights = ~pw, data = apiclus1), type = "JK1")
#   boot  as.svrepdesign(same, type = "bootstrap", replicates = 20)   (set.seed(20260101))
#   jkn   as.svrepdesign(svydesign(id = ~1, strata = ~stype, weights = ~pw, data = strat20), "JKn")
#         strat20: the first 20 schools of each type in apistrat (60 replicates)
# and on each: rake / calibrate / postStratify, exactly as the R code in the `call` column.
# Writes:
#   tests/reference/weighting_rep_start.csv   starting replicate weights (design, row, rep, weight)
#   tests/reference/weighting_rep_final.csv   final weights per case (case, row, rep, weight; rep 0 = full sample)
#   tests/reference/weighting_rep_se.csv      svymean / svytotal of api00 and enroll per case
#   tests/reference/weighting_rep_designs.csv scale and rscales per design
# All numbers are written with 17 significant digits.
# The cases are chosen so that every replicate reaches its targets: R checks convergence of
# the full-sample weights only (a replicate that misses a target, e.g. logit bounds that are
# infeasible for one bootstrap replicate, is kept silently), whereas sid raises an error.
suppressMessages(library(survey))
options(survey.replicates.mse = FALSE)
out <- "tests/reference"
g17 <- function(x) sprintf("%.17g", x)
clus1 <- read.csv(file.path(out, "data", "weighting_apiclus1.csv"))
strat <- read.csv(file.path(out, "data", "weighting_apistrat.csv"))
data(api)

d1 <- svydesign(id = ~dnum, weights = ~pw, data = clus1)
strat20 <- strat[ave(strat$row, strat$stype, FUN = seq_along) <= 20, ]  # 20 schools per type
ds <- svydesign(id = ~1, strata = ~stype, weights = ~pw, data = strat20)
set.seed(20260101)
designs <- list(
  jk1 = as.svrepdesign(d1, type = "JK1", compress = FALSE),
  boot = as.svrepdesign(d1, type = "bootstrap", replicates = 20, compress = FALSE),
  jkn = as.svrepdesign(ds, type = "JKn", compress = FALSE)
)
pop_table <- function(vars) {
  t <- as.data.frame(table(apipop[, vars, drop = FALSE]))
  names(t) <- c(vars, "Freq")
  t
}
tight <- list(maxit = 2000, epsilon = 1e-15, verbose = FALSE)

start <- list(); info <- list()
for (nm in names(designs)) {
  des <- designs[[nm]]
  rw <- weights(des, "analysis")
  start[[nm]] <- data.frame(design = nm, row = rep(des$variables$row, ncol(rw)),
                            rep = rep(seq_len(ncol(rw)), each = nrow(rw)), weight = g17(as.vector(rw)))
  info[[nm]] <- data.frame(design = nm, type = des$type, rep = seq_len(ncol(rw)),
                           scale = g17(des$scale), rscales = g17(des$rscales))
}
write.csv(do.call(rbind, start), file.path(out, "weighting_rep_start.csv"), row.names = FALSE)
write.csv(do.call(rbind, info), file.path(out, "weighting_rep_designs.csv"), row.names = FALSE)

popc <- c(`(Intercept)` = 6194, stypeH = 755, stypeM = 1018, api99 = 3914069)
cases <- list(
  jk1_rake = list("jk1", quote(rake(des, list(~stype, ~sch.wide), list(pop_table("stype"), pop_table("sch.wide")), control = tight))),
  jk1_ps = list("jk1", quote(postStratify(des, ~stype, pop_table("stype")))),
  jk1_linear = list("jk1", quote(calibrate(des, ~stype + api99, popc, compress = FALSE))),
  jk1_raking = list("jk1", quote(calibrate(des, ~stype + api99, popc, calfun = "raking", epsilon = 1e-14, maxit = 200, compress = FALSE))),
  boot_rake = list("boot", quote(rake(des, list(~stype, ~sch.wide), list(pop_table("stype"), pop_table("sch.wide")), control = tight))),
  boot_linear = list("boot", quote(calibrate(des, ~stype + api99, popc, compress = FALSE))),
  boot_logit = list("boot", quote(calibrate(des, ~stype + api99, popc, calfun = "logit", bounds = c(0.2, 5), epsilon = 1e-14, maxit = 200, compress = FALSE))),
  jkn_rake = list("jkn", quote(rake(des, list(~stype, ~comp.imp), list(pop_table("stype"), pop_table("comp.imp")), control = tight))),
  jkn_ps = list("jkn", quote(postStratify(des, ~stype + sch.wide, pop_table(c("stype", "sch.wide")))))
)
final <- list(); se <- list()
for (case in names(cases)) {
  des <- designs[[cases[[case]][[1]]]]
  res <- suppressWarnings(eval(cases[[case]][[2]]))
  rw <- weights(res, "analysis")
  stopifnot(all(is.finite(rw)))
  w <- weights(res, "sampling")
  final[[case]] <- data.frame(case = case, row = rep(res$variables$row, ncol(rw) + 1),
                              rep = rep(0:ncol(rw), each = nrow(rw)), weight = g17(c(w, as.vector(rw))))
  for (stat in c("mean", "total")) {
    f <- if (stat == "mean") svymean else svytotal
    est <- f(~api00 + enroll, res)
    se[[length(se) + 1]] <- data.frame(case = case, call = deparse1(cases[[case]][[2]]),
                                       statistic = stat, variable = names(coef(est)),
                                       estimate = g17(coef(est)), se = g17(SE(est)))
  }
}
write.csv(do.call(rbind, final), file.path(out, "weighting_rep_final.csv"), row.names = FALSE)
write.csv(do.call(rbind, se), file.path(out, "weighting_rep_se.csv"), row.names = FALSE)
cat(R.version.string, "survey", as.character(packageVersion("survey")), "\n")
