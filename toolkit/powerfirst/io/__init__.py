"""Readers of the formats users download: sites, EIA-930, weather, facts, stores."""
