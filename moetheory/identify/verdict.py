"""The Verdict: one object holding the pair, its relations, verdicts, certificate and timing.

The maths never prints: ``to_json`` gives plain data, presentation lives in ``moetheory.present``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import sympy as sp

from moetheory.identify.classify import CLASSES, PAPERS_COUNT

if TYPE_CHECKING:
    from moetheory.identify.verify import VerifyReport

SCHEMA = "moetheory.verdict/2"
"""Schema of ``Verdict.to_json`` (2: parameter roles, variances and the output recorded)."""

COUNTS = {
    "strong": list(PAPERS_COUNT),
    "strong_literal": list(CLASSES),
    "weak": list(CLASSES),
    "interaction_free": ["gate-expert"],
}
"""Relation classes that break each verdict."""

BY_CLASS = ("strong", "interaction_free")
"""Verdicts that count some classes but not others: their answer depends on the span of the
relations, so a "no" needs the complete, proved relation list (``moetheory.identify.spans``)."""

DEFINITIONS = {
    "strong": "Taylor family {∂^α u : |α| ≤ r} (u itself standing for the mass direction), k = 1 "
    "and k = 2 generic atoms, papers' convention: vanishing derivatives of order ≥ 2, "
    "expert rescalings and duplicates are not counted (2505.10860 Def. 1, "
    "identifiability.md §2); a parameter that does not act on u (∂u/∂θ ≡ 0) is "
    "counted",
    "strong_literal": "the same family, every linear relation counted",
    "weak": "first-order family {∂u/∂θ} with u standing for the mass direction where the "
    "gate has a mass (as in the strong family), k = 1 and k = 2 atoms, every relation "
    "counted (2505.10860 Def. 2 with the gate included)",
    "interaction_free": "no gate-expert relation (a first-order term tied to mixed gate × expert "
    "derivatives; 2503.03213, 2401.13875 operational form)",
}


def weak_terms(terms: list | tuple, has_masses: bool) -> list:
    """The terms of the weak family: the first-order ones, and u itself where the gate has a
    mass (u = ∂u/∂β₀ for a mass entering as e^{β₀}; ∂u/∂β₀ = u/τ for e^{β₀/τ}), so that a
    relation through the mass direction — the scaling (β₁, β₀, τ) ↦ λ(β₁, β₀, τ) of a
    temperature gate with β₀ inside — counts as it does in the strong family.

    >>> weak_terms([(), (0,), (1,), (0, 1)], True), weak_terms([(), (0,), (0, 0)], False)
    ([(), (0,), (1,)], [(0,)])

    Reference: identifiability.md §2 (Def. 2), §3 (mass parameter); issue 14.
    """
    return [t for t in terms if len(t) == 1 or (has_masses and not t)]


def mass_trade(weak: list, kind) -> int | None:
    """The position of a weak relation that only trades the mass direction for the expert's
    scale, or None.

    That is the case when the weak relations are exactly one, through u, whose other terms are
    expert derivatives: u = c ∂_c u (an output scale), u = aᵀ∂_a u + b ∂_b u (a linear expert).
    Scaling the expert against the atom's mass leaves u unchanged but not the normalised
    mixture (the mass enters every gate's denominator), so this relation does not break weak
    identifiability. With two or more weak relations some combination is free of u — a
    relation among the ∂u/∂θ alone — and every one counts.

    ``weak`` holds the relations' term lists; ``kind`` maps a term to 'u', 'g', 'e', ….
    """
    if len(weak) != 1:
        return None
    kinds = [kind(t) for t in weak[0]]
    return 0 if "u" in kinds and set(kinds) <= {"u", "e"} else None


def decide_verdicts(
    relations: list,
    weak: list,
    complete: bool,
    k2_ok: bool,
    weak_cert: bool,
    weak_complete: bool,
    weak_exempt: int | None = None,
) -> tuple[dict[str, str], dict[str, str], dict[str, list[int]]]:
    """(verdicts, reasons, breaks) from the relations' classes and proofs and the certificate.

    ``relations`` and ``weak`` are objects with ``cls`` and ``verified``. A verdict is "no" when
    a proved relation of a class it counts exists, "unknown" when such a relation is only
    numeric, "yes" when none exists and the rank is certified (``complete``, the k = 2 minor
    ``k2_ok``, no numeric relation; for weak: its minors and ``weak_complete``), else "unknown".
    For the verdicts that count some classes only (:data:`BY_CLASS`) a "no" also needs the
    relation list complete and proved: a class is a property of the span, not of one relation.
    ``weak_exempt`` is the position of a weak relation that only trades the mass for the
    expert's scale (:func:`mass_trade`), which weak does not count.
    The engine and ``verify`` both call this: one rule, applied to their own evidence.
    """
    verdicts, reasons, breaks = {}, {}, {}
    numeric_only = any(r.verified != "symbolic" for r in relations)

    def decide(key: str, breaking: list[int], rels: list, certified: bool) -> None:
        proved = [i for i in breaking if rels[i].verified == "symbolic"]
        breaks[key] = breaking
        if proved and key in BY_CLASS and not (complete and not numeric_only):
            verdicts[key] = "unknown"
            reasons[key] = (
                "a relation of a counted class is proved, but the relation list is "
                "not complete and proved, so it is not shown to lie outside the "
                "span of the uncounted relations"
            )
        elif proved:
            verdicts[key] = "no"
            reasons[key] = f"{len(proved)} proved relation(s) of counted classes"
        elif breaking:
            verdicts[key] = "unknown"
            reasons[key] = "counted relations found numerically but not proved"
        elif certified:
            verdicts[key] = "yes"
            reasons[key] = "every relation is of an uncounted class and the rank is certified"
        else:
            verdicts[key] = "unknown"
            reasons[key] = "the rank could not be certified"

    ok = complete and k2_ok and not numeric_only
    weak_ok = weak_cert and weak_complete and not any(r.verified != "symbolic" for r in weak)
    for key in COUNTS:
        rels, certified = (weak, weak_ok) if key == "weak" else (relations, ok)
        decide(
            key,
            [
                i
                for i, r in enumerate(rels)
                if r.cls in COUNTS[key] and not (key == "weak" and i == weak_exempt)
            ],
            rels,
            certified,
        )
    if weak_exempt is not None and verdicts["weak"] == "yes":
        reasons["weak"] = (
            "the only first-order relation trades the mass direction for the "
            "expert's scale, which the gate's normalisation breaks; the rank is "
            "certified"
        )
    return verdicts, reasons, breaks


@dataclass(frozen=True)
class Relation:
    """Σ coefficients[i] · ∂^{terms[i]} u = 0, with its class and how it was verified."""

    terms: tuple[tuple[int, ...], ...]
    term_names: tuple[str, ...]
    coefficients: tuple[sp.Expr, ...]
    cls: str
    verified: str  # "symbolic" or "numeric"
    parameters: tuple[str, ...]

    @property
    def expression(self) -> sp.Expr:
        """The relation as a sympy expression (= 0), derivatives left unevaluated."""
        u = sp.Symbol("u")
        total = sp.S.Zero
        for c, name in zip(self.coefficients, self.term_names, strict=True):
            total += c * _term(u, name)
        return total

    def to_json(self) -> dict:
        return {
            "expression": sp.sstr(self.expression),
            "class": self.cls,
            "parameters": list(self.parameters),
            "verified": self.verified,
            "terms": list(self.term_names),
            "coefficients": [sp.sstr(c) for c in self.coefficients],
        }


def _term(u: sp.Symbol, name: str) -> sp.Expr:
    if name == "u":
        return u
    names = name[len("Derivative(u, ") : -1].split(", ")
    return sp.Derivative(u, *(sp.Symbol(n, real=True) for n in names), evaluate=False)


@dataclass
class Verdict:
    """Outcome of ``identify`` for one router–expert pair."""

    gate: str
    expert: str
    u: sp.Expr
    inputs: tuple[str, ...]
    params: tuple[str, ...]
    masses: tuple[str, ...]
    order: int
    relations: list[Relation]
    weak_relations: list[Relation]
    cross_atom: list[str]
    verdicts: dict[str, str]
    reasons: dict[str, str]
    breaks: dict[str, list[int]]
    certificate: dict
    seed: int
    seconds: float
    scales: tuple[str, ...] = ()
    minimal: bool = True
    notes: list[str] = field(default_factory=list)
    roles: tuple[str, ...] = ()
    factors: tuple[tuple[str, str], ...] = ()
    variance: tuple[str, ...] = ()
    output: str | None = None

    def verify(self) -> VerifyReport:
        """Re-check the certificate and every relation without trusting the engine."""
        from moetheory.identify.verify import verify_json

        return verify_json(self.to_json())

    def to_json(self) -> dict:
        return {
            "schema": SCHEMA,
            "gate": self.gate,
            "expert": self.expert,
            "u": sp.sstr(self.u),
            "inputs": list(self.inputs),
            "parameters": list(self.params),
            "masses": list(self.masses),
            "roles": list(self.roles),
            "factors": [{"role": r, "formula": f} for r, f in self.factors],
            "variance": list(self.variance),
            "output": self.output,
            "order": self.order,
            "verdicts": dict(self.verdicts),
            "reasons": dict(self.reasons),
            "counts": COUNTS,
            "definitions": DEFINITIONS,
            "breaks": {k: list(v) for k, v in self.breaks.items()},
            "relations": [r.to_json() for r in self.relations],
            "weak_relations": [r.to_json() for r in self.weak_relations],
            "cross_atom_relations": list(self.cross_atom),
            "output_scales": list(self.scales),
            "minimal_basis": self.minimal,
            "notes": list(self.notes),
            "certificate": self.certificate,
            "seed": self.seed,
            "seconds": round(self.seconds, 3),
        }

    def _repr_markdown_(self) -> str:
        from moetheory.present.markdown import verdict_markdown

        return verdict_markdown(self)

    def _repr_latex_(self) -> str:
        from moetheory.present.latex import verdict_latex

        return verdict_latex(self)
