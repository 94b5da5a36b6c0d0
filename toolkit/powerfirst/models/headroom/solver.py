"""The exact flexible-load headroom solver (method in :mod:`powerfirst.models.headroom`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import xarray as xr

from powerfirst.models.headroom._kernel import _solve_kernel, _stats_kernel
from powerfirst.models.headroom.thresholds import (
    DEFAULT_LIMITS,
    SeasonalRule,
    _check_limits,
    check_hourly_load,
    local_years,
    seasonal_thresholds,
)

__all__ = ["flexible_headroom", "headroom_reasons"]


def _year_codes(time: pd.DatetimeIndex, years: Sequence[int] | None):
    yrs = local_years(time)
    keep = np.ones(time.size, bool) if years is None else np.isin(yrs, list(years))
    uniq = np.unique(yrs[keep])
    codes = np.searchsorted(uniq, yrs)
    return keep, codes, uniq


def flexible_headroom(load: xr.DataArray, limits: Sequence[float] = DEFAULT_LIMITS,
                      threshold: xr.DataArray | SeasonalRule | str | float | Mapping = "seasonal", *,
                      years: Sequence[int] | None = None, new_load: xr.DataArray | np.ndarray | None = None,
                      repair: bool = False) -> xr.Dataset:
    """Headroom for a new flexible load at each curtailment limit, per balancing authority.

    Parameters
    ----------
    load : xarray.DataArray
        Hourly load [MW] on (``ba``, ``time``), UTC, hour-beginning, gap-free.
        May be Dask-backed (chunked along ``ba``): the result is then lazy.
    limits : sequence of float
        Curtailment limits [%], each in (0, 100).
    threshold : see :func:`seasonal_thresholds`
        Threshold rule, or a threshold DataArray [MW].
    years : list of int, optional
        Years (UTC calendar years) whose hours count; default all.
    new_load : DataArray or array, optional
        Shape of the new load on ``time`` (scaled to a peak of 1); default flat.
        E.g. an inference load's daily shape.
    repair : bool
        Repair gaps/duplicates with a warning instead of raising
        (see :func:`check_hourly_load`).

    Returns
    -------
    xarray.Dataset
        On ``ba`` x ``limit`` [%]: ``headroom`` [MW] (peak of the new load),
        ``curtailment_rate`` [1] (mean over years at the headroom),
        ``rate_by_year`` [1] (``year``), ``curtailed_hours_per_year`` [h],
        ``curtailed_hours_by_year`` [h], ``mean_event_hours`` [h],
        ``max_event_hours`` [h], ``events_per_year`` [1],
        ``share_hours_half_served`` [1], ``curtailed_energy_per_year``
        [MWh], and ``reason`` (text, empty when headroom > 0).
    """
    limits_pct = _check_limits(limits)
    if not isinstance(load, xr.DataArray):
        raise TypeError(f"load must be an xarray.DataArray on (ba, time), found {type(load).__name__}")
    one_ba = "ba" not in load.dims
    if one_ba:
        load = load.expand_dims(ba=[load.attrs.get("ba", "BA")])
    load = check_hourly_load(load.transpose("ba", "time"), repair=repair)
    thr = threshold if isinstance(threshold, xr.DataArray) and threshold.name == "threshold" else \
        seasonal_thresholds(load.compute() if load.chunks else load, threshold, years=years)
    if "ba" not in thr.dims:
        thr = thr.expand_dims(ba=load["ba"].values)
    time = load.indexes["time"]
    keep, codes, uniq = _year_codes(time, years)
    if not keep.all():
        load, thr = load.isel(time=keep), thr.isel(time=keep)
        codes = codes[keep]
        codes = np.searchsorted(np.unique(codes), codes)
    shape = _shape_array(new_load, load)
    room = (thr - load).clip(min=0.0)
    room = room.chunk({"time": -1}) if room.chunks else room
    fr = limits_pct / 100.0

    def solve(room_b, shape_b):
        return _solve_kernel(room_b, shape_b, codes, fr)

    shape_da = xr.DataArray(np.broadcast_to(shape, room.shape), dims=room.dims, coords=room.coords)
    if room.chunks:
        shape_da = shape_da.chunk(dict(zip(room.dims, room.chunks, strict=True)))
    head = xr.apply_ufunc(solve, room, shape_da, input_core_dims=[["time"], ["time"]],
                          output_core_dims=[["limit"]], dask="parallelized", output_dtypes=[float],
                          dask_gufunc_kwargs={"output_sizes": {"limit": fr.size}})
    head = head.assign_coords(limit=limits_pct)
    # statistics at the headroom
    n_years = uniq.size if keep.all() else np.unique(codes).size

    def stats(room_b, shape_b, peak_b):
        out = []
        for j in range(peak_b.shape[-1]):
            pk = np.where(np.isfinite(peak_b[..., j]), peak_b[..., j], 0.0)
            rates, hours, mean_ev, max_ev, share, n_ev = _stats_kernel(room_b, shape_b, codes, pk)
            energy = np.stack([(np.maximum(0.0, pk[..., None] * shape_b - np.maximum(room_b, 0))).sum(-1)], -1)
            out.append((rates, hours, mean_ev, max_ev, share, n_ev, energy[..., 0]))
        cols = list(zip(*out, strict=True))
        rates = np.stack(cols[0], -2)  # (ba, limit, year)
        hours = np.stack(cols[1], -2)
        scal = [np.stack(c, -1) for c in cols[2:]]  # (ba, limit)
        return (rates, hours, *scal)

    outs = xr.apply_ufunc(
        stats, room, shape_da, head,
        input_core_dims=[["time"], ["time"], ["limit"]],
        output_core_dims=[["limit", "year"], ["limit", "year"], ["limit"], ["limit"], ["limit"], ["limit"],
                          ["limit"]],
        dask="parallelized", output_dtypes=[float] * 7,
        dask_gufunc_kwargs={"output_sizes": {"year": n_years, "limit": fr.size}},
    )
    rates, hours, mean_ev, max_ev, share, n_ev, energy = outs
    year_vals = uniq if keep.all() else np.unique(local_years(time)[keep])
    rates = rates.assign_coords(year=year_vals)
    hours = hours.assign_coords(year=year_vals)
    ds = xr.Dataset({
        "headroom": head.assign_attrs(units="MW", long_name="flexible-load headroom",
                                      comment="peak of the new load whose mean annual curtailment rate equals the limit"),
        "curtailment_rate": rates.mean("year").assign_attrs(units="1", long_name="mean annual curtailment rate"),
        "rate_by_year": rates.assign_attrs(units="1", long_name="curtailment rate by year"),
        "curtailed_hours_per_year": hours.mean("year").assign_attrs(units="h",
                                                                   long_name="curtailed hours per year"),
        "curtailed_hours_by_year": hours.assign_attrs(units="h", long_name="curtailed hours by year"),
        "mean_event_hours": mean_ev.assign_attrs(units="h", long_name="mean curtailment event duration"),
        "max_event_hours": max_ev.assign_attrs(units="h", long_name="longest curtailment event"),
        "events_per_year": (n_ev / n_years).assign_attrs(units="1", long_name="curtailment events per year"),
        "share_hours_half_served": share.assign_attrs(
            units="1", long_name="share of curtailed hours with at least half of the new load served"),
        "curtailed_energy_per_year": (energy / n_years).assign_attrs(units="MWh",
                                                                    long_name="curtailed energy per year"),
    })
    ds["limit"].attrs.update(units="%", long_name="curtailment limit")
    at = ((room <= 0) & (shape_da > 0)).mean("time")
    ds["share_hours_at_threshold"] = at.assign_attrs(
        units="1", long_name="share of hours in which the load already reaches the threshold")
    if not head.chunks:
        ds["reason"] = headroom_reasons(ds)
    ds.attrs.update({"title": "flexible-load headroom (Norris et al. 2025 method)",
                     "threshold_rule": thr.attrs.get("rule", ""),
                     "years": f"{int(year_vals[0])}-{int(year_vals[-1])}",
                     "new_load_shape": "flat" if new_load is None else "shaped (peak-normalised)",
                     "references": "Norris et al. (2025), Rethinking Load Growth, Duke Nicholas Institute"})
    if "summer_peak_mw" in thr.coords:
        ds = ds.assign_coords(summer_peak_mw=thr["summer_peak_mw"].assign_attrs(units="MW"),
                              winter_peak_mw=thr["winter_peak_mw"].assign_attrs(units="MW"))
    return ds.isel(ba=0) if one_ba else ds


def _shape_array(new_load, load: xr.DataArray) -> np.ndarray:
    n = load.sizes["time"]
    if new_load is None:
        return np.ones(n)
    s = new_load.reindex(time=load["time"]).values if isinstance(new_load, xr.DataArray) else np.asarray(new_load)
    s = np.asarray(s, dtype=float)
    if s.shape[-1] != n:
        raise ValueError(f"new_load has {s.shape[-1]} hours, the load has {n}")
    if not np.isfinite(s).all() or (s < 0).any() or s.max() <= 0:
        raise ValueError("new_load must be finite, non-negative and not all zero")
    return s / s.max()


def headroom_reasons(ds: xr.Dataset) -> xr.DataArray:
    """Why a headroom is 0 (text on ``ba`` x ``limit``; empty where the headroom is positive)."""
    head = ds["headroom"].compute()
    at = ds["share_hours_at_threshold"].compute()
    out = np.full(head.shape, "", dtype=object)
    for idx in np.ndindex(head.shape):
        if head.values[idx] <= 0:
            share = float(at.values[idx[:-1]] if at.ndim else at.values)
            out[idx] = (f"load already reaches the threshold in {100 * share:.2f} % of hours, above the "
                        f"{float(head['limit'].values[idx[-1]]):g} % limit")
    return xr.DataArray(out.astype(str), dims=head.dims, coords=head.coords, name="reason",
                        attrs={"long_name": "why the headroom is zero", "units": "1"})


# ---------------------------------------------------------------------------
# reference implementation
