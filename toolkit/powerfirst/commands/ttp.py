"""``powerfirst ttp``: time to power per site and energisation path (Monte Carlo)."""

from __future__ import annotations

import argparse
import sys

from powerfirst.commands import command, print_records, str_list


def _cfg_ttp(p: argparse.ArgumentParser):
    p.add_argument("--sites", required=True, help="site file (.csv, .geojson, .parquet) or 'demo'")
    p.add_argument("--paths", type=str_list, default=None,
                   help="comma-separated paths: grid_firm, grid_flexible, existing_service, colocation, "
                        "bridge_then_grid, mobile_bridge, onsite_bridge, onsite_generation, solar_storage and "
                        "combinations such as grid_flexible+grid_firm (default: all but mobile_bridge)")
    p.add_argument("--draws", type=int, default=10_000, help="Monte Carlo draws per site (default 10000)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--correlation", type=float, default=0.0,
                   help="correlation of equipment lead times (supply-chain shock), 0 to <1 (default 0)")
    p.add_argument("--bridge", default="recip_engines",
                   choices=["recip_engines", "aeroderivative_turbines", "frame_turbines", "fuel_cells"],
                   help="on-site bridge technology (default recip_engines)")
    p.add_argument("--start", default=None, help="default start_date of the sites, YYYY-MM-DD (default: this month)")
    p.add_argument("--horizon", type=float, default=60.0, help="horizon of MW-months and P(never) [month] (default 60)")
    p.add_argument("--by-date", default=None, help="count MW-months up to this date (YYYY-MM-DD) instead of --horizon")
    p.add_argument("--value", type=float, default=None, help="value of a MW for a month [USD MW-1 month-1]")
    p.add_argument("--discount-rate", type=float, default=0.0, help="annual discount rate of the value (default 0)")
    p.add_argument("--format", choices=["table", "json", "csv"], default="table")


@command("ttp", "time to power per site and path: energisation-date quantiles, MW, P(energised by 24/36/60 months)",
         _cfg_ttp)
def cmd_ttp(args) -> int:
    import time

    from powerfirst.io.sites import read_sites
    from powerfirst.models.time_to_power import ALL_PATHS, time_to_power
    from powerfirst.paths import demo_sites_path
    from powerfirst.scenarios.report import ttp_records

    t0 = time.perf_counter()
    sites = read_sites(demo_sites_path() if args.sites == "demo" else args.sites)
    ds = time_to_power(sites, args.paths or ALL_PATHS, draws=args.draws, seed=args.seed, tornado=False,
                       correlation=args.correlation, bridge_technology=args.bridge, start=args.start,
                       horizon=args.horizon, by_date=args.by_date, value_per_mw_month=args.value,
                       discount_rate=args.discount_rate)
    recs = ttp_records(ds)
    print_records(recs, args.format, floatfmt=".3g")
    print(f"{ds.sizes['site']} sites x {ds.sizes['path']} paths x {args.draws} draws in "
          f"{time.perf_counter() - t0:.1f} s (months from {ds.attrs['start']}; seed {args.seed}; inputs "
          f"{ds.attrs.get('input_hashes', '')}; powerfirst {ds.attrs['powerfirst_version']})", file=sys.stderr)
    return 0
