"""Derive month × UTC-hour carbon-free share and carbon intensity (direct, life-cycle) from the fuel mix.

A developer runs this script (the tests check its output against the source); it writes the
table the energy cube uses for the grid's carbon-free share,
``data/derived/carbon_fuel_mix_month_hour.csv``:

    ba, month (1-12), hour_utc (0-23), cfe_share, gco2_per_kwh_direct, gco2_per_kwh_lifecycle,
    generation_mw, n_hours

Source: ``../shared/data/carbon/eia930_2022_by_ba/<BA>_NG_&_avgCI.csv`` (see its SOURCE.md):
hourly net generation by fuel (EIA-930 codes WND, SUN, WAT, OIL, NG, COL, NUC, OTH; no UNK
column) of 2022 for 9 files, ``timestamp`` UTC hour-beginning, 8,760 rows.  Its ``avg_CI`` column
is not used.

Derivation (:func:`powerfirst.cubes.fuel_mix.fuel_mix_carbon` for each hour, factors of
``data/facts/emission_factors.csv``): carbon-free = NUC + WAT + SUN + WND over the sum of
positive generation; intensity = sum of factor x generation over the same sum.  Negative net
generation counts as 0 (there is none in these files).  Hours with an empty value are skipped
(PJM 23, CISO 3, MISO 3).  Per BA, month and UTC hour of the day: ``cfe_share`` and the
intensities are ratios of sums over the hours of the bin (generation-weighted), ``generation_mw``
the mean total generation of the bin, ``n_hours`` the hours that went in.

All 9 files are derived, WAAT included.  WAAT is not an EIA-930 balancing-authority code: it is the
file the source repository uses for its Washington location, and its data are BPAT's (8,081 of the
8,760 rows equal BPAT's; in 656 more, a fuel that BPAT reports is 0 in WAAT: SUN in 568 hours, OTH
in 88; only the last 23 hours of the year differ otherwise).  Its rows keep the label ``WAAT``.

Usage (from the repository root)::

    python data/derive_carbon_fuel_mix.py
    python data/derive_carbon_fuel_mix.py --src <folder of the *_NG_&_avgCI.csv files> --out data/derived

The default ``--src`` is ``carbon/eia930_2022_by_ba`` under ``powerfirst.paths.shared_data_dir()``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
DEFAULT_OUT = HERE / "derived"
SOURCE_SUBDIR = ("carbon", "eia930_2022_by_ba")
YEAR = 2022
FUELS = ("WND", "SUN", "WAT", "OIL", "NG", "COL", "NUC", "OTH", "UNK")


def read_generation(path: Path) -> pd.DataFrame:
    """Hourly generation by fuel [MW] of one file, indexed by UTC hour (checks the 8,760 hours of 2022)."""
    df = pd.read_csv(path)
    df = df.rename(columns={df.columns[0]: "timestamp"}) if df.columns[0].startswith("Unnamed") else df
    if "timestamp" not in df.columns:
        raise SystemExit(f"{path}: column 'timestamp' missing (found {list(df.columns)})")
    t = pd.to_datetime(df["timestamp"], utc=True)
    if len(df) != 8760 or t.dt.year.nunique() != 1 or int(t.dt.year.iloc[0]) != YEAR:
        raise SystemExit(f"{path}: expected the 8,760 hours of {YEAR}, found {len(df)} rows")
    if not (t.diff().dropna() == pd.Timedelta("1h")).all():
        raise SystemExit(f"{path}: timestamps are not consecutive hours")
    cols = [c for c in FUELS if c in df.columns]
    gen = df[cols].apply(pd.to_numeric, errors="coerce")
    gen.index = pd.DatetimeIndex(t.dt.tz_convert(None), name="time")
    return gen


def derive_one(path: Path, factors) -> pd.DataFrame:
    """Month × UTC-hour table of one balancing-authority file."""
    from powerfirst.cubes.fuel_mix import fuel_mix_carbon

    gen = read_generation(path)
    h = fuel_mix_carbon(gen, factors).dropna(subset=["cfe_share"])
    frame = pd.DataFrame({"month": h.index.month, "hour_utc": h.index.hour, "gen": h["generation_mw"].to_numpy(),
                          "cfe": h["carbon_free_mw"].to_numpy()})
    for basis in factors:
        frame[basis] = (h[f"gco2_per_kwh_{basis}"] * h["generation_mw"]).to_numpy()
    g = frame.groupby(["month", "hour_utc"])
    sums = g[["gen", "cfe", *factors]].sum()
    out = pd.DataFrame({"cfe_share": sums["cfe"] / sums["gen"]})
    for basis in factors:
        out[f"gco2_per_kwh_{basis}"] = sums[basis] / sums["gen"]
    out["generation_mw"] = g["gen"].mean()
    out["n_hours"] = g.size()
    full = pd.MultiIndex.from_product([range(1, 13), range(24)], names=["month", "hour_utc"])
    out = out.reindex(full)
    if out["n_hours"].isna().any():
        raise SystemExit(f"{path}: some month-hour has no valid hour at all")
    out["n_hours"] = out["n_hours"].astype(int)
    neg = float(h["negative_mw"].sum())
    print(f"{path.name.split('_NG_')[0]}: {len(h)} h, carbon-free {h['carbon_free_mw'].sum() / h['generation_mw'].sum():.4f}, "
          f"{neg:.0f} MWh of negative net generation left out", file=sys.stderr)
    return out.reset_index()


def default_src() -> Path:
    """The source folder under the shared data folder (``powerfirst.paths.shared_data_dir()``)."""
    from powerfirst.paths import shared_data_dir

    root = shared_data_dir()
    if root is None:
        raise SystemExit("shared data folder not found: set POWERFIRST_SHARED_DATA or pass --src")
    return root.joinpath(*SOURCE_SUBDIR)


def main(argv=None) -> int:
    from powerfirst.cubes.fuel_mix import BASES, emission_factors

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--src", type=Path, default=None,
                    help="folder of <BA>_NG_&_avgCI.csv files (default: carbon/eia930_2022_by_ba of the shared data)")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder")
    args = ap.parse_args(argv)
    if args.src is None:
        args.src = default_src()
    files = sorted(args.src.glob("*_NG_&_avgCI.csv"))
    if not files:
        raise SystemExit(f"no *_NG_&_avgCI.csv files in {args.src}")
    factors = {b: emission_factors(b) for b in BASES}
    parts = []
    for f in files:
        ba = f.name.split("_NG_")[0]
        one = derive_one(f, factors)
        one.insert(0, "ba", ba)
        parts.append(one)
    table = pd.concat(parts, ignore_index=True)
    table["cfe_share"] = table["cfe_share"].round(5)
    for c in ("gco2_per_kwh_direct", "gco2_per_kwh_lifecycle", "generation_mw"):
        table[c] = table[c].round(2)
    args.out.mkdir(parents=True, exist_ok=True)
    dest = args.out / "carbon_fuel_mix_month_hour.csv"
    tmp = dest.with_suffix(".csv.tmp")
    table.to_csv(tmp, index=False)
    tmp.replace(dest)
    print(f"wrote {dest} ({len(table)} rows, {table['ba'].nunique()} BAs)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    np.seterr(all="raise")
    sys.exit(main())
