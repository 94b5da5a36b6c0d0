import numpy as np
import pandas as pd
import pytest
import xarray as xr

from powerfirst import units
from powerfirst.errors import ValidationError
from powerfirst.schema import check, grids, validate, variables


def grid_cube(n_ba=2, hours=48):
    t = pd.date_range("2024-01-01", periods=hours, freq="h")
    demand = np.full((n_ba, hours), 1000.0)
    return xr.Dataset(
        {"demand": (("ba", "time"), demand, {"units": "MW", "long_name": "electricity demand"})},
        coords={"ba": ["PJM", "MISO"][:n_ba], "time": t},
        attrs={"pf_kind": "grid"},
    )


def test_valid_grid_cube_passes():
    ds = grid_cube()
    assert check(ds) == []
    assert validate(ds) is ds


def test_every_problem_reported_at_once():
    ds = grid_cube()
    ds["demand"].attrs["units"] = "GW"
    ds["demand"][0, 3] = -5.0
    ds["extra"] = (("ba",), [1.0, 2.0])  # no units, no long_name
    ds = ds.isel(time=[0, 1, 3, 4])  # not hourly
    with pytest.raises(ValidationError) as exc:
        validate(ds, values=True)
    msg = str(exc.value)
    assert "units 'GW' do not match the schema's 'MW'" in msg
    assert "variable 'extra'" in msg and "no 'units' attribute" in msg
    assert "time is not hourly" in msg and "2024-01-01 01:00:00 -> 2024-01-01 03:00:00" in msg
    assert len(exc.value.problems) >= 4


def test_missing_required_variable_and_nan():
    ds = grid_cube().rename({"demand": "load"})
    problems = check(ds)
    assert any(p.variable == "demand" and "required variable missing" in p.message for p in problems)
    ds = grid_cube()
    ds["demand"][1, 5] = np.nan
    problems = check(ds, values=True)
    assert any("1 missing (NaN) values" in p.message for p in problems)


def test_value_checks_skip_lazy_unless_asked():
    ds = grid_cube()
    ds["demand"][0, 0] = -1.0
    lazy = ds.chunk({"ba": 1})
    assert check(lazy) == []  # 'auto' does not compute a Dask cube
    assert any("below the valid minimum" in p.message for p in check(lazy, values=True))


def test_unknown_kind_and_timezone_aware_time():
    ds = grid_cube()
    assert "unknown cube kind" in check(ds, "nonsense")[0].message
    ds2 = ds.assign_coords(time=ds.indexes["time"].tz_localize("UTC"))
    assert any("timezone-naive" in p.message for p in check(ds2))


def test_schema_tables_consistent():
    v = variables()
    for name, row in v.iterrows():
        units.canonical(row["units"])  # every schema unit is known
        assert row["long_name"], name
    g = grids()
    for code in ("PJM", "MISO", "ERCO", "SWPP", "CISO", "NYIS", "ISNE", "SOCO", "TVA", "FPL", "DUK", "CPLE",
                 "FPC", "SCEG", "SC", "BPAT", "AZPS", "PACE", "PACW", "PGE", "PSCO", "SRP"):
        assert g.at[code, "country"] == "US"
    import zoneinfo

    for tz in g["timezone"]:
        zoneinfo.ZoneInfo(tz)


def test_accessor_describe_and_validate():
    ds = grid_cube()
    table = ds.pf.describe()
    assert table.loc["demand", "units"] == "MW"
    assert table.loc["demand", "max"] == 1000.0
    assert ds.pf.validate() is ds
