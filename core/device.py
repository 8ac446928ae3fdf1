"""Where runs execute: pick the faster device for a run's size, and cap torch's threads once."""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import torch

from .i18n import _

DEVICES = ("auto", "cpu", "cuda")

# Measured on an H100 against 2 CPU cores: kernel launches dominate small MLPs, so CUDA only
# wins from about width 512 with large batches (223 vs 22 steps/s at width 512, batch 1024).
CUDA_MIN_WIDTH = 512
CUDA_MIN_BATCH = 512

_threads: int | None = None  # the cap configure_threads chose, applied in every thread that trains

# glibc's malloc returns the top of its heap to the system once 128 KB of it are free, and serves a block
# over its mmap threshold with fresh pages: a probe's activations (20 layers x 256 examples x 100 units,
# 2 MB once stacked) were faulted in anew at every probe, which then cost twice its arithmetic. Blocks up to
# MMAP_THRESHOLD come from the heap, and up to TRIM_THRESHOLD of free heap stays mapped between steps;
# release_memory gives it all back when a run ends.
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # mallopt's parameter numbers (malloc.h)
MMAP_THRESHOLD = 8 << 20
TRIM_THRESHOLD = 32 << 20
_libc: ctypes.CDLL | None | bool = False  # False: not looked up yet; None: not glibc


def _glibc() -> ctypes.CDLL | None:
    global _libc
    if _libc is False:
        try:
            lib = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
            _libc = lib if hasattr(lib, "mallopt") and hasattr(lib, "malloc_trim") else None
        except OSError:
            _libc = None
    return _libc


_tuned = False


def tune_allocator() -> bool:
    """Keep training's temporaries on malloc's heap (see MMAP_THRESHOLD), once per process; False where the
    C library is not glibc, which leaves the allocator as it was."""
    global _tuned
    lib = _glibc()
    if lib is None:
        return False
    if not _tuned:
        _tuned = bool(lib.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) & bool(lib.mallopt(_M_TRIM_THRESHOLD,
                                                                                        TRIM_THRESHOLD))
    return _tuned


def release_memory() -> None:
    """Hand the heap's free pages back to the system (glibc's malloc_trim), as a run ends."""
    lib = _glibc()
    if lib is not None:
        lib.malloc_trim(0)


def resolve(choice: str, width: int, batch_size: int) -> torch.device:
    """The device a run uses: `auto` picks CUDA only where the run is big enough to gain."""
    if choice == "cuda":
        if not torch.cuda.is_available():
            raise RuntimeError("device 'cuda' was asked for, but no CUDA device is available")
        return torch.device("cuda")
    big = width >= CUDA_MIN_WIDTH and batch_size >= CUDA_MIN_BATCH
    if choice == "auto" and big and torch.cuda.is_available():
        return torch.device("cuda")
    return torch.device("cpu")


def describe() -> str:
    """One line on what this server can run on."""
    cuda = torch.cuda.get_device_name(0) if torch.cuda.is_available() else _("not available")
    return _("CPU ({threads} torch threads) · CUDA: {cuda}").format(threads=torch.get_num_threads(), cuda=cuda)


def cgroup_cpus(root: str = "/sys/fs/cgroup") -> float | None:
    """The CPUs a container's quota allows (cgroup v2 `cpu.max`, else v1 `cpu.cfs_quota_us`), or None
    where there is no quota. os.cpu_count() reports the host's cores, which a container may not get."""
    base = Path(root)
    try:
        quota, period = (base / "cpu.max").read_text().split()[:2]
        return None if quota == "max" else int(quota) / int(period)
    except (OSError, ValueError):
        pass
    try:
        quota = int((base / "cpu" / "cpu.cfs_quota_us").read_text())
        period = int((base / "cpu" / "cpu.cfs_period_us").read_text())
        return None if quota <= 0 or period <= 0 else quota / period
    except (OSError, ValueError):
        return None


def available_cpus() -> int:
    """The CPUs this process may use: its affinity, capped by a cgroup quota where there is one."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cpus = os.cpu_count() or 1
    quota = cgroup_cpus()
    return max(1, min(cpus, int(quota)) if quota is not None else cpus)


def configure_threads(concurrent_runs: int) -> int:
    """Cap torch's intra-op threads so that concurrent runs share the CPUs this process may use
    (a container's quota included); the cap is chosen once."""
    global _threads
    if _threads is None:
        _threads = max(1, available_cpus() // max(1, concurrent_runs))
        with contextlib.suppress(RuntimeError):  # fixed once inter-op work has started
            torch.set_num_interop_threads(1)
    use_configured_threads()
    return torch.get_num_threads()


def use_configured_threads() -> None:
    """Apply the cap in the calling thread: OpenMP keeps the thread count per thread, and every
    browser session trains in a thread of its own, so each run sets it where it runs."""
    want = getattr(_pinned, "n", None) or _threads
    if want is not None and torch.get_num_threads() != want:
        torch.set_num_threads(want)


_pinned = threading.local()  # a thread count a block of work asks for, in the thread that asked


@contextlib.contextmanager
def pinned_threads(n: int) -> Iterator[None]:
    """Run the block's training at `n` torch threads in this thread, whatever the cap: a float sum's
    order depends on the thread count, so work whose numbers must repeat exactly (claims checked on
    seeds) pins it."""
    before, torch_before = getattr(_pinned, "n", None), torch.get_num_threads()
    _pinned.n = n
    torch.set_num_threads(n)
    try:
        yield
    finally:
        _pinned.n = before
        torch.set_num_threads(torch_before)
