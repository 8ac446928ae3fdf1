"""Browser against headless, side by side: each lesson's default run in Chromium on the loopback
server, and the same run through the engine in this process (what `python -m core run` does).

    python -m benchmarks.browser

Per lesson (its first experiment; the optimizers lesson's real network, since its surface race is
paced on purpose), alternating the two: headless_s, browser_s (Train pressed to the "Finished"
message), their ratio (issue 11's target: <= 1.15), and first_point_s (Train to the first line or
cell drawn that was not on the page before: not the last run's, not the gallery's; target <= 0.5 s on a
warm server). One JSON object.
"""

from __future__ import annotations

import json
import time

from core.device import configure_threads
from core.experiments import experiments
from ui.admission import MAX_CONCURRENT_RUNS

from .load import CHROMIUM, DONE, Server

RUNS = {"vanishing": "vanishing", "activations": "activations", "batchnorm": "batchnorm", "transfer": "transfer",
        "optimizers": "optimizers-net"}
TABS = {"optimizers-net": "Real network"}
_PATHS = """[...document.querySelectorAll('[data-testid="stVegaLiteChart"] .mark-line path,'
    + ' [data-testid="stVegaLiteChart"] .mark-rect path')]"""
# Before Train: the lines and cells already on the page (the session's last run, the activations gallery).
SEEN = f"() => {{ window.__seen = new Set({_PATHS}.map(p => p.getAttribute('d'))); }}"
# A line or cell drawn since, in a visible chart: the new run's first point.
MARKS = f"""() => {_PATHS}.some(p => {{ const d = p.getAttribute('d') || '';
    return d.length > 10 && !(window.__seen && window.__seen.has(d))
        && p.closest('[data-testid="stVegaLiteChart"]').offsetParent; }})"""
REPEATS = 2  # each side twice, alternating; each side's fastest counts (the machine is shared)


def headless_s(name: str) -> float:
    exp = experiments()[name]
    start = time.perf_counter()
    for _ in exp.run(exp.config()):
        pass
    return time.perf_counter() - start


def browser_run(page, url: str, lesson: str, name: str, timeout_s: float = 600) -> tuple[float, float]:
    """(Train to the first drawn mark, Train to the finished message), in seconds."""
    page.goto(f"{url}/{lesson}", timeout=timeout_s * 1000)
    if name in TABS:
        page.get_by_role("tab", name=TABS[name]).click()
    button = page.locator(f".st-key-{name}-train button").filter(visible=True).first
    button.wait_for(timeout=timeout_s * 1000)
    page.wait_for_timeout(1000)  # the page settled
    page.evaluate(SEEN)
    button.click()
    pressed = time.perf_counter()
    page.wait_for_function(MARKS, timeout=timeout_s * 1000, polling=20)
    first = time.perf_counter() - pressed
    page.get_by_text(DONE).first.wait_for(timeout=timeout_s * 1000)
    return first, time.perf_counter() - pressed


def run() -> dict:
    from playwright.sync_api import sync_playwright

    configure_threads(MAX_CONCURRENT_RUNS)  # as the server does
    server = Server()
    out: dict = {}
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 1440, "height": 900})
            browser_run(page, server.url, "vanishing", "vanishing")  # a warm server: the first visit's costs paid
            for lesson, name in RUNS.items():
                heads, runs = [], []
                for _ in range(REPEATS):
                    time.sleep(1)  # the browser done drawing
                    heads.append(headless_s(name))
                    runs.append(browser_run(page, server.url, lesson, name))
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
    print(json.dumps(run()))
