"""`panel serve apps/flexibility.py` — the flexibility dashboard (dispatch, sizing trade-off, VPP)."""

import panel as pn

from powerfirst.apps.flexibility import Flexibility

pn.extension("tabulator")
Flexibility().servable(title="powerfirst · Flexibility")
