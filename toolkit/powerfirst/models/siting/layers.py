"""Layers of the siting screen: what each candidate has, from real data, one row at a time.

Every layer is a function of the candidate's own location and attributes and of fixed reference
tables (the :class:`SitingContext`), so a block of candidates can be computed anywhere (a Dask
worker) in any order and give the same numbers (the screen's results do not depend on chunking).

========================  ===========  ===========================================================
layer                     units        source
========================  ===========  ===========================================================
hv_distance_km            km           nearest high-voltage line point or substation of at least
                                       the tier's voltage: OSM US grid (2017 snapshot; no US West)
                                       and the GridKit ENTSO-E extract (2022); NaN + flag outside
                                       their coverage
hv_distance_any_km        km           the same for any tagged or untagged voltage
plant_mw_25km             MW           operating/retiring plants >= 50 MW within 25 km (EIA-860M
                                       Dec 2025, US only)
nearest_plant_km          km           distance to the nearest such plant
headroom_mw               MW           flexible-load headroom of the BA at the curtailment limit
                                       (Norris et al. 2025, 22 US BAs; or the headroom model)
solar_cf / wind_cf        1            single-axis PV (AC) / net wind capacity factor of the
                                       nearest typical-year station (data/derived/weather/
                                       station_energy.csv)
pue_annual                1            the tier's energy-weighted annual PUE at that station
carbon_intensity          gCO2 kWh-1   annual mean of the BA's (or country's) grid
carbon_free_share         1            annual mean carbon-free share of the grid
price                     USD MWh-1    large-customer electricity price of the state/country
population_within_cap     persons      people within the tier's round-trip cap (US county
                                       centres 2020, GeoNames cities >= 15,000 elsewhere)
rtt_weighted_ms           ms           population-weighted round trip to the candidate's market
water_stress_cat          1            WRI Aqueduct 4.0 country baseline water stress (0-4)
hazard_risk_score         1            FEMA NRI county risk score (0-100, US)
social_severity           1            moratoria/restrictions in force (data/siting/
                                       social_licence.csv)
========================  ===========  ===========================================================
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

__all__ = ["LAYER_META", "LAYER_VINTAGE", "VOLTAGE_CLASSES_KV", "SitingContext", "load_context", "compute_layers", "EUROPE"]

#: countries screened against the European grid layer and market (EU27 + EEA + GB, CH and the Balkans
#: covered by the ENTSO-E map extract)
EUROPE = frozenset("AT BE BG HR CY CZ DK EE FI FR DE GR HU IE IT LV LT LU MT NL PL PT RO SK SI ES SE "
                   "NO IS LI CH GB AL BA ME MK RS XK".split())

#: voltage classes of the distance layers [kV] (sub-transmission, the 230 kV backbone, EHV)
VOLTAGE_CLASSES_KV = (115, 230, 345)

#: the energy cube's name of a tier (its PUE designs: core = the central training campus)
_CUBE_TIER = {"training": "core"}

#: units, long name and source of every layer variable
LAYER_META = {
    "hv_distance_km": ("km", "distance to the nearest high-voltage line or substation of the tier's voltage",
                       "OpenStreetMap US grid 2017 (ODbL, via ComplexNetTSP/GridKit); GridKit ENTSO-E extract 2022 (CC BY 4.0, PyPSA-Eur)"),
    "hv_distance_any_km": ("km", "distance to the nearest high-voltage line or substation of any voltage",
                           "as hv_distance_km"),
    "hv_voltage_kv": ("kV", "voltage of the nearest line or substation of the tier's voltage", "as hv_distance_km"),
    "plant_mw_25km": ("MW", "capacity of operating and retiring plants >= 50 MW within 25 km",
                      "EIA-860M December 2025 (aggregated to plant, via gridsite)"),
    "nearest_plant_km": ("km", "distance to the nearest plant >= 50 MW", "EIA-860M December 2025"),
    "nearest_plant_mw": ("MW", "capacity of the nearest plant >= 50 MW", "EIA-860M December 2025"),
    "headroom_mw": ("MW", "flexible-load headroom of the balancing authority at the curtailment limit",
                    "Norris et al. 2025 (Duke Nicholas Institute NI R 25-01), data/facts/flexible_headroom_norris2025.csv"),
    "solar_cf": ("1", "single-axis-tracking PV capacity factor (AC) of the nearest station",
                 "data/derived/weather/station_energy.csv (typical-year stations, pvlib)"),
    "wind_cf": ("1", "net wind capacity factor of the nearest station", "data/derived/weather/station_energy.csv"),
    "pue_annual": ("1", "energy-weighted annual PUE of the tier's cooling design at the nearest station",
                   "data/derived/weather/station_energy.csv (powerfirst PUE model)"),
    "cooling_degree_hours": ("K h", "cooling degree hours above 18 C of the nearest station's typical year",
                             "data/derived/weather/station_energy.csv"),
    "p99_temp_c": ("degC", "99th percentile of the hourly dry-bulb temperature of the nearest station",
                   "data/derived/weather/station_energy.csv"),
    "station_distance_km": ("km", "distance to the typical-year station used", "data/derived/weather/stations.csv"),
    "carbon_intensity": ("gCO2 kWh-1", "annual mean grid carbon intensity",
                         "EIA-930 2022 fuel mix (8 US BAs, proxies for others); Ember/EEA 2023 by country (data/facts)"),
    "carbon_free_share": ("1", "annual mean carbon-free share of grid energy", "as carbon_intensity"),
    "price": ("USD MWh-1", "large-customer electricity price", "data/siting/electricity_prices.csv"),
    "population_within_10ms": ("persons", "population within 10 ms round trip (the edge cap)",
                               "as population_within_cap"),
    "population_within_30ms": ("persons", "population within 30 ms round trip (the regional cap)",
                               "as population_within_cap"),
    "hv_distance_115kv_km": ("km", "distance to the nearest line or substation of at least 115 kV", "as hv_distance_km"),
    "hv_distance_230kv_km": ("km", "distance to the nearest line or substation of at least 230 kV", "as hv_distance_km"),
    "hv_distance_345kv_km": ("km", "distance to the nearest line or substation of at least 345 kV", "as hv_distance_km"),
    "population_within_cap": ("persons", "population within the tier's round-trip cap",
                              "US Census 2020 county centres of population; GeoNames cities >= 15,000 (CC BY 4.0)"),
    "rtt_weighted_ms": ("ms", "population-weighted mean round trip to the demand of the candidate's market",
                        "powerfirst.geo.round_trip_ms on the population points"),
    "water_stress_cat": ("1", "baseline water stress category of the country (0 low .. 4 extremely high)",
                         "WRI Aqueduct 4.0 country rankings (CC BY 4.0)"),
    "hazard_risk_score": ("1", "natural-hazard risk score of the county (0..100)", "FEMA National Risk Index (pre-2023 release)"),
    "social_severity": ("1", "severity of moratoria, restrictions and opposition in force (0..1)",
                        "data/siting/social_licence.csv"),
}


#: vintage of the data behind each layer family (the year or period the figures describe)
LAYER_VINTAGE = {
    "hv_distance": "US: OpenStreetMap as of late 2016 (published Jan 2017); Europe: ENTSO-E map extract March 2022",
    "plant": "EIA-860M December 2025",
    "headroom": "EIA-930 hourly load 2016-2024 (Norris et al. 2025)",
    "solar_cf": "typical meteorological years (TMY3 1973-2005, TMYx 2007-2021, PVGIS 2005-2020)",
    "wind_cf": "as solar_cf", "pue_annual": "as solar_cf", "cooling_degree_hours": "as solar_cf",
    "p99_temp_c": "as solar_cf", "station_distance": "as solar_cf",
    "carbon": "EIA-930 fuel mix 2022 (US BAs); 2023 (European countries)",
    "price": "US: 2023 (EIA Electric Power Annual); Europe: 2024-S2 (Eurostat nrg_pc_205)",
    "population": "US Census 2020; GeoNames (2024 package)",
    "rtt": "Azure inter-region P50 round trips, June 2025 (the latency fit)",
    "water_stress": "WRI Aqueduct 4.0 baseline (2023)",
    "hazard": "FEMA National Risk Index, pre-2023 release (2010 Census population)",
    "social": "data/siting/social_licence.csv rows in force on the screening date",
}


def _vintage(layer: str) -> str:
    for key, v in LAYER_VINTAGE.items():
        if layer.startswith(key) or key in layer:
            return v
    return ""


def _headroom_table() -> pd.DataFrame:
    """Norris et al. (2025) flexible headroom by BA and curtailment limit [MW]."""
    from powerfirst.paths import facts_dir

    f = pd.read_csv(facts_dir() / "flexible_headroom_norris2025.csv", dtype={"region": str, "scenario": str})
    f = f[(f["quantity"] == "flexible_headroom") & (f["region"] != "US")].copy()
    f["limit"] = f["scenario"].str.rstrip("%").astype(float)
    f["mw"] = f["value"].astype(float) * 1000.0  # GW -> MW
    return f.pivot_table(index="region", columns="limit", values="mw", aggfunc="first")


def headroom_at(limit_pct: float) -> dict[str, float]:
    """Headroom of each BA of Norris et al. (2025) at a curtailment limit [MW].

    Log-linear interpolation in the limit between the study's limits (0.25, 0.5, 1, 5 %); a limit
    outside them raises (no extrapolation)."""
    tab = _headroom_table()
    lims = np.array(tab.columns, float)
    if not lims.min() <= limit_pct <= lims.max():
        raise ValueError(f"curtailment limit {limit_pct} % lies outside the study's limits "
                         f"{lims.min()}-{lims.max()} % (Norris et al. 2025): pass headroom_mw from the headroom model")
    out = {}
    for ba, row in tab.iterrows():
        ok = row.notna().to_numpy()
        x, y = np.log(lims[ok]), row.to_numpy(float)[ok]
        if len(x) and x.min() <= np.log(limit_pct) <= x.max():
            out[str(ba)] = float(np.interp(np.log(limit_pct), x, y))
    return out


@dataclass
class SitingContext:
    """The reference tables every block of candidates is scored against (built once per screen).

    Attributes hold plain numpy arrays and small frames so the object pickles cheaply to workers.
    """

    grid_lat: np.ndarray
    grid_lon: np.ndarray
    grid_kv: np.ndarray
    coverage: dict                      # region -> shapely geometry covered by the grid layer
    plant_lat: np.ndarray
    plant_lon: np.ndarray
    plant_mw: np.ndarray
    stations: pd.DataFrame              # station_energy.csv
    headroom: dict                      # ba -> MW
    carbon: pd.DataFrame                # index ba/country code -> carbon_intensity, carbon_free_share
    water: dict                         # iso_a2 -> bws category
    hazard: dict                        # county_fips -> risk score
    pop_lat: np.ndarray
    pop_lon: np.ndarray
    pop: np.ndarray
    pop_market: np.ndarray              # 'US' / 'EU' / ''
    curtailment_limit: float
    sources: dict = field(default_factory=dict)
    _trees: dict = field(default_factory=dict, repr=False)

    def tree(self, name: str, lat: np.ndarray, lon: np.ndarray):
        from sklearn.neighbors import BallTree

        if name not in self._trees:
            self._trees[name] = BallTree(np.radians(np.column_stack([lat, lon])), metric="haversine") if len(lat) else None
        return self._trees[name]

    def __getstate__(self):
        d = dict(self.__dict__)
        d["_trees"] = {}
        return d


def _carbon_table() -> pd.DataFrame:
    """Annual mean carbon intensity [gCO2 kWh-1] and carbon-free share [1] of every grid of
    schema/grids.csv that has a profile (its own, a documented proxy's or its country's); the
    others are left out (their candidates are flagged, not guessed)."""
    from powerfirst.cubes.energy import carbon_free_share_profiles, carbon_intensity_profiles
    from powerfirst.errors import ValidationError as _VE
    from powerfirst.schema import grids

    g = grids()
    one = pd.DatetimeIndex([pd.Timestamp("2023-01-01")])
    known = []
    for code, country in zip(g.index.astype(str), g["country"].astype(str), strict=True):
        try:
            carbon_intensity_profiles(one, [code], [country])
        except _VE:
            continue
        known.append((code, country))
    codes = np.array([k[0] for k in known])
    country = np.array([k[1] for k in known])
    times = pd.date_range("2023-01-01", periods=8760, freq="h")
    ci, ci_idx, _ = carbon_intensity_profiles(times, codes, country)
    cf, cf_idx, _ = carbon_free_share_profiles(times, codes, country)
    # a grid whose fuel mix is unknown has an all-NaN carbon-free profile: its share stays NaN (flagged)
    cfe = np.full(cf.shape[0], np.nan)
    have = np.isfinite(cf).any(axis=1) if cf.size else np.zeros(0, bool)
    cfe[have] = np.nanmean(cf[have], axis=1)
    return pd.DataFrame({"carbon_intensity": np.nanmean(ci, axis=1)[ci_idx],
                         "carbon_free_share": cfe[cf_idx] if cf.size else np.nan}, index=codes)


def _population_cells(pop: pd.DataFrame, resolution: int = 3) -> pd.DataFrame:
    """Population points summed on H3 cells (population-weighted centroids) — the demand points."""
    import h3

    cells = [h3.latlng_to_cell(a, b, resolution) for a, b in zip(pop["lat"], pop["lon"], strict=True)]
    df = pd.DataFrame({"cell": cells, "w": pop["population"].to_numpy(float),
                       "wlat": pop["lat"].to_numpy(float) * pop["population"].to_numpy(float),
                       "wlon": pop["lon"].to_numpy(float) * pop["population"].to_numpy(float),
                       "country": pop["country"].to_numpy()})
    agg = df.groupby("cell", sort=True).agg(w=("w", "sum"), wlat=("wlat", "sum"), wlon=("wlon", "sum"),
                                            country=("country", "first"))
    agg = agg[agg["w"] > 0]
    return pd.DataFrame({"lat": agg["wlat"] / agg["w"], "lon": agg["wlon"] / agg["w"], "population": agg["w"],
                         "country": agg["country"]}).reset_index(drop=True)


@functools.lru_cache(maxsize=4)
def load_context(curtailment_limit: float = 0.5) -> SitingContext:
    """Read every reference table of the screen (needs the shared public datasets for the grid,
    plants, population, water and hazard layers).

    Parameters
    ----------
    curtailment_limit : float
        Curtailment limit of the flexible load [% of its annual energy] at which the BA headroom
        is read.
    """
    from powerfirst.io import geodata
    from powerfirst.paths import data_dir

    us = geodata.read_hv_grid("US")
    eu = geodata.read_hv_grid("Europe")
    grid = pd.concat([us, eu], ignore_index=True)
    plants = geodata.read_power_plants()
    plants = plants[plants["status"].str.lower().isin(["operating", "retiring"])]
    stations = pd.read_csv(data_dir() / "derived" / "weather" / "station_energy.csv", dtype={"station": str})
    pop = _population_cells(geodata.read_population_points())
    pop_market = np.where(pop["country"] == "US", "US", np.where(pop["country"].isin(EUROPE), "EU", ""))
    water = geodata.read_water_stress()
    hazards = geodata.read_hazards()
    return SitingContext(
        grid_lat=grid["lat"].to_numpy(float), grid_lon=grid["lon"].to_numpy(float),
        grid_kv=grid["voltage_kv"].to_numpy(float),
        coverage={"US": geodata.hv_grid_coverage("US"), "EU": geodata.hv_grid_coverage("Europe")},
        plant_lat=plants["lat"].to_numpy(float), plant_lon=plants["lon"].to_numpy(float),
        plant_mw=plants["capacity_mw"].to_numpy(float), stations=stations,
        headroom=headroom_at(curtailment_limit), carbon=_carbon_table(),
        water=dict(zip(water["iso_a2"], water["bws_cat"], strict=True)),
        hazard=dict(zip(hazards["county_fips"], hazards["risk_score"], strict=True)),
        pop_lat=pop["lat"].to_numpy(float), pop_lon=pop["lon"].to_numpy(float), pop=pop["population"].to_numpy(float),
        pop_market=pop_market, curtailment_limit=float(curtailment_limit),
        sources={k: v[2] for k, v in LAYER_META.items()},
    )


def _nearest(ctx: SitingContext, name: str, plat, plon, lat, lon):
    """(distance [km], index) of the nearest reference point; inf/-1 when there is none."""
    tree = ctx.tree(name, plat, plon)
    if tree is None or not len(lat):
        return np.full(len(lat), np.inf), np.full(len(lat), -1)
    d, i = tree.query(np.radians(np.column_stack([lat, lon])), k=1)
    return d[:, 0] * 6371.0088, i[:, 0]


def _covered(ctx: SitingContext, lat, lon, country) -> np.ndarray:
    import shapely

    out = np.zeros(len(lat), bool)
    for key, geom in ctx.coverage.items():
        if geom is None:
            continue
        sel = (country == "US") if key == "US" else np.isin(country, list(EUROPE))
        if sel.any():
            shapely.prepare(geom)
            out[sel] = shapely.contains_xy(geom, lon[sel], lat[sel])
    return out


@functools.lru_cache(maxsize=1)
def _pop_kernel():
    import numba

    @numba.njit(cache=True, nogil=True)
    def kernel(lat, lon, market, plat, plon, pop, pmarket, caps_km, radius):
        n, m, k = lat.shape[0], plat.shape[0], caps_km.shape[0]
        within = np.zeros((n, k))
        wdist = np.full(n, np.nan)
        tot = np.zeros(3)
        for j in range(m):
            tot[pmarket[j]] += pop[j]
        # compare the haversine term h = sin^2(d / 2R) with each cap's, so arcsin runs only where a
        # distance is needed (the weighted mean over the candidate's market)
        hcap = np.empty(k)
        for c in range(k):
            hcap[c] = np.sin(min(caps_km[c], np.pi * radius) / (2.0 * radius)) ** 2 if caps_km[c] >= 0 else -1.0
        rl, cl = np.radians(plat), np.cos(np.radians(plat))
        rlo = np.radians(plon)
        acc = np.zeros(k)
        for i in range(n):
            la, lo = np.radians(lat[i]), np.radians(lon[i])
            ca = np.cos(la)
            acc[:] = 0.0
            accw = 0.0
            mi = market[i]
            for j in range(m):
                s1 = np.sin((rl[j] - la) * 0.5)
                s2 = np.sin((rlo[j] - lo) * 0.5)
                h = min(s1 * s1 + ca * cl[j] * s2 * s2, 1.0)
                for c in range(k):
                    if h <= hcap[c]:
                        acc[c] += pop[j]
                if mi > 0 and pmarket[j] == mi:
                    accw += pop[j] * 2.0 * radius * np.arcsin(np.sqrt(h))
            within[i, :] = acc
            if mi > 0 and tot[mi] > 0:
                wdist[i] = accw / tot[mi]
        return within, wdist

    return kernel


def _population_layers(ctx: SitingContext, lat, lon, market, caps_ms):
    """People within each round-trip cap [persons] (n, caps) and the population-weighted round trip to
    the candidate's market [ms], with :func:`powerfirst.geo.round_trip_ms` (linear in distance, so the
    weighted mean round trip is the round trip of the weighted mean distance). An infinite cap gives NaN."""
    from powerfirst.geo import (
        EARTH_MEAN_RADIUS_KM,
        FIBRE_US_PER_KM,
        PATH_OVERHEAD_MS,
        ROUTE_INFLATION,
    )

    per_km = 2.0 * ROUTE_INFLATION * FIBRE_US_PER_KM / 1000.0  # ms of round trip per km of great circle
    caps_ms = np.asarray(caps_ms, float)
    caps_km = np.where(np.isfinite(caps_ms), (caps_ms - PATH_OVERHEAD_MS) / per_km, -1.0)
    codes = {"": 0, "US": 1, "EU": 2}
    mk = np.array([codes[m] for m in market], np.int64)
    pmk = np.array([codes[m] for m in ctx.pop_market], np.int64)
    within, wdist = _pop_kernel()(np.ascontiguousarray(lat, float), np.ascontiguousarray(lon, float), mk,
                                  ctx.pop_lat, ctx.pop_lon, ctx.pop, pmk, caps_km, EARTH_MEAN_RADIUS_KM)
    within[:, ~np.isfinite(caps_ms)] = np.nan
    return within, wdist * per_km + PATH_OVERHEAD_MS


def compute_layers(cands: pd.DataFrame, ctx: SitingContext, tier_spec: dict, tier: str) -> pd.DataFrame:
    """Every layer of every candidate of a block (see the module table).

    Parameters
    ----------
    cands : pandas.DataFrame
        Annotated candidates (``lat``, ``lon``, ``country``, ``state``, ``county_fips``, ``ba``).
    ctx : SitingContext
    tier_spec : dict
        The tier's ``min_voltage_kv`` [kV] and ``rtt_cap_ms`` [ms] (scorecard ``tiers``).
    tier : str

    Returns
    -------
    pandas.DataFrame
        One column per layer (module table) plus ``station`` and ``grid_covered``.
    """
    lat = cands["lat"].to_numpy(float)
    lon = cands["lon"].to_numpy(float)
    country = cands["country"].astype(str).to_numpy()
    out = pd.DataFrame(index=cands.index)
    # power: high-voltage grid (flagged outside coverage, never scored as far)
    covered = _covered(ctx, lat, lon, country)
    kv_min = float(tier_spec["min_voltage_kv"])
    ok_kv = np.nan_to_num(ctx.grid_kv, nan=-1) >= kv_min
    d_kv, i_kv = _nearest(ctx, f"grid>={kv_min}", ctx.grid_lat[ok_kv], ctx.grid_lon[ok_kv], lat, lon)
    d_any, _ = _nearest(ctx, "grid_any", ctx.grid_lat, ctx.grid_lon, lat, lon)
    out["grid_covered"] = covered
    for cls in VOLTAGE_CLASSES_KV:
        ok = np.nan_to_num(ctx.grid_kv, nan=-1) >= cls
        d_c, _ = _nearest(ctx, f"grid>={cls}", ctx.grid_lat[ok], ctx.grid_lon[ok], lat, lon)
        out[f"hv_distance_{cls}kv_km"] = np.where(covered, d_c, np.nan)
    out["hv_distance_km"] = np.where(covered, d_kv, np.nan)
    out["hv_distance_any_km"] = np.where(covered, d_any, np.nan)
    kv = ctx.grid_kv[ok_kv]
    out["hv_voltage_kv"] = np.where(covered & (i_kv >= 0), kv[np.clip(i_kv, 0, max(len(kv) - 1, 0))] if len(kv) else np.nan,
                                    np.nan)
    # plants (US only: EIA-860M)
    is_us = country == "US"
    tree = ctx.tree("plants", ctx.plant_lat, ctx.plant_lon)
    mw25 = np.full(len(lat), np.nan)
    d_p, i_p = _nearest(ctx, "plants", ctx.plant_lat, ctx.plant_lon, lat, lon)
    if tree is not None and is_us.any():
        idx = tree.query_radius(np.radians(np.column_stack([lat[is_us], lon[is_us]])), r=25.0 / 6371.0088)
        mw25[is_us] = [float(ctx.plant_mw[j].sum()) for j in idx]
    out["plant_mw_25km"] = mw25
    out["nearest_plant_km"] = np.where(is_us, d_p, np.nan)
    out["nearest_plant_mw"] = np.where(is_us & (i_p >= 0), ctx.plant_mw[np.clip(i_p, 0, None)] if len(ctx.plant_mw) else np.nan,
                                       np.nan)
    # BA headroom
    ba = cands["ba"].astype(str).to_numpy()
    out["headroom_mw"] = np.array([ctx.headroom.get(b, np.nan) for b in ba], float)
    # energy: nearest typical-year station
    st = ctx.stations
    d_s, i_s = _nearest(ctx, "stations", st["lat"].to_numpy(float), st["lon"].to_numpy(float), lat, lon)
    out["station"] = st["station"].to_numpy()[i_s]
    out["station_distance_km"] = d_s
    out["solar_cf"] = st["solar_cf_tracking_ac"].to_numpy(float)[i_s]
    out["wind_cf"] = st["wind_cf_net"].to_numpy(float)[i_s]
    out["pue_annual"] = st[f"pue_annual_{_CUBE_TIER.get(tier, tier)}"].to_numpy(float)[i_s]
    out["cooling_degree_hours"] = st["cooling_degree_hours_18c"].to_numpy(float)[i_s]
    out["p99_temp_c"] = st["p99_temp_c"].to_numpy(float)[i_s]
    # carbon of the grid (BA, else the country's)
    key = np.where(pd.Series(ba).isin(ctx.carbon.index), ba, country)
    car = ctx.carbon.reindex(key)
    out["carbon_intensity"] = car["carbon_intensity"].to_numpy(float)
    out["carbon_free_share"] = car["carbon_free_share"].to_numpy(float)
    # price
    from powerfirst.io.prices_table import price_at

    out["price"] = price_at(country, cands["state"].astype(str).to_numpy())
    # latency
    market = np.where(is_us, "US", np.where(np.isin(country, list(EUROPE)), "EU", ""))
    from powerfirst.geo import TIER_RTT_CAP_MS

    caps = [float(tier_spec["rtt_cap_ms"]), TIER_RTT_CAP_MS["edge"], TIER_RTT_CAP_MS["regional"]]
    within, weighted = _population_layers(ctx, lat, lon, market, caps)
    out["population_within_cap"] = within[:, 0]
    out["population_within_10ms"] = within[:, 1]
    out["population_within_30ms"] = within[:, 2]
    out.attrs["rtt_cap_ms"] = float(tier_spec["rtt_cap_ms"])
    out["rtt_weighted_ms"] = weighted
    # water and hazard
    out["water_stress_cat"] = np.array([ctx.water.get(c, np.nan) for c in country], float)
    fips = cands["county_fips"].astype(str).to_numpy()
    out["hazard_risk_score"] = np.array([ctx.hazard.get(f, np.nan) if f else np.nan for f in fips], float)
    # social licence
    from powerfirst.io.siting_tables import social_licence_at

    soc = social_licence_at(lat, lon, cands["state"].astype(str).to_numpy(), fips, country)
    out["social_severity"] = soc["social_severity"].to_numpy(float)
    out["social_exclude"] = soc["social_exclude"].to_numpy(bool)
    out["social_reason"] = soc["social_reason"].to_numpy(str)
    return out
