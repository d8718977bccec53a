"""Batched simulation fits versus per-fit loops, on the same problems from the same starts.

For each sample size n (default 100, 1000, 10000) B fits (default 200: replicates of one
truth, one near-truth start each, drawn by ``simulation_data``; the softmax gauge fixed) are run

* **EM** (softmax × gaussian-linear, d = 1, k = k* = 2; the truth β₁ = (25, 0), β₀ = (−8, 0),
  a = (−20, 20), b = (15, −5), ν = (0.09, 0.16), X ~ U[0, 1]): batched ``fit_em`` on all B
  fits, versus ``fit_em`` called with B = 1 once per fit, versus the per-fit numpy EM of
  ``benchmarks/_em_reference.py`` (written from fit_em's documented algorithm). Objective: the
  log-likelihood ℓ. Each pair must agree within 1e-6 relative for every fit (one iteration
  more or less at the stopping rule |Δℓ| ≤ 1e-6·|ℓ| moves ℓ by less): a mismatch exits 1.
* **least squares** (softmax × scaled-tanh by default, d = 1, k = k* = 2, noise σ = 0.1,
  X ~ U[−1, 1]): batched ``fit_least_squares`` (tol 1e-10) versus, per fit,
  ``scipy.optimize.least_squares(method="lm")`` and ``scipy.optimize.minimize(method=
  "L-BFGS-B")`` on the cost ½Σr², both with the analytic Jacobian / gradient and over the
  free parameters only (the gauge held at its start, as the batched fit does). Objective: the
  cost. Non-convex: from the same start two methods may stop in different local minima, so
  disagreement is reported (the fraction of fits within 1e-6 relative, and how many the
  batched fit ends lower or higher), not failed.

Printed per setting: wall times, ratio loop / batched, and the relative difference of the
final objectives |a − b| / |b| (median, max, fraction ≤ 1e-6); the torch thread count (set
by ``--threads``, default 2; OpenBLAS, used by the numpy and scipy loops, gets one thread
unless OPENBLAS_NUM_THREADS says otherwise) and the machine load (os.getloadavg()) before and
after. Batched times are the median of ``--repeats`` runs after a warm-up; loops run once
after a warm-up.

    python benchmarks/simulate_fits.py [--fits 200] [--sizes 100,1000,10000] [--threads 2]
        [--repeats 3] [--ls-expert scaled-tanh|linear] [--skip em|ls]

Reference: shared/reference/experiments.md §3 (batched fits of many small models).
"""

from __future__ import annotations

import os

# Before numpy loads OpenBLAS: the per-fit baselines multiply tiny matrices, where BLAS threads
# only spin (on a shared 2-core machine L-BFGS-B ran 100x slower with 2 of them).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from typing import TypeVar  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
from _em_reference import em_softmax_linear, regression_softmax, residual_jacobian  # noqa: E402
from scipy.optimize import least_squares, minimize  # noqa: E402

from moetheory.experiments.simulate.fit_em import fit_em  # noqa: E402
from moetheory.experiments.simulate.fit_ls import fit_least_squares  # noqa: E402
from moetheory.experiments.simulate.truth import (  # noqa: E402
    SimData,
    Simulation,
    load_simulation,
)
from moetheory.experiments.simulate.truth import simulation_data as make_data  # noqa: E402

EM_CONFIG = {
    "gate": "softmax",
    "expert": "gaussian-linear",
    "dim": 1,
    "atoms": [
        {"beta1": 25.0, "beta0": -8.0, "a1": -20.0, "b": 15.0, "nu": 0.09},
        {"beta1": 0.0, "beta0": 0.0, "a1": 20.0, "b": -5.0, "nu": 0.16},
    ],
    "input": {"low": [0.0], "high": [1.0]},
    "fit": {"starts": 1, "init": "near-truth", "init_scale": 0.5},
}
LS_ATOMS = {
    "scaled-tanh": [
        {"beta1": 6.0, "beta0": 0.0, "c": 2.0, "a1": 1.5},
        {"beta1": 0.0, "beta0": 0.0, "c": -2.0, "a1": 1.0},
    ],
    "linear": [
        {"beta1": 4.0, "beta0": 0.0, "a1": 1.0, "b": 3.0},
        {"beta1": 0.0, "beta0": 0.0, "a1": -2.0, "b": -1.0},
    ],
}
T = TypeVar("T")
AGREE = 1e-6
EM_TOL = 1e-6
LS_TOL = 1e-10
LBFGS_FTOL, LBFGS_GTOL = 1e-12, 1e-8


def setting(config: dict, n: int, fits: int) -> tuple[Simulation, SimData]:
    sim = load_simulation({**config, "sizes": [n], "replicates": fits})
    return sim, make_data(sim)


def timed(fn: Callable[[], T], repeats: int = 1) -> tuple[float, T]:
    """(median seconds over ``repeats`` runs, the last result)."""
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times), out


def agreement(got: np.ndarray, reference: np.ndarray) -> str:
    rel = np.abs(got - reference) / np.maximum(np.abs(reference), 1e-300)
    lower = int(np.sum(got < reference - AGREE * np.abs(reference)))
    higher = int(np.sum(got > reference + AGREE * np.abs(reference)))
    return (
        f"rel. diff median {np.median(rel):.1e} max {rel.max():.1e}, "
        f"within {AGREE:g}: {np.mean(rel <= AGREE):.1%} (batched lower {lower}, higher {higher})"
    )


def max_rel(got: np.ndarray, reference: np.ndarray) -> float:
    return float((np.abs(got - reference) / np.maximum(np.abs(reference), 1e-300)).max())


# ---------------------------------------------------------------------------------------------
# EM
# ---------------------------------------------------------------------------------------------


def em_row(n: int, fits: int, repeats: int) -> bool:
    sim, data = setting(EM_CONFIG, n, fits)
    model, gauge = sim.truth.model, sim.gauge
    x, y, nn, starts = data.x, data.y, data.n, data.starts

    def batched():
        return fit_em(model, x, y, nn, starts, tol=EM_TOL, fixed=gauge)

    def one(b: int):
        rows = slice(b, b + 1)
        return fit_em(model, x[rows], y[rows], nn[rows], starts[rows], tol=EM_TOL, fixed=gauge)

    def reference(b: int):
        m = int(nn[b])
        return em_softmax_linear(
            x[b, :m].numpy(), y[b, :m].numpy(), starts[b, 0].numpy(), tol=EM_TOL
        )

    one(0)  # warm-ups: first-call costs (allocator, compiled derivatives)
    reference(0)
    fit_em(model, x[:2], y[:2], nn[:2], starts[:2], tol=EM_TOL, fixed=gauge)
    t_batched, res = timed(batched, repeats)
    t_loop, loop = timed(lambda: [one(b) for b in range(fits)])
    t_ref, ref = timed(lambda: [reference(b) for b in range(fits)])
    ll = res.loglik.numpy()
    ll_loop = np.array([float(r.loglik[0]) for r in loop])
    ll_ref = np.array([r.loglik for r in ref])
    iters = res.iterations.numpy()
    conv = float(res.converged.double().mean())
    print(
        f"EM  n={n:>6}: batched {t_batched:7.3f} s | fit_em loop (B=1) {t_loop:7.3f} s, "
        f"ratio {t_loop / t_batched:6.2f}x | numpy loop {t_ref:7.3f} s, ratio "
        f"{t_ref / t_batched:6.2f}x | iterations mean {iters.mean():.1f} max {iters.max()}, "
        f"converged {conv:.0%}"
    )
    print(f"    ℓ batched vs fit_em loop: {agreement(ll, ll_loop)}")
    print(f"    ℓ batched vs numpy EM:    {agreement(ll, ll_ref)}")
    return max(max_rel(ll, ll_loop), max_rel(ll, ll_ref)) <= AGREE


# ---------------------------------------------------------------------------------------------
# Least squares
# ---------------------------------------------------------------------------------------------


def scipy_fits(data: SimData, free: np.ndarray, expert: str, method: str) -> np.ndarray:
    """Final costs of one scipy fit per problem (start 0), over the free parameters."""
    costs = []
    for b in range(data.x.shape[0]):
        n = int(data.n[b])
        x, y = data.x[b, :n, 0].numpy(), data.y[b, :n].numpy()
        theta0 = data.starts[b, 0].numpy().ravel()

        def full(v: np.ndarray, theta0: np.ndarray = theta0) -> np.ndarray:
            t = theta0.copy()
            t[free] = v
            return t

        def residuals(v: np.ndarray, x: np.ndarray = x, y: np.ndarray = y) -> np.ndarray:
            return regression_softmax(full(v), x, expert) - y

        def jacobian(v: np.ndarray, x: np.ndarray = x) -> np.ndarray:
            return residual_jacobian(full(v), x, expert)[:, free]

        if method == "lm":
            fit = least_squares(
                residuals,
                theta0[free],
                jac=jacobian,
                method="lm",
                xtol=LS_TOL,
                ftol=LS_TOL,
                gtol=LS_TOL,
            )
            costs.append(fit.cost)
        else:

            def cost_grad(v: np.ndarray, x: np.ndarray = x, y: np.ndarray = y):
                r = residuals(v, x, y)
                return 0.5 * float(r @ r), jacobian(v, x).T @ r

            fit = minimize(
                cost_grad,
                theta0[free],
                jac=True,
                method="L-BFGS-B",
                options={"maxiter": 20000, "ftol": LBFGS_FTOL, "gtol": LBFGS_GTOL},
            )
            costs.append(fit.fun)
    return np.array(costs)


def ls_row(n: int, fits: int, repeats: int, expert: str) -> None:
    config = {
        **EM_CONFIG,
        "expert": expert,
        "atoms": LS_ATOMS[expert],
        "noise": 0.1,
        "input": {"low": [-1.0], "high": [1.0]},
        "fit": {"starts": 1, "init": "near-truth", "init_scale": 0.3},
    }
    sim, data = setting(config, n, fits)
    model, gauge = sim.truth.model, sim.gauge
    assert gauge is not None
    free = ~gauge.numpy().ravel()

    def batched():
        return fit_least_squares(
            model, data.x, data.y, data.n, data.starts, tol=LS_TOL, fixed=gauge
        )

    fit_least_squares(model, data.x[:2], data.y[:2], data.n[:2], data.starts[:2], fixed=gauge)
    t_batched, res = timed(batched, repeats)
    small = SimData(data.x[:1], data.y[:1], data.n[:1], data.starts[:1], *([()] * 4))
    scipy_fits(small, free, expert, "lm")  # warm-ups
    scipy_fits(small, free, expert, "lbfgs")
    t_lm, c_lm = timed(lambda: scipy_fits(data, free, expert, "lm"))
    t_bfgs, c_bfgs = timed(lambda: scipy_fits(data, free, expert, "lbfgs"))
    cost = res.cost.numpy()
    iters = res.iterations.numpy()
    conv = float(res.converged.double().mean())
    print(
        f"LS  n={n:>6}: batched {t_batched:7.3f} s | scipy lm loop {t_lm:7.3f} s, ratio "
        f"{t_lm / t_batched:6.2f}x | scipy L-BFGS-B loop {t_bfgs:7.3f} s, ratio "
        f"{t_bfgs / t_batched:6.2f}x | iterations mean {iters.mean():.1f} max {iters.max()}, "
        f"converged {conv:.0%}"
    )
    print(f"    cost batched vs scipy lm:       {agreement(cost, c_lm)}")
    print(f"    cost batched vs scipy L-BFGS-B: {agreement(cost, c_bfgs)}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--fits", type=int, default=200, help="B, fits per setting")
    parser.add_argument("--sizes", default="100,1000,10000", help="comma-separated n")
    parser.add_argument("--threads", type=int, default=2, help="torch.set_num_threads")
    parser.add_argument("--repeats", type=int, default=3, help="batched runs (median taken)")
    parser.add_argument("--ls-expert", default="scaled-tanh", choices=sorted(LS_ATOMS))
    parser.add_argument("--skip", default="", choices=("", "em", "ls"))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    load = os.getloadavg()
    print(
        f"torch {torch.__version__}, {platform.machine()}, {os.cpu_count()} CPUs, torch threads "
        f"set to {torch.get_num_threads()}, load average {load[0]:.2f} {load[1]:.2f} "
        f"{load[2]:.2f}"
    )
    print(
        f"B = {args.fits} fits per n, one near-truth start each, softmax gauge fixed; EM: "
        f"softmax x gaussian-linear, tol {EM_TOL:g}; LS: softmax x {args.ls_expert}, "
        f"tol {LS_TOL:g} (scipy lm xtol=ftol=gtol {LS_TOL:g}; L-BFGS-B ftol {LBFGS_FTOL:g}, "
        f"gtol {LBFGS_GTOL:g}); numpy/scipy OPENBLAS_NUM_THREADS="
        f"{os.environ.get('OPENBLAS_NUM_THREADS')}"
    )
    sizes = [int(v) for v in args.sizes.split(",")]
    ok = True
    started = time.perf_counter()
    if args.skip != "em":
        for n in sizes:
            ok &= em_row(n, args.fits, args.repeats)
    if args.skip != "ls":
        for n in sizes:
            ls_row(n, args.fits, args.repeats, args.ls_expert)
    load = os.getloadavg()
    print(
        f"total {time.perf_counter() - started:.1f} s; load average after: {load[0]:.2f} "
        f"{load[1]:.2f} {load[2]:.2f}; EM agreement (every fit within {AGREE:g}): "
        f"{'OK' if ok else 'MISMATCH'}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
