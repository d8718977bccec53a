"""Rates: the theorem catalogue and predictor, the r̄ solver, Voronoi losses and the rate-reading
rule (reference identifiability.md §4–§6)."""
