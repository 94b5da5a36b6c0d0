"""EIA-930 loaders against the real files in ../shared/data/eia930 and small synthetic cases."""

import warnings

import numpy as np
import pandas as pd
import pytest

from powerfirst.cubes.grid import flag_report, read_eia930
from powerfirst.errors import DataFormatError, ValidationError
from powerfirst.io.eia930 import detect_format
from powerfirst.io.screening import FLAGS
from powerfirst.schema import check

FORMATS = "eia930/formats"


def formats_files(shared):
    root = shared / FORMATS
    return sorted(p for p in root.rglob("*") if p.is_file() and p.suffix in (".csv", ".json", ".yaml"))


@pytest.mark.realdata
def test_every_format_sample_reads(shared):
    files = formats_files(shared)
    assert len(files) >= 18
    for f in files:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ds = read_eia930(f)
        assert ds.sizes["time"] > 0, f
        assert ds.attrs["pf_kind"] == "grid"
        for v in ds.data_vars:
            assert ds[v].attrs["units"] in ("MW", "1"), (f, v)


@pytest.mark.realdata
def test_balance_csv_thousands_and_end_of_hour(shared):
    ds = read_eia930(shared / FORMATS / "eia930_balance_csv/balance_file.csv")
    # row 1: UTC end of hour 07/01/2020 6:00 AM -> hour beginning 05:00 UTC; forecast "1,060"
    t = pd.Timestamp("2020-07-01 05:00")
    assert ds["demand"].sel(ba="AEC", time=t).item() == 497
    assert ds["demand_forecast"].sel(ba="AEC", time=t).item() == 1060
    assert ds["net_generation"].sel(ba="AEC", time=t).item() == 681
    assert ds["total_interchange"].sel(ba="AEC", time=t).item() == 184
    # the fuel columns add up to net generation (139 + 536 + 1 + 5 = 681)
    assert ds["generation"].sel(ba="AEC", time=t).sum().item() == 681
    assert ds.sizes["time"] == 9


@pytest.mark.realdata
def test_api_v2_strings_and_cassette_agree(shared):
    a = read_eia930(shared / FORMATS / "api_v2_json/eia_oregon_demand.response0.json")
    b = read_eia930(shared / FORMATS / "api_v2_json/ring_attention_cassettes/eia_oregon_demand.yaml")
    assert a.sizes["time"] == 169
    # period 2023-01-01T00 is the hour ending 00:00 UTC -> starts 2022-12-31 23:00
    assert a["demand"].sel(ba="PACW", time="2022-12-31 23:00").item() == 2455
    np.testing.assert_array_equal(a["demand"].values, b["demand"].values)
    g = read_eia930(shared / FORMATS / "api_v2_json/eia_oregon_renewable.response0.json")
    assert set(g["fuel"].values) >= {"SUN", "WND", "WAT"}
    # real negative wind values are kept as reported (net generation can be negative)
    assert (g["generation"].sel(fuel="WND") < 0).sum().item() == 47


@pytest.mark.realdata
def test_api_v2_nulls_stay_missing(shared):
    ds = read_eia930(shared / FORMATS / "api_v2_json/electricitymaps_mocks/US-NW-PGE-with-nulls.json")
    vals = ds["generation"].sel(ba="PGE", fuel="NG").values
    assert np.isnan(vals[0]) and vals[1] == 400


@pytest.mark.realdata
def test_eba_series_utc_and_local_give_same_hours(shared):
    h = read_eia930(shared / FORMATS / "eba_v1_series_json/EBA.MISO-ALL.NG.H.json")
    hl = read_eia930(shared / FORMATS / "eba_v1_series_json/EBA.MISO-ALL.NG.HL.json")
    common = np.intersect1d(h.time.values, hl.time.values)
    assert common.size == 18
    np.testing.assert_array_equal(h["net_generation"].sel(time=common).values,
                                  hl["net_generation"].sel(time=common).values)
    # "20220305T05Z" ends the hour 04:00-05:00 UTC
    assert h["net_generation"].sel(ba="MISO", time="2022-03-05 04:00").item() == 65189


@pytest.mark.realdata
def test_ruggles_stamps_are_end_of_hour(shared):
    """The cleaned release labels AEC's 497 MW at 06:00 - the balance file's end-of-hour UTC stamp."""
    bal = read_eia930(shared / FORMATS / "eia930_balance_csv/balance_file.csv")
    rel = read_eia930(shared / "eia930/ruggles_release_2025_Jan/DERIVED_wide_cleaned_demand_MW_119regions_2020_2024.csv.gz",
                      bas=["AEC"], start="2020-07-01", end="2020-07-02")
    np.testing.assert_array_equal(rel["demand"].sel(ba="AEC", time=bal.time).values,
                                  bal["demand"].sel(ba="AEC").values)


@pytest.mark.realdata
def test_interchange_csv(shared):
    ds = read_eia930(shared / FORMATS / "eia930_interchange_csv/interchange_file.csv")
    assert ds["interchange"].sel(ba="AECI", counterparty="MISO", time="2022-01-01 06:00").item() == -391


@pytest.mark.realdata
def test_raw_iso_files_flag_spikes_empty_and_zeros(shared):
    raw = shared / "eia930/ruggles_release_2025_Jan/original_eia_files"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = read_eia930([raw / f"{b}.csv" for b in ("PJM", "SWPP", "NYIS")])
    fl = ds["flag"]
    spike = FLAGS["SPIKE_HIGH"]
    # the two named spikes (file stamps 2021-10-19 04:00 and 2023-06-13 02:00 end the hour)
    assert ds["demand_raw"].sel(ba="PJM", time="2021-10-19 03:00").item() == 2_147_480_000
    assert fl.sel(ba="PJM", time="2021-10-19 03:00").item() & spike
    assert ds["demand_raw"].sel(ba="SWPP", time="2023-06-13 01:00").item() == 3_621_097
    assert fl.sel(ba="SWPP", time="2023-06-13 01:00").item() & spike
    # the spike is never used: the filled value is of the BA's usual size
    assert 50_000 < ds["demand"].sel(ba="PJM", time="2021-10-19 03:00").item() < 120_000
    assert ds["demand"].max().item() < 200_000
    # 115 EMPTY + 1 MISSING cells in PJM, all flagged EMPTY and filled
    empty = (fl.sel(ba="PJM") & FLAGS["EMPTY"]) > 0
    assert int(empty.sum()) == 116
    assert np.isfinite(ds["demand"].sel(ba="PJM").values).all()
    # NYIS zeros
    zeros = (fl.sel(ba="NYIS") & FLAGS["ZERO"]) > 0
    assert int(zeros.sum()) == 3
    assert ds["demand_raw"].sel(ba="NYIS").where(zeros, drop=True).max().item() == 0
    assert (fl & FLAGS["FILLED"]).astype(bool).sum() >= 116 + 3 + 2
    assert check(ds, values=True) == []
    rep = flag_report(ds)
    assert len(rep) == int((fl > 0).sum())
    assert {"ba", "time", "flag_names", "demand_raw", "demand"} <= set(rep.columns)


@pytest.mark.realdata
def test_isone_dst_days(shared):
    root = shared / FORMATS / "gridstatus_isone_dst"
    spring = read_eia930(sorted(root.glob("*202403*.json")))
    fall = read_eia930(sorted(root.glob("*202411*.json")))
    # 24 + 23 local hours and 24 + 25 local hours are contiguous in UTC: nothing missing
    assert spring.sizes["time"] == 47 and fall.sizes["time"] == 49
    assert int((spring["flag"] > 0).sum()) == 0 and int((fall["flag"] > 0).sum()) == 0
    # both 01:00 local hours of 2024-11-03 are present: 05:00 UTC (EDT) and 06:00 UTC (EST)
    assert fall["demand"].sel(ba="ISNE", time="2024-11-03 05:00").item() == pytest.approx(10073.077)
    assert fall["demand"].sel(ba="ISNE", time="2024-11-03 06:00").item() == pytest.approx(9951.317)


@pytest.mark.realdata
def test_local_time_file_with_dst_duplicates_and_gaps(shared):
    """PJM East: local prevailing time, hour ending, with repeated and missing DST hours."""
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        ds = read_eia930(shared / "pjm_east_hourly_2002_2018/PJME_hourly.csv", format="tidy",
                         time_column="Datetime", value_column="PJME_MW", ba="PJM", tz="America/New_York",
                         time_convention="hour-ending", dayfirst=True)
    d = ds["demand"].sel(ba="PJM")
    # the repeated 02:00 (hour ending) of 2014-11-02 is EDT 05:00-06:00 UTC then EST 06:00-07:00 UTC
    assert ds["demand_raw"].sel(ba="PJM", time="2014-11-02 05:00").item() == 22935
    assert ds["demand_raw"].sel(ba="PJM", time="2014-11-02 06:00").item() == 23755
    fl = ds["flag"].sel(ba="PJM")
    missing = (fl & FLAGS["MISSING"]) > 0
    assert 0 < int(missing.sum()) < 40
    assert np.isfinite(d.values).all()
    assert ds.sizes["time"] == len(pd.date_range(ds.time.values[0], ds.time.values[-1], freq="h"))
    assert check(ds, values=True) == []
    # no hour silently dropped: every source row is either on the axis or reported
    n_rows = 145_366
    n_on_axis = int((~missing).sum())
    set_aside = flag_report(ds).query("flag_names == 'SET_ASIDE'")
    assert n_on_axis + len(set_aside) == n_rows
    assert all("DST" in str(x.message) or "duplicated" in str(x.message) or "gaps" in str(x.message)
               for x in w if issubclass(x.category, UserWarning)) or not w


def test_screening_synthetic_defects(hourly_index):
    t = hourly_index("2024-01-01", 24 * 20)
    base = 1000 + 200 * np.sin(2 * np.pi * np.arange(t.size) / 24)
    df = pd.DataFrame({"time": t, "ba": "PJM", "demand_mw": base.round(1).astype(object)})
    df.loc[100, "demand_mw"] = "EMPTY"
    df.loc[200, "demand_mw"] = 0
    df.loc[300, "demand_mw"] = 2_147_480_000
    df.loc[310, "demand_mw"] = base[310] * 1.8  # a local spike
    df = df.drop(index=range(400, 410))  # ten hours missing
    return_ = read_tidy_frame(df)
    fl = return_["flag"].sel(ba="PJM").values
    assert fl[100] & FLAGS["EMPTY"]
    assert fl[200] & FLAGS["ZERO"]
    assert fl[300] & FLAGS["SPIKE_HIGH"]
    assert fl[310] & FLAGS["SPIKE_HIGH"]
    assert all(fl[400:410] & FLAGS["MISSING"])
    d = return_["demand"].sel(ba="PJM").values
    good = fl == 0
    assert np.allclose(d[good], base[good], atol=0.1)
    # filled values are close to the clean series (it is smooth and periodic)
    filled = (fl & FLAGS["FILLED"]) > 0
    assert filled.sum() == 14
    assert np.max(np.abs(d[filled] - base[filled])) < 25


def read_tidy_frame(df, tmp=None):
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "tidy.csv"
        df.assign(time=df["time"].dt.strftime("%Y-%m-%d %H:%M")).to_csv(p, index=False)
        # toy sizes (1,000 MW) under a real BA code: the check against PJM's known peak is off
        return read_eia930(p, check_magnitude=False)


def test_bad_inputs(tmp_path):
    p = tmp_path / "x.csv"
    p.write_text("foo,bar\n1,2\n")
    with pytest.raises(DataFormatError, match="format not recognised from the header"):
        read_eia930(p)
    p2 = tmp_path / "tidy.csv"
    p2.write_text("time,ba,demand_mw\n2024-01-01 00:00,PJM,100\nnot-a-time,PJM,200\n2024-01-01 02:00,PJM,abc\n")
    with pytest.raises(ValidationError) as exc:
        read_eia930(p2)
    msg = str(exc.value)
    assert "row 2, column 'time': could not read 'not-a-time'" in msg
    assert "row 3, column 'demand_mw': could not read 'abc'" in msg
    p3 = tmp_path / "resp.json"
    p3.write_text('{"response": {"data": [{"period": "2024-01-01T00", "respondent": "X", "type": "Q", '
                  '"value": "1"}]}}')
    with pytest.raises(ValidationError, match=r"unknown type codes \['Q'\]"):
        read_eia930(p3)
    with pytest.raises(FileNotFoundError):
        read_eia930(tmp_path / "nope.csv")
    p4 = tmp_path / "j.json"
    p4.write_text('{"hello": 1}')
    with pytest.raises(DataFormatError, match="neither an EIA API v2 response"):
        detect_format(p4)


def test_duplicate_utc_rows_kept_first_and_reported(tmp_path):
    p = tmp_path / "tidy.csv"
    p.write_text("time,ba,demand_mw\n2024-01-01 00:00,PJM,100\n2024-01-01 01:00,PJM,110\n"
                 "2024-01-01 01:00,PJM,999\n2024-01-01 02:00,PJM,120\n")
    with pytest.warns(UserWarning, match="duplicated"):
        ds = read_eia930(p, screen=True, check_magnitude=False)  # toy sizes under a real BA code
    assert ds["demand_raw"].sel(ba="PJM", time="2024-01-01 01:00").item() == 110
    assert ds["flag"].sel(ba="PJM", time="2024-01-01 01:00").item() & FLAGS["DUPLICATE"]
    rep = flag_report(ds)
    assert (rep["flag_names"] == "SET_ASIDE").sum() == 1
