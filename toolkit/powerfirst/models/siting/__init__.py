"""Siting: screen every location of a region for an energy-first AI site.

* :mod:`.candidates` — a user's sites, H3 grids of a region, brownfield plants, data-centre clusters;
  country, state, county and BA from location;
* :mod:`.layers` — power, time to power, energy, latency, water, hazard and social-licence layers;
* :mod:`.score` — the scorecard: pillars, fixed normalisation, weights per tier (``data/siting/scorecard.yaml``);
* :mod:`.screen` — the screen on Dask: scores, ranks, Monte Carlo P(top-k) and rank stability.
"""

from .candidates import (
    MAX_CANDIDATES,
    annotate,
    datacentre_candidates,
    grid_candidates,
    plant_candidates,
    site_candidates,
)
from .layers import LAYER_META, SitingContext, compute_layers, headroom_at, load_context
from .score import PILLARS, TIERS, Scorecard, load_scorecard, pillar_scores, total_score
from .screen import (
    SCREEN_PATHS,
    Cancelled,
    ScreenSettings,
    explain,
    screen,
    ttp_profiles,
    weight_sensitivity,
)

__all__ = [
    "Cancelled", "LAYER_META", "MAX_CANDIDATES", "PILLARS", "SCREEN_PATHS", "TIERS", "Scorecard", "ScreenSettings",
    "SitingContext", "annotate", "compute_layers", "datacentre_candidates", "explain", "grid_candidates",
    "headroom_at", "load_context", "load_scorecard", "pillar_scores", "plant_candidates", "screen",
    "site_candidates", "ttp_profiles", "total_score", "weight_sensitivity",
]
