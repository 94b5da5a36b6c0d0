"""The rule-based dispatch against the linear program (linopy + HiGHS): within 5 % of the optimum on
random site-years with realistic price shapes, equal where the rule is provably optimal, and the LP's
sizing."""

from __future__ import annotations

import time

import numpy as np
import pytest
import xarray as xr

from powerfirst.models.dispatch import prepare, run_prepared
from powerfirst.models.dispatch.inputs import stylised_price
from powerfirst.models.dispatch.lp import build_site_lp, solve_site_lp

N_RANDOM = 20


@pytest.fixture(scope="module")
def random_year():
    """20 random site-years: demo sites with perturbed storage, generation, flexibility and connection,
    a stylised price shape with site-specific level, spread and noise, stylised curtailment events."""
    from conftest import synthetic_energy_cube

    from powerfirst import demo_sites

    rng = np.random.default_rng(2025)
    sites = demo_sites().isel(site=slice(0, N_RANDOM))
    energy = synthetic_energy_cube(sites)
    # weather with some randomness, so that the sites differ from each other
    energy["wind_cf"] = energy["wind_cf"] * xr.DataArray(rng.uniform(0.3, 1.6, energy["wind_cf"].shape),
                                                         dims=energy["wind_cf"].dims)
    energy["wind_cf"] = energy["wind_cf"].clip(0, 1).assign_attrs(units="1")
    t = energy.indexes["time"]
    prices = []
    for _i in range(N_RANDOM):
        shape = stylised_price(t, -5, base=rng.uniform(30, 80))
        spread = rng.uniform(0.5, 2.0)
        p = shape.mean() + spread * (shape - shape.mean()) + rng.normal(0, rng.uniform(2, 12), len(t))
        prices.append(np.maximum(p, 0.5))  # non-negative: see test_rule_equals_lp_without_storage_or_deferral
    price = xr.DataArray(np.array(prices), dims=("site", "time"), coords={"site": sites["site"].values, "time": t})
    load = sites["target_mw"].values
    over = {
        "storage_mw": rng.uniform(0.05, 0.5, N_RANDOM) * load,
        "storage_hours": rng.uniform(1, 6, N_RANDOM),
        "gas_mw": np.where(rng.random(N_RANDOM) < 0.6, rng.uniform(0.05, 0.4, N_RANDOM) * load, 0.0),
        "gas_min_load": 0.0,
        "gas_fuel_cost": rng.uniform(40, 120, N_RANDOM),
        "firm_mw": rng.uniform(0.2, 1.0, N_RANDOM) * load,
        "flex_share": np.where(rng.random(N_RANDOM) < 0.3, rng.uniform(0.05, 0.3, N_RANDOM), 0.0),
        "degradation_cost": rng.uniform(0, 10, N_RANDOM),
        "carbon_price": np.where(rng.random(N_RANDOM) < 0.3, 60.0, 0.0),
    }
    over["nonfirm_mw"] = np.maximum(load - over["firm_mw"], 0) * rng.uniform(0.5, 1.2, N_RANDOM)
    scen = {"rule": {k: xr.DataArray(v, dims="site", coords={"site": sites["site"].values}) if np.ndim(v) else v
                     for k, v in over.items()},
            "no_storage": {"storage_mw": 0, "flex_share": 0, "gas_min_load": 0.0,
                           "gas_mw": xr.DataArray(over["gas_mw"], dims="site", coords={"site": sites["site"].values})}}
    prep = prepare(energy, sites, scen, price=price)
    return prep, run_prepared(prep)


def test_rule_within_five_percent_of_the_lp_optimum(random_year):
    prep, res = random_year
    gaps, t0 = [], time.perf_counter()
    for i in range(N_RANDOM):
        lp = solve_site_lp(prep, i, "rule")
        rule = float(res["total_cost"].isel(site=i).sel(scenario="rule"))
        gap = rule / lp.total_cost - 1
        gaps.append(gap)
        assert gap > -1e-6, f"site {prep.site[i]}: the rule beats the optimum ({gap:.2e}): LP or rule wrong"
    elapsed = time.perf_counter() - t0
    gaps = np.array(gaps)
    print(f"rule vs LP cost gaps [%]: {np.round(100 * gaps, 3).tolist()} ({elapsed:.1f} s for {N_RANDOM} LPs)")
    assert (gaps <= 0.05).all(), f"gaps above 5 %: {gaps[gaps > 0.05]}"


def test_rule_equals_lp_without_storage_or_deferral(random_year):
    """Without storage or deferral the hours are independent and the rule takes the cheapest source in each:
    optimal as long as prices are not negative (with negative prices the optimum also imports to spill
    on-site output, which the rule does not)."""
    prep, res = random_year
    for i in range(0, N_RANDOM, 4):
        lp = solve_site_lp(prep, i, "no_storage")
        rule = float(res["total_cost"].isel(site=i).sel(scenario="no_storage"))
        assert rule == pytest.approx(lp.total_cost, rel=1e-6)
        assert float(res["unserved_energy"].isel(site=i).sel(scenario="no_storage")) == pytest.approx(
            float(lp.hourly["unserved"].sum()), rel=1e-6, abs=1e-3)


def test_rule_equals_milp_with_minimum_load(random_year):
    """No storage, no deferral: each hour stands alone and the rule's choice (incl. running generation
    at its minimum load) is the optimum, here against the unit-commitment MILP."""
    prep0, _ = random_year
    from powerfirst.models.dispatch import prepare as prep_again

    energy = xr.Dataset({v: (("site", "time"), np.asarray(prep0.hourly[v])) for v in prep0.hourly},
                        coords={"site": prep0.site, "time": prep0.time, **prep0.coords})
    for v, u in (("solar_cf", "1"), ("wind_cf", "1"), ("pue", "1"), ("carbon_intensity", "gCO2 kWh-1")):
        energy[v].attrs["units"] = u
    from powerfirst import demo_sites

    sites = demo_sites().sel(site=list(prep0.site[:2]))
    hours = slice(0, 24 * 28)
    e = energy.isel(site=slice(0, 2), time=hours)
    prep = prep_again(e, sites, {"uc": {"storage_mw": 0, "flex_share": 0, "gas_mw_scale": 3, "gas_min_load": 0.5,
                                        "gas_fuel_cost": 45, "firm_mw_scale": 0.5}}, curtailment=0.0)
    res = run_prepared(prep)
    for i in range(2):
        lp = solve_site_lp(prep, i, "uc", unit_commitment=True)
        assert float(res["total_cost"][i, 0]) == pytest.approx(lp.total_cost, rel=1e-6)


def test_lp_timing_and_structure(random_year):
    from powerfirst.models.dispatch import site_series

    prep, _ = random_year
    x = site_series(prep, 0, "rule")
    m = build_site_lp(x)
    names = set(m.constraints)
    assert {"balance", "spill", "soc_balance"} <= names
    t0 = time.perf_counter()
    lp = solve_site_lp(prep, 0, "rule")
    assert time.perf_counter() - t0 < 30
    assert lp.status == "ok" and lp.hourly.sizes["time"] == len(prep.time)
    soc = lp.hourly["soc"].values
    p = x["params"]
    assert soc.min() >= p["soc_min"] * p["storage_mwh"] - 1e-6 and soc.max() <= p["soc_max"] * p["storage_mwh"] + 1e-6


def test_lp_sizing_trades_capital_against_energy(random_year):
    prep, _ = random_year
    hours = slice(0, 24 * 14)
    dear = solve_site_lp(prep, 1, "rule", hours=hours, sizing={"storage_mw": 500.0, "storage_mwh": 2000.0},
                         capital_costs={"storage_mw": 1e9, "storage_mwh": 1e9})
    assert dear.sizes["storage_mw"] == pytest.approx(0, abs=1e-6) and dear.sizes["storage_mwh"] == pytest.approx(0, abs=1e-6)
    free = solve_site_lp(prep, 1, "rule", hours=hours, sizing={"storage_mw": 500.0, "storage_mwh": 2000.0},
                         capital_costs={"storage_mw": 0.0, "storage_mwh": 0.0})
    assert free.sizes["storage_mwh"] > 0
    assert free.total_cost <= dear.total_cost + 1e-6
    assert 0 <= free.sizes["storage_mw"] <= 500 + 1e-6 and free.sizes["storage_mwh"] <= 2000 + 1e-6


@pytest.mark.realdata
def test_rule_near_lp_with_the_gb_day_ahead_price(shared):
    """A real hourly price shape: GB day-ahead 2019-10..2020-09 (OPSD), GBP at 1.28 USD (assumed), laid onto
    the typical year."""
    import warnings

    from conftest import synthetic_energy_cube

    from powerfirst import demo_sites
    from powerfirst.io.prices import read_opsd_prices
    from powerfirst.models.dispatch.inputs import align_to_typical_year

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        gb = read_opsd_prices(shared / "europe" / "opsd_GB_60min_2019-10_2020-09.csv", usd_per_unit=1.28,
                              fill_gaps_h=3)
    sites = demo_sites().isel(site=slice(0, 3))
    energy = synthetic_energy_cube(sites)
    price = align_to_typical_year(gb, energy.indexes["time"], name="GB price")
    assert price.min() < 0 < price.max()  # negative hours are part of the real shape
    prep = prepare(energy, sites, {"gb": {"storage_hours": 2}}, price=price)
    res = run_prepared(prep)
    for i in range(3):
        lp = solve_site_lp(prep, i, 0)
        gap = float(res["total_cost"][i, 0]) / lp.total_cost - 1
        assert -1e-6 < gap <= 0.05, gap
