# Case list for estimate_golden.R (sourced by it; not run on its own).
# add_case(id, why, design, stat, var, by, where, where_r, ci, conf_level, deff, q)
# `where` is the Python-like condition of the catalogue, `where_r` the same in R.

# --- stratified element sample with fpc (apistrat) -------------------------------------
add_case("strat_mean_api00", "mean, stratified with fpc, default t CI", "strat", "mean", "api00")
add_case("strat_mean_api00_wald", "wald (normal) CI for a mean", "strat", "mean", "api00", ci = "wald")
add_case("strat_mean_api00_by_stype_deff", "domain means by the stratum variable, deff",
         "strat", "mean", "api00", by = "stype", deff = TRUE)
add_case("strat_mean_api00_by_stype_awards", "two by-variables (domains cut across strata), deff",
         "strat", "mean", "api00", by = c("stype", "awards"), deff = TRUE)
add_case("strat_total_enroll_deff", "total with deff", "strat", "total", "enroll", deff = TRUE)
add_case("strat_total_enroll_by_stype_wald", "domain totals, wald CI", "strat", "total", "enroll",
         by = "stype", ci = "wald")
add_case("strat_ratio_api", "ratio of totals api00/api99, t CI, deff", "strat", "ratio", "api00/api99",
         deff = TRUE)
add_case("strat_ratio_api_by_awards_wald", "domain ratios, wald CI", "strat", "ratio", "api00/api99",
         by = "awards", ci = "wald")
add_case("strat_prop_awards", "proportion of a string categorical, default logit CI", "strat",
         "proportion", "awards")
add_case("strat_prop_awards_by_stype_xlogit", "proportions by domain, xlogit CI", "strat",
         "proportion", "awards", by = "stype", ci = "xlogit")
add_case("strat_prop_mealcat_asin", "integer-coded categorical (1/2/3), asin CI", "strat",
         "proportion", "mealcat", ci = "asin")
add_case("strat_prop_mealcat_by_awards_beta", "proportions by domain, beta (Korn-Graubard) CI",
         "strat", "proportion", "mealcat", by = "awards", ci = "beta")
add_case("strat_prop_hiapi_wald_deff", "0/1 variable as proportion (both categories), wald CI, deff",
         "strat", "proportion", "hiapi", ci = "wald", deff = TRUE)
add_case("strat_prop_hiapi_by_stype_t_deff", "proportion with t CI (svyciprop method mean) by domain, deff",
         "strat", "proportion", "hiapi", by = "stype", ci = "t", deff = TRUE)
add_case("strat_prop_stype_by_awards_logit", "categories = the strata, by another variable",
         "strat", "proportion", "stype", by = "awards")
add_case("strat_prop_awards_logit_90", "logit CI at conf_level 0.90", "strat", "proportion", "awards",
         conf_level = 0.9)
add_case("strat_prop_mealcat_beta_99", "beta CI at conf_level 0.99", "strat", "proportion", "mealcat",
         ci = "beta", conf_level = 0.99)
add_case("strat_mean_hiapi", "mean of a 0/1 variable (= proportion of 1s) with t CI", "strat", "mean", "hiapi")
add_case("strat_quantile_api00_median", "median, Woodruff CI (svyquantile defaults)", "strat",
         "quantile", "api00", q = 0.5)
add_case("strat_quantile_api00_q25_by_stype", "first quartile by domain", "strat", "quantile", "api00",
         by = "stype", q = 0.25)
add_case("strat_quantile_enroll_q90_conf90", "upper quantile of a skewed variable, conf_level 0.90",
         "strat", "quantile", "enroll", q = 0.9, conf_level = 0.9)
add_case("strat_mean_api00_where_E", "subpopulation via where (one stratum): domain df",
         "strat", "mean", "api00", where = "stype == 'E'", where_r = 'stype == "E"')
add_case("strat_mean_api00_where_E_by_awards_deff", "where plus by, deff within the subpopulation",
         "strat", "mean", "api00", by = "awards", where = "stype == 'E'", where_r = 'stype == "E"',
         deff = TRUE)
add_case("strat_prop_awards_where_in_and", "where with `in` and `and` and `>=`", "strat",
         "proportion", "awards", where = "stype in ['E', 'M'] and api99 >= 600",
         where_r = 'stype %in% c("E", "M") & api99 >= 600')
add_case("strat_total_enroll_where_not", "where with `not`; domain total", "strat", "total", "enroll",
         where = "not (awards == 'Yes')", where_r = '!(awards == "Yes")', deff = TRUE)
add_case("strat_mean_enroll_where_or_by_stype", "where with `or` on numeric codes, by domain",
         "strat", "mean", "enroll", by = "stype", where = "mealcat == 1 or enroll > 1000",
         where_r = "mealcat == 1 | enroll > 1000")
add_case("strat_mean_api00_wald_99", "wald at conf_level 0.99", "strat", "mean", "api00", ci = "wald",
         conf_level = 0.99)
add_case("strat_ratio_enroll_api99_by_stype_awards", "ratio by two by-variables, t CI, deff", "strat",
         "ratio", "enroll/api99", by = c("stype", "awards"), deff = TRUE)
add_case("strat_quantile_api00_where_M", "quantile in a where-subpopulation", "strat", "quantile", "api00",
         where = "stype == 'M'", where_r = 'stype == "M"', q = 0.5)

# --- stratified without fpc (with replacement at the first stage) ----------------------
add_case("nofpc_mean_api00_deff", "no fpc: with-replacement variance, deff", "strat_nofpc", "mean",
         "api00", deff = TRUE)
add_case("nofpc_total_enroll_by_stype", "no fpc, domain totals", "strat_nofpc", "total", "enroll",
         by = "stype")
add_case("nofpc_prop_awards", "no fpc, proportion logit", "strat_nofpc", "proportion", "awards")
add_case("nofpc_ratio_api_deff", "no fpc, ratio, deff", "strat_nofpc", "ratio", "api00/api99", deff = TRUE)

# --- weights only (no strata, no clusters) ----------------------------------------------
add_case("wonly_mean_api00_deff", "weights only: each row its own PSU, one stratum", "wonly", "mean",
         "api00", deff = TRUE)
add_case("wonly_prop_stype", "weights only, proportion logit", "wonly", "proportion", "stype")
add_case("wonly_quantile_api00_median", "weights only, median", "wonly", "quantile", "api00", q = 0.5)
add_case("wonly_total_enroll_by_awards_wald", "weights only, domain totals, wald", "wonly", "total",
         "enroll", by = "awards", ci = "wald")

# --- one-stage cluster sample with fpc (apiclus1) ---------------------------------------
add_case("clus1_mean_api00_deff", "one-stage cluster, fpc, deff", "clus1", "mean", "api00", deff = TRUE)
add_case("clus1_mean_api00_by_stype", "cluster sample: domains cut across PSUs; domain df", "clus1",
         "mean", "api00", by = "stype")
add_case("clus1_total_enroll_wald_deff", "cluster total, wald, deff", "clus1", "total", "enroll",
         ci = "wald", deff = TRUE)
add_case("clus1_total_enroll_by_stype", "cluster domain totals", "clus1", "total", "enroll", by = "stype")
add_case("clus1_ratio_api_by_stype", "cluster domain ratios", "clus1", "ratio", "api00/api99", by = "stype")
add_case("clus1_prop_awards_by_stype", "cluster proportions by domain, logit", "clus1", "proportion",
         "awards", by = "stype")
add_case("clus1_prop_mealcat_xlogit", "cluster, xlogit", "clus1", "proportion", "mealcat", ci = "xlogit")
add_case("clus1_prop_hiapi_beta", "cluster, beta CI (design effect shrinks n)", "clus1", "proportion",
         "hiapi", ci = "beta")
add_case("clus1_prop_stype_asin_deff", "cluster, asin CI, deff", "clus1", "proportion", "stype",
         ci = "asin", deff = TRUE)
add_case("clus1_prop_awards_t", "cluster, proportion with t CI", "clus1", "proportion", "awards", ci = "t")
add_case("clus1_quantile_api00_median", "cluster, median", "clus1", "quantile", "api00", q = 0.5)
add_case("clus1_quantile_api00_q75_by_awards", "cluster, quartile by domain", "clus1", "quantile",
         "api00", by = "awards", q = 0.75)
add_case("clus1_mean_api00_where_mealcat_deff", "cluster, where with `in` on integer codes, deff",
         "clus1", "mean", "api00", where = "mealcat in [1, 2]", where_r = "mealcat %in% c(1, 2)",
         deff = TRUE)

# --- two-stage cluster sample with fpc at both stages (apiclus2) ------------------------
add_case("clus2_mean_api00_deff", "two stages, fpc at both, deff", "clus2", "mean", "api00", deff = TRUE)
add_case("clus2_mean_enroll_deff", "two stages; enroll has 6 genuine NAs (domain, not dropna)",
         "clus2", "mean", "enroll", deff = TRUE)
add_case("clus2_total_enroll_wald", "two stages, total with NAs, wald", "clus2", "total", "enroll",
         ci = "wald")
add_case("clus2_mean_api00_by_stype", "two stages, domain means", "clus2", "mean", "api00", by = "stype")
add_case("clus2_ratio_api_deff", "two stages, ratio, deff", "clus2", "ratio", "api00/api99", deff = TRUE)
add_case("clus2_ratio_enroll_api99_by_awards", "two stages, ratio whose numerator has NAs, by domain",
         "clus2", "ratio", "enroll/api99", by = "awards")
add_case("clus2_prop_awards_by_stype", "two stages, proportions by domain, logit", "clus2",
         "proportion", "awards", by = "stype")
add_case("clus2_prop_hiapi_beta", "two stages, beta CI", "clus2", "proportion", "hiapi", ci = "beta")
add_case("clus2_prop_mealcat_wald_by_awards", "two stages, wald proportions by domain", "clus2",
         "proportion", "mealcat", by = "awards", ci = "wald")
add_case("clus2_quantile_api00_median", "two stages, median", "clus2", "quantile", "api00", q = 0.5)
add_case("clus2_total_api00_where_H_or_M", "two stages, where subpopulation, total", "clus2", "total",
         "api00", where = "stype != 'E'", where_r = 'stype != "E"')

# --- missing values as a domain (apistrat with NAs injected) -------------------------------
add_case("na_mean_api00_deff", "NA in the analysis variable: outside the domain, df excludes them",
         "strat_na", "mean", "api00", deff = TRUE)
add_case("na_mean_api00_by_stype_deff", "NA + by domains, deff", "strat_na", "mean", "api00",
         by = "stype", deff = TRUE)
add_case("na_total_api00_wald", "NA: total over the non-missing rows, wald", "strat_na", "total",
         "api00", ci = "wald")
add_case("na_ratio_api", "NA in the numerator only", "strat_na", "ratio", "api00/api99")
add_case("na_ratio_api99_api00_by_awards", "NA in the denominator, by a variable with NAs elsewhere",
         "strat_na", "ratio", "api99/api00", by = "stype")
add_case("na_prop_hiapi_by_stype", "NA in a 0/1 variable, proportions by domain, logit", "strat_na",
         "proportion", "hiapi", by = "stype")
add_case("na_prop_mealcat_xlogit", "NA in an integer-coded categorical, xlogit", "strat_na",
         "proportion", "mealcat", ci = "xlogit")
add_case("na_prop_awards_beta", "NA in a string categorical, beta", "strat_na", "proportion",
         "awards", ci = "beta")
add_case("na_prop_mealcat_by_stype_t_deff", "NA categorical, t CI by domain, deff", "strat_na",
         "proportion", "mealcat", by = "stype", ci = "t", deff = TRUE)
add_case("na_quantile_api00_median_by_yr_rnd", "quantile with NAs by domain", "strat_na", "quantile",
         "api00", by = "yr_rnd", q = 0.5)
add_case("na_mean_api00_where_E", "NA plus where", "strat_na", "mean", "api00",
         where = "stype == 'E'", where_r = 'stype == "E"')
add_case("na_prop_awards_asin_where", "NA plus where on another variable with NAs", "strat_na",
         "proportion", "awards", ci = "asin", where = "mealcat >= 2", where_r = "mealcat >= 2")

# --- zero weights (20 rows with pw = 0, kept in the design) -----------------------------------
add_case("zero_mean_api00_deff", "zero weights: rows stay as PSUs (n_h), but degf and deff's n skip them",
         "strat_zero", "mean", "api00", deff = TRUE)
add_case("zero_total_enroll_by_stype_deff", "zero weights, domain totals, deff", "strat_zero", "total",
         "enroll", by = "stype", deff = TRUE)
add_case("zero_prop_awards", "zero weights, proportion logit", "strat_zero", "proportion", "awards")
add_case("zero_prop_mealcat_beta", "zero weights, beta CI", "strat_zero", "proportion", "mealcat",
         ci = "beta")
add_case("zero_quantile_api00_median", "zero weights, median", "strat_zero", "quantile", "api00", q = 0.5)
add_case("zero_ratio_api_by_stype_wald", "zero weights, ratio by domain, wald", "strat_zero", "ratio",
         "api00/api99", by = "stype", ci = "wald")

# --- singleton strata: one-stage (stratum H has one PSU) and two-stage (one PSU has one SSU) ----
for (rule in c("adjust", "average", "remove", "certainty")) {
  add_case(paste0("lonely_", rule, "_mean_api00_deff"), paste0("one-stage singleton stratum, rule ", rule),
           paste0("lonely_", rule), "mean", "api00", deff = TRUE)
  add_case(paste0("lonely_", rule, "_total_enroll_by_awards"),
           paste0("singleton stratum, domain totals (domain singletons not adjusted), rule ", rule),
           paste0("lonely_", rule), "total", "enroll", by = "awards")
  add_case(paste0("lonely_", rule, "_prop_awards"), paste0("singleton stratum, proportion logit, rule ", rule),
           paste0("lonely_", rule), "proportion", "awards")
  if (rule == "average") next  # stage-2 "average" has no other stratum inside the PSU: R gives NA
  add_case(paste0("lonely2_", rule, "_mean_api00"), paste0("two-stage, singleton SSU at stage 2, rule ", rule),
           paste0("lonely2_", rule), "mean", "api00")
  add_case(paste0("lonely2_", rule, "_total_enroll_wald"),
           paste0("two-stage singleton, total with NAs, wald, rule ", rule),
           paste0("lonely2_", rule), "total", "enroll", ci = "wald")
}

# --- replicate weights -------------------------------------------------------------------------
for (rd in c("rep_jk1", "rep_jk1_mse", "rep_jkn", "rep_brr", "rep_fay", "rep_boot", "rep_boot_mse")) {
  lab <- sub("^rep_", "", rd)
  add_case(paste0(rd, "_mean_api00_deff"), paste0("replicate weights (", lab, "): mean, t with degf = rank - 1, deff"),
           rd, "mean", "api00", deff = TRUE)
  add_case(paste0(rd, "_total_enroll_by_stype"), paste0("replicate weights (", lab, "): domain totals"),
           rd, "total", "enroll", by = "stype")
  add_case(paste0(rd, "_ratio_api_wald"), paste0("replicate weights (", lab, "): ratio, wald"),
           rd, "ratio", "api00/api99", ci = "wald")
  add_case(paste0(rd, "_prop_awards"), paste0("replicate weights (", lab, "): proportion, logit (replicate refits)"),
           rd, "proportion", "awards")
  if (!rd %in% c("rep_brr", "rep_fay")) {  # BRR/Fay pairs: a replicate proportion hits 0 or 1 in H
    add_case(paste0(rd, "_prop_awards_by_stype"), paste0("replicate weights (", lab, "): proportions by domain, logit"),
             rd, "proportion", "awards", by = "stype")
  }
  add_case(paste0(rd, "_quantile_api00_median"), paste0("replicate weights (", lab, "): median (Woodruff via replicates)"),
           rd, "quantile", "api00", q = 0.5)
}
add_case("rep_jkn_prop_mealcat_xlogit_where", "JKn, where subpopulation, xlogit", "rep_jkn", "proportion",
         "mealcat", ci = "xlogit", where = "stype != 'H'", where_r = 'stype != "H"')
add_case("rep_boot_mean_api00_by_awards_asin", "bootstrap, proportion asin", "rep_boot", "proportion",
         "hiapi", ci = "asin")
add_case("rep_brr_mean_api00_by_awards_deff", "BRR, domain means, deff", "rep_brr", "mean", "api00",
         by = "awards", deff = TRUE)

# --- logit CI where glm's early stop (IRLS epsilon 1e-8) matters most ---------------------------
# svyciprop's estimate and CI differ from the converged values by 1e-8 .. 4e-8 relative here:
# small domains and proportions near 0, Taylor and replicate designs.
add_case("strat_prop_mealcat_logit_small_domain", "logit, small domain (50 rows), a category at 10%",
         "strat", "proportion", "mealcat", where = "stype == 'H'", where_r = 'stype == "H"')
add_case("clus1_prop_hiapi_logit_near_zero", "logit, cluster design, proportion near 0 (4.7%)",
         "clus1", "proportion", "hiapi", where = "meals >= 50", where_r = "meals >= 50")
add_case("rep_jk1_prop_hiapi_logit_near_zero", "logit, JK1 replicate refits, proportion near 0",
         "rep_jk1", "proportion", "hiapi", where = "meals >= 50", where_r = "meals >= 50")
add_case("rep_boot_prop_mealcat_logit_small_domain", "logit, bootstrap refits, small domain",
         "rep_boot", "proportion", "mealcat", where = "stype == 'H'", where_r = 'stype == "H"')
add_case("clus1_prop_yr_rnd_logit_90", "logit at conf_level 0.90, proportion near 0 in the whole sample",
         "clus1", "proportion", "yr_rnd", conf_level = 0.90)
add_case("strat_prop_hiapi_logit_zero_one", "logit where a category is absent (0) and the other is 1: glm runs to |logit| ~ 25, as R's svyciprop",
         "strat", "proportion", "hiapi", where = "api99 >= 750", where_r = "api99 >= 750")
