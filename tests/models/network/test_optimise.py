"""The network MILP against brute force, the greedy baseline, N-1, caps and objectives."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from powerfirst.errors import ValidationError
from powerfirst.models.network import (
    InfeasibleDemandWarning,
    build_instance,
    evaluate,
    greedy,
    kpis,
    plan_dataset,
    random_network,
    solve_network,
    violations,
)

#: one box of ~700 x 450 km (the edge cap, 10 ms, reaches ~340 km): caps bind for some pairs
BOX = (("US", 38.0, 42.0, -82.0, -74.0),)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_greedy_never_better_than_milp(seed):
    dem, sup = random_network(12, 20, (2027, 2029, 2031), seed=seed, boxes=BOX, module_mw=(40.0, 20.0, 10.0),
                              demand_scale=0.5)
    inst = build_instance(dem, sup, warn=False)
    g = greedy(inst)
    assert violations(inst, g) == []
    sol = solve_network(inst, mip_gap=0.0, time_limit=40)
    assert violations(inst, sol) == []
    cm, cg = evaluate(inst, sol)["objective_cost"], evaluate(inst, g)["objective_cost"]
    assert cg >= cm * (1 - 1e-9)
    if sol.status == "Optimal":
        assert sol.bound == pytest.approx(cm, rel=1e-6)
    else:  # a time limit: the bound still says the greedy is not better than the optimum could be
        assert sol.bound <= cm * (1 + 1e-9)


def _pair_instance(protected=("regional", "edge"), peak=4.0):
    """One edge demand point between two identical 20 MW sites 100 km apart (5 MW edge modules)."""
    dem, sup = random_network(2, 1, (2027,), seed=0, boxes=BOX)
    dem = dem.assign_coords(lat=("point", [40.0]), lon=("point", [-78.0]))
    z = np.zeros((1, 3, 1))
    z[0, 2, 0] = peak
    dem["peak_mw"] = (("point", "tier", "year"), z)
    dem["average_mw"] = (("point", "tier", "year"), z / 1.5)
    sup = sup.assign_coords(lat=("site", [40.0, 40.0]), lon=("site", [-78.6, -77.4]))
    sup["available_mw"] = (("site", "year"), np.full((2, 1), 20.0))
    sup["firm_mw"] = (("site", "year"), np.full((2, 1), 20.0))
    sup["capex_annual"] = (("site", "tier"), np.full((2, 3), 1e6))
    sup["energy_cost"] = ("site", np.array([80.0, 90.0]))
    sup["module_mw"] = ("tier", np.array([50.0, 20.0, 5.0]))
    return build_instance(dem, sup, protected=protected, warn=False)


def test_n1_builds_a_reserve_on_a_second_site():
    # with N-1 the 4 MW point needs 4 MW at each of the two sites (a module each); without, one module
    inst = _pair_instance()
    sol = solve_network(inst, mip_gap=0.0)
    assert sol.modules[:, 2, 0].tolist() == [1.0, 1.0]
    assert sol.u[2].max() == pytest.approx(0.0, abs=1e-9)
    # losing either site leaves capacity for the whole demand
    x, r = sol.x[2][:, 0], sol.r[2][:, 0]
    for f in range(2):
        assert (x + r).sum() - (x + r)[f] >= x.sum() - 1e-9
    loose = solve_network(_pair_instance(protected=("regional",)), mip_gap=0.0)
    assert loose.modules[:, 2, 0].sum() == 1.0
    assert evaluate(inst, sol)["capex_cost"][0] == pytest.approx(2 * 5 * 1e6)


def test_n1_holds_for_every_lost_site_on_a_random_plan():
    dem, sup = random_network(12, 20, (2027, 2029), seed=4, boxes=BOX, module_mw=(40.0, 20.0, 10.0))
    inst = build_instance(dem, sup, warn=False)
    sol = solve_network(inst, mip_gap=1e-3, time_limit=60)
    checked = 0
    for ti, td in enumerate(inst.tiers):
        if not td.protected:
            continue
        held = np.zeros((td.n_nodes, inst.n_sites, inst.n_years))
        served = np.zeros((td.n_nodes, inst.n_years))
        np.add.at(held, (td.pair_node, td.pair_site), sol.x[ti] + sol.r[ti])
        np.add.at(served, td.pair_node, sol.x[ti])
        for f in range(inst.n_sites):
            left = held.sum(axis=1) - held[:, f, :]
            assert (left >= served - 1e-6).all()
            checked += 1
    assert checked > 0 and sum(x.sum() for x in sol.x) > 0


def test_no_site_within_the_cap_is_reported_and_planned_as_unserved():
    dem, sup = random_network(8, 12, (2027, 2029), seed=5, boxes=BOX)
    # one demand point far out in the Atlantic: no site within the edge or regional cap
    lat = dem["lat"].values.copy()
    lon = dem["lon"].values.copy()
    lat[0], lon[0] = 35.0, -45.0
    dem = dem.assign_coords(lat=("point", lat), lon=("point", lon))
    with pytest.warns(InfeasibleDemandWarning, match="planned as unserved"):
        inst = build_instance(dem, sup)
    rows = inst.infeasible[inst.infeasible["point"] == "p0"]
    assert set(rows["tier"]) == {"regional", "edge"}
    assert rows["reason"].str.contains(r"no candidate within the 10 ms edge cap \(nearest", regex=True).any()
    assert rows["reason"].str.contains("30 ms regional cap").any()
    sol = solve_network(inst, mip_gap=1e-3, time_limit=60)
    plan = plan_dataset(inst, sol, demand=dem, supply=sup)
    p0 = plan.sel(point="p0")
    assert (p0["served_share"].sel(tier=["regional", "edge"]).values == 0).all()
    assert (p0["unserved_mw"].sel(tier="edge").values > 0).all()
    assert "nearest" in str(p0["unserved_reason"].sel(tier="edge").values)
    # the rest of the plan is not empty
    assert plan["built_mw"].sum() > 0 and (plan["served_share"].sel(point="p1") > 0).any()


def test_sovereignty_without_an_allowed_site_is_reported():
    boxes = (("DE", 48.0, 54.0, 7.0, 14.0), ("FR", 43.5, 49.5, -1.0, 6.0))
    dem, sup = random_network(10, 12, (2027,), seed=7, boxes=boxes)
    sup = sup.assign_coords(country=("site", np.full(10, "FR")))
    with pytest.warns(InfeasibleDemandWarning):
        inst = build_instance(dem, sup, sovereignty={"DE": ["self"]})
    de = inst.infeasible[inst.infeasible["country"] == "DE"]
    assert len(de) and set(de["tier"]) >= {"training"}
    assert de["reason"].str.contains("sovereignty rule allows for DE demand (DE)", regex=False).all()
    # French training demand (no cap, French sites allowed) is never infeasible
    fr = set(inst.points[dem["country"].values == "FR"])
    assert fr and not fr & set(inst.infeasible.loc[inst.infeasible["tier"] == "training", "point"])


def test_eu_residency_keeps_eu_demand_on_eu_sites():
    boxes = (("DE", 48.0, 54.0, 7.0, 14.0), ("GB", 51.0, 55.0, -3.5, 0.5), ("US", 38.0, 42.0, -80.0, -74.0))
    dem, sup = random_network(16, 15, (2027, 2029), seed=8, boxes=boxes, module_mw=(40.0, 20.0, 10.0))
    inst = build_instance(dem, sup, sovereignty="eu_residency", warn=False)
    sol = solve_network(inst, mip_gap=1e-3, time_limit=60)
    plan = plan_dataset(inst, sol, demand=dem, supply=sup)
    site_country = dict(zip(inst.sites, inst.site_country, strict=True))
    de_points = plan["point"].values[plan["point_country"].values == "DE"]
    serving = plan["serving_site"].sel(point=de_points).values.ravel()
    assert all(site_country[s] == "DE" for s in serving if s)
    # without the rule some German training demand goes abroad (cheaper sites elsewhere)
    free = solve_network(build_instance(dem, sup, warn=False), mip_gap=1e-3, time_limit=60)
    assert evaluate(inst, sol)["objective_cost"] >= free.objective * (1 - 1e-3)


def test_carbon_cap_and_objectives():
    dem, sup = random_network(12, 16, (2027, 2029), seed=9, boxes=BOX, module_mw=(40.0, 20.0, 10.0))
    inst = build_instance(dem, sup, warn=False)
    base = solve_network(inst, mip_gap=1e-4, time_limit=60)
    e0 = evaluate(inst, base)
    cap = 0.8 * e0["emissions_t"]
    capped = solve_network(inst, mip_gap=1e-4, time_limit=60, carbon_cap=cap)
    e1 = evaluate(inst, capped)
    assert (e1["emissions_t"] <= cap * (1 + 1e-6)).all()
    assert e1["objective_cost"] >= e0["objective_cost"] * (1 - 1e-3)
    green = solve_network(inst, objective="carbon", mip_gap=1e-4, time_limit=60)
    assert evaluate(inst, green)["emissions_t"].sum() <= e0["emissions_t"].sum() * (1 + 1e-6)
    work = solve_network(inst, objective="useful_work", mip_gap=1e-4, time_limit=60)
    ew = evaluate(inst, work)
    assert ew["work_h"].sum() / ew["energy_mwh"].sum() >= e0["work_h"].sum() / e0["energy_mwh"].sum() - 1e-6
    floor = float(e0["work_h"].sum() / e0["energy_mwh"].sum() / 1000.0) * 1.01
    fl = evaluate(inst, solve_network(inst, mip_gap=1e-4, time_limit=60, min_work_per_kwh=floor))
    assert fl["work_h"].sum() >= 1000.0 * floor * fl["energy_mwh"].sum() * (1 - 1e-6)
    with pytest.raises(ValidationError, match="expected an objective among cost, carbon, useful_work"):
        solve_network(inst, objective="speed")
    with pytest.raises(ValidationError, match="carbon cap >= 0"):
        solve_network(inst, carbon_cap=[-1.0, 2.0])


def test_plan_dataset_units_and_kpis():
    dem, sup = random_network(10, 14, (2027, 2029), seed=10, boxes=BOX, module_mw=(40.0, 20.0, 10.0))
    inst = build_instance(dem, sup, warn=False)
    sol = solve_network(inst, mip_gap=1e-3, time_limit=60)
    plan = plan_dataset(inst, sol, demand=dem, supply=sup)
    for v in plan.data_vars:
        if plan[v].dtype.kind == "f":
            assert "units" in plan[v].attrs, v
    assert isinstance(plan, xr.Dataset) and plan.attrs["method"] == "milp"
    k = kpis(plan)
    ev = evaluate(inst, sol)
    np.testing.assert_allclose(k["cost_usd"].to_numpy(), ev["total_cost"], rtol=1e-9)
    np.testing.assert_allclose(k["gw_edge"].to_numpy(), plan["built_mw"].sel(tier="edge").sum("site") / 1000)
    assert ((k["share_within_caps"] >= 0) & (k["share_within_caps"] <= 1 + 1e-9)).all()
    served = plan["latency_ms"].where(plan["serving_site"] != "")
    assert (served.sel(tier="edge") <= 10.0 + 1e-9).where(served.sel(tier="edge").notnull(), True).all()
    # capacity persists
    assert (plan["built_mw"].diff("year") >= 0).all()


class _SetInSolver:
    """A cancel event that becomes set when HiGHS first asks (from its interrupt callback, a function
    named ``interrupt``) and stays set, so a Cancelled can only follow the solver's own check."""

    def __init__(self):
        self.asked_by = []
        self.set_ = False

    def is_set(self) -> bool:
        import sys

        caller = sys._getframe(1).f_code.co_name
        self.asked_by.append(caller)
        self.set_ = self.set_ or caller == "interrupt"
        return self.set_


@pytest.mark.parametrize("start", ["none", "lp_round"])
def test_a_cancel_stops_the_solver_from_its_interrupt_callback(start):
    """HiGHS checks the event in its simplex, interior-point and branch-and-bound callbacks: set there,
    the solve stops and ``Cancelled`` says in which step; an event never set changes nothing."""
    from powerfirst.errors import Cancelled

    dem, sup = random_network(12, 20, (2027, 2029), seed=4, boxes=BOX, module_mw=(40.0, 20.0, 10.0))
    inst = build_instance(dem, sup, warn=False)
    ev = _SetInSolver()
    where = "in the branch and bound" if start == "none" else "in the LP relaxation"
    with pytest.raises(Cancelled, match=f"the network plan was cancelled \\({where}\\)"):
        solve_network(inst, mip_gap=1e-3, time_limit=60, start=start, cancel=ev)
    assert ev.asked_by[:2] == ["check", "check"] and "interrupt" in ev.asked_by  # two checks, then the solver's
    import threading

    never = threading.Event()
    a = solve_network(inst, mip_gap=1e-3, time_limit=60, start=start)
    b = solve_network(inst, mip_gap=1e-3, time_limit=60, start=start, cancel=never)
    assert b.objective == pytest.approx(a.objective, rel=1e-9) and b.status == a.status


def test_a_cancel_set_before_the_solve_builds_nothing():
    import threading

    from powerfirst.errors import Cancelled

    dem, sup = random_network(6, 8, (2027,), seed=1, boxes=BOX, module_mw=(40.0, 20.0, 10.0))
    inst = build_instance(dem, sup, warn=False)
    ev = threading.Event()
    ev.set()
    with pytest.raises(Cancelled, match=r"cancelled \(before the model was built\)"):
        solve_network(inst, cancel=ev)
