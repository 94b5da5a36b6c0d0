"""``powerfirst plan SCENARIO.yaml --out plan.zarr``: plan the scenario's network and print its KPIs per year.

The plan is :func:`powerfirst.scenarios.run.run_network` on the scenario's ``network`` section
(whatever ``network.enabled`` says: this command is asked for the plan).  The target is checked
before anything is computed and the plan is written beside it, then renamed into place
(:func:`powerfirst.io.store.write_zarr`): an existing file or folder that powerfirst did not write is
never replaced, and an earlier plan only with ``--overwrite``.

Bad input — a scenario file with problems, a year outside the demand cube, a sovereignty rule that
leaves demand without an allowed site, no candidate with power in time, an output that exists — is
one message on stderr and exit status 2; nothing is written.
"""

from __future__ import annotations

import argparse
import math
import sys

from powerfirst.commands import _eprint, command, stdout_to_stderr

#: KPI columns of the table and their units (:func:`powerfirst.models.network.kpis`)
KPI_UNITS = {"gw_training": "GW", "gw_regional": "GW", "gw_edge": "GW", "cost_usd": "USD", "capex_usd": "USD",
             "energy_cost_usd": "USD", "unserved_cost_usd": "USD", "energy_twh": "TWh",
             "gco2_per_accelerator_hour": "gCO2 h-1", "useful_work_per_kwh": "h kWh-1", "share_within_caps": "1",
             "unserved_twh": "TWh"}
#: columns of the table (the JSON has every KPI)
TABLE_COLUMNS = ("gw_training", "gw_regional", "gw_edge", "cost_usd", "energy_twh", "gco2_per_accelerator_hour",
                 "share_within_caps", "unserved_twh")


def _cfg_plan(p: argparse.ArgumentParser):
    p.add_argument("scenario", help="scenario YAML with a network section (see the scenario reference)")
    p.add_argument("--out", required=True, help="Zarr store the plan is written to (e.g. plan.zarr)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing plan store written by powerfirst")
    p.add_argument("--format", choices=["table", "json"], default="table",
                   help="KPIs per year printed as a table or as JSON records (with units)")


def kpi_records(plan) -> list[dict]:
    """KPIs of a plan per year as JSON-ready records (NaN as None)."""
    from powerfirst.models.network import kpis

    k = kpis(plan)
    out = []
    for year, row in k.iterrows():
        rec = {"year": int(year)}
        for c, v in row.items():
            v = float(v)
            rec[c] = None if not math.isfinite(v) else v
        out.append(rec)
    return out


def _print_table(plan, recs: list[dict]):
    import pandas as pd

    df = pd.DataFrame(recs).set_index("year")
    df["cost_usd"] = df["cost_usd"] / 1e6
    cols = [c for c in TABLE_COLUMNS if c in df]
    df = df[cols].rename(columns={c: (f"{c.removesuffix('_usd')} [MUSD]" if c == "cost_usd" else f"{c} [{KPI_UNITS[c]}]")
                                  for c in cols})
    a = plan.attrs
    print(f"Network plan of scenario {a.get('scenario', '?')}: {plan.sizes['site']} candidate sites, "
          f"{plan.sizes['point']} demand points, sovereignty {a.get('sovereignty', 'none')}, "
          f"{a.get('method', '?')} ({a.get('solver_status', '')}), MIP gap {float(a.get('mip_gap', float('nan'))):.2%}"
          + (f", greedy / MILP cost {float(a['greedy_over_milp']):.3f}" if "greedy_over_milp" in a else ""))
    print(df.to_string(float_format=lambda v: f"{v:.4g}"))


def cmd_plan(args) -> int:
    import json
    import time

    from powerfirst.errors import DataFormatError, OutputError, ValidationError
    from powerfirst.io.store import check_output, write_zarr
    from powerfirst.scenarios import Scenario
    from powerfirst.scenarios.run import run_network

    t0 = time.perf_counter()
    try:
        sc = Scenario.from_yaml(args.scenario)
        check_output(args.out, overwrite=args.overwrite)  # before any computing
        with stdout_to_stderr():
            plan = run_network(sc, progress=args.format == "table")
        write_zarr(plan, args.out, overwrite=args.overwrite)
    except (ValidationError, DataFormatError, OutputError, FileNotFoundError) as exc:
        if args.debug:
            raise
        _eprint(f"error: {exc}")
        return 2
    recs = kpi_records(plan)
    if args.format == "json":
        print(json.dumps({"scenario": sc.name, "scenario_hash": sc.hash, "out": str(args.out),
                          "units": {"year": "year", **KPI_UNITS}, "kpis": recs}, indent=1))
    else:
        _print_table(plan, recs)
    _eprint(f"planned {plan.sizes['site']} candidates x {plan.sizes['point']} demand points x {plan.sizes['year']} "
            f"years in {time.perf_counter() - t0:.1f} s; plan in {args.out}")
    sys.stdout.flush()
    return 0


def _register():
    command("plan", "plan a network of sites (tier, year, serving whom) for a scenario and print its KPIs per year",
            _cfg_plan)(cmd_plan)


_register()
