"""Datasets: the bundled digits, the torchvision path on IDX files written here, the offline fallback."""

import struct

import numpy as np
import pytest
import torch

from core import data, recipe


def test_digits_are_standardised_and_split_by_seed():
    d = data.load("digits", 0)
    assert d.n_features == 64 and d.n_classes == 10
    assert len(d.x_train) + len(d.x_val) == 1797
    assert len(d.x_val) == round(1797 * recipe.VAL_FRACTION)
    active = d.x_train.std(0) > 0
    assert torch.allclose(d.x_train.mean(0), torch.zeros(64), atol=1e-5)
    assert torch.allclose(d.x_train.std(0)[active], torch.ones(int(active.sum())), atol=1e-4)
    again, other = data.load("digits", 0), data.split(*recipe.read_digits(), seed=1)
    assert torch.equal(d.y_val, again.y_val) and not torch.equal(d.y_val, other[3])


def _write_idx(path, array: np.ndarray) -> None:
    """An IDX file as MNIST ships it: magic (0, 0, dtype 0x08, ndim), big-endian dims, bytes."""
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    path.write_bytes(header + array.astype(np.uint8).tobytes())


@pytest.mark.parametrize("name,folder", [("mnist", "MNIST"), ("fashion_mnist", "FashionMNIST")])
def test_torchvision_loading_path_reads_idx_files(tmp_path, name, folder):
    raw = tmp_path / folder / "raw"
    raw.mkdir(parents=True)
    rng = np.random.default_rng(0)
    images, labels = rng.integers(0, 256, (50, 28, 28)), np.arange(50) % 10
    for prefix in ("train", "t10k"):
        _write_idx(raw / f"{prefix}-images-idx3-ubyte", images)
        _write_idx(raw / f"{prefix}-labels-idx1-ubyte", labels)
    d = data.load(name, 0, str(tmp_path))
    assert d.n_features == 784 and d.n_classes == 10 and len(d.x_train) + len(d.x_val) == 50
    # the same pixels, standardised: undo with the training statistics of the raw images
    flat = torch.tensor(images.reshape(50, -1), dtype=torch.float32)
    x_tr, y_tr, _, _ = data.split(flat, torch.tensor(labels), 0)
    assert torch.allclose(d.x_train, x_tr) and torch.equal(d.y_train, y_tr)


def test_failed_download_falls_back_to_digits_with_one_message(tmp_path, monkeypatch):
    from core import download

    def offline(url, *args, **kwargs):
        raise download.DownloadError(f"{url}: URLError: network is unreachable")

    monkeypatch.setattr(download, "fetch_url", offline)
    with pytest.raises(data.DatasetUnavailable, match="fashion_mnist could not be downloaded"):
        data.load("fashion_mnist", 0, str(tmp_path / "a"))
    d, message = data.load_or_fallback("fashion_mnist", 0, str(tmp_path / "b"))
    assert d.name == "digits" and "bundled digits" in message and "\n" not in message


def test_unknown_dataset_name():
    with pytest.raises(ValueError, match="dataset must be one of"):
        data.load("cifar", 0)
