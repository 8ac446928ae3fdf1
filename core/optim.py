"""The OPTIMIZERS registry: names -> torch.optim classes with the lesson's default arguments."""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import optim

# name -> (torch class, fixed keyword arguments that make it that optimizer)
OPTIMIZERS: dict[str, tuple[type[optim.Optimizer], dict]] = {
    "sgd": (optim.SGD, {}),
    "momentum": (optim.SGD, {"momentum": 0.9}),
    "nesterov": (optim.SGD, {"momentum": 0.9, "nesterov": True}),
    "adagrad": (optim.Adagrad, {}),
    "rmsprop": (optim.RMSprop, {"alpha": 0.9}),
    "adam": (optim.Adam, {}),
    "adamw": (optim.AdamW, {}),
    "nadam": (optim.NAdam, {}),
    "adamax": (optim.Adamax, {}),
}


def make_optimizer(name: str, params: Iterable[torch.nn.Parameter], lr: float, **overrides) -> optim.Optimizer:
    """A torch optimizer by registry name; overrides (momentum, betas, eps, ...) win over defaults."""
    cls, fixed = OPTIMIZERS[name]
    return cls(params, lr=lr, **{**fixed, **overrides})
