"""Lesson 5: fast optimizers — on 2-D loss surfaces, then on a real network."""

import numpy as np
import pandas as pd
import streamlit as st

from core.i18n import DEFAULT, N_, _, language
from ui import nav  # light: no torch

nav.ensure_entrypoint("pages/optimizers.py")  # first: a fresh server's deep link hands over at once

from core.config import format_value, specs  # noqa: E402
from core.experiments import optimizers  # noqa: E402
from core.records import to_frame  # noqa: E402
from ui import charts, claims, controls, lesson, nav, surface  # noqa: E402
from ui.live import train_live  # noqa: E402
from ui.page import run_section  # noqa: E402
from ui.results import ChartSpec, accuracy_chart, loss_chart, show_result  # noqa: E402

SURF, NET, RANGE = optimizers.SURFACE_EXPERIMENT, optimizers.NET_EXPERIMENT, optimizers.RANGE_EXPERIMENT
LESSON = optimizers.LESSON
SPEEDS = {"slow": 0.25, "normal": 0.1, "fast": 0.03, "instant": 0.0}
SPEED_NAMES = {"slow": N_("slow"), "normal": N_("normal"), "fast": N_("fast"), "instant": N_("instant")}

st.title(_("Fast optimizers"))
lesson.lead(LESSON.name)
surfaces_tab, net_tab = st.tabs([_("2-D loss surfaces"), _("Real network")])

def surface_map(cfg: optimizers.Config, paths: pd.DataFrame, live: bool = False) -> object:
    return surface.surface_chart(cfg.surface, paths, live)

def speed_key() -> str:
    """A slider per language (its options are words in that language)."""
    return f"{SURF.name}.speed" + ("" if language() == DEFAULT else f".{language()}")


@st.fragment
def speed_control() -> None:
    """The animation speed reruns on its own: moving it never stops a run (a fragment's rerun does
    not preempt the page's); the next Train reads it."""
    st.select_slider(_("Animation speed"), [_(SPEED_NAMES[k]) for k in SPEEDS], value=_("normal"), key=speed_key(),
                     help=_("How fast the paths are drawn; the computation itself takes well under a second."))


def _set_start() -> None:
    picked = st.session_state[f"{SURF.name}.map"].selection.get("start") or []
    if picked:
        st.session_state[f"{SURF.name}.start"] = f"{picked[0]['x']:.2f},{picked[0]['y']:.2f}"
        st.session_state[f"{SURF.name}.preset"] = _(controls.CUSTOM)

SURFACE_CHARTS = [
    ChartSpec.curve(lambda df: charts.curves(df, ("loss",), _("Loss against step (symmetric log)"), _("loss"),
                                             symlog=True), ("loss", "diverged")),
    ChartSpec(lambda df: charts.curves(optimizers.step_lengths(df), ("step length",),
                                       _("Effective step: distance moved per step"), _("distance"),
                                       log=True), ("x", "y")),
]

with surfaces_tab:
    lesson.lead(LESSON.name, "surfaces", _("More on the surfaces"))
    cfg = controls.config_controls(SURF)
    train_col, speed_col, claims_col = st.columns([1, 2, 3])  # one row: Train on the first screen
    with claims_col:
        claims.what_to_look_for(LESSON.name, SURF)
    with speed_col:
        speed_control()
    speed = {_(SPEED_NAMES[k]): k for k in SPEEDS}.get(st.session_state.get(speed_key()), "normal")
    view = None
    if train_col.button(_("Train"), type="primary", disabled=cfg is None, key=f"{SURF.name}.train", width="stretch",
                        help=_("Run every optimizer from the start point and animate their paths.")):
        frames = [ChartSpec(lambda df: surface_map(cfg, optimizers.paths(df), live=True), ("x", "y", "loss"))]
        view = train_live(SURF, cfg, frames, pace=SPEEDS[speed])
    if cfg is not None:
        result = st.session_state.get(SURF.name)
        shown = result if result is not None and result.config.surface == cfg.surface else None
        paths = optimizers.paths(to_frame(shown.records)) if shown else pd.DataFrame(
            [(n, 0, *cfg.start, float("nan")) for n in cfg.optimizers], columns=["run", "step", "x", "y", "loss"])
        st.caption(_("Click the map to start from that point; red diamonds mark the known minima."))
        st.altair_chart(surface_map(cfg, paths), key=f"{SURF.name}.map", on_select=_set_start,
                        selection_mode="start", width="content")
    shown = show_result(SURF, lambda _cfg: SURFACE_CHARTS, view=view)  # the animation's place: emptied
    if shown is not None and shown.records:
        table = optimizers.final_positions(to_frame(shown.records), shown.config.surface,
                                           {r.run for r in shown.records if r.metric == "diverged"})
        table = table.assign(**{"final loss": table["final loss"].map(lambda v: f"{v:.4g}"),
                                "distance to nearest minimum": table["distance to nearest minimum"].map(
                                    lambda d: "—" if np.isnan(d) else f"{d:.4f}")})
        st.dataframe(table.rename(columns={"optimizer": _("optimizer"), "steps": _("steps"),
                                           "final loss": _("final loss"),
                                           "distance to nearest minimum": _("distance to nearest minimum"),
                                           "diverged": _("diverged")}), hide_index=True)
        claims.checked(LESSON.name, SURF, shown)
    with st.expander(_("What the charts show")):
        lesson.show(LESSON.name, "surface_charts")

def _final(df: pd.DataFrame) -> pd.DataFrame:
    return df[df["phase"] == "final"]

NET_CHARTS = [
    loss_chart(_final),
    accuracy_chart(select=_final),
]
LR_CHART = ChartSpec.curve(lambda df: charts.curves(_final(df), ("lr",), _("Learning rate"), _("learning rate")),
                           ("lr",))
SWEEP_CHART = ChartSpec(lambda df: charts.sweep(optimizers.sweep_scores(df)), ("val_accuracy", "diverged"))


def net_charts(cfg) -> list[ChartSpec]:
    """No empty or flat chart: the learning rate only when a schedule moves it, the sweep only in fair mode."""
    return [*NET_CHARTS, *([LR_CHART] if cfg.schedule != "constant" else []), *([SWEEP_CHART] if cfg.fair else [])]
RANGE_CHARTS = [ChartSpec(charts.loss_vs_lr, ("loss", "lr"))]
SHARED = [f.name for f in specs(optimizers.Network)]  # the LR range test trains the network tab's MLP

with net_tab:
    lesson.lead(LESSON.name, "net", _("More on the real network"))
    ncfg = controls.config_controls(NET, ns=LESSON.namespace(NET))
    result = run_section(NET, ncfg, net_charts,
                         help=_("Train the MLP once per optimizer (after the sweep, in fair mode)."))
    if result is not None:
        chosen = [(r.run, r.value) for r in result.records if r.metric == "chosen_lr"]
        if chosen:
            st.caption(_("Learning rates used: {rates}").format(
                rates=", ".join(f"{n} {format_value(lr)}" for n, lr in chosen)))
    st.subheader(_(RANGE.title))
    source = ncfg if ncfg is not None else optimizers.NetConfig()
    rcfg = controls.config_controls(RANGE, ns=LESSON.namespace(RANGE),
                                    fixed={n: getattr(source, n) for n in SHARED})
    run_section(RANGE, rcfg if ncfg is not None else None, lambda _cfg: RANGE_CHARTS, label=_("LR range test"),
                help=_("Grow the learning rate exponentially while the MLP above trains, and watch the loss."))
    with st.expander(_("How fair mode picks the rates")):
        lesson.show(LESSON.name, "net_charts")
