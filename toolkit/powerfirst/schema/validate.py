"""Validate a cube against the schema table.

``validate(ds, kind)`` checks, and reports all at once:

* the variables the kind requires are present;
* each variable has the dimensions, ``units`` and ``long_name`` of the schema
  (a variable the schema does not know must still carry ``units`` and
  ``long_name``);
* the ``time`` coordinate is timezone-naive ``datetime64``, unique, increasing
  and hourly; ``site`` and ``ba`` labels are unique; site coordinates ``lat``
  and ``lon`` are present and in range;
* values lie in the valid range and required variables have no NaN. These
  checks read the data, so on a Dask-backed cube they run only when asked
  (``values=True``); the default ``"auto"`` checks in-memory data only.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from powerfirst.errors import Problem, ValidationError
from powerfirst.schema.tables import _variables

KINDS = ("grid", "weather", "energy", "sites", "metros", "demand", "forecast", "dispatch")
HOURLY_KINDS = ("grid", "weather", "energy")

__all__ = ["KINDS", "check", "validate"]


def _is_lazy(da: xr.DataArray) -> bool:
    return da.chunks is not None


def check(ds: xr.Dataset, kind: str | None = None, *, values: bool | str = "auto") -> list[Problem]:
    """Return the list of schema problems of ``ds`` (empty when it is valid).

    Parameters
    ----------
    ds : xarray.Dataset
        The cube.
    kind : {'grid', 'weather', 'energy', 'sites', 'metros'}, optional
        Cube kind; taken from ``ds.attrs['pf_kind']`` when omitted.
    values : bool or 'auto'
        Check value ranges and missing values; ``'auto'`` does so only for
        in-memory (not Dask-backed) variables.
    """
    if not isinstance(ds, xr.Dataset):
        return [Problem(f"expected an xarray.Dataset, found {type(ds).__name__}")]
    kind = kind or ds.attrs.get("pf_kind")
    if kind not in KINDS:
        return [Problem(f"unknown cube kind {kind!r}; expected one of {', '.join(KINDS)} "
                        "(pass kind= or set ds.attrs['pf_kind'])")]
    table = _variables()
    problems: list[Problem] = []

    in_kind = table[table["kinds"].map(lambda ks: kind in ks)]
    for name, row in in_kind[in_kind["required"]].iterrows():
        if name not in ds.data_vars:
            problems.append(Problem(f"required variable missing ({row['long_name']} [{row['units']}])",
                                    variable=name))

    lazy_checks = []
    for name, da in ds.data_vars.items():
        attrs = da.attrs
        if name in table.index:
            row = table.loc[name]
            if set(da.dims) != set(row["dims"]):
                problems.append(Problem(f"dimensions {da.dims} do not match the schema's "
                                        f"{tuple(row['dims'])}", variable=name))
            if "units" not in attrs:
                problems.append(Problem(f"no 'units' attribute; expected '{row['units']}'", variable=name))
            elif str(attrs["units"]) != row["units"]:
                problems.append(Problem(f"units '{attrs['units']}' do not match the schema's "
                                        f"'{row['units']}' (convert with powerfirst.units.convert)",
                                        variable=name))
            if "long_name" not in attrs:
                problems.append(Problem("no 'long_name' attribute", variable=name))
            check_values = values is True or (values == "auto" and not _is_lazy(da))
            if check_values and np.issubdtype(da.dtype, np.number):
                lazy_checks.append((name, da, row))
        else:
            for attr in ("units", "long_name"):
                if attr not in attrs:
                    problems.append(Problem(f"no '{attr}' attribute (every quantity carries units "
                                            "and a long_name)", variable=name))

    problems += _check_coords(ds, kind)
    problems += _check_values(lazy_checks, required_complete=kind in HOURLY_KINDS)
    return problems


def _check_coords(ds: xr.Dataset, kind: str) -> list[Problem]:
    problems = []
    if kind in HOURLY_KINDS:
        if "time" not in ds.coords:
            problems.append(Problem("no 'time' coordinate", variable="time"))
        else:
            t = ds.indexes["time"]
            if not isinstance(t, pd.DatetimeIndex):
                problems.append(Problem(f"time must be datetime64, found {ds['time'].dtype}",
                                        variable="time"))
            elif t.tz is not None:
                problems.append(Problem("time must be timezone-naive UTC", variable="time"))
            else:
                if t.has_duplicates:
                    dup = t[t.duplicated()][:3]
                    problems.append(Problem(f"{int(t.duplicated().sum())} duplicated timestamps, "
                                            f"first {[str(x) for x in dup]}", variable="time"))
                elif not t.is_monotonic_increasing:
                    problems.append(Problem("time is not increasing", variable="time"))
                elif len(t) > 1:
                    step = np.diff(t.values).astype("timedelta64[m]").astype(int)
                    bad = np.flatnonzero(step != 60)
                    if bad.size:
                        i = bad[0]
                        problems.append(Problem(
                            f"time is not hourly: {bad.size} steps differ from 1 h, first "
                            f"{t[i]} -> {t[i + 1]}", variable="time"))
    for dim in ("site", "ba", "metro"):
        if dim in ds.dims and dim in ds.indexes and ds.indexes[dim].has_duplicates:
            idx = ds.indexes[dim]
            problems.append(Problem(f"duplicated labels {sorted(set(idx[idx.duplicated()]))[:5]}",
                                    variable=dim))
    for dim in ("site", "metro"):
        if dim in ds.dims:
            for c, lo, hi in (("lat", -90, 90), ("lon", -180, 180)):
                if c not in ds.coords:
                    problems.append(Problem(f"coordinate '{c}' on '{dim}' missing", variable=c))
                    continue
                v = np.asarray(ds[c].values, dtype=float)
                bad = ~((v >= lo) & (v <= hi))
                if bad.any():
                    labels = np.asarray(ds[dim].values)[bad][:5]
                    problems.append(Problem(f"{int(bad.sum())} values outside [{lo}, {hi}] or missing "
                                            f"(at {list(labels)})", variable=c))
    return problems


def _check_values(items, required_complete: bool) -> list[Problem]:
    if not items:
        return []
    import dask

    stats = []
    for _name, da, _row in items:
        stats.append((da.isnull().sum(), da.min(skipna=True), da.max(skipna=True)))
    (computed,) = dask.compute(stats)
    problems = []
    for (name, _da, row), (nnan, vmin, vmax) in zip(items, computed, strict=True):
        nnan = int(nnan)
        if nnan and required_complete and row["required"]:
            problems.append(Problem(f"{nnan} missing (NaN) values in a required variable",
                                    variable=name))
        lo, hi = row["valid_min"], row["valid_max"]
        vmin, vmax = float(vmin), float(vmax)
        if pd.notna(lo) and np.isfinite(vmin) and vmin < float(lo):
            problems.append(Problem(f"minimum {vmin:g} below the valid minimum {float(lo):g} "
                                    f"[{row['units']}]", variable=name))
        if pd.notna(hi) and np.isfinite(vmax) and vmax > float(hi):
            problems.append(Problem(f"maximum {vmax:g} above the valid maximum {float(hi):g} "
                                    f"[{row['units']}]", variable=name))
    return problems


def validate(ds: xr.Dataset, kind: str | None = None, *, values: bool | str = "auto") -> xr.Dataset:
    """Validate ``ds`` against the schema; return it unchanged or raise.

    Raises
    ------
    ValidationError
        Listing every problem found (see :func:`check`).
    """
    problems = check(ds, kind, values=values)
    if problems:
        kind = kind or ds.attrs.get("pf_kind")
        raise ValidationError(problems, what=f"{kind} cube")
    return ds
