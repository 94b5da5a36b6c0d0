"""``powerfirst run SCENARIO.yaml``: run a scenario and write its results."""

from __future__ import annotations

import argparse
import sys

from powerfirst.commands import command, print_records


def _cfg_run(p: argparse.ArgumentParser):
    p.add_argument("scenario", help="scenario YAML (see powerfirst.scenarios.Scenario)")
    p.add_argument("--out", default=None, help="folder for the results (Zarr, one store per model)")
    p.add_argument("--format", choices=["table", "json"], default="table",
                   help="summary printed: time to power per site and path")


@command("run", "run a scenario YAML: energy cube, headroom and time to power, labelled with its hash", _cfg_run)
def cmd_run(args) -> int:
    from powerfirst.scenarios import Scenario, run_scenario

    sc = Scenario.from_yaml(args.scenario)
    res = run_scenario(sc, args.out, progress=True)
    ttp = res["time_to_power"]
    recs = []
    for site in ttp["site"].values:
        for path in ttp["path"].values:
            sel = ttp.sel(site=site, path=path)
            recs.append({"site": str(site), "path": str(path),
                         "p50_months": round(float(sel["first_power"].sel(quantile=0.5)), 1),
                         "mw": round(float(sel["mw"]), 1)})
    print_records(recs, args.format)
    print(f"scenario {sc.name} ({sc.hash}): {len(res)} results"
          + (f" written under {args.out}" if args.out else ""), file=sys.stderr)
    return 0
