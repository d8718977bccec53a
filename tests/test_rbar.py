"""r̄ solver: paper values as expectations, certificates re-checked, tampering rejected."""

from __future__ import annotations

import copy

import pytest
import sympy as sp

from moetheory.rates.rbar import (
    RbarError,
    check_witness,
    gauss_hermite_witness,
    r1_system,
    r2_system,
    rbar_value,
    solve_rbar,
    verify_rbar_json,
)

PAPER = {2: 4, 3: 6}  # Ho & Nguyen 2016; authors' code rbar = [0, 1, 4, 6]


@pytest.mark.parametrize("kind", ["r1", "r2"])
def test_m2_value_with_certificate(kind):
    result = solve_rbar(kind, 2)
    assert result.value == PAPER[2] and result.status == "exact"
    ok, fails = verify_rbar_json(result.to_json())
    assert ok, fails
    assert {"value", "certificate", "seconds"} <= set(result.to_json())


@pytest.mark.parametrize("kind", ["r1", "r2"])
def test_m3_lower_bound_matches_paper(kind):
    """r̄(3) > 5 by an exhibited real solution; the upper bound is not proved here."""
    result = solve_rbar(kind, 3)
    assert result.lower_bound == PAPER[3]
    assert verify_rbar_json(result.to_json())[0]


def test_reference_solution_m2_order3():
    """identifiability.md §4: s1 = (1, −1), s2 = (−½, −½), s3 = (1, 1) solves order 3."""
    values = {"s1_1": sp.S(1), "s1_2": sp.S(-1), "s2_1": sp.Rational(-1, 2),
              "s2_2": sp.Rational(-1, 2), "s3_1": sp.S(1), "s3_2": sp.S(1)}
    assert check_witness("r1", 2, 3, values) == []
    assert check_witness("r1", 2, 4, values)  # not at order 4


@pytest.mark.parametrize("m", [2, 3, 4])
def test_gauss_hermite_witness_solves_order_2m_minus_1_only(m):
    w = gauss_hermite_witness(m)
    assert check_witness("r1", m, 2 * m - 1, w) == []
    assert check_witness("r1", m, 2 * m, w) != []


def test_r2_contains_r1():
    """The (0, ℓ2) equations of r2 are r1's equations in (t3, t4, t5)."""
    r1, r2 = r1_system(2, 3), dict(r2_system(2, 3))
    ren = {sp.Symbol(f"t{a}_{i}", real=True): sp.Symbol(f"s{b}_{i}", real=True)
           for a, b in ((3, 1), (4, 2), (5, 3)) for i in (1, 2)}
    assert all(sp.expand(r2[(0, ell)].xreplace(ren) - r1[ell - 1]) == 0 for ell in (1, 2, 3))


@pytest.mark.parametrize("path, value", [
    (("certificate", "witness", "values", "s1_1"), "-2"),
    (("certificate", "proof", "r1_case_analysis", "G"), "s + 1"),
    (("certificate", "proof", "r1_case_analysis", "p"), "-s/6"),
    (("certificate", "proof", "order"), 5),
    (("value",), 5),
    (("lower_bound",), 3),
])
def test_tampering_is_rejected(path, value):
    data = solve_rbar("r1", 2).to_json()
    bad = copy.deepcopy(data)
    node = bad
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    ok, fails = verify_rbar_json(bad)
    assert not ok and fails


def test_malformed_and_hostile_json():
    data = solve_rbar("r1", 2).to_json()
    bad = copy.deepcopy(data)
    bad["certificate"]["witness"]["values"]["s1_1"] = "__import__('os').system('true')"
    assert not verify_rbar_json(bad)[0]
    assert not verify_rbar_json({"system": "r1"})[0]


@pytest.mark.parametrize("kind, m", [("r3", 2), ("r1", 1), ("r1", 0), ("r2", "two")])
def test_bad_arguments(kind, m):
    with pytest.raises(RbarError):
        solve_rbar(kind, m)


def test_rbar_value_feeds_the_predictor():
    assert rbar_value(2) == PAPER[2]
    assert rbar_value(3) is None  # not proved: the predictor then reports an open rate
