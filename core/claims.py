"""Checked claims: what a lesson says about a run, as a pure function of the run's records.

A claim is declared beside the presets it is about. On the page it is checked on the reader's
own run after every run; `python -m core claims` and the slow tests check it on several seeds.
Its words live in the lesson's prose (section `claim-<id>`), so they can be translated; the
evidence is a sentence of measured numbers.

A claim must be able to fail: it names at least one control, a setting on which the lab measures it
false (a claim that held there too would be true by construction, a definition). How often it holds
sets its words: on every seed it is stated plainly; on at least 70% of seeds (7 of 10) it says
"usually". The same share bounds a control: it may hold on at most 30% of seeds.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .device import pinned_threads
from .i18n import _
from .records import Record
from .seeds import per_seed, spread

SEEDS = (0, 1, 2, 3, 4)  # the slow tests' seeds
CHECK_THREADS = 1  # torch threads of a claim check's runs: what a page's run gets on a two-CPU server
USUALLY = 0.7  # a "usually" claim holds on at least this share of seeds; a control on at most 1 - this
DEFAULT = "default"  # a control's preset meaning the experiment's default settings


@dataclass(frozen=True)
class Verdict:
    """Whether a claim holds on one run, and the measured evidence as a sentence."""

    holds: bool
    evidence: str


@dataclass(frozen=True)
class Control:
    """A setting on which a claim is measured false: a preset (None: the claim's own; DEFAULT: the
    experiment's default) with some fields changed."""

    changes: Mapping[str, Any] = field(default_factory=dict)
    preset: str | None = None

    def label(self, claim: Claim) -> str:
        """How the control reads in a table: `dying-relu lr=0.001`."""
        preset = self.preset or claim.preset or DEFAULT
        return " ".join([preset, *(f"{k}={_shown(v)}" for k, v in self.changes.items())])


def _shown(value) -> str:
    return ",".join(map(str, value)) if isinstance(value, tuple) else f"{value:g}" if isinstance(value, float) \
        else str(value)


@dataclass(frozen=True)
class Claim:
    """One statement a lesson makes about the run of one preset (or the default)."""

    id: str  # also its prose: section `claim-<id>` of the lesson's markdown
    preset: str | None  # the setup it is about; None means the experiment's default
    check: Callable[[list[Record]], Verdict | None]  # None: the run lacks what the claim measures
    controls: tuple[Control, ...] = ()  # settings on which it is measured false
    usually: bool = False  # holds on at least 70% of seeds (its text says "usually"), not on every one

    def allowed_failures(self, seeds: int) -> int:
        """How many of `seeds` seeds may fail: 30% for a "usually" claim (1 of 5, 3 of 10), else none."""
        return self.allowed_on_control(seeds) if self.usually else 0

    @staticmethod
    def allowed_on_control(seeds: int) -> int:
        """How many of `seeds` seeds a control may still hold on: 30% (1 of 5, 3 of 10)."""
        return int(seeds * (1 - USUALLY) + 1e-9)


def config_of(experiment, claim: Claim, seed: int | None = None, control: Control | None = None):
    """The config a claim (or one of its controls) is about, optionally with another seed."""
    preset = claim.preset if control is None or control.preset is None else control.preset
    preset = None if preset == DEFAULT else preset
    cfg = experiment.configure(preset, **(control.changes if control else {}))
    # a deterministic experiment (the 2-D surfaces) has no seed: every seed is the same run
    return cfg if seed is None or not hasattr(cfg, "seed") else dataclasses.replace(cfg, seed=seed)


@dataclass(frozen=True)
class OverSeeds(Verdict):
    """A claim on a run trained on several seeds: judged on each seed's records, holding as the claim
    declares (every seed, or a "usually" claim's share); the evidence is the seeds' sentences as one, each
    number that differs given as its range over the seeds."""

    held: int = 0
    seeds: int = 0


def check_over_seeds(claim: Claim, records: Sequence[Record]) -> Verdict | None:
    """The claim on `records`: a run on one seed is checked as it is; one on several seeds (runs named
    `<run>@seed<k>`), seed by seed, as OverSeeds. A seed whose run lacks what the claim measures counts
    as not holding (as on the claims' own setting in check_seeds); None if no seed has it."""
    members = per_seed(records)
    if not members:
        return claim.check(list(records))
    verdicts = [claim.check(rs) for rs in members.values()]
    measured = [v for v in verdicts if v is not None]
    if not measured:
        return None
    held, seeds = sum(v.holds for v in measured), len(verdicts)
    return OverSeeds(seeds - held <= claim.allowed_failures(seeds),
                     _("holds on {held} of {seeds} seeds. {evidence}").format(
                         held=held, seeds=seeds, evidence=spread([v.evidence for v in measured])),
                     held, seeds)


def is_about(experiment, claim: Claim, cfg) -> bool:
    """Whether `cfg` is the claim's setup, whatever its seed."""
    return (dataclasses.replace(cfg, seed=0) if hasattr(cfg, "seed") else cfg) == config_of(experiment, claim, 0)


@dataclass(frozen=True)
class Check:
    """One claim checked on one seed, on its own setting (control None) or on one of its controls."""

    claim: Claim
    control: Control | None
    seed: int
    verdict: Verdict | None

    @property
    def holds(self) -> bool:
        """Whether the claim was measured true; a run that lacks what it measures counts as false on its
        own setting and as true on a control (a control must measure the claim false, not skip it)."""
        return self.verdict.holds if self.verdict is not None else self.control is not None


def check_seeds(experiment, claims: Sequence[Claim], seeds: Iterable[int] = SEEDS,
                controls: bool = False) -> Iterator[Check]:
    """Run each claim's setup (and with `controls`, each control's) once per seed, runs shared by the
    claims about the same config, and yield a Check for each. Runs train at CHECK_THREADS torch threads,
    so a seed's verdict is the same from the CLI, the tests and any machine's thread count."""
    for seed in seeds:
        runs: dict = {}
        for claim in claims:
            for control in (None, *(claim.controls if controls else ())):
                cfg = config_of(experiment, claim, seed, control)
                if cfg not in runs:
                    with pinned_threads(CHECK_THREADS):
                        runs[cfg] = list(experiment.run(cfg))
                yield Check(claim, control, seed, claim.check(runs[cfg]))


@dataclass(frozen=True)
class Tally:
    """A claim over several seeds: on how many it held, and on how many each control held."""

    claim: Claim
    seeds: int
    held: int
    control_held: tuple[int, ...]  # one count per control, in the claim's order

    @property
    def ok(self) -> bool:
        """Holds as declared and is measured false on every control."""
        return (self.seeds - self.held <= self.claim.allowed_failures(self.seeds)
                and all(n <= Claim.allowed_on_control(self.seeds) for n in self.control_held))


def tally(checks: Iterable[Check]) -> list[Tally]:
    """Count the checks per claim, in the order the claims first appear."""
    found: dict[str, list] = {}
    for c in checks:
        claim, seeds, counts = found.setdefault(c.claim.id, [c.claim, set(), {}])
        seeds.add(c.seed)
        key = -1 if c.control is None else c.claim.controls.index(c.control)
        counts[key] = counts.get(key, 0) + c.holds
    return [Tally(claim, len(seeds), counts.get(-1, 0),
                  tuple(counts[i] for i in range(len(claim.controls)) if i in counts))
            for claim, seeds, counts in found.values()]


# Helpers the lessons' checks share: pick values out of records.

def values(records: Iterable[Record], metric: str, run: str | None = None, step: int | None = None) -> dict:
    """{layer or step: value} of one metric: by layer at a fixed step, by step for a whole-model metric."""
    out = {}
    for r in records:
        if r.metric == metric and (run is None or r.run == run) and (step is None or r.step == step):
            out[r.layer if step is not None else r.step] = r.value
    return out


def probe_steps(records: Iterable[Record], metric: str = "grad_norm", run: str | None = None) -> list[int]:
    """The steps at which a per-layer metric was probed, in order."""
    return sorted({r.step for r in records if r.metric == metric and (run is None or r.run == run)})


def last(records: Iterable[Record], metric: str, run: str | None = None) -> float | None:
    """The latest value of a whole-model metric (None if the run never recorded it)."""
    found = values(records, metric, run)
    return found[max(found)] if found else None


def between(value: float, low: float | None = None, high: float | None = None) -> bool:
    """Whether `value` lies above `low` and below `high` (a missing bound is no bound)."""
    return (low is None or value > low) and (high is None or value < high)


def diverged(records: Iterable[Record], run: str | None = None) -> bool:
    return any(r.metric == "diverged" and (run is None or r.run == run) for r in records)


def final_accuracy(low: float | None, high: float | None, said: Callable[[float, list], str]) -> Callable:
    """Claim: the final validation accuracy is above `low` (it learns) or below `high` (it stalls), with `said(acc,
    records)` as the verdict's words. A run that diverged learned nothing: it fails `low` and holds `high`."""
    def check(records):
        if diverged(records):
            return Verdict(low is None, _("The run diverged at step {step}.")
                                        .format(step=int(last(records, "diverged"))))
        if (acc := last(records, "val_accuracy")) is None:
            return None
        return Verdict(between(acc, low, high), said(acc, records))
    return check
