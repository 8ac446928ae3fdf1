"""Demo-proof (issue 13): each finding of the hostile-audience test, as a test that failed before.

Network faults use a loopback server that accepts connections and never answers (a stalled
network), so nothing here reaches the internet.
"""

from __future__ import annotations

import gzip
import hashlib
import math
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from core import config, data, download
from core.__main__ import main
from core.cache import BoundedCache
from core.config import ConfigError, from_query, number
from core.data import load
from core.device import cgroup_cpus
from core.engine import TrainConfig, train
from core.experiments import experiments
from core.records import BLOWN_UP, BLOWUP, BLOWUP_STEPS, KeptRecords, Record
from ui.safe import plain

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def stalled():
    """A loopback TCP server that accepts every connection and never sends a byte; yields its URL."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept():
        srv.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(srv.accept()[0])
            except OSError:
                continue

    t = threading.Thread(target=accept, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{srv.getsockname()[1]}/"
    stop.set()
    t.join()
    for c in held:
        c.close()
    srv.close()


# 1. A stalled network: every download has a deadline, leaves nothing behind, and is not retried at once.

def test_a_stalled_mirror_times_out_and_leaves_nothing(stalled, tmp_path, monkeypatch):
    from torchvision import datasets

    monkeypatch.setattr(download, "TIMEOUT", 1.0)
    monkeypatch.setattr(datasets.FashionMNIST, "mirrors", [stalled, stalled])
    started = time.monotonic()
    with pytest.raises(data.DatasetUnavailable, match="timed out"):
        data.fetch("fashion_mnist", tmp_path)
    assert time.monotonic() - started < 5  # two mirrors × 1 s, not forever
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []  # no partial file
    started = time.monotonic()  # the next visitor is told at once
    with pytest.raises(data.DatasetUnavailable, match="next try is in"):
        data.fetch("fashion_mnist", tmp_path)
    assert time.monotonic() - started < 0.5


def test_drawing_a_page_never_downloads(stalled, monkeypatch):
    """/transfer?dataset=fashion_mnist used to download while rendering: the check skips data not on disk."""
    from torchvision import datasets

    calls = []
    monkeypatch.setattr(datasets.FashionMNIST, "mirrors", [stalled])
    monkeypatch.setattr(download, "fetch_url", lambda *a, **k: calls.append(a))
    exp = experiments()["transfer"]
    cfg, _, errors = from_query(exp.config, exp.presets, {"dataset": "fashion_mnist"}, exp.check)
    assert cfg.dataset == "fashion_mnist" and not errors and not calls


def test_a_run_inside_no_downloads_never_touches_the_network(tmp_path, monkeypatch):
    monkeypatch.setattr(download, "fetch_url", lambda *a, **k: pytest.fail("downloaded inside a slot"))
    with data.no_downloads(), pytest.raises(data.DatasetUnavailable, match="not downloaded yet"):
        data.load("mnist", 0, str(tmp_path))


# 6. A half-extracted dataset recovers from its verified archive.

def _idx(array: np.ndarray) -> bytes:
    return struct.pack(">BBBB", 0, 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape) + \
        array.astype(np.uint8).tobytes()


def test_a_half_extracted_file_is_extracted_again(tmp_path, monkeypatch):
    from torchvision import datasets

    rng = np.random.default_rng(0)
    files = {"train-images-idx3-ubyte": _idx(rng.integers(0, 256, (40, 28, 28))),
             "train-labels-idx1-ubyte": _idx(np.arange(40) % 10)}
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    resources = []
    for name, content in files.items():
        gz = gzip.compress(content)
        (raw / f"{name}.gz").write_bytes(gz)
        resources.append((f"{name}.gz", hashlib.md5(gz).hexdigest()))
        (raw / name).write_bytes(content[: len(content) // 2])  # a killed extraction
    monkeypatch.setattr(datasets.MNIST, "resources", resources)
    monkeypatch.setattr(download, "fetch_url", lambda *a, **k: pytest.fail("the archives were whole"))
    assert not data.present("mnist", tmp_path)
    d = data.load("mnist", 0, str(tmp_path))
    assert len(d.x_train) + len(d.x_val) == 40
    assert all(download.idx_complete(raw / name) for name in files)


def test_idx_completeness_against_the_header(tmp_path):
    path = tmp_path / "f"
    content = _idx(np.zeros((3, 4, 5)))
    assert len(content) == 4 + 3 * 4 + 60
    path.write_bytes(content)
    assert download.idx_complete(path)
    path.write_bytes(content[:-1])
    assert not download.idx_complete(path)
    path.write_bytes(b"\x1f\x8b" + content)  # a gzip header is not an IDX file
    assert not download.idx_complete(path)


def test_a_corrupt_download_is_not_kept(tmp_path, monkeypatch):
    import http.server

    class One(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Length", "5")
            self.end_headers()
            self.wfile.write(b"hello")

        def log_message(self, *args):
            pass

    srv = http.server.HTTPServer(("127.0.0.1", 0), One)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        with pytest.raises(download.DownloadError, match="MD5"):
            download.fetch_url(f"http://127.0.0.1:{srv.server_port}/x", tmp_path / "x.gz", md5="0" * 32)
        assert list(tmp_path.iterdir()) == []
        got = download.fetch_url(f"http://127.0.0.1:{srv.server_port}/x", tmp_path / "x.gz",
                                 md5=hashlib.md5(b"hello").hexdigest())
        assert got.read_bytes() == b"hello"
    finally:
        srv.shutdown()


# 2 and 8. Bounded, exact input.

@pytest.mark.parametrize("text", ["1" + "0" * 400, "1_0", "\u0665", "١٠", "0x10", "1e3", " ", "+", "--1"])
def test_integers_are_ascii_digits_of_bounded_length(text):
    with pytest.raises(ValueError):
        number(text.strip(), int)


@pytest.mark.parametrize("text,value", [("10", 10), ("+7", 7), ("-3", -3), ("007", 7)])
def test_integers_that_parse(text, value):
    assert number(text, int) == value


@pytest.mark.parametrize("text", ["inf", "nan", "1e", "1_0.5", "\u0661.5", "1" * 41])
def test_floats_are_plain_decimals(text):
    with pytest.raises(ValueError):
        number(text, float)


def test_a_huge_integer_is_refused_with_a_message_not_an_overflow():
    huge = 10 ** 400
    with pytest.raises(ConfigError, match="whole number between 1 and 100") as err:
        TrainConfig(depth=huge)  # the API path: no float formatting of the value
    assert len(str(err.value)) < 200
    exp = experiments()["vanishing"]
    cfg, _, errors = from_query(exp.config, exp.presets, {"depth": "9" * 400, "steps": "3.5"}, exp.check)
    assert cfg == exp.config() and {name for name, _ in errors} == {"depth", "steps"}
    assert all(len(message) < 200 for _, message in errors)


def test_messages_quote_user_text_cut_to_80_characters():
    exp = experiments()["vanishing"]
    _, _, errors = from_query(exp.config, exp.presets, {"activation": "x" * 150}, exp.check)
    assert "x" * 80 + "…" in errors[0][1] and "x" * 81 not in errors[0][1]


def test_prefix_options_are_not_taken_for_longer_ones(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["run", "batchnorm", "--batch-size", "4"])
    assert exc.value.code == 2 and "unrecognized arguments: --batch-size" in capsys.readouterr().err


# 3. Markdown injection.

@pytest.mark.parametrize("text", [
    "[Session expired — Log in again](https://evil.example/login)",
    "![x](https://evil.example/pixel.png)",
    "<img src=https://evil.example/p.png>",
    ":red[alert] **bold** $x^2$ `code` https://evil.example\n# heading",
])
def test_plain_escapes_every_markup_character(text):
    shown = plain(text)
    # every ASCII punctuation character is preceded by a backslash, and no line breaks remain
    i = 0
    while i < len(shown):
        c = shown[i]
        if c == "\\":
            assert i + 1 < len(shown) and not shown[i + 1].isalnum()
            i += 2
            continue
        assert c.isalnum() or c.isspace() or ord(c) > 127, f"unescaped {c!r} in {shown!r}"
        assert c not in "\n\r"
        i += 1
    assert shown.replace("\\", "").replace("\u200b", "") == text.replace("\n", " ").replace("\\", "")


def test_a_url_value_is_shown_escaped_in_the_warning():
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "lab.py"), default_timeout=60)
    at.query_params["activation"] = "[Log in again](https://evil.example)"
    at.run()
    at.switch_page("pages/vanishing.py").run()
    assert not at.exception
    warnings = [w.value for w in at.warning]
    assert any("evil" in w for w in warnings)
    assert all("](" not in w and "\\[" in w for w in warnings if "evil" in w)


def test_a_repeated_url_key_is_refused_with_a_message():
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "lab.py"), default_timeout=60)
    at.query_params["depth"] = ["5", "6"]
    at.run()
    at.switch_page("pages/vanishing.py").run()
    assert not at.exception
    assert any("given 2 times" in w.value.replace("\\", "") for w in at.warning)
    assert at.slider(key="vanishing.depth").value == 10


# Error boundary: an unexpected error shows a reference, never a traceback.

def test_a_page_error_shows_a_reference_and_no_traceback(caplog):
    from streamlit.testing.v1 import AppTest

    def app():
        import streamlit as st

        from ui.errors import guarded

        def broken():
            st.write("before")
            raise KeyError("internal detail /srv/secret/path.py")

        guarded(broken)

    at = AppTest.from_function(app).run()
    assert not at.exception
    (error,) = at.error
    assert "reference" in error.value and "secret" not in error.value and "KeyError" not in error.value


def test_tracebacks_are_not_shown_to_visitors():
    text = (ROOT / ".streamlit" / "config.toml").read_text()
    assert 'showErrorDetails = "type"' in text or "showErrorDetails = false" in text


# 4. Bounded memory.

def test_bounded_cache_keeps_the_most_recent_within_both_bounds():
    cache = BoundedCache(max_items=3, max_bytes=100)
    for i in range(5):
        cache.put(i, str(i), 10)
    assert [k for k in range(5) if k in cache] == [2, 3, 4]
    cache.get(2)  # 2 is now the most recent
    cache.put(5, "5", 75)  # four entries: the least recent (3) goes
    assert [k for k in range(6) if k in cache] == [2, 4, 5] and cache.bytes == 95
    cache.put(6, "6", 30)  # 125 bytes: the least recent go until it fits
    assert [k for k in range(7) if k in cache] == [6] and cache.bytes == 30
    cache.put(7, "7", 101)  # larger than the budget: never kept
    assert 7 not in cache and cache.bytes == 30


def test_transfer_model_a_cache_is_bounded():
    from core.experiments import transfer

    assert transfer._CACHE.max_items <= 16 and transfer._CACHE.max_bytes <= 256 << 20
    assert data._loaded.max_bytes <= 600 << 20


def test_kept_records_thin_per_step_series_and_keep_the_rest():
    kept = KeptRecords(limit=1000)
    stream = []
    for step in range(1, 2001):
        stream.append(Record("r", step, "loss", None, float(step)))
        if step % 100 == 0:
            stream.append(Record("r", step, "val_loss", None, 1.0))
    stream.append(Record("r", 2001, "loss", None, 1.0))
    for r in stream:
        kept.append(r)
    records = list(kept)
    assert len(records) <= 1000 + 30 and kept.thinned
    assert sum(r.metric == "val_loss" for r in records) == 20  # evaluations in full
    assert records[-1].step == 2001  # the latest step, even off the stride
    losses = [r.step for r in records if r.metric == "loss"]
    assert losses == sorted(losses) and set(losses[:-1]) == set(range(kept.stride, 2001, kept.stride))


def test_kept_records_keep_everything_under_the_limit():
    stream = [Record("r", s, "loss", None, 1.0) for s in range(1, 501)]
    kept = KeptRecords(limit=1000)
    for r in stream:
        kept.append(r)
    assert list(kept) == stream and not kept.thinned


def test_threads_follow_a_cgroup_quota(tmp_path):
    (tmp_path / "cpu.max").write_text("150000 100000\n")
    assert cgroup_cpus(str(tmp_path)) == 1.5
    (tmp_path / "cpu.max").write_text("max 100000\n")
    assert cgroup_cpus(str(tmp_path)) is None
    (tmp_path / "cpu.max").unlink()
    (tmp_path / "cpu").mkdir()
    (tmp_path / "cpu" / "cpu.cfs_quota_us").write_text("200000")
    (tmp_path / "cpu" / "cpu.cfs_period_us").write_text("100000")
    assert cgroup_cpus(str(tmp_path)) == 2.0


# 5. The CLI writes atomically.

def test_a_bad_out_path_fails_before_training(tmp_path, capsys):
    started = time.monotonic()
    assert main(["run", "vanishing", "--steps", "100000", "--out", str(tmp_path / "missing" / "x.csv")]) == 2
    assert main(["run", "vanishing", "--steps", "100000", "--out", str(tmp_path)]) == 2
    assert time.monotonic() - started < 5  # 100,000 steps were not trained first
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 2 and "does not exist" in err[0] and "is a folder" in err[1]


def _interrupted_cli(out: Path, after_partial: float | None) -> tuple[int, str]:
    """Start a long CLI run and press Ctrl-C `after_partial` seconds after its partial file appears (the
    options are parsed, training starts), or at once (None: while it imports torch)."""
    # a background job (CI's runner, `cmd &`) inherits SIGINT ignored, and Python then installs no Ctrl-C handler:
    # give the CLI the default disposition a terminal gives it
    proc = subprocess.Popen([sys.executable, "-m", "core", "run", "vanishing", "--steps", "100000", "--out", str(out)],
                            cwd=ROOT, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    if after_partial is None:
        time.sleep(0.3)  # Python is up (its handler installed), torch not yet imported
    else:
        deadline = time.time() + 120
        while not any(p.name.endswith(".partial") for p in out.parent.iterdir()) and time.time() < deadline:
            time.sleep(0.05)
        time.sleep(after_partial)
    proc.send_signal(signal.SIGINT)
    err = proc.communicate(timeout=60)[1]
    return proc.returncode, err


@pytest.mark.parametrize("after_partial", [0.0, 0.2, 1.0])
def test_ctrl_c_leaves_the_old_file_and_exits_130(tmp_path, after_partial):
    # 0 and 0.2 s land in the first steps, where torch's lazy imports exec code: CPython 3.11 then killed the
    # process with SIGINT at exit (-2) though the CLI had handled the interrupt
    out = tmp_path / "keep.csv"
    out.write_text("old\n")
    code, err = _interrupted_cli(out, after_partial)
    assert (code, err.strip().splitlines()) == (130, [f"interrupted: {out} is as it was"])
    assert out.read_text() == "old\n" and [p.name for p in tmp_path.iterdir()] == ["keep.csv"]


def test_ctrl_c_while_starting_is_one_line(tmp_path):
    out = tmp_path / "keep.csv"
    out.write_text("old\n")
    code, err = _interrupted_cli(out, None)
    assert code == 130 and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1 and err.startswith("interrupted")
    assert out.read_text() == "old\n" and [p.name for p in tmp_path.iterdir()] == ["keep.csv"]


def test_a_finished_run_replaces_the_file_whole(tmp_path):
    out = tmp_path / "x.csv"
    out.write_text("old\n")
    assert main(["run", "vanishing", "--steps", "3", "--out", str(out)]) == 0
    assert out.read_text().startswith("run,step,metric,layer,value\n")
    assert [p.name for p in tmp_path.iterdir()] == ["x.csv"]


def test_a_closed_pipe_is_not_a_traceback():
    proc = subprocess.run(f"{sys.executable} -m core run vanishing --steps 200 | head -1", shell=True, cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.stdout == "run,step,metric,layer,value\n" and "Traceback" not in proc.stderr


# 7. "Diverged" also catches blow-ups.

def test_a_sustained_blow_up_ends_the_run_with_its_reason():
    cfg = TrainConfig(activation="sigmoid", lr=100.0, steps=400)
    records = list(train(cfg, load("digits", 0), "r"))
    reason = [r for r in records if r.metric == "diverged_reason"]
    assert [r.value for r in reason] == [BLOWN_UP]
    end = reason[0].step
    assert records[-1].metric == "diverged" and records[-1].step == end
    # Reference, computed from the recorded losses: the BLOWUP_STEPS - 1 steps before the end were
    # all above BLOWUP × chance (the ending step's loss is not recorded), and no earlier window was.
    losses = {r.step: r.value for r in records if r.metric == "loss"}
    limit = BLOWUP * math.log(10)
    assert all(losses[s] > limit for s in range(end - BLOWUP_STEPS + 1, end))
    assert not any(all(losses[s] > limit for s in range(e - BLOWUP_STEPS + 1, e + 1))
                   for e in range(BLOWUP_STEPS, end - 1))


def test_a_healthy_run_is_not_called_diverged():
    records = list(train(TrainConfig(activation="relu", init="he_normal", lr=0.05, steps=100), load("digits", 0)))
    assert not any(r.metric.startswith("diverged") for r in records)


# 9. A fresh server: the warm-up does not block the first page, and a type error names the type.

def _fresh_start_up(monkeypatch, warm_up):
    from ui import admission

    monkeypatch.setattr(admission, "_started", None)
    monkeypatch.setattr(admission, "warm_up", warm_up)
    monkeypatch.setattr(admission, "_janitor", lambda: None)
    return admission


def test_the_server_warms_up_before_it_takes_a_visitor(monkeypatch):
    """uvicorn runs the lifespan's start-up before accepting a connection: the warm-up must be over by its yield."""
    import asyncio

    from ui.server import lifespan

    calls = []
    admission = _fresh_start_up(monkeypatch, lambda: calls.append("warm-up"))

    async def serve():
        async with lifespan(None):
            calls.append("serving")

    asyncio.run(serve())
    assert calls == ["warm-up", "serving"]
    assert admission.start_up() == admission._started  # a script run afterwards: no second warm-up
    assert calls == ["warm-up", "serving"]


def test_the_server_turns_the_pages_folder_mode_off_before_its_first_session(monkeypatch):
    """A pages/ folder beside lab.py: Streamlit would send a fresh server's first visitor a navigation of
    raw file names until lab.py's st.navigation runs (CI saw it for five polls). The lifespan turns it off."""
    import asyncio

    from streamlit.runtime.pages_manager import PagesManager

    from ui.server import lifespan

    _fresh_start_up(monkeypatch, lambda: None)
    monkeypatch.setattr(PagesManager, "uses_pages_directory", None)

    async def serve():
        async with lifespan(None):
            PagesManager(str(ROOT / "lab.py"))  # a session of a fresh server: pages/ is beside lab.py
            assert PagesManager.uses_pages_directory is False

    asyncio.run(serve())
    monkeypatch.setattr(PagesManager, "uses_pages_directory", None)
    PagesManager(str(ROOT / "lab.py"))  # without the lifespan Streamlit does take pages/ as its folder mode
    assert PagesManager.uses_pages_directory is True


def test_a_failed_warm_up_still_serves(monkeypatch):
    import asyncio

    from ui.server import lifespan

    def broken():
        raise RuntimeError("no warm-up today")

    _fresh_start_up(monkeypatch, broken)
    served = []

    async def serve():
        async with lifespan(None):
            served.append(True)

    asyncio.run(serve())
    assert served == [True]


def test_without_the_lifespan_the_first_page_does_not_wait_for_the_warm_up(monkeypatch):
    """`streamlit run lab.py` or AppTest: start_up from a script run returns while the warm-up still runs."""
    import threading

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


def test_a_value_of_the_wrong_type_names_the_type():
    with pytest.raises(ConfigError, match="must be a whole number between 1 and 100000 \\(got '3.5'\\)"):
        config.parse(next(f for f in config.specs(TrainConfig) if f.name == "steps"), "3.5")


# 10. Community Cloud: CPU-only torch in a requirements file of its own.

def test_the_cloud_requirements_take_cpu_only_torch():
    deploy = (ROOT / "deploy" / "requirements.txt").read_text()
    assert "--extra-index-url https://download.pytorch.org/whl/cpu" in deploy
    assert "torch==" in deploy and "+cpu" in deploy
    root = (ROOT / "requirements.txt").read_text()
    assert "download.pytorch.org" not in root  # a PyPI-only machine still installs the root file
    assert (ROOT / ".python-version").read_text().strip() == f"{sys.version_info.major}.{sys.version_info.minor}"


def test_threads_follow_the_quota_not_the_host(monkeypatch):
    from core import device

    monkeypatch.setattr(device, "cgroup_cpus", lambda root="/sys/fs/cgroup": 1.5)
    monkeypatch.setattr(device.os, "sched_getaffinity", lambda pid: set(range(64)))
    assert device.available_cpus() == 1
    monkeypatch.setattr(device, "cgroup_cpus", lambda root="/sys/fs/cgroup": None)
    assert device.available_cpus() == 64


def test_a_page_run_stops_at_the_servers_time_limit(monkeypatch):
    """A visitor cannot hold a training slot for hours: the page stops a run at MAX_RUN_SECONDS."""
    from streamlit.testing.v1 import AppTest

    from ui import live

    monkeypatch.setattr(live, "MAX_RUN_SECONDS", 1.0)
    at = AppTest.from_file(str(ROOT / "lab.py"), default_timeout=120)
    at.query_params["steps"] = "100000"
    at.query_params["depth"] = "2"
    at.run()
    at.switch_page("pages/vanishing.py").run()
    started = time.monotonic()
    at.button(key="vanishing.train").click().run()
    assert not at.exception and time.monotonic() - started < 60
    assert any("stops a run after" in i.value for i in at.info)
    assert live.server_slots().running == set()  # the slot is free again


def test_the_readme_command_listens_on_loopback_only():
    readme = (ROOT / "README.md").read_text()
    assert "streamlit run app.py --server.address 127.0.0.1" in readme


def test_an_unknown_url_key_is_ignored_quietly():
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "lab.py"), default_timeout=60)
    at.query_params["utm_source"] = "newsletter"
    at.query_params["depth"] = "4"
    at.run()
    at.switch_page("pages/vanishing.py").run()
    assert not at.exception and not at.warning
    assert at.slider(key="vanishing.depth").value == 4


def test_transfers_seed_table_has_one_type_per_column(fake_cifar):
    """A Styler over a mixed index made pyarrow log ArrowInvalid on every rerun: text columns now."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "lab.py"), default_timeout=120)
    for k, v in {"seeds": "2", "pretrain_steps": "20", "epochs": "2", "target_size": "20"}.items():
        at.query_params[k] = v
    at.run()
    at.switch_page("pages/transfer.py").run()
    at.button(key="transfer.train").click().run()
    assert not at.exception
    table = next(d.value for d in at.dataframe if "run" in d.value.columns)  # (the run history's table has none)
    assert list(table["run"]) == ["seed 0", "seed 1", "mean", "std"]
    assert all(isinstance(v, str) for col in table.columns for v in table[col])


def test_two_visitors_on_a_stalled_network_wait_one_timeout_not_two(stalled, tmp_path, monkeypatch):
    from torchvision import datasets

    monkeypatch.setattr(download, "TIMEOUT", 1.5)
    monkeypatch.setattr(datasets.FashionMNIST, "mirrors", [stalled])
    waits: list[float] = []

    def visitor():
        started = time.monotonic()
        with pytest.raises(data.DatasetUnavailable):
            data.fetch("fashion_mnist", tmp_path)
        waits.append(time.monotonic() - started)

    threads = [threading.Thread(target=visitor) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(waits) == 2 and max(waits) < 2 * 1.5  # the second was told when the first failed


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
