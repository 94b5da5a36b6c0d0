"""The one data layer of the apps: the scenario an app starts from and the loads every app shares.

Each app's state is a :class:`~powerfirst.scenarios.Scenario`; what an app reads follows from it
through the wiring helpers of :mod:`powerfirst.scenarios.run`.  The loads that are expensive and
the same for every browser session are cached for the server's lifetime with ``pn.cache``, keyed
by the settings they depend on:

* :func:`grid_cube` — the grid cube of ``grid.source``, ``grid.years``, ``grid.bas`` (and
  ``grid.screen``), read by :func:`powerfirst.scenarios.run.load_grid`;
* :func:`demo_cubes` — the demo sites and their energy cube
  (:func:`powerfirst.cubes.default.load_demo_cubes`);
* :func:`demand_cube` — the demand cube of ``demand.scenarios``, ``demand.regions``, ``demand.years``.

The cached objects are shared between sessions: apps read them and never change them.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path

import panel as pn
import xarray as xr

from powerfirst.paths import shared_data_dir
from powerfirst.scenarios.run import load_energy, load_grid, load_sites, uses_demo_energy
from powerfirst.scenarios.spec import Scenario

__all__ = ["default_source", "default_scenario", "grid_cube", "demo_cubes", "sites_and_energy", "demand_cube",
           "sites_note", "no_grid_message"]


def default_source() -> Path | None:
    """The EIA-930 source of the apps: ``$POWERFIRST_EIA930_SOURCE``, else ``eia930`` of the shared
    data folder (:func:`powerfirst.paths.shared_data_dir`) when present; None when neither exists."""
    env = os.environ.get("POWERFIRST_EIA930_SOURCE")
    if env:
        return Path(env)
    shared = shared_data_dir()
    return shared / "eia930" if shared is not None and (shared / "eia930").is_dir() else None


def default_scenario(**settings) -> Scenario:
    """A new scenario (one per session) with the default settings and ``grid.source`` =
    :func:`default_source`; ``settings`` as ``{'section.key': value}`` replace defaults."""
    sc = Scenario(name="apps")
    src = default_source()
    sc.grid.source = None if src is None else str(src)
    for key, value in settings.items():
        section, _, name = key.partition(".")
        setattr(getattr(sc, section), name, value)
    return sc


@pn.cache(max_items=8)
def _grid(source: str, years: tuple[int, int], bas: tuple[str, ...], screen: bool) -> xr.Dataset:
    sc = Scenario()
    sc.grid.source, sc.grid.years, sc.grid.bas, sc.grid.screen = source, years, list(bas), screen
    return load_grid(sc).load()


def grid_cube(scenario: Scenario, *, bas: Sequence[str] | None = None,
              years: tuple[int, int] | None = None) -> xr.Dataset | None:
    """The grid cube (``ba`` x ``time``) of the scenario's grid settings, read once per server; None
    without ``grid.source``.  ``bas`` and ``years`` stand in for ``grid.bas`` and ``grid.years``."""
    g = scenario.grid
    if not g.source:
        return None
    bas = tuple(g.bas) if bas is None else tuple(bas)
    years = tuple(g.years) if years is None else tuple(years)
    return _grid(str(g.source), (int(years[0]), int(years[-1])), tuple(map(str, bas)), bool(g.screen))


@pn.cache
def demo_cubes() -> tuple[xr.Dataset, xr.Dataset]:
    """The demo sites and their energy cube (lazy), opened once per server."""
    from powerfirst.cubes.default import load_demo_cubes

    return load_demo_cubes()


def sites_and_energy(scenario: Scenario) -> tuple[xr.Dataset, xr.Dataset]:
    """The scenario's sites and their energy cube (lazy): the cached demo cubes for the demo sites
    with default weather, else :func:`~powerfirst.scenarios.run.load_sites` and
    :func:`~powerfirst.scenarios.run.load_energy`."""
    if uses_demo_energy(scenario):
        sites, energy = demo_cubes()
        if scenario.sites.select:
            sites = load_sites(scenario)
            energy = energy.sel(site=sites["site"].values)
        return sites, energy
    sites = load_sites(scenario)
    return sites, load_energy(scenario, sites)


@pn.cache(max_items=4)
def _demand(scenarios: tuple[str, ...], regions: tuple[str, ...], years: tuple[int, int]) -> xr.Dataset:
    from powerfirst.models.forecast import demand_cube as build

    return build(list(scenarios), list(regions), tuple(range(years[0], years[1] + 1)))


def demand_cube(scenario: Scenario) -> xr.Dataset:
    """The demand cube of ``demand.scenarios``, ``demand.regions`` (default: every region of the
    model) and ``demand.years``, built once per server."""
    from powerfirst.models.forecast.annual import REGIONS

    d = scenario.demand
    regions = tuple(d.regions) or tuple(REGIONS)
    return _demand(tuple(d.scenarios), regions, (int(d.years[0]), int(d.years[1])))


def sites_note(scenario: Scenario, sites: xr.Dataset | None = None) -> str:
    """One sentence saying where the sites come from (for a sidebar)."""
    from powerfirst.paths import demo_sites_path

    source = sites.attrs.get("source") if sites is not None else None
    if source is None:
        source = "demo" if scenario.sites.source == "demo" else scenario.sites.source
    demo = source == "demo" or Path(source).resolve() == demo_sites_path().resolve()
    return "Demo sites are illustrative." if demo else f"Sites from `{Path(source).name}`."


def no_grid_message(scenario: Scenario) -> str:
    """What to do when the scenario has no grid data (Markdown)."""
    if scenario.grid.source:
        return f"The grid source `{scenario.grid.source}` holds no hourly demand for these balancing authorities."
    return ("No EIA-930 data: the scenario has no grid source. Set `grid.source` to a folder with the cleaned "
            "releases or EIA-930 files, or set `POWERFIRST_EIA930_SOURCE` (default: `eia930` in "
            "`../shared/data` or `$POWERFIRST_SHARED_DATA`).")


# ---------------------------------------------------------------- model results shared by sessions

_RESULTS: OrderedDict = OrderedDict()
_RESULTS_LOCK = threading.Lock()
#: model results kept for all sessions (least recently used dropped first)
MAX_SHARED_RESULTS = 64


class SharedResults:
    """A dict-like cache of one app state's model results, shared by every browser session whose
    inputs are the same files (``inputs`` key: their content hashes and the data settings).

    A new session of the same app on the same inputs and settings then reuses the results instead
    of running the model again, which keeps session creation cheap.  With ``inputs=None`` (data
    built in Python, no file hash) the cache is private to the session.  Cached results are
    shared objects: apps only read them.
    """

    def __init__(self, app: str, inputs):
        self._ns = None if inputs is None else (app, inputs)
        self._own: dict = {}

    def _k(self, key):
        return (self._ns, key)

    def __contains__(self, key) -> bool:
        if self._ns is None:
            return key in self._own
        with _RESULTS_LOCK:
            return self._k(key) in _RESULTS

    def __getitem__(self, key):
        if self._ns is None:
            return self._own[key]
        with _RESULTS_LOCK:
            _RESULTS.move_to_end(self._k(key))
            return _RESULTS[self._k(key)]

    def __setitem__(self, key, value) -> None:
        if self._ns is None:
            self._own[key] = value
            return
        with _RESULTS_LOCK:
            _RESULTS[self._k(key)] = value
            while len(_RESULTS) > MAX_SHARED_RESULTS:
                _RESULTS.popitem(last=False)


def inputs_key(scenario: Scenario, *datasets) -> tuple | None:
    """What a state's results depend on besides its own settings: the content hashes of its input
    Datasets and the scenario's data settings; None when an input has no file hash."""
    from powerfirst._provenance import input_hashes

    hashes = input_hashes(**{f"d{i}": d for i, d in enumerate(datasets)})
    if "in-memory" in hashes or (not datasets and scenario.grid.source is None):
        return None
    g = scenario.grid
    return hashes, g.source, tuple(g.years), tuple(g.bas), g.screen, repr(sorted(scenario.weather.to_dict().items()))
