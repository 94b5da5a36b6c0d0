"""Model results are shared by the sessions of an app on the same files and settings (cheap sessions),
and never between sessions whose inputs differ or were built in Python."""

import powerfirst as pf
from powerfirst.apps._data import SharedResults, default_scenario
from powerfirst.apps.time_to_power import TimeToPowerState


def scenario(draws=300):
    sc = default_scenario()
    sc.sites.select = ["PJM-001", "ERCO-001"]
    sc.time_to_power.draws = draws
    return sc


def test_second_session_reuses_the_first_sessions_result():
    a, b = TimeToPowerState(scenario()), TimeToPowerState(scenario())
    assert b.result() is a.result()
    c = TimeToPowerState(scenario(draws=400))  # other settings: computed anew
    assert c.result() is not a.result() and c.result().attrs["draws"] == 400


def test_sessions_on_in_memory_sites_keep_their_own_results():
    sites = pf.demo_sites().isel(site=slice(0, 2)).copy()
    sites.attrs.pop("source_sha256")
    a, b = TimeToPowerState(scenario(), sites=sites), TimeToPowerState(scenario(), sites=sites)
    assert b.result() is not a.result()


def test_private_cache_without_an_inputs_key():
    own = SharedResults("x", None)
    own["k"] = 1
    assert "k" in own and "k" not in SharedResults("x", None)
