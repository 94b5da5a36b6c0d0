"""Views of a network plan: the map of built sites by tier and year with the assignment lines
(demand point -> the site serving it), the KPIs over the years, and tables comparing plans.

Each takes the plan Dataset of :func:`powerfirst.models.network.plan_network` (or a mapping
name -> plan, for comparisons) and returns a HoloViews object or a pandas DataFrame; none holds
state.  The map draws state and country outlines offline
(:func:`powerfirst.viz.siting.outline_paths`), so it needs no web tiles.  Every tier has one
colour (:data:`TIER_COLOURS`) in every view.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import holoviews as hv
import hvplot.pandas  # noqa: F401  (loads the Bokeh extension, registers .hvplot)
import numpy as np
import pandas as pd
import xarray as xr

from powerfirst.errors import Problem, ValidationError
from powerfirst.models.network import TIERS, kpis

__all__ = ["TIER_COLOURS", "KPI_LABELS", "built_sites_frame", "assignment_frame", "network_map", "kpi_frame",
           "kpi_view", "kpi_table", "built_sites", "plan_changes", "capacity_by_country", "served_by_group"]

#: colour of each tier in every view (ColorBrewer Dark2, distinguishable by colour-blind readers)
TIER_COLOURS = {"training": "#1b9e77", "regional": "#d95f02", "edge": "#7570b3"}
#: KPI column -> axis label with its unit (the scalar KPIs of :func:`kpi_view`)
KPI_LABELS = {
    "cost_musd": "annualised cost incl. unserved penalty [MUSD]",
    "gco2_per_accelerator_hour": "gCO2 per accelerator-hour [gCO2 h-1]",
    "share_within_caps": "share of demand served within caps [1]",
    "unserved_twh": "unserved demand [TWh]",
}
_DEMAND_COLOUR = "#969696"


def _check_plan(plan: xr.Dataset, need: Sequence[str], what: str) -> None:
    if not isinstance(plan, xr.Dataset):
        raise ValidationError(Problem(f"expected a network plan Dataset (plan_network), found {type(plan).__name__}"),
                              what=what)
    missing = [v for v in need if v not in plan.variables]
    if missing:
        raise ValidationError(Problem(f"expected a network plan (plan_network) with {', '.join(need)}; missing "
                                      f"{', '.join(missing)}"), what=what)


def _year(plan: xr.Dataset, year, what: str) -> int:
    years = [int(y) for y in plan["year"].values]
    if year is None:
        return years[-1]
    if int(year) not in years:
        raise ValidationError(Problem(f"year {year} is not a year of the plan ({', '.join(map(str, years))})",
                                      variable="year"), what=what)
    return int(year)


def _mercator(lon, lat) -> tuple[np.ndarray, np.ndarray]:
    return hv.util.transform.lon_lat_to_easting_northing(np.asarray(lon, float), np.asarray(lat, float))


def built_sites_frame(plan: xr.Dataset, year: int | None = None) -> pd.DataFrame:
    """One row per (site, tier, year) with capacity in place.

    Returns
    -------
    pandas.DataFrame
        ``site``, ``tier``, ``year``, ``built_mw``, ``new_mw`` [MW], ``energy_gwh`` [GWh],
        ``country``, ``lat``, ``lon`` [degrees], ``easting``, ``northing`` [m, Web Mercator];
        every year, or only ``year``.
    """
    what = "network map"
    _check_plan(plan, ("built_mw", "new_mw", "energy_mwh", "site_lat", "site_lon"), what)
    p = plan if year is None else plan.sel(year=[_year(plan, year, what)])
    df = p[["built_mw", "new_mw", "energy_mwh"]].to_dataframe().reset_index()
    df = df[df["built_mw"] > 0].copy()
    sites = pd.DataFrame({"site": plan["site"].values.astype(str), "lat": plan["site_lat"].values.astype(float),
                          "lon": plan["site_lon"].values.astype(float),
                          "country": plan["site_country"].values.astype(str) if "site_country" in plan.coords else ""})
    df["site"] = df["site"].astype(str)
    df = df.merge(sites, on="site", how="left")
    df["energy_gwh"] = df.pop("energy_mwh") / 1000.0
    df["easting"], df["northing"] = _mercator(df["lon"], df["lat"])
    df["year"] = df["year"].astype(int)
    return df[["site", "tier", "year", "built_mw", "new_mw", "energy_gwh", "country", "lat", "lon", "easting",
               "northing"]].reset_index(drop=True)


def assignment_frame(plan: xr.Dataset, year: int | None = None) -> pd.DataFrame:
    """One row per demand point and tier served in ``year`` (default the last): the line of the map
    from the point to the site serving the largest share of its demand.

    Returns
    -------
    pandas.DataFrame
        ``point``, ``tier``, ``site``, ``serving_share``, ``served_share`` [1], ``latency_ms`` [ms],
        ``point_lat``, ``point_lon``, ``site_lat``, ``site_lon`` [degrees] and the Web Mercator ends
        ``x0``, ``y0`` (point), ``x1``, ``y1`` (site) [m].
    """
    what = "network map"
    _check_plan(plan, ("serving_site", "serving_share", "served_share", "latency_ms", "point_lat", "point_lon",
                       "site_lat", "site_lon"), what)
    y = _year(plan, year, what)
    p = plan.sel(year=y)
    df = p[["serving_site", "serving_share", "served_share", "latency_ms"]].to_dataframe().reset_index()
    df = df[df["serving_site"].astype(str) != ""].rename(columns={"serving_site": "site"})
    df["site"] = df["site"].astype(str)
    df["point"] = df["point"].astype(str)
    pts = pd.Series(plan["point_lat"].values.astype(float), index=plan["point"].values.astype(str))
    ptl = pd.Series(plan["point_lon"].values.astype(float), index=plan["point"].values.astype(str))
    sla = pd.Series(plan["site_lat"].values.astype(float), index=plan["site"].values.astype(str))
    slo = pd.Series(plan["site_lon"].values.astype(float), index=plan["site"].values.astype(str))
    df["point_lat"], df["point_lon"] = pts.loc[df["point"]].to_numpy(), ptl.loc[df["point"]].to_numpy()
    df["site_lat"], df["site_lon"] = sla.loc[df["site"]].to_numpy(), slo.loc[df["site"]].to_numpy()
    df["x0"], df["y0"] = _mercator(df["point_lon"], df["point_lat"])
    df["x1"], df["y1"] = _mercator(df["site_lon"], df["site_lat"])
    cols = ["point", "tier", "site", "serving_share", "served_share", "latency_ms", "point_lat", "point_lon",
            "site_lat", "site_lon", "x0", "y0", "x1", "y1"]
    return df[cols].reset_index(drop=True)


def _box(plan: xr.Dataset, pad: float = 0.04) -> tuple[tuple[float, float], tuple[float, float]]:
    """The box [degrees] of every candidate site and every demand point a site serves in some year
    (padded by ``pad`` of its size): points no site serves (the US demand cube holds Guam and
    American Samoa, at 145 E and 14 S) would otherwise stretch a US map over the Pacific."""
    serving = plan["serving_site"].astype(str) != ""
    served = serving.any([d for d in serving.dims if d != "point"]).values
    lat = np.concatenate([plan["site_lat"].values, plan["point_lat"].values[served]]).astype(float)
    lon = np.concatenate([plan["site_lon"].values, plan["point_lon"].values[served]]).astype(float)
    lat0, lat1, lon0, lon1 = np.nanmin(lat), np.nanmax(lat), np.nanmin(lon), np.nanmax(lon)
    dx, dy = max(lon1 - lon0, 0.5) * pad, max(lat1 - lat0, 0.5) * pad
    return (max(lon0 - dx, -180.0), min(lon1 + dx, 180.0)), (max(lat0 - dy, -85.0), min(lat1 + dy, 85.0))


def _outlines(lon_r, lat_r) -> hv.Path:
    """The outlines in the box as one NaN-separated polyline (one glyph: hundreds of separate paths
    take seconds to render)."""
    from powerfirst.viz.siting import outline_paths

    parts = outline_paths(lon_r, lat_r)
    gap = np.full((1, 2), np.nan)
    xy = np.vstack([a for part in parts for a in (part, gap)][:-1]) if parts else np.zeros((0, 2))
    return hv.Path([xy], kdims=["easting", "northing"],
                   label="state and country outlines").opts(color="#6b6b6b", line_width=0.6, alpha=0.8)


def _year_overlay(plan: xr.Dataset, year: int, tiers: Sequence[str], outlines: hv.Path | None, width: int,
                  height: int, max_mw: float, box) -> hv.Overlay:
    built = built_sites_frame(plan, year)
    lines = assignment_frame(plan, year)
    px, py = _mercator(plan["point_lon"].values, plan["point_lat"].values)
    demand = pd.DataFrame({"easting": px, "northing": py, "point": plan["point"].values.astype(str)})
    layers = [outlines] if outlines is not None else []
    layers.append(hv.Points(demand, kdims=["easting", "northing"], vdims=["point"], label="demand points").opts(
        color=_DEMAND_COLOUR, size=3, alpha=0.6, tools=["hover"]))
    for t in tiers:
        seg = lines[lines["tier"] == t]
        layers.append(hv.Segments(seg, kdims=["x0", "y0", "x1", "y1"],
                                  vdims=["point", "site", "serving_share", "latency_ms"],
                                  label=f"{t} assignments").opts(color=TIER_COLOURS[t], alpha=0.35, line_width=1))
    for t in tiers:
        b = built[built["tier"] == t].assign(
            size=lambda d: 6.0 + 22.0 * np.sqrt(d["built_mw"] / max(max_mw, 1e-9)))
        layers.append(hv.Points(b, kdims=["easting", "northing"],
                                vdims=["site", "built_mw", "new_mw", "energy_gwh", "country", "size"],
                                label=f"{t} sites").opts(color=TIER_COLOURS[t], size=hv.dim("size"), line_color="black",
                                                         alpha=0.9, tools=["hover"]))
    (x0, x1), (y0, y1) = box
    ex, ny = _mercator(np.array([x0, x1]), np.array([y0, y1]))
    if height is None:  # keep the map's aspect
        height = int(np.clip(width * (ny[1] - ny[0]) / max(ex[1] - ex[0], 1.0), 200, 900))
    return hv.Overlay(layers).opts(
        width=width, height=height, xlim=(float(ex[0]), float(ex[1])), ylim=(float(ny[0]), float(ny[1])),
        xaxis=None, yaxis=None, legend_position="right", title=f"Network plan {year}: built sites by tier, "
                                                                  "lines to the serving site")


def network_map(plan: xr.Dataset, year: int | None = None, *, tiers: Sequence[str] = TIERS, outlines: bool = True,
                lon_range: tuple[float, float] | None = None, lat_range: tuple[float, float] | None = None,
                width: int = 860, height: int | None = None):
    """Map of the built sites by tier (size ~ sqrt(MW in place)) with a line from every served
    demand point to the site serving it, coloured by tier.

    Parameters
    ----------
    plan : xarray.Dataset
        From :func:`powerfirst.models.network.plan_network`.
    year : int, optional
        One year of the plan (an Overlay); default every year (a HoloMap with a ``year`` slider).
    tiers : sequence of str
        Tiers drawn (e.g. ``("regional", "edge")``: the training lines span continents).
    outlines : bool
        Draw the state and country outlines (read from the boundary files).
    lon_range, lat_range : (float, float), optional
        The box shown [degrees] (e.g. Europe alone); default the box of every candidate site and
        every demand point some site serves (in any year of the plan): points no site serves may lie
        outside it.
    width, height : int, optional
        Frame size [px]; the default height keeps the map's aspect.

    Returns
    -------
    holoviews.Overlay or holoviews.HoloMap
        Layers: outlines, demand points, ``<tier> assignments`` (hv.Segments), ``<tier> sites``
        (hv.Points).
    """
    what = "network map"
    bad = [t for t in tiers if t not in TIERS]
    if bad or not len(tiers):
        raise ValidationError(Problem(f"expected tiers among {', '.join(TIERS)}, found {list(tiers)}", variable="tiers"),
                              what=what)
    _check_plan(plan, ("built_mw", "serving_site", "site_lat", "point_lat"), what)
    auto_lon, auto_lat = _box(plan)
    box = (tuple(float(v) for v in (lon_range or auto_lon)), tuple(float(v) for v in (lat_range or auto_lat)))
    (lo0, lo1), (la0, la1) = box
    if not (-180 <= lo0 < lo1 <= 180 and -85 <= la0 < la1 <= 85):
        raise ValidationError(Problem(f"expected lon_range within [-180, 180] and lat_range within [-85, 85] degrees, "
                                      f"low < high; found lon {lon_range}, lat {lat_range}", variable="lon_range"),
                              what=what)
    base = _outlines(*box) if outlines else None
    max_mw = float(plan["built_mw"].max()) if plan.sizes["site"] else 1.0
    if year is not None:
        return _year_overlay(plan, _year(plan, year, what), tiers, base, width, height, max_mw, box)
    return hv.HoloMap({int(y): _year_overlay(plan, int(y), tiers, base, width, height, max_mw, box)
                       for y in plan["year"].values}, kdims=["year"])


def _plans(plans) -> dict[str, xr.Dataset]:
    if isinstance(plans, xr.Dataset):
        return {str(plans.attrs.get("scenario", "plan")): plans}
    if not isinstance(plans, Mapping) or not plans:
        raise ValidationError(Problem(f"expected a plan Dataset or a mapping name -> plan, found "
                                      f"{type(plans).__name__}"), what="network KPIs")
    for k, v in plans.items():
        _check_plan(v, ("built_mw", "demand_mwh"), f"network KPIs (plan {k!r})")
    return {str(k): v for k, v in plans.items()}


def kpi_frame(plans) -> pd.DataFrame:
    """KPIs per plan and year (:func:`powerfirst.models.network.kpis`) in one long frame.

    Returns
    -------
    pandas.DataFrame
        ``variant``, ``year`` and the KPI columns, plus ``cost_musd`` [MUSD] and ``sites_built``
        (sites with capacity in place, any tier).
    """
    rows = []
    for name, plan in _plans(plans).items():
        k = kpis(plan).reset_index()
        k.insert(0, "variant", name)
        k["cost_musd"] = k["cost_usd"] / 1e6
        k["sites_built"] = (plan["built_mw"].sum("tier") > 0).sum("site").values.astype(int)
        rows.append(k)
    return pd.concat(rows, ignore_index=True)


def kpi_view(plans, *, width: int = 420, height: int = 260) -> hv.Layout:
    """The KPIs over the years: GW built by tier, cost, gCO2 per accelerator-hour, share within the
    caps and unserved demand; one curve per plan when several are given.

    Parameters
    ----------
    plans : xarray.Dataset or mapping of str to Dataset
        A plan, or plans by name to compare.

    Returns
    -------
    holoviews.Layout
        Five panels.  One plan: GW by tier as stacked ``hv.Bars`` (year x tier); several: an
        ``hv.Curve`` per plan and tier (colour = tier, dash = plan).  The other panels: an
        ``hv.Curve`` per plan.
    """
    df = kpi_frame(plans)
    names = list(dict.fromkeys(df["variant"]))
    dashes = ["solid", "dashed", "dotted", "dotdash", "dashdot"]
    gw = df.melt(id_vars=["variant", "year"], value_vars=[f"gw_{t}" for t in TIERS], var_name="tier",
                 value_name="gw")
    gw["tier"] = gw["tier"].str.removeprefix("gw_")
    if len(names) == 1:
        gw["year"] = gw["year"].astype(str)
        panel_gw = hv.Bars(gw, kdims=["year", "tier"], vdims=[hv.Dimension("gw", label="GW built", unit="GW")]).opts(
            stacked=True, cmap=TIER_COLOURS, width=width, height=height, title="GW built by tier",
            legend_position="right", tools=["hover"])
    else:
        curves = []
        for i, n in enumerate(names):
            for t in TIERS:
                d = gw[(gw["variant"] == n) & (gw["tier"] == t)]
                curves.append(hv.Curve(d, kdims=["year"], vdims=[hv.Dimension("gw", label="GW built", unit="GW")],
                                       label=f"{t}, {n}").opts(color=TIER_COLOURS[t],
                                                               line_dash=dashes[i % len(dashes)], tools=["hover"]))
        panel_gw = hv.Overlay(curves).opts(width=width + 140, height=height, title="GW built by tier",
                                           legend_position="right")
    panels = [panel_gw]
    for col, label in KPI_LABELS.items():
        curves = []
        for i, n in enumerate(names):
            d = df[df["variant"] == n]
            curves.append(hv.Curve(d, kdims=["year"], vdims=[hv.Dimension(col, label=label)], label=n).opts(
                line_dash=dashes[i % len(dashes)], tools=["hover"]) * hv.Scatter(
                    d, kdims=["year"], vdims=[hv.Dimension(col, label=label)], label=n).opts(size=6))
        panels.append(hv.Overlay(curves).opts(width=width, height=height, title=label.split(" [")[0],
                                              show_legend=len(names) > 1))
    return hv.Layout(panels).cols(2)


def kpi_table(plans) -> pd.DataFrame:
    """KPIs per plan and year with units in the column names (a table for reports).

    Returns
    -------
    pandas.DataFrame
        Indexed by (variant, year): GW by tier [GW], cost [MUSD], energy [TWh], gCO2 per
        accelerator-hour, share within caps [1], unserved [TWh], sites built, the plan's MIP gap
        and greedy / MILP cost ratio.
    """
    p = _plans(plans)
    df = kpi_frame(p)
    df["mip_gap"] = df["variant"].map({k: float(v.attrs.get("mip_gap", np.nan)) for k, v in p.items()})
    df["greedy_over_milp"] = df["variant"].map({k: float(v.attrs.get("greedy_over_milp", np.nan))
                                                for k, v in p.items()})
    cols = {**{f"gw_{t}": f"{t} [GW]" for t in TIERS}, "cost_musd": "cost [MUSD]", "energy_twh": "energy served [TWh]",
            "gco2_per_accelerator_hour": "gCO2 per accelerator-hour [gCO2 h-1]",
            "share_within_caps": "share within caps [1]", "unserved_twh": "unserved [TWh]",
            "sites_built": "sites built", "mip_gap": "MIP gap [1]", "greedy_over_milp": "greedy / MILP cost [1]"}
    return df.set_index(["variant", "year"])[list(cols)].rename(columns=cols)


def built_sites(plan: xr.Dataset, year: int | None = None) -> list[str]:
    """Sites with capacity in place in ``year`` (default the last), any tier, sorted."""
    _check_plan(plan, ("built_mw",), "network plan")
    y = _year(plan, year, "network plan")
    mw = plan["built_mw"].sel(year=y).sum("tier")
    return sorted(map(str, plan["site"].values[mw.values > 0]))


def plan_changes(base: xr.Dataset, other: xr.Dataset, year: int | None = None) -> pd.DataFrame:
    """The sites that entered or left the plan between ``base`` and ``other`` in ``year`` (default
    the last year of both).

    Returns
    -------
    pandas.DataFrame
        One row per site built in exactly one of the plans: ``site``, ``change`` (``entered``:
        built only in ``other``; ``left``: only in ``base``), ``country``, ``base_mw``,
        ``other_mw`` [MW, all tiers], ``tiers`` (of the plan that builds it), ``candidate_of_both``
        (False: the site entered or left the candidates, not only the choice of the optimiser), and the screen's ``score`` and
        ``score_time_to_power`` [1] where the plans carry them.
    """
    what = "plan changes"
    _check_plan(base, ("built_mw",), what)
    _check_plan(other, ("built_mw",), what)
    y = _year(base, year, what) if year is not None else int(min(base["year"].values[-1], other["year"].values[-1]))
    _year(other, y, what)
    a, b = set(built_sites(base, y)), set(built_sites(other, y))

    def mw(plan, s):
        return float(plan["built_mw"].sel(site=s, year=y).sum()) if s in plan["site"].values else 0.0

    def tiers(plan, s):
        if s not in plan["site"].values:
            return ""
        v = plan["built_mw"].sel(site=s, year=y)
        return ", ".join(str(t) for t, m in zip(v["tier"].values, v.values, strict=True) if m > 0)

    def coord(s, name):
        for plan in (other, base):
            if name in plan.coords and s in plan["site"].values:
                return plan[name].sel(site=s).item()
        return np.nan

    rows = []
    for s in sorted(b - a):
        rows.append({"site": s, "change": "entered", "base_mw": mw(base, s), "other_mw": mw(other, s),
                     "tiers": tiers(other, s), "candidate_of_both": s in base["site"].values})
    for s in sorted(a - b):
        rows.append({"site": s, "change": "left", "base_mw": mw(base, s), "other_mw": mw(other, s),
                     "tiers": tiers(base, s), "candidate_of_both": s in other["site"].values})
    out = pd.DataFrame(rows, columns=["site", "change", "base_mw", "other_mw", "tiers", "candidate_of_both"])
    out.insert(2, "country", [coord(s, "site_country") for s in out["site"]])
    for name, col in (("site_screen_score", "score"), ("site_score_time_to_power", "score_time_to_power")):
        if any(name in p.coords for p in (base, other)):
            out[col] = [float(coord(s, name)) for s in out["site"]]
    return out


def capacity_by_country(plans, year: int | None = None) -> pd.DataFrame:
    """MW in place by site country and tier in ``year`` (default each plan's last), one column per plan
    and tier.

    Returns
    -------
    pandas.DataFrame
        Indexed by country; columns (variant, tier) [MW]; a total row.
    """
    cols = {}
    for name, plan in _plans(plans).items():
        _check_plan(plan, ("built_mw", "site_country"), "capacity by country")
        y = _year(plan, year, "capacity by country")
        mw = plan["built_mw"].sel(year=y).to_pandas()  # site x tier
        by = mw.groupby(plan["site_country"].values.astype(str)).sum()
        for t in TIERS:
            cols[(name, t)] = by[t]
    out = pd.DataFrame(cols).fillna(0.0)
    out = out[(out > 0).any(axis=1)]
    out.loc["total"] = out.sum()
    out.columns = pd.MultiIndex.from_tuples(out.columns, names=["variant", "tier"])
    out.index.name = "site country"
    return out


def served_by_group(plans, groups: Mapping[str, Sequence[str]], year: int | None = None) -> pd.DataFrame:
    """Share of the demand of each group of countries that the plan serves, by tier.

    Parameters
    ----------
    plans : xarray.Dataset or mapping of str to Dataset
        Plans with the demand of every point (``demand_mw``, as :func:`powerfirst.scenarios.run.run_network`
        gives them; for a plan of :func:`~powerfirst.models.network.plan_network` add
        ``plan["demand_mw"] = demand["average_mw"]``).
    groups : mapping of str to sequence of str
        Group name -> country codes of its demand points (e.g. ``{"EU27": EU27}``); the points of
        no group form ``other``.
    year : int, optional
        Default each plan's last year.

    Returns
    -------
    pandas.DataFrame
        Indexed by (variant, group): ``demand_mw_<tier>`` (average demand [MW]) and
        ``served_<tier>`` (share of it served [1]).
    """
    what = "demand served by group"
    rows = []
    for name, plan in _plans(plans).items():
        _check_plan(plan, ("served_share", "demand_mw", "point_country"), what)
        y = _year(plan, year, what)
        pc = plan["point_country"].values.astype(str)
        label = np.full(pc.size, "other", dtype=object)
        for g, members in groups.items():
            label[np.isin(pc, list(members)) & (label == "other")] = g
        for g in [*groups, "other"]:
            m = label == g
            if not m.any():
                continue
            rec = {"variant": name, "group": g}
            for t in TIERS:
                demand = plan["demand_mw"].sel(year=y, tier=t).values[m].astype(float)
                share = plan["served_share"].sel(year=y, tier=t).values[m].astype(float)
                d = float(demand.sum())
                rec[f"demand_mw_{t}"] = d
                rec[f"served_{t}"] = float((demand * share).sum() / d) if d > 0 else np.nan
            rows.append(rec)
    return pd.DataFrame(rows).set_index(["variant", "group"])
