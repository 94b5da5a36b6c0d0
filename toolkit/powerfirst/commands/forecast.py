"""``powerfirst forecast-load`` (hourly backtest of one BA) and ``powerfirst forecast-demand``
(the annual data-centre demand cube)."""

from __future__ import annotations

import argparse
import sys

from powerfirst.commands import command, print_records, str_list, years_range


def _year(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a year such as 2019, found {text!r}") from None


def _cfg_load(p: argparse.ArgumentParser):
    p.add_argument("--source", nargs="+", required=True,
                   help="folder holding the Ruggles et al. cleaned releases (e.g. ../shared/data/eia930), or "
                        "EIA-930 files in any supported format")
    p.add_argument("--ba", required=True, help="balancing authority, e.g. PJM")
    p.add_argument("--train", type=years_range, required=True, help="training years, e.g. 2016-2018")
    p.add_argument("--test", type=_year, required=True, help="test year, e.g. 2019")
    p.add_argument("--horizon", choices=["day-ahead", "week-ahead"], default="day-ahead")
    p.add_argument("--issue-hour", type=int, default=None,
                   help="local hour of the issue day at which forecasts are issued (default 23 = 23:00 on D-1 "
                        "for day-ahead; 10 gives a market-time forecast)")
    p.add_argument("--operator-forecast-input", action="store_true",
                   help="give the model the BA's published day-ahead forecast as an input (post-processing)")
    p.add_argument("--format", choices=["table", "json"], default="table")


@command("forecast-load", "backtest the hourly load forecaster of one BA: model vs seasonal-naive vs the BA's forecast",
         _cfg_load)
def cmd_forecast_load(args) -> int:
    import time

    from powerfirst.cubes.grid import open_grid
    from powerfirst.models.forecast.backtest import evaluate_bas
    from powerfirst.models.forecast.hourly import HourlyLoadForecaster

    t0 = time.perf_counter()
    y0, y1 = args.train
    if args.test <= y1:
        raise ValueError(f"the test year {args.test} must come after the training years {y0}-{y1}")
    grid = open_grid(args.source, [args.ba], (y0, args.test), progress=True)
    kw = {} if args.issue_hour is None else {"issue_hour": args.issue_hour}
    table = evaluate_bas(grid, [args.ba], train=(y0, y1), test=args.test, horizon=args.horizon,
                         forecaster=HourlyLoadForecaster(**kw),
                         operator_forecast_input=args.operator_forecast_input,
                         edge_hours=1)  # EIA-930 end-of-hour stamps: the data end at 22:00 UTC on 31 Dec
    rec = table.iloc[0].to_dict()
    out = {"ba": rec["ba"], "horizon": rec["horizon"], "mape": rec["mape"],
           "mape_seasonal_naive": rec["mape_seasonal_naive"],
           "mape_ba_forecast": None if rec.get("mape_ba_forecast") is None or rec["mape_ba_forecast"] != rec[
               "mape_ba_forecast"] else rec["mape_ba_forecast"],
           "coverage_80": rec["coverage_80"], "pinball": rec["pinball"], "crps": rec["crps"], "mase": rec["mase"],
           "train": f"{y0}-{y1}", "test": int(args.test), "inputs": rec["inputs"],
           "issue_hour": HourlyLoadForecaster(**kw).issue_hour, "n_hours": int(rec["n_hours"]),
           "test_period": rec["test_period"], "n_hours_test": int(rec["n_hours_test"]),
           "n_hours_scored": int(rec["n_hours_scored"]), "n_hours_past_data": int(rec["n_hours_past_data"])}
    if args.format == "json":
        import json

        print(json.dumps(out, indent=1))
    else:
        print(f"{out['ba']} {out['horizon']} load forecast, trained {out['train']}, tested {out['test']} "
              f"(issued {out['issue_hour']:02d}:00 local; {out['inputs']})")
        print_records([{"forecast": "model", "mape_pct": out["mape"]},
                       {"forecast": "seasonal naive (1 week)", "mape_pct": out["mape_seasonal_naive"]},
                       {"forecast": "BA's own day-ahead", "mape_pct": out["mape_ba_forecast"]}], "table",
                      floatfmt=".2f")
        print(f"80 % interval coverage {out['coverage_80']:.3f}, pinball {out['pinball']:.1f} MW, "
              f"CRPS {out['crps']:.1f} MW, MASE {out['mase']:.3f}")
        past = out["n_hours_past_data"]
        print(f"scored {out['n_hours_scored']:,} of the {out['n_hours_test']:,} hours of {out['test']} "
              f"({out['test_period']} UTC)"
              + (f"; the last {past} hour(s) are not in the data (EIA-930 end-of-hour stamps, shifted to "
                 "hour-beginning, end at 22:00 UTC on 31 December)" if past else ""))
    print(f"done in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    return 0


def _cfg_demand(p: argparse.ArgumentParser):
    # the names are resolved when the command runs: importing the model here would slow every `powerfirst` call
    p.add_argument("--scenario", type=str_list, default=None,
                   help="comma-separated driver scenarios (default all presets of models.forecast.annual)")
    p.add_argument("--region", type=str_list, default=None, help="comma-separated regions (default all)")
    p.add_argument("--years", type=years_range, default=(2024, 2035), help="first-last year, default 2024-2035")
    p.add_argument("--format", choices=["table", "json", "csv"], default="table")


def demand_records(cube) -> list[dict]:
    """One record per region, year and scenario: electricity, power, trend quantiles, published range."""
    import math

    from powerfirst.models.forecast.annual import check_against_published

    tot = cube["dc_electricity"].sum("workload", min_count=1)
    avg = cube["dc_average_power"].sum("workload", min_count=1)
    peak = cube["dc_peak_power"].sum("workload", min_count=1)
    recs = []
    for r in cube["region"].values:
        for y in cube["year"].values:
            for s in cube["scenario"].values:
                v = float(tot.sel(region=r, year=y, scenario=s))
                if math.isnan(v):
                    continue
                rec = {"region": str(r), "year": int(y), "scenario": str(s), "electricity_twh": round(v, 1),
                       "average_gw": round(float(avg.sel(region=r, year=y, scenario=s)), 2),
                       "peak_gw": round(float(peak.sel(region=r, year=y, scenario=s)), 2)}
                for q in cube["quantile"].values:
                    rec[f"trend_q{q:g}_twh"] = round(float(cube["dc_electricity_trend"].sel(
                        region=r, year=y, quantile=q)), 1)
                recs.append(rec)
    import pandas as pd

    df = pd.DataFrame(recs)
    flags = check_against_published(df[["region", "year", "scenario", "electricity_twh"]])
    lookup = {(f.region, f.year, f.scenario): f for f in flags.itertuples()} if len(flags) else {}
    for rec in recs:
        f = lookup.get((rec["region"], rec["year"], rec["scenario"]))
        rec["published_low_twh"] = None if f is None else round(f.published_low_twh, 1)
        rec["published_high_twh"] = None if f is None else round(f.published_high_twh, 1)
        rec["outside_published"] = None if f is None else bool(f.outside_all)
    return recs


@command("forecast-demand", "annual data-centre electricity by region, year and scenario (driver model, trend "
                            "quantiles, published ranges)", _cfg_demand)
def cmd_forecast_demand(args) -> int:
    from powerfirst.models.forecast.annual import DRIVER_SCENARIOS, REGIONS, demand_cube

    scenarios = args.scenario or list(DRIVER_SCENARIOS)
    cube = demand_cube(scenarios, args.region or list(REGIONS), range(args.years[0], args.years[1] + 1))
    recs = demand_records(cube)
    if args.format in ("json", "csv"):
        print_records(recs, args.format)
    else:
        import pandas as pd

        df = pd.DataFrame(recs)
        for region, g in df.groupby("region", sort=False):
            print(f"\n{region}: data-centre electricity [TWh] by scenario (driver model); trend 10-90 % band; "
                  "published range (* = outside every published range)")
            t = g.pivot(index="year", columns="scenario", values="electricity_twh")[scenarios]
            for s in scenarios:
                flag = g.set_index(["year", "scenario"])["outside_published"]
                t[s] = [f"{v:,.0f}{'*' if flag.get((y, s)) else ''}" for y, v in t[s].items()]
            trend = g.drop_duplicates("year").set_index("year")
            t["trend 10-90 %"] = [f"{a:,.0f}-{b:,.0f}" for a, b in zip(trend["trend_q0.1_twh"], trend["trend_q0.9_twh"],
                                                                      strict=True)]
            t["published"] = [("" if pd.isna(a) else f"{a:,.0f}-{b:,.0f}") for a, b in
                              zip(trend["published_low_twh"], trend["published_high_twh"], strict=True)]
            print(t.to_string())
    return 0
