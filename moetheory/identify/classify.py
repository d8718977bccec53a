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

from collections.abc import Callable, Sequence
from dataclasses import dataclass

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
    if spans["duplicate"] and in_span(vector, base):  # zeros, rescalings and duplicates only
        return "duplicate"
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


Term = tuple[int, ...]


@dataclass(frozen=True)
class RelationData:
    """What the rules need of one relation Σ c_i ∂^{terms_i} u = 0, at the generic point θ¹.

    ``values`` are c_i(θ¹); ``gradients[i][k]`` is ∂c_i/∂θ_k at θ¹ (needed for first-order
    relations only, whose prolongation spans derived relations); ``symbolic``: proved.
    """

    terms: tuple[Term, ...]
    values: tuple[float, ...]
    gradients: tuple[tuple[float, ...], ...] | None
    symbolic: bool


@dataclass(frozen=True)
class Family:
    """The Taylor family the relations live in: its terms in canonical order, the term kinds
    ('u', 'g', 'e', 'gg', 'ge', 'ee'), the variance positions, the number of parameters."""

    terms: tuple[Term, ...]
    kind: Callable[[Term], str]
    variance: frozenset[int]
    params: int

    @property
    def order(self) -> int:
        return max(len(t) for t in self.terms)

    def vector(self, terms: Sequence[Term], values: Sequence[float]) -> np.ndarray:
        index = {t: i for i, t in enumerate(self.terms)}
        v = np.zeros(len(self.terms))
        for t, c in zip(terms, values, strict=True):
            if t in index:
                v[index[t]] += c
        return v


def _is_first_order(rel: RelationData) -> bool:
    return all(len(t) <= 1 for t in rel.terms) and len(rel.terms) > 1


def scale_relations(params: int, scales: list[tuple[int, object]]) -> list[dict[Term, object]]:
    """The rescaling relations of output scales (position s, value c at θ¹), as {term: coeff}:
    u − c∂_c u, ∂²_c u and ∂_θ u − c∂²_{θc} u for every other parameter θ."""
    out: list[dict[Term, object]] = []
    for s, c in scales:
        out += [{(): 1, (s,): -c}, {(s, s): 1}]
        out += [{(k,): 1, tuple(sorted((k, s))): -c} for k in range(params) if k != s]
    return out


def prolongations(terms: Sequence[Term], values: Sequence, gradients: Sequence[Sequence],
                  params: int, order: int) -> list[dict[Term, object]]:
    """∂_k of the relation Σ c_i ∂^{α_i} u = 0 for each parameter k, as {term: coeff} at θ¹
    (Σ ∂_k c_i ∂^{α_i} u + c_i ∂^{α_i + e_k} u), kept when every term is of order ≤ ``order``."""
    out = []
    for k in range(params):
        entries: dict[Term, object] = {}
        for t, c, grad in zip(terms, values, gradients, strict=True):
            entries[t] = entries.get(t, 0) + grad[k]
            up = tuple(sorted((*t, k)))
            entries[up] = entries.get(up, 0) + c
        if all(len(t) <= order for t in entries):
            out.append(entries)
    return out


def _spans(family: Family, relations: list[RelationData],
           scales: list[tuple[int, float]]) -> dict[str, list[np.ndarray]]:
    """Generators of the uncounted and first-order spans (rules 1–5)."""
    spans: dict[str, list[np.ndarray]] = {"zero": [], "scale": [], "gate-internal": [],
                                          "homogeneity": [], "duplicate": []}
    spans["scale"] = [family.vector(list(r), [float(v) for v in r.values()])
                      for r in scale_relations(family.params, scales)]
    for rel in relations:
        if not (_is_first_order(rel) and rel.symbolic and rel.gradients is not None):
            continue
        cls = ("gate-internal" if all(family.kind(t) in ("u", "g") for t in rel.terms)
               else "homogeneity")
        spans[cls].append(family.vector(rel.terms, rel.values))
        spans[cls] += [family.vector(list(r), [float(v) for v in r.values()])
                       for r in prolongations(rel.terms, rel.values, rel.gradients,
                                              family.params, family.order)]
    spans["zero"] = [family.vector(r.terms, r.values) for r in relations if len(r.terms) == 1]
    for rel in relations:
        vector = family.vector(rel.terms, rel.values)
        if is_duplicate([family.kind(t) for t in rel.terms], vector, spans):
            spans["duplicate"].append(vector)
    return spans


def classify_all(family: Family, relations: list[RelationData], weak: list[RelationData],
                 scales: list[tuple[int, float]]) -> tuple[list[str], list[str]]:
    """Classes of the relations of the Taylor family and of the first-order (weak) family.

    ``scales`` are the output scales (position, value at θ¹). One function for the engine and
    for ``verify``, so both apply the same rules to numbers computed by their own paths.
    """
    spans = _spans(family, relations, scales)

    def one(rel: RelationData) -> str:
        kinds = [family.kind(t) for t in rel.terms]
        has_var = any(i in family.variance for t in rel.terms for i in t)
        return classify(kinds, has_var, family.vector(rel.terms, rel.values), spans)

    return [one(r) for r in relations], [one(r) for r in weak]
