"""Carbon-free share and carbon intensity from the fuel mix: the arithmetic on a hand-made mix, the
derived table against the raw 2022 EIA-930 files (realdata), the energy cube's variable and its use
by the dispatch (with the documented fallback)."""

from __future__ import annotations

import calendar

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from powerfirst.cubes.energy import CarbonSpec, carbon_free_share_profiles
from powerfirst.cubes.fuel_mix import (
    CARBON_FREE_FUELS,
    EIA930_FUELS,
    emission_factors,
    fuel_mix_carbon,
)
from powerfirst.errors import ValidationError
from powerfirst.paths import data_dir

FACTORS = {"direct": emission_factors("direct"), "lifecycle": emission_factors("lifecycle")}
FUELS = ["WND", "SUN", "WAT", "OIL", "NG", "COL", "NUC", "OTH"]


def test_fuel_mix_arithmetic_on_a_hand_made_mix():
    gen = pd.DataFrame({"COL": [100.0, 0, 50, np.nan, 0], "NG": [200.0, 0, 50, 10, 0],
                        "NUC": [300.0, 100, 0, 10, 0], "WND": [400.0, 100, 0, 10, 0],
                        "WAT": [0.0, -50, 0, 10, 0]})  # hour 1: pumped storage charging (-50 MW)
    out = fuel_mix_carbon(gen, FACTORS)
    # hour 0: 1,000 MW, of which 700 carbon-free; direct (100 x 1043.3 + 200 x 440) / 1000
    assert out["cfe_share"][0] == pytest.approx(0.7)
    assert out["gco2_per_kwh_direct"][0] == pytest.approx((100 * 1043.3 + 200 * 440.0) / 1000)
    assert out["gco2_per_kwh_lifecycle"][0] == pytest.approx((100 * 820 + 200 * 490 + 300 * 12 + 400 * 11) / 1000)
    # hour 1: the charging is consumption, not generation: 200 MW, all carbon-free; 50 MW reported
    assert out["cfe_share"][1] == 1.0 and out["generation_mw"][1] == 200.0 and out["negative_mw"][1] == 50.0
    assert out["gco2_per_kwh_direct"][1] == 0.0
    assert out["gco2_per_kwh_lifecycle"][1] == pytest.approx((100 * 12 + 100 * 11) / 200)
    # hour 2: all fossil, half coal half gas
    assert out["cfe_share"][2] == 0.0
    assert out["gco2_per_kwh_direct"][2] == pytest.approx((1043.3 + 440.0) / 2)
    # hour 3: a NaN fuel value; hour 4: no generation at all -> NaN, not a silent 0
    assert out.iloc[3].isna().all()
    assert out.loc[4, ["generation_mw", "cfe_share", "gco2_per_kwh_direct", "gco2_per_kwh_lifecycle"]].isna().all()
    # codes and factors as documented in data/facts/emission_factors.csv
    assert set(CARBON_FREE_FUELS) == {"NUC", "WAT", "SUN", "WND"}
    for basis in FACTORS:
        assert set(FACTORS[basis]) == set(EIA930_FUELS)
        assert all(FACTORS[basis][f] <= 50 for f in CARBON_FREE_FUELS)
    assert FACTORS["lifecycle"]["COL"] == 820 and FACTORS["lifecycle"]["NG"] == 490  # IPCC AR5 medians
    assert FACTORS["direct"]["NUC"] == 0 and FACTORS["direct"]["COL"] == pytest.approx(2.30 * 453.59237, abs=0.1)


def test_fuel_mix_bad_inputs():
    with pytest.raises(ValidationError, match="column 'GAS': not an EIA-930 fuel code"):
        fuel_mix_carbon(pd.DataFrame({"GAS": [1.0], "NG": [1.0]}), FACTORS)
    with pytest.raises(ValidationError, match="column 'NG': no direct emission factor"):
        fuel_mix_carbon(pd.DataFrame({"NG": [1.0]}), {"direct": {"COL": 1000.0}})
    with pytest.raises(ValueError, match="unknown emission-factor basis 'marginal'; expected one of direct, lifecycle"):
        emission_factors("marginal")
    facts = pd.DataFrame({"quantity": ["emission_factor_direct"], "scenario": ["COL"], "value": [1000.0]})
    with pytest.raises(ValidationError, match="no emission_factor_direct row for fuel code NG"):
        emission_factors("direct", facts)


def _raw(shared, ba):
    df = pd.read_csv(shared / "carbon" / "eia930_2022_by_ba" / f"{ba}_NG_&_avgCI.csv")
    df = df.rename(columns={"Unnamed: 0": "timestamp"})  # WAAT's first header cell is empty
    t = pd.to_datetime(df["timestamp"], utc=True).dt.tz_convert(None)
    return df.set_index(pd.DatetimeIndex(t))


# the 9 files of the source; WAAT is the source repository's Washington file, BPAT's data (test below)
TABLE_BAS = ("AZPS", "BPAT", "CISO", "ERCO", "MISO", "NYIS", "PJM", "SOCO", "WAAT")


@pytest.mark.realdata
def test_derived_table_matches_the_raw_fuel_mix(shared):
    """Computed here from the raw columns with pandas only (not with fuel_mix_carbon)."""
    tab = pd.read_csv(data_dir() / "derived" / "carbon_fuel_mix_month_hour.csv")
    assert tuple(sorted(tab["ba"].unique())) == TABLE_BAS and len(tab) == len(TABLE_BAS) * 12 * 24
    assert tab["cfe_share"].between(0, 1).all()
    def days(t):
        return t["month"].map(lambda m: calendar.monthrange(2023, m)[1])

    ci_table = pd.read_csv(data_dir() / "derived" / "carbon_intensity_month_hour.csv")
    for ba in TABLE_BAS:
        raw = _raw(shared, ba).dropna(subset=FUELS)
        gen = raw[FUELS].clip(lower=0)
        clean, total = gen[list(CARBON_FREE_FUELS)].sum(axis=1), gen.sum(axis=1)
        annual = clean.sum() / total.sum()
        t = tab[tab["ba"] == ba]
        # the grid's annual carbon-free share: the table's bins weighted by their generation
        from_table = (t["cfe_share"] * t["generation_mw"] * t["n_hours"]).sum() / (t["generation_mw"] * t["n_hours"]).sum()
        assert from_table == pytest.approx(annual, abs=0.01), ba  # within 1 point (measured: < 0.001)
        # each month x UTC-hour bin against the raw hours of that bin
        g = pd.DataFrame({"c": clean, "g": total, "m": raw.index.month, "h": raw.index.hour}).groupby(["m", "h"]).sum()
        direct_bins = (g["c"] / g["g"]).to_numpy()
        np.testing.assert_allclose(t["cfe_share"].to_numpy(), direct_bins, atol=1e-4, err_msg=ba)
        # a flat load over the typical year sees the equal-hour mean: within 1.1 points of the grid's share
        flat = (t["cfe_share"] * days(t)).sum() / days(t).sum()
        assert abs(flat - annual) < 0.011, ba
        # the old formula 1 - CI/800 overstates the share (by 0.5 to 21 points); the CI table has no WAAT,
        # so its bins are made here from the file's avg_CI the same way (mean of the bin's hours)
        c = ci_table[ci_table["ba"] == ba]
        if c.empty:
            ci = _raw(shared, ba)["avg_CI"].dropna()
            c = ci.groupby([ci.index.month, ci.index.hour]).mean().rename("gco2_per_kwh").rename_axis(
                ["month", "hour_utc"]).reset_index()
        old = ((1 - c["gco2_per_kwh"] / 800).clip(0, 1) * days(c)).sum() / 8760
        assert old > annual + 0.004, ba
    pjm = _raw(shared, "PJM").dropna(subset=FUELS)[FUELS]
    assert pjm[list(CARBON_FREE_FUELS)].sum(axis=1).sum() / pjm.sum(axis=1).sum() == pytest.approx(0.3896, abs=1e-4)


@pytest.mark.realdata
def test_waat_is_bpat_data(shared):
    """WAAT (the source repository's Washington file; not an EIA-930 code) carries BPAT's 2022 data: 8,081 of
    8,760 rows equal, 656 more differ only where WAAT has 0 for a fuel BPAT reports (SUN 568 h, OTH 88 h), and
    the other 23 are the last hours of the year.  Its table rows stay within 0.0013 of BPAT's."""
    w, b = _raw(shared, "WAAT"), _raw(shared, "BPAT")
    assert w.index.equals(b.index)
    same = (w[FUELS] == b[FUELS]).all(axis=1)
    zero_filled = ~same & ((w[FUELS] == b[FUELS]) | (w[FUELS] == 0)).all(axis=1)
    other = ~same & ~zero_filled
    assert (int(same.sum()), int(zero_filled.sum()), int(other.sum())) == (8081, 656, 23)
    assert ((w["SUN"] != b["SUN"]) & zero_filled).sum() == 568 and ((w["OTH"] != b["OTH"]) & zero_filled).sum() == 88
    assert w.index[other].min() == pd.Timestamp("2022-12-31 01:00") and w.index[other].max() == pd.Timestamp(
        "2022-12-31 23:00")

    def share(df):
        gen = df[FUELS].clip(lower=0)
        return gen[list(CARBON_FREE_FUELS)].sum(axis=1).sum() / gen.sum(axis=1).sum()

    assert share(w) == pytest.approx(0.92695, abs=1e-5) and share(b) == pytest.approx(0.92691, abs=1e-5)
    tab = pd.read_csv(data_dir() / "derived" / "carbon_fuel_mix_month_hour.csv")
    tw, tb = (tab[tab["ba"] == x].set_index(["month", "hour_utc"]) for x in ("WAAT", "BPAT"))
    assert (tw["cfe_share"] - tb["cfe_share"]).abs().max() < 0.0013


@pytest.mark.realdata
def test_fuel_mix_arithmetic_reproduces_the_source_avg_ci(shared):
    """The source's avg_CI is the fuel mix weighted with IPCC AR5 life-cycle medians (solar 41 = rooftop PV,
    oil 650): fuel_mix_carbon with those factors reproduces it hour by hour."""
    theirs = {"WND": 11, "SUN": 41, "WAT": 24, "OIL": 650, "NG": 490, "COL": 820, "NUC": 12, "OTH": 230}
    for ba in ("PJM", "CISO", "NYIS"):
        raw = _raw(shared, ba).dropna(subset=FUELS)
        out = fuel_mix_carbon(raw[FUELS], {"x": theirs})
        np.testing.assert_allclose(out["gco2_per_kwh_x"], raw["avg_CI"], rtol=1e-9, err_msg=ba)


def test_cube_profiles_own_proxy_country_and_unknown(tmp_path):
    t = pd.date_range("2023-01-01", periods=8760, freq="h")
    rows, idx, src = carbon_free_share_profiles(t, ["PJM", "DUK", "DE", "XX"], ["US", "US", "DE", "ZZ"])
    assert list(src[:3]) == ["PJM", "SOCO (proxy for DUK)", "DE annual 2023 (constant)"]
    assert src[3].startswith("unknown") and np.isnan(rows[idx[3]]).all()
    tab = pd.read_csv(data_dir() / "derived" / "carbon_fuel_mix_month_hour.csv")
    jan0 = tab[(tab.ba == "PJM") & (tab.month == 1) & (tab.hour_utc == 0)]["cfe_share"].item()
    assert rows[idx[0]][0] == jan0 and rows[idx[0]][24] == jan0  # every January 00:00 UTC hour
    assert (rows[idx[2]] == 0.4499).all()  # DE 2023: (8.75 + 19.48 + 61.56 + 137.29) / 504.79 TWh
    bad = tmp_path / "mix.csv"
    bad.write_text("ba,month,hour,share\nPJM,1,0,0.5\n")
    with pytest.raises(ValidationError, match="columns ba, month, hour_utc, cfe_share expected"):
        carbon_free_share_profiles(t, ["PJM"], ["US"], CarbonSpec(fuel_mix=bad))
    with pytest.raises(FileNotFoundError, match="derive_carbon_fuel_mix.py"):
        carbon_free_share_profiles(t, ["PJM"], ["US"], CarbonSpec(fuel_mix=tmp_path / "none.csv"))


def test_dispatch_uses_the_cube_share_and_flags_the_fallback():
    from conftest import synthetic_energy_cube

    from powerfirst.models.dispatch import dispatch

    sites = xr.Dataset(coords={"site": ["a", "b", "c"], "lat": ("site", [39.0, 40.0, 41.0]),
                               "lon": ("site", [-77.0, -78.0, -79.0]), "name": ("site", ["a", "b", "c"]),
                               "ba": ("site", ["PJM", "PJM", "XX"]), "country": ("site", ["US", "US", "US"])})
    energy = synthetic_energy_cube(sites)
    energy["carbon_intensity"][:] = 400.0  # the fallback gives 1 - 400/800 = 0.5
    energy["grid_carbon_free_share"] = (("site", "time"), np.stack([np.full(8760, 0.3), np.full(8760, 0.8),
                                                                    np.full(8760, np.nan)]), {"units": "1"})
    energy = energy.assign_coords(carbon_free_share_source=("site", ["PJM", "PJM", "unknown (no mix for XX)"]))
    scen = {"grid_only": {"load_mw": 10.0, "firm_mw": 20.0, "nonfirm_mw": 0.0, "solar_mw": 0.0, "wind_mw": 0.0,
                          "storage_mw": 0.0, "storage_mwh": 0.0, "gas_mw": 0.0, "flex_share": 0.0}}
    res = dispatch(energy, sites, scen)
    # grid only, no on-site supply: the hourly-matched share is the grid's share
    np.testing.assert_allclose(res["carbon_free_share"].values.ravel(), [0.3, 0.8, 0.5], atol=1e-6)
    assert "fallback 1 - CI/800" in res.attrs["carbon_free_share_source"]
    assert "1 site(s) whose grid mix is unknown: c" in res.attrs["carbon_free_share_source"]
    old = dispatch(energy.drop_vars("grid_carbon_free_share"), sites, scen)
    np.testing.assert_allclose(old["carbon_free_share"].values.ravel(), 0.5, atol=1e-6)
    assert "for every site: the energy cube has no grid_carbon_free_share" in old.attrs["carbon_free_share_source"]
