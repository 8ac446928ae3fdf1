"""A reader's desk (ui.desk): their history and last results found again by a new session of the same browser
(its cookie's token), never by another browser. References: the runs each session trained, counted directly."""

from __future__ import annotations

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from core.history import History
from ui import desk

from .conftest import ROOT

APP = str(ROOT / "lab.py")


@pytest.fixture
def browser(monkeypatch):
    """A fake browser: the token the next session's connection sends (None: no cookie yet)."""
    sent = {"token": None}
    monkeypatch.setattr(desk, "browser_token", lambda: sent["token"])
    monkeypatch.setattr(desk, "_desks", desk.Desks())
    return sent


def _session(query: dict | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    for k, v in (query or {"steps": "12", "depth": "2"}).items():
        at.query_params[k] = v
    at.run()
    return at


def _train(at: AppTest) -> None:
    at.switch_page("pages/vanishing.py").run()
    at.button(key="vanishing.train").click().run()
    assert not at.exception


def test_a_new_session_of_the_same_browser_finds_its_runs_and_another_browser_does_not(browser):
    first = _session()
    _train(first)
    _train(first)  # the second one is the first shared back (core.runstore): a run of the history all the same
    token = first.session_state[desk.KEY]
    assert desk.TOKEN.fullmatch(token) and first.session_state[desk.FRESH]  # it made the token: it sets the cookie
    mine = [e.id for e in first.session_state["_history"].entries]
    assert len(mine) == 2

    browser["token"] = token  # a reload: a new session whose connection carries the cookie
    again = _session()
    again.switch_page("pages/runs.py").run()
    assert [e.id for e in again.session_state["_history"].entries] == mine
    assert not any("No runs yet" in i.value for i in again.info)
    again.switch_page("pages/vanishing.py").run()
    assert any("Finished" in s.value for s in again.success)  # the last result, drawn again
    assert desk.FRESH not in again.session_state

    browser["token"] = None  # another browser, given the same link
    other = _session()
    other.switch_page("pages/runs.py").run()
    assert other.session_state[desk.KEY] != token and not other.session_state["_history"].entries
    assert any("No runs yet" in i.value for i in other.info)


def test_a_made_up_cookie_is_not_a_desk(monkeypatch):
    class Context:
        cookies = {desk.COOKIE: "<script>alert(1)</script>"}

    monkeypatch.setattr(desk.st, "context", Context())
    assert desk.browser_token() is None
    Context.cookies = {desk.COOKIE: "a" * 43}
    assert desk.browser_token() == "a" * 43


def test_desks_are_bounded_and_kept_under_the_tokens_hash():
    desks = desk.Desks(max_desks=2, max_bytes=1 << 20)
    for token in ("a" * 40, "b" * 40, "c" * 40):
        desks.put(token, desk.Desk())
    assert len(desks) == 2 and desks.get("a" * 40) is None and desks.get("c" * 40) is not None
    assert all("c" * 40 not in str(k) for k in desks._store._cache._items)  # the store never holds a token

    big = desk.Desk()
    big.history = History()
    frame = pd.DataFrame({"run": ["r"] * 100_000, "step": range(100_000), "metric": ["loss"] * 100_000,
                          "layer": [None] * 100_000, "value": [0.0] * 100_000})
    big.history.add("vanishing", "vanishing", None, frame, "finished", 1, 0.0)
    assert big.nbytes >= frame.memory_usage(index=False).sum()
    desks.put("d" * 40, big)  # larger than the whole budget: not kept
    assert desks.get("d" * 40) is None
