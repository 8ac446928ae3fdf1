"""The load and fault test (benchmarks.load), small: a real server, concurrent Chromium sessions
through every lesson with interrupts, and a stalled network. `python -m benchmarks.load` is the
full-size version (10 sessions)."""

import os
import shutil

import pytest

from benchmarks import load

pytestmark = pytest.mark.browser


@pytest.fixture(autouse=True)
def _needs_chromium():
    """As the shared `browser` fixture: fail in CI, skip elsewhere, when Debian's chromium is missing
    (that fixture itself cannot be used: its sync Playwright loop would block benchmarks.load's own)."""
    if not (os.path.exists(load.CHROMIUM) and shutil.which("chromium")):
        if os.environ.get("CI"):
            pytest.fail("CI must run the browser tests: install Debian's chromium package")
        pytest.skip("Debian's chromium is not installed")


def test_concurrent_sessions_with_interrupts_all_finish_and_free_their_memory():
    stats = load.run(sessions=3, interrupts=0.3, settle=25, seed=1, timeout_s=240)
    assert stats["failures"] == [] and stats["exceptions"] == 0
    assert stats["runs_completed"] == stats["runs_expected"] == 3 * len(load.lesson_runs())
    assert stats["runs_interrupted"] > 0  # Stop and closed tabs happened, and the others went on
    assert stats["queue_seen"] >= 1  # three sessions, two slots: someone saw a queue place
    rss = stats["rss_mb"]
    assert rss["peak"] < 2500
    assert rss["after_settle"] - rss["before"] <= 50  # closed sessions freed (15 s TTL + the janitor)


def test_a_stalled_network_costs_its_visitor_at_most_30_s_and_others_nothing(monkeypatch):
    monkeypatch.setenv("DNLAB_DOWNLOAD_TIMEOUT", "8")
    stats = load.run(sessions=3, interrupts=0.0, settle=0, seed=2, timeout_s=240, proxy_stall=True)
    assert stats["failures"] == [] and stats["exceptions"] == 0
    assert stats["runs_completed"] == stats["runs_expected"]  # the others' runs completed
    # what the stall cost: Train until the page gave up on the download (the queue and training after
    # it are any visitor's, and stalled_runs_s reports them)
    waits = stats["stalled_waits_s"]
    assert len(waits) == 2 and None not in waits and 8 <= max(waits) <= 30, waits
    runs = stats["stalled_runs_s"]  # in the same visitor order as the waits
    assert len(runs) == 2 and all(run >= wait for run, wait in zip(runs, waits, strict=True)), (runs, waits)


@pytest.mark.parametrize("distinct", [False, True], ids=["class", "distinct"])
def test_a_class_pressing_train_together_all_finish_without_an_exception(distinct):
    """benchmarks.load --class / --distinct, small: three visitors press Train within a second, on one run (they
    share its training: ui.flight) or on three (they queue for the slots in the order they pressed)."""
    stats = load.run_class(3, distinct_configs=distinct, settle=0, timeout_s=240)
    assert stats["runs_finished"] == 3 and stats["exceptions"] == 0, stats
    assert stats["server_s"]["finished"]["n"] == 3 and stats["lone_s"]["server_finished"] > 0
    assert stats["in_click_order"] is (True if distinct else None)
