# Golden numbers for sid.plan.formulas and sid.plan.rmath (tests/test_plan.py).
# Run from the repository root:  Rscript tests/reference/plan_golden.R
# Writes plan_moe.csv, plan_power.csv, plan_rmath.csv and plan_versions.txt beside this script.
# Doubles are written with 17 significant digits, so they read back exactly.
#
# Margin of error:  z = qnorm(1 - alpha/2), alpha = 1 - conf_level
#   n0 = deff * z^2 * p * (1 - p) / e^2;  n = n0 / (1 + (n0 - 1) / N) when N is given
#   n_net = ceiling(n);  n_gross = ceiling(n_net / rr)
# Difference from a reference group (n per group):
#   n_ppt = power.prop.test(p1 = p, p2 = p2, power = power, sig.level = alpha)$n
#   n_net = ceiling(deff * n_ppt)
#   n_closed: the same (strict = FALSE) equation in closed form, for comparison.
out_dir <- "tests/reference"
g17 <- function(x) ifelse(is.na(x), "", sprintf("%.17g", x))

moe_row <- function(p, e, deff, N, rr, conf) {
  alpha <- 1 - conf
  z <- qnorm(1 - alpha / 2)
  n0 <- deff * z^2 * p * (1 - p) / e^2
  n <- if (is.na(N)) n0 else n0 / (1 + (n0 - 1) / N)
  n_net <- ceiling(n)
  n_gross <- if (is.na(rr)) NA else ceiling(n_net / rr)
  data.frame(p = g17(p), moe = g17(e), deff = g17(deff), population = g17(N),
             response_rate = g17(rr), conf_level = g17(conf), z = g17(z), n0 = g17(n0),
             n = g17(n), n_net = n_net, n_gross = ifelse(is.na(n_gross), "", n_gross))
}

grid <- expand.grid(p = c(0.01, 0.1, 0.2, 0.3, 0.5, 0.65, 0.99),
                    e = c(0.01, 0.02, 0.03, 0.05, 0.1),
                    deff = c(1, 1.5, 2, 2.7),
                    N = c(NA, 500, 5000, 1e6),
                    rr = c(NA, 0.45),
                    conf = c(0.9, 0.95, 0.99))
set.seed(20260101)
k <- 2000  # values as a user types them: 2 to 3 decimals
rnd <- data.frame(p = round(runif(k, 0.005, 0.995), 3), e = round(runif(k, 0.005, 0.2), 3),
                  deff = round(runif(k, 0.5, 4), 2),
                  N = ifelse(runif(k) < 0.5, NA, round(exp(runif(k, log(200), log(2e6))))),
                  rr = ifelse(runif(k) < 0.2, NA, round(runif(k, 0.05, 1), 2)),
                  conf = sample(c(0.8, 0.9, 0.95, 0.975, 0.99, 0.999), k, replace = TRUE))
rnd$e[rnd$e <= 0] <- 0.005
edge <- data.frame(p = c(0.001, 0.999, 0.5, 0.5, 0.5, 0.3, 0.5, 0.5),
                   e = c(0.499, 0.001, 0.03, 0.03, 0.2, 0.03, 0.03, 0.03),
                   deff = c(1, 1, 1, 1, 0.01, 25, 1, 1),
                   N = c(1, 2, 1, 1e9, NA, 100, NA, NA),
                   rr = c(1, 0.01, 0.999, NA, 0.5, 1, NA, NA),
                   conf = c(0.95, 0.95, 0.95, 0.95, 0.5, 0.99, 0.9999, 0.6))
cases <- rbind(grid, rnd, edge)
moe <- do.call(rbind, Map(moe_row, cases$p, cases$e, cases$deff, cases$N, cases$rr, cases$conf))
write.csv(moe, file.path(out_dir, "plan_moe.csv"), row.names = FALSE, quote = FALSE)

power_row <- function(p, p2, power, alpha, deff) {
  n_ppt <- power.prop.test(p1 = p, p2 = p2, power = power, sig.level = alpha)$n
  za <- qnorm(alpha / 2, lower.tail = FALSE)
  zb <- qnorm(power)
  n_closed <- ((za * sqrt((p + p2) * (1 - (p + p2) / 2)) +
                zb * sqrt(p * (1 - p) + p2 * (1 - p2))) / abs(p - p2))^2
  data.frame(p = g17(p), p2 = g17(p2), power = g17(power), alpha = g17(alpha), deff = g17(deff),
             n_ppt = g17(n_ppt), n_closed = g17(n_closed), n_net = ceiling(deff * n_ppt),
             n_net_closed = ceiling(deff * n_closed))
}
pg <- expand.grid(p = c(0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8),
                  delta = c(-0.05, 0.02, 0.03, 0.05, 0.1, 0.2),
                  power = c(0.7, 0.8, 0.9), alpha = c(0.01, 0.05, 0.1), deff = c(1, 1.3, 2))
pg$p2 <- round(pg$p + pg$delta, 10)
pg <- pg[pg$p2 > 0 & pg$p2 < 1, ]
k <- 2000
prnd <- data.frame(p = round(runif(k, 0.02, 0.98), 3), delta = round(runif(k, 0.01, 0.25), 3) *
                     sample(c(-1, 1), k, replace = TRUE),
                   power = sample(c(0.5, 0.75, 0.8, 0.85, 0.9, 0.95, 0.99), k, replace = TRUE),
                   alpha = sample(c(0.001, 0.01, 0.05, 0.1, 0.2), k, replace = TRUE),
                   deff = round(runif(k, 0.5, 4), 2))
prnd$p2 <- round(prnd$p + prnd$delta, 10)
prnd <- prnd[prnd$p2 > 0 & prnd$p2 < 1 & prnd$p2 != prnd$p, ]
pedge <- data.frame(p = c(0.1, 0.3, 0.05, 0.5, 0.5, 0.2, 0.01, 0.01, 0.001, 0.05, 0.001),
                    p2 = c(0.9, 0.7, 0.95, 0.5001, 0.50001, 0.8, 0.99, 0.99, 0.999, 0.95, 0.999),
                    power = c(0.8, 0.8, 0.99, 0.8, 0.9, 0.5, 0.8, 0.5, 0.5, 0.5, 0.1),
                    alpha = 0.05, deff = c(1, 1.5, 2, 1, 1, 1, 1, 3, 1, 1, 1))
pedge$delta <- pedge$p2 - pedge$p
pc <- rbind(pg, prnd, pedge[, names(pg)])
pw <- do.call(rbind, Map(power_row, pc$p, pc$p2, pc$power, pc$alpha, pc$deff))
write.csv(pw, file.path(out_dir, "plan_power.csv"), row.names = FALSE, quote = FALSE)

# the building blocks, for bit-for-bit checks of sid.plan.rmath
ps <- c(1e-300, 1e-20, 1e-12, 1e-8, 1e-4, 0.001, 0.005, 0.01, 0.025, 0.05, 0.075, 0.0751,
        0.1, 0.2, 0.3, 0.5, 0.7, 0.8, 0.9, 0.925, 0.95, 0.975, 0.99, 0.995, 0.999, 1 - 1e-10)
xs <- c(-40, -38, -37.5, -10, -8.3, -5.7, -5.5, -3, -1.96, -1, -0.6744, -0.5, -1e-17, 0,
        0.3, 0.6745, 0.84, 1, 1.645, 2.5, 5.6, 5.7, 8.2, 8.3, 20, 40)
rm <- rbind(data.frame(fun = "qnorm_lower", x = g17(ps), value = g17(qnorm(ps))),
            data.frame(fun = "qnorm_upper", x = g17(ps), value = g17(qnorm(ps, lower.tail = FALSE))),
            data.frame(fun = "pnorm_lower", x = g17(xs), value = g17(pnorm(xs))),
            data.frame(fun = "pnorm_upper", x = g17(xs), value = g17(pnorm(xs, lower.tail = FALSE))))
write.csv(rm, file.path(out_dir, "plan_rmath.csv"), row.names = FALSE, quote = FALSE)

writeLines(c(R.version.string, sprintf("stats %s", packageVersion("stats")),
             sprintf("moe rows %d, power rows %d, power rows where the closed form rounds differently: %d",
                     nrow(moe), nrow(pw), sum(pw$n_net != pw$n_net_closed))),
           file.path(out_dir, "plan_versions.txt"))
