"""Demand by point, tier and year; supply by site and year; costs; sovereignty masks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from powerfirst.errors import DataFormatError, ValidationError
from powerfirst.models.forecast import demand_cube
from powerfirst.models.network import (
    aggregate_population,
    build_instance,
    capital_recovery_factor,
    demand_points,
    mw_at_confidence,
    read_costs,
    site_supply,
    sovereignty_mask,
)

#: a small population: three US counties (two in one H3 cell at resolution 2) and two German cities
POP = pd.DataFrame({
    "lat": [39.04, 39.10, 33.45, 50.11, 52.52], "lon": [-77.49, -77.30, -112.07, 8.68, 13.40],
    "population": [400_000, 100_000, 500_000, 750_000, 250_000], "country": ["US", "US", "US", "DE", "DE"],
})


@pytest.fixture(scope="module")
def cube():
    return demand_cube(scenarios=["Base"], regions=["US", "Europe"], years=range(2024, 2031))


def test_demand_points_spread_the_cube_by_population(cube):
    ds = demand_points(("US", "Europe"), (2026, 2030), cube=cube, population=POP, resolution=2)
    assert ds.sizes["point"] == 4  # the two Virginia counties share a cell
    twh = cube["dc_electricity"].sel(scenario="Base", year=[2026, 2030])
    for region in ("US", "Europe"):
        pts = ds["point_region"].values == region
        for t, w in (("training", "training"), ("regional", "inference"), ("edge", "edge")):
            total = ds["average_mw"].sel(tier=t).isel(point=pts).sum("point").values
            expect = twh.sel(region=region, workload=w).values / 8.766 * 1000.0
            np.testing.assert_allclose(total, expect, rtol=1e-12)
    # population shares inside a region: Virginia cell 500k of 1M US people
    va = [p for p, c, lat in zip(ds["point"].values, ds["country"].values, ds["lat"].values, strict=True)
          if c == "US" and lat > 38]
    us_total = ds["average_mw"].isel(point=ds["point_region"].values == "US").sum("point")
    np.testing.assert_allclose(ds["average_mw"].sel(point=va[0]).values, 0.5 * us_total.values, rtol=1e-12)
    # the cube's peak-to-average ratio (1.15 of the driver model) unless overridden
    np.testing.assert_allclose((ds["peak_mw"] / ds["average_mw"]).values, 1.15, rtol=1e-9)
    assert ds["average_mw"].attrs["units"] == "MW" and ds["region_average_gw"].attrs["units"] == "GW"


def test_demand_split_share_and_peak_overrides(cube):
    ds = demand_points(("US",), (2030,), cube=cube, population=POP, resolution=2, market_share=0.25,
                       split={"training": 0.5, "regional": 0.3, "edge": 0.2}, peak_to_average={"edge": 2.0})
    acc = cube["dc_electricity"].sel(scenario="Base", year=2030, region="US", workload=["training", "inference", "edge"])
    total = float(acc.sum()) / 8.766 * 1000.0 * 0.25
    got = ds["average_mw"].sum("point").sel(year=2030)
    np.testing.assert_allclose(got.values, [0.5 * total, 0.3 * total, 0.2 * total], rtol=1e-12)
    np.testing.assert_allclose((ds["peak_mw"] / ds["average_mw"]).sel(tier="edge").values, 2.0)
    np.testing.assert_allclose((ds["peak_mw"] / ds["average_mw"]).sel(tier="training").values, 1.15, rtol=1e-9)


def test_year_outside_the_demand_cube_is_an_error(cube):
    with pytest.raises(ValidationError, match=r"years \[2040\] lie outside the demand cube \(2024–2030\)"):
        demand_points(("US",), (2030, 2040), cube=cube, population=POP)
    old = demand_cube(scenarios=["Base"], regions=["US"], years=range(2018, 2031))
    with pytest.raises(ValidationError, match=r"no projection for years \[2020\]"):
        demand_points(("US",), (2020,), cube=old, population=POP)


@pytest.mark.parametrize("kw, message", [
    ({"regions": ("Mars",)}, "unknown region 'Mars'"),
    ({"split": {"training": 0.5, "regional": 0.3}}, "summing to 1"),
    ({"peak_to_average": {"edge": 0.5}}, r"tier 'edge': expected a value in \[1, 3\]"),
    ({"market_share": 0.0}, r"market share in \(0, 1\]"),
    ({"resolution": 9}, "H3 resolution in 0..7"),
    ({"scenario": "Boom"}, "scenario 'Boom' is not in the demand cube"),
])
def test_bad_demand_inputs(cube, kw, message):
    args = {"regions": ("US",), "years": (2030,), "cube": cube, "population": POP, **kw}
    with pytest.raises(ValidationError, match=message):
        demand_points(**args)


def test_aggregate_population_keeps_border_cells_apart():
    pts = pd.DataFrame({"lat": [47.57, 47.58], "lon": [7.58, 7.60], "population": [10, 30], "country": ["CH", "DE"]})
    agg = aggregate_population(pts, 1)
    assert len(agg) == 2 and set(agg["country"]) == {"CH", "DE"}
    assert agg["population"].sum() == 40
    with pytest.raises(ValidationError, match="population >= 0"):
        aggregate_population(pts.assign(population=[-1, 3]), 1)


def _ttp(sites, mw=100.0, step_month=18, p=0.9, start="2027-01-01"):
    """A hand-made time-to-power result: first power at step_month with probability p, full MW then."""
    month = np.arange(61)
    pe = np.where(month >= step_month, p, 0.0)
    n = len(sites)
    prob = np.broadcast_to(pe, (n, 2, month.size)).copy()
    prob[:, 1, :] = np.where(month >= 6, 0.95, 0.0)  # grid_flexible: early, half the MW
    mwa = prob * np.array([mw, mw / 2])[None, :, None]
    ds = xr.Dataset(coords={"site": list(sites), "path": ["grid_firm", "grid_flexible"], "month": month})
    ds.coords["start_date"] = ("site", np.full(n, np.datetime64(start, "ns")))
    ds["prob_energised"] = (("site", "path", "month"), prob)
    ds["mw_available"] = (("site", "path", "month"), mwa)
    ds["mw"] = (("site", "path"), np.tile([mw, mw / 2], (n, 1)))
    return ds


def test_mw_at_confidence_counts_mw_once_probable_enough():
    ttp = _ttp(["a"])
    w = mw_at_confidence(ttp, [2027, 2028, 2029], confidence=0.8)
    # month 11 (end 2027): firm not yet; flexible 50 MW at p = 0.95; end 2028 (month 23): firm 100 MW
    np.testing.assert_allclose(w.sel(path="grid_firm").values[0], [0.0, 100.0, 100.0])
    np.testing.assert_allclose(w.sel(path="grid_flexible").values[0], [50.0, 50.0, 50.0])
    strict = mw_at_confidence(ttp, [2027, 2028, 2029], confidence=0.92)
    np.testing.assert_allclose(strict.sel(path="grid_firm").values[0], [0.0, 0.0, 0.0])
    with pytest.raises(ValidationError, match=r"confidence in \(0, 1\)"):
        mw_at_confidence(ttp, [2027], confidence=1.0)


CANDS = pd.DataFrame({"site": ["a", "b", "c"], "lat": [39.0, 40.0, 50.1], "lon": [-77.5, -75.0, 8.7],
                      "country": ["US", "US", "DE"], "ba": ["PJM", "PJM", ""], "price": [70.0, 80.0, 150.0],
                      "carbon_intensity": [380.0, 400.0, 350.0], "headroom_mw": [120.0, 120.0, np.nan],
                      "accelerator_hours_per_mwh": [600.0, 620.0, 640.0]})


def test_site_supply_from_a_user_list():
    costs = read_costs()
    sup = site_supply(CANDS, [2027, 2028], ttp=_ttp(["a", "b", "c"]), costs=costs)
    np.testing.assert_allclose(sup["firm_mw"].values, [[0.0, 100.0]] * 3)
    np.testing.assert_allclose(sup["available_mw"].values, [[50.0, 100.0]] * 3)
    crf = capital_recovery_factor(0.07, 20)
    assert crf == pytest.approx(0.0943929, rel=1e-6)
    expect = (11.7e6 / 1.3 + 0.25e6) * crf  # grid_firm connection, training facility capex
    assert float(sup["capex_annual"].sel(site="a", tier="training")) == pytest.approx(expect)
    assert float(sup["capex_annual"].sel(site="a", tier="edge")) == pytest.approx((15e6 / 1.3 + 0.25e6) * crf)
    assert float(sup["energy_cost"].sel(site="a")) == pytest.approx(70.0 + 72.5 * 0.38)
    assert float(sup["ba_headroom_mw"].sel(ba="PJM")) == 120.0
    assert sup["hosts"].all()
    # carbon price override
    sup0 = site_supply(CANDS, [2027], ttp=_ttp(["a", "b", "c"]), carbon_price=0)
    np.testing.assert_allclose(sup0["energy_cost"].values, CANDS["price"].to_numpy())


def test_candidates_without_time_to_power_or_prices_are_errors():
    with pytest.raises(ValidationError, match=r"'c': candidate has no time-to-power result"):
        site_supply(CANDS, [2027], ttp=_ttp(["a", "b"]))
    with pytest.raises(ValidationError, match=r"row 2, column 'price', 'b': expected price in"):
        site_supply(CANDS.assign(price=[70.0, np.nan, 80.0]), [2027], ttp=_ttp(["a", "b", "c"]))
    with pytest.raises(ValidationError, match=r"missing \['carbon_intensity'\]"):
        site_supply(CANDS.drop(columns="carbon_intensity"), [2027], ttp=_ttp(["a", "b", "c"]))
    with pytest.raises(ValidationError, match="unknown tier 'core'"):
        site_supply(CANDS.assign(tiers=["training", "core", ""]), [2027], ttp=_ttp(["a", "b", "c"]))


def test_supply_years_must_cover_the_demand():
    sup = site_supply(CANDS, [2027], ttp=_ttp(["a", "b", "c"]))
    dem = demand_points(("US",), (2027, 2028), cube=demand_cube(scenarios=["Base"], regions=["US"],
                                                               years=range(2024, 2029)), population=POP, resolution=2)
    with pytest.raises(ValidationError, match=r"no figures for years \[2028\]"):
        build_instance(dem, sup)


def test_read_costs_reports_bad_rows(tmp_path):
    c = read_costs()
    assert c.module_mw == {"training": 50.0, "regional": 20.0, "edge": 5.0}
    assert c.capex_connection["existing_service"] == 0.0
    assert c.unserved_cost == 2000.0 and c.carbon_price == 72.5
    from powerfirst.paths import data_dir

    text = (data_dir() / "network" / "costs.csv").read_text()
    bad = text.replace("capex_facility,edge,,15000000", "capex_facility,edge,,15000").replace(
        "design_pue,,,1.3,,1.3,1,", "design_pue,,,1.3,,1.3,%,")
    p = tmp_path / "costs.csv"
    p.write_text(bad)
    with pytest.raises(ValidationError) as e:
        read_costs(p)
    msg = str(e.value)
    assert "row 3 (line 4), column 'value': expected capex_facility in [100000, 1e+08] USD MW-1, found 15000" in msg
    assert "column 'unit': expected unit '1' for design_pue, found '%'" in msg
    p.write_text("a,b\n1,2\n")
    with pytest.raises(DataFormatError, match="expected columns quantity"):
        read_costs(p)


def test_sovereignty_masks():
    pc = ["DE", "FR", "US", "GB"]
    sc = ["DE", "US", "FR", "GB"]
    eu = sovereignty_mask(pc, sc, "eu_residency")
    assert eu.tolist() == [[True, False, True, False], [True, False, True, False], [True] * 4, [True] * 4]
    nat = sovereignty_mask(pc, sc, "national")
    assert nat.tolist() == [[True, False, False, False], [False, False, True, False],
                            [False, True, False, False], [False, False, False, True]]
    custom = sovereignty_mask(pc, sc, {"DE": ["self", "FR"], "*": ["*"]})
    assert custom[0].tolist() == [True, False, True, False] and custom[2].all()
    with pytest.raises(ValidationError, match="allowed selector 'Europe' is not a country code"):
        sovereignty_mask(pc, sc, {"DE": ["Europe"]})
    with pytest.raises(ValidationError, match="unknown sovereignty rule 'gdpr'"):
        sovereignty_mask(pc, sc, "gdpr")

