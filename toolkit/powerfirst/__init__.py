"""powerfirst: energy-first siting of AI compute.

The public API, re-exported::

    import powerfirst as pf
    sites = pf.read_sites("sites.csv")            # or pf.demo_sites()
    grid = pf.read_eia930(["EIA930_BALANCE_2024_Jan_Jun.csv"])
    energy = pf.build_energy_cube(sites)          # lazy, Dask-backed
    energy.pf.validate(); energy.pf.to_zarr("energy.zarr")

Layers (each imports only those to its left): io → cubes → models →
scenarios → viz → apps.
"""

from powerfirst._version import __version__
from powerfirst.cubes import accessor as _accessor  # noqa: F401  (registers ds.pf)
from powerfirst.errors import DataFormatError, PowerfirstError, Problem, ValidationError
from powerfirst.cubes.grid import flag_report, read_eia930
from powerfirst.io.eia930_releases import NORRIS_BAS
from powerfirst.cubes.grid import read_cleaned_releases
from powerfirst.io.facts import fact, read_facts
from powerfirst.io.sites import read_sites, sites_to_frame
from powerfirst.io.store import read_netcdf, read_zarr, write_netcdf, write_zarr
from powerfirst.io.weather import default_stations, read_weather
from powerfirst.schema import check, validate

__all__ = [
    "NORRIS_BAS",
    "DataFormatError",
    "PowerfirstError",
    "Problem",
    "ValidationError",
    "__version__",
    "check",
    "demo_sites",
    "fact",
    "flag_report",
    "read_cleaned_releases",
    "read_eia930",
    "read_facts",
    "read_netcdf",
    "read_sites",
    "read_weather",
    "read_zarr",
    "default_stations",
    "build_energy_cube",
    "energy_cube_summary",
    "sites_to_frame",
    "validate",
    "write_netcdf",
    "write_zarr",
]


def build_energy_cube(*args, **kwargs):
    """See :func:`powerfirst.cubes.energy.build_energy_cube`."""
    from powerfirst.cubes.energy import build_energy_cube as _build

    return _build(*args, **kwargs)


def energy_cube_summary(*args, **kwargs):
    """See :func:`powerfirst.cubes.energy.energy_cube_summary`."""
    from powerfirst.cubes.energy import energy_cube_summary as _summary

    return _summary(*args, **kwargs)


def demo_sites():
    """The embedded illustrative demo sites (``data/demo/sites.csv``) as a site Dataset."""
    from powerfirst.paths import demo_sites_path

    return read_sites(demo_sites_path())
