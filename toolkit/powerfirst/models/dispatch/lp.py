r"""The site-year dispatch as a linear program (linopy + HiGHS): validation and optimal sizing.

The same site, inputs and costs as the rule of :mod:`powerfirst.models.dispatch`, solved with
perfect foresight: the optimum the rule is measured against, and, with capacities as
variables, the storage and on-site generation that minimise energy plus capital cost for a few
sites.  One ``define_<family>_constraints`` function per constraint family, each with its
equation (the layout of PyPSA's ``optimization/constraints.py``).

Notation (hour :math:`t`, all flows in MW over one hour): load :math:`L_t`, renewables
:math:`R_t`, grid import :math:`g_t \le G_t`, spill :math:`x_t`, storage charge :math:`c_t`,
discharge :math:`d_t`, state of charge :math:`e_t`, generation :math:`q_t`, deferred load
:math:`f_t`, made-up load :math:`r_t`, backlog :math:`b_t`, unserved load :math:`u_t`;
storage power :math:`P`, energy :math:`E`, generation capacity :math:`K` (parameters, or
variables when sizing).

Objective

.. math::
    \min \sum_t \Big[(p_t + \pi\, \mathrm{CI}_t / 1000)\, g_t + (c^{fuel} + \pi\, \epsilon)\, q_t + c^{deg} d_t
    + c^{def} f_t + c^{u} u_t\Big] + c^{u} b_T + (C^P P + C^E E + C^K K)_{\text{sizing}}

with price :math:`p_t`, carbon price :math:`\pi`, carbon intensity :math:`\mathrm{CI}_t`
[gCO2 kWh-1], generation emission factor :math:`\epsilon` [tCO2 MWh-1], and annualised capital
costs :math:`C` when sizing.  Without a unit commitment the generator's minimum load is relaxed
(a lower bound on cost); ``unit_commitment=True`` adds binaries (a MILP).
"""

from __future__ import annotations

import math
import time as _time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import xarray as xr

from powerfirst.models.dispatch.reference import site_series
from powerfirst.models.dispatch.rule import Prepared

__all__ = [
    "LPResult", "solve_site_lp", "build_site_lp", "define_balance_constraints", "define_spill_constraints",
    "define_storage_constraints", "define_generation_constraints", "define_flexibility_constraints",
    "define_sizing_constraints", "define_objective", "CAPITAL_COSTS",
]

#: ASSUMPTION: annualised capital costs for sizing [USD per MW-year / MWh-year]: battery power
#: 25,000 USD/MW-yr and energy 20,000 USD/MWh-yr (about 300 USD/kWh over 15 years at 7 %),
#: reciprocating engines 110,000 USD/MW-yr (about 1,000 USD/kW over 20 years at 7 % plus fixed O&M).
CAPITAL_COSTS = {"storage_mw": 25_000.0, "storage_mwh": 20_000.0, "gas_mw": 110_000.0}


@dataclass
class LPResult:
    """The optimum of one site-year: objective and cost terms [USD], flows (hourly), sizes, timing."""

    status: str
    condition: str
    objective: float
    costs: dict
    hourly: xr.Dataset
    sizes: dict = field(default_factory=dict)
    build_s: float = 0.0
    solve_s: float = 0.0

    @property
    def total_cost(self) -> float:
        """Objective without capital cost: comparable to the rule's ``total_cost`` [USD]."""
        return self.costs["total_cost"]


def _time_index(n: int) -> pd.Index:
    return pd.RangeIndex(n, name="time")


def define_balance_constraints(m, x: dict):
    r"""Energy balance of every hour.

    .. math:: R_t - x_t + g_t + d_t + q_t + f_t + u_t = L_t + c_t + r_t \quad \forall t
    """
    v = m.variables
    lhs = v["grid"] - v["spill"] + v["unserved"]
    rhs_extra = 0
    if "discharge" in v:
        lhs = lhs + v["discharge"] - v["charge"]
    if "generation" in v:
        lhs = lhs + v["generation"]
    if "defer" in v:
        lhs = lhs + v["defer"] - v["make_up"]
    rhs = xr.DataArray(x["load"] - x["renewable"], dims="time", coords={"time": v["grid"].coords["time"]})
    return m.add_constraints(lhs == rhs + rhs_extra, name="balance")


def define_spill_constraints(m, x: dict):
    r"""Only on-site output can be spilled (no buying grid energy to dump it).

    .. math:: x_t \le R_t + q_t \quad \forall t
    """
    v = m.variables
    ren = xr.DataArray(x["renewable"], dims="time", coords={"time": v["spill"].coords["time"]})
    lhs = v["spill"] - v["generation"] if "generation" in v else v["spill"]
    return m.add_constraints(lhs <= ren, name="spill")


def define_storage_constraints(m, x: dict, sizing: bool):
    r"""State of charge, its bounds and the storage power.

    .. math::
        e_t = e_{t-1} + \eta\, c_t - d_t / \eta, \quad e_{-1} = s^{0} E, \quad \eta = \sqrt{\mathrm{rte}}

        s^{\min} E \le e_t \le s^{\max} E, \qquad 0 \le c_t,\ d_t \le P
    """
    v = m.variables
    p = x["params"]
    eta = math.sqrt(p["round_trip_efficiency"])
    soc, ch, dis = v["soc"], v["charge"], v["discharge"]
    t = soc.coords["time"]
    first = xr.DataArray((np.arange(t.size) == 0).astype(float), dims="time", coords={"time": t})
    lhs = soc - soc.shift(time=1).fillna(0) - eta * ch + (1.0 / eta) * dis
    if sizing:
        m.add_constraints(lhs - p["soc_initial"] * first * v["storage_mwh"] == 0, name="soc_balance")
        m.add_constraints(soc - p["soc_max"] * v["storage_mwh"] <= 0, name="soc_max")
        m.add_constraints(soc - p["soc_min"] * v["storage_mwh"] >= 0, name="soc_min")
        m.add_constraints(ch - v["storage_mw"] <= 0, name="charge_max")
        m.add_constraints(dis - v["storage_mw"] <= 0, name="discharge_max")
    else:
        e0 = p["soc_initial"] * p["storage_mwh"]
        m.add_constraints(lhs == first * e0, name="soc_balance")


def define_generation_constraints(m, x: dict, sizing: bool, unit_commitment: bool):
    r"""On-site generation within its capacity; with a unit commitment, at least its minimum load when on.

    .. math:: 0 \le q_t \le K \qquad (\text{commitment: } m K o_t \le q_t \le K o_t,\ o_t \in \{0, 1\})
    """
    v = m.variables
    p = x["params"]
    q = v["generation"]
    if unit_commitment:
        on = v["on"]
        K = p["gas_mw"]
        m.add_constraints(q - K * on <= 0, name="generation_max")
        m.add_constraints(q - p["gas_min_load"] * K * on >= 0, name="generation_min")
    elif sizing:
        m.add_constraints(q - v["gas_mw"] <= 0, name="generation_max")


def define_flexibility_constraints(m, x: dict):
    r"""Deferred load: at most a share of each hour's load, owed energy within its limit, made up within the
    facility's capacity.

    .. math::
        b_t = b_{t-1} + f_t - r_t,\ b_{-1} = 0, \qquad 0 \le f_t \le \phi L_t,
        \qquad 0 \le r_t \le L^{\max} \mathrm{PUE}_t / \max \mathrm{PUE} - L_t, \qquad 0 \le b_t \le \phi L^{\max} H
    """
    v = m.variables
    b = v["backlog"]
    return m.add_constraints(b - b.shift(time=1).fillna(0) - v["defer"] + v["make_up"] == 0, name="backlog_balance")


def define_sizing_constraints(m, x: dict, limits: dict):
    r"""Capacities as variables within their limits: :math:`0 \le P \le \bar P`, :math:`0 \le E \le \bar E`,
    :math:`0 \le K \le \bar K` (bounds of the variables; nothing to add here beyond documenting them)."""
    return None


def define_objective(m, x: dict, sizing: bool, capital_costs: dict):
    """Energy, carbon, deferral and unserved cost (+ annualised capital cost when sizing); see the module."""
    v = m.variables
    p = x["params"]
    t = v["grid"].coords["time"]
    cp = p["carbon_price"]
    price = xr.DataArray(x["price"] + cp * 1e-3 * x["ci"], dims="time", coords={"time": t})
    obj = (price * v["grid"]).sum() + p["unserved_cost"] * v["unserved"].sum()
    if "discharge" in v and p["degradation_cost"] > 0:
        obj = obj + p["degradation_cost"] * v["discharge"].sum()
    if "generation" in v:
        obj = obj + (p["gas_fuel_cost"] + cp * p["gas_emission_factor"]) * v["generation"].sum()
    if "defer" in v:
        obj = obj + p["deferral_cost"] * v["defer"].sum() + p["unserved_cost"] * v["backlog"].isel(time=-1)
    if sizing:
        for k in ("storage_mw", "storage_mwh", "gas_mw"):
            if k in v:
                obj = obj + capital_costs[k] * v[k]
    m.add_objective(obj)


def build_site_lp(x: dict, *, sizing: bool | dict = False, unit_commitment: bool = False,
                  capital_costs: dict | None = None):
    """The linopy model of one site-year from :func:`powerfirst.models.dispatch.site_series` inputs.

    ``sizing``: False, True (size storage power and energy and generation, up to 4x the
    scenario's values or the load), or a mapping of upper bounds ``{"storage_mw": .., "storage_mwh": ..,
    "gas_mw": ..}`` (the capacities not named stay fixed).
    """
    import linopy

    p = x["params"]
    T = len(x["load"])
    time = _time_index(T)
    m = linopy.Model()
    G = xr.DataArray(x["grid_limit"], dims="time", coords={"time": time})
    L = xr.DataArray(x["load"], dims="time", coords={"time": time})
    m.add_variables(lower=0, upper=G, coords=[time], name="grid")
    m.add_variables(lower=0, coords=[time], name="spill")
    m.add_variables(lower=0, upper=L, coords=[time], name="unserved")
    if sizing is True:
        limits = {"storage_mw": max(4 * p["storage_mw"], p["load_mw"]),
                  "storage_mwh": max(4 * p["storage_mwh"], 4 * p["load_mw"]),
                  "gas_mw": max(4 * p["gas_mw"], p["load_mw"])}
    elif isinstance(sizing, dict):
        limits = dict(sizing)
    else:
        limits = {}
    size_sto = "storage_mw" in limits or "storage_mwh" in limits
    size_gas = "gas_mw" in limits
    usable = (p["soc_max"] - p["soc_min"]) * p["storage_mwh"]
    has_sto = size_sto or (p["storage_mw"] > 1e-12 and usable > 1e-12)
    if has_sto:
        if size_sto:
            m.add_variables(lower=0, upper=limits.get("storage_mw", p["storage_mw"]), name="storage_mw")
            m.add_variables(lower=0, upper=limits.get("storage_mwh", p["storage_mwh"]), name="storage_mwh")
            if "storage_mw" not in limits:
                m.add_constraints(m.variables["storage_mw"] == p["storage_mw"], name="storage_mw_fixed")
            if "storage_mwh" not in limits:
                m.add_constraints(m.variables["storage_mwh"] == p["storage_mwh"], name="storage_mwh_fixed")
            m.add_variables(lower=0, coords=[time], name="charge")
            m.add_variables(lower=0, coords=[time], name="discharge")
            m.add_variables(lower=0, coords=[time], name="soc")
        else:
            m.add_variables(lower=0, upper=p["storage_mw"], coords=[time], name="charge")
            m.add_variables(lower=0, upper=p["storage_mw"], coords=[time], name="discharge")
            m.add_variables(lower=p["soc_min"] * p["storage_mwh"], upper=p["soc_max"] * p["storage_mwh"], coords=[time],
                            name="soc")
    has_gas = size_gas or p["gas_mw"] > 0
    if has_gas:
        if size_gas:
            m.add_variables(lower=0, upper=limits["gas_mw"], name="gas_mw")
            m.add_variables(lower=0, coords=[time], name="generation")
        else:
            m.add_variables(lower=0, upper=p["gas_mw"], coords=[time], name="generation")
        if unit_commitment and not size_gas and p["gas_min_load"] > 0:
            m.add_variables(coords=[time], name="on", binary=True)
    has_flex = p["flex_share"] > 0 and p["flex_hours"] > 0
    if has_flex:
        capL = p["load_mw"] * x["capf"] - x["load"]
        m.add_variables(lower=0, upper=xr.DataArray(p["flex_share"] * x["load"], dims="time", coords={"time": time}),
                        coords=[time], name="defer")
        m.add_variables(lower=0, upper=xr.DataArray(np.maximum(capL, 0.0), dims="time", coords={"time": time}),
                        coords=[time], name="make_up")
        m.add_variables(lower=0, upper=p["flex_share"] * p["load_mw"] * p["flex_hours"], coords=[time], name="backlog")
    define_balance_constraints(m, x)
    define_spill_constraints(m, x)
    if has_sto:
        define_storage_constraints(m, x, size_sto)
    if has_gas:
        define_generation_constraints(m, x, size_gas, unit_commitment and not size_gas and p["gas_min_load"] > 0)
    if has_flex:
        define_flexibility_constraints(m, x)
    define_sizing_constraints(m, x, limits)
    define_objective(m, x, bool(limits), {**CAPITAL_COSTS, **(capital_costs or {})})
    return m


def solve_site_lp(prep: Prepared, site: int | str, scenario: int | str = 0, *, hours: slice | None = None,
                  sizing: bool | dict = False, unit_commitment: bool = False, capital_costs: dict | None = None,
                  solver_options: dict | None = None) -> LPResult:
    """Optimal dispatch (and sizing) of one site-scenario with HiGHS.

    Parameters
    ----------
    prep : Prepared
        From :func:`powerfirst.models.dispatch.prepare` (the same inputs as the rule).
    site, scenario : label or position
    hours : slice, optional
        A part of the year (e.g. ``slice(0, 24 * 28)`` for a fast test); default the whole year.
    sizing : bool or mapping
        Capacities as variables (see :func:`build_site_lp`).
    unit_commitment : bool
        Enforce the generator's minimum load with binaries (MILP); default relaxed.
    capital_costs : mapping, optional
        Annualised capital costs overriding :data:`CAPITAL_COSTS`.
    solver_options : mapping, optional
        Passed to HiGHS (default: one thread, no output).

    Returns
    -------
    LPResult
        ``total_cost`` comparable to the rule's ``total_cost`` over the same hours, cost terms
        (keys as the rule's summaries), hourly flows and the sizes chosen.
    """
    x = site_series(prep, site, scenario)
    if hours is not None:
        x = {k: (v[hours] if isinstance(v, np.ndarray) else v) for k, v in x.items()}
    t0 = _time.perf_counter()
    m = build_site_lp(x, sizing=sizing, unit_commitment=unit_commitment, capital_costs=capital_costs)
    t1 = _time.perf_counter()
    opts = {"threads": 1, "output_flag": False, **(solver_options or {})}
    status, condition = m.solve(solver_name="highs", progress=False, **opts)
    t2 = _time.perf_counter()
    if status != "ok":
        raise RuntimeError(f"HiGHS did not solve the site LP: {status} / {condition}")
    sol = {k: np.asarray(m.variables[k].solution.values, dtype=float) for k in m.variables}
    p = x["params"]
    T = len(x["load"])
    z = np.zeros(T)
    g = sol["grid"]
    gen = sol.get("generation", z)
    dis = sol.get("discharge", z)
    defer = sol.get("defer", z)
    backlog_end = float(sol["backlog"][-1]) if "backlog" in sol else 0.0
    emis = float(np.sum(g * x["ci"])) * 1e-3 + float(np.sum(gen)) * p["gas_emission_factor"]
    costs = {
        "grid_energy_cost": float(np.sum(g * x["price"])),
        "fuel_cost": float(np.sum(gen)) * p["gas_fuel_cost"],
        "storage_degradation_cost": float(np.sum(dis)) * p["degradation_cost"],
        "deferred_load_cost": float(np.sum(defer)) * p["deferral_cost"],
        "carbon_cost": p["carbon_price"] * emis,
        "unserved_penalty": (float(np.sum(sol["unserved"])) + backlog_end) * p["unserved_cost"],
        "emissions": emis,
    }
    costs["energy_cost"] = (costs["grid_energy_cost"] + costs["fuel_cost"] + costs["storage_degradation_cost"]
                            + costs["deferred_load_cost"])
    costs["total_cost"] = costs["energy_cost"] + costs["carbon_cost"] + costs["unserved_penalty"]
    hourly = xr.Dataset({k: ("time", v, {"units": "MWh" if k in ("soc", "backlog") else "MW"})
                         for k, v in sol.items() if v.ndim == 1 and v.size == T},
                        coords={"time": np.arange(T)})
    sizes = {k: float(sol[k]) for k in ("storage_mw", "storage_mwh", "gas_mw") if k in sol}
    return LPResult(status=status, condition=condition, objective=float(m.objective.value), costs=costs,
                    hourly=hourly, sizes=sizes, build_s=t1 - t0, solve_s=t2 - t1)
