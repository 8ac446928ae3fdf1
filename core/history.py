"""A session's run history: every finished or stopped run, kept small, labelled and comparable.

Pure Python and pandas (no Streamlit): the page keeps one History per session; the Runs page lists it;
a CSV written by `python -m core run` (or the page) can join it through `read_csv`.
"""

from __future__ import annotations

import csv
import io
import itertools
import math
from dataclasses import dataclass, field

import pandas as pd

from .config import format_value, to_strings
from .i18n import _
from .recipe import split_seed
from .records import COLUMNS, Record
from .seeds import band

MAX_RUNS = 20  # per lesson; pinned runs are kept, the oldest unpinned run goes first
MAX_OVERLAY = 4  # runs drawn together
MAX_UPLOAD_BYTES = 20 * 1024 * 1024
MAX_LABEL = 60


class CSVError(ValueError):
    """An uploaded CSV that is not a run's records; the message says what is wrong, nothing is loaded."""


@dataclass
class Entry:
    """One run of the history: its records at the final charts' resolution (a compact frame)."""

    id: int
    lesson: str
    experiment: str
    config: object | None  # None for an uploaded CSV
    frame: pd.DataFrame
    status: str  # finished | stopped | diverged
    last_step: int
    seconds: float
    label: str
    pinned: bool = False

    @property
    def val_accuracy(self) -> float | None:
        """The final validation accuracy (the best network's, where a run trains several)."""
        val = self.frame[self.frame["metric"] == "val_accuracy"]
        if val.empty:
            return None
        last = val.sort_values("step").groupby("run", observed=True)["value"].last()
        return float(last.max())

    @property
    def status_text(self) -> str:
        """The status in words, in the current language."""
        text = {"stopped": _("stopped at step {step:,}"), "diverged": _("diverged at step {step:,}")}
        return text.get(self.status, _("finished ({step:,} steps)")).format(step=self.last_step)

    def records(self) -> list[Record]:
        """The stored records (decimated to the charts' resolution), in the runner's columns."""
        f = self.frame
        return [Record(str(run), int(step), str(metric), None if pd.isna(layer) else int(layer), float(value))
                for run, step, metric, layer, value in zip(f["run"], f["step"], f["metric"], f["layer"], f["value"],
                                                           strict=True)]


def summary(cfg) -> str:
    """What differs from the defaults, shortly: `tanh · normal · lr 0.01` (choices by value, numbers by name)."""
    if cfg is None:
        return _("uploaded")
    parts = []
    for name, value in to_strings(cfg, only_changed=True).items():
        raw = getattr(cfg, name)
        if isinstance(raw, str) or (isinstance(raw, tuple) and all(isinstance(v, str) for v in raw)):
            parts.append(format_value(raw).replace(",", "+"))
        else:
            parts.append(f"{name.replace('_', ' ')} {value}")
    return " · ".join(parts) or _("defaults")


@dataclass
class History:
    """Every lesson's runs in one session, newest first; bounded per lesson."""

    entries: list[Entry] = field(default_factory=list)
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))

    def add(self, lesson: str, experiment: str, config, frame: pd.DataFrame, status: str, last_step: int,
            seconds: float, what: str | None = None) -> Entry:
        """Add a run, labelled `#n` and what differs from the defaults (or `what`)."""
        n = next(self._ids)
        entry = Entry(n, lesson, experiment, config, frame, status, last_step, seconds,
                      label=f"#{n} {what or summary(config)}"[:MAX_LABEL])
        self.entries.insert(0, entry)
        self._bound(lesson)
        return entry

    def _bound(self, lesson: str) -> None:
        mine = [e for e in self.entries if e.lesson == lesson]
        extra = len(mine) - MAX_RUNS
        for e in reversed(mine):  # oldest first
            if extra <= 0:
                break
            if not e.pinned:
                self.entries.remove(e)
                extra -= 1

    def of(self, experiment: str | None = None, lesson: str | None = None) -> list[Entry]:
        return [e for e in self.entries if (experiment is None or e.experiment == experiment)
                and (lesson is None or e.lesson == lesson)]

    def get(self, entry_id: int) -> Entry | None:
        return next((e for e in self.entries if e.id == entry_id), None)

    def delete(self, entry_id: int) -> None:
        self.entries = [e for e in self.entries if e.id != entry_id]

    def rename(self, entry_id: int, label: str) -> None:
        if (e := self.get(entry_id)) is not None and label.strip():
            e.label = label.strip()[:MAX_LABEL]

    def nbytes(self) -> int:
        return sum(int(e.frame.memory_usage(deep=True).sum()) for e in self.entries)


def overlay_frame(entries: list[Entry], metrics) -> pd.DataFrame:
    """The chosen runs' records of `metrics` in one frame, with `source` (the entry's label) and `series`
    (what gets a colour: the label, or `label · network` where a run trains several networks; a run on several
    seeds is its networks' mean over the seeds, with their range in `lo` and `hi`, core.seeds.band). Both are
    categoricals over every chosen run in the order given, whatever this chart's metrics hold, so each
    run (or network of a run) has the same colour on every chart."""
    nets = {e.id: [r for r in dict.fromkeys(split_seed(r)[0] for r in e.frame["run"].astype(str)) if r]
            for e in entries}
    several = any(len(n) > 1 for n in nets.values())

    def series(label: str, run: str) -> str:
        return f"{label} · {run}" if several else label

    wanted = set(metrics)
    parts = []
    for e in entries:
        f = band(e.frame[e.frame["metric"].isin(wanted)]).copy()  # a run on several seeds: their mean and range
        f["source"] = e.label
        f["series"] = [series(e.label, str(r)) for r in f["run"]]
        parts.append(f)
    df = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=[*COLUMNS, "source", "series"])
    df["source"] = pd.Categorical(df["source"], categories=list(dict.fromkeys(e.label for e in entries)))
    df["series"] = pd.Categorical(df["series"], categories=list(dict.fromkeys(
        series(e.label, r) for e in entries for r in (nets[e.id] or [""]))))
    for col in ("run", "metric"):
        df[col] = df[col].astype(str).astype("category")
    return df


def to_csv(entries: list[Entry]) -> bytes:
    """The chosen runs as one CSV in the runner's columns; each run is named `<label> · <run>`."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(COLUMNS)
    for e in entries:
        for r in e.records():
            writer.writerow((f"{e.label} · {r.run}" if r.run else e.label, r.step, r.metric,
                             "" if r.layer is None else r.layer, repr(r.value)))
    return buf.getvalue().encode()


def read_csv(data: bytes) -> list[Record]:
    """Records from a CSV the runner wrote, or CSVError saying why not (nothing is half-loaded):
    over 20 MB, not UTF-8, other columns, a step or layer that is not a whole number, a value that is
    not a finite number, or no rows."""
    if len(data) > MAX_UPLOAD_BYTES:
        raise CSVError(_('The file is {size:.1f} MB; the limit is {limit} MB.')
                       .format(size=len(data) / 2 ** 20, limit=MAX_UPLOAD_BYTES // 2 ** 20))
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CSVError(_('The file is not UTF-8 text (byte {byte} cannot be read).')
                       .format(byte=exc.start)) from None
    rows = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(rows, None)
        if header is None or [h.strip() for h in header] != list(COLUMNS):
            shown = ", ".join(header[:8])[:80] if header else "nothing"
            raise CSVError(_('The columns must be {columns} (as `python -m core run` writes them); this file '
                             'has {shown}.')
                           .format(columns=', '.join(COLUMNS), shown=shown))
        records = []
        for line, row in enumerate(rows, start=2):
            if not row:
                continue
            if len(row) != len(COLUMNS):
                raise CSVError(_('Line {line} has {count} fields, not {expected}.')
                               .format(line=line, count=len(row), expected=len(COLUMNS)))
            run, step, metric, layer, value = row
            if not metric or len(metric) > 64 or len(run) > 200:
                raise CSVError(_('Line {line}: the metric must be a name of up to 64 characters.').format(line=line))
            records.append(Record(run, _whole(step, "step", line), metric,
                                  None if layer == "" else _whole(layer, "layer", line), _finite(value, line)))
    except csv.Error as exc:
        raise CSVError(_('The file is not valid CSV ({exc}).').format(exc=exc)) from None
    if not records:
        raise CSVError(_('The file has the right columns but no records.'))
    return records


def _whole(text: str, column: str, line: int) -> int:
    if not (text.isascii() and text.isdigit() and len(text) <= 9):
        raise CSVError(_('Line {line}: {column} must be a whole number (got {got}).')
                       .format(line=line, column=column, got=repr(text[:20])))
    return int(text)


def _finite(text: str, line: int) -> float:
    try:
        value = float(text) if len(text) <= 40 else math.nan
    except ValueError:
        raise CSVError(_('Line {line}: value must be a number (got {got}).')
                       .format(line=line, got=repr(text[:20]))) from None
    if not math.isfinite(value):
        raise CSVError(_('Line {line}: value must be a finite number (got {got}).')
                       .format(line=line, got=repr(text[:20])))
    return value
