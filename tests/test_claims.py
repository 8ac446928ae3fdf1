"""Checked claims: every claim a lesson makes has its words, holds on seeds 0-4 as declared, and the
`claims` command fails when one does not."""

from __future__ import annotations

import dataclasses
import re

import pytest

from core.__main__ import main
from core.claims import SEEDS, Claim, Verdict, check_seeds, is_about
from core.experiments import LESSONS, experiments, lesson_of
from ui.lesson import sections

from . import toy_lesson

WITH_CLAIMS = [name for name, exp in experiments().items() if exp.claims]


def test_every_lesson_makes_checked_claims():
    assert {lesson_of(experiments()[n]).name for n in WITH_CLAIMS} == {lesson.name for lesson in LESSONS}


@pytest.mark.parametrize("name", WITH_CLAIMS)
def test_every_claim_has_words_and_a_valid_setup(name):
    exp = experiments()[name]
    prose = sections(lesson_of(exp).name)
    for claim in exp.claims:
        assert f"claim-{claim.id}" in prose, claim.id
        assert claim.preset is None or claim.preset in exp.presets
        text = prose[f"claim-{claim.id}"]
        assert ("usually" in text.lower()) == claim.usually, claim.id  # "usually" claims say so
    ids = [c.id for c in exp.claims]
    assert len(ids) == len(set(ids))


def test_no_prose_claim_without_a_check():
    declared = {f"claim-{c.id}" for exp in experiments().values() for c in exp.claims}
    for lesson in LESSONS:
        written = {k for k in sections(lesson.name) if k.startswith("claim-")}
        assert written <= declared, written - declared


def test_is_about_ignores_the_seed_only():
    exp = experiments()["vanishing"]
    claim = next(c for c in exp.claims if c.preset == "relu-he")
    cfg = exp.configure("relu-he")
    assert is_about(exp, claim, dataclasses.replace(cfg, seed=7))
    assert not is_about(exp, claim, dataclasses.replace(cfg, depth=11))


@pytest.fixture
def toy_with_claims(monkeypatch):
    holds = Claim("loss-falls", None, lambda recs: Verdict(recs[-1].value < recs[0].value, "the loss fell"))
    fails = Claim("loss-rises", None, lambda recs: Verdict(recs[-1].value > recs[0].value, "the loss fell"))
    exp = dataclasses.replace(toy_lesson.EXPERIMENT, claims=(holds, fails))
    lesson = dataclasses.replace(toy_lesson.LESSON, experiments=(exp,))
    LESSONS.append(lesson)
    yield exp
    LESSONS.remove(lesson)


def test_claims_command_prints_a_table_and_fails_on_a_broken_claim(toy_with_claims, capsys):
    assert main(["claims", "toy", "--seeds", "0,1", "--preset", "default"]) == 1
    out, err = capsys.readouterr()
    rows = [line.split("\t") for line in out.splitlines()]
    assert rows[0] == ["experiment", "claim", "preset", "seed", "holds", "evidence"] and len(rows) == 5
    assert {(r[1], r[4]) for r in rows[1:]} == {("loss-falls", "yes"), ("loss-rises", "NO")}
    assert "toy/loss-rises failed on 2 of 2 seeds" in err
    with pytest.raises(SystemExit) as bad:
        main(["claims", "toy", "--seeds", "x"])
    assert bad.value.code == 2
    assert main(["claims", "toy", "--preset", "nope"]) == 2  # no claims about that preset


def test_a_usually_claim_may_fail_on_one_seed_in_five():
    claim = Claim("c", None, lambda recs: None, usually=True)
    assert claim.allowed_failures(5) == 1 and Claim("d", None, claim.check).allowed_failures(5) == 0


@pytest.mark.slow
@pytest.mark.parametrize("name", WITH_CLAIMS)
def test_every_claim_holds_on_seeds_0_to_4_as_declared(name):
    exp = experiments()[name]
    failed: dict[str, list] = {}
    for claim, seed, verdict in check_seeds(exp, exp.claims, SEEDS):
        if verdict is None or not verdict.holds:
            failed.setdefault(claim.id, []).append((seed, verdict and verdict.evidence))
    too_many = {c.id: failed[c.id] for c in exp.claims if len(failed.get(c.id, [])) > c.allowed_failures(len(SEEDS))}
    assert not too_many, too_many


def test_claim_words_state_no_number_beyond_what_is_checked():
    """A light guard: each claim's sentence is one short statement (numbers in it are its thresholds)."""
    for exp in experiments().values():
        for claim in exp.claims:
            text = sections(lesson_of(exp).name)[f"claim-{claim.id}"]
            assert len(re.split(r"(?<=[.!?])\s", text.strip())) <= 2, claim.id


@pytest.mark.slow
def test_surface_claims_do_not_depend_on_where_the_run_is_cut():
    """Each optimizer-surface claim holds at three times its preset's steps too (the surfaces are
    deterministic, so one run each)."""
    exp = experiments()["optimizers"]
    for claim in exp.claims:
        cfg = dataclasses.replace(exp.configure(claim.preset), steps=3 * exp.configure(claim.preset).steps)
        verdict = claim.check(list(exp.run(cfg)))
        assert verdict is not None and verdict.holds, (claim.id, verdict)


def test_between_treats_a_missing_bound_as_none():
    from core.claims import between

    assert between(0.5, 0.1, 0.9) and between(5.0, low=1.0) and between(-5.0, high=1.0)
    assert not between(0.1, 0.1, 0.9) and not between(0.95, high=0.9)
