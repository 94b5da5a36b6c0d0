"""Small input files for the app tests: a tidy EIA-930 file of synthetic hourly BA demand."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd


def tidy_grid_file(path: Path, bas=("PJM", "ERCO"), start="2022-01-01", end="2024-01-01") -> Path:
    """Write hourly demand [MW] of ``bas`` (UTC hours from ``start`` up to ``end``) as a tidy EIA-930
    CSV (``time, ba, demand_mw``): a summer and winter peak and a daily cycle, BA ``i`` at ``(i + 1)`` x
    the size of the first; return the path."""
    t = pd.date_range(start, end, freq="h", inclusive="left")
    doy, hour = t.day_of_year.values, t.hour.values
    base = 20_000 + 6_000 * np.cos(2 * np.pi * (doy - 200) / 365) ** 2 + 2_000 * np.sin(np.pi * hour / 23)
    frames = [pd.DataFrame({"time": t.strftime("%Y-%m-%d %H:%M"), "ba": ba, "demand_mw": ((i + 1) * base).round(1)})
              for i, ba in enumerate(bas)]
    pd.concat(frames).to_csv(path, index=False)
    return path


def shown_titles(pane) -> list[str]:
    """The plot titles a user sees in ``pane``: the Bokeh model is rendered and its titles read."""
    from bokeh.models import Title

    root = pane.get_root()
    return [t.text for t in root.select({"type": Title}) if t.text]


def options(widget) -> list:
    """The values a selector widget offers."""
    o = widget.options
    return list(o.values()) if isinstance(o, dict) else list(o)


def shown_categories(pane) -> list[str]:
    """The category labels of the plot axes a user sees in ``pane`` (rendered Bokeh factor ranges)."""
    from bokeh.models import FactorRange

    root = pane.get_root()
    return [str(f) for r in root.select({"type": FactorRange}) for f in r.factors]


def shown_text(pane) -> str:
    """The text a user reads in ``pane``: its rendered HTML models, tags stripped."""
    import html
    import re

    root = pane.get_root()
    parts = [html.unescape(m.text) for m in root.select({}) if isinstance(getattr(m, "text", None), str)]
    return re.sub(r"<[^>]+>", " ", "\n".join(parts))
