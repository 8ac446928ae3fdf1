"""Deep links on a fresh server: make sure lab.py's navigation runs before any page.

Streamlit runs a `pages/` script directly when a deep link is a fresh server's first request,
skipping the entrypoint (streamlit/streamlit#9624). A page then hands over to lab.py, which
builds the navigation and switches back to the page with the link's query parameters.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from core.i18n import DEFAULT, _, set_language  # light: no torch

ROOT = Path(__file__).resolve().parent.parent

ENTRY_FLAG = "_entrypoint_ran"
DEEP_LINK = "_deep_link"


def mark_entrypoint() -> None:
    """Called by lab.py on every run."""
    st.session_state[ENTRY_FLAG] = True


def ensure_entrypoint(page_path: str) -> None:
    """Called first by every page: hand over to lab.py if it has not run in this session."""
    if not st.session_state.get(ENTRY_FLAG):
        st.session_state[DEEP_LINK] = (page_path, st.query_params.to_dict())
        st.switch_page("lab.py")
    set_language(st.session_state.get("lang", DEFAULT))  # lab.py chose it; a page run on its own keeps it


def resume_deep_link() -> None:
    """Called by lab.py after st.navigation: go to the page a deep link asked for."""
    link = st.session_state.pop(DEEP_LINK, None)
    if link is not None:
        st.switch_page(link[0], query_params=link[1])


def first_paint() -> None:
    """On a fresh server's first run, Streamlit still treats `pages/` as a v1 multipage folder and has
    already sent a navigation of raw file names ("app, activations, batchnorm, …"); lab.py then spends
    seconds importing torch before its own navigation. Replace it at once with the same pages, hidden
    (the same URL paths, so a deep link resolves alike), until the titled navigation follows."""
    try:
        from streamlit.runtime.pages_manager import PagesManager
    except ImportError:  # a Streamlit without it has no v1 folder mode to hide
        return
    if not PagesManager.uses_pages_directory:
        return
    files = sorted(p for p in (ROOT / "pages").glob("*.py") if p.stem != "home")
    st.navigation([st.Page(str(ROOT / "pages" / "home.py"), title="Home", default=True),
                   *(st.Page(str(p), url_path=p.stem) for p in files)], position="hidden")


PAGES_KEY = "_lesson_pages"  # session state: lesson name -> this session's st.Page, set on every run


def page_of(lesson_name: str):
    """This session's st.Page of a lesson (for st.page_link). Per session, never module-wide: every
    session runs lab.py in a thread of its own, and st.navigation must get the Page objects it made."""
    return st.session_state[PAGES_KEY][lesson_name]


def _generic(lesson):
    """A page function for a lesson without a page file of its own."""
    from .page import render_lesson

    def page() -> None:
        render_lesson(lesson)

    page.__name__ = f"lesson_{lesson.name}"  # st.Page names a function page after its function
    return page


def page_file(lesson) -> Path:
    """A lesson's page file (it may not exist: then the generic page draws it): pages/<name>.py, or <name>.py in
    the lesson's own folder for a lesson kept outside the tree (named as its URL path: Streamlit's AppTest before
    1.67 finds a page by its file's name)."""
    folder = lesson.home if lesson.home is not None else ROOT / "pages"
    return folder / f"{lesson.name}.py"


def lesson_pages() -> list:
    """One st.Page per registered lesson: its page file (page_file), else the generic lesson page."""
    from core.experiments import LESSONS

    pages = {}
    for lesson in LESSONS:
        # absolute, so that another entrypoint (deploy/streamlit_app.py) finds the same files
        file = page_file(lesson)
        source = str(file) if file.exists() else _generic(lesson)
        pages[lesson.name] = st.Page(source, title=_(lesson.title), url_path=lesson.name)
    st.session_state[PAGES_KEY] = pages
    return list(pages.values())
