"""r̄(m): the order of the polynomial systems that set the slow rates of over-fitted Gaussian
(r1) and softmax-gated Gaussian (r2) mixtures — computed with exact certificates.

Definitions (identifiability.md §4; Ho & Nguyen 2016, Ann. Statist.; 2305.03288 Lemma 1;
restated in 2505.10860 App. B). For m components and order r:

* r1: ``Σ_i s3_i² Σ_{n1+2n2=ℓ} s1_i^{n1} s2_i^{n2}/(n1! n2!) = 0`` for ℓ = 1..r — the t^ℓ
  coefficients of Σ_i s3_i² exp(s1_i t + s2_i t²); non-trivial: all s3_i ≠ 0, some s1_i ≠ 0.
* r2: ``Σ_i t5_i² Σ_{α∈I(ℓ1,ℓ2)} t1^α1 t2^α2 t3^α3 t4^α4/α! = 0`` for 1 ≤ |ℓ1| + ℓ2 ≤ r — the
  x^{ℓ1} y^{ℓ2} coefficients of Σ t5² exp(t1·x + (t2·x) y + t3 y + t4 y²); non-trivial: all
  t5_i ≠ 0 and some t4_i ≠ 0 (printed, ``nontrivial="t4"``) or some t3_i ≠ 0 (``"t3"``).

r̄(m) is the smallest r at which the system has no non-trivial **real** solution.

Certificates (every one re-verified exactly by :func:`verify_rbar_json`):

* **witness at order r** (proves r̄ > r): an exhibited real solution — rationals, or the m real
  roots of a squarefree P ∈ ℚ[x] — whose residuals are computed exactly and are 0 (Gauss–Hermite
  construction, see :mod:`moetheory.rbar.witness`);
* **proof at order r** (proves r̄ ≤ r): the structured argument of
  :mod:`moetheory.rbar.proof` (moment form, merging of equal points, parabola / line
  interpolation, Hankel positivity, explicit cofactor identities, Sturm sign counts). Proof
  templates exist for r1 with m ≤ 3 and, by reduction, for r2 with m ≤ 3 and any d.

``lower_bound`` = 1 + the largest order with a verified witness (1 when there is none: orders
start at 1); ``upper_bound`` = the order of a verified proof (None if none); ``value`` = r̄ when
the two meet (status "exact"), else None with status "bound" (some certificate) or "unknown".

Example::

    >>> res = solve_rbar("r1", 2)
    >>> res.value, res.status
    (4, 'exact')
    >>> verify_rbar_json(res.to_json())[0]
    True

Mathematical remark (not a machine-checked certificate): the real system at order 2m has no
non-trivial solution for every m (a signed combination of m + 1 Gaussians has ≤ 2m zeros —
Kalai, Moitra & Valiant 2010 — while vanishing moments of orders 0..2m force ≥ 2m + 1 sign
changes), and Gauss–Hermite gives solutions at 2m − 1, so r1(m) = 2m for m ≥ 2; the solver
reports only what its certificates prove.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sympy as sp

from moetheory.limits import LimitError
from moetheory.rbar.proof import (
    MAX_PROOF_M,
    ProofNotFoundError,
    make_r1_proof,
    make_r2_proof,
    verify_r1_proof,
    verify_r2_proof,
)
from moetheory.rbar.system import (
    RbarError,
    RbarSystem,
    build_system,
    check_args,
)
from moetheory.rbar.witness import gauss_hermite_witness, pure_t4_witness, verify_witness

__all__ = [
    "RbarError",
    "RbarResult",
    "RbarSystem",
    "compare_r2_r1",
    "rbar_value",
    "solve_rbar",
    "system",
    "verify_rbar_json",
]

SCHEMA = "moetheory.rbar/1"


def system(kind: str, m: int, r: int, d: int = 1, nontrivial: str = "t4") -> RbarSystem:
    """The r̄ polynomial system (sympy ``Poly`` over ℚ; iterate it for the equations).

    Variables are named as in the reference: ``s1_i, s2_i, s3_i`` (r1) and ``t1_i .. t5_i``
    (r2, d = 1; ``t1_i_k, t2_i_k`` for d > 1). ``nontrivial`` ("t4" as printed, or "t3") only
    matters for r2; r1's condition is fixed (some s1_i ≠ 0).

    Example::

        >>> [str(e.as_expr()) for e in system("r1", 1, 2)]
        ['s1_1*s3_1**2', 's1_1**2*s3_1**2/2 + s2_1*s3_1**2']

    Reference: Ho & Nguyen 2016, Ann. Statist.; 2305.03288 Lemma 1; 2505.10860 App. B.
    """
    return build_system(kind, m, r, d, "t4" if kind == "r1" else nontrivial)


# ---------------------------------------------------------------------------------------------
# deadline
# ---------------------------------------------------------------------------------------------
class _DeadlineExceededError(Exception):
    pass


class Deadline:
    """A wall-clock budget checked between steps (works in any thread; no signals)."""

    def __init__(self, seconds: float | None):
        self.start = time.monotonic()
        self.end = None if seconds is None else self.start + float(seconds)

    def check(self) -> None:
        if self.end is not None and time.monotonic() > self.end:
            raise _DeadlineExceededError

    def left(self) -> float:
        return math.inf if self.end is None else self.end - time.monotonic()

    def elapsed(self) -> float:
        return time.monotonic() - self.start


# ---------------------------------------------------------------------------------------------
# result
# ---------------------------------------------------------------------------------------------
@dataclass
class RbarResult:
    """What :func:`solve_rbar` proved.

    ``certificates`` maps an order r to a witness (r̄ > r) or a proof (r̄ ≤ r) certificate (plain
    JSON data). ``evidence`` holds numerical, non-certified observations (best residual of a
    seeded random-restart search) for orders left open.
    """

    kind: str
    m: int
    d: int
    nontrivial: str
    value: int | None
    lower_bound: int
    upper_bound: int | None
    status: str
    certificates: dict[int, dict]
    seconds: float
    seed: int
    max_order: int
    notes: list[str] = field(default_factory=list)
    evidence: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict:
        """JSON-serialisable record (polynomials as exponent/coefficient tables plus sympy
        strings, numbers as exact strings) that :func:`verify_rbar_json` re-checks."""
        return {
            "schema": SCHEMA,
            "kind": self.kind,
            "m": self.m,
            "d": self.d,
            "nontrivial": self.nontrivial,
            "value": self.value,
            "lower_bound": self.lower_bound,
            "upper_bound": self.upper_bound,
            "status": self.status,
            "max_order": self.max_order,
            "certificate": {str(k): v for k, v in sorted(self.certificates.items())},
            "seconds": round(self.seconds, 3),
            "seed": self.seed,
            "notes": list(self.notes),
            "evidence": self.evidence,
            "definition": (
                "lower_bound = 1 + largest order with a verified witness (1 if "
                "none); upper_bound = order of a verified proof; value = r̄ "
                "when they meet"
            ),
        }


# ---------------------------------------------------------------------------------------------
# solver
# ---------------------------------------------------------------------------------------------
def _witness_top(kind: str, m: int, nontrivial: str) -> int:
    if m >= 2:
        return 2 * m - 1
    if kind == "r2" and nontrivial == "t4":
        return 1
    return 0


def _witness(kind: str, m: int, r: int, d: int, nontrivial: str) -> dict:
    if m >= 2:
        return gauss_hermite_witness(kind, m, r, d, nontrivial)
    return pure_t4_witness(m, d)


def _proof(kind: str, m: int, r: int, d: int, nontrivial: str, deadline: Deadline) -> dict:
    if kind == "r1":
        return make_r1_proof(m, r, deadline)
    return make_r2_proof(m, r, d, nontrivial, deadline)


def _verify_cert(cert: dict, kind: str, m: int, r: int, d: int, nontrivial: str) -> list[str]:
    if not isinstance(cert, dict):
        return [f"order {r}: a certificate object expected"]
    if cert.get("type") == "witness":
        hdr = [cert.get("kind"), cert.get("m"), cert.get("order"), cert.get("d", 1)]
        if json.dumps(hdr) != json.dumps([kind, m, r, d]) or (
            kind == "r2" and cert.get("nontrivial") != nontrivial
        ):
            return [f"order {r}: the witness is for another system {hdr}"]
        return verify_witness(cert)
    if cert.get("type") == "proof":
        if kind == "r1":
            return verify_r1_proof(cert, m, r)
        return verify_r2_proof(cert, m, r, d, nontrivial)
    return [f"order {r}: unknown certificate type {cert.get('type')!r}"]


def solve_rbar(
    kind: str,
    m: int,
    *,
    seconds: float = 300.0,
    d: int = 1,
    max_order: int | None = None,
    seed: int = 0,
    nontrivial: str = "t4",
    numeric_restarts: int = 0,
) -> RbarResult:
    """Compute r̄(m) of the r1 or r2 system with certificates (see the module docstring).

    For every order r ≤ min(max_order, 2m − 1) an exact Gauss–Hermite witness is exhibited and
    verified; at the next order a proof is attempted (r1: m ≤ 3; r2: m ≤ 3, by reduction to r1)
    and verified. ``seconds`` is a wall-clock budget checked between steps (no signals, so any
    thread works); on expiry the bound proven so far is returned. ``max_order`` (default 2m + 1)
    caps the orders examined. ``numeric_restarts`` > 0 adds a seeded random-restart least-squares
    search at the first open order, reported under ``evidence`` (never as a certificate).

    Example: ``solve_rbar("r1", 3).value == 6`` (the paper's r̄(3)); ``solve_rbar("r1", 4)``
    returns status "bound" with lower_bound 8.

    Raises :class:`RbarError` for an unknown kind or variant, m < 1, d < 1 or max_order < 1.
    Reference: Ho & Nguyen 2016, Ann. Statist.; 2305.03288 Lemma 1; 2505.10860 App. B.
    """
    check_args(kind, m, None, d, nontrivial)
    if kind == "r1":
        if d != 1:
            raise RbarError("the r1 system has no dimension parameter: use d = 1")
        nontrivial = "s1"
    elif nontrivial not in ("t4", "t3"):
        raise RbarError("r2 takes nontrivial='t4' (as printed) or 't3'")
    if max_order is None:
        max_order = 2 * m + 1
    if not isinstance(max_order, int) or isinstance(max_order, bool) or max_order < 1:
        raise RbarError(f"max_order must be an integer ≥ 1, got {max_order!r}")
    dl = Deadline(seconds)
    certs: dict[int, dict] = {}
    notes: list[str] = []
    evidence: dict[str, Any] = {}
    lower, upper = 1, None
    try:
        top = min(_witness_top(kind, m, nontrivial), max_order)
        for r in range(1, top + 1):
            dl.check()
            cert = _witness(kind, m, r, d, nontrivial)
            bad = _verify_cert(cert, kind, m, r, d, nontrivial)
            if bad:  # pragma: no cover - the construction is exact
                notes.append(f"order {r}: witness rejected: {bad[:2]}")
                break
            certs[r] = cert
            lower = r + 1
        if lower <= max_order:
            dl.check()
            try:
                cert = _proof(kind, m, lower, d, nontrivial, dl)
                bad = _verify_cert(cert, kind, m, lower, d, nontrivial)
                if bad:
                    notes.append(f"order {lower}: proof rejected by the verifier: {bad[:3]}")
                else:
                    certs[lower] = cert
                    upper = lower
            except ProofNotFoundError as exc:
                notes.append(f"order {lower}: no proof ({exc})")
        if upper is None and numeric_restarts > 0 and lower <= max_order:
            evidence[str(lower)] = numeric_search(
                kind, m, lower, d, nontrivial, seed, numeric_restarts, dl
            )
    except _DeadlineExceededError:
        notes.append(f"time limit of {seconds} s reached")
    value = lower if upper == lower else None
    status = "exact" if value is not None else ("bound" if certs else "unknown")
    if upper is None and kind == "r1" and m >= 4:
        notes.append(
            "no machine-checked proof template for m ≥ 4; mathematically r1(m) = 2m "
            "(see the module docstring), which this result does not certify"
        )
    return RbarResult(
        kind,
        m,
        d,
        nontrivial,
        value,
        lower,
        upper,
        status,
        certs,
        dl.elapsed(),
        seed,
        max_order,
        notes,
        evidence,
    )


# ---------------------------------------------------------------------------------------------
# numerical evidence (never a certificate)
# ---------------------------------------------------------------------------------------------
def numeric_search(
    kind: str,
    m: int,
    r: int,
    d: int,
    nontrivial: str,
    seed: int,
    restarts: int,
    deadline: Deadline | None = None,
) -> dict:
    """Seeded random-restart least squares for an admissible real solution at order r.

    Unknowns: the non-squared families and log-weights (s3² = e^{2z} > 0). Each residual is
    relative — divided by Σ_i w_i ρ_i^ℓ with ρ_i a weighted size of component i (s2, t4 count
    as squares) — so it is invariant under both scalings and cannot be driven to 0 by shrinking
    a weight or a component; a tiny value means a genuine near-solution. Returns
    {'seed', 'restarts', 'best_residual', 'best_point'} (floats: evidence only)."""
    from scipy.optimize import least_squares

    sysm = build_system(kind, m, r, d, "t4" if kind == "r1" else nontrivial)
    names = [str(g) for g in sysm.gens]
    sq = [n for c in sysm.families[sysm.nonzero_family] for n in c]
    free = [n for n in names if n not in sq]
    funcs = [sp.lambdify(sysm.gens, e.as_expr(), "numpy") for e in sysm.equations]
    rng = np.random.default_rng(seed)

    def point(x: np.ndarray) -> list[float]:
        vals = dict(zip(free, x[: len(free)], strict=True))
        vals |= {n: float(np.exp(z)) for n, z in zip(sq, x[len(free) :], strict=True)}
        return [vals[n] for n in names]

    comp = {n: int(n.split("_")[1]) for n in names}
    orders = [_order_of(lab) for lab in sysm.labels]

    def resid(x: np.ndarray) -> np.ndarray:
        pt = point(x)
        vals = dict(zip(names, pt, strict=True))
        # relative residual: E / Σ_i w_i ρ_i^order with ρ_i a weighted size of component i
        size = np.zeros(m)
        for n in free:
            fam = n.split("_")[0]
            wgt = 2.0 if fam in ("s2", "t4") else 1.0
            size[comp[n] - 1] += abs(vals[n]) ** (2.0 / wgt)
        w = np.array([vals[n] for n in sq]) ** 2
        out = []
        for f, o in zip(funcs, orders, strict=True):
            den = float(np.sum(w * (size + 1e-300) ** (o / 2.0)))
            out.append(f(*pt) / den)
        return np.array(out)

    best = (math.inf, None)
    done = 0
    for _ in range(restarts):
        if deadline is not None and deadline.left() < 0.5:
            break
        x0 = np.concatenate([rng.normal(size=len(free)), rng.normal(scale=0.5, size=len(sq))])
        sol = least_squares(resid, x0, xtol=1e-14, ftol=1e-14, max_nfev=2000)
        done += 1
        val = float(np.linalg.norm(sol.fun))
        if val < best[0]:
            best = (val, sol.x)
    return {
        "seed": seed,
        "restarts": done,
        "best_residual": best[0],
        "best_point": None
        if best[1] is None
        else dict(zip(names, map(float, point(best[1])), strict=True)),
    }


def _order_of(label: str) -> int:
    if label.startswith("l="):
        return int(label[2:])
    l1, l2 = label.split(",l2=")
    body = l1[3:].strip("()")
    return sum(int(x) for x in body.split(",")) + int(l2)


# ---------------------------------------------------------------------------------------------
# verification of a JSON record
# ---------------------------------------------------------------------------------------------
MAX_RECORD_ORDER = 64
"""Largest order a certificate read from a file may be for."""
MAX_RECORD_M = 16
"""Largest number of components m a record read from a file may be for."""
MAX_RECORD_D = 3
"""Largest dimension d a record read from a file may be for."""


def _whole(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"an integer expected, got {type(value).__name__}")
    return value


def _order_key(key: str) -> int:
    if not (isinstance(key, str) and key.isdigit() and int(key) <= MAX_RECORD_ORDER):
        raise ValueError(f"certificate orders are integers from 0 to {MAX_RECORD_ORDER}")
    return int(key)


def verify_rbar_json(obj: dict) -> tuple[bool, list[str]]:
    """Re-check a :meth:`RbarResult.to_json` record exactly, trusting nothing the solver did.

    Every certificate is re-verified (systems rebuilt from their definition, residuals and
    identities recomputed, sign facts re-counted with Sturm sequences); then the claimed
    ``value``, ``lower_bound``, ``upper_bound`` and ``status`` must follow from the verified
    certificates. Returns (all claims verified, list of failing claims).
    """
    fails: list[str] = []
    try:
        kind, m, d = obj["kind"], _whole(obj["m"]), _whole(obj.get("d", 1))
        nontrivial = obj.get("nontrivial", "t4")
        check_args(kind, m, None, d, nontrivial)
        if m > MAX_RECORD_M or d > MAX_RECORD_D:
            raise ValueError(f"records are read for m ≤ {MAX_RECORD_M} and d ≤ {MAX_RECORD_D}")
        certs = {_order_key(k): v for k, v in obj["certificate"].items()}
    except (KeyError, TypeError, ValueError, AttributeError, RbarError) as exc:
        return False, [f"record: malformed header ({exc})"]
    ok_w, ok_p = set(), set()
    for r, cert in sorted(certs.items()):
        try:
            bad = _verify_cert(cert, kind, m, r, d, nontrivial)
        except LimitError:  # the command's time limit: not a failed claim, the end of checking
            raise
        except Exception as exc:  # a crash while checking is a failed claim
            bad = [f"order {r}: verification crashed ({type(exc).__name__}: {exc})"]
        if bad:
            fails += [f"order {r}: {b}" for b in bad]
        elif cert.get("type") == "witness":
            ok_w.add(r)
        else:
            ok_p.add(r)
    lower = max(ok_w) + 1 if ok_w else 1
    if ok_p and min(ok_p) < lower:
        fails.append("a proof at an order ≤ a verified witness's order (inconsistent)")
    upper = min(ok_p) if ok_p else None
    value = lower if upper == lower else None
    status = "exact" if value is not None else ("bound" if (ok_w or ok_p) else "unknown")
    if obj.get("lower_bound") != lower:
        fails.append(f"claimed lower_bound {obj.get('lower_bound')} ≠ verified {lower}")
    if obj.get("upper_bound") != upper:
        fails.append(f"claimed upper_bound {obj.get('upper_bound')} ≠ verified {upper}")
    if obj.get("value") != value:
        fails.append(f"claimed value {obj.get('value')} ≠ verified {value}")
    if obj.get("status") != status:
        fails.append(f"claimed status {obj.get('status')!r} ≠ verified {status!r}")
    return (not fails), fails


# ---------------------------------------------------------------------------------------------
# r2 versus r1
# ---------------------------------------------------------------------------------------------
def compare_r2_r1(ms: tuple[int, ...] = (1, 2, 3), seconds: float = 300.0) -> dict:
    """r1(m), r2(m) (printed t4 variant) and r2(m) (t3 variant) for each m, all certified.

    Finding: the ℓ1 = 0 equations of r2 are exactly the r1 system in (t3, t4, t5) and
    t1 = t2 = 0 embeds every r1 solution, so for m ≥ 2 both variants give r2(m) = r1(m): the
    printed r2 ≤ r1 holds, with equality. At m = 1 the printed variant gives r2(1) = 2 > r1(1) = 1
    (the order-1 equations do not involve t4), the t3 variant r2(1) = 1 = r1(1) — the authors'
    code uses r̄(1) = 1. Reference: 2305.03288 Lemma 1; Ho & Nguyen 2016.
    """
    dl = Deadline(seconds)
    rows = {}
    for m in ms:
        row = {}
        for key, (kind, var) in {
            "r1": ("r1", "t4"),
            "r2_t4": ("r2", "t4"),
            "r2_t3": ("r2", "t3"),
        }.items():
            left = max(dl.left(), 1.0)
            res = solve_rbar(kind, m, seconds=left, nontrivial=var)
            ok, _ = verify_rbar_json(res.to_json())
            row[key] = {
                "value": res.value,
                "lower_bound": res.lower_bound,
                "status": res.status,
                "verified": ok,
            }
        rows[m] = row
    return rows


_VALUES: dict[tuple[str, int, str], int | None] = {}


def rbar_value(m: int, kind: str = "r2", nontrivial: str = "t4") -> int | None:
    """r̄(m) when it is certified (witness and proof both accepted by the verifier), else None.

    Cached per (kind, m, nontrivial). Returns None at once when m exceeds the proof templates
    (m > 3), so callers that tabulate rates for many cell sizes stay fast.

    Example: ``rbar_value(2) == 4``. Reference: 2305.03288 Lemma 1; Ho & Nguyen 2016.
    """
    check_args(kind, m, None, 1, nontrivial)
    key = (kind, m, nontrivial)
    if key not in _VALUES:
        if m > MAX_PROOF_M:
            _VALUES[key] = None
        else:
            # solve_rbar counts a certificate only after _verify_cert accepted it
            _VALUES[key] = solve_rbar(kind, m, nontrivial=nontrivial).value
    return _VALUES[key]
