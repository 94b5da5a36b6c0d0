"""The per-station energy table of the siting screen (data/derived/weather/station_energy.csv)."""

import importlib.util
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from powerfirst.cubes.energy import PUE_BY_TIER, WeatherStationWarning, build_energy_cube
from powerfirst.errors import ValidationError
from powerfirst.io.weather import default_stations
from powerfirst.paths import data_dir

SCRIPT = Path(__file__).resolve().parents[2] / "data" / "derive_station_energy.py"
WEATHER = data_dir() / "derived" / "weather"
CF = ["solar_cf_fixed_ac", "solar_cf_tracking_ac", "wind_cf_net"]
TIERS = ("core", "regional", "edge")
PUE = [f"pue_{k}_{t}" for k in ("annual", "peak") for t in TIERS]
PHOENIX, INTL_FALLS, STOCKHOLM = "722780", "727470", "024600"


@pytest.fixture(scope="module")
def derive():
    spec = importlib.util.spec_from_file_location("derive_station_energy", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def table():
    return pd.read_csv(WEATHER / "station_energy.csv", dtype={"station": str})


@pytest.fixture(scope="module")
def stations():
    return default_stations()


def test_one_row_per_station_of_the_embedded_weather(table, stations, derive):
    ids = list(map(str, stations["station"].values))
    assert len(ids) == 159
    assert table["station"].tolist() == ids  # every station once, in the order of stations.nc
    assert table.columns.tolist() == derive.COLUMNS
    meta = pd.read_csv(WEATHER / "stations.csv", dtype={"station": str}).set_index("station").loc[ids]
    assert (table["climate_zone"].to_numpy() == meta["climate_zone"].to_numpy()).all()
    assert (table["country"].to_numpy() == meta["country"].to_numpy()).all()


def test_no_nan_and_capacity_factors_in_range(table):
    assert not table[CF + PUE].isna().any().any()
    assert ((table[CF] > 0) & (table[CF] < 0.6)).all().all()


def test_capacity_factors_equal_the_station_cf_table(table):
    # the same cube and reference plants in two scripts; PVSpec's default losses are 14.08 %, the other
    # script's pvlib.pvwatts_losses() 14.0757 %: a difference of at most 1e-4 in capacity factor
    ref = pd.read_csv(WEATHER / "station_cf.csv", dtype={"station": str}).set_index("station")
    got = table.set_index("station").loc[ref.index]
    assert len(ref) >= 17
    for c in CF:
        np.testing.assert_allclose(got[c], ref[c], atol=1e-3, rtol=0, err_msg=c)
    np.testing.assert_allclose(got["annual_ghi_kwh_m2"], ref["annual_ghi_kwh_m2"], atol=0.5 + 1e-9, rtol=0)


def test_tracking_beats_fixed_at_every_station(table):
    assert (table["solar_cf_tracking_ac"] > table["solar_cf_fixed_ac"]).all()


def test_temperature_and_ghi_equal_the_station_file(table):
    meta = pd.read_csv(WEATHER / "stations.csv", dtype={"station": str}).set_index("station")
    t = table.set_index("station")
    assert abs(t.at[PHOENIX, "mean_temp_c"] - meta.at[PHOENIX, "annual_mean_temp_C"]) < 0.5
    # a site on its station has the station's own weather: every station's mean and GHI (rounded there
    # to 0.01 K and 1 kWh m-2)
    np.testing.assert_allclose(t["mean_temp_c"], meta.loc[t.index, "annual_mean_temp_C"], atol=0.01 + 1e-9)
    np.testing.assert_allclose(t["annual_ghi_kwh_m2"], meta.loc[t.index, "annual_GHI_kWh_m2"], atol=0.5 + 1e-9)


def test_temperature_statistics_are_consistent(table):
    assert (table["p99_temp_c"] > table["mean_temp_c"]).all()
    # p99 above 18 degC: the hottest 1 % (88 h) are all above 18 degC, each adding more than
    # (p99 - 18) K h, so the cooling degree hours exceed 87.6 h x (p99 - 18 degC)
    lower = 0.01 * 8760 * (table["p99_temp_c"] - 18.0).clip(lower=0)
    assert (table["cooling_degree_hours_18c"] >= np.floor(lower)).all()
    assert (table["cooling_degree_hours_18c"] >= 0).all()
    t = table.set_index("station")
    assert t.at[PHOENIX, "cooling_degree_hours_18c"] > 3 * t.at[STOCKHOLM, "cooling_degree_hours_18c"]


def test_pue_of_a_hot_station_above_a_cold_one(table):
    t = table.set_index("station")
    assert t.at[PHOENIX, "mean_temp_c"] > t.at[INTL_FALLS, "mean_temp_c"] + 15
    for tier in TIERS:
        assert t.at[PHOENIX, f"pue_annual_{tier}"] > t.at[INTL_FALLS, f"pue_annual_{tier}"]
        assert t.at[PHOENIX, f"pue_peak_{tier}"] > t.at[INTL_FALLS, f"pue_peak_{tier}"]


def test_pue_bounds_and_tier_order(table):
    for tier in TIERS:
        p = PUE_BY_TIER[tier]
        a, pk = table[f"pue_annual_{tier}"], table[f"pue_peak_{tier}"]
        assert (a >= p.pue_min).all() and (pk <= p.pue_max + 1e-12).all() and (pk >= a).all()
    # the tier curves never cross (regional above core, edge above regional at every temperature)
    assert (table["pue_annual_core"] < table["pue_annual_regional"]).all()
    assert (table["pue_annual_regional"] < table["pue_annual_edge"]).all()


def test_rebuilt_rows_equal_the_csv(table, stations, derive):
    # the file cannot drift from the code: two stations rebuilt with the script's function
    rows = derive.station_energy([PHOENIX, STOCKHOLM], weather=stations)
    csv = table.set_index("station").loc[[PHOENIX, STOCKHOLM]].reset_index()
    assert (rows[["station", "name", "country", "climate_zone"]] == csv[["station", "name", "country",
                                                                         "climate_zone"]]).all().all()
    for c, d in derive.DECIMALS.items():
        np.testing.assert_allclose(rows[c].astype(float), csv[c].astype(float), atol=10.0 ** -d + 1e-12, rtol=0,
                                   err_msg=c)


def test_pue_of_every_tier_equals_the_cube_built_with_that_tier(table, stations, derive):
    # the script builds the cube once (tier regional) and applies the other tiers' parameters to the
    # same temperatures; the cube built with each tier gives the same annual and peak PUE
    t = table.set_index("station")
    for tier in ("core", "edge"):
        sites = derive.station_sites(stations, [PHOENIX], tier)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", WeatherStationWarning)
            pue = build_energy_cube(sites, stations)["pue"].sel(site=PHOENIX).values
        assert abs(pue.mean() - t.at[PHOENIX, f"pue_annual_{tier}"]) <= 5e-5 + 1e-12
        assert abs(pue.max() - t.at[PHOENIX, f"pue_peak_{tier}"]) <= 5e-5 + 1e-12


def test_bad_station_ids_are_named(stations, derive):
    with pytest.raises(ValidationError, match=r"station 'XYZ123' not in the weather Dataset \(159 stations\)"):
        derive.station_energy(["XYZ123", PHOENIX], weather=stations)
    with pytest.raises(ValidationError, match=f"station '{PHOENIX}' given more than once"):
        derive.station_energy([PHOENIX, PHOENIX], weather=stations)
    with pytest.raises(ValidationError, match="no stations given"):
        derive.station_energy([], weather=stations)


def test_bad_weather_is_refused(stations, derive):
    with pytest.raises(ValidationError, match="weather must be a Dataset on dimension 'station'"):
        derive.station_energy(weather=stations["ghi"].to_dataset().rename(station="id"))
    with pytest.raises(ValidationError, match=r"variable 'climate_zone': station coordinate missing"):
        derive.station_energy([PHOENIX], weather=stations.drop_vars("climate_zone"))
    country = stations["country"].values.astype(object).copy()
    country[list(stations["station"].values).index(PHOENIX)] = "XXX"
    with pytest.raises(ValidationError, match=r"station country 'XXX' not known; expected an ISO 3166-1 alpha-3"):
        derive.station_energy([PHOENIX], weather=stations.assign_coords(country=("station", country)))


def test_implausible_rows_are_refused(table, derive):
    bad = table.iloc[:2].copy()
    bad.loc[0, "wind_cf_net"] = np.nan
    bad.loc[1, "pue_annual_edge"] = 0.9
    with pytest.raises(ValidationError) as err:
        derive._check_rows(bad)
    msg = str(err.value)
    assert "not finite: nan" in msg and "wind_cf_net" in msg and "row 1" in msg
    assert "PUE 0.9 below 1" in msg and "pue_annual_edge" in msg and "row 2" in msg
