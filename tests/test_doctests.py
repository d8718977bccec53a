"""Every docstring example in the package runs and gives what it shows (the guide: "Docstrings:
summary, formula, example (a doctest that runs)")."""

import doctest
import importlib
import pkgutil

import pytest

import moetheory

MODULES = sorted(m.name for m in pkgutil.walk_packages(moetheory.__path__, "moetheory."))


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0, name


def test_examples_exist():
    """The examples are there to be run: most modules of the package carry some (found, not run:
    the parametrised test above runs them)."""
    finder = doctest.DocTestFinder()
    with_examples = [
        any(t.examples for t in finder.find(importlib.import_module(n))) for n in MODULES
    ]
    assert sum(with_examples) >= len(MODULES) // 2
