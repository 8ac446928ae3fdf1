"""Pretrained torchvision CNN backbones for transfer learning, loaded through torchvision's weights
API into torch's cache folder, and a small CIFAR-10 task to reuse them on."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from . import download
from .data import Dataset, DatasetUnavailable, Unavailable, cache_dir, downloads_allowed
from .i18n import _

BACKBONES = ("resnet18", "mobilenet_v3_small")
IMAGE_SIZE = 64  # CIFAR's 32×32 upscaled: enough for ImageNet features, cheap on a CPU
CIFAR_CLASSES = (3, 5)  # cat, dog


class WeightsUnavailable(Unavailable):
    """Pretrained weights could not be had (usually: offline and not in torch's cache)."""


def weights_for(name: str):
    """torchvision's default ImageNet weights enum member for a backbone."""
    from torchvision import models

    return models.get_model_weights(name).DEFAULT


def load_backbone(name: str) -> nn.Module:
    """The backbone with its ImageNet weights, from torch's cache or a download (weights_only)."""
    from torchvision import models

    weights = weights_for(name)
    cached = download.weights_path(weights.url)
    try:
        if not cached.exists() and not downloads_allowed():
            raise download.DownloadError("not downloaded yet")
        path = download.fetch_weights(weights.url)
        state = torch.load(path, map_location="cpu", weights_only=True)
    except (OSError, RuntimeError) as exc:
        raise WeightsUnavailable(
            _("The pretrained {name} weights could not be downloaded ({error}), and they are not in torch's cache "
              "({cached}). This part needs the internet once; the rest of the page works.")
            .format(name=name, error=type(exc).__name__, cached=cached)
        ) from exc
    model = models.get_model(name, weights=None)
    model.load_state_dict(state)
    return model


def feature_extractor(name: str) -> tuple[nn.Module, int]:
    """The backbone without its classifier, and the width of the features it returns."""
    model = load_backbone(name)
    if name == "resnet18":
        width = model.fc.in_features
        model.fc = nn.Identity()
    else:
        width = model.classifier[0].in_features
        model.classifier = nn.Identity()
    return model, width


def normalise(images: torch.Tensor) -> torch.Tensor:
    """uint8 NHWC images -> float NCHW at IMAGE_SIZE, with ImageNet's mean and std."""
    x = images.permute(0, 3, 1, 2).float() / 255
    x = nn.functional.interpolate(x, size=IMAGE_SIZE, mode="bilinear", align_corners=False)
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    return (x - mean) / std


def cifar_subset(n: int, seed: int, root: str | None = None) -> Dataset:
    """Cats vs dogs from CIFAR-10's training set: n examples to train on plus a fixed validation set."""
    from torchvision import datasets

    folder = Path(root or cache_dir())
    try:
        if not download.cifar_present(folder):
            if not downloads_allowed():
                raise download.DownloadError("not downloaded yet")
            download.fetch_cifar(folder)
        ds = datasets.CIFAR10(root=str(folder), train=True, download=False)
    except (OSError, RuntimeError) as exc:
        raise DatasetUnavailable(_('CIFAR-10 could not be downloaded ({error}); it needs the internet once')
                                 .format(error=type(exc).__name__)) from exc
    images, labels = torch.tensor(ds.data), torch.tensor(ds.targets)
    keep = torch.isin(labels, torch.tensor(CIFAR_CLASSES))
    images, labels = images[keep][: n + 400], (labels[keep][: n + 400] == CIFAR_CLASSES[1]).long()
    x = normalise(images)
    perm = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))
    val, train = perm[:400], perm[400:400 + n]
    return Dataset("cifar10-cats-dogs", x[train], labels[train], x[val], labels[val], 2)



def fetch(name: str, progress: download.Progress | None = None) -> None:
    """Download what a transfer-cnn run with backbone `name` needs (CIFAR-10, the weights), with
    deadlines; raise Unavailable. The page calls this before a run takes a training slot."""
    try:
        download.fetch_cifar(cache_dir(), progress)
    except OSError as exc:  # Unavailable, not DatasetUnavailable: this task has no offline fallback
        raise Unavailable(_('CIFAR-10 could not be downloaded ({exc}); it needs the internet once')
                          .format(exc=exc)) from exc
    url = weights_for(name).url
    try:
        download.fetch_weights(url, progress)
    except OSError as exc:
        raise WeightsUnavailable(_('The pretrained {name} weights could not be downloaded ({exc}); this part needs '
                                   'the internet once, the rest of the page works')
                                 .format(name=name, exc=exc)) from exc
