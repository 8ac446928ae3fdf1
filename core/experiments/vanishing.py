"""Lesson 1: vanishing and exploding gradients, one network measured layer by layer."""

from __future__ import annotations

from collections.abc import Iterator

from ..data import load_recorded
from ..engine import TrainConfig, train
from ..experiment import Experiment, Lesson, RunNames
from ..records import Record

NAME = "vanishing"
Config = TrainConfig

PRESETS: dict[str, dict] = {
    # the classic culprit: N(0,1) weights push sigmoid inputs into the flat tails
    "sigmoid-normal": {"activation": "sigmoid", "init": "normal"},
    # Glorot keeps the forward signal, yet sigmoid's f' <= 1/4 shrinks the gradient every layer
    "sigmoid-xavier": {"activation": "sigmoid", "init": "xavier_uniform"},
    # N(0,1) weights multiply the gradient by far more than 1 per layer toward the input
    "tanh-normal": {"activation": "tanh", "init": "normal"},
    # He init with ReLU: gradient norms stay level across layers
    "relu-he": {"activation": "relu", "init": "he_normal"},
    # the same explosion with the global gradient norm clipped to 1
    "exploding-clipped": {"activation": "tanh", "init": "normal", "clip_norm": 1.0},
}

# `sigmoid-xavier_uniform`: activation and initialisation (neither name holds a hyphen)
RUNS = RunNames(("activation", "init"), lambda activation, init: f"{activation}-{init}",
                lambda run: dict(zip(("activation", "init"), run.split("-", 1), strict=True)))


def run(cfg: Config) -> Iterator[Record]:
    """Train one network and yield its records."""
    data, notes = load_recorded(cfg.dataset, cfg.seed)
    yield from notes
    yield from train(cfg, data, RUNS.build(activation=cfg.activation, init=cfg.init))


EXPERIMENT = Experiment(
    name=NAME, title="Vanishing & exploding gradients",
    summary="One deep MLP measured layer by layer: gradient norms, activation percentiles, saturation.",
    config=Config, presets=PRESETS, run=run, runs=RUNS,
    metrics=("loss", "val_loss", "accuracy", "val_accuracy", "diverged", "grad_norm", "preact_p15", "preact_p50",
             "preact_p85", "saturated_fraction", "dead_fraction"),
    smoke={"steps": 15, "depth": 3})

LESSON = Lesson(
    NAME, "Vanishing & exploding gradients",
    "The gradient shrink by orders of magnitude toward the input (sigmoid), blow up (tanh with N(0,1) weights), "
    "stay level (ReLU with He init), and get tamed by clipping.",
    (EXPERIMENT,))
