import numpy as np
import pandas as pd
import pytest
import xarray as xr

from powerfirst.apps.headroom import Headroom, HeadroomState


@pytest.fixture
def load():
    t = pd.date_range("2021-01-01", "2022-12-31 23:00", freq="h")
    doy, hour = t.day_of_year.values, t.hour.values
    base = 1000 + 300 * np.cos(2 * np.pi * (doy - 200) / 365) ** 2 + 100 * np.sin(np.pi * hour / 23)
    data = np.stack([base, 2 * base])
    return xr.DataArray(data, dims=("ba", "time"), coords={"ba": ["AAA", "BBB"], "time": t,
                                                          "timezone": ("ba", ["UTC", "UTC"])})


def test_state_curve_and_events(load):
    s = HeadroomState(load)
    c = s.curve()
    assert (np.diff(c.values) >= 0).all()
    s.ba, s.limit = "BBB", 1.0
    ev = s.events()
    assert ev["summary"]["curtailment_rate"] == pytest.approx(0.01, rel=1e-6)
    tab = s.table()
    assert set(tab["ba"]) == {"AAA", "BBB", "TOTAL"}


def test_viewer_renders(load):
    app = Headroom(HeadroomState(load))
    tmpl = app.__panel__()
    assert "Headroom" in tmpl.title
    assert app._curve("AAA") is not None and app._heat("AAA", 0.5) is not None
