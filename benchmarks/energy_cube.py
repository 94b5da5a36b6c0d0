"""Benchmark: the demo energy cube (all demo sites x 8,760 h) built and computed.

Baseline, timed in the same run: the same cube computed one site at a time
(``chunk_sites=1``, synchronous scheduler) on a subset of sites, scaled to the
full set — what a per-site loop over pvlib/windpowerlib would cost.
"""

from __future__ import annotations

import time

import powerfirst as pf
from _common import peak_rss_mb, report
from powerfirst.cubes.energy import build_energy_cube
from powerfirst.io.weather import default_stations

SUBSET = 16


def main():
    sites = pf.demo_sites()
    wx = default_stations()
    t0 = time.perf_counter()
    cube = build_energy_cube(sites, wx, chunk_sites=32)
    t_graph = time.perf_counter() - t0
    cube = cube.compute()
    t_total = time.perf_counter() - t0
    rss_after_cube = peak_rss_mb()
    cube.pf.validate(values=True)

    sub = sites.isel(site=slice(0, SUBSET))
    t1 = time.perf_counter()
    build_energy_cube(sub, wx, chunk_sites=1).compute(scheduler="synchronous")
    t_sub = time.perf_counter() - t1
    per_site = t_sub / SUBSET
    n = sites.sizes["site"]
    report("energy_cube", {
        "sites": n, "hours": int(cube.sizes["time"]),
        "graph_build_s": round(t_graph, 2),
        "build_and_compute_s": round(t_total, 2),
        "site_hours_per_s": int(n * cube.sizes["time"] / t_total),
        "baseline_per_site_loop_s_per_site": round(per_site, 3),
        "baseline_scaled_to_all_sites_s": round(per_site * n, 1),
        "speedup_vs_per_site_loop": round(per_site * n / t_total, 1),
        "peak_rss_mb_after_cube": round(rss_after_cube, 1),
        "peak_rss_mb": round(peak_rss_mb(), 1),
    })


if __name__ == "__main__":
    main()
