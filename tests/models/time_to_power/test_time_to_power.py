"""Time-to-power model: reproducibility, sampler accuracy, composition, monotonicity, ramps,
agreement with the plain reference, bad inputs."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from powerfirst.errors import ValidationError
from powerfirst.io.stages import read_stage_rules, read_stage_table
from powerfirst.models.time_to_power import (
    ALL_PATHS,
    PATH_GRAPHS,
    PATHS,
    SITE_INPUTS,
    Parallel,
    Series,
    Stage,
    Withdrawable,
    evaluate_graph,
    firm_equivalent_mw,
    first_power_reference,
    flexible_allowance_mw,
    graph_stages,
    lognormal_sigma,
    parallel,
    prepare,
    prob_energised_by,
    sample_stage_durations,
    series,
    time_to_power,
)
from powerfirst.models.time_to_power.graph import NEVER


def make_sites(n: int = 6) -> pd.DataFrame:
    classes = ["none", "minor", "substation", "transmission"]
    return pd.DataFrame({
        "site_id": [f"T{i}" for i in range(n)],
        "ba": ["PJM", "PJM", "ERCO", "ERCO", "MISO", "MISO"][:n] if n <= 6 else ["PJM"] * n,
        "country": "US",
        "target_mw": np.linspace(50, 300, n),
        "firm_headroom_mw": np.linspace(0, 60, n),
        "upgrade_class": [classes[i % 4] for i in range(n)],
        "land_status": ["owned", "identified", "none", "optioned", "identified", "owned"][:n] if n <= 6 else "owned",
        "permitting_status": ["approved", "in_progress", "not_started"] * (n // 3) + ["not_started"] * (n % 3),
        "gas_option_mw": np.linspace(10, 100, n),
        "solar_option_mw": np.linspace(5, 200, n),
        "storage_option_mw": np.linspace(5, 80, n),
        "storage_option_mwh": np.linspace(20, 320, n),
    })


@pytest.fixture(scope="module")
def sites():
    return make_sites()


@pytest.fixture(scope="module")
def result(sites):
    return time_to_power(sites, list(PATHS) + ["grid_flexible+grid_firm", "onsite_bridge+grid_firm"], draws=3000,
                         seed=3, start="2026-01-01", tornado_draws=400)


def only_stage(stage: str, path: str = "grid_firm") -> pd.DataFrame:
    """A rules table that drops every stage of ``path`` but ``stage``."""
    rows = [{"stage": s.key, "path": path, "attribute": "*", "op": "", "value": "", "scale": 0.0}
            for s in graph_stages(PATH_GRAPHS[path]) if s.key != stage]
    return pd.DataFrame(rows)


# --- reproducibility ---------------------------------------------------------------------------


def test_seeded_runs_are_reproducible_and_independent_of_other_sites_and_chunks(sites):
    kw = dict(paths=["grid_firm", "onsite_bridge+grid_firm"], draws=1500, seed=11, start="2026-01-01", tornado=False)
    a = time_to_power(sites, **kw)
    b = time_to_power(sites, **kw)
    for v in ("first_power", "prob_energised", "mw_available", "mw_months"):
        np.testing.assert_array_equal(a[v].values, b[v].values)
    c = time_to_power(sites, **{**kw, "seed": 12})
    assert not np.array_equal(a["first_power"].values, c["first_power"].values)
    sub = time_to_power(sites.iloc[[4, 1]], **kw)  # a site's draws do not depend on the others
    np.testing.assert_array_equal(sub["first_power"].sel(site="T1").values, a["first_power"].sel(site="T1").values)
    lazy = time_to_power(sites, **{**kw, "chunks": 4})
    assert lazy["first_power"].chunks is not None
    np.testing.assert_array_equal(lazy["first_power"].values, a["first_power"].values)
    np.testing.assert_array_equal(lazy["mw_available"].values, a["mw_available"].values)


# --- the sampler -------------------------------------------------------------------------------


@pytest.mark.parametrize("p50,p90", [(55.0, 110.0), (36.0, 48.0), (2.0, 4.0)])
def test_single_stage_lognormal_quantiles_match_analytic(sites, p50, p90):
    n = 40_000
    ds = time_to_power(sites.iloc[:1], ["grid_firm"], draws=n, seed=5, tornado=False, quantiles=(0.1, 0.25, 0.5, 0.9),
                       rules=only_stage("large_load_interconnection"),  # the grid process (was interconnection_queue,
                       # still accepted as an alias in overrides)
                       overrides={"interconnection_queue": {"p50": p50, "p90": p90}}, max_months=240)
    sigma = lognormal_sigma(p50, p90)
    for q in (0.1, 0.25, 0.5, 0.9):
        exact = p50 * np.exp(sigma * stats.norm.ppf(q))
        pdf = stats.lognorm.pdf(exact, sigma, scale=p50)
        se = np.sqrt(q * (1 - q) / n) / pdf
        got = float(ds["first_power"].sel(quantile=q).values.squeeze())
        assert abs(got - exact) < 4 * se + 1 / 16, (q, got, exact, se)
    # P(energised by D) is the lognormal CDF
    for m in (24, 55, 90):
        p = float(ds["prob_energised"].sel(month=m).values.squeeze())
        assert abs(p - stats.lognorm.cdf(m, sigma, scale=p50)) < 4 * np.sqrt(0.25 / n) + 1e-3


def test_triangular_stage_moments(sites):
    prep = prepare(sites.iloc[:2], ["onsite_bridge"])
    d = sample_stage_durations(prep, 50_000, seed=2)[:, prep.stages.index("recip_engines")]
    assert d.min() >= 12 - 1e-6 and d.max() <= 18 + 1e-6
    np.testing.assert_allclose(d.mean(axis=1), 15.0, atol=0.05)


def test_supply_chain_correlation_keeps_marginals(sites):
    # an SPP site: SPP's large-load row (the 90-day HILL study) covers no equipment, so the transformer
    # and breakers are drawn (rows that cover them drop them: no stage on top of a figure that includes it)
    prep = prepare(sites.iloc[2:3].assign(ba="SWPP"), ["grid_firm"])
    i, j = prep.stages.index("large_transformer"), prep.stages.index("breakers_switchgear")
    ind = sample_stage_durations(prep, 20_000, seed=1, correlation=0.0)[0]
    cor = sample_stage_durations(prep, 20_000, seed=1, correlation=0.8)[0]
    assert abs(stats.spearmanr(ind[i], ind[j])[0]) < 0.05
    assert stats.spearmanr(cor[i], cor[j])[0] > 0.6
    np.testing.assert_allclose(np.median(cor[i]), 36.0, rtol=0.03)
    np.testing.assert_allclose(np.quantile(cor[j], 0.9), 54.0, rtol=0.05)


# --- composition -------------------------------------------------------------------------------


durations = st.lists(st.floats(0.1, 200.0), min_size=3, max_size=3)


@settings(max_examples=60, deadline=None)
@given(a=durations, b=durations, c=durations)
def test_series_adds_and_parallel_is_at_least_each_branch(a, b, c):
    d = {"x": np.array(a), "y": np.array(b), "z": np.array(c)}
    s = evaluate_graph(series(Stage("x"), Stage("y"), Stage("z")), d)
    np.testing.assert_allclose(s, d["x"] + d["y"] + d["z"])
    p = evaluate_graph(parallel(Stage("x"), Stage("y"), Stage("z")), d)
    for k in "xyz":
        assert (p >= d[k]).all()
    np.testing.assert_allclose(p, np.maximum(np.maximum(d["x"], d["y"]), d["z"]))
    nested = evaluate_graph(series(parallel(Stage("x"), Stage("y")), Stage("z")), d)
    assert (nested >= s - d["x"] - d["y"] + np.maximum(d["x"], d["y"]) - 1e-9).all()
    scaled = evaluate_graph(series(Stage("x", "half"), Stage("y")), d, {"x@half": 0.5})
    np.testing.assert_allclose(scaled, 0.5 * d["x"] + d["y"])


def test_compiled_paths_equal_the_numpy_graphs_draw_by_draw(sites):
    draws = 400
    ds = time_to_power(sites, PATHS, draws=draws, seed=9, keep_draws=True, tornado=False)
    prep = prepare(sites, PATHS)
    dur = sample_stage_durations(prep, draws, seed=9)
    for i in range(len(sites)):
        d = {s: dur[i, k] for k, s in enumerate(prep.stages)}
        for p, path in enumerate(PATHS):
            if prep.mw[i, p] <= 0:
                assert np.isnan(ds["first_power_draws"].values[i, p]).all()
                continue
            scales = {st_.key: float(prep.node_scale[i, j]) for j, (pp, st_) in enumerate(prep.nodes) if pp == path}
            shifts = {st_.key: float(prep.node_shift[i, j]) for j, (pp, st_) in enumerate(prep.nodes) if pp == path}
            want = evaluate_graph(PATH_GRAPHS[path], d, scales, shifts)
            want = np.where(want >= 0.5 * NEVER, np.nan, want)  # withdrawn requests never energise
            np.testing.assert_allclose(ds["first_power_draws"].values[i, p], want, rtol=2e-6, atol=1e-4)


def test_rules_follow_the_site_attributes(sites):
    # SPP sites: their large-load row covers no upgrade, so only the rules decide the upgrade stages
    prep = prepare(sites.assign(ba="SWPP"), ["grid_firm", "grid_flexible", "onsite_bridge"])
    col = {(p, s.key): j for j, (p, s) in enumerate(prep.nodes)}
    scale = prep.node_scale
    lt = col[("grid_firm", "large_transformer")]
    tl = col[("grid_firm", "transmission_line")]
    assert scale[0, lt] == 0 and scale[1, lt] == 0 and scale[2, lt] == 1 and scale[3, lt] == 1  # none/minor/sub/trans
    assert scale[2, tl] == 0 and scale[3, tl] == 1
    perm = col[("grid_firm", "site_permitting")]
    assert [scale[i, perm] for i in range(3)] == [0, 0.5, 1]
    land = col[("onsite_bridge", "land_acquisition")]
    assert [scale[i, land] for i in range(3)] == [0, 1, 2]
    assert prep.dist_id[0, prep.stages.index("large_transformer")] == -1  # stage absent: not even drawn


# --- outputs -----------------------------------------------------------------------------------


def test_probability_is_monotonic_and_quantiles_ordered(result):
    p = result["prob_energised"].values
    assert (np.diff(p, axis=-1) >= -1e-7).all()
    assert ((p >= 0) & (p <= 1)).all()
    mw = result["mw_available"].values
    assert (np.diff(mw, axis=-1) >= -1e-4).all()
    assert (mw <= result["mw"].values[..., None] + 1e-3).all()
    q = result["first_power"].values
    ok = np.isfinite(q).all(axis=-1)
    assert (np.diff(q[ok], axis=-1) >= 0).all()
    by = prob_energised_by(result, [12, 24, 36, 60, 120])
    assert (by.diff("by_month") >= -1e-7).all()


@settings(max_examples=8, deadline=None)
@given(seed=st.integers(0, 2**31), scale=st.floats(0.3, 3.0))
def test_probability_monotonic_for_any_seed_and_stage_scale(seed, scale):
    s = make_sites(3)
    ds = time_to_power(s, ["grid_firm", "grid_flexible+grid_firm"], draws=300, seed=seed, tornado=False,
                       overrides={"interconnection_queue": {"p50": 55 * scale, "p90": 110 * scale}})
    assert (np.diff(ds["prob_energised"].values, axis=-1) >= -1e-7).all()


def test_combination_ramps(result):
    flex, firm = result.sel(path="grid_flexible"), result.sel(path="grid_firm")
    combo = result.sel(path="grid_flexible+grid_firm")
    np.testing.assert_allclose(combo["mw"], np.maximum(flex["mw"], firm["mw"]))
    # first power of the combination is never later than either component (same draws)
    assert (combo["prob_energised"] >= np.maximum(flex["prob_energised"], firm["prob_energised"]) - 1e-6).all()
    assert (combo["mw_available"] >= np.maximum(flex["mw_available"], firm["mw_available"]) - 1e-3).all()
    bridge = result.sel(path="onsite_bridge+grid_firm")
    np.testing.assert_allclose(bridge["mw"], result["mw"].sel(path="grid_firm"))
    assert (bridge["mw_months"] >= result["mw_months"].sel(path="onsite_bridge") - 1e-6).all()


def test_units_and_dims(result):
    for name, da in result.data_vars.items():
        assert "units" in da.attrs, name
    assert result["first_power"].attrs["units"] == "month"
    assert result["mw_available"].attrs["units"] == "MW"
    assert result["mw_months"].attrs["units"] == "MW-month"
    assert result["prob_energised"].attrs["units"] == "1"
    assert set(result["first_power"].dims) == {"site", "path", "quantile"}
    assert set(result["mw_available"].dims) == {"site", "path", "month"}
    assert result.attrs["seed"] == 3 and "powerfirst_version" in result.attrs


def test_tornado_and_best_path(result):
    sw = result["tornado_swing"].sel(site="T3", path="grid_firm")
    assert np.isfinite(sw.sel(stage="large_load_interconnection"))
    assert np.isnan(result["tornado_swing"].sel(site="T0", path="grid_firm", stage="large_transformer"))
    lo = result["tornado_p10"].sel(site="T3", path="grid_firm", stage="large_load_interconnection")
    hi = result["tornado_p90"].sel(site="T3", path="grid_firm", stage="large_load_interconnection")
    assert lo <= 0 <= hi
    assert result["tornado_top_stage"].sel(site="T3", path="grid_firm") == result["stage"].values[int(np.argmax(sw.fillna(-1).values))]
    assert set(result["best_path"].values) <= set(result["path"].values)
    from powerfirst.models.time_to_power import best_path

    b = best_path(result, "p50")
    for s in result["site"].values:
        p50 = result["first_power"].sel(site=s, quantile=0.5).to_series().dropna()
        assert b.sel(site=s) == p50.idxmin()


def test_reference_loop_agrees_within_monte_carlo_error(sites):
    n = 8000
    ds = time_to_power(sites, PATHS, draws=n, seed=4, tornado=False)
    prep = prepare(sites, PATHS)
    ref = first_power_reference(prep, n, seed=4)
    fast = ds["first_power"].values
    ok = np.isfinite(ref) & np.isfinite(fast)
    assert ok[..., 1].sum() >= 18
    assert np.nanmax(np.abs(fast[..., 1][ok[..., 1]] / ref[..., 1][ok[..., 1]] - 1)) < 0.05


# --- MW of the paths ---------------------------------------------------------------------------


def test_firm_equivalent_and_flexible_allowance():
    # 100 MW PV at cf 0.2: 480 MWh/day over 10 h direct + 14 h via storage at 85 %
    fe = firm_equivalent_mw(100.0, 50.0, 1000.0, 0.2)
    np.testing.assert_allclose(fe, 480.0 / (10 + 14 / 0.85))
    assert firm_equivalent_mw(100.0, 5.0, 1000.0, 0.2) == 5.0
    assert firm_equivalent_mw(100.0, 50.0, 140.0, 0.2) == 10.0
    a = flexible_allowance_mw([100, 300, 50], [0, 100, 50], ["A", "A", "B"], {"A": 150, "B": 10})
    np.testing.assert_allclose(a, [50, 100, 0])
    np.testing.assert_allclose(flexible_allowance_mw([100], [20], ["A"]), [40])
    with pytest.raises(ValidationError, match="no flexible headroom for BA 'B'"):
        flexible_allowance_mw([100, 100], [0, 0], ["A", "B"], {"A": 10})


def test_flexible_mw_from_a_headroom_dataarray(sites):
    import xarray as xr

    hr = xr.DataArray([0.0, 1000.0, 5.0], dims="ba", coords={"ba": ["PJM", "ERCO", "MISO"]})
    ds = time_to_power(sites, ["grid_flexible"], draws=200, tornado=False, flexible_mw=hr)
    mw = ds["mw"].sel(path="grid_flexible").to_series()
    fh = sites.set_index("site_id")["firm_headroom_mw"]
    np.testing.assert_allclose(mw[["T0", "T1"]], fh[["T0", "T1"]])          # PJM: no flexible headroom
    np.testing.assert_allclose(mw[["T2", "T3"]], sites.set_index("site_id")["target_mw"][["T2", "T3"]])
    assert mw[["T4", "T5"]].sum() == pytest.approx(fh[["T4", "T5"]].sum() + 5.0)


# --- stage tables ------------------------------------------------------------------------------


def test_stage_table_defaults_come_from_the_facts():
    t = read_stage_table()
    first = t.drop_duplicates("stage").set_index("stage")
    assert first.loc["large_transformer", "p50"] == 36 and first.loc["large_transformer", "p90"] == 48
    assert "National Infrastructure Advisory Council" in first.loc["large_transformer", "source"]
    # the grid process is the large-load process (the generator queue figure of Queued Up is gone): every
    # row names its source and says what its figure covers
    lli = t[t["stage"] == "large_load_interconnection"]
    assert "interconnection_queue" not in set(t["stage"])
    assert lli["source"].str.len().gt(20).all()
    assert (lli["covers"].str.len().gt(0) | lli["note"].str.contains("covers")).all()
    pjm = lli[lli["region"] == "PJM"].set_index("size_class")
    assert pjm.loc["100-300", "p50"] < pjm.loc["300-1000", "p50"] and "axios" in pjm.loc["100-300", "source"]
    assert first.loc["breakers_switchgear", "p90"] == 54 and "WAPA" in first.loc["breakers_switchgear", "source"]
    assert (t["kind"].str.contains("assumption") | t["kind"].isin(["fact", "fit"])).all()
    assert t.loc[t["kind"] == "assumption", "note"].str.contains("ASSUMPTION").all()
    rules = read_stage_rules()
    assert rules.loc[rules["kind"] == "assumption", "note"].str.contains("ASSUMPTION").all()


def test_bad_facts_reference_is_reported(tmp_path):
    from powerfirst.io.stages import stage_table_path

    t = pd.read_csv(stage_table_path(), dtype=str, keep_default_na=False)
    t.loc[1, "facts"] = "p50=lead_time_large_power_transformer.value"  # matches several rows
    t.to_csv(tmp_path / "stages.csv", index=False)
    from powerfirst.io.facts import read_facts

    n = int((read_facts()["quantity"] == "lead_time_large_power_transformer").sum())
    assert n >= 2
    with pytest.raises(ValidationError, match=f"matches {n} rows of the facts tables; it must match exactly one"):
        read_stage_table(tmp_path / "stages.csv")


# --- bad inputs --------------------------------------------------------------------------------


def test_bad_durations_are_all_reported_with_stage_and_site(sites):
    with pytest.raises(ValidationError) as exc:
        time_to_power(sites, draws=10, overrides=[
            {"stage": "large_transformer", "p50": -3.0, "p90": 10.0},
            {"stage": "site_construction", "p50": 20.0, "p90": 12.0, "site": "T2"},
            {"stage": "warp_drive", "p50": 3.0, "p90": 6.0},
            {"stage": "recip_engines", "distribution": "triangular", "low": 20, "mode": 10, "high": 30},
            {"stage": "energisation", "p50": 0.0, "p90": 1.0, "site": "T9"},
        ])
    msg = str(exc.value)
    assert "stage 'large_transformer': durations must be positive; p50 is -3" in msg
    assert "'T2'" in msg and "stage 'site_construction': p90 (12) must be above p50 (20)" in msg
    assert "unknown stage 'warp_drive'" in msg
    assert "expected low <= mode <= high, found 20, 10, 30" in msg
    assert "stage 'energisation': durations must be positive; p50 is 0" in msg
    assert "'T9': override for a site not in the site list" in msg
    assert len(exc.value.problems) == 6


def test_unknown_paths_and_bridge_technology(sites):
    with pytest.raises(ValidationError, match="unknown path 'grid_fast'"):
        time_to_power(sites, ["grid_firm", "grid_fast"], draws=10)
    with pytest.raises(ValidationError, match="unknown path 'warp'"):
        time_to_power(sites, ["onsite_bridge+warp"], draws=10)
    with pytest.raises(ValidationError, match="unknown bridge technology 'diesel'"):
        time_to_power(sites, draws=10, bridge_technology="diesel")


def test_missing_inputs_take_their_documented_default_and_are_reported(sites):
    """Every site input is optional (the issue): a missing column or cell takes its documented default,
    reported in input_default; a value that is wrong still fails, naming site and column."""
    bad = sites.copy()
    bad.loc[1, "gas_option_mw"] = np.nan
    bad = bad.drop(columns=["storage_option_mwh"])
    ds = time_to_power(bad, ["grid_firm", "onsite_bridge", "solar_storage"], draws=50, tornado=False)
    d = ds["input_default"]
    assert bool(d.sel(site="T1", input="gas_option_mw")) and not bool(d.sel(site="T0", input="gas_option_mw"))
    assert bool(d.sel(input="storage_option_mwh").all()) and bool(d.sel(input="start_date").all())
    assert float(ds["mw"].sel(site="T1", path="onsite_bridge")) == 0
    assert "gas_option_mw is 0" in str(ds["unavailable_reason"].sel(site="T1", path="onsite_bridge").values)
    bad.loc[3, "target_mw"] = 0.0
    with pytest.raises(ValidationError, match="column 'target_mw', 'T3': must be positive"):
        time_to_power(bad, draws=10)


def test_bad_stage_table_rows_are_collected():
    t = read_stage_table()
    t.loc[t["stage"] == "energisation", "p90"] = 1.0
    t.loc[t["stage"] == "fuel_cells", "distribution"] = "weibull"
    with pytest.raises(ValidationError) as exc:
        time_to_power(make_sites(2), draws=10, stages=t)
    msg = str(exc.value)
    assert "stage 'energisation': p90 (1) must be above p50 (2)" in msg
    assert "stage 'fuel_cells': unknown distribution 'weibull'" in msg


def test_demo_sites_run_and_units_of_the_read_sites_path():
    from powerfirst import demo_sites

    ds = time_to_power(demo_sites().isel(site=slice(0, 10)), draws=300, tornado=False)
    # the default paths are now ALL_PATHS (the issue adds existing service, co-location, bridge then grid and
    # permanent on-site generation to the four of earlier versions)
    assert ds.sizes == {"site": 10, "path": len(ALL_PATHS), "quantile": 3, "month": 121, "by_month": 4,
                        "input": len(SITE_INPUTS), "stage": ds.sizes["stage"]}
    assert len(SITE_INPUTS) == 18  # 15 + facility_type, colocated_plant_owner, utility
    assert (ds["mw"] <= ds["target_mw"] if "target_mw" in ds else True)


# --- CLI ---------------------------------------------------------------------------------------


def test_cli_json_records(capsys):
    from powerfirst.cli import main

    assert main(["ttp", "--sites", "demo", "--draws", "300", "--seed", "2", "--format", "json"]) == 0
    recs = json.loads(capsys.readouterr().out)
    assert len(recs) == 197 * len(ALL_PATHS)
    # today's keys are kept; the issue adds the new ones
    assert set(recs[0]) >= {"site", "path", "p10_months", "p50_months", "p90_months", "mw", "prob_by_24m",
                            "prob_by_36m", "prob_by_60m"}
    assert set(recs[0]) >= {"prob_by_12m", "full_p50_months", "prob_never", "prob_withdrawn", "mw_months",
                            "available", "unavailable_reason", "start_date", "request_date", "defaults_used",
                            "fastest_path", "most_mw_months_path"}
    off = [x for x in recs if not x["available"]]
    assert off and all(x["unavailable_reason"] for x in off)
    r = [x for x in recs if x["p50_months"] is not None][0]
    assert r["p10_months"] <= r["p50_months"] <= r["p90_months"]
    assert 0 <= r["prob_by_24m"] <= r["prob_by_36m"] <= r["prob_by_60m"] <= 1


def test_cli_reports_bad_paths(capsys):
    from powerfirst.cli import main

    assert main(["ttp", "--sites", "demo", "--draws", "10", "--paths", "grid_firm,bogus"]) == 1
    assert "unknown path 'bogus'" in capsys.readouterr().err


def test_graph_types():
    g = PATH_GRAPHS["grid_firm"]
    # ready for service: (grid request, withdrawable, then commissioning) beside (site branch, then commissioning)
    assert isinstance(g, Parallel) and all(isinstance(b, Series) for b in g.parts)
    power, site = g.parts
    assert isinstance(power.parts[0], Withdrawable) and isinstance(power.parts[0].part, Parallel)
    assert power.parts[-1].key == "energisation" and site.parts[-1].key == "energisation@site"
    assert {s.name for s in graph_stages(g)} >= {"large_load_interconnection", "withdrawal", "large_transformer",
                                                 "energisation"}


def test_firm_request_within_headroom_is_faster():
    """A site whose firm headroom covers its target skips the deliverability process (rules.csv)."""
    import pandas as pd

    from powerfirst.models.time_to_power import time_to_power

    base = dict(name="x", lat=39.0, lon=-77.5, country="US", ba="PJM", target_mw=100.0, upgrade_class="none",
                land_status="owned", permitting_status="approved")
    df = pd.DataFrame([{**base, "site_id": "covered", "firm_headroom_mw": 100.0},
                       {**base, "site_id": "short", "firm_headroom_mw": 20.0}])
    # the site branch made short (a site ready to build) so that the grid process sets the pace
    res = time_to_power(df, paths=["grid_firm"], draws=4000, seed=3,
                        overrides={"site_construction": {"p50": 1.0, "p90": 2.0}})
    p50 = res["p50_months"] if "p50_months" in res else res["first_power"].sel(quantile=0.5)
    assert float(p50.sel(site="covered").squeeze()) < 0.6 * float(p50.sel(site="short").squeeze())


@pytest.mark.parametrize("service, expected", [(0.1, {"hyperscale": 12.0, "light_industrial": 10.0}),
                                               (11.0, {"hyperscale": 13.0, "light_industrial": 13.0})])
def test_a_building_row_that_covers_commissioning_is_not_commissioned_twice(service, expected):
    """``covers: energisation@site`` (the light-industrial and modular rows run to energisation).

    Fixed durations: building 10, commissioning 2, service transfer ``service`` [month]; ready =
    max(service + 2, building + 2) for a hyperscale hall, max(service + 2, building) for a
    light-industrial hall, whose figure already includes its commissioning."""
    import pandas as pd

    from powerfirst.models.time_to_power import time_to_power

    base = dict(lat=39.0, lon=-77.5, country="US", ba="PJM", target_mw=50.0, existing_service_mw=50.0,
                land_status="owned", permitting_status="approved")
    df = pd.DataFrame([{**base, "site_id": ft, "facility_type": ft} for ft in expected])
    fixed = {"distribution": "fixed"}
    res = time_to_power(df, paths=["existing_service"], draws=200, seed=1, tornado=False,
                        overrides={"site_construction": {**fixed, "p50": 10.0}, "energisation": {**fixed, "p50": 2.0},
                                   "service_transfer": {**fixed, "p50": service}})
    for ft, months in expected.items():
        q = res["first_power"].sel(site=ft).isel(path=0).values
        # quantiles are read from histograms of 16 bins per month: exact to one bin
        np.testing.assert_allclose(q, months, atol=1 / 16)
    assert str(res["facility_type"].sel(site="light_industrial").item()) == "light_industrial"
