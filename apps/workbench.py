"""`panel serve apps/workbench.py` — the siting workbench (the landing page of `powerfirst serve`).

`powerfirst serve` adds what a shared server needs (log-in, websocket origins, upload limit, the
landing page at `/`); see the README, Deploying.
"""

import panel as pn

from powerfirst.apps.workbench import Workbench

pn.extension("tabulator", "filedropper")
Workbench().servable(title="powerfirst · Siting workbench")
