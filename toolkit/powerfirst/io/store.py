"""Cube storage: Zarr (default) and NetCDF (export), with atomic writes.

A write goes to a sibling path first and is renamed into place only when it
is complete, so an interrupted write never leaves a half-written store under
the real name; an existing store is replaced only after the new one is whole.
Local paths are renamed atomically.  For other fsspec URLs (``s3://``,
``gs://``, ...) the store is written under a temporary prefix and moved,
which object stores do not make atomic; the temporary prefix is removed on
failure.
"""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

import numpy as np
import xarray as xr

from powerfirst.errors import DataFormatError

__all__ = ["read_zarr", "write_zarr", "write_netcdf", "read_netcdf"]


def _is_local(path) -> bool:
    s = str(path)
    return "://" not in s or s.startswith("file://")


def _local(path) -> Path:
    s = str(path)
    return Path(s[len("file://"):] if s.startswith("file://") else s)


def _encoding_without_chunks(ds: xr.Dataset) -> xr.Dataset:
    # stale encodings (chunks from a previous store) break re-chunked writes
    ds = ds.copy()
    for v in ds.variables.values():
        for key in ("chunks", "preferred_chunks", "compressors", "compressor", "filters", "shards"):
            v.encoding.pop(key, None)
    return ds


def _strings_to_object(ds: xr.Dataset) -> xr.Dataset:
    """Fixed-width unicode (``<U``) has no Zarr v3 spec; store text as variable-length strings."""
    conv = {k: xr.Variable(v.dims, np.asarray(v.values, dtype=object), v.attrs)
            for k, v in ds.variables.items() if v.dtype.kind == "U"}
    return ds.assign_coords({k: v for k, v in conv.items() if k in ds.coords}).assign(
        {k: v for k, v in conv.items() if k in ds.data_vars}) if conv else ds


def _strings_to_unicode(ds: xr.Dataset) -> xr.Dataset:
    conv = {}
    for k, v in ds.variables.items():
        if v.dtype.kind in "TO" and v.ndim == 1 and v.size < 10_000_000:
            vals = np.asarray(v.values, dtype=object)
            width = max((len(str(x)) for x in vals), default=1)
            conv[k] = (v.dims, vals.astype(f"<U{max(width, 1)}"), v.attrs)
    if not conv:
        return ds
    return ds.assign_coords({k: v for k, v in conv.items() if k in ds.coords}).assign(
        {k: v for k, v in conv.items() if k in ds.data_vars})


def write_zarr(ds: xr.Dataset, path, *, compute: bool = True, **kwargs) -> str:
    """Write ``ds`` to a Zarr store at ``path``, replacing it atomically.

    Parameters
    ----------
    ds : xarray.Dataset
        Cube to write (may be Dask-backed; it is computed chunk by chunk).
    path : str or path-like
        Local path or fsspec URL of the store.
    **kwargs
        Passed to :meth:`xarray.Dataset.to_zarr` (``consolidated`` defaults to False).

    Returns
    -------
    str
        The path written.
    """
    kwargs.setdefault("consolidated", False)
    ds = _strings_to_object(_encoding_without_chunks(ds))
    if _is_local(path):
        final = _local(path)
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = final.with_name(f".{final.name}.tmp-{uuid.uuid4().hex[:8]}")
        try:
            ds.to_zarr(tmp, mode="w", compute=compute, **kwargs)
            if final.exists():
                old = final.with_name(f".{final.name}.old-{uuid.uuid4().hex[:8]}")
                os.replace(final, old)
                os.replace(tmp, final)
                shutil.rmtree(old, ignore_errors=True)
            else:
                os.replace(tmp, final)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)
        return str(final)

    import fsspec

    fs, root = fsspec.core.url_to_fs(str(path))
    tmp = f"{root.rstrip('/')}.tmp-{uuid.uuid4().hex[:8]}"
    try:
        ds.to_zarr(fs.get_mapper(tmp), mode="w", compute=compute, **kwargs)
        if fs.exists(root):
            fs.rm(root, recursive=True)
        fs.mv(tmp, root, recursive=True)
    finally:
        if fs.exists(tmp):
            fs.rm(tmp, recursive=True)
    return str(path)


def read_zarr(path, **kwargs) -> xr.Dataset:
    """Open a Zarr store lazily (Dask-backed).

    Raises
    ------
    FileNotFoundError
        If there is no store at ``path``.
    """
    kwargs.setdefault("consolidated", False)
    kwargs.setdefault("chunks", {})
    if _is_local(path) and not _local(path).exists():
        raise FileNotFoundError(f"no Zarr store at {path}")
    try:
        return _strings_to_unicode(xr.open_zarr(str(path), **kwargs))
    except FileNotFoundError:
        raise
    except Exception as exc:  # noqa: BLE001 - re-raised with the path
        raise DataFormatError(f"{path}: not a readable Zarr store ({exc})") from exc


def write_netcdf(ds: xr.Dataset, path, **kwargs) -> str:
    """Export ``ds`` to NetCDF at ``path`` (local), replacing it atomically."""
    final = _local(path)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.with_name(f".{final.name}.tmp-{uuid.uuid4().hex[:8]}")
    ds = _encoding_without_chunks(ds)
    # NetCDF cannot store bool or object attrs; stringify them
    ds.attrs = {k: (str(v) if isinstance(v, (bool, dict, list, tuple)) else v)
                for k, v in ds.attrs.items()}
    try:
        ds.to_netcdf(tmp, **kwargs)
        os.replace(tmp, final)
    finally:
        if tmp.exists():
            tmp.unlink()
    return str(final)


def read_netcdf(path, **kwargs) -> xr.Dataset:
    """Open a NetCDF file (lazily with ``chunks={}``)."""
    if not _local(path).exists():
        raise FileNotFoundError(f"no NetCDF file at {path}")
    return xr.open_dataset(path, **kwargs)
