"""Derive the embedded European typical-year weather stations (``data/derived/weather/*.nc``).

pvlib's wheel ships three US typical years only (Greensboro NC, Sand Point AK,
Miami FL), so without more stations every European demo site would borrow
Alaskan weather.  pvlib's source distribution on PyPI carries two European
typical years among its test data, and this script converts them, unchanged
in content, into the NetCDF form that ``powerfirst.io.weather.read_weather``
reads (hour-beginning UTC on the 2023 reference year, float32, zlib):

* ``NLD_Amsterdam062400_IWEC.epw`` — Amsterdam Schiphol (52.30 N, 4.77 E),
  ASHRAE International Weather for Energy Calculations (IWEC), as
  redistributed by EnergyPlus and by pvlib (tests/data).  IWEC data are
  (c) ASHRAE; check their terms before redistributing further.
* ``tmy_45.000_8.000_2005_2023.csv`` — PVGIS typical meteorological year for
  45.0 N, 8.0 E (Piedmont, Italy), EU JRC PVGIS (satellite irradiance, ERA5
  temperature, wind and pressure), 2005-2023, as stored in pvlib's tests/data.
  The CSV (stamped in UTC) is used, not the EPW beside it: that EPW declares
  time zone +1 in its header but holds the same UTC series (checked: the
  EPW read as UTC+1 lags the CSV by exactly one hour, correlation 1.0).

Run (with network access to PyPI)::

    pip download pvlib==0.16.1 --no-binary :all: --no-deps -d build/
    tar xzf build/pvlib-0.16.1.tar.gz -C build/
    python data/derive_weather_stations.py build/pvlib-0.16.1/tests/data

Users with better weather for their sites supply their own EPW/TMY files (or
``fetch_pvgis_tmy``); these two stations only keep the embedded demo honest.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from powerfirst.io.store import write_netcdf
from powerfirst.io.weather import read_weather

STATIONS = {
    "NLD_Amsterdam062400_IWEC.epw": ("amsterdam_schiphol_iwec", "Amsterdam Schiphol NL (IWEC)",
                                     "ASHRAE IWEC via EnergyPlus and pvlib 0.16.1 sdist tests/data"),
    "tmy_45.000_8.000_2005_2023.csv": ("piedmont_pvgis_tmy", "Piedmont IT 45.0N 8.0E (PVGIS TMY 2005-2023)",
                                       "EU JRC PVGIS TMY via pvlib 0.16.1 sdist tests/data"),
}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("src", type=Path, help="pvlib sdist tests/data folder")
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "derived" / "weather")
    args = ap.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    import tempfile

    import pvlib

    from powerfirst.io.weather import pvgis_tmy_dataset

    for fname, (stem, name, source) in STATIONS.items():
        if fname.endswith(".csv"):  # PVGIS TMY in UTC
            data, meta = pvlib.iotools.read_pvgis_tmy(args.src / fname, map_variables=True)[:2]
            raw = pvgis_tmy_dataset(data, meta, 45.0, 8.0, name=name)
            with tempfile.TemporaryDirectory() as tmp:
                write_netcdf(raw, Path(tmp) / "pvgis.nc")
                ds = read_weather(Path(tmp) / "pvgis.nc", names=[name]).load()
        else:
            ds = read_weather(args.src / fname, names=[name])
        ds = ds.assign_coords(source=("station", [f"{fname} ({source})"]))
        ds.attrs.update(title=f"typical-year weather: {name}", source=source,
                        derived_by="data/derive_weather_stations.py")
        for k in ("created", "powerfirst_version"):
            ds.attrs.pop(k, None)
        enc = {v: {"dtype": "float32", "zlib": True, "complevel": 6} for v in ds.data_vars}
        path = write_netcdf(ds, args.out / f"{stem}.nc", encoding=enc, overwrite=True)
        print(path, ds.sizes)


if __name__ == "__main__":
    main()
