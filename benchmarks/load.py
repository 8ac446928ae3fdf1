"""Load and fault test: a real server on loopback, N browser sessions through every lesson at once.

    python -m benchmarks.load [--sessions 10] [--interrupts 0.3] [--settle 30] [--proxy-stall]
    python -m benchmarks.load --class 30 | --distinct 10 [--settle 30]

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

With --class N, N visitors open the vanishing lesson on its relu-he preset and press Train within one
second (a study group told "everyone press Train"); with --distinct N, on N different seeds of it. The
server runs pinned to one CPU (`taskset`) and the browsers to the others, where the machine has two. First
a lone visitor trains the preset on another seed: the baseline. It prints one JSON object: p50 and p95 of
click → first point and click → finished as the server records them (ui.events: Train received → first
records sent / final state sent) and as the pages see them; whether the runs took their slots in click
order; the server's CPU seconds for the class against the lone run's; and RSS before, at peak and
`--settle` seconds after.
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


CLASS_EXPERIMENT, CLASS_PRESET = "vanishing", "relu-he"  # "everyone press Train on relu-he"
CLASS_SEED = 4242  # a seed the warm-up does not train (the store would answer the class at once)


def cpu_seconds(pid: int) -> float:
    """User and system CPU seconds a process has used (from /proc; its threads included)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _split_cpus() -> tuple[set[int] | None, set[int] | None]:
    """(the server's CPU, the browsers' CPUs) where the machine has two or more; else (None, None)."""
    cpus = sorted(os.sched_getaffinity(0))
    return ({cpus[0]}, set(cpus[1:])) if len(cpus) >= 2 else (None, None)


def _quantile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))], 2)


def _summary(values: list[float]) -> dict:
    return {"p50": _quantile(values, 0.5), "p95": _quantile(values, 0.95), "n": len(values)}


def _events(path: Path) -> dict[str, dict[str, float]]:
    """Each session's first time of each event (ui.events), keyed by the session's id."""
    out: dict[str, dict[str, float]] = {}
    for line in path.read_text().splitlines() if path.exists() else ():
        e = json.loads(line)
        out.setdefault(e["session"], {}).setdefault(e["event"], e["t"])
    return out


async def _visitors(url: str, queries: list[str], timeout_s: float, cpus: set[int] | None, together: float,
                    pid: int) -> tuple[list, float]:
    """Open one browser context per query at the lesson page, then press every Train within `together`
    seconds; per visitor (click time, page's first point, page's finish, the outcome's text), and the server's
    CPU seconds from the first press until a second after the last page finished."""
    from playwright.async_api import async_playwright

    if cpus:
        os.sched_setaffinity(0, cpus)  # this thread starts the browser: Chromium and its children inherit it
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            contexts = [await browser.new_context(viewport={"width": 1200, "height": 900}) for _ in queries]
            pages = [await c.new_page() for c in contexts]
            await asyncio.gather(*(pg.goto(f"{url}/{CLASS_EXPERIMENT}?{q}", timeout=timeout_s * 1000)
                                   for pg, q in zip(pages, queries, strict=True)))
            buttons = [pg.locator(f".st-key-{CLASS_EXPERIMENT}-train button").first for pg in pages]
            await asyncio.gather(*(b.wait_for(timeout=timeout_s * 1000) for b in buttons))

            async def one(index: int, page, button) -> tuple:
                await asyncio.sleep(together * index / max(1, len(pages)))
                await button.click()
                clicked = time.time()
                first = None
                deadline = time.monotonic() + timeout_s
                while time.monotonic() < deadline:
                    text = await page.locator("[data-testid='stMain']").inner_text()
                    live = re.search(r"ETA \d+ s", text) is not None
                    if first is None and (live or DONE.search(text)):
                        first = time.time()
                    if DONE.search(text) and not live:
                        return clicked, first, time.time(), DONE.search(text).group(0)
                    await asyncio.sleep(0.2)
                return clicked, first, None, "timeout"

            cpu = cpu_seconds(pid)
            seen = await asyncio.gather(*(one(i, pg, b) for i, (pg, b) in enumerate(zip(pages, buttons, strict=True))))
            await asyncio.sleep(1)
            return seen, cpu_seconds(pid) - cpu
        finally:
            await browser.close()


SAME_MOMENT = 0.05  # seconds: runs that took free slots together may log their start in either order


def _in_order(started: list[float | None]) -> bool:
    """Whether runs listed in the order their Train reached the server started in that order: none started
    more than SAME_MOMENT before one pressed earlier (a queued run waits for a run to end, seconds later)."""
    if None in started:
        return False
    return all(later >= earlier - SAME_MOMENT for i, earlier in enumerate(started) for later in started[i + 1:])


def run_class(n: int, distinct_configs: bool = False, settle: float = 30.0, timeout_s: float = 300,
              together: float = 1.0) -> dict:
    """The class load test: N visitors press Train within `together` seconds, on the same preset (or with
    `distinct_configs` on N different seeds of it), the server pinned to one CPU and the browsers to the others
    where the machine has two. Before the class, one lone visitor trains the preset on another seed: its
    click → finished and the server's CPU seconds for it are the baseline. CPU seconds count from the first
    press to a second after the last page finished (the pages' loading before it is not the class's Train)."""
    server_cpu, browser_cpus = _split_cpus()
    events = Path(tempfile.mkdtemp(prefix="deepnet-lab-events-")) / "events.jsonl"
    env = {"DNLAB_EVENTS": str(events)}
    port = _free_port()
    log = tempfile.NamedTemporaryFile(  # noqa: SIM115 — kept open for the server's life
        "w+", prefix="deepnet-lab-class-", suffix=".log", delete=False)
    command = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
               "--server.address", "127.0.0.1", "--server.headless", "true"]
    if server_cpu:
        command = ["taskset", "-c", ",".join(map(str, server_cpu)), *command]
    proc = subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **env})
    url = f"http://127.0.0.1:{port}"
    preset = f"preset={CLASS_PRESET}"
    try:
        if not wait_healthy(url):
            raise RuntimeError("the server did not start within 60 s")
        _run_async(_visitors(url, [f"{preset}&seed={CLASS_SEED - 1}"], timeout_s, browser_cpus, 0, proc.pid))  # warm
        time.sleep(2)
        events.unlink(missing_ok=True)
        lone, lone_cpu = _run_async(_visitors(url, [f"{preset}&seed={CLASS_SEED - 2}"], timeout_s, browser_cpus, 0,
                                              proc.pid))
        lone_server = next(iter(_events(events).values()), {})
        events.unlink(missing_ok=True)
        before = rss_mb(proc.pid)
        peak, stop = [before], threading.Event()

        def watch():
            while not stop.is_set():
                peak[0] = max(peak[0], rss_mb(proc.pid))
                time.sleep(0.5)

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        queries = [f"{preset}&seed={CLASS_SEED + (i if distinct_configs else 0)}" for i in range(n)]
        seen, cpu = _run_async(_visitors(url, queries, timeout_s, browser_cpus, together, proc.pid))
        stop.set()
        watcher.join()
        time.sleep(settle)
        after = rss_mb(proc.pid)
        server = list(_events(events).values())
        finished = [s for s in server if "final" in s and "train" in s]
        by_press = sorted(finished, key=lambda s: s["train"])
        lone_finished = (lone_server.get("final", 0) - lone_server.get("train", 0)) if lone_server else None
        server_final = [s["final"] - s["train"] for s in finished]
        first_click = min(c for c, *_ in seen)
        received = sorted(s["train"] - first_click for s in finished)  # the same clock: one machine
        return {
            "mode": "distinct" if distinct_configs else "class", "visitors": n, "preset": CLASS_PRESET,
            "server_cpus": sorted(server_cpu) if server_cpu else "shared",
            "runs_finished": sum(1 for *_, outcome in seen if outcome.startswith("Finished")),
            "outcomes": sorted({outcome for *_, outcome in seen}),
            "in_click_order": None if not distinct_configs else _in_order([s.get("started") for s in by_press]),
            "train_received_after_first_click_s": _summary(received),
            "exceptions": Path(log.name).read_text(errors="replace").count("Traceback"),
            "server_s": {"first": _summary([s["first"] - s["train"] for s in finished if "first" in s]),
                         "finished": _summary(server_final)},
            "page_s": {"first": _summary([f - c for c, f, _, _ in seen if f]),
                       "finished": _summary([d - c for c, _, d, _ in seen if d])},
            "lone_s": {"server_finished": round(lone_finished, 2) if lone_finished else None,
                       "page_finished": round(lone[0][2] - lone[0][0], 2) if lone[0][2] else None},
            "p95_finished_vs_lone": round(_quantile(server_final, 0.95) / lone_finished, 2)
            if lone_finished and server_final else None,
            "cpu_s": {"class": round(cpu, 2), "lone": round(lone_cpu, 2), "ratio": round(cpu / lone_cpu, 2)},
            "rss_mb": {"before": before, "peak": peak[0], "after_settle": after}, "settle_s": settle,
        }
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.load", description=__doc__.split("\n\n")[0])
    p.add_argument("--sessions", type=int, default=10, help="concurrent browser sessions (default 10)")
    p.add_argument("--interrupts", type=float, default=0.3, help="share of runs interrupted (Stop or tab closed)")
    p.add_argument("--settle", type=float, default=30.0, help="seconds after the tabs close before RSS is read")
    p.add_argument("--seed", type=int, default=0, help="seeds which runs are interrupted, and how")
    p.add_argument("--timeout", type=float, default=300, help="seconds any one run may take before it counts as hung")
    p.add_argument("--proxy-stall", action="store_true",
                   help="a stalled HTTP(S) proxy; every other session asks for a download first")
    p.add_argument("--class", dest="class_", type=int, metavar="N",
                   help=f"N visitors press Train on {CLASS_EXPERIMENT}'s {CLASS_PRESET} preset within a second "
                        "(server on one CPU, browsers on the others); p50/p95 of click → first point and → finished")
    p.add_argument("--distinct", type=int, metavar="N", help="as --class, on N different seeds of the preset")
    args = p.parse_args(argv)
    if not 1 <= args.sessions <= 50:
        p.error("--sessions takes 1 to 50")
    if args.class_ or args.distinct:
        n = args.class_ or args.distinct
        if not 1 <= n <= 60:
            p.error("--class and --distinct take 1 to 60")
        stats = run_class(n, distinct_configs=bool(args.distinct), settle=args.settle, timeout_s=args.timeout)
        print(json.dumps(stats))
        return 0 if stats["runs_finished"] == n and not stats["exceptions"] else 1
    stats = run(args.sessions, args.interrupts, args.settle, args.seed, args.timeout, args.proxy_stall)
    print(json.dumps(stats))
    ok = stats["runs_completed"] == stats["runs_expected"] and not stats["exceptions"] and not stats["failures"]
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
