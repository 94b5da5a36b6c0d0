import numpy as np
import pytest
import xarray as xr

from powerfirst.units import UnitError, canonical, convert, scale


@pytest.mark.parametrize(("value", "src", "dst", "expected"), [
    (1.5, "GW", "MW", 1500.0),
    (2.0, "TWh", "MWh", 2e6),
    (0.0, "degC", "K", 273.15),
    (300.0, "K", "degC", 26.85),
    (45.0, "%", "1", 0.45),
    (24.0, "month", "year", 2.0),
    (400.0, "gCO2 kWh-1", "tCO2 MWh-1", 0.4),
])
def test_convert(value, src, dst, expected):
    assert convert(value, src, dst) == pytest.approx(expected)


def test_aliases_and_errors():
    assert canonical("megawatthours") == "MWh"
    assert canonical("W/m2") == "W m-2"
    with pytest.raises(UnitError, match="unknown unit 'furlongs'"):
        canonical("furlongs")
    with pytest.raises(UnitError, match="cannot convert 'MW' \\(power\\) to 'MWh' \\(energy\\)"):
        convert(1.0, "MW", "MWh")
    with pytest.raises(UnitError, match="offset"):
        scale("degC", "K")


def test_convert_dataarray_keeps_lazy_and_sets_units():
    da = xr.DataArray(np.arange(4.0), dims="x", attrs={"units": "GW", "long_name": "p"}).chunk(2)
    out = convert(da, "GW", "MW")
    assert out.chunks is not None
    assert out.attrs["units"] == "MW" and out.attrs["long_name"] == "p"
    np.testing.assert_allclose(out.values, [0, 1000, 2000, 3000])
