"""Large-load process by region and size, the request clock, withdrawals, new paths, value of a fast MW,
bad inputs, and the validation against real projects (data/time_to_power/validation_cases.csv)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from powerfirst.errors import ValidationError
from powerfirst.io.stages import read_stage_table
from powerfirst.models.time_to_power import FACILITY_TYPES, PATH_GRAPHS, graph_stages, time_to_power
from powerfirst.models.time_to_power.validation import validation_report as _validation_report

ISOS = {"PJM": "US", "MISO": "US", "ERCO": "US", "SWPP": "US", "CISO": "US", "TVA": "US", "AZPS": "US", "GB": "GB",
        "IE-SEM": "IE"}
SIZES = {"<100": 50.0, "100-300": 200.0, "300-1000": 600.0, ">1000": 2000.0}
QUICK_SITE = {"site_construction": {"p50": 1.0, "p90": 2.0}}  # a site ready to build: the grid sets the pace


def p50_table(withdrawal=False, draws=4000):
    rows = [dict(site_id=f"{ba}|{k}", ba=ba, country=cc, target_mw=mw, upgrade_class="substation", land_status="owned",
                 permitting_status="approved") for ba, cc in ISOS.items() for k, mw in SIZES.items()]
    ds = time_to_power(pd.DataFrame(rows), ["grid_firm"], draws=draws, seed=1, start="2026-01-01", tornado=False,
                       withdrawal=withdrawal, overrides=QUICK_SITE)
    p50 = ds["first_power"].sel(path="grid_firm", quantile=0.5).to_series()
    idx = pd.MultiIndex.from_tuples([tuple(s.split("|")) for s in p50.index], names=["ba", "size"])
    return pd.Series(p50.to_numpy(), index=idx).unstack("size")[list(SIZES)], ds


def test_grid_firm_p50_differs_across_isos_and_sizes_as_the_sourced_rows_say():
    tab, ds = p50_table()
    print("\ngrid_firm P50 [month] by BA x size class (site ready to build, no withdrawal):\n", tab.round(1))
    # the sourced rows: PJM (Dominion and Exelon) 42 below 300 MW, 55 above; MISO (Entergy) 22 / 46; ERCOT 29;
    # CAISO 45
    assert tab.loc["PJM", "300-1000"] > tab.loc["PJM", "100-300"] + 10
    assert tab.loc["MISO", "300-1000"] > tab.loc["MISO", "100-300"] + 15
    assert tab.loc["PJM", "100-300"] > tab.loc["ERCO", "100-300"] + 8 > tab.loc["MISO", "100-300"] + 8
    assert len(np.unique(tab.round(0).to_numpy())) >= 8  # no longer the same answer everywhere
    # with the site branch short, the P50 is the row's P50 (+ energisation, + upgrades after SPP's study)
    t = read_stage_table()
    lli = t[(t["stage"] == "large_load_interconnection") & t["start_years"].isin(["", "2024-"])]  # requests of 2026
    for ba, region, size in (("PJM", "PJM", "100-300"), ("PJM", "PJM", ">1000"), ("MISO", "MISO", "100-300"),
                             ("ERCO", "ERCOT", "100-300"), ("CISO", "CAISO", "<100"), ("GB", "GB", "300-1000")):
        row = lli[(lli["region"] == region) & lli["size_class"].isin([size, ""])].iloc[0]
        assert tab.loc[ba, size] == pytest.approx(row["p50"] + 2.0, rel=0.12), (ba, size)
    assert ds["stage_row"].sel(site="TVA|100-300", stage="large_load_interconnection") == "default/any size"


def test_a_utility_takes_its_own_rows_then_its_group_then_its_ba():
    """utility DEV: Dominion's rows; COMED (group EXELON): Exelon's row; IM (AEP, no rows): PJM's; no utility: PJM's.

    With the site branch short, each P50 is its row's P50 plus energisation (2 months)."""
    base = dict(country="US", target_mw=600.0, upgrade_class="substation", land_status="owned",
                permitting_status="approved")
    df = pd.DataFrame([{**base, "site_id": "dev", "ba": "PJM", "utility": "DEV"},
                       {**base, "site_id": "comed", "utility": "COMED"},  # ba from the utility
                       {**base, "site_id": "im", "ba": "PJM", "utility": "IM"},
                       {**base, "site_id": "pjm", "ba": "PJM"}])
    ds = time_to_power(df, ["grid_firm"], draws=6000, seed=3, start="2026-01-01", tornado=False, withdrawal=False,
                       overrides=QUICK_SITE)
    row = ds["stage_row"].sel(stage="large_load_interconnection").to_series()
    assert row.to_dict() == {"dev": "DEV/300-1000", "comed": "EXELON/any size", "im": "PJM/300-1000",
                             "pjm": "PJM/300-1000"}
    t = read_stage_table()
    lli = t[t["stage"] == "large_load_interconnection"].set_index(["region", "size_class"])["p50"]
    p50 = ds["first_power"].sel(path="grid_firm", quantile=0.5).to_series()
    for site, key in (("dev", ("DEV", "300-1000")), ("comed", ("EXELON", "")), ("im", ("PJM", "300-1000"))):
        assert p50[site] == pytest.approx(lli[key] + 2.0, rel=0.08), site
    assert p50["dev"] > p50["pjm"] + 5 > p50["comed"] + 15
    assert str(ds["ba"].sel(site="comed").item()) == "PJM"
    assert not bool(ds["input_default"].sel(site="comed", input="ba"))
    assert bool(ds["input_default"].sel(site="pjm", input="utility"))


def test_an_unknown_utility_or_one_of_another_ba_is_an_error():
    df = pd.DataFrame([dict(site_id="A", ba="PJM", utility="ACME"), dict(site_id="B", ba="ERCO", utility="DEV")])
    with pytest.raises(ValidationError) as exc:
        time_to_power(df, ["grid_firm"], draws=10)
    msg = str(exc.value)
    assert "column 'utility', 'A': unknown utility 'ACME': not in data/time_to_power/utilities.csv (known: ACE" in msg
    assert "column 'utility', 'B': utility 'DEV' is in ba 'PJM' (utilities.csv) but the site's ba is 'ERCO'" in msg


def test_the_request_year_selects_the_large_load_row_and_the_start_year_the_equipment_rows():
    """ERCOT's large-load rows differ by the year of the request (12-18 months up to 2023, 24-36 from 2024);
    equipment lead times follow the year of the start (transformers: the row up to 2021, then 2023-24's)."""
    base = dict(ba="ERCO", country="US", target_mw=200.0, upgrade_class="substation", land_status="owned",
                permitting_status="approved")
    df = pd.DataFrame([{**base, "site_id": "old_request", "start_date": "2026-01-01", "request_date": "2023-06-01"},
                       {**base, "site_id": "old_start", "start_date": "2021-06-01"},
                       {**base, "site_id": "new", "start_date": "2026-01-01"}])
    ds = time_to_power(df, ["grid_firm"], draws=4000, seed=8, tornado=False, withdrawal=False, overrides=QUICK_SITE,
                       by_date="2026-12-31")
    row = ds["stage_row"].to_pandas()
    assert row.loc["old_request", "large_load_interconnection"] == "ERCOT/any size/request -2023"
    assert row.loc["old_start", "large_load_interconnection"] == "ERCOT/any size/request -2023"
    assert row.loc["new", "large_load_interconnection"] == "ERCOT/any size/request 2024-"
    assert row.loc["old_request", "large_transformer"] == row.loc["new", "large_transformer"]
    assert row.loc["old_start", "large_transformer"] == "default/any size/start -2021" != row.loc["new", "large_transformer"]
    p50 = ds["stage_duration"].sel(stage="large_load_interconnection", quantile=0.5).to_series()
    assert p50["old_start"] == pytest.approx(np.sqrt(12 * 18), rel=0.05)
    assert p50["new"] == pytest.approx(np.sqrt(24 * 36), rel=0.05)


def test_an_old_request_is_faster_by_about_the_elapsed_time():
    base = dict(ba="PJM", country="US", target_mw=600.0, upgrade_class="none", land_status="owned",
                permitting_status="approved", start_date="2026-01-01")
    df = pd.DataFrame([{**base, "site_id": "new"}, {**base, "site_id": "old", "request_date": "2024-01-01"}])
    ds = time_to_power(df, ["grid_firm"], draws=20000, seed=2, tornado=False, withdrawal=False, overrides=QUICK_SITE)
    p50 = ds["first_power"].sel(path="grid_firm", quantile=0.5)
    elapsed = 24.0
    assert float(p50.sel(site="new") - p50.sel(site="old")) == pytest.approx(elapsed, abs=2.0)
    assert bool(ds["input_default"].sel(site="new", input="request_date"))
    assert not bool(ds["input_default"].sel(site="old", input="request_date"))
    # a request filed later than the start delays the grid clock
    late = time_to_power(df.assign(request_date="2026-07-01"), ["grid_firm"], draws=20000, seed=2, tornado=False,
                         withdrawal=False, overrides=QUICK_SITE)
    assert float(late["first_power"].sel(path="grid_firm", quantile=0.5, site="new")
                 - p50.sel(site="new")) == pytest.approx(6.0, abs=1.0)


def test_equipment_lead_times_are_those_of_the_year_the_project_starts():
    """A transformer ordered for a 2021 start waited about a year (Wood Mackenzie: 50 weeks in 2021), one for
    a 2024 start the 2024 figure: the stage rows with ``start_years`` are picked by the start date.  With
    every other stage of the co-location tie short, first power moves by the difference of the two rows'
    medians (lognormal medians of a maximum of independent stages: the transformer dominates both)."""
    t = read_stage_table()
    lt = t[t["stage"] == "large_transformer"].set_index(t[t["stage"] == "large_transformer"]["start_years"].fillna(""))
    quick = {**QUICK_SITE, "colocation_agreement": {"p50": 0.5, "p90": 1.0}, "substation_build": {"p50": 0.5, "p90": 1.0},
             "breakers_switchgear": {"p50": 0.5, "p90": 1.0}, "energisation": {"p50": 0.5, "p90": 1.0}}
    base = dict(ba="PJM", country="US", target_mw=100.0, colocated_plant_mw=500.0, colocated_plant="plant",
                upgrade_class="substation", land_status="owned", permitting_status="approved")
    df = pd.DataFrame([{**base, "site_id": "s2021", "start_date": "2021-06-01"},
                       {**base, "site_id": "s2024", "start_date": "2024-06-01"}])
    ds = time_to_power(df, ["colocation"], draws=20000, seed=3, tornado=False, withdrawal=False, overrides=quick)
    assert str(ds["stage_row"].sel(site="s2021", stage="large_transformer").item()).endswith("/start -2021")
    assert "start" not in str(ds["stage_row"].sel(site="s2024", stage="large_transformer").item())
    p50 = ds["first_power"].sel(path="colocation", quantile=0.5)
    want = float(lt.loc["", "p50"] - lt.loc["-2021", "p50"])
    assert lt.loc["-2021", "p50"] == pytest.approx(11.5) and want > 20
    assert float(p50.sel(site="s2024") - p50.sel(site="s2021")) == pytest.approx(want, rel=0.1)


def test_a_bad_start_years_label_in_the_stage_table_is_an_error():
    t = read_stage_table()
    t.loc[t["stage"] == "energisation", "start_years"] = "2025-2021"
    df = pd.DataFrame([dict(site_id="A", ba="PJM", country="US", target_mw=100.0)])
    with pytest.raises(ValidationError) as e:
        time_to_power(df, ["grid_firm"], draws=100, tornado=False, stages=t)
    assert ("column 'start_years': stage 'energisation': unknown start_years '2025-2021'; expected '' (any start), "
            "'YYYY', '-YYYY' (up to and including), 'YYYY-' (from) or 'YYYY-YYYY'") in str(e.value)


def test_withdrawal_gives_a_probability_of_never_between_0_and_1():
    tab, ds = p50_table(withdrawal=True, draws=3000)
    never = ds["prob_not_energised"].sel(path="grid_firm")
    assert float(never.min()) >= 0 and float(never.max()) < 1 and float(never.max()) > 0.3
    # the slow processes lose more requests to withdrawal (competing risks)
    assert float(never.sel(site="PJM|>1000")) > float(never.sel(site="MISO|100-300")) + 0.2
    assert ((ds["prob_never"] >= never - 1e-6) & (ds["prob_never"] <= 1)).all()


def test_fast_paths_and_unavailable_paths():
    base = dict(ba="PJM", country="US", target_mw=300.0, land_status="owned", permitting_status="approved")
    df = pd.DataFrame([
        {**base, "site_id": "brownfield", "existing_service_mw": 100.0},
        {**base, "site_id": "plant", "colocated_plant_mw": 500.0, "colocated_plant": "Some Station",
         "upgrade_class": "minor"},
        {**base, "site_id": "bridge", "bridge_mw": 150.0},
        {**base, "site_id": "nothing"},
    ])
    paths = ["grid_firm", "existing_service", "colocation", "bridge_then_grid", "onsite_generation"]
    ds = time_to_power(df, paths, draws=3000, seed=4, tornado=False)
    av = ds["available"].to_pandas()
    assert av.loc["nothing", "existing_service"] == False and av.loc["brownfield", "existing_service"]  # noqa: E712
    assert "existing_service_mw is 0" in str(ds["unavailable_reason"].sel(site="nothing", path="existing_service").values)
    assert "gas_option_mw is 0" in str(ds["unavailable_reason"].sel(site="nothing", path="onsite_generation").values)
    p50 = ds["first_power"].sel(quantile=0.5).to_pandas()
    assert p50.loc["brownfield", "existing_service"] < 0.5 * p50.loc["brownfield", "grid_firm"]
    assert p50.loc["bridge", "bridge_then_grid"] < 0.5 * p50.loc["bridge", "grid_firm"]
    assert ds["fastest_path"].sel(site="brownfield") == "existing_service"
    assert ds["fastest_path"].sel(site="bridge") == "bridge_then_grid"
    # the bridge ramps: bridge MW first, the full target once the grid arrives
    mw = ds["mw_available"].sel(site="bridge", path="bridge_then_grid")
    # (the bridge waits for the building: greenfield construction, p50 18 months)
    assert float(mw.sel(month=30)) > 0.6 * 150 and float(mw.sel(month=120)) > 0.7 * 300
    full = ds["full_power"].sel(site="bridge", path="bridge_then_grid", quantile=0.5)
    assert float(full) > float(p50.loc["bridge", "bridge_then_grid"]) + 12


def test_a_plant_the_developer_owns_needs_no_colocation_agreement():
    """colocated_plant_owner developer drops colocation_agreement (rules.csv); the tie to the plant stays.

    With upgrade_class none and a modular hall (which covers its commissioning), the owner's path is the
    building alone: max(energisation, building) with the building >= its 6-10 month figure, so its P50 is
    the building's; the third party waits for max(agreement + energisation, building)."""
    base = dict(ba="NYIS", country="US", target_mw=80.0, land_status="owned", permitting_status="approved",
                colocated_plant_mw=100.0, colocated_plant="Some Station", upgrade_class="none",
                facility_type="modular")
    df = pd.DataFrame([{**base, "site_id": "owner", "colocated_plant_owner": "developer"},
                       {**base, "site_id": "tenant", "colocated_plant_owner": "third_party"},
                       {**base, "site_id": "default"}])
    ds = time_to_power(df, ["colocation"], draws=4000, seed=12, tornado=False, start="2026-01-01",
                       quantiles=(0.5,))
    dur = ds["stage_duration"].sel(quantile=0.5)
    assert np.isnan(dur.sel(site="owner", stage="colocation_agreement").item())
    assert dur.sel(site="tenant", stage="colocation_agreement").item() == pytest.approx(6.0, rel=1e-3)
    p50 = ds["first_power"].sel(path="colocation", quantile=0.5).to_series()
    building = dur.sel(site="owner", stage="site_construction").item()
    assert p50["owner"] == pytest.approx(building, rel=0.03)
    assert p50["tenant"] > p50["owner"] + 1.0
    # the default is a third-party plant (each site has its own draws: equal within sampling noise), and
    # the result says the default was taken
    assert p50["default"] == pytest.approx(p50["tenant"], rel=0.03) and p50["default"] > p50["owner"] + 1.0
    assert bool(ds["input_default"].sel(site="default", input="colocated_plant_owner"))
    assert not bool(ds["input_default"].sel(site="owner", input="colocated_plant_owner"))


def test_a_bad_colocated_plant_owner_is_an_error_naming_site_column_and_value():
    df = pd.DataFrame([dict(site_id="A", ba="PJM", colocated_plant_mw=100.0, colocated_plant="X",
                            colocated_plant_owner="utility"),
                       dict(site_id="B", ba="PJM", colocated_plant_owner="developer")])
    with pytest.raises(ValidationError) as exc:
        time_to_power(df, ["colocation"], draws=10)
    msg = str(exc.value)
    assert ("column 'colocated_plant_owner', 'A': unknown colocated_plant_owner 'utility'; expected one of "
            "third_party, developer") in msg
    assert ("column 'colocated_plant_owner', 'B': colocated_plant_owner is 'developer' but colocated_plant_mw "
            "is 0 MW") in msg


def _facility_sites(**extra) -> pd.DataFrame:
    base = dict(ba="ERCO", country="US", target_mw=100.0, land_status="owned", permitting_status="approved", **extra)
    return pd.DataFrame([{**base, "site_id": "default"}] +
                        [{**base, "site_id": t, "facility_type": t} for t in FACILITY_TYPES])


def test_facility_type_selects_its_own_construction_row_and_only_existing_buildings_are_fitted_out():
    """Each facility type draws site_construction from its own row of stages.csv (the stage quantiles are the
    row's lognormal); existing_building drops it for brownfield_fitout; no facility_type = hyperscale."""
    t = read_stage_table()
    sc = t[t["stage"] == "site_construction"].set_index("facility_type")
    bf = t[t["stage"] == "brownfield_fitout"].iloc[0]
    ds = time_to_power(_facility_sites(bridge_mw=50.0), ["mobile_bridge"], draws=2000, seed=5, tornado=False, start="2026-01-01",
                       quantiles=(0.5, 0.9))
    dur = ds["stage_duration"]
    for ft in ("hyperscale", "modular", "light_industrial"):
        got = dur.sel(site=ft, stage="site_construction")
        assert got.sel(quantile=0.5).item() == pytest.approx(sc.loc[ft, "p50"], rel=1e-3)
        assert got.sel(quantile=0.9).item() == pytest.approx(sc.loc[ft, "p90"], rel=1e-3)
        assert np.isnan(dur.sel(site=ft, stage="brownfield_fitout", quantile=0.5).item())
        assert str(ds["stage_row"].sel(site=ft, stage="site_construction").item()) == f"default/any size/{ft}"
    assert np.isnan(dur.sel(site="existing_building", stage="site_construction", quantile=0.5).item())
    assert dur.sel(site="existing_building", stage="brownfield_fitout", quantile=0.5).item() == pytest.approx(
        bf["p50"], rel=1e-3)
    # the sourced rows order the building types: modular and light-industrial halls well before hyperscale
    assert sc.loc["hyperscale", "p50"] > 2 * max(sc.loc["modular", "p50"], sc.loc["light_industrial", "p50"])
    p50 = ds["first_power"].sel(path="mobile_bridge", quantile=0.5).to_series()
    assert p50["hyperscale"] > p50["existing_building"] > p50["modular"] and p50["hyperscale"] > p50["light_industrial"]
    # a site without facility_type is a hyperscale site (today's behaviour), and says it took the default
    explicit = _facility_sites(bridge_mw=50.0).iloc[:1].assign(facility_type="hyperscale")
    ds2 = time_to_power(explicit, ["mobile_bridge"], draws=2000, seed=5, tornado=False, start="2026-01-01",
                        quantiles=(0.5, 0.9))
    np.testing.assert_array_equal(ds["first_power"].sel(site="default").values,
                                  ds2["first_power"].sel(site="default").values)
    assert bool(ds["input_default"].sel(site="default", input="facility_type"))
    assert not bool(ds["input_default"].sel(site="modular", input="facility_type"))


def test_existing_service_alone_does_not_mean_an_existing_building():
    """Powered land (a substation or feeder at the site) builds its own hall; only facility_type
    existing_building is fitted out.  The existing service still energises the site (existing_service path)."""
    ds = time_to_power(_facility_sites(existing_service_mw=40.0), ["existing_service"], draws=2000, seed=6,
                       tornado=False, start="2026-01-01", quantiles=(0.5,))
    dur = ds["stage_duration"].sel(quantile=0.5)
    assert np.isnan(dur.sel(site="default", stage="brownfield_fitout").item())
    assert dur.sel(site="default", stage="site_construction").item() == pytest.approx(18.0, rel=1e-3)
    assert np.isnan(dur.sel(site="existing_building", stage="site_construction").item())
    fitout = read_stage_table().query("stage == 'brownfield_fitout'").iloc[0]
    assert dur.sel(site="existing_building", stage="brownfield_fitout").item() == pytest.approx(fitout["p50"], rel=1e-3)
    assert (ds["mw"].sel(path="existing_service") == 40.0).all() and ds["available"].all()
    assert np.isfinite(dur.sel(stage="service_transfer")).all()


def test_a_facility_type_without_a_row_or_a_bad_type_in_the_table_is_an_error():
    t = read_stage_table()
    no_modular = t[~((t["stage"] == "site_construction") & (t["facility_type"] == "modular"))]
    df = pd.DataFrame([dict(site_id="M", ba="PJM", facility_type="modular"),
                       dict(site_id="E", ba="PJM", facility_type="existing_building")])
    with pytest.raises(ValidationError) as exc:
        time_to_power(df, ["grid_firm"], draws=10, stages=no_modular)
    msg = str(exc.value)
    assert "column 'facility_type', 'M': no row of stage 'site_construction' for facility_type 'modular'" in msg
    assert "'E'" not in msg  # an existing building is fitted out: it needs no construction row
    bad = t.copy()
    bad.loc[bad["stage"] == "energisation", "facility_type"] = "yurt"
    with pytest.raises(ValidationError, match="stage 'energisation': unknown facility_type 'yurt'"):
        time_to_power(df, ["grid_firm"], draws=10, stages=bad)


def test_the_readme_lists_every_site_input_with_its_default():
    """data/time_to_power/README.md (Site inputs) documents every input of SITE_INPUTS and its default."""
    from powerfirst.models.time_to_power import SITE_INPUTS
    from powerfirst.paths import data_dir

    text = (data_dir() / "time_to_power" / "README.md").read_text()
    table = text.split("## Site inputs", 1)[1].split("\n## ", 1)[0]
    rows = {r.split("|")[1].strip().strip("`"): r.split("|")[3].strip()
            for r in table.splitlines() if r.startswith("| `")}
    assert set(rows) == set(SITE_INPUTS)
    for name, (kind, default, _doc) in SITE_INPUTS.items():
        if kind in ("mw", "mwh"):
            assert float(rows[name]) == default, name
        elif kind == "text":
            assert rows[name] == (default or "''"), name


def test_value_of_a_fast_megawatt_is_exact_for_fixed_durations():
    """100 MW at 14 months vs 500 MW at 60 months: MW-months by the horizon, discounted, by hand."""
    keep = {"large_load_interconnection", "energisation"}
    rules = pd.DataFrame([{"stage": s.key, "path": "grid_firm", "attribute": "*", "op": "", "value": "", "scale": 0.0}
                          for s in graph_stages(PATH_GRAPHS["grid_firm"]) if s.key not in keep])
    df = pd.DataFrame([dict(site_id="fast", ba="PJM", target_mw=100.0, upgrade_class="substation"),
                       dict(site_id="big", ba="PJM", target_mw=500.0, upgrade_class="substation")])
    ov = [{"site": "fast", "stage": "large_load_interconnection", "distribution": "fixed", "p50": 13.0},
          {"site": "big", "stage": "large_load_interconnection", "distribution": "fixed", "p50": 59.0},
          {"stage": "energisation", "distribution": "fixed", "p50": 1.0}]
    price, r, hz = 40_000.0, 0.08, 72.0
    ds = time_to_power(df, ["grid_firm"], draws=500, tornado=False, rules=rules, overrides=ov, horizon=hz,
                       value_per_mw_month=price, discount_rate=r, start="2026-01-01")
    k = np.log1p(r) / 12

    def disc(t):
        return (1 - np.exp(-k * t)) / k

    for site, mw, t in (("fast", 100.0, 14.0), ("big", 500.0, 60.0)):
        got = ds.sel(site=site, path="grid_firm")
        assert got["first_power"].sel(quantile=0.5).item() == pytest.approx(t, abs=0.07)
        assert got["mw_months"].item() == pytest.approx(mw * (hz - t), rel=1e-4)
        assert got["value"].item() == pytest.approx(price * mw * (disc(hz) - disc(t)), rel=1e-4)
    # by 72 months the big site delivers more; by a date 30 months out only the fast one counts
    by = time_to_power(df, ["grid_firm"], draws=500, tornado=False, rules=rules, overrides=ov, by_date="2028-07-01",
                       start="2026-01-01")
    assert by["mw_months"].sel(site="big").item() == 0 and by["mw_months"].sel(site="fast").item() > 0


def test_bad_inputs_name_site_column_and_value():
    df = pd.DataFrame([
        dict(site_id="A", ba="PJM", target_mw=100, start_date="2027-01-01"),
        dict(site_id="B", ba="PJM", target_mw=100, start_date="2026-01-01", request_date="2032-01-01"),
        dict(site_id="C", ba="PJM", target_mw=100, bridge_mw=-5),
        dict(site_id="D", ba="PJM", target_mw=100, colocated_plant_mw=300),
        dict(site_id="E", ba="XYZ", target_mw=100),
        dict(site_id="F", ba="PJM", target_mw=100, upgrade_class="huge"),
        dict(site_id="G", ba="PJM", target_mw=100, facility_type="igloo"),
    ])
    with pytest.raises(ValidationError) as exc:
        time_to_power(df, draws=10, by_date="2026-12-31", horizon=60)
    msg = str(exc.value)
    assert "column 'start_date', 'A': start_date 2027-01-01 is after the date asked about" in msg
    assert "column 'request_date', 'B': request_date 2032-01-01 is 72 months after start_date" in msg
    assert "column 'bridge_mw', 'C': negative (-5 MW)" in msg
    assert "column 'colocated_plant_mw', 'D': colocated_plant_mw is 300 MW but no plant is named" in msg
    assert "column 'ba', 'E': unknown ba 'XYZ'" in msg
    assert "column 'upgrade_class', 'F': unknown upgrade_class 'huge'" in msg
    assert ("column 'facility_type', 'G': unknown facility_type 'igloo'; expected one of hyperscale, modular, "
            "light_industrial, existing_building") in msg


def test_validation_cases_against_the_model():
    """Each real project: observed months from start_date vs the P10-P90 of the path it used.

    The stage numbers come from the sourced process data, not from these cases.  The issue's criterion
    (>= 75 % inside, none outside by more than a factor of two) is checked in the next test."""
    rep = validation_report()
    print("\n" + rep.to_string())
    print(f"median P(model <= observed) {rep['p_model_le_observed'].median():.2f} (0.50 if calibrated); "
          f"{int(rep['p_model_le_observed'].lt(0.1).sum())} of {len(rep)} below 0.10 (about 10 % if calibrated)")
    assert len(rep) >= 8 and rep["observed_months"].gt(0).all()
    assert rep["p10"].le(rep["p90"]).all()
    # the probability is consistent with the quantiles: below 0.10 exactly when faster than P10
    assert (rep["p_model_le_observed"].lt(0.1) == rep["observed_months"].lt(rep["p10"])).all()


@pytest.mark.xfail(strict=True, reason="6 of 12 cases inside P10-P90 and 4 outside by more than 2x: four dated "
                                       "conversions of existing buildings (6-14 months) are slower than xAI's fit-out of "
                                       "the Electrolux plant (2.6-3.4 months, two cases); no I&M figure for AWS (PJM "
                                       "rows); Core Scientific Denton energised 5.7 months after its power agreement; "
                                       "see data/time_to_power/README.md (Validation)")
def test_validation_criterion():
    rep = validation_report()
    assert rep["inside"].mean() >= 0.75 and rep["factor_outside"].max() <= 2.0


def validation_report() -> pd.DataFrame:
    rep = _validation_report()
    # the case's building type reaches the model (not the default)
    assert (rep["facility_type_used"] == rep["facility_type"]).all() and not rep["facility_type_default"].any()
    return rep.drop(columns=["mw", "facility_type_used", "facility_type_default"])


def test_every_grid_of_the_schema_has_a_region_row():
    """A BA of schema/grids.csv without a row in data/time_to_power/regions.csv would be an 'unknown ba' error."""
    from pathlib import Path

    import powerfirst.schema
    from powerfirst.io.stages import read_region_table

    grids = pd.read_csv(Path(powerfirst.schema.__file__).parent / "grids.csv", dtype=str)
    missing = sorted(set(grids["code"]) - set(read_region_table()["ba"]))
    assert not missing, f"add these BAs to data/time_to_power/regions.csv: {missing}"


def test_the_utility_table_is_checked_and_every_utility_is_in_a_known_ba(tmp_path):
    from powerfirst.io.stages import read_region_table, read_utility_table

    regions = read_region_table()
    table = read_utility_table(regions=regions)
    assert table["utility"].is_unique and set(table["ba"]) <= set(regions["ba"])
    # every group or code a stage row names is a utility or group of the table (a typo would never match)
    t = read_stage_table()
    named = set(t["region"]) - set(regions["ba"]) - set(regions["market"]) - set(regions["country"]) - {""}
    assert named and named <= set(table["utility"]) | set(table["group"]), named
    bad = tmp_path / "utilities.csv"
    bad.write_text("utility,name,group,ba,note\nDEV,Dominion,,PJM,\nDEV,again,,PJM,\nXX,nowhere,,ATLANTIS,\n,blank,,PJM,\n")
    with pytest.raises(ValidationError) as exc:
        read_utility_table(bad, regions=regions)
    msg = str(exc.value)
    assert "row 2 (line 3), column 'utility': utility 'DEV' appears more than once" in msg
    assert "row 3 (line 4), column 'ba': unknown ba 'ATLANTIS': not in the region table" in msg
    assert "row 4 (line 5), column 'utility': required value is empty" in msg
    missing = tmp_path / "no_ba.csv"
    missing.write_text("utility,name,group,note\nDEV,Dominion,,\n")
    with pytest.raises(ValidationError, match="column 'ba': required column missing"):
        read_utility_table(missing)
