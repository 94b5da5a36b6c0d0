"""The ``ds.pf`` accessor: schema checks, a description table and atomic storage."""

from __future__ import annotations

import pandas as pd
import xarray as xr

from powerfirst.schema import check as _check
from powerfirst.schema import validate as _validate


@xr.register_dataset_accessor("pf")
class PowerfirstAccessor:
    """powerfirst helpers on any Dataset: ``ds.pf.validate()``, ``ds.pf.describe()``,
    ``ds.pf.to_zarr(path)``, ``ds.pf.to_netcdf(path)``."""

    def __init__(self, ds: xr.Dataset):
        self._ds = ds

    @property
    def kind(self) -> str | None:
        """Cube kind from ``attrs['pf_kind']`` (grid, energy, weather, sites, ...)."""
        return self._ds.attrs.get("pf_kind")

    def check(self, kind: str | None = None, *, values: bool | str = "auto"):
        """List of schema problems (empty when valid); see :func:`powerfirst.schema.check`."""
        return _check(self._ds, kind, values=values)

    def validate(self, kind: str | None = None, *, values: bool | str = "auto") -> xr.Dataset:
        """Validate against the schema; return the Dataset or raise ValidationError."""
        return _validate(self._ds, kind, values=values)

    def describe(self, stats: bool = True) -> pd.DataFrame:
        """One row per data variable: dims, units, long_name and (optionally) min/mean/max.

        With ``stats=True`` the statistics of all variables are computed in a
        single pass (one Dask graph for a lazy cube).
        """
        import dask

        ds = self._ds
        rows, lazy = [], []
        for name, da in ds.data_vars.items():
            rows.append({
                "variable": name,
                "dims": " × ".join(f"{d}[{ds.sizes[d]}]" for d in da.dims),
                "units": da.attrs.get("units", ""),
                "long_name": da.attrs.get("long_name", ""),
            })
            numeric = da.dtype.kind in "fiub"
            lazy.append((da.min(), da.mean(), da.max()) if (stats and numeric) else None)
        table = pd.DataFrame(rows).set_index("variable") if rows else pd.DataFrame()
        if stats and rows:
            (computed,) = dask.compute(lazy)
            for col, i in (("min", 0), ("mean", 1), ("max", 2)):
                table[col] = [float(c[i]) if c is not None else float("nan") for c in computed]
        return table

    def to_zarr(self, path, *, overwrite: bool = False, **kwargs) -> str:
        """Write atomically to Zarr (see :func:`powerfirst.io.store.write_zarr`)."""
        from powerfirst.io.store import write_zarr

        return write_zarr(self._ds, path, overwrite=overwrite, **kwargs)

    def to_netcdf(self, path, **kwargs) -> str:
        """Export atomically to NetCDF (see :func:`powerfirst.io.store.write_netcdf`)."""
        from powerfirst.io.store import write_netcdf

        return write_netcdf(self._ds, path, **kwargs)
