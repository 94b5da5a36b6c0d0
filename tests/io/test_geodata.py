"""Geographic loaders (powerfirst.io.geodata) against the real files of ../shared/data and small bad files.

Expected values are the "Verified facts" of each dataset's SOURCE.md, cross-checks between
independent files (Census FIPS codes in the FEMA table, state names in the Census population
file) and analytic distances."""

from __future__ import annotations

import json
import os
import time

import numpy as np
import pandas as pd
import pytest
import shapely

from powerfirst.errors import DataFormatError, ValidationError
from powerfirst.geo import haversine_km
from powerfirst.io import geodata
from powerfirst.io.geodata import (
    SharedDataMissingError,
    hv_grid_coverage,
    locate,
    nearest_km,
    read_boundaries,
    read_datacenters,
    read_hazards,
    read_hv_grid,
    read_population_points,
    read_power_plants,
    read_water_stress,
    region_polygon,
)

# boundaries/SOURCE.md "Verified facts"; coordinates of the city centres other than Ashburn and Stockholm
# (which SOURCE.md gives) are the usual city-hall positions.
VERIFIED = {
    "Ashburn": (39.044, -77.487, "US", "VA", "51107"),
    "Phoenix": (33.448, -112.074, "US", "AZ", "04013"),
    "Dallas": (32.7767, -96.7970, "US", "TX", "48113"),
    "Chicago": (41.8781, -87.6298, "US", "IL", "17031"),
    "Frankfurt": (50.116, 8.684, "DE", "", ""),
    "Amsterdam": (52.374, 4.890, "NL", "", ""),
    "Dublin": (53.333, -6.249, "IE", "", ""),
    "Uppsala": (59.8586, 17.6389, "SE", "", ""),
    "Stockholm": (59.33, 18.07, "SE", "", ""),
}
MID_ATLANTIC = (30.0, -40.0)  # ~1,300 km from the Azores, the nearest land


def _point(lat, lon):
    return shapely.Point(lon, lat)


# --------------------------------------------------------------------------- boundaries


@pytest.mark.realdata
def test_boundaries_counts_codes_and_validity(shared):
    c = read_boundaries("countries")
    assert len(c) == 241 and c.attrs["dropped"] == 0
    iso = dict(zip(c["name"], c["iso_a2"], strict=True))
    assert iso["Germany"] == "DE" and iso["United States of America"] == "US" and iso["Ireland"] == "IE"
    assert iso["Namibia"] == "NA"  # keep_default_na=False
    assert iso["Kosovo"] == "XK"  # no numeric id: matched on the name
    assert sorted(c.loc[c["iso_a2"] == "", "name"]) == ["Indian Ocean Ter.", "N. Cyprus", "Siachen Glacier",
                                                         "Somaliland"]
    assert c.loc[c["name"] == "Germany", "iso_a3"].item() == "DEU"
    s = read_boundaries("states")
    assert len(s) == 56 and set(s["state"]) >= {"VA", "TX", "DC", "PR", "VI"}
    k = read_boundaries("counties")
    assert len(k) == 3230 and k.attrs["dropped"] == 1 and k.attrs["dropped_ids"] == ["51610"]  # Falls Church
    assert k["county_fips"].str.fullmatch(r"\d{5}").all()
    assert (k["county_fips"].str[:2] == k["state_fips"]).all()
    for df in (c, s, k):  # SOURCE.md: Russia, Fiji, Antarctica, Oregon and 21 counties were invalid
        assert shapely.is_valid(df["geometry"].to_numpy()).all()
        assert set(shapely.get_type_id(df["geometry"].to_numpy())) <= {3, 6}  # Polygon, MultiPolygon
        assert {"source", "licence", "vintage"} <= set(df.attrs)
    assert s.loc[s["state"] == "OR", "geometry"].item().area > 25  # Oregon repaired, not emptied (~28 deg2)


@pytest.mark.realdata
def test_fips_table_agrees_with_fema_and_census_files(shared):
    nri = pd.read_csv(shared / "hazards_fema_nri/NRI_Table_Counties_composite.csv", encoding="utf-8-sig",
                      dtype=str)
    pairs = set(zip(nri["STATEFIPS"].str.zfill(2), nri["STATEABBRV"].replace({"D.C.": "DC"}), strict=True))
    assert len(pairs) == 51
    assert all(geodata.FIPS_TO_POSTAL[f] == p for f, p in pairs)
    cen = pd.read_csv(shared / "population/CenPop2020_Mean_CO.txt", encoding="utf-8-sig", dtype=str)
    names = {f: n for f, _, n in geodata._STATES}
    assert all(names[f] == n for f, n in set(zip(cen["STATEFP"], cen["STNAME"], strict=True)))
    states = read_boundaries("states")
    assert all(names[f] == n for f, n in zip(states["state_fips"], states["name"], strict=True))


# --------------------------------------------------------------------------- locate


@pytest.mark.realdata
def test_locate_verified_points(shared):
    names = list(VERIFIED)
    lat = [VERIFIED[n][0] for n in names] + [MID_ATLANTIC[0]]
    lon = [VERIFIED[n][1] for n in names] + [MID_ATLANTIC[1]]
    r = locate(np.array(lat), np.array(lon))
    assert list(r.columns) == ["country", "state", "county_fips", "on_land", "admin_distance_km"]
    for i, n in enumerate(names):
        _, _, country, state, county = VERIFIED[n]
        assert (r["country"][i], r["state"][i], r["county_fips"][i]) == (country, state, county), n
        assert r["on_land"][i], n
    assert (r["admin_distance_km"][:8] == 0).all()
    stockholm = r.iloc[8]  # in no 1:50m polygon: on land through the tolerance
    assert 0 < stockholm["admin_distance_km"] < 10
    sea = r.iloc[-1]
    assert not sea["on_land"] and sea["country"] == "" and sea["state"] == "" and sea["county_fips"] == ""
    assert 1000 < sea["admin_distance_km"] < 1700
    strict = locate(59.33, 18.07, tolerance_km=0.0)
    assert strict["country"][0] == "" and not strict["on_land"][0]


@pytest.mark.realdata
def test_admin_distance_matches_brute_force_on_the_coast(shared):
    # Stockholm: distance to Sweden's 1:50m polygon by brute force over its boundary densified to ~10 m
    c = read_boundaries("countries")
    se = c.loc[c["iso_a2"] == "SE", "geometry"].item()
    xy = shapely.get_coordinates(shapely.segmentize(se.boundary, 1e-4))
    brute = haversine_km(59.33, 18.07, xy[:, 1], xy[:, 0]).min()
    got = locate(59.33, 18.07)["admin_distance_km"][0]
    assert got == pytest.approx(brute, rel=0.02)


def test_nearest_polygon_distance_is_ground_distance():
    # a square 1 x 1 degree at 60-61 N; points 0.1 degree of longitude east of it and 0.05 degree south
    sq = np.array([shapely.box(0.0, 60.0, 1.0, 61.0)])
    pieces = geodata._boundary_pieces(sq, k=2)
    tree = shapely.STRtree(pieces[0])
    lat = np.array([60.5, 59.95, 60.9])
    lon = np.array([1.1, 0.5, -0.2])
    idx, d = geodata._nearest_polygon_km((pieces[0], pieces[1], tree), lat, lon)
    expected = [haversine_km(60.5, 1.1, 60.5, 1.0), haversine_km(59.95, 0.5, 60.0, 0.5),
                haversine_km(60.9, -0.2, 60.9, 0.0)]
    assert (idx == 0).all()
    np.testing.assert_allclose(d, expected, rtol=0.01)
    # the rings cut into 2-segment pieces cover the whole boundary (4 sides, 5 coordinates)
    assert shapely.union_all(pieces[0]).length == pytest.approx(4.0)


@pytest.mark.realdata
def test_locate_100k_random_us_points_is_fast_and_consistent(shared, rng):
    lat = rng.uniform(24.5, 49.4, 100_000)
    lon = rng.uniform(-124.8, -66.9, 100_000)
    locate([39.0], [-77.5])  # boundaries read and indexed once
    t0 = time.perf_counter()
    r = locate(lat, lon)
    dt = time.perf_counter() - t0
    print(f"locate: 100,000 random US points in {dt:.2f} s")
    assert dt < 20  # a few seconds on one core; generous for a shared machine
    assert len(r) == 100_000
    inside = r["admin_distance_km"] == 0
    assert r.loc[inside, "on_land"].all() and (r.loc[~inside, "admin_distance_km"] > 0).all()
    assert (r["on_land"] == (r["admin_distance_km"] <= 10)).all()
    us = r["state"] != ""
    assert set(r.loc[us, "country"]) <= {"US"} and (r.loc[us, "county_fips"] != "").mean() > 0.999
    assert (r["county_fips"] != "").sum() <= us.sum()
    agree = r.loc[r["county_fips"] != "", "county_fips"].str[:2].map(geodata.FIPS_TO_POSTAL) == \
        r.loc[r["county_fips"] != "", "state"]
    assert agree.mean() > 0.999
    # the box holds the contiguous US, southern Canada, northern Mexico and sea
    share = r["country"].value_counts(normalize=True)
    assert 0.5 < share["US"] < 0.7 and share["CA"] > 0.05 and share["MX"] > 0.03 and share[""] > 0.15


def test_locate_rejects_bad_points():
    with pytest.raises(ValidationError, match=r"row 2, column 'lat': expected a finite value in \[-90, 90\].*95"):
        locate([10.0, 95.0], [0.0, 0.0])
    with pytest.raises(ValidationError, match="swapped"):
        locate([-100.0], [40.0])
    with pytest.raises(ValidationError, match="different lengths"):
        locate([1.0, 2.0], [3.0])
    with pytest.raises(ValidationError, match="tolerance_km"):
        locate([1.0], [2.0], tolerance_km=-1)
    with pytest.raises(ValidationError, match="row 1, column 'lon'.*nan"):
        locate([1.0], [np.nan])


# --------------------------------------------------------------------------- regions


@pytest.mark.realdata
def test_region_polygons(shared):
    us48, desc = region_polygon("US-48")
    assert "48 contiguous" in desc
    assert us48.covers(_point(39.044, -77.487)) and us48.covers(_point(38.90, -77.03))  # Ashburn, Washington DC
    assert not us48.covers(_point(61.22, -149.90)) and not us48.covers(_point(21.31, -157.86))  # Anchorage, Honolulu
    tx, desc = region_polygon("us-tx")
    assert desc.startswith("Texas") and tx.covers(_point(32.7767, -96.797)) and not tx.covers(_point(33.448, -112.074))
    de, _ = region_polygon("DE")
    assert de.covers(_point(50.116, 8.684)) and not de.covers(_point(52.374, 4.890))
    eu, desc = region_polygon("EU27")
    assert "27" in desc
    for lat, lon in ((50.116, 8.684), (53.333, -6.249), (59.8586, 17.6389), (35.90, 14.51)):  # ..., Valletta MT
        assert eu.covers(_point(lat, lon))
    for lat, lon in ((51.509, -0.126), (59.91, 10.75), (46.95, 7.45)):  # London, Oslo, Bern: not in the EU
        assert not eu.covers(_point(lat, lon))
    us, _ = region_polygon("US")
    assert us.covers(_point(61.22, -149.90))
    assert all(shapely.is_valid(g) for g in (us48, tx, de, eu, us))


@pytest.mark.realdata
def test_region_unknown_code_suggests_close_ones(shared):
    with pytest.raises(ValidationError) as e:
        region_polygon("US-TZ")
    msg = str(e.value)
    assert "unknown region 'US-TZ'" in msg and "US-TX (Texas)" in msg and "US-TN (Tennessee)" in msg
    with pytest.raises(ValidationError, match=r"did you mean DE \(Germany\)"):
        region_polygon("Germny")
    with pytest.raises(ValidationError, match="expected a region code"):
        region_polygon("")


# --------------------------------------------------------------------------- point layers


@pytest.mark.realdata
def test_power_plants_match_source_counts(shared):
    p = read_power_plants()
    assert list(p.columns) == ["plant_name", "state", "lat", "lon", "capacity_mw", "technology", "status",
                               "owner_name", "utility_id"]
    assert len(p) == 4513
    assert p["status"].value_counts().to_dict() == {"operating": 3720, "retired": 456, "retooled": 247,
                                                    "retiring": 90}
    assert p["capacity_mw"].sum() == pytest.approx(1_572_448, abs=1)
    assert p["capacity_mw"].min() >= 50
    assert p["technology"].value_counts().head(2).to_dict() == {"Solar Photovoltaic": 909, "Onshore Wind Turbine": 891}
    assert p.attrs["units"]["capacity_mw"] == "MW" and "EIA-860M" in p.attrs["source"]


@pytest.mark.realdata
def test_datacenters_count_and_northern_virginia(shared):
    d = read_datacenters()
    assert len(d) == 1443
    assert {"name", "operator", "city", "state", "lat", "lon"} <= set(d.columns)
    box = d["lat"].between(38.7, 39.3) & d["lon"].between(-77.8, -77.3)
    assert box.sum() == 293
    assert d["state"].value_counts()["VA"] == 116
    assert d.attrs["state_names_read_as_codes"] == 5 and "Ohio" not in set(d["state"])
    assert (d["operator"] == "Amazon Web Services").sum() == 212
    assert "ODbL" in d.attrs["licence"]


@pytest.mark.realdata
def test_population_points(shared):
    p = read_population_points()
    us = p[p["kind"] == "us_county_centre"]
    assert len(us) == 3221
    assert p.loc[p["country"] == "US", "population"].sum() == 331_449_281  # 2020 Census, 50 states + DC
    assert us["population"].sum() == 334_735_155  # with Puerto Rico
    assert us.loc[us["county_fips"] == "51107", "population"].item() == 420_959  # Loudoun
    assert not p.loc[p["kind"] == "city", "country"].isin(["US", "PR"]).any()  # no double count
    london = p[(p["name"] == "London") & (p["country"] == "GB")].iloc[0]
    assert london["population"] == 8_961_989
    assert (london["lat"], london["lon"]) == pytest.approx((51.509, -0.126), abs=1e-3)
    fra = p[p["name"] == "Frankfurt am Main"].iloc[0]
    assert fra["population"] == 650_000 and fra["country"] == "DE"
    assert (p["country"] == "NA").sum() == 19  # Namibia kept as "NA", not NaN
    assert (p["population"] >= 0).all() and p["lat"].between(-90, 90).all()
    assert len(p) == 3221 + 34006 - 3428  # every GeoNames place but the US and PR ones


@pytest.mark.realdata
def test_water_stress(shared):
    w = read_water_stress()
    assert len(w) == 189
    by = w.set_index("iso_a3")
    assert by.loc["USA", "bws_cat"] == 2 and by.loc["ESP", "bws_cat"] == 3 and by.loc["IRL", "bws_cat"] == 0
    assert by.loc["DEU", "bws_cat"] == 2 and np.isnan(by.loc["SGP", "bws_cat"])
    four = set(w.loc[w["bws_cat"] == 4, "iso_a3"])
    assert four == set("ARE BEL BHR BWA CHL CYP EGY GRC IND IRN IRQ ISR JOR KWT LBN LBY NAM OMN QAT SAU SMR SYR TUN "
                       "YEM ZAF".split())
    assert w["bws_cat"].isna().sum() == 25
    assert by.loc["USA", "iso_a2"] == "US" and by.loc["NAM", "iso_a2"] == "NA"
    assert by.loc["CIV", "name"] == "Côte d'Ivoire"
    assert "CC BY 4.0" in w.attrs["licence"] and "-9999" in w.attrs["note"]


@pytest.mark.realdata
def test_hazards(shared):
    h = read_hazards()
    assert len(h) == 3142 and h["county_fips"].is_unique
    by = h.set_index("county_fips")
    assert by.loc["06037", "risk_score"] == 100.0
    assert by.loc["51107", "risk_score"] == 0.0 and by.loc["51107", "risk_rating"] == "Very Low"
    assert by.loc["48201", "risk_score"] == pytest.approx(80.6, abs=0.05)
    assert by.loc["04013", "risk_rating"] == "Relatively High"
    assert h["risk_rating"].value_counts().to_dict() == {"Very Low": 1259, "Relatively Low": 1215,
                                                         "Relatively Moderate": 518, "Relatively High": 129,
                                                         "Very High": 21}
    assert h["county_fips"].str.fullmatch(r"\d{5}").all()
    assert h.attrs["units"]["eal_valt"] == "USD yr-1" and (h["eal_valt"] > 0).all()
    assert by.loc["11001", "state"] == "DC"  # the file writes "D.C."
    assert h["state"].nunique() == 51


# --------------------------------------------------------------------------- HV grid


def _spacing_km(df):
    lines = df[df["element"] == "line"]
    same = lines["feature"].to_numpy()[1:] == lines["feature"].to_numpy()[:-1]
    la, lo = lines["lat"].to_numpy(), lines["lon"].to_numpy()
    return haversine_km(la[:-1], lo[:-1], la[1:], lo[1:])[same]


@pytest.mark.realdata
def test_hv_grid_us(shared):
    t0 = time.perf_counter()
    g = read_hv_grid("US")
    print(f"read_hv_grid('US'): {len(g):,} points in {time.perf_counter() - t0:.2f} s")
    assert list(g.columns[:4]) == ["lat", "lon", "voltage_kv", "kind"] and "source" in g.columns
    assert set(g["kind"]) == {"line", "substation"}
    vertices = g[g["element"] != "line"]
    assert len(vertices) == 5913 and (vertices["kind"] == "substation").sum() == 5913 - 1912  # 1,912 joints
    assert vertices["voltage_kv"].isna().sum() == 3065
    assert g["voltage_kv"].max() == 765
    gaps = _spacing_km(g)
    assert gaps.max() <= geodata.GRID_POINT_SPACING_KM
    # every line is the chord between its end vertices: the densified length is the sum of the chords
    lines = pd.read_csv(shared / "grid_us_osm_2017/DERIVED_us_osm_hv_lines.csv.gz")
    xy = shapely.get_coordinates(shapely.from_wkt(lines["wkt_srid_4326"].str.split(";").str[1].to_numpy()))
    chords = haversine_km(xy[0::2, 1], xy[0::2, 0], xy[1::2, 1], xy[1::2, 0]).sum()
    # (the points are interpolated in lon/lat, as the WKT's segments are meant: 1e-5 longer than great circles)
    assert g.attrs["line_km"] == pytest.approx(chords, rel=1e-4)
    assert g.attrs["line_km"] == pytest.approx(139_432, rel=0.1)  # length_m of SOURCE.md (routes, not chords)
    # SOURCE.md spot checks: Dominion's Loudoun 500 kV and AEP's Jacksons Ferry 765 kV substations
    for lat, lon, kv in ((38.895, -77.568, 500), (36.879, -80.824, 765)):
        d, i = nearest_km(lat, lon, g["lat"].to_numpy(), g["lon"].to_numpy(), k=5)
        assert d[0, 0] < 0.5 and kv in set(g["voltage_kv"].to_numpy()[i[0]])


@pytest.mark.realdata
def test_hv_grid_europe(shared):
    g = read_hv_grid("Europe")
    buses = g[g["kind"] == "bus"]
    assert len(buses) == 8807 - 255  # under construction left out
    assert g.attrs["under_construction_dropped"] == {"buses": 255, "lines": 1066}
    assert g.attrs["n_lines"] == 11151 - 1066
    assert set(g.loc[g["kind"] == "line", "voltage_kv"]) <= {132, 220, 300, 380, 500, 750}
    assert _spacing_km(g).max() <= geodata.GRID_POINT_SPACING_KM
    # `length` is in metres: the geometry length in km is length / 1000 (median ratio ~1)
    raw = pd.read_csv(shared / "grid_europe_gridkit/lines.csv", quotechar="'")
    geoms = shapely.from_wkt(raw["geometry"].to_numpy())
    xy, idx = shapely.get_coordinates(geoms, return_index=True)
    same = idx[1:] == idx[:-1]
    km = np.bincount(idx[1:][same], haversine_km(xy[:-1, 1], xy[:-1, 0], xy[1:, 1], xy[1:, 0])[same],
                     minlength=len(raw))
    assert np.median(km / (raw["length"] / 1000)) == pytest.approx(1.0, abs=0.01)
    kept = ~raw["under_construction"].to_numpy(bool)
    assert g.attrs["line_km"] == pytest.approx(km[kept].sum(), rel=1e-4)
    everything = read_hv_grid("europe", under_construction=True)
    assert (everything["kind"] == "bus").sum() == 8807 and everything.attrs["n_lines"] == 11151
    kv = everything.loc[everything["kind"] == "bus", "voltage_kv"].value_counts()  # SOURCE.md bus voltages
    assert {v: kv[v] for v in (220, 380, 132, 300, 500, 750)} == {220: 4456, 380: 2736, 132: 663, 300: 645,
                                                                 500: 183, 750: 42}


@pytest.mark.realdata
def test_hv_grid_coverage(shared):
    us = hv_grid_coverage("US")
    assert not us.covers(_point(33.448, -112.074))  # Phoenix: West, not in the dataset
    assert not us.covers(_point(37.77, -122.42))  # San Francisco
    for lat, lon in ((39.044, -77.487), (32.7767, -96.797), (41.8781, -87.6298), (40.71, -74.01)):
        assert us.covers(_point(lat, lon))  # Ashburn, Dallas, Chicago, New York
    eu = hv_grid_coverage("Europe")
    for lat, lon in ((50.116, 8.684), (53.333, -6.249), (51.509, -0.126), (59.33, 18.07)):
        assert eu.covers(_point(lat, lon))  # Frankfurt, Dublin, London (bus tag UK), Stockholm
    assert not eu.covers(_point(55.03, 82.92))  # Novosibirsk: Russia beyond its buses' box
    assert not eu.covers(_point(39.044, -77.487))


def test_hv_grid_unknown_region():
    with pytest.raises(ValidationError, match="expected region 'US' or 'Europe', found 'Asia'"):
        read_hv_grid("Asia")


# --------------------------------------------------------------------------- nearest_km


def test_nearest_km_matches_brute_force(rng):
    plat, plon = rng.uniform(-80, 80, 700), rng.uniform(-180, 180, 700)
    qlat, qlon = rng.uniform(-90, 90, 300), rng.uniform(-180, 180, 300)
    brute = haversine_km(qlat[:, None], qlon[:, None], plat[None, :], plon[None, :])
    order = np.argsort(brute, axis=1)
    d, i = nearest_km(qlat, qlon, plat, plon)
    assert d.shape == (300,) and i.shape == (300,)
    np.testing.assert_array_equal(i, order[:, 0])
    np.testing.assert_allclose(d, brute[np.arange(300), order[:, 0]], rtol=1e-9)
    d3, i3 = nearest_km(qlat, qlon, plat, plon, k=3)
    np.testing.assert_array_equal(i3, order[:, :3])
    np.testing.assert_allclose(d3, np.take_along_axis(brute, order[:, :3], axis=1), rtol=1e-9)
    # antipodes: half the circumference of the IUGG mean sphere
    d, _ = nearest_km([0.0], [0.0], [0.0], [180.0])
    assert d[0] == pytest.approx(np.pi * 6371.0088, rel=1e-12)


def test_nearest_km_rejects_bad_input():
    with pytest.raises(ValidationError, match=r"expected an integer in \[1, 2\].*found 3"):
        nearest_km([0.0], [0.0], [1.0, 2.0], [1.0, 2.0], k=3)
    with pytest.raises(ValidationError, match="column 'points_lat'.*found 91"):
        nearest_km([0.0], [0.0], [91.0], [0.0])
    d, i = nearest_km([], [], [1.0], [1.0])
    assert d.shape == (0,) and i.shape == (0,)


# --------------------------------------------------------------------------- bad files


def _plants_geojson(path, rows):
    feats = []
    for name, lat, lon, mw, status in rows:
        feats.append({"type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, lat]},
                      "properties": {"plant_name": name, "state": "VA", "latitude": lat, "longitude": lon,
                                     "total_capacity_mw": mw, "fuel_type": "Solar Photovoltaic", "status": status,
                                     "owner_name": "X", "utility_id": 1}})
    path.write_text(json.dumps({"type": "FeatureCollection", "features": feats}))
    return path


def test_power_plants_bad_rows_name_file_row_and_column(tmp_path):
    f = _plants_geojson(tmp_path / "plants.geojson", [("A", 38.0, -77.0, 100.0, "operating"),
                                                       ("B", 95.0, -77.0, 100.0, "operating"),
                                                       ("C", 38.0, -77.0, -5.0, "planned"),
                                                       ("D", 38.0, -77.0, 120000.0, "operating")])
    with pytest.raises(ValidationError) as e:
        read_power_plants(f)
    msg = str(e.value)
    assert "4 problems" in msg
    assert f"{f}, row 2, column 'latitude': expected a value in [-90, 90] [degrees_north], found 95" in msg
    assert "row 3, column 'total_capacity_mw': expected a value in [0, 25000.0] [MW], found -5" in msg
    assert "row 4, column 'total_capacity_mw'" in msg and "found 120000" in msg
    assert "row 3, column 'status': expected one of operating, retired, retooled, retiring, found 'planned'" in msg


def test_power_plants_missing_property_and_not_geojson(tmp_path):
    f = _plants_geojson(tmp_path / "plants.geojson", [("A", 38.0, -77.0, 100.0, "operating")])
    doc = json.loads(f.read_text())
    del doc["features"][0]["properties"]["total_capacity_mw"]
    f.write_text(json.dumps(doc))
    with pytest.raises(ValidationError, match=r"column 'total_capacity_mw': required property missing"):
        read_power_plants(f)
    g = tmp_path / "list.geojson"
    g.write_text("[1, 2]")
    with pytest.raises(DataFormatError, match="expected a GeoJSON FeatureCollection"):
        read_power_plants(g)
    h = tmp_path / "broken.geojson"
    h.write_text('{"type": "FeatureCollection",\n "features": [}')
    with pytest.raises(DataFormatError, match=r"broken.geojson, line 2: not valid JSON"):
        read_power_plants(h)


def test_geometry_must_agree_with_coordinates(tmp_path):
    f = _plants_geojson(tmp_path / "plants.geojson", [("A", 38.0, -77.0, 100.0, "operating")])
    doc = json.loads(f.read_text())
    doc["features"][0]["geometry"]["coordinates"] = [38.0, -77.0]  # swapped
    f.write_text(json.dumps(doc))
    with pytest.raises(ValidationError, match="row 1, column 'geometry': the Point geometry .* differs"):
        read_power_plants(f)


def test_hazards_missing_column_and_bad_values(tmp_path):
    head = "STCOFIPS,STATEABBRV,COUNTY,RISK_SCORE,RISK_RATNG,EAL_VALT,SOVI_SCORE,RESL_SCORE\n"
    f = tmp_path / "nri.csv"
    f.write_text(head.replace("RISK_SCORE,", "") + "1001,AL,Autauga,Very Low,1000,30,50\n")
    with pytest.raises(ValidationError, match=r"nri.csv, column 'RISK_SCORE': required column missing"):
        read_hazards(f)
    f.write_text(head + "1001,AL,Autauga,5,Very Low,1000,30,50\n1003,AL,Baldwin,120,Very Low,x,30,50\n"
                 "1001,AL,Autauga,5,Very Low,1000,30,50\n")
    with pytest.raises(ValidationError) as e:
        read_hazards(f)
    msg = str(e.value)
    assert "row 2, column 'RISK_SCORE': expected a value in [0, 100], found 120" in msg
    assert "row 2, column 'EAL_VALT': expected a number [USD yr-1], found 'x'" in msg
    assert "row 3, column 'STCOFIPS': county 01001 appears more than once" in msg
    f.write_text(head + "1001,AL,Autauga,5,Very Low,1000,30,50\n")
    h = read_hazards(f)
    assert h["county_fips"].tolist() == ["01001"]  # zero-padded to 5 digits


def test_population_bad_rows(tmp_path):
    (tmp_path / "CenPop2020_Mean_CO.txt").write_text(
        "\ufeffSTATEFP,COUNTYFP,COUNAME,STNAME,POPULATION,LATITUDE,LONGITUDE\n"
        "01,001,Autauga,Alabama,58805,+32.500194,-086.487813\n"
        "01,003,Baldwin,Alabama,-3,+95.1,-087.761478\n", encoding="utf-8")
    import gzip

    with gzip.open(tmp_path / "DERIVED_geonames_cities15000.csv.gz", "wt", encoding="utf-8") as fh:
        fh.write("geonameid,name,countrycode,admin1code,latitude,longitude,population,timezone\n"
                 "1,Windhoek,NA,,-22.56,17.08,268132,Africa/Windhoek\n"
                 "2,Springfield,US,IL,39.8,-89.64,114394,America/Chicago\n")
    with pytest.raises(ValidationError) as e:
        read_population_points(tmp_path)
    msg = str(e.value)
    assert "CenPop2020_Mean_CO.txt, row 2, column 'LATITUDE': expected a value in [-90, 90]" in msg
    assert "row 2, column 'POPULATION': expected a value in [0, 20000000.0] [persons], found -3" in msg
    (tmp_path / "CenPop2020_Mean_CO.txt").write_text(
        "STATEFP,COUNTYFP,COUNAME,STNAME,POPULATION,LATITUDE,LONGITUDE\n01,001,Autauga,Alabama,58805,32.5,-86.49\n")
    p = read_population_points(tmp_path)
    assert p["name"].tolist() == ["Autauga, Alabama", "Windhoek"]  # the US city is left out
    assert p["country"].tolist() == ["US", "NA"] and p["county_fips"].tolist() == ["01001", ""]


def test_water_stress_bad_category(tmp_path):
    iso = tmp_path / "countries.csv"
    iso.write_text("iso,iso3,isonumeric,name\nNA,NAM,516,Namibia\nIE,IRL,372,Ireland\n")
    f = tmp_path / "aq.csv"
    f.write_text("gid_0,name_0,bws_cat_0_4,drr_cat_0_4,rfr_cat_0_4\nNAM,Namibia,4.0,1.0,1.0\n"
                 "IRL,Ireland,7.0,2.0,\n")
    with pytest.raises(ValidationError, match=r"aq.csv, row 2, column 'bws_cat_0_4': expected a category 0, 1, 2, "
                                              r"3, 4 or -9999 \(no data\), found 7"):
        read_water_stress(f, iso_path=iso)
    f.write_text("gid_0,name_0,bws_cat_0_4,drr_cat_0_4,rfr_cat_0_4\nNAM,Namibia,4.0,-9999.0,1.0\n"
                 "IRL,Ireland,0.0,2.0,\n")
    w = read_water_stress(f, iso_path=iso)
    assert w["iso_a2"].tolist() == ["NA", "IE"]
    assert np.isnan(w["drr_cat"][0]) and np.isnan(w["rfr_cat"][1]) and w["bws_cat"].tolist() == [4.0, 0.0]


def test_datacentre_state_names_and_bad_points(tmp_path):
    def feat(lon, lat, state):
        return {"type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, lat]},
                "properties": {"name": "DC", "operator": "", "city": "", "state": state}}

    f = tmp_path / "dc.geojson"
    f.write_text(json.dumps({"type": "FeatureCollection", "features": [feat(-83.0, 40.0, "Ohio"),
                                                                         feat(-77.5, 39.0, "VA")]}))
    d = read_datacenters(f)
    assert d["state"].tolist() == ["OH", "VA"] and d["address"].tolist() == ["", ""]
    f.write_text(json.dumps({"type": "FeatureCollection", "features": [feat(-200.0, 40.0, "Virginny")]}))
    with pytest.raises(ValidationError) as e:
        read_datacenters(f)
    msg = str(e.value)
    assert "row 1, column 'geometry': expected lon in [-180, 180] degrees, found -200" in msg
    assert "row 1, column 'state': expected a USPS state code or nothing, found 'Virginny'" in msg


def test_grid_bad_wkt_row(tmp_path):
    (tmp_path / "buses.csv").write_text(
        "bus_id,station_id,voltage,dc,symbol,under_construction,tags,x,y\n"
        "1,1,380,f,Substation,f,'\"country\"=>\"DE\"',8.6,50.1\n")
    (tmp_path / "lines.csv").write_text(
        "line_id,bus0,bus1,voltage,circuits,length,underground,under_construction,tags,geometry\n"
        "1,1,1,380,1,1000,False,False,,'LINESTRING(8.6 50.1,8.7 50.1)'\n"
        "2,1,1,380,1,1000,False,False,,'POINT(8.6 50.1)'\n"
        "3,1,1,3800,1,1000,False,False,,'LINESTRING(8.6 50.1,8.7 50.1)'\n")
    with pytest.raises(ValidationError) as e:
        read_hv_grid("Europe", tmp_path)
    msg = str(e.value)
    assert "lines.csv, row 2, column 'geometry': expected a WKT LINESTRING, found 'POINT(8.6 50.1)'" in msg
    assert "row 3, column 'voltage': expected a value in [0, 1200.0] [kV], found 3800" in msg


def test_boundaries_bad_kind_and_bad_polygons(tmp_path):
    with pytest.raises(ValidationError, match="expected 'countries', 'states' or 'counties', found 'provinces'"):
        read_boundaries("provinces")
    f = tmp_path / "states.geojson"
    f.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"id": "51", "name": "Virginia"},
         "geometry": {"type": "Polygon", "coordinates": [[[-80, 37], [-76, 37], [-76, 39], [-80, 37]]]}},
        {"type": "Feature", "properties": {"id": "99", "name": "Nowhere"},
         "geometry": {"type": "Point", "coordinates": [0, 0]}},
        {"type": "Feature", "properties": {"id": "48", "name": "Texas"},
         "geometry": {"type": "Polygon", "coordinates": [[[37, -100], [37, -94], [30, -94], [37, -100]]]}}]}))
    with pytest.raises(ValidationError) as e:
        read_boundaries("states", f)
    msg = str(e.value)
    assert "row 2, column 'geometry': expected a Polygon or MultiPolygon geometry, found 'Point'" in msg
    assert "row 2, column 'id': expected a 2-digit FIPS code of a known state, found '99'" in msg
    assert "row 3, column 'geometry': coordinates outside lon [-180, 180], lat [-90, 90]" in msg


# --------------------------------------------------------------------------- files and cache


def test_missing_shared_data_names_dataset_place_and_variable(tmp_path, monkeypatch):
    monkeypatch.setattr(geodata, "shared_data_dir", lambda: None)
    with pytest.raises(SharedDataMissingError) as e:
        read_hazards()
    msg = str(e.value)
    assert "FEMA National Risk Index" in msg and "hazards_fema_nri/NRI_Table_Counties_composite.csv" in msg
    assert "POWERFIRST_SHARED_DATA" in msg
    assert isinstance(e.value, FileNotFoundError) and isinstance(e.value, DataFormatError)
    monkeypatch.setattr(geodata, "shared_data_dir", lambda: tmp_path)
    with pytest.raises(SharedDataMissingError, match=f"not found at {tmp_path}/power_plants_eia860m/power-plants"):
        read_power_plants()
    with pytest.raises(SharedDataMissingError, match="POWERFIRST_SHARED_DATA"):
        read_hv_grid("US")
    with pytest.raises(SharedDataMissingError, match="not found at .*nope.geojson"):
        read_datacenters(tmp_path / "nope.geojson")


def test_cache_follows_file_changes(tmp_path):
    f = _plants_geojson(tmp_path / "plants.geojson", [("A", 38.0, -77.0, 100.0, "operating")])
    a = read_power_plants(f)
    a.loc[0, "capacity_mw"] = -1.0  # callers get a copy: the cache is not changed
    assert read_power_plants(f)["capacity_mw"].tolist() == [100.0]
    _plants_geojson(f, [("A", 38.0, -77.0, 250.0, "operating"), ("B", 39.0, -78.0, 60.0, "retired")])
    os.utime(f, ns=(time.time_ns(), time.time_ns() + 10**9))
    assert read_power_plants(f)["capacity_mw"].tolist() == [250.0, 60.0]
