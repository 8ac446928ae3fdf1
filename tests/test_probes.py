"""Probe values against direct torch computations."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from core import probes
from core.nets import MLP, make_activation, max_derivative


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
        if activation in ("sigmoid", "tanh"):
            zg = z.clone().requires_grad_()
            (g,) = torch.autograd.grad(act(zg).sum(), zg)
            peak = {"sigmoid": 0.25, "tanh": 1.0}[activation]
            saturated = ((g.abs() < 0.01 * peak).float().mean(0) > 0.5).float().mean().item()
            assert stats["saturated_fraction"][i].item() == pytest.approx(saturated)
            assert "dead_fraction" not in stats
        else:
            # dead: the slope, by autograd, below 1% of the activation's largest on every example
            zg = z.clone().requires_grad_()
            (g,) = torch.autograd.grad(act(zg).sum(), zg)
            dead = (g.abs() < 0.01 * max_derivative(activation)).all(0).float().mean().item()
            assert stats["dead_fraction"][i].item() == pytest.approx(dead)
            assert stats["negative_fraction"][i].item() == pytest.approx((z <= 0).all(0).float().mean().item())
            assert stats["inactive_fraction"][i].item() == pytest.approx((z <= 0).float().mean().item())
            assert "saturated_fraction" not in stats
        h = a


@pytest.mark.parametrize(("activation", "dead"), [("relu", True), ("leaky_relu", False), ("elu", True)])
def test_a_unit_far_below_zero_on_every_example_is_dead_only_where_the_slope_vanishes(activation, dead):
    m, x, _ = _model_and_batch(activation)
    with torch.no_grad():
        m.linears[1].bias[:8] = -1e3  # eight units of layer 2 never get a positive input
    with probes.capture(m) as (inputs, outputs):
        m(x)
    stats = probes.activation_stats(m, inputs, outputs)
    assert stats["negative_fraction"][1].item() >= 8 / 32
    assert (stats["dead_fraction"][1].item() >= 8 / 32) == dead  # LeakyReLU keeps its slope α = 0.01 there


@pytest.mark.parametrize("activation", ["relu", "leaky_relu", "elu", "selu", "gelu", "silu", "mish", "softplus"])
def test_the_dead_threshold_bounds_the_left_tail_where_the_slope_is_under_one_percent(activation):
    act = make_activation(activation)
    limit = 0.01 * max_derivative(activation)
    t = probes.dead_threshold(activation)
    if t == float("-inf"):
        z = torch.linspace(-60, 0, 10_001, dtype=torch.float64)
        assert (probes.derivative(act, z).abs() >= limit).all()
        return
    below = torch.linspace(t - 30, t - 1e-6, 10_001, dtype=torch.float64)
    assert (probes.derivative(act, below).abs() < limit).all()
    assert probes.derivative(act, torch.tensor([t + 1e-3], dtype=torch.float64)).abs().item() >= limit * 0.999
    closed = {"elu": math.log(0.01), "selu": math.log(0.01), "softplus": math.log(0.01 / 0.99)}
    if activation in closed:  # f'(z) = e^z (ELU, over its peak 1; SELU: λα e^z over λα) and σ(z) for softplus
        assert t == pytest.approx(closed[activation], abs=1e-3)


def test_revived_counts_units_negative_before_and_not_now():
    before = torch.tensor([[True, True, False, False], [True, False, False, False]])
    after = torch.tensor([[False, True, True, False], [True, False, False, False]])
    assert probes.revived(before, after).tolist() == [0.25, 0.0]


def test_the_engine_records_negative_and_revived_shares_and_no_mask():
    from core.data import load
    from core.engine import TrainConfig, train

    recs = list(train(TrainConfig(activation="relu", init="he_normal", depth=3, width=16, steps=4, probe_every=1,
                                  eval_every=4), load("digits", 0)))
    metrics = {r.metric for r in recs}
    assert {"dead_fraction", "negative_fraction", "revived_fraction"} <= metrics
    assert probes.NEGATIVE_UNITS not in metrics
    assert sorted({r.step for r in recs if r.metric == "revived_fraction"}) == [2, 3, 4]  # from the second probe on


def test_the_engine_probes_a_fixed_set_of_validation_examples():
    from core.data import load
    from core.engine import TrainConfig, build_model, probe_activations

    data = load("digits", 0)
    m = build_model(TrainConfig(depth=3, width=16, activation="relu", init="he_normal"), data)
    x_probe = data.x_val[:probes.PROBE_EXAMPLES]
    with probes.capture(m) as (inputs, outputs):
        m.eval()
        m(x_probe)
    expected = probes.activation_stats(m, inputs, outputs)
    m.train()
    got = probe_activations(m, x_probe)
    assert m.training and all(torch.equal(got[k], expected[k]) for k in expected)


def test_capture_removes_its_hooks():
    m, x, _ = _model_and_batch()
    with probes.capture(m) as (inputs, _):
        m(x)
    m(x)
    assert len(inputs) == 4
    assert all(not act._forward_hooks for act in m.acts)


@pytest.mark.parametrize("batch_norm", ["none", "before", "after"])
def test_the_probe_forward_sees_what_forward_hooks_see(batch_norm):
    """The engine's probe walks the body layer by layer instead of hooking it: the same tensors, exactly."""
    torch.manual_seed(3)
    m = MLP(20, 5, depth=5, width=16, activation="tanh", init="normal", batch_norm=batch_norm).eval()
    x = torch.randn(32, 20)
    with torch.no_grad(), probes.capture(m) as (inputs, outputs):
        m(x)
    with torch.no_grad():
        walked_in, walked_out = probes.forward_capturing(m, x)
    assert len(walked_in) == len(inputs) == 5
    for a, b in zip([*walked_in, *walked_out], [*inputs, *outputs], strict=True):
        assert torch.equal(a, b)


def test_the_saturation_threshold_is_where_the_slope_falls_to_one_percent_of_its_peak():
    """Closed forms: sigmoid' = s(1 − s) = 0.0025 at s = (1 + √0.99) / 2, so z = logit(s);
    tanh' = 1 − tanh² = 0.01 at z = atanh(√0.99). And on random inputs, |z| beyond it is autograd's
    "slope under 1% of its peak", but for values within 1e-4 of the threshold."""
    s = (1 + 0.99 ** 0.5) / 2
    assert probes.saturation_threshold("sigmoid") == pytest.approx(np.log(s / (1 - s)), rel=1e-9)
    assert probes.saturation_threshold("tanh") == pytest.approx(np.arctanh(0.99 ** 0.5), rel=1e-9)
    z = torch.randn(200_000, generator=torch.Generator().manual_seed(3)) * 6
    for name, act, peak in (("sigmoid", torch.nn.Sigmoid(), 0.25), ("tanh", torch.nn.Tanh(), 1.0)):
        beyond = probes.saturation_threshold(name)
        zg = z.clone().requires_grad_()
        (g,) = torch.autograd.grad(act(zg).sum(), zg)
        differ = (g.abs() < 0.01 * peak) != (z.abs() > beyond)
        assert ((z.abs() - beyond).abs()[differ] < 1e-4).all()
