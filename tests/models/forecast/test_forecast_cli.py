"""``powerfirst forecast-demand`` and ``powerfirst forecast-load``."""

from __future__ import annotations

import json

import pytest

from powerfirst.cli import main


def test_forecast_demand_json(capsys):
    assert main(["forecast-demand", "--scenario", "Base,Headwinds", "--region", "US", "--years", "2024-2030",
                 "--format", "json"]) == 0
    recs = json.loads(capsys.readouterr().out)
    assert len(recs) == 2 * 7
    r2028 = next(r for r in recs if r["year"] == 2028 and r["scenario"] == "Base")
    assert r2028["published_low_twh"] == 325 and r2028["published_high_twh"] == 580
    assert r2028["outside_published"] is False and r2028["trend_q0.1_twh"] < r2028["trend_q0.9_twh"]
    assert r2028["peak_gw"] > r2028["average_gw"] > 0
    assert next(r for r in recs if r["year"] == 2024)["electricity_twh"] == 183


def test_forecast_demand_table_and_bad_scenario(capsys):
    assert main(["forecast-demand", "--region", "World", "--years", "2030-2035"]) == 0
    out = capsys.readouterr().out
    assert "World: data-centre electricity [TWh]" in out and "Lift-Off" in out
    assert main(["forecast-demand", "--scenario", "Warp"]) == 1
    assert "unknown scenario 'Warp'" in capsys.readouterr().err


@pytest.mark.realdata
def test_forecast_load_json(shared, capsys):
    rc = main(["forecast-load", "--source", str(shared / "eia930"), "--ba", "ISNE", "--train", "2016-2018",
               "--test", "2019", "--format", "json"])
    assert rc == 0
    out = json.loads(capsys.readouterr().out)
    for key in ("ba", "horizon", "mape", "mape_seasonal_naive", "mape_ba_forecast", "coverage_80", "pinball"):
        assert key in out
    assert out["ba"] == "ISNE" and out["horizon"] == "day-ahead" and out["n_hours"] == 8760
    assert out["mape"] < out["mape_seasonal_naive"] and out["mape_ba_forecast"] is not None


@pytest.mark.realdata
def test_forecast_load_errors(shared, capsys):
    # 2023 has no BA forecast in the 2025 release: the field is null, not an error
    rc = main(["forecast-load", "--source", str(shared / "eia930"), "--ba", "DUK", "--train", "2021-2022",
               "--test", "2023", "--format", "json"])
    assert rc == 0
    assert json.loads(capsys.readouterr().out)["mape_ba_forecast"] is None
    rc = main(["forecast-load", "--source", str(shared / "eia930"), "--ba", "DUK", "--train", "2021-2024",
               "--test", "2025"])
    assert rc == 1
    err = capsys.readouterr().err
    assert "'DUK'" in err and "test period 2025-01-01 00:00:00 .. 2025-12-31 23:00:00 lies outside the data" in err
    assert main(["forecast-load", "--source", str(shared / "eia930"), "--ba", "DUK", "--train", "2018-2019",
                 "--test", "2019"]) == 1
    assert "must come after the training years" in capsys.readouterr().err
