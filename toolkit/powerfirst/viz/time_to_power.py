"""Views of the time-to-power result of one site: the energisation-date fan per path, the MW ramp,
the tornado.  Each takes the result Dataset of :func:`powerfirst.models.time_to_power.time_to_power`
and returns a HoloViews object; none holds state."""

from __future__ import annotations

import holoviews as hv
import hvplot.pandas  # noqa: F401  (registers .hvplot)
import numpy as np
import pandas as pd
import xarray as xr

__all__ = ["fan_frame", "energisation_fan", "energisation_cdf", "mw_ramp", "tornado_frame", "tornado_chart"]


def fan_frame(ds: xr.Dataset, site: str) -> pd.DataFrame:
    """P10/P50/P90 first-power dates of one site, one row per path (months and dates)."""
    sub = ds.sel(site=site)
    start = pd.Timestamp(ds.attrs.get("start", "2026-01-01"))
    q = sub["first_power"]
    rows = []
    for p in sub["path"].values:
        rec = {"path": str(p), "mw": float(sub["mw"].sel(path=p))}
        for k in (0.1, 0.5, 0.9):
            m = float(q.sel(path=p).sel(quantile=k, method="nearest"))
            rec[f"p{int(k * 100)}_months"] = m
            rec[f"p{int(k * 100)}_date"] = start + pd.DateOffset(days=int(round(m * 30.4375))) if np.isfinite(m) else pd.NaT
        rows.append(rec)
    return pd.DataFrame(rows)


def energisation_fan(ds: xr.Dataset, site: str, *, height: int = 260) -> hv.Overlay:
    """Energisation-date fan: the P10-P90 range of first power per path, with the P50 marked."""
    df = fan_frame(ds, site).dropna(subset=["p50_date"])
    df["y"] = np.arange(len(df))
    seg = hv.Segments(df, kdims=["p10_date", "y", "p90_date", "y"], vdims=["path", "mw"]).opts(
        line_width=10, alpha=0.5, color="path", cmap="Category10", tools=["hover"])
    pts = hv.Scatter(df, kdims="p50_date", vdims=["y", "path", "p50_months", "mw"]).opts(
        size=12, color="black", marker="diamond", tools=["hover"])
    ticks = list(zip(df["y"], df["path"], strict=True))
    return (seg * pts).opts(
        hv.opts.Overlay(title=f"{site}: first power, P10-P90 (bar) and P50 (diamond)", height=height, responsive=True,
                        yticks=ticks, ylabel="", xlabel="date", ylim=(-0.7, max(len(df) - 0.3, 0.5)), show_legend=False))


def energisation_cdf(ds: xr.Dataset, site: str, *, height: int = 260) -> hv.Overlay:
    """P(energised by date) per path [1]."""
    df = ds["prob_energised"].sel(site=site).to_dataframe().reset_index()
    df = df.assign(date=ds["date"].values[df["month"].to_numpy()])
    return df.hvplot.line(x="date", y="prob_energised", by="path", height=height, responsive=True,
                          ylabel="P(energised by date) [1]", title=f"{site}: probability of first power by date")


def mw_ramp(ds: xr.Dataset, site: str, *, height: int = 260) -> hv.Overlay:
    """Expected MW available [MW] by date per path."""
    df = ds["mw_available"].sel(site=site).to_dataframe().reset_index()
    df = df.assign(date=ds["date"].values[df["month"].to_numpy()])
    return df.hvplot.line(x="date", y="mw_available", by="path", height=height, responsive=True,
                          ylabel="expected MW available [MW]", title=f"{site}: MW ramp (expected)")


def tornado_frame(ds: xr.Dataset, site: str, path: str) -> pd.DataFrame:
    """Tornado of one site and path: P50 shift [month] with each stage at its P10 / P90, largest swing first."""
    sub = ds.sel(site=site, path=path)
    df = pd.DataFrame({"stage": sub["stage"].values, "at P10": sub["tornado_p10"].values,
                       "at P90": sub["tornado_p90"].values, "swing": sub["tornado_swing"].values})
    return df.dropna().sort_values("swing", ascending=True).reset_index(drop=True)


def tornado_chart(ds: xr.Dataset, site: str, path: str, *, height: int = 300):
    """Horizontal bars: how far the P50 first power moves [month] with each stage at its P10 and P90."""
    df = tornado_frame(ds, site, path)
    if df.empty:
        return hv.Bars([]).opts(title=f"{site} / {path}: no tornado (run with tornado=True)")
    return df.hvplot.barh(x="stage", y=["at P10", "at P90"], height=height, responsive=True,
                          xlabel="", ylabel="shift of the P50 first power [month]",
                          title=f"{site} / {path}: tornado of the P50 first power", legend="bottom_right")
