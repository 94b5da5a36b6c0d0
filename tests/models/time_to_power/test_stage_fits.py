"""The fitted stage rows of stages.csv agree with their dated observations (stage_observations.csv)."""

from __future__ import annotations

import numpy as np
import pytest

from powerfirst.errors import ValidationError
from powerfirst.io.stages import read_stage_observations
from powerfirst.models.time_to_power import fit_lognormal
from powerfirst.models.time_to_power.validation import stage_fits


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
    fits = stage_fits()
    assert set(zip(fits["stage"], fits["facility_type"], strict=True)) >= {
        ("mobile_generation", ""), ("site_construction", "light_industrial"), ("brownfield_fitout", "")}
    for f in fits.itertuples(index=False):
        assert f.table_p50 == pytest.approx(f.p50, abs=0.05), (f.stage, f.facility_type)
        assert f.table_p90 == pytest.approx(f.p90, abs=0.05), (f.stage, f.facility_type)
        # the row names every project it was fitted to (by its company's name)
        missing = [p for p in f.projects if p.split()[0] not in f.table_note]
        assert not missing, (f.stage, f.facility_type, missing)


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
