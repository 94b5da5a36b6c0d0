"""Check the fitted stage rows of data/time_to_power/stages.csv against their dated observations.

Each (stage, facility_type) group of ``stage_observations.csv`` is fitted by a lognormal in log space
(:func:`powerfirst.models.time_to_power.fit_lognormal`); the stage table's row carries the fit's p50
and p90 rounded to 0.1 month.  Run from the repository root:
``python data/time_to_power/derive_stage_fits.py``; it prints each fit beside the row and exits 1 on
a difference of more than 0.05 month.
"""

from __future__ import annotations

import sys

import pandas as pd

from powerfirst.io.stages import read_stage_observations, read_stage_table
from powerfirst.models.time_to_power import fit_lognormal


def stage_fits() -> pd.DataFrame:
    """One row per fitted stage row: n, geometric mean, log-sd, the fit's p50/p90 and the table's [month]."""
    obs = read_stage_observations()
    table = read_stage_table()
    out = []
    for (stage, ftype), g in obs.groupby(["stage", "facility_type"], sort=False):
        rows = table[(table["stage"] == stage) & table["region"].fillna("").eq("")]
        rows = rows[rows["facility_type"].fillna("").eq(ftype)] if "facility_type" in rows else rows
        if len(rows) != 1:
            raise ValueError(f"stage {stage!r} facility_type {ftype!r}: expected one default row in the stage "
                             f"table, found {len(rows)}")
        fit = fit_lognormal(g["months"])
        out.append(dict(stage=stage, facility_type=ftype, **fit, table_p50=float(rows["p50"].iloc[0]),
                        table_p90=float(rows["p90"].iloc[0])))
    return pd.DataFrame(out)


def main() -> int:
    fits = stage_fits()
    print(fits.round(3).to_string(index=False))
    bad = fits[((fits["p50"] - fits["table_p50"]).abs() > 0.05) | ((fits["p90"] - fits["table_p90"]).abs() > 0.05)]
    if len(bad):
        print(f"stages.csv differs from the fit for: {', '.join(bad['stage'] + '/' + bad['facility_type'])}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
