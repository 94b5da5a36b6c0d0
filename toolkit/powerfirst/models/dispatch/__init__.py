"""Dispatch family: site load by workload, the rule-based dispatch (compiled kernel and its plain
reference), the dispatch LP (linopy + HiGHS), sizing sweeps and VPP peak shaving.

* :mod:`~powerfirst.models.dispatch.site_load` — facility load by workload (training, inference, edge);
* :mod:`~powerfirst.models.dispatch.inputs` — price and curtailment series (stylised or from a grid cube);
* :mod:`~powerfirst.models.dispatch.params` — dispatch parameters per site and scenario;
* :mod:`~powerfirst.models.dispatch.rule` — the rule-based dispatch over site x scenario (numba kernel);
* :mod:`~powerfirst.models.dispatch.reference` — the same rule in plain Python, for checking;
* :mod:`~powerfirst.models.dispatch.lp` — the optimal dispatch LP/MILP of one site-year;
* :mod:`~powerfirst.models.dispatch.sizing` — storage/flexibility sizing sweeps and trade-offs;
* :mod:`~powerfirst.models.dispatch.vpp` — fleet peak shaving on balancing-authority load.
"""

from powerfirst.models.dispatch.inputs import (
    DEFAULT_PRICE_BASE,
    align_to_typical_year,
    curtailment_for,
    curtailment_profiles,
    prices_for,
    stylised_curtailment,
    stylised_price,
)
from powerfirst.models.dispatch.lp import (
    CAPITAL_COSTS,
    LPResult,
    build_site_lp,
    define_balance_constraints,
    define_flexibility_constraints,
    define_generation_constraints,
    define_objective,
    define_sizing_constraints,
    define_spill_constraints,
    define_storage_constraints,
    solve_site_lp,
)
from powerfirst.models.dispatch.params import (
    PRIORITIES,
    dispatch_parameters,
    override_problems,
    resolve_parameters,
)
from powerfirst.models.dispatch.reference import (
    dispatch_reference,
    site_series,
)
from powerfirst.models.dispatch.rule import (
    HOURLY_VARIABLES,
    SUMMARY_VARIABLES,
    Prepared,
    dispatch,
    prepare,
    run_prepared,
    storage_cycles,
)
from powerfirst.models.dispatch.site_load import (
    DEFAULT_FLEX_SHARE,
    DEFAULT_PROFILES,
    WORKLOADS,
    EdgeProfile,
    InferenceProfile,
    TrainingProfile,
    facility_load,
    it_load,
    profile_table,
    site_load_dataset,
    site_utc_offset,
    utilisation_profile,
)
from powerfirst.models.dispatch.sizing import (
    sizing_tradeoff,
    smallest_meeting,
)
from powerfirst.models.dispatch.vpp import (
    fleet_by_ba,
    peak_shaving,
    shaved_load,
    vpp_peak_reduction,
)

__all__ = [
    "CAPITAL_COSTS",
    "DEFAULT_FLEX_SHARE",
    "DEFAULT_PRICE_BASE",
    "DEFAULT_PROFILES",
    "EdgeProfile",
    "HOURLY_VARIABLES",
    "InferenceProfile",
    "LPResult",
    "PRIORITIES",
    "Prepared",
    "SUMMARY_VARIABLES",
    "TrainingProfile",
    "WORKLOADS",
    "align_to_typical_year",
    "build_site_lp",
    "curtailment_for",
    "curtailment_profiles",
    "define_balance_constraints",
    "define_flexibility_constraints",
    "define_generation_constraints",
    "define_objective",
    "define_sizing_constraints",
    "define_spill_constraints",
    "define_storage_constraints",
    "dispatch",
    "dispatch_parameters",
    "dispatch_reference",
    "facility_load",
    "fleet_by_ba",
    "it_load",
    "override_problems",
    "peak_shaving",
    "prepare",
    "prices_for",
    "profile_table",
    "resolve_parameters",
    "run_prepared",
    "shaved_load",
    "site_load_dataset",
    "site_series",
    "site_utc_offset",
    "sizing_tradeoff",
    "smallest_meeting",
    "solve_site_lp",
    "storage_cycles",
    "stylised_curtailment",
    "stylised_price",
    "utilisation_profile",
    "vpp_peak_reduction",
]
