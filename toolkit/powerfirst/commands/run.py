"""``powerfirst run SCENARIO.yaml``: run every section of a scenario and write its results."""

from __future__ import annotations

import argparse
import sys

from powerfirst.commands import command, print_records, stdout_to_stderr


def _cfg_run(p: argparse.ArgumentParser):
    p.add_argument("scenario", help="scenario YAML (see examples/scenarios/ and the scenario reference)")
    p.add_argument("--out", default=None,
                   help="result store to write (one Zarr store, a group per model; e.g. results.zarr)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing result store written by powerfirst")
    p.add_argument("--only", default=None,
                   help="comma-separated groups to run (energy, headroom, time_to_power, dispatch, demand)")
    p.add_argument("--format", choices=["table", "json", "csv"], default="table",
                   help="summary printed: one row per result group")


@command("run", "run a scenario YAML (energy, headroom, time to power, dispatch, demand) into one result store",
         _cfg_run)
def cmd_run(args) -> int:
    import time

    from powerfirst.io.store import check_output
    from powerfirst.scenarios import Scenario, run_summary_records, to_zarr

    t0 = time.perf_counter()
    sc = Scenario.from_yaml(args.scenario)
    if args.out:
        check_output(args.out, overwrite=args.overwrite)  # before any computing
    only = [x.strip() for x in args.only.split(",") if x.strip()] if args.only else None
    with stdout_to_stderr():  # a solver's banner (the network plan's HiGHS) must not mix with the summary
        tree = sc.run(progress=True, only=only)
    if args.out:
        to_zarr(tree, args.out, overwrite=args.overwrite)
    print_records(run_summary_records(tree), args.format)
    print(f"scenario {sc.name} ({tree.attrs['scenario_hash']}) in {time.perf_counter() - t0:.1f} s"
          + (f"; results in {args.out}" if args.out else ""), file=sys.stderr)
    return 0
