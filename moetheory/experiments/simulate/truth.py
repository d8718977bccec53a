"""True mixing measures, input laws, samplers and the validated simulation configuration.

A simulation draws, for every sample size n and replicate r, a sample (X_j, Y_j), j ≤ n, from a
true k*-atom mixture G* = (θ*_1, …, θ*_{k*}) of a router × expert pair (identifiability.md §1):

- regression (least squares): X ~ the input law, ``Y = f_{G*}(X) + σ ε``, ε ~ N(0, 1);
- Gaussian MoE (likelihood): X ~ the input law, Z | X ~ Categorical(w_1(X), …, w_{k*}(X)),
  ``Y | X, Z = i ~ N(h(X; η*_i), ν*_i)``.

Each (n, r) is a unit of :func:`moetheory.experiments.sweep.grid_units` over the axes
``{"n": sizes, "replicate": 0..R-1}``: its id is ``"n=100/replicate=3"`` and its seed
``unit_seed(seed, id)`` — the seed the sweep runtime records for it. The data come from a torch
CPU generator seeded with that seed, the fits' random starts from one seeded with
``unit_seed(seed, id + "/starts")``, so a unit's data and starts do not depend on which other
units are run, nor on the device.

:func:`load_simulation` validates a configuration (plain data, as read from TOML or JSON by
:func:`moetheory.experiments.config.load_config`) before any work: an unknown family, a refused
normalisation, a dimension mismatch, a non-positive variance or temperature, k < k*, a bad input
law raise :class:`~moetheory.experiments.config.ConfigError` naming the field (the CLI's exit 2).

Example
-------
>>> sim = load_simulation({"gate": "softmax", "expert": "linear", "dim": 1, "k": 2,
...     "atoms": [{"beta1": 2.0, "beta0": 0.0, "a1": 1.0, "b": 0.5},
...               {"beta1": 0.0, "beta0": 0.0, "a1": -1.0, "b": 0.0}],
...     "noise": 0.1, "sizes": [50, 100], "replicates": 2})
>>> sim.truth.k, sim.truth.model.param_names
(2, ('beta1', 'beta0', 'a1', 'b'))
>>> data = simulation_data(sim)
>>> data.x.shape, data.n.tolist(), data.ids[1]
(torch.Size([4, 100, 1]), [50, 50, 100, 100], 'n=50/replicate=1')

Reference: ``shared/reference/identifiability.md`` §1, §7 (the papers' setups: X uniform on an
interval or a grid, Gaussian noise, 40 replicates per n); ``shared/reference/experiments.md`` §5
(one pure seed per unit).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property

import torch
from torch import Tensor

from moetheory.errors import FormulaError
from moetheory.experiments.config import REQUIRED, ConfigError, Field, list_of, validate, within
from moetheory.experiments.simulate.models import TorchMoE
from moetheory.experiments.simulate.symmetry import gauge
from moetheory.experiments.sweep import grid_units, unit_seed
from moetheory.families.registry import EXPERTS, ROUTERS
from moetheory.rates.voronoi import MixingMeasure

__all__ = [
    "InputLaw",
    "SIMULATION_FIELDS",
    "SimData",
    "Simulation",
    "Truth",
    "expand_sizes",
    "formula_sides",
    "initial_starts",
    "load_simulation",
    "sample",
    "simulation_data",
]

DTYPE = torch.float64


# ---------------------------------------------------------------------------------------------
# Input law, truth, sampler
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class InputLaw:
    """X ~ uniform on the box [low, high] (``law="uniform"``), N(mean, diag(sd²))
    (``law="gaussian"``), or the fixed design X_j = low + (high − low)·j/(n − 1), j < n
    (``law="grid"``, d = 1: the authors' ``linspace``, identifiability.md §7); ``a`` is low or
    mean, ``b`` high or sd, one entry per dimension.

    >>> InputLaw("uniform", (0.0,), (1.0,)).sample(3, torch.Generator().manual_seed(0)).shape
    torch.Size([3, 1])
    """

    law: str
    a: tuple[float, ...]
    b: tuple[float, ...]

    @property
    def dim(self) -> int:
        return len(self.a)

    def sample(self, n: int, generator: torch.Generator) -> Tensor:
        """n points, shape (n, d), float64 on the CPU (a grid draws nothing)."""
        if self.law == "grid":
            return torch.linspace(self.a[0], self.b[0], n, dtype=DTYPE)[:, None]
        u = (
            torch.rand(n, self.dim, generator=generator, dtype=DTYPE)
            if self.law == "uniform"
            else torch.randn(n, self.dim, generator=generator, dtype=DTYPE)
        )
        a, b = torch.tensor(self.a, dtype=DTYPE), torch.tensor(self.b, dtype=DTYPE)
        return a + (b - a) * u if self.law == "uniform" else a + b * u


@dataclass(frozen=True, eq=False)
class Truth:
    """A true mixing measure: the model, its k* atoms ``theta`` (k*, p) in the model's layout,
    and the regression noise standard deviation ``noise`` (None for a Gaussian MoE)."""

    model: TorchMoE
    theta: Tensor
    noise: float | None

    @property
    def k(self) -> int:
        """k*, the number of true atoms."""
        return int(self.theta.shape[0])

    @property
    def likelihood(self) -> bool:
        """Whether Y is drawn from the Gaussian MoE (else regression plus noise)."""
        return self.noise is None

    def measure(self) -> MixingMeasure:
        """G* as a :class:`~moetheory.rates.voronoi.MixingMeasure` (for D1 / D2)."""
        return self.model.to_measure(self.theta)


def sample(
    truth: Truth, law: InputLaw, n: int, generator: torch.Generator
) -> tuple[Tensor, Tensor]:
    """(X, Y) with X of shape (n, d) from ``law`` and Y of shape (n,) from the truth (module
    docstring), all float64 on the CPU, drawn from ``generator`` in a fixed order."""
    x = law.sample(n, generator)
    m = truth.model
    if not truth.likelihood:
        f = m.regression(x, truth.theta)
        return x, f + float(truth.noise or 0.0) * torch.randn(n, generator=generator, dtype=DTYPE)
    w = m.gate_weights(x, truth.theta)  # (k*, n)
    z = torch.multinomial(w.T, 1, generator=generator)[:, 0]
    means = m.expert_means(x, truth.theta).gather(0, z[None])[0]
    sd = m.variances(truth.theta).sqrt()[z]
    return x, means + sd * torch.randn(n, generator=generator, dtype=DTYPE)


def initial_starts(
    truth: Truth,
    k: int,
    starts: int,
    generator: torch.Generator,
    init: str,
    scale: float,
    fixed: Tensor | None = None,
) -> Tensor:
    """``starts`` initial parameter sets for a k-atom fit, shape (starts, k, p), float64.

    ``init="near-truth"`` (the authors' protocol, identifiability.md §7): atom i starts at true
    atom i (i < k*) or at a random true atom (i ≥ k*), plus N(0, scale²) noise on each real
    parameter and a factor exp(N(0, scale²)) on each positive one; a true atom shared by c
    fitted atoms gives each the mass parameter β₀* − log c (so the masses still add up).
    ``init="random"``: real parameters N(0, scale²), positive ones exp(N(0, scale²)).
    The last fitted atom always starts from the last true atom (extra atoms come before it),
    so that ``fixed`` parameters — a (k, p) mask, the gauge the fits hold fixed — are the truth's
    own (no noise; near-truth: less log c for a mass shared by c atoms).
    """
    m, p = truth.model, truth.model.n_params
    pos = torch.tensor(m.positive_mask)
    mass_cols = [m.param_symbols.index(s) for s in m.masses]
    keep = torch.zeros(k, p, dtype=torch.bool) if fixed is None else fixed
    if init == "random":
        z = scale * torch.randn(starts, k, p, generator=generator, dtype=DTYPE)
        return torch.where(keep, truth.theta[-1], torch.where(pos, z.exp(), z))
    extra = torch.randint(0, truth.k, (starts, max(k - truth.k, 0)), generator=generator)
    first = torch.arange(truth.k - 1).expand(starts, -1)
    last = torch.full((starts, 1), truth.k - 1)
    owner = torch.cat([first, extra, last], dim=1)  # (starts, k)
    base = truth.theta[owner].clone()
    if mass_cols and m.normalisation not in ("sigmoid", "none"):
        counts = torch.stack([(owner == j).sum(1) for j in range(truth.k)], dim=1)
        shared = counts.gather(1, owner).to(DTYPE)
        for c in mass_cols:
            base[..., c] -= shared.log()
    z = scale * torch.randn(starts, k, p, generator=generator, dtype=DTYPE)
    z = torch.where(keep, torch.zeros_like(z), z)
    return torch.where(pos, base * z.exp(), base + z)


# ---------------------------------------------------------------------------------------------
# Configuration
# ---------------------------------------------------------------------------------------------


MAX_SIZE = 10**8
"""The largest sample size a configuration may ask for."""


def expand_sizes(value: object) -> object:
    """Sample sizes written as a list whose entries are sizes or ranges
    ``{from = A, to = B, count = C, spacing = "linear" | "log"}`` (C sizes from A to B,
    rounded to integers), as one list of sizes; anything else is returned unchanged (the field
    check then names it).

    >>> expand_sizes([50, {"from": 100, "to": 1000, "count": 3, "spacing": "log"}])
    [50, 100, 316, 1000]
    """
    if isinstance(value, Mapping):
        value = [value]
    if not isinstance(value, list):
        return value
    out: list[object] = []
    for entry in value:
        if not isinstance(entry, Mapping):
            out.append(entry)
            continue
        keys = set(entry)
        if keys - {"from", "to", "count", "spacing"} or not {"from", "to", "count"} <= keys:
            raise ConfigError(
                "field 'sizes': a range needs from, to, count (and optional spacing), "
                f"got {sorted(keys)}"
            )
        lo, hi, count = entry["from"], entry["to"], entry["count"]
        spacing = entry.get("spacing", "linear")
        ok = all(isinstance(v, int | float) and not isinstance(v, bool) for v in (lo, hi))
        if not ok or not 1 <= lo <= hi or not isinstance(count, int) or not 1 <= count <= 10**5:
            raise ConfigError(
                f"field 'sizes': bad range {dict(entry)}: need 1 <= from <= to, 1 <= count <= 1e5"
            )
        if spacing not in ("linear", "log"):
            raise ConfigError(f"field 'sizes': spacing {spacing!r}: expected linear or log")
        t = [i / (count - 1) if count > 1 else 0.0 for i in range(count)]
        if spacing == "log":
            out += [round(math.exp(math.log(lo) + f * (math.log(hi) - math.log(lo)))) for f in t]
        else:
            out += [round(lo + f * (hi - lo)) for f in t]
    return out


def _sizes(value: object) -> None:
    list_of(int)(value)
    assert isinstance(value, list)
    if any(v < 1 or v > MAX_SIZE for v in value):
        raise ValueError(f"every sample size must be from 1 to {MAX_SIZE}")
    if len(set(value)) != len(value):
        raise ValueError("sample sizes must differ")


def _coordinates(value: object) -> None:
    """A non-empty list of finite numbers of size at most 10⁶ (inputs the models can take)."""
    list_of(float)(value)
    assert isinstance(value, list)
    for i, v in enumerate(value):
        if not (math.isfinite(v) and abs(v) <= 1e6):
            raise ValueError(f"item {i} = {v!r}: expected a finite number of size at most 1e6")


INPUT_FIELDS = (
    Field("law", str, "uniform", "input law", choices=("uniform", "gaussian", "grid")),
    Field("low", list, [-1.0], "uniform: lower corner, one per dimension", check=_coordinates),
    Field("high", list, [1.0], "uniform: upper corner", check=_coordinates),
    Field("mean", list, [0.0], "gaussian: mean, one per dimension", check=_coordinates),
    Field("sd", list, [1.0], "gaussian: standard deviations", check=_coordinates),
)

FIT_FIELDS = (
    Field("starts", int, 3, "starts per fit (best objective kept)", check=within(1, 1000)),
    Field("init", str, "near-truth", "initialisation", choices=("near-truth", "random")),
    Field("init_scale", float, 0.5, "noise scale of the starts", check=within(0, 1e6)),
    Field(
        "init_decay",
        float,
        0.0,
        "start noise scale × (n / smallest n)^(-init_decay): starts nearer the truth at larger n",
        check=within(0, 1e6),
    ),
    Field("max_iter", int, 200, "iteration cap per fit", check=within(1, 10**7)),
    Field(
        "tol", float, 1e-10, "convergence tolerance (step, gradient, objective)", check=within(0, 1)
    ),
)

SIMULATION_FIELDS = (
    Field("gate", (str, dict), REQUIRED, "router name, or {formula, params, normalisation}"),
    Field("expert", (str, dict), REQUIRED, "expert name, or {formula, params[, variance]}"),
    Field("dim", int, 1, "input dimension d", check=within(1, 64)),
    Field("model", str, "", "regression or gaussian (default: from the expert)"),
    Field("atoms", list, REQUIRED, "true atoms: {parameter: value} tables or value lists"),
    Field("k", int, 0, "fitted number of atoms (default k*)", check=within(0, 1000)),
    Field("top_k", int, 0, "K of a top-K router (0: not top-K)", check=within(0, 10**7)),
    Field("noise", float, 0.0, "regression noise standard deviation σ", check=within(0, 1e6)),
    Field("input", dict, {}, "input law", fields=INPUT_FIELDS),
    Field("sizes", list, [100, 1000], "sample sizes n (or ranges: expand_sizes)", check=_sizes),
    Field("replicates", int, 10, "replicates per sample size", check=within(1, 10**5)),
    Field("seed", int, 0, "base seed", check=within(0, 2**63 - 1)),
    Field("fit", dict, {}, "fitting options", fields=FIT_FIELDS),
    Field(
        "rescaling",
        str,
        "divide",
        "per-atom rescaling symmetries of the gate: divided out of the loss, or kept (raw)",
        choices=("divide", "keep"),
    ),
)
"""The fields of a simulation configuration (:func:`load_simulation`)."""


@dataclass(frozen=True, eq=False)
class Simulation:
    """A validated simulation: truth, input law, fitted k, sizes, replicates, seed, fit options
    (the validated ``fit`` table) and the whole validated ``config``."""

    truth: Truth
    law: InputLaw
    k: int
    sizes: tuple[int, ...]
    replicates: int
    seed: int
    fit: dict
    config: dict

    @cached_property
    def gauge(self) -> Tensor | None:
        """The (k, p) mask of parameters every fit holds at the truth's values
        (:func:`~moetheory.experiments.simulate.symmetry.gauge`, read on 64 points of the
        input law drawn with seed 0), or None."""
        x = self.law.sample(64, torch.Generator().manual_seed(0))
        return gauge(self.truth.model, self.k, self.truth.theta, x)

    @cached_property
    def translates(self) -> bool:
        """Whether the gate's score is linear, β₁ᵀx + β₀, so that (β_{1i}, β_{0i}) →
        (β_{1i} + t₁, β_{0i} + t₀) is a symmetry (decided symbolically once per simulation:
        :func:`~moetheory.experiments.simulate.fit_ls.softmax_gauge`)."""
        from moetheory.experiments.simulate.fit_ls import softmax_gauge

        mask = softmax_gauge(self.truth.model, self.k)
        return mask is not None and bool(mask[-1, : len(self.truth.model.gate_params)].all())


def _model(cfg: dict, where: str) -> TorchMoE:
    d, gate, expert = cfg["dim"], cfg["gate"], cfg["expert"]
    if isinstance(gate, str) and gate not in ROUTERS:
        raise ConfigError(
            f"{where}: field 'gate' = {gate!r}: unknown router (known: {', '.join(ROUTERS)})"
        )
    if isinstance(expert, str) and expert not in EXPERTS:
        raise ConfigError(
            f"{where}: field 'expert' = {expert!r}: unknown expert (known: {', '.join(EXPERTS)})"
        )
    for name, fams in ((gate, ROUTERS), (expert, EXPERTS)):
        if isinstance(name, str) and d < fams[name].min_dim:
            raise ConfigError(
                f"{where}: field 'dim' = {d}: family {name!r} needs dim >= {fams[name].min_dim}"
            )
    top_k = cfg["top_k"] or None
    try:
        if isinstance(gate, str) and isinstance(expert, str):
            return TorchMoE.from_families(gate, expert, d, top_k=top_k)
        return _formula_model(gate, expert, d, top_k, where)
    except ConfigError as exc:
        if str(exc).startswith(f"{where}: "):  # already names its field
            raise
        field = "top_k" if "top_k" in str(exc) else "gate"
        raise ConfigError(f"{where}: field '{field}': {exc}") from None


def _formula_model(gate: object, expert: object, d: int, top_k: int | None, where: str) -> TorchMoE:
    """A pair with at least one formula side ({formula, params, ...} tables); inputs x1..xd."""
    sides, normalisation = formula_sides(gate, expert, d, where)
    g, e = sides["gate"], sides["expert"]
    try:
        return TorchMoE.from_formulas(
            g["formula"],
            g["params"],
            e["formula"],
            e["params"],
            [f"x{i + 1}" for i in range(d)],
            gaussian_output=e.get("gaussian_output"),
            variance_param=e.get("variance_param"),
            positive=[*g["positive"], *e["positive"]] or None,
            normalisation=normalisation,
            top_k=top_k,
        )
    except FormulaError as exc:
        raise ConfigError(f"{where}: field 'gate'/'expert' formula: {exc}") from None


def formula_sides(
    gate: object, expert: object, d: int, where: str = "config"
) -> tuple[dict[str, dict], str]:
    """The two sides of a pair with a formula side as formula specs (``formula``, ``params``,
    ``positive``, and for a Gaussian expert ``gaussian_output``, ``variance_param``; a
    built-in side written as its formula), and the gate's normalisation; inputs x1..xd."""
    from moetheory.families import get_expert, get_router
    from moetheory.identify.api import family_as_formula

    sides: dict[str, dict] = {}
    normalisation = "softmax"
    for label, value in (("gate", gate), ("expert", expert)):
        if isinstance(value, str):
            fam = get_router(value) if label == "gate" else get_expert(value)
            spec = family_as_formula(fam, d)
            if label == "gate":
                normalisation = get_router(value).normalisation
            sides[label] = spec
            continue
        assert isinstance(value, dict)
        allowed = {"formula", "params", "positive", "normalisation", "variance"}
        unknown = sorted(set(value) - allowed)
        if unknown or not isinstance(value.get("formula"), str):
            bad = unknown[0] if unknown else "formula"
            raise ConfigError(f"{where}: field '{label}': bad or missing key {bad!r}")
        params = value.get("params", [])
        if not isinstance(params, list) or not all(isinstance(p, str) for p in params):
            raise ConfigError(f"{where}: field '{label}.params': expected a list of names")
        positive = value.get("positive", [])
        if not isinstance(positive, list) or not all(isinstance(p, str) for p in positive):
            raise ConfigError(f"{where}: field '{label}.positive': expected a list of names")
        spec = {"formula": value["formula"], "params": params, "positive": positive}
        if label == "gate":
            normalisation = value.get("normalisation", "softmax")
            if not isinstance(normalisation, str):
                raise ConfigError(f"{where}: field 'gate.normalisation': expected a name")
        elif value.get("variance") is not None:
            if not isinstance(value["variance"], str):
                raise ConfigError(f"{where}: field 'expert.variance': expected a parameter name")
            spec["gaussian_output"] = "y"
            spec["variance_param"] = str(value["variance"])
        sides[label] = spec
    return sides, normalisation


def _atoms(model: TorchMoE, atoms: Sequence[object], where: str) -> Tensor:
    names = model.param_names
    expected = f"({', '.join(names)}) at dim = {model.dim}"
    rows = []
    if not atoms:
        raise ConfigError(f"{where}: field 'atoms': needs at least one atom")
    for i, atom in enumerate(atoms):
        here = f"{where}: field 'atoms[{i}]'"
        if isinstance(atom, Mapping):
            unknown = [key for key in atom if key not in names]
            if unknown:
                raise ConfigError(f"{here}: unknown parameter {unknown[0]!r}; expected {expected}")
            missing = [n for n in names if n not in atom]
            if missing:
                raise ConfigError(f"{here}: missing parameter {missing[0]!r}; expected {expected}")
            values = [atom[n] for n in names]
        elif isinstance(atom, list):
            if len(atom) != len(names):
                raise ConfigError(
                    f"{here}: has {len(atom)} values, expected {len(names)} {expected}"
                )
            values = list(atom)
        else:
            raise ConfigError(f"{here}: expected a table or a list, got {type(atom).__name__}")
        for name, v, pos in zip(names, values, model.positive_mask, strict=True):
            field = f"{where}: field 'atoms[{i}].{name}'"
            if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
                raise ConfigError(f"{field} = {v!r}: expected a finite number")
            if pos and not v > 0:
                what = "a variance" if name == str(model.variance) else "a positive parameter"
                raise ConfigError(f"{field} = {v!r}: {what} must be > 0")
        rows.append([float(v) for v in values])
    return torch.tensor(rows, dtype=DTYPE)


def _law(cfg: dict, d: int, where: str) -> InputLaw:
    section = cfg["input"]
    if section["law"] == "grid" and d != 1:
        raise ConfigError(f"{where}.input: field 'law' = 'grid': a grid design needs dim = 1")
    keys = ("mean", "sd") if section["law"] == "gaussian" else ("low", "high")
    a, b = ([float(v) for v in section[k]] for k in keys)
    for key, vals in zip(keys, (a, b), strict=True):
        if len(vals) != d:
            raise ConfigError(
                f"{where}.input: field '{key}' has {len(vals)} entries, expected dim = {d}"
            )
    bad = [i for i in range(d) if not (b[i] > a[i] if keys[0] == "low" else b[i] > 0)]
    if bad:
        key = keys[1]
        raise ConfigError(
            f"{where}.input: field '{key}'[{bad[0]}] = {b[bad[0]]}: must be "
            + ("> low" if key == "high" else "> 0")
        )
    return InputLaw(section["law"], tuple(a), tuple(b))


def load_simulation(data: Mapping[str, object], where: str = "config") -> Simulation:
    """A validated :class:`Simulation` from plain data (fields :data:`SIMULATION_FIELDS`), or
    :class:`~moetheory.experiments.config.ConfigError` naming the first bad field. Nothing is
    sampled or fitted here beyond a finiteness probe of the true regression function."""
    if "sizes" in data:
        data = {**data, "sizes": expand_sizes(data["sizes"])}
    cfg = validate(data, SIMULATION_FIELDS, where)
    model = _model(cfg, where)
    kind = "gaussian" if model.is_gaussian else "regression"
    if cfg["model"] not in ("", kind):
        raise ConfigError(
            f"{where}: field 'model' = {cfg['model']!r}: expert {model.expert_name!r} is a "
            f"{kind} expert"
        )
    if kind == "gaussian" and cfg["noise"] != 0.0:
        raise ConfigError(
            f"{where}: field 'noise' = {cfg['noise']}: a Gaussian MoE draws its noise from the "
            "experts' variances; leave noise out"
        )
    if kind == "gaussian" and model.normalisation in ("sigmoid", "none"):
        raise ConfigError(
            f"{where}: field 'model': router {model.gate_name!r} is unnormalised, so a Gaussian "
            "MoE likelihood is not a density"
        )
    theta = _atoms(model, cfg["atoms"], where)
    k = cfg["k"] or int(theta.shape[0])
    if k < theta.shape[0]:
        raise ConfigError(
            f"{where}: field 'k' = {k}: fewer fitted atoms than true ones (k* = {theta.shape[0]})"
        )
    if model.top_k is not None and model.top_k > min(k, int(theta.shape[0])):
        raise ConfigError(f"{where}: field 'top_k' = {model.top_k}: exceeds k* or k")
    law = _law(cfg, model.dim, where)
    truth = Truth(model, theta, None if kind == "gaussian" else float(cfg["noise"]))
    probe = law.sample(64, torch.Generator().manual_seed(0))
    if not torch.isfinite(model.regression(probe, theta)).all():
        raise ConfigError(f"{where}: field 'atoms': the true regression function is not finite")
    return Simulation(
        truth=truth,
        law=law,
        k=k,
        sizes=tuple(cfg["sizes"]),
        replicates=cfg["replicates"],
        seed=cfg["seed"],
        fit=cfg["fit"],
        config=cfg,
    )


# ---------------------------------------------------------------------------------------------
# All units' data, padded
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class SimData:
    """Every unit's sample, padded to the largest n: ``x`` (B, N, d), ``y`` (B, N), ``n`` (B,)
    (the real sizes; rows j ≥ n[b] are zeros and masked by the fits), ``starts`` (B, S, k, p),
    and per unit its ``ids``, ``sizes``, ``replicates`` and ``seeds`` (recorded with results)."""

    x: Tensor
    y: Tensor
    n: Tensor
    starts: Tensor
    ids: tuple[str, ...]
    sizes: tuple[int, ...]
    replicates: tuple[int, ...]
    seeds: tuple[int, ...]

    @property
    def mask(self) -> Tensor:
        """(B, N) bool, True on real observations."""
        return torch.arange(self.x.shape[1])[None, :] < self.n[:, None]


def simulation_data(sim: Simulation, units: Sequence[str] | None = None) -> SimData:
    """The data and starts of the simulation's units (all, or those whose ids are in
    ``units``), float64 on the CPU. Each unit's draws depend on its seed only."""
    grid = grid_units({"n": list(sim.sizes), "replicate": list(range(sim.replicates))}, sim.seed)
    if units is not None:
        wanted = set(units)
        grid = [u for u in grid if u.id in wanted]
    if not grid:
        raise ConfigError("no simulation units selected")
    n_max = max(u.params["n"] for u in grid)
    d, fit = sim.truth.model.dim, sim.fit
    xs = torch.zeros(len(grid), n_max, d, dtype=DTYPE)
    ys = torch.zeros(len(grid), n_max, dtype=DTYPE)
    starts = []
    for b, u in enumerate(grid):
        n = u.params["n"]
        x, y = sample(sim.truth, sim.law, n, torch.Generator().manual_seed(u.seed))
        xs[b, :n], ys[b, :n] = x, y
        gen = torch.Generator().manual_seed(unit_seed(sim.seed, u.id + "/starts"))
        scale = fit["init_scale"] * (n / min(sim.sizes)) ** (-fit["init_decay"])
        starts.append(
            initial_starts(sim.truth, sim.k, fit["starts"], gen, fit["init"], scale, sim.gauge)
        )
    return SimData(
        x=xs,
        y=ys,
        n=torch.tensor([u.params["n"] for u in grid]),
        starts=torch.stack(starts),
        ids=tuple(u.id for u in grid),
        sizes=tuple(u.params["n"] for u in grid),
        replicates=tuple(u.params["replicate"] for u in grid),
        seeds=tuple(u.seed for u in grid),
    )
