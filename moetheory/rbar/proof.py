"""Upper-bound certificates of the r̄ solver: proofs that an r̄ system has no admissible real
solution at order r (so r̄ ≤ r), built fresh and re-verified exactly.

The r1 proofs (m ≤ 3) follow one argument, every algebraic step of which is an identity checked
by polynomial expansion and every sign fact of which is a Sturm-sequence count over ℚ.

1. *Moment form.* With w_i = s3_i² > 0, a_i = s1_i, u_i = a_i² + 2 s2_i the equations read
   E_ℓ = (1/ℓ!) Σ_i w_i m_ℓ(a_i, u_i), where m_ℓ(a, u) is the ℓ-th moment of N(a, u − a²) written
   in (a, u) (``moment_polys``; checked against the system and weighted-homogeneous: a weight 1,
   u weight 2). Equal points merge (weights add), so a solution gives a positive measure
   ω = Σ_j ω_j δ_{(α_j, υ_j)} on k ≤ m distinct points with Σ_j ω_j m_ℓ(α_j, υ_j) = 0.
2. *k = 1 or all α equal:* m_1 = a gives (Σ ω) α = 0, so every a_i = 0 — trivial.
3. *Distinct α's on a curve u = p0 + p1 a + p2 a².* Then Σ ω m_ℓ(α, p(α)) = Σ_k A_ℓk(p) μ_k with
   μ_k = Σ_j ω_j α_j^k (the matrix A is recomputed from m_ℓ). Row 1 gives μ1 = 0, row 2
   p0 μ0 + p2 μ2 = 0.
   * *Line through the origin* (k = 2, or p2 = 0 which forces p0 = 0): rows 3, 4 and the identity
     ``(μ2 μ4 − μ3²) + κ p1² μ2² = c3 R3 + c4 R4`` (κ > 0, explicit cofactors) give
     μ2 μ4 − μ3² ≤ 0, while for ≥ 2 distinct non-zero α's it is
     Σ_{i<j} ω_i ω_j α_i² α_j² (α_i − α_j)² > 0.
   * *Parabola* (k = 3, p2 ≠ 0): μ0 = 1 and μ2 > 0 give sign(p0) = −sign(p2). Rows 2..6 solve
     μ_k = N_k / D_k (D_k = product of the pivots L_j = A_jj, polynomials in p2). Three atoms with
     distinct α's make the Hankel matrix H3 = (μ_{i+j})_{i,j≤2} positive definite and
     H4 = (μ_{i+j})_{i,j≤3} singular. With the explicit factorisations
     det H3 = c·p0^a·K·Π L_j^{e_j} and det H4 = c'·p0^{a'}·G·Π L_j^{e'_j}: K has a definite sign
     in each chart (p0 > 0 > p2 or p0 < 0 < p2), so det H3 > 0 fixes the sign of one pivot, which
     forces |p2| > ρ; on those half-lines G is a sum of same-sign terms p0^i p1^{2j} c_ij(p2) —
     so G ≠ 0, contradicting det H4 = 0. For p2 at a real root θ of a pivot L_j (finitely many,
     all listed with isolating intervals) either |θ| ≤ ρ is excluded the same way, or row j
     degenerates to a constraint p0^f p1^e H = 0 with H definite at θ (then p1 = 0, and the next
     even moment μ_{j+1} is forced negative).
4. *Two points sharing α* (k = 3): scaled to α = 1, ω3 = 1, rows 1–2 give β = −Ω, U1 = −v and
   the identities ``Ê3 = g·f`` (g(Ω) of one strict sign for Ω ≥ 0) and
   ``Ê5 − λ Ê4 = q·f + h(Ω)`` with h > 0 for Ω > 0.

The r2 proof reduces to r1: the ℓ1 = 0 equations of r2 are the r1 system in (t3, t4, t5) (checked
as an identity), so an r1 proof forces every t3_i = 0; for the printed variant, E_{0,4} at t3 = 0
is (1/2) Σ t5_i² t4_i² (E_{0,2} = t5² t4 when m = 1), forcing t4 = 0.

Example::

    >>> cert = make_r1_proof(2, 4)          # r1, m = 2: no admissible real solution at order 4
    >>> verify_r1_proof(cert, 2, 4)
    []

References: Ho & Nguyen 2016, Ann. Statist.; 2305.03288 Lemma 1; 2505.10860 App. B. The
argument (parabola interpolation + Hankel positivity) is this module's own.
"""

from __future__ import annotations

from fractions import Fraction
from math import comb, factorial
from typing import Any, Protocol

import sympy as sp
from flint import fmpq_mpoly_ctx, fmpq_poly

from moetheory.rbar.exact import (
    check_isolating,
    count_roots,
    isolate_real_roots,
    mpoly_from_json,
    mpoly_json,
    q,
    qstr,
    refine_root,
    roots_in_closed,
    sample_point,
    sign_at_root,
    to_fraction,
    upoly,
    upoly_from_sympy,
    upoly_json,
    upoly_to_sympy,
)
from moetheory.rbar.system import build_system, r2_label

A_, U_ = sp.symbols("a u")
P0, P1, P2 = sp.symbols("p0 p1 p2")
MU = sp.symbols("mu0:7")
OM, V_, U1, U2, U3 = sp.symbols("Omega v U1 U2 U3")
PGENS = (P0, P1, P2)


class ProofNotFoundError(Exception):
    """The generator could not complete a proof (not an input error)."""


class _ComparesWithZero(Protocol):
    """A number ordered against the integer 0: fmpq, Fraction, a sympy rational."""

    def __gt__(self, other: int, /) -> object: ...
    def __lt__(self, other: int, /) -> object: ...


def _sign(x: _ComparesWithZero) -> int:
    return int(bool(x > 0)) - int(bool(x < 0))


# ---------------------------------------------------------------------------------------------
# shared algebra (used by both the generator and the verifier)
# ---------------------------------------------------------------------------------------------
def gaussian_moment_poly(ell: int) -> sp.Expr:
    """m_ℓ(a, u): the ℓ-th moment of N(a, v) with v = u − a² (so m_1 = a, m_2 = u)."""
    v = U_ - A_**2
    expr = sum(
        comb(ell, 2 * k) * sp.factorial2(2 * k - 1) * A_ ** (ell - 2 * k) * v**k
        for k in range(ell // 2 + 1)
    )
    return sp.expand(expr)


def _poly(expr: sp.Expr, *gens: sp.Symbol) -> sp.Poly:
    return sp.Poly(sp.expand(expr), *gens, domain="QQ")


def moment_rows(mpolys: list[sp.Expr], nrows: int) -> list[list[sp.Expr]]:
    """A_ℓk(p) with Σ_k A_ℓk a^k = m_ℓ(a, p0 + p1 a + p2 a²); rows ℓ = 1..nrows, k = 0..nrows."""
    par = P0 + P1 * A_ + P2 * A_**2
    rows = []
    for ell in range(1, nrows + 1):
        f = sp.Poly(sp.expand(mpolys[ell - 1].subs(U_, par)), A_)
        row = [sp.Integer(0)] * (nrows + 1)
        for (k,), c in f.terms():
            if k > nrows:
                raise ValueError(f"row {ell} has degree {k} > {nrows}")
            row[k] = sp.expand(c)
        rows.append(row)
    return rows


def weighted_homogeneous(expr: sp.Expr, ell: int) -> bool:
    p = _poly(expr, A_, U_)
    return all(i + 2 * j == ell for (i, j), _ in p.terms())


def moment_link_ok(sysm, mpolys: list[sp.Expr], upto: int) -> list[str]:
    """E_ℓ == (1/ℓ!) Σ_i s3_i² m_ℓ(s1_i, s1_i² + 2 s2_i) for ℓ ≤ upto (r1 system ``sysm``)."""
    bad = []
    gens = sysm.gens
    for ell in range(1, upto + 1):
        if not weighted_homogeneous(mpolys[ell - 1], ell):
            bad.append(f"m_{ell} is not weighted-homogeneous of degree {ell}")
            continue
        rhs = 0
        for i in range(1, sysm.m + 1):
            s1, s2, s3 = (sp.Symbol(f"s{f}_{i}") for f in (1, 2, 3))
            rhs += s3**2 * mpolys[ell - 1].subs({A_: s1, U_: s1**2 + 2 * s2}, simultaneous=True)
        if sp.Poly(sp.expand(rhs / factorial(ell)), *gens, domain="QQ") != sysm.equations[ell - 1]:
            bad.append(f"E_{ell} is not (1/{ell}!) Σ s3² m_{ell}(s1, s1² + 2 s2)")
    return bad


def _p2_upoly(expr: sp.Expr) -> fmpq_poly:
    e = sp.expand(expr)
    if e.free_symbols - {P2}:
        raise ValueError(f"{e} is not a polynomial in p2 alone")
    return upoly_from_sympy(e, P2)


# --------------------------------------------------------------------------------------------
# definite-sign claims: H(p0, p1, p2) = Σ p0^i p1^j c_ij(p2), j even, sign(p0) known
# --------------------------------------------------------------------------------------------
def _coeff_table(expr: sp.Expr) -> dict[tuple[int, int], sp.Expr]:
    p = _poly(expr, P0, P1, P2)
    table: dict[tuple[int, int], sp.Expr] = {}
    for (i, j, k), c in p.terms():
        table[(i, j)] = table.get((i, j), 0) + c * P2**k
    return table


def _domain_sign(c: fmpq_poly, domain: dict) -> int:
    """Sign of the univariate c on a domain: {'interval': [lo, hi], 'open': bool} (None = ±∞) or
    {'root_of': coeffs, 'interval': [lo, hi]} (a real algebraic point). 0 = not constant."""
    lo, hi = (None if x is None else to_fraction(x) for x in domain["interval"])
    if "root_of" in domain:
        if lo is None or hi is None:
            raise ValueError("a root_of domain needs a finite interval")
        L = upoly(domain["root_of"])
        return sign_at_root(c, L, lo, hi)
    if c.is_zero():
        return 0
    if domain.get("open"):
        n = count_roots(c, lo, hi) - (1 if hi is not None and c(q(hi)) == 0 else 0)
    else:
        n = roots_in_closed(c, lo, hi)
    if n != 0:
        return 0
    return _sign(c(q(sample_point(lo, hi))))


def make_definite(
    expr: sp.Expr, p0_sign: int, domain: dict, divisors: dict[int, sp.Expr] | None = None
) -> dict:
    """Build a definite-sign claim for expr on the domain (ProofNotFoundError if not definite).

    ``divisors`` (pivot index → pivot) may be divided out of a coefficient as even powers (the
    pivot is non-zero where the claim is used)."""
    table = _coeff_table(expr)
    claims, signs = [], set()
    for (i, j), c in sorted(table.items()):
        if j % 2:
            raise ProofNotFoundError(f"odd power of p1 in {expr}")
        cpoly = _p2_upoly(c)
        div: dict[int, int] = {}
        for idx, piv in (divisors or {}).items():
            lp = _p2_upoly(piv)
            while True:
                qq, rr = divmod(cpoly, lp * lp)
                if not rr.is_zero() or qq.is_zero() or cpoly.degree() < 2 * lp.degree():
                    break
                cpoly = qq
                div[idx] = div.get(idx, 0) + 2
        s = _domain_sign(cpoly, domain)
        if s == 0:
            raise ProofNotFoundError(f"coefficient p0^{i} p1^{j} of a claim has no fixed sign")
        signs.add(s * p0_sign**i)
        claims.append(
            {
                "p0_exp": i,
                "p1_exp": j,
                "reduced": upoly_json(cpoly),
                "divisor": {str(k): e for k, e in div.items()},
                "sign": s,
            }
        )
    if len(signs) != 1 or not any(c["p1_exp"] == 0 for c in claims):
        raise ProofNotFoundError(f"not a same-sign form: {expr}")
    return {
        "poly": mpoly_json(_poly(expr, *PGENS)),
        "p0_sign": p0_sign,
        "domain": domain,
        "coeffs": claims,
        "sign": signs.pop(),
    }


def check_definite(claim: dict, pivots: dict[int, fmpq_poly], where: str) -> tuple[int, list[str]]:
    """Re-verify a definite claim; returns (sign, failures). The polynomial identity
    poly = Σ p0^i p1^j · reduced_ij · Π pivot^e is checked exactly, each reduced coefficient's
    sign on the domain is recomputed, and the same-sign logic is re-applied."""
    bad: list[str] = []
    try:
        poly = mpoly_from_json(claim["poly"], list(PGENS))
        p0s = claim["p0_sign"]
        if p0s not in (1, -1):
            return 0, [f"{where}: p0_sign must be ±1"]
        total = 0
        signs = set()
        has_pure = False
        for c in claim["coeffs"]:
            i, j = int(c["p0_exp"]), int(c["p1_exp"])
            if j % 2 or i < 0 or j < 0:
                bad.append(f"{where}: exponent of p1 must be even")
                continue
            red = upoly(c["reduced"])
            full = red
            for k, e in c["divisor"].items():
                if int(e) % 2 or int(e) <= 0 or int(k) not in pivots:
                    bad.append(f"{where}: divisor must be an even power of a pivot")
                    continue
                full = full * pivots[int(k)] ** int(e)
            total += P0**i * P1**j * upoly_to_sympy(full, P2)
            s = _domain_sign(red, claim["domain"])
            if s == 0 or s != c["sign"]:
                bad.append(
                    f"{where}: coefficient p0^{i} p1^{j} has no fixed sign {c['sign']} "
                    "on the domain"
                )
                continue
            signs.add(s * p0s**i)
            has_pure |= j == 0 and not red.is_zero()
        if _poly(total, *PGENS) != poly:
            bad.append(f"{where}: the coefficient decomposition does not add up to the polynomial")
        if len(signs) != 1 or not has_pure or signs != {claim["sign"]}:
            bad.append(f"{where}: terms are not of one sign with a non-vanishing pure p0 term")
    except (KeyError, ValueError, TypeError) as exc:
        return 0, [f"{where}: malformed claim ({exc})"]
    return (claim.get("sign", 0) if not bad else 0), bad


# ---------------------------------------------------------------------------------------------
# the parabola machinery
# ---------------------------------------------------------------------------------------------
def solve_moments(
    rows: list[list[sp.Expr]], pivots: dict[int, sp.Expr], upto: int, sub: dict | None = None
) -> tuple[list[sp.Expr], list[sp.Expr]]:
    """μ_0 = 1, μ_1 = 0 and μ_k = N_k / D_k from rows 2..upto (D_k = Π_{j=2}^k L_j)."""
    sub = sub or {}
    N = [sp.Integer(1), sp.Integer(0)]
    D = [sp.Integer(1), sp.Integer(1)]
    for ell in range(2, upto + 1):
        row = [sp.expand(c.subs(sub)) for c in rows[ell - 1]]
        Lp = sp.expand(pivots[ell].subs(sub))
        D.append(sp.expand(D[ell - 1] * Lp))
        acc = sum(row[k] * N[k] * sp.cancel(D[ell - 1] / D[k]) for k in range(ell))
        N.append(sp.expand(-acc))
    return N, D


_FCTX = fmpq_mpoly_ctx.get(("p0", "p1", "p2"), "lex")


def _to_flint(expr: sp.Expr):
    p = sp.Poly(sp.expand(expr), *PGENS, domain="QQ")
    return (
        _FCTX.from_dict({e: q(sp.Rational(c)) for e, c in p.terms()})
        if not p.is_zero
        else _FCTX.from_dict({})
    )


def _from_flint(f) -> sp.Expr:
    d = {}
    for e, c in zip(f.monoms(), f.coeffs(), strict=True):
        d[tuple(e)] = sp.Rational(int(c.p), int(c.q))
    return sp.Poly.from_dict(d, *PGENS, domain="QQ").as_expr() if d else sp.Integer(0)


def _det_flint(M: list[list]):
    n = len(M)
    if n == 1:
        return M[0][0]
    total = _FCTX.from_dict({})
    for j in range(n):
        if M[0][j] == 0:
            continue
        minor = [row[:j] + row[j + 1 :] for row in M[1:]]
        term = M[0][j] * _det_flint(minor)
        total = total + term if j % 2 == 0 else total - term
    return total


def hankel_det_numerator(N: list[sp.Expr], D: list[sp.Expr], size: int) -> tuple[sp.Expr, sp.Expr]:
    """det (μ_{i+j})_{i,j<size} as numerator / Q^size with Q = D_{2 size − 2} (exact, flint)."""
    top = 2 * size - 2
    Q = D[top]
    Nt = [_to_flint(sp.expand(N[k] * sp.cancel(Q / D[k]))) for k in range(top + 1)]
    M = [[Nt[i + j] for j in range(size)] for i in range(size)]
    return _from_flint(_det_flint(M)), Q


def _classify(
    expr: sp.Expr, pivots: dict[int, sp.Expr]
) -> tuple[sp.Rational, int, sp.Expr, dict[int, int]]:
    """expr = c · p0^a · core · Π L_j^{e_j} (core: the product of the remaining factors)."""
    c, facs = sp.factor_list(sp.expand(expr), *PGENS)
    a, core = 0, sp.Integer(1)
    ex: dict[int, int] = {}
    piv_polys = {k: sp.Poly(v, *PGENS) for k, v in pivots.items()}
    for f, e in facs:
        fp = sp.Poly(f, *PGENS)
        if fp == sp.Poly(P0, *PGENS):
            a += int(e)
            continue
        hit = None
        for k, lp in piv_polys.items():
            if lp.is_ground:
                continue
            ratio = sp.cancel(lp.as_expr() / fp.as_expr())
            if ratio.is_Rational:
                hit = (k, ratio)
                break
        if hit is None:
            core *= f**e
        else:
            ex[hit[0]] = ex.get(hit[0], 0) + int(e)
            c = c / hit[1] ** e
    return sp.Rational(c), a, sp.expand(core), ex


def _det_identity_ok(
    num: sp.Expr,
    Q: sp.Expr,
    size: int,
    c: sp.Rational,
    a: int,
    core: sp.Expr,
    ex: dict[int, int],
    pivots: dict[int, sp.Expr],
) -> bool:
    """num / Q^size == c p0^a core Π L^e  (cross-multiplied)."""
    lhs, rhs = sp.expand(num), sp.expand(c * P0**a * core * Q**size)
    for k, e in ex.items():
        if e > 0:
            rhs = rhs * pivots[k] ** e
        else:
            lhs = lhs * pivots[k] ** (-e)
    return _poly(lhs, *PGENS) == _poly(rhs, *PGENS)


def _rows_identity_ok(rows, N, D, upto) -> bool:
    for ell in range(1, upto + 1):
        Q = D[upto]
        tot = sum(rows[ell - 1][k] * N[k] * sp.cancel(Q / D[k]) for k in range(upto + 1))
        if sp.expand(tot) != 0:
            return False
    return True


def _row_constraint(rows, N, D, j: int, sub: dict | None = None) -> sp.Expr:
    """Numerator of row j without its pivot term: Σ_{k<j} A_jk μ_k · D_{j−1}."""
    sub = sub or {}
    return sp.expand(
        sum(rows[j - 1][k].subs(sub) * N[k] * sp.cancel(D[j - 1] / D[k]) for k in range(j))
    )


def _rem_p2(expr: sp.Expr, L: sp.Expr) -> sp.Expr:
    return sp.expand(sp.rem(sp.expand(expr), sp.expand(L), P2))


LINE_KAPPA_TARGET = MU[2] * MU[4] - MU[3] ** 2


def _line_rows(rows) -> tuple[sp.Expr, sp.Expr]:
    """Rows 3 and 4 on a line through the origin (p0 = p2 = 0) with μ1 = 0."""
    sub = {P0: 0, P2: 0}
    R = []
    for ell in (3, 4):
        R.append(
            sp.expand(
                sum(rows[ell - 1][k].subs(sub) * MU[k] for k in range(len(rows[0]))).subs(MU[1], 0)
            )
        )
    return R[0], R[1]


def make_line(rows) -> dict:
    R3, R4 = _line_rows(rows)
    # solve (μ2μ4 − μ3²) + κ p1² μ2² = c3 R3 + c4 R4 by eliminating μ4 then μ3
    c4 = sp.cancel(MU[2] / sp.Poly(R4, MU[4]).coeff_monomial(MU[4]))
    rest = sp.expand(LINE_KAPPA_TARGET - c4 * R4)
    # rest = −μ3² + const·p1²μ2²  (μ4 eliminated); factor with R3 = 3 p1 μ2 − 2 μ3
    c3, rem = sp.div(sp.Poly(rest, MU[3]), sp.Poly(R3, MU[3]))
    kappa = sp.cancel(-rem.as_expr() / (P1**2 * MU[2] ** 2))
    if not (kappa.is_Rational and kappa > 0):
        raise ProofNotFoundError("the line identity has no positive κ")
    return {
        "R3": mpoly_json(_poly(R3, P1, MU[2], MU[3], MU[4])),
        "R4": mpoly_json(_poly(R4, P1, MU[2], MU[3], MU[4])),
        "kappa": qstr(kappa),
        "c3": mpoly_json(_poly(c3.as_expr(), P1, MU[2], MU[3], MU[4])),
        "c4": mpoly_json(_poly(c4, P1, MU[2], MU[3], MU[4])),
    }


def check_line(data: dict, rows) -> list[str]:
    bad = []
    g = [P1, MU[2], MU[3], MU[4]]
    try:
        R3, R4 = _line_rows(rows)
        if _poly(R3, *g) != mpoly_from_json(data["R3"], g) or _poly(R4, *g) != mpoly_from_json(
            data["R4"], g
        ):
            bad.append("line: rows 3/4 on p0 = p2 = 0 differ from the recomputed ones")
        kappa = q(data["kappa"])
        if not kappa > 0:
            bad.append("line: κ must be positive")
        c3 = mpoly_from_json(data["c3"], g).as_expr()
        c4 = mpoly_from_json(data["c4"], g).as_expr()
        k = sp.Rational(int(kappa.p), int(kappa.q))
        if sp.expand(LINE_KAPPA_TARGET + k * P1**2 * MU[2] ** 2 - c3 * R3 - c4 * R4) != 0:
            bad.append("line: (μ2μ4 − μ3²) + κ p1² μ2² ≠ c3 R3 + c4 R4")
    except (KeyError, ValueError, TypeError) as exc:
        bad.append(f"line: malformed ({exc})")
    return bad


def _two_line_rows(mpolys) -> list[sp.Expr]:
    """Ê_ℓ for points (1, υ1), (1, υ2) of weights ω1, ω2 and (β, v) of weight 1, with β = −Ω,
    U1 = −v (rows 1, 2); U_k = ω1 υ1^k + ω2 υ2^k, U0 = Ω."""
    beta = -OM
    Us = {0: OM, 1: -V_, 2: U2, 3: U3}
    out = []
    for ell in range(1, 7):
        mp = sp.Poly(mpolys[ell - 1], U_)
        line = sum(c.subs(A_, 1) * Us[k] for (k,), c in mp.terms())
        pt = mpolys[ell - 1].subs({A_: beta, U_: V_}, simultaneous=True)
        out.append(sp.expand(line + pt))
    return out


def make_two_lines(mpolys) -> dict:
    E = _two_line_rows(mpolys)
    if E[0] != 0 or E[1] != 0:
        raise ProofNotFoundError("rows 1-2 do not vanish under β = −Ω, U1 = −v")
    fac = sp.factor_list(E[2], OM, V_)
    lin = [f for f, e in fac[1] if sp.Poly(f, V_).degree() == 1]
    if len(lin) != 1:
        raise ProofNotFoundError("row 3 has no unique factor linear in v")
    f = lin[0]
    g = sp.cancel(E[2] / f)
    lam = sp.cancel(sp.Poly(E[4], U2).coeff_monomial(U2) / sp.Poly(E[3], U2).coeff_monomial(U2))
    comb5 = sp.expand(E[4] - lam * E[3])
    qq, h = sp.div(sp.Poly(comb5, V_), sp.Poly(f, V_))
    return {
        "f": mpoly_json(_poly(f, OM, V_)),
        "g": mpoly_json(_poly(g, OM, V_)),
        "lambda": qstr(sp.Rational(lam)),
        "q": mpoly_json(_poly(qq.as_expr(), OM, V_)),
        "h": mpoly_json(_poly(h.as_expr(), OM, V_)),
    }


def _positive_on_positive_axis(p: sp.Poly, sign: int) -> bool:
    """All coefficients of the univariate p (in Ω) have the given sign or vanish, and p ≠ 0."""
    cs = p.all_coeffs()
    return any(c != 0 for c in cs) and all(c == 0 or _sign(c) == sign for c in cs)


def check_two_lines(data: dict, mpolys) -> list[str]:
    bad = []
    try:
        E = _two_line_rows(mpolys)
        g2 = [OM, V_]
        f = mpoly_from_json(data["f"], g2).as_expr()
        g = mpoly_from_json(data["g"], g2).as_expr()
        qq = mpoly_from_json(data["q"], g2).as_expr()
        h = mpoly_from_json(data["h"], g2).as_expr()
        lam = sp.Rational(str(to_fraction(data["lambda"])))
        if E[0] != 0 or E[1] != 0:
            bad.append("two lines: rows 1, 2 do not give β = −Ω, U1 = −v")
        if sp.expand(E[2] - g * f) != 0:
            bad.append("two lines: Ê3 ≠ g·f")
        if sp.Poly(g, V_).degree() > 0 or not (
            _positive_on_positive_axis(sp.Poly(g, OM), 1)
            or _positive_on_positive_axis(sp.Poly(g, OM), -1)
        ):
            bad.append("two lines: g has no fixed sign for Ω > 0")
        elif sp.Poly(g, OM).eval(0) == 0:
            bad.append("two lines: g vanishes at Ω = 0 (sign not strict)")
        comb5 = sp.expand(E[4] - lam * E[3])
        if comb5.has(U2) or comb5.has(U3):
            bad.append("two lines: Ê5 − λÊ4 still contains U2/U3")
        if sp.expand(comb5 - qq * f - h) != 0:
            bad.append("two lines: Ê5 − λÊ4 ≠ q·f + h")
        hp = sp.Poly(h, OM, V_)
        if hp.degree(V_) > 0 or not _positive_on_positive_axis(sp.Poly(h, OM), 1):
            bad.append("two lines: h(Ω) is not positive for Ω > 0")
    except (KeyError, ValueError, TypeError) as exc:
        bad.append(f"two lines: malformed ({exc})")
    return bad


# ---------------------------------------------------------------------------------------------
# generator: r1 proofs
# ---------------------------------------------------------------------------------------------
def _mpolys(upto: int) -> list[sp.Expr]:
    return [gaussian_moment_poly(ell) for ell in range(1, upto + 1)]


def _total_exps(ex: dict[int, int], Q: sp.Expr, size: int, pivots) -> dict[int, int]:
    out = {k: ex.get(k, 0) - size * _mult(Q, k, pivots) for k in pivots}
    return {k: e for k, e in out.items() if e}


def _region_need(c: sp.Rational, p0_exp: int, ksign: int, e2: int, p0s: int) -> int:
    """The sign det H3 > 0 forces on the region pivot: sign(c)·sign(p0)^a·sign(K)·sign(p2)^{e2}."""
    p2s = -p0s
    return int(_sign(c) * p0s ** (int(p0_exp) % 2) * ksign * p2s ** (int(e2) % 2))


def make_parabola(mpolys, deadline=None) -> dict:
    rows = moment_rows(mpolys, 6)
    pivots = {ell: sp.expand(rows[ell - 1][ell]) for ell in range(1, 7)}
    if any(pv.free_symbols - {P2} for pv in pivots.values()):
        raise ProofNotFoundError("pivots depend on more than p2")
    N, D = solve_moments(rows, pivots, 6)
    if not _rows_identity_ok(rows, N, D, 6):
        raise ProofNotFoundError("the moment solution does not satisfy the rows")
    if deadline:
        deadline.check()
    num3, Q3 = hankel_det_numerator(N, D, 3)
    c3, a3, K, ex3 = _classify(num3, pivots)
    ex3 = _total_exps(ex3, Q3, 3, pivots)
    num4, Q4 = hankel_det_numerator(N, D, 4)
    c4, a4, G, ex4 = _classify(num4, pivots)
    ex4 = _total_exps(ex4, Q4, 4, pivots)
    if deadline:
        deadline.check()
    odd = [k for k, e in ex3.items() if e % 2 and k != 2]
    if len(odd) != 1:
        raise ProofNotFoundError("det H3 does not single out one pivot")
    rp = odd[0]
    Lr = _p2_upoly(pivots[rp])
    divs = {k: pivots[k] for k in pivots if k >= 3}
    charts: list[dict[str, Any]] = []
    rho: dict[int, Fraction] = {}
    for p0s in (1, -1):  # chart +: p0 > 0 > p2 ; chart −: p0 < 0 < p2
        p2s = -p0s
        kdom = {"interval": [None, "0"] if p2s < 0 else ["0", None], "open": True}
        kclaim = make_definite(K, p0s, kdom, divs)
        need = _region_need(c3, a3, kclaim["sign"], ex3.get(2, 0), p0s)
        if _sign(Lr(q(0))) != -need:
            raise ProofNotFoundError("det H3 > 0 does not exclude a neighbourhood of p2 = 0")
        side = [
            iv
            for iv in isolate_real_roots(Lr, Fraction(1, 64))
            if (iv[0] >= 0 if p2s > 0 else iv[1] <= 0)
        ]
        if not side:
            raise ProofNotFoundError("the region pivot keeps its sign on a whole half-line")
        r_ = min(iv[0] for iv in side) if p2s > 0 else -max(iv[1] for iv in side)
        if r_ <= 0:
            raise ProofNotFoundError("region bound is not positive")
        rho[p0s] = r_
        dom = {"interval": [qstr(r_), None] if p2s > 0 else [None, qstr(-r_)]}
        gclaim = make_definite(G, p0s, dom, divs)
        charts.append(
            {"p0_sign": p0s, "K": kclaim, "region_sign": need, "rho": qstr(r_), "G": gclaim}
        )
    if deadline:
        deadline.check()
    kdivs = {int(k) for ch in charts for c in ch["K"]["coeffs"] for k in c["divisor"]}
    specials = []
    for j in range(3, 7):
        Lj = _p2_upoly(pivots[j])
        for lo, hi in isolate_real_roots(Lj, Fraction(1, 64)):
            while lo < 0 < hi:
                lo, hi = refine_root(Lj, lo, hi)
            entry = {"pivot": j, "root_interval": [qstr(lo), qstr(hi)]}
            try:
                entry.update(_special_row(rows, pivots, N, D, j, lo, hi))
            except ProofNotFoundError:
                if not (_region_applies(j, ex3, kdivs) and -rho[1] <= lo and hi <= rho[-1]):
                    raise
                entry["handler"] = "region"
            specials.append(entry)
            if deadline:
                deadline.check()
    return {
        "pivots": {str(k): upoly_json(_p2_upoly(v)) for k, v in pivots.items()},
        "mu": [
            [mpoly_json(_poly(N[k], *PGENS)), mpoly_json(_poly(D[k], *PGENS))] for k in range(7)
        ],
        "detH3": {
            "c": qstr(c3),
            "p0_exp": a3,
            "core": mpoly_json(_poly(K, *PGENS)),
            "pivot_exps": {str(k): e for k, e in ex3.items()},
            "region_pivot": rp,
        },
        "detH4": {
            "c": qstr(c4),
            "p0_exp": a4,
            "core": mpoly_json(_poly(G, *PGENS)),
            "pivot_exps": {str(k): e for k, e in ex4.items()},
        },
        "charts": charts,
        "specials": specials,
    }


def _region_applies(j: int, ex3: dict[int, int], kdivs: set[int]) -> bool:
    """det H3 (μ0..μ4, denominators L2..L4), its pivot factors and the K claims must all be
    defined and non-zero at a root of L_j for the region argument to apply there."""
    return j > 4 and ex3.get(j, 0) == 0 and j not in kdivs


def _mult(Dk: sp.Expr, k: int, pivots) -> int:
    """Multiplicity of pivot k in the product D (pivots are pairwise coprime)."""
    lp = sp.Poly(pivots[k], P2)
    if lp.is_ground:
        return 0
    n, rest = 0, sp.Poly(Dk, P2)
    while True:
        qq, rr = sp.div(rest, lp)
        if not rr.is_zero:
            return n
        n, rest = n + 1, qq


def _special_row(rows, pivots, N, D, j, lo, hi) -> dict:
    """Handler for p2 = θ, a root of pivot j: row j is a constraint p0^f p1^e H ≡ 0 (mod L_j)."""
    Lj = pivots[j]
    if lo < 0 < hi or lo == 0:
        raise ProofNotFoundError("root interval straddles 0")
    p0s = -1 if lo >= 0 else 1
    C = _rem_p2(_row_constraint(rows, N, D, j), Lj)
    if C == 0:
        raise ProofNotFoundError("row constraint vanishes identically")
    cpoly = sp.Poly(C, *PGENS)
    f = min(mm[0] for mm in cpoly.monoms())
    e = min(mm[1] for mm in cpoly.monoms())
    H = sp.expand(C / (P0**f * P1**e))
    dom = {"root_of": upoly_json(_p2_upoly(Lj)), "interval": [qstr(lo), qstr(hi)]}
    hclaim = make_definite(H, p0s, dom, None)
    out = {"handler": "row", "p0_exp": f, "p1_exp": e, "H": hclaim}
    if e == 0:
        return out
    if e != 1 or j + 1 > 6 or (j + 1) % 2:
        raise ProofNotFoundError("unsupported p1 power in a row constraint")
    sub = {P1: 0}
    if _rem_p2(rows[j][j].subs(sub), Lj) != 0:
        raise ProofNotFoundError("the free moment still enters row j+1 at p1 = 0")
    Nb, Db = solve_moments(rows, pivots, j - 1, sub)
    acc = sp.expand(
        sum(rows[j][k].subs(sub) * Nb[k] * sp.cancel(Db[j - 1] / Db[k]) for k in range(j))
    )
    W = _rem_p2(pivots[j + 1] * Db[j - 1], Lj)
    Vn = _rem_p2(-acc, Lj)
    vclaim = make_definite(Vn, p0s, dom, None)
    wclaim = make_definite(W, p0s, dom, None)
    if vclaim["sign"] * wclaim["sign"] >= 0:
        raise ProofNotFoundError("the branch p1 = 0 does not force a negative even moment")
    out["branch"] = {"moment": j + 1, "V": vclaim, "W": wclaim}
    return out


MAX_PROOF_M = 3
"""The templates handle measures on at most this many distinct points (single point, line,
parabola through three points); larger m has no proof template."""


def template_order(m: int) -> int:
    """The order a template needs: row 1 for one point; for k ≥ 2 points the Hankel matrix
    H_{k+1} = (μ_{i+j})_{i,j≤k} is used, i.e. moment rows up to 2k."""
    return 1 if m == 1 else 2 * m


def make_r1_proof(m: int, r: int, deadline=None) -> dict:
    """A proof that the r1 system (m components, order r) has no admissible real solution, or
    raise ProofNotFoundError. Templates: one point (m = 1), line (m = 2), parabola (m = 3); each
    needs the equations up to :func:`template_order`."""
    if m > MAX_PROOF_M or r < template_order(m):
        raise ProofNotFoundError(f"no proof template for r1 with m = {m} at order {r}")
    used = template_order(m)
    if m == 1:
        return {
            "type": "proof",
            "template": "r1-single",
            "kind": "r1",
            "m": 1,
            "order": r,
            "order_used": used,
        }
    mp = _mpolys(used)
    rows = moment_rows(mp, used)
    cert = {
        "type": "proof",
        "kind": "r1",
        "m": m,
        "order": r,
        "order_used": used,
        "moment_polys": [mpoly_json(_poly(e, A_, U_)) for e in mp],
        "line": make_line(rows),
    }
    if m == 2:
        return {"template": "r1-line"} | cert
    cert = {"template": "r1-parabola"} | cert
    cert["two_lines"] = make_two_lines(mp)
    cert["parabola"] = make_parabola(mp, deadline)
    return cert


# ---------------------------------------------------------------------------------------------
# verifier: r1 proofs
# ---------------------------------------------------------------------------------------------
def _read_mpolys(cert: dict, upto: int) -> list[sp.Expr]:
    mp = [mpoly_from_json(x, [A_, U_]).as_expr() for x in cert["moment_polys"]]
    if len(mp) < upto:
        raise ValueError("too few moment polynomials")
    return mp


def verify_r1_proof(cert: dict, m: int, r: int) -> list[str]:
    """Failures of an r1 proof certificate for (m, r) (empty list = verified)."""
    bad: list[str] = []
    try:
        tpl = cert["template"]
        used = int(cert["order_used"])
        if (
            cert.get("type") != "proof"
            or cert.get("kind") != "r1"
            or cert["m"] != m
            or cert["order"] != r
            or not isinstance(cert["order_used"], int)
        ):
            return ["proof: header does not match (type/kind/m/order)"]
        if used > r:
            return [f"proof: uses order {used} > {r}"]
        sysm = build_system("r1", m, r)
        if tpl == "r1-single":
            if m != 1:
                return ["r1-single applies to m = 1 only"]
            s1, s3 = sp.Symbol("s1_1"), sp.Symbol("s3_1")
            if sysm.equations[0] != sp.Poly(s3**2 * s1, *sysm.gens, domain="QQ"):
                bad.append("r1-single: E_1 ≠ s3_1² s1_1")
            return bad
        if tpl not in ("r1-line", "r1-parabola"):
            return [f"unknown proof template {tpl!r}"]
        if (tpl == "r1-line" and (m > 2 or used < 4)) or (
            tpl == "r1-parabola" and (m > 3 or used < 6)
        ):
            return [f"{tpl}: does not cover m = {m} with order_used = {used}"]
        mp = _read_mpolys(cert, used)
        for ell in range(1, used + 1):
            if sp.expand(mp[ell - 1] - gaussian_moment_poly(ell)) != 0 and ell <= 2:
                bad.append(f"m_{ell} must be the Gaussian moment (m_1 = a, m_2 = u)")
        if sp.expand(mp[0] - A_) != 0:
            bad.append("m_1 must be a (used for the equal-α case)")
        bad += moment_link_ok(sysm, mp, used)
        rows = moment_rows(mp[:used], used)
        bad += _check_first_rows(rows)
        bad += check_line(cert["line"], rows)
        if tpl == "r1-parabola":
            bad += check_two_lines(cert["two_lines"], mp)
            bad += check_parabola(cert["parabola"], rows)
    except (KeyError, ValueError, TypeError) as exc:
        bad.append(f"proof: malformed ({exc})")
    return bad


def _check_first_rows(rows) -> list[str]:
    n = len(rows[0])
    if any(
        sp.expand(rows[ell - 1][k]) != 0
        for ell in range(1, len(rows) + 1)
        for k in range(ell + 1, n)
    ):
        return ["the moment rows are not lower-triangular (A_lk ≠ 0 for k > l)"]
    want1 = [0, 1] + [0] * (n - 2)
    want2 = [P0, P1, P2] + [0] * (n - 3)
    bad = []
    if [sp.expand(x) for x in rows[0]] != want1:
        bad.append("row 1 must read μ1 = 0")
    if [sp.expand(x) for x in rows[1]] != want2:
        bad.append("row 2 must read p0 μ0 + p1 μ1 + p2 μ2 = 0")
    return bad


def check_parabola(data: dict, rows) -> list[str]:
    bad: list[str] = []
    pivots = {ell: sp.expand(rows[ell - 1][ell]) for ell in range(1, 7)}
    piv_u = {k: _p2_upoly(v) for k, v in pivots.items() if not v.free_symbols - {P2}}
    if len(piv_u) != 6:
        return ["parabola: a pivot depends on p0 or p1"]
    for k, v in data["pivots"].items():
        if upoly(v) != piv_u[int(k)]:
            bad.append(f"parabola: pivot {k} differs from the recomputed one")
    for i in range(1, 7):
        for j in range(i + 1, 7):
            if (
                piv_u[i].degree() > 0
                and piv_u[j].degree() > 0
                and piv_u[i].gcd(piv_u[j]).degree() > 0
            ):
                bad.append(f"parabola: pivots {i} and {j} share a root")
    N = [mpoly_from_json(x[0], list(PGENS)).as_expr() for x in data["mu"]]
    D = [mpoly_from_json(x[1], list(PGENS)).as_expr() for x in data["mu"]]
    if N[0] != 1 or N[1] != 0 or D[0] != 1 or D[1] != 1:
        bad.append("parabola: μ0 = 1, μ1 = 0 expected")
    for k in range(2, 7):
        if sp.expand(D[k] - D[k - 1] * pivots[k]) != 0:
            bad.append(f"parabola: D_{k} is not D_{k - 1}·L_{k}")
    if not _rows_identity_ok(rows, N, D, 6):
        bad.append("parabola: μ = N/D does not solve rows 1..6")
    if bad:
        return bad
    # determinant identities
    dets = {}
    for name, size in (("detH3", 3), ("detH4", 4)):
        dd = data[name]
        num, Q = hankel_det_numerator(N, D, size)
        ex = {int(k): int(e) for k, e in dd["pivot_exps"].items()}
        core = mpoly_from_json(dd["core"], list(PGENS)).as_expr()
        c = sp.Rational(str(to_fraction(dd["c"])))
        if c == 0 or not _det_identity_ok(num, Q, size, c, int(dd["p0_exp"]), core, ex, pivots):
            bad.append(f"parabola: {name} ≠ c·p0^a·core·Π L^e")
        dets[name] = (c, int(dd["p0_exp"]), core, ex)
    if bad:
        return bad
    c3, a3v, K, ex3 = dets["detH3"]
    _, _, G, ex4 = dets["detH4"]
    rp = int(data["detH3"]["region_pivot"])
    odd = [k for k, e in ex3.items() if e % 2 and k != 2]
    if odd != [rp]:
        bad.append("parabola: the region pivot is not the only odd pivot of det H3")
        return bad
    rho = {}
    nonzero_piv = {k: piv_u[k] for k in range(3, 7)}
    kdivs: set[int] = set()
    seen = set()
    for ch in data["charts"]:
        p0s = int(ch["p0_sign"])
        p2s = -p0s
        seen.add(p0s)
        kc = ch["K"]
        if mpoly_from_json(kc["poly"], list(PGENS)) != _poly(K, *PGENS):
            bad.append("parabola: the K claim is about another polynomial")
        if kc["p0_sign"] != p0s or kc["domain"] != {
            "interval": [None, "0"] if p2s < 0 else ["0", None],
            "open": True,
        }:
            bad.append("parabola: the K claim has the wrong chart")
        ks, b = check_definite(kc, nonzero_piv, f"K (p0 sign {p0s})")
        kdivs |= {int(k) for c in kc["coeffs"] for k in c["divisor"]}
        bad += b
        need = _region_need(c3, a3v, ks, ex3.get(2, 0), p0s)
        if need != ch["region_sign"]:
            bad.append("parabola: the sign forced on the region pivot is miscomputed")
        r_ = to_fraction(ch["rho"])
        Lr = piv_u[rp]
        if r_ <= 0 or roots_in_closed(Lr, -r_, r_) != 0 or _sign(Lr(q(0))) != -need:
            bad.append(f"parabola: L_{rp} does not have sign {-need} on [−ρ, ρ]")
        rho[p0s] = r_
        gc = ch["G"]
        if mpoly_from_json(gc["poly"], list(PGENS)) != _poly(G, *PGENS):
            bad.append("parabola: the G claim is about another polynomial")
        want = {"interval": [qstr(r_), None] if p2s > 0 else [None, qstr(-r_)]}
        if gc["p0_sign"] != p0s or gc["domain"] != want:
            bad.append("parabola: the G claim has the wrong chart")
        _, b = check_definite(gc, nonzero_piv, f"G (p0 sign {p0s})")
        bad += b
    if seen != {1, -1}:
        bad.append("parabola: both charts (p0 > 0 and p0 < 0) are required")
        return bad
    # special values of p2: every real root of L3..L6 must be handled
    by_pivot: dict[int, list] = {j: [] for j in range(3, 7)}
    for sp_ in data["specials"]:
        by_pivot.setdefault(int(sp_["pivot"]), []).append(sp_)
    for j in range(3, 7):
        Lj = piv_u[j]
        entries = by_pivot.get(j, [])
        if len(entries) != count_roots(Lj, None, None):
            bad.append(
                f"parabola: pivot {j} has {count_roots(Lj, None, None)} real roots but "
                f"{len(entries)} special entries"
            )
            continue
        ivs = sorted(
            (to_fraction(e["root_interval"][0]), to_fraction(e["root_interval"][1]))
            for e in entries
        )
        for (_, b_), (c_, _) in zip(ivs, ivs[1:], strict=False):
            if b_ > c_:
                bad.append(f"parabola: overlapping root intervals for pivot {j}")
        for e in entries:
            bad += _check_special(e, j, rows, pivots, piv_u, N, D, ex3, rho, kdivs)
    if 2 in by_pivot:
        bad.append("parabola: p2 = 0 is the line case, not a special entry")
    return bad


def _check_special(e, j, rows, pivots, piv_u, N, D, ex3, rho, kdivs) -> list[str]:
    where = f"special p2 (pivot {j})"
    lo, hi = to_fraction(e["root_interval"][0]), to_fraction(e["root_interval"][1])
    Lj = piv_u[j]
    if not check_isolating(Lj, lo, hi):
        return [f"{where}: ({lo}, {hi}] does not isolate one root"]
    if lo < 0 < hi or (lo == 0):
        return [f"{where}: the interval must not contain 0"]
    theta_sign = 1 if lo >= 0 else -1
    p0s = -theta_sign
    dom = {"root_of": upoly_json(Lj), "interval": [qstr(lo), qstr(hi)]}
    if e["handler"] == "region":
        if not _region_applies(j, ex3, kdivs):
            return [f"{where}: the region argument needs det H3 and K defined at the root"]
        if not (-rho[1] <= lo and hi <= rho[-1]):
            return [f"{where}: the root is not inside [−ρ, ρ]"]
        return []
    if e["handler"] != "row":
        return [f"{where}: unknown handler"]
    bad: list[str] = []
    f, ex = int(e["p0_exp"]), int(e["p1_exp"])
    H = mpoly_from_json(e["H"]["poly"], list(PGENS)).as_expr()
    C = _row_constraint(rows, N, D, j)
    if _rem_p2(C - P0**f * P1**ex * H, pivots[j]) != 0:
        bad.append(f"{where}: row {j} is not p0^f p1^e H modulo L_{j}")
    if e["H"]["domain"] != dom or e["H"]["p0_sign"] != p0s:
        bad.append(f"{where}: the H claim is not at this root / sign of p0")
    _, b = check_definite(e["H"], {}, where + " H")
    bad += b
    if ex == 0:
        return bad
    if ex != 1 or "branch" not in e:
        return bad + [f"{where}: a p1 factor needs the p1 = 0 branch"]
    br = e["branch"]
    k = int(br["moment"])
    if k != j + 1 or k % 2 or k > 6:
        return bad + [f"{where}: the branch must fix the even moment μ_{j + 1}"]
    sub = {P1: 0}
    if _rem_p2(rows[j][j].subs(sub), pivots[j]) != 0:
        bad.append(f"{where}: the free μ_{j} still enters row {j + 1} at p1 = 0")
    Nb, Db = solve_moments(rows, pivots, j - 1, sub)
    acc = sp.expand(
        sum(rows[j][kk].subs(sub) * Nb[kk] * sp.cancel(Db[j - 1] / Db[kk]) for kk in range(j))
    )
    V = mpoly_from_json(br["V"]["poly"], list(PGENS)).as_expr()
    W = mpoly_from_json(br["W"]["poly"], list(PGENS)).as_expr()
    # μ_{j+1} = V / W with L_{j+1} μ_{j+1} Db[j−1] + acc = 0 (modulo L_j)
    if _rem_p2(V + acc, pivots[j]) != 0 or _rem_p2(W - pivots[j + 1] * Db[j - 1], pivots[j]) != 0:
        bad.append(f"{where}: V, W are not the branch numerator/denominator")
    for nm in ("V", "W"):
        if br[nm]["domain"] != dom or br[nm]["p0_sign"] != p0s:
            bad.append(f"{where}: the {nm} claim is not at this root")
    sv, b1 = check_definite(br["V"], {}, where + " V")
    sw, b2 = check_definite(br["W"], {}, where + " W")
    bad += b1 + b2
    if sv * sw >= 0:
        bad.append(f"{where}: μ_{j + 1} = V/W is not negative")
    return bad


# ---------------------------------------------------------------------------------------------
# r2: reduction to r1
# ---------------------------------------------------------------------------------------------
def make_r2_proof(m: int, r: int, d: int, variant: str, deadline=None) -> dict:
    """An r2 proof at order r: an r1 proof at order r1 ≤ r plus, for the printed variant, the
    step forcing t4 = 0 (order 4, or 2 when m = 1)."""
    r1_proof = None
    for r1_order in range(1, r + 1):  # the lowest order at which an r1 proof exists
        try:
            r1_proof = make_r1_proof(m, r1_order, deadline)
            break
        except ProofNotFoundError:
            continue
    if r1_proof is None:
        raise ProofNotFoundError(f"no r1 proof for m = {m} at order ≤ {r}")
    out = {
        "type": "proof",
        "template": "r2-restriction",
        "kind": "r2",
        "m": m,
        "order": r,
        "d": d,
        "nontrivial": variant,
        "r1_proof": r1_proof,
    }
    if variant == "t4":
        k = 2 if m == 1 else 4  # E_(0,2) = t5² t4 (one component), E_(0,4) = Σ t5² t4²/2 (SOS)
        if k > r:
            raise ProofNotFoundError("the t4 step needs order 4 (2 when m = 1)")
        out["t4_step"] = {
            "equation": r2_label(tuple([0] * d), k),
            "power": k // 2,
            "coefficient": qstr(Fraction(1, factorial(k // 2))),
        }
    return out


def verify_r2_proof(cert: dict, m: int, r: int, d: int, variant: str) -> list[str]:
    bad: list[str] = []
    try:
        if (
            cert.get("template") != "r2-restriction"
            or cert.get("type") != "proof"
            or cert.get("kind") != "r2"
            or cert["m"] != m
            or cert["order"] != r
            or cert["d"] != d
            or cert["nontrivial"] != variant
        ):
            return ["r2 proof: header does not match"]
        r1c = cert["r1_proof"]
        r1o = r1c["order"]
        if isinstance(r1o, bool) or not isinstance(r1o, int):
            return ["r2 proof: the r1 proof's order is not an integer"]
        if r1o > r:
            return ["r2 proof: the r1 proof is of a higher order"]
        sys2 = build_system("r2", m, r, d, variant)
        sys1 = build_system("r1", m, r1o)
        ren = {}
        for i in range(1, m + 1):
            ren[sp.Symbol(f"s1_{i}")] = sp.Symbol(f"t3_{i}")
            ren[sp.Symbol(f"s2_{i}")] = sp.Symbol(f"t4_{i}")
            ren[sp.Symbol(f"s3_{i}")] = sp.Symbol(f"t5_{i}")
        zero = tuple([0] * d)
        for ell in range(1, r1o + 1):
            e1 = sp.Poly(
                sys1.equations[ell - 1].as_expr().subs(ren, simultaneous=True),
                *sys2.gens,
                domain="QQ",
            )
            if e1 != sys2.equation(r2_label(zero, ell)):
                bad.append(f"r2 proof: E_(0,{ell}) of r2 is not E_{ell} of r1 in (t3, t4, t5)")
        bad += ["r1 part: " + x for x in verify_r1_proof(r1c, m, r1o)]
        if variant == "t4":
            st = cert["t4_step"]
            k = 2 * int(st["power"])
            if k > r or (k != 4 and not (m == 1 and k == 2)):
                return bad + ["r2 proof: the t4 step must use E_(0,4) (or E_(0,2) for m = 1)"]
            if st["equation"] != r2_label(zero, k):
                bad.append("r2 proof: the t4 step names another equation")
            c = sp.Rational(str(to_fraction(st["coefficient"])))
            eq = sys2.equation(r2_label(zero, k)).as_expr()
            at0 = sp.expand(eq.subs({sp.Symbol(f"t3_{i}"): 0 for i in range(1, m + 1)}))
            want = sum(
                c * sp.Symbol(f"t5_{i}") ** 2 * sp.Symbol(f"t4_{i}") ** (k // 2)
                for i in range(1, m + 1)
            )
            if not c > 0 or sp.expand(at0 - want) != 0:
                bad.append("r2 proof: E_(0,k) at t3 = 0 is not c Σ t5² t4^(k/2) with c > 0")
    except (KeyError, ValueError, TypeError) as exc:
        bad.append(f"r2 proof: malformed ({exc})")
    return bad
