"""Queue reader and the queue calibration (synthetic files and the real PJM exports)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from powerfirst.errors import ValidationError
from powerfirst.io.queues import fuel_group, read_queue
from powerfirst.models.time_to_power.queue import (
    fit_stage_durations,
    lognormal_aft_fit,
    stage_rows_from_fit,
)

HEADER = "Project ID,Status,Fuel,Submitted Date,Actual In Service Date,Withdrawal Date\n"


def write(tmp_path, body, name="q.csv"):
    p = tmp_path / name
    p.write_text(HEADER + body)
    return p


def test_reader_standard_columns(tmp_path):
    p = write(tmp_path, "A1,In Service,Solar,1/15/2018,3/1/2021,\nA2,Withdrawn,Natural Gas,2019-02-01,,2020-05-01\n"
                        "A3,Active,Storage,6/30/2020,,\n")
    q = read_queue(p, as_of="2025-01-01")
    assert list(q["status"]) == ["in_service", "withdrawn", "active"]
    assert list(q["fuel_group"]) == ["solar", "gas", "storage"]
    assert q["in_service"].iloc[0] == pd.Timestamp("2021-03-01")
    assert q.attrs["as_of"] == pd.Timestamp("2025-01-01") and not q.attrs["completed_only"]


def test_reader_reports_every_bad_row_with_file_row_and_column(tmp_path):
    p = write(tmp_path, "B1,In Service,Solar,1/15/2018,,\nB2,In Service,Wind,13/45/2019,1/1/2021,\n"
                        "B3,Withdrawn,Wind,1/1/2019,,\nB4,In Service,Solar,1/1/2020,1/1/2019,\nB5,Paused,Solar,1/1/2020,,\n"
                        "B6,Active,Solar,1/1/2020,,\n")
    with pytest.raises(ValidationError) as exc:
        read_queue(p)
    msg = str(exc.value)
    assert "row 1 (line 2), column 'Actual In Service Date': status is 'In Service' but the date is empty" in msg
    assert "row 2 (line 3), column 'Submitted Date': not a date: '13/45/2019'" in msg
    assert "row 3 (line 4), column 'Withdrawal Date': status is 'Withdrawn' but the date is empty" in msg
    assert "row 4 (line 5), column 'Actual In Service Date': in service date 2019-01-01 is before the request" in msg
    assert "row 5 (line 6), column 'Status': unknown status 'Paused'" in msg
    with pytest.warns(UserWarning, match="dropped 5 of 6 rows"):
        q = read_queue(p, errors="drop")
    assert list(q["project_id"]) == ["B6"] and len(q.attrs["problems"]) == 5


def test_reader_missing_columns(tmp_path):
    p = tmp_path / "x.csv"
    p.write_text("Name,Fuel\nA,Solar\n")
    with pytest.raises(ValidationError, match="column 'project_id': required column missing"):
        read_queue(p)
    with pytest.raises(FileNotFoundError):
        read_queue(tmp_path / "nope.csv")


@pytest.mark.parametrize("fuel,group", [("Natural Gas", "gas"), ("Solar; Storage", "hybrid"), ("Offshore Wind", "wind"),
                                        ("Natural Gas; Oil", "gas"), ("Nuclear", "other"), (None, "other")])
def test_fuel_groups(fuel, group):
    assert fuel_group(fuel) == group


def test_lognormal_fit_recovers_parameters_with_censoring_and_truncation():
    rng = np.random.default_rng(1)
    t = np.exp(rng.normal(np.log(40), 0.6, 4000))
    c = rng.uniform(10, 120, 4000)  # censoring times
    fit = lognormal_aft_fit(t[t <= c], c[t > c])
    assert fit["p50"] == pytest.approx(40, rel=0.04) and fit["sigma"] == pytest.approx(0.6, rel=0.05)
    u = rng.uniform(20, 150, 4000)  # truncation: only t <= u observed at all
    seen = t <= u
    naive = lognormal_aft_fit(t[seen])
    fixed = lognormal_aft_fit(t[seen], (), u[seen])
    assert naive["p50"] < 37  # truncation makes completed projects look fast
    assert fixed["p50"] == pytest.approx(40, rel=0.06) and fixed["p50_low"] < 40 < fixed["p50_high"] * 1.02


def test_fit_groups_sizes_and_stage_row(tmp_path):
    rng = np.random.default_rng(2)
    n = 300
    sub = pd.Timestamp("2008-01-01") + pd.to_timedelta(rng.uniform(0, 3650, n), "D")
    dur = np.exp(rng.normal(np.log(30), 0.5, n)) * 30.4375
    ins = sub + pd.to_timedelta(dur, "D")
    body = "".join(f"P{i},In Service,{['Solar', 'Wind'][i % 2]},{s:%m/%d/%Y},{e:%m/%d/%Y},\n"
                   for i, (s, e) in enumerate(zip(sub, ins, strict=True)) if e < pd.Timestamp("2030-01-01"))
    q = read_queue(write(tmp_path, body), as_of="2030-01-01")
    fit = fit_stage_durations(q, cohorts=(2008, 2013, 2018))
    allrow = fit[(fit.fuel_group == "all") & (fit.cohort == "2008-2012")].iloc[0]
    assert allrow["n"] == allrow["n_in_service"] == (q["submitted"].dt.year < 2013).sum()
    assert allrow["p50"] == pytest.approx(30, rel=0.1)
    assert set(fit["fuel_group"]) == {"solar", "wind", "all"}
    row = stage_rows_from_fit(fit, region="PJM", fuel_group="all", cohort="2008-2012")
    assert row["stage"].iloc[0] == "interconnection_queue" and row["kind"].iloc[0] == "fit"
    assert row["p90"].iloc[0] > row["p50"].iloc[0]
    with pytest.raises(KeyError, match="0 fitted rows match"):
        stage_rows_from_fit(fit, fuel_group="coal", cohort="2008-2012")


@pytest.mark.realdata
def test_pjm_queue_files_and_calibration(shared):
    d = shared / "queues" / "pjm_abarth15"
    with pytest.raises(ValidationError) as exc:
        read_queue(d / "DERIVED_PJMActiveProjects_Data_sheet.csv")
    assert len(exc.value.problems) == 15  # 11 without an in-service date, 4 in service before the request
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        serial = read_queue(d / "DERIVED_PJMActiveProjects_Data_sheet.csv", errors="drop")
        cycle = read_queue(d / "DERIVED_PJMCycleProjects_Data_sheet.csv", errors="drop")
    assert len(serial) == 1189 and serial.attrs["completed_only"]
    assert len(cycle) == 860 and set(cycle["cohort"]) == {"TC1", "TC2"}
    assert cycle["status"].value_counts().to_dict() == {"active": 616, "withdrawn": 244}
    fit = fit_stage_durations(pd.concat([serial, cycle]),
                              as_of={serial.file[0]: serial.attrs["as_of"], cycle.file[0]: cycle.attrs["as_of"]})
    by = fit[fit.fuel_group == "all"].set_index("cohort")
    assert by.loc["2010-2014", "n"] == 317 and by.loc["2010-2014", "identified"]
    assert 25 < by.loc["2010-2014", "p50"] < 45
    assert by.loc[["1997-2004", "2005-2009", "2010-2014"], "p50"].is_monotonic_increasing
    assert not by.loc["2015-2020", "identified"] and "lower bound" in by.loc["2015-2020", "note"]
    assert np.isnan(by.loc["TC1", "p50"]) and by.loc["TC1", "n_withdrawn"] == 182
    assert 0.3 < by.loc["TC1", "cif_withdrawn"] < 0.8


def test_withdrawal_fit_recovers_the_latent_hazard_and_its_incidence():
    from powerfirst.models.time_to_power.queue import fit_withdrawal

    rng = np.random.default_rng(5)
    n = 3000
    w = np.exp(rng.normal(np.log(50), 0.3, n))          # latent withdrawal
    c = np.exp(rng.normal(np.log(80), 0.4, n))          # latent completion
    sub = pd.Timestamp("2015-01-01") + pd.to_timedelta(rng.uniform(0, 365, n), "D")
    as_of = pd.Timestamp("2023-01-01")
    follow = (as_of - sub).days.to_numpy() / 30.4375
    t = np.minimum(np.minimum(w, c), follow)
    status = np.where(t == follow, "active", np.where(w < c, "withdrawn", "in_service"))
    end = sub + pd.to_timedelta(t * 30.4375, "D")
    q = pd.DataFrame({"project_id": [f"P{i}" for i in range(n)], "status": status, "submitted": sub,
                      "in_service": end.where(status == "in_service"), "withdrawn": end.where(status == "withdrawn"),
                      "cohort": "C", "fuel_group": "solar", "file": "x.csv"})
    fit = fit_withdrawal(q, as_of=as_of, at_months=(40.0, 60.0)).set_index("cohort")
    assert fit.loc["C", "p50"] == pytest.approx(50, rel=0.03) and fit.loc["C", "sigma"] == pytest.approx(0.3, rel=0.08)
    for m in ("40", "60"):
        assert fit.loc["C", f"cif_withdrawn_fit_{m}"] == pytest.approx(fit.loc["C", f"cif_withdrawn_empirical_{m}"],
                                                                     abs=0.03)


@pytest.mark.realdata
def test_pjm_withdrawal_calibration_matches_the_stage_table(shared):
    """The fitted withdrawal hazard (PJM transition cycles) and its share withdrawn next to the empirical one;
    the stage table's withdrawal rows carry the pooled fit."""
    from powerfirst.io.stages import read_stage_table
    from powerfirst.models.time_to_power.queue import fit_withdrawal

    d = shared / "queues" / "pjm_abarth15"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        serial = read_queue(d / "DERIVED_PJMActiveProjects_Data_sheet.csv", errors="drop")
        cycle = read_queue(d / "DERIVED_PJMCycleProjects_Data_sheet.csv", errors="drop")
    fit = fit_withdrawal(pd.concat([serial, cycle]),
                         as_of={serial.file[0]: serial.attrs["as_of"], cycle.file[0]: cycle.attrs["as_of"]}
                         ).set_index("cohort")
    pooled = fit.loc["all"]
    assert pooled["n"] == 860 and pooled["n_withdrawn"] == 244
    assert pooled["p50_low"] < pooled["p50"] < pooled["p50_high"]
    assert abs(pooled["cif_withdrawn_fit_60"] - pooled["cif_withdrawn_empirical_60"]) < 0.05
    t = read_stage_table()
    row = t[(t["stage"] == "withdrawal") & (t["region"] == "PJM")].iloc[0]
    assert row["p50"] == pytest.approx(pooled["p50"], abs=0.05) and row["p90"] == pytest.approx(pooled["p90"], abs=0.05)
