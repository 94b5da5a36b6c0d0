"""The served dashboards in headless Chromium: every demo site on the Overview map, the selector recolours it; every app of the index page renders without errors."""

import re

import pytest

from powerfirst import demo_sites

pytestmark = pytest.mark.browser

# the map's point source carries the site ids (hover column); return its colour column too
FIND_SOURCE = """
(column) => {
  for (const doc of Bokeh.documents) {
    for (const m of doc.all_models) {
      const d = m.data;
      if (d && d.site && d.easting) {
        const keys = Object.keys(d);
        return {n: d.site.length, sites: Array.from(d.site), keys: keys,
                values: column && d[column] ? Array.from(d[column]) : null};
      }
    }
  }
  return null;
}
"""


def wait_for_map(page, column=None, timeout=60_000):
    page.wait_for_function("() => window.Bokeh && Bokeh.documents.length > 0", timeout=timeout)
    page.wait_for_function(f"() => ({FIND_SOURCE})(null) !== null", timeout=timeout)
    if column:
        page.wait_for_function(f"() => {{ const r = ({FIND_SOURCE})('{column}'); return r && r.values; }}",
                               timeout=timeout)
    return page.evaluate(FIND_SOURCE, column)


def test_map_shows_every_demo_site_and_selector_recolours(page, served):
    page.goto(served + "/overview", wait_until="domcontentloaded")
    page.locator("canvas").first.wait_for(state="visible", timeout=60_000)
    first = wait_for_map(page, "solar_cf_mean")
    expected = set(demo_sites().site.values)
    assert first["n"] == len(expected)
    assert set(first["sites"]) == expected
    # choose another variable in the "Colour sites by" selector
    select = page.locator("select").first
    labels = select.locator("option").all_inner_texts()
    target = next(lbl for lbl in labels if "power usage effectiveness" in lbl)
    select.select_option(label=target)
    after = wait_for_map(page, "pue_mean")
    assert after["n"] == len(expected)
    assert "pue_mean" in after["keys"] and "solar_cf_mean" not in after["keys"]
    assert after["values"] != first["values"]
    assert all(1.0 <= v <= 3.0 for v in after["values"])


def test_index_page_lists_the_apps(served):
    import urllib.request

    html = urllib.request.urlopen(served + "/", timeout=30).read().decode()
    for app in ("overview", "headroom", "time_to_power", "demand", "flexibility"):
        assert f'href="./{app}"' in html


#: apps whose first tab holds no plot, and the tab that does
FIRST_PLOT_TAB = {"time_to_power": "Site"}


@pytest.mark.parametrize("app", ["overview", "headroom", "time_to_power", "demand", "flexibility"])
def test_every_served_app_renders_without_errors(page, served, app):
    """Each dashboard of the index page builds on the server and renders in the browser: a Bokeh
    document with plots, and no JavaScript error."""
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    response = page.goto(f"{served}/{app}", wait_until="domcontentloaded", timeout=120_000)
    assert response.status == 200, f"/{app}: HTTP {response.status}"
    page.wait_for_function("() => window.Bokeh && Bokeh.documents.length > 0", timeout=120_000)
    page.wait_for_function("() => [...Bokeh.documents[0].all_models].some(m => m.type === 'Figure')",
                           timeout=120_000)
    if app in FIRST_PLOT_TAB:  # the first tab is a table: open the tab with the plots
        page.locator(".bk-tab").filter(has_text=re.compile(f"^{FIRST_PLOT_TAB[app]}$")).first.click()
    page.locator("canvas:visible").first.wait_for(state="visible", timeout=120_000)
    assert "Traceback" not in page.content(), f"/{app} shows a Python traceback"
    assert not errors, f"/{app}: JavaScript errors {errors}"


def test_site_detail_card_follows_the_site_chosen_in_the_sidebar(page, served):
    """The issue: the Overview's site-detail card stayed on PJM-001 whatever site was chosen."""
    sites = demo_sites()
    names = dict(zip(sites["site"].values.astype(str), sites["name"].values.astype(str), strict=True))
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(served + "/overview", wait_until="domcontentloaded")
    wait_for_map(page, "solar_cf_mean")
    page.locator(".bk-tab").filter(has_text=re.compile("^Site detail$")).first.click()
    page.get_by_text(f"PJM-001: {names['PJM-001']}").first.wait_for(timeout=60_000)
    site_select = page.locator("select").nth(1)  # the sidebar: colour by, site
    for site in ("PJM-005", "ERCO-002" if "ERCO-002" in names else list(names)[20]):
        site_select.select_option(value=site)
        page.get_by_text(f"{site}: {names[site]}").first.wait_for(timeout=60_000)
        assert page.get_by_text(f"PJM-001: {names['PJM-001']}").count() == 0
    assert not errors, errors
