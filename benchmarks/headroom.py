"""Benchmark: flexible-load headroom, 22 BAs x 9 years hourly x 4 limits.

Times the exact breakpoint solver of ``flexible_headroom`` (headroom only, and
with all the statistics) against the plain reference (Brent's root finder on
the curtailment rate), both in this run on the same data, and checks they agree.
"""

from __future__ import annotations

import numpy as np

from _common import best_of, peak_rss_mb, report, shared_data
from powerfirst.cubes.grid import read_cleaned_releases
from powerfirst.models.headroom import (
    flexible_headroom,
    headroom_reference,
    local_years,
    seasonal_thresholds,
)
from powerfirst.models.headroom._kernel import _solve_kernel
from powerfirst.models.headroom.solver import _year_codes

LIMITS = [0.25, 0.5, 1.0, 5.0]


def main():
    grid = read_cleaned_releases(shared_data() / "eia930", start="2016-01-01", end="2025-01-01")
    load = grid["demand"].load()
    thr = seasonal_thresholds(load)
    room = np.maximum((thr - load).values, 0.0)
    _keep, codes, _ = _year_codes(load.indexes["time"], None)
    shape = np.ones_like(room)
    fr = np.array(LIMITS) / 100

    t_solve, fast = best_of(lambda: _solve_kernel(room, shape, codes, fr), repeat=5)
    t_full, hr = best_of(lambda: flexible_headroom(load, LIMITS, thr), repeat=3)

    yrs = local_years(load.indexes["time"])

    def reference():
        out = np.empty((load.sizes["ba"], len(LIMITS)))
        for i in range(load.sizes["ba"]):
            x, th = load.values[i], thr.values[i]
            for j, lim in enumerate(LIMITS):
                out[i, j] = headroom_reference(x, th, yrs, lim)
        return out

    t_ref, ref = best_of(reference, repeat=1)
    rel = np.max(np.abs(fast / ref - 1))
    report("headroom", {
        "bas": int(load.sizes["ba"]), "hours": int(load.sizes["time"]), "limits": len(LIMITS),
        "fast_solve_s": round(t_solve, 4),
        "fast_with_statistics_s": round(t_full, 4),
        "reference_root_finder_s": round(t_ref, 3),
        "speedup_solve_vs_reference": round(t_ref / t_solve, 1),
        "speedup_with_statistics_vs_reference": round(t_ref / t_full, 1),
        "max_relative_difference": float(f"{rel:.2e}"),
        "total_headroom_gw": [round(float(v) / 1000, 1) for v in hr["headroom"].sum("ba").values],
        "peak_rss_mb": round(peak_rss_mb(), 1),
    })


if __name__ == "__main__":
    main()
