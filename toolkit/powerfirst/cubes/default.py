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

__all__ = ["demo_energy_path", "ensure_demo_cubes", "load_demo_cubes", "build_energy_store", "estimate_bytes"]


def demo_energy_path() -> Path:
    return cube_dir() / "energy_demo.zarr"


def _validated_block(block: xr.Dataset) -> xr.Dataset:
    """One chunk of the energy cube, its values checked against the schema before it is written."""
    from powerfirst.schema import validate

    validate(block, "energy", values=True)
    return block


def estimate_bytes(n_sites: int, n_variables: int, hours: int = 8760, itemsize: int = 8) -> int:
    """Uncompressed size of an energy cube [bytes]."""
    return int(n_sites) * int(hours) * int(n_variables) * int(itemsize)


def build_energy_store(sites, out, *, weather=None, scheduler=None, chunk_sites: int = 32,
                       progress: bool = True, overwrite: bool = False) -> str:
    """Build, validate and write the energy cube of ``sites`` (``'demo'``, a file or a Dataset) to ``out``.

    The cube is computed and written chunk by chunk (``chunk_sites`` sites at a time, each chunk's
    values validated before it is stored), so memory stays bounded whatever the number of sites;
    the store appears under ``out`` only when complete.  ``out`` is checked before anything is
    computed (:func:`powerfirst.io.store.check_output`).  ``out`` ending in ``.nc`` exports NetCDF,
    anything else is a Zarr store.  Computation runs on the given Dask scheduler (address), else
    in-process threads with a progress bar on stderr.

    Parameters
    ----------
    sites : 'demo', path or xarray.Dataset
        The sites.
    out : path
        Output store.
    weather : list of paths, optional
        Typical-year weather files (default: the offline stations).
    scheduler : str, optional
        Dask scheduler address.
    chunk_sites : int
        Sites per chunk; the memory of one chunk is about ``chunk_sites`` x 8,760 h x 11
        variables x 8 bytes (0.8 MB per site) per thread.
    progress : bool
        Progress bar and size estimate on stderr.
    overwrite : bool
        Replace an existing store written by powerfirst.
    """
    import dask
    from dask.diagnostics import ProgressBar

    from powerfirst.cubes.energy import OUTPUT_VARIABLES, build_energy_cube
    from powerfirst.io.store import check_output, write_netcdf, write_zarr_blocks
    from powerfirst.io.weather import read_weather
    from powerfirst.schema import check

    t0 = time.perf_counter()
    check_output(out, overwrite=overwrite)
    if isinstance(sites, xr.Dataset):
        ds_sites, src = sites, sites.attrs.get("source", "")
    else:
        path = demo_sites_path() if str(sites) == "demo" else Path(sites)
        ds_sites, src = read_sites(path), file_hash(path)
    wx = read_weather(weather) if weather else None
    cube = build_energy_cube(ds_sites, wx, chunk_sites=chunk_sites)
    cube.attrs["sites_sha256"] = src
    problems = check(cube, "energy", values=False)  # coordinates and metadata, before computing
    if problems:
        from powerfirst.errors import ValidationError

        raise ValidationError(problems, what="energy cube")
    client = None
    if scheduler:
        from powerfirst.compute import client as make_client

        client = make_client(scheduler)
    try:
        if progress:
            n = cube.sizes["site"]
            size = estimate_bytes(n, len(OUTPUT_VARIABLES), cube.sizes["time"])
            print(f"building the energy cube: {n} sites x {cube.sizes['time']} h, {size / 1e9:.2f} GB "
                  f"uncompressed, computed {chunk_sites} sites per task and written {max(int(chunk_sites), 8 * int(chunk_sites))} at a time to {out}", file=sys.stderr)
        if str(out).endswith(".nc"):  # NetCDF export: one file, written by xarray chunk by chunk
            ctx = ProgressBar(out=sys.stderr) if (progress and client is None) else dask.config.set({})
            with ctx:
                write_netcdf(xr.map_blocks(_validated_block, cube, template=cube), out, overwrite=overwrite)
        else:
            write_zarr_blocks(cube, out, dim="site", batch=max(int(chunk_sites), 8 * int(chunk_sites)),
                              check=_validated_block, overwrite=overwrite, progress=progress)
    finally:
        if client is not None:
            client.close()
    if progress:
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
        build_energy_store("demo", path, overwrite=True)
    return path


def load_demo_cubes() -> tuple[xr.Dataset, xr.Dataset]:
    """The demo sites and their energy cube (built first if needed), lazily opened."""
    from powerfirst.io.store import read_zarr

    path = ensure_demo_cubes()
    return read_sites(demo_sites_path()), read_zarr(path)
