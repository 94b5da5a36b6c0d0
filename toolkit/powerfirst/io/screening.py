"""Anomaly screening and filling of raw hourly demand.

Raw EIA-930 demand carries real defects: hours with no row, cells marked
``EMPTY`` / ``MISSING`` or null, zeros and negatives, spikes (PJM reported
2,147,480,000 MW on 2021-10-19 04:00 UTC, SWPP 3,621,097 MW on 2023-06-13
02:00 UTC), and, in local-time files, repeated or missing hours around the
daylight-saving changes.  :func:`screen_demand` flags every such hour in a bit
mask and fills it by a documented method; nothing is dropped and no flagged
value is used.

Flags (bit values of the ``flag`` variable)
-------------------------------------------
==========  ===  ============================================================
MISSING       1  the hour has no row in the source (gap in time)
EMPTY         2  the row exists but the value is empty, ``EMPTY``, ``MISSING``
                 or null
ZERO          4  the value is zero or negative
SPIKE_HIGH    8  implausibly high: above ``global_factor`` x the series median,
                 or a local spike (see below)
SPIKE_LOW    16  implausibly low: a local dip (see below)
DUPLICATE    32  the timestamp appears more than once in the source; the
                 first value is kept (the others are listed in the report)
SOURCE       64  the source's own screening marked the value (e.g. a category
                 other than OKAY in the Ruggles et al. releases)
FILLED      128  the value in ``demand`` was filled, not taken from the source
STUCK       256  part of a run of ``stuck_hours`` or more identical values (a
                 stuck meter); all but the first value of the run are flagged
==========  ===  ============================================================

Detection (after removing empty, zero and globally extreme values)
------------------------------------------------------------------
* *Global*: ``x > global_factor * median(x)`` (default 4), i.e. far above any
  plausible peak of the same series.
* *Local*: let ``m`` be the centred 48-hour rolling median and ``d`` the
  median absolute hour-to-hour change over the centred 14-day window. A value
  is a local spike when ``|x - m| > local_factor * max(d, rel_floor * m)``
  (defaults 6 and 0.02) *and* it jumps away from both neighbours in the same
  direction by more than ``delta_factor * d`` (default 6), or when it lies more
  than ``far_factor`` (default 0.6) of ``m`` away from ``m``.  The two-sided
  jump condition keeps genuine peaks, which rise and fall over hours, from
  being flagged.  The tests run until no new value is flagged (at most 5
  passes), so that multi-hour spikes are removed from the outside in.

Filling
-------
* gaps of up to ``max_interp_hours`` (default 3) consecutive hours: linear
  interpolation between the valid neighbours;
* longer gaps: for each hour, the mean of the nearest valid values at the same
  hour of day on the days before and after (searching up to 7 days each way),
  then shifted by a straight line so the filled stretch meets the valid values
  at both ends;
* at the very ends of the series, the nearest valid value;
* gaps longer than ``max_fill_hours`` (default 168, one week) are not filled:
  they stay NaN, flagged but without the FILLED bit, and a warning says so.

References
----------
Ruggles, T. H., Farnham, D. J., Tong, D. & Caldeira, K. (2020). Developing
reliable hourly electricity demand data through screening and imputation.
Scientific Data 7, 155. https://doi.org/10.1038/s41597-020-0483-x
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["FLAGS", "ScreeningSettings", "screen_series", "flag_names", "flag_attrs"]

FLAGS: dict[str, int] = {
    "MISSING": 1,
    "EMPTY": 2,
    "ZERO": 4,
    "SPIKE_HIGH": 8,
    "SPIKE_LOW": 16,
    "DUPLICATE": 32,
    "SOURCE": 64,
    "FILLED": 128,
    "STUCK": 256,
}


def flag_attrs() -> dict:
    """CF-style attributes of the ``flag`` variable."""
    return {
        "units": "1",
        "long_name": "demand anomaly flags",
        "flag_masks": np.array(list(FLAGS.values()), dtype=np.uint16),
        "flag_meanings": " ".join(k.lower() for k in FLAGS),
        "comment": "bit mask; see powerfirst.io.screening for the tests and the fill method",
    }


def flag_names(value: int) -> str:
    """``'EMPTY|FILLED'`` for a flag value."""
    return "|".join(k for k, b in FLAGS.items() if int(value) & b) or "OK"


@dataclass(frozen=True)
class ScreeningSettings:
    """Thresholds of :func:`screen_series` (see the module docstring)."""

    global_factor: float = 4.0
    local_factor: float = 6.0
    rel_floor: float = 0.02
    delta_factor: float = 6.0
    far_factor: float = 0.6
    max_interp_hours: int = 3
    stuck_hours: int = 3
    max_fill_hours: int = 168
    max_passes: int = 5


def _rolling_median(x: np.ndarray, window: int) -> np.ndarray:
    return pd.Series(x).rolling(window, center=True, min_periods=max(3, window // 4)).median().to_numpy()


def _detect_spikes(x: np.ndarray, s: ScreeningSettings) -> tuple[np.ndarray, np.ndarray]:
    """Boolean masks (high, low) of local spikes in ``x`` (NaN = already invalid)."""
    high = np.zeros(x.size, bool)
    low = np.zeros(x.size, bool)
    work = x.copy()
    for _ in range(s.max_passes):
        m = _rolling_median(work, 48)
        dx = np.abs(np.diff(work, prepend=np.nan))
        d = pd.Series(dx).rolling(24 * 14, center=True, min_periods=24).median().to_numpy()
        d = np.where(np.isfinite(d), d, np.nanmedian(dx) if np.isfinite(dx).any() else 0.0)
        scale = np.maximum(d, s.rel_floor * np.abs(m))
        dev = work - m
        prev = np.concatenate(([np.nan], work[:-1]))
        nxt = np.concatenate((work[1:], [np.nan]))
        up = (work - prev > s.delta_factor * d) & (work - nxt > s.delta_factor * d)
        down = (prev - work > s.delta_factor * d) & (nxt - work > s.delta_factor * d)
        with np.errstate(invalid="ignore"):
            big = np.abs(dev) > s.local_factor * scale
            far = np.abs(dev) > s.far_factor * np.abs(m)
            new_high = np.isfinite(work) & (dev > 0) & ((big & up) | far)
            new_low = np.isfinite(work) & (dev < 0) & ((big & down) | far)
        if not (new_high.any() or new_low.any()):
            break
        high |= new_high
        low |= new_low
        work = np.where(new_high | new_low, np.nan, work)
    return high, low


def _identical_runs(x: np.ndarray, min_run: int) -> np.ndarray:
    """Mask of the 2nd and later values of runs of >= ``min_run`` identical finite values."""
    same = np.concatenate(([False], (x[1:] == x[:-1]) & np.isfinite(x[1:])))
    out = np.zeros(x.size, bool)
    if not same.any():
        return out
    # run id increments where a new run starts
    run_id = np.cumsum(~same)
    lengths = np.bincount(run_id)
    out = same & (lengths[run_id] >= min_run)
    return out


def _fill(x: np.ndarray, max_interp: int, max_fill: int = 168) -> tuple[np.ndarray, np.ndarray]:
    """Fill NaN in ``x``; return (filled, method) with method 0 = none, 1 = interp, 2 = seasonal, 3 = edge."""
    n = x.size
    out = x.copy()
    method = np.zeros(n, np.int8)
    bad = ~np.isfinite(x)
    if not bad.any():
        return out, method
    if bad.all():
        raise ValueError("no valid value to fill from")
    idx = np.flatnonzero(bad)
    # runs of consecutive bad hours
    starts = idx[np.concatenate(([True], np.diff(idx) > 1))]
    ends = idx[np.concatenate((np.diff(idx) > 1, [True]))]
    valid = np.flatnonzero(~bad)
    for a, b in zip(starts, ends, strict=True):
        left, right = a - 1, b + 1
        if b - a + 1 > max_fill:
            continue  # too long to fill honestly: left NaN (flagged, not filled)
        if left < 0 or right >= n:
            edge = x[right] if left < 0 else x[left]
            out[a:b + 1] = edge
            method[a:b + 1] = 3
            continue
        length = b - a + 1
        if length <= max_interp:
            frac = np.arange(1, length + 1) / (length + 1)
            out[a:b + 1] = x[left] + frac * (x[right] - x[left])
            method[a:b + 1] = 1
            continue
        # same-hour estimate over the gap and its two valid neighbours
        span = range(left, right + 1)
        est = np.empty(len(span))
        for k, t in enumerate(span):
            vals = []
            for sign in (-1, 1):
                for days in range(1, 8):
                    u = t + sign * 24 * days
                    if 0 <= u < n and not bad[u]:
                        vals.append(x[u])
                        break
            est[k] = np.mean(vals) if vals else np.nan
        if np.isnan(est).any():  # no same-hour value within a week: interpolate
            est = np.interp(np.arange(left, right + 1), valid, x[valid])
        # shift by a straight line so the stretch joins the valid values at both ends
        ramp = np.linspace(x[left] - est[0], x[right] - est[-1], len(span))
        out[a:b + 1] = (est + ramp)[1:-1]
        method[a:b + 1] = 2
    return out, method


def screen_series(values: np.ndarray, *, missing: np.ndarray | None = None, empty: np.ndarray | None = None,
                  source_flag: np.ndarray | None = None, duplicate: np.ndarray | None = None,
                  settings: ScreeningSettings | None = None, warn: bool = True
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Screen one hourly series and fill every flagged hour.

    Parameters
    ----------
    values : ndarray of float
        Raw hourly values [MW] on a complete hourly axis (NaN where the source
        had nothing).
    missing, empty : ndarray of bool, optional
        Hours with no source row / with an empty source cell.  NaN values not
        marked ``empty`` are treated as missing.
    source_flag : ndarray of bool, optional
        Hours the source's own screening marked.
    duplicate : ndarray of bool, optional
        Hours whose timestamp appeared more than once in the source.
    settings : ScreeningSettings, optional
    warn : bool
        Warn when hours in gaps longer than ``settings.max_fill_hours`` stay NaN (callers that
        know which series it is warn themselves, naming it).

    Returns
    -------
    filled : ndarray of float
        Demand with every flagged hour filled [MW].
    flag : ndarray of uint16
        Bit mask (see :data:`FLAGS`).
    method : ndarray of int8
        Fill method per hour: 0 none, 1 linear interpolation, 2 same hour of
        neighbouring days, 3 nearest value at a series end.
    """
    s = settings or ScreeningSettings()
    x = np.asarray(values, dtype=float)
    n = x.size
    flag = np.zeros(n, np.uint16)
    nan = ~np.isfinite(x)
    empty = np.zeros(n, bool) if empty is None else np.asarray(empty, bool)
    missing = (nan & ~empty) if missing is None else (np.asarray(missing, bool) | (nan & ~empty))
    flag[missing] |= FLAGS["MISSING"]
    flag[empty] |= FLAGS["EMPTY"]
    with np.errstate(invalid="ignore"):
        zero = np.isfinite(x) & (x <= 0)
    flag[zero] |= FLAGS["ZERO"]
    stuck = _identical_runs(np.where(zero, np.nan, x), s.stuck_hours)
    flag[stuck] |= FLAGS["STUCK"]
    if duplicate is not None:
        flag[np.asarray(duplicate, bool)] |= FLAGS["DUPLICATE"]
    if source_flag is not None:
        flag[np.asarray(source_flag, bool)] |= FLAGS["SOURCE"]

    work = np.where(nan | zero | stuck, np.nan, x)
    if np.isfinite(work).any():
        med = np.nanmedian(work)
        with np.errstate(invalid="ignore"):
            glob = work > s.global_factor * med
        flag[glob] |= FLAGS["SPIKE_HIGH"]
        work = np.where(glob, np.nan, work)
        hi, lo = _detect_spikes(work, s)
        flag[hi] |= FLAGS["SPIKE_HIGH"]
        flag[lo] |= FLAGS["SPIKE_LOW"]
        work = np.where(hi | lo, np.nan, work)
    else:
        raise ValueError("the series has no valid value")
    filled, method = _fill(work, s.max_interp_hours, s.max_fill_hours)
    flag[method > 0] |= FLAGS["FILLED"]
    unfilled = int((~np.isfinite(filled)).sum())
    if unfilled and warn:
        import warnings

        warnings.warn(f"{unfilled} hours lie in gaps longer than {s.max_fill_hours} h and were left NaN "
                      "(flagged, not filled)", stacklevel=2)
    return filled, flag, method
