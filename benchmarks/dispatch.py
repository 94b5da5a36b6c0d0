"""Benchmark: rule-based site dispatch, 2,000 sites x 8,760 h x 8 scenarios (140 M site-hours).

Inputs: the demo energy cube (197 sites) tiled to 2,000 sites, each copy's weather shifted by
whole days and its capacities perturbed (distinct series, float32 in memory); curtailment of
each BA's non-firm connections from the shared EIA-930 load at the 0.5 % limit (stylised
events for BAs without data); the stylised price shape.  Eight scenarios: site defaults, no
storage, storage x2, firm connection only (the site sized to its firm headroom), carbon priority,
carbon price 100 USD/t, deferrable training load 0.3 with half the storage, storage for
resilience only (no arbitrage).

Times, in the same run: the compiled dispatch in memory with both cores and with one (numba
threads), the same through Dask (threaded scheduler, chunks of sites), the whole ``dispatch``
call including input preparation, the peak memory, the LP (linopy + HiGHS) per site-year and
the plain-Python reference loop on a subset, each as a ratio to the compiled kernel per
site-year.  Target: at least 150 M site-hours/s with both cores, under 4 GB.
"""

from __future__ import annotations

import os
import sys
import time

import numba
import numpy as np
import xarray as xr

from _common import best_of, peak_rss_mb, report, shared_data
from powerfirst.cubes.default import load_demo_cubes
from powerfirst.cubes.grid import read_cleaned_releases
from powerfirst.io.sites import sites_from_frame, sites_to_frame
from powerfirst.models.dispatch import dispatch_reference, prepare, run_prepared
from powerfirst.models.dispatch.inputs import curtailment_for
from powerfirst.models.dispatch.lp import solve_site_lp

N_SITES = int(os.environ.get("DISPATCH_SITES", 2000))
N_REFERENCE = int(os.environ.get("DISPATCH_REFERENCE", 4))
N_LP = int(os.environ.get("DISPATCH_LP", 3))
SCENARIOS = {
    "base": {},
    "no_storage": {"storage_mw": 0},
    "storage_x2": {"storage_scale": 2},
    "firm_only": {"nonfirm_mw": 0, "load_follows_connection": 1},
    "carbon_priority": {"priority": "carbon"},
    "carbon_price_100": {"carbon_price": 100},
    "flexible_training": {"flex_share": 0.3, "storage_scale": 0.5},
    "resilience_only": {"arbitrage": 0},
}


def synthetic_inputs(n: int, seed: int = 11):
    """``n`` sites and their float32 energy cube: the demo sites and cube tiled, shifted and perturbed."""
    rng = np.random.default_rng(seed)
    sites, energy = load_demo_cubes()
    energy = energy[["solar_cf", "wind_cf", "pue", "carbon_intensity"]].load()
    m = sites.sizes["site"]
    src = np.arange(n) % m
    df = sites_to_frame(sites).iloc[src].reset_index(drop=True)
    df["site_id"] = [f"S{i:05d}" for i in range(n)]
    f = rng.uniform(0.6, 1.4, n)
    for c in ("target_mw", "firm_headroom_mw", "gas_option_mw", "solar_option_mw", "wind_option_mw",
              "storage_option_mw", "storage_option_mwh"):
        df[c] = df[c].astype(float) * f
    big = sites_from_frame(df, file="benchmark sites")
    T = energy.sizes["time"]
    shift = rng.integers(0, 30, n) * 24
    data = {}
    for v in ("solar_cf", "wind_cf", "pue", "carbon_intensity"):
        base = np.asarray(energy[v].values, dtype=np.float32)
        out = np.empty((n, T), np.float32)
        for i in range(n):
            row = base[src[i]]
            out[i] = np.roll(row, shift[i]) if v == "wind_cf" else row
        data[v] = (("site", "time"), out, dict(energy[v].attrs))
    coords = {"site": big["site"].values, "time": energy["time"].values, "lat": ("site", big["lat"].values),
              "lon": ("site", big["lon"].values), "ba": ("site", big["ba"].values.astype(str))}
    return big, xr.Dataset(data, coords=coords, attrs={"pf_kind": "energy"})


def main():
    t_in = time.perf_counter()
    sites, energy = synthetic_inputs(N_SITES)
    load = read_cleaned_releases(shared_data() / "eia930", start="2016-01-01", end="2025-01-01")["demand"].load()
    time_index = energy.indexes["time"]
    curt = curtailment_for(energy["ba"].values, time_index, load, limit=0.5)
    t_inputs = time.perf_counter() - t_in

    t0 = time.perf_counter()
    small = prepare(energy.isel(site=slice(0, 16)), sites, SCENARIOS, curtailment=curt)
    run_prepared(small)
    run_prepared(small, chunks={"site": 8})
    t_warm = time.perf_counter() - t0

    t_prep, prep = best_of(lambda: prepare(energy, sites, SCENARIOS, curtailment=curt), repeat=1)
    site_hours = N_SITES * len(SCENARIOS) * len(time_index)
    threads = numba.config.NUMBA_NUM_THREADS
    numba.set_num_threads(threads)
    t_all, res = best_of(lambda: run_prepared(prep), repeat=3)
    numba.set_num_threads(1)
    t_one, _ = best_of(lambda: run_prepared(prep), repeat=2)
    numba.set_num_threads(threads)
    rss_main = peak_rss_mb()
    import dask

    with dask.config.set(scheduler="threads", num_workers=threads):
        t_dask, lazy = best_of(lambda: run_prepared(prep, chunks={"site": 125})["total_cost"].compute(), repeat=2)
    same = float(np.nanmax(np.abs(lazy.values / res["total_cost"].values - 1)))
    t_e2e, _ = best_of(lambda: run_prepared(prepare(energy, sites, SCENARIOS, curtailment=curt)), repeat=1)

    # the plain-Python loop and the LP, per site-year, against the kernel's
    per_site_year_kernel = t_all / (N_SITES * len(SCENARIOS))
    # cost-priority scenarios (base, storage x2, carbon price, flexible training): the LP minimises cost
    picks = [(i, s) for i, s in zip(range(0, N_SITES, max(1, N_SITES // N_REFERENCE)), [0, 2, 5, 6] * N_REFERENCE,
                                   strict=False)][:N_REFERENCE]
    t_ref, refs = best_of(lambda: [dispatch_reference(prep, i, s)[0] for i, s in picks], repeat=1)
    ref_diff = max(abs(r["total_cost"] / float(res["total_cost"].isel(site=i, scenario=s)) - 1)
                   for r, (i, s) in zip(refs, picks, strict=True))
    lp_times, lp_gaps = [], []
    for i, s in picks[:N_LP]:
        lp = solve_site_lp(prep, i, s)
        lp_times.append(lp.build_s + lp.solve_s)
        lp_gaps.append(float(res["total_cost"].isel(site=i, scenario=s)) / lp.total_cost - 1)
    per_ref = t_ref / len(picks)
    per_lp = float(np.mean(lp_times))
    report("dispatch", {
        "sites": N_SITES, "scenarios": len(SCENARIOS), "hours": len(time_index), "site_hours": site_hours,
        "numba_threads": threads,
        "inputs_s": round(t_inputs, 1), "compile_or_cache_load_s": round(t_warm, 2), "prepare_s": round(t_prep, 2),
        "kernel_both_cores_s": round(t_all, 3),
        "throughput_both_cores_site_hours_per_s": float(f"{site_hours / t_all:.3e}"),
        "kernel_one_core_s": round(t_one, 3),
        "throughput_one_core_site_hours_per_s": float(f"{site_hours / t_one:.3e}"),
        "dask_threaded_s": round(t_dask, 3),
        "throughput_dask_site_hours_per_s": float(f"{site_hours / t_dask:.3e}"),
        "dask_equals_in_memory_max_rel_diff": same,
        "dispatch_end_to_end_s": round(t_e2e, 2),
        "peak_rss_mb_after_kernel_runs": round(rss_main, 1),
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "kernel_per_site_year_ms": round(per_site_year_kernel * 1e3, 4),
        "python_loop_site_years": len(picks),
        "python_loop_per_site_year_s": round(per_ref, 3),
        "python_loop_over_kernel": round(per_ref / per_site_year_kernel, 0),
        "python_loop_max_rel_cost_diff": float(f"{ref_diff:.2e}"),
        "lp_site_years": len(lp_times),
        "lp_per_site_year_s": round(per_lp, 2),
        "lp_over_kernel": round(per_lp / per_site_year_kernel, 0),
        "lp_rule_cost_gaps_pct": [round(100 * g, 3) for g in lp_gaps],
        "target_met": bool(site_hours / t_all >= 150e6 and rss_main < 4096),
        "load_average_1min": round(os.getloadavg()[0], 2),
    })
    return 0


if __name__ == "__main__":
    sys.exit(main())
