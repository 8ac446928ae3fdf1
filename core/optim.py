"""The OPTIMIZERS registry (names -> torch.optim optimizers); the SCHEDULES registry lives in core.recipe."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import torch
from torch import optim

from .recipe import SCHEDULES, make_schedule, step_schedule

__all__ = ["OPTIMIZERS", "SCHEDULES", "make_optimizer", "make_schedule", "optimizer_kwargs", "step_schedule"]


@dataclass(frozen=True)
class OptimizerSpec:
    """A registry entry: the torch class, the fixed arguments that make it this optimizer, and the
    config hyperparameters it accepts (their values, defaults included, come from the Config)."""

    cls: type[optim.Optimizer]
    fixed: dict
    accepts: tuple[str, ...]


_SGD_ARGS = ("momentum", "weight_decay")
_ADAM_ARGS = ("beta1", "beta2", "eps", "weight_decay")

OPTIMIZERS: dict[str, OptimizerSpec] = {
    "sgd": OptimizerSpec(optim.SGD, {}, ("weight_decay",)),
    "momentum": OptimizerSpec(optim.SGD, {}, _SGD_ARGS),
    "nesterov": OptimizerSpec(optim.SGD, {"nesterov": True}, _SGD_ARGS),
    "adagrad": OptimizerSpec(optim.Adagrad, {}, ("eps", "weight_decay")),
    "rmsprop": OptimizerSpec(optim.RMSprop, {"alpha": 0.9}, ("eps", "weight_decay")),  # HOML's rho = 0.9
    "adam": OptimizerSpec(optim.Adam, {}, _ADAM_ARGS),
    "adamw": OptimizerSpec(optim.AdamW, {}, _ADAM_ARGS),
    "nadam": OptimizerSpec(optim.NAdam, {}, _ADAM_ARGS),
    "adamax": OptimizerSpec(optim.Adamax, {}, _ADAM_ARGS),
}


def optimizer_kwargs(name: str, cfg) -> dict:
    """torch keyword arguments for `name`: its fixed ones plus the hyperparameters it accepts, read
    from `cfg` (β₁ and β₂ become torch's `betas`)."""
    spec = OPTIMIZERS[name]
    kwargs = dict(spec.fixed)
    for arg in spec.accepts:
        if arg in ("beta1", "beta2"):
            kwargs["betas"] = (cfg.beta1, cfg.beta2)
        else:
            kwargs[arg] = getattr(cfg, arg)
    return kwargs


def make_optimizer(name: str, params: Iterable[torch.nn.Parameter], lr: float, cfg) -> optim.Optimizer:
    """A torch optimizer by registry name, with the hyperparameters `cfg` sets for it."""
    return OPTIMIZERS[name].cls(params, lr=lr, **optimizer_kwargs(name, cfg))
