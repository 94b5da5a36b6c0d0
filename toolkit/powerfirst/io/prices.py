"""Hourly electricity prices: Open Power System Data (OPSD) time-series extracts.

OPSD's "Time series" package (compiled from the ENTSO-E Transparency Platform) carries
day-ahead prices in columns named ``<zone>_price_day_ahead``, in the zone's own currency per
MWh (GBP for Great Britain), with a ``utc_timestamp`` column.  :func:`read_opsd_prices` reads
one column as an hourly series on UTC time, converts it to USD at a rate the caller gives,
and reports missing hours: it fills gaps of up to ``fill_gaps_h`` hours by linear interpolation
(with a warning) and refuses longer ones.

The file is checked before anything is computed, and every problem is reported at once with
file, row (line) and column: text that is not UTF-8 (read as Windows-1252 with a warning, or
refused with its byte offset), rows whose number of fields differs from the header's (a file
cut short ends in the middle of a row), timestamps that do not parse or are not on the hour,
prices that are not numbers (``'30,04'``, ``'n/a'``; an empty cell is a missing hour), the same
hour twice with different prices, and a column with no price at all.
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
    from powerfirst.io.eia930 import _csv_frame

    file = str(path)
    what = "an OPSD time-series CSV (utc_timestamp and *_price_day_ahead columns)"
    wanted = column
    table = _csv_frame(path, what=what, usecols=lambda c: c in ("utc_timestamp", wanted) or "price" in c)
    head = table.columns
    if "utc_timestamp" not in head:
        raise DataFormatError(f"{path}: no 'utc_timestamp' column; expected {what}")
    if column is None:
        cands = [c for c in head if c.endswith("_price_day_ahead")]
        if len(cands) != 1:
            raise DataFormatError(f"{path}: {len(cands)} '*_price_day_ahead' columns ({cands}); pass column=")
        column = cands[0]
    elif column not in head:
        raise DataFormatError(f"{path}: column {column!r} not found; price columns are "
                              f"{[c for c in head if 'price' in c]}")
    df = table[["utc_timestamp", column]]
    rows = np.arange(1, len(df) + 1)
    problems: list[Problem] = []
    stamp = df["utc_timestamp"].str.strip()
    t = pd.to_datetime(stamp, utc=True, errors="coerce", format="ISO8601")
    for i in np.flatnonzero(t.isna().to_numpy())[:20]:
        problems.append(Problem(f"not a timestamp: {stamp.iloc[i]!r} (expected ISO 8601 UTC, e.g. "
                                "2019-10-01T00:00:00Z)", file=file, row=int(rows[i]), line=int(rows[i]) + 1,
                                column="utc_timestamp"))
    t = pd.DatetimeIndex(t).tz_localize(None)
    off = np.flatnonzero(~t.isna() & ((t.minute != 0) | (t.second != 0)))
    if off.size:
        problems.append(Problem(f"{off.size} timestamps are not on the hour (first {stamp.iloc[off[0]]!r}, row "
                                f"{int(rows[off[0]])}); expected hourly data (the 60min OPSD package)", file=file,
                                row=int(rows[off[0]]), column="utc_timestamp"))
    text = df[column].str.strip()
    num = np.array(pd.to_numeric(text, errors="coerce").to_numpy(dtype=float, na_value=np.nan))
    unread = np.flatnonzero((text != "").to_numpy() & ~np.isfinite(num))
    for i in unread[:20]:
        problems.append(Problem(f"expected a price [{currency} MWh-1], found {text.iloc[i]!r}", file=file,
                                row=int(rows[i]), line=int(rows[i]) + 1, column=column))
    if unread.size > 20:
        problems.append(Problem(f"... and {unread.size - 20} more unreadable prices", file=file, column=column))
    num[unread] = np.nan
    s = pd.Series(num, index=t)
    dup = s.index.duplicated(keep=False) & ~s.index.isna()
    if dup.any():
        clash = s[dup].groupby(level=0).nunique(dropna=False)
        clash = clash[clash > 1]
        if len(clash):
            i = int(np.flatnonzero(dup & s.index.isin(clash.index))[0])
            problems.append(Problem(f"{len(clash)} hours appear more than once with different prices (first "
                                    f"{clash.index[0]}, row {int(rows[i])}); keep one row per hour", file=file,
                                    row=int(rows[i]), column="utc_timestamp"))
    if not problems and not np.isfinite(num).any():
        problems.append(Problem(f"no price in any of the {len(df)} rows", file=file, column=column))
    if problems:
        raise ValidationError(problems, what=file)
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
