"""Symbolic layer: safe formula parser, closed derivative families, exact and ball arithmetic."""
