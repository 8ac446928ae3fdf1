"""Per-layer measurements taken on probe steps: gradient norms, update ratios, activation stats.

Each function returns one value per layer as a 1-D tensor, so the engine moves all of a probe
step's numbers to Python in one transfer.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from contextlib import contextmanager

import torch

from .nets import BOUNDED, MLP, make_activation, max_derivative

PERCENTILES = (0.15, 0.50, 0.85)
SATURATION_LEVEL = 0.01  # f'(z) below 1% of its maximum counts as saturated
PERCENTILE_VALUES = 2048  # percentiles use every unit on the first ceil(2048 / width) examples
PROBE_EXAMPLES = 256  # the fixed probe set: the first validation examples, the same at every probe


@contextmanager
def capture(model: MLP):
    """Record each hidden activation's input and output during the forward passes inside."""
    inputs: list[torch.Tensor] = []
    outputs: list[torch.Tensor] = []

    def hook(_module, args, out):
        inputs.append(args[0].detach())
        outputs.append(out.detach())

    handles = [act.register_forward_hook(hook) for act in model.acts]
    try:
        yield inputs, outputs
    finally:
        for h in handles:
            h.remove()


def forward_capturing(model: MLP, x: torch.Tensor) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """Each hidden activation's input and output on `x`, layer by layer through the model's body up to
    the last activation (the head is not needed); the same values `capture` records with hooks, without
    registering and removing a hook per layer at every probe."""
    acts = {id(a) for a in model.acts}
    inputs: list[torch.Tensor] = []
    outputs: list[torch.Tensor] = []
    for module in model.body:
        if len(outputs) == len(acts):
            break
        y = module(x)
        if id(module) in acts:
            inputs.append(x)
            outputs.append(y)
        x = y
    return inputs, outputs


def grad_norms(model: MLP) -> torch.Tensor:
    """L2 norm of each Linear layer's weight gradient, input layer first (0 for a frozen layer)."""
    grads = [lin.weight.grad for lin in model.linears]
    if all(g is not None for g in grads):
        return torch.stack(torch._foreach_norm(grads))  # one call for all layers, as clip_grad_norm_ does
    return torch.stack([g.detach().norm() if g is not None else torch.zeros((), device=lin.weight.device)
                        for g, lin in zip(grads, model.linears, strict=True)])


def gradients(params: list[torch.nn.Parameter]) -> list[torch.Tensor]:
    """A copy of every parameter's gradient, to compare the clipped gradient with."""
    return [p.grad.detach().clone() for p in params if p.grad is not None]


def cosine(raw: list[torch.Tensor], params: list[torch.nn.Parameter]) -> float:
    """The cosine between the raw gradient (all parameters as one vector) and the parameters' gradient now
    (`clip_cosine`: 1 when clipping only rescaled it, below 1 when it turned it); NaN for a zero gradient."""
    now = [p.grad.detach() for p in params if p.grad is not None]
    dot = torch.stack([(a * b).sum() for a, b in zip(raw, now, strict=True)]).sum()
    norms = torch.stack(torch._foreach_norm(raw)).norm() * torch.stack(torch._foreach_norm(now)).norm()
    return (dot / norms).item() if norms.item() > 0 else float("nan")


def weights(model: MLP) -> list[torch.Tensor]:
    """A copy of each Linear layer's weights, to measure the next update against."""
    return [lin.weight.detach().clone() for lin in model.linears]


def update_ratios(before: list[torch.Tensor], model: MLP) -> torch.Tensor:
    """||W_after - W_before|| / ||W_before|| for each Linear layer."""
    after = [lin.weight.detach() for lin in model.linears]
    if len(after) != len(before):
        raise ValueError(f"{len(before)} weights before the step, {len(after)} after")
    change = torch.stack(torch._foreach_norm(torch._foreach_sub(after, before)))
    return change / torch.stack(torch._foreach_norm(before)).clamp_min(1e-12)


def derivative(act: torch.nn.Module, z: torch.Tensor) -> torch.Tensor:
    """Elementwise f'(z) of an activation module, by autograd."""
    with torch.enable_grad():
        z = z.detach().requires_grad_(True)
        (g,) = torch.autograd.grad(act(z).sum(), z)
    return g


@functools.lru_cache(maxsize=16)
def saturation_threshold(activation: str, params: tuple = ()) -> float:
    """The |z| beyond which a bounded activation counts as saturated: f'(z) below SATURATION_LEVEL of its
    maximum. Sigmoid's and tanh's slopes are even and fall as |z| grows, so "f'(z) < limit" is "|z| > this";
    found once by bisection on autograd's f' (in float64), so a probe compares |z| instead of differentiating
    every activation input."""
    act = make_activation(activation, **dict(params))
    limit = SATURATION_LEVEL * max_derivative(activation, **dict(params))

    def slope(z: float) -> float:
        return float(derivative(act, torch.tensor([z], dtype=torch.float64)).abs())

    hi = 1.0
    while slope(hi) >= limit:
        hi *= 2
    return _boundary(lambda z: slope(z) >= limit, 0.0, hi)


def _boundary(below: Callable[[float], bool], lo: float, hi: float) -> float:
    """Bisection: the point between `lo` (where `below` holds) and `hi` (where it does not) at which it stops
    holding, to float precision; returns the side where it does not hold."""
    for _ in range(60):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if below(mid) else (lo, mid)
    return hi


@functools.lru_cache(maxsize=16)
def dead_threshold(activation: str, params: tuple = ()) -> float:
    """The input below which an unbounded activation passes (almost) no gradient: |f'(z)| stays below
    SATURATION_LEVEL of its largest slope for every z under it (ReLU: 0; ELU, SELU and softplus: about
    ln 0.01 ≈ −4.6; GELU, SiLU, Mish: far in the left tail); −inf where the slope never falls that low
    (LeakyReLU with α ≥ 0.01, RReLU in eval mode). Found once with autograd on a grid, then bisection."""
    act = make_activation(activation, **dict(params)).eval()
    limit = SATURATION_LEVEL * max_derivative(activation, **dict(params))
    grid = torch.linspace(-64.0, 64.0, 128_001, dtype=torch.float64)
    low = derivative(act, grid).abs() < limit
    if not bool(low[0]):
        return float("-inf")
    first_live = int((~low).nonzero()[0]) if bool((~low).any()) else len(grid) - 1

    def slope_low(z: float) -> bool:
        return bool(derivative(act, torch.tensor([z], dtype=torch.float64)).abs() < limit)

    return _boundary(slope_low, float(grid[first_live - 1]), float(grid[first_live]))


def percentile_rows(batch: int, width: int) -> int:
    """How many examples of the probe batch the percentiles are taken over."""
    return min(batch, -(-PERCENTILE_VALUES // width))


def activation_stats(model: MLP, inputs: list[torch.Tensor], outputs: list[torch.Tensor]) -> dict[str, torch.Tensor]:
    """Per hidden layer, over the captured examples (the engine captures a fixed probe set):
    percentiles of the activation's input, its output's mean and std, and the units' state.

    Bounded activations (sigmoid, tanh) report `saturated_fraction`: units whose slope is below 1%
    of its maximum on most examples. The others report `dead_fraction`: units whose slope is below 1%
    of the activation's largest slope on every example, so that they pass almost no gradient (the same
    meaning for every activation: a ReLU with a negative input, never a LeakyReLU with α ≥ 0.01);
    `negative_fraction`, units whose input is negative on every example (what ReLU's deadness looks
    like from outside, whatever the slope there); and `inactive_fraction`, the share of
    (unit, example) pairs with a negative input. `NEGATIVE_UNITS` holds the per-unit mask behind
    `negative_fraction`, for `revived` (the engine takes it out before the records).
    """
    z = torch.stack(inputs)  # (layers, examples, width)
    a = torch.stack(outputs)
    # Sorting is the costly part of a probe; a couple of thousand values per layer pin the
    # percentiles down to about a hundredth of the spread, enough for the bands.
    rows = percentile_rows(z.shape[1], z.shape[2])
    q = torch.quantile(z[:, :rows].flatten(1).float(), torch.tensor(PERCENTILES, device=z.device), dim=1)
    mean, std = mean_std(a.flatten(1))
    out = {"preact_p15": q[0], "preact_p50": q[1], "preact_p85": q[2], "act_mean": mean, "act_std": std}
    examples = z.shape[1]
    if model.activation in BOUNDED:
        beyond = saturation_threshold(model.activation, tuple(sorted(model.act_params.items())))
        out["saturated_fraction"] = ((z.abs() > beyond).sum(1) * 2 > examples).float().mean(1)  # on most examples
    else:
        # Reductions over the examples' axis of a bool tensor are slow on CPU; the largest input is not.
        top = z.amax(1)  # (layers, width)
        below = dead_threshold(model.activation, tuple(sorted(model.act_params.items())))
        negative = top <= 0
        out["dead_fraction"] = (top < below).float().mean(1)  # slope under 1% of its maximum on every example
        out["negative_fraction"] = negative.float().mean(1)
        out["inactive_fraction"] = (z <= 0).flatten(1).sum(1) / (examples * z.shape[2])
        out[NEGATIVE_UNITS] = negative
    return out


NEGATIVE_UNITS = "negative_units"  # not a metric: the mask `revived` compares from one probe to the next


def revived(before: torch.Tensor, after: torch.Tensor) -> torch.Tensor:
    """Per layer, the share of its units that were negative on every probe example at the previous probe
    and are not now (`revived_fraction`); divided by the previous `negative_fraction`, how often they
    come back."""
    return (before & ~after).float().mean(1)


def mean_std(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Each row's mean and (unbiased) standard deviation, as torch.std_mean, in two passes: the
    mean, then the squared deviations from it. On CPU torch's own std of a probe's activations costs
    as much as the forward pass that made them; this costs a twentieth of it."""
    mean = x.mean(1)
    d = x - mean[:, None]
    return mean, (d * d).sum(1).div(max(1, x.shape[1] - 1)).sqrt()


@torch.no_grad()
def running_stat_errors(model: MLP, x: torch.Tensor) -> dict[str, torch.Tensor]:
    """How far each BN layer's running statistics are from its input's statistics over `x`
    (the whole training split, under the current weights), averaged over features:
    running_mean_err = mean |running_mean − μ| / σ, running_var_err = mean |running_var − σ²| / σ²."""
    inputs: list[torch.Tensor] = []
    handles = [bn.register_forward_hook(lambda _m, args, _out: inputs.append(args[0])) for bn in model.norms]
    was_training = model.training
    model.eval()
    try:
        model(x)
    finally:
        model.train(was_training)
        for h in handles:
            h.remove()
    mean_err, var_err = [], []
    for bn, z in zip(model.norms, inputs, strict=True):
        mu, var = z.mean(0), z.var(0)  # unbiased, as BatchNorm's running_var
        sd = var.sqrt().clamp_min(1e-8)
        mean_err.append(((bn.running_mean - mu).abs() / sd).mean())
        var_err.append(((bn.running_var - var).abs() / var.clamp_min(1e-16)).mean())
    return {"running_mean_err": torch.stack(mean_err), "running_var_err": torch.stack(var_err)}
