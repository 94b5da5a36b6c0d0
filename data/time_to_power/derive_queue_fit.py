"""Derive data/time_to_power/queue_fit.csv: the PJM queue calibration (completion durations and the
withdrawal hazard, censored competing-risks fits) from ../shared/data/queues/pjm_abarth15.

Run from the repository root: ``python data/time_to_power/derive_queue_fit.py``.  The stage table's
``withdrawal`` rows (region PJM and the default) carry the pooled row's p50/p90.
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import pandas as pd

from powerfirst.io.queues import read_queue
from powerfirst.models.time_to_power.queue import fit_stage_durations, fit_withdrawal

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared" / "data" / "queues" / "pjm_abarth15"


def main() -> int:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        serial = read_queue(SHARED / "DERIVED_PJMActiveProjects_Data_sheet.csv", errors="drop")
        cycle = read_queue(SHARED / "DERIVED_PJMCycleProjects_Data_sheet.csv", errors="drop")
    as_of = {serial.file[0]: serial.attrs["as_of"], cycle.file[0]: cycle.attrs["as_of"]}
    q = pd.concat([serial, cycle])
    wd = fit_withdrawal(q, as_of=as_of, at_months=(36.0, 60.0, 72.0)).assign(quantity="time_to_withdrawal")
    dur = fit_stage_durations(q, as_of=as_of)
    dur = dur[dur["fuel_group"] == "all"].drop(columns=["fuel_group"]).assign(quantity="request_to_in_service")
    out = pd.concat([wd, dur], ignore_index=True)
    out.insert(0, "region", "PJM")
    cols = ["region", "quantity", "cohort", "n", "n_withdrawn", "n_in_service", "n_active", "max_follow_up", "p50",
            "p50_low", "p50_high", "p90", "mu", "sigma"] + [c for c in out.columns if c.startswith("cif_")] + \
        ["median_empirical", "p50_completed", "identified", "truncated", "note"]
    out = out[[c for c in cols if c in out.columns]]
    out.round(4).to_csv(ROOT / "data" / "time_to_power" / "queue_fit.csv", index=False)
    print(out.round(3).to_string())
    return 0


if __name__ == "__main__":
    sys.exit(main())
