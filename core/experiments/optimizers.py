"""Lesson 5: fast optimizers — trajectories on 2-D loss surfaces, then the same optimizers on a
real network, compared fairly, with learning-rate schedules and an LR range test."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from torch.optim import lr_scheduler

from .. import recipe
from ..claims import Claim, Control, Verdict, last, values
from ..config import ConfigError, param, project, same_as
from ..data import Dataset, load_recorded
from ..engine import LessonConfig, TrainConfig, train
from ..experiment import Experiment, Lesson, RunNames, single
from ..export import Plan
from ..i18n import N_, _
from ..optim import OPTIMIZERS, make_optimizer, make_schedule, step_schedule
from ..recipe import BLOWN_UP, NON_FINITE, BlowUp, interleave
from ..records import Record, divergence
from ..surfaces import SURFACES, distance_to_minimum, loss

NAME = "optimizers"
FAIR_GRID = (1e-4, 1e-3, 1e-2, 1e-1, 1.0)  # the learning rates every optimizer gets in fair mode


def _unique(names: tuple) -> None:
    if len(set(names)) != len(names):
        raise ConfigError("optimizers", _('must not repeat a name'))


@dataclass(frozen=True)
class Optimizers(LessonConfig):
    """What every optimizer experiment shares: which optimizers race, and their hyperparameters."""

    optimizers: tuple = param(("sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam"),
                              N_("torch.optim optimizers to compare."), choices=OPTIMIZERS)
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

    surface: str = param("ravine", N_("The 2-D loss surface."), choices=SURFACES)
    lr: float = param(0.3, N_("Learning rate, the same for every optimizer."), lo=1e-5, hi=10.0, log=True,
                      label=N_("Learning rate"))
    steps: int = param(100, N_("Optimizer steps."), lo=1, hi=10_000)
    start: tuple = param((-9.0, 2.0), N_("Start point x,y on the surface (click the chart to set it)."), lo=-10.0,
                         hi=10.0)
    schedule: str = same_as(TrainConfig, "schedule")

    def __post_init__(self):
        super().__post_init__()
        if len(self.start) != 2:
            raise ConfigError("start", _('needs two numbers, x,y (got {count})')
                                       .format(count=len(self.start)))


PRESETS: dict[str, dict] = {
    # An elongated bowl: plain GD zig-zags across and crawls along; momentum and Nesterov arrive sooner.
    "ravine": {"surface": "ravine", "optimizers": ("sgd", "momentum", "nesterov"), "lr": 0.3, "steps": 300,
               "start": (-9.0, 2.0)},
    # At 0.3 AdaGrad's accumulated squares shrink its steps, yet it still arrives; RMSProp forgets them and, at
    # this fixed rate, circles.
    "adagrad-rmsprop": {"surface": "ravine", "optimizers": ("adagrad", "rmsprop"), "lr": 0.3, "steps": 900,
                        "start": (-9.0, 2.0)},
    # At 0.1 AdaGrad stalls far from the minimum, its steps shrunk to nearly nothing: the book's warning.
    "adagrad-stall": {"surface": "ravine", "optimizers": ("adagrad", "rmsprop"), "lr": 0.1, "steps": 900,
                      "start": (-9.0, 2.0)},
    # A curved valley at a shared small rate: momentum follows it; Adam's steps are about the rate in size.
    "rosenbrock": {"surface": "rosenbrock", "optimizers": ("sgd", "momentum", "nesterov", "adam"),
                   "lr": 0.001, "steps": 500, "start": (-1.5, 2.5)},
    "saddle": {"surface": "saddle", "optimizers": ("sgd", "momentum", "rmsprop", "adam"), "lr": 0.05,
               "steps": 60, "start": (-1.5, 0.01)},
}


def _path(records, run: str) -> list[tuple[float, float]]:
    xs, ys = values(records, "x", run), values(records, "y", run)
    return [(xs[s], ys[s]) for s in sorted(xs) if s in ys]


def _distances(records, run: str, surface: str) -> list[float]:
    return [distance_to_minimum(surface, x, y) for x, y in _path(records, run)]


def _steps(path) -> list[float]:
    return [math.dist(a, b) for a, b in zip(path, path[1:], strict=False)]


def _arrivals(records, runs: tuple[str, ...], surface: str, within: float) -> dict[str, int | None] | None:
    """The first step each run is within `within` of the minimum (None: never); None if a run is missing."""
    when = {}
    for run in runs:
        d = _distances(records, run, surface)
        if not d:
            return None
        when[run] = next((i for i, v in enumerate(d) if v < within), None)
    return when


def _said(when: dict[str, int | None]) -> str:
    return ", ".join(_("{run} at step {step}").format(run=r, step=w) if w is not None
                     else _("{run} never").format(run=r) for r, w in when.items())


def arrives_sooner(surface: str, fast: tuple[str, ...], slow: str = "sgd", within: float = 0.01,
                   factor: float = 0.5):
    """Claim: each of `fast` gets within `within` of the minimum in under `factor` × the steps `slow` takes
    (or `slow` never does)."""
    def check(records):
        if (when := _arrivals(records, (*fast, slow), surface, within)) is None:
            return None
        holds = all(when[f] is not None and (when[slow] is None or when[f] < factor * when[slow]) for f in fast)
        return Verdict(holds, _('Within {within:g} of the minimum: {said}.').format(within=within, said=_said(when)))
    return check


def stalls(run: str = "adagrad", surface: str = "ravine", beyond: float = 1.0, last_below: float = 0.01):
    """Claim: `run` ends more than `beyond` from the minimum with its last step under `last_below`."""
    def check(records):
        path = _path(records, run)
        if len(path) < 2:
            return None
        d, steps = _distances(records, run, surface), _steps(path)
        return Verdict(d[-1] > beyond and steps[-1] < last_below,
                       _('{run}: the first step moves {first:.3g}, the last {last:.2g}; it ends {distance:.3g} from '
                         'the minimum.').format(run=run, first=steps[0], last=steps[-1], distance=d[-1]))
    return check


def ends_within(run: str = "adagrad", surface: str = "ravine", within: float = 0.2):
    """Claim: `run` ends within `within` of the minimum."""
    def check(records):
        if not (d := _distances(records, run, surface)):
            return None
        return Verdict(d[-1] < within, _('{run} ends {distance:.3g} from the minimum.')
                                       .format(run=run, distance=d[-1]))
    return check


def circles(run: str = "rmsprop", surface: str = "ravine", window: int = 50, away: float = 0.1):
    """Claim: over the last `window` steps `run` neither settles nor slows: every step is longer
    than `away` and it stays more than `away` from the minimum."""
    def check(records):
        path = _path(records, run)
        if len(path) <= window:
            return None
        d = _distances(records, run, surface)[-window:]
        steps = _steps(path)[-window:]
        return Verdict(min(d) > away and min(steps) > away,
                       _('{run}, last {window} steps: {min_d:.2f}–{max_d:.2f} from the minimum, each step at least '
                         '{min_steps:.2f} long.')
                       .format(run=run, window=window, min_d=min(d), max_d=max(d), min_steps=min(steps)))
    return check


def ends_closer(run: str, other: str, surface: str):
    def check(records):
        a, b = _distances(records, run, surface), _distances(records, other, surface)
        if not a or not b:
            return None
        return Verdict(a[-1] < b[-1], _('At the end {run} is {distance:.3g} from the minimum, {other} '
                                        '{other_distance:.3g}.')
                                      .format(run=run, distance=a[-1], other=other, other_distance=b[-1]))
    return check


def near_and_far(surface: str, near: tuple[str, ...], far: str, within: float = 0.2, beyond: float = 1.0):
    """Claim: `near` optimizers end within `within` of the minimum, `far` more than `beyond` away."""
    def check(records):
        d = {r: _distances(records, r, surface) for r in (*near, far)}
        if not all(d.values()):
            return None
        holds = all(d[r][-1] < within for r in near) and d[far][-1] > beyond
        return Verdict(holds, _("At the end: {distances} from the minimum.").format(
            distances=", ".join(f"{r} {v[-1]:.3g}" for r, v in d.items())))
    return check


def path_length(run: str = "adam", below: float = 1.0):
    """Claim: `run`'s whole path is shorter than `below` (its steps are about the learning rate)."""
    def check(records):
        steps = _steps(_path(records, run))
        if not steps:
            return None
        return Verdict(sum(steps) < below, _('{run} travels {sum_steps:.2f} in {len_steps} steps; its largest step '
                                             'is {max_steps:.2g}.')
                                           .format(run=run, sum_steps=sum(steps), len_steps=len(steps),
                                                   max_steps=max(steps)))
    return check


def lowest_loss(run: str):
    def check(records):
        final = {r.run: r.value for r in records if r.metric == "loss"}  # the last loss of each run
        if run not in final:
            return None
        best = min(final, key=final.get)
        return Verdict(best == run, _("Final losses: {losses}.").format(
            losses=", ".join(f"{k} {v:.3g}" for k, v in final.items())))
    return check


SURFACE_CLAIMS = (
    # β = 0.01 is almost no momentum: one cause, the momentum term
    Claim("ravine-momentum-arrives-sooner", "ravine", arrives_sooner("ravine", ("momentum", "nesterov")),
          controls=(Control({"momentum": 0.01}),)),
    Claim("ravine-nesterov-before-momentum", "ravine", arrives_sooner("ravine", ("nesterov",), "momentum"),
          controls=(Control({"momentum": 0.5}),)),
    Claim("adagrad-stalls-at-lr01", "adagrad-stall", stalls(), controls=(Control({"lr": 0.3}),)),
    Claim("adagrad-arrives-at-lr03", "adagrad-rmsprop", ends_within(), controls=(Control({"lr": 0.1}),)),
    Claim("rmsprop-circles", "adagrad-rmsprop", circles(), controls=(Control({"lr": 0.1}),)),
    Claim("adagrad-ends-closer", "adagrad-rmsprop", ends_closer("adagrad", "rmsprop", "ravine"),
          controls=(Control({"lr": 0.1}),)),
    Claim("rosenbrock-momentum-follows-the-valley", "rosenbrock",
          near_and_far("rosenbrock", ("momentum", "nesterov"), "sgd"), controls=(Control({"momentum": 0.5}),)),
    Claim("rosenbrock-adam-small-steps", "rosenbrock", path_length(), controls=(Control({"lr": 0.01}),)),
    Claim("saddle-momentum-escapes-fastest", "saddle", lowest_loss("momentum"),
          controls=(Control({"momentum": 0.0}),)),
)

SURFACE_RUNS = single("optimizer")


def trajectories(cfg: Config) -> Iterator[Record]:
    """Each optimizer (torch.optim) steps its own 2-parameter tensor across the surface: loss, x,
    y and lr at every step (step 0 is the start; run = optimizer name). One backward pass serves
    all of them, since their losses are independent. A non-finite loss, or one that stays above
    BLOWUP × its start (at least 1) for BLOWUP_STEPS steps, ends that run with `diverged`."""
    points = {n: torch.tensor(cfg.start, dtype=torch.float64, requires_grad=True) for n in cfg.optimizers}
    opts = {n: make_optimizer(n, [p], cfg.lr, cfg) for n, p in points.items()}
    schedules = {n: make_schedule(cfg.schedule, o, cfg.steps) for n, o in opts.items()} \
        if cfg.schedule != "constant" else {}
    active = list(cfg.optimizers)
    start_loss = loss(cfg.surface, torch.tensor(cfg.start, dtype=torch.float64)).item()
    blown_up = {n: BlowUp(max(abs(start_loss), 1.0)) for n in active}
    for step in range(cfg.steps + 1):
        losses = {n: loss(cfg.surface, points[n]) for n in active}
        rows = torch.stack([torch.cat([losses[n].detach().reshape(1), points[n].detach()]) for n in active])
        values = dict(zip(active, rows.tolist(), strict=True))  # one transfer for every optimizer
        for n, (f, x, y) in values.items():
            finite = all(math.isfinite(v) for v in (f, x, y))
            if not finite or blown_up[n](f):
                yield from divergence(n, step, BLOWN_UP if finite else NON_FINITE)
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

    lr: float = param(0.05, N_("Learning rate, the same for every optimizer (fair mode sweeps instead)."), lo=1e-5,
                      hi=10.0, log=True, label=N_("Learning rate"))
    steps: int = same_as(TrainConfig, "steps", default=300)
    schedule: str = same_as(TrainConfig, "schedule")
    fair: bool = param(False, N_("Give every optimizer the same learning-rate sweep and show each at its best."),
                       label=N_("Fair mode"))
    eval_every: int = same_as(TrainConfig, "eval_every", default=25)


def _net_build(optimizer: str, lr: float | None = None, phase: str | None = None) -> str:
    # the phase follows from lr: a sweep run carries its rate in its name, a final run does not
    return optimizer if lr is None else f"{optimizer}@lr{lr:g}"


def _net_parse(run: str) -> dict:
    optimizer, _sep, lr = run.partition("@lr")
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


def selection_split(data: Dataset) -> Dataset:
    """Fair mode's rates are picked on a split carved from the training data (core.recipe.selection_split)."""
    x, y, x_pick, y_pick = recipe.selection_split(data.x_train, data.y_train)
    return dataclasses.replace(data, x_train=x, y_train=y, x_val=x_pick, y_val=y_pick)


def run_net(cfg: NetConfig) -> Iterator[Record]:
    """The MLP trained by each optimizer (run = optimizer). With `fair`, first a sweep (runs
    `name@lrX`) with the final runs' step budget, scored on a selection split carved from the
    training data; then each optimizer at its best rate, reported on the validation split. Every
    final run starts with a `chosen_lr` record."""
    data, notes = load_recorded(cfg.dataset, cfg.seed)
    yield from notes
    lrs = {name: cfg.lr for name in cfg.optimizers}
    if cfg.fair:
        pick = selection_split(data)
        runs = {NET_RUNS.build(o, lr): train(net_config(cfg, o, lr, cfg.steps, cfg.eval_every), pick,
                                             NET_RUNS.build(o, lr))
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

    lr_min: float = param(1e-5, N_("The learning rate at the first step."), lo=1e-8, hi=1.0, log=True,
                          label=N_("Smallest learning rate"))
    lr_max: float = param(10.0, N_("The learning rate at the last step."), lo=1e-4, hi=100.0, log=True,
                          label=N_("Largest learning rate"))
    steps: int = param(200, N_("Steps from the smallest to the largest rate."), lo=10, hi=5000)

    def __post_init__(self):
        super().__post_init__()
        if self.lr_min >= self.lr_max:
            raise ConfigError("lr_min", _('must be below the largest learning rate ({largest:g})')
                                        .format(largest=self.lr_max), ("lr_max",))


# `sgd@range`: one range test per optimizer
RANGE_RUNS = RunNames(("optimizer",), lambda optimizer: f"{optimizer}@range",
                      lambda run: {"optimizer": run.removesuffix("@range")})


def lr_range_test(cfg: RangeConfig, name: str, data) -> Iterator[Record]:
    """Train the MLP while torch's ExponentialLR grows the rate from lr_min to lr_max over the
    steps: loss and lr per step, until the loss diverges."""
    tc = dataclasses.replace(net_config(cfg, name, cfg.lr_min, cfg.steps, 10_000), schedule="constant")
    yield from train(tc, data, RANGE_RUNS.build(optimizer=name),
                     schedule_factory=lambda opt: recipe.range_schedule(opt, cfg.lr_min, cfg.lr_max, cfg.steps))


def run_range(cfg: RangeConfig) -> Iterator[Record]:
    """The LR range test of every optimizer, a step of each in turn."""
    data, notes = load_recorded(cfg.dataset, cfg.seed)
    yield from notes
    yield from interleave({o: lr_range_test(cfg, o, data) for o in cfg.optimizers})


SURFACE_EXPERIMENT = Experiment(
    name=NAME, title=N_("Optimizers on 2-D loss surfaces"),
    summary=N_("torch.optim optimizers racing across a 2-D loss surface from one start point."),
    config=Config, presets=PRESETS, run=trajectories, runs=SURFACE_RUNS, metrics=("loss", "x", "y", "diverged"),
    work=lambda cfg: (cfg.steps + 1) * len(cfg.optimizers),  # each path records its start (step 0) too
    smoke={"steps": 30}, claims=SURFACE_CLAIMS,
    export_why_not="the 2-D surfaces are not networks; export the network tab (optimizers-net) instead")

def adam_behind(other: str = "momentum"):
    """Claim: at the shared rate Adam ends below `other` in validation accuracy."""
    def check(records):
        a, b = last(records, "val_accuracy", "adam"), last(records, "val_accuracy", other)
        if a is None or b is None:
            return None
        return Verdict(a < b, _('Validation accuracy at the end: adam {a:.1%}, {other} {b:.1%}.')
                              .format(a=a, other=other, b=b))
    return check


def ends_near_best(run: str, within: float):
    """Claim: `run` ends within `within` of the best final run's validation accuracy."""
    def check(records):
        finals = {r.run for r in records if r.metric == "chosen_lr"}  # one per final run
        acc = {o: a for o in finals if (a := last(records, "val_accuracy", o)) is not None}
        if run not in acc:
            return None
        best = max(acc, key=acc.get)
        return Verdict(acc[run] >= acc[best] - within,
                       _('{run} ends at {acc_run:.1%}; the best ({best}) at {acc_best:.1%}.')
                       .format(run=run, acc_run=acc[run], best=best, acc_best=acc[best]))
    return check


def adam_catches_up(within: float = 0.05):
    """Claim: in fair mode Adam's rate from the sweep is below the shared default, and it ends
    within `within` of the best optimizer."""
    near = ends_near_best("adam", within)

    def check(records):
        if (verdict := near(records)) is None:
            return None
        chosen = last(records, "chosen_lr", "adam")
        return Verdict(verdict.holds and chosen < NetConfig().lr,
                       _("Adam's rate from the sweep is {chosen:g}; {evidence}")
                       .format(chosen=chosen, evidence=verdict.evidence))
    return check


NET_PRESETS = {"fair": {"fair": True}}
NET_CLAIMS = (
    Claim("adam-behind-at-the-shared-rate", None, adam_behind(), controls=(Control({"lr": 0.001}),)),
    # without the sweep every optimizer keeps the shared rate: one cause, the rate each one gets
    Claim("fair-adam-catches-up", "fair", adam_catches_up(), controls=(Control({"fair": False}),), usually=True),
    Claim("fair-adagrad-does-not-stall-here", "fair", ends_near_best("adagrad", 0.04),
          controls=(Control({"fair": False, "lr": 0.001}),)),
)

def net_plan(cfg: NetConfig) -> Plan:
    return Plan({NET_RUNS.build(o): net_config(cfg, o, cfg.lr, cfg.steps, cfg.eval_every) for o in cfg.optimizers},
                chosen_lr=True, fair_grid=FAIR_GRID if cfg.fair else ())


def range_plan(cfg: RangeConfig) -> Plan:
    return Plan({RANGE_RUNS.build(optimizer=o): dataclasses.replace(net_config(cfg, o, cfg.lr_min, cfg.steps, 10_000),
                                                                    schedule="constant")
                 for o in cfg.optimizers}, lr_range=(cfg.lr_min, cfg.lr_max))


NET_EXPERIMENT = Experiment(
    name="optimizers-net", title=N_("Optimizers on a real network"),
    summary=N_("The same MLP trained by each optimizer; fair mode sweeps learning rates and picks each one's best."),
    config=NetConfig, run=run_net, runs=NET_RUNS, presets=NET_PRESETS, claims=NET_CLAIMS,
    work=lambda cfg: cfg.steps * len(cfg.optimizers) * (1 + len(FAIR_GRID) * cfg.fair),
    metrics=("loss", "val_loss", "val_accuracy", "lr", "diverged", "chosen_lr"),
    smoke={"optimizers": ("sgd", "adam"), "steps": 10, "depth": 2}, export=net_plan)

RANGE_EXPERIMENT = Experiment(
    name="lr-range", title=N_("Learning-rate range test"),
    summary=N_("The loss as the learning rate grows exponentially: where it falls fastest, and where it blows up."),
    config=RangeConfig, run=run_range, runs=RANGE_RUNS, metrics=("loss", "lr"),
    work=lambda cfg: cfg.steps * len(cfg.optimizers),
    smoke={"steps": 20}, export=range_plan)  # its network settings are the net tab's on the page

LESSON = Lesson(
    NAME, N_("Fast optimizers"),
    N_("Momentum, Nesterov, AdaGrad, RMSProp and Adam racing across 2-D loss surfaces; the same optimizers on a real "
    "network, compared fairly; learning-rate schedules and the LR range test."),
    (SURFACE_EXPERIMENT, NET_EXPERIMENT, RANGE_EXPERIMENT))


# -- analyses of the records, for the page (pure: records or their frame in, a frame out) ------------------

def paths(df: pd.DataFrame) -> pd.DataFrame:
    """One row per (optimizer, step) with x, y and loss, from long-form records."""
    wide = df[df.metric.isin(["x", "y", "loss"])].pivot_table(index=["run", "step"], columns="metric",
                                                               values="value", observed=True).reset_index()
    return wide.reindex(columns=["run", "step", "x", "y", "loss"]).astype(
        {"x": "float32", "y": "float32", "loss": "float32"})


def step_lengths(df: pd.DataFrame) -> pd.DataFrame:
    """Distance moved per step, per optimizer, as long-form rows (metric 'step length')."""
    moves = paths(df).sort_values(["run", "step"])
    by_run = moves.groupby("run", observed=True)
    return moves.assign(value=np.hypot(by_run.x.diff(), by_run.y.diff()),
                        metric="step length").dropna(subset=["value"])


def final_positions(df: pd.DataFrame, surface: str, diverged: set[str]) -> pd.DataFrame:
    """Each optimizer's last point: steps taken, final loss, distance to the surface's nearest minimum (NaN
    where it has none) and whether it diverged; lowest final loss first."""
    final = paths(df).sort_values("step").groupby("run", observed=True).tail(1)
    return pd.DataFrame({
        "optimizer": final.run.astype(str).to_numpy(), "steps": final.step.to_numpy(),
        "final loss": final.loss.astype(float).to_numpy(),
        "distance to nearest minimum": [distance_to_minimum(surface, x, y)
                                        for x, y in zip(final.x, final.y, strict=True)],
        "diverged": [str(n) in diverged for n in final.run],
    }).sort_values("final loss", ignore_index=True)


def sweep_scores(df: pd.DataFrame) -> pd.DataFrame:
    """Fair mode's sweep: each (optimizer, rate)'s last selection accuracy; a diverged rate scores 0. `df` is
    the records' frame annotated with the run fields (NET_RUNS: optimizer, lr, phase)."""
    sweep = df[df["phase"] == "sweep"].sort_values("step", kind="stable")
    diverged = set(sweep.loc[sweep["metric"] == "diverged", "run"].astype(str))
    acc = sweep[sweep["metric"] == "val_accuracy"].groupby("run", observed=True).tail(1).set_index("run")["value"]
    runs = sweep.drop_duplicates("run")
    failed = [str(r) in diverged for r in runs["run"]]
    return pd.DataFrame({"optimizer": runs["optimizer"].to_numpy(), "lr": runs["lr"].to_numpy(),
                         "accuracy": [0.0 if f else float(acc.get(r, float("nan")))
                                      for r, f in zip(runs["run"], failed, strict=True)],
                         "diverged": failed})
