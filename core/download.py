"""Downloads with deadlines that leave nothing half-written.

torchvision's own `download=True` and torch.hub open their URLs with no timeout: behind a network
that accepts and never answers they wait forever. Here every request has a connect/read timeout
(TIMEOUT), a whole download has a deadline (DEADLINE), a file is written under a temporary name,
checked (MD5 for datasets, the SHA-256 prefix in a weights file's name) and only then moved into
place, and an IDX file that a killed extraction left short is found and extracted again. The
loading itself stays torchvision's (`MNIST(root, download=False)` reads what this writes).

Both limits can be set from the environment (DNLAB_DOWNLOAD_TIMEOUT, DNLAB_DOWNLOAD_DEADLINE), for
slow links and for the fault tests. A stalled network costs at most TIMEOUT per mirror tried.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import os
import shutil
import tarfile
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

TIMEOUT = float(os.environ.get("DNLAB_DOWNLOAD_TIMEOUT", 10))  # seconds per connect or read
DEADLINE = float(os.environ.get("DNLAB_DOWNLOAD_DEADLINE", 600))  # seconds for one file, however it trickles
CHUNK = 1 << 16

Progress = Callable[[str, int, int | None], None]  # (what, bytes so far, total bytes or None)

_locks: dict[str, threading.Lock] = {}
_locks_guard = threading.Lock()


class DownloadError(OSError):
    """A download failed, stalled or arrived corrupt; nothing was left behind."""


def _lock(path: Path) -> threading.Lock:
    """One lock per destination, so two sessions wanting the same file download it once."""
    with _locks_guard:
        return _locks.setdefault(str(path), threading.Lock())


def _digest(path: Path, algorithm: str) -> str:
    h = hashlib.new(algorithm)
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def fetch_url(url: str, dest: Path, *, md5: str | None = None, sha256_prefix: str | None = None,
              progress: Progress | None = None, timeout: float | None = None,
              deadline: float | None = None) -> Path:
    """Download `url` to `dest` (a temporary name first; moved into place only once complete and
    verified). Raise DownloadError on a timeout, a stall, a deadline passed or a checksum mismatch."""
    timeout = TIMEOUT if timeout is None else timeout
    deadline = DEADLINE if deadline is None else deadline
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    started = time.monotonic()
    try:
        with os.fdopen(fd, "wb") as out:
            request = urllib.request.Request(url, headers={"User-Agent": "deepnet-lab"})
            with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 (https/http URLs only)
                total = int(response.headers.get("Content-Length") or 0) or None
                done = 0
                while block := response.read(CHUNK):
                    out.write(block)
                    done += len(block)
                    if progress is not None:
                        progress(dest.name, done, total)
                    if time.monotonic() - started > deadline:
                        raise DownloadError(f"{url} took longer than {deadline:g} s")
        if md5 is not None and _digest(Path(tmp), "md5") != md5:
            raise DownloadError(f"{url} arrived corrupt (MD5 mismatch)")
        if sha256_prefix is not None and not _digest(Path(tmp), "sha256").startswith(sha256_prefix):
            raise DownloadError(f"{url} arrived corrupt (SHA-256 mismatch)")
        os.replace(tmp, dest)
        return dest
    except (OSError, ValueError, urllib.error.URLError) as exc:  # timeouts are OSErrors
        if isinstance(exc, DownloadError):
            raise
        reason = getattr(exc, "reason", None) or exc
        raise DownloadError(f"{url}: {type(reason).__name__}: {reason}") from exc
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def fetch_any(urls: list[str], dest: Path, **kwargs) -> Path:
    """`fetch_url` from the first of several mirrors that works."""
    errors = []
    for url in urls:
        try:
            return fetch_url(url, dest, **kwargs)
        except DownloadError as exc:
            errors.append(str(exc))
    raise DownloadError("; ".join(errors))


# IDX files (MNIST's format): magic 0, 0, a type code, the number of dimensions; big-endian int32 dims.
_IDX_BYTES = {0x08: 1, 0x09: 1, 0x0B: 2, 0x0C: 4, 0x0D: 4, 0x0E: 8}


def idx_complete(path: Path) -> bool:
    """Whether an IDX file is as long as its header says (a killed extraction leaves it short)."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(4)
            if len(head) < 4 or head[:2] != b"\0\0" or head[2] not in _IDX_BYTES:
                return False
            dims = fh.read(4 * head[3])
            if len(dims) < 4 * head[3]:
                return False
    except OSError:
        return False
    n = _IDX_BYTES[head[2]]
    for i in range(head[3]):
        n *= int.from_bytes(dims[4 * i:4 * i + 4], "big")
    return path.stat().st_size == 4 + 4 * head[3] + n


def _extract_gz(archive: Path, dest: Path) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    try:
        with os.fdopen(fd, "wb") as out, gzip.open(archive, "rb") as src:
            shutil.copyfileobj(src, out)
        os.replace(tmp, dest)
    except (OSError, EOFError) as exc:
        raise DownloadError(f"{archive.name} could not be extracted ({type(exc).__name__})") from exc
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def mnist_folder(name: str, root: Path) -> Path:
    """Where torchvision's MNIST-family class looks for its raw files."""
    return root / _mnist_class(name).__name__ / "raw"


def _mnist_class(name: str):
    from torchvision import datasets

    return {"mnist": datasets.MNIST, "fashion_mnist": datasets.FashionMNIST}[name]


def mnist_present(name: str, root: Path) -> bool:
    """Whether every raw IDX file of an MNIST-family dataset is there and complete."""
    raw = mnist_folder(name, root)
    return all(idx_complete(raw / f.removesuffix(".gz")) for f, _ in _mnist_class(name).resources)


def fetch_mnist(name: str, root: Path, progress: Progress | None = None) -> None:
    """Make an MNIST-family dataset's raw files complete: keep what is whole, re-extract an IDX file
    that is short from its verified archive, download (with deadlines) only what is missing."""
    cls = _mnist_class(name)
    raw = mnist_folder(name, root)
    raw.mkdir(parents=True, exist_ok=True)
    with _lock(raw):
        for filename, md5 in cls.resources:
            target = raw / filename.removesuffix(".gz")
            if idx_complete(target):
                continue
            archive = raw / filename
            if not (archive.exists() and _digest(archive, "md5") == md5):
                fetch_any([m + filename for m in cls.mirrors], archive, md5=md5, progress=progress)
            _extract_gz(archive, target)
            if not idx_complete(target):
                archive.unlink()  # verified but unreadable: start clean next time
                raise DownloadError(f"{filename} does not hold a complete IDX file")


def cifar_present(root: Path) -> bool:
    from torchvision import datasets

    folder = root / datasets.CIFAR10.base_folder
    return all((folder / f).exists() for f, _ in datasets.CIFAR10.train_list)


def fetch_cifar(root: Path, progress: Progress | None = None) -> None:
    """CIFAR-10's python batches: the archive is downloaded, verified, extracted into a temporary
    folder and moved into place whole, so a half-extracted folder never exists."""
    from torchvision import datasets

    cls = datasets.CIFAR10
    root.mkdir(parents=True, exist_ok=True)
    with _lock(root / cls.base_folder):
        if cifar_present(root):
            return
        archive = root / cls.filename
        if not (archive.exists() and _digest(archive, "md5") == cls.tgz_md5):
            fetch_url(cls.url, archive, md5=cls.tgz_md5, progress=progress)
        staging = Path(tempfile.mkdtemp(prefix=".cifar-", dir=root))
        try:
            with tarfile.open(archive, "r:gz") as tar:
                tar.extractall(staging, filter="data")
            final = root / cls.base_folder
            if final.exists():
                shutil.rmtree(final)  # incomplete (cifar_present said so)
            os.replace(staging / cls.base_folder, final)
        except (OSError, tarfile.TarError) as exc:
            raise DownloadError(f"{cls.filename} could not be extracted ({type(exc).__name__})") from exc
        finally:
            shutil.rmtree(staging, ignore_errors=True)


def weights_path(url: str) -> Path:
    """Where torch.hub keeps a checkpoint downloaded from `url` (torchvision's weights look there)."""
    import torch

    return Path(torch.hub.get_dir()) / "checkpoints" / Path(url).name


def fetch_weights(url: str, progress: Progress | None = None) -> Path:
    """A torchvision weights file into torch.hub's cache, verified by the SHA-256 prefix in its name
    (as torch.hub's check_hash does)."""
    dest = weights_path(url)
    with _lock(dest):
        if dest.exists():
            return dest
        stem = dest.stem.rsplit("-", 1)
        prefix = stem[1] if len(stem) == 2 and all(c in "0123456789abcdef" for c in stem[1]) else None
        return fetch_url(url, dest, sha256_prefix=prefix, progress=progress)
