"""A sixth lesson as a newcomer would add it, kept outside the tree: this module and its folder
tests/toy/ (prose in both languages, the Korean catalog of its strings), registered for the whole
test session by naming the module in $DNLAB_LESSONS (tests/conftest.py), which is the registry line.
It trains a real torch model: torch.optim.SGD fitting a line to seeded noisy points, y = 3x + 1 + noise,
by least squares."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import torch

from core.claims import Claim, Control, Verdict
from core.config import Validated, param
from core.engine import seeded
from core.experiment import Experiment, Lesson, single
from core.i18n import N_, _
from core.records import Record


@dataclass(frozen=True)
class ToyConfig(Validated):
    """Fit y = w·x + b by gradient descent."""

    lr: float = param(0.1, N_("How far each step of gradient descent moves the line."), lo=1e-4, hi=1.0, log=True,
                      label=N_("Learning rate"))
    steps: int = param(20, N_("Gradient descent steps on the whole set of points."), lo=1, hi=1000,
                       label=N_("Steps"))
    seed: int = param(0, N_("Seeds the points and their noise."), lo=0, hi=100, label=N_("Seed"))


def run(cfg: ToyConfig) -> Iterator[Record]:
    """Plain torch.optim.SGD on a noisy line; loss per step (run `line`)."""
    g = torch.Generator().manual_seed(cfg.seed)
    x = torch.randn(64, 1, generator=g)
    y = 3 * x + 1 + 0.1 * torch.randn(64, 1, generator=g)
    with seeded(cfg.seed):  # nn.Linear draws its weights from torch's global generator: seeded, under the lock
        model = torch.nn.Linear(1, 1)
    opt = torch.optim.SGD(model.parameters(), lr=cfg.lr)
    for step in range(1, cfg.steps + 1):
        loss = torch.nn.functional.mse_loss(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        yield Record(RUNS.build(model="line"), step, "loss", None, loss.item())


def halves(records: list[Record]) -> Verdict | None:
    """Claim: the loss ends below half its first value."""
    losses = [r.value for r in records if r.metric == "loss"]
    if not losses:
        return None
    return Verdict(losses[-1] < 0.5 * losses[0], _("The loss went from {first:.3g} to {last:.3g}.")
                   .format(first=losses[0], last=losses[-1]))


# On the default (lr 0.1) the loss falls under half its start in 20 steps; at lr 1e-4, the control, it cannot.
CLAIMS = (Claim("loss-falls", None, halves, controls=(Control({"lr": 1e-4}),)),)
RUNS = single("model")
EXPERIMENT = Experiment(name="toy", title=N_("Toy regression"), summary=N_("A line fitted by gradient descent."),
                        config=ToyConfig, run=run, runs=RUNS, metrics=("loss",), smoke={"steps": 5}, claims=CLAIMS)
LESSON = Lesson("toy", N_("Toy lesson"), N_("A line fitted by gradient descent, checked on its own claim."),
                (EXPERIMENT,), home=Path(__file__).resolve().parent / "toy")
