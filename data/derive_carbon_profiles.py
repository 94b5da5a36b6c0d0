"""Derive month × UTC-hour carbon-intensity profiles of US balancing authorities (2022, EIA-930).

A developer runs this script (the tests do not); it writes the small table the
energy cube uses, ``data/derived/carbon_intensity_month_hour.csv``:

    ba, month (1-12), hour_utc (0-23), gco2_per_kwh, n_hours

Source: ``../shared/data/carbon/eia930_2022_by_ba/<BA>_NG_&_avgCI.csv`` (see its
SOURCE.md): hourly net generation by fuel from EIA Form 930 for 2022, with the
average carbon intensity ``avg_CI`` [gCO2 kWh-1] that the authors of the
HewlettPackard/dc-rl repository computed from the fuel mix with emission
factors (MIT licence).  ``timestamp`` is UTC, hour-beginning, 8,760 rows.

Derivation: for each balancing authority, the mean of ``avg_CI`` over all
hours of 2022 that share a calendar month and an hour of the day in UTC;
rows whose ``avg_CI`` is empty (NaN) are skipped, and ``n_hours`` counts the
hours that went into each mean (28-31 when none was missing).  WAAT is
skipped: the source notes it is a near-copy of BPAT.

Usage (from the repository root)::

    python data/derive_carbon_profiles.py
    python data/derive_carbon_profiles.py --src ../shared/data/carbon/eia930_2022_by_ba --out data/derived
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
DEFAULT_SRC = HERE.parent.parent / "shared" / "data" / "carbon" / "eia930_2022_by_ba"
DEFAULT_OUT = HERE / "derived"
SKIP = {"WAAT": "near-copy of BPAT (SOURCE.md: ~92 % of rows identical)"}
YEAR = 2022


def derive_one(path: Path) -> pd.DataFrame:
    """Month × UTC-hour means of ``avg_CI`` of one balancing-authority file."""
    df = pd.read_csv(path)
    df = df.rename(columns={df.columns[0]: "timestamp"}) if df.columns[0].startswith("Unnamed") else df
    for col in ("timestamp", "avg_CI"):
        if col not in df.columns:
            raise SystemExit(f"{path}: column {col!r} missing (found {list(df.columns)})")
    t = pd.to_datetime(df["timestamp"], utc=True)
    if len(df) != 8760 or t.dt.year.nunique() != 1 or int(t.dt.year.iloc[0]) != YEAR:
        raise SystemExit(f"{path}: expected the 8,760 hours of {YEAR}, found {len(df)} rows "
                         f"in years {sorted(t.dt.year.unique())}")
    if not (t.diff().dropna() == pd.Timedelta("1h")).all():
        raise SystemExit(f"{path}: timestamps are not consecutive hours")
    ci = pd.to_numeric(df["avg_CI"], errors="coerce")
    frame = pd.DataFrame({"month": t.dt.month, "hour_utc": t.dt.hour, "ci": ci}).dropna(subset=["ci"])
    if ((frame["ci"] < 0) | (frame["ci"] > 1500)).any():
        raise SystemExit(f"{path}: avg_CI outside 0..1500 gCO2/kWh")
    out = (frame.groupby(["month", "hour_utc"])["ci"].agg(["mean", "size"])
           .reindex(pd.MultiIndex.from_product([range(1, 13), range(24)], names=["month", "hour_utc"])))
    if out["size"].isna().any():
        raise SystemExit(f"{path}: some month-hour has no valid value at all")
    out = out.reset_index().rename(columns={"mean": "gco2_per_kwh", "size": "n_hours"})
    out["n_hours"] = out["n_hours"].astype(int)
    out["gco2_per_kwh"] = out["gco2_per_kwh"].round(3)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--src", type=Path, default=DEFAULT_SRC, help="folder of <BA>_NG_&_avgCI.csv files")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder")
    args = ap.parse_args(argv)
    files = sorted(args.src.glob("*_NG_&_avgCI.csv"))
    if not files:
        raise SystemExit(f"no *_NG_&_avgCI.csv files in {args.src}")
    parts = []
    for f in files:
        ba = f.name.split("_NG_")[0]
        if ba in SKIP:
            print(f"skip {ba}: {SKIP[ba]}", file=sys.stderr)
            continue
        one = derive_one(f)
        one.insert(0, "ba", ba)
        parts.append(one)
        raw = pd.to_numeric(pd.read_csv(f)["avg_CI"], errors="coerce")
        print(f"{ba}: mean {raw.mean():.1f} gCO2/kWh over {int(raw.notna().sum())} h "
              f"({int(raw.isna().sum())} NaN skipped)", file=sys.stderr)
    table = pd.concat(parts, ignore_index=True)
    args.out.mkdir(parents=True, exist_ok=True)
    dest = args.out / "carbon_intensity_month_hour.csv"
    tmp = dest.with_suffix(".csv.tmp")
    table.to_csv(tmp, index=False, float_format="%.3f")
    tmp.replace(dest)
    print(f"wrote {dest} ({len(table)} rows, {table['ba'].nunique()} BAs)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    np.seterr(all="raise")
    sys.exit(main())
