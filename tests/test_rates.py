"""Rate predictor, catalogue, reading rule and atlas.

Paper values live here as expectations (identifiability.md §6, cosine_router.md §3); the
library computes the facts and matches them against hypotheses.
"""

from __future__ import annotations

from fractions import Fraction

import pytest

from moetheory import identify
from moetheory.identify.api import formula_model
from moetheory.present.atlas import render_atlas
from moetheory.rates.atlas import atlas_rows
from moetheory.rates.catalogue import THEOREMS
from moetheory.rates.facts import formula_facts, pair_facts
from moetheory.rates.predict import predict
from moetheory.rates.reading import Rate, logarithmic, read_loss_exponent

PAPER_RBAR = {2: 4, 3: 6}  # 2305.03288 / Ho & Nguyen 2016: expectations, not library data


def _predict(gate: str, expert: str, rbar=PAPER_RBAR.get, sizes=(2,)):
    return predict(pair_facts(identify(gate, expert)), rbar=rbar, sizes=sizes)


def _texts(p, kind: str) -> list[str]:
    return [e.rate.text() for e in p.rates[kind]]


# -- reading rule ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    "p, rate, samples",
    [
        (1, "n^{-1/2}", "ε^{-2}"),
        (2, "n^{-1/4}", "ε^{-4}"),
        (4, "n^{-1/8}", "ε^{-8}"),
        (Fraction(3, 1), "n^{-1/6}", "ε^{-6}"),
        (Fraction(1, 2), "n^{-1}", "ε^{-1}"),
    ],
)
def test_reading_rule(p, rate, samples):
    r = read_loss_exponent(p)
    assert r.text() == rate and r.sample_complexity() == samples
    assert r.exponent == 1 / (2 * Fraction(p))


def test_reading_rule_rejects_bad_exponents():
    for bad in (0, -1, Fraction(-1, 2)):
        with pytest.raises(ValueError):
            read_loss_exponent(bad)
    with pytest.raises(ValueError):
        Rate("polynomial")
    with pytest.raises(ValueError):
        Rate("fast")
    assert logarithmic().sample_complexity() == "exp(ε^{-1/τ})"


# -- atlas rows of §6 ----------------------------------------------------------------------
@pytest.mark.parametrize("expert", ["scaled-gelu", "scaled-sigmoid", "scaled-tanh"])
def test_softmax_strongly_identifiable_row(expert):
    p = _predict("softmax", expert)
    assert p.theorem.id == "softmax-strong" and "2505.10860" in p.source
    assert _texts(p, "exact") == ["n^{-1/2}"] and _texts(p, "over") == ["n^{-1/4}"]
    assert p.agrees_with_paper is True


@pytest.mark.parametrize(
    "m, fast, slow", [(2, "n^{-1/8}", "n^{-1/4}"), (3, "n^{-1/12}", "n^{-1/6}")]
)
def test_softmax_gaussian_linear_row(m, fast, slow):
    p = _predict("softmax", "gaussian-linear", sizes=(m,))
    assert p.theorem.id == "softmax-gaussian-linear" and "2305.03288" in p.source
    assert _texts(p, "exact") == ["n^{-1/2}"]
    assert _texts(p, "over") == [fast, slow]
    assert p.rates["over"][0].parameters.startswith("β₁, b")


def test_softmax_gaussian_linear_without_rbar_is_open():
    p = _predict("softmax", "gaussian-linear", rbar=None)
    assert all(e.rate.kind == "open" for e in p.rates["over"])


@pytest.mark.parametrize("expert", ["linear", "polynomial-2", "polynomial-3"])
def test_softmax_linear_least_squares_is_slower_than_polynomial(expert):
    p = _predict("softmax", expert)
    assert p.theorem.id == "softmax-linear-ls"
    assert [e.rate.kind for e in p.rates["over"]] == ["logarithmic"]
    assert p.agrees_with_paper is True


@pytest.mark.parametrize(
    "expert", ["linear", "scaled-tanh", "ffn-relu", "gaussian-linear", "gaussian-ffn-gelu"]
)
def test_cosine_router_is_slow_for_every_expert(expert):
    p = _predict("cosine", expert)
    assert p.theorem.id == "cosine"
    assert {e.rate.kind for e in p.rates["exact"] + p.rates["over"]} == {"logarithmic"}
    assert p.agrees_with_paper is True


@pytest.mark.parametrize("expert", ["scaled-gelu", "scaled-sigmoid", "scaled-tanh"])
def test_perturbed_cosine_row(expert):
    p = _predict("perturbed-cosine", expert)
    assert p.theorem.id == "perturbed-cosine-strong" and "2405.14131" in p.source
    assert _texts(p, "exact") == ["n^{-1/2}"] and _texts(p, "over") == ["n^{-1/4}"]


@pytest.mark.parametrize("gate", ["temperature-softmax", "temperature-softmax-b0"])
def test_temperature_row(gate):
    p = _predict(gate, "gaussian-linear")
    assert p.theorem.id == "temperature"
    assert {e.rate.kind for e in p.rates["exact"] + p.rates["over"]} == {"logarithmic"}


@pytest.mark.parametrize("act", ["gelu", "sigmoid", "tanh"])
def test_activation_temperature_polynomial(act):
    p = _predict(f"act-temperature-softmax-{act}", "gaussian-linear")
    assert p.theorem.id == "activation-temperature"
    assert _texts(p, "exact") == ["[open]"]  # 2401.13875 says "polynomial", no exponent
    assert "polynomial" in p.rates["exact"][0].rate.note


@pytest.mark.parametrize("act", ["identity", "relu"])
def test_activation_keeping_p4_is_not_covered(act):
    """P6: identity and ReLU satisfy σ(t) = tσ′(t), so P4 survives and the hypothesis fails."""
    p = _predict(f"act-temperature-softmax-{act}", "gaussian-linear")
    assert p.theorem is None and p.nearest.id == "activation-temperature"
    assert any("gate-internal" in c.text for c in p.failing)


def test_topk_row():
    p = _predict("topk-softmax", "gaussian-linear")
    assert p.theorem.id == "topk" and _texts(p, "exact") == ["n^{-1/2}"]


def test_pair_outside_catalogue_names_failing_hypothesis():
    p = _predict("sigmoid", "scaled-tanh")
    assert not p.covered and p.source == "no theorem covers this pair"
    # nearest: the sigmoid-gate entry of 2405.13997, which fails only on the expert (tanh)
    assert p.failing and "ReLU or GELU" in p.failing[0].text and len(p.failing) == 1
    data = p.to_json()
    assert data["suggestion"] and data["nearest"] and data["agrees_with_paper"] is None
    assert "no theorem covers this pair" in p.summary()


@pytest.mark.parametrize("expert", ["scaled-relu", "ffn-tanh", "ffn-gelu"])
def test_paper_and_computation_disagree_on_relu_and_inner_bias(expert):
    p = _predict("softmax", expert)
    assert p.agrees_with_paper is False
    assert "disagrees" in p.paper


def test_formula_pair_matches_by_computed_facts():
    """A user formula is matched by its computed facts, not by a name."""
    m = formula_model(
        "exp(beta1*x1 + beta2*x2 + beta0)",
        ["beta1", "beta2", "beta0"],
        "a1*x1 + a2*x2 + b",
        ["a1", "a2", "b"],
        ["x1", "x2"],
        "y",
        "v",
    )
    v = identify(model=m, gate_label="my gate", expert_label="my expert")
    g, e = m.factors
    facts = formula_facts(
        v,
        g.expr,
        g.params,
        e.expr,
        e.params,
        m.inputs,
        m.output,
        m.variance,
        normalisation="softmax",
    )
    assert facts.score_linear and facts.mean_affine
    p = predict(facts, rbar=PAPER_RBAR.get)
    assert p.theorem.id == "softmax-gaussian-linear"
    assert _texts(p, "over") == ["n^{-1/8}", "n^{-1/4}"]
    unnormalised = predict(
        formula_facts(v, g.expr, g.params, e.expr, e.params, m.inputs, m.output, m.variance),
        rbar=PAPER_RBAR.get,
    )
    assert not unnormalised.covered


def test_catalogue_hypotheses_are_evaluated_not_looked_up():
    """Every theorem has at least one computed hypothesis and a source."""
    for t in THEOREMS:
        assert t.source and t.tag in ("P", "R", "open")
        assert any(h.kind == "computed" for h in t.hypotheses) or t.id == "hierarchical"


# -- atlas ----------------------------------------------------------------------------------
GATES = ["softmax", "cosine", "sigmoid"]
EXPERTS = ["linear", "scaled-tanh", "scaled-relu", "gaussian-linear"]


def test_atlas_is_byte_identical_and_independent_of_workers():
    one = atlas_rows(GATES, EXPERTS, workers=1, rbar=PAPER_RBAR.get)
    two = atlas_rows(GATES, EXPERTS, workers=2, rbar=PAPER_RBAR.get)
    for fmt in ("md", "latex", "csv", "json"):
        assert render_atlas(one, fmt) == render_atlas(two, fmt)


def test_atlas_formats():
    rows = atlas_rows(["softmax"], ["scaled-tanh", "scaled-relu"], workers=1, rbar=PAPER_RBAR.get)
    md = render_atlas(rows, "md")
    assert "| softmax | scaled-tanh |" in md and "DISAGREES" in md
    tex = render_atlas(rows, "latex")
    assert r"\toprule" in tex and r"\bottomrule" in tex and "$n^{-1/4}$" in tex
    assert [r.to_json()["certificate_status"] for r in rows] == ["complete", "complete"]
    csv_text = render_atlas(rows, "csv")
    assert csv_text.splitlines()[0].startswith("gate,expert,relations")
    with pytest.raises(ValueError):
        render_atlas(rows, "html")


@pytest.mark.slow
def test_full_atlas_is_byte_identical():
    from moetheory.families import EXPERTS, ROUTERS
    from moetheory.rbar import rbar_value

    first = atlas_rows(rbar=rbar_value)
    second = atlas_rows(rbar=rbar_value, workers=1)
    assert len(first) == len(ROUTERS) * len(EXPERTS)
    for fmt in ("md", "latex", "csv", "json"):
        assert render_atlas(first, fmt) == render_atlas(second, fmt)


@pytest.mark.parametrize(
    "gate, expert, nearest",
    [
        ("softmax", "scaled-relu", "softmax-strong"),
        ("sigmoid", "scaled-tanh", "sigmoid-ffn"),
        ("act-temperature-softmax-relu", "gaussian-linear", "activation-temperature"),
    ],
)
def test_nearest_entry_is_the_most_specific(gate, expert, nearest):
    p = _predict(gate, expert)
    assert p.theorem is None and p.nearest.id == nearest and len(p.failing) == 1


def test_affine_form_rejects_tied_or_nonlinear_intercepts():
    import sympy as sp

    from moetheory.rates.facts import affine_form

    x1, a, b, c = sp.symbols("x1 a b c", real=True)
    assert affine_form(a * x1 + b, (x1,), (a, b))
    assert not affine_form(a * x1 + a, (x1,), (a, b))
    assert not affine_form(a * x1 + b * c, (x1,), (a, b, c))
    assert not affine_form(a * x1 + b**2, (x1,), (a, b))


def test_unknown_verdict_is_undecided_not_a_disagreement():
    p = predict(pair_facts(identify("softmax", "scaled-tanh", seconds=0.001)), rbar=PAPER_RBAR.get)
    assert p.agrees_with_paper is None and "undecided" in p.paper


def test_atlas_figures_through_the_format_registry(tmp_path, capsys):
    """png/pdf are atlas formats because the figure renderers declare them: the CLI offers them
    and writes the bytes the renderer gives."""
    from moetheory.cli import main
    from moetheory.present.formats import FORMATS, formats_for, render

    assert formats_for("atlas") == ("md", "latex", "csv", "json", "png", "pdf")
    rows = atlas_rows(["softmax"], ["linear"], workers=1, rbar=PAPER_RBAR.get)
    png = render("atlas", "png", rows)
    assert png.startswith(b"\x89PNG") and png == render("atlas", "png", rows)
    assert (
        main(
            [
                "atlas",
                "--gates",
                "softmax",
                "--experts",
                "linear",
                "--format",
                "pdf",
                "--out",
                str(tmp_path),
            ]
        )
        == 0
    )
    assert (tmp_path / f"atlas.{FORMATS['pdf'].extension}").read_bytes().startswith(b"%PDF")


def test_every_renderer_provider_declares_a_renderer():
    """The provider list of the format registry holds only modules that declare renderers."""
    import importlib

    from moetheory.present import formats

    formats.formats_for("table")  # loads the providers
    owners = {fn.__module__ for fn in formats._RENDERERS.values()}
    for name in formats._PROVIDERS:
        importlib.import_module(name)
        assert name in owners, name
