"""Generate the ILLUSTRATIVE candidate-site table ``demo/sites.csv``.

The sites written by this script are **illustrative: generated, not real
projects**.  No row describes an actual data-centre campus, land parcel,
interconnection request or utility study.  They exist so that the toolkit's
examples, tests and dashboards have a realistic-looking, reproducible input.

How the sites are generated
---------------------------
* For every grid (22 US balancing authorities and 12 European bidding zones)
  the script holds a hand-written list of 2-5 real *anchor* towns that lie
  inside that grid's footprint (``ANCHORS`` below).  Each anchor carries a
  scatter radius and, where a coast, lake or border is close, a compass
  sector so that scattered points stay on the right side of it.
* Each grid gets a fixed number of sites (``SITES_PER_GRID``).  Tiers are
  dealt out per grid (about 25 % ``core``, 30 % ``edge``, the rest
  ``regional``) and shuffled; sites are assigned to anchors round-robin.
* Each site is placed at a seeded random distance and bearing from its
  anchor: ``edge`` sites close to the town (in the metro), ``regional``
  sites a little further out and ``core`` training campuses in the rural
  outer ring of the anchor's radius (at most about 40 km).
* Attributes are drawn from tier-specific ranges (see ``TIERS``) and simple
  per-grid factors (voltages, water stress, solar, wind and gas factors).
  ``upgrade_class`` is derived from the shortfall between target and firm
  headroom, the connection voltage and the distance to the substation.
  ``elevation_m`` is left empty on purpose: the toolkit fills it from
  pvlib's altitude map.

Every grid draws from its own random stream, seeded with ``(seed,
crc32(grid code))``, so the output is byte-identical for a given seed and
adding or removing one grid does not change the sites of the others.

Usage::

    python data/make_demo.py [--seed 20251126] [--out data/demo]

Only the standard library, numpy and pandas are used.
"""

from __future__ import annotations

import argparse
import csv
import math
import zlib
from pathlib import Path

import numpy as np
import pandas as pd

DEFAULT_SEED = 20251126
HERE = Path(__file__).resolve().parent
SCHEMA_DIR = HERE.parent / "toolkit" / "powerfirst" / "schema"

# fmt: off
# Column order of schema/site_attributes.csv, plus the generator's own ``anchor``.
COLUMNS = [
    "site_id", "name", "lat", "lon", "country", "ba", "target_mw", "tier", "workload",
    "elevation_m", "grid_voltage_kv", "substation_distance_km", "firm_headroom_mw",
    "upgrade_class", "land_ha", "land_status", "permitting_status", "solar_option_mw",
    "wind_option_mw", "gas_option_mw", "storage_option_mw", "storage_option_mwh",
    "water_stress", "community_alignment",
]
EXTRA_COLUMNS = ["anchor"]

# ---------------------------------------------------------------------------
# Anchors: (town, lat, lon, max scatter radius km, (bearing_from, bearing_to) or None)
# Bearings are compass degrees clockwise from north; the sector may wrap past 360.
# ---------------------------------------------------------------------------
ANCHORS: dict[str, list[tuple]] = {
    # --- United States -----------------------------------------------------
    "PJM": [
        ("Ashburn VA", 39.0438, -77.4874, 35, None),             # Dominion Energy Virginia
        ("New Albany OH", 40.0812, -82.8088, 40, None),          # AEP Ohio
        ("Elk Grove Village IL", 42.0039, -87.9703, 25, (180, 360)),  # ComEd; keeps west of Lake Michigan
        ("Allentown PA", 40.6084, -75.4902, 30, None),           # PPL Electric
        ("Fredericksburg VA", 38.3032, -77.4605, 35, None),      # Dominion Energy Virginia
    ],
    "MISO": [
        ("West Des Moines IA", 41.5772, -93.7113, 40, None),     # MidAmerican Energy
        ("Mount Pleasant WI", 42.6975, -87.8787, 20, (180, 360)),  # We Energies; west of Lake Michigan, north of Illinois
        ("Rosemount MN", 44.7394, -93.1258, 35, None),           # Xcel Energy (NSP) / Dakota Electric
        ("Cedar Rapids IA", 41.9779, -91.6656, 35, None),        # Alliant Energy (IPL)
        ("Rayville LA", 32.4774, -91.7549, 40, None),            # Entergy Louisiana
    ],
    "ERCO": [
        ("Abilene TX", 32.4487, -99.7331, 40, None),
        ("Red Oak TX", 32.5176, -96.8044, 30, None),             # south Dallas suburbs (Oncor)
        ("San Antonio TX", 29.4241, -98.4936, 35, None),         # CPS Energy
        ("Temple TX", 31.0982, -97.3428, 35, None),
        ("Midland TX", 31.9973, -102.0779, 40, None),
    ],
    "SWPP": [
        ("Papillion NE", 41.1544, -96.0422, 25, (180, 330)),     # OPPD; keeps west of the Missouri (Iowa side is MISO)
        ("Pryor OK", 36.3084, -95.3169, 30, None),               # Grand River Dam Authority
        ("Amarillo TX", 35.2220, -101.8313, 40, None),           # Xcel Energy (SPS)
        ("Wichita KS", 37.6872, -97.3301, 35, None),             # Evergy
    ],
    "CISO": [
        ("San Jose CA", 37.3382, -121.8863, 20, None),           # PG&E
        ("Fresno CA", 36.7378, -119.7871, 35, None),             # PG&E
        ("Bakersfield CA", 35.3733, -119.0187, 35, None),        # PG&E / SCE
        ("Lancaster CA", 34.6868, -118.1542, 30, None),          # SCE (Antelope Valley)
        ("Ontario CA", 34.0633, -117.6509, 20, None),            # SCE (Inland Empire)
    ],
    "NYIS": [
        ("Massena NY", 44.9281, -74.8918, 25, (110, 250)),       # NYPA; keeps south of the St. Lawrence
        ("Batavia NY", 42.9981, -78.1875, 25, None),             # National Grid (STAMP area)
        ("Albany NY", 42.6526, -73.7562, 30, None),
        ("Syracuse NY", 43.0481, -76.1474, 30, None),
    ],
    "ISNE": [
        ("Worcester MA", 42.2626, -71.8023, 30, None),
        ("Windsor CT", 41.8526, -72.6437, 20, None),
        ("Manchester NH", 42.9956, -71.4548, 25, None),
        ("Augusta ME", 44.3106, -69.7795, 25, (210, 60)),        # inland side
    ],
    "SOCO": [
        ("Douglasville GA", 33.7515, -84.7477, 30, None),        # Georgia Power
        ("Covington GA", 33.5968, -83.8602, 30, None),
        ("Macon GA", 32.8407, -83.6324, 35, None),
        ("Birmingham AL", 33.5186, -86.8104, 30, None),          # Alabama Power
    ],
    "TVA": [
        ("Nashville TN", 36.1627, -86.7816, 35, None),
        ("Huntsville AL", 34.7304, -86.5861, 25, None),
        ("Memphis TN", 35.1495, -90.0490, 25, (20, 150)),        # Tennessee side of the river only
        ("Clarksville TN", 36.5298, -87.3595, 15, (90, 270)),
    ],
    "FPL": [
        ("Doral FL", 25.8195, -80.3553, 12, (200, 360)),
        ("Wellington FL", 26.6618, -80.2684, 20, (180, 360)),
        ("Sarasota FL", 27.3364, -82.5307, 20, (20, 160)),       # inland of the Gulf coast
        ("Palm Bay FL", 27.9980, -80.6702, 20, (180, 360)),      # inland of the Indian River
    ],
    "FPC": [
        ("Crystal River FL", 28.9025, -82.5926, 25, (0, 180)),   # Duke Energy Florida
        ("Inverness FL", 28.8358, -82.3304, 20, None),
        ("Clermont FL", 28.5494, -81.7729, 15, None),
        ("Largo FL", 27.9095, -82.7873, 4, None),
    ],
    "DUK": [
        ("Charlotte NC", 35.2271, -80.8431, 25, None),           # Duke Energy Carolinas
        ("Maiden NC", 35.5757, -81.2118, 25, None),
        ("Greenville SC", 34.8526, -82.3940, 30, None),
        ("Greensboro NC", 36.0726, -79.7920, 25, None),
    ],
    "CPLE": [
        ("Raleigh NC", 35.7796, -78.6382, 20, (45, 225)),        # Duke Energy Progress
        ("Fayetteville NC", 35.0527, -78.8784, 30, None),
        ("Goldsboro NC", 35.3849, -77.9928, 30, None),
        ("Wilmington NC", 34.2257, -77.9447, 20, (250, 360)),    # inland side
    ],
    "SCEG": [
        ("Columbia SC", 34.0007, -81.0348, 25, None),            # Dominion Energy South Carolina
        ("Aiken SC", 33.5604, -81.7196, 20, (0, 200)),           # keeps east of the Savannah River
        ("Summerville SC", 33.0185, -80.1756, 12, (200, 360)),
    ],
    "SC": [
        ("Moncks Corner SC", 33.1960, -80.0131, 20, None),       # Santee Cooper
        ("Conway SC", 33.8360, -79.0478, 15, (180, 360)),
    ],
    "BPAT": [
        ("The Dalles OR", 45.5946, -121.1787, 25, None),         # Northern Wasco County PUD
        ("Boardman OR", 45.8399, -119.7006, 25, None),           # Umatilla Electric Cooperative
        ("Kennewick WA", 46.2112, -119.1372, 20, None),          # Benton PUD
        ("Longview WA", 46.1382, -122.9382, 15, None),           # Cowlitz PUD
    ],
    "AZPS": [
        ("Buckeye AZ", 33.3703, -112.5838, 25, (180, 360)),      # Arizona Public Service, west valley
        ("Goodyear AZ", 33.4353, -112.3577, 10, None),
        ("Prescott AZ", 34.5400, -112.4685, 20, None),
        ("Flagstaff AZ", 35.1983, -111.6513, 15, None),
    ],
    "SRP": [
        ("Mesa AZ", 33.4152, -111.8315, 12, None),               # Salt River Project
        ("Chandler AZ", 33.3062, -111.8413, 10, None),
        ("Gilbert AZ", 33.3528, -111.7890, 8, None),
    ],
    "PACE": [
        ("West Valley City UT", 40.6916, -111.9939, 18, (150, 290)),  # Rocky Mountain Power; away from the Great Salt Lake
        ("Eagle Mountain UT", 40.3141, -112.0069, 15, (170, 360)),  # west of Utah Lake
        ("Rock Springs WY", 41.5875, -109.2029, 35, None),
        ("Casper WY", 42.8666, -106.3131, 30, None),
    ],
    "PACW": [
        ("Prineville OR", 44.2999, -120.8345, 10, None),         # Pacific Power
        ("Medford OR", 42.3265, -122.8756, 25, None),
        ("Yakima WA", 46.6021, -120.5059, 15, None),
        ("Bend OR", 44.0582, -121.3153, 10, None),
    ],
    "PGE": [
        ("Hillsboro OR", 45.5229, -122.9898, 12, None),          # Portland General Electric
        ("Salem OR", 44.9429, -123.0351, 12, None),
        ("Gresham OR", 45.4987, -122.4316, 8, None),
    ],
    "PSCO": [
        ("Aurora CO", 39.7294, -104.8319, 15, None),             # Xcel Energy (Public Service Co. of Colorado)
        ("Lakewood CO", 39.7047, -105.0814, 12, None),
        ("Greeley CO", 40.4233, -104.7091, 10, None),
    ],
    # --- Europe --------------------------------------------------------------
    "GB": [
        ("Slough", 51.5105, -0.5950, 12, None),
        ("Didcot", 51.6080, -1.2448, 15, None),
        ("Newport (Wales)", 51.5842, -2.9977, 12, (300, 80)),    # north of the Severn estuary
    ],
    "IE-SEM": [
        ("Clonee", 53.4106, -6.4434, 15, (180, 360)),
        ("Ennis", 52.8436, -8.9864, 15, (300, 120)),
    ],
    "DE-LU": [
        ("Frankfurt am Main", 50.1109, 8.6821, 25, None),
        ("Berlin", 52.5200, 13.4050, 35, None),
        ("Grevenbroich", 51.0907, 6.5857, 20, None),
    ],
    # NL, ES and FI anchors lie within 300 km of an embedded weather station (data/derived/weather):
    # the licence-clean station set has none near Amsterdam, Madrid or Helsinki (see data/demo/README.md)
    "NL": [
        ("Groningen", 53.2194, 6.5665, 10, None),
        ("Emmen", 52.7858, 6.8976, 10, None),
        ("Eemshaven", 53.4385, 6.8347, 10, (180, 260)),
    ],
    "FR": [
        ("Paris-Saclay", 48.7303, 2.2500, 25, None),
        ("Marseille", 43.2965, 5.3698, 20, (0, 90)),
        ("Dunkirk", 51.0343, 2.3768, 15, (150, 260)),
        ("Lyon", 45.7640, 4.8357, 25, None),
    ],
    "ES": [
        ("Tarragona", 41.1189, 1.2445, 20, (200, 45)),          # inland of the coast
        ("Zaragoza", 41.6488, -0.8891, 35, None),
        ("Lleida", 41.6176, 0.6200, 25, None),
    ],
    "IT-NORD": [
        ("Milan", 45.4642, 9.1900, 25, None),
        ("Turin", 45.0703, 7.6869, 20, None),
        ("Bologna", 44.4949, 11.3426, 20, None),
    ],
    "SE3": [
        ("Stockholm", 59.3293, 18.0686, 25, (180, 360)),
        ("Eskilstuna", 59.3710, 16.5098, 20, None),
        ("Gothenburg", 57.7089, 11.9746, 20, (0, 180)),
    ],
    "NO1": [
        ("Oslo", 59.9139, 10.7522, 20, (300, 60)),
        ("Gardermoen", 60.1976, 11.1004, 15, None),
    ],
    "FI": [
        ("Mariehamn", 60.0973, 19.9348, 8, None),               # Åland, in the FI bidding zone
        ("Turku", 60.4518, 22.2666, 12, (270, 90)),             # north of the archipelago coast
        ("Naantali", 60.4674, 22.0243, 8, (0, 120)),
    ],
    "DK1": [
        ("Viborg", 56.4532, 9.4020, 20, None),
        ("Esbjerg", 55.4765, 8.4594, 15, (0, 180)),
        ("Odense", 55.4038, 10.4024, 12, (60, 330)),  # away from Odense Fjord
    ],
    "PL": [
        ("Warsaw", 52.2297, 21.0122, 30, None),
        ("Poznan", 52.4064, 16.9252, 25, None),
    ],
}

SITES_PER_GRID: dict[str, int] = {
    "PJM": 18, "MISO": 14, "ERCO": 14, "SWPP": 8, "CISO": 8, "NYIS": 6, "ISNE": 5,
    "SOCO": 7, "TVA": 7, "FPL": 5, "FPC": 5, "DUK": 6, "CPLE": 5, "SCEG": 5, "SC": 5,
    "BPAT": 6, "AZPS": 6, "PACE": 6, "PACW": 5, "PGE": 5, "PSCO": 5, "SRP": 5,
    "GB": 5, "IE-SEM": 4, "DE-LU": 5, "NL": 3, "FR": 4, "ES": 4, "IT-NORD": 3,
    "SE3": 3, "NO1": 2, "FI": 3, "DK1": 3, "PL": 2,
}

GRID_COUNTRY: dict[str, str] = {g: "US" for g in list(SITES_PER_GRID)[:22]}
GRID_COUNTRY.update({
    "GB": "GB", "IE-SEM": "IE", "DE-LU": "DE", "NL": "NL", "FR": "FR", "ES": "ES",
    "IT-NORD": "IT", "SE3": "SE", "NO1": "NO", "FI": "FI", "DK1": "DK", "PL": "PL",
})

# Connection voltages (kV) in use on each grid; tiers pick from the subset in their band.
_US_DIST = [13.8, 34.5, 69]
GRID_VOLTAGES: dict[str, list[float]] = {
    "PJM": _US_DIST + [115, 138, 230, 345, 500, 765],
    "MISO": _US_DIST + [115, 138, 161, 230, 345, 765],
    "ERCO": _US_DIST + [138, 345],
    "SWPP": _US_DIST + [115, 138, 230, 345],
    "CISO": _US_DIST + [115, 230, 500],
    "NYIS": _US_DIST + [115, 230, 345, 765],
    "ISNE": _US_DIST + [115, 345],
    "SOCO": _US_DIST + [115, 230, 500],
    "TVA": _US_DIST + [161, 500],
    "FPL": _US_DIST + [138, 230, 500],
    "FPC": _US_DIST + [115, 230, 500],
    "DUK": _US_DIST + [100, 230, 500],
    "CPLE": _US_DIST + [115, 230, 500],
    "SCEG": _US_DIST + [115, 230],
    "SC": _US_DIST + [115, 230],
    "BPAT": _US_DIST + [115, 230, 500],
    "AZPS": _US_DIST + [230, 345, 500],
    "SRP": _US_DIST + [230, 500],
    "PACE": _US_DIST + [138, 230, 345],
    "PACW": _US_DIST + [115, 230, 500],
    "PGE": _US_DIST + [115, 230, 500],
    "PSCO": _US_DIST + [115, 230, 345],
    # European transmission levels as used by each TSO.
    "GB": [132, 275, 400],
    "IE-SEM": [110, 220, 400],
    "DE-LU": [110, 220, 380],
    "NL": [110, 150, 220, 380],
    "FR": [90, 225, 400],
    "ES": [132, 220, 400],
    "IT-NORD": [132, 220, 380],
    "SE3": [130, 220, 400],
    "NO1": [132, 300, 420],
    "FI": [110, 220, 400],
    "DK1": [132, 150, 400],
    "PL": [110, 220, 400],
}

# Rough transfer capability (MW) at a single connection by voltage: a shortfall that
# fits well inside it needs a substation, otherwise new transmission.
VOLTAGE_CAPACITY_MW = {
    13.8: 20, 34.5: 50, 69: 100, 90: 130, 100: 150, 110: 150, 115: 160, 130: 180,
    132: 200, 138: 220, 150: 250, 161: 280, 220: 450, 225: 450, 230: 500, 275: 700,
    300: 800, 345: 1000, 380: 1300, 400: 1400, 420: 1500, 500: 1800, 765: 3500,
}

# Per-grid factors: baseline water stress (0-5, Aqueduct-like scale), and solar,
# wind and gas factors (0-1) that scale the on-site option ranges.
GRID_FACTORS: dict[str, tuple[float, float, float, float]] = {
    #          water, solar, wind, gas
    "PJM": (1.5, 0.6, 0.4, 0.8),
    "MISO": (1.3, 0.6, 0.8, 0.8),
    "ERCO": (3.3, 1.0, 0.9, 0.9),
    "SWPP": (2.8, 0.9, 1.0, 0.8),
    "CISO": (4.0, 1.0, 0.3, 0.15),
    "NYIS": (0.8, 0.5, 0.4, 0.3),
    "ISNE": (0.7, 0.5, 0.3, 0.3),
    "SOCO": (1.3, 0.8, 0.05, 0.8),
    "TVA": (1.0, 0.7, 0.05, 0.7),
    "FPL": (1.8, 0.9, 0.05, 0.8),
    "FPC": (1.8, 0.9, 0.05, 0.8),
    "DUK": (1.4, 0.8, 0.05, 0.7),
    "CPLE": (1.4, 0.8, 0.05, 0.7),
    "SCEG": (1.3, 0.8, 0.05, 0.7),
    "SC": (1.2, 0.8, 0.05, 0.7),
    "BPAT": (2.0, 0.6, 0.7, 0.3),
    "AZPS": (4.5, 1.0, 0.2, 0.7),
    "SRP": (4.6, 1.0, 0.1, 0.7),
    "PACE": (3.8, 0.8, 0.8, 0.6),
    "PACW": (2.2, 0.6, 0.4, 0.3),
    "PGE": (1.2, 0.4, 0.2, 0.2),
    "PSCO": (3.5, 0.9, 0.7, 0.5),
    "GB": (1.5, 0.4, 0.7, 0.4),
    "IE-SEM": (0.6, 0.3, 0.9, 0.5),
    "DE-LU": (2.0, 0.5, 0.7, 0.3),
    "NL": (1.5, 0.4, 0.6, 0.3),
    "FR": (1.8, 0.6, 0.5, 0.2),
    "ES": (4.0, 1.0, 0.6, 0.3),
    "IT-NORD": (2.0, 0.8, 0.1, 0.5),
    "SE3": (0.7, 0.3, 0.6, 0.05),
    "NO1": (0.5, 0.1, 0.3, 0.0),
    "FI": (0.4, 0.2, 0.7, 0.1),
    "DK1": (1.2, 0.4, 1.0, 0.2),
    "PL": (2.2, 0.5, 0.6, 0.4),
}

# Tier parameters.
TIERS = {
    "core": dict(
        workload="training", mw=(300.0, 2000.0), kv=(220.0, 800.0), dist_km=(0.5, 15.0),
        land_ha=(100.0, 800.0), headroom_frac=(0.0, 0.6),
        land_p={"owned": 0.15, "optioned": 0.45, "identified": 0.40, "none": 0.0},
    ),
    "regional": dict(
        workload="inference", mw=(50.0, 300.0), kv=(100.0, 345.0), dist_km=(0.3, 8.0),
        land_ha=(8.0, 60.0), headroom_frac=(0.0, 0.6),
        land_p={"owned": 0.30, "optioned": 0.35, "identified": 0.30, "none": 0.05},
    ),
    "edge": dict(
        workload="edge", mw=(2.0, 30.0), kv=(0.0, 69.0), dist_km=(0.1, 3.0),
        land_ha=(0.2, 3.0), headroom_frac=(0.0, 1.0),
        land_p={"owned": 0.45, "optioned": 0.25, "identified": 0.25, "none": 0.05},
    ),
}
# In Europe even small sites are usually connected at 110-150 kV.
EU_EDGE_KV = (0.0, 150.0)

PERMIT_P = {
    "owned": {"approved": 0.40, "in_progress": 0.40, "not_started": 0.20},
    "optioned": {"approved": 0.15, "in_progress": 0.45, "not_started": 0.40},
    "identified": {"approved": 0.02, "in_progress": 0.18, "not_started": 0.80},
    "none": {"approved": 0.0, "in_progress": 0.0, "not_started": 1.0},
}
UPGRADE_ORDER = ["none", "minor", "substation", "transmission"]
# fmt: on


def _choice(rng: np.random.Generator, probs: dict[str, float]) -> str:
    keys = list(probs)
    p = np.array([probs[k] for k in keys], dtype=float)
    return str(keys[int(rng.choice(len(keys), p=p / p.sum()))])


def _log_uniform(rng: np.random.Generator, lo: float, hi: float) -> float:
    return float(math.exp(rng.uniform(math.log(lo), math.log(hi))))


def _round_to(x: float, step: float) -> float:
    return round(round(x / step) * step, 4)


def _offset(lat: float, lon: float, r_km: float, bearing_deg: float) -> tuple[float, float]:
    b = math.radians(bearing_deg)
    dlat = r_km * math.cos(b) / 111.32
    dlon = r_km * math.sin(b) / (111.32 * math.cos(math.radians(lat)))
    return lat + dlat, lon + dlon


def _deal_tiers(rng: np.random.Generator, n: int) -> list[str]:
    n_core = max(1, round(0.25 * n))
    n_edge = max(1, round(0.30 * n))
    tiers = ["core"] * n_core + ["edge"] * n_edge + ["regional"] * (n - n_core - n_edge)
    return [tiers[i] for i in rng.permutation(n)]


def _upgrade_class(rng, target, headroom, kv, dist_km) -> str:
    deficit = target - headroom
    cap = VOLTAGE_CAPACITY_MW[kv]
    if deficit <= 0:
        cls = "none"
    elif deficit <= max(0.10 * target, 0.05 * cap, 3.0):
        cls = "minor"
    elif target <= cap and dist_km <= 8.0:
        cls = "substation"
    else:
        cls = "transmission"
    # Unknown local constraints: sometimes one step worse than the simple rule says.
    if rng.random() < 0.15:
        cls = UPGRADE_ORDER[min(UPGRADE_ORDER.index(cls) + 1, len(UPGRADE_ORDER) - 1)]
    return cls


def make_site(
    rng: np.random.Generator, grid: str, idx: int, tier: str, anchor: tuple, k_at_anchor: int
) -> dict:
    town, alat, alon, radius, sector = anchor
    t = TIERS[tier]
    water0, solar_f, wind_f, gas_f = GRID_FACTORS[grid]
    europe = GRID_COUNTRY[grid] != "US"

    # --- location -----------------------------------------------------------
    if tier == "edge":
        r_lo, r_hi = 0.0, min(radius, 10.0)
    elif tier == "regional":
        r_lo, r_hi = min(2.0, radius / 4), min(radius, 25.0)
    else:
        r_lo, r_hi = radius * 0.4, radius
    r = math.sqrt(rng.uniform(r_lo**2, r_hi**2))  # uniform over the annulus area
    if sector is None:
        bearing = rng.uniform(0.0, 360.0)
    else:
        b0, b1 = sector
        span = (b1 - b0) % 360 or 360
        bearing = (b0 + rng.uniform(0.0, span)) % 360
    lat, lon = _offset(alat, alon, r, bearing)

    # --- size and grid connection --------------------------------------------
    lo, hi = t["mw"]
    target = _log_uniform(rng, lo, hi)
    target = _round_to(target, 10.0 if tier == "core" else 5.0 if tier == "regional" else 0.5)

    kv_lo, kv_hi = EU_EDGE_KV if (europe and tier == "edge") else t["kv"]
    volts = [v for v in GRID_VOLTAGES[grid] if kv_lo <= v <= kv_hi]
    if europe and tier == "edge":
        volts = volts[:1]  # lowest transmission level
    # Bigger loads connect at higher voltage: pick one of the two lowest levels
    # whose transfer capability covers the target.
    fits = [v for v in volts if VOLTAGE_CAPACITY_MW[v] >= target] or volts[-1:]
    fits = fits[:2]
    kv = float(fits[int(rng.integers(len(fits)))])

    d_lo, d_hi = t["dist_km"]
    dist = round(_log_uniform(rng, d_lo, d_hi), 1)

    f_lo, f_hi = t["headroom_frac"]
    if tier == "edge" and rng.random() < 0.3:
        frac = 1.0  # small loads often fit on the existing feeder
    else:
        frac = f_lo + (f_hi - f_lo) * rng.beta(1.6, 2.4)
    headroom = min(target * frac, VOLTAGE_CAPACITY_MW[kv])
    headroom = _round_to(headroom, 5.0 if tier == "core" else 1.0 if tier == "regional" else 0.1)
    upgrade = _upgrade_class(rng, target, headroom, kv, dist)

    # --- land and permits ----------------------------------------------------
    land_status = _choice(rng, t["land_p"])
    permitting = _choice(rng, PERMIT_P[land_status])
    if land_status == "none":
        land_ha = 0.0
    else:
        land_ha = round(_log_uniform(rng, *t["land_ha"]), 1)

    # --- on-site options -----------------------------------------------------
    if land_status == "none":
        solar = wind = 0.0
    elif tier == "core":
        solar = land_ha * rng.uniform(0.3, 0.9) * solar_f
        wind = 500.0 * wind_f * rng.uniform(0.0, 1.0) if rng.random() < 0.8 else 0.0
    elif tier == "regional":
        solar = land_ha * rng.uniform(0.1, 0.5) * solar_f
        wind = 30.0 * wind_f * rng.uniform(0.0, 1.0) if rng.random() < 0.4 else 0.0
    else:
        solar = rng.uniform(0.0, 2.0) * solar_f
        wind = 0.0
    gas_cap = {"core": 0.8, "regional": 0.5, "edge": 1.0}[tier]
    gas = target * gas_cap * gas_f * rng.uniform(0.0, 1.0) if rng.random() < 0.75 else 0.0
    storage = target * rng.uniform(0.0, 0.5)
    duration = float(rng.choice([1.0, 2.0])) if tier == "edge" else float(rng.choice([2.0, 4.0]))
    solar, wind, gas, storage = (round(x, 1) for x in (solar, wind, gas, storage))
    storage_mwh = round(storage * duration, 1)

    # --- environment and community -------------------------------------------
    water = float(np.clip(water0 + rng.normal(0.0, 0.4), 0.0, 5.0))
    community_mean = {"core": 0.55, "regional": 0.6, "edge": 0.65}[tier]
    community = float(np.clip(rng.normal(community_mean, 0.15), 0.05, 0.98))

    return {
        "site_id": f"{grid}-{idx:03d}",
        "name": f"{town} candidate {k_at_anchor} (illustrative)",
        "lat": round(lat, 4),
        "lon": round(lon, 4),
        "country": GRID_COUNTRY[grid],
        "ba": grid,
        "target_mw": target,
        "tier": tier,
        "workload": t["workload"],
        "elevation_m": None,
        "grid_voltage_kv": kv,
        "substation_distance_km": dist,
        "firm_headroom_mw": headroom,
        "upgrade_class": upgrade,
        "land_ha": land_ha,
        "land_status": land_status,
        "permitting_status": permitting,
        "solar_option_mw": solar,
        "wind_option_mw": wind,
        "gas_option_mw": gas,
        "storage_option_mw": storage,
        "storage_option_mwh": storage_mwh,
        "water_stress": round(water, 2),
        "community_alignment": round(community, 2),
        "anchor": town,
    }


def generate(seed: int = DEFAULT_SEED) -> pd.DataFrame:
    rows = []
    for grid, n in SITES_PER_GRID.items():
        rng = np.random.default_rng([seed, zlib.crc32(grid.encode("ascii"))])
        anchors = ANCHORS[grid]
        tiers = _deal_tiers(rng, n)
        per_anchor: dict[str, int] = {}
        for i, tier in enumerate(tiers):
            anchor = anchors[i % len(anchors)]
            per_anchor[anchor[0]] = per_anchor.get(anchor[0], 0) + 1
            rows.append(make_site(rng, grid, i + 1, tier, anchor, per_anchor[anchor[0]]))
    return pd.DataFrame(rows, columns=COLUMNS + EXTRA_COLUMNS)


def _fmt(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float):
        return f"{value:.4f}".rstrip("0").rstrip(".")
    return str(value)


def write_csv(df: pd.DataFrame, path: Path) -> None:
    """Write with fixed formatting so the same seed gives a byte-identical file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(df.columns)
        for row in df.itertuples(index=False):
            writer.writerow([_fmt(v) for v in row])


def validate(df: pd.DataFrame) -> None:
    """Check the table against schema/site_attributes.csv and schema/grids.csv when present."""
    attr_path = SCHEMA_DIR / "site_attributes.csv"
    if attr_path.exists():
        attrs = pd.read_csv(attr_path, dtype=str, keep_default_na=False)
        # optional attributes the demo does not carry (e.g. start_date, bridge_mw) may follow
        if list(attrs["attribute"])[:len(COLUMNS)] != COLUMNS:
            raise ValueError("column order differs from schema/site_attributes.csv")
        for a in attrs.itertuples(index=False):
            if a.attribute not in df.columns:
                continue
            col = df[a.attribute]
            if a.required == "yes" and col.isna().any():
                raise ValueError(f"{a.attribute}: required value missing")
            vals = pd.to_numeric(col, errors="coerce").dropna() if a.type == "float" else None
            if a.min and vals is not None and (vals < float(a.min)).any():
                raise ValueError(f"{a.attribute}: below min {a.min}")
            if a.max and vals is not None and (vals > float(a.max)).any():
                raise ValueError(f"{a.attribute}: above max {a.max}")
            if a.allowed and "|" in a.allowed:
                bad = set(col.dropna()) - set(a.allowed.split("|"))
                if bad:
                    raise ValueError(f"{a.attribute}: values not allowed: {sorted(bad)}")
    grids_path = SCHEMA_DIR / "grids.csv"
    if grids_path.exists():
        grids = pd.read_csv(grids_path, dtype=str, keep_default_na=False)
        country = dict(zip(grids["code"], grids["country"], strict=True))
        bad = [
            (s, b)
            for s, b, c in zip(df["site_id"], df["ba"], df["country"], strict=True)
            if country.get(b) != c
        ]
        if bad:
            raise ValueError(f"ba unknown or country mismatch: {bad[:5]}")
    if not df["site_id"].is_unique:
        raise ValueError("site_id not unique")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="random seed")
    parser.add_argument("--out", type=Path, default=HERE / "demo", help="output directory")
    args = parser.parse_args(argv)
    df = generate(args.seed)
    validate(df)
    out = args.out / "sites.csv"
    write_csv(df, out)
    print(f"wrote {len(df)} illustrative sites to {out}")


if __name__ == "__main__":
    main()
