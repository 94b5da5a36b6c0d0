"""The chain on real data: a siting screen's top candidates, time to power, population demand, the plan."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from powerfirst.geo import round_trip_ms
from powerfirst.models import siting
from powerfirst.models.network import (
    InfeasibleDemandWarning,
    demand_points,
    kpis,
    plan_network,
    site_supply,
)

pytestmark = pytest.mark.realdata


@pytest.fixture(scope="module")
def chain():
    cands = siting.annotate(pd.concat([siting.grid_candidates("US-VA", 3), siting.grid_candidates("DE", 3)],
                                      ignore_index=True))
    scr = siting.screen(cands, settings=siting.ScreenSettings(tier="regional", draws=10, ttp_draws=300, top_k=5))
    sup = site_supply(scr, [2029, 2031], top_n=20, ttp_draws=300, start="2026-01-01")
    dem = demand_points(("US", "Europe"), (2029, 2031), resolution=2, countries=["US", "DE"], market_share=0.02)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        plan = plan_network(dem, sup, sovereignty="eu_residency", time_limit=60)
    return scr, sup, dem, plan, caught


def test_supply_from_a_screen(chain):
    scr, sup, _, _, _ = chain
    assert sup.sizes["site"] == 20
    ranked = scr["rank"].to_series().dropna().sort_values().index[:20]
    assert set(sup["site"].values) == set(ranked)
    # the screen's price and BA headroom layers carry over
    np.testing.assert_allclose(sup["price"].values, scr["price"].sel(site=sup["site"].values).values)
    assert (sup["available_mw"].diff("year") >= 0).all()
    assert set(sup["energisation_path"].values) <= set(scr["path"].values.tolist())


def test_plan_on_real_data_reports_and_respects_residency(chain):
    _, sup, dem, plan, caught = chain
    # US points with no Virginia or German site within 30 ms (Texas, California, ...): reported with the
    # nearest candidate's RTT, and planned as unserved
    assert any(issubclass(w.category, InfeasibleDemandWarning) for w in caught)
    rtt = round_trip_ms(plan["point_lat"].values[:, None], plan["point_lon"].values[:, None],
                        sup["lat"].values[None, :], sup["lon"].values[None, :])
    far = (plan["point_country"].values == "US") & (rtt.min(axis=1) > 30.0)
    assert far.sum() > 10
    reasons = plan["unserved_reason"].sel(tier="regional").values
    for i in np.flatnonzero(far):
        assert "no candidate within the 30 ms regional cap" in reasons[i]
        assert f"at {rtt[i].min():.1f} ms" in reasons[i]
    assert (plan["served_share"].sel(tier="regional").values[far] == 0).all()
    # German demand only from German (EU) sites
    de = plan["point_country"].values == "DE"
    serving = set(plan["serving_site"].values[de].ravel()) - {""}
    countries = dict(zip(sup["site"].values, sup["country"].values, strict=True))
    assert serving and all(countries[s] in ("DE",) for s in serving)
    k = kpis(plan)
    assert k.loc[2031, "energy_twh"] > 0 and k.loc[2031, "gw_regional"] > 0
    assert 0 < k.loc[2031, "share_within_caps"] < 1
    assert plan.attrs["greedy_over_milp"] >= 1 - 1e-6
