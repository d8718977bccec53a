"""The family contract (``moetheory.testing``, scikit-learn ``parametrize_with_checks`` style):
every built-in router and expert passes it, so does a family a user writes, and a broken family
fails with the failing check named."""

from __future__ import annotations

import pytest
import sympy as sp

from moetheory.errors import FamilyError
from moetheory.families import EXPERTS, ROUTERS, Built, ExpertFamily, RouterFamily, get_router
from moetheory.families.base import dot, inputs, vector
from moetheory.symbolic.parser import make_symbol
from moetheory.testing import check_family, family_checks, parametrize_with_checks


@parametrize_with_checks([*ROUTERS.values(), *EXPERTS.values()])
def test_builtin_families_pass_the_contract(check):
    check()


def _quadratic_softmax(d: int) -> Built:
    """exp(βᵀx + γ‖x‖² + β₀): a softmax router with a quadratic score, written by a user."""
    x, beta, gamma, beta0 = inputs(d), vector("beta", d), make_symbol("gamma"), make_symbol("b0")
    return Built(
        sp.exp(dot(beta, x) + gamma * dot(x, x) + beta0), x, (*beta, gamma), masses=(beta0,)
    )


USER_ROUTER = RouterFamily(
    name="quadratic-softmax",
    summary="softmax with a quadratic score",
    formula="exp(βᵀx + γ‖x‖² + β₀)",
    reference="a user's own",
    builder=_quadratic_softmax,
    score="unclassified",
)


@parametrize_with_checks([USER_ROUTER])
def test_a_users_family_passes_the_contract(check):
    check()


def _beta0_undeclared(d: int) -> Built:
    """Softmax with its intercept declared a parameter, not a mass."""
    x, beta, beta0 = inputs(d), vector("beta", d), make_symbol("beta0")
    return Built(sp.exp(dot(beta, x) + beta0), x, (*beta, beta0))


def _complex_symbols(d: int) -> Built:
    """Softmax with plain sympy (complex) symbols for β₁."""
    x, beta0 = inputs(d), make_symbol("beta0")
    beta = tuple(sp.Symbol(f"beta{i + 1}") for i in range(d))
    return Built(sp.exp(dot(beta, x) + beta0), x, beta, masses=(beta0,))


def _fake_scale(d: int) -> Built:
    """c + aᵀx with c declared an output scale."""
    x, a, c = inputs(d), vector("a", d), make_symbol("c")
    return Built(c + dot(a, x), x, (c, *a), scales=(c,))


def _broken(cls, build, **declared):
    return cls(name="broken", summary="", formula="", reference="", builder=build, **declared)


BROKEN = [
    (_broken(RouterFamily, _beta0_undeclared), "check_masses", r"\(beta0,\) enter as masses"),
    (_broken(RouterFamily, _complex_symbols), "check_symbols", "is not a real symbol"),
    (
        _broken(RouterFamily, get_router("softmax").builder, score="cosine"),
        "check_declared_class",
        "declared score class 'cosine', but the score is β₁ᵀx",
    ),
    (_broken(ExpertFamily, _fake_scale), "check_scales_and_variance", "c is not an output scale"),
]


@pytest.mark.parametrize("family, check, message", BROKEN, ids=[b[1] for b in BROKEN])
def test_a_broken_family_fails_naming_the_check(family, check, message):
    with pytest.raises(AssertionError, match=f"^broken fails {check}: AssertionError: .*{message}"):
        check_family(family)


def test_checks_are_named_and_run_in_order():
    names = [c.name for c in family_checks(USER_ROUTER)]
    assert names[0] == "check_builds" and names[-1] == "check_engine"
    assert repr(next(family_checks(USER_ROUTER))) == "check_builds(quadratic-softmax)"


def test_unknown_family_is_a_clear_error():
    with pytest.raises(FamilyError, match="unknown router"):
        get_router("soft-max")
