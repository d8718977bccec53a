"""Safe model files: round trips, the CLI's --save, and hostile files refused with one line."""

from __future__ import annotations

import json
import pickle
import zipfile
from functools import cache
from pathlib import Path

import pytest
import torch
from helpers import run_cli as run
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from moetheory.bounds.architecture import Architecture
from moetheory.construct import PReLUMoE, approximate, load_module, save_module
from moetheory.construct import saved as saved_module
from moetheory.construct.module import DomainError
from moetheory.construct.saved import FORMAT, stored_shapes
from moetheory.errors import ModelFileError, SizeError

ROUTERS = ("grid", "prototype", "tree")
EXPERTS = ("constant", "pwl")


@cache
def construction(router: str = "grid", expert: str = "pwl"):
    return approximate("abs-power", 1, None, 2, "0.2", router=router, expert=expert)


def inputs(n: int, dim: int = 2, seed: int = 0) -> torch.Tensor:
    return torch.rand(n, dim, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def assert_same_module(loaded: PReLUMoE, original: PReLUMoE) -> None:
    assert type(loaded) is PReLUMoE
    assert loaded.architecture == original.architecture
    assert loaded.construction == original.construction
    assert loaded.num_experts == original.num_experts
    assert loaded.expert_sizes == original.expert_sizes
    assert loaded.dtype == original.dtype
    assert loaded.state_dict().keys() == original.state_dict().keys()
    for name, tensor in original.state_dict().items():
        assert torch.equal(loaded.state_dict()[name], tensor), name
    # many inputs (expert-by-expert products) and few (gathered weights); float32 inputs too
    for n in (4000, 7):
        x = inputs(n, original.architecture.dim, seed=n)
        with torch.no_grad():
            assert torch.equal(loaded(x), original(x))
            assert torch.equal(loaded(x.float()), original(x.float()))


def one_line_error(excinfo, path: Path | None = None) -> str:
    text = str(excinfo.value)
    assert text and "\n" not in text
    assert "weights_only=False" not in text  # never advise the unsafe load
    if path is not None:
        assert text.startswith(str(path))
    return text


# ---- round trips ------------------------------------------------------------------------------


@pytest.mark.parametrize("router", ROUTERS)
@pytest.mark.parametrize("expert", EXPERTS)
def test_round_trip_is_bit_exact(tmp_path, router, expert):
    c = construction(router, expert)
    original = c.module()
    path = save_module(original, tmp_path / "m.pt")
    assert path == tmp_path / "m.pt" and sorted(p.name for p in tmp_path.iterdir()) == ["m.pt"]
    loaded = load_module(path)
    assert_same_module(loaded, original)
    assert loaded.construction["router"] == router and loaded.construction["expert"] == expert
    assert sum(p.numel() for p in loaded.parameters()) == c.counts()["total"]


def test_file_is_plain_data_for_the_weights_only_unpickler(tmp_path):
    original = construction("tree", "constant").module()
    payload = torch.load(save_module(original, tmp_path / "m.pt"), weights_only=True)
    assert set(payload) == {"format", "architecture", "construction", "outside", "state_dict"}
    assert payload["outside"] == "error"
    assert payload["format"] == FORMAT == "moetheory.prelumoe/1"
    assert payload["architecture"]["router"] == "tree"
    json.dumps(payload["architecture"])
    json.dumps(payload["construction"])
    assert all(type(t) is torch.Tensor for t in payload["state_dict"].values())


def test_float32_module_round_trip(tmp_path):
    original = construction("prototype", "pwl").module().to(torch.float32)
    loaded = load_module(save_module(original, str(tmp_path / "m32.pt")))
    assert loaded.dtype == torch.float32
    assert_same_module(loaded, original)


@st.composite
def architectures(draw) -> Architecture:
    dim = draw(st.integers(1, 3))
    router = draw(st.sampled_from(("none", "grid", "prototype", "tree", "linear")))
    hidden = tuple(draw(st.lists(st.integers(1, 4), max_size=2)))
    activation = draw(st.sampled_from(("relu", "prelu")))
    slopes = draw(st.sampled_from(("trainable", "fixed")))
    grid, top_k = None, 1
    if router == "none":
        experts = 1
    elif router == "grid":
        grid = tuple(draw(st.lists(st.integers(1, 3), min_size=dim, max_size=dim)))
        experts = 1
        for k in grid:
            experts *= k
    elif router == "tree":
        experts = 1 << (dim * draw(st.integers(1, 2 if dim < 3 else 1)))
    else:
        experts = draw(st.integers(1, 6))
        top_k = draw(st.integers(1, experts)) if router == "linear" else 1
    return Architecture(
        dim=dim,
        experts=experts,
        hidden=hidden,
        activation=activation,
        router=router,
        slopes=slopes,
        top_k=top_k,
        grid=grid,
    )


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(arch=architectures(), seed=st.integers(0, 1000))
def test_any_architecture_round_trips(tmp_path_factory, arch, seed):
    """Every router and activation (linear top-k, fixed PReLU slopes as buffers) round-trips,
    and the shapes the loader expects are exactly the realised module's state dict."""
    original = PReLUMoE(arch, seed).to(torch.float64)
    original.construction = {"seed": seed, "note": ("tuple", 1.5, None, True)}
    assert {k: tuple(v.shape) for k, v in original.state_dict().items()} == stored_shapes(arch)
    path = save_module(original, tmp_path_factory.mktemp("arch") / "m.pt")
    loaded = load_module(path)
    original.construction = {"seed": seed, "note": ["tuple", 1.5, None, True]}  # as saved
    assert_same_module(loaded, original)


def test_save_replaces_an_existing_file_atomically(tmp_path, monkeypatch):
    path = tmp_path / "m.pt"
    first, second = construction("grid", "constant").module(), construction("tree", "pwl").module()
    save_module(first, path)
    save_module(second, path)
    assert load_module(path).architecture == second.architecture

    def broken_save(obj, handle):
        handle.write(b"partial")
        raise RuntimeError("disk full")

    monkeypatch.setattr(saved_module.torch, "save", broken_save)
    with pytest.raises(ModelFileError, match="cannot write") as excinfo:
        save_module(first, path)
    one_line_error(excinfo)
    monkeypatch.undo()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.pt"]  # no temporary file left
    assert load_module(path).architecture == second.architecture  # the old file, intact


@pytest.mark.parametrize(
    "bad,needle",
    [
        (lambda m: torch.nn.Linear(2, 1), "needs a PReLUMoE"),
        (lambda m: _with(m, "construction", {"cells": {1, 2}}), "construction['cells']"),
        (lambda m: _with(m, "construction", {1: "x"}), "not a string"),
        (lambda m: _nan(m), "non-finite"),
    ],
)
def test_save_refuses_what_would_not_load(tmp_path, bad, needle):
    c = construction("grid", "constant")
    module = bad(c.mixture.module(c.describe()))  # a fresh module: c.module() is cached
    with pytest.raises(ModelFileError) as excinfo:
        save_module(module, tmp_path / "m.pt")
    assert needle in one_line_error(excinfo)
    assert not list(tmp_path.iterdir())


def _with(module, name, value):
    setattr(module, name, value)
    return module


def _nan(module):
    with torch.no_grad():
        module.biases[0][0, 0] = float("nan")
    return module


def test_bad_paths(tmp_path):
    module = construction("grid", "constant").module()
    with pytest.raises(ModelFileError, match="cannot write"):
        save_module(module, tmp_path / "missing" / "m.pt")
    with pytest.raises(ModelFileError, match="str or os.PathLike"):
        save_module(module, 3)
    for directory in (tmp_path, ".", ".."):
        with pytest.raises(ModelFileError, match="a directory, not a file"):
            save_module(module, directory)
    with pytest.raises(ModelFileError, match="cannot read"):
        load_module(tmp_path / "absent.pt")
    with pytest.raises(ModelFileError, match="not a regular file"):
        load_module(tmp_path)
    with pytest.raises(SizeError, match="max parameters"):
        load_module(save_module(module, tmp_path / "m.pt"), max_parameters=0)


# ---- domain and dtype -------------------------------------------------------------------------


def fresh_module(router: str, expert: str) -> PReLUMoE:
    """A new module of a cached construction (``c.module()`` is cached and other tests convert
    it in place)."""
    c = construction(router, expert)
    return c.mixture.module(c.describe())


def test_float32_input_comes_back_float32():
    module = fresh_module("prototype", "pwl")
    x = inputs(300)
    with torch.no_grad():
        y64, y32 = module(x), module(x.float())
    assert module.dtype == y64.dtype == torch.float64 and y32.dtype == torch.float32
    assert torch.allclose(y32.double(), y64, atol=1e-5)
    assert module(x.half()).dtype == torch.float16


def test_input_outside_the_domain_is_refused_and_named():
    module = fresh_module("grid", "pwl")
    x = inputs(10)
    x[3, 1], x[7, 1] = -0.25, 1.5
    with pytest.raises(DomainError) as excinfo:
        module(x)
    text = one_line_error(excinfo)
    assert isinstance(excinfo.value, ValueError)
    assert "[0, 1]^2" in text and "x2 (column 1)" in text and "1.5]" in text and "-0.25" in text
    assert "x1" not in text and "2 of 10 rows" in text and "outside = 'clamp'" in text
    with pytest.raises(DomainError, match="NaN"):
        module(torch.tensor([[0.5, float("nan")]], dtype=torch.float64))


def test_clamp_mode_clamps_and_survives_save_and_load(tmp_path):
    module = fresh_module("tree", "constant")
    assert module.outside == "error"
    with pytest.raises(ValueError, match="expected one of 'error', 'clamp', got 'wrap'"):
        module.outside = "wrap"
    module.outside = "clamp"
    x = torch.tensor([[-1.0, 0.5], [0.25, 2.0], [3.0, -3.0]], dtype=torch.float64)
    with torch.no_grad():
        assert torch.equal(module(x), module(x.clamp(0, 1)))
    loaded = load_module(save_module(module, tmp_path / "m.pt"))
    assert loaded.outside == "clamp"
    with torch.no_grad():
        assert torch.equal(loaded(x), module(x))


def test_file_without_outside_loads_in_error_mode(tmp_path):
    path, payload = saved_payload(tmp_path)
    del payload["outside"]  # a file written before the field existed
    torch.save(payload, path)
    assert load_module(path).outside == "error"


# ---- the CLI ----------------------------------------------------------------------------------


def test_cli_save_then_load(capsys, tmp_path):
    path = tmp_path / "moe.pt"
    code, out, _ = run(
        capsys,
        "construct",
        "--target",
        "smooth",
        "--alpha",
        "1",
        "--dim",
        "2",
        "--eps",
        "0.3",
        "--router",
        "tree",
        "--expert",
        "constant",
        "--points",
        "2000",
        "--save",
        str(path),
        "--json",
    )
    assert code == 0
    data = json.loads(out)
    assert data["saved"] == str(path) and sorted(p.name for p in tmp_path.iterdir()) == ["moe.pt"]
    module = load_module(path)
    assert module.construction["router"] == "tree" and module.num_experts == data["num_experts"]
    assert sum(p.numel() for p in module.parameters()) == data["parameters"]["total"]
    c = approximate("smooth", 1, None, 2, "0.3", router="tree", expert="constant")
    x = inputs(500)
    assert torch.equal(module(x), c.module()(x))
    assert torch.load(path, weights_only=True)["format"] == FORMAT
    code, out, _ = run(
        capsys,
        "construct",
        "--target",
        "smooth",
        "--alpha",
        "1",
        "--dim",
        "2",
        "--eps",
        "0.3",
        "--points",
        "2000",
        "--save",
        str(path),
    )
    assert "load_module" in out and "weights_only=False" not in out


# ---- tampered files ---------------------------------------------------------------------------


def saved_payload(tmp_path: Path, router: str = "grid", expert: str = "pwl") -> tuple[Path, dict]:
    path = save_module(construction(router, expert).module(), tmp_path / "m.pt")
    return path, torch.load(path, weights_only=True)


def _set(*keys):
    def mutate(value):
        def apply(payload):
            target = payload
            for key in keys[:-1]:
                target = target[key]
            target[keys[-1]] = value(target[keys[-1]]) if callable(value) else value

        return apply

    return mutate


def _drop(*keys):
    def apply(payload):
        target = payload
        for key in keys[:-1]:
            target = target[key]
        del target[keys[-1]]

    return apply


def _nested(depth: int) -> list:
    value: list = []
    for _ in range(depth):
        value = [value]
    return value


SD, ARCH, CON = "state_dict", "architecture", "construction"
TAMPERED = {
    "wrong format": (_set("format")("moetheory.prelumoe/2"), "format: expected"),
    "format a tensor": (_set("format")(torch.zeros(1)), "format: expected"),
    "no format": (_drop("format"), "format: expected"),
    "unknown top-level field": (_set("extra")(1), "unknown field 'extra'"),
    "no state_dict": (_drop(SD), "missing field 'state_dict'"),
    "shape changed": (_set(SD, "weights.1")(lambda t: t[:, :-1]), "state_dict['weights.1']: shape"),
    "tensor removed": (_drop(SD, "biases.2"), "state_dict['biases.2']: missing"),
    "extra tensor": (
        _set(SD, "weights.9")(torch.zeros(1, dtype=torch.float64)),
        "unexpected tensor 'weights.9'",
    ),
    "NaN weights": (_set(SD, "weights.0")(lambda t: t.clone().fill_(float("nan"))), "non-finite"),
    "inf threshold": (
        _set(SD, "router.thresholds.1")(lambda t: t.clone().fill_(float("inf"))),
        "non-finite",
    ),
    "integer tensor": (_set(SD, "biases.0")(lambda t: t.long()), "dtype torch.int64"),
    "mixed dtypes": (_set(SD, "weights.3")(lambda t: t.float()), "dtype torch.float32"),
    "list not tensor": (
        _set(SD, "biases.0")(lambda t: t.tolist()),
        "expected a tensor, got a list",
    ),
    "sparse tensor": (_set(SD, "biases.0")(lambda t: t.to_sparse()), "dense CPU tensor"),
    "state_dict a list": (_set(SD)([]), "state_dict: expected a dict"),
    "tensor name not a string": (_set(SD, 3)(torch.zeros(1)), "not a string"),
    "huge experts": (_set(ARCH, "experts")(10**12), "architecture.experts: 1000000000000 exceeds"),
    "huge width": (_set(ARCH, "hidden")([4, 10**9]), "architecture.hidden[1]"),
    "huge declared total": (_set(ARCH, "hidden")([2**14, 2**14, 2**14]), "above the limit"),
    "grid mismatching the tensors": (_set(ARCH, "grid")([2, 32]), "shape"),
    "more experts than tensors": (
        lambda p: (_set(ARCH, "experts")(81)(p), _set(ARCH, "grid")([9, 9])(p)),
        "shape",
    ),
    "giant integer": (_set(ARCH, "dim")(1 << 2000), "an integer of 2,001 bits exceeds"),
    "integer beyond the unpickler": (_set(ARCH, "dim")(1 << 5000), "refused"),
    "dim a string": (_set(ARCH, "dim")("2"), "architecture.dim: expected an integer"),
    "dim a bool": (_set(ARCH, "dim")(True), "architecture.dim: expected an integer"),
    "dim zero": (_set(ARCH, "dim")(0), "architecture.dim: expected an integer ≥ 1, got 0"),
    "hidden of floats": (_set(ARCH, "hidden")([8.0]), "architecture.hidden[0]"),
    "hidden a dict": (_set(ARCH, "hidden")({}), "architecture.hidden: expected a list"),
    "unknown router": (_set(ARCH, "router")("voronoi"), "architecture: router must be"),
    "router a tensor": (_set(ARCH, "router")(torch.zeros(1)), "architecture.router"),
    "grid with wrong product": (_set(ARCH, "grid")([8, 9]), "architecture: grid cells 8x9"),
    "missing architecture field": (_drop(ARCH, "activation"), "missing field 'activation'"),
    "unknown architecture field": (_set(ARCH, "depth")(3), "unknown field 'depth'"),
    "architecture a list": (_set(ARCH)([1, 2]), "architecture: expected a dict"),
    "construction a string": (_set(CON)("x"), "construction: expected a dict"),
    "tensor in construction": (_set(CON, "eps")(torch.zeros(2)), "construction['eps']"),
    "construction too deep": (_set(CON, "deep")(_nested(40)), "nested more than 32 deep"),
    "construction too large": (_set(CON, "many")(list(range(200_000))), "more than 100,000"),
    "construction huge text": (_set(CON, "text")("x" * (1 << 21)), "characters of text"),
    "construction integer beyond 2^63": (_set(CON, "n")(1 << 70), "outside ±2^63"),
    "construction non-string key": (_set(CON, "d")({1: 2}), "key 1 is not a string"),
    "unknown outside mode": (_set("outside")("wrap"), "outside: expected one of 'error', 'clamp'"),
    "outside a tensor": (
        _set("outside")(torch.zeros(1)),
        "outside: expected one of 'error', 'clamp', got a Tensor",
    ),
}


@pytest.mark.parametrize("name", sorted(TAMPERED))
def test_tampered_file_is_refused(tmp_path, name):
    mutate, needle = TAMPERED[name]
    path, payload = saved_payload(tmp_path)
    mutate(payload)
    torch.save(payload, path)
    with pytest.raises(ModelFileError) as excinfo:
        load_module(path)
    text = one_line_error(excinfo, path)
    assert needle in text, text


def test_payload_not_a_dict(tmp_path):
    path = tmp_path / "list.pt"
    torch.save([1, 2], path)
    with pytest.raises(ModelFileError, match="expected a dict with format") as excinfo:
        load_module(path)
    one_line_error(excinfo, path)


def test_size_limits(tmp_path, monkeypatch):
    path, _ = saved_payload(tmp_path)
    total = construction().counts()["total"]
    assert load_module(path, max_parameters=total).num_experts == construction().num_experts
    with pytest.raises(ModelFileError, match="above the limit"):
        load_module(path, max_parameters=total - 1)
    monkeypatch.setattr(saved_module, "METADATA_BYTES", 100)
    with pytest.raises(ModelFileError, match="bytes, more than"):
        load_module(path, max_parameters=10)


def test_never_builds_before_checking(tmp_path, monkeypatch):
    """A file declaring a 10^11-parameter module is refused without constructing anything."""
    path, payload = saved_payload(tmp_path)
    payload[ARCH].update(experts=10**6, grid=[1000, 1000], hidden=[8, 10**4, 4])
    torch.save(payload, path)

    def no_build(*args, **kwargs):
        raise AssertionError("the module was built before the checks")

    monkeypatch.setattr(saved_module, "PReLUMoE", no_build)
    with pytest.raises(ModelFileError, match="state_dict.*shape"):  # the tensors present
        load_module(path, max_parameters=10**13)
    with pytest.raises(ModelFileError, match="above the limit"):  # the declared count
        load_module(path)


# ---- files that are not plain data ------------------------------------------------------------


def _touch(path: str) -> str:
    Path(path).write_text("code ran")
    return path


class ReduceCanary:
    """Unpickling calls ``_touch(path)``: the canary file appears if code runs."""

    def __init__(self, path: Path) -> None:
        self.path = str(path)

    def __reduce__(self):
        return (_touch, (self.path,))


class StateCanary:
    """Unpickling calls ``__setstate__``, which writes the canary file."""

    def __init__(self, path: Path) -> None:
        self.path = str(path)

    def __setstate__(self, state: dict) -> None:
        _touch(state["path"])
        self.__dict__.update(state)


@pytest.mark.parametrize("canary", [ReduceCanary, StateCanary])
def test_pickled_class_is_refused_without_running_it(tmp_path, canary):
    # positive control: the unsafe load does run the canary's code
    control = tmp_path / "control"
    torch.save(canary(control), tmp_path / "control.pt")
    torch.load(tmp_path / "control.pt", weights_only=False)
    assert control.exists()

    flag = tmp_path / "flag"
    torch.save(canary(flag), tmp_path / "bare.pt")
    path, payload = saved_payload(tmp_path)
    payload[CON]["target"] = canary(flag)
    torch.save(payload, tmp_path / "nested.pt")
    (tmp_path / "raw.pt").write_bytes(pickle.dumps(canary(flag)))
    for name, needle in (
        ("bare.pt", "refused"),
        ("nested.pt", "refused"),
        ("raw.pt", "not a torch zip file"),
    ):
        with pytest.raises(ModelFileError) as excinfo:
            load_module(tmp_path / name)
        assert needle in one_line_error(excinfo, tmp_path / name)
    assert not flag.exists()


@pytest.mark.parametrize(
    "content,needle",
    [
        (b"", "not a torch zip file"),
        (b"\x00" * 1000, "not a torch zip file"),
        (b"PK\x03\x04 definitely not a zip", "not a torch zip file"),
    ],
)
def test_not_a_torch_file(tmp_path, content, needle):
    path = tmp_path / "x.pt"
    path.write_bytes(content)
    with pytest.raises(ModelFileError) as excinfo:
        load_module(path)
    assert needle in one_line_error(excinfo, path)


def test_truncated_and_compressed_files(tmp_path):
    path, _ = saved_payload(tmp_path, "prototype", "constant")
    data = path.read_bytes()
    for cut in (10, len(data) // 2, len(data) - 1):
        path.write_bytes(data[:cut])
        with pytest.raises(ModelFileError) as excinfo:
            load_module(path)
        one_line_error(excinfo, path)
    path.write_bytes(data)
    squeezed = tmp_path / "deflated.pt"
    with (
        zipfile.ZipFile(path) as source,
        zipfile.ZipFile(squeezed, "w", zipfile.ZIP_DEFLATED) as out,
    ):
        for info in source.infolist():
            out.writestr(info.filename, source.read(info))
    with pytest.raises(ModelFileError, match="compressed entries"):
        load_module(squeezed)


@cache
def valid_bytes() -> bytes:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        module = construction("tree", "constant").module()
        return save_module(module, Path(tmp) / "m.pt").read_bytes()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.binary(max_size=2000))
def test_random_bytes_are_refused(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("bytes") / "x.pt"
    path.write_bytes(data)
    with pytest.raises(ModelFileError) as excinfo:
        load_module(path)
    one_line_error(excinfo, path)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    edits=st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), min_size=1, max_size=4),
    cut=st.one_of(st.none(), st.integers(0, 10**6)),
)
def test_corrupted_bytes_give_a_module_or_the_clear_error(tmp_path_factory, edits, cut):
    """Flipped bytes or a truncation anywhere: a (checked) module or a ModelFileError, never
    another exception."""
    data = bytearray(valid_bytes())
    for position, value in edits:
        data[position % len(data)] = value
    if cut is not None:
        data = data[: cut % len(data)]
    path = tmp_path_factory.mktemp("flip") / "x.pt"
    path.write_bytes(bytes(data))
    try:
        module = load_module(path)
    except ModelFileError as exc:
        assert str(exc) and "\n" not in str(exc)
    else:
        assert all(bool(torch.isfinite(t).all()) for t in module.state_dict().values())


HOSTILE = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(2**70), 2**70),
        st.floats(),
        st.text(max_size=5),
        st.builds(
            lambda n, d: torch.zeros(n, dtype=d),
            st.integers(0, 3),
            st.sampled_from([torch.float64, torch.float32, torch.int64]),
        ),
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=6,
)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    where=st.sampled_from(
        [
            ("format",),
            (ARCH, "dim"),
            (ARCH, "experts"),
            (ARCH, "hidden"),
            (ARCH, "grid"),
            (ARCH, "router"),
            (ARCH, "activation"),
            (ARCH, "slopes"),
            (ARCH, "top_k"),
            (ARCH, "output_dim"),
            (CON,),
            (CON, "eps"),
            (SD,),
            (SD, "weights.0"),
            (SD, "router.thresholds.0"),
            (ARCH,),
        ]
    ),
    value=HOSTILE,
)
def test_mutated_entries_give_a_module_or_the_clear_error(tmp_path_factory, where, value):
    tmp = tmp_path_factory.mktemp("mutate")
    path, payload = saved_payload(tmp, "grid", "constant")
    _set(*where)(value)(payload)
    torch.save(payload, path)
    try:
        module = load_module(path)
    except ModelFileError as exc:
        assert str(exc).startswith(str(path)) and "\n" not in str(exc)
    else:
        assert isinstance(module, PReLUMoE)


def test_docstring_examples():
    import doctest

    result = doctest.testmod(saved_module)
    assert result.attempted > 0 and result.failed == 0
