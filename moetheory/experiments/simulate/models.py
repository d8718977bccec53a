"""Batched torch MoE models compiled from the families' sympy formulas.

A router × expert pair with k atoms and parameters θ_i = (gate parameters, expert parameters,
[variance]) defines the regression function and the Gaussian conditional density

    f_G(x) = Σ_{i=1}^{k} w_i(x) · h(x; η_i),
    p_G(y | x) = Σ_{i=1}^{k} w_i(x) · N(y | h(x; η_i), ν_i),

where the weights w_i come from the gate numerators g(x; β_i) through the router's declared
normalisation (:class:`~moetheory.families.base.RouterFamily` ``normalisation``):

=============  =================================================================  ==========
normalisation  w_i(x)                                                             supported
=============  =================================================================  ==========
softmax        g_i / Σ_j g_j, computed as softmax of log g_i (g = exp(Z)·P:       yes
               log g = Z + log P, so no exponential is formed)
top-K          softmax over the K largest log g_i, the others 0 (K = ``top_k``)   yes
sigmoid, none  g_i itself (no normalisation across atoms)                         yes
two-level      hierarchical g¹_{i1}·g²_{i2|i1}: needs groups of atoms sharing     refused
               level-1 parameters, not a flat k-atom measure
=============  =================================================================  ==========

The torch code is not a hand-written copy: :func:`compile_torch` walks the very sympy
expressions the identifiability engine uses (``family.build(d)``, or a formula pair read by the
safe parser through :func:`moetheory.identify.api.formula_model`) and turns every node into a
torch operation, after common-subexpression elimination. Parameters are stacked tensors of
shape (R, k, p) — R independent replicates (or fits) of a k-atom mixture — and inputs have
shape (N, d) (shared) or (R, N, d) (one sample per replicate).

Example
-------
>>> import torch
>>> m = TorchMoE.from_families("softmax", "linear", 1)
>>> m.param_names
('beta1', 'beta0', 'a1', 'b')
>>> theta = torch.tensor([[[1.0, 0.0, 2.0, 0.0], [-1.0, 0.0, -2.0, 0.0]]], dtype=torch.float64)
>>> m.regression(torch.zeros(3, 1, dtype=torch.float64), theta)   # equal gates, means 0
tensor([[0., 0., 0.]], dtype=torch.float64)

Reference: ``shared/reference/identifiability.md`` §1 (models), §5 (mixing measures and Voronoi
losses), §7 (simulation setups); Meurer et al., *SymPy: symbolic computing in Python*, PeerJ CS
3:e103 (2017) (``cse``).
"""

from __future__ import annotations

import math
import operator
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache, reduce

import sympy as sp
import torch
from torch import Tensor
from torch.func import jvp

from moetheory.errors import FamilyError, FormulaError
from moetheory.experiments.config import ConfigError
from moetheory.families import ExpertFamily, RouterFamily, get_expert, get_router
from moetheory.identify.api import formula_model
from moetheory.identify.model import open_pieces, split_exponential
from moetheory.rates.voronoi import MixingMeasure
from moetheory.symbolic.functions import Phi, erf, erfd, phi, sigmoid, step

__all__ = [
    "UNNORMALISED",
    "SUPPORTED_NORMALISATIONS",
    "TorchMoE",
    "compile_torch",
]

TOP_K = "top-K"
"""The normalisation of top-K routers (softmax over the K largest scores)."""

SUPPORTED_NORMALISATIONS = ("softmax", TOP_K, "sigmoid", "none")
"""Gate normalisations the torch models implement (``two-level`` is refused)."""

UNNORMALISED = ("sigmoid", "none")
"""Normalisations whose weights are the gate numerators themselves."""

_SQRT_2PI = math.sqrt(2.0 * math.pi)
_SQRT_PI = math.sqrt(math.pi)


def _step(t: Tensor) -> Tensor:
    """Heaviside step with H(0) = 1/2, as :class:`moetheory.symbolic.functions.step`."""
    return (torch.sign(t) + 1.0) / 2.0


_UNARY: dict[type, Callable[[Tensor], Tensor]] = {
    sp.exp: torch.exp,
    sp.log: torch.log,
    sp.tanh: torch.tanh,
    sp.sin: torch.sin,
    sp.cos: torch.cos,
    sp.Abs: torch.abs,
    sp.sign: torch.sign,
    sp.erf: torch.special.erf,
    sigmoid: torch.sigmoid,
    step: _step,
    Phi: torch.special.ndtr,
    phi: lambda t: torch.exp(-0.5 * t * t) / _SQRT_2PI,
    erf: torch.special.erf,
    erfd: lambda t: 2.0 * torch.exp(-t * t) / _SQRT_PI,
}

Value = Tensor | float
Node = Callable[[list[Value]], Value]


def _constant(expr: sp.Expr) -> float:
    value = complex(sp.N(expr, 30))
    if value.imag != 0 or not math.isfinite(value.real):
        raise FormulaError(f"constant {expr} is not a finite real number", token=str(expr))
    return value.real


def _pow(base: Value, exponent: Value) -> Value:
    if isinstance(exponent, float):
        if exponent == 0.5:
            return torch.sqrt(base) if isinstance(base, Tensor) else math.sqrt(base)
        if exponent.is_integer():
            return base ** int(exponent)
    if isinstance(base, float) and isinstance(exponent, Tensor):
        return torch.exp(exponent * math.log(base)) if base > 0 else base**exponent
    return base**exponent


def _compile_node(expr: sp.Basic, slots: dict[sp.Symbol, int]) -> Node:
    """A closure computing ``expr`` from the values in the slots (constants folded)."""
    if isinstance(expr, sp.Symbol):
        if expr not in slots:
            raise FormulaError(f"symbol {expr} is not an argument", token=str(expr))
        i = slots[expr]
        return lambda env: env[i]
    if not expr.free_symbols:
        c = _constant(expr)
        return lambda env: c
    children = [_compile_node(a, slots) for a in expr.args]
    if isinstance(expr, sp.Add):
        return lambda env: reduce(operator.add, (f(env) for f in children))
    if isinstance(expr, sp.Mul):
        return lambda env: reduce(operator.mul, (f(env) for f in children))
    if isinstance(expr, sp.Pow):
        b, e = children
        return lambda env: _pow(b(env), e(env))
    for cls, fn in _UNARY.items():
        if type(expr) is cls:
            (arg,) = children
            return lambda env: fn(arg(env))  # type: ignore[arg-type]
    name = getattr(expr.func, "__name__", type(expr).__name__)
    raise FormulaError(f"function {name!r} has no torch implementation", token=name)


def compile_torch(expr: sp.Expr, symbols: Sequence[sp.Symbol]) -> Callable[..., Tensor | float]:
    """A torch function of ``symbols`` (positional tensors, broadcast together) equal to ``expr``.

    The expression is split by ``sympy.cse``; every node becomes a torch operation: ``+ * **``,
    exp, log, tanh, sin, cos, abs, sign, erf and the package's own sigmoid, step (H(0) = 1/2),
    Phi, phi, erf, erfd; constant subtrees are folded to float64 numbers. An unknown function
    raises :class:`~moetheory.errors.FormulaError` naming it. The result is differentiable
    (autograd and ``torch.func``) wherever the formula is. A result free of the symbols comes
    back as a float.

    >>> x, a = sp.symbols("x a")
    >>> f = compile_torch(sigmoid(a * x) + sp.sqrt(2), (x, a))
    >>> round(float(f(torch.tensor(0.0), torch.tensor(3.0))), 6)
    1.914214
    """
    many = compile_torch_many((expr,), tuple(symbols))
    return lambda *args: many(*args)[0]


@lru_cache(maxsize=512)
def compile_torch_many(
    exprs: tuple[sp.Expr, ...], symbols: tuple[sp.Symbol, ...]
) -> Callable[..., list[Value]]:
    """:func:`compile_torch` for several expressions sharing one ``cse`` (a value and its
    derivatives, say); returns the list of their values. Cached per (expressions, symbols)."""
    slots: dict[sp.Symbol, int] = {s: i for i, s in enumerate(symbols)}
    replacements, reduced = sp.cse(list(exprs), symbols=sp.numbered_symbols("_cse"))
    steps: list[Node] = []
    for sym, sub in replacements:
        steps.append(_compile_node(sub, slots))
        slots[sym] = len(slots)
    finals = [_compile_node(e, slots) for e in reduced]

    def run(*args: Value) -> list[Value]:
        env: list[Value] = list(args)
        for s in steps:
            env.append(s(env))
        return [f(env) for f in finals]

    return run


# ---------------------------------------------------------------------------------------------
# The model
# ---------------------------------------------------------------------------------------------


def _broadcast(value: Value, shape: tuple[int, ...], like: Tensor) -> Tensor:
    if isinstance(value, Tensor):
        return torch.broadcast_to(value, shape)
    return torch.full(shape, float(value), dtype=like.dtype, device=like.device)


@dataclass(frozen=True, eq=False)
class TorchMoE:
    """A k-atom router × expert mixture as batched torch functions.

    Per atom the parameter vector is ``param_names``: the gate's Taylor parameters, then its
    masses (softmax intercepts such as β₀), then the expert's mean parameters, then the Gaussian
    variance ν when the expert has one. ``theta`` arguments have shape (R, k, p) or (k, p);
    ``x`` has shape (N, d) or (R, N, d), ``y`` shape (N,) or (R, N). Build with
    :meth:`from_families` or :meth:`from_formulas`; an unsupported normalisation raises
    :class:`~moetheory.experiments.config.ConfigError` naming the router.
    """

    gate_name: str
    expert_name: str
    dim: int
    normalisation: str
    inputs: tuple[sp.Symbol, ...]
    gate_expr: sp.Expr
    gate_params: tuple[sp.Symbol, ...]
    masses: tuple[sp.Symbol, ...]
    mean_expr: sp.Expr
    expert_params: tuple[sp.Symbol, ...]
    variance: sp.Symbol | None = None
    output: sp.Symbol | None = None
    density_expr: sp.Expr | None = None
    positive: tuple[sp.Symbol, ...] = ()
    top_k: int | None = None
    _gate: Callable[..., Value] = field(init=False, repr=False)
    _mean: Callable[..., Value] = field(init=False, repr=False)
    _score_expr: sp.Expr = field(init=False, repr=False)
    _mean_open: sp.Expr = field(init=False, repr=False)
    _derivatives: tuple | None = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if self.normalisation not in SUPPORTED_NORMALISATIONS:
            reason = (
                "two-level (hierarchical) normalisation needs groups of atoms sharing their "
                "level-1 parameters, not a flat k-atom mixing measure"
                if self.normalisation == "two-level"
                else f"normalisation {self.normalisation!r} is not implemented"
            )
            raise ConfigError(f"router {self.gate_name!r}: {reason}; not supported by simulate")
        if self.normalisation == TOP_K:
            if isinstance(self.top_k, bool) or not isinstance(self.top_k, int) or self.top_k < 1:
                raise ConfigError(
                    f"router {self.gate_name!r}: top-K normalisation needs top_k, the number K "
                    f"of selected experts (an integer >= 1), got {self.top_k!r}"
                )
        elif self.top_k is not None:
            raise ConfigError(f"router {self.gate_name!r}: top_k applies to top-K routers only")
        gate = open_pieces(self.gate_expr, self.gate_params)
        if self.normalisation in UNNORMALISED:
            score = gate
        else:
            z, rest = split_exponential(gate)
            score = z + (sp.log(rest) if rest != 1 else 0)
        mean = open_pieces(self.mean_expr, self.expert_params)
        object.__setattr__(self, "_score_expr", score)
        object.__setattr__(self, "_mean_open", mean)
        object.__setattr__(self, "_gate", compile_torch(score, self.inputs + self.gate_params))
        object.__setattr__(self, "_mean", compile_torch(mean, self.inputs + self.expert_params))
        object.__setattr__(self, "_derivatives", None)

    # -- construction ------------------------------------------------------------------------

    @classmethod
    def from_families(
        cls,
        gate: str | RouterFamily,
        expert: str | ExpertFamily,
        dim: int,
        *,
        top_k: int | None = None,
    ) -> TorchMoE:
        """The model of two built-in families (names or family objects) at input dimension
        ``dim``; an unknown name raises :class:`~moetheory.experiments.config.ConfigError`."""
        try:
            g = get_router(gate) if isinstance(gate, str) else gate
            e = get_expert(expert) if isinstance(expert, str) else expert
            gb, eb = g.build(dim), e.build(dim)
        except FamilyError as exc:
            raise ConfigError(str(exc)) from None
        variance = eb.variance
        return cls(
            gate_name=g.name,
            expert_name=e.name,
            dim=dim,
            normalisation=g.normalisation,
            inputs=gb.inputs,
            gate_expr=gb.expr,
            gate_params=(*gb.params, *gb.masses),
            masses=gb.masses,
            mean_expr=eb.mean if eb.mean is not None else eb.expr,
            expert_params=tuple(p for p in eb.params if p != variance),
            variance=variance,
            output=eb.output,
            density_expr=eb.expr if variance is not None else None,
            positive=(*gb.positive, *eb.positive),
            top_k=top_k,
        )

    @classmethod
    def from_formulas(
        cls,
        gate_formula: str,
        gate_params: list[str],
        expert_formula: str,
        expert_params: list[str],
        inputs: list[str],
        *,
        gaussian_output: str | None = None,
        variance_param: str | None = None,
        positive: list[str] | None = None,
        normalisation: str = "softmax",
        top_k: int | None = None,
    ) -> TorchMoE:
        """The model of a formula pair, read by the safe parser through
        :func:`moetheory.identify.api.formula_model` (same arguments; masses detected there).
        ``normalisation`` is the gate's (default softmax). A bad formula raises
        :class:`~moetheory.errors.FormulaError`."""
        full = formula_model(
            gate_formula,
            gate_params,
            expert_formula,
            expert_params,
            inputs,
            gaussian_output,
            variance_param,
            positive,
        )
        gate_factor, expert_factor = full.factors
        mean_side = formula_model(
            gate_formula, gate_params, expert_formula, expert_params, inputs
        ).factors[1]
        variance = full.variance[0] if full.variance else None
        xs = full.inputs[: len(inputs)]
        return cls(
            gate_name="formula",
            expert_name="formula",
            dim=len(inputs),
            normalisation=normalisation,
            inputs=xs,
            gate_expr=gate_factor.expr,
            gate_params=(*gate_factor.params, *full.masses),
            masses=full.masses,
            mean_expr=mean_side.expr,
            expert_params=mean_side.params,
            variance=variance,
            output=full.output,
            density_expr=expert_factor.expr if variance is not None else None,
            positive=full.positive,
            top_k=top_k,
        )

    # -- layout --------------------------------------------------------------------------------

    @property
    def param_symbols(self) -> tuple[sp.Symbol, ...]:
        """Per-atom parameters in layout order."""
        var = (self.variance,) if self.variance is not None else ()
        return (*self.gate_params, *self.expert_params, *var)

    @property
    def param_names(self) -> tuple[str, ...]:
        """Names of ``param_symbols``."""
        return tuple(str(s) for s in self.param_symbols)

    @property
    def n_params(self) -> int:
        """p, the number of parameters per atom."""
        return len(self.param_symbols)

    @property
    def n_mean_params(self) -> int:
        """Parameters of the regression function f (all but the variance)."""
        return len(self.gate_params) + len(self.expert_params)

    @property
    def positive_mask(self) -> tuple[bool, ...]:
        """Which per-atom parameters must be positive (temperatures, variances)."""
        pos = set(self.positive) | ({self.variance} if self.variance is not None else set())
        return tuple(s in pos for s in self.param_symbols)

    @property
    def gate_score_expr(self) -> sp.Expr:
        """The gate score the torch code computes: log g (normalised gates) or g itself."""
        return self._score_expr

    @property
    def is_gaussian(self) -> bool:
        """Whether the expert has a Gaussian variance (a conditional density)."""
        return self.variance is not None

    # -- evaluation ----------------------------------------------------------------------------

    @staticmethod
    def _shapes(x: Tensor, theta: Tensor) -> tuple[Tensor, Tensor, bool]:
        batched = theta.ndim == 3
        if not batched:
            theta = theta[None]
        if x.ndim == 2:
            x = x[None]
        return x, theta, batched

    def _call(self, fn: Callable[..., Value], x: Tensor, cols: Tensor) -> Tensor:
        """fn(inputs, parameters) with inputs (R', N, d) and parameters (R, k, q) → (R, k, N)."""
        shape = (max(x.shape[0], cols.shape[0]), cols.shape[1], x.shape[1])
        xs = [x[:, None, :, j] for j in range(x.shape[-1])]
        ps = [cols[:, :, j, None] for j in range(cols.shape[-1])]
        return _broadcast(fn(*xs, *ps), shape, cols)

    def gate_scores(self, x: Tensor, theta: Tensor) -> Tensor:
        """log g_i(x) (normalised gates) or g_i(x) (unnormalised), shape (R, k, N)."""
        x, th, batched = self._shapes(x, theta)
        out = self._call(self._gate, x, th[..., : len(self.gate_params)])
        return out if batched else out[0]

    def _log_weights(self, scores: Tensor) -> Tensor:
        if self.normalisation == TOP_K:
            k = scores.shape[-2]
            assert self.top_k is not None
            if self.top_k > k:
                raise ConfigError(f"top_k = {self.top_k} exceeds the number of atoms k = {k}")
            kth = scores.topk(self.top_k, dim=-2).values[..., -1:, :]
            scores = torch.where(scores >= kth, scores, torch.full_like(scores, -math.inf))
        return torch.log_softmax(scores, dim=-2)

    def gate_weights(self, x: Tensor, theta: Tensor) -> Tensor:
        """w_i(x), shape (R, k, N) ((k, N) for unbatched ``theta``)."""
        scores = self.gate_scores(x, theta)
        if self.normalisation in UNNORMALISED:
            return scores
        return torch.exp(self._log_weights(scores))

    def expert_means(self, x: Tensor, theta: Tensor) -> Tensor:
        """h(x; η_i), shape (R, k, N)."""
        x, th, batched = self._shapes(x, theta)
        lo = len(self.gate_params)
        out = self._call(self._mean, x, th[..., lo : lo + len(self.expert_params)])
        return out if batched else out[0]

    def regression(self, x: Tensor, theta: Tensor) -> Tensor:
        """f_G(x) = Σ_i w_i(x) h(x; η_i), shape (R, N) ((N,) for unbatched ``theta``)."""
        return (self.gate_weights(x, theta) * self.expert_means(x, theta)).sum(dim=-2)

    def _derivative_functions(self) -> tuple:
        """(gate score and its gradient, mean and its gradient) compiled from ``sympy.diff``
        of the family formulas (the gradient in the atom's own parameters)."""
        if self._derivatives is None:
            g_all = (self._score_expr, *(sp.diff(self._score_expr, q) for q in self.gate_params))
            h_all = (self._mean_open, *(sp.diff(self._mean_open, q) for q in self.expert_params))
            for e in (*g_all, *h_all):
                if e.has(sp.Derivative, sp.Subs, sp.DiracDelta):
                    raise FormulaError(f"derivative {e} has no closed form")
            pair = (
                compile_torch_many(g_all, self.inputs + self.gate_params),
                compile_torch_many(h_all, self.inputs + self.expert_params),
            )
            object.__setattr__(self, "_derivatives", pair)
        return self._derivatives  # type: ignore[return-value]

    def _call_many(
        self, fn: Callable[..., list[Value]], x: Tensor, cols: Tensor
    ) -> tuple[Tensor, list[Value]]:
        """The first value broadcast to (R, k, N), the others as computed (constants stay
        numbers: they are only ever multiplied by full tensors)."""
        shape = (max(x.shape[0], cols.shape[0]), cols.shape[1], x.shape[1])
        xs = [x[:, None, :, j] for j in range(x.shape[-1])]
        ps = [cols[:, :, j, None] for j in range(cols.shape[-1])]
        first, *rest = fn(*xs, *ps)
        return _broadcast(first, shape, cols), rest

    def _forward_jacobian(
        self, fn: Callable[..., Value], x: Tensor, cols: Tensor
    ) -> tuple[Tensor, Tensor]:
        """fn and its derivative in each of the atom's own parameters by forward-mode AD: atom
        i's value depends on atom i's columns only, so one ``jvp`` per column q gives
        ∂fn_i/∂c_iq for every atom at once. Shapes (R, k, N) and (R, k, q, N)."""

        def value(c: Tensor) -> Tensor:
            return self._call(fn, x, c)

        parts = []
        with warnings.catch_warnings():
            # torch's forward AD scripts its decompositions on first use (torch's own warning)
            warnings.filterwarnings("ignore", "`torch.jit.script` is deprecated")
            for q in range(cols.shape[-1]):
                tangent = torch.zeros_like(cols)
                tangent[..., q] = 1.0
                parts.append(jvp(value, (cols,), (tangent,))[1])
        v = value(cols)
        return v, torch.stack([_broadcast(d, v.shape, v) for d in parts], dim=2)

    def _side_jacobian(self, x: Tensor, cols: Tensor, side: int) -> tuple[Tensor, Tensor]:
        """(value, ∂value/∂own parameters) of the gate score (side 0) or the expert mean
        (side 1): from the symbolic gradients, by forward-mode AD where one has no closed
        form."""
        fn = self._gate if side == 0 else self._mean
        try:
            many = self._derivative_functions()[side]
        except FormulaError:
            return self._forward_jacobian(fn, x, cols)
        v, ds = self._call_many(many, x, cols)
        return v, torch.stack([_broadcast(d, v.shape, v) for d in ds], dim=2)

    def gate_score_jacobian(self, x: Tensor, theta: Tensor) -> tuple[Tensor, Tensor]:
        """The gate scores s_i(x) (as :meth:`gate_scores`, (R, k, N)) and their gradients in
        the atom's own gate parameters φ_i (R, k, q_g, N), unconstrained coordinates.

        >>> m = TorchMoE.from_families("softmax", "linear", 1)
        >>> x = torch.tensor([[0.5]], dtype=torch.float64)
        >>> s, ds = m.gate_score_jacobian(x, torch.tensor([[2.0, 1.0, 0.0, 0.0]]))
        >>> s.tolist(), ds[0, 0, :, 0].tolist()   # s = β₁x + β₀, ∂s/∂(β₁, β₀) = (x, 1)
        ([[[2.0]]], [0.5, 1.0])
        """
        x, th, _ = self._shapes(x, theta)
        return self._side_jacobian(x, th[..., : len(self.gate_params)], 0)

    def mean_jacobian(self, x: Tensor, theta: Tensor) -> tuple[Tensor, Tensor]:
        """The expert means h(x; η_i) ((R, k, N)) and their gradients in η_i ((R, k, q_e, N))."""
        x, th, _ = self._shapes(x, theta)
        lo = len(self.gate_params)
        return self._side_jacobian(x, th[..., lo : lo + len(self.expert_params)], 1)

    def regression_jacobian(self, x: Tensor, theta: Tensor) -> tuple[Tensor, Tensor]:
        """f_G(x) (R, N) and its transposed Jacobian ∂f/∂θ (R, k, q, N) in the mean parameters
        (the first q = ``n_mean_params`` of the layout), from the symbolic gradients:

            ∂f/∂β_i = w_i (h_i − f) ∂s_i/∂β_i  (softmax, top-K: s = log g),
            ∂f/∂β_i = h_i ∂g_i/∂β_i            (unnormalised),
            ∂f/∂η_i = w_i ∂h_i/∂η_i.

        Raises :class:`~moetheory.errors.FormulaError` when a derivative has no closed form.
        """
        x, th, _ = self._shapes(x, theta)
        gate_fn, mean_fn = self._derivative_functions()
        pg, pe = len(self.gate_params), len(self.expert_params)
        s, ds = self._call_many(gate_fn, x, th[..., :pg])
        h, dh = self._call_many(mean_fn, x, th[..., pg : pg + pe])
        if self.normalisation in UNNORMALISED:
            w = s
            f = (w * h).sum(dim=-2)
            coef = h
        else:
            w = torch.exp(self._log_weights(s))
            f = (w * h).sum(dim=-2)
            coef = w * (h - f[..., None, :])
        parts = [_broadcast(coef * d, coef.shape, coef) for d in ds]
        parts += [_broadcast(w * d, w.shape, w) for d in dh]
        return f, torch.stack(parts, dim=2)

    def log_weights(self, x: Tensor, theta: Tensor) -> Tensor:
        """log w_i(x) of a normalised gate (softmax, top-K: −inf off the selected K), shape
        (R, k, N)."""
        return self._log_weights(self.gate_scores(x, theta))

    def variances(self, theta: Tensor) -> Tensor:
        """ν_i, shape (R, k); a model without a variance raises ConfigError."""
        if self.variance is None:
            raise ConfigError(f"expert {self.expert_name!r} has no Gaussian variance")
        return theta[..., self.n_params - 1]

    def log_density(self, x: Tensor, y: Tensor, theta: Tensor) -> Tensor:
        """log p_G(y | x) = logsumexp_i (log w_i(x) + log N(y | h(x; η_i), ν_i)), shape (R, N).

        Needs a Gaussian expert and a normalised gate (softmax or top-K): unnormalised weights
        do not sum to one, so p_G would not be a density."""
        if self.normalisation in UNNORMALISED:
            raise ConfigError(
                f"router {self.gate_name!r}: its weights do not sum to one, so p(y|x) is not a "
                "density; fit it by least squares"
            )
        nu = self.variances(theta)[..., None]
        means = self.expert_means(x, theta)
        yy = y[..., None, :]
        log_n = -((yy - means) ** 2) / (2.0 * nu) - 0.5 * torch.log(2.0 * math.pi * nu)
        log_w = self.log_weights(x, theta)
        return torch.logsumexp(log_w + log_n, dim=-2)

    def density(self, x: Tensor, y: Tensor, theta: Tensor) -> Tensor:
        """p_G(y | x), shape (R, N)."""
        return torch.exp(self.log_density(x, y, theta))

    # -- measures ------------------------------------------------------------------------------

    def to_measure(self, theta: Tensor) -> MixingMeasure:
        """The mixing measure Σ_i exp(β_{0i}) δ_{(β_{1i}, η_i, ν_i)} of ``theta`` for the Voronoi
        losses: β₀ is the gate's mass parameter (0 — unit masses — for a gate without one, as
        the sigmoid gates), β₁ its other parameters, η the expert's mean parameters, ν the
        variance. Two or more masses raise ConfigError."""
        if len(self.masses) > 1:
            raise ConfigError(f"router {self.gate_name!r} has {len(self.masses)} mass parameters")
        names = self.param_symbols
        gate_cols = [i for i, s in enumerate(self.gate_params) if s not in self.masses]
        if self.masses:
            beta0 = theta[..., names.index(self.masses[0])]
        else:
            beta0 = torch.zeros_like(theta[..., 0])
        lo = len(self.gate_params)
        eta = theta[..., lo : lo + len(self.expert_params)]
        nu = theta[..., self.n_params - 1] if self.variance is not None else None
        return MixingMeasure(beta0=beta0, beta1=theta[..., gate_cols], eta=eta, nu=nu)
