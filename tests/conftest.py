"""Shared fixtures and the policy for tests that need real data or a browser.

* ``realdata`` tests read ``../shared/data`` beside the checkout (or
  ``$POWERFIRST_SHARED_DATA``).  They skip with a message when it is absent,
  and fail instead when ``POWERFIRST_REQUIRE_SHARED=1`` (CI sets it).
* ``browser`` tests need headless Chromium (``$POWERFIRST_CHROMIUM`` or
  ``/usr/bin/chromium``); they skip when it is absent and fail when
  ``POWERFIRST_REQUIRE_BROWSER=1``.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("POWERFIRST_SHARED_DATA", REPO.parent / "shared" / "data"))
REQUIRE_SHARED = os.environ.get("POWERFIRST_REQUIRE_SHARED") == "1"
REQUIRE_BROWSER = os.environ.get("POWERFIRST_REQUIRE_BROWSER") == "1"


def chromium_path() -> str | None:
    for cand in (os.environ.get("POWERFIRST_CHROMIUM"), "/usr/bin/chromium", shutil.which("chromium"),
                 shutil.which("chromium-browser")):
        if cand and Path(cand).exists():
            return cand
    return None


def pytest_runtest_setup(item):
    # every realdata / browser test skips (or fails when required) without its resource, whether or
    # not it takes the fixture (a usefixtures marker added after collection would not take effect)
    if "realdata" in item.keywords and not SHARED.is_dir():
        if REQUIRE_SHARED:
            pytest.fail(f"POWERFIRST_REQUIRE_SHARED=1 but the shared data folder is missing: {SHARED}")
        pytest.skip(f"shared data not found at {SHARED}")
    if "browser" in item.keywords and chromium_path() is None:
        if REQUIRE_BROWSER:
            pytest.fail("POWERFIRST_REQUIRE_BROWSER=1 but no Chromium found (apt-get install chromium)")
        pytest.skip("headless Chromium not found (apt-get install chromium)")


@pytest.fixture(scope="session")
def chromium() -> str:
    """Path of a headless Chromium (fails or skips when absent, see module docstring)."""
    path = chromium_path()
    if path is None:
        if REQUIRE_BROWSER:
            pytest.fail("POWERFIRST_REQUIRE_BROWSER=1 but no Chromium found (apt-get install chromium)")
        pytest.skip("headless Chromium not found (apt-get install chromium)")
    return path


@pytest.fixture(scope="session")
def shared() -> Path:
    """Path of ../shared/data (fails or skips when absent, see module docstring)."""
    if not SHARED.is_dir():
        if REQUIRE_SHARED:
            pytest.fail(f"POWERFIRST_REQUIRE_SHARED=1 but the shared data folder is missing: {SHARED}")
        pytest.skip(f"shared data not found at {SHARED}")
    return SHARED


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


@pytest.fixture
def hourly_index():
    """Factory of naive-UTC hourly DatetimeIndex objects."""

    def make(start="2023-01-01", periods=8760):
        return pd.date_range(start, periods=periods, freq="h")

    return make


@pytest.fixture
def rng():
    return np.random.default_rng(20251126)


@pytest.fixture(scope="session")
def norris_grid(shared):
    """The 22-BA grid cube 2016-2024 from the two cleaned releases (read once per session)."""
    from powerfirst.cubes.grid import read_cleaned_releases

    return read_cleaned_releases(shared / "eia930", start="2016-01-01", end="2025-01-01")


def synthetic_energy_cube(sites, year=2023):
    """A small energy cube with schema units for app and model tests (not physics)."""
    import xarray as xr

    t = pd.date_range(f"{year}-01-01", periods=8760, freq="h")
    n = sites.sizes["site"]
    hour = t.hour.values
    doy = t.day_of_year.values
    lat = sites["lat"].values[:, None]
    sun = np.clip(np.sin(np.pi * (hour - 6) / 12), 0, None)[None, :] * (1 - np.abs(lat) / 120)
    temp = 12 + 10 * np.sin(2 * np.pi * (doy - 110) / 365)[None, :] - (np.abs(lat) - 35) * 0.5
    wind = 4 + 2 * np.cos(2 * np.pi * doy / 365)[None, :] + 0.01 * np.arange(n)[:, None]
    meta = {"units": "1"}
    ds = xr.Dataset(
        {
            "ghi": (("site", "time"), 900 * sun, {"units": "W m-2", "long_name": "global horizontal irradiance"}),
            "dni": (("site", "time"), 700 * sun, {"units": "W m-2", "long_name": "direct normal irradiance"}),
            "dhi": (("site", "time"), 150 * sun, {"units": "W m-2", "long_name": "diffuse horizontal irradiance"}),
            "temp_air": (("site", "time"), temp, {"units": "degC", "long_name": "air temperature"}),
            "wind_speed": (("site", "time"), wind, {"units": "m s-1", "long_name": "wind speed"}),
            "solar_cf": (("site", "time"), 0.8 * sun, {**meta, "long_name": "solar PV capacity factor"}),
            "wind_cf": (("site", "time"), np.clip((wind - 3) / 9, 0, 1) ** 3,
                        {**meta, "long_name": "wind capacity factor"}),
            "pue": (("site", "time"), 1.1 + 0.01 * np.clip(temp - 18, 0, None),
                    {**meta, "long_name": "power usage effectiveness"}),
            "carbon_intensity": (("site", "time"), 350 + 50 * np.cos(2 * np.pi * hour / 24)[None, :] + 0 * lat,
                                 {"units": "gCO2 kWh-1", "long_name": "grid carbon intensity"}),
        },
        coords={"site": sites["site"].values, "time": t,
                **{c: ("site", sites[c].values) for c in ("lat", "lon", "name", "ba", "country")}},
        attrs={"pf_kind": "energy"},
    )
    return ds


@pytest.fixture
def small_sites():
    from powerfirst import demo_sites

    return demo_sites().isel(site=slice(0, 12))


@pytest.fixture
def energy_factory():
    """Factory of synthetic energy cubes (schema units, not physics) for app and model tests."""
    return synthetic_energy_cube


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args, chromium):
    """pytest-playwright: Debian's Chromium, headless, with the network noise switched off."""
    return {
        **browser_type_launch_args,
        "executable_path": chromium,
        "headless": True,
        "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    }


@pytest.fixture(scope="session")
def demo_cube_dir(tmp_path_factory):
    """A cube folder holding the demo energy cube, built once per session."""
    import os

    d = tmp_path_factory.mktemp("cubes")
    old = os.environ.get("POWERFIRST_CUBE_DIR")
    os.environ["POWERFIRST_CUBE_DIR"] = str(d)
    try:
        from powerfirst.cubes.default import ensure_demo_cubes

        ensure_demo_cubes()
    finally:
        if old is None:
            os.environ.pop("POWERFIRST_CUBE_DIR", None)
        else:
            os.environ["POWERFIRST_CUBE_DIR"] = old
    return d


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def served(demo_cube_dir):
    """`powerfirst serve` in a subprocess on a free port, with the demo cube already built."""
    import os
    import subprocess
    import sys
    import time
    import urllib.request

    port = free_port()
    env = {**os.environ, "POWERFIRST_CUBE_DIR": str(demo_cube_dir)}
    proc = subprocess.Popen([sys.executable, "-m", "powerfirst.cli", "serve", "--port", str(port),
                             "--address", "127.0.0.1"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}"
    # the first page builds the demo data: on a loaded 2-core machine (the suite on both cores plus other
    # jobs) it has taken over 90 s; this is a start-up deadline, not a performance check
    deadline = time.time() + 240
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"powerfirst serve exited: {proc.stdout.read()}")
        try:
            urllib.request.urlopen(url + "/overview", timeout=5)
            break
        except OSError:
            time.sleep(0.5)
    else:
        proc.kill()
        raise RuntimeError("powerfirst serve did not answer within 240 s")
    yield url
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()


def execute_notebook(path: Path, timeout: int = 300) -> tuple:
    """Execute a notebook in its own folder; return it and the text of all its code outputs."""
    import nbclient
    import nbformat

    nb = nbformat.read(path, as_version=4)
    nbclient.NotebookClient(nb, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}}).execute()
    text = "\n".join(o.get("data", {}).get("text/plain", "") + o.get("text", "")
                     for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    return nb, text
