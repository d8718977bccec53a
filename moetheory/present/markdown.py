"""Markdown renderings of verdicts and verdict tables."""

from __future__ import annotations

from moetheory.identify.verdict import COUNTS, Verdict
from moetheory.present import verdict_parts as parts
from moetheory.present.formats import renders
from moetheory.rates.predict import Prediction


@renders("verdict", "md")
def verdict_markdown(v: Verdict) -> str:
    """A verdict as a Markdown section: verdicts (with the reason of each "unknown"), the
    order-r relations (R1, R2, …), the first-order relations the weak verdict counts (W1, W2,
    …) and a certificate summary with each minor's determinant."""
    lines = [
        f"### {v.gate} × {v.expert}",
        "",
        f"u = `{v.u}`",
        "",
        "| definition | verdict | counts classes | broken by |",
        "|---|---|---|---|",
    ]
    for key, value in v.verdicts.items():
        broken = ", ".join(parts.broken_by(v, key)) or "—"
        lines.append(f"| {key} | **{value}** | {', '.join(COUNTS[key])} | {broken} |")
    unknown = parts.unknown_reasons(v)
    if unknown:
        lines += ["", "Why unknown:"]
        lines += [f"- {key}: {reason}" for key, reason in unknown]
    lines += [
        "",
        f"Order-{v.order} relations (R; the broken-by labels of every verdict but weak):",
        "",
    ] + _relations(v.relations, parts.relation_label)
    if parts.show_weak(v):
        lines += [
            "",
            "First-order (weak) relations (W; the weak verdict's broken-by labels):",
            "",
        ] + _relations(v.weak_relations, parts.weak_label)
    cert = v.certificate
    lines += [
        "",
        f"Certificate: {cert.get('status')}; rank {cert.get('rank')} of "
        f"{len(cert.get('terms', []))} terms; seed {v.seed}; {v.seconds:.2f} s.",
    ]
    shown = parts.minors(v)
    if shown:
        lines += [
            "",
            "Minors (determinant balls in python-flint arb; certified: the ball excludes "
            "0, so the columns are independent):",
            "",
            "| minor | size | precision (bits) | certified | determinant |",
            "|---|---|---|---|---|",
        ]
        for m in shown:
            bits = "—" if m.bits is None else str(m.bits)
            lines.append(
                f"| {m.name} | {m.size}×{m.size} | {bits} | "
                f"{'yes' if m.certified else 'no'} | {_cell(m.det_text())} |"
            )
    if v.notes:
        lines += [""] + [f"Note: {n}" for n in v.notes]
    return "\n".join(lines) + "\n"


def _relations(relations: list, label) -> list[str]:
    lines = ["| # | relation (= 0) | class | verified |", "|---|---|---|---|"]
    lines += [
        f"| {label(i)} | `{_cell(str(r.expression))}` | {r.cls} | {r.verified} |"
        for i, r in enumerate(relations)
    ]
    return lines if relations else lines + ["| — | none | | |"]


def _cell(text: str) -> str:
    """Text for a Markdown table cell (a bare | would end the cell)."""
    return text.replace("|", "\\|")


def verdict_table(verdicts: list[Verdict]) -> str:
    """One row per pair: verdicts and the classes of relations found."""
    head = [
        "gate",
        "expert",
        "strong",
        "strong (literal)",
        "weak",
        "interaction-free",
        "relation classes",
    ]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for v in verdicts:
        classes: dict[str, int] = {}
        for r in v.relations:
            classes[r.cls] = classes.get(r.cls, 0) + 1
        summary = ", ".join(f"{k} ×{n}" for k, n in sorted(classes.items())) or "none"
        lines.append(
            f"| {v.gate} | {v.expert} | {v.verdicts['strong']} | "
            f"{v.verdicts['strong_literal']} | {v.verdicts['weak']} | "
            f"{v.verdicts['interaction_free']} | {summary} |"
        )
    return "\n".join(lines) + "\n"


@renders("prediction", "md")
def prediction_markdown(p: Prediction) -> str:
    """The covering theorem, its hypotheses as checked, and the rates (or why none covers)."""
    lines = ["", "### Rates", ""]
    if p.theorem is None:
        near = p.nearest.id if p.nearest else "none"
        lines.append(f"**No theorem covers this pair.** Nearest catalogue entry: `{near}`.")
    else:
        lines.append(
            f"**{p.theorem.id}** — {p.theorem.statement} ({p.theorem.source}, "
            f"[{p.theorem.tag}]; loss {p.theorem.loss})."
        )
    lines += ["", "| hypothesis | kind | holds | found |", "|---|---|---|---|"]
    lines += [
        f"| {c.text} | {c.kind} | {'yes' if c.holds else 'NO'} | {c.found} |" for c in p.checks
    ]
    lines.append("")
    for kind, label in (("exact", "exact-specified"), ("over", "over-specified")):
        for e in p.rates[kind]:
            lines.append(
                f"- {label}, {e.parameters}: {e.rate.text()} (as stated: {e.formula}; "
                f"samples for accuracy ε: {e.rate.sample_complexity()})"
                + (f" — {e.rate.note}" if e.rate.note else "")
            )
    if not p.covered:
        lines.append(f"- suggestion: {p.to_json()['suggestion']}")
    if p.paper:
        lines.append(f"- papers: {p.paper}")
    return "\n".join(lines) + "\n"
