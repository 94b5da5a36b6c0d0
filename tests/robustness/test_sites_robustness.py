"""Implausible and malformed site files: each is refused with file, row, column and value, or read right.

The bad inputs are generated here in ``tmp_path`` (no shipped files beyond
``data/demo/sites.csv``).  The fuzzing half asserts the contract of
:func:`powerfirst.read_sites` on random and damaged inputs: it returns a
Dataset, or raises a powerfirst error (ValidationError / DataFormatError)
whose message names the file — never another exception type, and never a
silently reinterpreted number.
"""

import csv
import io
import json
import os
import uuid
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from powerfirst.errors import DataFormatError, PowerfirstError, ValidationError
from powerfirst.io.sites import check_sites_file, read_sites

HEADER = "site_id,name,lat,lon,country,ba,target_mw"
# 50 examples per fuzz test by default; POWERFIRST_FUZZ_EXAMPLES=1000 for a longer hunt
FUZZ = settings(max_examples=int(os.environ.get("POWERFIRST_FUZZ_EXAMPLES", "50")), deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])


DEMO = (Path(__file__).resolve().parents[2] / "data" / "demo" / "sites.csv").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def demo_text():
    return DEMO


def write(tmp_path, name, content):
    p = tmp_path / name
    if isinstance(content, bytes):
        p.write_bytes(content)
    else:
        p.write_text(content, encoding="utf-8")
    return p


def problems(path):
    with pytest.raises(ValidationError) as exc:
        read_sites(path)
    assert str(path) in str(exc.value)
    return exc.value.problems


def feature(lon, lat, **props):
    base = {"site_id": "A", "name": "a", "country": "US", "ba": "PJM", "target_mw": 10}
    return {"type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, lat]},
            "properties": {**base, **props}}


def collection(*features):
    return json.dumps({"type": "FeatureCollection", "features": list(features)})


# ------------------------------------------------------------------ numbers written the wrong way


def test_decimal_comma_is_refused_with_row_column_and_value(tmp_path):
    p = write(tmp_path, "s.csv", f'{HEADER},substation_distance_km\n'
                                 'A,a,39.05,-77.45,US,PJM,"19,5",2\n'
                                 'B,b,39.05,-77.45,US,PJM,10,"1,5"\n')
    probs = problems(p)
    assert [(q.row, q.line, q.column) for q in probs] == [(1, 2, "target_mw"), (2, 3, "substation_distance_km")]
    assert "found '19,5', a decimal comma; write 19.5, with a decimal point" in str(probs[0])
    assert "expected a number [km], found '1,5', a decimal comma; write 1.5" in str(probs[1])


@pytest.mark.parametrize("value, says", [
    ("1,200", "found '1,200', which is ambiguous: 1200 with a thousands separator, or 1.200 with a decimal "
              "comma; write the number with a decimal point and no thousands separator"),
    ("1,234,567", "found '1,234,567' with thousands separators; write 1234567, without them"),
    ("1.200,5", "European digit grouping (thousands '.', decimal ','); write 1200.5"),
    ("1_000", "found '1_000'; write it without '_'"),
    ("120 MW", "found '120 MW'; write the number alone, in MW"),
])
def test_separators_and_units_in_numbers_are_refused(tmp_path, value, says):
    p = write(tmp_path, "s.csv", f'{HEADER}\nA,a,39.05,-77.45,US,PJM,"{value}"\n')
    (q,) = problems(p)
    assert (q.row, q.column) == (1, "target_mw")
    assert says in q.message


@pytest.mark.parametrize("value, says", [
    ("1e300", "value 1e+300 is implausibly large: above 10000 MW, the plausible maximum for one site"),
    ("25000", "value 25000 is implausibly large: above 10000 MW"),
    ("inf", "expected a finite number [MW], found 'inf'"),
    ("-inf", "expected a finite number [MW], found '-inf'"),
    ("NaN", "required value is empty (found 'NaN')"),
])
def test_overflow_infinity_and_nan_are_refused(tmp_path, value, says):
    p = write(tmp_path, "s.csv", f"{HEADER}\nA,a,39.05,-77.45,US,PJM,{value}\n")
    (q,) = problems(p)
    assert (q.row, q.column) == (1, "target_mw")
    assert says in q.message


def test_plausible_maximum_is_schema_data():
    from powerfirst.schema import site_attributes

    spec = site_attributes()
    assert spec.at["target_mw", "plausible_max"] == 10000
    assert "implausible for one site" in spec.at["target_mw", "description"]


@pytest.mark.parametrize("value, says", [
    (True, "expected a number [MW], found a boolean (True); a true/false value is not a quantity"),
    (1e300, "value 1e+300 is implausibly large"),
    (float("inf"), "expected a finite number [MW], found inf"),
    (float("nan"), "required value is empty (found nan)"),
])
def test_parquet_wrong_types_and_overflow(tmp_path, value, says):
    p = tmp_path / "s.parquet"
    pd.DataFrame({"site_id": ["A"], "name": ["a"], "lat": [39.05], "lon": [-77.45], "country": ["US"],
                  "ba": ["PJM"], "target_mw": [value]}).to_parquet(p)
    (q,) = problems(p)
    assert (q.row, q.column) == (1, "target_mw")
    assert says in q.message


def test_geojson_boolean_and_huge_integer(tmp_path):
    p = write(tmp_path, "s.geojson", collection(feature(-77.45, 39.05, target_mw=False),
                                                feature(-77.45, 39.05, site_id="B", target_mw=10 ** 400)))
    a, b = problems(p)
    assert (a.row, a.column) == (1, "target_mw") and "found a boolean (False)" in a.message
    assert (b.row, b.column) == (2, "target_mw") and "which is too large for a number" in b.message


# ------------------------------------------------------------------ swapped coordinates


def test_geojson_lat_lon_swapped_is_detected(tmp_path):
    p = write(tmp_path, "s.geojson", collection(
        feature(39.05, -77.45),                                                        # [lat, lon] in PJM
        feature(50.11, 8.68, site_id="F", country="DE", ba="DE-LU"),                   # [lat, lon] Frankfurt
        feature(-6.26, 53.35, site_id="D", country="IE", ba="IE-SEM")))                # right: [lon, lat]
    a, b = problems(p)
    assert (a.row, a.column) == (1, "geometry")
    assert a.message == ("coordinates look swapped: lat -77.45, lon 39.05 lies outside the area of PJM "
                         "(lat 24.51 to 49.39, lon -124.74 to -66.98) but lat 39.05, lon -77.45 lies inside; "
                         "GeoJSON positions are [lon, lat] (RFC 7946): write [-77.45, 39.05]")
    assert (b.row, b.column) == (2, "geometry") and "outside the area of DE-LU" in b.message


def test_swapped_columns_flag_every_demo_site(tmp_path, demo_text):
    rows = list(csv.reader(io.StringIO(demo_text)))
    i, j = rows[0].index("lat"), rows[0].index("lon")
    rows[0][i], rows[0][j] = "lon", "lat"
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    probs = problems(write(tmp_path, "swapped.csv", buf.getvalue()))
    swapped = {q.row for q in probs if "coordinates look swapped" in q.message and "swap the lat and lon" in
               q.message}
    assert swapped == set(range(1, len(rows)))


def test_sites_near_their_box_edges_are_not_called_swapped(tmp_path):
    # Key West (FL), Point Roberts (WA), Malin Head (IE), Gavdos (GR): real places at the edges of their boxes
    p = write(tmp_path, "s.csv", f"{HEADER}\nKW,k,24.55,-81.78,US,FPL,1\nPR,p,48.99,-123.07,US,BPAT,1\n"
                                 "MH,m,55.38,-7.37,IE,IE-SEM,1\nGV,g,34.84,24.08,GR,GR,1\n")
    assert read_sites(p).sizes["site"] == 4


# ------------------------------------------------------------------ files that are not what they say


def test_geojson_top_level_array_is_a_located_format_error(tmp_path):
    p = write(tmp_path, "s.geojson", json.dumps([feature(-77.45, 39.05)]))
    with pytest.raises(DataFormatError) as exc:
        read_sites(p)
    assert str(exc.value) == (f"{p}: expected a GeoJSON FeatureCollection object, found a JSON array of 1 "
                              'item; wrap the features as {"type": "FeatureCollection", "features": [...]}')


def test_geojson_features_of_the_wrong_shape_are_all_reported(tmp_path):
    p = write(tmp_path, "s.geojson", collection(
        7, feature(-77.45, 39.05, site_id="OK"),
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": "39,-77"}, "properties": {"site_id": "C"}},
        {"type": "Feature", "geometry": None, "properties": ["not", "an", "object"]}))
    probs = problems(p)
    got = {(q.row, q.column) for q in probs}
    assert (1, None) in got and (3, "geometry") in got and (4, "geometry") in got and (4, "properties") in got
    assert not any(q.row == 2 for q in probs)
    assert not any(q.column in ("lat", "lon") for q in probs)  # no second report of the missing Point
    assert "row 1: expected a GeoJSON Feature object, found a JSON number" in str(probs[0])


def test_csv_field_over_the_csv_limit_is_located(tmp_path):
    p = write(tmp_path, "s.csv", f'{HEADER}\nA,a,39,-77,US,PJM,10\nB,"unclosed {"x" * 200_000}\n')
    with pytest.raises(DataFormatError) as exc:
        read_sites(p)
    msg = str(exc.value)
    assert msg.startswith(f"{p}, line 3: a field longer than 131,072 characters (the CSV field limit)")
    assert "a quote (\") opened and never closed" in msg


def test_excel_cp1252_csv_is_decoded_and_the_encoding_recorded(tmp_path):
    text = f"{HEADER}\nM1,München Süd,48.14,11.58,DE,DE-LU,12\n"
    p = write(tmp_path, "excel.csv", text.encode("cp1252"))
    with pytest.warns(UserWarning, match=r"not UTF-8 \(byte 0xfc at byte offset 46 \(line 2\)\); read as "
                                         r"Windows-1252"):
        ds = read_sites(p)
    assert ds["name"].item() == "München Süd"
    assert ds.attrs["source_encoding"] == "cp1252"
    q = write(tmp_path, "utf8.csv", ("\ufeff" + text).encode("utf-8"))
    assert read_sites(q).attrs["source_encoding"] == "utf-8"


def test_undecodable_text_is_a_located_error(tmp_path):
    # 0x81 is undefined in Windows-1252 too
    p = write(tmp_path, "s.csv", f"{HEADER}\nA,a\x81b,39,-77,US,PJM,10\n".encode("latin-1"))
    with pytest.raises(DataFormatError, match=r"s.csv: not UTF-8 text \(byte 0x81 at byte offset 45 \(line 2\)\), "
                                              r"nor Windows-1252; save the file as UTF-8"):
        read_sites(p)
    g = write(tmp_path, "s.geojson", collection(feature(-77, 39, name="Zürich")).encode("utf-8")
              .replace(b"Z\\u00fcrich", "Zürich".encode("latin-1")))
    with pytest.raises(DataFormatError, match=r"s.geojson: not UTF-8 text \(byte 0xfc at byte offset \d+ "
                                              r"\(line 1\)\); GeoJSON files are UTF-8"):
        read_sites(g)


@pytest.mark.parametrize("name, content, says", [
    ("empty.csv", "", "the file is empty; expected a header row with site_id"),
    ("blank.csv", "\n  \n", "the file is empty"),
    ("header.csv", HEADER + "\n", "only a header row (line 1) and no site rows; expected one row per site"),
    ("book.csv", b"PK\x03\x04\x14\x00\x06\x00" + bytes(200), "not a CSV text file but a ZIP archive (an Excel "
                                                              ".xlsx workbook?); save the sheet as 'CSV UTF-8'"),
    ("table.csv", b"PAR1" + bytes(200), "not a CSV text file but a Parquet file; name it .parquet"),
    ("noise.csv", bytes(range(256)) * 4, "line 1: a NUL byte at byte offset 0; this is a binary file"),
    ("empty.geojson", "", "the file is empty; expected a GeoJSON FeatureCollection"),
    ("none.geojson", collection(), "the FeatureCollection has no features"),
    ("bad.geojson", '{"type": "FeatureCollection", "features": [', "line 1 column 44: not valid JSON (Expecting value)"),
    ("deep.geojson", "[" * 50_000 + "]" * 50_000, "JSON nested too deeply"),
    ("bad.parquet", b"PAR1 not really", "not a readable Parquet file"),
])
def test_empty_header_only_and_binary_files_are_located_errors(tmp_path, name, content, says):
    p = write(tmp_path, name, content)
    with pytest.raises(DataFormatError) as exc:
        read_sites(p)
    assert str(exc.value).startswith(str(p))
    assert says in str(exc.value)
    (q,) = check_sites_file(p)
    assert q.file == str(p) and says in q.message and not q.message.startswith(str(p))


def test_header_problems_duplicated_unnamed_and_reserved_columns(tmp_path):
    p = write(tmp_path, "s.csv", f"{HEADER},lat,,site\nA,a,39,-77,US,PJM,10,1,x,y\n")
    msgs = [str(q) for q in problems(p)]
    assert any(f"{p}, line 1, column 'lat': column appears more than once in the header (fields 3 and 8)" in m
               for m in msgs)
    assert any("field 9 of the header has no name, but rows hold values in it" in m for m in msgs)
    assert any("column 'site': column name reserved for the site dimension" in m for m in msgs)
    # a trailing delimiter (an unnamed, empty column) is harmless
    ok = write(tmp_path, "trailing.csv", f"{HEADER},\nA,a,39,-77,US,PJM,10,\n")
    assert read_sites(ok).sizes["site"] == 1


def test_semicolon_csv_is_read_and_its_decimal_commas_reported(tmp_path):
    p = write(tmp_path, "s.csv", HEADER.replace(",", ";") + "\nA;a;48,14;11,58;DE;DE-LU;12\n")
    probs = problems(p)
    assert [q.column for q in probs] == ["lat", "lon"]
    ok = write(tmp_path, "ok.csv", HEADER.replace(",", ";") + "\nA;a;48.14;11.58;DE;DE-LU;12\n")
    assert read_sites(ok).attrs["source_delimiter"] == ";"


def test_all_problems_of_a_file_at_once(tmp_path):
    p = write(tmp_path, "s.csv", f'{HEADER}\nA,a,39,-77,US,PJM,"19,5"\nB,b,39\nC,c,-77,39,US,PJM,true\n')
    got = {(q.row, q.column) for q in problems(p)}
    assert got == {(1, "target_mw"), (2, None), (3, "lat"), (3, "target_mw")}


# ------------------------------------------------------------------ fuzzing


def assert_contract(path):
    """read_sites returns a site Dataset or raises a powerfirst error that names the file."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            ds = read_sites(path)
    except (ValidationError, DataFormatError) as exc:
        assert isinstance(exc, PowerfirstError)
        assert str(path) in str(exc), str(exc)[:300]
        return None
    assert isinstance(ds, xr.Dataset) and ds.sizes["site"] >= 1
    assert np.isfinite(ds["target_mw"].values).all()
    return ds


@FUZZ
@given(data=st.binary(max_size=3000), suffix=st.sampled_from([".csv", ".geojson", ".parquet"]))
def test_fuzz_random_bytes(tmp_path, data, suffix):
    assert_contract(write(tmp_path, f"r{uuid.uuid4().hex}{suffix}", data))


@FUZZ
@given(data=st.data())
def test_fuzz_truncated_demo_file(tmp_path, data):
    raw = DEMO.encode("utf-8")
    cut = data.draw(st.integers(0, len(raw)))
    assert_contract(write(tmp_path, f"t{uuid.uuid4().hex}.csv", raw[:cut]))


@FUZZ
@given(data=st.data())
def test_fuzz_shuffled_columns_give_the_same_sites(tmp_path, data):
    rows = list(csv.reader(io.StringIO(DEMO)))
    order = data.draw(st.permutations(range(len(rows[0]))))
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows([[r[k] for k in order] for r in rows])
    ds = assert_contract(write(tmp_path, f"p{uuid.uuid4().hex}.csv", buf.getvalue()))
    ref = read_sites(write(tmp_path, f"ref{uuid.uuid4().hex}.csv", DEMO))
    assert ds is not None
    xr.testing.assert_equal(ds.drop_attrs(), ref.drop_attrs())


NASTY = st.sampled_from(["19,5", "1,5", "1,200", "1.200,5", "1_000", "12 MW", "", "nan", "inf", "-1", "1e300",
                         "true", "ü", '"', "0x10", "1e-320", "  7 ", "١٢", "10000.5", "∞"])


@FUZZ
@given(data=st.data())
def test_fuzz_one_cell_never_silently_reinterpreted(tmp_path, data):
    rows = list(csv.reader(io.StringIO(DEMO)))
    header = rows[0]
    col = data.draw(st.sampled_from(["lat", "lon", "target_mw", "substation_distance_km", "storage_option_mwh",
                                     "tier", "ba", "country", "site_id"]))
    r = data.draw(st.integers(1, len(rows) - 1))
    value = data.draw(NASTY | st.text(max_size=12))
    rows[r][header.index(col)] = value
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    ds = assert_contract(write(tmp_path, f"c{uuid.uuid4().hex}.csv", buf.getvalue()))
    if ds is not None and col in ("target_mw", "substation_distance_km", "storage_option_mwh", "lat", "lon"):
        got = float(ds[col].isel(site=r - 1))
        if value.strip().lower() not in ("", "nan", "na", "null", "none"):
            assert got == float(value.strip())  # read as written, or refused: never 19,5 -> 195


@FUZZ
@given(factor=st.sampled_from([1e3, 1e6, -1.0, 0.001]), col=st.sampled_from(["target_mw", "storage_option_mwh",
                                                                           "land_ha", "substation_distance_km"]))
def test_fuzz_wrong_units_are_refused_or_scaled_exactly(tmp_path, factor, col):
    df = pd.read_csv(io.StringIO(DEMO), keep_default_na=False, dtype=str)
    df[col] = [repr(float(v) * factor) if v else v for v in df[col]]
    p = tmp_path / f"u{uuid.uuid4().hex}.parquet"
    df.to_parquet(p)
    ds = assert_contract(p)
    if factor == 0.001:  # plausible: read exactly as written
        ref = read_sites(write(tmp_path, f"ref{uuid.uuid4().hex}.csv", DEMO))
        np.testing.assert_allclose(ds[col].values, ref[col].values * factor)
        return
    # kW as MW, W as MW, a sign flip: the demo's largest values leave the plausible range
    assert ds is None
    with pytest.raises(ValidationError, match="implausibly large|negative value"):
        read_sites(p)


JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                                 max_size=4),
                    max_leaves=20)
FEATURE = st.fixed_dictionaries({"type": st.just("Feature") | JSON,
                                 "geometry": st.fixed_dictionaries(
                                     {"type": st.sampled_from(["Point", "Polygon"]) | JSON,
                                      "coordinates": st.lists(st.floats() | JSON, max_size=3) | JSON}) | JSON,
                                 "properties": st.fixed_dictionaries(
                                     {"site_id": JSON, "name": JSON, "country": st.just("US") | JSON,
                                      "ba": st.just("PJM") | JSON, "target_mw": JSON}) | JSON})


@FUZZ
@given(doc=st.fixed_dictionaries({"type": st.just("FeatureCollection") | JSON,
                                  "features": st.lists(FEATURE | JSON, max_size=4) | JSON}) | JSON)
def test_fuzz_geojson_structure(tmp_path, doc):
    assert_contract(write(tmp_path, f"g{uuid.uuid4().hex}.geojson", json.dumps(doc)))


@FUZZ
@given(values=st.lists(st.one_of(st.booleans(), st.integers(-10 ** 6, 10 ** 6), st.floats(), st.text(max_size=6),
                                 st.none(), st.binary(max_size=4)), min_size=1, max_size=4),
       col=st.sampled_from(["target_mw", "lat", "lon", "tier", "site_id"]))
def test_fuzz_parquet_cell_types(tmp_path, values, col):
    n = len(values)
    df = pd.DataFrame({"site_id": [f"S{i}" for i in range(n)], "name": ["x"] * n, "lat": [39.05] * n,
                       "lon": [-77.45] * n, "country": ["US"] * n, "ba": ["PJM"] * n, "target_mw": [10.0] * n})
    df[col] = pd.Series(values, dtype=object)
    p = tmp_path / f"q{uuid.uuid4().hex}.parquet"
    try:
        df.to_parquet(p)
    except Exception:  # noqa: BLE001 - pyarrow cannot store this mix: nothing to read
        return
    assert_contract(p)
