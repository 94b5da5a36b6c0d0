"""The screen on a Dask cluster started the way users start one: ``dask scheduler`` and two ``dask worker``
processes on 127.0.0.1, reached through ``POWERFIRST_SCHEDULER``; the results equal the in-process screen,
also when a worker is killed mid-screen (its tasks are pure and run again on the other worker)."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from powerfirst.models import siting

pytestmark = [pytest.mark.realdata, pytest.mark.slow]

BIN = Path(sys.executable).parent
ARGS = ["screen", "--region", "US-TX", "--resolution", "4", "--draws", "30", "--top", "20", "--all",
        "--chunk", "12", "--format", "json"]


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def cluster():
    port = _port()
    addr = f"tcp://127.0.0.1:{port}"
    procs = [subprocess.Popen([str(BIN / "dask"), "scheduler", "--host", "127.0.0.1", "--port", str(port),
                               "--no-dashboard"], start_new_session=True, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)]
    for _ in range(2):
        procs.append(subprocess.Popen([str(BIN / "dask"), "worker", addr, "--nthreads", "1", "--no-nanny",
                                       "--no-dashboard", "--memory-limit", "4GiB", "--host", "127.0.0.1"],
                                      start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    from distributed import Client

    client = None
    try:
        deadline = time.time() + 60
        while client is None:
            try:
                client = Client(addr, timeout=5)
            except OSError:
                if time.time() > deadline:
                    raise
                time.sleep(0.5)
        client.wait_for_workers(2, timeout=60)
        yield addr, client, procs
    finally:
        if client is not None:
            client.close()
        for p in procs:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
            p.wait(timeout=30)


def _cli(env_extra=None):
    env = {k: v for k, v in os.environ.items() if k != "POWERFIRST_SCHEDULER"}
    env.update(env_extra or {})
    return subprocess.Popen([str(BIN / "powerfirst"), *ARGS], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def test_cluster_screen_equals_local_even_when_a_worker_dies(cluster):
    addr, client, procs = cluster
    local = _cli()
    out_local, err_local = local.communicate(timeout=900)
    assert local.returncode == 0, err_local
    remote = _cli({"POWERFIRST_SCHEDULER": addr})
    # wait until the screen's blocks run on the cluster, then kill one worker (SIGKILL, no goodbye)
    deadline = time.time() + 600
    killed = False
    while time.time() < deadline and remote.poll() is None:
        keys = client.run_on_scheduler(lambda dask_scheduler: [str(k) for k, ts in dask_scheduler.tasks.items()
                                                               if str(k).startswith("screen-block")
                                                               and ts.state == "memory"])
        if keys:
            os.killpg(procs[1].pid, signal.SIGKILL)
            killed = True
            break
        time.sleep(0.2)
    out_remote, err_remote = remote.communicate(timeout=900)
    assert remote.returncode == 0, err_remote
    assert killed, "the screen finished before a worker could be killed"
    assert len(client.scheduler_info()["workers"]) == 1
    a, b = json.loads(out_local), json.loads(out_remote)
    assert len(a) == len(b) > 300
    assert a == b


def test_api_on_the_cluster_equals_in_process(cluster, monkeypatch):
    addr, client, _ = cluster
    cands = siting.annotate(siting.grid_candidates("US-TX", 4)).iloc[:120]
    settings = siting.ScreenSettings(tier="edge", draws=25, seed=5, top_k=10, ttp_draws=300)
    here = siting.screen(cands, settings=settings, chunk=50)
    there = siting.screen(cands, settings=settings, chunk=17, client=client)
    for v in ("score", "pillar_score", "score_draws", "p_top_k", "rank", "ttp_p50", "population_within_cap"):
        np.testing.assert_array_equal(here[v].values, there[v].values, err_msg=v)
