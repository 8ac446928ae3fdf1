"""Finished runs kept and shared: a run is a pure function of its experiment, its config (seed included),
its seeds, the data it read and the code that trained it, so an identical Train gets the finished run
at once instead of training it again.

The key (`run_key`) holds everything that can change a record: the experiment's name, every config
field, the seeds, whether the run's dataset is on disk (a missing one falls back to the bundled
digits), and the code identity (a hash of the lab's own source, torch's version, the CUDA device if any
and torch's thread count, which can change a float reduction's order). A run that downloads its own files
(`Experiment.fetch`: the CNN's weights and CIFAR-10) is not kept: whether they are on disk is not in
the config.

`RunStore` is the seam: the pages call `store()` for get/put, and `MemoryStore` (bounded by count and
bytes, least recently used first) is the default. Several replicas could share finished runs through
an external store (Redis, say) by setting another object with the same two methods (`use_store`);
a stored run is bytes and a few plain fields, so it pickles.
"""

from __future__ import annotations

import csv
import dataclasses
import functools
import hashlib
import io
import os
import threading
import time
import zlib
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from .cache import BoundedCache
from .records import Record, csv_bytes

MAX_RUNS = int(os.environ.get("DNLAB_RUN_CACHE_RUNS", 64))
MAX_MB = int(os.environ.get("DNLAB_RUN_CACHE_MB", 256))
OVERHEAD = 512  # bytes a stored run costs besides its packed records (its key and fields)
KEPT_STATUSES = ("finished", "diverged")  # complete runs; a stopped one is the visitor's own cut


@dataclass(frozen=True)
class StoredRun:
    """A finished run as a visitor's page shows it; its records packed as zlib-compressed CSV (the contract's
    columns, every value as repr writes it, so they come back bit for bit): a tenth of the records' own memory,
    and bytes that any store can hold."""

    blob: bytes
    status: str
    seconds: float
    thinned_stride: int  # 1, or the stride at which the page kept its per-step series (ui.results)
    when: float  # time.time() when it finished

    @property
    def records(self) -> list[Record]:
        rows = csv.reader(io.StringIO(zlib.decompress(self.blob).decode(), newline=""))
        next(rows)  # the header
        return [Record(run, int(step), metric, int(layer) if layer else None, float(value))
                for run, step, metric, layer, value in rows]


def pack(records: Iterable[Record]) -> bytes:
    return zlib.compress(csv_bytes(records), 6)


class RunStore(Protocol):
    def get(self, key: Hashable) -> StoredRun | None: ...

    def put(self, key: Hashable, run: StoredRun) -> None: ...


class MemoryStore:
    """The in-process store: at most `max_runs` runs and `max_bytes`, least recently used first."""

    def __init__(self, max_runs: int = MAX_RUNS, max_bytes: int = MAX_MB << 20):
        self._cache = BoundedCache(max_items=max_runs, max_bytes=max_bytes)

    def get(self, key: Hashable) -> StoredRun | None:
        return self._cache.get(key)

    def put(self, key: Hashable, run: StoredRun, nbytes: int | None = None) -> None:
        """Keep `run` (or any value, `nbytes` large; a StoredRun's size is its blob's)."""
        self._cache.put(key, run, len(run.blob) + OVERHEAD if nbytes is None else nbytes)

    def __len__(self) -> int:
        return len(self._cache)


_store: RunStore = MemoryStore()
_store_lock = threading.Lock()


def store() -> RunStore:
    """The store every session shares."""
    return _store


def use_store(new: RunStore) -> RunStore:
    """Replace the shared store (an external one, or a fresh one in tests); return the old one."""
    global _store
    with _store_lock:
        old, _store = _store, new
    return old


@functools.cache
def source_hash() -> str:
    """A hash of the lab's engine source (core/**/*.py): any change to the code that trains changes it."""
    root = Path(__file__).resolve().parent
    h = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        h.update(path.relative_to(root).as_posix().encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


def code_identity() -> tuple:
    """What besides the config decides a run's records: the lab's source, torch's version, the device and
    torch's intra-op thread count (read at call time: the server caps it once at start-up)."""
    import torch

    cuda = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    return source_hash(), torch.__version__, cuda, torch.get_num_threads()


def run_key(experiment, cfg, seeds: Sequence[int] = ()) -> tuple | None:
    """The key a finished run of `cfg` on `seeds` is kept under, or None for a run that is not kept."""
    if experiment.fetch is not None:
        return None
    from .data import present

    fields = tuple((f.name, getattr(cfg, f.name)) for f in dataclasses.fields(cfg))
    data = present(cfg.dataset) if hasattr(cfg, "dataset") else None
    return experiment.name, type(cfg).__qualname__, fields, tuple(seeds), data, code_identity()


def keep(key: tuple | None, records: Sequence[Record], status: str, seconds: float, stride: int = 1) -> bool:
    """Put a run that ended as `status` into the store (only a complete one); return whether it was kept."""
    if key is None or status not in KEPT_STATUSES:
        return False
    store().put(key, StoredRun(pack(records), status, seconds, stride, time.time()))
    return True
