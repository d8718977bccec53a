"""What a simulation measures and what the theory predicts for it: Voronoi losses, the slope of
log(mean loss) on log n, the predicted slope and the verdict.

**Loss.** Each fit's Voronoi loss against the truth (identifiability.md §5): D2 (with r̄ from
the certified r̄ solver) where the covering theorem states its rates in D2 (softmax × linear
Gaussian experts), D1 otherwise: the fits hold the gauge of the score translations at the
truth's values (:mod:`~moetheory.experiments.simulate.symmetry`), the loss divides out each
atom's rescaling symmetry, and for a linear score it is the infimum over the softmax
translation (the papers' definition; :func:`fit_losses`). That infimum is bounded by
Σ_j exp(β*_{0j}) (:func:`loss_ceiling`: every fitted mass → 0), the value of a fit no
translation brings near the truth; each point counts its fits at the ceiling, and the median's
slope is reported beside the mean's.

**Prediction.** The rate predictor (:func:`moetheory.rates.predict.predict`) on the pair's
computed facts gives the theorem and its parameter rates, exact-specified (k = k*) or
over-specified (k > k*). Every Voronoi loss of a covered pair is Õ_P(n^{-1/2}) (the reading
rule of §5): when every parameter rate is polynomial the predicted slope of log(mean loss) on
log n is −1/2; when one is *slower than any polynomial* (a gate-internal PDE: cosine router,
dense-to-sparse temperature gate, softmax with linear experts) the loss decays slower than any
power of n and the predicted slope is 0 (its limit; at finite n a logarithmic rate 1/log^τ n has
local slope −τ/log n); when the theorem states no exponent ([open]) or no theorem covers the
pair the prediction is ``None`` and the measured slope is the (empirical) answer.

**Verdict** (:func:`verdict`, :data:`VERDICT_RULE`): ``inconclusive`` with fewer than
:data:`~moetheory.experiments.stats.MIN_GROUPS` sample sizes, when more than 10 % of the fits
did not converge, without an interval (one replicate per size) or with one wider than
:data:`MAX_WIDTH`; ``inconsistent`` when the whole interval lies above +tol (a loss that grows
with n contradicts every prediction); ``empirical`` when there is no prediction; for a
polynomial prediction p, ``consistent`` when the 95 % interval meets [p − tol, p + tol]
(tol = 0.1: a (log n / n)^{1/2} rate has local slope −1/2 + 1/(2 log n), within 0.1 of −1/2 for
n ≥ 150) and ``inconsistent`` otherwise; for a logarithmic prediction, ``consistent`` when the
whole interval lies above −1/2 + tol (the loss decays measurably slower than the parametric
rate, and the two predictions cannot both be consistent with one interval), ``inconsistent``
when it lies below −1/2 + tol, ``inconclusive`` when it straddles it.

Example
-------
>>> predicted_slope("softmax", "scaled-tanh", dim=1, over=True)["predicted"]
-0.5
>>> predicted_slope("cosine", "scaled-tanh", dim=2, over=False)["predicted_kind"]
'logarithmic'
>>> verdict(-0.47, (-0.55, -0.40), -0.5, "polynomial", sizes=6, converged=1.0)
('consistent', 'the 95 % interval [-0.55, -0.4] meets -0.5 ± 0.1')
>>> verdict(-0.47, (-0.55, -0.40), 0.0, "logarithmic", sizes=6, converged=1.0)[0]
'inconclusive'
>>> verdict(2.4, (2.0, 2.4), 0.0, "logarithmic", sizes=6, converged=1.0)[0]
'inconsistent'

Reference: ``shared/reference/identifiability.md`` §5–§7, ``cosine_router.md`` §3.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Literal

import numpy as np
import torch
from torch import Tensor

from moetheory.experiments.simulate.truth import Simulation
from moetheory.experiments.stats import MIN_GROUPS, mean_loglog_fit

__all__ = [
    "CONVERGED_FRACTION",
    "MAX_WIDTH",
    "VERDICT_RULE",
    "TOLERANCE",
    "fit_losses",
    "formula_prediction",
    "loss_ceiling",
    "predicted_slope",
    "slope_of",
    "summarise",
    "translates",
    "verdict",
]

TOLERANCE = 0.1
"""Half-width of the band around a polynomial predicted slope (module docstring)."""

CONVERGED_FRACTION = 0.9
"""Fewest converged fits (a fraction) for a verdict."""

_REGRESSION_ENTRY = "regression function"

MAX_WIDTH = 0.5
"""The widest 95 % slope interval a verdict is read from."""

VERDICT_RULE = (
    "inconclusive with fewer than 5 sizes, under 90 % converged fits, no interval or one wider "
    "than 0.5; inconsistent when the interval lies above +tol (the loss grows); polynomial "
    "prediction p: consistent iff the interval meets [p - tol, p + tol]; logarithmic "
    "prediction: consistent iff it lies above -1/2 + tol, inconsistent iff below, else "
    "inconclusive; no prediction: empirical"
)


@lru_cache(maxsize=256)
def _prediction(gate: str, expert: str, dim: int) -> Any:
    from moetheory.identify.api import identify
    from moetheory.rates.facts import pair_facts
    from moetheory.rates.predict import predict
    from moetheory.rbar import rbar_value

    # an r̄-dependent over-specified rate is polynomial once r̄(2) is certified
    return predict(pair_facts(identify(gate, expert, dim=dim), dim), rbar=rbar_value)


def predicted_slope(gate: str, expert: str, *, dim: int, over: bool) -> dict[str, Any]:
    """The predicted slope of log(mean Voronoi loss) on log n for a built-in pair, with the
    theorem and the loss it is stated in (module docstring): keys ``predicted``,
    ``predicted_kind``, ``predicted_text``, ``theorem``, ``source``, ``loss``."""
    return slope_of(_prediction(gate, expert, dim), over=over)


def formula_prediction(sim: Simulation, seconds: float = 120.0) -> Any:
    """The rate predictor's :class:`~moetheory.rates.predict.Prediction` for a simulation
    whose gate or expert is a formula: the engine on the formula pair (the safe parser), then
    :func:`~moetheory.rates.facts.formula_facts` — nothing is declared but the normalisation
    (and a built-in gate's score class), so a theorem applies only where its computed
    hypotheses hold."""
    from moetheory.experiments.simulate.truth import formula_sides
    from moetheory.families import get_router
    from moetheory.identify.api import formula_model, identify
    from moetheory.rates.facts import model_facts
    from moetheory.rates.predict import predict
    from moetheory.rbar import rbar_value

    cfg = sim.config
    d = cfg["dim"]
    sides, normalisation = formula_sides(cfg["gate"], cfg["expert"], d)
    g, e = sides["gate"], sides["expert"]
    model = formula_model(
        g["formula"],
        g["params"],
        e["formula"],
        e["params"],
        [f"x{i + 1}" for i in range(d)],
        e.get("gaussian_output"),
        e.get("variance_param"),
        [*g["positive"], *e["positive"]],
    )
    verdict = identify(model=model, dim=d, seconds=seconds)
    score = get_router(cfg["gate"]).score if isinstance(cfg["gate"], str) else None
    facts = model_facts(verdict, model, normalisation=normalisation, score=score)
    return predict(facts, rbar=rbar_value)


def slope_of(p: Any, *, over: bool) -> dict[str, Any]:
    """The predicted slope (module docstring) from a rate prediction ``p``, for an over- or
    exact-specified fit; keys as :func:`predicted_slope`."""
    out: dict[str, Any] = {
        "predicted": None,
        "predicted_kind": None,
        "theorem": None if p.theorem is None else p.theorem.id,
        "source": p.source,
        "loss": "D1" if p.theorem is None else p.theorem.loss,
    }
    if p.theorem is None:
        out["predicted_text"] = "no theorem covers this pair: the measured slope is empirical"
        return out
    entries = [
        e for e in p.rates["over" if over else "exact"] if _REGRESSION_ENTRY not in e.parameters
    ]
    kinds = {e.rate.kind for e in entries}
    setting = "over-specified" if over else "exact-specified"
    if "logarithmic" in kinds:
        out["predicted"], out["predicted_kind"] = 0.0, "logarithmic"
        out["predicted_text"] = f"slower than any polynomial ({setting}, {p.theorem.id}): slope → 0"
    elif entries and kinds == {"polynomial"}:
        out["predicted"], out["predicted_kind"] = -0.5, "polynomial"
        out["predicted_text"] = f"{p.theorem.loss} = Õ(n^-1/2) ({setting}, {p.theorem.id})"
    else:
        out["predicted_text"] = (
            f"{p.theorem.id} states no exponent for the {setting} parameters ([open]): "
            "the measured slope is empirical"
        )
    return out


def _rbar(m: int) -> int:
    """r̄(m) from the r̄ solver, certified; a cell size it cannot certify raises LookupError
    (d2_loss then names it)."""
    from moetheory.rbar import rbar_value

    value = rbar_value(m)
    if value is None:
        raise LookupError(f"r̄({m}) is not certified")
    return value


def translates(sim: Simulation) -> bool:
    """Whether the loss is the infimum over the softmax translation (a linear score; the
    papers' definition): :attr:`Simulation.translates`."""
    return sim.translates


def loss_ceiling(sim: Simulation) -> float | None:
    """Σ_j exp(β*_{0j}): the value the infimum over the translation tends to as every fitted
    mass → 0 — the loss of a fit no translation brings near the truth (``None`` where the
    loss is not an infimum)."""
    if not translates(sim):
        return None
    return float(torch.as_tensor(sim.truth.measure().beta0).exp().sum())


def fit_losses(sim: Simulation, theta: Tensor, loss: str) -> np.ndarray:
    """The Voronoi loss (``"D1"`` or ``"D2"``) of each fitted (B, k, p) ``theta`` against the
    truth, float64 on the CPU. Fits hold the gauge of the score translations at the truth's
    values (:attr:`Simulation.gauge`); for a linear score the loss is the infimum over the
    translation (the papers' definition, :func:`translates`: an over-specified fit may hand
    the fixed atom's role to another atom, a relabelling the gauge alone would score as a large
    loss), elsewhere the parameters are compared as they are; each atom's rescaling symmetry is
    divided out of both
    (:func:`~moetheory.experiments.simulate.symmetry.canonical`; ``rescaling = "keep"`` in
    the configuration compares the raw parameters instead). A fit with a Voronoi cell
    whose r̄ the solver cannot certify (D2, a cell of more than 3 atoms), or whose parameters
    overflow exp(β₀), gets NaN: counted in ``fits``, not in the means."""
    from moetheory.experiments.simulate.symmetry import canonical
    from moetheory.rates.voronoi import LossInputError, MixingMeasure, d1_loss, d2_loss

    model = sim.truth.model
    theta = theta.detach().to("cpu", torch.float64)
    truth_theta = sim.truth.theta
    if sim.config.get("rescaling", "divide") == "divide":
        theta, truth_theta = canonical(model, theta), canonical(model, truth_theta)
    fit = model.to_measure(theta)
    truth = model.to_measure(truth_theta)

    translation: Literal["infimum", "none"] = "infimum" if translates(sim) else "none"

    def score(measure: MixingMeasure) -> np.ndarray:
        with torch.no_grad():
            if loss == "D2":
                values = d2_loss(measure, truth, rbar=_rbar, translation=translation)
            else:
                values = d1_loss(measure, truth, translation=translation)
        return np.asarray(torch.as_tensor(values).cpu().numpy(), dtype=float)

    try:
        return score(fit)
    except LossInputError:  # a fit whose cell needs an r̄ the solver cannot certify
        out = np.full(theta.shape[0], np.nan)
        for b in range(theta.shape[0]):
            try:
                out[b] = float(score(model.to_measure(theta[b : b + 1])))
            except LossInputError:
                pass
        return out


def verdict(
    slope: float | None,
    ci: tuple[float | None, float | None],
    predicted: float | None,
    kind: str | None,
    *,
    sizes: int,
    converged: float,
    tolerance: float = TOLERANCE,
) -> tuple[str, str]:
    """(verdict, reason) by the rule of the module docstring (:data:`VERDICT_RULE`)."""
    if sizes < MIN_GROUPS:
        return "inconclusive", f"{sizes} sample sizes (a slope needs at least {MIN_GROUPS})"
    if converged < CONVERGED_FRACTION:
        return "inconclusive", f"only {converged:.0%} of the fits converged"
    lo, hi = ci
    if slope is None or lo is None or hi is None or not hi > lo:
        return "inconclusive", "no slope interval (one replicate per size?)"
    if predicted is None:
        return "empirical", "no theorem predicts a slope for this pair"
    where = f"the 95 % interval [{lo:.3g}, {hi:.3g}]"
    if lo > tolerance:
        return "inconsistent", f"{where} lies above {tolerance:g}: the loss grows with n"
    if hi - lo > MAX_WIDTH:
        return "inconclusive", f"{where} is wider than {MAX_WIDTH:g}"
    if kind == "logarithmic":
        if lo > -0.5 + tolerance:
            return "consistent", f"{where} lies above -1/2 + {tolerance:g}: slower decay"
        if hi < -0.5 + tolerance:
            return "inconsistent", f"{where} lies below -1/2 + {tolerance:g}: near-parametric"
        return "inconclusive", f"{where} straddles -1/2 + {tolerance:g}"
    if lo <= predicted + tolerance and hi >= predicted - tolerance:
        return "consistent", f"{where} meets {predicted:g} ± {tolerance:g}"
    return "inconsistent", f"{where} misses {predicted:g} ± {tolerance:g}"


def summarise(
    results: list[dict],
    prediction: dict[str, Any],
    *,
    seed: int,
    n_boot: int = 2000,
    tolerance: float = TOLERANCE,
    ceiling: float | None = None,
) -> dict[str, Any]:
    """The points (per n: fits, converged, non-finite losses — a fit whose parameters
    overflow the loss —, mean / standard error / median of the finite losses), the
    slope with its bootstrap interval, the prediction and the verdict, from the per-fit
    ``results`` (each with ``n``, ``loss``, ``converged``). Every fit's loss enters the means
    (a non-converged fit is an estimate too); the converged fraction gates the verdict."""
    ns = np.array([r["n"] for r in results], dtype=float)
    losses = np.array([np.nan if r["loss"] is None else r["loss"] for r in results], dtype=float)
    conv = np.array([bool(r["converged"]) for r in results])
    points = []
    for n in sorted(set(ns.tolist())):
        at = losses[ns == n]
        finite = at[np.isfinite(at)]
        se = float(finite.std(ddof=1) / np.sqrt(finite.size)) if finite.size > 1 else None
        points.append(
            {
                "n": int(n),
                "fits": int(at.size),
                "nonfinite": int(at.size - finite.size),
                "at_ceiling": (
                    None
                    if ceiling is None
                    else int((np.abs(finite - ceiling) <= 1e-9 * ceiling).sum())
                ),
                "converged": int(conv[ns == n].sum()),
                "mean_loss": float(finite.mean()) if finite.size else None,
                "se_loss": se,
                "median_loss": float(np.median(finite)) if finite.size else None,
            }
        )
    usable = np.isfinite(losses) & (losses > 0)
    slope = intercept = lo = hi = None
    median: dict[str, Any] = {"slope": None, "ci": [None, None]}
    if np.unique(ns[usable]).size >= 2:
        fit = mean_loglog_fit(ns[usable], losses[usable], n_boot=n_boot, seed=seed).to_json()
        slope, intercept, (lo, hi) = fit["slope"], fit["intercept"], fit["ci"]
        median = mean_loglog_fit(
            ns[usable], losses[usable], n_boot=n_boot, seed=seed, statistic="median"
        ).to_json()
    converged = float(conv.mean()) if conv.size else 0.0
    v, why = verdict(
        slope,
        (lo, hi),
        prediction.get("predicted"),
        prediction.get("predicted_kind"),
        sizes=len(points),
        converged=converged,
        tolerance=tolerance,
    )
    return {
        "points": points,
        "slope": slope,
        "intercept": intercept,
        "ci": [lo, hi],
        "level": 0.95,
        "fit_on": "log of the mean loss at each n (every fit with a finite loss, converged or "
        "not) on log n, natural logarithms, OLS over the distinct n",
        "ci_method": f"percentile bootstrap, {n_boot} resamples of the replicates within each "
        f"n (stats.mean_loglog_fit, seed {seed})",
        "median_slope": median["slope"],
        "median_ci": median["ci"],
        **{k: prediction.get(k) for k in ("predicted", "predicted_kind", "predicted_text")},
        "theorem": prediction.get("theorem"),
        "source": prediction.get("source"),
        "verdict": v,
        "verdict_reason": why,
        "verdict_rule": VERDICT_RULE,
        "tolerance": tolerance,
        "fits": int(losses.size),
        "nonfinite_losses": int((~np.isfinite(losses)).sum()),
        "loss_ceiling": ceiling,
        "converged_fraction": converged,
    }
