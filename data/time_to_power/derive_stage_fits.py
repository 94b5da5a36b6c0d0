"""Check the fitted stage rows of data/time_to_power/stages.csv against their dated observations.

Each (stage, facility_type) group of ``stage_observations.csv`` is fitted by a lognormal in log space
(:func:`powerfirst.models.time_to_power.fit_lognormal`); the stage table's row carries the fit's p50
and p90 rounded to 0.1 month.  Run from the repository root:
``python data/time_to_power/derive_stage_fits.py``; it prints each fit beside the row and exits 1 on
a difference of more than 0.05 month.
"""

from __future__ import annotations

import sys

from powerfirst.models.time_to_power.validation import stage_fits


def main() -> int:
    fits = stage_fits()
    print(fits.drop(columns=["table_note", "projects"]).round(3).to_string(index=False))
    bad = fits[((fits["p50"] - fits["table_p50"]).abs() > 0.05) | ((fits["p90"] - fits["table_p90"]).abs() > 0.05)]
    if len(bad):
        print(f"stages.csv differs from the fit for: {', '.join(bad['stage'] + '/' + bad['facility_type'])}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
