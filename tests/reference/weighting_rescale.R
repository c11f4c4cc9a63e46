# Golden numbers for calibrate() on unit weights: R's grake rescales the input weights by
# mean(population / sample total) when every ratio exceeds 20, and the bounds then apply
# to the rescaled weights (tests/test_weighting.py::test_calibrate_rescaled_matches_r).
#
# Run from the repository root:  Rscript tests/reference/weighting_rescale.R
# Needs R with the `survey` package (4.1-1 was used). Reads
# tests/reference/data/weighting_apiclus1.csv (written by weighting_golden.R) and writes
# tests/reference/weighting_rescale.csv (case, row, weight; 17 significant digits).
suppressMessages(library(survey))
data(api)
g17 <- function(x) sprintf("%.17g", x)
clus1 <- read.csv("tests/reference/data/weighting_apiclus1.csv")
clus1$one <- 1
d1 <- svydesign(id = ~1, weights = ~one, data = clus1)
pop <- c(`(Intercept)` = nrow(apipop), stypeH = sum(apipop$stype == "H"),
         stypeM = sum(apipop$stype == "M"), sch.wideYes = sum(apipop$sch.wide == "Yes"))
out <- list()
for (calfun in c("linear", "raking", "logit")) {
  des <- suppressWarnings(calibrate(d1, ~stype + sch.wide, pop, calfun = calfun,
                                    bounds = c(0.6, 1.5), epsilon = 1e-13, maxit = 100))
  out[[calfun]] <- data.frame(case = paste0("rescaled_", calfun), row = des$variables$row,
                              weight = g17(weights(des)))
}
write.csv(do.call(rbind, out), "tests/reference/weighting_rescale.csv", row.names = FALSE)
