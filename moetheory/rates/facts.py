"""Facts about a router–expert pair that theorem hypotheses are matched against.

Two kinds, kept apart so a reader sees which is which:
- *declared* by the families (cvxpy-atom style): the gate's normalisation and score class, the
  expert's setting (least-squares regression mean or Gaussian density);
- *computed*: whether the gate score is β₁ᵀx + β₀ (``score_is_linear``), whether the expert
  mean is aᵀx + b (``mean_is_affine``), which activation the mean applies
  (``mean_activation``), and everything the identifiability engine decided —
  verdicts and the classes of the relations it proved.

Example
-------
>>> from moetheory import identify
>>> f = pair_facts(identify("softmax", "linear", dim=1))
>>> f.score_linear, f.mean_affine, "gate-expert" in f.relation_classes
(True, True, True)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sympy as sp

from moetheory.families import get_expert, get_router
from moetheory.identify.model import split_exponential
from moetheory.identify.verdict import Verdict
from moetheory.symbolic.functions import ACTIVATIONS, Phi, sigmoid, step


@dataclass(frozen=True)
class PairFacts:
    """What the rate catalogue may ask about a pair."""

    gate: str
    expert: str
    normalisation: str | None  # declared; None for a formula gate
    score: str  # declared score class, or computed ("linear"/"unclassified") for a formula
    score_linear: bool  # computed: log gate numerator is β₁ᵀx + β₀
    setting: str  # "least-squares" or "gaussian-likelihood" (declared by the expert)
    mean_affine: bool  # computed: the expert mean is aᵀx + b with distinct parameters
    verdicts: dict[str, str]
    relation_classes: frozenset[str]  # classes of the symbolically proved relations
    complete: bool  # the engine's certificate is complete
    mean_activation: str = "other"  # computed by ``mean_activation``

    def to_json(self) -> dict:
        return {
            "normalisation": self.normalisation,
            "score": self.score,
            "score_linear": self.score_linear,
            "setting": self.setting,
            "mean_affine": self.mean_affine,
            "mean_activation": self.mean_activation,
            "verdicts": dict(self.verdicts),
            "relation_classes": sorted(self.relation_classes),
            "complete": self.complete,
        }


def affine_form(
    expr: sp.Expr, inputs: tuple[sp.Symbol, ...], params: tuple[sp.Symbol, ...]
) -> bool:
    """True when expr = Σᵢ pᵢ xᵢ + c with distinct parameters pᵢ and c free of the inputs,
    affine in the parameters (computed exactly)."""
    e = sp.expand(expr)
    slopes = [sp.diff(e, x) for x in inputs]
    if not all(s in params for s in slopes) or len(set(slopes)) != len(slopes):
        return False
    rest = sp.expand(e - sum(s * x for s, x in zip(slopes, inputs, strict=True)))
    if rest.free_symbols & (set(inputs) | set(slopes)):
        return False
    others = [p for p in params if p not in slopes]
    return not rest.free_symbols - set(others) and (
        not others or sp.Poly(rest, *others).total_degree() <= 1
    )


_ACTIVATION_ATOMS = {step: "relu", Phi: "gelu", sigmoid: "sigmoid", sp.tanh: "tanh"}


def mean_activation(
    mean: sp.Expr, inputs: tuple[sp.Symbol, ...], params: tuple[sp.Symbol, ...]
) -> str:
    """The activation the expert mean applies, checked against its formula: "relu", "gelu",
    "sigmoid" or "tanh" when mean = c·σ(t) with σ that activation, t affine in the inputs
    (``affine_form``) and c free of them; "polynomial" when it is a polynomial; otherwise
    "other" (c·step(aᵀx) contains the step of ReLU but is not ReLU).

    >>> from moetheory.symbolic.functions import relu
    >>> a, b, c, x = sp.symbols("a b c x1")
    >>> mean_activation(c * relu(a * x + b), (x,), (a, b, c))
    'relu'
    >>> mean_activation(c * step(a * x), (x,), (a, c)), mean_activation(Phi(a * x), (x,), (a,))
    ('other', 'other')
    """
    kinds = {type(f) for f in mean.atoms(sp.Function)}
    if not kinds:
        return "polynomial" if mean.is_polynomial() else "other"
    if len(kinds) != 1 or (kind := kinds.pop()) not in _ACTIVATION_ATOMS:
        return "other"
    name = _ACTIVATION_ATOMS[kind]
    arguments = {f.args[0] for f in mean.atoms(kind)}
    if len(arguments) != 1:
        return "other"
    t = arguments.pop()
    if not affine_form(t, inputs, params):
        return "other"
    scale = sp.cancel(mean / ACTIVATIONS[name](t))
    return name if scale != 0 and not scale.free_symbols & set(inputs) else "other"


def score_is_linear(
    expr: sp.Expr,
    inputs: tuple[sp.Symbol, ...],
    params: tuple[sp.Symbol, ...],
    masses: tuple[sp.Symbol, ...],
) -> bool:
    """The gate numerator is exp(β₁ᵀx + β₀) (or σ(β₁ᵀx + β₀)) with β₁ its parameters."""
    if isinstance(expr, sigmoid):
        score, rest = expr.args[0], sp.S.One
    else:
        score, rest = split_exponential(expr)
    return rest == 1 and affine_form(score, inputs, (*params, *masses))


def pair_facts(verdict: Verdict, dim: int | None = None) -> PairFacts:
    """Facts of a built-in pair, from its families and its verdict (formula pairs: see
    ``formula_facts``)."""
    g, e = get_router(verdict.gate), get_expert(verdict.expert)
    d = dim if dim is not None else len(verdict.inputs) - (e.kind == "gaussian")
    gb, eb = g.build(d), e.build(d)
    mean = eb.mean if eb.mean is not None else eb.expr
    return PairFacts(
        gate=g.name,
        expert=e.name,
        normalisation=g.normalisation,
        score=g.score,
        score_linear=score_is_linear(gb.expr, gb.inputs, gb.params, gb.masses),
        setting="gaussian-likelihood" if e.kind == "gaussian" else "least-squares",
        mean_affine=affine_form(mean, eb.inputs, eb.params),
        verdicts=dict(verdict.verdicts),
        relation_classes=frozenset(r.cls for r in verdict.relations if r.verified == "symbolic"),
        complete=verdict.certificate.get("complete", False),
        mean_activation=mean_activation(mean, eb.inputs, eb.params),
    )


def formula_facts(
    verdict: Verdict,
    gate_expr: sp.Expr,
    gate_params: tuple[sp.Symbol, ...],
    expert_expr: sp.Expr,
    expert_params: tuple[sp.Symbol, ...],
    inputs: tuple[sp.Symbol, ...],
    output: sp.Symbol | None,
    variance: tuple[sp.Symbol, ...],
    normalisation: str | None = None,
    score: str | None = None,
) -> PairFacts:
    """Facts of a user-written pair: nothing is declared except the normalisation (and, for a
    built-in gate written as a formula, its score class); otherwise the score class is computed
    ("linear" or "unclassified"). For a Gaussian expert N(y | m, v) the mean is recovered
    exactly as m = y + v ∂_y log N."""
    xs = tuple(s for s in inputs if s != output)
    masses = tuple(sorted(gate_expr.free_symbols - set(xs) - set(gate_params), key=str))
    linear = score_is_linear(gate_expr, xs, gate_params, masses)
    if output is not None and variance:
        v = variance[0]
        mean = sp.expand(
            output + v * sp.diff(sp.expand_log(sp.log(expert_expr), force=True), output)
        )  # exact; no unbounded simplify
    else:
        mean = expert_expr
    return PairFacts(
        gate=verdict.gate,
        expert=verdict.expert,
        normalisation=normalisation,
        score=score or ("linear" if linear else "unclassified"),
        score_linear=linear,
        setting="gaussian-likelihood" if output is not None else "least-squares",
        mean_affine=affine_form(mean, xs, tuple(p for p in expert_params if p not in variance)),
        verdicts=dict(verdict.verdicts),
        relation_classes=frozenset(r.cls for r in verdict.relations if r.verified == "symbolic"),
        complete=verdict.certificate.get("complete", False),
        mean_activation=mean_activation(
            mean, xs, tuple(p for p in expert_params if p not in variance)
        ),
    )


def model_facts(
    verdict: Verdict, model: Any, normalisation: str | None = None, score: str | None = None
) -> PairFacts:
    """:func:`formula_facts` of a prepared formula ``model``
    (:func:`moetheory.identify.api.formula_model`) and its verdict."""
    gate, expert = model.factors
    return formula_facts(
        verdict,
        gate.expr,
        gate.params,
        expert.expr,
        expert.params,
        model.inputs,
        model.output,
        model.variance,
        normalisation=normalisation,
        score=score,
    )
