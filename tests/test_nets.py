"""Initialisations against their variance formulas; activations are torch's own modules."""

import math

import pytest
import torch
from torch import nn

from core.nets import ACTIVATIONS, INITS, MLP, make_activation, max_derivative

FAN_IN, FAN_OUT = 400, 300


def _weights(init: str) -> torch.Tensor:
    w = torch.empty(FAN_OUT, FAN_IN)
    INITS[init](w, generator=torch.Generator().manual_seed(0))
    return w


@pytest.mark.parametrize("init,variance", [
    ("normal", 1.0),
    ("normal_small", 1e-4),
    ("xavier_uniform", 2 / (FAN_IN + FAN_OUT)),
    ("xavier_normal", 2 / (FAN_IN + FAN_OUT)),
    ("he_uniform", 2 / FAN_IN),
    ("he_normal", 2 / FAN_IN),
    ("lecun_normal", 1 / FAN_IN),
    ("standard", 1 / (3 * FAN_IN)),  # U[-a, a] has variance a²/3, a = 1/sqrt(fan_in)
])
def test_init_variance_matches_formula(init, variance):
    w = _weights(init)
    assert w.var().item() == pytest.approx(variance, rel=0.03)
    assert abs(w.mean().item()) < 3 * math.sqrt(variance / w.numel()) + 1e-6


def test_xavier_uniform_bounds():
    limit = math.sqrt(6 / (FAN_IN + FAN_OUT))
    w = _weights("xavier_uniform")
    assert w.abs().max().item() <= limit
    assert w.abs().max().item() > 0.99 * limit


def test_standard_init_bounds_are_one_over_root_fan_in():
    w = _weights("standard")
    assert 0.99 / math.sqrt(FAN_IN) < w.abs().max().item() <= 1 / math.sqrt(FAN_IN)


def test_orthogonal_and_zeros():
    w = _weights("orthogonal")
    assert torch.allclose(w @ w.T, torch.eye(FAN_OUT), atol=1e-4)
    assert _weights("zeros").abs().sum().item() == 0


def test_registry_uses_torch_modules():
    for name, cls in ACTIVATIONS.items():
        assert issubclass(cls, nn.Module) and cls.__module__.startswith("torch.nn"), name
    assert make_activation("leaky_relu", leaky_alpha=0.2).negative_slope == 0.2
    assert make_activation("elu", elu_alpha=0.5).alpha == 0.5


@pytest.mark.parametrize("name,expected", [("sigmoid", 0.25), ("tanh", 1.0), ("relu", 1.0),
                                           ("selu", 1.0507 * 1.67326), ("softplus", 1.0)])
def test_max_derivative(name, expected):
    assert max_derivative(name) == pytest.approx(expected, rel=1e-3)


@pytest.mark.parametrize("bn", ["none", "before", "after"])
def test_mlp_shape_and_layout(bn):
    m = MLP(64, 10, depth=3, width=16, activation="relu", init="he_normal", batch_norm=bn)
    assert len(m.linears) == 4 and len(m.acts) == 3
    assert m(torch.randn(5, 64)).shape == (5, 10)
    kinds = [type(x).__name__ for x in m.body]
    if bn == "before":
        assert kinds[:3] == ["Linear", "BatchNorm1d", "ReLU"]
    elif bn == "after":
        assert kinds[:3] == ["Linear", "ReLU", "BatchNorm1d"]
    else:
        assert "BatchNorm1d" not in kinds
    assert all(lin.bias.abs().sum() == 0 for lin in m.linears)
