"""Cancelling a screen: the model's cooperative stop hook (between batches of profiles and blocks of
candidates, Dask futures cancelled) and the workbench's Cancel button (the computation stops, the run
on show stays, the server's screen lock is free again, the stage line says so)."""

from __future__ import annotations

import asyncio
import importlib
import threading
import time

import numpy as np
import pytest

from powerfirst.models import siting

screen_mod = importlib.import_module("powerfirst.models.siting.screen")

pytestmark = pytest.mark.realdata

SETTINGS = siting.ScreenSettings(tier="training", draws=20, seed=1, top_k=10, ttp_draws=300)


@pytest.fixture(scope="module")
def cands():
    from powerfirst.io.sites import read_sites
    from powerfirst.paths import demo_sites_path

    return siting.annotate(siting.site_candidates(read_sites(demo_sites_path()))).iloc[:60]


def _counting(monkeypatch):
    calls = []
    block = screen_mod._block

    def counted(*a, **k):
        calls.append(len(a[0]))
        return block(*a, **k)

    monkeypatch.setattr(screen_mod, "_block", counted)
    return calls


def test_should_stop_stops_between_blocks_and_reports_them(cands, monkeypatch):
    calls = _counting(monkeypatch)
    asked = []

    def stop_after_three(stage, done, total):
        asked.append((stage, done, total))
        return stage == "blocks" and done == 3

    with pytest.raises(siting.Cancelled, match=r"blocks: 3 of 6 done"):
        siting.screen(cands, settings=SETTINGS, chunk=10, should_stop=stop_after_three)
    assert calls == [10, 10, 10]  # 60 candidates in blocks of 10: three computed, then stopped
    blocks = [a for a in asked if a[0] == "blocks"]
    assert blocks == [("blocks", 0, 6), ("blocks", 1, 6), ("blocks", 2, 6), ("blocks", 3, 6)]
    assert asked[0][0] == "profiles" and asked[0][1] == 0  # asked before the time-to-power profiles too


def test_stop_during_the_profiles_computes_no_block(cands, monkeypatch):
    calls = _counting(monkeypatch)
    with pytest.raises(siting.Cancelled, match="profiles"):
        siting.screen(cands, settings=SETTINGS, chunk=10, should_stop=lambda stage, done, total: stage == "profiles")
    assert calls == []


def test_a_hook_that_never_stops_changes_nothing(cands):
    seen = []
    a = siting.screen(cands, settings=SETTINGS, chunk=25)
    b = siting.screen(cands, settings=SETTINGS, chunk=25, should_stop=lambda *x: seen.append(x) and False)
    for v in ("score", "rank", "p_top_k", "score_draws", "ttp_p50"):
        np.testing.assert_array_equal(a[v].values, b[v].values, err_msg=v)
    assert ("blocks", 2, 3) in seen and ("blocks", 3, 3) not in seen  # asked before each of the 3 blocks


def test_on_a_dask_client_the_futures_are_cancelled(cands):
    from distributed import Client

    with Client(processes=False, n_workers=1, threads_per_worker=1, dashboard_address=None) as client:
        with pytest.raises(siting.Cancelled) as exc:
            siting.screen(cands, settings=SETTINGS, chunk=5, client=client,
                          should_stop=lambda stage, done, total: stage == "blocks")

        def blocks_held(dask_scheduler):
            return [str(k) for k in dask_scheduler.tasks if "screen-block" in str(k)]

        deadline = time.time() + 20
        while client.run_on_scheduler(blocks_held) and time.time() < deadline:
            time.sleep(0.1)
        # the traceback (held by ``exc``) still references the futures: only a cancel frees the tasks
        assert exc.value is not None and client.run_on_scheduler(blocks_held) == []


# ------------------------------------------------------------------------------------ the app


def _run_in_thread(wb):
    t = threading.Thread(target=asyncio.run, args=(wb._on_run(),))
    t.start()
    return t


def test_cancel_button_stops_the_run_and_keeps_the_previous_one(monkeypatch):
    import panel as pn

    from powerfirst.apps import workbench as w
    from powerfirst.apps._workbench_state import SCREEN_LOCK

    pn.extension("tabulator")
    wb = w.Workbench()
    wb.__panel__()
    wb.state.scenario.siting.draws = 20
    assert wb.cancel_button.disabled  # no run going
    t = _run_in_thread(wb)
    t.join(600)
    first, first_name = wb.state.result, wb.state.run_name
    assert first is not None and "done in" in wb.stage.object and wb.cancel_button.disabled
    # a second run with other settings, one candidate per block and each block slowed down
    calls = []
    block = screen_mod._block

    def slow(*a, **k):
        calls.append(1)
        time.sleep(0.05)
        return block(*a, **k)

    monkeypatch.setattr(screen_mod, "_block", slow)
    wb.state.label = "slow"
    wb.state.scenario.siting.chunk = 1
    wb.state.scenario.siting.tier = "edge"
    n = wb.state.sites.sizes["site"]
    t = _run_in_thread(wb)
    deadline = time.time() + 300
    while "block" not in wb.stage.object and time.time() < deadline:
        time.sleep(0.05)
    assert f"of {n} …" in wb.stage.object and not wb.cancel_button.disabled  # "block i of n" while it runs
    wb.cancel_button.clicks += 1
    t.join(120)
    assert not t.is_alive()
    assert "Run cancelled" in wb.stage.object and f"run {first_name} is still on show" in wb.stage.object
    assert 0 < len(calls) < n  # the computation stopped, it was not only hidden
    stopped = len(calls)
    time.sleep(0.5)
    assert len(calls) == stopped
    assert wb.state.result is first and list(wb.state.runs) == [first_name]
    assert wb.cancel_button.disabled and not wb.run_button.disabled
    assert SCREEN_LOCK.acquire(blocking=False)  # released
    SCREEN_LOCK.release()
