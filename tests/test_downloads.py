"""Downloads under a stalled or broken network: every download has a deadline, leaves nothing behind,
is not retried at once, and a half-extracted or corrupt dataset is not kept. The network faults use a
loopback server that accepts connections and never answers (`stalled`), so nothing here reaches the internet."""

from __future__ import annotations

import gzip
import hashlib
import struct
import threading
import time

import numpy as np
import pytest

from core import data, download
from core.config import from_query
from core.experiments import experiments


def test_a_stalled_mirror_times_out_and_leaves_nothing(stalled, tmp_path, monkeypatch):
    from torchvision import datasets

    monkeypatch.setattr(download, "TIMEOUT", 1.0)
    monkeypatch.setattr(datasets.FashionMNIST, "mirrors", [stalled, stalled])
    started = time.monotonic()
    with pytest.raises(data.DatasetUnavailable, match="timed out"):
        data.fetch("fashion_mnist", tmp_path)
    assert time.monotonic() - started < 5  # two mirrors × 1 s, not forever
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []  # no partial file
    started = time.monotonic()  # the next visitor is told at once
    with pytest.raises(data.DatasetUnavailable, match="next try is in"):
        data.fetch("fashion_mnist", tmp_path)
    assert time.monotonic() - started < 0.5


def test_drawing_a_page_never_downloads(stalled, monkeypatch):
    """/transfer?dataset=fashion_mnist used to download while rendering: the check skips data not on disk."""
    from torchvision import datasets

    calls = []
    monkeypatch.setattr(datasets.FashionMNIST, "mirrors", [stalled])
    monkeypatch.setattr(download, "fetch_url", lambda *a, **k: calls.append(a))
    exp = experiments()["transfer"]
    cfg, _, errors = from_query(exp.config, exp.presets, {"dataset": "fashion_mnist"}, exp.check)
    assert cfg.dataset == "fashion_mnist" and not errors and not calls


def test_a_run_inside_no_downloads_never_touches_the_network(tmp_path, monkeypatch):
    monkeypatch.setattr(download, "fetch_url", lambda *a, **k: pytest.fail("downloaded inside a slot"))
    with data.no_downloads(), pytest.raises(data.DatasetUnavailable, match="not downloaded yet"):
        data.load("mnist", 0, str(tmp_path))


def _idx(array: np.ndarray) -> bytes:
    return struct.pack(">BBBB", 0, 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape) + \
        array.astype(np.uint8).tobytes()


def test_a_half_extracted_file_is_extracted_again(tmp_path, monkeypatch):
    from torchvision import datasets

    rng = np.random.default_rng(0)
    files = {"train-images-idx3-ubyte": _idx(rng.integers(0, 256, (40, 28, 28))),
             "train-labels-idx1-ubyte": _idx(np.arange(40) % 10)}
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    resources = []
    for name, content in files.items():
        gz = gzip.compress(content)
        (raw / f"{name}.gz").write_bytes(gz)
        resources.append((f"{name}.gz", hashlib.md5(gz).hexdigest()))
        (raw / name).write_bytes(content[: len(content) // 2])  # a killed extraction
    monkeypatch.setattr(datasets.MNIST, "resources", resources)
    monkeypatch.setattr(download, "fetch_url", lambda *a, **k: pytest.fail("the archives were whole"))
    assert not data.present("mnist", tmp_path)
    d = data.load("mnist", 0, str(tmp_path))
    assert len(d.x_train) + len(d.x_val) == 40
    assert all(download.idx_complete(raw / name) for name in files)


def test_idx_completeness_against_the_header(tmp_path):
    path = tmp_path / "f"
    content = _idx(np.zeros((3, 4, 5)))
    assert len(content) == 4 + 3 * 4 + 60
    path.write_bytes(content)
    assert download.idx_complete(path)
    path.write_bytes(content[:-1])
    assert not download.idx_complete(path)
    path.write_bytes(b"\x1f\x8b" + content)  # a gzip header is not an IDX file
    assert not download.idx_complete(path)


def test_a_corrupt_download_is_not_kept(tmp_path, monkeypatch):
    import http.server

    class One(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Length", "5")
            self.end_headers()
            self.wfile.write(b"hello")

        def log_message(self, *args):
            pass

    srv = http.server.HTTPServer(("127.0.0.1", 0), One)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        with pytest.raises(download.DownloadError, match="MD5"):
            download.fetch_url(f"http://127.0.0.1:{srv.server_port}/x", tmp_path / "x.gz", md5="0" * 32)
        assert list(tmp_path.iterdir()) == []
        got = download.fetch_url(f"http://127.0.0.1:{srv.server_port}/x", tmp_path / "x.gz",
                                 md5=hashlib.md5(b"hello").hexdigest())
        assert got.read_bytes() == b"hello"
    finally:
        srv.shutdown()


def test_two_visitors_on_a_stalled_network_wait_one_timeout_not_two(stalled, tmp_path, monkeypatch):
    from torchvision import datasets

    monkeypatch.setattr(download, "TIMEOUT", 1.5)
    monkeypatch.setattr(datasets.FashionMNIST, "mirrors", [stalled])
    waits: list[float] = []

    def visitor():
        started = time.monotonic()
        with pytest.raises(data.DatasetUnavailable):
            data.fetch("fashion_mnist", tmp_path)
        waits.append(time.monotonic() - started)

    threads = [threading.Thread(target=visitor) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(waits) == 2 and max(waits) < 2 * 1.5  # the second was told when the first failed

