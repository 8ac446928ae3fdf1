"""The server: an st.App that warms up before its first visitor yet serves if the warm-up fails, listens on
loopback by the README's command, frees sessions past their reconnect window, and deploys to Community Cloud
with CPU-only torch."""

from __future__ import annotations

import sys
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _serve(serve):
    """Run the lifespan as uvicorn does, on a thread of its own: a session's Playwright keeps an event loop running
    on the test's thread, where asyncio.run refuses to start another."""
    import asyncio

    failures = []

    def run():
        try:
            asyncio.run(serve())
        except BaseException as error:  # handed back to the test's thread
            failures.append(error)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(60)
    assert not thread.is_alive()
    if failures:
        raise failures[0]


def _fresh_start_up(monkeypatch, warm_up):
    from ui import admission

    monkeypatch.setattr(admission, "_started", None)
    monkeypatch.setattr(admission, "warm_up", warm_up)
    monkeypatch.setattr(admission, "_janitor", lambda: None)
    return admission


def test_the_server_warms_up_before_it_takes_a_visitor(monkeypatch):
    """uvicorn runs the lifespan's start-up before accepting a connection: the warm-up must be over by its yield."""
    from ui.server import lifespan

    calls = []
    admission = _fresh_start_up(monkeypatch, lambda: calls.append("warm-up"))

    async def serve():
        async with lifespan(None):
            calls.append("serving")

    _serve(serve)
    assert calls == ["warm-up", "serving"]
    assert admission.start_up() == admission._started  # a script run afterwards: no second warm-up
    assert calls == ["warm-up", "serving"]


def test_the_server_start_takes_its_modules_out_of_the_garbage_collectors_view(monkeypatch):
    """After the lifespan's start-up, the page modules' objects are frozen: a full collection no longer walks them
    (gc.get_objects lists what the collector tracks, the frozen ones not among them)."""
    import gc
    import sys

    from ui.server import lifespan

    _fresh_start_up(monkeypatch, lambda: None)
    try:
        async def serve():
            async with lifespan(None):
                pass

        _serve(serve)
        charts = sys.modules["ui.charts"].__dict__  # imported at start-up (PAGE_MODULES)
        assert gc.get_freeze_count() > 0 and not any(o is charts for o in gc.get_objects())
    finally:
        gc.unfreeze()
    assert any(o is charts for o in gc.get_objects())  # the check can fail: unfrozen, the collector sees it


def test_the_server_turns_the_pages_folder_mode_off_before_its_first_session(monkeypatch):
    """A pages/ folder beside lab.py: Streamlit would send a fresh server's first visitor a navigation of
    raw file names until lab.py's st.navigation runs (CI saw it for five polls). The lifespan turns it off."""
    from streamlit.runtime.pages_manager import PagesManager

    from ui.server import lifespan

    _fresh_start_up(monkeypatch, lambda: None)
    monkeypatch.setattr(PagesManager, "uses_pages_directory", None)

    async def serve():
        async with lifespan(None):
            PagesManager(str(ROOT / "lab.py"))  # a session of a fresh server: pages/ is beside lab.py
            assert PagesManager.uses_pages_directory is False

    _serve(serve)
    monkeypatch.setattr(PagesManager, "uses_pages_directory", None)
    PagesManager(str(ROOT / "lab.py"))  # without the lifespan Streamlit does take pages/ as its folder mode
    assert PagesManager.uses_pages_directory is True


def test_a_failed_warm_up_still_serves(monkeypatch):
    from ui.server import lifespan

    def broken():
        raise RuntimeError("no warm-up today")

    _fresh_start_up(monkeypatch, broken)
    served = []

    async def serve():
        async with lifespan(None):
            served.append(True)

    _serve(serve)
    assert served == [True]


def test_without_the_lifespan_the_first_page_does_not_wait_for_the_warm_up(monkeypatch):
    """`streamlit run lab.py` or AppTest: start_up from a script run returns while the warm-up still runs."""

    release, done = threading.Event(), threading.Event()

    def slow():
        release.wait(10)
        done.set()

    admission = _fresh_start_up(monkeypatch, slow)
    admission.start_up()
    assert not done.is_set()
    release.set()
    assert done.wait(10)


def test_app_py_is_an_st_app_that_serves_lab_py():
    """`streamlit run app.py` and Community Cloud's entrypoint both start an st.App (so the lifespan runs)."""
    from streamlit.web.server.app_discovery import discover_asgi_app

    for entry in (ROOT / "app.py", ROOT / "deploy" / "streamlit_app.py"):
        assert discover_asgi_app(entry).is_asgi_app, entry
        assert "lab.py" in entry.read_text() and "lifespan=lifespan" in entry.read_text()


def test_the_cloud_requirements_take_cpu_only_torch():
    deploy = (ROOT / "deploy" / "requirements.txt").read_text()
    assert "--extra-index-url https://download.pytorch.org/whl/cpu" in deploy
    assert "torch==" in deploy and "+cpu" in deploy
    root = (ROOT / "requirements.txt").read_text()
    assert "download.pytorch.org" not in root  # a PyPI-only machine still installs the root file
    assert (ROOT / ".python-version").read_text().strip() == f"{sys.version_info.major}.{sys.version_info.minor}"


def test_the_readme_command_listens_on_loopback_only():
    readme = (ROOT / "README.md").read_text()
    assert "streamlit run app.py --server.address 127.0.0.1" in readme


def test_the_janitor_shuts_down_sessions_past_their_reconnect_window(monkeypatch):
    """Streamlit's session storage drops an expired session only on its next write, and never shuts it
    down (its download files stay in the media file manager): release_memory does both."""
    from types import SimpleNamespace

    from streamlit import runtime
    from streamlit.runtime.caching.ttl_cache import TTLCache

    from ui import admission

    now = [0.0]
    cache = TTLCache(maxsize=10, ttl=15, timer=lambda: now[0])
    shut = []
    for sid in ("a", "b"):
        cache[sid] = SimpleNamespace(session=SimpleNamespace(shutdown=lambda sid=sid: shut.append(sid)))
    fake = SimpleNamespace(_session_mgr=SimpleNamespace(_session_storage=SimpleNamespace(_cache=cache)))
    monkeypatch.setattr(runtime.Runtime, "instance", classmethod(lambda cls: fake))
    admission.release_memory()
    assert shut == [] and len(cache) == 2  # within the window: kept for a reconnect
    now[0] = 16.0
    admission.release_memory()
    assert sorted(shut) == ["a", "b"] and len(cache) == 0

