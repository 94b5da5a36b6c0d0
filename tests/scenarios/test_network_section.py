"""Scenario.network: settings with bounds and key-path errors, YAML round trip, defaults equal to the
models', the ``network`` group of a run (skipped with a status when disabled; on real data the same
plan as the models called by hand), and the bad inputs the plan refuses."""

import inspect
import warnings

import numpy as np
import pytest
import yaml

from powerfirst.errors import ValidationError
from powerfirst.scenarios import GROUPS, SECTIONS, Scenario
from powerfirst.scenarios.spec import NetworkSection

#: a few demo sites in the US (PJM), Germany, France and Great Britain
SITES = ["PJM-001", "PJM-002", "PJM-003", "PJM-004", "DE-LU-001", "DE-LU-004", "DE-LU-005", "FR-001", "FR-003",
         "FR-004", "GB-002", "GB-004"]


def small(**network) -> dict:
    """A small real-data scenario: 12 demo sites screened for the regional tier, demand of four countries."""
    return {"name": "net", "seed": 3, "sites": {"select": SITES},
            "siting": {"candidates": "sites", "tier": "regional", "draws": 10},
            "network": {"enabled": True, "regions": ["US", "Europe"], "countries": ["US", "DE", "FR", "GB"],
                        "years": [2028, 2030], "resolution": 1, "market_share": 0.002, "top_n": 10,
                        "ttp_draws": 200, "start": "2026-01-01", "time_limit": 60, **network}}


def test_section_registered_after_siting_and_round_trips(tmp_path):
    assert list(SECTIONS)[-2:] == ["siting", "network"] and GROUPS[-2:] == ("siting", "network")
    sc = Scenario.from_dict({"name": "n", "network": {
        "years": [2027, 2030], "split": {"training": 0.5, "regional": 0.4, "edge": 0.1},
        "caps": {"regional": 25, "training": float("inf")}, "sovereignty": "eu_residency",
        "candidate_regions": ["US-48", "EU27"], "top_n": 30, "carbon_cap": 1e6, "conventional_tier": "regional",
        "time_limit": None}})
    path = tmp_path / "s.yaml"
    sc.to_yaml(path)
    back = Scenario.from_yaml(path)
    assert back.to_dict() == sc.to_dict() and back.hash == sc.hash
    assert back.network.caps["training"] == float("inf") and back.network.time_limit is None
    assert back.network.split == {"training": 0.5, "regional": 0.4, "edge": 0.1}
    assert sc.copy(**{"network.sovereignty": "national"}).hash != sc.hash
    assert Scenario().network is not sc.network and Scenario().network.sovereignty == "none"


def test_every_bad_setting_reported_with_its_key_path(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text("network:\n  years: [2030, 2028]\n  market_share: 0\n  sovereignty: eu\n"
                    "  split: {training: 0.5, regional: 0.4}\n  caps: {edge: 0, core: 3}\n"
                    "  peak_to_average: {edge: 4}\n  objective: profit\n  start: soon\n  top_n: 0\n"
                    "  confidence: 1\n  colour: blue\n")
    with pytest.raises(ValidationError) as exc:
        Scenario.from_yaml(path)
    cols = {p.column for p in exc.value.problems}
    assert cols == {"network.years", "network.market_share", "network.sovereignty", "network.split",
                    "network.caps.edge", "network.caps.core", "network.peak_to_average.edge", "network.objective",
                    "network.start", "network.top_n", "network.confidence", "network.colour"}
    text = str(exc.value)
    assert "network.sovereignty': expected one of none, eu_residency, national, found 'eu'" in text
    assert "network.split': expected shares of all three tiers (training, regional, edge) summing to 1" in text
    assert "network.caps.edge': expected a number > 0, found 0" in text
    assert "network.caps.core': unknown tier 'core'" in text
    assert "network.peak_to_average.edge': expected a number >= 1 and <= 3, found 4" in text
    assert "network.years': expected distinct years in increasing order, found [2030, 2028]" in text
    assert "network.market_share': expected a number > 0 and <= 1, found 0" in text


def test_defaults_follow_the_models():
    from powerfirst.models.network import (
        DEFAULT_CONFIDENCE,
        H3_RESOLUTION,
        OBJECTIVES,
        SOVEREIGNTY_RULES,
        demand_points,
        plan_network,
        site_supply,
    )

    n = NetworkSection()
    assert n.param["sovereignty"].objects == list(SOVEREIGNTY_RULES)
    assert n.param["objective"].objects == list(OBJECTIVES)
    assert n.confidence == DEFAULT_CONFIDENCE and n.resolution == H3_RESOLUTION
    dp = inspect.signature(demand_points).parameters
    assert n.regions == list(dp["regions"].default) and n.demand_scenario == dp["scenario"].default
    assert n.market_share == dp["market_share"].default and n.conventional_tier == dp["conventional_tier"].default
    ss = inspect.signature(site_supply).parameters
    assert n.ttp_draws == ss["ttp_draws"].default and n.carbon_price == ss["carbon_price"].default
    pn = inspect.signature(plan_network).parameters
    for key in ("sovereignty", "objective", "carbon_cap", "min_work_per_kwh", "caps", "max_sites_per_point",
                "mip_gap", "time_limit", "threads", "method"):
        assert getattr(n, key) == pn[key].default, key
    assert not n.enabled  # needs the public datasets, like the siting screen


def test_disabled_network_group_is_present_with_a_status():
    tree = Scenario.from_dict({"name": "off"}).run(only=["network"], progress=False)
    assert set(tree.children) == set(GROUPS)
    assert tree["network"].attrs["status"] == "skipped: network.enabled is false"
    assert len(tree["network"].to_dataset().data_vars) == 0


def test_year_outside_the_demand_cube_fails_before_any_screen(monkeypatch):
    import importlib

    run_mod = importlib.import_module("powerfirst.scenarios.run")

    def no_screen(*a, **k):
        raise AssertionError("screened before the demand was checked")

    monkeypatch.setattr(run_mod, "run_siting", no_screen)
    sc = Scenario.from_dict(small(years=[2030, 2040]))
    with pytest.raises(ValidationError, match=r"years \[2040\] lie outside the demand cube \(2014–2035\)"):
        run_mod.run_network(sc)


# ------------------------------------------------------------------------------------------ real data


@pytest.fixture(scope="module")
def tree():
    sc = Scenario.from_dict({**small(), "siting": {**small()["siting"], "enabled": True}})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return sc, sc.run(only=["siting", "network"], progress=False)


@pytest.mark.realdata
def test_network_group_is_the_models_chain_on_the_siting_screen(tree):
    from powerfirst.models.network import demand_points, plan_network, site_supply

    sc, t = tree
    plan = t["network"].to_dataset()
    scr = t["siting"].to_dataset()
    assert plan.attrs["scenario_hash"] == sc.hash and plan.attrs["sovereignty"] == "none"
    # the candidates are the screen's ten best-ranked sites that are not excluded and have a price and a
    # carbon intensity to be costed by; the better-ranked without them are counted on the plan
    costed = np.isfinite(scr["price"]) & np.isfinite(scr["carbon_intensity"])
    ranked = scr["rank"].where(~scr["excluded"]).to_series().dropna().sort_values()
    best = [s for s in ranked.index if bool(costed.sel(site=s))][:10]
    assert list(plan["site"].values) == best
    np.testing.assert_array_equal(plan["site_screen_rank"].values, ranked.loc[best].values)
    n_passed = sum(not bool(costed.sel(site=s)) for s in ranked.index[:list(ranked.index).index(best[-1])])
    assert n_passed > 0 and plan.attrs["candidates_passed_over"] == f"sites: {n_passed} without price"
    # the same plan as the models called by hand
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dem = demand_points(("US", "Europe"), (2028, 2030), resolution=1, market_share=0.002,
                            countries=["US", "DE", "FR", "GB"])
        sup = site_supply(scr.sel(site=best), (2028, 2030), ttp_draws=200, start="2026-01-01", seed=3)
        direct = plan_network(dem, sup, time_limit=60)
    assert list(plan["site"].values) == list(direct["site"].values)
    np.testing.assert_allclose(plan["built_mw"].values, direct["built_mw"].values)
    np.testing.assert_allclose(plan["cost_usd"].values, direct["cost_usd"].values, rtol=1e-9)
    assert plan["built_mw"].sum() > 0 and plan["built_mw"].attrs["units"] == "MW"


@pytest.mark.realdata
def test_network_group_round_trips_through_the_result_store(tree, tmp_path):
    from powerfirst.scenarios import open_results, to_zarr

    sc, t = tree
    out = to_zarr(t, tmp_path / "r.zarr")
    back = open_results(out)["network"].to_dataset().compute()
    plan = t["network"].to_dataset()
    np.testing.assert_allclose(back["built_mw"].values, plan["built_mw"].values)
    assert list(back["serving_site"].values.ravel()) == list(plan["serving_site"].values.ravel())
    assert back.attrs["scenario_hash"] == sc.hash and back["demand_mw"].attrs["units"] == "MW"


@pytest.mark.realdata
def test_infeasible_sovereignty_names_the_demand_and_the_fix():
    # Dutch demand: German and French sites could serve it, the national rule forbids them
    sc = Scenario.from_dict(small(countries=["US", "DE", "FR", "NL"], sovereignty="national", method="greedy"))
    with pytest.raises(ValidationError) as exc:
        from powerfirst.scenarios.run import run_network

        run_network(sc)
    text = str(exc.value)
    assert "the 'national' sovereignty rule is infeasible" in text
    assert "training demand of " in text and "points by country: NL " in text
    assert "could be served without the rule, not under it" in text
    assert "column 'network.sovereignty'" in text
    assert "network.sovereignty_infeasible: unserved" in text
    assert not any(" of US " in p.message for p in exc.value.problems)  # US demand has US sites
    # planned as unserved when asked to, with the reason on the plan
    ok = sc.copy(**{"network.sovereignty_infeasible": "unserved"})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plan = run_network(ok)
    nl = plan["point_country"].values == "NL"
    assert nl.any() and (plan["served_share"].values[nl] == 0).all()
    assert all("'national' sovereignty rule" in r for r in plan["unserved_reason"].sel(tier="training").values[nl])


@pytest.mark.realdata
def test_no_candidate_with_power_in_time_is_an_error():
    from powerfirst.scenarios.run import run_network

    sc = Scenario.from_dict(small(years=[2026], start="2026-10-01", method="greedy"))
    with pytest.raises(ValidationError, match=r"none of the 10 candidates has power for one module \(5 MW\) by the end "
                                              r"of any plan year \(2026\) at confidence 0.8 from a start on 2026-10-01"):
        run_network(sc)


def test_yaml_of_the_section_is_plain(tmp_path):
    text = Scenario.from_dict(small()).to_yaml()
    data = yaml.safe_load(text)
    assert data["network"]["years"] == [2028, 2030] and data["network"]["countries"] == ["US", "DE", "FR", "GB"]


def test_example_scenario_loads(repo):
    """examples/scenarios/network.yaml (the base scenario of notebook 60) loads with its settings."""
    sc = Scenario.from_yaml(repo / "examples" / "scenarios" / "network.yaml")
    n = sc.network
    assert (n.regions, n.years, n.candidate_regions, n.top_n, n.market_share, n.sovereignty) == (
        ["US", "Europe"], [2028, 2029, 2030], ["US-48", "EU27"], 20, 0.02, "none")
    assert sc.siting.tier == "regional" and sc.siting.resolution == 3
    import json

    cells = json.loads((repo / "notebooks" / "60_network.ipynb").read_text())["cells"]
    src = "".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
    assert 'Scenario.from_yaml(Path("..") / "examples" / "scenarios" / "network.yaml")' in src
