"""Page building blocks shared by every lesson: Train and result for one experiment, and the
generic page that a lesson without a page file of its own gets."""

from __future__ import annotations

import streamlit as st

from core.experiment import Experiment, Lesson
from core.experiments import lesson_of
from core.i18n import N_, _

from . import claims, events
from . import lesson as prose
from .controls import config_controls, seeds_control, seeds_for
from .live import shared_run, train_live
from .results import ChartsFor, RunResult, accuracy_chart, loss_chart, show_result


def run_section(experiment: Experiment, cfg, charts_for: ChartsFor, *, label: str | None = None,
                help: str | None = None, pace: float = 0.0) -> RunResult | None:
    """What to look for, the Train button, the live run it starts, and the session's last run of
    `experiment` with its claims checked."""
    lesson = lesson_of(experiment).name
    seeds_col = claims_col = None
    if experiment.seeded:  # one row, so that Train stays on the first screen: how many seeds, Train, what to look for
        seeds_col, button, claims_col = st.columns([1.8, 1, 3.2], vertical_alignment="center")
    elif experiment.claims:
        button, claims_col = st.columns([1, 5])
    else:
        button = st.container()
    if claims_col is not None:
        with claims_col:
            claims.what_to_look_for(lesson, experiment)
    view, count = None, seeds_control(experiment, seeds_col) if seeds_col is not None else 1
    afresh = st.session_state.get(f"{experiment.name}.afresh")  # show_result's button under a shared run
    if button.button(label or _("Train"), type="primary", disabled=cfg is None, key=f"{experiment.name}.train",
                     help=help or _("Train with these settings; the charts update as it trains."),
                     width="stretch") or afresh:
        events.mark("train", experiment.name)
        last = st.session_state.get(experiment.name)
        run_cfg, seeds = (last.config, last.seeds) if afresh and last is not None else (cfg, seeds_for(cfg, count))
        if afresh or shared_run(experiment, run_cfg, seeds) is None:
            view = train_live(experiment, run_cfg, charts_for(run_cfg), pace=pace, seeds=seeds)
    result = show_result(experiment, charts_for, view=view)
    if result is not None:
        claims.checked(lesson, experiment, result)
    for event in ("started", "first", "final"):  # a shared run's all at once, when it is drawn
        events.mark(event, experiment.name)
    return result


def default_charts(experiment: Experiment) -> ChartsFor:
    """Loss and accuracy against step, for whichever of them the experiment records (the loss named as such: a
    lesson of its own may not use cross-entropy)."""
    recorded = set(experiment.metrics)
    specs = ([loss_chart(y=N_("loss"))] if recorded & {"loss", "val_loss"} else []) + \
        ([accuracy_chart(train=True)] if recorded & {"accuracy", "val_accuracy"} else [])
    return lambda cfg: specs


def render_lesson(lesson: Lesson) -> None:
    """A lesson's page from its declaration alone: prose if it has any, then each experiment."""
    st.title(_(lesson.title))
    if lesson.prose("en").exists():
        prose.show(lesson.name)
    else:
        st.write(_(lesson.summary))
    for experiment in lesson.experiments:
        if len(lesson.experiments) > 1:
            st.header(_(experiment.title))
        cfg = config_controls(experiment, lesson.namespace(experiment))
        run_section(experiment, cfg, default_charts(experiment))
