"""The plan Dataset and its KPIs: what is built where, for which tier, in which year, serving whom.

:func:`plan_dataset` turns a :class:`~powerfirst.models.network.optimise.Solution` into a
Dataset with units on every variable:

* on (site, tier, year): ``modules``, ``built_mw``, ``new_mw``, ``reserve_mw`` (the peak MW held
  as N-1 reserve), ``energy_mwh``, ``capex_usd``, ``energy_cost_usd``, ``cost_usd``,
  ``emissions_t``, ``useful_work_h``;
* on (point, tier, year): ``serving_site`` (the site serving the largest share; "" when
  unserved), ``serving_share``, ``n_serving_sites``, ``latency_ms`` (to the serving site),
  ``served_share``, ``unserved_mw`` (average MW not served), and ``unserved_reason`` (point, tier)
  from the infeasibility report;
* KPIs per year (:func:`kpis`): GW built per tier, cost, gCO2 per accelerator-hour, useful work
  per kWh, share of demand served within the caps, unserved energy.

:func:`plan_network` runs the whole chain on a demand and a supply: instance, greedy baseline,
MILP (with the better start), plan; its attrs carry the MILP's gap and the ratio of the greedy's
cost to the MILP's.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from powerfirst._provenance import provenance

from .demand import TIERS
from .instance import HOURS_PER_YEAR, Instance, build_instance
from .optimise import Solution, evaluate, greedy, solve_network

__all__ = ["plan_dataset", "kpis", "plan_network"]


def plan_dataset(inst: Instance, sol: Solution, *, demand: xr.Dataset | None = None,
                 supply: xr.Dataset | None = None) -> xr.Dataset:
    """The plan of a solution (see the module doc)."""
    S, T, Y = inst.n_sites, len(TIERS), inst.n_years
    P = inst.points.size
    H = HOURS_PER_YEAR
    M = inst.module_mw
    mods = sol.modules
    built = mods * M[None, :, None]
    new = np.diff(built, axis=2, prepend=0.0)
    energy = np.zeros((S, T, Y))
    reserve = np.zeros((S, T, Y))
    serving = np.full((P, T, Y), "", dtype=object)
    share = np.zeros((P, T, Y))
    nserv = np.zeros((P, T, Y), dtype=np.int64)
    lat = np.full((P, T, Y), np.nan)
    served = np.zeros((P, T, Y))
    unserved_mw = np.zeros((P, T, Y))
    reason = np.full((P, T), "", dtype=object)
    pindex = {p: i for i, p in enumerate(inst.points)}
    for row in inst.infeasible.itertuples():
        reason[pindex[row.point], TIERS.index(row.tier)] = row.reason
    avg_point = None
    if demand is not None:
        avg_point = demand["average_mw"].transpose("point", "tier", "year").sel(
            tier=list(TIERS), year=list(inst.years)).values.astype(float)
    for ti, td in enumerate(inst.tiers):
        x, r, u = sol.x[ti], sol.r[ti], sol.u[ti]
        np.add.at(energy[:, ti, :], td.pair_site, td.node_avg[td.pair_node] * H * x)
        np.add.at(reserve[:, ti, :], td.pair_site, td.node_peak[td.pair_node] * r)
        st = np.searchsorted(td.pair_node, np.arange(td.n_nodes + 1))
        for n in range(td.n_nodes):
            pts = np.flatnonzero(td.point_node == n)
            if pts.size == 0:
                continue
            ks = np.arange(st[n], st[n + 1])
            for y in range(Y):
                served[pts, ti, y] = 1.0 - u[n, y]
                if ks.size == 0 or x[ks, y].max(initial=0.0) <= 1e-9:
                    continue
                j = ks[int(np.argmax(x[ks, y]))]
                s = td.pair_site[j]
                serving[pts, ti, y] = inst.sites[s]
                share[pts, ti, y] = x[j, y]
                nserv[pts, ti, y] = int((x[ks, y] > 1e-9).sum())
                lat[pts, ti, y] = inst.rtt[pts, s]
        if avg_point is not None:
            unserved_mw[:, ti, :] = avg_point[:, ti, :] * (1.0 - served[:, ti, :])
    capex = inst.capex[:, :, None] * built
    ecost = energy * inst.energy_cost[:, None, None]
    emis = energy * inst.ci[:, None, None] / 1000.0
    work = energy * np.nan_to_num(inst.work, nan=0.0)[:, None, None]
    ev = evaluate(inst, sol)
    coords = {"site": inst.sites, "tier": list(TIERS), "year": inst.years, "point": inst.points}
    ds = xr.Dataset(coords=coords)
    if supply is not None:
        for c in ("lat", "lon", "country", "site_ba"):
            if c in supply.coords:
                ds.coords[f"site_{c}" if c != "site_ba" else "site_ba"] = ("site", supply[c].sel(site=inst.sites).values)
    if demand is not None:
        for c in ("lat", "lon", "country"):
            if c in demand.coords:
                ds.coords[f"point_{c}"] = ("point", demand[c].sel(point=inst.points).values)
    stY = ("site", "tier", "year")
    ptY = ("point", "tier", "year")
    ds["modules"] = (stY, mods.astype(np.int64), {"units": "1", "long_name": "build modules in place"})
    ds["built_mw"] = (stY, built, {"units": "MW", "long_name": "capacity in place (facility load)"})
    ds["new_mw"] = (stY, new, {"units": "MW", "long_name": "capacity built that year"})
    ds["reserve_mw"] = (stY, reserve, {"units": "MW", "long_name": "peak MW held as N-1 reserve"})
    ds["energy_mwh"] = (stY, energy, {"units": "MWh", "long_name": "energy served"})
    ds["capex_usd"] = (stY, capex, {"units": "USD", "long_name": "annualised capital cost"})
    ds["energy_cost_usd"] = (stY, ecost, {"units": "USD", "long_name": "energy cost incl. carbon price"})
    ds["cost_usd"] = (stY, capex + ecost, {"units": "USD", "long_name": "annualised capital + energy cost"})
    ds["emissions_t"] = (stY, emis, {"units": "tCO2", "long_name": "grid emissions of the energy served"})
    ds["useful_work_h"] = (stY, work, {"units": "h", "long_name": "accelerator-hours of the energy served"})
    ds["serving_site"] = (ptY, serving.astype(str), {"long_name": "site serving the largest share ('' unserved)"})
    ds["serving_share"] = (ptY, share, {"units": "1", "long_name": "share of the demand served by serving_site"})
    ds["n_serving_sites"] = (ptY, nserv, {"units": "1", "long_name": "sites serving a share of the demand"})
    ds["latency_ms"] = (ptY, lat, {"units": "ms", "long_name": "round-trip time to the serving site"})
    ds["served_share"] = (ptY, served, {"units": "1", "long_name": "share of the demand served"})
    if demand is not None:
        ds["unserved_mw"] = (ptY, unserved_mw, {"units": "MW", "long_name": "average demand not served"})
    ds["unserved_reason"] = (("point", "tier"), reason.astype(str),
                             {"long_name": "why no site may serve the demand ('' when some may)"})
    ds["unserved_cost_usd"] = ("year", ev["unserved_cost"], {"units": "USD", "long_name": "penalty of unserved demand"})
    ds["unserved_mwh"] = ("year", ev["unserved_mwh"], {"units": "MWh", "long_name": "demand energy not served"})
    ds["demand_mwh"] = ("year", ev["unserved_mwh"] + ev["energy_mwh"], {"units": "MWh", "long_name": "demand energy"})
    ds["year_weight"] = ("year", inst.year_weight, {"units": "1", "long_name": "weight of the year in the objective"})
    ds.attrs.update(provenance(
        title="network plan", method=sol.method, objective=sol.objective_name, solver_status=sol.status,
        objective_value=float(sol.objective), dual_bound=float(sol.bound), mip_gap=float(sol.gap),
        objective_cost_usd=float(ev["objective_cost"]), build_s=round(sol.build_s, 3), solve_s=round(sol.solve_s, 3),
        instance=str(inst.size()), **{k: str(v) for k, v in inst.settings.items()},
        infeasible_points=int(inst.infeasible["point"].nunique()) if len(inst.infeasible) else 0,
        demand_title=(demand.attrs.get("title", "") if demand is not None else ""),
        supply_costs=(supply.attrs.get("costs", "") if supply is not None else ""),
        supply_confidence=(supply.attrs.get("confidence", "") if supply is not None else "")))
    return ds


def kpis(plan: xr.Dataset) -> pd.DataFrame:
    """KPIs of a plan per year.

    Returns
    -------
    pandas.DataFrame
        Indexed by year: ``gw_<tier>`` built [GW], ``cost_usd`` (capital + energy + unserved
        penalty), ``capex_usd``, ``energy_cost_usd``, ``unserved_cost_usd`` [USD], ``energy_twh``
        [TWh], ``gco2_per_accelerator_hour`` [gCO2 h-1], ``useful_work_per_kwh`` [h kWh-1],
        ``share_within_caps`` [1] (demand energy served from sites within the tier caps — every
        assignment is within them — over demand energy), ``unserved_twh`` [TWh].
    """
    out = pd.DataFrame(index=pd.Index(plan["year"].values, name="year"))
    for t in plan["tier"].values:
        out[f"gw_{t}"] = plan["built_mw"].sel(tier=t).sum("site").values / 1000.0
    capex = plan["capex_usd"].sum(("site", "tier")).values
    ecost = plan["energy_cost_usd"].sum(("site", "tier")).values
    out["capex_usd"] = capex
    out["energy_cost_usd"] = ecost
    out["unserved_cost_usd"] = plan["unserved_cost_usd"].values
    out["cost_usd"] = capex + ecost + plan["unserved_cost_usd"].values
    e = plan["energy_mwh"].sum(("site", "tier")).values
    out["energy_twh"] = e / 1e6
    work = plan["useful_work_h"].sum(("site", "tier")).values
    emis = plan["emissions_t"].sum(("site", "tier")).values
    with np.errstate(invalid="ignore", divide="ignore"):
        out["gco2_per_accelerator_hour"] = np.where(work > 0, emis * 1e6 / work, np.nan)
        out["useful_work_per_kwh"] = np.where(e > 0, work / (e * 1000.0), np.nan)
        d = plan["demand_mwh"].values
        out["share_within_caps"] = np.where(d > 0, e / d, np.nan)
    out["unserved_twh"] = plan["unserved_mwh"].values / 1e6
    out.attrs["units"] = {"gw_*": "GW", "*_usd": "USD", "energy_twh": "TWh", "gco2_per_accelerator_hour": "gCO2 h-1",
                          "useful_work_per_kwh": "h kWh-1", "share_within_caps": "1", "unserved_twh": "TWh"}
    return out


def plan_network(demand: xr.Dataset, supply: xr.Dataset, *, sovereignty="none", objective: str = "cost",
                 carbon_cap=None, min_work_per_kwh=None, caps=None, max_sites_per_point: int | None = None,
                 mip_gap: float = 0.01, time_limit: float | None = 600.0, threads: int = 1,
                 method: str = "milp", cancel=None) -> xr.Dataset:
    """Plan a network: instance, greedy baseline, MILP, plan Dataset.

    Parameters
    ----------
    demand, supply : xarray.Dataset
        From :func:`~powerfirst.models.network.demand.demand_points` and
        :func:`~powerfirst.models.network.supply.site_supply`.
    sovereignty, caps, max_sites_per_point
        See :func:`~powerfirst.models.network.instance.build_instance`.
    objective, carbon_cap, min_work_per_kwh, mip_gap, time_limit, threads, cancel
        See :func:`~powerfirst.models.network.optimise.solve_network` (``cancel`` is also checked
        after the instance and the greedy baseline).
    method : {'milp', 'greedy'}

    Returns
    -------
    xarray.Dataset
        The plan (:func:`plan_dataset`); attrs add ``greedy_cost_usd`` and
        ``greedy_over_milp`` (the greedy's cost over the MILP's, >= 1 up to the gap).
    """
    from powerfirst.errors import Cancelled

    inst = build_instance(demand, supply, sovereignty=sovereignty, caps=caps, max_sites_per_point=max_sites_per_point)
    Cancelled.check(cancel, "the network plan was cancelled (after the instance was built)")
    g = greedy(inst)
    if method == "greedy":
        return plan_dataset(inst, g, demand=demand, supply=supply)
    if method != "milp":
        from powerfirst.errors import Problem, ValidationError

        raise ValidationError(Problem(f"expected method 'milp' or 'greedy', found {method!r}", variable="method"),
                              what="plan_network")
    sol = solve_network(inst, objective=objective, carbon_cap=carbon_cap, min_work_per_kwh=min_work_per_kwh,
                        mip_gap=mip_gap, time_limit=time_limit, threads=threads, cancel=cancel)
    plan = plan_dataset(inst, sol, demand=demand, supply=supply)
    gc = evaluate(inst, g)["objective_cost"]
    mc = evaluate(inst, sol)["objective_cost"]
    plan.attrs.update(greedy_cost_usd=float(gc), greedy_over_milp=float(gc / mc) if mc > 0 else float("nan"))
    return plan
