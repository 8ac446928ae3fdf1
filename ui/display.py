"""How curves are drawn, chosen once in the sidebar for every page: a log loss axis, and smoothing.

The controls are a fragment, so moving them while a network trains does not stop it: the live
loop reads them at its next redraw. When nothing trains, a change reruns the page so the finished
run's charts are redrawn with it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import streamlit as st

from core.i18n import _

from . import charts

LOG = "charts.log"  # session state keys (the widgets')
SMOOTH = "charts.smooth"
RUNNING = "_training"  # set by ui.live while a run trains in this session
_CHANGED = "_charts.changed"
DEFAULT_LOG, DEFAULT_SMOOTH = True, 0.0


def settings() -> tuple[bool, float]:
    """The session's choice: log loss axis, smoothing weight."""
    return bool(st.session_state.get(LOG, DEFAULT_LOG)), float(st.session_state.get(SMOOTH, DEFAULT_SMOOTH))


@contextlib.contextmanager
def chosen() -> Iterator[None]:
    """Build charts inside with the session's choice."""
    with charts.display(*settings()):
        yield


def _changed() -> None:
    st.session_state[_CHANGED] = True


@st.fragment
def _controls() -> None:
    st.toggle(_("Log-scale loss axes"), value=DEFAULT_LOG, key=LOG, on_change=_changed,
              help=_("Draw every loss curve on a logarithmic axis, so one spike or a loss falling by decades "
                     "does not flatten the rest. Accuracy stays linear."))
    st.slider(_("Smoothing"), 0.0, 0.99, DEFAULT_SMOOTH, step=0.01, key=SMOOTH, on_change=_changed,
              help=_("Smooth the per-step curves (training loss and accuracy) with an exponential moving average, "
                     "as TensorBoard's slider does: 0 draws the raw values. Evaluations, probes and the CSV are "
                     "never smoothed."))
    if st.session_state.pop(_CHANGED, False) and not st.session_state.get(RUNNING):
        st.rerun()  # redraw the finished run's charts; a live run picks the change up at its next redraw


def controls() -> None:
    """The chart options in the sidebar, under a small heading."""
    with st.sidebar:
        st.caption(_("Charts"))
        _controls()
