"""The fitted stage rows of stages.csv agree with their dated observations (stage_observations.csv)."""

from __future__ import annotations

import numpy as np
import pytest

from powerfirst.errors import ValidationError
from powerfirst.io.stages import read_stage_observations, read_stage_table
from powerfirst.models.time_to_power import fit_lognormal


def test_fit_lognormal_of_two_durations_is_their_geometric_mean_and_log_spread():
    fit = fit_lognormal([4.0, 9.0])
    s = np.log(9.0 / 4.0) / np.sqrt(2.0)  # sample sd (ddof=1) of two logs
    assert fit["p50"] == pytest.approx(6.0) and fit["log_sd"] == pytest.approx(s)
    assert fit["p90"] == pytest.approx(6.0 * np.exp(1.2815515655 * s))
    with pytest.raises(ValueError, match=r"at least two positive durations \[month\], found \[3.0\]"):
        fit_lognormal([3.0])


def test_every_fitted_row_carries_the_fit_of_its_observations():
    """mobile_generation, the light-industrial building and the fit-out of an existing building: each row's
    p50/p90 is the log-space fit of its dated projects, to the 0.1 month the table is rounded to."""
    obs = read_stage_observations()
    table = read_stage_table()
    groups = obs.groupby(["stage", "facility_type"])
    assert {g for g, _ in groups} >= {("mobile_generation", ""), ("site_construction", "light_industrial"),
                                      ("brownfield_fitout", "")}
    for (stage, ftype), g in groups:
        row = table[(table["stage"] == stage) & table["region"].fillna("").eq("")
                    & table["facility_type"].fillna("").eq(ftype)]
        assert len(row) == 1, (stage, ftype)
        fit = fit_lognormal(g["months"])
        assert row["p50"].iloc[0] == pytest.approx(fit["p50"], abs=0.05), (stage, ftype)
        assert row["p90"].iloc[0] == pytest.approx(fit["p90"], abs=0.05), (stage, ftype)
        # the row names every project it was fitted to (by its company's name)
        note = str(row["note"].iloc[0])
        missing = [p for p in g["project"] if p.split()[0] not in note]
        assert not missing, (stage, ftype, missing)


def test_bad_observations_are_refused_with_file_row_and_column(tmp_path):
    good = read_stage_observations()
    p = tmp_path / "obs.csv"
    bad = good.astype(str).copy()
    bad.loc[0, "months"] = "soon"
    bad.loc[1, "start"] = "April 2017"
    bad.loc[5, "months"] = "7.0"  # Ellendale: 2022-09-08 to 2023-03-07 is 5.91 months
    bad.loc[6, "end"] = "2021-01-01"  # before its start
    bad.loc[7, "source"] = ""
    bad.to_csv(p, index=False)
    with pytest.raises(ValidationError) as e:
        read_stage_observations(p)
    msg = str(e.value)
    assert "row 1" in msg and "column 'months'" in msg and "expected a duration in months in (0, 240], found 'soon'" in msg
    assert "expected a date YYYY-MM-DD or YYYY-MM, found 'April 2017'" in msg
    assert "months 7 disagree with the dates: 2022-09-08 to 2023-03-07 is 5.91 months" in msg
    assert "end '2021-01-01' is not after start '2021-07-22'" in msg
    assert "column 'source'" in msg and "required value is empty" in msg
    with pytest.raises(ValidationError, match="required column missing"):
        good.drop(columns=["months"]).to_csv(p, index=False)
        read_stage_observations(p)
