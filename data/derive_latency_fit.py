"""Calibrate the round-trip-time model of ``powerfirst.geo`` on published measurements.

Model (``powerfirst.geo.round_trip_ms``)::

    RTT [ms] = 2 * d [km] * inflation * us_per_km / 1000 + overhead_ms

with ``d`` the great-circle distance (``powerfirst.geo.haversine_km``) and
``us_per_km`` fixed at 4.9 us km-1 (light in G.652 fibre).  With
``x = 2 * d * us_per_km / 1000`` [ms] the model is the straight line
``RTT = inflation * x + overhead_ms``, fitted by weighted linear least squares
(``numpy.linalg.lstsq``) with weights 1/RTT, i.e. minimising the relative
residuals: the spread of the residuals grows with RTT (route detours multiply
the distance), so equal weights would let a few detoured long routes set the
intercept.  The unweighted fit is printed for comparison.

Input: ``data/facts/latency_measurements.csv`` (columns ``city_a, lat_a, lon_a,
city_b, lat_b, lon_b, rtt_ms, statistic, measured, source_title, publisher,
url, note`` plus the facts-table columns).  Every row is checked; all problems
are reported with file, row, line and column.

Output: the fitted inflation and overhead, R², the median absolute error [ms]
and the median relative error (measured minus modelled), overall and for the
pairs at or below 30 ms.  The numbers are written by hand as the defaults of
``toolkit/powerfirst/geo.py`` (``ROUTE_INFLATION``, ``PATH_OVERHEAD_MS``,
``RTT_FIT``); ``--check`` exits with status 1 when they differ from a new fit.

Run (from the repository root)::

    python data/derive_latency_fit.py [--table data/facts/latency_measurements.csv] [--check]
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

import numpy as np

from powerfirst.errors import DataFormatError, Problem, ValidationError
from powerfirst.geo import FIBRE_US_PER_KM, haversine_km

ROOT = Path(__file__).resolve().parent.parent
TABLE = ROOT / "data" / "facts" / "latency_measurements.csv"
COLUMNS = ["city_a", "lat_a", "lon_a", "city_b", "lat_b", "lon_b", "rtt_ms", "statistic", "measured",
           "source_title", "publisher", "url", "note"]
STATISTICS = {"median", "mean", "p50"}
#: RTT at or below which the tier caps decide (the regional cap) [ms]
SHORT_MS = 30.0
#: plausible RTT range [ms]: above 0, below 1000 (half the Earth's circumference
#: in fibre is ~100 ms one way; a second is a unit mistake, us or s entered as ms)
RTT_RANGE = (0.0, 1000.0)


def read_measurements(path=TABLE) -> dict:
    """Read and check the measurement table.

    Parameters
    ----------
    path : path
        The CSV (default ``data/facts/latency_measurements.csv``).

    Returns
    -------
    dict
        ``lat_a, lon_a, lat_b, lon_b`` [degrees], ``rtt_ms`` [ms] as float arrays;
        ``city_a, city_b`` as lists of str.

    Raises
    ------
    DataFormatError
        The file is empty or a required column is missing.
    ValidationError
        Every bad value, with file, row, line and column.
    """
    path = Path(path)
    text = path.read_text(encoding="utf-8-sig")
    reader = csv.DictReader(text.splitlines())
    if reader.fieldnames is None:
        raise DataFormatError(f"{path}: the file is empty; expected a header with {', '.join(COLUMNS)}")
    missing = [c for c in COLUMNS if c not in reader.fieldnames]
    if missing:
        raise DataFormatError(f"{path}, line 1: required column(s) missing: {', '.join(missing)}; "
                              f"expected {', '.join(COLUMNS)}")
    out = {k: [] for k in ("city_a", "city_b", "lat_a", "lon_a", "lat_b", "lon_b", "rtt_ms")}
    problems: list[Problem] = []
    ranges = {"lat_a": (-90.0, 90.0, "degrees_north"), "lat_b": (-90.0, 90.0, "degrees_north"),
              "lon_a": (-180.0, 180.0, "degrees_east"), "lon_b": (-180.0, 180.0, "degrees_east"),
              "rtt_ms": (*RTT_RANGE, "ms")}
    n = 0
    for n, row in enumerate(reader, start=1):
        where = {"file": str(path), "row": n, "line": reader.line_num}
        for col in ("city_a", "city_b", "source_title", "publisher", "url", "measured"):
            if not (row[col] or "").strip():
                problems.append(Problem("required value is empty", column=col, **where))
        stat = (row["statistic"] or "").strip().lower()
        if stat not in STATISTICS:
            problems.append(Problem(f"expected one of {', '.join(sorted(STATISTICS))}, found {row['statistic']!r}",
                                    column="statistic", **where))
        for col, (low, high, unit) in ranges.items():
            v = (row[col] or "").strip()
            try:
                x = float(v)
            except ValueError:
                problems.append(Problem(f"expected a number [{unit}], found {v!r}", column=col, **where))
                x = np.nan
            else:
                if not (np.isfinite(x) and low <= x <= high) or (col == "rtt_ms" and x <= low):
                    problems.append(Problem(f"expected a value in {'(' if col == 'rtt_ms' else '['}{low:g}, "
                                            f"{high:g}] {unit}, found {v!r}", column=col, **where))
            out[col].append(x)
        if "value" in row and (row["value"] or "").strip() and (row["value"] or "").strip() != row["rtt_ms"].strip():
            problems.append(Problem(f"the facts column value ({row['value']!r}) differs from rtt_ms "
                                    f"({row['rtt_ms']!r}); they hold the same figure", column="value", **where))
        out["city_a"].append(row["city_a"])
        out["city_b"].append(row["city_b"])
    if n == 0:
        raise DataFormatError(f"{path}: only a header and no measurements")
    if problems:
        raise ValidationError(problems, what=str(path))
    for k in ("lat_a", "lon_a", "lat_b", "lon_b", "rtt_ms"):
        out[k] = np.asarray(out[k], dtype=float)
    return out


def fit(table: dict, *, us_per_km: float = FIBRE_US_PER_KM, weighted: bool = True) -> dict:
    """Fit ``RTT = inflation * 2 d us_per_km / 1000 + overhead_ms`` to the measurements.

    Parameters
    ----------
    table : dict
        As returned by :func:`read_measurements`.
    us_per_km : float
        One-way propagation delay [us km-1], held fixed.
    weighted : bool
        Weights 1/RTT (relative residuals; default) or none.

    Returns
    -------
    dict
        ``inflation`` [1], ``overhead_ms`` [ms], ``pairs``, ``r_squared``,
        ``median_abs_error_ms``, ``median_rel_error``, ``max_rel_error``,
        ``median_abs_error_ms_at_or_below_30ms``, ``pairs_at_or_below_30ms``,
        ``distance_km`` and ``residual_ms`` (measured minus modelled) arrays.
    """
    d = np.asarray(haversine_km(table["lat_a"], table["lon_a"], table["lat_b"], table["lon_b"]), dtype=float)
    y = np.asarray(table["rtt_ms"], dtype=float)
    x = 2.0 * d * us_per_km / 1000.0  # fibre round trip over the great circle [ms]
    design = np.column_stack([x, np.ones_like(x)])
    w = 1.0 / y if weighted else np.ones_like(y)
    (inflation, overhead), *_ = np.linalg.lstsq(design * w[:, None], y * w, rcond=None)
    res = y - design @ np.array([inflation, overhead])
    short = y <= SHORT_MS
    return {
        "inflation": float(inflation),
        "overhead_ms": float(overhead),
        "pairs": int(y.size),
        "r_squared": float(1.0 - np.sum(res**2) / np.sum((y - y.mean()) ** 2)),
        "median_abs_error_ms": float(np.median(np.abs(res))),
        "median_rel_error": float(np.median(np.abs(res) / y)),
        "max_rel_error": float(np.max(np.abs(res) / y)),
        "pairs_at_or_below_30ms": int(short.sum()),
        "median_abs_error_ms_at_or_below_30ms": float(np.median(np.abs(res[short]))),
        "distance_km": d,
        "residual_ms": res,
    }


#: how each published default is rounded in powerfirst.geo (decimals)
ROUNDING = {"inflation": 3, "overhead_ms": 2, "r_squared": 3, "median_abs_error_ms": 1, "median_rel_error": 3,
            "median_abs_error_ms_at_or_below_30ms": 1}


def compare_with_defaults(result: dict) -> list[str]:
    """Differences between a fit and the defaults written in ``powerfirst.geo`` (empty when they agree)."""
    from powerfirst import geo

    written = {"inflation": geo.ROUTE_INFLATION, "overhead_ms": geo.PATH_OVERHEAD_MS, **geo.RTT_FIT}
    diffs = []
    for key, value in written.items():
        if key == "pairs":
            if value != result["pairs"]:
                diffs.append(f"pairs: geo.py says {value}, the table has {result['pairs']}")
            continue
        fitted = round(result[key], ROUNDING[key])
        if abs(fitted - value) > 0.5 * 10 ** -ROUNDING[key] + 1e-12:
            diffs.append(f"{key}: geo.py says {value}, the fit gives {fitted}")
    return diffs


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--table", type=Path, default=TABLE)
    ap.add_argument("--check", action="store_true", help="exit 1 when powerfirst.geo's defaults differ")
    args = ap.parse_args(argv)
    table = read_measurements(args.table)
    r = fit(table)
    ols = fit(table, weighted=False)
    print(f"{r['pairs']} pairs, {r['distance_km'].min():.0f} to {r['distance_km'].max():.0f} km, "
          f"us_per_km fixed at {FIBRE_US_PER_KM}")
    print(f"weighted (1/RTT): inflation {r['inflation']:.3f}, overhead {r['overhead_ms']:.2f} ms, "
          f"R² {r['r_squared']:.3f}, median |error| {r['median_abs_error_ms']:.1f} ms, "
          f"median relative error {r['median_rel_error']:.3f}, max relative error {r['max_rel_error']:.3f}")
    print(f"  at or below {SHORT_MS:g} ms ({r['pairs_at_or_below_30ms']} pairs): median |error| "
          f"{r['median_abs_error_ms_at_or_below_30ms']:.1f} ms")
    print(f"unweighted (comparison): inflation {ols['inflation']:.3f}, overhead {ols['overhead_ms']:.2f} ms, "
          f"R² {ols['r_squared']:.3f}, median |error| {ols['median_abs_error_ms']:.1f} ms, "
          f"median relative error {ols['median_rel_error']:.3f}, max relative error {ols['max_rel_error']:.3f}, "
          f"at or below {SHORT_MS:g} ms {ols['median_abs_error_ms_at_or_below_30ms']:.1f} ms")
    order = np.argsort(r["distance_km"])
    for i in order:
        print(f"  {table['city_a'][i]:42s} {table['city_b'][i]:42s} {r['distance_km'][i]:7.0f} km "
              f"{table['rtt_ms'][i]:5.0f} ms  residual {r['residual_ms'][i]:+6.1f} ms")
    if args.check:
        diffs = compare_with_defaults(r)
        for line in diffs:
            print("differs:", line, file=sys.stderr)
        return 1 if diffs else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
