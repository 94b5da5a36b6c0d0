"""Demand-growth app: state from a scenario, what the dashboard shows, served models."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "models" / "forecast"))

from _app_data import options, shown_titles, tidy_grid_file  # noqa: E402
from _forecast_data import synthetic_load  # noqa: E402

from powerfirst.apps.demand import DemandGrowth, DemandGrowthState  # noqa: E402
from powerfirst.models.forecast.annual import demand_cube  # noqa: E402
from powerfirst.models.forecast.backtest import backtest  # noqa: E402
from powerfirst.models.forecast.hourly import HourlyLoadForecaster  # noqa: E402
from powerfirst.scenarios import Scenario  # noqa: E402
from powerfirst.viz.demand import fan_frame  # noqa: E402

SCENARIOS = ["Base", "Lift-Off", "High Efficiency", "Headwinds"]


@pytest.fixture(scope="module")
def cube():
    return demand_cube(years=range(2014, 2036))


@pytest.fixture(scope="module")
def results():
    out = {}
    for i, ba in enumerate(("AAA", "BBB")):
        y = synthetic_load(days=430, name=ba, seed=i)
        out[ba] = backtest(y, train=(2016, 2016), test=("2017-01-01", "2017-03-01"), ba_forecast=y * 1.03,
                           forecaster=HourlyLoadForecaster(max_iter=30, max_train_rows=3000))
    return out


@pytest.fixture
def state(cube, results):
    return DemandGrowthState(Scenario(), cube=cube, results=dict(results))


def test_state_defaults_and_pickers(state):
    assert state.region == "US" and state.scenarios == SCENARIOS
    assert state.param.ba.objects == ["AAA", "BBB"] and state.ba == "AAA"
    with pytest.raises(ValueError):
        state.region = "Atlantis"


def test_fan_frame_follows_region_and_scenarios(cube, state):
    f = fan_frame(cube, "World", ["Base"])
    assert set(f["paths"]["scenario"]) == {"Base"}
    assert f["published"]["year"].tolist() == [2030, 2035]
    assert f["history"]["year"].tolist() == [2024, 2025]
    state.region, state.scenarios = "World", ["Base", "Headwinds"]
    layers = state.fan()
    labels = {el.label for el in layers}
    assert {"Base", "Headwinds", "published range", "published history"} <= labels
    assert "Lift-Off" not in labels


def test_backtest_frame_window_and_metrics(state):
    state.ba, state.month = "BBB", 2
    frame = state.backtest_frame()
    assert frame.attrs["ba"] == "BBB" and state.window_start().month == 2
    t = state.metrics_table()
    assert list(t["ba"]) == ["AAA", "BBB"]
    assert (t["reduction_vs_seasonal_naive"] == (1 - t["mape"] / t["mape_seasonal_naive"]).round(3)).all()


def test_dashboard_shows_fan_backtest_and_metrics(state):
    app = DemandGrowth(state)
    assert app.__panel__().title == "powerfirst · Demand growth"
    # the fan of the region picked, one line per scenario picked
    assert {el.label for el in app.fan.object} >= {*SCENARIOS, "published range"}
    assert "World" in options(app.region_select) and app.region_select.value == "US"
    assert any("US" in t for t in shown_titles(app.fan))
    app.region_select.value = "China"
    assert state.region == "China" and any("China" in t for t in shown_titles(app.fan))
    app.scenario_picker.value = ["Base"]
    assert state.scenarios == ["Base"]
    assert {el.label for el in app.fan.object} & set(SCENARIOS) == {"Base"}
    # the backtest of the BA picked, titled with it; the metrics table has a row per BA backtested
    assert shown_titles(app.backtest)[0].startswith("AAA: ")
    app.ba_select.value = "BBB"
    assert state.ba == "BBB" and shown_titles(app.backtest)[0].startswith("BBB: ")
    app.month_slider.value = 1
    assert state.month == 1 and "2017-01-01 + 14 days" in shown_titles(app.backtest)[0]
    table = app.table.value
    assert list(table["BA"]) == ["AAA", "BBB"] and "model MAPE %" in table.columns
    assert table.set_index("BA").loc["BBB", "model MAPE %"] == pytest.approx(state.results["BBB"].to_record()["mape"],
                                                                           abs=0.01)
    app.scenario_select.value = "Headwinds"
    assert state.split_scenario == "Headwinds" and any("Headwinds" in t for t in shown_titles(app.workloads))


def test_built_from_a_scenario_uses_its_settings(tmp_path):
    sc = Scenario()
    sc.demand.scenarios, sc.demand.years, sc.demand.regions = ["Base", "Headwinds"], (2020, 2030), ["US", "World"]
    sc.grid.source = str(tidy_grid_file(tmp_path / "grid.csv", bas=("PJM", "ERCO"), start="2015-01-01",
                                        end="2020-01-01"))
    sc.grid.bas = ["PJM"]
    s = DemandGrowthState(sc)
    assert list(s.cube["scenario"].values) == ["Base", "Headwinds"]
    assert list(s.cube["year"].values) == list(range(2020, 2031))
    assert list(s.cube["region"].values) == ["US", "World"]
    # the backtests' hourly load: the scenario's grid source, its BAs, the training and test years
    assert s.param.ba.objects == ["PJM"]
    t = s.grid.indexes["time"]
    assert (t[0].year, t[-1].year) == (2015, 2019)
    app = DemandGrowth(s)
    assert options(app.scenario_picker) == ["Base", "Headwinds"]
    assert options(app.region_select) == ["US", "World"] and options(app.ba_select) == ["PJM"]


def test_without_hourly_data_the_backtest_tab_says_how_to_get_it(cube):
    s = DemandGrowthState(Scenario(), cube=cube)
    assert s.ba is None and s.backtest_frame() is None
    app = DemandGrowth(s)
    md = app._backtest(None, 7, 14)
    assert "grid.source" in md.object and "POWERFIRST_EIA930_SOURCE" in md.object
    assert "POWERFIRST_SHARED_DATA" in md.object
    assert s.metrics_table().empty and app.table.value.empty


def test_app_is_discovered():
    from powerfirst.apps import apps

    assert apps()["demand"] == ("powerfirst.apps.demand", "DemandGrowth")
