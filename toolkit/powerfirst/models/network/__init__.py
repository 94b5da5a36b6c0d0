"""Network plan: which sites, in which tier, in which year.

* :mod:`.demand` — the demand cube's regional TWh by tier and year, spread over population (H3 cells);
* :mod:`.supply` — candidates with MW available by year at a confidence level (time to power), BA
  flexible headroom and costs (``data/network/costs.csv``);
* :mod:`.instance` — RTT caps, sovereignty rules, demand nodes, allowed pairs, the infeasibility report;
* :mod:`.optimise` — the MILP (linopy + HiGHS, one ``define_<family>_constraints`` per family, N-1 by
  dedicated reserve), the greedy baseline and their shared evaluation;
* :mod:`.plan` — the plan Dataset (site x tier x year, point x tier x year) and KPIs per year;
* :mod:`.export` — the plan's sites as a PyPSA network (``to_pypsa``), one site reproducing the dispatch LP;
* :mod:`.synthetic` — random instances for tests and benchmarks.
"""

from .demand import (
    CUBE_REGION_COUNTRIES,
    H3_RESOLUTION,
    TIER_WORKLOAD,
    TIERS,
    aggregate_population,
    cube_region,
    demand_points,
)
from .export import site_components, to_pypsa
from .instance import (
    HOURS_PER_YEAR,
    PROTECTED_TIERS,
    SOVEREIGNTY_RULES,
    InfeasibleDemandWarning,
    Instance,
    TierData,
    build_instance,
    sovereignty_mask,
)
from .optimise import (
    OBJECTIVES,
    Solution,
    build_network_milp,
    evaluate,
    greedy,
    solve_network,
    violations,
)
from .plan import kpis, plan_dataset, plan_network
from .supply import (
    DEFAULT_CONFIDENCE,
    FLEXIBLE_PATH,
    Costs,
    capital_recovery_factor,
    mw_at_confidence,
    read_costs,
    site_supply,
)
from .synthetic import random_network

__all__ = [
    "CUBE_REGION_COUNTRIES", "Costs", "DEFAULT_CONFIDENCE", "FLEXIBLE_PATH", "H3_RESOLUTION", "HOURS_PER_YEAR",
    "InfeasibleDemandWarning", "Instance", "OBJECTIVES", "PROTECTED_TIERS", "SOVEREIGNTY_RULES", "Solution",
    "TIERS", "TIER_WORKLOAD", "TierData", "aggregate_population", "build_instance", "build_network_milp",
    "capital_recovery_factor", "cube_region", "demand_points", "evaluate", "greedy", "kpis", "mw_at_confidence", "plan_dataset", "plan_network",
    "random_network", "read_costs", "site_components", "site_supply", "solve_network", "sovereignty_mask",
    "to_pypsa", "violations",
]
