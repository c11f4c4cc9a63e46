"""Planning the next wave: precision achieved, sample sizes, allocation, what-if.

``sid.plan.formulas`` holds the closed forms (agreeing with R to the integer),
``sid.plan.precision`` the precision a weighted wave achieved per group,
``sid.plan.gross`` response and eligibility rates and group populations,
``sid.plan.allocation`` the split of a fixed budget, ``sid.plan.whatif`` a
group not yet surveyed. See docs/plan.md.
"""

from __future__ import annotations

from sid.plan.formulas import (
    MoeSample,
    PowerSample,
    gross_n,
    half_width,
    n_for_difference,
    n_for_moe,
    z_value,
)

__all__ = ["MoeSample", "PowerSample", "gross_n", "half_width", "n_for_difference", "n_for_moe",
           "z_value"]
