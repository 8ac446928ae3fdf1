"""ui.once: what every viewer of one finished run computes alike is made once, and goes with the records."""

import gc

from core.records import KeptRecords, Record
from ui import once as memo


def _records() -> KeptRecords:
    kept = KeptRecords(100)
    kept.append(Record("r", 1, "loss", None, 0.5))
    return kept


def test_made_once_per_records_and_key_and_gone_with_the_records():
    calls = []

    def make(tag):
        return lambda: calls.append(tag) or [tag]

    a, b = _records(), _records()
    first = memo.once(a, "csv", make("a"))
    assert memo.once(a, "csv", make("again")) is first and calls == ["a"]  # a second viewer: the same object
    assert memo.once(b, "csv", make("b")) == ["b"] and memo.once(a, "other", make("a2")) == ["a2"]
    assert calls == ["a", "b", "a2"]
    held = len(memo._memo)
    del a
    gc.collect()
    assert len(memo._memo) == held - 1 and b in memo._memo  # a's went with it


def test_at_most_max_keys_per_run():
    r = _records()
    for i in range(memo.MAX_KEYS + 5):
        memo.once(r, i, lambda i=i: i)
    assert len(memo._memo[r]) == memo.MAX_KEYS
