"""A test year at the end of the data: EIA-930 end-of-hour stamps, shifted to hour-beginning, end at 22:00
UTC on 31 December, one hour short of the year; ``edge_hours`` scores the year up to that hour."""

from __future__ import annotations

import json
import time

import pandas as pd
import pytest
from _forecast_data import synthetic_load

from powerfirst.errors import ValidationError
from powerfirst.models.forecast.backtest import backtest


def end_of_hour_load(last_stamp="2019-01-01 00:00"):
    """Hourly load 2016-2018 as an EIA-930 reader returns it: end-of-hour stamps 2016-01-01 01:00 ..
    ``last_stamp``, each labelled by the start of its hour (one hour earlier)."""
    load = synthetic_load(start="2016-01-01", days=3 * 365 + 1)
    stamps = load.index + pd.Timedelta(hours=1)  # the file's end-of-hour stamps
    load = load[stamps <= pd.Timestamp(last_stamp)]
    load.index = stamps[stamps <= pd.Timestamp(last_stamp)] - pd.Timedelta(hours=1)
    return load


def test_test_year_at_the_data_edge_is_scored_to_its_last_hour():
    load = end_of_hour_load("2018-12-31 23:00")  # the last end-of-hour stamp of 2018: hour 22:00-23:00
    assert load.index[-1] == pd.Timestamp("2018-12-31 22:00")
    with pytest.raises(ValidationError) as exc:
        backtest(load.rename("AZPS"), train=(2016, 2017), test=2018)
    msg = str(exc.value)
    assert "'AZPS'" in msg and "test period 2018-01-01 00:00:00 .. 2018-12-31 23:00:00 lies outside the data" in msg
    assert "its last 1 hour(s) are past the end of the data, more than edge_hours=0" in msg
    # the last quarter of 2018 (2,208 hours) stands for the year: the same edge, a quarter of the run time
    res = backtest(load.rename("AZPS"), train=(2016, 2017), test=("2018-10-01", "2019-01-01"), edge_hours=1)
    m = res.metrics
    assert (m["n_hours_test"], m["n_hours_scored"], m["n_hours_past_data"], m["n_hours"]) == (2208, 2207, 1, 2207)
    assert m["test_period"] == "2018-10-01 00:00:00 .. 2018-12-31 22:00:00"
    assert res.frame.index[0] == pd.Timestamp("2018-10-01") and res.frame.index[-1] == load.index[-1]
    assert res.frame.attrs["n_hours_scored"] == 2207 and res.frame.attrs["n_hours_past_data"] == 1
    assert m["mape"] < m["mape_seasonal_naive"]
    # with the hour present every hour is scored, edge_hours or not
    full = synthetic_load(start="2016-01-01", days=3 * 365 + 1)
    m_full = backtest(full, train=(2016, 2017), test=("2018-10-01", "2019-01-01"), edge_hours=1).metrics
    assert (m_full["n_hours_scored"], m_full["n_hours_past_data"]) == (2208, 0)


def test_more_hours_missing_than_allowed_is_an_error():
    load = end_of_hour_load("2018-12-31 22:00")  # two hours short: not the conversion alone
    with pytest.raises(ValidationError, match="its last 2 hour\\(s\\) are past the end of the data, more than "
                                              "edge_hours=1"):
        backtest(load, train=(2016, 2017), test=2018, edge_hours=1)
    with pytest.raises(ValueError, match="edge_hours must be a whole number of hours >= 0, found -1"):
        backtest(load, train=(2016, 2017), test=2018, edge_hours=-1)
    with pytest.raises(ValueError, match="found 0.5"):
        backtest(load, train=(2016, 2017), test=2018, edge_hours=0.5)
    # a test year wholly past the data stays an error
    with pytest.raises(ValidationError, match="test period 2019-01-01 00:00:00 .. 2019-12-31 23:00:00 lies outside"):
        backtest(load, train=(2016, 2017), test=2019, edge_hours=1)


@pytest.mark.realdata
def test_forecast_load_azps_2024(shared, capsys):
    """The command of the issue: AZPS trained 2021-2023, tested 2024, whose data end at 2024-12-31 22:00."""
    from powerfirst.cli import main

    t0 = time.perf_counter()
    rc = main(["forecast-load", "--source", str(shared / "eia930"), "--ba", "AZPS", "--train", "2021-2023",
               "--test", "2024", "--format", "json"])
    assert rc == 0
    out = json.loads(capsys.readouterr().out)
    assert (out["n_hours_test"], out["n_hours_scored"], out["n_hours_past_data"]) == (8784, 8783, 1)
    assert out["test_period"] == "2024-01-01 00:00:00 .. 2024-12-31 22:00:00"
    # measured 3.87 % (seasonal naive 8.98 %); the model is deterministic on fixed files
    assert out["mape"] == pytest.approx(3.87, abs=0.05)
    assert out["mape_seasonal_naive"] == pytest.approx(8.977, abs=0.01)
    rc = main(["forecast-load", "--source", str(shared / "eia930"), "--ba", "AZPS", "--train", "2021-2023",
               "--test", "2024"])
    assert rc == 0
    text = capsys.readouterr().out
    assert "scored 8,783 of the 8,784 hours of 2024" in text and "the last 1 hour(s) are not in the data" in text
    assert time.perf_counter() - t0 < 60
