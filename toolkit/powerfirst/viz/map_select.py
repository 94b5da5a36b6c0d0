"""Click and box-select on a map drawn in Web Mercator: the geometry as plain array functions, and
:class:`MapSelection`, which attaches HoloViews streams to a map and answers with site ids.

Distances are measured in the map's projection (Web Mercator easting/northing, EPSG:3857 [m]),
not on the ground: a Web Mercator metre is ``1 / cos(latitude)`` of a metre on the ground, but the
screen is linear in Web Mercator, so the candidate nearest a click in these metres is the one
nearest it on the screen.  A click counts only within :data:`CLICK_PIXELS` pixels of a candidate,
converted to metres at the zoom the map is shown at (:func:`click_tolerance_m`).

The geometry needs no browser: :func:`nearest_index` and :func:`inside_box` take arrays, and a
stream's ``event(x=..., y=...)`` or ``event(bounds=...)`` calls the same code as a click.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Sequence

import numpy as np

from powerfirst.errors import Problem, ValidationError

__all__ = ["CLICK_PIXELS", "click_tolerance_m", "nearest_index", "inside_box", "MapSelection", "map_selection"]

#: a click selects the nearest candidate only when it is at most this many pixels away [px]
CLICK_PIXELS = 10


def _pair(value, name: str, what: str) -> tuple[float, float]:
    try:
        lo, hi = (float(v) for v in value)
    except (TypeError, ValueError):
        raise ValidationError([Problem(f"{name}: expected (low, high) in metres, found {value!r}",
                                       column=name)], what=what) from None
    if not (np.isfinite(lo) and np.isfinite(hi) and hi > lo):
        raise ValidationError([Problem(f"{name}: expected finite (low, high) in metres with low < high, found "
                                       f"{value!r}", column=name)], what=what)
    return lo, hi


def click_tolerance_m(x_range: Sequence[float], y_range: Sequence[float], frame_width: int, frame_height: int,
                      pixels: float = CLICK_PIXELS) -> float:
    """How far from a candidate a click may land and still select it [m, Web Mercator].

    Parameters
    ----------
    x_range, y_range : (float, float)
        The easting and northing shown [m] (the plot's ranges at the current zoom).
    frame_width, frame_height : int
        Size of the plot's frame [px].
    pixels : float
        The tolerance on the screen [px].

    Returns
    -------
    float
        ``pixels`` times the larger of the two axes' metres per pixel [m].
    """
    x0, x1 = _pair(x_range, "x_range", "map click")
    y0, y1 = _pair(y_range, "y_range", "map click")
    if not (frame_width > 0 and frame_height > 0 and pixels > 0):
        raise ValidationError([Problem(f"expected a frame of > 0 px and a tolerance > 0 px, found "
                                       f"{frame_width} x {frame_height} px and {pixels} px")], what="map click")
    return float(pixels) * max((x1 - x0) / float(frame_width), (y1 - y0) / float(frame_height))


def nearest_index(easting: np.ndarray, northing: np.ndarray, x, y, tolerance_m: float) -> int | None:
    """Position of the point nearest ``(x, y)``, or None when none is within ``tolerance_m``.

    Parameters
    ----------
    easting, northing : numpy.ndarray
        The candidates' positions [m, Web Mercator]; NaN positions are never chosen.
    x, y : float or None
        The click [m, Web Mercator]; None (a click outside the plot's frame) or NaN selects nothing.
    tolerance_m : float
        Largest distance [m] from the click to the candidate chosen (> 0).

    Returns
    -------
    int or None
        The index of the nearest candidate (of equally near ones, the first), or None.
    """
    if not (np.isfinite(tolerance_m) and tolerance_m > 0):
        raise ValidationError([Problem(f"tolerance_m: expected a distance > 0 m, found {tolerance_m!r}",
                                       column="tolerance_m")], what="map click")
    if x is None or y is None:
        return None
    try:
        x, y = float(x), float(y)
    except (TypeError, ValueError):
        raise ValidationError([Problem(f"expected a click at numbers x, y [m], found x={x!r}, y={y!r}")],
                              what="map click") from None
    e, n = np.asarray(easting, float), np.asarray(northing, float)
    if not (np.isfinite(x) and np.isfinite(y)) or e.size == 0:
        return None
    d2 = (e - x) ** 2 + (n - y) ** 2
    d2[~np.isfinite(d2)] = np.inf
    i = int(np.argmin(d2))
    return i if d2[i] <= float(tolerance_m) ** 2 else None


def inside_box(easting: np.ndarray, northing: np.ndarray, bounds: Sequence[float]) -> np.ndarray:
    """Which points lie inside a box (edges included).

    Parameters
    ----------
    easting, northing : numpy.ndarray
        The candidates' positions [m, Web Mercator].
    bounds : (float, float, float, float)
        The box as (left, bottom, right, top) [m, Web Mercator], as a ``BoundsXY`` stream gives it
        (corners in either order).

    Returns
    -------
    numpy.ndarray of bool
        True for the points inside.
    """
    try:
        x0, y0, x1, y1 = (float(v) for v in bounds)
    except (TypeError, ValueError):
        raise ValidationError([Problem(f"bounds: expected (left, bottom, right, top) in metres, found {bounds!r}",
                                       column="bounds")], what="map box selection") from None
    if not all(np.isfinite(v) for v in (x0, y0, x1, y1)):
        raise ValidationError([Problem(f"bounds: expected finite numbers [m], found {bounds!r}", column="bounds")],
                              what="map box selection")
    (x0, x1), (y0, y1) = sorted((x0, x1)), sorted((y0, y1))
    e, n = np.asarray(easting, float), np.asarray(northing, float)
    return (e >= x0) & (e <= x1) & (n >= y0) & (n <= y1)


#: the selection attached to each map object (weak keys: it goes with its map)
_SELECTIONS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


class MapSelection:
    """Click and box-select on one map: HoloViews streams on the map, answered with site ids.

    A click (``SingleTap``) anywhere in the frame, on a glyph or not (a rasterised map has no glyph
    per candidate), calls ``on_site`` with the id of the nearest candidate within
    :data:`CLICK_PIXELS` pixels at the current zoom (a ``RangeXY`` stream follows the zoom); a
    click farther from every candidate calls nothing.  A box drawn with the box-select tool
    (``BoundsXY``) calls ``on_box`` with the ids of the candidates inside it, in the order given.

    Parameters
    ----------
    source : holoviews object
        What the streams attach to: the map, or one element of its overlay (HoloViews links a
        stream to the plot of an element inside an overlay that is a DynamicMap, not to the
        overlay).
    sites : sequence of str
        The candidates that can be picked (those drawn).
    easting, northing : numpy.ndarray
        Their positions [m, Web Mercator].
    xlim, ylim : (float, float)
        The map's initial ranges [m] (used until the plot reports its ranges).
    frame : (int, int)
        The frame's width and height [px].
    on_site : callable, optional
        ``on_site(site_id)`` after a click near a candidate.
    on_box : callable, optional
        ``on_box(site_ids)`` after a box selection (a list, empty when the box holds none).
    pixels : float
        The click tolerance [px].
    owner : holoviews object, optional
        The map whose :func:`map_selection` this is (default: ``source``).

    Attributes
    ----------
    tap : holoviews.streams.SingleTap
    box : holoviews.streams.BoundsXY
    ranges : holoviews.streams.RangeXY
    """

    def __init__(self, source, sites: Sequence[str], easting: np.ndarray, northing: np.ndarray, *,
                 xlim: tuple[float, float], ylim: tuple[float, float], frame: tuple[int, int],
                 on_site: Callable[[str], None] | None = None, on_box: Callable[[list[str]], None] | None = None,
                 pixels: float = CLICK_PIXELS, owner=None):
        import holoviews as hv

        self.sites = np.asarray(sites, dtype=str)
        self.easting, self.northing = np.asarray(easting, float), np.asarray(northing, float)
        if not (len(self.sites) == len(self.easting) == len(self.northing)):
            raise ValidationError([Problem(f"expected one position per site, found {len(self.sites)} sites, "
                                           f"{len(self.easting)} eastings, {len(self.northing)} northings")],
                                  what="map selection")
        self.xlim, self.ylim = _pair(xlim, "xlim", "map selection"), _pair(ylim, "ylim", "map selection")
        self.frame = (int(frame[0]), int(frame[1]))
        self.pixels = float(pixels)
        self.on_site, self.on_box = on_site, on_box
        self.tap = hv.streams.SingleTap(source=source, x=None, y=None)
        self.box = hv.streams.BoundsXY(source=source, bounds=None)
        self.ranges = hv.streams.RangeXY(source=source)
        self.tap.add_subscriber(self._tapped)
        self.box.add_subscriber(self._boxed)
        _SELECTIONS[source if owner is None else owner] = self

    def tolerance_m(self) -> float:
        """The click tolerance at the zoom shown [m, Web Mercator]."""
        xr_ = self.ranges.x_range or self.xlim
        yr_ = self.ranges.y_range or self.ylim
        return click_tolerance_m(xr_, yr_, *self.frame, pixels=self.pixels)

    def site_at(self, x, y) -> str | None:
        """The id of the candidate a click at ``(x, y)`` [m] selects, or None."""
        i = nearest_index(self.easting, self.northing, x, y, self.tolerance_m())
        return None if i is None else str(self.sites[i])

    def sites_in(self, bounds) -> list[str]:
        """The ids of the candidates inside ``bounds`` = (left, bottom, right, top) [m]."""
        return [str(s) for s in self.sites[inside_box(self.easting, self.northing, bounds)]]

    def _tapped(self, x=None, y=None, **_):
        site = self.site_at(x, y)
        if site is not None and self.on_site is not None:
            self.on_site(site)

    def _boxed(self, bounds=None, **_):
        if bounds is not None and self.on_box is not None:
            self.on_box(self.sites_in(bounds))


def map_selection(obj) -> MapSelection | None:
    """The :class:`MapSelection` attached to a map (None when it has none)."""
    try:
        return _SELECTIONS.get(obj)
    except TypeError:  # not weak-referenceable: never a map
        return None
