r"""Sizing trade-off: MW connected earlier on a flexible connection against the storage or on-site
generation that keeps unserved energy under a target.

A site with firm headroom :math:`F` can connect :math:`F + N` MW now if it accepts that the
non-firm :math:`N` MW are curtailed in the BA's curtailment events, instead of waiting years
for a firm connection of its full size.  The larger :math:`N`, the more curtailment it must ride
through.  :func:`sizing_tradeoff` sweeps :math:`N` (the site's load sized to the connection,
``load_follows_connection``) against storage power (with a fixed duration) and, separately,
on-site generation capacity, runs the dispatch on the whole grid of sizes at once, and reports
the smallest storage and the smallest generation that keep the unserved share of demand within
the target for each :math:`N` (NaN where none of the sizes tried does).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import xarray as xr

from powerfirst.models.dispatch.rule import dispatch

__all__ = ["sizing_tradeoff", "smallest_meeting"]


def smallest_meeting(unserved_share: xr.DataArray, dim: str, target: float) -> xr.DataArray:
    """The smallest value of ``dim`` whose ``unserved_share`` is within ``target`` (NaN if none)."""
    ok = unserved_share <= target
    vals = xr.DataArray(np.asarray(unserved_share[dim].values, dtype=float), dims=dim,
                        coords={dim: unserved_share[dim]})
    return vals.where(ok).min(dim)


def sizing_tradeoff(energy: xr.Dataset, sites: xr.Dataset | None = None, *, flexible_mw: Sequence[float],
                    storage_mw: Sequence[float] = (0, 25, 50, 100, 200, 400), storage_hours: float = 4.0,
                    gas_mw: Sequence[float] = (0, 25, 50, 100, 200, 400), unserved_target: float = 0.001,
                    scenario: dict | None = None, **dispatch_kw) -> xr.Dataset:
    """Storage and on-site generation needed to keep unserved energy within a target, per MW connected flexibly.

    Parameters
    ----------
    energy, sites : see :func:`powerfirst.models.dispatch.dispatch`
    flexible_mw : sequence of float
        Non-firm MW connected on top of the site's firm headroom [MW]; the site's load is sized
        to the connection.
    storage_mw : sequence of float
        Storage power tried [MW]; energy = power x ``storage_hours``.
    storage_hours : float
        Storage duration [h].
    gas_mw : sequence of float
        On-site generation tried (without storage) [MW].
    unserved_target : float
        Largest acceptable unserved share of demand [1] (0.001 = 0.1 %).
    scenario : dict, optional
        Further parameter overrides of both sweeps.
    **dispatch_kw
        ``price``, ``curtailment``, ``chunks``, ... of :func:`dispatch`.

    Returns
    -------
    xarray.Dataset
        On (``site``, ``flexible_mw``): ``storage_mw_needed`` [MW], ``storage_mwh_needed`` [MWh],
        ``gas_mw_needed`` [MW], ``connected_mw`` [MW]; and the sweeps' ``unserved_share_storage``
        (site, flexible_mw, storage_mw) and ``unserved_share_gas`` (site, flexible_mw, gas_mw) [1].
    """
    if not 0 <= unserved_target < 1:
        raise ValueError(f"unserved_target must lie in [0, 1), found {unserved_target}")
    base = {"load_follows_connection": 1, **(scenario or {})}
    sto = dispatch(energy, sites, {"storage": {**base, "gas_mw": 0, "storage_hours": storage_hours}},
                   sweep={"nonfirm_mw": list(flexible_mw), "storage_mw": list(storage_mw)}, **dispatch_kw)
    gas = dispatch(energy, sites, {"gas": {**base, "storage_mw": 0}},
                   sweep={"nonfirm_mw": list(flexible_mw), "gas_mw": list(gas_mw)}, **dispatch_kw)
    us = sto["unserved_share"].isel(scenario=0, drop=True).rename(nonfirm_mw="flexible_mw")
    ug = gas["unserved_share"].isel(scenario=0, drop=True).rename(nonfirm_mw="flexible_mw")
    out = xr.Dataset(coords={"site": sto["site"], "flexible_mw": np.asarray(flexible_mw, dtype=float)})
    for c, v in sto.coords.items():
        if v.dims == ("site",):
            out = out.assign_coords({c: v})
    need_p = smallest_meeting(us, "storage_mw", unserved_target)
    out["storage_mw_needed"] = need_p.assign_attrs(units="MW", long_name="storage power needed")
    out["storage_mwh_needed"] = (need_p * storage_hours).assign_attrs(units="MWh", long_name="storage energy needed")
    out["gas_mw_needed"] = smallest_meeting(ug, "gas_mw", unserved_target).assign_attrs(
        units="MW", long_name="on-site generation needed")
    firm = sto["firm_mw"].isel(scenario=0, drop=True).isel(nonfirm_mw=0, storage_mw=0, drop=True)
    out["connected_mw"] = (firm + out["flexible_mw"]).assign_attrs(units="MW", long_name="MW connected now")
    out["unserved_share_storage"] = us.assign_attrs(units="1", long_name="unserved share of demand with storage")
    out["unserved_share_gas"] = ug.assign_attrs(units="1", long_name="unserved share of demand with generation")
    out["flexible_mw"].attrs.update(units="MW", long_name="MW connected on a flexible (non-firm) connection")
    out["storage_mw"].attrs.update(units="MW", long_name="storage power tried")
    out["gas_mw"].attrs.update(units="MW", long_name="on-site generation tried")
    out.attrs = {"title": "sizing trade-off: flexible MW against storage or generation",
                 "unserved_target": float(unserved_target), "storage_hours": float(storage_hours),
                 **{k: v for k, v in sto.attrs.items() if k in ("price_source", "curtailment_source",
                                                                 "powerfirst_version", "created")}}
    return out
