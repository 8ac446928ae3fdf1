"""Lesson 5: fast optimizers — trajectories on 2-D loss surfaces, then the same optimizers on a
real network, compared fairly, with learning-rate schedules and an LR range test."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterator
from dataclasses import dataclass

import torch
from torch.optim import lr_scheduler

from ..compare import interleave
from ..config import ConfigError, apply_preset, param, project, same_as
from ..data import load_noting
from ..engine import LessonConfig, TrainConfig, train
from ..optim import OPTIMIZERS, hyperparameters, make_optimizer, make_schedule, step_schedule
from ..records import Record
from ..surfaces import SURFACES, loss

NAME = "optimizers"
FAIR_GRID = (1e-4, 1e-3, 1e-2, 1e-1, 1.0)  # the learning rates every optimizer gets in fair mode


@dataclass(frozen=True)
class Config(LessonConfig):
    """Optimizers race on a 2-D surface, or (net) train the same MLP."""

    optimizers: tuple = param(("sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam"),
                              "torch.optim optimizers to compare.", choices=OPTIMIZERS)
    surface: str = param("ravine", "The 2-D loss surface.", choices=SURFACES)
    lr: float = param(0.3, "Learning rate, the same for every optimizer.", lo=1e-5, hi=10.0, log=True,
                      label="Learning rate")
    steps: int = param(100, "Optimizer steps.", lo=1, hi=10_000)
    start: tuple = param((-9.0, 2.0), "Start point x,y on the surface (click the chart to set it).", lo=-10.0,
                         hi=10.0)
    momentum: float = param(0.9, "β: momentum's and Nesterov's decay of past gradients.", lo=0.0, hi=0.999)
    beta1: float = param(0.9, "β₁: the Adam family's decay of the mean gradient.", lo=0.0, hi=0.999, label="β₁")
    beta2: float = param(0.999, "β₂: the Adam family's decay of the squared gradient.", lo=0.0, hi=0.9999,
                         label="β₂")
    eps: float = param(1e-8, "ε: keeps the adaptive methods from dividing by zero.", lo=1e-12, hi=1.0, log=True,
                       label="ε")
    weight_decay: float = param(0.0, "L2 penalty (AdamW: decoupled weight decay).", lo=0.0, hi=1.0)
    schedule: str = same_as(TrainConfig, "schedule")
    net: bool = param(False, "Train the MLP on real data instead of moving on a surface.", label="Real network")
    fair: bool = param(False, "Give every optimizer the same learning-rate sweep and show each at its best.",
                       label="Fair mode")
    dataset: str = same_as(TrainConfig, "dataset")
    depth: int = same_as(TrainConfig, "depth", default=3)
    width: int = same_as(TrainConfig, "width")
    activation: str = same_as(TrainConfig, "activation", default="relu")
    init: str = same_as(TrainConfig, "init", default="he_normal")
    batch_size: int = same_as(TrainConfig, "batch_size")
    seed: int = same_as(TrainConfig, "seed")
    eval_every: int = same_as(TrainConfig, "eval_every", default=25)
    device: str = same_as(TrainConfig, "device")

    def __post_init__(self):
        super().__post_init__()
        if len(self.start) != 2:
            raise ConfigError("start", f"needs two numbers, x,y (got {len(self.start)})")
        if len(set(self.optimizers)) != len(self.optimizers):
            raise ConfigError("optimizers", "must not repeat a name")


PRESETS: dict[str, dict] = {
    # Plain GD zig-zags across the steep direction and crawls along the flat one; momentum doesn't.
    "ravine": {"surface": "ravine", "optimizers": ("sgd", "momentum", "nesterov"), "lr": 0.3, "steps": 100,
               "start": (-9.0, 2.0)},
    # AdaGrad's accumulated squares shrink its steps until it stalls; RMSProp forgets and keeps going.
    "adagrad-stall": {"surface": "ravine", "optimizers": ("adagrad", "rmsprop"), "lr": 0.3, "steps": 300,
                      "start": (-9.0, 2.0)},
    "rosenbrock": {"surface": "rosenbrock", "optimizers": ("sgd", "momentum", "nesterov", "adam"),
                   "lr": 0.001, "steps": 500, "start": (-1.5, 2.5)},
    "saddle": {"surface": "saddle", "optimizers": ("sgd", "momentum", "rmsprop", "adam"), "lr": 0.05,
               "steps": 60, "start": (-1.5, 0.01)},
}


def hyper(cfg: Config, name: str) -> dict:
    """The optimizer arguments the controls set for `name`."""
    return hyperparameters(name, cfg.momentum, cfg.beta1, cfg.beta2, cfg.eps, cfg.weight_decay)


def trajectories(cfg: Config, lr: float | None = None) -> Iterator[Record]:
    """Each optimizer (torch.optim) steps its own 2-parameter tensor across the surface: loss, x,
    y and lr at every step (step 0 is the start; run = optimizer name). One backward pass serves
    all of them, since their losses are independent. A non-finite loss ends that run with `diverged`."""
    points = {n: torch.tensor(cfg.start, dtype=torch.float64, requires_grad=True) for n in cfg.optimizers}
    opts = {n: make_optimizer(n, [p], cfg.lr if lr is None else lr, **hyper(cfg, n)) for n, p in points.items()}
    schedules = {n: make_schedule(cfg.schedule, o, cfg.steps) for n, o in opts.items()} \
        if cfg.schedule != "constant" else {}
    active = list(cfg.optimizers)
    for step in range(cfg.steps + 1):
        losses = {n: loss(cfg.surface, points[n]) for n in active}
        rows = torch.stack([torch.cat([losses[n].detach().reshape(1), points[n].detach()]) for n in active])
        values = dict(zip(active, rows.tolist(), strict=True))  # one transfer for every optimizer
        for n, (f, x, y) in values.items():
            if not all(math.isfinite(v) for v in (f, x, y)):
                yield Record(n, step, "diverged", None, float(step))
                active.remove(n)
                del losses[n]
                continue
            yield from (Record(n, step, "loss", None, f), Record(n, step, "x", None, x),
                        Record(n, step, "y", None, y), Record(n, step, "lr", None, opts[n].param_groups[0]["lr"]))
        if step == cfg.steps or not active:
            return
        torch.autograd.backward(list(losses.values()))
        for n in active:
            opts[n].step()
            points[n].grad = None
            if n in schedules:
                step_schedule(schedules[n], values[n][0])


def net_config(cfg: Config, name: str, lr: float, steps: int | None = None) -> TrainConfig:
    """The engine config of one optimizer's network run."""
    return project(cfg, TrainConfig, optimizer=name, lr=lr, steps=steps or cfg.steps, probe_every=max(1, cfg.steps))


def best_lr(records: list[Record], run: str) -> tuple[float, float]:
    """(final validation accuracy, -final validation loss) of a sweep run; higher is better."""
    acc = [r.value for r in records if r.run == run and r.metric == "val_accuracy"]
    val = [r.value for r in records if r.run == run and r.metric == "val_loss"]
    return (acc[-1], -val[-1]) if acc else (-1.0, -math.inf)


def sweep_name(name: str, lr: float) -> str:
    return f"{name}@lr{lr:g}"


def run(cfg: Config, notes: list[str] | None = None, extra: dict | None = None) -> Iterator[Record]:
    """Surface trajectories (run = optimizer), or with `net` the MLP trained by each optimizer;
    with `fair`, first a sweep (runs `name@lrX`), then each optimizer at its best rate."""
    if not cfg.net:
        yield from trajectories(cfg)
        return
    data = load_noting(cfg.dataset, cfg.seed, notes)
    lrs = {name: cfg.lr for name in cfg.optimizers}
    if cfg.fair:
        sweep_steps = max(20, cfg.steps // len(FAIR_GRID))
        runs = {sweep_name(n, lr): train(net_config(cfg, n, lr, sweep_steps), data, sweep_name(n, lr),
                                         hyper=hyper(cfg, n))
                for n in cfg.optimizers for lr in FAIR_GRID}
        swept = []
        for r in interleave(runs):
            swept.append(r)
            yield r
        lrs = {n: max(FAIR_GRID, key=lambda lr, n=n: best_lr(swept, sweep_name(n, lr))) for n in cfg.optimizers}
    if extra is not None:
        extra["lrs"] = lrs
    # a constant rate is recorded too, so the learning-rate chart always has its lines
    constant = (lambda opt: lr_scheduler.ConstantLR(opt, factor=1.0, total_iters=0)) \
        if cfg.schedule == "constant" else None
    yield from interleave({n: train(net_config(cfg, n, lrs[n]), data, n, hyper=hyper(cfg, n),
                                    schedule_factory=constant) for n in cfg.optimizers})


def lr_range_test(cfg: Config, name: str, lo: float = 1e-5, hi: float = 10.0, steps: int = 200) -> Iterator[Record]:
    """The learning-rate finder: train the MLP while torch's ExponentialLR grows the rate from `lo`
    to `hi` over `steps` steps; loss and lr per step (run `name@range`), until the loss diverges."""
    data = load_noting(cfg.dataset, cfg.seed)
    tc = dataclasses.replace(net_config(cfg, name, lo, steps), schedule="constant", eval_every=10_000)
    gamma = (hi / lo) ** (1 / steps)
    yield from train(tc, data, f"{name}@range", hyper=hyper(cfg, name),
                     schedule_factory=lambda opt: lr_scheduler.ExponentialLR(opt, gamma=gamma))


def with_preset(name: str, **changes) -> Config:
    """A preset's config, with changes (reduced tests, benchmarks)."""
    return apply_preset(Config, PRESETS, name, **changes)
