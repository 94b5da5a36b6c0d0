"""The orchestration layer: a :class:`Scenario` (settings as data, one section per model, YAML),
:meth:`Scenario.run` (every model, wired once, into a DataTree), the result store
(:func:`to_zarr`, :func:`open_results`) and the result tables shared by the CLI, the apps and the
notebooks (:mod:`powerfirst.scenarios.report`)."""

from powerfirst.scenarios.report import (
           dispatch_records,
           headroom_records,
           run_summary_records,
           ttp_records,
)
from powerfirst.scenarios.results import open_results, to_zarr
from powerfirst.scenarios.run import GROUPS, run
from powerfirst.scenarios.spec import SECTIONS, Scenario, check_name

__all__ = ["GROUPS", "SECTIONS", "Scenario", "check_name", "dispatch_records", "headroom_records", "open_results",
           "run", "run_summary_records", "to_zarr", "ttp_records"]
