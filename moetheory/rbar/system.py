"""The r̄ polynomial systems of identifiability.md §4, built exactly over ℚ with sympy.

**r1(m)** (Ho & Nguyen 2016, Ann. Statist.; location–scale Gaussian mixtures), orders ℓ = 1..r::

    E_ℓ = Σ_{i=1}^m s3_i² Σ_{n1 + 2 n2 = ℓ} s1_i^{n1} s2_i^{n2} / (n1! n2!)

(the inner sum is the t^ℓ coefficient of exp(s1 t + s2 t²)); non-trivial: every s3_i ≠ 0 and
some s1_i ≠ 0.

**r2(m)** (2305.03288 Lemma 1, softmax-gated Gaussian experts; restated in 2505.10860 App. B),
for ℓ1 ∈ ℕ^d, ℓ2 ∈ ℕ with 1 ≤ |ℓ1| + ℓ2 ≤ r::

    E_{ℓ1,ℓ2} = Σ_i t5_i² Σ_{α ∈ I(ℓ1,ℓ2)} t1_i^α1 t2_i^α2 t3_i^α3 t4_i^α4 / (α1! α2! α3! α4!)
    I(ℓ1,ℓ2) = {α : α1 + α2 = ℓ1, α3 + 2 α4 = ℓ2 − |α2|}

(the x^{ℓ1} y^{ℓ2} coefficient of exp(t1·x + (t2·x) y + t3 y + t4 y²)); non-trivial: every
t5_i ≠ 0 and some t4_i ≠ 0 (as printed, ``nontrivial="t4"``) or some t3_i ≠ 0
(``nontrivial="t3"``, the [open] reading).

Variable names: ``s1_i, s2_i, s3_i`` (r1); ``t1_i .. t5_i`` for d = 1 and ``t1_i_k, t2_i_k``
(k = 1..d) for d > 1 (r2); components i = 1..m.

Example::

    >>> from moetheory.rbar.system import build_system
    >>> build_system("r1", 2, 2).equations[1].as_expr()
    s1_1**2*s3_1**2/2 + s1_2**2*s3_2**2/2 + s2_1*s3_1**2 + s2_2*s3_2**2
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from math import factorial

import sympy as sp

from moetheory.errors import MoetheoryError


class RbarError(MoetheoryError, ValueError):
    """Bad input to the r̄ solver (unknown kind, m < 1, bad order, bad variant, bad JSON)."""


KINDS = ("r1", "r2")
VARIANTS = ("t4", "t3")


@dataclass(frozen=True)
class RbarSystem:
    """One r̄ system: the equations (sympy ``Poly`` over ℚ in ``gens``) and the side conditions.

    ``families`` maps a family name (``s1``…, ``t1``…) to its variable names per component;
    ``nonzero_family`` is the family that must be non-zero in every component (s3 / t5, entering
    only through its square), ``some_family`` the family of which one entry must be non-zero.
    """

    kind: str
    m: int
    r: int
    d: int
    nontrivial: str
    gens: tuple[sp.Symbol, ...]
    equations: tuple[sp.Poly, ...]
    labels: tuple[str, ...]
    families: dict[str, list[list[str]]]
    nonzero_family: str
    some_family: str

    def __iter__(self):
        return iter(self.equations)

    def __len__(self) -> int:
        return len(self.equations)

    def __getitem__(self, k: int) -> sp.Poly:
        return self.equations[k]

    def equation(self, label: str) -> sp.Poly:
        return self.equations[self.labels.index(label)]

    def to_json(self) -> dict:
        from moetheory.rbar.exact import mpoly_json

        return {
            "kind": self.kind,
            "m": self.m,
            "r": self.r,
            "d": self.d,
            "nontrivial": self.nontrivial,
            "gens": [str(g) for g in self.gens],
            "labels": list(self.labels),
            "equations": [mpoly_json(e) for e in self.equations],
            "nonzero": list(itertools.chain.from_iterable(self.families[self.nonzero_family])),
            "some_nonzero": list(itertools.chain.from_iterable(self.families[self.some_family])),
        }


def check_args(
    kind: object, m: object, r: object | None = None, d: object = 1, nontrivial: object = "t4"
) -> None:
    if kind not in KINDS:
        raise RbarError(f"unknown r̄ system kind {kind!r}; expected one of {', '.join(KINDS)}")
    if not isinstance(m, int) or isinstance(m, bool) or m < 1:
        raise RbarError(f"m must be an integer ≥ 1, got {m!r}")
    if r is not None and (not isinstance(r, int) or isinstance(r, bool) or r < 1):
        raise RbarError(f"the order r must be an integer ≥ 1, got {r!r}")
    if not isinstance(d, int) or isinstance(d, bool) or d < 1:
        raise RbarError(f"d must be an integer ≥ 1, got {d!r}")
    if nontrivial not in VARIANTS + ("s1",):
        raise RbarError(
            f"unknown non-triviality variant {nontrivial!r}; expected 't4' (as printed) or 't3'"
        )


def _r1(m: int, r: int) -> RbarSystem:
    names = {f: [[f"{f}_{i}"] for i in range(1, m + 1)] for f in ("s1", "s2", "s3")}
    gens = tuple(sp.Symbol(n[0]) for f in ("s1", "s2", "s3") for n in names[f])
    idx = {str(g): k for k, g in enumerate(gens)}
    eqs, labels = [], []
    for ell in range(1, r + 1):
        terms: dict[tuple[int, ...], sp.Rational] = {}
        for i in range(1, m + 1):
            for n2 in range(ell // 2 + 1):
                n1 = ell - 2 * n2
                e = [0] * len(gens)
                e[idx[f"s1_{i}"]] += n1
                e[idx[f"s2_{i}"]] += n2
                e[idx[f"s3_{i}"]] += 2
                terms[tuple(e)] = terms.get(tuple(e), 0) + sp.Rational(
                    1, factorial(n1) * factorial(n2)
                )
        eqs.append(sp.Poly.from_dict(terms, *gens, domain="QQ"))
        labels.append(f"l={ell}")
    return RbarSystem("r1", m, r, 1, "s1", gens, tuple(eqs), tuple(labels), names, "s3", "s1")


def _multi(ell1: tuple[int, ...]) -> list[tuple[int, ...]]:
    return list(itertools.product(*(range(x + 1) for x in ell1)))


def _r2(m: int, r: int, d: int, nontrivial: str) -> RbarSystem:
    def vec(f: str, i: int) -> list[str]:
        return [f"{f}_{i}"] if d == 1 else [f"{f}_{i}_{k}" for k in range(1, d + 1)]

    names = {
        f: [vec(f, i) if f in ("t1", "t2") else [f"{f}_{i}"] for i in range(1, m + 1)]
        for f in ("t1", "t2", "t3", "t4", "t5")
    }
    gens = tuple(
        sp.Symbol(n) for f in ("t1", "t2", "t3", "t4", "t5") for comp in names[f] for n in comp
    )
    idx = {str(g): k for k, g in enumerate(gens)}
    keys = []
    for total in range(1, r + 1):
        for l1 in itertools.product(range(total + 1), repeat=d):
            s1 = sum(l1)
            if s1 <= total:
                keys.append((tuple(l1), total - s1))
    keys.sort(key=lambda k: (sum(k[0]) + k[1], tuple(-x for x in k[0]), k[1]))
    eqs, labels = [], []
    for l1, l2 in keys:
        terms: dict[tuple[int, ...], sp.Rational] = {}
        for a1 in _multi(l1):
            a2 = tuple(x - y for x, y in zip(l1, a1, strict=True))
            rest = l2 - sum(a2)
            if rest < 0:
                continue
            for a4 in range(rest // 2 + 1):
                a3 = rest - 2 * a4
                den = factorial(a3) * factorial(a4)
                for x in a1 + a2:
                    den *= factorial(x)
                for i in range(1, m + 1):
                    e = [0] * len(gens)
                    for k in range(d):
                        e[idx[names["t1"][i - 1][k]]] += a1[k]
                        e[idx[names["t2"][i - 1][k]]] += a2[k]
                    e[idx[f"t3_{i}"]] += a3
                    e[idx[f"t4_{i}"]] += a4
                    e[idx[f"t5_{i}"]] += 2
                    terms[tuple(e)] = terms.get(tuple(e), 0) + sp.Rational(1, den)
        eqs.append(sp.Poly.from_dict(terms, *gens, domain="QQ"))
        l1s = str(l1[0]) if d == 1 else "(" + ",".join(map(str, l1)) + ")"
        labels.append(f"l1={l1s},l2={l2}")
    return RbarSystem(
        "r2", m, r, d, nontrivial, gens, tuple(eqs), tuple(labels), names, "t5", nontrivial
    )


def build_system(kind: str, m: int, r: int, d: int = 1, nontrivial: str = "t4") -> RbarSystem:
    """The r̄ system of ``kind`` ("r1" or "r2") for m components at order r (see module doc).

    For r1, ``d`` must be 1 and ``nontrivial`` is ignored (its condition is fixed: some s1_i ≠ 0).
    Raises :class:`RbarError` on bad input.
    """
    check_args(kind, m, r, d, nontrivial)
    if kind == "r1":
        if d != 1:
            raise RbarError("the r1 system has no dimension parameter: use d = 1")
        return _r1(m, r)
    if nontrivial == "s1":
        raise RbarError("nontrivial='s1' is the r1 condition; r2 takes 't4' or 't3'")
    return _r2(m, r, d, nontrivial)


def r2_label(l1: tuple[int, ...], l2: int) -> str:
    l1s = str(l1[0]) if len(l1) == 1 else "(" + ",".join(map(str, l1)) + ")"
    return f"l1={l1s},l2={l2}"
