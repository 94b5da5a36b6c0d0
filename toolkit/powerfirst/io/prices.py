"""Hourly electricity prices: Open Power System Data (OPSD) time-series extracts.

OPSD's "Time series" package (compiled from the ENTSO-E Transparency Platform) carries
day-ahead prices in columns named ``<zone>_price_day_ahead``, in the zone's own currency per
MWh (GBP for Great Britain), with a ``utc_timestamp`` column.  :func:`read_opsd_prices` reads
one column as an hourly series on UTC time, converts it to USD at a rate the caller gives,
and reports missing hours: it fills gaps of up to ``fill_gaps_h`` hours by linear interpolation
(with a warning) and refuses longer ones.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from powerfirst.errors import DataFormatError, Problem, ValidationError

__all__ = ["read_opsd_prices"]


def read_opsd_prices(path, column: str | None = None, *, currency: str = "GBP", usd_per_unit: float | None = None,
                     fill_gaps_h: int = 0) -> xr.DataArray:
    """One day-ahead price column of an OPSD time-series CSV as an hourly series [USD MWh-1].

    Parameters
    ----------
    path : path-like
        OPSD ``time_series_60min_singleindex`` CSV (or an extract with ``utc_timestamp``).
    column : str, optional
        Price column; default the only ``*_price_day_ahead`` column.
    currency : str
        Currency of the column (OPSD keeps each zone's own).
    usd_per_unit : float
        USD per unit of ``currency`` (required unless ``currency='USD'``): state the rate you assume.
    fill_gaps_h : int
        Fill gaps of up to this many hours by linear interpolation (a warning names them);
        default 0 raises on any missing hour.

    Returns
    -------
    xarray.DataArray
        ``price`` [USD MWh-1] on ``time`` (UTC, timezone-naive, hour-beginning) with attrs
        ``source``, ``currency``, ``usd_per_unit``, ``filled_hours``.

    Raises
    ------
    FileNotFoundError, DataFormatError, ValidationError
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"price file not found: {path}")
    if currency != "USD" and (usd_per_unit is None or not usd_per_unit > 0):
        raise ValueError(f"prices in {currency}: give usd_per_unit (USD per {currency}), e.g. the average rate "
                         "of the period")
    rate = 1.0 if currency == "USD" else float(usd_per_unit)
    head = pd.read_csv(path, nrows=0).columns
    if "utc_timestamp" not in head:
        raise DataFormatError(f"{path}: no 'utc_timestamp' column; expected an OPSD time-series CSV")
    if column is None:
        cands = [c for c in head if c.endswith("_price_day_ahead")]
        if len(cands) != 1:
            raise DataFormatError(f"{path}: {len(cands)} '*_price_day_ahead' columns ({cands}); pass column=")
        column = cands[0]
    elif column not in head:
        raise DataFormatError(f"{path}: column {column!r} not found; price columns are "
                              f"{[c for c in head if 'price' in c]}")
    df = pd.read_csv(path, usecols=["utc_timestamp", column])
    t = pd.to_datetime(df["utc_timestamp"], utc=True).dt.tz_localize(None)
    s = pd.Series(pd.to_numeric(df[column], errors="coerce").to_numpy(float), index=pd.DatetimeIndex(t))
    s = s[~s.index.duplicated(keep="first")].sort_index()
    full = pd.date_range(s.index[0], s.index[-1], freq="h")
    s = s.reindex(full)
    nan = s.isna().to_numpy()
    filled = []
    if nan.any():
        runs = np.split(np.flatnonzero(nan), np.flatnonzero(np.diff(np.flatnonzero(nan)) > 1) + 1)
        long = [r for r in runs if len(r) > fill_gaps_h]
        if long:
            problems = [Problem(f"{len(r)} missing hours from {full[r[0]]} (fill_gaps_h={fill_gaps_h}; pass a larger "
                                "value to interpolate short gaps)", file=str(path), column=column) for r in long[:20]]
            raise ValidationError(problems, what=str(path))
        filled = [str(full[i]) for r in runs for i in r]
        s = s.interpolate(limit_area="inside").bfill().ffill()
        warnings.warn(f"{path.name}: filled {len(filled)} missing hours of {column} by linear interpolation "
                      f"({', '.join(filled[:5])}{' ...' if len(filled) > 5 else ''})", stacklevel=2)
    da = xr.DataArray(s.to_numpy() * rate, dims="time", coords={"time": full}, name="price")
    da.attrs = {"units": "USD MWh-1", "long_name": "day-ahead price", "source": f"{path.name}:{column}",
                "currency": currency, "usd_per_unit": rate, "filled_hours": len(filled)}
    return da
