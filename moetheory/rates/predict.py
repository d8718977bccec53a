"""The rate predictor: match a pair's computed facts against the theorem catalogue.

``predict(facts)`` evaluates every hypothesis of every theorem. Of the theorems whose
hypotheses all hold, the most specific gives the rates (the catalogue's precedence rule,
``moetheory.rates.catalogue``: an entry refining another wins, two applying entries neither of
which refines the other raise ``AmbiguousCatalogueError``); where an entry sits in the
catalogue never matters. When none holds the prediction says "no theorem covers this pair",
names the nearest entry — the one whose model-class hypotheses hold with the fewest failing
conditions, then the lowest rank — with each failing hypothesis and what was computed instead,
and suggests the simulation that would measure the rate.

Example
-------
>>> from moetheory import identify
>>> from moetheory.rates.facts import pair_facts
>>> p = predict(pair_facts(identify("softmax", "scaled-tanh")))
>>> p.theorem.id, p.rates["over"][0].rate.text()
('softmax-strong', 'n^{-1/4}')

Reference: identifiability.md §6; the rules in ``moetheory.rates.catalogue``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from moetheory.rates.catalogue import THEOREMS, Theorem, claims_for, most_specific
from moetheory.rates.facts import PairFacts
from moetheory.rates.reading import Rate

SIMULATION = (
    "measure it: fit over-specified mixtures (k = k* + 1) at n ∈ [10², 10⁵], 40 "
    "replicates, and regress log Voronoi loss (D1) on log n (identifiability.md §7 "
    "protocol)"
)


@dataclass(frozen=True)
class Check:
    text: str
    kind: str
    holds: bool
    found: str

    def to_json(self) -> dict:
        return {
            "hypothesis": self.text,
            "kind": self.kind,
            "holds": self.holds,
            "found": self.found,
        }


@dataclass(frozen=True)
class Evaluated:
    parameters: str
    formula: str
    rate: Rate

    def to_json(self) -> dict:
        return {"parameters": self.parameters, "formula": self.formula} | self.rate.to_json()


@dataclass(frozen=True)
class Prediction:
    """The rates a theorem gives a pair, or why no theorem covers it."""

    facts: PairFacts
    theorem: Theorem | None
    checks: tuple[Check, ...]  # the theorem's hypotheses, or the nearest entry's
    nearest: Theorem | None
    also: tuple[str, ...]  # further theorems whose hypotheses hold (refined), by rank
    rates: dict[str, tuple[Evaluated, ...]]
    rbar: dict[int, int | None]
    agrees_with_paper: bool | None
    paper: str

    @property
    def covered(self) -> bool:
        return self.theorem is not None

    @property
    def failing(self) -> tuple[Check, ...]:
        return tuple(c for c in self.checks if not c.holds)

    @property
    def source(self) -> str:
        if self.theorem is not None:
            return self.theorem.source
        return "no theorem covers this pair"

    def summary(self) -> str:
        if self.theorem is not None:
            return f"{self.theorem.id}: {self.theorem.statement}"
        near = self.nearest.id if self.nearest else "none"
        why = "; ".join(f"{c.text} fails ({c.found})" for c in self.failing)
        return f"no theorem covers this pair; nearest {near}: {why}; {SIMULATION}"

    def to_json(self) -> dict:
        return {
            "gate": self.facts.gate,
            "expert": self.facts.expert,
            "covered": self.covered,
            "theorem": None if self.theorem is None else self.theorem.id,
            "source": self.source,
            "tag": None if self.theorem is None else self.theorem.tag,
            "statement": None if self.theorem is None else self.theorem.statement,
            "loss": None if self.theorem is None else self.theorem.loss,
            "hypotheses": [c.to_json() for c in self.checks],
            "nearest": None if self.nearest is None else self.nearest.id,
            "also": list(self.also),
            "rates": {k: [e.to_json() for e in v] for k, v in self.rates.items()},
            "rbar": {str(m): v for m, v in self.rbar.items()},
            "agrees_with_paper": self.agrees_with_paper,
            "paper": self.paper,
            "suggestion": None if self.covered else SIMULATION,
            "facts": self.facts.to_json(),
        }


def _checks(theorem: Theorem, facts: PairFacts) -> tuple[Check, ...]:
    out = []
    for h in theorem.hypotheses:
        holds, found = h.check(facts)
        out.append(Check(h.text, h.kind, holds, found))
    return tuple(out)


def _nearest(
    evaluated: list[tuple[Theorem, tuple[Check, ...]]],
) -> tuple[Theorem, tuple[Check, ...]]:
    """Fewest failing declared hypotheses, then a gate score class that holds (the most
    specific match), then fewest failing computed conditions, then the lowest rank (then the
    id, should a catalogue repeat a rank)."""

    def cost(entry: tuple[Theorem, tuple[Check, ...]]) -> tuple[int, int, int, int, str]:
        theorem, checks = entry
        cls = [c.holds for c in checks if c.kind == "class"]
        declared = [c.holds for c in checks if c.kind in ("class", "declared")]
        computed_fail = sum(not c.holds for c in checks if c.kind == "computed")
        return declared.count(False), -cls.count(True), computed_fail, theorem.rank, theorem.id

    return min(evaluated, key=cost)


def predict(
    facts: PairFacts, rbar: Callable[[int], int | None] | None = None, sizes: tuple[int, ...] = (2,)
) -> Prediction:
    """Rates for a pair from the most specific catalogue theorem whose hypotheses all hold.

    ``rbar(M)`` gives r̄(M) for r̄-dependent conclusions (the r̄ solver); over-specified rates
    are evaluated for Voronoi cells of each size M in ``sizes`` (M = 2: one extra atom).
    """
    evaluated = [(t, _checks(t, facts)) for t in THEOREMS]
    holding = most_specific(
        [t for t, checks in evaluated if all(c.holds for c in checks)],
        f"{facts.gate} × {facts.expert}",
    )
    theorem = holding[0] if holding else None
    if theorem is not None:
        checks = dict(evaluated)[theorem]
        nearest = None
    else:
        nearest, checks = _nearest(evaluated)
    rates: dict[str, tuple[Evaluated, ...]] = {"exact": (), "over": ()}
    values: dict[int, int | None] = {}
    if theorem is not None:
        rates["exact"] = tuple(
            Evaluated(p.parameters, p.formula, p.rate(None)) for p in theorem.exact
        )
        if theorem.uses_rbar:
            values = {m: (rbar(m) if rbar is not None else None) for m in sizes}
            rates["over"] = tuple(
                Evaluated(f"{p.parameters} (M = {m})", p.formula, p.rate(values[m]))
                for m in sizes
                for p in theorem.over
            )
        else:
            rates["over"] = tuple(
                Evaluated(p.parameters, p.formula, p.rate(None)) for p in theorem.over
            )
    agrees, paper = _agreement(facts, theorem, dict(evaluated))
    return Prediction(
        facts,
        theorem,
        checks,
        nearest,
        tuple(t.id for t in holding[1:]),
        rates,
        values,
        agrees,
        paper,
    )


def _agreement(
    facts: PairFacts, theorem: Theorem | None, evaluated: dict[Theorem, tuple[Check, ...]]
) -> tuple[bool | None, str]:
    claims = claims_for(facts.gate, facts.expert)
    if not claims:
        return None, ""
    by_id = {t.id: checks for t, checks in evaluated.items()}
    undecided = not facts.complete or "unknown" in facts.verdicts.values()
    parts: list[str] = []
    agree: bool | None = True
    for c in claims:
        failing = [ch for ch in by_id[c.theorem] if not ch.holds]
        if failing and undecided:
            agree = None if agree is not False else agree
            parts.append(
                f"paper ({c.theorem}, [{c.tag}]): {c.text} — computation undecided "
                "(a verdict is unknown or the certificate incomplete)"
            )
        elif failing:
            agree = False
            why = "; ".join(
                f"the paper's result needs {ch.text}, found {ch.found}" for ch in failing
            )
            parts.append(f"paper ({c.theorem}, [{c.tag}]): {c.text} — computation disagrees: {why}")
        else:
            parts.append(f"paper ({c.theorem}, [{c.tag}]): {c.text} — computation agrees")
    if theorem is not None and all(c.theorem != theorem.id for c in claims):
        parts.append(f"the computed facts satisfy {theorem.id} instead")
    return agree, " | ".join(parts)
