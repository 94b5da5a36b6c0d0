"""Tabulate annual capacity factors of the reference plants at embedded stations (``data/derived/weather/station_cf.csv``).

For each station in ``STATIONS`` the energy cube is built for a site on the
station itself (same coordinates and elevation, so no transfer): fixed-tilt
and single-axis-tracking PV on the AC basis (per kW AC, DC/AC 1.34) and
on the DC basis, and wind net of losses and gross.  The same file run
through pvlib's own ModelChain with the same parameters gives the check
columns ``*_modelchain`` (the cube must agree within 2 %, see
tests/cubes/test_energy.py).

Run from the repository root::

    python data/tabulate_station_cf.py
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from powerfirst.cubes.energy import PVSpec, WeatherStationWarning, build_energy_cube
from powerfirst.io.sites import sites_from_frame
from powerfirst.io.weather import default_stations

OUT = Path(__file__).resolve().parent / "derived" / "weather" / "station_cf.csv"
STATIONS = ["722780", "723815", "722740", "723650", "722590", "725650", "724510", "725300", "724055",
            "722190", "727930", "725090", "037683", "106410", "024600", "081800", "pvgis_37.116_14.561",
            "085360", "061800"]


def _modelchain(wx, mount, spec):
    from pvlib.location import Location
    from pvlib.modelchain import ModelChain
    from pvlib.pvsystem import Array, FixedMount, PVSystem, SingleAxisTrackerMount
    from pvlib.temperature import TEMPERATURE_MODEL_PARAMETERS

    lat, lon, alt = (float(wx[c]) for c in ("lat", "lon", "elevation_m"))
    times = (pd.DatetimeIndex(wx.indexes["time"]) + pd.Timedelta("30min")).tz_localize("UTC")
    weather = pd.DataFrame({v: wx[v].values for v in ("ghi", "dni", "dhi", "temp_air", "wind_speed")}, index=times)
    m = (FixedMount(min(abs(lat), spec.max_tilt_deg), 180.0) if mount == "fixed"
         else SingleAxisTrackerMount(0, 180.0, spec.max_angle_deg, spec.backtrack, spec.gcr))
    system = PVSystem(arrays=[Array(m, albedo=spec.albedo,
                                    temperature_model_parameters=TEMPERATURE_MODEL_PARAMETERS["sapm"][spec.temperature_model],
                                    module_parameters={"pdc0": 1.0, "gamma_pdc": spec.gamma_pdc_per_k})],
                      inverter_parameters={"pdc0": 1 / spec.dc_ac_ratio / spec.eta_inv_nom,
                                           "eta_inv_nom": spec.eta_inv_nom, "eta_inv_ref": spec.eta_inv_ref})
    mc = ModelChain(system, Location(lat, lon, altitude=alt), transposition_model=spec.transposition,
                    aoi_model="physical", spectral_model="no_loss", dc_model="pvwatts", ac_model="pvwatts",
                    losses_model="pvwatts", airmass_model="kastenyoung1989")
    mc.run_model(weather)
    return float(np.nansum(np.clip(mc.results.ac.to_numpy(float), 0, None))) / 8760 * spec.dc_ac_ratio


def main():
    from pvlib.pvsystem import pvwatts_losses

    spec = PVSpec(losses_percent=float(pvwatts_losses()))
    wx = default_stations().sel(station=STATIONS)
    recs = [{"site_id": s, "name": str(wx["name"].sel(station=s).values), "lat": float(wx["lat"].sel(station=s)),
             "lon": float(wx["lon"].sel(station=s)), "country": "US", "ba": "PJM", "target_mw": 100.0,
             "tier": "core", "elevation_m": float(wx["elevation_m"].sel(station=s))} for s in STATIONS]
    sites = sites_from_frame(pd.DataFrame(recs, dtype=object))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", WeatherStationWarning)
        cube = build_energy_cube(sites, wx, pv=spec).compute()
    rows = []
    for s in STATIONS:
        c, w = cube.sel(site=s), wx.sel(station=s)
        rows.append({
            "station": s, "name": str(w["name"].values), "country": str(w["country"].values),
            "climate_zone": str(w["climate_zone"].values), "source_type": str(w["source_type"].values),
            "annual_ghi_kwh_m2": round(float(w["ghi"].sum()) / 1000),
            "mean_wind_10m_m_s": round(float(w["wind_speed"].mean()), 2),
            "solar_cf_fixed_ac": round(float(c["solar_cf_fixed_ac"].mean()), 4),
            "solar_cf_tracking_ac": round(float(c["solar_cf_tracking_ac"].mean()), 4),
            "solar_cf_tracking_dc": round(float(c["solar_cf"].mean()), 4),
            "solar_cf_fixed_ac_modelchain": round(_modelchain(w, "fixed", spec), 4),
            "solar_cf_tracking_ac_modelchain": round(_modelchain(w, "single_axis", spec), 4),
            "wind_cf_net": round(float(c["wind_cf"].mean()), 4),
            "wind_cf_gross": round(float(c["wind_cf_gross"].mean()), 4),
        })
    df = pd.DataFrame(rows)
    df["fixed_vs_modelchain"] = (df["solar_cf_fixed_ac"] / df["solar_cf_fixed_ac_modelchain"] - 1).round(4)
    df["tracking_vs_modelchain"] = (df["solar_cf_tracking_ac"] / df["solar_cf_tracking_ac_modelchain"] - 1).round(4)
    df.to_csv(OUT, index=False, lineterminator="\n")
    print(df.to_string(index=False))


if __name__ == "__main__":
    main()
