"""Time-to-power family: when a site gets power, by which energisation path, and how sure we are.

* :mod:`~powerfirst.models.time_to_power.graph` — stage graphs (series and parallel) per path;
* :mod:`~powerfirst.models.time_to_power.inputs` — stage tables, rules and per-site inputs prepared for the kernel;
* :mod:`~powerfirst.models.time_to_power.simulate` — the compiled Monte Carlo over site x path x draw and its summaries;
* :mod:`~powerfirst.models.time_to_power.queue` — queue-duration calibration (censored, competing risks).
"""

from powerfirst.models.time_to_power.graph import (
    BRIDGE_TECHNOLOGIES,
    CRITERIA,
    DEFAULT_FLEXIBLE_FRACTION,
    DISTRIBUTIONS,
    PATH_GRAPHS,
    PATH_REQUIRES,
    PATHS,
    Parallel,
    Series,
    Stage,
    evaluate_graph,
    firm_equivalent_mw,
    flexible_allowance_mw,
    graph_stages,
    lognormal_sigma,
    parallel,
    quantile_function,
    series,
)
from powerfirst.models.time_to_power.inputs import (
    Prepared,
    check_stage_table,
    prepare,
)
from powerfirst.models.time_to_power.queue import (
    DEFAULT_COHORTS,
    aalen_johansen,
    fit_stage_durations,
    kaplan_meier,
    lognormal_aft_fit,
    stage_rows_from_fit,
)
from powerfirst.models.time_to_power.simulate import (
    best_path,
    first_power_reference,
    prob_energised_by,
    sample_stage_durations,
    time_to_power,
    tornado_top_stage,
)

__all__ = [
    "BRIDGE_TECHNOLOGIES",
    "CRITERIA",
    "DEFAULT_COHORTS",
    "DEFAULT_FLEXIBLE_FRACTION",
    "DISTRIBUTIONS",
    "PATHS",
    "PATH_GRAPHS",
    "PATH_REQUIRES",
    "Parallel",
    "Prepared",
    "Series",
    "Stage",
    "aalen_johansen",
    "best_path",
    "check_stage_table",
    "evaluate_graph",
    "firm_equivalent_mw",
    "first_power_reference",
    "fit_stage_durations",
    "flexible_allowance_mw",
    "graph_stages",
    "kaplan_meier",
    "lognormal_aft_fit",
    "lognormal_sigma",
    "parallel",
    "prepare",
    "prob_energised_by",
    "quantile_function",
    "sample_stage_durations",
    "series",
    "stage_rows_from_fit",
    "time_to_power",
    "tornado_top_stage",
]
