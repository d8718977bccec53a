"""The heavy-ball stability region of proofs_check.momentum against numeric spectral radii
(softmoe_momentum.md §3), and the ``momentum`` group of ``python -m proofs_check``."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from proofs_check.momentum import (
    derived_stable,
    in_band,
    spectral_radius,
    stable,
)

EPS = 1e-6


def _boundary_distance(mu: float, s: float) -> float:
    return min(abs(1 - mu), abs(s), abs(2 * (1 + mu) - s))


def _band_distance(mu: float, s: float) -> float:
    r = np.sqrt(mu)
    return min(abs(s - (1 - r) ** 2), abs(s - (1 + r) ** 2))


def test_stable_region_on_grid():
    checked = 0
    for mu in np.linspace(-0.99, 0.99, 45):
        for s in np.linspace(-1.0, 5.0, 61):
            if _boundary_distance(mu, s) < EPS:
                continue
            assert (spectral_radius(mu, s) < 1) == stable(mu, s), (mu, s)
            checked += 1
    assert checked > 2500


def test_derived_conditions_match_closed_form_on_grid():
    for mu in np.linspace(-0.9, 1.3, 12):
        for s in np.linspace(-1.0, 5.0, 13):
            if _boundary_distance(mu, s) < EPS:
                continue
            assert derived_stable(mu, s) == stable(mu, s), (mu, s)


@settings(max_examples=200, deadline=None)
@given(mu=st.floats(0.0, 0.99), s=st.floats(-1.0, 5.0))
def test_stable_region_matches_spectral_radius(mu, s):
    assume(_boundary_distance(mu, s) > EPS)
    assert (spectral_radius(mu, s) < 1) == stable(mu, s)


def test_plain_smoe_region():
    for s in np.linspace(-1.0, 3.0, 401):
        if min(abs(s), abs(s - 2)) < EPS:
            continue
        assert (spectral_radius(0.0, s) < 1) == (0 < s < 2) == stable(0.0, s)


@settings(max_examples=200, deadline=None)
@given(mu=st.floats(0.0, 0.99), s=st.floats(-1.0, 5.0))
def test_sqrt_mu_band(mu, s):
    assume(_band_distance(mu, s) > EPS)
    roots = np.roots([1.0, -(1.0 + mu - s), mu])
    if in_band(mu, s):
        assert np.all(np.abs(roots.imag) > 0)
        assert roots[0] == pytest.approx(np.conj(roots[1]), rel=1e-9, abs=1e-12)
        assert np.abs(roots) == pytest.approx([np.sqrt(mu)] * 2, rel=1e-9, abs=1e-12)
        assert stable(mu, s)  # the band lies inside the stable region for μ < 1
    else:
        assert np.all(roots.imag == 0)
        assert np.max(np.abs(roots)) >= np.sqrt(mu) * (1 - 1e-12)


def test_the_layer_check_notices_a_wrong_update(monkeypatch):
    import moetheory.layers as layers
    from proofs_check.momentum import layer_recursion

    assert layer_recursion()

    class NoMomentum(layers.MomentumSMoE):
        """A mutated stack: the momentum buffer is dropped (μ read as 0)."""

        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.mu = 0.0

    monkeypatch.setattr(layers, "MomentumSMoE", NoMomentum)
    assert not layer_recursion()
