"""Every notebook runs top to bottom, once, in the test suite; some must also show what they are for."""

from pathlib import Path

import pytest
from conftest import REPO, execute_notebook

NOTEBOOKS = sorted((REPO / "notebooks").glob("[0-9]*.ipynb"))

# what a notebook's outputs must show, beyond running without error
MUST_SHOW = {
    "05_workbench": ("candidates screened in", "sum of the pillar contributions", "P50 to first power [month]",
                     "moved up [ranks]"),
    "30_time_to_power": ("fitted P50 [month]", "2010-2014", "TC1", "fitted by 60 months [1]", "empirical by 60 months [1]",
                         "grid process alone P50 [month]", "fastest path", "inside P10-P90"),
    "40_flexibility": ("LP optimum [MUSD]", "gap [%]", "EIA-930 load, pro rata", "peak_reduction_mw"),
    "50_siting": ("P50 to first power [month]", "top-20 Spearman under +-25 % weights",
                  "overlap with nominal top 10 [sites]", "accelerator-hours per MWh [h MWh-1]"),
    "60_network": ("the 'eu_residency' sovereignty rule is infeasible", "EU27 training demand served in",
                   "MW the candidates can count on at confidence 0.8", "share within caps [1]", "entered the top",
                   "MIP gaps:"),
}
# notebooks whose last cell shows an app inline
SHOWS_APP = ("05_workbench", "30_time_to_power", "40_flexibility")
# 00 runs without ../shared/data (it skips its real-data example); the others need it
NEEDS_SHARED = ("05_workbench", "10_demand_growth", "20_grid_headroom", "30_time_to_power", "40_flexibility", "50_siting", "60_network")


def test_every_notebook_is_listed():
    assert len(NOTEBOOKS) >= 5 and all(p.stem in (*NEEDS_SHARED, "00_quickstart") for p in NOTEBOOKS)


@pytest.mark.notebook
@pytest.mark.slow
@pytest.mark.parametrize("path", [pytest.param(p, id=p.stem, marks=[pytest.mark.realdata] if p.stem in NEEDS_SHARED
                                               else []) for p in NOTEBOOKS])
def test_notebook_runs(path: Path):
    nb, text = execute_notebook(path, timeout=600)
    for s in MUST_SHOW.get(path.stem, ()):
        assert s in text, f"{path.name}: outputs do not show {s!r}"
    if path.stem in SHOWS_APP:
        assert "application/vnd.holoviews_exec.v0+json" in str(nb.cells[-1].outputs), f"{path.name}: no app inline"
