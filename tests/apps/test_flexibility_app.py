"""Flexibility app: state, views, discovery, and the notebook (executed)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr


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
    return FlexibilityState(sites, energy, ba_load=ba_load, site="PJM-007", flexible_mw=(0, 100, 300))


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


def test_viewer_builds_and_reacts(state):
    from powerfirst.apps.flexibility import Flexibility

    app = Flexibility(state)
    tmpl = app.__panel__()
    assert "Flexibility" in tmpl.title
    for pane in (app.stack, app.table, app.tradeoff):
        pane.get_root()
    before = app.stack.object.opts.get().kwargs["title"]
    state.week = 2
    after = app.stack.object.opts.get().kwargs["title"]
    assert before != after and "week of 2023-01" in after
    state.site = state.param.site.objects[2]
    assert state.site in app.stack.object.opts.get().kwargs["title"]
    assert isinstance(app.table.value, pd.DataFrame) and len(app.table.value) == 3
    state.site = "PJM-007"


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
    assert vpp_bars(state.vpp(), "base") is not None
    assert isinstance(vpp_duration_curve(np.arange(100.0), 10.0, ba="X"), hv.Overlay)


def test_app_is_discovered():
    from powerfirst.apps import apps

    assert apps()["flexibility"] == ("powerfirst.apps.flexibility", "Flexibility")
