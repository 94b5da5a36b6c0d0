"""Time-to-power app: state from a scenario, what the dashboard shows, the widgets change the scenario."""

from __future__ import annotations

import numpy as np
import pytest
from _app_data import options, shown_titles

from powerfirst import demo_sites, sites_to_frame
from powerfirst.apps.time_to_power import DEFAULT_PATHS, TimeToPower, TimeToPowerState
from powerfirst.scenarios import Scenario

SITES = [str(s) for s in demo_sites()["site"].values[:8]]
TABLE_COLUMNS = ["path", "mw", "p10_months", "p50_months", "p90_months", "prob_by_36m", "best"]


def scenario(**settings) -> Scenario:
    sc = Scenario()
    sc.sites.select, sc.time_to_power.paths, sc.time_to_power.draws = SITES, list(DEFAULT_PATHS), 300
    for k, v in settings.items():
        sec, _, key = k.partition(".")
        setattr(getattr(sc, sec), key, v)
    return sc


@pytest.fixture(scope="module")
def state():
    return TimeToPowerState(scenario())


def test_state_summary(state):
    df = state.summary()
    assert list(df["path"]) == state.paths == list(DEFAULT_PATHS)
    assert df["best"].sum() == 1
    ok = df.dropna(subset=["p50_months"])
    assert (ok["p10_months"] <= ok["p50_months"]).all() and (ok["p50_months"] <= ok["p90_months"]).all()


def test_result_cached_and_recomputed_when_the_scenario_changes(state):
    a = state.result()
    assert state.result() is a
    state.scenario.time_to_power.correlation = 0.5
    b = state.result()
    assert b is not a and b.attrs["correlation"] == 0.5
    state.scenario.time_to_power.correlation = 0.0


def test_dashboard_shows_the_sites_table_and_figures(state):
    app = TimeToPower(state)
    assert app.__panel__().title == "powerfirst · Time to power"
    assert options(app.site_select) == SITES and app.site_select.value == SITES[0]
    assert options(app.path_select) == list(DEFAULT_PATHS)
    table = app.table.value
    assert list(table.columns) == TABLE_COLUMNS and list(table["path"]) == list(DEFAULT_PATHS)
    assert table["best"].sum() == 1
    row = table.set_index("path").loc["grid_firm"]
    expected = state.result()["first_power"].sel(site=SITES[0], path="grid_firm", quantile=0.5)
    assert row["p50_months"] == pytest.approx(float(expected), abs=0.005)
    assert row["mw"] == pytest.approx(float(state.result()["mw"].sel(site=SITES[0], path="grid_firm")), abs=0.005)
    assert 0 <= table["prob_by_36m"].min() and table["prob_by_36m"].max() <= 1
    # the tornado of the path picked, titled with the site and the path
    assert any("grid_firm" in t for t in shown_titles(app.tornado))
    before = table["p50_months"].to_numpy()
    app.site_select.value = SITES[3]
    after = app.table.value["p50_months"].to_numpy()
    assert not np.allclose(np.nan_to_num(before), np.nan_to_num(after))
    app.path_select.value = "onsite_bridge"
    assert any("onsite_bridge" in t and SITES[3] in t for t in shown_titles(app.tornado))
    state.site, state.path = SITES[0], "grid_firm"


def test_widgets_change_the_scenario(state):
    app = TimeToPower(state)
    sc = state.scenario
    app.draws_input.value = 400
    assert sc.time_to_power.draws == 400 and state.result().attrs["draws"] == 400
    app.seed_input.value = 3
    assert sc.seed == 3 and state.result().attrs["seed"] == 3
    app.corr_slider.value = 0.25
    assert sc.time_to_power.correlation == 0.25 and state.result().attrs["correlation"] == 0.25
    app.bridge_select.value = "fuel_cells"
    assert sc.time_to_power.bridge_technology == "fuel_cells"
    assert sc.to_dict()["time_to_power"]["draws"] == 400  # what a scenario file of the session would hold
    sc.time_to_power.draws, sc.seed, sc.time_to_power.correlation = 300, 0, 0.0
    sc.time_to_power.bridge_technology = "recip_engines"


def test_built_from_a_scenario_uses_its_settings():
    sc = scenario(**{"time_to_power.draws": 300, "time_to_power.paths": ["grid_firm", "onsite_bridge"],
                     "time_to_power.bridge_technology": "aeroderivative_turbines", "time_to_power.start": "2027-01-01"})
    sc.seed = 11
    app = TimeToPower(scenario=sc)
    ds = app.state.result()
    assert ds.attrs["draws"] == 300 and ds.attrs["seed"] == 11 and ds.attrs["start"] == "2027-01-01"
    assert list(ds["path"].values) == ["grid_firm", "onsite_bridge"]
    assert list(app.table.value["path"]) == ["grid_firm", "onsite_bridge"]
    assert options(app.path_select) == ["grid_firm", "onsite_bridge"]
    assert app.draws_input.value == 300 and app.seed_input.value == 11
    assert app.bridge_select.value == "aeroderivative_turbines"
    assert options(app.site_select) == SITES


def test_default_scenario_shows_every_demo_site_and_the_ramps():
    s = TimeToPowerState()
    assert s.scenario.sites.source == "demo" and s.paths == list(DEFAULT_PATHS)
    assert s.scenario.time_to_power.draws == 2000
    assert list(s.sites["site"].values) == list(demo_sites()["site"].values)


def test_sidebar_says_where_the_sites_come_from(tmp_path):
    demo = TimeToPower(scenario=scenario())
    assert "Demo sites are illustrative." in demo.__panel__().sidebar[0][0].object
    path = tmp_path / "my_sites.csv"
    sites_to_frame(demo_sites().isel(site=slice(0, 3))).to_csv(path, index=False)
    sc = scenario()
    sc.sites.source, sc.sites.select = str(path), []
    mine = TimeToPower(scenario=sc)
    text = mine.__panel__().sidebar[0][0].object
    assert "Sites from `my_sites.csv`." in text and "Demo sites" not in text
    assert options(mine.site_select) == SITES[:3]


def test_views_return_holoviews(state):
    import holoviews as hv

    from powerfirst.viz.time_to_power import energisation_fan, mw_ramp, tornado_chart, tornado_frame

    ds, site = state.result(), state.site
    assert isinstance(energisation_fan(ds, site), hv.Overlay)
    assert isinstance(mw_ramp(ds, site), hv.core.Dimensioned)
    tf = tornado_frame(ds, site, "grid_firm")
    assert tf["swing"].is_monotonic_increasing and (tf["at P10"] <= tf["at P90"] + 1e-9).all()
    assert isinstance(tornado_chart(ds, site, "grid_firm"), hv.core.Dimensioned)


def test_app_is_discovered():
    from powerfirst.apps import apps

    assert apps()["time_to_power"] == ("powerfirst.apps.time_to_power", "TimeToPower")
