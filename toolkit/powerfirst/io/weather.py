"""Typical-year weather files (TMY2, TMY3, EPW, NetCDF) → a Dataset on ``station`` × ``time``.

Typical-year ("TMY") files are the usual weather input of energy siting
studies: one year of hourly values stitched from typical months of different
years.  :func:`read_weather` reads the common formats with pvlib's readers

* TMY2 (``.tm2``): :func:`pvlib.iotools.read_tmy2` (NREL, 1961-1990 data);
* TMY3 (``.csv``): :func:`pvlib.iotools.read_tmy3` (NREL, 1991-2005 data);
* EPW (``.epw``): :func:`pvlib.iotools.read_epw` (EnergyPlus; e.g. the TMYx
  files of climate.onebuilding.org);
* NetCDF (``.nc``) holding the same variables on ``station`` (or ``site``) ×
  ``time`` with ``units`` attributes, e.g. written by :func:`fetch_pvgis_tmy`
  or by ``write_netcdf(read_weather(...))``,

detecting the format from the extension, or from the content when the
extension says nothing.

Output
------
Dimensions ``station`` × ``time``; variables ``ghi``, ``dni``, ``dhi``
[W m-2], ``temp_air`` [degC], ``wind_speed`` [m s-1] (attribute
``height_m = 10``) and, where the file has it, ``pressure`` [Pa] (NaN for a
station without it); coordinates on ``station``: ``lat``, ``lon``,
``elevation_m``, ``name``, ``source`` (file name), ``source_sha256``,
``format`` and ``tz_offset_h``; ``attrs['pf_kind'] = 'weather'``.  Units and
long names come from ``schema/variables.csv``.

Time convention
---------------
powerfirst's time axis is hourly, **hour-beginning, timezone-naive UTC**, on
**one fixed non-leap reference year** (``year``, default 2023), so every
station has exactly 8,760 steps ``2023-01-01 00:00`` … ``2023-12-31 23:00``.

The text formats label each hour by its **end** in **local standard time**
(no daylight saving): the row ``01/01, 01:00`` of a TMY3 file at UTC−5 holds
the hour 00:00–01:00 EST, which is 05:00–06:00 UTC.  The reader

1. places every row by its calendar position (month, day, hour − 1), ignoring
   the year column (typical years mix years: January 1988, February 1976, …);
2. converts local standard time to UTC with the header's time-zone offset
   ``TZ``: the value at UTC hour ``j`` is the row at local hour ``j + TZ``;
3. wraps the hours that the shift pushes out of the year back into it: at
   UTC−5 the last five local hours of 31 December (19:00–24:00 EST, i.e.
   00:00–05:00 UTC on 1 January of the *next* year) become 2023-01-01
   00:00–04:00 UTC.  A typical year is a climatology, so the wrap joins
   31 December to 1 January of the same typical year; there is a small
   discontinuity at the seam, as at any typical-year month boundary.

A half-hour offset (e.g. UTC+5:30) is handled by linear interpolation
between the two neighbouring hours.  Leap-year files (8,784 rows) have their
29 February rows **dropped**.  NetCDF files are taken to be in UTC already,
hour-beginning (as written by this module); they are mapped onto the
reference year by (month, day, hour) in the same way.

Validation
----------
Problems are collected and raised together, each naming the file, the
variable and the row (and line) or the first timestamp: a missing file or an
unknown format (:class:`~powerfirst.errors.DataFormatError`), missing
variables, missing or wrong ``units``, a wrong number of rows, non-hourly
data, missing values (NaN or the format's missing-value code) and physically
implausible values outside the valid range of the schema (e.g. ``ghi`` above
1500 W m-2, ``temp_air`` outside −70…60 °C)
(:class:`~powerfirst.errors.ValidationError`).
"""

from __future__ import annotations

import calendar
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from powerfirst._provenance import file_hash, provenance
from powerfirst.errors import DataFormatError, PowerfirstError, Problem, ValidationError
from powerfirst.schema.tables import _variables

__all__ = [
    "WEATHER_VARIABLES",
    "WeatherDownloadError",
    "WeatherFileNotFoundError",
    "default_station_paths",
    "default_stations",
    "fetch_nsrdb_tmy",
    "fetch_pvgis_tmy",
    "fetch_site_typical_years",
    "pvlib_station_paths",
    "station_metadata",
    "weather_cache_dir",
    "read_weather",
    "to_reference_year",
]

#: variables every weather file must provide, and the optional ones
WEATHER_VARIABLES = ("ghi", "dni", "dhi", "temp_air", "wind_speed")
OPTIONAL_VARIABLES = ("pressure",)
HOURS = 8760
WIND_HEIGHT_M = 10.0

_EXT_FORMAT = {".epw": "epw", ".tm2": "tmy2", ".tmy2": "tmy2", ".csv": "tmy3",
               ".nc": "netcdf", ".nc4": "netcdf", ".netcdf": "netcdf", ".cdf": "netcdf"}
_CUMULATIVE_DOY = np.concatenate([[0], np.cumsum(calendar.mdays[1:])])  # non-leap


class WeatherFileNotFoundError(DataFormatError, FileNotFoundError):
    """A weather file named by the user does not exist."""


class WeatherDownloadError(PowerfirstError, ConnectionError):
    """A weather service could not be reached (no network, timeout, server error)."""


@dataclass
class _Station:
    """One station read from a file, before it is put on the reference year."""

    file: str
    fmt: str
    code: str
    name: str
    lat: float
    lon: float
    elevation_m: float
    tz: float                      # UTC offset of the time labels [h] (0 for NetCDF)
    month: np.ndarray
    day: np.ndarray
    hour: np.ndarray               # hour-beginning 0..23 in the file's time
    values: dict[str, np.ndarray]  # canonical units
    header_lines: int = 0          # lines before the first data row (text formats)
    row_kind: str = "row"          # "row" for text files, "time step" for NetCDF
    tz_label: str = "local standard time"
    notes: list[str] = field(default_factory=list)
    tz_offset_h: float = np.nan    # the station's standard-time offset, when known


# --------------------------------------------------------------------------- format detection


def _detect_format(path: Path) -> str:
    fmt = _EXT_FORMAT.get(path.suffix.lower())
    try:
        with open(path, "rb") as f:
            head = f.read(4096)
    except OSError as exc:
        raise DataFormatError(f"{path}: cannot be read ({exc})") from exc
    if head[:4] in (b"CDF\x01", b"CDF\x02", b"\x89HDF"):
        return "netcdf"
    text = head.decode("latin-1", errors="replace")
    lines = text.splitlines()
    if not text.strip():
        raise DataFormatError(f"{path}: the file is {'empty' if not head else 'blank'}; expected a typical-year "
                              "weather file (EPW, TMY3, TMY2 or NetCDF)")
    if text.startswith("LOCATION,"):
        return "epw"
    if len(lines) > 1 and lines[1].startswith("Date (MM/DD/YYYY)"):
        return "tmy3"
    if (len(lines) > 1 and len(lines[0]) >= 40 and lines[0][1:6].strip().isdigit()
            and lines[1][1:9].strip().isdigit()):
        return "tmy2"
    if fmt is not None:
        # the extension is known but the content does not look like it
        raise DataFormatError(
            f"{path}: the extension says {fmt.upper()} but the content does not look like one "
            f"(first line {lines[0][:60]!r} ...); expected an EPW (first line 'LOCATION,...'), "
            "a TMY3 CSV (second line 'Date (MM/DD/YYYY),Time (HH:MM),...'), a TMY2 file or NetCDF")
    raise DataFormatError(
        f"{path}: unknown weather-file format (extension {path.suffix!r}); expected .epw (EnergyPlus), "
        ".csv (TMY3), .tm2 (TMY2) or .nc (NetCDF with ghi, dni, dhi, temp_air, wind_speed on "
        "station x time)")


# --------------------------------------------------------------------------- text readers


def _missing_to_nan(values: dict[str, np.ndarray], codes: dict[str, Iterable[float]]) -> None:
    for var, cs in codes.items():
        if var in values:
            v = values[var]
            for c in cs:
                v[np.isclose(v, c)] = np.nan


def _num(series) -> np.ndarray:
    # a writable copy (pandas copy-on-write hands out read-only views)
    return np.array(pd.to_numeric(series, errors="coerce").to_numpy(dtype=float, na_value=np.nan))


_TMY3_HEADER = {"station number (USAF)": (0, "USAF (field 1)", "", 0, 999999),
                "time zone": (3, "TZ (field 4)", "h", -12, 14),
                "latitude": (4, "latitude (field 5)", "degrees_north", -90, 90),
                "longitude": (5, "longitude (field 6)", "degrees_east", -180, 180),
                "elevation": (6, "elevation (field 7)", "m", -500, 9000)}
_TMY3_LABELS = {"tz": "TZ (field 4)", "lat": "latitude (field 5)", "ghi": "GHI (W/m^2)",
                "dni": "DNI (W/m^2)", "dhi": "DHI (W/m^2)"}
_EPW_HEADER = {"latitude": (6, "Latitude (LOCATION field 7)", "degrees_north", -90, 90),
               "longitude": (7, "Longitude (LOCATION field 8)", "degrees_east", -180, 180),
               "time zone": (8, "TimeZone (LOCATION field 9)", "h", -12, 14),
               "elevation": (9, "Elevation (LOCATION field 10)", "m", -1000, 9000)}
_EPW_LABELS = {"tz": "TimeZone (LOCATION field 9)", "lat": "Latitude (LOCATION field 7)",
               "ghi": "Global Horizontal Radiation (field 14)", "dni": "Direct Normal Radiation (field 15)",
               "dhi": "Diffuse Horizontal Radiation (field 16)"}
_TMY2_LABELS = {"tz": "TZ (header)", "lat": "latitude (header)", "ghi": "GHI", "dni": "DNI", "dhi": "DHI"}


def _read_tmy3_file(path: Path) -> _Station:
    import csv
    import io

    from pvlib.iotools import read_tmy3

    file = str(path)
    text = _weather_text(path, "TMY3")
    first = text.splitlines()[0] if text.strip() else ""
    problems: list[Problem] = []
    head = _header_numbers(next(csv.reader([first]), []), _TMY3_HEADER, file, problems)
    counts = [len(r) for r in csv.reader(text.splitlines()[1:]) if r]
    for i in [k for k in range(1, len(counts)) if counts[k] != counts[0]][:20]:
        cut = (" and the file ends there without a line terminator: it looks cut short"
               if i == len(counts) - 1 and not text.endswith(("\n", "\r")) else "")
        problems.append(Problem(f"expected {counts[0]} fields as in the header (line 2), found {counts[i]}{cut}",
                                file=file, row=i, line=i + 2))
    try:
        raw = pd.read_csv(io.StringIO(text), skiprows=1, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as exc:
        if problems:
            raise ValidationError(problems, what=path.name) from None
        raise DataFormatError(f"{path}: not a readable TMY3 file ({type(exc).__name__}: {exc})") from None
    missing = [c for c in ("Date (MM/DD/YYYY)", "Time (HH:MM)") if c not in raw.columns]
    if missing:
        problems += [Problem("TMY3 column missing (line 2 names the columns)", file=file, line=2, column=c)
                     for c in missing]
    else:
        date = raw["Date (MM/DD/YYYY)"].str.strip()
        hhmm = raw["Time (HH:MM)"].str.strip()
        bad = ~date.str.fullmatch(r"\d\d/\d\d/\d{4}") | ~hhmm.str.fullmatch(r"\d\d?:\d\d")
        for i in np.flatnonzero(bad.to_numpy())[:20]:
            problems.append(Problem(f"expected a date MM/DD/YYYY and a time HH:MM, found {date.iloc[i]!r} "
                                    f"{hhmm.iloc[i]!r}", file=file, row=int(i) + 1, line=int(i) + 3,
                                    column="Date (MM/DD/YYYY)"))
        if bad.sum() > 20:
            problems.append(Problem(f"... and {int(bad.sum()) - 20} more rows with unreadable dates or times",
                                    file=file))
    if problems:
        _early_tz_problem(head, file, _TMY3_LABELS["tz"], problems)
        raise ValidationError(problems, what=path.name)
    try:
        data, meta = read_tmy3(io.StringIO(text), map_variables=True)
    except Exception as exc:  # noqa: BLE001 - re-raised with the file name
        raise DataFormatError(f"{path}: not a readable TMY3 file ({type(exc).__name__}: {exc})") from exc
    date = data["Date (MM/DD/YYYY)"].astype(str)
    hhmm = data["Time (HH:MM)"].astype(str)
    values = {}
    for var in (*WEATHER_VARIABLES, "pressure"):
        if var in data.columns:
            values[var] = _num(data[var])
    if "pressure" in values:
        values["pressure"] = values["pressure"] * 100.0  # mbar -> Pa
    _missing_to_nan(values, {v: (-9900.0, -99000.0) for v in values})
    return _check_station(_Station(
        file=str(path), fmt="tmy3", code=str(meta.get("USAF", path.stem)),
        name=str(meta.get("Name", path.stem)).strip().strip('"'),
        lat=float(meta["latitude"]), lon=float(meta["longitude"]),
        elevation_m=float(meta["altitude"]), tz=float(meta["TZ"]),
        month=_num(date.str[0:2]), day=_num(date.str[3:5]),
        hour=_num(hhmm.str.split(":").str[0]) - 1.0,
        values=values, header_lines=2, tz_offset_h=float(meta["TZ"]),
        notes=["minutes"] if np.nan_to_num(_num(hhmm.str.split(":").str[1])).any() else [],
    ), _TMY3_LABELS)


def _read_tmy2_file(path: Path) -> _Station:
    from pvlib.iotools import read_tmy2

    _weather_text(path, "TMY2")  # binary or undecodable bytes: located
    try:
        data, meta = read_tmy2(str(path))
    except Exception as exc:  # noqa: BLE001
        raise DataFormatError(f"{path}: not a readable TMY2 file ({type(exc).__name__}: {exc})") from exc
    raw = {"ghi": "GHI", "dni": "DNI", "dhi": "DHI", "temp_air": "DryBulb",
           "wind_speed": "Wspd", "pressure": "Pressure"}
    values = {v: _num(data[c]) for v, c in raw.items() if c in data.columns}
    # TMY2 manual: 9999 marks missing data; temperature and wind are in tenths
    _missing_to_nan(values, {v: (9999.0, -9999.0) for v in values})
    if "temp_air" in values:
        values["temp_air"] = values["temp_air"] / 10.0
    if "wind_speed" in values:
        values["wind_speed"] = values["wind_speed"] / 10.0
    if "pressure" in values:
        values["pressure"] = values["pressure"] * 100.0  # mbar -> Pa
    return _check_station(_Station(
        file=str(path), fmt="tmy2", code=str(meta.get("WBAN", path.stem)).strip(),
        name=str(meta.get("City", path.stem)).strip(),
        lat=float(meta["latitude"]), lon=float(meta["longitude"]),
        elevation_m=float(meta["altitude"]), tz=float(meta["TZ"]),
        month=_num(data["month"]), day=_num(data["day"]), hour=_num(data["hour"]) - 1.0,
        values=values, header_lines=1, tz_offset_h=float(meta["TZ"]),
    ), _TMY2_LABELS)


def _read_epw_file(path: Path) -> _Station:
    import io

    from pvlib.iotools import read_epw

    file = str(path)
    text = _weather_text(path, "EPW")
    lines = text.splitlines()
    problems: list[Problem] = []
    # EnergyPlus Auxiliary Programs: LOCATION, City, State, Country, Source, WMO, Latitude, Longitude,
    # TimeZone, Elevation; 7 more header lines; data rows of 35 fields (year, month, day, hour, minute, ...)
    head = _header_numbers(lines[0].split(",") if lines else [], _EPW_HEADER, file, problems)
    rows = lines[8:]
    if len(lines) < 8:
        problems.append(Problem(f"only {len(lines)} lines; an EPW file has 8 header lines (LOCATION ... DATA "
                                "PERIODS) and then one line per hour", file=file))
    elif rows:
        counts = np.array([r.count(",") + 1 for r in rows])
        n = int(np.bincount(counts).argmax())
        for i in np.flatnonzero(counts != n)[:20]:
            cut = " (the file ends there: it looks cut short)" if i == len(rows) - 1 else ""
            problems.append(Problem(f"expected {n} fields as in the other rows, found {int(counts[i])}{cut}",
                                    file=file, row=int(i) + 1, line=int(i) + 9))
        if n < 22:
            problems.append(Problem(f"rows have {n} fields; an EPW data row has 35 (wind speed is field 22)",
                                    file=file, line=9))
        else:
            raw = pd.DataFrame([(r.split(",") + [""] * 5)[:5] for r in rows],
                               columns=["year", "month", "day", "hour", "minute"])
            _check_rows(raw, {"year": "year (field 1)", "month": "month (field 2)", "day": "day (field 3)",
                              "hour": "hour (field 4)"}, file, 8, problems)
    if problems:
        _early_tz_problem(head, file, _EPW_LABELS["tz"], problems)
        raise ValidationError(problems, what=path.name)
    try:
        data, meta = read_epw(io.StringIO(text))
    except Exception as exc:  # noqa: BLE001
        raise DataFormatError(f"{path}: not a readable EPW file ({type(exc).__name__}: {exc})") from exc
    values = {v: _num(data[v]) for v in (*WEATHER_VARIABLES,) if v in data.columns}
    if "atmospheric_pressure" in data.columns:
        values["pressure"] = _num(data["atmospheric_pressure"])  # already Pa
    # EnergyPlus auxiliary programs, "missing" values of the data fields
    _missing_to_nan(values, {"ghi": (9999.0,), "dni": (9999.0,), "dhi": (9999.0,),
                             "temp_air": (99.9,), "wind_speed": (999.0,), "pressure": (999999.0,)})
    minute = _num(data["minute"]) if "minute" in data.columns else np.zeros(len(data))
    return _check_station(_Station(
        file=str(path), fmt="epw", code=str(meta.get("WMO_code", path.stem)).strip(),
        name=str(meta.get("city", path.stem)).strip(),
        lat=float(meta["latitude"]), lon=float(meta["longitude"]),
        elevation_m=float(meta["altitude"]), tz=float(meta["TZ"]),
        month=_num(data["month"]), day=_num(data["day"]), hour=_num(data["hour"]) - 1.0,
        values=values, header_lines=8, tz_offset_h=float(meta["TZ"]),
        notes=[] if np.all(np.isin(minute, (0.0, 60.0))) else ["minutes"],
    ), _EPW_LABELS)


# --------------------------------------------------------------------------- text, header and plausibility checks

#: largest accepted difference between a header's UTC offset and the longitude's solar offset
#: (lon / 15) [h].  Standard time zones follow the 15-degree meridians, bent by borders: western
#: Spain and France lie 1.6 h from their zone, western Argentina 1.6 h, the Aleutians 1.7 h, Kashgar
#: (76.0 E, China's single zone UTC+8) 2.9 h.  A wrong sign (UTC+5 for UTC-5 in Virginia: 10.1 h) or
#: a wrong zone (UTC+14 at 77.6 W: 4.9 h, taken round the date line) lies well outside.
TZ_LON_TOLERANCE_H = 3.0
#: China keeps UTC+8 to its western border (73.5 E): 3.1 h from solar time there
_WIDE_ZONES = ((8.0, 73.0, 135.5, 3.5),)  # (offset [h], lon_min, lon_max, tolerance [h])
#: near the poles the longitude says nothing about the time zone (stations keep their supply base's)
_POLAR_LAT = 80.0
#: the annual maximum of GHI at any station with sunlight exceeds this [W m-2] (clear-sky noon GHI
#: at the poles' midsummer is about 400 W m-2); a file below it is in other units or empty of sun
_GHI_MIN_ANNUAL_MAX = 100.0
#: latitude [degrees] from which the seasons' day lengths must show the header's hemisphere: at
#: 15 degrees the June and December days differ by about 1.7 h
_HEMISPHERE_LAT = 15.0


def _weather_text(path: Path, kind: str) -> str:
    """Text of a weather file: UTF-8 (with or without a byte-order mark), else Windows-1252 with a warning.

    Binary content (a NUL byte) and bytes that are neither are refused with the byte offset.
    """
    import warnings

    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DataFormatError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    nul = data.find(b"\x00", 0, 1 << 16)
    if nul >= 0:
        line = data.count(b"\n", 0, nul) + 1
        raise DataFormatError(f"{path}: a NUL byte at byte offset {nul} (line {line}); this is a binary file, "
                              f"not a {kind} text file")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        bad = exc.start + (3 if data.startswith(b"\xef\xbb\xbf") else 0)
        line = data.count(b"\n", 0, bad) + 1
        where = f"byte 0x{data[bad]:02x} at byte offset {bad}, line {line}"
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError:
        raise DataFormatError(f"{path}: not UTF-8 text ({where}), nor Windows-1252; save the file as "
                              "UTF-8") from None
    warnings.warn(f"{path}: not UTF-8 ({where}); read as Windows-1252 (cp1252): check the station name",
                  UserWarning, stacklevel=5)
    return text


_HEADER_HINTS = {"time zone": "the UTC offset of local standard time [h], e.g. -5 for US Eastern Standard Time"}


def _header_numbers(fields: list[str], spec: dict, file: str, problems: list, line: int = 1) -> dict:
    """Numbers of a header line; ``spec`` maps a name to (field index, label, unit, lo, hi); problems located."""
    out = {}
    for name, (i, label, unit, lo, hi) in spec.items():
        raw = fields[i].strip().strip('"') if i < len(fields) else ""
        where = {"file": file, "line": line, "column": label}
        if not raw:
            want = _HEADER_HINTS.get(name, f"the {name}" + (f" [{unit}]" if unit else ""))
            problems.append(Problem(f"the {name} is {'empty' if i < len(fields) else 'missing'}; expected {want}",
                                    **where))
            continue
        try:
            v = float(raw)
        except ValueError:
            want = _HEADER_HINTS.get(name, f"the {name}" + (f" [{unit}]" if unit else ""))
            problems.append(Problem(f"expected {want}, a number; found {raw!r}", **where))
            continue
        if not (np.isfinite(v) and lo <= v <= hi):
            problems.append(Problem(f"{name} {v:g} {unit} outside {lo:g} to {hi:g} {unit}", **where))
            continue
        out[name] = v
    return out


def _tz_lon_problem(tz: float, lat: float, lon: float, file: str, label: str, line: int | None = 1
                    ) -> Problem | None:
    """A header UTC offset that does not fit the longitude (see :data:`TZ_LON_TOLERANCE_H`)."""
    if not (np.isfinite(tz) and np.isfinite(lon)) or (np.isfinite(lat) and abs(lat) >= _POLAR_LAT):
        return None
    solar = lon / 15.0
    diff = (tz - solar + 12.0) % 24.0 - 12.0  # round the date line: UTC+14 at 157 W is solar time
    tol = TZ_LON_TOLERANCE_H
    for off, lo, hi, t in _WIDE_ZONES:
        if tz == off and lo <= lon <= hi:
            tol = t
    if abs(diff) <= tol:
        return None
    side = "west of Greenwich the offset is negative" if lon < 0 else "east of Greenwich the offset is positive"
    hint = f" (the sign looks flipped: {side})" if abs((-tz - solar + 12.0) % 24.0 - 12.0) <= tol else ""
    return Problem(f"time zone UTC{tz:+g} h does not fit the longitude {lon:g} (solar time there is "
                   f"UTC{solar:+.1f} h; the header offset may differ from it by at most {tol:g} h, found "
                   f"{abs(diff):.1f} h){hint}; correct the time zone or the longitude", file=file, line=line,
                   column=label)


def _early_tz_problem(head: dict, file: str, label: str, problems: list) -> None:
    """With the rows' problems (raised before the values are read), the header's time zone too."""
    nan = float("nan")
    p = _tz_lon_problem(head.get("time zone", nan), head.get("latitude", nan), head.get("longitude", nan), file,
                        label)
    if p:
        problems.insert(0, p)


def _plausibility_problems(st: _Station, labels: dict[str, str]) -> list[Problem]:
    """Irradiance in other units, data from the other hemisphere than the header's latitude, and gaps in an
    optional variable (a station pressure with missing hours would pass NaN on silently)."""
    problems = []
    file = st.file
    for var in OPTIONAL_VARIABLES:
        v = st.values.get(var)
        gaps = np.flatnonzero(np.isnan(v)) if v is not None and np.isfinite(v).any() else np.array([], int)
        if gaps.size:
            i = int(gaps[0])
            where = {"row": i + 1, "line": i + 1 + st.header_lines} if st.row_kind == "row" else {}
            problems.append(Problem(f"{gaps.size} missing value{'s' if gaps.size != 1 else ''} (NaN or the "
                                    f"format's missing-value code) of an optional variable, first at "
                                    f"{_stamp(st, i)} {st.tz_label}; fill the gaps, or leave the variable out of "
                                    "the file", file=file, variable=var, **where))
    for var in ("ghi", "dni", "dhi"):
        v = st.values.get(var)
        if v is None or not np.isfinite(v).any():
            continue
        top = float(np.nanmax(v))
        col = labels.get(var, var)
        if 0 < top <= 1.5:
            problems.append(Problem(f"the largest value of the year is {top:g}: values look like kW m-2; "
                                    "expected W m-2 (multiply by 1,000)", file=file, column=col, variable=var))
        elif var == "ghi" and top < _GHI_MIN_ANNUAL_MAX:
            problems.append(Problem(f"the largest value of the year is {top:g} W m-2; expected several hundred "
                                    f"W m-2 (at least {_GHI_MIN_ANNUAL_MAX:g} anywhere with sunlight): the column "
                                    "is empty of sunlight or in other units", file=file, column=col, variable=var))
    g = st.values.get("ghi")
    if g is not None and np.isfinite(st.lat) and abs(st.lat) >= _HEMISPHERE_LAT and not problems:
        with np.errstate(invalid="ignore"):
            lit = np.where(np.isfinite(g), g > 0, np.nan)
        june = np.isin(st.month, (6, 7)) & np.isfinite(lit)
        dec = np.isin(st.month, (12, 1)) & np.isfinite(lit)
        if june.sum() >= 24 * 7 and dec.sum() >= 24 * 7:
            jj, dj = 24 * float(np.nanmean(lit[june])), 24 * float(np.nanmean(lit[dec]))
            north = st.lat > 0
            if (jj - dj) * (1 if north else -1) < -1.0:
                problems.append(Problem(
                    f"latitude {st.lat:g} ({'north' if north else 'south'}) but the data's days are longer in "
                    f"{'December-January' if north else 'June-July'} ({max(jj, dj):.1f} h of daylight) than in "
                    f"{'June-July' if north else 'December-January'} ({min(jj, dj):.1f} h): the data are from the "
                    f"{'southern' if north else 'northern'} hemisphere; check the sign of the latitude, or the file",
                    file=file, line=None if st.fmt == "netcdf" else 1, column=labels.get("lat", "latitude")))
    return problems


def _check_station(st: _Station, labels: dict[str, str], problems: list | None = None) -> _Station:
    """Raise every problem of one station at once: header problems, ``problems`` found while
    reading it, and (when there are any) the row problems of :func:`_place_on_year` too."""
    problems = list(problems or [])
    tz_label = labels.get("tz")
    if tz_label and st.fmt != "netcdf":
        p = _tz_lon_problem(st.tz, st.lat, st.lon, st.file, tz_label)
        if p:
            problems.append(p)
    elif np.isfinite(st.tz_offset_h):
        p = _tz_lon_problem(st.tz_offset_h, st.lat, st.lon, st.file, "tz_offset_h", line=None)
        if p:
            problems.append(p)
    problems += _plausibility_problems(st, labels)
    if problems:
        try:
            problems += _place_on_year(st, 2023)[1]
        except Exception:  # noqa: BLE001 - the header problems are the ones to report
            pass
        raise ValidationError(problems, what=Path(st.file).name)
    return st


def _check_rows(df: pd.DataFrame, cols: dict[str, str], file: str, header_lines: int, problems: list) -> None:
    """Date and hour fields that are not whole numbers, each row located (at most 20 per column)."""
    for col, label in cols.items():
        if col not in df.columns:
            continue
        s = df[col].astype(str).str.strip()
        num = pd.to_numeric(s, errors="coerce").to_numpy(dtype=float)
        bad = np.flatnonzero(~np.isfinite(num) | (num != np.round(num)))
        for i in bad[:20]:
            problems.append(Problem(f"expected a whole number ({label}), found {s.iloc[i]!r}", file=file,
                                    row=int(i) + 1, line=int(i) + 1 + header_lines, column=label))
        if bad.size > 20:
            problems.append(Problem(f"... and {bad.size - 20} more rows with an unreadable {label}", file=file,
                                    column=label))


# --------------------------------------------------------------------------- NetCDF reader


_UNIT_DIMENSION = {"ghi": "irradiance", "dni": "irradiance", "dhi": "irradiance",
                   "temp_air": "temperature", "wind_speed": "speed", "pressure": "pressure"}


def _read_netcdf_file(path: Path) -> list[_Station]:
    from powerfirst import units as U

    try:
        with xr.open_dataset(path) as ds0:
            ds = ds0.load()
    except Exception as exc:  # noqa: BLE001
        raise DataFormatError(f"{path}: not a readable NetCDF file ({type(exc).__name__}: {exc})") from exc
    file = str(path)
    problems: list[Problem] = []
    if "site" in ds.dims and "station" not in ds.dims:
        ds = ds.rename({"site": "station"})
    if "time" not in ds.dims:
        raise ValidationError([Problem(f"no 'time' dimension (found dimensions {tuple(ds.dims)}); "
                                       "expected station x time", file=file)], what=file)
    if "station" not in ds.dims:
        ds = ds.expand_dims(station=[str(ds.attrs.get("station", path.stem))])
    t = ds.indexes["time"]
    if not isinstance(t, pd.DatetimeIndex):
        raise ValidationError([Problem(f"time is not a datetime axis (dtype {ds['time'].dtype}); "
                                       "expected CF-encoded hourly UTC times", file=file, variable="time")],
                              what=file)
    if t.tz is not None:
        t = t.tz_convert("UTC").tz_localize(None)

    for var in WEATHER_VARIABLES:
        if var not in ds.data_vars:
            row = _variables().loc[var]
            problems.append(Problem(f"required variable missing ({row['long_name']} [{row['units']}]); "
                                    f"found {sorted(map(str, ds.data_vars))}", file=file, variable=var))
    values_all: dict[str, np.ndarray] = {}
    for var in (*WEATHER_VARIABLES, *OPTIONAL_VARIABLES):
        if var not in ds.data_vars:
            continue
        da = ds[var]
        if set(da.dims) != {"station", "time"}:
            problems.append(Problem(f"dimensions {da.dims}; expected ('station', 'time')", file=file,
                                    variable=var))
            continue
        want = _variables().loc[var, "units"]
        unit = da.attrs.get("units")
        if unit is None:
            problems.append(Problem(f"no 'units' attribute; expected '{want}' (set "
                                    f"ds['{var}'].attrs['units'] = '{want}')", file=file, variable=var))
            continue
        try:
            if U.dimension(unit) != _UNIT_DIMENSION[var]:
                raise U.UnitError(f"units '{unit}' measure {U.dimension(unit)}, not {_UNIT_DIMENSION[var]}")
            arr = np.asarray(U.convert(da.transpose("station", "time").values.astype(float), unit, want))
        except U.UnitError as exc:
            problems.append(Problem(f"wrong units attribute: {exc}; expected '{want}'", file=file,
                                    variable=var))
            continue
        if var == "wind_speed":
            h = float(da.attrs.get("height_m", WIND_HEIGHT_M))
            if not np.isclose(h, WIND_HEIGHT_M):
                problems.append(Problem(f"wind speed at height_m={h:g}; expected 10 m (the standard "
                                        "measurement height; convert it first, e.g. with "
                                        "windpowerlib.wind_speed.logarithmic_profile)", file=file,
                                        variable=var))
                continue
        values_all[var] = arr
    lat = _coord(ds, ("lat", "latitude"))
    lon = _coord(ds, ("lon", "longitude"))
    for c, v in (("lat", lat), ("lon", lon)):
        if v is None:
            problems.append(Problem(f"coordinate '{c}' on station missing", file=file, variable=c))
    if problems:
        raise ValidationError(problems, what=file)

    elev = _coord(ds, ("elevation_m", "elevation", "altitude"))
    names = _coord(ds, ("name",), numeric=False)
    tzs = _coord(ds, ("tz_offset_h",))
    out = []
    for i, code in enumerate(ds["station"].values):
        notes = []
        if elev is None or not np.isfinite(elev[i]):
            from pvlib.location import lookup_altitude

            e = float(lookup_altitude(float(lat[i]), float(lon[i])))
            notes.append(f"elevation from pvlib's altitude map ({e:g} m)")
        else:
            e = float(elev[i])
        out.append(_check_station(_Station(
            file=file, fmt="netcdf", code=str(code), name=str(names[i]) if names is not None else str(code),
            lat=float(lat[i]), lon=float(lon[i]), elevation_m=e, tz=0.0,
            month=t.month.to_numpy(dtype=float), day=t.day.to_numpy(dtype=float),
            hour=t.hour.to_numpy(dtype=float),
            values={v: a[i].copy() for v, a in values_all.items()},
            row_kind="time step", tz_label="UTC",
            notes=notes + (["minutes"] if (t.minute != 0).any() else []),
            tz_offset_h=float(tzs[i]) if tzs is not None else np.nan,
        ), {"lat": "lat"}))
    return out


def _coord(ds: xr.Dataset, names: Sequence[str], numeric: bool = True):
    for n in names:
        if n in ds.variables:
            v = ds[n]
            if "station" in v.dims:
                arr = v.values
            elif v.ndim == 0:
                arr = np.repeat(v.values, ds.sizes["station"])
            else:
                continue
            return arr.astype(float) if numeric else arr.astype(str)
        if n in ds.attrs and ds.sizes["station"] == 1:
            return np.array([ds.attrs[n]], dtype=float if numeric else str)
    return None


# --------------------------------------------------------------------------- reference year


def _count(k: int, what: str) -> str:
    return f"{k} {what}{'' if k == 1 else 's'}"


def _stamp(st: _Station, i: int) -> str:
    return f"{int(st.month[i]):02d}-{int(st.day[i]):02d} {int(st.hour[i]):02d}:00"


def to_reference_year(values: np.ndarray, tz_offset_h: float) -> np.ndarray:
    """Put hour-beginning values in a time zone onto the UTC hours of a typical year.

    Parameters
    ----------
    values : numpy.ndarray
        8,760 values, hour-beginning, in calendar order from 1 January 00:00
        in the time zone ``UTC + tz_offset_h`` (local standard time).
    tz_offset_h : float
        UTC offset of the labels [h], e.g. ``-5`` for US Eastern Standard Time.

    Returns
    -------
    numpy.ndarray
        8,760 values on hour-beginning UTC hours 0 … 8759 of the year: the
        value at UTC hour ``j`` is the value at local hour ``j + tz_offset_h``,
        taken circularly (the hours pushed past 31 December wrap to 1 January
        of the same typical year).  A fractional offset interpolates linearly.
    """
    n = values.shape[-1]
    pos = np.arange(n) + float(tz_offset_h)
    lo = np.floor(pos).astype(int)
    frac = pos - lo
    a = values[..., lo % n]
    if np.all(frac == 0):
        return a
    b = values[..., (lo + 1) % n]
    return a * (1 - frac) + b * frac


def _place_on_year(st: _Station, year: int) -> tuple[dict[str, np.ndarray], list[Problem]]:
    """Validate the rows of a station and return its variables on the UTC reference year."""
    file, problems = st.file, []
    n = len(st.month)
    where = st.row_kind

    def loc(i: int) -> dict:
        if st.row_kind == "row":
            return {"file": file, "row": i + 1, "line": i + 1 + st.header_lines}
        return {"file": file}

    if "minutes" in st.notes or n in (2 * HOURS, 4 * HOURS, 6 * HOURS, 12 * HOURS, 2 * 8784, 4 * 8784):
        problems.append(Problem(f"non-hourly data: {n} {where}s with sub-hourly time stamps; expected "
                                "one value per hour (8,760 rows, 8,784 in a leap year); aggregate to "
                                "hourly means first", file=file))
        return {}, problems
    month, day, hour = st.month, st.day, st.hour
    bad = ~(np.isfinite(month) & np.isfinite(day) & np.isfinite(hour))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        problems.append(Problem(f"unreadable date or hour in {int(bad.sum())} {where}s", **loc(i)))
        return {}, problems
    feb29 = (month == 2) & (day == 29)
    keep = ~feb29
    if feb29.any():
        st.notes.append(f"{int(feb29.sum())} hours of 29 February dropped (leap-year file)")
    if n != HOURS and not (n == 8784 and feb29.sum() == 24):
        expected = "8,760 hourly rows (8,784 for a leap year)"
        problems.append(Problem(f"wrong length: expected {expected}, found {n} {where}s "
                                f"({'truncated' if n < HOURS else 'too many'}; last {where} "
                                f"{_stamp(st, n - 1) if n else '-'})", file=file))
        return {}, problems
    idx = np.flatnonzero(keep)
    m, d, h = month[idx].astype(int), day[idx].astype(int), hour[idx].astype(int)
    valid = (m >= 1) & (m <= 12) & (h >= 0) & (h <= 23)
    mdays = np.array(calendar.mdays)
    valid &= (d >= 1) & (d <= mdays[np.clip(m, 1, 12)])
    if not valid.all():
        i = int(idx[np.flatnonzero(~valid)[0]])
        problems.append(Problem(f"invalid date/hour (month {int(month[i])}, day {int(day[i])}, "
                                f"hour-ending {int(hour[i]) + 1})", **loc(i)))
        return {}, problems
    pos = (_CUMULATIVE_DOY[m - 1] + d - 1) * 24 + h
    counts = np.bincount(pos, minlength=HOURS)
    if (counts != 1).any():
        dup = np.flatnonzero(counts > 1)
        gap = np.flatnonzero(counts == 0)
        msg = []
        if dup.size:
            i = int(idx[np.flatnonzero(pos == dup[0])[1]])
            msg.append(f"{dup.size} hours appear twice (first {_stamp(st, i)}, {where} {i + 1})")
        if gap.size:
            ts = pd.Timestamp(year, 1, 1) + pd.Timedelta(hours=int(gap[0]))
            msg.append(f"{gap.size} hours missing (first {ts:%m-%d %H}:00)")
        problems.append(Problem("the rows are not one typical year of hours: " + "; ".join(msg) +
                                " (expected every hour of the year exactly once)", file=file))
        return {}, problems

    table = _variables()
    out: dict[str, np.ndarray] = {}
    for var in (*WEATHER_VARIABLES, *OPTIONAL_VARIABLES):
        if var not in st.values:
            if var in WEATHER_VARIABLES:
                row = table.loc[var]
                problems.append(Problem(f"required variable missing ({row['long_name']} "
                                        f"[{row['units']}])", file=file, variable=var))
            continue
        raw = st.values[var]
        units = table.loc[var, "units"]
        nan = np.isnan(raw) & keep
        if nan.any() and var in WEATHER_VARIABLES:
            i = int(np.flatnonzero(nan)[0])
            problems.append(Problem(
                f"{_count(int(nan.sum()), 'missing value')} (NaN or the format's missing-value code), first at "
                f"{_stamp(st, i)} {st.tz_label} (hour-beginning); fill the gaps or use a complete "
                "typical-year file", variable=var, **loc(i)))
        lo, hi = table.loc[var, "valid_min"], table.loc[var, "valid_max"]
        out_of = np.zeros(n, dtype=bool)
        with np.errstate(invalid="ignore"):
            if pd.notna(lo):
                out_of |= raw < float(lo)
            if pd.notna(hi):
                out_of |= raw > float(hi)
        out_of &= keep
        if np.any(out_of):
            i = int(np.flatnonzero(out_of)[0])
            utc = pd.Timestamp(year, 1, 1) + pd.Timedelta(
                hours=float((pos[np.searchsorted(idx, i)] - st.tz) % HOURS))
            problems.append(Problem(
                f"physically implausible value {raw[i]:g} {units} (valid range {float(lo):g} to "
                f"{float(hi):g} {units}) in {_count(int(out_of.sum()), where)}, first at {_stamp(st, i)} "
                f"{st.tz_label} (hour-beginning; {utc:%Y-%m-%d %H:%M} UTC)", variable=var, **loc(i)))
        local = np.empty(HOURS)
        local[pos] = raw[idx]
        out[var] = to_reference_year(local, st.tz)
    return out, problems


# --------------------------------------------------------------------------- public API


def _expand(paths) -> list[Path]:
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    out: list[Path] = []
    for p in paths:
        p = Path(p)
        if p.is_dir():
            found = sorted(q for q in p.iterdir() if q.suffix.lower() in _EXT_FORMAT and q.is_file())
            if not found:
                raise WeatherFileNotFoundError(f"{p}: no weather files (.epw, .csv, .tm2, .nc) in this folder")
            out.extend(found)
        else:
            out.append(p)
    return out


def _read_stations(path: Path) -> list[_Station]:
    if not path.exists():
        raise WeatherFileNotFoundError(f"weather file not found: {path}")
    fmt = _detect_format(path)
    if fmt == "netcdf":
        return _read_netcdf_file(path)
    return [{"epw": _read_epw_file, "tmy3": _read_tmy3_file, "tmy2": _read_tmy2_file}[fmt](path)]


def read_weather(paths, *, names: Sequence[str] | None = None, year: int = 2023) -> xr.Dataset:
    """Read typical-year weather files into one Dataset on ``station`` × ``time``.

    Parameters
    ----------
    paths : path-like or sequence of path-likes
        Weather files (EPW, TMY3 ``.csv``, TMY2 ``.tm2``, NetCDF ``.nc``) or
        folders holding them.  The format is detected from the extension, or
        from the content when the extension is not one of these.
    names : sequence of str, optional
        Labels of the stations (the ``station`` dimension), one per station
        read.  By default the station code of the file header (TMY3 USAF,
        TMY2 WBAN, EPW WMO number; a NetCDF file's own labels), made unique
        with a suffix when two files share one.
    year : int, default 2023
        The non-leap reference year of the time axis.

    Returns
    -------
    xarray.Dataset
        ``ghi``, ``dni``, ``dhi`` [W m-2], ``temp_air`` [degC],
        ``wind_speed`` [m s-1] at 10 m, optional ``pressure`` [Pa], on
        ``station`` × ``time`` (8,760 hour-beginning UTC hours of ``year``);
        see the module docstring for the time convention and coordinates.

    Raises
    ------
    WeatherFileNotFoundError
        A file does not exist (a :class:`DataFormatError` and a ``FileNotFoundError``).
    DataFormatError
        A file is not in a known format or cannot be parsed.
    ValidationError
        Listing every problem found in the files (missing variables, wrong
        units, wrong length, non-hourly data, missing or implausible values),
        with file, variable and row or timestamp.

    Examples
    --------
    >>> wx = read_weather(default_station_paths())          # doctest: +SKIP
    >>> wx.sizes["time"], wx.ghi.attrs["units"]              # doctest: +SKIP
    (8760, 'W m-2')
    """
    if calendar.isleap(int(year)):
        raise ValueError(f"year={year} is a leap year; the reference year of typical-year data must "
                         "have 8,760 hours (e.g. 2023)")
    files = _expand(paths)
    if not files:
        raise ValueError("no weather files given")
    stations: list[_Station] = []
    for f in files:
        stations.extend(_read_stations(f))

    problems: list[Problem] = []
    placed = []
    for st in stations:
        vals, probs = _place_on_year(st, int(year))
        problems.extend(probs)
        placed.append(vals)
    if problems:
        what = files[0].name if len(files) == 1 else f"{len(files)} weather files"
        raise ValidationError(problems, what=what)

    labels = _station_labels(stations, names)
    table = _variables()
    time = pd.date_range(f"{int(year)}-01-01", periods=HOURS, freq="h").as_unit("ns")
    data_vars = {}
    for var in (*WEATHER_VARIABLES, *OPTIONAL_VARIABLES):
        if not any(var in p for p in placed):
            continue
        arr = np.stack([p.get(var, np.full(HOURS, np.nan)) for p in placed])
        attrs = {"units": table.loc[var, "units"], "long_name": table.loc[var, "long_name"]}
        if var == "wind_speed":
            attrs["height_m"] = WIND_HEIGHT_M
        if var == "pressure" and not all(var in p for p in placed):
            attrs["note"] = "NaN for stations whose file has no pressure"
        data_vars[var] = (("station", "time"), arr, attrs)
    hashes = {f: file_hash(f) for f in {st.file for st in stations}}
    coords = {
        "station": ("station", np.array(labels, dtype=str)),
        "time": ("time", time),
        "lat": ("station", np.array([s.lat for s in stations]), {"units": "degrees_north", "long_name": "latitude"}),
        "lon": ("station", np.array([s.lon for s in stations]), {"units": "degrees_east", "long_name": "longitude"}),
        "elevation_m": ("station", np.array([s.elevation_m for s in stations]),
                        {"units": "m", "long_name": "station elevation"}),
        "name": ("station", np.array([s.name for s in stations], dtype=str)),
        "source": ("station", np.array([Path(s.file).name for s in stations], dtype=str)),
        "source_sha256": ("station", np.array([hashes[s.file] for s in stations], dtype=str)),
        "format": ("station", np.array([s.fmt for s in stations], dtype=str)),
        "tz_offset_h": ("station", np.array([s.tz_offset_h for s in stations], dtype=float),
                        {"units": "h", "long_name": "standard-time UTC offset of the source time labels "
                                                    "(NaN: unknown; NetCDF input is UTC)"}),
    }
    ds = xr.Dataset(data_vars, coords=coords)
    notes = [f"{lab}: {n}" for lab, st in zip(labels, stations, strict=True) for n in st.notes]
    ds.attrs.update({
        "pf_kind": "weather",
        "title": "typical-year weather",
        "time_convention": (f"hourly, hour-beginning, timezone-naive UTC on the non-leap reference year "
                            f"{int(year)}; source hours (hour-ending local standard time in TMY2/TMY3/EPW) "
                            "converted and wrapped circularly into the year"),
        "reference_year": int(year),
    })
    if notes:
        ds.attrs["notes"] = "; ".join(notes)
    ds.attrs.update(provenance(sources=", ".join(sorted(Path(f).name for f in hashes)),
                               sources_sha256=", ".join(hashes[f] for f in sorted(hashes))))
    # structural guard: the schema's weather kind is written on ``site``
    from powerfirst.schema import check

    probs = [p for p in check(ds.rename(station="site"), "weather", values=True)]
    if probs:  # pragma: no cover - every check above should have caught it
        raise ValidationError(probs, what="weather dataset")
    return ds


def _station_labels(stations: list[_Station], names: Sequence[str] | None) -> list[str]:
    if names is not None:
        names = [str(n) for n in names]
        if len(names) != len(stations):
            raise ValueError(f"names has {len(names)} labels but {len(stations)} stations were read "
                             f"({', '.join(Path(s.file).name for s in stations)})")
        if len(set(names)) != len(names):
            raise ValueError(f"names must be unique, found {names}")
        return names
    labels, seen = [], {}
    for s in stations:
        base = s.code or Path(s.file).stem
        k = seen.get(base, 0)
        seen[base] = k + 1
        labels.append(base if k == 0 else f"{base}-{k + 1}")
    return labels


def pvlib_station_paths() -> list[Path]:
    """The three typical years pvlib's wheel ships: Greensboro NC (TMY3), Sand Point AK (TMY3),
    Miami FL (TMY2).  Small fixed inputs for examples and tests; not the default weather."""
    import pvlib

    d = Path(pvlib.__file__).parent / "data"
    return [d / "723170TYA.CSV", d / "703165TY.csv", d / "12839.tm2"]


def default_station_paths() -> list[Path]:
    """The offline default weather: ``data/derived/weather/stations.nc``, 159 real typical years
    (127 NREL TMY3 and 5 TMYx stations across every contiguous-US climate zone, 27 European TMYx,
    PVGIS, IGDG and IMGW stations), derived by ``data/derive_weather_stations.py``; the licence,
    climate zone and upstream of every station are in ``stations.csv`` beside it."""
    from powerfirst.paths import data_dir

    path = data_dir() / "derived" / "weather" / "stations.nc"
    if not path.exists():
        raise WeatherFileNotFoundError(
            f"the embedded default weather is missing: {path} (regenerate it with "
            "`python data/derive_weather_stations.py`, or pass weather files to read_weather)")
    return [path]


#: columns of ``data/derived/weather/stations.csv`` carried onto ``station`` by :func:`default_stations`
STATION_METADATA = ("country", "state_region", "climate_zone", "grid_region", "source_type", "period",
                    "data_time_basis", "solar_noon_offset_h", "licence", "file")


def station_metadata() -> pd.DataFrame:
    """The metadata table of the embedded stations (``data/derived/weather/stations.csv``), by station id."""
    path = default_station_paths()[0].with_name("stations.csv")
    return pd.read_csv(path, dtype={"station": str}).set_index("station")


@lru_cache(maxsize=4)
def _default_stations(year: int) -> xr.Dataset:
    ds = read_weather(default_station_paths(), year=year)
    meta = station_metadata().reindex(ds["station"].values.astype(str))
    coords = {}
    for c in STATION_METADATA:
        col = meta[c]
        numeric = pd.api.types.is_numeric_dtype(col)
        coords[c] = ("station", col.to_numpy(float) if numeric else col.fillna("").astype(str).to_numpy())
    ds = ds.assign_coords(coords)
    ds = ds.assign_coords(source=("station", [f"{Path(f).name} (via stations.nc)" for f in meta["file"]]),
                          name=("station", meta["name"].astype(str).to_numpy()))
    ds.attrs["stations_metadata"] = "data/derived/weather/stations.csv (licence, climate zone, upstream)"
    return ds


def default_stations(year: int = 2023) -> xr.Dataset:
    """The offline default weather: 159 real typical years, from ``data/derived/weather``.

    127 NREL TMY3 stations covering every contiguous-US ASHRAE climate zone
    and ISO/RTO region, 5 TMYx stations at US data-centre locations
    (Phoenix, Atlanta, Chicago, Dallas-Fort Worth, Leesburg VA) and 27
    European stations (TMYx, PVGIS TMY, IGDG, IMGW), read with
    :func:`read_weather`.  Extra coordinates on ``station``: ``climate_zone``
    (ASHRAE 169 thermal zone and moisture letter), ``licence``,
    ``source_type``, ``period``, ``data_time_basis``, ``solar_noon_offset_h``,
    ``grid_region``, ``country`` (:data:`STATION_METADATA`).  Gaps with no
    licence-clean station: Ireland, Scotland, central and southern Spain,
    Finland, the Baltics, Romania and Bulgaria (see
    ``data/derived/README.md``); sites there are warned about by the energy
    cube.  The result is cached; a copy is returned.
    """
    return _default_stations(int(year)).copy(deep=True)


def weather_cache_dir() -> Path:
    """Where fetched typical years are kept: ``$POWERFIRST_WEATHER_CACHE``, else
    ``~/.cache/powerfirst/weather``."""
    env = os.environ.get("POWERFIRST_WEATHER_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "powerfirst" / "weather"


def fetch_site_typical_years(lat, lon, *, source: str = "pvgis", cache_dir=None, api_key: str | None = None,
                             email: str | None = None, timeout: int = 30, refresh: bool = False) -> list[Path]:
    """Typical years at each site, fetched once through pvlib.iotools and kept in a local cache.

    For users with internet access: one typical year per distinct site
    location (rounded to 0.01 degree, about 1 km), from PVGIS
    (:func:`fetch_pvgis_tmy`, worldwide except the poles; EU JRC, free to
    use) or NSRDB (:func:`fetch_nsrdb_tmy`, the Americas; needs an NREL API
    key and e-mail).  A file already in the cache is not fetched again
    (unless ``refresh``).  Pass the returned paths to :func:`read_weather`
    and the Dataset to the energy cube: every site then has its own station
    at a distance of ~0 km.

    Parameters
    ----------
    lat, lon : array_like
        Site coordinates [degrees_north, degrees_east].
    source : {'pvgis', 'nsrdb'}
    cache_dir : path-like, optional
        Default :func:`weather_cache_dir`.
    api_key, email : str, optional
        NSRDB credentials (NREL developer API key); unused for PVGIS.
    timeout : int
        Seconds per request.
    refresh : bool
        Fetch again even if cached.

    Returns
    -------
    list of pathlib.Path
        One NetCDF file per distinct location, in order of first appearance.

    Raises
    ------
    WeatherDownloadError
        A service cannot be reached or refuses a request (the message says
        which site and how to work offline).
    """
    if source not in ("pvgis", "nsrdb"):
        raise ValueError(f"source must be 'pvgis' or 'nsrdb', got {source!r}")
    if source == "nsrdb" and not (api_key and email):
        raise ValueError("NSRDB needs api_key= and email= (a free NREL developer key, "
                         "https://developer.nrel.gov/signup/); or use source='pvgis'")
    cache = Path(cache_dir) if cache_dir is not None else weather_cache_dir()
    cache.mkdir(parents=True, exist_ok=True)
    out: list[Path] = []
    for la, lo in dict.fromkeys(zip(np.round(np.atleast_1d(np.asarray(lat, float)), 2).tolist(),
                                    np.round(np.atleast_1d(np.asarray(lon, float)), 2).tolist(), strict=True)):
        path = cache / f"{source}_tmy_{la:.3f}_{lo:.3f}.nc"
        if refresh or not path.exists():
            if source == "pvgis":
                fetched = fetch_pvgis_tmy(la, lo, cache, timeout=timeout)
            else:
                fetched = fetch_nsrdb_tmy(la, lo, cache, api_key=api_key, email=email, timeout=timeout)
            if Path(fetched) != path:
                os.replace(fetched, path)
        out.append(path)
    return out


def fetch_nsrdb_tmy(lat: float, lon: float, out_dir, *, api_key: str, email: str, name: str | None = None,
                    year: str = "tmy", timeout: int = 30) -> Path:
    """Download an NSRDB typical meteorological year (PSM v4) and write a NetCDF that
    :func:`read_weather` reads.

    Uses :func:`pvlib.iotools.get_nsrdb_psm4_tmy` with ``utc=True``.  NSRDB
    stamps each hour at its start (``Minute`` 0) or its middle (30); either
    way the value is the mean of the hour beginning at the full hour.

    Raises
    ------
    WeatherDownloadError
        NSRDB cannot be reached or refused the request.
    """
    import requests
    from pvlib.iotools import get_nsrdb_psm4_tmy

    try:
        data, meta = get_nsrdb_psm4_tmy(lat, lon, api_key, email, year=year, utc=True, map_variables=True,
                                        timeout=timeout)
    except requests.exceptions.HTTPError as exc:  # before OSError: requests' errors are OSErrors
        raise WeatherDownloadError(f"NSRDB refused the request for ({lat}, {lon}): {exc}") from exc
    except (requests.exceptions.ConnectionError, requests.exceptions.Timeout, OSError) as exc:
        raise WeatherDownloadError(
            f"could not reach NSRDB for ({lat}, {lon}): {type(exc).__name__}: {exc}. powerfirst works "
            "offline with weather files: supply typical-year files instead and pass them to "
            "read_weather(paths)") from exc
    data = data.copy()
    if "pressure" in data.columns:
        data["pressure"] = data["pressure"].astype(float) * 100.0  # NSRDB surface pressure in mbar
    idx = pd.DatetimeIndex(data.index)
    idx = (idx.tz_convert("UTC") if idx.tz is not None else idx).floor("h")
    data.index = idx
    elev = float(meta.get("Elevation", np.nan)) if hasattr(meta, "get") else np.nan
    ds = pvgis_tmy_dataset(data, {"inputs": {"location": {"elevation": elev}}}, lat, lon,
                           name=name or f"NSRDB {lat:.3f}, {lon:.3f}")
    ds = ds.assign_coords(station=[f"nsrdb_{lat:.3f}_{lon:.3f}"])
    ds.attrs.update(source="NSRDB PSM v4 TMY (NREL) via pvlib.iotools.get_nsrdb_psm4_tmy")
    from powerfirst.io.store import write_netcdf

    out = Path(out_dir) / f"nsrdb_tmy_{lat:.3f}_{lon:.3f}.nc"
    write_netcdf(ds, out, overwrite=True)
    return out


def fetch_pvgis_tmy(lat: float, lon: float, out_dir, *, name: str | None = None, timeout: int = 30,
                    **kwargs) -> Path:
    """Download a typical meteorological year from PVGIS and write a NetCDF that :func:`read_weather` reads.

    Uses :func:`pvlib.iotools.get_pvgis_tmy` (EU JRC PVGIS; satellite-based
    irradiance and ERA5 temperature, wind at 10 m and pressure; worldwide
    except the poles).  PVGIS stamps its TMY hours in UTC at the full hour;
    the stamp is taken as the start of the hour.

    Parameters
    ----------
    lat, lon : float
        Location [degrees_north, degrees_east].
    out_dir : path-like
        Folder for the file ``pvgis_tmy_<lat>_<lon>.nc``.
    name : str, optional
        Station name (default ``"PVGIS <lat>, <lon>"``).
    timeout : int
        Seconds to wait for the server.
    **kwargs
        Passed to :func:`pvlib.iotools.get_pvgis_tmy` (e.g. ``startyear``).

    Returns
    -------
    pathlib.Path
        The NetCDF file written (atomically).

    Raises
    ------
    WeatherDownloadError
        PVGIS cannot be reached (no network, timeout) or refused the request.
    """
    import requests
    from pvlib.iotools import get_pvgis_tmy

    try:
        data, meta = get_pvgis_tmy(lat, lon, map_variables=True, timeout=timeout, coerce_year=2023,
                                   **kwargs)
    except requests.exceptions.HTTPError as exc:  # before OSError: requests' errors are OSErrors
        raise WeatherDownloadError(f"PVGIS refused the request for ({lat}, {lon}): {exc}") from exc
    except (requests.exceptions.ConnectionError, requests.exceptions.Timeout, OSError) as exc:
        raise WeatherDownloadError(
            f"could not reach PVGIS for ({lat}, {lon}): {type(exc).__name__}: {exc}. powerfirst works "
            "offline with weather files: supply typical-year files instead (EPW from "
            "climate.onebuilding.org, NSRDB TMY3, ...) and pass them to read_weather(paths)") from exc
    ds = pvgis_tmy_dataset(data, meta, lat, lon, name=name)
    from powerfirst.io.store import write_netcdf

    out = Path(out_dir) / f"pvgis_tmy_{lat:.3f}_{lon:.3f}.nc"
    write_netcdf(ds, out, overwrite=True)
    return out


def pvgis_tmy_dataset(data: pd.DataFrame, meta, lat: float, lon: float, *, name: str | None = None) -> xr.Dataset:
    """A PVGIS TMY table (as returned by :func:`pvlib.iotools.get_pvgis_tmy` or
    :func:`pvlib.iotools.read_pvgis_tmy` with ``map_variables=True``) as a one-station weather Dataset.

    PVGIS stamps its TMY hours in UTC at the full hour; the stamp is taken as
    the start of the hour.  The result is not yet on the reference year:
    write it with ``write_netcdf`` and read it back with :func:`read_weather`.
    """
    idx = pd.DatetimeIndex(data.index)
    if idx.tz is not None:
        idx = idx.tz_convert("UTC").tz_localize(None)
    idx = idx.as_unit("ns")
    loc = (meta.get("inputs", {}) if isinstance(meta, dict) else {}).get("location", {})
    elev = float(loc.get("elevation", np.nan))
    table = _variables()
    station = f"pvgis_{lat:.3f}_{lon:.3f}"
    dv = {}
    for var in (*WEATHER_VARIABLES, "pressure"):
        if var in data.columns:
            attrs = {"units": table.loc[var, "units"], "long_name": table.loc[var, "long_name"]}
            if var == "wind_speed":
                attrs["height_m"] = WIND_HEIGHT_M
            dv[var] = (("station", "time"), data[var].to_numpy(dtype=float)[None, :], attrs)
    ds = xr.Dataset(dv, coords={
        "station": [station], "time": idx.to_numpy(),
        "lat": ("station", [float(lat)]), "lon": ("station", [float(lon)]),
        "elevation_m": ("station", [elev]),
        "name": ("station", [name or f"PVGIS {lat:.3f}, {lon:.3f}"]),
        # the labels are UTC; the station's own standard-time offset is not known (NaN)
        "tz_offset_h": ("station", [np.nan]),
    })
    ds.attrs.update({"source": "PVGIS TMY (EU JRC) via pvlib.iotools.get_pvgis_tmy",
                     "time_convention": "UTC, hour-beginning"})
    ds.attrs.update(provenance(pvgis_inputs=str(meta.get("inputs", "")) if isinstance(meta, dict) else None))
    return ds
