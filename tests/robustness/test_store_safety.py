"""Outputs never destroy a user's files: what write_zarr / write_netcdf refuse, and when they check.

Every case builds its own target in ``tmp_path``.  Each refusal must leave the
target untouched, leave no temporary or ``.old-`` sibling behind, name the
path and what was found there, and say how to fix it.
"""

import errno
import json
import os
import re
import socket
import tempfile
import time

import dask
import dask.array
import numpy as np
import pandas as pd
import pytest
import xarray as xr

from powerfirst.errors import OutputExistsError, OutputNotWritableError, PowerfirstError
from powerfirst.io.store import (
    STALE_AFTER_S,
    check_output,
    check_writable,
    read_netcdf,
    read_zarr,
    write_netcdf,
    write_zarr,
)

# foreign stores written here hold fixed-width strings, which zarr warns about
pytestmark = pytest.mark.filterwarnings("ignore:The data type .* does not have a Zarr V3 specification")


def cube(offset=0.0):
    t = pd.date_range("2024-01-01", periods=24, freq="h")
    return xr.Dataset({"demand": (("ba", "time"), np.arange(48.0).reshape(2, 24) + offset,
                                  {"units": "MW", "long_name": "electricity demand"})},
                      coords={"ba": ["A", "B"], "time": t}, attrs={"pf_kind": "grid"})


def never_computed():
    """A lazy cube whose computation raises: a write that computes before checking fails loudly."""

    def boom(block):
        raise AssertionError("the cube was computed before the output was checked")

    data = dask.array.zeros((2, 24), chunks=(1, 24)).map_blocks(boom, dtype=float, meta=np.array((), dtype=float))
    return cube().assign(demand=(("ba", "time"), data, {"units": "MW", "long_name": "electricity demand"}))


def tree(folder):
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def user_project(tmp_path):
    proj = tmp_path / "projectA"
    (proj / "raw").mkdir(parents=True)
    (proj / "README.txt").write_text("my notes\n")
    (proj / "raw" / "measurements.csv").write_text("t,mw\n0,1\n")
    return proj


# ------------------------------------------------------------------ things powerfirst did not write


@pytest.mark.parametrize("overwrite", [False, True])
def test_a_folder_of_user_files_is_never_replaced(tmp_path, overwrite):
    proj = user_project(tmp_path)
    before = tree(tmp_path)
    with pytest.raises(OutputExistsError) as exc:
        write_zarr(cube(), str(proj) + "/", overwrite=overwrite)
    msg = str(exc.value)
    assert str(proj) in msg
    assert "was not written by powerfirst" in msg
    assert "found a folder holding README.txt, raw/" in msg
    assert "choose another output path, or move or remove" in msg
    assert tree(tmp_path) == before  # nothing removed, nothing hidden beside it
    assert (proj / "raw" / "measurements.csv").read_text() == "t,mw\n0,1\n"


def test_a_regular_file_at_the_target_is_kept_and_not_hidden(tmp_path):
    target = tmp_path / "results.zarr"
    target.write_text("a file the user named like a store")
    with pytest.raises(OutputExistsError, match=r"results.zarr already exists and was not written by "
                                                r"powerfirst: found a file \(34 bytes\)"):
        write_zarr(cube(), target, overwrite=True)
    assert target.read_text() == "a file the user named like a store"
    assert [p.name for p in tmp_path.iterdir()] == ["results.zarr"]  # no .old- copy


def test_a_zarr_store_of_another_program_is_refused_even_with_overwrite(tmp_path):
    target = tmp_path / "theirs.zarr"
    cube().to_zarr(target, consolidated=False)
    with pytest.raises(OutputExistsError, match="a Zarr store without the 'powerfirst_store' or "
                                                "'powerfirst_version' root attribute"):
        write_zarr(cube(1.0), target, overwrite=True)
    xr.testing.assert_identical(xr.open_zarr(target, consolidated=False).compute(), cube())


def test_a_symbolic_link_is_not_replaced(tmp_path):
    real = tmp_path / "real.zarr"
    write_zarr(cube(), real)
    link = tmp_path / "link.zarr"
    link.symlink_to(real)
    with pytest.raises(OutputExistsError, match="a symbolic link to"):
        write_zarr(cube(1.0), link, overwrite=True)
    assert link.is_symlink()


@pytest.mark.parametrize("content", [b"station,temp\nA,1\n", None])
def test_netcdf_refuses_a_file_it_did_not_write(tmp_path, content):
    target = tmp_path / "export.nc"
    if content is None:  # a NetCDF file of another program
        cube().to_netcdf(target)
        found = "a NetCDF file of another program"
    else:
        target.write_bytes(content)
        found = "a file (17 bytes)"
    before = target.read_bytes()
    with pytest.raises(OutputExistsError, match=re.escape(f"found {found}")):
        write_netcdf(cube(1.0), target, overwrite=True)
    assert target.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["export.nc"]


def test_refused_before_anything_is_computed(tmp_path):
    proj = user_project(tmp_path)
    with pytest.raises(OutputExistsError):
        write_zarr(never_computed(), proj)
    with pytest.raises(OutputExistsError):
        check_output(proj, overwrite=True)


# ------------------------------------------------------------------ stores powerfirst wrote


def test_replacing_a_powerfirst_store_needs_overwrite(tmp_path):
    target = tmp_path / "c.zarr"
    write_zarr(cube(), target)
    with pytest.raises(OutputExistsError) as exc:
        write_zarr(cube(1.0), target)
    assert str(exc.value) == (f"{target} already holds a Zarr store written by powerfirst; pass "
                              "overwrite=True to replace it, or choose another output path")
    xr.testing.assert_identical(read_zarr(target).compute(), cube())
    write_zarr(cube(1.0), target, overwrite=True)
    xr.testing.assert_identical(read_zarr(target).compute(), cube(1.0))
    assert [p.name for p in tmp_path.iterdir()] == ["c.zarr"]


def test_the_marker_is_in_the_store_and_not_in_the_cube(tmp_path):
    target = tmp_path / "c.zarr"
    write_zarr(cube(), target)
    root = json.loads((target / "zarr.json").read_text())
    assert root["attributes"]["powerfirst_store"] == "1"
    assert "powerfirst_store" not in read_zarr(target).attrs
    nc = write_netcdf(cube(), tmp_path / "c.nc")
    assert "powerfirst_store" not in read_netcdf(nc).attrs
    with xr.open_dataset(nc) as raw:
        assert raw.attrs["powerfirst_store"] == "1"


@pytest.mark.parametrize("zarr_format", [2, 3])
def test_stores_of_earlier_versions_are_recognised_by_powerfirst_version(tmp_path, zarr_format):
    target = tmp_path / "old.zarr"
    cube().assign_attrs(powerfirst_version="0.3.0").to_zarr(target, consolidated=False,
                                                            zarr_format=zarr_format)
    with pytest.raises(OutputExistsError, match=r"written by powerfirst 0\.3\.0; pass overwrite=True"):
        write_zarr(cube(1.0), target)
    write_zarr(cube(1.0), target, overwrite=True)
    np.testing.assert_array_equal(read_zarr(target)["demand"].values, cube(1.0)["demand"].values)


def test_netcdf_replacing_its_own_file_needs_overwrite(tmp_path):
    target = tmp_path / "c.nc"
    write_netcdf(cube(), target)
    with pytest.raises(OutputExistsError, match="already holds a NetCDF file written by powerfirst; pass "
                                                "overwrite=True"):
        write_netcdf(cube(1.0), target)
    write_netcdf(cube(1.0), target, overwrite=True)
    np.testing.assert_array_equal(read_netcdf(target)["demand"].values, cube(1.0)["demand"].values)


def test_an_empty_folder_or_file_holds_nothing_to_lose(tmp_path):
    (tmp_path / "made-by-mkdir.zarr").mkdir()
    write_zarr(cube(), tmp_path / "made-by-mkdir.zarr")
    (tmp_path / "touched.nc").touch()
    write_netcdf(cube(), tmp_path / "touched.nc")
    xr.testing.assert_identical(read_zarr(tmp_path / "made-by-mkdir.zarr").compute(), cube())


def test_accessor_passes_overwrite(tmp_path):
    target = tmp_path / "x.zarr"
    cube().pf.to_zarr(target)
    with pytest.raises(OutputExistsError, match="pass overwrite=True"):
        cube(1.0).pf.to_zarr(target)
    cube(1.0).pf.to_zarr(target, overwrite=True)
    assert float(read_zarr(target)["demand"][0, 0]) == 1.0


def test_output_errors_are_oserrors_and_valueerrors():
    assert issubclass(OutputExistsError, FileExistsError)
    assert issubclass(OutputNotWritableError, PermissionError)
    for cls in (OutputExistsError, OutputNotWritableError):
        assert issubclass(cls, ValueError) and issubclass(cls, PowerfirstError)


# ------------------------------------------------------------------ writable before computing


def test_read_only_folder_is_reported_before_computing(tmp_path, monkeypatch):
    folder = tmp_path / "ro"
    folder.mkdir()

    def read_only(*args, **kwargs):  # what the OS answers on a read-only mount
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(tempfile, "mkstemp", read_only)
    with pytest.raises(OutputNotWritableError) as exc:
        write_zarr(never_computed(), folder / "sub" / "out.zarr")
    assert str(exc.value) == (f"cannot write {folder / 'sub' / 'out.zarr'}: the folder {folder} is on a "
                              "read-only file system; choose an output path in a folder you can write to")
    with pytest.raises(OutputNotWritableError, match="read-only file system"):
        write_netcdf(cube(), folder / "out.nc")
    assert list(folder.iterdir()) == []


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0,
                    reason="needs POSIX permissions and a non-root user (root writes anywhere)")
def test_folder_without_write_permission(tmp_path):
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        with pytest.raises(OutputNotWritableError, match="is not writable"):
            check_writable(folder / "out.zarr")
    finally:
        folder.chmod(0o755)


def test_parent_that_is_a_file(tmp_path):
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(OutputNotWritableError, match=r"notes.txt is a file, not a folder"):
        write_zarr(never_computed(), tmp_path / "notes.txt" / "out.zarr")
    assert check_writable(tmp_path / "new" / "deeper" / "out.zarr") == str(tmp_path / "new" / "deeper" /
                                                                          "out.zarr")
    assert not (tmp_path / "new").exists()  # the check creates nothing


# ------------------------------------------------------------------ stale temporaries


def host_tag():
    return re.sub(r"[^A-Za-z0-9]", "", socket.gethostname())[:16]


def dead_pid():
    pid = 2 ** 22 - 1
    while pid > 1:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return pid
        except OSError:
            pass
        pid -= 1
    pytest.skip("no free pid found")


@pytest.mark.skipif(os.name != "posix", reason="pid liveness is checked on POSIX only")
def test_stale_temporaries_of_killed_writes_are_removed(tmp_path):
    target = tmp_path / "c.zarr"
    old = time.time() - STALE_AFTER_S - 60
    dead = tmp_path / f".c.zarr.tmp-{host_tag()}-{dead_pid()}-0123abcd"    # writer killed
    alive = tmp_path / f".c.zarr.tmp-{host_tag()}-{os.getpid()}-89abcdef"  # writer running (us)
    legacy_old = tmp_path / ".c.zarr.tmp-deadbeef"                          # no pid, two hours old
    legacy_new = tmp_path / ".c.zarr.tmp-cafecafe"                          # no pid, fresh
    old_copy = tmp_path / f".c.zarr.old-{host_tag()}-{dead_pid()}-00000000"  # killed mid-swap
    other = tmp_path / ".other.zarr.tmp-deadbeef"                           # another target's
    for p in (dead, alive, legacy_old, legacy_new, old_copy, other):
        p.mkdir()
        (p / "zarr.json").write_text("{}")
    for p in (legacy_old, other):
        os.utime(p / "zarr.json", (old, old))
        os.utime(p, (old, old))
    write_zarr(cube(), target)
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == sorted(["c.zarr", alive.name, legacy_new.name, other.name])
