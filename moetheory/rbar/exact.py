"""Exact helpers of the r̄ solver: univariate real-root facts over ℚ and JSON ↔ polynomial codecs.

Everything here is exact (rational arithmetic of python-flint): Sturm sequences count distinct
real roots in an interval, root isolation is bisection driven by those counts, the sign of a
polynomial at a real algebraic number (a root of ``P`` in an isolating interval) is decided by
refining the interval until the polynomial has no root in it. Polynomials travel through JSON as
coefficient lists / exponent dictionaries of exact rational strings — never through ``eval``.

Example::

    >>> P = upoly(["3", "0", "-6", "0", "1"])   # He_4 = x⁴ − 6x² + 3
    >>> count_roots(P, None, None), trace_mod(upoly(["0", "0", "1"]), P)
    (4, 12)

Reference: used by :mod:`moetheory.rbar` (Ho & Nguyen 2016, Ann. Statist.; 2305.03288
Lemma 1; 2505.10860 App. B).
"""

from __future__ import annotations

from fractions import Fraction

import sympy as sp
from flint import fmpq, fmpq_poly

from moetheory.schema import rational

MAX_DEGREE = 1000
"""Largest exponent a polynomial read from a file may carry."""


# ---------------------------------------------------------------------------------------------
# rationals and codecs
# ---------------------------------------------------------------------------------------------
def q(x: object) -> fmpq:
    """An exact rational from an int, Fraction, sympy Rational, fmpq or a 'p/q' string."""
    if isinstance(x, fmpq):
        return x
    if isinstance(x, bool):
        raise TypeError("bool is not a rational")
    if isinstance(x, int):
        return fmpq(x)
    if isinstance(x, Fraction):
        return fmpq(x.numerator, x.denominator)
    if isinstance(x, sp.Rational):
        return fmpq(int(x.p), int(x.q))
    if isinstance(x, str):
        f = rational(x, "rational")  # 'p' or 'p/q' of bounded length only; no eval
        return fmpq(f.numerator, f.denominator)
    raise TypeError(f"not an exact rational: {x!r}")


def qstr(x: object) -> str:
    """The exact string 'p' or 'p/q' of a rational."""
    v = q(x)
    return str(v.p) if v.q == 1 else f"{v.p}/{v.q}"


def to_fraction(x: object) -> Fraction:
    v = q(x)
    return Fraction(int(v.p), int(v.q))


def upoly(coeffs: list[object]) -> fmpq_poly:
    """fmpq_poly from ascending coefficients (exact rationals or strings)."""
    if not isinstance(coeffs, list) or len(coeffs) > MAX_DEGREE + 1:
        raise ValueError(f"coefficients: a list of at most {MAX_DEGREE + 1} expected")
    return fmpq_poly([q(c) for c in coeffs])


def upoly_json(p: fmpq_poly) -> list[str]:
    return [qstr(c) for c in p.coeffs()]


def upoly_from_sympy(expr: sp.Expr, x: sp.Symbol) -> fmpq_poly:
    poly = sp.Poly(sp.expand(expr), x, domain="QQ")
    coeffs = poly.all_coeffs()[::-1]
    return fmpq_poly([q(sp.Rational(c)) for c in coeffs])


def upoly_to_sympy(p: fmpq_poly, x: sp.Symbol) -> sp.Expr:
    return sum(
        (sp.Rational(int(c.p), int(c.q)) * x**k for k, c in enumerate(p.coeffs())), sp.Integer(0)
    )


def mpoly_json(poly: sp.Poly) -> dict:
    """A sympy Poly as {'gens': [...], 'terms': [[exps, 'p/q'], ...], 'str': sympy syntax}."""
    terms = [[list(map(int, e)), qstr(sp.Rational(c))] for e, c in poly.terms()]
    return {"gens": [str(g) for g in poly.gens], "terms": terms, "str": str(poly.as_expr())}


def mpoly_from_json(obj: dict, gens: list[sp.Symbol] | None = None) -> sp.Poly:
    """Inverse of :func:`mpoly_json` (exponents and rational strings only; 'str' is ignored)."""
    names = obj["gens"]
    if not isinstance(names, list) or not all(
        isinstance(n, str) and n.isidentifier() for n in names
    ):
        raise ValueError("gens: a list of names expected")
    syms = gens if gens is not None else [sp.Symbol(n) for n in names]
    if [str(s) for s in syms] != names:
        raise ValueError(f"generator mismatch: {names} vs {[str(s) for s in syms]}")
    d: dict[tuple[int, ...], sp.Rational] = {}
    for exps, c in obj["terms"]:
        if (
            not isinstance(exps, list)
            or len(exps) != len(syms)
            or any(
                isinstance(e, bool) or not isinstance(e, int) or not 0 <= e <= MAX_DEGREE
                for e in exps
            )
        ):
            raise ValueError(f"bad exponent vector (integers from 0 to {MAX_DEGREE} expected)")
        f = to_fraction(c)
        key = tuple(exps)
        d[key] = d.get(key, sp.Integer(0)) + sp.Rational(f.numerator, f.denominator)
    if not syms:
        raise ValueError("polynomial without generators")
    poly = sp.Poly(0, *syms, domain="QQ") if not d else sp.Poly.from_dict(d, *syms, domain="QQ")
    if "str" in obj and obj["str"] != str(poly.as_expr()):
        raise ValueError("the polynomial's 'str' is not the rendering of its terms")
    return poly


# ---------------------------------------------------------------------------------------------
# Sturm sequences and real roots
# ---------------------------------------------------------------------------------------------
def _sign(x: fmpq) -> int:
    return (x > 0) - (x < 0)


def sturm_chain(p: fmpq_poly) -> list[fmpq_poly]:
    if p.is_zero():
        raise ValueError("Sturm chain of the zero polynomial")
    chain = [p, p.derivative()]
    while not chain[-1].is_zero():
        _, r = divmod(chain[-2], chain[-1])
        chain.append(-r)
    chain.pop()
    return chain


def _sign_at(p: fmpq_poly, x: Fraction | None, side: int) -> int:
    """Sign of p at x; x None means −∞ (side −1) or +∞ (side +1)."""
    if x is None:
        if p.is_zero():
            return 0
        lc = p.leading_coefficient()
        s = _sign(lc)
        return s if (side > 0 or p.degree() % 2 == 0) else -s
    return _sign(p(q(x)))


def _variations(chain: list[fmpq_poly], x: Fraction | None, side: int) -> int:
    signs = [s for s in (_sign_at(p, x, side) for p in chain) if s != 0]
    return sum(1 for a, b in zip(signs, signs[1:], strict=False) if a != b)


def count_roots(p: fmpq_poly, lo: Fraction | None, hi: Fraction | None) -> int:
    """Number of distinct real roots of p in the half-open interval (lo, hi] (None = ∓∞)."""
    if p.degree() <= 0:
        return 0
    chain = sturm_chain(p)
    return _variations(chain, lo, -1) - _variations(chain, hi, +1)


def roots_in_closed(p: fmpq_poly, lo: Fraction | None, hi: Fraction | None) -> int:
    """Distinct real roots of p in [lo, hi] (closed at finite ends)."""
    n = count_roots(p, lo, hi)
    if lo is not None and not p.is_zero() and p(q(lo)) == 0:
        n += 1
    return n


def sign_on_interval(p: fmpq_poly, lo: Fraction | None, hi: Fraction | None) -> int:
    """The constant sign of p on [lo, hi] if p has no root there, else 0."""
    if p.is_zero():
        return 0
    if roots_in_closed(p, lo, hi) != 0:
        return 0
    return _sign(p(q(sample_point(lo, hi))))


def sample_point(lo: Fraction | None, hi: Fraction | None) -> Fraction:
    """A rational point of the interval [lo, hi] (None: unbounded on that side)."""
    if lo is None:
        return Fraction(0) if hi is None else hi - 1
    if hi is None:
        return lo + 1
    return (lo + hi) / 2


def cauchy_bound(p: fmpq_poly) -> Fraction:
    cs = p.coeffs()
    lc = abs(to_fraction(cs[-1]))
    return 1 + max((abs(to_fraction(c)) for c in cs[:-1]), default=Fraction(0)) / lc


def isolate_real_roots(
    p: fmpq_poly, width: Fraction = Fraction(1, 1000)
) -> list[tuple[Fraction, Fraction]]:
    """Disjoint intervals (lo, hi], increasing, each holding exactly one real root of p, of
    width ≤ ``width`` (p is made squarefree first; rational roots get a tiny interval too)."""
    if p.degree() <= 0:
        return []
    sq = _squarefree(p)
    bound = cauchy_bound(sq)
    out: list[tuple[Fraction, Fraction]] = []
    stack = [(-bound, bound)]
    while stack:
        lo, hi = stack.pop()
        n = count_roots(sq, lo, hi)
        if n == 0:
            continue
        if n == 1 and hi - lo <= width:
            out.append((lo, hi))
            continue
        mid = (lo + hi) / 2
        stack.append((mid, hi))
        stack.append((lo, mid))
    out.sort()
    return out


def _squarefree(p: fmpq_poly) -> fmpq_poly:
    g = p.gcd(p.derivative())
    sq, r = divmod(p, g)
    assert r.is_zero()
    return sq


def refine_root(p: fmpq_poly, lo: Fraction, hi: Fraction) -> tuple[Fraction, Fraction]:
    """Halve an isolating interval (lo, hi] of a root of p (keeps exactly one root)."""
    mid = (lo + hi) / 2
    if count_roots(p, lo, mid) == 1:
        return lo, mid
    return mid, hi


def check_isolating(p: fmpq_poly, lo: Fraction, hi: Fraction) -> bool:
    """p is nonzero, lo < hi and p has exactly one distinct real root in (lo, hi]."""
    return (not p.is_zero()) and lo < hi and count_roots(p, lo, hi) == 1


def sign_at_root(
    f: fmpq_poly, p: fmpq_poly, lo: Fraction, hi: Fraction, max_steps: int = 400
) -> int:
    """Sign of f at the unique root θ of p in (lo, hi] (exact; raises if (lo, hi] does not
    isolate a root of p)."""
    ps = _squarefree(p)
    if not check_isolating(ps, lo, hi):
        raise ValueError(f"({lo}, {hi}] does not isolate one root of {p}")
    if f.is_zero():
        return 0
    g = f.gcd(ps)
    if g.degree() > 0 and count_roots(_squarefree(g), lo, hi) == 1:
        return 0
    for _ in range(max_steps):
        if roots_in_closed(f, lo, hi) == 0:
            return _sign(f(q(hi)))
        lo, hi = refine_root(ps, lo, hi)
    raise ValueError("sign_at_root did not separate the roots")  # pragma: no cover


# ---------------------------------------------------------------------------------------------
# arithmetic in ℚ[x]/(P) and traces over the roots of P
# ---------------------------------------------------------------------------------------------
def inverse_mod(a: fmpq_poly, p: fmpq_poly) -> fmpq_poly:
    g, s, _ = a.xgcd(p)
    if g.degree() != 0:
        raise ValueError("not invertible modulo P (common root)")
    return (s / g.coeffs()[0]) % p


def power_sums(p: fmpq_poly) -> list[fmpq]:
    """Newton power sums s_k = Σ θ_i^k (k = 0..n−1) over the n complex roots of p."""
    n = p.degree()
    c = [x / p.leading_coefficient() for x in p.coeffs()]  # monic, ascending
    e = [fmpq(0)] * (n + 1)  # elementary symmetric e_j = (−1)^j c_{n−j}
    for j in range(n + 1):
        e[j] = (-1) ** j * c[n - j]
    s = [fmpq(n)]
    for k in range(1, n):
        val = (-1) ** (k - 1) * k * e[k]
        for i in range(1, k):
            val += (-1) ** (i - 1) * e[i] * s[k - i]
        s.append(val)
    return s


def trace_mod(f: fmpq_poly, p: fmpq_poly) -> fmpq:
    """Σ_i f(θ_i) over the roots of p, for a polynomial f (reduced modulo p first)."""
    r = f % p
    s = power_sums(p)
    return sum((c * s[k] for k, c in enumerate(r.coeffs())), fmpq(0))
