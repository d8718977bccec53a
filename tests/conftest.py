"""Shared fixtures: verdicts are cached per (gate, expert, dim) across the test session."""

from __future__ import annotations

import os
from functools import cache

import pytest
from hypothesis import settings

from moetheory import identify

# The default run replays the same generated examples every time (a run that can fail on a new
# random example cannot gate a merge: issue 13's submission was killed by one); set
# MOETHEORY_FUZZ=1 to explore new examples, as a fuzzing session should.
settings.register_profile("replay", derandomize=True)
settings.register_profile("explore", derandomize=False)
settings.load_profile("explore" if os.environ.get("MOETHEORY_FUZZ") else "replay")


@cache
def verdict(gate: str, expert: str, dim: int = 2):
    return identify(gate, expert, dim=dim)


@pytest.fixture
def get_verdict():
    return verdict


@pytest.fixture(autouse=True, scope="session")
def _sigint_raises():
    """Ctrl-C tests need SIGINT to raise KeyboardInterrupt, as in a terminal; a harness that
    runs the suite in the background starts it with SIGINT ignored."""
    import signal

    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)
