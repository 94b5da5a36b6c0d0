"""Headroom app: state from a scenario, what the dashboard shows, the shared grid loader."""

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from _app_data import options, shown_titles, tidy_grid_file

from powerfirst.apps._data import grid_cube
from powerfirst.apps.headroom import CURVE_LIMITS, Headroom, HeadroomState
from powerfirst.scenarios import Scenario


@pytest.fixture
def load():
    t = pd.date_range("2021-01-01", "2022-12-31 23:00", freq="h")
    doy, hour = t.day_of_year.values, t.hour.values
    base = 1000 + 300 * np.cos(2 * np.pi * (doy - 200) / 365) ** 2 + 100 * np.sin(np.pi * hour / 23)
    data = np.stack([base, 2 * base])
    return xr.DataArray(data, dims=("ba", "time"), coords={"ba": ["AAA", "BBB"], "time": t,
                                                          "timezone": ("ba", ["UTC", "UTC"])})


def test_state_curve_and_events(load):
    s = HeadroomState(Scenario(), load=load)
    c = s.curve()
    assert (np.diff(c.values) >= 0).all()
    s.ba, s.limit = "BBB", 1.0
    ev = s.events()
    assert ev["summary"]["curtailment_rate"] == pytest.approx(0.01, rel=1e-6)
    tab = s.table()
    assert set(tab["ba"]) == {"AAA", "BBB", "TOTAL"}


def test_dashboard_shows_table_curve_and_heatmap_of_the_selected_ba(load):
    app = Headroom(HeadroomState(Scenario(), load=load))
    assert app.__panel__().title == "powerfirst · Headroom"
    table = app.table.value
    assert list(table.columns) == ["ba", "limit_pct", "headroom_mw", "curtailed_hours_per_year", "mean_event_hours",
                                   "share_hours_half_served"]
    assert sorted(set(table["limit_pct"])) == [0.25, 0.5, 1.0, 5.0]
    at = table[table["limit_pct"] == 0.5].set_index("ba")["headroom_mw"]
    assert at["BBB"] == pytest.approx(2 * at["AAA"], abs=0.2)  # BBB is AAA doubled
    assert at["TOTAL"] == pytest.approx(at["AAA"] + at["BBB"], abs=0.2)
    assert app.limit_select.value == 0.5 and options(app.limit_select) == [0.25, 0.5, 1.0, 5.0]
    # the curve of the selected BA over the fine grid of limits, the table's limits marked on it
    assert shown_titles(app.curve) == ["AAA: flexible headroom against the curtailment limit"]
    line, marks = app.curve.object.values()
    assert line.range("limit") == (CURVE_LIMITS[0], CURVE_LIMITS[-1])
    assert sorted(marks.dimension_values("limit")) == [0.25, 0.5, 1.0, 5.0]
    np.testing.assert_allclose(sorted(marks.dimension_values("headroom_mw")),
                               sorted(table[table["ba"] == "AAA"]["headroom_mw"]), atol=0.1)
    assert shown_titles(app.heat) == [f"AAA at 0.5 %: curtailed hours ({at['AAA']:,.0f} MW new load)"]
    # choosing another BA and limit in the sidebar redraws for them
    app.ba_select.value, app.limit_select.value = "BBB", 5.0
    assert shown_titles(app.curve) == ["BBB: flexible headroom against the curtailment limit"]
    assert shown_titles(app.heat)[0].startswith("BBB at 5 %: curtailed hours")
    assert shown_titles(app.bars) == ["Flexible headroom at 5 % curtailment"]
    assert list(app.bars.object.dimension_values("ba")) == ["AAA", "BBB"]


def test_limits_come_from_the_scenario(load):
    sc = Scenario()
    sc.headroom.limits, sc.headroom.flexible_limit = [1.0, 5.0], 5.0
    s = HeadroomState(sc, load=load)
    assert sorted(set(s.table()["limit_pct"])) == [1.0, 5.0]
    assert list(s.result["limit"].values) == [1.0, 5.0]
    app = Headroom(s)
    assert sorted(set(app.table.value["limit_pct"])) == [1.0, 5.0]
    assert options(app.limit_select) == [1.0, 5.0] and app.limit_select.value == 5.0  # headroom.flexible_limit
    # the scenario is the state: a change of its limits changes the table and the limit picker
    sc.headroom.limits = [0.5, 2.0]
    assert sorted(set(app.table.value["limit_pct"])) == [0.5, 2.0]
    assert options(app.limit_select) == [0.5, 2.0] and app.limit_select.value == 0.5


def test_grid_data_come_from_the_scenario_and_are_read_once(tmp_path):
    sc = Scenario()
    sc.grid.source, sc.grid.years = str(tidy_grid_file(tmp_path / "grid.csv")), (2022, 2023)
    app = Headroom(scenario=sc)
    assert app.state.scenario is sc
    assert options(app.ba_select) == ["ERCO", "PJM"]
    t = app.state.load.indexes["time"]
    assert (t[0], t[-1]) == (pd.Timestamp("2022-01-01 00:00"), pd.Timestamp("2023-12-31 23:00"))
    table = app.table.value.set_index(["ba", "limit_pct"])["headroom_mw"]
    assert table["PJM", 0.5] > 0 and table["ERCO", 0.5] > 0
    assert table["TOTAL", 0.5] == pytest.approx(table["PJM", 0.5] + table["ERCO", 0.5], abs=0.2)
    # one cached grid cube per grid setting, shared by every app and session
    assert grid_cube(sc) is grid_cube(sc)
    sc2 = sc.copy(**{"grid.years": [2023, 2023]})
    assert grid_cube(sc2) is not grid_cube(sc)
    assert HeadroomState(sc2).load.indexes["time"][0] == pd.Timestamp("2023-01-01")


def test_without_grid_data_the_app_says_how_to_get_it():
    app = Headroom(scenario=Scenario())
    assert app.state is None
    md = app.__panel__().object
    assert "grid.source" in md and "POWERFIRST_EIA930_SOURCE" in md
    with pytest.raises(ValueError, match="no grid source"):
        HeadroomState(Scenario())


def test_app_is_discovered():
    from powerfirst.apps import apps

    assert apps()["headroom"] == ("powerfirst.apps.headroom", "Headroom")


def test_event_table_on_the_page_follows_the_ba_and_limit(load):
    """The page holds one event table whose rows follow the BA and limit picked (a served page kept the first
    table when a new one was made at each change)."""
    from bokeh.document import Document

    app = Headroom(HeadroomState(Scenario(), load=load))
    doc = Document()
    root = app.events.get_root(doc)
    first = app.events.value.copy()
    assert len(first) and first["energy_mwh"].is_monotonic_decreasing
    app.ba_select.value = "BBB"
    assert app.events.get_root(doc) is not None and app.events._models[root.ref["id"]][0] is root
    want = app.state.events()["events"].sort_values("energy_mwh", ascending=False).head(200)
    np.testing.assert_allclose(app.events.value["energy_mwh"], want["energy_mwh"])
    assert not np.allclose(app.events.value["energy_mwh"].iloc[:5], first["energy_mwh"].iloc[:5])
