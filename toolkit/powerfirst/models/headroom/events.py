"""Curtailment events of a new load, and the flexibility a site needs to ride through them."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import xarray as xr

from powerfirst.models.headroom.solver import _shape_array, flexible_headroom
from powerfirst.models.headroom.thresholds import (
    DEFAULT_LIMITS,
    _check_limits,
    _timezones,
    check_hourly_load,
    local_years,
    seasonal_thresholds,
)

__all__ = ["curtailment_events", "site_flex_requirements"]


def _room_for(load: xr.DataArray, threshold) -> xr.DataArray:
    thr = threshold if isinstance(threshold, xr.DataArray) and threshold.name == "threshold" else \
        seasonal_thresholds(load, threshold)
    return (thr - load).rename("room")


def curtailment_events(load: xr.DataArray, new_load_mw: float, threshold="seasonal", *,
                       new_load: np.ndarray | xr.DataArray | None = None, tz: str | None = None) -> dict:
    """Hourly curtailment of a new load of peak ``new_load_mw`` [MW] in one BA, its events and heatmap.

    Parameters
    ----------
    load : xarray.DataArray
        Hourly load [MW] of one BA on ``time`` (UTC).
    new_load_mw : float
        Peak of the new load [MW].
    threshold : see :func:`seasonal_thresholds`
    new_load : array, optional
        Shape of the new load (peak-normalised); default flat.
    tz : str, optional
        Time zone for the month x hour heatmap (default the BA's).

    Returns
    -------
    dict with
        ``curtailment`` : DataArray [MW] on ``time`` (hourly curtailment);
        ``events`` : DataFrame (start [UTC], end, duration_h, depth_mw, energy_mwh);
        ``heatmap`` : DataArray [h] of curtailed hours on ``month`` x ``hour`` (local time);
        ``summary`` : dict of rate, hours per year, events per year, mean / max duration.
    """
    if new_load_mw < 0 or not np.isfinite(new_load_mw):
        raise ValueError(f"new_load_mw must be a finite, non-negative number of MW, found {new_load_mw!r}")
    if "ba" in load.dims:
        if load.sizes["ba"] != 1:
            raise ValueError("curtailment_events works on one BA; select it first (load.sel(ba=...))")
        load = load.isel(ba=0)
    load = check_hourly_load(load)
    room = _room_for(load, threshold).clip(min=0.0)
    shape = _shape_array(new_load, load)
    new = new_load_mw * shape
    c = np.maximum(0.0, new - room.values)
    curt = xr.DataArray(c, dims="time", coords={"time": load["time"]}, name="curtailment",
                        attrs={"units": "MW", "long_name": "curtailment of the new load"})
    on = c > 1e-9 * max(new_load_mw, 1.0)
    idx = np.flatnonzero(on)
    time = load.indexes["time"]
    if idx.size:
        brk = np.flatnonzero(np.diff(idx) > 1)
        starts = idx[np.r_[0, brk + 1]]
        ends = idx[np.r_[brk, idx.size - 1]]
        events = pd.DataFrame({
            "start": time[starts], "end": time[ends] + pd.Timedelta(hours=1),
            "duration_h": ends - starts + 1,
            "depth_mw": [c[a:b + 1].max() for a, b in zip(starts, ends, strict=True)],
            "energy_mwh": [c[a:b + 1].sum() for a, b in zip(starts, ends, strict=True)],
        })
    else:
        events = pd.DataFrame(columns=["start", "end", "duration_h", "depth_mw", "energy_mwh"])
    tz = tz or (str(load["timezone"].values) if "timezone" in load.coords else
                _timezones(load.expand_dims(ba=[str(load["ba"].values)]))[0] if "ba" in load.coords else "UTC")
    lt = time.tz_localize("UTC").tz_convert(tz)
    heat = np.zeros((12, 24))
    np.add.at(heat, (lt.month.to_numpy()[on] - 1, lt.hour.to_numpy()[on]), 1)
    heatmap = xr.DataArray(heat, dims=("month", "hour"), coords={"month": np.arange(1, 13), "hour": np.arange(24)},
                           name="curtailed_hours", attrs={"units": "h", "long_name": "curtailed hours",
                                                          "timezone": tz})
    years = local_years(time)
    n_years = np.unique(years).size
    rates = [c[years == y].sum() / new[years == y].sum() for y in np.unique(years) if new[years == y].sum() > 0]
    summary = {
        "new_load_mw": float(new_load_mw),
        "curtailment_rate": float(np.mean(rates)) if rates else 0.0,
        "curtailed_hours_per_year": float(on.sum() / n_years),
        "events_per_year": float(len(events) / n_years),
        "mean_event_hours": float(events["duration_h"].mean()) if len(events) else 0.0,
        "max_event_hours": int(events["duration_h"].max()) if len(events) else 0,
        "curtailed_energy_mwh_per_year": float(c.sum() / n_years),
    }
    return {"curtailment": curt, "events": events, "heatmap": heatmap, "summary": summary}


# ---------------------------------------------------------------------------
# what the headroom means for one site


def _lindley_deficit(draw: np.ndarray, recharge: np.ndarray) -> np.ndarray:
    """Storage deficit d_t = max(0, d_{t-1} + draw_t - recharge_t) (Lindley's recursion) [MWh]."""
    d = np.empty_like(draw)
    acc = 0.0
    for t in range(draw.size):
        acc = max(0.0, acc + draw[t] - recharge[t])
        d[t] = acc
    return d


try:  # compile the recursion when numba is present (it is a runtime dependency)
    import numba as _numba

    _lindley_deficit = _numba.njit(cache=False)(_lindley_deficit)
except ImportError:  # pragma: no cover
    pass


def site_flex_requirements(load: xr.DataArray, site_mw: float, limits: Sequence[float] = DEFAULT_LIMITS,
                           threshold="seasonal", *, share: str = "pro_rata", round_trip_efficiency: float = 0.88,
                           recharge_mw: float | None = None, headroom: xr.Dataset | None = None) -> xr.Dataset:
    """What curtailment a site of ``site_mw`` [MW] on a flexible connection must ride through.

    Two readings of "the site connects flexibly":

    * ``share='pro_rata'`` (default): the BA takes flexible load up to its
      headroom at each limit, and the site is one part of it, curtailed pro
      rata — its curtailment is ``c_t(H) * site_mw / H`` with ``H`` the
      headroom at that limit (when ``site_mw > H`` the site alone exceeds the
      headroom and is treated as the whole flexible load, ``H = site_mw``);
    * ``share='alone'``: the site is the only new load (``c_t(site_mw)``, the
      same at every limit).

    The storage that rides through every event starts full, discharges the
    curtailed power, and recharges from the grid when there is room under the
    threshold (at most ``recharge_mw``, default the site's size, times the
    round-trip efficiency); its energy is the largest deficit of that
    recursion, its power the deepest curtailment.  On-site generation instead
    needs the deepest curtailment as capacity and runs the curtailed MWh.

    Returns
    -------
    xarray.Dataset
        On ``limit`` [%]: ``hours_per_year`` [h], ``energy_per_year`` [MWh],
        ``longest_event_hours`` [h], ``events_per_year`` [1], ``storage_power``
        [MW], ``storage_energy`` [MWh], ``storage_duration`` [h],
        ``generation_capacity`` [MW], ``generation_energy_per_year`` [MWh],
        ``flexible_headroom`` [MW].
    """
    if not np.isfinite(site_mw) or site_mw <= 0:
        raise ValueError(f"site_mw must be a positive number of MW, found {site_mw!r}")
    if share not in ("pro_rata", "alone"):
        raise ValueError(f"share must be 'pro_rata' or 'alone', found {share!r}")
    if not 0 < round_trip_efficiency <= 1:
        raise ValueError(f"round_trip_efficiency must lie in (0, 1], found {round_trip_efficiency}")
    limits_pct = _check_limits(limits)
    if "ba" in load.dims:
        if load.sizes["ba"] != 1:
            raise ValueError("site_flex_requirements works on one BA; select it first")
        load = load.isel(ba=0)
    load = check_hourly_load(load)
    room = _room_for(load, threshold)
    if headroom is None and share == "pro_rata":
        name = str(load["ba"].values) if "ba" in load.coords else "BA"
        headroom = flexible_headroom(load.expand_dims(ba=[name]), limits_pct, threshold)
    years = local_years(load.indexes["time"])
    n_years = np.unique(years).size
    roomv = np.maximum(room.values, 0.0)
    recharge_mw = site_mw if recharge_mw is None else recharge_mw
    rows = []
    for lim in limits_pct:
        if share == "alone":
            h_ba = np.nan
            c = np.maximum(0.0, site_mw - roomv)
        else:
            h_ba = float(headroom["headroom"].sel(limit=lim).squeeze())
            total = max(h_ba, site_mw)
            c = np.maximum(0.0, total - roomv) * (site_mw / total)
        on = c > 1e-9 * site_mw
        starts = on & ~np.r_[False, on[:-1]]
        run = np.cumsum(starts) * on
        longest = int(np.bincount(run[run > 0]).max()) if on.any() else 0
        # recharge when the room under the threshold exceeds the site's own draw
        total_new = site_mw if share == "alone" else max(h_ba, site_mw)
        spare = np.clip(roomv - total_new, 0.0, None) * (site_mw / total_new)
        recharge = np.minimum(spare, recharge_mw) * round_trip_efficiency
        recharge = np.where(on, 0.0, recharge)
        deficit = _lindley_deficit(c.astype(float), recharge.astype(float))
        energy = float(deficit.max()) if on.any() else 0.0
        power = float(c.max())
        rows.append({
            "hours_per_year": on.sum() / n_years, "energy_per_year": c.sum() / n_years,
            "longest_event_hours": longest, "events_per_year": starts.sum() / n_years,
            "storage_power": power, "storage_energy": energy,
            "storage_duration": energy / power if power > 0 else 0.0,
            "generation_capacity": power, "generation_energy_per_year": c.sum() / n_years,
            "flexible_headroom": h_ba,
        })
    df = pd.DataFrame(rows, index=pd.Index(limits_pct, name="limit"))
    units = {"hours_per_year": ("h", "curtailed hours per year"),
             "energy_per_year": ("MWh", "curtailed energy per year"),
             "longest_event_hours": ("h", "longest curtailment event"),
             "events_per_year": ("1", "curtailment events per year"),
             "storage_power": ("MW", "storage power to ride through every event"),
             "storage_energy": ("MWh", "storage energy to ride through every event"),
             "storage_duration": ("h", "storage duration (energy / power)"),
             "generation_capacity": ("MW", "on-site generation to ride through every event"),
             "generation_energy_per_year": ("MWh", "on-site generation energy per year"),
             "flexible_headroom": ("MW", "BA flexible headroom at the limit")}
    ds = xr.Dataset.from_dataframe(df)
    for k, (u, ln) in units.items():
        ds[k].attrs.update(units=u, long_name=ln)
    ds["limit"].attrs.update(units="%", long_name="curtailment limit")
    ds.attrs.update(site_mw=float(site_mw), share=share, round_trip_efficiency=round_trip_efficiency)
    return ds


# ---------------------------------------------------------------------------
# headroom under load growth
