"""Export a plan's sites to PyPSA: each site a load with its hourly profile, its grid connection,
on-site renewables, storage and generation, on a bus located in its BA.

:func:`site_components` adds one site-year to a :class:`pypsa.Network`, component for component
the dispatch LP of :mod:`powerfirst.models.dispatch.lp` (without sizing, unit commitment or
deferrable load):

==========================  ==================================================================
dispatch LP                 PyPSA
==========================  ==================================================================
load :math:`L_t`            ``Load`` ``<site>`` (``p_set``)
grid :math:`g_t \\le G_t`    ``Generator`` ``<site> grid``: ``p_max_pu = G_t / p_nom``,
                            ``marginal_cost = p_t + π CI_t / 1000``
renewables :math:`R_t`      ``Generator`` ``<site> renewable`` (``p_max_pu = R_t / p_nom``, free;
                            spilling is dispatching less)
generation :math:`q_t`      ``Generator`` ``<site> gas`` (``marginal_cost = c^{fuel} + π ε``)
unserved :math:`u_t`        ``Generator`` ``<site> unserved`` (``p_max_pu = L_t / p_nom``,
                            ``marginal_cost = c^u``)
storage                     ``Store`` ``<site> storage`` on bus ``<site> storage`` (``e_nom = E``,
                            ``e_min_pu``, ``e_max_pu``, ``e_initial = s^0 E``, not cyclic),
                            ``Link`` ``<site> charge`` (efficiency :math:`\\eta`, ``p_nom = P``)
                            and ``<site> discharge`` (efficiency :math:`\\eta`, ``p_nom = P / η`` so
                            that the power delivered is at most :math:`P`; degradation cost
                            :math:`c^{deg} η` per MW drawn from the store)
==========================  ==================================================================

with :math:`\\eta = \\sqrt{\\mathrm{rte}}`, so that ``n.optimize()`` minimises the same cost as the
LP.  :func:`to_pypsa` places every site the plan builds in a year: its load is the site-load
model's hourly load factor times the MW the plan has in place, its bus carries the site's BA as
``location``.  The result round-trips through PyPSA's NetCDF (``n.export_to_netcdf``).

References
----------
Brown, T., Hörsch, J., Schlachtberger, D. (2018). PyPSA: Python for Power System Analysis.
*Journal of Open Research Software* 6(1), 4. doi:10.5334/jors.188
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import pandas as pd
import xarray as xr

from powerfirst.errors import Problem, ValidationError

__all__ = ["site_components", "to_pypsa"]


def site_components(n, name: str, x: dict, *, load: np.ndarray | None = None, location: str = "") -> None:
    """Add one site-year (the dispatch LP's inputs, :func:`powerfirst.models.dispatch.site_series`) to ``n``.

    Parameters
    ----------
    n : pypsa.Network
        With hourly snapshots as long as the series.
    name : str
        Site name (prefix of the components).
    x : dict
        ``load``, ``renewable``, ``grid_limit`` [MW], ``price`` [USD MWh-1], ``ci`` [gCO2 kWh-1] per
        hour and ``params`` (storage, generation, carbon price, unserved cost, ...).
    load : numpy.ndarray, optional
        Hourly load [MW] replacing ``x['load']`` (the plan's MW times the load factor).
    location : str
        The site's BA (the bus's ``location``).

    Raises
    ------
    ValidationError
        Deferrable load (``flex_share > 0``), which PyPSA has no component for, or series of another
        length than the snapshots.
    """
    p = x["params"]
    T = len(n.snapshots)
    L = np.asarray(x["load"] if load is None else load, float)
    probs = [Problem(f"expected {T} hourly values (the snapshots), found {len(np.asarray(x[k]))}", variable=k)
             for k in ("renewable", "grid_limit", "price", "ci") if len(np.asarray(x[k])) != T]
    if len(L) != T:
        probs.append(Problem(f"expected {T} hourly values, found {len(L)}", variable="load"))
    if p.get("flex_share", 0.0) > 0 and p.get("flex_hours", 0.0) > 0:
        probs.append(Problem("deferrable load (flex_share > 0) has no PyPSA component; export the site with "
                             "flex_share 0", site=name))
    if probs:
        raise ValidationError(probs, what=f"PyPSA export of {name}")
    snaps = n.snapshots
    n.add("Bus", name, carrier="AC", location=location)
    n.add("Load", name, bus=name, p_set=pd.Series(L, index=snaps))

    def gen(suffix, profile, cost, carrier):
        pn = max(float(np.max(profile)), 1e-6)
        n.add("Generator", f"{name} {suffix}", bus=name, carrier=carrier, p_nom=pn,
              p_max_pu=pd.Series(np.clip(np.asarray(profile, float) / pn, 0.0, 1.0), index=snaps),
              marginal_cost=pd.Series(np.broadcast_to(cost, (T,)).astype(float), index=snaps) if np.ndim(cost)
              else float(cost))

    cp = float(p["carbon_price"])
    gen("grid", x["grid_limit"], np.asarray(x["price"], float) + cp * 1e-3 * np.asarray(x["ci"], float), "grid")
    if np.max(x["renewable"]) > 0:
        gen("renewable", x["renewable"], 0.0, "renewable")
    if p["gas_mw"] > 0:
        n.add("Generator", f"{name} gas", bus=name, carrier="gas", p_nom=float(p["gas_mw"]),
              marginal_cost=float(p["gas_fuel_cost"] + cp * p["gas_emission_factor"]))
    gen("unserved", L, float(p["unserved_cost"]), "unserved")
    usable = (p["soc_max"] - p["soc_min"]) * p["storage_mwh"]
    if p["storage_mw"] > 1e-12 and usable > 1e-12:
        eta = math.sqrt(p["round_trip_efficiency"])
        sb = f"{name} storage"
        n.add("Bus", sb, carrier="storage", location=location)
        n.add("Store", sb, bus=sb, e_nom=float(p["storage_mwh"]), e_min_pu=float(p["soc_min"]),
              e_max_pu=float(p["soc_max"]), e_initial=float(p["soc_initial"] * p["storage_mwh"]), e_cyclic=False)
        n.add("Link", f"{name} charge", bus0=name, bus1=sb, efficiency=eta, p_nom=float(p["storage_mw"]))
        n.add("Link", f"{name} discharge", bus0=sb, bus1=name, efficiency=eta, p_nom=float(p["storage_mw"]) / eta,
              marginal_cost=float(p["degradation_cost"]) * eta)


def to_pypsa(plan: xr.Dataset, series: Mapping[str, dict], *, year: int | None = None, snapshots=None):
    """A PyPSA network of the sites a plan has in place in one year.

    Parameters
    ----------
    plan : xarray.Dataset
        A plan (:func:`~powerfirst.models.network.plan.plan_dataset`): ``built_mw`` (site, tier, year)
        and, when present, ``site_ba``.
    series : mapping
        Site -> the dispatch inputs of that site (:func:`powerfirst.models.dispatch.site_series`);
        its ``lf`` (load per MW of design load) shapes the load, the rest (connection, price,
        carbon, on-site options) is taken as it is.
    year : int, optional
        Plan year (default the last).
    snapshots : sequence, optional
        Snapshots (default hourly from ``year``-01-01, as many as the series are long).

    Returns
    -------
    pypsa.Network
        One bus per built site (``location`` = its BA), the components of :func:`site_components`;
        ``n.meta`` holds the plan year, the sites' MW and the plan's provenance.

    Raises
    ------
    ValidationError
        A built site without series, series of different lengths, an unknown year.
    """
    import pypsa

    years = [int(y) for y in plan["year"].values]
    y = years[-1] if year is None else int(year)
    if y not in years:
        raise ValidationError(Problem(f"year {y} is not a plan year ({years})", variable="year"), what="to_pypsa")
    built = plan["built_mw"].sel(year=y).sum("tier").to_series()
    built = built[built > 0]
    if built.empty:
        raise ValidationError(Problem(f"the plan builds no site by {y}; nothing to export", variable="built_mw"),
                              what="to_pypsa")
    missing = [s for s in built.index if s not in series]
    if missing:
        raise ValidationError([Problem("built site without dispatch series (site_series of its site-load model)",
                                       site=str(s)) for s in missing], what="to_pypsa")
    lengths = {len(series[s]["lf"]) for s in built.index}
    if len(lengths) != 1:
        raise ValidationError(Problem(f"expected series of one length, found {sorted(lengths)} hours"), what="to_pypsa")
    T = lengths.pop()
    n = pypsa.Network()
    n.set_snapshots(pd.date_range(f"{y}-01-01", periods=T, freq="h") if snapshots is None else snapshots)
    ba = plan["site_ba"].to_series() if "site_ba" in plan.coords else pd.Series("", index=plan["site"].values)
    for s, mw in built.items():
        x = series[s]
        site_components(n, str(s), x, load=np.asarray(x["lf"], float) * float(mw), location=str(ba.get(s, "")))
    n.meta = {"plan_year": y, "built_mw": {str(k): float(v) for k, v in built.items()},
              "plan_created": str(plan.attrs.get("created", "")), "plan_method": str(plan.attrs.get("method", ""))}
    return n
