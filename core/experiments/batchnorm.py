"""Lesson 3: batch normalisation — the same network with and without BN (Ioffe & Szegedy, 2015)."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import dataclass

import torch

from ..compare import interleave
from ..config import apply_preset, param, project, same_as
from ..data import Dataset, load_noting
from ..engine import LessonConfig, TrainConfig, build_model, train
from ..records import Record

NAME = "batchnorm"
VARIANTS = {"no_bn": "none", "bn_before": "before", "bn_after": "after"}
MULTIPLIERS = (1.0, 2.0, 5.0, 10.0, 30.0, 50.0)
BATCH_SIZES = (2, 4, 8, 16, 32, 60, 64, 128, 256)
EVAL_BATCHES = (2, 4, 16, 64, 256)  # batch sizes for train-mode evaluation (section 5)


@dataclass(frozen=True)
class Config(LessonConfig):
    """Variants of one MLP (no BN, BN before or after the activation), same seed and data order.

    The defaults are Ioffe & Szegedy's Figure 1: 3 hidden layers of 100 sigmoid units, a small
    Gaussian initialisation, batches of 60, plain SGD.
    """

    variants: tuple = param(("no_bn", "bn_before"), "Which networks to train: without BN, with BN "
                            "between the linear layer and the activation, or after the activation.",
                            choices=VARIANTS)
    lr_multipliers: tuple = param((1.0,), "Train each variant at these multiples of the learning rate "
                                  "(the paper's BN-x5 and BN-x30).", choices=MULTIPLIERS, label="LR multipliers")
    batch_sizes: tuple = param((60,), "Train each variant at each of these batch sizes.", choices=BATCH_SIZES)
    bn_momentum: float = same_as(TrainConfig, "bn_momentum")
    dataset: str = same_as(TrainConfig, "dataset")
    depth: int = same_as(TrainConfig, "depth", default=3)
    width: int = same_as(TrainConfig, "width")
    activation: str = same_as(TrainConfig, "activation")
    init: str = same_as(TrainConfig, "init", default="normal_small")
    optimizer: str = same_as(TrainConfig, "optimizer")
    lr: float = same_as(TrainConfig, "lr", default=0.5)
    steps: int = same_as(TrainConfig, "steps", default=1000)
    seed: int = same_as(TrainConfig, "seed")
    probe_every: int = same_as(TrainConfig, "probe_every")
    eval_every: int = same_as(TrainConfig, "eval_every")
    device: str = same_as(TrainConfig, "device")

PRESETS: dict[str, dict] = {
    # Ioffe & Szegedy, Figure 1: BN trains faster, and the last layer's sigmoid inputs stop drifting.
    "ioffe-fig1": {},
    # 20 times the Figure 1 rate wrecks the plain network; with BN it trains.
    "bn-high-lr": {"lr": 10.0, "steps": 1000},
    # ReLU with N(0,1) weights: the plain network diverges at once, the BN network trains.
    "bn-bad-init": {"activation": "relu", "init": "normal", "depth": 10, "lr": 0.1, "steps": 500,
                    "batch_sizes": (64,)},
    # Batch statistics from tiny batches are noise: small batches hurt.
    "bn-small-batch": {"variants": ("bn_before",), "batch_sizes": (2, 4, 16, 64, 256), "activation": "relu",
                       "init": "he_normal", "depth": 5, "lr": 0.05, "steps": 400},
}


def run_name(variant: str, multiplier: float, batch_size: int, cfg: Config) -> str:
    """`no_bn`, `bn_before@x30`, `bn_before@b4`: suffixes only where the config sweeps them."""
    name = variant
    if cfg.lr_multipliers != (1.0,):
        name += f"@x{multiplier:g}"
    if len(cfg.batch_sizes) > 1:
        name += f"@b{batch_size}"
    return name


def variants(cfg: Config) -> dict[str, TrainConfig]:
    """The engine config of every run, by run name."""
    return {
        run_name(v, m, b, cfg): project(cfg, TrainConfig, batch_norm=VARIANTS[v], lr=cfg.lr * m, batch_size=b)
        for v in cfg.variants for m in cfg.lr_multipliers for b in cfg.batch_sizes
    }


@torch.no_grad()
def mode_gap(model, data: Dataset, batch_sizes=EVAL_BATCHES) -> list[dict]:
    """Validation accuracy in eval mode (running statistics) and in train mode (each batch's own
    statistics) at several batch sizes; train mode runs on a copy, so running stats stay put."""
    model.eval()
    rows = [{"mode": "eval (running stats)", "batch_size": b,
             "accuracy": (model(data.x_val).argmax(1) == data.y_val).float().mean().item()} for b in batch_sizes]
    probe = copy.deepcopy(model).train()
    for b in batch_sizes:
        n = len(data.x_val) // b * b  # whole batches only: BN needs at least two examples
        logits = torch.cat([probe(data.x_val[i:i + b]) for i in range(0, n, b)])
        rows.append({"mode": "train (batch stats)", "batch_size": b,
                     "accuracy": (logits.argmax(1) == data.y_val[:n]).float().mean().item()})
    return rows


def run(cfg: Config, notes: list[str] | None = None, extra: dict | None = None) -> Iterator[Record]:
    """Train every variant, a step of each in turn; afterwards `extra['mode_gap']` holds the
    train-versus-eval accuracies of each BN run."""
    data = load_noting(cfg.dataset, cfg.seed, notes)
    configs = variants(cfg)
    models = {name: build_model(c, data) for name, c in configs.items()}
    yield from interleave({name: train(c, data, name, model=models[name]) for name, c in configs.items()})
    if extra is not None:
        extra["mode_gap"] = [{"run": name, **row} for name, m in models.items() if len(m.norms)
                             for row in mode_gap(m.cpu(), data)]


def with_preset(name: str, **changes) -> Config:
    """A preset's config, with changes (reduced tests, benchmarks)."""
    return apply_preset(Config, PRESETS, name, **changes)
