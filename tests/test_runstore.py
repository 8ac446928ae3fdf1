"""Finished runs kept and shared (core.runstore): sharing is sound only while a run is a pure function of
what its key holds. Determinism is tested, not assumed: the same config trained in two threads at once
gives the same records bit for bit; and every config field changes the key."""

from __future__ import annotations

import dataclasses
import math
import threading

import pytest

from core import runstore
from core.config import specs
from core.experiments import experiments
from core.records import Record

EXPERIMENTS = experiments()
KEPT = [name for name, e in EXPERIMENTS.items() if e.fetch is None]


def _other(f: dataclasses.Field, value):
    """A different valid value of field `f` (choices, ranges and tuples as the schema declares them)."""
    m = f.metadata
    if isinstance(value, tuple):
        choices = list(m.get("choices") or ())
        if choices:
            rest = [c for c in choices if c not in value]
            return (*value, rest[0]) if rest else value[:-1]
        return tuple(v + 1 if isinstance(v, int | float) else v for v in value)
    if m.get("choices"):
        return next(c for c in m["choices"] if c != value)
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1 if value + 1 <= m["hi"] else value - 1
    if isinstance(value, float):
        up = value + max(abs(value) * 0.5, 1e-3)
        return up if up <= m["hi"] else value - max(abs(value) * 0.5, 1e-3)
    raise AssertionError(f"no other value for {f.name}={value!r}")


@pytest.mark.parametrize("name", KEPT)
def test_every_config_field_seeds_and_code_change_the_key(name, monkeypatch):
    exp = EXPERIMENTS[name]
    cfg = exp.configure()
    key = runstore.run_key(exp, cfg)
    assert key == runstore.run_key(exp, exp.configure())  # the same settings, the same key
    for f in specs(cfg):
        changed = dataclasses.replace(cfg, **{f.name: _other(f, getattr(cfg, f.name))})
        assert runstore.run_key(exp, changed) != key, f.name
    if exp.seeded:
        assert runstore.run_key(exp, cfg, (0, 1, 2)) != key != runstore.run_key(exp, cfg, (1, 2, 3))
    monkeypatch.setattr(runstore, "source_hash", lambda: "another version of the lab")
    assert runstore.run_key(exp, cfg) != key


def test_a_run_that_fetches_its_own_files_is_never_kept():
    exp = EXPERIMENTS["transfer-cnn"]
    assert exp.fetch is not None and runstore.run_key(exp, exp.configure()) is None
    assert not runstore.keep(None, [Record("r", 1, "loss", None, 1.0)], "finished", 1.0)


def test_only_a_complete_run_is_kept():
    store = runstore.MemoryStore()
    old = runstore.use_store(store)
    try:
        records = [Record("r", 1, "loss", None, 1.0)]
        assert not runstore.keep(("k",), records, "stopped", 1.0) and store.get(("k",)) is None
        assert runstore.keep(("k",), records, "diverged", 1.0) and store.get(("k",)).records == records
    finally:
        runstore.use_store(old)


def test_the_store_is_bounded_by_count_and_bytes_least_recently_used_first():
    run = runstore.StoredRun(b"x" * 100, "finished", 1.0, 1, 0.0)
    big = runstore.StoredRun(b"x" * 1000, "finished", 1.0, 1, 0.0)
    store = runstore.MemoryStore(max_runs=3, max_bytes=1100 + 2 * runstore.OVERHEAD)
    for k in "abc":
        store.put(k, run)
    store.get("a")  # a is used: b is now the least recent
    store.put("d", run)
    assert len(store) == 3 and store.get("b") is None and store.get("a") is run
    store.put("e", big)  # room for it and one small run: the least recent two (c, then d) go
    assert store.get("e") is big and len(store) == 2 and store.get("c") is store.get("d") is None
    assert store.get("a") is run


def test_a_stored_run_gives_back_its_records_bit_for_bit():
    records = [Record("relu@seed3", 7, "loss", None, 0.1 + 0.2), Record("", 0, "fallback", None, 1.0),
               Record("a,b", 2, "grad_norm", 3, float("inf")), Record("r", 9, "diverged_reason", None, float("nan")),
               Record("r", 10, "act_mean", 12, -1.2345678901234567e-300)]
    back = runstore.StoredRun(runstore.pack(records), "finished", 1.0, 1, 0.0).records
    assert [r[:4] for r in back] == [r[:4] for r in records]
    for a, b in zip(back, records, strict=True):
        assert a.value == b.value or (math.isnan(a.value) and math.isnan(b.value))
    assert all(type(r.value) is float for r in back)


def _records(exp, cfg) -> list[tuple]:
    return sorted((r.run, r.step, r.metric, r.layer or 0, r.value) for r in exp.run(cfg)
                  if r.metric not in exp.timing_metrics)


@pytest.mark.parametrize("name", KEPT)
def test_the_same_config_in_two_threads_at_once_gives_the_same_records_bit_for_bit(name):
    """The reference is the run itself, trained twice at the same moment (threads share torch's pool and the
    CPUs, as two visitors do): a shared run is only sound while this holds. Each experiment's smoke settings, and
    its first preset at them."""
    exp = EXPERIMENTS[name]
    configs = [exp.configure(None, **exp.smoke)]
    if exp.presets:
        configs.append(exp.configure(next(iter(exp.presets)), **exp.smoke))
    for cfg in configs:
        out: dict[int, list] = {}

        def train(i: int, cfg=cfg, out=out) -> None:
            out[i] = _records(exp, cfg)

        threads = [threading.Thread(target=train, args=(i,)) for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=300)
        assert len(out) == 2 and out[0], cfg
        for a, b in zip(out[0], out[1], strict=True):
            assert a[:4] == b[:4] and (a[4] == b[4] or (math.isnan(a[4]) and math.isnan(b[4]))), (cfg, a, b)
