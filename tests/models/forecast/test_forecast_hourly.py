"""Hourly load forecasting: issue-time safety (no leakage), features, the estimator, bad inputs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from _forecast_data import synthetic_load
from hypothesis import given, settings
from hypothesis import strategies as st

from powerfirst.errors import ValidationError
from powerfirst.models.forecast.hourly import (
    HourlyLoadForecaster,
    LoadFeatures,
    horizon_days,
    issue_anchor,
    load_features,
    required_history_hours,
    seasonal_naive,
)


@pytest.fixture(scope="module")
def load():
    return synthetic_load(days=2 * 365 + 1)


@pytest.fixture(scope="module")
def fitted(load):
    return HourlyLoadForecaster(max_iter=60).fit_series(load, end="2017-07-01")


def test_issue_anchor_is_the_last_hour_ended_by_the_issue_time():
    # New York, winter (UTC-5): day D = 2017-01-10 local
    targets = pd.DatetimeIndex(["2017-01-10 05:00", "2017-01-11 04:00"])  # 00:00 and 23:00 local on D
    a23 = issue_anchor(targets, "America/New_York", "day-ahead", 23)
    assert list(a23) == [pd.Timestamp("2017-01-10 03:00")] * 2  # 22:00 local on D-1 begins 03:00 UTC
    a10 = issue_anchor(targets, "America/New_York", "day-ahead", 10)
    assert list(a10) == [pd.Timestamp("2017-01-09 14:00")] * 2  # 09:00 local on D-1
    week = issue_anchor(targets, "America/New_York", "week-ahead", 10)
    assert list(week) == [pd.Timestamp("2017-01-03 14:00")] * 2
    # summer (UTC-4) and the spring-forward day: the issue time stays 10:00 local
    summer = issue_anchor(pd.DatetimeIndex(["2017-03-13 12:00"]), "America/New_York", "day-ahead", 10)
    assert summer[0] == pd.Timestamp("2017-03-12 13:00")  # 09:00 EDT on 12 March (DST began 02:00)


@settings(max_examples=25, deadline=None)
@given(day=st.integers(20, 300), issue_hour=st.sampled_from([0, 6, 10, 17, 23, 24]),
       horizon=st.sampled_from(["day-ahead", "week-ahead", 3]),
       tz=st.sampled_from(["UTC", "America/Chicago", "America/Los_Angeles"]))
def test_no_feature_uses_load_after_the_issue_time(day, issue_hour, horizon, tz):
    """Property: changing every load value after a target day's issue time changes none of its features."""
    y = synthetic_load(days=330, tz=tz)
    start = pd.Timestamp("2016-01-01") + pd.Timedelta(days=day)
    targets = pd.date_range(start, periods=24, freq="h")
    anchors = issue_anchor(targets, tz, horizon, issue_hour)
    anchor = anchors.min()
    targets = targets[anchors == anchor]  # the hours of one local day share an issue time
    f1 = load_features(y, timezone=tz, horizon=horizon, issue_hour=issue_hour, targets=targets)
    y2 = y.copy()
    y2[y2.index > anchor] *= 1.7
    f2 = load_features(y2, timezone=tz, horizon=horizon, issue_hour=issue_hour, targets=targets)
    pd.testing.assert_frame_equal(f1, f2)
    # and the load up to the issue time does matter
    y3 = y.copy()
    y3[y3.index <= anchor] *= 1.1
    f3 = load_features(y3, timezone=tz, horizon=horizon, issue_hour=issue_hour, targets=targets)
    assert not np.allclose(f1["level"], f3["level"])


def test_features_lags_and_calendar(load):
    targets = pd.date_range("2016-07-04", periods=48, freq="h")  # Independence Day (UTC = local here)
    f = load_features(load, targets=targets, issue_hour=10)
    assert f["holiday"].iloc[:24].eq(1).all() and f["holiday"].iloc[24:].eq(0).all()
    assert f["holiday_before"].iloc[24:].eq(1).all()
    # the same hour one day earlier is known only for hours before the issue hour
    assert f["lag_1d"].iloc[:10].notna().all() and f["lag_1d"].iloc[10:24].isna().all()
    level = load["2016-07-02 10:00":"2016-07-03 09:00"].mean()  # 24 h before 10:00 on D-1 (3 July)
    assert f["level"].iloc[0] == pytest.approx(level)
    assert f["lag_7d"].iloc[5] * f["level"].iloc[5] == pytest.approx(load[targets[5] - pd.Timedelta(days=7)])
    assert f["lead_hours"].iloc[0] == 15  # 00:00 on D from the anchor 09:00 on D-1
    assert required_history_hours("week-ahead") > required_history_hours("day-ahead")


def test_exogenous_inputs_relative_to_level(load):
    targets = pd.date_range("2016-09-01", periods=24, freq="h")
    exog = pd.DataFrame({"operator_forecast": load * 1.02, "temperature": 20.0}, index=load.index)
    f = load_features(load, targets=targets, exog=exog, exog_relative=["operator_forecast"])
    np.testing.assert_allclose(f["exog_operator_forecast"] * f["level"], load[targets] * 1.02)
    assert f["exog_temperature"].eq(20.0).all()
    np.testing.assert_allclose(f["exog_operator_forecast_bias_24h"], 1.02)


def test_forecaster_beats_seasonal_naive_and_is_calibrated(load, fitted):
    fc = fitted.forecast(load, "2017-07-01", "2017-12-31")
    actual = load[fc.index]
    naive = seasonal_naive(load, fc.index)
    mape = (fc["forecast"] - actual).abs().div(actual).mean()
    mape_naive = (naive - actual).abs().div(actual).mean()
    assert mape < 0.7 * mape_naive
    cover = ((actual >= fc["q0.1"]) & (actual <= fc["q0.9"])).mean()
    assert 0.7 <= cover <= 0.9
    q = fc[[c for c in fc.columns if c.startswith("q")]].to_numpy()
    assert (np.diff(q, axis=1) >= 0).all()
    lo, hi = fitted.predict_interval(load_features(load, targets=fc.index[:5]), 0.8)
    np.testing.assert_allclose(lo, fc["q0.1"].iloc[:5])
    np.testing.assert_allclose(hi, fc["q0.9"].iloc[:5])
    assert fitted.multiplicative_ and fitted.n_calibration_ > 0


def test_seasonal_naive_lags(load):
    targets = pd.date_range("2016-05-02", periods=3, freq="h")
    assert seasonal_naive(load, targets).iloc[0] == load[pd.Timestamp("2016-04-25")]
    assert seasonal_naive(load, targets, "week-ahead").iloc[0] == load[pd.Timestamp("2016-04-18")]


def test_load_features_transformer(load):
    frame = load.to_frame("load").iloc[: 60 * 24]
    out = LoadFeatures(issue_hour=10).fit(frame).transform(frame)
    assert len(out) == 60 * 24 - required_history_hours("day-ahead", 10)
    with pytest.raises(ValidationError, match="'load' column"):
        LoadFeatures().transform(load.to_frame("demand"))


# ---------------------------------------------------------------------------
# bad input: every error names the BA and the dates


def test_gap_is_reported_with_ba_and_dates(load):
    y = load.drop(load.index[1000:1003]).rename("PJM")
    with pytest.raises(ValidationError) as e:
        load_features(y)
    msg = str(e.value)
    assert "PJM" in msg and "not hourly and gap-free" in msg and str(load.index[999]) in msg
    assert str(load.index[1003]) in msg


def test_duplicates_and_unsorted_are_reported(load):
    y = pd.concat([load.iloc[:500], load.iloc[499:1000]]).rename("MISO")
    with pytest.raises(ValidationError, match=r"'MISO'.*1 duplicated timestamps in the load, first 2016-01-21 19:00"):
        load_features(y)
    z = load.iloc[:1000].copy()
    idx = z.index.to_numpy().copy()
    idx[[200, 201]] = idx[[201, 200]]
    z.index = pd.DatetimeIndex(idx)
    with pytest.raises(ValidationError, match=r"not increasing: 2016-01-09 09:00:00 is followed by 2016-01-09 08:00"):
        load_features(z.rename("ERCO"))


def test_nan_and_timezone_aware_index_are_reported(load):
    y = load.iloc[:2000].copy().rename("CISO")
    y.iloc[1500:1510] = np.nan
    with pytest.raises(ValidationError, match=r"'CISO'.*10 missing \(NaN\) load values, first at 2016-03-03 12:00"):
        load_features(y)
    with pytest.raises(ValidationError, match="timezone-naive UTC"):
        load_features(load.tz_localize("UTC"))


def test_history_too_short(load):
    with pytest.raises(ValidationError, match=r"'NYIS'.*history too short: 200 hours of load \(2016-01-01 00:00:00"):
        load_features(load.iloc[:200].rename("NYIS"))
    targets = pd.date_range("2016-01-05", periods=24, freq="h")
    with pytest.raises(ValidationError, match=r"forecast for 2016-01-05 00:00:00 needs load from 2015-12-"):
        load_features(load.rename("ISNE"), targets=targets)
    with pytest.raises(ValidationError, match=r"'DUK'.*history too short to fit"):
        HourlyLoadForecaster().fit_series(load.iloc[: 20 * 24].rename("DUK"))


def test_horizon_beyond_what_the_model_supports(load):
    for bad in ("month-ahead", 8, 0, "2.5"):
        with pytest.raises(ValidationError, match=r"horizon .* is beyond what the model supports"):
            horizon_days(bad, "SOCO")
    with pytest.raises(ValidationError, match=r"'TVA'.*horizon '14 days' is beyond"):
        load_features(load.rename("TVA"), horizon="14 days")
    assert horizon_days("week-ahead") == 7 and horizon_days(3) == 3


def test_forecast_beyond_the_observed_load(load, fitted):
    history = load[:"2017-06-30 23:00"].rename("SWPP")
    fitted.forecast(history, "2017-07-01")  # issued 23:00 on 30 June: fine
    with pytest.raises(ValidationError) as e:
        fitted.forecast(history, "2017-07-03")
    msg = str(e.value)
    assert "'SWPP'" in msg and "horizon beyond the data" in msg and "2017-07-03 00:00:00" in msg
    assert "observed only up to 2017-06-30 23:00:00" in msg


def test_fitted_with_exog_needs_exog(load):
    exog = pd.DataFrame({"temperature": np.sin(np.arange(load.size))}, index=load.index)
    m = HourlyLoadForecaster(max_iter=10).fit_series(load, end="2016-06-01", exog=exog)
    with pytest.raises(ValidationError, match="fitted with exogenous inputs"):
        m.forecast(load, "2016-06-02")
    assert len(m.forecast(load, "2016-06-02", exog=exog)) == 24


def test_level_feature_must_be_positive():
    X = pd.DataFrame({"level": [1.0, -1.0, 2.0, 3.0], "a": [1.0, 2.0, 3.0, 4.0]})
    with pytest.raises(ValueError, match="level feature must be positive"):
        HourlyLoadForecaster().fit(X, [1.0, 2.0, 3.0, 4.0])
