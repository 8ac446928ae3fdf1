"""Shared fixtures: a tiny training config, and the real server plus headless Chromium for e2e tests."""

from __future__ import annotations

import os
import shutil
import socket
import sys
import threading
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
sys.path.insert(0, str(ROOT))
# The toy lesson (tests/toy_lesson.py, tests/toy/) joins the registry for the whole session, in this process and
# in every one it starts (the CLI, the servers): a sixth lesson meeting every registry-driven test.
os.environ["DNLAB_LESSONS"] = "tests.toy_lesson"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def server():
    """The real Streamlit server on localhost; yields its base URL."""
    port = _free_port()
    log_path = Path(os.environ.get("TMPDIR", "/tmp")) / f"deepnet-lab-e2e-{port}.log"
    with open(log_path, "w") as log:
        yield from _serve(port, log)


def _serve(port: int, log, **where):
    from benchmarks.load import start_server, wait_healthy

    proc = start_server(port, log, **where)
    url = f"http://127.0.0.1:{port}"
    if not wait_healthy(url):
        proc.kill()
        pytest.fail("the Streamlit server did not start within 60 s")
    yield url
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture(scope="session")
def browser():
    """Headless Debian Chromium through Playwright (never a downloaded browser)."""
    if not (os.path.exists(CHROMIUM) and shutil.which("chromium")):
        if os.environ.get("CI"):
            pytest.fail("CI must run the browser tests: install Debian's chromium package")
        pytest.skip("Debian's chromium is not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield b
        b.close()


@pytest.fixture
def cached_weights(tmp_path, monkeypatch):
    """A weights file where torchvision's weights API looks in torch's cache (TORCH_HOME)."""
    import torch
    from torchvision import models

    from core import backbones

    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    weights = backbones.weights_for("resnet18")
    path = tmp_path / "hub" / "checkpoints" / weights.url.rsplit("/", 1)[1]
    path.parent.mkdir(parents=True)
    torch.manual_seed(0)
    state = models.resnet18(weights=None).state_dict()
    torch.save(state, path)
    return state


@pytest.fixture
def fake_cifar(monkeypatch):
    """CIFAR-10's cats vs dogs replaced by seeded random images (downloads fail here)."""
    import torch

    from core import backbones
    from core.data import Dataset
    from core.experiments import transfer

    def subset(n: int, seed: int, root=None):
        g = torch.Generator().manual_seed(seed)
        x = backbones.normalise(torch.randint(0, 256, (n + 40, 32, 32, 3), dtype=torch.uint8, generator=g))
        y = torch.randint(0, 2, (n + 40,), generator=g)
        return Dataset("fake-cifar", x[:n], y[:n], x[n:], y[n:], 2)

    monkeypatch.setattr(transfer, "cifar_subset", subset)
    # the page fetches before a run: here only the weights (cached_weights) are needed on disk
    monkeypatch.setattr(transfer, "fetch_backbone", lambda name, progress=None: backbones.load_backbone(name))
    return subset


@pytest.fixture
def stalled():
    """A loopback TCP server that accepts every connection and never sends a byte; yields its URL."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept():
        srv.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(srv.accept()[0])
            except OSError:
                continue

    t = threading.Thread(target=accept, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{srv.getsockname()[1]}/"
    stop.set()
    t.join()
    for c in held:
        c.close()
    srv.close()

