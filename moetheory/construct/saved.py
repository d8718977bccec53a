"""Safe model files for a :class:`~moetheory.construct.module.PReLUMoE`: plain data and
tensors, no pickled classes.

:func:`save_module` writes one dict with :func:`torch.save`, atomically (a temporary file in
the same directory, then ``os.replace``)::

    {"format": "moetheory.prelumoe/1",
     "architecture": {"dim": int, "experts": int, "hidden": [int, …], "activation": str,
                      "router": str, "slopes": str, "top_k": int, "output_dim": int,
                      "grid": [int, …] or None},
     "construction": {…},            # plain JSON data: str, int, float, bool, None, list, dict
     "outside": "error" or "clamp",  # the module's ``outside`` mode (absent: "error")
     "state_dict": {name: tensor}}   # the module's tensors, all float32 or all float64

``torch.load(path, weights_only=True)`` reads it: that unpickler builds only containers,
numbers, strings and tensors, never an arbitrary class. :func:`load_module` reads it that way
(after checking that the file is an uncompressed zip archive no larger than the parameter
limit allows) and checks everything before it builds anything: the format string; the
architecture's fields (types, 1 ≤ integer ≤ the limit, then the
:class:`~moetheory.bounds.architecture.Architecture` constructor's own checks); the stored
parameter count that architecture implies against ``max_parameters``; the construction
(plain data, depth ≤ :data:`MAX_DEPTH`, ≤ :data:`MAX_ITEMS` items, ≤ :data:`MAX_TEXT`
characters, integers within ±2^63); the ``outside`` mode (one of
:data:`~moetheory.construct.module.OUTSIDE_MODES`; files written before it existed have none and
load with ``"error"``); and every tensor against the module the architecture
realises — same names, shapes, one dtype (float32 or float64), dense CPU storage, finite
values. Any problem raises :class:`~moetheory.errors.ModelFileError`, one line naming the
field. :func:`save_module` runs the same checks, so what it writes loads.

Trust model: a file in this format is safe to open from a stranger with :func:`load_module`
(or ``torch.load(path, weights_only=True)``): reading it builds no object but plain data and
tensors. Never open a file you did not write with ``torch.load(path, weights_only=False)``:
unpickling can run arbitrary code.

Example::

    >>> import pathlib, tempfile
    >>> import numpy as np
    >>> from moetheory.construct.experts import constant_expert
    >>> from moetheory.construct.mixture import ExpertMixture
    >>> mix = ExpertMixture.of_experts("grid", (np.array([0.5]),),
    ...                                [constant_expert(1, 0.0), constant_expert(1, 1.0)])
    >>> model = mix.module({"note": "two constants"})
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     loaded = load_module(save_module(model, pathlib.Path(tmp) / "model.pt"))
    >>> x = torch.tensor([[0.2], [0.7]])
    >>> torch.equal(loaded(x), model(x)), loaded.construction, loaded.architecture.router
    (True, {'note': 'two constants'}, 'grid')
    >>> model.outside = "clamp"  # inputs outside [0, 1]^d clamped, not refused
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     load_module(save_module(model, pathlib.Path(tmp) / "model.pt")).outside
    'clamp'

Reference: PyTorch documentation, "Serialization semantics", section ``weights_only``
(https://pytorch.org/docs/stable/notes/serialization.html#weights-only).
"""

from __future__ import annotations

import math
import numbers
import os
import pickle
import stat
import zipfile
from pathlib import Path
from typing import BinaryIO, cast

import torch

from moetheory.bounds.architecture import Architecture, check_count
from moetheory.construct.module import PReLUMoE, check_outside
from moetheory.errors import ModelFileError, SizeError
from moetheory.files import atomic_file
from moetheory.layers.moe import parameter_shapes

FORMAT = "moetheory.prelumoe/1"
MAX_LOAD_PARAMETERS = 1 << 28  # stored numbers load_module accepts by default (2 GiB float64)
METADATA_BYTES = 1 << 24  # file bytes allowed on top of 8 per stored number
MAX_DEPTH = 32  # nesting of the construction data
MAX_ITEMS = 100_000  # values in the construction data
MAX_TEXT = 1 << 20  # characters of all the construction's strings and keys together
MAX_INT = 1 << 63  # |integer| bound in the construction data
DTYPES = (torch.float32, torch.float64)
KEYS = ("format", "architecture", "construction", "outside", "state_dict")
OPTIONAL_KEYS = ("outside",)  # absent from files written before it existed
ARCHITECTURE_FIELDS = (
    "dim",
    "experts",
    "hidden",
    "activation",
    "router",
    "slopes",
    "top_k",
    "output_dim",
    "grid",
)


def save_module(module: PReLUMoE, path: str | os.PathLike) -> Path:
    """Write ``module`` to ``path`` in the format of the module docstring (atomically: a
    temporary file in the same directory, then ``os.replace``); return the path.

    Example::

        >>> import tempfile
        >>> from moetheory.construct.approximate import approximate
        >>> model = approximate("smooth", alpha=1, dim=1, eps="0.1").module()
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     path = save_module(model, Path(tmp) / "m.pt")
        ...     path.name, torch.load(path, weights_only=True)["format"]
        ('m.pt', 'moetheory.prelumoe/1')
    """
    if not isinstance(module, PReLUMoE):
        raise ModelFileError(f"save_module needs a PReLUMoE, got {type(module).__name__}")
    target = _path(path)
    payload = {
        "format": FORMAT,
        "architecture": architecture_data(module.architecture),
        "construction": getattr(module, "construction", {}),
        "outside": module.outside,
        "state_dict": {name: tensor.detach().cpu() for name, tensor in module.state_dict().items()},
    }
    try:
        _, payload["construction"], _, _, _ = check_payload(payload)
    except ModelFileError as exc:
        raise ModelFileError(f"cannot save the module: {exc}") from None
    _write_atomically(payload, target)
    return target


def load_module(path: str | os.PathLike, max_parameters: int = MAX_LOAD_PARAMETERS) -> PReLUMoE:
    """The :class:`PReLUMoE` saved at ``path`` by :func:`save_module`, read without
    unpickling any class and checked before anything is built (module docstring). A file
    with more than ``max_parameters`` stored numbers is refused.

    Example::

        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     bad = Path(tmp) / "bad.pt"
        ...     _ = bad.write_bytes(b"not a model")
        ...     load_module(bad)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        moetheory.errors.ModelFileError: .../bad.pt: not a torch zip file (File is not a zip file)
    """
    limit = check_count("max parameters", max_parameters)
    file = _path(path)
    try:
        payload = _read(file, limit)
        arch, construction, outside, tensors, dtype = check_payload(payload, limit)
    except ModelFileError as exc:
        raise ModelFileError(f"{file}: {exc}") from None
    module = PReLUMoE(arch).to(dtype)
    module.load_state_dict(tensors)
    module.construction = construction
    module.outside = outside
    return module


def architecture_data(arch: Architecture) -> dict:
    """The ``architecture`` entry of a model file: the constructor's fields as plain data.

    Example::

        >>> architecture_data(Architecture(dim=1, experts=2, hidden=(3,), router="grid"))
        ... # doctest: +NORMALIZE_WHITESPACE
        {'dim': 1, 'experts': 2, 'hidden': [3], 'activation': 'relu', 'router': 'grid',
         'slopes': 'trainable', 'top_k': 1, 'output_dim': 1, 'grid': [2]}
    """
    return {
        "dim": arch.dim,
        "experts": arch.experts,
        "hidden": list(arch.hidden),
        "activation": arch.activation,
        "router": arch.router,
        "slopes": arch.slopes,
        "top_k": arch.top_k,
        "output_dim": arch.output_dim,
        "grid": None if arch.grid is None else list(arch.grid),
    }


def stored_shapes(arch: Architecture) -> dict[str, tuple[int, ...]]:
    """Name → shape of every tensor in the state dict of ``PReLUMoE(arch)``: the parameters
    (:func:`~moetheory.layers.moe.parameter_shapes`) and fixed PReLU slopes (buffers).

    Example::

        >>> stored_shapes(Architecture(dim=1, experts=2, hidden=(3,), activation="prelu",
        ...                            slopes="fixed", router="grid"))
        ... # doctest: +NORMALIZE_WHITESPACE
        {'router.thresholds.0': (1,), 'weights.0': (2, 3, 1), 'biases.0': (2, 3),
         'weights.1': (2, 1, 3), 'biases.1': (2, 1), 'slope0': (2, 3)}
    """
    shapes = parameter_shapes(arch)
    if arch.activation == "prelu" and not arch.trainable_slopes:
        shapes.update({f"slope{j}": (arch.experts, w) for j, w in enumerate(arch.hidden)})
    return shapes


def check_payload(
    payload: object, max_parameters: int | None = None
) -> tuple[Architecture, dict, str, dict[str, torch.Tensor], torch.dtype]:
    """The architecture, construction (a plain copy), ``outside`` mode, tensors and dtype of a
    model file's dict, all checked (module docstring); ``max_parameters`` None: no size limit.

    Example::

        >>> check_payload({"format": "moetheory.prelumoe/0"})  # doctest: +NORMALIZE_WHITESPACE
        Traceback (most recent call last):
        ...
        moetheory.errors.ModelFileError: format: expected 'moetheory.prelumoe/1',
        got 'moetheory.prelumoe/0'
    """
    if not isinstance(payload, dict):
        raise ModelFileError(f"expected a dict with format {FORMAT!r}, got {_show(payload)}")
    found = payload.get("format")
    if not isinstance(found, str) or found != FORMAT:
        raise ModelFileError(f"format: expected {FORMAT!r}, got {_show(found)}")
    _check_keys(payload, "file", KEYS, OPTIONAL_KEYS)
    arch = read_architecture(payload["architecture"], max_parameters)
    shapes = stored_shapes(arch)
    total = sum(math.prod(shape) for shape in shapes.values())
    if max_parameters is not None and total > max_parameters:
        raise ModelFileError(
            f"architecture: declares {total:,} stored numbers, above the limit "
            f"{max_parameters:,} (raise max_parameters for a file you trust)"
        )
    if not isinstance(payload["construction"], dict):
        raise ModelFileError(f"construction: expected a dict, got {_show(payload['construction'])}")
    construction = cast(dict, plain_data(payload["construction"]))  # a dict, checked above
    try:
        outside = check_outside(payload.get("outside", "error"))
    except ValueError as exc:
        raise ModelFileError(f"outside: {exc}") from None
    tensors, dtype = read_state_dict(payload["state_dict"], shapes)
    return arch, construction, outside, tensors, dtype


def read_architecture(data: object, max_value: int | None = None) -> Architecture:
    """The :class:`Architecture` of a model file's ``architecture`` entry, every field
    checked (integers in 1..``max_value``) before the constructor's own checks.

    Example::

        >>> read_architecture({**architecture_data(Architecture(1, 2, ())), "experts": 0})
        Traceback (most recent call last):
        ...
        moetheory.errors.ModelFileError: architecture.experts: expected an integer ≥ 1, got 0
    """
    _check_keys(data, "architecture", ARCHITECTURE_FIELDS)
    fields = dict(cast(dict, data))
    for name in ("dim", "experts", "top_k", "output_dim"):
        _integer(fields[name], f"architecture.{name}", max_value)
    for name in ("hidden", "grid"):
        values = fields[name]
        if values is None and name == "grid":
            continue
        if not isinstance(values, list):
            raise ModelFileError(
                f"architecture.{name}: expected a list of integers, got {_show(values)}"
            )
        for i, value in enumerate(values):
            _integer(value, f"architecture.{name}[{i}]", max_value)
        fields[name] = tuple(values)
    for name in ("activation", "router", "slopes"):
        if not isinstance(fields[name], str):
            raise ModelFileError(
                f"architecture.{name}: expected a string, got {_show(fields[name])}"
            )
    try:
        return Architecture(**fields)
    except SizeError as exc:
        raise ModelFileError(f"architecture: {exc}") from None


def read_state_dict(
    data: object, shapes: dict[str, tuple[int, ...]]
) -> tuple[dict[str, torch.Tensor], torch.dtype]:
    """The tensors of a model file's ``state_dict`` entry and their common dtype, each
    checked against ``shapes`` (:func:`stored_shapes`): names, shape, dtype float32 or
    float64 (one for all), dense CPU storage, finite values.

    Example::

        >>> read_state_dict({"w": torch.zeros(2, dtype=torch.float64)}, {"w": (2,)})[1]
        torch.float64
        >>> read_state_dict({"w": torch.tensor([0.0, float("nan")])}, {"w": (2,)})
        Traceback (most recent call last):
        ...
        moetheory.errors.ModelFileError: state_dict['w']: non-finite values (NaN or ±inf)
    """
    if not isinstance(data, dict):
        raise ModelFileError(f"state_dict: expected a dict of tensors, got {_show(data)}")
    for name in data:
        if not isinstance(name, str):
            raise ModelFileError(f"state_dict: tensor name {_show(name)} is not a string")
        if name not in shapes:
            raise ModelFileError(f"state_dict: unexpected tensor {_show(name)}")
    dtype = None
    for name, shape in shapes.items():
        where = f"state_dict[{name!r}]"
        if name not in data:
            raise ModelFileError(f"{where}: missing (the architecture has {len(shapes)} tensors)")
        tensor = data[name]
        if type(tensor) is not torch.Tensor:
            raise ModelFileError(f"{where}: expected a tensor, got {_show(tensor)}")
        if tensor.layout != torch.strided or tensor.device.type != "cpu":
            raise ModelFileError(
                f"{where}: a {tensor.layout} tensor on {tensor.device}, expected a dense CPU tensor"
            )
        if tensor.dtype not in DTYPES:
            raise ModelFileError(
                f"{where}: dtype {tensor.dtype}, expected torch.float32 or torch.float64"
            )
        if dtype is None:
            dtype = tensor.dtype
        if tensor.dtype != dtype:
            raise ModelFileError(
                f"{where}: dtype {tensor.dtype}, the tensors before it are {dtype}"
            )
        if tuple(tensor.shape) != shape:
            raise ModelFileError(
                f"{where}: shape {tuple(tensor.shape)}, the architecture needs {shape}"
            )
        if not bool(torch.isfinite(tensor).all()):
            raise ModelFileError(f"{where}: non-finite values (NaN or ±inf)")
    return {name: data[name] for name in shapes}, cast(torch.dtype, dtype)  # shapes ≠ {}


def plain_data(value: object, where: str = "construction") -> object:
    """A copy of ``value`` made of str, int, float, bool, None, list and dict (str keys) only
    (tuples become lists), nested at most :data:`MAX_DEPTH` deep, with at most
    :data:`MAX_ITEMS` values, :data:`MAX_TEXT` characters and integers within ±2^63.

    Example::

        >>> plain_data({"a": (1, 2.5, None)})
        {'a': [1, 2.5, None]}
        >>> plain_data({"a": {1, 2}})  # doctest: +NORMALIZE_WHITESPACE
        Traceback (most recent call last):
        ...
        moetheory.errors.ModelFileError: construction['a']: expected plain data (str, int,
        float, bool, None, list, dict), got a set
    """
    used = {"items": 0, "text": 0}

    def text(item: str) -> str:
        used["text"] += len(item)
        if used["text"] > MAX_TEXT:
            raise ModelFileError(f"{where}: more than {MAX_TEXT:,} characters of text")
        return str(item)

    def copy(item: object, at: str, depth: int) -> object:
        used["items"] += 1
        if used["items"] > MAX_ITEMS:
            raise ModelFileError(f"{where}: more than {MAX_ITEMS:,} values")
        if depth > MAX_DEPTH:
            raise ModelFileError(f"{at}: nested more than {MAX_DEPTH} deep")
        if item is None or isinstance(item, bool):
            return item
        if isinstance(item, str):
            return text(item)
        if isinstance(item, numbers.Integral):
            if abs(int(item)) >= MAX_INT:
                raise ModelFileError(f"{at}: integer outside ±2^63")
            return int(item)
        if isinstance(item, numbers.Real):
            return float(item)
        if isinstance(item, (list, tuple)):
            return [copy(x, f"{at}[{i}]", depth + 1) for i, x in enumerate(item)]
        if isinstance(item, dict):
            out = {}
            for key, x in item.items():
                if not isinstance(key, str):
                    raise ModelFileError(f"{at}: key {_show(key)} is not a string")
                out[text(key)] = copy(x, f"{at}[{_show(key)}]", depth + 1)
            return out
        raise ModelFileError(
            f"{at}: expected plain data (str, int, float, bool, None, list, "
            f"dict), got {_show(item)}"
        )

    return copy(value, where, 0)


def _read(file: Path, limit: int) -> object:
    """The object ``torch.load(weights_only=True)`` reads from ``file``, once the file is
    known to be a regular file of at most 8·``limit`` + :data:`METADATA_BYTES` bytes holding
    an uncompressed zip archive whose entries fit in it."""
    try:
        fd = os.open(file, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))  # a FIFO must not block
    except OSError as exc:
        raise ModelFileError(f"cannot read: {exc.strerror or exc}") from None
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        raise ModelFileError("cannot read: not a regular file")
    with os.fdopen(fd, "rb") as handle:
        budget = 8 * limit + METADATA_BYTES
        if info.st_size > budget:
            raise ModelFileError(
                f"{info.st_size:,} bytes, more than the {budget:,} of a model "
                f"of at most {limit:,} numbers (raise max_parameters for a "
                "file you trust)"
            )
        _check_zip(handle, info.st_size)
        handle.seek(0)
        try:
            return torch.load(handle, map_location="cpu", weights_only=True)
        except pickle.UnpicklingError as exc:
            raise ModelFileError(
                f"refused: its pickle is not plain data and tensors{_refusal(exc)}"
            ) from None
        except Exception as exc:  # corrupt bytes: torch's readers raise many kinds of error
            raise ModelFileError(
                f"not a readable torch file ({type(exc).__name__}: {_first_line(exc)})"
            ) from None


def _check_zip(handle: BinaryIO, size: int) -> None:
    """A zip archive whose entries are stored uncompressed and fit in ``size`` bytes (so
    reading them allocates no more than the file holds), or a :class:`ModelFileError`."""
    try:
        with zipfile.ZipFile(handle) as archive:
            entries = archive.infolist()
    except Exception as exc:  # untrusted bytes: zipfile raises BadZipFile, NotImplementedError…
        raise ModelFileError(f"not a torch zip file ({_first_line(exc)})") from None
    if any(entry.compress_type != zipfile.ZIP_STORED for entry in entries):
        raise ModelFileError(
            "not a torch zip file (compressed entries; torch stores them uncompressed)"
        )
    if sum(entry.file_size for entry in entries) > size:
        raise ModelFileError(
            "not a torch zip file (its entries declare more bytes than the file holds)"
        )


def _write_atomically(payload: dict, target: Path) -> None:
    """``torch.save(payload)`` through :func:`moetheory.files.atomic_file` (readers see the old
    file or the complete new one, never a part)."""
    if target.name in ("", "..") or target.is_dir():
        raise ModelFileError(f"cannot write {target}: a directory, not a file")
    try:
        with atomic_file(target) as handle:
            torch.save(payload, handle)
    except (OSError, RuntimeError) as exc:
        raise ModelFileError(f"cannot write {target}: {_first_line(exc)}") from None


def _check_keys(
    data: object, where: str, names: tuple[str, ...], optional: tuple[str, ...] = ()
) -> None:
    """``data`` is a dict with the keys ``names`` and no others (those in ``optional`` may be
    absent), or a :class:`ModelFileError`."""
    if not isinstance(data, dict):
        raise ModelFileError(f"{where}: expected a dict, got {_show(data)}")
    for name in names:
        if name not in data and name not in optional:
            raise ModelFileError(f"{where}: missing field {name!r}")
    for key in data:
        if key not in names:
            raise ModelFileError(f"{where}: unknown field {_show(key)}")


def _integer(value: object, where: str, maximum: int | None) -> None:
    """``value`` is an int (not a bool) in 1..``maximum``, or a :class:`ModelFileError`."""
    if type(value) is not int or value < 1:
        raise ModelFileError(f"{where}: expected an integer ≥ 1, got {_show(value)}")
    if maximum is not None and value > maximum:
        raise ModelFileError(f"{where}: {_show(value)} exceeds the limit {maximum:,}")


def _path(path: object) -> Path:
    """``path`` (str or os.PathLike) as a :class:`Path`, or a :class:`ModelFileError`."""
    if not isinstance(path, (str, os.PathLike)):
        raise ModelFileError(
            f"a model file path must be a str or os.PathLike, got {type(path).__name__}"
        )
    return Path(os.fspath(path))


def _show(value: object) -> str:
    """A short one-line description of a value read from a file (never a long repr)."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 64:
        return f"an integer of {value.bit_length():,} bits"
    if value is None or isinstance(value, (str, int, float)):
        text = repr(value)
        return text if len(text) <= 60 else text[:57] + "..."
    return f"a {type(value).__name__}"


def _first_line(exc: BaseException) -> str:
    """The first non-empty line of an exception's message, at most 200 characters."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    text = lines[0] if lines else type(exc).__name__
    return text if len(text) <= 200 else text[:197] + "..."


def _refusal(exc: pickle.UnpicklingError) -> str:
    """The line of torch's weights-only refusal that names what was refused (the rest of its
    message suggests ``weights_only=False``, which is exactly what must not be done)."""
    for line in str(exc).splitlines():
        if "GLOBAL" in line or "Unsupported" in line:
            text = line.strip()
            return f" ({text if len(text) <= 200 else text[:197] + '...'})"
    return ""
