"""The networks' registries (ACTIVATIONS, INITS, the MLP: core.recipe) and what the probes need to know of
the activations."""

from __future__ import annotations

import functools

import torch

from .recipe import ACTIVATION_PARAMS, ACTIVATIONS, BATCH_NORM, INITS, MLP, make_activation, standard_uniform_

__all__ = ["ACTIVATIONS", "ACTIVATION_PARAMS", "BATCH_NORM", "BOUNDED", "INITS", "MLP", "make_activation",
           "max_derivative", "standard_uniform_"]

BOUNDED = ("sigmoid", "tanh")  # saturate on both sides; the rest are ReLU-like: off for negative inputs


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
