"""Flexibility app: state from a scenario, what the dashboard shows, views, discovery."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from _app_data import options, shown_categories, shown_titles, tidy_grid_file

from powerfirst.scenarios import Scenario

SUMMARY_COLUMNS = ["scenario", "unserved [MWh]", "unserved [h]", "grid [MWh]", "grid peak [MW]"]


@pytest.fixture(scope="module")
def state():
    from conftest import synthetic_energy_cube

    from powerfirst import demo_sites
    from powerfirst.apps.flexibility import FlexibilityState

    sites = demo_sites().isel(site=slice(0, 10))
    energy = synthetic_energy_cube(sites)
    t = energy.indexes["time"]
    bas = sorted(set(map(str, energy["ba"].values)))
    ba_load = xr.DataArray(np.tile(5e4 + 1e4 * np.sin(2 * np.pi * np.arange(len(t)) / 24), (len(bas), 1)),
                           dims=("ba", "time"), coords={"ba": bas, "time": t})
    return FlexibilityState(Scenario(), sites=sites, energy=energy, ba_load=ba_load, site="PJM-007",
                            flexible_mw=(0, 100, 300))


def test_state_results(state):
    res = state.result()
    assert list(res["scenario"].values) == ["base", "no storage", "custom"]
    assert state.result() is res  # cached
    df = state.summary()
    assert list(df["scenario"]) == ["base", "no storage", "custom"]
    assert "unserved [MWh]" in df.columns and (df["storage cycles [1]"].iloc[1] == 0)
    h = state.hourly()
    assert h.sizes["site"] == 1 and "facility_load" in h and h.sizes["time"] == 8760
    state.storage_scale = 2.0
    res2 = state.result()
    assert res2 is not res
    np.testing.assert_allclose(res2["storage_mw"].sel(scenario="custom").values,
                               2 * res2["storage_mw"].sel(scenario="base").values)
    state.storage_scale = 1.0


def test_custom_flex_share_only_for_training(state):
    state.flex_share = 0.3
    p = state.result()["flex_share"].sel(scenario="custom")
    w = state.sites.sel(site=p["site"].values)["workload"].values
    assert (p.values[w == "training"] == 0.3).all() and (p.values[w != "training"] == 0).all()
    state.flex_share = 0.2


def test_tradeoff_and_vpp(state):
    tr = state.tradeoff()
    assert list(tr["flexible_mw"].values) == [0, 100, 300]
    v = state.vpp()
    assert v is not None and set(v["scenario"].values) == {"base", "no storage", "custom"}
    assert (v["peak_reduction_mw"].sel(scenario="no storage") <= v["peak_reduction_mw"].sel(scenario="base") + 1e-9).all()


def test_dashboard_shows_the_site_table_stack_and_vpp(state):
    from powerfirst.apps.flexibility import Flexibility

    app = Flexibility(state)
    tmpl = app.__panel__()
    assert tmpl.title == "powerfirst · Flexibility"
    assert "Demo sites are illustrative." in tmpl.sidebar[0][0].object
    table = app.table.value
    assert list(table.columns[:5]) == SUMMARY_COLUMNS
    assert list(table["scenario"]) == ["base", "no storage", "custom"]
    res = state.result().sel(site="PJM-007", scenario="base")
    base = table.set_index("scenario").loc["base"]
    assert base["grid [MWh]"] == pytest.approx(float(res["grid_import"]), abs=1e-3)
    assert base["total cost [MUSD]"] == pytest.approx(float(res["total_cost"]) / 1e6, abs=1e-3)
    assert table.set_index("scenario").loc["no storage", "storage cycles [1]"] == 0
    assert shown_titles(app.stack) == ["PJM-007 / custom: dispatch, week of 2023-07-16"]
    state.week = 2
    assert shown_titles(app.stack) == ["PJM-007 / custom: dispatch, week of 2023-01-15"]
    site = state.param.site.objects[2]
    state.site = site
    assert shown_titles(app.stack)[0].startswith(f"{site} / custom:")
    assert list(app.table.value["scenario"]) == ["base", "no storage", "custom"]
    assert app.table.value.iloc[0]["grid [MWh]"] == pytest.approx(
        float(state.result()["grid_import"].sel(site=site, scenario="base")), abs=1e-3)
    # the VPP of the BA picked: its duration curve and the bars of every BA
    ba = state.ba
    assert any(ba in t for t in shown_titles(app.vpp_curve))
    assert sorted(shown_categories(app.vpp_bars)) == sorted(state.param.ba.objects)
    state.site, state.week = "PJM-007", 28


def test_built_from_a_scenario_uses_its_settings(tmp_path):
    from conftest import synthetic_energy_cube

    from powerfirst import demo_sites
    from powerfirst.apps.flexibility import Flexibility, FlexibilityState

    pjm = [str(s) for s in demo_sites()["site"].values if str(s).startswith("PJM")][:3]
    sc = Scenario()
    sc.sites.select = pjm
    sc.grid.source, sc.grid.years = str(tidy_grid_file(tmp_path / "grid.csv", bas=("PJM",))), (2022, 2023)
    sc.headroom.flexible_limit = 0.25
    sc.dispatch.scenarios = {"base": {}, "big_battery": {"storage_scale": 2}}
    sc.dispatch.window_hours = 12
    s = FlexibilityState(sc, energy=synthetic_energy_cube(demo_sites().sel(site=pjm)), flexible_mw=(0, 100))
    assert list(s.sites["site"].values) == pjm  # the scenario's sites
    res = s.result()
    assert list(res["scenario"].values) == ["base", "big_battery", "no storage", "custom"]
    np.testing.assert_allclose(res["storage_mw"].sel(scenario="big_battery").values,
                               2 * res["storage_mw"].sel(scenario="base").values)
    # curtailment events of the scenario's grid data at its flexible limit; the BA load for the VPP
    assert str(s.curtailment["curtailment_source"].sel(ba="PJM").values) == "EIA-930 load, pro rata at the 0.25 % limit"
    assert s.param.ba.objects == ["PJM"] and s.vpp() is not None
    app = Flexibility(s)
    assert options(app.widgets[1]) == ["base", "big_battery", "no storage", "custom"]
    assert list(app.table.value["scenario"]) == ["base", "big_battery", "no storage", "custom"]
    # the scenario is the state: another limit, other curtailment, other results
    sc.headroom.flexible_limit = 1.0
    assert "at the 1 % limit" in str(s.curtailment["curtailment_source"].sel(ba="PJM").values)
    assert s.result() is not res


def test_without_grid_data_the_dispatch_uses_the_stylised_events(state):
    assert state.scenario.grid.source is None and state.curtailment is None
    assert "stylised" in state.result().attrs.get("curtailment_source", "stylised")


def test_views_return_holoviews(state):
    import holoviews as hv

    from powerfirst.viz.dispatch import (
        dispatch_stack,
        sizing_tradeoff_plot,
        vpp_bars,
        vpp_duration_curve,
        week_frame,
    )

    h = state.hourly()
    df = week_frame(h, "PJM-007", "base", 10)
    assert len(df) == 168
    stack = df[["renewables used", "grid", "storage discharge", "on-site generation", "deferred", "unserved"]].sum(axis=1)
    np.testing.assert_allclose(stack, df["load + charging"], atol=1e-6)  # the stack adds up
    assert isinstance(dispatch_stack(h, "PJM-007", "base", 10), hv.Overlay)
    assert isinstance(sizing_tradeoff_plot(state.tradeoff(), "PJM-007"), hv.Overlay)
    assert isinstance(vpp_bars(state.vpp(), "base"), hv.Bars)
    assert isinstance(vpp_duration_curve(np.arange(100.0), 10.0, ba="X"), hv.Overlay)


def test_app_is_discovered():
    from powerfirst.apps import apps

    assert apps()["flexibility"] == ("powerfirst.apps.flexibility", "Flexibility")
