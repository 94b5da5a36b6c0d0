"""Scenario results as one Zarr store: :func:`to_zarr` writes a DataTree atomically,
:func:`open_results` reads it back.

The whole result set is written to a hidden sibling of the target and renamed into place only
when complete, so an interrupted run never leaves a partial result under the real name.  The
target is checked before anything is written (:func:`powerfirst.io.store.check_output`): an
existing path that powerfirst did not write is never replaced, and an existing result store is
replaced only with ``overwrite=True``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import xarray as xr

from powerfirst._provenance import provenance
from powerfirst.io.store import (
    MARKER,
    MARKER_VERSION,
    check_output,
    move_into_place,
    remove_stale_temps,
    storable,
    temp_sibling,
)

__all__ = ["to_zarr", "open_results"]


def to_zarr(tree: xr.DataTree, path, *, overwrite: bool = False) -> str:
    """Write a result DataTree (:meth:`powerfirst.scenarios.Scenario.run`) as one Zarr store, atomically.

    Parameters
    ----------
    tree : xarray.DataTree
        The results (lazy groups are computed chunk by chunk while writing).
    path : str or path-like
        Local path of the store.
    overwrite : bool
        Replace an existing result store written by powerfirst (never anything else).

    Returns
    -------
    str
        The path written.
    """
    final = Path(check_output(path, overwrite=overwrite))
    remove_stale_temps(final)  # leftovers of killed writes of this target
    tmp = temp_sibling(final)
    nodes = {node.path: storable(node.to_dataset(inherit=False)) for node in tree.subtree}
    nodes["/"].attrs.update({MARKER: MARKER_VERSION, "pf_kind": "results",
                             "powerfirst_version": provenance()["powerfirst_version"]})
    try:
        xr.DataTree.from_dict(nodes).to_zarr(tmp, mode="w", consolidated=False)
        move_into_place(tmp, final, overwrite=overwrite)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return str(final)


def open_results(path) -> xr.DataTree:
    """Open a result store written by :func:`to_zarr` (lazily) as a DataTree.

    Raises
    ------
    FileNotFoundError
        No store at ``path``.
    ValueError
        ``path`` is not a result store written by powerfirst.
    """
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"result store not found: {p}")
    try:
        tree = xr.open_datatree(p, engine="zarr", consolidated=False, chunks={})
    except (OSError, ValueError, KeyError) as exc:
        raise ValueError(f"{p}: not a powerfirst result store ({exc})") from None
    if tree.attrs.get("pf_kind") != "results":
        raise ValueError(f"{p}: not a powerfirst result store (expected the root attribute pf_kind = 'results', "
                         f"found {tree.attrs.get('pf_kind')!r}); open other stores with powerfirst.read_zarr")
    tree.attrs.pop(MARKER, None)
    return tree
