"""r̄(M): the order at which the r1 / r2 polynomial systems stop having real non-trivial
solutions, with certificates re-checked exactly.

r1(m) (Ho & Nguyen 2016, location–scale Gaussian mixtures): smallest r such that

    Σ_{i=1}^m s3_i² Σ_{n1+2n2=ℓ} s1_i^n1 s2_i^n2 / (n1! n2!) = 0,   ℓ = 1..r,

has no real solution with every s3_i ≠ 0 and some s1_i ≠ 0. The inner sum is the t^ℓ
coefficient of exp(s1 t + s2 t²): the system says Σ_i w_i exp(s1_i t + s2_i t²) = Σ_i w_i +
O(t^{r+1}) with w_i = s3_i² > 0. r2(m) (2305.03288 Lemma 1) is the softmax–Gaussian system in
(t1, …, t5); its ℓ1 = 0 equations are the r1 system, which ties the two (``check_r2_reduction``).

Certificates: a real solution at order r (proving r̄ > r) is exhibited exactly — the
Gauss–Hermite witness, nodes and weights of the m-point Gauss quadrature of N(0, 1), solves
the system at order 2m − 1 for every m; "no real non-trivial solution" at order r (r̄ ≤ r) is a
case analysis with exact identities and exact real-root counts (``m2_proof``). Every claim is
re-checked by ``verify_rbar_json`` from the saved JSON, through the safe formula parser.

Reference: identifiability.md §4; 2505.10860 App. B; Ho & Nguyen 2016 (Ann. Statist.).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import sympy as sp

from moetheory.errors import MoetheoryError
from moetheory.symbolic.parser import Scope, parse_formula


class RbarError(MoetheoryError, ValueError):
    """Bad arguments to the r̄ solver."""


def _sym(name: str, i: int) -> sp.Symbol:
    return sp.Symbol(f"{name}_{i}", real=True)


def r1_system(m: int, r: int) -> list[sp.Expr]:
    """Σ_i s3_i² Σ_{n1+2n2=ℓ} s1_i^n1 s2_i^n2/(n1! n2!) for ℓ = 1..r (Ho & Nguyen 2016)."""
    eqs = []
    for ell in range(1, r + 1):
        total = sp.S.Zero
        for i in range(1, m + 1):
            s1, s2, s3 = _sym("s1", i), _sym("s2", i), _sym("s3", i)
            inner = sum(s1**n1 * s2**n2 / (math.factorial(n1) * math.factorial(n2))
                        for n2 in range(ell // 2 + 1) for n1 in [ell - 2 * n2])
            total += s3**2 * inner
        eqs.append(sp.expand(total))
    return eqs


def r2_system(m: int, r: int) -> list[tuple[tuple[int, int], sp.Expr]]:
    """2305.03288 Lemma 1 with d = 1: one equation per (ℓ1, ℓ2), 1 ≤ ℓ1 + ℓ2 ≤ r."""
    eqs = []
    for total_order in range(1, r + 1):
        for l1 in range(total_order, -1, -1):
            l2 = total_order - l1
            expr = sp.S.Zero
            for i in range(1, m + 1):
                t1, t2, t3, t4, t5 = (_sym(f"t{k}", i) for k in range(1, 6))
                for a2 in range(l1 + 1):
                    a1 = l1 - a2
                    rest = l2 - a2
                    if rest < 0:
                        continue
                    for a4 in range(rest // 2 + 1):
                        a3 = rest - 2 * a4
                        expr += (t5**2 * t1**a1 * t2**a2 * t3**a3 * t4**a4
                                 / (math.factorial(a1) * math.factorial(a2)
                                    * math.factorial(a3) * math.factorial(a4)))
            eqs.append(((l1, l2), sp.expand(expr)))
    return eqs


# -- witnesses: Gauss–Hermite quadrature ----------------------------------------------------
def gauss_hermite_witness(m: int) -> dict[str, sp.Expr]:
    """A real solution of the r1 system at order 2m − 1 (so r̄(m) ≥ 2m).

    All atoms share s2 = −σ²/2 and (s1_i, s3_i²) are the nodes and weights of the m-point
    Gauss quadrature of N(0, σ²): Σ_i w_i e^{s1_i t} = E e^{tZ} + O(t^{2m}) = e^{σ²t²/2} +
    O(t^{2m}), hence Σ_i w_i e^{s1_i t − σ²t²/2} = 1 + O(t^{2m}). Nodes: roots of the Hermite
    polynomial He_m (σ = 1), computed exactly by sympy; the certificate is re-checked exactly.
    """
    x = sp.Symbol("x")
    he = sp.Poly(sp.hermite_prob(m, x), x)
    he_prev = sp.hermite_prob(m - 1, x)
    nodes = [sp.nsimplify(r) if r.is_rational else r for r in sp.roots(he, x, multiple=True)]
    if len(nodes) != m:
        raise RbarError(f"Hermite nodes of degree {m} are not available in radicals")
    out: dict[str, sp.Expr] = {}
    for i, node in enumerate(sorted(nodes, key=lambda e: float(e)), start=1):
        weight = sp.radsimp(sp.factorial(m) / (m**2 * he_prev.subs(x, node) ** 2))
        out[f"s1_{i}"] = sp.radsimp(node)
        out[f"s2_{i}"] = sp.Rational(-1, 2)
        out[f"s3_{i}"] = sp.sqrt(weight)
    return out


def is_exact_zero(expr: sp.Expr) -> bool:
    """Exact zero test for the algebraic numbers of a witness (radicals of rationals)."""
    e = sp.radsimp(sp.expand(expr))
    if e == 0:
        return True
    if not e.free_symbols and e.is_algebraic:
        return sp.minimal_polynomial(e, sp.Symbol("z")) == sp.Symbol("z")
    return False


def check_witness(kind: str, m: int, r: int, values: dict[str, sp.Expr],
                  nontrivial: str = "t4") -> list[str]:
    """Failing claims of an exhibited solution (empty: every claim holds exactly)."""
    subs = {sp.Symbol(k, real=True): v for k, v in values.items()}
    fails = []
    eqs = r1_system(m, r) if kind == "r1" else [e for _, e in r2_system(m, r)]
    for k, e in enumerate(eqs, start=1):
        if not is_exact_zero(e.xreplace(subs)):
            fails.append(f"equation {k} is not 0 at the witness")
    weight = "s3" if kind == "r1" else "t5"
    for i in range(1, m + 1):
        v = values.get(f"{weight}_{i}")
        if v is None or not v.is_real or is_exact_zero(v):
            fails.append(f"{weight}_{i} must be a non-zero real number")
    key = "s1" if kind == "r1" else nontrivial
    if all(is_exact_zero(values.get(f"{key}_{i}", sp.S.Zero)) for i in range(1, m + 1)):
        fails.append(f"non-triviality: every {key}_i is 0")
    return fails


# -- infeasibility for m = 2 ------------------------------------------------------------------
M2_PROOF_ORDER = 4
"""The order at which ``m2_proof`` states its case analysis (equations 1–4)."""

def m2_proof() -> dict[str, str]:
    """No real non-trivial solution of the r1 system for m = 2 at order 4 (any r ≥ 4 follows).

    Cases (w_i = s3_i² > 0): (A) s1_1 = s1_2 = 0: equations 2 and 4 read Σ w s2 = 0 and
    Σ w s2²/2 = 0, so s2 = 0: trivial. (B) otherwise equation 1, Σ w s1 = 0, makes both s1_i
    non-zero; the scaling (s1, s2) → (λ s1, λ² s2) multiplies equation ℓ by λ^ℓ and the
    equations are homogeneous in w, so s1_1 = 1, w_2 = 1, w_1 = s > 0, s1_2 = −s. Equations 2
    and 3 are linear in (s2_1, s2_2) with determinant D(s); solving them and substituting in
    equation 4 leaves G(s) = 0. D and G have no root in (0, ∞) (exact real-root counting).
    """
    s, p, q = sp.symbols("s p q", real=True)
    eqs = r1_system(2, M2_PROOF_ORDER)
    base = {_sym("s1", 1): 1, _sym("s1", 2): -s, _sym("s3", 1): sp.sqrt(s), _sym("s3", 2): 1,
            _sym("s2", 1): p, _sym("s2", 2): q}
    e = [sp.expand(x.xreplace(base)) for x in eqs]
    lin = sp.Matrix([[sp.diff(e[k], v) for v in (p, q)] for k in (1, 2)])
    det = sp.factor(lin.det())
    sol = sp.solve([e[1], e[2]], [p, q], dict=True)[0]
    g = sp.factor(sp.together(e[3].xreplace(sol)))
    return {"p": sp.sstr(sp.factor(sol[p])), "q": sp.sstr(sp.factor(sol[q])),
            "determinant": sp.sstr(det), "G": sp.sstr(g)}


def check_m2_proof(proof: dict[str, str]) -> list[str]:
    s, p, q = sp.symbols("s p q", real=True)
    scope = Scope.declare(scalars=["s"])
    fails = []
    eqs = r1_system(2, M2_PROOF_ORDER)
    zero = {_sym("s1", 1): 0, _sym("s1", 2): 0}
    e2 = sp.expand(eqs[1].xreplace(zero))
    e4 = sp.expand(eqs[3].xreplace(zero))
    if any(sp.expand(x - sum(c * _sym("s3", i) ** 2 * _sym("s2", i) ** k for i in (1, 2))) != 0
           for x, c, k in ((e2, 1, 1), (e4, sp.Rational(1, 2), 2))):
        fails.append("case A: equations 2 and 4 are not Σ w s2 and Σ w s2²/2")
    lam = sp.Symbol("lam", real=True)
    for ell, x in enumerate(eqs, start=1):
        scaled = x.xreplace({_sym("s1", i): lam * _sym("s1", i) for i in (1, 2)}
                            | {_sym("s2", i): lam**2 * _sym("s2", i) for i in (1, 2)})
        if sp.expand(scaled - lam**ell * x) != 0:
            fails.append(f"scaling: equation {ell} is not weighted homogeneous")
    base = {_sym("s1", 1): 1, _sym("s1", 2): -s, _sym("s3", 1): sp.sqrt(s), _sym("s3", 2): 1}
    if sp.expand(eqs[0].xreplace(base)) != 0:
        fails.append("normalisation does not satisfy equation 1")
    pv = parse_formula(proof["p"], scope)
    qv = parse_formula(proof["q"], scope)
    e = [sp.together(x.xreplace(base | {_sym("s2", 1): pv, _sym("s2", 2): qv})) for x in eqs]
    if sp.simplify(e[1]) != 0 or sp.simplify(e[2]) != 0:
        fails.append("the stated (s2_1, s2_2) do not solve equations 2 and 3")
    g = parse_formula(proof["G"], scope)
    if sp.simplify(e[3] - g) != 0:
        fails.append("G is not equation 4 after substitution")
    det = parse_formula(proof["determinant"], scope)
    eb = [sp.expand(x.xreplace(base | {_sym("s2", 1): p, _sym("s2", 2): q})) for x in eqs]
    lin = sp.Matrix([[sp.diff(eb[k], v) for v in (p, q)] for k in (1, 2)])
    if sp.expand(lin.det() - det) != 0:
        fails.append("determinant of equations 2–3 in (s2_1, s2_2) misstated")
    for name, expr in (("determinant", det), ("G", g)):
        num, den = sp.fraction(sp.together(expr))
        for part in (num, den):
            poly = sp.Poly(part, s)
            if poly.degree() > 0 and poly.count_roots(0, None) - (poly.eval(0) == 0) > 0:
                fails.append(f"{name} has a root in (0, ∞)")
    return fails


# -- r2 reduces to r1 -------------------------------------------------------------------------
def check_r2_reduction(m: int, r: int) -> list[str]:
    """Exact identities behind r2(m) = r1(m) for r ≥ 4: the ℓ1 = 0 equations of r2 are the r1
    system in (t3, t4, t5); and with every t3 = 0 the (0, 2) and (0, 4) equations are Σ t5² t4
    and Σ t5² t4²/2, forcing t4 = 0. So an r2 solution at an order where r1 has none has
    t3 = t4 = 0, which both non-triviality variants (some t4 ≠ 0; some t3 ≠ 0) exclude. The
    r1 embedding (t1 = t2 = 0) gives r2 ≥ r1."""
    fails = []
    r1 = r1_system(m, r)
    ren = {}
    for i in range(1, m + 1):
        ren |= {_sym("t3", i): _sym("s1", i), _sym("t4", i): _sym("s2", i),
                _sym("t5", i): _sym("s3", i)}
    by_index = dict(r2_system(m, r))
    for l2 in range(1, r + 1):
        if sp.expand(by_index[(0, l2)].xreplace(ren) - r1[l2 - 1]) != 0:
            fails.append(f"r2 equation (0, {l2}) is not r1 equation {l2}")
    zero3 = {_sym("t3", i): 0 for i in range(1, m + 1)}
    for l2, k, c in ((2, 1, 1), (4, 2, sp.Rational(1, 2))):
        target = sum(c * _sym("t5", i) ** 2 * _sym("t4", i) ** k for i in range(1, m + 1))
        if sp.expand(by_index[(0, l2)].xreplace(zero3) - target) != 0:
            fails.append(f"r2 equation (0, {l2}) at t3 = 0 is not {sp.sstr(target)}")
    embed = {_sym(f"t{k}", i): 0 for k in (1, 2) for i in range(1, m + 1)}
    for (l1, l2), e in by_index.items():
        if l1 > 0 and sp.expand(e.xreplace(embed)) != 0:
            fails.append(f"r2 equation ({l1}, {l2}) does not vanish at t1 = t2 = 0")
    return fails


def _embed(values: dict[str, sp.Expr], m: int) -> dict[str, sp.Expr]:
    out = {}
    for i in range(1, m + 1):
        out |= {f"t1_{i}": sp.S.Zero, f"t2_{i}": sp.S.Zero, f"t3_{i}": values[f"s1_{i}"],
                f"t4_{i}": values[f"s2_{i}"], f"t5_{i}": values[f"s3_{i}"]}
    return out


CONSTRUCTION = {
    "r1": "Gauss–Hermite: (s1_i, s3_i²) = nodes and weights of N(0, 1), every s2_i = −1/2",
    "r2": "the r1 witness embedded: t1 = t2 = 0, (t3, t4, t5) = (s1, s2, s3)",
}


# -- the solver -------------------------------------------------------------------------------
@dataclass
class RbarResult:
    """r̄(M) of a system, or the bounds reached, with its certificate."""

    kind: str
    m: int
    value: int | None
    lower_bound: int
    upper_bound: int | None
    certificate: dict
    seconds: float
    nontrivial: str = "t4"
    notes: list[str] = field(default_factory=list)

    @property
    def status(self) -> str:
        return "exact" if self.value is not None else "bound"

    def to_json(self) -> dict:
        return {"schema": "moetheory.rbar/1", "system": self.kind, "m": self.m,
                "value": self.value, "status": self.status, "lower_bound": self.lower_bound,
                "upper_bound": self.upper_bound, "nontrivial": self.nontrivial,
                "certificate": self.certificate, "seconds": round(self.seconds, 3),
                "notes": list(self.notes)}


def solve_rbar(kind: str, m: int, *, nontrivial: str = "t4") -> RbarResult:
    """r̄(m) of the r1 or r2 system, certified.

    Lower bound: the Gauss–Hermite witness solves the system at order 2m − 1 (r̄ ≥ 2m), checked
    exactly. Upper bound: for m = 2 the case analysis of ``m2_proof`` (r1) and the reduction
    of r2 to r1 (``check_r2_reduction``). For m ≥ 3 no proof of the upper bound is attempted
    here; the result is the bound reached (status "bound").

    Example
    -------
    >>> solve_rbar("r1", 2).value
    4

    Reference: Ho & Nguyen 2016 (Ann. Statist.) for r1; 2305.03288 Lemma 1 for r2;
    identifiability.md §4.
    """
    if kind not in ("r1", "r2"):
        raise RbarError(f"system must be r1 or r2, not {kind!r}")
    if not isinstance(m, int) or m < 2:
        raise RbarError(f"m must be an integer >= 2 (a Voronoi cell of m atoms), got {m!r}")
    if nontrivial not in ("t3", "t4"):
        raise RbarError(f"nontrivial must be t3 or t4, not {nontrivial!r}")
    start = time.perf_counter()
    witness = gauss_hermite_witness(m)
    if kind == "r2":
        witness = _embed(witness, m)
    order = 2 * m - 1
    cert: dict = {"witness": {"order": order, "values": {k: sp.sstr(v) for k, v in
                                                          witness.items()},
                              "construction": CONSTRUCTION[kind]}}
    fails = check_witness(kind, m, order, witness, nontrivial)
    if fails:
        raise RuntimeError(f"internal: witness failed: {fails}")
    value = upper = None
    if m == 2:
        proof = m2_proof()
        fails = check_m2_proof(proof) + (check_r2_reduction(2, M2_PROOF_ORDER)
                                         if kind == "r2" else [])
        if fails:
            raise RuntimeError(f"internal: proof failed its own check: {fails}")
        upper = M2_PROOF_ORDER
        cert["proof"] = {"order": upper, "r1_case_analysis": proof}
        if kind == "r2":
            cert["proof"]["r2_reduction"] = f"check_r2_reduction(2, {upper})"
        value = upper if upper == order + 1 else None
    notes = [] if value is not None else [
        f"upper bound for m = {m} not proved: the real-infeasibility proof is only "
        "implemented for m = 2"]
    return RbarResult(kind, m, value, order + 1, upper, cert, time.perf_counter() - start,
                      nontrivial, notes)


def verify_rbar_json(data: dict) -> tuple[bool, list[str]]:
    """Re-check a saved r̄ result exactly, without trusting the solver: the witness solves the
    system at its order, the proof's identities and root counts hold, and the claimed value
    and bounds follow from them. Returns (ok, failing claims)."""
    fails: list[str] = []
    try:
        kind, m = data["system"], int(data["m"])
        nontrivial = data.get("nontrivial", "t4")
        w = data["certificate"]["witness"]
        order = int(w["order"])
        scope = Scope.declare(scalars=[])
        values = {k: parse_formula(v, scope) for k, v in w["values"].items()}
    except (KeyError, TypeError, ValueError, MoetheoryError) as exc:
        return False, [f"malformed r̄ result: {exc}"]
    if kind not in ("r1", "r2") or m < 2:
        return False, ["system must be r1 or r2 and m >= 2"]
    fails += [f"witness: {f}" for f in check_witness(kind, m, order, values, nontrivial)]
    if data.get("lower_bound") != order + 1:
        fails.append(f"lower bound {data.get('lower_bound')} does not follow from a witness at "
                     f"order {order}")
    proof = data["certificate"].get("proof")
    claimed = data.get("value")
    if claimed is not None or data.get("upper_bound") is not None:
        if proof is None or m != 2 or int(proof.get("order", -1)) != M2_PROOF_ORDER:
            fails.append("an upper bound is claimed without a proof this verifier knows")
        else:
            fails += [f"proof: {f}" for f in check_m2_proof(proof["r1_case_analysis"])]
            if kind == "r2":
                fails += [f"reduction: {f}" for f in check_r2_reduction(m, M2_PROOF_ORDER)]
            if data.get("upper_bound") != M2_PROOF_ORDER:
                fails.append("the upper bound must equal the proof's order")
        if claimed is not None and claimed != data.get("lower_bound"):
            fails.append("value claimed but the bounds differ")
    return not fails, fails


_CACHE: dict[tuple[str, int], int | None] = {}


def rbar_value(m: int, kind: str = "r2") -> int | None:
    """r̄(m) when the solver proves it (witness and proof, both re-checked), else None."""
    key = (kind, m)
    if key not in _CACHE:
        result = solve_rbar(kind, m)
        ok, _ = verify_rbar_json(result.to_json())
        _CACHE[key] = result.value if ok else None
    return _CACHE[key]
