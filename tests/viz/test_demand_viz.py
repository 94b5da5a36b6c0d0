"""Views of demand growth: the fan chart's y-axis follows the scenario paths and published figures (not
the trend estimator's exponential extrapolation), and the legends sit off the curves."""

from __future__ import annotations

import holoviews as hv
import numpy as np
import pandas as pd
import pytest

from powerfirst.models.forecast import demand_cube
from powerfirst.models.forecast.annual import REGIONS
from powerfirst.viz import demand as vd

hv.extension("bokeh")

SCENARIOS = ["Base", "Lift-Off", "High Efficiency", "Headwinds"]


@pytest.fixture(scope="module")
def cube_2070():
    """Demand to 2070: the trend's median reaches ~160,000 TWh for the World (the axis of the report)."""
    return demand_cube(SCENARIOS, list(REGIONS), tuple(range(2014, 2071)))


def _legend_places(fig) -> dict[str, int]:
    """Where the rendered figure's legends are: inside the frame (center) or beside it."""
    kinds = {"center": fig.center, "right": fig.right, "left": fig.left, "above": fig.above, "below": fig.below}
    return {k: sum(type(m).__name__ == "Legend" for m in v) for k, v in kinds.items()}


@pytest.mark.parametrize("region", ["World", "US", "Europe"])
def test_fan_axis_follows_the_paths_and_published_figures(cube_2070, region):
    f = vd.fan_frame(cube_2070, region)
    core = max(f["paths"]["electricity_twh"].max(), f["history"]["electricity_twh"].max(),
               f["published"]["high"].max())
    trend_top = float(f["trend"][[c for c in f["trend"].columns if c.startswith("q")]].max().max())
    assert trend_top > 20 * core  # the extrapolation that used to set the axis (0-160,000 TWh for the World)
    chart = vd.fan_chart(cube_2070, region)
    fig = hv.render(chart)
    assert fig.y_range.start == 0
    # every scenario path, the history and the published ranges inside, with 10 % room above the largest
    assert fig.y_range.end == pytest.approx(1.1 * core)
    # the title says from which year the trend band leaves the chart: the first year its top exceeds the axis
    q = f["trend"].set_index("year")[[c for c in f["trend"].columns if c.startswith("q")]].max(axis=1)
    first = int(q.index[q > fig.y_range.end].min())
    assert chart.opts.get().kwargs["title"] == f"{region}: data-centre electricity [TWh] (trend band above the " \
                                               f"axis from {first})"


def test_fan_range_keeps_a_trend_that_stays_near_the_data():
    years = np.arange(2020, 2031)
    frames = {"paths": pd.DataFrame({"year": years, "scenario": "Base", "electricity_twh": np.linspace(100, 200, 11)}),
              "trend": pd.DataFrame({"year": years, "q0.1": np.linspace(90, 150, 11), "q0.5": np.linspace(100, 200, 11),
                                     "q0.9": np.linspace(110, 240, 11)}),
              "history": pd.DataFrame({"year": [2020], "electricity_twh": [100.0]}),
              "published": pd.DataFrame({"year": [2030], "low": [150.0], "high": [230.0]})}
    (lo, hi), leaves = vd.fan_range(frames)
    assert (lo, hi, leaves) == (0.0, pytest.approx(1.05 * 240), None)  # 240 < 1.25 x 230: the band stays
    frames["trend"]["q0.9"] = np.linspace(110, 400, 11)  # 400 > 1.25 x 230: the axis stops at 1.1 x 230
    (lo, hi), leaves = vd.fan_range(frames)
    assert hi == pytest.approx(1.1 * 230) and leaves == int(years[np.linspace(110, 400, 11) > 1.1 * 230][0])


def test_default_years_axis_still_holds_every_path():
    cube = demand_cube(SCENARIOS, list(REGIONS), tuple(range(2014, 2036)))
    f = vd.fan_frame(cube, "US")
    fig = hv.render(vd.fan_chart(cube, "US"))
    assert fig.y_range.start == 0 and fig.y_range.end >= f["paths"]["electricity_twh"].max()
    assert fig.y_range.end >= f["published"]["high"].max()


def test_legends_sit_beside_the_curves(cube_2070):
    t = pd.date_range("2019-07-01", periods=24 * 14, freq="h")
    load = 1000 + 100 * np.sin(2 * np.pi * np.arange(len(t)) / 24)
    frame = pd.DataFrame({"actual": load, "forecast": load * 1.01, "seasonal_naive": load * 0.98, "q0.1": load * 0.95,
                          "q0.9": load * 1.05}, index=pd.Index(t, name="time"))
    frame.attrs["ba"] = "PJM"
    for chart in (vd.fan_chart(cube_2070, "World"), vd.workload_chart(cube_2070, "World", "Base"),
                  vd.backtest_chart(frame)):
        places = _legend_places(hv.render(chart))
        assert places["center"] == 0 and places["right"] == 1, places
