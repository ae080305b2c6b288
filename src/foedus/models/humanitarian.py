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
from foedus.models.sums import CredSums


def humanitarian(lv: Levers, x: Inputs, cs: CredSums) -> dict[str, np.ndarray]:
    need = x["humanitarian.humanitarian_needs_usd_per_year"] + (
        x["humanitarian.reconstruction_needs_usd"] / x["humanitarian.reconstruction_period_years"]
    )
    V = lv.memo("humanitarian", lambda: np.stack([lv.humanitarian_usd + lv.reconstruction_usd, lv.ad_personnel, lv.ad_aircraft], axis=1))
    S = cs.sums(V, key="humanitarian")
    air = (S[1] + S[2] * x["forces.air_personnel_per_aircraft"]) / x["humanitarian.air_defence_full_cover_personnel"]
    return {
        "humanitarian_coverage": np.minimum(1.0, S[0] / need),
        "air_defence_coverage": np.minimum(1.0, air),
    }
