"""The OPTIMIZERS and SCHEDULES registries: names -> torch.optim optimizers and lr_scheduler schedulers."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import torch
from torch import optim
from torch.optim import lr_scheduler

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


ADAM_FAMILY = (optim.Adam, optim.AdamW, optim.NAdam, optim.Adamax)


def hyperparameters(name: str, momentum: float = 0.9, beta1: float = 0.9, beta2: float = 0.999,
                    eps: float = 1e-8, weight_decay: float = 0.0) -> dict:
    """The keyword arguments a lesson's controls set on the optimizer `name` (only those it takes)."""
    cls, _ = OPTIMIZERS[name]
    kwargs: dict = {"weight_decay": weight_decay}
    if name in ("momentum", "nesterov"):
        kwargs["momentum"] = momentum
    if cls in ADAM_FAMILY:
        kwargs.update(betas=(beta1, beta2), eps=eps)
    elif cls in (optim.Adagrad, optim.RMSprop):
        kwargs["eps"] = eps
    return kwargs
