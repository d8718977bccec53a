"""Relation classes, decided from each relation's terms and from the span of known generators.

Every generator span is *closed under differentiation*: with a relation Σ c_i(θ) ∂^{α_i} u = 0
its derivative in each parameter θ_k, Σ ∂_k c_i ∂^{α_i} u + c_i ∂^{α_i + e_k} u = 0, holds too,
and so on up to the order of the family (:func:`closure`). A relation that is the derivative of an
expert rescaling is an expert rescaling at order 3, not a new gate–expert relation.

Rules, applied in this order (documented in README, "Relation classes"):

1. ``zero`` — a single term of order ≥ 2: that derivative vanishes identically (∂²u/∂c² for an
   output scale, ∂²u/∂a² for a linear expert), a fact of the listing, not counted by strong;
   ``inert`` — a single term of order ≤ 1: u or ∂u/∂θ vanishes identically, θ does not act on
   u (sign(aᵀx + k) on its open regions), which breaks weak and so strong as well.
2. ``expert-rescaling`` — in the span of the zero terms and the closure of the rescaling
   relations of an output scale c (computed: k·u = c ∂u/∂c holds exactly): k·u − c∂_c u, ∂²_c u,
   ∂_θ u − c ∂²_{θc} u and their derivatives.
3. first-order relations (terms of order ≤ 1): ``gate-internal`` if only gate parameters are
   differentiated (P4, P6, P7), otherwise ``homogeneity`` (Euler identities, ReLU scaling).
4. higher-order relations that need the first-order relations' derivatives (their
   *prolongation*, closed): in the span of classes 1–2, the duplicates (rule 5) and the
   prolongation, but not of classes 1–2 and duplicates alone: the class of the first-order
   relations needed (gate-internal if those suffice, else homogeneity).
5. ``duplicate`` — the same function listed twice: every term mixes gate and expert
   derivatives (∂²u/∂β∂η, ∂³u/∂β∂β'∂η, …), or the top-order terms pair up by swapping the
   coordinates of two different vector parameters, ∂²u/∂ω₁∂β₂ − ∂²u/∂ω₂∂β₁ plus lower-order
   terms (the rotated form of a Laplace gate under a softmax level, identifiability.md §3,
   "report them; do not let them decide strong"); and the relation is not in the span of
   classes 1–2, the prolongation and the closure of the duplicates before it in canonical
   order (so β₁ᵀ∂²u/∂β₁∂η = 0, the derivative of the cosine router's P7, stays
   gate-internal); the derivatives of a duplicate are duplicates.
6. ``heat`` — no gate parameter is differentiated, or a variance parameter and a higher-order
   expert derivative both occur (P2).
7. ``gate-internal`` — only gate parameters are differentiated.
8. ``gate-expert`` — anything else: gate and expert derivatives linked (P1, P3, P5).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import sympy as sp

CLASSES = (
    "zero",
    "inert",
    "expert-rescaling",
    "duplicate",
    "homogeneity",
    "gate-expert",
    "gate-internal",
    "heat",
)
PAPERS_COUNT = ("inert", "homogeneity", "gate-expert", "gate-internal", "heat")

Term = tuple[int, ...]
Entries = dict[Term, sp.Expr]
"""A relation Σ c_α ∂^α u = 0 as {α: c_α}, the coefficients symbolic in the parameters."""


def in_span(vector: np.ndarray, generators: list[np.ndarray]) -> bool:
    if not generators:
        return False
    g = np.array(generators)
    g = g / np.maximum(np.linalg.norm(g, axis=1, keepdims=True), 1e-300)
    v = vector / max(np.linalg.norm(vector), 1e-300)
    coef, *_ = np.linalg.lstsq(g.T, v, rcond=None)
    return bool(np.linalg.norm(g.T @ coef - v) < 1e-7)


def mixed(kind: str) -> bool:
    """A term differentiating both a gate and an expert parameter ('ge', 'gge', 'gee', …)."""
    return "g" in kind and "e" in kind


def classify(
    kinds: list[str], has_variance: bool, vector: np.ndarray, spans: dict[str, list[np.ndarray]]
) -> str:
    """Class of one relation. ``kinds`` are the term kinds ('u', 'g', 'e', 'gg', 'ge', …).

    ``spans`` holds generator vectors at the generic point, each closed under differentiation:
    'zero', 'scale', 'duplicate', the first-order relations with their prolongation under
    'gate-internal' and 'homogeneity', and two parts of the relation space R itself: 'no-gate'
    = R ∩ span(terms without a gate derivative), 'no-expert' likewise. A counted class is given
    only to what these do not explain.
    """
    if len(kinds) == 1:
        return "zero" if len(kinds[0]) >= 2 else "inert"
    if spans["scale"] and in_span(vector, spans["zero"] + spans["scale"]):
        return "expert-rescaling"
    if all(len(k) <= 1 for k in kinds):
        return "gate-internal" if set(kinds) <= {"u", "g"} else "homogeneity"
    uncounted = spans["zero"] + spans["scale"]
    prolonged = spans["gate-internal"] + spans["homogeneity"]
    if spans["gate-internal"] and in_span(vector, uncounted + spans["gate-internal"]):
        return "gate-internal"  # derivatives of P4/P7 (β₁ᵀ∂²u/∂β₁∂η = 0) before duplicates
    if prolonged and in_span(vector, uncounted + prolonged):
        return "homogeneity"
    if spans["heat"] and in_span(vector, uncounted + spans["heat"]):
        return "heat"  # derivatives of the expert's own relations before duplicates
    uncounted += spans["duplicate"]
    if spans["duplicate"] and in_span(vector, uncounted):
        return "duplicate"
    if spans["gate-internal"] and in_span(vector, uncounted + spans["gate-internal"]):
        return "gate-internal"
    if prolonged and in_span(vector, uncounted + prolonged):
        return "homogeneity"
    explained = uncounted + prolonged + spans["heat"]
    if in_span(vector, explained + spans["no-gate"]):
        return "heat"
    if in_span(vector, explained + spans["no-gate"] + spans["no-expert"]):
        return "gate-internal"  # gate-only parts needed (with heat parts, if any)
    if has_variance and any(k.count("e") >= 2 for k in kinds):
        return "heat"
    return "gate-expert"


def part(vectors: list[np.ndarray], keep: np.ndarray) -> list[np.ndarray]:
    """A basis of span(vectors) ∩ {v : v_i = 0 outside ``keep``}, in floats (SVD, relative
    tolerance 1e-9): the relations that use only the kept terms, whatever basis was listed."""
    if not vectors or not keep.any():
        return []
    m = np.array(vectors)
    m = m / np.maximum(np.linalg.norm(m, axis=1, keepdims=True), 1e-300)
    outside = m[:, ~keep]
    if outside.shape[1] == 0:
        return list(m)
    _, sv, vt = np.linalg.svd(outside.T, full_matrices=True)
    rank = int((sv > 1e-9 * max(sv.max(initial=0.0), 1.0)).sum())
    combos = vt[rank:]
    return [c @ m for c in combos]


@dataclass(frozen=True)
class RelationData:
    """What the rules need of one relation Σ c_i ∂^{terms_i} u = 0.

    ``values`` are c_i(θ¹); ``coefficients`` the c_i as expressions in the parameters (None
    for a numeric relation, which is never differentiated); ``symbolic``: proved.
    """

    terms: tuple[Term, ...]
    values: tuple[float, ...]
    coefficients: tuple[sp.Expr, ...] | None
    symbolic: bool

    def entries(self) -> Entries:
        assert self.coefficients is not None
        return dict(zip(self.terms, self.coefficients, strict=True))


@dataclass(frozen=True)
class Family:
    """The Taylor family the relations live in: its terms in canonical order, the term kinds
    ('u', 'g', 'e', 'gg', 'ge', …), the variance positions, the parameters (symbols, in
    position order) and the generic point θ¹ at which relations are compared."""

    terms: tuple[Term, ...]
    kind: Callable[[Term], str]
    variance: frozenset[int]
    symbols: tuple[sp.Symbol, ...]
    point: Mapping[sp.Symbol, sp.Expr]

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

    def at_point(self, entries: Entries) -> np.ndarray:
        """The relation's coefficient vector at θ¹, in floats."""
        terms = list(entries)
        return self.vector(
            terms, [float(sp.N(c.xreplace(self.point), 30)) for c in entries.values()]
        )


def coordinate(symbol: sp.Symbol) -> tuple[str, int] | None:
    """(vector, index) of a coordinate parameter named like ``beta2``; None for a scalar.

    >>> coordinate(sp.Symbol("omega12")), coordinate(sp.Symbol("c"))
    (('omega', 12), None)
    """
    m = re.fullmatch(r"(.*\D)(\d+)", symbol.name)
    return (m[1], int(m[2])) if m else None


def swapped_pairs(rel: RelationData, symbols: Sequence[sp.Symbol]) -> bool:
    """True when the relation's top-order terms (at least two, of order ≥ 2) pair up as
    ∂^α u with coefficient c and ∂^{α'} u with coefficient −c, α' being α with the indices of
    two different vector parameters swapped (ω₁β₂ ↔ ω₂β₁): the same function x_i x_j(…)
    listed twice, up to the lower-order terms a rotation leaves.

    >>> w1, w2, b1, b2 = sp.symbols("omega1 omega2 beta1 beta2")
    >>> rel = RelationData(((2,), (3,), (0, 3), (1, 2)), (-1.0, 1.0, 1.0, -1.0), None, True)
    >>> swapped_pairs(rel, (w1, w2, b1, b2))
    True
    """
    top = max(len(t) for t in rel.terms)
    value = {t: v for t, v in zip(rel.terms, rel.values, strict=True) if len(t) == top}
    if top < 2 or len(value) < 2:
        return False
    coords = [coordinate(s) for s in symbols]
    where = {c: k for k, c in enumerate(coords) if c is not None}

    def partners(t: Term):
        for a, b in itertools.combinations(range(len(t)), 2):
            p, q = coords[t[a]], coords[t[b]]
            if p is None or q is None or p[0] == q[0] or p[1] == q[1]:
                continue
            u, w = where.get((p[0], q[1])), where.get((q[0], p[1]))
            if u is not None and w is not None:
                rest = [i for k, i in enumerate(t) if k not in (a, b)]
                yield tuple(sorted((*rest, u, w)))

    scale = max(abs(v) for v in value.values())
    return all(
        any(s in value and abs(value[s] + v) <= 1e-9 * scale for s in partners(t))
        for t, v in value.items()
    )


def _is_first_order(rel: RelationData) -> bool:
    return all(len(t) <= 1 for t in rel.terms) and len(rel.terms) > 1


Scale = tuple[int, sp.Rational]
"""An output scale: its parameter position and the degree k with k·u = c ∂u/∂c (1 for c·h)."""


def scale_degree(u: sp.Expr, c: sp.Symbol) -> sp.Rational:
    """The candidate k ≠ 0 with c ∂u/∂c = k·u: the exponent when c occurs in u only as one
    factor c^k (c·h: 1, c²·h: 2, √c·h: 1/2), else 1 (u = c ∂u/∂c may still hold, as for
    ReLU(c x) at d = 1). A candidate only: the identity is proved before c is taken as a scale.

    >>> c, x = sp.symbols("c x")
    >>> scale_degree(c**2 * sp.tanh(x), c), scale_degree(sp.sqrt(c) * x, c)
    (2, 1/2)
    """
    factors = [f for f in sp.Mul.make_args(u) if f.has(c)]
    if len(factors) == 1:
        f = factors[0]
        if f.is_Pow and f.base == c and f.exp.is_Rational and f.exp != 0:
            return f.exp
    return sp.S.One


def scale_relations(symbols: Sequence[sp.Expr], scales: Sequence[Scale]) -> list[Entries]:
    """The rescaling relations k·u − c ∂_c u = 0 of output scales c (position, degree k), as
    {term: coeff}; their derivatives (∂²_c u, ∂_θ u − c ∂²_{θc} u for k = 1, …) come from
    :func:`closure`. ``symbols`` are the parameters (symbols for the relations as functions,
    numbers for their values at a point)."""
    return [{(): sp.S(k), (s,): -symbols[s]} for s, k in scales]


def prolong(entries: Entries, k: int, symbol: sp.Symbol) -> Entries:
    """∂_k of the relation Σ c_α ∂^α u = 0: Σ ∂_k c_α ∂^α u + c_α ∂^{α + e_k} u = 0."""
    out: Entries = {}
    for t, c in entries.items():
        dc = sp.diff(c, symbol)
        if dc != 0:
            out[t] = out.get(t, sp.S.Zero) + dc
        up = tuple(sorted((*t, k)))
        out[up] = out.get(up, sp.S.Zero) + c
    return {t: c for t, c in out.items() if c != 0}


def closure(
    relations: Sequence[Entries], symbols: Sequence[sp.Symbol], order: int
) -> list[Entries]:
    """Every derivative of the relations in the parameters, to any depth, whose terms are all of
    order ≤ ``order`` (the relations themselves excluded).

    >>> a, c = sp.symbols("a c")
    >>> [sorted(r) for r in closure([{(): 1, (1,): -c}], (a, c), 2)]
    [[(0,), (0, 1)], [(1, 1)]]
    """
    out: list[Entries] = []
    seen: set[tuple] = set()
    frontier = [dict(r) for r in relations if all(len(t) <= order for t in r)]
    while frontier:
        nxt = []
        for rel in frontier:
            for k, symbol in enumerate(symbols):
                new = prolong(rel, k, symbol)
                if not new or any(len(t) > order for t in new):
                    continue
                key = tuple(sorted((t, sp.srepr(c)) for t, c in new.items()))
                if key not in seen:
                    seen.add(key)
                    out.append(new)
                    nxt.append(new)
        frontier = nxt
    return out


def _spans(
    family: Family, relations: list[RelationData], scales: list[Scale]
) -> dict[str, list[np.ndarray]]:
    """Generators of the uncounted and first-order spans (rules 1–5), closed."""
    spans: dict[str, list[np.ndarray]] = {
        "zero": [],
        "scale": [],
        "gate-internal": [],
        "homogeneity": [],
        "heat": [],
    }
    order = family.order

    def closed(entries: list[Entries]) -> list[np.ndarray]:
        return [family.at_point(e) for e in [*entries, *closure(entries, family.symbols, order)]]

    spans["scale"] = closed(
        [r for r in scale_relations(family.symbols, scales) if all(len(t) <= order for t in r)]
    )
    for rel in relations:
        if not (rel.symbolic and rel.coefficients is not None and len(rel.terms) > 1):
            continue
        kinds = [family.kind(t) for t in rel.terms]
        if _is_first_order(rel):
            cls = "gate-internal" if set(kinds) <= {"u", "g"} else "homogeneity"
        elif swapped_pairs(rel, family.symbols):
            continue  # a duplicate (below), even when gate-only or expert-only
        elif all("e" not in k for k in kinds):  # a gate-only relation of higher order (a
            cls = "gate-internal"  # Gaussian gate's heat equation, ∂²u/∂m² = u for e^{-|x-m|})
        elif all("g" not in k for k in kinds):
            cls = "heat"  # an expert-only relation (P2) and, below, its derivatives
        else:
            continue
        spans[cls] += closed([rel.entries()])
    spans["zero"] = [family.vector(r.terms, r.values) for r in relations if len(r.terms) == 1]
    vectors = [family.vector(r.terms, r.values) for r in relations]
    term_kinds = np.array([family.kind(t) for t in family.terms])
    spans["no-gate"] = part(vectors, np.array(["g" not in k for k in term_kinds], dtype=bool))
    spans["no-expert"] = part(vectors, np.array(["e" not in k for k in term_kinds], dtype=bool))
    # duplicates: listed relations of mixed terms only that zeros, rescalings, prolongations and
    # the duplicates before them do not explain. Not R ∩ span(mixed terms): that space also
    # holds P4's derivative in an expert parameter combined with P5 (temperature-softmax-b0 ×
    # gaussian-linear), which would make the interaction P5 look explained (issue 14 note)
    spans["duplicate"] = []
    for rel, vector in zip(relations, vectors, strict=True):
        explained = (
            spans["zero"]
            + spans["scale"]
            + spans["gate-internal"]
            + spans["homogeneity"]
            + spans["duplicate"]
        )
        listed_twice = all(mixed(family.kind(t)) for t in rel.terms) or swapped_pairs(
            rel, family.symbols
        )
        if len(rel.terms) > 1 and listed_twice and not in_span(vector, explained):
            if rel.coefficients is not None and rel.symbolic:
                spans["duplicate"] += closed([rel.entries()])
            else:
                spans["duplicate"].append(vector)
    return spans


def classify_all(
    family: Family, relations: list[RelationData], weak: list[RelationData], scales: list[Scale]
) -> tuple[list[str], list[str]]:
    """Classes of the relations of the Taylor family and of the first-order (weak) family.

    ``scales`` are the output scales (position, degree). One function for the engine and for
    ``verify``, so both apply the same rules to numbers computed by their own paths.
    """
    spans = _spans(family, relations, scales)

    def one(rel: RelationData) -> str:
        kinds = [family.kind(t) for t in rel.terms]
        has_var = any(i in family.variance for t in rel.terms for i in t)
        return classify(kinds, has_var, family.vector(rel.terms, rel.values), spans)

    return [one(r) for r in relations], [one(r) for r in weak]
