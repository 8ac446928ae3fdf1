"""The optimizer lesson's surface map: its grid and contour lines (computed once per surface) and paths."""

from __future__ import annotations

import functools

import pandas as pd

from core.i18n import _
from core.surfaces import SURFACES, cell_size, cells, contours

from . import charts

GRID = 48  # cells per side of the map
LIVE_GRID = 24  # of an animation's frames: each frame resends the map (Streamlit sends a chart whole)


@functools.lru_cache(maxsize=2 * len(SURFACES))  # one entry per surface and grid: bounded
def _background(name: str, live: bool) -> tuple[pd.DataFrame, pd.DataFrame | None, pd.DataFrame]:
    minima = pd.DataFrame(list(SURFACES[name].minima), columns=["x", "y"], dtype="float32")
    return (pd.DataFrame(cells(name, LIVE_GRID if live else GRID)),
            None if live else pd.DataFrame(contours(name)), minima)


def surface_chart(name: str, path_frame: pd.DataFrame, live: bool = False) -> object:
    """The map of surface `name` with these paths on it. `live`: an animation frame, with a coarser
    map and no contour lines, so that a whole animation stays under a megabyte (benchmarks)."""
    grid, lines, minima = _background(name, live)
    surface = SURFACES[name]
    return charts.surface_map(grid, path_frame, minima, surface.window, f"{name}: {_(surface.note)}",
                              cell_size(name, LIVE_GRID if live else GRID), lines)
