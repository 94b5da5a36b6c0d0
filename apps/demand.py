"""`panel serve apps/demand.py` — the demand-growth dashboard."""

import panel as pn

from powerfirst.apps.demand import DemandGrowth

pn.extension("tabulator")
DemandGrowth().servable(title="powerfirst · Demand growth")
