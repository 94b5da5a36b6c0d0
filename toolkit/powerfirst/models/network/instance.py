"""The planning instance: demand nodes, candidate pairs within caps and rules, and what cannot be served.

:func:`build_instance` turns a demand Dataset (:func:`~powerfirst.models.network.demand.demand_points`)
and a supply Dataset (:func:`~powerfirst.models.network.supply.site_supply`) into plain arrays for
the optimiser, the greedy baseline and the plan:

* the round-trip time of every (demand point, site) pair (:func:`powerfirst.geo.round_trip_ms`);
* the *allowed* pairs of each tier: within the tier's RTT cap, allowed by the sovereignty rule,
  at a site that may host the tier and has power in some year (optionally only the
  ``max_sites_per_point`` cheapest of them);
* *demand nodes*: the points of a tier whose allowed sites are the same set (and whose
  peak-to-average ratios agree) are one node.  This is exact — costs do not depend on which of
  them is served, the constraints are linear and homogeneous in the demand — and it is what
  keeps the uncapped training tier small: under no sovereignty rule all its points are one node;
* the *infeasibility report*: every demand point and tier with demand and no allowed site, and
  why (no site within the cap — naming the nearest and its RTT —, none in an allowed
  jurisdiction, none with power, or a single site where the N-1 rule needs two).  That demand is
  planned as unserved; it never vanishes from the plan.

Sovereignty rules
-----------------
A rule maps a *demand selector* to the *site selectors* allowed to serve it.  Selectors: a
country code (ISO 3166-1 alpha-2), ``EU`` (the 27 member states), ``*`` (any); on the allowed
side also ``self`` (the demand point's own country).  The most specific selector of a point
decides (its country, then ``EU``, then ``*``); a point no selector matches is unrestricted.
Named rules (:data:`SOVEREIGNTY_RULES`): ``none``; ``eu_residency`` (EU demand only from EU sites,
the residency commitments of the EU Data Boundary kind); ``national`` (every point only from its
own country).
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import xarray as xr

from powerfirst.errors import Problem, ValidationError

from .demand import TIERS

__all__ = ["SOVEREIGNTY_RULES", "PROTECTED_TIERS", "HOURS_PER_YEAR", "Instance", "TierData", "build_instance",
           "sovereignty_mask", "InfeasibleDemandWarning"]

#: hours of an average year [h]
HOURS_PER_YEAR = 8766.0
#: tiers that must keep their demand served when any one site is lost (N-1)
PROTECTED_TIERS = ("regional", "edge")
#: named sovereignty rules (see the module doc)
SOVEREIGNTY_RULES = {
    "none": {},
    "eu_residency": {"EU": ("EU",)},
    "national": {"*": ("self",)},
}
_EU27 = frozenset(("AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE", "IT", "LV",
                   "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE"))
_CODE = re.compile(r"[A-Z]{2}")


class InfeasibleDemandWarning(UserWarning):
    """Some demand has no site that may serve it: it is planned as unserved (see ``Instance.infeasible``)."""


@dataclass
class TierData:
    """One tier of an instance: demand nodes and the allowed (node, site) pairs.

    Attributes
    ----------
    node_peak, node_avg : numpy.ndarray
        (node, year) peak and average demand [MW].
    point_node : numpy.ndarray
        (point,) node of every demand point (-1: the point has no demand in this tier).
    pair_node, pair_site : numpy.ndarray
        (pair,) node and site index of every allowed pair, sorted by node.
    """

    tier: str
    cap_ms: float
    protected: bool
    node_peak: np.ndarray
    node_avg: np.ndarray
    point_node: np.ndarray
    pair_node: np.ndarray
    pair_site: np.ndarray

    @property
    def n_nodes(self) -> int:
        return self.node_peak.shape[0]

    @property
    def n_pairs(self) -> int:
        return self.pair_node.size


@dataclass
class Instance:
    """A network planning instance in plain arrays (site index ``s``, tier ``t``, year ``y``).

    Attributes
    ----------
    available, firm : numpy.ndarray
        (S, Y) MW available and firm MW [MW].
    headroom : numpy.ndarray
        (B,) flexible headroom of each BA [MW] (inf: unconstrained); ``site_ba`` (S,) its index (-1: none).
    module_mw : numpy.ndarray
        (T,) build module [MW].
    capex : numpy.ndarray
        (S, T) annualised capital cost [USD MW-1 year-1].
    hosts : numpy.ndarray
        (S, T) the site may host the tier.
    energy_cost, ci, work : numpy.ndarray
        (S,) energy cost [USD MWh-1], carbon intensity [gCO2 kWh-1], useful work [h MWh-1] (NaN: unknown).
    year_weight : numpy.ndarray
        (Y,) weight of each year's cost in the objective [1].
    unserved_cost : float
        [USD MWh-1].
    tiers : list of TierData
    rtt : numpy.ndarray
        (P, S) round-trip time [ms].
    infeasible : pandas.DataFrame
        ``point``, ``tier``, ``country``, ``peak_mw`` (largest over the years), ``reason``.
    """

    years: np.ndarray
    sites: np.ndarray
    site_country: np.ndarray
    site_ba: np.ndarray
    bas: np.ndarray
    headroom: np.ndarray
    available: np.ndarray
    firm: np.ndarray
    module_mw: np.ndarray
    capex: np.ndarray
    hosts: np.ndarray
    energy_cost: np.ndarray
    ci: np.ndarray
    work: np.ndarray
    year_weight: np.ndarray
    unserved_cost: float
    tiers: list
    points: np.ndarray
    point_country: np.ndarray
    rtt: np.ndarray
    infeasible: pd.DataFrame
    settings: dict = field(default_factory=dict)

    @property
    def n_sites(self) -> int:
        return self.sites.size

    @property
    def n_years(self) -> int:
        return self.years.size

    def size(self) -> dict:
        """Numbers of sites, points, nodes and pairs per tier (for reports)."""
        return {"sites": int(self.n_sites), "points": int(self.points.size), "years": int(self.n_years),
                **{f"nodes_{td.tier}": int(td.n_nodes) for td in self.tiers},
                **{f"pairs_{td.tier}": int(td.n_pairs) for td in self.tiers}}


def _resolve_rule(rule) -> tuple[str, dict]:
    if rule is None:
        return "none", {}
    if isinstance(rule, str):
        if rule not in SOVEREIGNTY_RULES:
            raise ValidationError(Problem(f"unknown sovereignty rule {rule!r}; expected one of "
                                          f"{', '.join(SOVEREIGNTY_RULES)} or a mapping", variable="sovereignty"),
                                  what="sovereignty rule")
        return rule, SOVEREIGNTY_RULES[rule]
    if not isinstance(rule, Mapping):
        raise ValidationError(Problem(f"expected a rule name or a mapping of demand selector to allowed site "
                                      f"selectors, found {type(rule).__name__}", variable="sovereignty"),
                              what="sovereignty rule")
    probs = []
    out = {}
    for k, v in rule.items():
        k = str(k)
        if not (k in ("EU", "*") or _CODE.fullmatch(k)):
            probs.append(Problem(f"demand selector {k!r}: expected a country code (e.g. 'DE'), 'EU' or '*'",
                                 variable="sovereignty"))
        vals = [v] if isinstance(v, str) else list(v)
        if not vals:
            probs.append(Problem(f"demand selector {k!r}: expected at least one allowed site selector",
                                 variable="sovereignty"))
        for a in vals:
            if not (a in ("EU", "*", "self") or _CODE.fullmatch(str(a))):
                probs.append(Problem(f"demand selector {k!r}: allowed selector {a!r} is not a country code, "
                                     "'EU', 'self' or '*'", variable="sovereignty"))
        out[k] = tuple(str(a) for a in vals)
    if probs:
        raise ValidationError(probs, what="sovereignty rule")
    return "custom", out


def sovereignty_mask(point_country, site_country, rule="none") -> np.ndarray:
    """(point, site) True where the rule allows the site to serve the point (see the module doc)."""
    _, r = _resolve_rule(rule)
    pc = np.asarray(point_country, dtype=object).astype(str)
    sc = np.asarray(site_country, dtype=object).astype(str)
    mask = np.ones((pc.size, sc.size), dtype=bool)
    if not r:
        return mask
    site_eu = np.isin(sc, list(_EU27))
    for i, c in enumerate(pc):
        key = c if c in r else ("EU" if c in _EU27 and "EU" in r else ("*" if "*" in r else None))
        if key is None:
            continue
        ok = np.zeros(sc.size, dtype=bool)
        for a in r[key]:
            if a == "*":
                ok[:] = True
            elif a == "EU":
                ok |= site_eu
            elif a == "self":
                ok |= sc == c
            else:
                ok |= sc == a
        mask[i] = ok
    return mask


def _allowed_text(country: str, rule: dict) -> str:
    key = country if country in rule else ("EU" if country in _EU27 and "EU" in rule else "*")
    return ", ".join(country if a == "self" else a for a in rule.get(key, ("*",)))


def build_instance(demand: xr.Dataset, supply: xr.Dataset, *, sovereignty="none", caps: Mapping | None = None,
                   protected=PROTECTED_TIERS, max_sites_per_point: int | None = None, prune_by: str = "mixed",
                   discount: bool = True,
                   unserved_cost: float | None = None, warn: bool = True) -> Instance:
    """The planning instance of a demand and a supply (see the module doc).

    Parameters
    ----------
    demand : xarray.Dataset
        From :func:`~powerfirst.models.network.demand.demand_points` (``average_mw``, ``peak_mw``).
    supply : xarray.Dataset
        From :func:`~powerfirst.models.network.supply.site_supply`.
    sovereignty : str or mapping
        A rule of :data:`SOVEREIGNTY_RULES` or a mapping (module doc).
    caps : mapping, optional
        RTT cap per tier [ms]; default :data:`powerfirst.geo.TIER_RTT_CAP_MS`.
    protected : sequence of str
        Tiers under the N-1 rule (default regional and edge).
    max_sites_per_point : int, optional
        Keep only some allowed sites of each point: half of them the cheapest (annualised capital
        at the peak plus energy cost), half the nearest, and more of the cheapest until their
        power reaches three times the point's peak in every year; then each node (points with
        the same kept sites) gets more sites, from those allowed to all its points, until they
        reach three times its peak.  Default all (exact).  Tiers without a cap are never pruned
        (their points share one node).  A heuristic: a pruned site might have been needed.
    prune_by : {'mixed', 'cost'}
        ``mixed`` as above; ``cost``: all K the cheapest (nearby points then keep the same sites
        and merge into fewer, larger nodes: a smaller, tighter model, less choice of site).
    discount : bool
        Weight year ``y`` by ``(1 + r) ** -(y - y0)`` with the supply's discount rate (else 1).
    unserved_cost : float, optional
        [USD MWh-1]; default the supply's (the cost table).
    warn : bool
        Warn (:class:`InfeasibleDemandWarning`) when some demand has no allowed site.

    Raises
    ------
    ValidationError
        Years of the demand without supply figures, tiers unknown, bad caps, bad rule.
    """
    from powerfirst.geo import TIER_RTT_CAP_MS, round_trip_ms

    what = "network instance"
    for v in ("average_mw", "peak_mw"):
        if v not in demand:
            raise ValidationError(Problem(f"expected a network demand Dataset with {v}", variable=v), what=what)
    for v in ("available_mw", "firm_mw", "capex_annual", "energy_cost", "hosts", "module_mw"):
        if v not in supply:
            raise ValidationError(Problem(f"expected a network supply Dataset with {v}", variable=v), what=what)
    years = np.array([int(y) for y in demand["year"].values])
    s_years = [int(y) for y in supply["year"].values]
    missing = [int(y) for y in years if y not in s_years]
    if missing:
        raise ValidationError(Problem(f"the supply has no figures for years {missing} (it has {s_years}); build it "
                                      "with site_supply(..., years=<the demand's years>)", variable="year"), what=what)
    sup = supply.sel(year=list(years), tier=list(TIERS))
    caps_ms = dict(TIER_RTT_CAP_MS)
    if caps is not None:
        for k, v in caps.items():
            if k not in TIERS or not (float(v) > 0):
                raise ValidationError(Problem(f"expected caps of tiers {TIERS} > 0 ms, found {k!r}: {v!r}",
                                              variable="caps"), what=what)
            caps_ms[k] = float(v)
    protected = tuple(protected)
    if any(t not in TIERS for t in protected):
        raise ValidationError(Problem(f"expected protected tiers among {TIERS}, found {protected}",
                                      variable="protected"), what=what)
    if max_sites_per_point is not None and int(max_sites_per_point) < 2:
        raise ValidationError(Problem(f"expected max_sites_per_point >= 2 (N-1 needs two), found {max_sites_per_point}",
                                      variable="max_sites_per_point"), what=what)
    if prune_by not in ("mixed", "cost"):
        raise ValidationError(Problem(f"expected prune_by 'mixed' or 'cost', found {prune_by!r}", variable="prune_by"),
                              what=what)
    rule_name, rule = _resolve_rule(sovereignty)
    plat, plon = demand["lat"].values.astype(float), demand["lon"].values.astype(float)
    slat, slon = sup["lat"].values.astype(float), sup["lon"].values.astype(float)
    rtt = round_trip_ms(plat[:, None], plon[:, None], slat[None, :], slon[None, :])
    pc = demand["country"].values.astype(str)
    sc = sup["country"].values.astype(str)
    sov = sovereignty_mask(pc, sc, rule)
    avail = sup["available_mw"].transpose("site", "year").values.astype(float)
    firm = sup["firm_mw"].transpose("site", "year").values.astype(float)
    module = sup["module_mw"].values.astype(float)
    hosts = sup["hosts"].transpose("site", "tier").values.astype(bool)
    powered = avail.max(axis=1) >= module.min()
    capex = sup["capex_annual"].transpose("site", "tier").values.astype(float)
    ecost = sup["energy_cost"].values.astype(float)
    site_ids = sup["site"].values.astype(str)
    points = demand["point"].values.astype(str)
    peak_all = demand["peak_mw"].transpose("point", "tier", "year").sel(tier=list(TIERS)).values.astype(float)
    avg_all = demand["average_mw"].transpose("point", "tier", "year").sel(tier=list(TIERS)).values.astype(float)
    if (peak_all < avg_all - 1e-9).any() or (avg_all < 0).any():
        raise ValidationError(Problem("expected 0 <= average_mw <= peak_mw everywhere", variable="peak_mw"), what=what)
    report = []
    tiers = []
    for ti, t in enumerate(TIERS):
        cap = caps_ms[t]
        within = rtt <= cap if np.isfinite(cap) else np.ones_like(rtt, dtype=bool)
        allowed = within & sov & hosts[None, :, ti] & powered[None, :]
        # fit: a site must be able to hold at least one module of the tier in some year
        allowed &= (avail.max(axis=1) >= module[ti])[None, :]
        has = peak_all[:, ti, :].max(axis=1) > 0
        # nodes: points with the same allowed set and the same peak/average ratio
        with np.errstate(invalid="ignore", divide="ignore"):
            ratio = np.where(avg_all[:, ti, :] > 0, peak_all[:, ti, :] / avg_all[:, ti, :], 1.0)
        keys = {}
        point_node = np.full(points.size, -1)
        node_sets = []
        for i in np.flatnonzero(has):
            sset = np.flatnonzero(allowed[i])
            if max_sites_per_point is not None and np.isfinite(cap) and sset.size > int(max_sites_per_point):
                sset = _prune(sset, int(max_sites_per_point), capex[sset, ti] * ratio[i].max()
                              + ecost[sset] * HOURS_PER_YEAR, rtt[i, sset], avail[sset], 3.0 * peak_all[i, ti],
                              nearest=prune_by == "mixed")
            key = (sset.tobytes(), np.round(ratio[i], 9).tobytes())
            if key not in keys:
                keys[key] = len(node_sets)
                node_sets.append(sset)
            point_node[i] = keys[key]
            n_ok = sset.size
            if n_ok == 0 or (t in protected and n_ok == 1):
                report.append({"point": points[i], "tier": t, "country": pc[i],
                               "peak_mw": float(peak_all[i, ti].max()),
                               "reason": _reason(i, t, cap, within, sov, hosts[:, ti], powered, rtt, site_ids,
                                                 sset, pc[i], rule_name, rule)})
        n_nodes = len(node_sets)
        if max_sites_per_point is not None and np.isfinite(cap) and n_nodes:
            # a node's sites must be able to hold 3x its peak: extend with the sites every member may use
            node_sets = _extend_nodes(node_sets, point_node, allowed, peak_all[:, ti, :], avail,
                                      capex[:, ti] + ecost * HOURS_PER_YEAR)
        node_peak = np.zeros((n_nodes, years.size))
        node_avg = np.zeros((n_nodes, years.size))
        np.add.at(node_peak, point_node[point_node >= 0], peak_all[point_node >= 0, ti, :])
        np.add.at(node_avg, point_node[point_node >= 0], avg_all[point_node >= 0, ti, :])
        pn = np.concatenate([np.full(s.size, k) for k, s in enumerate(node_sets)]) if node_sets else np.zeros(0, int)
        ps = np.concatenate(node_sets) if node_sets else np.zeros(0, int)
        tiers.append(TierData(tier=t, cap_ms=cap, protected=t in protected, node_peak=node_peak, node_avg=node_avg,
                              point_node=point_node, pair_node=pn.astype(np.int64), pair_site=ps.astype(np.int64)))
    infeasible = pd.DataFrame(report, columns=["point", "tier", "country", "peak_mw", "reason"])
    if warn and len(infeasible):
        by = infeasible.groupby("tier")["peak_mw"].agg(["size", "sum"])
        msg = "; ".join(f"{t}: {int(r['size'])} points, {r['sum']:.1f} MW peak" for t, r in by.iterrows())
        warnings.warn(f"demand with no site allowed to serve it is planned as unserved ({msg}); see "
                      f"Instance.infeasible / the plan's 'unserved_reason' for which points and why",
                      InfeasibleDemandWarning, stacklevel=2)
    ba_names = sup["ba"].values.astype(str) if "ba" in sup.dims else np.array([], dtype=str)
    ba_of = {b: i for i, b in enumerate(ba_names)}
    site_ba = np.array([ba_of.get(b, -1) for b in sup["site_ba"].values.astype(str)], dtype=np.int64)
    headroom = sup["ba_headroom_mw"].values.astype(float) if "ba_headroom_mw" in sup else np.zeros(0)
    rate = float(supply.attrs.get("discount_rate", 0.0)) if discount else 0.0
    weight = (1.0 + rate) ** -(years - years[0]).astype(float)
    u_cost = float(supply.attrs.get("unserved_cost_usd_per_mwh", 2000.0)) if unserved_cost is None else float(unserved_cost)
    if not u_cost > 0:
        raise ValidationError(Problem(f"expected an unserved cost > 0 USD/MWh, found {unserved_cost!r}",
                                      variable="unserved_cost"), what=what)
    work = sup["work_per_mwh"].values.astype(float) if "work_per_mwh" in sup else np.full(site_ids.size, np.nan)
    return Instance(years=years, sites=site_ids, site_country=sc, site_ba=site_ba, bas=ba_names, headroom=headroom,
                    available=avail, firm=np.minimum(firm, avail), module_mw=module, capex=capex, hosts=hosts,
                    energy_cost=ecost, ci=sup["carbon_intensity"].values.astype(float), work=work,
                    year_weight=weight, unserved_cost=u_cost, tiers=tiers, points=points, point_country=pc, rtt=rtt,
                    infeasible=infeasible,
                    settings={"sovereignty": rule_name if rule_name != "custom" else str(rule),
                              "caps_ms": {t: caps_ms[t] for t in TIERS}, "protected": ",".join(protected),
                              "max_sites_per_point": max_sites_per_point, "prune_by": prune_by, "discount_rate": rate,
                              "unserved_cost": u_cost})


def _prune(sset, k, unit, rtt_i, avail_i, need, nearest: bool = True):
    """Half the K sites the cheapest, half the nearest, then more of the cheapest (preferring sites
    with power in the years still short) until their power reaches ``need`` [MW] in every year."""
    by_cost = sset[np.lexsort((rtt_i, unit))]
    by_near = sset[np.lexsort((unit, rtt_i))]
    keep = list(dict.fromkeys(list(by_cost[:(k + 1) // 2]) + list(by_near[:k // 2]))) if nearest else \
        list(by_cost[:k])
    pos = {int(s): j for j, s in enumerate(sset)}
    total = avail_i[[pos[int(s)] for s in keep]].sum(axis=0)
    rest = [s for s in by_cost if s not in set(keep)]
    while rest and (total < need).any():
        short = total < need
        j = next((j for j, s in enumerate(rest) if (avail_i[pos[int(s)]][short] > 0).any()), None)
        if j is None:
            break
        s = rest.pop(j)
        keep.append(s)
        total = total + avail_i[pos[int(s)]]
    return np.sort(np.array(keep, dtype=np.int64))


def _extend_nodes(node_sets, point_node, allowed, peak, avail, unit):
    """Sites added (cheapest first, with power in the years still short) to nodes whose sites cannot
    hold 3x their peak in some year, from the sites allowed to every member of the node."""
    out = []
    for n, sset in enumerate(node_sets):
        members = np.flatnonzero(point_node == n)
        need = 3.0 * peak[members].sum(axis=0)
        total = avail[sset].sum(axis=0)
        if members.size == 0 or (total >= need).all():
            out.append(sset)
            continue
        common = np.flatnonzero(allowed[members].all(axis=0))
        extra = np.setdiff1d(common, sset)
        extra = extra[np.argsort(unit[extra], kind="stable")]
        add = []
        for s in extra:
            short = total < need
            if not short.any():
                break
            if (avail[s][short] > 0).any():
                add.append(s)
                total = total + avail[s]
        out.append(np.union1d(sset, np.array(add, dtype=np.int64)))
    return out


def _reason(i, t, cap, within, sov, hosts_t, powered, rtt, site_ids, sset, country, rule_name, rule) -> str:
    w = within[i]
    if not hosts_t.any():
        return f"no candidate site may host the {t} tier"
    if not (w & hosts_t).any():
        j = int(np.nanargmin(np.where(hosts_t, rtt[i], np.inf)))
        return (f"no candidate within the {cap:g} ms {t} cap (nearest that hosts the tier: {site_ids[j]} at "
                f"{rtt[i, j]:.1f} ms)")
    near = w & hosts_t
    if not (near & sov[i]).any():
        return (f"{int(near.sum())} candidates within the {cap:g} ms cap, none in a jurisdiction the "
                f"'{rule_name}' sovereignty rule allows for {country} demand ({_allowed_text(country, rule)})")
    if not (near & sov[i] & powered).any():
        return (f"{int((near & sov[i]).sum())} allowed candidates within the cap, none with power for one "
                f"{t} module in any year at the confidence level")
    if sset.size == 0:
        return "no allowed candidate within the cap can hold one module of the tier"
    return (f"only one site ({site_ids[int(sset[0])]}) within the cap, allowed and with power: the N-1 rule "
            "needs two, so the demand cannot be served")
