"""Future hourly load: profile shift, growth, new data-centre load, schema, bad inputs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from _forecast_data import synthetic_load

from powerfirst.errors import ValidationError
from powerfirst.models.forecast.annual import demand_cube
from powerfirst.models.forecast.future_load import (
    datacentre_load_from_cube,
    future_hourly_load,
    shift_to_year,
)
from powerfirst.schema import validate


@pytest.fixture(scope="module")
def load():
    a = synthetic_load(days=2 * 365 + 1, name="AAA")
    b = synthetic_load(days=2 * 365 + 1, name="BBB", seed=3) * 0.5
    return xr.DataArray(np.stack([a.to_numpy(), b.to_numpy()]), dims=("ba", "time"),
                        coords={"ba": ["AAA", "BBB"], "time": a.index}, attrs={"units": "MW"})


def test_shift_keeps_weekdays(load):
    s = load.sel(ba="AAA").to_series()
    s = s[s.index.year == 2017]
    out = shift_to_year(s, 2030)
    assert len(out) == 8760 and out.index[0] == pd.Timestamp("2030-01-01")
    # a shifted hour comes from the same weekday and hour of the reference year
    src_value = out[pd.Timestamp("2030-05-15 13:00")]
    match = s[(s == src_value)]
    assert (match.index.day_of_week == pd.Timestamp("2030-05-15").day_of_week).all()
    assert (match.index.hour == 13).all()


def test_future_load_is_growth_plus_datacentre(load):
    fl = future_hourly_load(load, [2030], growth={"AAA": 0.01, "BBB": 0.0}, datacentre_mw=250.0,
                            scenarios=["x"], datacentre_shape=np.r_[np.ones(12), 3 * np.ones(12)])
    validate(fl, "forecast")
    ref = load.sel(ba="AAA", time=slice("2017", "2017")).mean().item()
    ex = fl["existing_load"].sel(ba="AAA", scenario="x").mean().item()
    assert ex == pytest.approx(ref * 1.01**13, rel=1e-3)
    dc = fl["datacentre_load"].sel(ba="BBB", scenario="x")
    assert dc.mean().item() == pytest.approx(250.0)
    assert dc.sel(time="2030-01-01 18:00").item() == pytest.approx(375.0)  # shape normalised to mean 1
    np.testing.assert_allclose(fl["future_load"], fl["existing_load"] + fl["datacentre_load"])
    assert fl.attrs["reference_year"] == 2017


def test_future_load_from_the_demand_cube(load):
    cube = demand_cube(["Base", "Headwinds"], ["US"], range(2024, 2031))
    dc = datacentre_load_from_cube(cube, {"AAA": 0.05, "BBB": 0.01})
    assert dc.sel(year=2024).max().item() == 0.0 and dc.attrs["units"] == "MW"
    assert (dc.sel(year=2030, scenario="Base") > dc.sel(year=2030, scenario="Headwinds")).all()
    fl = future_hourly_load(load, [2028, 2030], growth=0.005, datacentre_mw=dc, scenarios=["Base", "Headwinds"])
    assert dict(fl.sizes) == {"ba": 2, "time": 8784 + 8760, "scenario": 2}
    peak = fl["future_load"].max("time")
    assert (peak.sel(scenario="Base") > peak.sel(scenario="Headwinds")).all()


def test_future_load_bad_inputs(load):
    with pytest.raises(ValidationError, match=r"reference year 2010 is not a complete year"):
        future_hourly_load(load, [2030], reference_year=2010)
    with pytest.raises(ValidationError, match=r"datacentre_mw has no value for balancing authorities \['BBB'\]"):
        future_hourly_load(load, [2030], datacentre_mw={"AAA": 10.0})
    gappy = load.copy()
    gappy[0, 9000] = np.nan
    with pytest.raises(ValidationError, match=r"'AAA'.*NaN in the reference year 2017"):
        future_hourly_load(gappy, [2030])
    short = load.isel(time=slice(0, 1000))
    with pytest.raises(ValidationError, match="no complete year"):
        future_hourly_load(short, [2030])
