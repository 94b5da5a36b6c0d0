r"""Hourly grid-load forecasting, issued as an operator issues it.

A forecast for local day :math:`D` with a horizon of :math:`k` days
(day-ahead :math:`k = 1`, week-ahead :math:`k = 7`) is *issued* at
``issue_hour`` local time on day :math:`D - k`.  It may use the load of every
hour that has **ended** by the issue time and the calendar of :math:`D`.

The default issue time is 23:00 local on :math:`D - k` (load up to the hour
beginning 22:00), the latest issue time still on the day before: all of
:math:`D`'s 24 hours lie 1–25 hours ahead.  Day-ahead *markets* close
earlier (about 10:00–11:00 local for most US ISOs); ``issue_hour=10`` gives
that forecast, which is markedly less accurate without weather inputs (the
real-data evaluation in ``notebooks/10_demand_growth.ipynb`` shows both).  A
BA's own published day-ahead forecast is made during :math:`D - 1` — EIA-930
posts it by 07:00 Eastern on :math:`D` — so a 23:00 forecast has seen more of
:math:`D - 1` than the BA's forecast had.  Nothing observed after the issue time enters a feature: each
target hour :math:`t` gets an *anchor* :math:`a(t)`, the last hour ending by
its issue time, and every lag is read at or before :math:`a(t)`
(:func:`load_features`).

Features (all vectorised over the hours of one balancing authority):

* calendar of the target hour in the BA's local time: hour, weekday, month,
  day of year, US federal holidays on :math:`D`, :math:`D \pm 1` and
  :math:`D - 7` (``pandas.tseries.holiday.USFederalHolidayCalendar``), and
  the lead time in hours from the issue time;
* the *level*: mean load of the 24 hours ending at the issue time [MW];
* lagged load relative to the level: the same hour 1–7 and 14 days earlier
  where the lag ends by the issue time (NaN otherwise: the same hour of the
  issue day is known only before the issue hour), the last observed hour, the
  24-hour minimum and maximum, and day-on-day / week-on-week changes;
* optional exogenous inputs known at the issue time (a temperature forecast,
  an operator's own load forecast), aligned on the target hour.

:class:`HourlyLoadForecaster` is a scikit-learn regressor on these features:
scikit-learn's ``HistGradientBoostingRegressor`` fitted to the load relative
to the level (so one model serves every load level), with split-conformal
quantiles: the model is fitted without the last part of the training period,
the ratios actual / forecast on that held-out slice give the quantiles, and
the model is refitted on all the training rows.

References
----------
Hong, T. & Fan, S. (2016). Probabilistic electric load forecasting: a
tutorial review. *International Journal of Forecasting* 32(3), 914–938.
https://doi.org/10.1016/j.ijforecast.2015.11.011

Romano, Y., Patterson, E. & Candès, E. (2019). Conformalized quantile
regression. *NeurIPS 32*; Vovk, V., Gammerman, A. & Shafer, G. (2005).
*Algorithmic Learning in a Random World*, Springer (split conformal
prediction).
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import nullcontext
from functools import cache

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, RegressorMixin, TransformerMixin
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.utils.validation import check_is_fitted, validate_data
from threadpoolctl import threadpool_limits

from powerfirst.errors import Problem, ValidationError

__all__ = [
    "HORIZONS",
    "ISSUE_HOUR",
    "DEFAULT_QUANTILES",
    "horizon_days",
    "check_load_series",
    "issue_anchor",
    "load_features",
    "required_history_hours",
    "seasonal_naive",
    "LoadFeatures",
    "HourlyLoadForecaster",
]

#: named horizons and their lead in days (the model supports 1 to 7 days)
HORIZONS = {"day-ahead": 1, "week-ahead": 7}
MAX_HORIZON_DAYS = 7
#: default issue time, local hour on the issue day (data of hours ending by then are used)
ISSUE_HOUR = 23
#: quantile levels stored by default (the 80 % interval is 0.1-0.9)
DEFAULT_QUANTILES = (0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95)
_H = pd.Timedelta(hours=1)


def horizon_days(horizon, ba: str | None = None) -> int:
    """Lead in days of ``horizon`` (``'day-ahead'`` → 1, ``'week-ahead'`` → 7, or an integer 1–7).

    Raises
    ------
    ValidationError
        For a horizon beyond what the model supports.
    """
    if isinstance(horizon, str) and horizon in HORIZONS:
        return HORIZONS[horizon]
    try:
        k = int(horizon)
        ok = str(horizon).strip().lstrip("-").isdigit() and 1 <= k <= MAX_HORIZON_DAYS
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise ValidationError(Problem(
            f"horizon {horizon!r} is beyond what the model supports: use 'day-ahead', 'week-ahead' or a "
            f"whole number of days from 1 to {MAX_HORIZON_DAYS}", site=ba), what="forecast request")
    return k


def check_load_series(load: pd.Series, ba: str | None = None, name: str = "load") -> pd.Series:
    """Check an hourly load series: datetime index, naive UTC, unique, increasing, hourly, no NaN.

    Returns the series as float.  Raises :class:`~powerfirst.errors.ValidationError` naming the
    BA and the first offending timestamps, and saying how to fix it.
    """
    ba = ba if ba is not None else (str(load.name) if load.name is not None else None)
    if not isinstance(load, pd.Series):
        raise ValidationError(Problem(f"expected a pandas Series of hourly {name} [MW], found "
                                      f"{type(load).__name__}", site=ba), what=name)
    t = load.index
    if not isinstance(t, pd.DatetimeIndex):
        raise ValidationError(Problem(f"the {name} index must be datetime64 (UTC, hour-beginning), found "
                                      f"{t.dtype}", site=ba), what=name)
    if t.tz is not None:
        raise ValidationError(Problem(f"the {name} index must be timezone-naive UTC, found tz={t.tz}; "
                                      "use .tz_convert('UTC').tz_localize(None)", site=ba), what=name)
    if len(t) == 0:
        raise ValidationError(Problem(f"the {name} series is empty", site=ba), what=name)
    problems = []
    if t.has_duplicates:
        dup = t[t.duplicated()]
        problems.append(Problem(f"{len(dup)} duplicated timestamps in the {name}, first "
                                f"{', '.join(str(x) for x in dup[:3])}; drop them "
                                "(e.g. load[~load.index.duplicated()])", site=ba))
    elif not t.is_monotonic_increasing:
        i = int(np.flatnonzero(np.diff(t.asi8) < 0)[0])
        problems.append(Problem(f"timestamps of the {name} are not increasing: {t[i]} is followed by "
                                f"{t[i + 1]}; sort with load.sort_index()", site=ba))
    else:
        bad = np.flatnonzero(np.diff(t.values) != np.timedelta64(1, "h"))
        if bad.size:
            i = bad[0]
            problems.append(Problem(
                f"the {name} is not hourly and gap-free: {bad.size} steps differ from 1 h, first "
                f"{t[i]} -> {t[i + 1]}; reindex onto the full hourly axis and fill the gaps "
                "(powerfirst.models.headroom.check_hourly_load(..., repair=True) fills gaps up to 24 h)",
                site=ba))
    values = pd.to_numeric(load, errors="coerce").astype(float)
    nan = values.isna().to_numpy()
    if nan.any():
        where = t[nan]
        problems.append(Problem(f"{int(nan.sum())} missing (NaN) {name} values, first at {where[0]}, last at "
                                f"{where[-1]}; fill them or cut the series before them", site=ba))
    if problems:
        raise ValidationError(problems, what=f"{name} of {ba}" if ba else name)
    return values


@cache
def _holidays(first_year: int, last_year: int) -> np.ndarray:
    from pandas.tseries.holiday import USFederalHolidayCalendar

    days = USFederalHolidayCalendar().holidays(f"{first_year}-01-01", f"{last_year}-12-31")
    return np.asarray(days.values.astype("datetime64[D]"))


def _local(t: pd.DatetimeIndex, timezone: str):
    lt = t.tz_localize("UTC").tz_convert(timezone)
    day = lt.tz_localize(None).normalize()
    return lt, day


def issue_anchor(targets: pd.DatetimeIndex, timezone: str, horizon="day-ahead",
                 issue_hour: int = ISSUE_HOUR) -> pd.DatetimeIndex:
    """The last hour (UTC, hour-beginning) whose load is known when each target's forecast is issued.

    The forecast for local day D is issued at ``issue_hour``:00 local on D − k; the last hour
    that has ended by then begins one hour earlier.
    """
    k = horizon_days(horizon)
    _, day = _local(targets, timezone)
    issue_local = day - pd.Timedelta(days=k) + pd.Timedelta(hours=issue_hour)
    issue = issue_local.tz_localize(timezone, nonexistent="shift_forward", ambiguous=False)
    return issue.tz_convert("UTC").tz_localize(None) - _H


def _lag_days(k: int) -> list[int]:
    return sorted(set(range(k, k + 7)) | {14})


def required_history_hours(horizon="day-ahead", issue_hour: int = ISSUE_HOUR) -> int:
    """Hours of load needed before a target hour (a safe upper bound, DST included)."""
    k = horizon_days(horizon)
    # the longest lag (max(lag days) x 24 h) and the 168-h window before the issue time
    return max(max(_lag_days(k)) * 24, (k + 1) * 24 + 168) + 26


def load_features(load: pd.Series, *, timezone: str = "UTC", horizon="day-ahead", issue_hour: int = ISSUE_HOUR,
                  targets: pd.DatetimeIndex | None = None, exog: pd.DataFrame | None = None,
                  exog_relative: Sequence[str] = (), ba: str | None = None) -> pd.DataFrame:
    """Features of each target hour, from data available at its issue time only.

    Parameters
    ----------
    load : pandas.Series
        Observed hourly load [MW], naive UTC hour-beginning index, gap-free.  It may end before
        the targets do, as long as every target's issue time is covered.
    timezone : str
        The balancing authority's time zone (local days, hours and holidays).
    horizon : {'day-ahead', 'week-ahead'} or int
        Lead in days, 1 to 7.
    issue_hour : int
        Local hour of the issue day at which the forecast is issued (0–24; default 23).
    targets : pandas.DatetimeIndex, optional
        Hours to build features for (default: every hour of ``load`` whose history it holds).
    exog : pandas.DataFrame, optional
        Inputs known at the issue time for each target hour (e.g. a temperature forecast [degC] or
        an operator's day-ahead load forecast [MW]), indexed by hour; NaN is allowed.
    exog_relative : list of str
        Columns of ``exog`` in MW, divided by the level like the load lags; for these the ratio of
        the column to the load over the 24 hours before the issue time (its recent bias) is added.
    ba : str, optional
        Name used in error messages (default: ``load.name``).

    Returns
    -------
    pandas.DataFrame
        One row per target hour; column ``level`` [MW] is the mean load of the 24 hours before the
        issue time (the forecaster predicts relative to it).

    Raises
    ------
    ValidationError
        Gaps, duplicated or unsorted stamps, NaN in the load; a history shorter than the features
        need; a target whose issue time lies after the last observed hour (horizon beyond the data).
    """
    ba = ba if ba is not None else (str(load.name) if load.name is not None else None)
    k = horizon_days(horizon, ba)
    if not (0 <= int(issue_hour) <= 24):
        raise ValidationError(Problem(f"issue_hour must be a local hour 0-24, found {issue_hour}", site=ba),
                              what="forecast request")
    values = check_load_series(load, ba).to_numpy()
    t_load = load.index
    t0, n_obs = t_load[0], len(t_load)
    hist = required_history_hours(k, issue_hour)
    if targets is None:
        if n_obs <= hist:
            raise ValidationError(Problem(
                f"history too short: {n_obs} hours of load ({t_load[0]} .. {t_load[-1]}) but the {k}-day-ahead "
                f"features need {hist} hours before the first target", site=ba), what=f"load of {ba}")
        targets = t_load[hist:]
    targets = pd.DatetimeIndex(targets)
    if len(targets) == 0:
        raise ValidationError(Problem("no target hours to forecast", site=ba), what="forecast request")
    anchor_t = issue_anchor(targets, timezone, k, issue_hour)
    a = ((anchor_t - t0) // _H).to_numpy().astype(np.int64)
    ti = ((targets - t0) // _H).to_numpy().astype(np.int64)
    late = a > n_obs - 1
    if late.any():
        j = int(np.flatnonzero(late)[0])
        raise ValidationError(Problem(
            f"horizon beyond the data: the {_hname(k)} forecast for {targets[j]} is issued at "
            f"{anchor_t[j] + _H} UTC ({issue_hour:02d}:00 local, {k} day(s) before) but the load is observed "
            f"only up to {t_load[-1]} (hour-beginning); {int(late.sum())} target hours need load after "
            f"{t_load[-1]}", site=ba), what=f"forecast request for {ba}")
    earliest = min(int(a.min()) - 24 * 7 - 24, int(ti.min()) - 24 * max(_lag_days(k)))
    if earliest < 0:
        need = t0 + earliest * _H
        raise ValidationError(Problem(
            f"history too short: the {_hname(k)} forecast for {targets[0]} needs load from {need} but the load "
            f"starts at {t0} ({-earliest} hours missing); start the targets later or give more history",
            site=ba), what=f"load of {ba}")

    cs = np.concatenate([[0.0], np.cumsum(values)])

    def window_mean(end, w):
        return (cs[end + 1] - cs[end + 1 - w]) / w

    def take(idx, avail=None):
        out = values[np.clip(idx, 0, n_obs - 1)].astype(float)
        if avail is not None:
            out = np.where(avail, out, np.nan)
        return out

    level = window_mean(a, 24)
    lt, day = _local(targets, timezone)
    dayv = day.values.astype("datetime64[D]")
    hol = _holidays(int(lt.year.min()) - 1, int(lt.year.max()) + 1)
    f: dict[str, np.ndarray] = {
        "hour": lt.hour.to_numpy(np.float64),
        "weekday": lt.day_of_week.to_numpy(np.float64),
        "month": lt.month.to_numpy(np.float64),
        "day_of_year": lt.day_of_year.to_numpy(np.float64),
        "holiday": np.isin(dayv, hol).astype(float),
        "holiday_before": np.isin(dayv - 1, hol).astype(float),
        "holiday_after": np.isin(dayv + 1, hol).astype(float),
        "holiday_week_before": np.isin(dayv - 7, hol).astype(float),
        "lead_hours": (ti - a).astype(float),
        "level": level,
        "level_week": window_mean(a, 168) / level,
        "level_change_day": level / window_mean(a - 24, 24),
        "level_change_week": level / window_mean(a - 168, 24),
        "last": take(a) / level,
        "last_change_day": take(a) / take(a - 24),
        "last_change_week": take(a) / take(a - 168),
    }
    win = np.lib.stride_tricks.sliding_window_view(values, 24)  # win[i] = values[i .. i+23]
    f["max_24h"] = win[a - 23].max(axis=1) / level
    f["min_24h"] = win[a - 23].min(axis=1) / level
    for j in _lag_days(k):
        idx = ti - 24 * j
        f[f"lag_{j}d"] = take(idx, idx <= a) / level
    out = pd.DataFrame(f, index=targets)
    if exog is not None and len(exog.columns):
        ex = exog.reindex(targets)
        rel = [c for c in exog_relative if c in exog.columns]
        for c in exog.columns:
            col = pd.to_numeric(ex[c], errors="coerce").to_numpy(float)
            out[f"exog_{c}"] = col / level if c in rel else col
        for c in rel:
            full = pd.to_numeric(exog[c], errors="coerce").reindex(t_load).to_numpy(float)
            full = np.where(full > 0, full, np.nan)
            ratio = np.nansum(np.lib.stride_tricks.sliding_window_view(full, 24)[a - 23], axis=1)
            cnt = np.isfinite(np.lib.stride_tricks.sliding_window_view(full, 24)[a - 23]).sum(axis=1)
            denom = np.where(cnt > 0, level * cnt, np.nan)
            with np.errstate(invalid="ignore", divide="ignore"):
                out[f"exog_{c}_bias_24h"] = np.where(cnt >= 12, ratio / denom, np.nan)
    out.attrs.update({"horizon_days": k, "issue_hour": int(issue_hour), "timezone": timezone,
                      "ba": ba or ""})
    return out


def _hname(k: int) -> str:
    return {1: "day-ahead", 7: "week-ahead"}.get(k, f"{k}-day-ahead")


def seasonal_naive(load: pd.Series, targets: pd.DatetimeIndex, horizon="day-ahead") -> pd.Series:
    """Seasonal-naive forecast: the same hour of the most recent week known at the issue time.

    One week earlier for horizons up to 6 days, two weeks for a week-ahead forecast [MW].
    """
    k = horizon_days(horizon)
    weeks = k // 7 + 1
    src = load.reindex(pd.DatetimeIndex(targets) - pd.Timedelta(weeks=weeks))
    return pd.Series(src.to_numpy(float), index=pd.DatetimeIndex(targets), name="seasonal_naive")


class LoadFeatures(TransformerMixin, BaseEstimator):
    """Transformer: a frame of hourly observations → the issue-time-safe features of each hour.

    ``X`` is a DataFrame indexed by hour (naive UTC) with a ``load`` column [MW] and optional
    exogenous columns; ``transform`` returns :func:`load_features` for every hour whose history
    the frame holds (the first :func:`required_history_hours` rows are dropped, so use it on its
    own, not inside a Pipeline whose ``y`` must keep its rows).
    """

    def __init__(self, horizon="day-ahead", timezone="UTC", issue_hour=ISSUE_HOUR, exog_relative=()):
        self.horizon = horizon
        self.timezone = timezone
        self.issue_hour = issue_hour
        self.exog_relative = exog_relative

    def fit(self, X, y=None):
        horizon_days(self.horizon)
        return self

    def transform(self, X):
        if not isinstance(X, pd.DataFrame) or "load" not in X.columns:
            raise ValidationError(Problem("expected a DataFrame with a 'load' column [MW] indexed by hour"),
                                  what="LoadFeatures input")
        exog = X.drop(columns=["load"])
        return load_features(X["load"], timezone=self.timezone, horizon=self.horizon, issue_hour=self.issue_hour,
                             exog=exog if len(exog.columns) else None, exog_relative=self.exog_relative,
                             ba=X.attrs.get("ba"))


class HourlyLoadForecaster(RegressorMixin, BaseEstimator):
    """Gradient-boosted hourly load forecaster with split-conformal quantiles.

    A scikit-learn regressor: ``fit(X, y)`` on a feature matrix (normally from
    :func:`load_features`, any numeric matrix works), ``predict(X)`` the point forecast [MW],
    ``predict_quantiles(X, quantiles)`` and ``predict_interval(X, coverage)``.  The convenience
    methods :meth:`fit_series` and :meth:`forecast` build the features from a load series for the
    forecaster's ``horizon``, ``timezone`` and ``issue_hour``.

    Parameters
    ----------
    horizon : {'day-ahead', 'week-ahead'} or int
        Lead in days (1–7) used by :meth:`fit_series` and :meth:`forecast`.
    timezone : str
        The BA's time zone, for :meth:`fit_series` and :meth:`forecast`.
    issue_hour : int
        Local issue hour on the issue day (default 23; 10 for a market-time forecast).
    max_iter, learning_rate, max_leaf_nodes, min_samples_leaf, l2_regularization, loss :
        Passed to ``sklearn.ensemble.HistGradientBoostingRegressor``; ``loss='absolute_error'``
        (default) makes the point forecast a conditional median, which suits MAPE.
    level_feature : 'auto', str, int or None
        Feature the target is divided by before fitting (the 24-hour level); ``'auto'`` uses a
        column named ``level`` when ``X`` is a DataFrame that has one, else none.  With a level the
        intervals are multiplicative (ratios actual / forecast), else additive.
    quantiles : tuple of float
        Quantile levels returned by default by :meth:`predict_quantiles`.
    calibration_size : float or int
        The last share (float) or number of rows (int) of the training rows, in their order,
        held out for the conformal calibration; rows should be in time order.
    refit : bool
        Refit on all rows after calibrating (default True).
    max_train_rows : int or None
        Fit on a random subsample of at most this many rows (default 10 000, about 14 months of
        hours spread over the training period; None: all rows); the calibration slice is scored
        on all its rows.  The defaults were chosen on a 2015–2017 / 2018 split of the ten
        evaluation BAs (never on 2019).
    n_threads : int or None
        OpenMP threads of the boosting (default 1: on a shared machine one thread is about as fast
        per BA and never stalls; parallelise over BAs instead, e.g. with Dask).  None: all cores.
    random_state : int
        Seed of the subsample and of the boosting.
    """

    def __init__(self, horizon="day-ahead", timezone="UTC", issue_hour=ISSUE_HOUR, max_iter=150,
                 learning_rate=0.08, max_leaf_nodes=31, min_samples_leaf=20, l2_regularization=1.0,
                 loss="absolute_error", level_feature="auto", quantiles=DEFAULT_QUANTILES,
                 calibration_size=0.25, refit=True, max_train_rows=10_000, n_threads=1, random_state=0):
        self.horizon = horizon
        self.timezone = timezone
        self.issue_hour = issue_hour
        self.max_iter = max_iter
        self.learning_rate = learning_rate
        self.max_leaf_nodes = max_leaf_nodes
        self.min_samples_leaf = min_samples_leaf
        self.l2_regularization = l2_regularization
        self.loss = loss
        self.level_feature = level_feature
        self.quantiles = quantiles
        self.calibration_size = calibration_size
        self.refit = refit
        self.max_train_rows = max_train_rows
        self.n_threads = n_threads
        self.random_state = random_state

    # -- scikit-learn API ------------------------------------------------------------------
    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags

    def _model(self):
        return HistGradientBoostingRegressor(
            loss=self.loss, max_iter=self.max_iter, learning_rate=self.learning_rate,
            max_leaf_nodes=self.max_leaf_nodes, min_samples_leaf=self.min_samples_leaf,
            l2_regularization=self.l2_regularization, early_stopping=False, random_state=self.random_state)

    def _level_index(self, names) -> int | None:
        lf = self.level_feature
        if lf is None:
            return None
        if lf == "auto":
            if names is not None and "level" in list(names):
                return list(names).index("level")
            return None
        if isinstance(lf, str):
            if names is None or lf not in list(names):
                raise ValueError(f"level_feature {lf!r} is not a column of X (columns: "
                                 f"{list(names) if names is not None else 'none, X is an array'})")
            return list(names).index(lf)
        return int(lf)

    def _threads(self):
        return threadpool_limits(self.n_threads, user_api="openmp") if self.n_threads else nullcontext()

    def fit(self, X, y):
        """Fit on features ``X`` and load ``y`` [MW] (rows in time order); returns self."""
        with self._threads():
            return self._fit(X, y)

    def _fit(self, X, y):
        X, y = validate_data(self, X, y, ensure_all_finite="allow-nan", y_numeric=True, dtype=np.float64)
        y = np.asarray(y, dtype=float)
        if not np.isfinite(y).all():
            raise ValueError("y contains NaN or infinite values; drop those hours before fitting")
        self.level_index_ = self._level_index(getattr(self, "feature_names_in_", None))
        scale = self._scale(X)
        if scale is not None and not (np.isfinite(scale).all() and (scale > 0).all()):
            raise ValueError("the level feature must be positive and finite in every row")
        z = y / scale if scale is not None else y
        self.multiplicative_ = scale is not None
        n = len(y)
        cal = self.calibration_size
        n_cal = int(round(cal * n)) if isinstance(cal, float) else int(cal)
        n_cal = min(max(n_cal, 0), n - 2) if n > 3 else 0
        rng = np.random.default_rng(self.random_state)

        def subsample(idx):
            if self.max_train_rows and len(idx) > self.max_train_rows:
                idx = np.sort(rng.choice(idx, self.max_train_rows, replace=False))
            return idx

        if n_cal >= 2:
            tr, ca = np.arange(n - n_cal), np.arange(n - n_cal, n)
            tr_idx = subsample(tr)
            m = self._model().fit(X[tr_idx], z[tr_idx])
            pred = m.predict(X[ca])
            self.residuals_ = self._residuals(z[ca], pred)
            if self.refit:
                all_idx = subsample(np.arange(n))
                m = self._model().fit(X[all_idx], z[all_idx])
        else:
            all_idx = subsample(np.arange(n))
            m = self._model().fit(X[all_idx], z[all_idx])
            self.residuals_ = self._residuals(z, m.predict(X))
        self.model_ = m
        self.n_iter_ = int(m.n_iter_)
        self.n_calibration_ = int(n_cal if n_cal >= 2 else 0)
        return self

    def _scale(self, X):
        if self.level_index_ is None:
            return None
        return X[:, self.level_index_]

    def _residuals(self, z, pred):
        if self.multiplicative_:
            with np.errstate(divide="ignore", invalid="ignore"):
                r = z / pred
            r = r[np.isfinite(r)]
        else:
            r = z - pred
        return np.sort(r)

    def _point(self, X):
        check_is_fitted(self, "model_")
        X = validate_data(self, X, reset=False, ensure_all_finite="allow-nan", dtype=np.float64)
        with self._threads():
            p = self.model_.predict(X)
        scale = self._scale(X)
        return p, scale

    def predict(self, X):
        """Point forecast [MW] (the boosted model's conditional median with the default loss)."""
        p, scale = self._point(X)
        return p * scale if scale is not None else p

    def predict_quantiles(self, X, quantiles=None):
        """Forecast quantiles [MW], shape (n_rows, n_quantiles), non-decreasing along the quantiles.

        Split-conformal: the point forecast combined with the empirical quantiles of the held-out
        residuals (ratios when a level is used), with the finite-sample correction
        ``ceil((n + 1) q) / n`` for upper and ``floor((n + 1) q) / n`` for lower levels.
        """
        q = np.atleast_1d(np.asarray(self.quantiles if quantiles is None else quantiles, dtype=float))
        if ((q <= 0) | (q >= 1)).any():
            raise ValueError(f"quantiles must lie strictly between 0 and 1, found {q.tolist()}")
        p, scale = self._point(X)
        r = self.residuals_
        n = len(r)
        lev = np.where(q >= 0.5, np.ceil((n + 1) * q) / n, np.floor((n + 1) * q) / n)
        rq = np.quantile(r, np.clip(lev, 0, 1), method="inverted_cdf") if n else np.zeros_like(q)
        if self.multiplicative_:
            out = (p * scale)[:, None] * rq[None, :]
        else:
            out = p[:, None] + rq[None, :]
        return np.maximum.accumulate(out, axis=1)

    def predict_interval(self, X, coverage: float = 0.8):
        """Central prediction interval [MW]: (lower, upper) arrays for the given coverage."""
        a = (1 - coverage) / 2
        qs = self.predict_quantiles(X, [a, 1 - a])
        return qs[:, 0], qs[:, 1]

    # -- series convenience -----------------------------------------------------------------
    def fit_series(self, load: pd.Series, *, start=None, end=None, exog: pd.DataFrame | None = None,
                   exog_relative: Sequence[str] = (), ba: str | None = None):
        """Fit on the hours of ``load`` in [start, end) (default: every hour whose history it holds)."""
        ba = ba if ba is not None else (str(load.name) if load.name is not None else None)
        t = load.index
        hist = required_history_hours(self.horizon, self.issue_hour)
        first = t[0] + hist * _H if len(t) else None
        lo = max(pd.Timestamp(start), first) if start is not None and first is not None else first
        hi = pd.Timestamp(end) if end is not None else (t[-1] + _H if len(t) else None)
        if len(t) == 0 or lo is None or lo >= hi:
            raise ValidationError(Problem(
                f"history too short to fit: load {t[0] if len(t) else '-'} .. {t[-1] if len(t) else '-'}, "
                f"the {self.horizon} features need {hist} hours before the first training hour", site=ba),
                what=f"load of {ba}")
        targets = pd.date_range(lo, hi - _H, freq="h")
        targets = targets[targets <= t[-1]]
        min_rows = 14 * 24
        if len(targets) < min_rows:
            raise ValidationError(Problem(
                f"history too short to fit: {len(targets)} training hours ({lo} .. {hi - _H}) after the "
                f"{hist} h the features need; at least {min_rows} are needed", site=ba), what=f"load of {ba}")
        F = load_features(load, timezone=self.timezone, horizon=self.horizon, issue_hour=self.issue_hour,
                          targets=targets, exog=exog, exog_relative=exog_relative, ba=ba)
        y = load.reindex(targets).to_numpy(float)
        self.fit(F, y)
        self.exog_relative_ = tuple(exog_relative)
        self.exog_columns_ = tuple(exog.columns) if exog is not None else ()
        return self

    def forecast(self, load: pd.Series, start, end=None, *, exog: pd.DataFrame | None = None,
                 quantiles=None, ba: str | None = None) -> pd.DataFrame:
        """Issue forecasts for the hours [start, end) from the observed ``load``.

        Every hour's forecast uses only the load known at its own issue time (``horizon`` days
        before, at ``issue_hour`` local).  Returns a frame with ``forecast`` and one column per
        quantile (``q0.1``, ...) [MW].
        """
        ba = ba if ba is not None else (str(load.name) if load.name is not None else None)
        start = pd.Timestamp(start)
        end = pd.Timestamp(end) if end is not None else start + pd.Timedelta(days=1)
        targets = pd.date_range(start, end - _H, freq="h")
        cols = getattr(self, "exog_columns_", ())
        if cols and (exog is None or any(c not in exog.columns for c in cols)):
            raise ValidationError(Problem(f"the model was fitted with exogenous inputs {list(cols)}; pass them "
                                          "as exog", site=ba), what="forecast request")
        F = load_features(load, timezone=self.timezone, horizon=self.horizon, issue_hour=self.issue_hour,
                          targets=targets, exog=exog[list(cols)] if cols else None,
                          exog_relative=getattr(self, "exog_relative_", ()), ba=ba)
        q = self.quantiles if quantiles is None else quantiles
        out = pd.DataFrame({"forecast": self.predict(F)}, index=targets)
        qs = self.predict_quantiles(F, q)
        for i, level in enumerate(np.atleast_1d(q)):
            out[f"q{level:g}"] = qs[:, i]
        out.index.name = "time"
        return out
