"""`panel serve apps/overview.py` — the Overview dashboard."""

import panel as pn

from powerfirst.apps.overview import Overview

pn.extension("tabulator")
Overview().servable(title="powerfirst · Overview")
