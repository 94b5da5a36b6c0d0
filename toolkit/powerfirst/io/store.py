"""Cube storage: Zarr (default) and NetCDF (export), with atomic writes.

A write goes to a sibling path first and is renamed into place only when it
is complete, so an interrupted write never leaves a half-written store under
the real name; an existing store is replaced only after the new one is whole.
Local paths are renamed atomically.  For other fsspec URLs (``s3://``,
``gs://``, ...) the store is written under a temporary prefix and moved,
which object stores do not make atomic; the temporary prefix is removed on
failure.

**Outputs never destroy a user's files.**  Every store and NetCDF file
powerfirst writes carries the root attribute ``powerfirst_store = "1"``
(removed again by :func:`read_zarr` and :func:`read_netcdf`: it describes the
file, not the cube).  Before anything is computed, a write checks its target
(:func:`check_output`):

* nothing there, an empty folder or an empty file: written;
* a Zarr store (or NetCDF file) written by powerfirst (``powerfirst_store``
  or, for stores of earlier versions, ``powerfirst_version`` in its root
  attributes): replaced only with ``overwrite=True``;
* anything else (a folder of other files, a Zarr store or NetCDF file of
  another program, a regular file, a symbolic link): refused with
  :class:`~powerfirst.errors.OutputExistsError`, whatever ``overwrite`` says;
* a folder that cannot be written: refused with
  :class:`~powerfirst.errors.OutputNotWritableError` (:func:`check_writable`).

**Stale temporaries.**  Temporary siblings are named
``.<name>.tmp-<host>-<pid>-<random>`` (and ``.<name>.old-...`` for a replaced
store during the swap, see :func:`temp_sibling`).  A killed write
leaves one behind; the next write to the same target removes it when the
process that wrote it is no longer running on this host, or, when it was
written on another host or by an earlier version (no pid in the name), when
it is older than :data:`STALE_AFTER_S` (one hour, by modification time of the
temporary and its top-level entries).  A temporary of a writer still running
on this host is never touched.  Remote (fsspec) targets are not swept.
"""

from __future__ import annotations

import errno
import json
import os
import re
import shutil
import socket
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np
import xarray as xr

from powerfirst.errors import DataFormatError, OutputExistsError, OutputNotWritableError

__all__ = ["read_zarr", "write_zarr", "write_zarr_blocks", "write_netcdf", "read_netcdf", "check_writable", "check_output",
           "temp_sibling", "remove_stale_temps", "move_into_place", "storable", "MARKER", "MARKER_VERSION", "STALE_AFTER_S"]

MARKER = "powerfirst_store"
"""Root attribute that marks a store or file as written by powerfirst."""
MARKER_VERSION = "1"
LEGACY_MARKER = "powerfirst_version"
STALE_AFTER_S = 3600.0
"""Age [s] after which a temporary sibling whose writer cannot be checked is removed."""


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


def storable(ds: xr.Dataset) -> xr.Dataset:
    """``ds`` as it is written to Zarr: stale chunk and compressor encodings dropped, fixed-width
    text as variable-length strings (what every Zarr writer of powerfirst applies)."""
    return _strings_to_object(_encoding_without_chunks(ds))


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


# ---------------------------------------------------------------- output checks


def _host_tag() -> str:
    return re.sub(r"[^A-Za-z0-9]", "", socket.gethostname())[:16] or "host"


def temp_sibling(final: Path, kind: str = "tmp") -> Path:
    """The hidden sibling ``.<name>.<kind>-<host>-<pid>-<random>`` a write of ``final`` goes to first.

    Writers of other stores (e.g. scenario results) should name their temporaries with it, so
    that :func:`remove_stale_temps` can tell a killed write from a running one by its pid.
    """
    final = Path(final)
    return final.with_name(f".{final.name}.{kind}-{_host_tag()}-{os.getpid()}-{uuid.uuid4().hex[:8]}")


def _pid_alive(pid: int) -> bool:
    if os.name == "nt":  # os.kill would terminate the process there: rely on age
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # PermissionError: alive, owned by someone else
        return True
    return True


def _mtime(p: Path) -> float:
    t = p.lstat().st_mtime
    if p.is_dir() and not p.is_symlink():
        for child in p.iterdir():
            try:
                t = max(t, child.lstat().st_mtime)
            except OSError:
                pass
    return t


def _is_stale(p: Path, prefix: str, now: float) -> bool:
    m = re.fullmatch(r"(?P<host>[A-Za-z0-9]+)-(?P<pid>\d+)-[0-9a-f]{8}", p.name[len(prefix):])
    if m and m["host"] == _host_tag():
        return not _pid_alive(int(m["pid"]))
    return now - _mtime(p) > STALE_AFTER_S


def remove_stale_temps(final) -> list[Path]:
    """Remove the stale temporary siblings of ``final`` (see the module docstring); return them."""
    final = Path(final)
    removed = []
    if not final.parent.is_dir():
        return removed
    prefixes = (f".{final.name}.tmp-", f".{final.name}.old-")
    now = time.time()
    for p in final.parent.iterdir():
        prefix = next((x for x in prefixes if p.name.startswith(x)), None)
        if prefix is None:
            continue
        try:
            if not _is_stale(p, prefix, now):
                continue
            if p.is_dir() and not p.is_symlink():
                shutil.rmtree(p)
            else:
                p.unlink()
            removed.append(p)
        except OSError:  # gone meanwhile, or not ours to remove: leave it
            continue
    return removed


def check_writable(path) -> str:
    """Check that an output can be created at ``path``, before anything is computed.

    The nearest existing folder on the way to ``path`` (the parent, or the
    first ancestor that exists when the parents are still to be created) must
    be a folder in which a file can be created: a probe file is created and
    removed, which also catches read-only file systems.  fsspec URLs other
    than ``file://`` are not checked (the first write reports them).

    Parameters
    ----------
    path : str or path-like
        The output path (Zarr store or NetCDF file).

    Returns
    -------
    str
        ``path``, unchanged.

    Raises
    ------
    OutputNotWritableError
        Naming the folder and what is wrong with it (not a folder, not writable).
    """
    if not _is_local(path):
        return str(path)
    final = _local(path)
    folder = final.parent
    while not (folder.exists() or folder.is_symlink()):
        if folder.parent == folder:
            break
        folder = folder.parent
    if folder.exists() and not folder.is_dir():
        raise OutputNotWritableError(
            f"cannot write {final}: {folder} is a file, not a folder; choose an output path in a folder")
    try:
        fd, probe = tempfile.mkstemp(prefix=".powerfirst-write-probe-", dir=folder)
    except OSError as exc:
        why = {errno.EROFS: "is on a read-only file system", errno.EACCES: "is not writable (permission denied)",
               errno.EPERM: "is not writable (operation not permitted)",
               errno.ENOSPC: "has no space left"}.get(exc.errno, f"cannot be written ({exc.strerror or exc})")
        raise OutputNotWritableError(
            f"cannot write {final}: the folder {folder} {why}; choose an output path in a folder you "
            "can write to") from exc
    os.close(fd)
    os.unlink(probe)
    return str(path)


def _zarr_root_attrs(folder: Path) -> dict | None:
    """Root attributes of a local Zarr store (v3 ``zarr.json`` or v2 ``.zattrs``); None if not Zarr."""
    v3, v2 = folder / "zarr.json", folder / ".zattrs"
    try:
        if v3.is_file():
            return dict(json.loads(v3.read_text(encoding="utf-8")).get("attributes") or {})
        if v2.is_file() or (folder / ".zgroup").is_file():
            return dict(json.loads(v2.read_text(encoding="utf-8"))) if v2.is_file() else {}
    except (OSError, ValueError, AttributeError, TypeError):
        return {}
    return None


def _netcdf_attrs(path: Path) -> dict | None:
    """Global attributes of a NetCDF file; None if it cannot be read as NetCDF."""
    try:
        with xr.open_dataset(path, decode_cf=False, decode_times=False, cache=False) as ds:
            return dict(ds.attrs)
    except Exception:  # noqa: BLE001 - anything unreadable is "not a NetCDF file"
        return None


def _written_by_powerfirst(attrs: dict | None) -> bool:
    return bool(attrs) and (MARKER in attrs or LEGACY_MARKER in attrs)


def _describe_folder(folder: Path, limit: int = 5) -> str:
    entries = sorted(folder.iterdir(), key=lambda p: p.name)
    names = [p.name + ("/" if p.is_dir() else "") for p in entries[:limit]]
    more = f" and {len(entries) - limit} more" if len(entries) > limit else ""
    return f"a folder holding {', '.join(names)}{more}"


def _refuse(final: Path, found: str) -> OutputExistsError:
    return OutputExistsError(
        f"{final} already exists and was not written by powerfirst: found {found}. powerfirst never "
        f"replaces what it did not write (overwrite=True does not change that): choose another output "
        f"path, or move or remove {final} yourself")


def check_output(path, *, overwrite: bool = False) -> str:
    """Check, before computing, that ``path`` may be written (see the module docstring).

    Parameters
    ----------
    path : str or path-like
        Output path (Zarr store or NetCDF file, local or fsspec URL).
    overwrite : bool
        Allow replacing a store or file that powerfirst wrote.

    Returns
    -------
    str
        ``path``, unchanged.

    Raises
    ------
    OutputExistsError
        Something is at ``path`` that powerfirst did not write, or a powerfirst
        output and ``overwrite`` is False.
    OutputNotWritableError
        The folder of ``path`` cannot be written.
    """
    if not _is_local(path):
        _check_remote_target(path, overwrite)
        return str(path)
    check_writable(path)
    _check_target(_local(path), overwrite)
    return str(path)


def _check_target(final: Path, overwrite: bool) -> None:
    if final.is_symlink():
        raise _refuse(final, f"a symbolic link to {os.readlink(final)} (powerfirst does not replace links)")
    if not final.exists():
        return
    if final.is_dir():
        if not any(final.iterdir()):
            return  # an empty folder: nothing to lose
        attrs = _zarr_root_attrs(final)
        if attrs is None:
            raise _refuse(final, _describe_folder(final))
        if not _written_by_powerfirst(attrs):
            raise _refuse(final, f"a Zarr store without the '{MARKER}' or '{LEGACY_MARKER}' root attribute "
                                 "powerfirst writes")
        what = "Zarr store"
    elif final.is_file():
        size = final.stat().st_size
        if size == 0:
            return  # an empty file: nothing to lose
        attrs = _netcdf_attrs(final)
        if not _written_by_powerfirst(attrs):
            kind = "a NetCDF file of another program" if attrs is not None else "a file"
            raise _refuse(final, f"{kind} ({size:,} bytes)")
        what = "NetCDF file"
    else:
        raise _refuse(final, "something that is neither a file nor a folder")
    if not overwrite:
        version = attrs.get(LEGACY_MARKER)
        by = f"powerfirst {version}" if version else "powerfirst"
        raise OutputExistsError(
            f"{final} already holds a {what} written by {by}; pass overwrite=True to replace it, or choose "
            "another output path")


def _check_remote_target(path, overwrite: bool) -> None:
    import fsspec

    fs, root = fsspec.core.url_to_fs(str(path))
    root = root.rstrip("/")
    if not fs.exists(root):
        return
    attrs = None
    for name in ("zarr.json", ".zattrs"):
        try:
            doc = json.loads(fs.cat_file(f"{root}/{name}"))
        except (FileNotFoundError, OSError, ValueError):
            continue
        attrs = dict(doc.get("attributes") or {}) if name == "zarr.json" else dict(doc)
        break
    if not _written_by_powerfirst(attrs):
        raise _refuse(Path(str(path)), "objects that are not a Zarr store written by powerfirst")
    if not overwrite:
        raise OutputExistsError(f"{path} already holds a Zarr store written by powerfirst; pass "
                                "overwrite=True to replace it, or choose another output path")


# ---------------------------------------------------------------- writers and readers


def move_into_place(tmp, final, *, overwrite: bool = False) -> None:
    """Rename a complete temporary store or file ``tmp`` to ``final``, replacing what is there only if
    powerfirst wrote it and ``overwrite`` (checked again now: something may have appeared while
    computing).  The old one is renamed aside first and removed last, so ``final`` always holds a
    whole store."""
    tmp, final = Path(tmp), Path(final)
    _check_target(final, overwrite)
    if final.exists():
        old = temp_sibling(final, "old")
        os.replace(final, old)
        os.replace(tmp, final)
        shutil.rmtree(old, ignore_errors=True) if old.is_dir() else old.unlink(missing_ok=True)
    else:
        os.replace(tmp, final)


def write_zarr(ds: xr.Dataset, path, *, overwrite: bool = False, compute: bool = True, **kwargs) -> str:
    """Write ``ds`` to a Zarr store at ``path``, atomically.

    The target is checked before anything is computed (:func:`check_output`):
    a store powerfirst wrote is replaced only with ``overwrite=True``, and
    anything else already at ``path`` is never replaced.

    Parameters
    ----------
    ds : xarray.Dataset
        Cube to write (may be Dask-backed; it is computed chunk by chunk).
    path : str or path-like
        Local path or fsspec URL of the store.
    overwrite : bool
        Replace the store at ``path`` if powerfirst wrote it.
    compute : bool
        Passed to :meth:`xarray.Dataset.to_zarr`.
    **kwargs
        Passed to :meth:`xarray.Dataset.to_zarr` (``consolidated`` defaults to False).

    Returns
    -------
    str
        The path written.

    Raises
    ------
    OutputExistsError
        ``path`` holds something powerfirst did not write, or a powerfirst
        store and ``overwrite`` is False.
    OutputNotWritableError
        The folder of ``path`` cannot be written.
    """
    kwargs.setdefault("consolidated", False)
    check_output(path, overwrite=overwrite)
    ds = storable(ds).assign_attrs({MARKER: MARKER_VERSION})
    if _is_local(path):
        final = _local(path)
        remove_stale_temps(final)
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = temp_sibling(final)
        try:
            ds.to_zarr(tmp, mode="w", compute=compute, **kwargs)
            move_into_place(tmp, final, overwrite=overwrite)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)
        return str(final)

    import fsspec

    fs, root = fsspec.core.url_to_fs(str(path))
    tmp = f"{root.rstrip('/')}.tmp-{uuid.uuid4().hex[:8]}"
    try:
        ds.to_zarr(fs.get_mapper(tmp), mode="w", compute=compute, **kwargs)
        _check_remote_target(path, overwrite)
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
    DataFormatError
        If ``path`` is not a readable Zarr store.
    """
    kwargs.setdefault("consolidated", False)
    kwargs.setdefault("chunks", {})
    if _is_local(path) and not _local(path).exists():
        raise FileNotFoundError(f"no Zarr store at {path}")
    try:
        ds = _strings_to_unicode(xr.open_zarr(str(path), **kwargs))
    except FileNotFoundError:
        raise
    except Exception as exc:  # noqa: BLE001 - re-raised with the path
        raise DataFormatError(f"{path}: not a readable Zarr store ({exc})") from exc
    ds.attrs.pop(MARKER, None)
    return ds


def write_zarr_blocks(ds: xr.Dataset, path, *, dim: str = "site", batch: int = 256, check=None,
                      overwrite: bool = False, progress: bool = False) -> str:
    """Write a lazy ``ds`` to a Zarr store block by block along ``dim``, atomically, in bounded memory.

    The store's metadata and the coordinates are written first; then ``batch`` labels of ``dim`` at
    a time are computed, passed to ``check`` (which raises to abort), and written into their region
    of the store (Zarr region writes).  Memory is bounded by one batch, whatever the size of
    ``dim``; the store appears under ``path`` only when every block is written, so an error or an
    interruption leaves nothing under the real name.

    Parameters
    ----------
    ds : xarray.Dataset
        Dask-backed cube; every data variable must have ``dim``.
    path : str or path-like
        Local path of the store.
    dim : str
        Dimension to stream along.
    batch : int
        Labels of ``dim`` computed and written at a time.
    check : callable, optional
        ``check(block)`` on each computed block (an in-memory Dataset); raise to abort.
    overwrite : bool
        Replace a store that powerfirst wrote (see :func:`check_output`).
    progress : bool
        A progress bar on stderr.

    Returns
    -------
    str
        The path written.
    """
    import sys

    if not _is_local(path):
        raise ValueError(f"{path}: block-wise writes need a local path; use write_zarr for fsspec URLs")
    if int(batch) < 1:
        raise ValueError(f"batch must be >= 1, found {batch}")
    missing = [v for v in ds.data_vars if dim not in ds[v].dims]
    if missing:
        raise ValueError(f"every data variable must have dimension {dim!r}; these do not: {missing}")
    final = _local(path)
    check_output(final, overwrite=overwrite)
    remove_stale_temps(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_sibling(final)
    ds = storable(ds).assign_attrs({MARKER: MARKER_VERSION})
    n = ds.sizes[dim]
    # region writes carry only what lies along dim; the rest is written with the metadata
    along = [v for v in ds.variables if dim in ds[v].dims and v != dim]
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=n, unit=dim, file=sys.stderr)
    try:
        ds.to_zarr(tmp, mode="w", compute=False, consolidated=False)
        for lo in range(0, n, int(batch)):
            sl = slice(lo, min(lo + int(batch), n))
            block = ds.isel({dim: sl})
            block = block[[v for v in along if v in block.data_vars]].compute()
            if check is not None:
                check(block)
            keep = [c for c in block.coords if dim not in block[c].dims]
            block.drop_vars(keep).to_zarr(tmp, region={dim: sl}, consolidated=False)
            if bar is not None:
                bar.update(sl.stop - sl.start)
        move_into_place(tmp, final, overwrite=overwrite)
    finally:
        if bar is not None:
            bar.close()
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return str(final)


def write_netcdf(ds: xr.Dataset, path, *, overwrite: bool = False, **kwargs) -> str:
    """Export ``ds`` to NetCDF at ``path`` (local), atomically.

    Parameters
    ----------
    ds : xarray.Dataset
        Dataset to export.
    path : str or path-like
        Local file path.
    overwrite : bool
        Replace the file at ``path`` if powerfirst wrote it.
    **kwargs
        Passed to :meth:`xarray.Dataset.to_netcdf`.

    Returns
    -------
    str
        The path written.

    Raises
    ------
    OutputExistsError
        ``path`` holds something powerfirst did not write, or a powerfirst
        file and ``overwrite`` is False.
    OutputNotWritableError
        The folder of ``path`` cannot be written.
    """
    final = _local(path)
    check_output(final, overwrite=overwrite)
    remove_stale_temps(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_sibling(final)
    ds = _encoding_without_chunks(ds)
    # NetCDF cannot store bool or object attrs; stringify them
    ds.attrs = {k: (str(v) if isinstance(v, (bool, dict, list, tuple)) else v)
                for k, v in ds.attrs.items()}
    ds.attrs[MARKER] = MARKER_VERSION
    try:
        ds.to_netcdf(tmp, **kwargs)
        _check_target(final, overwrite)
        if final.is_dir():
            final.rmdir()  # empty (checked above): nothing to lose
        os.replace(tmp, final)
    finally:
        if tmp.exists():
            tmp.unlink()
    return str(final)


def read_netcdf(path, **kwargs) -> xr.Dataset:
    """Open a NetCDF file (lazily with ``chunks={}``)."""
    if not _local(path).exists():
        raise FileNotFoundError(f"no NetCDF file at {path}")
    ds = xr.open_dataset(path, **kwargs)
    ds.attrs.pop(MARKER, None)
    return ds
