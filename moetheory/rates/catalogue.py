"""The theorem catalogue: hypotheses on computed facts, conclusions as loss exponents.

Each entry states what a theorem assumes — the model class it is stated for (declared family
facts: normalisation, score class, setting) and the identifiability conditions its proof needs
(computed by the engine: verdicts, relation classes present or absent, affine score or mean) —
and what it concludes: per-parameter rates for exact- and over-specified atoms, read from loss
exponents by the rule of ``moetheory.rates.reading``. The predictor (``moetheory.rates.predict``)
evaluates every hypothesis on a pair's facts; it never looks a pair up by name.

Conclusions that depend on r̄(M) (2305.03288) are stated as functions of r̄ and evaluated with
the value the r̄ solver computes. ``tag`` follows the reference files: ``P``/``R`` stated in the
paper (or restated by the same group), ``open`` reconstructed and unconfirmed.

``CLAIMS`` records, per theorem, the pairs the papers themselves name as examples. It is used
only to report agreement between a paper and the computation (``agrees_with_paper``), never to
decide a verdict or a rate.

Precedence
----------
Where an entry sits in ``THEOREMS`` decides nothing. An entry *applies* to a pair when all its
hypotheses hold. Of two entries that apply, one whose conditions include every condition of the
other and more (``Theorem.refines``: a special case, so its conclusion is the sharper one) takes
precedence; the other is listed under ``also``. Two applying entries neither of which refines
the other are an error (``AmbiguousCatalogueError``), whatever their conclusions: the catalogue
then needs a hypothesis that separates them, or one entry restated as a special case of the
other (two papers proving the same rate for the same class share one entry, as 2402.02952 and
2503.03213 do). Conditions are compared by what they test (``Hypothesis.condition``), not by
their wording. For the built-in catalogue no two entries apply together on any facts the engine
and the families can produce (``tests/test_catalogue_precedence.py`` enumerates them).

``rank`` (unique) only orders explanations: when no entry applies, the nearest entry named is
the one with the fewest failing hypotheses (``moetheory.rates.predict``), and among equally near
entries the lowest rank; ``also`` lists entries by rank. It never decides which entry gives the
rates.

>>> general = next(t for t in THEOREMS if t.id == "softmax-strong")
>>> special = Theorem(id="softmax-strong-gaussian", rank=15, source="", tag="open",
...                   statement="", hypotheses=(*general.hypotheses, GAUSSIAN), exact=(),
...                   over=(), loss="D1")
>>> special.refines(general), general.refines(special)
(True, False)
>>> [t.id for t in most_specific([general, special], "softmax × gaussian-scaled-tanh")]
['softmax-strong-gaussian', 'softmax-strong']

Reference: identifiability.md §6 (atlas, including the sigmoid-gating rows of 2405.13997 and
2602.01466, whose exponents are [open]), §4 (r̄), §5 (losses); cosine_router.md §3.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction

from moetheory.rates.facts import PairFacts
from moetheory.rates.reading import Rate, logarithmic, open_rate, read_loss_exponent


@dataclass(frozen=True)
class Hypothesis:
    """One condition of a theorem: ``check(facts)`` → (holds, what was found).

    ``condition`` names what is tested, independently of the wording of ``text`` (the field
    read and the values accepted); precedence compares theorems by their conditions.
    """

    text: str
    kind: str  # "class" (gate score class), "declared" (setting) or "computed"
    check: Callable[[PairFacts], tuple[bool, str]]
    condition: tuple[object, ...]


@dataclass(frozen=True)
class ParamRate:
    """Rate of a group of parameters; ``rate`` may depend on r̄ (``rate(rbar)``)."""

    parameters: str
    rate: Callable[[int | None], Rate]
    formula: str  # the rate as the theorem states it, e.g. "n^{-1/(2r̄)}"


@dataclass(frozen=True)
class Theorem:
    """One catalogue entry: hypotheses, conclusions (loss exponents per parameter group, for
    exact- and over-specified atoms), its source and ``tag``; ``rank`` orders explanations only
    (see Precedence above)."""

    id: str
    rank: int
    source: str
    tag: str
    statement: str
    hypotheses: tuple[Hypothesis, ...]
    exact: tuple[ParamRate, ...]
    over: tuple[ParamRate, ...]
    loss: str
    uses_rbar: bool = False
    note: str = ""

    @property
    def conditions(self) -> frozenset[tuple[object, ...]]:
        return frozenset(h.condition for h in self.hypotheses)

    def refines(self, other: Theorem) -> bool:
        """This entry is a special case of ``other``: it states every condition of ``other``
        and at least one more, so wherever it applies ``other`` applies too."""
        return self.conditions > other.conditions


class AmbiguousCatalogueError(ValueError):
    """Two catalogue entries apply to the same pair and neither refines the other."""


def most_specific(applying: Sequence[Theorem], pair: str) -> list[Theorem]:
    """The entries whose hypotheses all hold for ``pair``, the one that gives the rates first
    (the entry no other refines), then the entries it refines, by rank.

    Raises ``AmbiguousCatalogueError`` naming the entries when that first entry is not unique.
    """
    top = [t for t in applying if not any(o.refines(t) for o in applying)]
    if len(top) > 1:
        a, b = sorted(top, key=lambda t: t.rank)[:2]
        only = [
            f"only {x.id}: "
            + "; ".join(h.text for h in x.hypotheses if h.condition not in y.conditions)
            for x, y in ((a, b), (b, a))
        ]
        raise AmbiguousCatalogueError(
            f"catalogue entries {', '.join(sorted(t.id for t in top))} all apply to {pair} and "
            f"none refines the others ({' | '.join(only)}): add a hypothesis that separates "
            "them or state one as a special case of the other"
        )
    return top + sorted((t for t in applying if t not in top), key=lambda t: t.rank)


# -- hypotheses -----------------------------------------------------------------------------
def declared(text: str, field: str, allowed: tuple[str, ...]) -> Hypothesis:
    def check(f: PairFacts) -> tuple[bool, str]:
        value = getattr(f, field)
        return value in allowed, f"{field} = {value}"

    return Hypothesis(
        text, "class" if field == "score" else "declared", check, (field, frozenset(allowed))
    )


def verdict_is(name: str, value: str) -> Hypothesis:
    def check(f: PairFacts) -> tuple[bool, str]:
        got = f.verdicts.get(name, "unknown")
        return got == value, f"computed {name} = {got}"

    return Hypothesis(
        f"{name} identifiability = {value} (computed)", "computed", check, ("verdicts", name, value)
    )


def has_class(cls: str, present: bool, why: str) -> Hypothesis:
    def check(f: PairFacts) -> tuple[bool, str]:
        found = cls in f.relation_classes
        if not present and not found and not f.complete:
            return (
                False,
                f"no {cls} relation found, but absence is not proved (certificate incomplete)",
            )
        return found == present, f"{cls} relation {'found' if found else 'absent'} (computed)"

    word = "present" if present else "absent"
    return Hypothesis(
        f"{cls} relation {word}: {why}", "computed", check, ("relation_classes", cls, present)
    )


def computed_flag(text: str, field: str) -> Hypothesis:
    def check(f: PairFacts) -> tuple[bool, str]:
        value = getattr(f, field)
        return bool(value), f"{field} = {value} (computed)"

    return Hypothesis(text, "computed", check, (field,))


def expert_activation_in(
    text: str, activations: tuple[str, ...], polynomial: bool = False
) -> Hypothesis:
    """The expert mean applies one of ``activations`` (computed from its formula), or, with
    ``polynomial``, is a polynomial that is not affine."""

    def check(f: PairFacts) -> tuple[bool, str]:
        ok = f.mean_activation in activations or (
            polynomial and f.mean_activation == "polynomial" and not f.mean_affine
        )
        return (
            ok,
            f"mean activation = {f.mean_activation}, mean_affine = {f.mean_affine} (computed)",
        )

    return Hypothesis(
        text, "computed", check, ("mean_activation", frozenset(activations), polynomial)
    )


SOFTMAX = declared("softmax normalisation", "normalisation", ("softmax",))
SIGMOID = declared("sigmoid gate, no normalisation across experts", "normalisation", ("sigmoid",))
LINEAR_SCORE = computed_flag("gate score β₁ᵀx + β₀ (linear router)", "score_linear")
GAUSSIAN = declared("Gaussian likelihood (density experts)", "setting", ("gaussian-likelihood",))
LEAST_SQUARES = declared("least-squares regression", "setting", ("least-squares",))
AFFINE_MEAN = computed_flag("expert mean aᵀx + b", "mean_affine")
COMPLETE = computed_flag("engine certificate complete", "complete")


# -- conclusions ----------------------------------------------------------------------------
def _constant(parameters: str, r: Rate) -> ParamRate:
    return ParamRate(parameters, lambda _rbar: r, r.text())


def fixed(parameters: str, p: int | Fraction, note: str = "") -> ParamRate:
    return _constant(parameters, read_loss_exponent(p, note))


def slow(parameters: str, note: str = "") -> ParamRate:
    return _constant(parameters, logarithmic(note))


def unknown(parameters: str, note: str) -> ParamRate:
    return _constant(parameters, open_rate(note))


def rbar_rate(parameters: str, scale: Fraction, formula: str) -> ParamRate:
    """Loss exponent scale·r̄ (2305.03288: r̄ for β₁, b; r̄/2 for a, ν)."""

    def rate(rbar: int | None) -> Rate:
        if rbar is None:
            return open_rate(f"needs r̄(M); rate {formula}")
        return read_loss_exponent(scale * rbar, f"r̄ = {rbar}")

    return ParamRate(parameters, rate, formula)


ALL = "all atoms' parameters"

THEOREMS: tuple[Theorem, ...] = (
    Theorem(
        id="softmax-strong",
        rank=10,
        source="2505.10860 Thm 1 (softmax gating, strongly identifiable experts)",
        tag="R",
        statement="softmax (linear) router with strongly identifiable experts: parametric "
        "rates for exact-specified atoms, n^{-1/4} for over-specified ones",
        hypotheses=(SOFTMAX, LINEAR_SCORE, verdict_is("strong", "yes"), COMPLETE),
        exact=(fixed(ALL, 1),),
        over=(fixed(ALL, 2),),
        loss="D1",
    ),
    Theorem(
        id="softmax-gaussian-linear",
        rank=20,
        source="2305.03288 Thm 2 (softmax Gaussian MoE, linear experts)",
        tag="P",
        statement="softmax router, Gaussian experts with linear means: the P1 and heat PDEs make "
        "over-specified rates depend on r̄(M) of the r2 system",
        hypotheses=(
            SOFTMAX,
            LINEAR_SCORE,
            GAUSSIAN,
            AFFINE_MEAN,
            has_class("gate-expert", True, "P1 ∂²u/∂β₁∂b = ∂u/∂a"),
            has_class("heat", True, "P2 ∂²u/∂b² = 2∂u/∂ν"),
            has_class("gate-internal", False, "no gate-internal PDE"),
        ),
        exact=(fixed(ALL, 1),),
        over=(
            rbar_rate("β₁, b", Fraction(1), "n^{-1/(2r̄)}"),
            rbar_rate("a, ν", Fraction(1, 2), "n^{-1/r̄}"),
        ),
        loss="D2",
        uses_rbar=True,
    ),
    Theorem(
        id="softmax-linear-ls",
        rank=30,
        source="2402.02952; 2503.03213 (softmax gating, least squares, linear/polynomial experts)",
        tag="open",
        statement="softmax router with experts satisfying ∂h/∂a = x·∂h/∂b: the P3 interaction "
        "makes over-specified expert estimation slower than any polynomial",
        hypotheses=(
            SOFTMAX,
            LINEAR_SCORE,
            LEAST_SQUARES,
            has_class("gate-expert", True, "P3 ∂²u/∂β₁∂b = ∂u/∂a"),
        ),
        exact=(unknown(ALL, "not stated in the reference [open]"),),
        over=(slow("expert parameters", "O(1/log^τ n) [open]"),),
        loss="D1",
    ),
    Theorem(
        id="cosine",
        rank=40,
        source="2405.14131 (cosine router)",
        tag="P",
        statement="cosine router: β₁ᵀ∇_{β₁}u = 0 for every expert; rates as slow as O(1/log^τ n)",
        hypotheses=(
            SOFTMAX,
            declared("cosine score β₁ᵀx/(‖β₁‖‖x‖)", "score", ("cosine",)),
            has_class("gate-internal", True, "P7 scale invariance"),
        ),
        exact=(slow(ALL),),
        over=(slow(ALL),),
        loss="D1",
    ),
    Theorem(
        id="perturbed-cosine-strong",
        rank=50,
        source="2405.14131 (perturbed cosine router, strongly identifiable experts)",
        tag="P",
        statement="perturbed cosine router with strongly identifiable experts: polynomial "
        "rates (exponents [open])",
        hypotheses=(
            SOFTMAX,
            declared("perturbed cosine score", "score", ("perturbed-cosine",)),
            has_class("gate-internal", False, "P7′: τ₁ breaks scale invariance"),
            verdict_is("strong", "yes"),
            COMPLETE,
        ),
        exact=(fixed(ALL, 1, "Õ(n^{-1/2}) [open]"),),
        over=(fixed(ALL, 2, "Õ(n^{-1/4}) [open]"),),
        loss="D1",
    ),
    Theorem(
        id="sigmoid-temperature",
        rank=60,
        source="2602.01466 (sigmoid gate with temperature, multinomial logistic experts)",
        tag="P",
        statement="sigmoid gate with a temperature σ((β₁ᵀx + β₀)/τ): an interaction between τ "
        "and the gating parameters (a P4-type relation) gives exponential sample "
        "complexity; a Euclidean score −‖x − β₁‖/τ removes it and gives polynomial "
        "rates (exponents [open])",
        hypotheses=(
            SIGMOID,
            declared("temperature score (β₁ᵀx + β₀)/τ", "score", ("temperature",)),
            declared(
                "multinomial logistic experts (classification)",
                "setting",
                ("multinomial-logistic",),
            ),
            has_class("gate-internal", True, "P4-type β₁ᵀ∇_{β₁}u + β₀∂u/∂β₀ + τ∂u/∂τ = 0"),
        ),
        exact=(unknown(ALL, "not stated in the reference [open]"),),
        over=(slow(ALL, "exponential sample complexity [P 2602.01466]; order [open]"),),
        loss="D1",
        note="proved for multinomial logistic experts, a setting no built-in expert declares; "
        "the Euclidean-score gate has no built-in router",
    ),
    Theorem(
        id="temperature",
        rank=70,
        source="2401.13875 (dense-to-sparse gate, Gaussian linear experts)",
        tag="P",
        statement="temperature softmax: the P4 PDE β₁ᵀ∇_{β₁}u + τ∂u/∂τ = 0 makes rates slower "
        "than any polynomial (as slow as O(1/log n))",
        hypotheses=(
            SOFTMAX,
            declared("temperature score (β₁ᵀx + β₀)/τ", "score", ("temperature",)),
            GAUSSIAN,
            AFFINE_MEAN,
            has_class("gate-internal", True, "P4 temperature PDE"),
        ),
        exact=(slow(ALL),),
        over=(slow(ALL),),
        loss="D1",
    ),
    Theorem(
        id="activation-temperature",
        rank=80,
        source="2401.13875 (activation dense-to-sparse gate)",
        tag="open",
        statement="activation before the temperature: when the activation breaks P4 and the "
        "gate and expert do not interact, rates are polynomial",
        hypotheses=(
            SOFTMAX,
            declared(
                "activation-temperature score (σ(β₁ᵀx) + β₀)/τ",
                "score",
                ("activation-temperature",),
            ),
            GAUSSIAN,
            AFFINE_MEAN,
            has_class("gate-internal", False, "σ(t) ≠ tσ′(t) breaks P4 (P6)"),
            verdict_is("interaction_free", "yes"),
        ),
        exact=(unknown(ALL, "polynomial; exponent [open]"),),
        over=(unknown(ALL, "n^{-1/4} or n^{-1/2} by parameter [open]"),),
        loss="D1",
    ),
    Theorem(
        id="topk",
        rank=90,
        source="2309.13850 (top-K sparse softmax, Gaussian experts)",
        tag="P",
        statement="top-K sparse softmax: parametric rates exact-specified; over-specified fits "
        "converge only if the fitted K̄ covers every K-subset's Voronoi cells",
        hypotheses=(
            declared("top-K normalisation", "normalisation", ("top-K",)),
            LINEAR_SCORE,
            GAUSSIAN,
            AFFINE_MEAN,
        ),
        exact=(fixed(ALL, 1),),
        over=(unknown(ALL, "converges iff K̄ ≥ max over K-subsets of Σ|A_j|; exponents [open]"),),
        loss="D1",
    ),
    Theorem(
        id="hierarchical",
        rank=100,
        source="2410.02935 (hierarchical two-level MoE)",
        tag="P",
        statement="two-level gating (softmax or Laplace levels); Laplace levels remove the "
        "softmax interactions; exponents [open]",
        hypotheses=(declared("two-level normalisation", "normalisation", ("two-level",)), GAUSSIAN),
        exact=(unknown(ALL, "[open]"),),
        over=(unknown(ALL, "[open]"),),
        loss="D1",
    ),
    Theorem(
        id="sigmoid-ffn",
        rank=110,
        source="2405.13997 (sigmoid gating, least squares, FFN and polynomial experts)",
        tag="P",
        statement="sigmoid gate σ(β₁ᵀx + β₀), no normalisation, least squares: the regression "
        "function is estimated at Õ(n^{-1/2}); two gating regimes, each with its own "
        "identifiability condition; ReLU and GELU FFN experts are estimated faster "
        'than under softmax gating, polynomial experts "significantly faster"; '
        "parameter exponents [open]",
        hypotheses=(
            SIGMOID,
            LINEAR_SCORE,
            LEAST_SQUARES,
            expert_activation_in(
                "expert is an FFN with ReLU or GELU, or a polynomial (not affine) expert",
                ("relu", "gelu"),
                polynomial=True,
            ),
        ),
        exact=(
            fixed("regression function f_Ĝ", 1, "Õ(n^{-1/2}) [P 2405.13997]"),
            unknown("expert and gate parameters", "not stated in the reference [open]"),
        ),
        over=(
            fixed("regression function f_Ĝ", 1, "Õ(n^{-1/2}) [P 2405.13997]"),
            unknown(
                "expert and gate parameters",
                "two gating regimes; ReLU/GELU FFN experts faster than under softmax, "
                "polynomial experts significantly faster [P]; exponents [open]",
            ),
        ),
        loss="D1",
        note="the paper's identifiability condition per regime is not restated in the "
        "reference [open]; whether its FFN experts carry an inner bias is [open]",
    ),
)


@dataclass(frozen=True)
class Claim:
    """Pairs a paper names as covered by a theorem (its own examples)."""

    theorem: str
    gates: tuple[str, ...]
    experts: tuple[str, ...]
    text: str
    tag: str


_SCALED = ("scaled-gelu", "scaled-sigmoid", "scaled-tanh", "scaled-relu")
_FFN = ("ffn-gelu", "ffn-sigmoid", "ffn-tanh", "ffn-relu")

CLAIMS: tuple[Claim, ...] = (
    Claim(
        "softmax-strong",
        ("softmax",),
        _SCALED,
        "c·GELU/sigmoid/tanh(aᵀx) strongly identifiable, and (claimed) c·ReLU(aᵀx)",
        "R",
    ),
    Claim(
        "softmax-strong",
        ("softmax",),
        _FFN,
        "FFN experts σ(aᵀx + b) with an inner bias treated as strongly identifiable",
        "open",
    ),
    Claim(
        "softmax-strong",
        ("softmax",),
        ("gaussian-scaled-gelu", "gaussian-scaled-sigmoid", "gaussian-scaled-tanh"),
        "Gaussian experts N(y | c·σ(aᵀx), ν), σ = GELU/sigmoid/tanh: the setting of Thm 1",
        "R",
    ),
    Claim(
        "sigmoid-ffn",
        ("sigmoid",),
        ("ffn-relu", "ffn-gelu", "scaled-relu", "scaled-gelu"),
        "FFN experts with ReLU/GELU are estimated faster than under softmax (inner bias or "
        "output scale: [open])",
        "P",
    ),
    Claim(
        "sigmoid-ffn",
        ("sigmoid",),
        ("polynomial-2", "polynomial-3"),
        "polynomial experts are estimated significantly faster than under softmax",
        "P",
    ),
    Claim(
        "softmax-gaussian-linear",
        ("softmax",),
        ("gaussian-linear",),
        "softmax Gaussian MoE with linear experts",
        "P",
    ),
    Claim(
        "softmax-linear-ls",
        ("softmax",),
        ("linear", "polynomial-2", "polynomial-3"),
        "linear and polynomial experts need exponentially many samples",
        "P",
    ),
    Claim("cosine", ("cosine",), (), "rates as slow as O(1/log^τ n) for any expert", "P"),
    Claim(
        "perturbed-cosine-strong",
        ("perturbed-cosine",),
        _SCALED,
        "strongly identifiable experts reach polynomial rates",
        "P",
    ),
    Claim(
        "temperature",
        ("temperature-softmax", "temperature-softmax-b0"),
        ("gaussian-linear",),
        "dense-to-sparse gate: rates as slow as O(1/log n)",
        "P",
    ),
    Claim(
        "activation-temperature",
        (
            "act-temperature-softmax-gelu",
            "act-temperature-softmax-sigmoid",
            "act-temperature-softmax-tanh",
        ),
        ("gaussian-linear",),
        "an activation satisfying the independence condition restores polynomial rates",
        "open",
    ),
    Claim("topk", ("topk-softmax",), ("gaussian-linear",), "top-K sparse softmax", "P"),
    Claim(
        "hierarchical",
        ("hierarchical-SS", "hierarchical-SL", "hierarchical-LL"),
        ("gaussian-linear",),
        "hierarchical mixtures of Gaussian experts",
        "P",
    ),
)
"""An empty ``experts`` tuple means "every expert" (the paper says regardless of the expert)."""


def claims_for(gate: str, expert: str) -> list[Claim]:
    return [c for c in CLAIMS if gate in c.gates and (not c.experts or expert in c.experts)]
