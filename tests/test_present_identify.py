"""Presentation of identify verdicts (issue 14): weak breakers labelled in the first-order list,
reasons of "unknown" verdicts, determinant balls shown with a |det| lower bound, partial
derivatives in LaTeX. Expectations come from the verdict's data, not from the renderers."""

from __future__ import annotations

import copy
import dataclasses
import re
from fractions import Fraction

import sympy as sp
from helpers import D, S

from moetheory.identify.verdict import COUNTS, decide_verdicts
from moetheory.present.latex import latex, verdict_latex
from moetheory.present.markdown import verdict_markdown
from moetheory.present.verdict_parts import det_lower_bound

CELL = re.compile(r"(?<!\\)\|")


def cells(line: str) -> list[str]:
    """Cells of a Markdown table row (escaped pipes stay inside their cell)."""
    return [c.strip() for c in CELL.split(line.strip())[1:-1]]


def table(md: str, header: str) -> list[list[str]]:
    """Data rows of the Markdown table whose header row starts with ``header``."""
    lines = md.splitlines()
    start = next(i for i, ln in enumerate(lines) if ln.startswith(header))
    rows = []
    for ln in lines[start + 2 :]:
        if not ln.startswith("|"):
            break
        rows.append(cells(ln))
    return rows


def tables(md: str, header: str) -> list[list[list[str]]]:
    """Every table whose header starts with ``header``, in order."""
    lines, out = md.splitlines(), []
    for i, ln in enumerate(lines):
        if ln.startswith(header):
            rows = []
            for row in lines[i + 2 :]:
                if not row.startswith("|"):
                    break
                rows.append(cells(row))
            out.append(rows)
    return out


def verdict_rows(md: str) -> dict[str, list[str]]:
    return {r[0]: r for r in table(md, "| definition | verdict |")}


def labels(cell: str) -> list[str]:
    return [] if cell == "—" else [s.strip() for s in cell.split(",")]


# 1. the weak verdict's breakers are first-order relations, labelled in their own list


def _check_weak_labels(v) -> None:
    md = verdict_markdown(v)
    rows = verdict_rows(md)
    weak_shown = labels(rows["weak"][3])
    # weak counts every class: each first-order relation breaks it (2505.10860 Def. 2)
    assert set(COUNTS["weak"]) >= {r.cls for r in v.weak_relations}
    assert weak_shown == [f"W{i + 1}" for i in range(len(v.weak_relations))]
    relation_tables = tables(md, "| # | relation (= 0) |")
    order_r = {r[0]: r for r in relation_tables[0]}
    assert set(order_r) == {f"R{i + 1}" for i in range(len(v.relations))}
    if v.weak_relations:
        assert len(relation_tables) == 2
        first_order = {r[0]: r for r in relation_tables[1]}
        for label in weak_shown:
            rel = v.weak_relations[int(label[1:]) - 1]
            assert all(len(t) <= 1 for t in rel.terms)  # a first-order relation
            assert first_order[label][1] == f"`{rel.expression}`"
            assert first_order[label][2] == rel.cls
            # every derivative shown is of order 1
            for d in rel.expression.atoms(sp.Derivative):
                assert d.derivative_count == 1
    else:
        assert len(relation_tables) == 1 and weak_shown == []
    # the other verdicts still point into the order-r list
    for key in ("strong", "strong_literal", "interaction_free"):
        for label in labels(rows[key][3]):
            assert label.startswith("R") and label in order_r


def test_weak_broken_by_points_into_first_order_list(get_verdict):
    v = get_verdict("cosine", "linear", 2)
    assert v.weak_relations and v.verdicts["weak"] == "no"
    # the regression: R1 = ∂²u/∂a₁² (a second-order zero relation) was shown as weak's breaker
    assert any(any(len(t) == 2 for t in r.terms) for r in v.relations[:1])
    _check_weak_labels(v)
    assert "R1" not in verdict_rows(verdict_markdown(v))["weak"][3]


def test_weak_labels_temperature_softmax(get_verdict):
    _check_weak_labels(get_verdict("temperature-softmax", "linear", 1))


def test_no_weak_table_without_weak_relations(get_verdict):
    v = get_verdict("softmax", "ffn-tanh", 2)
    assert not v.weak_relations and not v.breaks["weak"]
    md = verdict_markdown(v)
    assert "First-order (weak) relations" not in md
    _check_weak_labels(v)


def test_latex_weak_labels(get_verdict):
    v = get_verdict("cosine", "linear", 2)
    tex = verdict_latex(v)
    weak_row = next(ln for ln in tex.splitlines() if ln.startswith("weak &"))
    assert weak_row.split("&")[2].strip().rstrip("\\").strip() == ", ".join(
        f"W{i + 1}" for i in range(len(v.weak_relations))
    )
    assert "First-order (weak) relations" in tex
    assert tex.count(r"\text{W") == len(v.weak_relations)
    assert tex.count(r"\text{R") == len(v.relations)


# 2. the reason of every unknown verdict is shown


def _unknowns(v):
    """``v`` with the verdicts decided as if nothing were certified (real reasons)."""
    verdicts, reasons, breaks = decide_verdicts(
        v.relations, v.weak_relations, False, False, False, False
    )
    return dataclasses.replace(v, verdicts=verdicts, reasons=reasons, breaks=breaks)


def test_unknown_reasons_markdown_and_latex(get_verdict):
    v = _unknowns(get_verdict("softmax", "linear", 1))
    unknown = [k for k, val in v.verdicts.items() if val == "unknown"]
    settled = [k for k, val in v.verdicts.items() if val != "unknown"]
    assert unknown and settled  # both kinds of rows present
    md, tex = verdict_markdown(v), verdict_latex(v)
    for k in unknown:
        assert f"- {k}: {v.reasons[k]}" in md
        reason = v.reasons[k]
        assert not set(reason) & set("\\&%$#_{}~^|<>")  # plain text: shown verbatim in LaTeX
        assert rf"\item {k.replace('_', ' ')}: {reason}" in tex
    for k in settled:
        if v.reasons[k] not in {v.reasons[u] for u in unknown}:
            assert v.reasons[k] not in md and v.reasons[k] not in tex
    # yes/no rows keep their four cells
    rows = verdict_rows(md)
    assert {k: len(r) for k, r in rows.items()} == {k: 4 for k in v.verdicts}
    assert {k: r[1] for k, r in rows.items()} == {k: f"**{val}**" for k, val in v.verdicts.items()}


def test_no_reason_list_when_nothing_unknown(get_verdict):
    v = get_verdict("softmax", "linear", 2)
    assert "unknown" not in v.verdicts.values()
    assert "Why unknown" not in verdict_markdown(v) and "Why unknown" not in verdict_latex(v)


# 3. determinants: a certified ball is shown with a lower bound of |det|


def _exact_lower(mid: str, rad: str) -> Fraction:
    return abs(Fraction(mid)) - Fraction(rad)


def test_det_lower_bound_strings():
    for mid, rad in (
        ("-6.9848e-37", "9.56e-42"),
        ("1.2000000e-32", "1.01e-40"),
        ("268115.67933", "4.67e-6"),
        ("0.923280871694743", "2.75e-16"),
        ("-1.569611830301e-138", "6.11e-151"),
    ):
        shown = det_lower_bound(f"[{mid} +/- {rad}]")
        exact = _exact_lower(mid, rad)
        assert shown is not None
        assert 0 < Fraction(shown) <= exact  # a true lower bound, rounded down
        assert Fraction(shown) >= exact * Fraction(99, 100)  # 3 significant digits
    assert Fraction(det_lower_bound("-8.00000000000000")) == 8
    for contains_zero in (
        "[+/- 3.66e-32]",
        "[+/- 3.21e-83]",
        "[1e-5 +/- 2e-5]",
        "undefined",
        "nan",
        "[+/- inf]",
        "",
    ):
        assert det_lower_bound(contains_zero) is None


def _minor_rows(md: str) -> dict[str, list[str]]:
    return {r[0]: r for r in table(md, "| minor | size |")}


def test_minors_in_markdown_and_latex(get_verdict):
    v = get_verdict("softmax", "scaled-tanh", 1)
    before = copy.deepcopy(v.to_json())
    md, tex = verdict_markdown(v), verdict_latex(v)
    assert v.to_json() == before  # presentation only: the stored strings are unchanged
    rows = _minor_rows(md)
    cert = v.certificate
    assert set(rows) == {"k1", "k2", "relations_independent", "weak_k1", "weak_k2"}
    for name, row in rows.items():
        node = cert[name]
        assert len(row) == 5
        n = len(node["columns"])
        assert row[1] == f"{n}×{n}"
        assert row[2] == str(node.get("precision_bits", "—"))
        assert row[3] == ("yes" if node["certified"] else "no")
        assert node["det"] in row[4]
        m = re.fullmatch(r"\\\|det\\\| ≥ (\S+) \(ball (.+)\)", row[4])
        if node["certified"]:
            assert m and m.group(2) == node["det"]
            bound = Fraction(m.group(1))
            assert bound > 0
            mid, _, rad = node["det"].strip("[]").partition(" +/- ")
            assert bound <= _exact_lower(mid, rad or "0")
        assert rf"{name.replace('_', chr(92) + '_')} & ${n} \times {n}$" in tex
    assert tex.count(r"$|\det| \geq") == sum(cert[k]["certified"] for k in rows)


def test_uncertified_and_coarse_balls_not_shown_as_bounds(get_verdict):
    v = get_verdict("softmax", "scaled-tanh", 1)
    cert = copy.deepcopy(v.certificate)
    cert["k1"]["det"], cert["k1"]["certified"] = "[+/- 3.66e-32]", True  # rounded when saved
    cert["k2"]["det"], cert["k2"]["certified"] = "[+/- 3.21e-83]", False
    cert["weak_k1"]["det"], cert["weak_k1"]["certified"] = "undefined", False
    w = dataclasses.replace(v, certificate=cert)
    rows = _minor_rows(verdict_markdown(w))
    assert "≥" not in rows["k1"][4] and "contains 0" in rows["k1"][4]
    assert rows["k1"][3] == "yes" and "[+/- 3.66e-32]" in rows["k1"][4]
    assert "≥" not in rows["k2"][4] and "contains 0" in rows["k2"][4] and rows["k2"][3] == "no"
    assert "≥" not in rows["weak_k1"][4] and "undefined" in rows["weak_k1"][4]
    assert "≥" in rows["weak_k2"][4]
    tex = verdict_latex(w)
    assert tex.count(r"$|\det| \geq") == 2  # relations_independent and weak_k2 only


# 4. LaTeX writes partial derivatives


def test_partial_derivative_printer():
    assert latex(D("beta1", "c")) == r"\frac{\partial^{2} u}{\partial c \partial \beta_{1}}"
    assert latex(D("c", "c")) == r"\frac{\partial^{2} u}{\partial c^{2}}"
    assert latex(D("a1")) == r"\frac{\partial u}{\partial a_{1}}"
    assert latex(S("c") * D("c") - sp.Symbol("u")) == r"c \frac{\partial u}{\partial c} - u"
    x = sp.Symbol("x")
    assert latex(sp.Derivative(x**2, x, evaluate=False)) == r"\frac{\partial}{\partial x} x^{2}"


def test_latex_relations_use_partial_derivatives(get_verdict):
    v = get_verdict("softmax", "scaled-tanh", 1)
    tex = verdict_latex(v)
    assert r"\frac{d" not in tex and r"{d " not in tex
    # each relation's derivatives appear as partial ones
    for r in v.relations + v.weak_relations:
        for d in r.expression.atoms(sp.Derivative):
            assert latex(d) in tex
            assert latex(d).startswith(r"\frac{\partial")
    # ∂²u/∂c∂β₁: c·∂²u/∂c∂β₁ − ∂u/∂β₁ = 0 (expert rescaling) is among the relations
    assert any(D("beta1", "c") in r.expression.atoms(sp.Derivative) for r in v.relations)
    assert r"\frac{\partial^{2} u}{\partial c \partial \beta_{1}}" in tex
