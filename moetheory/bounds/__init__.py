"""Bounds from architecture sizes: parameter counts, VC-dimension bounds, approximation rates."""
