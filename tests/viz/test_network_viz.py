"""Views of a network plan, on a small random instance planned by the MILP (offline) and one real
map with outlines: the map holds one line per served (point, tier), from the point to the site
serving it, one marker per built site, a colour per tier; the KPI panels hold the KPIs; the change
table names the sites that entered and left."""

import warnings

import holoviews as hv
import numpy as np
import pytest
from bokeh.models import CategoricalColorMapper

from powerfirst.errors import ValidationError
from powerfirst.models.network import (
    TIERS,
    InfeasibleDemandWarning,
    kpis,
    plan_network,
    random_network,
)
from powerfirst.viz import network as vn

hv.extension("bokeh")


def _plan(dem, sup):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InfeasibleDemandWarning)
        return plan_network(dem, sup, time_limit=60)


@pytest.fixture(scope="module")
def inputs():
    return random_network(10, 30, (2027, 2029, 2031), seed=5)


@pytest.fixture(scope="module")
def plan(inputs):
    return _plan(*inputs)


def _layer(overlay, kind, label):
    (el,) = [e for e in overlay if type(e).__name__ == kind and e.label == label]
    return el


def _merc(lon, lat):
    # Web Mercator (EPSG:3857) written out: x = R lon, y = R ln tan(pi/4 + lat/2)
    r = 6378137.0
    return r * np.radians(lon), r * np.log(np.tan(np.pi / 4 + np.radians(lat) / 2))


def test_one_line_per_served_assignment_from_point_to_serving_site(plan):
    for year in plan["year"].values:
        o = vn.network_map(plan, int(year), outlines=False)
        segs = {t: _layer(o, "Segments", f"{t} assignments") for t in TIERS}
        for t in TIERS:
            d = segs[t].dframe()
            served = plan["served_share"].sel(tier=t, year=year).values > 1e-9
            assert len(d) == int(served.sum()), (t, year)
            # every line starts at its point and ends at the site serving the largest share
            site = plan["serving_site"].sel(tier=t, year=year).to_series()
            for _, r in d.iterrows():
                i = list(plan["point"].values).index(r["point"])
                x0, y0 = _merc(plan["point_lon"].values[i], plan["point_lat"].values[i])
                assert r["site"] == site[r["point"]]
                x1, y1 = _merc(float(plan["site_lon"].sel(site=r["site"])), float(plan["site_lat"].sel(site=r["site"])))
                assert (r["x0"], r["y0"], r["x1"], r["y1"]) == pytest.approx((x0, y0, x1, y1), rel=1e-9)
                # the serving site has capacity of that tier in place that year
                assert float(plan["built_mw"].sel(site=r["site"], tier=t, year=year)) > 0


def test_one_marker_per_built_site_and_tier_sized_by_mw(plan):
    y = int(plan["year"].values[-1])
    o = vn.network_map(plan, y, outlines=False)
    for t in TIERS:
        d = _layer(o, "Points", f"{t} sites").dframe()
        built = plan["built_mw"].sel(tier=t, year=y)
        assert sorted(d["site"]) == sorted(plan["site"].values[built.values > 0])
        np.testing.assert_allclose(d.set_index("site")["built_mw"].sort_index(),
                                   built.to_series()[built.values > 0].sort_index())
        if len(d) > 1:  # bigger sites, bigger markers
            order = np.argsort(d["built_mw"].values)
            assert np.all(np.diff(d["size"].values[order]) >= 0)
    # the demand points are all drawn, and the frame holds every site and point
    assert len(_layer(o, "Points", "demand points")) == plan.sizes["point"]
    opts = hv.Store.lookup_options("bokeh", o, "plot").kwargs
    xs, ys = _merc(np.r_[plan["site_lon"].values, plan["point_lon"].values],
                   np.r_[plan["site_lat"].values, plan["point_lat"].values])
    assert opts["xlim"][0] < xs.min() and opts["xlim"][1] > xs.max()
    assert opts["ylim"][0] < ys.min() and opts["ylim"][1] > ys.max()


def test_colours_per_tier_in_the_rendered_map(plan):
    o = vn.network_map(plan, int(plan["year"].values[-1]), outlines=False)
    fig = hv.render(o)
    seg_colours = [r.glyph.line_color for r in fig.renderers if type(r.glyph).__name__ == "Segment"]
    site_colours = [r.glyph.fill_color for r in fig.renderers
                    if type(r.glyph).__name__ == "Scatter" and r.glyph.line_color == "black"]
    assert seg_colours == [vn.TIER_COLOURS[t] for t in TIERS]
    assert site_colours == [vn.TIER_COLOURS[t] for t in TIERS]
    assert len(set(vn.TIER_COLOURS.values())) == len(TIERS)


def test_map_over_years_and_tier_selection(plan):
    hm = vn.network_map(plan, outlines=False)
    assert isinstance(hm, hv.HoloMap) and list(hm.keys()) == [int(y) for y in plan["year"].values]
    y = int(plan["year"].values[0])
    first = _layer(hm[y], "Segments", "regional assignments").dframe()
    assert len(first) == int((plan["served_share"].sel(tier="regional", year=y).values > 1e-9).sum())
    only = vn.network_map(plan, y, tiers=("regional", "edge"), outlines=False)
    labels = [el.label for el in only]
    assert "training assignments" not in labels and "regional assignments" in labels


def test_kpi_panels_hold_the_kpis(plan):
    k = kpis(plan)
    lay = vn.kpi_view(plan)
    bars = lay.Bars.I.dframe()
    for t in TIERS:
        got = bars[bars["tier"] == t].set_index("year")["gw"]
        np.testing.assert_allclose(got.values, k[f"gw_{t}"].values)
        assert list(got.index) == [str(y) for y in k.index]
    # the stacked bars reach the total GW built
    tot = bars.groupby("year")["gw"].sum()
    np.testing.assert_allclose(tot.values, k[[f"gw_{t}" for t in TIERS]].sum(axis=1).values)
    fig = hv.render(lay.Bars.I)
    (mapper,) = fig.select(CategoricalColorMapper)
    assert dict(zip(mapper.factors, mapper.palette, strict=True)) == vn.TIER_COLOURS
    overlays = [el for el in lay if isinstance(el, hv.Overlay)]
    assert len(overlays) == 4
    for ov, col in zip(overlays, ("cost_usd", "gco2_per_accelerator_hour", "share_within_caps", "unserved_twh"),
                       strict=True):
        curve = list(ov)[0]
        want = k[col].values / (1e6 if col == "cost_usd" else 1.0)
        np.testing.assert_allclose(curve.dimension_values(1), want)
        lo, hi = curve.range(1)
        assert lo == pytest.approx(np.nanmin(want)) and hi == pytest.approx(np.nanmax(want))
    assert 0 < k["share_within_caps"].min() <= k["share_within_caps"].max() <= 1


def test_comparison_of_two_plans_and_what_entered_and_left(inputs, plan):
    dem, sup = inputs
    y = int(plan["year"].values[-1])
    built = vn.built_sites(plan)
    assert built == sorted(plan["site"].values[(plan["built_mw"].sel(year=y).sum("tier") > 0).values])
    gone = built[0]
    other = _plan(dem, sup.drop_sel(site=gone))
    ch = vn.plan_changes(plan, other)
    after = set(vn.built_sites(other))
    assert set(ch.loc[ch["change"] == "left", "site"]) == set(built) - after
    assert set(ch.loc[ch["change"] == "entered", "site"]) == after - set(built)
    row = ch.set_index("site").loc[gone]
    assert row["change"] == "left" and not row["candidate_of_both"] and row["other_mw"] == 0
    assert row["base_mw"] == pytest.approx(float(plan["built_mw"].sel(site=gone, year=y).sum()))
    lay = vn.kpi_view({"base": plan, f"without {gone}": other})
    gw = list(lay)[0]
    assert len(gw) == 2 * len(TIERS)
    assert [c.opts.get().kwargs["color"] for c in gw] == [vn.TIER_COLOURS[t] for t in TIERS] * 2
    tab = vn.kpi_table({"base": plan, "other": other})
    assert list(tab.index.get_level_values("variant").unique()) == ["base", "other"]
    np.testing.assert_allclose(tab.loc["base", "cost [MUSD]"].values, kpis(plan)["cost_usd"].values / 1e6)
    # removing a candidate the MILP chose never makes the plan cheaper (up to the MIP gaps)
    c0 = kpis(plan)["cost_usd"] @ plan["year_weight"].values
    c1 = kpis(other)["cost_usd"] @ other["year_weight"].values
    assert c1 >= c0 * (1 - plan.attrs["mip_gap"] - other.attrs["mip_gap"]) - 1.0


def test_bad_input_says_what_was_expected(plan):
    with pytest.raises(ValidationError, match=r"year 2040 is not a year of the plan \(2027, 2029, 2031\)"):
        vn.network_map(plan, 2040, outlines=False)
    with pytest.raises(ValidationError, match="expected tiers among training, regional, edge, found \\['core'\\]"):
        vn.network_map(plan, tiers=["core"], outlines=False)
    with pytest.raises(ValidationError, match="missing serving_site"):
        vn.network_map(plan.drop_vars("serving_site"), outlines=False)
    with pytest.raises(ValidationError, match="expected a plan Dataset or a mapping"):
        vn.kpi_view([plan])


@pytest.mark.realdata
def test_outlines_on_the_map(plan):
    o = vn.network_map(plan, int(plan["year"].values[-1]))
    path = list(o)[0]
    assert isinstance(path, hv.Path) and path.label == "state and country outlines"
    xy = path.array([0, 1])
    xy = xy[np.isfinite(xy).all(axis=1)]
    opts = hv.Store.lookup_options("bokeh", o, "plot").kwargs
    # outlines clipped to the map's box
    assert xy[:, 0].min() >= opts["xlim"][0] - 1 and xy[:, 0].max() <= opts["xlim"][1] + 1
    assert len(xy) > 100
    # a smaller box: everything drawn inside it
    eu = vn.network_map(plan, int(plan["year"].values[-1]), lon_range=(-5.0, 25.0), lat_range=(40.0, 60.0))
    xy = list(eu)[0].array([0, 1])
    xy = xy[np.isfinite(xy).all(axis=1)]
    x, y = _merc(np.array([-5.0, 25.0]), np.array([40.0, 60.0]))
    assert x[0] - 1 <= xy[:, 0].min() and xy[:, 0].max() <= x[1] + 1
    assert y[0] - 1 <= xy[:, 1].min() and xy[:, 1].max() <= y[1] + 1
    with pytest.raises(ValidationError, match="expected lon_range within"):
        vn.network_map(plan, lon_range=(30.0, 10.0))


def test_capacity_by_country_and_demand_served_by_group(inputs, plan):
    from powerfirst.models.network import HOURS_PER_YEAR

    dem, _ = inputs
    y = int(plan["year"].values[-1])
    cap = vn.capacity_by_country({"p": plan})
    for t in TIERS:
        assert cap.loc["total", ("p", t)] == pytest.approx(float(plan["built_mw"].sel(tier=t, year=y).sum()))
        us = plan["site_country"].values == "US"
        assert cap[("p", t)].get("US", 0.0) == pytest.approx(float(plan["built_mw"].sel(tier=t, year=y).values[us].sum()))
    with pytest.raises(ValidationError, match="missing demand_mw"):
        vn.served_by_group(plan, {"US": ["US"]})
    p = plan.assign(demand_mw=dem["average_mw"].transpose("point", "tier", "year"))
    tab = vn.served_by_group({"p": p}, {"US": ["US"], "FR+DE": ["FR", "DE"]}, year=y)
    assert list(tab.index.get_level_values("group")) == ["US", "FR+DE", "other"]
    for t in TIERS:
        # demand-weighted served shares of the groups add up to the energy the sites deliver
        served = (tab[f"demand_mw_{t}"] * tab[f"served_{t}"].fillna(0)).sum()
        assert served == pytest.approx(float(plan["energy_mwh"].sel(tier=t, year=y).sum()) / HOURS_PER_YEAR, rel=1e-6)
        assert tab[f"demand_mw_{t}"].sum() == pytest.approx(float(dem["average_mw"].sel(tier=t, year=y).sum()))


def test_the_default_box_leaves_out_points_no_site_serves(plan):
    """The US demand cube holds Guam and American Samoa: an unserved point there must not stretch
    the map over the Pacific; a served one is shown (its line is drawn)."""
    far = plan.copy(deep=True)
    p0 = far["point"].values[0]
    far["point_lon"].loc[{"point": p0}] = 145.0
    far["point_lat"].loc[{"point": p0}] = 13.5
    y = int(plan["year"].values[-1])
    served = vn.network_map(far, y, outlines=False)
    x145, _ = _merc(np.array([145.0]), np.array([13.5]))
    assert hv.Store.lookup_options("bokeh", served, "plot").kwargs["xlim"][1] >= x145[0]
    far["serving_site"].loc[{"point": p0}] = ""
    unserved = vn.network_map(far, y, outlines=False)
    served_pts = (far["serving_site"].astype(str) != "").any(["tier", "year"]).values
    lon = np.concatenate([far["site_lon"].values, far["point_lon"].values[served_pts]])
    xlim = hv.Store.lookup_options("bokeh", unserved, "plot").kwargs["xlim"]
    x0, x1 = _merc(np.array([lon.min(), lon.max()]), np.array([0.0, 0.0]))[0]
    width = x1 - x0
    assert xlim[1] < x145[0] and x0 - 0.05 * width <= xlim[0] <= x0 and x1 <= xlim[1] <= x1 + 0.05 * width
