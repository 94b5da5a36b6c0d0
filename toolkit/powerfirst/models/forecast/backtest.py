r"""Rolling-origin backtests of hourly load forecasts, and their metrics.

A backtest fits a forecaster on a training period and issues a forecast at
every origin of the test period — one per local day for a day-ahead
forecast, each using only the load known at its issue time (see
:mod:`powerfirst.models.forecast.hourly`).  With ``refit_every`` the model is
refitted on an expanding window at each period start (``'MS'``: monthly),
from the hours observed before that period's first issue time.

Metrics (``actual`` :math:`y_t`, forecast :math:`\hat y_t`, quantile
forecasts :math:`\hat q_{\tau,t}`):

* MAPE :math:`= 100\,\overline{|\hat y_t - y_t| / y_t}` [%];
* MASE :math:`= \overline{|\hat y_t - y_t|} / \overline{|y_s - y_{s-m}|}`, the
  denominator the in-sample mean absolute error of the seasonal-naive
  forecast with season :math:`m` = 168 h on the training period [1];
* pinball loss :math:`\rho_\tau(y - \hat q_\tau) = \max(\tau (y - \hat q_\tau),\ (\tau - 1)(y - \hat q_\tau))`,
  averaged over hours and quantile levels [MW];
* coverage of the central interval: share of hours with
  :math:`\hat q_{\alpha/2} \le y \le \hat q_{1-\alpha/2}` [1];
* CRPS from quantiles: :math:`\mathrm{CRPS} = 2 \int_0^1 \rho_\tau\, d\tau`,
  approximated by the trapezoid rule over the quantile levels given [MW]
  (Gneiting & Raftery 2007, eq. 21; use an even grid such as 0.05 … 0.95).

References
----------
Hyndman, R. J. & Koehler, A. B. (2006). Another look at measures of forecast
accuracy. *International Journal of Forecasting* 22(4), 679–688.
https://doi.org/10.1016/j.ijforecast.2006.03.001

Gneiting, T. & Raftery, A. E. (2007). Strictly proper scoring rules,
prediction, and estimation. *JASA* 102(477), 359–378.
https://doi.org/10.1198/016214506000001437
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import xarray as xr

from powerfirst.errors import Problem, ValidationError
from powerfirst.models.forecast.hourly import (
    HourlyLoadForecaster,
    check_load_series,
    horizon_days,
    issue_anchor,
    required_history_hours,
    seasonal_naive,
)

__all__ = [
    "mape",
    "mase",
    "pinball_loss",
    "interval_coverage",
    "crps_from_quantiles",
    "BacktestResult",
    "backtest",
    "evaluate_bas",
    "EVALUATION_BAS",
    "CRPS_QUANTILES",
]

#: the ten balancing authorities of the real-data evaluation (2020_Oct release files with forecasts)
EVALUATION_BAS = ("PJM", "MISO", "ERCO", "SWPP", "CISO", "NYIS", "ISNE", "DUK", "SOCO", "TVA")
#: quantile levels the backtest asks for (an even grid for the CRPS; 0.1 and 0.9 give the 80 % interval)
CRPS_QUANTILES = tuple(round(0.05 * i, 2) for i in range(1, 20))
_H = pd.Timedelta(hours=1)


def _pair(actual, forecast):
    a = np.asarray(actual, dtype=float)
    f = np.asarray(forecast, dtype=float)
    if a.shape != f.shape[: a.ndim]:
        raise ValueError(f"actual {a.shape} and forecast {f.shape} do not align")
    return a, f


def mape(actual, forecast) -> float:
    """Mean absolute percentage error [%] over the hours where both are finite and actual ≠ 0."""
    a, f = _pair(actual, forecast)
    ok = np.isfinite(a) & np.isfinite(f) & (a != 0)
    if not ok.any():
        return float("nan")
    return float(np.mean(np.abs(f[ok] - a[ok]) / np.abs(a[ok])) * 100)


def mase(actual, forecast, insample, season: int = 168) -> float:
    """Mean absolute scaled error [1]: MAE over the in-sample MAE of the seasonal-naive forecast."""
    a, f = _pair(actual, forecast)
    s = np.asarray(insample, dtype=float)
    if s.size <= season:
        raise ValueError(f"MASE needs more than {season} in-sample values, found {s.size}")
    d = np.abs(s[season:] - s[:-season])
    scale = np.nanmean(d)
    ok = np.isfinite(a) & np.isfinite(f)
    return float(np.mean(np.abs(f[ok] - a[ok])) / scale)


def pinball_loss(actual, qforecast, quantiles) -> float:
    """Mean pinball (quantile) loss over hours and quantile levels [units of ``actual``]."""
    a = np.asarray(actual, dtype=float)
    q = np.asarray(qforecast, dtype=float)
    tau = np.asarray(quantiles, dtype=float)
    if q.ndim != 2 or q.shape != (a.size, tau.size):
        raise ValueError(f"qforecast must have shape ({a.size}, {tau.size}), found {q.shape}")
    ok = np.isfinite(a) & np.isfinite(q).all(axis=1)
    diff = a[ok, None] - q[ok]
    return float(np.mean(np.maximum(tau * diff, (tau - 1) * diff)))


def interval_coverage(actual, lower, upper) -> float:
    """Share of hours whose actual lies in [lower, upper] [1]."""
    a = np.asarray(actual, dtype=float)
    lo, hi = np.asarray(lower, dtype=float), np.asarray(upper, dtype=float)
    ok = np.isfinite(a) & np.isfinite(lo) & np.isfinite(hi)
    return float(np.mean((a[ok] >= lo[ok]) & (a[ok] <= hi[ok])))


def crps_from_quantiles(actual, qforecast, quantiles) -> float:
    """Continuous ranked probability score approximated from quantile forecasts [units of ``actual``].

    :math:`2 \\int_0^1 \\rho_\\tau d\\tau` by the trapezoid rule over ``quantiles``, with the
    loss held constant from 0 to the first and from the last level to 1.
    """
    a = np.asarray(actual, dtype=float)
    q = np.asarray(qforecast, dtype=float)
    tau = np.asarray(quantiles, dtype=float)
    order = np.argsort(tau)
    tau, q = tau[order], q[:, order]
    ok = np.isfinite(a) & np.isfinite(q).all(axis=1)
    diff = a[ok, None] - q[ok]
    loss = np.maximum(tau * diff, (tau - 1) * diff)  # (n, K)
    grid = np.concatenate([[0.0], tau, [1.0]])
    vals = np.concatenate([loss[:, :1], loss, loss[:, -1:]], axis=1)
    integral = np.sum((vals[:, 1:] + vals[:, :-1]) / 2 * np.diff(grid)[None, :], axis=1)
    return float(np.mean(2 * integral))


@dataclass
class BacktestResult:
    """A backtest of one balancing authority.

    Attributes
    ----------
    ba, horizon : str
    frame : pandas.DataFrame
        Hourly, indexed by ``time``: ``actual``, ``forecast``, the quantile columns ``q0.05`` …,
        ``seasonal_naive`` and, where the source has it, ``ba_forecast`` [MW].
    metrics : dict
        ``mape``, ``mape_seasonal_naive``, ``mape_ba_forecast`` (None without one), ``mase``,
        ``coverage_80``, ``pinball``, ``crps``, hour counts.
    """

    ba: str
    horizon: str
    frame: pd.DataFrame
    metrics: dict = field(default_factory=dict)

    def to_record(self) -> dict:
        return {"ba": self.ba, "horizon": self.horizon, **self.metrics}


def _period(test, what="test") -> tuple[pd.Timestamp, pd.Timestamp]:
    if isinstance(test, (int, np.integer)) or (isinstance(test, str) and test.isdigit()):
        y = int(test)
        return pd.Timestamp(f"{y}-01-01"), pd.Timestamp(f"{y + 1}-01-01")
    if isinstance(test, tuple) and len(test) == 2:
        a, b = test
        if isinstance(a, (int, np.integer)) and isinstance(b, (int, np.integer)):
            return pd.Timestamp(f"{a}-01-01"), pd.Timestamp(f"{b + 1}-01-01")
        return pd.Timestamp(a), pd.Timestamp(b)
    raise ValueError(f"{what} period must be a year, a (first, last) pair of years or a (start, end) pair of "
                     f"dates, found {test!r}")


def backtest(load: pd.Series, *, train, test, horizon="day-ahead", timezone: str = "UTC",
             forecaster: HourlyLoadForecaster | None = None, exog: pd.DataFrame | None = None,
             exog_relative: Sequence[str] = (), ba_forecast: pd.Series | None = None,
             refit_every: str | None = None, ba: str | None = None, edge_hours: int = 0) -> BacktestResult:
    """Fit on ``train`` and issue a forecast at every origin of ``test``; score it.

    Parameters
    ----------
    load : pandas.Series
        Hourly load [MW] (naive UTC, hour-beginning) covering the training and test periods.
    train, test : int, (int, int) or (start, end)
        Periods: a year, first and last year, or [start, end) timestamps.
    horizon : {'day-ahead', 'week-ahead'} or int
    timezone : str
        The BA's time zone.
    forecaster : HourlyLoadForecaster, optional
        An unfitted template (cloned with ``horizon`` and ``timezone`` set); default settings
        otherwise.
    exog, exog_relative :
        Exogenous inputs known at the issue time, see :func:`~powerfirst.models.forecast.hourly.load_features`.
    ba_forecast : pandas.Series, optional
        The BA's own published forecast [MW], scored side by side (zeros and NaN are excluded).
    refit_every : str, optional
        Refit on an expanding window at each period start of this frequency (``'MS'``, ``'QS'``).
    edge_hours : int
        Hours at the end of the test period that may lie past the end of the data [h]: the test
        period is then scored up to the last hour of the data.  For data whose end-of-hour stamps
        were shifted to hour-beginning (EIA-930 and its cleaned releases end at 22:00 UTC on
        31 December), pass 1.  Default 0: the test period must lie inside the data.

    Returns
    -------
    BacktestResult
        ``metrics`` (and ``frame.attrs``) say which hours were scored: ``test_period`` (first ..
        last hour scored), ``n_hours_test`` (hours of the requested period), ``n_hours_scored``
        (hours with a forecast and an observation) and ``n_hours_past_data`` (hours of the
        requested period past the end of the data, at most ``edge_hours``).

    Raises
    ------
    ValidationError
        A test or training period outside the data, a history too short, bad timestamps.
    """
    from sklearn.base import clone

    ba = ba if ba is not None else (str(load.name) if load.name is not None else "load")
    k = horizon_days(horizon, ba)
    hname = {1: "day-ahead", 7: "week-ahead"}.get(k, f"{k}-day-ahead")
    check_load_series(load, ba)
    t = load.index
    tr0, tr1 = _period(train, "train")
    te0, te1 = _period(test, "test")
    problems = []
    if not isinstance(edge_hours, (int, np.integer)) or isinstance(edge_hours, bool) or edge_hours < 0:
        raise ValueError(f"edge_hours must be a whole number of hours >= 0, found {edge_hours!r}")
    n_test = int((te1 - te0) / _H)
    past = int(max(0, (te1 - (t[-1] + _H)) / _H)) if te1 > te0 else 0
    if te0 < t[0] or past > edge_hours or te0 > t[-1]:
        why = (f"; its last {past} hour(s) are past the end of the data, more than edge_hours={edge_hours}"
               if te0 <= t[-1] and past else "")
        problems.append(Problem(f"test period {te0} .. {te1 - _H} lies outside the data ({t[0]} .. {t[-1]}){why}",
                                site=ba))
    if tr1 > te0:
        problems.append(Problem(f"training period ends at {tr1} after the test period starts at {te0}", site=ba))
    if tr1 <= t[0] or tr0 > t[-1]:
        problems.append(Problem(f"training period {tr0} .. {tr1 - _H} lies outside the data "
                                f"({t[0]} .. {t[-1]})", site=ba))
    if problems:
        raise ValidationError(problems, what=f"backtest of {ba}")
    te1 = te1 - past * _H  # score up to the last hour of the data
    template = forecaster if forecaster is not None else HourlyLoadForecaster()
    model = clone(template).set_params(horizon=k, timezone=timezone)
    targets = pd.date_range(te0, te1 - _H, freq="h")
    if refit_every:
        starts = pd.date_range(te0, te1, freq=refit_every)
        bounds = sorted(set([te0, *[s for s in starts if te0 < s < te1], te1]))
    else:
        bounds = [te0, te1]
    parts = []
    for lo, hi in zip(bounds[:-1], bounds[1:], strict=True):
        # refit on the hours observed by the first issue time of the block
        first_anchor = issue_anchor(pd.DatetimeIndex([lo]), timezone, k, model.issue_hour)[0]
        fit_end = tr1 if lo == te0 else min(first_anchor + _H, lo)
        fit_end = max(fit_end, tr1)
        m = clone(model).fit_series(load, start=tr0, end=fit_end, exog=exog, exog_relative=exog_relative, ba=ba)
        parts.append(m.forecast(load, lo, hi, exog=exog, quantiles=CRPS_QUANTILES, ba=ba))
    fc = pd.concat(parts)
    frame = fc.copy()
    frame.insert(0, "actual", load.reindex(targets).to_numpy(float))
    frame["seasonal_naive"] = seasonal_naive(load, targets, k).to_numpy()
    y = frame["actual"].to_numpy()
    qcols = [f"q{q:g}" for q in CRPS_QUANTILES]
    Q = frame[qcols].to_numpy()
    hist = load[(load.index >= tr0) & (load.index < tr1)].to_numpy(float)
    metrics = {
        "mape": round(mape(y, frame["forecast"]), 3),
        "mape_seasonal_naive": round(mape(y, frame["seasonal_naive"]), 3),
        "mape_ba_forecast": None,
        "mase": round(mase(y, frame["forecast"], hist), 3),
        "coverage_80": round(interval_coverage(y, frame["q0.1"], frame["q0.9"]), 4),
        "pinball": round(pinball_loss(y, Q, CRPS_QUANTILES), 2),
        "crps": round(crps_from_quantiles(y, Q, CRPS_QUANTILES), 2),
        "n_hours": int(np.isfinite(y).sum()),
        "n_hours_ba_forecast": 0,
        "test_period": f"{te0} .. {te1 - _H}",
        "n_hours_test": n_test,
        "n_hours_scored": int((np.isfinite(y) & np.isfinite(frame["forecast"].to_numpy(float))).sum()),
        "n_hours_past_data": past,
    }
    if ba_forecast is not None:
        f = pd.to_numeric(ba_forecast, errors="coerce").reindex(targets).to_numpy(float)
        f = np.where(f > 0, f, np.nan)  # zeros are missing values in the published series
        frame["ba_forecast"] = f
        ok = np.isfinite(f)
        if ok.sum():
            metrics["mape_ba_forecast"] = round(mape(y[ok], f[ok]), 3)
            metrics["mape_on_ba_forecast_hours"] = round(mape(y[ok], frame["forecast"].to_numpy()[ok]), 3)
        metrics["n_hours_ba_forecast"] = int(ok.sum())
    frame.index.name = "time"
    frame.attrs.update({"ba": ba, "horizon": hname, "units": "MW", "timezone": timezone,
                        "issue_hour": int(model.issue_hour), "test_period": metrics["test_period"],
                        "n_hours_test": n_test, "n_hours_scored": metrics["n_hours_scored"],
                        "n_hours_past_data": past})
    return BacktestResult(ba=ba, horizon=hname, frame=frame, metrics=metrics)


def evaluate_bas(grid: xr.Dataset, bas: Sequence[str] = EVALUATION_BAS, *, train=(2015, 2018), test=2019,
                 horizon="day-ahead", forecaster: HourlyLoadForecaster | None = None,
                 operator_forecast_input: bool = False, variable: str = "demand",
                 return_results: bool = False, progress=None, edge_hours: int = 0):
    """Backtest every BA of a grid cube; one row per BA (model, seasonal-naive, the BA's own forecast).

    Parameters
    ----------
    grid : xarray.Dataset
        Grid cube with ``demand`` [MW] (cleaned; the variable scored) and, where the source has it,
        ``demand_forecast`` [MW] (the BA's published day-ahead forecast) and a ``timezone`` coordinate.
    bas : list of str
    train, test :
        See :func:`backtest`; the training period is clipped to the data.
    operator_forecast_input : bool
        Give the model the BA's published day-ahead forecast as an exogenous input: the model then
        post-processes the operator's forecast (corrects its bias, blends it with the recent load).
        This assumes the operator's forecast for day D is known at the issue time on D - 1, which
        holds for the operator itself but not for the public EIA-930 copy (posted by 07:00 Eastern
        on D).  Default: load only.
    return_results : bool
        Also return the :class:`BacktestResult` of each BA.
    edge_hours : int
        See :func:`backtest` (1 for a grid cube read from EIA-930 end-of-hour stamps).

    Returns
    -------
    pandas.DataFrame (and dict of BacktestResult)
        Columns ``ba, horizon, mape, mape_seasonal_naive, mape_ba_forecast, coverage_80, pinball,
        crps, mase, n_hours, n_hours_ba_forecast, reduction_vs_seasonal_naive, beats_ba_forecast``,
        and the hours scored: ``test_period, n_hours_test, n_hours_scored, n_hours_past_data``.
    """
    missing = [b for b in bas if b not in grid["ba"].values]
    if missing:
        raise ValidationError([Problem(f"not in the grid cube (BAs: {list(map(str, grid['ba'].values))})", site=b)
                               for b in missing], what="evaluation request")
    tr0, tr1 = _period(train, "train")
    tz_all = grid["timezone"] if "timezone" in grid.coords else None
    records, results = [], {}
    for b in bas:
        sub = grid.sel(ba=b)
        load = sub[variable].to_series().rename(str(b))
        load = load[load.index >= tr0 - required_history_hours(horizon) * _H] if tr0 > load.index[0] else load
        tz = str(tz_all.sel(ba=b).values) if tz_all is not None else "UTC"
        fc = sub["demand_forecast"].to_series() if "demand_forecast" in sub else None
        has_fc = fc is not None and bool((fc > 0).any())
        exog = None
        rel: tuple[str, ...] = ()
        if operator_forecast_input and has_fc:
            exog = pd.DataFrame({"operator_forecast": fc.where(fc > 0)})
            rel = ("operator_forecast",)
        train_eff = (max(tr0, load.index[0] + required_history_hours(horizon) * _H), tr1)
        res = backtest(load, train=train_eff, test=test, horizon=horizon, timezone=tz, forecaster=forecaster,
                       exog=exog, exog_relative=rel, ba_forecast=fc if has_fc else None, ba=str(b),
                       edge_hours=edge_hours)
        rec = res.to_record()
        sn = rec["mape_seasonal_naive"]
        rec["reduction_vs_seasonal_naive"] = round(1 - rec["mape"] / sn, 3) if sn else None
        rec["beats_ba_forecast"] = (None if rec["mape_ba_forecast"] is None
                                    else bool(rec["mape"] < rec["mape_ba_forecast"]))
        rec["inputs"] = "load + operator forecast" if exog is not None else "load only"
        records.append(rec)
        results[str(b)] = res
        if progress is not None:
            progress(b, rec)
    table = pd.DataFrame.from_records(records)
    cols = ["ba", "horizon", "inputs", "mape", "mape_seasonal_naive", "mape_ba_forecast", "coverage_80", "pinball",
            "crps", "mase", "reduction_vs_seasonal_naive", "beats_ba_forecast", "mape_on_ba_forecast_hours",
            "n_hours", "n_hours_ba_forecast", "test_period", "n_hours_test", "n_hours_scored", "n_hours_past_data"]
    table = table[[c for c in cols if c in table.columns]]
    table.attrs.update({"train": f"{tr0.date()} .. {(tr1 - _H).date()}", "test": str(test),
                        "scored_against": variable, "units": "mape in %, pinball and crps in MW"})
    return (table, results) if return_results else table
