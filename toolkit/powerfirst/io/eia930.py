"""EIA-930 hourly balancing-authority data, in the formats users download,
into one grid cube (``ba`` x hourly ``time``, UTC, hour-beginning).

Formats read (detected from the content, or named with ``format=``):

``balance_csv``
    EIA Hourly Electric Grid Monitor six-month files ``EIA930_BALANCE_*.csv``:
    one row per BA and hour, quoted thousands separators (``"1,060"``),
    ``Local Time at End of Hour`` and ``UTC Time at End of Hour`` stamps.
``interchange_csv``
    ``EIA930_INTERCHANGE_*.csv``: one row per BA pair and hour.
``api_v2_json``
    EIA Open Data API v2 responses (``electricity/rto/region-data``,
    ``fuel-type-data``, ``interchange-data``): ``period`` is the end of the
    hour (UTC for ``frequency=hourly``, local with an offset for
    ``local-hourly``), ``value`` a string, a number or null.  A VCR cassette
    (``.yaml``) of recorded responses is read as the responses it holds.
``eba_json``
    EIA API v1 / bulk ``EBA.txt`` series objects (one JSON object per line, or
    one object): ``series_id`` like ``EBA.MISO-ALL.D.H``, points
    ``["20220305T05Z", value]`` (UTC) or ``["20220304T23-06", value]``
    (local with offset), end of hour.
``eba_wide_csv``
    A wide table whose columns are EBA series ids and whose index holds the
    end-of-hour UTC stamps (as written by tools that pivot ``EBA.txt``).
``ruggles``
    The cleaned releases of Ruggles et al. (2020): per-BA files
    (``date_time, raw demand (MW), category, cleaned demand (MW)[, forecast
    demand (MW)]``), raw ``original_eia_files`` (``date_time, demand (MW)``
    with ``EMPTY``/``MISSING`` cells) and wide tables (``date_time_utc`` plus
    one column per BA).  Their ``date_time`` is the EIA end-of-hour stamp in
    UTC (checked: AEC 497 MW at 2020-07-01 06:00 in the release equals the
    EIA930_BALANCE row with *UTC Time at End of Hour* 07/01/2020 6:00 AM).
``isone_json``
    ISO New England web-services ``hourlysysload`` responses (``BeginDate``
    is the start of the hour in local time with its UTC offset, so the repeated
    hour at the autumn DST change is two distinct UTC hours).
``tidy``
    CSV or Parquet with columns ``time, ba, demand_mw`` (UTC, hour-beginning
    by default; ``time_convention='hour-ending'`` and ``tz=`` for other files).

All end-of-hour stamps are shifted back one hour so that ``time`` labels the
start of the hour, as everywhere in powerfirst.  Demand is screened and
filled by :mod:`powerfirst.io.screening`; ``demand_raw`` keeps the reported
values and ``flag`` says what was wrong with each hour.
"""

from __future__ import annotations

import io
import json
import re
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from powerfirst._provenance import file_hash
from powerfirst.errors import DataFormatError, Problem, ValidationError

__all__ = [
    "read_eia930_records",
    "read_records",
    "detect_format",
    "make_records",
    "concat_records",
    "parse_numbers",
    "VARIABLE_META",
    "FORMATS",
]

FORMATS = ("balance_csv", "interchange_csv", "api_v2_json", "eba_json", "eba_wide_csv", "ruggles", "tidy",
           "isone_json")

_EMPTY_TOKENS = {"", "EMPTY", "MISSING", "NA", "NAN", "NULL", "NONE"}

# EIA-930 type codes -> cube variable
_TYPE_VARIABLE = {"D": "demand", "DF": "demand_forecast", "NG": "net_generation", "TI": "total_interchange"}
VARIABLE_META = {
    "demand": ("electricity demand", "MW"),
    "demand_forecast": ("day-ahead demand forecast", "MW"),
    "net_generation": ("net generation", "MW"),
    "total_interchange": ("total interchange", "MW"),
    "generation": ("net generation by energy source", "MW"),
    "interchange": ("interchange with a directly interconnected balancing authority", "MW"),
}
# balance-file fuel columns -> EIA fuel codes
_BALANCE_FUELS = {
    "Coal": "COL", "Natural Gas": "NG", "Nuclear": "NUC", "All Petroleum Products": "OIL",
    "Hydropower and Pumped Storage": "WAT", "Solar": "SUN", "Wind": "WND",
    "Other Fuel Sources": "OTH", "Unknown Fuel Sources": "UNK",
}
_RECORD_COLUMNS = ["ba", "variable", "key", "time", "value", "empty", "file", "row"]


# ---------------------------------------------------------------------------
# helpers


def parse_numbers(values) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Parse numbers like ``'1,060'``, ``2455``, ``None``, ``'EMPTY'``.

    Returns (values, empty, unreadable): ``empty`` marks empty or marker cells
    (``EMPTY``, ``MISSING``, null) *and* unreadable ones, ``unreadable`` only the latter.
    """
    s = values if isinstance(values, pd.Series) else pd.Series(values)
    if s.dtype.kind in "fiu":
        num = s.to_numpy(dtype=float)
        return num, ~np.isfinite(num), np.zeros(num.size, bool)
    st = s.astype("string").str.strip()
    empty = (st.isna() | st.str.upper().isin(_EMPTY_TOKENS)).to_numpy(dtype=bool, na_value=True)
    num = pd.to_numeric(st.str.replace(",", "", regex=False), errors="coerce")
    num = num.to_numpy(dtype=float, na_value=np.nan)
    bad = ~empty & ~np.isfinite(num)
    return num, empty | bad, bad


_TEXT_COLUMNS = ("ba", "variable", "key", "file")


def make_records(ba, variable, key, time, value, empty, file, row) -> pd.DataFrame:
    """Long records; text columns are categorical (cheap to build, filter and concatenate)."""
    n = len(time)

    def text(v):
        if np.ndim(v) == 0:
            return pd.Categorical.from_codes(np.zeros(n, np.int8), categories=[str(v)])
        return pd.Categorical(np.asarray(v, dtype=object).astype(str))

    return pd.DataFrame({
        "ba": text(ba),
        "variable": text(variable),
        "key": text(key),
        "time": pd.DatetimeIndex(time).as_unit("ns"),
        "value": np.asarray(value, dtype=float),
        "empty": np.asarray(empty, dtype=bool),
        "file": text(file),
        "row": np.asarray(row, dtype=np.int64),
    })


def concat_records(frames: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """Concatenate record frames, keeping the text columns categorical."""
    from pandas.api.types import union_categoricals

    frames = [f for f in frames if len(f)]
    if not frames:
        return pd.DataFrame(columns=_RECORD_COLUMNS)
    out = {}
    for col in _RECORD_COLUMNS:
        if col in _TEXT_COLUMNS:
            out[col] = union_categoricals([pd.Categorical(f[col]) for f in frames])
        else:
            out[col] = np.concatenate([f[col].to_numpy() for f in frames])
    df = pd.DataFrame(out)
    df.attrs = {k: v for f in frames for k, v in f.attrs.items()}
    return df


def _end_to_start(t: pd.DatetimeIndex) -> pd.DatetimeIndex:
    return t - pd.Timedelta(hours=1)


def _naive_utc(t) -> pd.DatetimeIndex:
    t = pd.DatetimeIndex(t)
    if t.tz is not None:
        t = t.tz_convert("UTC").tz_localize(None)
    return t


def _check_unparsed(problems: list, file: str, col: str, mask: np.ndarray, raw: Sequence, rows: np.ndarray):
    for i in np.flatnonzero(mask)[:20]:
        problems.append(Problem(f"could not read {raw[i]!r}", file=file, row=int(rows[i]), column=col))
    if mask.sum() > 20:
        problems.append(Problem(f"... {int(mask.sum()) - 20} more unreadable values", file=file, column=col))


# ---------------------------------------------------------------------------
# format detection


def detect_format(path) -> str:
    """Guess the EIA-930 format of a file from its name and first bytes."""
    path = Path(path)
    name = path.name.lower()
    opener = _open_text(path)
    head = opener.read(4096)
    if name.endswith((".yaml", ".yml")) and "interactions:" in head:
        return "api_v2_json"
    stripped = head.lstrip()
    if stripped.startswith(("{", "[")):
        if '"series_id"' in head:
            return "eba_json"
        if '"response"' in head:
            return "api_v2_json"
        if '"HourlySystemLoads"' in head:
            return "isone_json"
        raise DataFormatError(f"{path}: JSON, but neither an EIA API v2 response ('response') nor "
                              "EBA series objects ('series_id')")
    if name.endswith(".parquet"):
        return "tidy"
    first = stripped.splitlines()[0] if stripped else ""
    if "Balancing Authority" in first and "Directly Interconnected Balancing Authority" in first:
        return "interchange_csv"
    if "Balancing Authority" in first and "UTC Time at End of Hour" in first:
        return "balance_csv"
    cols = [c.strip().strip('"').lower() for c in first.split(",")]
    if any(c.startswith("eba.") for c in cols[1:4]):
        return "eba_wide_csv"
    if cols and cols[0] in ("date_time", "date_time_utc"):
        return "ruggles"
    if {"time", "ba"} <= set(cols):
        return "tidy"
    raise DataFormatError(
        f"{path}: format not recognised from the header {first[:120]!r}; expected an EIA930_BALANCE or "
        "INTERCHANGE CSV, an EIA API v2 JSON response, EBA series JSON, a Ruggles et al. release file, or a "
        "tidy table with columns time, ba, demand_mw (pass format= to force one of "
        f"{', '.join(FORMATS)})")


def _open_text(path: Path):
    if path.suffix == ".gz":
        import gzip

        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8-sig")
    return open(path, encoding="utf-8-sig")


# ---------------------------------------------------------------------------
# readers: each returns a DataFrame of records (_RECORD_COLUMNS)


def _read_grid_monitor_csv(path: Path, need: list[str]):
    """An EIA Hourly Electric Grid Monitor six-month CSV: (frame, row numbers, hour starts, problems)."""
    file = str(path)
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = [c for c in need if c not in df.columns]
    if missing:
        raise ValidationError([Problem("required column missing", file=file, column=c) for c in missing], what=file)
    rows = np.arange(1, len(df) + 1)
    problems: list[Problem] = []
    col = "UTC Time at End of Hour"
    t = pd.to_datetime(df[col], format="%m/%d/%Y %I:%M:%S %p", errors="coerce")
    if t.isna().any():  # newer files use ISO-like stamps
        t = t.fillna(pd.to_datetime(df[col], errors="coerce"))
    _check_unparsed(problems, file, col, t.isna().to_numpy(), df[col].tolist(), rows)
    return df, rows, _end_to_start(pd.DatetimeIndex(t)), problems


def _read_balance_csv(path: Path) -> pd.DataFrame:
    file = str(path)
    df, rows, start, problems = _read_grid_monitor_csv(
        path, ["Balancing Authority", "UTC Time at End of Hour", "Demand (MW)"])
    ba = df["Balancing Authority"].str.strip().to_numpy(dtype=object)
    out = []
    columns = {"Demand (MW)": ("demand", ""), "Demand Forecast (MW)": ("demand_forecast", ""),
               "Net Generation (MW)": ("net_generation", ""), "Total Interchange (MW)": ("total_interchange", "")}
    for label, code in _BALANCE_FUELS.items():
        columns[f"Net Generation (MW) from {label}"] = ("generation", code)
    for col, (var, key) in columns.items():
        if col not in df.columns:
            continue
        val, empty, bad = parse_numbers(df[col])
        _check_unparsed(problems, file, col, bad, df[col].tolist(), rows)
        if var == "generation" and empty.all():
            continue
        out.append(make_records(ba, var, key, start, val, empty, file, rows))
    if problems:
        raise ValidationError(problems, what=file)
    return concat_records(out)


def _read_interchange_csv(path: Path) -> pd.DataFrame:
    file = str(path)
    df, rows, start, problems = _read_grid_monitor_csv(
        path, ["Balancing Authority", "Directly Interconnected Balancing Authority", "Interchange (MW)",
               "UTC Time at End of Hour"])
    val, empty, bad = parse_numbers(df["Interchange (MW)"])
    _check_unparsed(problems, file, "Interchange (MW)", bad, df["Interchange (MW)"].tolist(), rows)
    if problems:
        raise ValidationError(problems, what=file)
    return make_records(df["Balancing Authority"].str.strip().to_numpy(dtype=object), "interchange",
                    df["Directly Interconnected Balancing Authority"].str.strip().to_numpy(dtype=object),
                    start, val, empty, file, rows)


def _api_v2_bodies(path: Path) -> list[tuple[str, dict]]:
    text = _open_text(path).read()
    if path.suffix.lower() in (".yaml", ".yml"):
        import yaml

        doc = yaml.safe_load(text)
        bodies = []
        for k, inter in enumerate(doc.get("interactions", []), start=1):
            body = ((inter.get("response") or {}).get("body") or {}).get("string")
            if body:
                try:
                    bodies.append((f"{path}#interaction{k}", json.loads(body)))
                except json.JSONDecodeError as exc:
                    raise DataFormatError(f"{path}: interaction {k} body is not JSON ({exc})") from exc
        if not bodies:
            raise DataFormatError(f"{path}: a cassette with no recorded response bodies")
        return bodies
    try:
        return [(str(path), json.loads(text))]
    except json.JSONDecodeError as exc:
        raise DataFormatError(f"{path}: not valid JSON ({exc})") from exc


def _read_api_v2(path: Path) -> pd.DataFrame:
    out = []
    for file, doc in _api_v2_bodies(path):
        resp = doc.get("response") if isinstance(doc, dict) else None
        if not isinstance(resp, dict) or not isinstance(resp.get("data"), list):
            raise DataFormatError(f"{file}: expected an EIA API v2 response with response.data, found keys "
                                  f"{list(doc)[:5] if isinstance(doc, dict) else type(doc).__name__}")
        data = resp["data"]
        if not data:
            continue
        df = pd.DataFrame(data)
        rows = np.arange(1, len(df) + 1)
        problems: list[Problem] = []
        for c in ("period", "value"):
            if c not in df.columns:
                problems.append(Problem("field missing in response.data", file=file, column=c))
        if problems:
            raise ValidationError(problems, what=file)
        period = df["period"].astype(str)
        local = resp.get("frequency") == "local-hourly" or period.str.match(r".*T\d\d[+-]\d\d").any()
        if local:
            t = pd.to_datetime(period.str.replace(r"T(\d\d)([+-]\d\d)$", r" \1:00\2:00", regex=True),
                               utc=True, errors="coerce")
        else:
            t = pd.to_datetime(period, format="%Y-%m-%dT%H", errors="coerce")
        _check_unparsed(problems, file, "period", t.isna().to_numpy(), period.tolist(), rows)
        val, empty, bad = parse_numbers(df["value"])
        _check_unparsed(problems, file, "value", bad, df["value"].tolist(), rows)
        units = set(df.get("value-units", pd.Series(["megawatthours"])).dropna().astype(str).str.lower())
        if units - {"megawatthours", "megawatts", "mwh", "mw"}:
            problems.append(Problem(f"value-units {sorted(units)} not understood; expected megawatthours",
                                    file=file, column="value-units"))
        if problems:
            raise ValidationError(problems, what=file)
        start = _end_to_start(_naive_utc(t))
        if "fromba" in df.columns:
            out.append(make_records(df["fromba"].to_numpy(dtype=object), "interchange",
                                df["toba"].to_numpy(dtype=object), start, val, empty, file, rows))
        elif "fueltype" in df.columns:
            out.append(make_records(df["respondent"].to_numpy(dtype=object), "generation",
                                df["fueltype"].to_numpy(dtype=object), start, val, empty, file, rows))
        elif "type" in df.columns:
            types = df["type"].astype(str)
            unknown = sorted(set(types) - set(_TYPE_VARIABLE))
            if unknown:
                raise ValidationError([Problem(f"unknown type codes {unknown}; expected D, DF, NG or TI",
                                               file=file, column="type")], what=file)
            out.append(make_records(df["respondent"].to_numpy(dtype=object),
                                types.map(_TYPE_VARIABLE).to_numpy(dtype=object), "", start, val, empty, file, rows))
        else:
            raise DataFormatError(f"{file}: response rows have neither 'type', 'fueltype' nor 'fromba'")
    return concat_records(out)


_SERIES_RE = re.compile(r"^EBA\.(?P<ba>[A-Z0-9_]+)-(?P<other>[A-Z0-9_]+)\.(?P<rest>[A-Z.]+?)\.(?P<freq>HL|H)$")


def _parse_series_id(sid: str) -> tuple[str, str, str, str]:
    """(ba, variable, key, frequency) of an EBA series id."""
    m = _SERIES_RE.match(sid.strip())
    if not m:
        raise DataFormatError(f"series id {sid!r} does not follow EBA.<BA>-<BA|ALL>.<TYPE>[.<FUEL>].<H|HL>")
    ba, other, rest, freq = m["ba"], m["other"], m["rest"], m["freq"]
    parts = rest.split(".")
    if other != "ALL":
        if parts != ["ID"]:
            raise DataFormatError(f"series id {sid!r}: a BA pair must carry type ID")
        return ba, "interchange", other, freq
    if parts[0] == "NG" and len(parts) == 2:
        return ba, "generation", parts[1], freq
    if len(parts) == 1 and parts[0] in _TYPE_VARIABLE:
        return ba, _TYPE_VARIABLE[parts[0]], "", freq
    raise DataFormatError(f"series id {sid!r}: unknown type {rest!r}")


def _parse_eba_stamps(stamps: pd.Series) -> pd.DatetimeIndex:
    s = stamps.astype(str)
    iso = s.str.replace(r"^(\d{4})(\d\d)(\d\d)T(\d\d)(Z|[+-]\d\d)$", r"\1-\2-\3 \4:00\5", regex=True)
    iso = iso.str.replace(r"([+-]\d\d)$", r"\1:00", regex=True).str.replace("Z", "+00:00", regex=False)
    return _naive_utc(pd.to_datetime(iso, utc=True, errors="coerce"))


def _read_eba_json(path: Path) -> pd.DataFrame:
    text = _open_text(path).read()
    objs: list[tuple[int, dict]] = []
    try:
        doc = json.loads(text)
        items = doc if isinstance(doc, list) else [doc]
        objs = [(1, o) for o in items]
    except json.JSONDecodeError:
        for ln, line in enumerate(text.splitlines(), start=1):  # EBA.txt: one object per line
            if line.strip():
                try:
                    objs.append((ln, json.loads(line)))
                except json.JSONDecodeError as exc:
                    raise DataFormatError(f"{path}: line {ln} is not JSON ({exc})") from exc
    out, problems, file = [], [], str(path)
    for _ln, obj in objs:
        if not isinstance(obj, dict) or "series_id" not in obj:
            continue  # category objects of EBA.txt
        ba, var, key, _freq = _parse_series_id(obj["series_id"])
        data = obj.get("data") or []
        if not data:
            continue
        stamps = pd.Series([d[0] for d in data])
        t = _parse_eba_stamps(stamps)
        rows = np.arange(1, len(data) + 1)
        _check_unparsed(problems, f"{file} ({obj['series_id']})", "data[][0]", np.asarray(t.isna()),
                        stamps.tolist(), rows)
        val, empty, bad = parse_numbers(pd.Series([d[1] if len(d) > 1 else None for d in data]))
        out.append(make_records(ba, var, key, _end_to_start(t), val, empty, f"{file} ({obj['series_id']})", rows))
    if problems:
        raise ValidationError(problems, what=file)
    if not out:
        raise DataFormatError(f"{path}: no EBA series objects with data")
    return concat_records(out)


def _read_eba_wide_csv(path: Path) -> pd.DataFrame:
    file = str(path)
    df = pd.read_csv(path, index_col=0, dtype=str, keep_default_na=False)
    t = _naive_utc(pd.to_datetime(df.index.to_series(), utc=True, errors="coerce"))
    rows = np.arange(1, len(df) + 1)
    problems: list[Problem] = []
    _check_unparsed(problems, file, str(df.index.name or "index"), np.asarray(t.isna()), list(df.index), rows)
    if problems:
        raise ValidationError(problems, what=file)
    start = _end_to_start(t)
    out = []
    for col in df.columns:
        ba, var, key, _ = _parse_series_id(col)
        val, empty, bad = parse_numbers(df[col])
        _check_unparsed(problems, file, col, bad, df[col].tolist(), rows)
        out.append(make_records(ba, var, key, start, val, empty, file, rows))
    if problems:
        raise ValidationError(problems, what=file)
    return concat_records(out)


def _read_ruggles_file(path: Path, ba: str | None = None) -> pd.DataFrame:
    """One Ruggles et al. file → records (raw demand, cleaned demand, category, forecast)."""
    file = str(path)
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    df.columns = [c.strip() for c in df.columns]
    tcol = df.columns[0]
    t = pd.to_datetime(df[tcol], format="%Y-%m-%d %H:%M:%S", errors="coerce")
    rows = np.arange(1, len(df) + 1)
    problems: list[Problem] = []
    _check_unparsed(problems, file, tcol, t.isna().to_numpy(), df[tcol].tolist(), rows)
    if problems:
        raise ValidationError(problems, what=file)
    start = _end_to_start(pd.DatetimeIndex(t))
    out = []
    if tcol == "date_time_utc" or not any("(MW)" in c for c in df.columns):  # wide table: one column per region
        for col in df.columns[1:]:
            val, empty, bad = parse_numbers(df[col])
            _check_unparsed(problems, file, col, bad, df[col].tolist(), rows)
            name = col.replace("_SUM_OF_SUBREGIONS", "")
            var = "demand_cleaned_subregion_sum" if col.endswith("_SUM_OF_SUBREGIONS") else "demand_cleaned"
            out.append(make_records(name, var, "", start, val, empty, file, rows))
    else:
        ba = ba or path.stem
        colmap = {"raw demand (MW)": "demand", "demand (MW)": "demand", "cleaned demand (MW)": "demand_cleaned",
                  "forecast demand (MW)": "demand_forecast"}
        for col, var in colmap.items():
            if col in df.columns:
                val, empty, bad = parse_numbers(df[col])
                _check_unparsed(problems, file, col, bad, df[col].tolist(), rows)
                out.append(make_records(ba, var, "", start, val, empty, file, rows))
        if "category" in df.columns:
            flagged = (df["category"].str.strip() != "OKAY").to_numpy(dtype=float)
            out.append(make_records(ba, "source_flag", "", start, flagged, np.zeros(len(df), bool), file, rows))
    if problems:
        raise ValidationError(problems, what=file)
    return concat_records(out)


def _read_tidy(path: Path, *, tz: str | None = None, time_convention: str = "hour-beginning",
               ba: str | None = None, time_column: str | None = None, value_column: str | None = None,
               dayfirst: bool = False) -> pd.DataFrame:
    file = str(path)
    if path.suffix.lower() in (".parquet", ".pq"):
        df = pd.read_parquet(path).reset_index()
        df = df.astype({c: object for c in df.columns})
    else:
        df = pd.read_csv(path, dtype=str, keep_default_na=False)
    df.columns = [str(c).strip() for c in df.columns]
    tcol = time_column or ("time" if "time" in df.columns else None)
    vcol = value_column or next((c for c in ("demand_mw", "demand", "value") if c in df.columns), None)
    problems = []
    if tcol is None or tcol not in df.columns:
        problems.append(Problem("time column missing (expected 'time', or pass time_column=)", file=file, column=tcol))
    if vcol is None or vcol not in df.columns:
        problems.append(Problem("value column missing (expected 'demand_mw', or pass value_column=)",
                                file=file, column=vcol))
    if ba is None and "ba" not in df.columns:
        problems.append(Problem("ba column missing (or pass ba=)", file=file, column="ba"))
    if problems:
        raise ValidationError(problems, what=file)
    rows = np.arange(1, len(df) + 1)
    fmt = "%d-%m-%Y %H:%M" if dayfirst else None
    t = pd.to_datetime(df[tcol], format=fmt, errors="coerce", utc=tz is None)
    _check_unparsed(problems, file, tcol, pd.isna(t).to_numpy(), df[tcol].tolist(), rows)
    val, empty, bad = parse_numbers(df[vcol])
    _check_unparsed(problems, file, vcol, bad, df[vcol].tolist(), rows)
    if problems:
        raise ValidationError(problems, what=file)
    bas = np.asarray(df["ba"] if ba is None else np.full(len(df), ba), dtype=object)
    t = pd.DatetimeIndex(t)
    if time_convention not in ("hour-beginning", "hour-ending"):
        raise ValueError(f"time_convention must be 'hour-beginning' or 'hour-ending', found {time_convention!r}")
    dropped = pd.DataFrame()
    if tz is not None:
        t, keep, dropped = _localize_local_hours(t, tz, time_convention, file, rows)
        val, empty, bas, rows = val[keep], empty[keep], bas[keep], rows[keep]
    else:
        t = _naive_utc(t)
        if time_convention == "hour-ending":
            t = _end_to_start(t)
    rec = make_records(bas, "demand", "", t, val, empty, file, rows)
    rec.attrs["dropped"] = dropped
    return rec


def _localize_local_hours(t: pd.DatetimeIndex, tz: str, convention: str, file: str, rows: np.ndarray):
    """Local wall-clock hour labels → naive UTC hour-beginning, resolving DST.

    At the autumn change a local hour occurs twice: the first row with that
    label is taken as daylight time, the second as standard time.  A lone
    label is taken as daylight time (the standard-time hour then shows up as
    missing).  At the spring change a label that does not exist locally is
    dropped and reported.
    """
    start = t - pd.Timedelta(hours=1) if convention == "hour-ending" else t
    order = np.argsort(start.values, kind="stable")
    inv = np.empty_like(order)
    inv[order] = np.arange(order.size)
    s = start[order]
    dup_rank = pd.Series(s).groupby(s).cumcount().to_numpy()
    # ambiguous=True means DST; the first occurrence is DST, the second standard time
    amb = dup_rank == 0
    loc = s.tz_localize(tz, ambiguous=amb, nonexistent="NaT")
    utc = loc.tz_convert("UTC").tz_localize(None)[inv]
    keep = ~pd.isna(utc)
    dropped = pd.DataFrame({"file": file, "row": rows[~keep], "time_local": start[~keep].astype(str),
                            "reason": "local time does not exist (spring-forward DST change)"})
    if len(dropped):
        warnings.warn(f"{file}: {len(dropped)} rows stamped with local times that do not exist "
                      f"(DST spring-forward) in {tz} were set aside; see the cube's 'dropped_rows' attribute",
                      stacklevel=4)
    return pd.DatetimeIndex(utc[keep]), np.asarray(keep), dropped


def _read_isone_json(path: Path) -> pd.DataFrame:
    """ISO New England web-services ``hourlysysload`` responses (``BeginDate`` hour-beginning, with offset)."""
    file = str(path)
    try:
        doc = json.loads(_open_text(path).read())
    except json.JSONDecodeError as exc:
        raise DataFormatError(f"{path}: not valid JSON ({exc})") from exc
    try:
        items = doc["HourlySystemLoads"]["HourlySystemLoad"]
    except (KeyError, TypeError):
        raise DataFormatError(f"{path}: expected HourlySystemLoads.HourlySystemLoad (ISO-NE hourlysysload)") from None
    if isinstance(items, dict):
        items = [items]
    df = pd.DataFrame(items)
    rows = np.arange(1, len(df) + 1)
    problems: list[Problem] = []
    t = pd.to_datetime(df["BeginDate"], utc=True, errors="coerce", format="ISO8601")
    _check_unparsed(problems, file, "BeginDate", t.isna().to_numpy(), df["BeginDate"].tolist(), rows)
    val, empty, bad = parse_numbers(df["Load"])
    _check_unparsed(problems, file, "Load", bad, df["Load"].tolist(), rows)
    if problems:
        raise ValidationError(problems, what=file)
    return make_records("ISNE", "demand", "", _naive_utc(t), val, empty, file, rows)


_READERS = {
    "balance_csv": _read_balance_csv,
    "interchange_csv": _read_interchange_csv,
    "api_v2_json": _read_api_v2,
    "eba_json": _read_eba_json,
    "eba_wide_csv": _read_eba_wide_csv,
    "ruggles": _read_ruggles_file,
    "tidy": _read_tidy,
    "isone_json": _read_isone_json,
}


def read_records(path, format: str = "auto", **kwargs) -> pd.DataFrame:
    """Read one file into long records (ba, variable, key, time, value, empty, file, row).

    ``time`` is naive UTC, hour-beginning; ``empty`` marks cells present but empty.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"EIA-930 file not found: {path}")
    fmt = detect_format(path) if format == "auto" else format
    if fmt not in _READERS:
        raise ValueError(f"unknown format {format!r}; expected 'auto' or one of {', '.join(FORMATS)}")
    reader = _READERS[fmt]
    return reader(path, **kwargs) if fmt == "tidy" else reader(path)


def read_eia930_records(paths, *, format: str = "auto", bas: Sequence[str] | None = None, start=None, end=None,
                        **tidy_kwargs) -> tuple[pd.DataFrame, list[str]]:
    """Read one or more EIA-930 files (any supported format) into long records.

    Parameters are those of :func:`powerfirst.cubes.grid.read_eia930`, which assembles the
    records into the grid cube.

    Returns
    -------
    records : pandas.DataFrame
        Columns ``ba``, ``variable``, ``key``, ``time`` (naive UTC, hour-beginning), ``value``
        [MW], ``empty``, ``file``, ``row``; ``attrs["dropped"]`` lists rows set aside while
        reading (duplicated or non-existent local times).
    sources : list of str
        ``<file name>:<content hash>`` of every file read.
    """
    files = _expand(paths)
    recs, dropped = [], []
    for f in files:
        fmt = detect_format(f) if format == "auto" else format
        r = read_records(f, format=fmt, **(tidy_kwargs if fmt == "tidy" else {}))
        d = r.attrs.get("dropped")
        if d is not None and len(d):
            dropped.append(d)
        recs.append(r)
    rec = concat_records(recs)
    if bas is not None:
        unknown = sorted(set(bas) - set(rec["ba"]))
        if unknown:
            raise ValidationError([Problem(f"balancing authority {b!r} not found in the inputs "
                                           f"(found {sorted(set(rec['ba']))[:12]})") for b in unknown],
                                  what="EIA-930 inputs")
        rec = rec[rec["ba"].isin(bas)]
    if start is not None:
        rec = rec[rec["time"] >= pd.Timestamp(start)]
    if end is not None:
        rec = rec[rec["time"] < pd.Timestamp(end)]
    rec.attrs["dropped"] = pd.concat(dropped) if dropped else None
    return rec, [f"{Path(f).name}:{file_hash(f)}" for f in files]


def _expand(paths) -> list[Path]:
    if isinstance(paths, (str, Path)):
        paths = [paths]
    out: list[Path] = []
    for p in paths:
        p = Path(p)
        if p.is_dir():
            for q in sorted(p.rglob("*")):
                if q.is_file() and q.name.lower().endswith((".csv", ".json", ".csv.gz", ".parquet", ".yaml",
                                                            ".yml")) and not q.name.startswith("."):
                    out.append(q)
        elif p.exists():
            out.append(p)
        else:
            raise FileNotFoundError(f"EIA-930 input not found: {p}")
    if not out:
        raise FileNotFoundError(f"no EIA-930 files found in {paths}")
    return out
