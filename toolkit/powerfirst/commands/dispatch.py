"""``powerfirst dispatch``: hourly site dispatch with storage, on-site generation and a flexible connection."""

from __future__ import annotations

import argparse
import sys

from powerfirst.commands import command, print_records, str_list


def parse_scenario(text: str) -> tuple[str, dict]:
    """``'big:storage_scale=2,priority=carbon'`` -> ('big', {'storage_scale': 2.0, 'priority': 'carbon'})."""
    name, _, rest = text.partition(":")
    if not rest and "=" in name:  # no name given: the overrides name the scenario
        name, rest = text, text
    overrides = {}
    for item in filter(None, (x.strip() for x in rest.split(","))):
        if "=" not in item:
            raise argparse.ArgumentTypeError(f"scenario {text!r}: expected key=value, found {item!r}")
        k, v = (x.strip() for x in item.split("=", 1))
        try:
            overrides[k] = float(v)
        except ValueError:
            overrides[k] = v
    return name.strip() or "base", overrides


def _cfg_dispatch(p: argparse.ArgumentParser):
    p.add_argument("--sites", required=True, help="site file (.csv, .geojson, .parquet) or 'demo'")
    p.add_argument("--energy", default=None,
                   help="energy cube (.zarr or .nc) of the sites; default: the demo cube for 'demo', else built now")
    p.add_argument("--scenario", action="append", type=parse_scenario, default=None, metavar="NAME:KEY=VALUE,...",
                   help="a scenario of parameter overrides, e.g. 'big:storage_scale=2' or "
                        "'clean:priority=carbon,carbon_price=100' (repeatable; default one 'base' scenario)")
    p.add_argument("--site", type=str_list, default=None, help="comma-separated site ids (default all)")
    p.add_argument("--grid", nargs="+", default=None,
                   help="EIA-930 source (cleaned-release folder or files) for the BAs' curtailment events; "
                        "default: stylised events (illustrative)")
    p.add_argument("--limit", type=float, default=0.5, help="curtailment limit [%%] of the BA headroom (default 0.5)")
    p.add_argument("--hourly-site", default=None, help="also print the hourly flows of this site (first scenario)")
    p.add_argument("--format", choices=["table", "json", "csv"], default="table")


def _load_inputs(args):
    from pathlib import Path

    from powerfirst.io.sites import read_sites
    from powerfirst.io.store import read_netcdf, read_zarr

    if args.sites == "demo":
        from powerfirst.cubes.default import load_demo_cubes

        sites, energy = load_demo_cubes()
    else:
        sites = read_sites(args.sites)
        energy = None
    if args.energy:
        energy = read_netcdf(args.energy) if Path(args.energy).suffix == ".nc" else read_zarr(args.energy)
    elif energy is None:
        from powerfirst.cubes.energy import build_energy_cube

        print(f"building the energy cube of {sites.sizes['site']} sites ...", file=sys.stderr)
        energy = build_energy_cube(sites)
    if args.site:
        missing = [s for s in args.site if s not in set(map(str, energy["site"].values))]
        if missing:
            raise ValueError(f"sites not found: {missing}")
        energy = energy.sel(site=args.site)
    keep = ["solar_cf", "wind_cf", "pue", "carbon_intensity"]
    return sites, energy[keep].load()


@command("dispatch", "hourly site dispatch: unserved energy, grid import, curtailment ridden through, storage cycles, "
                     "generation, cost, emissions, carbon-free share per site and scenario", _cfg_dispatch)
def cmd_dispatch(args) -> int:
    import time

    import pandas as pd

    from powerfirst.models.dispatch import dispatch
    from powerfirst.scenarios.report import dispatch_records

    t0 = time.perf_counter()
    sites, energy = _load_inputs(args)
    curtailment = None
    if args.grid:
        from powerfirst.cubes.grid import open_grid
        from powerfirst.scenarios.run import dispatch_curtailment

        bas = sorted(set(map(str, energy["ba"].values if "ba" in energy.coords else sites["ba"].values)))
        grid = open_grid(args.grid, progress=True)
        missing = sorted(set(bas) - set(map(str, grid["ba"].values)))
        if missing:
            print(f"no grid data for {missing}: their curtailment is left out", file=sys.stderr)
        curtailment = dispatch_curtailment(grid, bas, energy.indexes["time"], limit=args.limit, fill="none")
    scenarios = dict(args.scenario) if args.scenario else None
    ds = dispatch(energy, sites, scenarios, curtailment=curtailment, hourly=bool(args.hourly_site))
    print_records(dispatch_records(ds), args.format)
    if args.hourly_site:
        h = ds.sel(site=args.hourly_site).isel(scenario=0)
        names = ["facility_load", "renewable", "grid", "grid_limit", "charge", "discharge", "soc", "onsite_generation",
                 "defer", "unserved"]
        df = pd.DataFrame({n: h[n].values for n in names}, index=pd.DatetimeIndex(h["time"].values, name="time"))
        print(df.round(2).to_csv() if args.format == "csv" else df.round(1).to_string())
    print(f"{ds.sizes['site']} sites x {ds.sizes['scenario']} scenarios x {energy.sizes['time']} h in "
          f"{time.perf_counter() - t0:.1f} s (price: {ds.attrs['price_source']}; curtailment: "
          f"{ds.attrs['curtailment_source']}; inputs {ds.attrs.get('input_hashes', '')}; "
          f"powerfirst {ds.attrs['powerfirst_version']})", file=sys.stderr)
    return 0
