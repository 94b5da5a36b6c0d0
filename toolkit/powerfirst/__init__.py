"""powerfirst: energy-first siting of AI compute.

The front door::

    import powerfirst as pf

    sites = pf.read_sites("sites.csv")                  # or pf.demo_sites()
    grid = pf.open_grid("../shared/data/eia930")        # the grid cube (ba x time), any EIA-930 source
    energy = pf.build_energy_cube(sites)                # lazy, Dask-backed (site x time)
    hr = pf.flexible_headroom(grid["demand"])           # headroom per BA and curtailment limit
    ttp = pf.time_to_power(sites)                       # time to power per site and path
    disp = pf.dispatch(energy.load(), sites)            # storage / on-site generation / flexibility
    demand = pf.demand_cube()                           # data-centre TWh by region, year, scenario

    sc = pf.Scenario.from_yaml("examples/scenarios/demo.yaml")
    results = sc.run()                                  # an xarray.DataTree, one group per model
    pf.to_zarr(results, "results.zarr"); pf.open_results("results.zarr")

Layers (each imports only those below it; ``lint-imports`` checks it): io → cubes → models →
scenarios → viz → apps / commands.  The model functions and the scenario layer are imported on
first use, so ``import powerfirst`` stays light.
"""

from importlib import import_module

from powerfirst._version import __version__
from powerfirst.cubes import accessor as _accessor  # noqa: F401  (registers ds.pf)
from powerfirst.errors import DataFormatError, PowerfirstError, Problem, ValidationError
from powerfirst.io.eia930_releases import NORRIS_BAS
from powerfirst.io.facts import fact, read_facts
from powerfirst.io.sites import read_sites, sites_to_frame
from powerfirst.io.store import read_netcdf, read_zarr, write_netcdf, write_zarr
from powerfirst.io.weather import default_stations, read_weather
from powerfirst.schema import check, validate

#: names imported on first use: name -> module
_LAZY = {
    # cubes
    "open_grid": "powerfirst.cubes.grid",
    "read_eia930": "powerfirst.cubes.grid",
    "read_cleaned_releases": "powerfirst.cubes.grid",
    "flag_report": "powerfirst.cubes.grid",
    "build_energy_cube": "powerfirst.cubes.energy",
    "energy_cube_summary": "powerfirst.cubes.energy",
    # models: headroom
    "flexible_headroom": "powerfirst.models.headroom",
    "seasonal_thresholds": "powerfirst.models.headroom",
    "curtailment_events": "powerfirst.models.headroom",
    "site_flex_requirements": "powerfirst.models.headroom",
    "future_headroom": "powerfirst.models.headroom",
    # models: time to power
    "time_to_power": "powerfirst.models.time_to_power",
    "best_path": "powerfirst.models.time_to_power",
    "prob_energised_by": "powerfirst.models.time_to_power",
    "fit_stage_durations": "powerfirst.models.time_to_power",
    # models: dispatch
    "dispatch": "powerfirst.models.dispatch",
    "solve_site_lp": "powerfirst.models.dispatch",
    "sizing_tradeoff": "powerfirst.models.dispatch",
    "vpp_peak_reduction": "powerfirst.models.dispatch",
    "site_load_dataset": "powerfirst.models.dispatch",
    # models: forecast
    "demand_cube": "powerfirst.models.forecast",
    "HourlyLoadForecaster": "powerfirst.models.forecast",
    "backtest": "powerfirst.models.forecast",
    "future_hourly_load": "powerfirst.models.forecast",
    # scenarios
    "Scenario": "powerfirst.scenarios",
    "open_results": "powerfirst.scenarios",
    "to_zarr": "powerfirst.scenarios",
    # compute
    "client": "powerfirst.compute",
    # geo
    "round_trip_ms": "powerfirst.geo",
    "haversine_km": "powerfirst.geo",
}

__all__ = [
    "NORRIS_BAS",
    "DataFormatError",
    "PowerfirstError",
    "Problem",
    "ValidationError",
    "__version__",
    "check",
    "default_stations",
    "demo_sites",
    "fact",
    "read_facts",
    "read_netcdf",
    "read_sites",
    "read_weather",
    "read_zarr",
    "sites_to_frame",
    "validate",
    "write_netcdf",
    "write_zarr",
    *_LAZY,
]


def __getattr__(name: str):
    if name in _LAZY:
        value = getattr(import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'powerfirst' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))


def demo_sites():
    """The embedded illustrative demo sites (``data/demo/sites.csv``) as a site Dataset."""
    from powerfirst.paths import demo_sites_path

    return read_sites(demo_sites_path())
