"""Candidate-site lists: CSV, GeoJSON and Parquet → a Dataset on ``site``.

The attributes a site may carry, with their types, units, defaults, ranges and
allowed values, are the table ``schema/site_attributes.csv``.  The reader
checks every row and every column and reports *all* problems at once — file,
row (and line for CSV), column, what was expected and what was found:

* required columns missing, required values empty, duplicated columns;
* values that are not numbers where numbers are expected: text, booleans,
  NaN and infinity, a decimal comma (``19,5``: write ``19.5``) and thousands
  separators (``1,200`` is ambiguous — 1200 or 1.2 — so it is refused);
* latitude, longitude and MW out of range (negative MW), and values above the
  *plausible* maximum of the table (``plausible_max``: 10000 MW for one site;
  a larger value is nearly always a unit mistake, kW entered as MW);
* coordinates that look swapped: (lat, lon) outside the box of the site's
  balancing authority (or country) while (lon, lat) is inside
  (``schema/bounds.csv``; GeoJSON positions are ``[lon, lat]``);
* values outside the allowed set (tier, workload, upgrade class, ...);
* unknown country codes (ISO 3166-1 alpha-2) and balancing-authority codes
  (``schema/grids.csv``), and a BA that lies in another country;
* duplicated site ids.

Files that are not what their name says are refused with a
:class:`~powerfirst.errors.DataFormatError` naming the file and, where it
helps, the line or byte offset: empty files, a header without rows, binary
files (a workbook or a Parquet file renamed ``.csv``), a CSV field longer than
the CSV field limit (an unclosed quote), a GeoJSON document that is not a
FeatureCollection.  Text is read as UTF-8 (with or without a byte-order mark);
a CSV that is not UTF-8 is read as Windows-1252 (Excel's western default) with
a warning, and the encoding used is recorded in ``attrs['source_encoding']``.
A CSV whose header has no comma but semicolons (or tabs) is read with that
delimiter (``attrs['source_delimiter']``).

Numeric attributes become data variables with ``units`` and ``long_name``;
text attributes ride along as coordinates on ``site``.
"""

from __future__ import annotations

import csv
import io
import json
import re
import warnings
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from powerfirst._provenance import file_hash, provenance
from powerfirst.errors import DataFormatError, Problem, ValidationError
from powerfirst.schema.tables import _bounds, _countries, _grids, _site_attributes, _variables

__all__ = ["read_sites", "sites_from_frame", "sites_to_frame", "check_sites_file", "write_sites_csv"]

_EMPTY = {"", "na", "nan", "null", "none"}
_EMPTY_TEXT = {"", "nan", "null"}  # 'none' and 'na' can be real values of text attributes
_REQUIRED_HEADER = "site_id, name, lat, lon, country, ba, target_mw"

SWAP_MARGIN_DEG = 0.5
"""Margin [degrees] added around the boxes of ``schema/bounds.csv`` in the swapped-coordinates check."""

_MAGIC = (
    (b"PK\x03\x04", "a ZIP archive (an Excel .xlsx workbook?); save the sheet as 'CSV UTF-8'"),
    (b"\xd0\xcf\x11\xe0", "an old Excel .xls workbook (OLE file); save the sheet as 'CSV UTF-8'"),
    (b"PAR1", "a Parquet file; name it .parquet"),
    (b"\x89HDF", "an HDF5 / NetCDF-4 file"),
    (b"CDF\x01", "a NetCDF-3 file"),
    (b"CDF\x02", "a NetCDF-3 file"),
    (b"%PDF", "a PDF document"),
    (b"\x1f\x8b", "a gzip-compressed file; decompress it first"),
    (b"SQLite format 3\x00", "an SQLite database"),
)


def _show(v, limit: int = 60) -> str:
    """``repr`` of a found value, shortened for a message."""
    r = repr(v)
    if len(r) <= limit:
        return r
    return r[: limit - 4] + "..." + r[-1] if r[0] in "'\"" else r[: limit - 3] + "..."


def _json_kind(v) -> str:
    return {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}.get(
        type(v), "number")


# ---------------------------------------------------------------- decoding


def _line_at(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def _decode(path: Path, data: bytes, kind: str) -> tuple[str, str]:
    """Text of a site file and the encoding used; binary files are refused."""
    for magic, what in _MAGIC:
        if data.startswith(magic):
            raise DataFormatError(f"{path}: not a {kind} text file but {what}")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):  # UTF-16 with a byte-order mark (Excel "Unicode text")
        try:
            return data.decode("utf-16"), "utf-16"
        except UnicodeDecodeError as exc:
            raise DataFormatError(f"{path}: starts with a UTF-16 byte-order mark but is not UTF-16 "
                                  f"(byte offset {exc.start}); save the file as UTF-8") from None
    nul = data.find(b"\x00")
    if nul >= 0:
        raise DataFormatError(f"{path}, line {_line_at(data, nul)}: a NUL byte at byte offset {nul}; this is a "
                              f"binary file, not a {kind} text file")
    try:
        text, encoding = data.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError as exc:
        bad = exc.start + (3 if data.startswith(b"\xef\xbb\xbf") else 0)
        where = f"byte 0x{data[bad]:02x} at byte offset {bad} (line {_line_at(data, bad)})"
        if kind != "CSV":
            raise DataFormatError(f"{path}: not UTF-8 text ({where}); {kind} files are UTF-8 "
                                  "(RFC 7946): save the file as UTF-8") from None
        try:
            text, encoding = data.decode("cp1252"), "cp1252"
        except UnicodeDecodeError:
            raise DataFormatError(f"{path}: not UTF-8 text ({where}), nor Windows-1252; save the file as "
                                  "UTF-8 (Excel: 'CSV UTF-8')") from None
        warnings.warn(f"{path}: not UTF-8 ({where}); read as Windows-1252 (cp1252, Excel's western "
                      "default): check accented names, or save the file as 'CSV UTF-8'", UserWarning,
                      stacklevel=4)
    controls = sum(1 for ch in text[:65536] if ord(ch) < 32 and ch not in "\t\n\r\f\x1a")
    if controls > max(2, len(text[:65536]) // 100):
        raise DataFormatError(f"{path}: {controls} control characters in the first "
                              f"{min(len(text), 65536):,} characters; this is a binary file, not a "
                              f"{kind} text file")
    return text, encoding


# ---------------------------------------------------------------- CSV


def _csv_error(path: Path, exc: csv.Error, line: int) -> DataFormatError:
    msg = str(exc)
    if "field larger than field limit" in msg:
        limit = csv.field_size_limit()
        return DataFormatError(
            f"{path}, line {line}: a field longer than {limit:,} characters (the CSV field limit) "
            "starts in the record at this line; site files have short fields, so this is most likely "
            "a quote (\") opened and never closed: close or remove it")
    return DataFormatError(f"{path}, line {line}: not readable as CSV ({msg})")


def _read_csv_records(path: Path) -> tuple[pd.DataFrame, list[int], list[int], list[Problem], dict]:
    """Rows of a site CSV: the table, each row's line and record number, the row problems, file info."""
    data = path.read_bytes()
    text, encoding = _decode(path, data, "CSV")
    info = {"source_encoding": encoding}
    if not text.strip():
        raise DataFormatError(f"{path}: the file is empty; expected a header row with {_REQUIRED_HEADER}")
    first = next(line for line in text.splitlines() if line.strip())
    delimiter = ","
    if "," not in first:
        delimiter = next((d for d in (";", "\t") if d in first), ",")
    if delimiter != ",":
        info["source_delimiter"] = delimiter
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header, header_line = None, 0
    rows, lines, recnos, problems = [], [], [], []
    recno = 0
    while True:
        start = reader.line_num + 1
        try:
            rec = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            raise _csv_error(path, exc, start) from None
        if not any(c.strip() for c in rec):
            continue
        if header is None:
            header, header_line = [h.strip() for h in rec], start
            continue
        recno += 1
        if len(rec) != len(header):
            problems.append(Problem(f"expected {len(header)} fields as in the header, found {len(rec)}",
                                    file=str(path), row=recno, line=start))
            continue
        rows.append([c.strip() for c in rec])
        lines.append(start)
        recnos.append(recno)
    if recno == 0:
        raise DataFormatError(f"{path}: only a header row (line {header_line}) and no site rows; expected "
                              "one row per site below the header")
    keep, seen = [], {}
    for k, name in enumerate(header):
        if not name:
            if any(r[k] for r in rows):
                problems.append(Problem(f"field {k + 1} of the header has no name, but rows hold values in "
                                        "it; name the column", file=str(path), line=header_line))
            continue  # an unnamed empty column (a trailing delimiter): dropped
        if name in seen:
            problems.append(Problem(f"column appears more than once in the header (fields {seen[name] + 1} "
                                    f"and {k + 1}); keep one", file=str(path), line=header_line, column=name))
            continue
        seen[name] = k
        keep.append(k)
    df = pd.DataFrame([[r[k] for k in keep] for r in rows], columns=[header[k] for k in keep], dtype=object)
    return df, lines, recnos, problems, info


# ---------------------------------------------------------------- GeoJSON


def _read_geojson_records(path: Path) -> tuple[pd.DataFrame, None, list[int], list[Problem], dict]:
    data = path.read_bytes()
    text, encoding = _decode(path, data, "GeoJSON")
    if not text.strip():
        raise DataFormatError(f"{path}: the file is empty; expected a GeoJSON FeatureCollection")
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataFormatError(f"{path}, line {exc.lineno} column {exc.colno}: not valid JSON ({exc.msg})") from None
    except RecursionError:
        raise DataFormatError(f"{path}: JSON nested too deeply to be a GeoJSON FeatureCollection") from None
    if not isinstance(doc, dict):
        hint = ""
        if isinstance(doc, list):
            hint = (f" of {len(doc)} item{'s' if len(doc) != 1 else ''}; wrap the features as "
                    '{"type": "FeatureCollection", "features": [...]}')
        raise DataFormatError(f"{path}: expected a GeoJSON FeatureCollection object, found a JSON "
                              f"{_json_kind(doc)}{hint}")
    if doc.get("type") != "FeatureCollection" or not isinstance(doc.get("features"), list):
        raise DataFormatError(f"{path}: expected a GeoJSON FeatureCollection, found type "
                              f"{_show(doc.get('type'))}"
                              + ("" if doc.get("type") != "FeatureCollection" else
                                 f" with 'features' a JSON {_json_kind(doc.get('features'))}, not an array"))
    if not doc["features"]:
        raise DataFormatError(f"{path}: the FeatureCollection has no features; expected one Point per site")
    records, recnos, problems = [], [], []
    for i, feat in enumerate(doc["features"], start=1):
        def bad(msg, col="geometry", i=i):
            problems.append(Problem(msg, file=str(path), row=i, column=col))

        if not isinstance(feat, dict):
            bad(f"expected a GeoJSON Feature object, found a JSON {_json_kind(feat)}", None)
            continue
        props = feat.get("properties")
        if props is not None and not isinstance(props, dict):
            bad(f"expected 'properties' to be an object, found a JSON {_json_kind(props)}", "properties")
        props = dict(props) if isinstance(props, dict) else {}
        geom = feat.get("geometry")
        gtype = geom.get("type") if isinstance(geom, dict) else geom
        if gtype != "Point":
            found = _show(gtype) if not isinstance(gtype, (dict, list)) else f"a JSON {_json_kind(gtype)}"
            bad(f"expected a Point geometry, found {found}")
        else:
            coords = geom.get("coordinates")
            if not isinstance(coords, list) or len(coords) < 2:
                bad(f"Point without [lon, lat] coordinates (found {_show(coords)})")
            else:
                props["lon"], props["lat"] = coords[0], coords[1]
                if len(coords) > 2 and "elevation_m" not in props:
                    props["elevation_m"] = coords[2]
        if "site_id" not in props and feat.get("id") is not None:
            props["site_id"] = feat["id"]
        records.append(props)
        recnos.append(i)
    df = pd.DataFrame(records, index=range(len(records)), dtype=object)
    return df, None, recnos, problems, {"source_encoding": encoding}


# ---------------------------------------------------------------- Parquet


def _read_parquet_records(path: Path) -> tuple[pd.DataFrame, None, None, list[Problem], dict]:
    try:
        df = pd.read_parquet(path)
        df = df.reset_index(drop=df.index.name is None).astype(object)
    except Exception as exc:  # noqa: BLE001 - any reader failure is a format problem of this file
        raise DataFormatError(f"{path}: not a readable Parquet file ({type(exc).__name__}: {exc})") from exc
    return df, None, None, [], {}


# ---------------------------------------------------------------- values


def _blank(v, text: bool = False) -> bool:
    if v is None or v is pd.NA or v is pd.NaT:
        return True
    if isinstance(v, (float, np.floating)) and np.isnan(v):
        return True
    return isinstance(v, str) and v.strip().lower() in (_EMPTY_TEXT if text else _EMPTY)


_EURO = re.compile(r"[+-]?\d{1,3}(\.\d{3})+,\d+")
_GROUPED = re.compile(r"[+-]?\d{1,3}(,\d{3})+(\.\d*)?")
_DECIMAL_COMMA = re.compile(r"[+-]?\d*,\d+")
_WITH_UNIT = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*[^\d\s.,+-].*")


def _parse_number(v, units: str) -> tuple[float, str | None]:
    """A number from a cell, or NaN and what is wrong with the cell."""
    u = f"[{units or '-'}]"
    if isinstance(v, (bool, np.bool_)):
        return np.nan, (f"expected a number {u}, found a boolean ({bool(v)}); a true/false value is not a "
                        "quantity")
    if isinstance(v, (bytes, bytearray)):
        try:
            v = bytes(v).decode("utf-8")
        except UnicodeDecodeError:
            return np.nan, f"expected a number {u}, found bytes {_show(bytes(v))}"
    if isinstance(v, str):
        s = v.strip()
        if "," in s:
            plain = s.replace(",", "")
            if _EURO.fullmatch(s):
                fix = s.replace(".", "").replace(",", ".")
                return np.nan, (f"expected a number {u}, found {_show(s)}: European digit grouping (thousands "
                                f"'.', decimal ','); write {fix}, with a decimal point and no separators")
            if _GROUPED.fullmatch(s) and (s.count(",") > 1 or "." in s):
                return np.nan, (f"expected a number {u}, found {_show(s)} with thousands separators; write "
                                f"{plain}, without them")
            if _GROUPED.fullmatch(s):
                return np.nan, (f"expected a number {u}, found {_show(s)}, which is ambiguous: {plain} with a "
                                f"thousands separator, or {s.replace(',', '.')} with a decimal comma; write the "
                                "number with a decimal point and no thousands separator")
            if _DECIMAL_COMMA.fullmatch(s):
                return np.nan, (f"expected a number {u}, found {_show(s)}, a decimal comma; write "
                                f"{s.replace(',', '.')}, with a decimal point")
            return np.nan, f"expected a number {u}, found {_show(s)} (write numbers with a decimal point, no commas)"
        if "_" in s:
            return np.nan, f"expected a number {u}, found {_show(s)}; write it without '_'"
        v = s
    try:
        x = float(v)
    except OverflowError:
        return np.nan, f"expected a number {u}, found {_show(v)}, which is too large for a number"
    except (TypeError, ValueError):
        if isinstance(v, str) and _WITH_UNIT.fullmatch(v):
            return np.nan, f"expected a number {u}, found {_show(v)}; write the number alone, in {units or '-'}"
        return np.nan, f"expected a number {u}, found {_show(v)}"
    if not np.isfinite(x):
        return np.nan, f"expected a finite number {u}, found {_show(v)}"
    return x, None


@cache
def _boxes() -> dict[tuple[str, str], tuple[float, float, float, float]]:
    t = _bounds()
    return {key: (float(r.lat_min), float(r.lat_max), float(r.lon_min), float(r.lon_max))
            for key, r in zip(t.index, t.itertuples(index=False), strict=True)}


def _box(kind: str, code: str):
    return _boxes().get((kind, code))


def _inside(box, lat: float, lon: float, m: float = SWAP_MARGIN_DEG) -> bool:
    la0, la1, lo0, lo1 = box
    if not (la0 - m <= lat <= la1 + m):
        return False
    if lo0 <= lo1:
        return lo0 - m <= lon <= lo1 + m
    return lon >= lo0 - m or lon <= lo1 + m  # the box crosses the antimeridian


# ---------------------------------------------------------------- the table check


def _check_frame(df: pd.DataFrame, *, file: str, lines: list[int] | None, rows: list[int] | None,
                 strict_columns: bool, geojson: bool = False):
    """Parse and check a table of sites; return (values by attribute, extra columns, problems)."""
    spec = _site_attributes()
    countries = set(_countries().index)
    grids = _grids()
    grid_country = grids["country"].to_dict()
    problems: list[Problem] = []
    df = df.copy()
    df.columns = [str(c).strip() for c in df.columns]

    def where(i: int, col: str) -> dict:
        return {"file": file, "row": rows[i] if rows else i + 1, "line": lines[i] if lines else None,
                "column": col}

    dup = df.columns[df.columns.duplicated()]
    for col in dict.fromkeys(dup):
        problems.append(Problem("column appears more than once; keep one", file=file, column=col))
    df = df.loc[:, ~df.columns.duplicated()]
    unnamed = [c for c in df.columns if c == ""]
    if unnamed:
        if any(not _blank(v) for v in df[""].tolist()):
            problems.append(Problem("a column has no name, but rows hold values in it; name the column",
                                    file=file))
        df = df.drop(columns=[""])
    if "site" in df.columns:
        problems.append(Problem("column name reserved for the site dimension (the ids come from "
                                "site_id); rename the column", file=file, column="site"))
    lower = {c.lower(): c for c in df.columns}
    missing = False
    for col, row in spec.iterrows():
        if row["required"] and col not in df.columns:
            missing = True
            hint = f" (found {lower[col]!r}: column names are lower case)" if col in lower else ""
            problems.append(Problem(f"required column missing ({row['description'].split(';')[0]}){hint}",
                                    file=file, column=col))
    if strict_columns:
        for col in df.columns:
            if col not in spec.index:
                problems.append(Problem("column not in the site schema", file=file, column=col))
    if missing:
        return None, None, problems

    n = len(df)
    if n == 0:
        return None, None, [Problem("no site rows found", file=file)]
    out: dict[str, np.ndarray] = {}
    for col, row in spec.iterrows():
        raw = df[col].tolist() if col in df.columns else [None] * n
        is_text = row["type"] != "float"
        blank = np.array([_blank(v, text=is_text) for v in raw], dtype=bool)
        if row["required"]:
            for i in np.flatnonzero(blank):
                v = raw[i]
                found = "" if v is None or (isinstance(v, str) and not v.strip()) else f" (found {_show(v)})"
                problems.append(Problem(f"required value is empty{found}", **where(i, col)))
        if row["type"] == "float":
            vals = np.full(n, np.nan)
            raw_units = row["units"]
            units = raw_units or "-"
            for i, v in enumerate(raw):
                if blank[i]:
                    continue
                x, msg = _parse_number(v, raw_units)
                if msg:
                    problems.append(Problem(msg, **where(i, col)))
                vals[i] = x
            lo, hi, cap = (float(row[k]) if pd.notna(row[k]) else None for k in ("min", "max", "plausible_max"))
            ok = ~np.isnan(vals)
            below = ok & (vals < lo) if lo is not None else np.zeros(n, bool)
            above = ok & ~below & (vals > hi) if hi is not None else np.zeros(n, bool)
            large = ok & ~below & ~above & (vals > cap) if cap is not None else np.zeros(n, bool)
            for i in np.flatnonzero(below):
                what = "negative" if lo == 0 else f"below {lo:g}"
                problems.append(Problem(f"{what} value {vals[i]:g}; expected >= {lo:g} [{units}]", **where(i, col)))
            for i in np.flatnonzero(above):
                problems.append(Problem(f"value {vals[i]:g} above {hi:g}; expected "
                                        f"{'' if lo is None else f'{lo:g} to '}{hi:g} [{units}]", **where(i, col)))
            for i in np.flatnonzero(large):
                problems.append(Problem(f"value {vals[i]:g} is implausibly large: above {cap:g} {units}, the "
                                        "plausible maximum for one site (schema/site_attributes.csv); check the "
                                        "unit", **where(i, col)))
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
                            problems.append(Problem(f"unknown country code {_show(v)}; expected an ISO 3166-1 "
                                                    "alpha-2 code such as 'US', 'DE', 'IE'", **where(i, col)))
                    vals = np.array([v.upper() for v in vals], dtype=object)
                elif allowed == "grids":
                    known = grids.index
                    for i, v in enumerate(vals):
                        if v and v not in known:
                            near = [k for k in known if k.upper() == v.upper()]
                            hint = f" (did you mean {near[0]!r}?)" if near else ""
                            problems.append(Problem(f"unknown balancing authority / bidding zone {_show(v)}"
                                                    f"{hint}; expected a code of schema/grids.csv such as "
                                                    "'PJM', 'ERCO', 'DE-LU'", **where(i, col)))
                else:
                    choices = allowed.split("|")
                    for i, v in enumerate(vals):
                        if v and v not in choices:
                            problems.append(Problem(f"value {_show(v)} not allowed; expected one of "
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
            first = rows[j] if rows else j + 1
            problems.append(Problem(f"duplicated site_id {_show(sid)} (first at row {first})",
                                    **where(i, "site_id")))
        else:
            first_seen[sid] = i
    for i, (ba, cc) in enumerate(zip(out["ba"], out["country"], strict=True)):
        if ba in grid_country and cc in countries and grid_country[ba] != cc:
            problems.append(Problem(f"balancing authority {ba!r} is in {grid_country[ba]}, "
                                    f"but country is {cc!r}", **where(i, "ba")))
    problems += _swapped(out, grid_country, countries, where, geojson)
    extras = df[[c for c in df.columns if c not in spec.index]]
    return out, extras, problems


def _swapped(out: dict, grid_country: dict, countries: set, where, geojson: bool) -> list[Problem]:
    """Rows whose (lat, lon) lies outside their grid's (or country's) box but (lon, lat) inside."""
    problems = []
    for i, (lat, lon, ba, cc) in enumerate(zip(out["lat"], out["lon"], out["ba"], out["country"], strict=True)):
        if not (np.isfinite(lat) and np.isfinite(lon)):
            continue
        if grid_country.get(ba) == cc and (box := _box("grid", ba)) is not None:
            area = f"the area of {ba}"
        elif cc in countries and (box := _box("country", cc)) is not None:
            area = f"the area of {cc}"
        else:
            continue
        if _inside(box, lat, lon) or not _inside(box, lon, lat):
            continue
        la0, la1, lo0, lo1 = box
        fix = (f"GeoJSON positions are [lon, lat] (RFC 7946): write [{lat:g}, {lon:g}]" if geojson
               else "swap the lat and lon values")
        problems.append(Problem(
            f"coordinates look swapped: lat {lat:g}, lon {lon:g} lies outside {area} (lat {la0:g} to {la1:g}, "
            f"lon {lo0:g} to {lo1:g}) but lat {lon:g}, lon {lat:g} lies inside; {fix}",
            **where(i, "geometry" if geojson else "lat")))
    return problems


def _merge(reader: list[Problem], frame: list[Problem]) -> list[Problem]:
    # a feature without a usable Point has no lat/lon: do not report them empty again
    no_point = {p.row for p in reader if p.column == "geometry"}
    frame = [p for p in frame if not (p.row in no_point and p.column in ("lat", "lon", "elevation_m"))]
    return sorted(reader + frame, key=lambda p: (p.row or 0, p.column or ""))


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
    out, extras, problems = _check_frame(df, file=file, lines=lines, rows=None, strict_columns=strict_columns)
    if problems:
        raise ValidationError(_merge([], problems), what=file)
    return _to_dataset(out, extras, _site_attributes(), file)


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
        ``attrs['source_encoding']`` names the text encoding read (CSV and
        GeoJSON), ``attrs['source_delimiter']`` a CSV delimiter other than ``,``.

    Raises
    ------
    FileNotFoundError
        The file is missing.
    DataFormatError
        The file is not CSV, GeoJSON or Parquet, or is not what its name
        says (empty, binary, not a FeatureCollection, ...); the message names
        the file and, where known, the line or byte offset.
    ValidationError
        Listing every problem with file, row and column.

    Warns
    -----
    UserWarning
        A CSV that is not UTF-8 was read as Windows-1252.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"site file not found: {path}")
    if path.is_dir():
        raise DataFormatError(f"{path}: is a folder, not a site file (.csv, .geojson or .parquet)")
    suffix = path.suffix.lower()
    if suffix in (".csv", ".txt"):
        df, lines, rows, problems, info = _read_csv_records(path)
    elif suffix in (".geojson", ".json"):
        df, lines, rows, problems, info = _read_geojson_records(path)
    elif suffix in (".parquet", ".pq"):
        df, lines, rows, problems, info = _read_parquet_records(path)
    else:
        raise DataFormatError(f"{path}: unknown site-file type {suffix!r}; expected .csv, .geojson or .parquet")
    out, extras, frame_problems = _check_frame(df, file=str(path), lines=lines, rows=rows,
                                               strict_columns=strict_columns,
                                               geojson=suffix in (".geojson", ".json"))
    problems = _merge(problems, frame_problems)
    if problems:
        raise ValidationError(problems, what=str(path))
    ds = _to_dataset(out, extras, _site_attributes(), str(path))
    ds.attrs["source_sha256"] = file_hash(path)
    ds.attrs.update(info)
    return ds


def check_sites_file(path) -> list[Problem]:
    """All problems of a site file (empty list when it is valid)."""
    try:
        read_sites(path)
    except ValidationError as exc:
        return exc.problems
    except (DataFormatError, FileNotFoundError) as exc:
        msg = str(exc)
        for prefix in (f"{path}: ", f"{path}, "):
            if msg.startswith(prefix):
                return [Problem(msg[len(prefix):], file=str(path))]
        return [Problem(msg, file=str(path))]
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
