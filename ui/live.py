"""The live view: a run's Records drawn into its charts as it trains, with progress, Stop and its queue place.

The training itself is a Flight (ui.flight), which identical Trains share. A rerun (Stop, or any widget
change) takes effect at this view's next Streamlit call (a redraw, or a progress update at least every
STOP_CHECK seconds); the `finally` block leaves the flight and keeps what this view saw as its result.
"""

from __future__ import annotations

import contextlib
import time

import streamlit as st

from core.cache import BoundedCache
from core.config import ConfigError
from core.data import DatasetUnavailable, Unavailable
from core.experiment import Experiment
from core.i18n import _, language
from core.records import KeptRecords
from core.runstore import run_key, store

from . import display, events, history
from .admission import server_slots, start_up
from .flight import MAX_KEPT_RECORDS, Flight, board, leave
from .results import ChartSpec, RunResult, RunView, chart_specs, joined_text, run_view, send

REDRAW_SECONDS = 0.25  # download progress: at most four updates a second
DRAW_SHARE = 0.15  # a live run spends at most this share of its wall time redrawing its charts
MIN_GAP = 0.05  # and never redraws more often than 20 times a second
# The browser's share of a redraw, which the server cannot time: Vega updating one chart cost headless
# Chromium about 20 ms of its main thread on this project's 2-core machine (long tasks during a vanishing
# run: 630-930 ms over 6-7 redraws of 6 charts), three times the server's own cost of a redraw from kept
# templates. On one machine, as `streamlit run app.py` locally, the two draw on the same CPUs.
BROWSER_SECONDS_PER_CHART = 0.02


def redraw_gap(draw_seconds: float, charts: int = 0) -> float:
    """Seconds of training between two redraws, so that drawing (which took `draw_seconds` last
    time, on the server) is at most DRAW_SHARE of the wall time: gap / (gap + draw) >= 1 − DRAW_SHARE; with
    `charts`, the draw counts the browser's estimated share too (BROWSER_SECONDS_PER_CHART each)."""
    draw_seconds += BROWSER_SECONDS_PER_CHART * charts
    return max(MIN_GAP, draw_seconds * (1 - DRAW_SHARE) / DRAW_SHARE)


def within_budget(drawn: float, cost: float, elapsed: float, done: int, total: int) -> bool:
    """Whether one more redraw (costing about `cost`, as the last did) keeps the run's drawing, `drawn`
    seconds so far, within DRAW_SHARE of the run's whole wall time. That is projected from the pace of
    its training so far (`elapsed` wall seconds, drawing included, for `done` of `total` steps). The gap
    alone keeps each stretch of the run within the share, but not a short run as a whole: there the first
    redraw (always drawn, for the first point) has spent the budget already, and a second one just before
    the end, which the final state replaces at once, would spend it again (tests/test_live.py simulates a
    run of under a second)."""
    if drawn <= 0 or done <= 0:
        return True
    training = max(0.0, elapsed - drawn) * total / done
    return drawn + cost <= DRAW_SHARE * (training + drawn + cost)


FRAMES = 40  # redraws of a paced (animated) run
SHARE_SECONDS = 0.25  # a viewer draws the live charts another viewer of the same run made at most this long ago
STOP_CHECK = 0.5  # a live view touches its page at least this often, so that a Stop (a rerun) is noticed


def _fetch(experiment: Experiment, cfg, bar) -> None:
    """Download what the run needs before it queues for a slot, with the bytes in the progress bar;
    a Stop takes effect at the next bar update, and the half-downloaded file is removed."""
    shown = [0.0]

    def progress(what: str, done: int, total: int | None) -> None:
        if time.perf_counter() - shown[0] >= REDRAW_SECONDS:
            shown[0] = time.perf_counter()
            text = (_("downloading {what}: {done:.1f} MB of {total:.1f} MB") if total else
                    _("downloading {what}: {done:.1f} MB")).format(what=what, done=done / 1e6, total=(total or 0) / 1e6)
            bar.progress(min(1.0, done / total) if total else 0.0, text=text)

    # a dataset that cannot be had: the run falls back to the bundled digits and says so, as the CLI does
    with contextlib.suppress(DatasetUnavailable):
        experiment.prefetch(cfg, progress)


def charts_to_draw(charts: list[ChartSpec], published: int, first: bool) -> list[int]:
    """Which charts a redraw draws once `published` steps are in. A run's `first` redraw: the charts drawn from one
    step's records (ChartSpec.at_start) on their own, as soon as the first step is in, so that the browser draws
    them before it has the curves. Every chart once two steps are in (a single point draws no line); a viewer
    who joined a run in flight draws the records so far all at once (not `first`)."""
    if first and published and (starting := [i for i, c in enumerate(charts) if c.at_start]):
        return starting
    return list(range(len(charts))) if published >= 2 else []


def progress_text(run: str, step: int, done: int, total: int, elapsed: float) -> str:
    """The bar's words: the network training now (its run name names the phase: model_a, scratch/s2,
    adam@lr0.01 in a sweep) at its own step, then the steps done of every network's together."""
    if not done:
        return _("starting…")
    eta = elapsed / done * max(0, total - done)
    return _("{run} · step {step:,} · {done:,} / {total:,} steps in all · {elapsed:.1f} s · ETA {eta:.0f} s").format(
        run=run, step=step, done=done, total=total, elapsed=elapsed, eta=eta)


def train_live(experiment: Experiment, cfg, charts: list[ChartSpec], pace: float = 0.0,
               seeds: tuple[int, ...] = ()) -> RunView:
    """Run `experiment.run(cfg)` with live charts, a progress bar and a Stop button, once a server
    slot is free; keep the result in the session under the experiment's name. Returns the run's
    placeholders, for show_result to draw the finished run in place.

    The training is a Flight (ui.flight): a Train identical to a run in flight joins it, seeing its records
    so far at once and the rest live; Stop ends this view, and the training once no one else watches.
    With `pace` (seconds per frame) the run is animated: FRAMES redraws spread over its steps,
    with a pause after each (the optimizer surfaces, which compute faster than the eye follows).
    With `seeds` the run trains on each of them (Experiment.over_seeds), drawn as the seeds' mean and range.
    """
    clicked = time.perf_counter()  # its place in the training queue is by this moment (Slots.join)
    result = RunResult(experiment.name, cfg, seeds=seeds)
    st.session_state[experiment.name] = result  # stored first, so a stopped run keeps what it recorded
    view = run_view(len(charts))
    with view.row.container():
        bar_col, stop_col = st.columns([5, 1], vertical_alignment="center")
        bar = bar_col.progress(0.0, text=_("waiting for a training slot…"))
        stop_col.button(_("Stop"), key=f"{experiment.name}.stop",
                        help=_("Stop this run; what it recorded so far is kept."))
    st.session_state[display.RUNNING] = True  # the chart options' fragment then leaves the page to this run
    start_up()  # normally done at server start (ui/server.py); a first visit straight to a page may skip it
    flight = None
    try:
        bar.progress(0.0, text=_("checking the data…"))
        _fetch(experiment, cfg, bar)  # outside any training slot: a slow network holds up no one else
        bar.progress(0.0, text=_("waiting for a training slot…"))  # the data are checked: the queue (if any) now
        flight, joined = board(run_key(experiment, cfg, seeds), experiment, cfg, seeds, server_slots(), pace, FRAMES,
                               pressed=clicked)
        if joined:
            result.joined_at = max(0.0, time.time() - flight.created)
        _watch(flight, view, bar, charts, experiment, cfg, joined)
    except (Unavailable, ConfigError) as exc:  # a download failed, or the fallback data cannot serve
        result.status, result.message = "unavailable", str(exc)
    finally:
        if flight is not None:
            leave(flight)  # first: the last viewer out stops the training and frees its slot
            result.records = flight.records_so_far()
            result.seconds = flight.seconds if flight.ended else time.perf_counter() - (flight.started or clicked)
            if flight.state in ("finished", "diverged", "unavailable"):
                result.status = flight.state
            result.message = result.message or flight.message
        if result.status == "running":
            result.status = "stopped"  # this view was left (Stop, a rerun), or the time limit stopped the run
        with contextlib.suppress(Exception):  # a closed tab's state can fail
            st.session_state.pop(display.RUNNING, None)
        history.remember(experiment, result)  # finished, stopped or diverged: it joins the session's history
    return view  # show_result draws the finished run in full, in the same placeholders


def _watch(flight: Flight, view: RunView, bar, charts: list[ChartSpec], experiment: Experiment, cfg,
           joined: bool) -> None:
    """Draw `flight` live until it ends: its queue place while it waits, then its charts within the redraw
    budget (a paced run: at each of its frames); raise what the training raised."""
    status, placeholders = view.status, view.charts
    last_draw = last_touch = 0.0
    gap = drawn_s = cost = 0.0  # seconds between redraws; spent redrawing so far; the last redraw's cost
    seen_frame, waited, wait = -1, False, 0.0
    while True:
        with flight.changed:
            if wait > 0:
                flight.changed.wait(wait)
            state, place, frame, published = flight.state, flight.place, flight.frame, flight.published
        if state == "failed":
            raise flight.error
        if state != "queued" and state != "running":
            return
        now = time.perf_counter()
        if state == "queued":
            if place:
                status.info(_("Queued: place {place} — {running} trainings already run on this server. Yours starts "
                              "when one finishes.").format(place=place, running=flight.slots.n))
                waited = True
            wait = 0.3
            continue
        events.mark("started", experiment.name, flight.started_at)
        if waited or (joined and last_draw == 0.0 and last_touch == 0.0):
            if joined:
                status.info(joined_text(flight.created))
            elif waited:
                status.empty()
            waited = False
        drawn = charts_to_draw(charts, published, first=not joined and not last_draw)
        if drawn:
            with flight.changed:
                done, run, step = flight.done, flight.last_run, flight.last_step
            elapsed = now - flight.started
            # the viewers of one run share its redraw budget: each one's drawing counts as many times as it has viewers
            viewers = max(1, flight.viewers)
            due = frame != seen_frame if flight.pace else (now - last_draw >= gap and within_budget(
                drawn_s * viewers, cost * viewers, elapsed, done, flight.total))
            if due:
                bar.progress(min(1.0, done / flight.total), text=progress_text(run, step, done, flight.total, elapsed))
                # the charts another viewer of this run made a moment ago are this one's too (same records, language
                # and chart options); else this viewer makes them, for the others
                now_drawn = [charts[i] for i in drawn]
                key = (language(), display.settings(), tuple((c.metrics, c.overlay) for c in now_drawn), frame)
                targets = [placeholders[i] for i in drawn]
                if (specs := flight.recent_specs(key, SHARE_SECONDS)) is not None:
                    send(targets, specs, shared=True)
                else:
                    specs = chart_specs(now_drawn, flight.snapshot()[0], experiment, cfg)
                    flight.keep_specs(key, specs)
                    send(targets, specs, shared=viewers > 1)
                events.mark("first", experiment.name)
                last_draw = last_touch = time.perf_counter()
                cost = last_draw - now
                drawn_s += cost
                # this redraw's cost (the browser's share included, and as often as the run has viewers) sets the next
                gap = redraw_gap(cost * viewers, len(drawn))
                seen_frame = frame
            elif now - last_touch >= STOP_CHECK:
                bar.progress(min(1.0, done / flight.total), text=progress_text(run, step, done, flight.total, elapsed))
                last_touch = now
        elif now - last_touch >= STOP_CHECK:
            bar.progress(0.0, text=_("starting…"))
            last_touch = now
        if flight.pace:
            wait = STOP_CHECK  # the flight wakes its viewers at each frame
        elif published < 2:
            wait = 0.02
        else:
            wait = min(STOP_CHECK, max(0.01, gap - (time.perf_counter() - last_draw)))


def shared_run(experiment: Experiment, cfg, seeds: tuple[int, ...] = ()) -> RunResult | None:
    """The finished run of the same experiment, config and seeds that this server already trained
    (core.runstore), as this session's result and in its history; None if there is none."""
    key = run_key(experiment, cfg, seeds)
    found = store().get(key) if key is not None else None
    if found is None:
        return None
    # decoded once for all who ask soon after (a class pressing Train together): they share one records object,
    # so its charts, CSV and claims are made once too (ui.once)
    records = _decoded.get_or_make((key, found.when), lambda: KeptRecords.holding(
        found.records, MAX_KEPT_RECORDS, found.thinned_stride), lambda kept: 130 * len(kept) + 1024)
    result = RunResult(experiment.name, cfg, records, found.status, found.seconds, seeds=seeds, shared_at=found.when)
    st.session_state[experiment.name] = result
    history.remember(experiment, result)
    return result


_decoded = BoundedCache(max_items=4, max_bytes=64 << 20)  # runs shared from the store, decoded
