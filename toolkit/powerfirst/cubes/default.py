"""The default cubes built from the embedded demo data (``powerfirst demo``).

The energy cube of the demo sites is built once and kept as Zarr in
:func:`powerfirst.paths.cube_dir` (``data/cubes`` by default).  It is rebuilt
when missing, or when the demo site file has changed since it was built
(its hash is stored in the cube's attributes).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import xarray as xr

from powerfirst._provenance import file_hash
from powerfirst.io.sites import read_sites
from powerfirst.paths import cube_dir, demo_sites_path

__all__ = ["demo_energy_path", "ensure_demo_cubes", "load_demo_cubes", "build_energy_store"]


def demo_energy_path() -> Path:
    return cube_dir() / "energy_demo.zarr"


def build_energy_store(sites, out, *, weather=None, scheduler=None, chunk_sites: int = 32,
                       progress: bool = True) -> str:
    """Build, validate and write the energy cube of ``sites`` (``'demo'``, a file or a Dataset) to ``out``.

    ``out`` ending in ``.nc`` exports NetCDF, anything else is a Zarr store.
    Computation runs on the given Dask scheduler (address), else in-process
    threads with a progress bar on stderr.
    """
    import dask
    from dask.diagnostics import ProgressBar

    from powerfirst.cubes.energy import build_energy_cube
    from powerfirst.io.store import write_netcdf, write_zarr
    from powerfirst.io.weather import read_weather

    t0 = time.perf_counter()
    if isinstance(sites, xr.Dataset):
        ds_sites, src = sites, sites.attrs.get("source", "")
    else:
        path = demo_sites_path() if str(sites) == "demo" else Path(sites)
        ds_sites, src = read_sites(path), file_hash(path)
    wx = read_weather(weather) if weather else None
    cube = build_energy_cube(ds_sites, wx, chunk_sites=chunk_sites)
    client = None
    if scheduler:
        from powerfirst.compute import client as make_client

        client = make_client(scheduler)
    try:
        print(f"building the energy cube: {cube.sizes['site']} sites x {cube.sizes['time']} h",
              file=sys.stderr)
        ctx = ProgressBar(out=sys.stderr) if (progress and client is None) else dask.config.set({})
        with ctx:
            cube = cube.compute()
        cube.attrs["sites_sha256"] = src
        cube.pf.validate(values=True)
        if str(out).endswith(".nc"):
            write_netcdf(cube, out, overwrite=True)
        else:
            write_zarr(cube.chunk({"site": chunk_sites}), out, overwrite=True)
    finally:
        if client is not None:
            client.close()
    print(f"wrote {out} in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    return str(out)


def _stale(path: Path) -> bool:
    if not path.exists():
        return True
    from powerfirst.io.store import read_zarr

    try:
        return read_zarr(path).attrs.get("sites_sha256") != file_hash(demo_sites_path())
    except Exception:  # noqa: BLE001 - an unreadable store is rebuilt
        return True


def ensure_demo_cubes(rebuild: bool = False) -> Path:
    """Build the default energy cube if it is missing or stale; return its path."""
    path = demo_energy_path()
    if rebuild or _stale(path):
        build_energy_store("demo", path)
    return path


def load_demo_cubes() -> tuple[xr.Dataset, xr.Dataset]:
    """The demo sites and their energy cube (built first if needed), lazily opened."""
    from powerfirst.io.store import read_zarr

    path = ensure_demo_cubes()
    return read_sites(demo_sites_path()), read_zarr(path)
