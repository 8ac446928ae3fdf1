"""The language switch: English or 한국어, carried in the URL as `?lang=ko`, kept for the session.

With no choice made, the browser's language (`st.context.locale`) decides, else English. The
choice sets core.i18n's language for the whole script run, so the page, the claims' evidence and
the engine's notes and errors all come out in it.
"""

from __future__ import annotations

import streamlit as st

from core.config import shown
from core.i18n import DEFAULT, LANGUAGES, _, set_language

from .nav import DEEP_LINK
from .safe import plain

STATE = "lang"  # session state: the session's language
WIDGET = "lang.choice"
PARAM = "lang"  # URL query parameter


def _browser() -> str:
    try:
        locale = st.context.locale or ""
    except Exception:  # no browser context (a bare script run)
        locale = ""
    code = locale.split("-")[0].lower()
    return code if code in LANGUAGES else DEFAULT


def _picked() -> None:
    st.session_state[STATE] = st.session_state[WIDGET]


def choose() -> str:
    """The session's language, with the sidebar's switch, set for this script run and kept in the URL."""
    url = st.query_params.get(PARAM)
    if url is None:  # a fresh server's deep link reaches lab.py without its query (ui.nav keeps it aside)
        url = (st.session_state.get(DEEP_LINK) or (None, {}))[1].get(PARAM)
    if STATE not in st.session_state:  # a session's first run: the link, else the browser
        st.session_state[STATE] = url if url in LANGUAGES else _browser()
        if url is not None and url not in LANGUAGES:
            set_language(st.session_state[STATE])
            st.warning(plain(_("Ignored a URL parameter — {problem}. The rest of the link applies.").format(
                problem=f"lang={shown(url)}: " + _("must be one of {choices}").format(choices=", ".join(LANGUAGES)))))
    lang = st.session_state[STATE]
    st.session_state[WIDGET] = lang
    st.sidebar.selectbox("Language · 언어", list(LANGUAGES), key=WIDGET, format_func=LANGUAGES.get,
                         on_change=_picked, help=_("English or 한국어 (Korean). A link keeps it as ?lang=ko."))
    set_language(lang)
    # a shared link opens in the sender's language
    if (lang != DEFAULT or PARAM in st.query_params) and st.query_params.get(PARAM) != lang:
        st.query_params[PARAM] = lang
    return lang
