"""Single flight: one training per identical Train, however many visitors watch it (no streamlit here).

A run is a pure function of its key (core.runstore.run_key), so a Train whose key equals a run in flight
joins that run instead of training it again: the Flight trains in a thread of its own, under one training
slot, into bounded buffers that every viewer draws from; a viewer that joins late sees the records so far
at once, then the rest live. A viewer's Stop ends its own view; the training stops when no viewer is left.
A finished run goes to the run store (core.runstore) before it leaves the flights, so an identical Train
finds it in one place or the other.
"""

from __future__ import annotations

import contextvars
import os
import threading
import time
from collections.abc import Hashable

from core.config import ConfigError
from core.data import Unavailable, no_downloads
from core.experiment import Experiment
from core.i18n import _
from core.records import KeptRecords
from core.runstore import KEPT_STATUSES, keep

from .admission import Slots
from .buffers import LiveBuffers

MAX_KEPT_RECORDS = 100_000  # per run (~13 MB); beyond, per-step series are thinned (core.records.KeptRecords)
# The longest a run may hold a training slot (a shared demo server); the CLI has no limit.
MAX_RUN_SECONDS = float(os.environ.get("DNLAB_MAX_RUN_SECONDS", 15 * 60))
QUEUE_POLL = 0.3  # seconds between two looks at the queue


class Flight:
    """One training in a thread of its own: its records, live buffers and progress, read by its viewers."""

    def __init__(self, key: Hashable | None, experiment: Experiment, cfg, seeds: tuple[int, ...], slots: Slots,
                 pace: float = 0.0, frames: int = 40):
        self.key, self.experiment, self.cfg, self.seeds, self.slots = key, experiment, cfg, seeds, slots
        self.total = max(1, experiment.work(cfg) * max(1, len(seeds)))  # every step of every network
        self.pace, self.frame_steps = pace, -(-self.total // frames)
        self.records = KeptRecords(MAX_KEPT_RECORDS)
        self.buffers = LiveBuffers()
        self.changed = threading.Condition()  # guards everything below; notified on each state change and frame
        self.state = "queued"  # queued | running | finished | diverged | stopped | unavailable | failed
        self.place = 0  # its place in the training queue while queued
        self.published = 0  # steps published to the buffers (a step's records go in together)
        self.frame = 0  # frames published (a paced run's redraws)
        self.done, self.last_run, self.last_step = 0, "", 0
        self.created = time.time()
        self.started = 0.0  # perf_counter when it took its slot
        self.started_at = 0.0  # and time.time() then
        self.seconds = 0.0
        self.message = ""
        self.error: BaseException | None = None
        self.viewers = 0
        self.ticket = 0  # its place in the training queue (Slots), taken when it boards
        self._specs: tuple | None = None  # (key, when, specs): the last live charts one viewer made, for the others
        self.cancelled = threading.Event()
        self.thread = threading.Thread(target=contextvars.copy_context().run, args=(self._train,),
                                       name=f"flight-{experiment.name}", daemon=True)

    @property
    def ended(self) -> bool:
        return self.state not in ("queued", "running")

    def snapshot(self) -> tuple[LiveBuffers, int, str, int, float]:
        """A copy of the buffers, and the steps done, the run and step training now, and the seconds since start."""
        with self.changed:
            elapsed = time.perf_counter() - self.started if self.started else 0.0
            return self.buffers.copy(), self.done, self.last_run, self.last_step, elapsed

    def recent_specs(self, key: Hashable, seconds: float) -> list | None:
        """The live charts' specs a viewer made under `key` (language, chart options) at most `seconds` ago."""
        with self.changed:
            if self._specs is not None and self._specs[0] == key and time.perf_counter() - self._specs[1] <= seconds:
                return self._specs[2]
        return None

    def keep_specs(self, key: Hashable, specs: list) -> None:
        with self.changed:
            self._specs = (key, time.perf_counter(), specs)

    def records_so_far(self) -> KeptRecords:
        """The records as they stand (the flight's own object once it has ended: they no longer change)."""
        with self.changed:
            if self.ended:
                return self.records
            return KeptRecords.holding(list(self.records), self.records.limit, self.records.stride)

    def _publish(self, pending: list, done: int, run: str, step: int) -> None:
        with self.changed:
            for r in pending:
                self.records.append(r)
                self.buffers.add(r)
            self.done, self.last_run, self.last_step = done, run, step
            self.published += 1

    def _end(self, state: str) -> None:
        with self.changed:
            if self.state in ("queued", "running"):  # once: a later call changes nothing
                self.state = state
                self.seconds = time.perf_counter() - self.started if self.started else 0.0
                self.changed.notify_all()

    def _train(self) -> None:
        ticket = self.ticket
        try:
            while (place := self.slots.try_start(ticket)) > 0:
                with self.changed:
                    if place != self.place:
                        self.place = place
                        self.changed.notify_all()
                if self.cancelled.wait(QUEUE_POLL):
                    self._end("stopped")
                    return
            with self.changed:
                self.state, self.started, self.started_at = "running", time.perf_counter(), time.time()
                self.changed.notify_all()
            self._end(self._steps())
        except (Unavailable, ConfigError) as exc:  # the data cannot serve after all
            self.message = str(exc)
            self._end("unavailable")
        except Exception as exc:  # noqa: BLE001 — handed to every viewer, which raises it in its own thread
            self.error = exc
            self._end("failed")
        finally:
            self._end("stopped")  # a no-op once it ended; else (the process exiting) no viewer waits on it
            self.slots.leave(ticket)
            _landed(self)

    def _steps(self) -> str:
        """Train, publishing each step's records together; the state it ended in."""
        exp, cfg = self.experiment, self.cfg
        pending: list = []
        done, run, step, next_frame = 0, "", 0, self.frame_steps
        with no_downloads():  # the page fetched first; a run never waits on the network inside its slot
            records = exp.over_seeds(cfg, self.seeds) if self.seeds else exp.run(cfg)
            try:
                for r in records:
                    if pending and r.step != pending[-1].step:
                        self._publish(pending, done, run, step)
                        pending = []
                        if self.cancelled.is_set():
                            return "stopped"
                        if time.perf_counter() - self.started > MAX_RUN_SECONDS:
                            self.message = _("This server stops a run after {minutes:.0f} minutes so that others "
                                             "can train; `python -m core run` has no limit.").format(
                                minutes=MAX_RUN_SECONDS / 60)
                            return "stopped"
                        if self.pace and done >= next_frame:
                            with self.changed:
                                self.frame += 1
                                self.changed.notify_all()
                            next_frame = done + self.frame_steps
                            time.sleep(self.pace)
                    if r.metric == "loss":
                        done, run, step = done + 1, r.run, r.step
                    pending.append(r)
                self._publish(pending, done, run, step)
            finally:
                if hasattr(records, "close"):
                    records.close()  # a generator: its torch work ends here
        runs = {r.run for r in self.records if r.run}
        diverged = {r.run for r in self.records if r.metric == "diverged"}
        return "diverged" if diverged and diverged == runs else "finished"


_flights: dict[Hashable, Flight] = {}
_flights_lock = threading.Lock()


def _landed(flight: Flight) -> None:
    """A flight has ended: a complete run on the data it asked for goes to the store, then leaves the flights."""
    if flight.state in KEPT_STATUSES and not flight.experiment.notes(flight.records, flight.cfg):
        keep(flight.key, flight.records, flight.state, flight.seconds, flight.records.stride)
    with _flights_lock:
        if _flights.get(flight.key) is flight:
            del _flights[flight.key]


def board(key: Hashable | None, experiment: Experiment, cfg, seeds: tuple[int, ...], slots: Slots,
          pace: float = 0.0, frames: int = 40, pressed: float | None = None) -> tuple[Flight, bool]:
    """The flight of `key` with one more viewer: the one in flight (joined: True) or a new one, started, queued
    for a slot in the order of `pressed` (when its Train was pressed: Slots.join). A key of None (a run that is
    never shared) always gets a flight of its own."""
    with _flights_lock:
        flight = _flights.get(key) if key is not None else None
        if flight is not None and not flight.ended and not flight.cancelled.is_set():
            flight.viewers += 1
            return flight, True
        flight = Flight(key, experiment, cfg, seeds, slots, pace, frames)
        flight.viewers = 1
        if key is not None:
            _flights[key] = flight
    # its place in the queue now, in the order the Trains arrived (its thread may be scheduled later)
    flight.ticket = slots.join(pressed)
    flight.thread.start()
    return flight, False


def leave(flight: Flight) -> None:
    """A viewer has gone (its Stop, a rerun, a closed tab): the last one out stops the training."""
    with _flights_lock:
        flight.viewers -= 1
        if flight.viewers <= 0:
            flight.cancelled.set()
            if _flights.get(flight.key) is flight:
                del _flights[flight.key]  # a Train from now on starts afresh


def in_flight() -> int:
    """How many shared flights are training or queued now."""
    with _flights_lock:
        return len(_flights)
