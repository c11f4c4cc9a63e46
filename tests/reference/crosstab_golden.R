# Golden numbers for sid.tables.crosstab: R's `survey` package is the reference.
#
# Run from the repository root:   Rscript tests/reference/crosstab_golden.R
#
# Regenerates the files it owns (nothing else):
#   tests/reference/data/crosstab_apistrat.csv   integer-coded analysis data (from data(api))
#   tests/reference/data/crosstab_apiclus1.csv
#   tests/reference/data/crosstab_apiclus2.csv   (avg_ed_cat has missing values)
#   tests/reference/crosstab_cases.csv           one row per case: data, design, row, col, where
#   tests/reference/crosstab_golden.csv          case, quantity, row, col, value
#   tests/reference/crosstab_versions.txt        R and survey versions used
#
# Quantities per case (R code in comments below):
#   F, F_ndf, F_ddf, F_p          svychisq(~row+col, d, statistic = "F")   (Rao-Scott 2nd order)
#   X2, X2_df, X2_p               svychisq(~row+col, d, statistic = "Chisq") (Rao-Scott 1st order;
#                                 X2 is Pearson's statistic on svytable(Ntotal = nrow(d)))
#   total, total_se               svytotal of each cell indicator on dd
#   cell, cell_se                 svymean  of each cell indicator on dd
#   rowpct, rowpct_se             svyby(~col, ~row, dd, svymean): share of the column within the row
#   colpct, colpct_se             svyby(~row, ~col, dd, svymean): share of the row within the column
# where d = subset(design, <where>) and dd = subset(d, !is.na(row) & !is.na(col)).
# Subsetting an uncalibrated design keeps the full design's PSU/fpc information, so these are
# the domain estimates that sid gets by zero-weighting.
# Numbers are written with the shortest of 15 or 17 significant digits that reproduces the double.

suppressPackageStartupMessages(library(survey))
options(survey.lonely.psu = "fail", survey.adjust.domain.lonely = FALSE, warn = 1)

REF <- "tests/reference"
DATA <- file.path(REF, "data")
if (!dir.exists(REF)) stop("run from the repository root: Rscript tests/reference/crosstab_golden.R")
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

data(api)
codes <- function(d) {
  data.frame(
    snum = d$snum, dnum = d$dnum, pw = d$pw,
    stype = as.integer(d$stype),                      # 1 E, 2 H, 3 M
    sch_wide = as.integer(d$sch.wide),                # 1 No, 2 Yes
    awards = as.integer(d$awards),
    comp_imp = as.integer(d$comp.imp),
    yr_rnd = as.integer(d$yr.rnd),
    mealcat = as.integer(cut(d$meals, c(-1, 33, 66, 100))),
    ellcat = as.integer(cut(d$ell, c(-1, 5, 15, 35, 100)))
  )
}
strat <- codes(apistrat); strat$fpc <- apistrat$fpc
clus1 <- codes(apiclus1); clus1$fpc <- apiclus1$fpc
clus2 <- codes(apiclus2)
clus2$fpc1 <- as.numeric(apiclus2$fpc1); clus2$fpc2 <- as.numeric(apiclus2$fpc2)
clus2$avg_ed_cat <- as.integer(cut(apiclus2$avg.ed, c(0, 2.5, 3, 5)))  # has NA
write_plain_csv(strat, file.path(DATA, "crosstab_apistrat.csv"))
write_plain_csv(clus1, file.path(DATA, "crosstab_apiclus1.csv"))
write_plain_csv(clus2, file.path(DATA, "crosstab_apiclus2.csv"))

rd <- function(f) read.csv(file.path(DATA, f))
designs <- list(
  apistrat = svydesign(id = ~1, strata = ~stype, weights = ~pw, fpc = ~fpc, data = rd("crosstab_apistrat.csv")),
  apiclus1 = svydesign(id = ~dnum, weights = ~pw, fpc = ~fpc, data = rd("crosstab_apiclus1.csv")),
  apiclus2 = svydesign(id = ~dnum + snum, weights = ~pw, fpc = ~fpc1 + fpc2, data = rd("crosstab_apiclus2.csv"))
)
# the sid Design arguments of each design (read by tests/test_tables.py)
design_args <- c(
  apistrat = "strata=stype;weight=pw;fpc=fpc",
  apiclus1 = "psu=dnum;weight=pw;fpc=fpc",
  apiclus2 = "psu=dnum;psu2=snum;weight=pw;fpc=fpc1;fpc2=fpc2"
)

cases <- data.frame(
  case = c("strat_stype_schwide", "strat_stype_ellcat", "strat_mealcat_awards_yrrnd1",
           "clus1_stype_awards", "clus1_mealcat_ellcat", "clus1_stype_mealcat_compimp2",
           "clus2_stype_schwide", "clus2_mealcat_avgedcat_na"),
  data = c("apistrat", "apistrat", "apistrat", "apiclus1", "apiclus1", "apiclus1", "apiclus2", "apiclus2"),
  row = c("stype", "stype", "mealcat", "stype", "mealcat", "stype", "stype", "mealcat"),
  col = c("sch_wide", "ellcat", "awards", "awards", "ellcat", "mealcat", "sch_wide", "avg_ed_cat"),
  where = c("", "", "yr_rnd == 1", "", "", "comp_imp == 2", "", ""),
  stringsAsFactors = FALSE
)
cases$design <- design_args[cases$data]

out <- list()
add <- function(case, quantity, row, col, value) {
  out[[length(out) + 1]] <<- data.frame(case = case, quantity = quantity, row = row, col = col,
                                        value = as.numeric(value), stringsAsFactors = FALSE)
}
for (k in seq_len(nrow(cases))) {
  cs <- cases[k, ]
  d <- designs[[cs$data]]
  if (nzchar(cs$where)) d <- eval(parse(text = sprintf("subset(d, %s)", cs$where)))
  f <- as.formula(sprintf("~%s+%s", cs$row, cs$col))
  tf <- svychisq(f, d, statistic = "F")
  tc <- svychisq(f, d, statistic = "Chisq")
  add(cs$case, "F", NA, NA, tf$statistic)
  add(cs$case, "F_ndf", NA, NA, tf$parameter[["ndf"]])
  add(cs$case, "F_ddf", NA, NA, tf$parameter[["ddf"]])
  add(cs$case, "F_p", NA, NA, tf$p.value)
  add(cs$case, "X2", NA, NA, tc$statistic)
  add(cs$case, "X2_df", NA, NA, tc$parameter[["df"]])
  add(cs$case, "X2_p", NA, NA, tc$p.value)

  rv <- d$variables[[cs$row]]; cv <- d$variables[[cs$col]]
  dd <- d[!is.na(rv) & !is.na(cv), ]
  dd <- update(dd, .r = factor(dd$variables[[cs$row]]), .c = factor(dd$variables[[cs$col]]))
  rl <- levels(dd$variables$.r); cl <- levels(dd$variables$.c)
  cellf <- function(r, c) as.numeric(dd$variables$.r == r & dd$variables$.c == c)
  for (r in rl) for (c in cl) {
    dd2 <- update(dd, .cell = as.numeric(.r == r & .c == c))
    tt <- svytotal(~.cell, dd2)
    mm <- svymean(~.cell, dd2)
    add(cs$case, "total", r, c, coef(tt)); add(cs$case, "total_se", r, c, SE(tt))
    add(cs$case, "cell", r, c, coef(mm)); add(cs$case, "cell_se", r, c, SE(mm))
  }
  rp <- svyby(~.c, ~.r, dd, svymean)
  cp <- svyby(~.r, ~.c, dd, svymean)
  for (r in rl) for (c in cl) {
    add(cs$case, "rowpct", r, c, rp[r, paste0(".c", c)])
    add(cs$case, "rowpct_se", r, c, rp[r, paste0("se..c", c)])
    add(cs$case, "colpct", r, c, cp[c, paste0(".r", r)])
    add(cs$case, "colpct_se", r, c, cp[c, paste0("se..r", r)])
  }
}
gold <- do.call(rbind, out)
gold$row[is.na(gold$row)] <- ""
gold$col[is.na(gold$col)] <- ""
write_plain_csv(cases, file.path(REF, "crosstab_cases.csv"))
write_plain_csv(gold, file.path(REF, "crosstab_golden.csv"))
writeLines(c(R.version.string, paste("survey", as.character(packageVersion("survey")))),
           file.path(REF, "crosstab_versions.txt"))
cat("wrote", nrow(gold), "golden numbers for", nrow(cases), "cases\n")
