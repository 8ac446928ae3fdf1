"""What a shared server bounds: tracebacks never reach a visitor, caches and kept records stay within their
limits, threads follow the CPU quota, and a run stops at the server's time limit."""

from __future__ import annotations

import time
from pathlib import Path

from core import data
from core.cache import BoundedCache
from core.device import cgroup_cpus
from core.records import KeptRecords, Record

ROOT = Path(__file__).resolve().parent.parent


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

    from ui import flight, live

    monkeypatch.setattr(flight, "MAX_RUN_SECONDS", 1.0)
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

