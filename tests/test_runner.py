"""The headless runner: CSV contract, bad options, and the same bytes as the page's download."""

import csv
import subprocess
import sys

import pytest

from core.__main__ import main
from core.experiments import vanishing
from core.records import COLUMNS, METRICS, csv_bytes

from .conftest import ROOT

ARGS = ["run", "vanishing", "--steps", "12", "--depth", "3", "--width", "16", "--probe-every", "5"]


def test_writes_the_contract_csv(tmp_path):
    out = tmp_path / "run.csv"
    proc = subprocess.run([sys.executable, "-m", "core", *ARGS, "--out", str(out)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    rows = list(csv.reader(out.open()))
    assert tuple(rows[0]) == COLUMNS
    assert {r[2] for r in rows[1:]} <= set(METRICS)
    assert {r[0] for r in rows[1:]} == {"sigmoid-xavier_uniform"}
    assert all(r[3] == "" for r in rows[1:] if r[2] in ("loss", "val_accuracy"))
    assert {r[3] for r in rows[1:] if r[2] == "grad_norm"} == {"1", "2", "3", "4"}


def test_csv_equals_the_page_download(tmp_path):
    out = tmp_path / "run.csv"
    assert main([*ARGS, "--out", str(out)]) == 0
    cfg = vanishing.Config(steps=12, depth=3, width=16, probe_every=5)
    assert out.read_bytes() == csv_bytes(vanishing.run(cfg))


def test_preset_then_override(tmp_path):
    out = tmp_path / "run.csv"
    assert main(["run", "vanishing", "--preset", "relu-he", "--steps", "3", "--out", str(out)]) == 0
    assert out.read_text().splitlines()[1].startswith("relu-he_normal,1,loss,")


@pytest.mark.parametrize("args,needle", [
    (["--depth", "500"], "--depth must be a whole number between 1 and 100 (got 500)"),
    (["--steps", "3.5"], "--steps must be a whole number between 1 and 100000 (got '3.5')"),
    (["--steps", "1" + "0" * 400], "--steps is too long (401 characters; at most 200)"),
    (["--depth", "1" + "0" * 30], "--depth must be a whole number between 1 and 100"),
    (["--depth", "1_0"], "--depth must be a whole number"),
    (["--depth", "\u0665"], "--depth must be a whole number"),  # Arabic-Indic five
    (["--lr", "inf"], "--lr must be a number between"),
    (["--depth", "5", "--depth", "6"], "--depth was given more than once"),
    (["--dept", "5"], "unrecognized arguments: --dept"),  # no prefix matching
    (["--activation", "swish2"], "--activation must be one of sigmoid"),
    (["--lr", "fast"], "--lr must be a number between"),
    (["--batch-norm", "middle"], "--batch-norm must be one of none, before, after"),
    (["--preset", "nope"], "--preset"),
    (["--bogus", "1"], "unrecognized arguments: --bogus"),
])
def test_bad_options_exit_2_with_one_line(args, needle, capsys):
    with pytest.raises(SystemExit) as exc:
        code = main(["run", "vanishing", *args])
        raise SystemExit(code)
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip()
    assert needle in err and len(err.splitlines()) == 1


def test_help_lists_the_options():
    proc = subprocess.run([sys.executable, "-m", "core", "run", "vanishing", "--help"], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0
    for opt in ("--dataset", "--depth", "--clip-norm", "--clip-value", "--probe-every", "--preset", "--out"):
        assert opt in proc.stdout
    assert "β₁: the Adam family" in proc.stdout and "β₁: β₁" not in proc.stdout  # a label said once
