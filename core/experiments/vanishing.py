"""Lesson 1: vanishing and exploding gradients, one network measured layer by layer."""

from __future__ import annotations

from collections.abc import Iterator

from ..data import load_noting
from ..engine import TrainConfig, train
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


def run_name(cfg: Config) -> str:
    """The `run` column: activation and initialisation."""
    return f"{cfg.activation}-{cfg.init}"


def run(cfg: Config, notes: list[str] | None = None) -> Iterator[Record]:
    """Train one network and yield its records; a dataset fallback is reported in `notes`."""
    data = load_noting(cfg.dataset, cfg.seed, notes)
    yield from train(cfg, data, run_name(cfg))
