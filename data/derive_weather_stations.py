"""Derive the embedded typical-year weather stations (``data/derived/weather/``).

The offline default weather of the energy cube: the 159 real typical-year EPW
files of ``../shared/data/weather`` (154 in ``epw_stations/``, 5 in
``epw_us_dc_locations/``; see their SOURCE.md files), read with
``powerfirst.io.weather.read_weather`` and written, unchanged in content, as
one compact NetCDF plus a metadata table:

``stations.nc``
    ``ghi``, ``dni``, ``dhi`` [W m-2], ``temp_air`` [degC], ``wind_speed``
    [m s-1] at 10 m and ``pressure`` [Pa] on ``station`` x ``time`` (8,760
    hour-beginning UTC hours of the 2023 reference year), stored as scaled
    16-bit integers (zlib): irradiance to 1 W m-2, temperature and wind to
    0.01, pressure to 2 Pa.  EPW stores irradiance as whole W m-2 and
    temperature and wind to 0.1, so the irradiance, temperature and wind
    fields are reproduced exactly (pressure to within 1 Pa).
``stations.csv``
    One row per station: id, name, coordinates, elevation, the climate zone
    (ASHRAE 169 thermal zone + moisture letter), grid region, source type and
    period, the time basis of the file, the licence, the upstream repository,
    commit and path, and the SHA-256 of the EPW (from ``stations.csv`` of the
    shared folder; computed here for the five ``epw_us_dc_locations`` files).
``representativeness.csv``
    How much two stations' annual climate differs as a function of their
    distance (all station pairs on the same continent): the evidence for the
    300 km warning threshold of the energy cube.

Time basis.  Every file is read with the time zone of its header, except
the four PVGIS files, whose data are UTC although the header says UTC+1
(``data_time_basis`` in the shared stations.csv): they are read as UTC.
Remaining solar-timing offsets of the files (TMYx with ERA5 solar up to
0.7 h, IMGW about -0.5 h) are properties of the published files; they are
kept and recorded in ``solar_noon_offset_h``.

Not used: the ASHRAE IWEC file of Amsterdam Schiphol that an earlier version
embedded (the IWEC licence forbids redistribution to third parties).

Run from the repository root (reads ``../shared/data`` or
``$POWERFIRST_SHARED_DATA``)::

    python data/derive_weather_stations.py
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from powerfirst.cubes.conversion import ashrae_thermal_zone, haversine_km, lapse_rate_temperature
from powerfirst.io.store import write_netcdf
from powerfirst.io.weather import read_weather

HERE = Path(__file__).resolve().parent
OUT = HERE / "derived" / "weather"

# The five files of epw_us_dc_locations/ are not in the shared stations.csv: their rows here.
# Moisture letters from the IECC 2021 county map (as the shared table does for its stations).
DC_LOCATIONS = {
    "USA_AZ_Phoenix-Sky.Harbor.epw": ("AZ", "B", "WECC-Southwest (AZPS/SRP)"),
    "USA_GA_Atlanta-Hartsfield-Jackson.epw": ("GA", "A", "SERC Southeast (SOCO)"),
    "USA_IL_Chicago.OHare.epw": ("IL", "A", "PJM (ComEd)"),
    "USA_TX_Dallas-Fort.Worth.epw": ("TX", "A", "ERCOT"),
    "USA_VA_Leesburg.Exec.epw": ("VA", "A", "PJM"),
}
DC_LICENCE = ("MIT (repository HewlettPackard/dc-rl); data: Climate.OneBuilding.Org TMYx: free download, "
              "no explicit licence text in files or site; sources NOAA NCEI ISD (+ERA5 solar for SRC/ERA5 files)")
ENC = {
    "ghi": {"dtype": "int16", "scale_factor": 1.0, "_FillValue": -32768},
    "dni": {"dtype": "int16", "scale_factor": 1.0, "_FillValue": -32768},
    "dhi": {"dtype": "int16", "scale_factor": 1.0, "_FillValue": -32768},
    "temp_air": {"dtype": "int16", "scale_factor": 0.01, "_FillValue": -32768},
    "wind_speed": {"dtype": "int16", "scale_factor": 0.01, "_FillValue": -32768},
    "pressure": {"dtype": "int16", "scale_factor": 2.0, "add_offset": 80000.0, "_FillValue": -32768},
}
COLUMNS = ["station", "name", "country", "state_region", "lat", "lon", "elevation_m", "tz_offset_h",
           "climate_zone", "grid_region", "source_type", "period", "data_time_basis", "solar_noon_offset_h",
           "annual_mean_temp_C", "annual_GHI_kWh_m2", "annual_DNI_kWh_m2", "annual_DHI_kWh_m2",
           "mean_wind_10m_m_s", "licence", "file", "upstream_repo", "upstream_commit", "upstream_path",
           "sha256_uncompressed_epw"]


def _shared() -> Path:
    env = os.environ.get("POWERFIRST_SHARED_DATA")
    return Path(env) if env else HERE.parent.parent / "shared" / "data"


def _read_one(path: Path, tmp: Path, label: str, utc: bool) -> xr.Dataset:
    if path.suffix == ".gz":
        plain = tmp / path.name[:-3]
        with gzip.open(path, "rb") as src, open(plain, "wb") as dst:
            shutil.copyfileobj(src, dst)
    else:
        plain = path
    fixed = _clip_negative_wind(plain, tmp)
    ds = read_weather(fixed or plain, names=[label]).load()
    if utc:  # PVGIS: the data are UTC whatever the header says; undo the header's shift
        tz = int(round(float(ds["tz_offset_h"].item())))
        for v in ds.data_vars:
            ds[v].values[:] = np.roll(ds[v].values, tz, axis=-1)
        ds = ds.assign_coords(tz_offset_h=("station", [0.0]))
    sha = hashlib.sha256(plain.read_bytes()).hexdigest()  # of the published file, before any fix
    return ds.assign_coords(sha256=("station", [sha]))


def _clip_negative_wind(path: Path, tmp: Path) -> Path | None:
    """A copy of the EPW with negative wind speeds (field 22) set to 0, or None when there are none.

    PVGIS Sicily has two hours of -0.1 m s-1 (an ERA5 rounding artefact); read_weather rightly
    rejects negative speeds, so they are set to 0 here and counted in ``NOTES``.
    """
    lines = path.read_text(encoding="latin-1").splitlines(keepends=True)
    n = 0
    for k in range(8, len(lines)):
        f = lines[k].split(",")
        if len(f) > 21 and f[21].strip().startswith("-"):
            f[21] = "0.0"
            lines[k] = ",".join(f)
            n += 1
    if not n:
        return None
    NOTES.append(f"{path.name}: {n} hours of negative wind speed set to 0 m s-1")
    out = tmp / ("fixed_" + path.name)
    out.write_text("".join(lines), encoding="latin-1")
    return out


NOTES: list[str] = []


def _label(row) -> str:
    w = str(row["wmo"]).strip()
    if w and w.lower() != "unknown" and w != "nan":
        return w.zfill(6)
    return f"pvgis_{float(row['lat']):.3f}_{float(row['lon']):.3f}"


def _degree_days(temp: np.ndarray) -> tuple[float, float]:
    daily = temp.reshape(365, 24).mean(axis=1)
    return float(np.maximum(18.0 - daily, 0).sum()), float(np.maximum(daily - 10.0, 0).sum())


def representativeness(meta: pd.DataFrame, temp: np.ndarray, bins=(0, 100, 200, 300, 500, 800, 1200)):
    """Median and 90th-percentile differences of annual climate between station pairs by distance.

    Temperature differences are taken after moving one station to the other's elevation
    (lapse rate), so they measure climate, not altitude.
    """
    lat, lon, elev = (meta[c].to_numpy(float) for c in ("lat", "lon", "elevation_m"))
    us = (meta["country"] == "USA").to_numpy()
    d = haversine_km(lat[:, None], lon[:, None], lat[None], lon[None])
    i, j = np.triu_indices(len(meta), 1)
    same = us[i] == us[j]
    i, j, dist = i[same], j[same], d[i[same], j[same]]
    tmean = temp.mean(axis=1)
    dt = np.abs(lapse_rate_temperature(tmean[i], elev[i], elev[j]) - tmean[j])
    ghi = meta["annual_GHI_kWh_m2"].to_numpy(float)
    dghi = np.abs(ghi[i] - ghi[j]) / (0.5 * (ghi[i] + ghi[j]))
    wind = meta["mean_wind_10m_m_s"].to_numpy(float)
    dwind = np.abs(wind[i] - wind[j]) / (0.5 * (wind[i] + wind[j]))
    zone = meta["climate_zone"].str[0].to_numpy()
    rows = []
    for lo, hi in zip(bins[:-1], bins[1:], strict=True):
        k = (dist >= lo) & (dist < hi)
        if not k.any():
            continue
        rows.append({"distance_km": f"{lo}-{hi}", "pairs": int(k.sum()),
                     "temp_diff_C_median": round(float(np.median(dt[k])), 2),
                     "temp_diff_C_p90": round(float(np.quantile(dt[k], 0.9)), 2),
                     "ghi_diff_median": round(float(np.median(dghi[k])), 3),
                     "ghi_diff_p90": round(float(np.quantile(dghi[k], 0.9)), 3),
                     "wind_diff_median": round(float(np.median(dwind[k])), 3),
                     "wind_diff_p90": round(float(np.quantile(dwind[k], 0.9)), 3),
                     "thermal_zone_differs": round(float(np.mean(zone[i[k]] != zone[j[k]])), 3)})
    return pd.DataFrame(rows)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", type=Path, default=_shared(), help="the shared data folder")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args(argv)
    wdir = args.shared / "weather"
    table = pd.read_csv(wdir / "epw_stations" / "stations.csv", dtype={"wmo": str})
    parts, rows = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for _, r in table.iterrows():
            label = _label(r)
            utc = str(r["data_time_basis"]).startswith("UTC")
            ds = _read_one(wdir / "epw_stations" / r["file"], Path(tmp), label, utc)
            parts.append(ds)
            row = {c: r[c] for c in COLUMNS if c in r.index}
            row.update(station=label, name=str(r["station_name"]), climate_zone=r["ashrae169_zone_from_file"],
                       grid_region=r["grid_region_approx"], tz_offset_h=float(ds["tz_offset_h"].item()),
                       file=f"weather/epw_stations/{r['file']}")
            rows.append(row)
        for fname, (state, moist, grid) in DC_LOCATIONS.items():
            path = wdir / "epw_us_dc_locations" / fname
            first = path.read_text(encoding="latin-1").splitlines()[0].split(",")
            ds = _read_one(path, Path(tmp), first[5].strip().zfill(6), utc=False)
            parts.append(ds)
            t = ds["temp_air"].values[0]
            hdd, cdd = _degree_days(t)
            rows.append({
                "station": ds["station"].item(), "name": first[1].strip(), "country": "USA",
                "state_region": state, "lat": float(ds["lat"].item()), "lon": float(ds["lon"].item()),
                "elevation_m": float(ds["elevation_m"].item()), "tz_offset_h": float(ds["tz_offset_h"].item()),
                "climate_zone": f"{ashrae_thermal_zone(hdd, cdd)}{moist}", "grid_region": grid,
                "source_type": "TMYx", "period": "2007-2021 (TMYx, per weather/SOURCE.md)",
                "data_time_basis": "local standard time per header tz",
                "solar_noon_offset_h": np.nan,
                "annual_mean_temp_C": round(float(t.mean()), 2),
                "annual_GHI_kWh_m2": round(float(ds["ghi"].values.sum()) / 1000),
                "annual_DNI_kWh_m2": round(float(ds["dni"].values.sum()) / 1000),
                "annual_DHI_kWh_m2": round(float(ds["dhi"].values.sum()) / 1000),
                "mean_wind_10m_m_s": round(float(ds["wind_speed"].values.mean()), 2),
                "licence": DC_LICENCE, "file": f"weather/epw_us_dc_locations/{fname}",
                "upstream_repo": "HewlettPackard/dc-rl",
                "upstream_commit": "a92b4755aca560e34a98d14028dda629eb968482",
                "upstream_path": f"data/Weather/{fname}",
                "sha256_uncompressed_epw": ds["sha256"].item(),
            })
    meta = pd.DataFrame(rows, columns=COLUMNS)
    if meta["station"].duplicated().any():
        raise SystemExit(f"duplicate station ids: {meta.loc[meta['station'].duplicated(), 'station'].tolist()}")
    sha = np.concatenate([p["sha256"].values for p in parts])
    bad = meta["sha256_uncompressed_epw"].to_numpy() != sha
    if bad.any():
        raise SystemExit(f"SHA-256 differs from the shared stations.csv for {meta.loc[bad, 'station'].tolist()}")
    ds = xr.concat([p.drop_vars("sha256") for p in parts], dim="station", coords="different",
                   compat="equals", join="exact")
    keep = {"lat", "lon", "elevation_m", "name", "tz_offset_h", "station", "time"}
    ds = ds.drop_vars([c for c in ds.coords if c not in keep])
    ds = ds.assign_coords(
        source=("station", [Path(f).name for f in meta["file"]]),
        climate_zone=("station", meta["climate_zone"].astype(str).to_numpy()),
        licence=("station", meta["licence"].astype(str).to_numpy()),
    )
    ds.attrs = {
        "pf_kind": "weather", "title": "embedded typical-year weather stations (159 real EPW files)",
        "source": "../shared/data/weather (epw_stations/ and epw_us_dc_locations/, see their SOURCE.md); "
                  "NREL TMY3, Climate.OneBuilding TMYx, EU JRC PVGIS TMY, IGDG, IMGW",
        "time_convention": "hourly, hour-beginning, timezone-naive UTC on the non-leap reference year 2023",
        "reference_year": 2023, "derived_by": "data/derive_weather_stations.py",
        "notes": "; ".join(NOTES),
        "metadata": "stations.csv beside this file (licence, climate zone, period, upstream of every station)",
    }
    args.out.mkdir(parents=True, exist_ok=True)
    enc = {v: {**ENC[v], "zlib": True, "complevel": 9, "shuffle": True, "chunksizes": (1, 8760)}
           for v in ds.data_vars}
    path = Path(write_netcdf(ds, args.out / "stations.nc", encoding=enc, overwrite=True))
    meta.to_csv(args.out / "stations.csv", index=False, lineterminator="\n")
    rep = representativeness(meta, ds["temp_air"].values)
    rep.to_csv(args.out / "representativeness.csv", index=False, lineterminator="\n")
    print(path, dict(ds.sizes), f"{path.stat().st_size / 1e6:.1f} MB")
    print(rep.to_string(index=False))


if __name__ == "__main__":
    main()
