"""VC-dimension bounds of a hard-routed mixture of (P)ReLU MLP experts, each with its value,
its formula in the sizes (sympy), its source and its provenance.

What is computed (reference approximation_vc.md §5):

- **upper, whole model** [math]: Π_MoE(m) ≤ Π_route(m)·(E·g(m/E)) (module
  :mod:`moetheory.bounds.growth`) inverted numerically and certified in interval arithmetic.
  Every counted parameter is free (router thresholds and prototypes included). PReLU with
  trainable slopes is bounded as the width-doubled ReLU network (PReLU_a(z) = ReLU(z) −
  a·ReLU(−z), −a folded into the next layer); fixed slopes are 2-piece linear like ReLU.
  E = 1 reduces exactly to the single-network bound (Π_route = 1).
- **upper, one expert** [math]: the layer-by-layer growth argument of Bartlett–Harvey–Liaw–
  Mehrabian 2019 Thm 7, re-derived and inverted numerically.
- **lower** [math]: explicit constructions (:mod:`moetheory.bounds.shatter`, verified for
  small sizes by exact evaluation of every labelling): one expert shatters
  v = max(d + 1, 2 + B) points; a hard router with E non-empty open cells lets E experts each
  shatter a small copy of such a set inside its own cell, so the mixture shatters E·v
  (prototypes at distinct points; grid and tree cells; argmax of E affine scores, e.g.
  k·x_1 − k²/2). A linear top-k router with k ≥ 2 gets v (all other experts set to 0).
- **cross-checks** (closed forms, not the reported value): Bartlett et al.'s refined bound
  L + L̄·W·log₂(4e·R·log₂(2e·R)) [open: statement recalled, not confirmed]; for prototype
  and top-1 linear routers the weighted AM–GM of all Warren factors plus the inversion lemma
  m ≤ t + w·log₂(2r·log₂ r) [open constants].
- **shapes only**: the paper's Õ(E·max{dE, JW}) (P 2402.03460; constants and logarithms
  unknown) and Bartlett et al.'s Ω(W·L·log(W/L)) lower bound (constant unspecified) — shown
  for comparison, never as a bound.

Example::

    >>> from moetheory.bounds.architecture import Architecture
    >>> b = vc_bounds(Architecture(dim=2, experts=4, hidden=(16, 16)))
    >>> b.lower.value <= b.upper.value
    True
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import sympy as sp

from moetheory.bounds import growth, shatter
from moetheory.bounds.architecture import Architecture
from moetheory.bounds.routers.registry import router_kind
from moetheory.bounds.sizes import EULER, E, J, W, d, i, m
from moetheory.errors import SizeError

BHLM = (
    "Bartlett, Harvey, Liaw & Mehrabian, Nearly-tight VC-dimension and pseudodimension "
    "bounds for piecewise linear neural networks, JMLR 20(63) 2019"
)
WARREN = "Warren's lemma (BHLM 2019 Lemma 17; Anthony & Bartlett 1999 Thm 8.3)"
PAPER = "arXiv 2402.03460 (Kratsios et al.), abstract v2"


@dataclass(frozen=True)
class Bound:
    """One bound: ``value`` (None: not available, ``note`` says why), ``formula`` (sympy, in
    the sizes), what the formula is (``formula_role``), ``source`` and ``provenance``
    (math | ref | open | P <arXiv id>), whether its constant is explicit."""

    name: str
    kind: str  # upper | lower | shape | cross-check
    value: int | float | None
    formula: sp.Expr | None
    formula_role: str
    source: str
    provenance: str
    constant: str = "explicit"
    note: str = ""
    certificate: dict | None = None

    def to_json(self) -> dict:
        return {
            "name": self.name,
            "kind": self.kind,
            "value": self.value,
            "formula": None if self.formula is None else sp.sstr(self.formula),
            "latex": None if self.formula is None else sp.latex(self.formula),
            "formula_role": self.formula_role,
            "source": self.source,
            "provenance": self.provenance,
            "constant": self.constant,
            "note": self.note,
            "certificate": self.certificate,
        }


@dataclass(frozen=True)
class VCBounds:
    """VC-dimension bounds of one architecture (module docstring)."""

    architecture: Architecture
    upper: Bound
    lower: Bound
    expert_upper: Bound
    expert_lower: Bound
    cross_checks: list[Bound] = field(default_factory=list)
    shapes: list[Bound] = field(default_factory=list)

    def to_json(self) -> dict:
        return {
            "upper": self.upper.to_json(),
            "lower": self.lower.to_json(),
            "expert_upper": self.expert_upper.to_json(),
            "expert_lower": self.expert_lower.to_json(),
            "cross_checks": [b.to_json() for b in self.cross_checks],
            "shapes": [b.to_json() for b in self.shapes],
        }


def relu_equivalent(arch: Architecture) -> tuple[int, ...]:
    """Hidden widths of the ReLU network whose sign class contains the experts' (trainable
    PReLU slopes: every width doubled)."""
    return tuple(2 * w for w in arch.hidden) if arch.trainable_slopes else arch.hidden


def _check(arch: Architecture) -> None:
    if arch.output_dim != 1:
        raise SizeError(
            f"VC dimension is defined for a scalar output (the label is its sign); "
            f"output dim is {arch.output_dim}"
        )


# ---------------------------------------------------------------- formulas (sympy, in sizes)


def _warren_term(units: sp.Expr, params: sp.Expr, degree: sp.Expr, points: sp.Expr) -> sp.Expr:
    return 1 + params * sp.log(2 * EULER * points * units * degree / params, 2)


def network_formula(points: sp.Expr = m, width: sp.Expr = W) -> sp.Expr:
    """log₂ Π(m) of a depth-J width-W ReLU network on ℝ^d (Warren regime, J ≥ 1):
    Σ_{i=1}^{J} [1 + W_i·log₂(2e·m·W·i/W_i)] + 1 + W_out·log₂(2e·m·(J+1)/W_out),
    W_i = (d+1)W + (i−1)(W+1)W, W_out = W_J + W + 1."""
    w_i = (d + 1) * width + (i - 1) * (width + 1) * width
    w_out = (d + 1) * width + (J - 1) * (width + 1) * width + width + 1
    return sp.Sum(_warren_term(width, w_i, i, points), (i, 1, J)) + _warren_term(
        1, w_out, J + 1, points
    )


def router_formula(router: str, points: sp.Expr = m) -> sp.Expr:
    """log₂ Π_route(m) of a router kind, by name (its ``growth_formula``: Warren regime; grid:
    exact count with K per axis).

    Example::

        >>> router_formula("grid")
        d*log(binomial(K + m - 1, K - 1))/log(2)
    """
    return router_kind(router).growth_formula(points)


def size_values(arch: Architecture) -> dict:
    """Symbol → value for substituting an architecture into the formulas (Euler's e and the
    router kind's own symbols, e.g. K, too)."""
    values = {d: arch.dim, E: arch.experts, J: arch.depth, EULER: sp.E}
    if arch.hidden and len(set(arch.hidden)) == 1:
        values[W] = arch.hidden[0]
    values.update(arch.kind.formula_values(arch) or {})
    return values


def _uniform(arch: Architecture) -> bool:
    """One width, and a router the formulas describe (e.g. a grid with K cells per axis)."""
    return len(set(arch.hidden)) == 1 and arch.kind.formula_values(arch) is not None


# ---------------------------------------------------------------- bounds


def expert_upper(arch: Architecture) -> Bound:
    """VC upper bound of one expert network (sign of its output)."""
    _check(arch)
    hidden = relu_equivalent(arch)
    inversion = growth.invert(growth.network_growth(hidden, arch.dim))
    width = 2 * W if arch.trainable_slopes else W
    formula = network_formula(width=width) if arch.hidden and _uniform(arch) else None
    return Bound(
        name="VC upper bound, one expert",
        kind="upper",
        value=inversion.value,
        formula=formula,
        formula_role="log₂ Π(m) (Warren regime; the value also takes the trivial 2^{m·k_i} "
        "per layer where smaller); VCdim ≤ largest m with m ≤ log₂ Π(m)",
        source=f"growth-function argument of {BHLM}, Thm 7, re-derived layer by layer; {WARREN}",
        provenance="math",
        note=_prelu_note(arch),
        certificate=inversion.to_json(),
    )


def _prelu_note(arch: Architecture) -> str:
    if arch.trainable_slopes:
        return "trainable PReLU slopes: bounded as the ReLU network of doubled width"
    if arch.activation == "prelu":
        return "fixed PReLU slopes: 2-piece piecewise linear, bounded like ReLU"
    return ""


def expert_lower(arch: Architecture) -> Bound:
    """VC lower bound of one expert from the explicit shattering constructions."""
    value = shatter.lower_bound(arch.hidden, arch.dim)
    formula = (
        sp.Max(d + 1, sp.Piecewise((W + 1 + (J - 1) * (W - 2), W >= 2), (2, True)))
        if arch.hidden and len(set(arch.hidden)) == 1
        else d + 1
        if not arch.hidden
        else None
    )
    note = (
        "explicit construction (moetheory.bounds.shatter): halfspaces on d + 1 points, and "
        "the piecewise-linear interpolant on 2 + B points of a line"
    )
    if arch.activation == "prelu" and arch.slopes == "fixed":
        note += "; fixed PReLU slopes must differ from 1 (a slope-1 unit is linear)"
    return Bound(
        name="VC lower bound, one expert",
        kind="lower",
        value=value,
        formula=formula,
        formula_role="closed form",
        source="this package's construction",
        provenance="math",
        note=note,
    )


def _router_growth(arch: Architecture) -> growth.Growth:
    """The router kind's growth bound log₂ Π_route(m)."""
    return arch.kind.growth(arch)


def mixture_upper(arch: Architecture) -> Bound:
    """VC upper bound of the whole mixture (module docstring)."""
    _check(arch)
    if arch.top_k > 1:
        return Bound(
            name="VC upper bound, whole model",
            kind="upper",
            value=None,
            formula=None,
            formula_role="",
            source="",
            provenance="math",
            note=f"not computed: top-{arch.top_k} softmax mixing is not piecewise "
            "polynomial in the parameters; no bound is proved in this package",
        )
    hidden = relu_equivalent(arch)
    expert = growth.network_growth(hidden, arch.dim)
    total = growth.mixture_growth(_router_growth(arch), expert, arch.experts)
    inversion = growth.invert(total)
    formula = None
    if arch.hidden and _uniform(arch):
        width = 2 * W if arch.trainable_slopes else W
        formula = (
            network_formula(width=width)
            if arch.experts == 1
            else router_formula(arch.router) + E * network_formula(m / E, width)
        )
    return Bound(
        name="VC upper bound, whole model",
        kind="upper",
        value=inversion.value,
        formula=formula,
        formula_role="log₂ Π_MoE(m) = log₂ Π_route(m) + E·log₂ Π_expert(m/E) (Warren regime; "
        "the value also takes trivial counts where smaller); VCdim ≤ largest m "
        "with m ≤ log₂ Π_MoE(m)",
        source=f"this package: router growth × experts' growth (Jensen over splits); {WARREN}; "
        f"layer-by-layer argument of {BHLM}, Thm 7",
        provenance="math",
        note=_prelu_note(arch),
        certificate=inversion.to_json(),
    )


def mixture_lower(arch: Architecture, expert: Bound) -> Bound:
    """VC lower bound of the whole mixture: E·v (hard routing), v (top-k ≥ 2)."""
    if expert.value is None:
        raise SizeError(
            f"{expert.name} has no value: the explicit constructions of "
            ":func:`expert_lower` always give one"
        )
    cells = arch.experts if arch.top_k == 1 else 1
    formula = (
        None if expert.formula is None else (E * expert.formula if cells > 1 else expert.formula)
    )
    note = (
        "each of the E router cells holds a scaled copy of a set one expert shatters"
        if cells > 1
        else "one expert's construction, every other expert set to 0"
        if arch.top_k > 1
        else "E = 1: the single network"
    )
    return Bound(
        name="VC lower bound, whole model",
        kind="lower",
        value=cells * int(expert.value),
        formula=formula,
        formula_role="closed form",
        source="this package's construction",
        provenance="math",
        note=note,
    )


def bartlett_closed_form(hidden: tuple[int, ...], dim: int) -> float:
    """L + L̄·W·log₂(4e·R·log₂(2e·R)) for a ReLU network (p = 1, D = 1): L layers, W
    parameters, L̄ = Σ_i W_i / W, R = Σ_i i·k_i (BHLM 2019 Thm 6/7 as recalled [open])."""
    layers = growth.layers(hidden, dim)
    total = layers[-1][1]
    depth_bar = sum(w for _, w, _ in layers) / total
    r = sum(k * level for k, _, level in layers)
    return len(layers) + depth_bar * total * math.log2(4 * math.e * r * math.log2(2 * math.e * r))


def mixture_closed_form(arch: Architecture) -> float | None:
    """t + w·log₂(2r·log₂ r) from the weighted AM–GM of every Warren factor of the mixture
    (a top-1 router by the argmax of E affine scores — prototype or linear —, E ≥ 2):
    t = 1 + E·L, w = E(d+1) + E·Σ_i W_i, r = e·(E(E−1) + 2Σ_i i·k_i); inversion lemma
    [open constants]."""
    if not arch.kind.affine_scores or arch.experts < 2 or arch.top_k > 1:
        return None
    layers = growth.layers(relu_equivalent(arch), arch.dim)
    e = arch.experts
    t = 1 + e * len(layers)
    w = e * (arch.dim + 1) + e * sum(p for _, p, _ in layers)
    r = math.e * (e * (e - 1) + 2 * sum(k * level for k, _, level in layers))
    return t + w * math.log2(2 * r * math.log2(r))


def _cross_checks(arch: Architecture) -> list[Bound]:
    hidden = relu_equivalent(arch)
    checks = [
        Bound(
            name="Bartlett et al. refined bound, one expert",
            kind="cross-check",
            value=round(bartlett_closed_form(hidden, arch.dim), 1),
            formula=None,
            formula_role="closed form L + L̄·W·log₂(4e·R·log₂(2e·R))",
            source=f"{BHLM}, Thm 6/7 (statement recalled)",
            provenance="open",
        )
    ]
    closed = mixture_closed_form(arch)
    if closed is not None:
        checks.append(
            Bound(
                name="closed form, whole model",
                kind="cross-check",
                value=round(closed, 1),
                formula=None,
                formula_role="t + w·log₂(2r·log₂ r) (weighted AM–GM of the Warren "
                "factors, then the inversion lemma)",
                source=f"this package; inversion lemma of {BHLM}",
                provenance="open",
                note="inversion lemma constants unconfirmed",
            )
        )
    return checks


def _shapes(arch: Architecture) -> list[Bound]:
    params = arch.counts().per_expert
    layers = arch.depth + 1
    paper = arch.experts * max(arch.dim * arch.experts, arch.depth * max(arch.hidden, default=0))
    return [
        Bound(
            name="paper's shape Õ(E·max{dE, JW})",
            kind="shape",
            value=paper,
            formula=E * sp.Max(d * E, J * W),
            formula_role="asymptotic shape only",
            source=PAPER,
            provenance="P 2402.03460",
            constant="unspecified",
            note="constants and logarithmic factors unknown; W read as width",
        ),
        Bound(
            name="Bartlett et al. lower-bound shape Ω(W·L·log(W/L)), one expert",
            kind="shape",
            value=round(params * layers * math.log2(params / layers), 1)
            if params > layers
            else None,
            formula=None,
            formula_role="asymptotic shape only (W = parameters, L = layers)",
            source=f"{BHLM}, Thm 3",
            provenance="ref",
            constant="unspecified",
            note="holds up to an unspecified universal constant, for W > C·L > C²",
        ),
    ]


def vc_bounds(arch: Architecture) -> VCBounds:
    """Every VC bound of ``arch``: whole-model upper and lower, one expert's upper and lower,
    closed-form cross-checks and asymptotic shapes (module docstring)."""
    _check(arch)
    e_upper, e_lower = expert_upper(arch), expert_lower(arch)
    upper = mixture_upper(arch)
    lower = mixture_lower(arch, e_lower)
    return VCBounds(
        architecture=arch,
        upper=upper,
        lower=lower,
        expert_upper=e_upper,
        expert_lower=e_lower,
        cross_checks=_cross_checks(arch),
        shapes=_shapes(arch),
    )
