"""MomentumSMoE (softmoe_momentum.md §3): the stability region of the heavy-ball stack on a
quadratic, and the gradient-step reading of the SMoE layer, checked with sympy.

Stability. Linearise every expert as f(x) = −λx and write s = γλ. The heavy-ball stack
``p_t = μ p_{t−1} + f(x_t)``, ``x_{t+1} = x_t + γ p_t`` acts on the state (x_t, p_{t−1}) by a
2×2 matrix whose characteristic polynomial is derived here: z² − (1 + μ − s) z + μ, the
polynomial of ``x_{t+1} = (1 + μ − s) x_t − μ x_{t−1}``. The Jury / Schur–Cohn conditions for a
real quadratic z² + a₁z + a₀ are derived (not assumed) through the bilinear map
z = (1 + w)/(1 − w), which takes the open unit disc onto the open left half-plane; Vieta's
formulas give the half-plane condition for the transformed quadratic. Every check prints the
expressions it derived and returns pass/fail.

Gradient step. With quadratic objectives F_e(x) = ½(x − c_e)ᵀA_e(x − c_e) (A_e symmetric) and
experts f_e = −∇F_e, the residual SMoE update with gate weights w (a point of the simplex,
evaluated at the current input and held fixed) is one step of multiple-gradient descent with
step 1 on F_w = Σ_e w_e F_e, and the heavy-ball stack is heavy-ball gradient descent on F_w.
"""

from __future__ import annotations

import random
from fractions import Fraction
from functools import cache

import numpy as np
import sympy as sp

from proofs_check.relations import Check

REF = "softmoe_momentum.md §3"

mu, s = sp.symbols("mu s", real=True)  # momentum μ and s = γλ
a0, a1 = sp.symbols("a0 a1", real=True)  # z² + a1 z + a0
z, w = sp.symbols("z w")


def _say(message: str) -> None:
    print(f"  {message}")


def _zero(expr: sp.Expr) -> bool:
    """expr ≡ 0: the numerator of its normal form expands to 0 (exact for rational functions),
    else sympy's simplify decides."""
    numerator, _ = sp.fraction(sp.together(expr))
    return sp.expand(numerator) == 0 or sp.simplify(expr) == 0


# ------------------------------------------------------------------ derived objects


def heavy_ball_charpoly() -> sp.Expr:
    """The characteristic polynomial (in z) of the heavy-ball stack linearised at f(x) = −λx,
    derived from its state matrix on (x_t, p_{t−1}), with s = γλ."""
    gamma, lam = sp.symbols("gamma lambda", positive=True)
    x, p = sp.symbols("x p", real=True)
    p_next = mu * p + (-lam * x)
    x_next = x + gamma * p_next
    state, image = sp.Matrix([x, p]), sp.Matrix([x_next, p_next])
    m = image.jacobian(state)
    poly = (z * sp.eye(2) - m).det()
    return sp.expand(sp.expand(poly).subs(lam, s / gamma))


def bilinear_coefficients() -> tuple[sp.Expr, sp.Expr, sp.Expr]:
    """(A, B, C) of (1 − w)² p((1 + w)/(1 − w)) = A w² + B w + C for p(z) = z² + a1 z + a0."""
    p = z**2 + a1 * z + a0
    q = sp.Poly(sp.expand(sp.cancel((1 - w) ** 2 * p.subs(z, (1 + w) / (1 - w)))), w)
    coeffs = q.all_coeffs()
    assert len(coeffs) == 3
    return coeffs[0], coeffs[1], coeffs[2]


def heavy_ball_coefficients() -> tuple[sp.Expr, sp.Expr, sp.Expr]:
    """The bilinear coefficients (A, B, C) of the heavy-ball polynomial, as functions of μ, s."""
    poly = sp.Poly(heavy_ball_charpoly(), z)
    lead, c1, c0 = poly.all_coeffs()
    assert lead == 1
    return tuple(sp.expand(c.subs({a1: c1, a0: c0})) for c in bilinear_coefficients())  # type: ignore[return-value]


def derived_stable(mu_value: float, s_value: float) -> bool:
    """Spectral radius < 1, from the derived conditions (every bilinear coefficient > 0)."""
    return all(float(c) > 0 for c in _coefficient_function()(mu_value, s_value))


@cache
def _coefficient_function():
    return sp.lambdify((mu, s), list(heavy_ball_coefficients()), "math")


def stable(mu_value: float, s_value: float) -> bool:
    """The closed form proved by :func:`heavy_ball_region`: μ < 1 and 0 < γλ < 2(1 + μ)
    (for every real μ; it forces μ > −1)."""
    return mu_value < 1 and 0 < s_value < 2 * (1 + mu_value)


def in_band(mu_value: float, s_value: float) -> bool:
    """(1 − √μ)² < γλ < (1 + √μ)² (μ ≥ 0): the roots are complex with modulus √μ."""
    r = float(np.sqrt(mu_value))
    return (1 - r) ** 2 < s_value < (1 + r) ** 2


def spectral_radius(mu_value: float, s_value: float) -> float:
    """max |z| over the roots of z² − (1 + μ − s) z + μ, numerically (numpy.roots)."""
    return float(np.max(np.abs(np.roots([1.0, -(1.0 + mu_value - s_value), mu_value]))))


# ------------------------------------------------------------------ (c) stability


def jury_conditions() -> bool:
    """Both roots of a real z² + a₁z + a₀ lie in |z| < 1 ⇔ |a₀| < 1 and |a₁| < 1 + a₀.

    Derivation: (i) z = (1 + w)/(1 − w) has |1 + w|² − |1 − w|² = 4 Re w, so |z| < 1 ⇔ Re w < 0;
    it is a bijection from ℂ∖{1} onto ℂ∖{−1}. (ii) (1 − w)² p((1 + w)/(1 − w)) = A w² + B w + C
    with A = p(−1) = 1 − a₁ + a₀, B = 2(1 − a₀), C = p(1) = 1 + a₁ + a₀; its roots are the
    images of the roots of p (when A = 0, z = −1 is a root of p: unstable, and A > 0 fails).
    (iii) For real A ≠ 0, both roots have Re w < 0 ⇔ B/A > 0 and C/A > 0 (Vieta: sum −B/A,
    product C/A; complex pair: Re w = −B/(2A) and product |w|² > 0; real pair: both negative ⇔
    sum < 0 and product > 0). (iv) A + B + C = 4, so A, B, C cannot all be negative: the
    condition is A, B, C > 0. (v) A > 0 ∧ C > 0 ⇔ |a₁| < 1 + a₀; B > 0 ⇔ a₀ < 1; and A + C =
    2(1 + a₀) > 0 gives a₀ > −1: together |a₀| < 1 and |a₁| < 1 + a₀.
    """
    u, v = sp.symbols("u v", real=True)
    wc = u + sp.I * v
    ok = _zero(sp.expand(sp.Abs(1 + wc) ** 2 - sp.Abs(1 - wc) ** 2) - 4 * u)
    ok &= _zero((1 + (z - 1) / (z + 1)) / (1 - (z - 1) / (z + 1)) - z)  # the inverse map
    _say(f"(i)  |1+w|² − |1−w|² = 4 Re w: {ok}")

    A, B, C = bilinear_coefficients()
    p = z**2 + a1 * z + a0
    ok2 = _zero(A - p.subs(z, -1)) and _zero(B - 2 * (1 - a0)) and _zero(C - p.subs(z, 1))
    _say(f"(ii) A = {A}, B = {B}, C = {C}: {ok2}")

    # (iii) Vieta for A w² + B w + C, and the real part of a complex pair.
    qa, qb, qc = sp.symbols("qa qb qc", real=True)
    r1, r2 = sp.solve(qa * w**2 + qb * w + qc, w)
    ok3 = _zero(r1 + r2 + qb / qa) and _zero(r1 * r2 - qc / qa)
    # Complex pair: 4AC − B² = δ > 0, roots (−B ± i√δ)/(2A).
    delta = sp.Symbol("delta", positive=True)
    pair = (-qb + sp.I * sp.sqrt(delta)) / (2 * qa)
    on_pair = {qc: (qb**2 + delta) / (4 * qa)}
    ok3 &= _zero(sp.expand((qa * w**2 + qb * w + qc).subs(on_pair).subs(w, pair)))
    ok3 &= _zero(sp.re(pair) + qb / (2 * qa))
    ok3 &= _zero(sp.expand(pair * sp.conjugate(pair)) - on_pair[qc] / qa)
    _say(f"(iii) Vieta: w₁ + w₂ = −B/A, w₁w₂ = C/A; complex pair: Re w = −B/(2A): {ok3}")

    ok4 = _zero(A + B + C - 4) and _zero(A + C - 2 * (1 + a0))
    _say(f"(iv) A + B + C = {sp.expand(A + B + C)}, A + C = {sp.factor(A + C)}: {ok4}")

    # (v) a numeric sanity check of the statement against numpy.roots, away from the boundary.
    rng = np.random.default_rng(0)
    bad = 0
    for c1, c0 in rng.uniform(-3, 3, size=(4000, 2)):
        margins = (1 - abs(c0), 1 + c0 - abs(c1))
        if min(abs(m) for m in margins) < 1e-6:
            continue
        radius = float(np.max(np.abs(np.roots([1.0, c1, c0]))))
        bad += (radius < 1) != (abs(c0) < 1 and abs(c1) < 1 + c0)
    _say(f"(v)  4000 random (a₁, a₀) ∈ [−3, 3]²: {bad} disagreements with numpy.roots")
    return bool(ok and ok2 and ok3 and ok4 and bad == 0)


def heavy_ball_region() -> bool:
    """For every real μ and s = γλ: spectral radius < 1 ⇔ μ < 1 and 0 < s < 2(1 + μ)
    (this forces −1 < μ); for μ ≥ 0: 0 ≤ μ < 1 and 0 < γλ < 2(1 + μ); μ = 0: 0 < γλ < 2."""
    poly = heavy_ball_charpoly()
    ok = _zero(poly - (z**2 - (1 + mu - s) * z + mu))
    _say(f"characteristic polynomial of the (x_t, p_(t−1)) map: {poly}")
    A, B, C = heavy_ball_coefficients()
    ok &= _zero(A - (2 * (1 + mu) - s)) and _zero(B - 2 * (1 - mu)) and _zero(C - s)
    _say(f"bilinear coefficients: A = {sp.factor(A)}, B = {sp.factor(B)}, C = {C}")
    _say("A > 0 ⇔ s < 2(1+μ);  B > 0 ⇔ μ < 1;  C > 0 ⇔ s > 0")
    # The Jury form, substituted: |a₀| < 1 ⇔ |μ| < 1; 1 + a₀ − a₁ = A; 1 + a₀ + a₁ = C.
    ok &= _zero((1 + a0 - a1).subs({a1: -(1 + mu - s), a0: mu}) - A)
    ok &= _zero((1 + a0 + a1).subs({a1: -(1 + mu - s), a0: mu}) - C)
    # μ > −1 is implied: 0 < s < 2(1 + μ) ⇒ 1 + μ > 0.
    ok &= _zero(A + C - 2 * (1 + mu))
    _say("A + C = 2(1+μ) > 0 ⇒ μ > −1: the region is μ < 1 ∧ 0 < s < 2(1+μ)")
    # Plain SMoE (μ = 0): roots 0 and 1 − s, so ρ = |1 − s| < 1 ⇔ 0 < s < 2.
    roots0 = sp.solve(poly.subs(mu, 0), z)
    ok &= set(roots0) == {sp.Integer(0), 1 - s}
    ok &= sp.solve_univariate_inequality(
        sp.Abs(1 - s) < 1, s, relational=False
    ) == sp.Interval.open(0, 2)
    ok &= _zero(A.subs(mu, 0) - (2 - s))
    _say(f"μ = 0: roots {roots0}; |1 − s| < 1 ⇔ s ∈ (0, 2)")
    # Numeric sanity check over μ ∈ [−1.5, 1.5], s ∈ [−1, 5].
    rng = np.random.default_rng(1)
    bad = 0
    for m, t in zip(rng.uniform(-1.5, 1.5, 3000), rng.uniform(-1, 5, 3000), strict=True):
        if min(abs(1 - m), abs(t), abs(2 * (1 + m) - t)) < 1e-6:
            continue
        bad += (spectral_radius(m, t) < 1) != stable(m, t)
    _say(f"3000 random (μ, s) ∈ [−1.5, 1.5] × [−1, 5]: {bad} disagreements with numpy.roots")
    return bool(ok and bad == 0)


def sqrt_mu_band() -> bool:
    """For 0 ≤ μ: the discriminant (1 + μ − s)² − 4μ = (s − (1 − √μ)²)(s − (1 + √μ)²) is < 0
    exactly on (1 − √μ)² < s < (1 + √μ)²; there the roots are a complex-conjugate pair with
    |z|² = z z̄ = μ, so both have modulus √μ. Outside the band the roots are real with product
    μ, so ρ ≥ √μ: √μ is the least spectral radius at momentum μ. For 0 ≤ μ < 1 the band lies
    inside the stable region: 2(1 + μ) − (1 + √μ)² = (1 − √μ)² > 0."""
    r = sp.symbols("r", nonnegative=True)  # r = √μ
    poly = heavy_ball_charpoly()
    b = 1 + mu - s
    disc = sp.discriminant(poly, z)
    ok = _zero(disc - (b**2 - 4 * mu))
    factored = sp.factor(disc.subs(mu, r**2))
    ok &= _zero(factored - (s - (1 - r) ** 2) * (s - (1 + r) ** 2))
    ok &= _zero((1 + r) ** 2 - (1 - r) ** 2 - 4 * r)  # (1 − r)² ≤ (1 + r)²: < 0 strictly between
    _say(f"discriminant = {disc} = {factored} at μ = r², r = √μ; (1+r)² − (1−r)² = 4r ≥ 0")
    # Inside the band: δ = −disc = 4μ − b² > 0, roots (b ± i√δ)/2, modulus² = (b² + δ)/4 = μ.
    bb = sp.Symbol("b", real=True)
    delta = sp.Symbol("delta", positive=True)
    root = (bb + sp.I * sp.sqrt(delta)) / 2
    mu_of = (bb**2 + delta) / 4  # μ in terms of b and δ
    ok &= _zero(sp.expand((z**2 - bb * z + mu_of).subs(z, root)))
    ok &= _zero(sp.expand(poly.subs(s, 1 + mu - bb) - (z**2 - bb * z + mu)))
    modulus2 = sp.expand(root * sp.conjugate(root))
    ok &= _zero(modulus2 - mu_of)
    _say(f"in the band: z = (b ± i√δ)/2, b = 1 + μ − s, δ = 4μ − b² > 0; |z|² = {modulus2} = μ")
    # Band inside the stable region for 0 ≤ μ < 1.
    gap_hi = sp.factor(2 * (1 + r**2) - (1 + r) ** 2)
    ok &= _zero(gap_hi - (1 - r) ** 2)
    _say(f"2(1+μ) − (1+√μ)² = {gap_hi}; (1−√μ)² > 0 for μ ≠ 1: band ⊂ stable region")
    # Numeric: modulus √μ inside the band, ρ ≥ √μ outside.
    rng = np.random.default_rng(2)
    bad = 0
    for m in rng.uniform(0, 0.99, 200):
        lo, hi = (1 - np.sqrt(m)) ** 2, (1 + np.sqrt(m)) ** 2
        for t in np.linspace(lo, hi, 12)[1:-1]:
            moduli = np.abs(np.roots([1.0, -(1.0 + m - t), m]))
            bad += not np.allclose(moduli, np.sqrt(m), rtol=1e-9, atol=1e-12)
        for t in (lo - 0.1, hi + 0.1):
            bad += spectral_radius(m, t) < np.sqrt(m) - 1e-12
    _say(f"200 random μ ∈ [0, 0.99], 12 points per band: {bad} disagreements")
    return bool(ok and bad == 0)


# ------------------------------------------------------------------ (b) the gradient-step reading

D = 2


def _sym_vec(name: str) -> sp.Matrix:
    return sp.Matrix(sp.symbols(f"{name}1:{D + 1}", real=True))


def _sym_spd(name: str) -> sp.Matrix:
    a11, a12, a22 = sp.symbols(f"{name}_11 {name}_12 {name}_22", real=True)
    return sp.Matrix([[a11, a12], [a12, a22]])


def _problem(experts: int):
    """Symbolic x, A_e (symmetric), c_e, simplex weights w (last = 1 − the others),
    F_e(x) = ½(x − c_e)ᵀA_e(x − c_e) and the experts f_e = −∇F_e (derived by differentiation)."""
    x = _sym_vec("x")
    As = [_sym_spd(f"A{e}") for e in range(experts)]
    cs = [_sym_vec(f"c{e}_") for e in range(experts)]
    free = list(sp.symbols(f"w0:{experts - 1}", real=True))
    weights = [*free, 1 - sum(free)]
    Fs = [((x - c).T * A * (x - c))[0, 0] / 2 for A, c in zip(As, cs, strict=True)]
    fs = [-sp.Matrix([sp.diff(F, xi) for xi in x]) for F in Fs]
    return x, As, cs, weights, Fs, fs


def _grad(expr: sp.Expr, x: sp.Matrix) -> sp.Matrix:
    return sp.Matrix([sp.diff(expr, xi) for xi in x])


def gradient_step() -> bool:
    """d = 2, three experts, symbolic entries: f_e = −∇F_e = −A_e(x − c_e), and the SMoE residual
    update x + Σ_e w_e f_e(x) equals x − ∇(Σ_e w_e F_e)(x) (one multiple-gradient-descent step,
    step 1, weights on the simplex held fixed). With input-dependent softmax weights w(x) the
    two differ by exactly Σ_e F_e ∇w_e: the reading freezes the gate at the current input."""
    x, As, cs, weights, Fs, fs = _problem(3)
    ok = all(_zero(v) for f, A, c in zip(fs, As, cs, strict=True) for v in f + A * (x - c))
    _say(f"f_0 = −∇F_0 = {list(sp.factor(v) for v in fs[0])}")
    smoe = x + sum((wt * f for wt, f in zip(weights, fs, strict=True)), sp.zeros(D, 1))
    Fw = sum(wt * F for wt, F in zip(weights, Fs, strict=True))
    gd = x - _grad(Fw, x)
    ok &= all(_zero(v) for v in smoe - gd)
    H = sum((wt * A for wt, A in zip(weights, As, strict=True)), sp.zeros(D, D))
    b = sum((wt * A * c for wt, A, c in zip(weights, As, cs, strict=True)), sp.zeros(D, 1))
    ok &= all(_zero(v) for v in _grad(Fw, x) - (H * x - b))
    ok &= _zero(sum(weights) - 1)
    _say("x + Σ w_e f_e(x) − (x − ∇F_w(x)) = 0, ∇F_w(x) = (Σ w_e A_e) x − Σ w_e A_e c_e")
    # Input-dependent weights: softmax of a linear router, two experts.
    x2, As2, cs2, _, Fs2, fs2 = _problem(2)
    g = sp.Matrix(2, D, sp.symbols("g0:4", real=True))
    logits = g * x2
    soft = [sp.exp(lg) / sum(sp.exp(m) for m in logits) for lg in logits]
    gap = (x2 + sum((q * f for q, f in zip(soft, fs2, strict=True)), sp.zeros(D, 1))) - (
        x2 - _grad(sum(q * F for q, F in zip(soft, Fs2, strict=True)), x2)
    )
    extra = sum((F * _grad(q, x2) for q, F in zip(soft, Fs2, strict=True)), sp.zeros(D, 1))
    ok_gap = all(_zero(v) for v in gap - extra)
    nonzero = any(sp.simplify(v.subs(_generic(v))) != 0 for v in extra)
    _say(f"softmax gate w(x): gap = Σ F_e ∇w_e exactly: {ok_gap}; non-zero in general: {nonzero}")
    return bool(ok and ok_gap and nonzero)


def _generic(expr: sp.Expr) -> dict[sp.Symbol, sp.Rational]:
    rnd = random.Random(7)
    return {
        sym: sp.Rational(rnd.randint(-9, 9), rnd.randint(1, 5))
        for sym in sorted(expr.free_symbols, key=str)
    }


def heavy_ball_stack() -> bool:
    """With the weights fixed, the heavy-ball stack p_t = μ p_(t−1) + Σ w_e f_e(x_t),
    x_(t+1) = x_t + γ p_t (p_(−1) = 0) is heavy-ball gradient descent v_t = μ v_(t−1) − ∇F_w(x_t),
    x_(t+1) = x_t + γ v_t on F_w = Σ w_e F_e: the two step maps on (x, p) are identical, so by
    induction every layer agrees; for t ≥ 1 it is Polyak's form x_(t+1) = x_t − γ∇F_w(x_t) +
    μ(x_t − x_(t−1)); and about the minimiser x* (H x* = Σ w_e A_e c_e, H = Σ w_e A_e) the error
    obeys e_(t+1) = ((1 + μ)I − γH) e_t − μ e_(t−1): the recursion of the stability check with λ an
    eigenvalue of H. Also checked by unrolling four layers exactly with random rational data."""
    gamma = sp.Symbol("gamma", positive=True)
    x, As, cs, weights, Fs, fs = _problem(2)
    Fw = sum(wt * F for wt, F in zip(weights, Fs, strict=True))

    def smoe_field(point: sp.Matrix) -> sp.Matrix:
        total = sum((wt * f for wt, f in zip(weights, fs, strict=True)), sp.zeros(D, 1))
        return total.subs(dict(zip(x, point, strict=True)), simultaneous=True)

    def grad_w(point: sp.Matrix) -> sp.Matrix:
        return _grad(Fw, x).subs(dict(zip(x, point, strict=True)), simultaneous=True)

    xs, ps = _sym_vec("xs"), _sym_vec("ps")

    def smoe_step(xt, pt):
        p_next = mu * pt + smoe_field(xt)
        return xt + gamma * p_next, p_next

    def gd_step(xt, vt):
        v_next = mu * vt - grad_w(xt)
        return xt + gamma * v_next, v_next

    a, b = smoe_step(xs, ps), gd_step(xs, ps)
    ok = all(_zero(u) for u in (a[0] - b[0]).col_join(a[1] - b[1]))
    _say(f"step maps on (x, p) identical: {ok}")

    # Polyak form: from (x_(t−1), p_(t−2)) two layers give x_t, x_(t+1).
    x_t, p_t1 = smoe_step(xs, ps)
    x_t2, _ = smoe_step(x_t, p_t1)
    polyak = x_t - gamma * grad_w(x_t) + mu * (x_t - xs)
    ok_polyak = all(_zero(u) for u in x_t2 - polyak)
    _say(f"x_(t+1) = x_t − γ∇F_w(x_t) + μ(x_t − x_(t−1)): {ok_polyak}")

    # Error recursion about x*.
    H = sum((wt * A for wt, A in zip(weights, As, strict=True)), sp.zeros(D, D))
    bvec = sum((wt * A * c for wt, A, c in zip(weights, As, cs, strict=True)), sp.zeros(D, 1))
    ok_grad = all(_zero(u) for u in _grad(Fw, x) - (H * x - bvec))
    # For any point x* the error e = x − x* obeys the stability recursion up to −γ(Hx* − b),
    # which vanishes exactly when x* is the minimiser (Hx* = b): a polynomial identity.
    x_star = _sym_vec("xstar")
    err = (x_t2 - x_star) - (
        ((1 + mu) * sp.eye(D) - gamma * H) * (x_t - x_star) - mu * (xs - x_star)
    )
    ok_err = ok_grad and all(_zero(u) for u in err + gamma * (H * x_star - bvec))
    _say(f"∇F_w = Hx − Σ w_e A_e c_e; e_(t+1) = ((1+μ)I − γH)e_t − μ e_(t−1): {ok_err}")

    # Exact unrolling with random rationals, p_(−1) = v_(−1) = 0.
    rnd = random.Random(3)
    data = {
        sym: sp.Rational(Fraction(rnd.randint(-20, 20), rnd.randint(1, 7)))
        for sym in sorted(
            set().union(*(m.free_symbols for m in (*As, *cs)), set(weights[0].free_symbols)),
            key=str,
        )
    }
    data.update({mu: sp.Rational(7, 10), gamma: sp.Integer(1)})
    x0 = sp.Matrix([sp.Rational(1, 3), sp.Rational(-2, 5)])
    sa, sb = (x0, sp.zeros(D, 1)), (x0, sp.zeros(D, 1))
    ok_unroll = True
    for _ in range(4):
        sa = tuple(m.subs(data) for m in smoe_step(*sa))
        sb = tuple(m.subs(data) for m in gd_step(*sb))
        ok_unroll &= sa[0] == sb[0] and sa[1] == sb[1]
    _say(f"four layers unrolled exactly (μ = 7/10, γ = 1): x_4 = {list(sa[0])}: {ok_unroll}")
    return bool(ok and ok_polyak and ok_err and ok_unroll)


def layer_recursion() -> bool:
    """``moetheory.layers.MomentumSMoE`` with every expert f(x) = −λx (a linear map −λI, so
    the gated sum is −λx whatever the router does) follows the linearised recursion
    x₁ = (1 − s)x₀, x_{t+1} = (1 + μ − s)x_t − μx_{t−1} (s = γλ) to 1e-12 over 12 layers, and
    its size after 60 layers shrinks exactly where :func:`stable` says (μ, s) is stable."""
    import torch

    from moetheory.layers import MomentumSMoE

    ok = True
    for mu_v, gamma_v, lam in (
        (0.7, 1.0, 1.0),
        (0.7, 1.0, 3.0),
        (0.7, 1.0, 3.6),
        (0.0, 1.0, 2.5),
        (0.5, 0.5, 1.0),
    ):
        s_v = gamma_v * lam

        def expert(dim: int, lam: float = lam) -> torch.nn.Module:
            linear = torch.nn.Linear(dim, dim, bias=False).double()
            with torch.no_grad():
                linear.weight.copy_(-lam * torch.eye(dim, dtype=torch.float64))
            return linear

        torch.manual_seed(0)
        x0 = torch.randn(1, 4, 3, dtype=torch.float64)
        agree = True
        for layers in (12, 60):
            stack = MomentumSMoE(3, 4, 2, layers, mu=mu_v, gamma=gamma_v, expert=expert).double()
            with torch.no_grad():
                out, _ = stack(x0)
            previous, current = x0, (1 - s_v) * x0
            for _ in range(layers - 1):
                previous, current = current, (1 + mu_v - s_v) * current - mu_v * previous
            if layers == 12:
                agree = bool(((out - current).abs().max() / current.abs().max()) <= 1e-12)
            else:
                shrinks = bool(out.norm() < x0.norm())
        expected = stable(mu_v, s_v)
        _say(
            f"μ = {mu_v}, γλ = {s_v}: layer = recursion {agree}; after 60 layers "
            f"‖x‖ shrinks {shrinks}, stable by the condition {expected}"
        )
        ok &= agree and shrinks == expected
    return ok


CHECKS = [
    Check(
        "jury",
        "both roots of a real z² + a₁z + a₀ lie in |z| < 1 ⇔ |a₀| < 1 and |a₁| < 1 + a₀ "
        "(derived via z = (1+w)/(1−w) and Vieta)",
        f"{REF} [math]",
        jury_conditions,
    ),
    Check(
        "heavy-ball-region",
        "heavy ball on f(x) = −λx: ρ < 1 ⇔ μ < 1 and 0 < γλ < 2(1+μ) for every real μ "
        "(so −1 < μ; for μ ≥ 0: 0 ≤ μ < 1); plain SMoE μ = 0: 0 < γλ < 2",
        f"{REF} Stability [math]",
        heavy_ball_region,
    ),
    Check(
        "sqrt-mu-band",
        "μ ≥ 0, (1−√μ)² < γλ < (1+√μ)²: complex-conjugate roots of modulus exactly √μ "
        "(discriminant < 0, |z|² = μ); ρ ≥ √μ elsewhere; band ⊂ stable region for μ < 1",
        f"{REF} Stability [math]",
        sqrt_mu_band,
    ),
    Check(
        "gradient-step",
        "f_e = −∇F_e, F_e quadratic: x + Σ w_e f_e(x) = x − ∇(Σ w_e F_e)(x), weights fixed "
        "(d = 2, 3 experts, symbolic)",
        f"{REF} reading [paper + math]",
        gradient_step,
    ),
    Check(
        "heavy-ball-stack",
        "fixed weights: the heavy-ball SMoE stack is heavy-ball gradient descent on Σ w_e F_e "
        "(d = 2, 2 experts, symbolic; error recursion = the stability recursion with λ ∈ spec H)",
        f"{REF} Heavy ball [math]",
        heavy_ball_stack,
    ),
    Check(
        "layer-recursion",
        "moetheory.layers.MomentumSMoE with experts −λI follows x_(t+1) = (1+μ−γλ)x_t − μx_(t−1) "
        "(to 1e-12) and shrinks over 60 layers exactly where the stability condition holds",
        f"{REF} Stability [math], on the layer",
        layer_recursion,
    ),
]
