"""Experiment configurations: plain data (TOML or JSON) checked against declared fields.

An experiment declares its fields once, as a sequence of :class:`Field`; :func:`validate` checks
a mapping read from a file (:func:`load_config`) or built from command-line options, fills the
defaults, and raises :class:`ConfigError` naming the offending field, its value and the reason
before any work starts. The CLI turns a ``ConfigError`` into one line and exit status 2.

Rules
-----
- Unknown keys are errors (a misspelt field must not be silently ignored).
- A field without a default (``default=REQUIRED``) must be present.
- Types are checked with ``isinstance`` except that ``bool`` is *not* an ``int`` (nor a
  ``float``) here, and an ``int`` is accepted for a ``float`` field and converted to ``float``
  (TOML and JSON write ``1`` for ``1.0``).
- ``choices``: the value must be one of them; ``check(value)`` runs last and raises
  ``ValueError("reason")`` (or ``TypeError``) on a bad value.
- Defaults are deep-copied, so a list default is never shared between results.

Nested sections
---------------
A section is a field of kind ``dict`` whose contents are validated by calling :func:`validate`
again with the section's own fields and ``where`` extended by the section name, e.g.
``validate(data["train"], TRAIN_FIELDS, f"{where}.train")``. :class:`Field` does this for you
when given ``fields=`` (an addition to the declared API): the section is validated recursively,
its defaults are filled (a missing section with ``default={}`` gets all of them), and errors name
the full path, ``config.toml.train: field 'lr' …``.

Example
-------
>>> FIELDS = [
...     Field("target", str, choices=("abs-power", "sawtooth", "smooth")),
...     Field("dim", int, 1, check=positive),
...     Field("lr", float, 1e-3),
... ]
>>> validate({"target": "sawtooth", "lr": 1}, FIELDS, "config")
{'target': 'sawtooth', 'dim': 1, 'lr': 1.0}
>>> try:
...     validate({"target": "sawtooth", "dim": True}, FIELDS, "config")
... except ConfigError as exc:
...     print(exc)
config: field 'dim' = True: expected int, got bool

Reference: ``shared/reference/experiments.md`` (configurations as plain data files, validated
before any work starts); Python ``tomllib`` and ``json``.
"""

from __future__ import annotations

import copy
import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from moetheory.errors import MoetheoryError


class ConfigError(MoetheoryError):
    """A configuration (file, field or option) that cannot be used; the message names it.

    The CLI prints the message as one line and exits with status 2.
    """


class _Required:
    """The type of :data:`REQUIRED` (a readable sentinel)."""

    def __repr__(self) -> str:
        return "REQUIRED"


REQUIRED: object = _Required()
"""Default of a field that must be given."""


@dataclass(frozen=True)
class Field:
    """One configuration field.

    ``kind`` is a type or a tuple of types among ``int, float, str, bool, list, dict`` (``bool``
    is not an ``int`` here; an ``int`` is accepted for ``float`` and converted). ``default`` is
    :data:`REQUIRED` for a field that must be given. ``choices`` restricts the value; ``check``
    raises ``ValueError("reason")`` on a bad value. ``fields`` (for ``kind=dict``) declares a
    nested section, validated recursively.

    >>> Field("seed", int, 0, help="base seed").required
    False
    """

    name: str
    kind: type | tuple[type, ...]
    default: object = REQUIRED
    help: str = ""
    choices: tuple | None = None
    check: Callable[[object], None] | None = None
    fields: tuple[Field, ...] | None = None

    @property
    def required(self) -> bool:
        """Whether the field has no default."""
        return self.default is REQUIRED

    @property
    def kinds(self) -> tuple[type, ...]:
        """``kind`` as a tuple."""
        return self.kind if isinstance(self.kind, tuple) else (self.kind,)


def _show(value: object, limit: int = 80) -> str:
    """``repr(value)``, shortened to ``limit`` characters."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _kind_name(kinds: tuple[type, ...]) -> str:
    return " or ".join(k.__name__ for k in kinds)


def _coerce(field: Field, value: object, where: str) -> object:
    """``value`` checked against ``field.kind`` (int → float where float is expected)."""
    kinds = field.kinds
    if isinstance(value, bool):
        ok = bool in kinds
    elif isinstance(value, int) and int not in kinds and float in kinds:
        return float(value)
    else:
        ok = isinstance(value, tuple(k for k in kinds if k is not bool))
    if not ok:
        raise ConfigError(
            f"{where}: field '{field.name}' = {_show(value)}: expected {_kind_name(kinds)}, "
            f"got {type(value).__name__}"
        )
    return value


def validate(data: Mapping[str, object], fields: Sequence[Field], where: str) -> dict:
    """A new dict holding ``data`` checked against ``fields``, with the defaults filled in.

    Keys come out in the order of ``fields``. Raises :class:`ConfigError` naming ``where``, the
    field, the value and the reason: an unknown key (the known ones listed), a missing required
    field, a wrong type, a value outside ``choices``, a failed ``check``. See the module
    docstring for the rules and for nested sections.

    >>> validate({"E": 4}, [Field("E", int), Field("W", int, 8)], "sweep")
    {'E': 4, 'W': 8}
    >>> try:
    ...     validate({"E": 4, "widht": 8}, [Field("E", int), Field("W", int, 8)], "sweep")
    ... except ConfigError as exc:
    ...     print(exc)
    sweep: unknown field 'widht' (known: E, W)
    """
    if not isinstance(data, Mapping):
        raise ConfigError(f"{where}: expected a table of fields, got {type(data).__name__}")
    names = [f.name for f in fields]
    if len(set(names)) != len(names):
        raise ValueError(f"{where}: duplicate field declarations in {names}")
    known = set(names)
    for key in data:
        if key not in known:
            raise ConfigError(
                f"{where}: unknown field {_show(key)} (known: {', '.join(names) or 'none'})"
            )
    out: dict = {}
    for field in fields:
        if field.name not in data:
            if field.required:
                raise ConfigError(
                    f"{where}: missing required field '{field.name}'"
                    + (f" ({field.help})" if field.help else "")
                )
            value: object = copy.deepcopy(field.default)
            if field.fields is None:
                out[field.name] = value
                continue
        else:
            value = _coerce(field, data[field.name], where)
        if field.choices is not None and value not in field.choices:
            raise ConfigError(
                f"{where}: field '{field.name}' = {_show(value)} is not one of "
                + ", ".join(_show(c) for c in field.choices)
            )
        if field.fields is not None:
            if not isinstance(value, Mapping):
                raise ConfigError(
                    f"{where}: field '{field.name}' = {_show(value)}: expected a table"
                )
            value = validate(value, field.fields, f"{where}.{field.name}")
        if field.check is not None:
            try:
                field.check(value)
            except (ValueError, TypeError) as exc:
                raise ConfigError(
                    f"{where}: field '{field.name}' = {_show(value)}: {exc}"
                ) from None
        out[field.name] = value
    return out


def positive(value: object) -> None:
    """A ``check``: the number (or every number of a list) is > 0.

    >>> positive([1, 2.5])
    >>> try:
    ...     positive([1, 0])
    ... except ValueError as exc:
    ...     print(exc)
    must be > 0 (0 is not)
    """
    for item in value if isinstance(value, list) else [value]:
        if isinstance(item, bool) or not isinstance(item, int | float):
            raise ValueError(f"must be a number (not {_show(item)})")
        if not item > 0:
            raise ValueError(f"must be > 0 ({_show(item)} is not)")


def within(low: float, high: float, *, open_low: bool = False) -> Callable[[object], None]:
    """A ``check`` for a number field: finite and in [low, high] ((low, high] with
    ``open_low``).

    >>> within(0, 1)(0.5)
    >>> try:
    ...     within(0, 1, open_low=True)(0)
    ... except ValueError as exc:
    ...     print(exc)
    must lie in (0, 1]
    """

    def check(value: object) -> None:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"expected a number, got {type(value).__name__}")
        inside = low < value <= high if open_low else low <= value <= high
        if not inside or not math.isfinite(value):
            raise ValueError(f"must lie in {'(' if open_low else '['}{low:g}, {high:g}]")

    return check


def list_of(kind: type | tuple[type, ...], *, nonempty: bool = True) -> Callable[[object], None]:
    """A ``check`` for a ``list`` field: every item is of ``kind`` (``bool`` is not an ``int``;
    an ``int`` counts as a ``float``), and the list is not empty when ``nonempty``.

    >>> check = list_of(int)
    >>> check([1, 2])
    >>> try:
    ...     check([1, "2"])
    ... except ValueError as exc:
    ...     print(exc)
    item 1 = '2' is not int
    """
    kinds = kind if isinstance(kind, tuple) else (kind,)

    def check(value: object) -> None:
        if not isinstance(value, list):
            raise ValueError(f"expected a list, got {type(value).__name__}")
        if nonempty and not value:
            raise ValueError("must not be empty")
        for i, item in enumerate(value):
            if isinstance(item, bool):
                ok = bool in kinds
            else:
                accepted = tuple(k for k in kinds if k is not bool)
                ok = isinstance(item, accepted) or (isinstance(item, int) and float in kinds)
            if not ok:
                raise ValueError(f"item {i} = {_show(item)} is not {_kind_name(kinds)}")

    return check


def load_config(path: str | Path) -> dict:
    """The table in a ``.toml`` (read with ``tomllib``) or ``.json`` file, chosen by suffix.

    Raises :class:`ConfigError` naming the file (and the line and column when the parser gives
    them) when it cannot be read, does not parse, or does not hold a table at the top level.
    Validation against the experiment's fields is :func:`validate`'s job.

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     p = Path(d) / "run.toml"
    ...     _ = p.write_text('target = "smooth"\\nbudgets = [100, 1000]\\n[train]\\nsteps = 5\\n')
    ...     print(load_config(p))
    ...     _ = p.write_text('target = "smooth\\n')
    ...     try:
    ...         load_config(p)
    ...     except ConfigError as exc:
    ...         print(str(exc).replace(d, "DIR"))
    {'target': 'smooth', 'budgets': [100, 1000], 'train': {'steps': 5}}
    DIR/run.toml:1: invalid TOML: Illegal character '\\n' (at line 1, column 17)
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".toml", ".json"):
        raise ConfigError(
            f"{path}: unknown configuration format '{path.suffix}' (use .toml or .json)"
        )
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None
    data: object
    if suffix == ".toml":
        try:
            import tomllib
        except ModuleNotFoundError:  # Python 3.10
            try:
                import tomli as tomllib  # type: ignore[no-redef]
            except ModuleNotFoundError:
                raise ConfigError(
                    f"{path}: reading TOML needs Python >= 3.11 or the tomli package; "
                    "use a .json configuration"
                ) from None
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            line = _toml_line(str(exc))
            raise ConfigError(f"{path}{f':{line}' if line else ''}: invalid TOML: {exc}") from None
    else:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{path}:{exc.lineno}: invalid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a table of fields, got {type(data).__name__}")
    return data


def _toml_line(message: str) -> int | None:
    """The line number in a ``tomllib`` error message ("... (at line 3, column 7)")."""
    import re

    found = re.search(r"at line (\d+)", message)
    return int(found.group(1)) if found else None


def resolve_preset(
    fields: Sequence[Field],
    presets: Mapping[str, Mapping[str, object]],
    path: str | Path | None,
    preset: str | None,
    overrides: Mapping[str, object] | None,
    default: str,
) -> tuple[dict, str]:
    """A configuration from a file (``path``) or a named preset (``default`` when none is
    named), with ``overrides`` (command-line options) validated and applied on top; returns
    (configuration, where it came from) — the caller runs its own cross-field checks with
    ``where`` in the message. A file and a preset together, or an unknown preset, raise
    :class:`ConfigError`.

    >>> fields = [Field("E", int, 4)]
    >>> resolve_preset(fields, {"quick": {"E": 2}}, None, None, {"E": 8}, "quick")
    ({'E': 8}, 'built-in quick configuration with command-line options')
    """
    if path is not None and preset is not None:
        raise ConfigError(f"give a configuration file or --{preset}, not both")
    if path is not None:
        where = str(path)
        base = validate(load_config(path), fields, where)
    else:
        name = preset or default
        if name not in presets:
            raise ConfigError(f"unknown preset {name!r}: expected {', '.join(presets)}")
        where = f"built-in {name} configuration"
        base = validate(presets[name], fields, where)
    given = dict(overrides or {})
    if given:
        checked = validate(given, fields, "command line")
        base.update({k: checked[k] for k in given})
        where = f"{where} with command-line options"
    return validate(base, fields, where), where


RUN_OPTIONS: tuple[Field, ...] = (
    Field(
        "threads",
        int,
        1,
        "torch threads while training (0: torch's default)",
        check=within(0, 1024),
    ),
    Field("device", str, "auto", "auto, cpu or cuda", choices=("auto", "cpu", "cuda")),
    Field("scheduler", str, "none", "none (this process), local (Dask LocalCluster) or an address"),
)
"""The fields every trained-network study ends with: how to run it, not what it computes."""
