"""Derive the per-station energy table of the siting screen (``data/derived/weather/station_energy.csv``).

The siting screen gives each of many candidates the values of its nearest
suitable typical-year station instead of building the hourly energy cube per
candidate.  This script builds, once, the energy cube
(:func:`powerfirst.cubes.energy.build_energy_cube`, default ``PVSpec``,
``WindSpec`` and :data:`~powerfirst.cubes.energy.PUE_BY_TIER`) for one site
placed on **every** station of :func:`powerfirst.io.weather.default_stations`
(same latitude, longitude and elevation, so the cube moves nothing: distance
0 km, no solar-time shift, no lapse-rate correction) and reduces each site's
8,760 hours to one row:

* ``solar_cf_fixed_ac``, ``solar_cf_tracking_ac`` — annual mean AC output per
  kW AC of the fixed-tilt and single-axis reference plants [1];
* ``wind_cf_net`` — annual mean of the cube's ``wind_cf`` (net of losses) [1];
* ``mean_temp_c``, ``p99_temp_c`` — mean and 99th percentile (numpy's linear
  interpolation) of the hourly dry-bulb temperature [degC];
* ``cooling_degree_hours_18c`` — sum over the hours of max(T - 18 degC, 0) x 1 h [K h];
* ``pue_annual_<tier>`` — energy-weighted annual PUE, sum_h PUE_h E_IT,h / sum_h E_IT,h,
  at a flat IT load (so the mean of the hourly PUE) [1]; ``pue_peak_<tier>`` — the
  highest hourly PUE [1]; tiers ``core`` (central training campus), ``regional``, ``edge``;
* ``annual_ghi_kwh_m2`` — the sum of the hourly GHI [kWh m-2 a-1].

The cube takes the tier per site (site attribute ``tier``) and applies
:func:`~powerfirst.cubes.energy.pue_from_temperature` with that tier's
parameters to the site's hourly temperature.  It is built once, with tier
``regional``; the other tiers apply the same function with their own
:data:`PUE_BY_TIER` parameters to the same temperatures, and the script checks
that this reproduces the cube's own ``pue`` for ``regional`` exactly.

A site's ``country`` and ``ba`` choose only its carbon-intensity profile,
which this table does not use: US stations get PJM, European stations their
bidding zone (``grid_region`` when it is a code of ``schema/grids.csv``, else
the first zone of their country; Luxembourg's DE-LU is filed under DE).

Run from the repository root (deterministic: it regenerates the CSV byte for byte)::

    python data/derive_station_energy.py
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from powerfirst.cubes.energy import (
    PUE_BY_TIER,
    WeatherStationWarning,
    build_energy_cube,
    pue_from_temperature,
)
from powerfirst.errors import Problem, ValidationError
from powerfirst.io.sites import sites_from_frame
from powerfirst.io.weather import default_stations
from powerfirst.schema.tables import grids as grid_table

OUT = Path(__file__).resolve().parent / "derived" / "weather" / "station_energy.csv"

#: the tiers of :data:`PUE_BY_TIER`, in column order
TIERS = ("core", "regional", "edge")
#: the tier the cube is built with (its ``pue`` is checked against the recomputation)
BUILD_TIER = "regional"
#: temperature threshold of the cooling degree hours [degC]
CDH_BASE_C = 18.0
#: percentile of the hourly dry bulb reported as ``p99_temp_c`` [%]
TEMP_PERCENTILE = 99.0

#: ISO 3166-1 alpha-3 (the stations' ``country``) -> alpha-2 (the site schema's ``country``)
ISO3_TO_ISO2 = {"AUT": "AT", "CHE": "CH", "DEU": "DE", "DNK": "DK", "ESP": "ES", "FRA": "FR", "GBR": "GB",
                "GRC": "GR", "ITA": "IT", "LUX": "LU", "NOR": "NO", "POL": "PL", "PRT": "PT", "SWE": "SE",
                "USA": "US"}
#: a US balancing authority with a carbon profile: the carbon columns are not used here
US_GRID = "PJM"

COLUMNS = ["station", "name", "country", "lat", "lon", "elevation_m", "climate_zone",
           "solar_cf_fixed_ac", "solar_cf_tracking_ac", "wind_cf_net", "mean_temp_c", "p99_temp_c",
           "cooling_degree_hours_18c", *(f"pue_annual_{t}" for t in TIERS), *(f"pue_peak_{t}" for t in TIERS),
           "annual_ghi_kwh_m2"]
#: decimals kept per column (4 for the fractions and PUE; the others at the resolution their use needs)
DECIMALS = {"lat": 4, "lon": 4, "elevation_m": 1, "solar_cf_fixed_ac": 4, "solar_cf_tracking_ac": 4,
            "wind_cf_net": 4, "mean_temp_c": 2, "p99_temp_c": 2, "cooling_degree_hours_18c": 0,
            **{f"pue_annual_{t}": 4 for t in TIERS}, **{f"pue_peak_{t}": 4 for t in TIERS},
            "annual_ghi_kwh_m2": 1}
FRACTION_COLUMNS = ["solar_cf_fixed_ac", "solar_cf_tracking_ac", "wind_cf_net"]
PUE_COLUMNS = [f"pue_{k}_{t}" for k in ("annual", "peak") for t in TIERS]
_STATION_COORDS = ("name", "country", "climate_zone", "lat", "lon", "elevation_m")
_WHAT = "station energy table"


def _site_grid(country2: str, grid_region: str) -> tuple[str, str]:
    """(country, ba) of the site on a station: they select only its carbon profile."""
    if country2 == "US":
        return "US", US_GRID
    table = grid_table()
    zones = table[table["kind"] == "bidding_zone"]
    if grid_region in zones.index:
        return str(zones.at[grid_region, "country"]), grid_region
    own = zones.index[zones["country"] == country2]
    if len(own):
        return country2, str(own[0])
    raise ValidationError([Problem(f"no bidding zone of country {country2!r} in schema/grids.csv",
                                   variable="country")], what=_WHAT)


def station_sites(weather: xr.Dataset, stations: Sequence[str], tier: str = BUILD_TIER) -> xr.Dataset:
    """The site Dataset with one site on each station (same lat, lon and elevation).

    Parameters
    ----------
    weather : xarray.Dataset
        Typical years on ``station`` x ``time`` with coordinates ``name``, ``country``
        (ISO 3166-1 alpha-3), ``lat`` [degrees_north], ``lon`` [degrees_east], ``elevation_m`` [m].
    stations : sequence of str
        Station ids; each becomes the site id.
    tier : str
        Site tier (``core``, ``regional``, ``edge``): selects the cube's PUE parameters.

    Returns
    -------
    xarray.Dataset
        Validated sites (:func:`powerfirst.io.sites.sites_from_frame`), target 100 MW each.

    Raises
    ------
    ValidationError
        A station whose country is not in :data:`ISO3_TO_ISO2`.
    """
    wx = weather.sel(station=list(stations))
    problems, recs = [], []
    grid_region = (wx["grid_region"].values.astype(str) if "grid_region" in wx.coords
                   else np.full(wx.sizes["station"], ""))
    for i, s in enumerate(map(str, wx["station"].values)):
        c3 = str(wx["country"].values[i])
        if c3 not in ISO3_TO_ISO2:
            problems.append(Problem(f"station country {c3!r} not known; expected an ISO 3166-1 alpha-3 code of "
                                    f"{', '.join(ISO3_TO_ISO2)} (add it to ISO3_TO_ISO2)",
                                    site=s, variable="country"))
            continue
        country, ba = _site_grid(ISO3_TO_ISO2[c3], grid_region[i])
        recs.append({"site_id": s, "name": str(wx["name"].values[i]), "lat": float(wx["lat"].values[i]),
                     "lon": float(wx["lon"].values[i]), "country": country, "ba": ba, "target_mw": 100.0,
                     "tier": tier, "elevation_m": float(wx["elevation_m"].values[i])})
    if problems:
        raise ValidationError(problems, what=_WHAT)
    return sites_from_frame(pd.DataFrame(recs, dtype=object), file="station sites")


def _check_inputs(weather: xr.Dataset, stations) -> list[str]:
    if not isinstance(weather, xr.Dataset) or "station" not in weather.dims:
        raise ValidationError([Problem("weather must be a Dataset on dimension 'station' (default_stations)")],
                              what=_WHAT)
    problems = [Problem("station coordinate missing", variable=c) for c in _STATION_COORDS
                if c not in weather.coords]
    if problems:
        raise ValidationError(problems, what=_WHAT)
    known = list(map(str, weather["station"].values))
    ids = known if stations is None else [str(s) for s in stations]
    if not ids:
        raise ValidationError([Problem("no stations given; expected station ids of the weather Dataset")],
                              what=_WHAT)
    problems = [Problem(f"station {s!r} not in the weather Dataset ({len(known)} stations)", site=s)
                for s in ids if s not in set(known)]
    problems += [Problem(f"station {s!r} given more than once", site=s)
                 for s in dict.fromkeys(s for s in ids if ids.count(s) > 1)]
    if problems:
        raise ValidationError(problems, what=_WHAT)
    return ids


def _check_rows(df: pd.DataFrame) -> None:
    """Plausibility of the reduced rows: finite, CF in [0, 1), PUE >= 1."""
    problems = []
    for i, r in df.iterrows():
        for c in FRACTION_COLUMNS + PUE_COLUMNS + ["mean_temp_c", "p99_temp_c", "cooling_degree_hours_18c",
                                                   "annual_ghi_kwh_m2"]:
            v = float(r[c])
            if not np.isfinite(v):
                problems.append(Problem(f"not finite: {v}", row=i + 1, column=c, site=r["station"]))
            elif c in FRACTION_COLUMNS and not 0.0 <= v < 1.0:
                problems.append(Problem(f"capacity factor {v} outside [0, 1)", row=i + 1, column=c,
                                        site=r["station"]))
            elif c in PUE_COLUMNS and v < 1.0:
                problems.append(Problem(f"PUE {v} below 1", row=i + 1, column=c, site=r["station"]))
    if problems:
        raise ValidationError(problems, what=_WHAT)


def station_energy(stations: Sequence[str] | None = None, *, weather: xr.Dataset | None = None,
                   chunk_sites: int = 32) -> pd.DataFrame:
    """One row of annual energy and cooling figures per station (the columns of :data:`COLUMNS`).

    Parameters
    ----------
    stations : sequence of str, optional
        Station ids; default every station of ``weather``.
    weather : xarray.Dataset, optional
        Typical years on ``station`` x ``time``; default
        :func:`powerfirst.io.weather.default_stations` (159 stations).  The
        cube matches each site among all stations of ``weather``.
    chunk_sites : int
        Sites per Dask chunk of the cube.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`COLUMNS`, rounded as :data:`DECIMALS`; units: capacity
        factors and PUE [1], temperatures [degC], cooling degree hours [K h],
        GHI [kWh m-2 a-1], lat/lon [degrees], elevation [m].

    Raises
    ------
    ValidationError
        Unknown or repeated station ids, a weather Dataset without the station
        coordinates, a site not matched to its own station, or an implausible
        result (NaN, CF outside [0, 1), PUE below 1).
    """
    weather = default_stations() if weather is None else weather
    ids = _check_inputs(weather, stations)
    sites = station_sites(weather, ids, BUILD_TIER)
    with warnings.catch_warnings():
        # a site on its own station is never far from it; other warnings (none expected) would
        # be about the station's climate zone, which a site at the same elevation cannot cross
        warnings.simplefilter("ignore", WeatherStationWarning)
        cube = build_energy_cube(sites, weather, chunk_sites=chunk_sites)
    cube = cube[["ghi", "temp_air", "solar_cf_fixed_ac", "solar_cf_tracking_ac", "wind_cf", "pue"]].compute()

    # every site must take its own station's weather, unmoved
    got = cube["weather_station"].values.astype(str)
    problems = [Problem(f"matched to station {g!r} at {d} km, shift {h} h; expected its own station at 0 km",
                        site=s)
                for s, g, d, h in zip(ids, got, cube["weather_distance_km"].values, cube["weather_shift_h"].values,
                                      strict=True) if g != s or d != 0 or h != 0]
    if problems:
        raise ValidationError(problems, what=_WHAT)
    assert (cube["weather_distance_km"].values == 0).all()

    temp = cube["temp_air"].values  # (site, time) [degC]
    pue = {t: pue_from_temperature(temp, PUE_BY_TIER[t].pue_min, PUE_BY_TIER[t].changeover_degc,
                                   PUE_BY_TIER[t].slope_per_k, PUE_BY_TIER[t].pue_max) for t in TIERS}
    if not np.array_equal(pue[BUILD_TIER], cube["pue"].values):
        raise ValidationError([Problem(f"PUE recomputed for tier {BUILD_TIER!r} differs from the cube's "
                                       f"(max {np.abs(pue[BUILD_TIER] - cube['pue'].values).max():.3g})",
                                       variable="pue")], what=_WHAT)
    wx = weather.sel(station=ids)
    df = pd.DataFrame({
        "station": ids,
        "name": wx["name"].values.astype(str),
        "country": wx["country"].values.astype(str),
        "lat": wx["lat"].values.astype(float),
        "lon": wx["lon"].values.astype(float),
        "elevation_m": wx["elevation_m"].values.astype(float),
        "climate_zone": wx["climate_zone"].values.astype(str),
        "solar_cf_fixed_ac": cube["solar_cf_fixed_ac"].values.mean(axis=1),
        "solar_cf_tracking_ac": cube["solar_cf_tracking_ac"].values.mean(axis=1),
        "wind_cf_net": cube["wind_cf"].values.mean(axis=1),
        "mean_temp_c": temp.mean(axis=1),
        "p99_temp_c": np.percentile(temp, TEMP_PERCENTILE, axis=1),
        "cooling_degree_hours_18c": np.maximum(temp - CDH_BASE_C, 0.0).sum(axis=1) * 1.0,  # x 1 h
        **{f"pue_annual_{t}": pue[t].mean(axis=1) for t in TIERS},  # flat IT load: energy-weighted = mean
        **{f"pue_peak_{t}": pue[t].max(axis=1) for t in TIERS},
        "annual_ghi_kwh_m2": cube["ghi"].values.sum(axis=1) / 1000.0,  # W m-2 x 1 h -> kWh m-2
    }, columns=COLUMNS)
    for c, d in DECIMALS.items():
        df[c] = df[c].round(d)
    df["cooling_degree_hours_18c"] = df["cooling_degree_hours_18c"].astype(int)
    _check_rows(df)
    return df


def main() -> None:
    t0 = time.perf_counter()
    df = station_energy()
    df.to_csv(OUT, index=False, lineterminator="\n")
    print(df.to_string(index=False))
    print(f"{len(df)} stations -> {OUT.name} in {time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
