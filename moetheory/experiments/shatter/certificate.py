"""Shattering certificates: one JSON document per run, re-checked in exact rationals.

Schema ``moetheory.shatter/1`` (:func:`certificate_json`)::

    schema            "moetheory.shatter/1"
    model             {"kind": halfspace | linear | linear-router | prototype-router,
                       "dim": d, "experts": E}
    points            m lists of d exact rationals ("p" or "p/q")
    point_set         where the points came from (text)
    labelling         how an index k encodes labels: y_i = +1 iff bit i of k is set
    symmetry          "complement": entries[k] (k < 2^{m−1}) also decides k ^ (2^m − 1)
    entries           2^{m−1} decisions (below)
    claims            counts over all 2^m labellings: realised, unrealised, undecided,
                      realised_exact, unrealised_exact, unrealised_solver; shattered
                      (true | false | null) and shattered_exact
    general_position  {"affine": bool | null, "linear": bool | null} (null: not examined)
    method            lp | enumeration | milp | trivial (solver statuses only in milp)
    box, notes        the MILP's box B (null otherwise); caveats

Entries. ``halfspace`` / ``linear``: the string ``"R w_1 … w_d [b]"`` (a separator: every
y_i(wᵀx_i + b) > 0 is re-checked; the complement uses −w, −b) or ``"F i:λ_i …"`` (a Farkas
vector: λ_i > 0, Σλ_i y_i x_i = 0 and, with a bias, Σλ_i y_i = 0 — then 0 = Σλ_i y_i(wᵀx_i
+ b) contradicts every separator, whose terms are all > 0; written as coprime integers, λ/Σλ
being the normalised vector; the same λ refutes the complement) or
``"U reason"`` (undecided). Router models: objects ``{"s": "R", "scores": E rows (a_j…, c_j),
"labels": E signs}`` (linear router: every point's strict argmax expert carries its label),
``{"s": "P", "prototypes": E rows, "labels": …}`` (prototype router: every point's unique nearest
prototype carries its label), ``{"s": "F", "splits": [{"blocks": …, "farkas": "i:l:μ …"}]}``
(exact refutation: the verifier enumerates every split of the labelling into min(E, m)
monochromatic blocks itself and requires a multiclass Farkas vector for each; for the
prototype router this refutes the linear-router relaxation, which contains it),
``{"s": "S", …}`` (a solver's infeasibility status: **not exact**, reported as such) and
``{"s": "U", "reason": …}`` (undecided).

:func:`verify_shatter_json` trusts nothing in the document: no floats, no ``eval``; every
rational goes through :func:`moetheory.schema.rational`, every field through
:class:`moetheory.schema.Node`; the counts and the verdict are recomputed from the re-checked
entries. ``moetheory verify FILE`` dispatches here on the schema.

Example::

    >>> from moetheory.experiments.shatter.points import moment_points
    >>> from moetheory.experiments.shatter.exact import shatter_exact
    >>> doc = certificate_json(shatter_exact(moment_points(3, 2), "halfspace"))
    >>> verify_shatter_json(doc)[0]
    True
    >>> doc["points"][0][0] = "7"          # a changed coordinate
    >>> verify_shatter_json(doc)[0]
    False

Reference: experiments.md §1 (certificates of realisability and unrealisability);
Farkas' lemma; Cover 1965.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path
from typing import Any

from moetheory.errors import CertificateError
from moetheory.experiments.shatter.exact import (
    CLASSIFIER_MODELS,
    ENUMERATION_BUDGET,
    MAX_EXACT_DIM,
    MAX_EXACT_EXPERTS,
    MAX_EXACT_POINTS,
    MODELS,
    SYMMETRY,
    ShatterResult,
    farkas_rows,
    labels,
    multiclass_rows,
    routed_labels_prototypes,
    routed_labels_scores,
    separator_margins,
    split_count,
    splits,
)
from moetheory.experiments.shatter.points import general_position
from moetheory.files import write_text_atomic
from moetheory.schema import Node, rational

SCHEMA = "moetheory.shatter/1"
LABELLING = "bit i of the index k is 1 when point i is labelled +1, else -1"
MAX_SPLITS_CHECKED = 500_000
"""Most splits the verifier enumerates in one document."""
_INDEX = re.compile(r"[0-9]{1,6}")
_COUNT_KEYS = (
    "labelings",
    "realised",
    "unrealised",
    "undecided",
    "realised_exact",
    "unrealised_exact",
    "unrealised_solver",
)


def certificate_json(result: ShatterResult) -> dict[str, Any]:
    """The certificate document of a run (module docstring)."""
    counts = result.counts()
    pts = result.points.points
    return {
        "schema": SCHEMA,
        "model": {"kind": result.model, "dim": result.dim, "experts": result.experts},
        "points": result.points.to_json(),
        "point_set": result.points.source,
        "labelling": LABELLING,
        "symmetry": SYMMETRY,
        "entries": [o.entry for o in result.outcomes],
        "claims": {
            **counts,
            "shattered": result.shattered,
            "shattered_exact": result.shattered_exact,
        },
        "general_position": {
            "affine": general_position(pts),
            "linear": general_position(pts, affine=False),
        },
        "method": result.method,
        "box": result.box,
        "notes": list(result.notes),
    }


def certificate_name(result: ShatterResult) -> str:
    """A file name that says what was checked, e.g.
    ``shatter-halfspace-d2-m4-random-gaussian-seed-0.json``."""
    source = re.sub(r"[^a-z0-9]+", "-", result.points.source.lower()).strip("-")[:60]
    experts = f"-E{result.experts}" if result.model in ("linear-router", "prototype-router") else ""
    return f"shatter-{result.model}-d{result.dim}-m{result.m}{experts}-{source}.json"


def write_certificate(result: ShatterResult, directory: str | Path = ".") -> Path:
    """Write the certificate atomically into ``directory`` (created if missing); its path."""
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / certificate_name(result)
    write_text_atomic(
        path,
        json.dumps(certificate_json(result), indent=1, sort_keys=True, ensure_ascii=False) + "\n",
    )
    return path


# ---------------------------------------------------------------------------- verification


class _Checker:
    def __init__(self) -> None:
        self.lines: list[str] = []
        self.ok = True

    def passed(self, claim: str) -> None:
        self.lines.append(f"PASS: {claim}")

    def failed(self, claim: str) -> None:
        self.ok = False
        self.lines.append(f"FAIL: {claim}")

    def note(self, claim: str) -> None:
        self.lines.append(f"NOTE: {claim}")


def _rationals(tokens: Sequence[str], where: str) -> list[Fraction]:
    return [rational(t, f"{where}[{j}]") for j, t in enumerate(tokens)]


def _rows(node: Node, count: int, width: int) -> list[list[Fraction]]:
    items = node.each(count)
    if len(items) != count:
        raise CertificateError(f"{node.path}: {len(items)} rows, expected {count}")
    out = []
    for row in items:
        vals = row.each(width)
        if len(vals) != width:
            raise CertificateError(f"{row.path}: {len(vals)} values, expected {width}")
        out.append([rational(v.value, v.path) for v in vals])
    return out


def _signs(node: Node, count: int) -> list[int]:
    items = node.each(count)
    if len(items) != count:
        raise CertificateError(f"{node.path}: {len(items)} labels, expected {count}")
    return [v.integer(-1, 1) if v.value in (-1, 1) else _bad_sign(v) for v in items]


def _bad_sign(node: Node) -> int:
    raise CertificateError(f"{node.path}: expected +1 or -1, got {node.value!r}")


def _check_linear(
    entry: Node, pts: list[list[Fraction]], y: list[int], bias: bool
) -> tuple[str, bool]:
    """(status, exact) of a halfspace / linear entry after re-checking it; raises
    CertificateError on a false or malformed claim."""
    text = entry.string()
    kind, _, rest = text.partition(" ")
    d, m = len(pts[0]), len(pts)
    if kind == "U":
        return "undecided", False
    if kind == "R":
        z = _rationals(rest.split(), entry.path)
        if len(z) != d + bias:
            raise CertificateError(f"{entry.path}: {len(z)} coefficients, expected {d + bias}")
        margins = separator_margins(pts, y, z[:d], z[d] if bias else None)
        worst = min(range(m), key=lambda i: margins[i])
        if margins[worst] <= 0:
            raise CertificateError(
                f"{entry.path}: point {worst} is not strictly on its side "
                f"(y(wᵀx{' + b' if bias else ''}) = {margins[worst]})"
            )
        return "realised", True
    if kind == "F":
        lam: dict[int, Fraction] = {}
        for tok in rest.split():
            i_text, sep, v_text = tok.partition(":")
            if not sep or not _INDEX.fullmatch(i_text) or int(i_text) >= m:
                raise CertificateError(f"{entry.path}: bad multiplier {tok[:40]!r}")
            i = int(i_text)
            if i in lam:
                raise CertificateError(f"{entry.path}: point {i} given twice")
            lam[i] = rational(v_text, f"{entry.path}: λ_{i}")
            if lam[i] <= 0:
                raise CertificateError(f"{entry.path}: λ_{i} = {lam[i]} is not positive")
        if not lam:
            raise CertificateError(f"{entry.path}: no multiplier")
        rows, _ = farkas_rows(pts, y, bias)
        for r, row in enumerate(rows[:-1]):  # homogeneous: Σλ = 1 is λ/Σλ, Σλ > 0 holds
            value = sum((row[i] * v for i, v in lam.items()), Fraction(0))
            if value != 0:
                what = "Σλy" if bias and r == d else f"Σλ y x[{r}]"
                raise CertificateError(f"{entry.path}: {what} = {value}, expected 0")
        return "unrealised", True
    raise CertificateError(f"{entry.path}: entry must start with R, F or U")


def _check_router(
    entry: Node,
    pts: list[list[Fraction]],
    y: list[int],
    kind: str,
    experts: int,
    budget: list[int],
    method: str,
) -> tuple[str, bool]:
    """(status, exact) of a router entry after re-checking it (see :func:`_check_linear`)."""
    s = entry["s"].choice(("R", "P", "F", "S", "U"))
    d, m = len(pts[0]), len(pts)
    if s == "U":
        entry["reason"].string(2000)
        return "undecided", False
    if s == "S":
        if method != "milp":
            raise CertificateError(f"{entry.path}: a solver status in a {method} document")
        entry["solver"].string(200)
        entry["status"].choice(("infeasible",))
        return "unrealised", False
    if s in ("R", "P"):
        if (s == "R") != (kind == "linear-router"):
            raise CertificateError(f"{entry.path}: a {s!r} entry does not describe a {kind}")
        lab = _signs(entry["labels"], experts)
        if s == "R":
            got = routed_labels_scores(pts, _rows(entry["scores"], experts, d + 1), lab)
        else:
            got = routed_labels_prototypes(pts, _rows(entry["prototypes"], experts, d), lab)
        bad = [i for i in range(m) if got[i] != y[i]]
        if bad:
            i = bad[0]
            raise CertificateError(
                f"{entry.path}: point {i} gets "
                f"{'a tie' if got[i] is None else got[i]}, label {y[i]}"
            )
        return "realised", True
    # s == "F": every split into min(E, m) monochromatic blocks refuted
    if len(set(y)) == 1:
        raise CertificateError(f"{entry.path}: a constant labelling is always realised")
    k = min(experts, m)
    plus = sum(1 for v in y if v > 0)
    need = split_count(plus, m - plus, k)
    budget[0] -= need
    if budget[0] < 0:
        raise CertificateError(
            f"{entry.path}: more than {MAX_SPLITS_CHECKED:,} splits in the document; not checked"
        )
    given = entry["splits"].each(need + 1)
    if len(given) != need:
        raise CertificateError(
            f"{entry.path}: {len(given)} splits refuted, the labelling "
            f"has {need} splits into {k} blocks"
        )
    for node, blocks in zip(given, splits(y, k), strict=True):
        stated = [[b.integer(0, m - 1) for b in blk.each(m)] for blk in node["blocks"].each(k)]
        if stated != [list(b) for b in blocks]:
            raise CertificateError(f"{node.path}.blocks: expected {[list(b) for b in blocks]}")
        pairs, rows, _ = multiclass_rows(pts, blocks)
        index = {p: c for c, p in enumerate(pairs)}
        mu: dict[int, Fraction] = {}
        for tok in node["farkas"].string().split():
            parts = tok.split(":")
            if len(parts) != 3 or not _INDEX.fullmatch(parts[0]) or not _INDEX.fullmatch(parts[1]):
                raise CertificateError(f"{node.path}.farkas: bad multiplier {tok[:40]!r}")
            pair = (int(parts[0]), int(parts[1]))
            if pair not in index or index[pair] in mu:
                raise CertificateError(
                    f"{node.path}.farkas: pair {pair} is not a (point, "
                    "other block) pair or is repeated"
                )
            value = rational(parts[2], f"{node.path}.farkas{pair}")
            if value <= 0:
                raise CertificateError(f"{node.path}.farkas: μ{pair} = {value} is not positive")
            mu[index[pair]] = value
        if not mu:
            raise CertificateError(f"{node.path}.farkas: no multiplier")
        for r, row in enumerate(rows[:-1]):  # homogeneous; Σμ > 0 as every μ > 0
            value = sum((row[c] * v for c, v in mu.items()), Fraction(0))
            if value != 0:
                raise CertificateError(
                    f"{node.path}.farkas: equation {r} gives {value}, expected 0"
                )
    return "unrealised", True


def verify_shatter_json(obj: Any) -> tuple[bool, list[str]]:
    """Re-check a ``moetheory.shatter/1`` document exactly (module docstring). Returns (every
    exact claim verified and every count consistent, lines 'PASS: …' / 'FAIL: …' / 'NOTE: …')."""
    out = _Checker()
    try:
        root = Node(obj, "certificate")
        if root["schema"].string(64) != SCHEMA:
            raise CertificateError(f"certificate.schema: expected {SCHEMA!r}")
        model = root["model"]
        kind = model["kind"].choice(MODELS)
        d = model["dim"].integer(1, MAX_EXACT_DIM)
        experts = model["experts"].integer(1, MAX_EXACT_EXPERTS)
        if kind in CLASSIFIER_MODELS and experts != 1:
            raise CertificateError("certificate.model.experts: must be 1 for " + kind)
        pts = _rows(root["points"], len(root["points"].list(MAX_EXACT_POINTS)), d)
        m = len(pts)
        if m < 1:
            raise CertificateError("certificate.points: no points")
        if len({tuple(p) for p in pts}) < m:
            raise CertificateError("certificate.points: repeated points")
        if root["symmetry"].string(64) != SYMMETRY:
            raise CertificateError(f"certificate.symmetry: expected {SYMMETRY!r}")
        if root["labelling"].string(200) != LABELLING:
            raise CertificateError("certificate.labelling: unknown label encoding")
        entries = root["entries"].each(2 ** (m - 1))
        if len(entries) != 2 ** (m - 1):
            raise CertificateError(
                f"certificate.entries: {len(entries)} entries, expected 2^(m-1) = {2 ** (m - 1)}"
            )
        claims = root["claims"]
        claimed = {key: claims[key].integer(0, 2**m) for key in _COUNT_KEYS}
        shattered_claim = claims["shattered"].value
        if shattered_claim not in (True, False, None):
            raise CertificateError("certificate.claims.shattered: expected true, false or null")
        shattered_exact_claim = claims["shattered_exact"].boolean()
        method = root["method"].choice(("lp", "enumeration", "milp", "trivial"))
    except CertificateError as exc:
        out.failed(f"document: {exc}")
        return False, out.lines
    out.passed(
        f"document: {kind} in ℝ^{d}, m = {m} points"
        + (f", E = {experts}" if kind not in CLASSIFIER_MODELS else "")
    )

    counts = dict.fromkeys(_COUNT_KEYS, 0)
    counts["labelings"] = 2**m
    budget = [MAX_SPLITS_CHECKED]
    bad = 0
    for k, entry in enumerate(entries):
        y = labels(k, m)
        try:
            if kind in CLASSIFIER_MODELS:
                status, exact = _check_linear(entry, pts, y, kind == "halfspace")
            else:
                status, exact = _check_router(entry, pts, y, kind, experts, budget, method)
        except CertificateError as exc:
            bad += 1
            if bad <= 20:
                out.failed(f"labelling {k} ({_show(y)}) and its complement: {exc}")
            continue
        counts[status] += 2
        if status == "realised":
            counts["realised_exact"] += 2
        elif status == "unrealised":
            counts["unrealised_exact" if exact else "unrealised_solver"] += 2
    if bad > 20:
        out.failed(f"{bad - 20} more entries failed (not listed)")
    if not bad:
        out.passed(
            f"every entry re-checked exactly: {counts['realised']} labellings realised "
            f"(separators), {counts['unrealised_exact']} unrealised (Farkas vectors), "
            f"each with its complement"
        )
    if counts["unrealised_solver"]:
        out.note(
            f"{counts['unrealised_solver']} unrealised claims are solver statuses (MILP "
            "infeasible in a box), not exact certificates: not re-checkable"
        )
    if counts["undecided"]:
        out.note(f"{counts['undecided']} labellings are undecided")
    if not bad:
        mismatched = [key for key in _COUNT_KEYS if claimed[key] != counts[key]]
        if mismatched:
            out.failed(
                "claimed counts differ from the entries: "
                + ", ".join(f"{key} {claimed[key]} ≠ {counts[key]}" for key in mismatched)
            )
        else:
            out.passed("claimed counts follow from the entries")
        shattered = True if counts["realised"] == 2**m else False if counts["unrealised"] else None
        exact = counts["realised"] == 2**m or counts["unrealised_exact"] > 0
        if (shattered, exact) != (shattered_claim, shattered_exact_claim):
            out.failed(
                f"claim shattered = {shattered_claim} (exact {shattered_exact_claim}); "
                f"the entries give {shattered} (exact {exact})"
            )
        else:
            out.passed(
                f"shattered = {shattered}"
                + (" (exact)" if exact else " (rests on solver statuses)")
            )
    try:
        _check_general_position(root, pts, out)
    except CertificateError as exc:
        out.failed(f"general_position: {exc}")
    return out.ok, out.lines


def _check_general_position(root: Node, pts: list[list[Fraction]], out: _Checker) -> None:
    node = root.get("general_position")
    if node is None:
        return
    for sense in ("affine", "linear"):
        field = node.get(sense)
        if field is None or field.value is None:
            continue
        if not isinstance(field.value, bool):
            out.failed(f"general_position.{sense}: expected true, false or null")
            continue
        actual = general_position([tuple(p) for p in pts], affine=sense == "affine")
        if actual is None:
            out.note(f"general_position.{sense}: too many subsets to re-check")
            continue
        if actual != field.value:
            out.failed(f"general_position.{sense} = {field.value}, but it is {actual}")
        else:
            out.passed(f"general position ({sense}) = {actual}")


def _show(y: list[int]) -> str:
    return "".join("+" if v > 0 else "-" for v in y)


def budget_note() -> str:
    """The verifier's work limits, for documentation."""
    return (
        f"at most {MAX_SPLITS_CHECKED:,} splits per document (the solver's own budget is "
        f"{ENUMERATION_BUDGET:,} split LPs)"
    )
