"""Views of the siting screen: the ranked map, one site's pillar breakdown, the top table, and how
the answer moves with the weights.

Each takes the result Dataset of :func:`powerfirst.models.siting.screen` and returns a HoloViews
object or a pandas DataFrame; none holds state.  The map draws its own basemap (state and country
outlines from :func:`powerfirst.io.geodata.read_boundaries`), so it needs no web tiles; tiles are
added only when asked for.  Above :data:`RASTERIZE_ABOVE` points the candidates are rasterised
with Datashader (through hvplot's ``rasterize=True``), so a screen of 100,000 cells renders as one
image whose pixels hold the mean of the variable.  Both kinds of map take ``on_site`` / ``on_box``
callbacks: a click picks the nearest candidate (:func:`nearest_site`), a box the candidates inside
it (:func:`sites_in_box`), through the streams of :mod:`powerfirst.viz.map_select`.
"""

from __future__ import annotations

import functools
import operator
import textwrap
from collections.abc import Callable, Sequence
from functools import reduce

import holoviews as hv
import hvplot.pandas  # noqa: F401  (registers .hvplot)
import numpy as np
import pandas as pd
import xarray as xr

from powerfirst.errors import Problem, ValidationError
from powerfirst.models.siting import PILLARS
from powerfirst.models.siting.score import total_score
from powerfirst.viz.map_select import MapSelection, inside_box, nearest_index

__all__ = ["RASTERIZE_ABOVE", "pillar_label", "short_name", "map_frame", "outline_paths", "outline_path", "ranked_map",
           "recolourable_map", "nearest_site", "sites_in_box", "breakdown_frame", "pillar_breakdown", "top_table",
           "flag_summary", "exclusion_summary", "reweighted_ranks", "reweighted_top", "reweighted_summary", "reweighted_map",
           "useful_work_table"]

#: above this many candidates the map is rasterised with Datashader (plain points with hover below)
RASTERIZE_ABOVE = 5000

#: map colours of the candidates that carry no colour
EXCLUDED_COLOUR = "#555555"
NO_DATA_COLOUR = "#c8c8c8"


def pillar_label(pillar: str) -> str:
    """Display name of a pillar (``time_to_power`` -> ``time to power``)."""
    return str(pillar).replace("_", " ")


def _check_screen(ds: xr.Dataset, need: Sequence[str], what: str) -> None:
    if not isinstance(ds, xr.Dataset):
        raise ValidationError([Problem(f"expected the xarray.Dataset of powerfirst.models.siting.screen, found "
                                       f"{type(ds).__name__}")], what=what)
    missing = [v for v in need if v not in ds.variables]
    if missing:
        raise ValidationError([Problem(f"the screen result has no variable {v!r} (expected the Dataset of "
                                       "powerfirst.models.siting.screen)", variable=v) for v in missing], what=what)


def _check_site(ds: xr.Dataset, site: str, what: str) -> str:
    site = str(site)
    sites = ds["site"].values.astype(str)
    if site not in set(sites):
        import difflib

        close = difflib.get_close_matches(site, list(sites[:50_000]), n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else f"; the first sites are {', '.join(sites[:3])}"
        raise ValidationError([Problem(f"no candidate {site!r} in the screen ({len(sites):,} candidates){hint}",
                                       site=site)], what=what)
    return site


def _units(da: xr.DataArray) -> str:
    return str(da.attrs.get("units", "") or "1")


_UNIT_SUFFIXES = ("_km", "_mw", "_mwh", "_ms", "_c", "_kv")


def short_name(variable: str) -> str:
    """Short display name of a screen variable (``score_time_to_power`` -> ``time to power score``,
    ``hv_distance_km`` -> ``hv distance``); its unit goes in brackets after it."""
    v = str(variable)
    if v.startswith("score_") and v[6:] in PILLARS:
        return f"{pillar_label(v[6:])} score"
    for suf in _UNIT_SUFFIXES:
        if v.endswith(suf):
            v = v[: -len(suf)]
            break
    return pillar_label(v)


def _colour_label(ds: xr.Dataset, variable: str) -> str:
    name = short_name(variable)
    if variable == "score" and ds.attrs.get("tier"):
        name = f"score, {ds.attrs['tier']} tier"
    return f"{name} [{_units(ds[variable])}]"


def _mercator(lon, lat) -> tuple[np.ndarray, np.ndarray]:
    """Longitude/latitude [degrees] -> Web Mercator easting/northing [m] (EPSG:3857)."""
    return hv.util.transform.lon_lat_to_easting_northing(np.asarray(lon, float), np.asarray(lat, float))


def map_frame(ds: xr.Dataset, variable: str = "score") -> pd.DataFrame:
    """One row per candidate: site, name, BA, state, score, rank, ``variable``, lon/lat [degrees],
    Web Mercator easting/northing [m], excluded and its reason."""
    _check_screen(ds, ("lat", "lon", "score", "rank", "excluded"), "ranked map")
    if variable not in ds.data_vars:
        numeric = sorted(v for v in ds.data_vars if ds[v].dims == ("site",) and ds[v].dtype.kind in "fiu")
        raise ValidationError([Problem(f"no variable {variable!r} to colour by; expected one of the per-site "
                                       f"numbers: {', '.join(numeric)}", variable=variable)], what="ranked map")
    da = ds[variable]
    if da.dims != ("site",) or da.dtype.kind not in "fiub":
        raise ValidationError([Problem(f"{variable!r} has dims {da.dims} and dtype {da.dtype}; expected a number per "
                                       "site (dims ('site',)) — a pillar score (score_<pillar>), the score or a layer",
                                       variable=variable)], what="ranked map")
    base, _ = _candidates(ds)
    df = base.copy(deep=False)  # copy-on-write: the cached frame is never changed
    df[variable] = da.values.astype(float)
    return df[[*base.columns[:8], *([variable] if variable not in base.columns[:8] else []), *base.columns[8:]]]


#: the candidates' frame and spacing of the last screens mapped, by Dataset: {id: (weakref, fingerprint, value)}
_CANDIDATES: dict = {}
_CANDIDATE_VARS = ("site", "lon", "lat", "name", "ba", "state", "score", "rank", "excluded", "exclusion_reason")


def _candidates(ds: xr.Dataset) -> tuple[pd.DataFrame, float]:
    """The part of :func:`map_frame` that does not depend on the colour (ids, names, positions in Web
    Mercator, score, rank, exclusion) and the candidates' spacing [m], computed once per screen: a
    map redrawn with another colour reuses them.  Kept while the Dataset lives and its variables are
    the same objects (a variable replaced in the Dataset recomputes them)."""
    import weakref

    fingerprint = tuple(id(ds.variables[v]) if v in ds.variables else None for v in _CANDIDATE_VARS)
    hit = _CANDIDATES.get(id(ds))
    if hit is not None and hit[0]() is ds and hit[1] == fingerprint:
        return hit[2]
    df = pd.DataFrame({"site": ds["site"].values.astype(str),
                       "lon": ds["lon"].values.astype(float), "lat": ds["lat"].values.astype(float)})
    for c in ("name", "ba", "state"):
        df[c] = ds[c].values.astype(str) if c in ds else ""
    df["score"] = ds["score"].values.astype(float)
    df["rank"] = ds["rank"].values.astype(float)
    df["excluded"] = ds["excluded"].values.astype(bool)
    df["exclusion_reason"] = ds["exclusion_reason"].values.astype(str) if "exclusion_reason" in ds else ""
    df["easting"], df["northing"] = _mercator(df["lon"], df["lat"])
    value = (df, _spacing_m(df))
    key = id(ds)
    _CANDIDATES[key] = (weakref.ref(ds, lambda _r, key=key: _CANDIDATES.pop(key, None)), fingerprint, value)
    while len(_CANDIDATES) > 8:
        _CANDIDATES.pop(next(iter(_CANDIDATES)))
    return value


def outline_paths(lon_range: tuple[float, float], lat_range: tuple[float, float], *, kinds=("countries", "states"),
                  tolerance: float | None = None) -> list[np.ndarray]:
    """State and country outlines inside a box, as Web Mercator polylines [m].

    Parameters
    ----------
    lon_range, lat_range : (float, float)
        The box [degrees]; outlines are clipped to it.
    kinds : sequence of {"countries", "states", "counties"}
        Which boundaries of :func:`powerfirst.io.geodata.read_boundaries` to draw.
    tolerance : float, optional
        Simplification tolerance [degrees] (default: 1/1500 of the box width).

    Returns
    -------
    list of numpy.ndarray
        One (n, 2) array of easting, northing [m] per polyline.
    """
    import shapely

    from powerfirst.io.geodata import read_boundaries

    x0, x1 = (float(v) for v in lon_range)
    y0, y1 = (float(v) for v in lat_range)
    if not (-180 <= x0 < x1 <= 180 and -90 <= y0 < y1 <= 90):
        raise ValidationError([Problem(f"expected lon_range within [-180, 180] and lat_range within [-90, 90] "
                                       f"degrees, low < high; found lon {lon_range}, lat {lat_range}")],
                              what="map outlines")
    tol = tolerance if tolerance is not None else (x1 - x0) / 1500.0
    box = shapely.box(x0, y0, x1, y1)
    out: list[np.ndarray] = []
    for kind in kinds:
        b = read_boundaries(kind)
        geoms = b["geometry"].to_numpy()
        geoms = geoms[shapely.intersects(geoms, box)]
        if not len(geoms):
            continue
        lines = shapely.clip_by_rect(shapely.simplify(shapely.boundary(geoms), tol), x0, y0, x1, y1)
        for part in shapely.get_parts(shapely.get_parts(lines)):
            if part.is_empty or part.geom_type not in ("LineString", "LinearRing"):
                continue
            xy = shapely.get_coordinates(part)
            if len(xy) >= 2:
                e, n = _mercator(xy[:, 0], xy[:, 1])
                out.append(np.column_stack([e, n]))
    return out


def _bounds(df: pd.DataFrame, pad: float = 0.04) -> tuple[tuple[float, float], tuple[float, float]]:
    lon0, lon1 = float(df["lon"].min()), float(df["lon"].max())
    lat0, lat1 = float(df["lat"].min()), float(df["lat"].max())
    dx, dy = max(lon1 - lon0, 0.5) * pad, max(lat1 - lat0, 0.5) * pad
    return ((max(lon0 - dx, -180.0), min(lon1 + dx, 180.0)), (max(lat0 - dy, -85.0), min(lat1 + dy, 85.0)))


def _extent(df: pd.DataFrame) -> tuple[tuple[float, float], tuple[float, float]]:
    """The padded box of the candidates in Web Mercator [m]: (x0, x1), (y0, y1)."""
    (lon0, lon1), (lat0, lat1) = _bounds(df)
    x, y = _mercator(np.array([lon0, lon1]), np.array([lat0, lat1]))
    return (float(x[0]), float(x[1])), (float(y[0]), float(y[1]))


def _frame(width: int, xr_: tuple[float, float], yr_: tuple[float, float], height: int | None) -> tuple[int, int]:
    """Frame width and height [px] that keep the map's aspect (``height`` caps the height)."""
    fw = int(width)
    fh = int(round(fw * (yr_[1] - yr_[0]) / max(xr_[1] - xr_[0], 1.0)))
    cap = int(height) if height else 900
    if fh > cap:
        fw, fh = int(round(fw * cap / fh)), cap
    return fw, max(fh, 150)


def _compose(layers: list):
    """Overlay the layers with ``*`` (an Overlay, or a DynamicMap of overlays when a layer is dynamic)."""
    return reduce(operator.mul, layers)


def _spacing_m(df: pd.DataFrame) -> float:
    """Median distance from a candidate to its nearest neighbour in Web Mercator [m]."""
    from scipy.spatial import cKDTree

    xy = df[["easting", "northing"]].to_numpy(float)
    if len(xy) < 2:
        return float("nan")
    d, _ = cKDTree(xy).query(xy, k=2)
    return float(np.median(d[:, 1]))


def outline_path(lon_range: tuple[float, float], lat_range: tuple[float, float], *,
                 kinds=("countries", "states")) -> np.ndarray:
    """The outlines of :func:`outline_paths` as one polyline with NaN rows between the parts.

    One array draws as one line glyph (a list of polylines draws as one line per part), and the
    result is cached per box and kinds: the outlines do not depend on the candidates, so a map
    redrawn with another colour reuses them.

    Returns
    -------
    numpy.ndarray
        (n, 2) read-only array of easting, northing [m]; rows of NaN separate the parts.
    """
    key = (tuple(round(float(v), 6) for v in lon_range), tuple(round(float(v), 6) for v in lat_range), tuple(kinds))
    return _outline_path(*key)


@functools.lru_cache(maxsize=32)
def _outline_path(lon_range, lat_range, kinds) -> np.ndarray:
    parts = outline_paths(lon_range, lat_range, kinds=kinds)
    if not parts:
        xy = np.empty((0, 2))
    else:
        gap = np.full((1, 2), np.nan)
        xy = np.concatenate([a for part in parts for a in (part, gap)][:-1])
    xy.flags.writeable = False
    return xy


def _basemap(df: pd.DataFrame, select: bool = False) -> hv.Path:
    """The state and country outlines around the candidates (with the box-select tool when ``select``)."""
    lon_r, lat_r = _bounds(df)
    path = hv.Path([outline_path(lon_r, lat_r)], kdims=["easting", "northing"],
                   label="state and country outlines").opts(color="#6b6b6b", line_width=0.6, alpha=0.8)
    return path.opts(tools=["box_select"]) if select else path


def _need_datashader(what: str):
    """Import datashader, or say how to get it (the rasterised map needs it)."""
    try:
        import datashader
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(f"{what} needs datashader (pip install datashader); or pass rasterize=False to draw "
                          "plain points") from exc
    return datashader


def _grey_layer(df: pd.DataFrame, label: str, colour: str, rasterize: bool, spacing: float, **kw):
    if rasterize:
        datashader = _need_datashader("a rasterised map")
        return df.hvplot.points(x="easting", y="northing", rasterize=True, aggregator=datashader.count(),
                                cmap=[colour, colour], colorbar=False, x_sampling=spacing, y_sampling=spacing,
                                **kw)
    hover = [c for c in ("site", "name", "ba", "exclusion_reason") if c in df.columns]
    return df.hvplot.points(x="easting", y="northing", color=colour, size=14, hover_cols=hover, label=label,
                            **kw)


def _reason_counts(reasons: pd.Series, top: int = 3) -> str:
    parts = pd.Series([r for s in reasons for r in str(s).split("; ") if r]).value_counts()
    txt = ", ".join(f"{k} ({v:,})" for k, v in parts.head(top).items())
    return txt + (f", ... {len(parts) - top} more" if len(parts) > top else "")


def _tile_layer(tiles: str | bool):
    """The web tiles a map draws under its candidates: None for ``tiles=False``, else the HoloViews tile
    source named (``True``: ``"CartoLight"``); a name HoloViews does not know is refused with the names it
    knows."""
    if not tiles:
        return None
    sources = hv.element.tiles.tile_sources
    name = tiles if isinstance(tiles, str) else "CartoLight"
    if name not in sources:
        raise ValidationError([Problem(f"tiles: expected one of {', '.join(sorted(sources))} or False, found "
                                       f"{tiles!r}", column="tiles")], what="ranked map")
    return sources[name]()


def ranked_map(ds: xr.Dataset, variable: str = "score", *, rasterize: bool | None = None, tiles: str | bool = False,
               excluded: str = "grey", cmap: str = "viridis", height: int = 520, width: int = 860,
               threshold: int = RASTERIZE_ABOVE, on_site: Callable[[str], None] | None = None,
               on_box: Callable[[list[str]], None] | None = None):
    """Map of the screened candidates coloured by the score, a pillar score or a layer.

    Parameters
    ----------
    ds : xarray.Dataset
        The result of :func:`powerfirst.models.siting.screen`.
    variable : str
        ``score``, ``score_<pillar>``, ``p_top_k``, ``rank`` or any per-site layer
        (``hv_distance_km``, ``headroom_mw``, ``solar_cf``, ``carbon_intensity``, ``price``, ...);
        its ``long_name`` and ``units`` label the colour bar.
    rasterize : bool, optional
        Rasterise with Datashader (default: when there are more than ``threshold`` candidates to
        draw). Rasterised pixels hold the mean of ``variable`` over the candidates they contain.
    tiles : str or bool
        A web tile source for hvplot (e.g. ``"CartoLight"``); off by default — the basemap is the
        state and country outlines, drawn offline.
    excluded : {"grey", "omit"}
        Draw excluded candidates in grey (with a legend entry saying so) or leave them out.
    cmap : str
    height, width : int
        Largest frame height and the frame width of the map [px] (the aspect follows the data).
    threshold : int
        Number of points above which ``rasterize`` defaults to True.
    on_site : callable, optional
        ``on_site(site_id)``, called when a click on the map lands near a candidate drawn (within
        :data:`~powerfirst.viz.map_select.CLICK_PIXELS` pixels, the nearest in Web Mercator metres;
        on a rasterised map too).
    on_box : callable, optional
        ``on_box(site_ids)``, called with the candidates drawn inside a box of the box-select tool
        (the tool is added to the map when this is given).

    Returns
    -------
    holoviews.Overlay or holoviews.DynamicMap
        An Overlay of the outlines, the coloured candidates (``hv.Points``) and grey layers for the
        excluded candidates and those with no value of ``variable``; when rasterised, a DynamicMap
        of that overlay whose candidates are an ``hv.Image`` made by the ``rasterize`` operation
        (re-aggregated on zoom in a live session). The colour range is the range of the data shown.
        With ``on_site`` or ``on_box``, its streams are
        :func:`powerfirst.viz.map_select.map_selection` of the map.
    """
    if excluded not in ("grey", "omit"):
        raise ValidationError([Problem(f"excluded: expected 'grey' or 'omit', found {excluded!r}",
                                       column="excluded")], what="ranked map")
    if isinstance(threshold, bool) or not isinstance(threshold, int | np.integer) or threshold < 1:
        raise ValidationError([Problem(f"threshold: expected a number of points >= 1, found {threshold!r}",
                                       column="threshold")], what="ranked map")
    tile = _tile_layer(tiles)
    df = map_frame(ds, variable)
    if df.empty:
        raise ValidationError([Problem("the screen holds no candidate to map")], what="ranked map")
    n = len(df)
    ex = df["excluded"].to_numpy()
    val = np.isfinite(df[variable].to_numpy(float))
    shown, gone, blank = df[~ex & val], df[ex], df[~ex & ~val]
    raster = (len(shown) > threshold) if rasterize is None else bool(rasterize)
    if raster:
        _need_datashader(f"a rasterised map ({len(shown):,} candidates)")
    label = _colour_label(ds, variable)
    if len(shown):
        lo, hi = float(shown[variable].min()), float(shown[variable].max())
    else:
        lo, hi = 0.0, 1.0
    if hi <= lo:
        lo, hi = lo - 0.5 * max(abs(lo), 1e-9), hi + 0.5 * max(abs(hi), 1e-9)
    spacing = _candidates(ds)[1]
    spacing = spacing * 1.5 if np.isfinite(spacing) and spacing > 0 else None
    (x0, x1), (y0, y1) = _extent(df)
    fw, fh = _frame(width, (x0, x1), (y0, y1), height)
    kw = dict(frame_width=fw, frame_height=fh, xaxis=None, yaxis=None)
    layers = [] if tile is None else [tile]
    if excluded == "grey" and len(gone):
        layers.append(_grey_layer(gone, f"excluded ({len(gone):,}): {_reason_counts(gone['exclusion_reason'])}",
                                  EXCLUDED_COLOUR, len(gone) > threshold if rasterize is None else raster, spacing,
                                  **kw))
    if len(blank):
        layers.append(_grey_layer(blank, f"no {variable} ({len(blank):,})", NO_DATA_COLOUR,
                                  len(blank) > threshold if rasterize is None else raster, spacing, **kw))
    if len(shown):
        if raster:
            main = shown.hvplot.points(x="easting", y="northing", c=variable, rasterize=True, cmap=cmap,
                                       clim=(lo, hi), clabel=label, colorbar=True, x_sampling=spacing,
                                       y_sampling=spacing, **kw)
        else:
            from powerfirst.viz._format import hover_tooltips

            hover = [c for c in dict.fromkeys(("site", "name", "score", "rank", "ba", "state", variable))]
            main = shown.hvplot.points(x="easting", y="northing", c=variable, cmap=cmap, clim=(lo, hi), clabel=label,
                                       colorbar=True, hover_cols=[c for c in hover if c != variable], size=40,
                                       line_color="white", line_width=0.3, **kw).opts(
                hover_tooltips=hover_tooltips(shown, hover, {variable: label}))
        layers.append(main)
    outlines = _basemap(df, select=on_box is not None)
    layers.append(outlines)  # outlines over the candidates, so state borders stay visible
    notes = []
    if len(gone):
        notes.append(f"{len(gone):,} excluded" + (" (dark grey)" if excluded == "grey" else " (not shown)"))
    if len(blank):
        notes.append(f"{len(blank):,} without {variable} (light grey)")
    tier = ds.attrs.get("tier", "")
    title = (f"Siting screen, {tier} tier: {n:,} candidates coloured by {short_name(variable)}"
             + (" (rasterised)" if raster and len(shown) else "") + (f"; {', '.join(notes)}" if notes else ""))
    out = _compose(_not_greyed(layers, on_box)).opts(hv.opts.Overlay(title=title, xlim=(x0, x1), ylim=(y0, y1), frame_width=fw,
                                                frame_height=fh, legend_position="bottom_left", show_legend=True,
                                                fontsize={"title": "10pt"}))
    return _selectable(out, outlines, ds, include_excluded=excluded == "grey", xlim=(x0, x1), ylim=(y0, y1),
                       frame=(fw, fh), on_site=on_site, on_box=on_box)


def _colour_range(values: np.ndarray) -> tuple[float, float]:
    """The colour range of the values drawn [their unit]: their min and max (widened when they are one value)."""
    v = values[np.isfinite(values)]
    lo, hi = (float(v.min()), float(v.max())) if v.size else (0.0, 1.0)
    if hi <= lo:
        lo, hi = lo - 0.5 * max(abs(lo), 1e-9), hi + 0.5 * max(abs(hi), 1e-9)
    return lo, hi


def recolourable_map(ds: xr.Dataset, variable: str = "score", *, tiles: str | bool = False, excluded: str = "grey",
                     cmap: str = "viridis", height: int = 520, width: int = 860,
                     on_site: Callable[[str], None] | None = None, on_box: Callable[[list[str]], None] | None = None):
    """The rasterised map of :func:`ranked_map` whose colour variable changes in place.

    For a served map of many candidates: changing the colour re-aggregates the coloured layer
    (Datashader, the mean of the variable per pixel) and updates the colour range, the colour bar's
    title and the plot title of the plot already on the page, instead of building a new plot. What
    does not depend on the colour is drawn once: the outlines, the excluded candidates (dark grey)
    and every other candidate in light grey underneath, which shows where the variable has no value.

    Parameters
    ----------
    ds : xarray.Dataset
        The result of :func:`powerfirst.models.siting.screen`.
    variable : str
        The first colour (as in :func:`ranked_map`).
    tiles, excluded, cmap, height, width, on_site, on_box
        As in :func:`ranked_map` (a click picks the nearest candidate drawn, though the map has no
        glyph per candidate).

    Returns
    -------
    (holoviews.DynamicMap, callable)
        The map, and ``recolour(variable)``, which colours it by another per-site variable (a
        :class:`~powerfirst.errors.ValidationError` names a variable that cannot colour it, and the
        map stays as it was).
    """
    import datashader
    import param
    from holoviews.operation.datashader import rasterize as rasterize_op

    if excluded not in ("grey", "omit"):
        raise ValidationError([Problem(f"excluded: expected 'grey' or 'omit', found {excluded!r}",
                                       column="excluded")], what="ranked map")
    _need_datashader("a recolourable map")
    tile = _tile_layer(tiles)
    df = map_frame(ds, variable)
    if df.empty:
        raise ValidationError([Problem("the screen holds no candidate to map")], what="ranked map")
    base, spacing = _candidates(ds)
    spacing = spacing * 1.5 if np.isfinite(spacing) and spacing > 0 else None
    ex = base["excluded"].to_numpy()
    east, north = base["easting"].to_numpy()[~ex], base["northing"].to_numpy()[~ex]
    gone = base[ex]
    (x0, x1), (y0, y1) = _extent(base)
    fw, fh = _frame(width, (x0, x1), (y0, y1), height)
    kw = dict(frame_width=fw, frame_height=fh, xaxis=None, yaxis=None)
    n = len(base)

    def values(v: str) -> np.ndarray:
        return map_frame(ds, v)[v].to_numpy(float)[~ex]

    def title(v: str, vals: np.ndarray) -> str:
        notes = []
        if len(gone):
            notes.append(f"{len(gone):,} excluded" + (" (dark grey)" if excluded == "grey" else " (not shown)"))
        blank = int((~np.isfinite(vals)).sum())
        if blank:
            notes.append(f"{blank:,} without {v} (light grey)")
        tier = ds.attrs.get("tier", "")
        return (f"Siting screen, {tier} tier: {n:,} candidates coloured by {short_name(v)} (rasterised)"
                + (f"; {', '.join(notes)}" if notes else ""))

    first = values(variable)

    class _Colour(param.Parameterized):
        variable = param.String()
        clim = param.Tuple((0.0, 1.0))
        clabel = param.String()
        title = param.String()

    colour = _Colour(variable=variable, clim=_colour_range(first), clabel=_colour_label(ds, variable),
                     title=title(variable, first))

    def points(variable):
        v = values(variable)
        keep = np.isfinite(v)
        return hv.Points((east[keep], north[keep], v[keep]), kdims=["easting", "northing"],
                         vdims=[hv.Dimension("value", label=colour.clabel)])

    def bar_title(plot, element):
        bar = plot.handles.get("colorbar")
        if bar is not None:
            bar.title = colour.clabel

    coloured = rasterize_op(hv.DynamicMap(points, streams=dict(variable=colour.param.variable)),
                            aggregator=datashader.mean("value"), x_sampling=spacing, y_sampling=spacing)
    coloured = coloured.opts(cmap=cmap, colorbar=True, hooks=[bar_title], **kw).apply.opts(clim=colour.param.clim)
    under = rasterize_op(hv.Points((east, north), kdims=["easting", "northing"]), aggregator=datashader.count(),
                         x_sampling=spacing, y_sampling=spacing).opts(cmap=[NO_DATA_COLOUR, NO_DATA_COLOUR],
                                                                      colorbar=False, **kw)
    layers = ([] if tile is None else [tile]) + [under]
    if excluded == "grey" and len(gone):
        layers.append(_grey_layer(gone, f"excluded ({len(gone):,}): {_reason_counts(gone['exclusion_reason'])}",
                                  EXCLUDED_COLOUR, len(gone) > RASTERIZE_ABOVE, spacing, **kw))
    outlines = _basemap(base, select=on_box is not None)
    layers += [coloured, outlines]
    out = _compose(_not_greyed(layers, on_box)).opts(hv.opts.Overlay(xlim=(x0, x1), ylim=(y0, y1), frame_width=fw, frame_height=fh,
                                                legend_position="bottom_left", show_legend=True,
                                                fontsize={"title": "10pt"}))
    out = out.apply.opts(title=colour.param.title)
    out = _selectable(out, outlines, ds, include_excluded=excluded == "grey", xlim=(x0, x1), ylim=(y0, y1),
                      frame=(fw, fh), on_site=on_site, on_box=on_box)

    def recolour(v: str) -> None:
        vals = values(v)  # validates v (a ValidationError leaves the map as it was)
        colour.param.update(clim=_colour_range(vals), clabel=_colour_label(ds, v), title=title(v, vals), variable=v)

    return out, recolour


# ----------------------------------------------------------------------------------------------
# click and box-select on the map


def _pickable(ds: xr.Dataset, include_excluded: bool, what: str) -> pd.DataFrame:
    _check_screen(ds, ("lat", "lon", "score", "rank", "excluded"), what)
    base, _ = _candidates(ds)
    return base if include_excluded else base[~base["excluded"].to_numpy()]


def nearest_site(ds: xr.Dataset, x, y, *, tolerance_m: float, include_excluded: bool = True) -> str | None:
    """The candidate a click on the map at ``(x, y)`` picks: the nearest in the map's projection.

    Parameters
    ----------
    ds : xarray.Dataset
        The result of :func:`powerfirst.models.siting.screen`.
    x, y : float or None
        The click in Web Mercator easting and northing [m] (None: outside the plot).
    tolerance_m : float
        Largest distance [m, Web Mercator] from the click to the candidate picked (see
        :func:`powerfirst.viz.map_select.click_tolerance_m` for a tolerance in pixels).
    include_excluded : bool
        Whether excluded candidates can be picked (they are drawn grey unless ``excluded="omit"``).

    Returns
    -------
    str or None
        The site id, or None when no candidate lies within ``tolerance_m`` of the click. Distances
        are Web Mercator metres (what the screen shows), not great-circle distances.
    """
    df = _pickable(ds, include_excluded, "map click")
    i = nearest_index(df["easting"].to_numpy(), df["northing"].to_numpy(), x, y, tolerance_m)
    return None if i is None else str(df["site"].iloc[i])


def sites_in_box(ds: xr.Dataset, bounds: Sequence[float], *, include_excluded: bool = True) -> list[str]:
    """The candidates inside a box drawn on the map, in the order of the screen.

    Parameters
    ----------
    ds : xarray.Dataset
        The result of :func:`powerfirst.models.siting.screen`.
    bounds : (float, float, float, float)
        (left, bottom, right, top) in Web Mercator [m], as the ``BoundsXY`` stream of the
        box-select tool gives it.
    include_excluded : bool
        Whether excluded candidates count.

    Returns
    -------
    list of str
        The site ids whose projected position lies inside the box (edges included).
    """
    df = _pickable(ds, include_excluded, "map box selection")
    return df["site"][inside_box(df["easting"].to_numpy(), df["northing"].to_numpy(), bounds)].tolist()


def _not_greyed(layers: list, on_box) -> list:
    """The map's layers, with a box-select (``on_box``), styled so a box greys nothing: Bokeh's box
    selects on every renderer of the figure and greys the glyphs outside it, a grey that would outlive
    the workbench's cleared selection (the box's answer is the filtered Ranking).  Styled per static
    layer: an ``.opts`` on a DynamicMap (the rasterised layers, drawn as images that a box does not
    grey) would re-apply on every update of the recoloured map."""
    if on_box is None:
        return layers
    keep = (hv.opts.Points(selection_alpha=1.0, nonselection_alpha=1.0),
            hv.opts.Path(selection_alpha=0.8, nonselection_alpha=0.8))
    return [layer if isinstance(layer, hv.DynamicMap) else layer.opts(*keep) for layer in layers]


def _selectable(obj, outlines: hv.Path, ds: xr.Dataset, *, include_excluded: bool, xlim, ylim, frame, on_site,
                on_box):
    """The map ``obj`` with click and box-select streams answering ``on_site`` / ``on_box`` (unchanged
    when both are None).  The streams attach to the outlines, a layer of every map: HoloViews links
    a stream to the plot of an element inside an overlay (an overlay that is a DynamicMap, as a
    rasterised map is, gets none), and every layer draws on the one figure that is clicked."""
    if on_site is None and on_box is None:
        return obj
    df = _pickable(ds, include_excluded, "map selection")
    MapSelection(outlines, df["site"].to_numpy(), df["easting"].to_numpy(), df["northing"].to_numpy(), xlim=xlim,
                 ylim=ylim, frame=frame, on_site=on_site, on_box=on_box, owner=obj)
    return obj


# ----------------------------------------------------------------------------------------------
# one site


def breakdown_frame(ds: xr.Dataset, site: str) -> pd.DataFrame:
    """Pillars of one site: score [1], tier weight [1], weight renormalised over the pillars
    present [1] and contribution = score x renormalised weight [1]; contributions sum to the
    site's total score. A pillar without data has NaN score and contribution 0."""
    _check_screen(ds, ("weight", *[f"score_{p}" for p in PILLARS]), "pillar breakdown")
    site = _check_site(ds, site, "pillar breakdown")
    one = ds.sel(site=site)
    s = np.array([float(one[f"score_{p}"]) for p in PILLARS])
    w = np.array([float(ds["weight"].sel(pillar=p)) for p in PILLARS])
    ok = np.isfinite(s)
    wn = np.where(ok, w, 0.0) / (w[ok].sum() if ok.any() else 1.0)
    return pd.DataFrame({"pillar": [pillar_label(p) for p in PILLARS], "score": s, "weight": w,
                         "weight_present": wn, "contribution": np.where(ok, s, 0.0) * wn,
                         "status": np.where(ok, "scored", "no data")})


def _caption_hook(lines: list[str]):
    def hook(plot, element):
        from bokeh.models import Title

        fig = plot.state
        for text in lines:
            fig.add_layout(Title(text=text, text_font_size="9pt", text_font_style="normal", align="left"), "below")

    return hook


def pillar_breakdown(ds: xr.Dataset, site: str, *, width: int = 760, wrap: int | None = None) -> hv.Bars:
    """Horizontal bars of one site's pillar contributions (pillar score x weight) [1].

    Bars run top to bottom in the scorecard's pillar order, one per pillar; the contributions use the
    weights renormalised over the pillars the site has, so they add up to its score. The title
    gives the site, score and rank; the caption below the chart (a Bokeh title under the plot)
    gives the screen's explanation, missing-layer flags and any exclusion.

    Parameters
    ----------
    ds : xarray.Dataset
        The result of :func:`powerfirst.models.siting.screen`.
    site : str
    width : int
        Width of the chart [px] (its height follows from the number of bars and caption lines).
    wrap : int, optional
        Characters per caption line (default: what fits the width at 9 pt).
    """
    df = breakdown_frame(ds, site)
    one = ds.sel(site=str(site))
    name = str(one["name"].values) if "name" in ds else str(site)
    score, rank = float(one["score"]), float(one["rank"])
    caption = [f"Explanation: {one['explanation'].values}"] if "explanation" in ds else []
    flags = str(one["flags"].values) if "flags" in ds else ""
    caption.append(f"Flags (missing layers): {flags}" if flags else "Flags: none (every layer present)")
    reason = str(one["exclusion_reason"].values) if "exclusion_reason" in ds else ""
    if reason:
        caption.append(f"Excluded: {reason}")
    wrap = int(wrap) if wrap else max(int(width / 6.8), 40)
    lines = [line for c in caption for line in textwrap.wrap(c, wrap, subsequent_indent="    ")]
    head = name if str(site) in name else f"{name} ({site})"
    ba = f", BA {one['ba'].values}" if "ba" in ds else ""
    title = (f"{head}{ba}: score {score:.3f}, rank {rank:.0f}" if np.isfinite(rank)
             else f"{head}{ba}: excluded or unscored")
    order = df.iloc[::-1]  # the first pillar at the top of a horizontal bar chart
    bars = hv.Bars(order, kdims=[hv.Dimension("pillar", label="pillar")],
                   vdims=[hv.Dimension("contribution", label="contribution to the score [1]"),
                          hv.Dimension("score", label="pillar score [1]"),
                          hv.Dimension("weight_present", label="weight [1]"), "status"])
    return bars.opts(invert_axes=True, width=width, height=60 + 34 * len(df) + 16 * len(lines), tools=["hover"],
                     title=title, xlabel="", ylabel="contribution to the score (pillar score x weight) [1]",
                     color=hv.dim("status").categorize({"scored": "#3a7dbf", "no data": NO_DATA_COLOUR}),
                     show_grid=True, hooks=[_caption_hook(lines)], fontsize={"yticks": "10pt", "title": "11pt"})


# ----------------------------------------------------------------------------------------------
# tables


def _p50_best(ds: xr.Dataset, idx: np.ndarray) -> np.ndarray:
    """P50 months to first power of the best path of the candidates ``idx`` [month] (NaN: no best path)."""
    j = pd.Index(ds["path"].values.astype(str)).get_indexer(ds["best_path"].values[idx].astype(str))
    p50 = np.asarray(ds["ttp_p50"].transpose("site", "path").values, float)[idx]
    return np.where(j >= 0, p50[np.arange(len(idx)), np.clip(j, 0, None)], np.nan)


def _ranked(ds: xr.Dataset, n: int, what: str) -> np.ndarray:
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
        raise ValidationError([Problem(f"n: expected a number of sites >= 1, found {n!r}", column="n")], what=what)
    rank = ds["rank"].values.astype(float)
    idx = np.flatnonzero(np.isfinite(rank))
    return idx[np.argsort(rank[idx], kind="stable")][:int(n)]


def top_table(ds: xr.Dataset, n: int = 20) -> pd.DataFrame:
    """The ``n`` best candidates: rank, site, name, state, BA, score [1], P(top-k) [1], best
    time-to-power path, its P50 months to first power [month] and the eight pillar scores [1]
    (units in the headers; scores to 3 decimals, probabilities and pillars to 2, months to 1)."""
    _check_screen(ds, ("rank", "score", "p_top_k", "best_path", "ttp_p50", *[f"score_{p}" for p in PILLARS]),
                  "top table")
    idx = _ranked(ds, n, "top table")
    k = int(ds.attrs.get("top_k", 0)) or "k"
    def text(v):  # the n rows' text only (not every candidate's)
        return ds[v].values[idx].astype(str) if v in ds.variables else ""

    out = pd.DataFrame({
        "rank": ds["rank"].values[idx].astype(int),
        "site": text("site"),
        "name": text("name"),
        "state": text("state"),
        "BA": text("ba"),
        "score [1]": np.round(ds["score"].values[idx].astype(float), 3),
        f"P(top {k}) [1]": np.round(ds["p_top_k"].values[idx].astype(float), 2),
        "best path": text("best_path"),
        "P50 to first power [month]": np.round(_p50_best(ds, idx), 1),
    })
    for p in PILLARS:
        out[f"{pillar_label(p)} [1]"] = np.round(ds[f"score_{p}"].values[idx].astype(float), 2)
    return out


def useful_work_table(ds: xr.Dataset, n: int = 10) -> pd.DataFrame:
    """Useful work per unit of energy of the ``n`` best candidates: accelerator-hours per MWh of
    facility energy [h MWh-1], grid CO2 per accelerator-hour [gCO2 h-1], annual PUE [1] and grid
    carbon intensity [gCO2 kWh-1]."""
    _check_screen(ds, ("rank", "accelerator_hours_per_mwh", "gco2_per_accelerator_hour"), "useful work table")
    idx = _ranked(ds, n, "useful work table")
    out = pd.DataFrame({"rank": ds["rank"].values[idx].astype(int), "site": ds["site"].values[idx].astype(str),
                        "state": ds["state"].values[idx].astype(str) if "state" in ds else "",
                        "BA": ds["ba"].values[idx].astype(str) if "ba" in ds else ""})
    cols = (("accelerator_hours_per_mwh", "accelerator-hours per MWh [h MWh-1]", 0),
            ("gco2_per_accelerator_hour", "gCO2 per accelerator-hour [gCO2 h-1]", 0),
            ("pue_annual", "PUE [1]", 3), ("carbon_intensity", "grid carbon intensity [gCO2 kWh-1]", 0))
    for var, label, dec in cols:
        if var in ds:
            v = np.round(ds[var].values[idx].astype(float), dec)
            out[label] = pd.array(np.where(np.isfinite(v), v, np.nan), dtype="Int64") if dec == 0 else v
    return out


def flag_summary(ds: xr.Dataset) -> pd.DataFrame:
    """How many candidates lack which pillar input, and why (from ``flags``): one row per
    ``pillar.input: reason`` with the count and share of all candidates [1], most frequent first."""
    _check_screen(ds, ("flags",), "flag summary")
    n = ds.sizes["site"]
    items = [f for s in ds["flags"].values.astype(str) for f in s.split("; ") if f]
    counts = pd.Series(items, dtype=object).value_counts()
    rows = []
    for key, c in counts.items():
        what, _, reason = str(key).partition(": ")
        pillar, _, inp = what.partition(".")
        rows.append({"pillar": pillar, "input": inp, "reason": reason, "candidates": int(c),
                     "share [1]": round(c / n, 3)})
    return pd.DataFrame(rows, columns=["pillar", "input", "reason", "candidates", "share [1]"])


def exclusion_summary(ds: xr.Dataset) -> pd.DataFrame:
    """How many candidates were excluded for what (from ``exclusion_reason``; a candidate with two
    reasons counts under both), most frequent first."""
    _check_screen(ds, ("excluded", "exclusion_reason"), "exclusion summary")
    items = [r for s in ds["exclusion_reason"].values.astype(str) for r in s.split("; ") if r]
    counts = pd.Series(items, dtype=object).value_counts()
    return pd.DataFrame({"reason": counts.index.astype(str), "candidates": counts.to_numpy(int)})


# ----------------------------------------------------------------------------------------------
# the answer under other weights


def _check_factors(factors, what: str) -> list[float]:
    f = [float(x) for x in np.atleast_1d(factors)]
    bad = [x for x in f if not (np.isfinite(x) and x >= 0)]
    if not f or bad:
        raise ValidationError([Problem(f"factors: expected weight multipliers >= 0, found {list(factors)!r}",
                                       column="factors")], what=what)
    return f


def reweighted_ranks(ds: xr.Dataset, pillar: str = "time_to_power", factors: Sequence[float] = (0.5, 1, 2, 4)) \
        -> xr.DataArray:
    """Total score of every candidate [1] with ``pillar``'s weight multiplied by each factor.

    Recomputed from the stored pillar scores with :func:`powerfirst.models.siting.score.total_score`
    (no layer is recomputed); excluded candidates stay NaN. Returns a DataArray on (``factor``,
    ``site``); :func:`reweighted_top` ranks it."""
    _check_screen(ds, ("weight", "excluded", *[f"score_{p}" for p in PILLARS]), "reweighting")
    if pillar not in PILLARS:
        raise ValidationError([Problem(f"pillar: expected one of {', '.join(PILLARS)}, found {pillar!r}",
                                       column="pillar")], what="reweighting")
    f = _check_factors(factors, "reweighting")
    scores = {p: ds[f"score_{p}"].values.astype(float) for p in PILLARS}
    w = ds["weight"].sel(pillar=list(PILLARS)).values.astype(float)
    i = PILLARS.index(pillar)
    wd = np.repeat(w[None, :], len(f), axis=0)
    wd[:, i] *= np.array(f)
    wd = wd / wd.sum(axis=1, keepdims=True)
    tot = total_score({p: v[:, None] for p, v in scores.items()}, wd).T
    tot = np.where(ds["excluded"].values.astype(bool)[None, :], np.nan, tot)
    return xr.DataArray(tot, dims=("factor", "site"), coords={"factor": f, "site": ds["site"].values},
                        name="score", attrs={"units": "1", "long_name": f"score with the {pillar_label(pillar)} "
                                             "weight x factor", "pillar": pillar})


def reweighted_top(ds: xr.Dataset, pillar: str = "time_to_power", factors: Sequence[float] = (0.5, 1, 2, 4),
                   n: int = 10) -> pd.DataFrame:
    """The top ``n`` under each weight factor of ``pillar``: one row per (factor, rank) with the
    site, state, BA, recomputed score [1], lon/lat [degrees], the site's nominal rank and whether it
    is in the nominal top ``n``. Ties are broken by site id, as in the screen."""
    tot = reweighted_ranks(ds, pillar, factors)
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
        raise ValidationError([Problem(f"n: expected a number of sites >= 1, found {n!r}", column="n")],
                              what="reweighting")
    site = ds["site"].values.astype(str)
    nominal = set(site[_ranked(ds, n, "reweighting")])
    rows = []
    for fi, f in enumerate(tot["factor"].values):
        s = tot.values[fi]
        order = np.lexsort((site, -np.nan_to_num(s, nan=-np.inf)))[:min(int(n), int(np.isfinite(s).sum()))]
        for r, j in enumerate(order, start=1):
            rows.append({"factor": float(f), "rank": r, "site": site[j],
                         "state": str(ds["state"].values[j]) if "state" in ds else "",
                         "BA": str(ds["ba"].values[j]) if "ba" in ds else "", "score [1]": float(s[j]),
                         f"score {pillar_label(pillar)} [1]": float(ds[f"score_{pillar}"].values[j]),
                         "lon": float(ds["lon"].values[j]), "lat": float(ds["lat"].values[j]),
                         "nominal rank": float(ds["rank"].values[j]), "in nominal top": site[j] in nominal})
    out = pd.DataFrame(rows)
    out.attrs.update({"pillar": pillar, "n": int(n)})
    return out


def reweighted_summary(top: pd.DataFrame) -> pd.DataFrame:
    """Per factor (from :func:`reweighted_top`): overlap with the nominal top n [sites], the states of
    the top n, and how far the centre of the top n moved from the nominal one [km]."""
    from powerfirst.geo import haversine_km

    need = {"factor", "site", "in nominal top", "lat", "lon", "state"}
    if not isinstance(top, pd.DataFrame) or not need <= set(top.columns):
        raise ValidationError([Problem(f"expected the frame of reweighted_top with columns {sorted(need)}")],
                              what="reweighting summary")
    n = int(top.attrs.get("n", top.groupby("factor").size().max()))
    nominal = top[top["in nominal top"]]
    ref = top[top["factor"] == 1.0] if (top["factor"] == 1.0).any() else nominal
    lat0, lon0 = float(ref["lat"].mean()), float(ref["lon"].mean())
    rows = []
    for f, g in top.groupby("factor", sort=True):
        states = g["state"].value_counts()
        rows.append({"factor": float(f), f"overlap with nominal top {n} [sites]": int(g["in nominal top"].sum()),
                     "states of the top (sites)": ", ".join(f"{k} {v}" for k, v in states.items()),
                     "centre shift [km]": round(float(haversine_km(lat0, lon0, g["lat"].mean(), g["lon"].mean())), 0)})
    return pd.DataFrame(rows)


def reweighted_map(ds: xr.Dataset, top: pd.DataFrame, *, height: int = 520, width: int = 860):
    """Where the top n sit under each weight factor (from :func:`reweighted_top`): the outlines, the
    whole screen faintly, and the top n of each factor as markers (one colour and marker per
    factor), so sites that stay show as stacked markers and sites that move show apart."""
    need = {"factor", "site", "lat", "lon", "rank"}
    if not isinstance(top, pd.DataFrame) or not need <= set(top.columns):
        raise ValidationError([Problem(f"expected the frame of reweighted_top with columns {sorted(need)}")],
                              what="reweighted map")
    base = map_frame(ds, "score")
    t = top.copy()
    t["easting"], t["northing"] = _mercator(t["lon"], t["lat"])
    pillar = pillar_label(top.attrs.get("pillar", "time_to_power"))
    markers = ["circle", "triangle", "square", "diamond", "inverted_triangle", "hex", "star"]
    colours = ["#1f77b4", "#2ca02c", "#ff7f0e", "#d62728", "#9467bd", "#8c564b", "#e377c2"]
    (x0, x1), (y0, y1) = _extent(base)
    fw, fh = _frame(width, (x0, x1), (y0, y1), height)
    kw = dict(frame_width=fw, frame_height=fh, xaxis=None, yaxis=None)
    if len(base) > RASTERIZE_ABOVE:
        datashader = _need_datashader("the background of a map of more than RASTERIZE_ABOVE candidates")
        sp = _spacing_m(base) * 1.5
        faint = base.hvplot.points(x="easting", y="northing", rasterize=True, aggregator=datashader.count(),
                                   cmap=["#e4e4e4", "#e4e4e4"], colorbar=False, x_sampling=sp, y_sampling=sp, **kw)
    else:
        faint = base.hvplot.points(x="easting", y="northing", color="#dedede", size=6, hover=False, **kw)
    layers = [faint, _basemap(base)]
    for i, (f, g) in enumerate(t.groupby("factor", sort=True)):
        layers.append(hv.Points(g, kdims=["easting", "northing"], vdims=["site", "rank", "state", "BA", "score [1]"],
                                label=f"{pillar} weight x {f:g}").opts(
            marker=markers[i % len(markers)], color=colours[i % len(colours)], size=13 - 2 * (i % 4), alpha=0.85,
            tools=["hover"], line_color="black", line_width=0.5))
    n = int(top.attrs.get("n", 10))
    return _compose(layers).opts(hv.opts.Overlay(title=f"Top {n} under each {pillar} weight factor",
                                                 legend_position="bottom_left", xlim=(x0, x1), ylim=(y0, y1),
                                                 frame_width=fw, frame_height=fh, show_legend=True))
