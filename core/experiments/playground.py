"""Lesson 6: the playground — the chapter's problems seen as a decision boundary on 2-D toy data.

TensorFlow Playground's idea (points in the plane, a boundary that forms as the net trains) with every knob of
this lab's engine. The run's records carry the picture: the training points once at step 0 (`point_x`,
`point_y`, `point_label`, layer = the point's number) and, every `boundary_every` steps, the probability of
class 1 at each cell of a `grid`×`grid` raster of the plane (`boundary`, layer = the cell's number, see `cell`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from ..claims import Claim, Control, Verdict, final_accuracy, values
from ..config import ConfigError, param, project, same_as
from ..data import Dataset
from ..engine import LessonConfig, TrainConfig, build_model, train
from ..experiment import Experiment, Lesson, single
from ..export import Plan
from ..i18n import N_, _
from ..recipe import split
from ..records import Record

NAME = "playground"
SHAPES = {"spiral": N_("two interleaved spiral arms"), "moons": N_("scikit-learn's two moons"),
          "circles": N_("scikit-learn's two circles, one inside the other"),
          "xor": N_("four blobs, opposite corners in the same class (XOR)")}
EXTENT = 2.5  # the plane drawn and rastered: [-EXTENT, EXTENT]² in the standardised inputs the network sees
POINTS = ("point_x", "point_y", "point_label")
BOUNDARY = "boundary"
MAX_BOUNDARY_VALUES = 250_000  # a run's boundary records in all (the run store and a session's history hold runs)


def make_points(shape: str, points: int, noise: float, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """`points` 2-D points of two classes in one of the four shapes, with Gaussian noise of std `noise`
    (scikit-learn's for the moons and the circles), drawn from `seed`: (x float32 [n, 2], y int64 [n])."""
    import math

    if shape == "spiral":  # two arms of 1.5 turns, radius up to 1, class c turned by c half-turns
        g = torch.Generator().manual_seed(seed)
        y = torch.arange(points) % 2
        t = 0.15 + 0.85 * torch.rand(points, generator=g, dtype=torch.float64)
        angle = 3 * math.pi * t + math.pi * y
        x = torch.stack([t * torch.cos(angle), t * torch.sin(angle)], 1)
        x = x + noise * torch.randn(points, 2, generator=g, dtype=torch.float64)
        return x.float(), y.long()
    from sklearn import datasets

    if shape == "moons":
        x, y = datasets.make_moons(points, noise=noise, random_state=seed)
    elif shape == "circles":
        x, y = datasets.make_circles(points, noise=noise, factor=0.5, random_state=seed)
    elif shape == "xor":  # blobs at the four corners; a blob's class is the XOR of its corner's signs
        centres = [(-0.5, -0.5), (0.5, 0.5), (-0.5, 0.5), (0.5, -0.5)]
        x, blob = datasets.make_blobs(points, centers=centres, cluster_std=0.15 + noise, random_state=seed)
        y = (blob >= 2).astype("int64")
    else:
        raise ValueError(f"shape must be one of spiral, moons, circles, xor (got {shape!r})")
    return torch.tensor(x, dtype=torch.float32), torch.tensor(y, dtype=torch.int64)


@dataclass(frozen=True)
class Config(LessonConfig):
    """One MLP on 2-D points, with every knob of the engine; the picture is its decision boundary."""

    shape: str = param("spiral", N_("The points to separate: two classes in the plane."), choices=SHAPES,
                       label=N_("Data"))
    points: int = param(400, N_("How many points (a fifth of them are held out for validation)."), lo=40, hi=4000)
    noise: float = param(0.1, N_("Standard deviation of the Gaussian noise added to every point."), lo=0.0, hi=1.0)
    depth: int = same_as(TrainConfig, "depth", default=4)
    width: int = same_as(TrainConfig, "width", default=16)
    activation: str = same_as(TrainConfig, "activation", default="relu")
    init: str = same_as(TrainConfig, "init", default="he_normal")
    batch_norm: str = same_as(TrainConfig, "batch_norm")
    optimizer: str = same_as(TrainConfig, "optimizer")
    lr: float = same_as(TrainConfig, "lr")
    schedule: str = same_as(TrainConfig, "schedule")
    batch_size: int = same_as(TrainConfig, "batch_size", default=32)
    steps: int = same_as(TrainConfig, "steps", default=1000)
    seed: int = same_as(TrainConfig, "seed", help=N_("Seeds the points, the split, the initial weights and the "
                                                     "batch order."))
    clip_norm: float = same_as(TrainConfig, "clip_norm")
    clip_value: float = same_as(TrainConfig, "clip_value")
    grid: int = param(40, N_("The boundary is the network's probability of class 1 on a grid of this many cells "
                             "a side."), lo=8, hi=64, advanced=True, label=N_("Boundary grid"))
    boundary_every: int = param(100, N_("Draw the boundary every this many steps (and at the first and last)."),
                                lo=1, hi=10_000, advanced=True, label=N_("Boundary every"))
    probe_every: int = same_as(TrainConfig, "probe_every")
    eval_every: int = same_as(TrainConfig, "eval_every")
    device: str = same_as(TrainConfig, "device")
    bn_momentum: float = same_as(TrainConfig, "bn_momentum")
    leaky_alpha: float = same_as(TrainConfig, "leaky_alpha")
    elu_alpha: float = same_as(TrainConfig, "elu_alpha")
    rrelu_lower: float = same_as(TrainConfig, "rrelu_lower")
    rrelu_upper: float = same_as(TrainConfig, "rrelu_upper")
    momentum: float = same_as(TrainConfig, "momentum")
    beta1: float = same_as(TrainConfig, "beta1")
    beta2: float = same_as(TrainConfig, "beta2")
    eps: float = same_as(TrainConfig, "eps")
    weight_decay: float = same_as(TrainConfig, "weight_decay")

    def __post_init__(self):
        super().__post_init__()
        drawn = self.boundaries() * self.grid ** 2
        if drawn > MAX_BOUNDARY_VALUES:
            need = self.steps // (MAX_BOUNDARY_VALUES // self.grid ** 2 - 2) + 1
            raise ConfigError("boundary_every", _("draws {drawn:,} boundary values in all, more than a run keeps "
                                                  "({most:,}); draw every {need:,} steps or more, or use a smaller "
                                                  "grid").format(drawn=drawn, most=MAX_BOUNDARY_VALUES, need=need),
                              ("steps", "grid"))

    def boundaries(self) -> int:
        """How many boundaries a run draws: before the first step, every `boundary_every` steps, at the end."""
        return 2 + self.steps // self.boundary_every - (self.steps % self.boundary_every == 0)


PRESETS: dict[str, dict] = {
    # a deep sigmoid net with N(0,1) weights: saturated units pass almost no gradient, the boundary stays put
    "deep-sigmoid": {"activation": "sigmoid", "init": "normal", "depth": 20},
    # ReLU with He's initialisation bends the boundary around both arms
    "relu-he-spiral": {"depth": 4, "width": 32, "steps": 2000},
    # a narrower, deeper ReLU net at a high rate: whole units die, and the boundary freezes in straight pieces
    "dying-relu": {"depth": 6, "width": 16, "steps": 2000, "lr": 0.8},
    # a deep ReLU net at a high rate: batch norm lets it train
    "bn-rescue": {"depth": 16, "width": 32, "lr": 1.0, "batch_norm": "before"},
    # Adam against plain SGD at the same rate, on the spiral
    "adam-spiral": {"depth": 4, "width": 32, "optimizer": "adam", "lr": 0.01},
}


def engine_config(cfg: Config) -> TrainConfig:
    """The engine's config of the run (its dataset field is unused: the data are the points)."""
    return project(cfg, TrainConfig)


def load(cfg: Config) -> Dataset:
    """The points of `cfg`, split and standardised by the seed as every lesson's data are (core.recipe.split)."""
    x, y = make_points(cfg.shape, cfg.points, cfg.noise, cfg.seed)
    return Dataset(cfg.shape, *split(x, y, cfg.seed), 2)


def cell(layer: int, grid: int) -> tuple[float, float]:
    """The centre (x, y) of boundary cell `layer` (1 = bottom left, row by row from the bottom, `grid` a side)."""
    row, col = divmod(layer - 1, grid)
    size = 2 * EXTENT / grid
    return -EXTENT + (col + 0.5) * size, -EXTENT + (row + 0.5) * size


def raster(grid: int) -> torch.Tensor:
    """The centres of every cell, in `cell`'s order: [grid², 2]."""
    return torch.tensor([cell(k, grid) for k in range(1, grid * grid + 1)], dtype=torch.float32)


@torch.no_grad()
def probabilities(model: torch.nn.Module, plane: torch.Tensor) -> list[float]:
    """The model's probability of class 1 at each point of `plane`, in eval mode (batch norm's running statistics);
    the model goes back to the mode it was in."""
    was_training = model.training
    model.eval()
    try:
        device = next(model.parameters()).device
        return torch.softmax(model(plane.to(device)), 1)[:, 1].cpu().tolist()
    finally:
        model.train(was_training)


RUNS = single("activation")


def run(cfg: Config) -> Iterator[Record]:
    """The points, then the training with the boundary every `boundary_every` steps (measured in place, so that
    a boundary is the network as it is after that step)."""
    data, name = load(cfg), RUNS.build(activation=cfg.activation)
    for metric, values_ in zip(POINTS, (data.x_train[:, 0], data.x_train[:, 1], data.y_train.float()), strict=True):
        yield from (Record(name, 0, metric, i + 1, v) for i, v in enumerate(values_.tolist()))
    tc, plane = engine_config(cfg), raster(cfg.grid)
    model = build_model(tc, data)

    def boundary(step: int) -> Iterator[Record]:
        yield from (Record(name, step, BOUNDARY, k + 1, p) for k, p in enumerate(probabilities(model, plane)))

    yield from boundary(0)
    for r in train(tc, data, name, model=model, measure_beside=False):
        yield r
        if r.metric == "accuracy" and (r.step % cfg.boundary_every == 0 or r.step == cfg.steps):
            yield from boundary(r.step)  # the loss and accuracy records of a step come after its update


# Analyses of a run's records (the claims and the page read them).

def plane(df: pd.DataFrame, grid: int) -> tuple[np.ndarray, pd.DataFrame, int | None]:
    """From long-form records: the first run's latest boundary as a grid×grid array of P(class 1) (row 0 the bottom
    row, column 0 the left one, as `cell` counts; NaN where a cell has no record), its training points (x, y, label),
    and the boundary's step (None before the first)."""
    runs = sorted(df["run"].astype(str).unique()) if len(df) else []
    df = df[df["run"].astype(str) == runs[0]] if runs else df
    cells = df[df["metric"] == BOUNDARY]
    step = int(cells["step"].max()) if len(cells) else None
    cells = cells[cells["step"] == step]
    values = np.full(grid * grid, np.nan)
    values[cells["layer"].astype(int).to_numpy() - 1] = cells["value"].to_numpy(dtype=float)
    points = df[df["metric"].isin(POINTS)]
    points = pd.DataFrame({name: points[points["metric"] == metric].sort_values("layer")["value"].to_numpy(dtype=float)
                           for name, metric in zip(("x", "y", "label"), POINTS, strict=True)}) \
        if len(points) else pd.DataFrame(columns=["x", "y", "label"])
    return values.reshape(grid, grid), points, step


def snapshots(records, run: str | None = None) -> dict[int, list[float]]:
    """{step: the boundary's probabilities in cell order} of one run (the first one if `run` is None)."""
    out: dict[int, dict[int, float]] = {}
    for r in records:
        if r.metric == BOUNDARY and (run is None or r.run == run):
            run = r.run
            out.setdefault(r.step, {})[r.layer] = r.value
    return {s: [cells[k] for k in sorted(cells)] for s, cells in out.items()}


def spread(records) -> float | None:
    """How much the last boundary varies over the plane: the standard deviation of its probabilities of class 1
    over the cells (0: the same everywhere, a blur with no boundary in it)."""
    found = snapshots(records)
    if not found:
        return None
    final = torch.tensor(found[max(found)], dtype=torch.float64)
    return final.std(correction=0).item()


def stays_flat(high: float = 0.02) -> Callable:
    """Claim: at the end the probability of class 1 varies over the plane with a standard deviation under `high`:
    the net gives every point about the same answer."""
    def check(records):
        if (found := spread(records)) is None:
            return None
        return Verdict(found < high, _("At the end the probability of class 1 varies over the plane with a standard "
                                       "deviation of {spread:.3f}.").format(spread=found))
    return check


def fits(low: float | None = None, high: float | None = None) -> Callable:
    """Claim: the final validation accuracy is above `low` (the boundary separates the classes) or below `high`."""
    return final_accuracy(low, high, lambda acc, _records: _("Validation accuracy ends at {acc:.0%} (chance is 50%).")
                          .format(acc=acc))


def dead_at_end(low: float) -> Callable:
    """Claim: at the last probe more than `low` of the hidden units, over all layers, are dead (they pass no
    gradient on any probe example)."""
    def check(records):
        steps = sorted({r.step for r in records if r.metric == "dead_fraction"})
        if not steps:
            return None
        dead = values(records, "dead_fraction", step=steps[-1])
        share = sum(dead.values()) / len(dead)
        return Verdict(share > low, _("At step {step:,} {share:.0%} of the hidden units are dead (worst layer "
                                      "{worst:.0%}).").format(step=steps[-1], share=share, worst=max(dead.values())))
    return check


CLAIMS = (
    # one cause: the depth the gradient crosses (two layers of the same units and weights move the boundary)
    Claim("deep-sigmoid-stays-flat", "deep-sigmoid", stays_flat(), controls=(Control({"depth": 2}),)),
    Claim("relu-he-fits-the-spiral", "relu-he-spiral", fits(low=0.8), controls=(Control({"activation": "sigmoid"}),)),
    Claim("high-rate-kills-relus", "dying-relu", dead_at_end(0.3), controls=(Control({"lr": 0.1}),)),
    Claim("bn-rescues-a-deep-net", "bn-rescue", fits(low=0.8), controls=(Control({"batch_norm": "none"}),)),
    Claim("adam-fits-where-sgd-lags", "adam-spiral", fits(low=0.8), controls=(Control({"optimizer": "sgd"}),)),
)


def export_plan(cfg: Config) -> Plan:
    return Plan({RUNS.build(activation=cfg.activation): engine_config(cfg)}, points=make_points,
                data={"shape": cfg.shape, "points": cfg.points, "noise": cfg.noise, "seed": cfg.seed})


EXPERIMENT = Experiment(
    name=NAME, title=N_("Playground"),
    summary=N_("One MLP on 2-D points (spiral, moons, circles, XOR), its decision boundary drawn as it trains."),
    config=Config, presets=PRESETS, run=run, runs=RUNS,
    metrics=("loss", "val_loss", "accuracy", "val_accuracy", "diverged", "grad_norm", "dead_fraction",
             "saturated_fraction", BOUNDARY, *POINTS),
    smoke={"steps": 10, "depth": 2, "points": 80, "grid": 8, "boundary_every": 5}, claims=CLAIMS,
    export=export_plan)

LESSON = Lesson(
    NAME, N_("Playground"),
    N_("The chapter's problems as a decision boundary on 2-D points: a deep sigmoid net that will not bend, ReLU "
       "with He init wrapping a spiral, dying ReLUs, batch norm and Adam to the rescue."),
    (EXPERIMENT,))
