"""The MLP builder and the ACTIVATIONS and INITS registries (names -> torch's own callables)."""

from __future__ import annotations

import functools
import math
from collections.abc import Callable

import torch
from torch import nn

ACTIVATIONS: dict[str, type[nn.Module]] = {
    "sigmoid": nn.Sigmoid,
    "tanh": nn.Tanh,
    "relu": nn.ReLU,
    "leaky_relu": nn.LeakyReLU,
    "rrelu": nn.RReLU,
    "elu": nn.ELU,
    "selu": nn.SELU,
    "gelu": nn.GELU,
    "silu": nn.SiLU,
    "mish": nn.Mish,
    "softplus": nn.Softplus,
}

# Constructor arguments each activation takes from the lesson-level parameters.
ACTIVATION_PARAMS = {
    "leaky_relu": {"leaky_alpha": "negative_slope"},
    "elu": {"elu_alpha": "alpha"},
    "rrelu": {"rrelu_lower": "lower", "rrelu_upper": "upper"},
}

def standard_uniform_(w: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """Glorot & Bengio's "standard" baseline, U[−1/√fan_in, 1/√fan_in], through nn.init.uniform_."""
    bound = 1.0 / math.sqrt(w.shape[1])
    return nn.init.uniform_(w, -bound, bound, generator=generator)


INITS: dict[str, Callable[..., torch.Tensor]] = {
    "standard": standard_uniform_,  # Var = 1 / (3 fan_in): the baseline of Glorot & Bengio (2010)
    "normal": functools.partial(nn.init.normal_, mean=0.0, std=1.0),  # the book's N(0, 1)
    "normal_small": functools.partial(nn.init.normal_, mean=0.0, std=0.01),
    "xavier_uniform": nn.init.xavier_uniform_,  # Glorot: Var = 2 / (fan_in + fan_out)
    "xavier_normal": nn.init.xavier_normal_,
    "he_uniform": functools.partial(nn.init.kaiming_uniform_, nonlinearity="relu"),  # Var = 2 / fan_in
    "he_normal": functools.partial(nn.init.kaiming_normal_, nonlinearity="relu"),
    "lecun_normal": functools.partial(nn.init.kaiming_normal_, nonlinearity="linear"),  # Var = 1 / fan_in
    "orthogonal": nn.init.orthogonal_,
    "zeros": lambda w, generator=None: nn.init.zeros_(w),  # every unit identical: the symmetry problem
}

BATCH_NORM = ("none", "before", "after")
BOUNDED = ("sigmoid", "tanh")  # saturate on both sides; the rest are ReLU-like: off for negative inputs


def make_activation(name: str, **params: float) -> nn.Module:
    """An activation module by registry name; lesson parameters map to its constructor."""
    mapping = ACTIVATION_PARAMS.get(name, {})
    kwargs = {arg: params[key] for key, arg in mapping.items() if key in params}
    return ACTIVATIONS[name](**kwargs)


@functools.lru_cache(maxsize=64)
def _max_derivative(name: str, params: tuple) -> float:
    act = make_activation(name, **dict(params)).eval()
    # a fine grid plus points either side of 0, where ELU-like slopes peak
    with torch.enable_grad():  # callers may sit inside no_grad (the engine's probes)
        z = torch.cat([torch.linspace(-20, 20, 8001), torch.tensor([-1e-6, 1e-6])]).requires_grad_(True)
        (g,) = torch.autograd.grad(act(z).sum(), z)
    return float(g.abs().max())


def max_derivative(name: str, **params: float) -> float:
    """The largest |f'(z)| of an activation, found with autograd on a fine grid."""
    return _max_derivative(name, tuple(sorted(params.items())))


class MLP(nn.Module):
    """Dense layers with one activation (and optional batch norm) per hidden layer."""

    def __init__(self, n_in: int, n_out: int, depth: int, width: int, activation: str = "relu",
                 init: str = "he_normal", batch_norm: str = "none",
                 generator: torch.Generator | None = None, bn_momentum: float = 0.1, **act_params: float):
        super().__init__()
        self.activation = activation
        self.act_params = act_params
        self.linears, self.acts, self.norms = nn.ModuleList(), nn.ModuleList(), nn.ModuleList()
        layers: list[nn.Module] = []
        for i in range(depth):
            lin = nn.Linear(n_in if i == 0 else width, width)
            act = make_activation(activation, **act_params)
            self.linears.append(lin)
            self.acts.append(act)
            block: list[nn.Module] = [lin, act]
            if batch_norm != "none":
                bn = nn.BatchNorm1d(width, momentum=bn_momentum)
                self.norms.append(bn)
                block.insert(1 if batch_norm == "before" else 2, bn)
            layers += block
        self.head = nn.Linear(width, n_out)
        self.linears.append(self.head)
        layers.append(self.head)
        self.body = nn.Sequential(*layers)
        self.reset(init, generator)

    @torch.no_grad()
    def reset(self, init: str, generator: torch.Generator | None = None) -> None:
        """Initialise every Linear weight with INITS[init] and every bias with zeros."""
        for lin in self.linears:
            INITS[init](lin.weight, generator=generator)
            nn.init.zeros_(lin.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)
