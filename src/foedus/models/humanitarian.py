"""Humanitarian: share of reconstruction and humanitarian financing needs a
package delivers, and the share of civilian air-defence needs it covers.

Equations (package p, future n)::

    need      = humanitarian_needs_per_year + reconstruction_needs / reconstruction_period
    coverage  = min(1, sum_e deliv_e * (humanitarian_e + reconstruction_e) / need)
    air_cover = min(1, sum_e cred_e * ad_personnel_in_ukraine_e / personnel_per_battery / batteries_needed)

Money is weighed by its peacetime delivery (it is budgeted, not fought
for); air-defence crews by their credibility (they must engage if the war
resumes). Only air-defence units on Ukrainian soil cover Ukrainian cities:
crews based in Poland defend Polish airspace. Needs: World Bank et al.
RDNA4 (Feb 2025, USD 524 bn over a decade); UN OCHA 2025 plan (USD 2.63
bn). Air defence in Patriot-battery equivalents: about 90 soldiers operate
and maintain one system (US DoD, Jan 2023); Ukraine asked for 25 systems
(President Zelensky, Oct 2025). Property: more funding never lowers coverage.
"""

from __future__ import annotations

import numpy as np

from foedus.models.inputs import Inputs
from foedus.models.levers import IN_UKRAINE_MASK, Levers
from foedus.models.sums import DELIVERY, Probabilities


def air_defence_in_ukraine(lv: Levers) -> np.ndarray:
    """``(E,)`` air-defence personnel on Ukrainian soil (ground-based crews)."""
    return lv.memo("ad_in_ukraine", lambda: lv.air_defence[:, IN_UKRAINE_MASK].sum(axis=1))


def humanitarian(lv: Levers, x: Inputs, pr: Probabilities) -> dict[str, np.ndarray]:
    need = x["humanitarian.humanitarian_needs_usd_per_year"] + (
        x["humanitarian.reconstruction_needs_usd"] / x["humanitarian.reconstruction_period_years"]
    )
    money = pr.sum(lv.memo("humanitarian_money", lambda: lv.humanitarian_usd + lv.reconstruction_usd), key="humanitarian_money", kind=DELIVERY)
    ad = pr.sum(air_defence_in_ukraine(lv), key="air_defence")
    batteries = ad / x["humanitarian.personnel_per_battery"] / x["humanitarian.batteries_needed"]
    return {
        "humanitarian_coverage": np.minimum(1.0, money / need),
        "air_defence_coverage": np.minimum(1.0, batteries),
    }
