"""Derive the latitude/longitude boxes of ``schema/bounds.csv`` from public boundaries.

The site reader uses these boxes for one plausibility check only: a site whose
(lat, lon) lies outside the box of its balancing authority (or country) while
(lon, lat) lies inside is reported as having its coordinates swapped (the
classic GeoJSON mistake: RFC 7946 positions are ``[lon, lat]``).  The boxes
are generous on purpose (every polygon part is included, the reader adds a
0.5 degree margin): a box too large only misses a swap, a box too small would
refuse a good site.

Sources (read from ``../shared/data/boundaries``, see its SOURCE.md; nothing is
copied into the project but the boxes):

* countries: Natural Earth 4.1.0 Admin-0 countries 1:50m
  (``DERIVED_ne_50m_countries.geojson``, public domain), every polygon part,
  ISO 3166-1 numeric ids mapped to alpha-2 with the Debian ``iso-codes``
  table (``/usr/share/iso-codes/json/iso_3166-1.json``).  A country that
  spans the antimeridian (US, RU, FJ, NZ, KI, ...) gets the shortest
  longitude arc that covers it, written with ``lon_min > lon_max``.
* US balancing authorities (every US code of ``schema/grids.csv``): the
  contiguous United States (the 48 states and DC of the US Census 2017
  cartographic boundaries, ``DERIVED_us_states_2017.geojson``); the EIA-930
  balancing authorities all lie there.  Boxes per balancing authority would
  need service-territory polygons, which the shared data does not hold.
* European bidding zones: the polygon parts of the zone's countries that lie
  in the window lat 34..72, lon -12..45 (this drops overseas departments,
  the Canaries, Madeira, the Azores and Svalbard, which are outside the
  zones); DE-LU is Germany plus Luxembourg; IE-SEM (the island of Ireland)
  is Ireland plus the parts of GB within lat 54..55.5 and west of 5.3 W
  (Northern Ireland).  Zones that split a country (DK1, DK2, SE1, SE3, NO1,
  IT-NORD) take the whole country's box.
* parts of a country that Natural Earth maps as their own admin-0 unit are added to the
  country they belong to (``PART_OF``): the Åland Islands (AX) to Finland, whose bidding
  zone FI they are in.

Run (from the repository root)::

    python data/derive_site_bounds.py [--boundaries ../shared/data/boundaries]
"""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = ROOT / "toolkit" / "powerfirst" / "schema"
ISO = Path("/usr/share/iso-codes/json/iso_3166-1.json")
EUROPE = (34.0, 72.0, -12.0, 45.0)  # lat_min, lat_max, lon_min, lon_max
NOT_CONTIGUOUS = {"02", "15", "60", "66", "69", "72", "78"}  # AK, HI, territories
SPLIT = {"DE-LU": ("DE", "LU"), "IE-SEM": ("IE",)}


def parts(geometry: dict) -> list[list[list[float]]]:
    """Outer rings of a Polygon or MultiPolygon (list of [lon, lat] lists)."""
    if not geometry:
        return []
    if geometry["type"] == "Polygon":
        return [geometry["coordinates"][0]]
    if geometry["type"] == "MultiPolygon":
        return [poly[0] for poly in geometry["coordinates"]]
    return []


def lon_arc(rings: list[list[list[float]]]) -> tuple[float, float]:
    """Shortest longitude arc covering every edge of ``rings`` (lon_min > lon_max: across 180)."""
    intervals = []
    for ring in rings:
        for (x0, _), (x1, _) in zip(ring[:-1], ring[1:], strict=True):
            a, b = min(x0, x1), max(x0, x1)
            if b - a > 180:  # the edge crosses the antimeridian
                intervals += [(b, 180.0), (-180.0, a)]
            else:
                intervals.append((a, b))
        if len(ring) == 1:
            intervals.append((ring[0][0], ring[0][0]))
    intervals.sort()
    merged = [list(intervals[0])]
    for a, b in intervals[1:]:
        if a <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    # the largest uncovered gap, the wrap-around gap included
    gaps = [(merged[i + 1][0] - merged[i][1], i) for i in range(len(merged) - 1)]
    wrap = merged[0][0] + 360 - merged[-1][1]
    if not gaps or wrap >= max(gaps)[0]:
        return merged[0][0], merged[-1][1]
    _, i = max(gaps)
    return merged[i + 1][0], merged[i][1]


def box(rings) -> tuple[float, float, float, float]:
    lats = [y for ring in rings for _, y in ring]
    lo, hi = lon_arc(rings)
    return min(lats), max(lats), lo, hi


def inside(ring, window) -> bool:
    lat_min, lat_max, lon_min, lon_max = window
    return all(lat_min <= y <= lat_max and lon_min <= x <= lon_max for x, y in ring)


def fmt(x: float, up: bool) -> str:
    import math

    return f"{(math.ceil if up else math.floor)(x * 100) / 100:.2f}"


#: Natural Earth admin-0 units that are part of another country's territory and grid
PART_OF = {"AX": "FI"}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--boundaries", type=Path, default=ROOT.parent / "shared" / "data" / "boundaries")
    ap.add_argument("--out", type=Path, default=SCHEMA / "bounds.csv")
    args = ap.parse_args(argv)

    numeric = {c["numeric"]: c["alpha_2"] for c in json.loads(ISO.read_text())["3166-1"]}
    known = {r["code"] for r in csv.DictReader(
        line for line in (SCHEMA / "countries.csv").open(encoding="utf-8") if not line.startswith("#"))}
    rings: dict[str, list] = {}
    for feat in json.loads((args.boundaries / "DERIVED_ne_50m_countries.geojson").read_text())["features"]:
        code = numeric.get(str(feat["properties"].get("id", "")))
        if code in known:
            rings.setdefault(code, []).extend(parts(feat["geometry"]))
        if code in PART_OF:
            rings.setdefault(PART_OF[code], []).extend(parts(feat["geometry"]))
    states = json.loads((args.boundaries / "DERIVED_us_states_2017.geojson").read_text())["features"]
    lower48 = [r for f in states if f["properties"]["id"] not in NOT_CONTIGUOUS for r in parts(f["geometry"])]

    rows = []
    for code in sorted(rings):
        rows.append((code, "country", *box(rings[code]),
                     "Natural Earth 4.1.0 Admin-0 countries 1:50m, every polygon part"))
    grids = [r for r in csv.DictReader((SCHEMA / "grids.csv").open(encoding="utf-8"))]
    for g in grids:
        code, cc = g["code"], g["country"]
        if cc == "US":
            rows.append((code, "grid", *box(lower48),
                         "contiguous US: US Census 2017 cartographic boundaries, 48 states and DC"))
            continue
        members = SPLIT.get(code, (cc,))
        zone = [r for m in members for r in rings.get(m, []) if inside(r, EUROPE)]
        note = "Natural Earth 1:50m parts of " + " + ".join(members) + " in lat 34..72, lon -12..45"
        if code == "IE-SEM":
            zone += [r for r in rings["GB"] if inside(r, (54.0, 55.5, -12.0, -5.3))]
            note += " + Northern Ireland (GB parts in lat 54..55.5, west of 5.3 W)"
        if zone:
            rows.append((code, "grid", *box(zone), note))

    with args.out.open("w", encoding="utf-8", newline="") as f:
        f.write("# Latitude/longitude boxes of countries (ISO 3166-1 alpha-2) and grids (schema/grids.csv)\n"
                "# lat_min, lat_max [degrees_north], lon_min, lon_max [degrees_east], rounded outwards to\n"
                "# 0.01 degree; lon_min > lon_max means the box crosses the antimeridian. Used by the site\n"
                "# reader to detect swapped coordinates only. Derived by data/derive_site_bounds.py.\n")
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["code", "kind", "lat_min", "lat_max", "lon_min", "lon_max", "source"])
        for code, kind, la0, la1, lo0, lo1, src in rows:
            w.writerow([code, kind, fmt(la0, False), fmt(la1, True), fmt(lo0, False), fmt(lo1, True), src])
    print(f"wrote {len(rows)} boxes to {args.out}")


if __name__ == "__main__":
    main()
