"""Headroom in future years: historic load grown and new loads added."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import xarray as xr

from powerfirst.models.headroom.solver import flexible_headroom
from powerfirst.models.headroom.thresholds import (
    DEFAULT_LIMITS,
    _check_limits,
    check_hourly_load,
    local_years,
    seasonal_thresholds,
)

__all__ = ["future_headroom"]


def _per_ba_year(value, bas, years, name: str) -> xr.DataArray:
    if isinstance(value, xr.DataArray):
        da = value
        if "ba" not in da.dims:
            da = da.expand_dims(ba=list(bas))
        if "year" not in da.dims:
            da = da.expand_dims(year=list(years))
        missing = sorted(set(years) - set(da["year"].values.tolist()))
        if missing:
            raise ValueError(f"{name} has no value for years {missing}")
        return da.sel(ba=list(bas), year=list(years)).transpose("ba", "year").astype(float)
    if isinstance(value, Mapping):
        unknown = sorted(set(bas) - set(value))
        if unknown:
            raise ValueError(f"{name} has no value for balancing authorities {unknown}")
        arr = np.array([[float(value[b])] * len(years) for b in bas])
    else:
        arr = np.full((len(bas), len(years)), float(value))
    return xr.DataArray(arr, dims=("ba", "year"), coords={"ba": list(bas), "year": list(years)})


def future_headroom(load: xr.DataArray, years: Sequence[int], *, growth: float | Mapping | xr.DataArray = 0.0,
                    base_year: int | None = None, connected_mw: float | Mapping | xr.DataArray = 0.0,
                    limits: Sequence[float] = DEFAULT_LIMITS, threshold="seasonal",
                    threshold_growth_mw: float | Mapping | xr.DataArray = 0.0) -> xr.Dataset:
    """Headroom in future years as existing load grows and new firm data-centre load connects.

    For target year :math:`Y` the hourly load of every historic weather year
    becomes :math:`D'_t = D_t (1 + g)^{Y - Y_0} + C_Y`: the historic profile
    scaled by the growth path plus the flat data-centre load :math:`C_Y`
    already connected (firm) by then.  The thresholds stay those of the
    historic system (the seasonal peaks it has served) plus any added
    capability ``threshold_growth_mw``; the headroom is then solved exactly as
    in :func:`flexible_headroom`.  As load grows into the thresholds the
    headroom erodes.

    Parameters
    ----------
    load : xarray.DataArray
        Historic hourly load [MW] on (``ba``, ``time``).
    years : list of int
        Target years.
    growth : float, {ba: float} or DataArray
        Annual growth rate of the existing load [1 per year] (0.02 = 2 %/yr),
        or, as a DataArray on ``year`` (and ``ba``), the scaling factor itself.
    base_year : int, optional
        Year of the historic level (default: the last year of ``load``).
    connected_mw : float, {ba: MW} or DataArray on (ba, year)
        New firm data-centre load already connected in each target year [MW].
    threshold_growth_mw : float, {ba: MW} or DataArray on (ba, year)
        Added system capability by each target year [MW].

    Returns
    -------
    xarray.Dataset
        ``headroom`` [MW] on ``ba`` x ``year`` x ``limit``, plus
        ``curtailed_hours_per_year`` [h], ``load_scale`` [1], ``connected_mw`` [MW].
    """
    limits_pct = _check_limits(limits)
    load = check_hourly_load(load.transpose("ba", "time"))
    years = [int(y) for y in years]
    bas = [str(b) for b in load["ba"].values]
    base = int(base_year if base_year is not None else local_years(load.indexes["time"]).max())
    thr = seasonal_thresholds(load, threshold)
    if isinstance(growth, xr.DataArray):
        scale = _per_ba_year(growth, bas, years, "growth")
    else:
        rate = _per_ba_year(growth, bas, years, "growth")
        scale = (1.0 + rate) ** (xr.DataArray(years, dims="year", coords={"year": years}) - base)
    conn = _per_ba_year(connected_mw, bas, years, "connected_mw")
    extra = _per_ba_year(threshold_growth_mw, bas, years, "threshold_growth_mw")
    results = []
    for y in years:
        fut = load * scale.sel(year=y, drop=True) + conn.sel(year=y, drop=True)
        thr_y = (thr + extra.sel(year=y, drop=True)).rename("threshold").assign_attrs(thr.attrs)
        hr = flexible_headroom(fut, limits_pct, thr_y)
        results.append(hr[["headroom", "curtailed_hours_per_year", "share_hours_at_threshold"]])
    out = xr.concat(results, dim=xr.DataArray(years, dims="year", name="year"))
    out["load_scale"] = scale.assign_attrs(units="1", long_name="scaling of the existing load")
    out["connected_mw"] = conn.assign_attrs(units="MW", long_name="firm data-centre load connected")
    out["year"].attrs.update(long_name="target year")
    out.attrs.update({"title": "flexible-load headroom under load growth", "base_year": base,
                      "weather_years": f"{int(local_years(load.indexes['time']).min())}-{base}"})
    return out
