"""Export to PyPSA: one site's dispatch reproduces powerfirst's dispatch LP; the NetCDF round trip."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from powerfirst.errors import ValidationError

pypsa = pytest.importorskip("pypsa")

HOURS = slice(0, 24 * 14)


@pytest.fixture(scope="module")
def prepared():
    from conftest import synthetic_energy_cube

    from powerfirst import demo_sites
    from powerfirst.models.dispatch import prepare
    from powerfirst.models.dispatch.inputs import stylised_price

    sites = demo_sites().isel(site=slice(0, 3))
    energy = synthetic_energy_cube(sites)
    t = energy.indexes["time"]
    rng = np.random.default_rng(7)
    price = xr.DataArray(np.array([np.maximum(stylised_price(t, -5, base=b) + rng.normal(0, 8, len(t)), 0.5)
                                   for b in (40.0, 60.0, 80.0)]),
                         dims=("site", "time"), coords={"site": sites["site"].values, "time": t})
    n = sites.sizes["site"]
    over = {"storage_mw": xr.DataArray([20.0, 0.0, 35.0], dims="site", coords={"site": sites["site"].values}),
            "storage_hours": 4.0, "gas_mw": xr.DataArray([0.0, 15.0, 10.0], dims="site", coords={"site": sites["site"].values}),
            "gas_min_load": 0.0, "gas_fuel_cost": 70.0, "flex_share": 0.0, "degradation_cost": 3.0,
            "carbon_price": 50.0}
    assert n == 3
    return prepare(energy, sites, {"export": over}, price=price)


def _series(prep, site):
    from powerfirst.models.dispatch import site_series

    x = site_series(prep, site, 0)
    return {k: (v[HOURS] if isinstance(v, np.ndarray) and v.ndim == 1 and v.size == 8760 else v) for k, v in x.items()}


def _plan(prep, sites, mw):
    return xr.Dataset({"built_mw": (("site", "tier", "year"), np.array(mw, float)[:, None, None] * np.array([[[1.0], [0.0], [0.0]]]).reshape(1, 3, 1))},
                      coords={"site": list(sites), "tier": ["training", "regional", "edge"], "year": [2027],
                              "site_ba": ("site", ["PJM"] * len(sites))})


@pytest.mark.parametrize("i", [0, 1, 2])
def test_one_exported_site_reproduces_the_dispatch_lp(prepared, i, tmp_path):
    from powerfirst.models.dispatch.lp import solve_site_lp
    from powerfirst.models.network.export import to_pypsa

    site = str(prepared.site[i])
    x = _series(prepared, site)
    lp = solve_site_lp(prepared, site, 0, hours=HOURS)
    plan = _plan(prepared, [site], [x["params"]["load_mw"]])
    n = to_pypsa(plan, {site: x})
    np.testing.assert_allclose(n.loads_t.p_set[site].to_numpy(), x["load"], rtol=1e-12)
    status, _ = n.optimize(solver_name="highs", solver_options={"output_flag": False}, include_objective_constant=False)
    assert status == "ok"
    assert n.objective == pytest.approx(lp.objective, rel=1e-3)
    # the NetCDF round trip keeps the network: same components, same optimum
    path = tmp_path / "plan.nc"
    n.export_to_netcdf(path)
    back = pypsa.Network(path)
    assert sorted(back.generators.index) == sorted(n.generators.index)
    assert back.buses.loc[site, "location"] == "PJM"
    back.optimize(solver_name="highs", solver_options={"output_flag": False}, include_objective_constant=False)
    assert back.objective == pytest.approx(n.objective, rel=1e-9)


def test_to_pypsa_places_every_built_site_and_refuses_missing_series(prepared):
    from powerfirst.models.network.export import to_pypsa

    sites = [str(s) for s in prepared.site]
    series = {s: _series(prepared, s) for s in sites}
    plan = _plan(prepared, sites, [30.0, 0.0, 80.0])
    n = to_pypsa(plan, series)
    assert set(n.loads.index) == {sites[0], sites[2]}
    np.testing.assert_allclose(n.loads_t.p_set[sites[2]].to_numpy(), 80.0 * series[sites[2]]["lf"])
    assert n.meta["built_mw"] == {sites[0]: 30.0, sites[2]: 80.0}
    with pytest.raises(ValidationError, match="built site without dispatch series"):
        to_pypsa(plan, {sites[0]: series[sites[0]]})
    with pytest.raises(ValidationError, match="year 2031 is not a plan year"):
        to_pypsa(plan, series, year=2031)
    flex = dict(series[sites[0]])
    flex["params"] = {**flex["params"], "flex_share": 0.2, "flex_hours": 4.0}
    with pytest.raises(ValidationError, match="deferrable load"):
        to_pypsa(_plan(prepared, [sites[0]], [30.0]), {sites[0]: flex})
