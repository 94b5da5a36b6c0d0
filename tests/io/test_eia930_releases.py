import numpy as np
import pandas as pd
import pytest

from powerfirst.cubes.grid import read_cleaned_releases
from powerfirst.errors import DataFormatError, ValidationError
from powerfirst.io.eia930_releases import NORRIS_BAS
from powerfirst.schema import check

# peaks of the cleaned 2020_Oct release (2015-07 .. 2020-06) as stated in ../shared/data/eia930/SOURCE.md
PEAKS_2020_OCT = {"PJM": 152890, "MISO": 119733, "ERCO": 74533, "SWPP": 51524, "CISO": 49899,
                  "SOCO": 45745, "NYIS": 32076, "TVA": 32511, "ISNE": 25763, "DUK": 21608}


@pytest.mark.realdata
def test_stitched_cube_shape_and_sources(norris_grid):
    ds = norris_grid
    assert list(ds.ba.values) == list(NORRIS_BAS)
    assert str(ds.time.values[0]) .startswith("2016-01-01T00")
    # the 2025 release ends with the hour ending 2024-12-31 23:00 UTC
    assert str(ds.time.values[-1]).startswith("2024-12-31T22")
    assert np.isfinite(ds["demand"].values).all()
    assert check(ds, values=True) == []
    assert "PJM: 2020_Oct:PJM.csv, 2025_Jan:sum_of_subregions" in ds.attrs["source_by_ba"]


@pytest.mark.realdata
def test_peaks_match_the_release(norris_grid):
    d = norris_grid["demand"].sel(time=slice("2016-01-01", "2019-12-31 23:00"))
    for ba, peak in PEAKS_2020_OCT.items():
        # our window starts in 2016, so a peak before 2016 could be missed: <= and close
        assert d.sel(ba=ba).max().item() <= peak
    assert d.sel(ba="PJM").max().item() == 152890


@pytest.mark.realdata
def test_iso_totals_from_subregions_after_cut(shared, norris_grid):
    wide = pd.read_csv(shared / "eia930/ruggles_release_2025_Jan/DERIVED_wide_cleaned_demand_MW_119regions_2020_2024.csv.gz",
                       usecols=["date_time_utc", "MISO_SUM_OF_SUBREGIONS"], index_col=0, parse_dates=True)
    t = pd.Timestamp("2022-07-20 21:00")  # hour beginning -> file stamp 22:00
    assert norris_grid["demand"].sel(ba="MISO", time=t).item() == wide.loc[t + pd.Timedelta("1h")].iloc[0]
    # the raw ISO total is screened and kept beside it
    assert np.isfinite(norris_grid["demand_raw"].sel(ba="MISO", time=t).item())


@pytest.mark.realdata
def test_forecast_only_in_2020_release(norris_grid):
    f = norris_grid["demand_forecast"].sel(ba="PJM")
    assert np.isfinite(f.sel(time="2018-07-01 12:00").item())
    assert np.isnan(f.sel(time="2022-07-01 12:00").item())


@pytest.mark.realdata
def test_unknown_ba_and_bad_root(shared, tmp_path):
    with pytest.raises(ValidationError, match="'XYZ': not in the 2020_Oct release"):
        read_cleaned_releases(shared / "eia930", bas=["XYZ"], start="2019-12-01", end="2020-02-01")
    with pytest.raises(DataFormatError, match="no folder of the Ruggles et al. release"):
        read_cleaned_releases(tmp_path)
