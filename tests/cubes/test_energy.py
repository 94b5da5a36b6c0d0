"""The energy cube: laziness, schema, physics sanity, reference checks against pvlib/windpowerlib."""

from pathlib import Path

import dask
import numpy as np
import pandas as pd
import pytest
import xarray as xr

from powerfirst.cubes.energy import (
    PUE_BY_TIER,
    CarbonSpec,
    PVSpec,
    WeatherStationWarning,
    WindSpec,
    build_energy_cube,
    carbon_intensity_profiles,
    clearsky_ineichen,
    energy_cube_summary,
    match_stations,
    pue_from_temperature,
    solar_position,
    solar_time_shift_hours,
    turbine_power,
    wind_capacity_factor,
)
from powerfirst.errors import ValidationError
from powerfirst.io.sites import read_sites, sites_from_frame
from powerfirst.io.weather import pvlib_station_paths, read_weather
from powerfirst.paths import data_dir, demo_sites_path, facts_dir
from powerfirst.schema import validate

TIMES = pd.date_range("2023-01-01", periods=8760, freq="h")


class RaiseOnCompute:
    """A Dask scheduler that fails on any compute (after xarray's ``raise_if_dask_computes``)."""

    def __init__(self):
        self.calls = 0

    def __call__(self, dsk, keys, **kwargs):
        self.calls += 1
        raise RuntimeError("the energy cube computed while it was being built")


def make_sites(*rows):
    """Site Dataset from (site_id, lat, lon, country, ba, tier[, elevation_m]) tuples."""
    recs = []
    for r in rows:
        sid, lat, lon, cc, ba, tier = r[:6]
        recs.append({"site_id": sid, "name": sid, "lat": lat, "lon": lon, "country": cc, "ba": ba,
                     "target_mw": 100.0, "tier": tier, "elevation_m": r[6] if len(r) > 6 else None})
    return sites_from_frame(pd.DataFrame(recs, dtype=object))


SITES = [
    ("ASH", 39.04, -77.49, "US", "PJM", "core"),          # Ashburn, nearest station Greensboro
    ("PHX", 33.45, -112.07, "US", "SRP", "regional"),     # Phoenix: > 2000 km, latitude analogue
    ("DUB", 53.35, -6.26, "IE", "IE-SEM", "edge"),        # Dublin: analogue Sand Point AK
    ("GSO", 36.10, -79.95, "US", "DUK", "edge", 273.0),   # on the Greensboro station itself
    ("MUC", 48.14, 11.58, "DE", "DE-LU", "core"),
    ("MIA", 25.80, -80.27, "US", "FPL", "regional"),
]


@pytest.fixture(scope="module")
def stations():
    """The three US typical years pvlib ships, so that the matching cases below stay fixed."""
    return read_weather(pvlib_station_paths())


@pytest.fixture(scope="module")
def sites():
    return make_sites(*SITES)


@pytest.fixture(scope="module")
def lazy_cube(sites, stations):
    scheduler = RaiseOnCompute()
    with dask.config.set(scheduler=scheduler):
        cube = build_energy_cube(sites, stations, chunk_sites=2)
    assert scheduler.calls == 0
    return cube


@pytest.fixture(scope="module")
def cube(lazy_cube):
    return lazy_cube.compute()


# --------------------------------------------------------------------------- structure


def test_cube_is_lazy_chunked_along_site_and_validates(lazy_cube, cube):
    assert lazy_cube.attrs["pf_kind"] == "energy"
    for v in lazy_cube.data_vars:
        assert lazy_cube[v].chunks == ((2, 2, 2), (8760,)), v
    # one task per chunk computes all ten variables (map_blocks), nothing more
    validate(cube, "energy", values=True)
    assert list(cube.indexes["time"][[0, -1]]) == [pd.Timestamp("2023-01-01"), pd.Timestamp("2023-12-31 23:00")]
    table = pd.read_csv(Path(__file__).parents[2] / "toolkit/powerfirst/schema/variables.csv")
    table = table.set_index("name")
    for v in ("ghi", "dni", "dhi", "ghi_clear", "temp_air", "wind_speed", "solar_cf", "wind_cf", "pue",
              "carbon_intensity"):
        assert cube[v].attrs["units"] == (table.loc[v, "units"] if table.loc[v, "units"] == table.loc[v, "units"]
                                          else "1"), v
        assert cube[v].attrs["long_name"] == table.loc[v, "long_name"]
    for c in ("lat", "lon", "name", "country", "ba", "tier", "workload", "weather_station",
              "weather_distance_km", "weather_match", "elevation_m"):
        assert c in cube.coords and cube[c].dims == ("site",), c
    assert "powerfirst_version" in cube.attrs and "723170TYA.CSV" in cube.attrs["weather_sources"]


def test_station_matching_and_analogue_warning(cube, sites, stations):
    # changed on purpose: beyond max_station_km the nearest station is kept and the site is named in a
    # warning with its distance (no silent latitude analogue); analogue=True gives the old choice
    m = cube["weather_match"].to_series()
    st = cube["weather_station"].to_series()
    assert m["ASH"] == "nearest" and st["ASH"] == "723170"
    assert m["GSO"] == "nearest" and float(cube["weather_distance_km"].sel(site="GSO")) < 1
    assert m["PHX"] == "nearest-beyond-max" and m["DUB"] == "nearest-beyond-max"
    d_phx = float(cube["weather_distance_km"].sel(site="PHX"))
    assert "PHX: station" in cube.attrs["weather_warning"] and f"{d_phx:.0f} km away" in cube.attrs["weather_warning"]
    assert "km away" in str(cube["weather_warning"].sel(site="DUB").values)
    assert str(cube["weather_warning"].sel(site="GSO").values) == ""
    with pytest.warns(WeatherStationWarning, match="PHX"):
        ana = build_energy_cube(sites, stations, analogue=True)
    m = ana["weather_match"].to_series()
    assert m["PHX"] == "latitude-analogue" and str(ana["weather_station"].sel(site="PHX").values) == "723170"
    assert m["DUB"] == "latitude-analogue" and str(ana["weather_station"].sel(site="DUB").values) == "703165"


def test_match_stations_other_hemisphere_and_shift():
    idx, dist, match = match_stations([-33.9, 40.0], [151.2, -80.0], [36.1, 55.3], [-79.9, -160.5])
    assert list(match) == ["nearest-other-hemisphere", "nearest"]
    assert 400 < dist[1] < 450  # (40 N, 80 W) to Greensboro
    idx, dist, match = match_stations([-33.9, 40.0], [151.2, -80.0], [36.1, 55.3], [-79.9, -160.5], analogue=True)
    assert list(match) == ["latitude-analogue-other-hemisphere", "nearest"] and idx[0] == 0
    assert list(solar_time_shift_hours([-50.0, 170.0, 10.0], [-80.0, -170.0, 10.0])) == [2, -1, 0]


def test_station_choice_is_elevation_aware():
    # a site at 2,000 m between a valley station 50 km away (100 m) and a mountain station 120 km away
    # (1,900 m): sqrt(50^2 + 190^2) = 196 > sqrt(120^2 + 10^2) = 120 -> the mountain station
    lat0, lon0 = 40.0, -105.0
    st_lat = [lat0 + 50 / 111.2, lat0 - 120 / 111.2]
    idx, dist, _ = match_stations([lat0], [lon0], st_lat, [lon0, lon0], site_elevation=[2000.0],
                                  station_elevation=[100.0, 1900.0])
    assert idx[0] == 1 and dist[0] == pytest.approx(120, abs=1)
    idx, _, _ = match_stations([lat0], [lon0], st_lat, [lon0, lon0])  # without elevations: the nearest
    assert idx[0] == 0


def test_site_on_a_station_reproduces_its_weather(cube, stations):
    gso, st = cube.sel(site="GSO"), stations.sel(station="723170")
    assert int(gso["weather_shift_h"]) == 0
    np.testing.assert_allclose(gso["temp_air"].values, st["temp_air"].values)  # same elevation
    np.testing.assert_array_equal(gso["wind_speed"].values, st["wind_speed"].values)
    # GHI = clear-sky index x clear sky at the same place: the station's GHI, except where the
    # index is clipped at 1.2 or the sun is below the 10 W m-2 clear-sky threshold
    assert float(gso["ghi"].mean()) == pytest.approx(float(st["ghi"].mean()), rel=0.04)
    assert np.corrcoef(gso["ghi"].values, st["ghi"].values)[0, 1] > 0.98


def test_lapse_rate_and_solar_time_shift(stations):
    lon0 = float(stations["lon"].sel(station="723170"))
    s = make_sites(("HIGH", 36.10, lon0, "US", "DUK", "core", 1273.0),
                   ("EAST", 36.10, lon0 + 30, "US", "DUK", "core", 273.0))
    c = build_energy_cube(s, stations.isel(station=[0])).compute()
    st = stations.sel(station="723170")
    np.testing.assert_allclose(c["temp_air"].sel(site="HIGH").values, st["temp_air"].values - 6.5)
    assert int(c["weather_shift_h"].sel(site="EAST")) == 2
    np.testing.assert_allclose(c["temp_air"].sel(site="EAST").values, np.roll(st["temp_air"].values, -2))


# --------------------------------------------------------------------------- solar


@pytest.mark.filterwarnings("ignore:DatetimeIndex.dayofyear is deprecated")  # inside pvlib's own lookup
def test_solar_position_and_clear_sky_equal_pvlib():
    import pvlib

    times = pd.date_range("2023-03-01", periods=24 * 7, freq="h", tz="UTC") + pd.Timedelta("30min")
    lat, lon, alt = np.array([39.0, -33.9]), np.array([-77.5, 151.2]), np.array([100.0, 40.0])
    sp = solar_position(times, lat, lon, alt)
    cs = clearsky_ineichen(times, lat, lon, alt, solar_pos=sp)
    for i in range(2):
        loc = pvlib.location.Location(lat[i], lon[i], tz="UTC", altitude=alt[i])
        ref = loc.get_solarposition(times)
        for k in ("apparent_zenith", "zenith", "azimuth"):
            np.testing.assert_allclose(sp[k][i], ref[k].values, atol=1e-8)
        ref_cs = loc.get_clearsky(times, model="ineichen")  # pvlib's own Linke lookup
        for k in ("ghi", "dni", "dhi"):
            np.testing.assert_allclose(cs[k][i], ref_cs[k].values, atol=1e-6)


def test_solar_cf_zero_at_night_and_bounded(cube):
    cf, clear = cube["solar_cf"], cube["ghi_clear"]
    assert float(cf.where(clear == 0).max()) == 0.0
    assert float(cf.min()) >= 0.0 and float(cf.max()) <= 1.0
    assert float(cf.max()) <= 1 / 1.34 + 1e-12  # inverter clipping at DC/AC 1.34 (ATB; was 1.2)
    assert float(cube["solar_cf_tracking_ac"].max()) <= 1 + 1e-12
    # and never output without light: the file's own GHI, DNI and DHI are used, so all three must be 0
    dark = (cube["ghi"] == 0) & (cube["dni"] == 0) & (cube["dhi"] == 0)
    assert not bool(((cf > 0) & dark).any())


def test_clear_sky_noon_at_equinox_is_high(stations):
    s = make_sites(("MID", 40.0, -80.0, "US", "PJM", "core", 300.0))
    c = build_energy_cube(s, stations, pv=PVSpec(clear_sky_only=True)).compute()
    # solar noon at 80 W is ~17:20 UTC; the hour 17:00-18:00 UTC holds it
    noon = float(c["solar_cf"].sel(site="MID", time="2023-03-20 17:00"))
    assert noon > 0.6
    assert float(c["ghi_clear"].sel(site="MID", time="2023-03-20 17:00")) > 600


def test_annual_solar_cf_higher_at_low_latitude_with_same_stations(cube, stations):
    assert float(cube["solar_cf"].sel(site="PHX").mean()) > float(cube["solar_cf"].sel(site="DUB").mean())
    one = make_sites(("PHX", 33.45, -112.07, "US", "SRP", "core"), ("DUB", 53.35, -6.26, "IE", "IE-SEM", "core"))
    c1 = build_energy_cube(one, stations.isel(station=[0])).compute()  # both use Greensboro's clouds
    phx, dub = (float(c1["solar_cf"].sel(site=s).mean()) for s in ("PHX", "DUB"))
    assert phx > dub + 0.02 and 0.12 < phx < 0.25


# --------------------------------------------------------------------------- wind


@pytest.fixture(scope="module")
def oedb_curve():
    """The V126/3450 power curve read straight from windpowerlib's own bundled table."""
    import windpowerlib

    root = Path(windpowerlib.__file__).parent
    path = next(p for p in (root / "oedb" / "power_curves.csv",
                            root / "data" / "default_turbine_data" / "power_curves.csv") if p.exists())
    row = pd.read_csv(path, index_col=0).loc["V126/3450"].dropna()
    return row.index.astype(float).to_numpy(), row.to_numpy(float)


def test_wind_cf_equals_tabulated_curve_without_density_correction(oedb_curve):
    speeds, power = oedb_curve
    # one roughness for anemometer and site: the single log profile (the two-step profile reduces to it)
    spec = WindSpec(density_correction=False, anemometer_roughness_length_m=0.1)
    nominal = spec.turbine().nominal_power
    assert nominal == 3.45e6 and spec.turbine().hub_height == 117
    # 10 m speeds that the logarithmic profile (z0 = 0.1 m) lifts exactly to the tabulated hub speeds
    v10 = speeds * np.log(10 / 0.1) / np.log(117 / 0.1)
    cf = wind_capacity_factor(v10, np.full(speeds.size, 15.0), np.full(speeds.size, 101325.0), spec)
    np.testing.assert_allclose(cf, power / nominal, rtol=1e-9, atol=1e-12)
    # the curve rises linearly from its last zero knot: no power at or below that speed
    cut_in = speeds[np.flatnonzero(power > 0)[0] - 1]
    below = np.linspace(0, cut_in, 20) * np.log(10 / 0.1) / np.log(117 / 0.1)
    assert (wind_capacity_factor(below, 15.0, 101325.0, spec) == 0).all()
    assert (wind_capacity_factor(below, 15.0, 101325.0, WindSpec()) == 0).all()
    assert float(wind_capacity_factor(np.array([60.0]), 15.0, 101325.0, spec)[0]) == 0.0  # beyond cut-out


def test_density_corrected_curve_matches_windpowerlib(oedb_curve, rng):
    speeds, power = oedb_curve
    ws = np.concatenate([rng.weibull(2.0, 5000) * 9.0, speeds])
    rho = np.concatenate([rng.uniform(0.95, 1.35, 5000), np.full(speeds.size, 1.225)])
    fast = turbine_power(ws, rho, speeds, power)
    loop = turbine_power(ws, rho, speeds, power, vectorised=False)  # windpowerlib's power_curve
    np.testing.assert_allclose(fast, loop, rtol=1e-12, atol=1e-6)
    np.testing.assert_allclose(fast[-speeds.size:], power, atol=1e-6)  # rho = 1.225: no correction
    # thinner air gives less power below rated speed
    assert turbine_power(np.array([8.0]), np.array([1.0]), speeds, power)[0] < np.interp(8.0, speeds, power)


def test_wind_cf_in_cube_bounded(cube):
    assert 0 <= float(cube["wind_cf"].min()) and float(cube["wind_cf"].max()) <= 1
    assert 0.05 < float(cube["wind_cf"].mean()) < 0.6


# --------------------------------------------------------------------------- PUE


@pytest.mark.parametrize("tier", sorted(PUE_BY_TIER))
def test_pue_monotonic_and_at_least_one(tier):
    p = PUE_BY_TIER[tier]
    t = np.linspace(-60, 60, 2401)
    pue = pue_from_temperature(t, p.pue_min, p.changeover_degc, p.slope_per_k, p.pue_max)
    assert (np.diff(pue) >= 0).all() and (pue >= 1).all()
    assert pue[0] == p.pue_min and pue[-1] == p.pue_max


def test_pue_property_random_parameters(rng):
    for _ in range(200):
        pmin = 1 + rng.uniform(0, 0.6)
        args = (pmin, rng.uniform(-10, 30), rng.uniform(0, 0.05), pmin + rng.uniform(0, 1))
        t = np.sort(rng.uniform(-70, 60, 500))
        pue = pue_from_temperature(t, *args)
        assert (np.diff(pue) >= -1e-15).all() and (pue >= 1).all()
    with pytest.raises(ValueError, match="pue_min >= 1"):
        pue_from_temperature(20.0, 0.9, 15, 0.01, 1.5)


def test_pue_annual_means_near_published_figures(stations):
    # over the three typical years: core ~ Google fleet 1.10, edge ~ Uptime average 1.56
    means = {tier: [float(pue_from_temperature(stations["temp_air"].sel(station=s), p.pue_min,
                                               p.changeover_degc, p.slope_per_k, p.pue_max).mean())
                    for s in stations.station.values] for tier, p in PUE_BY_TIER.items()}
    assert 1.05 < np.mean(means["core"]) < 1.15
    assert 1.10 < np.mean(means["regional"]) < 1.30
    assert 1.45 < np.mean(means["edge"]) < 1.65
    assert pue_from_temperature(xr.DataArray([0.0, 40.0]), 1.1, 15, 0.01, 1.5).values.tolist() == [1.1, 1.35]


def test_pue_in_cube_follows_tier(cube):
    mean = cube["pue"].mean("time").to_series()
    assert mean["ASH"] < mean["MIA"] < mean["GSO"]  # core < regional < edge
    assert float(cube["pue"].min()) >= 1


# --------------------------------------------------------------------------- carbon


def _table():
    return pd.read_csv(data_dir() / "derived" / "carbon_intensity_month_hour.csv")


def test_pjm_site_mean_equals_derived_table(cube):
    t = _table()
    pjm = t[t["ba"] == "PJM"].set_index(["month", "hour_utc"])["gco2_per_kwh"]
    # expected by hand: every hour of 2023 takes its month-hour value
    expected = np.mean([pjm[(ts.month, ts.hour)] for ts in TIMES])
    assert float(cube["carbon_intensity"].sel(site="ASH").mean()) == pytest.approx(expected, rel=1e-12)
    assert expected == pytest.approx(362.6, rel=0.01)  # SOURCE.md: mean avg_CI 363 over 2022
    assert cube["carbon_source"].sel(site="ASH").item() == "PJM"
    # diurnal and seasonal variation survives
    assert float(cube["carbon_intensity"].sel(site="ASH").std()) > 5


def test_european_site_constant_at_country_value(cube):
    facts = pd.read_csv(facts_dir() / "grid_carbon_intensity.csv")
    de = float(facts.loc[facts["region"] == "DE", "value"].iloc[0])
    muc = cube["carbon_intensity"].sel(site="MUC").values
    assert (muc == de).all() and de == 380.9
    assert cube["carbon_source"].sel(site="MUC").item() == "DE annual 2023 (constant)"


def test_proxy_ba_and_missing_proxy(cube):
    assert cube["carbon_source"].sel(site="GSO").item() == "SOCO (proxy for DUK)"
    t = _table()
    soco = t[t["ba"] == "SOCO"].set_index(["month", "hour_utc"])["gco2_per_kwh"]
    assert float(cube["carbon_intensity"].sel(site="GSO", time="2023-07-04 18:00")) == soco[(7, 18)]
    with pytest.raises(ValidationError, match=r"no carbon intensity for grid 'LDWP'.*carbon_proxy\.csv"):
        carbon_intensity_profiles(TIMES, ["LDWP"], ["US"])


def test_every_demo_grid_has_carbon_data():
    s = read_sites(demo_sites_path())
    rows, idx, src = carbon_intensity_profiles(TIMES, s["ba"].values, s["country"].values, CarbonSpec())
    assert rows.shape[1] == 8760 and (idx >= 0).all() and len(src) == s.sizes["site"]
    proxies = pd.read_csv(data_dir() / "derived" / "carbon_proxy.csv")
    assert proxies["reason"].str.len().min() > 20 and not proxies["ba"].duplicated().any()


# --------------------------------------------------------------------------- summary and inputs


def test_energy_cube_summary(lazy_cube, cube):
    s = energy_cube_summary(lazy_cube)
    assert s["solar_cf_mean"].chunks is not None  # stays lazy
    s = s.compute()
    for name, units in (("solar_cf_mean", "1"), ("wind_cf_mean", "1"), ("pue_mean", "1"),
                        ("carbon_intensity_mean", "gCO2 kWh-1"), ("temp_air_mean", "degC")):
        assert s[name].dims == ("site",) and s[name].attrs["units"] == units and s[name].attrs["long_name"]
    np.testing.assert_allclose(s["pue_mean"].values, cube["pue"].mean("time").values)
    assert "lat" in s.coords and "ba" in s.coords


def test_bad_inputs_are_reported(sites, stations):
    with pytest.raises(ValueError, match="leap year"):
        build_energy_cube(sites, stations, year=2024)
    with pytest.raises(ValidationError, match="required weather variable missing"):
        build_energy_cube(sites, stations.drop_vars("ghi"))
    with pytest.raises(ValidationError, match="site coordinate missing"):
        build_energy_cube(sites.drop_vars("ba"), stations)
    with pytest.raises(ValueError, match="no power curve|not provided"):
        build_energy_cube(sites, stations, wind=WindSpec(turbine_type="NOPE/1"))


def test_site_weather_is_a_weather_cube_on_sites(sites, stations):
    from powerfirst.cubes.energy import site_weather

    wx = site_weather(sites, stations).compute()
    assert set(wx.data_vars) == {"ghi", "dni", "dhi", "temp_air", "wind_speed"}
    assert wx.attrs["pf_kind"] == "weather" and "site" in wx.dims
    validate(wx, "weather", values=True)


# --------------------------------------------------------------------------- real weather (issue: physical fidelity)


def _shared_epw(shared, tmp_path, rel):
    """A shared EPW (gzip or plain) read with read_weather."""
    import gzip
    import shutil

    src = shared / "weather" / rel
    if src.suffix == ".gz":
        dst = tmp_path / src.name[:-3]
        with gzip.open(src, "rb") as f, open(dst, "wb") as g:
            shutil.copyfileobj(f, g)
        src = dst
    return read_weather(src)


def _modelchain_cf(wx, mount, spec):
    """Annual AC output per kW DC of pvlib's own ModelChain on the same weather and parameters."""
    import pvlib
    from pvlib.location import Location
    from pvlib.modelchain import ModelChain
    from pvlib.pvsystem import Array, FixedMount, PVSystem, SingleAxisTrackerMount

    lat, lon, alt = (float(wx[c].item()) for c in ("lat", "lon", "elevation_m"))
    times = (pd.DatetimeIndex(wx.indexes["time"]) + pd.Timedelta("30min")).tz_localize("UTC")
    weather = pd.DataFrame({v: wx[v].values[0] for v in ("ghi", "dni", "dhi", "temp_air", "wind_speed")},
                           index=times)
    if mount == "fixed":
        m = FixedMount(surface_tilt=min(abs(lat), spec.max_tilt_deg), surface_azimuth=180.0 if lat >= 0 else 0.0)
    else:
        m = SingleAxisTrackerMount(axis_tilt=0, axis_azimuth=180.0 if lat >= 0 else 0.0,
                                   max_angle=spec.max_angle_deg, backtrack=spec.backtrack, gcr=spec.gcr)
    temp = pvlib.temperature.TEMPERATURE_MODEL_PARAMETERS["sapm"][spec.temperature_model]
    system = PVSystem(arrays=[Array(m, albedo=spec.albedo, temperature_model_parameters=temp,
                                    module_parameters={"pdc0": 1.0, "gamma_pdc": spec.gamma_pdc_per_k})],
                      inverter_parameters={"pdc0": 1 / spec.dc_ac_ratio / spec.eta_inv_nom,
                                           "eta_inv_nom": spec.eta_inv_nom, "eta_inv_ref": spec.eta_inv_ref})
    mc = ModelChain(system, Location(lat, lon, altitude=alt), transposition_model=spec.transposition,
                    aoi_model="physical", spectral_model="no_loss", dc_model="pvwatts", ac_model="pvwatts",
                    losses_model="pvwatts", airmass_model="kastenyoung1989")
    mc.run_model(weather)
    return float(np.nansum(np.clip(mc.results.ac.to_numpy(float), 0, None))) / 8760


MODELCHAIN_FILES = ["epw_us_dc_locations/USA_AZ_Phoenix-Sky.Harbor.epw",
                    "epw_us_dc_locations/USA_IL_Chicago.OHare.epw",
                    "epw_stations/USA_WA_Seattle-Tacoma.Intl.AP.727930_TMY3.epw.gz",
                    "epw_stations/SWE_ST_Stockholm.Arlanda.AP.024600_TMYx.2007-2021.epw.gz",
                    "epw_stations/ESP_CT_Barcelona.081800_TMYx.epw.gz"]


@pytest.mark.realdata
@pytest.mark.parametrize("rel", MODELCHAIN_FILES)
def test_fixed_and_tracking_cf_agree_with_pvlib_modelchain(shared, tmp_path, rel):
    """Done-when of the fidelity issue: the cube's annual CF within 2 % of pvlib's ModelChain on the file."""
    from pvlib.pvsystem import pvwatts_losses

    wx = _shared_epw(shared, tmp_path, rel)
    spec = PVSpec(losses_percent=float(pvwatts_losses()))
    s = make_sites(("ST", float(wx["lat"].item()), float(wx["lon"].item()), "US", "PJM", "core",
                    float(wx["elevation_m"].item())))
    c = build_energy_cube(s, wx, pv=spec).compute()
    assert str(c["irradiance_source"].values[0]).startswith("weather file GHI, DNI, DHI")
    for mount, var in (("fixed", "solar_cf_fixed_ac"), ("single_axis", "solar_cf_tracking_ac")):
        ours = float(c[var].mean()) / spec.dc_ac_ratio  # back to AC per kW DC, ModelChain's basis
        ref = _modelchain_cf(wx, mount, spec)
        assert ours == pytest.approx(ref, rel=0.02), (rel, mount, ours, ref)
    # solar_cf is the default mount (single axis) per kW DC
    np.testing.assert_allclose(c["solar_cf"].values * spec.dc_ac_ratio, c["solar_cf_tracking_ac"].values)
    # tracking gains over fixed tilt, more at low latitude
    gain = float(c["solar_cf_tracking_ac"].mean()) / float(c["solar_cf_fixed_ac"].mean())
    assert 1.0 < gain < 1.35


@pytest.mark.realdata
def test_file_irradiance_is_used_not_rebuilt(shared, tmp_path):
    wx = _shared_epw(shared, tmp_path, "epw_us_dc_locations/USA_AZ_Phoenix-Sky.Harbor.epw")
    s = make_sites(("PHX", float(wx["lat"].item()), float(wx["lon"].item()), "US", "SRP", "core",
                    float(wx["elevation_m"].item())))
    c = build_energy_cube(s, wx).compute()
    np.testing.assert_array_equal(c["ghi"].values[0], wx["ghi"].values[0])
    np.testing.assert_array_equal(c["dhi"].values[0], wx["dhi"].values[0])
    # DNI: the file's, except hours whose mid-hour sun is below the horizon
    assert float(c["dni"].sum()) == pytest.approx(float(wx["dni"].sum()), rel=0.01)


def test_fallback_without_dni_dhi_is_stated(stations):
    s = make_sites(("GSO", 36.10, -79.95, "US", "DUK", "edge", 273.0))
    full = build_energy_cube(s, stations.isel(station=[0])).compute()
    no_comp = stations.isel(station=[0]).drop_vars(["dni", "dhi"])
    fb = build_energy_cube(s, no_comp)
    assert "FALLBACK" in str(fb["irradiance_source"].values[0]) and "irradiance_fallback" in fb.attrs
    fb = fb.compute()
    assert float(fb["ghi"].mean()) == pytest.approx(float(full["ghi"].mean()), rel=0.05)
    assert float(fb["solar_cf"].mean()) == pytest.approx(float(full["solar_cf"].mean()), rel=0.15)


def test_station_in_other_hemisphere_is_refused_or_shifted(stations):
    s = make_sites(("SYD", -33.9, 151.2, "US", "PJM", "core", 40.0))
    with pytest.raises(ValidationError, match="other hemisphere.*other_hemisphere='shift'"):
        build_energy_cube(s, stations)
    with pytest.warns(WeatherStationWarning, match="SYD"):
        c = build_energy_cube(s, stations, other_hemisphere="shift")
    assert str(c["weather_match"].values[0]) == "nearest-other-hemisphere"
    assert int(c["weather_shift_h"].values[0]) % 8760 >= 4380 - 12


def test_site_2000_km_from_any_station_warns_with_name_and_distance(stations):
    # Kamchatka: about 2,600 km from Sand Point AK, the nearest of the three stations
    s = make_sites(("FAR", 52.0, 160.0, "US", "PJM", "core", 0.0))
    with pytest.warns(WeatherStationWarning, match=r"FAR: station SAND POINT is \d{4} km away"):
        c = build_energy_cube(s, stations)
    assert float(c["weather_distance_km"].values[0]) > 1900


def test_net_wind_is_gross_times_losses(cube):
    spec = WindSpec()
    np.testing.assert_allclose(cube["wind_cf"].values, cube["wind_cf_gross"].values * spec.net_factor)
    assert spec.net_factor == pytest.approx(0.93 * 0.97 * 0.98)
    assert "net" in cube["wind_cf"].attrs["basis"] and "gross" in cube["wind_cf_gross"].attrs["basis"]
    with pytest.raises(ValueError, match="wake_loss"):
        WindSpec(wake_loss=1.5)


def test_roughness_by_land_cover_lowers_hub_wind(stations):
    from powerfirst.cubes.conversion import ROUGHNESS_BY_LAND_COVER, hub_height_wind_speed

    s = make_sites(("A", 36.1, -79.95, "US", "DUK", "core", 273.0), ("B", 36.1, -79.95, "US", "DUK", "core", 273.0))
    s = s.assign_coords(land_cover=("site", ["grassland", "forest"]))
    c = build_energy_cube(s, stations.isel(station=[0])).compute()
    assert list(c["roughness_length_m"].values) == [ROUGHNESS_BY_LAND_COVER["grassland"], ROUGHNESS_BY_LAND_COVER["forest"]]
    assert float(c["wind_cf"].sel(site="A").mean()) > float(c["wind_cf"].sel(site="B").mean())
    # monotone: rougher site, slower hub wind; equal roughness = the single log profile
    z = np.array([0.01, 0.03, 0.1, 0.3, 1.0])
    v = hub_height_wind_speed(5.0, 10.0, 117.0, z, 0.03)
    assert (np.diff(v) < 0).all()
    assert hub_height_wind_speed(5.0, 10.0, 117.0, 0.1, 0.1) == pytest.approx(5 * np.log(1170) / np.log(100))
    with pytest.raises(ValidationError, match="unknown land_cover"):
        build_energy_cube(s.assign_coords(land_cover=("site", ["moon", "forest"])), stations)


@pytest.mark.realdata
def test_demo_sites_have_a_station_within_300_km_and_phoenix_temperature(shared):
    """Every demo site within the 300 km threshold (except Ireland, which has no licence-clean station),
    and Phoenix-area sites' annual mean temperature within 1 K of the Phoenix station's file."""
    import warnings

    s = read_sites(demo_sites_path())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", WeatherStationWarning)
        c = build_energy_cube(s)
    d = c["weather_distance_km"].to_series()
    far = d[d > 300]
    assert set(c["ba"].sel(site=far.index).values) <= {"IE-SEM"}, far
    phx = read_weather(shared / "weather" / "epw_us_dc_locations" / "USA_AZ_Phoenix-Sky.Harbor.epw")
    t_file = float(phx["temp_air"].mean())
    assert t_file == pytest.approx(24.7, abs=0.05)
    area = [i for i in c.site.values if str(c["ba"].sel(site=i).values) == "SRP"
            or str(c["name"].sel(site=i).values).startswith(("Buckeye", "Goodyear"))]
    t = c["temp_air"].sel(site=area).mean("time").compute()
    assert (np.abs(t.values - t_file) < 1.0).all(), t.to_series()
    assert set(c["weather_station_name"].sel(site=area).values) == {"Phoenix-Sky.Harbor.Intl.AP"}
