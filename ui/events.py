"""Server-side timings of a Train, for the class load test (benchmarks.load --class): off unless
DNLAB_EVENTS names a file. Each line is JSON: the session's own id, the event, the experiment and
time.time(): "train" (the Train press reached the server), "started" (its run took a training slot, or
joined one that had), "first" (its first records were sent to the page), "final" (its final state was sent)."""

from __future__ import annotations

import json
import os
import secrets
import threading
import time

import streamlit as st

PATH = os.environ.get("DNLAB_EVENTS")
_lock = threading.Lock()
PENDING = "_events_pending"  # the events of this session's Train still to come


def mark(event: str, experiment: str = "", when: float | None = None) -> None:
    """Append one event of this session (once per Train for each of started, first and final), at `when`
    (a time.time()) if it happened before this call."""
    if not PATH:
        return
    if event == "train":
        st.session_state[PENDING] = {"started", "first", "final"}
    elif event not in st.session_state.get(PENDING, ()):
        return
    else:
        st.session_state[PENDING].discard(event)
    sid = st.session_state.setdefault("_events_id", secrets.token_hex(6))
    t = time.time() if when is None else when
    line = json.dumps({"session": sid, "event": event, "experiment": experiment, "t": t})
    with _lock, open(PATH, "a", encoding="utf-8") as f:
        f.write(line + "\n")
