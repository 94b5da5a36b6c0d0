import json

import numpy as np
import pandas as pd
import pytest

from powerfirst import demo_sites
from powerfirst.errors import DataFormatError, ValidationError
from powerfirst.io.sites import check_sites_file, read_sites, sites_to_frame
from powerfirst.schema import check

GOOD = """site_id,name,lat,lon,country,ba,target_mw,tier,workload
S1,One,39.05,-77.45,US,PJM,120,regional,inference
S2,Two,32.78,-96.80,US,ERCO,1200.0,core,training
S3,Three,53.35,-6.26,IE,IE-SEM,40,edge,edge
"""


def test_read_csv_builds_site_dataset(tmp_path):
    p = tmp_path / "sites.csv"
    p.write_text(GOOD)
    ds = read_sites(p)
    assert list(ds.site.values) == ["S1", "S2", "S3"]
    assert ds["target_mw"].attrs["units"] == "MW"
    assert ds["target_mw"].sel(site="S2").item() == 1200.0
    assert ds["ba"].sel(site="S3").item() == "IE-SEM"
    # defaults filled from the schema table
    assert ds["upgrade_class"].sel(site="S1").item() == "substation"
    assert ds["firm_headroom_mw"].sel(site="S1").item() == 0.0
    assert check(ds, "sites") == []


def test_thousands_separator_is_ambiguous_and_refused(tmp_path):
    p = tmp_path / "sites.csv"
    p.write_text(GOOD.replace("1200.0", '"1,200"'))
    with pytest.raises(ValidationError, match=r"row 2 \(line 3\), column 'target_mw': expected a number \[MW\], "
                                              r"found '1,200', which is ambiguous: 1200 with a thousands separator, "
                                              r"or 1.200 with a decimal comma"):
        read_sites(p)


def test_five_kinds_of_error_all_reported(repo):
    with pytest.raises(ValidationError) as exc:
        read_sites(repo / "tests" / "data" / "sites_five_errors.csv")
    probs = exc.value.problems
    got = {(p.row, p.line, p.column) for p in probs}
    assert got == {(2, 3, "lat"), (3, 4, "target_mw"), (4, 5, "ba"), (5, 6, "site_id"), (6, 7, "country")}
    text = str(exc.value)
    assert "value 95 above 90" in text
    assert "negative value -50" in text
    assert "unknown balancing authority / bidding zone 'XYZ'" in text
    assert "duplicated site_id 'OK-1' (first at row 1)" in text
    assert "unknown country code 'QQ'" in text


def test_missing_required_columns(tmp_path):
    p = tmp_path / "s.csv"
    p.write_text("site_id,name,lat\nA,B,1\n")
    with pytest.raises(ValidationError) as exc:
        read_sites(p)
    cols = {q.column for q in exc.value.problems}
    assert cols == {"lon", "country", "ba", "target_mw"}


def test_ba_country_mismatch_and_case_hint(tmp_path):
    p = tmp_path / "s.csv"
    p.write_text("site_id,name,lat,lon,country,ba,target_mw\nA,a,50,8,DE,PJM,1\nB,b,39,-77,US,pjm,1\n")
    msgs = [str(q) for q in check_sites_file(p)]
    assert any("'PJM' is in US, but country is 'DE'" in m for m in msgs)
    assert any("did you mean 'PJM'?" in m for m in msgs)


def test_geojson_and_parquet_round_trip(tmp_path):
    src = tmp_path / "sites.csv"
    src.write_text(GOOD)
    ds = read_sites(src)
    df = sites_to_frame(ds)
    pq = tmp_path / "sites.parquet"
    df.to_parquet(pq)
    ds_pq = read_sites(pq)
    np.testing.assert_allclose(ds_pq["target_mw"].values, ds["target_mw"].values)
    feats = [{"type": "Feature", "geometry": {"type": "Point", "coordinates": [r.lon, r.lat]},
              "properties": {k: v for k, v in r._asdict().items() if k not in ("lat", "lon")}}
             for r in pd.read_csv(src).itertuples(index=False)]
    gj = tmp_path / "sites.geojson"
    gj.write_text(json.dumps({"type": "FeatureCollection", "features": feats}))
    ds_gj = read_sites(gj)
    np.testing.assert_allclose(ds_gj["lat"].values, ds["lat"].values)


def test_geojson_bad_geometry_reported_with_feature_number(tmp_path):
    gj = tmp_path / "s.geojson"
    gj.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": {"type": "Polygon", "coordinates": []}, "properties": {"site_id": "A"}}]}))
    with pytest.raises(ValidationError, match="row 1, column 'geometry': expected a Point geometry"):
        read_sites(gj)


def test_bad_file_types(tmp_path):
    with pytest.raises(FileNotFoundError, match="site file not found"):
        read_sites(tmp_path / "missing.csv")
    p = tmp_path / "s.xlsx"
    p.write_text("x")
    with pytest.raises(DataFormatError, match="unknown site-file type '.xlsx'"):
        read_sites(p)
    e = tmp_path / "empty.csv"
    e.write_text("")
    with pytest.raises(DataFormatError, match="the file is empty"):
        read_sites(e)
    r = tmp_path / "ragged.csv"
    r.write_text("site_id,name,lat,lon,country,ba,target_mw\nA,a,1,2\n")
    with pytest.raises(ValidationError, match="expected 7 fields as in the header, found 4"):
        read_sites(r)


def test_demo_sites_cover_the_22_bas_and_europe():
    ds = demo_sites()
    assert ds.sizes["site"] >= 150
    bas = set(ds["ba"].values)
    for ba in ("PJM", "MISO", "ERCO", "SWPP", "CISO", "NYIS", "ISNE", "SOCO", "TVA", "FPL", "DUK", "CPLE",
               "FPC", "SCEG", "SC", "BPAT", "AZPS", "PACE", "PACW", "PGE", "PSCO", "SRP"):
        assert ba in bas
    assert len({c for c in ds["country"].values if c != "US"}) >= 5
    assert check(ds, "sites") == []


def test_none_is_a_value_of_text_attributes(tmp_path):
    p = tmp_path / "s.csv"
    p.write_text("site_id,name,lat,lon,country,ba,target_mw,upgrade_class,land_status,firm_headroom_mw\n"
                 "A,a,39,-77,US,PJM,10,none,none,none\n")
    ds = read_sites(p)
    assert ds["upgrade_class"].item() == "none" and ds["land_status"].item() == "none"
    assert ds["firm_headroom_mw"].item() == 0.0  # an empty number takes the schema default
