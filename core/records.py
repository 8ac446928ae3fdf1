"""Long-form records `{run, step, metric, layer, value}`: what the engine yields and the CSV holds."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from typing import IO, NamedTuple

import pandas as pd

from .i18n import N_, _
from .recipe import BLOWN_UP, BLOWUP, BLOWUP_STEPS, NON_FINITE  # the divergence rules

COLUMNS = ("run", "step", "metric", "layer", "value")

METRICS = (
    "loss", "accuracy", "val_loss", "val_accuracy", "grad_norm", "update_ratio",
    "preact_p15", "preact_p50", "preact_p85", "act_mean", "act_std",
    "saturated_fraction", "dead_fraction", "negative_fraction", "revived_fraction", "inactive_fraction",
    "clip_cosine",  # runs that clip, at probe steps
    "diverged", "diverged_reason",
    "running_mean_err", "running_var_err",  # batch-norm layers only
    "lr", "x", "y",  # learning-rate schedules; trajectories on 2-D surfaces
)


REASONS = {NON_FINITE: N_("non-finite loss or gradient"),
           BLOWN_UP: N_("the loss stayed above {factor:g}× its starting level (chance, for a classifier) for {steps} "
                        "steps in a row")}


def reason_text(code: float) -> str:
    """A `diverged_reason` code in words, in the current language."""
    return _(REASONS.get(code, N_("diverged"))).format(factor=BLOWUP, steps=BLOWUP_STEPS)


class Record(NamedTuple):
    """One measurement. `layer` is the 1-based Linear index from the input, None for the model."""

    run: str
    step: int
    metric: str
    layer: int | None
    value: float


def write_csv(records: Iterable[Record], out: IO[str]) -> int:
    """Write records as CSV with the contract's columns; return how many rows were written."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    n = 0
    for r in records:
        writer.writerow((r.run, r.step, r.metric, "" if r.layer is None else r.layer, repr(float(r.value))))
        n += 1
    return n


def csv_bytes(records: Iterable[Record]) -> bytes:
    """The CSV as bytes, for a download button."""
    buf = io.StringIO()
    write_csv(records, buf)
    return buf.getvalue().encode()


def to_frame(records: Iterable[Record]) -> pd.DataFrame:
    """Records as a long-form DataFrame (layer is a nullable integer)."""
    df = pd.DataFrame.from_records(list(records), columns=list(COLUMNS))
    df["layer"] = df["layer"].astype("Int64")
    df["value"] = df["value"].astype(float)
    return df


def divergence(run: str, step: int, reason: float) -> list[Record]:
    """The records that end a diverged run: why (`diverged_reason`, a REASONS key), then `diverged`."""
    return [Record(run, step, "diverged_reason", None, reason), Record(run, step, "diverged", None, float(step))]


class KeptRecords:
    """A run's records held in bounded memory: up to `limit` records every one is kept; past that the
    per-step series are thinned to every 2nd, 4th, ... step (as the live buffers decimate), while
    evaluations, notes, divergence and the latest step are always kept. Iterates in the order
    recorded. (The CLI streams every record to its CSV and keeps none.)"""

    ALWAYS = frozenset({"val_loss", "val_accuracy", "diverged", "diverged_reason", "chosen_lr"})

    def __init__(self, limit: int):
        self.limit = limit
        self.stride = 1
        self._kept: list[Record] = []
        self._tail: list[Record] = []  # the latest step's records that are off the stride

    def _keep(self, r: Record) -> bool:
        return r.step % self.stride == 0 or r.metric in self.ALWAYS or r.run == ""

    def append(self, r: Record) -> None:
        if self._tail and r.step != self._tail[-1].step:
            self._tail.clear()
        if self._keep(r):
            self._kept.append(r)
            if len(self._kept) > self.limit:
                self.stride *= 2
                self._kept = [x for x in self._kept if self._keep(x)]
        else:
            self._tail.append(r)

    def __iter__(self):
        yield from self._kept
        yield from self._tail

    def __len__(self) -> int:
        return len(self._kept) + len(self._tail)

    def __bool__(self) -> bool:
        return bool(self._kept or self._tail)

    @property
    def thinned(self) -> bool:
        return self.stride > 1

    @classmethod
    def holding(cls, records, limit: int, stride: int = 1) -> KeptRecords:
        """Records kept before (a shared finished run, core.runstore), as they were kept."""
        out = cls(limit)
        out.stride, out._kept = stride, list(records)
        return out
