"""Views of the site overview: a site map coloured by a variable and hourly site profiles."""

from __future__ import annotations

import holoviews as hv
import hvplot.pandas  # noqa: F401  (registers .hvplot)
import numpy as np
import pandas as pd

__all__ = ["site_map", "site_profiles", "to_web_mercator"]


def to_web_mercator(lon, lat) -> tuple[np.ndarray, np.ndarray]:
    """Longitude/latitude [degrees] → Web Mercator easting/northing [m] (EPSG:3857)."""
    return hv.util.transform.lon_lat_to_easting_northing(np.asarray(lon, float), np.asarray(lat, float))


def site_map(frame: pd.DataFrame, variable: str, *, label: str | None = None, tiles: str | bool = "CartoLight",
             cmap: str = "viridis", height: int = 460) -> hv.Overlay:
    """Sites as points on a web map, coloured by ``variable``.

    Parameters
    ----------
    frame : pandas.DataFrame
        One row per site with ``site``, ``name``, ``ba``, ``lat``, ``lon`` and ``variable``.
    variable : str
        Column used for the colour.
    label : str, optional
        Colour-bar label (e.g. ``"solar capacity factor [1]"``).
    tiles : str or bool
        Tile source name for hvplot (tiles load in the browser; points show without them).
    """
    if variable not in frame.columns:
        raise KeyError(f"no column {variable!r} to colour by; available: {sorted(frame.columns)}")
    df = frame.copy()
    df["easting"], df["northing"] = to_web_mercator(df["lon"], df["lat"])
    from powerfirst.viz._format import hover_tooltips

    hover = [c for c in dict.fromkeys(("site", "name", "ba", "tier", "target_mw", variable)) if c in df.columns]
    plot = df.hvplot.points(
        x="easting", y="northing", c=variable, cmap=cmap, tiles=tiles, hover_cols=[c for c in hover if c != variable],
        size=60, clabel=label or variable, responsive=True, height=height, xaxis=None, yaxis=None,
        title=f"Sites coloured by {label or variable}",
    )
    tips = hover_tooltips(df, hover, {"target_mw": "target [MW]", variable: label or variable})
    for el in (plot if isinstance(plot, hv.Overlay) else [plot]):
        if isinstance(el, hv.Points):
            el.opts(hover_tooltips=tips)
    return plot.opts(active_tools=["wheel_zoom"])


def site_profiles(frame: pd.DataFrame, *, title: str = "") -> hv.Layout:
    """Hourly profiles of one site: one small panel per variable (columns ``time`` + variables).

    Each column's unit goes in its panel title, from ``frame.attrs['units']`` when present.
    """
    units = frame.attrs.get("units", {})
    plots = []
    for col in frame.columns:
        if col == "time":
            continue
        u = units.get(col, "")
        plots.append(frame.hvplot.line(x="time", y=col, title=f"{col} [{u}]" if u else col, height=180,
                                       responsive=True, xlabel="", ylabel=u))
    if not plots:
        return hv.Layout([hv.Curve([])])
    return hv.Layout(plots).cols(2).opts(title=title)
