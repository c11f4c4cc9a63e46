"""What-if for a group not yet in the survey (e.g. residents of Syrian or
Ukrainian origin): no wave has measured its p, deff or response rate, so they
are assumed, and the same closed forms give the net, gross and drawn sample."""

from __future__ import annotations

import math
from dataclasses import dataclass

from sid.plan.formulas import check_response_rate, check_unit, half_width, n_for_moe


@dataclass(frozen=True)
class WhatIf:
    """The sample a new group needs for ``moe``, under assumed p, deff and response rate.

    ``n_net``, ``n_gross = ceil(n_net / response_rate)``, ``n_draw =
    ceil(n_gross / eligibility_rate)``; ``half_width_planned`` is the half-width
    that ``n_planned`` interviews would give (NaN without ``n_planned``).
    """

    name: str
    p: float
    deff: float
    response_rate: float
    eligibility_rate: float
    population: float | None
    moe: float
    conf_level: float
    n0: float
    n_net: int
    n_gross: int
    n_draw: int
    n_planned: int | None
    half_width_planned: float


def what_if(name: str, *, p: float = 0.5, deff: float = 1.0, response_rate: float,
            moe: float = 0.03, population: float | None = None, eligibility_rate: float = 1.0,
            conf_level: float = 0.95, n_planned: int | None = None) -> WhatIf:
    """Net, gross and drawn n for a new group from assumed p, deff and response rate."""
    res = n_for_moe(p, moe, deff, population, response_rate, conf_level)
    el = check_unit(eligibility_rate, "eligibility_rate") if eligibility_rate != 1 else 1.0
    rr = check_response_rate(response_rate)
    assert res.n_gross is not None
    hw = (half_width(float(n_planned), res.p, res.deff, res.population, conf_level)
          if n_planned is not None else math.nan)
    return WhatIf(name=name, p=res.p, deff=res.deff, response_rate=rr, eligibility_rate=el,
                  population=res.population, moe=res.moe, conf_level=res.conf_level, n0=res.n0,
                  n_net=res.n_net, n_gross=res.n_gross,
                  n_draw=math.ceil(res.n_gross / el) if el < 1 else res.n_gross,
                  n_planned=n_planned, half_width_planned=hw)
