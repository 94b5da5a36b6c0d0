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
    "fetch_pvgis_tmy",
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


def _read_tmy3_file(path: Path) -> _Station:
    from pvlib.iotools import read_tmy3

    try:
        data, meta = read_tmy3(path, map_variables=True)
    except Exception as exc:  # noqa: BLE001 - re-raised with the file name
        raise DataFormatError(f"{path}: not a readable TMY3 file ({type(exc).__name__}: {exc})") from exc
    missing = [c for c in ("Date (MM/DD/YYYY)", "Time (HH:MM)") if c not in data.columns]
    if missing:
        raise DataFormatError(f"{path}: TMY3 columns {missing} missing")
    date = data["Date (MM/DD/YYYY)"].astype(str)
    hhmm = data["Time (HH:MM)"].astype(str)
    values = {}
    for var in (*WEATHER_VARIABLES, "pressure"):
        if var in data.columns:
            values[var] = _num(data[var])
    if "pressure" in values:
        values["pressure"] = values["pressure"] * 100.0  # mbar -> Pa
    _missing_to_nan(values, {v: (-9900.0, -99000.0) for v in values})
    return _Station(
        file=str(path), fmt="tmy3", code=str(meta.get("USAF", path.stem)),
        name=str(meta.get("Name", path.stem)).strip().strip('"'),
        lat=float(meta["latitude"]), lon=float(meta["longitude"]),
        elevation_m=float(meta["altitude"]), tz=float(meta["TZ"]),
        month=_num(date.str[0:2]), day=_num(date.str[3:5]),
        hour=_num(hhmm.str.split(":").str[0]) - 1.0,
        values=values, header_lines=2, tz_offset_h=float(meta["TZ"]),
        notes=[] if _num(hhmm.str.split(":").str[1]).max() == 0 else ["minutes"],
    )


def _read_tmy2_file(path: Path) -> _Station:
    from pvlib.iotools import read_tmy2

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
    return _Station(
        file=str(path), fmt="tmy2", code=str(meta.get("WBAN", path.stem)).strip(),
        name=str(meta.get("City", path.stem)).strip(),
        lat=float(meta["latitude"]), lon=float(meta["longitude"]),
        elevation_m=float(meta["altitude"]), tz=float(meta["TZ"]),
        month=_num(data["month"]), day=_num(data["day"]), hour=_num(data["hour"]) - 1.0,
        values=values, header_lines=1, tz_offset_h=float(meta["TZ"]),
    )


def _read_epw_file(path: Path) -> _Station:
    from pvlib.iotools import read_epw

    try:
        data, meta = read_epw(path)
    except Exception as exc:  # noqa: BLE001
        raise DataFormatError(f"{path}: not a readable EPW file ({type(exc).__name__}: {exc})") from exc
    values = {v: _num(data[v]) for v in (*WEATHER_VARIABLES,) if v in data.columns}
    if "atmospheric_pressure" in data.columns:
        values["pressure"] = _num(data["atmospheric_pressure"])  # already Pa
    # EnergyPlus auxiliary programs, "missing" values of the data fields
    _missing_to_nan(values, {"ghi": (9999.0,), "dni": (9999.0,), "dhi": (9999.0,),
                             "temp_air": (99.9,), "wind_speed": (999.0,), "pressure": (999999.0,)})
    minute = _num(data["minute"]) if "minute" in data.columns else np.zeros(len(data))
    return _Station(
        file=str(path), fmt="epw", code=str(meta.get("WMO_code", path.stem)).strip(),
        name=str(meta.get("city", path.stem)).strip(),
        lat=float(meta["latitude"]), lon=float(meta["longitude"]),
        elevation_m=float(meta["altitude"]), tz=float(meta["TZ"]),
        month=_num(data["month"]), day=_num(data["day"]), hour=_num(data["hour"]) - 1.0,
        values=values, header_lines=8, tz_offset_h=float(meta["TZ"]),
        notes=[] if np.all(np.isin(minute, (0.0, 60.0))) else ["minutes"],
    )


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
        out.append(_Station(
            file=file, fmt="netcdf", code=str(code), name=str(names[i]) if names is not None else str(code),
            lat=float(lat[i]), lon=float(lon[i]), elevation_m=e, tz=0.0,
            month=t.month.to_numpy(dtype=float), day=t.day.to_numpy(dtype=float),
            hour=t.hour.to_numpy(dtype=float),
            values={v: a[i].copy() for v, a in values_all.items()},
            row_kind="time step", tz_label="UTC",
            notes=notes + (["minutes"] if (t.minute != 0).any() else []),
            tz_offset_h=float(tzs[i]) if tzs is not None else np.nan,
        ))
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


def default_station_paths() -> list[Path]:
    """The offline default typical years: the three pvlib ships (Greensboro NC TMY3, Sand Point AK
    TMY3, Miami FL TMY2) and the embedded European ones in ``data/derived/weather`` (Amsterdam
    Schiphol IWEC, Piedmont PVGIS TMY; see ``data/derive_weather_stations.py``)."""
    import pvlib

    from powerfirst.paths import data_dir

    d = Path(pvlib.__file__).parent / "data"
    embedded = sorted((data_dir() / "derived" / "weather").glob("*.nc"))
    return [d / "723170TYA.CSV", d / "703165TY.csv", d / "12839.tm2", *embedded]


@lru_cache(maxsize=4)
def _default_stations(year: int) -> xr.Dataset:
    return read_weather(default_station_paths(), year=year)


def default_stations(year: int = 2023) -> xr.Dataset:
    """The offline default weather: the typical years pvlib ships and two embedded European ones.

    ``723170TYA.CSV`` (Greensboro NC, TMY3), ``703165TY.csv`` (Sand Point AK,
    TMY3) and ``12839.tm2`` (Miami FL, TMY2) from pvlib, plus Amsterdam
    Schiphol (IWEC) and Piedmont (PVGIS TMY) from ``data/derived/weather``,
    read with :func:`read_weather`.
    Five stations are enough for examples and tests, not for a study: for
    real sites supply typical-year files near them (EPW from
    climate.onebuilding.org, NSRDB TMY3, or :func:`fetch_pvgis_tmy`).
    The result is cached; a copy is returned.
    """
    return _default_stations(int(year)).copy(deep=True)


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
    except (requests.exceptions.ConnectionError, requests.exceptions.Timeout, OSError) as exc:
        raise WeatherDownloadError(
            f"could not reach PVGIS for ({lat}, {lon}): {type(exc).__name__}: {exc}. powerfirst works "
            "offline with weather files: supply typical-year files instead (EPW from "
            "climate.onebuilding.org, NSRDB TMY3, ...) and pass them to read_weather(paths)") from exc
    except requests.exceptions.HTTPError as exc:
        raise WeatherDownloadError(f"PVGIS refused the request for ({lat}, {lon}): {exc}") from exc
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
        "tz_offset_h": ("station", [0.0]),
    })
    ds.attrs.update({"source": "PVGIS TMY (EU JRC) via pvlib.iotools.get_pvgis_tmy",
                     "time_convention": "UTC, hour-beginning"})
    ds.attrs.update(provenance(pvgis_inputs=str(meta.get("inputs", "")) if isinstance(meta, dict) else None))
    return ds
