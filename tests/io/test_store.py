import numpy as np
import pandas as pd
import pytest
import xarray as xr

from powerfirst.errors import OutputExistsError
from powerfirst.io.store import read_netcdf, read_zarr, write_netcdf, write_zarr


def cube():
    t = pd.date_range("2024-01-01", periods=24, freq="h")
    return xr.Dataset({"demand": (("ba", "time"), np.arange(48.0).reshape(2, 24),
                                  {"units": "MW", "long_name": "electricity demand"})},
                      coords={"ba": ["A", "B"], "time": t}, attrs={"pf_kind": "grid"})


def test_zarr_round_trip_is_exact_and_lazy(tmp_path):
    ds = cube()
    path = write_zarr(ds.chunk({"ba": 1}), tmp_path / "c.zarr")
    back = read_zarr(path)
    assert back["demand"].chunks is not None
    xr.testing.assert_identical(back.compute(), ds)


def test_zarr_replace_is_atomic_on_failure(tmp_path, monkeypatch):
    target = tmp_path / "c.zarr"
    write_zarr(cube(), target)
    bad = cube()

    def boom(*a, **k):
        raise RuntimeError("disk full")

    monkeypatch.setattr(xr.Dataset, "to_zarr", boom)
    with pytest.raises(RuntimeError, match="disk full"):
        write_zarr(bad.assign(demand=bad.demand * 2), target, overwrite=True)
    monkeypatch.undo()
    # the old store is intact and no temporary store is left beside it
    xr.testing.assert_identical(read_zarr(target).compute(), cube())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.zarr"]


def test_zarr_overwrite_replaces(tmp_path):
    target = tmp_path / "c.zarr"
    write_zarr(cube(), target)
    new = cube().assign(demand=cube().demand + 1)
    with pytest.raises(OutputExistsError, match="already holds a Zarr store written by powerfirst; pass "
                                                "overwrite=True to replace it"):
        write_zarr(new, target)
    write_zarr(new, target, overwrite=True)
    xr.testing.assert_identical(read_zarr(target).compute(), new)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.zarr"]


def test_netcdf_export_and_missing(tmp_path):
    path = write_netcdf(cube(), tmp_path / "c.nc")
    back = read_netcdf(path).load()
    np.testing.assert_array_equal(back["demand"].values, cube()["demand"].values)
    with pytest.raises(FileNotFoundError, match="no Zarr store at"):
        read_zarr(tmp_path / "nope.zarr")


def test_accessor_to_zarr(tmp_path):
    path = cube().pf.to_zarr(tmp_path / "x.zarr")
    assert read_zarr(path)["demand"].attrs["units"] == "MW"
