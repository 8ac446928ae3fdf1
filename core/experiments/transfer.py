"""Lesson 4: transfer learning — reuse the lower layers of a model A trained on one task for a
new task B with little data, compared honestly over several seeds."""

from __future__ import annotations

import dataclasses
import math
import statistics
from collections.abc import Iterator
from dataclasses import dataclass

import pandas as pd
import torch
from scipy.stats import t as student_t

from .. import recipe
from ..backbones import BACKBONES, cifar_subset, feature_extractor
from ..backbones import fetch as fetch_backbone
from ..cache import BoundedCache
from ..claims import Claim, Control, Verdict
from ..config import ConfigError, Validated, param, project, same_as
from ..data import Dataset, load_or_fallback, load_recorded, present
from ..engine import LessonConfig, TrainConfig, build_model, seeded, train
from ..experiment import Experiment, Lesson, RunNames
from ..export import NotExportable, Plan
from ..i18n import N_, _
from ..nets import MLP
from ..recipe import interleave
from ..records import Record

NAME = "transfer"
VARIANTS = ("scratch", "frozen", "unfreeze", "finetune")
HELD_OUT = {"digits": (8, 9), "mnist": (8, 9), "fashion_mnist": (5, 6)}  # B's classes (sandal, shirt)
MODEL_A = "model_a"
B_VAL_MIN, B_VAL_MAX = 200, 1000  # task B's validation images: one image is at most half a point


def _build(variant: str, seed: int | None = None) -> str:
    return variant if variant == MODEL_A else f"{variant}/s{seed}"


def _parse(run: str) -> dict:
    if run == MODEL_A:
        return {"variant": MODEL_A, "seed": None}
    variant, seed = run.rsplit("/s", 1)
    return {"variant": variant, "seed": int(seed)}


# `model_a` for the pretraining, `frozen/s3` for a variant on task B with seed 3
RUNS = RunNames(("variant", "seed"), _build, _parse)


@dataclass(frozen=True)
class Config(LessonConfig):
    """Model A learns the source classes; task B (the two held-out classes) reuses its layers."""

    variants: tuple = param(VARIANTS, N_("scratch: a fresh net; frozen: A's lower layers frozen plus a new head; "
                            "unfreeze: frozen first, then all layers at a lower rate; finetune: A's layers "
                            "trained from the start."), choices=VARIANTS)
    target_size: int = param(100, N_("N, the labelled training examples of task B."), lo=10, hi=1000,
                             label=N_("Training examples (N)"))
    reuse_layers: int = param(3, N_("k, how many of A's hidden layers task B reuses."), lo=1, hi=100,
                              label=N_("Reused layers (k)"))
    seeds: int = param(5, N_("Seeds: each variant trains once per seed, on the same examples."), lo=1, hi=20)
    epochs: int = param(30, N_("Epochs of task B's training."), lo=1, hi=500)
    unfreeze_epochs: int = param(10, N_("unfreeze: epochs with the reused layers frozen before they thaw."),
                                 lo=0, hi=500, label=N_("Frozen epochs (unfreeze)"))
    unfreeze_lr_factor: float = param(0.1, N_("unfreeze: the learning rate after thawing, as a fraction."),
                                      lo=0.001, hi=1.0, label=N_("LR factor after unfreezing"))
    pretrain_steps: int = param(600, N_("Model A's training steps on the source classes."), lo=10, hi=20_000,
                                label=N_("Model A steps"))
    pretrain_batch_size: int = param(64, N_("Model A's examples per training step."), lo=2, hi=4096,
                                     label=N_("Model A batch size"), advanced=True)
    dataset: str = same_as(TrainConfig, "dataset")
    depth: int = same_as(TrainConfig, "depth", default=4)
    width: int = same_as(TrainConfig, "width")
    activation: str = same_as(TrainConfig, "activation", default="relu")
    init: str = same_as(TrainConfig, "init", default="he_normal")
    optimizer: str = same_as(TrainConfig, "optimizer")
    lr: float = same_as(TrainConfig, "lr", default=0.05)
    batch_size: int = same_as(TrainConfig, "batch_size", default=32)
    seed: int = same_as(TrainConfig, "seed")
    device: str = same_as(TrainConfig, "device")

    def __post_init__(self):
        super().__post_init__()
        if self.reuse_layers > self.depth:
            raise ConfigError("reuse_layers", _('must not exceed the depth ({depth})')
                                              .format(depth=self.depth), ("depth",))
        if self.unfreeze_epochs > self.epochs:
            raise ConfigError("unfreeze_epochs", _('must not exceed the epochs ({epochs})')
                                                 .format(epochs=self.epochs), ("epochs",))


PRESETS: dict[str, dict] = {
    # The book's setup: A on eight classes, B a binary task with little data, lower layers reused.
    "book-a-to-b": {"target_size": 100, "reuse_layers": 3, "seeds": 5},
}


def split_tasks(data: Dataset, held_out: tuple[int, int]) -> tuple[Dataset, Dataset]:
    """Task A (every other class, relabelled 0..n-3) and task B (the two held-out classes, 0/1): core.recipe."""
    a, b = recipe.split_tasks(data.x_train, data.y_train, data.x_val, data.y_val, data.n_classes, held_out,
                              B_VAL_MIN, B_VAL_MAX)
    return Dataset(f"{data.name}-A", *a), Dataset(f"{data.name}-B", *b)


def sample(b: Dataset, n: int, seed: int) -> Dataset:
    """N of B's training examples chosen by the seed; the validation set stays whole and fixed."""
    if n > len(b.x_train):
        raise ConfigError("target_size", _('must be at most {count}, the examples task B has')
                                         .format(count=len(b.x_train)))
    idx = recipe.sample_index(len(b.x_train), n, seed)
    return dataclasses.replace(b, x_train=b.x_train[idx], y_train=b.y_train[idx])


def config_a(cfg: Config) -> TrainConfig:
    every = max(1, cfg.pretrain_steps // 20)
    return project(cfg, TrainConfig, steps=cfg.pretrain_steps, batch_size=cfg.pretrain_batch_size,
                   probe_every=every, eval_every=every)


def _cache_key(cfg: Config) -> tuple:
    return dataclasses.astuple(config_a(cfg))


# Model A trains once per configuration and process, and every session reuses it; the cache keeps
# the most recently used 16 models A within 256 MB (depth 100 × width 512 is about 100 MB).
_CACHE = BoundedCache(max_items=16, max_bytes=256 << 20)
RECORD_BYTES = 120  # a Record as Python holds it, roughly (a tuple of five small objects)


def _size(entry: tuple[dict, list[Record]]) -> int:
    state, records = entry
    return sum(t.numel() * t.element_size() for t in state.values()) + RECORD_BYTES * len(records)


def pretrained(cfg: Config, a: Dataset, keep: dict | None = None) -> Iterator[Record]:
    """Model A's records (run `model_a`): trained now, or replayed from the cache at once. Its
    weights go to the cache and, if given, to `keep["state"]` (the cache may drop them any time)."""
    key = _cache_key(cfg)
    if (hit := _CACHE.get(key)) is not None:
        if keep is not None:
            keep["state"] = hit[0]
        yield from hit[1]
        return
    tc = config_a(cfg)
    model = build_model(tc, a)
    records = []
    for r in train(tc, a, RUNS.build(variant=MODEL_A), model=model):
        records.append(r)
        yield r
    state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
    _CACHE.put(key, (state, records), _size((state, records)))
    if keep is not None:
        keep["state"] = state


def is_cached(cfg: Config) -> bool:
    return _cache_key(cfg) in _CACHE


def model_a(cfg: Config, a: Dataset, state: dict | None = None) -> MLP:
    """A fresh copy of model A from `state`, else from the cache (pretrain first)."""
    model = build_model(config_a(cfg), a)
    model.load_state_dict(state if state is not None else _CACHE.get(_cache_key(cfg))[0])
    return model


def config_b(cfg: Config, n: int, seed: int, epochs: int, lr: float) -> TrainConfig:
    steps = max(1, math.ceil(n / min(cfg.batch_size, n)) * epochs)
    return project(cfg, TrainConfig, seed=seed, steps=steps, lr=lr, probe_every=max(1, steps // 10),
                   eval_every=max(1, steps // 15))


def build_b(cfg: Config, variant: str, a_model: MLP | None, b: Dataset, seed: int) -> MLP:
    """Task B's network: fresh, or with A's lower k hidden layers copied in (frozen unless finetune)."""
    net = build_model(project(cfg, TrainConfig, seed=seed), b)
    if variant != "scratch":
        for lin_b, lin_a in zip(net.linears[:cfg.reuse_layers], a_model.linears[:cfg.reuse_layers], strict=True):
            lin_b.load_state_dict(lin_a.state_dict())
            lin_b.requires_grad_(variant == "finetune")
    return net


def _shifted(records: Iterator[Record], offset: int) -> Iterator[Record]:
    for r in records:
        yield r._replace(step=r.step + offset)


def train_b(cfg: Config, variant: str, net: MLP, b: Dataset, seed: int) -> Iterator[Record]:
    """One variant on one seed (run `variant/sSEED`); unfreeze thaws A's layers after E epochs."""
    run = RUNS.build(variant=variant, seed=seed)
    n = len(b.x_train)
    if variant != "unfreeze" or cfg.unfreeze_epochs == 0:
        trainable = [p for p in net.parameters() if p.requires_grad]
        yield from train(config_b(cfg, n, seed, cfg.epochs, cfg.lr), b, run, model=net, params=trainable)
        return
    first = config_b(cfg, n, seed, cfg.unfreeze_epochs, cfg.lr)
    yield from train(first, b, run, model=net, params=[p for p in net.parameters() if p.requires_grad])
    net.requires_grad_(True)
    rest = cfg.epochs - cfg.unfreeze_epochs
    if rest:
        later = config_b(cfg, n, seed, rest, cfg.lr * cfg.unfreeze_lr_factor)
        yield from _shifted(train(later, b, run, model=net), first.steps)


def available(cfg: Config) -> int:
    """How many training examples task B has for this config's dataset (after any fallback)."""
    data, _note = load_or_fallback(cfg.dataset, cfg.seed)
    return len(split_tasks(data, HELD_OUT[data.name])[1].x_train)


def check(cfg: Config) -> None:
    """Checks that need the data: N must not exceed the examples task B has. Drawing a page never
    downloads: a dataset not yet on disk is checked when its run loads it (the MNIST family's task
    B has far more examples than N's upper bound)."""
    if not present(cfg.dataset):
        return
    if cfg.target_size > (limit := available(cfg)):
        raise ConfigError("target_size", _('must be at most {limit}, the training examples task B has here')
                                         .format(limit=limit))


def run(cfg: Config) -> Iterator[Record]:
    """Model A (or its cached records), then every variant × seed interleaved on task B."""
    data, notes = load_recorded(cfg.dataset, cfg.seed)
    yield from notes
    a, b_all = split_tasks(data, HELD_OUT[data.name])
    kept: dict = {}
    yield from pretrained(cfg, a, kept)
    a_net = model_a(cfg, a, kept["state"])
    runs = {}
    for s in range(cfg.seed, cfg.seed + cfg.seeds):
        b = sample(b_all, cfg.target_size, s)
        for v in cfg.variants:
            runs[RUNS.build(variant=v, seed=s)] = train_b(cfg, v, build_b(cfg, v, a_net, b, s), b, s)
    yield from interleave(runs)


def final_accuracies(records: list[Record]) -> dict[str, dict[int, float]]:
    """variant -> seed -> last validation accuracy on task B."""
    out: dict[str, dict[int, float]] = {}
    for r in records:
        if r.metric == "val_accuracy" and r.run and r.run != MODEL_A:
            fields = RUNS.parse(r.run)
            out.setdefault(fields["variant"], {})[fields["seed"]] = r.value
    return out


def accuracy_table(records: list[Record]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Task B's final validation accuracy, one column per variant: a row per seed, and the rows `mean` and
    `std` (the sample standard deviation over seeds; NaN with one seed)."""
    table = pd.DataFrame(final_accuracies(records))
    return table, pd.DataFrame({"mean": table.mean(), "std": table.std()}).T


def paired(records: list[Record], variant: str) -> tuple[list[float], float, float, float] | None:
    """Paired differences variant − scratch (same seed, same task-B sample) in validation accuracy:
    (differences, mean, 95% interval low, high) by Student's t; None without two common seeds."""
    acc = final_accuracies(records)
    seeds = sorted(set(acc.get(variant, {})) & set(acc.get("scratch", {})))
    if len(seeds) < 2:
        return None
    d = [acc[variant][s] - acc["scratch"][s] for s in seeds]
    mean, sd = statistics.mean(d), statistics.stdev(d)
    half = float(student_t.ppf(0.975, len(d) - 1)) * sd / math.sqrt(len(d))
    return d, mean, mean - half, mean + half


def verdict(records: list[Record]) -> str:
    """One honest sentence per transfer variant: what the 95% interval of its paired difference
    against scratch says (better, worse, or no clear difference)."""
    acc = final_accuracies(records)
    others = [v for v in acc if v != "scratch"]
    if "scratch" not in acc or not others:
        return _("Train `scratch` and at least one transfer variant to compare them.")
    if len(acc["scratch"]) < 2:
        return _("With one seed there is no interval: one seed cannot tell a real difference from luck, so use "
                 "several.")
    parts = []
    for v in others:
        if (found := paired(records, v)) is None:
            continue
        d, mean, lo, hi = found
        sentence = (_("{variant} is better than scratch: {mean:+.1%} on average over {seeds} seeds "
                      "(95% interval {lo:+.1%} to {hi:+.1%})") if lo > 0 else
                    _("{variant} is worse than scratch: {mean:+.1%} on average over {seeds} seeds "
                      "(95% interval {lo:+.1%} to {hi:+.1%})") if hi < 0 else
                    _("{variant} is not clearly different from scratch: {mean:+.1%} on average over {seeds} seeds "
                      "(95% interval {lo:+.1%} to {hi:+.1%})"))
        parts.append(sentence.format(variant=v, mean=mean, seeds=len(d), lo=lo, hi=hi))
    return "; ".join(parts) + "."


def paired_claim(variant: str, below_zero: str):
    """Claim about `variant` − scratch: its mean paired difference is below zero (`mean`), or the low
    end of its 95% interval is (`low`: no clear gain)."""
    def check(records):
        if (found := paired(records, variant)) is None:
            return None
        d, mean, lo, hi = found
        holds = (mean if below_zero == "mean" else lo) < 0
        return Verdict(holds, _('{variant} − scratch: {mean:+.1%} on average over {seeds} seeds (95% interval '
                                '{lo:+.1%} to {hi:+.1%}).')
                              .format(variant=variant, mean=mean, seeds=len(d), lo=lo, hi=hi))
    return check


def model_a_learns(above: float = 0.9):
    """Claim: model A learns its source task (validation accuracy above `above`)."""
    def check(records):
        acc = [r.value for r in records if r.run == MODEL_A and r.metric == "val_accuracy"]
        if not acc:
            return None
        return Verdict(acc[-1] > above, _('Model A ends at {accuracy:.0%} validation accuracy on its eight classes.')
                                        .format(accuracy=acc[-1]))
    return check


CLAIMS = (
    Claim("model-a-learns", "book-a-to-b", model_a_learns(), controls=(Control({"pretrain_steps": 10}),)),
    Claim("frozen-worse-than-scratch", "book-a-to-b", paired_claim("frozen", "mean"), usually=True),
    Claim("finetune-no-clear-gain", "book-a-to-b", paired_claim("finetune", "low")),
)


def export_plan(cfg: Config) -> Plan:
    if not present(cfg.dataset):
        raise NotExportable(f"transfer cannot be exported on {cfg.dataset} until it is downloaded: the task split "
                            "depends on the data a run falls back to")
    return Plan({RUNS.build(variant=MODEL_A): config_a(cfg)}, transfer={
        "held_out": HELD_OUT[cfg.dataset], "b_val_min": B_VAL_MIN, "b_val_max": B_VAL_MAX, "variants": cfg.variants,
        "target_size": cfg.target_size, "reuse_layers": cfg.reuse_layers, "seeds": cfg.seeds, "epochs": cfg.epochs,
        "unfreeze_epochs": cfg.unfreeze_epochs, "unfreeze_lr_factor": cfg.unfreeze_lr_factor,
        "batch_size": cfg.batch_size, "lr": cfg.lr})


def b_steps(cfg: Config) -> int:
    """The steps each task-B network takes (every variant, every seed)."""
    n = cfg.target_size
    return math.ceil(n / min(cfg.batch_size, n)) * cfg.epochs


def work(cfg: Config) -> int:
    """Model A's steps (trained, or replayed from the cache), then every variant on every seed."""
    return cfg.pretrain_steps + cfg.seeds * len(cfg.variants) * b_steps(cfg)


EXPERIMENT = Experiment(
    name=NAME, title=N_("Transfer learning: model A to task B"),
    summary=N_("Model A's lower layers reused for task B (frozen, unfrozen, fine-tuned) against scratch, over seeds."),
    config=Config, presets=PRESETS, run=run, runs=RUNS, check=check, work=work,
    steps=lambda cfg: max(cfg.pretrain_steps, b_steps(cfg)),
    metrics=("loss", "val_accuracy"),
    smoke={"seeds": 2, "epochs": 3, "unfreeze_epochs": 1, "pretrain_steps": 40}, claims=CLAIMS,
    export=export_plan)


@dataclass(frozen=True)
class CnnConfig(Validated):
    """A pretrained ImageNet CNN reused on cats vs dogs from CIFAR-10."""

    backbone: str = param("resnet18", N_("torchvision backbone with ImageNet weights."), choices=BACKBONES)
    mode: str = param("frozen", N_("frozen: the backbone extracts features and only a new head trains; finetune: "
                      "every layer trains."), choices=("frozen", "finetune"))
    target_size: int = param(200, N_("Training images."), lo=10, hi=5000, label=N_("Training images (N)"))
    steps: int = param(100, N_("Training steps."), lo=1, hi=5000)
    optimizer: str = same_as(TrainConfig, "optimizer", default="adam")
    lr: float = same_as(TrainConfig, "lr", default=0.01)
    batch_size: int = same_as(TrainConfig, "batch_size", default=32)
    head_width: int = param(64, N_("frozen: units in the new head's hidden layer on top of the features."), lo=4,
                            hi=512,
                            advanced=True)
    seed: int = same_as(TrainConfig, "seed")


@torch.no_grad()
def features(model: torch.nn.Module, x: torch.Tensor, batch: int = 128) -> torch.Tensor:
    """The frozen backbone's features of every image, in eval mode."""
    model.eval()
    return torch.cat([model(x[i:i + batch]) for i in range(0, len(x), batch)])


def prepare_cnn(cfg: CnnConfig, data: Dataset | None = None) -> tuple[Dataset, torch.nn.Module, int]:
    """The image task and the pretrained backbone; raises WeightsUnavailable or
    DatasetUnavailable (offline) before any training starts."""
    data = data if data is not None else cifar_subset(cfg.target_size, cfg.seed)
    backbone, width = feature_extractor(cfg.backbone)
    return data, backbone, width


# run `cnn_frozen` or `cnn_finetune`
CNN_RUNS = RunNames(("mode",), lambda mode: f"cnn_{mode}", lambda run: {"mode": run.removeprefix("cnn_")})


def run_cnn(cfg: CnnConfig, prepared: tuple[Dataset, torch.nn.Module, int] | None = None) -> Iterator[Record]:
    """Train on the image task with the backbone frozen (features once, then a small head) or
    fine-tuned end to end. Preparing (downloads) happens at the first record and raises
    core.data.Unavailable when offline."""
    data, backbone, width = prepared if prepared is not None else prepare_cnn(cfg)
    every = max(1, cfg.steps // 10)
    tc = TrainConfig(depth=1, width=cfg.head_width, activation="relu", init="he_normal", optimizer=cfg.optimizer,
                     lr=cfg.lr, batch_size=cfg.batch_size, steps=cfg.steps, seed=cfg.seed, probe_every=every,
                     eval_every=every)
    run = CNN_RUNS.build(mode=cfg.mode)
    if cfg.mode == "frozen":
        feats = dataclasses.replace(data, x_train=features(backbone, data.x_train),
                                    x_val=features(backbone, data.x_val))
        yield from train(tc, feats, run)
        return
    with seeded(cfg.seed):
        model = torch.nn.Sequential(backbone, torch.nn.Linear(width, data.n_classes))
    yield from train(tc, data, run, model=model)


CNN_EXPERIMENT = Experiment(
    name="transfer-cnn", title=N_("A pretrained CNN backbone"),
    summary=N_("An ImageNet torchvision backbone reused on cats vs dogs from CIFAR-10 (downloads once)."),
    config=CnnConfig, run=run_cnn, runs=CNN_RUNS, metrics=("loss", "val_loss", "val_accuracy", "diverged"),
    fetch=lambda cfg, progress: fetch_backbone(cfg.backbone, progress),
    smoke={"steps": 3, "batch_size": 8, "target_size": 16},
    export_why_not="the pretrained CNN backbone is not exported")

LESSON = Lesson(
    NAME, N_("Transfer learning"),
    N_("Model A's lower layers reused for a new task with little data, frozen, unfrozen or fine-tuned, over five "
    "seeds with the spread shown; and a pretrained torchvision CNN backbone."),
    (EXPERIMENT, CNN_EXPERIMENT))
