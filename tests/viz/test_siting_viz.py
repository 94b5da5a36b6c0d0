"""Views of the siting screen on a small real screen (Texas at H3 resolution 4 plus two user sites):
the ranked map (plain points below the threshold, rasterised above it, colour range = data range,
offline outlines, excluded sites greyed), the pillar breakdown, the top table and the re-weighting
(tests read ../shared/data)."""

import time

import holoviews as hv
import numpy as np
import pandas as pd
import pytest
import xarray as xr
from holoviews.operation.datashader import rasterize

from powerfirst.errors import ValidationError
from powerfirst.models import siting
from powerfirst.viz import siting as vs

pytestmark = pytest.mark.realdata

hv.extension("bokeh")

PLACES = pd.DataFrame([
    ("phoenix", "Phoenix AZ", 33.448, -112.074),    # no US West in the OSM grid extract: no hv_distance_km
    ("gulf", "Gulf of Mexico", 26.5, -92.0),        # offshore: excluded
], columns=["site", "name", "lat", "lon"])


@pytest.fixture(scope="module")
def ds():
    cands = siting.annotate(pd.concat([siting.grid_candidates("US-TX", 4), PLACES.assign(kind="user")],
                                      ignore_index=True))
    return siting.screen(cands, settings=siting.ScreenSettings(tier="training", draws=20, ttp_draws=300, seed=1,
                                                               top_k=10))


def _ops(obj) -> list:
    """Every operation in the pipeline of a DynamicMap (and of the maps it is built from)."""
    cb = getattr(obj, "callback", None)
    if cb is None:
        return []
    out = [cb.operation] if getattr(cb, "operation", None) is not None else []
    for inp in getattr(cb, "inputs", []):
        out += _ops(inp)
    return out


def _colorbar(obj):
    from bokeh.models import ColorBar

    fig = hv.render(obj)
    bars = [r for r in fig.right if isinstance(r, ColorBar)]
    assert len(bars) == 1
    return fig, bars[0]


def _glyphs(fig) -> set[str]:
    return {type(r.glyph).__name__ for r in fig.renderers if hasattr(r, "glyph")}


def _shown(ds, variable):
    v = ds[variable].values.astype(float)
    return v[~ds["excluded"].values & np.isfinite(v)]


def test_small_screen_is_plain_points_with_hover(ds):
    n = ds.sizes["site"]
    assert 300 < n < vs.RASTERIZE_ABOVE
    m = vs.ranked_map(ds)
    assert isinstance(m, hv.Overlay) and not any(isinstance(o, rasterize) for o in _ops(m))
    pts = [e for e in m if isinstance(e, hv.Points) and "score" in [d.name for d in e.vdims]
           and e.label == ""]
    assert len(pts) == 1
    main = pts[0]
    assert len(main) == len(_shown(ds, "score")) == n - 1  # the offshore site is not coloured
    assert {"site", "name", "score", "rank", "ba"} <= {d.name for d in main.vdims}
    assert f"{n:,} candidates" in m.opts.get().kwargs["title"] and "training tier" in m.opts.get().kwargs["title"]
    fig, bar = _colorbar(m)
    assert "Scatter" in _glyphs(fig) and "Image" not in _glyphs(fig)
    assert bar.title == "score, training tier [1]"
    # the hover writes numbers with a format (Bokeh's default writes 1234.5 as 1.234e+3)
    from bokeh.models import HoverTool

    tips = dict(t for h in fig.select({"type": HoverTool}) for t in (h.tooltips or []) if "@{score}" in t[1] or
                "@{rank}" in t[1])
    assert tips == {"score, training tier [1]": "@{score}{0,0.000}", "rank": "@{rank}{0,0}"}


@pytest.mark.parametrize("variable,unit", [("score", "[1]"), ("hv_distance_km", "[km]"),
                                           ("score_time_to_power", "[1]"), ("price", "[USD MWh-1]")])
def test_colour_range_is_the_data_range(ds, variable, unit):
    vals = _shown(ds, variable)
    lo, hi = float(vals.min()), float(vals.max())
    assert hi > lo and (lo, hi) != (0.0, 1.0)
    for kwargs in ({}, {"rasterize": True}):
        _, bar = _colorbar(vs.ranked_map(ds, variable, **kwargs))
        assert bar.color_mapper.low == pytest.approx(lo) and bar.color_mapper.high == pytest.approx(hi)
        assert bar.title.endswith(unit)


def test_rasterised_above_the_threshold(ds):
    m = vs.ranked_map(ds, threshold=100)
    assert isinstance(m, hv.DynamicMap)
    assert any(isinstance(o, rasterize) for o in _ops(m))
    frame = m[()]
    images = [e for e in frame if isinstance(e, hv.Image)]
    assert len(images) == 1
    img = images[0].dimension_values(2)
    vals = _shown(ds, "score")
    img = img[np.isfinite(img)]
    # pixels hold the mean score of their candidates: inside the data's range
    assert img.size > 50 and img.min() >= vals.min() - 1e-9 and img.max() <= vals.max() + 1e-9
    assert "(rasterised)" in frame.opts.get().kwargs["title"]
    fig = hv.render(m)
    assert "Image" in _glyphs(fig)
    # and back to plain points when asked, whatever the threshold
    assert isinstance(vs.ranked_map(ds, threshold=100, rasterize=False), hv.Overlay)


def test_100k_points_render_rasterised(ds):
    """A screen of 100,000 candidates (the Texas screen repeated with jitter) renders as one image."""
    reps = int(np.ceil(100_000 / ds.sizes["site"]))
    keep = ["lat", "lon", "score", "rank", "excluded", "exclusion_reason", "name", "ba", "state"]
    base = ds[keep]
    rng = np.random.default_rng(0)
    parts = []
    for r in range(reps):
        p = base.assign_coords(site=[f"{s}-{r}" for s in base["site"].values])
        p["lat"] = p["lat"] + rng.uniform(-0.3, 0.3, p.sizes["site"])
        p["lon"] = p["lon"] + rng.uniform(-0.3, 0.3, p.sizes["site"])
        parts.append(p)
    big = xr.concat(parts, dim="site").isel(site=slice(0, 100_000))
    big.attrs = dict(ds.attrs)
    t0 = time.perf_counter()
    m = vs.ranked_map(big)
    fig, bar = _colorbar(m)
    assert time.perf_counter() - t0 < 120
    assert isinstance(m, hv.DynamicMap) and any(isinstance(o, rasterize) for o in _ops(m))
    assert "Image" in _glyphs(fig)
    # the only points drawn one by one are the excluded ones (offshore, grey)
    n_ex = int(big["excluded"].sum())
    scatter = [r for r in fig.renderers if type(getattr(r, "glyph", None)).__name__ == "Scatter"]
    assert 0 < n_ex < 1000 and sum(len(r.data_source.data["easting"]) for r in scatter) == n_ex
    assert "100,000 candidates" in m[()].opts.get().kwargs["title"]
    vals = big["score"].values[~big["excluded"].values]
    assert bar.color_mapper.low == pytest.approx(np.nanmin(vals))


def test_excluded_sites_are_grey_with_a_legend_or_omitted(ds):
    assert bool(ds["excluded"].sel(site="gulf")) and int(ds["excluded"].sum()) == 1
    m = vs.ranked_map(ds)
    grey = [e for e in m if isinstance(e, hv.Points) and e.label.startswith("excluded (1)")]
    assert len(grey) == 1 and list(grey[0]["site"]) == ["gulf"]
    assert "offshore" in grey[0].label
    assert grey[0].opts.get().kwargs["color"] == vs.EXCLUDED_COLOUR
    assert "1 excluded (dark grey)" in m.opts.get().kwargs["title"]
    omit = vs.ranked_map(ds, excluded="omit")
    assert not any(isinstance(e, hv.Points) and e.label.startswith("excluded") for e in omit)
    assert "1 excluded (not shown)" in omit.opts.get().kwargs["title"]
    # a layer without a value at a site (Phoenix: outside the grid layer) is drawn light grey, not coloured
    hv_map = vs.ranked_map(ds, "hv_distance_km")
    blank = [e for e in hv_map if isinstance(e, hv.Points) and e.label.startswith("no hv_distance_km")]
    assert len(blank) == 1 and "phoenix" in list(blank[0]["site"])


def test_offline_outlines_and_no_tiles_unless_asked(ds):
    m = vs.ranked_map(ds)
    assert not any(isinstance(e, hv.Tiles) for e in m)
    paths = [e for e in m if isinstance(e, hv.Path)]
    # one path whose parts are separated by NaN rows (Texas, its neighbours and Mexico): one line glyph
    assert len(paths) == 1 and len(paths[0].split()) == 1
    xy = paths[0].array()
    gaps = np.isnan(xy[:, 0])
    assert gaps.sum() > 5 and (np.isnan(xy[:, 1]) == gaps).all()
    xy = xy[~gaps]
    (x0, x1), (y0, y1) = m.opts.get().kwargs["xlim"], m.opts.get().kwargs["ylim"]
    assert (xy[:, 0] >= x0 - 1).all() and (xy[:, 0] <= x1 + 1).all()
    assert (xy[:, 1] >= y0 - 1).all() and (xy[:, 1] <= y1 + 1).all()
    # the Texas outline passes near El Paso (31.76 N, 106.49 W) and Brownsville (25.9 N, 97.5 W)
    for lon, lat in ((-106.49, 31.76), (-97.15, 25.95)):
        e, n = hv.util.transform.lon_lat_to_easting_northing(lon, lat)
        assert np.hypot(xy[:, 0] - e, xy[:, 1] - n).min() < 30_000, (lon, lat)
    # the outlines do not depend on the candidates: computed once per box, the same (read-only) array after
    box = vs._bounds(vs.map_frame(ds))
    assert vs.outline_path(*box) is vs.outline_path(*box) and not vs.outline_path(*box).flags.writeable
    np.testing.assert_array_equal(vs.outline_path(*box), paths[0].array())  # what the map draws
    again = [e for e in vs.ranked_map(ds, "price") if isinstance(e, hv.Path)][0]
    np.testing.assert_array_equal(again.array(), paths[0].array())
    fig = hv.render(m)
    lines = [r for r in fig.renderers if type(getattr(r, "glyph", None)).__name__ == "MultiLine"]
    assert len(lines) == 1 and len(lines[0].data_source.data["xs"]) == 1  # one line element, not one per part
    tiled = vs.ranked_map(ds, tiles="CartoLight")
    assert any(isinstance(e, hv.Tiles) for e in tiled)
    with pytest.raises(ValidationError, match="tiles: expected one of .*found 'Nowhere'"):
        vs.ranked_map(ds, tiles="Nowhere")


def test_pillar_breakdown_has_one_bar_per_pillar_with_its_contribution(ds):
    best = str(ds["site"].values[ds["rank"].values == 1][0])
    bars = vs.pillar_breakdown(ds, best)
    assert isinstance(bars, hv.Bars) and bars.opts.get().kwargs["invert_axes"]
    labels = list(bars.dimension_values("pillar"))
    assert sorted(labels) == sorted(p.replace("_", " ") for p in siting.PILLARS) and len(labels) == 8
    assert labels[-1] == "time to power"  # drawn at the top of the horizontal chart
    one = ds.sel(site=best)
    w = ds["weight"].values
    s = np.array([float(one[f"score_{p}"]) for p in siting.PILLARS])
    ok = np.isfinite(s)
    expect = dict(zip([p.replace("_", " ") for p in siting.PILLARS], np.where(ok, s, 0) * w / w[ok].sum(),
                      strict=True))
    got = dict(zip(labels, bars.dimension_values("contribution"), strict=True))
    for k, v in expect.items():
        assert got[k] == pytest.approx(v)
    assert sum(got.values()) == pytest.approx(float(one["score"]))  # contributions add up to the score
    fig = hv.render(bars)
    caption = " ".join(t.text for t in fig.below if type(t).__name__ == "Title")
    assert "Explanation: lifted by" in caption and "Flags" in caption
    assert str(one["explanation"].values)[:40] in caption.replace("\n", " ")
    assert f"score {float(one['score']):.3f}, rank 1" in bars.opts.get().kwargs["title"]
    # a site with a missing layer: its flag is in the caption
    ph = vs.pillar_breakdown(ds, "phoenix")
    cap = " ".join(t.text for t in hv.render(ph).below if type(t).__name__ == "Title")
    assert "outside the grid layer's" in cap


def test_top_table_matches_the_screen(ds):
    t = vs.top_table(ds, n=12)
    pillars = [f"{p.replace('_', ' ')} [1]" for p in siting.PILLARS]
    assert list(t.columns) == ["rank", "site", "name", "state", "BA", "score [1]", "P(top 10) [1]", "best path",
                               "P50 to first power [month]", *pillars]
    assert list(t["rank"]) == list(range(1, 13))
    order = ds["rank"].to_series().dropna().sort_values().index[:12]
    assert list(t["site"]) == list(order)
    sub = ds.sel(site=list(order))
    np.testing.assert_allclose(t["score [1]"], np.round(sub["score"].values, 3))
    np.testing.assert_allclose(t["P(top 10) [1]"], np.round(sub["p_top_k"].values, 2))
    assert (t["score [1]"].diff().dropna() <= 1e-3).all()
    for i, site in enumerate(order):
        path = str(sub["best_path"].sel(site=site).values)
        assert t["best path"].iloc[i] == path
        assert t["P50 to first power [month]"].iloc[i] == pytest.approx(
            round(float(ds["ttp_p50"].sel(site=site, path=path)), 1))
        assert t["BA"].iloc[i] == str(ds["ba"].sel(site=site).values)
        for p, col in zip(siting.PILLARS, pillars, strict=True):
            assert t[col].iloc[i] == pytest.approx(round(float(ds[f"score_{p}"].sel(site=site)), 2))
    assert "gulf" not in set(vs.top_table(ds, n=10_000)["site"])  # excluded sites have no rank


def test_reweighting_from_the_stored_pillar_scores(ds):
    tot = vs.reweighted_ranks(ds, "time_to_power", (0, 1, 4))
    # factor 1 is the screen's own score
    np.testing.assert_allclose(tot.sel(factor=1.0).values, ds["score"].values, rtol=1e-12, equal_nan=True)
    # factor 0 drops the pillar: the weighted mean of the other seven
    w = ds["weight"].values.copy()
    w[0] = 0
    s = np.column_stack([ds[f"score_{p}"].values for p in siting.PILLARS])
    ok = np.isfinite(s)
    expect = np.nansum(np.where(ok, s, 0) * w, axis=1) / (ok * w).sum(axis=1)
    expect[ds["excluded"].values] = np.nan
    np.testing.assert_allclose(tot.sel(factor=0.0).values, expect, rtol=1e-12, equal_nan=True)
    top = vs.reweighted_top(ds, "time_to_power", (0.5, 1, 2, 4), n=10)
    nominal = list(vs.top_table(ds, 10)["site"])
    assert list(top[top["factor"] == 1.0]["site"]) == nominal
    assert top[top["factor"] == 1.0]["in nominal top"].all()
    summ = vs.reweighted_summary(top)
    assert list(summ["factor"]) == [0.5, 1.0, 2.0, 4.0]
    row1 = summ[summ["factor"] == 1.0].iloc[0]
    assert row1["overlap with nominal top 10 [sites]"] == 10 and row1["centre shift [km]"] == 0
    for f, g in top.groupby("factor"):
        assert summ.loc[summ["factor"] == f, "overlap with nominal top 10 [sites]"].iloc[0] == g["site"].isin(nominal).sum()
    assert isinstance(vs.reweighted_map(ds, top), hv.Overlay)


def test_flag_and_exclusion_summaries_count_the_screen(ds):
    f = vs.flag_summary(ds)
    flags = ds["flags"].values.astype(str)
    for _, r in f.iterrows():
        key = f"{r['pillar']}.{r['input']}: {r['reason']}"
        assert r["candidates"] == sum(key in s.split("; ") for s in flags)
    assert (f["candidates"].diff().dropna() <= 0).all()
    ph = f[(f["input"] == "hv_distance_km") & (f["reason"] == "outside the grid layer's coverage")]
    assert len(ph) == 1 and ph["candidates"].iloc[0] >= 1
    e = vs.exclusion_summary(ds)
    assert e["candidates"].sum() == 1 and "offshore" in e["reason"].iloc[0]


def test_bad_inputs_say_what_was_expected(ds):
    with pytest.raises(ValidationError, match="no variable 'scroe' to colour by; expected one of .*score"):
        vs.ranked_map(ds, "scroe")
    with pytest.raises(ValidationError, match="'pillar_score' has dims .* expected a number per site"):
        vs.ranked_map(ds, "pillar_score")
    with pytest.raises(ValidationError, match="excluded: expected 'grey' or 'omit', found 'hide'"):
        vs.ranked_map(ds, excluded="hide")
    with pytest.raises(ValidationError, match="threshold: expected a number of points >= 1, found 0"):
        vs.ranked_map(ds, threshold=0)
    with pytest.raises(ValidationError, match="no candidate 'phoenx' in the screen .*did you mean phoenix"):
        vs.pillar_breakdown(ds, "phoenx")
    with pytest.raises(ValidationError, match="n: expected a number of sites >= 1, found 0"):
        vs.top_table(ds, n=0)
    with pytest.raises(ValidationError, match="pillar: expected one of time_to_power, .*found 'speed'"):
        vs.reweighted_top(ds, "speed")
    with pytest.raises(ValidationError, match=r"factors: expected weight multipliers >= 0, found \[1, -2\]"):
        vs.reweighted_ranks(ds, "latency", [1, -2])
    with pytest.raises(ValidationError, match="the screen result has no variable 'weight'"):
        vs.pillar_breakdown(ds.drop_vars("weight"), "phoenix")
    with pytest.raises(ValidationError, match="expected the xarray.Dataset of powerfirst.models.siting.screen"):
        vs.top_table({"score": 1})


def test_candidate_frame_is_computed_once_per_screen(ds):
    """A colour change reuses the candidates' positions and spacing; a Dataset whose positions were replaced
    gets its own."""
    a = vs._candidates(ds)
    assert vs._candidates(ds) is a
    f1, f2 = vs.map_frame(ds, "price"), vs.map_frame(ds, "hv_distance_km")
    assert list(f1.columns) == ["site", "lon", "lat", "name", "ba", "state", "score", "rank", "price", "excluded",
                                "exclusion_reason", "easting", "northing"]
    np.testing.assert_array_equal(f1["easting"], f2["easting"])
    assert "price" not in a[0].columns and "hv_distance_km" not in f1.columns  # the cached frame stays as it was
    moved = ds.assign(lat=ds["lat"] + 1.0)
    b = vs._candidates(moved)
    assert b is not a and np.all(b[0]["northing"].to_numpy() > a[0]["northing"].to_numpy())
    np.testing.assert_allclose(vs.map_frame(moved)["lat"], ds["lat"].values + 1.0)


def test_recolourable_map_changes_colour_in_place(ds):
    """The rasterised map of a served session: a colour change re-aggregates the coloured layer and updates the
    colour range, the colour bar's title and the title of the plot already drawn (no new plot)."""
    import panel as pn
    from bokeh.document import Document
    from bokeh.models import ColorBar, GlyphRenderer, Image, Plot

    m, recolour = vs.recolourable_map(ds, "score")
    pane = pn.pane.HoloViews(m)
    doc = Document()
    doc.add_root(pane.get_root(doc))
    plot = next(iter(doc.select({"type": Plot})))

    def shown():
        bars = list(doc.select({"type": ColorBar}))
        assert len(bars) == 1
        imgs = [r.data_source.data["image"][0] for r in doc.select({"type": GlyphRenderer})
                if isinstance(r.glyph, Image) and r.glyph.color_mapper is bars[0].color_mapper]
        assert len(imgs) == 1
        return plot.title.text, bars[0].title, (bars[0].color_mapper.low, bars[0].color_mapper.high), imgs[0]

    for variable, unit in (("score", "[1]"), ("price", "[USD MWh-1]"), ("hv_distance_km", "[km]")):
        if variable != "score":
            recolour(variable)
        vals = _shown(ds, variable)
        text, bar, (lo, hi), img = shown()
        assert next(iter(doc.select({"type": Plot}))) is plot  # the same plot, updated
        assert f"{ds.sizes['site']:,} candidates coloured by {vs.short_name(variable)} (rasterised)" in text
        assert bar.endswith(unit) and (lo, hi) == (pytest.approx(vals.min()), pytest.approx(vals.max()))
        px = img[np.isfinite(img)]
        assert px.size > 20 and px.min() >= vals.min() - 1e-9 and px.max() <= vals.max() + 1e-9
    # Phoenix has no HV distance: counted in the title, drawn light grey underneath
    assert "without hv_distance_km (light grey)" in text
    with pytest.raises(ValidationError, match="no variable 'nope' to colour by"):
        recolour("nope")
    assert shown()[1].endswith("[km]")  # unchanged
