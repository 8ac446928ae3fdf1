"""Activations lesson: gallery against autograd and known values, presets' claims, runner."""

import dataclasses
import math

import pytest
import torch

from core import gallery
from core.compare import interleave
from core.config import ConfigError
from core.experiments import activations as A
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


def _final(recs, run, metric, step):
    return [r.value for r in recs if r.run == run and r.metric == metric and r.step == step]


def check_dying_relu(cfg):
    recs = list(A.run(cfg))
    assert max(_final(recs, "relu", "dead_fraction", cfg.steps)) >= 0.30
    for act in ("leaky_relu", "elu"):
        assert max(_final(recs, act, "dead_fraction", cfg.steps)) < 0.05


def check_elu_zero_mean(cfg):
    recs = list(A.run(cfg))
    elu, relu = _final(recs, "elu", "act_mean", cfg.steps), _final(recs, "relu", "act_mean", cfg.steps)
    assert len(elu) == cfg.depth and all(abs(e) < abs(r) for e, r in zip(elu, relu, strict=True))


def check_selu(cfg):
    recs = list(A.run(cfg))
    for step in (1, cfg.steps):
        assert all(0.5 <= s <= 2 for s in _final(recs, "selu", "act_std", step))
        assert not all(0.5 <= s <= 2 for s in _final(recs, "relu", "act_std", step))


def test_dying_relu_reduced():
    check_dying_relu(A.EXPERIMENT.configure("dying-relu", steps=150))


def test_elu_zero_mean_reduced():
    check_elu_zero_mean(A.EXPERIMENT.configure("elu-zero-mean", steps=150, depth=5))


def test_selu_reduced():
    check_selu(A.EXPERIMENT.configure("selu-self-normalizing", depth=40, steps=40, activations=("selu", "relu")))


@pytest.mark.slow
@pytest.mark.parametrize("preset,check", [
    ("dying-relu", check_dying_relu),
    ("elu-zero-mean", check_elu_zero_mean),
    ("selu-self-normalizing", check_selu)
])
def test_presets_full(preset, check):
    check(A.EXPERIMENT.configure(preset))


def test_sigmoid_saturation_preset_saturates():
    cfg = A.EXPERIMENT.configure("sigmoid-saturation", steps=20)
    recs = list(A.run(cfg))
    assert max(_final(recs, "sigmoid", "saturated_fraction", 1)) > 0.1


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
