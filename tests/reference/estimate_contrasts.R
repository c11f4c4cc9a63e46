# Contrast list for estimate_golden.R (sourced by it; not run on its own).
# add_contrast(id, why, design, stat, var, by, reference, where, where_r)
# Each non-reference group minus the reference group, SE from svyby(covmat = TRUE) + svycontrast.

add_contrast("strat_mean_api00_stype_vs_E", "domain means vs a reference, stratified with fpc",
             "strat", "mean", "api00", "stype", "E")
add_contrast("strat_total_enroll_stype_vs_H", "domain totals vs a reference that is not first",
             "strat", "total", "enroll", "stype", "H")
add_contrast("strat_ratio_api_awards_vs_No", "domain ratios: linearised covariance of two ratios",
             "strat", "ratio", "api00/api99", "awards", "No")
add_contrast("strat_mean_api00_awards_vs_No_where_E", "contrast inside a where-subpopulation",
             "strat", "mean", "api00", "awards", "No", where = "stype == 'E'", where_r = 'stype == "E"')
add_contrast("clus1_mean_api00_stype_vs_E", "cluster sample: groups share PSUs (nonzero covariance)",
             "clus1", "mean", "api00", "stype", "E")
add_contrast("clus2_mean_api00_awards_vs_No", "two-stage design", "clus2", "mean", "api00", "awards", "No")
add_contrast("na_mean_api00_stype_vs_M", "NA in the analysis variable", "strat_na", "mean", "api00",
             "stype", "M")
add_contrast("zero_mean_hiapi_stype_vs_E", "zero weights; a 0/1 variable (difference of proportions)",
             "strat_zero", "mean", "hiapi", "stype", "E")
add_contrast("rep_jkn_mean_api00_awards_vs_No", "replicate weights (JKn): covariance from replicates",
             "rep_jkn", "mean", "api00", "awards", "No")
add_contrast("rep_boot_total_enroll_stype_vs_E", "replicate weights (bootstrap), totals",
             "rep_boot", "total", "enroll", "stype", "E")
