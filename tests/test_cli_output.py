"""The CLI's output file: checked before training, replaced whole when a run finishes, the old one kept on
Ctrl-C (exit 130), a closed pipe no traceback; and a blow-up ends a run as diverged with its reason."""

from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from core.__main__ import main
from core.data import load
from core.engine import TrainConfig, train
from core.records import BLOWN_UP, BLOWUP, BLOWUP_STEPS

ROOT = Path(__file__).resolve().parent.parent


def test_a_bad_out_path_fails_before_training(tmp_path, capsys):
    started = time.monotonic()
    assert main(["run", "vanishing", "--steps", "100000", "--out", str(tmp_path / "missing" / "x.csv")]) == 2
    assert main(["run", "vanishing", "--steps", "100000", "--out", str(tmp_path)]) == 2
    assert time.monotonic() - started < 5  # 100,000 steps were not trained first
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 2 and "does not exist" in err[0] and "is a folder" in err[1]


def _interrupted_cli(out: Path, after_partial: float | None) -> tuple[int, str]:
    """Start a long CLI run and press Ctrl-C `after_partial` seconds after its partial file appears (the
    options are parsed, training starts), or at once (None: while it imports torch)."""
    # a background job (CI's runner, `cmd &`) inherits SIGINT ignored, and Python then installs no Ctrl-C handler:
    # give the CLI the default disposition a terminal gives it
    # faulthandler on: a run that does not stop is killed with SIGABRT below, and its threads' stacks are the failure
    proc = subprocess.Popen([sys.executable, "-m", "core", "run", "vanishing", "--steps", "100000", "--out", str(out)],
                            cwd=ROOT, stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONFAULTHANDLER": "1"},
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    if after_partial is None:
        time.sleep(0.3)  # Python is up (its handler installed), torch not yet imported
    else:
        deadline = time.time() + 120
        while not any(p.name.endswith(".partial") for p in out.parent.iterdir()) and time.time() < deadline:
            time.sleep(0.05)
        time.sleep(after_partial)
    proc.send_signal(signal.SIGINT)
    try:
        err = proc.communicate(timeout=60)[1]
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGABRT)
        stacks = proc.communicate(timeout=30)[1]
        pytest.fail(f"Ctrl-C {after_partial} s after the partial file did not stop the run within 60 s; its stacks:\n"
                    f"{stacks[-6000:]}")
    return proc.returncode, err


@pytest.mark.parametrize("after_partial", [0.0, 0.2, 1.0])
def test_ctrl_c_leaves_the_old_file_and_exits_130(tmp_path, after_partial):
    # 0 and 0.2 s land in the first steps, where torch's lazy imports exec code: CPython 3.11 then killed the
    # process with SIGINT at exit (-2) though the CLI had handled the interrupt
    out = tmp_path / "keep.csv"
    out.write_text("old\n")
    code, err = _interrupted_cli(out, after_partial)
    assert (code, err.strip().splitlines()) == (130, [f"interrupted: {out} is as it was"])
    assert out.read_text() == "old\n" and [p.name for p in tmp_path.iterdir()] == ["keep.csv"]


def test_ctrl_c_while_starting_is_one_line(tmp_path):
    out = tmp_path / "keep.csv"
    out.write_text("old\n")
    code, err = _interrupted_cli(out, None)
    assert code == 130 and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1 and err.startswith("interrupted")
    assert out.read_text() == "old\n" and [p.name for p in tmp_path.iterdir()] == ["keep.csv"]


def test_a_finished_run_replaces_the_file_whole(tmp_path):
    out = tmp_path / "x.csv"
    out.write_text("old\n")
    assert main(["run", "vanishing", "--steps", "3", "--out", str(out)]) == 0
    assert out.read_text().startswith("run,step,metric,layer,value\n")
    assert [p.name for p in tmp_path.iterdir()] == ["x.csv"]


def test_a_closed_pipe_is_not_a_traceback():
    proc = subprocess.run(f"{sys.executable} -m core run vanishing --steps 200 | head -1", shell=True, cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.stdout == "run,step,metric,layer,value\n" and "Traceback" not in proc.stderr


def test_a_sustained_blow_up_ends_the_run_with_its_reason():
    cfg = TrainConfig(activation="sigmoid", lr=100.0, steps=400)
    records = list(train(cfg, load("digits", 0), "r"))
    reason = [r for r in records if r.metric == "diverged_reason"]
    assert [r.value for r in reason] == [BLOWN_UP]
    end = reason[0].step
    assert records[-1].metric == "diverged" and records[-1].step == end
    # Reference, computed from the recorded losses: the BLOWUP_STEPS - 1 steps before the end were
    # all above BLOWUP × chance (the ending step's loss is not recorded), and no earlier window was.
    losses = {r.step: r.value for r in records if r.metric == "loss"}
    limit = BLOWUP * math.log(10)
    assert all(losses[s] > limit for s in range(end - BLOWUP_STEPS + 1, end))
    assert not any(all(losses[s] > limit for s in range(e - BLOWUP_STEPS + 1, e + 1))
                   for e in range(BLOWUP_STEPS, end - 1))


def test_a_healthy_run_is_not_called_diverged():
    records = list(train(TrainConfig(activation="relu", init="he_normal", lr=0.05, steps=100), load("digits", 0)))
    assert not any(r.metric.startswith("diverged") for r in records)

