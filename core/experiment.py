"""The Experiment contract: one declaration per runnable experiment, grouped into lessons.

Everything that enumerates the lab (navigation, the headless runner, the tests, the benchmarks,
the home page) loops over `core.experiments.LESSONS`; a new lesson is its own files plus one line
there. An experiment's only output is its Records: whatever a page draws, the CLI writes.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from .config import apply_preset
from .data import FALLBACK, fallback_note
from .data import fetch as fetch_dataset
from .recipe import seeded_run, split_seed
from .records import Record

CONTENT = Path(__file__).resolve().parent.parent / "content"  # the lessons' prose, by language


@dataclass(frozen=True)
class RunNames:
    """How an experiment names its runs: built and parsed here only, never re-parsed elsewhere.

    `build(**fields)` gives the `run` column; `parse(run)` gives the fields back (a field a run
    does not vary is None). Charts read the parsed fields as columns (`annotate`).
    """

    fields: tuple[str, ...]
    build: Callable[..., str]
    parse: Callable[[str], dict]

    def annotate(self, df: pd.DataFrame) -> pd.DataFrame:
        """`df` with one column per run field, parsed once per distinct run name."""
        names = pd.Series(df["run"].astype(str).unique()) if len(df) else pd.Series([], dtype=str)
        parsed = {n: self._parse(n) for n in names}
        out = df.copy()
        runs = out["run"].astype(str)
        for f in self.fields:
            out[f] = runs.map({n: p.get(f) for n, p in parsed.items()})
        return out

    def _parse(self, name: str) -> dict:
        """The fields of one run name; none for "" (experiment-wide notes) or a name this experiment
        did not make (an uploaded CSV, an overlay's `label · run`)."""
        if not name:
            return {}
        try:
            return self.parse(split_seed(name)[0])
        except (ValueError, KeyError, TypeError, IndexError):
            return {}


def single(field_name: str) -> RunNames:
    """Runs named by one field's value as it is (an activation, an optimizer)."""
    return RunNames((field_name,), lambda **kw: str(kw[field_name]), lambda run: {field_name: run})


@dataclass(frozen=True)
class Experiment:
    """One runnable experiment: its schema, presets, run generator and how it names its runs."""

    name: str  # the CLI name and the session key, e.g. "optimizers-net"
    title: str
    summary: str  # one line, for `python -m core list`
    config: type  # a frozen, validated dataclass (core.config)
    run: Callable[[Any], Iterator[Record]]  # run(cfg) -> Records, the only output
    runs: RunNames
    metrics: tuple[str, ...]  # every metric its page draws; the CLI's CSV holds them all
    presets: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    # work(cfg): the training steps a run takes, summed over every network it trains (all phases, seeds and
    # sweeps): the number of `loss` records it yields, and the progress bar's total
    work: Callable[[Any], int] = lambda cfg: cfg.steps
    # steps(cfg): the last step a network of the run reaches, where its charts' step axes end
    steps: Callable[[Any], int] = lambda cfg: cfg.steps
    check: Callable[[Any], None] | None = None  # checks that need the data (raise ConfigError)
    smoke: Mapping[str, Any] = field(default_factory=dict)  # overrides for a run of seconds (tests)
    timing_metrics: tuple[str, ...] = ()  # metrics measured in seconds: equal runs differ only here
    claims: tuple = ()  # core.claims.Claim: what the lesson says about its runs, checked
    # fetch(cfg, progress): download what a run needs, with deadlines (raise Unavailable); default:
    # the config's `dataset`. The page calls it before taking a training slot, then trains offline.
    fetch: Callable[[Any, Any], None] | None = None
    # export(cfg) -> core.export.Plan: what a standalone script of the run trains (raise NotExportable for a
    # setting that has none); None where the experiment has no script, for the reason `export_why_not` gives
    export: Callable[[Any], Any] | None = None
    export_why_not: str = "it has no MLP to export"
    # run_seeds(cfg, seeds): the run on several seeds at once (core.ensemble), its runs named by seeded_run;
    # None: the seeds train one after another (over_seeds)
    run_seeds: Callable[[Any, Sequence[int]], Iterator[Record]] | None = None

    def configure(self, preset: str | None = None, **changes):
        """The default config, with a preset's values and then `changes` applied (validated)."""
        cfg = apply_preset(self.config, self.presets, preset, **changes) if preset \
            else dataclasses.replace(self.config(), **changes)
        self.validate(cfg)
        return cfg

    @property
    def seeded(self) -> bool:
        """Whether its config has one seed, so that it can run on several (transfer's has its own `seeds`)."""
        names = {f.name for f in dataclasses.fields(self.config)}
        return "seed" in names and "seeds" not in names

    def over_seeds(self, cfg, seeds: Sequence[int]) -> Iterator[Record]:
        """The run of `cfg` on each of `seeds`, its runs named by seeded_run (the notes once)."""
        if self.run_seeds is not None:
            yield from self.run_seeds(cfg, seeds)
            return
        for i, seed in enumerate(seeds):
            for r in self.run(dataclasses.replace(cfg, seed=seed)):
                if r.run or i == 0:
                    yield r._replace(run=seeded_run(r.run, seed))

    def notes(self, records, cfg) -> list[str]:
        """The sentences a run's note records stand for (a dataset fallback), for page and CLI."""
        return [fallback_note(cfg.dataset)] if any(r.metric == FALLBACK for r in records) else []

    def prefetch(self, cfg, progress=None) -> None:
        """Download what a run of `cfg` needs and is not on disk yet; raise Unavailable."""
        if self.fetch is not None:
            self.fetch(cfg, progress)
        elif hasattr(cfg, "dataset"):
            fetch_dataset(cfg.dataset, progress=progress)

    def validate(self, cfg) -> None:
        """Raise ConfigError if `cfg` fails a check that needs the data."""
        if self.check is not None:
            self.check(cfg)


@dataclass(frozen=True)
class Lesson:
    """A page of the lab: its experiments in page order (the first owns the bare URL parameters)."""

    name: str  # URL path, prose file content/<lang>/<name>.md, page file pages/<name>.py (else a generic page)
    title: str
    summary: str  # what the reader will see, for the home page
    experiments: tuple[Experiment, ...]
    # A lesson kept outside the tree brings its own folder: its prose <home>/<lang>/<name>.md and the catalog of
    # its interface strings <home>/locales/<lang>/LC_MESSAGES/messages.po. None: the lab's content/ and locales/.
    home: Path | None = None

    def prose(self, lang: str) -> Path:
        """Where this lesson's prose in `lang` is (the file may not exist)."""
        return (self.home or CONTENT) / lang / f"{self.name}.md"

    def namespace(self, experiment: Experiment) -> str:
        """The URL prefix of an experiment's parameters: none for the first, its name for the others."""
        return "" if experiment is self.experiments[0] else experiment.name
