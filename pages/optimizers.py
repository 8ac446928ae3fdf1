"""Lesson 5: fast optimizers — on 2-D loss surfaces, then on a real network."""

import numpy as np
import pandas as pd
import streamlit as st

from core.compare import interleave
from core.config import format_value
from core.experiments import optimizers as O
from core.records import csv_bytes, to_frame
from core.surfaces import SURFACES, cells, distance_to_minimum
from ui import charts, controls, lesson, live, nav

nav.ensure_entrypoint("pages/optimizers.py")

PREFIX, NET, RANGE = "optimizers", "optimizers_net", "optimizers_range"
SPEEDS = {"slow": 0.25, "normal": 0.1, "fast": 0.03, "instant": 0.0}
FRAMES = 40

st.title("Fast optimizers")
lesson.show(PREFIX)
surfaces_tab, net_tab = st.tabs(["2-D loss surfaces", "Real network"])


def _paths(df: pd.DataFrame) -> pd.DataFrame:
    """One row per (optimizer, step) with x, y and loss, from long-form records."""
    wide = df[df.metric.isin(["x", "y", "loss"])].pivot_table(index=["run", "step"], columns="metric",
                                                               values="value").reset_index()
    return wide.reindex(columns=["run", "step", "x", "y", "loss"])


def _set_start() -> None:
    picked = st.session_state[f"{PREFIX}.map"].selection.get("start") or []
    if picked:
        st.session_state[f"{PREFIX}.start"] = f"{picked[0]['x']:.2f},{picked[0]['y']:.2f}"
        st.session_state[f"{PREFIX}.preset"] = controls.CUSTOM


with surfaces_tab:
    lesson.show(PREFIX, "surfaces")
    cfg = controls.config_controls(
        O.Config, O.PRESETS, PREFIX, fixed={"net": False, "fair": False},
        fields=["surface", "optimizers", "lr", "steps", "start", "schedule", "momentum", "beta1", "beta2",
                "eps", "weight_decay"])
    speed = st.select_slider("Animation speed", list(SPEEDS), value="normal", key=f"{PREFIX}.speed",
                             help="How fast the paths are drawn; the computation itself takes well under a second.")
    train = st.button("Train", type="primary", disabled=cfg is None, key=f"{PREFIX}.train",
                      help="Run every optimizer from the start point and animate their paths.")
    if cfg is not None:
        surface = SURFACES[cfg.surface]
        grid = pd.DataFrame(cells(cfg.surface))
        minima = pd.DataFrame(list(surface.minima), columns=["x", "y"])
        title = f"{cfg.surface}: {surface.note}"
        st.caption("Click the map to start from that point; red diamonds mark the known minima.")
        result = st.session_state.get(PREFIX)
        if train:
            records = list(O.run(cfg))
            result = live.RunResult(cfg, records, "finished")
            st.session_state[PREFIX] = result
            paths = _paths(to_frame(records))
            stops = sorted({int(s) for s in np.linspace(0, cfg.steps, FRAMES + 1)})
            live.play(st.empty(), lambda k: charts.surface_map(grid, paths[paths.step <= k], minima,
                                                               surface.window, title), stops, SPEEDS[speed])
            st.rerun()  # redraw as the clickable, finished map
        shown = result if result is not None and result.config.surface == cfg.surface else None
        paths = _paths(to_frame(shown.records)) if shown else pd.DataFrame(
            [(n, 0, *cfg.start, float("nan")) for n in cfg.optimizers], columns=["run", "step", "x", "y", "loss"])
        st.altair_chart(charts.surface_map(grid, paths, minima, surface.window, title), key=f"{PREFIX}.map",
                        on_select=_set_start, selection_mode="start", width="content")
        if shown:
            st.caption(f"Last run: {controls.describe(shown.config)}")
            long = to_frame(shown.records)
            c1, c2 = st.columns(2)
            c1.altair_chart(charts.curves(long, ("loss",), "Loss against step", "loss", color="run"), width="stretch")
            steps = paths.sort_values(["run", "step"]).assign(
                value=lambda d: np.hypot(d.groupby("run").x.diff(), d.groupby("run").y.diff()), metric="step length")
            c2.altair_chart(charts.curves(steps.dropna(subset=["value"]), ("step length",),
                                          "Effective step: distance moved per step", "distance", color="run",
                                          log=True), width="stretch")
            final = paths.sort_values("step").groupby("run").tail(1)
            table = pd.DataFrame({
                "optimizer": final.run, "steps": final.step, "final loss": final.loss.map(lambda v: f"{v:.4g}"),
                "distance to nearest minimum": [
                    "—" if np.isnan(d := distance_to_minimum(cfg.surface, x, y)) else f"{d:.4f}"
                    for x, y in zip(final.x, final.y, strict=True)],
                "diverged": [any(r.run == n and r.metric == "diverged" for r in shown.records) for n in final.run],
            }).sort_values("final loss", key=lambda s: s.astype(float))
            st.dataframe(table, hide_index=True)
            st.download_button("Download CSV", csv_bytes(shown.records), file_name="optimizers.csv",
                               mime="text/csv", key=f"{PREFIX}.download",
                               help="Every record: run, step, metric (loss, x, y, lr), layer, value.")
    lesson.show(PREFIX, "surface_charts")


def _final_runs(df: pd.DataFrame) -> pd.DataFrame:
    return df[~df.run.astype(str).str.contains("@")]


def _sweep_frame(result: live.RunResult) -> pd.DataFrame:
    rows = {}
    for r in result.records:
        if "@lr" in r.run and r.metric == "val_accuracy":
            name, lr = r.run.split("@lr")
            rows[(name, float(lr))] = r.value  # the last evaluation wins
    return pd.DataFrame([(n, lr, a) for (n, lr), a in rows.items()], columns=["optimizer", "lr", "accuracy"])


NET_CHARTS = [
    live.ChartSpec(lambda df: charts.curves(_final_runs(df), ("loss", "val_loss"),
                                            "Loss (solid: train, dashed: validation)", "cross-entropy", color="run"),
                   ("loss", "val_loss", "diverged")),
    live.ChartSpec(lambda df: charts.curves(_final_runs(df), ("val_accuracy",), "Validation accuracy", "accuracy",
                                            color="run"), ("val_accuracy", "diverged")),
    live.ChartSpec(lambda df: charts.curves(_final_runs(df), ("lr",), "Learning rate", "learning rate",
                                            color="run"), ("lr",)),
    live.ChartSpec(charts.sweep, data=_sweep_frame),
]

with net_tab:
    lesson.show(PREFIX, "net")
    ncfg = controls.config_controls(
        O.Config, {}, NET, ns="net", fixed={"net": True}, defaults={"steps": 300, "lr": 0.05},
        fields=["optimizers", "lr", "steps", "schedule", "fair", "dataset", "depth", "width", "batch_size",
                "momentum", "beta1", "beta2", "seed"])
    b1, b2 = st.columns(2)
    if b1.button("Train", type="primary", disabled=ncfg is None, key=f"{NET}.train",
                 help="Train the MLP once per optimizer (after the sweep, in fair mode)."):
        notes: list[str] = []
        extra: dict = {}
        live.train_live(NET, ncfg, O.run(ncfg, notes, extra), NET_CHARTS, ncfg.steps, notes, extra=extra)
    if b2.button("LR range test", disabled=ncfg is None, key=f"{RANGE}.train",
                 help="Grow the learning rate from 1e-5 to 10 over 200 steps and watch the loss."):
        live.train_live(RANGE, ncfg, interleave({n: O.lr_range_test(ncfg, n) for n in ncfg.optimizers}),
                        [live.ChartSpec(charts.loss_vs_lr, ("loss", "lr"))], 200)
    result = live.show_result(NET, NET_CHARTS, "optimizers-net.csv")
    if result is not None and result.extra.get("lrs"):
        used = ", ".join(f"{n} {format_value(lr)}" for n, lr in result.extra["lrs"].items())
        st.caption(f"Learning rates used: {used}")
    live.show_result(RANGE, [live.ChartSpec(charts.loss_vs_lr, ("loss", "lr"))], "lr-range.csv")
    lesson.show(PREFIX, "net_charts")
