"""A sixth lesson as a newcomer would add it: this module plus one registry line (the tests add
the line at run time). It trains a real torch model: torch.optim.SGD fitting a line to seeded
noisy points, y = 3x + 1 + noise, by least squares."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import torch

from core.config import Validated, param
from core.experiment import Experiment, Lesson, single
from core.records import Record


@dataclass(frozen=True)
class ToyConfig(Validated):
    """Fit y = w·x + b by gradient descent."""

    lr: float = param(0.1, "Learning rate.", lo=1e-4, hi=1.0, log=True)
    steps: int = param(20, "Steps.", lo=1, hi=1000)
    seed: int = param(0, "Seed of the data.", lo=0, hi=100)


def run(cfg: ToyConfig) -> Iterator[Record]:
    """Plain torch.optim.SGD on a noisy line; loss per step (run `line`)."""
    g = torch.Generator().manual_seed(cfg.seed)
    x = torch.randn(64, 1, generator=g)
    y = 3 * x + 1 + 0.1 * torch.randn(64, 1, generator=g)
    model = torch.nn.Linear(1, 1)
    opt = torch.optim.SGD(model.parameters(), lr=cfg.lr)
    for step in range(1, cfg.steps + 1):
        loss = torch.nn.functional.mse_loss(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        yield Record(RUNS.build(model="line"), step, "loss", None, loss.item())


RUNS = single("model")
EXPERIMENT = Experiment(name="toy", title="Toy regression", summary="A line fitted by SGD.", config=ToyConfig,
                        run=run, runs=RUNS, metrics=("loss",), smoke={"steps": 5})
LESSON = Lesson("toy", "Toy lesson", "A line fitted by gradient descent.", (EXPERIMENT,))
