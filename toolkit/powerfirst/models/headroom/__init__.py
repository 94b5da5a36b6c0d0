r"""Curtailment-enabled grid headroom for flexible loads.

How much new load can a balancing authority take *today* if that load accepts
brief, rare curtailment?  Norris et al. (2025) answer with hourly EIA-930
demand: a new load of :math:`L` MW is added to every hour; whenever load plus
:math:`L` exceeds the hour's seasonal threshold (the highest summer or winter
peak of the whole period), the excess is curtailed.  The headroom at a limit
(0.25 %, 0.5 %, 1 %, 5 %) is the largest :math:`L` whose mean annual
curtailment rate stays within the limit.

Method
------
With the hourly room under the threshold :math:`h_t = T_t - D_t` and
:math:`h_t^+ = \max(h_t, 0)`, a new load :math:`L s_t` (peak :math:`L`,
shape :math:`0 \le s_t \le 1`; flat: :math:`s_t = 1`) is curtailed by

.. math:: c_t(L) = \min\bigl(L s_t,\ \max(0, D_t + L s_t - T_t)\bigr) = \max(0,\ L s_t - h_t^+).

The curtailment rate of year :math:`y` is
:math:`r_y(L) = \sum_{t \in y} c_t(L) / \sum_{t \in y} L s_t`, and the rate
used is the mean over the years, :math:`R(L) = \frac{1}{Y} \sum_y r_y(L)`.

Writing :math:`c_t = s_t \max(0, L - b_t)` with breakpoints
:math:`b_t = h_t^+ / s_t`, :math:`R(L) = F(L)/L` where
:math:`F(L) = \sum_t w_t \max(0, L - b_t)` and
:math:`w_t = s_t / (Y \sum_{u \in y(t)} s_u)`.  :math:`F` is convex and
piecewise linear with :math:`F(0) = 0`, so :math:`R` is non-decreasing and
the headroom at limit :math:`\rho` is the unique :math:`L^*` with
:math:`R(L^*) = \rho`.  With the breakpoints sorted, cumulative sums
:math:`W_k = \sum_{i \le k} w_{(i)}` and :math:`S_k = \sum_{i \le k} w_{(i)} b_{(i)}`
give :math:`R` at every breakpoint, a binary search finds the segment, and on
it :math:`L^* = S_k / (W_k - \rho)` — exact, :math:`O(n \log n)` per BA,
vectorised over BAs and lazy over Dask chunks of BAs
(:func:`flexible_headroom`).  :func:`headroom_reference` solves the same
problem plainly, with a root finder on :math:`R(L) - \rho`, for checking.

If the load already reaches the threshold in more than a share :math:`\rho`
of the (weighted) hours, every :math:`L > 0` exceeds the limit: the headroom
is 0 and the ``reason`` variable says why.

References
----------
Norris, T. H., Profeta, T., Patino-Echeverri, D. & Cowie-Haskell, A. (2025).
*Rethinking Load Growth: Assessing the Potential for Integration of Large
Flexible Loads in US Power Systems.* Nicholas Institute for Energy,
Environment & Sustainability, Duke University.
"""

from powerfirst.models.headroom.events import (
    curtailment_events,
    site_flex_requirements,
)
from powerfirst.models.headroom.future import (
    future_headroom,
)
from powerfirst.models.headroom.reference import (
    curtailment_rate,
    headroom_reference,
)
from powerfirst.models.headroom.solver import (
    flexible_headroom,
    headroom_reasons,
)
from powerfirst.models.headroom.thresholds import (
    DEFAULT_LIMITS,
    NORRIS2025_RULE,
    SUMMER_APPLIES,
    SUMMER_PEAK_MONTHS,
    THRESHOLD_RULES,
    WINTER_APPLIES,
    WINTER_PEAK_MONTHS,
    SeasonalRule,
    check_hourly_load,
    local_months,
    local_years,
    seasonal_thresholds,
)

__all__ = [
    "DEFAULT_LIMITS",
    "NORRIS2025_RULE",
    "SUMMER_APPLIES",
    "SUMMER_PEAK_MONTHS",
    "SeasonalRule",
    "THRESHOLD_RULES",
    "WINTER_APPLIES",
    "WINTER_PEAK_MONTHS",
    "check_hourly_load",
    "curtailment_events",
    "curtailment_rate",
    "flexible_headroom",
    "future_headroom",
    "headroom_reasons",
    "headroom_reference",
    "local_months",
    "local_years",
    "seasonal_thresholds",
    "site_flex_requirements",
]
