"""Derive each balancing authority's known peak demand and EIA-930 reporting time zone for ``schema/grids.csv``.

A developer runs this script (the tests do not).  It adds (or refreshes) three
columns of ``toolkit/powerfirst/schema/grids.csv``, keeping every other column
and row as they are:

``peak_demand_mw``
    The largest hourly *cleaned* demand of the balancing authority from
    2016-01-01 00:00 to 2024-12-31 23:00 UTC [MW], rounded to the MW; empty
    where the shared data has no series for the code (the European bidding
    zones).
``peak_source``
    Where the figure comes from, and the UTC hour (EIA end-of-hour stamp) of
    the peak.
``eia930_time_zone``
    The time zone EIA names for the balancing authority in its list of
    balancing-authority acronyms (``Eastern``, ``Central``, ``Mountain``,
    ``Pacific``, ``Arizona``): the zone of the ``Local Time`` columns of the
    EIA930_BALANCE files.  It differs from ``timezone`` for five BAs (EPE, PNM
    and WACM report in ``Arizona`` time, IPCO in ``Pacific``, LGEE in
    ``Central``); the balance-file reader accepts either.

Sources (``../shared/data/eia930``, see its SOURCE.md; nothing is copied into
the project but these figures):

* 2016-01 .. 2020-06: ``ruggles_release_2020_Oct/DERIVED_wide_cleaned_demand_MW_54BAs_2015_2020.csv.gz``,
  the cleaned demand of 54 balancing authorities (Ruggles et al. 2020, CC BY 4.0);
* 2020-01 .. 2024-12: ``ruggles_release_2025_Jan/DERIVED_wide_cleaned_demand_MW_119regions_2020_2024.csv.gz``:
  the cleaned demand of the non-ISO balancing authorities, and for the seven ISOs (CISO, ERCO,
  ISNE, MISO, NYIS, PJM, SWPP), whose totals this release does not clean, the sum of their
  cleaned sub-regions (``<ISO>_SUM_OF_SUBREGIONS``; PJM without PJM-RECO, as upstream);
* US48: ``ruggles_release_2025_Jan/contiguous_US/CONUS.csv``, cleaned demand 2020 .. 2024;
* time zones: ``balancing_authority_acronyms.csv`` (EIA, "Balancing Authority Acronyms",
  accessed 14 September 2019).

Use: :func:`powerfirst.io.eia930.check_demand_magnitude` refuses a demand
series whose robust peak is below 1/20 or above 20 times this figure (a file in
GW or kW, not MW); the figure only needs to be right within a factor of a few.

Usage (from the repository root)::

    python data/derive_grid_peaks.py [--shared ../shared/data]
"""

from __future__ import annotations

import argparse
import csv
import io
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
GRIDS = HERE.parent / "toolkit" / "powerfirst" / "schema" / "grids.csv"
DEFAULT_SHARED = HERE.parent.parent / "shared" / "data"
START, END = pd.Timestamp("2016-01-01"), pd.Timestamp("2025-01-01")
OLD = "ruggles_release_2020_Oct/DERIVED_wide_cleaned_demand_MW_54BAs_2015_2020.csv.gz"
NEW = "ruggles_release_2025_Jan/DERIVED_wide_cleaned_demand_MW_119regions_2020_2024.csv.gz"
CONUS = "ruggles_release_2025_Jan/contiguous_US/CONUS.csv"
SOURCE = ("EIA-930 via Ruggles et al. cleaned releases 2020_Oct + 2025_Jan (CC BY 4.0): max hourly cleaned "
          "demand 2016-2024{what}; peak at {when} UTC (end of hour); data/derive_grid_peaks.py")
NEW_COLUMNS = ("peak_demand_mw", "peak_source", "eia930_time_zone")


def _wide(path: Path) -> pd.DataFrame:
    df = pd.read_csv(path, index_col=0, parse_dates=True)
    return df[(df.index >= START) & (df.index < END)]


def peaks(shared: Path) -> dict[str, tuple[int, str]]:
    """``{code: (peak MW, source text)}`` for every code the shared releases cover."""
    root = shared / "eia930"
    old, new = _wide(root / OLD), _wide(root / NEW)
    conus = _wide(root / CONUS)["cleaned demand (MW)"].rename("US48").to_frame()
    for col in [c for c in new.columns if c.endswith("_SUM_OF_SUBREGIONS")]:
        iso = col.removesuffix("_SUM_OF_SUBREGIONS")
        new = new.drop(columns=[c for c in new.columns if c.startswith(iso + "-")]).rename(columns={col: iso})
    out = {}
    for code in sorted(set(old.columns) | set(new.columns) | {"US48"}):
        parts = [df[code].dropna() for df in (old, new, conus) if code in df.columns]
        s = pd.concat(parts)
        if s.empty:
            continue
        what = ""
        if code in new.columns and code in ("CISO", "ERCO", "ISNE", "MISO", "NYIS", "PJM", "SWPP"):
            what = " (2020-2024: sum of the ISO's cleaned sub-regions)"
        elif code == "US48":
            what = " (2020-2024 only: contiguous_US/CONUS.csv)"
        out[code] = (int(round(float(s.max()))), SOURCE.format(what=what, when=f"{s.idxmax():%Y-%m-%d %H:%M}"))
    return out


def time_zones(shared: Path) -> dict[str, str]:
    path = shared / "eia930" / "balancing_authority_acronyms.csv"
    text = path.read_text(encoding="utf-8-sig").splitlines()
    rows = list(csv.DictReader(io.StringIO("\n".join(text[1:]))))  # line 1 names the source
    return {r["Code"].strip(): r["Time Zone"].strip() for r in rows if r.get("Time Zone", "").strip()}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", type=Path, default=DEFAULT_SHARED, help="the shared data folder")
    args = ap.parse_args(argv)
    pk, tz = peaks(args.shared), time_zones(args.shared)
    with open(GRIDS, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    header = rows[0]
    keep = [i for i, h in enumerate(header) if h not in NEW_COLUMNS]
    out = [[header[i] for i in keep] + list(NEW_COLUMNS)]
    for r in rows[1:]:
        code = r[0]
        mw, src = pk.get(code, ("", ""))
        out.append([r[i] for i in keep] + [str(mw), src, tz.get(code, "")])
    with open(GRIDS, "w", newline="", encoding="utf-8") as f:
        csv.writer(f, lineterminator="\n").writerows(out)
    n = sum(1 for r in out[1:] if r[-3])
    print(f"{GRIDS}: peak_demand_mw for {n} of {len(out) - 1} codes")


if __name__ == "__main__":
    main()
