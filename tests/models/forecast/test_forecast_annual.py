"""Annual demand growth: facts history and projections, the driver model, the trend estimator,
the published-range check and the demand cube."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from powerfirst.errors import ValidationError
from powerfirst.io.facts import read_facts
from powerfirst.models.forecast.annual import (
    DRIVER_SCENARIOS,
    REGIONS,
    WORKLOADS,
    GrowthDrivers,
    GrowthRegressor,
    base_year_electricity,
    calibrate_driver,
    calibrate_regional_growth,
    check_against_published,
    demand_cube,
    driver_projection,
    history,
    history_series,
    make_growth_pipeline,
    published_projections,
    reference_bands,
    regional_driver_table,
    regional_drivers,
    trend_projection,
)
from powerfirst.paths import facts_dir
from powerfirst.schema import check, validate

#: the four regions the IEA regional criterion covers (Rest of world is matched too, but not required)
IEA_REGIONS = ["US", "China", "Europe", "Asia Pacific excl. China"]


def test_history_carries_sources():
    us = history_series("US")
    assert us["year"].tolist() == [2014, 2016, 2018, 2023, 2024]
    assert us.set_index("year").loc[2023, "electricity_twh"] == 176  # LBNL preferred over EPRI's 152.71
    assert us.set_index("year").loc[2014, "publisher"] == "Lawrence Berkeley National Laboratory"
    assert history()["source"].str.len().gt(10).all()
    with pytest.raises(KeyError, match="regions with history"):
        history_series("Mars")


def test_published_projections_include_every_publisher():
    p = published_projections()
    assert {"International Energy Agency", "Lawrence Berkeley National Laboratory",
            "Electric Power Research Institute"} <= set(p["publisher"])
    epri = p[(p["publisher"] == "Electric Power Research Institute") & (p["scenario"] == "moderate")].iloc[0]
    assert epri["year"] == 2030 and epri["electricity_twh"] == pytest.approx(152.71 * 1.05**7, abs=0.1)
    lbnl = reference_bands("US").set_index(["year", "publisher"]).loc[(2028, "Lawrence Berkeley National Laboratory")]
    assert (lbnl["low_twh"], lbnl["high_twh"]) == (325, 580)
    world = reference_bands("World").set_index(["year", "publisher"]).loc[(2035, "International Energy Agency")]
    assert (world["low_twh"], world["high_twh"]) == (700, 1700)


@pytest.mark.parametrize("scenario", list(DRIVER_SCENARIOS))
@pytest.mark.parametrize("region", REGIONS)
def test_driver_model_matches_the_base_year(region, scenario):
    base, src = base_year_electricity(region)
    d = GrowthDrivers().replace(**DRIVER_SCENARIOS[scenario])
    p = driver_projection(base, [2023, 2024, 2030], d)
    assert p.loc[2024, "total"] == pytest.approx(base)
    assert np.isnan(p.loc[2023, "total"])  # the model projects forward only
    assert p.loc[2030, list(WORKLOADS)].sum() == pytest.approx(p.loc[2030, "total"])
    assert p.loc[2030, "peak_gw"] == pytest.approx(p.loc[2030, "average_gw"] * d.peak_to_average)
    assert "2025" in src or "2024" in src


def test_presets_land_near_the_iea_cases():
    targets = {"Base": 1200, "Lift-Off": 1700, "High Efficiency": 970, "Headwinds": 700}
    for sc, target in targets.items():
        d = GrowthDrivers().replace(**DRIVER_SCENARIOS[sc])
        assert driver_projection(415, [2035], d).loc[2035, "total"] == pytest.approx(target, rel=0.03)
    assert driver_projection(415, [2030], GrowthDrivers()).loc[2030, "total"] == pytest.approx(945, rel=0.03)
    g = calibrate_driver("accelerator_growth", 1700, 2035, 415)
    assert g == pytest.approx(DRIVER_SCENARIOS["Lift-Off"]["accelerator_growth"], abs=0.01)


@settings(max_examples=30, deadline=None)
@given(g1=st.floats(0.0, 1.5), g2=st.floats(0.0, 1.5), eff=st.floats(0.0, 0.3))
def test_more_capacity_growth_never_means_less_energy(g1, g2, eff):
    lo, hi = sorted((g1, g2))
    d = GrowthDrivers(efficiency_gain=eff)
    a = driver_projection(100, range(2024, 2036), d.replace(accelerator_growth=lo))["total"]
    b = driver_projection(100, range(2024, 2036), d.replace(accelerator_growth=hi))["total"]
    assert (b >= a - 1e-9).all()


def test_bad_drivers_are_reported_together():
    with pytest.raises(ValidationError) as e:
        driver_projection(100, [2030], GrowthDrivers(utilisation=1.4, pue_accelerated=0.9, workload_split=(0.5, 0.2, 0.1)))
    msg = str(e.value)
    assert "3 problems in growth drivers" in msg and "utilisation must lie in [0, 1], found 1.4" in msg
    with pytest.raises(TypeError, match="unknown drivers"):
        GrowthDrivers().replace(warp_factor=9)


def test_growth_regressor_recovers_exponential_growth():
    years = np.arange(2010, 2020)[:, None]
    y = 50 * 1.12 ** (years[:, 0] - 2010)
    m = GrowthRegressor().fit(years, y)
    assert m.growth_rate_ == pytest.approx(0.12)
    np.testing.assert_allclose(m.predict([[2025]]), 50 * 1.12**15)
    noisy = y * np.exp(np.random.default_rng(1).normal(0, 0.05, y.size))
    q = GrowthRegressor().fit(years, noisy).predict_quantiles([[2020], [2030]], [0.1, 0.5, 0.9])
    assert (np.diff(q, axis=1) > 0).all() and (q[1, 2] - q[1, 0]) > (q[0, 2] - q[0, 0])  # wider further out
    with pytest.raises(ValueError, match="positive targets"):
        GrowthRegressor().fit(years, -y)


def test_jackknife_plus_is_infinite_with_too_few_points():
    years = np.array([[2014], [2016], [2018], [2023]])
    m = GrowthRegressor(interval="jackknife+").fit(years, [58, 60, 76, 176])
    q = m.predict_quantiles([[2030]], [0.1, 0.5, 0.9])
    assert q[0, 0] == 0 and np.isinf(q[0, 2])  # 80 % needs at least 9 points
    big = np.arange(2000, 2020)[:, None]
    m2 = GrowthRegressor(interval="jackknife+").fit(big, 10 * 1.1 ** (big[:, 0] - 2000) *
                                                     np.exp(np.random.default_rng(0).normal(0, .05, 20)))
    assert np.isfinite(m2.predict_quantiles([[2021]], [0.1, 0.9])).all()


def test_pooled_pipeline_projects_every_region():
    trend, pipe = trend_projection([2024, 2030])
    assert set(trend["region"]) == set(REGIONS)
    assert (trend["q0.1"] < trend["electricity_twh"]).all() and (trend["electricity_twh"] < trend["q0.9"]).all()
    assert 0.05 < pipe[-1].growth_rate_ < 0.25
    one = trend_projection([2030], ["US"])[0]
    assert one["electricity_twh"].iloc[0] == pytest.approx(
        trend.set_index(["region", "year"]).loc[("US", 2030), "electricity_twh"])
    p = make_growth_pipeline().fit(pd.DataFrame({"region": ["A", "A", "B"], "year": [2020, 2022, 2022]}), [1, 2, 3])
    assert p.predict(pd.DataFrame({"region": ["B"], "year": [2024]}))[0] == pytest.approx(6.0)


def test_check_against_published_flags_only_values_outside_every_range():
    v = pd.DataFrame({"region": ["US", "US", "US", "World"], "year": [2028, 2028, 2031, 2035],
                      "electricity_twh": [400.0, 900.0, 999.0, 650.0]})
    out = check_against_published(v)
    assert len(out) == 3  # no published figure for 2031
    flags = out.set_index("electricity_twh")["outside_all"]
    assert not flags[400.0] and flags[900.0] and flags[650.0]
    assert "outside every published range" in out.set_index("electricity_twh").loc[900.0, "message"]


def test_demand_cube_validates_and_has_the_dimensions():
    cube = demand_cube(years=range(2014, 2036))
    validate(cube, "demand")
    assert dict(cube["dc_electricity"].sizes) == {"region": 6, "year": 22, "scenario": 4, "workload": 4}
    assert cube["dc_electricity"].attrs["units"] == "TWh" and cube["dc_peak_power"].attrs["units"] == "GW"
    us = cube.sel(region="US")
    assert float(us["dc_electricity"].sum("workload").sel(year=2024, scenario="Base")) == pytest.approx(183)
    assert float(us["dc_electricity_history"].sel(year=2018)) == 76
    assert float(us["dc_electricity_published_low"].sel(year=2028)) == 325
    np.testing.assert_allclose(cube["dc_average_power"], cube["dc_electricity"] / 8.766)
    assert cube.attrs["pf_kind"] == "demand" and "powerfirst_version" in cube.attrs
    bad = cube.drop_vars("dc_electricity")
    assert any("required variable missing" in str(p) for p in check(bad, "demand"))
    with pytest.raises(KeyError, match="unknown scenario"):
        demand_cube(["Warp"])
    higher = demand_cube(["Base"], ["US"], [2030], overrides={"accelerator_growth": 0.9})
    assert float(higher["dc_electricity"].sum()) > float(us["dc_electricity"].sel(year=2030, scenario="Base").sum())


# ---------------------------------------------------------------------------
# regional driver sets


def _iea(facts, period, scenario="Base"):
    """IEA *Energy and AI* (2025) figures of the facts [TWh] by region: the regional split as charted
    by Graphic News, and the world figure of the 2025 report (not its 2026 update)."""
    f = facts[(facts["quantity"] == "datacentre_electricity") & (facts["scenario"] == scenario)
              & (facts["period"] == period)]
    out = f[f["publisher"] == "Graphic News"].set_index("region")["value"]
    world = f[(f["region"] == "World") & f["source_title"].str.startswith("Energy and AI")]["value"]
    assert len(world) == 1
    return pd.concat([out, pd.Series({"World": float(world.iloc[0])})])


def _totals(cube, year):
    return cube["dc_electricity"].sum("workload").sel(year=year).to_pandas()


def test_2030_base_by_region_follows_the_iea_figures():
    facts = read_facts()
    iea = _iea(facts, 2030)
    got = _totals(demand_cube(["Base"], years=[2024, 2030]), 2030)["Base"]
    for region in IEA_REGIONS:
        assert got[region] == pytest.approx(iea[region], rel=0.10), region
    assert got["World"] == pytest.approx(iea["World"], rel=0.05)
    assert got.drop("World").sum() == pytest.approx(iea["World"], rel=0.05)
    # one world driver set gave China 235 and Europe 156 TWh; the regional driver sets give
    expected = {"World": 954.7, "US": 426.0, "China": 277.0, "Europe": 113.0, "Asia Pacific excl. China": 101.1,
                "Rest of world": 29.0}
    assert got.to_dict() == pytest.approx(expected, abs=0.1)
    flags = check_against_published(got.rename("electricity_twh").rename_axis("region").reset_index().assign(year=2030))
    assert not flags["outside_all"].any()


def test_sum_of_regions_meets_the_iea_world_cases_it_was_not_fitted_to():
    facts = read_facts()
    cube = demand_cube(years=[2035])
    regions = _totals(cube, 2035).drop("World").sum()
    for scenario in DRIVER_SCENARIOS:
        assert regions[scenario] == pytest.approx(_iea(facts, 2035, scenario)["World"], rel=0.03), scenario


def test_regional_split_agrees_with_the_iea_text():
    facts = read_facts()
    split = _iea(facts, 2030) - _iea(facts, 2024, "historical")
    inc = facts[facts["quantity"] == "datacentre_electricity_increase"].set_index("region")
    assert set(inc.index) == {"US", "China", "Europe"}
    for region, row in inc.iterrows():
        assert split[region] == pytest.approx(row["value"], rel=0.05) and not split[region] < row["low"]


def test_every_regional_driver_is_sourced_or_labelled():
    table = regional_driver_table()
    assert set(table["region"]) == set(REGIONS) - {"World"}
    for region, t in table.groupby("region"):
        assert {"accelerator_growth", "utilisation", "pue_accelerated", "pue_conventional",
                "efficiency_gain"} <= set(t["driver"]), region
    assert set(table["kind"]) == {"source", "derived", "assumption"}
    assert table["source"].str.len().gt(20).all()
    assert (table.loc[table["kind"] == "assumption", "note"].str.contains("world value kept")).all()


@pytest.mark.parametrize("region", [r for r in REGIONS if r != "World"])
def test_stored_accelerator_growth_is_its_documented_derivation(region):
    table = regional_driver_table()
    stored = table[(table["region"] == region) & (table["driver"] == "accelerator_growth")]["value"].item()
    assert calibrate_regional_growth(region) == pytest.approx(stored, abs=6e-4)  # stored rounded to 0.001


def test_each_region_takes_its_drivers_from_the_facts(tmp_path):
    for f in facts_dir().glob("*.csv"):
        (tmp_path / f.name).write_bytes(f.read_bytes())
    path = tmp_path / "datacentre_drivers.csv"
    rows = pd.read_csv(path, dtype=str, keep_default_na=False)
    rows.loc[(rows["quantity"] == "driver_accelerator_growth") & (rows["region"] == "China"), "value"] = "0.6"
    rows.loc[(rows["quantity"] == "driver_pue_accelerated") & (rows["region"] == "US"), "value"] = "1.1"
    rows.to_csv(path, index=False)
    changed = read_facts(tmp_path)
    before = _totals(demand_cube(["Base"], years=[2030]), 2030)["Base"]
    after = _totals(demand_cube(["Base"], years=[2030], facts=changed), 2030)["Base"]
    assert after["China"] < before["China"] - 50
    assert after["US"] != pytest.approx(before["US"], abs=1e-6)  # via the PUE trend
    same = ["World", "Europe", "Asia Pacific excl. China", "Rest of world"]
    np.testing.assert_allclose(after[same], before[same])
    china, us = regional_drivers("China", facts=changed), regional_drivers("US", facts=changed)
    assert (china.accelerator_growth, us.pue_accelerated, us.pue_conventional) == (0.6, 1.1, 1.5)
    # presets move a regional driver by the ratio they move the world one
    lift = regional_drivers("China", "Lift-Off", facts=changed)
    assert lift.accelerator_growth == pytest.approx(0.6 * 0.92 / 0.75)
    assert regional_drivers("World", "Lift-Off", facts=changed) == GrowthDrivers().replace(accelerator_growth=0.92)


def test_region_overrides_move_one_region_and_name_unknown_regions():
    cube = demand_cube(["Base"], ["US", "China"], [2030], region_overrides={"US": {"accelerator_growth": 0.9}})
    got = _totals(cube, 2030)["Base"]
    assert got["US"] > 426 + 20 and got["China"] == pytest.approx(277.0, abs=0.1)
    with pytest.raises(KeyError, match=r"unknown region 'Atlantis' in region_overrides; regions: \['World', 'US', "
                                       r"'China', 'Europe', 'Asia Pacific excl. China', 'Rest of world'\]"):
        demand_cube(["Base"], ["US"], [2030], region_overrides={"Atlantis": {"accelerator_growth": 0.9}})
    with pytest.raises(KeyError, match="unknown region 'Atlantis'"):
        regional_drivers("US", region_overrides={"Atlantis": {}})
    with pytest.raises(TypeError, match="unknown drivers"):
        demand_cube(["Base"], ["US"], [2030], region_overrides={"US": {"warp_factor": 9}})


def test_bad_driver_rows_are_reported_with_file_and_line(tmp_path):
    head = "quantity,region,scenario,period,value,low,high,unit,source_title,publisher,year,url,note\n"
    body = ["driver_accelerator_growth,Mars,Base,2024,0.5,,,year-1,t,p,2025,,derived: x",
            "driver_warp_factor,US,Base,2024,9,,,1,t,p,2025,,assumption: x",
            "driver_utilisation,US,Base,2024,0.6,,,year-1,t,p,2025,,assumption: x",
            "driver_accelerator_growth,US,Lift-Off,2024,0.9,,,year-1,t,p,2025,,derived: x",
            "driver_pue_accelerated,US,Base,2024,1.2,,,1,t,p,2025,,source: x",
            "driver_pue_accelerated,US,Base,2024,1.3,,,1,t,p,2025,,source: x"]
    (tmp_path / "drivers.csv").write_text(head + "\n".join(body) + "\n")
    with pytest.raises(ValidationError) as e:
        regional_driver_table(read_facts(tmp_path / "drivers.csv"))
    msg = str(e.value)
    assert "5 problems in regional growth drivers" in msg
    assert "drivers.csv, line 2, column 'region': unknown region 'Mars'" in msg
    assert "line 3, column 'quantity': unknown driver 'warp_factor'" in msg
    assert "line 4, column 'unit': driver 'utilisation' is in '1', found 'year-1'" in msg
    assert "line 5, column 'scenario'" in msg and "line 7, column 'value': second value of 'pue_accelerated'" in msg
