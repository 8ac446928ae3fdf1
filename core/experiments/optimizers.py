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
from ..config import ConfigError, param, project, same_as
from ..data import load_recorded
from ..engine import LessonConfig, TrainConfig, train
from ..experiment import Experiment, Lesson, RunNames, single
from ..optim import OPTIMIZERS, make_optimizer, make_schedule, step_schedule
from ..records import Record
from ..surfaces import SURFACES, loss

NAME = "optimizers"
FAIR_GRID = (1e-4, 1e-3, 1e-2, 1e-1, 1.0)  # the learning rates every optimizer gets in fair mode


def _unique(names: tuple) -> None:
    if len(set(names)) != len(names):
        raise ConfigError("optimizers", "must not repeat a name")


@dataclass(frozen=True)
class Optimizers(LessonConfig):
    """What every optimizer experiment shares: which optimizers race, and their hyperparameters."""

    optimizers: tuple = param(("sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam"),
                              "torch.optim optimizers to compare.", choices=OPTIMIZERS)
    momentum: float = same_as(TrainConfig, "momentum")
    beta1: float = same_as(TrainConfig, "beta1")
    beta2: float = same_as(TrainConfig, "beta2")
    eps: float = same_as(TrainConfig, "eps")
    weight_decay: float = same_as(TrainConfig, "weight_decay")

    def __post_init__(self):
        super().__post_init__()
        _unique(self.optimizers)


@dataclass(frozen=True)
class Config(Optimizers):
    """Optimizers race on a 2-D loss surface, each from the same start."""

    surface: str = param("ravine", "The 2-D loss surface.", choices=SURFACES)
    lr: float = param(0.3, "Learning rate, the same for every optimizer.", lo=1e-5, hi=10.0, log=True,
                      label="Learning rate")
    steps: int = param(100, "Optimizer steps.", lo=1, hi=10_000)
    start: tuple = param((-9.0, 2.0), "Start point x,y on the surface (click the chart to set it).", lo=-10.0,
                         hi=10.0)
    schedule: str = same_as(TrainConfig, "schedule")

    def __post_init__(self):
        super().__post_init__()
        if len(self.start) != 2:
            raise ConfigError("start", f"needs two numbers, x,y (got {len(self.start)})")


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

SURFACE_RUNS = single("optimizer")


def trajectories(cfg: Config) -> Iterator[Record]:
    """Each optimizer (torch.optim) steps its own 2-parameter tensor across the surface: loss, x,
    y and lr at every step (step 0 is the start; run = optimizer name). One backward pass serves
    all of them, since their losses are independent. A non-finite loss ends that run with `diverged`."""
    points = {n: torch.tensor(cfg.start, dtype=torch.float64, requires_grad=True) for n in cfg.optimizers}
    opts = {n: make_optimizer(n, [p], cfg.lr, cfg) for n, p in points.items()}
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



@dataclass(frozen=True)
class Network(Optimizers):
    """The MLP and data the real-network experiments train (the optimizer lesson's defaults)."""

    dataset: str = same_as(TrainConfig, "dataset")
    depth: int = same_as(TrainConfig, "depth", default=3)
    width: int = same_as(TrainConfig, "width")
    activation: str = same_as(TrainConfig, "activation", default="relu")
    init: str = same_as(TrainConfig, "init", default="he_normal")
    batch_size: int = same_as(TrainConfig, "batch_size")
    seed: int = same_as(TrainConfig, "seed")
    device: str = same_as(TrainConfig, "device")


@dataclass(frozen=True)
class NetConfig(Network):
    """The same MLP trained by each optimizer; in fair mode each at its best rate from a sweep."""

    lr: float = param(0.05, "Learning rate, the same for every optimizer (fair mode sweeps instead).", lo=1e-5,
                      hi=10.0, log=True, label="Learning rate")
    steps: int = same_as(TrainConfig, "steps", default=300)
    schedule: str = same_as(TrainConfig, "schedule")
    fair: bool = param(False, "Give every optimizer the same learning-rate sweep and show each at its best.",
                       label="Fair mode")
    eval_every: int = same_as(TrainConfig, "eval_every", default=25)


def _net_build(optimizer: str, lr: float | None = None, phase: str | None = None) -> str:
    # the phase follows from lr: a sweep run carries its rate in its name, a final run does not
    return optimizer if lr is None else f"{optimizer}@lr{lr:g}"


def _net_parse(run: str) -> dict:
    optimizer, _, lr = run.partition("@lr")
    return {"optimizer": optimizer, "lr": float(lr) if lr else None, "phase": "sweep" if lr else "final"}


# `adam` for a final run; `adam@lr0.01` for one point of fair mode's sweep
NET_RUNS = RunNames(("optimizer", "lr", "phase"), _net_build, _net_parse)


def net_config(cfg: Network, name: str, lr: float, steps: int, eval_every: int) -> TrainConfig:
    """The engine config of one optimizer's network run (layers probed only at the ends)."""
    return project(cfg, TrainConfig, optimizer=name, lr=lr, steps=steps, probe_every=max(1, steps),
                   eval_every=eval_every)


def best_lr(records: list[Record], run: str) -> tuple[float, float]:
    """(final validation accuracy, -final validation loss) of a sweep run; higher is better."""
    acc = [r.value for r in records if r.run == run and r.metric == "val_accuracy"]
    val = [r.value for r in records if r.run == run and r.metric == "val_loss"]
    return (acc[-1], -val[-1]) if acc else (-1.0, -math.inf)


def sweep_steps(cfg: NetConfig) -> int:
    return max(20, cfg.steps // len(FAIR_GRID))


def run_net(cfg: NetConfig) -> Iterator[Record]:
    """The MLP trained by each optimizer (run = optimizer). With `fair`, first a sweep (runs
    `name@lrX`), then each at its best rate; every final run starts with a `chosen_lr` record."""
    data, notes = load_recorded(cfg.dataset, cfg.seed)
    yield from notes
    lrs = {name: cfg.lr for name in cfg.optimizers}
    if cfg.fair:
        n = sweep_steps(cfg)
        runs = {NET_RUNS.build(o, lr): train(net_config(cfg, o, lr, n, cfg.eval_every), data, NET_RUNS.build(o, lr))
                for o in cfg.optimizers for lr in FAIR_GRID}
        swept = []
        for r in interleave(runs):
            swept.append(r)
            yield r
        lrs = {o: max(FAIR_GRID, key=lambda lr, o=o: best_lr(swept, NET_RUNS.build(o, lr))) for o in cfg.optimizers}
    for o in cfg.optimizers:
        yield Record(NET_RUNS.build(o), 0, "chosen_lr", None, lrs[o])
    # a constant rate is recorded too, so the learning-rate chart always has its lines
    constant = (lambda opt: lr_scheduler.ConstantLR(opt, factor=1.0, total_iters=0)) \
        if cfg.schedule == "constant" else None
    yield from interleave({NET_RUNS.build(o): train(net_config(cfg, o, lrs[o], cfg.steps, cfg.eval_every), data,
                                                    NET_RUNS.build(o), schedule_factory=constant)
                           for o in cfg.optimizers})


@dataclass(frozen=True)
class RangeConfig(Network):
    """The learning-rate finder: the rate grows exponentially while the MLP trains."""

    lr_min: float = param(1e-5, "The learning rate at the first step.", lo=1e-8, hi=1.0, log=True,
                          label="Smallest learning rate")
    lr_max: float = param(10.0, "The learning rate at the last step.", lo=1e-4, hi=100.0, log=True,
                          label="Largest learning rate")
    steps: int = param(200, "Steps from the smallest to the largest rate.", lo=10, hi=5000)

    def __post_init__(self):
        super().__post_init__()
        if self.lr_min >= self.lr_max:
            raise ConfigError("lr_min", f"must be below the largest learning rate ({self.lr_max:g})", ("lr_max",))


# `sgd@range`: one range test per optimizer
RANGE_RUNS = RunNames(("optimizer",), lambda optimizer: f"{optimizer}@range",
                      lambda run: {"optimizer": run.removesuffix("@range")})


def lr_range_test(cfg: RangeConfig, name: str, data) -> Iterator[Record]:
    """Train the MLP while torch's ExponentialLR grows the rate from lr_min to lr_max over the
    steps: loss and lr per step, until the loss diverges."""
    tc = dataclasses.replace(net_config(cfg, name, cfg.lr_min, cfg.steps, 10_000), schedule="constant")
    gamma = (cfg.lr_max / cfg.lr_min) ** (1 / cfg.steps)
    yield from train(tc, data, RANGE_RUNS.build(optimizer=name),
                     schedule_factory=lambda opt: lr_scheduler.ExponentialLR(opt, gamma=gamma))


def run_range(cfg: RangeConfig) -> Iterator[Record]:
    """The LR range test of every optimizer, a step of each in turn."""
    data, notes = load_recorded(cfg.dataset, cfg.seed)
    yield from notes
    yield from interleave({o: lr_range_test(cfg, o, data) for o in cfg.optimizers})


SURFACE_EXPERIMENT = Experiment(
    name=NAME, title="Optimizers on 2-D loss surfaces",
    summary="torch.optim optimizers racing across a 2-D loss surface from one start point.",
    config=Config, presets=PRESETS, run=trajectories, runs=SURFACE_RUNS, metrics=("loss", "x", "y", "diverged"),
    smoke={"steps": 30})

NET_EXPERIMENT = Experiment(
    name="optimizers-net", title="Optimizers on a real network",
    summary="The same MLP trained by each optimizer; fair mode sweeps learning rates and picks each one's best.",
    config=NetConfig, run=run_net, runs=NET_RUNS,
    progress=lambda cfg: cfg.steps if not cfg.fair else max(cfg.steps, sweep_steps(cfg)),
    metrics=("loss", "val_loss", "val_accuracy", "lr", "diverged", "chosen_lr"),
    smoke={"optimizers": ("sgd", "adam"), "steps": 10, "depth": 2})

RANGE_EXPERIMENT = Experiment(
    name="lr-range", title="Learning-rate range test",
    summary="The loss as the learning rate grows exponentially: where it falls fastest, and where it blows up.",
    config=RangeConfig, run=run_range, runs=RANGE_RUNS, metrics=("loss", "lr"),
    smoke={"steps": 20})  # its network settings are the net tab's on the page

LESSON = Lesson(
    NAME, "Fast optimizers",
    "Momentum, Nesterov, AdaGrad, RMSProp and Adam racing across 2-D loss surfaces; the same optimizers on a real "
    "network, compared fairly; learning-rate schedules and the LR range test.",
    (SURFACE_EXPERIMENT, NET_EXPERIMENT, RANGE_EXPERIMENT))
