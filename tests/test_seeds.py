"""A run on several seeds read back (core.seeds): each seed's records, the seeds' mean and range, the median
member, and claims judged per seed; each against a direct computation or the single-seed runs themselves."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd
import pytest

from core import seeds
from core.claims import OverSeeds, check_over_seeds
from core.experiments import experiments
from core.records import COLUMNS, Record

EXPERIMENTS = experiments()


@pytest.fixture(scope="module")
def batchnorm_runs():
    """batchnorm on seeds 3 and 5 (trained one after another, Experiment.over_seeds), and each seed's own run."""
    exp = EXPERIMENTS["batchnorm"]
    cfg = exp.configure(None, steps=25, depth=3)
    both = list(exp.over_seeds(cfg, [3, 5]))
    alone = {s: list(exp.run(dataclasses.replace(cfg, seed=s))) for s in (3, 5)}
    return exp, both, alone


def _frame(records) -> pd.DataFrame:
    return pd.DataFrame(list(records), columns=list(COLUMNS))


def test_each_seeds_records_are_that_seeds_own_run(batchnorm_runs):
    _exp, both, alone = batchnorm_runs
    split = seeds.per_seed(both)
    assert list(split) == [3, 5]
    for s, records in alone.items():
        assert sorted(split[s], key=repr) == sorted(records, key=repr)
    assert seeds.per_seed(alone[3]) == {}  # a run on one seed is not split


def test_a_claim_over_seeds_counts_the_seeds_its_single_runs_hold_on(batchnorm_runs):
    exp, both, alone = batchnorm_runs
    for claim in exp.claims:
        verdict = check_over_seeds(claim, both)
        singles = [claim.check(alone[s]) for s in (3, 5)]
        if all(v is None for v in singles):
            assert verdict is None
            continue
        held = sum(bool(v and v.holds) for v in singles)
        assert isinstance(verdict, OverSeeds) and (verdict.held, verdict.seeds) == (held, 2)
        assert verdict.holds == (2 - held <= claim.allowed_failures(2))
        assert f"holds on {held} of 2 seeds" in verdict.evidence
    on_one = exp.claims[0]
    assert check_over_seeds(on_one, alone[3]) == on_one.check(alone[3])  # one seed: checked as it is


def _seeded(n_seeds: int = 3, steps: int = 6) -> pd.DataFrame:
    """Two networks on `n_seeds` seeds with random values, a per-layer metric, and one member diverged."""
    rng = np.random.default_rng(0)
    rows = []
    for run in ("relu", "elu"):
        for s in range(n_seeds):
            name = f"{run}@seed{10 + s}"
            for step in range(1, steps + 1):
                rows.append(Record(name, step, "loss", None, float(rng.random())))
                rows += [Record(name, step, "dead_fraction", layer, float(rng.random())) for layer in (1, 2)]
    rows.append(Record("relu@seed11", 4, "diverged", None, 4.0))
    rows.append(Record("", 0, "note", None, 1.0))
    return _frame(rows)


def test_the_band_is_the_members_mean_lowest_and_highest():
    df = _seeded()
    out = seeds.band(df)
    for (run, metric, layer), group in _frame_groups(df).items():
        for step, values in group.items():
            row = out[(out["run"] == run) & (out["metric"] == metric) & (out["step"] == step)
                      & ((out["layer"] == layer) if layer is not None else out["layer"].isna())]
            assert len(row) == 1
            assert math.isclose(row["value"].iloc[0], np.mean(values), rel_tol=1e-6)
            assert math.isclose(row["lo"].iloc[0], min(values), rel_tol=1e-6)
            assert math.isclose(row["hi"].iloc[0], max(values), rel_tol=1e-6)
    rules = out[out["metric"] == "diverged"]
    assert rules[["run", "step", "value"]].values.tolist() == [["relu", 4, 4.0]]  # the member's rule, kept
    assert list(out["run"].cat.categories) == ["", "relu", "elu"] or set(out["run"].cat.categories) >= {"relu", "elu"}
    one = df[df["run"] == "relu@seed10"].assign(run="relu")
    assert seeds.band(one) is one  # a run on one seed is drawn as it is


def _frame_groups(df: pd.DataFrame) -> dict:
    """{(run, metric, layer): {step: [each member's value]}}, written out with loops."""
    out: dict = {}
    for row in df.itertuples():
        base, mark, seed = row.run.rpartition("@seed")
        if not mark or row.metric in ("diverged", "note"):
            continue
        layer = None if pd.isna(row.layer) else int(row.layer)
        out.setdefault((base, row.metric, layer), {}).setdefault(row.step, []).append(row.value)
    return out


def test_the_median_member_has_the_median_final_loss_and_is_drawn_alone():
    df = _seeded(n_seeds=5)
    chosen = seeds.median_seeds(df)
    for run in ("relu", "elu"):
        finals = {s: df[(df["run"] == f"{run}@seed{s}") & (df["metric"] == "loss")].sort_values("step")["value"]
                  .iloc[-1] for s in range(10, 15)}
        assert chosen[run] == sorted(finals, key=finals.get)[2]
    picked = seeds.member(df[df["metric"] == "dead_fraction"], chosen)
    assert set(picked["run"]) == {"relu", "elu"} and len(picked) == 2 * 6 * 2
    mine = df[(df["run"] == f"relu@seed{chosen['relu']}") & (df["metric"] == "dead_fraction")]
    assert picked[picked["run"] == "relu"]["value"].tolist() == mine["value"].tolist()


def test_a_member_that_ends_non_finite_ranks_as_the_worst():
    df = _frame([Record(f"r@seed{s}", 1, "loss", None, v) for s, v in ((0, 1.0), (1, math.nan), (2, 3.0))])
    assert seeds.median_seeds(df) == {"r": 2}  # finite 1.0 and 3.0, NaN above both: the middle is 3.0


@pytest.mark.parametrize(("evidence", "expected"), [
    (["relu: 3% dead at step 60, layer 9's.", "relu: 6% dead at step 60, layer 10's."],
     "relu: 3–6% dead at step 60, layer 9–10's."),
    (["mean 0.44–0.59 × relu's", "mean 0.63–0.85 × relu's"], "mean (0.44–0.63)–(0.59–0.85) × relu's"),
    (["loss 1,200 at end", "loss 900 at end"], "loss 900–1,200 at end"),
    (["relu dies", "relu lives"], "relu dies | relu lives"),  # not the same sentence: each said
    (["same 2", "same 2"], "same 2"),
])
def test_the_evidence_of_several_seeds_gives_each_differing_number_as_a_range(evidence, expected):
    assert seeds.spread(evidence) == expected
