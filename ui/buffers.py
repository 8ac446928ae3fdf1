"""Bounded, decimating series buffers: a whole curve in constant memory (no streamlit here)."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from core.records import COLUMNS, Record

# Points each series sends per redraw. Per-step series are dense; evaluations and probes are sparse.
BUDGET = {"loss": 100, "accuracy": 100, "x": 100, "y": 100}  # x, y: surface paths, sampled like loss
SPARSE_BUDGET = 10
PROBE_BUDGET = 40
FINAL_SCALE = 10  # a finished run is drawn with this many times the live budget


def budget(metric: str) -> int:
    """How many points of a series one live redraw carries."""
    if metric in BUDGET:
        return BUDGET[metric]
    return SPARSE_BUDGET if metric.startswith("val_") or metric == "diverged" else PROBE_BUDGET


class SeriesBuffer:
    """A bounded series: past 2×capacity points it drops every other one and doubles its stride,
    so the whole curve keeps its shape in constant memory; the latest point is always kept."""

    def __init__(self, capacity: int):
        self.capacity = max(2, capacity)
        self.stride, self.seen = 1, 0
        self.points: list[tuple[int, float]] = []
        self.latest: tuple[int, float] | None = None

    def add(self, step: int, value: float) -> None:
        if self.seen % self.stride == 0:
            self.points.append((step, value))
            if len(self.points) > 2 * self.capacity:
                self.points = self.points[::2]
                self.stride *= 2
        self.seen += 1
        self.latest = (step, value)

    def copy(self) -> SeriesBuffer:
        out = SeriesBuffer.__new__(SeriesBuffer)
        out.capacity, out.stride, out.seen = self.capacity, self.stride, self.seen
        out.points, out.latest = list(self.points), self.latest
        return out

    def sample(self, n: int) -> list[tuple[int, float]]:
        """At most n points spread evenly over the stored ones, ending at the latest."""
        pts = self.points if self.points and self.points[-1] == self.latest else self.points + [self.latest]
        if len(pts) <= n:
            return pts
        idx = np.linspace(0, len(pts) - 1, n).round().astype(int)
        return [pts[i] for i in idx]


class LiveBuffers:
    """One SeriesBuffer per (run, metric, layer), fed with Records."""

    def __init__(self, scale: int = 1):
        self.scale = scale
        self.series: dict[tuple, SeriesBuffer] = {}
        self.step = 0

    def add(self, r: Record) -> None:
        key = (r.run, r.metric, r.layer)
        buf = self.series.get(key)
        if buf is None:
            buf = self.series[key] = SeriesBuffer(budget(r.metric) * self.scale)
        buf.add(r.step, r.value)
        self.step = max(self.step, r.step)

    def copy(self) -> LiveBuffers:
        """An independent copy (a viewer draws from it while the training goes on adding to the original)."""
        out = LiveBuffers(self.scale)
        out.series = {key: buf.copy() for key, buf in self.series.items()}
        out.step = self.step
        return out

    def frame(self, metrics: Iterable[str] | None = None) -> pd.DataFrame:
        """The buffered points as a compact long-form DataFrame (categoricals, 32-bit numbers)."""
        wanted = set(metrics) if metrics is not None else None
        rows = [
            (run, step, metric, layer, value)
            for (run, metric, layer), buf in self.series.items()
            if wanted is None or metric in wanted
            for step, value in buf.sample(budget(metric) * self.scale)
        ]
        df = pd.DataFrame(rows, columns=list(COLUMNS))
        return df.astype({"run": "category", "metric": "category", "step": "int32",
                          "layer": "Int16", "value": "float32"})


def final_buffers(records: Iterable[Record]) -> LiveBuffers:
    """Buffers holding a finished run at FINAL_SCALE times the live resolution."""
    buffers = LiveBuffers(scale=FINAL_SCALE)
    for r in records:
        buffers.add(r)
    return buffers
