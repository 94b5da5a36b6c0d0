"""Great-circle distance and network round-trip time between places.

Two array functions, vectorised with numpy broadcasting (xarray DataArrays in,
DataArrays out, with ``units`` and ``long_name``; numpy in, numpy out):

* :func:`haversine_km` — great-circle distance on a sphere of the IUGG mean
  Earth radius ``R1 = 6371.0088 km`` (Moritz 2000).
* :func:`round_trip_ms` — the round-trip time (RTT) of a network path::

      RTT [ms] = 2 * d [km] * inflation * us_per_km [us km-1] / 1000 + overhead_ms

  ``d`` is the great-circle distance, ``us_per_km`` the one-way propagation
  delay of light in fibre, ``inflation`` the ratio of the route's fibre length
  to ``d`` and ``overhead_ms`` a fixed per-path cost (switching, queueing,
  the last kilometres inside both sites).

``inflation`` and ``overhead_ms`` are calibrated, not assumed: they are the
weighted least-squares fit of the model to the published median RTTs of
``data/facts/latency_measurements.csv`` (39 pairs of Azure regions, monthly P50,
30 days ending 2025-06-29), made by ``data/derive_latency_fit.py``.  The fit
minimises relative residuals (weights 1/RTT) because the spread of the
residuals grows with RTT: route detours multiply the distance, so with equal
weights three detoured long routes (Europe to Dubai, Pune and Pretoria, 35 to
50 ms above the line) set the intercept and the model overstates every short
path.  Fit quality (:data:`RTT_FIT`): R² 0.910, median absolute error 5.3 ms,
median relative error 15 %; on the 20 pairs at or below 30 ms, the RTTs the
tier caps decide, the median absolute error is 2.6 ms.  The residuals are not
centred everywhere: between 500 and 1 500 km most measured RTTs lie 3 to 9 ms
above the line (the model is optimistic there), beyond 5 000 km the transpacific
and transatlantic cables lie 10 to 30 ms below it, the routes around Arabia and
Africa 35 to 50 ms above.

The calibration describes a hyperscaler's private backbone between data-centre
regions (the case of interest here: site to site).  Paths over the public
Internet are more inflated: Bozkurt et al. (2018) quote the rule of thumb of
earlier measurement campaigns, latency ≈ 2.1 × line-of-sight distance / speed
of light in fibre, against 1.3 in the median for shortest paths through the
US long-haul conduits.  The fitted inflation (1.42) lies between the two.
The shortest calibration pair is 131 km apart: below ~100 km the model
extrapolates (its RTT tends to ``overhead_ms``, a metro path's fixed cost is
usually smaller).

Inputs are validated at this boundary: latitudes in [-90, 90] and longitudes
in [-180, 180] degrees, numbers only, no infinities (NaN propagates as a
missing value).  A latitude beyond ±90 whose longitude lies within ±90 is
reported as likely swapped (a ``(lon, lat)`` position, as GeoJSON writes
them).  Dask-backed DataArrays stay lazy: their blocks are checked when they
are computed.

References
----------
Moritz, H. (2000). Geodetic Reference System 1980. *Journal of Geodesy* 74,
128–133. doi:10.1007/s001900050278 — mean radius R1 = (2a + b) / 3 =
6 371 008.7714 m.

MapYourTech (about 2025). *The 5-Microsecond Rule: Fiber Propagation Latency
per Kilometer* — standard single-mode (ITU-T G.652) fibre, group index ~1.468
at 1550 nm: 1.468 / 299 792.458 km s-1 = 4.897 us km-1 one way (row
``fibre_latency_one_way`` of ``data/facts/network.csv``; CommScope (2017)
gives the rule of thumb 5 us km-1).

Microsoft (2025). *Azure network round-trip latency statistics*, dataset of
2025-06-30 (P50 of 1-minute probes over 30 days).
https://learn.microsoft.com/en-us/azure/networking/azure-network-latency

Bozkurt, I. N., Aqeel, W., Bhattacherjee, D., Chandrasekaran, B., Godfrey,
P. B., Laughlin, G., Maggs, B. M., Singla, A. (2018). *Dissecting Latency in
the Internet's Fiber Infrastructure* (preprint).
https://www.semanticscholar.org/paper/54e9a5abc725deab1c22178c2a1056e3a485bd19
"""

from __future__ import annotations

import math
import sys

import numpy as np

from powerfirst.errors import Problem, ValidationError

__all__ = [
    "EARTH_MEAN_RADIUS_KM",
    "FIBRE_US_PER_KM",
    "ROUTE_INFLATION",
    "PATH_OVERHEAD_MS",
    "RTT_FIT",
    "TIER_RTT_CAP_MS",
    "haversine_km",
    "round_trip_ms",
    "within_cap",
]

#: IUGG mean Earth radius R1 [km] (Moritz 2000, GRS 80: 6 371 008.7714 m).
EARTH_MEAN_RADIUS_KM = 6371.0088

#: One-way propagation delay of light in standard single-mode fibre [us km-1]:
#: group index ~1.468 (ITU-T G.652 fibre at 1550 nm) -> c / 1.468 = 204 000 km s-1
#: -> 4.897 us km-1, rounded to 4.9 (``data/facts/network.csv``).
FIBRE_US_PER_KM = 4.9

# Calibrated by data/derive_latency_fit.py on data/facts/latency_measurements.csv (39 Azure region
# pairs, P50 RTT, 30 days ending 2025-06-29; weighted least squares, weights 1/RTT, us_per_km fixed
# at 4.9): R² 0.910, median |error| 5.3 ms, median relative error 15 %.  Re-run the script after
# editing the table; tests/test_geo.py fails when these numbers and the table disagree.
#: Route length / great-circle distance [1], fitted.
ROUTE_INFLATION = 1.420
#: Fixed per-path round-trip cost [ms] (switching, queueing, last kilometres), fitted.
PATH_OVERHEAD_MS = 5.31

#: Quality of the fit behind :data:`ROUTE_INFLATION` and :data:`PATH_OVERHEAD_MS`
#: (``data/derive_latency_fit.py``); errors are measured minus modelled RTT.
RTT_FIT = {
    "pairs": 39,
    "r_squared": 0.910,
    "median_abs_error_ms": 5.3,
    "median_rel_error": 0.153,
    "median_abs_error_ms_at_or_below_30ms": 2.6,
}

#: Round-trip time cap [ms] of each workload tier, used by :func:`within_cap`.
#:
#: * ``edge`` 10 ms — *assumption* read from the industry's "single-digit
#:   millisecond" promise for compute placed near users (AWS, *AWS Direct
#:   Connect and AWS Local Zones interoperability patterns*, Networking &
#:   Content Delivery blog, 2022: Local Zones "deliver single-digit millisecond
#:   latency applications to your end-users").  With the calibrated model,
#:   10 ms is reached at ~340 km of great-circle distance; in the calibration
#:   table Oslo-Stavanger (302 km) measures 10 ms, Tokyo-Osaka (403 km) 12 ms.
#: * ``regional`` 30 ms — *assumption*: a region-serving tier tolerates the RTT
#:   across one continental group of data-centre regions.  Microsoft reported
#:   monthly round trips of "3 ms to 28 ms ... within Europe regions" (Azure
#:   network round-trip latency statistics, October 2019 figures,
#:   https://docs.microsoft.com/en-us/azure/networking/azure-network-latency).
#:   The model reaches 30 ms at ~1 770 km; measured pairs reach it sooner
#:   (Seoul-Tokyo, 1 160 km, 30 ms; Des Moines-San Antonio, 1 423 km, 29 ms):
#:   the model is optimistic by 3 to 9 ms in that distance band.
#: * ``training`` no cap — *assumption*: training jobs exchange their data
#:   inside one site; the distance to users does not bound them.
TIER_RTT_CAP_MS = {"edge": 10.0, "regional": 30.0, "training": math.inf}

_LAT_UNITS = {"degrees_north", "degree_north", "degrees_n", "degree_n", "degreesn", "degreen", "degrees", "degree",
              "deg"}
_LON_UNITS = {"degrees_east", "degree_east", "degrees_e", "degree_e", "degreese", "degreee", "degrees", "degree",
              "deg"}
_C_VACUUM_US_PER_KM = 1e3 / 299.792458  # 3.3356 us km-1, the physical floor of us_per_km


def _xarray():
    """The xarray module when it is imported (a DataArray cannot exist otherwise), else None."""
    return sys.modules.get("xarray")


def _is_dataarray(x) -> bool:
    xr = _xarray()
    return xr is not None and isinstance(x, xr.DataArray)


def _check_xarray_args(func: str, args: dict, units: dict) -> None:
    """DataArrays may mix with scalars only; their ``units`` (when set) must be accepted ones.

    ``units`` maps each argument to ``(preferred unit, accepted spellings in lower case)``.
    """
    xr = _xarray()
    if xr is not None:
        for name, v in args.items():
            if isinstance(v, xr.Dataset):
                raise ValidationError(Problem(f"expected a DataArray, an array or a number, found a Dataset; "
                                              f"pass one variable (ds['{name}'])", variable=name), what=func)
    if not any(_is_dataarray(v) for v in args.values()):
        return
    problems = []
    for name, v in args.items():
        if _is_dataarray(v):
            u = v.attrs.get("units")
            preferred, accepted = units[name]
            if u is not None and str(u).strip().lower().replace(" ", "") not in accepted:
                problems.append(Problem(f"expected units {preferred!r}, found {u!r}", variable=name))
        elif np.ndim(v) > 0:
            problems.append(Problem(f"expected a DataArray or a scalar next to DataArray arguments, found an array "
                                    f"of shape {np.shape(v)}; wrap it in a DataArray with named dims so that it "
                                    "broadcasts by name", variable=name))
    if problems:
        raise ValidationError(problems, what=func)


def _as_float(name: str, x, what: str, kind: str) -> np.ndarray:
    """``x`` as a float array; text, booleans, objects and infinities are refused."""
    arr = np.asarray(x)
    if arr.dtype.kind not in "iuf":
        shown = repr(x) if arr.ndim == 0 else f"an array of dtype {arr.dtype}"
        raise ValidationError(Problem(f"expected {kind} as numbers, found {shown[:80]}", variable=name), what=what)
    arr = arr.astype(float, copy=False)
    inf = np.isinf(arr)
    if inf.any():
        raise ValidationError(Problem(f"expected finite {kind}, found {int(inf.sum())} infinite value(s), "
                                      f"e.g. {arr[inf].flat[0]:g}", variable=name), what=what)
    return arr


def _coordinate_problems(lat_name: str, lat: np.ndarray, lon_name: str, lon: np.ndarray) -> list[Problem]:
    """Out-of-range latitudes and longitudes of one point, with a hint for swapped order."""
    problems = []
    with np.errstate(invalid="ignore"):
        bad_lat = np.abs(lat) > 90.0
        bad_lon = np.abs(lon) > 180.0
    if bad_lat.any():
        msg = (f"expected a latitude in [-90, 90] degrees_north, found {int(bad_lat.sum())} value(s) outside, "
               f"e.g. {lat[bad_lat].flat[0]:g}")
        try:
            la, lo = np.broadcast_arrays(lat, lon)
            swapped = bool((np.abs(lo[np.broadcast_to(bad_lat, la.shape)]) <= 90.0).all())
        except ValueError:
            swapped = False
        if swapped:
            msg += (f"; where {lat_name} is beyond ±90, {lon_name} lies within ±90: latitude and longitude look "
                    f"swapped (a (lon, lat) position?) — pass {lat_name} first, then {lon_name}")
        problems.append(Problem(msg, variable=lat_name))
    if bad_lon.any():
        msg = (f"expected a longitude in [-180, 180] degrees_east, found {int(bad_lon.sum())} value(s) outside, "
               f"e.g. {lon[bad_lon].flat[0]:g}")
        if bool((lon[bad_lon] <= 360).all()) and bool((lon[bad_lon] > 0).all()):
            msg += "; longitudes in 0..360 convention: subtract 360 from the values above 180"
        problems.append(Problem(msg, variable=lon_name))
    return problems


_NAMES = ("lat_a", "lon_a", "lat_b", "lon_b")


def _haversine_kernel(lat_a, lon_a, lat_b, lon_b):
    """Validated haversine on plain arrays [degrees] -> [km] (the kernel of :func:`haversine_km`)."""
    what = "haversine_km coordinates"
    kinds = ("latitudes", "longitudes", "latitudes", "longitudes")
    la1, lo1, la2, lo2 = (_as_float(n, v, what, k) for n, v, k in zip(_NAMES, (lat_a, lon_a, lat_b, lon_b), kinds,
                                                                         strict=True))
    problems = _coordinate_problems("lat_a", la1, "lon_a", lo1) + _coordinate_problems("lat_b", la2, "lon_b", lo2)
    if problems:
        raise ValidationError(problems, what=what)
    try:
        np.broadcast_shapes(la1.shape, lo1.shape, la2.shape, lo2.shape)
    except ValueError:
        shapes = ", ".join(f"{n} {s}" for n, s in zip(_NAMES, (la1.shape, lo1.shape, la2.shape, lo2.shape),
                                                      strict=True))
        raise ValidationError(Problem(f"the coordinate arrays do not broadcast together ({shapes}); give them "
                                      "shapes such as (n, 1) and (1, m) for an n x m grid"), what=what) from None
    p1, p2 = np.radians(la1), np.radians(la2)
    dphi = p2 - p1
    dlam = np.radians(lo2 - lo1)
    h = np.sin(dphi / 2.0) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dlam / 2.0) ** 2
    return 2.0 * EARTH_MEAN_RADIUS_KM * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))


def _apply(kernel, args: tuple, attrs: dict):
    """Run an elementwise kernel on numpy arrays or DataArrays (lazy for Dask-backed ones)."""
    if any(_is_dataarray(a) for a in args):
        xr = _xarray()
        out = xr.apply_ufunc(kernel, *args, dask="parallelized", output_dtypes=[float], keep_attrs=False)
        out.attrs = dict(attrs)
        return out
    out = kernel(*args)
    return out[()] if isinstance(out, np.ndarray) and out.ndim == 0 else out


def haversine_km(lat_a, lon_a, lat_b, lon_b):
    """Great-circle distance between two points on a sphere of the IUGG mean Earth radius.

    Parameters
    ----------
    lat_a, lon_a : array_like or xarray.DataArray
        Latitude [degrees_north] in [-90, 90] and longitude [degrees_east] in
        [-180, 180] of the first point(s).
    lat_b, lon_b : array_like or xarray.DataArray
        Latitude [degrees_north] and longitude [degrees_east] of the second point(s).
        All four broadcast together (numpy rules; DataArrays by dimension name).

    Returns
    -------
    numpy.ndarray, numpy.float64 or xarray.DataArray
        Distance [km]; a DataArray (``units`` ``km``) when any input is one.

    Raises
    ------
    ValidationError
        Coordinates out of range (naming the argument and the value, with a hint
        when latitude and longitude look swapped), not numbers, infinite, with
        other units than degrees, or of shapes that do not broadcast.

    Notes
    -----
    Haversine formula, ``d = 2 R asin(sqrt(sin²(Δφ/2) + cos φa cos φb sin²(Δλ/2)))``,
    with ``R = 6371.0088 km`` (Moritz 2000).  The sphere differs from the
    GRS 80 ellipsoid by up to ~0.5 %: the quarter meridian is π/2 · R =
    10 007.6 km on the sphere, 10 002.0 km on the ellipsoid.
    """
    args = {"lat_a": lat_a, "lon_a": lon_a, "lat_b": lat_b, "lon_b": lon_b}
    lat, lon = ("degrees_north", _LAT_UNITS), ("degrees_east", _LON_UNITS)
    units = {"lat_a": lat, "lon_a": lon, "lat_b": lat, "lon_b": lon}
    _check_xarray_args("haversine_km", args, units)
    return _apply(_haversine_kernel, (lat_a, lon_a, lat_b, lon_b),
                  {"units": "km", "long_name": "great-circle distance",
                   "description": f"haversine on a sphere of radius {EARTH_MEAN_RADIUS_KM} km (IUGG mean radius)"})


def _check_parameter(name: str, value, low: float, high: float, why: str) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValidationError(Problem(f"expected a number, found {value!r}", variable=name),
                              what="round_trip_ms parameters") from None
    if isinstance(value, bool) or not (np.isfinite(v) and low <= v <= high):
        raise ValidationError(Problem(f"expected a value in [{low:g}, {high:g}] ({why}), found {value!r}",
                                      variable=name), what="round_trip_ms parameters")
    return v


def round_trip_ms(lat_a, lon_a, lat_b, lon_b, *, inflation: float = ROUTE_INFLATION,
                  us_per_km: float = FIBRE_US_PER_KM, overhead_ms: float = PATH_OVERHEAD_MS):
    """Round-trip time of a network path between two points, from their great-circle distance.

    ``RTT = 2 · d · inflation · us_per_km / 1000 + overhead_ms``

    Parameters
    ----------
    lat_a, lon_a, lat_b, lon_b : array_like or xarray.DataArray
        Coordinates of the two ends [degrees_north, degrees_east], as in :func:`haversine_km`.
    inflation : float, optional
        Route length over great-circle distance [1], in [1, 10]; default the
        calibrated :data:`ROUTE_INFLATION` (1.420).
    us_per_km : float, optional
        One-way propagation delay [us km-1], at least the vacuum value 3.336 and
        at most 10; default 4.9 (light in G.652 fibre, group index ~1.468).
    overhead_ms : float, optional
        Fixed round-trip cost of the path [ms], in [0, 1000]; default the
        calibrated :data:`PATH_OVERHEAD_MS` (5.31 ms).

    Returns
    -------
    numpy.ndarray, numpy.float64 or xarray.DataArray
        Round-trip time [ms]; a DataArray (``units`` ``ms``) when any coordinate is one.

    Raises
    ------
    ValidationError
        Bad coordinates (see :func:`haversine_km`) or a parameter out of its range.

    Notes
    -----
    Calibrated on 39 published Azure inter-region median RTTs (131 to 11 950 km;
    ``data/derive_latency_fit.py``): R² 0.910, median absolute error 5.3 ms,
    median relative error 15 %, 2.6 ms median absolute error at or below 30 ms.
    Between 500 and 1 500 km the measured RTTs mostly lie 3 to 9 ms above the model.
    Below ~100 km the result tends to ``overhead_ms`` (an extrapolation).
    """
    inflation = _check_parameter("inflation", inflation, 1.0, 10.0,
                                 "a route is never shorter than the great circle")
    us_per_km = _check_parameter("us_per_km", us_per_km, round(_C_VACUUM_US_PER_KM, 3), 10.0,
                                 "light in vacuum takes 3.336 us per km; fibre ~4.9")
    overhead_ms = _check_parameter("overhead_ms", overhead_ms, 0.0, 1000.0, "a fixed per-path cost in ms")
    d = haversine_km(lat_a, lon_a, lat_b, lon_b)
    rtt = 2.0 * d * (inflation * us_per_km / 1000.0) + overhead_ms
    if _is_dataarray(rtt):
        rtt.attrs = {"units": "ms", "long_name": "round-trip time",
                     "description": f"2 x great-circle distance x {inflation:g} x {us_per_km:g} us/km "
                                    f"+ {overhead_ms:g} ms (powerfirst.geo.round_trip_ms)"}
    return rtt


def within_cap(rtt_ms, tier: str):
    """Whether round-trip times meet the cap of a workload tier (:data:`TIER_RTT_CAP_MS`).

    Parameters
    ----------
    rtt_ms : array_like or xarray.DataArray
        Round-trip time [ms], non-negative; NaN (unknown) is never within a cap.
    tier : {'edge', 'regional', 'training'}
        Workload tier.

    Returns
    -------
    numpy.ndarray of bool, bool or xarray.DataArray
        True where ``rtt_ms <= TIER_RTT_CAP_MS[tier]``.

    Raises
    ------
    ValidationError
        Unknown tier (the message lists the tiers), negative or non-numeric RTTs,
        a DataArray whose ``units`` are not ``ms``.
    """
    if not isinstance(tier, str) or tier not in TIER_RTT_CAP_MS:
        raise ValidationError(Problem(f"expected one of {', '.join(map(repr, TIER_RTT_CAP_MS))}, found {tier!r}",
                                      variable="tier"), what="within_cap")
    _check_xarray_args("within_cap", {"rtt_ms": rtt_ms}, {"rtt_ms": ("ms", {"ms"})})
    cap = TIER_RTT_CAP_MS[tier]

    def kernel(rtt):
        r = _as_float("rtt_ms", rtt, "within_cap", "round-trip times [ms]")
        with np.errstate(invalid="ignore"):
            neg = r < 0
        if neg.any():
            raise ValidationError(Problem(f"expected round-trip times >= 0 ms, found {int(neg.sum())} negative "
                                          f"value(s), e.g. {r[neg].flat[0]:g}", variable="rtt_ms"),
                                  what="within_cap")
        with np.errstate(invalid="ignore"):
            return r <= cap

    if _is_dataarray(rtt_ms):
        xr = _xarray()
        out = xr.apply_ufunc(kernel, rtt_ms, dask="parallelized", output_dtypes=[bool])
        out.attrs = {"units": "1", "long_name": f"round-trip time within the {tier} cap ({cap:g} ms)"}
        return out
    out = kernel(rtt_ms)
    return out[()] if out.ndim == 0 else out
