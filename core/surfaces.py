"""2-D loss surfaces for the optimizer lab, written in torch so autograd gives their gradients."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch

from .i18n import N_


@dataclass(frozen=True)
class Surface:
    """A loss f(x, y) with its known minima, a plotting window and a default start."""

    f: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    minima: tuple[tuple[float, float], ...]
    window: tuple[float, float, float, float]  # x_lo, x_hi, y_lo, y_hi
    start: tuple[float, float]
    note: str


SURFACES: dict[str, Surface] = {
    "ravine": Surface(lambda x, y: 0.05 * x**2 + 2.0 * y**2, ((0.0, 0.0),), (-10, 2, -3, 3), (-9.0, 2.0),
                      N_("an elongated bowl: 40 times steeper across (y) than along (x)")),
    "rosenbrock": Surface(lambda x, y: (1 - x) ** 2 + 100 * (y - x**2) ** 2, ((1.0, 1.0),), (-2, 2, -1, 3),
                          (-1.5, 2.5), N_("a curved, flat-bottomed valley; the minimum is at (1, 1)")),
    "beale": Surface(lambda x, y: (1.5 - x + x * y) ** 2 + (2.25 - x + x * y**2) ** 2 + (2.625 - x + x * y**3) ** 2,
                     ((3.0, 0.5),), (-4.5, 4.5, -4.5, 4.5), (1.0, 1.4), N_("sharp ridges and flat plateaus")),
    "saddle": Surface(lambda x, y: x**2 - y**2, (), (-2, 2, -2, 2), (-1.5, 0.01),
                      N_("x² − y²: a saddle at the origin, with no minimum at all")),
    "himmelblau": Surface(lambda x, y: (x**2 + y - 11) ** 2 + (x + y**2 - 7) ** 2,
                          ((3.0, 2.0), (-2.805118, 3.131312), (-3.779310, -3.283186), (3.584428, -1.848126)),
                          (-5, 5, -5, 5), (0.0, 0.0), N_("four minima, all at loss 0")),
    "rastrigin": Surface(lambda x, y: 20 + x**2 - 10 * torch.cos(2 * math.pi * x) + y**2
                         - 10 * torch.cos(2 * math.pi * y), ((0.0, 0.0),), (-5.12, 5.12, -5.12, 5.12), (3.2, 2.7),
                         N_("a bowl covered in local minima")),
}


def loss(name: str, xy: torch.Tensor) -> torch.Tensor:
    """The surface's loss at a 2-vector (differentiable)."""
    return SURFACES[name].f(xy[0], xy[1])


def distance_to_minimum(name: str, x: float, y: float) -> float:
    """Euclidean distance to the nearest known minimum (NaN when the surface has none)."""
    minima = SURFACES[name].minima
    return min((math.dist((x, y), m) for m in minima), default=float("nan"))


def _grid(name: str, n: int):
    x_lo, x_hi, y_lo, y_hi = SURFACES[name].window
    dx, dy = (x_hi - x_lo) / n, (y_hi - y_lo) / n
    xs = torch.linspace(x_lo + dx / 2, x_hi - dx / 2, n, dtype=torch.float64)
    ys = torch.linspace(y_lo + dy / 2, y_hi - dy / 2, n, dtype=torch.float64)
    gx, gy = torch.meshgrid(xs, ys, indexing="xy")  # (n, n): rows along y
    return gx, gy, SURFACES[name].f(gx, gy), (dx, dy)


def cells(name: str, n: int = 48) -> dict:
    """The map's n × n cells as float32 columns: centres x, y and the loss there (the chart draws
    each cell from its centre and the cell size, `cell_size(name, n)`)."""
    gx, gy, f, _ = _grid(name, n)
    return {"x": gx.flatten().float().numpy(), "y": gy.flatten().float().numpy(), "loss": f.flatten().float().numpy()}


def cell_size(name: str, n: int = 48) -> tuple[float, float]:
    x_lo, x_hi, y_lo, y_hi = SURFACES[name].window
    return (x_hi - x_lo) / n, (y_hi - y_lo) / n


def contour_levels(name: str, count: int = 9, n: int = 48) -> list[float]:
    """Loss levels for the contour lines: evenly spaced in log(loss − min + 1), as the map's colours
    are, so the valley floor and the walls both get lines."""
    _, _, f, _ = _grid(name, n)
    lo, hi = f.min().item(), f.max().item()
    top = math.log1p(hi - lo)
    return [lo + math.expm1(top * k / (count + 1)) for k in range(1, count + 1)]


def contours(name: str, count: int = 9, n: int = 96, max_points: int = 80) -> dict:
    """Contour lines of the surface, computed by contourpy on an n × n grid at `contour_levels`:
    columns level, line (an id per line), order (along it), x, y; each line thinned to at most
    `max_points` points (float32), which is all a 560-pixel map shows."""
    import contourpy
    import numpy as np

    gx, gy, f, _ = _grid(name, n)
    gen = contourpy.contour_generator(gx.numpy(), gy.numpy(), f.numpy(), line_type=contourpy.LineType.Separate)
    cols: dict[str, list] = {"level": [], "line": [], "order": [], "x": [], "y": []}
    line = 0
    for level in contour_levels(name, count):
        for points in gen.lines(level):
            if len(points) < 2:
                continue
            keep = np.unique(np.linspace(0, len(points) - 1, min(len(points), max_points)).round().astype(int))
            pts = points[keep]
            cols["level"] += [level] * len(pts)
            cols["line"] += [line] * len(pts)
            cols["order"] += list(range(len(pts)))
            cols["x"] += pts[:, 0].tolist()
            cols["y"] += pts[:, 1].tolist()
            line += 1
    return {"level": np.asarray(cols["level"], np.float32), "line": np.asarray(cols["line"], np.int32),
            "order": np.asarray(cols["order"], np.int32), "x": np.asarray(cols["x"], np.float32),
            "y": np.asarray(cols["y"], np.float32)}
