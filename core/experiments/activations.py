"""Lesson 2: activation functions compared by training the same network with each."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from ..compare import interleave
from ..config import ConfigError, param, project, same_as
from ..data import load_recorded
from ..engine import LessonConfig, TrainConfig, train
from ..experiment import Experiment, Lesson, single
from ..nets import ACTIVATIONS
from ..records import Record

NAME = "activations"

# Glorot for the S-shaped functions, He for the ReLU family, LeCun for SELU (self-normalising).
RECOMMENDED_INIT = {
    "sigmoid": "xavier_uniform", "tanh": "xavier_uniform", "softplus": "xavier_uniform",
    "relu": "he_normal", "leaky_relu": "he_normal", "rrelu": "he_normal", "elu": "he_normal",
    "gelu": "he_normal", "silu": "he_normal", "mish": "he_normal", "selu": "lecun_normal",
}


@dataclass(frozen=True)
class Config(LessonConfig):
    """The same network trained once per activation, on the same data order and seed."""

    activations: tuple = param(("relu", "leaky_relu", "elu"), "Activations to train side by side.",
                               choices=ACTIVATIONS)
    init_mode: str = param("recommended", "recommended: He for the ReLU family, Glorot for sigmoid/tanh, "
                           "LeCun for SELU. shared: one initialisation for all.", choices=("recommended", "shared"),
                           label="Initialisation mode")
    init: str = same_as(TrainConfig, "init", default="he_normal",
                        help="The initialisation every activation shares when the mode is 'shared'.")
    dataset: str = same_as(TrainConfig, "dataset")
    depth: int = same_as(TrainConfig, "depth")
    width: int = same_as(TrainConfig, "width")
    optimizer: str = same_as(TrainConfig, "optimizer")
    lr: float = same_as(TrainConfig, "lr", default=0.05)
    batch_size: int = same_as(TrainConfig, "batch_size")
    steps: int = same_as(TrainConfig, "steps")
    seed: int = same_as(TrainConfig, "seed")
    leaky_alpha: float = same_as(TrainConfig, "leaky_alpha", advanced=False)
    elu_alpha: float = same_as(TrainConfig, "elu_alpha", advanced=False)
    rrelu_lower: float = same_as(TrainConfig, "rrelu_lower", advanced=False)
    rrelu_upper: float = same_as(TrainConfig, "rrelu_upper", advanced=False)
    probe_every: int = same_as(TrainConfig, "probe_every")
    eval_every: int = same_as(TrainConfig, "eval_every")
    device: str = same_as(TrainConfig, "device")

    def __post_init__(self):
        super().__post_init__()
        if len(set(self.activations)) != len(self.activations):
            raise ConfigError("activations", "must not repeat a name")


PRESETS: dict[str, dict] = {
    # A high Adam learning rate pushes many ReLU units negative for every input: dead for good.
    "dying-relu": {"activations": ("relu", "leaky_relu", "elu"), "optimizer": "adam", "lr": 0.02,
                   "depth": 5, "steps": 300},
    # ELU's negative outputs pull the mean activation toward zero (Clevert et al., 2015).
    "elu-zero-mean": {"activations": ("elu", "relu"), "lr": 0.05, "steps": 500},
    # 100 layers, LeCun init: SELU keeps each layer's activations near unit variance; ReLU fades.
    "selu-self-normalizing": {"activations": ("selu", "relu", "tanh"), "init_mode": "shared",
                              "init": "lecun_normal", "depth": 100, "lr": 0.002, "steps": 200,
                              "probe_every": 20},
    # N(0,1) weights drive sigmoid units into their flat tails.
    "sigmoid-saturation": {"activations": ("sigmoid",), "init_mode": "shared", "init": "normal",
                           "lr": 0.1, "steps": 500},
}


def variant(cfg: Config, activation: str) -> TrainConfig:
    """The engine config of one activation's run."""
    init = RECOMMENDED_INIT[activation] if cfg.init_mode == "recommended" else cfg.init
    return project(cfg, TrainConfig, activation=activation, init=init)


RUNS = single("activation")


def run(cfg: Config) -> Iterator[Record]:
    """Train one network per activation, a step of each in turn (run = the activation's name);
    each run ends with its own compute time as a `wall_seconds` record."""
    data, notes = load_recorded(cfg.dataset, cfg.seed)
    yield from notes
    runs = {RUNS.build(activation=a): train(variant(cfg, a), data, RUNS.build(activation=a)) for a in cfg.activations}
    timings: dict[str, float] = {}
    last: dict[str, int] = {}
    for r in interleave(runs, timings):
        last[r.run] = r.step
        yield r
    for name, seconds in timings.items():
        yield Record(name, last.get(name, 0), "wall_seconds", None, seconds)



EXPERIMENT = Experiment(
    name=NAME, title="Activation functions, side by side",
    summary="The same MLP trained once per activation on the same data order: dead, saturated and mean units.",
    config=Config, presets=PRESETS, run=run, runs=RUNS,
    metrics=("loss", "val_loss", "val_accuracy", "diverged", "dead_fraction", "act_mean", "act_std",
             "saturated_fraction", "wall_seconds"),
    smoke={"activations": ("relu", "selu"), "steps": 10, "depth": 2}, timing_metrics=("wall_seconds",))

LESSON = Lesson(
    NAME, "Activation functions",
    "Every activation's shape and slope by autograd; ReLUs dying at a high learning rate while LeakyReLU and ELU "
    "live; a 100-layer SELU net keeping itself normalised.",
    (EXPERIMENT,))
