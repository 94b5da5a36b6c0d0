"""``powerfirst headroom``: flexible-load grid headroom per balancing authority."""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

from powerfirst.commands import command, float_list, print_records, str_list, years_range


def load_grid(sources, bas=None, years=None, progress: bool = True):
    """Grid cube from ``--source`` paths: folders holding the cleaned releases, or EIA-930 files."""
    from powerfirst.cubes.grid import read_eia930
    from powerfirst.io.eia930_releases import NORRIS_BAS, find_releases
    from powerfirst.cubes.grid import read_cleaned_releases

    start = f"{years[0]}-01-01" if years else None
    end = f"{years[1] + 1}-01-01" if years else None
    release_roots, files = [], []
    for s in map(Path, sources):
        if s.is_dir():
            try:
                find_releases(s)
                release_roots.append(s)
                continue
            except Exception:  # noqa: BLE001 - not a release folder: read its files
                pass
        files.append(s)
    if release_roots and files:
        raise ValueError("mix of release folders and single files in --source; give one kind")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if release_roots:
            if len(release_roots) > 1:
                raise ValueError("give one folder that holds both cleaned releases")
            if progress:
                print(f"reading the cleaned EIA-930 releases under {release_roots[0]} ...", file=sys.stderr)
            return read_cleaned_releases(release_roots[0], bas or NORRIS_BAS, start=start, end=end)
        return read_eia930(files, bas=bas, start=start, end=end)


def _cfg_headroom(p: argparse.ArgumentParser):
    p.add_argument("--source", nargs="+", required=True,
                   help="folder holding the Ruggles et al. cleaned releases (e.g. ../shared/data/eia930), or "
                        "EIA-930 files in any supported format")
    p.add_argument("--bas", type=str_list, default=None,
                   help="comma-separated BAs (default: the 22 BAs of Norris et al. 2025 for the releases, "
                        "else all in the files)")
    p.add_argument("--years", type=years_range, default=(2016, 2024), help="first-last year, default 2016-2024")
    p.add_argument("--limits", type=float_list, default=[0.25, 0.5, 1.0, 5.0],
                   help="curtailment limits in percent, default 0.25,0.5,1,5")
    p.add_argument("--format", choices=["table", "json", "csv"], default="table")


def headroom_records(hr) -> list[dict]:
    """One record per BA and limit, plus one per limit with ba = TOTAL (headroom summed; the other
    figures headroom-weighted means over the BAs)."""
    import numpy as np

    recs = []
    for lim in hr["limit"].values:
        sub = hr.sel(limit=lim)
        w = sub["headroom"].values
        for i, ba in enumerate(hr["ba"].values):
            recs.append({
                "ba": str(ba), "limit_pct": float(lim), "headroom_mw": round(float(w[i]), 1),
                "curtailed_hours_per_year": round(float(sub["curtailed_hours_per_year"].values[i]), 2),
                "mean_event_hours": _num(sub["mean_event_hours"].values[i]),
                "share_hours_half_served": _num(sub["share_hours_half_served"].values[i], 4),
            })
        tot = float(np.nansum(w))

        def wmean(v, w=w):
            v = np.asarray(v, float)
            ok = np.isfinite(v) & (w > 0)
            return _num(np.sum(v[ok] * w[ok]) / np.sum(w[ok])) if ok.any() else None

        recs.append({"ba": "TOTAL", "limit_pct": float(lim), "headroom_mw": round(tot, 1),
                     "curtailed_hours_per_year": wmean(sub["curtailed_hours_per_year"].values),
                     "mean_event_hours": wmean(sub["mean_event_hours"].values),
                     "share_hours_half_served": wmean(sub["share_hours_half_served"].values)})
    return recs


def _num(v, nd=2):
    import math

    v = float(v)
    return None if math.isnan(v) else round(v, nd)


@command("headroom", "flexible-load grid headroom per balancing authority (Norris et al. 2025 method)",
         _cfg_headroom)
def cmd_headroom(args) -> int:
    import time

    import pandas as pd

    from powerfirst.models.headroom import flexible_headroom

    t0 = time.perf_counter()
    grid = load_grid(args.source, args.bas, args.years)
    hr = flexible_headroom(grid["demand"], args.limits)
    recs = headroom_records(hr)
    if args.format in ("json", "csv"):
        print_records(recs, args.format)
    else:
        df = pd.DataFrame(recs)
        table = df.pivot(index="ba", columns="limit_pct", values="headroom_mw")
        order = [b for b in hr["ba"].values] + ["TOTAL"]
        table = table.loc[order]
        table.columns = [f"{c:g}%" for c in table.columns]
        extra = df[df.limit_pct == (0.5 if 0.5 in args.limits else args.limits[0])].set_index("ba").loc[order]
        lim = extra["limit_pct"].iloc[0]
        table[f"hours/yr @{lim:g}%"] = extra["curtailed_hours_per_year"]
        table[f"mean event h @{lim:g}%"] = extra["mean_event_hours"]
        table[f"≥50% served @{lim:g}%"] = extra["share_hours_half_served"]
        y0, y1 = hr.attrs["years"].split("-")
        print(f"Flexible-load headroom [MW] by curtailment limit, {y0}-{y1} (seasonal-peak thresholds, "
              "Norris et al. 2025 method)")
        print(table.to_string(float_format=lambda v: f"{v:,.0f}" if abs(v) >= 100 else f"{v:.2f}"))
    print(f"{len(hr['ba'])} BAs x {len(args.limits)} limits in {time.perf_counter() - t0:.1f} s",
          file=sys.stderr)
    return 0
