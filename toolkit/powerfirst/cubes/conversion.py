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

EARTH_RADIUS_KM = 6371.0088
LAPSE_RATE_K_PER_M = -6.5e-3


# =========================================================================== parameters


@dataclass(frozen=True)
class PVSpec:
    """The reference PV system and the cloudiness transfer.

    Attributes
    ----------
    max_tilt_deg : float
        Tilt = ``|latitude|`` capped at this value [degrees].
    surface_azimuth_deg : float or None
        Azimuth [degrees east of north]; None faces the equator (180 north, 0 south).
    albedo : float
        Ground reflectance [1].
    transposition : str
        Sky-diffuse model of :func:`pvlib.irradiance.get_total_irradiance`
        (``'haydavies'`` or ``'isotropic'``).
    iam : bool
        Apply the physical incidence-angle modifier (:func:`pvlib.iam.physical`) to the beam.
    temperature_model : str
        SAPM parameter set of :data:`pvlib.temperature.TEMPERATURE_MODEL_PARAMETERS`.
    gamma_pdc_per_k : float
        Temperature coefficient of DC power [K-1].
    losses_percent : float
        DC system losses [%] (pvlib's :func:`~pvlib.pvsystem.pvwatts_losses` defaults sum to 14.08 %).
    dc_ac_ratio : float
        DC nameplate over inverter AC rating [1].
    eta_inv_nom, eta_inv_ref : float
        Nominal and reference inverter efficiency of PVWatts [1].
    clearsky_index_max : float
        Upper clip of the station clear-sky index [1] (cloud enhancement).
    ghi_clear_min_wm2 : float
        Below this station clear-sky GHI [W m-2] the sun is taken as too low
        and the clear-sky index is set to 0.
    clear_sky_only : bool
        Ignore the station's cloudiness (clear-sky index 1): an upper bound.
    """

    max_tilt_deg: float = 40.0
    surface_azimuth_deg: float | None = None
    albedo: float = 0.2
    transposition: str = "haydavies"
    iam: bool = True
    temperature_model: str = "open_rack_glass_glass"
    gamma_pdc_per_k: float = -0.0037
    losses_percent: float = 14.0
    dc_ac_ratio: float = 1.2
    eta_inv_nom: float = 0.96
    eta_inv_ref: float = 0.9637
    clearsky_index_max: float = 1.2
    ghi_clear_min_wm2: float = 10.0
    clear_sky_only: bool = False


@dataclass(frozen=True)
class WindSpec:
    """The reference wind turbine and the wind-speed extrapolation.

    Attributes
    ----------
    turbine_type : str
        Turbine of windpowerlib's bundled (oedb) turbine library, read offline.
        Default the Vestas V126-3.45 MW, a common onshore turbine for low to
        medium wind sites (specific power 277 W m-2).
    hub_height_m : float
        Hub height [m] (117 m is one of the V126-3.45's standard towers).
    roughness_length_m : float
        Surface roughness length of the logarithmic profile [m]
        (0.1 m: farmland with some hedges and trees).
    measurement_height_m : float
        Height of the input wind speed [m].
    density_correction : bool
        Correct the power curve for air density (Svenningsen 2010, as windpowerlib).
    density_model : {'ideal_gas', 'barometric'}
        windpowerlib density function.
    vectorised : bool
        Evaluate the density-corrected power curve with
        :func:`turbine_power`'s vectorised form (identical results) instead of
        windpowerlib's per-time-step loop, which costs ~5 µs per value.
    """

    turbine_type: str = "V126/3450"
    hub_height_m: float = 117.0
    roughness_length_m: float = 0.1
    measurement_height_m: float = 10.0
    density_correction: bool = True
    density_model: str = "ideal_gas"
    vectorised: bool = True

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


def match_stations(site_lat, site_lon, station_lat, station_lon, max_km: float = 2000.0,
                   analogue_lon_window: float = 60.0):
    """Pick the weather station of each site.

    The nearest station (haversine), or, when that is farther than
    ``max_km``, the station whose absolute latitude is closest to the site's
    in the same hemisphere (a *latitude analogue*: similar sun path and
    season, not the same climate), preferring stations within
    ``analogue_lon_window`` degrees of longitude (the same continent and
    ocean side, so a Pacific Northwest site is not given Alpine weather);
    when no station lies in that hemisphere, the closest absolute latitude in
    the other one, with seasons to be shifted by half a year.

    Parameters
    ----------
    site_lat, site_lon : array_like
        Sites [degrees_north, degrees_east].
    station_lat, station_lon : array_like
        Stations [degrees_north, degrees_east].
    max_km : float
        Largest distance to accept the nearest station [km].

    Returns
    -------
    index : numpy.ndarray of int
        Station index of each site.
    distance_km : numpy.ndarray
        Distance to the chosen station [km].
    match : numpy.ndarray of str
        ``'nearest'``, ``'latitude-analogue'`` or ``'latitude-analogue-other-hemisphere'``.
    """
    slat, slon = np.asarray(site_lat, float)[:, None], np.asarray(site_lon, float)[:, None]
    tlat, tlon = np.asarray(station_lat, float)[None, :], np.asarray(station_lon, float)[None, :]
    d = haversine_km(slat, slon, tlat, tlon)
    idx = np.argmin(d, axis=1)
    match = np.full(len(idx), "nearest", dtype=object)
    far = d[np.arange(len(idx)), idx] > max_km
    for i in np.flatnonzero(far):
        same = np.sign(tlat[0]) == (1.0 if slat[i, 0] >= 0 else -1.0)
        dlon = np.abs((tlon[0] - slon[i, 0] + 180.0) % 360.0 - 180.0)
        near_lon = same & (dlon <= analogue_lon_window)
        cand = np.flatnonzero(near_lon if near_lon.any() else same) if same.any() else np.arange(tlat.shape[1])
        gap = np.abs(np.abs(tlat[0, cand]) - abs(slat[i, 0]))
        best = cand[gap == gap.min()]
        idx[i] = best[np.argmin(d[i, best])]
        match[i] = "latitude-analogue" if same.any() else "latitude-analogue-other-hemisphere"
    return idx, d[np.arange(len(idx)), idx], match.astype(str)


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


def pv_capacity_factor(ghi, dni, dhi, apparent_zenith, azimuth, temp_air, wind_speed, dni_extra,
                       surface_tilt, surface_azimuth, spec: PVSpec = PVSpec()):
    """AC output of the reference PV system per unit of DC nameplate (pvlib chain).

    Plane-of-array irradiance with :func:`pvlib.irradiance.get_total_irradiance`
    (``spec.transposition``), physical IAM on the beam, cell temperature with
    :func:`pvlib.temperature.sapm_cell`, DC with :func:`pvlib.pvsystem.pvwatts_dc`
    less ``spec.losses_percent``, AC with :func:`pvlib.inverter.pvwatts` for
    an inverter rated 1/``dc_ac_ratio`` of the DC nameplate.

    Parameters
    ----------
    ghi, dni, dhi : array_like
        Irradiance [W m-2].
    apparent_zenith, azimuth : array_like
        Sun position [degrees].
    temp_air : array_like
        Ambient temperature [degC].
    wind_speed : array_like
        Wind speed at 10 m [m s-1].
    dni_extra : array_like
        Extraterrestrial normal irradiance [W m-2].
    surface_tilt, surface_azimuth : array_like
        Module orientation [degrees] (broadcast against the time series).
    spec : PVSpec

    Returns
    -------
    numpy.ndarray
        Capacity factor [1], 0 at night, at most ``1 / dc_ac_ratio``.

    References
    ----------
    Dobos, A. P. (2014). PVWatts Version 5 Manual. NREL/TP-6A20-62641. :doi:`10.2172/1158421`
    King, D. L., Boyson, W. E., Kratochvil, J. A. (2004). Photovoltaic Array
    Performance Model. SAND2004-3535. :doi:`10.2172/919131`
    Hay, J. E., Davies, J. A. (1980). Calculations of the solar radiation
    incident on an inclined surface. Proc. First Canadian Solar Radiation Data Workshop.
    """
    import pvlib

    irr = pvlib.irradiance.get_total_irradiance(
        surface_tilt, surface_azimuth, apparent_zenith, azimuth, dni, ghi, dhi,
        dni_extra=dni_extra, albedo=spec.albedo, model=spec.transposition)
    poa_direct = np.nan_to_num(np.asarray(irr["poa_direct"], float))
    poa_diffuse = np.nan_to_num(np.asarray(irr["poa_diffuse"], float))
    if spec.iam:
        aoi = pvlib.irradiance.aoi(surface_tilt, surface_azimuth, apparent_zenith, azimuth)
        poa_direct = poa_direct * np.nan_to_num(pvlib.iam.physical(aoi))
    effective = np.clip(poa_direct + poa_diffuse, 0.0, None)
    params = pvlib.temperature.TEMPERATURE_MODEL_PARAMETERS["sapm"][spec.temperature_model]
    poa_global = np.clip(np.nan_to_num(np.asarray(irr["poa_global"], float)), 0.0, None)
    temp_cell = pvlib.temperature.sapm_cell(poa_global, temp_air, wind_speed, **params)
    pdc = pvlib.pvsystem.pvwatts_dc(effective, temp_cell, 1.0, spec.gamma_pdc_per_k)
    pdc = np.clip(pdc * (1.0 - spec.losses_percent / 100.0), 0.0, None)
    pdc0_inverter = (1.0 / spec.dc_ac_ratio) / spec.eta_inv_nom
    pac = pvlib.inverter.pvwatts(pdc, pdc0_inverter, spec.eta_inv_nom, spec.eta_inv_ref)
    return np.clip(np.nan_to_num(np.asarray(pac, float)), 0.0, None)


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


def wind_capacity_factor(wind_speed, temp_air, pressure, spec: WindSpec = WindSpec()):
    """Capacity factor of the reference turbine from 10 m wind, temperature and pressure.

    Hub-height wind with :func:`windpowerlib.wind_speed.logarithmic_profile`,
    hub-height temperature with :func:`windpowerlib.temperature.linear_gradient`,
    density with :func:`windpowerlib.density.ideal_gas` (or ``barometric``),
    power with :func:`turbine_power`.

    Parameters
    ----------
    wind_speed : array_like
        Wind speed at ``spec.measurement_height_m`` [m s-1].
    temp_air : array_like
        Air temperature at 2 m [degC].
    pressure : array_like
        Air pressure at the ground [Pa].
    spec : WindSpec

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
    from windpowerlib import wind_speed as wsmod

    t = spec.turbine()
    hub = float(t.hub_height)
    v_hub = wsmod.logarithmic_profile(np.asarray(wind_speed, float), spec.measurement_height_m, hub,
                                      spec.roughness_length_m)
    t_hub = temperature.linear_gradient(np.asarray(temp_air, float) + 273.15, 2.0, hub)
    dens_fn = {"ideal_gas": density.ideal_gas, "barometric": density.barometric}[spec.density_model]
    rho = dens_fn(np.asarray(pressure, float), 0.0, hub, t_hub)
    p = turbine_power(v_hub, rho, t.power_curve["wind_speed"].to_numpy(float),
                      t.power_curve["value"].to_numpy(float),
                      density_correction=spec.density_correction, vectorised=spec.vectorised)
    return np.clip(p / float(t.nominal_power), 0.0, 1.0)


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
