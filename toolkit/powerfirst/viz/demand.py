"""Views of demand growth: fan charts against published bands, workload split, hourly backtests."""

from __future__ import annotations

from collections.abc import Sequence

import holoviews as hv
import hvplot.pandas  # noqa: F401  (registers .hvplot)
import numpy as np
import pandas as pd
import xarray as xr

__all__ = ["TREND_CLIP", "fan_frame", "fan_range", "fan_chart", "workload_chart", "backtest_chart", "metrics_frame"]

SCENARIO_COLOURS = {"Base": "#1f77b4", "Lift-Off": "#d62728", "High Efficiency": "#2ca02c", "Headwinds": "#7f7f7f"}


def fan_frame(cube: xr.Dataset, region: str, scenarios: Sequence[str] | None = None) -> dict[str, pd.DataFrame]:
    """The frames a fan chart draws: scenario paths, trend quantiles, history, published bands [TWh]."""
    sub = cube.sel(region=region)
    scenarios = list(scenarios) if scenarios else [str(s) for s in cube["scenario"].values]
    paths = sub["dc_electricity"].sum("workload", min_count=1).sel(scenario=scenarios).transpose("year", "scenario").to_pandas()
    paths = paths.reset_index().melt(id_vars="year", var_name="scenario", value_name="electricity_twh").dropna()
    qs = [float(q) for q in sub["quantile"].values]
    trend = sub["dc_electricity_trend"].to_pandas()
    trend.columns = [f"q{q:g}" for q in qs]
    trend = trend.reset_index()
    hist = sub["dc_electricity_history"].to_series().dropna().rename("electricity_twh").reset_index()
    bands = pd.DataFrame({"year": sub["year"].values, "low": sub["dc_electricity_published_low"].values,
                          "high": sub["dc_electricity_published_high"].values}).dropna()
    return {"paths": paths, "trend": trend, "history": hist, "published": bands}


#: the y-axis stops at this multiple of the largest scenario path, history or published figure when the
#: trend estimator's band runs above it (its exponential extrapolation would otherwise set the scale)
TREND_CLIP = 1.25


def fan_range(frames: dict[str, pd.DataFrame]) -> tuple[tuple[float, float], int | None]:
    """The y-range [TWh] of a fan chart, and the first year the trend band leaves it (None: never).

    The range starts at 0 and ends 5 % above the largest value drawn; when the trend's upper quantile
    goes above :data:`TREND_CLIP` x the largest scenario path, history or published value, the range
    ends 10 % above that value instead, and the band leaves the chart from the year returned.
    """
    core = [frames["paths"]["electricity_twh"], frames["history"]["electricity_twh"], frames["published"]["high"]]
    core_top = max((float(np.nanmax(c)) for c in core if len(c) and np.isfinite(c).any()), default=np.nan)
    qs = [c for c in frames["trend"].columns if c.startswith("q")]
    trend = frames["trend"][qs].to_numpy(float) if qs else np.empty((0, 0))
    trend_top = float(np.nanmax(trend)) if trend.size and np.isfinite(trend).any() else np.nan
    if not np.isfinite(core_top):
        top = trend_top if np.isfinite(trend_top) else 1.0
        return (0.0, 1.05 * top), None
    if np.isfinite(trend_top) and trend_top > TREND_CLIP * core_top:
        end = 1.1 * core_top
        above = frames["trend"]["year"].to_numpy()[np.nanmax(trend, axis=1) > end]
        return (0.0, end), (int(above.min()) if above.size else None)
    return (0.0, 1.05 * max(core_top, trend_top if np.isfinite(trend_top) else core_top)), None


def fan_chart(cube: xr.Dataset, region: str, scenarios: Sequence[str] | None = None, *,
              height: int = 380) -> hv.Overlay:
    """Data-centre electricity of ``region`` [TWh]: the scenario paths of the driver model, the
    trend estimator's 10–90 % band and median, the published history, and the published
    projection ranges (vertical bars).

    The y-axis runs from 0 to just above the largest value drawn, but no further than
    :data:`TREND_CLIP` x the largest scenario path, history or published value: past that the trend
    band (an exponential extrapolation) leaves the chart, and the title says from which year
    (:func:`fan_range`). The legend sits to the right of the plot, off the curves.
    """
    f = fan_frame(cube, region, scenarios)
    qs = [c for c in f["trend"].columns if c.startswith("q")]
    lo, hi = qs[0], qs[-1]
    mid = "q0.5" if "q0.5" in qs else qs[len(qs) // 2]
    layers = [
        hv.Area(f["trend"], "year", [lo, hi], label=f"trend {lo[1:]}-{hi[1:]} quantiles").opts(
            alpha=0.2, color="#9467bd", line_alpha=0),
        hv.Curve(f["trend"], "year", mid, label="trend median").opts(color="#9467bd", line_dash="dashed"),
    ]
    for s, g in f["paths"].groupby("scenario", sort=False):
        layers.append(hv.Curve(g, "year", "electricity_twh", label=str(s)).opts(
            color=SCENARIO_COLOURS.get(str(s), "#444444"), line_width=2))
    if len(f["published"]):
        b = f["published"]
        layers.append(hv.Segments((b["year"], b["low"], b["year"], b["high"]), label="published range").opts(
            color="black", line_width=8, alpha=0.35))
    if len(f["history"]):
        layers.append(hv.Scatter(f["history"], "year", "electricity_twh", label="published history").opts(
            color="black", size=7))
    ylim, leaves = fan_range(f)
    title = f"{region}: data-centre electricity [TWh]"
    if leaves is not None:
        title += f" (trend band above the axis from {leaves})"
    return hv.Overlay(layers).opts(
        title=title, ylabel="TWh", xlabel="year", height=height, responsive=True, legend_position="right",
        show_grid=True, ylim=ylim, framewise=True)


def workload_chart(cube: xr.Dataset, region: str, scenario: str, *, height: int = 300):
    """Electricity of ``region`` by workload in ``scenario`` [TWh], stacked."""
    da = cube["dc_electricity"].sel(region=region, scenario=scenario).dropna("year", how="all")
    df = da.to_pandas()
    return df.hvplot.area(x="year", stacked=True, ylabel="TWh", height=height, responsive=True,
                          title=f"{region}, {scenario}: electricity by workload [TWh]", legend="right")


def backtest_chart(frame: pd.DataFrame, start=None, days: int = 14, *, height: int = 360) -> hv.Overlay:
    """Hourly backtest of one BA over ``days`` from ``start``: actual, forecast with its 80 %
    interval, seasonal-naive and the BA's own forecast [MW] (UTC hours)."""
    if start is None:
        start = frame.index[0]
    start = pd.Timestamp(start)
    w = frame[(frame.index >= start) & (frame.index < start + pd.Timedelta(days=days))].reset_index()
    ba = frame.attrs.get("ba", "")
    layers = []
    if {"q0.1", "q0.9"} <= set(w.columns):
        layers.append(hv.Area(w, "time", ["q0.1", "q0.9"], label="80 % interval").opts(
            alpha=0.25, color="#1f77b4", line_alpha=0))
    layers.append(hv.Curve(w, "time", "actual", label="actual").opts(color="black", line_width=1.5))
    layers.append(hv.Curve(w, "time", "forecast", label="model").opts(color="#1f77b4", line_width=1.5))
    layers.append(hv.Curve(w, "time", "seasonal_naive", label="seasonal naive").opts(
        color="#7f7f7f", line_dash="dotted"))
    if "ba_forecast" in w and np.isfinite(w["ba_forecast"]).any():
        layers.append(hv.Curve(w, "time", "ba_forecast", label="BA's own forecast").opts(
            color="#ff7f0e", line_dash="dashed"))
    title = (f"{ba}: {frame.attrs.get('horizon', 'day-ahead')} load forecast, {start.date()} + {days} days "
             f"[MW, UTC]")
    return hv.Overlay(layers).opts(title=title, ylabel="MW", xlabel="", height=height, responsive=True,
                                   legend_position="right", show_grid=True)


def metrics_frame(table: pd.DataFrame) -> pd.DataFrame:
    """The evaluation table with readable column names (MAPE in %, losses in MW)."""
    names = {"ba": "BA", "mape": "model MAPE %", "mape_seasonal_naive": "seasonal-naive MAPE %",
             "mape_ba_forecast": "BA forecast MAPE %", "coverage_80": "80 % coverage", "pinball": "pinball MW",
             "crps": "CRPS MW", "mase": "MASE", "reduction_vs_seasonal_naive": "reduction vs naive",
             "beats_ba_forecast": "beats BA"}
    keep = [c for c in names if c in table.columns]
    return table[keep].rename(columns=names)
