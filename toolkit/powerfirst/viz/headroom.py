"""Views of flexible-load headroom: curve against the curtailment limit, heatmap, BA bars."""

from __future__ import annotations

import holoviews as hv
import hvplot.pandas  # noqa: F401
import hvplot.xarray  # noqa: F401
import pandas as pd
import xarray as xr

__all__ = ["headroom_curve", "curtailment_heatmap", "headroom_bars"]


def headroom_curve(curve: xr.DataArray, *, marks: xr.DataArray | None = None, title: str = "") -> hv.Overlay:
    """Headroom [MW] against the curtailment limit [%] for one BA (``curve`` on ``limit``)."""
    df = curve.to_dataframe(name="headroom_mw").reset_index()
    plot = df.hvplot.line(x="limit", y="headroom_mw", logx=True, xlabel="curtailment limit [%]",
                          ylabel="headroom [MW]", title=title, height=320, responsive=True)
    if marks is not None:
        m = marks.to_dataframe(name="headroom_mw").reset_index()
        plot = plot * m.hvplot.scatter(x="limit", y="headroom_mw", size=60, color="red", height=320, responsive=True)
    return plot


def curtailment_heatmap(heat: xr.DataArray, *, title: str = "") -> hv.HeatMap:
    """Curtailed hours on month x hour of day (local time) — ``heat`` from ``curtailment_events``."""
    df = heat.to_dataframe(name="hours").reset_index()
    tz = heat.attrs.get("timezone", "")
    return df.hvplot.heatmap(x="hour", y="month", C="hours", cmap="magma_r", height=320, responsive=True,
                             xlabel=f"hour of day ({tz})", ylabel="month", clabel="curtailed hours [h]",
                             title=title, flip_yaxis=True)


def headroom_bars(table: pd.DataFrame, limit: float) -> hv.Bars:
    """Headroom [MW] per BA at one limit (``table`` with columns ba, limit_pct, headroom_mw)."""
    df = table[(table["limit_pct"] == limit) & (table["ba"] != "TOTAL")].sort_values("headroom_mw")
    return df.hvplot.barh(x="ba", y="headroom_mw", height=480, responsive=True,
                          xlabel="", ylabel="headroom [MW]", title=f"Flexible headroom at {limit:g} % curtailment")
