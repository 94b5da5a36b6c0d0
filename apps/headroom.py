"""`panel serve apps/headroom.py` — the Headroom dashboard (reads $POWERFIRST_EIA930_SOURCE)."""

import panel as pn

from powerfirst.apps.headroom import Headroom

pn.extension("tabulator")
Headroom().servable(title="powerfirst · Headroom")
