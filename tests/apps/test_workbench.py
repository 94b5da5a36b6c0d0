"""The siting workbench: uploads checked before anything runs, runs, comparisons, exports, safe serving;
and the whole flow in headless Chromium on a served workbench (upload, fix, run, rank, map, drill
down, download), basic auth, the upload limit, escaping and per-session state."""

from __future__ import annotations

import io
import logging
import os
import subprocess
import sys
import time
import urllib.request

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from powerfirst.apps._workbench_serve import (
    hash_password,
    read_credentials,
    upload_message_cap,
    verify_password,
    websocket_origins,
)
from powerfirst.apps._workbench_state import (
    MAX_UPLOAD_SITES,
    csv_bytes,
    excel_bytes,
    moved_ranks,
    parquet_bytes,
    read_upload,
    run_kpis,
    scenario_from_yaml_bytes,
    sniff,
    user_message,
)
from powerfirst.errors import ValidationError

HEADER = "site_id,name,lat,lon,country,ba,target_mw"
XSS = "<img src=x onerror=alert(1)>"
FORMULA = "=cmd|' /C calc'!A0"
GOOD_ROWS = [
    "WB-1,Alpha,39.11,-77.45,US,PJM,50",
    "WB-2,Bravo,40.19,-82.71,US,PJM,60",
    "WB-3,Charlie,32.9,-97.0,US,ERCO,75",
    f'WB-4,"{XSS}",41.5,-93.6,US,MISO,80',
    f"WB-5,{FORMULA},35.2,-80.8,US,CPLE,40",
]
SITES = [f"WB-{i}" for i in range(1, 6)]


def csv_text(rows) -> bytes:
    return ("\n".join([HEADER, *rows]) + "\n").encode()


GOOD = csv_text(GOOD_ROWS)
# row 2: a country code that does not exist; row 3: negative MW
BAD = csv_text([GOOD_ROWS[0], GOOD_ROWS[1].replace(",US,", ",XX,"), GOOD_ROWS[2].replace(",75", ",-5"),
                *GOOD_ROWS[3:]])


# ------------------------------------------------------------------------------------ uploads


def test_upload_with_two_bad_rows_lists_both_problems_and_reads_nothing():
    up = read_upload("my sites.csv", BAD, max_bytes=10**6)
    assert up.sites is None and not up.ok
    got = sorted((p.row, p.column) for p in up.problems)
    assert got == [(2, "country"), (3, "target_mw")]
    msgs = {p.column: p.message for p in up.problems}
    assert "unknown country code 'XX'" in msgs["country"]
    assert "negative value -5" in msgs["target_mw"]
    assert all(p.file == "my sites.csv" for p in up.problems)  # the user's name, never the temporary path
    assert not any("powerfirst-upload" in p.message for p in up.problems)


def test_valid_upload_keeps_formula_and_html_as_text():
    up = read_upload("sites.csv", GOOD, max_bytes=10**6)
    assert up.ok and list(up.sites["site"].values) == SITES
    names = dict(zip(up.sites["site"].values, up.sites["name"].values, strict=True))
    assert names["WB-4"] == XSS and names["WB-5"] == FORMULA  # data, not markup or formulas
    assert up.sites.attrs["source"] == "sites.csv" and len(up.sites.attrs["source_sha256"]) == 64


@pytest.mark.parametrize("name, data, expected", [
    ("big.csv", GOOD + b"x" * 2000, "over the upload limit of 0.002 MB"),
    ("s.csv", b"\x80\x04\x95\x00\x00", "a Python pickle"),
    ("s.parquet", b"\x80\x05\x95\x00", "a Python pickle"),
    ("s.csv", b"PK\x03\x04" + b"\0" * 50, "ZIP archive"),
    ("s.csv", b"PAR1" + b"\0" * 20 + b"PAR1", "its content is Parquet"),
    ("s.geojson", GOOD, "its content is CSV"),
    ("s.xlsx", GOOD, "unknown file type '.xlsx'"),
    ("s.csv", b"", "the file is empty"),
])
def test_refused_uploads_say_why(name, data, expected):
    up = read_upload(name, data, max_bytes=2000)
    assert up.sites is None and len(up.problems) == 1
    assert up.problems[0].message.startswith("refused: ") and expected in up.problems[0].message


def test_too_many_rows_refused_before_parsing():
    rows = [f"S{i},n,40.0,-80.0,US,PJM,10" for i in range(MAX_UPLOAD_SITES + 5)]
    t0 = time.perf_counter()
    up = read_upload("many.csv", csv_text(rows), max_bytes=10**8)
    assert time.perf_counter() - t0 < 1.0  # counted, not parsed
    assert "at most 10,000 sites" in up.problems[0].message


def test_sniff_names_the_content():
    assert sniff(b'\xef\xbb\xbf  {"type": "FeatureCollection"}') == "GeoJSON"
    assert sniff(GOOD) == "CSV"
    with pytest.raises(ValueError, match="cut upload"):
        sniff(b"PAR1" + b"\0" * 10)


def test_geojson_and_parquet_uploads(tmp_path):
    import json

    feats = [{"type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, lat]},
              "properties": {"site_id": f"G{i}", "name": "g", "country": "US", "ba": "PJM", "target_mw": 10}}
             for i, (lat, lon) in enumerate([(39.1, -77.4), (40.2, -82.7)])]
    doc = json.dumps({"type": "FeatureCollection", "features": feats}).encode()
    up = read_upload("s.geojson", doc, max_bytes=10**6)
    assert up.ok and list(up.sites["site"].values) == ["G0", "G1"]
    df = pd.read_csv(io.BytesIO(GOOD))
    buf = io.BytesIO()
    df.to_parquet(buf)
    up = read_upload("s.parquet", buf.getvalue(), max_bytes=10**6)
    assert up.ok and list(up.sites["site"].values) == SITES


# ------------------------------------------------------------------------------------ scenarios


def test_scenario_yaml_naming_server_files_is_refused():
    with pytest.raises(ValidationError) as e:
        scenario_from_yaml_bytes(b"name: x\nsites:\n  source: ../../secrets/sites.csv\nsiting:\n  weights: ../weights.yaml\n", "s.yaml")
    cols = sorted(p.column for p in e.value.problems)
    assert cols == ["sites.source", "siting.weights"]
    with pytest.raises(ValidationError, match="YAML tags are not allowed"):
        scenario_from_yaml_bytes(b"name: !!python/object/apply:os.system ['true']\n")
    with pytest.raises(ValidationError, match=r"column 'siting.draws': expected an integer >= 1 and <= 5000, found 0"):
        scenario_from_yaml_bytes(b"siting:\n  draws: 0\n")
    sc = scenario_from_yaml_bytes(b"name: tx-edge\nseed: 3\nsiting:\n  tier: edge\n  draws: 40\n")
    assert (sc.name, sc.seed, sc.siting.tier, sc.siting.draws) == ("tx-edge", 3, "edge", 40)


# ------------------------------------------------------------------------------------ compare


def fake_screen(ranks: dict[str, float], tier="training") -> xr.Dataset:
    """A screen result with the variables the comparison reads (ranks given; score = 1 - rank / 100)."""
    sites = list(ranks)
    rank = np.array([ranks[s] for s in sites], float)
    score = np.where(np.isfinite(rank), 1 - rank / 100, np.nan)
    paths = ["grid_firm", "grid_flexible"]
    p50 = np.column_stack([np.full(len(sites), 30.0), np.full(len(sites), 20.0)])
    return xr.Dataset({"rank": ("site", rank), "score": ("site", score), "excluded": ("site", ~np.isfinite(rank)),
                       "name": ("site", [f"name {s}" for s in sites]),
                       "best_path": ("site", ["grid_flexible"] * len(sites)),
                       "ttp_p50": (("site", "path"), p50)},
                      coords={"site": sites, "path": paths},
                      attrs={"tier": tier, "draws": 50, "rank_stability": 0.8})


def test_moved_ranks_and_kpis():
    a = fake_screen({"A": 1, "B": 2, "C": 3, "D": np.nan})
    b = fake_screen({"A": 3, "B": 2, "C": 1, "D": 4})
    assert sorted(moved_ranks({"base": a, "edge": b}, top=3)["site"]) == ["A", "B", "C"]  # D: rank 4 in edge
    moved = moved_ranks({"base": a, "edge": b}, top=4)
    assert list(moved["site"]) == ["D", "A", "C", "B"]  # D enters the ranking, then the largest moves
    assert list(moved["moved up [ranks]"].iloc[1:]) == [-2, 2, 0]
    assert pd.isna(moved["moved up [ranks]"].iloc[0]) and pd.isna(moved["rank, base"].iloc[0])
    assert moved["rank, edge"].iloc[0] == 4
    kpi = run_kpis({"base": a, "edge": b}).set_index("figure")
    assert kpi.loc["candidates [sites]", "base"] == 4 and kpi.loc["excluded [sites]", "base"] == 1
    assert kpi.loc["best site", "base"] == "A" and kpi.loc["best site", "edge"] == "C"
    assert kpi.loc["best score [1]", "edge"] == pytest.approx(0.99)
    assert kpi.loc["median P50 to first power, top 10 [month]", "base"] == 20.0
    with pytest.raises(ValidationError, match="expected 2 to 4 runs"):
        moved_ranks({"base": a})


# ------------------------------------------------------------------------------------ export


def test_exports_escape_formulas_and_read_back():
    import openpyxl

    df = pd.DataFrame({"site": ["WB-4", "WB-5"], "name": [XSS, FORMULA], "score": [0.74, -0.1], "rank": [1, 2]})
    back = pd.read_csv(io.BytesIO(csv_bytes(df)))
    assert list(back["name"]) == [XSS, "'" + FORMULA] and list(back["score"]) == [0.74, -0.1]
    wb = openpyxl.load_workbook(io.BytesIO(excel_bytes(df, {"run": "base"})))
    cells = [c for row in wb["ranking"].iter_rows() for c in row]
    assert not [c.coordinate for c in cells if c.data_type == "f"]  # no formula anywhere
    assert [c.value for c in wb["ranking"]["B"]][1:] == [XSS, "'" + FORMULA]
    assert [c.value for c in wb["ranking"]["C"]][1:] == [0.74, -0.1]  # numbers stay numbers
    assert [[c.value for c in r] for r in wb["about"].iter_rows()] == [["key", "value"], ["run", "base"]]
    pq = pd.read_parquet(io.BytesIO(parquet_bytes(df)))
    pd.testing.assert_frame_equal(pq, df)


# ------------------------------------------------------------------------------------ errors, auth


def test_unexpected_error_shows_a_reference_and_logs_the_traceback(caplog):
    with caplog.at_level(logging.ERROR, logger="powerfirst.workbench"):
        try:
            raise ZeroDivisionError("secret internal detail")
        except ZeroDivisionError as exc:
            msg, ref = user_message(exc, "drawing the map")
    assert ref and ref.startswith("E-") and len(ref) == 8 and ref in msg
    assert "secret internal detail" not in msg and "Traceback" not in msg
    assert ref in caplog.text and "ZeroDivisionError: secret internal detail" in caplog.text
    msg, ref = user_message(ValidationError("expected 1, found 2", what="x"))
    assert ref is None and "expected 1, found 2" in msg


def test_password_hashes_and_credential_sources(tmp_path, monkeypatch):
    h = hash_password("s3cret", iterations=1000)
    assert h.startswith("pbkdf2_sha256$1000$") and "s3cret" not in h
    assert verify_password("s3cret", h) and not verify_password("s3cret!", h) and not verify_password("x", "junk")
    f = tmp_path / "users.txt"
    f.write_text(f"# users\nana:plain-pass\nbo:{hash_password('bo-pass', iterations=1000)}\n")
    creds = read_credentials(str(f))
    assert set(creds) == {"ana", "bo"} and "plain-pass" not in creds["ana"]  # plain secrets hashed when read
    assert verify_password("plain-pass", creds["ana"]) and verify_password("bo-pass", creds["bo"])
    monkeypatch.setenv("PF_TEST_PW", "only-one")
    creds = read_credentials("env:PF_TEST_PW")
    assert list(creds) == [None] and verify_password("only-one", creds[None])
    with pytest.raises(ValueError, match="environment variable 'PF_MISSING' is not set"):
        read_credentials("env:PF_MISSING")
    f.write_text("ana:a\nana:b\n")
    with pytest.raises(ValueError, match="line 2: user 'ana' listed twice"):
        read_credentials(str(f))
    with pytest.raises(FileNotFoundError, match="password file not found"):
        read_credentials(str(tmp_path / "none.txt"))


def test_serve_hash_password_prints_a_hash_that_verifies():
    r = subprocess.run([sys.executable, "-m", "powerfirst.cli", "serve", "--hash-password"], input="pass word\n",
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0
    encoded = r.stdout.strip()
    assert encoded.startswith("pbkdf2_sha256$600000$") and verify_password("pass word", encoded)
    assert not verify_password("pass word\n", encoded)


def test_websocket_origins_are_the_served_host():
    assert websocket_origins("127.0.0.1", 5006) == []  # the server adds localhost and 127.0.0.1 itself
    assert websocket_origins("10.0.0.5", 5006, ["dash.example.org"]) == ["10.0.0.5:5006", "dash.example.org"]
    import socket

    assert f"{socket.gethostname()}:8000" in websocket_origins("0.0.0.0", 8000)
    assert upload_message_cap(5_000_000) == int(2 * 5_000_000 * 4 / 3 + 2**20)


def test_serve_on_every_interface_without_auth_warns():
    proc = subprocess.Popen([sys.executable, "-m", "powerfirst.cli", "serve", "--address", "0.0.0.0", "--port",
                             str(free_port())], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        line = ""
        deadline = time.time() + 60
        while time.time() < deadline and "warning" not in line:
            line = proc.stdout.readline()
            if not line and proc.poll() is not None:
                break
        assert "warning: serving on 0.0.0.0 without authentication" in line
    finally:
        proc.terminate()
        proc.wait(10)


def test_serve_refuses_a_short_cookie_secret_and_a_bad_site_file(tmp_path):
    r = subprocess.run([sys.executable, "-m", "powerfirst.cli", "serve", "--cookie-secret", "short", "--port", "0"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 1 and "--cookie-secret: expected at least 32 characters, found 5" in r.stderr
    bad = tmp_path / "bad.csv"
    bad.write_bytes(BAD)
    r = subprocess.run([sys.executable, "-m", "powerfirst.cli", "serve", "--sites", str(bad), "--port", "0"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 1 and "unknown country code 'XX'" in r.stderr


# ------------------------------------------------------------------------------------ served, in Chromium


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve(*extra, env=None):
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "powerfirst.cli", "serve", "--port", str(port), *extra],
                            env={**os.environ, **(env or {})}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 120
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("powerfirst serve exited")
        try:
            urllib.request.urlopen(url + "/login" if "--basic-auth" in extra else url + "/workbench", timeout=10)
            return proc, url
        except OSError:
            time.sleep(0.5)
    proc.kill()
    raise RuntimeError("powerfirst serve did not answer within 120 s")


def _stop(proc):
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()


#: the upload limit of the served workbench [MB]
LIMIT_MB = 0.05


@pytest.fixture(scope="module")
def workbench(tmp_path_factory):
    proc, url = _serve("--max-upload-mb", str(LIMIT_MB))
    yield url
    _stop(proc)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("uploads")
    (d / "bad_sites.csv").write_bytes(BAD)
    (d / "sites.csv").write_bytes(GOOD)
    big = GOOD + b"".join(f"X{i},pad,40.0,-80.0,US,PJM,10\n".encode() for i in range(3000))
    assert len(big) > LIMIT_MB * 1e6
    (d / "big.csv").write_bytes(big)
    huge = GOOD + b"".join(f"X{i},pad,40.0,-80.0,US,PJM,10\n".encode() for i in range(6000))
    assert len(huge) > 3 * LIMIT_MB * 1e6
    (d / "huge.csv").write_bytes(huge)
    return d


SITES_INPUT = '.pf-sites-upload input.filepond--browser[type=file]'  # FilePond's file input of the sites upload

FIND_SOURCE = """
() => {
  for (const doc of Bokeh.documents) {
    for (const m of doc.all_models) {
      const d = m.data;
      if (d && d.site && d.easting) return {sites: Array.from(d.site)};
    }
  }
  return null;
}
"""


def open_workbench(page, url):
    errors, dialogs = [], []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(url + "/", wait_until="domcontentloaded", timeout=120_000)
    page.wait_for_url("**/workbench", timeout=60_000)  # / forwards to the workbench
    page.get_by_text("Sites:").first.wait_for(timeout=120_000)  # loaded (pn.state.onload done)
    return errors, dialogs


def tab(page, name):
    page.locator(".bk-tab", has_text=name).first.click()


@pytest.mark.browser
@pytest.mark.realdata
def test_upload_fix_run_rank_map_drill_and_download(page, workbench, files, tmp_path):
    import openpyxl

    errors, dialogs = open_workbench(page, workbench)
    tab(page, "Sites")
    page.locator(SITES_INPUT).set_input_files(str(files / "bad_sites.csv"))
    page.get_by_text("2 problems in bad_sites.csv").wait_for(timeout=60_000)
    msgs = page.locator('.tabulator-cell[tabulator-field="message"]').all_inner_texts()
    assert any("unknown country code 'XX'" in m for m in msgs) and any("negative value -5" in m for m in msgs)
    assert sorted(page.locator('.tabulator-cell[tabulator-field="row"]').all_inner_texts()) == ["2", "3"]
    # fixed: read, and the problems are gone
    page.locator(SITES_INPUT).set_input_files(str(files / "sites.csv"))
    page.get_by_text("sites.csv (upload, 5 sites): no problems found").wait_for(timeout=60_000)
    tab(page, "Run")
    page.get_by_role("button", name="Run the siting screen").click()
    page.get_by_text("Run workbench done in").wait_for(timeout=300_000)
    # the ranking: every site once, ranks 1..5, the HTML name as text
    tab(page, "Ranking")
    page.locator('.tabulator-cell[tabulator-field="rank"]').first.wait_for(timeout=60_000)
    ranking = page.locator('.tabulator-cell[tabulator-field="site"]').all_inner_texts()
    assert sorted(ranking) == SITES
    assert page.locator('.tabulator-cell[tabulator-field="rank"]').all_inner_texts() == ["1", "2", "3", "4", "5"]
    assert XSS in page.locator('.tabulator-cell[tabulator-field="name"]').all_inner_texts()
    assert page.locator('img[src="x"]').count() == 0 and not dialogs
    # the map: the five candidates
    tab(page, "Map")
    page.wait_for_function(f"() => ({FIND_SOURCE})() !== null", timeout=60_000)
    assert sorted(page.evaluate(FIND_SOURCE)["sites"]) == SITES
    page.locator("canvas").first.wait_for(state="visible", timeout=60_000)
    # drill into WB-2
    tab(page, "Drill-down")
    select = page.locator("select").filter(has=page.locator("option", has_text="WB-2 · Bravo")).first
    label = next(t for t in select.evaluate("s => Array.from(s.options).map(o => o.text)") if "WB-2 · Bravo" in t)
    select.select_option(label=label)
    page.locator(".pf-site", has_text="Bravo").wait_for(timeout=60_000)
    text = page.locator(".pf-site").inner_text()
    rank_of_b = ranking.index("WB-2") + 1
    assert "WB-2" in text and f"{rank_of_b} of 5" in text and "Explanation" in text
    paths = page.locator('.tabulator-cell[tabulator-field="path"]').all_inner_texts()
    assert {"grid_firm", "grid_flexible", "existing_service", "colocation"} <= set(paths)
    # downloads, read back
    tab(page, "Export")
    with page.expect_download() as dl:
        page.get_by_text("Ranking as CSV").click()
    dl.value.save_as(tmp_path / "r.csv")
    assert dl.value.suggested_filename == "workbench-ranking.csv"
    got = pd.read_csv(tmp_path / "r.csv")
    assert list(got["site"]) == ranking and list(got["rank"]) == [1, 2, 3, 4, 5]
    assert (np.diff(got["score"].to_numpy()) <= 0).all()
    names = dict(zip(got["site"], got["name"], strict=True))
    assert names["WB-5"] == "'" + FORMULA and names["WB-4"] == XSS
    with page.expect_download() as dl:
        page.get_by_text("Ranking as Excel").click()
    dl.value.save_as(tmp_path / "r.xlsx")
    wb = openpyxl.load_workbook(tmp_path / "r.xlsx")
    sheet = pd.read_excel(tmp_path / "r.xlsx", sheet_name="ranking")
    assert list(sheet["site"]) == ranking and sheet["score"].tolist() == pytest.approx(got["score"].tolist())
    assert not [c.coordinate for row in wb["ranking"].iter_rows() for c in row if c.data_type == "f"]
    # a second scenario (another name and tier), run, then the two compared
    tab(page, "Scenario")
    name = page.locator(".pf-run-name input").first
    name.fill("edge-tier")
    name.press("Enter")
    page.locator("select").filter(has=page.locator('option[value="edge"]')).first.select_option("edge")
    tab(page, "Run")
    page.get_by_role("button", name="Run the siting screen").click()
    page.get_by_text("Run edge-tier done in").wait_for(timeout=300_000)
    tab(page, "Compare")
    page.locator(".tabulator-col-title", has_text="edge-tier").first.wait_for(timeout=60_000)
    titles = page.locator(".tabulator-col-title").all_inner_texts()
    assert "workbench" in titles and "edge-tier" in titles
    kpi = page.locator('.tabulator-cell[tabulator-field="figure"]').all_inner_texts()
    assert "tier" in kpi
    moved = page.locator('.tabulator-cell[tabulator-field="site"]').all_inner_texts()
    assert sorted(moved) == SITES  # every site of both runs, with the ranks it moved
    assert "Traceback" not in page.content()
    assert not errors, f"JavaScript errors: {errors}"


@pytest.mark.browser
def test_upload_over_the_limit_is_refused_with_a_message(page, workbench, files):
    errors, _ = open_workbench(page, workbench)
    tab(page, "Sites")
    for name in ("big.csv", "huge.csv"):  # 1.8 and 3.6 times the limit: the browser refuses both unsent
        page.locator(SITES_INPUT).set_input_files(str(files / name))
        page.get_by_text("File is too large").first.wait_for(timeout=60_000)
        page.get_by_text(f"Maximum file size is {LIMIT_MB * 1000:g} KB").first.wait_for(timeout=10_000)
        assert page.get_by_text("Demo sites are illustrative.").first.is_visible()  # the previous sites stay
    # the session still serves: a file under the limit is read
    page.locator(SITES_INPUT).set_input_files(str(files / "sites.csv"))
    page.get_by_text("sites.csv (upload, 5 sites)").first.wait_for(timeout=60_000)
    assert not errors


def test_the_server_drops_an_upload_whose_chunks_pass_the_limit():
    """A client that ignores the browser-side limit: its chunks are counted as they arrive, the file is
    dropped once past the limit (later chunks ignored, nothing buffered), and the app says so."""
    from types import SimpleNamespace

    from powerfirst.apps.workbench import SitesDropper, Workbench

    def chunk(name, i, n, data):
        return SimpleNamespace(event_name="upload_event",
                               data={"name": name, "chunk": i, "total_chunks": n, "data": data, "type": "text/csv"})

    wb = Workbench()
    wb._fill_tabs()
    w = wb.upload_input
    assert isinstance(w, SitesDropper) and w.max_bytes == wb.state.max_upload_bytes
    w.max_bytes = 100
    for i in range(1, 5):
        w._process_event(chunk("big.csv", i, 4, b"x" * 60))
    assert w.value == {} and w._file_buffer == {} and w.oversize == ("big.csv", 120)
    assert "big.csv: 0.00 MB received and more coming is over the upload limit" in wb.message.object
    w.max_bytes = len(GOOD)  # a file of exactly the limit is read, whatever its chunks
    w._process_event(chunk("ok.csv", 1, 2, GOOD[:50]))
    w._process_event(chunk("ok.csv", 2, 2, GOOD[50:]))
    assert wb.state.sites_label == "ok.csv (upload, 5 sites)"


@pytest.mark.browser
def test_two_browser_contexts_keep_separate_state(browser, workbench, files):
    a, b = browser.new_context(), browser.new_context()
    try:
        pa, pb = a.new_page(), b.new_page()
        open_workbench(pa, workbench)
        tab(pa, "Sites")
        pa.locator(SITES_INPUT).set_input_files(str(files / "sites.csv"))
        pa.get_by_text("sites.csv (upload, 5 sites)").first.wait_for(timeout=60_000)
        open_workbench(pb, workbench)
        assert pb.get_by_text("Demo sites are illustrative.").first.is_visible()
        assert pb.get_by_text("sites.csv (upload").count() == 0
        tab(pb, "Sites")
        pb.locator(SITES_INPUT).set_input_files(str(files / "bad_sites.csv"))
        pb.get_by_text("2 problems in bad_sites.csv").wait_for(timeout=60_000)
        tab(pa, "Sites")
        assert pa.get_by_text("2 problems").count() == 0 and pa.get_by_text("sites.csv (upload, 5 sites)").count()
        pa.reload()  # a new session of context a starts afresh, and never shows b's upload
        pa.get_by_text("Sites:").first.wait_for(timeout=120_000)
        assert pa.get_by_text("bad_sites.csv").count() == 0
    finally:
        a.close()
        b.close()


@pytest.fixture(scope="module")
def auth_workbench(tmp_path_factory):
    f = tmp_path_factory.mktemp("auth") / "users.txt"
    f.write_text(f"analyst:{hash_password('right-pass')}\n")
    proc, url = _serve("--basic-auth", str(f), "--cookie-secret", "env:PF_TEST_COOKIE",
                       env={"PF_TEST_COOKIE": "c" * 40})
    yield url
    _stop(proc)


@pytest.mark.browser
def test_basic_auth_refuses_a_wrong_password_and_admits_the_right_one(page, auth_workbench):
    assert urllib.request.urlopen(auth_workbench + "/workbench", timeout=30).geturl().startswith(
        auth_workbench + "/login")  # no session without a log-in
    page.goto(auth_workbench + "/", wait_until="domcontentloaded")
    page.wait_for_url("**/login**", timeout=60_000)
    page.fill("#username", "analyst")
    page.fill("#password", "wrong-pass")
    page.click("#login-submit")
    page.locator("#error-message").wait_for(timeout=60_000)
    assert "Invalid username or password" in page.locator("#error-message").inner_text()
    assert "/login" in page.url
    page.fill("#username", "analyst")
    page.fill("#password", "right-pass")
    page.click("#login-submit")
    page.wait_for_url("**/workbench", timeout=60_000)
    page.get_by_text("Sites:").first.wait_for(timeout=120_000)
    assert page.locator(".pf-user").first.inner_text().startswith("Signed in as analyst")  # whose session


# ------------------------------------------------------------------------------------ the app, in process


@pytest.fixture(scope="module")
def app():
    import panel as pn

    from powerfirst.apps.workbench import Workbench

    pn.extension("tabulator")
    wb = Workbench()
    wb.__panel__()  # outside a server the deferred load runs at once
    wb.state.scenario.siting.draws = 30
    return wb


def run(wb):
    """Press Run and wait for the screen: the app's coroutine on its own event loop, in a thread (the
    browser tests' Playwright keeps an event loop in this one)."""
    import asyncio
    import threading

    t = threading.Thread(target=asyncio.run, args=(wb._on_run(),))
    t.start()
    t.join(600)
    assert not t.is_alive()


def upload(wb, name, data):
    """What the upload widget gives the app when a browser has sent ``data`` as ``name``."""
    wb.upload_input.value = {**wb.upload_input.value, name: data}


@pytest.mark.realdata
def test_app_runs_caches_compares_and_keeps_uploads_private(app):
    from powerfirst.apps.workbench import TABS, Workbench

    wb = app
    assert list(wb.tabs._names) == list(TABS) and wb.state.sites_public  # starts on the demo sites
    upload(wb, "bad.csv", BAD)
    assert wb.problems_table.visible and sorted(wb.problems_table.value["row"].tolist()) == [2, 3]
    assert wb.state.sites.sizes["site"] == 197  # the previous (demo) sites stay
    run(wb)  # refused while the upload has problems
    assert "the upload has 2 problem(s)" in wb.message.object and wb.state.result is None
    upload(wb, "sites.csv", GOOD)
    assert not wb.problems_table.visible and list(wb.state.sites["site"].values) == SITES
    run(wb)
    first = wb.state.result
    assert sorted(first["site"].values) == SITES and "done in" in wb.stage.object
    shown = wb.ranking.value
    assert list(shown["rank"]) == [1, 2, 3, 4, 5] and sorted(shown["site"]) == SITES
    assert "score [1]" in shown.columns and "P50 to first power [month]" in shown.columns
    assert wb.state.site == shown["site"].iloc[0] and shown["site"].iloc[0] in wb.site_text.object
    wb.state.site = "WB-4"
    assert "&lt;img src=x onerror=alert(1)&gt;" in wb.site_text.object and XSS not in wb.site_text.object
    # the same scenario and sites again: the cached result, not a new screen
    run(wb)
    assert wb.state.result is first
    # a second named run with other weights of the same sites, then compare
    wb.state.label = "edge-tier"
    wb.state.scenario.siting.tier = "edge"
    run(wb)
    assert list(wb.state.runs) == ["workbench", "edge-tier"] and wb.compare_select.value == ["workbench", "edge-tier"]
    kpi = wb.kpi_table.value.set_index("figure")
    assert list(kpi.columns) == ["workbench", "edge-tier"]
    assert (kpi.loc["tier", "workbench"], kpi.loc["tier", "edge-tier"]) == ("training", "edge")
    moved = wb.moved_table.value
    assert sorted(moved["site"]) == SITES
    delta = moved.set_index("site")["moved up [ranks]"]
    r0 = first["rank"].to_series()
    r1 = wb.state.result["rank"].to_series()
    assert all(delta[s] == int(r0[s] - r1[s]) for s in SITES)
    # drill-down of another site, time to power by path
    wb.site_select.value = "WB-3"
    assert "Charlie" in wb.site_text.object and list(wb.ttp_table.value["path"])[:2] == ["grid_firm", "grid_flexible"]
    # exports of the run on show
    csv = pd.read_csv(wb._export("csv"))
    assert list(csv["site"]) == list(wb.ranking.value["site"])
    assert wb.downloads["csv"].filename == "edge-tier-ranking.csv"
    assert "tier: edge" in wb._run_yaml_file().getvalue().decode()
    # another session never sees this one's upload or runs
    other = Workbench()
    other.__panel__()
    assert other.state.sites_public and other.state.sites.sizes["site"] == 197 and not other.state.runs
    assert other.state.cached(wb.state.snapshot()) is None


def test_scenario_yaml_loads_into_the_widgets_and_bad_yaml_leaves_it(app):
    wb = app
    before = wb.state.scenario.to_yaml()
    wb.yaml_input.value = {"s.yaml": b"siting:\n  weights: /etc/passwd\n"}
    assert "does not read files named in a scenario" in wb.message.object
    assert wb.state.scenario.to_yaml() == before
    wb.yaml_input.value = {"s.yaml": b"name: loaded\nseed: 5\nsiting:\n  tier: regional\n  draws: 25\n"}
    assert (wb.state.label, wb.state.scenario.seed, wb.state.scenario.siting.tier) == ("loaded", 5, "regional")
    draws = next(w for w in wb.section_pane[0].layout.objects if w.name.startswith("Draws"))
    assert draws.value == 25  # the generated widget follows the scenario
    locked = [w.name for w in wb.section_pane[0].layout.objects if w.disabled]
    assert "Weights" in locked and "Region" in locked
    wb.section_choice.value = "dispatch"  # built when chosen
    assert [w.name for w in wb.section_pane[0].layout.objects][:2] == ["Enabled", "Scenarios"]
    assert "name: loaded" in wb._yaml_file().getvalue().decode() and wb.yaml_download.filename == "loaded.yaml"


def test_server_preload_starts_every_session_with_the_sites(tmp_path):
    from powerfirst.apps import workbench as w

    f = tmp_path / "preload.csv"
    f.write_bytes(GOOD)
    sc = tmp_path / "s.yaml"
    sc.write_text("name: preloaded\nsiting:\n  tier: edge\n")
    old = dict(w.SERVER)
    try:
        w.configure(sites=str(f), scenario=str(sc), max_upload_mb=1)
        state = w.WorkbenchState()
        state.initial_sites()
        assert state.label == "preloaded" and state.scenario.siting.tier == "edge"
        assert list(state.sites["site"].values) == SITES and state.sites_public
        assert state.max_upload_bytes == 1_000_000
        with pytest.raises(ValueError, match="expected 0 < MB <= 500"):
            w.configure(max_upload_mb=0)
    finally:
        w.SERVER.update(old)


# ------------------------------------------------------------------------------------ widget changes on a large run


def _tiled(ds: xr.Dataset, n: int) -> xr.Dataset:
    """``ds`` repeated to ``n`` candidates (ids ``<site>~<copy>``, positions moved by up to 0.02 degrees), ranks
    recomputed over all copies (score descending, ties by id)."""
    reps = int(np.ceil(n / ds.sizes["site"]))
    rng = np.random.default_rng(0)
    parts = []
    for r in range(reps):
        p = ds.assign_coords(site=[f"{s}~{r}" for s in ds["site"].values.astype(str)])
        p["lat"] = p["lat"] + rng.uniform(-0.02, 0.02, p.sizes["site"])
        p["lon"] = p["lon"] + rng.uniform(-0.02, 0.02, p.sizes["site"])
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


@pytest.mark.realdata
def test_widget_changes_redraw_without_running_the_screen_and_send_one_page(monkeypatch):
    """Colour-by and the ranking's "Sites shown" redraw from the run on show (no screen), the browser gets one
    page of the ranking however many sites are ranked, and a click picks the site of the row clicked."""
    from types import SimpleNamespace

    import panel as pn
    from bokeh.document import Document
    from bokeh.models import ColumnDataSource

    from powerfirst.apps import workbench as w
    from powerfirst.apps._workbench_state import read_upload, screen_sites

    pn.extension("tabulator")
    wb = w.Workbench()
    wb.__panel__()
    sc = wb.state.scenario.copy()
    sc.siting.draws = 20
    ds = _tiled(screen_sites(sc, read_upload("s.csv", GOOD, max_bytes=10**6).sites), 1_200)
    wb.state.add_run(wb.state.snapshot(), ds, 0.0)

    def refuse(*a, **k):
        raise AssertionError("a widget change ran the screen")

    monkeypatch.setattr(w, "screen_sites", refuse)
    monkeypatch.setattr("powerfirst.models.siting.screen", refuse)
    doc = Document()
    for col in (pn.Column(wb.top_select, wb.ranking), pn.Column(wb.map_variable, wb.map_pane)):
        doc.add_root(col.get_root(doc))

    def rows_sent():
        srcs = [s for m, _ in wb.ranking._models.values() for s in m.select({"type": ColumnDataSource})]
        return max(len(next(iter(s.data.values()))) for s in srcs)

    n_ranked = int(np.isfinite(ds["rank"].values.astype(float)).sum())
    assert n_ranked > 1_000
    wb.top_select.value = 0  # all ranked
    assert len(wb.ranking.value) == n_ranked and list(wb.ranking.value["rank"][:3]) == [1, 2, 3]
    assert rows_sent() == wb.ranking.page_size == 20  # one page reaches the browser, not every ranked site
    wb.top_select.value = 100
    assert len(wb.ranking.value) == 100 and rows_sent() == 20
    # the map follows the colour chosen; the run on show is the same object (no new screen)
    import holoviews as hv

    from powerfirst.viz.siting import short_name

    for v in ("hv_distance_km", "score_time_to_power"):
        wb.map_variable.value = v
        m = wb.map_pane.object
        title = (m[()] if isinstance(m, hv.DynamicMap) else m).opts.get().kwargs["title"]
        assert f"1,200 candidates coloured by {short_name(v)}" in title
    assert wb.state.result is ds
    # above the rasterising threshold the map is drawn once per run and recoloured in place
    from bokeh.models import ColorBar, Plot

    monkeypatch.setattr("powerfirst.viz.siting.RASTERIZE_ABOVE", 500)
    wb.map_variable.value = "score"
    live = wb.map_pane.object
    assert isinstance(live, hv.DynamicMap)
    plot = next(iter(doc.select({"type": Plot})))
    for v in ("hv_distance_km", "score_time_to_power"):
        wb.map_variable.value = v
        assert wb.map_pane.object is live and next(iter(doc.select({"type": Plot}))) is plot  # no new plot
        assert f"1,200 candidates coloured by {short_name(v)} (rasterised)" in plot.title.text
        unit = wb._map_ds()[v].attrs["units"]
        assert [b.title for b in doc.select({"type": ColorBar})] == [f"{short_name(v)} [{unit}]"]
    # the same scenario again: the cached run
    assert wb.state.run().result is ds
    # a click on row 25 of the value (Panel gives the row's position in the table's value, whatever the page)
    wb._on_ranking_click(SimpleNamespace(row=25))
    assert wb.state.site == wb.ranking.value["site"].iloc[25]
