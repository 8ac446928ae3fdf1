"""Lesson 4: transfer learning."""

import pandas as pd
import streamlit as st

from core.i18n import _
from ui import nav  # light: no torch

nav.ensure_entrypoint("pages/transfer.py")  # first: a fresh server's deep link hands over at once

from core.experiments import transfer  # noqa: E402
from ui import charts, controls, lesson, nav  # noqa: E402
from ui.page import run_section  # noqa: E402
from ui.results import ChartSpec  # noqa: E402

EXP, CNN = transfer.EXPERIMENT, transfer.CNN_EXPERIMENT
LESSON = transfer.LESSON
CHARTS = [
    ChartSpec.curve(lambda df: charts.curves(df[df["variant"] == transfer.MODEL_A], ("loss", "val_accuracy"),
                                             _("Model A: pretraining on the source classes"), _("value")),
              ("loss", "val_accuracy"), steps=lambda cfg: cfg.pretrain_steps),
    ChartSpec(lambda df: charts.seed_bands(df[df["variant"] != transfer.MODEL_A]), ("val_accuracy",),
              steps=transfer.b_steps),
    ChartSpec(lambda df: charts.seed_bands(df[df["variant"] != transfer.MODEL_A], "loss", _("Task B training loss")),
              ("loss",), steps=transfer.b_steps),
]
CNN_CHARTS = [ChartSpec.curve(lambda df: charts.curves(df, ("loss", "val_loss", "val_accuracy"),
                                                _("CNN: loss and validation accuracy"), _("value")),
                        ("loss", "val_loss", "val_accuracy", "diverged"))]

st.title(_("Transfer learning"))
lesson.lead(EXP.name)
cfg = controls.config_controls(EXP)
result = run_section(EXP, cfg, lambda _cfg: CHARTS,
                     help=_("Pretrain model A (once per server), then train every variant on every seed."))
if result is not None and result.status != "unavailable":
    if transfer.is_cached(result.config):
        st.caption(_("Model A for this run's settings is cached on this server: it trains once, and every later "
                   "run with the same model-A settings, from any session, reuses it."))
    table, summary = transfer.accuracy_table(result.records)
    if len(table.columns):
        # One text column per variant: seeds and the summary rows share them, and Arrow gets one type
        # per column (a Styler over a mixed index made pyarrow log ArrowInvalid on every rerun).
        summary = summary.rename(index={"mean": _("mean"), "std": _("std")})
        shown = pd.concat([table.rename(index=lambda s: _("seed {seed}").format(seed=s)), summary]).map(
            lambda v: "—" if pd.isna(v) else f"{v:.1%}")
        st.dataframe(shown.rename_axis(_("run")).reset_index(), hide_index=True)
        st.info(transfer.verdict(result.records))
lesson.folded(EXP.name, "charts", _("What the charts show"))

st.header(_(CNN.title))
lesson.show(EXP.name, "cnn")
ccfg = controls.config_controls(CNN, ns=LESSON.namespace(CNN))
run_section(CNN, ccfg, lambda _cfg: CNN_CHARTS, help=_("Reuse an ImageNet backbone on cats vs dogs from CIFAR-10."))
