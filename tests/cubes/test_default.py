"""build_energy_store: the energy cube streamed to Zarr block by block, checked before computing."""

import numpy as np
import pytest
import xarray as xr

import powerfirst as pf
from powerfirst.cubes import default as D
from powerfirst.cubes.energy import build_energy_cube
from powerfirst.io.store import write_zarr_blocks


def test_streamed_store_equals_the_cube_computed_in_memory(tmp_path):
    sites = pf.demo_sites().isel(site=slice(0, 21))
    out = D.build_energy_store(sites, tmp_path / "e.zarr", chunk_sites=4, progress=False)
    got = pf.read_zarr(out).compute()
    want = build_energy_cube(sites, chunk_sites=4).compute()
    for v in want.data_vars:
        np.testing.assert_array_equal(got[v].values, want[v].values, err_msg=v)
    assert list(got["site"].values) == list(want["site"].values)
    assert got["weather_station"].values.tolist() == want["weather_station"].values.tolist()


def test_output_checked_before_anything_is_computed(tmp_path, monkeypatch):
    project = tmp_path / "projectA"
    (project / "raw").mkdir(parents=True)
    (project / "README.txt").write_text("notes")
    (project / "raw" / "measurements.csv").write_text("a,b\n1,2\n")
    called = []
    monkeypatch.setattr("powerfirst.cubes.energy.build_energy_cube", lambda *a, **k: called.append(1))
    with pytest.raises(ValueError, match="README.txt"):
        D.build_energy_store("demo", project, progress=False)
    assert called == []
    assert (project / "README.txt").read_text() == "notes"
    assert (project / "raw" / "measurements.csv").exists()


def test_a_bad_block_aborts_the_write_and_leaves_nothing(tmp_path):
    ds = xr.Dataset({"x": (("site", "time"), np.arange(40.0).reshape(10, 4))},
                    coords={"site": [f"s{i}" for i in range(10)]}).chunk({"site": 2})

    def check(block):
        if (block["x"] > 30).any():
            raise ValueError(f"x above 30 at {block['site'].values.tolist()}")

    with pytest.raises(ValueError, match="x above 30"):
        write_zarr_blocks(ds, tmp_path / "o.zarr", batch=3, check=check)
    assert list(tmp_path.iterdir()) == []  # no store, no temporary left
    out = write_zarr_blocks(ds, tmp_path / "o.zarr", batch=3)
    np.testing.assert_array_equal(pf.read_zarr(out)["x"].values, ds["x"].values)


def test_size_estimate():
    assert D.estimate_bytes(100_000, 11) == 100_000 * 8760 * 11 * 8
