"""Inputs of the dispatch (site load profiles, price and curtailment series, typical-year alignment,
the OPSD price reader), the VPP peak shaving and the dispatch CLI."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from powerfirst.errors import ValidationError
from powerfirst.models.dispatch.inputs import (
    align_to_typical_year,
    curtailment_for,
    curtailment_profiles,
    stylised_curtailment,
    stylised_price,
)
from powerfirst.models.dispatch.site_load import (
    EdgeProfile,
    InferenceProfile,
    TrainingProfile,
    facility_load,
    profile_table,
    site_load_dataset,
    utilisation_profile,
)
from powerfirst.models.dispatch.vpp import fleet_by_ba, peak_shaving, vpp_peak_reduction

T2023 = pd.date_range("2023-01-01", periods=8760, freq="h")


# ---------------------------------------------------------------------------
# site load


def test_training_is_flat_with_maintenance_dips():
    u = utilisation_profile("training", T2023, utc_offset=-5)
    prof = TrainingProfile()
    assert set(np.round(np.unique(u), 6)) == {prof.dip_level, prof.level}
    dips = (u == prof.dip_level).sum()
    assert dips == pytest.approx(8760 / 24 / prof.dip_every_days * prof.dip_hours, abs=prof.dip_hours)
    local_hours = ((T2023.hour - 5) % 24)[u == prof.dip_level]
    assert set(local_hours) == set(range(prof.dip_start_hour, prof.dip_start_hour + prof.dip_hours))


def test_inference_follows_its_users_time_zone():
    east = utilisation_profile("inference", T2023, utc_offset=-5)
    europe = utilisation_profile("inference", T2023, utc_offset=1)
    by_hour = pd.Series(east).groupby(T2023.hour).mean()
    assert by_hour.idxmax() == (16 + 5) % 24 and by_hour.idxmin() == (4 + 5) % 24  # UTC hours
    assert pd.Series(europe).groupby(T2023.hour).mean().idxmax() == 15
    weekday = pd.Series(east)[T2023.day_of_week < 5].mean()
    assert pd.Series(east)[T2023.day_of_week >= 5].mean() < weekday
    p = InferenceProfile()
    assert east.min() >= p.low - 1e-12 and east.max() <= p.high + 1e-12


def test_edge_peaks_in_the_evening():
    u = utilisation_profile("edge", T2023, utc_offset=0)
    assert pd.Series(u).groupby(T2023.hour).mean().idxmax() == EdgeProfile().peak_hour
    assert u.min() >= EdgeProfile().low - 1e-12


def test_profile_overrides_and_bad_values():
    u = utilisation_profile("training", T2023, profile=TrainingProfile(level=0.7, dip_hours=0))
    assert np.allclose(u, 0.7)
    with pytest.raises(ValidationError, match="level = 1.4 outside"):
        utilisation_profile("training", T2023, profile=TrainingProfile(level=1.4))
    with pytest.raises(ValidationError, match="unknown workload 'gaming'"):
        utilisation_profile("gaming", T2023)
    with pytest.raises(ValidationError, match="low 0.9 above high 0.5"):
        utilisation_profile("inference", T2023, profile=InferenceProfile(low=0.9, high=0.5))


def test_profile_table_shares_rows_and_facility_load_peaks_at_design():
    table, idx = profile_table(["training", "training", "inference", "edge"], [-5, -5, 1, 1], T2023)
    assert table.shape == (3, 8760) and table.dtype == np.float32
    assert idx[0] == idx[1] != idx[2]
    pue = 1.1 + 0.3 * np.random.default_rng(0).random((2, 8760))
    fl = facility_load(np.array([100.0, 50.0]), np.ones((2, 8760)), pue)
    assert fl.max(axis=1) == pytest.approx([100.0, 50.0])


def test_site_load_dataset(small_sites, energy_factory):
    ds = site_load_dataset(small_sites, energy_factory(small_sites))
    assert ds["facility_load"].attrs["units"] == "MW"
    assert (ds["facility_load"].max("time") <= small_sites["target_mw"] + 1e-9).all()


# ---------------------------------------------------------------------------
# price and curtailment


def test_stylised_price_shape():
    p = stylised_price(T2023, utc_offset=-5)
    local = (T2023.hour - 5) % 24
    by = pd.Series(p).groupby(local).mean()
    assert by.idxmax() in (18, 19) and by.idxmin() in (2, 3, 4, 5)
    assert 35 < p.mean() < 60 and (p > 0).all()


def test_stylised_curtailment_is_a_few_events():
    c = stylised_curtailment(T2023, -5)
    assert 40 <= c.sum() <= 80 and set(np.unique(c)) <= {0.0, 1.0}
    assert set(T2023.month[c > 0]) <= {1, 7, 8}


def test_align_to_typical_year():
    t = pd.date_range("2019-10-01", "2020-09-30 23:00", freq="h")
    da = xr.DataArray(np.arange(len(t), dtype=float), dims="time", coords={"time": t})
    out = align_to_typical_year(da, T2023)
    assert out.sizes["time"] == 8760 and (out["time"].values == T2023.values).all()
    assert float(out.sel(time="2023-10-01 00:00")) == 0.0  # October from 2019
    assert float(out.sel(time="2023-01-01 00:00")) == float(da.sel(time="2020-01-01 00:00"))
    with pytest.raises(ValidationError, match="hours of the typical year have no value in short"):
        align_to_typical_year(da.isel(time=slice(0, 100)), T2023, name="short")


def _ba_load(seed=0):
    t = pd.date_range("2021-01-01", "2023-12-31 23:00", freq="h")
    rng = np.random.default_rng(seed)
    doy, hour = t.day_of_year.to_numpy(), t.hour.to_numpy()
    base = 1000 + 400 * np.cos(2 * np.pi * (doy - 200) / 365) ** 8 + 150 * np.sin(np.pi * hour / 23)
    data = np.stack([base * (1 + 0.02 * rng.standard_normal(len(t))), 2 * base])
    return xr.DataArray(data, dims=("ba", "time"), coords={"ba": ["AAA", "BBB"], "time": t,
                                                          "timezone": ("ba", ["UTC", "UTC"])})


def test_curtailment_profiles_from_ba_load():
    c = curtailment_profiles(_ba_load(), T2023, limit=1.0)
    assert c.dims == ("ba", "time") and c.attrs["units"] == "1"
    assert float(c.min()) >= 0 and float(c.max()) <= 1
    assert (c > 0).sum("time").values.min() > 0
    assert (c["headroom_mw"] > 0).all()
    alone = curtailment_profiles(_ba_load(), T2023, share="alone", connection_mw=50)
    assert float(alone.max()) <= 1
    with pytest.raises(ValueError, match="connection_mw"):
        curtailment_profiles(_ba_load(), T2023, share="alone")


def test_curtailment_for_fills_missing_bas():
    c = curtailment_for(["AAA", "PJM"], T2023, _ba_load())
    assert list(c["ba"].values) == ["AAA", "PJM"]
    assert "EIA-930" in str(c["curtailment_source"].sel(ba="AAA").values)
    assert "stylised" in str(c["curtailment_source"].sel(ba="PJM").values)
    none = curtailment_for(["PJM"], T2023, None, fill="none")
    assert float(none.sum()) == 0


@pytest.mark.realdata
def test_read_opsd_prices(shared, tmp_path):
    import warnings

    from powerfirst.io.prices import read_opsd_prices

    path = shared / "europe" / "opsd_GB_60min_2019-10_2020-09.csv"
    with pytest.raises(ValidationError, match="missing hours from"):
        read_opsd_prices(path, usd_per_unit=1.28)
    with pytest.raises(ValueError, match="give usd_per_unit"):
        read_opsd_prices(path)
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        p = read_opsd_prices(path, usd_per_unit=1.28, fill_gaps_h=3)
    assert any("filled 3 missing hours" in str(x.message) for x in w)
    assert p.attrs["units"] == "USD MWh-1" and p.sizes["time"] == 8786
    assert float(p.mean()) == pytest.approx(33.4 * 1.28, rel=0.02)


# ---------------------------------------------------------------------------
# VPP


def test_peak_shaving_basics():
    t = np.arange(24 * 30)
    load = 1000 + 300 * np.exp(-0.5 * ((t % 24 - 18) / 1.5) ** 2)  # a daily evening peak
    none = peak_shaving(load, 0, 0)
    assert none["peak_reduction_mw"] == 0 and none["hours_called"] == 0
    small = peak_shaving(load, 50, 200)
    big = peak_shaving(load, 100, 400)
    assert 0 < small["peak_reduction_mw"] <= 50 + 1e-9
    assert big["peak_reduction_mw"] >= small["peak_reduction_mw"]
    assert big["hours_called"] >= small["hours_called"] > 0
    # energy-limited: one hour of storage cannot hold a peak that lasts hours at the full power
    short = peak_shaving(load, 200, 200)
    assert short["peak_reduction_mw"] < 200
    flex = peak_shaving(load, 50, 200, flex_mw=50, flex_mwh=100)
    assert flex["peak_reduction_mw"] > small["peak_reduction_mw"]
    with pytest.raises(ValidationError, match="storage_mw"):
        peak_shaving(load, -1, 0)


def test_vpp_from_dispatch(small_sites, energy_factory):
    from powerfirst.models.dispatch import dispatch

    energy = energy_factory(small_sites)
    res = dispatch(energy, small_sites, {"a": {}, "b": {"storage_scale": 2}})
    fleet = fleet_by_ba(res, res["facility_demand"])
    assert set(fleet.dims) == {"ba", "scenario"}
    bas = list(fleet["ba"].values)
    load = xr.DataArray(np.tile(1e4 + 3e3 * np.sin(np.arange(8760) * 2 * np.pi / 24), (len(bas), 1)),
                        dims=("ba", "time"), coords={"ba": bas, "time": energy["time"].values})
    v = vpp_peak_reduction(fleet, load)
    assert v["peak_reduction_mw"].attrs["units"] == "MW"
    assert (v["peak_reduction_mw"].sel(scenario="b") >= v["peak_reduction_mw"].sel(scenario="a") - 1e-6).all()
    with pytest.raises(ValidationError, match="no hourly load for this balancing authority"):
        vpp_peak_reduction(fleet, load.isel(ba=slice(0, 0)))


# ---------------------------------------------------------------------------
# CLI


def test_cli_dispatch_json(demo_cube_dir, monkeypatch, capsys):
    from powerfirst.cli import main

    monkeypatch.setenv("POWERFIRST_CUBE_DIR", str(demo_cube_dir))
    rc = main(["dispatch", "--sites", "demo", "--site", "PJM-001,PJM-007", "--scenario", "base:",
               "--scenario", "big:storage_scale=2,priority=carbon", "--format", "json"])
    out = capsys.readouterr()
    assert rc == 0, out.err
    recs = json.loads(out.out)
    assert [(r["site"], r["scenario"]) for r in recs] == [("PJM-001", "base"), ("PJM-001", "big"),
                                                          ("PJM-007", "base"), ("PJM-007", "big")]
    assert {"unserved_mwh", "grid_peak_mw", "storage_cycles", "total_cost_musd", "cfe_share"} <= set(recs[0])
    assert "stylised" in out.err


def test_cli_dispatch_bad_scenario(demo_cube_dir, monkeypatch, capsys):
    from powerfirst.cli import main

    monkeypatch.setenv("POWERFIRST_CUBE_DIR", str(demo_cube_dir))
    rc = main(["dispatch", "--sites", "demo", "--site", "PJM-001", "--scenario", "x:storage_mw=-3"])
    err = capsys.readouterr().err
    assert rc == 1 and "negative value -3" in err and "PJM-001" in err
