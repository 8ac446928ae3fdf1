"""Runs: every run of this session, from every lesson; overlay, download, re-run."""

import streamlit as st

from core.i18n import _
from ui import nav  # light: no torch

nav.ensure_entrypoint("pages/runs.py")  # first: a fresh server's deep link hands over at once

from core.config import to_query  # noqa: E402
from core.experiments import experiments, lesson_of  # noqa: E402
from core.history import MAX_RUNS, overlay_frame, to_csv  # noqa: E402
from ui import display, history  # noqa: E402
from ui.results import accuracy_chart, loss_chart  # noqa: E402
from ui.safe import plain  # noqa: E402

st.title(_("Runs"))
st.write(_("Every run in this browser, from every lesson, newest first (at most {most} a lesson). Pick runs to draw "
           "their loss and accuracy together, download them as one CSV, or open one again with its settings. Rename, "
           "pin or delete runs on their lesson's page, under Run history.").format(most=MAX_RUNS))

h = history.history()
if not h.entries:
    st.info(_("No runs yet in this browser: train on any lesson and each run appears here."))
    st.stop()

registry = experiments()
rows = history.table(h.entries).drop(columns=["delete", "pinned"])
rows.insert(1, "lesson", [_(lesson_of(registry[e.experiment]).title) if e.experiment in registry else e.experiment
                          for e in h.entries])
st.dataframe(rows, hide_index=True, width="stretch", column_config=history.columns({"lesson": _("lesson")}))

picked = st.multiselect(
    _("Runs to compare"), [e.id for e in h.entries], default=[e.id for e in h.entries[:2]], key="runs.picked",
    max_selections=8, format_func=lambda i: f"{h.get(i).label} ({h.get(i).experiment})" if h.get(i) else str(i),
    help=_("Their loss and accuracy curves are drawn together below, one colour per run, and the download holds "
         "exactly these runs."))
chosen = [e for i in picked if (e := h.get(i)) is not None]
if chosen:
    left, right = st.columns(2)
    loss = overlay_frame(chosen, ("loss", "val_loss"))
    acc = overlay_frame(chosen, ("accuracy", "val_accuracy"))
    with display.chosen():
        left.altair_chart(loss_chart().build(loss), width="stretch")
        right.altair_chart(accuracy_chart(train=True).build(acc), width="stretch")
    st.download_button(_("Download these runs as CSV"), to_csv(chosen), file_name="runs.csv", mime="text/csv",
                       key="runs.download",
                       help=_("One CSV in the runner's columns (run, step, metric, layer, value); each run is named "
                            "'<label> · <run>'. Stored at the charts' resolution: a run's own page downloads every "
                            "record right after it runs."))
    st.subheader(_("Open a run again"))
    for e in chosen:
        exp = registry.get(e.experiment)
        if e.config is None or exp is None:
            st.caption(plain(_("{label}: an uploaded CSV has no settings to open.").format(label=e.label)))
            continue
        lesson = lesson_of(exp)
        ns = lesson.namespace(exp)
        query = {(f"{ns}.{k}" if ns else k): v for k, v in to_query(e.config, exp.presets).items()}
        st.page_link(nav.page_of(lesson.name), label=plain(f"{e.label} — {_(lesson.title)}"), query_params=query,
                     help=_("Opens the lesson with this run's settings; press Train to run it again."))
