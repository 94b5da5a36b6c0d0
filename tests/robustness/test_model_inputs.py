"""Models check the value ranges of the cubes they are given (a cube need not have been validated)."""

import pytest

import powerfirst as pf
from powerfirst.errors import ValidationError


def test_dispatch_refuses_a_capacity_factor_of_two(small_sites, energy_factory):
    energy = energy_factory(small_sites)
    energy["solar_cf"][:, 4000:4010] = 2.0
    with pytest.raises(ValidationError) as exc:
        pf.dispatch(energy, small_sites)
    text = str(exc.value)
    site = str(small_sites["site"].values[0])
    assert f"variable 'solar_cf', '{site}'" in text
    assert "10 hours above the valid maximum 1.2 [1] (maximum 2)" in text


def test_dispatch_refuses_out_of_range_values_all_at_once(small_sites, energy_factory):
    energy = energy_factory(small_sites)
    energy["pue"][0, 10] = 0.5
    energy["carbon_intensity"][1, 20] = -5.0
    with pytest.raises(ValidationError) as exc:
        pf.dispatch(energy, small_sites)
    cols = {p.variable for p in exc.value.problems}
    assert cols == {"pue", "carbon_intensity"}
    assert "1 hours below the valid minimum 1 [1] (minimum 0.5)" in str(exc.value)
    assert "(minimum -5)" in str(exc.value)


def test_dispatch_of_a_lazy_cube_is_checked_too(small_sites, energy_factory):
    energy = energy_factory(small_sites)
    energy["wind_cf"][3, 100] = 1.5
    out = pf.dispatch(energy.chunk({"site": 4}), small_sites)  # stays lazy: nothing computed yet
    with pytest.raises(ValidationError, match="variable 'wind_cf'.*above the valid maximum 1"):
        out.compute()
