"""Sharing a workbench run: the full results as a zipped Zarr store (read back identical, text kept as
text, no server path), and links that restore the scenario and the view — encoded as differences from
the default scenario, every bad parameter refused with its name, applied to a workbench and kept in
step with the page's URL; and, once wired, the same in headless Chromium on a served workbench."""

from __future__ import annotations

import base64
import io
import json
import os
import re
import subprocess
import sys
import time
import urllib.parse
import urllib.request
import zipfile
import zlib

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from powerfirst.apps._workbench_share import (
    MAX_PARAM_CHARS,
    MAX_SCENARIO_JSON_BYTES,
    LinkRefused,
    SharedView,
    decode_link,
    decode_scenario,
    encode_link,
    encode_scenario,
    open_zarr_zip,
    scenario_changes,
    scenario_from_changes,
    share_field,
    share_link,
    sync_location,
    without_server_paths,
    zarr_zip_bytes,
)
from powerfirst.io.store import MARKER
from powerfirst.scenarios.spec import Scenario

XSS = "<img src=x onerror=alert(1)>"


# ------------------------------------------------------------------------------------ zipped Zarr


def result_like(n: int = 6, draws: int = 5) -> xr.Dataset:
    """A small Dataset with the kinds of variable a screen returns: floats with NaN, integers, booleans,
    object and fixed-width text (user names with HTML and a formula), a 2-D and a 3-D variable, times,
    units and long names on every variable, and Dataset attributes."""
    rng = np.random.default_rng(3)
    sites = np.array([f"S-{i}" for i in range(n)], dtype=object)
    names = np.array([XSS, "=cmd|' /C calc'!A0", "Zürich é", "", "a, b; c", "x" * 300][:n], dtype=object)
    score = rng.uniform(0, 1, n)
    score[2] = np.nan
    ds = xr.Dataset(
        {
            "name": ("site", names, {"long_name": "site name"}),
            "best_path": ("site", np.array(["grid_firm", "colocation"] * (n // 2), dtype="<U16"),
                          {"long_name": "best path"}),
            "score": ("site", score, {"units": "1", "long_name": "total score"}),
            "rank": ("site", np.arange(1.0, n + 1), {"units": "1", "long_name": "rank"}),
            "excluded": ("site", np.array([False, True] * (n // 2)), {"long_name": "excluded"}),
            "n_paths": ("site", np.arange(n, dtype=np.int64), {"units": "1", "long_name": "paths"}),
            "ttp_p50": (("site", "path"), rng.uniform(10, 60, (n, 2)), {"units": "month", "long_name": "P50"}),
            "score_draws": (("site", "draw"), rng.uniform(0, 1, (n, draws)).astype("float32"),
                            {"units": "1", "long_name": "score of each draw"}),
            "start": ("site", pd.date_range("2027-01-01", periods=n, freq="MS").values,
                      {"long_name": "project start"}),
        },
        coords={"site": ("site", sites), "path": ("path", np.array(["grid_firm", "colocation"])),
                "draw": np.arange(draws), "lat": ("site", np.linspace(30, 45, n), {"units": "degrees_north"})},
        attrs={"tier": "training", "draws": draws, "rank_stability": 0.77, "horizon_months": 60.0,
               "scorecard": "data/siting/scorecard.yaml"},
    )
    return ds


def _read_zip(data: bytes, tmp_path) -> xr.Dataset:
    from zarr.storage import ZipStore

    path = tmp_path / "r.zarr.zip"
    path.write_bytes(data)
    store = ZipStore(path, mode="r")
    try:
        ds = xr.open_zarr(store, consolidated=False).load()
    finally:
        store.close()
    assert ds.attrs.pop(MARKER) == "1"  # marked as a powerfirst store
    return ds


def test_zipped_zarr_reads_back_identical_with_units_and_text_as_data(tmp_path):
    ds = result_like()
    data = zarr_zip_bytes(ds)
    back = _read_zip(data, tmp_path)
    xr.testing.assert_identical(back, ds)
    assert back["name"].values[0] == XSS and back["name"].values[1] == "=cmd|' /C calc'!A0"  # text, not markup
    assert back["name"].values[5] == "x" * 300 and back["name"].values[2] == "Zürich é"
    for v in ("score", "ttp_p50", "score_draws"):
        assert back[v].attrs["units"] == ds[v].attrs["units"] and back[v].attrs["long_name"]
    assert back["score_draws"].dtype == np.float32 and back["excluded"].dtype == bool
    assert np.isnan(back["score"].values[2])
    # unzipped into a folder, the same store
    folder = tmp_path / "unzipped.zarr"
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        zf.extractall(folder)
    unzipped = xr.open_zarr(folder, consolidated=False).load()
    assert unzipped.attrs.pop(MARKER) == "1"
    xr.testing.assert_identical(unzipped, ds)
    xr.testing.assert_identical(open_zarr_zip(data), ds)


def test_zipped_zarr_is_a_plain_store_at_the_archive_root_and_reproducible():
    ds = result_like()
    data = zarr_zip_bytes(ds)
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        names = zf.namelist()
        assert zf.testzip() is None
        infos = {i.filename: i for i in zf.infolist()}
    assert len(names) == len(set(names))  # no entry written twice (a ZipStore written by xarray has some)
    assert "zarr.json" in names and "score/zarr.json" in names
    assert all(not n.startswith("/") and ".." not in n for n in names)
    assert infos["zarr.json"].compress_type == zipfile.ZIP_DEFLATED
    chunks = [i for n, i in infos.items() if n.startswith("score_draws/c")]
    assert chunks and all(i.compress_type == zipfile.ZIP_STORED for i in chunks)  # compressed by Zarr already
    assert zarr_zip_bytes(ds) == data  # same Dataset, same bytes
    assert ds["best_path"].dtype.kind == "U" and ds["name"].dtype == object  # the input is not changed


def test_zipped_zarr_refuses_what_it_cannot_write():
    with pytest.raises(TypeError, match="expected an xarray.Dataset, found DataFrame"):
        zarr_zip_bytes(pd.DataFrame({"a": [1]}))
    ds = result_like()
    ds["score"].attrs["weights"] = {1, 2}
    with pytest.raises(ValueError, match="variable 'score', attribute 'weights': expected a JSON value"):
        zarr_zip_bytes(ds)


def test_open_zarr_zip_refuses_other_files(tmp_path):
    with pytest.raises(ValueError, match="expected a zip archive holding a Zarr store, found no zip archive"):
        open_zarr_zip(b"site_id,name\nA,b\n")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("sites.csv", "a,b\n")
    with pytest.raises(ValueError, match=r"expected a Zarr store at the root of the archive \(zarr.json\), found "
                                         "sites.csv"):
        open_zarr_zip(buf.getvalue())


def test_downloads_carry_no_server_path(tmp_path):
    ds = result_like()
    server = tmp_path / "srv" / "data"
    ds.attrs["scorecard"] = f"{server}/scorecard.yaml; {server}/extra weights.yaml"
    ds["score"].attrs["source"] = f"{server}/prices.csv"
    ds["lat"].attrs["note"] = "see data/derived/weather/stations.csv; a/b ratio"
    out = without_server_paths(ds)
    assert out.attrs["scorecard"] == "scorecard.yaml; extra weights.yaml"
    assert out["score"].attrs["source"] == "prices.csv"
    assert out["lat"].attrs["note"] == "see data/derived/weather/stations.csv; a/b ratio"  # relative text kept
    assert ds.attrs["scorecard"].startswith(str(server))  # the run on show keeps its attributes
    assert without_server_paths(ds.assign_attrs(f="C:\\Users\\me\\w.yaml")).attrs["f"] == "w.yaml"
    with zipfile.ZipFile(io.BytesIO(zarr_zip_bytes(out))) as zf:
        text = b"".join(zf.read(n) for n in zf.namelist() if n.endswith("zarr.json"))
    assert str(tmp_path).encode() not in text and b"scorecard.yaml" in text


# ------------------------------------------------------------------------------------ links: encode, decode

#: settings of every kind of parameter, changed from Scenario()
CHANGES = {
    "seed": 7,
    "description": f"shared {XSS}",
    "siting.draws": 50,  # Integer
    "siting.tier": "regional",  # Selector
    "siting.weight_range": 0.1,  # Number
    "siting.target_mw": 80.0,  # Number allowing None
    "headroom.limits": [0.5, 1.0],  # List of float
    "headroom.enabled": False,  # Boolean
    "grid.years": [2018, 2023],  # Range (a tuple in the scenario)
    "dispatch.scenarios": {"base": {}, "big": {"storage_scale": 2}},  # Dict
    "network.conventional_tier": "edge",
    "sites.select": ["PJM-001", XSS],
}


def scenario_with(changes: dict) -> Scenario:
    return Scenario().copy(**changes)


def enc(obj) -> str:
    """A ``scenario`` value made by hand (JSON, zlib, URL-safe base64)."""
    return base64.urlsafe_b64encode(zlib.compress(json.dumps(obj).encode())).decode().rstrip("=")


def test_scenario_round_trips_as_its_differences_from_the_default():
    sc = scenario_with(CHANGES)
    assert scenario_changes(sc) == {k: (list(v) if isinstance(v, tuple) else v) for k, v in CHANGES.items()}
    text = encode_scenario(sc)
    assert set(text) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")  # URL-safe as is
    assert decode_scenario(text) == scenario_changes(sc)
    back = scenario_from_changes(decode_scenario(text))
    assert back.to_yaml() == sc.copy(name="scenario").to_yaml()
    assert back.grid.years == (2018, 2023) and back.sites.select[1] == XSS  # a tuple again; text as data
    assert encode_scenario(Scenario()) == "" and encode_scenario(Scenario(name="other")) == ""  # the name is `run`
    # compressed: the JSON of a changed scenario is larger than its link value
    raw = json.dumps(scenario_changes(sc), separators=(",", ":"))
    assert len(text) < len(raw)


def test_locked_settings_never_travel_in_a_link_and_stay_the_sessions():
    sc = scenario_with({"siting.region": "US-TX", "siting.max_candidates": 10, "grid.source": "grid-files",
                        "weather.files": ["a.epw"], "siting.draws": 40})
    assert scenario_changes(sc) == {"siting.draws": 40}
    # applied over a session's scenario, the locked settings are the session's
    back = scenario_from_changes({"siting.draws": 40, "seed": 3}, keep=sc)
    assert back.grid.source == "grid-files" and back.siting.region == "US-TX" and back.weather.files == ["a.epw"]
    assert back.siting.draws == 40 and back.seed == 3 and back.name == sc.name
    # every other setting is the default's (the link holds the whole scenario as differences)
    assert back.headroom.flexible_limit == Scenario().headroom.flexible_limit


@pytest.mark.parametrize("obj, expected", [
    ({"sites.source": "../../secrets.csv"}, "setting sites.source is locked in the workbench"),
    ({"grid.source": "/data"}, "setting grid.source is locked"),
    ({"weather.files": ["/etc/passwd"]}, "setting weather.files is locked"),
    ({"siting.weights": "w.yaml"}, "setting siting.weights is locked"),
    ({"siting.candidates": "region"}, "setting siting.candidates is locked"),
    ({"siting.region": "US-TX"}, "setting siting.region is locked"),
    ({"siting.draws": 99999}, "setting siting.draws: expected an integer >= 1 and <= 5000, found 99999"),
    ({"siting.draws": 50.5}, "setting siting.draws: expected an integer >= 1 and <= 5000, found 50.5"),
    ({"headroom.flexible_limit": 0}, "setting headroom.flexible_limit: expected a number > 0 and < 100, found 0"),
    ({"siting.tier": "galactic"}, "setting siting.tier: expected one of training, regional, edge, found 'galactic'"),
    ({"seed": True}, "setting seed: expected an integer >= 0"),
    ({"grid.years": [2010, 2020]}, "setting grid.years: expected two years"),
    ({"siting.foo": 1}, "unknown setting 'siting.foo'; expected one of the settings of siting: tier, target_mw"),
    ({"bar.x": 1}, "unknown section 'bar' in 'bar.x'; expected one of sites, weather"),
    ({"foo": 1}, "unknown setting 'foo'; expected 'section.setting'"),
    ({"name": "x"}, "the scenario name is the 'run' parameter"),
    ([1, 2], "expected a JSON object of settings, found a JSON list"),
])
def test_bad_scenarios_are_refused_naming_the_parameter_and_setting(obj, expected):
    with pytest.raises(LinkRefused) as e:
        decode_scenario(enc(obj))
    assert e.value.parameters == ["scenario"]
    assert str(e.value).startswith("1 problem in the link:\n  - URL parameter 'scenario': ")
    assert expected in str(e.value)


def test_an_unknown_setting_is_answered_with_the_settings_a_link_may_set():
    with pytest.raises(LinkRefused) as e:
        decode_scenario(enc({"siting.nope": 1}))
    listed = str(e.value).split("settings of siting: ")[1].split(", ")
    assert "region" not in listed and "weights" not in listed and "draws" in listed  # locked ones not offered


@pytest.mark.parametrize("text, expected", [
    ("eJy@@@", "expected URL-safe base64 (letters, digits, '-', '_'), found the characters '@'"),
    ("abc+/def", "found the characters '+' '/'"),
    ("", "found nothing"),
    ("A", "not valid base64"),
    (base64.urlsafe_b64encode(b"plain text, not zlib").decode(), "expected a zlib-compressed scenario"),
    (base64.urlsafe_b64encode(zlib.compress(b'{"seed": 1, "desc')[:-6]).decode(), "cut short"),
    (base64.urlsafe_b64encode(zlib.compress(b"\xff\xfe not utf8")).decode(), "text that is not JSON"),
    (base64.urlsafe_b64encode(zlib.compress(b'{"seed": NaN}')).decode(), "NaN is not a number a setting can take"),
    (base64.urlsafe_b64encode(zlib.compress(b"[" * 100_000 + b"]" * 100_000, 9)).decode(), "expands to more than"),
    ("A" * (MAX_PARAM_CHARS + 1), "8,193 characters, over the limit of 8,192 (8 kB)"),
])
def test_undecodable_scenarios_are_refused(text, expected):
    with pytest.raises(LinkRefused, match="URL parameter 'scenario'") as e:
        decode_scenario(text)
    assert expected in str(e.value)


def test_a_compressed_bomb_is_stopped_at_the_json_limit():
    bomb = enc({"description": "a" * 1_000_000})
    assert len(bomb) < MAX_PARAM_CHARS  # small in the URL ...
    with pytest.raises(LinkRefused, match=f"expands to more than {MAX_SCENARIO_JSON_BYTES:,} bytes"):
        decode_scenario(bomb)  # ... refused before 1 MB is held


def test_view_round_trips_and_other_parameters_are_ignored():
    sc = scenario_with({"siting.draws": 50})
    q = encode_link(sc, run="pjm-flex", tab="Drill-down", site=XSS, colour="score_latency", top=0)
    assert list(q) == ["scenario", "run", "tab", "site", "colour", "top"] and q["top"] == "all"
    search = "?theme=dark&" + urllib.parse.urlencode(q)
    view = decode_link(search)
    assert view == SharedView(scenario={"siting.draws": 50}, run="pjm-flex", tab="Drill-down", site=XSS,
                              colour="score_latency", top=0)
    assert decode_link(urllib.parse.urlencode(q)) == view  # without the leading '?'
    assert decode_link("?tab=map&top=50").tab == "Map"  # tab names without regard to case
    assert decode_link("") == SharedView() and decode_link("?theme=dark") == SharedView()
    assert encode_link() == {} and encode_link(Scenario(), run="", top=None) == {}


@pytest.mark.parametrize("query, parameter, expected", [
    ("?top=7", "top", "expected one of 20, 50, 100, all (sites shown), found '7'"),
    ("?top=-1", "top", "found '-1'"),
    ("?tab=Secrets", "tab", "expected one of Scenario, Sites, Run, Ranking, Map, Drill-down, Compare, Network, "
                            "Export, found 'Secrets'"),
    ("?colour=__class__", "colour", "expected one of score, p_top_k, ttp_p50_best, headroom_mw"),
    ("?run=../../etc", "run", "expected a plain name"),
    ("?run=", "run", "expected a plain name"),
    ("?site=", "site", "expected a site id of 1 to 200 printable characters, found ''"),
    ("?site=a%0Ab", "site", "found 'a\\nb'"),
    ("?site=" + "s" * 201, "site", "expected a site id of 1 to 200 printable characters"),
    ("?site=" + "s" * (MAX_PARAM_CHARS + 1), "site", "8,193 characters, over the limit of 8,192 (8 kB)"),
    ("?tab=Map&tab=Run", "tab", "given 2 times; expected once"),
    ("?scenario=%40", "scenario", "found the characters '@'"),
])
def test_bad_view_parameters_are_refused_with_their_name(query, parameter, expected):
    with pytest.raises(LinkRefused) as e:
        decode_link(query)
    assert e.value.parameters == [parameter]
    line = str(e.value).splitlines()[1]
    assert line.startswith(f"  - URL parameter '{parameter}': ") and expected in line


def test_every_bad_parameter_is_listed_at_once():
    with pytest.raises(LinkRefused) as e:
        decode_link("?top=7&tab=x&colour=evil&run=a/b&scenario=" + enc({"siting.region": "EU27", "siting.draws": 0}))
    assert e.value.parameters == ["scenario", "scenario", "run", "tab", "colour", "top"]
    assert str(e.value).startswith("6 problems in the link:")


def test_the_value_quoted_in_a_message_is_cut_short():
    with pytest.raises(LinkRefused) as e:
        decode_link("?tab=" + "x" * 5000)
    assert len(str(e.value)) < 300 and "xxx..." in str(e.value)


# ------------------------------------------------------------------------------------ links: the workbench


@pytest.fixture
def make_workbench(monkeypatch):
    """A factory of in-process workbenches (demo sites, tabs filled; no reference layers read ahead)."""
    import panel as pn

    from powerfirst.apps import workbench as w

    pn.extension("tabulator")
    monkeypatch.setitem(w._WARM, "started", True)

    def make():
        wb = w.Workbench()
        wb.__panel__()  # outside a server the deferred load runs at once
        return wb

    return make


def location(search: str = "", href: str = ""):
    from panel.io.location import Location
    from panel.util import edit_readonly

    loc = Location(search=search)
    if href:
        with edit_readonly(loc):
            loc.param.update(href=href)
    return loc


def message(wb) -> str:
    return str(wb.message.object or "")


def shared_search() -> str:
    sc = scenario_with({"siting.draws": 40, "siting.tier": "regional", "seed": 7, "description": XSS})
    return "?" + urllib.parse.urlencode(encode_link(sc, run="shared-run", tab="Map", site="PJM-002",
                                                    colour="headroom_mw", top=50))


def test_a_link_sets_the_scenario_and_view_of_a_workbench(make_workbench):
    from powerfirst.apps.workbench import TABS

    wb = make_workbench()
    before = wb.state.scenario.to_dict()
    loc = location(shared_search() + "&theme=dark")
    field = share_field()
    sync = sync_location(wb, location=loc, field=field)
    s = wb.state
    assert (s.scenario.siting.draws, s.scenario.siting.tier, s.scenario.seed) == (40, "regional", 7)
    assert s.scenario.description == XSS
    assert s.label == "shared-run" and s.site == "PJM-002"
    assert wb.tabs.active == TABS.index("Map") and wb.top_select.value == 50
    assert wb.map_variable.value == "headroom_mw"
    # the locked settings and the sites are the session's
    assert s.scenario.sites.source == before["sites"]["source"] and s.scenario.grid.source == before["grid"]["source"]
    assert s.scenario.siting.candidates == before["siting"]["candidates"] and s.sites_public
    assert "Its site and map colour show once the screen has run" in message(wb)  # no run of it on this server yet
    wb.map_variable.value = None  # what a served page sends back for a choice its (empty) selector lacks
    assert decode_link(loc.search).colour == "headroom_mw"  # kept for the run
    assert sync.view.site == "PJM-002"
    # the page's URL now holds the workbench's view; the other parameter of the page is kept
    q = urllib.parse.parse_qs(loc.search[1:])
    assert q["theme"] == ["dark"] and q["run"] == ["shared-run"] and q["tab"] == ["Map"] and q["top"] == ["50"]
    assert field.value == loc.search


def test_changes_in_the_workbench_rewrite_the_url_and_the_link(make_workbench):
    from powerfirst.apps.workbench import TABS

    wb = make_workbench()
    loc = location("?theme=dark", href="http://127.0.0.1:5006/workbench?theme=dark")
    field = share_field()
    sync_location(wb, location=loc, field=field)
    assert loc.search == "?theme=dark&run=workbench"  # defaults left out; the run name always written
    wb.tabs.active = TABS.index("Compare")
    assert decode_link(loc.search).tab == "Compare"
    wb.state.scenario.siting.draws = 60
    assert decode_link(loc.search).scenario == {"siting.draws": 60}
    wb.state.scenario.headroom.flexible_limit = 1.0
    assert decode_link(loc.search).scenario == {"siting.draws": 60, "headroom.flexible_limit": 1.0}
    wb.top_select.value = 0
    wb.map_variable.value = "price"
    wb.state.label = "second"
    wb.state.site = "ERCO-001"
    assert decode_link(loc.search) == SharedView(scenario={"siting.draws": 60, "headroom.flexible_limit": 1.0},
                                                 run="second", tab="Compare", site="ERCO-001", colour="price", top=0)
    assert field.value == "http://127.0.0.1:5006/workbench" + loc.search
    assert share_link(wb, location=loc) == field.value
    # back at the defaults, the parameters leave the URL
    wb.state.scenario.siting.draws = Scenario().siting.draws
    wb.state.scenario.headroom.flexible_limit = Scenario().headroom.flexible_limit
    wb.tabs.active = 0
    wb.top_select.value = 20
    wb.map_variable.value = "score"
    wb.state.site = ""
    assert loc.search == "?theme=dark&run=second"
    # a scenario loaded as a whole (the YAML upload path) is followed too
    from powerfirst.apps._workbench_state import apply_scenario

    apply_scenario(wb.state.scenario, scenario_with({"siting.top_k": 10}))
    assert decode_link(loc.search).scenario == {"siting.top_k": 10}


def test_the_link_of_one_workbench_restores_its_view_in_another(make_workbench):
    a = make_workbench()
    loc_a = location()
    sync_location(a, location=loc_a)
    a.state.scenario.siting.weight_range = 0.4
    a.state.scenario.time_to_power.correlation = 0.3
    a.state.scenario.dispatch.scenarios = {"base": {}, "big": {"storage_scale": 2}}
    a.state.label = "from-a"
    a.top_select.value = 100
    a.tabs.active = 3
    b = make_workbench()
    loc_b = location(share_link(a, location=loc_a))
    sync_location(b, location=loc_b)
    assert scenario_changes(b.state.scenario) == scenario_changes(a.state.scenario) == {
        "dispatch.scenarios": {"base": {}, "big": {"storage_scale": 2}}, "siting.weight_range": 0.4,
        "time_to_power.correlation": 0.3}
    assert (b.state.label, b.top_select.value, b.tabs.active) == ("from-a", 100, 3)
    assert loc_b.search == loc_a.search


def test_a_refused_link_changes_nothing_and_says_why(make_workbench):
    wb = make_workbench()
    before = wb.state.scenario.to_yaml()
    loc = location("?top=7&run=ok-name&tab=" + urllib.parse.quote(XSS) + "&scenario=" +
                   enc({"sites.source": "/etc/passwd", "siting.draws": 10}))
    sync_location(wb, location=loc)
    text = message(wb)
    assert "pf-error" in text and "3 problems in the link" in text
    for p in ("scenario", "tab", "top"):
        assert f"URL parameter &#x27;{p}&#x27;" in text
    assert "setting sites.source is locked" in text and "Nothing of the link was applied" in text
    assert "&lt;img src=x" in text and XSS not in text  # the echoed value is escaped text
    # all or nothing: not even the valid parts of the link
    assert wb.state.scenario.to_yaml() == before and wb.state.label == "workbench" and wb.top_select.value == 20
    assert wb.tabs.active == 0
    # the URL now shows the workbench as it is
    assert loc.search == "?run=workbench"


def test_without_a_page_location_the_link_is_relative(make_workbench):
    wb = make_workbench()
    field = share_field()
    sync = sync_location(wb, field=field)  # in-process: pn.state.location is None
    assert sync.location is None and sync.apply() is None
    wb.state.scenario.seed = 5
    assert field.value.startswith("?") and decode_link(field.value).scenario == {"seed": 5}
    assert share_link(wb) == field.value


@pytest.mark.realdata
def test_a_link_shows_the_run_this_server_holds_and_its_site(make_workbench):
    """A link whose scenario this server has already screened on the public (demo) sites shows that run
    at once, on the link's site; a link to a run not yet made shows its site after the run."""
    a = make_workbench()
    a.state.scenario.siting.draws = 20
    a.state.label = "share-cached"
    run = a.state.run()
    ranked = a.state.ranked_sites(run.result)
    second = ranked[1]
    a.state.site = second
    a.map_variable.value = "headroom_mw"
    loc_a = location()
    sync_location(a, location=loc_a)
    b = make_workbench()
    sync_location(b, location=location(loc_a.search))
    assert b.state.result is run.result  # the cached run, not a new screen
    assert b.state.site == second != ranked[0] and b.site_select.value == second
    assert b.map_variable.value == "headroom_mw"
    assert second in b.site_text.object
    # a scenario not screened yet: the site waits for the run
    c = make_workbench()
    loc_c = location(loc_a.search.replace("run=share-cached", "run=share-later"))
    sync_location(c, location=loc_c)
    assert c.state.result is None and c.state.site == second
    assert "Its site and map colour show once the screen has run" in message(c)
    c.map_variable.value = None  # a served page clears a choice its empty selector lacks
    c.state.run()
    assert c.state.site == second and c.map_variable.value == "headroom_mw"
    view = decode_link(loc_c.search)
    assert (view.site, view.colour) == (second, "headroom_mw")


@pytest.mark.realdata
def test_full_results_download_of_a_demo_run(make_workbench, tmp_path):
    """The "Full results (zipped Zarr)" download of a run on the demo sites: every variable back, the
    run's attributes without the server's folders."""
    from powerfirst.apps._workbench_share import zarr_download

    wb = make_workbench()
    wb.state.scenario.siting.draws = 20
    wb.state.label = "zarr-demo"
    ds = wb.state.run().result

    class Download:  # the FileDownload the wiring adds
        filename = ""

    wb.downloads = {**wb.downloads, "zarr": Download()}
    data = zarr_download(wb).getvalue()
    assert wb.downloads["zarr"].filename == "zarr-demo-results.zarr.zip"
    back = open_zarr_zip(data)
    xr.testing.assert_identical(back, without_server_paths(ds))
    assert set(back.data_vars) == set(ds.data_vars) and back.sizes == ds.sizes
    cards = ds.attrs["scorecard"].split("; ")
    assert all(os.path.isabs(c) for c in cards)  # the run names the scorecard files it read ...
    assert back.attrs["scorecard"] == "; ".join(os.path.basename(c) for c in cards)  # ... the download their names


@pytest.mark.realdata
def test_the_download_of_a_run_over_the_size_limit_says_so(make_workbench, monkeypatch):
    """A run bigger than the limit is not zipped in the server's memory: an empty file and a message
    naming its size, the limit and how to save it instead."""
    import powerfirst.apps._workbench_share as share

    wb = make_workbench()
    wb.state.scenario.siting.draws = 20
    ds = wb.state.run().result
    monkeypatch.setattr(share, "MAX_ZARR_DOWNLOAD_BYTES", ds.nbytes - 1)
    assert share.zarr_download(wb).getvalue() == b""
    limit = (ds.nbytes - 1) / 2**20
    msg = message(wb)
    assert f"over the download limit of {limit:,.0f} MiB" in msg and "--out results.zarr" in msg
    monkeypatch.setattr(share, "MAX_ZARR_DOWNLOAD_BYTES", ds.nbytes)  # at the limit: zipped
    assert share.zarr_download(wb).getvalue()[:2] == b"PK"


def test_the_download_without_a_run_says_so(make_workbench):
    from powerfirst.apps._workbench_share import zarr_download

    wb = make_workbench()
    assert zarr_download(wb).getvalue() == b""
    assert "no run yet: run the screen first" in message(wb)


# ------------------------------------------------------------------------------------ served, in Chromium


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def served():
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "powerfirst.cli", "serve", "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 120
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


def _open(page, url):
    errors, dialogs = [], []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(url, wait_until="domcontentloaded", timeout=120_000)
    page.get_by_text("Sites:").first.wait_for(timeout=120_000)  # loaded (pn.state.onload done)
    return errors, dialogs


def _input(page, label):
    return page.locator(".bk-input-group", has_text=label).locator("input").first


@pytest.mark.browser
def test_a_shared_link_restores_the_scenario_and_view_in_the_browser(page, served):
    errors, dialogs = _open(page, served + "/workbench" + shared_search())
    page.locator(".bk-tab.bk-active", has_text="Map").first.wait_for(timeout=60_000)  # the link's tab
    page.locator(".bk-tab", has_text="Ranking").first.click()
    assert page.locator("select").filter(has=page.locator("option", has_text="top 50")).first.evaluate(
        "s => s.options[s.selectedIndex].text") == "top 50"
    page.locator(".bk-tab", has_text="Scenario").first.click()
    assert _input(page, "Scenario name").input_value() == "shared-run"
    assert _input(page, "Seed").input_value() == "7"
    assert _input(page, "Description").input_value() == XSS  # text in a field, never markup
    assert page.locator('img[src="x"]').count() == 0 and not dialogs
    # the URL follows the view: a tab chosen in the browser is in the address and the link field
    page.locator(".bk-tab", has_text="Export").first.click()
    page.wait_for_function("() => new URLSearchParams(window.location.search).get('tab') === 'Export'",
                           timeout=30_000)
    view = decode_link(urllib.parse.urlsplit(page.url).query)
    assert view.scenario == {"description": XSS, "seed": 7, "siting.draws": 40, "siting.tier": "regional"}
    assert (view.run, view.site, view.colour, view.top) == ("shared-run", "PJM-002", "headroom_mw", 50)
    from playwright.sync_api import expect

    field = _input(page, "Copy a link to this view")
    expect(field).to_have_value(re.compile(r"[?&]tab=Export(&|$)"), timeout=30_000)
    link = field.input_value()
    assert link.startswith(served + "/workbench?")
    assert decode_link(urllib.parse.urlsplit(link).query) == view
    assert not errors, f"JavaScript errors: {errors}"


@pytest.mark.browser
def test_a_bad_link_is_refused_with_a_message_in_the_browser(page, served):
    errors, dialogs = _open(page, served + "/workbench?top=7&tab=" + urllib.parse.quote(XSS) + "&scenario="
                            + enc({"sites.source": "/etc/passwd"}))
    page.get_by_text("URL parameter 'top'").first.wait_for(timeout=60_000)
    text = page.locator(".pf-error").inner_text()
    assert "URL parameter 'scenario': setting sites.source is locked" in text and XSS in text  # shown as text
    assert page.locator('img[src="x"]').count() == 0 and not dialogs
    assert page.locator(".bk-tab.bk-active", has_text="Scenario").count()  # nothing applied
    assert not errors, f"JavaScript errors: {errors}"


@pytest.mark.browser
@pytest.mark.realdata
def test_after_a_run_the_zarr_download_and_the_link_carry_the_run_in_the_browser(browser, served, tmp_path):
    """Run the screen on the demo sites, download the full results (zipped Zarr) and read them back; the
    link of the view, opened in another browser context, shows the same run (this server holds it) on
    the same site."""
    a, b = browser.new_context(), browser.new_context()
    try:
        pa, pb = a.new_page(), b.new_page()
        errors, _ = _open(pa, served + "/workbench?run=zarr-share&scenario=" + enc({"siting.draws": 20}))
        pa.locator(".bk-tab", has_text="Run").first.click()
        pa.get_by_role("button", name="Run the siting screen").click()
        pa.get_by_text("Run zarr-share done in").wait_for(timeout=300_000)
        pa.locator(".bk-tab", has_text="Export").first.click()
        with pa.expect_download() as dl:
            pa.get_by_text("Full results (zipped Zarr)").click()
        assert dl.value.suggested_filename == "zarr-share-results.zarr.zip"
        dl.value.save_as(tmp_path / "r.zarr.zip")
        ds = open_zarr_zip(tmp_path / "r.zarr.zip")
        assert ds.sizes["draw"] == 20 and {"score", "rank", "ttp_p50", "score_draws"} <= set(ds.data_vars)
        assert ds["score"].attrs["units"] == "1" and ds["ttp_p50"].attrs["units"] == "month"
        assert not os.path.isabs(ds.attrs["scorecard"].split("; ")[0])  # no server folder in the download
        top = [str(s) for s in ds["site"].values[np.argsort(ds["rank"].values)]]
        link = _input(pa, "Copy a link to this view").input_value()
        assert decode_link(urllib.parse.urlsplit(link).query).site == top[0]  # the run shows its best site
        _open(pb, link.replace(f"site={urllib.parse.quote(top[0])}", f"site={urllib.parse.quote(top[1])}"))
        pb.locator(".bk-tab", has_text="Drill-down").first.click()
        pb.locator(".pf-site", has_text=top[1]).wait_for(timeout=60_000)  # the run held by the server, that site
        assert f"2 of {int(np.isfinite(ds['rank'].values).sum())}" in pb.locator(".pf-site").inner_text()
        assert not errors, f"JavaScript errors: {errors}"
    finally:
        a.close()
        b.close()
