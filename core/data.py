"""Datasets: scikit-learn's bundled digits (offline default) and torchvision's MNIST family.

Every dataset comes back the same way: flat float32 inputs standardised with the training
split's statistics, int64 labels, and a train/validation split fixed by the seed.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import torch

from . import download
from .cache import BoundedCache
from .i18n import _
from .recipe import read_digits, read_torchvision, split
from .records import Record

DATASETS = ("digits", "fashion_mnist", "mnist")
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


_offline = contextvars.ContextVar("offline", default=False)
RETRY_AFTER = 60.0  # seconds a failed download is not tried again (a stalled network costs once)
_failures: dict[tuple[str, str], tuple[float, str]] = {}  # (dataset, folder) -> (when, why); a few folders
_failures_lock = threading.Lock()
_fetch_locks: dict[tuple[str, str], threading.Lock] = {}  # one per (dataset, folder): a few


@contextlib.contextmanager
def no_downloads() -> Iterator[None]:
    """Within this block a dataset that is not on disk is unavailable rather than downloaded (the
    page fetches first, outside any training slot, then trains under this)."""
    token = _offline.set(True)
    try:
        yield
    finally:
        _offline.reset(token)


def downloads_allowed() -> bool:
    """False inside `no_downloads()`."""
    return not _offline.get()


def present(name: str, root: str | Path | None = None) -> bool:
    """Whether `name` loads without the network (its files are on disk and complete)."""
    return name == "digits" or download.mnist_present(name, Path(root) if root else cache_dir())


def fetch(name: str, root: str | Path | None = None, progress: download.Progress | None = None) -> None:
    """Make sure `name`'s files are on disk, downloading them with deadlines; raise DatasetUnavailable.
    A failure is remembered for RETRY_AFTER seconds, so the next visitor is told at once."""
    if present(name, root):
        return
    key = (name, str(root or cache_dir()))
    with _failures_lock:
        lock = _fetch_locks.setdefault(key, threading.Lock())
    with lock:  # one download per dataset at a time; who waited on a failed one is told at once
        with _failures_lock:
            when, why = _failures.get(key, (-RETRY_AFTER, ""))
        if (age := time.monotonic() - when) < RETRY_AFTER:
            raise DatasetUnavailable(_('{name} could not be downloaded {age:.0f} s ago ({why}); the next try is in '
                                       '{wait:.0f} s')
                                     .format(name=name, age=age, why=why, wait=RETRY_AFTER - age))
        try:
            download.fetch_mnist(name, Path(root) if root else cache_dir(), progress)
        except download.DownloadError as exc:
            log.warning("download of %s failed: %s", name, exc)
            with _failures_lock:
                if len(_failures) > 16:
                    _failures.clear()
                _failures[key] = (time.monotonic(), _short_reason(exc))
            raise DatasetUnavailable(_('{name} could not be downloaded into {folder} ({reason}); it needs the '
                                       'internet once, then works offline from the cache')
                                     .format(name=name, folder=root or cache_dir(), reason=_short_reason(exc))) from exc


def _short_reason(exc: Exception) -> str:
    text = str(exc)
    for kind in ("timed out", "TimeoutError", "Connection refused", "Name or service not known", "MD5", "SHA-256"):
        if kind in text:
            return {"TimeoutError": "timed out"}.get(kind, kind)
    return type(exc.__cause__ or exc).__name__


def _torchvision(name: str, root: Path) -> tuple[torch.Tensor, torch.Tensor]:

    if not present(name, root):
        if _offline.get():
            raise DatasetUnavailable(_('{name} is not downloaded yet').format(name=name))
        fetch(name, root)
    try:
        return read_torchvision(name, root, download=False)
    except (OSError, RuntimeError) as exc:  # present, yet unreadable: say so, do not blame the network
        raise DatasetUnavailable(_("{name}'s files in {root} could not be read ({error})")
                                 .format(name=name, root=root, error=type(exc).__name__)) from exc


# Splits in memory, shared by every session: at most 8, and at most 600 MB (MNIST is ~190 MB a split).
_loaded = BoundedCache(max_items=8, max_bytes=600 << 20)


def _nbytes(d: Dataset) -> int:
    return sum(t.numel() * t.element_size() for t in (d.x_train, d.y_train, d.x_val, d.y_val))


def load(name: str = "digits", seed: int = 0, root: str | None = None) -> Dataset:
    """Load a dataset by name, split by the seed; raise DatasetUnavailable if it cannot be had."""
    if name not in DATASETS:
        raise ValueError(f"dataset must be one of {', '.join(DATASETS)} (got {name!r})")

    def make() -> Dataset:
        x, y = read_digits() if name == "digits" else _torchvision(name, Path(root) if root else cache_dir())
        x_tr, y_tr, x_va, y_va = split(x, y, seed)
        return Dataset(name, x_tr, y_tr, x_va, y_va, int(y.max()) + 1)

    return _loaded.get_or_make((name, seed, root), make, _nbytes)


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
    return _("{dataset} could not be loaded (it downloads once, and the download failed); this run used the bundled "
             "digits instead.").format(dataset=dataset)
