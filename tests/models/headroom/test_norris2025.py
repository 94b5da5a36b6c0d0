"""The threshold rule of the study (``'norris2025'``) against ``'seasonal'``: analytic months, bad names,
and the 22-BA totals and per-BA headroom against Norris et al. (2025)."""

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from powerfirst.errors import ValidationError
from powerfirst.io.facts import read_facts
from powerfirst.models.headroom import (
    NORRIS2025_RULE,
    THRESHOLD_RULES,
    flexible_headroom,
    local_months,
    seasonal_thresholds,
)

SUMMER = (4, 5, 6, 7, 8, 9, 10)  # months the summer peak applies to (both rules)


def peaked_load():
    """Flat 100 MW over 2021-2022 with single-hour peaks whose months decide each rule's thresholds.

    Local time is Los Angeles for both BAs (UTC-8 in winter, UTC-7 in summer):

    * 150 MW on 15 Jul 2022 and 140 MW on 10 Jan 2022: the core-month (Jun-Aug, Dec-Feb) peaks;
    * 170 MW at 2022-10-01 05:00 UTC = 30 Sep 22:00 local: inside May-Sep only in local time;
    * 160 MW on 5 Mar 2022: inside Nov-Mar, outside Dec-Feb;
    * 300 MW on 20 Apr 2022: a month the summer peak applies to, but in no peak set.
    """
    t = pd.date_range("2021-01-01", "2022-12-31 23:00", freq="h")
    x = np.full((2, t.size), 100.0)
    for when, mw in (("2022-07-15 20:00", 150), ("2022-01-10 02:00", 140), ("2022-10-01 05:00", 170),
                     ("2022-03-05 02:00", 160), ("2022-04-20 20:00", 300)):
        x[:, t.get_loc(pd.Timestamp(when))] = mw
    return xr.DataArray(x, dims=("ba", "time"), coords={"ba": ["CISO", "PJM"], "time": t,
                                                       "timezone": ("ba", ["America/Los_Angeles"] * 2)})


def test_norris2025_months_analytic():
    load = peaked_load()
    t = load.indexes["time"]
    months = local_months(t, "America/Los_Angeles")
    summer = np.isin(months, SUMMER)
    expect = {  # (rule, BA) -> (summer threshold, winter threshold) [MW]
        ("seasonal", "CISO"): (150, 140), ("seasonal", "PJM"): (150, 140),
        # footnote 20 widens CISO's peak months to May-Sep and Nov-Mar; PJM keeps the core months
        ("norris2025", "CISO"): (170, 160), ("norris2025", "PJM"): (150, 140),
    }
    for (rule, ba), (s, w) in expect.items():
        thr = seasonal_thresholds(load, rule).sel(ba=ba)
        assert float(thr["summer_peak_mw"]) == s and float(thr["winter_peak_mw"]) == w, (rule, ba)
        np.testing.assert_array_equal(thr.values, np.where(summer, s, w))  # every hour gets its season's peak
    # the 30 Sep local hour (1 Oct in UTC) is a summer-applies hour under both rules
    assert seasonal_thresholds(load, "norris2025").sel(ba="CISO", time="2022-10-01 05:00").item() == 170
    # and the April peak is curtailed against the summer threshold, not a threshold of its own
    assert seasonal_thresholds(load, "norris2025").sel(ba="PJM", time="2022-04-20 20:00").item() == 150
    assert seasonal_thresholds(load, "norris2025").attrs["rule"].startswith("norris2025")
    assert seasonal_thresholds(load, "seasonal").attrs["rule"].startswith("seasonal")
    # flexible_headroom accepts the name and records it
    hr = flexible_headroom(load, [5.0], threshold="norris2025")
    assert hr.attrs["threshold_rule"].startswith("norris2025")
    assert float(hr["summer_peak_mw"].sel(ba="CISO")) == 170


def test_norris2025_rule_table():
    assert set(THRESHOLD_RULES) == {"seasonal", "norris2025"}
    assert set(NORRIS2025_RULE.per_ba) == {"AZPS", "FPL", "CISO"}
    assert NORRIS2025_RULE.for_ba("CISO").summer_peak == (5, 6, 7, 8, 9)
    assert NORRIS2025_RULE.for_ba("AZPS").winter_peak == (11, 12, 1, 2, 3)
    assert NORRIS2025_RULE.for_ba("PJM").summer_peak == (6, 7, 8)


def test_unknown_rule_names_the_choices():
    load = peaked_load()
    with pytest.raises(ValueError, match=r"unknown threshold rule 'norris'; expected one of 'seasonal', "
                                         r"'norris2025'"):
        seasonal_thresholds(load, "norris")
    with pytest.raises(ValueError, match="unknown threshold rule 'Norris2025'"):
        flexible_headroom(load, [0.5], threshold="Norris2025")


def test_scenario_and_cli_accept_the_rule(capsys):
    from powerfirst.cli import main
    from powerfirst.scenarios.spec import Scenario

    assert Scenario.from_dict({"name": "x", "headroom": {"rule": "norris2025"}}).headroom.rule == "norris2025"
    with pytest.raises(ValidationError, match="'headroom.rule': expected one of seasonal, norris2025, found 'duke'"):
        Scenario.from_dict({"name": "x", "headroom": {"rule": "duke"}})
    with pytest.raises(SystemExit) as exc:
        main(["headroom", "--source", "x", "--rule", "duke"])
    assert exc.value.code == 2
    assert "invalid choice: 'duke' (choose from 'seasonal', 'norris2025')" in capsys.readouterr().err


# ---------------------------------------------------------------------------- real data

# Measured on the two cleaned releases (2016-2024, 22 BAs) with each rule [GW] at 0.25 / 0.5 / 1 / 5 %.
MEASURED = {"seasonal": [70.23, 92.08, 118.87, 204.50], "norris2025": [74.21, 95.85, 122.56, 208.32]}
STUDY = [76, 98, 126, 215]
# BAs whose data in the cleaned releases differ from the study's input (see the test below and the report):
# SWPP (its 2020-2024 series is the sum of cleaned sub-regions, 6 GW under the ISO total on 14-15 Jan 2024),
# and PACE, SRP, AZPS, PACW, FPL (0.2-0.6 GW apart at 0.5 %, not explained by the rule).
DATA_DIFFER = {"SWPP", "PACE", "SRP", "AZPS", "PACW", "FPL"}


@pytest.fixture(scope="module")
def both_rules(norris_grid):
    load = norris_grid["demand"]
    return {r: flexible_headroom(load, [0.25, 0.5, 1.0, 5.0], threshold=r) for r in ("seasonal", "norris2025")}


@pytest.mark.realdata
def test_norris2025_totals_against_the_study(both_rules):
    """Totals as measured (the release files are fixed: 0.05 GW covers float summation order only), and
    'norris2025' within 3.5 % of the study's 76 / 98 / 126 / 215 GW (measured -2.4 / -2.2 / -2.7 / -3.1 %)."""
    for rule, want in MEASURED.items():
        tot = both_rules[rule]["headroom"].sum("ba").values / 1000
        np.testing.assert_allclose(tot, want, atol=0.05, err_msg=rule)
    tot = both_rules["norris2025"]["headroom"].sum("ba").values / 1000
    rel = tot / np.array(STUDY) - 1
    assert (np.abs(rel) < 0.035).all(), rel
    # the core-month rule is further off at every limit (-7.6 / -6.0 / -5.7 / -4.9 %)
    assert (np.array(MEASURED["seasonal"]) < tot - 3.5).all()


@pytest.mark.realdata
def test_norris2025_differs_only_where_the_month_sets_differ(both_rules):
    s, n = both_rules["seasonal"], both_rules["norris2025"]
    same = [b for b in s["ba"].values if b not in NORRIS2025_RULE.per_ba]
    xr.testing.assert_equal(s["headroom"].sel(ba=same), n["headroom"].sel(ba=same))
    # CISO: summer peak 51.1 GW on 6 Sep 2022 (local) instead of 47.3 GW in Jun-Aug; FPL: winter peak in Nov 2022
    assert float(n["summer_peak_mw"].sel(ba="CISO")) == pytest.approx(51105, abs=1)
    assert float(s["summer_peak_mw"].sel(ba="CISO")) == pytest.approx(47349, abs=1)
    assert float(n["winter_peak_mw"].sel(ba="FPL")) > float(s["winter_peak_mw"].sel(ba="FPL")) + 2000
    for ba in ("CISO", "FPL"):
        assert (n["headroom"].sel(ba=ba) > s["headroom"].sel(ba=ba) + 1500).all(), ba
    # AZPS: its Nov-Mar peak lies in January 2024 in these data, so both rules agree there
    assert float(n["winter_peak_mw"].sel(ba="AZPS")) == float(s["winter_peak_mw"].sel(ba="AZPS"))


@pytest.mark.realdata
def test_norris2025_per_ba_against_the_study_figure(both_rules):
    """Per BA against Figure 1 of the study (data/facts/flexible_headroom_norris2025.csv).

    The 16 BAs whose data agree are within 0.25 GW at 0.25, 0.5 and 1 % (the figure rounds to 0.1 GW);
    the six others fall short, together by most of the total's gap."""
    facts = read_facts()
    fig = facts[(facts.quantity == "flexible_headroom") & (facts.region != "US")]
    hr = both_rules["norris2025"]["headroom"] / 1000
    dev = {}
    for row in fig.itertuples():
        lim = float(row.scenario.rstrip("%"))
        dev[(row.region, lim)] = float(hr.sel(ba=row.region, limit=lim)) - row.value
    agree = {k: v for k, v in dev.items() if k[0] not in DATA_DIFFER}
    assert len(agree) == 16 * 3
    assert max(abs(v) for v in agree.values()) < 0.25, max(agree.items(), key=lambda kv: abs(kv[1]))
    short = sum(v for k, v in dev.items() if k[0] in DATA_DIFFER and k[1] == 0.5)
    assert -2.7 < short < -2.3  # of the total's -2.45 GW at 0.5 %
    assert abs(sum(v for k, v in agree.items() if k[1] == 0.5)) < 0.2


@pytest.mark.realdata
def test_swpp_gap_is_the_release_not_the_rule(norris_grid):
    """SWPP reproduces the study on the ISO total that EIA publishes (the series the study read), not on the
    sum of the cleaned sub-regions: its winter peak is 51.0 GW at 2024-01-15 00:00 UTC there, 47.0 GW here."""
    g = norris_grid.sel(ba=["SWPP"])
    load, raw = g["demand"], g["demand_raw"]
    # the raw ISO total where it is plausible (0.5-1.3 x the cleaned value: drops its 3.6 TW spike and gaps)
    ok = raw.notnull() & (raw > 0.5 * load) & (raw < 1.3 * load)
    iso_total = xr.where(ok, raw, load)
    hr_clean = flexible_headroom(load, [0.25, 0.5, 1.0], threshold="norris2025")
    hr_iso = flexible_headroom(iso_total, [0.25, 0.5, 1.0], threshold="norris2025")
    assert float(hr_clean["winter_peak_mw"].item()) == pytest.approx(47024, abs=1)
    assert float(hr_iso["winter_peak_mw"].item()) == pytest.approx(51017, abs=1)
    np.testing.assert_allclose(hr_clean["headroom"].values[0] / 1000, [6.93, 8.71, 10.82], atol=0.01)
    np.testing.assert_allclose(hr_iso["headroom"].values[0] / 1000, [7.7, 9.7, 12.0], atol=0.1)  # Figure 1
