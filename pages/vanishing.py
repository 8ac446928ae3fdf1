"""Lesson 1: vanishing and exploding gradients."""

import streamlit as st

from core.experiments import vanishing
from ui import charts, controls, lesson, live, nav

nav.ensure_entrypoint("pages/vanishing.py")

PREFIX = "vanishing"
CHARTS = [
    live.ChartSpec(lambda df: charts.curves(df, ("loss", "val_loss"), "Loss", "cross-entropy"),
                   ("loss", "val_loss", "diverged")),
    live.ChartSpec(lambda df: charts.curves(df, ("accuracy", "val_accuracy"), "Accuracy", "accuracy"),
                   ("accuracy", "val_accuracy", "diverged")),
    live.ChartSpec(charts.heatmap, ("grad_norm",)),
    live.ChartSpec(charts.profile, ("grad_norm",)),
    live.ChartSpec(charts.percentile_bands, ("preact_p15", "preact_p50", "preact_p85")),
    live.ChartSpec(charts.fractions, ("saturated_fraction", "dead_fraction")),
]

st.title("Vanishing & exploding gradients")
lesson.show(PREFIX)
with st.expander("Glorot, He and LeCun initialisation; gradient clipping", expanded=False):
    lesson.show(PREFIX, "inits")

cfg = controls.config_controls(
    vanishing.Config, vanishing.PRESETS, PREFIX,
    fields=["dataset", "depth", "width", "activation", "init", "optimizer", "lr", "batch_size", "steps",
            "clip_norm", "clip_value", "seed", "device"])
lesson.show(PREFIX, "charts")

if st.button("Train", type="primary", disabled=cfg is None, help="Train the network with these settings."):
    notes: list[str] = []
    live.train_live(PREFIX, cfg, vanishing.run(cfg, notes), CHARTS, cfg.steps, notes)
live.show_result(PREFIX, CHARTS, f"{PREFIX}.csv")
