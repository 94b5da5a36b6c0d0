"""Benchmark: time to power, 10,000 sites x all paths (ALL_PATHS, 8) x 10,000 draws.

The sites are the embedded demo sites repeated with perturbed MW and attributes (distinct
labels, so distinct random streams).  Times the compiled Monte Carlo of ``time_to_power``
(quantiles, P(energised by month), MW by month, MW-months; no tornado), then the tornado on
1,000 sites, and the plain per-site Python/numpy loop (``first_power_reference``) on a subset
in the same run, extrapolated per site; checks that the two agree within Monte Carlo error.
Target: under 10 s and 4 GB for the main run on 2 cores.
"""

from __future__ import annotations

import os
import sys
import time

import numpy as np
import pandas as pd

import powerfirst as pf
from _common import best_of, peak_rss_mb, report
from powerfirst.io.sites import sites_to_frame
from powerfirst.models.time_to_power import (
    ALL_PATHS,
    PATHS,
    first_power_reference,
    prepare,
    time_to_power,
)

N_SITES = int(os.environ.get("TTP_SITES", 10_000))
N_DRAWS = int(os.environ.get("TTP_DRAWS", 10_000))
N_REFERENCE = 20


def synthetic_sites(n: int, seed: int = 7) -> pd.DataFrame:
    """``n`` sites: the demo sites repeated, MW and categorical attributes perturbed."""
    rng = np.random.default_rng(seed)
    demo = sites_to_frame(pf.demo_sites())
    df = demo.iloc[np.arange(n) % len(demo)].reset_index(drop=True)
    df["site_id"] = [f"S{i:05d}" for i in range(n)]
    f = rng.uniform(0.5, 1.5, n)
    for c in ("target_mw", "firm_headroom_mw", "gas_option_mw", "solar_option_mw", "storage_option_mw",
              "storage_option_mwh"):
        df[c] = df[c].astype(float) * f
    df["upgrade_class"] = rng.choice(["none", "minor", "substation", "transmission"], n, p=[.15, .25, .4, .2])
    df["permitting_status"] = rng.choice(["approved", "in_progress", "not_started"], n)
    df["land_status"] = rng.choice(["owned", "optioned", "identified", "none"], n)
    return df


def main():
    sites = synthetic_sites(N_SITES)
    kw = dict(paths=ALL_PATHS, draws=N_DRAWS, seed=1, tornado=False, start="2026-01-01")
    t0 = time.perf_counter()
    time_to_power(sites.iloc[:50], **{**kw, "draws": 200})  # compile / load the cached kernels
    t_warm = time.perf_counter() - t0
    t_run, ds = best_of(lambda: time_to_power(sites, **kw), repeat=2)
    rss_main = peak_rss_mb()

    t_tor, _ = best_of(lambda: time_to_power(sites.iloc[:1000], **{**kw, "tornado": True, "tornado_draws": 2000}),
                       repeat=1)

    prep = prepare(sites.iloc[:N_REFERENCE], PATHS)
    t_ref, ref = best_of(lambda: first_power_reference(prep, N_DRAWS, seed=1), repeat=1)
    fast = ds["first_power"].sel(path=list(PATHS)).isel(site=slice(0, N_REFERENCE)).values
    p50_diff = np.nanmax(np.abs(fast[..., 1] / ref[..., 1] - 1))
    per_site_ref = t_ref / N_REFERENCE
    samples = N_SITES * len(ALL_PATHS) * N_DRAWS
    report("time_to_power", {
        "sites": N_SITES, "paths": len(ALL_PATHS), "draws": N_DRAWS,
        "path_samples": samples,
        "compile_or_cache_load_s": round(t_warm, 2),
        "fast_s": round(t_run, 3),
        "throughput_path_samples_per_s": float(f"{samples / t_run:.3e}"),
        "tornado_1000_sites_2000_draws_s": round(t_tor, 2),
        "reference_loop_sites": N_REFERENCE,
        "reference_loop_s": round(t_ref, 3),
        "reference_loop_extrapolated_s": round(per_site_ref * N_SITES, 1),
        "speedup_vs_reference_loop": round(per_site_ref * N_SITES / t_run, 1),
        "max_relative_p50_difference_vs_reference": float(f"{p50_diff:.2e}"),
        "peak_rss_mb_after_main_run": round(rss_main, 1),
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "target_met": bool(t_run < 10 and rss_main < 4096),
        "best_path_counts": {k: int(v) for k, v in pd.Series(ds["best_path"].values).value_counts().items()},
        "load_average_1min": round(os.getloadavg()[0], 2),
    })
    return 0


if __name__ == "__main__":
    sys.exit(main())
