"""Server admission: at most a few trainings at once on one server, and a warm-up at start.

torch's thread count is process-wide and every browser session is a thread of one process, so the
threads are capped once (start_up) and the Slots object is module state, shared by every session.
"""

from __future__ import annotations

import collections
import contextlib
import ctypes
import ctypes.util
import gc
import importlib
import logging
import threading
import time

from core.device import configure_threads
from core.engine import warm_up

MAX_CONCURRENT_RUNS = 2  # trainings at once on one server; the rest queue
JANITOR_SECONDS = 5.0
log = logging.getLogger(__name__)


class Slots:
    """At most n trainings at once; the others wait in a first-come queue with a visible place."""

    def __init__(self, n: int):
        self.n = n
        self.lock = threading.Lock()
        self.running: set[int] = set()
        self.queue: collections.deque[int] = collections.deque()
        self.pressed: dict[int, float] = {}  # ticket -> when its Train was pressed, while it waits or runs
        self.next_ticket = 0
        self.left = 0  # tickets that have left (a run ended, or gave up its place): the janitor's cue

    def join(self, pressed: float | None = None) -> int:
        """A ticket, queued in the order of `pressed` (the time.perf_counter() its Train reached the server; by
        default now): a Train pressed earlier whose data check took longer still goes ahead of later ones that
        have not started yet (one that has started keeps its slot)."""
        with self.lock:
            self.next_ticket += 1
            at = time.perf_counter() if pressed is None else pressed
            self.pressed[self.next_ticket] = at
            place = len(self.queue)
            while place and self.pressed[self.queue[place - 1]] > at:
                place -= 1
            self.queue.insert(place, self.next_ticket)
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
            self.left += 1
            self.running.discard(ticket)
            self.pressed.pop(ticket, None)
            if ticket in self.queue:
                self.queue.remove(ticket)


_SLOTS = Slots(MAX_CONCURRENT_RUNS)  # module state: one per server process, shared by every session


def server_slots() -> Slots:
    """The one Slots object every session of this server shares."""
    return _SLOTS


_started: int | None = None
_start_lock = threading.Lock()


def start_up(background: bool = True) -> int:
    """Once per server process: cap torch's process-wide threads (sessions are threads of one
    process), warm torch up and start the janitor. The server's lifespan (ui/server.py) calls it with
    background=False before the server accepts a connection; every script run calls it too, which is
    then a no-op — or, where the server started without the lifespan (`streamlit run lab.py`, AppTest),
    starts the warm-up in the background so the first visitor's page does not wait for it."""
    global _started
    with _start_lock:
        if _started is not None:
            return _started
        limit_arenas()
        threads = configure_threads(MAX_CONCURRENT_RUNS)
        if background:
            # The warm-up imports scikit-learn while this thread goes on to import altair; both import
            # narwhals, whose package imports itself circularly, and two threads in it at once end in
            # Python's _DeadlockError. Import it here first (tens of milliseconds).
            with contextlib.suppress(ImportError):
                importlib.import_module("narwhals.stable.v1")
                importlib.import_module("narwhals.stable.v2")
            threading.Thread(target=_warm_up, name="warm-up", daemon=True).start()
        else:
            _warm_up(PAGE_MODULES)
        threading.Thread(target=_janitor, name="janitor", daemon=True).start()
        _started = threads
        return threads


# What every page imports, imported at server start before the freeze, so that their objects are frozen too. Not in
# the background warm-up: a session's script may be importing them at the same time (see narwhals above).
PAGE_MODULES = ("core.experiments", "ui.charts", "ui.results")


def _warm_up(modules: tuple[str, ...] = ()) -> None:
    try:
        warm_up()
        for name in modules:
            importlib.import_module(name)
    except Exception:  # noqa: BLE001 — a failed warm-up costs the first run its one-off costs, no more
        log.exception("warm-up")
    freeze()


def freeze() -> int:
    """Take every object alive now out of the garbage collector's view (gc.freeze; returns how many): the
    modules, torch's and Streamlit's included, which live as long as the server. Python's full collection
    otherwise walks all of them every time the allocations of training trigger one, several times a run, and
    each walk holds the GIL, so every session of the server, its drawing and its messages wait for it.
    A frozen object that dies is still freed by reference counting, but one that dies in a cycle is never freed:
    what is alive at start-up is the server's modules and their caches, which live as long as it."""
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()


def release_memory(collect: bool = True) -> int:
    """Free what closed sessions left: shut down the disconnected sessions whose reconnect window
    (`server.disconnectedSessionTTL`) has passed — Streamlit's TTL cache only drops them when it is
    next written to, which on a quiet server is never, and dropping does not shut them down, so each
    kept its download buttons' CSV files in the media file manager — then collect garbage and hand
    the freed heap back to the OS (glibc's malloc_trim; otherwise a server's RSS stays at its peak). Without
    `collect`, the garbage is collected only where a session was shut down. Returns how many were."""
    ended = 0
    with contextlib.suppress(Exception):  # private Streamlit internals: best effort, never an error
        from streamlit.runtime import Runtime

        cache = getattr(Runtime.instance()._session_mgr._session_storage, "_cache", None)
        for _, info in cache.expire() if hasattr(cache, "expire") else ():
            info.session.shutdown()  # as a closed session is: its download files and media go too
            ended += 1
    if collect or ended:
        gc.collect()
        if _libc is not None:
            _libc.malloc_trim(0)
    return ended


_libc = None
with contextlib.suppress(OSError, TypeError, AttributeError):
    _name = ctypes.util.find_library("c")
    if _name and hasattr(ctypes.CDLL(_name), "malloc_trim"):
        _libc = ctypes.CDLL(_name)


M_ARENA_MAX = -8  # glibc's mallopt parameter (malloc.h)
MALLOC_ARENAS = 2


def limit_arenas() -> bool:
    """Cap glibc's malloc arenas at MALLOC_ARENAS, as MALLOC_ARENA_MAX=2 would, unless the environment
    already sets it. Every browser session's script run is a new thread, and glibc gives threads arenas
    of their own (up to 8 per core), each holding freed memory it cannot hand back while any chunk in it
    lives: after 10 sessions with interrupted runs the server kept ~55 MB more than before them, and
    with two arenas ~6 MB (benchmarks.load). Returns whether the cap was set."""
    import os

    if _libc is None or "MALLOC_ARENA_MAX" in os.environ or not hasattr(_libc, "mallopt"):
        return False
    return bool(_libc.mallopt(M_ARENA_MAX, MALLOC_ARENAS))


COLLECT_EVERY = 30.0  # seconds: an idle server collects garbage at least this often, and after each run and closed tab


def _janitor() -> None:
    """Every JANITOR_SECONDS while the server is idle (no training running): shut down expired sessions; collect
    garbage where one was, where a run ended since the last look, or COLLECT_EVERY seconds after the last time. A
    full collection of the server's heap costs tens of milliseconds (py-spy: with Streamlit's collection after
    every script run, a third of the server's CPU during a 30-visitor class), so not every 5 s for nothing."""
    seen, last = -1, time.monotonic()
    while True:
        time.sleep(JANITOR_SECONDS)
        try:
            if _SLOTS.running:
                continue
            due = _SLOTS.left != seen or time.monotonic() - last >= COLLECT_EVERY
            if release_memory(collect=due) or due:
                seen, last = _SLOTS.left, time.monotonic()
        except Exception:  # noqa: BLE001 — a janitor must never die
            log.exception("janitor")
