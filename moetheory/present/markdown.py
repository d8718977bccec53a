"""Markdown renderings of verdicts and verdict tables."""

from __future__ import annotations

from moetheory.identify.verdict import COUNTS, Verdict
from moetheory.rates.predict import Prediction


def verdict_markdown(v: Verdict) -> str:
    """A verdict as a Markdown section: verdicts, relations, certificate summary."""
    lines = [f"### {v.gate} × {v.expert}", "", f"u = `{v.u}`", "",
             "| definition | verdict | counts classes | broken by |", "|---|---|---|---|"]
    for key, value in v.verdicts.items():
        broken = ", ".join(f"R{i + 1}" for i in v.breaks.get(key, [])) or "—"
        lines.append(f"| {key} | **{value}** | {', '.join(COUNTS[key])} | {broken} |")
    lines += ["", "| # | relation (= 0) | class | verified |", "|---|---|---|---|"]
    for i, r in enumerate(v.relations):
        lines.append(f"| R{i + 1} | `{r.expression}` | {r.cls} | {r.verified} |")
    cert = v.certificate
    lines += ["", f"Certificate: {cert.get('status')}; rank {cert.get('rank')} of "
              f"{len(cert.get('terms', []))} terms; seed {v.seed}; {v.seconds:.2f} s."]
    lines += [f"Note: {n}" for n in v.notes]
    return "\n".join(lines) + "\n"


def verdict_table(verdicts: list[Verdict]) -> str:
    """One row per pair: verdicts and the classes of relations found."""
    head = ["gate", "expert", "strong", "strong (literal)", "weak", "interaction-free",
            "relation classes"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for v in verdicts:
        classes: dict[str, int] = {}
        for r in v.relations:
            classes[r.cls] = classes.get(r.cls, 0) + 1
        summary = ", ".join(f"{k} ×{n}" for k, n in sorted(classes.items())) or "none"
        lines.append(f"| {v.gate} | {v.expert} | {v.verdicts['strong']} | "
                     f"{v.verdicts['strong_literal']} | {v.verdicts['weak']} | "
                     f"{v.verdicts['interaction_free']} | {summary} |")
    return "\n".join(lines) + "\n"


def prediction_markdown(p: Prediction) -> str:
    """The covering theorem, its hypotheses as checked, and the rates (or why none covers)."""
    lines = ["", "### Rates", ""]
    if p.theorem is None:
        near = p.nearest.id if p.nearest else "none"
        lines.append(f"**No theorem covers this pair.** Nearest catalogue entry: `{near}`.")
    else:
        lines.append(f"**{p.theorem.id}** — {p.theorem.statement} ({p.theorem.source}, "
                     f"[{p.theorem.tag}]; loss {p.theorem.loss}).")
    lines += ["", "| hypothesis | kind | holds | found |", "|---|---|---|---|"]
    lines += [f"| {c.text} | {c.kind} | {'yes' if c.holds else 'NO'} | {c.found} |"
              for c in p.checks]
    lines.append("")
    for kind, label in (("exact", "exact-specified"), ("over", "over-specified")):
        for e in p.rates[kind]:
            lines.append(f"- {label}, {e.parameters}: {e.rate.text()} (as stated: {e.formula}; "
                         f"samples for accuracy ε: {e.rate.sample_complexity()})"
                         + (f" — {e.rate.note}" if e.rate.note else ""))
    if not p.covered:
        lines.append(f"- suggestion: {p.to_json()['suggestion']}")
    if p.paper:
        lines.append(f"- papers: {p.paper}")
    return "\n".join(lines) + "\n"
