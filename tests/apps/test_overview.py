import numpy as np
import pytest

from powerfirst.apps.overview import Overview, OverviewState
from powerfirst.schema import check


@pytest.fixture
def state(small_sites, energy_factory):
    energy = energy_factory(small_sites)
    assert check(energy, "energy", values=True) == []
    return OverviewState(small_sites, energy)


def test_state_summary_has_every_site_and_units(state, small_sites):
    frame = state.map_frame()
    assert list(frame["site"]) == list(small_sites.site.values)
    assert state.variable == "solar_cf_mean"
    assert state.label() == "annual mean solar PV capacity factor [1]"
    assert "target_mw" in state.param.variable.objects
    np.testing.assert_allclose(frame["solar_cf_mean"], state.energy["solar_cf"].mean("time").values)


def test_variable_change_changes_map_values(state):
    a = state.map_frame()["solar_cf_mean"].to_numpy()
    state.variable = "pue_mean"
    b = state.map_frame()["pue_mean"].to_numpy()
    assert not np.allclose(a, b)
    with pytest.raises(ValueError):
        state.variable = "not_a_variable"


def test_profile_frame_month(state):
    state.month = 2
    df = state.profile_frame()
    assert len(df) == 28 * 24
    assert df["time"].dt.month.eq(2).all()
    assert df.attrs["units"]["carbon_intensity"] == "gCO2 kWh-1"


def test_viewer_builds_and_reacts(state):
    app = Overview(state)
    template = app.__panel__()
    assert "Overview" in template.title
    root = app.map.get_root()
    assert root is not None
    assert app.table.value.shape[0] == state.summary.shape[0]
    first = app.table.value["value"].to_numpy().copy()
    app.variable_select.value = "wind_cf_mean"
    assert state.variable == "wind_cf_mean"
    assert not np.allclose(app.table.value["value"].to_numpy(), first)
    # selecting a table row selects the site of the detail
    app.table.selection = [3]
    assert state.site == state.summary["site"].iloc[3]
