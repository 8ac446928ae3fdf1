"""End to end: the real server on localhost, every page in headless Debian Chromium, Train pressed."""

import re
import time
import urllib.parse
from pathlib import Path

import pytest

from core.config import format_value
from core.experiments import LESSONS, experiments, lesson_of
from ui import nav

pytestmark = pytest.mark.browser

PAGES = {"": "Deep-Net Training Lab", **{lesson.name: lesson.title for lesson in LESSONS}}
EXPERIMENTS = experiments()
TABS = {"optimizers-net": "Real network", "lr-range": "Real network"}  # experiments on a page's second tab


@pytest.fixture
def page(server, browser):
    pg = browser.new_page(viewport={"width": 1400, "height": 1800})
    yield pg
    pg.close()


def _marks_with_data(pg) -> int:
    """How many drawn line or rect marks the page's vega charts hold (each path has geometry)."""
    return pg.evaluate("""() => [...document.querySelectorAll(
        '[data-testid="stVegaLiteChart"] .mark-line path, [data-testid="stVegaLiteChart"] .mark-rect path')]
        .filter(p => (p.getAttribute('d') || '').length > 10).length""")


@pytest.mark.parametrize("path", PAGES)
def test_every_page_opens_without_exception(page, server, path):
    page.goto(f"{server}/{path}")
    page.get_by_role("heading", name=PAGES[path]).wait_for(timeout=60_000)
    assert page.locator("[data-testid='stException']").count() == 0


def test_deep_link_sets_controls_and_train_draws_charts(page, server):
    page.goto(f"{server}/vanishing?preset=relu-he&steps=60&depth=3")
    page.get_by_role("heading", name=PAGES["vanishing"]).wait_for(timeout=60_000)
    page.get_by_role("button", name="Train", exact=True).click()
    page.get_by_text("Finished 60 steps").wait_for(timeout=60_000)
    page.locator("[data-testid='stVegaLiteChart']").nth(6).wait_for(timeout=20_000)
    assert page.locator("[data-testid='stVegaLiteChart']").count() == 7
    page.wait_for_function("() => document.querySelectorAll('.mark-rect path').length > 10", timeout=20_000)
    assert _marks_with_data(page) > 10
    assert page.locator("[data-testid='stException']").count() == 0
    assert "preset=relu-he" in page.url


def test_live_curves_then_stop_keeps_the_partial_run(page, server):
    page.goto(f"{server}/vanishing?steps=20000&depth=3&width=16")
    page.get_by_role("heading", name=PAGES["vanishing"]).wait_for(timeout=60_000)
    page.get_by_role("button", name="Train", exact=True).click()
    page.get_by_text(re.compile(r"ETA \d+ s")).first.wait_for(timeout=30_000)  # the live progress bar
    page.wait_for_function("() => document.querySelectorAll('.mark-line path').length > 0", timeout=30_000)
    assert _marks_with_data(page) > 0  # charts hold data while training runs
    page.locator("[data-testid='stMain']").get_by_role("button", name="Stop", exact=True).click()
    page.get_by_text("Stopped at step").wait_for(timeout=30_000)
    page.get_by_role("button", name="Download CSV").wait_for(timeout=30_000)
    assert page.locator("[data-testid='stException']").count() == 0


def _smoke_query(exp) -> str:
    ns = lesson_of(exp).namespace(exp)
    return urllib.parse.urlencode({(f"{ns}.{k}" if ns else k): format_value(v) for k, v in exp.smoke.items()})


@pytest.mark.parametrize("name", [n for n in EXPERIMENTS if n != "transfer-cnn"])
def test_every_experiment_trains_and_draws_in_the_browser(page, server, name):
    """Open the experiment's lesson from a link, press its Train, and see its charts drawn."""
    exp = EXPERIMENTS[name]
    lesson = lesson_of(exp)
    page.goto(f"{server}/{lesson.name}?{_smoke_query(exp)}")
    page.get_by_role("heading", name=PAGES[lesson.name]).wait_for(timeout=60_000)
    if name in TABS:
        page.get_by_role("tab", name=TABS[name]).click()
    button = page.locator(f".st-key-{name}-train button").filter(visible=True).first
    button.scroll_into_view_if_needed()
    button.click()
    page.get_by_text("Finished").first.wait_for(timeout=90_000)
    page.wait_for_function("() => document.querySelectorAll('.mark-line path').length >= 1", timeout=30_000)
    assert _marks_with_data(page) >= 1
    assert page.locator("[data-testid='stException']").count() == 0


def test_cnn_offline_is_a_message_in_the_browser(page, server):
    page.goto(f"{server}/transfer?transfer-cnn.steps=2")
    page.get_by_role("heading", name=PAGES["transfer"]).wait_for(timeout=60_000)
    button = page.locator(".st-key-transfer-cnn-train button").filter(visible=True).first
    button.scroll_into_view_if_needed()
    button.click()
    page.get_by_text("could not be downloaded").wait_for(timeout=90_000)
    assert page.locator("[data-testid='stException']").count() == 0


def test_clicking_the_surface_map_sets_the_start(page, server):
    page.goto(f"{server}/optimizers")
    page.get_by_role("heading", name=PAGES["optimizers"]).wait_for(timeout=60_000)
    page.wait_for_selector("[data-testid=stVegaLiteChart] canvas", timeout=60_000)
    page.wait_for_timeout(1500)
    field = page.get_by_test_id("stTextInputField").first
    assert field.input_value() == "-9.0,2.0"
    canvas = page.locator("[data-testid=stVegaLiteChart] canvas").first
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    page.mouse.click(box["x"] + 150, box["y"] + 200)
    page.wait_for_function("() => !document.querySelector('[data-testid=stTextInputField]').value.startsWith('-9.0')",
                           timeout=30_000)
    x, y = (float(v) for v in field.input_value().split(","))
    assert -10 <= x <= 2 and -3 <= y <= 3 and "start=" in page.url


def test_a_fresh_server_never_shows_file_names_or_a_start_up_spinner(browser, tmp_path):
    """The first visitor of a fresh server: no `app, activations, …` navigation, no "Running start_up()"."""
    from tests.conftest import _free_port, _serve

    port = _free_port()
    with open(tmp_path / "server.log", "w") as log:
        serving = _serve(port, log)
        url = next(serving)
        pg = browser.new_page(viewport={"width": 1440, "height": 900})
        try:
            pg.goto(f"{url}/")
            raw, spinner, deadline = 0, 0, time.time() + 60
            while time.time() < deadline:
                nav = pg.locator("[data-testid='stSidebarNav']")
                text = nav.inner_text() if nav.count() else ""
                raw += "batchnorm" in text  # a file name, not a title
                spinner += "start_up" in pg.locator("body").inner_text()
                if PAGES["batchnorm"] in text:
                    break
                pg.wait_for_timeout(50)
            assert PAGES["batchnorm"] in text, "the titled navigation never appeared"
            assert raw == 0 and spinner == 0
        finally:
            pg.close()
            next(serving, None)


def test_the_cloud_entrypoint_serves_the_lab(browser, tmp_path):
    """Community Cloud runs `streamlit run deploy/streamlit_app.py` (from elsewhere): the lab, its lessons, no error."""
    from tests.conftest import ROOT, _free_port, _serve

    with open(tmp_path / "server.log", "w") as log:
        serving = _serve(_free_port(), log, script=str(ROOT / "deploy" / "streamlit_app.py"), cwd=tmp_path)
        url = next(serving)
        pg = browser.new_page(viewport={"width": 1440, "height": 900})
        try:
            pg.goto(f"{url}/")
            pg.get_by_role("heading", name="Deep-Net Training Lab").wait_for(timeout=60_000)
            pg.locator("[data-testid='stSidebarNav']").get_by_text(PAGES["batchnorm"]).wait_for(timeout=30_000)
            assert pg.locator("[data-testid='stException']").count() == 0
        finally:
            pg.close()
            next(serving, None)
    assert "Traceback" not in (tmp_path / "server.log").read_text()


def test_a_hostile_link_is_shown_as_text_not_markup(page, server):
    """URL values echoed in a warning: no link, no image, no formula; cut to 80 characters."""
    query = urllib.parse.urlencode({"activation": "[Session expired — Log in again](https://evil.example/login)",
                                    "init": "![x](https://evil.example/pixel.png)", "steps": "9" * 400,
                                    "width": "<img src=https://evil.example/p.png>" + "x" * 10_000})
    page.goto(f"{server}/vanishing?{query}")
    page.get_by_role("heading", name=PAGES["vanishing"]).wait_for(timeout=60_000)
    alerts = page.locator("[data-testid='stAlert']")
    alerts.first.wait_for(timeout=30_000)
    text, deadline = "", time.time() + 30  # the warnings arrive one by one: read once the last one is there
    while time.time() < deadline and "pixel.png" not in text:
        page.wait_for_timeout(200)
        text = " ".join(alerts.all_inner_texts()).replace("\u200b", "")  # the zero-width space defusing autolinks
    assert "[Session expired — Log in again](https://evil.example/login)" in text  # shown literally
    assert "![x](https://evil.example/pixel.png)" in text
    assert page.locator("a[href*='evil'], img[src*='evil']").count() == 0
    assert "x" * 81 not in text and "9" * 81 not in text  # echoes are cut
    assert page.locator("[data-testid='stException']").count() == 0


def _idle(pg, timeout_ms: int = 90_000) -> None:
    """Wait until the app has finished its rerun (Streamlit's running indicator is gone)."""
    pg.wait_for_function("() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=timeout_ms)


FIRST = {lesson.name: lesson.experiments[0] for lesson in LESSONS}
CHANGE = {"optimizers": ("steps", "31")}  # the second run's setting; the others change their seed


def _generic(lesson) -> bool:
    """Whether ui.page.render_lesson draws the lesson (loss and accuracy curves only: nothing drawn per run)."""
    file = nav.page_file(lesson)
    return not file.exists() or "render_lesson(" in file.read_text()


PANELS = {lesson.name: not _generic(lesson) for lesson in LESSONS}  # lessons with charts drawn once per run


@pytest.mark.parametrize("lesson", list(FIRST))
def test_two_runs_overlaid_on_every_chart(page, server, lesson, tmp_path):
    """Train twice with different settings in one session, press 'Compare with previous run': every curve
    holds both runs (legend), every other chart is drawn once per run, side by side."""
    import os

    exp = FIRST[lesson]
    page.goto(f"{server}/{lesson}?{_smoke_query(exp)}")
    page.get_by_role("heading", name=PAGES[lesson]).wait_for(timeout=60_000)
    train = page.locator(f".st-key-{exp.name}-train button").filter(visible=True).first
    train.click()
    page.get_by_text("Run history (1 in this browser)").wait_for(timeout=120_000)
    field, value = CHANGE.get(lesson, ("seed", "1"))
    box = page.locator(f".st-key-{exp.name}-{field} input").first
    box.fill(value)
    box.press("Enter")
    page.wait_for_timeout(500)
    _idle(page)
    train.click()
    page.get_by_text("Run history (2 in this browser)").wait_for(timeout=120_000)
    page.wait_for_timeout(1000)
    page.locator(f".st-key-{exp.name}-compare button").filter(visible=True).first.click()
    # the curves: a line colour per run, both runs in one legend
    page.wait_for_function("""() => [...document.querySelectorAll('[data-testid="stVegaLiteChart"] .role-legend')]
        .some(l => l.textContent.includes('#1 ') && l.textContent.includes('#2 '))""", timeout=90_000)
    _idle(page)
    # every other chart: a panel per run, each under its run's label (as many for #1 as for #2)
    page.wait_for_function("""panels => {
        const texts = [...document.querySelectorAll('[data-testid="stCaptionContainer"]')].map(c => c.innerText);
        const one = texts.filter(t => t.startsWith('#1 ')).length, two = texts.filter(t => t.startsWith('#2 ')).length;
        return (one > 0) === panels && one === two;
    }""", arg=PANELS[lesson], timeout=60_000)
    assert page.locator("[data-testid='stException']").count() == 0
    if shots := os.environ.get("DNLAB_SCREENSHOTS"):
        page.locator(f".st-key-{exp.name}-compare").first.evaluate("e => e.scrollIntoView({block: 'start'})")
        page.wait_for_timeout(500)
        page.screenshot(path=f"{shots}/overlay-{lesson}.png")


def test_a_cli_csv_comes_back_as_a_run_and_a_bad_one_is_refused(page, server, tmp_path):
    from core.__main__ import main

    good, bad = tmp_path / "cli.csv", tmp_path / "bad.csv"
    assert main(["run", "vanishing", "--steps", "12", "--depth", "3", "--activation", "relu", "--out", str(good)]) == 0
    bad.write_text("epoch,loss\n1,2.0\n")
    page.goto(f"{server}/vanishing?steps=12&depth=3")
    page.get_by_role("heading", name=PAGES["vanishing"]).wait_for(timeout=60_000)
    page.locator(".st-key-vanishing-train button").first.click()
    page.get_by_text("Run history (1 in this browser)").wait_for(timeout=60_000)
    uploader = page.locator(".st-key-vanishing-upload input[type=file]")
    uploader.set_input_files(str(bad))
    page.get_by_text("bad.csv was not loaded: The columns must be run, step, metric, layer, value").wait_for(
        timeout=30_000)
    uploader.set_input_files(str(good))
    page.get_by_text("records loaded as #2 upload cli").wait_for(timeout=30_000)
    page.get_by_text("Run history (2 in this browser)").wait_for(timeout=30_000)
    page.locator(".st-key-vanishing-compare button").filter(visible=True).first.click()
    page.wait_for_function("""() => [...document.querySelectorAll('[data-testid="stVegaLiteChart"] .role-legend')]
        .some(l => l.textContent.includes('#2 upload cli'))""", timeout=30_000)
    assert page.locator("[data-testid='stException']").count() == 0


def test_a_gallery_control_moved_mid_run_leaves_the_run_finishing(page, server):
    """The gallery is a fragment: redrawing it does not rerun the page, which would stop the training."""
    page.goto(f"{server}/activations?steps=3000&depth=2&width=16&activations=relu,elu&probe_every=500&eval_every=500")
    page.get_by_role("heading", name=PAGES["activations"]).wait_for(timeout=60_000)
    button = page.locator(".st-key-activations-train button").filter(visible=True).first
    button.click()
    page.get_by_text(re.compile(r"ETA \d+ s")).first.wait_for(timeout=60_000)
    page.locator("[data-testid=stExpander] summary").filter(has_text="Gallery").click()  # folded on the first screen
    field = page.locator(".st-key-gallery-leaky_alpha input")
    field.fill("0.2")
    field.press("Enter")
    page.wait_for_timeout(1000)
    assert page.get_by_text("Stopped at step").count() == 0
    page.get_by_text("Finished 3,000 steps").wait_for(timeout=180_000)
    assert field.input_value() == "0.2"
    assert page.locator("[data-testid='stException']").count() == 0


def _csv_rows(pg, timing: set[str]) -> list[list[str]]:
    """The run's CSV as the Download CSV button gives it, wall times aside, in a fixed order."""
    with pg.expect_download(timeout=30_000) as got:
        pg.locator(".st-key-vanishing-download button").first.click()
    rows = [r.split(",") for r in Path(got.value.path()).read_text(encoding="utf-8").splitlines()[1:]]
    return sorted(r for r in rows if r[2] not in timing)


def test_a_second_visitor_on_the_same_settings_gets_the_run_at_once_and_can_train_it_afresh(browser, server):
    """Two browsers (two sessions): the second one's Train on the first one's settings shows the first one's
    run at once and says so; Train afresh trains it live, to the same records."""
    timing = set(experiments()["vanishing"].timing_metrics)
    url = f"{server}/vanishing?steps=40&depth=3&seed=9191"  # a seed no other test trains
    one, two = browser.new_context(viewport={"width": 1440, "height": 900}), \
        browser.new_context(viewport={"width": 1440, "height": 900})
    try:
        first, second = one.new_page(), two.new_page()
        first.goto(url)
        first.locator(".st-key-vanishing-train button").first.click()
        first.get_by_text("Finished 40 steps").wait_for(timeout=60_000)
        _idle(first)
        theirs = _csv_rows(first, timing)
        second.goto(url)
        second.locator(".st-key-vanishing-train button").first.click()
        second.get_by_text("The same settings and seed as a run trained on this server").wait_for(timeout=30_000)
        _idle(second)
        assert _csv_rows(second, timing) == theirs
        second.locator(".st-key-vanishing-afresh button").first.click()
        # the note goes as the live run replaces the shared one (the old "Finished" may show until then)
        second.get_by_text("The same settings and seed as a run trained on this server").wait_for(
            state="detached", timeout=60_000)
        second.get_by_text("Finished 40 steps").wait_for(timeout=60_000)
        _idle(second)
        assert second.get_by_text("The same settings and seed as a run trained on this server").count() == 0
        assert _csv_rows(second, timing) == theirs
        assert first.locator("[data-testid='stException']").count() == 0
        assert second.locator("[data-testid='stException']").count() == 0
    finally:
        one.close()
        two.close()


def test_a_second_visitor_who_presses_train_while_the_first_trains_joins_that_run(browser, server):
    """Single flight (ui.flight): the second browser's Train on settings the first is training now joins that
    run, says so, and both end with the same records."""
    timing = set(experiments()["vanishing"].timing_metrics)
    url = f"{server}/vanishing?steps=2500&depth=4&seed=9292"  # a seed no other test trains; several seconds
    one, two = browser.new_context(viewport={"width": 1440, "height": 900}), \
        browser.new_context(viewport={"width": 1440, "height": 900})
    try:
        first, second = one.new_page(), two.new_page()
        first.goto(url)
        second.goto(url)
        second.locator(".st-key-vanishing-train button").first.wait_for(timeout=60_000)
        first.locator(".st-key-vanishing-train button").first.click()
        first.get_by_text(re.compile(r"ETA \d+ s")).first.wait_for(timeout=60_000)
        second.locator(".st-key-vanishing-train button").first.click()
        second.get_by_text("Joined a run of the same settings and seed").first.wait_for(timeout=30_000)
        for pg in (first, second):
            pg.get_by_text("Finished 2,500 steps").wait_for(timeout=120_000)
            _idle(pg)
        assert second.get_by_text("You joined this run").count() == 1  # said under the finished run too
        assert first.get_by_text("joined this run").count() == 0 and first.get_by_text("Joined a run").count() == 0
        assert _csv_rows(second, timing) == _csv_rows(first, timing)
        for pg in (first, second):
            assert pg.locator("[data-testid='stException']").count() == 0
    finally:
        one.close()
        two.close()


def _history_count(pg) -> int:
    text = pg.get_by_text(re.compile(r"Run history \(\d+ in this browser\)")).first.inner_text(timeout=60_000)
    return int(re.search(r"\((\d+)", text).group(1))


def test_runs_survive_a_reload_and_a_minute_offline_and_stay_with_their_browser(browser, server):
    """ui.desk: two runs, then a reload, then 60 s offline: both are in the history and on the Runs page. A second
    browser given the first's page link gets its settings and none of its runs."""
    one, two = browser.new_context(viewport={"width": 1440, "height": 900}), \
        browser.new_context(viewport={"width": 1440, "height": 900})
    try:
        first = one.new_page()
        for n, seed in enumerate((9393, 9394), 1):  # the second goto is a new session: the first run must be kept
            first.goto(f"{server}/vanishing?steps=20&depth=3&seed={seed}")
            first.locator(".st-key-vanishing-train button").first.click()
            first.get_by_text(f"Run history ({n} in this browser)").wait_for(timeout=60_000)
            _idle(first)
        assert _history_count(first) == 2
        first.reload()
        assert _history_count(first) == 2 and first.get_by_text("Finished 20 steps").count() >= 1
        one.set_offline(True)
        first.wait_for_timeout(60_000)
        one.set_offline(False)  # the page reconnects by itself, to a new session (the old one's 15 s are up)
        first.get_by_text("Run history (2 in this browser)").wait_for(timeout=60_000)
        first.reload()
        assert _history_count(first) == 2
        first.goto(f"{server}/runs")
        first.get_by_text(re.compile(r"#2 .*seed 9394")).first.wait_for(timeout=60_000)
        assert first.get_by_text("No runs yet in this browser").count() == 0
        second = two.new_page()
        second.goto(f"{server}/vanishing?steps=20&depth=3&seed=9394")
        second.locator(".st-key-vanishing-train button").first.wait_for(timeout=60_000)
        _idle(second)
        assert second.get_by_text("Run history").count() == 0 and second.get_by_text("Finished 20 steps").count() == 0
        assert "seed=9394" in second.url
        second.goto(f"{server}/runs")
        second.get_by_text("No runs yet in this browser").wait_for(timeout=60_000)
    finally:
        one.close()
        two.close()
