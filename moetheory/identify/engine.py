"""The engine: relations, classes, verdicts and certificates for one router–expert pair.

Pipeline (all symbolic work cached per factor; see ``model``):

1. Taylor family {∂^α u : |α| ≤ r} in canonical order, at a seeded generic point θ¹ (and θ² for
   the k = 2 family), evaluated in floats at seeded exact points → candidate rank and the
   canonical minimal circuits (``search``).
2. Each circuit lifted to symbolic coefficients and proved identically zero (``lift``); what
   cannot be proved is reported as ``verified: numeric``.
3. Ball-arithmetic certificates (``certificate``): a nonsingular minor on the basis columns
   (rank ≥ ρ), the relations' coefficient vectors independent at θ¹ (rank ≤ m − #relations), so
   the relations listed span *all* relations; the k = 2 family of two distinct generic atoms has
   rank 2ρ (no cross-atom relation). Each rank claim is exact: generic rank ≥ rank at θ¹.
4. Classes (``classify``) and verdicts; "unknown" with a reason wherever a step is not proved.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence

import flint
import numpy as np
import sympy as sp

from moetheory.identify.certificate import BallTable, Minor, certify, pivot_rows
from moetheory.identify.classify import (
    Family,
    RelationData,
    Scale,
    classify_all,
    scale_degree,
)
from moetheory.identify.lift import Lifted, Lifter
from moetheory.identify.model import Model, Term, reduced_table
from moetheory.identify.sampling import input_points, parameter_point, under_roots
from moetheory.identify.search import discover, normalise_columns, rank_gap
from moetheory.identify.verdict import (
    Relation,
    Verdict,
    decide_verdicts,
    mass_trade,
    weak_terms,
)
from moetheory.limits import MAX_TERMS, LimitError, deadline
from moetheory.symbolic.functions import step


class Timeout(LimitError):  # noqa: N818  (reads as "the analysis timed out")
    """The per-pair time limit was reached (or the analysis cannot proceed numerically)."""


class NotFinite(Timeout):  # noqa: N818
    """The family is not finite in floats at a parameter point (another point may do)."""


def time_limit(seconds: float | None):
    """Interrupt pure-Python work after ``seconds`` (main thread only; nests in outer limits)."""
    return deadline(seconds, Timeout, f"time limit of {seconds:g} s reached" if seconds else None)


def identify_model(
    model: Model,
    gate: str,
    expert: str,
    order: int = 2,
    seed: int = 0,
    seconds: float | None = 120.0,
) -> Verdict:
    """Decide the identifiability notions of one pair; never hangs past ``seconds``."""
    start = time.perf_counter()
    try:
        with time_limit(seconds):
            return _Analysis(model, gate, expert, order, seed, start).run()
    except Timeout as exc:
        return _unknown(model, gate, expert, order, seed, start, str(exc))


def _unknown(model, gate, expert, order, seed, start, reason: str) -> Verdict:
    keys = ("strong", "strong_literal", "weak", "interaction_free")
    return Verdict(
        gate,
        expert,
        model.u,
        tuple(map(str, model.inputs)),
        tuple(map(str, model.params)),
        tuple(map(str, model.masses)),
        order,
        [],
        [],
        [],
        {k: "unknown" for k in keys},
        {k: reason for k in keys},
        {k: [] for k in keys},
        {"status": "none", "reason": reason},
        seed,
        time.perf_counter() - start,
        notes=list(model.notes),
        **_roles(model),
    )


def _roles(model: Model) -> dict:
    """The roles a verdict records: each parameter's factor, the variances, the output."""
    return {
        "roles": tuple(model.role(i) for i in range(len(model.params))),
        "factors": tuple((f.role, sp.sstr(f.expr)) for f in model.factors),
        "variance": tuple(map(str, model.variance)),
        "output": None if model.output is None else str(model.output),
    }


class _Analysis:
    def __init__(self, model: Model, gate: str, expert: str, order: int, seed: int, start: float):
        self.model, self.gate, self.expert = model, gate, expert
        self.order, self.seed, self.start = order, seed, start
        rng = np.random.default_rng(seed)
        n = len(model.params)
        if math.comb(n + order, order) > MAX_TERMS:
            raise LimitError(
                f"the Taylor family of {n} parameters at order {order} has "
                f"{math.comb(n + order, order)} terms, more than {MAX_TERMS}: "
                "lower the dimension or the order"
            )
        self.terms: list[Term] = model.terms(order)
        # a kink (ReLU, |·|) splits the inputs into regions on which each column is a
        # different analytic function, and two atoms' kinks split them further: twice the rows
        self.points = input_points(
            model, (4 if model.u.has(step) else 2) * len(self.terms) + 16, rng
        )
        self._input_floats = np.array([[float(pt[s]) for s in model.inputs] for pt in self.points])
        self.symbols = (*model.inputs, *model.params, *model.masses)
        self._matrices: dict[tuple, np.ndarray | None] = {}
        self._minors: dict[tuple, Minor] = {}
        self.inferred = under_roots(model)  # sampled positive, recorded in the notes
        self.thetas = [self._active_point(rng), self._active_point(rng)]
        self.names = [model.term_name(t) for t in self.terms]
        self.balls = BallTable(self.points, self.thetas)
        self.lifter = Lifter(model, order, self.thetas[0])
        self._lifted: dict[tuple[Term, ...], Lifted] = {}
        self.refuted = 0  # float-proposed relations a certified minor showed not to exist

    # -- numerics ---------------------------------------------------------------------------
    def _active_point(self, rng: np.random.Generator, tries: int = 50) -> dict:
        """A parameter point at which every kink (step atom) splits the sampled inputs.

        Among such points the first at which every two kinks are also positive together on an
        eighth of the inputs is taken (else the one where the least such overlap is largest):
        where a gate's ReLU and an expert's ReLU are never active together the sampled family
        degenerates (a constant gate on the expert's support) and shows relations that are not
        there generically.
        """
        from moetheory.identify.model import evaluate

        inputs = set(self.model.inputs)  # a kink in the parameters alone splits nothing
        kinks = [a.args[0] for a in self.model.u.atoms(step) if a.args[0].free_symbols & inputs]
        best, best_overlap = None, -1
        undefined = 0
        for _ in range(tries):
            theta = parameter_point(self.model, rng, self.inferred)
            values = self._values(theta)
            if not self._finite(theta):
                undefined += 1
                continue
            at = [evaluate(k, self.symbols, values) for k in kinks]
            if any(np.any(np.abs(a) < 1e-9) for a in at):
                continue  # a sampled input on a kink: the step has no value there
            signs = [np.sign(a) for a in at]
            if not all(
                (s > 0).sum() >= len(s) // 4 and (s < 0).sum() >= len(s) // 4 for s in signs
            ):
                continue
            overlap = min(
                (
                    int(((a > 0) & (b > 0)).sum())
                    for i, a in enumerate(signs)
                    for b in signs[i + 1 :]
                ),
                default=len(self.points),
            )
            if overlap >= len(self.points) // 8:
                return theta
            if overlap > best_overlap:
                best, best_overlap = theta, overlap
        if best is None and undefined == tries:
            hint = (
                f"{', '.join(sorted(map(str, self.inferred)))} already sampled positive, "
                "so the inputs may leave the domain"
                if self.inferred
                else "if a parameter must have a sign, declare it with --positive"
            )
            raise Timeout(
                f"the family is not finite and real at any of {tries} sampled "
                f"parameter points with inputs in [-4, 4] ({hint})"
            )
        if best is None:
            raise Timeout("no parameter point found at which every kink splits the inputs")
        return best

    def _finite(self, theta: dict) -> bool:
        try:
            self._matrix(theta)
        except NotFinite:  # never the time limit's own Timeout
            return False
        return True

    def _values(self, theta: dict) -> np.ndarray:
        """Float rows (inputs, parameters, masses), one per sampled input point."""
        params = [float(theta[s]) for s in (*self.model.params, *self.model.masses)]
        return np.hstack(
            [
                self._input_floats,
                np.tile(params, (len(self.points), 1)).reshape(len(self.points), -1),
            ]
        )

    def _matrix(self, theta: dict) -> np.ndarray:
        key = tuple(theta.items())
        if key not in self._matrices:
            with np.errstate(all="ignore"):  # √ or log of a negative number: nan, refused below
                q = self.model.reduced_values(
                    self.terms, self.order, self.symbols, self._values(theta)
                )
                finite = bool(
                    np.all(np.isfinite(q)) and np.all(np.isfinite(np.linalg.norm(q, axis=0)))
                )
            self._matrices[key] = q if finite else None
        cached = self._matrices[key]
        if cached is None:
            raise NotFinite("the family is not finite (in floats) at the sampled points")
        return cached

    def _exponent(self, theta: dict) -> np.ndarray:
        from moetheory.identify.model import evaluate

        return evaluate(self.model.exponent(), self.symbols, self._values(theta))

    # -- exact ------------------------------------------------------------------------------
    def _entry(self, block_theta: list[int], columns: list[int]):
        """Ball value of ∂^α u at (point r, θ of column block)."""
        expo = self.model.exponent()
        tables = [reduced_table(f, self.order) for f in self.model.factors]

        weights: dict[tuple[int, int, int], flint.arb] = {}  # e^{Λ} per (point, θ, precision)
        parts = [self.model.split(self.terms[col]) for col in columns]
        done: dict[tuple[int, int, int], flint.arb] = {}

        def entry(r: int, c: int, bits: int):
            if (r, c, bits) in done:
                return done[r, c, bits]
            theta = block_theta[c]
            key = (r, theta, bits)
            if key not in weights:
                weights[key] = self.balls.value(expo, r, theta, bits).exp()
            value = weights[key]
            for table, part in zip(tables, parts[c], strict=True):
                value *= self.balls.value(table[part], r, theta, bits)
            done[r, c, bits] = value
            return value

        return entry

    def _minor(self, values: np.ndarray, columns: list[int], thetas: list[int]) -> Minor:
        """A certified minor on ``columns`` (θ index per column), computed once: the minor that
        refutes a float relation is the k1 minor of the certificate."""
        key = (tuple(columns), tuple(thetas))
        if key not in self._minors:
            rows = pivot_rows(values, len(columns))
            m = certify(
                self._entry(thetas, columns),
                rows,
                list(range(len(columns))),
                list(range(len(self.points))),
            )
            self._minors[key] = Minor(tuple(columns), m.rows, m.det, m.certified, m.bits)
        return self._minors[key]

    def _relations_minor(self, rels: Sequence[Lifted | Relation]) -> Minor:
        if not rels:
            return Minor((), (), "1", True, 0)
        index = {t: i for i, t in enumerate(self.terms)}
        vec = np.zeros((len(rels), len(self.terms)))
        for k, rel in enumerate(rels):
            for t, c in zip(rel.terms, rel.coefficients, strict=True):
                vec[k, index[t]] = float(sp.N(c.xreplace(self.thetas[0])))
        cols = pivot_rows(vec.T, len(rels))
        ev = {}

        def entry(r: int, c: int, bits: int):
            key = (r, bits)
            if key not in ev:
                from moetheory.symbolic.balls import BallEvaluator

                ev[key] = BallEvaluator(self.thetas[0], prec=bits)
            rel, term = rels[r], self.terms[cols[c]]
            if term not in rel.terms:
                return ev[key](sp.S.Zero)
            return ev[key](rel.coefficients[rel.terms.index(term)])

        m = certify(entry, list(range(len(rels))), list(range(len(cols))))
        return Minor(tuple(cols), m.rows, m.det, m.certified, m.bits)

    # -- relations --------------------------------------------------------------------------
    def _lift(self, support: tuple[int, ...], vector: np.ndarray, columns: list[int]) -> Lifted:
        terms = tuple(self.terms[columns[i]] for i in support)
        if terms not in self._lifted:
            self._lifted[terms] = self.lifter.lift(terms, vector)
        return self._lifted[terms]

    def _relations(self, q: np.ndarray, columns: list[int]):
        """(discovery, basis columns, lifted relations) of the family on ``columns``.

        A relation that floats propose but the exact lift cannot prove is tested the other way
        round: if the proved relations alone leave a set of columns that a certified minor shows
        independent (the complement of the columns on which their coefficient matrix is
        certified nonsingular), the family's rank is exactly that, so the unproved ones do not
        exist — they were float rounding — and are dropped. Otherwise they stay, numeric.
        """
        disc = discover(q[:, columns])
        lifted = [self._lift(c.support, c.vector, columns) for c in disc.circuits]
        basis = [columns[i] for i in disc.basis]
        proved = [lf for lf in lifted if lf.verified == "symbolic"]
        if len(proved) < len(lifted) or not disc.clean:
            pivots = self._relations_minor(proved)
            if pivots.certified:
                rest = [c for c in columns if c not in pivots.columns]
                if self._minor(q[:, rest], rest, [0] * len(rest)).certified:
                    self.refuted += len(lifted) - len(proved)
                    return disc, rest, proved
        return disc, basis, lifted

    def _scales(self) -> list[Scale]:
        """(position, k) for the parameters c with k·u = c ∂u/∂c exactly, k ≠ 0 rational: u
        homogeneous in an output scale (c·h, but also c²·h or √s·h, reparametrisations of it)."""
        out = []
        for i, p in enumerate(self.model.params):
            if (i,) not in self.terms:
                continue
            k = scale_degree(self.model.u, p)
            if self.lifter.is_zero_combination({(i,): p, (): -k}):
                out.append((i, k))
        return out

    def _data(self, lifted: Lifted) -> RelationData:
        """The relation's coefficients at θ¹ and, if proved, as functions of the parameters."""
        values = tuple(float(sp.N(c.xreplace(self.thetas[0]))) for c in lifted.coefficients)
        symbolic = lifted.verified == "symbolic"
        return RelationData(
            lifted.terms, values, lifted.coefficients if symbolic else None, symbolic
        )

    def _relation(self, lifted: Lifted, cls: str) -> Relation:
        params = sorted({i for t in lifted.terms for i in t})
        return Relation(
            lifted.terms,
            tuple(self.model.term_name(t) for t in lifted.terms),
            lifted.coefficients,
            cls,
            lifted.verified,
            tuple(str(self.model.params[i]) for i in params),
        )

    # -- run --------------------------------------------------------------------------------
    def run(self) -> Verdict:
        model = self.model
        q1 = self._matrix(self.thetas[0])
        q2 = self._matrix(self.thetas[1])
        all_cols = list(range(len(self.terms)))
        disc, basis, lifted = self._relations(q1, all_cols)
        scales = self._scales()
        # weak: first-order family, u standing for the mass direction (if any)
        w_terms = weak_terms(self.terms, bool(model.masses))
        w_cols = [i for i, t in enumerate(self.terms) if t in w_terms]
        w_disc, w_basis, w_lifted = self._relations(q1, w_cols)
        family = Family(
            tuple(self.terms),
            model.term_kind,
            frozenset(i for i, p in enumerate(model.params) if p in model.variance),
            tuple(model.params),
            self.thetas[0],
        )
        classes, w_classes = classify_all(
            family, [self._data(lf) for lf in lifted], [self._data(lf) for lf in w_lifted], scales
        )
        relations = [self._relation(lf, c) for lf, c in zip(lifted, classes, strict=True)]
        weak_relations = [self._relation(lf, c) for lf, c in zip(w_lifted, w_classes, strict=True)]

        # k = 2: the second atom's columns, rows rescaled by e^{Λ(θ²) - Λ(θ¹)}
        scale = np.exp(self._exponent(self.thetas[1]) - self._exponent(self.thetas[0]))
        pair = np.hstack([q1[:, basis], (q2 * scale[:, None])[:, basis]])
        cert: dict = {
            "method": "ball-arithmetic evaluation matrices (python-flint arb)",
            "terms": self.names,
            "point": {str(k): str(v) for k, v in self.thetas[0].items()},
            "point2": {str(k): str(v) for k, v in self.thetas[1].items()},
            "points": [{str(k): str(v) for k, v in p.items()} for p in self.points],
            "rank": len(basis),
            "relations_count": len(relations),
        }
        k1 = self._minor(q1[:, basis], basis, [0] * len(basis))
        rel_minor = self._relations_minor(relations)
        k2_cols = [*basis, *basis]
        k2 = self._minor(pair, k2_cols, [0] * len(basis) + [1] * len(basis))
        cross = []  # a float rank only explains a failed certificate, never overrides one
        if not k2.certified:
            u_rank = rank_gap(np.linalg.svd(normalise_columns(pair), compute_uv=False))[0]
            if u_rank < 2 * len(basis):
                cross.append(
                    f"union of two generic atoms has numeric rank {u_rank} < "
                    f"{2 * len(basis)}: a cross-atom relation (not proved)"
                )
        wk1 = self._minor(q1[:, w_basis], w_basis, [0] * len(w_basis))
        wk2 = self._minor(
            np.hstack([q1[:, w_basis], (q2 * scale[:, None])[:, w_basis]]),
            [*w_basis, *w_basis],
            [0] * len(w_basis) + [1] * len(w_basis),
        )
        cert["k1"] = k1.to_json(self.names)
        cert["relations_independent"] = {
            "relations": list(rel_minor.rows),
            "columns": [self.names[c] for c in rel_minor.columns],
            "det": rel_minor.det,
            "certified": rel_minor.certified,
        }
        cert["k2"] = k2.to_json(self.names) | {
            "blocks": ["point"] * len(basis) + ["point2"] * len(basis)
        }
        cert["weak_k1"] = wk1.to_json(self.names)
        cert["weak_k2"] = wk2.to_json(self.names) | {
            "blocks": ["point"] * len(w_basis) + ["point2"] * len(w_basis)
        }
        complete = (
            k1.certified and rel_minor.certified and len(basis) + len(relations) == len(self.terms)
        )
        cert["complete"] = complete
        cert["status"] = "complete" if complete and k2.certified else "partial"

        verdicts, reasons, breaks = decide_verdicts(
            relations,
            weak_relations,
            complete,
            k2.certified and not cross,
            wk1.certified and wk2.certified,
            len(w_basis) + len(weak_relations) == len(w_cols),
            mass_trade([r.terms for r in weak_relations], model.term_kind),
        )
        notes = list(model.notes)
        if self.inferred:
            notes.append(
                "sampled positive, as they occur under a logarithm or a fractional "
                f"power: {', '.join(sorted(map(str, self.inferred)))} (declare the sign "
                "with --positive to make it part of the model)"
            )
        if self.refuted:
            notes.append(
                f"{self.refuted} relation(s) proposed in floating point could not be "
                "proved and were refuted: the proved relations leave columns whose "
                "minor is certified non-zero"
            )
        if not (disc.exhaustive and w_disc.exhaustive):
            notes.append(
                "a relation component was too large to enumerate: the basis is "
                "complete but not proved minimal"
            )
        return Verdict(
            self.gate,
            self.expert,
            model.u,
            tuple(map(str, model.inputs)),
            tuple(map(str, model.params)),
            tuple(map(str, model.masses)),
            self.order,
            relations,
            weak_relations,
            cross,
            verdicts,
            reasons,
            breaks,
            cert,
            self.seed,
            time.perf_counter() - self.start,
            tuple(str(model.params[i]) for i, _ in scales),
            disc.exhaustive and w_disc.exhaustive,
            notes,
            **_roles(model),
        )
