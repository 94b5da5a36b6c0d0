"""The workbench map's click and box-select: a click opens the nearest candidate in the Drill-down
tab, a box filters the Ranking tab to the candidates inside it.

The geometry is :mod:`powerfirst.viz.map_select` (nearest candidate in Web Mercator metres within
a few pixels, candidates inside a box); the streams are attached by
:func:`powerfirst.viz.siting.ranked_map` and :func:`~powerfirst.viz.siting.recolourable_map`
(``on_site``, ``on_box``).  :class:`MapPick` holds what the workbench needs: the callbacks, the
selection of the run on show, and the note and button of the Ranking tab.  The selection belongs
to one run: a new run drops it.
"""

from __future__ import annotations

import html

import pandas as pd
import panel as pn
import xarray as xr

__all__ = ["MapPick", "selection_note"]


def selection_note(n_ranked: int, n_shown: int, n_unranked: int = 0) -> str:
    """The Ranking tab's line about a map selection: how many ranked sites it holds, how many of
    them are shown (``Sites shown`` caps them) and how many candidates of the box are not ranked."""
    text = f"{n_ranked:,} ranked site{'s' if n_ranked != 1 else ''} in the map selection"
    if n_shown < n_ranked:
        text += f" (the best {n_shown:,} shown; choose “all ranked” under Sites shown for every one)"
    if n_unranked:
        text += f"; {n_unranked:,} excluded or unscored candidate{'s' if n_unranked != 1 else ''} in it not listed"
    return text + "."


class MapPick:
    """Click and box-select on the map of a :class:`~powerfirst.apps.workbench.Workbench`.

    Parameters
    ----------
    wb : Workbench
        The workbench whose ``state.site``, ``tabs`` and Ranking it drives.

    Attributes
    ----------
    selection : (xarray.Dataset, frozenset of str) or None
        The run the box was drawn on and the ids of the candidates inside it.
    note : panel.pane.HTML
        "N ranked sites in the map selection" (empty without a selection).
    clear_button : panel.widgets.Button
        "Clear the map selection" (shown with a selection).
    """

    def __init__(self, wb):
        self.wb = wb
        self.selection: tuple[xr.Dataset, frozenset[str]] | None = None
        self.note = pn.pane.HTML("", name="map-selection-note", margin=(10, 10))
        self.clear_button = pn.widgets.Button(label="Clear the map selection", visible=False)
        self.clear_button.on_click(lambda event: self.clear())
        self.panel = pn.Row(self.note, self.clear_button, sizing_mode="stretch_width")
        self.hint = pn.pane.Markdown("Click a candidate to open it in the Drill-down tab; draw a box with the "
                                     "box-select tool (toolbar) to list the candidates inside it in the Ranking tab.",
                                     sizing_mode="stretch_width")

    def callbacks(self) -> dict:
        """``on_site`` and ``on_box`` for :func:`~powerfirst.viz.siting.ranked_map`."""
        return {"on_site": self.on_site, "on_box": self.on_box}

    def on_site(self, site: str) -> None:
        """A click near ``site``: it becomes the site of the drill-down, and the Drill-down tab opens."""
        from powerfirst.apps._workbench_state import TABS

        try:
            self.wb.state.site = str(site)
            self.wb.tabs.active = TABS.index("Drill-down")
        except Exception as exc:  # noqa: BLE001 - a message with a reference id, the traceback in the log
            self.wb._error(exc, "opening the site clicked on the map")

    def on_box(self, sites: list[str]) -> None:
        """A box drawn on the map: the Ranking lists the candidates inside it, and its tab opens."""
        from powerfirst.apps._workbench_state import TABS

        try:
            ds = self.wb.state.result
            if ds is None:
                return
            self.selection = (ds, frozenset(str(s) for s in sites))
            self.wb._show_ranking()
            self.wb.tabs.active = TABS.index("Ranking")
        except Exception as exc:  # noqa: BLE001
            self.wb._error(exc, "filtering the ranking to the map selection")

    def clear(self) -> None:
        """Drop the selection: the Ranking lists every ranked site again."""
        self.drop()
        self.wb._show_ranking()

    def drop(self) -> None:
        """Forget the selection (a new run)."""
        self.selection = None
        self.note.object = ""
        self.clear_button.visible = False

    def rows(self, ds: xr.Dataset, ranking: pd.DataFrame, n: int) -> pd.DataFrame:
        """The rows of the run's whole ``ranking`` to show: the best ``n`` of those in the selection
        of ``ds`` (every ranked site without one), numbered from 0 so that a clicked row's position
        is its label; the note says how many."""
        sel = self.selection if self.selection is not None and self.selection[0] is ds else None
        if sel is None:
            self.note.object, self.clear_button.visible = "", False
            return ranking if n >= len(ranking) else ranking.iloc[:n]
        inside = ranking[ranking["site"].astype(str).isin(sel[1])].reset_index(drop=True)
        shown = inside if n >= len(inside) else inside.iloc[:n]
        note = selection_note(len(inside), len(shown), len(sel[1]) - len(inside))
        self.note.object = f'<p class="pf-map-selection">{html.escape(note)}</p>'
        self.clear_button.visible = True
        return shown
