"""Backtest metrics against hand-computed values, the rolling-origin backtest, and the real-data
evaluation of ten balancing authorities (realdata)."""

from __future__ import annotations

import time
import warnings

import numpy as np
import pandas as pd
import pytest
from _forecast_data import synthetic_load

from powerfirst.errors import ValidationError
from powerfirst.models.forecast.backtest import (
    CRPS_QUANTILES,
    EVALUATION_BAS,
    backtest,
    crps_from_quantiles,
    evaluate_bas,
    interval_coverage,
    mape,
    mase,
    pinball_loss,
)


def test_mape_and_mase_by_hand():
    assert mape([100, 200], [110, 180]) == pytest.approx(10.0)
    assert mape([100, np.nan, 0], [110, 5, 3]) == pytest.approx(10.0)  # NaN and zero actuals skipped
    insample = np.tile([1.0, 3.0], 200)  # seasonal-naive error 0 with season 2, 2 with season 1
    assert mase([2, 4], [3, 3], insample, season=1) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="more than 168"):
        mase([1.0], [1.0], np.ones(10))


def test_pinball_coverage_and_crps_by_hand():
    y = np.array([10.0, 20.0])
    q = np.array([[8.0, 12.0], [21.0, 25.0]])
    # tau 0.1: (0.1*2 + 0.9*1)/2 ; tau 0.9: (0.9*0 ... ) -> by hand
    l01 = (0.1 * 2 + 0.9 * 1) / 2
    l09 = (0.1 * 2 + 0.1 * 5) / 2
    assert pinball_loss(y, q, [0.1, 0.9]) == pytest.approx((l01 + l09) / 2)
    assert interval_coverage(y, q[:, 0], q[:, 1]) == 0.5
    # a point forecast's CRPS is its absolute error; the trapezoid rule is exact on the even grid
    point = np.full((2, len(CRPS_QUANTILES)), 15.0)
    assert crps_from_quantiles(y, point, CRPS_QUANTILES) == pytest.approx(5.0)
    # a wider, well-centred distribution scores better than a far-off point
    spread = np.quantile(np.random.default_rng(0).normal(10, 1, 100_000), CRPS_QUANTILES)[None, :]
    assert crps_from_quantiles([10.0], spread, CRPS_QUANTILES) < crps_from_quantiles([10.0], [[12.0] * 19],
                                                                                       CRPS_QUANTILES)


@pytest.fixture(scope="module")
def load():
    return synthetic_load(days=3 * 365 + 1, name="AAA")


def test_backtest_frame_and_metrics(load):
    fc = load * (1 + 0.01 * np.sin(np.arange(load.size)))
    res = backtest(load, train=(2016, 2017), test=("2018-01-01", "2018-04-01"), ba_forecast=fc)
    f = res.frame
    assert list(f.columns[:2]) == ["actual", "forecast"] and f.index[0] == pd.Timestamp("2018-01-01")
    assert len(f) == (31 + 28 + 31) * 24 and f.attrs["units"] == "MW"
    m = res.metrics
    assert m["mape"] < m["mape_seasonal_naive"]
    assert m["mape_ba_forecast"] == pytest.approx(mape(f["actual"], fc[f.index]), abs=1e-3)
    assert 0.6 < m["coverage_80"] < 0.95 and m["crps"] > 0 and m["pinball"] > 0
    assert res.to_record()["ba"] == "AAA" and res.horizon == "day-ahead"


def test_backtest_refits_on_an_expanding_window(load):
    res = backtest(load, train=(2016, 2017), test=("2018-01-01", "2018-03-01"), refit_every="MS",
                   horizon="week-ahead")
    assert res.horizon == "week-ahead" and len(res.frame) == 59 * 24
    assert res.metrics["mape"] < res.metrics["mape_seasonal_naive"]


def test_backtest_periods_outside_the_data(load):
    with pytest.raises(ValidationError) as e:
        backtest(load.rename("PJM"), train=(2016, 2017), test=2019)
    msg = str(e.value)
    assert "'PJM'" in msg and "test period 2019-01-01 00:00:00 .. 2019-12-31 23:00:00 lies outside the data" in msg
    assert "2016-01-01 00:00:00 .. 2018-12-31 23:00:00" in msg
    with pytest.raises(ValidationError, match=r"'PJM'.*training period ends at 2019-01-01 00:00:00 after the test"):
        backtest(load.rename("PJM"), train=(2016, 2018), test=("2018-06-01", "2018-07-01"))
    with pytest.raises(ValidationError, match=r"'PJM'.*training period 2010-01-01 00:00:00 .. 2012-12-31 23:00:00 lies"):
        backtest(load.rename("PJM"), train=(2010, 2012), test=2018)


def test_evaluate_bas_names_missing_bas():
    import xarray as xr

    grid = xr.Dataset({"demand": (("ba", "time"), np.ones((1, 10)))},
                      coords={"ba": ["AAA"], "time": pd.date_range("2018-01-01", periods=10, freq="h")})
    with pytest.raises(ValidationError, match=r"'ZZZ'.*not in the grid cube"):
        evaluate_bas(grid, ["ZZZ"])


@pytest.mark.realdata
@pytest.mark.slow
def test_ten_bas_day_ahead_2019(shared):
    """Train through 2018, test day-ahead over 2019 on the ten BAs with published forecasts.

    Criteria: model MAPE at least 45 % below seasonal-naive on every BA; below the BA's own
    published forecast on at least half; 80 % intervals covering 75-85 % of the hours on average.
    """
    from powerfirst.cubes.grid import read_cleaned_releases

    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        grid = read_cleaned_releases(shared / "eia930", EVALUATION_BAS, start="2015-07-01", end="2020-01-01")
    table = evaluate_bas(grid, train=(2015, 2018), test=2019)
    elapsed = time.perf_counter() - t0
    print(f"\n{table.drop(columns=['horizon']).to_string()}\n{elapsed:.0f} s")
    assert list(table["ba"]) == list(EVALUATION_BAS)
    assert (table["n_hours"] == 8760).all()
    ratio = table["mape"] / table["mape_seasonal_naive"]
    assert (ratio <= 0.55).all(), table.loc[ratio > 0.55, ["ba", "mape", "mape_seasonal_naive"]]
    assert table["mape_ba_forecast"].notna().all()
    assert int(table["beats_ba_forecast"].sum()) >= 5
    assert 0.75 <= table["coverage_80"].mean() <= 0.85
    assert (table["coverage_80"] > 0.6).all()
