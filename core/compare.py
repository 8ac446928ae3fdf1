"""Run several trainings side by side: one step of each in turn, so their curves grow together."""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping

from .records import Record


def interleave(runs: Mapping[str, Iterator[Record]], timings: dict[str, float] | None = None) -> Iterator[Record]:
    """Yield every record of every run, one training step of each run in turn.

    `timings`, when given, collects each run's own compute time in seconds (time spent inside
    its generator), so a comparison can report wall time per variant.
    """
    pending: dict[str, Record | None] = {}
    live = dict(runs)
    clock = timings if timings is not None else {}
    for name in live:
        clock.setdefault(name, 0.0)
    while live:
        for name in list(live):
            gen, first = live[name], pending.pop(name, None)
            if first is not None:
                yield first
            while True:
                start = time.perf_counter()
                r = next(gen, None)
                clock[name] += time.perf_counter() - start
                if r is None:
                    del live[name]
                    break
                if first is not None and r.step != first.step:
                    pending[name] = r  # the start of this run's next step
                    break
                first = first or r
                yield r
