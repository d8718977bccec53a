"""Lower-bound certificates of the r̄ solver: exhibited real solutions (so r̄ > r), exact.

Construction (r1): Gauss–Hermite quadrature. With nodes x_i the roots of the probabilists'
Hermite polynomial He_m and weights w_i ∝ 1/He_{m−1}(x_i)², the rule is exact for polynomials of
degree ≤ 2m − 1 under N(0, 1), i.e. Σ_i w_i He_ℓ(x_i) = 0 for 1 ≤ ℓ ≤ 2m − 1. Since the t^ℓ
coefficient of exp(a t − t²/2) is He_ℓ(a)/ℓ!, the point s1_i = x_i, s2_i = −1/2, s3_i² = w_i
solves the r1 system at order 2m − 1 (m ≥ 2; for m = 1 the node is 0, which is trivial). The
weighted scaling s1 → λ s1, s2 → λ² s2 makes the m = 2, 3 witnesses rational
(m = 3: s1 = (−1, 0, 1), s2 = −1/6, s3 = (1, 2, 1)). r2 witnesses embed r1 ones with t1 = t2 = 0
(t3, t4, t5) = (s1, s2, s3); at order 1 the printed variant also has t4 = 1, everything else 0.

Two exact formats are verified:

* ``rational`` — every coordinate a rational (the family entering through its square, s3 / t5,
  given by its square w > 0, so s3 = √w is real and non-zero);
* ``root_orbit`` — component i ↔ the i-th real root x_i of a squarefree P ∈ ℚ[x] with m real
  roots; each coordinate is a rational function of x_i. A symmetric sum Σ_i φ(x_i) is the trace of
  φ in ℚ[x]/(P), computed exactly from Newton power sums, so every residual is checked to be
  exactly 0 without leaving ℚ.

Example::

    >>> w = gauss_hermite_witness("r1", 2, 3)
    >>> verify_witness(w)
    []

References: Ho & Nguyen 2016, Ann. Statist.; 2305.03288 Lemma 1; 2505.10860 App. B.
"""

from __future__ import annotations

from fractions import Fraction

import sympy as sp
from flint import fmpq, fmpq_poly

from moetheory.errors import MoetheoryError
from moetheory.rbar.exact import (
    check_isolating,
    count_roots,
    inverse_mod,
    isolate_real_roots,
    q,
    qstr,
    sign_at_root,
    to_fraction,
    trace_mod,
    upoly,
    upoly_json,
)
from moetheory.rbar.system import RbarSystem, build_system


def hermite_prob(n: int) -> fmpq_poly:
    """Probabilists' Hermite polynomial He_n (He_{n+1} = x He_n − n He_{n−1})."""
    x = fmpq_poly([0, 1])
    a, b = fmpq_poly([1]), x
    if n == 0:
        return a
    for k in range(1, n):
        a, b = b, x * b - k * a
    return b


def _component_of(name: str) -> int:
    return int(name.split("_")[1])


# ---------------------------------------------------------------------------------------------
# construction
# ---------------------------------------------------------------------------------------------
def _r1_orbit(m: int) -> tuple[fmpq_poly, dict[str, list[tuple[fmpq_poly, fmpq_poly]]]]:
    P = hermite_prob(m)
    h = hermite_prob(m - 1)
    one = fmpq_poly([1])
    maps = {
        "s1": [(fmpq_poly([0, 1]), one)],
        "s2": [(fmpq_poly([fmpq(-1, 2)]), one)],
        "s3": [(one, h * h)],
    }
    return P, maps


def _rational_points(m: int) -> dict[str, list[Fraction]] | None:
    """The Gauss–Hermite point scaled to rationals when the nodes are rational multiples of one
    √c (true for m = 2, 3), else None."""
    x = sp.Symbol("x")
    P = sum(
        (sp.Rational(int(c.p), int(c.q)) * x**k for k, c in enumerate(hermite_prob(m).coeffs())),
        sp.Integer(0),
    )
    roots = sp.Poly(P, x).all_roots()
    r0 = max(roots, key=lambda r: abs(sp.N(r)))
    c = sp.nsimplify(sp.simplify(r0**2))
    if not c.is_Rational or c <= 0:
        return None
    ys = [sp.nsimplify(sp.simplify(r / r0)) for r in roots]
    if not all(y.is_Rational for y in ys):
        return None
    h = sum(
        (
            sp.Rational(int(cc.p), int(cc.q)) * x**k
            for k, cc in enumerate(hermite_prob(m - 1).coeffs())
        ),
        sp.Integer(0),
    )
    ws = [sp.nsimplify(sp.simplify(1 / h.subs(x, r) ** 2)) for r in roots]
    if not all(w.is_Rational and w > 0 for w in ws):
        return None
    scale = sp.lcm([sp.Rational(w).q for w in ws])
    ws = [w * scale for w in ws]
    g = sp.gcd([sp.Rational(w).p for w in ws])
    ws = [w / g for w in ws]
    order = sorted(range(m), key=lambda i: ys[i])
    return {
        "s1": [to_fraction(sp.Rational(ys[i])) for i in order],
        "s2": [Fraction(-1, 2) / to_fraction(sp.Rational(c))] * m,
        "w": [to_fraction(sp.Rational(ws[i])) for i in order],
    }


def _square_root_if_rational(w: Fraction) -> Fraction | None:
    import math

    n, d = w.numerator, w.denominator
    rn, rd = math.isqrt(n), math.isqrt(d)
    return Fraction(rn, rd) if rn * rn == n and rd * rd == d else None


def _header(sysm: RbarSystem) -> dict:
    return {
        "type": "witness",
        "kind": sysm.kind,
        "m": sysm.m,
        "order": sysm.r,
        "d": sysm.d,
        "nontrivial": sysm.nontrivial,
    }


def rational_witness(
    sysm: RbarSystem, values: dict[str, Fraction], squares: dict[str, Fraction]
) -> dict:
    disp = {k: qstr(v) for k, v in values.items()}
    for k, w in squares.items():
        r = _square_root_if_rational(w)
        disp[k] = qstr(r) if r is not None else f"sqrt({qstr(w)})"
    return _header(sysm) | {
        "format": "rational",
        "values": {k: qstr(v) for k, v in values.items()},
        "squares": {k: qstr(v) for k, v in squares.items()},
        "display": disp,
    }


def _embed_r2(
    values1: dict[str, Fraction], squares1: dict[str, Fraction], m: int, d: int
) -> tuple[dict, dict]:
    vals, sq = {}, {}
    for i in range(1, m + 1):
        for f in ("t1", "t2"):
            for name in [f"{f}_{i}"] if d == 1 else [f"{f}_{i}_{k}" for k in range(1, d + 1)]:
                vals[name] = Fraction(0)
        vals[f"t3_{i}"] = values1[f"s1_{i}"]
        vals[f"t4_{i}"] = values1[f"s2_{i}"]
        sq[f"t5_{i}"] = squares1[f"s3_{i}"]
    return vals, sq


def gauss_hermite_witness(kind: str, m: int, r: int, d: int = 1, nontrivial: str = "t4") -> dict:
    """The Gauss–Hermite witness at order r ≤ 2m − 1 (m ≥ 2), rational when possible."""
    if m < 2 or r > 2 * m - 1:
        raise ValueError("Gauss–Hermite witnesses exist for m ≥ 2 at orders ≤ 2m − 1")
    sysm = build_system(kind, m, r, d, nontrivial)
    pts = _rational_points(m) if m <= 6 else None
    if pts is not None:
        values1 = {f"s1_{i + 1}": pts["s1"][i] for i in range(m)}
        values1 |= {f"s2_{i + 1}": pts["s2"][i] for i in range(m)}
        squares1 = {f"s3_{i + 1}": pts["w"][i] for i in range(m)}
        if kind == "r1":
            return rational_witness(sysm, values1, squares1) | {"construction": "gauss-hermite"}
        vals, sq = _embed_r2(values1, squares1, m, d)
        return rational_witness(sysm, vals, sq) | {"construction": "gauss-hermite (t1 = t2 = 0)"}
    P, maps = _r1_orbit(m)
    if kind == "r2":
        zero, one = fmpq_poly([]), fmpq_poly([1])
        maps = {
            "t1": [(zero, one)] * d,
            "t2": [(zero, one)] * d,
            "t3": maps["s1"],
            "t4": maps["s2"],
            "t5": maps["s3"],
        }
    roots = isolate_real_roots(P, Fraction(1, 1024))
    return _header(sysm) | {
        "format": "root_orbit",
        "construction": "gauss-hermite",
        "poly": upoly_json(P),
        "roots": [[qstr(lo), qstr(hi)] for lo, hi in roots],
        "maps": {
            f: [{"num": upoly_json(n), "den": upoly_json(dd)} for n, dd in lst]
            for f, lst in maps.items()
        },
        "display": {
            "P": str(
                sp.Poly(
                    list(reversed([sp.Rational(int(c.p), int(c.q)) for c in P.coeffs()])),
                    sp.Symbol("x"),
                ).as_expr()
            ),
            "note": "component i uses the i-th real root x_i of P (CRootOf(P, i-1)); "
            "the map of the squared family gives its square",
        },
    }


def pure_t4_witness(m: int, d: int = 1) -> dict:
    """r2, printed variant, order 1: t4 = 1, t5 = 1, everything else 0."""
    sysm = build_system("r2", m, 1, d, "t4")
    vals = {str(g): Fraction(0) for g in sysm.gens if not str(g).startswith("t5")}
    for i in range(1, m + 1):
        vals[f"t4_{i}"] = Fraction(1)
    sq = {f"t5_{i}": Fraction(1) for i in range(1, m + 1)}
    return rational_witness(sysm, vals, sq) | {"construction": "order-1 equations omit t4"}


# ---------------------------------------------------------------------------------------------
# verification
# ---------------------------------------------------------------------------------------------
def _even_in(poly: sp.Poly, idxs: list[int]) -> bool:
    return all(e[k] % 2 == 0 for e, _ in poly.terms() for k in idxs)


def verify_witness(obj: dict) -> list[str]:
    """Failures of a witness certificate (empty list = verified): the system is rebuilt from its
    header, every residual is computed exactly and must be 0, and non-triviality is checked."""
    try:
        if obj.get("type") != "witness":
            return ["witness: type must be 'witness'"]
        sysm = build_system(
            obj["kind"],
            int(obj["m"]),
            int(obj["order"]),
            int(obj.get("d", 1)),
            obj.get("nontrivial", "t4") if obj["kind"] == "r2" else "t4",
        )
        fmt = obj["format"]
        if fmt == "rational":
            return _verify_rational(obj, sysm)
        if fmt == "root_orbit":
            return _verify_orbit(obj, sysm)
        return [f"witness: unknown format {fmt!r}"]
    except (KeyError, ValueError, TypeError, ZeroDivisionError) as exc:
        return [f"witness: malformed ({exc})"]


def _verify_rational(obj: dict, sysm: RbarSystem) -> list[str]:
    bad = []
    sqfam = [n for comp in sysm.families[sysm.nonzero_family] for n in comp]
    vals = {k: q(v) for k, v in obj["values"].items()}
    sq = {k: q(v) for k, v in obj["squares"].items()}
    names = [str(g) for g in sysm.gens]
    if set(vals) != set(names) - set(sqfam) or set(sq) != set(sqfam):
        return ["witness: the values do not cover exactly the system's variables"]
    for k, w in sq.items():
        if not w > 0:
            bad.append(f"witness: {k}² = {qstr(w)} is not positive ({k} must be real, ≠ 0)")
    some = [n for comp in sysm.families[sysm.some_family] for n in comp]
    if all(vals[n] == 0 for n in some):
        bad.append(f"witness: every {sysm.some_family} entry is 0 (trivial)")
    sq_idx = [names.index(n) for n in sqfam]
    for label, eq in zip(sysm.labels, sysm.equations, strict=True):
        if not _even_in(eq, sq_idx):
            bad.append(f"witness: {label} is not a polynomial in the squares of {sqfam}")
            continue
        total = fmpq(0)
        for e, c in eq.terms():
            term = q(sp.Rational(c))
            for k, ex in enumerate(e):
                if ex:
                    n = names[k]
                    term *= sq[n] ** (ex // 2) if n in sq else vals[n] ** ex
            total += term
        if total != 0:
            bad.append(f"witness: residual of {label} is {qstr(total)} ≠ 0")
    if "display" in obj:
        shown = obj["display"]
        if not isinstance(shown, dict) or set(shown) != set(vals) | set(sq):
            return [*bad, "witness: display must show every value and square root"]
        for k, v in vals.items():
            if shown[k] != qstr(v):
                bad.append(f"witness: displayed {k} = {shown[k]!r} is not the value {qstr(v)}")
        for k, w in sq.items():
            r = shown[k]
            if r != f"sqrt({qstr(w)})" and not _is_root(r, w):
                bad.append(
                    f"witness: displayed {k} = {r!r} is not a positive square root of {qstr(w)}"
                )
    return bad


def _is_root(text: object, square: fmpq) -> bool:
    """``text`` is the exact positive square root of ``square`` written as 'p' or 'p/q'."""
    try:
        r = q(text)
    except (TypeError, MoetheoryError):
        return False
    return r > 0 and r**2 == square


def _verify_orbit(obj: dict, sysm: RbarSystem) -> list[str]:
    bad: list[str] = []
    P = upoly(obj["poly"])
    m = sysm.m
    if P.degree() != m or P.gcd(P.derivative()).degree() != 0:
        return ["witness: P must be squarefree of degree m"]
    if count_roots(P, None, None) != m:
        return ["witness: P must have m distinct real roots"]
    ivs = [(to_fraction(a), to_fraction(b)) for a, b in obj["roots"]]
    if (
        len(ivs) != m
        or any(not check_isolating(P, a, b) for a, b in ivs)
        or any(b1 > a2 for (_, b1), (a2, _) in zip(ivs, ivs[1:], strict=False))
    ):
        bad.append("witness: the root intervals do not isolate the m roots in order")
    maps: dict[str, list[tuple[fmpq_poly, fmpq_poly]]] = {}
    for f, lst in obj["maps"].items():
        maps[f] = [(upoly(x["num"]), upoly(x["den"])) for x in lst]
    for f, comps in sysm.families.items():
        if len(maps.get(f, [])) != len(comps[0]):
            return bad + [f"witness: family {f} needs {len(comps[0])} coordinate map(s)"]
    red: dict[str, list[fmpq_poly]] = {}
    for f, lst in maps.items():
        red[f] = []
        for num, den in lst:
            if den.is_zero():
                return bad + [f"witness: zero denominator in family {f}"]
            red[f].append((num * inverse_mod(den, P)) % P)
    # non-zero family: num/den > 0 at every root
    for num, den in maps[sysm.nonzero_family]:
        for a, b in ivs:
            if sign_at_root(num, P, a, b) * sign_at_root(den, P, a, b) <= 0:
                bad.append(f"witness: {sysm.nonzero_family}² is not positive at a root")
    if all((n % P).is_zero() for n, _ in maps[sysm.some_family]):
        bad.append(f"witness: {sysm.some_family} vanishes at every root (trivial)")
    names = [str(g) for g in sysm.gens]
    sqfam = sysm.nonzero_family
    for label, eq in zip(sysm.labels, sysm.equations, strict=True):
        comp_terms: dict[int, dict] = {}
        for e, c in eq.terms():
            components = {_component_of(names[k]) for k, ex in enumerate(e) if ex}
            if len(components) != 1:
                bad.append(f"witness: {label} is not a sum over components")
                break
            comp_terms.setdefault(components.pop(), {})[e] = c
        else:
            # φ_i must be φ_1 renamed
            def key(i: int, e: tuple[int, ...]) -> tuple:
                return tuple(
                    sorted(
                        (names[k].split("_")[0] + "_" + "_".join(names[k].split("_")[2:]), ex)
                        for k, ex in enumerate(e)
                        if ex
                    )
                )

            forms = {i: {key(i, e): c for e, c in t.items()} for i, t in comp_terms.items()}
            if set(forms) != set(range(1, m + 1)) or any(forms[i] != forms[1] for i in forms):
                bad.append(f"witness: {label} is not symmetric over the components")
                continue
            total = fmpq_poly([0])
            for e, c in comp_terms[1].items():
                term = fmpq_poly([q(sp.Rational(c))])
                for k, ex in enumerate(e):
                    if not ex:
                        continue
                    parts = names[k].split("_")
                    fam = parts[0]
                    coord = int(parts[2]) - 1 if len(parts) > 2 else 0
                    if fam == sqfam:
                        if ex % 2:
                            bad.append(f"witness: {label} has an odd power of {fam}")
                            continue
                        term = (term * red[fam][coord] ** (ex // 2)) % P
                    else:
                        term = (term * red[fam][coord] ** ex) % P
                total = (total + term) % P
            tr = trace_mod(total, P)
            if tr != 0:
                bad.append(f"witness: residual of {label} is {qstr(tr)} ≠ 0")
    return bad
