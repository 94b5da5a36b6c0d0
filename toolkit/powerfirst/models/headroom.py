r"""Curtailment-enabled grid headroom for flexible loads.

How much new load can a balancing authority take *today* if that load accepts
brief, rare curtailment?  Norris et al. (2025) answer with hourly EIA-930
demand: a new load of :math:`L` MW is added to every hour; whenever load plus
:math:`L` exceeds the hour's seasonal threshold (the highest summer or winter
peak of the whole period), the excess is curtailed.  The headroom at a limit
(0.25 %, 0.5 %, 1 %, 5 %) is the largest :math:`L` whose mean annual
curtailment rate stays within the limit.

Method
------
With the hourly room under the threshold :math:`h_t = T_t - D_t` and
:math:`h_t^+ = \max(h_t, 0)`, a new load :math:`L s_t` (peak :math:`L`,
shape :math:`0 \le s_t \le 1`; flat: :math:`s_t = 1`) is curtailed by

.. math:: c_t(L) = \min\bigl(L s_t,\ \max(0, D_t + L s_t - T_t)\bigr) = \max(0,\ L s_t - h_t^+).

The curtailment rate of year :math:`y` is
:math:`r_y(L) = \sum_{t \in y} c_t(L) / \sum_{t \in y} L s_t`, and the rate
used is the mean over the years, :math:`R(L) = \frac{1}{Y} \sum_y r_y(L)`.

Writing :math:`c_t = s_t \max(0, L - b_t)` with breakpoints
:math:`b_t = h_t^+ / s_t`, :math:`R(L) = F(L)/L` where
:math:`F(L) = \sum_t w_t \max(0, L - b_t)` and
:math:`w_t = s_t / (Y \sum_{u \in y(t)} s_u)`.  :math:`F` is convex and
piecewise linear with :math:`F(0) = 0`, so :math:`R` is non-decreasing and
the headroom at limit :math:`\rho` is the unique :math:`L^*` with
:math:`R(L^*) = \rho`.  With the breakpoints sorted, cumulative sums
:math:`W_k = \sum_{i \le k} w_{(i)}` and :math:`S_k = \sum_{i \le k} w_{(i)} b_{(i)}`
give :math:`R` at every breakpoint, a binary search finds the segment, and on
it :math:`L^* = S_k / (W_k - \rho)` — exact, :math:`O(n \log n)` per BA,
vectorised over BAs and lazy over Dask chunks of BAs
(:func:`flexible_headroom`).  :func:`headroom_reference` solves the same
problem plainly, with a root finder on :math:`R(L) - \rho`, for checking.

If the load already reaches the threshold in more than a share :math:`\rho`
of the (weighted) hours, every :math:`L > 0` exceeds the limit: the headroom
is 0 and the ``reason`` variable says why.

References
----------
Norris, T. H., Profeta, T., Patino-Echeverri, D. & Cowie-Haskell, A. (2025).
*Rethinking Load Growth: Assessing the Potential for Integration of Large
Flexible Loads in US Power Systems.* Nicholas Institute for Energy,
Environment & Sustainability, Duke University.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numba
import numpy as np
import pandas as pd
import xarray as xr

from powerfirst.errors import Problem, ValidationError

__all__ = [
    "SeasonalRule",
    "check_hourly_load",
    "seasonal_thresholds",
    "flexible_headroom",
    "headroom_reasons",
    "headroom_reference",
    "curtailment_rate",
    "curtailment_events",
    "site_flex_requirements",
    "future_headroom",
    "DEFAULT_LIMITS",
]

DEFAULT_LIMITS = (0.25, 0.5, 1.0, 5.0)

SUMMER_PEAK_MONTHS = (6, 7, 8)
WINTER_PEAK_MONTHS = (12, 1, 2)
SUMMER_APPLIES = (4, 5, 6, 7, 8, 9, 10)
WINTER_APPLIES = (11, 12, 1, 2, 3)


@dataclass(frozen=True)
class SeasonalRule:
    """Months that set each seasonal peak and the months each peak applies to.

    The default is the rule of Norris et al. (2025): the summer threshold is
    the highest load of June–August and applies to April–October; the winter
    threshold is the highest load of December–February and applies to
    November–March.  Months are in the balancing authority's local time.
    ``per_ba`` overrides the rule for BAs that peak outside those months, e.g.
    ``{"CISO": SeasonalRule(summer_peak=(7, 8, 9))}``.
    """

    summer_peak: tuple[int, ...] = SUMMER_PEAK_MONTHS
    winter_peak: tuple[int, ...] = WINTER_PEAK_MONTHS
    summer_applies: tuple[int, ...] = SUMMER_APPLIES
    winter_applies: tuple[int, ...] = WINTER_APPLIES
    per_ba: Mapping[str, SeasonalRule] = field(default_factory=dict)

    def __post_init__(self):
        applies = sorted(self.summer_applies + self.winter_applies)
        if applies != list(range(1, 13)):
            raise ValueError(f"summer_applies and winter_applies must cover each month 1-12 exactly once, "
                             f"found {applies}")
        for name in ("summer_peak", "winter_peak"):
            months = getattr(self, name)
            if not months or any(m not in range(1, 13) for m in months):
                raise ValueError(f"{name} must be months 1-12, found {months}")

    def for_ba(self, ba: str) -> SeasonalRule:
        return self.per_ba.get(ba, self)


# ---------------------------------------------------------------------------
# input checks


def check_hourly_load(load: xr.DataArray, *, name: str = "load", repair: bool = False) -> xr.DataArray:
    """Check that ``load`` is hourly, gap-free, unique, increasing and without NaN.

    Parameters
    ----------
    load : xarray.DataArray
        Load [MW] on (``ba``, ``time``) or (``time``,).
    repair : bool
        Instead of raising: sort, drop duplicated stamps (keep the first),
        reindex onto the full hourly axis and fill gaps and NaN of up to 24 h by
        linear interpolation, with a warning saying how many hours were
        repaired.  Longer gaps still raise.

    Raises
    ------
    ValidationError
        Naming the BA and the first offending timestamps.
    """
    if "time" not in load.dims:
        raise ValidationError([Problem(f"no 'time' dimension (dims {load.dims})", variable=name)])
    t = load.indexes["time"]
    problems: list[Problem] = []
    if not isinstance(t, pd.DatetimeIndex):
        raise ValidationError([Problem(f"time must be datetime64, found {load['time'].dtype}", variable=name)])
    if repair:
        load = load.isel(time=~t.duplicated()).sortby("time")
        t = load.indexes["time"]
        full = pd.date_range(t[0], t[-1], freq="h")
        n_new = len(full) - len(t)
        if not t.equals(full):
            if not (np.diff(t.values).astype("timedelta64[m]").astype(int) % 60 == 0).all():
                raise ValidationError([Problem("time stamps are not on whole hours; cannot repair",
                                               variable=name)])
            load = load.reindex(time=full)
        nan_before = int(load.isnull().sum())
        arr = np.asarray(load.values, dtype=float)
        arr2 = arr.reshape(-1, arr.shape[-1])
        for r in range(arr2.shape[0]):  # linear interpolation inside gaps of at most 24 h
            s_ = pd.Series(arr2[r])
            isnan = s_.isna().to_numpy()
            run = np.cumsum(~isnan)
            gap_len = pd.Series(isnan).groupby(run).transform("sum").to_numpy()
            interp = s_.interpolate(limit_area="inside").to_numpy()
            arr2[r] = np.where(isnan & (gap_len <= 24), interp, arr2[r])
        filled = load.copy(data=arr2.reshape(arr.shape))
        left = int(filled.isnull().sum())
        if left:
            bas = _bas_with_nan(filled)
            raise ValidationError([Problem(f"{left} hours remain missing after repair (gaps longer than "
                                           f"24 h) in {bas}", variable=name)])
        if nan_before:
            warnings.warn(f"{name}: repaired {nan_before} missing hours ({n_new} absent stamps) by linear "
                          "interpolation", stacklevel=2)
        filled.attrs = load.attrs
        return filled
    if t.has_duplicates:
        d = t[t.duplicated()]
        problems.append(Problem(f"{len(d)} duplicated time stamps, first {d[0]} (pass repair=True to keep "
                                "the first of each)", variable=name))
    elif not t.is_monotonic_increasing:
        problems.append(Problem("time is not increasing", variable=name))
    else:
        step = np.diff(t.values).astype("timedelta64[m]").astype(np.int64)
        bad = np.flatnonzero(step != 60)
        if bad.size:
            i = bad[0]
            kind = "gap" if step[i] > 60 else "non-hourly step"
            problems.append(Problem(f"{bad.size} steps are not 1 h; first {kind} {t[i]} -> {t[i + 1]} "
                                    "(pass repair=True to interpolate gaps up to 24 h)", variable=name))
    nan = load.isnull()
    if bool(nan.any()):
        for ba in _bas_with_nan(load):
            sel = load.sel(ba=ba) if "ba" in load.dims else load
            tt = sel["time"].values[np.isnan(sel.values)]
            problems.append(Problem(f"{tt.size} NaN hours, first {pd.Timestamp(tt[0])}", variable=name,
                                    site=str(ba) if ba is not None else None))
    if problems:
        raise ValidationError(problems, what=f"hourly {name}")
    return load


def _bas_with_nan(load: xr.DataArray) -> list:
    if "ba" not in load.dims:
        return [None] if bool(load.isnull().any()) else []
    has = load.isnull().any("time").values
    return [b for b, h in zip(load["ba"].values, has, strict=True) if h]


def _check_limits(limits) -> np.ndarray:
    arr = np.atleast_1d(np.asarray(limits, dtype=float))
    bad = arr[~((arr > 0) & (arr < 100))]
    if bad.size:
        raise ValueError(f"curtailment limits must lie in (0, 100) percent; found {bad.tolist()}")
    return arr


def _timezones(load: xr.DataArray | xr.Dataset) -> list[str]:
    if "timezone" in load.coords:
        return [str(z) for z in np.atleast_1d(load["timezone"].values)]
    from powerfirst.schema.tables import _grids

    g = _grids()
    bas = np.atleast_1d(load["ba"].values) if "ba" in load.dims else []
    return [g.at[b, "timezone"] if b in g.index else "UTC" for b in bas]


def local_months(time: pd.DatetimeIndex, tz: str) -> np.ndarray:
    """Calendar month of each UTC hour in time zone ``tz``."""
    return time.tz_localize("UTC").tz_convert(tz).month.to_numpy()


def local_years(time: pd.DatetimeIndex, tz: str | None = None) -> np.ndarray:
    """Calendar year of each hour (UTC unless ``tz``)."""
    t = time if tz is None else time.tz_localize("UTC").tz_convert(tz)
    return t.year.to_numpy()


# ---------------------------------------------------------------------------
# thresholds


def seasonal_thresholds(load: xr.DataArray, rule: SeasonalRule | str | float | xr.DataArray | Mapping = "seasonal",
                        *, years: Sequence[int] | None = None) -> xr.DataArray:
    """Hourly thresholds [MW] above which a new flexible load is curtailed.

    Parameters
    ----------
    load : xarray.DataArray
        Hourly load [MW] on (``ba``, ``time``), UTC.
    rule : SeasonalRule, 'seasonal', float, mapping or DataArray
        * ``'seasonal'`` or a :class:`SeasonalRule`: the highest summer and
          winter peaks over the whole period (months in the BA's local time),
          each applied to its months;
        * a number or a ``{ba: MW}`` mapping: a fixed planning capacity [MW];
        * a DataArray: a user threshold series [MW] on ``time`` (and ``ba``).
    years : list of int, optional
        Years whose peaks set the thresholds (default: all in ``load``).

    Returns
    -------
    xarray.DataArray
        ``threshold`` [MW] on the dims of ``load``, with attrs ``summer_peak_mw`` /
        ``winter_peak_mw`` per BA when seasonal.
    """
    if isinstance(rule, xr.DataArray):
        thr = rule.broadcast_like(load).astype(float)
        thr = thr.assign_attrs(units="MW", long_name="curtailment threshold", rule="user series")
        return thr.rename("threshold")
    if isinstance(rule, (int, float, np.number)):
        thr = xr.full_like(load, float(rule), dtype=float)
        return thr.rename("threshold").assign_attrs(units="MW", long_name="curtailment threshold",
                                                    rule=f"fixed planning capacity {float(rule):g} MW")
    if isinstance(rule, Mapping) and not isinstance(rule, SeasonalRule):
        cap = xr.DataArray([float(rule[b]) for b in load["ba"].values], dims="ba", coords={"ba": load["ba"]})
        thr = (xr.zeros_like(load, dtype=float) + cap)
        return thr.rename("threshold").assign_attrs(units="MW", long_name="curtailment threshold",
                                                    rule="fixed planning capacity per BA")
    if isinstance(rule, str):
        if rule != "seasonal":
            raise ValueError(f"unknown threshold rule {rule!r}; expected 'seasonal', a SeasonalRule, a number, "
                             "a {ba: MW} mapping or a DataArray")
        rule = SeasonalRule()
    time = load.indexes["time"]
    one_ba = "ba" not in load.dims
    da = load.expand_dims("ba") if one_ba else load
    values = np.asarray(da.transpose("ba", "time").values, dtype=float)
    tzs = _timezones(da) if not one_ba else ["UTC"]
    yrs = local_years(time)
    sel_years = np.ones(time.size, bool) if years is None else np.isin(yrs, list(years))
    out = np.empty_like(values)
    summer, winter = [], []
    for i, ba in enumerate(da["ba"].values):
        r = rule.for_ba(str(ba))
        months = local_months(time, tzs[i])
        ms = np.isin(months, r.summer_peak) & sel_years
        mw = np.isin(months, r.winter_peak) & sel_years
        if not ms.any() or not mw.any():
            raise ValidationError([Problem("no hours in the summer or winter peak months to set the thresholds",
                                           site=str(ba))], what="seasonal thresholds")
        s_peak, w_peak = np.nanmax(values[i, ms]), np.nanmax(values[i, mw])
        summer.append(s_peak)
        winter.append(w_peak)
        out[i] = np.where(np.isin(months, r.summer_applies), s_peak, w_peak)
    thr = xr.DataArray(out, dims=("ba", "time"), coords={"ba": da["ba"], "time": da["time"]},
                       name="threshold", attrs={"units": "MW", "long_name": "curtailment threshold",
                                                "rule": "seasonal peaks (Norris et al. 2025)"})
    thr = thr.assign_coords(summer_peak_mw=("ba", np.array(summer)), winter_peak_mw=("ba", np.array(winter)))
    return thr.isel(ba=0, drop=True) if one_ba else thr


# ---------------------------------------------------------------------------
# the exact fast solver (numpy kernels; vectorised over the leading axis)


def _weights(year_codes: np.ndarray, shape: np.ndarray) -> np.ndarray:
    """w_t = s_t / (Y * sum_{u in year(t)} s_u) for (ba, time) shape and year codes on time."""
    n_years = int(year_codes.max()) + 1
    sums = np.zeros(shape.shape[:-1] + (n_years,))
    for k in range(n_years):
        sums[..., k] = shape[..., year_codes == k].sum(-1)
    present = sums > 0
    y = present.sum(-1, keepdims=True)
    denom = sums[..., year_codes] * y
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(denom > 0, shape / denom, 0.0)


@numba.njit(cache=True)
def _scan_sorted(bs, ws, limits, out):
    """Scan sorted breakpoints ``bs`` with weights ``ws``; write L* per limit into ``out``.

    Walks the groups of equal breakpoints in order, keeping W and S of the
    breakpoints already passed.  At the group at ``b`` the rate is
    ``R(b) = (W b - S) / b`` (``W`` at ``b = 0``); the first group where it
    exceeds ``rho`` closes the segment, on which ``L* = S / (W - rho)`` with W
    and S of the breakpoints before the group (0 when the crossing is at
    ``0+``).  Returns False when the largest limit is not crossed within the
    breakpoints given and they do not carry all the weight (the caller then
    passes all breakpoints).
    """
    n = bs.size
    nl = limits.size
    w_prev = 0.0
    s_prev = 0.0
    n_done = 0
    done = np.zeros(nl, np.bool_)
    i = 0
    while i < n and n_done < nl:
        b = bs[i]
        w_grp = 0.0
        s_grp = 0.0
        j = i
        while j < n and bs[j] == b:
            w_grp += ws[j]
            s_grp += ws[j] * b
            j += 1
        w_now = w_prev + w_grp
        rate = w_now if b <= 0.0 else (w_now * b - (s_prev + s_grp)) / b
        for m in range(nl):
            if not done[m] and rate > limits[m]:
                if b <= 0.0 or w_prev <= limits[m]:
                    out[m] = 0.0
                else:
                    out[m] = s_prev / (w_prev - limits[m])
                done[m] = True
                n_done += 1
        w_prev = w_now
        s_prev += s_grp
        i = j
    if n_done == nl:
        return True
    if w_prev < 1.0 - 1e-9:
        return False
    for m in range(nl):  # beyond the last breakpoint: every hour curtailed
        if not done[m]:
            out[m] = s_prev / (w_prev - limits[m])
    return True


def _solve_kernel(room: np.ndarray, shape: np.ndarray, year_codes: np.ndarray, limits: np.ndarray):
    """Exact headroom for each row of ``room`` (h_t^+) and each limit (fractions).

    Sorts the breakpoints :math:`b_t = h_t^+ / s_t` with their weights and
    scans them (compiled) accumulating :math:`W` and :math:`S`; the first
    breakpoint whose rate exceeds :math:`\rho` closes the segment holding
    :math:`L^* = S / (W - \rho)`.  Only breakpoints that can matter are
    sorted: :math:`L^* \\le 2 b_q` where :math:`b_q` is the breakpoint below
    which lies a weight of :math:`2\rho_{max}` (then :math:`R(2 b_q) \\ge
    \rho_{max}`), so for a flat load only the lowest ~:math:`3\rho_{max}`
    share of hours is sorted; if the scan runs out, all are sorted.

    Returns headroom [MW] with shape room.shape[:-1] + (n_limits,).
    """
    room = np.maximum(np.asarray(room, dtype=float), 0.0)
    shape = np.broadcast_to(np.asarray(shape, dtype=float), room.shape)
    w = _weights(year_codes, shape)
    with np.errstate(divide="ignore", invalid="ignore"):
        b = np.where(shape > 0, room / shape, np.inf)
    lead = room.shape[:-1]
    b2 = b.reshape(-1, b.shape[-1])
    w2 = w.reshape(b2.shape)
    n = b2.shape[-1]
    rho_max = float(limits.max())
    wmax_ratio = float(w2.max() * n / max(w2.sum(-1).max(), 1e-300))
    q = min(1.0, 2.0 * rho_max * wmax_ratio * 1.1)
    kq = min(n - 1, int(np.ceil(q * n)))
    res = np.empty((b2.shape[0], limits.size))
    lim = np.asarray(limits, dtype=float)
    for r in range(b2.shape[0]):
        br, wr = b2[r], w2[r]
        ok = False
        if kq < n - 1:
            cut = 2.0 * np.partition(br, kq)[kq]
            sel = np.flatnonzero(br <= cut)
            o = sel[np.argsort(br[sel])]
            ok = _scan_sorted(br[o], wr[o], lim, res[r])
        if not ok:
            o = np.argsort(br)
            if not _scan_sorted(br[o], wr[o], lim, res[r]):
                res[r] = np.inf
    return res.reshape(lead + (limits.size,))


def _stats_kernel(room, shape, year_codes, peak_mw):
    """Curtailment statistics for one new-load peak per row: (rate per year, hours/yr, events...)."""
    room = np.maximum(room, 0.0)
    load = peak_mw[..., None] * shape
    c = np.maximum(0.0, load - room)
    curtailed = c > 1e-9 * np.maximum(peak_mw[..., None], 1.0)
    n_years = int(year_codes.max()) + 1
    rates = np.full(room.shape[:-1] + (n_years,), np.nan)
    hours = np.zeros(room.shape[:-1] + (n_years,))
    for k in range(n_years):
        m = year_codes == k
        energy = load[..., m].sum(-1)
        with np.errstate(divide="ignore", invalid="ignore"):
            rates[..., k] = np.where(energy > 0, c[..., m].sum(-1) / energy, np.nan)
        hours[..., k] = curtailed[..., m].sum(-1)
    half = curtailed & (c <= 0.5 * load + 1e-9)
    n_curt = curtailed.sum(-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        share_half = np.where(n_curt > 0, half.sum(-1) / n_curt, np.nan)
    # events: runs of consecutive curtailed hours
    starts = curtailed & ~np.concatenate([np.zeros(curtailed.shape[:-1] + (1,), bool), curtailed[..., :-1]], -1)
    n_events = starts.sum(-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean_event = np.where(n_events > 0, n_curt / n_events, np.nan)
    run_id = np.cumsum(starts, -1) * curtailed
    max_event = np.zeros(room.shape[:-1])
    flat_ids = run_id.reshape(-1, run_id.shape[-1])
    flat_max = max_event.reshape(-1)
    for r in range(flat_ids.shape[0]):
        ids = flat_ids[r]
        flat_max[r] = np.bincount(ids[ids > 0]).max() if (ids > 0).any() else 0
    return rates, hours, mean_event, max_event, share_half, n_events


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


def curtailment_rate(load: np.ndarray, threshold: np.ndarray, years: np.ndarray, peak_mw: float,
                     shape: np.ndarray | None = None) -> float:
    """Mean annual curtailment rate [1] of a new load of peak ``peak_mw`` [MW] (plain numpy)."""
    shape = np.ones_like(load) if shape is None else shape
    new = peak_mw * shape
    c = np.minimum(new, np.maximum(0.0, load + new - threshold))
    rates = [c[years == y].sum() / new[years == y].sum() for y in np.unique(years) if new[years == y].sum() > 0]
    return float(np.mean(rates))


def headroom_reference(load: np.ndarray, threshold: np.ndarray, years: np.ndarray, limit_pct: float,
                       shape: np.ndarray | None = None, xtol: float = 1e-6) -> float:
    """Headroom [MW] by a root finder on ``curtailment_rate(L) - limit`` (Brent's method).

    The plain check of :func:`flexible_headroom`: no sorting, no breakpoints.
    """
    from scipy.optimize import brentq

    rho = limit_pct / 100.0
    lo = 1e-6
    if curtailment_rate(load, threshold, years, lo, shape) > rho:
        return 0.0
    hi = max(1.0, float(np.nanmax(threshold)))
    while curtailment_rate(load, threshold, years, hi, shape) <= rho:
        hi *= 2
    return brentq(lambda x: curtailment_rate(load, threshold, years, x, shape) - rho, lo, hi, xtol=xtol,
                  rtol=1e-12, maxiter=500)


# ---------------------------------------------------------------------------
# event detail for a chosen new load


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
