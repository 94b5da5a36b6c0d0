"""Large-customer electricity prices by US state and by country (``data/siting/electricity_prices.csv``).

One row per region: a US state (USPS postal code, ``region_kind='us_state'``) or a country
(ISO 3166-1 alpha-2, ``region_kind='country'``), with the published figure in its own unit
(``price_original``, ``unit_original``), the price converted to USD per MWh
(``price_usd_per_mwh``), the exchange rate used (``exchange_rate`` [USD per unit of the
original currency], empty for USD figures) and the source (title, publisher, URL, date).
The embedded table and its sources are described in ``data/siting/PRICES.md``.

:func:`read_electricity_prices` checks every row and reports all problems at once with file,
row (line) and column: required columns and values, the region kind, region codes (postal codes
of the 50 states and DC; ISO codes from ``schema/countries.csv``, with a hint for the Eurostat
codes ``EL`` and ``UK``), prices that are not positive numbers or lie outside the plausible range
:data:`PLAUSIBLE_USD_PER_MWH` (nearly always a unit mistake), a ``price_usd_per_mwh`` that does
not follow from ``price_original``, its unit and the exchange rate, periods that are neither a
year nor a half-year (``2024-S2``), and a region listed twice.  The same code may appear once as
a state and once as a country (``DE`` is Delaware and Germany, ``MT`` Montana and Malta): a row
is identified by ``(region_kind, region)``.

:func:`price_at` looks prices up for arrays of points: US points take their state's row, other
points their country's row, and a region without a row gives NaN (the caller flags it).
"""

from __future__ import annotations

import csv
import io
import re
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from powerfirst.errors import DataFormatError, Problem, ValidationError
from powerfirst.paths import data_dir

__all__ = ["read_electricity_prices", "price_at", "default_prices_path", "PRICE_COLUMNS", "REQUIRED_COLUMNS",
           "REGION_KINDS", "US_STATE_CODES", "UNITS_TO_USD_PER_MWH", "PLAUSIBLE_USD_PER_MWH"]

PRICE_COLUMNS = ["region", "region_kind", "price_usd_per_mwh", "price_original", "unit_original", "sector_or_band",
                 "period", "exchange_rate", "source_title", "publisher", "url", "retrieved_or_published", "note"]
"""Columns of the table, in order."""

REQUIRED_COLUMNS = ["region", "region_kind", "price_usd_per_mwh", "price_original", "unit_original",
                    "sector_or_band", "period", "source_title", "publisher", "url", "retrieved_or_published"]
"""Columns that must be present and filled in every row (``exchange_rate`` is required for non-USD units)."""

REGION_KINDS = ("us_state", "country")

US_STATE_CODES = frozenset(
    "AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH NJ NM NY NC ND "
    "OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY".split())
"""USPS postal codes of the 50 states and the District of Columbia."""

UNITS_TO_USD_PER_MWH: dict[str, tuple[float, str | None]] = {
    "US cents/kWh": (10.0, None),   # 1 cent/kWh = 0.01 USD / 0.001 MWh = 10 USD/MWh
    "USD/kWh": (1000.0, None),
    "USD/MWh": (1.0, None),
    "EUR/kWh": (1000.0, "EUR"),
    "EUR/MWh": (1.0, "EUR"),
    "GBP/kWh": (1000.0, "GBP"),
    "GBP/MWh": (1.0, "GBP"),
    "NOK/kWh": (1000.0, "NOK"),
}
"""Accepted ``unit_original``: factor to USD/MWh (times ``exchange_rate`` for a foreign currency) and the currency."""

PLAUSIBLE_USD_PER_MWH = (10.0, 1000.0)
"""Range [USD MWh-1] of a plausible average large-customer price; outside it is nearly always a unit slip
(USD/kWh entered as USD/MWh, cents as dollars)."""

_PLAUSIBLE_RATE = {"EUR": (0.5, 2.5), "GBP": (0.5, 3.0), "NOK": (0.03, 0.3)}  # USD per unit, a generous band
_CONVERSION_RTOL = 0.005  # price_usd_per_mwh may differ from the recomputed value by rounding only
_CONVERSION_ATOL = 0.01   # [USD MWh-1]
_PERIOD = re.compile(r"(19|20)[0-9]{2}(-S[12])?")
_NUMBER = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?")
_COUNTRY_HINTS = {"EL": "GR (Greece; Eurostat writes EL)", "UK": "GB (United Kingdom; 'UK' is not an ISO code)",
                  "XK": "no ISO code exists for Kosovo"}


def default_prices_path() -> Path:
    """The embedded table: ``<data_dir>/siting/electricity_prices.csv``."""
    return data_dir() / "siting" / "electricity_prices.csv"


def _number(v: str) -> float | None:
    """A finite number written plainly (ASCII digits, a decimal point), else None."""
    if not _NUMBER.fullmatch(v):
        return None
    x = float(v)
    return x if np.isfinite(x) else None


def _records(path: Path) -> tuple[list[str], list[list[str]], list[int], list[Problem]]:
    """Header, rows (stripped strings), each row's first line and the problems of the CSV layer."""
    from powerfirst.io.sites import _decode

    file = str(path)
    text, _enc = _decode(path, path.read_bytes(), "CSV")
    if not text.strip():
        raise DataFormatError(f"{path}: the file is empty; expected a header row ({', '.join(PRICE_COLUMNS)}) "
                              "and one row per state or country")
    reader = csv.reader(io.StringIO(text, newline=""))
    header: list[str] | None = None
    rows, lines, problems = [], [], []
    start = 1
    try:
        for rec in reader:
            if rec and any(c.strip() for c in rec):
                if header is None:
                    header = [c.strip() for c in rec]
                else:
                    k = len(rows) + 1
                    if len(rec) != len(header):
                        problems.append(Problem(f"expected {len(header)} fields as in the header, found {len(rec)}",
                                                file=file, row=k, line=start))
                        rec = (rec + [""] * len(header))[: len(header)]
                    rows.append([c.strip() for c in rec])
                    lines.append(start)
            start = reader.line_num + 1
    except csv.Error as exc:
        raise DataFormatError(f"{path}, line {start}: not readable as CSV ({exc})") from None
    if not rows:
        raise DataFormatError(f"{path}: only a header row and no price rows; expected one row per state or country")
    return header, rows, lines, problems


def _check_row(row: dict, where: dict, countries: frozenset[str], problems: list[Problem]) -> None:
    """Append the problems of one row (``where``: file, row, line)."""
    def bad(msg: str, col: str) -> None:
        problems.append(Problem(msg, column=col, **where))

    for col in REQUIRED_COLUMNS:
        if not row[col]:
            bad("required value is empty", col)
    kind, region = row["region_kind"], row["region"]
    if kind and kind not in REGION_KINDS:
        bad(f"expected one of {', '.join(REGION_KINDS)}, found {kind!r}", "region_kind")
    elif region and kind == "us_state" and region not in US_STATE_CODES:
        bad(f"expected a US state postal code (two capital letters, the 50 states and DC), found {region!r}",
            "region")
    elif region and kind == "country":
        if region not in countries:
            hint = f"; use {_COUNTRY_HINTS[region]}" if region in _COUNTRY_HINTS else ""
            bad(f"expected an ISO 3166-1 alpha-2 country code (schema/countries.csv), found {region!r}{hint}", "region")
        elif region == "US":
            bad("US prices are given by state (region_kind 'us_state'); a country row 'US' would never be used",
                "region")
    usd = _number(row["price_usd_per_mwh"]) if row["price_usd_per_mwh"] else None
    lo, hi = PLAUSIBLE_USD_PER_MWH
    if row["price_usd_per_mwh"]:
        if usd is None:
            bad(f"expected a number [USD/MWh], found {row['price_usd_per_mwh']!r}", "price_usd_per_mwh")
        elif usd <= 0:
            bad(f"expected a positive price [USD/MWh], found {usd:g}", "price_usd_per_mwh")
        elif not lo <= usd <= hi:
            bad(f"{usd:g} USD/MWh is outside the plausible range {lo:g}-{hi:g} USD/MWh for an average large-customer "
                "price: check the unit (USD/kWh entered as USD/MWh? cents as dollars?)", "price_usd_per_mwh")
    orig = _number(row["price_original"]) if row["price_original"] else None
    if row["price_original"]:
        if orig is None:
            bad(f"expected a number, found {row['price_original']!r}", "price_original")
        elif orig <= 0:
            bad(f"expected a positive price, found {orig:g}", "price_original")
    unit = row["unit_original"]
    spec = UNITS_TO_USD_PER_MWH.get(unit) if unit else None
    if unit and spec is None:
        bad(f"unknown unit {unit!r}; expected one of {', '.join(UNITS_TO_USD_PER_MWH)}", "unit_original")
    rate_txt = row["exchange_rate"]
    rate: float | None = None
    if spec is not None:
        factor, currency = spec
        if currency is None:
            if rate_txt:
                bad(f"the price is already in USD ({unit}): leave exchange_rate empty, found {rate_txt!r}",
                    "exchange_rate")
            rate = 1.0
        elif not rate_txt:
            bad(f"a price in {currency} needs exchange_rate [USD per {currency}] (state the rate and its source)",
                "exchange_rate")
        else:
            rate = _number(rate_txt)
            rlo, rhi = _PLAUSIBLE_RATE[currency]
            if rate is None:
                bad(f"expected a number [USD per {currency}], found {rate_txt!r}", "exchange_rate")
            elif not rlo <= rate <= rhi:
                bad(f"expected USD per {currency} between {rlo:g} and {rhi:g}, found {rate:g} (inverted rate, "
                    f"{currency} per USD?)", "exchange_rate")
                rate = None
        if usd is not None and usd > 0 and orig is not None and orig > 0 and rate is not None:
            want = orig * factor * rate
            if abs(usd - want) > max(_CONVERSION_ATOL, _CONVERSION_RTOL * want):
                how = f"{orig:g} {unit} x {factor:g}" + (f" x {rate:g} USD/{currency}" if currency else "")
                bad(f"expected {want:.2f} USD/MWh ({how}), found {usd:g}", "price_usd_per_mwh")
    period = row["period"]
    if period and not _PERIOD.fullmatch(period):
        bad(f"expected a year (2023) or a half-year (2024-S2), found {period!r}", "period")
    url = row["url"]
    if url and not url.startswith(("https://", "http://")):
        bad(f"expected a web address (https://...), found {url!r}", "url")


def read_electricity_prices(path=None) -> pd.DataFrame:
    """Read and check the table of large-customer electricity prices.

    Parameters
    ----------
    path : path-like, optional
        The CSV (default :func:`default_prices_path`, the embedded ``data/siting/electricity_prices.csv``).

    Returns
    -------
    pandas.DataFrame
        One row per region with the columns :data:`PRICE_COLUMNS`; ``price_usd_per_mwh``
        [USD MWh-1], ``price_original`` [``unit_original``] and ``exchange_rate``
        [USD per unit of the original currency; NaN for USD figures] as floats, the rest as
        text.  ``attrs['source']`` is the file read.

    Raises
    ------
    FileNotFoundError
        No file at ``path``.
    DataFormatError
        Not a CSV text file (binary, empty, only a header, unreadable CSV).
    ValidationError
        Every problem found, each with file, row (line) and column.
    """
    path = Path(default_prices_path() if path is None else path)
    if not path.is_file():
        raise FileNotFoundError(f"electricity price table not found: {path} (expected a CSV with the columns "
                                f"{', '.join(PRICE_COLUMNS)})")
    file = str(path)
    header, rows, lines, problems = _records(path)
    seen_cols: set[str] = set()
    for col in header:
        if col and col in seen_cols:
            problems.append(Problem("column appears more than once in the header; keep one", file=file, line=1,
                                    column=col))
        seen_cols.add(col)
    missing = [c for c in REQUIRED_COLUMNS if c not in seen_cols]
    for col in missing:
        problems.append(Problem("required column missing", file=file, line=1, column=col))
    if missing:
        raise ValidationError(problems, what="electricity price table")
    idx = {c: header.index(c) for c in PRICE_COLUMNS if c in header}
    from powerfirst.schema.tables import _countries

    countries = frozenset(_countries().index)
    records, first_seen = [], {}
    for k, (rec, line) in enumerate(zip(rows, lines, strict=True), start=1):
        row = {c: (rec[idx[c]] if c in idx else "") for c in PRICE_COLUMNS}
        where = {"file": file, "row": k, "line": line}
        _check_row(row, where, countries, problems)
        key = (row["region_kind"], row["region"])
        if row["region"] and key in first_seen:
            r0, l0 = first_seen[key]
            problems.append(Problem(f"region {row['region']!r} ({row['region_kind']}) appears more than once: also "
                                    f"row {r0} (line {l0}); keep one row per region", column="region", **where))
        else:
            first_seen.setdefault(key, (k, line))
        records.append(row)
    if problems:
        raise ValidationError(problems, what="electricity price table")
    df = pd.DataFrame(records, columns=PRICE_COLUMNS)
    for col in ("price_usd_per_mwh", "price_original", "exchange_rate"):
        df[col] = np.array([float(v) if v else np.nan for v in df[col]], dtype=float)
    df.attrs["source"] = file
    return df


@lru_cache(maxsize=8)
def _lookup(file: str, mtime_ns: int, size: int) -> tuple[dict[str, float], dict[str, float]]:
    """State and country prices [USD MWh-1] of a checked table (cached on the file's identity)."""
    df = read_electricity_prices(file)
    price = df["price_usd_per_mwh"].to_numpy(float)
    states = {r: p for r, k, p in zip(df["region"], df["region_kind"], price, strict=True) if k == "us_state"}
    countries = {r: p for r, k, p in zip(df["region"], df["region_kind"], price, strict=True) if k == "country"}
    return states, countries


def _codes(values, name: str) -> np.ndarray:
    """Codes as stripped upper-case strings; missing values (None, NaN, 'nan', 'none') become ''."""
    arr = np.asarray(values, dtype=object)
    if arr.ndim > 1:
        raise ValueError(f"{name}: expected a scalar or a 1-D array of codes, found an array of shape {arr.shape}")
    flat = np.atleast_1d(arr)
    out = []
    for v in flat:
        if v is None or (isinstance(v, float) and np.isnan(v)):
            out.append("")
            continue
        s = str(v).strip().upper()
        out.append("" if s in ("NAN", "NONE", "NA", "<NA>") else s)
    res = np.array(out, dtype=object)
    return res if arr.ndim == 1 else res.reshape(())


def price_at(country, state=None, *, path=None) -> np.ndarray:
    """Large-customer electricity price at points, from their country (and US state).

    Parameters
    ----------
    country : str or array-like of str
        ISO 3166-1 alpha-2 country code of each point (case and surrounding blanks ignored).
    state : str or array-like of str, optional
        USPS postal code of the US state of each point; used where ``country`` is ``'US'``
        and ignored elsewhere.  Empty, None or NaN where unknown.  A scalar applies to all.
    path : path-like, optional
        The price table (default the embedded one, :func:`default_prices_path`).

    Returns
    -------
    numpy.ndarray of float
        Price [USD MWh-1] per point, the shape of the broadcast inputs (1-D, or 0-D for scalars).
        US points take their state's row, other points their country's row; NaN where the
        table has no row (a state or country left out, an unknown state, an unknown code).

    Raises
    ------
    ValueError
        ``country`` and ``state`` of different lengths, or more than one dimension.
    FileNotFoundError, DataFormatError, ValidationError
        From :func:`read_electricity_prices` for a missing or invalid table.
    """
    c = _codes(country, "country")
    s = _codes("" if state is None else state, "state")
    try:
        c, s = np.broadcast_arrays(c, s)
    except ValueError:
        raise ValueError(f"price_at: country has {c.size} values and state {s.size}; give one state per point "
                         "(empty where not in the US) or a single value") from None
    p = Path(default_prices_path() if path is None else path).resolve()
    if not p.is_file():
        raise FileNotFoundError(f"electricity price table not found: {p}")
    st = p.stat()
    states, countries = _lookup(str(p), st.st_mtime_ns, st.st_size)
    out = np.full(c.shape, np.nan)
    for i in np.ndindex(c.shape):
        out[i] = states.get(s[i], np.nan) if c[i] == "US" else countries.get(c[i], np.nan)
    return out
