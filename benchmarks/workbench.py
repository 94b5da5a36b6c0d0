"""Benchmark: the siting workbench's server side on a 100,000-candidate screen, and its cold first paint.

The screen result: ``SCREENED`` H3 resolution-6 cells of US-48 (every k-th of the sorted cell ids, as
in ``benchmarks/screening.py``) screened by the real screen (:func:`powerfirst.models.siting.screen`,
training tier, 50 draws; ``POWERFIRST_BENCH_SCREENED``, default 100,000: all of them, which takes 20-30 s
on two cores). When ``SCREENED`` is below ``N`` (default 100,000; ``POWERFIRST_BENCH_CANDIDATES``) the screened
candidates are tiled to ``N``: copy ``r`` of a candidate has the id ``<cell>~r``, its position moved by
up to 0.02 degrees (uniform, seed 0) and every score, pillar and layer of the original; the ranks are
recomputed over all copies (score descending, ties by id). The figures say which was done.

The workbench (:class:`powerfirst.apps.workbench.Workbench`) is built as a served session builds it, the
result put on show as a finished run, and the Map and Ranking tabs rendered into a Bokeh document.
Timed, best of 3 per change:

* **colour change** — the Python callbacks run when the Map tab's "Colour by" selector changes (score ->
  time-to-power score -> HV distance -> score ...): the map recoloured in place (the Datashader
  aggregation of the 100,000 candidates included) and the document patch a browser would receive,
  serialised (its size is mostly the new image);
* **ranking filter** — the Ranking tab's "Sites shown" (top 20 -> top 100 -> all ranked -> top 20), the
  rows the table's data source holds (what goes to the browser) and the patch;
* **re-run** — "Run" again on the unchanged scenario and sites (served from the result cache).

Baseline, timed in the same run: the same colour change with the map drawn as 100,000 plain points
(``rasterize=False``) and the outline cache emptied, i.e. what a colour change cost before the
candidates were rasterised and the basemap cached; and the outlines drawn as one line per part (as
before) against one NaN-separated path. The screen is counted: a widget change must not run it.

Cold first paint: ``powerfirst serve`` started on 127.0.0.1 (a free port); the time from starting the
process to the first HTTP 200 of ``/workbench`` (the skeleton page with its loading indicator; the tabs
fill after the page loads), then a second request to a warm server.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np

from _common import REPO, peak_rss_mb, report, shared_data

N = int(os.environ.get("POWERFIRST_BENCH_CANDIDATES", 100_000))
SCREENED = int(os.environ.get("POWERFIRST_BENCH_SCREENED", N))
REPEAT = int(os.environ.get("POWERFIRST_BENCH_REPEAT", 3))


# ------------------------------------------------------------------------------------------ the result


def screen_result(n: int, screened: int):
    """A screen of ``n`` candidates: ``screened`` screened for real, tiled to ``n`` when fewer."""
    import xarray as xr

    from powerfirst.models import siting

    cells = siting.grid_candidates("US-48", 6, max_candidates=400_000)
    step = max(len(cells) // screened, 1)
    cands = siting.annotate(cells.iloc[::step].iloc[:screened].reset_index(drop=True))
    settings = siting.ScreenSettings(tier="training", draws=50, seed=0, top_k=50)
    siting.load_context(settings.curtailment_limit)
    t0 = time.perf_counter()
    ds = siting.screen(cands, settings=settings, chunk=4096)
    t_screen = time.perf_counter() - t0
    if ds.sizes["site"] >= n:
        return ds.isel(site=slice(0, n)), t_screen
    reps = int(np.ceil(n / ds.sizes["site"]))
    rng = np.random.default_rng(0)
    parts = []
    for r in range(reps):
        p = ds.assign_coords(site=[f"{s}~{r}" for s in ds["site"].values.astype(str)])
        if r:
            p["lat"] = p["lat"] + rng.uniform(-0.02, 0.02, p.sizes["site"])
            p["lon"] = p["lon"] + rng.uniform(-0.02, 0.02, p.sizes["site"])
        parts.append(p)
    big = xr.concat(parts, dim="site", data_vars="minimal", coords="minimal", compat="override",
                    join="override").isel(site=slice(0, n))
    score = big["score"].values.astype(float)
    ok = np.isfinite(score) & ~big["excluded"].values.astype(bool)
    sites = big["site"].values.astype(str)
    idx = np.flatnonzero(ok)
    order = idx[np.lexsort((sites[idx], -score[idx]))]
    rank = np.full(score.shape, np.nan)
    rank[order] = np.arange(1, len(order) + 1)
    big["rank"] = ("site", rank, dict(ds["rank"].attrs))
    big.attrs = dict(ds.attrs)
    return big, t_screen


# ------------------------------------------------------------------------------------------ the session


class Patches:
    """The document changes of one widget change, serialised as the server sends them (PATCH-DOC)."""

    def __init__(self, doc):
        self.events = []
        doc.on_change(self.events.append)

    def clear(self):
        self.events.clear()

    def serialise(self) -> int:
        """Bytes of the PATCH-DOC message of the changes so far (header, content and buffers)."""
        from bokeh.protocol import Protocol

        events = [e for e in self.events if hasattr(e, "to_serializable")]
        if not events:
            return 0
        msg = Protocol().create("PATCH-DOC", events)
        return (len(msg.header_json) + len(msg.metadata_json) + len(msg.content_json)
                + sum(memoryview(b.data).nbytes for b in msg.buffers))


def timed(change, patches: Patches) -> tuple[float, int]:
    patches.clear()
    t0 = time.perf_counter()
    change()
    nbytes = patches.serialise()
    return time.perf_counter() - t0, nbytes


def source_rows(widget) -> int:
    """Rows in the data source of a rendered Tabulator (what the browser holds)."""
    from bokeh.models import ColumnDataSource

    rows = 0
    for model, _ in widget._models.values():
        for src in model.select({"type": ColumnDataSource}):
            rows = max(rows, max((len(v) for v in src.data.values()), default=0))
    return rows


def session(ds, counter: dict):
    import panel as pn
    from bokeh.document import Document

    import powerfirst.apps.workbench as wb
    import powerfirst.models.siting as siting_models

    def counting(fn, key):
        def inner(*a, **k):
            counter[key] += 1
            return fn(*a, **k)
        return inner

    wb.screen_sites = counting(wb.screen_sites, "screen_sites")
    siting_models.screen = counting(siting_models.screen, "screen")
    wb._WARM["started"] = True  # the reference layers are read already; no background reader
    app = wb.Workbench()
    app.__panel__()  # no server session: the deferred part runs now
    st = app.state
    snap = st.snapshot()
    t0 = time.perf_counter()
    st.add_run(snap, ds, 0.0)  # the finished run on show: ranking, map options and drill-down drawn
    t_show = time.perf_counter() - t0
    doc = Document()
    for col in (pn.Column(app.map_variable, app.map_pane), pn.Column(app.top_select, app.ranking)):
        doc.add_root(col.get_root(doc))  # in the document: its changes are what a browser would be sent
    return app, doc, t_show


def colour_changes(app, patches: Patches) -> tuple[float, float, float, int]:
    """Best, median and first time [s] of a colour change through the variables (the first includes what a
    server process does once: Datashader's compilation), and the largest patch [byte]."""
    opts = list(app.map_variable.options.values())
    cycle = [v for v in ("score_time_to_power", "hv_distance_km", "score_power", "score") if v in opts]
    times, sizes = [], []
    for _ in range(REPEAT):
        for v in cycle:
            dt, nb = timed(lambda v=v: setattr(app.map_variable, "value", v), patches)
            times.append(dt)
            sizes.append(nb)
    return min(times), float(np.median(times)), times[0], max(sizes)


def ranking_changes(app, patches: Patches) -> dict:
    out = {}
    for label, value in (("top_100", 100), ("all_ranked", 0), ("top_20", 20)):
        best, nb = float("inf"), 0
        for i in range(REPEAT):
            if i:
                app.top_select.value = 50  # so that the next assignment is a change
            dt, nb = timed(lambda value=value: setattr(app.top_select, "value", value), patches)
            best = min(best, dt)
        out[label] = (best, nb, source_rows(app.ranking))
    return out


def baseline_colour_change(app, ds, patches: Patches) -> tuple[float, int]:
    """One colour change with the map as plain points and the outline cache emptied (the old way)."""
    from powerfirst.viz import siting as vs

    mapped = app._map_ds() if hasattr(app, "_map_ds") else ds

    def change():
        clear = getattr(getattr(vs, "_outline_path", None), "cache_clear", None)
        if clear:
            clear()
        app.map_pane.object = vs.ranked_map(mapped, "hv_distance_km", rasterize=False, width=820)

    return timed(change, patches)


def outline_figures(ds) -> dict:
    """Outlines of the map's box: computed and rendered as one line per part, and as one NaN-separated path."""
    import holoviews as hv

    from powerfirst.viz import siting as vs

    df = vs.map_frame(ds, "score")
    lon_r, lat_r = vs._bounds(df)
    t0 = time.perf_counter()
    parts = vs.outline_paths(lon_r, lat_r)
    t_parts = time.perf_counter() - t0
    t_sep, _ = best_of_fn(lambda: hv.render(hv.Path(parts, kdims=["easting", "northing"])))
    one = np.concatenate([a for p in parts for a in (p, np.full((1, 2), np.nan))][:-1])
    t_one, _ = best_of_fn(lambda: hv.render(hv.Path([one], kdims=["easting", "northing"])))
    return {"outline_parts": len(parts), "outlines_computed_s": round(t_parts, 3),
            "outlines_render_separate_lines_s": round(t_sep, 3), "outlines_render_one_path_s": round(t_one, 3)}


def best_of_fn(fn):
    best, out = float("inf"), None
    for _ in range(REPEAT):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


# ------------------------------------------------------------------------------------------ first paint


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def first_paint(timeout: float = 300.0) -> dict:
    """Seconds from starting ``powerfirst serve`` to the first HTTP 200 of /workbench, and of a second
    request; the skeleton's size [byte]."""
    port = free_port()
    exe = str(Path(sys.executable).with_name("powerfirst"))
    t0 = time.perf_counter()
    proc = subprocess.Popen([exe, "serve", "--port", str(port), "--address", "127.0.0.1"], cwd=REPO,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    url = f"http://127.0.0.1:{port}/workbench"
    try:
        first = None
        while time.perf_counter() - t0 < timeout:
            if proc.poll() is not None:
                raise RuntimeError("powerfirst serve exited")
            try:
                with urllib.request.urlopen(url, timeout=timeout) as r:
                    body = r.read()
                    if r.status == 200:
                        first = time.perf_counter() - t0
                        break
            except OSError:
                time.sleep(0.1)
        if first is None:
            raise RuntimeError(f"no answer from {url} within {timeout:.0f} s")
        t1 = time.perf_counter()
        with urllib.request.urlopen(url, timeout=timeout) as r:
            r.read()
        warm = time.perf_counter() - t1
        skeleton = b"loading" in body.lower() or b"pn-loading" in body
    finally:
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(proc.pid, sig)
                proc.wait(20)
                break
            except ProcessLookupError:
                break
            except subprocess.TimeoutExpired:
                continue
    return {"cold_first_paint_s": round(first, 2), "warm_page_s": round(warm, 2), "skeleton_bytes": len(body),
            "skeleton_has_loading_indicator": bool(skeleton)}


# ------------------------------------------------------------------------------------------ main


def main() -> None:
    shared_data()
    t0 = time.perf_counter()
    ds, t_screen = screen_result(N, min(SCREENED, N))
    t_result = time.perf_counter() - t0
    counter = {"screen_sites": 0, "screen": 0}
    app, doc, t_show = session(ds, counter)
    patches = Patches(doc)
    outlines = outline_figures(ds)
    best, median, first, nbytes = colour_changes(app, patches)
    ranking = ranking_changes(app, patches)
    t_rerun, _ = best_of_fn(app.state.run)
    base, base_bytes = baseline_colour_change(app, ds, patches)
    worst_ranking = max(v[0] for v in ranking.values())
    report("workbench", {
        "candidates": int(ds.sizes["site"]),
        "candidates_screened": int(min(SCREENED, N)),
        "result": "screened" if SCREENED >= N else f"{min(SCREENED, N):,} screened, tiled to {N:,}",
        "screen_s": round(t_screen, 1),
        "result_built_s": round(t_result, 1),
        "run_shown_s": round(t_show, 3),
        "colour_change_s": round(best, 3),
        "colour_change_median_s": round(median, 3),
        "colour_change_first_s": round(first, 3),
        "colour_change_patch_bytes": nbytes,
        "ranking_top_100_s": round(ranking["top_100"][0], 3),
        "ranking_all_ranked_s": round(ranking["all_ranked"][0], 3),
        "ranking_top_20_s": round(ranking["top_20"][0], 3),
        "ranking_all_ranked_rows_sent": ranking["all_ranked"][2],
        "ranking_all_ranked_patch_bytes": ranking["all_ranked"][1],
        "ranked_candidates": int(np.isfinite(ds["rank"].values.astype(float)).sum()),
        "rerun_same_scenario_s": round(t_rerun, 4),
        "screens_run_by_widget_changes": counter["screen_sites"] + counter["screen"],
        "baseline_colour_change_points_uncached_s": round(base, 2),
        "baseline_colour_change_patch_bytes": base_bytes,
        "speedup_colour_change_vs_baseline": round(base / best, 1),
        **outlines,
        "under_300_ms": bool(max(best, worst_ranking) < 0.3),
        **first_paint(),
        "peak_rss_mb": round(peak_rss_mb(), 0),
    })


if __name__ == "__main__":
    main()
