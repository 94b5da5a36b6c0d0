"""The workbench map's click and box-select: a click opens the nearest candidate in the Drill-down tab, a
box filters the Ranking (note, clear button, sorting and paging kept, dropped on a new run), on the points
map of the demo sites and on the rasterised map of a screen of more than RASTERIZE_ABOVE candidates; and
in headless Chromium on a served workbench, a click at a site's pixel opens that site.  Positions are
projected here with the spherical Web Mercator formula (EPSG:3857), not with the code under test."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from types import SimpleNamespace

import numpy as np
import pytest
import xarray as xr

pytestmark = pytest.mark.realdata

R_EARTH = 6378137.0  # EPSG:3857 sphere radius [m]


def mercator(lon, lat):
    lon, lat = np.radians(np.asarray(lon, float)), np.radians(np.asarray(lat, float))
    return R_EARTH * lon, R_EARTH * np.log(np.tan(np.pi / 4 + lat / 2))


def isolated_ranked_site(ds: xr.Dataset, skip: int = 1) -> int:
    """Position of the ranked site (not among the best ``skip``) farthest from its nearest neighbour."""
    e, n = mercator(ds["lon"].values, ds["lat"].values)
    d = np.sqrt((e[:, None] - e[None, :]) ** 2 + (n[:, None] - n[None, :]) ** 2)
    np.fill_diagonal(d, np.inf)
    rank = ds["rank"].values.astype(float)
    ok = np.isfinite(rank) & (np.nan_to_num(rank, nan=0) > skip)
    return int(np.flatnonzero(ok)[np.argmax(d.min(axis=1)[ok])])


def ranked_inside(ds: xr.Dataset, bounds) -> list[str]:
    """Ranked sites whose projected position lies inside ``bounds`` = (left, bottom, right, top), best first."""
    e, n = mercator(ds["lon"].values, ds["lat"].values)
    x0, y0, x1, y1 = bounds
    rank = ds["rank"].values.astype(float)
    keep = (e >= x0) & (e <= x1) & (n >= y0) & (n <= y1) & np.isfinite(rank)
    idx = np.flatnonzero(keep)
    return [str(s) for s in ds["site"].values[idx[np.argsort(rank[idx])]]]


@pytest.fixture(scope="module")
def demo():
    """The screen of the demo sites (197, one excluded), run once."""
    from powerfirst.apps.workbench import WorkbenchState

    s = WorkbenchState()
    s.use_demo_sites()
    s.scenario.siting.draws = 20
    return s.run().result


def grown(ds: xr.Dataset, n: int) -> xr.Dataset:
    """``ds`` repeated to ``n`` candidates (ids ``<site>~<copy>``, positions moved by up to 0.3 degrees), ranks
    recomputed over all copies (score descending, ties by id)."""
    reps = int(np.ceil(n / ds.sizes["site"]))
    rng = np.random.default_rng(0)
    parts = []
    for r in range(reps):
        p = ds.assign_coords(site=[f"{s}~{r}" for s in ds["site"].values.astype(str)])
        p["lat"] = p["lat"] + rng.uniform(-0.3, 0.3, p.sizes["site"])
        p["lon"] = p["lon"] + rng.uniform(-0.3, 0.3, p.sizes["site"])
        parts.append(p)
    big = xr.concat(parts, dim="site", data_vars="minimal", coords="minimal", compat="override",
                    join="override").isel(site=slice(0, n))
    score = big["score"].values.astype(float)
    sites = big["site"].values.astype(str)
    idx = np.flatnonzero(np.isfinite(score) & ~big["excluded"].values.astype(bool))
    order = idx[np.lexsort((sites[idx], -score[idx]))]
    rank = np.full(score.shape, np.nan)
    rank[order] = np.arange(1, len(order) + 1)
    big["rank"] = ("site", rank, dict(ds["rank"].attrs))
    big.attrs = dict(ds.attrs)
    return big


def workbench_on(ds: xr.Dataset):
    """A workbench (outside a server) showing ``ds`` as its run."""
    import panel as pn

    from powerfirst.apps.workbench import Workbench

    pn.extension("tabulator")
    wb = Workbench()
    wb.__panel__()
    wb.state.add_run(wb.state.snapshot(), ds, 0.0)
    return wb


def test_selection_note_counts():
    from powerfirst.apps._workbench_map import selection_note

    assert selection_note(1, 1) == "1 ranked site in the map selection."
    assert selection_note(42, 20, 3) == ("42 ranked sites in the map selection (the best 20 shown; choose “all "
                                         "ranked” under Sites shown for every one); 3 excluded or unscored "
                                         "candidates in it not listed.")


def test_click_opens_the_site_and_a_box_filters_the_ranking_on_the_points_map(demo):
    import holoviews as hv

    from powerfirst.apps.workbench import TABS
    from powerfirst.viz.map_select import map_selection

    wb = workbench_on(demo)
    m = wb.map_pane.object
    assert isinstance(m, hv.Overlay)  # 197 candidates: plain points
    sel = map_selection(m)
    e, n = mercator(demo["lon"].values, demo["lat"].values)
    sites = demo["site"].values.astype(str)
    i = isolated_ranked_site(demo)
    first = wb.state.site
    assert first != sites[i]  # the drill-down starts on the best site
    wb.tabs.active = TABS.index("Map")
    sel.tap.event(x=float(e[i]) + 0.3 * sel.tolerance_m(), y=float(n[i]))
    assert wb.state.site == sites[i] and wb.tabs.active == TABS.index("Drill-down")
    assert wb.site_select.value == sites[i] and sites[i] in wb.site_text.object
    # far from every candidate: nothing changes
    wb.tabs.active = TABS.index("Map")
    sel.tap.event(x=float(e.max() + 5 * sel.tolerance_m()), y=float(n.min() - 5 * sel.tolerance_m()))
    assert wb.state.site == sites[i] and wb.tabs.active == TABS.index("Map")
    # a box: the ranked sites inside, best first, a note and the clear button; the Ranking tab opens
    x0, x1 = np.quantile(e, [0.25, 0.75])
    y0, y1 = np.quantile(n, [0.2, 0.8])
    bounds = (float(x0), float(y0), float(x1), float(y1))
    inside = ranked_inside(demo, bounds)
    assert 20 < len(inside) < int(np.isfinite(demo["rank"].values).sum())
    sel.box.event(bounds=bounds)
    assert wb.tabs.active == TABS.index("Ranking")
    shown = wb.ranking.value
    assert list(shown["site"]) == inside[:20] and list(shown.index) == list(range(20))  # "Sites shown": top 20
    assert f"{len(inside)} ranked sites in the map selection (the best 20 shown" in wb.map_pick.note.object
    assert wb.map_pick.clear_button.visible
    wb.top_select.value = 0  # all ranked: every site of the box
    assert list(wb.ranking.value["site"]) == inside
    assert f"{len(inside)} ranked sites in the map selection." in wb.map_pick.note.object
    # a click on a row of the filtered ranking opens that row's site
    wb._on_ranking_click(SimpleNamespace(row=5))
    assert wb.state.site == inside[5]
    # cleared: every ranked site again
    wb.map_pick.clear_button.clicks += 1
    assert len(wb.ranking.value) == int(np.isfinite(demo["rank"].values).sum())
    assert wb.map_pick.note.object == "" and not wb.map_pick.clear_button.visible
    # a new run drops the selection
    sel.box.event(bounds=bounds)
    assert list(wb.ranking.value["site"]) == inside
    again = demo.copy()
    wb.state.add_run(wb.state.snapshot(), again, 0.0)
    assert len(wb.ranking.value) == int(np.isfinite(demo["rank"].values).sum())
    assert wb.map_pick.selection is None and wb.map_pick.note.object == ""
    # ... and so does a run answered from the cache (the same Dataset shown again)
    map_selection(wb.map_pane.object).box.event(bounds=bounds)
    assert list(wb.ranking.value["site"]) == inside and wb.map_pick.clear_button.visible
    wb.state.add_run(wb.state.snapshot(), again, 0.0)
    assert len(wb.ranking.value) == int(np.isfinite(demo["rank"].values).sum()) and not wb.map_pick.clear_button.visible
    assert "Something went wrong" not in wb.message.object


def test_click_and_box_on_the_rasterised_map_keep_sorting_and_paging(demo, monkeypatch):
    import holoviews as hv
    import panel as pn
    from bokeh.document import Document
    from bokeh.models import ColumnDataSource
    from panel.models.tabulator import CellClickEvent

    from powerfirst.apps.workbench import TABS
    from powerfirst.viz import siting as vs
    from powerfirst.viz.map_select import map_selection

    big = grown(demo, vs.RASTERIZE_ABOVE + 800)
    assert int((~big["excluded"].values).sum()) > vs.RASTERIZE_ABOVE
    wb = workbench_on(big)
    doc = Document()
    for col in (pn.Column(wb.top_select, wb.map_pick.panel, wb.ranking), pn.Column(wb.map_variable, wb.map_pane)):
        doc.add_root(col.get_root(doc))
    m = wb.map_pane.object
    assert isinstance(m, hv.DynamicMap) and wb._live is not None  # rasterised, recoloured in place
    sel = map_selection(m)
    e, n = mercator(big["lon"].values, big["lat"].values)
    sites = big["site"].values.astype(str)
    rng = np.random.default_rng(8)
    for i in rng.choice(len(sites), 5, replace=False):
        wb.tabs.active = TABS.index("Map")
        sel.tap.event(x=float(e[i]), y=float(n[i]))  # no glyph per candidate: the nearest candidate is found
        assert wb.state.site == sites[i] and wb.tabs.active == TABS.index("Drill-down")
    # a colour change keeps the map and its selection
    wb.map_variable.value = "hv_distance_km"
    assert wb.map_pane.object is m and map_selection(wb.map_pane.object) is sel
    # a box of many ranked sites; the ranking pages and sorts them
    x0, x1 = np.quantile(e, [0.3, 0.7])
    y0, y1 = np.quantile(n, [0.1, 0.9])
    bounds = (float(x0), float(y0), float(x1), float(y1))
    inside = ranked_inside(big, bounds)
    assert len(inside) > 100
    wb.top_select.value = 0
    sel.box.event(bounds=bounds)
    assert list(wb.ranking.value["site"]) == inside
    assert f"{len(inside):,} ranked sites in the map selection" in wb.map_pick.note.object

    def rows_sent():
        srcs = [s for mod, _ in wb.ranking._models.values() for s in mod.select({"type": ColumnDataSource})]
        return max(len(next(iter(s.data.values()))) for s in srcs)

    assert rows_sent() == wb.ranking.page_size == 20  # one page reaches the browser
    # sorted by rank, worst first, page 3: the 4th row there is the 44th worst of the box
    wb.ranking.sorters = [{"field": "rank", "dir": "desc"}]
    wb.ranking.page = 3
    model = next(iter(wb.ranking._models.values()))[0]
    wb.ranking._process_event(CellClickEvent(model=model, column="site", row=3))
    assert wb.state.site == inside[::-1][2 * 20 + 3]
    # cleared: every ranked candidate, still one page sent
    wb.map_pick.clear()
    assert len(wb.ranking.value) == int(np.isfinite(big["rank"].values).sum()) and rows_sent() == 20


def test_a_failure_in_a_map_callback_is_a_message_with_a_reference(demo, monkeypatch, caplog):
    from powerfirst.viz.map_select import map_selection

    wb = workbench_on(demo)

    def broken():
        raise RuntimeError("internal detail")

    monkeypatch.setattr(wb, "_show_ranking", broken)
    e, n = mercator(demo["lon"].values, demo["lat"].values)
    map_selection(wb.map_pane.object).box.event(bounds=(float(e.min()), float(n.min()), float(e.max()),
                                                        float(n.max())))
    msg = wb.message.object
    assert "while filtering the ranking to the map selection (reference E-" in msg and "internal detail" not in msg
    assert "internal detail" in caplog.text  # the traceback in the server log


# ------------------------------------------------------------------------------------------ served, in Chromium


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def served_workbench():
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "powerfirst.cli", "serve", "--port", str(port)],
                            env=dict(os.environ), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 120
    try:
        while True:
            if proc.poll() is not None:
                raise RuntimeError("powerfirst serve exited")
            try:
                urllib.request.urlopen(url + "/workbench", timeout=10)
                break
            except OSError:
                if time.time() > deadline:
                    raise RuntimeError("powerfirst serve did not answer within 120 s") from None
                time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


#: the map's figure, its frame in the canvas [CSS px], its ranges [m] and the candidates' positions [m]
MAP_GEOMETRY = """
() => {
  for (const doc of Bokeh.documents) {
    for (const m of doc.all_models) {
      if (!(m.x_range && m.y_range && m.renderers && m.title)) continue;
      const title = m.title && m.title.text ? m.title.text : "";
      if (!title.startsWith("Siting screen")) continue;
      const view = Bokeh.index.find_one(m);
      if (!view) continue;
      let pts = null;
      for (const r of m.renderers) {
        const d = r.data_source && r.data_source.data;
        if (d && d.site && d.easting && d.rank && d.site.length > 20) pts = {site: Array.from(d.site),
          rank: Array.from(d.rank), x: Array.from(d.easting), y: Array.from(d.northing)};
      }
      if (!pts) continue;
      const box = view.canvas_view.el.getBoundingClientRect();
      const f = view.frame.bbox;
      return {left: box.left + f.left, top: box.top + f.top, width: f.width, height: f.height,
              x0: m.x_range.start, x1: m.x_range.end, y0: m.y_range.start, y1: m.y_range.end, pts};
    }
  }
  return null;
}
"""


@pytest.mark.browser
def test_clicking_a_site_on_the_served_map_opens_its_drill_down_and_a_box_filters_the_ranking(page, served_workbench):
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(served_workbench + "/workbench", wait_until="domcontentloaded", timeout=120_000)
    page.get_by_text("Sites:").first.wait_for(timeout=120_000)
    page.locator(".bk-tab", has_text="Run").first.click()
    page.get_by_role("button", name="Run the siting screen").click()
    page.get_by_text("Run workbench done in").wait_for(timeout=300_000)
    page.locator(".bk-tab", has_text="Map").first.click()
    page.wait_for_function(f"() => ({MAP_GEOMETRY})() !== null", timeout=60_000)
    page.wait_for_timeout(500)  # the frame laid out
    g = page.evaluate(MAP_GEOMETRY)
    x, y = np.asarray(g["pts"]["x"], float), np.asarray(g["pts"]["y"], float)
    # the candidate farthest (in pixels) from every other one, not the best site (on show already)
    px = g["left"] + (x - g["x0"]) / (g["x1"] - g["x0"]) * g["width"]
    py = g["top"] + (g["y1"] - y) / (g["y1"] - g["y0"]) * g["height"]
    d = np.hypot(px[:, None] - px[None, :], py[:, None] - py[None, :])
    np.fill_diagonal(d, np.inf)
    inside = (px > g["left"] + 15) & (px < g["left"] + g["width"] - 15) & (py > g["top"] + 15) & \
        (py < g["top"] + g["height"] - 15)
    order = [j for j in np.argsort(-d.min(axis=1)) if inside[j] and g["pts"]["rank"][j] != 1]
    j = order[0]
    site = g["pts"]["site"][j]
    assert d[j].min() > 25  # no other candidate within 25 px: the click can only mean this one
    page.mouse.click(float(px[j]) + 2, float(py[j]) - 1)
    page.locator(".bk-tab.bk-active", has_text="Drill-down").wait_for(timeout=60_000)
    page.locator(".pf-site", has_text=site).wait_for(timeout=60_000)
    text = page.locator(".pf-site").inner_text()
    assert site in text and "Explanation" in text
    # a box drawn with the box-select tool: the Ranking lists the ranked candidates inside it
    page.locator(".bk-tab", has_text="Map").first.click()
    page.wait_for_function(f"() => ({MAP_GEOMETRY})() !== null", timeout=60_000)
    page.wait_for_timeout(500)
    g = page.evaluate(MAP_GEOMETRY)
    px = g["left"] + (x - g["x0"]) / (g["x1"] - g["x0"]) * g["width"]
    py = g["top"] + (g["y1"] - y) / (g["y1"] - g["y0"]) * g["height"]

    def box(f0, f1):  # corners at fractions of the frame, and whether a candidate lies within 2 px of the edge
        a = (g["left"] + f0 * g["width"], g["top"] + f0 * g["height"])
        b = (g["left"] + f1 * g["width"], g["top"] + f1 * g["height"])
        grown = (px > a[0] - 2) & (px < b[0] + 2) & (py > a[1] - 2) & (py < b[1] + 2)
        shrunk = (px > a[0] + 2) & (px < b[0] - 2) & (py > a[1] + 2) & (py < b[1] - 2)
        return a, b, shrunk, (grown & ~shrunk).any()

    a, b, within = next((a, b, w) for f0 in np.arange(0.25, 0.35, 0.01) for a, b, w, edge in [box(f0, 1 - f0)]
                        if not edge)  # every candidate clearly in or out
    ranked = np.array([r is not None and np.isfinite(float(r)) for r in g["pts"]["rank"]])
    expected = int((within & ranked).sum())
    assert expected > 1
    page.locator('[title="Box Select"]').first.click()
    page.mouse.move(*a)
    page.mouse.down()
    page.mouse.move((a[0] + b[0]) / 2, (a[1] + b[1]) / 2, steps=5)
    page.mouse.move(*b, steps=5)
    page.mouse.up()
    page.locator(".bk-tab.bk-active", has_text="Ranking").wait_for(timeout=60_000)
    page.get_by_text(f"{expected} ranked sites in the map selection").wait_for(timeout=60_000)
    page.get_by_role("button", name="Clear the map selection").click()
    page.get_by_text("ranked sites in the map selection").wait_for(state="detached", timeout=60_000)
    assert "Traceback" not in page.content()
    assert not errors, f"JavaScript errors: {errors}"
