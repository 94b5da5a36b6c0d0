"""The grid cube: hourly balancing-authority data on ``ba`` x ``time``, and where it comes from.

:func:`open_grid` is the one way in: give it a folder holding the cleaned EIA-930 releases of
Ruggles et al. (:func:`read_cleaned_releases`) or EIA-930 files in any supported format
(:func:`read_eia930`), and it returns the grid cube with its flag report
(:func:`flag_report`).  The readers in :mod:`powerfirst.io.eia930` and
:mod:`powerfirst.io.eia930_releases` parse files into long records; this module assembles
them, screens raw demand (:mod:`powerfirst.io.screening`) and labels the cube.

The grid cube is the input of the headroom, dispatch (curtailment events), forecast and
time-to-power (flexible connection) models.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from powerfirst._provenance import provenance
from powerfirst.errors import DataFormatError
from powerfirst.io.eia930 import FORMATS, VARIABLE_META, read_eia930_records
from powerfirst.io.eia930_releases import NORRIS_BAS, is_release_folder, read_release_records
from powerfirst.io.screening import FLAGS, ScreeningSettings, flag_attrs, flag_names, screen_series
from powerfirst.schema.tables import _grids

__all__ = ["open_grid", "read_eia930", "read_cleaned_releases", "records_to_cube", "flag_report", "FORMATS",
           "NORRIS_BAS"]


def _hourly_axis(times: pd.Series) -> pd.DatetimeIndex:
    t0, t1 = times.min(), times.max()
    return pd.date_range(t0, t1, freq="h")


def _pivot(rec: pd.DataFrame, axis: pd.DatetimeIndex, bas: list[str], keys: list[str] | None = None):
    """Values, empty-mask and duplicate-mask arrays on (ba[, key], time)."""
    if keys is None:
        shape = (len(bas), len(axis))
        bi = pd.Index(bas).get_indexer(rec["ba"])
        ti = axis.get_indexer(rec["time"])
        flat = bi * len(axis) + ti
    else:
        shape = (len(bas), len(keys), len(axis))
        bi = pd.Index(bas).get_indexer(rec["ba"])
        ki = pd.Index(keys).get_indexer(rec["key"])
        ti = axis.get_indexer(rec["time"])
        flat = (bi * len(keys) + ki) * len(axis) + ti
    ok = ti >= 0
    flat = flat[ok]
    vals = rec["value"].to_numpy()[ok]
    emp = rec["empty"].to_numpy()[ok]
    size = int(np.prod(shape))
    out = np.full(size, np.nan)
    empty = np.zeros(size, bool)
    present = np.zeros(size, bool)
    dup = np.zeros(size, bool)
    # first occurrence wins: write in reverse so the first lands last
    order = np.arange(flat.size)[::-1]
    out[flat[order]] = vals[order]
    empty[flat[order]] = emp[order]
    counts = np.bincount(flat, minlength=size)
    dup[counts > 1] = True
    present[counts > 0] = True
    return out.reshape(shape), empty.reshape(shape), dup.reshape(shape), present.reshape(shape)


def records_to_cube(rec: pd.DataFrame, *, screen: bool = True, settings: ScreeningSettings | None = None,
                    prefer_cleaned: bool = True, sources: Iterable[str] = ()) -> xr.Dataset:
    """Assemble long records into the grid cube (``ba`` x ``time``).

    Demand is screened (:func:`powerfirst.io.screening.screen_series`) unless
    ``screen=False``.  Where the records carry a source's cleaned demand
    (``demand_cleaned``, as in the Ruggles et al. releases) and
    ``prefer_cleaned`` is true, ``demand`` takes the source's cleaned values
    and ``flag`` still records what the screening found in the raw values.
    """
    if rec.empty:
        raise DataFormatError("no records to assemble (the inputs hold no hourly values)")
    rec = rec[rec["time"].notna()]
    axis = _hourly_axis(rec["time"])
    data_vars: dict[str, tuple] = {}
    bas_all = sorted(rec["ba"].unique())
    dropped_rows: list[dict] = []

    dem = rec[rec["variable"] == "demand"]
    cleaned = rec[rec["variable"].isin(["demand_cleaned", "demand_cleaned_subregion_sum"])]
    # where a release cleans only an ISO's sub-regions, the sum of the cleaned sub-regions
    # ("demand_cleaned_subregion_sum") stands in for the ISO total; where both exist for an hour,
    # the ISO's own cleaned total wins (first occurrence)
    if not cleaned.empty:
        cleaned = cleaned.sort_values("variable", key=lambda v: (v == "demand_cleaned_subregion_sum"),
                                      kind="stable")
    dem_bas = sorted(set(dem["ba"]) | set(cleaned["ba"]))
    if dem_bas:
        raw, empty, dup, present = _pivot(dem, axis, dem_bas)
        # record duplicates beyond the first
        if dup.any():
            d = dem[dem.duplicated(["ba", "time"], keep="first")]
            for r in d.head(1000).itertuples():
                dropped_rows.append({"file": r.file, "row": int(r.row), "ba": r.ba, "time": str(r.time),
                                     "value": r.value, "reason": "duplicated timestamp; first value kept"})
            warnings.warn(f"{len(d)} duplicated (ba, time) rows: the first value of each was kept; "
                          "see the cube's 'dropped_rows' attribute", stacklevel=3)
        has_raw = present.any(axis=1)
        cln = None
        if not cleaned.empty and prefer_cleaned:
            cln, _e, _d, cln_present = _pivot(cleaned, axis, dem_bas)
            sums = cleaned[cleaned["variable"] == "demand_cleaned_subregion_sum"]
            is_sum = _pivot(sums, axis, dem_bas)[3] & ~_pivot(
                cleaned[cleaned["variable"] == "demand_cleaned"], axis, dem_bas)[3]
        src = rec[rec["variable"] == "source_flag"]
        srcflag = _pivot(src, axis, dem_bas)[0] > 0 if not src.empty else np.zeros(raw.shape, bool)
        demand = np.full(raw.shape, np.nan)
        flag = np.zeros(raw.shape, np.uint16)
        for i, ba in enumerate(dem_bas):
            use_clean = cln is not None and cln_present[i].any()
            valid_raw = has_raw[i] and np.isfinite(np.where(empty[i], np.nan, raw[i])).any()
            if has_raw[i] and screen and not valid_raw:
                flag[i] = np.where(present[i], FLAGS["EMPTY"], FLAGS["MISSING"]).astype(np.uint16)
                warnings.warn(f"{ba}: no valid demand value in the inputs; demand left NaN", stacklevel=3)
            elif has_raw[i] and screen:
                # hours outside the BA's own reporting span are not "missing"
                span = np.flatnonzero(present[i])
                lo, hi = span[0], span[-1] + 1
                f_i, fl_i, _m = screen_series(raw[i, lo:hi], empty=empty[i, lo:hi], missing=~present[i, lo:hi],
                                              duplicate=dup[i, lo:hi], source_flag=srcflag[i, lo:hi],
                                              settings=settings, warn=False)
                unfilled = int((~np.isfinite(f_i)).sum())
                if unfilled and not use_clean:  # where the source's cleaned values replace the fill, no gap
                    s = settings or ScreeningSettings()
                    warnings.warn(f"{ba}: {unfilled} hours lie in gaps longer than {s.max_fill_hours} h and were "
                                  "left NaN (flagged, not filled; see flag_report)", stacklevel=3)
                demand[i, lo:hi] = f_i
                flag[i, lo:hi] = fl_i
            elif has_raw[i]:
                demand[i] = np.where(empty[i], np.nan, raw[i])
            if use_clean:
                ok = cln_present[i] & np.isfinite(cln[i])
                demand[i] = np.where(ok, cln[i], demand[i])
                rep = np.where(empty[i], np.nan, raw[i])
                # a sum of cleaned sub-regions is another aggregate than the reported total: there
                # the flags are those the screening of the reported total found
                direct = ok & ~is_sum[i]
                reported = direct & np.isfinite(rep)
                same = reported & np.isclose(cln[i], rep, rtol=1e-6, atol=0.5)
                changed = direct & present[i] & ~same  # reported value differs, or was empty
                fl = flag[i]
                # the source kept the reported value: not filled (screening bits stay visible)
                fl = np.where(same, fl & ~np.uint16(FLAGS["FILLED"]), fl)
                fl = np.where(changed, fl | FLAGS["FILLED"] | FLAGS["SOURCE"], fl)
                fl = np.where(srcflag[i], fl | FLAGS["SOURCE"], fl)
                flag[i] = fl.astype(np.uint16)
        data_vars["demand"] = (("ba", "time"), demand, {
            "units": "MW", "long_name": "electricity demand",
            "comment": "screened and filled (powerfirst.io.screening); the source's cleaned values where it "
                       "provides them"})
        if has_raw.any():
            data_vars["demand_raw"] = (("ba", "time"), np.where(empty, np.nan, raw),
                                       {"units": "MW", "long_name": "reported electricity demand"})
        data_vars["flag"] = (("ba", "time"), flag, flag_attrs())
        bas_all = sorted(set(bas_all) | set(dem_bas))

    for var in ("demand_forecast", "net_generation", "total_interchange"):
        sub = rec[rec["variable"] == var]
        if sub.empty:
            continue
        bas = sorted(sub["ba"].unique())
        vals, empty, _d, _p = _pivot(sub, axis, bas)
        da = xr.DataArray(np.where(empty, np.nan, vals), dims=("ba", "time"),
                          coords={"ba": bas, "time": axis})
        long_name, units = VARIABLE_META[var]
        data_vars[var] = (("ba", "time"), da.reindex(ba=bas_all).values, {"units": units, "long_name": long_name})

    for var, keyname in (("generation", "fuel"), ("interchange", "counterparty")):
        sub = rec[rec["variable"] == var]
        if sub.empty:
            continue
        bas, keys = sorted(sub["ba"].unique()), sorted(sub["key"].unique())
        vals, empty, _d, _p = _pivot(sub, axis, bas, keys)
        da = xr.DataArray(np.where(empty, np.nan, vals), dims=("ba", keyname, "time"),
                          coords={"ba": bas, keyname: keys, "time": axis}).reindex(ba=bas_all)
        long_name, units = VARIABLE_META[var]
        data_vars[var] = (da.dims, da.values, {"units": units, "long_name": long_name})

    coords: dict = {"ba": bas_all, "time": axis}
    for _var, (dims, _v, _a) in list(data_vars.items()):
        if "fuel" in dims:
            coords["fuel"] = sorted(rec.loc[rec["variable"] == "generation", "key"].unique())
        if "counterparty" in dims:
            coords["counterparty"] = sorted(rec.loc[rec["variable"] == "interchange", "key"].unique())
    # demand variables were built on dem_bas; align to bas_all
    ds = xr.Dataset(coords=coords)
    for var, (dims, vals, attrs) in data_vars.items():
        if var in ("demand", "demand_raw", "flag"):
            da = xr.DataArray(vals, dims=dims, coords={"ba": dem_bas, "time": axis}, attrs=attrs)
            fill = 0 if var == "flag" else np.nan
            da = da.reindex(ba=bas_all, fill_value=fill)
            da.attrs = attrs
            ds[var] = da.astype(np.uint16) if var == "flag" else da
        else:
            ds[var] = xr.DataArray(vals, dims=dims, coords={d: coords[d] for d in dims}, attrs=attrs)
    grids = _grids()
    ds = ds.assign_coords(
        ba_name=("ba", [grids.at[b, "name"] if b in grids.index else b for b in bas_all]),
        timezone=("ba", [grids.at[b, "timezone"] if b in grids.index else "UTC" for b in bas_all]),
    )
    ds["time"].attrs.update({"long_name": "start of the hour (UTC)", "comment": "hour-beginning, UTC"})
    ds.attrs.update({"pf_kind": "grid", "title": "EIA-930 hourly balancing-authority data"})
    ds.attrs.update(provenance(sources=";".join(sources) if sources else None))
    if dropped_rows:
        ds.attrs["dropped_rows"] = json.dumps(dropped_rows)
    return ds


def read_eia930(paths, *, format: str = "auto", screen: bool = True, bas: Sequence[str] | None = None,
                start=None, end=None, settings: ScreeningSettings | None = None,
                prefer_cleaned: bool = True, **tidy_kwargs) -> xr.Dataset:
    """Read one or more EIA-930 files (any supported format) into the grid cube.

    Parameters
    ----------
    paths : path or list of paths
        Files (or folders, read recursively for ``.csv``, ``.json``,
        ``.csv.gz``, ``.parquet``, ``.yaml``).
    format : str
        ``'auto'`` (detect per file) or one of :data:`FORMATS`.
    screen : bool
        Screen and fill raw demand (default).  Without it, ``demand`` is the
        reported value with empty cells as NaN.
    bas : list of str, optional
        Keep only these balancing authorities.
    start, end : str or datetime, optional
        Keep hours (UTC, hour-beginning) from ``start`` up to but excluding ``end``.
    prefer_cleaned : bool
        Use a source's own cleaned demand where present (Ruggles et al.).
    **tidy_kwargs
        For ``tidy`` files: ``tz``, ``time_convention``, ``ba``,
        ``time_column``, ``value_column``, ``dayfirst``.

    Returns
    -------
    xarray.Dataset
        Grid cube: ``demand`` [MW], ``demand_raw`` [MW], ``flag`` and, where the
        sources have them, ``demand_forecast``, ``net_generation``,
        ``total_interchange``, ``generation`` (``fuel``) and ``interchange``
        (``counterparty``), on ``ba`` x ``time`` (UTC, hour-beginning).
        Use :func:`flag_report` for the list of flagged hours.
    """
    rec, sources = read_eia930_records(paths, format=format, bas=bas, start=start, end=end, **tidy_kwargs)
    dropped = rec.attrs.get("dropped")
    ds = records_to_cube(rec, screen=screen, settings=settings, prefer_cleaned=prefer_cleaned, sources=sources)
    if dropped is not None and len(dropped):
        prev = json.loads(ds.attrs.get("dropped_rows", "[]"))
        ds.attrs["dropped_rows"] = json.dumps(prev + dropped.to_dict("records"))
    return ds


def flag_report(ds: xr.Dataset) -> pd.DataFrame:
    """Every flagged hour of a grid cube: ba, time, flag_names, reported and filled demand.

    Rows set aside while reading (duplicated timestamps, local times that do
    not exist) are listed after the hours, with ``time`` as found in the file
    and their ``reason``.
    """
    if "flag" not in ds:
        return pd.DataFrame(columns=["ba", "time", "flag_names", "demand_raw", "demand", "reason"])
    fl = ds["flag"].values
    bi, ti = np.nonzero(fl)
    raw = ds["demand_raw"].values[bi, ti] if "demand_raw" in ds else np.full(bi.size, np.nan)
    out = pd.DataFrame({
        "ba": ds["ba"].values[bi],
        "time": ds["time"].values[ti],
        "flag_names": [flag_names(v) for v in fl[bi, ti]],
        "demand_raw": raw,
        "demand": ds["demand"].values[bi, ti],
        "reason": "",
    })
    if "dropped_rows" in ds.attrs:
        d = pd.DataFrame(json.loads(ds.attrs["dropped_rows"]))
        d = d.rename(columns={"value": "demand_raw", "time_local": "time"})
        d["flag_names"] = "SET_ASIDE"
        out = pd.concat([out, d[[c for c in ("ba", "time", "flag_names", "demand_raw", "reason", "file", "row")
                                 if c in d.columns]]], ignore_index=True)
    return out


def read_cleaned_releases(root, bas: Sequence[str] | None = None, *, start=None, end=None,
                          cut="2020-01-01", screen: bool = True,
                          settings: ScreeningSettings | None = None) -> xr.Dataset:
    """Read and stitch the two cleaned releases into a grid cube.

    Parameters
    ----------
    root : path
        Folder holding both release folders.
    bas : list of str, optional
        Balancing authorities (default: the 22 of Norris et al. 2025).
    start, end : str or datetime, optional
        Hours kept (UTC, hour-beginning; ``end`` excluded).
    cut : str or datetime
        First hour taken from the 2025 release.
    screen : bool
        Screen the raw values (flags); the cleaned values are used either way.

    Returns
    -------
    xarray.Dataset
        Grid cube with ``demand`` (cleaned) [MW], ``demand_raw`` [MW] where
        the releases carry raw values, ``flag``, and ``demand_forecast`` [MW]
        where the 2020 release has it; attrs ``source_by_period`` say which
        file each BA came from.
    """
    rec, used, sources = read_release_records(root, bas, start=start, end=end, cut=cut)
    bas = list(bas) if bas is not None else list(NORRIS_BAS)
    ds = records_to_cube(rec, screen=screen, settings=settings, prefer_cleaned=True, sources=sources)
    ds = ds.sel(ba=bas)
    ds.attrs["source_by_ba"] = "; ".join(f"{b}: {', '.join(v)}" for b, v in used.items())
    ds.attrs["title"] = "EIA-930 hourly demand, cleaned releases of Ruggles et al. (2020_Oct + 2025_Jan)"
    ds.attrs["references"] = "Ruggles et al. (2020) Scientific Data 7:155, doi:10.1038/s41597-020-0483-x"
    return ds


def open_grid(source, bas: Sequence[str] | None = None, years: tuple[int, int] | None = None, *,
              progress: bool = False, screen: bool = True) -> xr.Dataset:
    """Open the grid cube (``ba`` x ``time``) from a folder of cleaned releases or EIA-930 files.

    Parameters
    ----------
    source : path or list of paths
        A folder holding both cleaned releases of Ruggles et al. (e.g. ``../shared/data/eia930``),
        or EIA-930 files and folders of files in any supported format (:data:`FORMATS`).
    bas : list of str, optional
        Balancing authorities to keep (default: the 22 of Norris et al. 2025 for the releases,
        else every BA in the files).
    years : (int, int), optional
        First and last calendar year (UTC) kept, both included [year].
    progress : bool
        Say on stderr what is being read.
    screen : bool
        Screen and fill raw demand (:mod:`powerfirst.io.screening`).

    Returns
    -------
    xarray.Dataset
        The grid cube (see :func:`read_eia930`); :func:`flag_report` lists its flagged hours.

    Raises
    ------
    FileNotFoundError
        A source that does not exist.
    ValueError
        A mix of release folders and single files, or more than one release folder.
    """
    import sys

    sources = [source] if isinstance(source, (str, Path)) else list(source)
    if not sources:
        raise ValueError("no grid source given; expected a release folder or EIA-930 files")
    if years is not None:
        years = (int(years[0]), int(years[-1]))
        if years[1] < years[0]:
            raise ValueError(f"years {years}: the last year comes before the first")
    start = f"{years[0]}-01-01" if years else None
    end = f"{years[1] + 1}-01-01" if years else None
    paths = [Path(s) for s in sources]
    for p in paths:
        if not p.exists():
            raise FileNotFoundError(f"grid source not found: {p}")
    releases = [p for p in paths if is_release_folder(p)]
    files = [p for p in paths if p not in releases]
    if releases and files:
        raise ValueError(f"mix of release folders ({', '.join(map(str, releases))}) and EIA-930 files "
                         f"({', '.join(map(str, files))}); give one kind")
    if len(releases) > 1:
        raise ValueError(f"give one folder that holds both cleaned releases, found {len(releases)}")
    if releases:
        if progress:
            print(f"reading the cleaned EIA-930 releases under {releases[0]} ...", file=sys.stderr)
        return read_cleaned_releases(releases[0], bas or NORRIS_BAS, start=start, end=end, screen=screen)
    if progress:
        print(f"reading {len(files)} EIA-930 source(s) ...", file=sys.stderr)
    return read_eia930(files, bas=bas, start=start, end=end, screen=screen)
