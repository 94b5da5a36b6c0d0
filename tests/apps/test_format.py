"""Numbers in the apps' tables: a precision that follows the column's magnitude, thousands separators, no
scientific notation and no float's full expansion (the issue: ``17,497.320217`` and ``1.2e+03``)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from powerfirst.apps._format import formatted, number_format, number_formatters
from powerfirst.viz._format import decimals, format_number


@pytest.mark.parametrize("values,n", [
    ([17497.320217, 15200.1], 0),  # five figures: whole numbers
    ([1234.5], 0), ([45.61, 38.2], 1), ([1.234, 2.5], 2), ([0.1723, 0.31], 3), ([0.000312], 4),
    ([0.0000012], 4),  # never more than 4 decimals
    ([3.0, 4.0, 12.0], 0),  # whole numbers stay whole
    ([np.nan, 0.0, 0.25], 3),  # zeros and NaN do not set the magnitude
    ([], 0), ([np.nan], 0), ([0.0, 0.0], 0),
])
def test_decimals_give_three_significant_figures(values, n):
    assert decimals(values) == n


def test_format_number_never_scientific_nor_full_expansion():
    assert format_number(17497.320217) == "17,497"
    assert format_number(1200.0) == "1,200" and format_number(1.2e3, 1) == "1,200.0"
    assert format_number(0.1723456) == "0.172" and format_number(float("nan")) == "–"
    for v in (1.2e3, 4.5e7, 3.2e-3, 123456789.123):
        assert "e" not in format_number(v)


def test_number_formatters_per_column():
    df = pd.DataFrame({"site": ["a", "b"], "energy [MWh]": [17497.320217, 15000.5], "share [1]": [0.1234, 0.5],
                       "count": np.array([3, 4]), "ok": [True, False], "pue [1]": [1.21, 1.3]})
    f = number_formatters(df)
    assert set(f) == {"energy [MWh]", "share [1]", "count", "pue [1]"}  # text and booleans untouched
    assert {k: v.format for k, v in f.items()} == {"energy [MWh]": "0,0", "share [1]": "0,0.000", "count": "0,0",
                                                   "pue [1]": "0,0.00"}
    assert number_format(0) == "0,0" and number_format(2) == "0,0.00"


def test_formatted_table_follows_its_value_and_keeps_given_formatters():
    import panel as pn
    from bokeh.models.widgets.tables import NumberFormatter

    own = NumberFormatter(format="0.0%")
    t = formatted(pn.widgets.Tabulator(pd.DataFrame({"a [MW]": [1234.56], "b [1]": [0.5]}),
                                       formatters={"b [1]": own}))
    assert t.formatters["a [MW]"].format == "0,0" and t.formatters["b [1]"] is own
    t.value = pd.DataFrame({"a [MW]": [1.2345], "b [1]": [0.5], "c [h]": [12.25]})
    assert t.formatters["a [MW]"].format == "0,0.00" and t.formatters["c [h]"].format == "0,0.0"
    assert t.formatters["b [1]"] is own
    # the rendered table carries the formatters to the browser
    root = t.get_root()
    shown = {c.field: getattr(c.formatter, "format", None) for c in root.columns}
    assert shown["a [MW]"] == "0,0.00" and shown["c [h]"] == "0,0.0"


def test_overview_table_formats_the_variable_it_shows(small_sites, energy_factory):
    from powerfirst.apps.overview import Overview, OverviewState
    from powerfirst.scenarios import Scenario

    app = Overview(OverviewState(Scenario(), sites=small_sites, energy=energy_factory(small_sites)))
    assert app.table.formatters["value"].format == number_format(decimals(app.table.value["value"]))
    app.variable_select.value = "pue_mean"
    assert app.table.formatters["value"].format == number_format(decimals(app.table.value["value"]))
    assert app.table.formatters["target_mw"].format == "0,0"


def test_headroom_event_table_shows_whole_mwh_not_six_decimals():
    from powerfirst.apps.headroom import Headroom, HeadroomState
    from powerfirst.scenarios import Scenario

    t = pd.date_range("2021-01-01", "2022-12-31 23:00", freq="h")
    doy, hour = t.day_of_year.values, t.hour.values
    base = 10_000 + 3000 * np.cos(2 * np.pi * (doy - 200) / 365) ** 2 + 1000 * np.sin(np.pi * hour / 23)
    load = xr.DataArray(np.stack([base, 2 * base]), dims=("ba", "time"),
                        coords={"ba": ["AAA", "BBB"], "time": t, "timezone": ("ba", ["UTC", "UTC"])})
    app = Headroom(HeadroomState(Scenario(), load=load))
    table = app.events  # the event table the dashboard shows for the BA and limit picked
    floats = [c for c in table.value.columns if table.value[c].dtype.kind == "f"]
    assert floats and set(floats) <= set(table.formatters)
    for c in floats:
        assert table.formatters[c].format == number_format(decimals(table.value[c]))
        assert len(table.formatters[c].format.partition(".")[2]) <= 4
    assert app.table.formatters["headroom_mw"].format in ("0,0", "0,0.0")


def test_map_hover_writes_numbers_with_a_format(small_sites, energy_factory):
    """Bokeh's default hover format writes 1234.5 as 1.234e+3: every number of the hover has its format."""
    import holoviews as hv
    from bokeh.models import HoverTool

    from powerfirst.apps.overview import OverviewState
    from powerfirst.scenarios import Scenario
    from powerfirst.viz._format import hover_tooltips
    from powerfirst.viz.overview import site_map

    st = OverviewState(Scenario(), sites=small_sites, energy=energy_factory(small_sites))
    frame = st.map_frame()
    tips = [t for h in hv.render(site_map(frame, "target_mw", label="target [MW]", tiles=False)).select(
            {"type": HoverTool})
            for t in h.tooltips]
    numeric = dict(tips)
    assert numeric["target [MW]"] == "@{target_mw}{" + number_format(decimals(frame["target_mw"])) + "}"
    assert numeric["site"] == "@{site}"
    df = pd.DataFrame({"energy": [17497.320217, 1200.0], "share": [0.1234, 0.5], "n": [3, 4], "name": ["a", "b"]})
    assert hover_tooltips(df, ["name", "energy", "share", "n", "absent"], {"energy": "energy [MWh]"}) == [
        ("name", "@{name}"), ("energy [MWh]", "@{energy}{0,0}"), ("share", "@{share}{0,0.000}"), ("n", "@{n}{0,0}")]
