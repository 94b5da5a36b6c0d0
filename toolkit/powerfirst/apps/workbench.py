"""The siting workbench: bring sites, set a scenario, run the siting screen, rank, map, drill down,
compare runs and export — one served page with a sidebar and tabs (the landing page of
``powerfirst serve``).

The state of a browser session is a :class:`WorkbenchState`: a
:class:`~powerfirst.scenarios.Scenario` (its widgets are generated from the scenario's parameters,
section by section), the session's sites (an upload or the demo sites), the named runs and the
site on show.  Nothing of it is shared with another session; only results of public inputs (the
demo sites, a site file the server was started with) are cached for every session, by scenario
hash and input hash (:class:`~powerfirst.apps._workbench_state.RunCache`).

Views come from :mod:`powerfirst.viz.siting`.  User text (site names, ids, file names, scenario
names, explanations) reaches the page only as escaped text: tables (Tabulator escapes cell text),
option labels, plot titles drawn on the canvas, or HTML built with :func:`html.escape`.
"""

from __future__ import annotations

import asyncio
import io
import logging
import re
import threading
import time
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pandas as pd
import panel as pn
import param
import xarray as xr

from powerfirst.apps._format import formatted
from powerfirst.apps._template import page
from powerfirst.apps._workbench_share import share_field, sync_location, zarr_download
from powerfirst.apps._workbench_state import (
    LOCKED,
    MAP_VARIABLES,
    SCREEN_LOCK,
    TABS,
    Run,
    RunCache,
    UploadRefused,
    apply_scenario,
    csv_bytes,
    esc,
    excel_bytes,
    moved_ranks,
    parquet_bytes,
    problems_frame,
    ranking_frame,
    read_upload,
    reference_layers,
    run_kpis,
    scenario_from_yaml_bytes,
    screen_sites,
    user_message,
)
from powerfirst.apps._workbench_state import (
    message_html as _message_html,
)
from powerfirst.errors import Problem, ValidationError
from powerfirst.models.siting import Cancelled
from powerfirst.scenarios.spec import SECTIONS, Scenario, check_name

__app__ = ("workbench", "Workbench")
#: the Panel extensions the page loads (FilePond for the sites upload)
__extensions__ = ("tabulator", "filedropper")
__all__ = ["Workbench", "WorkbenchState", "configure", "SERVER", "TABS"]

log = logging.getLogger("powerfirst.workbench")

#: what the server was started with (``powerfirst serve --sites --scenario --max-upload-mb``): read-only
#: for the sessions, which copy from it
SERVER: dict = {"sites": None, "scenario": None, "max_upload_mb": 5.0}

#: the other apps, linked from the sidebar
OTHER_APPS = (("overview", "Overview"), ("headroom", "Headroom"), ("time_to_power", "Time to power"),
              ("flexibility", "Flexibility"), ("demand", "Demand"))

#: sections the siting screen reads (shown first, open)
SCREEN_SECTIONS = ("siting", "headroom", "time_to_power")

#: sites the drill-down selector lists (the best first; any other site opens from a click in the ranking)
MAX_SITE_OPTIONS = 500


def configure(*, sites: str | None = None, scenario: str | None = None, max_upload_mb: float = 5.0) -> None:
    """Set what every new session starts from (called once by ``powerfirst serve``).

    Parameters
    ----------
    sites : path, optional
        A site file (.csv, .geojson, .parquet), read and validated now: every session starts with it.
    scenario : path, optional
        A scenario YAML, validated now (files it names must exist); every session starts with a copy.
    max_upload_mb : float
        Largest upload [MB] (10^6 bytes), > 0 and <= 500.

    Raises
    ------
    ValidationError, FileNotFoundError, ValueError
        A file that is missing or invalid (every problem listed), a limit out of range.
    """
    from powerfirst.io.sites import read_sites

    if not 0 < float(max_upload_mb) <= 500:
        raise ValueError(f"--max-upload-mb: expected 0 < MB <= 500, found {max_upload_mb}")
    if scenario is not None:
        Scenario.from_yaml(scenario)
    if sites is not None:
        read_sites(sites)
    SERVER.update(sites=None if sites is None else str(Path(sites).resolve()),
                  scenario=None if scenario is None else str(Path(scenario).resolve()),
                  max_upload_mb=float(max_upload_mb))


@pn.cache(max_items=4)
def _public_sites(path: str, sha: str) -> xr.Dataset:
    """A site file every session may read (the demo sites, or the server's ``--sites``), read once."""
    from powerfirst.io.sites import read_sites

    ds = read_sites(path)
    ds.attrs["source_sha256"] = sha
    return ds


def _file_sha(path: str) -> str:
    from powerfirst._provenance import file_hash

    return file_hash(path)


_WARM = {"started": False}
_WARM_LOCK = threading.Lock()


def _warm_reference_layers(scenario: Scenario) -> None:
    """Read the screen's reference layers in a background thread, once per server process, after the
    first page has loaded (so the first run starts sooner); a failure shows up again, with its
    message, when a run needs them."""
    with _WARM_LOCK:
        if _WARM["started"]:
            return
        _WARM["started"] = True
    sc = scenario.copy()

    def warm():
        try:
            reference_layers(sc)
        except Exception:  # noqa: BLE001 - a run that needs the layers reports the error to its user
            log.info("reference layers not read in advance", exc_info=True)

    threading.Thread(target=warm, name="powerfirst-warm-siting", daemon=True).start()


class SitesDropper(pn.widgets.FileDropper):
    """The sites upload: Panel's chunked :class:`~panel.widgets.FileDropper` with the server's upload
    limit on both sides.  The browser (FilePond) refuses a file over ``max_file_size`` before sending
    a byte, with its message in the widget; on the server, a file whose chunks add up to more than
    ``max_bytes`` is dropped as it arrives (never buffered whole, whatever a client sends) and named
    in ``oversize``.  Chunks stay far below the websocket's message cap, so no upload closes the
    session."""

    max_bytes = param.Integer(default=5_000_000, bounds=(1, None), doc="upload limit [byte]")
    oversize = param.Tuple(default=("", 0), length=2, doc="(name, bytes received) of the last file refused")

    _rename = {**pn.widgets.FileDropper._rename, "max_bytes": None, "oversize": None}  # server-side only

    def __init__(self, **params):
        super().__init__(**params)
        self._received: dict[str, int] = {}
        self._dropped: set[str] = set()

    def _process_event(self, event):
        if event.event_name == "upload_event":
            data = event.data
            name = data["name"]
            if data["chunk"] == 1:
                self._received[name] = 0
                self._dropped.discard(name)
            elif name in self._dropped:
                return
            self._received[name] = self._received.get(name, 0) + len(data["data"])
            if self._received[name] > self.max_bytes:
                self._file_buffer.pop(name, None)
                self._dropped.add(name)
                self.oversize = (name, self._received.pop(name))
                return
        super()._process_event(event)


# ------------------------------------------------------------------------------------------ state


class WorkbenchState(param.Parameterized):
    """One browser session's state (no panel here): scenario, sites, runs, the site on show.

    ``result`` is the run on show; ``runs`` the named runs of the session (name -> :class:`Run`).
    """

    scenario = param.ClassSelector(class_=Scenario, doc="the scenario: siting, headroom and time-to-power settings")
    sites = param.ClassSelector(class_=xr.Dataset, default=None, allow_None=True, doc="the sites to screen")
    sites_label = param.String(default="no sites yet", doc="where the sites come from (user text: escape it)")
    sites_public = param.Boolean(default=False, doc="sites every session may see (demo or server file)")
    problems = param.List(default=[], item_type=Problem, doc="problems of the last upload")
    result = param.ClassSelector(class_=xr.Dataset, default=None, allow_None=True, doc="the run on show")
    label = param.String(default="workbench", doc="name of the next run, and of the saved scenario (a plain name)")
    run_name = param.String(default="", doc="name of the run on show")
    site = param.String(default="", doc="site of the drill-down")
    runs_changed = param.Event(doc="a run was added or replaced")

    def __init__(self, scenario: Scenario | None = None, **params):
        if scenario is None:
            scenario = Scenario.from_yaml(SERVER["scenario"]) if SERVER["scenario"] else Scenario(name="workbench")
        params.setdefault("label", scenario.name if scenario.name != "scenario" else "workbench")
        super().__init__(scenario=scenario, **params)
        self.runs: OrderedDict[str, Run] = OrderedDict()
        self.cache = RunCache()

    @property
    def max_upload_bytes(self) -> int:
        return int(float(SERVER["max_upload_mb"]) * 1e6)

    # -- sites
    def use_public_sites(self, path: str, label: str) -> None:
        """Sites every session may see: the demo sites or the server's site file."""
        sha = _file_sha(path)
        self.param.update(sites=_public_sites(path, sha), sites_label=label, sites_public=True, problems=[])

    def use_demo_sites(self) -> None:
        from powerfirst.paths import demo_sites_path

        self.use_public_sites(str(demo_sites_path()), "demo sites (illustrative)")

    def initial_sites(self) -> None:
        """The sites a new session starts with: the server's ``--sites``, the preloaded scenario's
        site file, else the demo sites."""
        if SERVER["sites"]:
            self.use_public_sites(SERVER["sites"], f"{Path(SERVER['sites']).name} (server)")
        elif SERVER["scenario"] and self.scenario.sites.source != "demo":
            self.use_public_sites(self.scenario.sites.source, f"{Path(self.scenario.sites.source).name} (server)")
        else:
            self.use_demo_sites()

    def upload(self, name: str | None, data: bytes | None) -> bool:
        """Read an upload; on success it replaces the sites, else the sites stay and ``problems`` lists
        what is wrong.  Returns True on success."""
        up = read_upload(name, data, max_bytes=self.max_upload_bytes)
        if not up.ok:
            self.problems = up.problems
            return False
        self.param.update(sites=up.sites, sites_label=f"{up.name} (upload, {up.sites.sizes['site']:,} sites)",
                          sites_public=False, problems=[])
        return True

    @property
    def sites_hash(self) -> str:
        return str(self.sites.attrs.get("source_sha256", "")) if self.sites is not None else ""

    # -- runs
    def check_run(self) -> None:
        probs = [Problem(p.message, column="name") for p in check_name(self.label, what="name")]
        if self.sites is None:
            probs.append(Problem("no sites: upload a site list or choose the demo sites in the Sites tab"))
        if self.problems:
            probs.append(Problem(f"the upload has {len(self.problems)} problem(s); fix them, or choose the demo sites"))
        if probs:
            raise ValidationError(probs, what="the run")

    def snapshot(self) -> dict:
        """What a run is computed on, taken when it starts: a copy of the scenario and the sites
        (an upload during the run does not change the run)."""
        sc = self.scenario.copy(name=self.label)
        return {"scenario": sc, "sites": self.sites, "sites_hash": self.sites_hash, "sites_label": self.sites_label,
                "public": self.sites_public, "key": (sc.hash, self.sites_hash)}

    def cached(self, snap: dict) -> xr.Dataset | None:
        return self.cache.get(snap["key"], private=not snap["public"])

    def add_run(self, snap: dict, ds: xr.Dataset, seconds: float) -> Run:
        """Keep a finished run under its scenario's name and show it."""
        sc = snap["scenario"]
        self.cache.put(snap["key"], ds, private=not snap["public"])
        run = Run(name=sc.name, scenario_yaml=sc.to_yaml(), scenario_hash=snap["key"][0], sites_hash=snap["sites_hash"],
                  sites_label=snap["sites_label"], result=ds, seconds=seconds)
        self.runs[sc.name] = run
        self.runs.move_to_end(sc.name)
        ranked = self.ranked_sites(ds)
        self.param.update(result=ds, run_name=sc.name, site=ranked[0] if ranked else "")
        self.param.trigger("runs_changed")
        return run

    def run(self) -> Run:
        """Run the screen now, in this thread (the app runs it in a worker thread)."""
        self.check_run()
        snap = self.snapshot()
        ds = self.cached(snap)
        t0 = time.perf_counter()
        if ds is None:
            with SCREEN_LOCK:
                ds = screen_sites(snap["scenario"], snap["sites"])
        return self.add_run(snap, ds, time.perf_counter() - t0)

    @staticmethod
    def ranked_sites(ds: xr.Dataset) -> list[str]:
        rank = ds["rank"].values.astype(float)
        idx = np.flatnonzero(np.isfinite(rank))
        order = list(idx[np.argsort(rank[idx], kind="stable")]) + list(np.flatnonzero(~np.isfinite(rank)))
        sites = ds["site"].values.astype(str)
        return [str(sites[i]) for i in order]

    def runs_frame(self) -> pd.DataFrame:
        rows = [{"run": r.name, "scenario hash": r.scenario_hash, "sites": r.sites_label,
                 "candidates [sites]": int(r.result.sizes["site"]), "time [s]": round(r.seconds, 1)}
                for r in self.runs.values()]
        return pd.DataFrame(rows, columns=["run", "scenario hash", "sites", "candidates [sites]", "time [s]"])


# ------------------------------------------------------------------------------------------ helpers


def _unit(doc: str) -> str:
    m = re.search(r"\[([^\]]+)\]", doc or "")
    return f" [{m.group(1)}]" if m else ""


def _label(name: str, doc: str) -> str:
    unit = _unit(doc)
    for suffix in ("_mw", "_km", "_mwh", "_hours"):
        if unit and name.endswith(suffix):
            name = name[: -len(suffix)]
    return name.replace("_", " ").capitalize().replace(" mw", " MW") + unit


def section_widgets(section, key: str) -> pn.Param:
    """The widgets of one scenario section, generated from its parameters (label with the unit of
    the parameter's doc, the doc as tooltip); :data:`LOCKED` settings are shown disabled."""
    widgets = {}
    for name in section.settings():
        p = section.param[name]
        spec = {"name": _label(name, p.doc or "")}
        lo, hi = getattr(p, "bounds", None) or (None, None)
        wide = lo is None or hi is None or hi - lo > 1000
        if isinstance(p, param.Integer) and (p.allow_None or wide):
            spec["type"] = pn.widgets.IntInput
        elif isinstance(p, param.Number) and not isinstance(p, param.Integer) and (p.allow_None or wide):
            spec["type"] = pn.widgets.FloatInput
        if name in LOCKED.get(key, ()):
            spec["disabled"] = True
        widgets[name] = spec
    return pn.Param(section, parameters=section.settings(), widgets=widgets, show_name=False,
                    sizing_mode="stretch_width")


def _ttp_frame(ds: xr.Dataset, site: str) -> pd.DataFrame:
    """Time to power of one site by path: P10/P50/P90 months to first power [month], MW-months by the
    horizon [MW month], available, why not."""
    one = ds.sel(site=site)
    paths = [str(p) for p in ds["path"].values]
    df = pd.DataFrame({
        "path": paths,
        "P10 [month]": np.round(one["ttp_p10"].values.astype(float), 1),
        "P50 [month]": np.round(one["ttp_p50"].values.astype(float), 1),
        "P90 [month]": np.round(one["ttp_p90"].values.astype(float), 1),
        f"MW-months within {ds.attrs.get('horizon_months', 60):g} months [MW month]":
            np.round(one["ttp_mw_months"].values.astype(float), 0),
        "available": one["ttp_available"].values.astype(bool),
        "why not": one["ttp_unavailable_reason"].values.astype(str),
    })
    df["best"] = df["path"] == str(one["best_path"].values)
    return df


def _ttp_chart(ds: xr.Dataset, site: str):
    """P10–P90 bars and the P50 of each path's months to first power [month]."""
    import holoviews as hv

    df = _ttp_frame(ds, site)
    ok = df[df["available"] & np.isfinite(df["P50 [month]"])]
    seg = hv.Segments(ok, kdims=[hv.Dimension("P10 [month]", label="months to first power [month]"), "path",
                                 "P90 [month]", "path"]).opts(line_width=8, color="#9ecae1")
    pts = hv.Scatter(ok, kdims=["P50 [month]"], vdims=["path"]).opts(color="#08519c", size=10, tools=["hover"])
    return (seg * pts).opts(title=f"Time to power by path: P10–P90, dot P50 (site {site})", height=80 + 40 * len(ok),
                            responsive=True, xlabel="months from the project start to first power [month]",
                            ylabel="", show_grid=True, fontsize={"title": "10pt"})


def _with_ttp_best(ds: xr.Dataset) -> xr.Dataset:
    """``ds`` with ``ttp_p50_best``: the P50 months to first power of each site's best path [month]."""
    j = pd.Index(ds["path"].values.astype(str)).get_indexer(ds["best_path"].values.astype(str))
    p50 = np.asarray(ds["ttp_p50"].transpose("site", "path").values, float)
    v = np.where(j >= 0, p50[np.arange(p50.shape[0]), np.clip(j, 0, None)], np.nan)
    return ds.assign(ttp_p50_best=("site", v, {"units": "month", "long_name": "P50 months to first power, best path"}))


# ------------------------------------------------------------------------------------------ the app


class Workbench(pn.viewable.Viewer):
    """The siting workbench (served at ``/workbench``, or shown inline in a notebook)."""

    def __init__(self, state: WorkbenchState | None = None, **params):
        super().__init__(**params)
        self.state = s = state if state is not None else WorkbenchState()
        self._received_files: dict[str, dict] = {}  # the files each upload widget has given, by widget name
        self._loaded = False
        # messages
        self.message = pn.pane.HTML("", sizing_mode="stretch_width", name="message")
        self.sites_note = pn.pane.HTML("", sizing_mode="stretch_width")
        # Scenario tab
        limit = s.max_upload_bytes
        self.yaml_input = SitesDropper(max_bytes=min(limit, 1_000_000), max_file_size=f"{min(limit, 1_000_000) / 1000:g}KB",
                                       chunk_size=2**20, multiple=False, previews=[], layout="compact",
                                       name="Load scenario YAML", width=360, css_classes=["pf-yaml-upload"])
        self.yaml_input.param.watch(self._on_yaml, "value")
        self.yaml_input.param.watch(self._on_oversize, "oversize")
        self.yaml_download = pn.widgets.FileDownload(callback=self._yaml_file, filename="scenario.yaml",
                                                     label="Save scenario YAML", button_type="default")
        # Sites tab
        # the type is sniffed from the bytes on the server (a browser's MIME type of .geojson is empty)
        self.upload_input = SitesDropper(max_bytes=limit, max_file_size=f"{limit / 1000:g}KB", chunk_size=min(limit, 2**20),
                                         multiple=False, previews=[], layout="compact", name="Upload sites", width=360,
                                         css_classes=["pf-sites-upload"])
        self.upload_input.param.watch(self._on_upload, "value")
        self.upload_input.param.watch(self._on_oversize, "oversize")
        self.demo_button = pn.widgets.Button(name="Use the demo sites", button_type="default")
        self.demo_button.on_click(self._on_demo)
        self.problems_table = pn.widgets.Tabulator(problems_frame([]), show_index=False, disabled=True,
                                                   sizing_mode="stretch_width", name="problems", height=220,
                                                   visible=False)
        self.sites_table = pn.widgets.Tabulator(pd.DataFrame(), show_index=False, disabled=True, pagination="remote",
                                                page_size=15, sizing_mode="stretch_width", name="sites")
        # Run tab
        self.run_button = pn.widgets.Button(name="Run the siting screen", button_type="primary")
        self.run_button.on_click(self._on_run)
        self.cancel_button = pn.widgets.Button(name="Cancel", button_type="warning", disabled=True)
        self.cancel_button.on_click(self._on_cancel)
        self._cancel: threading.Event | None = None  # set to stop the run going (None: no run going)
        self.progress = pn.indicators.Progress(active=False, value=-1, sizing_mode="stretch_width", visible=False)
        self.stage = pn.pane.HTML("", sizing_mode="stretch_width")
        self.runs_table = pn.widgets.Tabulator(s.runs_frame(), show_index=False, disabled=True,
                                               sizing_mode="stretch_width")
        # Ranking tab
        self.top_select = pn.widgets.Select(name="Sites shown", options={"top 20": 20, "top 50": 50,
                                                                         "top 100": 100, "all ranked": 0}, value=20,
                                            width=160)
        # remote pagination: the browser holds one page of the ranking, not every ranked candidate
        self.ranking = pn.widgets.Tabulator(pd.DataFrame(), show_index=False, disabled=True, pagination="remote",
                                            page_size=20, sizing_mode="stretch_width", selectable=1,
                                            header_filters=False, name="ranking")
        self.ranking.on_click(self._on_ranking_click)
        self.top_select.param.watch(lambda e: self._show_ranking(), "value")
        # Map tab
        self.map_variable = pn.widgets.Select(name="Colour by", options={}, width=320)
        self.map_variable.param.watch(lambda e: self._show_map(), "value")
        self.map_pane = pn.pane.HoloViews(None, sizing_mode="stretch_width", min_height=400)
        from powerfirst.apps._workbench_map import MapPick

        self.map_pick = MapPick(self)  # a click opens the Drill-down, a box filters the Ranking
        # Drill-down tab
        self.site_select = pn.widgets.Select(name="Site", options={}, width=420)
        self.site_select.param.watch(self._on_site, "value")
        self.breakdown = pn.pane.HoloViews(None, sizing_mode="stretch_width")
        self.explain_table = pn.widgets.Tabulator(pd.DataFrame(), show_index=False, disabled=True,
                                                  sizing_mode="stretch_width")
        self.site_text = pn.pane.HTML("", sizing_mode="stretch_width", name="site-text")
        self.ttp_table = pn.widgets.Tabulator(pd.DataFrame(), show_index=False, disabled=True,
                                              sizing_mode="stretch_width")
        self.ttp_pane = pn.pane.HoloViews(None, sizing_mode="stretch_width")
        # Compare tab
        self.compare_select = pn.widgets.MultiChoice(name="Runs to compare (2 to 4)", options=[], max_items=4,
                                                     sizing_mode="stretch_width")
        self.compare_select.param.watch(lambda e: self._show_compare(), "value")
        self.kpi_table = pn.widgets.Tabulator(pd.DataFrame(), show_index=False, disabled=True,
                                              sizing_mode="stretch_width")
        self.moved_table = pn.widgets.Tabulator(pd.DataFrame(), show_index=False, disabled=True, pagination="remote",
                                                page_size=20, sizing_mode="stretch_width")
        self.compare_note = pn.pane.HTML("", sizing_mode="stretch_width")
        # Export tab
        self.downloads = {
            "csv": pn.widgets.FileDownload(callback=lambda: self._export("csv"), filename="ranking.csv",
                                           label="Ranking as CSV", disabled=True),
            "xlsx": pn.widgets.FileDownload(callback=lambda: self._export("xlsx"), filename="ranking.xlsx",
                                            label="Ranking as Excel", disabled=True),
            "parquet": pn.widgets.FileDownload(callback=lambda: self._export("parquet"), filename="ranking.parquet",
                                               label="Ranking as Parquet", disabled=True),
            "yaml": pn.widgets.FileDownload(callback=self._run_yaml_file, filename="scenario.yaml",
                                            label="Scenario of the run (YAML)", disabled=True),
            "zarr": pn.widgets.FileDownload(callback=lambda: zarr_download(self), filename="results.zarr.zip",
                                            label="Full results (zipped Zarr)", disabled=True),
        }
        self.share_field = share_field()
        self.location_sync = None
        for table in (self.sites_table, self.runs_table, self.ranking, self.explain_table, self.ttp_table,
                      self.kpi_table, self.moved_table):
            formatted(table)
        self._mapped: tuple | None = None  # (run on show, the run with ttp_p50_best) for the map
        self._live: tuple | None = None  # (the run mapped, recolour) of a rasterised map drawn once per run
        self._ranked: tuple | None = None  # (run on show, its whole ranking table)
        self.tabs = pn.Tabs(*[(name, pn.Column(sizing_mode="stretch_width")) for name in TABS], dynamic=True,
                            sizing_mode="stretch_width")
        s.param.watch(lambda *e: self._show_sites(), ["sites", "sites_label", "problems"])
        s.param.watch(lambda *e: self._show_result(), ["result"])
        s.param.watch(lambda *e: self._show_site(), ["site"])
        s.param.watch(lambda *e: self._show_runs(), ["runs_changed"])
        self._template = None

    # ---------------------------------------------------------------- layout
    def _fill_tabs(self) -> None:
        s = self.state
        top = pn.Column(pn.widgets.TextInput.from_param(s.param.label, name="Scenario name (names the run)",
                                                        css_classes=["pf-run-name"]),
                        pn.Param(s.scenario, parameters=["description", "seed"], show_name=False,
                                 widgets={"seed": {"type": pn.widgets.IntInput, "name": "Seed"}}))
        keys = (*SCREEN_SECTIONS, *[k for k in SECTIONS if k not in SCREEN_SECTIONS])
        # one section's widgets at a time, each built when first chosen (a page of all eight is slow)
        built = {keys[0]: section_widgets(getattr(s.scenario, keys[0]), keys[0])}
        self.section_choice = pn.widgets.RadioButtonGroup(
            name="Section", options={(f"{k} (read by the screen)" if k in SCREEN_SECTIONS else k): k for k in keys},
            value=keys[0], button_type="default")
        self.section_pane = pn.Column(built[keys[0]], sizing_mode="stretch_width")

        def choose(event, built=built):
            k = event.new
            if k not in built:
                built[k] = section_widgets(getattr(s.scenario, k), k)
            self.section_pane.objects = [built[k]]

        self.section_choice.param.watch(choose, "value")
        scen = [pn.pane.Markdown("Every setting of the scenario, by section. The screen reads the **siting** "
                                 "section, `headroom.flexible_limit` and `time_to_power.horizon`; greyed settings name "
                                 "files on the server or other candidate sources and are set when the server starts."),
                top, pn.Row(self.yaml_input, self.yaml_download), self.section_choice, self.section_pane]
        sites = [pn.pane.Markdown("Upload a site list (CSV, GeoJSON or Parquet, at most "
                                  f"{SERVER['max_upload_mb']:g} MB; columns `site_id, name, lat, lon, country, ba, "
                                  "target_mw` as in `powerfirst validate`) or use the demo sites. Every problem of an "
                                  "upload is listed below before anything runs."),
                 pn.Row(self.upload_input, self.demo_button), self.sites_note, self.problems_table, self.sites_table]
        run = [pn.pane.Markdown("Runs the siting screen of the scenario on the sites. Each run is kept under the "
                                "scenario's name (change the name to keep another run for the Compare tab); a run "
                                "already computed for the same scenario and sites is reused."),
               pn.Row(self.run_button, self.cancel_button), self.progress, self.stage, self.runs_table]
        ranking = [self.top_select, self.map_pick.panel, self.ranking]
        mapc = [self.map_variable, self.map_pick.hint, self.map_pane]
        drill = [self.site_select, self.site_text, self.breakdown, self.explain_table, self.ttp_pane, self.ttp_table]
        compare = [self.compare_select, self.compare_note, self.kpi_table, self.moved_table]
        export = [pn.pane.Markdown("Every candidate of the run on show, best first (the columns of "
                                   "`powerfirst screen --format csv`). Text that a spreadsheet would run as a formula "
                                   "is written with a leading `'`."), *self.downloads.values(),
                  self.share_field]
        from powerfirst.apps._workbench_network import NetworkTab

        self.network = NetworkTab(self)  # follows the run on show (plans from its candidates)
        for col, objs in zip(self.tabs, (scen, sites, run, ranking, mapc, drill, compare, self.network.objects(),
                                         export), strict=True):
            col.objects = objs

    def __panel__(self):
        if self._template is not None:
            return self._template
        links = " · ".join(f'<a href="./{slug}">{esc(title)}</a>' for slug, title in OTHER_APPS)
        sidebar = pn.Column(
            pn.pane.Markdown("## Siting workbench\nBring sites, set the scenario, run the screen, then rank, map, "
                             "drill down, compare and export."),
            self.sites_note, pn.pane.HTML(f"<p>Single-model dashboards: {links}</p>"), width=320)
        user = pn.state.user if pn.state.curdoc is not None else None
        if user:  # a server with log-in (--basic-auth or --oauth-provider): who this session belongs to
            sidebar.append(pn.pane.HTML(f'<p class="pf-user">Signed in as <b>{esc(user)}</b> · '
                                        '<a href="./logout">log out</a></p>'))
        self.main = pn.Column(self.message, self.tabs, sizing_mode="stretch_width", loading=True)
        self._template = page("powerfirst · Siting workbench", sidebar=[sidebar], main=[self.main])
        if pn.state.curdoc is not None and pn.state.curdoc.session_context is not None:
            pn.state.onload(self._load)
        else:
            self._load()
        return self._template

    def _load(self) -> None:
        """The heavy part of the first paint, after the page shows (``pn.state.onload``)."""
        if self._loaded:
            return
        try:
            self._fill_tabs()
            if self.state.sites is None:
                self.state.initial_sites()
            else:
                self._show_sites()
            if self.state.result is not None:
                self._show_result()
            self.location_sync = sync_location(self, field=self.share_field)
            self._loaded = True
            _warm_reference_layers(self.state.scenario)
        except Exception as exc:  # noqa: BLE001 - shown with a reference id, traceback in the log
            self._error(exc, "loading the workbench")
        finally:
            self.main.loading = False

    # ---------------------------------------------------------------- messages
    def _error(self, exc: BaseException, what: str) -> None:
        msg, _ = user_message(exc, what)
        self.message.object = _message_html(msg, "error")

    def _info(self, text: str, kind: str = "info") -> None:
        self.message.object = _message_html(text, kind) if text else ""

    # ---------------------------------------------------------------- scenario
    def _on_yaml(self, event) -> None:
        got = self._newest_file(event)
        if got is None:
            return
        name, data = got
        try:
            sc = scenario_from_yaml_bytes(data, name or "scenario.yaml", max_bytes=self.yaml_input.max_bytes)
            apply_scenario(self.state.scenario, sc)
            self.state.label = sc.name
            self._info(f"Scenario {sc.name} loaded from {read_name(name)}.", "ok")
        except Exception as exc:  # noqa: BLE001
            self._error(exc, "loading the scenario")

    def _yaml_file(self):
        label = self.state.label if not check_name(self.state.label) else "scenario"
        self.yaml_download.filename = f"{label}.yaml"
        return io.BytesIO(self.state.scenario.copy(name=label).to_yaml().encode("utf-8"))

    # ---------------------------------------------------------------- sites
    def _newest_file(self, event) -> tuple[str, bytes] | None:
        """(name, bytes) of the file a :class:`SitesDropper` has just received, None when a file was only
        removed from it.  FileDropper gives text/* files as str when they are UTF-8: the same bytes back."""
        seen = self._received_files.setdefault(event.obj.name, {})
        files = event.new or {}
        new = [n for n, v in files.items() if seen.get(n) is not v]
        self._received_files[event.obj.name] = dict(files)
        if not new:
            return None
        data = files[new[-1]]
        return new[-1], data.encode("utf-8") if isinstance(data, str) else data

    def _on_upload(self, event) -> None:
        got = self._newest_file(event)
        if got is None:  # a file removed from the widget: the sites stay
            return
        name, data = got
        try:
            ok = self.state.upload(name, data)
            if ok:
                self._info(f"{self.state.sites_label}: no problems found.", "ok")
            else:
                n = len(self.state.problems)
                refused = n == 1 and self.state.problems[0].message.startswith("refused:")
                self._info(self.state.problems[0].message if refused else
                           f"{n} problem{'s' if n != 1 else ''} in {read_name(name)}: "
                           "fix them and upload again (nothing was run; the previous sites stay).", "error")
        except Exception as exc:  # noqa: BLE001
            self._error(exc, "reading the upload")

    def _on_oversize(self, event) -> None:
        name, size = event.new
        self._info(f"{read_name(name)}: {size / 1e6:.2f} MB received and more coming is over the upload limit "
                   f"of {event.obj.max_bytes / 1e6:g} MB; the upload was stopped (nothing was run; the "
                   "previous sites stay).", "error")

    def _on_demo(self, event=None) -> None:
        try:
            self.state.use_demo_sites()
            self._info("Demo sites chosen (illustrative).", "ok")
        except Exception as exc:  # noqa: BLE001
            self._error(exc, "reading the demo sites")

    def _show_sites(self) -> None:
        s = self.state
        note = f"<p><b>Sites:</b> {esc(s.sites_label)}" + (
            f" ({s.sites.sizes['site']:,} sites)" if s.sites is not None and s.sites_public else "") + "</p>"
        if s.sites_public and "demo" in s.sites_label:
            note += "<p>Demo sites are illustrative.</p>"
        self.sites_note.object = note
        if s.problems:
            self.problems_table.value = problems_frame(s.problems)
            self.problems_table.visible = True
        else:
            self.problems_table.visible = False
        if s.sites is not None:
            from powerfirst.io.sites import sites_to_frame

            df = sites_to_frame(s.sites)
            cols = [c for c in ("site_id", "name", "lat", "lon", "country", "ba", "target_mw", "land_status")
                    if c in df.columns]
            self.sites_table.value = df[cols].rename(columns={"lat": "lat [degrees_north]", "lon": "lon [degrees_east]",
                                                              "target_mw": "target [MW]"})

    # ---------------------------------------------------------------- run
    async def _on_run(self, event=None) -> None:
        s = self.state
        cancel = self._cancel = threading.Event()
        self.run_button.disabled = True
        self.cancel_button.disabled = False
        self.progress.value = -1
        self.progress.visible, self.progress.active = True, True
        try:
            s.check_run()
            snap = s.snapshot()
            sc = snap["scenario"]
            ds = s.cached(snap)
            t0 = time.perf_counter()
            loop = asyncio.get_running_loop()
            if ds is None:
                waiting = False
                while not SCREEN_LOCK.acquire(blocking=False):  # a cancel while waiting frees the queue place
                    if not waiting:
                        self.stage.object = _message_html("Waiting for another run on this server to finish …")
                        waiting = True
                    if cancel.is_set():
                        raise Cancelled("cancelled while waiting for another run")
                    await asyncio.sleep(0.2)
                try:
                    self.stage.object = _message_html("Stage 1 of 3: reading the reference layers (grid, plants, "
                                                      "population, water, hazards; once per server) …")
                    await loop.run_in_executor(None, reference_layers, sc)
                    if cancel.is_set():
                        raise Cancelled("cancelled after reading the reference layers")
                    ds = await self._screen(loop, cancel, sc, snap["sites"])
                finally:
                    SCREEN_LOCK.release()
            self.stage.object = _message_html("Stage 3 of 3: drawing the ranking, map and drill-down …")
            run = s.add_run(snap, ds, time.perf_counter() - t0)
            self.stage.object = _message_html(f"Run {run.name} done in {run.seconds:.1f} s: "
                                              f"{ds.sizes['site']:,} candidates, {int(ds['excluded'].sum()):,} "
                                              "excluded.", "ok")
            self._info("")
        except Cancelled:
            shown = f" (run {s.run_name} is still on show)" if s.run_name else ""
            self.stage.object = _message_html(f"Run cancelled: nothing was changed{shown}.")
        except Exception as exc:  # noqa: BLE001
            self.stage.object = ""
            self._error(exc, "running the screen")
        finally:
            self._cancel = None
            self.run_button.disabled = False
            self.cancel_button.disabled = True
            self.progress.active, self.progress.visible = False, False

    async def _screen(self, loop, cancel: threading.Event, sc: Scenario, sites: xr.Dataset) -> xr.Dataset:
        """The screen in a worker thread; the stage line follows its blocks, and ``cancel`` stops it at
        the next batch or block (:class:`~powerfirst.models.siting.Cancelled`)."""
        import functools

        seen = {"stage": "", "done": 0, "total": 0}

        def should_stop(stage: str, done: int, total: int) -> bool:  # called in the worker thread
            seen.update(stage=stage, done=done, total=total)
            return cancel.is_set()

        n = sites.sizes["site"]
        head = f"Stage 2 of 3: screening {n:,} sites (layers, time to power, {sc.siting.draws} Monte Carlo draws)"
        self.stage.object = _message_html(head + " …")
        fut = loop.run_in_executor(None, functools.partial(screen_sites, sc, sites, should_stop=should_stop))
        shown = None
        while True:
            done, _ = await asyncio.wait({fut}, timeout=0.25)
            if done:
                return fut.result()
            now = (seen["stage"], seen["done"], seen["total"])
            if now == shown or not now[2] or cancel.is_set():
                continue
            shown = now
            stage, k, total = now
            what = "time-to-power profiles, batch" if stage == "profiles" else "block"
            self.stage.object = _message_html(f"{head}: {what} {min(k + 1, total)} of {total} …")
            if stage == "blocks":
                self.progress.value = int(100 * k / total)

    def _on_cancel(self, event=None) -> None:
        """Stop the run going: the screen stops at its next batch or block and the run on show stays."""
        if self._cancel is not None and not self._cancel.is_set():
            self._cancel.set()
            self.cancel_button.disabled = True
            self.stage.object = _message_html("Cancelling: the screen stops at its next block …")

    def _show_runs(self) -> None:
        self.runs_table.value = self.state.runs_frame()
        names = list(self.state.runs)
        self.compare_select.options = names
        if len(names) >= 2 and len(self.compare_select.value) < 2:
            self.compare_select.value = names[-2:]
        else:
            self._show_compare()

    # ---------------------------------------------------------------- results
    def _show_result(self) -> None:
        ds = self.state.result
        if ds is None:
            return
        for d in self.downloads.values():
            d.disabled = False
        try:
            self.map_pick.drop()  # a box drawn on the previous run
            self._show_ranking()
            present = [v for v in MAP_VARIABLES if v in ds or v == "ttp_p50_best"]
            present[1:1] = [f"score_{p}" for p in ds["pillar"].values.astype(str)]
            from powerfirst.viz.siting import short_name

            opts = {}
            for v in present:
                da = ds[v] if v in ds else None
                units = (da.attrs.get("units", "1") if da is not None else "month") or "1"
                label = {"ttp_p50_best": "P50 to first power, best path",
                         "p_top_k": f"P(top {ds.attrs.get('top_k', 'k')})"}.get(v) or short_name(v)
                opts[f"{label} [{units}]"] = v
            keep = self.map_variable.value if self.map_variable.value in opts.values() else "score"
            self.map_variable.options = opts
            self.map_variable.value = keep
            self._show_map()
            ranked = self.state.ranked_sites(ds)
            names = ds["name"].values.astype(str) if "name" in ds else ds["site"].values.astype(str)
            rank = dict(zip(ds["site"].values.astype(str), ds["rank"].values.astype(float), strict=True))
            label = dict(zip(ds["site"].values.astype(str), names, strict=True))
            self.site_select.options = {
                (f"{int(rank[sid])}. " if np.isfinite(rank[sid]) else "excluded: ") + f"{sid} · {label[sid]}"[:120]: sid
                for sid in ranked[:MAX_SITE_OPTIONS]}
            if self.state.site in ranked[:MAX_SITE_OPTIONS]:
                self.site_select.value = self.state.site
            self._show_site()
        except Exception as exc:  # noqa: BLE001
            self._error(exc, "drawing the results")

    def _show_ranking(self) -> None:
        ds = self.state.result
        if ds is None:
            return
        from powerfirst.viz.siting import top_table

        n_ranked = int(np.isfinite(ds["rank"].values.astype(float)).sum())
        n = int(self.top_select.value) or n_ranked
        if n_ranked == 0:
            self.ranking.value = pd.DataFrame({"note": ["every candidate is excluded or unscored"]})
            return
        # the whole ranking is built once per run; "Sites shown" takes its first rows
        if self._ranked is None or self._ranked[0] is not ds:
            self._ranked = (ds, top_table(ds, n_ranked))
        self.ranking.value = self.map_pick.rows(ds, self._ranked[1], n)  # the map's box selection, if any

    def _show_map(self) -> None:
        """The map of the run on show in the colour chosen. Above RASTERIZE_ABOVE coloured candidates the map
        is rasterised and drawn once per run; a colour change then re-aggregates it in place
        (:func:`~powerfirst.viz.siting.recolourable_map`) instead of sending a new plot."""
        ds = self.state.result
        if ds is None or not self.map_variable.value:
            return
        from powerfirst.viz.siting import RASTERIZE_ABOVE, ranked_map, recolourable_map

        variable = self.map_variable.value
        try:
            mapped = self._map_ds()
            if int((~mapped["excluded"].values.astype(bool)).sum()) <= RASTERIZE_ABOVE:
                self._live = None
                self.map_pane.object = ranked_map(mapped, variable, width=820, **self.map_pick.callbacks())
            elif self._live is not None and self._live[0] is mapped:
                self._live[1](variable)
            else:
                obj, recolour = recolourable_map(mapped, variable, width=820, **self.map_pick.callbacks())
                self._live = (mapped, recolour)
                self.map_pane.object = obj
        except Exception as exc:  # noqa: BLE001
            self._error(exc, "drawing the map")

    def _map_ds(self) -> xr.Dataset:
        """The run on show with ``ttp_p50_best`` (computed once per run, not at every colour change)."""
        ds = self.state.result
        if self._mapped is None or self._mapped[0] is not ds:
            self._mapped = (ds, _with_ttp_best(ds))
        return self._mapped[1]

    def _on_ranking_click(self, event) -> None:
        df = self.ranking.value
        if df is None or "site" not in df.columns or event.row is None:
            return
        try:
            # Panel gives the clicked row as a position in the table's value (whatever the sort or page)
            self.state.site = str(df.iloc[event.row]["site"])
        except (IndexError, KeyError):
            return
        self.tabs.active = TABS.index("Drill-down")

    def _on_site(self, event) -> None:
        if event.new and event.new != self.state.site:
            self.state.site = event.new

    def _show_site(self) -> None:
        ds, site = self.state.result, self.state.site
        if ds is None or not site or site not in set(ds["site"].values.astype(str)):
            return
        try:
            from powerfirst.models.siting import explain
            from powerfirst.viz.siting import pillar_breakdown

            opts = self.site_select.options
            if site not in opts.values():
                opts = {**opts, f"{site} · {str(ds['name'].sel(site=site).values) if 'name' in ds else site}"[:120]: site}
                self.site_select.options = opts
            if self.site_select.value != site:
                self.site_select.value = site
            one = ds.sel(site=site)
            rank = float(one["rank"])
            name = str(one["name"].values) if "name" in ds else site
            facts = [("Site", site), ("Name", name), ("BA", str(one["ba"].values) if "ba" in ds else ""),
                     ("State", str(one["state"].values) if "state" in ds else ""),
                     ("Score [1]", f"{float(one['score']):.3f}" if np.isfinite(float(one["score"])) else "excluded"),
                     ("Rank", f"{int(rank)} of {int(np.isfinite(ds['rank'].values.astype(float)).sum())}"
                      if np.isfinite(rank) else "not ranked"),
                     ("Best path", str(one["best_path"].values)),
                     ("Explanation", str(one["explanation"].values)),
                     ("Missing layers", str(one["flags"].values) or "none"),
                     ("Excluded because", str(one["exclusion_reason"].values) or "not excluded")]
            rows = "".join(f"<tr><th style='text-align:left;padding-right:1em'>{esc(k)}</th><td>{esc(v)}</td></tr>"
                           for k, v in facts)
            self.site_text.object = f"<table class='pf-site'>{rows}</table>"
            self.breakdown.object = pillar_breakdown(ds, site, width=760)
            ex = explain(ds, site).reset_index()
            ex.columns = ["pillar", "score [1]", "weight [1]", "contribution [1]"]
            self.explain_table.value = ex.round(3)
            self.ttp_table.value = _ttp_frame(ds, site)
            self.ttp_pane.object = _ttp_chart(ds, site)
        except Exception as exc:  # noqa: BLE001
            self._error(exc, "drawing the drill-down")

    # ---------------------------------------------------------------- compare
    def _show_compare(self) -> None:
        names = [n for n in self.compare_select.value if n in self.state.runs]
        if len(names) < 2:
            self.compare_note.object = _message_html("Keep two to four runs (change the scenario name between runs) "
                                                     "and choose them here.")
            self.kpi_table.value = pd.DataFrame()
            self.moved_table.value = pd.DataFrame()
            return
        try:
            runs = {n: self.state.runs[n].result for n in names}
            self.compare_note.object = ""
            self.kpi_table.value = run_kpis(runs)
            self.moved_table.value = moved_ranks(runs)
        except Exception as exc:  # noqa: BLE001
            self._error(exc, "comparing the runs")

    # ---------------------------------------------------------------- export
    def _export(self, kind: str):
        ds = self.state.result
        try:
            if ds is None:
                raise UploadRefused("no run yet: run the screen first")
            df = ranking_frame(ds)
            name = self.state.run_name or "ranking"
            self.downloads[kind].filename = f"{name}-ranking.{kind}"
            if kind == "csv":
                return io.BytesIO(csv_bytes(df))
            if kind == "xlsx":
                run = self.state.runs.get(name)
                about = {"run": name, "scenario hash": run.scenario_hash if run else "",
                         "sites": run.sites_label if run else "", "tier": ds.attrs.get("tier", ""),
                         "draws": ds.attrs.get("draws", ""),
                         "scorecard": "; ".join(Path(f).name for f in str(ds.attrs.get("scorecard", "")).split("; ") if f)}
                return io.BytesIO(excel_bytes(df, about))
            return io.BytesIO(parquet_bytes(df))
        except Exception as exc:  # noqa: BLE001
            self._error(exc, f"exporting the {kind} file")
            return io.BytesIO(b"")

    def _run_yaml_file(self):
        run = self.state.runs.get(self.state.run_name)
        text = run.scenario_yaml if run else self.state.scenario.to_yaml()
        self.downloads["yaml"].filename = f"{self.state.run_name or 'scenario'}.yaml"
        return io.BytesIO(text.encode("utf-8"))


def read_name(name: str | None) -> str:
    """An uploaded file's shown name (escaped later where rendered)."""
    from powerfirst.apps._workbench_state import _display_name

    return _display_name(name)
