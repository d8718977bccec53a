"""Approximation guarantees (moetheory.bounds.approximation, moetheory.bounds.kuhn).

Every "proved" decision λ·r^α ≤ ε is re-decided here with sympy exact numbers, minimal sizes
are recomputed by an exact integer search, and parameter counts are recomputed from the router
table of approximation_vc.md §3 and the Kuhn-hat layout."""

from __future__ import annotations

import math
from fractions import Fraction

import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from moetheory.bounds import approximation as ap
from moetheory.bounds import kuhn
from moetheory.errors import SizeError

FAST = settings(max_examples=50, deadline=None)
ALPHAS = ["1/4", "1/3", "1/2", "2/3", "3/4", "1"]
HOLDERS = ["1/2", 1, 3]
EPSILONS = [f"{c}e-{k}" for k in (1, 2, 3) for c in (1, 2, 5)]


# ------------------------------------------------------------------ independent exact helpers


def rational(x) -> sp.Rational:
    f = Fraction(str(x)) if isinstance(x, (str, float)) else Fraction(x)
    return sp.Rational(f.numerator, f.denominator)


def sympy_within(lam, alpha, radius_sq, eps) -> bool:
    """λ·(r²)^{α/2} ≤ ε decided by sympy (exact algebraic numbers)."""
    lhs = rational(lam) * rational(radius_sq) ** (rational(alpha) / 2)
    decision = lhs <= rational(eps)
    assert decision in (sp.true, sp.false), decision
    return bool(decision)


def least_resolution(lam, alpha, scale_sq, eps) -> int:
    """Least n ≥ 1 with λ·(scale²/n²)^{α/2} ≤ ε, by an exact integer search:
    n^{2p} ≥ (scale²)^p·(λ/ε)^{2q} for α = p/q."""
    a = Fraction(str(alpha))
    p, q = a.numerator, a.denominator
    target = Fraction(scale_sq) ** p * (Fraction(str(lam)) / Fraction(str(eps))) ** (2 * q)

    def ok(n):
        return n ** (2 * p) >= target

    hi = 1
    while not ok(hi):
        hi *= 2
    lo = hi // 2
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if ok(mid) else (mid, hi)
    return 1 if ok(1) else hi


def radius_sq(d, norm):  # constant expert: sup distance to the cell centre, unit cell
    return Fraction(d if norm == "l2" else 1, 4)


def diameter_sq(d, norm):  # Kuhn simplex of the unit cube
    return Fraction(d if norm == "l2" else 1)


def dense(widths):
    return sum((a + 1) * b for a, b in zip(widths[:-1], widths[1:], strict=True))


def router_table(router, d, k):
    """(total, active) router parameters of approximation_vc.md §3 for K cells per axis."""
    e = k**d
    if k == 1:  # one cell: a single network, no router
        return 0, 0
    if router == "grid":
        return d * (k - 1), d * math.ceil(math.log2(k))
    if router == "prototype":
        return e * d, e * d
    s = int(math.log2(k))
    assert 2**s == k
    return d * 2**d * (e - 1) // (2**d - 1), s * 2**d * d


@st.composite
def targets(draw):
    d = draw(st.integers(1, 3))
    alpha = draw(st.sampled_from(ALPHAS))
    if draw(st.booleans()):
        alpha = Fraction(alpha)
    lam = draw(st.sampled_from(HOLDERS))
    norm = draw(st.sampled_from(["l2", "linf"]))
    return ap.Target.of(d, alpha, lam, norm), (d, alpha, lam, norm)


# ------------------------------------------------------------------ regression (§3)


def test_reference_regression_constant_experts():
    plan = ap.plan_constant(ap.Target.of(2, 1, 1), "0.01")
    assert (plan.cells, plan.experts) == (71, 5041)
    assert plan.method == "moe-constant" and plan.guarantee == "proved"
    assert math.ceil(math.sqrt(2) / 2 * 100) == 71  # K = ⌈(√d/2)(λ/ε)^{1/α}⌉


@pytest.mark.parametrize(
    "d, alpha, lam, eps, norm, k",
    [
        (1, 1, 1, "0.01", "l2", 50),  # λ/(2K) = ε exactly at K = 50
        (1, "1/3", 1, "0.5", "l2", 4),  # (1/(2K))^{1/3} = 1/2 exactly at K = 4
        (3, "1/2", 1, "0.5", "linf", 2),  # (1/(2K))^{1/2} = 1/2 exactly at K = 2
        (1, "1/4", 1, "0.01", "linf", 5 * 10**7),  # 1/(2K) = 10^{-8} exactly
        (4, 1, 1, "0.25", "l2", 4),  # √4/(2K) = 1/4 exactly at K = 4
        (2, 1, 1, "0.01", "l2", 71),
        (1, 1, 3, "5", "l2", 1),  # ε ≥ λ/2: one cell
    ],
)
def test_exact_boundary_cases(d, alpha, lam, eps, norm, k):
    t = ap.Target.of(d, alpha, lam, norm)
    assert least_resolution(lam, alpha, radius_sq(d, norm), eps) == k
    plan = ap.plan_constant(t, eps)
    assert plan.cells == k
    assert plan.architecture.router == ("grid" if k > 1 else "none")


# ------------------------------------------------------------------ ε → sizes → ε


@FAST
@given(targets(), st.sampled_from(EPSILONS))
def test_plan_constant_minimal_and_within(target_args, eps):
    target, (d, alpha, lam, norm) = target_args
    plan = ap.plan_constant(target, eps)
    k = plan.cells
    assert plan.experts == k**d
    rsq = radius_sq(d, norm)
    assert ap.cell_radius_sq(target) == rsq
    assert sympy_within(lam, alpha, rsq / k**2, eps)
    assert target.within(rsq / k**2, Fraction(eps))
    if k > 1:
        assert not sympy_within(lam, alpha, rsq / (k - 1) ** 2, eps)
        assert not target.within(rsq / (k - 1) ** 2, Fraction(eps))
    assert k == least_resolution(lam, alpha, rsq, eps)
    assert plan.guaranteed_error <= float(Fraction(eps)) * (1 + 1e-12)
    assert plan.eps == Fraction(eps)


@FAST
@given(targets(), st.sampled_from(EPSILONS), st.sampled_from([0, "1/2", 1, Fraction(1, 2)]))
def test_plan_pwl_resolution_within(target_args, eps, tradeoff):
    target, (d, alpha, lam, norm) = target_args
    plan = ap.plan_pwl(target, eps, tradeoff)
    k, sub = plan.cells, plan.sub
    dsq = diameter_sq(d, norm)
    assert ap.simplex_diameter_sq(target) == dsq
    assert sympy_within(lam, alpha, dsq / (k * sub) ** 2, eps)
    assert target.within(dsq / (k * sub) ** 2, Fraction(eps))
    n = least_resolution(lam, alpha, dsq, eps)
    assert k * sub >= n
    # the resolution split: K = nearest integer to N^r, M = ⌈N/K⌉
    r = Fraction(str(tradeoff))
    if r == 0:
        assert (k, sub) == (1, n)
    elif r == 1:
        assert (k, sub) == (n, 1)
    else:
        root = math.isqrt(n)
        assert k == (root + 1 if n - root * root > root else root)
        assert sub == -(-n // k)
    assert plan.experts == k**d
    assert plan.guaranteed_error <= float(Fraction(eps)) * (1 + 1e-12)


# ------------------------------------------------------------------ sizes → ε


@FAST
@given(targets(), st.integers(1, 10**6))
def test_constant_guarantee_formula_and_monotone(target_args, k):
    target, (d, alpha, lam, norm) = target_args
    a, lam_f = float(Fraction(alpha)), float(Fraction(str(lam)))
    rho = (math.sqrt(d) if norm == "l2" else 1) / (2 * k)
    got = ap.constant_approximator(target, k).guaranteed_error
    assert got == pytest.approx(lam_f * rho**a, rel=1e-12)
    assert ap.constant_approximator(target, k + 1).guaranteed_error <= got


@FAST
@given(targets(), st.integers(1, 300), st.integers(1, 30))
def test_pwl_guarantee_formula_and_monotone(target_args, k, sub):
    target, (d, alpha, lam, norm) = target_args
    a, lam_f = float(Fraction(alpha)), float(Fraction(str(lam)))
    sigma = math.sqrt(d) if norm == "l2" else 1
    got = ap.pwl_approximator(target, k, sub).guaranteed_error
    assert got == pytest.approx(lam_f * (sigma / (k * sub)) ** a, rel=1e-12)
    assert ap.pwl_approximator(target, k + 1, sub).guaranteed_error <= got
    assert ap.pwl_approximator(target, k, sub + 1).guaranteed_error <= got


# ------------------------------------------------------------------ trade-off r


@FAST
@given(targets(), st.sampled_from(EPSILONS), st.sampled_from(["grid", "tree"]))
def test_tradeoff_extremes(target_args, eps, router):
    target, (d, alpha, lam, norm) = target_args
    single = ap.plan_pwl(target, eps, 0, router)
    assert single.experts == 1 and single.cells == 1
    assert single.architecture.router == "none" and single.method == "single-pwl"
    assert single.sub == least_resolution(lam, alpha, diameter_sq(d, norm), eps)
    moe = ap.plan_pwl(target, eps, 1, router)
    assert moe.sub == 1
    assert moe.method == ("moe-pwl" if moe.cells > 1 else "single-pwl")
    assert moe.architecture.counts().active <= single.architecture.counts().active
    assert moe.architecture.counts().per_expert <= single.architecture.counts().per_expert


# ------------------------------------------------------------------ counts


def check_counts(plan, router, d):
    k = plan.cells
    row = plan.row()
    c = plan.architecture.counts()
    assert (
        row["total_parameters"]
        == row["router_parameters"] + row["experts"] * row["expert_parameters"]
    )
    assert row["active_parameters"] == c.router_active + row["expert_parameters"]
    assert (c.router, c.router_active) == router_table(router, d, k)
    assert row["experts"] == k**d


@FAST
@given(
    targets(),
    st.sampled_from(EPSILONS),
    st.sampled_from(["grid", "prototype", "tree"]),
    st.sampled_from([0, "1/2", 1]),
)
def test_row_counts(target_args, eps, router, tradeoff):
    target, (d, alpha, lam, norm) = target_args
    const = ap.plan_constant(target, eps, router)
    assert const.row()["expert_parameters"] == d + 1 and const.expert_nonzero == 1
    check_counts(const, router, d)
    pwl = ap.plan_pwl(target, eps, tradeoff, router)
    widths = [d, *kuhn.kuhn_widths(d, pwl.sub), 1]
    assert pwl.row()["expert_parameters"] == dense(widths)
    assert pwl.expert_nonzero == kuhn.kuhn_parameters(d, pwl.sub)[1]
    check_counts(pwl, router, d)
    if router == "tree":
        for plan in (const, pwl):
            assert plan.cells & (plan.cells - 1) == 0  # a power of 2
        k0 = least_resolution(lam, alpha, radius_sq(d, norm), eps)
        assert k0 <= const.cells < 2 * k0 or const.cells == 1
        assert sympy_within(lam, alpha, radius_sq(d, norm) / const.cells**2, eps)
        assert sympy_within(lam, alpha, diameter_sq(d, norm) / (pwl.cells * pwl.sub) ** 2, eps)


@pytest.mark.parametrize(
    "router, cells",
    [(r, k) for r in ("grid", "prototype") for k in (1, 2, 3, 4, 8, 71)]
    + [("tree", k) for k in (1, 2, 4, 8)],
)
@pytest.mark.parametrize("d", [1, 2, 3])
def test_counts_given_cells(router, cells, d):
    t = ap.Target.of(d, 1)
    check_counts(ap.constant_approximator(t, cells, router), router, d)
    check_counts(ap.pwl_approximator(t, cells, 2, router), router, d)


def test_tree_rounds_cells_up():
    t = ap.Target.of(2, 1, 1)
    plan = ap.plan_constant(t, "0.01", "tree")  # grid needs 71 → tree 128
    assert plan.cells == 128 and plan.experts == 128**2
    assert plan.architecture.kind.depth(plan.architecture) == 7


# ------------------------------------------------------------------ Kuhn sizes


def kuhn_widths_expected(d, sub):
    hats = (sub + 1) ** d
    levels, n = [], d
    while n > 1:
        levels.append(2 * n * hats)
        n = -(-n // 2)
    return [2 * d * (sub + 1), *levels, hats]


@pytest.mark.parametrize("d", [1, 2, 3, 4, 5])
@pytest.mark.parametrize("sub", [1, 2, 3, 7])
def test_kuhn_sizes(d, sub):
    widths = kuhn.kuhn_widths(d, sub)
    assert widths == kuhn_widths_expected(d, sub)
    full, nonzero = kuhn.kuhn_parameters(d, sub)
    assert full == dense([d, *widths, 1])
    assert 0 < nonzero <= full
    hats = (sub + 1) ** d
    if d == 1:
        assert widths == [2 * (sub + 1), sub + 1]
        assert nonzero == 8 * (sub + 1)  # 2 per first-layer unit, 3 per hat, 1 output weight
    # per hat: max-tree weights, two trees (d = 2: one pair, ReLU(a−b) 2 + ReLU(b) 1 = 3 per
    # tree; d = 3: a pair 3 and a leftover 1, then the pair (2-unit sum, 1-unit value) 3 + 1:
    # 8 per tree), the hat unit (both maxima are 2-unit sums, + bias: 5), 1 output weight
    if d == 2:
        assert nonzero == 8 * (sub + 1) + (2 * 3 + 5 + 1) * hats
    if d == 3:
        assert nonzero == 12 * (sub + 1) + (2 * 8 + 5 + 1) * hats


def test_kuhn_docstring_example():
    assert kuhn.kuhn_widths(2, 1) == [8, 16, 4]
    # dense: 2 → 8 → 16 → 4 → 1; non-zero: 16 first-layer entries + 4 hats × (6 + 5 + 1)
    assert kuhn.kuhn_parameters(2, 1) == (dense([2, 8, 16, 4, 1]), 16 + 4 * 12)


# ------------------------------------------------------------------ the table

CONTRACT = {
    "dim",
    "alpha",
    "eps",
    "method",
    "experts",
    "expert_parameters",
    "active_parameters",
    "total_parameters",
    "source",
}


def test_approximation_rows():
    args = ([1, 2, 3], ["0.5", "1"], ["1e-1", "1e-2", "1e-3"])
    rows = ap.approximation_rows(*args)
    assert rows == ap.approximation_rows(*args)
    groups = {}
    for row in rows:
        assert CONTRACT <= row.keys()
        assert row["source"]
        groups.setdefault((row["dim"], row["alpha"], row["eps"]), []).append(row["method"])
        if row["guarantee"] == "proved":
            assert row["guaranteed_error"] <= row["eps"] * (1 + 1e-12)
        assert row["total_parameters"] >= row["active_parameters"] >= 1
    assert len(groups) == 3 * 2 * 3
    for (_, alpha, eps), methods in groups.items():
        assert eps in (0.1, 0.01, 0.001)
        base = ["moe-constant", "moe-pwl", "single-pwl", "moe-deep", "single-syz"]
        assert methods == (base + ["yarotsky"] if alpha == 1 else base)
    assert sum(r["method"] == "yarotsky" for r in rows) == 9


def test_linf_rows_have_no_syz():
    rows = ap.approximation_rows([2], ["1"], ["0.1"], norm="linf")
    assert [r["method"] for r in rows] == ["moe-constant", "moe-pwl", "single-pwl", "yarotsky"]


# ------------------------------------------------------------------ bad inputs


@pytest.mark.parametrize(
    "alpha", [0, 1.5, -1, "abc", float("nan"), "nan", "inf", None, "3/2", Fraction(-1, 2)], ids=repr
)
def test_bad_alpha(alpha):
    with pytest.raises(SizeError):
        ap.Target.of(2, alpha)


@pytest.mark.parametrize(
    "eps", [0, -1e-3, "-0.001", "inf", float("inf"), "nan", float("nan"), "abc", None], ids=repr
)
@pytest.mark.parametrize(
    "plan", [ap.plan_constant, ap.plan_pwl, ap.plan_syz, ap.yarotsky_row], ids=lambda f: f.__name__
)
def test_bad_eps(eps, plan):
    with pytest.raises(SizeError):
        plan(ap.Target.of(2, 1), eps)


@pytest.mark.parametrize(
    "kw",
    [
        {"dim": 0},
        {"dim": 2.5},
        {"dim": -1},
        {"dim": "x"},
        {"dim": True},
        {"holder": 0},
        {"holder": -1},
        {"holder": "x"},
        {"holder": "inf"},
        {"norm": "l3"},
        {"norm": "L2"},
    ],
    ids=str,
)
def test_bad_target(kw):
    args = {"dim": 2, "alpha": 1, "holder": 1, "norm": "l2"} | kw
    with pytest.raises(SizeError):
        ap.Target.of(**args)


@pytest.mark.parametrize("tradeoff", [1.5, -0.1, "2", "x", float("nan")], ids=repr)
def test_bad_tradeoff(tradeoff):
    with pytest.raises(SizeError):
        ap.plan_pwl(ap.Target.of(2, 1), "0.1", tradeoff)


@pytest.mark.parametrize(
    "call",
    [
        lambda t: ap.constant_approximator(t, 0),
        lambda t: ap.constant_approximator(t, 2.5),
        lambda t: ap.pwl_approximator(t, 2, 0),
        lambda t: ap.pwl_approximator(t, -1, 2),
        lambda t: ap.plan_constant(t, "0.1", "mlp"),
        lambda t: ap.plan_pwl(t, "0.1", 1, "mlp"),
        lambda t: ap.approximation_rows([0], ["1"], ["0.1"]),
        lambda t: ap.approximation_rows([2], ["2"], ["0.1"]),
        lambda t: ap.approximation_rows([2], ["1"], ["0"]),
        lambda t: ap.syz_approximator(ap.Target.of(2, 1, 1, "linf"), 2, 3),
    ],
)
def test_bad_sizes(call):
    with pytest.raises(SizeError):
        call(ap.Target.of(2, 1))


@pytest.mark.parametrize(
    "alpha, holder, eps, outcome",
    [
        (1, 1, "1e400", "K = 1"),  # any K works
        (1, "1e400", "1", "plan"),  # λ overflows a float
        (1, 1, "1e-400", "plan"),  # ε underflows to 0.0
        ("1e-30", 1, "0.1", "refused"),  # (λ/ε)^{1/α} has ~10^30 digits
    ],
    ids=str,
)
def test_extreme_inputs_plan_or_size_error(alpha, holder, eps, outcome):
    t = ap.Target.of(2, alpha, holder)
    if outcome == "refused":
        with pytest.raises(SizeError, match="beyond"):
            ap.plan_constant(t, eps)
        return
    plan = ap.plan_constant(t, eps)
    k = plan.cells
    assert outcome != "K = 1" or k == 1
    assert t.within(radius_sq(2, "l2") / k**2, Fraction(eps))
    assert k == 1 or not t.within(radius_sq(2, "l2") / (k - 1) ** 2, Fraction(eps))
