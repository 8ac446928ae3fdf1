"""Checked claims: what a lesson says about a run, as a pure function of the run's records.

A claim is declared beside the presets it is about. On the page it is checked on the reader's
own run after every run; `python -m core claims` and the slow tests check it on several seeds.
Its words live in the lesson's prose (section `claim-<id>`), so they can be translated; the
evidence is a sentence of measured numbers.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from .records import Record

SEEDS = (0, 1, 2, 3, 4)


@dataclass(frozen=True)
class Verdict:
    """Whether a claim holds on one run, and the measured evidence as a sentence."""

    holds: bool
    evidence: str


@dataclass(frozen=True)
class Claim:
    """One statement a lesson makes about the run of one preset (or the default)."""

    id: str  # also its prose: section `claim-<id>` of the lesson's markdown
    preset: str | None  # the setup it is about; None means the experiment's default
    check: Callable[[list[Record]], Verdict | None]  # None: the run lacks what the claim measures
    usually: bool = False  # holds on at least 4 of 5 seeds (its text says "usually"), not on every one

    def allowed_failures(self, seeds: int) -> int:
        """How many of `seeds` seeds may fail: one in five for a "usually" claim, else none."""
        return seeds // 5 if self.usually else 0


def config_of(experiment, claim: Claim, seed: int | None = None):
    """The config a claim is about, optionally with another seed."""
    cfg = experiment.configure(claim.preset) if claim.preset else experiment.config()
    # a deterministic experiment (the 2-D surfaces) has no seed: every seed is the same run
    return cfg if seed is None or not hasattr(cfg, "seed") else dataclasses.replace(cfg, seed=seed)


def is_about(experiment, claim: Claim, cfg) -> bool:
    """Whether `cfg` is the claim's setup, whatever its seed."""
    return (dataclasses.replace(cfg, seed=0) if hasattr(cfg, "seed") else cfg) == config_of(experiment, claim, 0)


def check_seeds(experiment, claims: Sequence[Claim], seeds: Iterable[int] = SEEDS):
    """Run each claim's setup once per seed (runs shared by claims about the same setup) and yield
    (claim, seed, verdict or None)."""
    for seed in seeds:
        runs: dict = {}
        for claim in claims:
            cfg = config_of(experiment, claim, seed)
            if cfg not in runs:
                runs[cfg] = list(experiment.run(cfg))
            yield claim, seed, claim.check(runs[cfg])


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
