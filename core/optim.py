"""The OPTIMIZERS and SCHEDULES registries: names -> torch.optim optimizers and lr_scheduler schedulers."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import torch
from torch import optim
from torch.optim import lr_scheduler


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
HYPERPARAMETERS = ("momentum", "beta1", "beta2", "eps", "weight_decay")


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


def _power(optimizer: optim.Optimizer, steps: int) -> lr_scheduler.LRScheduler:
    # power scheduling, lr(t) = lr0 / (1 + t/s): torch's LambdaLR with s = a tenth of the run
    s = max(1, steps // 10)
    return lr_scheduler.LambdaLR(optimizer, lambda t: 1.0 / (1.0 + t / s))


# name -> factory(optimizer, total steps) building a torch.optim.lr_scheduler scheduler
SCHEDULES: dict[str, Callable[[optim.Optimizer, int], object]] = {
    "constant": lambda opt, steps: lr_scheduler.ConstantLR(opt, factor=1.0, total_iters=0),
    "step": lambda opt, steps: lr_scheduler.StepLR(opt, step_size=max(1, steps // 3), gamma=0.1),
    "exponential": lambda opt, steps: lr_scheduler.ExponentialLR(opt, gamma=0.01 ** (1 / max(1, steps))),
    "power": _power,
    "cosine": lambda opt, steps: lr_scheduler.CosineAnnealingLR(opt, T_max=max(1, steps)),
    "1cycle": lambda opt, steps: lr_scheduler.OneCycleLR(opt, max_lr=opt.param_groups[0]["lr"],
                                                         total_steps=max(2, steps)),
    "reduce_on_plateau": lambda opt, steps: lr_scheduler.ReduceLROnPlateau(opt, factor=0.5,
                                                                           patience=max(1, steps // 20)),
}


def make_schedule(name: str, optimizer: optim.Optimizer, steps: int):
    """A torch lr scheduler by registry name, sized for a run of `steps` steps."""
    return SCHEDULES[name](optimizer, steps)


def step_schedule(schedule, loss: float) -> None:
    """Advance a scheduler one step (ReduceLROnPlateau watches the loss)."""
    if isinstance(schedule, lr_scheduler.ReduceLROnPlateau):
        schedule.step(loss)
    else:
        schedule.step()
