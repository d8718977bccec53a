"""The rate-reading rule: loss exponents → per-parameter rates → sample complexities.

Every Voronoi loss of identifiability.md §5 is Õ_P(n^{-1/2}) against the fitted mixing measure.
A term |Δθ|^p in the loss therefore gives

    |θ̂ − θ*| = Õ_P(n^{-1/(2p)}),        n ≍ ε^{-2p} samples for accuracy ε,

and a parameter whose loss term cannot be bounded at any polynomial order (a gate-internal PDE:
cosine, temperature) converges at most like 1/log^τ n, so n ≍ exp(ε^{-1/τ}): exponentially many.

Example
-------
>>> read_loss_exponent(2).text()
'n^{-1/4}'
>>> read_loss_exponent(2).sample_complexity()
'ε^{-4}'

Reference: identifiability.md §5 (rule) [R 2505.10860]; 2305.03288 Thm 2 for r̄-dependent
exponents.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

KINDS = ("polynomial", "logarithmic", "open")


@dataclass(frozen=True)
class Rate:
    """A parameter-estimation rate.

    ``kind`` is ``polynomial`` (n^{-exponent}, read from ``loss_exponent`` p as 1/(2p)),
    ``logarithmic`` (as slow as 1/log^τ n) or ``open`` (no exponent is stated anywhere we can
    rely on; ``note`` says what is known).
    """

    kind: str
    loss_exponent: Fraction | None = None
    note: str = ""

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"rate kind must be one of {KINDS}, not {self.kind!r}")
        if (self.kind == "polynomial") != (self.loss_exponent is not None):
            raise ValueError("a polynomial rate needs a loss exponent, and only it")
        if self.loss_exponent is not None and self.loss_exponent <= 0:
            raise ValueError("a loss exponent must be positive")

    @property
    def exponent(self) -> Fraction | None:
        """α in n^{-α}: 1/(2p) for loss exponent p."""
        return None if self.loss_exponent is None else 1 / (2 * self.loss_exponent)

    def _polynomial_loss(self) -> Fraction:
        """The loss exponent p of a polynomial rate (always set there: see ``__post_init__``)."""
        if self.loss_exponent is None:
            raise ValueError("a polynomial rate needs a loss exponent, and only it")
        return self.loss_exponent

    def text(self) -> str:
        if self.kind == "polynomial":
            return f"n^{{-{_frac(1 / (2 * self._polynomial_loss()))}}}"
        if self.kind == "logarithmic":
            return "1/log^τ n"
        return "[open]"

    def sample_complexity(self) -> str:
        """Samples needed for accuracy ε: ε^{-2p}, exp(ε^{-1/τ}) or [open]."""
        if self.kind == "polynomial":
            return f"ε^{{-{_frac(2 * self._polynomial_loss())}}}"
        if self.kind == "logarithmic":
            return "exp(ε^{-1/τ})"
        return "[open]"

    def to_json(self) -> dict:
        return {
            "kind": self.kind,
            "loss_exponent": None if self.loss_exponent is None else str(self.loss_exponent),
            "exponent": None if self.exponent is None else str(self.exponent),
            "rate": self.text(),
            "sample_complexity": self.sample_complexity(),
            "note": self.note,
        }


def _frac(q: Fraction) -> str:
    return str(q.numerator) if q.denominator == 1 else f"{q.numerator}/{q.denominator}"


def read_loss_exponent(p: int | Fraction, note: str = "") -> Rate:
    """Rate of a parameter whose Voronoi-loss term is |Δθ|^p (the rule of §5)."""
    q = Fraction(p)
    if q <= 0:
        raise ValueError(f"a loss exponent must be positive, not {p}")
    return Rate("polynomial", q, note)


def logarithmic(note: str = "") -> Rate:
    """Slower than any polynomial: no polynomial loss bound exists (a gate-internal PDE)."""
    return Rate("logarithmic", None, note)


def open_rate(note: str) -> Rate:
    """A rate no source states reliably; ``note`` says what is known."""
    return Rate("open", None, note)
