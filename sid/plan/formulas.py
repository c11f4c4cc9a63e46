"""Closed forms for planning a wave: net n for a margin of error, n to detect a
difference, gross n from the response rate, and the inverse (half-width for n).

Every integer is R's ``ceiling()`` of the same double R computes: the
operations run in R's order (``deff * z^2 * p * (1 - p) / e^2``; R's ``x^2`` is
``x * x``) and the quantiles, distribution function and root finder are
:mod:`sid.plan.rmath`, R's own algorithms. There is deliberately no tolerance
in the ceiling: a guard such as ``ceil(x - 1e-9)`` would turn R's 385 into 384
whenever R's double lies just above an integer, and the point of these numbers
is to agree with R (``tests/reference/plan_golden.R``) to the integer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from sid.errors import PlanError
from sid.plan.rmath import pnorm, qnorm, uniroot_up

PPT_INTERVAL = (1.0, 1e7)  # power.prop.test's uniroot interval in R 4.2


# --------------------------------------------------------------------------- checks


def _num(value: float, name: str) -> float:
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise PlanError(f"{name} must be a number", where=name, got=repr(value),
                        fix="give a number") from None
    if math.isnan(out):
        raise PlanError(f"{name} must be a number", where=name, got="NaN", fix="give a number")
    return out


def check_p(p: float, name: str = "p") -> float:
    """A proportion strictly between 0 and 1."""
    p = _num(p, name)
    if not 0 < p < 1:
        raise PlanError("a proportion must lie strictly between 0 and 1", where=name,
                        got=f"{p:g}", fix="e.g. 0.5 (the worst case) or the share measured last wave")
    return p


def check_moe(moe: float, name: str = "moe") -> float:
    """A margin of error (CI half-width, as a proportion) in (0, 0.5)."""
    moe = _num(moe, name)
    if not 0 < moe < 0.5:
        raise PlanError("the margin of error must be above 0 and below 0.5 (a proportion, "
                        "not percentage points)", where=name, got=f"{moe:g}",
                        fix="e.g. 0.03 for +/-3 points")
    return moe


def check_unit(value: float, name: str) -> float:
    """Power, alpha or a confidence level strictly between 0 and 1."""
    value = _num(value, name)
    if not 0 < value < 1:
        raise PlanError(f"{name} must lie strictly between 0 and 1", where=name,
                        got=f"{value:g}", fix="e.g. power 0.8, alpha 0.05, conf-level 0.95")
    return value


def check_deff(deff: float, name: str = "deff") -> float:
    """A design effect above 0."""
    deff = _num(deff, name)
    if not deff > 0 or math.isinf(deff):
        raise PlanError("the design effect must be above 0", where=name, got=f"{deff:g}",
                        fix="e.g. 1 (simple random sampling) or the deff measured last wave")
    return deff


def check_response_rate(rr: float, name: str = "response_rate") -> float:
    """A response rate in (0, 1]."""
    rr = _num(rr, name)
    if not 0 < rr <= 1:
        raise PlanError("the response rate must be above 0 and at most 1", where=name,
                        got=f"{rr:g}", fix="e.g. 0.45 for 45%")
    return rr


def check_population(population: float | None, name: str = "population") -> float | None:
    """A group population of at least 1 person, or None (no finite-population correction)."""
    if population is None:
        return None
    population = _num(population, name)
    if not population >= 1 or math.isinf(population):
        raise PlanError("the population must be at least 1", where=name, got=f"{population:g}",
                        fix="give the group's population size from the margins, or leave it out")
    return population


# --------------------------------------------------------------------------- margin of error


def z_value(conf_level: float = 0.95) -> float:
    """``qnorm(1 - alpha/2)`` with ``alpha = 1 - conf_level`` (R's double)."""
    alpha = 1 - check_unit(conf_level, "conf_level")
    return qnorm(1 - alpha / 2)


@dataclass(frozen=True)
class MoeSample:
    """Net (and gross) sample for a CI half-width ``moe`` around ``p``.

    ``n0 = deff * z^2 * p (1 - p) / moe^2``; ``n = n0 / (1 + (n0 - 1)/N)`` when
    the population N is given (else ``n = n0``); ``n_net = ceil(n)``;
    ``n_gross = ceil(n_net / response_rate)`` when a response rate is given.
    """

    p: float
    moe: float
    deff: float
    conf_level: float
    z: float
    population: float | None
    response_rate: float | None
    n0: float
    n: float
    n_net: int
    n_gross: int | None


def n_for_moe(p: float, moe: float, deff: float = 1.0, population: float | None = None,
              response_rate: float | None = None, conf_level: float = 0.95) -> MoeSample:
    """Net sample so that the CI half-width of a proportion ``p`` is ``moe``."""
    p = check_p(p)
    moe = check_moe(moe)
    deff = check_deff(deff)
    population = check_population(population)
    rr = None if response_rate is None else check_response_rate(response_rate)
    z = z_value(conf_level)
    n0 = deff * (z * z) * p * (1 - p) / (moe * moe)
    n = n0 if population is None else n0 / (1 + (n0 - 1) / population)
    n_net = math.ceil(n)
    return MoeSample(p=p, moe=moe, deff=deff, conf_level=float(conf_level), z=z,
                     population=population, response_rate=rr, n0=n0, n=n, n_net=n_net,
                     n_gross=None if rr is None else gross_n(n_net, rr))


def gross_n(n_net: int, response_rate: float) -> int:
    """Addresses to draw for ``n_net`` interviews: ``ceil(n_net / response_rate)``."""
    return math.ceil(n_net / check_response_rate(response_rate))


def half_width(n: float, p: float, deff: float = 1.0, population: float | None = None,
               conf_level: float = 0.95) -> float:
    """The CI half-width ``n`` interviews give: the inverse of :func:`n_for_moe`.

    ``z * sqrt(deff p (1-p) / n0)`` with ``n0 = n (N - 1) / (N - n)`` under the
    finite-population correction (0 when n reaches N), ``n0 = n`` without it.
    """
    z = z_value(conf_level)
    if n <= 0:
        return math.inf
    if population is None:
        n0 = n
    elif n >= population:
        return 0.0
    else:
        n0 = n * (population - 1) / (population - n)
    return z * math.sqrt(deff * p * (1 - p) / n0)


# --------------------------------------------------------------------------- power


@dataclass(frozen=True)
class PowerSample:
    """Net sample per group to detect ``p1`` versus ``p2`` (two-sided test, equal groups).

    ``n_ppt`` is R's ``power.prop.test(p1=, p2=, power=, sig.level=)$n`` (the
    normal approximation, solved by uniroot exactly as R does); ``n_closed`` the
    same equation solved in closed form; ``n_net = ceil(deff * n_ppt)``.
    """

    p1: float
    p2: float
    power: float
    alpha: float
    deff: float
    n_ppt: float
    n_closed: float
    n_net: int


def _ppt_power(n: float, p1: float, p2: float, alpha: float) -> float:
    """power.prop.test's power (strict = FALSE, two-sided), R's expression and order."""
    if n < 0:
        return math.nan  # R: sqrt(negative) is NaN
    return pnorm((math.sqrt(n) * abs(p1 - p2)
                  - (qnorm(alpha / 2, lower_tail=False) * math.sqrt((p1 + p2) * (1 - (p1 + p2) / 2))))
                 / math.sqrt(p1 * (1 - p1) + p2 * (1 - p2)))


def power_prop_n(p1: float, p2: float, power: float = 0.8, alpha: float = 0.05) -> float:
    """R's ``power.prop.test(p1 = p1, p2 = p2, power = power, sig.level = alpha)$n``."""
    try:
        return uniroot_up(lambda n: _ppt_power(n, p1, p2, alpha) - power, *PPT_INTERVAL)
    except ValueError:
        raise PlanError("p and p2 are so far apart that less than one interview per group "
                        "would do; R's power.prop.test cannot solve it either", where="p2",
                        got=f"p = {p1:g}, p2 = {p2:g}", fix="plan for a smaller difference") from None


def power_closed_n(p1: float, p2: float, power: float = 0.8, alpha: float = 0.05) -> float:
    """The closed form of power.prop.test's equation (no opposite tail):
    ``((z_a sqrt((p1+p2)(1-(p1+p2)/2)) + z_b sqrt(p1 q1 + p2 q2)) / |p1 - p2|)^2``."""
    za = qnorm(alpha / 2, lower_tail=False)
    zb = qnorm(power)
    root = (za * math.sqrt((p1 + p2) * (1 - (p1 + p2) / 2))
            + zb * math.sqrt(p1 * (1 - p1) + p2 * (1 - p2))) / abs(p1 - p2)
    return root * root


def n_for_difference(p1: float, p2: float, power: float = 0.8, alpha: float = 0.05,
                     deff: float = 1.0) -> PowerSample:
    """Net sample per group to detect ``p1`` versus ``p2`` with ``power`` at two-sided ``alpha``."""
    p1 = check_p(p1, "p")
    p2 = check_p(p2, "p2")
    if p1 == p2:
        raise PlanError("p and p2 are equal: there is no difference to detect", where="p2",
                        got=f"p = p2 = {p1:g}", fix="give the proportion expected in the other group")
    power = check_unit(power, "power")
    alpha = check_unit(alpha, "alpha")
    deff = check_deff(deff)
    n_ppt = power_prop_n(p1, p2, power, alpha)
    return PowerSample(p1=p1, p2=p2, power=power, alpha=alpha, deff=deff, n_ppt=n_ppt,
                       n_closed=power_closed_n(p1, p2, power, alpha),
                       n_net=math.ceil(deff * n_ppt))
