"""Shared fixtures: verdicts are cached per (gate, expert, dim) across the test session."""

from __future__ import annotations

from functools import cache

import pytest

from moetheory import identify


@cache
def verdict(gate: str, expert: str, dim: int = 2):
    return identify(gate, expert, dim=dim)


@pytest.fixture
def get_verdict():
    return verdict
