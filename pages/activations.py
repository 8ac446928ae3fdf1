"""Lesson 2: activation functions — the gallery, then the same network trained with each."""

import pandas as pd
import streamlit as st

from core import gallery
from core.experiments import activations
from core.nets import ACTIVATIONS
from ui import charts, controls, lesson, live, nav

nav.ensure_entrypoint("pages/activations.py")

PREFIX = "activations"


def wall_times(result: live.RunResult) -> pd.DataFrame:
    timings = result.extra.get("timings", {})
    return pd.DataFrame({"run": list(timings), "seconds": list(timings.values())})


CHARTS = [
    live.ChartSpec(lambda df: charts.curves(df, ("loss", "val_loss"), "Loss (solid: train, dashed: validation)",
                                            "cross-entropy", color="run"), ("loss", "val_loss", "diverged")),
    live.ChartSpec(lambda df: charts.curves(df, ("val_accuracy",), "Validation accuracy", "accuracy", color="run"),
                   ("val_accuracy", "diverged")),
    live.ChartSpec(lambda df: charts.per_layer(df, "dead_fraction", "Dead units per layer", "dead fraction",
                                               [0, 1]), ("dead_fraction",)),
    live.ChartSpec(lambda df: charts.per_layer(df, "act_mean", "Mean activation per layer (bias shift)",
                                               "mean activation"), ("act_mean",)),
    live.ChartSpec(lambda df: charts.per_layer(df, "act_std", "Activation std per layer", "std"), ("act_std",)),
    live.ChartSpec(lambda df: charts.per_layer(df, "saturated_fraction", "Saturated units per layer",
                                               "saturated fraction", [0, 1]), ("saturated_fraction",)),
    live.ChartSpec(lambda df: charts.bars(df, "seconds", "run", "Wall time per activation", "seconds"),
                   data=wall_times),
]

st.title("Activation functions")
lesson.show(PREFIX)

st.header("Gallery")
lesson.show(PREFIX, "gallery")
shown = st.multiselect("Activations to draw", list(ACTIVATIONS), default=list(ACTIVATIONS), key=f"{PREFIX}.gallery",
                       help="Each panel shows f(x), f′(x) (by autograd on the torch module) and, shaded red, "
                            "where f′ is below 1% of its maximum.")
c1, c2, c3 = st.columns(3)
leaky = c1.slider("LeakyReLU α", 0.0, 0.5, 0.01, 0.01, key=f"{PREFIX}.g_leaky",
                  help="LeakyReLU's slope for negative inputs.")
elu = c2.slider("ELU α", 0.1, 3.0, 1.0, 0.1, key=f"{PREFIX}.g_elu", help="ELU tends to −α for very negative inputs.")
rr_lo, rr_hi = c3.slider("RReLU slopes (lower, upper)", 0.0, 1.0, (1 / 8, 1 / 3), 0.01, key=f"{PREFIX}.g_rrelu",
                         help="In training RReLU draws each negative slope from U(lower, upper) (the blue band); "
                              "in eval mode it uses their mean (the line).")
if shown:
    table = gallery.table(shown, leaky_alpha=leaky, elu_alpha=elu, rrelu_lower=rr_lo, rrelu_upper=rr_hi)
    st.altair_chart(charts.gallery(table), width="content")

st.header("Train them side by side")
lesson.show(PREFIX, "compare")
cfg = controls.config_controls(
    activations.Config, activations.PRESETS, PREFIX,
    fields=["activations", "init_mode", "init", "dataset", "depth", "width", "optimizer", "lr", "batch_size",
            "steps", "seed", "leaky_alpha", "elu_alpha", "rrelu_lower", "rrelu_upper"])
lesson.show(PREFIX, "charts")

if st.button("Train", type="primary", disabled=cfg is None, help="Train one network per activation, step by step."):
    notes: list[str] = []
    timings: dict[str, float] = {}
    live.train_live(PREFIX, cfg, activations.run(cfg, notes, timings), CHARTS, cfg.steps, notes,
                    extra={"timings": timings})
live.show_result(PREFIX, CHARTS, f"{PREFIX}.csv")
