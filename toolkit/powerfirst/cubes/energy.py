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
    The nearest station of ``weather`` (haversine distance).  When it is
    farther than ``max_station_km`` (2,000 km) the station with the closest
    absolute latitude in the same hemisphere is used instead, a *latitude
    analogue* (``weather_match``; a warning is written in ``attrs``).  The
    station series are shifted by the difference in solar time,
    ``round((lon_site - lon_station) / 15)`` hours, so that diurnal cycles line
    up (by half a year more for an analogue from the other hemisphere), and
    the temperature is corrected for elevation with the standard lapse rate
    −6.5 K km-1 (site elevation from ``elevation_m``, else pvlib's altitude map).
Solar
    Clear-sky irradiance at the site: Ineichen-Perez with pvlib's Linke
    turbidity climatology and the site altitude
    (:meth:`pvlib.location.Location.get_clearsky`), at the middle of each hour.
    The station's clear-sky index (station GHI / station clear-sky GHI,
    clipped to [0, 1.2], 0 while the clear-sky GHI is below 10 W m-2) carries
    the cloudiness to the site: ``ghi = index × ghi_clear``.  Erbs splits GHI
    into DNI and DHI.  A reference PV system (fixed, tilt = ``|lat|`` capped at
    40°, facing the equator; Hay-Davies transposition; physical IAM on the
    beam; SAPM cell temperature, open rack glass/glass; PVWatts DC with
    γ = −0.0037 K-1; 14 % system losses; PVWatts inverter with DC/AC 1.2)
    gives ``solar_cf``, AC output per unit of DC nameplate (at most 1/1.2).
Wind
    The 10 m wind speed is extrapolated to hub height with the logarithmic
    profile (roughness length 0.1 m); air density from the temperature at hub
    height and the barometric pressure at the site elevation (ideal gas); the
    power curve of the Vestas V126-3.45 MW at 117 m hub height from
    windpowerlib's bundled turbine library (read offline) with the density
    correction; ``wind_cf`` is power over nominal power.
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

The method is a screening approximation: one typical year, a few stations
standing in for many sites, no terrain, shading, snow or wakes.  Supply
weather files near the sites for a real study.
"""

from __future__ import annotations

import calendar
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
    PUESpec,
    PVSpec,
    WindSpec,
    _spa_time_terms,
    clear_sky_index,
    clearsky_ineichen,
    haversine_km,
    lapse_rate_temperature,
    linke_turbidity_daily,
    match_stations,
    pue_from_temperature,
    pv_capacity_factor,
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
OUTPUT_VARIABLES = ("ghi", "dni", "dhi", "ghi_clear", "temp_air", "wind_speed", "solar_cf", "wind_cf",
                    "pue", "carbon_intensity", "grid_carbon_free_share")


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
    index, source = [], []
    for b, c in zip(map(str, np.asarray(ba, str)), map(str, np.asarray(country, str)), strict=True):
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
            use = b if b in set(mix["ba"]) else (proxies.at[b, "proxy_ba"] if b in proxies.index else None)
            key, label = f"ba:{use}", None
            if use is not None and use in set(mix["ba"]):
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
    return np.stack(rows), np.asarray(index, dtype=int), np.asarray(source, dtype=str)


# =========================================================================== the cube


def _shift_rows(arr: np.ndarray, shift: np.ndarray) -> np.ndarray:
    """``out[i, j] = arr[i, (j + shift[i]) % T]`` (circular shift per row)."""
    T = arr.shape[-1]
    idx = (np.arange(T)[None, :] + np.asarray(shift)[:, None]) % T
    return np.take_along_axis(arr, idx, axis=1)


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
    k = np.ones((lat.size, len(times))) if pv.clear_sky_only else _shift_rows(station["k"][st], shift)
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
    ghi = k * cs["ghi"]
    split = pvlib.irradiance.erbs(ghi, sp["zenith"], doy)
    dni = np.nan_to_num(np.asarray(split["dni"], float))
    dhi = np.nan_to_num(np.asarray(split["dhi"], float))
    solar_cf = pv_capacity_factor(ghi, dni, dhi, sp["apparent_zenith"], sp["azimuth"], temp, wind10,
                                  dni_extra[None, :], static["p_tilt"].values[:, None],
                                  static["p_azimuth"].values[:, None], pv)
    wind_cf = wind_capacity_factor(wind10, temp, pressure, wind)
    pue = pue_from_temperature(temp, static["p_pue_min"].values[:, None],
                               static["p_pue_changeover"].values[:, None],
                               static["p_pue_slope"].values[:, None], static["p_pue_max"].values[:, None])
    ci = carbon[static["p_carbon"].values]
    data = {"ghi": ghi, "dni": dni, "dhi": dhi, "ghi_clear": cs["ghi"], "temp_air": temp,
            "wind_speed": wind10, "solar_cf": solar_cf, "wind_cf": wind_cf, "pue": pue,
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


def _station_inputs(weather: xr.Dataset, used: np.ndarray, times_mid, time_terms, dni_extra, pv: PVSpec):
    """Clear-sky index and weather of the stations in use, as plain arrays (eager; a few stations)."""
    wx = weather.isel(station=used)
    lat, lon, elev = (wx[c].values.astype(float) for c in ("lat", "lon", "elevation_m"))
    sp = solar_position(times_mid, lat, lon, elev, time_terms=time_terms)
    cs = clearsky_ineichen(times_mid, lat, lon, elev, solar_pos=sp, dni_extra=dni_extra)
    k = clear_sky_index(wx["ghi"].values, cs["ghi"], max_index=pv.clearsky_index_max,
                        min_clear=pv.ghi_clear_min_wm2)
    pressure = wx["pressure"].values.astype(float) if "pressure" in wx else np.full(k.shape, np.nan)
    return {"k": k, "temp_air": wx["temp_air"].values.astype(float),
            "wind_speed": wx["wind_speed"].values.astype(float), "pressure": pressure,
            "elevation_m": elev}


def _site_elevation(sites: xr.Dataset) -> tuple[np.ndarray, np.ndarray]:
    from pvlib.location import lookup_altitude

    n = sites.sizes["site"]
    elev = np.full(n, np.nan)
    if "elevation_m" in sites.variables:
        elev = np.asarray(sites["elevation_m"].values, dtype=float).copy()
    src = np.where(np.isfinite(elev), "sites", "pvlib altitude map").astype(str)
    lat, lon = sites["lat"].values.astype(float), sites["lon"].values.astype(float)
    for i in np.flatnonzero(~np.isfinite(elev)):
        elev[i] = float(lookup_altitude(lat[i], lon[i]))
    return elev, src


def build_energy_cube(sites: xr.Dataset, weather: xr.Dataset | None = None, *, year: int = 2023,
                      chunk_sites: int = 32, pv: PVSpec | None = None, wind: WindSpec | None = None,
                      pue: PUESpec | Mapping[str, PUESpec] | None = None, carbon: CarbonSpec | None = None,
                      max_station_km: float = 2000.0, lapse_rate: float = LAPSE_RATE_K_PER_M) -> xr.Dataset:
    """Build the lazy energy cube of ``sites``: site × hourly time over one typical year.

    Parameters
    ----------
    sites : xarray.Dataset
        Site Dataset (:func:`powerfirst.io.sites.read_sites`): dimension
        ``site`` with coordinates ``lat``, ``lon``, ``ba`` (and ``country``,
        ``tier``, ``elevation_m`` when known).
    weather : xarray.Dataset, optional
        Typical-year weather on ``station`` × ``time``
        (:func:`powerfirst.io.weather.read_weather`); held in memory.
        Default :func:`powerfirst.io.weather.default_stations`.
    year : int
        Non-leap reference year of the time axis.
    chunk_sites : int
        Sites per Dask chunk.
    pv, wind : PVSpec, WindSpec, optional
        Reference PV system and wind turbine.
    pue : PUESpec or mapping tier -> PUESpec, optional
        PUE parameters for all sites, or per tier (missing tiers use :data:`PUE_BY_TIER`).
    carbon : CarbonSpec, optional
        Carbon-intensity tables.
    max_station_km : float
        Farther than this from every station, a site uses a latitude analogue [km].
    lapse_rate : float
        Temperature lapse rate [K m-1].

    Returns
    -------
    xarray.Dataset
        Dask-backed, chunked along ``site`` (``time`` whole), kind ``energy``:
        ``ghi``, ``dni``, ``dhi``, ``ghi_clear`` [W m-2], ``temp_air`` [degC],
        ``wind_speed`` [m s-1], ``solar_cf``, ``wind_cf``, ``pue`` [1],
        ``carbon_intensity`` [gCO2 kWh-1], ``grid_carbon_free_share`` [1];
        site coordinates of ``sites`` plus ``elevation_m``,
        ``weather_station``, ``weather_distance_km``, ``weather_match``,
        ``weather_shift_h``, ``carbon_source``, ``carbon_free_share_source``.  Nothing is
        computed until the caller asks (``.compute()``, ``.to_zarr()``).

    Raises
    ------
    ValidationError
        Missing site coordinates, unusable weather, a grid without carbon data.
    """
    import pvlib

    pv, wind = pv or PVSpec(), wind or WindSpec()
    if calendar.isleap(int(year)):
        raise ValueError(f"year={year} is a leap year; the typical year has {HOURS} hours (use e.g. 2023)")
    if int(chunk_sites) < 1:
        raise ValueError(f"chunk_sites must be >= 1, got {chunk_sites}")
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
    lat, lon = sites["lat"].values.astype(float), sites["lon"].values.astype(float)
    elev, elev_src = _site_elevation(sites)
    st_lat, st_lon = weather["lat"].values.astype(float), weather["lon"].values.astype(float)
    st_idx, st_dist, st_match = match_stations(lat, lon, st_lat, st_lon, max_station_km)
    shift = solar_time_shift_hours(lon, st_lon[st_idx])
    shift = shift + np.where(st_match == "latitude-analogue-other-hemisphere", HOURS // 2, 0)
    used, st_local = np.unique(st_idx, return_inverse=True)
    tilt = np.minimum(np.abs(lat), pv.max_tilt_deg)
    azimuth = (np.full(n, float(pv.surface_azimuth_deg)) if pv.surface_azimuth_deg is not None
               else np.where(lat >= 0, 180.0, 0.0))
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
         "p_tilt": ("site", tilt), "p_azimuth": ("site", azimuth),
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
    cube["ghi"].attrs["note"] = "site clear-sky GHI times the station's clear-sky index"
    cube["solar_cf"].attrs["note"] = "AC output per unit DC nameplate of the reference system (PVSpec)"
    t = wind.turbine()
    cube["wind_cf"].attrs["note"] = (f"{wind.turbine_type} ({t.nominal_power / 1e6:g} MW) at "
                                     f"{t.hub_height:g} m, windpowerlib power curve"
                                     f"{' with density correction' if wind.density_correction else ''}")
    coords = {c: sites[c] for c in sites.coords if c != "site" and sites[c].dims == ("site",)}
    wname = weather["name"].values.astype(str) if "name" in weather.coords else weather["station"].values
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
        "surface_tilt_deg": ("site", tilt, {"units": "degree", "long_name": "PV tilt"}),
        "carbon_source": ("site", carbon_src),
        "carbon_free_share_source": ("site", cfe_src),
    })
    cube = cube.assign_coords(coords)
    analogues = np.flatnonzero(st_match != "nearest")
    sources = weather["source"].values.astype(str) if "source" in weather.coords else weather["station"].values
    attrs = {
        "pf_kind": "energy",
        "title": "energy cube: site x hourly typical year",
        "time_convention": f"hourly, hour-beginning, timezone-naive UTC; typical year labelled {int(year)}",
        "method": __doc__.split("Method\n------\n", 1)[1].split("\nThe method is", 1)[0].strip(),
        "weather_sources": ", ".join(sorted(set(map(str, sources)))),
        "carbon_note": ("US: 2022 month x UTC-hour mean of EIA-930-based average carbon intensity "
                        "(data/derived, own BA or proxy in carbon_source); Europe: annual 2023 country "
                        "value (data/facts/grid_carbon_intensity.csv), constant over the year; "
                        "grid_carbon_free_share: nuclear + hydro + solar + wind share of generation, US 2022 "
                        "EIA-930 month x UTC-hour (data/derived/carbon_fuel_mix_month_hour.csv, own BA or proxy), "
                        "Europe annual 2023 country share; NaN where unknown (carbon_free_share_source)"),
        "pv_spec": str(asdict(pv)), "wind_spec": str(asdict(wind)),
        "pue_spec": str({t_: asdict(_pue_for(t_, pue)) for t_ in sorted(set(tiers))}),
        "max_station_km": float(max_station_km),
    }
    if analogues.size:
        attrs["warning"] = (
            f"{analogues.size} of {n} sites are farther than {max_station_km:g} km from every weather "
            f"station and use a latitude-analogue station (coordinate weather_match), e.g. "
            f"{', '.join(map(str, sites['site'].values[analogues][:5]))}; their weather is a stand-in, "
            "not local: supply typical-year files near them (read_weather) for real studies")
    src = sites.attrs.get("source")
    attrs.update(provenance(weather_sha256=", ".join(map(str, weather["source_sha256"].values))
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
