"""Lesson 3: batch normalisation."""

import streamlit as st

from core.i18n import _
from ui import nav  # light: no torch

nav.ensure_entrypoint("pages/batchnorm.py")  # first: a fresh server's deep link hands over at once

from core.experiments import batchnorm  # noqa: E402
from ui import charts, controls, lesson, nav  # noqa: E402
from ui.page import run_section  # noqa: E402
from ui.results import ChartSpec, accuracy_chart, loss_chart  # noqa: E402

EXP = batchnorm.EXPERIMENT

def charts_for(cfg: batchnorm.Config) -> list[ChartSpec]:
    """The lesson's charts for a run of `cfg` (its last hidden layer is the run's own depth)."""
    last = cfg.depth
    return [
        accuracy_chart(),
        loss_chart(),
        ChartSpec(lambda df: charts.band_over_time(
            df, last, _("Layer {layer} (last hidden): input percentiles 15/50/85").format(layer=last)),
                  ("preact_p15", "preact_p50", "preact_p85")),
        ChartSpec(lambda df: charts.per_layer(df, "preact_p50", _("Median activation input per layer"), _("median")),
                  ("preact_p50",)),
        ChartSpec(lambda df: charts.per_layer(df, "running_mean_err", _("Running mean error (in feature stds)"),
                                              _("error")), ("running_mean_err",)),
        ChartSpec(lambda df: charts.per_layer(df, "running_var_err", _("Running variance error (relative)"),
                                              _("error")), ("running_var_err",)),
        ChartSpec(lambda df: charts.mode_gap(batchnorm.mode_rows(df)), batchnorm.MODE_METRICS),
    ]

st.title(_("Batch normalization"))
lesson.lead(EXP.name)
cfg = controls.config_controls(EXP)
run_section(EXP, cfg, charts_for, help=_("Train every variant, step by step."))
lesson.folded(EXP.name, "charts", _("What the charts show"))
lesson.show(EXP.name, "modes")
