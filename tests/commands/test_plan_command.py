"""``powerfirst plan SCENARIO.yaml --out plan.zarr``: the plan written atomically, KPIs per year as a
table or JSON, and bad input as one message with exit status 2 and nothing written.

The offline tests plan a small random instance in place of the scenario's chain (the command's own
work: checks, writing, printing); the real-data tests run the chain on a few demo sites."""

from __future__ import annotations

import json
import subprocess
import sys
import warnings

import numpy as np
import pytest
import xarray as xr

from powerfirst.cli import main
from powerfirst.io.store import read_zarr
from powerfirst.models.network import InfeasibleDemandWarning, kpis, plan_network, random_network
from powerfirst.scenarios import Scenario

SITES = ["PJM-001", "PJM-002", "PJM-003", "PJM-004", "DE-LU-001", "DE-LU-004", "DE-LU-005", "FR-001", "FR-003",
         "FR-004", "GB-002", "GB-004"]


def scenario_file(tmp_path, name="s.yaml", **network) -> str:
    sc = Scenario.from_dict({
        "name": "plan-test", "seed": 3, "sites": {"select": SITES},
        "siting": {"candidates": "sites", "tier": "regional", "draws": 10},
        "network": {"regions": ["US", "Europe"], "countries": ["US", "DE", "FR", "GB"], "years": [2028, 2030],
                    "resolution": 1, "market_share": 0.002, "top_n": 10, "ttp_draws": 200, "start": "2026-01-01",
                    "time_limit": 60, **network}})
    path = tmp_path / name
    sc.to_yaml(path)
    return str(path)


@pytest.fixture(scope="module")
def small_plan():
    dem, sup = random_network(8, 20, (2027, 2029), seed=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InfeasibleDemandWarning)
        plan = plan_network(dem, sup, time_limit=60)
    return plan.assign_attrs(scenario="plan-test")


@pytest.fixture
def planned(monkeypatch, small_plan):
    """The scenario's chain replaced by the small plan (and a record of the scenarios it was asked for)."""
    import importlib

    run_mod = importlib.import_module("powerfirst.scenarios.run")

    calls = []

    def fake(sc, *a, **k):
        calls.append(sc)
        return small_plan

    monkeypatch.setattr(run_mod, "run_network", fake)
    return calls


def test_help():
    out = subprocess.run([sys.executable, "-m", "powerfirst.cli", "plan", "--help"], capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0 and "usage: powerfirst plan" in out.stdout and "--out" in out.stdout
    assert "table" in out.stdout and "json" in out.stdout


def test_json_kpis_per_year_and_the_store(tmp_path, capsys, planned, small_plan):
    out = tmp_path / "plan.zarr"
    assert main(["plan", scenario_file(tmp_path), "--out", str(out), "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert planned[0].name == "plan-test" and doc["scenario"] == "plan-test"
    k = kpis(small_plan)
    assert [r["year"] for r in doc["kpis"]] == list(k.index)
    for r in doc["kpis"]:
        for c in k.columns:
            assert r[c] == pytest.approx(float(k.loc[r["year"], c]), nan_ok=True), c
    assert doc["units"]["gw_training"] == "GW" and doc["units"]["gco2_per_accelerator_hour"] == "gCO2 h-1"
    back = read_zarr(out).compute()
    np.testing.assert_allclose(back["built_mw"].values, small_plan["built_mw"].values)
    assert list(back["serving_site"].values.ravel()) == list(small_plan["serving_site"].values.ravel())
    assert back["built_mw"].attrs["units"] == "MW" and back.attrs["title"] == "network plan"
    # nothing but the store is left beside it
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plan.zarr", "s.yaml"]


def test_table_has_units_and_every_year(tmp_path, capsys, planned, small_plan):
    assert main(["plan", scenario_file(tmp_path), "--out", str(tmp_path / "p.zarr")]) == 0
    text = capsys.readouterr().out
    assert "Network plan of scenario plan-test" in text and "greedy / MILP cost" in text
    for head in ("gw_training [GW]", "cost [MUSD]", "gco2_per_accelerator_hour [gCO2 h-1]", "share_within_caps [1]",
                 "unserved_twh [TWh]"):
        assert head in text
    for y in small_plan["year"].values:
        assert f"\n{int(y)} " in text


def test_an_existing_store_or_user_folder_is_never_replaced(tmp_path, capsys, planned):
    path = scenario_file(tmp_path)
    out = tmp_path / "plan.zarr"
    assert main(["plan", path, "--out", str(out)]) == 0
    capsys.readouterr()
    before = sorted(p.name for p in out.rglob("*"))
    assert main(["plan", path, "--out", str(out)]) == 2
    assert "overwrite" in capsys.readouterr().err
    assert sorted(p.name for p in out.rglob("*")) == before
    assert main(["plan", path, "--out", str(out), "--overwrite"]) == 0
    capsys.readouterr()
    mine = tmp_path / "project"
    mine.mkdir()
    (mine / "notes.txt").write_text("mine")
    n = len(planned)
    assert main(["plan", path, "--out", str(mine), "--overwrite"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and str(mine) in err
    assert (mine / "notes.txt").read_text() == "mine" and sorted(p.name for p in mine.iterdir()) == ["notes.txt"]
    assert len(planned) == n  # refused before anything was planned


def test_an_interrupted_write_leaves_no_partial_store(tmp_path, capsys, planned, monkeypatch):
    out = tmp_path / "plan.zarr"
    real = xr.Dataset.to_zarr

    def half(self, store, *a, **k):
        real(self[["built_mw"]], store, *a, **k)  # part of the store written, then the disk fills up
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(xr.Dataset, "to_zarr", half)
    assert main(["plan", scenario_file(tmp_path), "--out", str(out)]) == 1  # not bad input: the write failed
    assert "No space left on device" in capsys.readouterr().err
    assert not out.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["s.yaml"]


def test_bad_scenario_file_is_exit_2(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("network:\n  years: [2028, 2026]\n  sovereignty: galactic\n")
    out = tmp_path / "p.zarr"
    assert main(["plan", str(bad), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "network.sovereignty': expected one of none, eu_residency, national, found 'galactic'" in err
    assert "network.years': expected distinct years in increasing order" in err
    assert main(["plan", str(tmp_path / "missing.yaml"), "--out", str(out)]) == 2
    assert "scenario file not found" in capsys.readouterr().err
    assert not out.exists()


def test_year_outside_the_demand_cube_is_exit_2(tmp_path, capsys):
    out = tmp_path / "p.zarr"
    assert main(["plan", scenario_file(tmp_path, years=[2030, 2040]), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "years [2040] lie outside the demand cube (2014–2035)" in err and "variable 'years'" in err
    assert not out.exists()


# ------------------------------------------------------------------------------------------ real data


@pytest.mark.realdata
def test_plan_of_demo_sites(tmp_path):
    out = tmp_path / "plan.zarr"
    # in a subprocess: stdout must be the JSON alone (the solver's banner, written below Python, goes to stderr)
    proc = subprocess.run([sys.executable, "-m", "powerfirst.cli", "plan", scenario_file(tmp_path), "--out", str(out),
                           "--format", "json"], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert "planned 10 candidates" in proc.stderr
    plan = read_zarr(out).compute()
    k = kpis(plan)
    assert [r["year"] for r in doc["kpis"]] == [2028, 2030]
    assert doc["kpis"][-1]["energy_twh"] == pytest.approx(k.loc[2030, "energy_twh"]) and k.loc[2030, "energy_twh"] > 0
    assert plan.sizes["site"] == 10 and set(plan["point_country"].values) == {"US", "DE", "FR", "GB"}
    assert plan.attrs["scenario"] == "plan-test" and "site_screen_rank" in plan.coords


@pytest.mark.realdata
def test_infeasible_sovereignty_is_exit_2(tmp_path, capsys):
    out = tmp_path / "p.zarr"
    path = scenario_file(tmp_path, countries=["US", "DE", "FR", "NL"], sovereignty="national", method="greedy")
    assert main(["plan", path, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "the 'national' sovereignty rule is infeasible" in err
    assert "points by country: NL " in err and "none in a jurisdiction the 'national' sovereignty rule allows" in err
    assert not out.exists()


@pytest.mark.realdata
def test_no_candidate_with_power_in_time_is_exit_2(tmp_path, capsys):
    out = tmp_path / "p.zarr"
    assert main(["plan", scenario_file(tmp_path, years=[2026], start="2026-10-01", method="greedy"),
                 "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "none of the 10 candidates has power for one module (5 MW) by the end of any plan year (2026)" in err
    assert "plan later years, start earlier (network.start) or lower network.confidence" in err
    assert not out.exists()
