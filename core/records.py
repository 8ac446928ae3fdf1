"""Long-form records `{run, step, metric, layer, value}`: what the engine yields and the CSV holds."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from typing import IO, NamedTuple

import pandas as pd

COLUMNS = ("run", "step", "metric", "layer", "value")

METRICS = (
    "loss", "accuracy", "val_loss", "val_accuracy", "grad_norm", "update_ratio",
    "preact_p15", "preact_p50", "preact_p85", "act_mean", "act_std",
    "saturated_fraction", "dead_fraction", "inactive_fraction", "diverged",
    "running_mean_err", "running_var_err",  # batch-norm layers only
    "lr", "x", "y",  # learning-rate schedules; trajectories on 2-D surfaces
)


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
