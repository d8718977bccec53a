"""Typed errors: every bad input becomes one of these, with the offending token named."""

from __future__ import annotations


class MoetheoryError(Exception):
    """Base class of every error moetheory raises on bad input."""


class FormulaError(MoetheoryError):
    """A formula could not be read.

    ``token`` is the offending piece of text (a symbol, a function name or an operator) and
    ``position`` its column offset in the formula when known.
    """

    def __init__(self, message: str, token: str | None = None, position: int | None = None):
        super().__init__(message)
        self.token = token
        self.position = position


class UnknownSymbolError(FormulaError):
    """A name that was not declared as an input or a parameter."""


class UnknownFunctionError(FormulaError):
    """A function outside the allowlist."""


class DimensionError(FormulaError):
    """Vectors of different lengths combined, or a vector used where a scalar is needed."""


class NotDifferentiableError(FormulaError):
    """A formula whose derivatives in the parameters are not defined where they are needed."""


class FamilyError(MoetheoryError):
    """An unknown family name or an inconsistent family declaration."""


class CertificateError(MoetheoryError):
    """A saved verdict or certificate is malformed (not: a claim that fails to verify)."""


class SizeError(MoetheoryError):
    """A size, count, exponent or accuracy outside its domain (the bad value is named)."""


class TargetError(MoetheoryError):
    """A target function that cannot be approximated as declared: not callable, wrong output
    shape, non-finite values, or a declared Hölder constant below the target's proved one."""


class ModelFileError(MoetheoryError):
    """A model file that cannot be written, or read as its format declares: not a torch zip
    file, truncated, a pickle needing classes or code, or contents that disagree with the
    format (the offending field is named)."""
