"""Overview app: state from a scenario, what the dashboard shows."""

import numpy as np
import pytest
from _app_data import options, shown_text, shown_titles

from powerfirst import demo_sites, sites_to_frame
from powerfirst.apps.overview import Overview, OverviewState
from powerfirst.scenarios import Scenario
from powerfirst.schema import check


@pytest.fixture
def state(small_sites, energy_factory):
    energy = energy_factory(small_sites)
    assert check(energy, "energy", values=True) == []
    return OverviewState(Scenario(), sites=small_sites, energy=energy)


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


def test_dashboard_shows_the_sites_on_the_map_table_and_detail(state, small_sites):
    app = Overview(state)
    template = app.__panel__()
    assert template.title == "powerfirst · Overview"
    assert "Demo sites are illustrative." in template.sidebar[0][0].object
    # the map: every site, coloured by the variable picked, with its label
    points = app.map.object
    assert list(points.dimension_values("site")) == list(small_sites.site.values)
    np.testing.assert_allclose(points.dimension_values("solar_cf_mean"), state.summary["solar_cf_mean"])
    assert shown_titles(app.map) == ["Sites coloured by annual mean solar PV capacity factor [1]"]
    # the table: one row per site, the variable as 'value'
    table = app.table.value
    assert list(table.columns) == ["site", "name", "ba", "tier", "target_mw", "value"]
    row = table.set_index("site").loc["PJM-002"]
    assert row["ba"] == "PJM" and row["value"] == pytest.approx(
        float(state.energy["solar_cf"].sel(site="PJM-002").mean("time")))
    first = table["value"].to_numpy().copy()
    app.variable_select.value = "wind_cf_mean"
    assert state.variable == "wind_cf_mean"
    assert not np.allclose(app.table.value["value"].to_numpy(), first)
    assert shown_titles(app.map) == ["Sites coloured by annual mean wind capacity factor [1]"]
    assert "annual mean wind capacity factor [1]" in app.variable_select.options  # labels with units
    # selecting a table row selects the site of the detail
    app.table.selection = [3]
    site = state.summary["site"].iloc[3]
    assert state.site == site and app.site_select.value == site
    card = " ".join(shown_text(app.detail[0]).split())
    rec = state.site_record()
    target = f"{state.labels['target_mw']} {rec['target_mw']:,.0f}"
    assert card.startswith(f"{site}: {rec['name']}") and f"ba {rec['ba']}" in card and target in card
    app.month_slider.value = 2
    assert sorted(shown_titles(app.detail[1])) == ["carbon_intensity [gCO2 kWh-1]", "pue [1]", "solar_cf [1]",
                                                   "temp_air [degC]", "wind_cf [1]"]
    assert f"{site}: hourly profiles, month 2 (UTC)" in shown_text(app.detail[1])
    times = app.detail[1].object.values()[0].dimension_values("time")
    assert len(times) == 28 * 24 and {t.month for t in times.astype("datetime64[s]").tolist()} == {2}


def card_text(root) -> str:
    """The text of a rendered card (its Markdown model), whitespace collapsed."""
    import html
    import re

    parts = [html.unescape(m.text) for m in root.select({}) if isinstance(getattr(m, "text", None), str)
             and "attribute" in m.text]
    assert len(parts) == 1, f"expected one site card, found {len(parts)}"
    return " ".join(re.sub(r"<[^>]+>", " ", parts[0]).split())


def test_site_card_follows_the_site_chosen_in_the_page_already_shown(state):
    """The issue: the card stayed on the first site. Render the detail once (as a browser session holds it),
    then choose other sites by the sidebar, the table and a click on the map: the models already on the page
    must show the chosen site's id, name and figures."""
    from bokeh.document import Document
    from bokeh.models import Plot, TapTool

    app = Overview(state)
    app.__panel__()
    doc = Document()
    root = app.detail.get_root(doc)
    map_root = app.map.get_root(doc)
    first = state.summary["site"].iloc[0]
    assert card_text(root).startswith(f"{first}: ")
    sites = list(state.summary["site"])
    for how, i in (("sidebar", 5), ("table", 2), ("map", 7)):
        if how == "sidebar":
            app.site_select.value = sites[i]
        elif how == "table":
            app.table.selection = [i]
        else:
            assert any(isinstance(t, TapTool) for p in map_root.select({"type": Plot}) for t in p.toolbar.tools)
            app.tap.event(index=[i])
        rec = state.site_record_of(sites[i])
        text = card_text(root)
        assert state.site == sites[i] and app.site_select.value == sites[i], how
        assert text.startswith(f"{sites[i]}: {rec['name']}"), (how, text[:80])
        assert f"{state.labels['target_mw']} {rec['target_mw']:,.0f}" in text, how
        assert first not in text or first == sites[i]


def test_built_from_a_scenario_shows_its_sites(tmp_path):
    path = tmp_path / "my_sites.csv"
    sites_to_frame(demo_sites().isel(site=[0, 5, 9])).to_csv(path, index=False)
    sc = Scenario()
    sc.sites.source = str(path)
    app = Overview(scenario=sc)
    want = [str(s) for s in demo_sites()["site"].values[[0, 5, 9]]]
    assert list(app.table.value["site"]) == want and options(app.site_select) == want
    assert list(app.map.object.dimension_values("site")) == want
    assert app.state.energy is not None and app.state.energy.attrs["sites_source"] == "my_sites.csv"
    text = app.__panel__().sidebar[0][0].object
    assert "Sites from `my_sites.csv`." in text and "Demo sites" not in text
    sc.sites.select = want[1:]
    assert list(OverviewState(sc).summary["site"]) == want[1:]


def test_app_is_discovered():
    from powerfirst.apps import apps

    assert apps()["overview"] == ("powerfirst.apps.overview", "Overview")
