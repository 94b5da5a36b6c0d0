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

Checks
------
Every problem of a file is reported at once, with file, row (line) and
column, and the problems of all files in one error:

* text: UTF-8 with or without a byte-order mark; a CSV in Windows-1252 is
  read with a warning naming the first non-UTF-8 byte; other bytes, binary
  files, truncated gzip archives and JSON or YAML that does not parse are
  refused with the byte offset or line and column;
* structure: empty and header-only files, rows with more or fewer fields than
  the header (a missing field would shift the row's values into the wrong
  columns), a file cut in the middle of its last row (refused) or ending
  without a line terminator (read with a warning);
* cells: numbers are plain ASCII numbers, with a comma only as a thousands
  separator (``'1,060'``; ``'19,5'`` is refused, not read as 195), stamps
  parse and lie in 1900-2199;
* the local-time column of the balance and interchange files agrees with the
  UTC stamps by the balancing authority's offset (a UTC column that holds local
  times is refused with the rows and the offset found);
* the size of demand fits the BA's known peak (``schema/grids.csv``,
  :func:`check_demand_magnitude`): a file in GW or kW is refused naming the BA,
  the file and the likely unit (``check_magnitude=False`` to override).
"""

from __future__ import annotations

import csv
import io
import json
import re
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from powerfirst._provenance import file_hash
from powerfirst.errors import DataFormatError, PowerfirstError, Problem, ValidationError

__all__ = [
    "read_eia930_records",
    "read_records",
    "detect_format",
    "check_demand_magnitude",
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

    A comma is read only as a thousands separator in groups of three digits
    (``'1,060'``); ``'19,5'`` (a decimal comma), ``'1_000'``, ``'12 MW'``,
    non-ASCII digits and non-finite numbers are unreadable.

    Returns (values, empty, unreadable): ``empty`` marks empty or marker cells
    (``EMPTY``, ``MISSING``, null) *and* unreadable ones, ``unreadable`` only the latter.
    """
    s = values if isinstance(values, pd.Series) else pd.Series(values)
    if s.dtype.kind in "fiu":
        num = s.to_numpy(dtype=float)
        return num, ~np.isfinite(num), np.zeros(num.size, bool)
    st = s.astype("string").str.strip()
    empty = (st.isna() | st.str.upper().isin(_EMPTY_TOKENS)).to_numpy(dtype=bool, na_value=True)
    # a comma only as a thousands separator ("1,060", "12,345.5"); "19,5" (a decimal comma) is unreadable
    comma = st.str.contains(",", regex=False).fillna(False)
    grouped = st.str.fullmatch(r"[+-]?[0-9]{1,3}(,[0-9]{3})+(\.[0-9]*)?").fillna(False)
    plain = st.where(~comma, st.str.replace(",", "", regex=False).where(grouped))
    plain = plain.where(plain.str.fullmatch(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?").fillna(False))
    num = pd.to_numeric(plain, errors="coerce")
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


#: ISO-like stamps accepted where a format allows them (``2020-07-01 06:00[:00]``, ``T`` or a space)
_ISO_STAMP = r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d(:\d\d)?(Z|[+-]\d\d:?\d\d)?"
#: hours outside these years are taken as unreadable (a mangled stamp read as year 1 or 9999)
_T_MIN, _T_MAX = pd.Timestamp("1900-01-01"), pd.Timestamp("2200-01-01")


def _in_range(t) -> pd.DatetimeIndex:
    """Naive (UTC) nanosecond stamps; NaT outside 1900-2199 (reported as unreadable by the caller)."""
    t = pd.DatetimeIndex(t)
    if t.tz is not None:
        t = t.tz_convert("UTC").tz_localize(None)
    bad = np.asarray((t < _T_MIN) | (t >= _T_MAX), dtype=bool)
    if bad.any():
        t = t.where(~bad)
    return t.as_unit("ns")


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
# reading bytes and text: gzip, encodings, structure of a CSV


def _read_bytes(path: Path) -> bytes:
    """The bytes of a file (decompressed when it is ``.gz``); unreadable archives are located errors."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DataFormatError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    if path.suffix.lower() == ".gz":
        import gzip
        import zlib

        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as exc:
            raise DataFormatError(f"{path}: not a readable gzip file ({exc}); a download cut short leaves a "
                                  "truncated archive: download it again") from None
    return data


def _read_text(path: Path, kind: str = "CSV") -> str:
    """Text of an EIA-930 file: UTF-8 (with or without a byte-order mark), else Windows-1252 for a CSV.

    A CSV that is not UTF-8 is read as Windows-1252 with a warning naming the
    first byte that is not UTF-8 (file and byte offset); a JSON or YAML file
    must be UTF-8 (RFC 8259).  Binary files are refused.
    """
    from powerfirst.io.sites import _decode, _line_at

    data = _read_bytes(path)
    if kind == "CSV":
        return _decode(path, data, "CSV")[0]
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        bad = exc.start + (3 if data.startswith(b"\xef\xbb\xbf") else 0)
        raise DataFormatError(f"{path}: not UTF-8 text (byte 0x{data[bad]:02x} at byte offset {bad}, line "
                              f"{_line_at(data, bad)}); {kind} files are UTF-8 (RFC 8259): save or download "
                              "the file as UTF-8") from None


def _json(path, text: str, what: str = "JSON"):
    """``json.loads`` with the error located (file, line, column, character offset)."""
    try:
        return json.loads(text)
    except RecursionError:
        raise DataFormatError(f"{path}: {what} nested too deeply to read") from None
    except json.JSONDecodeError as exc:
        raise DataFormatError(f"{path}, line {exc.lineno} column {exc.colno} (character {exc.pos}): not valid "
                              f"{what} ({exc.msg}); a download cut short ends in the middle of the document: "
                              "download it again") from None


def _record_field_counts(path: Path, text: str) -> tuple[np.ndarray, np.ndarray]:
    """(fields, line) of every CSV record of ``text``, header included; blank lines are skipped, as pandas does."""
    if '"' not in text:  # no quoting: count the delimiters of each line (fast)
        b = np.frombuffer(text.encode("utf-8"), np.uint8)
        nl = np.flatnonzero(b == 10)
        ends = nl if (nl.size and nl[-1] == b.size - 1) else np.append(nl, b.size)
        starts = np.concatenate(([0], ends[:-1] + 1))
        commas = np.concatenate(([0], np.cumsum(b == 44)))
        solid = np.concatenate(([0], np.cumsum(~np.isin(b, (9, 10, 13, 32)))))
        keep = solid[ends] > solid[starts]
        count = commas[ends] - commas[starts] + 1
        return count[keep], np.flatnonzero(keep) + 1
    reader = csv.reader(io.StringIO(text, newline=""))
    counts, lines = [], []
    start = 1
    try:
        for rec in reader:
            if rec and not (len(rec) == 1 and not rec[0].strip()):
                counts.append(len(rec))
                lines.append(start)
            start = reader.line_num + 1
    except csv.Error as exc:
        hint = (" (a field longer than the CSV field limit: most likely a quote opened and never closed)"
                if "field limit" in str(exc) else "")
        raise DataFormatError(f"{path}, line {start}: not readable as CSV ({exc}){hint}") from None
    return np.asarray(counts, dtype=int), np.asarray(lines, dtype=int)


def _csv_frame(path: Path, *, what: str, index_col=None, usecols=None) -> pd.DataFrame:
    """A CSV as a frame of strings, its structure checked first.

    Every record whose number of fields differs from the header's is reported
    (file, row, line), all at once: a field missing in the middle of a row
    would shift the values of the row into the wrong columns.  A file that
    ends in the middle of a row (no line terminator and fewer fields than the
    header) is reported as cut short; one whose complete last row has no line
    terminator is read with a warning (its last value may have been cut).
    Empty files, header-only files and duplicated column names are refused.
    """
    text = _read_text(path)
    file = str(path)
    if not text.strip():
        raise DataFormatError(f"{path}: the file is empty; expected {what}")
    counts, lines = _record_field_counts(path, text)
    n = int(counts[0])
    try:
        header = [h.strip() for h in next(csv.reader(io.StringIO(text, newline="")), [])]
    except csv.Error:  # the structure check above reads the same text: not reached
        header = []
    problems: list[Problem] = []
    seen: dict[str, int] = {}
    for k, h in enumerate(header):
        if h and h in seen:
            problems.append(Problem(f"column appears more than once in the header (fields {seen[h] + 1} and "
                                    f"{k + 1}); keep one", file=file, line=int(lines[0]), column=h))
        seen.setdefault(h, k)
    if counts.size == 1:
        raise DataFormatError(f"{path}: only a header row (line {int(lines[0])}) and no data rows; expected {what}")
    cut = not text.endswith(("\n", "\r"))
    bad = np.flatnonzero(counts[1:] != n)
    for i in bad[:20]:
        last = cut and i == counts.size - 2
        tail = (" and the file ends there without a line terminator: it looks cut short (an interrupted "
                "download?); download it again") if last else ""
        problems.append(Problem(f"expected {n} fields as in the header, found {int(counts[i + 1])}{tail}",
                                file=file, row=int(i + 1), line=int(lines[i + 1])))
    if bad.size > 20:
        problems.append(Problem(f"... and {bad.size - 20} more rows whose number of fields differs from the "
                                "header's", file=file))
    if problems:
        raise ValidationError(problems, what=file)
    if cut:
        warnings.warn(f"{path}: the last line (line {int(lines[-1])}, row {counts.size - 1}) has no line "
                      "terminator; if the file was cut short, the last value of that row may be incomplete",
                      UserWarning, stacklevel=4)
    try:
        return pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, index_col=index_col,
                           usecols=usecols)
    except (pd.errors.ParserError, ValueError) as exc:  # pragma: no cover - the structure was checked above
        raise DataFormatError(f"{path}: not readable as CSV ({exc})") from None


# ---------------------------------------------------------------------------
# format detection


def detect_format(path) -> str:
    """Guess the EIA-930 format of a file from its name and first bytes."""
    path = Path(path)
    name = path.name.lower()
    head = _read_head(path)
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
    if name.endswith((".parquet", ".pq")):
        return "tidy"
    if not stripped:
        raise DataFormatError(f"{path}: the file is empty; expected an EIA-930 file (a CSV with a header row, "
                              "or JSON)")
    first = stripped.splitlines()[0]
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


def _read_head(path: Path, size: int = 4096) -> str:
    """The first characters of a file, for format detection only (undecodable bytes replaced)."""
    try:
        if path.suffix.lower() == ".gz":
            import gzip
            import zlib

            try:
                with gzip.open(path, "rb") as f:
                    raw = f.read(size)
            except (OSError, EOFError, zlib.error) as exc:
                raise DataFormatError(f"{path}: not a readable gzip file ({exc}); a download cut short leaves a "
                                      "truncated archive: download it again") from None
        else:
            with open(path, "rb") as f:
                raw = f.read(size)
    except OSError as exc:
        raise DataFormatError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    from powerfirst.io.sites import _MAGIC

    for magic, what in _MAGIC:
        if raw.startswith(magic) and not (magic == b"PAR1" and path.suffix.lower() in (".parquet", ".pq")):
            raise DataFormatError(f"{path}: not an EIA-930 text file but {what}")
    nul = raw.find(b"\x00")
    if nul >= 0 and path.suffix.lower() not in (".parquet", ".pq"):
        line = raw.count(b"\n", 0, nul) + 1
        raise DataFormatError(f"{path}: a NUL byte at byte offset {nul} (line {line}); this is a binary file, "
                              "not an EIA-930 CSV or JSON file")
    return raw.decode("utf-8-sig", errors="replace")


# ---------------------------------------------------------------------------
# readers: each returns a DataFrame of records (_RECORD_COLUMNS)


def _grid_monitor_stamps(s: pd.Series) -> pd.DatetimeIndex:
    """``07/01/2020 6:00:00 AM`` stamps of the Grid Monitor files (or ISO-like ones of newer files)."""
    t = pd.to_datetime(s, format="%m/%d/%Y %I:%M:%S %p", errors="coerce")
    if t.isna().any():  # newer files use ISO-like stamps
        iso = s.where(t.isna() & s.str.strip().str.fullmatch(_ISO_STAMP).fillna(False))
        t = t.fillna(pd.to_datetime(iso.str.strip(), errors="coerce", format="ISO8601"))
    return _in_range(t)


def _read_grid_monitor_csv(path: Path, need: list[str]):
    """An EIA Hourly Electric Grid Monitor six-month CSV: (frame, row numbers, hour starts, problems)."""
    file = str(path)
    df = _csv_frame(path, what="an EIA Hourly Electric Grid Monitor CSV with a header row and one row per "
                               "balancing authority and hour")
    missing = [c for c in need if c not in df.columns]
    if missing:
        raise ValidationError([Problem("required column missing", file=file, column=c) for c in missing], what=file)
    rows = np.arange(1, len(df) + 1)
    problems: list[Problem] = []
    col = "UTC Time at End of Hour"
    t = _grid_monitor_stamps(df[col])
    _check_unparsed(problems, file, col, np.asarray(t.isna()), df[col].tolist(), rows)
    _check_local_time(df, t, file, rows, problems)
    return df, rows, _end_to_start(t), problems


#: EIA's names of the time zones of the ``Local Time`` columns -> IANA zones
EIA_TIME_ZONES = {"Eastern": "America/New_York", "Central": "America/Chicago", "Mountain": "America/Denver",
                  "Pacific": "America/Los_Angeles", "Arizona": "America/Phoenix", "Alaska": "America/Anchorage",
                  "Hawaii": "Pacific/Honolulu", "Atlantic": "America/Halifax"}
#: UTC minus local time [h] accepted for a balancing authority not in ``schema/grids.csv``: EIA-930
#: covers North America (Newfoundland UTC-3:30 .. Hawaii UTC-10, daylight time included)
_NORTH_AMERICA_OFFSETS_H = (2.5, 10.0)


def _hours(x: float) -> str:
    """``'+5 h'``, ``'0 h'``, ``'-3 h'``."""
    return "0 h" if x == 0 else f"{x:+g} h"


def _ranges(rows: np.ndarray, limit: int = 8) -> str:
    """``'1-9, 12, 15-20'`` (at most ``limit`` runs, then ``...``)."""
    rows = np.asarray(rows)
    if rows.size == 0:
        return ""
    cut = np.flatnonzero(np.diff(rows) != 1) + 1
    runs = [(int(r[0]), int(r[-1])) for r in np.split(rows, cut)]
    text = ", ".join(f"{a}" if a == b else f"{a}-{b}" for a, b in runs[:limit])
    return text + (f", ... ({len(runs) - limit} more runs)" if len(runs) > limit else "")


def _zones_of(ba: str) -> list[tuple[str, str]]:
    """(label, IANA zone) candidates of a BA's local time: EIA's reporting zone and ``schema/grids.csv``'s."""
    from powerfirst.schema.tables import _grids

    g = _grids()
    if ba not in g.index:
        return []
    out = []
    eia = g.at[ba, "eia930_time_zone"] if "eia930_time_zone" in g.columns else None
    if isinstance(eia, str) and eia in EIA_TIME_ZONES:
        out.append((f"{eia}, {EIA_TIME_ZONES[eia]}", EIA_TIME_ZONES[eia]))
    tz = g.at[ba, "timezone"]
    if isinstance(tz, str) and tz and all(tz != z for _l, z in out):
        out.append((tz, tz))
    return out


def _utc_offset_h(utc: pd.DatetimeIndex, zone: str) -> np.ndarray:
    """Local minus UTC [h] of each (naive UTC) instant in ``zone``."""
    loc = utc.tz_localize("UTC").tz_convert(zone).tz_localize(None)
    return np.asarray((loc - utc) / pd.Timedelta(hours=1), dtype=float)


def _check_local_time(df: pd.DataFrame, utc: pd.DatetimeIndex, file: str, rows: np.ndarray, problems: list):
    """The file's own ``Local Time at End of Hour`` must agree with its UTC stamps by the BA's offset.

    A UTC column that holds local times (a 4-8 h shift for US balancing
    authorities) is otherwise silently taken for UTC.  The offset found in each
    row (UTC minus local) is compared with the offset of the BA's time zone at
    that instant (EIA's reporting zone or ``schema/grids.csv``'s; either is
    accepted, and at a daylight-saving change the offset of the hours around it
    too); for a BA not in ``schema/grids.csv`` the local time must lie 2.5 to
    10 h behind UTC (EIA-930 covers North America).
    """
    col = "Local Time at End of Hour"
    if col not in df.columns:
        return
    local = _grid_monitor_stamps(df[col])
    unread = np.asarray(local.isna()) & (df[col].str.strip() != "").to_numpy()
    _check_unparsed(problems, file, col, unread, df[col].tolist(), rows)
    found = np.asarray((utc - local) / pd.Timedelta(hours=1), dtype=float)
    both = np.isfinite(found)
    bas = df["Balancing Authority"].str.strip().to_numpy(dtype=object)
    for ba in pd.unique(bas[both]):
        idx = np.flatnonzero(both & (bas == ba))
        t = utc[idx]
        zones = _zones_of(str(ba))
        if zones:
            ok = np.zeros(idx.size, bool)
            first = None
            for _label, zone in zones:
                for shift in (0, -2, 2):
                    exp = -_utc_offset_h(t + pd.Timedelta(hours=shift), zone)
                    if shift == 0 and first is None:
                        first = exp
                    ok |= np.isclose(found[idx], exp)
            expected = first
            where = " or ".join(label for label, _z in zones)
        else:
            lo, hi = _NORTH_AMERICA_OFFSETS_H
            ok = (found[idx] >= lo) & (found[idx] <= hi)
            expected = None
            where = ""
        for off in np.unique(found[idx][~ok]):
            sel = idx[~ok & (found[idx] == off)]
            n = sel.size
            head = (f"'UTC Time at End of Hour' minus '{col}' is {_hours(off)} in {n} row"
                    f"{'s' if n != 1 else ''} (row{'s' if n != 1 else ''} {_ranges(rows[sel])})")
            if expected is not None:
                exp = np.unique(expected[np.isin(idx, sel)])
                want = " or ".join(_hours(e) for e in exp)
                msg = (f"{head}; {ba}'s local time ({where}) is {want.replace('+', '')} behind UTC at these hours, "
                       f"so it should be {want}")
            else:
                msg = (f"{head}; expected local time {lo:g} to {hi:g} h behind UTC (EIA-930 covers North "
                       f"America; {ba} is not in schema/grids.csv)")
            if off == 0:
                msg += ": the UTC column seems to hold local times"
            else:
                msg += ": the UTC column (or the local one) is shifted"
            msg += "; give UTC stamps in the UTC column (EIA's own files do)"
            problems.append(Problem(msg, file=file, row=int(rows[sel[0]]), column="UTC Time at End of Hour",
                                    site=str(ba)))


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
    if path.suffix.lower() in (".yaml", ".yml"):
        import yaml

        text = _read_text(path, "YAML")
        try:
            doc = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f", line {mark.line + 1} column {mark.column + 1}" if mark is not None else ""
            raise DataFormatError(f"{path}{where}: not a readable YAML cassette "
                                  f"({getattr(exc, 'problem', None) or exc})") from None
        except RecursionError:
            raise DataFormatError(f"{path}: YAML nested too deeply to read") from None
        inters = doc.get("interactions") if isinstance(doc, dict) else None
        if not isinstance(inters, list):
            raise DataFormatError(f"{path}: expected a VCR cassette (a mapping with a list 'interactions'), "
                                  f"found {type(doc).__name__}")
        bodies = []
        for k, inter in enumerate(inters, start=1):
            resp = inter.get("response") if isinstance(inter, dict) else None
            body = resp.get("body") if isinstance(resp, dict) else None
            body = body.get("string") if isinstance(body, dict) else None
            if isinstance(body, bytes):
                body = body.decode("utf-8", errors="replace")
            if isinstance(body, str) and body:
                bodies.append((f"{path}#interaction{k}", _json(f"{path}#interaction{k}", body)))
        if not bodies:
            raise DataFormatError(f"{path}: a cassette with no recorded response bodies")
        return bodies
    return [(str(path), _json(path, _read_text(path, "JSON")))]


def _text_column(df: pd.DataFrame, col: str) -> np.ndarray:
    """A text column of a response frame (stripped strings; missing cells as '')."""
    return df[col].map(lambda v: "" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v).strip()
                       ).to_numpy(dtype=object)


def _read_api_v2(path: Path) -> pd.DataFrame:
    out = []
    problems: list[Problem] = []
    for file, doc in _api_v2_bodies(path):
        resp = doc.get("response") if isinstance(doc, dict) else None
        if not isinstance(resp, dict) or not isinstance(resp.get("data"), list):
            raise DataFormatError(f"{file}: expected an EIA API v2 response with response.data, found keys "
                                  f"{list(doc)[:5] if isinstance(doc, dict) else type(doc).__name__}")
        data = resp["data"]
        if not data:
            continue
        not_obj = [i for i, d in enumerate(data, start=1) if not isinstance(d, dict)]
        for i in not_obj[:20]:
            problems.append(Problem(f"expected an object (one hour of one series), found "
                                    f"{type(data[i - 1]).__name__}", file=file, row=i, column="response.data"))
        if not_obj:
            continue
        df = pd.DataFrame(data)
        rows = np.arange(1, len(df) + 1)
        kind = "fromba" if "fromba" in df.columns else "fueltype" if "fueltype" in df.columns else (
            "type" if "type" in df.columns else None)
        if kind is None:
            raise DataFormatError(f"{file}: response rows have neither 'type', 'fueltype' nor 'fromba'")
        need = ("period", "value", "fromba", "toba") if kind == "fromba" else ("period", "value", "respondent")
        missing = [c for c in need if c not in df.columns]
        for c in missing:
            problems.append(Problem("field missing in response.data", file=file, column=c))
        if missing:
            continue
        period = df["period"].astype(str)
        local = resp.get("frequency") == "local-hourly" or period.str.match(r".*T\d\d[+-]\d\d").any()
        if local:
            t = pd.to_datetime(period.str.replace(r"T(\d\d)([+-]\d\d)$", r" \1:00\2:00", regex=True),
                               utc=True, errors="coerce", format="ISO8601")
        else:
            t = pd.to_datetime(period, format="%Y-%m-%dT%H", errors="coerce")
        t = _in_range(t)
        _check_unparsed(problems, file, "period", np.asarray(pd.isna(t)), period.tolist(), rows)
        val, empty, bad = parse_numbers(df["value"])
        _check_unparsed(problems, file, "value", bad, df["value"].tolist(), rows)
        units = set(df["value-units"].dropna().astype(str).str.lower()) if "value-units" in df.columns else set()
        if units - {"megawatthours", "megawatts", "mwh", "mw"}:
            problems.append(Problem(f"value-units {sorted(units)} not understood; expected megawatthours",
                                    file=file, column="value-units"))
        for c in need[2:]:
            blank = np.flatnonzero(_text_column(df, c) == "")
            for i in blank[:20]:
                problems.append(Problem("empty; expected a balancing-authority code", file=file,
                                        row=int(rows[i]), column=c))
            if blank.size > 20:
                problems.append(Problem(f"... {blank.size - 20} more empty cells", file=file, column=c))
        if kind == "type":
            types = _text_column(df, "type")
            unknown = sorted(set(types) - set(_TYPE_VARIABLE))
            if unknown:
                problems.append(Problem(f"unknown type codes {unknown}; expected D, DF, NG or TI",
                                        file=file, column="type"))
        if problems:
            continue
        start = _end_to_start(_naive_utc(t))
        if kind == "fromba":
            out.append(make_records(_text_column(df, "fromba"), "interchange", _text_column(df, "toba"), start,
                                    val, empty, file, rows))
        elif kind == "fueltype":
            out.append(make_records(_text_column(df, "respondent"), "generation", _text_column(df, "fueltype"),
                                    start, val, empty, file, rows))
        else:
            out.append(make_records(_text_column(df, "respondent"),
                                    pd.Series(types).map(_TYPE_VARIABLE).to_numpy(dtype=object), "", start, val,
                                    empty, file, rows))
    if problems:
        raise ValidationError(problems, what=str(path))
    return concat_records(out)


_SERIES_RE = re.compile(r"^EBA\.(?P<ba>[A-Z0-9_]+)-(?P<other>[A-Z0-9_]+)\.(?P<rest>[A-Z.]+?)\.(?P<freq>HL|H)$")


def _parse_series_id(sid) -> tuple[str, str, str, str]:
    """(ba, variable, key, frequency) of an EBA series id."""
    if not isinstance(sid, str):
        raise DataFormatError(f"series id {sid!r} is not text; expected EBA.<BA>-<BA|ALL>.<TYPE>[.<FUEL>].<H|HL>")
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
    return _in_range(pd.to_datetime(iso, utc=True, errors="coerce", format="ISO8601"))


def _read_eba_json(path: Path) -> pd.DataFrame:
    text = _read_text(path, "JSON")
    objs: list[tuple[int, dict]] = []
    try:
        doc = json.loads(text)
        items = doc if isinstance(doc, list) else [doc]
        objs = [(1, o) for o in items]
    except RecursionError:
        raise DataFormatError(f"{path}: JSON nested too deeply to read") from None
    except json.JSONDecodeError:
        for ln, line in enumerate(text.splitlines(), start=1):  # EBA.txt: one object per line
            if line.strip():
                objs.append((ln, _json(f"{path}, line {ln} (one EBA object per line)", line)))
    out, problems, file = [], [], str(path)
    for ln, obj in objs:
        if not isinstance(obj, dict) or "series_id" not in obj:
            continue  # category objects of EBA.txt
        try:
            ba, var, key, _freq = _parse_series_id(obj["series_id"])
        except DataFormatError as exc:
            problems.append(Problem(str(exc), file=file, line=ln, column="series_id"))
            continue
        data = obj.get("data") or []
        if not isinstance(data, list):
            problems.append(Problem(f"'data' is {type(data).__name__}; expected a list of [stamp, value] pairs",
                                    file=f"{file} ({obj['series_id']})", column="data"))
            continue
        if not data:
            continue
        where = f"{file} ({obj['series_id']})"
        units = obj.get("units")
        if isinstance(units, str) and units.strip().lower() not in ("megawatthours", "megawatts", "mwh", "mw"):
            problems.append(Problem(f"units {units!r} not understood; expected megawatthours", file=where,
                                    line=ln, column="units"))
            continue
        pair = np.array([isinstance(d, (list, tuple)) and len(d) >= 1 for d in data])
        rows = np.arange(1, len(data) + 1)
        _check_unparsed(problems, where, "data[]", ~pair, data, rows)
        stamps = pd.Series([d[0] if ok else None for d, ok in zip(data, pair, strict=True)], dtype=object)
        t = _parse_eba_stamps(stamps)
        _check_unparsed(problems, where, "data[][0]", np.asarray(t.isna()) & pair, stamps.tolist(), rows)
        values = pd.Series([d[1] if ok and len(d) > 1 else None for d, ok in zip(data, pair, strict=True)],
                           dtype=object)
        val, empty, bad = parse_numbers(values)
        _check_unparsed(problems, where, "data[][1]", bad, values.tolist(), rows)
        out.append(make_records(ba, var, key, _end_to_start(t), val, empty, where, rows))
    if problems:
        raise ValidationError(problems, what=file)
    if not out:
        raise DataFormatError(f"{path}: no EBA series objects with data")
    return concat_records(out)


def _read_eba_wide_csv(path: Path) -> pd.DataFrame:
    file = str(path)
    df = _csv_frame(path, what="a wide table of EBA series (first column the end-of-hour UTC stamps, one "
                               "column per series id)", index_col=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "could not infer format"
        t = _in_range(pd.to_datetime(df.index.to_series(), utc=True, errors="coerce", format="mixed"))
    rows = np.arange(1, len(df) + 1)
    problems: list[Problem] = []
    _check_unparsed(problems, file, str(df.index.name or "index"), np.asarray(t.isna()), list(df.index), rows)
    start = _end_to_start(t)
    out = []
    for col in df.columns:
        try:
            ba, var, key, _ = _parse_series_id(col)
        except DataFormatError as exc:
            problems.append(Problem(f"column name is not an EBA series id: {exc}", file=file, column=str(col)))
            continue
        val, empty, bad = parse_numbers(df[col])
        _check_unparsed(problems, file, col, bad, df[col].tolist(), rows)
        out.append(make_records(ba, var, key, start, val, empty, file, rows))
    if problems:
        raise ValidationError(problems, what=file)
    return concat_records(out)


def _read_ruggles_file(path: Path, ba: str | None = None) -> pd.DataFrame:
    """One Ruggles et al. file → records (raw demand, cleaned demand, category, forecast)."""
    file = str(path)
    df = _csv_frame(path, what="a Ruggles et al. release file (date_time, then demand columns in MW)")
    df.columns = [c.strip() for c in df.columns]
    tcol = df.columns[0]
    t = _in_range(pd.to_datetime(df[tcol], format="%Y-%m-%d %H:%M:%S", errors="coerce"))
    rows = np.arange(1, len(df) + 1)
    problems: list[Problem] = []
    _check_unparsed(problems, file, tcol, np.asarray(t.isna()), df[tcol].tolist(), rows)
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
        try:
            df = pd.read_parquet(path).reset_index()
        except Exception as exc:  # noqa: BLE001 - pyarrow raises many types; re-raised located
            raise DataFormatError(f"{path}: not a readable Parquet file ({type(exc).__name__}: "
                                  f"{str(exc)[:200]})") from None
        df = df.astype({c: object for c in df.columns})
    else:
        df = _csv_frame(path, what="a table with columns time, ba, demand_mw")
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
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "could not infer format": parsed one by one
        t = pd.to_datetime(df[tcol], format=fmt, errors="coerce", utc=tz is None)
    try:
        t = _in_range(t)
    except (TypeError, ValueError):  # local stamps with different UTC offsets: not local wall-clock hours
        problems.append(Problem("time stamps carry different UTC offsets; with tz= give local wall-clock times "
                                "without offsets (or give UTC times and no tz=)", file=file, column=tcol))
        raise ValidationError(problems, what=file) from None
    _check_unparsed(problems, file, tcol, np.asarray(pd.isna(t)), df[tcol].tolist(), rows)
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
    doc = _json(path, _read_text(path, "JSON"))
    try:
        items = doc["HourlySystemLoads"]["HourlySystemLoad"]
    except (KeyError, TypeError, IndexError):
        raise DataFormatError(f"{path}: expected HourlySystemLoads.HourlySystemLoad (ISO-NE hourlysysload)") from None
    if isinstance(items, dict):
        items = [items]
    if not isinstance(items, list) or not items or not all(isinstance(i, dict) for i in items):
        raise DataFormatError(f"{path}: HourlySystemLoads.HourlySystemLoad holds no hourly objects (found "
                              f"{type(items).__name__}); expected a list of objects with BeginDate and Load")
    df = pd.DataFrame(items)
    rows = np.arange(1, len(df) + 1)
    problems: list[Problem] = [Problem("field missing in HourlySystemLoad", file=file, column=c)
                               for c in ("BeginDate", "Load") if c not in df.columns]
    if problems:
        raise ValidationError(problems, what=file)
    begin = df["BeginDate"].astype(str)
    t = _in_range(pd.to_datetime(begin, utc=True, errors="coerce", format="ISO8601"))
    _check_unparsed(problems, file, "BeginDate", np.asarray(t.isna()), begin.tolist(), rows)
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


#: demand variables whose size is checked against the BA's known peak
_DEMAND_VARIABLES = ("demand", "demand_cleaned", "demand_cleaned_subregion_sum", "demand_forecast")
#: a demand series whose robust peak is below 1/MAGNITUDE_FACTOR or whose median is above MAGNITUDE_FACTOR
#: times the BA's known peak is refused.  Real series stay far inside: a BA's demand rarely falls below a
#: third of its peak, and peaks grow by a few per cent a year; a unit mistake is a factor of 1,000.
MAGNITUDE_FACTOR = 20.0


def _unit_guess(ratio: float, small: bool) -> str:
    """The likely unit mistake of a series ``ratio`` times too small (``small``) or too large."""
    if 200 <= ratio <= 5000:
        return "values look like GW; expected MW (multiply by 1,000)" if small else \
            "values look like kW; expected MW (divide by 1,000)"
    if 2e5 <= ratio <= 5e6:
        return "values look like TW; expected MW" if small else "values look like W; expected MW"
    return f"values are about {ratio:,.0f} times too {'small' if small else 'large'} for MW; expected MW"


def check_demand_magnitude(rec: pd.DataFrame, factor: float = MAGNITUDE_FACTOR) -> list[Problem]:
    """Problems of demand series whose size does not fit the BA's known peak (a unit mistake).

    For every (file, balancing authority, demand variable) whose BA has a known
    peak in ``schema/grids.csv`` (``peak_demand_mw``, see
    :func:`powerfirst.schema.tables.grid_peaks`), the robust peak of the
    positive reported values (their 99th percentile) must be at least
    ``peak / factor`` and their median at most ``peak * factor``.  Percentiles,
    not the maximum, so that a single spike (the 2,147,480,000 MW of PJM's raw
    file) or a few zeros do not decide.  A file in GW instead of MW is 1,000
    times too small and is refused naming the BA, the file and the likely unit.
    """
    from powerfirst.schema.tables import _grid_peaks

    peaks = _grid_peaks()
    if rec.empty or not peaks:
        return []
    sub = rec[rec["variable"].isin(_DEMAND_VARIABLES) & ~rec["empty"].to_numpy(bool)]
    sub = sub[sub["ba"].isin(list(peaks)) & (sub["value"] > 0)]
    problems = []
    for (file, ba, var), g in sub.groupby(["file", "ba", "variable"], observed=True, sort=False):
        v = g["value"].to_numpy(float)
        v = v[np.isfinite(v)]
        if v.size == 0:
            continue
        peak, source = peaks[str(ba)]
        p99, med = float(np.percentile(v, 99)), float(np.median(v))
        label = VARIABLE_META.get(str(var), (str(var).replace("_", " "),))[0] if var in VARIABLE_META else \
            str(var).replace("_", " ")
        src = source.split(";")[0] if source else "schema/grids.csv"
        if p99 < peak / factor:
            msg = (f"{label} of {ba} too small: its robust peak (99th percentile of {v.size:,} hourly values) is "
                   f"{p99:,.4g} MW, {peak / p99:,.0f} times below {ba}'s known peak of {peak:,.0f} MW ({src}); "
                   f"{_unit_guess(peak / p99, True)}")
        elif med > peak * factor:
            msg = (f"{label} of {ba} too large: its median ({v.size:,} hourly values) is {med:,.4g} MW, "
                   f"{med / peak:,.0f} times {ba}'s known peak of {peak:,.0f} MW ({src}); "
                   f"{_unit_guess(med / peak, False)}")
        else:
            continue
        msg += " (if the values really are MW, pass check_magnitude=False)"
        problems.append(Problem(msg, file=str(file), variable=str(var), site=str(ba)))
    return problems


def read_records(path, format: str = "auto", *, check_magnitude: bool = True, **kwargs) -> pd.DataFrame:
    """Read one file into long records (ba, variable, key, time, value, empty, file, row).

    ``time`` is naive UTC, hour-beginning; ``empty`` marks cells present but empty.
    Demand whose size does not fit the BA's known peak (a file in GW or kW) is
    refused (:func:`check_demand_magnitude`) unless ``check_magnitude=False``.

    Raises
    ------
    FileNotFoundError
        The file does not exist.
    DataFormatError
        The file is not in a readable format (named, with the line or byte offset where it helps).
    ValidationError
        Every problem found in its rows, with file, row and column.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"EIA-930 file not found: {path}")
    if path.is_dir():
        raise DataFormatError(f"{path}: a folder, not a file; pass the files in it (read_eia930_records reads "
                              "folders)")
    fmt = detect_format(path) if format == "auto" else format
    if fmt not in _READERS:
        raise ValueError(f"unknown format {format!r}; expected 'auto' or one of {', '.join(FORMATS)}")
    reader = _READERS[fmt]
    rec = reader(path, **kwargs) if fmt == "tidy" else reader(path)
    if check_magnitude:
        problems = check_demand_magnitude(rec)
        if problems:
            raise ValidationError(problems, what=str(path))
    return rec


def read_eia930_records(paths, *, format: str = "auto", bas: Sequence[str] | None = None, start=None, end=None,
                        check_magnitude: bool = True, **tidy_kwargs) -> tuple[pd.DataFrame, list[str]]:
    """Read one or more EIA-930 files (any supported format) into long records.

    Parameters are those of :func:`powerfirst.cubes.grid.read_eia930`, which assembles the
    records into the grid cube, and ``check_magnitude`` (see :func:`read_records`).  Every
    file is read before anything is raised: the problems of all files come in one error (a
    single unreadable file raises its own :class:`~powerfirst.errors.DataFormatError`).

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
    failed: list[PowerfirstError] = []
    for f in files:
        try:
            fmt = detect_format(f) if format == "auto" else format
            r = read_records(f, format=fmt, check_magnitude=check_magnitude,
                             **(tidy_kwargs if fmt == "tidy" else {}))
        except (ValidationError, DataFormatError) as exc:
            failed.append(exc)
            continue
        d = r.attrs.get("dropped")
        if d is not None and len(d):
            dropped.append(d)
        recs.append(r)
    if len(failed) == 1:
        raise failed[0]
    if failed:
        problems = [p for exc in failed for p in (exc.problems if isinstance(exc, ValidationError)
                                                  else [Problem(str(exc))])]
        raise ValidationError(problems, what=f"{len(failed)} of {len(files)} EIA-930 files")
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
