"""The live loop: stream an experiment's Records into its charts, with progress, Stop and a queue.

A rerun (Stop, or any widget change) takes effect at the next Streamlit call, which is the next
redraw; the `finally` block marks the run stopped, keeps what it recorded, and frees its slot.
"""

from __future__ import annotations

import contextlib
import os
import time

import streamlit as st

from core.config import ConfigError
from core.data import DatasetUnavailable, Unavailable, no_downloads
from core.experiment import Experiment
from core.i18n import _
from core.records import KeptRecords
from core.runstore import KEPT_STATUSES, keep, run_key, store

from . import display, history
from .admission import server_slots, start_up, wait_for_slot
from .buffers import LiveBuffers
from .results import MAX_KEPT_RECORDS, ChartSpec, RunResult, RunView, draw, run_view

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
# The longest a visitor's run may hold a training slot (a shared demo server); the CLI has no limit.
MAX_RUN_SECONDS = float(os.environ.get("DNLAB_MAX_RUN_SECONDS", 15 * 60))


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

    With `pace` (seconds per frame) the run is animated: FRAMES redraws spread over its steps,
    with a pause after each (the optimizer surfaces, which compute faster than the eye follows).
    With `seeds` the run trains on each of them (Experiment.over_seeds), drawn as the seeds' mean and range.
    """
    result = RunResult(experiment.name, cfg, seeds=seeds)
    st.session_state[experiment.name] = result  # stored first, so a stopped run keeps what it recorded
    total = max(1, experiment.work(cfg) * max(1, len(seeds)))  # every step of every network: phases, seeds, sweeps
    view = run_view(len(charts))
    status, placeholders = view.status, view.charts
    with view.row.container():
        bar_col, stop_col = st.columns([5, 1], vertical_alignment="center")
        bar = bar_col.progress(0.0, text=_("waiting for a training slot…"))
        stop_col.button(_("Stop"), key=f"{experiment.name}.stop",
                        help=_("Stop this run; what it recorded so far is kept."))
    buffers = LiveBuffers()
    st.session_state[display.RUNNING] = True  # the chart options' fragment then leaves the page to this run
    start_up()  # normally done at server start (ui/server.py); a first visit straight to a page may skip it
    slots, ticket = server_slots(), None
    started = time.perf_counter()
    frame_steps = -(-total // FRAMES)  # at most FRAMES redraws when paced
    done = 0  # training steps taken so far, every network's together (its `loss` records)
    try:
        bar.progress(0.0, text=_("checking the data…"))
        _fetch(experiment, cfg, bar)  # outside any training slot: a slow network holds up no one else
        bar.progress(0.0, text=_("waiting for a training slot…"))  # the data are checked: the queue (if any) now
        ticket = slots.join()
        wait_for_slot(slots, ticket, status)
        started = time.perf_counter()
        last_draw, next_frame, gap = started, 0, 0.0  # drawn as soon as two steps are in
        drawn = cost = 0.0  # seconds spent redrawing so far, and the last redraw's
        last_run, last_step = "", 0
        bar.progress(0.0, text=_("starting…"))
        with no_downloads():  # fetched above; a run never waits on the network inside its slot
            for r in (experiment.over_seeds(cfg, seeds) if seeds else experiment.run(cfg)):
                # Draw between steps, never halfway through one step's probe records; the first time
                # once a second step is in, so that every curve has a line to show (a single point draws
                # nothing, and the next redraw is a redraw's cost away).
                if r.step != buffers.step and buffers.series and (last_draw > started or buffers.step >= 2):
                    now = time.perf_counter()
                    due = done >= next_frame if pace else (
                        now - last_draw >= gap and within_budget(drawn, cost, now - started, done, total))
                    if due:
                        if now - started > MAX_RUN_SECONDS:
                            result.message = _("This server stops a run after {minutes:.0f} minutes so that "
                                               "others can train; `python -m core run` has no limit.").format(
                                minutes=MAX_RUN_SECONDS / 60)
                            break
                        bar.progress(min(1.0, done / total),
                                     text=progress_text(last_run, last_step, done, total, now - started))
                        draw(placeholders, charts, buffers, experiment, cfg)
                        last_draw, next_frame = time.perf_counter(), done + frame_steps
                        cost = last_draw - now
                        drawn += cost
                        # this redraw's cost, the browser's estimated share included, sets the next one's distance
                        gap = redraw_gap(cost, len(charts))
                        if pace:
                            time.sleep(pace)
                if r.metric == "loss":
                    done, last_run, last_step = done + 1, r.run, r.step
                result.records.append(r)
                buffers.add(r)
            else:
                result.status = ("diverged" if result.diverged_runs and result.diverged_runs == result.runs
                                 else "finished")
    except (Unavailable, ConfigError) as exc:  # a download failed, or the fallback data cannot serve
        result.status, result.message = "unavailable", str(exc)
    finally:
        result.seconds = time.perf_counter() - started
        if result.status == "running":
            result.status = "stopped"  # a rerun interrupted us at a redraw, or the time limit
        if ticket is not None:
            slots.leave(ticket)  # first: nothing below may keep the slot from others (a closed tab's state can fail)
        with contextlib.suppress(Exception):
            st.session_state.pop(display.RUNNING, None)
        history.remember(experiment, result)  # finished, stopped or diverged: it joins the session's history
        # a complete run on the data it asked for is kept for an identical Train (core.runstore)
        if result.status in KEPT_STATUSES and not experiment.notes(result.records, cfg):
            keep(run_key(experiment, cfg, seeds), result.records, result.status, result.seconds, result.records.stride)
    return view  # show_result draws the finished run in full, in the same placeholders


def shared_run(experiment: Experiment, cfg, seeds: tuple[int, ...] = ()) -> RunResult | None:
    """The finished run of the same experiment, config and seeds that this server already trained
    (core.runstore), as this session's result and in its history; None if there is none."""
    key = run_key(experiment, cfg, seeds)
    found = store().get(key) if key is not None else None
    if found is None:
        return None
    result = RunResult(experiment.name, cfg, KeptRecords.holding(found.records, MAX_KEPT_RECORDS, found.thinned_stride),
                       found.status, found.seconds, seeds=seeds, shared_at=found.when)
    st.session_state[experiment.name] = result
    history.remember(experiment, result)
    return result
