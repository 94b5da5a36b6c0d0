r"""Future hourly grid load: historic profile + growth path + new data-centre load.

For balancing authority :math:`b`, target year :math:`Y` and scenario :math:`s`:

.. math:: L_{b,s}(t) = D_b(t - \Delta_Y)\, G_{b,s}(Y) + C_{b,s}(Y)\, h_b(t)

* :math:`D_b` is the hourly load of a historic *reference year* (the weather year), moved to
  :math:`Y` by a whole number of weeks :math:`\Delta_Y` so that weekdays stay weekdays (hours the
  shift leaves uncovered wrap around within the reference year);
* :math:`G_{b,s}(Y)` the growth path of the existing load: :math:`(1 + g)^{Y - Y_{ref}}` for a rate
  :math:`g`, or a scale factor given per year (same convention as
  :func:`powerfirst.models.headroom.future_headroom`);
* :math:`C_{b,s}(Y)` the new data-centre load [MW, average] and :math:`h_b(t)` its hourly shape
  (mean 1; flat by default).

:func:`datacentre_load_from_cube` turns the regional demand cube into the per-BA data-centre
load by shares of the region's growth over the base year.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import xarray as xr

from powerfirst._provenance import provenance
from powerfirst.errors import Problem, ValidationError

__all__ = ["future_hourly_load", "datacentre_load_from_cube", "shift_to_year"]

_H = pd.Timedelta(hours=1)


def shift_to_year(profile: pd.Series, target_year: int) -> pd.Series:
    """Move an hourly profile of one year to ``target_year`` by whole weeks (weekdays kept).

    Hours of the target year that the shifted profile does not cover take the value one
    reference-year length earlier or later (wrap-around within the reference year).
    """
    t = profile.index
    ref_year = int(pd.Series(t.year).mode().iloc[0])
    days = (pd.Timestamp(f"{target_year}-01-01") - pd.Timestamp(f"{ref_year}-01-01")).days
    offset = pd.Timedelta(days=7 * int(round(days / 7)))
    target = pd.date_range(f"{target_year}-01-01", f"{target_year + 1}-01-01", freq="h", inclusive="left")
    src = target - offset
    pos = ((src - t[0]) // _H).to_numpy()
    n = len(t)
    pos = np.mod(pos, n)
    return pd.Series(profile.to_numpy()[pos], index=target, name=profile.name)


def _per(value, bas, years, scenarios, name) -> np.ndarray:
    """value → array (ba, year, scenario)."""
    shape = (len(bas), len(years), len(scenarios))
    if isinstance(value, xr.DataArray):
        da = value
        for dim, labels in (("ba", bas), ("year", years), ("scenario", scenarios)):
            if dim not in da.dims:
                da = da.expand_dims({dim: list(labels)})
            else:
                missing = sorted(set(labels) - set(da[dim].values.tolist()))
                if missing:
                    raise ValidationError(Problem(f"{name} has no value for {dim} {missing}", variable=name),
                                          what="future load request")
        return da.sel(ba=list(bas), year=list(years), scenario=list(scenarios)).transpose(
            "ba", "year", "scenario").to_numpy().astype(float)
    if isinstance(value, Mapping):
        missing = sorted(set(bas) - set(value))
        if missing:
            raise ValidationError(Problem(f"{name} has no value for balancing authorities {missing}", variable=name),
                                  what="future load request")
        return np.broadcast_to(np.array([float(value[b]) for b in bas])[:, None, None], shape).copy()
    return np.full(shape, float(value))


def future_hourly_load(load: xr.DataArray, years: Sequence[int], *, growth=0.0, datacentre_mw=0.0,
                       scenarios: Sequence[str] = ("default",), reference_year: int | None = None,
                       datacentre_shape: Sequence[float] | np.ndarray | None = None,
                       growth_is_scale: bool = False) -> xr.Dataset:
    """The future hourly load cube ``ba`` × ``time`` × ``scenario``.

    Parameters
    ----------
    load : xarray.DataArray
        Historic hourly load [MW] on (``ba``, ``time``), naive UTC.
    years : list of int
        Target years; the time axis covers each of them hour by hour.
    growth : float, {ba: float} or DataArray on (ba, year, scenario)
        Yearly growth rate of the existing load [1 per year], or with ``growth_is_scale`` the
        scale factor itself.
    datacentre_mw : float, {ba: MW} or DataArray on (ba, year, scenario)
        New data-centre load in each target year [MW, average power].
    scenarios : list of str
        Scenario labels (a DataArray input must carry them on ``scenario``).
    reference_year : int, optional
        Historic weather year of the profile (default: the last complete year of ``load``).
    datacentre_shape : array of 24 or 8760+ values, optional
        Hourly shape of the data-centre load (24 values: by UTC hour of day); normalised to mean 1.
        Flat by default.

    Returns
    -------
    xarray.Dataset
        ``future_load``, ``existing_load``, ``datacentre_load`` [MW], kind ``forecast``.

    Raises
    ------
    ValidationError
        No complete reference year, NaN in the reference year, growth or data-centre values
        missing for a BA, year or scenario.
    """
    if set(load.dims) != {"ba", "time"}:
        raise ValidationError(Problem(f"load must be on (ba, time), found {load.dims}", variable="load"),
                              what="future load request")
    load = load.transpose("ba", "time")
    t = load.indexes["time"]
    bas = [str(b) for b in load["ba"].values]
    years = [int(y) for y in years]
    scenarios = [str(s) for s in scenarios]
    counts = pd.Series(1, index=t).groupby(t.year).sum()
    full = [int(y) for y, c in counts.items() if c >= 8760]
    if reference_year is None:
        if not full:
            raise ValidationError(Problem(f"no complete year of hourly load ({t[0]} .. {t[-1]})", variable="load"),
                                  what="future load request")
        reference_year = full[-1]
    if int(reference_year) not in full:
        raise ValidationError(Problem(f"reference year {reference_year} is not a complete year of the load "
                                      f"(complete years: {full})", variable="load"), what="future load request")
    ref = load.sel(time=slice(f"{reference_year}-01-01", f"{reference_year}-12-31 23:00"))
    bad = [b for b in bas if bool(ref.sel(ba=b).isnull().any())]
    if bad:
        raise ValidationError([Problem(f"NaN in the reference year {reference_year}; fill the load first", site=b)
                               for b in bad], what="future load request")
    g = _per(growth, bas, years, scenarios, "growth")
    scale = g if growth_is_scale else (1 + g) ** (np.array(years) - int(reference_year))[None, :, None]
    conn = _per(datacentre_mw, bas, years, scenarios, "datacentre_mw")
    if (conn < 0).any():
        raise ValidationError(Problem("datacentre_mw must be >= 0", variable="datacentre_mw"),
                              what="future load request")
    times, existing, dc = [], [], []
    for yi, y in enumerate(years):
        ty = pd.date_range(f"{y}-01-01", f"{y + 1}-01-01", freq="h", inclusive="left")
        prof = np.stack([shift_to_year(ref.sel(ba=b).to_series(), y).to_numpy() for b in bas])  # (ba, hours)
        if datacentre_shape is None:
            shape = np.ones(len(ty))
        else:
            s = np.asarray(datacentre_shape, dtype=float)
            shape = s[ty.hour.to_numpy()] if s.size == 24 else np.resize(s, len(ty))
            if not (shape >= 0).all() or shape.mean() <= 0:
                raise ValidationError(Problem("datacentre_shape must be non-negative with a positive mean",
                                              variable="datacentre_shape"), what="future load request")
            shape = shape / shape.mean()
        existing.append(prof[:, :, None] * scale[:, yi, None, :])
        dc.append(conn[:, yi, None, :] * shape[None, :, None])
        times.append(ty)
    time = times[0].append(times[1:]) if len(times) > 1 else times[0]
    ex = np.concatenate(existing, axis=1)
    d = np.concatenate(dc, axis=1)
    coords = {"ba": bas, "time": time, "scenario": scenarios}
    for c in ("timezone", "ba_name"):
        if c in load.coords and load[c].dims == ("ba",):
            coords[c] = ("ba", load[c].values)
    dims = ("ba", "time", "scenario")
    ds = xr.Dataset({
        "future_load": (dims, ex + d, {"units": "MW", "long_name": "future hourly grid load"}),
        "existing_load": (dims, ex, {"units": "MW", "long_name": "existing load scaled by the growth path"}),
        "datacentre_load": (dims, d, {"units": "MW", "long_name": "new data-centre load"}),
    }, coords=coords)
    ds.attrs.update(provenance(pf_kind="forecast", title="future hourly grid load",
                               reference_year=int(reference_year), years=",".join(map(str, years))))
    return ds


def datacentre_load_from_cube(cube: xr.Dataset, shares: Mapping[str, float], *, region: str = "US",
                              base_year: int | None = None) -> xr.DataArray:
    """New data-centre load per BA [MW, average] from the demand cube.

    The region's data-centre average power above its base-year level, times each BA's share:
    :math:`C_{b,s}(Y) = a_b\\,(P_{s}(Y) - P(Y_0))` with :math:`P` the cube's ``dc_average_power``
    summed over workloads [GW → MW].

    Returns
    -------
    xarray.DataArray
        On (``ba``, ``year``, ``scenario``) [MW]; feed it to :func:`future_hourly_load`.
    """
    if region not in cube["region"].values:
        raise KeyError(f"region {region!r} not in the cube (regions: {list(cube['region'].values)})")
    p = cube["dc_average_power"].sel(region=region).sum("workload", min_count=1)
    y0 = int(base_year if base_year is not None else p["year"].where(p.notnull().all("scenario"), drop=True)
             ["year"].min())
    growth_mw = ((p - p.sel(year=y0)) * 1000).clip(min=0)
    a = xr.DataArray([float(v) for v in shares.values()], dims="ba", coords={"ba": [str(k) for k in shares]})
    out = (a * growth_mw).transpose("ba", "year", "scenario")
    out.attrs.update(units="MW", long_name="new data-centre load", base_year=y0, region=region)
    return out.rename("datacentre_mw")
