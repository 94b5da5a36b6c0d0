"""Cubes: labelled xarray Datasets with units (grid, energy, demand) and the ``ds.pf`` accessor."""

from powerfirst.cubes import accessor as _accessor  # noqa: F401  (registers ds.pf)
