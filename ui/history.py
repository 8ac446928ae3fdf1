"""The session's run history on a lesson page: every run joins it; pick runs to overlay, rename,
pin, delete, bring back a CSV from `python -m core run`. The logic lives in core.history."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.experiment import Experiment
from core.experiments import lesson_of
from core.history import MAX_OVERLAY, MAX_RUNS, CSVError, Entry, History, read_csv
from core.i18n import _

from . import desk
from .buffers import LiveBuffers, final_buffers
from .once import once
from .safe import plain

KEY = desk.HISTORY


def history() -> History:
    """This session's history (kept across page switches: session state outlives a page)."""
    if KEY not in st.session_state:
        st.session_state[KEY] = History()
    return st.session_state[KEY]


def remember(experiment: Experiment, result) -> Entry | None:
    """Add a finished, stopped or diverged run to the history, at the final charts' resolution."""
    if result.status not in ("finished", "stopped", "diverged") or not len(result.records):
        return None
    frame = once(result.records, "stored_frame", lambda: stored_frame(result.records))  # the same for every viewer
    entry = history().add(lesson_of(experiment).name, experiment.name, result.config, frame, result.status,
                          result.last_step, result.seconds)
    result.entry_id = entry.id
    desk.keep(experiment.name, result)  # and the browser's desk: a reload finds it again
    return entry


MAX_ENTRY_ROWS = 60_000  # ~0.8 MB a run; a deeper or longer run is stored at the live charts' resolution


def stored_frame(records) -> pd.DataFrame:
    """A run as the history keeps it: at the final charts' resolution, or the live charts' where that
    would exceed MAX_ENTRY_ROWS (a 100-layer network's per-layer series)."""
    frame = final_buffers(records).frame()
    if len(frame) > MAX_ENTRY_ROWS:
        live = LiveBuffers()
        for r in records:
            live.add(r)
        frame = live.frame()
    return frame


def _overlay_key(experiment: Experiment) -> str:
    return f"{experiment.name}.overlay"


def _compare_with_previous(experiment: Experiment, current: int) -> None:
    others = [e.id for e in history().of(experiment.name) if e.id != current]
    if others:
        st.session_state[_overlay_key(experiment)] = [others[0]]


def chosen(experiment: Experiment, current: int | None) -> list[Entry]:
    """The overlay picker: the runs drawn with this one (current first); [] when none is picked."""
    h = history()
    options = [e.id for e in h.of(experiment.name) if e.id != current]
    key = _overlay_key(experiment)
    if key in st.session_state:  # drop runs deleted since they were picked
        st.session_state[key] = [i for i in st.session_state[key] if i in options]
    if not options:
        return []
    left, right = st.columns([3, 1], vertical_alignment="bottom")
    picked = left.multiselect(
        _("Overlay earlier runs"), options, key=key, max_selections=MAX_OVERLAY - 1,
        format_func=lambda i: _option(h.get(i)),
        help=_("Draw up to {most} earlier runs in this browser with this one: one colour per run on every curve; the "
               "per-layer charts show each run side by side.").format(most=MAX_OVERLAY - 1))
    right.button(_("Compare with previous run"), key=f"{experiment.name}.compare", on_click=_compare_with_previous,
                 args=(experiment, current), help=_("Overlay the run before this one."))
    if not picked:
        return []
    first = [h.get(current)] if current is not None and h.get(current) else []
    return first + [e for i in picked if (e := h.get(i)) is not None]


def _option(entry: Entry | None) -> str:
    if entry is None:
        return _("(deleted)")
    acc = entry.val_accuracy
    if acc is None:
        return f"{entry.label} — {entry.status_text}"
    return _("{label} — {status}, val. accuracy {accuracy:.1%}").format(label=entry.label, status=entry.status_text,
                                                                         accuracy=acc)


def columns(extra: dict[str, str] | None = None) -> dict:
    """The history table's column headers and help in the current language (the data keeps its keys)."""
    config = {
        "id": st.column_config.NumberColumn(_("run"), help=_("The run's number in this browser.")),
        "label": st.column_config.TextColumn(_("label"), help=_("Rename the run (up to 60 characters)."),
                                             max_chars=60),
        "pinned": st.column_config.CheckboxColumn(_("pinned"), help=_("A pinned run is never dropped.")),
        "status": st.column_config.TextColumn(_("status")),
        "val. accuracy": st.column_config.NumberColumn(_("val. accuracy"), format="percent",
                                                       help=_("Final validation accuracy (the best network's, "
                                                              "where a run trains several).")),
        "seconds": st.column_config.NumberColumn(_("seconds")),
        "delete": st.column_config.CheckboxColumn(_("delete"), help=_("Remove this run from the history.")),
    }
    for key, title in (extra or {}).items():
        config[key] = st.column_config.TextColumn(title)
    return config


def table(entries: list[Entry]) -> pd.DataFrame:
    """The history as rows: what a reader compares (label, status, accuracy, time)."""
    return pd.DataFrame({
        "id": [e.id for e in entries],
        "label": [e.label for e in entries],
        "pinned": [e.pinned for e in entries],
        "status": [e.status_text for e in entries],
        "val. accuracy": [e.val_accuracy for e in entries],
        "seconds": [round(e.seconds, 1) for e in entries],
        "delete": [False] * len(entries),
    })


def manage(experiment: Experiment) -> None:
    """The history of this experiment in an editable table (rename, pin, delete) and a CSV upload."""
    h = history()
    entries = h.of(experiment.name)
    with st.expander(_("Run history ({count} in this browser)").format(count=len(entries)), expanded=False):
        st.caption(_("Every run in this browser, newest first: at most {most} per lesson (pinned runs are kept, the "
                     "oldest unpinned go first). Edit a label to rename a run.").format(most=MAX_RUNS))
        if entries:
            version = st.session_state.get(f"{experiment.name}.history_version", 0)
            edited = st.data_editor(
                table(entries), hide_index=True, key=f"{experiment.name}.history.{version}", width="stretch",
                disabled=["id", "status", "val. accuracy", "seconds"],
                column_config=columns())
            _apply(h, entries, edited, experiment)
    upload(experiment)  # outside the expander: its message must show whether the expander is open or not


def _apply(h: History, entries: list[Entry], edited: pd.DataFrame, experiment: Experiment) -> None:
    changed = False
    for entry, (_index, row) in zip(entries, edited.iterrows(), strict=True):
        if bool(row["delete"]):
            h.delete(entry.id)
            changed = True
            continue
        if str(row["label"]) != entry.label:
            h.rename(entry.id, str(row["label"]))
        entry.pinned = bool(row["pinned"])
    if changed:  # a fresh editor, without the deleted rows' checkboxes
        key = f"{experiment.name}.history_version"
        st.session_state[key] = st.session_state.get(key, 0) + 1
        st.rerun()


def take_upload(experiment: Experiment) -> None:
    """Load a newly uploaded CSV into the history before anything lists the runs, so the overlay picker
    and the history show it in this same run (the uploader itself is drawn further down)."""
    key = f"{experiment.name}.upload"
    file = st.session_state.get(key)
    seen = st.session_state.setdefault("_uploads_seen", set())
    if file is None or file.file_id in seen:
        return
    seen.add(file.file_id)
    try:
        records = read_csv(file.getvalue())
    except CSVError as exc:
        st.session_state[f"{key}.message"] = ("error", _("{file} was not loaded: {why}").format(file=file.name[:80],
                                                                                                  why=exc))
        return
    entry = history().add(lesson_of(experiment).name, experiment.name, None, stored_frame(records), "finished",
                          max(r.step for r in records), 0.0,
                          what=_("upload {name}").format(name=file.name.removesuffix(".csv")))
    st.session_state[f"{key}.message"] = ("success", _("{file}: {count:,} records loaded as {label}. Pick it under "
                                                       "Overlay earlier runs.").format(file=file.name[:80],
                                                                                       count=len(records),
                                                                                       label=entry.label))


def upload(experiment: Experiment) -> None:
    """Bring back a CSV written by `python -m core run` (or the page's download) as a run to overlay; what
    happened to the last file (take_upload) is said under it."""
    key = f"{experiment.name}.upload"
    st.file_uploader(
        _("Bring a CSV back"), type=["csv"], key=key,
        help=_("A CSV written by `python -m core run` or by this page (columns run, step, metric, layer, value), "
             "up to 20 MB. It joins the history as a run you can overlay."))
    if (message := st.session_state.pop(f"{key}.message", None)) is not None:
        (st.error if message[0] == "error" else st.success)(plain(message[1]))
