"""Checked claims: every claim a lesson makes has its words, names a control, holds on seeds 0-4 as declared
and fails on its controls there, and the `claims` command fails when one does not."""

from __future__ import annotations

import contextlib
import dataclasses
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest
import torch

from core.__main__ import main
from core.claims import CHECK_THREADS, SEEDS, Check, Claim, Control, Verdict, check_seeds, config_of, is_about, tally
from core.device import available_cpus
from core.experiments import LESSONS, experiments, lesson_of
from ui.lesson import sections

from . import toy_lesson
from .conftest import ROOT

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


# Claims still looking for a control (issue 23 stays open while this is not empty). Tried, and each still held
# on seeds 0-4: target_size=10, pretrain_steps=10, epochs=2 (unfreeze_epochs=1), reuse_layers=1, lr 0.005, 0.01
# and 0.3, width=8 (with reuse_layers 3 or 4); lr 1 gave no comparison at all, and with sigmoid units every
# variant ties (nothing learns).
WITHOUT_CONTROL = {"transfer/frozen-worse-than-scratch", "transfer/finetune-no-clear-gain"}


def test_the_claims_without_a_control_are_exactly_the_listed_ones():
    lacking = {f"{n}/{c.id}" for n, exp in experiments().items() for c in exp.claims if not c.controls}
    assert lacking == WITHOUT_CONTROL


@pytest.mark.parametrize("name", WITH_CLAIMS)
def test_every_claim_names_a_valid_control_that_changes_its_setting(name):
    """A control equal to its own setting could not measure a claim false."""
    exp = experiments()[name]
    for claim in exp.claims:
        own = config_of(exp, claim, 0)
        for control in claim.controls:
            assert config_of(exp, claim, 0, control) != own, (claim.id, control)


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


def _toy_with(claims):
    exp = dataclasses.replace(toy_lesson.EXPERIMENT, claims=claims)
    return exp, dataclasses.replace(toy_lesson.LESSON, experiments=(exp,))


# On the toy's default (lr 0.1) the loss falls to under half its start in 20 steps; at lr 1e-4, its control, not.
HALVES = Claim("loss-falls", None, lambda recs: Verdict(recs[-1].value < 0.5 * recs[0].value, "the loss fell"),
               controls=(Control({"lr": 1e-4}),))


@contextlib.contextmanager
def _in_place_of_the_toy(lesson):
    """`lesson` registered where the toy lesson is (conftest registers the toy for the session)."""
    i = LESSONS.index(toy_lesson.LESSON)
    LESSONS[i] = lesson
    try:
        yield
    finally:
        LESSONS[i] = toy_lesson.LESSON


@pytest.fixture
def toy_with_claims():
    fails = Claim("loss-rises", None, lambda recs: Verdict(recs[-1].value > recs[0].value, "the loss fell"),
                  controls=(Control({"lr": 1e-4}),))
    exp, lesson = _toy_with((HALVES, fails))
    with _in_place_of_the_toy(lesson):
        yield exp


def test_claims_command_prints_a_table_and_fails_on_a_broken_claim(toy_with_claims, capsys):
    assert main(["claims", "toy", "--seeds", "0,1", "--preset", "default"]) == 1
    out, err = capsys.readouterr()
    rows = [line.split("\t") for line in out.splitlines()]
    assert rows[0] == ["experiment", "claim", "setting", "seed", "holds", "evidence"] and len(rows) == 5
    assert {(r[1], r[4]) for r in rows[1:]} == {("loss-falls", "yes"), ("loss-rises", "NO")}
    assert "FAIL toy/loss-rises: holds on 0 of 2 seeds" in err and "ok   toy/loss-falls: holds on 2 of 2" in err
    with pytest.raises(SystemExit) as bad:
        main(["claims", "toy", "--seeds", "x"])
    assert bad.value.code == 2
    with pytest.raises(SystemExit) as repeated:
        main(["claims", "toy", "--seeds", "1,1"])
    assert repeated.value.code == 2
    assert main(["claims", "toy", "--preset", "nope"]) == 2  # no claims about that preset


def test_claims_command_runs_the_controls_and_fails_when_one_holds(capsys):
    always = Claim("always", None, lambda recs: Verdict(True, "true by construction"),
                   controls=(Control({"lr": 1e-4}),))
    for claims, code in (((HALVES,), 0), ((HALVES, always), 1)):
        _exp, lesson = _toy_with(claims)
        with _in_place_of_the_toy(lesson):
            assert main(["claims", "toy", "--seeds", "0,1", "--controls"]) == code
        out, err = capsys.readouterr()
        rows = [r.split("\t") for r in out.splitlines()[1:]]
        assert [(r[1], r[2], r[4]) for r in rows if r[3] == "0"][:2] == [
            ("loss-falls", "default", "yes"), ("loss-falls", "control: default lr=0.0001", "NO")]
        assert "ok   toy/loss-falls: holds on 2 of 2 seeds" in err
    assert "FAIL toy/always: holds on 2 of 2 seeds" in err and "control default lr=0.0001: holds on 2" in err


def test_a_usually_claim_may_fail_on_three_seeds_in_ten_and_a_control_hold_on_as_many():
    claim = Claim("c", None, lambda recs: None, usually=True)
    assert claim.allowed_failures(5) == 1 and claim.allowed_failures(10) == 3
    assert Claim("d", None, claim.check).allowed_failures(10) == 0
    assert Claim.allowed_on_control(10) == 3 and Claim.allowed_on_control(5) == 1 and Claim.allowed_on_control(2) == 0


def test_tally_counts_each_control_apart_and_a_missing_measurement_on_a_control_counts_as_holding():
    control = Control({"lr": 0.5})
    claim = Claim("c", None, lambda recs: None, controls=(control,))
    yes, no = Verdict(True, ""), Verdict(False, "")
    checks = [Check(claim, None, 0, yes), Check(claim, None, 1, no), Check(claim, control, 0, no),
              Check(claim, control, 1, None)]
    (t,) = tally(checks)
    assert (t.seeds, t.held, t.control_held) == (2, 1, (1,)) and not t.ok
    assert Check(claim, None, 0, None).holds is False and Check(claim, control, 0, None).holds is True


# Seconds each lesson's claims and controls took on seeds 0-4 on this machine: the longest start first.
COST = {"activations": 268, "batchnorm": 246, "optimizers": 205, "vanishing": 196, "transfer": 93}


@pytest.fixture(scope="module")
def lesson_checks(request):
    """`python -m core claims LESSON --controls` on seeds 0-4 for every lesson whose check this session runs, as
    subprocesses side by side, one per CPU (each trains at one pinned thread, so its verdicts are the
    in-process ones), the longest first: lesson name -> a future of its finished process."""
    chosen = {item.callspec.params["name"] for item in request.session.items
              if item.originalname == "test_every_claim_holds_on_seeds_0_to_4_and_fails_on_its_controls"}
    lessons = sorted({lesson_of(experiments()[n]).name for n in chosen}, key=lambda n: -COST.get(n, 0))
    started: list[subprocess.Popen] = []

    def check(name: str) -> subprocess.CompletedProcess:
        proc = subprocess.Popen([sys.executable, "-m", "core", "claims", name, "--seeds", ",".join(map(str, SEEDS)),
                                 "--controls"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        started.append(proc)
        out, err = proc.communicate(timeout=3600)
        return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)

    pool = ThreadPoolExecutor(max(1, available_cpus()))
    yield {name: pool.submit(check, name) for name in lessons}
    pool.shutdown(wait=False, cancel_futures=True)
    for proc in started:  # a run of a few tests (-k) leaves no lesson training behind it
        proc.kill()


@pytest.mark.slow
@pytest.mark.parametrize("name", WITH_CLAIMS)
def test_every_claim_holds_on_seeds_0_to_4_and_fails_on_its_controls(name, lesson_checks):
    exp = experiments()[name]
    done = lesson_checks[lesson_of(exp).name].result()
    mine = [line for line in done.stderr.splitlines() if f" {name}/" in line]
    assert [line.split()[1] for line in mine] == [f"{name}/{c.id}:" for c in exp.claims], done.stderr[-2000:]
    assert all(line.startswith("ok ") for line in mine), "\n".join(mine)


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


def test_claim_checks_train_at_a_pinned_thread_count_and_give_it_back():
    """A seed's verdict must not depend on who checks it: the runs train at CHECK_THREADS threads,
    and the caller's thread count is restored after."""
    seen = []

    def run(cfg):
        seen.append(torch.get_num_threads())
        yield from toy_lesson.run(cfg)

    exp = dataclasses.replace(toy_lesson.EXPERIMENT, run=run, claims=(HALVES,))
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        assert all(c.holds for c in check_seeds(exp, exp.claims, seeds=(0, 1)))
        assert seen == [CHECK_THREADS, CHECK_THREADS] and torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)
