"""Humanitarian: share of reconstruction and humanitarian financing needs a
package credibly covers, and the share of civilian air-defence needs.

Equations (package p, future n)::

    need      = humanitarian_needs_per_year + reconstruction_needs / reconstruction_period
    coverage  = min(1, sum_k cred_k * (humanitarian_k + reconstruction_k) / need)
    air_cover = min(1, sum_k cred_k * (ad_personnel_k + ad_aircraft_k * crew) / full_cover)

Needs: World Bank et al. RDNA4 (Feb 2025, 524 bn USD over a decade); UN
OCHA 2025 plan (2.63 bn USD). Property: more funding never lowers coverage.
"""

from __future__ import annotations

import numpy as np

from foedus.models.inputs import Inputs
from foedus.models.levers import Levers


def humanitarian(lv: Levers, x: Inputs, cred: np.ndarray) -> dict[str, np.ndarray]:
    need = x["humanitarian.humanitarian_needs_usd_per_year"] + (
        x["humanitarian.reconstruction_needs_usd"] / x["humanitarian.reconstruction_period_years"]
    )
    money = lv.sum_rows(cred * (lv.humanitarian_usd + lv.reconstruction_usd)[:, None])
    ad = lv.ad_personnel[:, None] + lv.ad_aircraft[:, None] * x["forces.air_personnel_per_aircraft"][None, :]
    air = lv.sum_rows(cred * ad) / x["humanitarian.air_defence_full_cover_personnel"][None, :]
    return {
        "humanitarian_coverage": np.minimum(1.0, money / need[None, :]),
        "air_defence_coverage": np.minimum(1.0, air),
    }
