"""Derive month × UTC-hour carbon-free share and carbon intensity (direct, life-cycle) from the fuel mix.

A developer runs this script (the tests check its output against the source); it writes the
table the energy cube uses for the grid's carbon-free share,
``data/derived/carbon_fuel_mix_month_hour.csv``:

    ba, month (1-12), hour_utc (0-23), cfe_share, gco2_per_kwh_direct, gco2_per_kwh_lifecycle,
    generation_mw, n_hours

Source: ``../shared/data/carbon/eia930_2022_by_ba/<BA>_NG_&_avgCI.csv`` (see its SOURCE.md):
hourly net generation by fuel (EIA-930 codes WND, SUN, WAT, OIL, NG, COL, NUC, OTH; no UNK
column) of 2022 for 9 BAs, ``timestamp`` UTC hour-beginning, 8,760 rows.  Its ``avg_CI`` column
is not used.

Derivation (:func:`powerfirst.cubes.fuel_mix.fuel_mix_carbon` for each hour, factors of
``data/facts/emission_factors.csv``): carbon-free = NUC + WAT + SUN + WND over the sum of
positive generation; intensity = sum of factor x generation over the same sum.  Negative net
generation counts as 0 (there is none in these files).  Hours with an empty value are skipped
(PJM 23, CISO 3, MISO 3).  Per BA, month and UTC hour of the day: ``cfe_share`` and the
intensities are ratios of sums over the hours of the bin (generation-weighted), ``generation_mw``
the mean total generation of the bin, ``n_hours`` the hours that went in.  WAAT is skipped: the
source notes it is a near-copy of BPAT.

Usage (from the repository root)::

    python data/derive_carbon_fuel_mix.py
    python data/derive_carbon_fuel_mix.py --src ../shared/data/carbon/eia930_2022_by_ba --out data/derived
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


def main(argv=None) -> int:
    from powerfirst.cubes.fuel_mix import BASES, emission_factors

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--src", type=Path, default=DEFAULT_SRC, help="folder of <BA>_NG_&_avgCI.csv files")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder")
    args = ap.parse_args(argv)
    files = sorted(args.src.glob("*_NG_&_avgCI.csv"))
    if not files:
        raise SystemExit(f"no *_NG_&_avgCI.csv files in {args.src}")
    factors = {b: emission_factors(b) for b in BASES}
    parts = []
    for f in files:
        ba = f.name.split("_NG_")[0]
        if ba in SKIP:
            print(f"skip {ba}: {SKIP[ba]}", file=sys.stderr)
            continue
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
