"""Site dispatch: the compiled rule against its plain reference, physical invariants (property tests),
laziness, sweeps, outputs and units, and every bad input with its message."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from powerfirst.errors import ValidationError
from powerfirst.models.dispatch import (
    HOURLY_VARIABLES,
    SUMMARY_VARIABLES,
    dispatch,
    dispatch_reference,
    prepare,
    resolve_parameters,
    run_prepared,
)
from powerfirst.schema import validate

SCENARIOS = {
    "base": {},
    "no_storage": {"storage_mw": 0},
    "carbon": {"priority": "carbon"},
    "carbon_price": {"carbon_price": 80, "storage_scale": 2},
    "firm_only": {"nonfirm_mw": 0},
    "min_load": {"degradation_cost": 20, "gas_min_load": 0.6, "gas_mw_scale": 3},
    "flexible": {"flex_share": 0.3, "storage_scale": 0.3, "flex_hours": 3},
    "resilience": {"arbitrage": 0},
    "more": {"renewables_scale": 4, "storage_hours": 2},
}


@pytest.fixture(scope="module")
def sites():
    from powerfirst import demo_sites

    s = demo_sites()
    keep = ["PJM-007", "PJM-013", "MISO-004", "PJM-002", "PJM-001", "CISO-003", "ERCO-001", "PJM-011"]
    keep = [k for k in keep if k in set(s["site"].values)]
    return s.sel(site=keep)


@pytest.fixture(scope="module")
def energy(sites):
    from conftest import synthetic_energy_cube

    return synthetic_energy_cube(sites)


@pytest.fixture(scope="module")
def prep(energy, sites):
    return prepare(energy, sites, SCENARIOS)


@pytest.fixture(scope="module")
def result(prep):
    return run_prepared(prep)


@pytest.fixture(scope="module")
def hourly(prep):
    return run_prepared(prep, hourly=True)


# ---------------------------------------------------------------------------
# the compiled rule = its plain reference; hourly = summaries


def test_kernel_equals_plain_reference(prep, result):
    worst = 0.0
    for i in range(prep.site.size):
        for s in range(prep.scenario.size):
            ref, _ = dispatch_reference(prep, i, s)
            row = result.isel(site=i, scenario=s)
            for k, v in ref.items():
                worst = max(worst, abs(v - float(row[k])) / max(1.0, abs(v)))
    assert worst < 1e-9


def test_hourly_run_gives_identical_summaries(result, hourly):
    for v in SUMMARY_VARIABLES:
        np.testing.assert_array_equal(result[v].values, hourly[v].values, err_msg=v)


def test_reference_hourly_equals_kernel_hourly(prep, hourly):
    _, ref = dispatch_reference(prep, "PJM-007", "flexible")
    row = hourly.sel(site="PJM-007", scenario="flexible")
    for k in HOURLY_VARIABLES:
        np.testing.assert_allclose(ref[k], row[k].values, rtol=1e-9, atol=1e-9, err_msg=k)


# ---------------------------------------------------------------------------
# physical invariants


def _check_invariants(h: xr.Dataset, p: xr.Dataset):
    bal = (h["renewable"] - h["spill"] + h["grid"] + h["discharge"] + h["onsite_generation"] + h["defer"]
           + h["unserved"] - h["facility_load"] - h["charge"] - h["make_up"])
    assert float(abs(bal).max()) < 1e-6, "energy balance"
    lo = p["soc_min"] * p["storage_mwh"]
    hi = p["soc_max"] * p["storage_mwh"]
    assert bool((h["soc"] >= lo - 1e-9).all()) and bool((h["soc"] <= hi + 1e-9).all()), "state of charge bounds"
    assert not bool(((h["charge"] > 1e-12) & (h["discharge"] > 1e-12)).any()), "charge and discharge together"
    assert bool((h["charge"] <= p["storage_mw"] + 1e-9).all()) and bool((h["discharge"] <= p["storage_mw"] + 1e-9).all())
    assert bool((h["grid"] <= h["grid_limit"] + 1e-9).all()) and bool((h["grid"] >= -1e-12).all())
    assert bool((h["onsite_generation"] <= p["gas_mw"] + 1e-9).all())
    running = h["onsite_generation"] > 0
    assert bool((h["onsite_generation"] >= (p["gas_min_load"] * p["gas_mw"] - 1e-9).where(running, 0)).all())
    assert bool((h["spill"] <= h["renewable"] + h["onsite_generation"] + 1e-9).all())
    assert bool((h["backlog"] <= p["flex_share"] * p["load_mw"] * p["flex_hours"] + 1e-9).all())
    assert bool((h["defer"] <= p["flex_share"] * h["facility_load"] + 1e-9).all())
    for v in ("unserved", "spill", "charge", "discharge", "defer", "make_up", "backlog"):
        assert bool((h[v] >= -1e-12).all()), v


def test_invariants_on_demo_sites(hourly):
    _check_invariants(hourly, hourly)


def _random_site(seed: int, T: int = 24 * 21):
    """One random site-scenario as a tiny energy cube, a site Dataset and parameter overrides."""
    rng = np.random.default_rng(seed)
    t = pd.date_range("2023-01-01", periods=T, freq="h")
    h = t.hour.to_numpy()
    sun = np.clip(np.sin(np.pi * (h - 6) / 12), 0, None) * rng.uniform(0.3, 1.0, T)
    energy = xr.Dataset({
        "solar_cf": (("site", "time"), (0.8 * sun)[None], {"units": "1"}),
        "wind_cf": (("site", "time"), rng.beta(1.2, 2.5, (1, T)), {"units": "1"}),
        "pue": (("site", "time"), rng.uniform(1.08, 1.5, (1, T)), {"units": "1"}),
        "carbon_intensity": (("site", "time"), rng.uniform(50, 900, (1, T)), {"units": "gCO2 kWh-1"}),
    }, coords={"site": ["R"], "time": t, "lat": ("site", [40.0]), "lon": ("site", [float(rng.uniform(-120, 20))]),
               "ba": ("site", ["PJM"])})
    load = float(rng.uniform(5, 500))
    sites = xr.Dataset({"target_mw": ("site", [load])}, coords={
        "site": ["R"], "lat": ("site", [40.0]), "lon": energy["lon"].values, "ba": ("site", ["PJM"]),
        "workload": ("site", [str(rng.choice(["training", "inference", "edge"]))])})
    smin = float(rng.uniform(0, 0.4))
    over = {
        "firm_mw": float(rng.uniform(0, 1.2)) * load, "nonfirm_mw": float(rng.uniform(0, 1)) * load,
        "solar_mw": float(rng.uniform(0, 2)) * load, "wind_mw": float(rng.uniform(0, 1)) * load,
        "storage_mw": float(rng.choice([0, rng.uniform(0.05, 1)])) * load, "storage_mwh": float(rng.uniform(0, 6)) * load,
        "round_trip_efficiency": float(rng.uniform(0.5, 1.0)), "soc_min": smin, "soc_max": float(rng.uniform(smin, 1)),
        "soc_initial": float(rng.uniform(0, 1)), "degradation_cost": float(rng.uniform(0, 30)),
        "gas_mw": float(rng.choice([0, rng.uniform(0, 0.8)])) * load, "gas_min_load": float(rng.uniform(0, 0.9)),
        "gas_fuel_cost": float(rng.uniform(10, 200)), "flex_share": float(rng.choice([0, rng.uniform(0, 0.6)])),
        "flex_hours": float(rng.uniform(0, 8)), "carbon_price": float(rng.choice([0, rng.uniform(0, 200)])),
        "priority": str(rng.choice(["cost", "carbon"])), "arbitrage": float(rng.integers(0, 2)),
    }
    price = xr.DataArray(rng.normal(50, 30, T), dims="time", coords={"time": t})
    curt = xr.DataArray(np.where(rng.random(T) < rng.uniform(0, 0.3), rng.uniform(0, 1, T), 0.0), dims="time",
                        coords={"time": t})
    return energy, sites, over, price, curt


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**31 - 1), window=st.sampled_from([6, 24, 48]))
def test_invariants_hold_for_random_sites(seed, window):
    energy, sites, over, price, curt = _random_site(seed)
    prep = prepare(energy, sites, {"x": over}, price=price, curtailment=curt, window_hours=window)
    h = run_prepared(prep, hourly=True)
    _check_invariants(h, h)
    s = run_prepared(prep)
    for v in SUMMARY_VARIABLES:  # the vectorised path and the scalar (hourly) path agree exactly
        np.testing.assert_array_equal(s[v].values, h[v].values, err_msg=v)
    ref, hours = dispatch_reference(prep, 0, 0)
    for k in ("total_cost", "unserved_energy", "grid_import", "storage_discharge", "deferred_energy", "soc_end"):
        assert ref[k] == pytest.approx(float(s[k].values[0, 0]), rel=1e-9, abs=1e-9), k
    # totals agree with the hourly flows
    assert float(h["grid"].sum()) == pytest.approx(float(s["grid_import"][0, 0]), rel=1e-9, abs=1e-9)
    assert float(h["unserved"].sum()) == pytest.approx(float(s["unserved_energy"][0, 0]), rel=1e-9, abs=1e-9)


# ---------------------------------------------------------------------------
# outputs, units, schema, laziness, sweeps


def test_outputs_have_units_and_validate(result):
    for v in result.data_vars:
        assert "units" in result[v].attrs, v
        assert "long_name" in result[v].attrs, v
    validate(result, "dispatch")
    assert result.attrs["price_source"].startswith("stylised")
    assert (result["unserved_share"] >= 0).all()
    assert (result["carbon_free_share"] <= 1 + 1e-9).all()
    no_sto = result.sel(scenario="no_storage")
    assert (no_sto["storage_discharge"] == 0).all() and (no_sto["storage_cycles"] == 0).all()


def test_storage_rides_through_curtailment(result):
    base, none = result.sel(scenario="base"), result.sel(scenario="no_storage")
    assert (base["unserved_energy"] <= none["unserved_energy"] + 1e-6).all()
    assert (base["curtailment_ridden_through"] >= none["curtailment_ridden_through"] - 1e-6).all()
    assert float((base["curtailment_ridden_through"] - none["curtailment_ridden_through"]).sum()) > 0


def test_lazy_over_dask_chunks_equals_in_memory(prep, result):
    import dask

    lazy = run_prepared(prep, chunks={"site": 3, "scenario": 4})
    assert lazy["total_cost"].chunks is not None  # nothing computed yet
    with dask.config.set(scheduler="synchronous"):
        got = lazy.compute()
    for v in SUMMARY_VARIABLES:
        np.testing.assert_allclose(got[v].values, result[v].values, rtol=0, atol=0, err_msg=v)


def test_lazy_energy_cube_stays_lazy(energy, sites):
    """Building the result reads site coordinates only; the hourly data is computed on request."""
    import dask

    cube = energy.chunk({"site": 4})
    hourly_names = {cube[v].data.name for v in ("solar_cf", "wind_cf", "pue", "carbon_intensity")}
    touched = []

    def watching_get(dsk, keys, **kw):
        graph = dict(dsk.__dask_graph__()) if hasattr(dsk, "__dask_graph__") else dict(dsk)
        names = {k[0] if isinstance(k, tuple) else k for k in graph}
        touched.append(bool(names & hourly_names))
        return dask.get(dsk, keys, **kw)

    with dask.config.set(scheduler=watching_get):
        out = dispatch(cube, sites, {"a": {}, "b": {"storage_scale": 2}})
        assert not any(touched), "dispatch computed the lazy hourly data"
        assert out["total_cost"].chunks is not None
        out["total_cost"].compute()
    assert any(touched)


def test_sweep_adds_dimensions(energy, sites):
    ds = dispatch(energy.isel(site=slice(0, 3)), sites, {"s": {"storage_hours": 4}},
                  sweep={"nonfirm_mw": [0, 50, 100], "storage_mw": [0, 20]})
    assert ds["unserved_energy"].dims == ("site", "scenario", "nonfirm_mw", "storage_mw")
    assert ds.sizes["nonfirm_mw"] == 3 and ds.sizes["storage_mw"] == 2
    assert ds["storage_mw"].attrs["units"] == "MW"
    np.testing.assert_allclose(ds["storage_mwh"].sel(storage_mw=20).values, 80.0)
    one = dispatch(energy.isel(site=slice(0, 3)), sites, {"s": {"storage_hours": 4, "nonfirm_mw": 50, "storage_mw": 20}})
    np.testing.assert_allclose(ds["total_cost"].sel(nonfirm_mw=50, storage_mw=20).values, one["total_cost"].values)


def test_sizing_tradeoff(energy, sites):
    from powerfirst.models.dispatch.sizing import sizing_tradeoff

    tr = sizing_tradeoff(energy.isel(site=slice(0, 2)), sites, flexible_mw=[0, 40, 120],
                         storage_mw=[0, 10, 40, 80, 160, 320], gas_mw=[0, 10, 40, 80, 160, 320])
    need = tr["storage_mw_needed"].values
    ok = np.isfinite(need)
    assert ok[:, 0].all() and (need[:, 0] == 0).all()  # nothing flexible: nothing to ride through
    for row in need:
        r = row[np.isfinite(row)]
        assert (np.diff(r) >= 0).all()  # more MW on a flexible connection needs at least as much storage
    assert tr["connected_mw"].attrs["units"] == "MW" and tr["storage_mwh_needed"].attrs["units"] == "MWh"


# ---------------------------------------------------------------------------
# bad inputs: clear errors naming the variable and the site, all at once


def test_bad_parameters_reported_together(sites):
    with pytest.raises(ValidationError) as exc:
        resolve_parameters(sites, {"bad": {"storage_mw": -5, "round_trip_efficiency": 1.2, "soc_min": 0.9,
                                           "soc_max": 0.2, "gas_mw": [-1] + [1] * (sites.sizes["site"] - 1),
                                           "priority": "cheapest"}})
    msg = str(exc.value)
    n, first = sites.sizes["site"], str(sites["site"].values[0])
    # a scalar override failing everywhere is one problem for all sites; a per-site value names its site
    assert f"variable 'storage_mw', 'all {n} sites': negative value -5" in msg
    assert "variable 'round_trip_efficiency'" in msg and "(0, 1]" in msg
    assert "state-of-charge bounds reversed" in msg and "soc_min 0.9 > soc_max 0.2" in msg
    assert f"variable 'gas_mw', '{first}': negative value -1" in msg
    assert "priority 'cheapest'" in msg
    assert len(exc.value.problems) == 5


def test_zero_efficiency_and_unknown_parameter(sites):
    with pytest.raises(ValidationError, match=r"round_trip_efficiency.*value 0 .*expected \(0, 1\]"):
        resolve_parameters(sites, {"z": {"round_trip_efficiency": 0.0}})
    with pytest.raises(ValidationError, match="unknown dispatch parameter 'storage_gwh'"):
        resolve_parameters(sites, {"z": {"storage_gwh": 1}})


def test_time_axis_must_match_the_energy_cube(energy, sites):
    t = energy.indexes["time"]
    bad_price = xr.DataArray(np.full(len(t) - 24, 40.0), dims="time", coords={"time": t[24:]})
    bad_curt = xr.DataArray(np.zeros(len(t)), dims="time", coords={"time": t + pd.Timedelta("30min")})
    with pytest.raises(ValidationError) as exc:
        dispatch(energy, sites, price=bad_price, curtailment=bad_curt)
    msg = str(exc.value)
    assert "variable 'price'" in msg and "time axis does not match the energy cube" in msg
    assert "variable 'curtailment'" in msg and "align_to_typical_year" in msg


def test_nan_in_profiles_names_variable_and_site(energy, sites):
    bad = energy.copy(deep=True)
    bad["wind_cf"][1, 100:105] = np.nan
    bad["pue"][2, 7] = np.nan
    with pytest.raises(ValidationError) as exc:
        dispatch(bad, sites)
    msg = str(exc.value)
    s1, s2 = str(bad["site"].values[1]), str(bad["site"].values[2])
    assert f"variable 'wind_cf', '{s1}'" in msg and "5 NaN or infinite hours" in msg
    assert f"variable 'pue', '{s2}'" in msg
    t = energy.indexes["time"]
    price = xr.DataArray(np.full(len(t), 40.0), dims="time", coords={"time": t})
    price[10] = np.nan
    with pytest.raises(ValidationError, match="variable 'price'.*1 NaN or infinite hours, first 2023-01-01 10:00"):
        dispatch(energy, sites, price=price)


def test_curtailment_outside_unit_interval_and_missing_ba(energy, sites):
    t = energy.indexes["time"]
    curt = xr.DataArray(np.full((1, len(t)), 1.5), dims=("ba", "time"), coords={"ba": ["ZZZ"], "time": t})
    with pytest.raises(ValidationError) as exc:
        dispatch(energy, sites, curtailment=curt)
    msg = str(exc.value)
    assert "no curtailment series for balancing authority 'PJM'" in msg
    assert "outside [0.0, 1.0]" in msg


def test_energy_cube_problems(energy, sites):
    with pytest.raises(ValidationError, match="variable 'pue'.*energy cube variable missing"):
        dispatch(energy.drop_vars("pue"), sites)
    bad = energy.copy()
    bad["carbon_intensity"] = bad["carbon_intensity"].assign_attrs(units="kg/MWh")
    with pytest.raises(ValidationError, match="carbon_intensity.*units 'kg/MWh'"):
        dispatch(bad, sites)
    with pytest.raises(ValidationError, match="site of the energy cube not in the site list"):
        dispatch(energy, sites.isel(site=slice(0, 2)))


def test_hourly_output_size_guard(energy, sites):
    big = xr.concat([energy] * 1, dim="site")
    with pytest.raises(ValidationError, match="hourly output of .* would need"):
        dispatch(big, sites, {f"s{i}": {} for i in range(5000)}, hourly=True)
