"""A reader's desk: their run history and last results, kept on the server under an unguessable per-browser
key, so that a reload, a new tab of the same browser or a dropped connection finds them again.

The key is a random token in a cookie (`dnlab_desk`, set once by a line of JavaScript, read back through
st.context.cookies with every new session); the server keeps desks under the token's hash in a bounded
store (core.runstore.MemoryStore: least recently used first). A shared page link carries the settings in
its query string and never the token, so another browser given it starts with an empty desk.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
from dataclasses import dataclass, field

import streamlit as st

from core.history import History
from core.runstore import MemoryStore

COOKIE = "dnlab_desk"
TOKEN = re.compile(r"[A-Za-z0-9_-]{32,64}")
KEY = "_desk"  # the session's desk key, once attached
HISTORY = "_history"  # the session's History (ui.history keeps it under this key)
FRESH = "_desk_fresh"  # set when this session made the key (its browser sent none): it sets the cookie
DAYS = 30  # the cookie's lifetime; the store's bounds decide how long the desk itself lasts
MAX_DESKS = int(os.environ.get("DNLAB_DESKS", 256))
MAX_DESK_MB = int(os.environ.get("DNLAB_DESK_MB", 128))
RECORD_BYTES = 130  # one Record as a Python object (core.records), for a desk's size


@dataclass
class Desk:
    """What a browser's sessions share: one History, and each experiment's last result (ui.results.RunResult)."""

    history: History = field(default_factory=History)
    results: dict = field(default_factory=dict)

    @property
    def nbytes(self) -> int:
        frames = sum(int(e.frame.memory_usage(index=False).sum()) for e in self.history.entries)
        return 1024 + frames + RECORD_BYTES * sum(len(r.records) for r in self.results.values())


class Desks:
    """The desks of this server, bounded in count and bytes, least recently used first."""

    def __init__(self, max_desks: int = MAX_DESKS, max_bytes: int = MAX_DESK_MB << 20):
        self._store = MemoryStore(max_desks, max_bytes)

    def get(self, token: str) -> Desk | None:
        return self._store.get(_digest(token))

    def put(self, token: str, desk: Desk) -> None:
        self._store.put(_digest(token), desk, desk.nbytes)

    def __len__(self) -> int:
        return len(self._store)


def _digest(token: str) -> tuple:
    return ("desk", hashlib.sha256(token.encode()).hexdigest())  # the store never holds a token itself


_desks = Desks()


def desks() -> Desks:
    return _desks


def attach() -> Desk:
    """This session's desk: the browser's own if its cookie names one still kept, else a new one (and the
    cookie set). Its history and last results become the session's; call once per script run, before any page."""
    token = st.session_state.get(KEY)
    desk = desks().get(token) if token is not None else None
    if desk is None:
        if token is None:
            token = browser_token()
            if token is None:
                token = secrets.token_urlsafe(32)
                st.session_state[FRESH] = True
        desk = desks().get(token)
        if desk is None:  # a new browser, or a desk the store has let go: start from what this session holds
            desk = Desk(st.session_state.get(HISTORY) or History())
            desks().put(token, desk)
        st.session_state[KEY] = token
        st.session_state[HISTORY] = desk.history
        for name, result in desk.results.items():
            st.session_state.setdefault(name, result)
    if st.session_state.get(FRESH):
        # every script run of the session that made the token (a rerun can remove an element before its script
        # ran); the token is ours (secrets.token_urlsafe), never a visitor's text
        st.sidebar.html(f"<script>document.cookie = {json.dumps(_cookie(token))};</script>",
                        unsafe_allow_javascript=True)
    return desk


def browser_token() -> str | None:
    """The desk token this browser sent with its connection (its cookie), if it is one of ours."""
    cookie = st.context.cookies.get(COOKIE)
    return cookie if isinstance(cookie, str) and TOKEN.fullmatch(cookie) else None


def _cookie(token: str) -> str:
    return f"{COOKIE}={token}; path=/; max-age={DAYS * 86400}; SameSite=Strict"


def keep(name: str, result) -> None:
    """A run has ended: it becomes the desk's last result of `name` (the history holds it already)."""
    token = st.session_state.get(KEY)
    if token is None:
        return
    desk = desks().get(token)
    if desk is None:  # let go by the store: this session still holds its history, so the desk starts again
        desk = Desk(st.session_state.get(HISTORY) or History())
    desk.results[name] = result
    desks().put(token, desk)  # again: its size has grown, and it is the most recently used
