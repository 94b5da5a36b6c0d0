"""Click and box-select on the siting map: the geometry (nearest candidate in Web Mercator metres within a
pixel tolerance, candidates inside a box) against brute force, and the streams of both map kinds (points
below RASTERIZE_ABOVE, rasterised above it) calling back with the site ids.  Positions are projected here
with the spherical Web Mercator formula (EPSG:3857), not with the code under test."""

import holoviews as hv
import numpy as np
import panel as pn
import pytest
import xarray as xr
from bokeh.document import Document

from powerfirst.errors import ValidationError
from powerfirst.viz import siting as vs
from powerfirst.viz.map_select import (
    CLICK_PIXELS,
    click_tolerance_m,
    inside_box,
    map_selection,
    nearest_index,
)

hv.extension("bokeh")

R_EARTH = 6378137.0  # EPSG:3857 sphere radius [m]


def mercator(lon, lat):
    lon, lat = np.radians(np.asarray(lon, float)), np.radians(np.asarray(lat, float))
    return R_EARTH * lon, R_EARTH * np.log(np.tan(np.pi / 4 + lat / 2))


def brute_nearest(e, n, x, y, tol):
    d = np.sqrt((e - x) ** 2 + (n - y) ** 2)
    i = int(np.argmin(d))
    return i if d[i] <= tol else None


# ------------------------------------------------------------------------------------------ geometry


def test_nearest_index_is_the_brute_force_nearest_within_the_tolerance():
    rng = np.random.default_rng(3)
    e, n = rng.uniform(0, 1e6, 500), rng.uniform(0, 1e6, 500)
    for x, y in rng.uniform(-1e5, 1.1e6, (200, 2)):
        for tol in (5e3, 3e4, 1e7):
            assert nearest_index(e, n, x, y, tol) == brute_nearest(e, n, x, y, tol)
    # on a point: that point; NaN positions are never chosen; a click outside the frame (None) picks nothing
    assert nearest_index(e, n, e[17], n[17], 1.0) == 17
    e2 = e.copy()
    e2[17] = np.nan
    assert nearest_index(e2, n, e[17], n[17], 1.0) is None
    assert nearest_index(e, n, None, 5.0, 1e9) is None and nearest_index(e, n, np.nan, 5.0, 1e9) is None
    assert nearest_index(np.array([]), np.array([]), 0.0, 0.0, 1e9) is None
    # the tolerance is inclusive: exactly 3-4-5 away
    assert nearest_index(np.array([0.0]), np.array([0.0]), 3.0, 4.0, 5.0) == 0
    assert nearest_index(np.array([0.0]), np.array([0.0]), 3.0, 4.0, 4.999) is None
    with pytest.raises(ValidationError, match=r"tolerance_m: expected a distance > 0 m, found 0"):
        nearest_index(e, n, 0.0, 0.0, 0)
    with pytest.raises(ValidationError, match=r"expected a click at numbers x, y \[m\], found x='a'"):
        nearest_index(e, n, "a", 0.0, 1.0)


def test_inside_box_is_the_points_within_the_bounds():
    rng = np.random.default_rng(4)
    e, n = rng.uniform(0, 100, 1000), rng.uniform(0, 100, 1000)
    got = inside_box(e, n, (20.0, 30.0, 70.0, 45.0))
    expected = [i for i in range(1000) if 20 <= e[i] <= 70 and 30 <= n[i] <= 45]
    assert list(np.flatnonzero(got)) == expected and 0 < len(expected) < 1000
    np.testing.assert_array_equal(inside_box(e, n, (70.0, 45.0, 20.0, 30.0)), got)  # corners in either order
    assert inside_box(np.array([1.0]), np.array([1.0]), (1, 1, 1, 1)).tolist() == [True]  # edges included
    with pytest.raises(ValidationError, match=r"bounds: expected \(left, bottom, right, top\) in metres"):
        inside_box(e, n, (1, 2, 3))
    with pytest.raises(ValidationError, match="bounds: expected finite numbers"):
        inside_box(e, n, (0, 0, np.nan, 1))


def test_click_tolerance_is_pixels_times_metres_per_pixel():
    # 860 km over 860 px is 1 km a pixel; the taller axis decides when the aspect is not kept
    assert click_tolerance_m((0, 860_000), (0, 500_000), 860, 500) == pytest.approx(CLICK_PIXELS * 1000.0)
    assert click_tolerance_m((0, 860_000), (0, 1_000_000), 860, 500, pixels=4) == pytest.approx(4 * 2000.0)
    with pytest.raises(ValidationError, match=r"x_range: expected finite \(low, high\) in metres with low < high"):
        click_tolerance_m((5, 5), (0, 1), 10, 10)
    with pytest.raises(ValidationError, match="expected a frame of > 0 px"):
        click_tolerance_m((0, 1), (0, 1), 0, 10)


# ------------------------------------------------------------------------------------------ on the maps


def synthetic_screen(n: int, seed: int = 0, n_excluded: int = 4) -> xr.Dataset:
    """A screen Dataset of ``n`` candidates spread over the central US (the variables the maps read): random
    scores, ranks by score, the first ``n_excluded`` excluded."""
    rng = np.random.default_rng(seed)
    lat, lon = rng.uniform(31.0, 41.0, n), rng.uniform(-101.0, -86.0, n)
    excluded = np.zeros(n, bool)
    excluded[:n_excluded] = True
    score = np.where(excluded, np.nan, rng.uniform(0, 1, n))
    ranked = np.flatnonzero(~excluded)
    rank = np.full(n, np.nan)
    rank[ranked[np.argsort(-score[ranked], kind="stable")]] = np.arange(1, len(ranked) + 1)
    return xr.Dataset(
        {"lat": ("site", lat, {"units": "degrees_north"}), "lon": ("site", lon, {"units": "degrees_east"}),
         "score": ("site", score, {"units": "1"}), "rank": ("site", rank, {"units": "1"}),
         "price": ("site", rng.uniform(20, 80, n), {"units": "USD MWh-1"}),
         "excluded": ("site", excluded), "exclusion_reason": ("site", np.where(excluded, "offshore", "")),
         "name": ("site", [f"candidate {i}" for i in range(n)]), "ba": ("site", ["MISO"] * n),
         "state": ("site", ["TX"] * n)},
        coords={"site": [f"C{i:05d}" for i in range(n)]}, attrs={"tier": "training"})


@pytest.fixture(scope="module")
def small():
    return synthetic_screen(300, seed=1)


@pytest.fixture(scope="module")
def large():
    ds = synthetic_screen(vs.RASTERIZE_ABOVE + 1_000, seed=2)
    assert int((~ds["excluded"].values).sum()) > vs.RASTERIZE_ABOVE
    return ds


def _maps(small, large, got):
    """(name, Dataset, map) of every kind of map, each with callbacks that append to ``got``."""
    cb = dict(on_site=lambda s: got.append(("site", s)), on_box=lambda s: got.append(("box", s)))
    return [("points", small, vs.ranked_map(small, **cb)),
            ("rasterised", large, vs.ranked_map(large, **cb)),
            ("recolourable", large, vs.recolourable_map(large, **cb)[0])]


def _figure(obj):
    """The Bokeh figure a served pane draws ``obj`` on (and the HoloViews plot)."""
    pane = pn.pane.HoloViews(obj)
    doc = Document()
    root = pane.get_root(doc)
    plot = pane._plots[root.ref["id"]][0]
    return plot.state


@pytest.mark.realdata
def test_a_click_picks_the_nearest_candidate_on_both_map_kinds(small, large):
    got = []
    for kind, ds, m in _maps(small, large, got):
        assert isinstance(m, hv.DynamicMap) == (kind != "points"), kind
        sel = map_selection(m)
        assert sel is not None, kind
        fig = _figure(m)
        # the plot listens to clicks, zooms and box selections; the box-select tool is on the toolbar
        assert {"tap", "rangesupdate", "selectiongeometry"} <= set(fig._event_callbacks), kind
        assert "BoxSelectTool" in [type(t).__name__ for t in fig.toolbar.tools]
        # the tolerance: CLICK_PIXELS at the ranges and frame the figure is drawn with
        assert sel.ranges.x_range == pytest.approx((fig.x_range.start, fig.x_range.end))
        tol = CLICK_PIXELS * max((fig.x_range.end - fig.x_range.start) / fig.frame_width,
                                 (fig.y_range.end - fig.y_range.start) / fig.frame_height)
        assert sel.tolerance_m() == pytest.approx(tol)
        e, n = mercator(ds["lon"].values, ds["lat"].values)
        sites = ds["site"].values.astype(str)
        rng = np.random.default_rng(5)
        for i in [0, 7, *rng.choice(len(sites), 8, replace=False)]:  # site 0 is excluded (drawn grey): it counts
            got.clear()
            sel.tap.event(x=float(e[i]), y=float(n[i]))
            assert got == [("site", sites[i])], (kind, i)
            # off by half the tolerance: the brute-force nearest (which may be another candidate)
            x, y = e[i] + 0.5 * tol, n[i] - 0.3 * tol
            got.clear()
            sel.tap.event(x=float(x), y=float(y))
            assert got == [("site", sites[brute_nearest(e, n, x, y, tol)])], (kind, i)
        # far from every candidate (beyond the south-east corner of the candidates): nothing
        x, y = e.max() + 3 * tol, n.min() - 3 * tol
        assert brute_nearest(e, n, x, y, tol) is None
        got.clear()
        sel.tap.event(x=float(x), y=float(y))
        sel.tap.event(x=None, y=None)  # outside the frame
        assert got == [], kind
        # zoomed in 8x: a candidate 3 tolerances of the whole view away is 24 px away, too far to pick
        j = int(np.argmin((e - np.median(e)) ** 2 + (n - np.median(n)) ** 2))
        d = np.sqrt((e - e[j]) ** 2 + (n - n[j]) ** 2)
        d[j] = np.inf
        assert d.min() > 0
        w, h = fig.x_range.end - fig.x_range.start, fig.y_range.end - fig.y_range.start
        sel.ranges.event(x_range=(e[j] - w / 16, e[j] + w / 16), y_range=(n[j] - h / 16, n[j] + h / 16))
        assert sel.tolerance_m() == pytest.approx(tol / 8)
        x, y = e[j] + 0.9 * tol, n[j]
        expect = brute_nearest(e, n, x, y, tol / 8)
        got.clear()
        sel.tap.event(x=float(x), y=float(y))
        assert got == ([] if expect is None else [("site", sites[expect])]), kind
        sel.ranges.event(x_range=(fig.x_range.start, fig.x_range.end), y_range=(fig.y_range.start, fig.y_range.end))


@pytest.mark.realdata
def test_a_box_gives_the_candidates_inside_on_both_map_kinds(small, large):
    got = []
    for kind, ds, m in _maps(small, large, got):
        sel = map_selection(m)
        e, n = mercator(ds["lon"].values, ds["lat"].values)
        sites = ds["site"].values.astype(str)
        x0, x1 = np.quantile(e, [0.2, 0.6])
        y0, y1 = np.quantile(n, [0.3, 0.9])
        got.clear()
        sel.box.event(bounds=(float(x0), float(y0), float(x1), float(y1)))
        expected = [s for s, a, b in zip(sites, e, n, strict=True) if x0 <= a <= x1 and y0 <= b <= y1]
        assert got == [("box", expected)] and 10 < len(expected) < len(sites), kind
        # a box over the excluded candidates' corner holds them (they are drawn grey)
        ex = np.flatnonzero(ds["excluded"].values)
        box = (float(e[ex].min()) - 1, float(n[ex].min()) - 1, float(e[ex].max()) + 1, float(n[ex].max()) + 1)
        got.clear()
        sel.box.event(bounds=box)
        assert set(sites[ex]) <= set(got[0][1]), kind
        # an empty box: an empty list
        got.clear()
        sel.box.event(bounds=(float(e.max()) + 10, float(n.max()) + 10, float(e.max()) + 20, float(n.max()) + 20))
        assert got == [("box", [])], kind
    # the same geometry straight from the screen, without a map
    ds = small
    e, n = mercator(ds["lon"].values, ds["lat"].values)
    sites = ds["site"].values.astype(str)
    assert vs.nearest_site(ds, e[9], n[9], tolerance_m=1.0) == sites[9]
    assert vs.nearest_site(ds, e.max() + 1e6, n[9], tolerance_m=1e3) is None
    # an excluded candidate can be left out (a map with excluded="omit" does not draw it)
    assert vs.nearest_site(ds, e[0], n[0], tolerance_m=1.0) == sites[0]
    assert vs.nearest_site(ds, e[0], n[0], tolerance_m=1.0, include_excluded=False) is None
    full = (float(e.min()), float(n.min()), float(e.max()), float(n.max()))
    assert vs.sites_in_box(ds, full) == list(sites)
    assert vs.sites_in_box(ds, full, include_excluded=False) == list(sites[~ds["excluded"].values])
    with pytest.raises(ValidationError, match="the screen result has no variable 'rank'"):
        vs.sites_in_box(ds.drop_vars("rank"), full)


@pytest.mark.realdata
def test_maps_without_callbacks_have_no_selection_and_an_omitted_site_is_not_picked(small, large):
    assert map_selection(vs.ranked_map(small)) is None and map_selection(vs.recolourable_map(large)[0]) is None
    fig = _figure(vs.ranked_map(small))
    assert "BoxSelectTool" not in [type(t).__name__ for t in fig.toolbar.tools]
    got = []
    m = vs.ranked_map(small, excluded="omit", on_site=got.append)
    e, n = mercator(small["lon"].values, small["lat"].values)
    sel = map_selection(m)
    ex = small["excluded"].values
    sel.tap.event(x=float(e[0]), y=float(n[0]))  # candidate 0 is excluded, not drawn
    tol = sel.tolerance_m()
    i = brute_nearest(e[~ex], n[~ex], e[0], n[0], tol)
    assert got == ([] if i is None else [small["site"].values[~ex][i]])
    assert "BoxSelectTool" not in [type(t).__name__ for t in _figure(m).toolbar.tools]  # no on_box: no tool


@pytest.mark.realdata
def test_one_tile_helper_for_both_map_kinds(small, large):
    for m in (vs.ranked_map(small, tiles="CartoLight"), vs.recolourable_map(large, tiles=True)[0]):
        frame = m if isinstance(m, hv.Overlay) else m[()]
        assert any(isinstance(e, hv.Tiles) for e in frame)
    assert not any(isinstance(e, hv.Tiles) for e in vs.recolourable_map(large)[0][()])
    for call in (lambda: vs.ranked_map(small, tiles="Nowhere"), lambda: vs.recolourable_map(large, tiles="Nowhere")):
        with pytest.raises(ValidationError, match="tiles: expected one of .*CartoLight.* or False, found 'Nowhere'"):
            call()


@pytest.mark.realdata
def test_a_box_does_not_grey_the_candidates_outside_it(small, large):
    """Bokeh's box selection greys every glyph outside the box (non-selection alpha 0.1 on each
    renderer of the figure) and keeps it greyed after the workbench clears its selection; the answer
    to a box is the filtered Ranking, so the maps keep their glyphs as drawn."""
    from bokeh.models import GlyphRenderer

    got = []
    for kind, _ds, m in _maps(small, large, got):
        fig = _figure(m)
        glyphs = [r for r in fig.renderers if isinstance(r, GlyphRenderer) and hasattr(r.glyph, "fill_alpha")]
        assert glyphs, kind
        for r in glyphs:
            assert r.nonselection_glyph is not None and r.nonselection_glyph.fill_alpha == r.glyph.fill_alpha, kind
    # without on_box the map keeps Bokeh's defaults (there is no box-select tool)
    fig = _figure(vs.ranked_map(small))
    pts = [r for r in fig.renderers if isinstance(r, GlyphRenderer) and hasattr(r.glyph, "fill_alpha")]
    assert any(r.nonselection_glyph.fill_alpha != r.glyph.fill_alpha for r in pts)
