"""Candidate-site lists: CSV, GeoJSON and Parquet → a Dataset on ``site``.

The attributes a site may carry, with their types, units, defaults, ranges and
allowed values, are the table ``schema/site_attributes.csv``.  The reader
checks every row and every column and reports *all* problems at once — file,
row (and line for CSV), column, what was expected and what was found:

* required columns missing, required values empty;
* values that are not numbers where numbers are expected;
* latitude, longitude and MW out of range (negative MW);
* values outside the allowed set (tier, workload, upgrade class, ...);
* unknown country codes (ISO 3166-1 alpha-2) and balancing-authority codes
  (``schema/grids.csv``), and a BA that lies in another country;
* duplicated site ids.

Numeric attributes become data variables with ``units`` and ``long_name``;
text attributes ride along as coordinates on ``site``.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from powerfirst._provenance import file_hash, provenance
from powerfirst.errors import DataFormatError, Problem, ValidationError
from powerfirst.schema.tables import _countries, _grids, _site_attributes, _variables

__all__ = ["read_sites", "sites_from_frame", "sites_to_frame", "check_sites_file", "write_sites_csv"]

_EMPTY = {"", "na", "nan", "null", "none"}
_EMPTY_TEXT = {"", "nan", "null"}  # 'none' and 'na' can be real values of text attributes


def _read_csv_records(path: Path) -> tuple[pd.DataFrame, list[int]]:
    text = path.read_text(encoding="utf-8-sig")
    reader = csv.reader(io.StringIO(text))
    try:
        header = next(reader)
    except StopIteration:
        raise DataFormatError(f"{path}: the file is empty; expected a header row with site_id, "
                              "name, lat, lon, country, ba, target_mw") from None
    header = [h.strip() for h in header]
    rows, lines, problems = [], [], []
    for rec in reader:
        if not any(c.strip() for c in rec):
            continue
        if len(rec) != len(header):
            problems.append(Problem(f"expected {len(header)} fields as in the header, found {len(rec)}",
                                    file=str(path), row=len(rows) + len(problems) + 1, line=reader.line_num))
            continue
        rows.append([c.strip() for c in rec])
        lines.append(reader.line_num)
    if problems:
        raise ValidationError(problems, what=str(path))
    return pd.DataFrame(rows, columns=header, dtype=object), lines


def _read_geojson_records(path: Path) -> tuple[pd.DataFrame, None]:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise DataFormatError(f"{path}: not valid JSON ({exc})") from exc
    if doc.get("type") != "FeatureCollection" or not isinstance(doc.get("features"), list):
        raise DataFormatError(f"{path}: expected a GeoJSON FeatureCollection, found type "
                              f"{doc.get('type')!r}")
    records, problems = [], []
    for i, feat in enumerate(doc["features"], start=1):
        props = dict(feat.get("properties") or {})
        geom = feat.get("geometry") or {}
        if geom.get("type") != "Point":
            problems.append(Problem(f"expected a Point geometry, found {geom.get('type')!r}",
                                    file=str(path), row=i, column="geometry"))
        else:
            coords = geom.get("coordinates") or []
            if len(coords) < 2:
                problems.append(Problem("Point without [lon, lat] coordinates", file=str(path),
                                        row=i, column="geometry"))
            else:
                props["lon"], props["lat"] = coords[0], coords[1]
                if len(coords) > 2 and "elevation_m" not in props:
                    props["elevation_m"] = coords[2]
        if "site_id" not in props and feat.get("id") is not None:
            props["site_id"] = feat["id"]
        records.append(props)
    if problems:
        raise ValidationError(problems, what=str(path))
    return pd.DataFrame.from_records(records).astype(object), None


def _read_parquet_records(path: Path) -> tuple[pd.DataFrame, None]:
    try:
        df = pd.read_parquet(path)
    except Exception as exc:  # noqa: BLE001
        raise DataFormatError(f"{path}: not a readable Parquet file ({exc})") from exc
    return df.reset_index(drop=df.index.name is None).astype(object), None


def _blank(v, text: bool = False) -> bool:
    if v is None:
        return True
    if isinstance(v, float) and np.isnan(v):
        return True
    return isinstance(v, str) and v.strip().lower() in (_EMPTY_TEXT if text else _EMPTY)


def sites_from_frame(df: pd.DataFrame, *, file: str = "<frame>", lines: list[int] | None = None,
                     strict_columns: bool = False) -> xr.Dataset:
    """Validate a table of sites and return the site Dataset.

    Parameters
    ----------
    df : pandas.DataFrame
        One row per site; columns named as in ``schema/site_attributes.csv``.
    file : str
        Name used in problem reports.
    lines : list of int, optional
        Line number of each row in the source text file.
    strict_columns : bool
        Report columns the schema does not know (they are kept as coordinates otherwise).

    Raises
    ------
    ValidationError
        Listing every problem with its row and column.
    """
    spec = _site_attributes()
    countries = set(_countries().index)
    grids = _grids()
    problems: list[Problem] = []
    df = df.copy()
    df.columns = [str(c).strip() for c in df.columns]

    def where(i: int, col: str) -> dict:
        return {"file": file, "row": i + 1, "line": lines[i] if lines else None, "column": col}

    for col, row in spec.iterrows():
        if row["required"] and col not in df.columns:
            problems.append(Problem(f"required column missing ({row['description']})", file=file, column=col))
    if strict_columns:
        for col in df.columns:
            if col not in spec.index:
                problems.append(Problem("column not in the site schema", file=file, column=col))
    if any(p.column in spec.index and p.row is None for p in problems):
        raise ValidationError(problems, what=file)

    n = len(df)
    if n == 0:
        raise ValidationError([Problem("no site rows found", file=file)], what=file)
    out: dict[str, np.ndarray] = {}
    for col, row in spec.iterrows():
        raw = df[col].tolist() if col in df.columns else [None] * n
        blank = np.array([_blank(v, text=row["type"] != "float") for v in raw])
        if row["required"]:
            for i in np.flatnonzero(blank):
                problems.append(Problem("required value is empty", **where(i, col)))
        if row["type"] == "float":
            vals = np.full(n, np.nan)
            for i, v in enumerate(raw):
                if blank[i]:
                    continue
                try:
                    x = float(str(v).replace(",", "")) if isinstance(v, str) else float(v)
                    if not np.isfinite(x):
                        raise ValueError
                    vals[i] = x
                except (TypeError, ValueError):
                    problems.append(Problem(f"expected a number [{row['units'] or '-'}], found {v!r}",
                                            **where(i, col)))
            lo, hi = row["min"], row["max"]
            for i in range(n):
                x = vals[i]
                if np.isnan(x):
                    continue
                if pd.notna(lo) and x < float(lo):
                    what = "negative" if float(lo) == 0 else f"below {float(lo):g}"
                    problems.append(Problem(f"{what} value {x:g}; expected >= {float(lo):g} "
                                            f"[{row['units'] or '-'}]", **where(i, col)))
                elif pd.notna(hi) and x > float(hi):
                    problems.append(Problem(f"value {x:g} above {float(hi):g}; expected "
                                            f"{'' if pd.isna(lo) else f'{float(lo):g} to '}{float(hi):g} "
                                            f"[{row['units'] or '-'}]", **where(i, col)))
            if pd.notna(row["default"]):
                vals = np.where(np.isnan(vals) & blank, float(row["default"]), vals)
            out[col] = vals
        else:
            vals = np.array(["" if blank[i] else str(v).strip() for i, v in enumerate(raw)], dtype=object)
            allowed = row["allowed"]
            if pd.notna(allowed):
                if allowed == "countries":
                    for i, v in enumerate(vals):
                        if v and v.upper() not in countries:
                            problems.append(Problem(f"unknown country code {v!r}; expected an ISO 3166-1 "
                                                    "alpha-2 code such as 'US', 'DE', 'IE'", **where(i, col)))
                    vals = np.array([v.upper() for v in vals], dtype=object)
                elif allowed == "grids":
                    known = grids.index
                    for i, v in enumerate(vals):
                        if v and v not in known:
                            near = [k for k in known if k.upper() == v.upper()]
                            hint = f" (did you mean {near[0]!r}?)" if near else ""
                            problems.append(Problem(f"unknown balancing authority / bidding zone {v!r}{hint}; "
                                                    "expected a code of schema/grids.csv such as "
                                                    "'PJM', 'ERCO', 'DE-LU'", **where(i, col)))
                else:
                    choices = allowed.split("|")
                    for i, v in enumerate(vals):
                        if v and v not in choices:
                            problems.append(Problem(f"value {v!r} not allowed; expected one of "
                                                    f"{', '.join(choices)}", **where(i, col)))
            if pd.notna(row["default"]):
                vals = np.array([v if v else row["default"] for v in vals], dtype=object)
            out[col] = vals

    # cross-field checks
    ids = out["site_id"]
    first_seen: dict[str, int] = {}
    for i, sid in enumerate(ids):
        if not sid:
            continue
        if sid in first_seen:
            j = first_seen[sid]
            problems.append(Problem(f"duplicated site_id {sid!r} (first at row {j + 1})", **where(i, "site_id")))
        else:
            first_seen[sid] = i
    for i, (ba, cc) in enumerate(zip(out["ba"], out["country"], strict=True)):
        if ba in grids.index and cc in countries and grids.at[ba, "country"] != cc:
            problems.append(Problem(f"balancing authority {ba!r} is in {grids.at[ba, 'country']}, "
                                    f"but country is {cc!r}", **where(i, "ba")))
    if problems:
        raise ValidationError(sorted(problems, key=lambda p: (p.row or 0, p.column or "")), what=file)

    extras = [c for c in df.columns if c not in spec.index]
    return _to_dataset(out, df[extras], spec, file)


def _to_dataset(out: dict, extras: pd.DataFrame, spec: pd.DataFrame, file: str) -> xr.Dataset:
    table = _variables()
    coords = {"site": ("site", out["site_id"].astype(str))}
    data_vars = {}
    for col, row in spec.iterrows():
        if col == "site_id":
            continue
        if col in ("lat", "lon"):
            coords[col] = ("site", out[col], {"units": row["units"],
                                                "long_name": "latitude" if col == "lat" else "longitude"})
        elif row["type"] == "float":
            meta = table.loc[col] if col in table.index else None
            attrs = {"units": row["units"] or "1",
                     "long_name": meta["long_name"] if meta is not None else row["description"]}
            data_vars[col] = ("site", out[col].astype(float), attrs)
        else:
            coords[col] = ("site", out[col].astype(str))
    for col in extras.columns:
        vals = extras[col].to_numpy()
        coords[col] = ("site", np.array(["" if _blank(v) else str(v) for v in vals], dtype=str))
    ds = xr.Dataset(data_vars, coords=coords)
    ds.attrs.update({"pf_kind": "sites", "title": "candidate sites"})
    ds.attrs.update(provenance(source=file))
    return ds


def read_sites(path, *, strict_columns: bool = False) -> xr.Dataset:
    """Read and validate a site list (``.csv``, ``.geojson``/``.json``, ``.parquet``).

    Parameters
    ----------
    path : str or path-like
        The site file.
    strict_columns : bool
        Also report columns that the site schema does not know.

    Returns
    -------
    xarray.Dataset
        On dimension ``site`` (the site ids) with coordinates ``lat``, ``lon``,
        ``name``, ``country``, ``ba`` and the text attributes, and one data
        variable per numeric attribute, with ``units`` and ``long_name``.

    Raises
    ------
    FileNotFoundError, DataFormatError
        The file is missing or is not CSV, GeoJSON or Parquet.
    ValidationError
        Listing every problem with file, row and column.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"site file not found: {path}")
    suffix = path.suffix.lower()
    if suffix in (".csv", ".txt"):
        df, lines = _read_csv_records(path)
    elif suffix in (".geojson", ".json"):
        df, lines = _read_geojson_records(path)
    elif suffix in (".parquet", ".pq"):
        df, lines = _read_parquet_records(path)
    else:
        raise DataFormatError(f"{path}: unknown site-file type {suffix!r}; expected .csv, .geojson or .parquet")
    ds = sites_from_frame(df, file=str(path), lines=lines, strict_columns=strict_columns)
    ds.attrs["source_sha256"] = file_hash(path)
    return ds


def check_sites_file(path) -> list[Problem]:
    """All problems of a site file (empty list when it is valid)."""
    try:
        read_sites(path)
    except ValidationError as exc:
        return exc.problems
    except (DataFormatError, FileNotFoundError) as exc:
        return [Problem(str(exc), file=str(path))]
    return []


def sites_to_frame(ds: xr.Dataset) -> pd.DataFrame:
    """The site Dataset back as a table (one row per site, schema column order first)."""
    spec = _site_attributes()
    df = ds.reset_coords().drop_vars([v for v in ds.data_vars if "site" not in ds[v].dims]).to_dataframe()
    df.index.name = "site_id"
    df = df.reset_index()
    cols = [c for c in spec.index if c in df.columns] + [c for c in df.columns if c not in spec.index]
    return df[cols]


def write_sites_csv(ds: xr.Dataset, path) -> str:
    """Write a site Dataset as CSV (atomically)."""
    import os
    import uuid

    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp-{uuid.uuid4().hex[:8]}")
    sites_to_frame(ds).to_csv(tmp, index=False)
    os.replace(tmp, path)
    return str(path)
