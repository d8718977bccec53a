"""r̄ solver (identifiability.md §4): systems, exact witnesses, proofs, JSON round trip, tampering.

Paper values (Ho & Nguyen 2016; 2305.03288; 2505.10860 App. B) appear here as expectations only.
"""

from __future__ import annotations

import copy
import json
import threading
from fractions import Fraction
from functools import cache

import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from moetheory.errors import MoetheoryError
from moetheory.rbar import (
    RbarError,
    compare_r2_r1,
    solve_rbar,
    system,
    verify_rbar_json,
)
from moetheory.rbar.exact import count_roots, isolate_real_roots, trace_mod, upoly
from moetheory.rbar.proof import make_r1_proof, verify_r1_proof
from moetheory.rbar.witness import (
    gauss_hermite_witness,
    rational_witness,
    verify_witness,
)


@cache
def _solved(kind: str, m: int, nontrivial: str = "t4", d: int = 1) -> dict:
    res = solve_rbar(kind, m, nontrivial=nontrivial, d=d, seconds=600)
    return json.loads(json.dumps(res.to_json()))


def _fresh(kind: str, m: int, nontrivial: str = "t4") -> dict:
    return copy.deepcopy(_solved(kind, m, nontrivial))


# --------------------------------------------------------------------------------------------
# the systems
# --------------------------------------------------------------------------------------------
def test_r1_equations_are_the_exp_coefficients():
    t = sp.Symbol("t")
    m, r = 2, 5
    sysm = system("r1", m, r)
    gen = sum(
        sp.Symbol(f"s3_{i}") ** 2 * sp.exp(sp.Symbol(f"s1_{i}") * t + sp.Symbol(f"s2_{i}") * t**2)
        for i in range(1, m + 1)
    )
    ser = sp.expand(sp.series(gen, t, 0, r + 1).removeO())
    for ell, eq in enumerate(sysm, start=1):
        assert sp.expand(ser.coeff(t, ell) - eq.as_expr()) == 0


def test_r2_equations_are_the_exp_coefficients():
    x, y = sp.symbols("x y")
    r = 3
    sysm = system("r2", 1, r)
    t1, t2, t3, t4, t5 = (sp.Symbol(f"t{k}_1") for k in range(1, 6))
    gen = t5**2 * sp.exp(t1 * x + t2 * x * y + t3 * y + t4 * y**2)
    ser = sp.expand(sp.series(sp.series(gen, x, 0, r + 1).removeO(), y, 0, r + 1).removeO())
    poly = sp.Poly(ser, x, y)
    for label, eq in zip(sysm.labels, sysm.equations, strict=True):
        l1, l2 = label[3:].split(",l2=")
        assert sp.expand(poly.coeff_monomial(x ** int(l1) * y ** int(l2)) - eq.as_expr()) == 0
    assert len(sysm) == sum(1 for a in range(r + 1) for b in range(r + 1) if 1 <= a + b <= r)


def test_r2_dimension_and_variables():
    sysm = system("r2", 2, 2, d=2)
    assert {"t1_1_1", "t1_1_2", "t2_2_2", "t5_2"} <= {str(g) for g in sysm.gens}
    assert "l1=(1,1),l2=0" in sysm.labels


@pytest.mark.parametrize(
    "args, kw",
    [
        (("r3", 2), {}),
        (("r1", 0), {}),
        (("r1", -1), {}),
        (("r1", 2.0), {}),
        (("r2", 2), {"nontrivial": "t2"}),
        (("r2", 2), {"d": 0}),
        (("r1", 2), {"d": 2}),
        (("r1", 2), {"max_order": 0}),
    ],
)
def test_bad_input_raises(args, kw):
    with pytest.raises(RbarError) as info:
        solve_rbar(*args, **kw)
    assert isinstance(info.value, MoetheoryError)
    assert str(info.value)


def test_bad_system_input_raises():
    with pytest.raises(MoetheoryError, match="unknown r̄ system kind"):
        system("rx", 2, 3)
    with pytest.raises(MoetheoryError, match="order"):
        system("r1", 2, 0)


# --------------------------------------------------------------------------------------------
# witnesses
# --------------------------------------------------------------------------------------------
KNOWN = {
    "s1_1": Fraction(1),
    "s1_2": Fraction(-1),
    "s2_1": Fraction(-1, 2),
    "s2_2": Fraction(-1, 2),
}


def test_known_m2_r3_solution_verifies_and_fails_at_r4():
    w3 = rational_witness(system("r1", 2, 3), KNOWN, {"s3_1": Fraction(1), "s3_2": Fraction(1)})
    assert verify_witness(w3) == []
    w4 = rational_witness(system("r1", 2, 4), KNOWN, {"s3_1": Fraction(1), "s3_2": Fraction(1)})
    assert any("l=4" in f for f in verify_witness(w4))


def test_r5_witness_for_three_components():
    w = gauss_hermite_witness("r1", 3, 5)
    assert verify_witness(w) == []
    assert w["display"] == {
        "s1_1": "-1",
        "s1_2": "0",
        "s1_3": "1",
        "s2_1": "-1/6",
        "s2_2": "-1/6",
        "s2_3": "-1/6",
        "s3_1": "1",
        "s3_2": "2",
        "s3_3": "1",
    }
    bad = copy.deepcopy(w)
    bad["order"] = 6
    assert any("l=6" in f for f in verify_witness(bad))


def test_algebraic_witness_m4_order7():
    w = gauss_hermite_witness("r1", 4, 7)
    assert w["format"] == "root_orbit"
    assert verify_witness(w) == []
    bad = copy.deepcopy(w)
    bad["maps"]["s2"][0]["num"] = ["-1/3"]
    assert verify_witness(bad)


def test_witness_nontriviality_is_checked():
    zero = {k: Fraction(0) for k in KNOWN}
    w = rational_witness(system("r1", 2, 3), zero, {"s3_1": Fraction(1), "s3_2": Fraction(1)})
    assert any("trivial" in f for f in verify_witness(w))
    w = rational_witness(system("r1", 2, 3), KNOWN, {"s3_1": Fraction(1), "s3_2": Fraction(0)})
    assert any("not positive" in f for f in verify_witness(w))


@settings(max_examples=25, deadline=None)
@given(
    key=st.sampled_from(sorted(KNOWN)),
    delta=st.fractions(min_value=-3, max_value=3).filter(lambda f: f != 0),
)
def test_any_changed_witness_value_is_rejected(key, delta):
    vals = dict(KNOWN)
    vals[key] += delta
    w = rational_witness(system("r1", 2, 3), vals, {"s3_1": Fraction(1), "s3_2": Fraction(1)})
    assert verify_witness(w)


# --------------------------------------------------------------------------------------------
# paper values (expectations) and certificates
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "kind, m, variant, want",
    [("r1", 2, "t4", 4), ("r2", 2, "t4", 4), ("r2", 2, "t3", 4), ("r1", 3, "t4", 6)],
)
def test_paper_values(kind, m, variant, want):
    obj = _fresh(kind, m, variant)
    assert (obj["value"], obj["status"], obj["lower_bound"], obj["upper_bound"]) == (
        want,
        "exact",
        want,
        want,
    )
    ok, fails = verify_rbar_json(obj)
    assert ok, fails
    assert obj["certificate"][str(want - 1)]["type"] == "witness"
    assert obj["certificate"][str(want)]["type"] == "proof"
    assert obj["seconds"] >= 0


def test_r2_three_components_printed_variant():
    obj = _fresh("r2", 3, "t4")
    assert obj["value"] == 6
    assert verify_rbar_json(obj)[0]


def test_r2_with_d2():
    obj = _solved("r2", 2, "t4", 2)
    assert obj["value"] == 4 and verify_rbar_json(copy.deepcopy(obj))[0]


def test_m4_reaches_a_bound():
    obj = _fresh("r1", 4)
    assert (obj["value"], obj["status"], obj["lower_bound"], obj["upper_bound"]) == (
        None,
        "bound",
        8,
        None,
    )
    assert obj["certificate"]["7"]["format"] == "root_orbit"
    assert verify_rbar_json(obj)[0]


def test_r2_versus_r1():
    rows = compare_r2_r1((1, 2))
    assert rows[1]["r1"]["value"] == 1 and rows[1]["r2_t3"]["value"] == 1
    assert rows[1]["r2_t4"]["value"] == 2
    assert {rows[2][k]["value"] for k in ("r1", "r2_t4", "r2_t3")} == {4}
    assert all(v["verified"] for row in rows.values() for v in row.values())


def test_json_round_trip_is_stable():
    obj = _fresh("r1", 2)
    again = json.loads(json.dumps(obj))
    assert again == obj and verify_rbar_json(again) == (True, [])


# --------------------------------------------------------------------------------------------
# tampering
# --------------------------------------------------------------------------------------------
def _fails(obj: dict) -> list[str]:
    ok, fails = verify_rbar_json(obj)
    assert not ok and fails
    return fails


def test_tamper_witness_value():
    obj = _fresh("r1", 3)
    obj["certificate"]["5"]["values"]["s2_2"] = "-1/5"
    assert any("residual" in f for f in _fails(obj))


def test_tamper_line_cofactor():
    obj = _fresh("r1", 2)
    cofactor = obj["certificate"]["4"]["line"]["c3"]
    cofactor["terms"][0][1] = "1"
    assert any("rendering" in f for f in _fails(obj))  # its printed form no longer matches
    del cofactor["str"]  # the printed form is optional: the identity itself must fail
    assert any("c3 R3" in f for f in _fails(obj))


def test_tamper_line_kappa_sign():
    obj = _fresh("r1", 2)
    obj["certificate"]["4"]["line"]["kappa"] = "-3/4"
    _fails(obj)


def test_tamper_special_root_interval():
    obj = _fresh("r1", 3)
    sp_ = obj["certificate"]["6"]["parabola"]["specials"]
    entry = next(e for e in sp_ if e["handler"] == "row" and e["pivot"] == 6)
    entry["root_interval"] = ["1/2", "5/8"]
    assert any("isolate" in f for f in _fails(obj))


def test_tamper_chart_bound():
    obj = _fresh("r1", 3)
    obj["certificate"]["6"]["parabola"]["charts"][1]["rho"] = "9/10"
    _fails(obj)


def test_tamper_drop_special_case():
    obj = _fresh("r1", 3)
    obj["certificate"]["6"]["parabola"]["specials"].pop()
    assert any("special entries" in f for f in _fails(obj))


def test_tamper_two_lines_remainder():
    obj = _fresh("r1", 3)
    obj["certificate"]["6"]["two_lines"]["h"]["terms"][0][1] = "-2/3"
    _fails(obj)


def test_tamper_moment_polynomial():
    obj = _fresh("r1", 3)
    obj["certificate"]["6"]["moment_polys"][4]["terms"][0][1] = "7"
    _fails(obj)


def test_tamper_definite_claim_coefficient():
    obj = _fresh("r1", 3)
    g = obj["certificate"]["6"]["parabola"]["charts"][0]["G"]
    g["coeffs"][0]["reduced"] = ["1"]
    assert any("do" in f and "add up" in f for f in _fails(obj))


def test_tamper_claimed_value_and_missing_proof():
    obj = _fresh("r1", 2)
    obj["value"] = 5
    assert any("claimed value" in f for f in _fails(obj))
    obj = _fresh("r1", 2)
    del obj["certificate"]["4"]
    fails = _fails(obj)
    assert any("value" in f for f in fails) and any("upper_bound" in f for f in fails)


def test_tamper_r2_reduction():
    obj = _fresh("r2", 2, "t4")
    obj["certificate"]["4"]["t4_step"]["coefficient"] = "1"
    _fails(obj)


def test_proof_cannot_be_reused_at_a_lower_order():
    cert = make_r1_proof(3, 6)
    low = copy.deepcopy(cert)
    low["order"] = 5
    assert verify_r1_proof(low, 3, 5)
    assert verify_r1_proof(cert, 3, 6) == []


# --------------------------------------------------------------------------------------------
# time limits and exact helpers
# --------------------------------------------------------------------------------------------
def test_deadline_zero_returns_quickly():
    res = solve_rbar("r1", 3, seconds=0)
    assert res.status in ("unknown", "bound") and res.value is None
    assert any("time limit" in n for n in res.notes)
    assert verify_rbar_json(res.to_json())[0]


def test_runs_outside_the_main_thread():
    out = {}

    def work():
        out["res"] = solve_rbar("r1", 2, seconds=60)

    th = threading.Thread(target=work)
    th.start()
    th.join(120)
    assert out["res"].value == 4


def test_numeric_search_is_evidence_only():
    from moetheory.rbar import numeric_search

    ev = numeric_search("r1", 2, 3, 1, "t4", seed=3, restarts=3)
    assert ev["seed"] == 3 and ev["restarts"] == 3 and ev["best_residual"] < 1e-6
    res = solve_rbar("r1", 4, max_order=8, numeric_restarts=1, seed=5)
    assert set(res.evidence) == {"8"} and res.to_json()["seed"] == 5


def test_exact_helpers():
    P = upoly(["3", "0", "-6", "0", "1"])  # He_4
    assert count_roots(P, None, None) == 4
    assert len(isolate_real_roots(P)) == 4
    assert trace_mod(upoly(["0", "0", "1"]), P) == 12  # Σ x_i² = 12
