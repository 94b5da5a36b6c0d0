"""The workbench's Network tab: the plan it makes is the network run group's on the candidates of the
run on show, it is cached per (scenario, run) like runs are, every failure is a message and the plan
on show stays; and in headless Chromium on a served workbench: screen the demo sites, plan, see the
map (its year slider) and the KPI table.

The scenario is kept small (US demand on H3 cells of resolution 2, two years, the 12 best candidates,
200 time-to-power draws): a plan takes about a second.
"""

from __future__ import annotations

import asyncio
import html
import importlib
import os
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request

import numpy as np
import pytest
import xarray as xr

pytestmark = pytest.mark.realdata

#: the module (``powerfirst.scenarios.run`` the attribute is the function ``run``)
scenario_run = importlib.import_module("powerfirst.scenarios.run")

#: a small network plan of the demo sites (the 12 best candidates of the screen)
SMALL = {"siting.draws": 20, "network.years": [2028, 2030], "network.top_n": 12, "network.ttp_draws": 200,
         "network.time_limit": 30.0, "network.resolution": 2, "network.regions": ["US"]}


def apply(scenario, changes: dict) -> None:
    for k, v in changes.items():
        sec, _, key = k.partition(".")
        setattr(getattr(scenario, sec), key, v)


def on_loop(coro) -> None:
    """Run one of the app's coroutines on its own event loop in a thread (as a served page would, and
    apart from the loop that the browser tests' Playwright keeps in this thread)."""
    t = threading.Thread(target=asyncio.run, args=(coro,))
    t.start()
    t.join(600)
    assert not t.is_alive()


@pytest.fixture(scope="module")
def wb():
    """A workbench on the demo sites with the small scenario, its screen run (no plan yet)."""
    import panel as pn

    from powerfirst.apps import workbench as w

    pn.extension("tabulator")
    warm = w._WARM["started"]
    w._WARM["started"] = True  # no reference layers read ahead in a background thread
    wb = w.Workbench()
    wb.__panel__()  # outside a server the deferred load runs at once
    apply(wb.state.scenario, SMALL)
    on_loop(wb._on_run())
    assert wb.state.result is not None, wb.message.object
    yield wb
    w._WARM["started"] = warm


def test_before_any_plan_the_tab_says_what_to_do():
    import panel as pn

    from powerfirst.apps.workbench import TABS, Workbench

    pn.extension("tabulator")
    fresh = Workbench()
    fresh.__panel__()
    assert TABS.index("Network") == TABS.index("Export") - 1
    net = fresh.network
    assert net.button.disabled and net.plan is None and not net.views.visible
    assert "Run the siting screen in the Run tab first, then press Plan the network" in net.note.object
    on_loop(net._on_plan())  # pressed anyway (a stale page): a message, nothing planned
    assert "no run on show: run the siting screen in the Run tab first" in fresh.message.object
    assert net.plan is None


def test_the_plan_is_the_run_groups_on_the_candidates_of_the_run(wb, monkeypatch):
    from powerfirst.models.network import kpis

    net = wb.network
    assert not net.button.disabled and "Press Plan the network to plan on the 12 best candidates of run workbench" \
        in net.note.object
    on_loop(net._on_plan())
    plan = net.plan
    assert plan is not None, wb.message.object
    assert "Plan of run workbench: 12 candidates" in net.stage.object and "Planned in" in net.stage.object
    # by hand: the scenario of the run (the workbench's, named by the run) and the screen on show
    sc = wb.state.scenario.copy(name="workbench")
    cands, screened = scenario_run.network_candidates(sc, wb.state.result)
    hand = scenario_run.run_network(sc, candidates=cands)
    assert screened == {"sites": 197} and plan.attrs["scenario_hash"] == sc.hash
    assert set(plan.data_vars) == set(hand.data_vars)
    xr.testing.assert_equal(plan, hand)  # every variable and coordinate (attrs hold timings)
    assert list(plan["site"].values) == list(cands["site"])  # the 12 best ranked, in the screen's order
    built = hand["built_mw"].sum(["site", "tier"])
    assert float(built.sel(year=2030)) > 0  # a plan that builds something: the tables below say something
    # the tables show the plan's numbers, units in the headers
    k = kpis(hand)
    kpi = net.kpi_table.value.set_index("year")
    assert list(kpi.index) == [2028, 2030]
    np.testing.assert_allclose(kpi["cost [MUSD]"], k["cost_usd"] / 1e6)
    np.testing.assert_allclose(kpi["unserved [TWh]"], k["unserved_twh"])
    assert net.kpi_table.formatters["year"].format == "0"  # 2030, not 2,030
    sites = net.sites_table.value
    assert len(sites) == int((hand["built_mw"] > 0).sum())
    np.testing.assert_allclose(sites.groupby("year")["built [MW]"].sum().reindex([2028, 2030], fill_value=0),
                               built.values)
    ranks = dict(zip(cands["site"], cands["rank"], strict=True))
    assert all(r == ranks[s] for s, r in zip(sites["site"], sites["screen rank"], strict=True))
    country = net.country_table.value
    totals = country[country["site country"] == "total"].set_index("year")["total [MW]"]
    np.testing.assert_allclose(totals.loc[[2028, 2030]], built.values)
    assert net.views.visible and type(net.map_pane.object).__name__ == "HoloMap"  # one frame per year: a slider
    assert sorted(net.map_pane.object.keys()) == [2028, 2030]
    assert net.note.object == ""

    # planned again: the cached plan, not a new one
    def refuse(*a, **k):
        raise AssertionError("planned again")

    monkeypatch.setattr(scenario_run, "run_network", refuse)
    on_loop(net._on_plan())
    assert net.plan is plan and "Made before for this scenario and run" in net.stage.object
    # another session on the same (public) demo sites and scenario: its run and its plan are the cached ones
    from powerfirst.apps.workbench import Workbench

    other = Workbench()
    other.__panel__()
    apply(other.state.scenario, SMALL)
    on_loop(other._on_run())
    assert other.state.result is wb.state.result and other.network.plan is plan


@pytest.mark.parametrize("changes, expected", [
    ({"network.years": [2060]}, "years [2060] lie outside the demand cube (2014–2035)"),
    ({"network.regions": ["US", "Europe"], "network.sovereignty": "national"},
     "the 'national' sovereignty rule is infeasible"),
    ({"network.years": [2027]}, "none of the 12 candidates has power for one module (5 MW) by the end of any plan "
                                "year (2027)"),
])
def test_a_failed_plan_is_a_message_and_the_plan_on_show_stays(wb, changes, expected):
    net = wb.network
    if net.plan is None:
        on_loop(net._on_plan())
    before, kpi = net.plan, net.kpi_table.value
    keep = {k: getattr(getattr(wb.state.scenario, k.split(".")[0]), k.split(".")[1]) for k in changes}
    try:
        apply(wb.state.scenario, changes)
        on_loop(net._on_plan())
    finally:
        apply(wb.state.scenario, keep)
    msg = wb.message.object
    assert "pf-error" in msg and html.escape(expected) in msg and "Traceback" not in msg
    assert msg.count("<br>") <= 12  # a long list of problems is cut short
    assert net.plan is before and net.kpi_table.value is kpi and net.views.visible
    assert "No plan made" in net.stage.object and "The plan of run workbench stays on show" in net.stage.object
    assert not net.button.disabled and not net.progress.visible


def test_an_unexpected_error_shows_a_reference_and_keeps_the_plan(wb, monkeypatch, caplog):
    import logging


    net = wb.network
    if net.plan is None:
        on_loop(net._on_plan())
    before = net.plan

    def broken(*a, **k):
        raise ZeroDivisionError("secret internal detail")

    monkeypatch.setattr(scenario_run, "run_network", broken)
    wb.state.scenario.network.mip_gap = 0.02  # another scenario: not in the cache
    try:
        with caplog.at_level(logging.ERROR, logger="powerfirst.workbench"):
            on_loop(net._on_plan())
    finally:
        wb.state.scenario.network.mip_gap = 0.01
    msg = wb.message.object
    assert "Something went wrong while planning the network (reference E-" in msg
    assert "secret internal detail" not in msg and "ZeroDivisionError: secret internal detail" in caplog.text
    assert net.plan is before


def test_cancel_stops_the_plan_frees_the_server_and_keeps_the_plan_on_show(wb, monkeypatch):
    """Cancel while the plan runs: the plan's ``cancel`` event is set (run_network stops at its next
    check or inside HiGHS, tests/models/network/test_optimise.py), the stage line says so, the plan
    on show stays, the server's plan lock is free and the buttons are back."""
    from powerfirst.apps._workbench_network import PLAN_LOCK
    from powerfirst.errors import Cancelled

    net = wb.network
    if net.plan is None:
        on_loop(net._on_plan())
    before = net.plan
    entered = threading.Event()

    def slow(sc, *, candidates, cancel):
        entered.set()
        assert cancel.wait(60), "the Cancel button did not set the plan's event"
        Cancelled.check(cancel, "the network plan was cancelled (in the branch and bound)")

    monkeypatch.setattr(scenario_run, "run_network", slow)
    wb.state.scenario.network.mip_gap = 0.03  # another scenario: not in the cache
    try:
        t = threading.Thread(target=asyncio.run, args=(net._on_plan(),))
        t.start()
        assert entered.wait(60)
        assert not net.cancel_button.disabled and net.button.disabled
        net._on_cancel()
        assert "Cancelling" in net.stage.object and net.cancel_button.disabled
        t.join(60)
        assert not t.is_alive()
    finally:
        wb.state.scenario.network.mip_gap = 0.01
    assert "Plan cancelled: nothing was changed. The plan of run workbench stays on show." in net.stage.object
    assert net.plan is before and net.views.visible
    assert net.cancel_button.disabled and not net.button.disabled and not net.progress.visible
    assert PLAN_LOCK.acquire(blocking=False)  # the server's plan queue is free
    PLAN_LOCK.release()
    net._on_cancel()  # nothing going: nothing happens
    assert "Plan cancelled" in net.stage.object


def test_a_new_run_leaves_the_plan_of_the_old_one_marked_and_an_upload_plans_privately(wb):
    from powerfirst.apps._workbench_network import plan_key

    net = wb.network
    if net.plan is None:
        on_loop(net._on_plan())
    plan = net.plan
    assert wb.state.upload("s.csv", b"site_id,name,lat,lon,country,ba,target_mw\nWB-1,Alpha,39.11,-77.45,US,PJM,50\n"
                                    b"WB-2,Bravo,40.19,-82.71,US,PJM,60\nWB-3,Charlie,32.9,-97.0,US,ERCO,75\n")
    wb.state.label = "upload-run"
    try:
        on_loop(wb._on_run())
        assert wb.state.run_name == "upload-run" and wb.state.result.sizes["site"] == 3
        assert net.plan is plan  # the old plan stays, marked as another run's
        assert "made from an earlier run (workbench); the run on show is upload-run" in net.note.object
        sc, key, private, _ = net._target()
        assert private and key == (sc.hash, wb.state.runs["upload-run"].scenario_hash, wb.state.sites_hash)
        assert plan_key(sc, wb.state.runs["workbench"], wb.state.cache)[1] is False  # the demo run's: shared
    finally:
        wb.state.label = "workbench"
        wb.state.use_demo_sites()


def test_a_link_opens_the_network_tab_and_the_tab_is_written_into_the_link():
    import panel as pn
    from panel.io.location import Location

    from powerfirst.apps._workbench_share import decode_link, share_field, sync_location
    from powerfirst.apps.workbench import TABS, Workbench

    pn.extension("tabulator")
    assert decode_link("?tab=network").tab == "Network"
    fresh = Workbench()
    fresh.__panel__()
    loc = Location(search="?tab=Network")
    sync_location(fresh, location=loc, field=share_field())
    assert fresh.tabs.active == TABS.index("Network")
    fresh.tabs.active = TABS.index("Export")
    assert decode_link(loc.search).tab == "Export"
    fresh.tabs.active = TABS.index("Network")
    assert decode_link(loc.search).tab == "Network"


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
                            env=dict(os.environ), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
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


#: the titles of the plots of the page (drawn on the canvas, so read from the Bokeh models)
PLOT_TITLES = """
() => {
  const out = [];
  for (const doc of Bokeh.documents)
    for (const m of doc.all_models)
      if (m.type === "Title" || (m.constructor && m.constructor.name === "Title")) out.push(m.text);
  return out;
}
"""


@pytest.mark.browser
def test_screen_then_plan_shows_the_map_and_the_kpis_in_the_browser(page, served):
    from powerfirst.apps._workbench_share import encode_link
    from powerfirst.scenarios import Scenario

    sc = Scenario()
    apply(sc, SMALL)
    query = urllib.parse.urlencode(encode_link(sc, run="net-run", tab="Run"))
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(served + "/workbench?" + query, wait_until="domcontentloaded", timeout=120_000)
    page.get_by_text("Sites:").first.wait_for(timeout=120_000)  # loaded (pn.state.onload done)
    page.get_by_role("button", name="Run the siting screen").click()
    page.get_by_text("Run net-run done in").wait_for(timeout=300_000)
    page.locator(".bk-tab", has_text="Network").first.click()
    page.get_by_role("button", name="Plan the network").click()
    page.get_by_text("Plan of run net-run: 12 candidates").wait_for(timeout=300_000)
    page.locator("canvas").first.wait_for(state="visible", timeout=60_000)
    page.wait_for_function(f"() => ({PLOT_TITLES})().some(t => t.startsWith('Network plan 2028'))", timeout=60_000)
    # the KPI table: a row per plan year, units in the headers
    titles = page.locator(".tabulator-col-title").all_inner_texts()
    assert {"year", "cost [MUSD]", "energy served [TWh]", "unserved [TWh]", "built [MW]", "total [MW]"} <= set(titles)
    years = page.locator('.tabulator-cell[tabulator-field="year"]').all_inner_texts()
    assert years[:2] == ["2028", "2030"] and "2,030" not in years
    # the year slider moves the map to the next plan year
    page.locator(".noUi-handle").first.focus()
    page.keyboard.press("ArrowRight")
    page.wait_for_function(f"() => ({PLOT_TITLES})().some(t => t.startsWith('Network plan 2030'))", timeout=60_000)
    assert "Traceback" not in page.content()
    assert not errors, f"JavaScript errors: {errors}"
