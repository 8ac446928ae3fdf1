"""Lesson 3: batch normalisation."""

import pandas as pd
import streamlit as st

from core.experiments import batchnorm
from ui import charts, controls, lesson, live, nav

nav.ensure_entrypoint("pages/batchnorm.py")

PREFIX = "batchnorm"

st.title("Batch normalization")
lesson.show(PREFIX)

cfg = controls.config_controls(
    batchnorm.Config, batchnorm.PRESETS, PREFIX,
    fields=["variants", "lr_multipliers", "batch_sizes", "dataset", "depth", "width", "activation", "init",
            "optimizer", "lr", "steps", "bn_momentum", "seed"])
lesson.show(PREFIX, "charts")


def gap_frame(result: live.RunResult) -> pd.DataFrame:
    return pd.DataFrame(result.extra.get("mode_gap", []), columns=["run", "mode", "batch_size", "accuracy"])


last = cfg.depth if cfg else batchnorm.Config().depth
CHARTS = [
    live.ChartSpec(lambda df: charts.curves(df, ("val_accuracy",), "Validation accuracy", "accuracy", color="run"),
                   ("val_accuracy", "diverged")),
    live.ChartSpec(lambda df: charts.curves(df, ("loss", "val_loss"), "Loss (solid: train, dashed: validation)",
                                            "cross-entropy", color="run"), ("loss", "val_loss", "diverged")),
    live.ChartSpec(lambda df: charts.band_over_time(
        df, last, f"Layer {last} (last hidden): input percentiles 15/50/85"),
        ("preact_p15", "preact_p50", "preact_p85")),
    live.ChartSpec(lambda df: charts.per_layer(df, "preact_p50", "Median activation input per layer", "median"),
                   ("preact_p50",)),
    live.ChartSpec(lambda df: charts.per_layer(df, "running_mean_err", "Running mean error (in feature stds)",
                                               "error"), ("running_mean_err",)),
    live.ChartSpec(lambda df: charts.per_layer(df, "running_var_err", "Running variance error (relative)",
                                               "error"), ("running_var_err",)),
    live.ChartSpec(charts.mode_gap, data=gap_frame),
]

if st.button("Train", type="primary", disabled=cfg is None, help="Train every variant, step by step."):
    notes: list[str] = []
    extra: dict = {}
    live.train_live(PREFIX, cfg, batchnorm.run(cfg, notes, extra), CHARTS, cfg.steps, notes, extra=extra)
live.show_result(PREFIX, CHARTS, f"{PREFIX}.csv")
lesson.show(PREFIX, "modes")
