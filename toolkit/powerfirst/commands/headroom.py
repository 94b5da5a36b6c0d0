"""``powerfirst headroom``: flexible-load grid headroom per balancing authority."""

from __future__ import annotations

import argparse
import sys

from powerfirst.commands import command, float_list, print_records, str_list, years_range


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
    p.add_argument("--rule", choices=["seasonal", "norris2025"], default="seasonal",
                   help="threshold rule: 'seasonal' (default) = summer peak of Jun-Aug applied Apr-Oct, winter peak "
                        "of Dec-Feb applied Nov-Mar, for every BA; 'norris2025' = the study's rule, the same with its "
                        "footnote-20 exceptions (AZPS and FPL winter peak of Nov-Mar, CISO summer peak of May-Sep "
                        "and winter peak of Nov-Mar)")
    p.add_argument("--format", choices=["table", "json", "csv"], default="table")


@command("headroom", "flexible-load grid headroom per balancing authority (Norris et al. 2025 method)",
         _cfg_headroom)
def cmd_headroom(args) -> int:
    import time

    import pandas as pd

    from powerfirst.cubes.grid import open_grid
    from powerfirst.models.headroom import flexible_headroom
    from powerfirst.scenarios.report import headroom_records

    t0 = time.perf_counter()
    grid = open_grid(args.source, args.bas, args.years, progress=True)
    hr = flexible_headroom(grid["demand"], args.limits, threshold=args.rule)
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
        print(f"Flexible-load headroom [MW] by curtailment limit, {y0}-{y1} (seasonal-peak thresholds, rule "
              f"'{args.rule}', Norris et al. 2025 method)")
        print(table.to_string(float_format=lambda v: f"{v:,.0f}" if abs(v) >= 100 else f"{v:.2f}"))
    print(f"{len(hr['ba'])} BAs x {len(args.limits)} limits in {time.perf_counter() - t0:.1f} s",
          file=sys.stderr)
    return 0
