"""Annual demand growth: facts history and projections, the driver model, the trend estimator,
the published-range check and the demand cube."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from powerfirst.errors import ValidationError
from powerfirst.models.forecast.annual import (
    DRIVER_SCENARIOS,
    REGIONS,
    WORKLOADS,
    GrowthDrivers,
    GrowthRegressor,
    base_year_electricity,
    calibrate_driver,
    check_against_published,
    demand_cube,
    driver_projection,
    history,
    history_series,
    make_growth_pipeline,
    published_projections,
    reference_bands,
    trend_projection,
)
from powerfirst.schema import check, validate


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
