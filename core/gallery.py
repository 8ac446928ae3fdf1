"""The activation gallery: f(x) and f'(x) of the real torch modules, by autograd.

Nothing here is a hand-written formula: each curve is the module's forward pass, each slope its
autograd derivative, each band the spread of RReLU's random slopes in training mode.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import pandas as pd
import torch

from .config import same_as
from .engine import LessonConfig, TrainConfig
from .nets import ACTIVATIONS, make_activation, max_derivative
from .probes import SATURATION_LEVEL, derivative

__all__ = ["ACTIVATIONS", "GalleryConfig", "parameters", "table"]


@dataclass(frozen=True)
class GalleryConfig(LessonConfig):
    """The activation parameters the gallery draws with: the engine's own fields and ranges."""

    leaky_alpha: float = same_as(TrainConfig, "leaky_alpha", advanced=False)
    elu_alpha: float = same_as(TrainConfig, "elu_alpha", advanced=False)
    rrelu_lower: float = same_as(TrainConfig, "rrelu_lower", advanced=False)
    rrelu_upper: float = same_as(TrainConfig, "rrelu_upper", advanced=False)


def parameters(cfg: GalleryConfig) -> dict[str, float]:
    """The config as keyword arguments of `table`."""
    return dataclasses.asdict(cfg)

X_RANGE = (-8.0, 8.0)
RRELU_SAMPLES = 256


def grid(n: int = 481) -> torch.Tensor:
    return torch.linspace(*X_RANGE, n)


def slopes(name: str, x: torch.Tensor, training: bool = False, **params: float) -> tuple[torch.Tensor, torch.Tensor]:
    """f(x) and f'(x) of the registry's module (eval mode unless `training`)."""
    act = make_activation(name, **params).train(training)
    with torch.no_grad():
        f = act(x)
    return f, derivative(act, x)


def mean_under_normal(name: str, n: int = 4001, **params: float) -> float:
    """E[f(z)] for z ~ N(0, 1), by quadrature on [-8, 8]: how far from zero-centred f's output is."""
    z = torch.linspace(-8, 8, n, dtype=torch.float64)
    pdf = torch.exp(-z**2 / 2) / math.sqrt(2 * math.pi)
    act = make_activation(name, **params).eval().double()
    with torch.no_grad():
        return float(torch.trapezoid(act(z) * pdf, z))


def rrelu_band(x: torch.Tensor, lower: float, upper: float, samples: int = RRELU_SAMPLES):
    """Lowest and highest f(x) over many training-mode draws of RReLU's random slopes."""
    act = make_activation("rrelu", rrelu_lower=lower, rrelu_upper=upper).train()
    with torch.no_grad():
        draws = act(x.expand(samples, -1).clone())
    return draws.min(0).values, draws.max(0).values


def table(names: list[str], n: int = 481, **params: float) -> pd.DataFrame:
    """Long-form gallery data: one row per (activation, x) with f, f', saturation and RReLU's band."""
    x = grid(n)
    dx = float(x[1] - x[0])
    frames = []
    for name in names:
        f, g = slopes(name, x, **params)
        limit = SATURATION_LEVEL * max_derivative(name, **params)
        df = pd.DataFrame({"name": name, "x": x.numpy(), "x_next": x.numpy() + dx, "f": f.numpy(),
                           "df": g.numpy(), "saturated": (g.abs() < limit).numpy()})
        if name == "rrelu":
            lo, hi = rrelu_band(x, params.get("rrelu_lower", 1 / 8), params.get("rrelu_upper", 1 / 3))
            df["band_lo"], df["band_hi"] = lo.numpy(), hi.numpy()
        df["label"] = f"{name}   E[f(z)] = {mean_under_normal(name, **params):+.2f}"
        frames.append(df)
    return pd.concat(frames, ignore_index=True)
