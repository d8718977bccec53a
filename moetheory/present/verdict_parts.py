"""Pieces of a verdict's rendering shared by Markdown and LaTeX: relation labels, the reasons
of "unknown" verdicts and the certificate's minors with their determinants made readable.

Presentation only: the stored determinant strings are shown as they are, next to a lower bound
of |det| derived from them; nothing here changes ``Verdict.to_json``.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_FLOOR, Context, Decimal

import flint

from moetheory.identify.verdict import Verdict
from moetheory.symbolic.balls import working_precision

WEAK = "weak"
"""The verdict whose ``breaks`` index ``Verdict.weak_relations`` (the first-order list); every
other verdict's ``breaks`` index ``Verdict.relations`` (``decide_verdicts``)."""

PARSE_BITS = 1024
"""Precision at which a saved determinant string is read back (decimal → binary, outward)."""

MINORS = ("k1", "k2", "relations_independent", "weak_k1", "weak_k2")
"""Certificate entries holding a determinant ball, in the order shown."""


def relation_label(i: int) -> str:
    """Label of ``Verdict.relations[i]`` (order-r list)."""
    return f"R{i + 1}"


def weak_label(i: int) -> str:
    """Label of ``Verdict.weak_relations[i]`` (first-order list)."""
    return f"W{i + 1}"


def broken_by(v: Verdict, key: str) -> list[str]:
    """Labels of the relations breaking verdict ``key``, each in the list its index refers to."""
    label = weak_label if key == WEAK else relation_label
    return [label(i) for i in v.breaks.get(key, [])]


def show_weak(v: Verdict) -> bool:
    """Whether the first-order (weak) relation list is shown: it exists or breaks weak."""
    return bool(v.weak_relations) or bool(v.breaks.get(WEAK))


def unknown_reasons(v: Verdict) -> list[tuple[str, str]]:
    """(verdict key, reason) for every "unknown" verdict, in the verdicts' order."""
    return [
        (k, v.reasons.get(k, "no reason recorded"))
        for k, val in v.verdicts.items()
        if val == "unknown"
    ]


@dataclass(frozen=True)
class MinorView:
    """One certificate minor as shown: name, size, precision, certified, determinant text."""

    name: str
    size: int
    bits: int | None
    certified: bool
    det: str
    lower: str | None
    """|det| lower bound (3 digits, rounded down) when the saved ball excludes 0, else None."""

    def det_text(
        self,
        ball: str | None = None,
        bound: str | None = None,
        ne: str = "det ≠ 0",
        ge: str = "|det| ≥",
    ) -> str:
        """The determinant in a form that says whether it excludes 0; ``ball`` and ``bound``
        are the saved ball and the lower bound as the output format writes them, ``ne`` and
        ``ge`` its "det ≠ 0" and "|det| ≥" (Markdown: the plain texts)."""
        ball = self.det if ball is None else ball
        if self.lower is not None:
            return f"{ge} {self.lower if bound is None else bound} (ball {ball})"
        if self.det == "undefined":
            return "undefined (an entry could not be enclosed)"
        if self.certified:
            return (
                f"marked certified, but the saved ball {ball} contains 0 (rounded when "
                f"saved), so it does not show {ne}"
            )
        return f"not shown {ne.removeprefix('det ')}: ball {ball} contains 0"


def det_lower_bound(det: str) -> str | None:
    """A lower bound of |det| for the saved ball ``det`` (python-flint string form), written
    with 3 significant digits rounded down, or None when the ball contains 0 or is unreadable."""
    try:  # the string's ball, enclosed without widening it noticeably
        with working_precision(PARSE_BITS):
            ball = flint.arb(det)
            if not ball.is_finite() or ball.contains(0):
                return None
            mid_man, mid_exp = ball.abs_lower().mid().man_exp()  # exact, > 0, rounded towards 0
    except (ValueError, TypeError):
        return None
    man, exp = int(mid_man), int(mid_exp)
    num, den = (man * 2**exp, 1) if exp >= 0 else (man, 2**-exp)
    floor3 = Context(prec=3, rounding=ROUND_FLOOR).divide(Decimal(num), Decimal(den))
    if floor3 <= 0:
        return None
    mantissa, exponent = f"{floor3:.2e}".split("e")
    return mantissa if int(exponent) == 0 else f"{mantissa}e{int(exponent)}"


def minors(v: Verdict) -> list[MinorView]:
    """The certificate's minors present in ``v.certificate``, in :data:`MINORS` order."""
    out = []
    for name in MINORS:
        node = v.certificate.get(name)
        if not isinstance(node, dict) or "det" not in node:
            continue
        det = str(node["det"])
        certified = bool(node.get("certified"))
        bits = node.get("precision_bits")
        out.append(
            MinorView(
                name,
                len(node.get("columns", [])),
                bits if isinstance(bits, int) else None,
                certified,
                det,
                det_lower_bound(det),
            )
        )
    return out
