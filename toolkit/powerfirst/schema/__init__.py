"""The cube schema: variables, units and dimensions as data (``variables.csv``).

``variables.csv`` lists every variable powerfirst writes, with its units,
dimensions, long name, the cube kinds it belongs to and its valid range.
``site_attributes.csv`` lists the attributes of a candidate site, and
``grids.csv`` / ``countries.csv`` the balancing-authority, bidding-zone and
country codes the loaders accept.
"""

from powerfirst.schema.tables import (
    countries,
    grid_codes,
    grids,
    site_attributes,
    variables,
)
from powerfirst.schema.validate import KINDS, check, validate

__all__ = [
    "KINDS",
    "check",
    "countries",
    "grid_codes",
    "grids",
    "site_attributes",
    "validate",
    "variables",
]
