"""What every viewer of one finished run computes alike, computed once (no streamlit here).

Viewers of a run that trained once (ui.flight) or came from the store (core.runstore) hold the same records
object, so its final charts, CSV, claims and history frame are the same for each of them (given the language
and chart options, which are part of the key). They are kept beside the records, and go when the records do
(a weak reference), at most MAX_KEYS per run.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Hashable
from typing import TypeVar

T = TypeVar("T")
MAX_KEYS = 16  # per run: a few languages × chart options

_memo: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def once(records: object, key: Hashable, make: Callable[[], T]) -> T:
    """`make()` for these records and `key`, made by the first viewer to ask and kept for the others.
    `records` must not change any more (a finished run's)."""
    with _lock:
        kept = _memo.get(records)
        if kept is not None and key in kept:
            return kept[key]
    value = make()  # outside the lock: two viewers may both make it once, and one of them keeps it
    with _lock:
        kept = _memo.setdefault(records, {})
        if len(kept) >= MAX_KEYS:
            kept.pop(next(iter(kept)))
        return kept.setdefault(key, value)
