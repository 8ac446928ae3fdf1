"""Stream a run's Records into live charts: decimating buffers, throttled redraws, progress, stop.

A rerun (Stop, or any widget change) takes effect at the next Streamlit call, which is the next
redraw; the `finally` blocks below mark the run stopped, keep what it recorded, and free its slot.
"""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import streamlit as st

from core.device import configure_threads
from core.engine import warm_up
from core.records import COLUMNS, Record, csv_bytes

REDRAW_SECONDS = 0.25  # at most four redraws a second
MAX_CONCURRENT_RUNS = 2  # trainings at once on one server; the rest queue
# Points each series sends per redraw. Per-step series are dense; evaluations and probes are sparse.
BUDGET = {"loss": 100, "accuracy": 100}
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


@dataclass
class RunResult:
    """What a run left behind: every record, its status, and notes to show."""

    config: object
    records: list[Record] = field(default_factory=list)
    status: str = "running"  # running | finished | stopped | diverged
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    extra: dict = field(default_factory=dict)  # figures a lesson keeps beside the records

    @property
    def last_step(self) -> int:
        return max((r.step for r in self.records), default=0)


@dataclass(frozen=True)
class ChartSpec:
    """One live chart: a builder from charts.py and the metrics it draws, or a `data` function
    that makes its frame from the run's result (for figures that are not records, like timings)."""

    build: Callable[[pd.DataFrame], object]
    metrics: tuple[str, ...] = ()
    data: Callable[[RunResult], pd.DataFrame] | None = None


class Slots:
    """At most n trainings at once; the others wait in a first-come queue with a visible place."""

    def __init__(self, n: int):
        self.n = n
        self.lock = threading.Lock()
        self.running: set[int] = set()
        self.queue: collections.deque[int] = collections.deque()
        self.next_ticket = 0

    def join(self) -> int:
        with self.lock:
            self.next_ticket += 1
            self.queue.append(self.next_ticket)
            return self.next_ticket

    def try_start(self, ticket: int) -> int:
        """0 once the ticket may run; otherwise its 1-based place in the queue."""
        with self.lock:
            if ticket in self.running:
                return 0
            if len(self.running) < self.n and self.queue and self.queue[0] == ticket:
                self.queue.popleft()
                self.running.add(ticket)
                return 0
            return self.queue.index(ticket) + 1

    def leave(self, ticket: int) -> None:
        with self.lock:
            self.running.discard(ticket)
            if ticket in self.queue:
                self.queue.remove(ticket)


@st.cache_resource
def server_slots() -> Slots:
    """The one Slots object every session of this server shares."""
    return Slots(MAX_CONCURRENT_RUNS)


@st.cache_resource
def start_up() -> int:
    """Once per server: cap torch's process-wide threads (sessions are threads of one process),
    then warm torch up so the first Train draws its first point at once."""
    threads = configure_threads(MAX_CONCURRENT_RUNS)
    warm_up()
    return threads


def draw(placeholders: list, charts: list[ChartSpec], buffers: LiveBuffers, result: RunResult) -> None:
    """Redraw every chart from the buffers; the specs stay fixed, only the data changes."""
    for ph, spec in zip(placeholders, charts, strict=True):
        df = spec.data(result) if spec.data else buffers.frame(spec.metrics)
        ph.altair_chart(spec.build(df), width="stretch")


def chart_grid(charts: list[ChartSpec], columns: int = 2) -> list:
    """Empty placeholders for the charts, laid out in rows of `columns`."""
    placeholders = []
    for start in range(0, len(charts), columns):
        cols = st.columns(columns)
        placeholders += [cols[i].empty() for i in range(min(columns, len(charts) - start))]
    return placeholders


def _wait_for_slot(slots: Slots, ticket: int, status) -> None:
    while (place := slots.try_start(ticket)) > 0:
        status.info(f"Queued: place {place} — {slots.n} trainings already run on this server. "
                    "Yours starts when one finishes.")
        time.sleep(0.3)
    status.empty()


def _progress_text(step: int, total: int, started: float) -> str:
    elapsed = time.perf_counter() - started
    eta = elapsed / step * (total - step) if step else float("nan")
    return f"step {step:,} / {total:,} · {elapsed:.1f} s · ETA {eta:.0f} s" if step else "starting…"


def train_live(key: str, config, records: Iterator[Record], charts: list[ChartSpec], total_steps: int,
               notes: list[str] | None = None, extra: dict | None = None) -> RunResult:
    """Run `records` with live charts, a progress bar and a Stop button; keep the result in the session.

    `total_steps` counts the records' steps (for several interleaved runs, one run's steps);
    `notes` and `extra` are filled by the experiment as it goes and kept with the result.
    """
    result = RunResult(config, notes=notes if notes is not None else [], extra=extra if extra is not None else {})
    st.session_state[key] = result  # stored first, so a stopped run keeps what it recorded
    area = st.empty()
    with area.container():
        status = st.empty()
        bar_col, stop_col = st.columns([5, 1], vertical_alignment="center")
        bar = bar_col.progress(0.0, text="waiting for a training slot…")
        stop_col.button("Stop", key=f"{key}.stop", help="Stop this run; what it recorded so far is kept.")
        placeholders = chart_grid(charts)
    buffers = LiveBuffers()
    start_up()  # normally done by app.py; a first visit straight to a page may skip it
    slots, ticket = server_slots(), None
    started = time.perf_counter()
    try:
        ticket = slots.join()
        _wait_for_slot(slots, ticket, status)
        started = time.perf_counter()
        last_draw = started - REDRAW_SECONDS  # the first complete step is drawn at once
        bar.progress(0.0, text="starting…")
        for r in records:
            # Draw between steps, never halfway through one step's probe records.
            if r.step != buffers.step and time.perf_counter() - last_draw >= REDRAW_SECONDS:
                text = _progress_text(buffers.step, total_steps, started)
                bar.progress(min(1.0, buffers.step / total_steps), text=text)
                draw(placeholders, charts, buffers, result)
                last_draw = time.perf_counter()
            result.records.append(r)
            buffers.add(r)
            if r.metric == "diverged":
                result.status = "diverged"
        if result.status == "running":
            result.status = "finished"
    finally:
        result.seconds = time.perf_counter() - started
        if result.status == "running":
            result.status = "stopped"  # a rerun interrupted us at a redraw
        if ticket is not None:
            slots.leave(ticket)
    area.empty()  # show_result draws the finished run in full
    return result


def final_buffers(records: Iterable[Record]) -> LiveBuffers:
    """Buffers holding a finished run at FINAL_SCALE times the live resolution."""
    buffers = LiveBuffers(scale=FINAL_SCALE)
    for r in records:
        buffers.add(r)
    return buffers


def show_result(key: str, charts: list[ChartSpec], csv_name: str) -> RunResult | None:
    """Redraw the session's last run (finished or stopped) with its status and a CSV download."""
    result: RunResult | None = st.session_state.get(key)
    if result is None:
        return None
    if result.status == "running":  # interrupted before its `finally` could say so
        result.status = "stopped"
    for note in result.notes:
        st.warning(note)
    message = {
        "finished": f"Finished {result.last_step:,} steps in {result.seconds:.1f} s.",
        "stopped": f"Stopped at step {result.last_step:,}; the curves below are what it recorded.",
        "diverged": f"The run diverged at step {result.last_step:,} (non-finite loss or gradient); "
                    "the red rule marks it. That is a result, not an error.",
    }[result.status]
    (st.error if result.status == "diverged" else st.success if result.status == "finished" else st.info)(message)
    draw(chart_grid(charts), charts, final_buffers(result.records), result)
    st.download_button("Download CSV", csv_bytes(result.records), file_name=csv_name, mime="text/csv",
                       help="Every record of this run: run, step, metric, layer, value — the same CSV "
                            "as `python -m core run`.", key=f"{key}.download")
    return result


def play(placeholder, build: Callable[[int], object], frames: list[int], seconds_per_frame: float) -> None:
    """Animate a chart: draw `build(frame)` for each frame, pausing between them. A rerun (any
    widget) interrupts it at the next draw."""
    for i, frame in enumerate(frames):
        placeholder.altair_chart(build(frame), width="content")
        if seconds_per_frame and i < len(frames) - 1:
            time.sleep(seconds_per_frame)
