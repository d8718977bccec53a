"""Relation classes, decided from each relation's terms and from the span of known generators.

Rules, applied in this order (documented in README, "Relation classes"):

1. ``zero`` — a single term: that derivative vanishes identically.
2. ``expert-rescaling`` — in the span of the zero terms and the rescaling relations of an output
   scale c (computed: u = c ∂u/∂c holds exactly): u − c∂_c u, ∂²_c u, ∂_θ u − c ∂²_{θc} u.
3. first-order relations (terms of order ≤ 1): ``gate-internal`` if only gate parameters are
   differentiated (P4, P6, P7), otherwise ``homogeneity`` (Euler identities, ReLU scaling).
4. second-order relations that need the first-order relations or their derivatives in a
   parameter (their *prolongation*): in the span of classes 1–2, the duplicates (rule 5) and the
   prolongation, but not of classes 1–2 and duplicates alone: the class of the first-order
   relations needed (gate-internal if those suffice, else homogeneity).
5. ``duplicate`` — every term is a mixed gate × expert second derivative ∂²u/∂β∂η, and the
   relation is not in the span of classes 1–2, the prolongation and the duplicates before it in
   canonical order (so β₁ᵀ∂²u/∂β₁∂η = 0, the derivative of the cosine router's P7, stays
   gate-internal).
6. ``heat`` — no gate parameter is differentiated, or a variance parameter and a second-order
   expert derivative both occur (P2).
7. ``gate-internal`` — only gate parameters are differentiated.
8. ``gate-expert`` — anything else: gate and expert derivatives linked (P1, P3, P5).
"""

from __future__ import annotations

import numpy as np

CLASSES = ("zero", "expert-rescaling", "duplicate", "homogeneity", "gate-expert",
           "gate-internal", "heat")
PAPERS_COUNT = ("homogeneity", "gate-expert", "gate-internal", "heat")


def in_span(vector: np.ndarray, generators: list[np.ndarray]) -> bool:
    if not generators:
        return False
    g = np.array(generators)
    g = g / np.maximum(np.linalg.norm(g, axis=1, keepdims=True), 1e-300)
    v = vector / max(np.linalg.norm(vector), 1e-300)
    coef, *_ = np.linalg.lstsq(g.T, v, rcond=None)
    return bool(np.linalg.norm(g.T @ coef - v) < 1e-7)


def is_duplicate(kinds: list[str], vector: np.ndarray, spans: dict[str, list[np.ndarray]]) -> bool:
    """Rule 5: mixed gate × expert terms only, and not explained by the prolongation."""
    explained = (spans["zero"] + spans["scale"] + spans["gate-internal"] + spans["homogeneity"]
                 + spans["duplicate"])
    return len(kinds) > 1 and all(k == "ge" for k in kinds) and not in_span(vector, explained)


def classify(kinds: list[str], has_variance: bool, vector: np.ndarray,
             spans: dict[str, list[np.ndarray]]) -> str:
    """Class of one relation. ``kinds`` are the term kinds ('u','g','e','gg','ge','ee').

    ``spans`` holds generator vectors at the generic point: 'zero', 'scale', 'duplicate'
    (relations passing ``is_duplicate``), and the first-order relations with their prolongation
    under 'gate-internal' and 'homogeneity'.
    """
    if len(kinds) == 1:
        return "zero"
    if spans["scale"] and in_span(vector, spans["zero"] + spans["scale"]):
        return "expert-rescaling"
    if all(len(k) <= 1 for k in kinds):
        return "gate-internal" if set(kinds) <= {"u", "g"} else "homogeneity"
    base = spans["zero"] + spans["scale"] + spans["duplicate"]
    if not in_span(vector, base):
        if spans["gate-internal"] and in_span(vector, base + spans["gate-internal"]):
            return "gate-internal"
        if spans["homogeneity"] and in_span(vector, base + spans["gate-internal"]
                                            + spans["homogeneity"]):
            return "homogeneity"
    if all(k == "ge" for k in kinds):
        return "duplicate"
    if set(kinds) <= {"u", "e", "ee"} or (has_variance and "ee" in kinds):
        return "heat"
    if set(kinds) <= {"u", "g", "gg"}:
        return "gate-internal"
    return "gate-expert"
