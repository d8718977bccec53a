"""Declarative router and expert families.

A family declares *local facts* only: its formula as a sympy expression, which symbols are its
parameters, which are masses (softmax-type intercepts), output scales or variances, and which
must stay positive. The identifiability engine composes these facts; it never branches on a
family's name (cvxpy-atom style). Every built-in passes the contract of :mod:`moetheory.testing`.

Example
-------
>>> from moetheory.families import get_router
>>> get_router("softmax").build(2).expr
exp(beta0 + beta1*x1 + beta2*x2)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import sympy as sp

from moetheory.symbolic.parser import make_symbol

NORMALISATIONS = ("softmax", "sigmoid", "none", "top-K", "two-level")
SCORES = (
    "linear",
    "cosine",
    "perturbed-cosine",
    "temperature",
    "activation-temperature",
    "two-level",
    "unclassified",
)
"""Score classes a router declares; "linear" (score β₁ᵀx + β₀) is also checked by computation
(``moetheory.rates.facts.score_is_linear``) in the family contract."""


def inputs(d: int, name: str = "x") -> tuple[sp.Symbol, ...]:
    """Input coordinates x1..xd."""
    return tuple(make_symbol(f"{name}{i + 1}") for i in range(d))


def vector(name: str, d: int) -> tuple[sp.Symbol, ...]:
    """Parameter vector components name1..named."""
    return tuple(make_symbol(f"{name}{i + 1}") for i in range(d))


def dot(a: tuple[sp.Expr, ...], b: tuple[sp.Expr, ...]) -> sp.Expr:
    """Euclidean inner product of two equal-length tuples."""
    return sp.Add(*(p * q for p, q in zip(a, b, strict=True)))


def norm(a: tuple[sp.Expr, ...]) -> sp.Expr:
    """Euclidean norm."""
    return sp.sqrt(sp.Add(*(p**2 for p in a)))


@dataclass(frozen=True)
class Built:
    """A family instantiated at input dimension d.

    ``expr`` is the gate numerator (routers) or the expert function (regression mean, or the
    Gaussian density N(y | mean, ν) for density experts). ``params`` lists the parameters that
    span the Taylor family, in the family's canonical order; ``masses`` are parameters that only
    weight the atom (∂u/∂m ∝ u) and are held at a generic value; ``positive`` must be sampled
    positive; ``scales`` are declared output scales (u linear in them); ``variance`` is the
    Gaussian variance parameter; ``output`` the Gaussian response variable and ``mean`` the
    Gaussian mean.
    """

    expr: sp.Expr
    inputs: tuple[sp.Symbol, ...]
    params: tuple[sp.Symbol, ...]
    masses: tuple[sp.Symbol, ...] = ()
    positive: tuple[sp.Symbol, ...] = ()
    scales: tuple[sp.Symbol, ...] = ()
    variance: sp.Symbol | None = None
    output: sp.Symbol | None = None
    mean: sp.Expr | None = None
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Family:
    """Common part of router and expert families."""

    name: str
    summary: str
    formula: str
    reference: str
    builder: Callable[[int], Built] = field(repr=False)
    min_dim: int = 1

    def build(self, d: int = 2) -> Built:
        """Instantiate the family at input dimension ``d``."""
        from moetheory.errors import FamilyError

        if not isinstance(d, int) or d < self.min_dim:
            raise FamilyError(f"family {self.name!r} needs an integer dimension >= {self.min_dim}")
        return self.builder(d)


@dataclass(frozen=True)
class RouterFamily(Family):
    """A router (gate): its score numerator, its normalisation across experts and its score
    class (one of ``SCORES``: the gate class a theorem of the rate catalogue is stated for)."""

    normalisation: str = "softmax"
    score: str = "linear"


@dataclass(frozen=True)
class ExpertFamily(Family):
    """An expert: a regression mean, or a Gaussian density with mean and variance."""

    kind: str = "regression"  # or "gaussian"


def gaussian_density(y: sp.Symbol, mean: sp.Expr, nu: sp.Symbol) -> sp.Expr:
    """N(y | mean, ν) with ν the variance."""
    return sp.exp(-((y - mean) ** 2) / (2 * nu)) / sp.sqrt(2 * sp.pi * nu)
