"""Datasets: scikit-learn's bundled digits (offline default) and torchvision's MNIST family.

Every dataset comes back the same way: flat float32 inputs standardised with the training
split's statistics, int64 labels, and a train/validation split fixed by the seed.
"""

from __future__ import annotations

import functools
import logging
import os
import urllib.error
from dataclasses import dataclass
from pathlib import Path

import torch

from .records import Record

DATASETS = ("digits", "fashion_mnist", "mnist")
VAL_FRACTION = 0.2
log = logging.getLogger(__name__)


class Unavailable(RuntimeError):
    """Something a run needs from the internet could not be had; the message says what."""


class DatasetUnavailable(Unavailable):
    """A dataset could not be loaded (usually: the download failed while offline)."""


@dataclass(frozen=True)
class Dataset:
    """A standardised train/validation split of flat inputs."""

    name: str
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_val: torch.Tensor
    y_val: torch.Tensor
    n_classes: int

    @property
    def n_features(self) -> int:
        return self.x_train.shape[1]


def cache_dir() -> Path:
    """Where torchvision downloads go: $DNLAB_DATA, else ~/.cache/deepnet-lab/data."""
    return Path(os.environ.get("DNLAB_DATA", Path.home() / ".cache" / "deepnet-lab" / "data"))


def _digits() -> tuple[torch.Tensor, torch.Tensor]:
    from sklearn.datasets import load_digits

    bunch = load_digits()
    return torch.tensor(bunch.data, dtype=torch.float32), torch.tensor(bunch.target, dtype=torch.int64)


def _torchvision(name: str, root: Path) -> tuple[torch.Tensor, torch.Tensor]:
    from torchvision import datasets

    cls = {"mnist": datasets.MNIST, "fashion_mnist": datasets.FashionMNIST}[name]
    try:
        ds = cls(root=str(root), train=True, download=True)
    except (OSError, RuntimeError, urllib.error.URLError) as exc:
        raise DatasetUnavailable(
            f"{name} could not be downloaded into {root} ({type(exc).__name__}); "
            "it needs the internet once, then works offline from the cache"
        ) from exc
    return ds.data.reshape(len(ds.data), -1).float(), ds.targets.long()


def split(x: torch.Tensor, y: torch.Tensor, seed: int, val_fraction: float = VAL_FRACTION):
    """Shuffle with the seed, split off validation, standardise with the training statistics."""
    perm = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))
    n_val = int(round(len(x) * val_fraction))
    val, train = perm[:n_val], perm[n_val:]
    mean = x[train].mean(0)
    std = x[train].std(0).clamp_min(1e-3)  # constant pixels (digit borders) stay at zero
    return (x[train] - mean) / std, y[train], (x[val] - mean) / std, y[val]


@functools.lru_cache(maxsize=8)
def load(name: str = "digits", seed: int = 0, root: str | None = None) -> Dataset:
    """Load a dataset by name, split by the seed; raise DatasetUnavailable if it cannot be had."""
    if name not in DATASETS:
        raise ValueError(f"dataset must be one of {', '.join(DATASETS)} (got {name!r})")
    x, y = _digits() if name == "digits" else _torchvision(name, Path(root) if root else cache_dir())
    x_tr, y_tr, x_va, y_va = split(x, y, seed)
    return Dataset(name, x_tr, y_tr, x_va, y_va, int(y.max()) + 1)


def load_or_fallback(name: str, seed: int = 0, root: str | None = None) -> tuple[Dataset, str | None]:
    """Load `name`, or the bundled digits with a one-line message saying why."""
    try:
        return load(name, seed, root), None
    except DatasetUnavailable as exc:
        return load("digits", seed), f"{exc}. Using the bundled digits instead."


FALLBACK = "dataset_fallback"  # metric of the record that says a run used the digits instead


def load_recorded(name: str, seed: int) -> tuple[Dataset, list[Record]]:
    """`load_or_fallback`, with a fallback said as a record (metric `dataset_fallback`, run ""), so
    the page and the CLI both report it; the reason goes to the log."""
    data, message = load_or_fallback(name, seed)
    if message is None:
        return data, []
    log.warning("%s", message)
    return data, [Record("", 0, FALLBACK, None, 1.0)]


def fallback_note(dataset: str) -> str:
    """The sentence a `dataset_fallback` record stands for."""
    return (f"{dataset} could not be loaded (it downloads once, and the download failed); "
            "this run used the bundled digits instead.")
