"""The energy cube: site × hourly time over one typical year.

For every candidate site, :func:`build_energy_cube` derives hourly weather,
solar and wind capacity factors, the data centre's power usage effectiveness
and the grid's carbon intensity, as a **lazy** Dask-backed Dataset chunked
along ``site`` (``time`` whole).  It follows atlite's two layers: pure
functions on arrays do the physics (:mod:`powerfirst.cubes.conversion`, each
with units and references; re-exported here), and the builder routes them per
site chunk through :func:`xarray.map_blocks`, computing each chunk once (solar
position and clear sky are shared by every variable of the chunk).

Method
------
Weather at the site
    The station of ``weather`` (default: the 159 embedded typical years of
    ``data/derived/weather``) with the smallest elevation-aware distance
    ``sqrt(d^2 + (0.1 km/m x dz)^2)`` (:func:`match_stations`).  Sites
    farther than ``warn_station_km`` (300 km) from it, or whose station's
    temperatures fall in another ASHRAE thermal zone once moved to the site's
    elevation (a shift of at least 1 K), are named in a
    :class:`WeatherStationWarning`, in ``attrs['weather_warning']`` and in the
    coordinate ``weather_warning``.  A station across the equator is refused
    (``other_hemisphere='shift'`` uses it half a year shifted).  The station
    series are shifted by the difference in solar time,
    ``round((lon_site - lon_station) / 15)`` hours, and the temperature is
    corrected for elevation with the standard lapse rate −6.5 K km-1 (site
    elevation from ``elevation_m``, else pvlib's altitude map).
Solar
    The weather file's own GHI, DNI and DHI (DNI only while the sun is up at
    the site), transposed to the plane of array with Perez (Kasten-Young
    airmass), physical IAM on the beam, SAPM cell temperature (open rack
    glass/glass), PVWatts DC (γ = −0.0037 K-1), 14.08 % DC losses and the
    PVWatts inverter at DC/AC 1.34 (:class:`PVSpec`), for two mounts: fixed
    tilt (``|lat|`` capped at 40°, equator-facing) and a horizontal
    north-south single-axis tracker with backtracking (ground coverage ratio
    0.35, ±60°).  ``solar_cf`` is AC output per kW DC of ``PVSpec.mount``
    (single axis by default); ``solar_cf_fixed_ac`` and ``solar_cf_tracking_ac``
    are AC output per kW AC.  Only for a station without DNI/DHI, the
    fallback: site clear-sky GHI (Ineichen-Perez, pvlib Linke turbidity) times
    the station's clear-sky index, split by Erbs (coordinate
    ``irradiance_source`` says which sites).
Wind
    The station's 10 m wind lifted to the 117 m hub in two logarithmic steps:
    with the anemometer's roughness (0.03 m) up to a 200 m blending height,
    then down to the hub with the site's roughness (``roughness_length_m`` of the site, else its
    ``land_cover``, else 0.1 m, uncertain between 0.03 and 0.3 m); air density
    from the temperature at hub height and the barometric pressure at the
    site elevation (ideal gas); the power curve of the Vestas V126-3.45 MW
    from windpowerlib's bundled library with the density correction:
    ``wind_cf_gross``.  ``wind_cf`` is net of wake (7 %), availability (3 %)
    and electrical (2 %) losses (:class:`WindSpec`).
PUE
    A piecewise-linear function of the ambient dry-bulb temperature by tier
    (:func:`pue_from_temperature`, :data:`PUE_BY_TIER`).
Carbon intensity
    US balancing authorities: the 2022 month × UTC-hour mean of EIA-930-based
    average carbon intensity (``data/derived``), their own or a documented
    proxy's.  European bidding zones: the annual 2023 country value
    (``data/facts/grid_carbon_intensity.csv``), constant over the year.
Carbon-free share
    ``grid_carbon_free_share``, the share of nuclear, hydro, solar and wind in
    the generation mix (:mod:`powerfirst.cubes.fuel_mix`): US balancing
    authorities, the 2022 EIA-930 month × UTC-hour profile of
    ``data/derived/carbon_fuel_mix_month_hour.csv``, own or the proxy's of
    ``data/derived/carbon_proxy.csv``; European zones, the annual 2023
    country share (``grid_carbon_free_share`` rows of the facts table); NaN
    where the mix is unknown (``carbon_free_share_source`` says so).

The method is a screening approximation: one typical year, stations standing
in for sites up to a few hundred km away, no terrain, row shading of fixed
arrays, snow or curtailment.  Supply weather files near the sites for a real study.
"""

from __future__ import annotations

import calendar
import warnings
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from powerfirst._provenance import provenance
from powerfirst.cubes.conversion import (
    LAPSE_RATE_K_PER_M,
    PUE_BY_TIER,
    ROUGHNESS_BY_LAND_COVER,
    STATION_WARN_KM,
    PUESpec,
    PVSpec,
    WindSpec,
    _spa_time_terms,
    ashrae_thermal_zone,
    clear_sky_index,
    clearsky_ineichen,
    haversine_km,
    lapse_rate_temperature,
    linke_turbidity_daily,
    match_stations,
    pue_from_temperature,
    pv_capacity_factor,
    pv_orientation,
    pv_output,
    solar_position,
    solar_time_shift_hours,
    turbine_power,
    wind_capacity_factor,
)
from powerfirst.errors import Problem, ValidationError
from powerfirst.schema import grids as _grids
from powerfirst.schema import validate
from powerfirst.schema.tables import _variables

__all__ = [
    "CarbonSpec",
    "PUESpec",
    "PUE_BY_TIER",
    "PVSpec",
    "WeatherStationWarning",
    "WindSpec",
    "build_energy_cube",
    "carbon_free_share_profiles",
    "carbon_intensity_profiles",
    "clear_sky_index",
    "clearsky_ineichen",
    "energy_cube_summary",
    "haversine_km",
    "lapse_rate_temperature",
    "linke_turbidity_daily",
    "match_stations",
    "pue_from_temperature",
    "pv_capacity_factor",
    "solar_position",
    "solar_time_shift_hours",
    "turbine_power",
    "wind_capacity_factor",
]

HOURS = 8760
OUTPUT_VARIABLES = ("ghi", "dni", "dhi", "ghi_clear", "temp_air", "wind_speed", "solar_cf", "solar_cf_fixed_ac",
                    "solar_cf_tracking_ac", "wind_cf", "wind_cf_gross", "pue", "carbon_intensity",
                    "grid_carbon_free_share")


@dataclass(frozen=True)
class CarbonSpec:
    """Where the carbon-intensity tables come from (default: the embedded data).

    Attributes
    ----------
    profiles : path-like, optional
        Month × UTC-hour profiles (``ba, month, hour_utc, gco2_per_kwh, n_hours``);
        default ``data/derived/carbon_intensity_month_hour.csv``.
    proxies : path-like, optional
        ``ba, proxy_ba, reason``; default ``data/derived/carbon_proxy.csv``.
    country_facts : path-like, optional
        Facts table with ``quantity = grid_carbon_intensity`` (and
        ``grid_carbon_free_share``) rows by country; default
        ``data/facts/grid_carbon_intensity.csv``.
    fuel_mix : path-like, optional
        Month × UTC-hour fuel-mix profiles (``ba, month, hour_utc, cfe_share, ...``);
        default ``data/derived/carbon_fuel_mix_month_hour.csv``.
    """

    profiles: str | Path | None = None
    proxies: str | Path | None = None
    country_facts: str | Path | None = None
    fuel_mix: str | Path | None = None


# =========================================================================== carbon tables


def _carbon_tables(spec: CarbonSpec):
    from powerfirst.paths import data_dir, facts_dir

    prof_path = Path(spec.profiles or data_dir() / "derived" / "carbon_intensity_month_hour.csv")
    proxy_path = Path(spec.proxies or data_dir() / "derived" / "carbon_proxy.csv")
    facts_path = Path(spec.country_facts or facts_dir() / "grid_carbon_intensity.csv")
    for p, how in ((prof_path, "run `python data/derive_carbon_profiles.py`"),
                   (proxy_path, "restore data/derived/carbon_proxy.csv"),
                   (facts_path, "restore data/facts/grid_carbon_intensity.csv")):
        if not p.exists():
            raise FileNotFoundError(f"carbon-intensity table not found: {p} ({how})")
    prof = pd.read_csv(prof_path, dtype={"ba": str})
    need = {"ba", "month", "hour_utc", "gco2_per_kwh"}
    if not need <= set(prof.columns):
        raise ValidationError([Problem(f"columns {sorted(need - set(prof.columns))} missing",
                                       file=str(prof_path))], what=str(prof_path))
    proxies = pd.read_csv(proxy_path, dtype=str).set_index("ba")
    facts = pd.read_csv(facts_path, dtype={"region": str})
    facts = facts[facts["quantity"] == "grid_carbon_intensity"]
    return prof, proxies, facts, (prof_path, proxy_path, facts_path)


def carbon_intensity_profiles(times: pd.DatetimeIndex, ba, country, spec: CarbonSpec = CarbonSpec()):
    """Hourly carbon intensity of each site's grid [gCO2 kWh-1].

    Parameters
    ----------
    times : pandas.DatetimeIndex
        Hour-beginning UTC hours.
    ba, country : sequence of str
        Balancing authority / bidding zone and country of each site.
    spec : CarbonSpec

    Returns
    -------
    profiles : numpy.ndarray, shape (n_profiles, len(times))
    index : numpy.ndarray of int
        Profile row of each site.
    source : numpy.ndarray of str
        How each site's profile was obtained (``'PJM'``, ``'SOCO (proxy for DUK)'``,
        ``'DE annual 2023 (constant)'``).

    Raises
    ------
    ValidationError
        A site's grid has no profile, proxy or country value (names the grids and how to fix).
    """
    prof, proxies, facts, paths = _carbon_tables(spec)
    grid_table = _grids()
    profiled = set(prof["ba"])
    month = np.asarray(times.month) - 1
    hour = np.asarray(times.hour)
    row_of: dict[str, int] = {}   # profile key -> row in ``rows``
    label_of: dict[str, str] = {}  # profile key -> description
    rows: list[np.ndarray] = []
    index, source, problems = [], [], []
    missing: dict[str, list[str]] = {}
    for b, c in zip(map(str, np.asarray(ba, str)), map(str, np.asarray(country, str)), strict=True):
        known = b in grid_table.index
        if (known and grid_table.at[b, "kind"] == "bidding_zone") or (not known and c != "US"):
            # European bidding zone: the annual country value, constant over the year
            cc = grid_table.at[b, "country"] if known else c
            key = f"country:{cc}"
            if key not in row_of:
                f = facts[facts["region"] == cc]
                if f.empty:
                    missing.setdefault(b, []).append(f"no grid_carbon_intensity row for country {cc}")
                    index.append(-1)
                    source.append("")
                    continue
                f = f.sort_values("period").iloc[-1]
                row_of[key], label_of[key] = len(rows), f"{cc} annual {int(f['period'])} (constant)"
                rows.append(np.full(len(times), float(f["value"])))
        else:
            # US balancing authority: its own month x UTC-hour profile, else its proxy's
            use = b if b in profiled else (proxies.at[b, "proxy_ba"] if b in proxies.index else None)
            if use is None or use not in profiled:
                missing.setdefault(b, []).append("no month-hour profile and no proxy")
                index.append(-1)
                source.append("")
                continue
            key = f"ba:{use}"
            if key not in row_of:
                t = prof[prof["ba"] == use].set_index(["month", "hour_utc"])["gco2_per_kwh"]
                grid = t.reindex(pd.MultiIndex.from_product([range(1, 13), range(24)])).to_numpy(float)
                if np.isnan(grid).any():
                    missing.setdefault(b, []).append(f"the profile of {use} is incomplete")
                    index.append(-1)
                    source.append("")
                    continue
                row_of[key], label_of[key] = len(rows), use
                rows.append(grid.reshape(12, 24)[month, hour])
        index.append(row_of[key])
        source.append(label_of[key] if key.startswith("country:") or use == b else f"{use} (proxy for {b})")
    if missing:
        for b, why in missing.items():
            problems.append(Problem(f"no carbon intensity for grid {b!r} ({why[0]}); add a row "
                                    f"'{b},<proxy_ba>,<reason>' to {paths[1].name} or pass "
                                    "carbon=CarbonSpec(...)", site=b))
        raise ValidationError(problems, what="carbon-intensity mapping")
    return np.stack(rows), np.asarray(index, dtype=int), np.asarray(source, dtype=str)


def carbon_free_share_profiles(times: pd.DatetimeIndex, ba, country, spec: CarbonSpec = CarbonSpec()):
    """Hourly carbon-free share of each site's grid [1] (NaN where the grid's mix is unknown).

    US balancing authorities: the month × UTC-hour ``cfe_share`` of the fuel-mix table, their own
    or their proxy's (``carbon_proxy.csv``); European zones: the latest ``grid_carbon_free_share``
    row of the country, constant over the year.  Returns ``(profiles, index, source)`` as
    :func:`carbon_intensity_profiles`; ``source`` starts with ``'unknown'`` for a NaN profile.
    """
    from powerfirst.paths import data_dir

    _, proxies, facts_ci, paths = _carbon_tables(spec)
    mix_path = Path(spec.fuel_mix or data_dir() / "derived" / "carbon_fuel_mix_month_hour.csv")
    if not mix_path.exists():
        raise FileNotFoundError(f"fuel-mix table not found: {mix_path} (run `python data/derive_carbon_fuel_mix.py`)")
    mix = pd.read_csv(mix_path, dtype={"ba": str})
    if not {"ba", "month", "hour_utc", "cfe_share"} <= set(mix.columns):
        raise ValidationError([Problem("columns ba, month, hour_utc, cfe_share expected", file=str(mix_path))],
                              what=str(mix_path))
    facts = pd.read_csv(paths[2], dtype={"region": str})
    facts = facts[facts["quantity"] == "grid_carbon_free_share"]
    grid_table = _grids()
    month, hour = np.asarray(times.month) - 1, np.asarray(times.hour)
    rows: list[np.ndarray] = [np.full(len(times), np.nan)]  # row 0: unknown
    row_of: dict[str, int] = {}
    mix_bas = set(mix["ba"])
    ba, country = np.asarray(ba, str), np.asarray(country, str)
    pairs, inverse = np.unique(np.stack([ba, country]), axis=1, return_inverse=True)  # one lookup per grid
    index, source = [], []
    for b, c in zip(map(str, pairs[0]), map(str, pairs[1]), strict=True):
        known = b in grid_table.index
        if (known and grid_table.at[b, "kind"] == "bidding_zone") or (not known and c != "US"):
            cc = grid_table.at[b, "country"] if known else c
            f = facts[facts["region"] == cc]
            key, label = f"country:{cc}", None
            if not f.empty:
                f = f.sort_values("period").iloc[-1]
                label = f"{cc} annual {int(f['period'])} (constant)"
                if key not in row_of:
                    row_of[key] = len(rows)
                    rows.append(np.full(len(times), float(f["value"])))
        else:
            use = b if b in mix_bas else (proxies.at[b, "proxy_ba"] if b in proxies.index else None)
            key, label = f"ba:{use}", None
            if use is not None and use in mix_bas:
                label = use if use == b else f"{use} (proxy for {b})"
                if key not in row_of:
                    t = mix[mix["ba"] == use].set_index(["month", "hour_utc"])["cfe_share"]
                    grid = t.reindex(pd.MultiIndex.from_product([range(1, 13), range(24)])).to_numpy(float)
                    row_of[key] = len(rows)
                    rows.append(grid.reshape(12, 24)[month, hour])
        if label is None:
            index.append(0)
            source.append(f"unknown (no fuel-mix profile, proxy or country share for {b})")
        else:
            index.append(row_of[key])
            source.append(label)
    inverse = np.asarray(inverse).reshape(-1)
    return (np.stack(rows), np.asarray(index, dtype=int)[inverse],
            np.asarray(source, dtype=str)[inverse])


# =========================================================================== the cube


def _shift_rows(arr: np.ndarray, shift: np.ndarray) -> np.ndarray:
    """``out[i, j] = arr[i, (j + shift[i]) % T]`` (circular shift per row)."""
    T = arr.shape[-1]
    idx = (np.arange(T)[None, :] + np.asarray(shift)[:, None]) % T
    return np.take_along_axis(arr, idx, axis=1)


class WeatherStationWarning(UserWarning):
    """Sites whose weather station is far away or in another climate: their weather is a stand-in."""


def _energy_block(static: xr.Dataset, *, times, times_mid, time_terms, dni_extra, doy, station: dict,
                  carbon: np.ndarray, cfe: np.ndarray, pv: PVSpec, wind: WindSpec, lapse_rate: float) -> xr.Dataset:
    """All output variables of one chunk of sites (called once per chunk by map_blocks)."""
    import pvlib

    lat = static["p_lat"].values
    lon = static["p_lon"].values
    alt = static["p_alt"].values
    st = static["p_station"].values
    shift = static["p_shift"].values

    # weather moved from the station to the site
    temp = lapse_rate_temperature(_shift_rows(station["temp_air"][st], shift),
                                  station["elevation_m"][st][:, None], alt[:, None], lapse_rate)
    wind10 = _shift_rows(station["wind_speed"][st], shift)
    p_std_site = pvlib.atmosphere.alt2pres(alt)[:, None]
    p_st = _shift_rows(station["pressure"][st], shift)
    ratio = p_std_site / pvlib.atmosphere.alt2pres(station["elevation_m"][st])[:, None]
    pressure = np.where(np.isfinite(p_st), p_st * ratio, p_std_site)

    # solar: one solar position and clear sky per chunk, shared by all variables
    sp = solar_position(times_mid, lat, lon, alt, time_terms=time_terms)
    cs = clearsky_ineichen(times_mid, lat, lon, alt, solar_pos=sp, dni_extra=dni_extra)
    if pv.clear_sky_only:
        ghi, dni, dhi = cs["ghi"], cs["dni"], cs["dhi"]
    else:
        # the weather file's own irradiance, moved to the site's solar time; beam only with the sun up
        ghi = _shift_rows(station["ghi"][st], shift)
        dni = np.where(sp["apparent_zenith"] < 90.0, _shift_rows(station["dni"][st], shift), 0.0)
        dhi = _shift_rows(station["dhi"][st], shift)
        fb = ~station["has_components"][st]
        if fb.any():  # fallback: no DNI/DHI in the file -> site clear sky x station clear-sky index, Erbs split
            g = _shift_rows(station["k"][st[fb]], shift[fb]) * cs["ghi"][fb]
            split = pvlib.irradiance.erbs(g, sp["zenith"][fb], doy)
            ghi[fb] = g
            dni[fb] = np.nan_to_num(np.asarray(split["dni"], float))
            dhi[fb] = np.nan_to_num(np.asarray(split["dhi"], float))
    ac = {}
    for mount in ("fixed", "single_axis"):
        tilt, az = pv_orientation(mount, sp["apparent_zenith"], sp["azimuth"], lat, pv)
        ac[mount] = pv_output(ghi, dni, dhi, sp["apparent_zenith"], sp["apparent_zenith"], sp["azimuth"], temp,
                              wind10, dni_extra[None, :], tilt, az, pv)["ac"]
    wind_gross = wind_capacity_factor(wind10, temp, pressure, wind,
                                      roughness_length_m=static["p_roughness"].values[:, None])
    pue = pue_from_temperature(temp, static["p_pue_min"].values[:, None],
                               static["p_pue_changeover"].values[:, None],
                               static["p_pue_slope"].values[:, None], static["p_pue_max"].values[:, None])
    ci = carbon[static["p_carbon"].values]
    data = {"ghi": ghi, "dni": dni, "dhi": dhi, "ghi_clear": cs["ghi"], "temp_air": temp,
            "wind_speed": wind10, "solar_cf": ac[pv.mount],
            "solar_cf_fixed_ac": ac["fixed"] * pv.dc_ac_ratio,
            "solar_cf_tracking_ac": ac["single_axis"] * pv.dc_ac_ratio,
            "wind_cf": wind_gross * wind.net_factor, "wind_cf_gross": wind_gross, "pue": pue,
            "carbon_intensity": ci, "grid_carbon_free_share": cfe[static["p_cfe"].values]}
    return xr.Dataset({v: (("site", "time"), np.asarray(a, dtype=float)) for v, a in data.items()},
                      coords={"site": static["site"].values, "time": times})


def _check_weather(weather: xr.Dataset) -> list[Problem]:
    problems = []
    if "station" not in weather.dims or "time" not in weather.dims:
        return [Problem(f"weather must be on station x time (read_weather), found dims {tuple(weather.dims)}")]
    for v in ("ghi", "temp_air", "wind_speed"):
        if v not in weather.data_vars:
            problems.append(Problem("required weather variable missing", variable=v))
    for c in ("lat", "lon", "elevation_m"):
        if c not in weather.coords:
            problems.append(Problem("station coordinate missing", variable=c))
    if weather.sizes["time"] != HOURS:
        problems.append(Problem(f"weather has {weather.sizes['time']} hours; expected one typical year of "
                                f"{HOURS} (use read_weather)", variable="time"))
    for v in ("ghi", "temp_air", "wind_speed"):
        if v in weather.data_vars and weather[v].chunks is None and bool(weather[v].isnull().any()):
            bad = weather["station"].values[weather[v].isnull().any("time").values]
            problems.append(Problem(f"missing values at stations {list(map(str, bad))}", variable=v))
    return problems


def _has_components(weather: xr.Dataset) -> np.ndarray:
    """Per station: the file has its own DNI and DHI (finite every hour)."""
    n = weather.sizes["station"]
    if "dni" not in weather.data_vars or "dhi" not in weather.data_vars:
        return np.zeros(n, dtype=bool)
    ok = np.isfinite(weather["dni"].values).all(axis=1) & np.isfinite(weather["dhi"].values).all(axis=1)
    return np.asarray(ok, dtype=bool)


def _station_inputs(weather: xr.Dataset, used: np.ndarray, times_mid, time_terms, dni_extra, pv: PVSpec):
    """Irradiance and weather of the stations in use as plain arrays (eager; a few hundred stations).

    Stations with DNI and DHI keep their own irradiance; the clear-sky index (the fallback) is computed
    for the others only.
    """
    wx = weather.isel(station=used)
    lat, lon, elev = (wx[c].values.astype(float) for c in ("lat", "lon", "elevation_m"))
    comp = _has_components(wx)
    shape = (len(used), HOURS)
    ghi = wx["ghi"].values.astype(float)
    dni = wx["dni"].values.astype(float) if "dni" in wx else np.full(shape, np.nan)
    dhi = wx["dhi"].values.astype(float) if "dhi" in wx else np.full(shape, np.nan)
    k = np.zeros(shape)
    if (~comp).any():
        rows = np.flatnonzero(~comp)
        sp = solar_position(times_mid, lat[rows], lon[rows], elev[rows], time_terms=time_terms)
        cs = clearsky_ineichen(times_mid, lat[rows], lon[rows], elev[rows], solar_pos=sp, dni_extra=dni_extra)
        k[rows] = clear_sky_index(ghi[rows], cs["ghi"], max_index=pv.clearsky_index_max,
                                  min_clear=pv.ghi_clear_min_wm2)
    pressure = wx["pressure"].values.astype(float) if "pressure" in wx else np.full(shape, np.nan)
    return {"ghi": ghi, "dni": np.nan_to_num(dni), "dhi": np.nan_to_num(dhi), "has_components": comp, "k": k,
            "temp_air": wx["temp_air"].values.astype(float), "wind_speed": wx["wind_speed"].values.astype(float),
            "pressure": pressure, "elevation_m": elev}


def _site_elevation(sites: xr.Dataset) -> tuple[np.ndarray, np.ndarray]:
    n = sites.sizes["site"]
    elev = np.full(n, np.nan)
    if "elevation_m" in sites.variables:
        elev = np.asarray(sites["elevation_m"].values, dtype=float).copy()
    src = np.where(np.isfinite(elev), "sites", "pvlib altitude map").astype(str)
    lat, lon = sites["lat"].values.astype(float), sites["lon"].values.astype(float)
    todo = np.flatnonzero(~np.isfinite(elev))
    if todo.size:
        elev[todo] = _lookup_altitudes(lat[todo], lon[todo])
    return elev, src


def _lookup_altitudes(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """:func:`pvlib.location.lookup_altitude` of many sites [m], the altitude map opened once
    (same grid, encoding and no-data rule: 28 m steps from -450 m; 255 = no data -> 0 m)."""
    import h5py
    import pvlib
    from pvlib.clearsky import _degrees_to_index

    path = Path(pvlib.__file__).parent / "data" / "Altitude.h5"
    out = np.empty(lat.size)
    with h5py.File(path, "r") as f:
        table = f["Altitude"]
        for i, (la, lo) in enumerate(zip(lat, lon, strict=True)):
            a = int(table[_degrees_to_index(la, coordinate="latitude"), _degrees_to_index(lo, coordinate="longitude")])
            out[i] = 0.0 if a == 255 else a * 28.0 - 450.0
    return out


def _site_roughness(sites: xr.Dataset, wind: WindSpec) -> tuple[np.ndarray, np.ndarray]:
    """Roughness length of each site [m] and where it came from: the site's own
    ``roughness_length_m``, else its ``land_cover`` (:data:`ROUGHNESS_BY_LAND_COVER`), else the default."""
    n = sites.sizes["site"]
    z0 = np.full(n, float(wind.roughness_length_m))
    src = np.full(n, f"default {wind.roughness_length_m:g} m (uncertain: 0.03-0.3 m)", dtype=object)
    if "land_cover" in sites.variables:
        lc = sites["land_cover"].values.astype(str)
        bad = sorted({c for c in lc if c and c not in ROUGHNESS_BY_LAND_COVER and c not in ("nan", "None")})
        if bad:
            raise ValidationError([Problem(f"unknown land_cover {bad}; expected one of "
                                           f"{', '.join(ROUGHNESS_BY_LAND_COVER)}", variable="land_cover")],
                                  what="energy cube inputs")
        for i, c in enumerate(lc):
            if c in ROUGHNESS_BY_LAND_COVER:
                z0[i], src[i] = ROUGHNESS_BY_LAND_COVER[c], f"land_cover {c}"
    if "roughness_length_m" in sites.variables:
        own = np.asarray(sites["roughness_length_m"].values, dtype=float)
        if np.any(own[np.isfinite(own)] <= 0):
            raise ValidationError([Problem("roughness_length_m must be > 0 m", variable="roughness_length_m")],
                                  what="energy cube inputs")
        z0 = np.where(np.isfinite(own), own, z0)
        src = np.where(np.isfinite(own), "sites", src)
    return z0, np.asarray(src, dtype=str)


def _thermal_zones(weather: xr.Dataset, used: np.ndarray, st_local: np.ndarray, elev_site: np.ndarray,
                   lapse_rate: float, batch: int = 20_000):
    """ASHRAE 169 thermal zone of each used station, and of its temperature moved to each site's elevation.

    The lapse-rate shift is a constant per site, so daily means are taken once per station
    (``(stations, 365)``) and shifted per site in batches: cheap for 100,000 sites.
    """
    t = weather["temp_air"].values[used].astype(float)
    daily = t.reshape(len(used), HOURS // 24, 24).mean(axis=2)
    hdd = np.maximum(18.0 - daily, 0).sum(axis=1)
    cdd = np.maximum(daily - 10.0, 0).sum(axis=1)
    zone_station = ashrae_thermal_zone(hdd, cdd)
    elev_st = weather["elevation_m"].values[used].astype(float)
    zone_site = np.empty(len(st_local), dtype=int)
    for lo in range(0, len(st_local), batch):
        j = st_local[lo:lo + batch]
        d = daily[j] + (lapse_rate * (elev_site[lo:lo + batch] - elev_st[j]))[:, None]
        zone_site[lo:lo + batch] = ashrae_thermal_zone(np.maximum(18.0 - d, 0).sum(axis=1),
                                                       np.maximum(d - 10.0, 0).sum(axis=1))
    return zone_station, zone_site


def build_energy_cube(sites: xr.Dataset, weather: xr.Dataset | None = None, *, year: int = 2023,
                      chunk_sites: int = 32, pv: PVSpec | None = None, wind: WindSpec | None = None,
                      pue: PUESpec | Mapping[str, PUESpec] | None = None, carbon: CarbonSpec | None = None,
                      max_station_km: float = 2000.0, warn_station_km: float = STATION_WARN_KM,
                      analogue: bool = False, other_hemisphere: str = "error",
                      lapse_rate: float = LAPSE_RATE_K_PER_M) -> xr.Dataset:
    """Build the lazy energy cube of ``sites``: site × hourly typical year.

    Parameters
    ----------
    sites : xarray.Dataset
        Site Dataset (:func:`powerfirst.io.sites.read_sites`): dimension
        ``site`` with coordinates ``lat``, ``lon``, ``ba`` (and ``country``,
        ``tier``, ``elevation_m``, ``land_cover``, ``roughness_length_m`` when known).
    weather : xarray.Dataset, optional
        Typical-year weather on ``station`` × ``time``
        (:func:`powerfirst.io.weather.read_weather`); held in memory.
        Default :func:`powerfirst.io.weather.default_stations` (159 stations).
    year : int
        Non-leap reference year of the time axis.
    chunk_sites : int
        Sites per Dask chunk.
    pv, wind : PVSpec, WindSpec, optional
        Reference PV plant and wind plant.
    pue : PUESpec or mapping tier -> PUESpec, optional
        PUE parameters for all sites, or per tier (missing tiers use :data:`PUE_BY_TIER`).
    carbon : CarbonSpec, optional
        Carbon-intensity tables.
    max_station_km : float
        Farther than this from every station, a site uses the nearest station anyway
        (``weather_match = 'nearest-beyond-max'``) or, with ``analogue=True``, a latitude analogue [km].
    warn_station_km : float
        Sites farther than this from their station are warned about [km] (default 300, see
        :data:`~powerfirst.cubes.conversion.STATION_WARN_KM`).
    analogue : bool
        Beyond ``max_station_km``, use a latitude-analogue station instead of the nearest.
    other_hemisphere : {'error', 'shift'}
        A site whose station lies across the equator: raise (default), or use it shifted by half a year.
    lapse_rate : float
        Temperature lapse rate [K m-1].

    Returns
    -------
    xarray.Dataset
        Dask-backed, chunked along ``site`` (``time`` whole), kind ``energy``:
        ``ghi``, ``dni``, ``dhi``, ``ghi_clear`` [W m-2], ``temp_air`` [degC],
        ``wind_speed`` [m s-1], ``solar_cf`` (AC per kW DC, mount ``pv.mount``),
        ``solar_cf_fixed_ac``, ``solar_cf_tracking_ac`` (AC per kW AC),
        ``wind_cf`` (net), ``wind_cf_gross``, ``pue`` [1],
        ``carbon_intensity`` [gCO2 kWh-1], ``grid_carbon_free_share`` [1];
        site coordinates of ``sites`` plus ``elevation_m``,
        ``weather_station``, ``weather_distance_km``, ``weather_match``,
        ``weather_shift_h``, ``weather_climate_zone``, ``weather_warning``,
        ``irradiance_source``, ``roughness_length_m``, ``carbon_source``,
        ``carbon_free_share_source``.  Nothing is computed until the caller
        asks (``.compute()``, ``.to_zarr()``).

    Warns
    -----
    WeatherStationWarning
        Sites farther than ``warn_station_km`` from their station, or whose station's climate
        zone changes at the site's elevation, named with their distance (also in
        ``attrs['weather_warning']`` and the coordinate ``weather_warning``).

    Raises
    ------
    ValidationError
        Missing site coordinates, unusable weather, a grid without carbon data, a station in
        the other hemisphere (``other_hemisphere='error'``).
    """
    import pvlib

    pv, wind = pv or PVSpec(), wind or WindSpec()
    if calendar.isleap(int(year)):
        raise ValueError(f"year={year} is a leap year; the typical year has {HOURS} hours (use e.g. 2023)")
    if int(chunk_sites) < 1:
        raise ValueError(f"chunk_sites must be >= 1, got {chunk_sites}")
    if other_hemisphere not in ("error", "shift"):
        raise ValueError(f"other_hemisphere must be 'error' or 'shift', got {other_hemisphere!r}")
    problems = []
    if not isinstance(sites, xr.Dataset) or "site" not in sites.dims:
        raise ValidationError([Problem("sites must be a Dataset on dimension 'site' (read_sites)")],
                              what="sites")
    for c in ("lat", "lon", "ba"):
        if c not in sites.variables:
            problems.append(Problem("site coordinate missing", variable=c))
    if weather is None:
        from powerfirst.io.weather import default_stations

        weather = default_stations(int(year))
    problems += _check_weather(weather)
    if problems:
        raise ValidationError(problems, what="energy cube inputs")
    _ = wind.turbine()  # fail early on an unknown turbine

    times = pd.date_range(f"{int(year)}-01-01", periods=HOURS, freq="h").as_unit("ns")
    times_mid = (times + pd.Timedelta("30min")).tz_localize("UTC")
    time_terms = _spa_time_terms(times_mid)
    doy = np.asarray(times_mid.day_of_year, float)
    dni_extra = np.asarray(pvlib.irradiance.get_extra_radiation(doy), float)

    # ---- per-site statics (cheap, eager)
    n = sites.sizes["site"]
    site_ids = sites["site"].values.astype(str)
    lat, lon = sites["lat"].values.astype(float), sites["lon"].values.astype(float)
    elev, elev_src = _site_elevation(sites)
    st_lat, st_lon = weather["lat"].values.astype(float), weather["lon"].values.astype(float)
    st_elev = weather["elevation_m"].values.astype(float)
    st_idx, st_dist, st_match = match_stations(lat, lon, st_lat, st_lon, max_station_km, site_elevation=elev,
                                               station_elevation=st_elev, analogue=analogue)
    across = np.flatnonzero(st_match == "nearest-other-hemisphere")
    if across.size and other_hemisphere == "error":
        raise ValidationError([Problem(
            f"the nearest weather station ({weather['station'].values[st_idx[i]]}, {st_dist[i]:.0f} km away at "
            f"{st_lat[st_idx[i]]:.1f} N) is in the other hemisphere: its seasons are reversed. Supply a "
            "typical year near the site (read_weather, fetch_site_typical_years) or pass "
            "other_hemisphere='shift' to use it shifted by half a year", site=str(site_ids[i]))
            for i in across[:20]], what="energy cube weather stations")
    shift = solar_time_shift_hours(lon, st_lon[st_idx])
    half = np.isin(st_match, ("latitude-analogue-other-hemisphere", "nearest-other-hemisphere"))
    shift = shift + np.where(half, HOURS // 2, 0)
    used, st_local = np.unique(st_idx, return_inverse=True)
    zone_station, zone_site = _thermal_zones(weather, used, st_local, elev, float(lapse_rate))
    roughness, roughness_src = _site_roughness(sites, wind)
    tilt = np.minimum(np.abs(lat), pv.max_tilt_deg)
    tiers = (sites["tier"].values.astype(str) if "tier" in sites.variables else np.full(n, "regional"))
    pue_specs = [_pue_for(t, pue) for t in tiers]
    pue_params = np.array([[p.pue_min, p.changeover_degc, p.slope_per_k, p.pue_max] for p in pue_specs],
                          dtype=float).reshape(n, 4)
    country = (sites["country"].values.astype(str) if "country" in sites.variables
               else np.array([_grids().at[b, "country"] if b in _grids().index else ""
                              for b in sites["ba"].values.astype(str)]))
    carbon_rows, carbon_idx, carbon_src = carbon_intensity_profiles(times, sites["ba"].values, country,
                                                                   carbon or CarbonSpec())
    cfe_rows, cfe_idx, cfe_src = carbon_free_share_profiles(times, sites["ba"].values, country, carbon or CarbonSpec())
    station = _station_inputs(weather, used, times_mid, time_terms, dni_extra, pv)

    static = xr.Dataset(
        {"p_lat": ("site", lat), "p_lon": ("site", lon), "p_alt": ("site", elev),
         "p_station": ("site", st_local.astype(int)), "p_shift": ("site", shift.astype(int)),
         "p_roughness": ("site", roughness),
         "p_pue_min": ("site", pue_params[:, 0]), "p_pue_changeover": ("site", pue_params[:, 1]),
         "p_pue_slope": ("site", pue_params[:, 2]), "p_pue_max": ("site", pue_params[:, 3]),
         "p_carbon": ("site", carbon_idx), "p_cfe": ("site", cfe_idx)},
        coords={"site": sites["site"].values},
    ).chunk({"site": int(chunk_sites)})

    import dask.array as da

    chunks = (static.chunks["site"], (HOURS,))
    template = xr.Dataset(
        {v: (("site", "time"), da.empty((n, HOURS), chunks=chunks, dtype=float)) for v in OUTPUT_VARIABLES},
        coords={"site": sites["site"].values, "time": times})
    cube = xr.map_blocks(_energy_block, static, kwargs={
        "times": times, "times_mid": times_mid, "time_terms": time_terms, "dni_extra": dni_extra,
        "doy": doy, "station": station, "carbon": carbon_rows, "cfe": cfe_rows, "pv": pv, "wind": wind,
        "lapse_rate": float(lapse_rate)}, template=template)

    # ---- metadata
    table = _variables()
    for v in OUTPUT_VARIABLES:
        cube[v].attrs = {"units": table.loc[v, "units"], "long_name": table.loc[v, "long_name"]}
    cube["wind_speed"].attrs["height_m"] = float(wind.measurement_height_m)
    cube["temp_air"].attrs["note"] = "station temperature moved to the site elevation (lapse rate)"
    comp_site = station["has_components"][st_local]
    irr_src = np.where(comp_site, "weather file GHI, DNI, DHI (Perez transposition)",
                       "FALLBACK: the weather file has no DNI/DHI: site clear-sky GHI x the station's "
                       "clear-sky index, Erbs split").astype(str)
    if pv.clear_sky_only:
        irr_src[:] = "clear sky only (PVSpec.clear_sky_only: an upper bound)"
    cube["ghi"].attrs["note"] = ("the weather file's own GHI, DNI and DHI moved to the site's solar time; "
                                 "sites whose station has no DNI/DHI: clear-sky GHI x clear-sky index, Erbs "
                                 "split (coordinate irradiance_source says which)")
    mount_name = {"single_axis": "single-axis tracking", "fixed": "fixed tilt"}[pv.mount]
    system = (f"losses {pv.losses_percent:g} %, DC/AC {pv.dc_ac_ratio:g}, {pv.transposition} transposition, "
              f"tracker gcr {pv.gcr:g}, max angle {pv.max_angle_deg:g} deg, backtracking {pv.backtrack}")
    cube["solar_cf"].attrs.update(
        basis="AC output per kW DC nameplate", mount=pv.mount, dc_ac_ratio=float(pv.dc_ac_ratio),
        note=(f"AC output per kW of DC nameplate of the reference plant ({mount_name}, {system}); multiply "
              f"by the DC/AC ratio {pv.dc_ac_ratio:g} for AC per kW AC (solar_cf_fixed_ac, "
              "solar_cf_tracking_ac); at most 1 / DC-AC ratio"))
    for v, m in (("solar_cf_fixed_ac", "fixed tilt |lat| capped at "
                  f"{pv.max_tilt_deg:g} deg, equator-facing"), ("solar_cf_tracking_ac", "single-axis tracking")):
        cube[v].attrs.update(basis="AC output per kW AC (inverter rating)", mount=m,
                             dc_ac_ratio=float(pv.dc_ac_ratio), note=f"{m}; {system}")
    t = wind.turbine()
    curve = (f"{wind.turbine_type} ({t.nominal_power / 1e6:g} MW) at {t.hub_height:g} m, windpowerlib power "
             f"curve{' with density correction' if wind.density_correction else ''}; hub wind from 10 m with "
             f"anemometer roughness {wind.anemometer_roughness_length_m:g} m up to {wind.blending_height_m:g} m, "
             "site roughness from there down to the hub (coordinate roughness_length_m)")
    cube["wind_cf"].attrs.update(
        basis="net: after wake, availability and electrical losses", note=(
            f"{curve}; net = gross x (1 - {wind.wake_loss:g} wake) x (1 - {wind.availability_loss:g} "
            f"availability) x (1 - {wind.electrical_loss:g} electrical) = gross x {wind.net_factor:.4f}"))
    cube["wind_cf_gross"].attrs.update(basis="gross: free-stream turbine output, no losses", note=curve)
    coords = {c: sites[c] for c in sites.coords if c != "site" and sites[c].dims == ("site",)}
    wname = weather["name"].values.astype(str) if "name" in weather.coords else weather["station"].values
    zone_label = (weather["climate_zone"].values.astype(str)[st_idx] if "climate_zone" in weather.coords
                  else zone_station[st_local].astype(str))
    warn_msgs = np.full(n, "", dtype=object)
    far = st_dist > float(warn_station_km)
    # a climate boundary: the lapse-rate shift itself (at least 1 K, i.e. ~150 m of elevation) moves the
    # station's temperatures into another thermal zone at the site
    lapse_shift = np.abs(float(lapse_rate) * (elev - st_elev[st_idx]))
    crossed = (zone_site != zone_station[st_local]) & (lapse_shift >= 1.0)
    for i in np.flatnonzero(far | crossed | (st_match != "nearest")):
        why = []
        if far[i]:
            why.append(f"station {wname[st_idx[i]]} is {st_dist[i]:.0f} km away (> {warn_station_km:g} km)")
        if crossed[i]:
            why.append(f"at the site's elevation ({elev[i]:.0f} m) the station's temperatures fall in ASHRAE "
                       f"thermal zone {zone_site[i]}, not the station's {zone_station[st_local[i]]}")
        if st_match[i] != "nearest":
            why.append(f"weather_match {st_match[i]}")
        warn_msgs[i] = "; ".join(why)
    coords.update({
        "elevation_m": ("site", elev, {"units": "m", "long_name": "site elevation used"}),
        "elevation_source": ("site", elev_src),
        "weather_station": ("site", weather["station"].values.astype(str)[st_idx]),
        "weather_station_name": ("site", np.asarray(wname, str)[st_idx]),
        "weather_distance_km": ("site", np.round(st_dist, 1),
                                {"units": "km", "long_name": "distance to the weather station"}),
        "weather_match": ("site", st_match),
        "weather_shift_h": ("site", shift.astype(int),
                            {"units": "h", "long_name": "solar-time shift applied to the station series"}),
        "weather_climate_zone": ("site", np.asarray(zone_label, str),
                                 {"long_name": "ASHRAE 169 climate zone of the weather station"}),
        "weather_warning": ("site", warn_msgs.astype(str),
                            {"long_name": "why this site's weather is a stand-in ('' when it is not)"}),
        "irradiance_source": ("site", irr_src),
        "roughness_length_m": ("site", roughness, {"units": "m", "long_name": "site roughness length"}),
        "roughness_source": ("site", roughness_src),
        "surface_tilt_deg": ("site", tilt, {"units": "degree", "long_name": "fixed-mount PV tilt"}),
        "carbon_source": ("site", carbon_src),
        "carbon_free_share_source": ("site", cfe_src),
    })
    cube = cube.assign_coords(coords)
    sources = weather["source"].values.astype(str) if "source" in weather.coords else weather["station"].values
    attrs = {
        "pf_kind": "energy",
        "title": "energy cube: site x hourly typical year",
        "time_convention": f"hourly, hour-beginning, timezone-naive UTC; typical year labelled {int(year)}",
        "method": __doc__.split("Method\n------\n", 1)[1].split("\nThe method is", 1)[0].strip(),
        "weather_sources": ", ".join(sorted(set(map(str, sources[used])))),
        "carbon_note": ("US: 2022 month x UTC-hour mean of EIA-930-based average carbon intensity "
                        "(data/derived, own BA or proxy in carbon_source); Europe: annual 2023 country "
                        "value (data/facts/grid_carbon_intensity.csv), constant over the year; "
                        "grid_carbon_free_share: nuclear + hydro + solar + wind share of generation, US 2022 "
                        "EIA-930 month x UTC-hour (data/derived/carbon_fuel_mix_month_hour.csv, own BA or proxy), "
                        "Europe annual 2023 country share; NaN where unknown (carbon_free_share_source)"),
        "pv_spec": str(asdict(pv)), "wind_spec": str(asdict(wind)),
        "pue_spec": str({t_: asdict(_pue_for(t_, pue)) for t_ in sorted(set(tiers))}),
        "max_station_km": float(max_station_km), "warn_station_km": float(warn_station_km),
    }
    if "licence" in weather.coords:
        lic = weather["licence"].values.astype(str)[used]
        attrs["weather_licences"] = " | ".join(sorted(set(lic)))
    if (~comp_site).any():
        attrs["irradiance_fallback"] = (
            f"{int((~comp_site).sum())} of {n} sites use stations without DNI/DHI: their irradiance is the "
            "clear-sky x clear-sky-index fallback (coordinate irradiance_source)")
    flagged = np.flatnonzero(warn_msgs != "")
    if flagged.size:
        listed = "; ".join(f"{site_ids[i]}: {warn_msgs[i]}" for i in flagged[:10])
        more = f" (and {flagged.size - 10} more; coordinate weather_warning)" if flagged.size > 10 else ""
        msg = (f"{flagged.size} of {n} sites have a distant or out-of-climate weather station, so their weather "
               f"is a stand-in: {listed}{more}. For a study, supply typical years near them "
               "(read_weather, or fetch_site_typical_years with internet access)")
        attrs["weather_warning"] = msg
        warnings.warn(msg, WeatherStationWarning, stacklevel=2)
    src = sites.attrs.get("source")
    attrs.update(provenance(weather_sha256=", ".join(sorted(set(map(str, weather["source_sha256"].values[used]))))
                            if "source_sha256" in weather.coords else None,
                            sites_source=Path(str(src)).name if src else None,
                            sites_sha256=sites.attrs.get("source_sha256")))
    cube.attrs = attrs
    return validate(cube, "energy", values=False)


def _pue_for(tier: str, pue) -> PUESpec:
    if isinstance(pue, PUESpec):
        return pue
    if isinstance(pue, Mapping) and tier in pue:
        return pue[tier]
    if tier not in PUE_BY_TIER:
        raise ValidationError([Problem(f"unknown tier {tier!r} for the PUE defaults; expected one of "
                                       f"{', '.join(PUE_BY_TIER)} or pass pue=PUESpec(...)", variable="tier")],
                              what="energy cube inputs")
    return PUE_BY_TIER[tier]


_SUMMARY = {"solar_cf": "solar_cf_mean", "wind_cf": "wind_cf_mean", "pue": "pue_mean",
            "carbon_intensity": "carbon_intensity_mean", "temp_air": "temp_air_mean"}


def energy_cube_summary(ds: xr.Dataset) -> xr.Dataset:
    """Annual means per site for the Overview map (lazy if the cube is).

    Returns
    -------
    xarray.Dataset
        On ``site``: ``solar_cf_mean``, ``wind_cf_mean``, ``pue_mean`` [1],
        ``carbon_intensity_mean`` [gCO2 kWh-1], ``temp_air_mean`` [degC], with
        the cube's site coordinates.
    """
    missing = [v for v in _SUMMARY if v not in ds.data_vars]
    if missing:
        raise ValidationError([Problem("variable missing from the energy cube", variable=v) for v in missing],
                              what="energy cube")
    table = _variables()
    out = xr.Dataset(coords={c: ds[c] for c in ds.coords if ds[c].dims == ("site",)})
    for v, name in _SUMMARY.items():
        da_ = ds[v].mean("time")
        units = table.loc[name, "units"] if name in table.index else ds[v].attrs["units"]
        long_name = (table.loc[name, "long_name"] if name in table.index
                     else f"annual mean {ds[v].attrs.get('long_name', v)}")
        out[name] = da_.assign_attrs(units=units, long_name=long_name)
    out.attrs = {"title": "energy cube annual means", **provenance(source_created=ds.attrs.get("created"))}
    return out


def site_weather(sites: xr.Dataset, weather: xr.Dataset | None = None, **kwargs) -> xr.Dataset:
    """Typical-year weather at each site: ``site`` x ``time`` (UTC, hour-beginning).

    The weather part of :func:`build_energy_cube` — ``ghi``, ``dni``, ``dhi``
    [W m-2], ``temp_air`` [degC], ``wind_speed`` [m s-1] at 10 m — for sites
    rather than stations: each site takes its matched station's clear-sky
    index, temperature (lapse-rate corrected) and wind, shifted to its solar
    time (see :func:`build_energy_cube` for the method).  Lazy like the cube;
    ``attrs['pf_kind'] = 'weather'``.
    """
    cube = build_energy_cube(sites, weather, **kwargs)
    keep = ["ghi", "dni", "dhi", "temp_air", "wind_speed"]
    out = cube[keep]
    out.attrs = {**cube.attrs, "pf_kind": "weather", "title": "typical-year weather at the sites"}
    return out
