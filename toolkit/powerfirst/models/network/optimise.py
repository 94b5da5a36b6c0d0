r"""The network MILP (linopy + HiGHS), its greedy baseline and the evaluation both share.

Notation: site :math:`s`, tier :math:`t`, year :math:`y`, demand node :math:`n` of a tier
(:mod:`~powerfirst.models.network.instance`), allowed pair :math:`k = (n, s)`; peak and
average demand :math:`\hat D_{n,y}`, :math:`\bar D_{n,y}` [MW]; build module :math:`M_t` [MW];
MW available and firm :math:`A_{s,y}`, :math:`F_{s,y}`; BA flexible headroom :math:`H_b`;
annualised capital cost :math:`C_{s,t}` [USD MW-1 year-1]; energy cost :math:`e_s` [USD MWh-1];
carbon intensity :math:`\mathrm{CI}_s`; useful work :math:`\omega_s` [h MWh-1]; unserved cost
:math:`c^u`; hours :math:`h = 8766`; year weight :math:`\delta_y = (1 + r)^{-(y - y_0)}`.

Variables: modules in place :math:`N_{s,t,y} \in \mathbb{Z}_{\ge 0}` (capacity persists: it
never falls), served shares :math:`x_{k,y} \in [0, 1]`, reserve shares :math:`\rho_{k,y} \in
[0, 1]` (protected tiers), unserved shares :math:`u_{n,y} \in [0, 1]`, flexible MW used
:math:`f_{s,y} \ge 0`.

N-1 formulation (regional and edge)
-----------------------------------
Each node holds, at each site of its pairs, capacity for its served share :math:`x_{k}` plus a
reserve share :math:`\rho_{k}`, both *dedicated* to it.  The demand stays served when any one
site :math:`f` is lost iff the capacity it keeps elsewhere covers its served share:

.. math:: \sum_{k \ne f} (x_k + \rho_k) \ge \sum_k x_k
   \iff x_f + \rho_f \le \sum_k \rho_k =: R_n \qquad \forall f

(one constraint per pair, with the auxiliary :math:`R_n`).  The reserve is not shared between
nodes, which is conservative (the lost site's nodes never compete for the same spare MW) and
sound without enumerating failures.  Spreading a node over :math:`m` equal sites needs a
reserve of :math:`1 / (m - 1)`: two sites double the capacity, five need 25 % more.  A node with
a single allowed site cannot meet N-1: its demand stays unserved (and is reported).

Objective (``cost``, default)

.. math:: \min \sum_y \delta_y \Big[\sum_{s,t} C_{s,t} M_t N_{s,t,y}
   + \sum_{t,k} h \bar D_{n(k),y}\, e_{s(k)}\, x_{k,y} + \sum_{t,n} h \bar D_{n,y}\, c^u u_{n,y}\Big]

``carbon`` minimises the emissions :math:`\sum \delta_y h \bar D x\, \mathrm{CI} / 1000` [t] plus
10 t per unserved MWh (above any grid intensity, so demand is still served), ``useful_work``
maximises :math:`\sum \delta_y h \bar D x\, \omega` minus 1 000 h per unserved MWh; both add
:math:`10^{-6}` of the cost as a tie-break (capital is otherwise free to them).  Caps: a carbon
cap per year [tCO2] and a floor on the useful work per kWh served.
"""

from __future__ import annotations

import time as _time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import xarray as xr

from powerfirst.errors import Cancelled, Problem, ValidationError

from .demand import TIERS
from .instance import HOURS_PER_YEAR, Instance

__all__ = ["OBJECTIVES", "Solution", "build_network_milp", "solve_network", "greedy", "evaluate", "violations",
           "define_demand_constraints", "define_n1_constraints", "define_capacity_constraints",
           "define_linking_constraints", "define_persistence_constraints", "define_power_constraints", "define_headroom_constraints",
           "define_carbon_constraints", "define_work_constraints", "define_objective"]

OBJECTIVES = ("cost", "carbon", "useful_work")
#: penalties of unserved demand in the non-cost objectives [t MWh-1] and [h MWh-1]
_UNSERVED_T_PER_MWH = 10.0
_UNSERVED_H_PER_MWH = 1000.0
_TIE_BREAK = 1e-6


@dataclass
class Solution:
    """A plan's decisions in the arrays of an :class:`~powerfirst.models.network.instance.Instance`.

    Attributes
    ----------
    modules : numpy.ndarray
        (S, T, Y) modules in place [1].
    x, r, u : list of numpy.ndarray
        Per tier: served shares (pair, year), reserve shares (pair, year; zeros when not protected),
        unserved shares (node, year) [1].
    objective : float
        Value of the objective solved for (cost [USD] for the greedy).
    bound : float
        Best dual bound of the MILP (NaN for the greedy).
    gap : float
        Relative gap ``|objective - bound| / |objective|`` (NaN for the greedy).
    """

    method: str
    objective_name: str
    modules: np.ndarray
    x: list
    r: list
    u: list
    status: str = ""
    objective: float = float("nan")
    bound: float = float("nan")
    gap: float = float("nan")
    build_s: float = 0.0
    solve_s: float = 0.0
    info: dict = field(default_factory=dict)


# ----------------------------------------------------------------------------------------------
# evaluation (shared by the MILP, the greedy and the plan)


def _pair_avg(td, y=None):
    return td.node_avg[td.pair_node] if y is None else td.node_avg[td.pair_node, y]


def evaluate(inst: Instance, sol: Solution) -> dict:
    """Cost, energy, carbon and useful work of a solution, by year and in total.

    Returns
    -------
    dict
        Arrays over years: ``capex_cost``, ``energy_cost``, ``unserved_cost``, ``total_cost`` [USD];
        ``energy_mwh``, ``unserved_mwh`` [MWh]; ``emissions_t`` [tCO2]; ``work_h`` [h]; and
        ``objective_cost`` = sum over years of ``year_weight * total_cost`` [USD].
    """
    Y = inst.n_years
    H = HOURS_PER_YEAR
    capex = np.einsum("st,t,sty->y", inst.capex, inst.module_mw, sol.modules)
    energy_cost = np.zeros(Y)
    unserved_cost = np.zeros(Y)
    energy = np.zeros(Y)
    unserved = np.zeros(Y)
    emis = np.zeros(Y)
    work = np.zeros(Y)
    w = np.nan_to_num(inst.work, nan=0.0)
    for ti, td in enumerate(inst.tiers):
        mwh = _pair_avg(td) * H * sol.x[ti]  # (K, Y)
        s = td.pair_site
        energy_cost += (mwh * inst.energy_cost[s, None]).sum(axis=0)
        energy += mwh.sum(axis=0)
        emis += (mwh * inst.ci[s, None]).sum(axis=0) / 1000.0
        work += (mwh * w[s, None]).sum(axis=0)
        umwh = td.node_avg * H * sol.u[ti]
        unserved += umwh.sum(axis=0)
        unserved_cost += umwh.sum(axis=0) * inst.unserved_cost
    total = capex + energy_cost + unserved_cost
    return {"capex_cost": capex, "energy_cost": energy_cost, "unserved_cost": unserved_cost, "total_cost": total,
            "energy_mwh": energy, "unserved_mwh": unserved, "emissions_t": emis, "work_h": work,
            "objective_cost": float((inst.year_weight * total).sum())}


def violations(inst: Instance, sol: Solution, tol: float = 1e-6) -> list[str]:
    """Every constraint of the MILP a solution breaks (empty when it is feasible)."""
    out = []
    S, T, Y = sol.modules.shape
    mods = sol.modules
    if np.abs(mods - np.round(mods)).max(initial=0) > 1e-6 or (mods < -tol).any():
        out.append("modules are not non-negative integers")
    if (np.diff(mods, axis=2) < -tol).any():
        out.append("capacity falls between years")
    if (mods[~inst.hosts] > tol).any():
        out.append("modules of a tier at a site that may not host it")
    built = np.einsum("t,sty->sy", inst.module_mw, mods)
    if (built > inst.available + tol * (1 + inst.available)).any():
        s, y = np.argwhere(built > inst.available + tol * (1 + inst.available))[0]
        out.append(f"site {inst.sites[s]} year {inst.years[y]}: {built[s, y]:.3f} MW built > {inst.available[s, y]:.3f} available")
    flex = np.maximum(built - inst.firm, 0.0)
    for b, h in enumerate(inst.headroom):
        if np.isfinite(h):
            used = flex[inst.site_ba == b].sum(axis=0)
            if (used > h + tol * (1 + h)).any():
                out.append(f"BA {inst.bas[b]}: flexible MW {used.max():.3f} > headroom {h:.3f}")
    for ti, td in enumerate(inst.tiers):
        x, r, u = sol.x[ti], sol.r[ti], sol.u[ti]
        if ((x < -tol) | (x > 1 + tol)).any() or ((u < -tol) | (u > 1 + tol)).any() or (r < -tol).any():
            out.append(f"{td.tier}: shares out of [0, 1]")
        served = np.zeros((td.n_nodes, Y))
        np.add.at(served, td.pair_node, x)
        bad = np.abs(served + u - 1) > 1e-5
        if bad.any():
            out.append(f"{td.tier}: served + unserved != 1 at {int(bad.sum())} node-years")
        load = np.zeros((S, Y))
        np.add.at(load, td.pair_site, td.node_peak[td.pair_node] * (x + r))
        capm = inst.module_mw[ti] * mods[:, ti, :]
        if (load > capm + 1e-5 * (1 + capm)).any():
            s, y = np.argwhere(load > capm + 1e-5 * (1 + capm))[0]
            out.append(f"{td.tier}: site {inst.sites[s]} year {inst.years[y]} carries {load[s, y]:.3f} MW > "
                       f"{capm[s, y]:.3f} MW of modules")
        if td.protected:
            R = np.zeros((td.n_nodes, Y))
            np.add.at(R, td.pair_node, r)
            if (x + r > R[td.pair_node] + 1e-5).any():
                out.append(f"{td.tier}: N-1 broken (a site holds more of a node than its reserve elsewhere)")
        elif np.abs(r).max(initial=0) > tol:
            out.append(f"{td.tier}: reserve on a tier without N-1")
    return out


# ----------------------------------------------------------------------------------------------
# the MILP


def _dims(t):
    return f"pair_{t}", f"node_{t}"


def define_demand_constraints(m, inst: Instance):
    r"""Every node's demand is served or unserved: :math:`\sum_{k \in n} x_{k,y} + u_{n,y} = 1`."""
    for td in inst.tiers:
        if td.n_nodes == 0:
            continue
        pd_, nd = _dims(td.tier)
        x, u = m.variables[f"x_{td.tier}"], m.variables[f"u_{td.tier}"]
        present = np.unique(td.pair_node)
        if present.size:
            grouper = xr.DataArray(td.pair_node, dims=pd_, coords={pd_: np.arange(td.n_pairs)}, name=nd)
            lhs = x.groupby(grouper).sum() + u.sel({nd: present})
            m.add_constraints(lhs == 1, name=f"demand_{td.tier}")


def define_n1_constraints(m, inst: Instance):
    r"""N-1 of the protected tiers: :math:`R_{n,y} = \sum_{k \in n} \rho_{k,y}`,
    :math:`x_{k,y} + \rho_{k,y} \le R_{n(k),y}` (module doc)."""
    for td in inst.tiers:
        if not td.protected or td.n_pairs == 0:
            continue
        pd_, nd = _dims(td.tier)
        x, r, R = m.variables[f"x_{td.tier}"], m.variables[f"r_{td.tier}"], m.variables[f"R_{td.tier}"]
        present = np.unique(td.pair_node)
        grouper = xr.DataArray(td.pair_node, dims=pd_, coords={pd_: np.arange(td.n_pairs)}, name=nd)
        m.add_constraints(r.groupby(grouper).sum() - R.sel({nd: present}) == 0, name=f"reserve_{td.tier}")
        idx = xr.DataArray(td.pair_node, dims=pd_)
        m.add_constraints(x + r - R.isel({nd: idx}) <= 0, name=f"n1_{td.tier}")


def define_capacity_constraints(m, inst: Instance):
    r"""A site's modules of a tier carry the peak of what it serves and reserves:
    :math:`\sum_{k \ni s} \hat D_{n(k),y} (x_{k,y} + \rho_{k,y}) \le M_t N_{s,t,y}`."""
    N = m.variables["modules"]
    for ti, td in enumerate(inst.tiers):
        if td.n_pairs == 0:
            continue
        pd_, _ = _dims(td.tier)
        x = m.variables[f"x_{td.tier}"]
        peak = xr.DataArray(td.node_peak[td.pair_node], dims=(pd_, "year"),
                            coords={pd_: np.arange(td.n_pairs), "year": inst.years})
        held = x + m.variables[f"r_{td.tier}"] if td.protected else x
        grouper = xr.DataArray(td.pair_site, dims=pd_, coords={pd_: np.arange(td.n_pairs)}, name="site")
        load = (peak * held).groupby(grouper).sum()
        present = np.unique(td.pair_site)
        m.add_constraints(load - float(inst.module_mw[ti]) * N.sel(tier=td.tier, site=present) <= 0,
                          name=f"capacity_{td.tier}")


def define_linking_constraints(m, inst: Instance):
    r"""Valid inequalities that tighten the relaxation where a node is smaller than a module:
    :math:`x_{k,y} \le N_{s(k),t,y}` and :math:`\rho_{k,y} \le N_{s(k),t,y}` (a site that serves or
    reserves any share of a node has at least one module; the capacity constraint alone only asks
    for :math:`\hat D x / M_t`).  Added for the pairs whose node peak is below one module."""
    N = m.variables["modules"]
    for ti, td in enumerate(inst.tiers):
        if td.n_pairs == 0:
            continue
        pd_, _ = _dims(td.tier)
        small = xr.DataArray(td.node_peak[td.pair_node] < inst.module_mw[ti], dims=(pd_, "year"),
                             coords={pd_: np.arange(td.n_pairs), "year": inst.years})
        if not bool(small.any()):
            continue
        Ns = N.sel(tier=td.tier).isel(site=xr.DataArray(td.pair_site, dims=pd_))
        held = [m.variables[f"x_{td.tier}"]] + ([m.variables[f"r_{td.tier}"]] if td.protected else [])
        for v, name in zip(held, ("x", "r"), strict=False):
            m.add_constraints(v - Ns <= 0, name=f"link_{name}_{td.tier}", mask=small)


def define_persistence_constraints(m, inst: Instance):
    r"""Capacity persists: :math:`N_{s,t,y} \ge N_{s,t,y-1}`."""
    if inst.n_years < 2:
        return
    import warnings

    N = m.variables["modules"]
    with warnings.catch_warnings():  # the first year has no predecessor: N[y0] >= 0 (an absent term is 0)
        warnings.simplefilter("ignore")
        m.add_constraints(N - N.shift(year=1) >= 0, name="persistence")


def define_power_constraints(m, inst: Instance):
    r"""Site load within the power available that year: :math:`\sum_t M_t N_{s,t,y} \le A_{s,y}`."""
    N = m.variables["modules"]
    M = xr.DataArray(inst.module_mw, dims="tier", coords={"tier": list(TIERS)})
    A = xr.DataArray(inst.available, dims=("site", "year"), coords={"site": np.arange(inst.n_sites), "year": inst.years})
    m.add_constraints((M * N).sum("tier") <= A, name="power")


def _flex_sites(inst: Instance) -> np.ndarray:
    finite = np.zeros(inst.n_sites, bool)
    ok = inst.site_ba >= 0
    finite[ok] = np.isfinite(inst.headroom[inst.site_ba[ok]])
    return np.flatnonzero(finite & ((inst.available - inst.firm).max(axis=1) > 1e-9))


def define_headroom_constraints(m, inst: Instance):
    r"""Load above the firm MW uses the BA's flexible headroom:
    :math:`\sum_t M_t N_{s,t,y} - f_{s,y} \le F_{s,y}`, :math:`\sum_{s \in b} f_{s,y} \le H_b`."""
    sites = _flex_sites(inst)
    if sites.size == 0:
        return
    N = m.variables["modules"]
    f = m.variables["flex"]
    M = xr.DataArray(inst.module_mw, dims="tier", coords={"tier": list(TIERS)})
    F = xr.DataArray(inst.firm[sites], dims=("site", "year"), coords={"site": sites, "year": inst.years})
    m.add_constraints((M * N.sel(site=sites)).sum("tier") - f <= F, name="flexible_use")
    grouper = xr.DataArray(inst.site_ba[sites], dims="site", coords={"site": sites}, name="ba")
    bas = np.unique(inst.site_ba[sites])
    Hb = xr.DataArray(inst.headroom[bas], dims="ba", coords={"ba": bas})
    m.add_constraints(f.groupby(grouper).sum() <= Hb, name="headroom")


def _served_expr(m, inst: Instance, coef_site: np.ndarray):
    """sum over tiers and pairs of h * avg * coef[site] * x: an expression on year."""
    terms = []
    for td in inst.tiers:
        if td.n_pairs == 0:
            continue
        pd_, _ = _dims(td.tier)
        c = xr.DataArray(_pair_avg(td) * HOURS_PER_YEAR * coef_site[td.pair_site, None], dims=(pd_, "year"),
                         coords={pd_: np.arange(td.n_pairs), "year": inst.years})
        terms.append((c * m.variables[f"x_{td.tier}"]).sum(pd_))
    return terms


def define_carbon_constraints(m, inst: Instance, cap):
    r"""Emissions of each year within a cap [tCO2]: :math:`\sum h \bar D x\, \mathrm{CI} / 1000 \le E^{cap}_y`."""
    if cap is None:
        return
    terms = _served_expr(m, inst, inst.ci / 1000.0)
    if terms:
        capv = xr.DataArray(np.broadcast_to(np.asarray(cap, float), (inst.n_years,)).copy(), dims="year",
                            coords={"year": inst.years})
        m.add_constraints(sum(terms) <= capv, name="carbon_cap")


def define_work_constraints(m, inst: Instance, floor):
    r"""Useful work per kWh served at least a floor [h kWh-1]: :math:`\sum h \bar D x (\omega - 1000 w^{min}) \ge 0`."""
    if floor is None:
        return
    terms = _served_expr(m, inst, np.nan_to_num(inst.work, nan=0.0) - 1000.0 * float(floor))
    if terms:
        m.add_constraints(sum(terms) >= 0, name="work_floor")


def define_objective(m, inst: Instance, objective: str):
    """The objective (module doc), weighted by year."""
    wy = xr.DataArray(inst.year_weight, dims="year", coords={"year": inst.years})
    N = m.variables["modules"]
    cap = xr.DataArray(inst.capex * inst.module_mw[None, :], dims=("site", "tier"),
                       coords={"site": np.arange(inst.n_sites), "tier": list(TIERS)})
    cost = (wy * cap * N).sum()
    for td in inst.tiers:
        if td.n_pairs:
            pd_, _ = _dims(td.tier)
            c = xr.DataArray(_pair_avg(td) * HOURS_PER_YEAR * inst.energy_cost[td.pair_site, None]
                             * inst.year_weight[None, :], dims=(pd_, "year"),
                             coords={pd_: np.arange(td.n_pairs), "year": inst.years})
            cost = cost + (c * m.variables[f"x_{td.tier}"]).sum()
    unserved_mwh = []
    for td in inst.tiers:
        if td.n_nodes:
            _, nd = _dims(td.tier)
            c = xr.DataArray(td.node_avg * HOURS_PER_YEAR * inst.year_weight[None, :], dims=(nd, "year"),
                             coords={nd: np.arange(td.n_nodes), "year": inst.years})
            unserved_mwh.append((c * m.variables[f"u_{td.tier}"]).sum())
    if objective == "cost":
        obj = cost
        for e in unserved_mwh:
            obj = obj + inst.unserved_cost * e
    else:
        coef = inst.ci / 1000.0 if objective == "carbon" else -np.nan_to_num(inst.work, nan=0.0)
        pen = _UNSERVED_T_PER_MWH if objective == "carbon" else _UNSERVED_H_PER_MWH
        obj = _TIE_BREAK * cost
        for td in inst.tiers:
            if td.n_pairs:
                pd_, _ = _dims(td.tier)
                c = xr.DataArray(_pair_avg(td) * HOURS_PER_YEAR * coef[td.pair_site, None] * inst.year_weight[None, :],
                                 dims=(pd_, "year"), coords={pd_: np.arange(td.n_pairs), "year": inst.years})
                obj = obj + (c * m.variables[f"x_{td.tier}"]).sum()
        for e in unserved_mwh:
            obj = obj + pen * e
    m.add_objective(obj)


def build_network_milp(inst: Instance, *, objective: str = "cost", carbon_cap=None, min_work_per_kwh=None):
    """The linopy model of an instance (variables and constraint families of the module doc)."""
    import linopy

    if objective not in OBJECTIVES:
        raise ValidationError(Problem(f"expected an objective among {', '.join(OBJECTIVES)}, found {objective!r}",
                                      variable="objective"), what="network MILP")
    if objective == "useful_work" and not np.isfinite(inst.work).any():
        raise ValidationError(Problem("objective 'useful_work' needs work_per_mwh at the sites (the screen's "
                                      "accelerator_hours_per_mwh); none is known", variable="work_per_mwh"),
                              what="network MILP")
    if carbon_cap is not None:
        c = np.asarray(carbon_cap, float)
        if c.ndim > 1 or (c.ndim == 1 and c.size != inst.n_years) or (c < 0).any() or not np.isfinite(c).all():
            raise ValidationError(Problem(f"expected a carbon cap >= 0 tCO2 (one number or one per year: "
                                          f"{inst.n_years}), found {carbon_cap!r}", variable="carbon_cap"),
                                  what="network MILP")
    if min_work_per_kwh is not None and not 0 <= float(min_work_per_kwh) <= 10:
        raise ValidationError(Problem(f"expected a floor in [0, 10] h kWh-1, found {min_work_per_kwh!r}",
                                      variable="min_work_per_kwh"), what="network MILP")
    m = linopy.Model()
    year = pd.Index(inst.years, name="year")
    site = pd.RangeIndex(inst.n_sites, name="site")
    tier = pd.Index(list(TIERS), name="tier")
    # N <= floor(A_y / M_t): the power constraint of one tier rounded down (valid, and much tighter
    # than the relaxation's fractional modules in the years a site's power is still ramping)
    ub = np.zeros((inst.n_sites, len(TIERS), inst.n_years))
    for ti, td in enumerate(inst.tiers):
        s = np.unique(td.pair_site)
        ub[s, ti, :] = np.floor(inst.available[s] / inst.module_mw[ti] + 1e-9)
    ub = np.where(inst.hosts[:, :, None], ub, 0.0)
    m.add_variables(lower=0, upper=xr.DataArray(ub, dims=("site", "tier", "year"),
                                                coords={"site": site, "tier": tier, "year": year}),
                    coords=[site, tier, year], name="modules", integer=True)
    for td in inst.tiers:
        pd_, nd = _dims(td.tier)
        pair = pd.RangeIndex(td.n_pairs, name=pd_)
        node = pd.RangeIndex(td.n_nodes, name=nd)
        has = np.zeros(td.n_nodes, bool)
        has[td.pair_node] = True
        lo = xr.DataArray(np.where(has, 0.0, 1.0)[:, None] * np.ones(inst.n_years)[None, :], dims=(nd, "year"),
                          coords={nd: node, "year": year})
        # a node without demand in a year (peak 0): u is free but costs nothing; pin it to 0
        zero = td.node_peak <= 0
        lo = lo.where(~zero, 0.0)
        up = xr.DataArray(np.where(zero, 0.0, 1.0), dims=(nd, "year"), coords={nd: node, "year": year})
        m.add_variables(lower=lo, upper=np.maximum(up, lo), coords=[node, year], name=f"u_{td.tier}")
        m.add_variables(lower=0, upper=1, coords=[pair, year], name=f"x_{td.tier}")
        if td.protected:
            m.add_variables(lower=0, upper=1, coords=[pair, year], name=f"r_{td.tier}")
            m.add_variables(lower=0, coords=[node, year], name=f"R_{td.tier}")
    fs = _flex_sites(inst)
    if fs.size:
        room = xr.DataArray(np.maximum(inst.available[fs] - inst.firm[fs], 0.0), dims=("site", "year"),
                            coords={"site": fs, "year": inst.years})
        m.add_variables(lower=0, upper=room, coords=[pd.Index(fs, name="site"), year], name="flex")
    define_demand_constraints(m, inst)
    define_n1_constraints(m, inst)
    define_capacity_constraints(m, inst)
    define_linking_constraints(m, inst)
    define_persistence_constraints(m, inst)
    define_power_constraints(m, inst)
    define_headroom_constraints(m, inst)
    define_carbon_constraints(m, inst, carbon_cap)
    define_work_constraints(m, inst, min_work_per_kwh)
    define_objective(m, inst, objective)
    return m


def solve_network(inst: Instance, *, objective: str = "cost", carbon_cap=None, min_work_per_kwh=None,
                  mip_gap: float = 1e-4, time_limit: float | None = None, threads: int = 1, start: str = "auto",
                  solver_options: dict | None = None, log: bool = False, cancel=None) -> Solution:
    """Solve the network MILP with HiGHS, from a MIP start.

    Parameters
    ----------
    inst : Instance
    objective : {'cost', 'carbon', 'useful_work'}
    carbon_cap : float or sequence, optional
        Emissions cap per year [tCO2].
    min_work_per_kwh : float, optional
        Floor of useful work per kWh served [h kWh-1].
    mip_gap : float
        Relative MIP gap at which HiGHS stops [1].
    time_limit : float, optional
        Wall time for the whole solve, starts included [s].
    threads : int
    start : {'auto', 'greedy', 'lp_round', 'none'}
        MIP start handed to HiGHS: the greedy baseline (cost objective without caps), the
        LP-rounding heuristic (the LP relaxation's modules rounded up within the power and the
        headroom, then the assignment LP with those modules), the better of the two (``auto``),
        or none.  With a start the MILP is never worse than it.
    solver_options : mapping, optional
        More HiGHS options.
    log : bool
        Print HiGHS's log.
    cancel : threading.Event, optional
        Set from another thread to stop: checked between the steps and by HiGHS's interrupt
        callbacks (simplex, interior point, branch and bound), so a solve stops within one
        callback interval; then :class:`~powerfirst.errors.Cancelled` is raised and nothing returned.

    Returns
    -------
    Solution
        ``objective``, ``bound`` and ``gap`` as HiGHS reports them, ``status`` its model status,
        ``info`` the model size, the starts' objectives and the time of each step.

    Raises
    ------
    RuntimeError
        HiGHS found no feasible solution (never with a start: everything unserved is feasible).
    powerfirst.errors.Cancelled
        ``cancel`` was set.
    """
    if start not in ("auto", "greedy", "lp_round", "none"):
        raise ValidationError(Problem(f"expected start 'auto', 'greedy', 'lp_round' or 'none', found {start!r}",
                                      variable="start"), what="network MILP")
    t0 = _time.perf_counter()
    deadline = None if time_limit is None else t0 + float(time_limit)
    _stop_if(cancel, "before the model was built")
    m = build_network_milp(inst, objective=objective, carbon_cap=carbon_cap, min_work_per_kwh=min_work_per_kwh)
    lab = _Labels(m)
    t1 = _time.perf_counter()
    opts = {"threads": int(threads), "output_flag": bool(log), "mip_rel_gap": float(mip_gap), **(solver_options or {})}
    starts = {}
    lp_bound = float("-inf")
    caps = carbon_cap is not None or min_work_per_kwh is not None
    if start in ("auto", "greedy") and objective == "cost" and not caps:
        g = greedy(inst)
        starts["greedy"] = (float(lab.c @ lab.column_vector(inst, g)), g)
    _stop_if(cancel, "after the greedy start")
    if start in ("auto", "lp_round"):
        lr = _lp_round(inst, m, lab, opts, deadline, cancel)
        if lr is not None:
            starts["lp_round"] = (float(lab.c @ lab.column_vector(inst, lr)), lr)
            lp_bound = lr.info["lp_bound"]
    t2 = _time.perf_counter()
    h = _highs(m, opts, deadline, cancel=cancel)
    best = min(starts, key=lambda k: starts[k][0]) if starts else None
    if best is not None:
        import highspy

        hs = highspy.HighsSolution()
        hs.col_value = lab.column_vector(inst, starts[best][1]).tolist()
        h.setSolution(hs)
    _run(h, cancel, "in the branch and bound")
    t3 = _time.perf_counter()
    status = h.modelStatusToString(h.getModelStatus())
    info = h.getInfo()
    if int(info.primal_solution_status) == 0:
        raise RuntimeError(f"HiGHS found no plan ({status}); raise time_limit or give a start")
    col = np.asarray(h.getSolution().col_value, dtype=float)
    sol = lab.solution(inst, col, objective)
    sol.status = status
    sol.objective = float(info.objective_function_value)
    # the LP relaxation is a valid bound too: it is all there is when the branch and bound stops
    # before its root LP
    sol.bound = max(float(info.mip_dual_bound), lp_bound)
    sol.gap = abs(sol.objective - sol.bound) / max(abs(sol.objective), 1e-12) if np.isfinite(sol.bound) else float("nan")
    sol.build_s, sol.solve_s = t1 - t0, t3 - t1
    sol.info = {"variables": int(lab.n_cols), "constraints": int(h.getNumRow()),
                "integers": int((np.asarray(m.variables["modules"].upper) > 0).sum()),
                "start": best or "none", **{f"start_{k}_objective": v[0] for k, v in starts.items()},
                "lp_bound": lp_bound, "highs_bound": float(info.mip_dual_bound),
                "starts_s": t2 - t1, "mip_s": t3 - t2, "nodes": int(info.mip_node_count)}
    return sol


def _highs(m, opts: dict, deadline: float | None, relax: bool = False, cancel=None):
    """HiGHS on the linopy model ``m``; with ``cancel`` (a ``threading.Event``) its interrupt
    callbacks stop the solve once the event is set."""
    import linopy.io

    h = linopy.io.to_highspy(m)
    for k, v in opts.items():
        h.setOptionValue(k, v)
    if relax:
        h.setOptionValue("solve_relaxation", True)
    if deadline is not None:
        h.setOptionValue("time_limit", max(deadline - _time.perf_counter(), 1.0))
    if cancel is not None:
        def interrupt(event, cancel=cancel):
            if cancel.is_set():
                event.interrupt()

        h.cbSimplexInterrupt += interrupt
        h.cbIpmInterrupt += interrupt
        h.cbMipInterrupt += interrupt
    return h


def _stop_if(cancel, where: str) -> None:
    Cancelled.check(cancel, f"the network plan was cancelled ({where})")


def _run(h, cancel, where: str) -> None:
    """``h.run()``, then :class:`Cancelled` when ``cancel`` was set (HiGHS stopped by its callback)."""
    h.run()
    _stop_if(cancel, where)


class _Labels:
    """Columns of the HiGHS model <-> the arrays of a :class:`Solution`."""

    def __init__(self, m):
        M = m.matrices
        self.vlabels = np.asarray(M.vlabels)
        self.c = np.asarray(M.c, dtype=float)
        self.n_cols = self.vlabels.size
        n = int(self.vlabels.max()) + 1 if self.vlabels.size else 0
        self.pos = np.full(n, -1, dtype=np.int64)
        self.pos[self.vlabels] = np.arange(self.vlabels.size)
        self.labels = {k: np.asarray(m.variables[k].labels.values) for k in m.variables}

    def columns(self, name: str) -> np.ndarray:
        lab = self.labels[name]
        return np.where(lab >= 0, self.pos[np.clip(lab, 0, max(self.pos.size - 1, 0))], -1)

    def values(self, col: np.ndarray, name: str, shape) -> np.ndarray:
        if name not in self.labels:
            return np.zeros(shape)
        p = self.columns(name)
        return np.where(p >= 0, col[np.maximum(p, 0)], 0.0)

    def solution(self, inst: Instance, col: np.ndarray, objective: str) -> Solution:
        Y = inst.n_years
        mods = np.round(self.values(col, "modules", (inst.n_sites, len(TIERS), Y)))
        xs, rs, us = [], [], []
        for td in inst.tiers:
            xs.append(np.clip(self.values(col, f"x_{td.tier}", (td.n_pairs, Y)), 0, 1))
            rs.append(np.clip(self.values(col, f"r_{td.tier}", (td.n_pairs, Y)), 0, 1) if td.protected
                      else np.zeros((td.n_pairs, Y)))
            us.append(np.clip(self.values(col, f"u_{td.tier}", (td.n_nodes, Y)), 0, 1))
        return Solution(method="milp", objective_name=objective, modules=mods, x=xs, r=rs, u=us)

    def column_vector(self, inst: Instance, sol: Solution) -> np.ndarray:
        col = np.zeros(self.n_cols)

        def put(name, arr):
            if name in self.labels:
                p = self.columns(name)
                ok = p >= 0
                col[p[ok]] = np.asarray(arr, float)[ok]

        put("modules", sol.modules)
        for ti, td in enumerate(inst.tiers):
            put(f"x_{td.tier}", sol.x[ti])
            put(f"u_{td.tier}", sol.u[ti])
            if td.protected:
                put(f"r_{td.tier}", sol.r[ti])
                R = np.zeros((td.n_nodes, inst.n_years))
                np.add.at(R, td.pair_node, sol.r[ti])
                put(f"R_{td.tier}", R)
        if "flex" in self.labels:
            fs = _flex_sites(inst)
            built = np.einsum("t,sty->sy", inst.module_mw, sol.modules)
            put("flex", np.clip(built[fs] - inst.firm[fs], 0.0, np.maximum(inst.available[fs] - inst.firm[fs], 0.0)))
        return col


def _lp_round(inst: Instance, m, lab: _Labels, opts: dict, deadline: float | None, cancel=None) -> Solution | None:
    """LP-rounding start: relaxation, modules rounded up within power and headroom, assignment LP."""
    # interior point for the large LPs (3-5x faster than the dual simplex on these instances)
    lp_opts = {**opts, "solver": "ipm"}
    h = _highs(m, {**lp_opts, "run_crossover": "off"}, deadline, relax=True, cancel=cancel)  # a bound and fractions
    _run(h, cancel, "in the LP relaxation")
    if int(h.getInfo().primal_solution_status) == 0:
        return None
    lp_ok = h.getModelStatus() == h.getModelStatus().__class__.kOptimal
    lp_value = float(h.getInfo().objective_function_value) if lp_ok else float("-inf")
    col = np.asarray(h.getSolution().col_value, dtype=float)
    nl = lab.values(col, "modules", (inst.n_sites, len(TIERS), inst.n_years))
    nr = _round_modules(inst, nl)
    h2 = _highs(m, {**lp_opts, "run_crossover": "off"}, deadline, relax=True, cancel=cancel)
    p = lab.columns("modules").ravel()
    ok = p >= 0
    v = nr.ravel()[ok]
    h2.changeColsBounds(int(ok.sum()), p[ok].astype(np.int32), v, v)
    _run(h2, cancel, "in the assignment LP of the LP-rounding start")
    if int(h2.getInfo().primal_solution_status) == 0:
        return None
    sol = lab.solution(inst, np.asarray(h2.getSolution().col_value, dtype=float), "cost")
    sol.modules = _trim_modules(inst, sol, nr)
    sol.method = "lp_round"
    sol.info = {"lp_bound": lp_value}
    return sol


def _trim_modules(inst: Instance, sol: Solution, nr: np.ndarray) -> np.ndarray:
    """Modules cut back to what the assignment holds: the running maximum over the years of
    ``ceil(load / M)`` (never more than the rounding gave, so power and headroom still hold)."""
    load = np.zeros_like(nr)
    for ti, td in enumerate(inst.tiers):
        held = sol.x[ti] + sol.r[ti]
        np.add.at(load[:, ti, :], td.pair_site, td.node_peak[td.pair_node] * held)
    need = np.ceil(load / inst.module_mw[None, :, None] - 1e-9)
    return np.minimum(np.maximum.accumulate(np.maximum(need, 0.0), axis=2), nr)


def _round_modules(inst: Instance, nl: np.ndarray) -> np.ndarray:
    """Modules of the relaxation rounded up, then cut back where the power or a BA's headroom is exceeded."""
    M = inst.module_mw
    ub = np.where(inst.hosts[:, :, None], np.floor(inst.available[:, None, :] / M[None, :, None] + 1e-9), 0.0)
    nr = np.minimum(np.ceil(nl - 1e-6), ub)
    nr = np.maximum.accumulate(np.maximum(nr, 0.0), axis=2)
    frac = nr - nl
    finite = np.zeros(inst.n_sites, bool)
    okb = inst.site_ba >= 0
    finite[okb] = np.isfinite(inst.headroom[inst.site_ba[okb]])

    def drop_one(s, y) -> bool:
        cand = np.flatnonzero(nr[s, :, y] > 0)
        if cand.size == 0:
            return False
        t = cand[np.argmax(frac[s, cand, y] + 1e-3 * M[cand])]
        nr[s, t, y] -= 1
        nr[s, t, :y] = np.minimum(nr[s, t, :y], nr[s, t, y])
        frac[s, t, y] -= 1
        return True

    for y in range(inst.n_years):
        built = nr[:, :, y] @ M
        for s in np.flatnonzero(built > inst.available[:, y] + 1e-9):
            while nr[s, :, y] @ M > inst.available[s, y] + 1e-9 and drop_one(s, y):
                pass
        for b, hb in enumerate(inst.headroom):
            if not np.isfinite(hb):
                continue
            sites = np.flatnonzero((inst.site_ba == b) & finite)
            while sites.size:
                over = np.maximum(nr[sites, :, y] @ M - inst.firm[sites, y], 0.0)
                if over.sum() <= hb + 1e-9 or not drop_one(sites[int(np.argmax(over))], y):
                    break
    return nr


# ----------------------------------------------------------------------------------------------
# greedy baseline


class _YearState:
    """Capacity bookkeeping of one year of the greedy: modules, MW used, flexible MW used per BA."""

    def __init__(self, inst: Instance, mods: np.ndarray, y: int, finite_ba: np.ndarray):
        self.inst, self.mods, self.y, self.finite_ba = inst, mods, y, finite_ba
        self.used = np.zeros((inst.n_sites, len(TIERS)))
        self.built = mods[:, :, y] @ inst.module_mw
        self.flex_ba = np.zeros(inst.bas.size)
        over = np.maximum(self.built - inst.firm[:, y], 0.0)
        for s in np.flatnonzero(finite_ba):
            self.flex_ba[inst.site_ba[s]] += over[s]

    def spare(self, sites, ti):
        return self.inst.module_mw[ti] * self.mods[sites, ti, self.y] - self.used[sites, ti]

    def buildable(self, s: int, ti: int) -> int:
        inst, y = self.inst, self.y
        if not inst.hosts[s, ti]:
            return 0
        room = inst.available[s, y] - self.built[s]
        if self.finite_ba[s]:
            b = inst.site_ba[s]
            room = min(room, inst.headroom[b] - self.flex_ba[b] + max(inst.firm[s, y] - self.built[s], 0.0))
        return int(np.floor(room / inst.module_mw[ti] + 1e-9))

    def build(self, s: int, ti: int, k: int) -> None:
        if k <= 0:
            return
        inst, y = self.inst, self.y
        before = max(self.built[s] - inst.firm[s, y], 0.0)
        self.mods[s, ti, y] += k
        self.built[s] += k * inst.module_mw[ti]
        if self.finite_ba[s]:
            self.flex_ba[inst.site_ba[s]] += max(self.built[s] - inst.firm[s, y], 0.0) - before

    def take(self, s: int, ti: int, mw: float) -> float:
        """Up to ``mw`` of tier ``ti`` capacity at ``s``, spare modules first, then new ones: the MW taken."""
        M = self.inst.module_mw[ti]
        got = min(mw, max(float(self.spare(s, ti)), 0.0))
        if mw - got > 1e-12:
            self.build(s, ti, min(int(np.ceil((mw - got) / M - 1e-9)), self.buildable(s, ti)))
            got = min(mw, float(self.spare(s, ti)))
        self.used[s, ti] += got
        return got


def _greedy_node(state: _YearState, td, ti: int, n: int, ks: np.ndarray, y: int):
    """Served and reserve shares of one node (greedy)."""
    inst = state.inst
    P = td.node_peak[n, y]
    sites = td.pair_site[ks]
    lf = td.node_avg[n, y] / P * HOURS_PER_YEAR
    rem = 1.0
    x = np.zeros(ks.size)
    exhausted = np.zeros(ks.size, bool)
    while rem > 1e-12 and not exhausted.all():
        spare = state.spare(sites, ti)
        marg = inst.energy_cost[sites] * lf + np.where(spare >= rem * P - 1e-9, 0.0, inst.capex[sites, ti])
        j = int(np.argmin(np.where(exhausted, np.inf, marg)))
        got = state.take(sites[j], ti, rem * P)
        if got > 1e-12:
            x[j] += got / P
            rem -= got / P
        if rem > 1e-12:
            exhausted[j] = True
    r = np.zeros(ks.size)
    if td.protected and x.sum() > 0:
        target = x.max()
        order = np.argsort(np.where(state.spare(sites, ti) > 1e-9, 0.0, inst.capex[sites, ti]), kind="stable")
        for j in order:
            need = target - r.sum()
            if need <= 1e-12:
                break
            room = target - x[j] - r[j]
            if room > 1e-12:
                r[j] += state.take(sites[j], ti, min(room, need) * P) / P
        if target - r.sum() > 1e-9:  # N-1 cannot be met: release what the node holds, leave it unserved
            state.used[sites, ti] -= (x + r) * P
            x[:] = 0.0
            r[:] = 0.0
    return x, r


def greedy(inst: Instance) -> Solution:
    """A constructive baseline for the cost objective, feasible for the MILP.

    Year by year (modules persist), tier by tier from the tightest cap (edge, regional,
    training), nodes by decreasing peak: serve the node from its allowed site of least marginal
    cost per MW of peak — energy cost at the node's load factor, plus the annualised capital cost
    unless spare modules of the tier are already there — building whole modules within the power
    available and the BA's headroom, until it is served or no site can take more.  On a protected
    tier it then places a dedicated reserve equal to the largest served share on other sites,
    cheapest capacity first; a node whose reserve cannot be placed is left unserved.
    """
    S, T, Y = inst.n_sites, len(TIERS), inst.n_years
    mods = np.zeros((S, T, Y))
    xs = [np.zeros((td.n_pairs, Y)) for td in inst.tiers]
    rs = [np.zeros((td.n_pairs, Y)) for td in inst.tiers]
    us = [np.where(td.node_peak > 0, 1.0, 0.0) for td in inst.tiers]
    starts = [np.searchsorted(td.pair_node, np.arange(td.n_nodes + 1)) for td in inst.tiers]
    finite_ba = np.zeros(S, bool)
    ok = inst.site_ba >= 0
    finite_ba[ok] = np.isfinite(inst.headroom[inst.site_ba[ok]])
    order_t = [TIERS.index(t) for t in ("edge", "regional", "training")]
    for y in range(Y):
        if y:
            mods[:, :, y] = mods[:, :, y - 1]
        state = _YearState(inst, mods, y, finite_ba)
        for ti in order_t:
            td, st = inst.tiers[ti], starts[ti]
            for n in np.argsort(-td.node_peak[:, y], kind="stable"):
                ks = np.arange(st[n], st[n + 1])
                if td.node_peak[n, y] <= 0 or ks.size == 0 or (td.protected and ks.size < 2):
                    continue
                x, r = _greedy_node(state, td, ti, n, ks, y)
                xs[ti][ks, y] = x
                rs[ti][ks, y] = r
                us[ti][n, y] = max(1.0 - x.sum(), 0.0)
    sol = Solution(method="greedy", objective_name="cost", modules=mods, x=xs, r=rs, u=us, status="greedy")
    sol.objective = evaluate(inst, sol)["objective_cost"]
    return sol
