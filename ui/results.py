"""Result display: a run's records kept in the session, and its charts drawn from its own config."""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import pandas as pd
import streamlit as st

from core.config import format_value, to_strings
from core.experiment import Experiment
from core.export import NotExportable, exportable, script
from core.history import overlay_frame
from core.i18n import N_, _, language
from core.records import NON_FINITE, KeptRecords, csv_bytes, reason_text
from core.seeds import RANK_METRIC, band, median_seeds, member, seeds_of

from . import charts, display, history, vega
from .buffers import LiveBuffers, final_buffers
from .charts import step_axis
from .flight import MAX_KEPT_RECORDS
from .once import once
from .safe import plain


@dataclass
class RunResult:
    """What a run left behind: the config that made it, every record, and its status."""

    experiment: str
    config: object
    records: KeptRecords = field(default_factory=lambda: KeptRecords(MAX_KEPT_RECORDS))
    status: str = "running"  # running | finished | stopped | diverged | unavailable
    seconds: float = 0.0
    message: str = ""  # why an unavailable run could not start
    verdicts: list | None = None  # the claims checked on this run, once (the records no longer change)
    entry_id: int | None = None  # its place in the session's run history (ui.history)
    seeds: tuple[int, ...] = ()  # the seeds it trained on, when more than one (Experiment.over_seeds)
    shared_at: float | None = None  # when the identical run it shows finished on this server (core.runstore)
    joined_at: float | None = None  # seconds after the identical run in flight started that it joined (ui.flight)

    @property
    def last_step(self) -> int:
        return max((r.step for r in self.records), default=0)

    @property
    def runs(self) -> list[str]:
        """The runs this result holds, in order (experiment-wide note records aside)."""
        return list(dict.fromkeys(r.run for r in self.records if r.run))

    @property
    def divergence_reasons(self) -> list[str]:
        """Why runs diverged, in words (core.records.REASONS), each once."""
        codes = dict.fromkeys(r.value for r in self.records if r.metric == "diverged_reason")
        return [reason_text(c) for c in codes] or [reason_text(NON_FINITE)]

    @property
    def diverged_runs(self) -> list[str]:
        return list(dict.fromkeys(r.run for r in self.records if r.metric == "diverged"))


@dataclass(frozen=True)
class ChartSpec:
    """One chart: a builder from charts.py over the frame of `metrics` (with the run fields as columns)."""

    build: Callable[[pd.DataFrame], object]
    metrics: tuple[str, ...]
    overlay: bool = False  # a curve against step: runs of the history are drawn together in it
    steps: Callable[[object], int] | None = None  # config -> where its step axis ends (default: experiment.steps)
    # it draws something from one step's records (a picture of the network, not a curve): a live run draws it from
    # its first step on, ahead of the curves, which need two
    at_start: bool = False

    @classmethod
    def curve(cls, build: Callable[[pd.DataFrame], object], metrics: tuple[str, ...],
              steps: Callable[[object], int] | None = None) -> ChartSpec:
        """A chart built with charts.curves, which draws overlaid runs one colour each."""
        return cls(build, metrics, overlay=True, steps=steps)


ChartsFor = Callable[[object], list[ChartSpec]]  # a config -> the charts that draw its run


def _every(df: pd.DataFrame) -> pd.DataFrame:
    return df


def loss_chart(select: Callable[[pd.DataFrame], pd.DataFrame] = _every, y: str = N_("cross-entropy")) -> ChartSpec:
    """Train (solid) and validation (dashed) loss against step, a colour per run: every page's loss chart.
    `select` picks the runs it draws; `y` names the loss."""
    return ChartSpec.curve(lambda df: charts.curves(select(df), ("loss", "val_loss"),
                                                    _("Loss (solid: train, dashed: validation)"), _(y)),
                           ("loss", "val_loss", "diverged"))


def accuracy_chart(train: bool = False, select: Callable[[pd.DataFrame], pd.DataFrame] = _every) -> ChartSpec:
    """Validation accuracy against step, a colour per run (with `train`, the training accuracy solid beside it):
    every page's accuracy chart."""
    metrics = ("accuracy", "val_accuracy") if train else ("val_accuracy",)
    title = N_("Accuracy (solid: train, dashed: validation)") if train else N_("Validation accuracy")
    return ChartSpec.curve(lambda df: charts.curves(select(df), metrics, _(title), _("accuracy")),
                           (*metrics, "diverged"))


@dataclass
class RunView:
    """Where a run shows itself, made once per script run at the same place: live and finished alike,
    so the placeholders that drew the live run draw its final state too (nothing removed and redrawn)."""

    status: object  # st.empty: the queue place while waiting, the dataset notes after
    row: object  # st.empty: the progress bar and Stop while training, the outcome after
    charts: list  # one st.empty per chart
    columns: int = 2


def run_view(n: int, columns: int = 2) -> RunView:
    return RunView(st.empty(), st.empty(), chart_grid(n, columns), columns)


def chart_grid(n: int, columns: int = 2) -> list:
    """Empty placeholders for n charts, laid out in rows of `columns`."""
    placeholders = []
    for start in range(0, n, columns):
        cols = st.columns(columns)
        placeholders += [cols[i].empty() for i in range(min(columns, n - start))]
    return placeholders


def fixed_renderer(chart):
    """The chart with its renderer named (SVG unless it names one): Streamlit picks canvas by itself once a
    chart holds over 2,000 points (`perDatum > 2e3` in its ArrowVegaLiteChart bundle), and a switch between two
    redraws rebuilds the chart instead of updating its data."""
    import altair as alt

    if chart.usermeta is alt.Undefined:
        return chart.properties(usermeta={"embedOptions": {"renderer": "svg"}})
    return chart


def draw(placeholders: list, charts: list[ChartSpec], buffers: LiveBuffers, experiment: Experiment, cfg) -> None:
    """Redraw every chart from the buffers; the specs stay fixed, only the data changes (the step axes
    span the run's planned steps from the first redraw to the last). A chart whose spec is kept from an
    earlier redraw gets only its new data (ui.vega.templated)."""
    send(placeholders, chart_specs(charts, buffers, experiment, cfg))


def chart_specs(charts: list[ChartSpec], buffers: LiveBuffers, experiment: Experiment, cfg) -> list[dict]:
    """The Vega-Lite spec of each chart drawn from the buffers, as `draw` sends them."""
    seeded = bool(seeds_of(run for run, _metric, _layer in buffers.series))
    chosen = median_seeds(buffers.frame((RANK_METRIC,))) if seeded else {}
    outs = []
    for spec in charts:
        with step_axis((spec.steps or experiment.steps)(cfg)), display.chosen(), vega.filling():
            chart = spec.build(experiment.runs.annotate(seeds_frame(buffers.frame(spec.metrics), spec, chosen)))
            out = chart if isinstance(chart, dict) else vega.finish(vega.spec(fixed_renderer(chart)))
        if seeded and not spec.overlay:
            out = {**out, "title": _subtitled(out.get("title", ""), median_note(chosen))}
        outs.append(out)
    return outs


def send(placeholders: list, outs: list[dict], shared: bool = False) -> None:
    """Each spec to its placeholder; `shared` specs (ui.once: other viewers send them too) as copies, since
    Streamlit edits a spec as it sends it."""
    for ph, out in zip(placeholders, outs, strict=True):
        ph.vega_lite_chart(copy.deepcopy(out) if shared else out, width=fit(out))


def fit(chart) -> str:
    """How wide a chart is drawn: at its own width where it sets one in pixels (a square plane), else the column's."""
    width = chart.get("width") if isinstance(chart, dict) else getattr(chart, "width", None)
    return "content" if isinstance(width, int) else "stretch"


def final_specs(charts: list[ChartSpec], result: RunResult, experiment: Experiment) -> list[dict]:
    """The finished run's charts at full resolution: made once for every viewer of the same records, language
    and chart options (ui.once)."""
    key = ("charts", language(), display.settings(), tuple((c.metrics, c.overlay) for c in charts))
    return once(result.records, key,
                lambda: chart_specs(charts, final_buffers(result.records), experiment, result.config))


def seeds_frame(frame: pd.DataFrame, spec: ChartSpec, chosen: dict[str, int]) -> pd.DataFrame:
    """A chart's frame of a run on several seeds: a curve chart gets the seeds' mean and range (core.seeds.band),
    another chart the median member of each network (`chosen`, core.seeds.median_seeds). Unchanged on one seed."""
    if spec.overlay:
        return band(frame)
    return member(frame, chosen) if chosen else frame


def median_note(chosen: dict[str, int]) -> list[str]:
    """The subtitle of a chart drawn from each network's median seed: which seed that is, three networks a line."""
    named = [_("{run}: seed {seed}").format(run=run, seed=seed) if run else _("seed {seed}").format(seed=seed)
             for run, seed in chosen.items()]
    lines = [" · ".join(named[i:i + 3]) for i in range(0, len(named), 3)]
    return [_("the median seed by final training loss"), *lines]


def _subtitled(title, subtitle: list[str]) -> dict:
    """A Vega-Lite title (a string or a title object) with `subtitle` lines under it."""
    return {**(title if isinstance(title, dict) else {"text": title}), "subtitle": subtitle}


def draw_overlay(placeholders: list, charts: list[ChartSpec], entries: list, experiment: Experiment) -> None:
    """Several runs of the history, a full-width row per chart: together in each curve (one colour per run,
    the same on every chart), side by side in the other charts (per layer), two runs to a row so that a
    faceted per-layer chart keeps a normal chart's width."""
    for ph, spec in zip(placeholders, charts, strict=True):
        if spec.overlay:
            with display.chosen():
                chart = spec.build(experiment.runs.annotate(overlay_frame(entries, spec.metrics)))
            ph.altair_chart(chart, width="stretch")
            continue
        with ph.container():
            for start in range(0, len(entries), 2):
                for col, entry in zip(st.columns(2), entries[start:start + 2], strict=False):
                    chosen = median_seeds(entry.frame)  # a run on several seeds: each network's median seed
                    note = median_note(chosen)
                    col.caption(plain(f"{entry.label} — {note[0]}: {' · '.join(note[1:])}" if chosen else entry.label))
                    frame = entry.frame[entry.frame["metric"].isin(spec.metrics)]
                    chart = spec.build(experiment.runs.annotate(seeds_frame(frame, spec, chosen)))
                    col.altair_chart(chart, width=fit(chart))


def _script_or_none(experiment: Experiment, cfg) -> str | None:
    try:
        return script(experiment, cfg)
    except NotExportable:  # e.g. transfer on a dataset not downloaded yet
        return None


def ago_text(when: float) -> str:
    """How long ago `when` (a time.time()) was, in seconds below 90 s, in minutes after."""
    ago = max(0.0, time.time() - when)
    return _("{seconds:.0f} s").format(seconds=ago) if ago < 90 else _("{minutes:.0f} min").format(minutes=ago / 60)


def joined_text(started: float) -> str:
    """What a viewer who joined an identical run in flight (ui.flight) is told."""
    return _("Joined a run of the same settings and seed that started on this server {ago} ago: it trains once for "
             "everyone who asked, and runs are reproducible to the bit.").format(ago=ago_text(started))


def shared_note(experiment: Experiment, result: RunResult) -> None:
    """Under a run this server had trained already, or one this view joined in flight: that it is that run,
    and a button to train it anyway."""
    note, again = st.columns([4, 1], vertical_alignment="center")
    if result.shared_at is not None:
        note.info(_("The same settings and seed as a run trained on this server {ago} ago: runs are reproducible to "
                    "the bit, so this is that run, shown at once.").format(ago=ago_text(result.shared_at)))
    else:
        note.info(_("You joined this run {after} after another visitor started it: it trained once for everyone "
                    "who asked, and runs are reproducible to the bit.").format(
            after=_("{seconds:.0f} s").format(seconds=result.joined_at)))
    again.button(_("Train afresh"), key=f"{experiment.name}.afresh", width="stretch",
                 help=_("Train these settings again and watch the charts live; the records will be the same."))


def describe(cfg) -> str:
    """A one-line summary of the settings off their defaults, for captions."""
    changed = to_strings(cfg, only_changed=True)
    return " · ".join(f"{k}={format_value(v)}" for k, v in changed.items()) or _("the defaults")


def show_result(experiment: Experiment, charts_for: ChartsFor, csv_name: str | None = None,
                view: RunView | None = None) -> RunResult | None:
    """Redraw the session's last run of `experiment` (finished or stopped) with its status, the
    settings that made it, and a CSV download; charts come from the run's own config. `view`: the
    live run's placeholders, just finished, which then show the final state in place."""
    result: RunResult | None = st.session_state.get(experiment.name)
    if result is None:
        return None
    if result.status == "running":  # interrupted before its `finally` could say so
        result.status = "stopped"
    charts = charts_for(result.config)
    history.take_upload(experiment)
    overlaid = history.chosen(experiment, result.entry_id) if result.status != "unavailable" else []
    columns = 1 if overlaid else 2
    if view is None or len(view.charts) != len(charts) or view.columns != columns:
        if view is not None:  # the live layout does not fit (an overlay was chosen): start afresh below
            for ph in (view.status, view.row, *view.charts):
                ph.empty()
        view = run_view(len(charts), columns)
    if result.status == "unavailable":
        view.row.info(plain(result.message))
        for ph in view.charts:
            ph.empty()
        return result
    with view.status.container():
        for note in experiment.notes(result.records, result.config):
            st.warning(plain(note))
    message = {
        "finished": _("Finished {step:,} steps in {seconds:.1f} s."),
        "stopped": _("Stopped at step {step:,}; the curves below are what it recorded. {message}"),
        "diverged": _("The run diverged at step {step:,} ({reasons}); the red rule marks it. That is a result, not "
                      "an error."),
    }[result.status].format(step=result.last_step, seconds=result.seconds, message=result.message,
                            reasons="; ".join(result.divergence_reasons))
    with view.row.container():
        (st.error if result.status == "diverged" else st.success if result.status == "finished" else st.info)(message)
        if result.status != "diverged" and (gone := result.diverged_runs):
            st.warning(_("{count} of {total} runs diverged (the red rule marks each; {reasons}): {runs}. That is a "
                         "result, not an error.").format(count=len(gone), total=len(result.runs),
                                                         reasons="; ".join(result.divergence_reasons),
                                                         runs=", ".join(gone)))
        st.caption(_("Settings of this run: {settings}").format(settings=describe(result.config)))
        if result.shared_at is not None or result.joined_at is not None:
            shared_note(experiment, result)
    if overlaid:
        draw_overlay(view.charts, charts, overlaid, experiment)
    else:
        send(view.charts, final_specs(charts, result, experiment), shared=True)
    left, right = st.columns(2)
    data = once(result.records, "csv", lambda: csv_bytes(result.records))
    left.download_button(_("Download CSV"), data, file_name=csv_name or f"{experiment.name}.csv",
                         mime="text/csv", key=f"{experiment.name}.download",
                         help=_("Every record of this run: run, step, metric, layer, value — the same CSV as "
                                "`python -m core run {experiment}` with these settings.").format(
                             experiment=experiment.name))
    if exportable(experiment) and (code := _script_or_none(experiment, result.config)) is not None:
        right.download_button(
            _("Export as PyTorch script"), code, file_name=f"{experiment.name}_run.py",
            mime="text/x-python", key=f"{experiment.name}.export",
            help=_("One standalone .py file that needs only torch (and scikit-learn or torchvision for the data): "
                 "the same data split, networks, initialisation, optimizer, schedule, clipping and seed. It trains "
                 "and writes the loss per step in the same CSV columns; `--steps N` and `--out FILE.csv` change "
                 "its length and where the CSV goes."))
    history.manage(experiment)
    if result.records.thinned:
        st.caption(_("This run recorded more than {most:,} records, so the page kept every {stride}th step of its "
                     "per-step curves (evaluations and the last step in full). `python -m core run {experiment}` "
                     "with these settings writes every record.").format(most=MAX_KEPT_RECORDS,
                                                                        stride=result.records.stride,
                                                                        experiment=experiment.name))
    return result
