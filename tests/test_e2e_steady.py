"""Charts that hold still and colours that mean one thing, in headless Chromium against the real server.

Vega draws SVG with ARIA labels: an x axis says "X-axis titled 'step' for a linear scale with values
from 0 to 5,000", and each legend entry is a symbol beside its label. The tests read those.
"""

import re
import time

import pytest

from core.experiments import LESSONS, experiments

pytestmark = pytest.mark.browser

PAGES = {lesson.name: lesson.title for lesson in LESSONS}

X_AXES = """() => [...document.querySelectorAll('[data-testid="stVegaLiteChart"] [aria-label^="X-axis titled"]')]
    .map(a => a.getAttribute('aria-label')).filter(l => l.includes('step'))"""
HEIGHT = "() => document.querySelector('[data-testid=\"stMain\"]').scrollHeight"
TAG = """() => { const svgs = [...document.querySelectorAll('[data-testid="stVegaLiteChart"] svg.marks')];
    svgs.forEach(s => s.setAttribute('data-tag', '1')); return svgs.length; }"""
LEGENDS = """() => [...document.querySelectorAll('[data-testid="stVegaLiteChart"] .role-legend')].map(legend =>
    [...legend.querySelectorAll('.role-legend-symbol path')].map((p, i) => [
        legend.querySelectorAll('.role-legend-label text')[i]?.textContent,
        (p.getAttribute('stroke') || p.style.stroke || p.getAttribute('fill') || '').toLowerCase()]))"""


@pytest.fixture
def page(server, browser):
    pg = browser.new_page(viewport={"width": 1440, "height": 900})
    yield pg
    pg.close()


def test_a_live_chart_keeps_its_x_axis_and_the_page_keeps_its_height_when_the_run_ends(page, server):
    page.goto(f"{server}/vanishing?steps=5000&depth=3&width=16&probe_every=100")
    page.get_by_role("heading", name=PAGES["vanishing"]).wait_for(timeout=60_000)
    page.get_by_role("button", name="Train", exact=True).click()
    page.wait_for_function(f"() => ({X_AXES})().length > 0", timeout=60_000)
    first = page.evaluate(X_AXES)
    tagged = page.evaluate(TAG)  # the drawn charts' SVG, marked: a chart rebuilt later would lose the mark
    heights, finished_at = [], None
    deadline = time.time() + 120
    while time.time() < deadline:
        heights.append(page.evaluate(HEIGHT))
        done = page.get_by_text("Finished 5,000 steps").count() > 0
        if done and finished_at is None:
            finished_at = len(heights)
        if finished_at is not None and len(heights) > finished_at + 20:
            break
        page.wait_for_timeout(100)
    assert finished_at is not None, "the run did not finish"
    last = page.evaluate(X_AXES)
    # every step axis, whichever charts had drawn by the first redraw, spans the run's 5,000 planned steps
    assert set(first) == set(last) == {"X-axis titled 'step' for a linear scale with values from 0 to 5000"}, (
        first, last)
    # the same chart elements hold the final state: a chart remounted by a redraw or at the end loses the mark
    assert tagged > 0 and page.evaluate("() => document.querySelectorAll('svg.marks[data-tag]').length") == tagged
    # Heights from before the end are needed: with fewer than two, heights[finished_at - 2] read the list's
    # last sample (the page grown to its final height) and the check failed a run that kept its height.
    assert finished_at >= 2, f"the run finished before the page was sampled twice: {heights}"
    before_end = heights[finished_at - 2]
    assert min(heights[finished_at - 1:]) >= before_end - 4, (before_end, heights[finished_at - 5:])
    assert page.locator("[data-testid='stException']").count() == 0


def _run_legends(page, server, optimizers: str) -> dict:
    """Train the real-network comparison with these optimizers; each legend's label → colour."""
    page.goto(f"{server}/optimizers?optimizers-net.optimizers={optimizers}&optimizers-net.steps=20"
              "&optimizers-net.eval_every=5")
    page.get_by_role("heading", name=PAGES["optimizers"]).wait_for(timeout=60_000)
    page.get_by_role("tab", name="Real network").click()
    button = page.locator(".st-key-optimizers-net-train button").filter(visible=True).first
    button.scroll_into_view_if_needed()
    button.click()
    page.get_by_text(re.compile(r"Finished \d+ steps")).first.wait_for(timeout=90_000)
    names = optimizers.split(",")
    page.wait_for_function(f"() => ({LEGENDS})().filter(l => l.some(e => e[0] === {names[0]!r})).length >= 2",
                           timeout=30_000)
    return [dict(entries) for entries in page.evaluate(LEGENDS) if any(e[0] in names for e in entries)]


def test_the_same_optimizer_has_the_same_colour_on_every_chart_of_two_runs(page, server):
    one = _run_legends(page, server, "sgd,adam")
    two = _run_legends(page, server, "adagrad,adam,rmsprop")  # alphabetical colours would differ
    assert len(one) >= 2 and len(two) >= 2  # loss and accuracy, at least
    adam = {legend["adam"] for legend in one + two}
    assert len(adam) == 1 and "" not in adam, (one, two)
    for legend in one + two:
        assert len(set(legend.values())) == len(legend)  # no colour twice on one chart


FIRST = {lesson.name: lesson.experiments[0].name for lesson in LESSONS}
CUT_OFF = """() => { const out = [];
    for (const e of document.querySelectorAll('[data-testid=stMain] *')) {
        const r = e.getBoundingClientRect();
        if (r.right <= window.innerWidth + 2 || r.width === 0 || e.offsetParent === null || e.closest('.katex-mathml'))
            continue;
        let scrolls = false;  // inside a box of its own that scrolls sideways and itself fits the screen
        for (let a = e.parentElement; a && !scrolls; a = a.parentElement) {
            const fits = a.getBoundingClientRect().right <= window.innerWidth + 2;
            scrolls = ['auto', 'scroll'].includes(getComputedStyle(a).overflowX) && fits;
        }
        if (!scrolls) out.push((e.getAttribute('data-testid') || e.tagName) + ' ' + Math.round(r.right));
    }
    return out.slice(0, 10); }"""


@pytest.mark.parametrize("lesson", list(FIRST))
def test_the_first_screen_has_the_presets_and_train_and_a_phone_cuts_nothing(browser, server, lesson):
    """1440×900: the preset pills and Train are visible without scrolling. 390 px: with every expander open,
    nothing sticks out past the screen's edge (wide formulas and charts scroll inside their own box)."""
    name = FIRST[lesson]
    desk = browser.new_page(viewport={"width": 1440, "height": 900})
    try:
        desk.goto(f"{server}/{lesson}")
        train = desk.locator(f".st-key-{name}-train button").filter(visible=True).first
        train.wait_for(timeout=60_000)
        desk.wait_for_timeout(1000)
        presets = [desk.locator(f".st-key-{name}-preset").first] if experiments()[name].presets else []
        for part in (train, *presets):
            box = part.bounding_box()
            assert box is not None and box["y"] + box["height"] <= 900, (lesson, box)
    finally:
        desk.close()
    phone = browser.new_page(viewport={"width": 390, "height": 844})
    try:
        phone.goto(f"{server}/{lesson}")
        phone.locator(f".st-key-{name}-train button").filter(visible=True).first.wait_for(timeout=60_000)
        for header in phone.locator("[data-testid=stExpander] summary").filter(visible=True).all():
            header.click()
        phone.wait_for_timeout(1500)
        assert phone.evaluate(CUT_OFF) == []
    finally:
        phone.close()
