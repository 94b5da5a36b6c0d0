"""Benchmark: concurrent sessions of the served dashboards, on loopback only.

``powerfirst serve`` is started in a subprocess on 127.0.0.1 (a free port). After one warm-up
load per app (the shared caches fill), ``CLIENTS`` (default 50) clients each open one page at the
same moment (``GET /<app>``, which makes the server build that browser session's document: the
server side of a rendered page) and the latencies are measured. Bounded: one request per client,
a 300 s timeout each, and the server is stopped at the end.

Baseline, timed in the same run: the same pages requested one after another (serial), so the
ratio says what concurrency costs; and with ``--num-procs 2`` when the platform can fork.
Last line: JSON with ``clients``, ``p50_s``, ``p95_s``, ``failed`` per configuration.
"""

from __future__ import annotations

import concurrent.futures as cf
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np

from _common import REPO, report

CLIENTS = int(os.environ.get("POWERFIRST_BENCH_CLIENTS", 50))
APPS = ("overview", "headroom", "time_to_power", "demand", "flexibility")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(extra: list[str]) -> tuple[subprocess.Popen, str]:
    port = free_port()
    exe = str(Path(sys.executable).with_name("powerfirst"))
    # its own process group: --num-procs forks workers, which are stopped with the group
    proc = subprocess.Popen([exe, "serve", "--port", str(port), "--address", "127.0.0.1", *extra], cwd=REPO,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 180
    while time.time() < deadline:
        try:
            urllib.request.urlopen(url + "/overview", timeout=60).read()
            return proc, url
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError("powerfirst serve exited") from None
            time.sleep(0.5)
    stop(proc)
    raise RuntimeError("powerfirst serve did not answer within 180 s")


def stop(proc: subprocess.Popen) -> None:
    """Stop the server and every worker it forked (its process group)."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(20)
            time.sleep(1)
        except subprocess.TimeoutExpired:
            continue


def load(url: str) -> float | None:
    t0 = time.perf_counter()
    try:
        with urllib.request.urlopen(url, timeout=300) as r:
            r.read()
            if r.status != 200:
                return None
    except OSError:
        return None
    return time.perf_counter() - t0


def measure(extra: list[str]) -> dict:
    proc, url = start(extra)
    try:
        for a in APPS:  # warm-up: one session per app fills the shared caches
            load(f"{url}/{a}")
        serial = [load(f"{url}/{APPS[i % len(APPS)]}") for i in range(len(APPS) * 2)]
        urls = [f"{url}/{APPS[i % len(APPS)]}" for i in range(CLIENTS)]
        t0 = time.perf_counter()
        with cf.ThreadPoolExecutor(CLIENTS) as ex:
            lat = list(ex.map(load, urls))
        wall = time.perf_counter() - t0
    finally:
        stop(proc)
    ok = np.array([x for x in lat if x is not None])
    ser = np.array([x for x in serial if x is not None])
    return {"p50_s": round(float(np.percentile(ok, 50)), 2) if ok.size else None,
            "p95_s": round(float(np.percentile(ok, 95)), 2) if ok.size else None,
            "max_s": round(float(ok.max()), 2) if ok.size else None,
            "wall_s": round(wall, 2), "failed": int(sum(x is None for x in lat)),
            "serial_session_s": round(float(np.median(ser)), 3) if ser.size else None}


def main():
    one = measure([])
    figures = {"clients": CLIENTS, **{f"one_proc_{k}": v for k, v in one.items()}}
    if hasattr(os, "fork"):
        two = measure(["--num-procs", "2"])
        figures.update({f"two_procs_{k}": v for k, v in two.items()})
        if one["p95_s"] and two["p95_s"]:
            figures["p95_ratio_one_vs_two_procs"] = round(one["p95_s"] / two["p95_s"], 2)
    if one["serial_session_s"]:
        figures["p50_vs_serial_session"] = round(one["p50_s"] / one["serial_session_s"], 1)
    report("serve_load", figures)


if __name__ == "__main__":
    main()
