"""The Korean edition in headless Chromium: every page opened with ?lang=ko, Train pressed, shows Korean
(ASCII words outside identifiers, numbers and formulas under 5% of the words) and renders Hangul with a
real font (no tofu), in the page and in the charts."""

from __future__ import annotations

import re
import urllib.parse
from pathlib import Path

import pytest

from core import config
from core.experiments import LESSONS, experiments, lesson_of
from core.messages import config_classes
from ui.charts import FONT

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parent.parent
SHOTS = ROOT / "docs" / "ko"
HANGUL = re.compile(r"[\uac00-\ud7a3]")
LIMIT = 0.05


def _identifiers() -> set[str]:
    """Words a Korean reader sees as they are: option values, presets, experiment and run names,
    metric ids, and the torch and Python names the prose quotes."""
    words: set[str] = set()
    for exp in experiments().values():
        words.update(exp.presets)
        words.update(exp.name.split("-"))
        words.update(exp.metrics)
    for cls in config_classes():
        for f in config.specs(cls):
            words.add(f.name)
            for choice in f.metadata["choices"] or ():
                words.update(re.split(r"[-_]", str(choice)) + [str(choice)])
    words.update(("torch", "torchvision", "autograd", "softplus", "scikit"))  # libraries and their functions
    return {w.lower() for w in words}


IDENTIFIERS = _identifiers()


def ascii_share(text: str) -> tuple[float, list[str]]:
    """The share of words that are ASCII words outside identifiers, numbers and formulas, and those words.

    A word is a whitespace-separated token with a letter in it. It counts as English when it holds
    Latin letters and no Hangul, and it is not: an identifier (IDENTIFIERS), code (with `_ . / = ( ) `
    or a digit), a single letter or a Greek or math token, an acronym in capitals (BN, MLP, SGD, CUDA),
    or a name of a person or a product written in Latin letters by the study group's notes too
    (a capitalised word inside a Korean sentence: Glorot, Adam, PyTorch)."""
    words, english = 0, []
    for raw in text.split():
        token = raw.strip(".,;:!?()[]{}'\"“”‘’·—–-*×≈")
        if not re.search(r"[A-Za-z\uac00-\ud7a3]", token):
            continue  # numbers, symbols
        words += 1
        if HANGUL.search(token) or not re.search(r"[A-Za-z]{2,}", token):
            continue
        bare = re.sub(r"[^A-Za-z_]", "", token)
        if (bare.lower() in IDENTIFIERS or re.search(r"[_./=()`\d]", token) or bare.isupper()
                or bare[:1].isupper()):
            continue
        english.append(token)
    return (len(english) / words if words else 0.0), english


def test_the_word_count_counts_english_sentences():
    share, found = ascii_share("This run does not record what the claim measures 훈련 relu 0.5")
    assert share > 0.5 and "record" in found
    assert ascii_share("활성화 함수 relu 와 he_normal, BN, σ′(z), 1,000 스텝")[0] == 0


def _smoke(lesson) -> str:
    exp = lesson.experiments[0]
    query = {k: config.format_value(v) for k, v in exp.smoke.items()}
    return urllib.parse.urlencode({**query, "lang": "ko"})


def visible_text(page, selector: str) -> str:
    """The rendered text of `selector`, without code and formulas (identifiers and maths, not English)."""
    return page.evaluate("""(sel) => {
        const hidden = [...document.querySelectorAll(sel + ' code, ' + sel + ' pre, ' + sel + ' .katex')];
        hidden.forEach(n => n.dataset.display = n.style.display);
        hidden.forEach(n => n.style.display = 'none');
        const text = document.querySelector(sel).innerText;
        hidden.forEach(n => n.style.display = n.dataset.display);
        return text;
    }""", selector)


def _no_tofu(page) -> dict:
    """Render Hangul in the page's own font and in the charts' font stack on a canvas: two different
    syllables must give different pixels (missing glyphs all draw the same empty box)."""
    return page.evaluate("""(chart) => {
        const draw = (font, ch) => {
            const c = document.createElement('canvas'); c.width = 64; c.height = 64;
            const ctx = c.getContext('2d'); ctx.font = '40px ' + font; ctx.fillText(ch, 4, 48);
            return Array.from(ctx.getImageData(0, 0, 64, 64).data).join(',');
        };
        const page = getComputedStyle(document.querySelector('[data-testid=stMain] h1')).fontFamily;
        const spec = document.querySelector('[data-testid=stVegaLiteChart]');
        const hangul = f => new Set(['가', '훈', '련', '힣'].map(ch => draw(f, ch))).size;
        const notdef = f => draw(f, '\\u{10FFFD}');
        return {page: hangul(page), chart: hangul(chart),
                page_is_box: draw(page, '훈') === notdef(page), chart_is_box: draw(chart, '훈') === notdef(chart),
                charts: spec !== null};
    }""", FONT)


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda x: x.name)
def test_every_lesson_in_korean_after_train(browser, server, lesson):
    page = browser.new_page(viewport={"width": 1440, "height": 900}, locale="ko-KR")
    try:
        page.goto(f"{server}/{lesson.name}?{_smoke(lesson)}")
        page.wait_for_function("() => /[\\uac00-\\ud7a3]/.test(document.querySelector('h1')?.innerText || '')",
                               timeout=60_000)
        exp = lesson.experiments[0]
        button = page.locator(f".st-key-{exp.name}-train button").filter(visible=True).first
        assert HANGUL.search(button.inner_text())
        button.scroll_into_view_if_needed()
        button.click()
        page.get_by_text(re.compile(r"스텝을 .*초 만에 마쳤습니다")).first.wait_for(timeout=120_000)
        page.wait_for_function("() => document.querySelectorAll('.mark-line path, .mark-rect path').length > 0",
                               timeout=30_000)
        assert page.locator("[data-testid='stException']").count() == 0
        if lesson.name in ("vanishing", "batchnorm"):  # the note's screenshots: the run's first screen
            page.wait_for_timeout(1500)
            page.locator("[data-testid=stVegaLiteChart]").first.scroll_into_view_if_needed()
            SHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SHOTS / f"{lesson.name}.png"))
        text = visible_text(page, "[data-testid=stSidebar]")
        tabs = page.get_by_role("tab").all() or [None]
        for tab in tabs:  # every tab, with every expander open, so all of the page's text counts
            if tab is not None:
                tab.click()
                page.wait_for_timeout(500)
            for header in page.locator("[data-testid=stExpander] summary").filter(visible=True).all():
                header.click()
            page.wait_for_timeout(500)
            text += "\n" + visible_text(page, "[data-testid=stMain]")
        share, english = ascii_share(text)
        print(f"\n{lesson.name}: {share:.2%} English words of {len(text.split())} ({english[:12]})")
        assert share < LIMIT, f"{share:.1%} English words: {english[:40]}"
        fonts = _no_tofu(page)
        assert fonts["page"] == 4 and fonts["chart"] == 4, fonts
        assert not fonts["page_is_box"] and not fonts["chart_is_box"], fonts
        assert "lang=ko" in page.url
    finally:
        page.close()


def test_the_switch_keeps_the_settings_and_the_run_and_the_link(browser, server):
    page = browser.new_page(viewport={"width": 1440, "height": 900})
    try:
        page.goto(f"{server}/vanishing?steps=30&depth=3")
        page.get_by_role("heading", name="Vanishing & exploding gradients").wait_for(timeout=60_000)
        page.get_by_role("button", name="Train", exact=True).click()
        page.get_by_text("Finished 30 steps").wait_for(timeout=60_000)
        page.locator("[data-testid=stSidebar] [data-testid=stSelectbox]").first.click()
        page.get_by_role("option", name="한국어").click()
        page.get_by_role("heading", name="그래디언트 소실과 폭주").wait_for(timeout=30_000)
        page.get_by_text("30 스텝을").wait_for(timeout=30_000)  # the same run, now in Korean
        assert "steps=30" in page.url and "depth=3" in page.url and "lang=ko" in page.url
        page.get_by_role("link", name="활성화 함수").first.click()  # another page keeps the language
        page.get_by_role("heading", name="활성화 함수").wait_for(timeout=30_000)
        assert lesson_of(experiments()["activations"]).name in page.url
    finally:
        page.close()


@pytest.mark.parametrize("path", ["", "runs"])
def test_home_and_runs_in_korean(browser, server, path):
    page = browser.new_page(viewport={"width": 1440, "height": 900})
    try:
        page.goto(f"{server}/{path}?lang=ko")
        page.wait_for_function("() => /[\\uac00-\\ud7a3]/.test(document.querySelector('h1')?.innerText || '')",
                               timeout=60_000)
        page.wait_for_timeout(1000)
        text = visible_text(page, "[data-testid=stMain]") + "\n" + visible_text(page, "[data-testid=stSidebar]")
        share, english = ascii_share(text)
        assert share < LIMIT, f"{share:.1%} English words: {english[:40]}"
        assert page.locator("[data-testid='stException']").count() == 0
    finally:
        page.close()


def test_a_fresh_servers_first_visitor_gets_the_links_language(browser, tmp_path):
    """On a fresh server Streamlit runs a deep link's page before lab.py, which then sees no query:
    the language comes from the link the page kept aside (it used to fall back to English)."""
    from tests.conftest import _free_port, _serve

    with open(tmp_path / "server.log", "w") as log:
        serving = _serve(_free_port(), log)
        url = next(serving)
        page = browser.new_page(viewport={"width": 1440, "height": 900})
        try:
            page.goto(f"{url}/vanishing?lang=ko&steps=40")
            page.get_by_role("heading", name="그래디언트 소실과 폭주").wait_for(timeout=90_000)
            page.wait_for_function("() => location.search.includes('lang=ko')", timeout=30_000)
            assert "steps=40" in page.url
        finally:
            page.close()
            next(serving, None)
