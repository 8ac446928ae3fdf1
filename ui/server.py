"""Server start: warm the lab up before the server takes its first visitor.

`streamlit run app.py` finds the st.App in app.py and starts it under uvicorn; uvicorn runs this
lifespan's start-up before it accepts a connection. So torch is imported, its threads are capped
and one tiny training has paid the one-off costs before anyone connects: the first visitor's first
paint already has the titled navigation, with no start-up spinner. Nothing here is per session.
"""

from __future__ import annotations

import asyncio
import logging
from contextlib import asynccontextmanager

log = logging.getLogger(__name__)


def navigation_only() -> None:
    """Tell Streamlit, before any session starts, that lab.py's st.navigation builds the pages.

    A `pages/` folder beside the main script makes Streamlit assume its old folder mode until the
    first st.navigation call, which then turns it off for good (PagesManager.uses_pages_directory).
    On a fresh server the first visitor's session meanwhile gets a navigation of raw file names
    ("app, activations, batchnorm, …") until lab.py reaches st.navigation. Setting the flag as
    st.navigation does, before any session, means no visitor is sent that list.
    (`streamlit run lab.py` and AppTest have no lifespan: there ui.nav.first_paint covers it.)
    """
    try:
        from streamlit.runtime.pages_manager import PagesManager
    except ImportError:  # a Streamlit without it has no folder mode to turn off
        return
    PagesManager.uses_pages_directory = False


@asynccontextmanager
async def lifespan(_app):
    """st.App's lifespan hook: start_up in full (warm-up included) before serving, off the event loop."""
    from ui.admission import start_up  # imports torch: seconds, once per server

    navigation_only()
    try:
        await asyncio.to_thread(start_up, background=False)
    except Exception:  # noqa: BLE001 — a failed warm-up must never keep the server from serving
        log.exception("warm-up at server start failed; the first run pays its one-off costs instead")
    yield None
