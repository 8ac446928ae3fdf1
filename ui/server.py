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


@asynccontextmanager
async def lifespan(_app):
    """st.App's lifespan hook: start_up in full (warm-up included) before serving, off the event loop."""
    from ui.admission import start_up  # imports torch: seconds, once per server

    try:
        await asyncio.to_thread(start_up, background=False)
    except Exception:  # noqa: BLE001 — a failed warm-up must never keep the server from serving
        log.exception("warm-up at server start failed; the first run pays its one-off costs instead")
    yield None
