r"""Demand by place, tier and year: the demand cube's regional TWh spread over population.

For a cube region :math:`R`, tier :math:`t` and year :math:`y` the average power the network
serves is

.. math::

    \bar D_{R,t,y} = \sigma\, E_{R,w(t),y} / 8.766 \quad [\mathrm{GW}], \qquad
    \hat D_{R,t,y} = k_t\, \bar D_{R,t,y}

with :math:`E` the cube's ``dc_electricity`` [TWh] of the workload :math:`w(t)` that the tier
serves (:data:`TIER_WORKLOAD`: training → ``training``, regional → ``inference``, edge →
``edge``), :math:`\sigma` the market share of the planned network [1] and :math:`k_t` the
peak-to-average factor of the tier [1].  A user ``split`` replaces the cube's workload shares:
the tier then gets ``split[t]`` of the cube's *accelerated* energy (training + inference + edge).

Each point :math:`i` of the region receives its population share,
:math:`D_{i,t,y} = D_{R,t,y}\, N_i / \sum_{j \in R} N_j`.  The population points (US county
centres of population, GeoNames cities of at least 15 000 people elsewhere,
:func:`powerfirst.io.geodata.read_population_points`) are first aggregated to H3 cells of a
chosen resolution, one demand point per (cell, country) — a cell that straddles a border stays
two points, so sovereignty rules stay exact — at the population-weighted centroid of its points.

Drivers and their standing
--------------------------
* The workload split and its drift are the demand cube's drivers
  (:class:`powerfirst.models.forecast.GrowthDrivers` ``workload_split`` 0.55 / 0.40 / 0.05 in 2024,
  ``inference_shift`` 3 points a year: *assumptions* of the driver model), overridable per call
  (``split``).
* The peak-to-average factor defaults to the cube's (``dc_peak_power`` / ``dc_average_power``,
  the driver ``peak_to_average`` 1.15, an *assumption* of the driver model), overridable per tier.
* Conventional (non-accelerated) data-centre load is left out by default (the network plans AI
  sites); ``conventional_tier`` adds it to one tier.
* The mapping of countries to the cube's regions (:data:`CUBE_REGION_COUNTRIES`) is an
  *assumption*: the IEA's regional split charted in the facts does not list its countries.  The
  population weights are a proxy for where compute demand arises: they ignore income and
  digital intensity, and outside the US they miss people living outside towns of 15 000.

References
----------
International Energy Agency (2025). *Energy and AI*. https://www.iea.org/reports/energy-and-ai
U.S. Census Bureau (2021). *Centers of Population, 2020 Census* (county mean centres).
GeoNames, *cities15000* (CC BY 4.0). https://www.geonames.org
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import xarray as xr

from powerfirst._provenance import provenance
from powerfirst.errors import Problem, ValidationError

__all__ = ["TIERS", "TIER_WORKLOAD", "CUBE_REGION_COUNTRIES", "cube_region", "aggregate_population",
           "demand_points", "H3_RESOLUTION"]

#: workload tiers of the network, most latency-sensitive last
TIERS = ("training", "regional", "edge")
#: the demand cube's workload each tier serves
TIER_WORKLOAD = {"training": "training", "regional": "inference", "edge": "edge"}
#: default H3 resolution of the demand points (resolution 3: cells of about 12 400 km², ~69 km edge)
H3_RESOLUTION = 3
#: 1 GW for a year [TWh]
_TWH_PER_GW_YEAR = 8.766

_EUROPE = ("AT BE BG HR CY CZ DK EE FI FR DE GR HU IE IT LV LT LU MT NL PL PT RO SK SI ES SE "
           "NO IS LI CH GB AL BA ME MK RS XK AD MC SM VA FO GI IM JE GG UA MD BY").split()
_ASIA_PACIFIC = ("JP KR KP TW MN HK MO IN PK BD LK NP BT MV SG MY TH VN PH ID MM KH LA BN TL AU NZ PG FJ SB VU NC "
                 "PF WS TO KI FM MH PW NR TV").split()

#: ASSUMPTION: the countries (ISO 3166-1 alpha-2) of each region of the demand cube; every other
#: country is ``Rest of world``.  US: the 50 states, DC and the territories of the Census file.
#: China: the mainland (Hong Kong and Macao are counted in Asia Pacific).  Europe: the EU27, the
#: EEA, the UK, Switzerland, the Western Balkans, the microstates and Ukraine, Moldova, Belarus
#: (not Russia or Türkiye).
CUBE_REGION_COUNTRIES = {
    "US": ("US", "PR", "GU", "VI", "AS", "MP"),
    "China": ("CN",),
    "Europe": tuple(_EUROPE),
    "Asia Pacific excl. China": tuple(_ASIA_PACIFIC),
}


def cube_region(country) -> np.ndarray:
    """The demand-cube region of each country code (:data:`CUBE_REGION_COUNTRIES`)."""
    c = np.asarray(country, dtype=object).astype(str)
    out = np.full(c.shape, "Rest of world", dtype=object)
    for region, members in CUBE_REGION_COUNTRIES.items():
        out[np.isin(c, members)] = region
    return out


def aggregate_population(points: pd.DataFrame, resolution: int = H3_RESOLUTION) -> pd.DataFrame:
    """Population points summed into H3 cells: one row per (cell, country).

    Parameters
    ----------
    points : pandas.DataFrame
        ``lat`` [degrees_north], ``lon`` [degrees_east], ``population`` [persons], ``country``.
    resolution : int
        H3 resolution, 0..7 (0: cells of ~4.4 million km²; 7: ~5 km²).

    Returns
    -------
    pandas.DataFrame
        ``point`` (``<cell>:<country>``), ``cell``, ``country``, ``lat``, ``lon`` (population-weighted
        centroid, averaged as unit vectors so that cells across the antimeridian stay right),
        ``population`` [persons], ``n_points``; sorted by ``point``.  Cells without population are dropped.
    """
    import h3

    if not isinstance(resolution, (int, np.integer)) or isinstance(resolution, bool) or not 0 <= resolution <= 7:
        raise ValidationError(Problem(f"expected an H3 resolution in 0..7, found {resolution!r}",
                                      variable="resolution"), what="aggregate_population")
    need = {"lat", "lon", "population", "country"}
    if not need <= set(points.columns):
        raise ValidationError(Problem(f"expected columns {sorted(need)}, found {sorted(points.columns)}"),
                              what="population points")
    pop = points["population"].to_numpy(float)
    bad = ~np.isfinite(pop) | (pop < 0)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValidationError(Problem(f"expected population >= 0 persons, found {pop[i]!r} ({int(bad.sum())} rows)",
                                      row=i + 1, column="population"), what="population points")
    keep = pop > 0
    p = points.loc[keep]
    lat, lon, w = p["lat"].to_numpy(float), p["lon"].to_numpy(float), pop[keep]
    cells = np.array([h3.latlng_to_cell(a, b, int(resolution)) for a, b in zip(lat, lon, strict=True)], dtype=object)
    key = pd.Series(cells).str.cat(p["country"].astype(str).to_numpy(), sep=":").to_numpy()
    phi, lam = np.radians(lat), np.radians(lon)
    df = pd.DataFrame({"point": key, "cell": cells, "country": p["country"].astype(str).to_numpy(), "w": w,
                       "x": w * np.cos(phi) * np.cos(lam), "y": w * np.cos(phi) * np.sin(lam), "z": w * np.sin(phi)})
    g = df.groupby("point", sort=True).agg(cell=("cell", "first"), country=("country", "first"), population=("w", "sum"),
                                           x=("x", "sum"), y=("y", "sum"), z=("z", "sum"), n_points=("w", "size"))
    g["lat"] = np.degrees(np.arctan2(g["z"], np.hypot(g["x"], g["y"])))
    g["lon"] = np.degrees(np.arctan2(g["y"], g["x"]))
    return g.reset_index()[["point", "cell", "country", "lat", "lon", "population", "n_points"]]


def _check_tier_mapping(name: str, value, lo: float, hi: float, what: str) -> dict:
    if value is None:
        return {}
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = dict.fromkeys(TIERS, float(value))
    if not isinstance(value, Mapping):
        raise ValidationError(Problem(f"expected a mapping of tier to number, found {type(value).__name__}",
                                      variable=name), what=what)
    probs = []
    out = {}
    for k, v in value.items():
        if k not in TIERS:
            probs.append(Problem(f"unknown tier {k!r}; expected one of {', '.join(TIERS)}", variable=name))
            continue
        try:
            f = float(v)
        except (TypeError, ValueError):
            probs.append(Problem(f"tier {k!r}: expected a number, found {v!r}", variable=name))
            continue
        if not (np.isfinite(f) and lo <= f <= hi):
            probs.append(Problem(f"tier {k!r}: expected a value in [{lo:g}, {hi:g}], found {v!r}", variable=name))
        out[k] = f
    if probs:
        raise ValidationError(probs, what=what)
    return out


def demand_points(regions: Sequence[str] = ("US", "Europe"), years: Sequence[int] = (2026, 2028, 2030), *,
                  scenario: str = "Base", cube: xr.Dataset | None = None, resolution: int = H3_RESOLUTION,
                  split: Mapping[str, float] | None = None, peak_to_average: Mapping[str, float] | float | None = None,
                  market_share: float = 1.0, conventional_tier: str | None = None,
                  population: pd.DataFrame | None = None, countries: Sequence[str] | None = None) -> xr.Dataset:
    """Average and peak demand of every demand point, tier and year.

    Parameters
    ----------
    regions : sequence of str
        Regions of the demand cube to plan (not ``World``).
    years : sequence of int
        Years of the plan; each must be a year of the cube with a projection (the driver model
        starts at its base year, 2024).
    scenario : str
        Scenario of the cube (``Base``, ``Lift-Off``, ``High Efficiency``, ``Headwinds``).
    cube : xarray.Dataset, optional
        A demand cube (:func:`powerfirst.models.forecast.demand_cube`); default the cube of
        2014–2035 for ``regions`` and ``scenario``.
    resolution : int
        H3 resolution of the demand points (:func:`aggregate_population`).
    split : mapping, optional
        Shares of the accelerated energy by tier (summing to 1), replacing the cube's workload split.
    peak_to_average : mapping or float, optional
        Peak-to-average factor per tier [1], in [1, 3]; default the cube's.
    market_share : float
        Share of each region's demand the planned network serves [1], in (0, 1].
    conventional_tier : str, optional
        Tier that also serves the cube's conventional data-centre load (default: left out).
    population : pandas.DataFrame, optional
        Population points (default :func:`powerfirst.io.geodata.read_population_points`).
    countries : sequence of str, optional
        Keep only the points of these countries; each region's demand is then scaled by the
        population share of the kept points (a country's share of its region).

    Returns
    -------
    xarray.Dataset
        On ``point``, ``tier``, ``year`` (and ``region``): ``average_mw`` and ``peak_mw`` [MW]
        (point, tier, year); ``region_average_gw`` and ``region_peak_gw`` [GW] (region, tier, year);
        coordinates ``lat``, ``lon``, ``country``, ``region``, ``population`` of each point.

    Raises
    ------
    ValidationError
        A year outside the cube or before its projection starts, an unknown region or scenario,
        shares not summing to 1, a factor out of range, a region without population points.
    """
    what = "network demand"
    years = [int(y) for y in years]
    probs = []
    if not years:
        probs.append(Problem("expected at least one year", variable="years"))
    if len(set(years)) != len(years):
        probs.append(Problem(f"expected distinct years, found {years}", variable="years"))
    regions = [str(r) for r in regions]
    known = ("US", "China", "Europe", "Asia Pacific excl. China", "Rest of world")
    for r in regions:
        if r not in known:
            probs.append(Problem(f"unknown region {r!r}; expected some of {', '.join(known)}", variable="regions"))
    if not 0 < float(market_share) <= 1:
        probs.append(Problem(f"expected a market share in (0, 1], found {market_share!r}", variable="market_share"))
    if conventional_tier is not None and conventional_tier not in TIERS:
        probs.append(Problem(f"expected one of {', '.join(TIERS)} or None, found {conventional_tier!r}",
                             variable="conventional_tier"))
    if probs:
        raise ValidationError(probs, what=what)
    split_map = _check_tier_mapping("split", split, 0.0, 1.0, what)
    if split_map:
        if set(split_map) != set(TIERS) or abs(sum(split_map.values()) - 1.0) > 1e-6:
            raise ValidationError(Problem(f"expected shares of all three tiers ({', '.join(TIERS)}) summing to 1, "
                                          f"found {split_map}", variable="split"), what=what)
    k_map = _check_tier_mapping("peak_to_average", peak_to_average, 1.0, 3.0, what)
    if cube is None:
        from powerfirst.models.forecast import demand_cube

        cube = demand_cube(scenarios=[scenario], regions=regions, years=range(2014, 2036))
    for v in ("dc_electricity", "dc_average_power", "dc_peak_power"):
        if v not in cube:
            raise ValidationError(Problem(f"expected a demand cube with {v}, found variables {sorted(cube.data_vars)}"),
                                  what=what)
    if scenario not in cube["scenario"].values:
        raise ValidationError(Problem(f"scenario {scenario!r} is not in the demand cube (it has "
                                      f"{', '.join(map(str, cube['scenario'].values))})", variable="scenario"), what=what)
    cube_years = [int(y) for y in cube["year"].values]
    missing_r = [r for r in regions if r not in cube["region"].values]
    if missing_r:
        raise ValidationError(Problem(f"regions {missing_r} are not in the demand cube (it has "
                                      f"{', '.join(map(str, cube['region'].values))})", variable="regions"), what=what)
    e = cube["dc_electricity"].sel(scenario=scenario, region=regions)
    outside = [y for y in years if y not in cube_years]
    if outside:
        raise ValidationError(Problem(f"years {outside} lie outside the demand cube ({min(cube_years)}–{max(cube_years)})",
                                      variable="years"), what=what)
    e = e.sel(year=years)
    no_proj = [y for y in years if not np.isfinite(e.sel(year=y).values).all()]
    if no_proj:
        raise ValidationError(Problem(f"the demand cube has no projection for years {no_proj} (the driver model starts "
                                      f"at its base year; history is not a projection)", variable="years"), what=what)
    # regional TWh by tier
    work = e.transpose("region", "year", "workload")
    acc = sum(work.sel(workload=w) for w in ("training", "inference", "edge"))
    twh = {}
    for t in TIERS:
        twh[t] = acc * split_map[t] if split_map else work.sel(workload=TIER_WORKLOAD[t])
        if conventional_tier == t:
            twh[t] = twh[t] + work.sel(workload="conventional")
    ratio = (cube["dc_peak_power"] / cube["dc_average_power"]).sel(scenario=scenario, region=regions, year=years)
    ratio = ratio.isel(workload=0).transpose("region", "year")
    reg_avg = np.stack([twh[t].values for t in TIERS], axis=1) / _TWH_PER_GW_YEAR * float(market_share)  # (R, T, Y)
    kf = np.stack([np.full(ratio.shape, k_map[t]) if t in k_map else ratio.values for t in TIERS], axis=1)
    reg_peak = reg_avg * kf
    # population points
    if population is None:
        from powerfirst.io.geodata import read_population_points

        population = read_population_points()
    pts = aggregate_population(population, resolution)
    pts["region"] = cube_region(pts["country"])
    scale = np.ones(len(regions))
    if countries is not None:
        cset = {str(c) for c in countries}
        tot = pts.groupby("region")["population"].sum()
        pts = pts[pts["country"].isin(cset)]
        kept = pts.groupby("region")["population"].sum()
        scale = np.array([float(kept.get(r, 0.0) / tot.get(r, np.inf)) for r in regions])
    pts = pts[pts["region"].isin(regions)].reset_index(drop=True)
    empty = [r for r, s in zip(regions, scale, strict=True) if not (pts["region"] == r).any() or s == 0]
    if empty:
        raise ValidationError(Problem(f"no population points in regions {empty}"
                                      + (f" among countries {sorted(countries)}" if countries is not None else ""),
                                      variable="regions"), what=what)
    ridx = np.array([regions.index(r) for r in pts["region"]])
    rpop = pts.groupby("region")["population"].sum()
    share = pts["population"].to_numpy(float) / rpop.loc[pts["region"]].to_numpy(float) * scale[ridx]
    avg = reg_avg[ridx] * share[:, None, None] * 1000.0  # GW -> MW
    peak = reg_peak[ridx] * share[:, None, None] * 1000.0
    ds = xr.Dataset(coords={"point": pts["point"].to_numpy(str), "tier": list(TIERS), "year": years, "region": regions})
    for c in ("lat", "lon"):
        ds.coords[c] = ("point", pts[c].to_numpy(float), {"units": "degrees_north" if c == "lat" else "degrees_east"})
    ds.coords["country"] = ("point", pts["country"].to_numpy(str))
    ds.coords["point_region"] = ("point", pts["region"].to_numpy(str))
    ds.coords["population"] = ("point", pts["population"].to_numpy(float), {"units": "persons"})
    ds["average_mw"] = (("point", "tier", "year"), avg, {"units": "MW", "long_name": "average demand of the point"})
    ds["peak_mw"] = (("point", "tier", "year"), peak, {"units": "MW", "long_name": "peak demand of the point"})
    ds["region_average_gw"] = (("region", "tier", "year"), reg_avg * scale[:, None, None],
                               {"units": "GW", "long_name": "average demand served in the region"})
    ds["region_peak_gw"] = (("region", "tier", "year"), reg_peak * scale[:, None, None],
                            {"units": "GW", "long_name": "peak demand served in the region"})
    ds.attrs.update(provenance(
        title="network demand by point, tier and year", scenario=scenario, h3_resolution=int(resolution),
        market_share=float(market_share),
        split=str(split_map) if split_map else "the demand cube's workload split (GrowthDrivers, an assumption)",
        peak_to_average=str(k_map) if k_map else "the demand cube's (GrowthDrivers.peak_to_average, an assumption)",
        conventional_tier=str(conventional_tier), countries="" if countries is None else ",".join(sorted(countries)),
        tier_workload=str(TIER_WORKLOAD), cube_created=cube.attrs.get("created", ""),
        population="US Census 2020 county centres of population; GeoNames cities15000 (CC BY 4.0)"))
    return ds
