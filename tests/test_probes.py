"""Probe values against direct torch computations."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from core import probes
from core.nets import MLP


def _model_and_batch(activation="relu", init="he_normal", seed=0):
    torch.manual_seed(seed)
    m = MLP(20, 5, depth=4, width=32, activation=activation, init=init)
    x, y = torch.randn(64, 20), torch.randint(0, 5, (64,))
    return m, x, y


def test_grad_norms_equal_direct_computation():
    m, x, y = _model_and_batch()
    F.cross_entropy(m(x), y).backward()
    expected = [lin.weight.grad.norm().item() for lin in m.linears]
    assert probes.grad_norms(m).tolist() == pytest.approx(expected, rel=1e-6)


def test_update_ratio_equals_direct_computation():
    m, x, y = _model_and_batch()
    F.cross_entropy(m(x), y).backward()
    before = probes.weights(m)
    torch.optim.SGD(m.parameters(), lr=0.1).step()
    expected = [((lin.weight - w).norm() / w.norm()).item() for w, lin in zip(before, m.linears, strict=True)]
    assert probes.update_ratios(before, m).tolist() == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize("activation", ["relu", "sigmoid", "tanh", "leaky_relu", "elu"])
def test_activation_stats_equal_direct_computation(activation):
    m, x, _ = _model_and_batch(activation, init="normal")
    with probes.capture(m) as (inputs, outputs):
        m(x)
    stats = probes.activation_stats(m, inputs, outputs)
    # Recompute layer by layer, by hand, from the layers themselves.
    h = x
    for i, (lin, act) in enumerate(zip(m.linears[:-1], m.acts, strict=True)):
        z = lin(h).detach()
        a = act(z)
        zs = z[: probes.percentile_rows(*z.shape)].numpy().ravel()
        assert stats["preact_p15"][i].item() == pytest.approx(np.quantile(zs, 0.15), rel=1e-4, abs=1e-5)
        assert stats["preact_p50"][i].item() == pytest.approx(np.quantile(zs, 0.50), rel=1e-4, abs=1e-5)
        assert stats["preact_p85"][i].item() == pytest.approx(np.quantile(zs, 0.85), rel=1e-4, abs=1e-5)
        assert stats["act_mean"][i].item() == pytest.approx(a.mean().item(), rel=1e-5, abs=1e-6)
        assert stats["act_std"][i].item() == pytest.approx(a.std().item(), rel=1e-5)
        zg = z.clone().requires_grad_()
        (g,) = torch.autograd.grad(act(zg).sum(), zg)
        dead = (g == 0).all(0).float().mean().item()
        peak = {"relu": 1.0, "sigmoid": 0.25, "tanh": 1.0, "leaky_relu": 1.0, "elu": 1.0}[activation]
        saturated = ((g.abs() < 0.01 * peak).float().mean(0) > 0.5).float().mean().item()
        assert stats["dead_fraction"][i].item() == pytest.approx(dead)
        assert stats["saturated_fraction"][i].item() == pytest.approx(saturated)
        h = a


def test_dead_relu_counted_and_leaky_never_dead():
    m, x, _ = _model_and_batch("relu")
    with torch.no_grad():
        m.linears[1].bias[:8] = -1e3  # eight units of layer 2 never fire
    with probes.capture(m) as (inputs, outputs):
        m(x)
    dead = probes.activation_stats(m, inputs, outputs)["dead_fraction"]
    assert dead[1].item() >= 8 / 32
    leaky, x, _ = _model_and_batch("leaky_relu")
    with torch.no_grad():
        leaky.linears[1].bias[:8] = -1e3
    with probes.capture(leaky) as (inputs, outputs):
        leaky(x)
    assert probes.activation_stats(leaky, inputs, outputs)["dead_fraction"].sum().item() == 0


def test_capture_removes_its_hooks():
    m, x, _ = _model_and_batch()
    with probes.capture(m) as (inputs, _):
        m(x)
    m(x)
    assert len(inputs) == 4
    assert all(not act._forward_hooks for act in m.acts)
