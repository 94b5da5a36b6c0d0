"""Scenarios: a declarative spec (``param.Parameterized``, YAML round trip) and ``run_scenario``."""

from powerfirst.scenarios.spec import Scenario, run_scenario

__all__ = ["Scenario", "run_scenario"]
