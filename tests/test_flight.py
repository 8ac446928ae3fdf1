"""Single flight (ui.flight): identical Trains share one training. References: the engine's own run of the
same config (records bit for bit), and counts of how often the experiment's run was called."""

from __future__ import annotations

import threading
import time

import pytest

from core import runstore
from core.experiments import experiments
from ui import flight as fl
from ui.admission import Slots

VANISHING = experiments()["vanishing"]


@pytest.fixture(autouse=True)
def fresh_store():
    old = runstore.use_store(runstore.MemoryStore())
    yield
    runstore.use_store(old)


class Counting:
    """The experiment with its run counted (and optionally slowed per record, so that a second viewer can join)."""

    def __init__(self, exp, delay: float = 0.0):
        self.exp, self.delay, self.calls = exp, delay, 0

    def __getattr__(self, name):
        return getattr(self.exp, name)

    def run(self, cfg):
        self.calls += 1
        for r in self.exp.run(cfg):
            if self.delay:
                time.sleep(self.delay)
            yield r


def _cfg(**changes):
    return VANISHING.configure(None, **{**VANISHING.smoke, **changes})


def _wait(flight, seconds: float = 60.0) -> None:
    flight.thread.join(seconds)
    assert flight.ended, flight.state


def test_a_second_identical_train_joins_the_first_and_both_get_the_engines_records():
    exp, cfg, slots = Counting(VANISHING, delay=0.001), _cfg(), Slots(2)
    key = runstore.run_key(VANISHING, cfg)
    first, joined_first = fl.board(key, exp, cfg, (), slots)
    time.sleep(0.05)
    second, joined_second = fl.board(key, exp, cfg, (), slots)
    assert (joined_first, joined_second) == (False, True) and second is first and first.viewers == 2
    _wait(first)
    assert exp.calls == 1 and first.state == "finished"
    assert list(first.records_so_far()) == list(VANISHING.run(cfg))  # bit for bit the engine's own run
    assert runstore.store().get(key) is not None and fl.in_flight() == 0  # landed in the store, left the flights
    fl.leave(first)
    fl.leave(second)


def test_a_viewer_that_leaves_does_not_stop_the_others_but_the_last_one_does():
    exp, cfg, slots = Counting(VANISHING, delay=0.002), _cfg(steps=400), Slots(2)
    key = runstore.run_key(VANISHING, cfg)
    first, _ = fl.board(key, exp, cfg, (), slots)
    second, _ = fl.board(key, exp, cfg, (), slots)
    time.sleep(0.2)
    fl.leave(first)
    time.sleep(0.2)
    assert not first.cancelled.is_set() and first.state == "running"  # the second viewer still watches
    fl.leave(second)
    _wait(first)
    assert first.state == "stopped" and first.last_step < 400
    assert slots.running == set() and not slots.queue  # its slot is free
    assert runstore.store().get(key) is None  # a stopped run is not kept
    third, joined = fl.board(key, exp, cfg, (), slots)  # a Train after everyone left trains afresh
    assert not joined and third is not first
    fl.leave(third)
    _wait(third)


def test_different_settings_fly_apart_and_queue_for_the_slots():
    exp, slots = Counting(VANISHING, delay=0.001), Slots(1)
    a, b = _cfg(seed=1), _cfg(seed=2)
    fa, _ = fl.board(runstore.run_key(VANISHING, a), exp, a, (), slots)
    fb, joined = fl.board(runstore.run_key(VANISHING, b), exp, b, (), slots)
    assert not joined and fb is not fa
    deadline = time.monotonic() + 10
    while fb.place != 1 and time.monotonic() < deadline:  # one slot: the second waits first in the queue
        time.sleep(0.01)
    assert fb.place == 1 and fb.state == "queued"
    _wait(fa)
    _wait(fb)
    assert exp.calls == 2 and fa.state == fb.state == "finished"
    assert list(fb.records_so_far()) == list(VANISHING.run(b))
    fl.leave(fa)
    fl.leave(fb)


def test_a_run_that_is_never_shared_always_flies_alone():
    exp, cfg, slots = Counting(VANISHING), _cfg(), Slots(2)
    one, _ = fl.board(None, exp, cfg, (), slots)
    two, joined = fl.board(None, exp, cfg, (), slots)
    assert not joined and one is not two
    for f in (one, two):
        _wait(f)
        fl.leave(f)
    assert exp.calls == 2


def test_what_the_training_raises_reaches_the_viewers():
    class Broken(Counting):
        def run(self, cfg):
            yield from ()
            raise RuntimeError("boom")

    cfg, slots = _cfg(seed=7), Slots(2)
    f, _ = fl.board(("broken",), Broken(VANISHING), cfg, (), slots)
    _wait(f)
    assert f.state == "failed" and isinstance(f.error, RuntimeError) and slots.running == set()
    fl.leave(f)


def test_a_joiner_sees_the_records_so_far_at_once():
    exp, cfg, slots = Counting(VANISHING, delay=0.003), _cfg(steps=300), Slots(2)
    key = runstore.run_key(VANISHING, cfg)
    first, _ = fl.board(key, exp, cfg, (), slots)
    while first.published < 20:
        time.sleep(0.01)
    second, joined = fl.board(key, exp, cfg, (), slots)
    buffers, done, _run, step, _elapsed = second.snapshot()
    assert joined and done >= 19 and buffers.step >= 19 and len(second.records_so_far()) > 0
    for _ in range(2):
        fl.leave(first)
    _wait(first)


def test_two_threads_boarding_at_once_train_once():
    exp, cfg, slots = Counting(VANISHING, delay=0.001), _cfg(seed=11), Slots(2)
    key = runstore.run_key(VANISHING, cfg)
    got = []
    threads = [threading.Thread(target=lambda: got.append(fl.board(key, exp, cfg, (), slots))) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    flights = {id(f) for f, _ in got}
    assert len(flights) == 1 and sum(joined for _, joined in got) == 7
    _wait(got[0][0])
    assert exp.calls == 1
    for f, _ in got:
        fl.leave(f)
