"""The theorem catalogue's precedence (issue 15, item 3): where an entry sits in ``THEOREMS``
decides nothing; a refining entry beats the entry it refines; two applying entries neither of
which refines the other are an error.

The facts are enumerated from the catalogue's own conditions (every value a hypothesis names,
plus values none names) and from the families' declarations, restricted only by what the engine
and the family contract guarantee: the declared score class is "linear" exactly when the score
is computed to be β₁ᵀx + β₀; an affine expert mean is a polynomial; a "yes" verdict needs a
complete certificate and no proved relation of a class it counts.
"""

from __future__ import annotations

import itertools
import random
from dataclasses import replace
from functools import cache

import pytest
from conftest import verdict

import moetheory.rates.predict as predict_module
from moetheory.families import EXPERTS, ROUTERS
from moetheory.families.base import NORMALISATIONS, SCORES
from moetheory.identify.classify import PAPERS_COUNT
from moetheory.rates.catalogue import (
    GAUSSIAN,
    LINEAR_SCORE,
    SOFTMAX,
    THEOREMS,
    AmbiguousCatalogueError,
    Theorem,
    fixed,
    most_specific,
)
from moetheory.rates.facts import (
    PairFacts,
    affine_form,
    mean_activation,
    pair_facts,
    score_is_linear,
)
from moetheory.rates.predict import predict

VALUES = ("yes", "no", "unknown")


def _named(field: str) -> set:
    """The values the catalogue's conditions on ``field`` accept."""
    return {
        v for t in THEOREMS for h in t.hypotheses if h.condition[0] == field for v in h.condition[1]
    }


def _gate_sides() -> list[tuple[str | None, str, bool]]:
    """(normalisation, score class, score computed linear) of every gate: declared or
    formula, named by the catalogue or not."""
    normalisations = _named("normalisation") | set(NORMALISATIONS) | {None}
    scores = _named("score") | set(SCORES)
    return [(n, s, s == "linear") for n in sorted(normalisations, key=str) for s in sorted(scores)]


def _expert_sides() -> list[tuple[str, bool, str]]:
    """(setting, mean affine, mean activation) of every expert."""
    settings = _named("setting") | {"least-squares", "gaussian-likelihood"}
    activations = _named("mean_activation") | {
        "relu",
        "gelu",
        "sigmoid",
        "tanh",
        "polynomial",
        "other",
    }
    means = [(False, a) for a in sorted(activations)] + [(True, "polynomial")]
    return [(s, affine, a) for s in sorted(settings) for affine, a in means]


def _engine_sides() -> list[tuple[dict[str, str], frozenset[str], bool]]:
    """(verdicts, proved relation classes, certificate complete) the engine can return."""
    classes = sorted(
        {
            h.condition[1]
            for t in THEOREMS
            for h in t.hypotheses
            if h.condition[0] == "relation_classes"
        }
    )
    out = []
    for strong, free, complete in itertools.product(VALUES, VALUES, (True, False)):
        for k in range(len(classes) + 1):
            for found in map(frozenset, itertools.combinations(classes, k)):
                if strong == "yes" and (not complete or found & set(PAPERS_COUNT)):
                    continue
                if free == "yes" and (not complete or "gate-expert" in found):
                    continue
                out.append(({"strong": strong, "interaction_free": free}, found, complete))
    return out


@cache
def _facts() -> list[PairFacts]:
    return [
        PairFacts(
            gate="g",
            expert="e",
            normalisation=n,
            score=s,
            score_linear=linear,
            setting=setting,
            mean_affine=affine,
            verdicts=verdicts,
            relation_classes=found,
            complete=complete,
            mean_activation=activation,
        )
        for n, s, linear in _gate_sides()
        for setting, affine, activation in _expert_sides()
        for verdicts, found, complete in _engine_sides()
    ]


def _applying(facts: PairFacts) -> list[Theorem]:
    return [t for t in THEOREMS if all(h.check(facts)[0] for h in t.hypotheses)]


@cache
def _matches() -> list[tuple[PairFacts, list[Theorem]]]:
    return [(f, _applying(f)) for f in _facts()]


def test_the_enumeration_covers_every_built_in_family():
    """Each built-in router's and expert's declared and computed facts are among those
    enumerated, so with the engine's outcomes every built-in pair's facts are."""
    gates = set(_gate_sides())
    for g in ROUTERS.values():
        b = g.build(max(2, g.min_dim))
        assert (
            g.normalisation,
            g.score,
            score_is_linear(b.expr, b.inputs, b.params, b.masses),
        ) in gates, g.name
    experts = set(_expert_sides())
    for e in EXPERTS.values():
        b = e.build(2)
        mean = b.mean if b.mean is not None else b.expr
        side = (
            "gaussian-likelihood" if e.kind == "gaussian" else "least-squares",
            affine_form(mean, b.inputs, b.params),
            mean_activation(mean, b.inputs, b.params),
        )
        assert side in experts, e.name
    named = set().union(*(found for _, found, _ in _engine_sides()))
    for gate, expert in (("softmax", "linear"), ("softmax", "scaled-tanh")):
        f = pair_facts(verdict(gate, expert, 1))
        side = (
            {k: f.verdicts[k] for k in ("strong", "interaction_free")},
            f.relation_classes & named,
            f.complete,
        )
        assert side in _engine_sides(), (gate, expert)


def test_no_two_applying_entries_are_left_to_order():
    """On every enumerated fact set the precedence rule decides (``most_specific`` does not
    raise); for the built-in catalogue, in fact, at most one entry ever applies."""
    covered = set()
    for facts, applying in _matches():
        assert len(applying) <= 1, ([t.id for t in applying], facts)
        covered.update(t.id for t in most_specific(applying, "enumerated facts"))
    assert covered == {t.id for t in THEOREMS}  # the enumeration reaches every entry


def test_ranks_and_ids_are_unique():
    assert len({t.rank for t in THEOREMS}) == len({t.id for t in THEOREMS}) == len(THEOREMS)


@pytest.mark.parametrize("order", ["reversed", "shuffled-1", "shuffled-2"])
def test_catalogue_order_changes_no_prediction(monkeypatch, order):
    """Predictions (theorem, rates, nearest entry and its failing hypotheses, ``also``) on real
    pairs whose nearest entries tie in the number of failing hypotheses, and on a sample of the
    enumerated facts that every entry applies to."""
    real = [
        pair_facts(verdict(g, e, 1))
        for g, e in (
            ("softmax", "scaled-relu"),
            ("temperature-sigmoid", "gaussian-linear"),
            ("softmax", "gaussian-linear"),
            ("sigmoid", "gaussian-ffn-gelu"),
        )
    ]
    sample = [f for f, _ in _matches()[::61]]
    for t in THEOREMS:
        sample += [f for f, applying in _matches() if t in applying][::7][:20]
    facts = [*real, *sample]
    before = [predict(f, rbar=lambda m: m + 2, sizes=(2, 3)).to_json() for f in facts]
    catalogue = list(THEOREMS)
    if order == "reversed":
        catalogue.reverse()
    else:
        random.Random(order).shuffle(catalogue)
    monkeypatch.setattr(predict_module, "THEOREMS", tuple(catalogue))
    after = [predict(f, rbar=lambda m: m + 2, sizes=(2, 3)).to_json() for f in facts]
    assert after == before


def _entry(id: str, rank: int, *hypotheses, exponent: int = 1) -> Theorem:
    return Theorem(
        id=id,
        rank=rank,
        source=f"test {id}",
        tag="open",
        statement=id,
        hypotheses=hypotheses,
        exact=(fixed("all", exponent),),
        over=(fixed("all", 2 * exponent),),
        loss="D1",
    )


SOFTMAX_GAUSSIAN = PairFacts(
    gate="g",
    expert="e",
    normalisation="softmax",
    score="linear",
    score_linear=True,
    setting="gaussian-likelihood",
    mean_affine=True,
    verdicts={},
    relation_classes=frozenset(),
    complete=True,
)


@pytest.mark.parametrize("reverse", [False, True])
def test_an_ambiguous_pair_of_entries_is_detected(monkeypatch, reverse):
    """Two entries that both apply, neither refining the other, are an error naming both and
    the condition each has alone — in either order."""
    catalogue = [
        _entry("by-score", 1, SOFTMAX, LINEAR_SCORE),
        _entry("by-setting", 2, SOFTMAX, GAUSSIAN, exponent=2),
    ]
    monkeypatch.setattr(
        predict_module, "THEOREMS", tuple(reversed(catalogue)) if reverse else tuple(catalogue)
    )
    with pytest.raises(
        AmbiguousCatalogueError, match=r"by-score, by-setting all apply to g × e"
    ) as err:
        predict(SOFTMAX_GAUSSIAN)
    assert "only by-score: gate score β₁ᵀx + β₀" in str(err.value)
    assert "only by-setting: Gaussian likelihood" in str(err.value)


def test_the_same_conditions_worded_differently_are_ambiguous():
    worded = replace(GAUSSIAN, text="density experts (reworded)")
    a, b = _entry("a", 1, SOFTMAX, GAUSSIAN), _entry("b", 2, SOFTMAX, worded)
    assert not a.refines(b) and not b.refines(a)
    with pytest.raises(AmbiguousCatalogueError, match="a, b all apply"):
        most_specific([a, b], "a pair")


@pytest.mark.parametrize("reverse", [False, True])
def test_a_refining_entry_takes_precedence(monkeypatch, reverse):
    general = _entry("general", 1, SOFTMAX, LINEAR_SCORE)
    special = _entry("special", 2, SOFTMAX, LINEAR_SCORE, GAUSSIAN, exponent=3)
    catalogue = (special, general) if reverse else (general, special)
    monkeypatch.setattr(predict_module, "THEOREMS", catalogue)
    p = predict(SOFTMAX_GAUSSIAN)
    assert p.theorem is special and p.also == ("general",)
    assert p.rates["over"][0].rate.text() == "n^{-1/12}"
