"""Lesson 1: vanishing and exploding gradients."""

import streamlit as st

from core.i18n import _
from ui import nav  # light: no torch

nav.ensure_entrypoint("pages/vanishing.py")  # first: a fresh server's deep link hands over at once

from core.experiments import vanishing  # noqa: E402
from ui import charts, controls, lesson, nav  # noqa: E402
from ui.page import run_section  # noqa: E402
from ui.results import ChartSpec, accuracy_chart, loss_chart  # noqa: E402

EXP = vanishing.EXPERIMENT
CHARTS = [
    loss_chart(),
    accuracy_chart(train=True),
    ChartSpec(charts.heatmap, ("grad_norm",)),
    ChartSpec(charts.profile, ("grad_norm",)),
    ChartSpec(charts.percentile_bands, ("preact_p15", "preact_p50", "preact_p85")),
    ChartSpec(charts.fractions, ("saturated_fraction", "dead_fraction", "inactive_fraction")),
    ChartSpec(lambda df: charts.per_layer(df, "act_mean", _("Mean activation per layer (Glorot & Bengio's Figure 2)"),
                                          _("mean activation"), zero=True), ("act_mean",)),
]
CLIP = ChartSpec.curve(lambda df: charts.curves(df, ("clip_cosine",), _("Direction kept by clipping"),
                                                _("cosine with the raw gradient")),
                       ("clip_cosine",))


def charts_for(cfg) -> list[ChartSpec]:
    """The clipping chart only where the run clips."""
    return CHARTS + [CLIP] if cfg.clip_value > 0 or cfg.clip_norm > 0 else CHARTS

st.title(_("Vanishing & exploding gradients"))
lesson.lead(EXP.name)  # the first paragraph; the rest folds away, so the controls and Train are on the first screen
lesson.folded(EXP.name, "inits", _("Glorot, He and LeCun initialisation; gradient clipping"))

cfg = controls.config_controls(EXP)
run_section(EXP, cfg, charts_for, help=_("Train the network with these settings."))
lesson.folded(EXP.name, "charts", _("What the charts show"))
