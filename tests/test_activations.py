"""Activations lesson: gallery against autograd and known values, presets' claims, runner."""

import dataclasses
import math

import pytest
import torch

from core import gallery
from core.config import ConfigError
from core.experiments import activations as A
from core.recipe import interleave
from core.records import Record


@pytest.mark.parametrize("name,x,f,df", [
    ("sigmoid", 0.0, 0.5, 0.25),
    ("tanh", 0.0, 0.0, 1.0),
    ("relu", 1.0, 1.0, 1.0),
    ("relu", -1.0, 0.0, 0.0),
    ("elu", -1.0, math.exp(-1) - 1, math.exp(-1)),
    ("selu", 1.0, 1.0507010, 1.0507010),
    ("gelu", 0.0, 0.0, 0.5),
    ("silu", 0.0, 0.0, 0.5),
    ("softplus", 0.0, math.log(2), 0.5),
    ("mish", 0.0, 0.0, 0.6),
    ("leaky_relu", -2.0, -0.02, 0.01),
])
def test_gallery_matches_known_values(name, x, f, df):
    fx, dfx = gallery.slopes(name, torch.tensor([x]))
    assert fx.item() == pytest.approx(f, abs=1e-5) and dfx.item() == pytest.approx(df, abs=1e-5)


@pytest.mark.parametrize("name", ["sigmoid", "tanh", "elu", "selu", "gelu", "mish", "softplus"])
def test_gallery_derivative_agrees_with_finite_differences(name):
    x = torch.linspace(-4, 4, 80, dtype=torch.float64)  # skips 0, where SELU's slope jumps
    _, g = gallery.slopes(name, x.float())
    act = torch.nn.Module.double(A.ACTIVATIONS[name]())
    h = 1e-5
    numeric = (act(x + h) - act(x - h)) / (2 * h)
    assert torch.allclose(g.double(), numeric, atol=1e-4)


def test_gallery_parameters_and_rrelu_band():
    _, g = gallery.slopes("leaky_relu", torch.tensor([-1.0]), leaky_alpha=0.3)
    assert g.item() == pytest.approx(0.3)
    x = torch.tensor([-2.0, 1.0])
    lo, hi = gallery.rrelu_band(x, 0.1, 0.3)
    assert -0.6 - 1e-6 <= lo[0].item() < hi[0].item() <= -0.2 + 1e-6 and lo[1] == hi[1] == 1.0
    f_eval, _ = gallery.slopes("rrelu", x, rrelu_lower=0.1, rrelu_upper=0.3)
    assert f_eval[0].item() == pytest.approx(-0.4)  # eval mode: the mean slope


def test_mean_under_normal_and_saturation_shading():
    assert gallery.mean_under_normal("sigmoid") == pytest.approx(0.5, abs=1e-6)
    assert gallery.mean_under_normal("relu") == pytest.approx(1 / math.sqrt(2 * math.pi), abs=1e-5)
    assert abs(gallery.mean_under_normal("tanh")) < 1e-9
    t = gallery.table(["tanh"])
    sat = t[t.saturated]
    assert sat.x.abs().min() == pytest.approx(math.atanh(math.sqrt(0.99)), abs=0.05)  # tanh' = 1 - tanh² = 0.01


def test_interleave_alternates_steps_and_keeps_every_record():
    def gen(run, n):
        for s in range(1, n + 1):
            yield Record(run, s, "loss", None, 1.0)
            yield Record(run, s, "accuracy", None, 0.5)

    timings: dict = {}
    out = list(interleave({"a": gen("a", 3), "b": gen("b", 2)}, timings))
    assert [(r.run, r.step) for r in out[::2]] == [("a", 1),
    ("b", 1),
    ("a", 2),
    ("b", 2),
    ("a", 3)]
    assert len(out) == 10 and set(timings) == {"a", "b"}


def test_config_validation():
    with pytest.raises(ConfigError, match="activations"):
        A.Config(activations=("relu", "relu"))
    with pytest.raises(ConfigError, match="rrelu_lower"):
        A.Config(rrelu_lower=0.5, rrelu_upper=0.2)
    assert A.variant(A.Config(), "selu").init == "lecun_normal"
    assert A.variant(A.Config(init_mode="shared", init="normal"), "selu").init == "normal"


def test_dead_units_are_counted_on_the_fixed_probe_set_and_start_few():
    # the lesson's claims (tests/test_claims.py) check the full presets on five seeds; this is the
    # quick version: He-initialised ReLU units are almost all alive before training
    recs = list(A.run(A.EXPERIMENT.configure("dying-relu", steps=1)))
    dead = [r.value for r in recs if r.run == "relu" and r.metric == "dead_fraction"]
    assert len(dead) == 5 and max(dead) < 0.1
    assert not [r for r in recs if r.metric == "saturated_fraction"]  # ReLU-like units report dead, not saturated


def test_bounded_activations_report_saturation_not_death():
    recs = list(A.run(A.EXPERIMENT.configure("sigmoid-saturation", steps=1)))
    assert {r.metric for r in recs if r.layer is not None} >= {"saturated_fraction"}
    assert not [r for r in recs if r.metric in ("dead_fraction", "inactive_fraction")]


def test_runner_names_runs_by_activation(tmp_path):
    from core.__main__ import main

    out = tmp_path / "a.csv"
    assert main(["run", "activations", "--activations", "relu,elu", "--steps", "5", "--depth", "2",
                 "--leaky-alpha", "0.2", "--out", str(out)]) == 0
    runs = {line.split(",")[0] for line in out.read_text().splitlines()[1:]}
    assert runs == {"relu", "elu"}
    assert main(["run", "activations", "--activations", "relu,nope"]) == 2


def test_same_seed_same_data_order_across_activations():
    cfg = dataclasses.replace(A.Config(), steps=3, depth=2)
    recs = list(A.run(cfg))
    assert {r.run for r in recs} == set(cfg.activations)
