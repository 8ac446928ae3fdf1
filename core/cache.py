"""A thread-safe LRU cache with a bound on both entries and bytes, for what every session shares
(dataset splits, transfer's pretrained model A): nothing a visitor chooses can grow it without end."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any


class BoundedCache:
    """At most `max_items` entries and `max_bytes` bytes (as `size` measures each); the least recently
    used go first. An entry larger than the whole budget is returned but not kept."""

    def __init__(self, max_items: int, max_bytes: int):
        self.max_items, self.max_bytes = max_items, max_bytes
        self._items: OrderedDict[Hashable, tuple[Any, int]] = OrderedDict()
        self._lock = threading.Lock()
        self.bytes = 0

    def __contains__(self, key: Hashable) -> bool:
        with self._lock:
            return key in self._items

    def __len__(self) -> int:
        return len(self._items)

    def get(self, key: Hashable, default=None):
        with self._lock:
            if key not in self._items:
                return default
            self._items.move_to_end(key)
            return self._items[key][0]

    def put(self, key: Hashable, value, nbytes: int) -> None:
        with self._lock:
            if key in self._items:
                self.bytes -= self._items.pop(key)[1]
            if nbytes > self.max_bytes:
                return
            self._items[key] = (value, nbytes)
            self.bytes += nbytes
            while len(self._items) > self.max_items or self.bytes > self.max_bytes:
                self.bytes -= self._items.popitem(last=False)[1][1]

    def get_or_make(self, key: Hashable, make: Callable[[], Any], size: Callable[[Any], int]):
        """The cached value, or `make()` kept under the bounds (two sessions may both make it once)."""
        missing = object()
        value = self.get(key, missing)
        if value is missing:
            value = make()
            self.put(key, value, size(value))
        return value

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self.bytes = 0
