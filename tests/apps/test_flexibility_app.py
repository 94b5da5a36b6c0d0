"""Flexibility app: state from a scenario, what the dashboard shows, views, discovery."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from _app_data import options, shown_categories, shown_titles, tidy_grid_file

from powerfirst.scenarios import Scenario

SUMMARY_COLUMNS = ["scenario", "facility demand [MWh]", "unserved [MWh]", "unserved [h]", "grid [MWh]"]


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
    assert list(df.columns[:5]) == SUMMARY_COLUMNS and (df["storage cycles [1]"].iloc[1] == 0)
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
    table = app.table.value.set_index("figure")
    assert list(table.columns) == ["base", "no storage", "custom"]
    res = state.result().sel(site="PJM-007", scenario="base")
    assert table.loc["grid [MWh]", "base"] == f"{float(res['grid_import']):,.0f}"
    assert table.loc["storage cycles [1]", "no storage"] in ("0", "0.0", "0.00", "0.000")
    assert shown_titles(app.stack) == ["PJM-007 / custom: dispatch, week of 2023-07-16"]
    state.week = 2
    assert shown_titles(app.stack) == ["PJM-007 / custom: dispatch, week of 2023-01-15"]
    site = state.param.site.objects[2]
    state.site = site
    assert shown_titles(app.stack)[0].startswith(f"{site} / custom:")
    assert list(app.table.value.columns) == ["figure", "base", "no storage", "custom"]
    grid = float(state.result()["grid_import"].sel(site=site, scenario="base"))
    assert app.table.value.set_index("figure").loc["grid [MWh]", "base"] == f"{grid:,.0f}"
    # the VPP of the BA picked: its duration curve and the bars of every BA
    ba = state.ba
    assert any(ba in t for t in shown_titles(app.vpp_curve))
    assert sorted(shown_categories(app.vpp_bars)) == sorted(state.param.ba.objects)
    state.site, state.week = "PJM-007", 28


def test_table_shows_every_figure_of_the_cli_including_cost_and_emissions(state):
    """The issue: a row per scenario ran to 16 columns and cost and emissions were off the right edge. Now one
    row per figure: every figure `powerfirst dispatch` prints, in view, with the CLI's values."""
    from powerfirst.apps.flexibility import Flexibility
    from powerfirst.scenarios.report import dispatch_records
    from powerfirst.viz._format import format_number

    app = Flexibility(state)
    table = app.table.value.set_index("figure")
    cli = {(r["site"], r["scenario"]): r for r in dispatch_records(state.result())}
    pairs = {"facility demand [MWh]": "demand_mwh", "unserved [MWh]": "unserved_mwh", "unserved [h]": "unserved_h",
             "grid [MWh]": "grid_mwh", "grid peak [MW]": "grid_peak_mw", "curtailed [MWh]": "curtailed_mwh",
             "curtailment ridden through [MWh]": "ridden_through_mwh", "storage cycles [1]": "storage_cycles",
             "generation [MWh]": "generation_mwh", "generation [h]": "generation_h",
             "self-consumption [1]": "self_consumption", "total cost [MUSD]": "total_cost_musd",
             "emissions [ktCO2]": "emissions_kt", "carbon-free share [1]": "cfe_share",
             "IT MWh per grid MWh [1]": "it_per_grid_mwh"}
    assert list(table.index) == list(pairs)  # every CLI figure, none hidden
    one = next(iter(cli.values()))
    assert set(pairs.values()) == set(one) - {"site", "scenario"}
    for label, key in pairs.items():
        for sc in table.columns:
            want = cli[("PJM-007", sc)][key]
            shown = table.loc[label, sc]
            # the shown text is the CLI's number to the row's precision
            assert float(shown.replace(",", "")) == pytest.approx(want, rel=0.006, abs=0.51 * 10 ** -max(
                len(shown.partition(".")[2]), 0)), (label, sc, shown, want)
    cost = table.loc["total cost [MUSD]", "base"]
    assert cost == format_number(float(state.result()["total_cost"].sel(site="PJM-007", scenario="base")) / 1e6,
                                 len(cost.partition(".")[2]))
    assert float(table.loc["emissions [ktCO2]", "base"].replace(",", "")) > 0
    # one column per scenario beside the figure names: fits a page
    assert len(table.columns) == len(state.result()["scenario"]) and app.table.layout == "fit_data_stretch"


def test_sizing_axis_follows_the_site_mw():
    """The issue: the trade-off always swept 0-400 MW, also for a 19 MW site. Now the flexible MW tried run
    from 0 to the site's non-firm need (its whole target where firm headroom covers it) and the axis follows."""
    import holoviews as hv
    from conftest import synthetic_energy_cube

    from powerfirst import demo_sites
    from powerfirst.apps.flexibility import (
        FLEXIBLE_SHARES,
        OPTION_SHARES,
        Flexibility,
        FlexibilityState,
    )
    from powerfirst.viz.dispatch import sizing_tradeoff_plot

    sites = demo_sites().sel(site=["PJM-001", "PJM-009"])
    st = FlexibilityState(Scenario(), sites=sites, energy=synthetic_energy_cube(sites), site="PJM-001")
    target = {s: float(sites["target_mw"].sel(site=s)) for s in ("PJM-001", "PJM-009")}
    firm = {s: float(sites["firm_headroom_mw"].sel(site=s)) for s in ("PJM-001", "PJM-009")}
    assert target["PJM-001"] == 19 and firm["PJM-001"] == 19  # a 19 MW site, firm for its whole size
    need = {"PJM-001": target["PJM-001"], "PJM-009": target["PJM-009"] - firm["PJM-009"]}
    app = Flexibility(st)
    for site in ("PJM-001", "PJM-009"):
        st.site = site
        sizes = st.sizes()
        assert sizes["flexible_mw"] == pytest.approx([f * need[site] for f in FLEXIBLE_SHARES])
        assert sizes["storage_mw"] == pytest.approx([f * target[site] for f in OPTION_SHARES])
        tr = st.tradeoff()
        assert float(tr["flexible_mw"].max()) == pytest.approx(need[site])
        fig = hv.render(sizing_tradeoff_plot(tr, site))
        assert (fig.x_range.start, fig.x_range.end) == (0, pytest.approx(need[site]))
        assert fig.xaxis[0].axis_label == "MW connected on a flexible connection [MW]"
        shown = app.tradeoff.get_root()
        from bokeh.models import Plot

        plot = next(iter(shown.select({"type": Plot})))
        assert plot.x_range.end == pytest.approx(need[site])  # what the dashboard draws
    with pytest.raises(ValueError, match="target_mw must be a number > 0"):
        FlexibilityState(Scenario(), sites=sites.assign(target_mw=("site", [0.0, 10.0])),
                         energy=synthetic_energy_cube(sites), site="PJM-001").sizes()


def test_legends_sit_beside_the_curves(state):
    import holoviews as hv

    from powerfirst.viz.dispatch import dispatch_stack, sizing_tradeoff_plot

    for chart in (dispatch_stack(state.hourly(), "PJM-007", "base", 10), sizing_tradeoff_plot(state.tradeoff(),
                                                                                             "PJM-007")):
        fig = hv.render(chart)
        assert not any(type(m).__name__ == "Legend" for m in fig.center)
        legends = [m for m in fig.right if type(m).__name__ == "Legend"]
        assert len(legends) == 1
    stack = hv.render(dispatch_stack(state.hourly(), "PJM-007", "base", 10))
    names = {it.label["value"] for lg in stack.right if type(lg).__name__ == "Legend" for it in lg.items}
    assert {"facility load", "load + charging", "grid limit", "grid", "renewables used"} <= names


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
    assert list(app.table.value.columns) == ["figure", "base", "big_battery", "no storage", "custom"]
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
