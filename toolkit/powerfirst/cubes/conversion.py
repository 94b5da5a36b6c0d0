"""Weather-to-energy conversion: the pure functions behind the energy cube.

Array in, array out, units in every docstring (pvlib style); no files, no
Dask, no xarray.  :mod:`powerfirst.cubes.energy` routes them per site chunk
(atlite's two layers: ``convert_*`` physics here, the cube gateway there).

* matching sites to weather stations: :func:`haversine_km`,
  :func:`match_stations`, :func:`solar_time_shift_hours`,
  :func:`lapse_rate_temperature`;
* solar: :func:`solar_position` (NREL SPA, vectorised over sites),
  :func:`linke_turbidity_daily`, :func:`clearsky_ineichen`,
  :func:`clear_sky_index`, :func:`pv_capacity_factor` (:class:`PVSpec`);
* wind: :func:`turbine_power`, :func:`wind_capacity_factor` (:class:`WindSpec`);
* cooling: :func:`pue_from_temperature` (:class:`PUESpec`, :data:`PUE_BY_TIER`).
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = [
    "PUESpec",
    "PUE_BY_TIER",
    "PVSpec",
    "WindSpec",
    "clear_sky_index",
    "clearsky_ineichen",
    "ROUGHNESS_BY_LAND_COVER",
    "STATION_WARN_KM",
    "ashrae_thermal_zone",
    "degree_days",
    "haversine_km",
    "hub_height_wind_speed",
    "lapse_rate_temperature",
    "linke_turbidity_daily",
    "match_stations",
    "pue_from_temperature",
    "pv_capacity_factor",
    "pv_orientation",
    "pv_output",
    "solar_position",
    "solar_time_shift_hours",
    "turbine_power",
    "wind_capacity_factor",
]

EARTH_RADIUS_KM = 6371.0088
LAPSE_RATE_K_PER_M = -6.5e-3


# =========================================================================== parameters


@dataclass(frozen=True)
class PVSpec:
    """The reference PV plant: mount, transposition, temperature, losses, inverter.

    The defaults describe a utility-scale plant as NREL's ATB and PVWatts do:
    single-axis trackers with backtracking (the ATB's representative
    utility-PV system since 2020) at a DC/AC inverter loading ratio of 1.34
    (ATB), PVWatts' 14.08 % DC losses, Perez transposition of the weather
    file's own GHI, DNI and DHI.

    Attributes
    ----------
    mount : {'single_axis', 'fixed'}
        The mount of ``solar_cf`` (both mounts are always computed:
        ``solar_cf_fixed_ac``, ``solar_cf_tracking_ac``).
    max_tilt_deg : float
        Fixed mount: tilt = ``|latitude|`` capped at this value [degrees].
    surface_azimuth_deg : float or None
        Fixed mount azimuth [degrees east of north]; None faces the equator (180 north, 0 south).
    axis_azimuth_deg : float or None
        Tracker axis azimuth [degrees]; None: north-south (180 in the north, 0 in the south).
    max_angle_deg : float
        Tracker rotation limit [degrees] (±60 for current trackers; PVWatts uses ±45).
    gcr : float
        Ground coverage ratio of the tracker rows [1] (backtracking geometry).
    backtrack : bool
        Backtracking (rows rotate back to avoid shading each other at low sun).
    albedo : float
        Ground reflectance [1].
    transposition : str
        Sky-diffuse model of :func:`pvlib.irradiance.get_total_irradiance`
        (``'perez'``, ``'haydavies'`` or ``'isotropic'``).
    iam : bool
        Apply the physical incidence-angle modifier (:func:`pvlib.iam.physical`) to the beam.
    temperature_model : str
        SAPM parameter set of :data:`pvlib.temperature.TEMPERATURE_MODEL_PARAMETERS`.
    gamma_pdc_per_k : float
        Temperature coefficient of DC power [K-1].
    losses_percent : float
        DC system losses [%]: :func:`pvlib.pvsystem.pvwatts_losses` defaults (soiling 2, shading 3,
        snow 0, mismatch 2, wiring 2, connections 0.5, light-induced degradation 1.5, nameplate 1,
        age 0, availability 3) combine to 14.08 %.
    dc_ac_ratio : float
        Inverter loading ratio, DC nameplate over inverter AC rating [1].
    eta_inv_nom, eta_inv_ref : float
        Nominal and reference inverter efficiency of PVWatts [1].
    clearsky_index_max, ghi_clear_min_wm2 : float
        Fallback only (weather without DNI/DHI): upper clip of the station clear-sky index [1] and
        the clear-sky GHI [W m-2] below which the index is 0.
    clear_sky_only : bool
        Ignore the weather's irradiance and use clear sky everywhere (an upper bound).
    """

    mount: str = "single_axis"
    max_tilt_deg: float = 40.0
    surface_azimuth_deg: float | None = None
    axis_azimuth_deg: float | None = None
    max_angle_deg: float = 60.0
    gcr: float = 0.35
    backtrack: bool = True
    albedo: float = 0.2
    transposition: str = "perez"
    iam: bool = True
    temperature_model: str = "open_rack_glass_glass"
    gamma_pdc_per_k: float = -0.0037
    losses_percent: float = 14.08
    dc_ac_ratio: float = 1.34
    eta_inv_nom: float = 0.96
    eta_inv_ref: float = 0.9637
    clearsky_index_max: float = 1.2
    ghi_clear_min_wm2: float = 10.0
    clear_sky_only: bool = False

    def __post_init__(self):
        if self.mount not in ("single_axis", "fixed"):
            raise ValueError(f"PVSpec.mount must be 'single_axis' or 'fixed', got {self.mount!r}")
        if not 0 < self.gcr < 1:
            raise ValueError(f"PVSpec.gcr must be in (0, 1), got {self.gcr}")
        if self.dc_ac_ratio <= 0 or not 0 <= self.losses_percent < 100:
            raise ValueError(f"PVSpec needs dc_ac_ratio > 0 and 0 <= losses_percent < 100, got "
                             f"{self.dc_ac_ratio}, {self.losses_percent}")


#: Surface roughness length by land cover [m] (Wieringa 1993; Silva et al. 2007, CORINE classes;
#: as used for WAsP roughness maps).  A site's ``land_cover`` picks its row.
ROUGHNESS_BY_LAND_COVER: dict[str, float] = {
    "water": 0.0002, "bare": 0.005, "snow_ice": 0.001, "open_flat": 0.03, "grassland": 0.03,
    "cropland": 0.05, "farmland_hedges": 0.1, "shrubland": 0.1, "orchard_vineyard": 0.3,
    "forest": 0.8, "suburban": 0.5, "urban": 1.0,
}


@dataclass(frozen=True)
class WindSpec:
    """The reference wind plant: turbine, hub-height extrapolation and losses.

    Hub-height wind from the station's 10 m wind in two logarithmic steps
    (the roughness-change method of WAsP-like tools): up to a blending height
    with the *anemometer's* roughness, where the flow no longer feels the
    surface below it, then from there to the hub with the *site's* roughness.
    Where both roughness lengths are equal this is the single log profile.

    Attributes
    ----------
    turbine_type : str
        Turbine of windpowerlib's bundled (oedb) turbine library, read offline.
        Default the Vestas V126-3.45 MW, a common onshore turbine for low to
        medium wind sites (specific power 277 W m-2).
    hub_height_m : float
        Hub height [m] (117 m is one of the V126-3.45's standard towers).
    roughness_length_m : float
        Site roughness length when the site has neither ``roughness_length_m``
        nor a known ``land_cover`` [m]: 0.1 m, farmland with some hedges, with
        an uncertainty of 0.03 (open grassland) to 0.3 m (scattered trees,
        orchards); :data:`ROUGHNESS_BY_LAND_COVER` for known land cover.
    anemometer_roughness_length_m : float
        Roughness around the station's anemometer [m]: 0.03 m, the open,
        level exposure that WMO siting asks of synoptic and airport stations
        (TMY3, TMYx).  ERA5-based files (PVGIS) carry a grid-box wind; the
        same value is used for them.
    blending_height_m : float
        Height where the flow no longer feels the local surface and the two
        profiles meet [m]: 200 m, about the top of the surface layer, above
        the hub (a simplification of the European Wind Atlas roughness-change
        treatment, which goes through the geostrophic drag law).
    measurement_height_m : float
        Height of the input wind speed [m].
    wake_loss : float
        Fraction of gross energy lost to turbine wakes inside the plant [1].
    availability_loss : float
        Fraction lost to turbine and balance-of-plant downtime [1].
    electrical_loss : float
        Fraction lost in the collection system and substation up to the meter [1].
    density_correction : bool
        Correct the power curve for air density (Svenningsen 2010, as windpowerlib).
    density_model : {'ideal_gas', 'barometric'}
        windpowerlib density function.
    vectorised : bool
        Evaluate the density-corrected power curve with
        :func:`turbine_power`'s vectorised form (identical results) instead of
        windpowerlib's per-time-step loop, which costs ~5 µs per value.

    Notes
    -----
    The loss defaults (wake 7 %, availability 3 %, electrical 2 %, together
    11.5 % of gross) are ASSUMPTIONS in the range of pre-construction energy
    estimates for onshore plants (loss categories of IEC 61400-15 and
    Clifton, Smith & Fields 2016, NREL/TP-5000-64735); they are parameters,
    set them from the project's own estimate.
    """

    turbine_type: str = "V126/3450"
    hub_height_m: float = 117.0
    roughness_length_m: float = 0.1
    anemometer_roughness_length_m: float = 0.03
    blending_height_m: float = 200.0
    measurement_height_m: float = 10.0
    wake_loss: float = 0.07
    availability_loss: float = 0.03
    electrical_loss: float = 0.02
    density_correction: bool = True
    density_model: str = "ideal_gas"
    vectorised: bool = True

    def __post_init__(self):
        for name in ("wake_loss", "availability_loss", "electrical_loss"):
            v = getattr(self, name)
            if not 0 <= v < 1:
                raise ValueError(f"WindSpec.{name} must be a fraction in [0, 1), got {v}")
        if min(self.roughness_length_m, self.anemometer_roughness_length_m) <= 0:
            raise ValueError("WindSpec roughness lengths must be > 0 m")
        if not self.measurement_height_m < self.hub_height_m < self.blending_height_m:
            raise ValueError(f"WindSpec needs measurement height < hub height < blending height, got "
                             f"{self.measurement_height_m}, {self.hub_height_m}, {self.blending_height_m} m")

    @property
    def net_factor(self) -> float:
        """Net over gross energy: (1 - wake)(1 - availability)(1 - electrical) [1]."""
        return (1 - self.wake_loss) * (1 - self.availability_loss) * (1 - self.electrical_loss)

    def turbine(self):
        """The :class:`windpowerlib.WindTurbine` (cached)."""
        return _turbine(self.turbine_type, float(self.hub_height_m))


@dataclass(frozen=True)
class PUESpec:
    """Parameters of :func:`pue_from_temperature`.

    Attributes
    ----------
    pue_min : float
        PUE in free-cooling (economiser) weather [1], ≥ 1.
    changeover_degc : float
        Ambient dry-bulb temperature above which mechanical cooling starts [degC].
    slope_per_k : float
        PUE increase per kelvin above the change-over [K-1].
    pue_max : float
        Cap of the PUE on the hottest hours [1].
    """

    pue_min: float
    changeover_degc: float
    slope_per_k: float
    pue_max: float


#: Default PUE parameters by site tier.  An engineering approximation chosen so
#: that annual means land near published figures (``data/facts/pue.csv``):
#: ``core`` (hyperscale training campuses) near Google's fleet 1.10 (2023),
#: ``regional`` (newer large inference centres) at about 1.15-1.25, inside the
#: Uptime 2024 "1.3 or better" of new large facilities, and ``edge`` (small
#: sites with mostly mechanical cooling) near the Uptime industry average
#: 1.56-1.58 (2023-2024).  See :func:`pue_from_temperature`.
PUE_BY_TIER: dict[str, PUESpec] = {
    "core": PUESpec(pue_min=1.07, changeover_degc=18.0, slope_per_k=0.006, pue_max=1.30),
    "regional": PUESpec(pue_min=1.12, changeover_degc=15.0, slope_per_k=0.010, pue_max=1.45),
    "edge": PUESpec(pue_min=1.42, changeover_degc=10.0, slope_per_k=0.016, pue_max=2.00),
}


# =========================================================================== pure functions


def haversine_km(lat1, lon1, lat2, lon2):
    """Great-circle distance [km] between points given in degrees (broadcasts)."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dphi = p2 - p1
    dlmb = np.radians(np.asarray(lon2) - np.asarray(lon1))
    a = np.sin(dphi / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dlmb / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0, 1)))


#: the distance beyond which a site's station no longer stands for its climate [km]; see
#: ``data/derived/weather/representativeness.csv``: over 300 km the median difference of two stations'
#: annual mean temperature (after the lapse-rate correction) exceeds 2 K and their thermal zone
#: differs in most pairs
STATION_WARN_KM = 300.0
#: weight of an elevation difference in the station choice: 1 m of elevation counts as 0.1 km
ELEVATION_KM_PER_M = 0.1


def match_stations(site_lat, site_lon, station_lat, station_lon, max_km: float = 2000.0,
                   analogue_lon_window: float = 60.0, *, site_elevation=None, station_elevation=None,
                   elevation_km_per_m: float = ELEVATION_KM_PER_M, analogue: bool = False):
    """Pick the weather station of each site: the nearest, elevation-aware.

    The station minimising the *effective distance*
    ``sqrt(d**2 + (elevation_km_per_m * dz)**2)``, with ``d`` the great-circle
    distance [km] and ``dz`` the elevation difference [m] (when both
    elevations are given): a station 1,000 m higher counts as 100 km
    farther, so a mountain site takes a mountain station a little farther
    away rather than the valley station next to it (temperature is also
    moved by the lapse rate; irradiance and wind are not).

    Sites farther than ``max_km`` from every station keep the nearest station
    (``match = 'nearest-beyond-max'``; the energy cube warns), unless
    ``analogue=True``: then the station whose absolute latitude is closest to
    the site's in the same hemisphere is used, a *latitude analogue* (similar
    sun path and season, not the same climate), preferring stations within
    ``analogue_lon_window`` degrees of longitude, and if no station lies in
    that hemisphere the closest absolute latitude in the other one
    (``'latitude-analogue-other-hemisphere'``, seasons to be shifted by half a
    year).  A nearest station across the equator (both beyond 10 degrees of
    latitude) is reported as ``'nearest-other-hemisphere'``: its seasons are
    reversed, and the energy cube refuses it.

    Parameters
    ----------
    site_lat, site_lon : array_like
        Sites [degrees_north, degrees_east].
    station_lat, station_lon : array_like
        Stations [degrees_north, degrees_east].
    max_km : float
        Largest distance to accept the nearest station without the fallback [km].
    site_elevation, station_elevation : array_like, optional
        Elevations [m]; without them the plain distance decides.
    elevation_km_per_m : float
        Weight of elevation differences [km m-1].
    analogue : bool
        Use a latitude analogue beyond ``max_km``.

    Returns
    -------
    index : numpy.ndarray of int
        Station index of each site.
    distance_km : numpy.ndarray
        Great-circle distance to the chosen station [km].
    match : numpy.ndarray of str
        ``'nearest'``, ``'nearest-beyond-max'``, ``'nearest-other-hemisphere'``,
        ``'latitude-analogue'`` or ``'latitude-analogue-other-hemisphere'``.
    """
    slat, slon = np.asarray(site_lat, float)[:, None], np.asarray(site_lon, float)[:, None]
    tlat, tlon = np.asarray(station_lat, float)[None, :], np.asarray(station_lon, float)[None, :]
    d = haversine_km(slat, slon, tlat, tlon)
    score = d
    if site_elevation is not None and station_elevation is not None:
        dz = np.asarray(site_elevation, float)[:, None] - np.asarray(station_elevation, float)[None, :]
        score = np.sqrt(d ** 2 + (elevation_km_per_m * np.nan_to_num(dz)) ** 2)
    idx = np.argmin(score, axis=1)
    rows = np.arange(len(idx))
    match = np.full(len(idx), "nearest", dtype=object)
    far = d[rows, idx] > max_km
    match[far] = "nearest-beyond-max"
    for i in np.flatnonzero(far) if analogue else ():
        same = np.sign(tlat[0]) == (1.0 if slat[i, 0] >= 0 else -1.0)
        dlon = np.abs((tlon[0] - slon[i, 0] + 180.0) % 360.0 - 180.0)
        near_lon = same & (dlon <= analogue_lon_window)
        cand = np.flatnonzero(near_lon if near_lon.any() else same) if same.any() else np.arange(tlat.shape[1])
        gap = np.abs(np.abs(tlat[0, cand]) - abs(slat[i, 0]))
        best = cand[gap == gap.min()]
        idx[i] = best[np.argmin(d[i, best])]
        match[i] = "latitude-analogue" if same.any() else "latitude-analogue-other-hemisphere"
    chosen_lat = tlat[0, idx]
    across = ((np.sign(chosen_lat) != np.sign(slat[:, 0])) & (np.abs(chosen_lat) > 10)
              & (np.abs(slat[:, 0]) > 10) & ~np.char.startswith(match.astype(str), "latitude-analogue"))
    match[across] = "nearest-other-hemisphere"
    return idx, d[rows, idx], match.astype(str)


def ashrae_thermal_zone(hdd18, cdd10):
    """ASHRAE 169-2013 thermal climate zone (0-8) from annual degree-days.

    Parameters
    ----------
    hdd18 : array_like
        Heating degree-days, base 18 degC, from daily mean temperatures [K day].
    cdd10 : array_like
        Cooling degree-days, base 10 degC [K day].

    Returns
    -------
    numpy.ndarray of int
        0 (CDD10 > 6000), 1 (> 5000), 2 (> 3500), else by HDD18: 3 (<= 2000),
        4 (<= 3000), 5 (<= 4000), 6 (<= 5000), 7 (<= 7000), 8.

    References
    ----------
    ANSI/ASHRAE Standard 169-2013, Climatic Data for Building Design Standards, Table A-3.
    """
    h, c = np.asarray(hdd18, float), np.asarray(cdd10, float)
    by_hdd = np.select([h <= 2000, h <= 3000, h <= 4000, h <= 5000, h <= 7000], [3, 4, 5, 6, 7], 8)
    return np.select([c > 6000, c > 5000, c > 3500], [0, 1, 2], by_hdd).astype(int)


def degree_days(temp_air):
    """Annual heating (base 18 degC) and cooling (base 10 degC) degree-days from hourly temperature.

    Parameters
    ----------
    temp_air : array_like, shape (..., 8760)
        Hourly air temperature of one non-leap year [degC], starting 1 January.

    Returns
    -------
    hdd18, cdd10 : numpy.ndarray
        [K day], from daily means (24 consecutive hours).
    """
    t = np.asarray(temp_air, float)
    daily = t.reshape(*t.shape[:-1], t.shape[-1] // 24, 24).mean(axis=-1)
    return np.maximum(18.0 - daily, 0).sum(axis=-1), np.maximum(daily - 10.0, 0).sum(axis=-1)


def solar_time_shift_hours(lon_site, lon_station):
    """Whole hours by which the site's solar time leads the station's.

    ``round((lon_site - lon_station) / 15)``, with the longitude difference
    taken in −180…180°.  A station series ``x`` is moved to the site as
    ``x_site(t) = x(t + shift)``.
    """
    dlon = (np.asarray(lon_site, float) - np.asarray(lon_station, float) + 180.0) % 360.0 - 180.0
    return np.round(dlon / 15.0).astype(int)


def lapse_rate_temperature(temp_air, elevation_from_m, elevation_to_m, lapse_rate=LAPSE_RATE_K_PER_M):
    """Move an air temperature from one elevation to another with a constant lapse rate.

    Parameters
    ----------
    temp_air : array_like
        Air temperature at ``elevation_from_m`` [degC].
    elevation_from_m, elevation_to_m : array_like
        Elevations [m].
    lapse_rate : float
        Temperature gradient [K m-1]; default −6.5e-3, the ICAO standard atmosphere.

    Returns
    -------
    array_like
        Temperature at ``elevation_to_m`` [degC].
    """
    return temp_air + lapse_rate * (np.asarray(elevation_to_m) - np.asarray(elevation_from_m))


def _spa_time_terms(times_utc: pd.DatetimeIndex, delta_t: float = 67.0) -> dict[str, np.ndarray]:
    """The site-independent terms of NREL's SPA (pvlib.spa, numpy) for ``times_utc``.

    ``delta_t`` [s] (TT - UT1) defaults to 67.0 as in :func:`pvlib.solarposition.spa_python`.
    """
    from pvlib import spa

    t = times_utc.tz_convert("UTC") if times_utc.tz is not None else times_utc.tz_localize("UTC")
    unixtime = (t.tz_localize(None) - pd.Timestamp("1970-01-01")) / pd.Timedelta("1s")
    unixtime = np.asarray(unixtime, dtype=float)
    v, alpha, delta = spa.solar_position_numpy(unixtime, 0.0, 0.0, 0.0, 0.0, 0.0, delta_t, 0.5667,
                                               1, sst=True)
    (radius,) = spa.solar_position_numpy(unixtime, 0.0, 0.0, 0.0, 0.0, 0.0, delta_t, 0.5667, 1, esd=True)
    return {"v": v, "alpha": alpha, "delta": delta, "R": radius}


def solar_position(times, lat, lon, altitude, *, temperature=12.0, time_terms=None) -> dict[str, np.ndarray]:
    """Solar position of many sites at once with NREL's SPA (as pvlib's ``nrel_numpy``).

    Equal to :meth:`pvlib.location.Location.get_solarposition` per site (same
    pvlib.spa functions, refraction with the standard-atmosphere pressure at
    ``altitude`` and ``temperature``), but the site-independent terms are
    computed once for all sites.

    Parameters
    ----------
    times : pandas.DatetimeIndex
        Instants (UTC if naive).
    lat, lon, altitude : array_like, shape (n,)
        Sites [degrees_north, degrees_east, m].
    temperature : float
        Air temperature for the refraction correction [degC].
    time_terms : dict, optional
        Precomputed :func:`_spa_time_terms` of ``times``.

    Returns
    -------
    dict of numpy.ndarray, shape (n, len(times))
        ``apparent_zenith``, ``zenith``, ``apparent_elevation``, ``azimuth`` [degrees].

    References
    ----------
    Reda, I., Andreas, A. (2004). Solar position algorithm for solar radiation
    applications. Solar Energy 76(5), 577-589. :doi:`10.1016/j.solener.2003.12.003`
    """
    from pvlib import atmosphere, spa

    tt = time_terms or _spa_time_terms(pd.DatetimeIndex(times))
    lat = np.asarray(lat, float).reshape(-1, 1)
    lon = np.asarray(lon, float).reshape(-1, 1)
    elev = np.asarray(altitude, float).reshape(-1, 1)
    pressure_mbar = atmosphere.alt2pres(elev) / 100.0
    v, alpha, delta, radius = tt["v"], tt["alpha"], tt["delta"], tt["R"]
    H = spa.local_hour_angle(v, lon, alpha)
    xi = spa.equatorial_horizontal_parallax(radius)
    u = spa.uterm(lat)
    x = spa.xterm(u, lat, elev)
    y = spa.yterm(u, lat, elev)
    delta_alpha = spa.parallax_sun_right_ascension(x, xi, H, delta)
    delta_prime = spa.topocentric_sun_declination(delta, x, y, xi, delta_alpha, H)
    H_prime = spa.topocentric_local_hour_angle(H, delta_alpha)
    e0 = spa.topocentric_elevation_angle_without_atmosphere(lat, delta_prime, H_prime)
    delta_e = spa.atmospheric_refraction_correction(pressure_mbar, temperature, e0, 0.5667)
    e = spa.topocentric_elevation_angle(e0, delta_e)
    gamma = spa.topocentric_astronomers_azimuth(H_prime, delta_prime, lat)
    return {"apparent_zenith": spa.topocentric_zenith_angle(e), "zenith": spa.topocentric_zenith_angle(e0),
            "apparent_elevation": e, "azimuth": spa.topocentric_azimuth_angle(gamma)}


def linke_turbidity_daily(lat, lon, day_of_year):
    """pvlib's Linke turbidity climatology interpolated to days of a non-leap year.

    The monthly values of :func:`pvlib.clearsky.lookup_linke_turbidity` (the
    SoDa/Remund 2003 climatology shipped with pvlib) taken at the middle of
    each month and interpolated linearly by day of year, exactly as pvlib's
    ``interp_turbidity=True`` does for a non-leap year.  The climatology file is
    opened once for all sites.

    Parameters
    ----------
    lat, lon : float or array_like, shape (n,)
        Sites [degrees_north, degrees_east].
    day_of_year : array_like of int
        Days 1-365.

    Returns
    -------
    numpy.ndarray
        Linke turbidity [1], shape ``(len(day_of_year),)`` for one site, else ``(n, len(day_of_year))``.
    """
    import h5py
    import pvlib
    from pvlib.clearsky import _degrees_to_index

    scalar = np.ndim(lat) == 0
    lat, lon = np.atleast_1d(np.asarray(lat, float)), np.atleast_1d(np.asarray(lon, float))
    path = Path(pvlib.__file__).parent / "data" / "LinkeTurbidities.h5"
    with h5py.File(path, "r") as f:
        table = f["LinkeTurbidity"]
        monthly = np.stack([table[_degrees_to_index(la, coordinate="latitude"),
                                  _degrees_to_index(lo, coordinate="longitude")] for la, lo in zip(lat, lon, strict=True)])
    monthly = monthly.astype(float) / 20.0
    mdays = np.array(calendar.mdays[1:], dtype=float)
    middles = np.concatenate([[-calendar.mdays[12] / 2.0], np.cumsum(mdays) - mdays / 2.0,
                              [365 + calendar.mdays[1] / 2.0]])
    doy = np.asarray(day_of_year, float)
    out = np.stack([np.interp(doy, middles, np.concatenate([[m[-1]], m, [m[0]]])) for m in monthly])
    return out[0] if scalar else out


def clearsky_ineichen(times, lat, lon, altitude, *, solar_pos=None, dni_extra=None) -> dict[str, np.ndarray]:
    """Ineichen-Perez clear-sky irradiance of many sites with pvlib.

    What :meth:`pvlib.location.Location.get_clearsky` (``model='ineichen'``) does per site,
    vectorised over sites: Kasten-Young relative airmass on the apparent zenith, absolute airmass
    at the site's pressure (:func:`pvlib.atmosphere.alt2pres`), pvlib's monthly Linke turbidity
    climatology interpolated to the day (:func:`linke_turbidity_daily`) and the site altitude
    (a test holds it equal to the per-site pvlib call).

    Parameters
    ----------
    times : pandas.DatetimeIndex
        Instants, tz-aware UTC, in a non-leap year.
    lat, lon, altitude : array_like, shape (n,)
        Sites [degrees_north, degrees_east, m].
    solar_pos : dict, optional
        :func:`solar_position` of the sites at ``times`` (computed when omitted).
    dni_extra : array_like, optional
        Extraterrestrial normal irradiance at ``times`` [W m-2].

    Returns
    -------
    dict of numpy.ndarray, shape (n, len(times))
        ``ghi``, ``dni``, ``dhi`` [W m-2].

    References
    ----------
    Ineichen, P., Perez, R. (2002). A new airmass independent formulation for
    the Linke turbidity coefficient. Solar Energy 73(3), 151-157.
    :doi:`10.1016/S0038-092X(02)00045-2`
    """
    import pvlib

    times = pd.DatetimeIndex(times)
    lat, lon, altitude = (np.atleast_1d(np.asarray(a, float)) for a in (lat, lon, altitude))
    sp = solar_pos or solar_position(times, lat, lon, altitude)
    doy = np.asarray(times.day_of_year)
    if dni_extra is None:
        dni_extra = pvlib.irradiance.get_extra_radiation(doy.astype(float))
    dni_extra = np.asarray(dni_extra, float)[None, :]
    # what pvlib.location.Location.get_clearsky does per site, on (site, time) arrays at once:
    # Kasten-Young relative airmass on the apparent zenith, absolute airmass at the site pressure
    lt = linke_turbidity_daily(lat, lon, doy)
    zen = np.asarray(sp["apparent_zenith"], float).reshape(lat.size, len(times))
    with np.errstate(invalid="ignore", divide="ignore"):  # night hours: pvlib returns 0 / NaN there by design
        am_rel = pvlib.atmosphere.get_relative_airmass(zen, model="kastenyoung1989")
        am_abs = pvlib.atmosphere.get_absolute_airmass(am_rel, pvlib.atmosphere.alt2pres(altitude)[:, None])
        cs = pvlib.clearsky.ineichen(zen, am_abs, lt, altitude=altitude[:, None], dni_extra=dni_extra)
    return {k: np.asarray(cs[k], float) for k in ("ghi", "dni", "dhi")}


def clear_sky_index(ghi, ghi_clear, *, max_index=1.2, min_clear=10.0):
    """Clear-sky index: GHI over clear-sky GHI, clipped, 0 when the sun is low.

    Parameters
    ----------
    ghi, ghi_clear : array_like
        Measured and clear-sky global horizontal irradiance [W m-2].
    max_index : float
        Upper clip [1] (cloud enhancement can exceed 1 briefly).
    min_clear : float
        Where ``ghi_clear`` is below this [W m-2] the index is 0.

    Returns
    -------
    numpy.ndarray
        Clear-sky index [1] in [0, ``max_index``].
    """
    ghi, ghi_clear = np.asarray(ghi, float), np.asarray(ghi_clear, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        k = np.where(ghi_clear >= min_clear, ghi / ghi_clear, 0.0)
    return np.clip(np.nan_to_num(k), 0.0, max_index)


def pv_orientation(mount: str, apparent_zenith, solar_azimuth, lat, spec: PVSpec = PVSpec()):
    """Module orientation of the reference plant [degrees]: fixed tilt or a single-axis tracker.

    Parameters
    ----------
    mount : {'fixed', 'single_axis'}
    apparent_zenith, solar_azimuth : numpy.ndarray, shape (n, T)
        Sun position [degrees].
    lat : array_like, shape (n,)
        Site latitude [degrees_north].
    spec : PVSpec

    Returns
    -------
    surface_tilt, surface_azimuth : numpy.ndarray, broadcastable to (n, T)
        Fixed: tilt ``min(|lat|, max_tilt_deg)`` facing the equator (or
        ``surface_azimuth_deg``).  Single axis: horizontal north-south axis
        (:func:`pvlib.tracking.singleaxis`, rotation limit ``max_angle_deg``,
        backtracking at ground coverage ratio ``gcr``); stowed flat (0) while
        the sun is down.

    References
    ----------
    Anderson, K., Mikofski, M. (2020). Slope-Aware Backtracking for Single-Axis
    Trackers. NREL/TP-5K00-76626. :doi:`10.2172/1660126`
    """
    import pvlib

    lat = np.asarray(lat, float).reshape(-1, 1)
    north = lat >= 0
    if mount == "fixed":
        tilt = np.minimum(np.abs(lat), spec.max_tilt_deg)
        az = (np.full_like(lat, float(spec.surface_azimuth_deg)) if spec.surface_azimuth_deg is not None
              else np.where(north, 180.0, 0.0))
        return tilt, az
    if mount != "single_axis":
        raise ValueError(f"mount must be 'fixed' or 'single_axis', got {mount!r}")
    zen = np.asarray(apparent_zenith, float)
    saz = np.broadcast_to(np.asarray(solar_azimuth, float), zen.shape)
    axis = (np.full(lat.shape, float(spec.axis_azimuth_deg)) if spec.axis_azimuth_deg is not None
            else np.where(north, 180.0, 0.0))
    tilt = np.zeros(zen.shape)
    az = np.zeros(zen.shape)
    for ax in np.unique(axis):  # one or two axis directions: a call per direction, flat arrays
        rows = np.flatnonzero(axis[:, 0] == ax)
        tr = pvlib.tracking.singleaxis(zen[rows].ravel(), saz[rows].ravel(), axis_tilt=0.0, axis_azimuth=ax,
                                       max_angle=spec.max_angle_deg, backtrack=spec.backtrack, gcr=spec.gcr)
        tilt[rows] = np.nan_to_num(np.asarray(tr["surface_tilt"], float)).reshape(len(rows), -1)
        az[rows] = np.nan_to_num(np.asarray(tr["surface_azimuth"], float), nan=ax).reshape(len(rows), -1)
    return tilt, az


def pv_output(ghi, dni, dhi, solar_zenith, apparent_zenith, solar_azimuth, temp_air, wind_speed, dni_extra,
              surface_tilt, surface_azimuth, spec: PVSpec = PVSpec()):
    """AC and DC output of the reference PV plant per kW of DC nameplate (pvlib chain, as ModelChain).

    Plane-of-array irradiance with :func:`pvlib.irradiance.get_total_irradiance`
    (``spec.transposition``; Perez with Kasten-Young relative airmass and the
    extraterrestrial irradiance), the physical incidence-angle modifier on the
    beam, cell temperature :func:`pvlib.temperature.sapm_cell` on the
    plane-of-array global irradiance, DC :func:`pvlib.pvsystem.pvwatts_dc`
    less ``spec.losses_percent``, AC :func:`pvlib.inverter.pvwatts` for an
    inverter of ``1 / dc_ac_ratio`` kW AC per kW DC.  This is what
    :class:`pvlib.modelchain.ModelChain` computes with
    ``transposition_model=spec.transposition, aoi_model='physical',
    spectral_model='no_loss', dc_model='pvwatts', ac_model='pvwatts',
    losses_model='pvwatts'``, on arrays of many sites at once.

    Parameters
    ----------
    ghi, dni, dhi : array_like
        Irradiance [W m-2].
    solar_zenith, apparent_zenith, solar_azimuth : array_like
        Sun position [degrees] (apparent zenith: with refraction).
    temp_air : array_like
        Ambient temperature [degC].
    wind_speed : array_like
        Wind speed at 10 m [m s-1].
    dni_extra : array_like
        Extraterrestrial normal irradiance [W m-2].
    surface_tilt, surface_azimuth : array_like
        Module orientation [degrees] (:func:`pv_orientation`).
    spec : PVSpec

    Returns
    -------
    dict of numpy.ndarray
        ``ac``: AC output per kW DC [1], 0 at night, at most ``1 / dc_ac_ratio``;
        ``dc``: DC output after losses per kW DC [1]; ``poa_global`` [W m-2].

    References
    ----------
    Perez, R., Ineichen, P., Seals, R., Michalsky, J., Stewart, R. (1990).
    Modeling daylight availability and irradiance components from direct and
    global irradiance. Solar Energy 44(5), 271-289. :doi:`10.1016/0038-092X(90)90055-H`
    Dobos, A. P. (2014). PVWatts Version 5 Manual. NREL/TP-6A20-62641. :doi:`10.2172/1158421`
    King, D. L., Boyson, W. E., Kratochvil, J. A. (2004). Photovoltaic Array
    Performance Model. SAND2004-3535. :doi:`10.2172/919131`
    """
    import pvlib

    zen = np.asarray(apparent_zenith, float)
    am = None
    if spec.transposition == "perez":
        with np.errstate(invalid="ignore"):
            am = pvlib.atmosphere.get_relative_airmass(zen, model="kastenyoung1989")
    with np.errstate(invalid="ignore", divide="ignore"):
        irr = pvlib.irradiance.get_total_irradiance(
            surface_tilt, surface_azimuth, solar_zenith, solar_azimuth, dni, ghi, dhi,
            dni_extra=dni_extra, airmass=am, albedo=spec.albedo, model=spec.transposition)
        poa_direct = np.nan_to_num(np.asarray(irr["poa_direct"], float))
        poa_diffuse = np.nan_to_num(np.asarray(irr["poa_diffuse"], float))
        if spec.iam:
            aoi = pvlib.irradiance.aoi(surface_tilt, surface_azimuth, solar_zenith, solar_azimuth)
            poa_direct = poa_direct * np.nan_to_num(pvlib.iam.physical(aoi))
    effective = np.clip(poa_direct + poa_diffuse, 0.0, None)
    params = pvlib.temperature.TEMPERATURE_MODEL_PARAMETERS["sapm"][spec.temperature_model]
    poa_global = np.clip(np.nan_to_num(np.asarray(irr["poa_global"], float)), 0.0, None)
    temp_cell = pvlib.temperature.sapm_cell(poa_global, temp_air, wind_speed, **params)
    pdc = pvlib.pvsystem.pvwatts_dc(effective, temp_cell, 1.0, spec.gamma_pdc_per_k)
    pdc = np.clip(pdc * (1.0 - spec.losses_percent / 100.0), 0.0, None)
    pdc0_inverter = (1.0 / spec.dc_ac_ratio) / spec.eta_inv_nom
    with np.errstate(invalid="ignore", divide="ignore"):
        pac = pvlib.inverter.pvwatts(pdc, pdc0_inverter, spec.eta_inv_nom, spec.eta_inv_ref)
    return {"ac": np.clip(np.nan_to_num(np.asarray(pac, float)), 0.0, None), "dc": pdc, "poa_global": poa_global}


def pv_capacity_factor(ghi, dni, dhi, apparent_zenith, azimuth, temp_air, wind_speed, dni_extra,
                       surface_tilt, surface_azimuth, spec: PVSpec = PVSpec()):
    """AC output of the reference PV system per unit of DC nameplate at a given orientation.

    :func:`pv_output`'s ``ac`` with the apparent zenith for the geometry too
    (kept for callers of earlier versions).

    Returns
    -------
    numpy.ndarray
        Capacity factor [1] on the DC basis, 0 at night, at most ``1 / dc_ac_ratio``.
    """
    return pv_output(ghi, dni, dhi, apparent_zenith, apparent_zenith, azimuth, temp_air, wind_speed,
                     dni_extra, surface_tilt, surface_azimuth, spec)["ac"]


@lru_cache(maxsize=8)
def _turbine(turbine_type: str, hub_height: float):
    import os

    import windpowerlib
    from windpowerlib import WindTurbine

    root = Path(windpowerlib.__file__).parent
    path = next((p for p in (root / "oedb", root / "data" / "default_turbine_data")
                 if (p / "power_curves.csv").exists()), None)
    if path is None:
        raise FileNotFoundError(f"windpowerlib's turbine library not found under {root} "
                                "(reinstall windpowerlib)")
    import warnings

    from windpowerlib.wind_turbine import WindpowerlibUserWarning

    with warnings.catch_warnings(record=True) as caught:
        # windpowerlib's turbine-library reader calls DataFrame.dropna(inplace=True), which pandas 3
        # deprecates; nothing of ours to fix, and the curve it returns is unaffected
        warnings.filterwarnings("ignore", message="The inplace keyword", category=DeprecationWarning)
        # an unknown turbine type: windpowerlib warns and returns no curve; that becomes our error below
        warnings.simplefilter("always", WindpowerlibUserWarning)
        t = WindTurbine(hub_height=hub_height, turbine_type=turbine_type, path=os.fspath(path))
    for w in caught:
        if not issubclass(w.category, WindpowerlibUserWarning):
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    if t.power_curve is None or t.nominal_power is None:
        raise ValueError(f"turbine {turbine_type!r} has no power curve in windpowerlib's library "
                         f"({path}); pick one listed by windpowerlib.get_turbine_types()")
    return t


def turbine_power(wind_speed_hub, density, curve_wind_speed, curve_power, *, density_correction=True,
                  vectorised=True):
    """Power of a turbine from its power curve [W], optionally density corrected.

    Without density correction this is
    :func:`windpowerlib.power_output.power_curve`.  With it, the curve's wind
    speeds are scaled per time step, ``v_site = v_std (1.225 / rho)^p(v_std)``
    with ``p`` = 1/3 up to 7.5 m s-1, 2/3 from 12.5 m s-1, linear between, and
    the power interpolated on the scaled curve; zero outside the curve.  The
    vectorised form gives the same numbers as
    ``windpowerlib.power_output.power_curve(..., density_correction=True)``
    (which ``vectorised=False`` calls) without its per-time-step Python loop.

    Parameters
    ----------
    wind_speed_hub : array_like
        Wind speed at hub height [m s-1].
    density : array_like
        Air density at hub height [kg m-3] (same shape).
    curve_wind_speed, curve_power : array_like
        Power curve [m s-1], [W].
    density_correction : bool
    vectorised : bool

    Returns
    -------
    numpy.ndarray
        Electrical power [W], same shape as ``wind_speed_hub``.

    References
    ----------
    Svenningsen, L. (2010). Power Curve Air Density Correction and Other Power
    Curve Options in WindPRO. EMD International A/S.
    """
    from windpowerlib import power_output

    ws = np.asarray(wind_speed_hub, float)
    cv = np.asarray(curve_wind_speed, float)
    cp = np.asarray(curve_power, float)
    if not density_correction:
        return np.asarray(power_output.power_curve(ws, cv, cp, density_correction=False), float)
    rho = np.broadcast_to(np.asarray(density, float), ws.shape)
    if not vectorised:
        flat = power_output.power_curve(ws.ravel(), cv, cp, density=rho.ravel(), density_correction=True)
        return np.asarray(flat, float).reshape(ws.shape)
    expo = np.interp(cv, [7.5, 12.5], [1 / 3, 2 / 3])
    ratio = (1.225 / rho).ravel()
    w = ws.ravel()
    count = np.zeros(w.shape, dtype=np.intp)
    for k in range(cv.size):  # the scaled curve is increasing in k; count knots <= w
        count += (ratio ** expo[k]) * cv[k] <= w
    j = np.clip(count - 1, 0, cv.size - 2)
    x0 = ratio ** expo[j] * cv[j]
    x1 = ratio ** expo[j + 1] * cv[j + 1]
    slope = (cp[j + 1] - cp[j]) / (x1 - x0)
    p = slope * (w - x0) + cp[j]
    last = ratio ** expo[-1] * cv[-1]
    p = np.where(count == 0, 0.0, p)                       # below the curve
    p = np.where(count == cv.size, np.where(w == last, cp[-1], 0.0), p)  # at / beyond its end
    return p.reshape(ws.shape)


def hub_height_wind_speed(wind_speed, measurement_height, hub_height, roughness_site, roughness_anemometer=None,
                          blending_height=200.0):
    """Wind speed at hub height from a measured wind, with a roughness change (log profiles).

    .. math:: v_{hub} = v_m \\frac{\\ln(h_b / z_{0,a})}{\\ln(h_m / z_{0,a})}
              \\frac{\\ln(h_{hub} / z_{0,s})}{\\ln(h_b / z_{0,s})}

    Up to the blending height ``h_b`` (above the hub) with the anemometer's
    roughness ``z_{0,a}``: the wind there is the same over both surfaces;
    then down from ``h_b`` to the hub with the site's ``z_{0,s}``, so a rougher
    site has a slower hub wind; with
    ``z_{0,a} = z_{0,s}`` (or ``roughness_anemometer=None``) the single
    logarithmic profile ``v_m ln(h_hub/z0) / ln(h_m/z0)``, as
    :func:`windpowerlib.wind_speed.logarithmic_profile`.

    Parameters
    ----------
    wind_speed : array_like
        Wind speed at ``measurement_height`` [m s-1].
    measurement_height, hub_height, blending_height : float
        Heights above ground [m].
    roughness_site, roughness_anemometer : array_like
        Roughness lengths [m] (broadcast against ``wind_speed``).

    Returns
    -------
    numpy.ndarray
        Wind speed at hub height [m s-1].

    References
    ----------
    Wieringa, J. (1986). Roughness-dependent geographical interpolation of
    surface wind speed averages. Q. J. R. Meteorol. Soc. 112, 867-889.
    :doi:`10.1002/qj.49711247316`
    """
    v = np.asarray(wind_speed, float)
    zs = np.asarray(roughness_site, float)
    za = zs if roughness_anemometer is None else np.asarray(roughness_anemometer, float)
    up = np.log(blending_height / za) / np.log(measurement_height / za)
    down = np.log(hub_height / zs) / np.log(blending_height / zs)
    # one roughness: windpowerlib's logarithmic_profile, in its order of operations (no round-off)
    single = v * np.log(hub_height / zs) / np.log(measurement_height / zs)
    return np.where(za == zs, single, v * up * down)


def wind_capacity_factor(wind_speed, temp_air, pressure, spec: WindSpec = WindSpec(), *, roughness_length_m=None,
                         net: bool = False):
    """Capacity factor of the reference turbine from 10 m wind, temperature and pressure.

    Hub-height wind with :func:`hub_height_wind_speed` (site roughness
    ``roughness_length_m``, default ``spec.roughness_length_m``; anemometer
    roughness ``spec.anemometer_roughness_length_m``), hub-height
    temperature with :func:`windpowerlib.temperature.linear_gradient`,
    density with :func:`windpowerlib.density.ideal_gas` (or ``barometric``),
    power with :func:`turbine_power`.  ``net=True`` multiplies by
    :attr:`WindSpec.net_factor` (wake, availability and electrical losses).

    Parameters
    ----------
    wind_speed : array_like
        Wind speed at ``spec.measurement_height_m`` [m s-1].
    temp_air : array_like
        Air temperature at 2 m [degC].
    pressure : array_like
        Air pressure at the ground [Pa].
    spec : WindSpec
    roughness_length_m : array_like, optional
        Site roughness length [m], broadcast against ``wind_speed`` (e.g. shape (n, 1)).
    net : bool
        Return the net capacity factor.

    Returns
    -------
    numpy.ndarray
        Power over nominal power [1], in [0, 1].

    References
    ----------
    Haas, S., Krien, U., Schachler, B., et al. (2024). windpowerlib - a Python
    library to model wind power plants. JOSS 9(93), 5464. :doi:`10.21105/joss.05464`
    """
    from windpowerlib import density, temperature

    t = spec.turbine()
    hub = float(t.hub_height)
    z0 = spec.roughness_length_m if roughness_length_m is None else roughness_length_m
    v_hub = hub_height_wind_speed(wind_speed, spec.measurement_height_m, hub, z0,
                                  spec.anemometer_roughness_length_m, spec.blending_height_m)
    t_hub = temperature.linear_gradient(np.asarray(temp_air, float) + 273.15, 2.0, hub)
    dens_fn = {"ideal_gas": density.ideal_gas, "barometric": density.barometric}[spec.density_model]
    rho = dens_fn(np.asarray(pressure, float), 0.0, hub, t_hub)
    p = turbine_power(v_hub, rho, t.power_curve["wind_speed"].to_numpy(float),
                      t.power_curve["value"].to_numpy(float),
                      density_correction=spec.density_correction, vectorised=spec.vectorised)
    cf = np.clip(p / float(t.nominal_power), 0.0, 1.0)
    return cf * spec.net_factor if net else cf


def pue_from_temperature(temp_air, pue_min=1.07, changeover_degc=18.0, slope_per_k=0.006, pue_max=1.30):
    """Power usage effectiveness as a piecewise-linear function of ambient temperature.

    .. math:: \\mathrm{PUE}(T) = \\min\\bigl(\\mathrm{PUE_{max}},\\;
              \\mathrm{PUE_{min}} + s \\cdot \\max(0, T - T_c)\\bigr)

    Flat at ``pue_min`` below the economiser change-over temperature ``T_c``
    (free cooling: fans, pumps, power conversion), rising linearly by ``s``
    per kelvin above it (chillers or evaporative cooling take over), capped at
    ``pue_max``.  Non-decreasing in ``T`` and at least 1.

    This is an engineering approximation, not a plant model: real PUE depends
    on wet-bulb temperature, humidity limits, load, cooling design and
    operation.  The defaults by tier (:data:`PUE_BY_TIER`) are chosen so that
    annual means over typical years land near published averages: core
    (1.07, 18 °C, 0.006 K-1, cap 1.30) near Google's fleet 1.10 (2023);
    regional (1.12, 15 °C, 0.010 K-1, cap 1.45) between that and the Uptime
    "new large facilities 1.3 or better" (2024); edge (1.42, 10 °C,
    0.016 K-1, cap 2.0) near the Uptime industry average 1.56-1.58
    (2023-2024), for small sites with mostly mechanical cooling.

    Parameters
    ----------
    temp_air : array_like or xarray.DataArray
        Ambient dry-bulb temperature [degC].
    pue_min : float or array_like
        PUE in free-cooling weather [1], ≥ 1.
    changeover_degc : float or array_like
        Change-over temperature [degC].
    slope_per_k : float or array_like
        Increase per kelvin above the change-over [K-1], ≥ 0.
    pue_max : float or array_like
        Cap [1], ≥ ``pue_min``.

    Returns
    -------
    same type as ``temp_air``
        PUE [1].

    References
    ----------
    The Green Grid (2012). PUE: A Comprehensive Examination of the Metric. White Paper 49.
    Uptime Institute, Global Data Center Survey 2023, 2024; Google, Environmental Report 2024
    (figures in ``data/facts/pue.csv``).
    """
    pmin, pmax, slope = (np.asarray(a, float) for a in (pue_min, pue_max, slope_per_k))
    if np.any(pmin < 1) or np.any(slope < 0) or np.any(pmax < pmin):
        raise ValueError("pue_from_temperature needs pue_min >= 1, slope_per_k >= 0 and "
                         f"pue_max >= pue_min; got {pue_min}, {slope_per_k}, {pue_max}")
    return np.minimum(pue_max, pue_min + slope_per_k * np.maximum(temp_air - changeover_degc, 0.0))
