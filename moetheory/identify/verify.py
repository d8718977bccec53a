"""Re-check a saved verdict from its JSON alone, without trusting the engine.

Checks, each named in the report:

* every ``symbolic`` relation: the expression, with u replaced by the saved formula and every
  derivative recomputed by sympy, reduces exactly to 0 (atom normal form, then ``simplify``);
  every ``numeric`` relation: its value at the saved generic point is tiny at three saved points;
* every certificate minor: the matrix of ∂^α u at the saved exact points, recomputed in ball
  arithmetic from the formula, has a determinant ball that excludes 0 and overlaps the saved one;
* the relations' coefficient vectors are independent (their minor), and rank + #relations equals
  the number of terms where the certificate claims completeness;
* the verdicts follow from the relation classes and the certificate by the documented rules.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import flint
import sympy as sp

from moetheory.errors import CertificateError, FormulaError
from moetheory.identify.certificate import PRECISIONS
from moetheory.identify.classify import CLASSES
from moetheory.identify.verdict import COUNTS
from moetheory.symbolic.balls import BallError, BallEvaluator, certified_nonsingular
from moetheory.symbolic.parser import Scope, parse_formula
from moetheory.symbolic.polyform import Atomizer


@dataclass
class VerifyReport:
    """Outcome of ``verify``: ``ok`` iff no claim failed."""

    passed: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failed

    def check(self, ok: bool, claim: str) -> None:
        (self.passed if ok else self.failed).append(claim)


def _rational_map(scope: Scope, values: dict[str, str]) -> dict[sp.Symbol, sp.Rational]:
    out = {}
    for name, text in values.items():
        if name not in scope.symbols:
            raise CertificateError(f"certificate names an undeclared symbol {name!r}")
        try:
            out[scope.symbols[name]] = sp.Rational(text)
        except (TypeError, ValueError):
            raise CertificateError(f"value {text!r} of {name!r} is not an exact rational") from None
    return out


def _is_zero(expr: sp.Expr) -> bool:
    if Atomizer().is_zero(expr):
        return True
    return sp.simplify(expr) == 0


def verify_json(data: dict) -> VerifyReport:
    """Verify a verdict dictionary (as written by ``Verdict.to_json``)."""
    report = VerifyReport()
    try:
        names = list(data["inputs"]) + list(data["parameters"]) + list(data["masses"])
        scope = Scope.declare(scalars=names)
        u = parse_formula(data["u"], scope)
        cert = data["certificate"]
    except (KeyError, TypeError) as exc:
        raise CertificateError(f"verdict JSON lacks a field: {exc}") from None
    except FormulaError as exc:
        raise CertificateError(f"verdict JSON has an unreadable formula: {exc}") from None

    theta1 = _rational_map(scope, cert.get("point", {})) if "point" in cert else {}
    theta2 = _rational_map(scope, cert.get("point2", {})) if "point2" in cert else {}
    points = [_rational_map(scope, p) for p in cert.get("points", [])]

    for group in ("relations", "weak_relations"):
        for i, rel in enumerate(data.get(group, [])):
            claim = f"{group}[{i}] {rel['expression']} = 0 ({rel['verified']})"
            expr = parse_formula(rel["expression"], scope, derivative_of=u)
            if rel["verified"] == "symbolic":
                report.check(_is_zero(expr), claim)
            else:
                report.check(_numerically_zero(expr, theta1, points[:3]), claim)
            report.check(rel["class"] in CLASSES, f"{group}[{i}] class {rel['class']!r} known")

    derivs: dict[str, sp.Expr] = {}

    def term(name: str) -> sp.Expr:
        if name not in derivs:
            e = parse_formula(name, scope, derivative_of=u)
            derivs[name] = e
        return derivs[name]

    thetas = {"point": theta1, "point2": theta2}
    for key in ("k1", "k2", "weak_k1", "weak_k2"):
        minor = cert.get(key)
        if not minor:
            continue
        blocks = minor.get("blocks", ["point"] * len(minor["columns"]))
        ok, det = _minor(minor["columns"], blocks, minor["rows"], points, thetas, term)
        claimed = minor["certified"]
        if claimed:
            report.check(ok, f"certificate {key}: determinant excludes 0 (recomputed {det})")
            report.check(_overlaps(det, minor["det"]), f"certificate {key}: recomputed "
                         f"determinant {det} overlaps the saved {minor['det']}")
    ri = cert.get("relations_independent")
    if ri and ri.get("certified") and data.get("relations"):
        rels = data["relations"]
        rows = []
        for r in ri["relations"]:
            rel = rels[r]
            coeff = dict(zip(rel["terms"], rel["coefficients"], strict=True))
            rows.append([parse_formula(coeff[c], scope) if c in coeff else sp.S.Zero
                         for c in ri["columns"]])
        ok, det = _ball_det(rows, theta1)
        report.check(ok, f"relations are independent at the generic point (det {det})")
    if cert.get("complete"):
        report.check(cert["rank"] + len(data.get("relations", [])) == len(cert["terms"]),
                     "rank + number of relations = number of terms")
    _check_verdicts(data, report)
    return report


def _numerically_zero(expr: sp.Expr, theta: dict, points: list[dict]) -> bool:
    for pt in points:
        try:
            val = BallEvaluator({**pt, **theta}, prec=128)(expr)
        except BallError:
            return False
        if abs(float(val.mid())) > 1e-8:
            return False
    return bool(points)


def _minor(columns, blocks, rows, points, thetas, term) -> tuple[bool, flint.arb]:
    det = flint.arb(0)
    for bits in PRECISIONS:
        try:
            mat = [[BallEvaluator({**points[r], **thetas[b]}, prec=bits)(term(c))
                    for c, b in zip(columns, blocks, strict=True)] for r in rows]
        except (BallError, IndexError):
            return False, flint.arb(0)
        ok, det = certified_nonsingular(mat)
        if ok:
            return True, det
    return False, det


def _ball_det(rows: list[list[sp.Expr]], theta: dict) -> tuple[bool, flint.arb]:
    det = flint.arb(0)
    for bits in PRECISIONS:
        ev = BallEvaluator(theta, prec=bits)
        try:
            ok, det = certified_nonsingular([[ev(e) for e in row] for row in rows])
        except BallError:
            return False, det
        if ok:
            return True, det
    return False, det


def _overlaps(det: flint.arb, saved: str) -> bool:
    try:
        return bool(det.overlaps(flint.arb(saved)))
    except (ValueError, TypeError):
        return False


def _check_verdicts(data: dict, report: VerifyReport) -> None:
    rels = data.get("relations", [])
    cert = data.get("certificate", {})
    complete = bool(cert.get("status") == "complete") and not data.get("cross_atom_relations")
    all_symbolic = all(r["verified"] == "symbolic" for r in rels)
    for key in ("strong", "strong_literal", "interaction_free"):
        counted = [r for r in rels if r["class"] in COUNTS[key]]
        expect = ("no" if any(r["verified"] == "symbolic" for r in counted)
                  else "unknown" if counted or not (complete and all_symbolic) else "yes")
        report.check(data["verdicts"].get(key) == expect,
                     f"verdict {key} = {data['verdicts'].get(key)} follows from the relations "
                     f"and certificate (expected {expect})")
    weak = data.get("weak_relations", [])
    if any(r["verified"] == "symbolic" for r in weak):
        report.check(data["verdicts"].get("weak") == "no", "verdict weak = no")
    elif data["verdicts"].get("weak") == "yes":
        ok = all(cert.get(k, {}).get("certified") for k in ("weak_k1", "weak_k2"))
        report.check(ok, "verdict weak = yes is backed by certified minors")
