"""The model on real large-load projects (``data/time_to_power/validation_cases.csv``).

Each case runs on the path it used, with its own inputs, and its observed months from
``start_date`` are compared with the model's P10-P90 of that path."""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["LEVELS", "stage_fits", "validation_report"]

#: probability levels of the validation (every percent: P10, P50, P90 among them)
LEVELS = tuple(round(x, 2) for x in np.arange(0.01, 1.0, 0.01))
MONTH_DAYS = 30.4375


def validation_report(cases: pd.DataFrame | None = None, *, draws: int = 20000, seed: int = 11) -> pd.DataFrame:
    """One row per case: observed months, the model's P10/P50/P90 [month] of the case's path, whether the
    observation is inside P10-P90, the factor outside [1], and the model's probability of a time at or
    below the observed one (``p_model_le_observed``, to 0.01; uniform on 0-1 for a calibrated model).

    ``facility_type_used`` and ``facility_type_default`` say which building type reached the model and
    whether it was the default."""
    from powerfirst.io.stages import read_validation_cases
    from powerfirst.models.time_to_power.simulate import time_to_power

    cases = read_validation_cases() if cases is None else cases
    sites = cases.rename(columns={"case": "site_id"}).copy()
    sites["start_date"] = sites["start_date"].dt.strftime("%Y-%m-%d")
    sites["request_date"] = sites["request"].dt.strftime("%Y-%m-%d").where(sites["request"].notna(), None)
    out = []
    for rec, site in zip(cases.to_dict("records"), sites.to_dict("records"), strict=True):
        ds = time_to_power(pd.DataFrame([site]), [rec["path"]], draws=draws, seed=seed, tornado=False,
                           start=rec["start_date"], quantiles=LEVELS)
        var = "first_power" if rec["observed"] == "first_power" else "full_power"
        obs = (rec[rec["observed"]] - rec["start_date"]).days / MONTH_DAYS
        q = ds[var].isel(site=0, path=0)
        p10, p50, p90 = (float(q.sel(quantile=x)) for x in (0.1, 0.5, 0.9))
        inside = p10 <= obs <= p90
        factor = 1.0 if inside else (p10 / obs if obs < p10 else obs / p90)
        out.append(dict(case=rec["case"], path=rec["path"], facility_type=rec["facility_type"], mw=rec["target_mw"],
                        observed=var, observed_months=round(obs, 1), p10=round(p10, 1), p50=round(p50, 1),
                        p90=round(p90, 1), inside=inside, factor_outside=round(factor, 2),
                        p_model_le_observed=round(float(np.mean(q.values <= obs)), 2),
                        facility_type_used=str(ds["facility_type"].item()),
                        facility_type_default=bool(ds["input_default"].sel(input="facility_type").item())))
    return pd.DataFrame(out)


def stage_fits(observations: pd.DataFrame | None = None, table: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per fitted stage row (``stage``, ``facility_type``): the log-space lognormal fit of its dated
    observations (``stage_observations.csv``; n, geometric mean, log-sd, p50, p90 [month]) beside the stage
    table's default row (``table_p50``, ``table_p90``, ``table_note``)."""
    from powerfirst.io.stages import read_stage_observations, read_stage_table
    from powerfirst.models.time_to_power.graph import fit_lognormal

    obs = read_stage_observations() if observations is None else observations
    table = read_stage_table() if table is None else table
    out = []
    for (stage, ftype), g in obs.groupby(["stage", "facility_type"], sort=False):
        rows = table[(table["stage"] == stage) & table["region"].fillna("").eq("")
                     & table["facility_type"].fillna("").eq(ftype)]
        if len(rows) != 1:
            raise ValueError(f"stage {stage!r} facility_type {ftype!r}: expected one default row in the stage "
                             f"table, found {len(rows)}")
        out.append(dict(stage=stage, facility_type=ftype, **fit_lognormal(g["months"]),
                        table_p50=float(rows["p50"].iloc[0]), table_p90=float(rows["p90"].iloc[0]),
                        table_note=str(rows["note"].iloc[0]), projects=list(g["project"])))
    return pd.DataFrame(out)
