"""Siting tables: the balancing authority of a location and the social licence in force there.

Two sourced tables in ``data/siting`` (see ``data/siting/README.md``, sections "BA lookup" and
"Social licence"):

* ``ba_by_state.csv`` and ``ba_by_county.csv`` map a US state, or a county of a split state, to
  the EIA-930 balancing authority (BA) serving most of its load, with a confidence [1] (the
  approximate share of that load in the BA).  :func:`read_ba_lookup` checks them and
  :func:`ba_from_location` looks points up: county first, then state, then (outside the US) a
  country that is a single bidding zone in ``schema/grids.csv``; anything else is flagged
  ``unknown`` with an empty BA, never guessed.
* ``social_licence.csv`` lists moratoria, grid restrictions, zoning rules, taxes and local
  opposition affecting new data centres, each with a severity [1] and dates.
  :func:`read_social_licence` checks it and :func:`social_licence_at` gives, per point, the
  highest severity of the rows in force on a date, whether a moratorium excludes the point and
  which rows matched.

Every reader collects all the problems of a file (with file, row, line and column) before it
raises :class:`~powerfirst.errors.ValidationError`.  Lines starting with ``#`` are comments.
"""

from __future__ import annotations

import calendar
import csv
import datetime as _dt
import io
import re
from pathlib import Path

import numpy as np
import pandas as pd

from powerfirst.errors import DataFormatError, Problem, ValidationError
from powerfirst.paths import data_dir

__all__ = ["read_ba_lookup", "ba_from_location", "read_social_licence", "social_licence_at",
           "STATE_COLUMNS", "COUNTY_COLUMNS", "SOCIAL_COLUMNS", "SOCIAL_KINDS", "SOCIAL_STATUSES",
           "country_zones", "US_STATE_FIPS"]

STATE_COLUMNS = ["state", "ba", "confidence", "other_bas", "source", "note"]
COUNTY_COLUMNS = ["county_fips", "county", "state", "ba", "confidence", "source", "note"]
SOCIAL_COLUMNS = ["jurisdiction", "country", "state", "county_fips", "city", "lat", "lon", "radius_km",
                  "kind", "severity", "exclude", "start_date", "end_date", "status", "summary", "source"]
_OPTIONAL = {"state": {"other_bas", "note"}, "county": {"note"},
             "social": {"state", "county_fips", "city", "radius_km", "end_date"}}

SOCIAL_KINDS = ("moratorium", "grid_restriction", "zoning", "opposition", "tax_or_fee")
SOCIAL_STATUSES = ("active", "lifted", "expired")

#: USPS code -> 2-digit state FIPS code: the 50 states and DC (the lookup tables cover these).
US_STATE_FIPS = {
    "AL": "01", "AK": "02", "AZ": "04", "AR": "05", "CA": "06", "CO": "08", "CT": "09", "DE": "10",
    "DC": "11", "FL": "12", "GA": "13", "HI": "15", "ID": "16", "IL": "17", "IN": "18", "IA": "19",
    "KS": "20", "KY": "21", "LA": "22", "ME": "23", "MD": "24", "MA": "25", "MI": "26", "MN": "27",
    "MS": "28", "MO": "29", "MT": "30", "NE": "31", "NV": "32", "NH": "33", "NJ": "34", "NM": "35",
    "NY": "36", "NC": "37", "ND": "38", "OH": "39", "OK": "40", "OR": "41", "PA": "42", "RI": "44",
    "SC": "45", "SD": "46", "TN": "47", "TX": "48", "UT": "49", "VT": "50", "VA": "51", "WA": "53",
    "WV": "54", "WI": "55", "WY": "56"}
# territories: accepted as input locations (no BA in the project: looked up as "unknown")
_TERRITORY_FIPS = {"AS": "60", "GU": "66", "MP": "69", "PR": "72", "VI": "78"}
_ALL_FIPS = {**US_STATE_FIPS, **_TERRITORY_FIPS}
_FIPS_STATE = {v: k for k, v in _ALL_FIPS.items()}

#: Countries that are one bidding zone but not the ``country`` of that zone's row in grids.csv.
#: Luxembourg is part of the Germany-Luxembourg bidding zone (DE-LU, named so in grids.csv).
_EXTRA_COUNTRY_ZONES = {"LU": "DE-LU"}
#: Confidence below 1 for a country whose territory is not all in its zone: Northern Ireland is
#: part of country GB but in the all-island Single Electricity Market (IE-SEM); a judgement
#: (Northern Ireland is a small share of UK demand), labelled as an approximation in the README.
_COUNTRY_CONFIDENCE = {"GB": 0.97}
#: Countries with several bidding zones in reality (grids.csv holds only some of them, e.g.
#: IT-NORD, SE1/SE3, NO1, DK1/DK2): no zone is chosen for a whole country.
_MULTI_ZONE_COUNTRIES = frozenset({"IT", "SE", "NO", "DK"})

_FIPS = re.compile(r"[0-9]{5}")
_NUMBER = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?")
_DATE = re.compile(r"([0-9]{4})(?:-([0-9]{2})(?:-([0-9]{2}))?)?")
_SOURCE_DATE = re.compile(r"(?<![0-9])(19[0-9]{2}|20[0-9]{2})-[0-9]{2}(?![0-9])")
_SOURCE_YEAR = re.compile(r"(?<![0-9])(19[0-9]{2}|20[0-9]{2})(?![0-9])")
_MISSING = {"", "nan", "NaN", "None", "<NA>"}


def siting_dir() -> Path:
    """The folder of the siting tables (``data/siting`` of the embedded data)."""
    return data_dir() / "siting"


# ----------------------------------------------------------------------------- reading CSV files

def _read_csv(path: Path, columns: list[str], optional: set[str], problems: list) -> pd.DataFrame | None:
    """A CSV as strings (``#`` lines skipped), the line of each row in ``attrs['lines']``; None if unusable."""
    from powerfirst.io.sites import _decode

    file = str(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        problems.append(Problem(f"cannot be read ({exc.strerror or exc})", file=file))
        return None
    try:
        text, _enc = _decode(path, data, "CSV")
    except DataFormatError as exc:
        problems.append(Problem(str(exc).removeprefix(f"{path}: ").removeprefix(f"{path}, "), file=file))
        return None
    reader = csv.reader(io.StringIO(text, newline=""))
    header, rows, lines = None, [], []
    start = 1
    try:
        for rec in reader:
            first = rec[0].lstrip() if rec else ""
            if rec and any(c.strip() for c in rec) and not first.startswith("#"):
                if header is None:
                    header = [c.strip() for c in rec]
                elif len(rec) != len(header):
                    problems.append(Problem(f"expected {len(header)} fields as in the header, found {len(rec)}",
                                            file=file, row=len(rows) + 1, line=start))
                    rows.append(None)
                    lines.append(start)
                else:
                    rows.append([c.strip() for c in rec])
                    lines.append(start)
            start = reader.line_num + 1
    except csv.Error as exc:
        problems.append(Problem(f"not readable as CSV ({exc})", file=file, line=start))
        return None
    if header is None:
        problems.append(Problem(f"no header row; expected the columns {', '.join(columns)}", file=file))
        return None
    missing = [c for c in columns if c not in header and c not in optional]
    unknown = [c for c in header if c not in columns]
    dup = sorted({c for c in header if header.count(c) > 1})
    for c in missing:
        problems.append(Problem(f"required column missing (the columns are {', '.join(columns)})",
                                file=file, line=1, column=c))
    for c in unknown:
        problems.append(Problem(f"unknown column (expected only {', '.join(columns)})", file=file, line=1,
                                column=c or "(empty)"))
    for c in dup:
        problems.append(Problem("column appears more than once in the header", file=file, line=1, column=c))
    if not rows:
        problems.append(Problem("a header and no data rows", file=file))
    if missing or unknown or dup or not rows or any(r is None for r in rows):
        return None
    df = pd.DataFrame(rows, columns=header, dtype=object)
    for c in columns:
        if c not in df:
            df[c] = ""
    df = df[columns]
    df.attrs["lines"] = lines
    df.attrs["file"] = file
    return df


class _Checker:
    """Collects problems about the cells of one table, naming file, row, line and column."""

    def __init__(self, df: pd.DataFrame, problems: list):
        self.df, self.problems = df, problems
        self.file, self.lines = df.attrs["file"], df.attrs["lines"]

    def add(self, i: int, column: str | None, message: str) -> None:
        self.problems.append(Problem(message, file=self.file, row=i + 1, line=self.lines[i], column=column))

    def required(self, i: int, column: str, what: str) -> str:
        v = self.df.at[i, column]
        if v == "":
            self.add(i, column, f"empty; expected {what}")
        return v

    def number(self, i: int, column: str, low: float, high: float, *, low_open: bool = False,
               what: str = "a number") -> float:
        v = self.df.at[i, column]
        lo = "(" if low_open else "["
        if not _NUMBER.fullmatch(v):
            self.add(i, column, f"expected {what} in {lo}{low}, {high}], found {v!r}")
            return np.nan
        x = float(v)
        if not np.isfinite(x) or x > high or x < low or (low_open and x == low):
            self.add(i, column, f"expected {what} in {lo}{low}, {high}], found {v}")
            return np.nan
        return x

    def duplicates(self, keys: list[str], what: str) -> None:
        seen: dict[tuple, int] = {}
        for i in range(len(self.df)):
            key = tuple(self.df.at[i, k] for k in keys)
            if any(k == "" for k in key):
                continue
            if key in seen:
                j = seen[key]
                self.add(i, keys[0], f"duplicate {what} {', '.join(key)!r}: already given in row {j + 1} "
                                     f"(line {self.lines[j]}); give each once")
            else:
                seen[key] = i


def _us_ba_codes() -> set[str]:
    from powerfirst.schema.tables import _grids

    g = _grids()
    return set(g.index[(g["country"] == "US") & (g["kind"] == "ba")])


def _check_ba(ck: _Checker, i: int, column: str, code: str, codes: set[str]) -> None:
    if code and code not in codes:
        ck.add(i, column, f"unknown balancing authority {code!r}: expected an EIA-930 code of a US BA in "
                          f"schema/grids.csv (e.g. {', '.join(sorted(codes)[:6])}, ...)")


def _check_state(ck: _Checker, i: int, code: str) -> None:
    if code and code not in US_STATE_FIPS:
        ck.add(i, "state", f"unknown state {code!r}: expected a USPS code of the 50 states or DC "
                           "(upper case, e.g. VA)")


_BA_CACHE: dict = {}


def _file_key(p: Path) -> tuple:
    try:
        st = p.stat()
        return str(p.resolve()), st.st_mtime_ns, st.st_size
    except OSError:
        return str(p), None, None


def read_ba_lookup(state_path=None, county_path=None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Read and check the state and county balancing-authority lookup tables.

    Parameters
    ----------
    state_path : path, optional
        The state table (default: ``data/siting/ba_by_state.csv``).
    county_path : path, optional
        The county-override table (default: ``data/siting/ba_by_county.csv``).

    Returns
    -------
    state_table : pandas.DataFrame
        Indexed by ``state`` (USPS code): ``ba`` (EIA-930 code), ``confidence`` [1] (float),
        ``other_bas`` (";"-separated codes), ``source``, ``note``.
    county_table : pandas.DataFrame
        Indexed by ``county_fips`` (5-digit string): ``county``, ``state``, ``ba``,
        ``confidence`` [1], ``source``, ``note``.

    Raises
    ------
    ValidationError
        Listing every problem of both files, each with file, row (line) and column: a missing or
        unknown column, a BA not in ``schema/grids.csv`` (US BAs), a confidence outside (0, 1],
        a FIPS code not of 5 digits or not in its state, an unknown state, an empty source, a
        state or county given twice.

    Notes
    -----
    The confidence of a row is the approximate share of the state's (county's) load in the BA;
    how it was estimated is in ``data/siting/README.md`` ("BA lookup").  The default tables are
    read once and cached until a file changes.
    """
    sp = Path(state_path) if state_path is not None else siting_dir() / "ba_by_state.csv"
    cp = Path(county_path) if county_path is not None else siting_dir() / "ba_by_county.csv"
    key = (_file_key(sp), _file_key(cp))
    if key in _BA_CACHE:
        st, co = _BA_CACHE[key]
        return st.copy(), co.copy()
    problems: list[Problem] = []
    codes = _us_ba_codes()
    st = _read_csv(sp, STATE_COLUMNS, _OPTIONAL["state"], problems)
    if st is not None:
        ck = _Checker(st, problems)
        conf = []
        for i in range(len(st)):
            s = ck.required(i, "state", "a USPS state code (e.g. VA)")
            _check_state(ck, i, s)
            ba = ck.required(i, "ba", "an EIA-930 balancing-authority code")
            _check_ba(ck, i, "ba", ba, codes)
            conf.append(ck.number(i, "confidence", 0, 1, low_open=True, what="a share"))
            others = [o.strip() for o in st.at[i, "other_bas"].split(";")] if st.at[i, "other_bas"] else []
            for o in others:
                if o == "":
                    ck.add(i, "other_bas", "an empty code between ';' separators")
                elif o == ba:
                    ck.add(i, "other_bas", f"{o!r} is the row's main BA; list only the other BAs")
                else:
                    _check_ba(ck, i, "other_bas", o, codes)
            if len(set(others)) != len(others):
                ck.add(i, "other_bas", "a BA listed more than once")
            ck.required(i, "source", "the source (title, publisher, year, URL)")
        ck.duplicates(["state"], "state")
        st["confidence"] = np.array(conf, float)
    co = _read_csv(cp, COUNTY_COLUMNS, _OPTIONAL["county"], problems)
    if co is not None:
        ck = _Checker(co, problems)
        conf = []
        for i in range(len(co)):
            f = ck.required(i, "county_fips", "a 5-digit county FIPS code (e.g. 17031)")
            s = ck.required(i, "state", "a USPS state code (e.g. IL)")
            _check_state(ck, i, s)
            if f and not _FIPS.fullmatch(f):
                ck.add(i, "county_fips", f"expected a county FIPS code of 5 digits (state + county, e.g. 17031; "
                                         f"keep leading zeros), found {f!r}")
            elif f and s in US_STATE_FIPS and f[:2] != US_STATE_FIPS[s]:
                ck.add(i, "county_fips", f"FIPS {f} is not in {s} (whose counties start with {US_STATE_FIPS[s]})")
            ck.required(i, "county", "the county name")
            ba = ck.required(i, "ba", "an EIA-930 balancing-authority code")
            _check_ba(ck, i, "ba", ba, codes)
            conf.append(ck.number(i, "confidence", 0, 1, low_open=True, what="a share"))
            ck.required(i, "source", "the source (title, publisher, year, URL)")
        ck.duplicates(["county_fips"], "county")
        co["confidence"] = np.array(conf, float)
    if problems:
        raise ValidationError(problems, what="the BA lookup tables")
    st = st.set_index("state")
    co = co.set_index("county_fips")
    _BA_CACHE.clear()
    _BA_CACHE[key] = (st, co)
    return st.copy(), co.copy()


# ----------------------------------------------------------------------------- BA from location

def _as_text(x, name: str) -> np.ndarray:
    """Strings of an array-like (missing -> ""), stripped, flattened."""
    a = np.asarray(x, dtype=object).ravel()
    out = np.empty(a.shape, dtype=object)
    for k, v in enumerate(a):
        if v is None or (isinstance(v, float) and np.isnan(v)):
            out[k] = ""
        else:
            s = str(v).strip()
            out[k] = "" if s in _MISSING else s
    return out


def _fips_text(x) -> np.ndarray:
    """County FIPS codes as strings; integers (and integral floats) are zero-padded to 5 digits."""
    a = np.asarray(x, dtype=object).ravel()
    out = np.empty(a.shape, dtype=object)
    for k, v in enumerate(a):
        if isinstance(v, (bool, np.bool_)):
            out[k] = str(v)
        elif isinstance(v, (int, np.integer)):
            out[k] = f"{int(v):05d}" if 0 <= int(v) < 100000 else str(v)
        elif isinstance(v, (float, np.floating)):
            out[k] = "" if np.isnan(v) else (f"{int(v):05d}" if float(v).is_integer() and 0 <= v < 1e5 else str(v))
        else:
            out[k] = _as_text([v], "county_fips")[0]
    return out


def _broadcast(what: str, **arrays) -> dict[str, np.ndarray]:
    """Arrays (after flattening) broadcast to one length: each of length 1 or n."""
    n = max(len(a) for a in arrays.values())
    out = {}
    bad = []
    for k, a in arrays.items():
        if len(a) == n:
            out[k] = a
        elif len(a) == 1:
            out[k] = np.repeat(a, n)
        else:
            bad.append(Problem(f"expected {n} values (or one for all points), found {len(a)}", column=k))
    if bad:
        raise ValidationError(bad, what=what)
    return out


def _check_locations(what: str, state, fips, country) -> list[Problem]:
    """Format problems of location inputs (upper-cased codes), one per bad value (at most 20 each)."""
    problems: list[Problem] = []

    def add(column, idx, message):
        for i in idx[:20]:
            problems.append(Problem(message(i), row=int(i) + 1, column=column))
        if len(idx) > 20:
            problems.append(Problem(f"... and {len(idx) - 20} more such values", column=column))

    bad = np.flatnonzero([c != "" and not re.fullmatch(r"[A-Z]{2}", c) for c in country])
    add("country", bad, lambda i: f"expected an ISO 3166-1 alpha-2 code (e.g. US, DE) or empty, found {country[i]!r}")
    us = (country == "US") | (country == "")
    bad = np.flatnonzero([u and s != "" and s not in _ALL_FIPS for u, s in zip(us, state, strict=True)])
    add("state", bad, lambda i: f"expected a USPS state code (e.g. VA) for a US location, found {state[i]!r}")
    bad = np.flatnonzero([f != "" and not _FIPS.fullmatch(f) for f in fips])
    add("county_fips", bad, lambda i: f"expected a county FIPS code of 5 digits (e.g. 51107) or empty, "
                                      f"found {fips[i]!r}")
    bad = np.flatnonzero([_FIPS.fullmatch(f) is not None and s in _ALL_FIPS and f[:2] != _ALL_FIPS[s]
                          for f, s in zip(fips, state, strict=True)])
    add("county_fips", bad, lambda i: f"county {fips[i]} is not in state {state[i]} (whose counties start with "
                                      f"{_ALL_FIPS[state[i]]})")
    bad = np.flatnonzero([f != "" and c not in ("", "US") and c not in _TERRITORY_FIPS
                          for f, c in zip(fips, country, strict=True)])
    add("county_fips", bad, lambda i: f"a US county FIPS code ({fips[i]}) given for country {country[i]}")
    return problems


def _country_zones() -> dict[str, tuple[str, float]]:
    """Country -> (bidding zone, confidence) for countries that are one bidding zone in grids.csv."""
    from powerfirst.schema.tables import _grids

    g = _grids()
    z = g[g["kind"] == "bidding_zone"]
    out = {}
    for c, codes in z.groupby("country").groups.items():
        if len(codes) == 1 and c not in _MULTI_ZONE_COUNTRIES:
            out[str(c)] = (str(codes[0]), _COUNTRY_CONFIDENCE.get(str(c), 1.0))
    for c, code in _EXTRA_COUNTRY_ZONES.items():
        if code in z.index:
            out[c] = (code, _COUNTRY_CONFIDENCE.get(c, 1.0))
    return out


def country_zones() -> dict[str, tuple[str, float]]:
    """Countries looked up as a whole: ISO alpha-2 code -> (bidding-zone code, confidence [1]).

    The countries that are one bidding zone in ``schema/grids.csv`` (kind ``bidding_zone``),
    less those with several zones in reality (IT, SE, NO, DK), plus LU (in DE-LU).
    """
    return _country_zones()


def ba_from_location(state, county_fips, country, *, tables=None) -> pd.DataFrame:
    """Balancing authority (or bidding zone) of locations, from their county, state or country.

    Parameters
    ----------
    state : str or array_like of str
        USPS state codes ("VA"); empty (or None/NaN) where unknown or outside the US.
    county_fips : str, int or array_like
        5-digit county FIPS codes ("51107"; integers are zero-padded, 1001 -> "01001"); empty
        where unknown or outside the US.
    country : str or array_like of str
        ISO 3166-1 alpha-2 codes ("US", "DE"); empty where unknown (a location with a state or
        county and no country is taken as US).
    tables : tuple of DataFrame, optional
        ``(state_table, county_table)`` as returned by :func:`read_ba_lookup` (default: the
        embedded tables).

    Returns
    -------
    pandas.DataFrame
        One row per location (inputs of length 1 apply to all; others must share one length),
        in input order: ``ba`` (EIA-930 or bidding-zone code of ``schema/grids.csv``; "" when
        unknown), ``ba_confidence`` [1] (approximate share of the area's load in that BA; 0.0
        when unknown), ``ba_method`` ("county", "state", "country" or "unknown").

    Raises
    ------
    ValidationError
        A malformed code (country not two letters, state not a USPS code for a US location,
        FIPS not of 5 digits), a county not in its state, a US county for another country, or
        inputs of different lengths; each problem names the input column and the 1-based row.

    Notes
    -----
    Order: a county of ``ba_by_county.csv``; else the state (given, or from the county's first
    two FIPS digits) in ``ba_by_state.csv``; else, outside the US, a country that is a single
    bidding zone (confidence 1.0, GB 0.97 for Northern Ireland in the all-island market; LU is
    in DE-LU).  Alaska, Hawaii, US territories, countries with several bidding zones (IT, SE,
    NO, DK) and countries outside the project's grids get ``ba = ""`` and ``unknown``: flagged,
    never guessed.
    """
    st_tab, co_tab = tables if tables is not None else read_ba_lookup()
    a = _broadcast("ba_from_location", state=_as_text(state, "state"), county_fips=_fips_text(county_fips),
                   country=_as_text(country, "country"))
    s = np.array([v.upper() for v in a["state"]], dtype=object)
    c = np.array([v.upper() for v in a["country"]], dtype=object)
    f = a["county_fips"]
    problems = _check_locations("ba_from_location", s, f, c)
    if problems:
        raise ValidationError(problems, what="ba_from_location")
    n = len(s)
    ba = np.full(n, "", dtype=object)
    conf = np.zeros(n)
    method = np.full(n, "unknown", dtype=object)
    us = (c == "US") | ((c == "") & ((s != "") | (f != "")))
    # county
    hit = us & np.isin(f, co_tab.index.to_numpy())
    if hit.any():
        rows = co_tab.loc[f[hit]]
        ba[hit], conf[hit], method[hit] = rows["ba"].to_numpy(), rows["confidence"].to_numpy(float), "county"
    # state (given, else from the county FIPS)
    s_eff = np.where(s != "", s, np.array([_FIPS_STATE.get(v[:2], "") if v else "" for v in f], dtype=object))
    hit2 = us & ~hit & np.isin(s_eff, st_tab.index.to_numpy())
    if hit2.any():
        rows = st_tab.loc[s_eff[hit2]]
        ba[hit2], conf[hit2], method[hit2] = rows["ba"].to_numpy(), rows["confidence"].to_numpy(float), "state"
    # country (single bidding zone)
    zones = _country_zones()
    for k in np.flatnonzero(~us & (c != "")):
        z = zones.get(c[k])
        if z is not None:
            ba[k], conf[k], method[k] = z[0], z[1], "country"
    return pd.DataFrame({"ba": ba.astype(str), "ba_confidence": conf, "ba_method": method.astype(str)})


# ----------------------------------------------------------------------------- social licence

def _period(v: str) -> tuple[_dt.date, _dt.date] | None:
    """First and last day of an ISO date of full or reduced precision (YYYY, YYYY-MM, YYYY-MM-DD)."""
    m = _DATE.fullmatch(v)
    if not m:
        return None
    y, mo, d = int(m.group(1)), m.group(2), m.group(3)
    try:
        if mo is None:
            return _dt.date(y, 1, 1), _dt.date(y, 12, 31)
        mo = int(mo)
        if d is None:
            return _dt.date(y, mo, 1), _dt.date(y, mo, calendar.monthrange(y, mo)[1])
        day = _dt.date(y, mo, int(d))
        return day, day
    except ValueError:
        return None


def _in_box(lat: float, lon: float, box, margin: float = 0.5) -> bool:
    lat_ok = box["lat_min"] - margin <= lat <= box["lat_max"] + margin
    lo, hi = box["lon_min"] - margin, box["lon_max"] + margin
    lon_ok = (lo <= lon <= hi) if box["lon_min"] <= box["lon_max"] else (lon >= lo or lon <= hi)
    return bool(lat_ok and lon_ok)


_SOCIAL_CACHE: dict = {}


def read_social_licence(path=None) -> pd.DataFrame:
    """Read and check the social-licence table (moratoria, restrictions, opposition).

    Parameters
    ----------
    path : path, optional
        The table (default: ``data/siting/social_licence.csv``).

    Returns
    -------
    pandas.DataFrame
        One row per restriction, columns as in the file (:data:`SOCIAL_COLUMNS`) with ``lat``
        [degrees_north], ``lon`` [degrees_east], ``radius_km`` [km] (NaN when empty) and
        ``severity`` [1] as floats, ``exclude`` bool, and added: ``level`` ("city", "county",
        "state" or "country": how points match the row), ``in_force_from`` and
        ``in_force_until`` (datetime.date; the period the row is certainly in force: the last
        day of the start date's period to the first day of the end date's; None = standing),
        ``source_year`` (int: the year of the first ISO date in the source, else its first
        year), ``line`` (line in the file).

    Raises
    ------
    ValidationError
        Listing every problem with file, row (line) and column: a missing/unknown column; a date
        not ISO (YYYY, YYYY-MM or YYYY-MM-DD); an end before the start; a severity outside
        [0, 1]; an unknown kind or status; ``exclude`` not true/false, or true for a row that is
        not an active standing moratorium; a lifted/expired row without an end date; lat/lon not
        numbers in range or outside the country's bounding box (0.5 degree margin); a city row
        without a radius (or a radius on another row); a county FIPS not of 5 digits or not in
        the row's state; a state or county outside the US; a source without a year; the same
        jurisdiction, kind and start date twice.

    Notes
    -----
    The severity scale and the date conventions are in ``data/siting/README.md``
    ("Social licence").  The default table is read once and cached until the file changes.
    """
    from powerfirst.schema.tables import _bounds, _countries

    p = Path(path) if path is not None else siting_dir() / "social_licence.csv"
    key = _file_key(p)
    if key in _SOCIAL_CACHE:
        return _SOCIAL_CACHE[key].copy()
    problems: list[Problem] = []
    df = _read_csv(p, SOCIAL_COLUMNS, _OPTIONAL["social"], problems)
    if df is None:
        raise ValidationError(problems, what="the social-licence table")
    ck = _Checker(df, problems)
    countries = set(_countries().index)
    bounds = _bounds()
    n = len(df)
    lat, lon, rad, sev = (np.full(n, np.nan) for _ in range(4))
    exclude = np.zeros(n, bool)
    level = np.full(n, "", dtype=object)
    t0 = np.full(n, None, dtype=object)
    t1 = np.full(n, None, dtype=object)
    year = np.zeros(n, int)
    for i in range(n):
        r = df.loc[i]
        ck.required(i, "jurisdiction", "the name of the jurisdiction")
        ck.required(i, "summary", "a one-line summary of the restriction")
        c = ck.required(i, "country", "an ISO 3166-1 alpha-2 code (e.g. NL)")
        if c and c not in countries:
            ck.add(i, "country", f"unknown country {c!r}: expected an ISO 3166-1 alpha-2 code in upper case (e.g. NL)")
        s, f, city = r["state"], r["county_fips"], r["city"]
        if s and c != "US":
            ck.add(i, "state", f"a state is given only for US rows; this row's country is {c!r}")
        elif s:
            _check_state(ck, i, s)
        if f:
            if c != "US":
                ck.add(i, "county_fips", f"a county FIPS code is given only for US rows; this row's country is {c!r}")
            elif not _FIPS.fullmatch(f):
                ck.add(i, "county_fips", f"expected a county FIPS code of 5 digits (e.g. 51107), found {f!r}")
            elif not s:
                ck.add(i, "state", f"empty; a county row needs its state (FIPS {f} is in "
                                   f"{_FIPS_STATE.get(f[:2], 'an unknown state')})")
            elif s in US_STATE_FIPS and f[:2] != US_STATE_FIPS[s]:
                ck.add(i, "county_fips", f"FIPS {f} is not in {s} (whose counties start with {US_STATE_FIPS[s]})")
        level[i] = "city" if city else "county" if f else "state" if s else "country"
        # location
        la = ck.number(i, "lat", -90, 90, what="a latitude [degrees_north]")
        lo = ck.number(i, "lon", -180, 180, what="a longitude [degrees_east]")
        lat[i], lon[i] = la, lo
        if np.isfinite(la) and np.isfinite(lo) and ("country", c) in bounds.index:
            box = bounds.loc[("country", c)]
            if not _in_box(la, lo, box):
                ck.add(i, "lat", f"({la}, {lo}) is outside {c} (latitude {box['lat_min']}..{box['lat_max']}, "
                                 f"longitude {box['lon_min']}..{box['lon_max']}); check the order and signs")
        if city:
            if r["radius_km"] == "":
                ck.add(i, "radius_km", "empty; a city row needs the radius [km] its restriction applies within")
            else:
                rad[i] = ck.number(i, "radius_km", 0, 500, low_open=True, what="a radius [km]")
        elif r["radius_km"] != "":
            ck.add(i, "radius_km", "a radius is used only for a city row (county, state and country rows match "
                                   "by code); leave it empty or give the city")
        # kind, severity, exclude, status
        kind = ck.required(i, "kind", f"one of {', '.join(SOCIAL_KINDS)}")
        if kind and kind not in SOCIAL_KINDS:
            ck.add(i, "kind", f"expected one of {', '.join(SOCIAL_KINDS)}, found {kind!r}")
        sev[i] = ck.number(i, "severity", 0, 1, what="a severity")
        status = ck.required(i, "status", f"one of {', '.join(SOCIAL_STATUSES)}")
        if status and status not in SOCIAL_STATUSES:
            ck.add(i, "status", f"expected one of {', '.join(SOCIAL_STATUSES)}, found {status!r}")
        ex = r["exclude"].lower()
        if ex not in ("true", "false"):
            ck.add(i, "exclude", f"expected true or false, found {r['exclude']!r}")
        exclude[i] = ex == "true"
        # dates
        start = ck.required(i, "start_date", "an ISO date (YYYY-MM-DD, or YYYY-MM / YYYY when only that is known)")
        ps = _period(start) if start else None
        if start and ps is None:
            ck.add(i, "start_date", f"expected an ISO date (YYYY-MM-DD, YYYY-MM or YYYY), found {start!r}")
        end = r["end_date"]
        pe = _period(end) if end else None
        if end and pe is None:
            ck.add(i, "end_date", f"expected an ISO date (YYYY-MM-DD, YYYY-MM or YYYY) or empty, found {end!r}")
        if ps and pe:
            if pe[1] < ps[0]:
                ck.add(i, "end_date", f"end {end} is before start {start}")
            elif pe[0] < ps[1]:
                ck.add(i, "end_date", f"end {end} and start {start} overlap at this precision, so the row is never "
                                      "certainly in force; give the dates more precisely")
        if ps:
            t0[i] = ps[1]
        if pe:
            t1[i] = pe[0]
        if status in ("lifted", "expired") and not end:
            ck.add(i, "end_date", f"empty; a {status} row needs the date it ended")
        if exclude[i]:
            why = [w for w, bad in ((f"kind is {kind!r}", kind != "moratorium"),
                                    (f"status is {status!r}", status != "active"),
                                    (f"it ends {end}", bool(end))) if bad]
            if why:
                ck.add(i, "exclude", "true only for an active standing moratorium or ban (kind moratorium, status "
                                     f"active, no end date); here {' and '.join(why)}")
        m = _SOURCE_DATE.search(r["source"]) or _SOURCE_YEAR.search(r["source"])
        if ck.required(i, "source", "the source (title, publisher, date, URL)") and m is None:
            ck.add(i, "source", "no year found in the source; give its publication date")
        year[i] = int(m.group(1)) if m else 0
    ck.duplicates(["jurisdiction", "kind", "start_date"], "jurisdiction, kind and start date")
    if problems:
        raise ValidationError(problems, what="the social-licence table")
    out = df.copy()
    out["lat"], out["lon"], out["radius_km"], out["severity"] = lat, lon, rad, sev
    out["exclude"] = exclude
    out["level"] = level
    out["in_force_from"] = t0
    out["in_force_until"] = t1
    out["source_year"] = year
    out["line"] = df.attrs["lines"]
    out.attrs = {"file": str(p)}
    _SOCIAL_CACHE.clear()
    _SOCIAL_CACHE[key] = out
    return out.copy()


def _on_date(on_date) -> _dt.date:
    if on_date is None:
        return _dt.date.today()
    if isinstance(on_date, pd.Timestamp):
        return on_date.date()
    if isinstance(on_date, _dt.datetime):
        return on_date.date()
    if isinstance(on_date, _dt.date):
        return on_date
    if isinstance(on_date, np.datetime64):
        return pd.Timestamp(on_date).date()
    s = str(on_date).strip()
    p = _period(s) if re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", s) else None
    if p is None:
        raise ValidationError([Problem(f"expected a date (YYYY-MM-DD, datetime.date or Timestamp), found {on_date!r}",
                                       column="on_date")], what="social_licence_at")
    return p[0]


def social_licence_at(lat, lon, state, county_fips, country, on_date=None, *, table=None) -> pd.DataFrame:
    """Social-licence severity, exclusion and reasons at points, from the rows in force on a date.

    Parameters
    ----------
    lat, lon : float or array_like
        Latitudes [degrees_north] and longitudes [degrees_east]; NaN where unknown (the point then
        matches only by code).
    state : str or array_like of str
        USPS state codes; empty outside the US.
    county_fips : str, int or array_like
        5-digit county FIPS codes; empty outside the US.
    country : str or array_like of str
        ISO 3166-1 alpha-2 codes.
    on_date : str, datetime.date or pandas.Timestamp, optional
        The day [YYYY-MM-DD] the rows must be in force on (default: today).
    table : pandas.DataFrame, optional
        As returned by :func:`read_social_licence` (default: the embedded table).

    Returns
    -------
    pandas.DataFrame
        One row per point, in input order (inputs of length 1 apply to all):
        ``social_severity`` [1] (the highest severity of the matching rows in force; 0.0 when
        none), ``social_exclude`` (bool: a matching row in force is a standing moratorium,
        ``exclude`` true, or a moratorium of severity 1.0 inside its dated period),
        ``social_reason`` ("jurisdiction: kind (source year)" of every matching row in force,
        highest severity first, "; "-joined; "" when none).

    Raises
    ------
    ValidationError
        Malformed inputs (as :func:`ba_from_location`; latitudes or longitudes out of range), an
        ``on_date`` that is not a day, or inputs of different lengths.

    Notes
    -----
    A row is in force on ``on_date`` when ``in_force_from <= on_date <= in_force_until`` (dates
    of reduced precision count only where certain: a start "2020" from 2020-12-31, an end "2020"
    until 2020-01-01).  A city row matches points within ``radius_km`` of its lat/lon (great
    circle); a county row matches the county FIPS; a state row the US state; a country row the
    country.  Each point takes all the rows it matches.
    """
    from powerfirst.geo import haversine_km

    tab = table if table is not None else read_social_licence()
    day = _on_date(on_date)
    la = np.asarray(lat, dtype=float).ravel()
    lo = np.asarray(lon, dtype=float).ravel()
    a = _broadcast("social_licence_at", lat=la, lon=lo, state=_as_text(state, "state"),
                   county_fips=_fips_text(county_fips), country=_as_text(country, "country"))
    s = np.array([v.upper() for v in a["state"]], dtype=object)
    c = np.array([v.upper() for v in a["country"]], dtype=object)
    f = a["county_fips"]
    la, lo = a["lat"], a["lon"]
    problems = _check_locations("social_licence_at", s, f, c)
    for name, v, lim in (("lat", la, 90), ("lon", lo, 180)):
        bad = np.flatnonzero(np.abs(v) > lim)
        for i in bad[:20]:
            problems.append(Problem(f"expected a value in [-{lim}, {lim}] degrees or NaN, found {v[i]}",
                                    row=int(i) + 1, column=name))
    if problems:
        raise ValidationError(problems, what="social_licence_at")
    n = len(s)
    us = (c == "US") | ((c == "") & ((s != "") | (f != "")))
    sev = np.zeros(n)
    excl = np.zeros(n, bool)
    reasons: list[list[tuple[float, str]]] = [[] for _ in range(n)]
    for _, r in tab.iterrows():
        t0, t1 = r["in_force_from"], r["in_force_until"]
        if t0 is None or day < t0 or (t1 is not None and day > t1):
            continue
        if r["level"] == "city":
            d = haversine_km(la, lo, r["lat"], r["lon"]) if n else np.zeros(0)
            hit = np.asarray(d <= r["radius_km"], bool)
        elif r["level"] == "county":
            hit = f == r["county_fips"]
        elif r["level"] == "state":
            hit = us & (s == r["state"])
        else:
            hit = (c == r["country"]) | ((r["country"] == "US") & us)
        if not hit.any():
            continue
        sev[hit] = np.maximum(sev[hit], r["severity"])
        bars = bool(r["exclude"]) or (r["kind"] == "moratorium" and r["severity"] >= 1.0)
        if bars:
            excl[hit] = True
        text = f"{r['jurisdiction']}: {r['kind']} ({r['source_year']})"
        for i in np.flatnonzero(hit):
            reasons[i].append((-float(r["severity"]), text))
    reason = ["; ".join(t for _, t in sorted(rs)) for rs in reasons]
    return pd.DataFrame({"social_severity": sev, "social_exclude": excl, "social_reason": reason})
