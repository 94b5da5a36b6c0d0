"""Time-to-power app: state from a scenario, the all-sites view, one site's views, the withdrawal fit,
the grid_flexible path sized as ``powerfirst run`` sizes it, the widgets change the scenario."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from _app_data import options, shown_titles, tidy_grid_file

from powerfirst import demo_sites, sites_to_frame
from powerfirst.apps.time_to_power import (
    DEFAULT_PATHS,
    QUEUE_FIT_COLUMNS,
    TimeToPower,
    TimeToPowerState,
    flexible_mw,
    queue_fit_path,
    read_queue_fit,
)
from powerfirst.errors import ValidationError
from powerfirst.models.time_to_power import ALL_PATHS, DEFAULT_FLEXIBLE_FRACTION
from powerfirst.scenarios import Scenario
from powerfirst.viz.time_to_power import FASTEST_STYLE

#: the first three demo sites (the sidebar test writes them to a file), a PJM site without a gas option, and
#: sites of three other markets
SITES = ["PJM-001", "PJM-002", "PJM-003", "PJM-009", "MISO-001", "ERCO-001", "ERCO-005", "CISO-001"]
SITE_COLUMNS = ["path", "status", "MW [MW]", "P10 [month]", "P50 [month]", "P90 [month]", "P50 full MW [month]",
                "P(by 36 months) [1]", "P(never) [1]", "MW-months [MW-month]", "fastest", "most MW-months"]


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


def test_default_paths_are_every_path_of_the_model_and_two_ramps():
    assert DEFAULT_PATHS[:len(ALL_PATHS)] == ALL_PATHS
    assert set(DEFAULT_PATHS) >= {"grid_firm", "grid_flexible", "existing_service", "colocation", "bridge_then_grid",
                                  "onsite_bridge", "onsite_generation", "solar_storage", "grid_flexible+grid_firm"}


def test_state_summary(state):
    df = state.summary()
    assert list(df.columns) == SITE_COLUMNS
    assert list(df["path"]) == state.paths == list(DEFAULT_PATHS)
    assert df["fastest"].sum() == 1 and df["most MW-months"].sum() == 1
    ds = state.result()
    # an unavailable path says why, and shows no number
    for _, row in df.iterrows():
        avail = bool(ds["available"].sel(site=state.site, path=row["path"]))
        if avail:
            assert row["status"] == "available"
            assert row["P10 [month]"] <= row["P50 [month]"] <= row["P90 [month]"]
        else:
            assert row["status"] == str(ds["unavailable_reason"].sel(site=state.site, path=row["path"]).values) != ""
            assert row["P50 [month]"] == "—"
    assert not df.isna().any().any()


def test_result_cached_and_recomputed_when_the_scenario_changes(state):
    a = state.result()
    assert state.result() is a
    state.scenario.time_to_power.correlation = 0.5
    b = state.result()
    assert b is not a and b.attrs["correlation"] == 0.5
    state.scenario.time_to_power.correlation = 0.0


def test_all_sites_view_has_every_site_and_path_and_no_nan(state):
    app = TimeToPower(state)
    table = app.sites_table.value
    ds = state.result()
    assert sorted(table["site"]) == sorted(SITES)
    assert [f"{p} [month]" for p in DEFAULT_PATHS] == [c for c in table.columns if c.split(" [")[0] in DEFAULT_PATHS]
    assert not table.isna().any().any()
    # the demo sites have no existing service and no adjacent plant: those cells are the model's reasons
    assert set(table["existing_service [month]"]) == {"existing_service_mw is 0 (no service at the site)"}
    assert set(table["colocation [month]"]) == {"colocated_plant_mw is 0 (no adjacent plant)"}
    # the numbers are the model's P50s, and the fastest path is the available path with the smallest
    for _, row in table.iterrows():
        p50 = ds["first_power"].sel(site=row["site"], quantile=0.5)
        assert row["grid_firm [month]"] == pytest.approx(float(p50.sel(path="grid_firm")), abs=0.051)
        nums = {p: row[f"{p} [month]"] for p in DEFAULT_PATHS if isinstance(row[f"{p} [month]"], float)}
        assert row["fastest path"] == str(ds["fastest_path"].sel(site=row["site"]).values)
        assert row["fastest P50 [month]"] == pytest.approx(min(nums.values()), abs=0.051)
        assert 0 <= row["P(never), fastest [1]"] <= 1
    # sorted by the fastest P50 by default, ascending
    assert table["fastest P50 [month]"].is_monotonic_increasing


def test_all_sites_view_sorts_by_any_column_with_reasons_last(state):
    app = TimeToPower(state)
    app.sort_select.value = "onsite_bridge"
    col = app.sites_table.value["onsite_bridge [month]"]
    is_num = col.map(lambda v: isinstance(v, float)).to_numpy()
    assert is_num.any() and not is_num.all(), "the demo sites mix sites with and without a gas option"
    assert is_num[:is_num.sum()].all()  # numbers first, then the reasons
    assert pd.Series(col[is_num].astype(float).to_numpy()).is_monotonic_increasing
    assert set(col[~is_num]) == {"gas_option_mw is 0 (no on-site generation option)"}
    app.ascending_box.value = False
    col = app.sites_table.value["onsite_bridge [month]"]
    is_num = col.map(lambda v: isinstance(v, float)).to_numpy()
    assert is_num[:is_num.sum()].all()
    assert pd.Series(col[is_num].astype(float).to_numpy()).is_monotonic_decreasing
    app.sort_select.value = "site"
    assert list(app.sites_table.value["site"]) == sorted(SITES, reverse=True)
    state.sort_by, state.ascending = "fastest P50 [month]", True


def test_all_sites_view_highlights_the_fastest_path(state):
    app = TimeToPower(state)
    table = app.sites_table.value
    styles = app.sites_table._get_style_data()["data"]  # what the browser gets: {row: {column index: css}}
    cols = list(table.columns)
    for r, row in table.iterrows():
        c = cols.index(f"{row['fastest path']} [month]")
        shown = dict(styles[r][c + 1])  # +1: Tabulator's own index column
        assert FASTEST_STYLE.split(";")[0].split(":")[1].strip() == shown["background-color"]
        other = [k for k in range(len(cols)) if k != c and "background-color" in dict(styles.get(r, {}).get(k + 1, []))]
        assert not other


def test_cells_can_show_p_never_and_mw_months(state):
    app = TimeToPower(state)
    ds = state.result()
    app.metric_select.value = "prob_never"
    t = app.sites_table.value.set_index("site")
    assert "grid_firm [1]" in t.columns
    assert t.loc[SITES[0], "grid_firm [1]"] == pytest.approx(float(ds["prob_never"].sel(site=SITES[0],
                                                                                         path="grid_firm")), abs=5e-4)
    app.metric_select.value = "mw_months"
    t = app.sites_table.value.set_index("site")
    assert t.loc[SITES[0], "grid_firm [MW-month]"] == pytest.approx(
        float(ds["mw_months"].sel(site=SITES[0], path="grid_firm")), abs=0.5)
    assert "MW-months" in app.sites_caption.object
    state.metric = "p50"


def test_dashboard_shows_the_site_table_and_figures(state):
    app = TimeToPower(state)
    assert app.__panel__().title == "powerfirst · Time to power"
    assert options(app.site_select) == SITES and app.site_select.value == SITES[0]
    assert options(app.path_select) == list(DEFAULT_PATHS)
    table = app.table.value
    assert list(table.columns) == SITE_COLUMNS and list(table["path"]) == list(DEFAULT_PATHS)
    row = table.set_index("path").loc["grid_firm"]
    expected = state.result()["first_power"].sel(site=SITES[0], path="grid_firm", quantile=0.5)
    assert row["P50 [month]"] == pytest.approx(float(expected), abs=0.05)
    assert row["MW [MW]"] == pytest.approx(float(state.result()["mw"].sel(site=SITES[0], path="grid_firm")), abs=0.05)
    # the tornado of the path picked, titled with the site and the path
    assert any("grid_firm" in t for t in shown_titles(app.tornado))
    assert any(SITES[0] in t and "MW available" in t for t in shown_titles(app.ramp))
    before = table["P50 [month]"].astype(str).to_numpy()
    app.site_select.value = SITES[3]
    after = app.table.value["P50 [month]"].astype(str).to_numpy()
    assert not np.array_equal(before, after)
    app.path_select.value = "onsite_bridge"
    assert any("onsite_bridge" in t and SITES[3] in t for t in shown_titles(app.tornado))
    state.site, state.path = SITES[0], "grid_firm"


def test_withdrawal_fit_table_in_the_app(state):
    app = TimeToPower(state)
    w = app.withdrawal_table.value.set_index("market")
    fit = read_queue_fit()
    pooled = fit[(fit["region"] == "PJM") & (fit["quantity"] == "time_to_withdrawal") & (fit["cohort"] == "all")].iloc[0]
    # the PJM row of the stage table is the pooled fit: its share is the fit's, next to the empirical one
    assert w.loc["PJM", "fitted by 60 months [1]"] == pytest.approx(pooled["cif_withdrawn_fit_60"], abs=0.002)
    assert w.loc["PJM", "empirical by 60 months [1]"] == pytest.approx(pooled["cif_withdrawn_empirical_60"], abs=5e-4)
    # one row per market of the sites; only PJM has a public queue with withdrawals
    assert set(w.index) == {"PJM", "MISO", "ERCOT", "CAISO"}
    assert w.loc["ERCOT", "BAs"] == "ERCO" and w.loc["ERCOT", "sites"] == 2
    for m in ("MISO", "ERCOT", "CAISO"):
        assert w.loc[m, "empirical by 60 months [1]"] == "no public queue data"
        assert w.loc[m, "fitted by 60 months [1]"] == w.loc["PJM", "fitted by 60 months [1]"]  # the PJM fit stands in


def test_states_on_other_sites_of_the_same_file_keep_their_own_results():
    """The demo file's hash is the same for every selection of its sites: the selection is part of the key."""
    a = TimeToPowerState(scenario(**{"sites.select": ["PJM-001"], "time_to_power.paths": ["grid_flexible"]}))
    b = TimeToPowerState(scenario(**{"sites.select": ["ERCO-001"], "time_to_power.paths": ["grid_flexible"]}))
    assert list(a.result()["site"].values) == ["PJM-001"] and list(b.result()["site"].values) == ["ERCO-001"]
    assert b.result() is not a.result()


def test_widgets_change_the_scenario():
    state = TimeToPowerState(scenario())  # its own state: no other test's app re-renders on each change
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
    assert "grid_firm" in options(app.sort_select) and "solar_storage" not in options(app.sort_select)
    assert app.draws_input.value == 300 and app.seed_input.value == 11
    assert app.bridge_select.value == "aeroderivative_turbines"
    assert options(app.site_select) == SITES


def test_default_scenario_shows_every_demo_site_and_path():
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


# ----------------------------------------------------------------- grid_flexible as powerfirst run


def _run_and_app(sc: Scenario):
    tree = sc.run(progress=False, only=["headroom", "time_to_power"])
    cli = tree["time_to_power"].to_dataset()
    app = TimeToPowerState(sc).result()
    return cli, app


def test_grid_flexible_sized_as_scenario_run_without_grid_data():
    sc = scenario(**{"sites.select": ["PJM-003"], "time_to_power.paths": ["grid_firm", "grid_flexible"]})
    flex, note = flexible_mw(sc, TimeToPowerState(sc).sites)
    assert flex is None and f"{DEFAULT_FLEXIBLE_FRACTION:.0%}" in note
    cli, app = _run_and_app(sc)
    site = demo_sites().sel(site="PJM-003")
    unmet = float(site["target_mw"]) - float(site["firm_headroom_mw"])
    expected = min(float(site["target_mw"]), float(site["firm_headroom_mw"]) + DEFAULT_FLEXIBLE_FRACTION * unmet)
    for ds in (cli, app):
        assert float(ds["mw"].sel(site="PJM-003", path="grid_flexible")) == pytest.approx(expected)
    np.testing.assert_array_equal(cli["first_power"].values, app["first_power"].values)


def test_grid_flexible_sized_as_scenario_run_with_grid_data(tmp_path):
    """A PJM site on a synthetic hourly PJM load: the app's grid_flexible MW is the BA headroom of the
    headroom model, exactly what ``powerfirst run`` gives (and not the default share)."""
    sc = scenario(**{"sites.select": ["PJM-003"], "time_to_power.paths": ["grid_firm", "grid_flexible"]})
    sc.grid.source, sc.grid.years = str(tidy_grid_file(tmp_path / "grid.csv", bas=("PJM",))), (2022, 2023)
    cli, app = _run_and_app(sc)
    site = demo_sites().sel(site="PJM-003")
    target, firm = float(site["target_mw"]), float(site["firm_headroom_mw"])
    flex, note = flexible_mw(sc, TimeToPowerState(sc).sites)
    assert set(flex) == {"PJM"} and flex["PJM"] > 0 and "0.5 % curtailment" in note
    # one site in the BA: it gets the BA headroom up to its unmet MW
    expected = min(target, firm + min(flex["PJM"], target - firm))
    mw_cli = float(cli["mw"].sel(site="PJM-003", path="grid_flexible"))
    assert float(app["mw"].sel(site="PJM-003", path="grid_flexible")) == pytest.approx(mw_cli) == pytest.approx(expected)
    np.testing.assert_array_equal(cli["first_power"].values, app["first_power"].values)
    np.testing.assert_allclose(cli["mw_months"].values, app["mw_months"].values)


@pytest.mark.realdata
def test_grid_flexible_sized_as_scenario_run_on_the_eia930_releases(shared):
    """The same for one demo site with the app's default grid source (the cleaned EIA-930 releases)."""
    sc = scenario(**{"sites.select": ["ERCO-001"], "time_to_power.paths": ["grid_flexible"]})
    sc.grid.source = str(shared / "eia930")
    cli, app = _run_and_app(sc)
    flex, _note = flexible_mw(sc, TimeToPowerState(sc).sites)
    assert flex["ERCO"] > 1000  # ERCOT's headroom at 0.5 % is GW-scale (Norris et al. 2025: about 10 GW)
    assert float(app["mw"].item()) == pytest.approx(float(cli["mw"].item()))
    np.testing.assert_array_equal(cli["first_power"].values, app["first_power"].values)


# ------------------------------------------------------------------------------ queue_fit.csv


def test_read_queue_fit_reads_the_stored_calibration():
    fit = read_queue_fit()
    wd = fit[fit["quantity"] == "time_to_withdrawal"].set_index("cohort")
    assert set(wd.index) == {"TC1", "TC2", "all"}
    assert wd.loc["all", "n"] == wd.loc["TC1", "n"] + wd.loc["TC2", "n"]
    assert ((wd["cif_withdrawn_fit_60"] >= 0) & (wd["cif_withdrawn_fit_60"] <= 1)).all()


def test_read_queue_fit_names_file_row_and_column_of_bad_values(tmp_path):
    good = pd.read_csv(queue_fit_path(), dtype=str, keep_default_na=False)
    bad = good.copy()
    bad.loc[0, "cif_withdrawn_fit_60"] = "1.4"
    bad.loc[1, "p50"] = "sixty"
    bad.loc[2, "n_withdrawn"] = "9999"
    path = tmp_path / "queue_fit.csv"
    bad.to_csv(path, index=False)
    with pytest.raises(ValidationError) as e:
        read_queue_fit(path)
    msg = str(e.value)
    assert "row 1 (line 2), column 'cif_withdrawn_fit_60': expected a share in [0, 1], found 1.4" in msg
    assert "row 2 (line 3), column 'p50': expected a number, found 'sixty'" in msg
    bad = good.copy()
    bad.loc[2, "n_withdrawn"] = "9999"
    bad.to_csv(path, index=False)
    with pytest.raises(ValidationError, match=r"row 3 \(line 4\), column 'n_withdrawn': n_withdrawn 9999 exceeds n 860"):
        read_queue_fit(path)
    good.drop(columns=["cif_withdrawn_empirical_60"]).to_csv(path, index=False)
    with pytest.raises(ValidationError, match="column 'cif_withdrawn_empirical_60': required column missing"):
        read_queue_fit(path)
    with pytest.raises(FileNotFoundError, match="derive_queue_fit.py"):
        read_queue_fit(tmp_path / "none.csv")
    assert "cif_withdrawn_empirical_60" in QUEUE_FIT_COLUMNS


def test_app_is_discovered():
    from powerfirst.apps import apps

    assert apps()["time_to_power"] == ("powerfirst.apps.time_to_power", "TimeToPower")
