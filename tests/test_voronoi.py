"""Voronoi losses D1 / D2 (identifiability.md §5): exact values, invariances, numpy == torch,
batching, the softmax translation, autograd, typed errors and the rate-reading behaviour."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from moetheory.errors import MoetheoryError
from moetheory.rates.voronoi import (
    LossInputError,
    MixingMeasure,
    d1_loss,
    d2_loss,
    voronoi_cells,
)

RBAR = {2: 4, 3: 6, 4: 8, 5: 10}  # test values only; the library has none built in
TRANSLATIONS = ("none", "fix-last", "infimum")
LN = math.log


def _random(rng, R, k, scale=1.0, d=2, p=3, nu=True):
    return MixingMeasure(
        beta0=rng.normal(size=(R, k)) * 0.5,
        beta1=rng.normal(size=(R, k, d)) * scale,
        eta=rng.normal(size=(R, k, p)) * scale,
        nu=rng.uniform(0.5, 2.0, size=(R, k)) if nu else None,
    )


def _torch(m, dtype=torch.float64, grad=False):
    def conv(x):
        return None if x is None else torch.tensor(x, dtype=dtype, requires_grad=grad)

    return MixingMeasure(conv(m.beta0), conv(m.beta1), conv(m.eta), conv(m.nu))


def _permute(m, perm):
    return MixingMeasure(
        m.beta0[..., perm],
        m.beta1[..., perm, :],
        m.eta[..., perm, :],
        None if m.nu is None else m.nu[..., perm],
    )


def _loss(kind, fit, truth, **kw):
    if kind == "d1":
        return d1_loss(fit, truth, **kw)
    return d2_loss(fit, truth, rbar=RBAR, **kw)


# A truth in the authors' gauge (last gate at 0), d = 2, η = (a1, a2, b).
TRUTH = MixingMeasure(
    beta0=[-1.0, 0.5, 0.0],
    beta1=[[2.0, 1.0], [-1.5, 0.5], [0.0, 0.0]],
    eta=[[1.0, -1.0, 0.5], [0.0, 2.0, -1.0], [-2.0, 0.0, 1.0]],
    nu=[0.5, 1.0, 0.25],
)


# --------------------------------------------------------------------------- exact values


@pytest.mark.parametrize("kind", ["d1", "d2"])
@pytest.mark.parametrize("translation", TRANSLATIONS)
def test_zero_at_truth(kind, translation):
    batched = MixingMeasure(
        *(np.stack([x, x]) for x in (TRUTH.beta0, TRUTH.beta1, TRUTH.eta, TRUTH.nu))
    )
    for fit in (TRUTH, batched, _torch(batched)):
        out = _loss(kind, fit, TRUTH, translation=translation)
        assert np.allclose(np.asarray(out), 0.0, atol=1e-14)
    assert np.shape(_loss(kind, TRUTH, TRUTH)) == ()
    assert np.shape(_loss(kind, batched, TRUTH)) == (2,)


def test_d1_merged_atoms_second_order():
    # k* = 1, k = 2: both fitted atoms in the one cell → mass term + squared distances.
    truth = MixingMeasure([0.0], [[0.0]], [[0.0, 0.0]], [1.0])
    fit = MixingMeasure(
        [LN(0.25), LN(0.75)], [[0.1], [-0.2]], [[0.2, 0.0], [0.0, -0.1]], [1.1, 0.8]
    )
    # 0.25·(0.01 + 0.04 + 0.01) + 0.75·(0.04 + 0.01 + 0.04)
    assert float(d1_loss(fit, truth)) == pytest.approx(0.0825, abs=1e-14)
    # Unequal total mass adds |Σ w − 1|.
    heavier = MixingMeasure([LN(0.5), LN(0.75)], fit.beta1, fit.eta, fit.nu)
    expected = 0.25 + 0.5 * 0.06 + 0.75 * 0.09
    assert float(d1_loss(heavier, truth)) == pytest.approx(expected, abs=1e-14)


def test_d1_exact_specified_first_order():
    truth = MixingMeasure([0.0, LN(2.0)], [[0.0], [3.0]], [[0.0, 0.0], [1.0, 1.0]], [1.0, 1.0])
    fit = MixingMeasure([LN(1.5), LN(2.0)], [[0.3], [3.0]], [[0.3, 0.4], [1.0, 1.0]], [1.2, 0.9])
    # |1.5 − 1| + |2 − 2| + 1.5·(0.3 + 0.5 + 0.2) + 2·(0 + 0 + 0.1)
    assert float(d1_loss(fit, truth)) == pytest.approx(2.2, abs=1e-13)
    # Without variances the ν terms disappear.
    fit_nv = MixingMeasure(fit.beta0, fit.beta1, fit.eta)
    truth_nv = MixingMeasure(truth.beta0, truth.beta1, truth.eta)
    assert float(d1_loss(fit_nv, truth_nv)) == pytest.approx(0.5 + 1.5 * 0.8, abs=1e-13)


def test_d2_merged_atoms_rbar():
    truth = MixingMeasure([0.0], [[0.0]], [[0.0, 0.0]], [1.0])  # η = (a, b)
    fit = MixingMeasure([LN(0.5), LN(0.5)], [[0.5], [-0.5]], [[0.2, 0.1], [-0.2, -0.1]], [1.5, 0.5])
    # per atom: |Δβ1|^r + |Δb|^r + |Δa|^{r/2} + |Δν|^{r/2}, weights 0.5 + 0.5
    r4 = 0.5**4 + 0.1**4 + 0.2**2 + 0.5**2
    r6 = 0.5**6 + 0.1**6 + 0.2**3 + 0.5**3
    assert float(d2_loss(fit, truth, rbar={2: 4})) == pytest.approx(r4, abs=1e-14)
    assert float(d2_loss(fit, truth, rbar=lambda m: 2 * m + 2)) == pytest.approx(r6, abs=1e-14)
    # η = (b, a): naming the intercept first swaps the roles.
    swapped = float(d2_loss(fit, truth, rbar={2: 4}, intercept_index=0, slope_index=[1]))
    assert swapped == pytest.approx(0.5**4 + 0.2**4 + 0.1**2 + 0.5**2, abs=1e-14)


def test_d2_exact_specified_separates_slope_and_intercept():
    truth = MixingMeasure([0.0], [[0.0, 0.0]], [[0.0, 0.0, 0.0]], [1.0])  # η = (a1, a2, b)
    fit = MixingMeasure([0.0], [[0.6, 0.8]], [[0.3, 0.4, -0.5]], [1.25])
    # ‖Δβ1‖ + ‖Δa‖ + |Δb| + |Δν| = 1 + 0.5 + 0.5 + 0.25; D1 uses ‖Δη‖ = √0.5 instead.
    assert float(d2_loss(fit, truth, rbar={})) == pytest.approx(2.25, abs=1e-14)
    assert float(d1_loss(fit, truth)) == pytest.approx(1.25 + math.sqrt(0.5), abs=1e-14)


def test_empty_cell_contributes_its_mass():
    truth = MixingMeasure([0.0, LN(3.0)], [[0.0], [5.0]], [[0.0], [0.0]])
    fit = MixingMeasure([LN(2.0)], [[0.5]], [[0.0]])
    assert float(d1_loss(fit, truth)) == pytest.approx(1.0 + 3.0 + 2.0 * 0.5, abs=1e-13)


def test_cells_tie_goes_to_smallest_index_and_use_eta_and_nu():
    truth = MixingMeasure([0.0, 0.0], [[0.0], [2.0]], [[0.0], [0.0]], [1.0, 1.0])
    fit = MixingMeasure(
        [0.0] * 4, [[1.0], [1.0], [1.9], [0.2]], [[0.0], [0.0], [0.0], [0.0]], [1.0, 1.5, 1.0, 1.0]
    )
    cells = voronoi_cells(fit, truth)
    assert cells.dtype == np.int64 and cells.tolist() == [0, 0, 1, 0]
    tcells = voronoi_cells(_torch(fit), _torch(truth))
    assert tcells.tolist() == [0, 0, 1, 0]
    # η enters the distance; β0 does not.
    fit2 = MixingMeasure([9.0, -9.0], [[1.0], [1.0]], [[0.5], [-0.5]])
    truth2 = MixingMeasure([0.0, 0.0], [[1.0], [1.0]], [[-0.5], [0.5]])
    assert voronoi_cells(fit2, truth2).tolist() == [1, 0]


# --------------------------------------------------------------------------- invariances


@pytest.mark.parametrize("kind", ["d1", "d2"])
@pytest.mark.parametrize("translation", ["none", "infimum"])
def test_permutation_of_fitted_atoms(kind, translation):
    rng = np.random.default_rng(1)
    truth = _random(rng, 1, 2)
    fit = _random(rng, 4, 4)
    base = _loss(kind, fit, truth, translation=translation)
    for perm in ([3, 2, 1, 0], [1, 3, 0, 2]):
        assert np.allclose(
            _loss(kind, _permute(fit, perm), truth, translation=translation),
            base,
            rtol=1e-10,
            atol=1e-12,
        )


@pytest.mark.parametrize("kind", ["d1", "d2"])
@pytest.mark.parametrize("translation", TRANSLATIONS)
def test_numpy_equals_torch_and_batched_equals_loop(kind, translation):
    rng = np.random.default_rng(2)
    truth = _random(rng, 1, 2, scale=0.5)
    fit = _random(rng, 5, 3, scale=0.5)
    # near-truth replicates too, so the infimum is not the trivial t0 → −∞ limit
    near = MixingMeasure(
        np.concatenate([TRUTH.beta0[None] + 0.05 * rng.normal(size=(3, 3))]),
        TRUTH.beta1[None] + 0.05 * rng.normal(size=(3, 3, 2)),
        TRUTH.eta[None] + 0.05 * rng.normal(size=(3, 3, 3)),
        TRUTH.nu[None] * rng.uniform(0.9, 1.1, size=(3, 3)),
    )
    for f, t in ((fit, truth), (near, TRUTH)):
        out_np = _loss(kind, f, t, translation=translation)
        out_t = _loss(kind, _torch(f), _torch(t), translation=translation)
        assert isinstance(out_np, np.ndarray) and isinstance(out_t, torch.Tensor)
        np.testing.assert_allclose(out_t.numpy(), out_np, rtol=1e-10, atol=1e-12)
        mixed = _loss(kind, _torch(f), t, translation=translation)  # numpy truth, torch fit
        np.testing.assert_allclose(mixed.numpy(), out_np, rtol=1e-10, atol=1e-12)
        loop = [
            _loss(
                kind,
                MixingMeasure(f.beta0[r], f.beta1[r], f.eta[r], f.nu[r]),
                t,
                translation=translation,
            )
            for r in range(f.batch_shape[0])
        ]
        # an unbatched fit against a truth batched with R = 1 gives shape (1,)
        np.testing.assert_allclose(
            np.concatenate([np.reshape(v, -1) for v in loop]), out_np, rtol=1e-10, atol=1e-12
        )


def test_float32_torch_and_batched_truth():
    rng = np.random.default_rng(3)
    fit, truth = _random(rng, 3, 3), _random(rng, 3, 2)
    ref = d1_loss(fit, truth)
    out = d1_loss(_torch(fit, torch.float32), _torch(truth, torch.float32))
    assert out.dtype == torch.float32
    np.testing.assert_allclose(out.numpy(), ref, rtol=1e-5)
    # a batched truth pairs replicate r with replicate r
    per = [
        float(
            d1_loss(
                MixingMeasure(fit.beta0[r], fit.beta1[r], fit.eta[r], fit.nu[r]),
                MixingMeasure(truth.beta0[r], truth.beta1[r], truth.eta[r], truth.nu[r]),
            )
        )
        for r in range(3)
    ]
    np.testing.assert_allclose(ref, per, rtol=1e-12)


# --------------------------------------------------------------------------- translation


@pytest.mark.parametrize("kind", ["d1", "d2"])
def test_shifted_truth(kind):
    t1 = np.array([[0.3, -0.7], [1.0, 2.0], [-4.0, 0.5]])
    t0 = np.array([0.4, -3.0, 1.5])
    shifted = TRUTH.translate(t1, t0)
    assert shifted.batch_shape == (3,)
    raw = _loss(kind, shifted, TRUTH)
    assert np.all(raw > 0.1)
    for translation in ("fix-last", "infimum"):
        assert np.allclose(_loss(kind, shifted, TRUTH, translation=translation), 0, atol=1e-12)
        tt = _loss(kind, _torch(shifted), _torch(TRUTH), translation=translation)
        assert torch.allclose(tt, torch.zeros(3, dtype=torch.float64), atol=1e-12)


def test_infimum_is_below_raw_and_fix_last():
    rng = np.random.default_rng(4)
    fit = MixingMeasure(
        TRUTH.beta0[None] + rng.normal(size=(6, 3)),
        TRUTH.beta1[None] + rng.normal(size=(6, 3, 2)),
        TRUTH.eta[None] + 0.2 * rng.normal(size=(6, 3, 3)),
        TRUTH.nu[None] * rng.uniform(0.8, 1.2, size=(6, 3)),
    )
    for kind in ("d1", "d2"):
        inf = _loss(kind, fit, TRUTH, translation="infimum")
        assert np.all(inf >= 0)
        assert np.all(inf <= _loss(kind, fit, TRUTH) + 1e-12)
        assert np.all(inf <= _loss(kind, fit, TRUTH, translation="fix-last") + 1e-12)
        assert np.all(inf <= np.exp(TRUTH.beta0).sum() + 1e-12)  # the t0 → −∞ limit


def test_fix_last_puts_both_measures_in_the_gauge():
    # A truth whose last gate is not 0 is normalised too: shifting it changes nothing.
    rng = np.random.default_rng(5)
    fit = _random(rng, 2, 3)
    moved = TRUTH.translate([1.0, -2.0], 0.7)
    np.testing.assert_allclose(
        d1_loss(fit, moved, translation="fix-last"),
        d1_loss(fit, TRUTH, translation="fix-last"),
        rtol=1e-12,
    )


# --------------------------------------------------------------------------- autograd


@pytest.mark.parametrize("kind", ["d1", "d2"])
@pytest.mark.parametrize("translation", TRANSLATIONS)
def test_torch_gradients(kind, translation):
    rng = np.random.default_rng(6)
    truth_np = MixingMeasure(TRUTH.beta0[:2], TRUTH.beta1[:2], TRUTH.eta[:2], TRUTH.nu[:2])
    if translation == "infimum":
        # near a shifted truth (so the optimum is an interior t, not the t0 → −∞ limit), with
        # true atom 1 split in two; small, as the search runs once per finite difference
        idx = [0, 1, 1]
        base = MixingMeasure(
            truth_np.beta0[idx] + [0.0, LN(0.4), LN(0.6)] + 0.1 * rng.normal(size=3),
            truth_np.beta1[idx] + 0.1 * rng.normal(size=(3, 2)),
            truth_np.eta[idx] + 0.1 * rng.normal(size=(3, 3)),
            truth_np.nu[idx] * rng.uniform(0.9, 1.1, size=3),
        ).translate([0.5, -0.3], 0.2)
        raw = _loss(kind, base, truth_np)
        best = _loss(kind, base, truth_np, translation="infimum")
        assert 0 < best < 0.5 * min(raw, np.exp(truth_np.beta0).sum())
    else:
        base = _random(rng, 2, 4, 0.3)
    fit = _torch(base, grad=True)
    truth = _torch(truth_np)
    params = (fit.beta0, fit.beta1, fit.eta, fit.nu)

    def f(b0, b1, eta, nu):
        return _loss(kind, MixingMeasure(b0, b1, eta, nu), truth, translation=translation)

    assert torch.autograd.gradcheck(
        f, params, eps=1e-7, atol=1e-5, fast_mode=translation == "infimum"
    )
    # at the truth (all Δ = 0) gradients exist and are finite (no NaN from ‖0‖)
    at = _torch(TRUTH, grad=True)
    out = _loss(kind, at, _torch(TRUTH), translation=translation)
    out.backward()
    for x in (at.beta0, at.beta1, at.eta, at.nu):
        assert x.grad is not None and torch.isfinite(x.grad).all()


# --------------------------------------------------------------------------- rate reading


def _slope(deltas, values):
    return np.polyfit(np.log(deltas), np.log(values), 1)[0]


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_rate_reading_d1(backend):
    deltas = np.array([1e-1, 1e-2, 1e-3, 1e-4])
    truth = MixingMeasure(
        [0.0, 0.0], [[1.0, -1.0], [0.0, 0.0]], [[1.0, 0.5, 0.0], [-1.0, 0.0, 2.0]], [1.0, 0.5]
    )
    v = np.array([0.6, -0.8, 0.3, 0.1, -0.5, 0.2])  # direction in θ = (β1, η, ν)
    over, exact = [], []
    for delta in deltas:
        # over-specified: true atom 0 split into two atoms at θ* ± δv, mass ½ each
        th0 = np.concatenate([truth.beta1[0], truth.eta[0], truth.nu[:1]])
        th1 = np.concatenate([truth.beta1[1], truth.eta[1], truth.nu[1:]])
        pts = np.stack([th0 + delta * v, th0 - delta * v, th1])
        fit = MixingMeasure([LN(0.5), LN(0.5), 0.0], pts[:, :2], pts[:, 2:5], pts[:, 5])
        pts_e = np.stack([th0 + delta * v, th1 - delta * v])
        fit_e = MixingMeasure([0.0, delta], pts_e[:, :2], pts_e[:, 2:5], pts_e[:, 5])
        if backend == "torch":
            fit, fit_e, tr = _torch(fit), _torch(fit_e), _torch(truth)
        else:
            tr = truth
        over.append(float(d1_loss(fit, tr)))
        exact.append(float(d1_loss(fit_e, tr)))
    assert _slope(deltas, over) == pytest.approx(2.0, abs=0.02)
    assert _slope(deltas, exact) == pytest.approx(1.0, abs=0.02)


def test_rate_reading_d2():
    # Two atoms split symmetrically in every coordinate: with r̄ = 4, Δβ1 and Δb enter at δ⁴,
    # Δa and Δν at δ²; moving only (β1, b) gives slope 4.
    deltas = np.array([1e-1, 1e-2, 1e-3])
    truth = MixingMeasure([0.0], [[0.0]], [[0.0, 0.0]], [1.0])
    vals_all, vals_gate = [], []
    for delta in deltas:
        fit = MixingMeasure(
            [LN(0.5)] * 2,
            [[delta], [-delta]],
            [[delta, delta], [-delta, -delta]],
            [1 + delta, 1 - delta],
        )
        fit_g = MixingMeasure(
            [LN(0.5)] * 2, [[delta], [-delta]], [[0.0, delta], [0.0, -delta]], [1.0, 1.0]
        )
        vals_all.append(float(d2_loss(fit, truth, rbar={2: 4})))
        vals_gate.append(float(d2_loss(fit_g, truth, rbar={2: 4})))
    assert _slope(deltas, vals_all) == pytest.approx(2.0, abs=0.02)
    assert _slope(deltas, vals_gate) == pytest.approx(4.0, abs=0.02)


# --------------------------------------------------------------------------- property test


@st.composite
def _pair(draw):
    R = draw(st.integers(1, 3))
    k = draw(st.integers(1, 4))
    kstar = draw(st.integers(1, 3))
    d = draw(st.integers(1, 2))
    p = draw(st.integers(2, 3))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    fit = _random(rng, R, k, draw(st.sampled_from([0.01, 1.0, 10.0])), d, p)
    truth = _random(rng, 1, kstar, 1.0, d, p)
    perm = draw(st.permutations(range(k)))
    return fit, truth, list(perm)


@settings(max_examples=60, deadline=None)
@given(_pair())
def test_property_nonnegative_and_permutation_invariant(pair):
    """D ≥ 0, permutation invariance of losses and cells, 0 ≤ infimum ≤ raw."""
    fit, truth, perm = pair
    for kind in ("d1", "d2"):
        base = _loss(kind, fit, truth)
        assert base.shape == fit.batch_shape
        assert np.all(np.isfinite(base)) and np.all(base >= 0)
        np.testing.assert_allclose(
            _loss(kind, _permute(fit, perm), truth), base, rtol=1e-10, atol=1e-12
        )
    inf = d1_loss(fit, truth, translation="infimum", max_iter=50)
    assert np.all(inf >= 0) and np.all(inf <= d1_loss(fit, truth) + 1e-12)
    cells = voronoi_cells(fit, truth)
    np.testing.assert_array_equal(voronoi_cells(_permute(fit, perm), truth), cells[:, perm])


# --------------------------------------------------------------------------- bad inputs


@pytest.mark.parametrize(
    "kwargs,needle",
    [
        (dict(beta0=np.zeros((2, 3)), beta1=np.zeros((2, 2, 1)), eta=np.zeros((2, 3, 2))), "beta1"),
        (dict(beta0=np.zeros((2, 3)), beta1=np.zeros((2, 3, 1)), eta=np.zeros((3, 2))), "eta"),
        (
            dict(beta0=np.zeros(3), beta1=np.zeros((3, 1)), eta=np.zeros((3, 2)), nu=np.ones(2)),
            "nu",
        ),
        (
            dict(
                beta0=np.zeros((1, 1, 1)), beta1=np.zeros((1, 1, 1, 1)), eta=np.zeros((1, 1, 1, 1))
            ),
            "beta0",
        ),
        (
            dict(beta0=np.zeros((2, 0)), beta1=np.zeros((2, 0, 1)), eta=np.zeros((2, 0, 2))),
            "k >= 1",
        ),
        (
            dict(beta0=np.zeros((0, 2)), beta1=np.zeros((0, 2, 1)), eta=np.zeros((0, 2, 2))),
            "R >= 1",
        ),
        (dict(beta0=[0.0, np.nan], beta1=[[0.0], [1.0]], eta=[[0.0], [1.0]]), "beta0"),
        (dict(beta0=[0.0, 1.0], beta1=[[0.0], [np.inf]], eta=[[0.0], [1.0]]), "beta1"),
        (dict(beta0=[0.0, 1.0], beta1=[[0.0], [1.0]], eta=[[0.0], [1.0]], nu=[1.0, 0.0]), "nu"),
        (dict(beta0=["a"], beta1=[[0.0]], eta=[[0.0]]), "beta0"),
        (
            dict(
                beta0=torch.zeros(2), beta1=torch.zeros(2, 1), eta=torch.tensor([[0.0], [np.nan]])
            ),
            "eta",
        ),
    ],
)
def test_bad_measures_raise_typed_error(kwargs, needle):
    with pytest.raises(LossInputError, match=needle) as info:
        MixingMeasure(**kwargs)
    assert isinstance(info.value, MoetheoryError) and isinstance(info.value, ValueError)


def test_bad_pairs_and_options_raise_typed_error():
    truth = MixingMeasure([0.0], [[0.0]], [[0.0, 0.0]], [1.0])
    ok = MixingMeasure([0.0, 0.0], [[0.1], [-0.1]], [[0.0, 0.0], [0.0, 0.0]], [1.0, 1.0])
    cases = [
        (lambda: d1_loss(MixingMeasure([0.0], [[0.0, 0.0]], [[0.0, 0.0]], [1.0]), truth), "d"),
        (lambda: d1_loss(MixingMeasure([0.0], [[0.0]], [[0.0]], [1.0]), truth), "eta"),
        (lambda: d1_loss(MixingMeasure([0.0], [[0.0]], [[0.0, 0.0]]), truth), "nu"),
        (
            lambda: d1_loss(
                MixingMeasure(
                    np.zeros((3, 1)), np.zeros((3, 1, 1)), np.zeros((3, 1, 2)), np.ones((3, 1))
                ),
                MixingMeasure(
                    np.zeros((2, 1)), np.zeros((2, 1, 1)), np.zeros((2, 1, 2)), np.ones((2, 1))
                ),
            ),
            "R",
        ),
        (lambda: d1_loss(ok, truth, translation="shift"), "translation"),
        (lambda: d1_loss(ok, "truth"), "MixingMeasure"),
        (lambda: d2_loss(ok, truth, rbar={3: 6}), "cell size 2"),
        (lambda: d2_loss(ok, truth, rbar=lambda m: {3: 6}[m]), "cell size 2"),
        (lambda: d2_loss(ok, truth, rbar={2: 2.5}), "positive integer"),
        (lambda: d2_loss(ok, truth, rbar=[0, 1, 4]), "rbar"),
        (lambda: d2_loss(ok, truth, rbar=RBAR, intercept_index=5), "intercept_index"),
        (lambda: d2_loss(ok, truth, rbar=RBAR, slope_index=[0, 1]), "slope_index"),
        (
            lambda: d2_loss(
                MixingMeasure(np.zeros(1), np.zeros((1, 1)), np.zeros((1, 3))),
                MixingMeasure(np.zeros(1), np.zeros((1, 1)), np.zeros((1, 3))),
                rbar=RBAR,
                slope_index=[0],
            ),
            "cover",
        ),
        (lambda: TRUTH.translate([1.0, 2.0, 3.0]), "t1"),
    ]
    for call, needle in cases:
        with pytest.raises(LossInputError, match=needle):
            call()
    # a needed size missing only at some translations is skipped by the infimum search
    out = d2_loss(ok, truth, rbar={2: 4}, translation="infimum")
    assert np.isfinite(out) and out >= 0
