"""`panel serve apps/headroom.py` — the Headroom dashboard (EIA-930 data: $POWERFIRST_EIA930_SOURCE, else
../shared/data/eia930)."""

import panel as pn

from powerfirst.apps.headroom import Headroom

pn.extension("tabulator")
Headroom().servable(title="powerfirst · Headroom")
