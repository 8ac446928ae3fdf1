"""Load and fault test: a real server on loopback, N browser sessions through every lesson at once.

    python -m benchmarks.load [--sessions 10] [--interrupts 0.3] [--settle 30] [--proxy-stall]

It starts `streamlit run app.py` on 127.0.0.1, opens N sessions (one Chromium, a context each),
and in each session trains every lesson's first experiment at its default settings but for a seed of
its own (the server shares identical runs: `distinct`), all sessions at once. A share of the runs
(--interrupts) is interrupted at random: Stop pressed, or the tab closed, mid-run. It prints one JSON object:

- rss_mb: the server's resident memory before the load (after one warm-up session has trained every
  lesson once), at its peak, and `--settle` seconds after every tab closed;
- sessions, runs_completed / runs_expected (an interrupted run counts as complete when it ends as
  stopped and the next run of its session goes on), runs_interrupted;
- exceptions: exceptions shown in any page, plus tracebacks in the server's log;
- queue_seen: how many sessions saw their place in the training queue;
- seconds: the load's wall time (the warm-up not included).

With --proxy-stall the server's HTTP(S) proxy is a loopback port that accepts and never answers, and
every other session first asks for Fashion-MNIST (a download that stalls, outside any training
slot) before training the lessons: stalled_waits_s lists, per such visitor, the seconds from the click on
Train until the page stops checking the data (the download gave up: what the stall itself cost), and
stalled_runs_s the seconds from the click to the end of that run (on the bundled digits; this adds the
queue behind the other visitors and the training, which any visitor pays); the other visitors' runs
must complete as usual. The browser is Debian's Chromium.
Bounded: every wait has a timeout, and the server is stopped at the end whatever happens.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
DONE = re.compile(r"Finished [\d,]+ steps|The run diverged|Stopped at step|could not be")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mb(pid: int) -> float:
    """Resident memory of a process and its children, in MB (from /proc)."""
    total = 0
    for p in [pid, *_children(pid)]:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return round(total / 1024, 1)


def _children(pid: int) -> list[int]:
    try:
        kids = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return []
    return [int(k) for k in kids] + [g for k in kids for g in _children(int(k))]


class Stall:
    """A loopback proxy that accepts connections and never answers."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.sock.settimeout(0.2)
        self.held, self.stop = [], threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}"

    def _run(self):
        while not self.stop.is_set():
            try:
                self.held.append(self.sock.accept()[0])
            except OSError:
                continue

    def close(self):
        self.stop.set()
        self.thread.join()
        for c in self.held:
            c.close()
        self.sock.close()


def start_server(port: int, log, env: dict[str, str] | None = None, script: str = "app.py",
                 cwd: Path = ROOT) -> subprocess.Popen:
    """`streamlit run app.py` (or `script`) on 127.0.0.1:port, output to `log` (also the browser tests' server)."""
    return subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", script, "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true"],
        cwd=cwd, stdout=log, stderr=subprocess.STDOUT, env=env)


def wait_healthy(url: str, timeout_s: float = 60) -> bool:
    """Whether the server at `url` answers its health check within `timeout_s`."""
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        try:
            if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                return True
        except OSError:
            time.sleep(0.3)
    return False


class Server:
    """`streamlit run app.py` on loopback, with its log in a temporary file."""

    def __init__(self, env_extra: dict[str, str] | None = None):
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = tempfile.NamedTemporaryFile(  # noqa: SIM115 — kept open for the server's life
            "w+", prefix="deepnet-lab-load-", suffix=".log", delete=False)
        self.proc = start_server(self.port, self.log, {**os.environ, **(env_extra or {})})
        if not wait_healthy(self.url):
            self.close()
            raise RuntimeError("the server did not start within 60 s")

    def tracebacks(self) -> int:
        return Path(self.log.name).read_text(errors="replace").count("Traceback")

    def close(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def lesson_runs() -> list[tuple[str, str]]:
    """(lesson page, experiment whose Train it presses): each lesson's first experiment."""
    from core.experiments import LESSONS

    return [(lesson.name, lesson.experiments[0].name) for lesson in LESSONS]


def distinct(exp: str, index: int) -> str:
    """A query that makes session `index`'s run of `exp` its own: seed index + 1, or for an experiment without a
    seed (the 2-D surfaces) as many steps more. The server trains an identical run once and shares it
    (core.runstore), so a load of identical defaults would measure the store, not the training."""
    from core.experiments import experiments

    cfg = experiments()[exp].configure()
    return f"seed={cfg.seed + index + 1}" if hasattr(cfg, "seed") else f"steps={cfg.steps + index + 1}"


async def _session(browser, url: str, index: int, plan, stats: dict, rng: random.Random, timeout_s: float,
                   stall: bool) -> None:
    ctx = await browser.new_context(viewport={"width": 1200, "height": 900})
    page = await ctx.new_page()
    queued = False
    try:
        if stall and index % 2 == 0:  # half the visitors ask for a download that stalls, then train on
            await page.goto(f"{url}/activations?dataset=fashion_mnist&steps=20", timeout=timeout_s * 1000)
            marks = {}
            await _train(page, "activations", timeout_s, marks=marks)
            stats["stalled_runs_s"].append(round(time.monotonic() - marks["clicked"], 1))
            checked = marks.get("data_checked")  # None: the data check was never seen (not a stall)
            stats["stalled_waits_s"].append(None if checked is None else round(checked - marks["clicked"], 1))
        for lesson, exp in plan:
            await page.goto(f"{url}/{lesson}?{distinct(exp, index)}", timeout=timeout_s * 1000)
            interrupt = rng.random() < stats["interrupt_share"]
            saw_queue, interrupted = await _train(page, exp, timeout_s,
                                                  interrupt=interrupt and rng.choice(["stop", "close"]))
            queued |= saw_queue
            if interrupted:
                stats["runs_interrupted"] += 1
                if page.is_closed():  # the tab was closed mid-run: a new tab of the same session goes on
                    page = await ctx.new_page()
            stats["runs_completed"] += 1
            stats["exceptions"] += await page.locator("[data-testid='stException']").count()
    except Exception as exc:  # noqa: BLE001 — a failed session is a figure, not a crash of the script
        where = ""
        if not page.is_closed():  # what the visitor saw, for the one reading the figures
            shot = Path(tempfile.gettempdir()) / f"deepnet-lab-load-session{index}.png"
            with contextlib.suppress(Exception):
                await page.screenshot(path=str(shot), full_page=True)
                where = f" (screenshot {shot})"
        stats["failures"].append(f"session {index}: {type(exc).__name__}: {str(exc)[:200]}{where}")
    finally:
        stats["queue_seen"] += queued
        await ctx.close()


async def _train(page, exp: str, timeout_s: float, interrupt: str | bool = False,
                 marks: dict | None = None) -> tuple[bool, bool]:
    """Press Train and wait for the run to end; return whether the queue place was shown, and whether
    the run was interrupted (Stop pressed or the tab closed while it trained). `marks` gets "clicked", when
    Train was clicked, and "data_checked", the first moment the page was seen past its data check, having
    been seen in it."""
    from playwright.async_api import TimeoutError as PlaywrightTimeout

    button = page.locator(f".st-key-{exp}-train button").filter(visible=True).first
    await button.wait_for(timeout=timeout_s * 1000)
    await button.click()
    if marks is not None:
        marks["clicked"] = time.monotonic()
    queued = interrupted = False
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        text = await page.locator("[data-testid='stMain']").inner_text()
        queued |= "Queued: place" in text
        if marks is not None:
            if "checking the data" in text:
                marks["checking"] = True
            elif marks.get("checking"):
                marks.setdefault("data_checked", time.monotonic())
        if interrupt and "ETA" in text:
            if interrupt == "stop":
                # The run may end between reading the page and the click (its Stop button then goes with
                # the progress bar): a Stop that finds no button is a run that finished first, not a fault.
                stop = page.locator("[data-testid='stMain']").get_by_role("button", name="Stop", exact=True)
                with contextlib.suppress(PlaywrightTimeout):
                    await stop.click(timeout=5000)
                    interrupted = True
                interrupt = False
            else:
                await page.close()
                return queued, True
        if DONE.search(text) and "ETA" not in text:
            return queued, interrupted
        await asyncio.sleep(0.25)
    raise TimeoutError(f"{exp} did not finish in {timeout_s:.0f} s")


async def _warm(url: str, timeout_s: float) -> None:
    """One session that trains every lesson once, so the server is warm (torch and every lesson's
    modules imported, data loaded, model A cached) before its memory is read as the pre-load level:
    what stays above that level after the load is what the load left behind."""
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = await browser.new_page()
            for lesson, exp in lesson_runs():
                await page.goto(f"{url}/{lesson}", timeout=timeout_s * 1000)
                await _train(page, exp, timeout_s)
        finally:
            await browser.close()


async def _load(url: str, sessions: int, interrupts: float, seed: int, timeout_s: float, stall: bool) -> dict:
    from playwright.async_api import async_playwright

    plan = lesson_runs()
    rng = random.Random(seed)
    stats = {"runs_completed": 0, "runs_interrupted": 0, "exceptions": 0, "queue_seen": 0, "failures": [],
             "interrupt_share": interrupts, "stalled_waits_s": [], "stalled_runs_s": []}
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            await asyncio.gather(*(_session(browser, url, i, plan, stats, random.Random(rng.random()), timeout_s,
                                            stall) for i in range(sessions)))
        finally:
            await browser.close()
    stats["runs_expected"] = sessions * len(plan)
    del stats["interrupt_share"]
    return stats


def _run_async(coro):
    """asyncio.run in a thread of its own: the caller may already run an event loop (pytest with
    sync Playwright open), and asyncio.run refuses to nest."""
    out: dict = {}

    def target():
        try:
            out["value"] = asyncio.run(coro)
        except Exception as exc:  # noqa: BLE001 — re-raised in the caller
            out["error"] = exc

    t = threading.Thread(target=target, name="load")
    t.start()
    t.join()
    if "error" in out:
        raise out["error"]
    return out["value"]


def run(sessions: int = 10, interrupts: float = 0.3, settle: float = 30.0, seed: int = 0, timeout_s: float = 300,
        proxy_stall: bool = False) -> dict:
    """Start a server, put the load on it, and return the figures (the server is always stopped)."""
    stall = Stall() if proxy_stall else None
    env = {"https_proxy": stall.url, "http_proxy": stall.url, "HTTPS_PROXY": stall.url, "HTTP_PROXY": stall.url,
           "no_proxy": "127.0.0.1,localhost", "DNLAB_DATA": tempfile.mkdtemp(prefix="deepnet-lab-data-")} \
        if stall else {}
    server = Server(env)
    try:
        _run_async(_warm(server.url, timeout_s))
        time.sleep(3)
        before = rss_mb(server.proc.pid)
        peak = [before]
        stop = threading.Event()

        def watch():
            while not stop.is_set():
                peak[0] = max(peak[0], rss_mb(server.proc.pid))
                time.sleep(0.5)

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        started = time.monotonic()
        stats = _run_async(_load(server.url, sessions, interrupts, seed, timeout_s, proxy_stall))
        seconds = time.monotonic() - started
        stop.set()
        watcher.join()
        time.sleep(settle)
        after = rss_mb(server.proc.pid)
        stats.update(sessions=sessions, exceptions=stats["exceptions"] + server.tracebacks(), seconds=round(seconds, 1),
                     rss_mb={"before": before, "peak": peak[0], "after_settle": after}, settle_s=settle)
        return stats
    finally:
        server.close()
        if stall:
            stall.close()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.load", description=__doc__.split("\n\n")[0])
    p.add_argument("--sessions", type=int, default=10, help="concurrent browser sessions (default 10)")
    p.add_argument("--interrupts", type=float, default=0.3, help="share of runs interrupted (Stop or tab closed)")
    p.add_argument("--settle", type=float, default=30.0, help="seconds after the tabs close before RSS is read")
    p.add_argument("--seed", type=int, default=0, help="seeds which runs are interrupted, and how")
    p.add_argument("--timeout", type=float, default=300, help="seconds any one run may take before it counts as hung")
    p.add_argument("--proxy-stall", action="store_true",
                   help="a stalled HTTP(S) proxy; every other session asks for a download first")
    args = p.parse_args(argv)
    if not 1 <= args.sessions <= 50:
        p.error("--sessions takes 1 to 50")
    stats = run(args.sessions, args.interrupts, args.settle, args.seed, args.timeout, args.proxy_stall)
    print(json.dumps(stats))
    ok = stats["runs_completed"] == stats["runs_expected"] and not stats["exceptions"] and not stats["failures"]
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
