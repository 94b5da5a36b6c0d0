"""What the screen hands the time-to-power engine of a user's sites: the optional inputs reach it."""

import numpy as np
import pandas as pd

from powerfirst.models import siting
from powerfirst.models.siting.score import load_scorecard
from powerfirst.models.siting.screen import ttp_profiles


def test_a_sites_facility_type_and_utility_reach_the_engine_and_absent_columns_change_nothing():
    """An existing building (fitted out, ~10 months) powers up sooner on its existing service than a hyperscale
    hall (built, ~18 months); a site naming Dominion waits longer on the grid than an Exelon one.  Blank
    optional inputs are their defaults."""
    settings = siting.ScreenSettings(tier="regional", draws=10, seed=3, ttp_draws=3000, start="2026-01-01")
    card = load_scorecard()
    base = dict(ba="PJM", target_mw=600.0, existing_service_mw=600.0, land_status="owned",
                permitting_status="approved", upgrade_class="substation")
    cands = pd.DataFrame([{**base, "facility_type": "existing_building", "utility": "DEV"},
                          {**base, "facility_type": "hyperscale", "utility": "COMED"},
                          {**base, "facility_type": "", "utility": ""}], index=["shell", "hall", "blank"])
    ids, table = ttp_profiles(cands, settings, card, headroom={})
    assert len(set(ids)) == 3
    paths = list(settings.paths)
    p50 = pd.DataFrame(np.stack(table.loc[ids, "p50"].to_numpy()), index=cands.index, columns=paths)
    assert p50.loc["shell", "existing_service"] < p50.loc["hall", "existing_service"] - 3
    assert p50.loc["shell", "grid_firm"] > p50.loc["hall", "grid_firm"] + 10
    # blank optional inputs are the defaults (hyperscale, the BA's rows): the same results as without them
    ids2, table2 = ttp_profiles(cands.loc[["blank"]].drop(columns=["facility_type", "utility"]), settings, card,
                                headroom={})
    np.testing.assert_allclose(np.stack(table2.loc[ids2, "p50"].to_numpy())[0], p50.loc["blank"].to_numpy(),
                               rtol=0.03)
