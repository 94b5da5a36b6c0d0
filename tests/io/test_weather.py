"""Typical-year weather readers: formats, the UTC reference-year convention, and bad inputs."""

import csv
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from powerfirst.errors import DataFormatError, ValidationError
from powerfirst.io.store import write_netcdf
from powerfirst.io.weather import (
    WeatherDownloadError,
    WeatherFileNotFoundError,
    default_station_paths,
    default_stations,
    fetch_pvgis_tmy,
    pvlib_station_paths,
    read_weather,
    to_reference_year,
)
from powerfirst.schema import check

GREENSBORO, SAND_POINT, MIAMI = pvlib_station_paths()
EMBEDDED = default_station_paths()
EPW_DIR = "weather/epw_us_dc_locations"


@pytest.fixture(scope="module")
def stations():
    """The three typical years pvlib ships (the embedded European ones are tested separately)."""
    return read_weather([GREENSBORO, SAND_POINT, MIAMI])


def _tmy3_rows(path):
    """The data rows of a TMY3 file as lists of fields (header lines skipped)."""
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    return rows[0], rows[1], rows[2:]


def _write_tmy3(path, meta, header, rows):
    with open(path, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(meta)
        w.writerow(header)
        w.writerows(rows)


def _one_station_netcdf(stations, tmp_path, name="wx.nc", **edits):
    ds = stations.isel(station=[0])
    for var, fn in edits.items():
        ds = fn(ds) if var == "_ds" else ds.assign({var: fn(ds[var])})
    path = tmp_path / name
    write_netcdf(ds, path)
    return path


# --------------------------------------------------------------------------- the three pvlib files


@pytest.mark.parametrize("i, fmt, tz", [(0, "tmy3", -5.0), (1, "tmy3", -9.0), (2, "tmy2", -5.0)])
def test_pvlib_files_read_to_one_utc_reference_year(stations, i, fmt, tz):
    st = stations.isel(station=i)
    t = stations.indexes["time"]
    assert len(t) == 8760
    assert t[0] == pd.Timestamp("2023-01-01 00:00") and t[-1] == pd.Timestamp("2023-12-31 23:00")
    assert t.tz is None and (np.diff(t.values) == np.timedelta64(1, "h")).all()
    assert st["format"].item() == fmt and st["tz_offset_h"].item() == tz
    units = {"ghi": "W m-2", "dni": "W m-2", "dhi": "W m-2", "temp_air": "degC", "wind_speed": "m s-1",
             "pressure": "Pa"}
    for var, u in units.items():
        assert stations[var].attrs["units"] == u
        assert stations[var].attrs["long_name"]
        assert not bool(st[var].isnull().any())
    assert stations["wind_speed"].attrs["height_m"] == 10
    assert stations.attrs["pf_kind"] == "weather"
    # plausible magnitudes in canonical units (TMY2 stores tenths of degC and m/s, and mbar)
    assert -40 < float(st["temp_air"].mean()) < 35
    assert 0.5 < float(st["wind_speed"].mean()) < 15
    assert 90_000 < float(st["pressure"].mean()) < 105_000
    assert check(stations.rename(station="site"), "weather", values=True) == []


def test_greensboro_known_values_after_utc_conversion(stations):
    _, _, rows = _tmy3_rows(GREENSBORO)
    raw = {(r[0][:5], r[1]): r for r in rows}  # (MM/DD, HH:MM hour-ending EST) -> fields
    gso = stations.sel(station="723170")
    # 01/01 13:00 hour-ending EST = 12:00-13:00 EST = 17:00-18:00 UTC, labelled 17:00
    assert float(gso["ghi"].sel(time="2023-01-01 17:00")) == float(raw[("01/01", "13:00")][4]) == 155
    # the first row (00:00-01:00 EST) is 05:00 UTC
    assert float(gso["temp_air"].sel(time="2023-01-01 05:00")) == float(raw[("01/01", "01:00")][31])
    # the last five hours of 31 Dec EST fall on 1 Jan UTC of the next year: wrapped to 2023-01-01 00-04
    assert float(gso["temp_air"].sel(time="2023-01-01 00:00")) == float(raw[("12/31", "20:00")][31])
    assert float(gso["temp_air"].sel(time="2023-01-01 04:00")) == float(raw[("12/31", "24:00")][31])
    # and 12/31 19:00 hour-ending (18:00-19:00 EST) is the last hour of the year, 23:00 UTC
    assert float(gso["pressure"].sel(time="2023-12-31 23:00")) == float(raw[("12/31", "19:00")][40]) * 100


def test_sand_point_alaska_offset_minus_nine(stations):
    _, _, rows = _tmy3_rows(SAND_POINT)
    sp = stations.sel(station="703165")
    first = rows[0]  # 01/01 01:00 AKST hour-ending -> 00:00 AKST -> 09:00 UTC
    assert first[1] == "01:00"
    assert float(sp["temp_air"].sel(time="2023-01-01 09:00")) == float(first[31])
    assert float(sp["wind_speed"].sel(time="2023-01-01 09:00")) == float(first[46])


def test_tmy2_units_converted(stations):
    from pvlib.iotools import read_tmy2

    raw, _ = read_tmy2(str(MIAMI))
    row = raw.iloc[12]  # 1 Jan, hour-ending 13 local (UTC-5) -> 17:00 UTC
    assert (row["month"], row["day"], row["hour"]) == (1, 1, 13)
    mia = stations.sel(station="12839", time="2023-01-01 17:00")
    assert float(mia["ghi"]) == row["GHI"]
    assert float(mia["temp_air"]) == pytest.approx(row["DryBulb"] / 10)
    assert float(mia["wind_speed"]) == pytest.approx(row["Wspd"] / 10)
    assert float(mia["pressure"]) == pytest.approx(row["Pressure"] * 100)


def test_to_reference_year_wraps_and_interpolates():
    v = np.arange(8760.0)
    out = to_reference_year(v, -5)
    assert out[5] == 0 and out[0] == 8755 and out[-1] == 8754
    out = to_reference_year(v, 1)  # UTC+1: local 00:00 is 23:00 UTC of the day before
    assert out[0] == 1 and out[-1] == 0
    half = to_reference_year(v, 5.5)
    assert half[10] == pytest.approx(15.5)


def test_names_override_labels_and_netcdf_round_trip(stations, tmp_path):
    path = tmp_path / "three.nc"
    write_netcdf(stations, path)
    back = read_weather(path, names=["gso", "snp", "mia"])
    assert list(back.station.values) == ["gso", "snp", "mia"]
    for v in ("ghi", "dni", "dhi", "temp_air", "wind_speed", "pressure"):
        np.testing.assert_array_equal(back[v].values, stations[v].values)
    np.testing.assert_array_equal(back["lat"].values, stations["lat"].values)
    with pytest.raises(ValueError, match="3 stations were read"):
        read_weather(path, names=["a"])


def test_netcdf_in_other_units_is_converted(stations, tmp_path):
    path = _one_station_netcdf(
        stations, tmp_path,
        temp_air=lambda da: (da + 273.15).assign_attrs(units="K"),
        pressure=lambda da: (da / 100).assign_attrs(units="hPa"))
    back = read_weather(path)
    np.testing.assert_allclose(back["temp_air"].values[0], stations["temp_air"].values[0], atol=1e-9)
    np.testing.assert_allclose(back["pressure"].values[0], stations["pressure"].values[0], rtol=1e-12)
    assert back["temp_air"].attrs["units"] == "degC"


def test_leap_year_netcdf_drops_29_february(stations, tmp_path):
    one = stations.isel(station=[0])
    t = pd.date_range("2020-01-01", periods=8784, freq="h")
    keep = ~((t.month == 2) & (t.day == 29))
    data = {v: (("station", "time"), np.zeros((1, 8784)), one[v].attrs) for v in one.data_vars}
    ds = xr.Dataset(data, coords={"station": ["leap"], "time": t, "lat": ("station", [36.1]),
                                  "lon": ("station", [-79.9]), "elevation_m": ("station", [273.0])})
    for v in one.data_vars:
        ds[v][0, np.flatnonzero(keep)] = one[v].values[0]
        ds[v][0, np.flatnonzero(~keep)] = -999.0  # would fail the range check if kept
    write_netcdf(ds, tmp_path / "leap.nc")
    back = read_weather(tmp_path / "leap.nc")
    assert back.sizes["time"] == 8760
    np.testing.assert_array_equal(back["ghi"].values[0], one["ghi"].values[0])
    assert "29 February dropped" in back.attrs["notes"]


# --------------------------------------------------------------------------- real EPW files


@pytest.mark.realdata
def test_epw_files_of_five_us_locations(shared):
    wx = read_weather(shared / EPW_DIR)
    assert wx.sizes == {"station": 5, "time": 8760}
    by_name = {str(n).split("-")[0].split(".")[0]: s for n, s in zip(wx["name"].values, wx["station"].values,
                                                                     strict=True)}
    phx, chi = wx.sel(station=by_name["Phoenix"]), wx.sel(station=by_name["Chicago"])
    assert float(phx["temp_air"].mean()) > float(chi["temp_air"].mean()) + 10
    assert phx["tz_offset_h"].item() == -7.0
    # Phoenix (UTC-7, no DST, solar noon ~19:28 UTC): the mean GHI peaks in the hour 19-20 UTC
    profile = phx["ghi"].groupby("time.hour").mean()
    assert int(profile.idxmax()) in (19, 20)
    assert int(profile.idxmax()) == 19
    assert float(profile.sel(hour=7)) < 5  # local midnight-ish hours are dark
    # the first EPW row (hour 1 = 00:00-01:00 MST) is 07:00 UTC on 1 January
    with open(shared / EPW_DIR / "USA_AZ_Phoenix-Sky.Harbor.epw") as f:
        first = f.readlines()[8].split(",")
    assert float(phx["temp_air"].sel(time="2023-01-01 07:00")) == float(first[6])
    assert float(phx["pressure"].sel(time="2023-01-01 07:00")) == float(first[9])


# --------------------------------------------------------------------------- bad inputs


def test_missing_file_and_unknown_format(tmp_path):
    with pytest.raises(WeatherFileNotFoundError, match="weather file not found") as exc:
        read_weather(tmp_path / "nope.epw")
    assert isinstance(exc.value, FileNotFoundError) and isinstance(exc.value, DataFormatError)
    junk = tmp_path / "weather.xyz"
    junk.write_text("this,is\nnot,weather\n")
    with pytest.raises(DataFormatError, match=r"weather\.xyz: unknown weather-file format \(extension '\.xyz'\)"):
        read_weather(junk)
    fake = tmp_path / "fake.epw"
    fake.write_text("station,lat,lon\nX,1,2\n")
    with pytest.raises(DataFormatError, match="the extension says EPW"):
        read_weather(fake)


def test_format_detected_from_content(tmp_path, stations):
    copy = tmp_path / "greensboro.dat"
    shutil.copy(GREENSBORO, copy)
    ds = read_weather(copy)
    np.testing.assert_array_equal(ds["ghi"].values[0], stations["ghi"].sel(station="723170").values)


def test_netcdf_missing_variable(stations, tmp_path):
    path = _one_station_netcdf(stations, tmp_path, _ds=lambda ds: ds.drop_vars("dhi"))
    with pytest.raises(ValidationError) as exc:
        read_weather(path)
    (p,) = exc.value.problems
    assert p.variable == "dhi" and p.file.endswith("wx.nc")
    assert "required variable missing (diffuse horizontal irradiance [W m-2])" in str(exc.value)


def test_truncated_file(tmp_path):
    meta, header, rows = _tmy3_rows(GREENSBORO)
    path = tmp_path / "short.csv"
    _write_tmy3(path, meta, header, rows[:-100])
    with pytest.raises(ValidationError) as exc:
        read_weather(path)
    msg = str(exc.value)
    assert "short.csv" in msg
    assert "wrong length: expected 8,760 hourly rows (8,784 for a leap year), found 8660 rows (truncated" in msg


def test_nan_in_ghi_names_file_row_and_variable(tmp_path):
    meta, header, rows = _tmy3_rows(GREENSBORO)
    rows[199][4] = "-9900"  # TMY3 missing-value code in row 200 (line 202): 01/09 08:00 hour-ending
    rows[300][4] = ""       # and an empty cell
    path = tmp_path / "gaps.csv"
    _write_tmy3(path, meta, header, rows)
    with pytest.raises(ValidationError) as exc:
        read_weather(path)
    (p,) = exc.value.problems
    assert (p.variable, p.row, p.line) == ("ghi", 200, 202) and p.file.endswith("gaps.csv")
    assert "2 missing values (NaN or the format's missing-value code), first at 01-09 07:00" in p.message


def test_nan_in_netcdf_ghi(stations, tmp_path):
    path = _one_station_netcdf(stations, tmp_path, ghi=lambda da: da.where(da.time != da.time[100]))
    with pytest.raises(ValidationError, match=r"variable 'ghi': 1 missing value .* first at 01-05 04:00 UTC"):
        read_weather(path)


def test_wrong_units_attribute(stations, tmp_path):
    path = _one_station_netcdf(stations, tmp_path, ghi=lambda da: da.assign_attrs(units="degC"),
                               wind_speed=lambda da: da.assign_attrs(units="furlongs"))
    with pytest.raises(ValidationError) as exc:
        read_weather(path)
    text = str(exc.value)
    assert ("variable 'ghi': wrong units attribute: units 'degC' measure temperature, not irradiance; "
            "expected 'W m-2'") in text
    assert "variable 'wind_speed': wrong units attribute: unknown unit 'furlongs'" in text
    path = _one_station_netcdf(stations, tmp_path, "nounits.nc",
                               temp_air=lambda da: xr.DataArray(da.values, dims=da.dims, coords=da.coords))
    with pytest.raises(ValidationError, match="variable 'temp_air': no 'units' attribute; expected 'degC'"):
        read_weather(path)


def test_physically_implausible_values(tmp_path):
    meta, header, rows = _tmy3_rows(GREENSBORO)
    rows[11][4] = "1600"   # 01/01 12:00 hour-ending EST: 11:00 EST = 16:00 UTC
    rows[20][31] = "75.0"  # a 75 degC dry bulb
    path = tmp_path / "hot.csv"
    _write_tmy3(path, meta, header, rows)
    with pytest.raises(ValidationError) as exc:
        read_weather(path)
    by_var = {p.variable: p for p in exc.value.problems}
    assert set(by_var) == {"ghi", "temp_air"}
    assert by_var["ghi"].row == 12 and by_var["ghi"].file.endswith("hot.csv")
    assert ("physically implausible value 1600 W m-2 (valid range 0 to 1500 W m-2) in 1 row, first at "
            "01-01 11:00 local standard time (hour-beginning; 2023-01-01 16:00 UTC)") in by_var["ghi"].message
    assert "75 degC (valid range -70 to 60 degC)" in by_var["temp_air"].message


def test_non_hourly_netcdf(stations, tmp_path):
    one = stations.isel(station=[0])
    t = pd.date_range("2023-01-01", periods=17520, freq="30min")
    ds = xr.Dataset({v: (("station", "time"), np.repeat(one[v].values, 2, axis=1), one[v].attrs)
                     for v in one.data_vars},
                    coords={"station": ["x"], "time": t, "lat": ("station", [36.0]), "lon": ("station", [-80.0])})
    write_netcdf(ds, tmp_path / "halfhour.nc")
    with pytest.raises(ValidationError, match="non-hourly data: 17520 time steps"):
        read_weather(tmp_path / "halfhour.nc")


# --------------------------------------------------------------------------- PVGIS (offline)


def test_fetch_pvgis_without_network_says_to_supply_files(monkeypatch, tmp_path):
    import pvlib.iotools
    import requests

    def offline(*a, **k):
        raise requests.exceptions.ConnectionError("Failed to resolve 're.jrc.ec.europa.eu'")

    monkeypatch.setattr(pvlib.iotools, "get_pvgis_tmy", offline)
    with pytest.raises(WeatherDownloadError, match="supply typical-year files instead"):
        fetch_pvgis_tmy(45.0, 8.0, tmp_path)


def test_fetch_pvgis_writes_a_file_read_weather_accepts(monkeypatch, tmp_path, stations):
    import pvlib.iotools

    one = stations.isel(station=0)
    idx = pd.date_range("2023-01-01", periods=8760, freq="h", tz="UTC")
    frame = pd.DataFrame({v: one[v].values for v in ("ghi", "dni", "dhi", "temp_air", "wind_speed",
                                                     "pressure")}, index=idx)
    meta = {"inputs": {"location": {"latitude": 45.0, "longitude": 8.0, "elevation": 250.0}}}
    monkeypatch.setattr(pvlib.iotools, "get_pvgis_tmy", lambda *a, **k: (frame, meta))
    path = fetch_pvgis_tmy(45.0, 8.0, tmp_path)
    back = read_weather(path)
    # tz_offset_h NaN (changed on purpose): the labels are UTC, the station's standard offset is unknown
    assert back["elevation_m"].item() == 250.0 and np.isnan(back["tz_offset_h"].item())
    np.testing.assert_array_equal(back["ghi"].values[0], one["ghi"].values)


def test_default_stations_include_the_embedded_european_ones():
    # changed on purpose: the embedded default is now the 159 shared typical years (stations.nc);
    # the ASHRAE IWEC Amsterdam file (no redistribution allowed) is gone, Piedmont PVGIS is among them
    ds = default_stations()
    assert ds.sizes["station"] == 159 and len(EMBEDDED) == 1 and EMBEDDED[0].name == "stations.nc"
    assert not any("IWEC" in s for s in ds["source"].values)
    assert (ds["licence"].str.len() > 10).all() and (ds["climate_zone"].str.len() >= 1).all()
    pie = ds.sel(station="pvgis_45.000_8.000")
    assert float(pie["lat"]) == 45.0 and "PVGIS" in str(pie["name"].values)
    # at 8 E solar noon is near 11:30 UTC: Piedmont's GHI peaks in the 11 or 12 UTC hour (read as UTC)
    peak_hour = int(pie["ghi"].groupby("time.hour").mean().idxmax())
    assert peak_hour in (11, 12)


# --------------------------------------------------------------------------- per-site typical years (recorded responses)

RECORDED_PVGIS = Path(__file__).parents[1] / "data" / "pvgis_tmy_45.000_8.000_2005_2023.json.gz"


class _RecordedResponse:
    """A requests.Response stand-in replaying a stored PVGIS API answer (no network)."""

    def __init__(self, body: bytes, status: int = 200):
        self.content, self.status_code, self.ok = body, status, status == 200

    def json(self):
        import json

        return json.loads(self.content)

    def raise_for_status(self):
        if not self.ok:
            import requests

            raise requests.HTTPError(f"{self.status_code}")


def test_fetch_site_typical_years_from_recorded_pvgis_response_and_cache(monkeypatch, tmp_path):
    """The PVGIS TMY API answer for 45 N 8 E (recorded in pvlib 0.16.1's test data, PVGIS 5.3) replayed
    through pvlib.iotools.get_pvgis_tmy: read_weather reads the cached file; a second call does not fetch."""
    import gzip

    import requests

    from powerfirst.io.weather import fetch_site_typical_years

    body = gzip.decompress(RECORDED_PVGIS.read_bytes())
    calls = []

    def replay(url, params=None, timeout=None, **kw):
        calls.append((url, dict(params or {})))
        return _RecordedResponse(body)

    monkeypatch.setattr(requests, "get", replay)
    paths = fetch_site_typical_years([45.0, 45.001], [8.0, 8.0], cache_dir=tmp_path)
    assert len(paths) == 1 and len(calls) == 1 and calls[0][1]["lat"] == 45.0  # same 0.01-degree cell
    wx = read_weather(paths)
    assert wx.sizes == {"station": 1, "time": 8760} and float(wx["elevation_m"].item()) == 250.0
    assert 1300 < float(wx["ghi"].sum()) / 1000 < 1600  # kWh m-2 a-1 in Piedmont
    peak_hour = int(wx["ghi"].isel(station=0).groupby("time.hour").mean().idxmax())
    assert peak_hour in (11, 12)  # UTC stamps kept: solar noon at 8 E is ~11:30 UTC
    again = fetch_site_typical_years([45.0], [8.0], cache_dir=tmp_path)
    assert again == paths and len(calls) == 1  # from the cache


def test_fetch_site_typical_years_refusal_and_offline(monkeypatch, tmp_path):
    import requests

    from powerfirst.io.weather import fetch_site_typical_years

    monkeypatch.setattr(requests, "get", lambda *a, **k: _RecordedResponse(
        b'{"message": "Location over the sea. Please, select another location", "status": 400}', 400))
    with pytest.raises(WeatherDownloadError, match="refused.*over the sea"):
        fetch_site_typical_years([40.0], [-30.0], cache_dir=tmp_path)

    def offline(*a, **k):
        raise requests.exceptions.ConnectionError("Failed to resolve 're.jrc.ec.europa.eu'")

    monkeypatch.setattr(requests, "get", offline)
    with pytest.raises(WeatherDownloadError, match="supply typical-year files instead"):
        fetch_site_typical_years([45.0], [8.0], cache_dir=tmp_path)
    with pytest.raises(ValueError, match="api_key= and email="):
        fetch_site_typical_years([45.0], [8.0], source="nsrdb", cache_dir=tmp_path)


def test_fetch_nsrdb_tmy_from_recorded_values(monkeypatch, tmp_path):
    """NSRDB through pvlib.iotools.get_nsrdb_psm4_tmy (replaced by a recorded TMY frame, no network)."""
    import pvlib.iotools

    from powerfirst.io.weather import fetch_nsrdb_tmy

    idx = pd.date_range("2023-01-01 00:30", periods=8760, freq="h", tz="UTC")
    one = read_weather([GREENSBORO]).isel(station=0)
    frame = pd.DataFrame({v: one[v].values for v in ("ghi", "dni", "dhi", "temp_air", "wind_speed")}, index=idx)
    frame["pressure"] = 1000.0  # mbar, as NSRDB reports it
    seen = {}

    def recorded(lat, lon, api_key, email, **kw):
        seen.update(kw)
        return frame, {"Elevation": 273}

    monkeypatch.setattr(pvlib.iotools, "get_nsrdb_psm4_tmy", recorded)
    back = read_weather(fetch_nsrdb_tmy(36.1, -79.95, tmp_path, api_key="k", email="e@x"))
    assert seen["utc"] is True and float(back["elevation_m"].item()) == 273.0
    np.testing.assert_array_equal(back["ghi"].values[0], one["ghi"].values)
    assert float(back["pressure"].mean()) == 100000.0  # mbar -> Pa


@pytest.mark.realdata
def test_leap_year_and_short_epw_are_handled_or_refused(shared, tmp_path):
    """A leap-year TMY (8,784 rows): 29 February dropped and said so; 8,759 rows: a clear error."""
    src = shared / "weather" / "epw_us_dc_locations" / "USA_AZ_Phoenix-Sky.Harbor.epw"
    lines = src.read_text(encoding="latin-1").splitlines(keepends=True)
    head, rows = lines[:8], lines[8:]
    feb28 = [r for r in rows if r.split(",")[1] == "2" and r.split(",")[2] == "28"]
    feb29 = [",".join([f[0], "2", "29", *f[3:]]) for f in (r.split(",") for r in feb28)]
    cut = rows.index(feb28[-1]) + 1
    leap = tmp_path / "leap.epw"
    leap.write_text("".join(head + rows[:cut] + feb29 + rows[cut:]), encoding="latin-1")
    ds = read_weather(leap)
    assert ds.sizes["time"] == 8760 and "29 February dropped" in ds.attrs["notes"]
    short = tmp_path / "short.epw"
    short.write_text("".join(head + rows[:-1]), encoding="latin-1")
    with pytest.raises(ValidationError, match="wrong length.*found 8759"):
        read_weather(short)
