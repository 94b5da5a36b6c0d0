"""Demand-growth app: state without panel, the viewer's widgets and bindings, served models."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "models" / "forecast"))

from _forecast_data import synthetic_load  # noqa: E402

from powerfirst.apps.demand import DemandGrowth, DemandGrowthState  # noqa: E402
from powerfirst.models.forecast.annual import demand_cube  # noqa: E402
from powerfirst.models.forecast.backtest import backtest  # noqa: E402
from powerfirst.models.forecast.hourly import HourlyLoadForecaster  # noqa: E402
from powerfirst.viz.demand import fan_frame  # noqa: E402


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
    return DemandGrowthState(cube, results=dict(results))


def test_state_defaults_and_pickers(state):
    assert state.region == "US" and state.scenarios == ["Base", "Lift-Off", "High Efficiency", "Headwinds"]
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


def test_viewer_builds_and_reacts(state):
    app = DemandGrowth(state)
    template = app.__panel__()
    assert "Demand growth" in template.title
    assert app.fan.get_root() is not None
    assert app.backtest.get_root() is not None
    assert app.table.value.shape[0] == 2 and "model MAPE %" in app.table.value.columns
    app.region_select.value = "China"
    assert state.region == "China"
    app.ba_select.value = "BBB"
    assert state.ba == "BBB"
    app.month_slider.value = 1
    assert state.month == 1
    app.scenario_picker.value = ["Base"]
    assert state.scenarios == ["Base"]


def test_without_hourly_data_the_backtest_tab_says_how_to_get_it(cube):
    s = DemandGrowthState(cube)
    assert s.ba is None and s.backtest_frame() is None
    app = DemandGrowth(s)
    md = app._backtest(None, 7, 14)
    assert "POWERFIRST_SHARED_DATA" in md.object
    assert s.metrics_table().empty


def test_app_is_discovered():
    from powerfirst.apps import apps

    assert apps()["demand"] == ("powerfirst.apps.demand", "DemandGrowth")
