"""Browser against headless, side by side: each lesson's default run in Chromium on the loopback
server, and the same run through the engine in this process (what `python -m core run` does).

    python -m benchmarks.browser [--width PX] [--lang ko] [LESSON ...]   (default: 1440 px, English, every lesson)

Per lesson (its first experiment; the optimizers lesson's real network, since its surface race is
paced on purpose), alternating the two: headless_s, browser_s (Train pressed to the "Finished"
message), their ratio (issue 11's target: <= 1.15), and first_point_s (Train to the first line or
cell drawn that was not on the page before: not the last run's, not the gallery's; for the playground its
first decision boundary; target <= 0.5 s on a warm server). Both are timed inside the page (WATCH): from
the click's dispatch to the frame after the change reached the DOM. One JSON object.
"""

from __future__ import annotations

import argparse
import json
import time

from core.device import configure_threads
from core.experiments import LESSONS, experiments
from ui.admission import MAX_CONCURRENT_RUNS

from .load import CHROMIUM, DONE, Server

INSTEAD = {"optimizers": "optimizers-net"}  # the real network: the surface race is paced on purpose
RUNS = {lesson.name: INSTEAD.get(lesson.name, lesson.experiments[0].name) for lesson in LESSONS}
TABS = {"optimizers-net": 1}  # the tab (by position, in any language) that holds the experiment
FINISHED_KO = r"스텝을 [\d.]+초 만에 마쳤습니다|발산했습니다"  # DONE's messages as the Korean edition words them
_CHART = "[data-testid=stVegaLiteChart]"
MARKS = ".mark-line path, .mark-rect path"  # what counts as drawn: a line or a cell
# the playground's first picture is its decision boundary: one image (pages/playground.py), not its curves
FIRST_MARKS = {"playground": ".mark-image image"}
# Before Train: the marks already on the page (the session's last run, the activations gallery), by geometry.
SEEN = """(sel) => { window.__seen = new Set([...document.querySelectorAll(sel)]
    .map(m => m.getAttribute('d') || m.getAttribute('href'))); }"""
# Timed inside the page, so that the figures are the page's and not the harness's: the click as it is
# dispatched, and the next frame after the first new mark (in a visible chart) and after the finished
# message reach the DOM. A mutation observer only looks at what changed, and no polling loop competes
# with the run for the two CPUs (Playwright's waits poll at growing intervals, up to 0.5 s late). No
# attributeFilter: it drops namespaced attributes, and Vega sets an image's href with setAttributeNS.
WATCH = r"""([done, sel]) => {
  const re = new RegExp(done), t = window.__times = {click: null, first: null, done: null};
  const at = key => requestAnimationFrame(() => { if (t[key] === null) t[key] = performance.now(); });
  const shape = m => m.getAttribute('d') || m.getAttribute('href') || '';
  const isMark = m => m.nodeType === 1 && m.matches(sel) && shape(m).length > 10 && !window.__seen.has(shape(m));
  const marks = n => n.nodeType === 1 ? [n, ...n.querySelectorAll('path, image')] : [];
  let firstAsked = false, doneAsked = false;
  document.addEventListener('click', () => { if (t.click === null) t.click = performance.now(); }, true);
  new MutationObserver(records => {
    if (t.click === null) return;
    for (const r of records) {
      if (r.type === 'attributes' && r.attributeName !== 'd' && r.attributeName !== 'href') continue;
      if (!firstAsked) {
        const found = r.type === 'attributes' ? [r.target] : [...r.addedNodes].flatMap(marks);
        if (found.some(m => isMark(m) && m.closest('CHART').offsetParent)) { firstAsked = true; at('first'); }
      }
      if (!doneAsked) {
        const texts = r.type === 'characterData' ? [r.target.data] : [...r.addedNodes].map(n => n.textContent || '');
        if (texts.some(x => re.test(x))) { doneAsked = true; at('done'); }
      }
    }
  }).observe(document.body, {childList: true, subtree: true, characterData: true, attributes: true});
}""".replace("CHART", _CHART)
TIMES = "() => window.__times"
REPEATS = 2  # each side twice, alternating; each side's fastest counts (the machine is shared)


def headless_s(name: str) -> float:
    exp = experiments()[name]
    start = time.perf_counter()
    for _ in exp.run(exp.config()):
        pass
    return time.perf_counter() - start


def browser_run(page, url: str, lesson: str, name: str, timeout_s: float = 600,
                lang: str = "en") -> tuple[float, float]:
    """(Train to the first drawn mark, Train to the finished message), in seconds, timed in the page."""
    page.goto(f"{url}/{lesson}" + ("?lang=ko" if lang == "ko" else ""), timeout=timeout_s * 1000)
    if name in TABS:
        page.get_by_role("tab").nth(TABS[name]).click()
    button = page.locator(f".st-key-{name}-train button").filter(visible=True).first
    button.wait_for(timeout=timeout_s * 1000)
    page.wait_for_timeout(1000)  # the page settled
    marks = ", ".join(f"{_CHART} {m.strip()}" for m in FIRST_MARKS.get(lesson, MARKS).split(","))
    page.evaluate(SEEN, marks)
    page.evaluate(WATCH, [DONE.pattern + ("|" + FINISHED_KO if lang == "ko" else ""), marks])
    button.click()
    page.wait_for_function("() => window.__times.done !== null && window.__times.first !== null",
                           timeout=timeout_s * 1000, polling=500)  # rarely: the wait must not load the CPUs
    t = page.evaluate(TIMES)
    return (t["first"] - t["click"]) / 1000, (t["done"] - t["click"]) / 1000


def run(lessons: list[str] | None = None, width: int = 1440, lang: str = "en") -> dict:
    from playwright.sync_api import sync_playwright

    configure_threads(MAX_CONCURRENT_RUNS)  # as the server does
    server = Server({"DNLAB_RUN_CACHE_RUNS": "0"})  # every Train trains: a kept run would come back at once
    out: dict = {}
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": width, "height": 900},
                                    locale="ko-KR" if lang == "ko" else "en-US")
            browser_run(page, server.url, "vanishing", "vanishing", lang=lang)  # warm: the first visit's costs paid
            for lesson, name in RUNS.items():
                if lessons and lesson not in lessons:
                    continue
                heads, runs = [], []
                for _ in range(REPEATS):
                    time.sleep(1)  # the browser done drawing
                    heads.append(headless_s(name))
                    runs.append(browser_run(page, server.url, lesson, name, lang=lang))
                head, whole = min(heads), min(r[1] for r in runs)
                out[lesson] = {"headless_s": round(head, 2), "browser_s": round(whole, 2),
                               "ratio": round(whole / head, 3), "first_point_s": round(min(r[0] for r in runs), 3)}
            browser.close()
    finally:
        server.close()
    out["worst_ratio"] = max(v["ratio"] for v in out.values())
    out["worst_first_point_s"] = max(v["first_point_s"] for k, v in out.items() if isinstance(v, dict))
    return out


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m benchmarks.browser", description=__doc__.split("\n\n")[0])
    parser.add_argument("lessons", nargs="*", help="lessons to time (default: every lesson)")
    parser.add_argument("--width", type=int, default=1440, help="the browser window's width in pixels")
    parser.add_argument("--lang", choices=("en", "ko"), default="en", help="the lab's language")
    args = parser.parse_args()
    print(json.dumps({"width": args.width, "lang": args.lang, **run(args.lessons, args.width, args.lang)}))
