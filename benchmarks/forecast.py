"""Benchmark: hourly load forecasting, fit plus a one-year day-ahead backtest for the ten BAs.

For each BA, trained on 2015-07 .. 2018 and tested on every day of 2019 (issued 23:00 local on
D-1, i.e. from the load up to the hour beginning 22:00):

* powerfirst: ``evaluate_bas`` with the default ``HourlyLoadForecaster`` (features, the
  calibration fit and the refit of HistGradientBoostingRegressor, 80 % conformal quantiles, the
  365 daily origins, metrics);
* skforecast: ``ForecasterRecursive`` with the same regressor (HistGradientBoostingRegressor,
  same hyper-parameters), lags 1-24 h, the same hour 2-7 and 14 days back, local calendar
  features (hour, weekday, month, US federal holiday) as exogenous inputs, fitted once on the
  same training period, then ``backtesting_forecaster`` over 365 folds of 24 hours with a gap of
  1 hour (the same information set) and conformal 80 % intervals.

Both are timed in this run on the same data, after one untimed warm-up of each: wall time and
CPU time of this process (the machine is shared, so the CPU time is the steadier figure). The
ratios are skforecast / powerfirst; the summary gives their median over the BAs.
Needs the ``bench`` extra (skforecast).
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from _common import peak_rss_mb, report, shared_data
from powerfirst.cubes.grid import read_cleaned_releases
from powerfirst.models.forecast.backtest import EVALUATION_BAS, evaluate_bas, mape
from powerfirst.models.forecast.hourly import HourlyLoadForecaster, _holidays

TRAIN_START, TEST_START, TEST_END = "2015-07-01", "2019-01-01", "2020-01-01"


def calendar_exog(index: pd.DatetimeIndex, tz: str) -> pd.DataFrame:
    lt = index.tz_localize("UTC").tz_convert(tz)
    day = lt.tz_localize(None).normalize().values.astype("datetime64[D]")
    hol = _holidays(int(lt.year.min()) - 1, int(lt.year.max()) + 1)
    return pd.DataFrame({"hour": lt.hour, "weekday": lt.day_of_week, "month": lt.month,
                         "holiday": np.isin(day, hol).astype(int)}, index=index).astype(float)


def skforecast_run(load: pd.Series, tz: str, params: dict, test_start=TEST_START, test_end=TEST_END):
    """(wall s, CPU s, MAPE %, 80 % coverage) of a ForecasterRecursive fit + day-ahead backtest."""
    from skforecast.model_selection import TimeSeriesFold, backtesting_forecaster
    from skforecast.recursive import ForecasterRecursive
    from sklearn.ensemble import HistGradientBoostingRegressor

    y = load.asfreq("h")
    exog = calendar_exog(y.index, tz)
    first_local_midnight = pd.Timestamp(test_start).tz_localize(tz).tz_convert("UTC").tz_localize(None)
    end = pd.Timestamp(test_end).tz_localize(tz).tz_convert("UTC").tz_localize(None)
    y, exog = y[:end - pd.Timedelta(hours=1)], exog[:end - pd.Timedelta(hours=1)]
    gap = 1
    initial = int(y.index.get_loc(first_local_midnight)) - gap
    lags = list(range(1, 25)) + [24 * d for d in (2, 3, 4, 5, 6, 7, 14)]
    t0, c0 = time.perf_counter(), time.process_time()
    fc = ForecasterRecursive(estimator=HistGradientBoostingRegressor(**params), lags=lags)
    cv = TimeSeriesFold(steps=24, initial_train_size=initial, refit=False, gap=gap, verbose=False)
    _, pred = backtesting_forecaster(fc, y=y, exog=exog, cv=cv, metric="mean_absolute_percentage_error",
                                     interval=[0.1, 0.9], interval_method="conformal", n_jobs=1,
                                     show_progress=False)
    elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
    actual = y.reindex(pred.index).to_numpy()
    cover = float(np.mean((actual >= pred["lower_bound"]) & (actual <= pred["upper_bound"])))
    return elapsed, cpu, mape(actual, pred["pred"].to_numpy()), cover


def main():
    grid = read_cleaned_releases(shared_data() / "eia930", EVALUATION_BAS, start=TRAIN_START, end=TEST_END)
    grid = grid.load()
    template = HourlyLoadForecaster()
    params = template._model().get_params()
    # warm-up, untimed: one month of one BA through both
    warm = grid["demand"].sel(ba="ISNE").to_series()[: "2017-02-01"]
    evaluate_bas(grid.sel(time=slice(None, "2017-01-31 23:00")), ["ISNE"], train=(2015, 2016),
                 test=("2017-01-01", "2017-02-01"), forecaster=template)
    skforecast_run(warm, "America/New_York", params, "2017-01-01", "2017-02-01")
    rows = []
    for ba in EVALUATION_BAS:
        t0, c0 = time.perf_counter(), time.process_time()
        rec = evaluate_bas(grid, [ba], train=(2015, 2018), test=2019, forecaster=template).iloc[0]
        t_pf, c_pf = time.perf_counter() - t0, time.process_time() - c0
        load = grid["demand"].sel(ba=ba).to_series()
        tz = str(grid["timezone"].sel(ba=ba).values)
        t_sk, c_sk, mape_sk, cov_sk = skforecast_run(load, tz, params)
        rows.append({"ba": ba, "powerfirst_s": round(t_pf, 2), "skforecast_s": round(t_sk, 2),
                     "powerfirst_cpu_s": round(c_pf, 2), "skforecast_cpu_s": round(c_sk, 2),
                     "ratio_skforecast_over_powerfirst": round(t_sk / t_pf, 2),
                     "ratio_cpu": round(c_sk / c_pf, 2),
                     "mape_powerfirst": float(rec["mape"]), "mape_skforecast": round(mape_sk, 3),
                     "coverage80_powerfirst": float(rec["coverage_80"]), "coverage80_skforecast": round(cov_sk, 4),
                     "mape_seasonal_naive": float(rec["mape_seasonal_naive"])})
        print(rows[-1], flush=True)
    df = pd.DataFrame(rows)
    print(df.to_string(index=False))
    report("forecast", {
        "bas": len(df), "train": "2015-07..2018", "test": "2019 day-ahead (issued 23:00 local on D-1)",
        "powerfirst_s_per_ba_mean": round(float(df["powerfirst_s"].mean()), 2),
        "skforecast_s_per_ba_mean": round(float(df["skforecast_s"].mean()), 2),
        "ratio_skforecast_over_powerfirst_median": round(float(df["ratio_skforecast_over_powerfirst"].median()), 2),
        "ratio_cpu_median": round(float(df["ratio_cpu"].median()), 2),
        "powerfirst_cpu_s_per_ba_median": round(float(df["powerfirst_cpu_s"].median()), 2),
        "skforecast_cpu_s_per_ba_median": round(float(df["skforecast_cpu_s"].median()), 2),
        "powerfirst_s_total": round(float(df["powerfirst_s"].sum()), 1),
        "skforecast_s_total": round(float(df["skforecast_s"].sum()), 1),
        "mape_powerfirst_mean": round(float(df["mape_powerfirst"].mean()), 3),
        "mape_skforecast_mean": round(float(df["mape_skforecast"].mean()), 3),
        "coverage80_powerfirst_mean": round(float(df["coverage80_powerfirst"].mean()), 4),
        "coverage80_skforecast_mean": round(float(df["coverage80_skforecast"].mean()), 4),
        "per_ba_wall_s_powerfirst_skforecast": {r["ba"]: [r["powerfirst_s"], r["skforecast_s"]] for r in rows},
        "peak_rss_mb": round(peak_rss_mb(), 1),
    })


if __name__ == "__main__":
    main()
