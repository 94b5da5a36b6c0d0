"""``powerfirst screen``: score every location of a region (or a site list) for an energy-first AI site."""

from __future__ import annotations

import argparse


def _cfg_screen(p: argparse.ArgumentParser):
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--region", help="US-48, a US state (US-TX), an ISO country code (DE) or EU27: an H3 grid of it")
    src.add_argument("--sites", help="a site file (.csv, .geojson, .parquet) to screen instead of a grid")
    src.add_argument("--plants", action="store_true",
                     help="brownfield candidates: US power plants >= --min-plant-mw (EIA-860M)")
    src.add_argument("--datacentres", action="store_true",
                     help="expansion candidates: existing US data-centre clusters (OpenStreetMap)")
    p.add_argument("--resolution", type=int, default=5, help="H3 resolution of --region (default 5, ~253 km2 cells)")
    p.add_argument("--max-candidates", type=int, default=None,
                   help="refuse a grid larger than this (default 250,000)")
    p.add_argument("--min-plant-mw", type=float, default=100.0, help="smallest plant of --plants [MW], default 100")
    p.add_argument("--tier", choices=["training", "regional", "edge"], default="training")
    p.add_argument("--weights", default=None, help="a scorecard YAML overriding weights/normalisation/exclusions")
    p.add_argument("--target-mw", type=float, default=None, help="size of every candidate [MW] (default: the tier's)")
    p.add_argument("--curtailment-limit", type=float, default=0.5,
                   help="curtailment limit of a flexible connection [%% of energy] for the BA headroom, default 0.5")
    p.add_argument("--draws", type=int, default=200, help="Monte Carlo draws of the uncertain layers and weights")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--top", type=int, default=50, help="rows printed, and k of P(top-k); default 50")
    p.add_argument("--start", default="2027-01-01", help="project start of every candidate (ISO date)")
    p.add_argument("--chunk", type=int, default=4096, help="candidates per Dask task")
    p.add_argument("--scheduler", default=None,
                   help="Dask scheduler address (default $POWERFIRST_SCHEDULER; none: run in this process)")
    p.add_argument("--out", default=None, help="write the full results (every candidate) to this Zarr store")
    p.add_argument("--overwrite", action="store_true", help="replace an existing --out store")
    p.add_argument("--all", action="store_true", help="print every candidate, not only the --top ranked")
    p.add_argument("--format", choices=["table", "json", "csv"], default="table")


def _candidates(args):
    from powerfirst.models import siting

    if args.region:
        kw = {} if args.max_candidates is None else {"max_candidates": args.max_candidates}
        return siting.grid_candidates(args.region, args.resolution, **kw)
    if args.plants:
        return siting.plant_candidates(args.min_plant_mw)
    if args.datacentres:
        return siting.datacentre_candidates()
    return siting.site_candidates(args.sites)


def cmd_screen(args) -> int:
    import sys
    import time

    from powerfirst.commands import _eprint, print_records
    from powerfirst.compute import scheduler_address
    from powerfirst.models import siting
    from powerfirst.scenarios.report import screen_records

    t0 = time.perf_counter()
    if args.out:
        from powerfirst.io.store import check_output

        check_output(args.out, overwrite=args.overwrite)
    cands = _candidates(args)
    settings = siting.ScreenSettings(tier=args.tier, curtailment_limit=args.curtailment_limit, draws=args.draws,
                                     seed=args.seed, top_k=args.top, start=args.start, target_mw=args.target_mw)
    settings.check()
    cands = siting.annotate(cands)
    address = scheduler_address(args.scheduler)
    client = None
    if address:
        from powerfirst.compute import client as make_client

        client = make_client(address)
    try:
        ds = siting.screen(cands, settings=settings, weights=args.weights, client=client, chunk=args.chunk,
                           progress=True)
    finally:
        if client is not None:
            client.close()
    if args.out:
        from powerfirst.io.store import write_zarr

        write_zarr(ds, args.out, overwrite=args.overwrite)
    recs = screen_records(ds, top=None if args.all else args.top)
    if args.format in ("json", "csv"):
        print_records(recs, args.format)
    else:
        import pandas as pd

        df = pd.DataFrame(recs)
        cols = ["rank", "site", "name", "ba", "score", "p_top_k", "best_path", "ttp_p50_months"] + \
               [c for c in df.columns if c.startswith("score_")]
        print(f"Siting screen, {args.tier} tier: {ds.sizes['site']:,} candidates, "
              f"{int(ds['excluded'].sum()):,} excluded, rank stability (Spearman, top {ds.attrs['rank_stability_n']}) "
              f"{ds.attrs['rank_stability']:.2f}")
        print(df[[c for c in cols if c in df]].to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    _eprint(f"screened {ds.sizes['site']:,} candidates in {time.perf_counter() - t0:.1f} s"
            + (f"; results in {args.out}" if args.out else ""))
    sys.stdout.flush()
    return 0


def _register():
    from powerfirst.commands import command

    command("screen", "score every location of a region (or a site list) for an energy-first AI site",
            _cfg_screen)(cmd_screen)


_register()
