"""Seasonal thresholds: the peak each hour is measured against, and checks of hourly load."""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import xarray as xr

from powerfirst.errors import Problem, ValidationError

__all__ = ["DEFAULT_LIMITS", "NORRIS2025_RULE", "SUMMER_APPLIES", "SUMMER_PEAK_MONTHS", "SeasonalRule", "THRESHOLD_RULES", "WINTER_APPLIES", "WINTER_PEAK_MONTHS", "check_hourly_load", "local_months", "local_years", "seasonal_thresholds"]

DEFAULT_LIMITS = (0.25, 0.5, 1.0, 5.0)

SUMMER_PEAK_MONTHS = (6, 7, 8)
WINTER_PEAK_MONTHS = (12, 1, 2)
SUMMER_APPLIES = (4, 5, 6, 7, 8, 9, 10)
WINTER_APPLIES = (11, 12, 1, 2, 3)


@dataclass(frozen=True)
class SeasonalRule:
    """Months that set each seasonal peak and the months each peak applies to.

    The default is the core rule of Norris et al. (2025): the summer threshold
    is the highest load of June–August and applies to April–October; the
    winter threshold is the highest load of December–February and applies to
    November–March.  Months are in the balancing authority's local time.  The
    study's own exceptions for three BAs (its footnote 20) are in
    :data:`NORRIS2025_RULE`.
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


# Norris et al. (2025), footnote 20: the peak months are June-August and December-February, but "in a few
# cases, the BA's seasonal peak occurred within one month of these periods (AZPS winter, FPL winter, CAISO
# summer, CAISO winter), which were used as their max seasonal peak"; the summer peak applies to April-October,
# the winter peak to November-March.  "Within one month" widens the peak months by one month on each side.
_WINTER_WIDE = (11, 12, 1, 2, 3)
_SUMMER_WIDE = (5, 6, 7, 8, 9)
NORRIS2025_RULE = SeasonalRule(per_ba={
    "AZPS": SeasonalRule(winter_peak=_WINTER_WIDE),
    "FPL": SeasonalRule(winter_peak=_WINTER_WIDE),
    "CISO": SeasonalRule(summer_peak=_SUMMER_WIDE, winter_peak=_WINTER_WIDE),
})

#: Named threshold rules: name -> (rule, description written to the ``rule`` attribute).
THRESHOLD_RULES: dict[str, tuple[SeasonalRule, str]] = {
    "seasonal": (SeasonalRule(), "seasonal peaks: summer peak of Jun-Aug applied Apr-Oct, winter peak of "
                                 "Dec-Feb applied Nov-Mar, the same months for every BA"),
    "norris2025": (NORRIS2025_RULE, "norris2025: seasonal peaks as Norris et al. (2025) define them (Jun-Aug "
                                    "applied Apr-Oct, Dec-Feb applied Nov-Mar; footnote 20: AZPS and FPL winter "
                                    "peak of Nov-Mar, CISO summer peak of May-Sep and winter peak of Nov-Mar)"),
}


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
    rule : SeasonalRule, 'seasonal', 'norris2025', float, mapping or DataArray
        * ``'seasonal'`` or a :class:`SeasonalRule`: the highest summer and
          winter peaks over the whole period (months in the BA's local time),
          each applied to its months; ``'seasonal'`` takes the summer peak of
          June-August and the winter peak of December-February for every BA;
        * ``'norris2025'``: the rule of the study (:data:`NORRIS2025_RULE`):
          as ``'seasonal'``, except that, as in its footnote 20, the winter
          peak of AZPS and FPL is the highest load of November-March, and
          CAISO's summer and winter peaks those of May-September and
          November-March;
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
    label = "seasonal peaks (custom SeasonalRule)"
    if isinstance(rule, str):
        if rule not in THRESHOLD_RULES:
            names = ", ".join(repr(k) for k in THRESHOLD_RULES)
            raise ValueError(f"unknown threshold rule {rule!r}; expected one of {names}, a SeasonalRule, a number, "
                             "a {ba: MW} mapping or a DataArray")
        rule, label = THRESHOLD_RULES[rule]
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
                                                "rule": label})
    thr = thr.assign_coords(summer_peak_mw=("ba", np.array(summer)), winter_peak_mw=("ba", np.array(winter)))
    return thr.isel(ba=0, drop=True) if one_ba else thr


# ---------------------------------------------------------------------------
# the exact fast solver (numpy kernels; vectorised over the leading axis)
