"""Views of the time-to-power result: the all-sites table (never NaN, sorted with the reasons last,
fastest path highlighted), a tornado whose labels cannot overlap, MW ramps on the site's own scale,
the stage rows behind grid_firm and the withdrawal fit per market."""

from __future__ import annotations

import holoviews as hv
import pandas as pd
import pytest

from powerfirst.apps.time_to_power import read_queue_fit
from powerfirst.errors import ValidationError
from powerfirst.io.stages import read_stage_table
from powerfirst.models.time_to_power import time_to_power
from powerfirst.viz import time_to_power as vt

PATHS = ["grid_firm", "grid_flexible", "existing_service", "colocation", "onsite_bridge", "solar_storage",
         "onsite_bridge+grid_firm"]
BASE = dict(country="US", upgrade_class="substation", land_status="owned", permitting_status="approved",
            firm_headroom_mw=0.0, gas_option_mw=0.0, solar_option_mw=0.0, storage_option_mw=0.0,
            storage_option_mwh=0.0)


def sites() -> pd.DataFrame:
    rows = [
        dict(site_id="small_pjm", ba="PJM", target_mw=40.0, gas_option_mw=20.0, firm_headroom_mw=10.0),
        dict(site_id="big_miso", ba="MISO", target_mw=1500.0, solar_option_mw=400.0, storage_option_mw=200.0,
             storage_option_mwh=800.0, firm_headroom_mw=100.0, land_status="identified",
             permitting_status="not_started", upgrade_class="transmission"),
        dict(site_id="plant_ercot", ba="ERCO", target_mw=300.0, colocated_plant_mw=250.0,
             colocated_plant="a gas plant", existing_service_mw=30.0, start_date="2027-04-01"),
        dict(site_id="tva_no_options", ba="TVA", target_mw=120.0),
    ]
    return pd.DataFrame([{**BASE, **r} for r in rows])


@pytest.fixture(scope="module")
def ds():
    return time_to_power(sites(), PATHS, draws=1500, seed=4, start="2026-01-01", tornado_draws=400)


def render(obj):
    return hv.render(obj, backend="bokeh")


# ------------------------------------------------------------------------------- all sites


def test_all_sites_frame_never_nan_and_says_why(ds):
    f = vt.all_sites_frame(ds)
    assert list(f["site"]) == ["small_pjm", "big_miso", "plant_ercot", "tva_no_options"]
    assert not f.isna().any().any()
    t = f.set_index("site")
    assert t.loc["small_pjm", "colocation [month]"] == "colocated_plant_mw is 0 (no adjacent plant)"
    assert t.loc["big_miso", "onsite_bridge [month]"] == "gas_option_mw is 0 (no on-site generation option)"
    assert t.loc["tva_no_options", "solar_storage [month]"] == "no solar or storage option and no firm headroom (0 MW)"
    assert isinstance(t.loc["plant_ercot", "colocation [month]"], float)
    assert t.loc["big_miso", "grid_firm [month]"] == pytest.approx(
        float(ds["first_power"].sel(site="big_miso", path="grid_firm", quantile=0.5)), abs=0.051)
    # the fastest path is the available path with the smallest P50, and it is the model's
    for site, row in t.iterrows():
        nums = {p: row[f"{p} [month]"] for p in PATHS if isinstance(row[f"{p} [month]"], float)}
        assert row["fastest path"] == min(nums, key=nums.get) == str(ds["fastest_path"].sel(site=site).values)
        assert row["most MW-months path"] == str(ds["most_mw_months_path"].sel(site=site).values)
    assert t["MW reachable [MW]"].to_dict() == {"small_pjm": 40.0, "big_miso": 1500.0, "plant_ercot": 300.0,
                                                "tva_no_options": 120.0}


def test_all_sites_frame_other_metrics_and_a_path_that_never_energises():
    # a large-load process of 50 years: no draw energises within the 240-month histogram
    slow = time_to_power(sites().iloc[[3]], ["grid_firm", "solar_storage"], draws=300, seed=1, tornado=False,
                         start="2026-01-01", overrides={"large_load_interconnection": {"p50": 600.0, "p90": 700.0}})
    f = vt.all_sites_frame(slow)
    assert f.loc[0, "grid_firm [month]"] == vt.NO_POWER
    assert f.loc[0, "fastest P50 [month]"] == vt.NO_POWER  # its only available path
    never = vt.all_sites_frame(slow, "prob_never")
    assert never.loc[0, "grid_firm [1]"] == 1.0
    mwm = vt.all_sites_frame(slow, "mw_months")
    assert mwm.loc[0, "grid_firm [MW-month]"] == 0.0
    assert mwm.attrs["unit"] == "MW-month" and mwm.attrs["path_columns"]["grid_firm"] == "grid_firm [MW-month]"
    with pytest.raises(ValidationError, match="metric: expected one of p50, prob_never, mw_months, found 'p90'"):
        vt.all_sites_frame(slow, "p90")


def test_sort_sites_numbers_in_order_reasons_last_either_way(ds):
    f = vt.all_sites_frame(ds)
    up = vt.sort_sites(f, "colocation [month]")
    assert up.loc[0, "site"] == "plant_ercot" and all(isinstance(v, str) for v in up["colocation [month]"][1:])
    assert list(up["site"][1:]) == ["small_pjm", "big_miso", "tva_no_options"]  # stable among the reasons
    for asc in (True, False):
        s = vt.sort_sites(f, "grid_firm [month]", ascending=asc)["grid_firm [month]"].astype(float)
        assert (s.is_monotonic_increasing if asc else s.is_monotonic_decreasing)
        col = vt.sort_sites(f, "solar_storage [month]", ascending=asc)["solar_storage [month]"]
        text = col.map(lambda v: isinstance(v, str)).to_numpy()
        assert 0 < text.sum() < len(col) and text[-text.sum():].all()  # every reason after every number
    assert list(vt.sort_sites(f, "site", ascending=False)["site"]) == sorted(f["site"], reverse=True)
    with pytest.raises(ValidationError, match="sort by: expected one of the table's columns .* found 'speed'"):
        vt.sort_sites(f, "speed")


def test_styles_highlight_the_fastest_cell_after_any_sort(ds):
    f = vt.sort_sites(vt.all_sites_frame(ds), "MW reachable [MW]", ascending=False)
    f.attrs.clear()  # as a table widget may hand it back: the path columns are found by position
    css = vt.all_sites_styles(f)
    assert css.shape == f.shape
    for i, row in f.iterrows():
        fast = f"{row['fastest path']} [month]"
        assert vt.FASTEST_STYLE in css.loc[i, fast]
        assert sum(vt.FASTEST_STYLE in c for c in css.loc[i]) == 1
        best = f"{row['most MW-months path']} [month]"
        assert vt.MOST_MW_MONTHS_STYLE in css.loc[i, best]
        for c in f.columns:
            if c.split(" [")[0] in PATHS and isinstance(row[c], str):
                assert css.loc[i, c] == vt.REASON_STYLE


def test_site_frame(ds):
    t = vt.site_frame(ds, "plant_ercot").set_index("path")
    assert t.loc["onsite_bridge", "status"] == "gas_option_mw is 0 (no on-site generation option)"
    assert t.loc["onsite_bridge", "P50 [month]"] == "—"
    assert t.loc["colocation", "status"] == "available" and t.loc["colocation", "MW [MW]"] == 250.0
    # the plant covers 250 of 300 MW: colocation alone never reaches the target
    assert t.loc["colocation", "P50 full MW [month]"] == "target_mw not reached"
    assert t["fastest"].sum() == 1
    with pytest.raises(ValidationError, match="no site 'nowhere' in the result"):
        vt.site_frame(ds, "nowhere")


# --------------------------------------------------------------------------------- tornado


def test_tornado_labels_one_row_each_height_grows_legend_off_the_bars(ds):
    full = vt.tornado_frame(ds, "big_miso", "grid_flexible")
    moving = full[full["swing"] > 0]
    assert len(moving) >= 5, moving
    fig = render(vt.tornado_chart(ds, "big_miso", "grid_flexible"))
    factors = [str(f) for f in fig.y_range.factors]
    assert factors == list(moving["stage"])  # one categorical row per stage, largest swing on top
    assert len(set(factors)) == len(factors)
    assert (fig.height - 110) / len(factors) >= 30  # 30 px per label: the labels cannot overlap
    assert any(type(m).__name__ == "Legend" for m in fig.right)
    assert not any(type(m).__name__ == "Legend" for m in fig.center)
    few = render(vt.tornado_chart(ds, "big_miso", "grid_flexible", max_stages=2))
    assert [str(f) for f in few.y_range.factors] == list(moving["stage"][-2:])
    assert few.height < fig.height and fig.height - few.height == 30 * (len(factors) - 2)
    # held at its P10 a stage cannot delay, at its P90 it cannot speed up
    assert (moving["at P10"] <= 1e-9).all() and (moving["at P90"] >= -1e-9).all()


def test_tornado_of_an_unavailable_path_says_why(ds):
    fig = vt.tornado_chart(ds, "tva_no_options", "onsite_bridge")
    assert "path unavailable: gas_option_mw is 0" in fig.opts.get().kwargs["title"]
    with pytest.raises(ValidationError, match="no path 'grid' in the result"):
        vt.tornado_chart(ds, "tva_no_options", "grid")
    with pytest.raises(ValidationError, match="row_height: expected an integer >= 16"):
        vt.tornado_chart(ds, "big_miso", "grid_firm", row_height=5)


# ------------------------------------------------------------------------------------ ramp


@pytest.mark.parametrize("site", ["small_pjm", "big_miso"])
def test_ramp_axis_follows_the_site_mw_with_units(ds, site):
    fig = render(vt.mw_ramp(ds, site))
    top = float(ds["mw"].sel(site=site).max())
    assert fig.y_range.start == 0 and fig.y_range.end == pytest.approx(1.08 * top)
    assert fig.yaxis[0].axis_label == "expected MW available [MW]"
    assert "start_date 2026-01-01" in fig.xaxis[0].axis_label
    drawn = {it.label["value"] for it in fig.legend[0].items}
    avail = {p for p in PATHS if bool(ds["available"].sel(site=site, path=p))}
    assert drawn == avail


def test_ramp_dates_start_at_the_sites_own_start_date(ds):
    df = vt.ramp_frame(ds, "plant_ercot")
    assert df["date"].iloc[0] == pd.Timestamp("2027-04-01") and df["date"].iloc[12] == pd.Timestamp("2028-04-01")
    assert set(df["path"]) == {p for p in PATHS if bool(ds["available"].sel(site="plant_ercot", path=p))}
    sub = df[df["path"] == "onsite_bridge+grid_firm"] if "onsite_bridge+grid_firm" in set(df["path"]) else df
    assert sub["mw_available"].is_monotonic_increasing  # expected MW only grows: nothing is taken away
    fan = vt.fan_frame(ds, "plant_ercot").set_index("path")
    m = fan.loc["grid_firm", "p50_months"]
    assert fan.loc["grid_firm", "p50_date"] == pd.Timestamp("2027-04-01") + pd.DateOffset(days=int(round(m * 30.4375)))


# ------------------------------------------------------------------- stage rows and withdrawal


def test_stage_row_frame_names_the_row_and_its_source():
    s = pd.DataFrame([{**BASE, "site_id": f"{ba}-{mw:g}", "ba": ba, "target_mw": mw}
                      for ba in ("PJM", "MISO", "SWPP", "TVA") for mw in (50.0, 600.0)])
    r = time_to_power(s, ["grid_firm"], draws=300, seed=1, start="2026-01-01", tornado=False)
    f = vt.stage_row_frame(r).set_index("site")
    assert f.loc["PJM-50", "row used"] == "PJM/<100" and f.loc["PJM-600", "row used"] == "PJM/300-1000"
    assert f.loc["SWPP-600", "row used"] == "SPP/any size" and f.loc["TVA-50", "row used"] == "default/any size"
    t = read_stage_table()
    lli = t[t["stage"] == "large_load_interconnection"]
    for site, region, size in (("PJM-600", "PJM", "300-1000"), ("MISO-50", "MISO", "<100"), ("TVA-600", "", "")):
        row = lli[(lli["region"] == region) & (lli["size_class"] == size)].iloc[0]
        assert f.loc[site, "p50 [month]"] == row["p50"] and f.loc[site, "source"] == row["source"] != ""
        assert f.loc[site, "covers"] == row["covers"]
    assert f.loc["PJM-600", "grid_firm P50 [month]"] > f.loc["PJM-50", "grid_firm P50 [month]"]


def test_withdrawal_share_is_the_fitted_lognormal():
    assert vt.withdrawal_share(60.0, 77.0, [60.0, 77.0]) == pytest.approx([0.5, 0.9])
    fit = read_queue_fit()
    for _, r in fit[fit["quantity"] == "time_to_withdrawal"].iterrows():
        assert vt.withdrawal_share(r["p50"], r["p90"], 60.0) == pytest.approx(r["cif_withdrawn_fit_60"], abs=0.002)
    with pytest.raises(ValidationError, match="expected 0 < p50 < p90"):
        vt.withdrawal_share(60.0, 50.0, 60.0)


def test_withdrawal_fit_frame_per_market(ds):
    fit = read_queue_fit()
    w = vt.withdrawal_fit_frame(ds, fit).set_index("market")
    assert set(w.index) == {"PJM", "MISO", "ERCOT", "US"}
    pooled = fit[(fit["quantity"] == "time_to_withdrawal") & (fit["cohort"] == "all")].iloc[0]
    assert w.loc["PJM", "withdrawal row"] == "PJM/any size"
    for m in (36, 60, 72):
        assert w.loc["PJM", f"fitted by {m} months [1]"] == pytest.approx(pooled[f"cif_withdrawn_fit_{m}"], abs=0.002)
        assert w.loc["PJM", f"empirical by {m} months [1]"] == pytest.approx(pooled[f"cif_withdrawn_empirical_{m}"],
                                                                            abs=5e-4)
        assert w.loc["MISO", f"empirical by {m} months [1]"] == "no public queue data"
    assert "n=860" in w.loc["PJM", "queue data"] and "ASSUMPTION" in w.loc["US", "queue data"]
    # a fit_withdrawal output has no region column: fit_region says whose queue it is
    bare = fit[fit["quantity"] == "time_to_withdrawal"].drop(columns=["region", "quantity"])
    w2 = vt.withdrawal_fit_frame(ds, bare, fit_region="MISO").set_index("market")
    assert isinstance(w2.loc["MISO", "empirical by 60 months [1]"], float)
    assert w2.loc["PJM", "empirical by 60 months [1]"] == "no public queue data"
    with pytest.raises(ValidationError, match="the fit has no column 'cif_withdrawn_empirical_48'"):
        vt.withdrawal_fit_frame(ds, fit, months=(48,))
    with pytest.raises(ValidationError, match="expected the xarray.Dataset of powerfirst.models.time_to_power"):
        vt.withdrawal_fit_frame(fit, fit)


@pytest.mark.parametrize("view", ["energisation_fan", "energisation_cdf", "mw_ramp", "tornado_chart"])
def test_no_legend_sits_on_the_curves(ds, view):
    """The issue: legends covered the curves. A legend, where a view has one, sits beside the plot."""
    args = ("big_miso", "grid_flexible") if view == "tornado_chart" else ("big_miso",)
    fig = render(getattr(vt, view)(ds, *args))
    assert not any(type(m).__name__ == "Legend" for m in fig.center)
    legends = sum(type(m).__name__ == "Legend" for side in (fig.right, fig.left, fig.above, fig.below) for m in side)
    assert legends == (0 if view == "energisation_fan" else 1)  # the fan names its rows on the axis
