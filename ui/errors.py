"""The page-level error boundary: a visitor sees a short message and a reference; the traceback
goes to the server log under that reference, so whoever runs the server can find it."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable

import streamlit as st

from core.i18n import _

log = logging.getLogger("deepnet_lab.errors")


def guarded(run_page: Callable[[], None]) -> None:
    """Run a page; an unexpected exception becomes a message with a reference (Streamlit's own
    rerun and stop signals are BaseExceptions and pass through)."""
    try:
        run_page()
    except Exception:  # noqa: BLE001 — the boundary: nothing may reach the visitor as a traceback
        ref = secrets.token_hex(4)
        log.exception("page error, reference %s", ref)
        st.error(_("Something went wrong on this page, and it was not your settings' fault. Your settings are kept: "
                   "try again, or change them. If it keeps happening, tell whoever runs this server the reference "
                   "{ref} (it is in the server log).").format(ref=ref))
