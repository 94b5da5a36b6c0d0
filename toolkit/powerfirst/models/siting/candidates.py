"""Candidates of the siting screen: a user's sites, a hexagon grid of a region, brownfield plants,
existing data-centre clusters — each a ``site`` with lat, lon, country, state, county and BA.

* :func:`grid_candidates` — H3 cells (Uber H3, Brodsky 2018) whose centre lies on land inside the
  region's boundary (``US-48``, ``US-TX``, an ISO country code, ``EU27``);
* :func:`plant_candidates` — power plants of EIA-860M (December 2025) of at least ``min_mw``:
  operating plants offer co-location (``colocated_plant_mw``), retired and retiring ones an existing
  interconnection (``existing_service_mw``; an assumption: a retired unit's interconnection rights are
  reusable for a limited time — PJM, for example, keeps capacity interconnection rights one year
  after deactivation — so retired plants are candidates to be checked, not a guarantee);
* :func:`datacentre_candidates` — OpenStreetMap data-centre points grouped by H3 cell (resolution 6,
  ~36 km2) into clusters, the centroid of each cluster a candidate for expansion;
* :func:`site_candidates` — a user's validated site list (:func:`powerfirst.read_sites`).

:func:`annotate` places every candidate (country, state, county, on land) and gives it a BA from
its location when it has none (``ba_method`` says how: ``given``, ``county``, ``state``,
``country`` or ``unknown`` — unknown is flagged, never guessed).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from powerfirst.errors import Problem, ValidationError

__all__ = ["CANDIDATE_COLUMNS", "MAX_CANDIDATES", "grid_candidates", "plant_candidates",
           "datacentre_candidates", "site_candidates", "annotate", "estimate_cells"]

#: default limit on the number of generated candidates (raise it with ``max_candidates``)
MAX_CANDIDATES = 250_000

CANDIDATE_COLUMNS = ["site", "name", "kind", "lat", "lon", "existing_service_mw", "colocated_plant_mw",
                     "colocated_plant"]


def estimate_cells(area_km2: float, resolution: int) -> int:
    """Expected number of H3 cells of ``resolution`` covering ``area_km2`` [km2]."""
    import h3

    return int(np.ceil(area_km2 / h3.average_hexagon_area(int(resolution), unit="km^2")))


def _geodesic_area_km2(geom) -> float:
    """Area of a lon/lat geometry [km2] (equal-area sinusoidal projection about each polygon's centre)."""
    import shapely

    total = 0.0
    polys = getattr(geom, "geoms", [geom])
    for p in polys:
        if p.is_empty:
            continue
        lon0, r = p.centroid.x, 6371.0088

        def sinusoidal(xy, lon0=lon0, r=r):
            return np.column_stack([np.radians(xy[:, 0] - lon0) * r * np.cos(np.radians(xy[:, 1])),
                                    np.radians(xy[:, 1]) * r])

        total += shapely.transform(p, sinusoidal).area
    return float(total)


def grid_candidates(region: str, resolution: int = 5, *, max_candidates: int = MAX_CANDIDATES) -> pd.DataFrame:
    """H3 cells of ``resolution`` whose centre lies inside ``region`` (on land).

    Parameters
    ----------
    region : str
        ``US-48``, ``US-<state>`` (e.g. ``US-TX``), an ISO 3166-1 alpha-2 country code, or ``EU27``.
    resolution : int
        H3 resolution 0..9 (5: ~253 km2 per cell; 6: ~36 km2).
    max_candidates : int
        Refuse a screen expected to exceed this many cells (raise it to go further).

    Returns
    -------
    pandas.DataFrame
        ``site`` (the H3 cell id), ``name``, ``kind`` = ``grid``, ``lat``, ``lon`` [degrees].
    """
    import h3
    import shapely

    from powerfirst.io.geodata import region_polygon

    if isinstance(resolution, bool) or not isinstance(resolution, int | np.integer) or not 0 <= int(resolution) <= 9:
        raise ValidationError([Problem(f"resolution: expected an H3 resolution 0..9, found {resolution!r}",
                                       column="resolution")], what="screen")
    geom, desc = region_polygon(region)
    area = _geodesic_area_km2(geom)
    expected = estimate_cells(area, int(resolution))
    if expected > max_candidates:
        raise ValidationError([Problem(
            f"region {region} ({desc}, {area:,.0f} km2) at H3 resolution {resolution} makes about {expected:,} "
            f"candidates, above the limit of {max_candidates:,}; use a coarser resolution or raise "
            f"max_candidates (--max-candidates)", column="resolution")], what="screen")
    cells: set[str] = set()
    for poly in getattr(geom, "geoms", [geom]):
        if poly.is_empty or poly.geom_type != "Polygon":
            continue
        cells.update(h3.geo_to_cells(shapely.geometry.mapping(poly), int(resolution)))
    cells_sorted = sorted(cells)
    if not cells_sorted:
        raise ValidationError([Problem(f"region {region} holds no H3 cell centre at resolution {resolution}; use a "
                                       "finer resolution", column="resolution")], what="screen")
    ll = np.array([h3.cell_to_latlng(c) for c in cells_sorted])
    return pd.DataFrame({"site": cells_sorted, "name": [f"H3 {c}" for c in cells_sorted], "kind": "grid",
                         "lat": ll[:, 0], "lon": ll[:, 1]})


def plant_candidates(min_mw: float = 100.0, *, statuses=("operating", "retiring", "retired")) -> pd.DataFrame:
    """Power-plant sites of at least ``min_mw`` [MW] (EIA-860M December 2025, US).

    Operating plants carry ``colocated_plant_mw`` (the plant's nameplate, the most a co-located load
    could take) and retired or retiring ones ``existing_service_mw`` (their interconnection)."""
    from powerfirst.io.geodata import read_power_plants

    if not np.isfinite(min_mw) or min_mw < 0:
        raise ValidationError([Problem(f"min_mw: expected a capacity >= 0 MW, found {min_mw}", column="min_mw")],
                              what="plant candidates")
    p = read_power_plants()
    st = p["status"].str.lower()
    p = p[(p["capacity_mw"] >= min_mw) & st.isin([s.lower() for s in statuses])].copy()
    st = p["status"].str.lower()
    retired = st.isin(["retired", "retiring"])
    return pd.DataFrame({
        "site": [f"plant-{i}" for i in p.index], "name": p["plant_name"].astype(str).to_numpy(),
        "kind": "plant", "lat": p["lat"].to_numpy(float), "lon": p["lon"].to_numpy(float),
        "existing_service_mw": np.where(retired, p["capacity_mw"], 0.0),
        "colocated_plant_mw": np.where(retired, 0.0, p["capacity_mw"]),
        "colocated_plant": np.where(retired, "", p["plant_name"].astype(str)),
        "state": p["state"].astype(str).to_numpy(),
    }).reset_index(drop=True)


def datacentre_candidates(resolution: int = 6, min_points: int = 1) -> pd.DataFrame:
    """Existing data-centre clusters (OpenStreetMap, US): points grouped by H3 cell, one candidate
    per cell at the points' centroid, with ``n_datacentres``."""
    import h3

    from powerfirst.io.geodata import read_datacenters

    d = read_datacenters()
    d = d.assign(cell=[h3.latlng_to_cell(a, b, int(resolution)) for a, b in zip(d["lat"], d["lon"], strict=True)])
    g = d.groupby("cell", sort=True).agg(lat=("lat", "mean"), lon=("lon", "mean"), n=("lat", "size"),
                                         operators=("operator", lambda s: ", ".join(sorted({str(x) for x in s if x and str(x) != "nan"})[:3])))
    g = g[g["n"] >= int(min_points)]
    return pd.DataFrame({"site": [f"dc-{c}" for c in g.index],
                         "name": [f"data-centre cluster ({n}: {o})" if o else f"data-centre cluster ({n})"
                                  for n, o in zip(g["n"], g["operators"], strict=True)],
                         "kind": "datacentre_cluster", "lat": g["lat"].to_numpy(), "lon": g["lon"].to_numpy(),
                         "n_datacentres": g["n"].to_numpy()}).reset_index(drop=True)


def site_candidates(sites) -> pd.DataFrame:
    """A user's site list (a Dataset from :func:`powerfirst.read_sites`, or a path) as candidates;
    every column of the file is kept (ba, target_mw, land_status, community_alignment, ...)."""
    import xarray as xr

    from powerfirst.io.sites import read_sites, sites_to_frame

    ds = sites if isinstance(sites, xr.Dataset) else read_sites(sites)
    df = sites_to_frame(ds).reset_index()
    df = df.rename(columns={"site_id": "site"})
    if "site" not in df.columns:
        df = df.rename(columns={df.columns[0]: "site"})
    df["kind"] = "user"
    return df


def annotate(cands: pd.DataFrame) -> pd.DataFrame:
    """Country, state, county, on-land flag and BA of every candidate (from its location).

    A BA given by the candidate is kept (``ba_method = given``) when it is a known code; otherwise
    the county, state or country lookup of :func:`powerfirst.io.siting_tables.ba_from_location`."""
    from powerfirst.io.geodata import locate
    from powerfirst.io.siting_tables import ba_from_location
    from powerfirst.schema import grid_codes

    if cands.empty:
        raise ValidationError([Problem("no candidates to screen", column="site")], what="screen")
    dup = cands["site"].astype(str).duplicated()
    if dup.any():
        raise ValidationError([Problem(f"site {s!r} appears more than once", column="site", site=str(s))
                               for s in cands.loc[dup, "site"].astype(str).unique()[:20]], what="screen")
    out = cands.copy().reset_index(drop=True)
    loc = locate(out["lat"].to_numpy(float), out["lon"].to_numpy(float))
    # state and county come from two simplified polygon layers that disagree along some borders: the
    # county (finer) decides, so the pair is always consistent
    from powerfirst.io.geodata import read_boundaries

    counties = read_boundaries("counties")
    county_state = dict(zip(counties["county_fips"], counties["state"], strict=True))
    has_county = loc["county_fips"].astype(str) != ""
    loc.loc[has_county, "state"] = loc.loc[has_county, "county_fips"].map(county_state).fillna(loc.loc[has_county, "state"])
    for col in ("country", "state"):
        given = out[col].astype(str).replace({"nan": "", "None": ""}) if col in out else pd.Series("", index=out.index)
        out[col] = np.where(given != "", given, loc[col].to_numpy())
        if col == "country":
            out["country_from_location"] = loc[col].to_numpy()
    out["county_fips"] = loc["county_fips"].to_numpy()
    out["on_land"] = loc["on_land"].to_numpy(bool)
    ba_given = out["ba"].astype(str).replace({"nan": "", "None": ""}) if "ba" in out else pd.Series("", index=out.index)
    looked = ba_from_location(out["state"].to_numpy(str), out["county_fips"].to_numpy(str), out["country"].to_numpy(str))
    known = ba_given.isin(grid_codes())
    out["ba"] = np.where(known, ba_given, looked["ba"].to_numpy(str))
    out["ba_confidence"] = np.where(known, 1.0, looked["ba_confidence"].to_numpy(float))
    out["ba_method"] = np.where(known, "given", looked["ba_method"].to_numpy(str))
    for c, v in (("existing_service_mw", 0.0), ("colocated_plant_mw", 0.0), ("colocated_plant", "")):
        if c not in out:
            out[c] = v
        out[c] = out[c].fillna(v)
    return out
