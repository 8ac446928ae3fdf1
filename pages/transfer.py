"""Lesson 4: transfer learning."""

import dataclasses

import pandas as pd
import streamlit as st

from core.backbones import WeightsUnavailable
from core.data import DatasetUnavailable
from core.experiments import transfer as T
from ui import charts, controls, lesson, live, nav

nav.ensure_entrypoint("pages/transfer.py")

PREFIX, CNN = "transfer", "transfer_cnn"

st.title("Transfer learning")
lesson.show(PREFIX)

cfg = controls.config_controls(
    T.Config, T.PRESETS, PREFIX,
    fields=["variants", "target_size", "reuse_layers", "seeds", "epochs", "unfreeze_epochs", "unfreeze_lr_factor",
            "dataset", "depth", "width", "activation", "optimizer", "lr", "pretrain_steps", "seed"])
if cfg is not None and cfg.target_size > (limit := T.available(cfg)):
    st.warning(f"Task B has only {limit} training examples here, so N is clamped to {limit}.")
    cfg = dataclasses.replace(cfg, target_size=limit)
lesson.show(PREFIX, "charts")

CHARTS = [
    live.ChartSpec(lambda df: charts.curves(df[df.run.astype(str) == "model_a"], ("loss", "val_accuracy"),
                                            "Model A: pretraining on the source classes", "value"),
                   ("loss", "val_accuracy")),
    live.ChartSpec(charts.seed_bands, ("val_accuracy",)),
    live.ChartSpec(lambda df: charts.seed_bands(df, "loss", "Task B training loss"), ("loss",)),
]

if st.button("Train", type="primary", disabled=cfg is None, help="Pretrain model A (once per server), then "
             "train every variant on every seed."):
    notes: list[str] = []
    extra: dict = {}
    total = cfg.pretrain_steps if not T.is_cached(cfg) else 1
    live.train_live(PREFIX, cfg, T.run(cfg, notes, extra), CHARTS, total, notes, extra=extra)
result = live.show_result(PREFIX, CHARTS, f"{PREFIX}.csv")
if result is not None:
    if result.extra.get("cached"):
        st.caption("Model A came from this server's cache: it trained once and every session reuses it.")
    acc = T.final_accuracies(result.records)
    if acc:
        table = pd.DataFrame(acc).rename_axis("seed")
        summary = pd.DataFrame({"mean": table.mean(), "std": table.std()}).T
        st.dataframe(pd.concat([table, summary]).style.format("{:.1%}"))
        st.info(T.verdict(result.records))

st.header("A pretrained CNN backbone")
lesson.show(PREFIX, "cnn")
ccfg = controls.config_controls(T.CnnConfig, {}, CNN, ns="cnn")
CNN_CHARTS = [live.ChartSpec(lambda df: charts.curves(df, ("loss", "val_loss", "val_accuracy"),
                                                     "CNN: loss and validation accuracy", "value", color="metric"),
                             ("loss", "val_loss", "val_accuracy", "diverged"))]
if st.button("Train", type="primary", disabled=ccfg is None, key=f"{CNN}.train",
             help="Reuse an ImageNet backbone on cats vs dogs from CIFAR-10."):
    try:
        prepared = T.prepare_cnn(ccfg)
    except (WeightsUnavailable, DatasetUnavailable) as exc:
        st.info(str(exc))
    else:
        live.train_live(CNN, ccfg, T.run_cnn(ccfg, prepared), CNN_CHARTS, ccfg.steps)
live.show_result(CNN, CNN_CHARTS, "transfer-cnn.csv")
