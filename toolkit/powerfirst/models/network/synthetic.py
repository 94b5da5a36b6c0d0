"""Random network instances of a given size, in the formats of the demand and supply Datasets.

For tests (small instances that can be enumerated, larger ones to compare the MILP with the
greedy) and for the benchmark.  Nothing here is data: places are drawn uniformly in
latitude-longitude boxes of the US and Europe, demand from a log-normal population, site
power from random ramps; the costs are drawn around the figures of ``data/network/costs.csv``
so that the magnitudes (capital against energy) are those of a real plan.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import xarray as xr

from .demand import TIERS

__all__ = ["random_network", "BOXES"]

#: (country, lat_min, lat_max, lon_min, lon_max) boxes places are drawn in
BOXES = (
    ("US", 30.0, 47.0, -120.0, -75.0),
    ("FR", 43.5, 49.5, -1.0, 6.0),
    ("DE", 48.0, 54.0, 7.0, 14.0),
    ("PL", 50.0, 54.0, 15.0, 23.0),
    ("GB", 51.0, 55.0, -3.5, 0.5),
)


def random_network(n_sites: int, n_points: int, years: Sequence[int] = (2027, 2029), *, seed: int = 0,
                   boxes: Sequence[tuple] = BOXES, module_mw: Sequence[float] = (50.0, 20.0, 5.0),
                   demand_scale: float = 1.0, site_mw: tuple[float, float] = (40.0, 400.0),
                   flexible_share: float = 0.3, n_bas: int = 4, headroom_mw: float = 300.0,
                   unserved_cost: float = 2000.0, discount_rate: float = 0.07,
                   demand_follows_supply: bool = False) -> tuple[xr.Dataset, xr.Dataset]:
    """A random (demand, supply) pair.

    Parameters
    ----------
    n_sites, n_points : int
        Candidate sites and demand points.
    years : sequence of int
    seed : int
    boxes : sequence of (country, lat_min, lat_max, lon_min, lon_max)
        Where points and sites are drawn (each box gets a share proportional to its area).
    module_mw : (training, regional, edge)
        Build modules [MW].
    demand_scale : float
        Multiplies the demand (1: about half of the sites' power in the last year at peak).
    site_mw : (low, high)
        Range of the final MW of a site [MW] (log-uniform).
    flexible_share : float
        Share of the sites whose last part of their MW comes from a flexible connection.
    n_bas : int
        BAs per country (each with ``headroom_mw`` of flexible headroom).
    demand_follows_supply : bool
        Demand of each year in proportion to the sites' power that year (floored at 10 % of the
        last year's), instead of growing from 60 % to 100 % of the last year's.

    Returns
    -------
    (xarray.Dataset, xarray.Dataset)
        Demand (``average_mw``, ``peak_mw`` on point, tier, year) and supply (``available_mw``,
        ``firm_mw``, ``capex_annual``, ``energy_cost``, ``hosts``, ``module_mw``, ...) as
        :func:`~powerfirst.models.network.demand.demand_points` and
        :func:`~powerfirst.models.network.supply.site_supply` give them.
    """
    rng = np.random.default_rng(seed)
    years = [int(y) for y in years]
    Y = len(years)
    area = np.array([(b[2] - b[1]) * (b[4] - b[3]) * np.cos(np.radians((b[1] + b[2]) / 2)) for b in boxes])
    share = area / area.sum()

    def places(n):
        which = rng.choice(len(boxes), size=n, p=share)
        lat = np.array([rng.uniform(boxes[w][1], boxes[w][2]) for w in which])
        lon = np.array([rng.uniform(boxes[w][3], boxes[w][4]) for w in which])
        return lat, lon, np.array([boxes[w][0] for w in which]), which

    plat, plon, pcountry, _ = places(n_points)
    slat, slon, scountry, sbox = places(n_sites)
    # supply: a ramp to a final MW, starting in a random year, flexible tail for some sites
    final = np.exp(rng.uniform(np.log(site_mw[0]), np.log(site_mw[1]), n_sites))
    first = rng.integers(0, Y + 1, n_sites)  # index of the first year with power (Y: never within the plan)
    frac = np.zeros((n_sites, Y))
    for i in range(n_sites):
        for y in range(first[i], Y):
            frac[i, y] = min(1.0, 0.5 + 0.5 * (y - first[i]))
    avail = final[:, None] * frac
    flexible = rng.random(n_sites) < flexible_share
    firm = np.where(flexible[:, None], avail * rng.uniform(0.3, 0.8, n_sites)[:, None], avail)
    n_bas = max(int(n_bas), 1)
    ba = np.array([f"{c}-{k}" for c, k in zip(scountry, rng.integers(0, n_bas, n_sites), strict=True)])
    bas = np.array(sorted(set(ba)))
    # costs around the cost table: capex per MW of facility load annualised at 7 % / 20 years
    crf = discount_rate / (1 - (1 + discount_rate) ** -20)
    base = np.array([11.7e6, 11.7e6, 15.0e6]) / 1.3 + 0.25e6
    capex = base[None, :] * rng.uniform(0.85, 1.25, (n_sites, 1)) * crf
    price = rng.uniform(40.0, 120.0, n_sites)
    ci = rng.uniform(30.0, 700.0, n_sites)
    ecost = price + 72.5 * ci / 1000.0
    work = rng.uniform(550.0, 750.0, n_sites)
    hosts = np.ones((n_sites, len(TIERS)), bool)
    # demand: log-normal population; tier totals ~ half the power of the last year
    pop = rng.lognormal(0.0, 1.0, n_points)
    pop /= pop.sum()
    total_last = max(avail[:, -1].sum(), 1.0) * 0.5 * float(demand_scale)
    tier_share = np.array([0.45, 0.45, 0.10])
    if demand_follows_supply:
        growth = np.maximum(avail.sum(axis=0) / max(avail[:, -1].sum(), 1.0), 0.1)
    else:
        growth = np.linspace(0.6, 1.0, Y) if Y > 1 else np.ones(1)
    k = np.array([1.05, 1.3, 1.5])  # peak-to-average per tier (synthetic)
    peak = pop[:, None, None] * tier_share[None, :, None] * growth[None, None, :] * total_last
    avg = peak / k[None, :, None]
    dem = xr.Dataset(coords={"point": [f"p{i}" for i in range(n_points)], "tier": list(TIERS), "year": years})
    dem.coords["lat"] = ("point", plat)
    dem.coords["lon"] = ("point", plon)
    dem.coords["country"] = ("point", pcountry)
    dem["average_mw"] = (("point", "tier", "year"), avg, {"units": "MW"})
    dem["peak_mw"] = (("point", "tier", "year"), peak, {"units": "MW"})
    dem.attrs.update(title="synthetic network demand", seed=int(seed))
    sup = xr.Dataset(coords={"site": [f"s{i}" for i in range(n_sites)], "year": years, "tier": list(TIERS), "ba": bas})
    sup.coords["lat"] = ("site", slat)
    sup.coords["lon"] = ("site", slon)
    sup.coords["country"] = ("site", scountry)
    sup.coords["site_ba"] = ("site", ba)
    sup["available_mw"] = (("site", "year"), avail, {"units": "MW"})
    sup["firm_mw"] = (("site", "year"), firm, {"units": "MW"})
    sup["flexible_mw"] = (("site", "year"), avail, {"units": "MW"})
    sup["capex_annual"] = (("site", "tier"), capex, {"units": "USD MW-1 year-1"})
    sup["price"] = ("site", price, {"units": "USD MWh-1"})
    sup["carbon_intensity"] = ("site", ci, {"units": "gCO2 kWh-1"})
    sup["energy_cost"] = ("site", ecost, {"units": "USD MWh-1"})
    sup["work_per_mwh"] = ("site", work, {"units": "h MWh-1"})
    sup["hosts"] = (("site", "tier"), hosts)
    sup["ba_headroom_mw"] = ("ba", np.full(bas.size, float(headroom_mw)), {"units": "MW"})
    sup["module_mw"] = ("tier", np.asarray(module_mw, float), {"units": "MW"})
    sup["energisation_path"] = ("site", np.where(flexible, "grid_flexible", "grid_firm"))
    sup.attrs.update(title="synthetic network supply", seed=int(seed), discount_rate=float(discount_rate),
                     unserved_cost_usd_per_mwh=float(unserved_cost), confidence=0.8)
    return dem, sup
