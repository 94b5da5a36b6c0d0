"""Time-to-power app: state, views, discovery, and the notebook (executed)."""

from __future__ import annotations

import numpy as np
import pytest

from powerfirst import demo_sites


@pytest.fixture(scope="module")
def state():
    from powerfirst.apps.time_to_power import TimeToPowerState

    return TimeToPowerState(demo_sites().isel(site=slice(0, 8)), draws=300)


def test_state_summary(state):
    df = state.summary()
    assert list(df["path"]) == state.paths
    assert df["best"].sum() == 1
    ok = df.dropna(subset=["p50_months"])
    assert (ok["p10_months"] <= ok["p50_months"]).all() and (ok["p50_months"] <= ok["p90_months"]).all()


def test_result_cached_and_recomputed(state):
    a = state.result()
    assert state.result() is a
    state.correlation = 0.5
    b = state.result()
    assert b is not a and b.attrs["correlation"] == 0.5
    state.correlation = 0.0


def test_viewer_builds_and_reacts(state):
    from powerfirst.apps.time_to_power import TimeToPower

    app = TimeToPower(state)
    app.__panel__()
    for pane in (app.fan, app.cdf, app.ramp, app.tornado, app.table):
        pane.get_root()
    before = app.table.value["p50_months"].to_numpy()
    state.site = state.param.site.objects[3]
    after = app.table.value["p50_months"].to_numpy()
    assert not np.allclose(np.nan_to_num(before), np.nan_to_num(after))
    state.path = "onsite_bridge"
    assert "onsite_bridge" in app.tornado.object.opts.get().kwargs["title"]


def test_views_return_holoviews(state):
    import holoviews as hv

    from powerfirst.viz.time_to_power import energisation_fan, mw_ramp, tornado_chart, tornado_frame

    ds, site = state.result(), state.site
    assert isinstance(energisation_fan(ds, site), hv.Overlay)
    assert isinstance(mw_ramp(ds, site), hv.core.Dimensioned)
    tf = tornado_frame(ds, site, "grid_firm")
    assert tf["swing"].is_monotonic_increasing and (tf["at P10"] <= tf["at P90"] + 1e-9).all()
    assert tornado_chart(ds, site, "grid_firm") is not None


def test_app_is_discovered():
    from powerfirst.apps import apps

    assert apps()["time_to_power"] == ("powerfirst.apps.time_to_power", "TimeToPower")
