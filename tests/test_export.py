"""`python -m core export`: a standalone PyTorch script that reproduces the lab's records."""

from __future__ import annotations

import ast
import csv
import inspect
import os
import runpy
import subprocess
import sys

import pytest

from core import export, recipe
from core.__main__ import main
from core.experiments import experiments
from core.optim import OPTIMIZERS
from core.recipe import ACTIVATIONS, INITS, SCHEDULES

EXPORTABLE = [name for name, e in experiments().items() if export.exportable(e)]
CASES = [(name, ["--preset", preset] if preset else [])
         for name in EXPORTABLE for preset in (None, *experiments()[name].presets)]
# The whole registry at least once: every schedule, initialisation, activation, optimizer and BN placement.
CASES += [("vanishing", ["--schedule", s, "--depth", "3"]) for s in SCHEDULES if s != "constant"]
CASES += [("vanishing", ["--init", i, "--activation", "relu", "--depth", "3"]) for i in INITS]
CASES += [("activations", ["--activations", ",".join(ACTIVATIONS), "--depth", "3"]),
          ("optimizers-net", ["--optimizers", ",".join(OPTIMIZERS), "--depth", "3"]),
          ("batchnorm", ["--variants", "no_bn,bn_before,bn_after", "--batch-sizes", "32"])]
# RReLU draws its slopes from torch's global generator while it trains: the script must build and step
# the networks in the lab's order for those draws to match (lazily per network, or all first for BN).
CASES += [("activations", ["--activations", "rrelu,relu,selu"]),
          ("activations", ["--activations", "relu,rrelu", "--init-mode", "shared", "--init", "xavier_normal"]),
          ("batchnorm", ["--activation", "rrelu", "--variants", "no_bn,bn_after", "--batch-sizes", "16,32"]),
          ("optimizers-net", ["--schedule", "1cycle", "--optimizers", "nesterov,adamw,rmsprop"]),
          ("vanishing", ["--clip-value", "0.5", "--clip-norm", "2", "--schedule", "reduce_on_plateau"]),
          ("transfer", ["--activation", "rrelu", "--seeds", "2", "--epochs", "4", "--unfreeze-epochs", "2",
                        "--pretrain-steps", "40", "--variants", "unfreeze,frozen,finetune,scratch"])]
# Several seeds: the script trains each network's seeds as one batched network, as the lab does (core.ensemble).
CASES += [("vanishing", ["--seeds", "0,1,2", "--depth", "3"]),
          ("vanishing", ["--seeds", "3,5,8", "--batch-norm", "before", "--optimizer", "adam", "--lr", "0.01",
                         "--clip-norm", "1", "--schedule", "cosine", "--depth", "3"]),
          ("activations", ["--seeds", "0,1,2", "--activations", "relu,elu,selu", "--depth", "3"])]
IDS = [f"{name}-{'-'.join(argv).replace('--', '') or 'default'}" for name, argv in CASES]


def _rows(path) -> dict[tuple[str, int, str], float]:
    with open(path, newline="") as fh:
        return {(r["run"], int(r["step"]), r["metric"]): float(r["value"]) for r in csv.DictReader(fh) if r["run"]}


def _run_script(path, argv, monkeypatch):
    monkeypatch.setattr(sys, "argv", [str(path), *argv])
    runpy.run_path(str(path), run_name="__main__")


@pytest.mark.parametrize(("name", "chosen"), CASES, ids=IDS)
def test_the_exported_script_reproduces_the_labs_records(name, chosen, tmp_path, monkeypatch):
    """Exported at the run's own length, then both cut to 30 steps (transfer: its own length): every row the
    script writes is in the lab's CSV with the same value (within 1e-6), and both have the same loss rows."""
    steps = [] if name == "transfer" else ["--steps", "30"]  # transfer's length is its epochs and model A's steps
    assert main(["export", name, *chosen, "--out", str(tmp_path / "run.py")]) == 0
    assert main(["run", name, *chosen, *steps, "--out", str(tmp_path / "lab.csv")]) == 0
    _run_script(tmp_path / "run.py", [*steps, "--out", str(tmp_path / "script.csv")], monkeypatch)
    lab, script = _rows(tmp_path / "lab.csv"), _rows(tmp_path / "script.csv")
    assert script
    missing = [k for k in script if k not in lab]
    assert not missing, missing[:5]
    worst = max(abs(v - lab[k]) for k, v in script.items())
    assert worst <= 1e-6, worst
    assert {k for k in lab if k[2] == "loss"} == {k for k in script if k[2] == "loss"}


@pytest.mark.parametrize(("name", "argv", "says"), [
    ("activations", ["--activations", "relu,rrelu"], "RReLU draws"),
    ("vanishing", ["--schedule", "reduce_on_plateau"], "ReduceLROnPlateau"),
    ("optimizers-net", [], "trains one seed")])
def test_a_script_of_several_seeds_is_refused_where_it_would_not_train_as_the_lab(name, argv, says, capsys):
    assert main(["export", name, *argv, "--seeds", "0,1"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and says in err[0] and "--seed" in err[0]


def test_the_script_needs_only_torch_and_its_data_library(tmp_path):
    """Run from an empty folder, with this project off the import path: it trains and writes CSV."""
    assert main(["export", "activations", "--activations", "relu,rrelu", "--depth", "3",
                 "--out", str(tmp_path / "run.py")]) == 0
    text = (tmp_path / "run.py").read_text()
    assert "import core" not in text and "from core" not in text and "ui." not in text
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run([sys.executable, "-I", "run.py", "--steps", "12"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-500:]
    lines = done.stdout.splitlines()
    assert lines[0] == "run,step,metric,layer,value"
    assert {line.split(",")[0] for line in lines[1:]} == {"relu", "rrelu"}
    assert sum(",loss," in line for line in lines) == 24


def test_a_diverging_run_is_cut_where_the_lab_cuts_it(tmp_path, monkeypatch):
    """Tanh with N(0,1) weights at a huge rate: both stop at the same step with the same reason."""
    argv = ["vanishing", "--activation", "relu", "--init", "normal", "--lr", "50", "--depth", "6"]
    assert main(["export", *argv, "--out", str(tmp_path / "run.py")]) == 0
    assert main(["run", *argv, "--steps", "40", "--out", str(tmp_path / "lab.csv")]) == 0
    _run_script(tmp_path / "run.py", ["--steps", "40", "--out", str(tmp_path / "script.csv")], monkeypatch)
    lab, script = _rows(tmp_path / "lab.csv"), _rows(tmp_path / "script.csv")
    ends = {k: v for k, v in lab.items() if k[2].startswith("diverged")}
    assert ends, "this setting should diverge in the lab"
    assert {k: v for k, v in script.items() if k[2].startswith("diverged")} == ends


@pytest.mark.parametrize("name", sorted(set(experiments()) - set(EXPORTABLE)))
def test_what_cannot_be_exported_says_so(name, tmp_path, capsys):
    assert main(["export", name, "--out", str(tmp_path / "run.py")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {name} cannot be exported as a script: {experiments()[name].export_why_not}")
    assert err[-1] == "\n" and err.count("\n") == 1
    assert not (tmp_path / "run.py").exists()


def test_export_writes_atomically_and_checks_the_path(tmp_path, capsys):
    target = tmp_path / "run.py"
    target.write_text("old")
    assert main(["export", "vanishing", "--out", str(tmp_path / "no" / "run.py")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["export", "vanishing", "--steps", "0", "--out", str(target)]) == 2
    assert target.read_text() == "old"  # a bad option leaves the old file
    assert main(["export", "vanishing", "--out", str(target)]) == 0
    compile(target.read_text(), str(target), "exec")
    assert [p.name for p in tmp_path.iterdir()] == ["run.py"]


def test_the_recipe_needs_only_torch_and_the_standard_library():
    """core/recipe.py imports nothing of the project (and its data libraries only where it reads data)."""
    tree = ast.parse(inspect.getsource(recipe))
    top = {alias.name.split(".")[0] for node in tree.body if isinstance(node, ast.Import) for alias in node.names}
    top |= {node.module.split(".")[0] for node in tree.body if isinstance(node, ast.ImportFrom) and node.module}
    assert top <= {"__future__", "argparse", "contextlib", "csv", "functools", "math", "os", "sys", "time", "torch"}
    assert not [node for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.level]


def test_the_script_trains_with_the_recipe_itself(tmp_path):
    """No training code in strings: the script holds the recipe's source verbatim, then constants and a short main."""
    assert main(["export", "vanishing", "--out", str(tmp_path / "run.py")]) == 0
    text = (tmp_path / "run.py").read_text()
    source = inspect.getsource(recipe)
    assert source[source.index('"""', 3) + 3:].strip() in text
    tail = text[text.index("# -- This run"):]
    assert "def main():" in tail and tail.count("def ") == 1 and len(tail.splitlines()) < 40
