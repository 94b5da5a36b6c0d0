"""`panel serve apps/time_to_power.py` — the time-to-power dashboard."""

import panel as pn

from powerfirst.apps.time_to_power import TimeToPower

pn.extension("tabulator")
TimeToPower().servable(title="powerfirst · Time to power")
