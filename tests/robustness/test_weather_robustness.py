"""Typical-year weather files that used to read into silently wrong results: now refused, located, or read right.

The bad inputs are made here in ``tmp_path`` from the real EPW of Leesburg, VA
(``../shared/data/weather/epw_us_dc_locations``) and the TMY3 of Greensboro, NC
that pvlib ships.  The fuzzing half asserts the contract of
:func:`powerfirst.io.weather.read_weather` on random and damaged files: a
Dataset that agrees with the file, or a powerfirst error (ValidationError /
DataFormatError) whose message names the file - never another exception type,
and never a value read differently from what was written.
"""

import csv
import io
import os
import uuid
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pvlib
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from powerfirst.errors import DataFormatError, PowerfirstError, ValidationError
from powerfirst.io.store import write_netcdf
from powerfirst.io.weather import read_weather

pytestmark = pytest.mark.realdata

FUZZ = settings(max_examples=int(os.environ.get("POWERFIRST_FUZZ_EXAMPLES", "30")), deadline=None,
                derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                         HealthCheck.too_slow])
# a full typical year per example (0.2-0.4 s): fewer examples
FUZZ_SLOW = settings(FUZZ, max_examples=max(10, FUZZ.max_examples // 3))
LEESBURG = "weather/epw_us_dc_locations/USA_VA_Leesburg.Exec.epw"
GREENSBORO = Path(pvlib.__file__).parent / "data" / "723170TYA.CSV"
# EPW data fields (1-based, EnergyPlus Auxiliary Programs): 2 month, 3 day, 4 hour, 7 dry bulb [degC],
# 10 station pressure [Pa], 14 GHI, 15 DNI, 16 DHI [W m-2], 22 wind speed [m s-1]
FIELD = {"month": 1, "day": 2, "hour": 3, "temp_air": 6, "pressure": 9, "ghi": 13, "dni": 14, "dhi": 15,
         "wind_speed": 21}


@pytest.fixture(scope="module")
def epw(shared):
    """(header lines, data rows as lists of fields) of the Leesburg EPW."""
    lines = (shared / LEESBURG).read_text(encoding="utf-8").splitlines()
    return lines[:8], [r.split(",") for r in lines[8:]]


@pytest.fixture(scope="module")
def reference(shared):
    return read_weather(shared / LEESBURG)


@pytest.fixture(scope="module")
def greensboro():
    return read_weather(GREENSBORO)


def write_epw(path, header, rows, location=None):
    header = list(header)
    if location:
        f = header[0].split(",")
        for k, v in location.items():
            f[{"lat": 6, "lon": 7, "tz": 8}[k]] = str(v)
        header[0] = ",".join(f)
    path.write_text("\n".join(header + [",".join(r) for r in rows]) + "\n", encoding="utf-8")
    return path


def scaled(rows, fields, factor=1.0, offset=0.0):
    out = [list(r) for r in rows]
    for r in out:
        for k in fields:
            r[k] = f"{float(r[k]) * factor + offset:.6g}"
    return out


def refused(path, exc_type=ValidationError):
    with pytest.raises(exc_type) as exc:
        read_weather(path)
    assert str(path) in str(exc.value)
    return exc.value


def fresh(tmp_path, name):
    d = tmp_path / uuid.uuid4().hex
    d.mkdir()
    return d / name


# ------------------------------------------------------------------ 3. units and header time zone


def test_epw_irradiance_in_kw_is_refused_with_file_column_and_maximum(epw, tmp_path):
    header, rows = epw
    p = write_epw(tmp_path / "kw.epw", header, scaled(rows, [13, 14, 15], 1e-3))
    probs = refused(p).problems
    by_var = {q.variable: q for q in probs}
    assert set(by_var) == {"ghi", "dni", "dhi"}
    q = by_var["ghi"]
    assert (q.file, q.column) == (str(p), "Global Horizontal Radiation (field 14)")
    assert q.message == ("the largest value of the year is 0.984: values look like kW m-2; expected W m-2 "
                         "(multiply by 1,000)")


def test_epw_without_sunlight_is_refused(epw, tmp_path):
    header, rows = epw
    (q,) = refused(write_epw(tmp_path / "dark.epw", header, scaled(rows, [13], 0.0))).problems
    assert "the largest value of the year is 0 W m-2; expected several hundred W m-2" in q.message


def test_epw_time_zone_plus_14_in_virginia_is_refused_naming_the_header_field(epw, tmp_path):
    header, rows = epw
    p = write_epw(tmp_path / "tz14.epw", header, rows, {"tz": "14.0"})
    (q,) = refused(p).problems
    assert (q.file, q.line, q.column) == (str(p), 1, "TimeZone (LOCATION field 9)")
    assert q.message == ("time zone UTC+14 h does not fit the longitude -77.558 (solar time there is UTC-5.2 h; "
                         "the header offset may differ from it by at most 3 h, found 4.8 h); correct the time "
                         "zone or the longitude")
    (q,) = refused(write_epw(tmp_path / "tz5.epw", header, rows, {"tz": "5.0"})).problems
    assert "found 10.2 h) (the sign looks flipped: west of Greenwich the offset is negative)" in q.message


@pytest.mark.parametrize("lat, lon, tz", [
    (39.47, 75.99, 8.0),      # Kashgar: China's single zone, 2.9 h from solar time
    (42.88, -8.55, 1.0),      # Santiago de Compostela: Spain on Central European Time, 1.6 h
    (1.87, -157.4, 14.0),     # Kiritimati: UTC+14 west of the date line, 0.5 h round the date line
    (-32.9, -68.8, -3.0),     # Mendoza: Argentina's single zone, 1.6 h
    (51.9, -176.6, -10.0),    # Adak, Aleutians
])
def test_wide_real_time_zones_are_accepted(lat, lon, tz):
    from powerfirst.io.weather import _tz_lon_problem

    assert _tz_lon_problem(tz, lat, lon, "x.epw", "TimeZone") is None


def test_every_shared_station_header_passes(shared):
    from powerfirst.io.weather import TZ_LON_TOLERANCE_H, _tz_lon_problem

    st_ = pd.read_csv(shared / "weather/epw_stations/stations.csv")
    assert len(st_) >= 150
    bad = [r.file for r in st_.itertuples() if _tz_lon_problem(r.tz_offset_h, r.lat, r.lon, r.file, "tz")]
    assert bad == []
    assert TZ_LON_TOLERANCE_H == 3.0


def test_empty_and_header_only_epw_are_located(epw, tmp_path):
    for name, content in (("empty.epw", ""), ("blank.epw", "\n\n")):
        p = tmp_path / name
        p.write_text(content)
        err = refused(p, DataFormatError)  # was an IndexError
        assert str(err) == f"{p}: the file is {'empty' if not content else 'blank'}; expected a typical-year " \
                           "weather file (EPW, TMY3, TMY2 or NetCDF)"
    header, _rows = epw
    (q,) = refused(write_epw(tmp_path / "head.epw", header, [])).problems
    assert "wrong length: expected 8,760 hourly rows (8,784 for a leap year), found 0 rows" in q.message
    p = tmp_path / "three.epw"
    p.write_text("\n".join(header[:3]) + "\n")
    (q,) = refused(p).problems
    assert "only 3 lines; an EPW file has 8 header lines" in q.message


def test_leap_year_rows_that_are_not_one_year_are_refused(epw, tmp_path):
    # (a leap-year TMY with its 29 February, and 8,759 rows: tests/io/test_weather.py
    # test_leap_year_and_short_epw_are_handled_or_refused)
    header, rows = epw
    i = 24 * 59  # 1 March 00:00
    feb29 = [[r[0], "2", "29", *r[3:]] for r in rows[i - 24:i]]
    # 8,784 rows without a 29 February (a day twice), or 8,760 with one and 31 December missing
    (q,) = refused(write_epw(tmp_path / "dup.epw", header, rows + rows[-24:])).problems
    assert q.message == ("wrong length: expected 8,760 hourly rows (8,784 for a leap year), found 8784 rows (too "
                         "many; last row 12-31 23:00)")
    (q,) = refused(write_epw(tmp_path / "nodec31.epw", header, rows[:i] + feb29 + rows[i:-24])).problems
    assert q.message == ("the rows are not one typical year of hours: 24 hours missing (first 12-31 00:00) "
                         "(expected every hour of the year exactly once)")


# ------------------------------------------------------------------ 4. hemisphere and TMY3 time zone


def test_data_from_the_other_hemisphere_than_the_header_says(epw, reference, tmp_path):
    header, rows = epw
    p = write_epw(tmp_path / "south.epw", header, rows, {"lat": "-39.078"})
    (q,) = refused(p).problems
    assert (q.line, q.column) == (1, "Latitude (LOCATION field 7)")
    assert q.message == ("latitude -39.078 (south) but the data's days are longer in June-July (15.2 h of "
                         "daylight) than in December-January (10.2 h): the data are from the northern "
                         "hemisphere; check the sign of the latitude, or the file")
    # the same in a NetCDF file (UTC hours)
    nc = tmp_path / "south.nc"
    write_netcdf(reference.assign_coords(lat=("station", [-39.078])), nc)
    (q,) = refused(nc).problems
    assert q.column == "lat" and "the data are from the northern hemisphere" in q.message
    # a longitude in the other hemisphere: the header time zone no longer fits it
    (q,) = refused(write_epw(tmp_path / "east.epw", header, rows, {"lon": "77.558"})).problems
    assert "time zone UTC-5 h does not fit the longitude 77.558" in q.message


def tmy3_lines():
    return GREENSBORO.read_text(encoding="utf-8").splitlines()


def test_tmy3_without_time_zone_is_a_clear_error(tmp_path):
    lines = tmy3_lines()
    f = next(csv.reader([lines[0]]))
    f[3] = ""
    p = tmp_path / "notz.csv"
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerow(f)
    p.write_text(buf.getvalue() + "\n".join(lines[1:]) + "\n")
    (q,) = refused(p).problems  # was "could not convert string to float: ''"
    assert (q.line, q.column) == (1, "TZ (field 4)")
    assert q.message == ("the time zone is empty; expected the UTC offset of local standard time [h], e.g. -5 "
                         "for US Eastern Standard Time")
    p.write_text(",".join(f[:3]) + "\n" + "\n".join(lines[1:]) + "\n")
    msgs = [q.message for q in refused(p).problems]
    assert msgs[0].startswith("the time zone is missing; expected the UTC offset")


# ------------------------------------------------------------------ 6. located errors, encodings


def test_cp1252_station_name_is_read_and_undecodable_bytes_located(epw, reference, tmp_path):
    header, rows = epw
    h = list(header)
    h[0] = h[0].replace("Leesburg.Exec.AP-Godfrey.Field", "Zürich")
    p = tmp_path / "cp.epw"
    p.write_bytes("\n".join(h + [",".join(r) for r in rows]).encode("cp1252") + b"\n")
    with pytest.warns(UserWarning, match=r"cp.epw: not UTF-8 \(byte 0xfc at byte offset 10, line 1\); read as "
                                         r"Windows-1252"):
        ds = read_weather(p)
    assert ds["name"].item() == "Zürich"
    np.testing.assert_array_equal(ds["ghi"].values, reference["ghi"].values)
    p.write_bytes(p.read_bytes().replace(b"Z\xfcrich", b"Z\x81rich"))
    err = refused(p, DataFormatError)
    assert str(err) == f"{p}: not UTF-8 text (byte 0x81 at byte offset 10, line 1), nor Windows-1252; save the " \
                       "file as UTF-8"
    b = tmp_path / "bin.epw"
    b.write_bytes(b"LOCATION," + bytes(range(256)))
    assert "a NUL byte at byte offset 9 (line 1); this is a binary file" in str(refused(b, DataFormatError))


def test_all_problems_of_a_file_at_once(epw, tmp_path):
    header, rows = epw
    bad = scaled(rows, [13], 1e-3)
    bad[100][FIELD["temp_air"]] = "99.9"      # the EPW missing code
    bad[200][FIELD["hour"]] = "x"             # was a ValueError from pvlib, not located
    p = write_epw(tmp_path / "many.epw", header, bad, {"tz": "14"})
    tz, q = refused(p).problems  # a row that cannot be read stops the file before its values are read
    assert (tz.line, tz.column) == (1, "TimeZone (LOCATION field 9)")
    assert (q.row, q.line, q.column) == (201, 209, "hour (field 4)")
    assert q.message == "expected a whole number (hour (field 4)), found 'x'"
    bad[200][FIELD["hour"]] = rows[200][FIELD["hour"]]
    probs = refused(write_epw(tmp_path / "many2.epw", header, bad, {"tz": "14"})).problems
    got = {(q.column, q.variable) for q in probs}
    assert got == {("TimeZone (LOCATION field 9)", None), ("Global Horizontal Radiation (field 14)", "ghi"),
                   (None, "temp_air")}


def test_tmy3_bad_date_rows_are_located(tmp_path):
    lines = tmy3_lines()
    lines[2 + 10] = lines[2 + 10].replace("01/01/1988", "1988-01-01", 1)
    p = tmp_path / "date.csv"
    p.write_text("\n".join(lines) + "\n")
    (q,) = refused(p).problems
    assert (q.row, q.line, q.column) == (11, 13, "Date (MM/DD/YYYY)")
    assert "expected a date MM/DD/YYYY and a time HH:MM, found '1988-01-01'" in q.message


# ------------------------------------------------------------------ 7. fuzzing


def contract(path):
    """read_weather returns a weather Dataset or raises a powerfirst error naming the file."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            ds = read_weather(path)
    except (ValidationError, DataFormatError) as exc:
        assert isinstance(exc, PowerfirstError)
        assert str(path) in str(exc), str(exc)[:300]
        return None
    assert ds.sizes["time"] == 8760
    for v in ("ghi", "dni", "dhi", "temp_air", "wind_speed"):
        assert np.isfinite(ds[v].values).all()
    return ds


@FUZZ
@given(data=st.binary(max_size=3000), suffix=st.sampled_from([".epw", ".csv", ".tm2", ".nc", ".dat"]))
def test_fuzz_random_bytes(tmp_path, data, suffix):
    p = tmp_path / f"r{uuid.uuid4().hex}{suffix}"
    p.write_bytes(data)
    assert contract(p) is None


@FUZZ
@given(data=st.data())
def test_fuzz_truncated_files_are_refused(shared, reference, tmp_path, data):
    src = data.draw(st.sampled_from([shared / LEESBURG, GREENSBORO]))
    raw = src.read_bytes()
    cut = data.draw(st.integers(0, len(raw)))
    p = fresh(tmp_path, src.name)
    p.write_bytes(raw[:cut])
    ds = contract(p)
    if ds is not None:  # only the final line terminator (or nothing) cut away
        assert raw[cut:].strip() == b""
        if src.suffix == ".epw":
            np.testing.assert_array_equal(ds["ghi"].values, reference["ghi"].values)


@FUZZ_SLOW
@given(data=st.data())
def test_fuzz_tmy3_shuffled_columns_read_the_same(greensboro, tmp_path, data):
    lines = tmy3_lines()
    rows = list(csv.reader(lines[1:]))
    order = data.draw(st.permutations(range(len(rows[0]))))
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows([[r[k] for k in order] for r in rows])
    p = fresh(tmp_path, "723170TYA.CSV")
    p.write_text(lines[0] + "\n" + buf.getvalue())
    ds = contract(p)
    if order[0] != 0:  # a TMY3 file is recognised by its second line, which starts with the date column
        assert ds is None
        return
    assert ds is not None
    ref = greensboro
    for v in ("ghi", "dni", "dhi", "temp_air", "wind_speed", "pressure"):
        np.testing.assert_array_equal(ds[v].values, ref[v].values)


NASTY = st.sampled_from(["", " ", "x", "nan", "inf", "1e400", "9999", "99.9", "-1", "1,5", "1.5.1", "12 W",
                         "0x10", "١٢", "700", "  250 ", "+3", "1e2", "-0", "999999", "1600", "61"])
VALID = {"ghi": (0, 1500), "dni": (0, 1500), "dhi": (0, 1000), "temp_air": (-70, 60), "wind_speed": (0, 75),
         "pressure": (30000, 110000)}
MISSING = {"ghi": 9999.0, "dni": 9999.0, "dhi": 9999.0, "temp_air": 99.9, "wind_speed": 999.0, "pressure": 999999.0}


@FUZZ
@given(data=st.data())
def test_fuzz_one_epw_cell_never_silently_reinterpreted(epw, reference, tmp_path, data):
    header, rows = epw
    var = data.draw(st.sampled_from(list(FIELD)))
    i = data.draw(st.integers(0, len(rows) - 1))
    text = data.draw(NASTY | st.text(alphabet=st.characters(blacklist_characters=",\r\n"), max_size=8))
    bad = [list(r) for r in rows]
    bad[i][FIELD[var]] = text
    ds = contract(write_epw(fresh(tmp_path, "Leesburg.epw"), header, bad))
    if ds is None:
        return
    if var in ("month", "day", "hour"):  # read only if the field still says the same calendar hour
        assert float(text) == float(rows[i][FIELD[var]])
        np.testing.assert_array_equal(ds["ghi"].values, reference["ghi"].values)
        return
    x = float(text)  # anything that is not a number must have been refused
    lo, hi = VALID[var]
    assert np.isfinite(x) and lo <= x <= hi and x != MISSING[var]
    j = (i + 5) % 8760  # EPW row i is the hour ending i + 1, EST (UTC-5): UTC hour i + 5
    assert ds[var].values[0, j] == x
    others = np.delete(ds[var].values[0], j)
    np.testing.assert_array_equal(others, np.delete(reference[var].values[0], j))


@FUZZ
@given(kind=st.sampled_from(["irradiance_kw", "temp_kelvin", "temp_fahrenheit", "pressure_hpa", "ghi_only_kw",
                             "none"]))
def test_fuzz_swapped_units_are_refused(epw, tmp_path, kind):
    header, rows = epw
    change = {"irradiance_kw": ([13, 14, 15], 1e-3, 0.0), "ghi_only_kw": ([13], 1e-3, 0.0),
              "temp_kelvin": ([6], 1.0, 273.15), "temp_fahrenheit": ([6], 1.8, 32.0),
              "pressure_hpa": ([9], 0.01, 0.0), "none": ([], 1.0, 0.0)}[kind]
    p = write_epw(fresh(tmp_path, "units.epw"), header, scaled(rows, *change))
    ds = contract(p)
    assert (ds is None) == (kind != "none")
