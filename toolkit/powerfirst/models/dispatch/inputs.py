r"""Hourly inputs of the site dispatch besides the energy cube: grid price and curtailment events.

Grid price
    :func:`stylised_price` is a **documented default shape**, not a market series: a base price
    (45 USD/MWh) scaled by a seasonal factor (summer peak, smaller winter bump) and a diurnal
    factor in local time (night trough around 03:30, morning shoulder around 08:00, midday dip
    where solar depresses prices, evening peak around 18:30), 10 % lower at weekends.  Use a
    real day-ahead series for any decision (``price=`` of
    :func:`powerfirst.models.dispatch.dispatch`; :func:`powerfirst.io.prices.read_opsd_prices`
    reads the Open Power System Data extracts), aligned to the typical year with
    :func:`align_to_typical_year`.
Curtailment events
    The non-firm part of a flexible connection is curtailed when the balancing authority runs
    out of room under its planning threshold (:mod:`powerfirst.models.headroom`).
    :func:`curtailment_profiles` turns a BA's hourly load into the hourly **curtailed fraction**
    :math:`\kappa_t \in [0, 1]` of a non-firm connection: with the BA's flexible headroom
    :math:`H` at a curtailment limit and the room :math:`h_t^+` under the threshold, a flexible
    load of :math:`H` is curtailed by :math:`c_t = \max(0, H - h_t^+)` and a site that is one
    part of it pro rata by :math:`\kappa_t = c_t / H` (``share='pro_rata'``); a site alone with
    a non-firm connection of :math:`N` MW by :math:`\max(0, N - h_t^+) / N` (``share='alone'``).
    One year of the BA's history is laid onto the typical year hour by hour (month, day and
    hour kept; 29 February dropped), so the events keep their real timing against the
    calendar but not against the typical year's weather: a documented simplification.
    :func:`stylised_curtailment` is an illustrative default for demos without grid data.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
import xarray as xr

from powerfirst.errors import Problem, ValidationError

__all__ = ["stylised_price", "stylised_curtailment", "align_to_typical_year", "curtailment_profiles", "curtailment_for",
           "prices_for",
           "DEFAULT_PRICE_BASE"]

#: ASSUMPTION: base of the stylised price shape [USD MWh-1] (order of recent US wholesale averages).
DEFAULT_PRICE_BASE = 45.0


def _bump(h, centre, width):
    d = np.mod(h - centre + 12.0, 24.0) - 12.0
    return np.exp(-0.5 * (d / width) ** 2)


def stylised_price(time: pd.DatetimeIndex, utc_offset: float = 0.0, base: float = DEFAULT_PRICE_BASE) -> np.ndarray:
    """Stylised hourly day-ahead price [USD MWh-1] (see the module docstring; illustrative only).

    Parameters
    ----------
    time : pandas.DatetimeIndex
        Hour-beginning UTC hours.
    utc_offset : float
        Local time minus UTC of the market [h].
    base : float
        Mean level before the seasonal and diurnal factors [USD MWh-1].
    """
    t0 = pd.Timestamp(time[0]).normalize()
    hours = np.asarray((time - t0) / pd.Timedelta(hours=1), float) + float(utc_offset)
    h = np.mod(hours, 24.0)
    doy = np.asarray(time.day_of_year, float)
    season = 0.15 * np.cos(2 * np.pi * (doy - 200) / 365.25) + 0.08 * np.cos(4 * np.pi * (doy - 15) / 365.25)
    sunny = 0.5 + 0.5 * np.cos(2 * np.pi * (doy - 150) / 365.25)  # midday dip deepest in late spring
    diurnal = (1.0 - 0.22 * _bump(h, 3.5, 2.5) + 0.12 * _bump(h, 8.0, 1.6)
               - 0.15 * sunny * _bump(h, 13.0, 2.2) + 0.45 * _bump(h, 18.5, 2.0))
    weekday = np.mod(int(t0.day_of_week) + np.floor(hours / 24.0), 7)
    weekend = np.where(weekday >= 5, 0.9, 1.0)
    return float(base) * (1.0 + season) * diurnal * weekend


def stylised_curtailment(time: pd.DatetimeIndex, utc_offset: float = 0.0, *, summer_events: int = 12,
                         summer_hours: int = 4, winter_events: int = 5, winter_hours: int = 3) -> np.ndarray:
    """Illustrative curtailed fraction [1] of a non-firm connection: a few events a year, not data.

    Summer events on the first weekdays of July and August at 15:00-19:00 local time (every
    third weekday), winter events on January weekday mornings at 07:00-10:00, each curtailing
    the whole non-firm connection; about 60 hours a year, the order of magnitude Norris et al.
    (2025) find at a 0.5 % curtailment limit.  Use :func:`curtailment_profiles` with real
    balancing-authority load for any study.
    """
    t0 = pd.Timestamp(time[0]).normalize()
    hours = np.asarray((time - t0) / pd.Timedelta(hours=1), float) + float(utc_offset)
    local = t0 + pd.to_timedelta(hours, unit="h")
    h = local.hour.to_numpy()
    month = local.month.to_numpy()
    weekday = local.day_of_week.to_numpy()
    day_key = local.normalize()
    out = np.zeros(len(time))
    for months, first, n_events, length in (((7, 8), 15, summer_events, summer_hours),
                                            ((1,), 7, winter_events, winter_hours)):
        days = pd.DatetimeIndex(sorted(set(day_key[np.isin(month, months) & (weekday < 5)])))
        chosen = days[::3][:n_events]
        on = np.isin(day_key, chosen) & (h >= first) & (h < first + length)
        out[on] = 1.0
    return out


def align_to_typical_year(series: xr.DataArray, time: pd.DatetimeIndex, *, year: int | None = None,
                          name: str = "series") -> xr.DataArray:
    """Lay an hourly series onto the typical-year hours ``time`` by month, day and hour.

    Parameters
    ----------
    series : xarray.DataArray
        Hourly values on ``time`` (UTC), any other dims kept.
    time : pandas.DatetimeIndex
        The typical year's hours (e.g. the energy cube's ``time``).
    year : int, optional
        Calendar year of ``series`` to use when it covers several (default: the only one, or
        the year of ``time`` when present, else the last year with every hour).
    name : str
        Used in error messages.

    Raises
    ------
    ValidationError
        When an hour of the typical year has no value in the chosen year.
    """
    src = pd.DatetimeIndex(series.indexes["time"])
    key_src = src.strftime("%m-%d %H").to_numpy()
    years = src.year.to_numpy()
    dup = pd.Series(key_src).duplicated().to_numpy()
    if dup.any() and year is None and len(src) < 2 * 8760:  # about one year (e.g. Oct-Sep): each hour once
        keep = ~dup
        series = series.isel(time=np.flatnonzero(keep))
        src, key_src, years = src[keep], key_src[keep], years[keep]
    elif dup.any():  # several years: choose one
        if year is None:
            target = int(pd.Timestamp(time[0]).year)
            full = [y for y in np.unique(years) if (years == y).sum() >= 8760]
            year = target if target in full else (full[-1] if full else int(years.max()))
        keep = years == int(year)
        series = series.isel(time=np.flatnonzero(keep))
        src, key_src = src[keep], key_src[keep]
        if pd.Series(key_src).duplicated().any():
            raise ValidationError([Problem(f"{name}: duplicated hours in {year}", variable=name)],
                                  what=f"typical-year alignment of {name}")
    key_dst = pd.DatetimeIndex(time).strftime("%m-%d %H").to_numpy()
    pos = pd.Index(key_src).get_indexer(key_dst)
    missing = np.flatnonzero(pos < 0)
    if missing.size:
        raise ValidationError([Problem(
            f"{missing.size} hours of the typical year have no value in {name} "
            f"(first {pd.Timestamp(time[missing[0]])}; the source covers {src[0]} to {src[-1]}); "
            "give a series that covers every month, day and hour of a year", variable=name)],
            what=f"typical-year alignment of {name}")
    out = series.isel(time=pos).assign_coords(time=pd.DatetimeIndex(time))
    out.attrs = {**series.attrs, "typical_year_alignment": (
        f"values of {int(pd.DatetimeIndex(src).year.min())}-{int(pd.DatetimeIndex(src).year.max())} laid onto "
        f"the typical year by month, day and hour (29 February dropped)")}
    return out


def curtailment_profiles(load: xr.DataArray, time: pd.DatetimeIndex, *, limit: float = 0.5,
                         share: str = "pro_rata", connection_mw: float | Mapping | None = None,
                         threshold="seasonal", year: int | None = None) -> xr.DataArray:
    r"""Hourly curtailed fraction of a non-firm connection in each BA, on the typical year.

    Parameters
    ----------
    load : xarray.DataArray
        Hourly BA load [MW] on (``ba``, ``time``) — e.g. ``grid["demand"]`` of a grid cube.
    time : pandas.DatetimeIndex
        The typical year's hours (the energy cube's ``time``).
    limit : float
        Curtailment limit [%] of the BA's flexible headroom (``share='pro_rata'``).
    share : {'pro_rata', 'alone'}
        The site is one part of the BA's flexible load of its headroom at ``limit``, curtailed
        pro rata; or the only new load, with a non-firm connection of ``connection_mw``.
    connection_mw : float or {ba: MW}, optional
        Non-firm connection [MW] for ``share='alone'``.
    threshold : see :func:`powerfirst.models.headroom.seasonal_thresholds`
        The thresholds are set on the whole history of ``load``; the events of one year are used.
    year : int, optional
        Year of the history laid onto the typical year (see :func:`align_to_typical_year`).

    Returns
    -------
    xarray.DataArray
        ``curtailment`` [1] on (``ba``, ``time``) with the BA's ``headroom_mw`` coordinate.
    """
    from powerfirst.models.headroom import check_hourly_load, flexible_headroom, seasonal_thresholds

    if share not in ("pro_rata", "alone"):
        raise ValueError(f"share must be 'pro_rata' or 'alone', found {share!r}")
    if "ba" not in load.dims:
        raise ValidationError([Problem("load must be on (ba, time)", variable="load")], what="curtailment profiles")
    load = check_hourly_load(load.transpose("ba", "time"))
    thr = seasonal_thresholds(load, threshold)
    room = np.maximum((thr - load).values, 0.0)
    bas = [str(b) for b in load["ba"].values]
    if share == "pro_rata":
        hr = flexible_headroom(load, [limit], thr)["headroom"].isel(limit=0).values.astype(float)
        size = hr
    else:
        if connection_mw is None:
            raise ValueError("share='alone' needs connection_mw (the non-firm connection [MW])")
        size = np.array([float(connection_mw[b]) if isinstance(connection_mw, Mapping) else float(connection_mw)
                         for b in bas])
        if (size <= 0).any():
            raise ValueError(f"connection_mw must be positive, found {size.tolist()}")
    with np.errstate(divide="ignore", invalid="ignore"):
        kappa = np.where(size[:, None] > 0, np.maximum(0.0, size[:, None] - room) / size[:, None],
                         (room <= 0).astype(float))
    da = xr.DataArray(np.clip(kappa, 0.0, 1.0), dims=("ba", "time"),
                      coords={"ba": bas, "time": load["time"].values}, name="curtailment")
    out = align_to_typical_year(da, pd.DatetimeIndex(time), year=year, name="curtailment")
    out = out.assign_coords(headroom_mw=("ba", size if share == "pro_rata" else np.full(len(bas), np.nan)))
    out.attrs = {"units": "1", "long_name": "curtailed fraction of the non-firm connection",
                 "source": (f"{share} share of the flexible load at the {limit:g} % limit" if share == "pro_rata"
                            else "site alone with its non-firm connection"),
                 "typical_year_alignment": out.attrs.get("typical_year_alignment", "")}
    return out


def curtailment_for(bas, time: pd.DatetimeIndex, load: xr.DataArray | None = None, *, limit: float = 0.5,
                    fill: str = "stylised", year: int | None = None) -> xr.DataArray:
    """Curtailed fraction [1] of every BA in ``bas`` on the typical year: from the BA's hourly ``load`` where
    the grid cube has it (:func:`curtailment_profiles`), else stylised events (``fill='stylised'``, illustrative)
    or none (``fill='none'``).  The coordinate ``curtailment_source`` on ``ba`` says which."""
    if fill not in ("stylised", "none"):
        raise ValueError(f"fill must be 'stylised' or 'none', found {fill!r}")
    bas = sorted({str(b) for b in bas})
    have = set(map(str, load["ba"].values)) if load is not None else set()
    real = [b for b in bas if b in have]
    rows, src = {}, {}
    if real:
        prof = curtailment_profiles(load.sel(ba=real), time, limit=limit, year=year)
        for b in real:
            rows[b] = np.asarray(prof.sel(ba=b).values, dtype=float)
            src[b] = f"EIA-930 load, pro rata at the {limit:g} % limit"
    if len(rows) < len(bas):
        for b in bas:
            if b in rows:
                continue
            if fill == "none":
                rows[b], src[b] = np.zeros(len(time)), "none"
                continue
            rows[b], src[b] = stylised_curtailment(pd.DatetimeIndex(time), _tz_offset(b)), "stylised (illustrative)"
    da = xr.DataArray(np.stack([rows[b] for b in bas]), dims=("ba", "time"),
                      coords={"ba": bas, "time": pd.DatetimeIndex(time),
                              "curtailment_source": ("ba", [src[b] for b in bas])},
                      name="curtailment",
                      attrs={"units": "1", "long_name": "curtailed fraction of the non-firm connection",
                             "source": "; ".join(sorted(set(src.values())))})
    return da


def _tz_offset(ba: str) -> float:
    """Standard-time UTC offset of a BA's time zone [h] (0 when unknown)."""
    from powerfirst.schema.tables import _grids

    g = _grids()
    tz = g.at[ba, "timezone"] if ba in g.index and isinstance(g.at[ba, "timezone"], str) else "UTC"
    return pd.Timestamp("2023-01-15").tz_localize(tz).utcoffset().total_seconds() / 3600


def prices_for(bas, time: pd.DatetimeIndex, series: Mapping[str, xr.DataArray] | None = None, *,
               base: float = DEFAULT_PRICE_BASE) -> xr.DataArray:
    """Hourly price [USD MWh-1] of every BA in ``bas`` on ``time``: the given ``series`` (already on ``time``,
    e.g. from :func:`align_to_typical_year`) where there is one, else :func:`stylised_price` in the BA's local
    time (illustrative).  The coordinate ``price_source`` on ``ba`` says which."""
    bas = sorted({str(b) for b in bas})
    series = dict(series or {})
    unknown = sorted(set(series) - set(bas))
    if unknown:
        raise ValueError(f"price series given for BAs that are not in the list: {unknown}")
    rows, src = [], []
    for b in bas:
        if b in series:
            s = series[b]
            if "time" not in s.dims or not pd.DatetimeIndex(s.indexes["time"]).equals(pd.DatetimeIndex(time)):
                raise ValidationError([Problem("price series not on the typical year's hours; use "
                                               "align_to_typical_year", variable="price", site=b)],
                                      what="prices")
            rows.append(np.asarray(s.values, dtype=float))
            src.append(str(s.attrs.get("source", "user series")))
        else:
            rows.append(stylised_price(pd.DatetimeIndex(time), _tz_offset(b), base))
            src.append("stylised (illustrative)")
    return xr.DataArray(np.stack(rows), dims=("ba", "time"),
                        coords={"ba": bas, "time": pd.DatetimeIndex(time), "price_source": ("ba", src)},
                        name="price", attrs={"units": "USD MWh-1", "long_name": "grid price",
                                             "source": "; ".join(sorted(set(src)))})
